//! `Subsample`: keeps every `stride`-th row and column of NCHW planes, in one pass.
//!
//! A strided 1x1 convolution is a 1x1 convolution of the subsampled image. tract computes the
//! subsampling as one `Downsample` node per axis, each a generic strided copy into a fresh
//! tensor, and where a residual block precedes it pushes them through the block's `Add` and
//! `ReLU`: on open_nsfw six such copies and an unfused add cost about 1 ms, over 4% of an
//! inference. Placed in front of a stride-1 convolution, this operator lets tract run the
//! convolution as its plain matrix product, with the preceding residual add fused into the
//! product before it.

use tract_onnx::tract_core::internal::*;

/// Input `[n, c, h, w]`; output `[n, c, ⌈h / sy⌉, ⌈w / sx⌉]`: rows and columns `0, s, 2s, …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Subsample {
    /// Vertical and horizontal stride, at least 1.
    pub stride: [usize; 2],
}

impl Subsample {
    fn output(&self, [n, c, h, w]: [usize; 4]) -> [usize; 4] {
        [n, c, h.div_ceil(self.stride[0]), w.div_ceil(self.stride[1])]
    }
}

impl Op for Subsample {
    fn name(&self) -> StaticName {
        "Subsample".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("stride {:?}", self.stride)])
    }

    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }
}

impl EvalOp for Subsample {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        ensure!(inputs.len() == 1, "Subsample takes one input");
        ensure!(!self.stride.contains(&0), "Subsample stride of zero");
        let [n, c, h, w] = match *inputs[0].shape() {
            [n, c, h, w] => [n, c, h, w],
            ref other => bail!("Subsample needs an NCHW input, got {other:?}"),
        };
        let shape = self.output([n, c, h, w]);
        let [_, _, ho, wo] = shape;
        let input = inputs[0].try_as_plain_ram()?;
        let values = subsample(input.as_slice::<f32>()?, n * c, [h, w], self.stride);
        ensure!(
            values.len() == n * c * ho * wo,
            "Subsample of a short input"
        );
        Ok(tvec!(Tensor::from_shape(&shape, &values)?.into_tvalue()))
    }

    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
    }
}

impl TypedOp for Subsample {
    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1 && inputs[0].datum_type == f32::datum_type());
        let shape = match inputs[0].shape.as_concrete() {
            Some(&[n, c, h, w]) => [n, c, h, w],
            _ => bail!("Subsample needs a concrete NCHW input"),
        };
        Ok(tvec!(f32::fact(self.output(shape))))
    }
}

/// `image` (`[c, h, w]`) itself at stride 1, else [`subsample`]d: the input of a strided 1x1
/// convolution computed at stride 1.
pub(super) fn unstrided(
    image: &[f32],
    c: usize,
    hw: [usize; 2],
    stride: [usize; 2],
) -> std::borrow::Cow<'_, [f32]> {
    if stride == [1, 1] {
        std::borrow::Cow::Borrowed(image)
    } else {
        std::borrow::Cow::Owned(subsample(image, c, hw, stride))
    }
}

/// Rows and columns `0, s, 2s, …` of the first `planes` `h x w` planes of `input`.
pub(super) fn subsample(
    input: &[f32],
    planes: usize,
    [h, w]: [usize; 2],
    [sy, sx]: [usize; 2],
) -> Vec<f32> {
    let mut values = Vec::with_capacity(planes * h.div_ceil(sy) * w.div_ceil(sx));
    for plane in input.chunks_exact(h * w).take(planes) {
        for row in plane.chunks_exact(w).step_by(sy) {
            values.extend(row.iter().step_by(sx));
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_strided_row_and_column() -> TractResult<()> {
        let values: Vec<f32> = (0..2 * 5 * 7).map(|v| v as f32).collect();
        let input = Tensor::from_shape(&[1, 2, 5, 7], &values)?;
        let op = Subsample { stride: [2, 3] };
        let fact = f32::fact([1, 2, 5, 7]);
        assert_eq!(
            op.output_facts(&[&fact])?[0].shape.as_concrete(),
            Some(&[1, 2, 3, 3][..])
        );
        let out = op.eval(&EvalContext::out_of_plan(), tvec![input.into_tvalue()])?;
        let expected = [
            0., 3., 6., 14., 17., 20., 28., 31., 34., //
            35., 38., 41., 49., 52., 55., 63., 66., 69.,
        ];
        assert_eq!(out[0].shape(), [1, 2, 3, 3]);
        assert_eq!(out[0].try_as_plain_ram()?.as_slice::<f32>()?, expected);
        Ok(())
    }

    #[test]
    fn rejects_other_ranks() -> TractResult<()> {
        let op = Subsample { stride: [2, 2] };
        let flat = Tensor::from_shape(&[4, 4], &[0f32; 16])?.into_tvalue();
        assert!(op.eval(&EvalContext::out_of_plan(), tvec![flat]).is_err());
        Ok(())
    }
}
