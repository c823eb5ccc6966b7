//! Single-precision matrix products for the CPU backend, allocation-free once warm.
//!
//! The general path is Goto/BLIS blocking: a microkernel keeps an MR×NR tile of the output in
//! registers and sweeps the depth, broadcasting elements of `a` (read in place through its
//! strides, so `a` is never packed) against NR-wide rows of `b`. `b` is read in place when its
//! rows are contiguous and it is small enough to stay in cache; otherwise a kc×nc panel is
//! packed into contiguous NR-wide strips (which also undoes a transpose). Edge tiles are
//! handled by the kernels themselves (masks or a slow loop), so nothing is padded.
//!
//! With AVX-512, shapes where that is wasteful skip it: tiny products (a few small networks'
//! layers) and narrow a·bᵀ products (weight gradients: dot products along k). Products big
//! enough to pay for the hand-off are split over the pool by rows or columns.

use std::sync::{Arc, Mutex, PoisonError};

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::pool::Pool;

/// Products with at most this many multiply-adds take the small path (AVX-512): no tiling.
const TINY_MACS: usize = 4096;
/// The dot-product path serves a·bᵀ with at most this many columns and at least this depth.
const DOT_MAX_N: usize = 16;
const DOT_MIN_K: usize = 64;
/// Floats of a transposed `b` the small path copies to make its rows contiguous.
const SMALL_B: usize = 1024;
/// Products with at least this many multiply-adds are split over the pool's threads (measured:
/// at 2^18 two threads already run ~1.6× faster than one while the workers are spinning).
const PARALLEL_MACS: usize = 1 << 18;
/// A `b` with contiguous rows is read in place below this size: packing costs more than it
/// saves until the panel stops fitting in cache (and large power-of-two strides alias in L1).
const PACK_B_FLOATS: usize = 1 << 19;
/// Width of a packed panel of `b`.
const NC: usize = 4096;
/// Row-strips of `a` per block: an MC·MR×KC block of `a` stays in L2 while a panel is swept.
const MC_STRIPS: usize = 24;
/// Packed buffers start on a cache line.
const ALIGN_FLOATS: usize = 16;

/// A row-major matrix, possibly read transposed.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    /// Columns as stored (the row stride when not transposed).
    pub cols: usize,
    pub transposed: bool,
}

/// A logical matrix as a slice, a start offset and strides: element (i, j) is at
/// `off + i * rs + j * cs`. Sub-blocks share the slice.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    off: usize,
    rs: usize,
    cs: usize,
}

impl<'a> Mat<'a> {
    /// Checks that a `rows`×`cols` logical matrix fits in `view.data`: every kernel read relies
    /// on it, so this is a real assertion, not a debug one.
    fn new(view: View<'a>, rows: usize, cols: usize, name: &str) -> Self {
        let (rs, cs) = if view.transposed {
            (1, view.cols)
        } else {
            (view.cols, 1)
        };
        let last = (rows.max(1) - 1)
            .checked_mul(rs)
            .zip((cols.max(1) - 1).checked_mul(cs))
            .and_then(|(r, c)| r.checked_add(c));
        if rows > 0 && cols > 0 && last.is_none_or(|last| last >= view.data.len()) {
            does_not_fit(name, (rows, cols), view);
        }
        Self {
            data: view.data,
            off: 0,
            rs,
            cs,
        }
    }

    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[self.off + i * self.rs + j * self.cs]
    }

    fn sub(&self, i: usize, j: usize) -> Self {
        Self {
            off: self.off + i * self.rs + j * self.cs,
            ..*self
        }
    }

    /// Pointer to logical element (0, 0); only meaningful for a non-empty, checked matrix.
    fn ptr(&self) -> *const f32 {
        self.data.as_ptr().wrapping_add(self.off)
    }
}

#[cold]
#[inline(never)]
fn does_not_fit(name: &str, (rows, cols): (usize, usize), view: View) -> ! {
    panic!(
        "matmul: {name} ({rows}x{cols}, stride {}) does not fit its {} values",
        view.cols,
        view.data.len()
    )
}

/// Instruction set of the microkernel, chosen once per `Gemm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

fn detect() -> Isa {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        return Isa::Avx512;
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        return Isa::Avx2;
    }
    Isa::Scalar
}

/// Packing buffers of one pool thread; they only grow.
#[derive(Default)]
struct Workspace {
    b: Vec<f32>,
}

