//! Test helpers shared by the kernels' tests: deterministic data and the definition of a
//! convolution to check them against.

use super::op::Geometry;

/// Deterministic values in [-1, 1).
pub(super) fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// Direct convolution, the definition: `out[o][y][x] = Σ w[o][i][r][c] * in[i][y*s+r-pt][x*s+c-pl]`.
pub(super) fn reference(
    g: &Geometry,
    kernel: &[f32],
    bias: &[f32],
    image: &[f32],
    [n, h, w]: [usize; 3],
) -> Vec<f32> {
    let [ho, wo] = g.output(h, w).expect("kernel fits");
    let [kh, kw] = g.kernel;
    let mut out = vec![0f32; n * g.cout * ho * wo];
    for b in 0..n {
        for o in 0..g.cout {
            for y in 0..ho {
                for x in 0..wo {
                    let mut acc = bias[o];
                    for i in 0..g.cin {
                        for r in 0..kh {
                            for c in 0..kw {
                                let iy = (y * g.stride[0] + r) as isize - g.pad_before[0] as isize;
                                let ix = (x * g.stride[1] + c) as isize - g.pad_before[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let (iy, ix) = (iy as usize, ix as usize);
                                acc += kernel[((o * g.cin + i) * kh + r) * kw + c]
                                    * image[((b * g.cin + i) * h + iy) * w + ix];
                            }
                        }
                    }
                    out[((b * g.cout + o) * ho + y) * wo + x] = acc;
                }
            }
        }
    }
    out
}

pub(super) fn geometry(
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    before: [usize; 2],
    after: [usize; 2],
) -> Geometry {
    Geometry {
        cin,
        cout,
        kernel: [kernel; 2],
        stride: [stride; 2],
        pad_before: before,
        pad_after: after,
    }
}
