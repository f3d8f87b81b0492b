//! 3x3 convolutions at stride 1 by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray,
//! "Fast Algorithms for Convolutional Neural Networks", 2016).
//!
//! Each 2x2 block of output ("tile") is computed from the 4x4 block of input around it. The
//! input block `d` and the weights `g` are carried to a 4x4 transform domain, `V = Bᵀ d B` and
//! `U = G g Gᵀ`, where the convolution is an element-wise product summed over input channels:
//! for each of the 16 positions, one matrix product `M = V · U` over all tiles at once. The
//! output is `Aᵀ M A`. That takes 16 multiplications per tile and channel pair instead of 36,
//! for a few additions in the transforms; the weights are transformed once, at load.

use tract_onnx::tract_core::internal::*;

use super::epilogue::Epilogue;
use super::matmul::{matmul, Product, Strides};
use super::pointwise16;
use super::scratch::with_buffers;

/// How the 16 matrix products run.
pub(super) enum Products<'a> {
    /// Through the `gemm` crate, weights from [`transform_weights`].
    Gemm {
        u: &'a [f32],
        parallelism: gemm::Parallelism,
    },
    /// By the AVX-512 kernel of [`pointwise16`], weights from [`transform_weights16`].
    Avx512 { packed: &'a [f32], threads: usize },
}

/// Positions in the transform domain (4x4).
const POSITIONS: usize = 16;

/// OIHW 3x3 weights `[cout][cin][3][3]` in the transform domain, `[16][cin][cout]`.
pub(super) fn transform_weights(kernel: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut u = vec![0f32; POSITIONS * cin * cout];
    for (o, filters) in kernel.chunks_exact(cin * 9).enumerate().take(cout) {
        for (i, g) in filters.chunks_exact(9).enumerate() {
            // G g: 4x3, with G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1].
            let mut gg = [[0f32; 3]; 4];
            for c in 0..3 {
                let (g0, g1, g2) = (g[c], g[3 + c], g[6 + c]);
                gg[0][c] = g0;
                gg[1][c] = 0.5 * (g0 + g1 + g2);
                gg[2][c] = 0.5 * (g0 - g1 + g2);
                gg[3][c] = g2;
            }
            // (G g) Gᵀ: 4x4.
            for (r, row) in gg.iter().enumerate() {
                let (a, b, c) = (row[0], row[1], row[2]);
                let values = [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c];
                for (col, v) in values.into_iter().enumerate() {
                    u[((r * 4 + col) * cin + i) * cout + o] = v;
                }
            }
        }
    }
    u
}

/// [`transform_weights`] with each position's `[cin][cout]` matrix transposed and packed for
/// [`pointwise16`]: `[16][packed]`.
pub(super) fn transform_weights16(kernel: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let u = transform_weights(kernel, cin, cout);
    let mut transposed = vec![0f32; cin * cout];
    let mut packed = Vec::new();
    for position in u.chunks_exact(cin * cout) {
        for (i, row) in position.chunks_exact(cout).enumerate() {
            for (o, &value) in row.iter().enumerate() {
                transposed[o * cin + i] = value;
            }
        }
        packed.extend(pointwise16::pack_weights(&transposed, cin, cout));
    }
    packed
}

/// Convolves one image `[cin, h, w]` into `out` `[cout, ho, wo]`, zero padding `pad_before`
/// (top, left) around the image.
#[allow(clippy::too_many_arguments)]
pub(super) fn convolve(
    products: Products<'_>,
    [cin, cout]: [usize; 2],
    pad_before: [usize; 2],
    image: &[f32],
    [h, w]: [usize; 2],
    out: &mut [f32],
    [ho, wo]: [usize; 2],
    epilogue: &Epilogue<'_>,
) -> TractResult<()> {
    let (th, tw) = (ho.div_ceil(2), wo.div_ceil(2));
    let tiles = th * tw;
    with_buffers(
        [POSITIONS * cin * tiles, POSITIONS * cout * tiles],
        |v, m| {
            transform_input(image, cin, [h, w], pad_before, [th, tw], v);
            match products {
                Products::Gemm { u, parallelism } => {
                    multiply(u, [cin, cout], tiles, v, m, parallelism)?
                }
                Products::Avx512 { packed, threads } => {
                    multiply16(packed, [cin, cout], tiles, v, m, threads)?
                }
            }
            transform_output(m, cout, [th, tw], out, [ho, wo]);
            TractResult::Ok(())
        },
    )?;
    for (channel, plane) in out.chunks_exact_mut(ho * wo).enumerate() {
        epilogue.finish(channel, plane, 0);
    }
    Ok(())
}

/// `M[p] = Vᵀ[p] U[p]` for the 16 positions `p`: `[16][cout][tiles]`.
fn multiply(
    u: &[f32],
    [cin, cout]: [usize; 2],
    tiles: usize,
    v: &[f32],
    m: &mut [f32],
    parallelism: gemm::Parallelism,
) -> TractResult<()> {
    for ((m, v), u) in m
        .chunks_exact_mut(cout * tiles)
        .zip(v.chunks_exact(cin * tiles))
        .zip(u.chunks_exact(cin * cout))
    {
        // M[o][tile] = Σ_c U[c][o] V[c][tile], computed as Mᵀ = Vᵀ U so that gemm reads the
        // transformed image, tiles contiguous, in place.
        matmul(
            Product {
                m: tiles,
                k: cin,
                n: cout,
                dst: m,
                dst_strides: Strides::col_major(tiles),
                lhs: v,
                lhs_strides: Strides::col_major(tiles),
                rhs: u,
                rhs_strides: Strides::row_major(cout),
                accumulate: false,
            },
            parallelism,
        )?;
    }
    Ok(())
}

