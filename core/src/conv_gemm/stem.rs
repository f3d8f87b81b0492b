//! `StemPool`: a network's first convolution (few input channels, such as RGB), its bias and
//! ReLU, and the max pooling after it, as one tract operator.
//!
//! tract runs these as an im2col product, a ReLU pass and a generic pooling loop over a
//! 64x112x112 intermediate (about 5 ms of a 28 ms open_nsfw inference, the pooling alone
//! 1.5 ms). Here convolution rows are computed by [`direct`](super::direct) into a ring of as
//! many rows as the pooling window is tall, and pooled while they are in cache: the full-size
//! intermediate never exists. The input may be NHWC (the layout images arrive in, so the
//! transpose in front of the convolution is folded in too) or NCHW.

use std::sync::Arc;

use rayon::prelude::*;
use tract_onnx::tract_core::internal::*;

use super::bands::split_planes;
use super::direct::{DirectConv, PIXEL_BLOCK};
use super::op::Geometry;
use super::scratch;

/// One fused convolution, ReLU and max pooling. Input: one image batch, `[n, h, w, c]` when
/// `nhwc`, else `[n, c, h, w]`. Output: `[n, cout, ph, pw]`.
#[derive(Clone)]
pub(crate) struct StemPool {
    /// The convolution (its zero padding included).
    pub conv: Geometry,
    /// The max pooling window over the convolution's output; padding never takes part.
    pub pool: Geometry,
    pub nhwc: bool,
    pub relu: bool,
    /// Threads one image may use.
    pub threads: usize,
    kernel: Arc<DirectConv>,
}

impl StemPool {
    /// The operator, or `None` when the weights do not fit `conv` or a pooling window could
    /// lie entirely in padding.
    pub fn new(
        conv: Geometry,
        pool: Geometry,
        kernel: &[f32],
        bias: &[f32],
        nhwc: bool,
        relu: bool,
        threads: usize,
    ) -> Option<StemPool> {
        let windows_hit_data = (0..2)
            .all(|d| pool.pad_before[d] < pool.kernel[d] && pool.pad_after[d] < pool.kernel[d]);
        if !windows_hit_data || pool.stride.contains(&0) || pool.cin != conv.cout {
            return None;
        }
        let direct = DirectConv::new(
            kernel,
            bias,
            [conv.cout, conv.cin],
            conv.kernel,
            conv.stride[1],
        )?;
        Some(StemPool {
            conv,
            pool,
            nhwc,
            relu,
            threads,
            kernel: Arc::new(direct),
        })
    }

    /// `[n, c, h, w]` of an input shape.
    fn nchw(&self, shape: &[usize]) -> TractResult<[usize; 4]> {
        match (shape, self.nhwc) {
            (&[n, h, w, c], true) | (&[n, c, h, w], false) => Ok([n, c, h, w]),
            _ => bail!("StemPool needs a rank-4 input, got {shape:?}"),
        }
    }

    /// Convolution and pooling output sizes for an `h x w` input.
    fn sizes(&self, h: usize, w: usize) -> TractResult<([usize; 2], [usize; 2])> {
        let conv = self
            .conv
            .output(h, w)
            .ok_or_else(|| format_err!("{h}x{w} input smaller than the kernel"))?;
        let pooled = self
            .pool
            .output(conv[0], conv[1])
            .ok_or_else(|| format_err!("{conv:?} plane smaller than the pooling window"))?;
        Ok((conv, pooled))
    }

    /// Convolves, pools and writes one image into `out` (`[cout, ph, pw]`).
    fn run_image(&self, image: &[f32], [c, h, w]: [usize; 3], out: &mut [f32]) -> TractResult<()> {
        let g = &self.conv;
        let ([ch, cw], [ph, pw]) = self.sizes(h, w)?;
        let pixels = cw.next_multiple_of(PIXEL_BLOCK);
        let row_len = self.kernel.row_len(pixels).max((w + g.pad_before[1]) * c);
        let rows = h + g.pad_before[0] + g.pad_after[0];
        let band = Band {
            op: self,
            row_len,
            pixels,
            conv_rows: ch,
            conv_cols: cw,
            pooled_cols: pw,
        };
        scratch::with_input_buffer(rows * row_len, |padded| {
            self.pad_image(image, [c, h, w], row_len, padded);
            let padded = &*padded;
            let bands = self.threads.clamp(1, ph);
            let band_rows = ph.div_ceil(bands);
            let mut pieces = split_planes(out, ph * pw, band_rows * pw);
            if pieces.len() == 1 {
                band.run(padded, 0, &mut pieces[0]);
            } else {
                pieces
                    .par_iter_mut()
                    .enumerate()
                    .for_each(|(i, planes)| band.run(padded, i * band_rows, planes));
            }
        });
        Ok(())
    }

