//! Direct convolution, one output row at a time, for images with few input channels (a
//! network's RGB stem).
//!
//! With three input channels an im2col product spends much of its time copying and packing
//! patches for a short inner dimension. Here the weights of 16 output channels for one kernel
//! row (a few kilobytes) stay in L1, and each input value is broadcast against them for 6
//! output pixels at a time: 12 accumulator vectors, the register file of AVX2 and NEON.

use super::op::same_bits;
use super::simd;

/// Output channels computed together: two 8-lane vectors (AVX2), four 4-lane ones (NEON).
pub(super) const CHANNEL_BLOCK: usize = 16;
/// Output pixels computed together.
pub(super) const PIXEL_BLOCK: usize = 6;

/// The constant part of a convolution computed by [`DirectConv::conv_row`].
pub(super) struct DirectConv {
    /// Weights as `[channel block][ky][kx * cin + ic][CHANNEL_BLOCK]`, zero past `cout`.
    weights: Vec<f32>,
    /// One bias per output channel, zero past `cout`, a multiple of [`CHANNEL_BLOCK`] long.
    bias: Vec<f32>,
    /// Kernel height and width.
    kernel: [usize; 2],
    cin: usize,
    /// Horizontal stride.
    stride_x: usize,
}

/// Packed weights compare bit for bit: packing is deterministic, so equal weights pack equal.
impl PartialEq for DirectConv {
    fn eq(&self, other: &Self) -> bool {
        self.kernel == other.kernel
            && self.cin == other.cin
            && self.stride_x == other.stride_x
            && same_bits(&self.weights, &other.weights)
            && same_bits(&self.bias, &other.bias)
    }
}

impl DirectConv {
    /// Packs OIHW `kernel` weights `[cout][cin][kh][kw]` and the bias, or `None` when their
    /// lengths do not match.
    pub fn new(
        kernel: &[f32],
        bias: &[f32],
        [cout, cin]: [usize; 2],
        [kh, kw]: [usize; 2],
        stride_x: usize,
    ) -> Option<DirectConv> {
        if kernel.len() != cout * cin * kh * kw || bias.len() != cout || cin == 0 || stride_x == 0 {
            return None;
        }
        let blocks = cout.div_ceil(CHANNEL_BLOCK);
        let span = kw * cin;
        let mut weights = vec![0f32; blocks * kh * span * CHANNEL_BLOCK];
        for oc in 0..cout {
            let (block, lane) = (oc / CHANNEL_BLOCK, oc % CHANNEL_BLOCK);
            for ic in 0..cin {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let at = ((block * kh + ky) * span + kx * cin + ic) * CHANNEL_BLOCK + lane;
                        weights[at] = kernel[((oc * cin + ic) * kh + ky) * kw + kx];
                    }
                }
            }
        }
        let mut padded_bias = vec![0f32; blocks * CHANNEL_BLOCK];
        padded_bias[..cout].copy_from_slice(bias);
        Some(DirectConv {
            weights,
            bias: padded_bias,
            kernel: [kh, kw],
            cin,
            stride_x,
        })
    }

    /// Output channels as stored by [`DirectConv::conv_row`]: `cout` rounded up to [`CHANNEL_BLOCK`].
    pub fn padded_channels(&self) -> usize {
        self.bias.len()
    }

    /// Values one input row of `pixels` output pixels must hold: `[x][ic]` for every column
    /// the kernel reads, padding included.
    pub fn row_len(&self, pixels: usize) -> usize {
        let columns = pixels.saturating_sub(1) * self.stride_x + self.kernel[1];
        columns * self.cin
    }

    /// Computes one output row, bias included, into `out` (`[x][padded channel]`, a multiple
    /// of [`PIXEL_BLOCK`] pixels), from `rows`: the `kh` input rows it reads, HWC, each
    /// `row_len` values long and already zero-padded.
    pub fn conv_row(&self, rows: &[f32], row_len: usize, out: &mut [f32]) {
        simd::dispatch(RowKernel {
            conv: self,
            rows,
            row_len,
            out,
        });
    }
}

/// One call of [`DirectConv::conv_row`].
struct RowKernel<'a> {
    conv: &'a DirectConv,
    rows: &'a [f32],
    row_len: usize,
    out: &'a mut [f32],
}

impl simd::Kernel for RowKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<const FUSED: bool>(self) {
        self.conv
            .conv_row_with::<FUSED>(self.rows, self.row_len, self.out);
    }
}

impl DirectConv {
    /// The kernel, inlined into each instruction-set entry point so it is compiled for it.
    #[inline(always)]
    fn conv_row_with<const FUSED: bool>(&self, rows: &[f32], row_len: usize, out: &mut [f32]) {
        let [kh, kw] = self.kernel;
        let span = kw * self.cin;
        let step = self.stride_x * self.cin;
        let channels = self.bias.len();
        let pixels = out.len() / channels;
        let block_weights = kh * span * CHANNEL_BLOCK;
        for (block, bias) in self.bias.as_chunks::<CHANNEL_BLOCK>().0.iter().enumerate() {
            let weights = &self.weights[block * block_weights..][..block_weights];
            for x0 in (0..pixels).step_by(PIXEL_BLOCK) {
                let mut acc = [*bias; PIXEL_BLOCK];
                for ky in 0..kh {
                    let row = &rows[ky * row_len..][..row_len];
                    let taps = &weights[ky * span * CHANNEL_BLOCK..][..span * CHANNEL_BLOCK];
                    let taps = &taps.as_chunks::<CHANNEL_BLOCK>().0[..span];
                    let src: [&[f32]; PIXEL_BLOCK] =
                        std::array::from_fn(|p| &row[(x0 + p) * step..][..span]);
                    for (j, tap) in taps.iter().enumerate() {
                        for (acc, src) in acc.iter_mut().zip(&src) {
                            let x = src[j];
                            for (a, w) in acc.iter_mut().zip(tap) {
                                *a = simd::madd::<FUSED>(x, *w, *a);
                            }
                        }
                    }
                }
                for (p, acc) in acc.iter().enumerate() {
                    out[(x0 + p) * channels + block * CHANNEL_BLOCK..][..CHANNEL_BLOCK]
                        .copy_from_slice(acc);
                }
            }
        }
    }
}
