//! `GemmConv`: one 2-D convolution (NCHW, groups of one), with its bias and optionally the
//! residual `Add` and `ReLU` that follow it, as a tract operator.

use std::sync::Arc;

use tract_onnx::tract_core::internal::*;

use super::epilogue::Epilogue;
use super::{pointwise, pointwise16, winograd};

/// How a convolution is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// 1x1 kernel, no padding, any stride: one matrix product.
    Pointwise,
    /// The same by Veil's own AVX-512 kernel ([`pointwise16`]), on CPUs that have it.
    Pointwise16,
    /// 3x3 kernel at stride 1, any padding: Winograd F(2x2, 3x3).
    Winograd3x3,
    /// The same with its products by the AVX-512 kernel of [`pointwise16`].
    Winograd16,
}

/// The shape of one convolution: channels, kernel, stride and zero padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub cin: usize,
    pub cout: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Vertical and horizontal stride.
    pub stride: [usize; 2],
    /// Zero rows above and columns left of the image.
    pub pad_before: [usize; 2],
    /// Zero rows below and columns right of the image.
    pub pad_after: [usize; 2],
}

impl Geometry {
    /// How [`GemmConv`] computes this convolution, or `None` when it does not.
    pub fn method(&self) -> Option<Method> {
        let unpadded = self.pad_before == [0, 0] && self.pad_after == [0, 0];
        if self.cin == 0 || self.cout == 0 || self.stride.contains(&0) {
            None
        } else if self.kernel == [1, 1] && unpadded && pointwise16::available() {
            Some(Method::Pointwise16)
        } else if self.kernel == [1, 1] && unpadded {
            Some(Method::Pointwise)
        } else if self.kernel == [3, 3] && self.stride == [1, 1] && pointwise16::available() {
            Some(Method::Winograd16)
        } else if self.kernel == [3, 3] && self.stride == [1, 1] {
            Some(Method::Winograd3x3)
        } else {
            None
        }
    }

    /// Output height and width for an `h x w` input, or `None` when the kernel does not fit.
    pub fn output(&self, h: usize, w: usize) -> Option<[usize; 2]> {
        let hp = h + self.pad_before[0] + self.pad_after[0];
        let wp = w + self.pad_before[1] + self.pad_after[1];
        if hp < self.kernel[0] || wp < self.kernel[1] {
            return None;
        }
        Some([
            (hp - self.kernel[0]) / self.stride[0] + 1,
            (wp - self.kernel[1]) / self.stride[1] + 1,
        ])
    }
}

/// One convolution computed by [`pointwise`] or [`winograd`]. Inputs: the image
/// `[n, cin, h, w]`, then, when `residual` is set, a tensor of the output's shape added before
/// the ReLU.
#[derive(Debug, Clone)]
pub(crate) struct GemmConv {
    pub geometry: Geometry,
    pub method: Method,
    /// Pointwise: `[cout][cin]`. Pointwise16: packed by [`pointwise16::pack_weights`].
    /// Winograd: the transformed weights, `[16][cin][cout]`.
    pub weights: Arc<Vec<f32>>,
    /// One bias per output channel.
    pub bias: Arc<Vec<f32>>,
    pub residual: bool,
    pub relu: bool,
    /// Threads one product may use.
    pub threads: usize,
}

impl GemmConv {
    /// The operator for `geometry`, from OIHW `kernel` weights, or `None` when it does not
    /// compute that convolution or the weights or bias have the wrong length.
    pub fn new(
        geometry: Geometry,
        kernel: &[f32],
        bias: Vec<f32>,
        residual: bool,
        relu: bool,
        threads: usize,
    ) -> Option<GemmConv> {
        GemmConv::with_method(
            geometry,
            geometry.method()?,
            kernel,
            bias,
            residual,
            relu,
            threads,
        )
    }

