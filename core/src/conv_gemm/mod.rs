//! Faster convolutions: a graph pass that hands tract's convolutions to Veil's own kernels.
//!
//! Profiling open_nsfw (a ResNet-50) showed tract spending 80% of inference in its own
//! convolution matrix products at about 75 GFLOP/s, plus separate nodes to pad, pack, subsample
//! and apply residual adds, and 1.5 ms in a generic max pooling, while onnxruntime runs the
//! same model at about 105 GFLOP/s on one core. [`rewrite`] replaces:
//!
//! - a first convolution with few input channels, its ReLU and the max pooling after it (and a
//!   transpose from NHWC before it) by one [`StemPool`] node: a direct convolution kernel
//!   ([`direct`]) whose rows are pooled while in cache;
//! - each float NCHW convolution with groups of one and constant weights that it computes
//!   faster by a [`GemmConv`] node, with the bias and, when they follow, the residual `Add` and
//!   the `ReLU` folded in: 1x1 (any stride) as one product ([`pointwise`]), 3x3 at stride 1 as
//!   Winograd F(2x2, 3x3), 16 products over all tiles ([`winograd`]). Where the CPU has
//!   AVX-512 the products run on Veil's own kernel ([`pointwise16`]) on every plane; elsewhere
//!   through the `gemm` crate, on output planes large enough for that to pay (see
//!   [`min_plane`]);
//! - a strided 1x1 convolution left to tract (a plane too small for `gemm`) by a [`Subsample`]
//!   and the same convolution at stride 1, which tract then runs without its `Downsample` copies.
//!
//! tract keeps every other operation and convolution. The pass is generic over ONNX graphs: a
//! second model gets it without new code. It runs on the typed model before tract's own
//! optimisation, on x86_64 and aarch64, where `gemm` has hand-tuned kernels and [`simd`]
//! compiles Veil's own for AVX2+FMA or NEON; elsewhere tract's kernels stay in charge.

mod bands;
mod direct;
mod epilogue;
mod matmul;
mod op;
mod pointwise;
mod pointwise16;
mod scratch;
mod simd;
mod stem;
mod subsample;
#[cfg(test)]
mod test_support;
mod winograd;

use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::{BinMiniOp, TypedBinOp};
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, MaxPool, PaddingSpec};
use tract_onnx::tract_core::ops::math::{Add, Max};
use tract_onnx::tract_core::ops::nn::DataFormat;

use op::{GemmConv, Geometry, Method};
use stem::StemPool;
use subsample::Subsample;

/// Whether this build has fast `gemm` kernels for the CPU it targets.
pub(crate) const AVAILABLE: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// Replaces the convolutions of `model` that [`GemmConv`] computes, with the bias, residual add
/// and ReLU that follow them, and a stem convolution followed by max pooling by [`StemPool`].
/// Returns how many convolutions it replaced.
pub(crate) fn rewrite(model: &mut TypedModel, threads: usize) -> TractResult<usize> {
    let mut replaced = 0;
    for id in model.eval_order()? {
        if let Some(plan) = plan_stem(model, id, threads)? {
            let node = model.node(id);
            let mut patch = TypedModelPatch::new(format!("stem {}", node.name));
            let input = patch.tap_model(model, plan.input)?;
            let wired = patch.wire_node(format!("{}.stem", node.name), plan.op, &[input])?;
            patch.shunt_outside(model, OutletId::new(plan.last, 0), wired[0])?;
            patch.apply(model)?;
            replaced += 1;
            continue;
        }
        if subsample_first(model, id)? {
            replaced += 1;
            continue;
        }
        let Some(plan) = plan_for(model, id, threads)? else {
            continue;
        };
        let node = model.node(id);
        let mut patch = TypedModelPatch::new(format!("gemm conv {}", node.name));
        let mut inputs = tvec![patch.tap_model(model, node.inputs[0])?];
        if let Some(residual) = plan.residual {
            inputs.push(patch.tap_model(model, residual)?);
        }
        let wired = patch.wire_node(format!("{}.gemm", node.name), plan.op, &inputs)?;
        patch.shunt_outside(model, OutletId::new(plan.last, 0), wired[0])?;
        patch.apply(model)?;
        replaced += 1;
    }
    model.compact()?;
    Ok(replaced)
}

