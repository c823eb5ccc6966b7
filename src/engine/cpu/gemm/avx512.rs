//! The AVX-512 microkernel of the blocked path (masked loads and stores cover partial tiles),
//! and the lane masks it shares with the small paths. x86_64 only.

use std::arch::x86_64::*;

/// The AVX-512 tile: one instantiation per row count and vector width, so partial tiles cost
/// no padding (masks cover partial columns).
///
/// # Safety
/// As `TileFn`; the CPU must support avx512f.
pub(super) unsafe fn tile_avx512(
    kc: usize,
    a: (*const f32, usize, usize),
    b: (*const f32, usize),
    c: (*mut f32, usize),
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    macro_rules! by_shape {
        ($($r:literal)*) => {
            match (rows, cols > 16) {
                // SAFETY: forwarded contract.
                $(($r, true) => unsafe { tile_avx512_rv::<$r, 2>(kc, a, b, c, cols, accumulate) },
                ($r, false) => unsafe { tile_avx512_rv::<$r, 1>(kc, a, b, c, cols, accumulate) },)*
                _ => {}
            }
        };
    }
    by_shape!(1 2 3 4 5 6 7 8);
}

/// Mask of the lanes of a 16-float vector starting at column `from` that are below `cols`.
pub(super) fn lanes(cols: usize, from: usize) -> __mmask16 {
    ((1u32 << cols.saturating_sub(from).min(16)) - 1) as __mmask16
}

/// One R×(16·V) tile; V = 1 serves narrow strips without wasting half the FMAs.
///
/// # Safety
/// As `TileFn` with rows = R; the CPU must support avx512f.
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512_rv<const R: usize, const V: usize>(
    kc: usize,
    (a, a_rs, a_cs): (*const f32, usize, usize),
    (b, b_rs): (*const f32, usize),
    (c, ldc): (*mut f32, usize),
    cols: usize,
    accumulate: bool,
) {
    let masks: [__mmask16; V] = std::array::from_fn(|v| lanes(cols, 16 * v));
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    let (mut ap, mut bp) = (a, b);
    for _ in 0..kc {
        // SAFETY: the masked loads read only the `cols` values of this row of `b`; `a` has R
        // rows at this depth (contract). The pointers advance by one depth step per iteration.
        unsafe {
            let bv: [__m512; V] =
                std::array::from_fn(|v| _mm512_maskz_loadu_ps(masks[v], bp.wrapping_add(16 * v)));
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*ap.add(r * a_rs));
                for (x, bv) in row.iter_mut().zip(bv) {
                    *x = _mm512_fmadd_ps(av, bv, *x);
                }
            }
        }
        // Wrapping: after the last step these point past the data and are never read.
        ap = ap.wrapping_add(a_cs);
        bp = bp.wrapping_add(b_rs);
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, (&x, &mask)) in row.iter().zip(&masks).enumerate() {
            // SAFETY: row r of the tile has `cols` values at `c + r * ldc` (contract); masked
            // lanes are neither read nor written.
            unsafe {
                let dst = c.add(r * ldc).wrapping_add(16 * v);
                let sum = if accumulate {
                    _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, dst))
                } else {
                    x
                };
                _mm512_mask_storeu_ps(dst, mask, sum);
            }
        }
    }
}