    /// [`GemmConv::new`] with a chosen method, or `None` when `method` cannot compute
    /// `geometry` on this CPU.
    pub fn with_method(
        geometry: Geometry,
        method: Method,
        kernel: &[f32],
        bias: Vec<f32>,
        residual: bool,
        relu: bool,
        threads: usize,
    ) -> Option<GemmConv> {
        let native = geometry.method()?;
        let pointwise = matches!(native, Method::Pointwise | Method::Pointwise16);
        let winograd = matches!(native, Method::Winograd3x3 | Method::Winograd16);
        let usable = match method {
            Method::Pointwise => pointwise,
            Method::Pointwise16 => pointwise && pointwise16::available(),
            Method::Winograd3x3 => winograd,
            Method::Winograd16 => winograd && pointwise16::available(),
        };
        if !usable {
            return None;
        }
        let taps = geometry.kernel[0] * geometry.kernel[1];
        if kernel.len() != geometry.cout * geometry.cin * taps || bias.len() != geometry.cout {
            return None;
        }
        let weights = match method {
            Method::Pointwise => kernel.to_vec(),
            Method::Pointwise16 => pointwise16::pack_weights(kernel, geometry.cin, geometry.cout),
            Method::Winograd3x3 => winograd::transform_weights(kernel, geometry.cin, geometry.cout),
            Method::Winograd16 => {
                winograd::transform_weights16(kernel, geometry.cin, geometry.cout)
            }
        };
        Some(GemmConv {
            geometry,
            method,
            weights: Arc::new(weights),
            bias: Arc::new(bias),
            residual,
            relu,
            threads,
        })
    }

    fn parallelism(&self) -> gemm::Parallelism {
        if self.threads > 1 {
            gemm::Parallelism::Rayon(self.threads)
        } else {
            gemm::Parallelism::None
        }
    }

    /// Convolves one image `[cin, h, w]` into `out` `[cout, ho, wo]`.
    fn convolve(
        &self,
        image: &[f32],
        hw: [usize; 2],
        residual: Option<&[f32]>,
        out: &mut [f32],
        ohw: [usize; 2],
    ) -> TractResult<()> {
        let g = &self.geometry;
        let epilogue = Epilogue {
            bias: &self.bias,
            residual,
            relu: self.relu,
            plane: ohw[0] * ohw[1],
        };
        let channels = [g.cin, g.cout];
        match self.method {
            Method::Pointwise => pointwise::convolve(
                &self.weights,
                channels,
                g.stride,
                image,
                hw,
                out,
                ohw,
                &epilogue,
                self.parallelism(),
            ),
            Method::Pointwise16 => pointwise16::convolve(
                &self.weights,
                channels,
                g.stride,
                image,
                hw,
                out,
                ohw,
                &epilogue,
                self.threads,
            ),
            Method::Winograd3x3 => winograd::convolve(
                winograd::Products::Gemm {
                    u: &self.weights,
                    parallelism: self.parallelism(),
                },
                channels,
                g.pad_before,
                image,
                hw,
                out,
                ohw,
                &epilogue,
            ),
            Method::Winograd16 => winograd::convolve(
                winograd::Products::Avx512 {
                    packed: &self.weights,
                    threads: self.threads,
                },
                channels,
                g.pad_before,
                image,
                hw,
                out,
                ohw,
                &epilogue,
            ),
        }
    }
}

/// Weights compare bit for bit, so equality is reflexive (tract needs `Eq` to compare ops).
impl PartialEq for GemmConv {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: &Arc<Vec<f32>>, b: &Arc<Vec<f32>>| Arc::ptr_eq(a, b) || same_bits(a, b);
        self.geometry == other.geometry
            && self.method == other.method
            && self.residual == other.residual
            && self.relu == other.relu
            && self.threads == other.threads
            && same(&self.weights, &other.weights)
            && same(&self.bias, &other.bias)
    }
}

impl Eq for GemmConv {}

/// Whether two weight arrays are equal bit for bit (reflexive even with NaNs, as tract's `Eq`
/// on operators needs).
pub(super) fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.iter()
        .map(|v| v.to_bits())
        .eq(b.iter().map(|v| v.to_bits()))
}