    /// Writes the image as zero-padded HWC rows of `row_len` values.
    fn pad_image(&self, image: &[f32], [c, h, w]: [usize; 3], row_len: usize, padded: &mut [f32]) {
        let [top, left] = self.conv.pad_before;
        padded.fill(0.0);
        for y in 0..h {
            let row = &mut padded[(top + y) * row_len + left * c..][..w * c];
            if self.nhwc {
                row.copy_from_slice(&image[y * w * c..][..w * c]);
            } else {
                for (x, pixel) in row.chunks_exact_mut(c).enumerate() {
                    for (ic, v) in pixel.iter_mut().enumerate() {
                        *v = image[(ic * h + y) * w + x];
                    }
                }
            }
        }
    }
}

/// The pooled rows one thread computes, and what it needs to know about the image.
struct Band<'a> {
    op: &'a StemPool,
    /// Values per padded input row.
    row_len: usize,
    /// Convolution output pixels computed per row (the width rounded up to a pixel block).
    pixels: usize,
    conv_rows: usize,
    conv_cols: usize,
    pooled_cols: usize,
}

impl Band<'_> {
    /// Pools rows `first..first + n` into `planes` (one slice of `n` rows per channel),
    /// computing each convolution row they need once, into a ring of pooling-height rows.
    fn run(&self, padded: &[f32], first: usize, planes: &mut [&mut [f32]]) {
        let channels = self.op.kernel.padded_channels();
        let row_values = self.pixels * channels;
        let window = self.op.pool.kernel[0];
        let lens = [(window + 1) * row_values, self.pooled_cols * channels];
        scratch::with_buffers(lens, |ring, pooled| {
            let (ring, column_max) = ring.split_at_mut(window * row_values);
            let mut held = vec![usize::MAX; window];
            let count = planes.first().map_or(0, |p| p.len() / self.pooled_cols);
            for py in first..first + count {
                let [lo, hi] = clip(
                    py,
                    self.op.pool.stride[0],
                    self.op.pool.pad_before[0],
                    window,
                    self.conv_rows,
                );
                for r in lo..hi {
                    let slot = r % window;
                    if held[slot] != r {
                        self.conv_row(padded, r, &mut ring[slot * row_values..][..row_values]);
                        held[slot] = r;
                    }
                }
                column_max.copy_from_slice(&ring[(lo % window) * row_values..][..row_values]);
                for r in lo + 1..hi {
                    let row = &ring[(r % window) * row_values..][..row_values];
                    column_max
                        .iter_mut()
                        .zip(row)
                        .for_each(|(m, v)| *m = m.max(*v));
                }
                self.pool_columns(column_max, pooled);
                let at = (py - first) * self.pooled_cols;
                for (channel, plane) in planes.iter_mut().enumerate() {
                    let dst = &mut plane[at..][..self.pooled_cols];
                    for (d, px) in dst.iter_mut().zip(pooled.chunks_exact(channels)) {
                        *d = px[channel];
                    }
                }
            }
        });
    }

    /// Convolution row `r` (`[x][channel]`, bias included) into `out`.
    fn conv_row(&self, padded: &[f32], r: usize, out: &mut [f32]) {
        let [kh, _] = self.op.conv.kernel;
        let top = r * self.op.conv.stride[0];
        let rows = &padded[top * self.row_len..][..kh * self.row_len];
        self.op.kernel.conv_row(rows, self.row_len, out);
    }

    /// Max over each pooling window of `column_max` (`[x][channel]`, already the max down
    /// the window's rows) into `pooled` (`[px][channel]`), then the ReLU.
    fn pool_columns(&self, column_max: &[f32], pooled: &mut [f32]) {
        let channels = self.op.kernel.padded_channels();
        let pool = &self.op.pool;
        for (px, out) in pooled.chunks_exact_mut(channels).enumerate() {
            let [lo, hi] = clip(
                px,
                pool.stride[1],
                pool.pad_before[1],
                pool.kernel[1],
                self.conv_cols,
            );
            out.copy_from_slice(&column_max[lo * channels..][..channels]);
            for x in lo + 1..hi {
                let column = &column_max[x * channels..][..channels];
                out.iter_mut().zip(column).for_each(|(m, v)| *m = m.max(*v));
            }
            if self.op.relu {
                out.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        }
    }
}

