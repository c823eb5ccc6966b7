//! The portable microkernel of the blocked path, plain loops the compiler vectorises, and its
//! build for AVX2 + FMA.

/// The portable microkernel, written so the compiler vectorises it for whatever SIMD the
/// caller's target features allow; `FMA` fuses the multiply-add (only worth it when the CPU
/// has the instruction: otherwise `mul_add` is a library call).
///
/// # Safety
/// As `TileFn`.
#[inline(always)]
pub(super) unsafe fn tile_portable<const MR: usize, const NR: usize, const FMA: bool>(
    kc: usize,
    (a, a_rs, a_cs): (*const f32, usize, usize),
    (b, b_rs): (*const f32, usize),
    (c, ldc): (*mut f32, usize),
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    let madd = |x: f32, y: f32, z: f32| if FMA { x.mul_add(y, z) } else { x * y + z };
    let mut acc = [[0.0f32; NR]; MR];
    if rows == MR && cols == NR {
        // Fixed trip counts, so the accumulators live in registers.
        for p in 0..kc {
            // SAFETY: a full tile: MR rows of `a` and NR values per row of `b` (contract).
            let (b_row, a_col) = unsafe {
                let a_col: [f32; MR] = std::array::from_fn(|r| *a.add(r * a_rs + p * a_cs));
                (&*b.add(p * b_rs).cast::<[f32; NR]>(), a_col)
            };
            for (acc_row, av) in acc.iter_mut().zip(a_col) {
                for (o, &bv) in acc_row.iter_mut().zip(b_row) {
                    *o = madd(av, bv, *o);
                }
            }
        }
    } else {
        for p in 0..kc {
            for (r, acc_row) in acc.iter_mut().enumerate().take(rows) {
                // SAFETY: r < rows and j < cols stay inside the tile's inputs (contract).
                let av = unsafe { *a.add(r * a_rs + p * a_cs) };
                for (j, o) in acc_row.iter_mut().enumerate().take(cols) {
                    // SAFETY: as above.
                    *o = madd(av, unsafe { *b.add(p * b_rs + j) }, *o);
                }
            }
        }
    }
    for (r, src) in acc.iter().enumerate().take(rows) {
        // SAFETY: row r of the tile has `cols` values at `c + r * ldc` (contract).
        let dst = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), cols) };
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = if accumulate { *d + v } else { v };
        }
    }
}

/// # Safety
/// As `TileFn`; the CPU must support avx2 and fma.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tile_avx2(
    kc: usize,
    a: (*const f32, usize, usize),
    b: (*const f32, usize),
    c: (*mut f32, usize),
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    // SAFETY: forwarded contract.
    unsafe { tile_portable::<6, 16, true>(kc, a, b, c, rows, cols, accumulate) }
}