/// `[n, c, h, w]` of a concrete rank-4 fact.
fn nchw(fact: &TypedFact) -> TractResult<[usize; 4]> {
    let shape = fact
        .shape
        .as_concrete()
        .ok_or_else(|| format_err!("GemmConv needs a concrete input shape"))?;
    match *shape {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => bail!("GemmConv needs an NCHW input, got {shape:?}"),
    }
}

impl Op for GemmConv {
    fn name(&self) -> StaticName {
        "GemmConv".into()
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let g = &self.geometry;
        Ok(vec![format!(
            "{:?} {}->{} kernel {:?} stride {:?} pad {:?}/{:?} residual {} relu {}",
            self.method,
            g.cin,
            g.cout,
            g.kernel,
            g.stride,
            g.pad_before,
            g.pad_after,
            self.residual,
            self.relu
        )])
    }

    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }
}

impl EvalOp for GemmConv {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        ensure!(
            inputs.len() == 1 + usize::from(self.residual),
            "GemmConv input count"
        );
        let [n, c, h, w] = match *inputs[0].shape() {
            [n, c, h, w] => [n, c, h, w],
            ref other => bail!("GemmConv needs an NCHW input, got {other:?}"),
        };
        let g = &self.geometry;
        ensure!(c == g.cin, "GemmConv expects {} channels, got {c}", g.cin);
        let [ho, wo] = g
            .output(h, w)
            .ok_or_else(|| format_err!("{h}x{w} input smaller than the kernel"))?;
        let shape = [n, g.cout, ho, wo];
        if let Some(res) = inputs.get(1) {
            ensure!(res.shape() == shape, "GemmConv residual shape mismatch");
        }
        let image = inputs[0].try_as_plain_ram()?;
        let image = image.as_slice::<f32>()?;
        let residual = inputs.get(1).map(|r| r.try_as_plain_ram()).transpose()?;
        let residual = residual.as_ref().map(|r| r.as_slice::<f32>()).transpose()?;
        // SAFETY: `convolve` writes every element of the output before anything reads it (the
        // products overwrite their destination; Winograd writes each output pixel once).
        #[allow(unsafe_code)]
        let mut output = unsafe { Tensor::uninitialized::<f32>(&shape)? };
        {
            let mut view = output.try_as_plain_ram_mut()?;
            let out = view.as_slice_mut::<f32>()?;
            let (in_len, out_len) = (c * h * w, g.cout * ho * wo);
            for item in 0..n {
                self.convolve(
                    &image[item * in_len..][..in_len],
                    [h, w],
                    residual.map(|r| &r[item * out_len..][..out_len]),
                    &mut out[item * out_len..][..out_len],
                    [ho, wo],
                )?;
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }

    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
    }
}

