//! 1x1 convolutions: one matrix product, weights `[cout x cin]` times the image `[cin x h*w]`
//! (subsampled first when strided).

use std::ops::Range;

use tract_onnx::tract_core::internal::*;

use super::epilogue::Epilogue;
use super::matmul::{matmul, Product, Strides};
use super::subsample::unstrided;

/// Convolves one image `[cin, h, w]` into `out` `[cout, ho, wo]` with `weights` `[cout][cin]`.
///
/// The output is produced in bands of whole rows, each small enough to stay in the L2 cache
/// from the product to the epilogue.
#[allow(clippy::too_many_arguments)]
pub(super) fn convolve(
    weights: &[f32],
    [cin, cout]: [usize; 2],
    stride: [usize; 2],
    image: &[f32],
    [h, w]: [usize; 2],
    out: &mut [f32],
    [ho, wo]: [usize; 2],
    epilogue: &Epilogue<'_>,
    parallelism: gemm::Parallelism,
) -> TractResult<()> {
    let plane = ho * wo;
    let source = unstrided(image, cin, [h, w], stride);
    for rows in bands(ho, wo, cout) {
        let (first, len) = (rows.start * wo, rows.len() * wo);
        matmul(
            Product {
                m: cout,
                k: cin,
                n: len,
                dst: &mut out[first..],
                dst_strides: Strides::row_major(plane),
                lhs: weights,
                lhs_strides: Strides::row_major(cin),
                rhs: &source[first..],
                rhs_strides: Strides::row_major(plane),
                accumulate: false,
            },
            parallelism,
        )?;
        epilogue.finish_columns(out, first, len);
    }
    Ok(())
}

/// Output rows handled at once: `cout` channels by `width`-wide rows make about
/// `BAND_FLOATS` values, at least one row.
fn bands(rows: usize, width: usize, cout: usize) -> impl Iterator<Item = Range<usize>> {
    /// 64 Ki floats (256 KiB): a quarter of a typical L2 cache, leaving room for the inputs.
    const BAND_FLOATS: usize = 64 * 1024;
    let per_band = (BAND_FLOATS / (cout * width).max(1)).max(1);
    (0..rows)
        .step_by(per_band)
        .map(move |start| start..(start + per_band).min(rows))
}
