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
    /// The finished value of `acc`, found at offset `at` of channel `channel`'s plane.
    #[inline(always)]
    pub fn value(&self, acc: f32, channel: usize, at: usize) -> f32 {
        let mut v = acc + self.bias[channel];
        if let Some(res) = self.residual {
            v += res[channel * self.plane + at];
        }
        if self.relu {
            v = v.max(0.0);
        }
        v
    }

    /// Finishes the whole plane of channel `channel`, in place.
    pub fn finish_channel(&self, channel: usize, plane: &mut [f32]) {
        let bias = self.bias[channel];
        match self.residual {
            Some(res) => {
                let res = &res[channel * self.plane..][..self.plane];
                plane.iter_mut().zip(res).for_each(|(v, r)| *v += bias + r);
            }
            None => plane.iter_mut().for_each(|v| *v += bias),
        }
        if self.relu {
            plane.iter_mut().for_each(|v| *v = v.max(0.0));
        }
    }

    /// Finishes offsets `first..first + len` of every channel plane of `out`, in place.
    pub fn apply_in_place(&self, out: &mut [f32], first: usize, len: usize) {
        for (channel, plane) in out.chunks_exact_mut(self.plane).enumerate() {
            for (at, v) in plane.iter_mut().enumerate().skip(first).take(len) {
                *v = self.value(*v, channel, at);
            }
        }
    }
}