impl TypedOp for GemmConv {
    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1 + usize::from(self.residual));
        let [n, c, h, w] = nchw(inputs[0])?;
        ensure!(c == self.geometry.cin);
        let [ho, wo] = self
            .geometry
            .output(h, w)
            .ok_or_else(|| format_err!("input smaller than the kernel"))?;
        if let Some(res) = inputs.get(1) {
            ensure!(nchw(res)? == [n, self.geometry.cout, ho, wo]);
        }
        Ok(tvec!(f32::fact([n, self.geometry.cout, ho, wo])))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{geometry, reference, values};
    use super::*;

    fn check(g: Geometry, nhw: [usize; 3], residual: bool, relu: bool) -> TractResult<()> {
        let method = g.method().ok_or_else(|| format_err!("unsupported {g:?}"))?;
        check_with(g, method, 1, nhw, residual, relu)
    }

    /// Runs `method` on `threads` threads against the definition of a convolution.
    fn check_with(
        g: Geometry,
        method: Method,
        threads: usize,
        [n, h, w]: [usize; 3],
        residual: bool,
        relu: bool,
    ) -> TractResult<()> {
        let kernel = values(g.cout * g.cin * g.kernel[0] * g.kernel[1], 1);
        let bias = values(g.cout, 2);
        let image = values(n * g.cin * h * w, 3);
        let op = GemmConv::with_method(g, method, &kernel, bias.clone(), residual, relu, threads)
            .ok_or_else(|| format_err!("unsupported {g:?} by {method:?}"))?;
        let mut expected = reference(&g, &kernel, &bias, &image, [n, h, w]);
        let [ho, wo] = g.output(h, w).expect("kernel fits");
        let shape = [n, g.cout, ho, wo];
        let mut inputs = tvec![Tensor::from_shape(&[n, g.cin, h, w], &image)?.into_tvalue()];
        if residual {
            let res = values(expected.len(), 4);
            expected.iter_mut().zip(&res).for_each(|(e, r)| *e += r);
            inputs.push(Tensor::from_shape(&shape, &res)?.into_tvalue());
        }
        if relu {
            expected.iter_mut().for_each(|e| *e = e.max(0.0));
        }
        let facts: Vec<TypedFact> = inputs.iter().map(|t| f32::fact(t.shape())).collect();
        let fact_refs: Vec<&TypedFact> = facts.iter().collect();
        assert_eq!(
            op.output_facts(&fact_refs)?[0].shape.as_concrete(),
            Some(&shape[..])
        );
        let output = op.eval(&EvalContext::out_of_plan(), inputs)?;
        assert_eq!(output[0].shape(), shape);
        let plain = output[0].try_as_plain_ram()?;
        let got = plain.as_slice::<f32>()?;
        let worst = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst < 1e-3,
            "{g:?} by {method:?} {n}x{h}x{w}: max difference {worst}"
        );
        Ok(())
    }

    #[test]
    fn pointwise_matches_direct_convolution() -> TractResult<()> {
        check(
            geometry(5, 7, 1, 1, [0, 0], [0, 0]),
            [1, 6, 9],
            false,
            false,
        )?;
        check(geometry(8, 3, 1, 1, [0, 0], [0, 0]), [2, 5, 4], true, true)?;
        // Large enough to be cut into several bands.
        check(
            geometry(4, 64, 1, 1, [0, 0], [0, 0]),
            [1, 40, 37],
            true,
            false,
        )
    }

    #[test]
    fn gemm_pointwise_matches_direct_convolution() -> TractResult<()> {
        let g = geometry(6, 9, 1, 1, [0, 0], [0, 0]);
        check_with(g, Method::Pointwise, 1, [1, 8, 7], true, true)?;
        check_with(g, Method::Pointwise, 2, [2, 30, 21], false, true)
    }

    #[test]
    fn avx512_pointwise_matches_direct_convolution() -> TractResult<()> {
        if !pointwise16::available() {
            eprintln!("no AVX-512 on this CPU: the kernel cannot run here");
            return Ok(());
        }
        let run = |cin, cout, stride, threads, nhw, residual, relu| {
            let g = geometry(cin, cout, 1, stride, [0, 0], [0, 0]);
            check_with(g, Method::Pointwise16, threads, nhw, residual, relu)
        };
        // 16-pixel rows: a partial block of channels, a partial last tile, bands on threads.
        run(5, 37, 1, 1, [1, 12, 13], true, true)?;
        run(3, 16, 1, 3, [2, 20, 19], false, true)?;
        run(7, 20, 2, 2, [1, 31, 17], true, false)?;
        run(6, 33, 1, 2, [1, 5, 9], true, false)?;
        // Small planes in 7-pixel columns: four blocks then one, three blocks, a short last
        // column, and two threads (bands of 32 and 17 pixels).
        run(9, 80, 1, 1, [1, 7, 7], true, true)?;
        run(4, 40, 1, 1, [2, 3, 4], false, true)?;
        run(9, 80, 1, 2, [1, 7, 7], true, true)?;
        run(2, 1, 2, 1, [1, 6, 5], false, false)
    }

    #[test]
    fn strided_pointwise_matches_direct_convolution() -> TractResult<()> {
        check(geometry(6, 4, 1, 2, [0, 0], [0, 0]), [1, 7, 9], false, true)?;
        check(
            geometry(3, 5, 1, 3, [0, 0], [0, 0]),
            [1, 10, 8],
            true,
            false,
        )
    }

    #[test]
    fn winograd_matches_direct_convolution() -> TractResult<()> {
        // Odd and even output sizes, same and no padding, uneven padding, a batch of two.
        check(
            geometry(3, 4, 3, 1, [1, 1], [1, 1]),
            [1, 8, 8],
            false,
            false,
        )?;
        check(geometry(5, 6, 3, 1, [1, 1], [1, 1]), [1, 7, 5], true, true)?;
        check(geometry(4, 2, 3, 1, [0, 0], [0, 0]), [2, 6, 9], false, true)?;
        check(geometry(2, 3, 3, 1, [2, 0], [1, 1]), [1, 5, 6], true, false)?;
        // A larger plane: 10x9 tiles.
        check(
            geometry(3, 5, 3, 1, [1, 1], [1, 1]),
            [1, 20, 18],
            true,
            true,
        )
    }

    #[test]
    fn avx512_winograd_matches_direct_convolution() -> TractResult<()> {
        if !pointwise16::available() {
            eprintln!("no AVX-512 on this CPU: the kernel cannot run here");
            return Ok(());
        }
        let run = |cin, cout, before, after, threads, nhw, residual, relu| {
            let g = geometry(cin, cout, 3, 1, before, after);
            check_with(g, Method::Winograd16, threads, nhw, residual, relu)
        };
        // 16 tiles (one row of 16), 9 tiles (columns of 7 and a short one), 110 tiles (rows
        // with a short last one), partial channel blocks, uneven padding, threads.
        run(5, 17, [1, 1], [1, 1], 1, [1, 7, 7], true, true)?;
        run(3, 70, [1, 1], [1, 1], 1, [2, 5, 6], false, true)?;
        run(3, 70, [1, 1], [1, 1], 3, [1, 9, 9], true, true)?;
        run(4, 6, [2, 0], [1, 1], 2, [1, 20, 21], true, false)?;
        run(2, 3, [0, 0], [0, 0], 1, [1, 9, 9], false, false)
    }

    #[test]
    fn gemm_winograd_matches_direct_convolution() -> TractResult<()> {
        let g = geometry(5, 6, 3, 1, [1, 1], [1, 1]);
        check_with(g, Method::Winograd3x3, 1, [1, 9, 8], true, true)?;
        check_with(g, Method::Winograd3x3, 2, [1, 20, 18], false, true)
    }

    #[test]
    fn refuses_what_it_does_not_compute() {
        let strided_3x3 = geometry(2, 2, 3, 2, [1, 1], [1, 1]);
        assert!(GemmConv::new(strided_3x3, &[0.0; 36], vec![0.0; 2], false, false, 1).is_none());
        let five = geometry(2, 2, 5, 1, [2, 2], [2, 2]);
        assert!(GemmConv::new(five, &[0.0; 100], vec![0.0; 2], false, false, 1).is_none());
        let padded_1x1 = geometry(2, 2, 1, 1, [1, 1], [1, 1]);
        assert!(padded_1x1.method().is_none());
        let pointwise = geometry(2, 2, 1, 1, [0, 0], [0, 0]);
        assert!(
            GemmConv::new(pointwise, &[0.0; 3], vec![0.0; 2], false, false, 1).is_none(),
            "short weights"
        );
    }

    #[test]
    fn rejects_an_input_of_the_wrong_shape() -> TractResult<()> {
        let g = geometry(3, 2, 1, 1, [0, 0], [0, 0]);
        let op = GemmConv::new(g, &[0.5; 6], vec![0.0; 2], false, false, 1)
            .ok_or_else(|| format_err!("unsupported"))?;
        let wrong = Tensor::from_shape(&[1, 4, 2, 2], &[0f32; 16])?.into_tvalue();
        assert!(op.eval(&EvalContext::out_of_plan(), tvec![wrong]).is_err());
        Ok(())
    }
}