/// What replacing one convolution takes.
struct Plan {
    op: GemmConv,
    /// The tensor added to the convolution's output, when an `Add` is folded in.
    residual: Option<OutletId>,
    /// The last node folded in: its output becomes the new node's.
    last: usize,
}

/// The replacement for node `id`, or `None` when it is not a convolution this pass computes.
fn plan_for(model: &TypedModel, id: usize, threads: usize) -> TractResult<Option<Plan>> {
    let Some(ConstConv {
        geometry,
        kernel,
        bias,
    }) = const_conv(model, id)?
    else {
        return Ok(None);
    };
    let Some(method) = geometry.method() else {
        return Ok(None);
    };
    let plane = match model.outlet_fact(OutletId::new(id, 0))?.shape.as_concrete() {
        Some(&[_, _, ho, wo]) => ho * wo,
        _ => return Ok(None),
    };
    if plane < min_plane(method) {
        return Ok(None);
    }

    let mut last = id;
    let mut residual = None;
    if let Some((add, other)) = follower_add(model, last)? {
        residual = Some(other);
        last = add;
    }
    let relu = fold_relu(model, &mut last)?;
    let Some(op) = GemmConv::new(geometry, &kernel, bias, residual.is_some(), relu, threads) else {
        return Ok(None);
    };
    Ok(Some(Plan { op, residual, last }))
}

/// When node `id` is a strided 1x1 convolution left to tract (too small a plane for
/// [`GemmConv`]), rewrites it as a [`Subsample`] followed by the same convolution at stride 1,
/// and returns `true`.
fn subsample_first(model: &mut TypedModel, id: usize) -> TractResult<bool> {
    let node = model.node(id);
    let Some(conv) = node.op_as::<Conv>() else {
        return Ok(false);
    };
    let Some(geometry) = geometry_of(model, node, conv)? else {
        return Ok(false);
    };
    let Some(method) = geometry.method() else {
        return Ok(false);
    };
    let pointwise = matches!(method, Method::Pointwise | Method::Pointwise16);
    let strided = pointwise && geometry.stride != [1, 1];
    let plane = match model.outlet_fact(OutletId::new(id, 0))?.shape.as_concrete() {
        Some(&[_, _, ho, wo]) => ho * wo,
        _ => return Ok(false),
    };
    if !strided || plane >= min_plane(method) {
        return Ok(false);
    }
    let mut unstrided = conv.clone();
    unstrided.pool_spec.strides = None;
    let mut patch = TypedModelPatch::new(format!("subsample {}", node.name));
    let inputs = patch.taps(model, &node.inputs)?;
    let sampled = patch.wire_node(
        format!("{}.subsample", node.name),
        Subsample {
            stride: geometry.stride,
        },
        &inputs[..1],
    )?[0];
    let wired = patch.wire_node(&node.name, unstrided, &[sampled, inputs[1], inputs[2]])?;
    patch.shunt_outside(model, OutletId::new(id, 0), wired[0])?;
    patch.apply(model)?;
    Ok(true)
}

/// Input channels up to which a convolution followed by max pooling runs as [`StemPool`]:
/// beyond a few, an im2col product's inner dimension is long enough to pay for its packing.
const STEM_MAX_CHANNELS: usize = 4;

/// Replacing a stem convolution, its ReLU and the max pooling after it.
struct StemPlan {
    op: StemPool,
    /// The image: the convolution's input, or the NHWC tensor before a transpose to NCHW.
    input: OutletId,
    /// The max pooling node: its output becomes the new node's.
    last: usize,
}

/// The [`StemPool`] replacing node `id` and what follows it, or `None` when `id` is not a
/// convolution with few input channels, constant weights and a 2-D max pooling after it
/// (a ReLU may come between).
fn plan_stem(model: &TypedModel, id: usize, threads: usize) -> TractResult<Option<StemPlan>> {
    let Some(ConstConv {
        geometry,
        kernel,
        bias,
    }) = const_conv(model, id)?
    else {
        return Ok(None);
    };
    if geometry.cin > STEM_MAX_CHANNELS {
        return Ok(None);
    }
    let mut last = id;
    let relu = fold_relu(model, &mut last)?;
    let Some(pool_node) = model.single_succ(last)? else {
        return Ok(None);
    };
    let Some(pool) = pool_node.op_as::<MaxPool>() else {
        return Ok(None);
    };
    let Some(pool) = pool_geometry(model, last, pool, geometry.cout)? else {
        return Ok(None);
    };
    let image = model.node(id).inputs[0];
    let producer = model.node(image.node);
    let (input, nhwc) = match producer.op_as::<AxisOp>() {
        Some(AxisOp::Move(3, 1)) => (producer.inputs[0], true),
        _ => (image, false),
    };
    let op = StemPool::new(geometry, pool, &kernel, &bias, nhwc, relu, threads);
    Ok(op.map(|op| StemPlan {
        op,
        input,
        last: pool_node.id,
    }))
}