/// The input positions `[lo, hi)` that pooling window `i` covers, padding left out.
fn clip(i: usize, stride: usize, pad: usize, window: usize, len: usize) -> [usize; 2] {
    let start = i * stride;
    let lo = start.saturating_sub(pad);
    let hi = (start + window).saturating_sub(pad).min(len);
    [lo, hi]
}

impl std::fmt::Debug for StemPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StemPool")
            .field("conv", &self.conv)
            .field("pool", &self.pool)
            .field("nhwc", &self.nhwc)
            .field("relu", &self.relu)
            .finish_non_exhaustive()
    }
}

/// Weights compare bit for bit, so equality is reflexive (tract needs `Eq` to compare ops).
impl PartialEq for StemPool {
    fn eq(&self, other: &Self) -> bool {
        self.conv == other.conv
            && self.pool == other.pool
            && self.nhwc == other.nhwc
            && self.relu == other.relu
            && self.threads == other.threads
            && (Arc::ptr_eq(&self.kernel, &other.kernel) || self.kernel == other.kernel)
    }
}

impl Eq for StemPool {}

impl Op for StemPool {
    fn name(&self) -> StaticName {
        "StemPool".into()
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let (c, p) = (&self.conv, &self.pool);
        Ok(vec![format!(
            "{} {}->{} kernel {:?} stride {:?} pad {:?}/{:?}, relu {}, max pool {:?} stride {:?} pad {:?}/{:?}",
            if self.nhwc { "NHWC" } else { "NCHW" },
            c.cin,
            c.cout,
            c.kernel,
            c.stride,
            c.pad_before,
            c.pad_after,
            self.relu,
            p.kernel,
            p.stride,
            p.pad_before,
            p.pad_after
        )])
    }

    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }
}

impl EvalOp for StemPool {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        ensure!(inputs.len() == 1, "StemPool takes one input");
        let [n, c, h, w] = self.nchw(inputs[0].shape())?;
        ensure!(
            c == self.conv.cin,
            "StemPool expects {} channels, got {c}",
            self.conv.cin
        );
        let (_, [ph, pw]) = self.sizes(h, w)?;
        let shape = [n, self.conv.cout, ph, pw];
        let image = inputs[0].try_as_plain_ram()?;
        let image = image.as_slice::<f32>()?;
        // SAFETY: `run_image` writes every output element (each channel's band of rows, every
        // pooled column) before anything reads it.
        #[allow(unsafe_code)]
        let mut output = unsafe { Tensor::uninitialized::<f32>(&shape)? };
        {
            let mut view = output.try_as_plain_ram_mut()?;
            let out = view.as_slice_mut::<f32>()?;
            let (in_len, out_len) = (c * h * w, self.conv.cout * ph * pw);
            for item in 0..n {
                self.run_image(
                    &image[item * in_len..][..in_len],
                    [c, h, w],
                    &mut out[item * out_len..][..out_len],
                )?;
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }

    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
    }
}