/// [`multiply`] by the AVX-512 kernel.
fn multiply16(
    packed: &[f32],
    [cin, cout]: [usize; 2],
    tiles: usize,
    v: &[f32],
    m: &mut [f32],
    threads: usize,
) -> TractResult<()> {
    let per_position = packed.len() / POSITIONS;
    let zeros = vec![0f32; cout];
    let plain = Epilogue {
        bias: &zeros,
        residual: None,
        relu: false,
        plane: tiles,
    };
    for ((m, v), u) in m
        .chunks_exact_mut(cout * tiles)
        .zip(v.chunks_exact(cin * tiles))
        .zip(packed.chunks_exact(per_position))
    {
        pointwise16::product(u, [cin, cout], v, tiles, m, &plain, threads)?;
    }
    Ok(())
}

/// `V = Bᵀ d B` for every 4x4 input block `d` (stride 2) of every channel: `[16][cin][tiles]`.
fn transform_input(
    image: &[f32],
    cin: usize,
    [h, w]: [usize; 2],
    [top, left]: [usize; 2],
    [th, tw]: [usize; 2],
    v: &mut [f32],
) {
    let tiles = th * tw;
    // Zero-padded copy of one channel covering every block, so no block needs bounds checks.
    let (ph, pw) = (2 * th + 2, 2 * tw + 2);
    let mut padded = vec![0f32; ph * pw];
    // Bᵀ d for one row of blocks, one pw-long row per row of Bᵀ.
    let mut bd = vec![0f32; 4 * pw];
    for (c, plane) in image.chunks_exact(h * w).enumerate().take(cin) {
        for (y, row) in plane.chunks_exact(w).enumerate() {
            let (py, px) = (y + top, left);
            if py < ph && px < pw {
                let n = w.min(pw - px);
                padded[py * pw + px..][..n].copy_from_slice(&row[..n]);
            }
        }
        for ty in 0..th {
            let rows = &padded[2 * ty * pw..][..4 * pw];
            let (d0, rest) = rows.split_at(pw);
            let (d1, rest) = rest.split_at(pw);
            let (d2, d3) = rest.split_at(pw);
            // Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], applied down each column.
            let (b0, rest) = bd.split_at_mut(pw);
            let (b1, rest) = rest.split_at_mut(pw);
            let (b2, b3) = rest.split_at_mut(pw);
            for x in 0..pw {
                b0[x] = d0[x] - d2[x];
                b1[x] = d1[x] + d2[x];
                b2[x] = d2[x] - d1[x];
                b3[x] = d1[x] - d3[x];
            }
            // (Bᵀ d) B: the same combination along each row, for every block of the row.
            for (r, b) in [&*b0, &*b1, &*b2, &*b3].into_iter().enumerate() {
                let first = ty * tw;
                for tx in 0..tw {
                    let x = 2 * tx;
                    let (e0, e1, e2, e3) = (b[x], b[x + 1], b[x + 2], b[x + 3]);
                    let values = [e0 - e2, e1 + e2, e2 - e1, e1 - e3];
                    for (col, value) in values.into_iter().enumerate() {
                        v[((r * 4 + col) * cin + c) * tiles + first + tx] = value;
                    }
                }
            }
        }
    }
}

/// `Y = Aᵀ M A` for every tile of every output channel, with Aᵀ = [1 1 1 0; 0 1 -1 -1],
/// written where it falls inside the output. `m` is `[16][cout][tiles]`.
fn transform_output(
    m: &[f32],
    cout: usize,
    [th, tw]: [usize; 2],
    out: &mut [f32],
    [ho, wo]: [usize; 2],
) {
    let tiles = th * tw;
    let position = |p: usize, o: usize| &m[(p * cout + o) * tiles..][..tiles];
    // Aᵀ M for one row of tiles: two rows of four values per tile.
    let mut am = vec![0f32; 8 * tw];
    for (o, plane) in out.chunks_exact_mut(ho * wo).enumerate().take(cout) {
        for ty in 0..th {
            let first = ty * tw;
            for col in 0..4 {
                let m0 = &position(col, o)[first..][..tw];
                let m1 = &position(4 + col, o)[first..][..tw];
                let m2 = &position(8 + col, o)[first..][..tw];
                let m3 = &position(12 + col, o)[first..][..tw];
                let (top, bottom) = am.split_at_mut(4 * tw);
                let top = &mut top[col * tw..][..tw];
                let bottom = &mut bottom[col * tw..][..tw];
                for tx in 0..tw {
                    top[tx] = m0[tx] + m1[tx] + m2[tx];
                    bottom[tx] = m1[tx] - m2[tx] - m3[tx];
                }
            }
            for dy in 0..2 {
                let y = 2 * ty + dy;
                if y >= ho {
                    break;
                }
                let rows = &am[dy * 4 * tw..][..4 * tw];
                let (a0, rest) = rows.split_at(tw);
                let (a1, rest) = rest.split_at(tw);
                let (a2, a3) = rest.split_at(tw);
                let row = &mut plane[y * wo..][..wo];
                for tx in 0..tw {
                    let x = 2 * tx;
                    row[x] = a0[tx] + a1[tx] + a2[tx];
                    if x + 1 < wo {
                        row[x + 1] = a1[tx] - a2[tx] - a3[tx];
                    }
                }
            }
        }
    }
}
