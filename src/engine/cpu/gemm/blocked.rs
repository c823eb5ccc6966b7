//! The blocked (Goto/BLIS) path: the table of microkernels per instruction set and the loop
//! nest that sweeps a product in kc×nc panels of `b` and mr×nr tiles of the output, packing
//! `b` when asked to.

#[cfg(target_arch = "x86_64")]
use super::avx512::tile_avx512;
use super::pack::{aligned, pack_b};
#[cfg(target_arch = "x86_64")]
use super::portable::tile_avx2;
use super::portable::tile_portable;
use super::{Isa, MC_STRIPS, Mat, NC, Workspace};

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
pub(super) struct Kernel {
    pub(super) mr: usize,
    pub(super) nr: usize,
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
    pub(super) fn kernel(self) -> &'static Kernel {
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
pub(super) unsafe fn blocked(
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