/// A cache-line aligned window of `len` floats in `buf`, growing it if needed (the only
/// allocation of the blocked path, on first use of a larger shape).
fn aligned(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len + ALIGN_FLOATS {
        buf.resize(len + ALIGN_FLOATS, 0.0);
    }
    let start = buf
        .as_ptr()
        .align_offset(ALIGN_FLOATS * 4)
        .min(ALIGN_FLOATS);
    &mut buf[start..start + len]
}

/// Matrix products with per-thread packing buffers, split over a shared pool when large.
pub struct Gemm {
    pool: Arc<Pool>,
    /// One workspace per pool index, locked by whichever thread runs that index (never
    /// contended: the lock just lets the shared `Fn` job hand out `&mut` access).
    workspaces: Vec<Mutex<Workspace>>,
    isa: Isa,
    /// Copies of the thresholds, so tests can force every path.
    tiny_macs: usize,
    parallel_macs: usize,
    pack_b_floats: usize,
    /// Copy of a transposed `b` for the small path, allocated once.
    small_b: Vec<f32>,
}

impl Gemm {
    /// `pool` is shared with other kernels of the backend; `threads` = pool.threads().
    pub fn new(pool: Arc<Pool>) -> Self {
        let workspaces = (0..pool.threads()).map(|_| Mutex::default()).collect();
        Self {
            pool,
            workspaces,
            isa: detect(),
            tiny_macs: TINY_MACS,
            parallel_macs: PARALLEL_MACS,
            pack_b_floats: PACK_B_FLOATS,
            small_b: vec![0.0; SMALL_B],
        }
    }

    /// out[m, n] = a·b, or out += a·b when `accumulate`; a is logically [m, k], b is [k, n]; out
    /// is row-major with row stride n. Allocates only to grow its packing buffers.
    pub fn matmul(
        &mut self,
        out: &mut [f32],
        a: View,
        b: View,
        (m, n, k): (usize, usize, usize),
        accumulate: bool,
    ) {
        let a = Mat::new(a, m, k, "a");
        let b = Mat::new(b, k, n, "b");
        if m.checked_mul(n).is_none_or(|len| len > out.len()) {
            does_not_fit(
                "out",
                (m, n),
                View {
                    data: out,
                    cols: n,
                    transposed: false,
                },
            );
        }
        let out = &mut out[..m * n];
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            if !accumulate {
                out.fill(0.0);
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if self.isa == Isa::Avx512 && self.special_avx512(out, a, b, (m, n, k), accumulate) {
            return;
        }
        self.blocked(out, a, b, (m, n, k), accumulate);
    }

    /// The AVX-512 paths that skip packing; false if none fits.
    #[cfg(target_arch = "x86_64")]
    fn special_avx512(
        &mut self,
        out: &mut [f32],
        a: Mat,
        b: Mat,
        (m, n, k): (usize, usize, usize),
        accumulate: bool,
    ) -> bool {
        let out_ptr = out.as_mut_ptr();
        // SAFETY (all calls below): `a` and `b` were checked to hold m×k and k×n values with
        // their strides, `out` holds m×n; avx512f was detected.
        if a.cs == 1 && b.rs == 1 && n <= DOT_MAX_N && (k >= DOT_MIN_K || n == 1) {
            let (a, b) = ((a.ptr(), a.rs), (b.ptr(), b.cs));
            match n {
                1 => unsafe { dot_avx512::<4, 1>(out_ptr, a, b, (m, n, k), accumulate) },
                _ => unsafe { dot_avx512::<4, 3>(out_ptr, a, b, (m, n, k), accumulate) },
            }
            return true;
        }
        if n == 1 && a.rs == 1 {
            // out is also the 1×m product bᵀ·aᵀ, whose right factor has contiguous rows.
            let (a_t, b_t) = ((b.ptr(), 0, b.rs), (a.ptr(), a.cs));
            unsafe { small_avx512(out_ptr, a_t, b_t, (1, m, k), accumulate) };
            return true;
        }
        if m * n * k > self.tiny_macs || (b.cs != 1 && k * n > SMALL_B) {
            return false;
        }
        let b = if b.cs == 1 {
            (b.ptr(), b.rs)
        } else {
            // Undo the transpose so rows of b are contiguous (at most SMALL_B copies).
            for (p, row) in self.small_b.chunks_exact_mut(n).take(k).enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = b.at(p, j);
                }
            }
            (self.small_b.as_ptr(), n)
        };
        unsafe { small_avx512(out_ptr, (a.ptr(), a.rs, a.cs), b, (m, n, k), accumulate) };
        true
    }

    /// The packed path, on one thread or split over the pool.
    fn blocked(
        &mut self,
        out: &mut [f32],
        a: Mat,
        b: Mat,
        (m, n, k): (usize, usize, usize),
        accumulate: bool,
    ) {
        let kernel = self.isa.kernel();
        let threads = self.workspaces.len();
        let pack = b.cs != 1 || k * n >= self.pack_b_floats;
        if threads == 1 || m * n * k < self.parallel_macs {
            let ws = self.workspaces[0]
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner);
            // SAFETY: `out` is m×n with row stride n; `a` and `b` were checked to hold m×k and
            // k×n; `detect` chose `self.isa` only if the CPU supports it.
            unsafe {
                blocked(
                    kernel,
                    ws,
                    out.as_mut_ptr(),
                    n,
                    a,
                    b,
                    (m, n, k),
                    accumulate,
                    pack,
                )
            };
            return;
        }
        // Split the larger dimension into one range per thread, in whole tiles, so that every
        // thread packs only its own part of the matrix the split runs along.
        let by_cols = n >= m;
        let (len, unit) = if by_cols {
            (n, kernel.nr)
        } else {
            (m, kernel.mr)
        };
        let chunk = len.div_ceil(threads).div_ceil(unit) * unit;
        let out_ptr = SharedOut(out.as_mut_ptr());
        let workspaces = &self.workspaces;
        self.pool.run(&|t| {
            let start = (t * chunk).min(len);
            let end = (start + chunk).min(len);
            if start == end {
                return;
            }
            let mut ws = workspaces[t].lock().unwrap_or_else(PoisonError::into_inner);
            let (i0, j0, rows, cols) = if by_cols {
                (0, start, m, end - start)
            } else {
                (start, 0, end - start, n)
            };
            // SAFETY: each thread writes only its own disjoint rows or columns of `out`, which
            // is m×n with row stride n and borrowed mutably for the whole `run`; the sub-blocks
            // of `a` and `b` lie within the checked matrices; the kernel is supported.
            unsafe {
                blocked(
                    kernel,
                    &mut ws,
                    out_ptr.get().add(i0 * n + j0),
                    n,
                    a.sub(i0, 0),
                    b.sub(0, j0),
                    (rows, cols, k),
                    accumulate,
                    pack,
                );
            }
        });
    }
}

