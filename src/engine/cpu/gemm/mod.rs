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
//!
//! This file holds the public API (`View`, `Gemm`), the shared types and the dispatch between
//! paths; the kernels live in submodules:
//! - `blocked`: the microkernel table and the Goto/BLIS loop nest around it;
//! - `pack`: packing panels of `b` (with an AVX2 in-register transpose);
//! - `portable`: the portable microkernel and its AVX2 + FMA build;
//! - `avx512`: the AVX-512 microkernel;
//! - `small`: the AVX-512 small, matrix-vector and dot-product paths, which skip packing;
//! - `sweep`: their throughput on chosen shapes, for `netloom bench`.

use std::sync::{Arc, Mutex, PoisonError};

use super::pool::Pool;

#[cfg(target_arch = "x86_64")]
mod avx512;
mod blocked;
mod pack;
mod portable;
#[cfg(target_arch = "x86_64")]
mod small;
mod sweep;
#[cfg(test)]
mod tests;

use blocked::{Kernel, Panels, blocked, pack_all, packed_len};
#[cfg(target_arch = "x86_64")]
use small::{dot_avx512, small_avx512};
pub use sweep::{CpuSweepPoint, matmul_sweep};

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

/// Settles a product with no rows, columns or depth (a depth of zero leaves zeros, or `out` as
/// it was when accumulating); true if it was one.
fn nothing_to_multiply(
    out: &mut [f32],
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) -> bool {
    if k == 0 && !accumulate {
        out.fill(0.0);
    }
    m == 0 || n == 0 || k == 0
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
    a: Vec<f32>,
    b: Vec<f32>,
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

    /// The pool the products split over, for kernels that share it.
    pub fn pool(&self) -> &Pool {
        &self.pool
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
        if nothing_to_multiply(out, (m, n, k), accumulate) {
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
                    Panels::of(b, pack),
                    (m, n, k),
                    accumulate,
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
                    Panels::of(b.sub(0, j0), pack),
                    (rows, cols, k),
                    accumulate,
                );
            }
        });
    }
}

/// A right factor packed once for many products with it on any thread (a recurrence's
/// weights, the same at every time step). Packing a panel per product, as `Gemm::matmul` does,
/// would copy all of `b` again for each one.
pub struct Packed {
    data: Vec<f32>,
    k: usize,
    n: usize,
    kernel: &'static Kernel,
}

impl Gemm {
    /// A packed factor for this `Gemm`'s kernel, empty until `pack` fills it.
    pub fn packed(&self) -> Packed {
        Packed {
            data: Vec::new(),
            k: 0,
            n: 0,
            kernel: self.isa.kernel(),
        }
    }
}

impl Packed {
    /// Packs the k×n matrix `b` (growing the buffer only when a larger one comes).
    pub fn pack(&mut self, b: View, (k, n): (usize, usize)) {
        let b = Mat::new(b, k, n, "b");
        let len = packed_len(self.kernel, (k, n));
        if self.data.len() < len {
            self.data.resize(len, 0.0);
        }
        pack_all(self.kernel, &mut self.data[..len], b, (k, n));
        (self.k, self.n) = (k, n);
    }

    /// out[m, n] (+)= a · b on the calling thread, `a` logically [m, k] with contiguous rows
    /// (a transposed one would need packing buffers this shared factor does not have).
    pub fn product(&self, out: &mut [f32], a: View, m: usize, accumulate: bool) {
        assert!(
            !a.transposed,
            "a packed product reads `a` in place, untransposed"
        );
        let (n, k) = (self.n, self.k);
        let a = Mat::new(a, m, k, "a");
        let out = &mut out[..m * n];
        if nothing_to_multiply(out, (m, n, k), accumulate) {
            return;
        }
        let all = &self.data[..packed_len(self.kernel, (k, n))];
        // SAFETY: `out` is m×n with row stride n (sliced above), `a` was checked to hold m×k
        // and is not transposed, so the empty workspace is never grown; `all` holds the packed
        // k×n factor; the kernel was chosen for this CPU.
        unsafe {
            blocked(
                self.kernel,
                &mut Workspace::default(),
                out.as_mut_ptr(),
                n,
                a,
                Panels::Packed(all),
                (m, n, k),
                accumulate,
            )
        };
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