/// The window of a float NCHW 2-D max pooling (no dilation, no index output) over the output
/// of node `from`, with its padding made explicit.
fn pool_geometry(
    model: &TypedModel,
    from: usize,
    pool: &MaxPool,
    channels: usize,
) -> TractResult<Option<Geometry>> {
    let spec = &pool.pool_spec;
    let plain = pool.with_index_outputs.is_none()
        && spec.data_format == DataFormat::NCHW
        && spec.kernel_shape.len() == 2
        && spec
            .dilations
            .as_ref()
            .is_none_or(|d| d.iter().all(|&d| d == 1));
    let Some(&[_, _, h, w]) = model
        .outlet_fact(OutletId::new(from, 0))?
        .shape
        .as_concrete()
    else {
        return Ok(None);
    };
    if !plain {
        return Ok(None);
    }
    let kernel = [spec.kernel_shape[0], spec.kernel_shape[1]];
    let stride = match &spec.strides {
        Some(s) if s.len() == 2 => [s[0], s[1]],
        Some(_) => return Ok(None),
        None => [1, 1],
    };
    let dims = spec.padding.compute(&[h, w], &kernel, &[1, 1], &stride);
    let geometry = Geometry {
        cin: channels,
        cout: channels,
        kernel,
        stride,
        pad_before: [dims[0].pad_before, dims[1].pad_before],
        pad_after: [dims[0].pad_after, dims[1].pad_after],
    };
    let agrees = geometry.output(h, w) == Some([dims[0].convoluted, dims[1].convoluted]);
    Ok(agrees.then_some(geometry))
}

/// Smallest output plane (pixels per channel) for which [`GemmConv`] beats tract.
///
/// `gemm` packs an operand on every call while tract packs its weights once at load; on small
/// planes, where few pixels share each weight, tract's approach wins. Measured on open_nsfw
/// (one thread, x86_64 AVX2, per node): pointwise convolutions win from 28x28 and tie at
/// 14x14; Winograd wins from 14x14 and loses at 7x7. The AVX-512 pointwise kernel packs its
/// weights at load too, and beats tract at every plane of the model (7x7 to 56x56).
fn min_plane(method: Method) -> usize {
    match method {
        Method::Pointwise => 512,
        Method::Pointwise16 => 1,
        Method::Winograd3x3 => 128,
        Method::Winograd16 => 1,
    }
}

/// A convolution [`geometry_of`] describes, with constant weights and bias.
struct ConstConv {
    geometry: Geometry,
    /// OIHW weights.
    kernel: Vec<f32>,
    /// One bias per output channel.
    bias: Vec<f32>,
}

/// Node `id` as a [`ConstConv`], or `None` when it is not one.
fn const_conv(model: &TypedModel, id: usize) -> TractResult<Option<ConstConv>> {
    let node = model.node(id);
    let Some(conv) = node.op_as::<Conv>() else {
        return Ok(None);
    };
    let Some(geometry) = geometry_of(model, node, conv)? else {
        return Ok(None);
    };
    let (Some(kernel), Some(bias)) = (
        const_f32(model, node.inputs[1])?,
        const_f32(model, node.inputs[2])?,
    ) else {
        return Ok(None);
    };
    let bias = match bias.len() {
        1 => vec![bias[0]; geometry.cout],
        _ => bias,
    };
    Ok(Some(ConstConv {
        geometry,
        kernel,
        bias,
    }))
}

/// When a ReLU consumes node `*last` alone, moves `*last` to it and returns `true`.
fn fold_relu(model: &TypedModel, last: &mut usize) -> TractResult<bool> {
    let relu = follower_relu(model, *last)?;
    if let Some(max) = relu {
        *last = max;
    }
    Ok(relu.is_some())
}

