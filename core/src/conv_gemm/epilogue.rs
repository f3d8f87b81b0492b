//! What follows a convolution's matrix products: bias per channel, residual add, ReLU.

/// Finishes output values of one image `[cout, ho, wo]`.
pub(super) struct Epilogue<'a> {
    pub bias: &'a [f32],
    /// A tensor of the output's shape added to it, when an `Add` was folded in.
    pub residual: Option<&'a [f32]>,
    pub relu: bool,
    /// Values per output channel (`ho * wo`).
    pub plane: usize,
}

impl Epilogue<'_> {
    /// Finishes, in place, `values`: the part of channel `channel`'s plane from offset `at` on.
    /// One pass over the values (they are read and written once). Inlined, so that kernels
    /// compiled for wider vectors finish their blocks with them too.
    #[inline(always)]
    pub fn finish(&self, channel: usize, values: &mut [f32], at: usize) {
        let bias = self.bias[channel];
        let residual = self
            .residual
            .map(|res| &res[channel * self.plane + at..][..values.len()]);
        match (residual, self.relu) {
            (Some(res), true) => values
                .iter_mut()
                .zip(res)
                .for_each(|(v, r)| *v = (*v + bias + r).max(0.0)),
            (Some(res), false) => values.iter_mut().zip(res).for_each(|(v, r)| *v += bias + r),
            (None, true) => values.iter_mut().for_each(|v| *v = (*v + bias).max(0.0)),
            (None, false) => values.iter_mut().for_each(|v| *v += bias),
        }
    }

    /// Finishes offsets `first..first + len` of every channel plane of `out`, in place.
    pub fn finish_columns(&self, out: &mut [f32], first: usize, len: usize) {
        for (channel, plane) in out.chunks_exact_mut(self.plane).enumerate() {
            self.finish(channel, &mut plane[first..first + len], first);
        }
    }
}
