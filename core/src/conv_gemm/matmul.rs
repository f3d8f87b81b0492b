//! A bounds-checked front to the `gemm` crate's matrix product.

use tract_onnx::tract_core::internal::*;

/// How far apart, in elements, consecutive rows and consecutive columns of a matrix are.
#[derive(Debug, Clone, Copy)]
pub(super) struct Strides {
    pub row: usize,
    pub col: usize,
}

impl Strides {
    /// Rows stored one after another, columns contiguous.
    pub fn row_major(row: usize) -> Strides {
        Strides { row, col: 1 }
    }

    /// Columns stored one after another, rows contiguous.
    pub fn col_major(col: usize) -> Strides {
        Strides { row: 1, col }
    }

    /// Smallest slice length holding a `rows x cols` matrix laid out this way.
    fn span(self, rows: usize, cols: usize) -> usize {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * self.row + (cols - 1) * self.col + 1
        }
    }

    /// Whether no two elements of a `rows x cols` matrix share a place.
    fn is_injective(self, rows: usize, cols: usize) -> bool {
        let rows_distinct = rows <= 1 || self.row >= 1;
        let cols_distinct = cols <= 1 || self.col >= 1;
        if rows <= 1 || cols <= 1 {
            return rows_distinct && cols_distinct;
        }
        // Either each row ends before the next begins, or each column does.
        let rows_apart = self.col >= 1 && self.row > (cols - 1) * self.col;
        let cols_apart = self.row >= 1 && self.col > (rows - 1) * self.row;
        rows_apart || cols_apart
    }
}

/// `dst[m x n] = lhs[m x k] * rhs[k x n]`, or `dst += ...` when `accumulate` is set.
pub(super) struct Product<'a> {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub dst: &'a mut [f32],
    pub dst_strides: Strides,
    pub lhs: &'a [f32],
    pub lhs_strides: Strides,
    pub rhs: &'a [f32],
    pub rhs_strides: Strides,
    pub accumulate: bool,
}

/// Runs one [`Product`] through the `gemm` crate, after checking every access is in bounds.
pub(super) fn matmul(p: Product<'_>, parallelism: gemm::Parallelism) -> TractResult<()> {
    ensure!(
        p.lhs.len() >= p.lhs_strides.span(p.m, p.k),
        "matmul: lhs too short"
    );
    ensure!(
        p.rhs.len() >= p.rhs_strides.span(p.k, p.n),
        "matmul: rhs too short"
    );
    ensure!(
        p.dst.len() >= p.dst_strides.span(p.m, p.n),
        "matmul: dst too short"
    );
    ensure!(
        p.dst_strides.is_injective(p.m, p.n),
        "matmul: dst elements overlap"
    );
    let s = |v: usize| isize::try_from(v).map_err(|_| format_err!("matmul: stride overflow"));
    // SAFETY: the checks above bound every element gemm reads or writes (element (i, j) of a
    // matrix is at `i * row + j * col`) and make every element of `dst` a distinct place; `dst`
    // is a unique borrow, so it overlaps neither input.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            p.m,
            p.n,
            p.k,
            p.dst.as_mut_ptr(),
            s(p.dst_strides.col)?,
            s(p.dst_strides.row)?,
            p.accumulate,
            p.lhs.as_ptr(),
            s(p.lhs_strides.col)?,
            s(p.lhs_strides.row)?,
            p.rhs.as_ptr(),
            s(p.rhs_strides.col)?,
            s(p.rhs_strides.row)?,
            if p.accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn matches_a_naive_product_in_every_layout() -> TractResult<()> {
        let (m, k, n) = (13, 7, 21);
        let a: Vec<f32> = (0..m * k).map(|v| (v % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..k * n).map(|v| (v % 7) as f32 * 0.5).collect();
        let expected = naive(m, k, n, &a, &b);
        // The same matrices stored transposed: column-major views of them.
        let at: Vec<f32> = (0..m * k).map(|v| a[(v % m) * k + v / m]).collect();
        let mut dst = vec![f32::NAN; m * n];
        matmul(
            Product {
                m,
                k,
                n,
                dst: &mut dst,
                dst_strides: Strides::col_major(m),
                lhs: &at,
                lhs_strides: Strides::col_major(m),
                rhs: &b,
                rhs_strides: Strides::row_major(n),
                accumulate: false,
            },
            gemm::Parallelism::None,
        )?;
        for i in 0..m {
            for j in 0..n {
                assert!((dst[j * m + i] - expected[i * n + j]).abs() < 1e-4);
            }
        }
        Ok(())
    }

    #[test]
    fn refuses_out_of_bounds_and_overlapping_views() {
        let a = vec![1f32; 6];
        let b = vec![1f32; 6];
        let mut dst = vec![0f32; 3];
        let product = |dst: &mut [f32], dst_strides| {
            matmul(
                Product {
                    m: 2,
                    k: 3,
                    n: 2,
                    dst,
                    dst_strides,
                    lhs: &a,
                    lhs_strides: Strides::row_major(3),
                    rhs: &b,
                    rhs_strides: Strides::row_major(2),
                    accumulate: false,
                },
                gemm::Parallelism::None,
            )
        };
        assert!(
            product(&mut dst, Strides::row_major(2)).is_err(),
            "too short"
        );
        let mut dst = vec![0f32; 4];
        assert!(
            product(&mut dst, Strides::row_major(1)).is_err(),
            "rows overlap"
        );
        assert!(product(&mut dst, Strides::row_major(2)).is_ok());
    }
}
