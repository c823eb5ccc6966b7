//! Packing `b` for the blocked path: the cache-line aligned buffers, and the copy of a kc×nc
//! panel into contiguous nr-wide strips, undoing a transpose (in 8×8 AVX2 register blocks
//! where available).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::{ALIGN_FLOATS, Mat};

/// A cache-line aligned window of `len` floats in `buf`, growing it if needed (the only
/// allocation of the blocked path, on first use of a larger shape).
pub(super) fn aligned(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len + ALIGN_FLOATS {
        buf.resize(len + ALIGN_FLOATS, 0.0);
    }
    let start = buf
        .as_ptr()
        .align_offset(ALIGN_FLOATS * 4)
        .min(ALIGN_FLOATS);
    &mut buf[start..start + len]
}

/// Packs kc×nc of `b` into consecutive strips of kc rows × nr floats, zero-padding the last.
pub(super) fn pack_b(dst: &mut [f32], b: Mat, kc: usize, nc: usize, nr: usize) {
    for (s, strip) in dst
        .chunks_exact_mut(kc * nr)
        .take(nc.div_ceil(nr))
        .enumerate()
    {
        let j0 = s * nr;
        let w = nr.min(nc - j0);
        if b.cs == 1 {
            // Rows of b are contiguous: copy row segments.
            for (p, row) in strip.chunks_exact_mut(nr).enumerate() {
                let src = b.off + p * b.rs + j0;
                row[..w].copy_from_slice(&b.data[src..src + w]);
                row[w..].fill(0.0);
            }
        } else {
            // Columns of b are contiguous (b is stored transposed): a transpose. Whole blocks
            // of 8×8 go through SIMD shuffles where available, the rest element by element.
            if w < nr {
                strip.fill(0.0);
            }
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            if b.rs == 1 && w == nr && nr.is_multiple_of(8) && is_x86_feature_detected!("avx2") {
                // SAFETY: avx2 was detected.
                unsafe { transpose_avx2(strip, b.sub(0, j0), kc, nr) };
                done = kc - kc % 8;
            }
            for jj in 0..w {
                let col = b.sub(0, j0 + jj);
                for (p, row) in strip.chunks_exact_mut(nr).enumerate().skip(done) {
                    row[jj] = col.data[col.off + p * col.rs];
                }
            }
        }
    }
}

/// Packs the first kc - kc % 8 rows of an nr-wide strip from `b` whose columns are contiguous
/// (rs = 1), in 8×8 blocks transposed in registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn transpose_avx2(strip: &mut [f32], b: Mat, kc: usize, nr: usize) {
    for jb in (0..nr).step_by(8) {
        for pb in (0..kc - kc % 8).step_by(8) {
            let r: [__m256; 8] = std::array::from_fn(|c| {
                let start = b.off + (jb + c) * b.cs + pb;
                let src: &[f32; 8] = b.data[start..start + 8].try_into().unwrap_or(&[0.0; 8]);
                // SAFETY: `src` is 8 floats.
                unsafe { _mm256_loadu_ps(src.as_ptr()) }
            });
            // Interleave pairs of rows, then pairs of pairs, then the 128-bit halves.
            let t: [__m256; 8] = std::array::from_fn(|i| match i % 2 {
                0 => _mm256_unpacklo_ps(r[i], r[i + 1]),
                _ => _mm256_unpackhi_ps(r[i - 1], r[i]),
            });
            let u: [__m256; 8] = std::array::from_fn(|i| {
                let (x, y) = (t[i / 4 * 4 + (i % 4) / 2], t[i / 4 * 4 + (i % 4) / 2 + 2]);
                match i % 2 {
                    0 => _mm256_shuffle_ps::<0x44>(x, y),
                    _ => _mm256_shuffle_ps::<0xee>(x, y),
                }
            });
            for q in 0..8 {
                let v = if q < 4 {
                    _mm256_permute2f128_ps::<0x20>(u[q], u[q + 4])
                } else {
                    _mm256_permute2f128_ps::<0x31>(u[q - 4], u[q])
                };
                let start = (pb + q) * nr + jb;
                let dst: &mut [f32; 8] = match (&mut strip[start..start + 8]).try_into() {
                    Ok(dst) => dst,
                    Err(_) => continue,
                };
                // SAFETY: `dst` is 8 floats.
                unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) };
            }
        }
    }
}