/// The geometry of a float NCHW convolution with groups of one, OIHW weights and explicit
/// padding.
fn geometry_of(model: &TypedModel, node: &TypedNode, conv: &Conv) -> TractResult<Option<Geometry>> {
    let spec = &conv.pool_spec;
    let input = model.outlet_fact(node.inputs[0])?;
    let plain = conv.q_params.is_none()
        && conv.group == 1
        && conv.kernel_fmt == KernelFormat::OIHW
        && spec.data_format == DataFormat::NCHW
        && node.inputs.len() == 3
        && input.datum_type == f32::datum_type()
        && input.rank() == 4
        && spec.kernel_shape.len() == 2
        && spec
            .dilations
            .as_ref()
            .is_none_or(|d| d.iter().all(|&d| d == 1));
    if !plain {
        return Ok(None);
    }
    let (before, after) = match &spec.padding {
        PaddingSpec::Explicit(before, after) if before.len() == 2 && after.len() == 2 => {
            ([before[0], before[1]], [after[0], after[1]])
        }
        PaddingSpec::Valid => ([0, 0], [0, 0]),
        _ => return Ok(None),
    };
    let stride = match &spec.strides {
        Some(s) if s.len() == 2 => [s[0], s[1]],
        Some(_) => return Ok(None),
        None => [1, 1],
    };
    Ok(Some(Geometry {
        cin: spec.input_channels,
        cout: spec.output_channels,
        kernel: [spec.kernel_shape[0], spec.kernel_shape[1]],
        stride,
        pad_before: before,
        pad_after: after,
    }))
}

/// The values of a constant f32 input (a constant, or a constant behind a `Cast`).
fn const_f32(model: &TypedModel, outlet: OutletId) -> TractResult<Option<Vec<f32>>> {
    let mut fact = model.outlet_fact(outlet)?;
    if fact.konst.is_none() {
        let node = model.node(outlet.node);
        if node.op_is::<Cast>() && node.inputs.len() == 1 {
            fact = model.outlet_fact(node.inputs[0])?;
        }
    }
    let Some(konst) = &fact.konst else {
        return Ok(None);
    };
    let values = konst.cast_to::<f32>()?;
    let plain = values.try_as_plain_ram()?;
    Ok(Some(plain.as_slice::<f32>()?.to_vec()))
}

/// The other operand of the binary op `B` that alone consumes node `id`'s output, with that
/// op's node, when the op keeps the output's shape.
fn binary_follower<B: BinMiniOp>(
    model: &TypedModel,
    id: usize,
) -> TractResult<Option<(usize, OutletId)>> {
    let Some(next) = model.single_succ(id)? else {
        return Ok(None);
    };
    let is_b = next
        .op_as::<TypedBinOp>()
        .is_some_and(|bin| bin.0.is::<B>() && bin.1.is_none());
    if !is_b || next.inputs.len() != 2 {
        return Ok(None);
    }
    let Some(other) = next.inputs.iter().copied().find(|i| i.node != id) else {
        return Ok(None);
    };
    let keeps_shape = model.outlet_fact(OutletId::new(next.id, 0))?.shape
        == model.outlet_fact(OutletId::new(id, 0))?.shape;
    Ok(keeps_shape.then_some((next.id, other)))
}

/// An `Add` consuming node `id` alone and adding a non-constant f32 tensor of the same shape:
/// the `Add` node and the other operand.
fn follower_add(model: &TypedModel, id: usize) -> TractResult<Option<(usize, OutletId)>> {
    let Some((add, other)) = binary_follower::<Add>(model, id)? else {
        return Ok(None);
    };
    let other_fact = model.outlet_fact(other)?;
    let residual = other_fact.konst.is_none()
        && other_fact.datum_type == f32::datum_type()
        && other_fact.shape == model.outlet_fact(OutletId::new(id, 0))?.shape;
    Ok(residual.then_some((add, other)))
}

/// A `Max` with a constant zero (a ReLU) consuming node `id` alone.
fn follower_relu(model: &TypedModel, id: usize) -> TractResult<Option<usize>> {
    let Some((max, zero)) = binary_follower::<Max>(model, id)? else {
        return Ok(None);
    };
    let is_zero = const_f32(model, zero)?.is_some_and(|v| v.len() == 1 && v[0] == 0.0);
    Ok(is_zero.then_some(max))
}
