//! The AVX-512 paths that skip packing and tiling: tiny products and matrix-vector products
//! (`small_avx512`), and narrow a·bᵀ products computed as dot products along k
//! (`dot_avx512`). x86_64 only; `Gemm::special_avx512` picks between them.

use std::arch::x86_64::*;

use super::avx512::lanes;

/// The small path for AVX-512, straight from `a` and `b` (rows of `b` contiguous with stride
/// `b_rs`): groups of four rows × 16 masked columns, so that four independent FMA chains hide
/// the latency even when k is tiny.
///
/// # Safety
/// `out` must be m×n with row stride n, `a` m×k with the given strides, `b` k rows of n
/// floats; the CPU must support avx512f.
#[target_feature(enable = "avx512f,fma")]
pub(super) unsafe fn small_avx512(
    out: *mut f32,
    (a, a_rs, a_cs): (*const f32, usize, usize),
    (b, b_rs): (*const f32, usize),
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    const G: usize = 4;
    for j in (0..n).step_by(16) {
        let mask = lanes(n, j);
        for i in (0..m).step_by(G) {
            let rows = G.min(m - i);
            // Rows past the end re-read the group's last row instead of branching.
            let offs: [usize; G] = std::array::from_fn(|r| (i + r.min(rows - 1)) * a_rs);
            let mut acc = [_mm512_setzero_ps(); G];
            for p in 0..k {
                // SAFETY: row p of `b` has n floats from `b + p * b_rs`, the mask covers
                // columns j.. < n; every offset is of a row < m at depth p < k.
                unsafe {
                    let bv = _mm512_maskz_loadu_ps(mask, b.add(p * b_rs + j));
                    for (acc, off) in acc.iter_mut().zip(offs) {
                        *acc = _mm512_fmadd_ps(_mm512_set1_ps(*a.add(off + p * a_cs)), bv, *acc);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate().take(rows) {
                // SAFETY: row i + r < m of `out`, columns j.. < n under the mask.
                unsafe {
                    let dst = out.add((i + r) * n + j);
                    let mut v = *acc;
                    if accumulate {
                        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, dst));
                    }
                    _mm512_mask_storeu_ps(dst, mask, v);
                }
            }
        }
    }
}

/// Products whose rows of `a` and columns of `b` are both contiguous along k (a·bᵀ, as in
/// weight gradients), with few columns: each output is a dot product, vectorised along k in
/// R×C blocks so that R + C loads feed R·C FMAs; no packing, and no lanes wasted on a narrow n.
///
/// # Safety
/// `out` must be m×n with row stride n; row i of `a` starts at `a + i * a_rs` and column j of
/// `b` at `b + j * b_cs`, each with k contiguous floats; the CPU must support avx512f.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn dot_avx512<const R: usize, const C: usize>(
    out: *mut f32,
    (a, a_rs): (*const f32, usize),
    (b, b_cs): (*const f32, usize),
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    for i in (0..m).step_by(R) {
        let rows = R.min(m - i);
        // Rows and columns past the end re-read the last one instead of branching.
        let a_rows: [*const f32; R] =
            std::array::from_fn(|r| a.wrapping_add((i + r.min(rows - 1)) * a_rs));
        for j in (0..n).step_by(C) {
            let cols = C.min(n - j);
            let b_cols: [*const f32; C] =
                std::array::from_fn(|c| b.wrapping_add((j + c.min(cols - 1)) * b_cs));
            let mut acc = [[_mm512_setzero_ps(); C]; R];
            for p in (0..k).step_by(16) {
                let mask = lanes(k, p);
                // SAFETY: every pointer is a row of `a` or a column of `b` with k floats; the
                // mask stops at k.
                unsafe {
                    let bv: [__m512; C] =
                        std::array::from_fn(|c| _mm512_maskz_loadu_ps(mask, b_cols[c].add(p)));
                    for (row, a_row) in acc.iter_mut().zip(a_rows) {
                        let av = _mm512_maskz_loadu_ps(mask, a_row.add(p));
                        for (x, bv) in row.iter_mut().zip(bv) {
                            *x = _mm512_fmadd_ps(av, bv, *x);
                        }
                    }
                }
            }
            for (r, row) in acc.iter().enumerate().take(rows) {
                for (c, &x) in row.iter().enumerate().take(cols) {
                    let sum = _mm512_reduce_add_ps(x);
                    // SAFETY: (i + r, j + c) is inside the m×n output.
                    unsafe {
                        let dst = out.add((i + r) * n + j + c);
                        *dst = if accumulate { *dst + sum } else { sum };
                    }
                }
            }
        }
    }
}