/// The output pointer, handed to every pool thread.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// SAFETY: the threads that share it write disjoint parts of the output (see `Gemm::blocked`).
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// A method rather than field access, so closures capture the whole `Sync` wrapper.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// `c[..rows, ..cols] (+)= a · b` for one tile: `a` is read as `rows` rows at
/// `a + r * a_rs + p * a_cs` for p < kc, `b` as kc rows of `cols` floats at `b + p * b_rs`,
/// `c` has row stride `ldc`; `rows <= mr`, `cols <= nr`.
///
/// Safety: all those reads and writes must be in bounds, and the CPU must support the
/// kernel's instruction set.
type TileFn = unsafe fn(
    usize,
    (*const f32, usize, usize),
    (*const f32, usize),
    (*mut f32, usize),
    usize,
    usize,
    bool,
);

/// A microkernel and its blocking: a kc×nr strip of `b` stays in L1 while mr-row strips of
/// `a` stream past it.
struct Kernel {
    mr: usize,
    nr: usize,
    kc: usize,
    tile: TileFn,
}

/// Portable fallback: plain loops the compiler vectorises for the baseline target.
const SCALAR: Kernel = Kernel {
    mr: 4,
    nr: 16,
    kc: 256,
    tile: tile_portable::<4, 16, false>,
};
/// The portable kernel compiled for AVX2 + FMA: 6×16 tiles in twelve ymm accumulators.
#[cfg(target_arch = "x86_64")]
const AVX2: Kernel = Kernel {
    mr: 6,
    nr: 16,
    kc: 256,
    tile: tile_avx2,
};
/// AVX-512 intrinsics: 8×32 tiles in sixteen zmm accumulators.
#[cfg(target_arch = "x86_64")]
const AVX512: Kernel = Kernel {
    mr: 8,
    nr: 32,
    kc: 256,
    tile: tile_avx512,
};

impl Isa {
    fn kernel(self) -> &'static Kernel {
        match self {
            Isa::Scalar => &SCALAR,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => &AVX2,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => &AVX512,
        }
    }
}