impl TypedOp for StemPool {
    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1);
        ensure!(inputs[0].datum_type == f32::datum_type());
        let shape = inputs[0]
            .shape
            .as_concrete()
            .ok_or_else(|| format_err!("StemPool needs a concrete input shape"))?;
        let [n, c, h, w] = self.nchw(shape)?;
        ensure!(c == self.conv.cin);
        let (_, [ph, pw]) = self.sizes(h, w)?;
        Ok(tvec!(f32::fact([n, self.conv.cout, ph, pw])))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{geometry, reference, values};
    use super::*;

    /// Max pooling, the definition: the max over each window's positions inside the plane.
    fn max_pool(pool: &Geometry, input: &[f32], [n, c, h, w]: [usize; 4]) -> Vec<f32> {
        let [ph, pw] = pool.output(h, w).expect("window fits");
        let mut out = Vec::with_capacity(n * c * ph * pw);
        for plane in input.chunks_exact(h * w).take(n * c) {
            for py in 0..ph {
                for px in 0..pw {
                    let mut best = f32::NEG_INFINITY;
                    for r in 0..pool.kernel[0] {
                        for s in 0..pool.kernel[1] {
                            let y = (py * pool.stride[0] + r).checked_sub(pool.pad_before[0]);
                            let x = (px * pool.stride[1] + s).checked_sub(pool.pad_before[1]);
                            if let (Some(y), Some(x)) = (y, x) {
                                if y < h && x < w {
                                    best = best.max(plane[y * w + x]);
                                }
                            }
                        }
                    }
                    out.push(best);
                }
            }
        }
        out
    }

    fn check(
        conv: Geometry,
        pool: Geometry,
        [n, h, w]: [usize; 3],
        nhwc: bool,
        relu: bool,
        threads: usize,
    ) -> TractResult<()> {
        let kernel = values(conv.cout * conv.cin * conv.kernel[0] * conv.kernel[1], 1);
        let bias = values(conv.cout, 2);
        let image = values(n * conv.cin * h * w, 3);
        let op = StemPool::new(conv, pool, &kernel, &bias, nhwc, relu, threads)
            .ok_or_else(|| format_err!("unsupported {conv:?} {pool:?}"))?;

        let mut convolved = reference(&conv, &kernel, &bias, &image, [n, h, w]);
        if relu {
            convolved.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        let [ch, cw] = conv.output(h, w).expect("kernel fits");
        let expected = max_pool(&pool, &convolved, [n, conv.cout, ch, cw]);
        let [ph, pw] = pool.output(ch, cw).expect("window fits");

        let input = if nhwc {
            let mut hwc = vec![0f32; image.len()];
            for (i, v) in image.iter().enumerate() {
                let (x, y, c, b) = (
                    i % w,
                    i / w % h,
                    i / (w * h) % conv.cin,
                    i / (w * h * conv.cin),
                );
                hwc[((b * h + y) * w + x) * conv.cin + c] = *v;
            }
            Tensor::from_shape(&[n, h, w, conv.cin], &hwc)?
        } else {
            Tensor::from_shape(&[n, conv.cin, h, w], &image)?
        };
        let shape = [n, conv.cout, ph, pw];
        let fact = f32::fact(input.shape());
        assert_eq!(
            op.output_facts(&[&fact])?[0].shape.as_concrete(),
            Some(&shape[..])
        );
        let output = op.eval(&EvalContext::out_of_plan(), tvec![input.into_tvalue()])?;
        assert_eq!(output[0].shape(), shape);
        let plain = output[0].try_as_plain_ram()?;
        let worst = plain
            .as_slice::<f32>()?
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst < 1e-3,
            "{conv:?} {pool:?} {n}x{h}x{w}: max difference {worst}"
        );
        Ok(())
    }

    fn window(
        channels: usize,
        kernel: usize,
        stride: usize,
        before: usize,
        after: usize,
    ) -> Geometry {
        geometry(channels, channels, kernel, stride, [before; 2], [after; 2])
    }

    #[test]
    fn matches_convolution_relu_and_pooling() -> TractResult<()> {
        // open_nsfw's stem on a small, odd-sized NHWC image.
        check(
            geometry(3, 64, 7, 2, [3, 3], [3, 3]),
            window(64, 3, 2, 0, 1),
            [1, 30, 25],
            true,
            true,
            1,
        )?;
        // Channels not a multiple of the block, stride 1, uneven padding, NCHW, a batch of
        // two, no ReLU, a pooling window without padding.
        check(
            geometry(3, 20, 5, 1, [2, 1], [1, 2]),
            window(20, 2, 2, 0, 0),
            [2, 11, 13],
            false,
            false,
            1,
        )
    }

    #[test]
    fn splits_rows_between_threads() -> TractResult<()> {
        // Overlapping windows padded on both sides, in three bands.
        check(
            geometry(1, 8, 3, 2, [1, 1], [1, 1]),
            window(8, 3, 1, 1, 1),
            [1, 17, 12],
            true,
            true,
            3,
        )
    }

    #[test]
    fn refuses_windows_that_can_lie_in_padding() {
        let conv = geometry(3, 4, 3, 1, [1, 1], [1, 1]);
        let pool = window(4, 2, 2, 2, 0);
        assert!(StemPool::new(conv, pool, &[0.0; 108], &[0.0; 4], true, true, 1).is_none());
        let other_channels = window(5, 3, 2, 0, 1);
        assert!(
            StemPool::new(conv, other_channels, &[0.0; 108], &[0.0; 4], true, true, 1).is_none()
        );
    }

    #[test]
    fn rejects_an_input_of_the_wrong_shape() -> TractResult<()> {
        let conv = geometry(3, 4, 3, 1, [1, 1], [1, 1]);
        let op = StemPool::new(
            conv,
            window(4, 2, 2, 0, 0),
            &[0.5; 108],
            &[0.0; 4],
            true,
            true,
            1,
        )
        .ok_or_else(|| format_err!("unsupported"))?;
        let four_channels = Tensor::from_shape(&[1, 6, 6, 4], &[0f32; 144])?.into_tvalue();
        assert!(op
            .eval(&EvalContext::out_of_plan(), tvec![four_channels])
            .is_err());
        let too_small = Tensor::from_shape(&[1, 1, 0, 3], &[0f32; 0])?.into_tvalue();
        assert!(op
            .eval(&EvalContext::out_of_plan(), tvec![too_small])
            .is_err());
        Ok(())
    }
}