/// Computes `out (+)= a · b` for an m×n×k product, one thread. `b` is packed into contiguous
/// strips when `pack` (required unless `b.cs == 1`), else read in place.
///
/// # Safety
/// `out` must point to an m×n matrix with row stride `ldc` that nothing else accesses during
/// the call; `a` must hold m×k and `b` k×n logical elements; the CPU must support `kernel`.
#[allow(clippy::too_many_arguments)]
unsafe fn blocked(
    kernel: &Kernel,
    ws: &mut Workspace,
    out: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    pack: bool,
) {
    let (mr, nr, kc_max) = (kernel.mr, kernel.nr, kernel.kc);
    let b_pack = if pack {
        aligned(&mut ws.b, k.min(kc_max) * n.min(NC).div_ceil(nr) * nr)
    } else {
        &mut []
    };
    let mc = mr * MC_STRIPS;
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(kc_max) {
            let kc = kc_max.min(k - pc);
            if pack {
                pack_b(b_pack, b.sub(pc, jc), kc, nc, nr);
            }
            // Later depth blocks add onto what the first one wrote.
            let acc = accumulate || pc > 0;
            for ic in (0..m).step_by(mc) {
                for jr in (0..nc).step_by(nr) {
                    let cols = nr.min(nc - jr);
                    let strip = if pack {
                        (b_pack[jr * kc..].as_ptr(), nr)
                    } else {
                        (b.sub(pc, jc + jr).ptr(), b.rs)
                    };
                    for ir in (ic..m.min(ic + mc)).step_by(mr) {
                        // SAFETY: rows ir..ir+rows of `a` exist at depth pc..pc+kc; the strip
                        // holds kc rows of `cols` values (packed, or columns jc+jr.. of `b`
                        // whose rows are contiguous); the tile of `out` at (ir, jc + jr) is
                        // rows × cols inside the m×n output.
                        unsafe {
                            (kernel.tile)(
                                kc,
                                (a.sub(ir, pc).ptr(), a.rs, a.cs),
                                strip,
                                (out.add(ir * ldc + jc + jr), ldc),
                                mr.min(m - ir),
                                cols,
                                acc,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Packs kc×nc of `b` into consecutive strips of kc rows × nr floats, zero-padding the last.
fn pack_b(dst: &mut [f32], b: Mat, kc: usize, nc: usize, nr: usize) {
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

/// The portable microkernel, written so the compiler vectorises it for whatever SIMD the
/// caller's target features allow; `FMA` fuses the multiply-add (only worth it when the CPU
/// has the instruction: otherwise `mul_add` is a library call).
///
/// # Safety
/// As `TileFn`.
#[inline(always)]
unsafe fn tile_portable<const MR: usize, const NR: usize, const FMA: bool>(
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
unsafe fn tile_avx2(
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

/// The small path for AVX-512, straight from `a` and `b` (rows of `b` contiguous with stride
/// `b_rs`): groups of four rows × 16 masked columns, so that four independent FMA chains hide
/// the latency even when k is tiny.
///
/// # Safety
/// `out` must be m×n with row stride n, `a` m×k with the given strides, `b` k rows of n
/// floats; the CPU must support avx512f.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn small_avx512(
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
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_avx512<const R: usize, const C: usize>(
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

/// The AVX-512 tile: one instantiation per row count and vector width, so partial tiles cost
/// no padding (masks cover partial columns).
///
/// # Safety
/// As `TileFn`; the CPU must support avx512f.
#[cfg(target_arch = "x86_64")]
unsafe fn tile_avx512(
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
#[cfg(target_arch = "x86_64")]
fn lanes(cols: usize, from: usize) -> __mmask16 {
    ((1u32 << cols.saturating_sub(from).min(16)) - 1) as __mmask16
}

/// One R×(16·V) tile; V = 1 serves narrow strips without wasting half the FMAs.
///
/// # Safety
/// As `TileFn` with rows = R; the CPU must support avx512f.
#[cfg(target_arch = "x86_64")]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the tests need no dependency.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }

        fn vec(&mut self, len: usize) -> Vec<f32> {
            (0..len).map(|_| self.next()).collect()
        }
    }

    fn naive(
        a: &[f32],
        b: &[f32],
        (m, n, k): (usize, usize, usize),
        ta: bool,
        tb: bool,
    ) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av as f64 * bv as f64;
                }
                out[i * n + j] = s;
            }
        }
        out
    }

    fn assert_close(got: &[f32], want: impl Fn(usize) -> f64, what: &str) {
        for (idx, &g) in got.iter().enumerate() {
            let w = want(idx);
            assert!(
                (g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{what}: element {idx} is {g}, expected {w}"
            );
        }
    }

    /// Every transpose combination, with and without accumulation, on `gemm`.
    fn check_shape(gemm: &mut Gemm, rng: &mut Lcg, (m, n, k): (usize, usize, usize), what: &str) {
        for ta in [false, true] {
            for tb in [false, true] {
                let a = rng.vec(m * k);
                let b = rng.vec(k * n);
                let want = naive(&a, &b, (m, n, k), ta, tb);
                let av = View {
                    data: &a,
                    cols: if ta { m } else { k },
                    transposed: ta,
                };
                let bv = View {
                    data: &b,
                    cols: if tb { k } else { n },
                    transposed: tb,
                };
                let what = format!("{what} {m}x{n}x{k} ta={ta} tb={tb}");
                let mut out = vec![0.5; m * n];
                gemm.matmul(&mut out, av, bv, (m, n, k), false);
                assert_close(&out, |i| want[i], &what);
                let start = rng.vec(m * n);
                out.copy_from_slice(&start);
                gemm.matmul(&mut out, av, bv, (m, n, k), true);
                assert_close(
                    &out,
                    |i| want[i] + start[i] as f64,
                    &format!("{what} accumulate"),
                );
            }
        }
    }

    /// Tile multiples and remainders, tiny depths, depths past one block, narrow outputs (the
    /// dot and matrix-vector paths) and the reference workloads' shapes.
    const SHAPES: [(usize, usize, usize); 13] = [
        (1, 1, 1),
        (3, 5, 7),
        (10, 8, 2),
        (17, 33, 9),
        (7, 300, 5),
        (37, 1, 100),
        (16, 9, 200),
        (6, 16, 513),
        (64, 130, 70),
        (128, 96, 200),
        (300, 20, 40),
        (257, 129, 300),
        (32, 196, 144),
    ];

    fn isas() -> Vec<Isa> {
        let mut isas = vec![Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                isas.push(Isa::Avx2);
            }
            if detect() == Isa::Avx512 {
                isas.push(Isa::Avx512);
            }
        }
        isas
    }

    /// Every path: default thresholds; no small path and `b` always packed; everything small;
    /// always parallel and packed. Each instruction set the CPU has; one and two threads.
    #[test]
    fn agrees_with_naive() {
        let mut rng = Lcg(1);
        for threads in [1, 2] {
            let pool = Pool::new(threads);
            for isa in isas() {
                for (tiny_macs, parallel_macs, pack_b_floats) in [
                    (TINY_MACS, PARALLEL_MACS, PACK_B_FLOATS),
                    (0, usize::MAX, 0),
                    (usize::MAX, usize::MAX, PACK_B_FLOATS),
                    (0, 0, 0),
                ] {
                    let mut gemm = Gemm::new(pool.clone());
                    gemm.isa = isa;
                    gemm.tiny_macs = tiny_macs;
                    gemm.parallel_macs = parallel_macs;
                    gemm.pack_b_floats = pack_b_floats;
                    let what = format!(
                        "{isa:?} threads={threads} tiny={tiny_macs} par={parallel_macs} \
                         pack={pack_b_floats}"
                    );
                    for shape in SHAPES {
                        check_shape(&mut gemm, &mut rng, shape, &what);
                    }
                }
            }
        }
    }

    #[test]
    fn empty_depth_zeroes_or_keeps_out() {
        let pool = Pool::new(2);
        let mut gemm = Gemm::new(pool);
        let view = View {
            data: &[],
            cols: 0,
            transposed: false,
        };
        let mut out = vec![3.0; 12];
        gemm.matmul(&mut out, view, view, (3, 4, 0), true);
        assert!(out.iter().all(|&v| v == 3.0));
        gemm.matmul(&mut out, view, view, (3, 4, 0), false);
        assert!(out.iter().all(|&v| v == 0.0));
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn rejects_short_inputs() {
        let mut gemm = Gemm::new(Pool::new(1));
        let a = [1.0; 5];
        let view = View {
            data: &a,
            cols: 3,
            transposed: false,
        };
        let mut out = [0.0; 4];
        gemm.matmul(&mut out, view, view, (2, 2, 3), false);
    }
}
