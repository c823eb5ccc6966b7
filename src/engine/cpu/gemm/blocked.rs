//! The blocked (Goto/BLIS) path: the table of microkernels per instruction set and the loop
//! nest that sweeps a product in kc×nc panels of `b` and mr×nr tiles of the output, packing
//! `b` as it goes or reading it packed beforehand.

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

/// Where the blocked loop reads `b` from.
#[derive(Clone, Copy)]
pub(super) enum Panels<'a> {
    /// Rows of `b` in place (`b.cs == 1`).
    InPlace(Mat<'a>),
    /// Each kc×nc panel of `b` packed into the workspace as the loop reaches it.
    PackEach(Mat<'a>),
    /// All of `b` packed beforehand by `pack_all` (the product's columns start at 0).
    Packed(&'a [f32]),
}

impl<'a> Panels<'a> {
    /// `b` read in place or packed panel by panel, as `pack` says.
    pub(super) fn of(b: Mat<'a>, pack: bool) -> Self {
        if pack {
            Panels::PackEach(b)
        } else {
            Panels::InPlace(b)
        }
    }
}

/// Floats `pack_all` writes for a k×n `b`.
pub(super) fn packed_len(kernel: &Kernel, (k, n): (usize, usize)) -> usize {
    k * n.div_ceil(kernel.nr) * kernel.nr
}

/// Packs all of a k×n `b` as the blocked loop reads it: depth blocks of kc rows one after the
/// other, each as consecutive kc×nr strips of every column.
pub(super) fn pack_all(kernel: &Kernel, dst: &mut [f32], b: Mat, (k, n): (usize, usize)) {
    let padded = n.div_ceil(kernel.nr) * kernel.nr;
    for pc in (0..k).step_by(kernel.kc) {
        let kc = kernel.kc.min(k - pc);
        pack_b(
            &mut dst[pc * padded..][..kc * padded],
            b.sub(pc, 0),
            kc,
            n,
            kernel.nr,
        );
    }
}

/// Copies `rows` rows × `kc` depth of a transposed `a` (rows contiguous at each depth) into
/// strips of mr rows, each kc steps of mr values (a short last strip leaves its tail unread).
fn pack_a_block(dst: &mut [f32], a: Mat, rows: usize, kc: usize, mr: usize) {
    for (s, strip) in dst
        .chunks_exact_mut(kc * mr)
        .take(rows.div_ceil(mr))
        .enumerate()
    {
        let live = mr.min(rows - s * mr);
        for (p, step) in strip.chunks_exact_mut(mr).enumerate() {
            let from = a.off + s * mr + p * a.cs;
            step[..live].copy_from_slice(&a.data[from..from + live]);
        }
    }
}

/// Computes `out (+)= a · b` for an m×n×k product, one thread, reading `b` as `panels` says
/// (packing is required unless `b.cs == 1`).
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
    panels: Panels,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    let (mr, nr, kc_max) = (kernel.mr, kernel.nr, kernel.kc);
    let pack = matches!(panels, Panels::PackEach(_));
    let b_pack = if pack {
        aligned(&mut ws.b, k.min(kc_max) * n.min(NC).div_ceil(nr) * nr)
    } else {
        &mut []
    };
    let mc = mr * MC_STRIPS;
    // A transposed `a` (a weight gradient's dyᵀ) is copied into mr-wide strips per block:
    // read in place, each depth step of a tile would touch a row of the stored matrix, often
    // a page apart, which the prefetchers do not follow.
    let pack_a = a.rs == 1 && a.cs != 1 && m > 1;
    let a_pack = if pack_a {
        aligned(&mut ws.a, mc.min(m.div_ceil(mr) * mr) * k.min(kc_max))
    } else {
        &mut []
    };
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(kc_max) {
            let kc = kc_max.min(k - pc);
            if let Panels::PackEach(b) = panels {
                pack_b(b_pack, b.sub(pc, jc), kc, nc, nr);
            }
            // Later depth blocks add onto what the first one wrote.
            let acc = accumulate || pc > 0;
            for ic in (0..m).step_by(mc) {
                if pack_a {
                    pack_a_block(a_pack, a.sub(ic, pc), mc.min(m - ic), kc, mr);
                }
                for jr in (0..nc).step_by(nr) {
                    let cols = nr.min(nc - jr);
                    let strip = match panels {
                        Panels::PackEach(_) => (b_pack[jr * kc..].as_ptr(), nr),
                        Panels::InPlace(b) => (b.sub(pc, jc + jr).ptr(), b.rs),
                        Panels::Packed(all) => {
                            let padded = n.div_ceil(nr) * nr;
                            (all[pc * padded + (jc + jr) * kc..].as_ptr(), nr)
                        }
                    };
                    for ir in (ic..m.min(ic + mc)).step_by(mr) {
                        // SAFETY: rows ir..ir+rows of `a` exist at depth pc..pc+kc (in place, or
                        // packed as kc steps of mr values); the strip holds kc rows of `cols`
                        // values (packed here or by `pack_all`, or columns jc+jr.. of `b` whose
                        // rows are contiguous); the tile of `out` at (ir, jc + jr) is rows × cols
                        // inside the m×n output.
                        let rows_of_a = match pack_a {
                            true => (a_pack[(ir - ic) * kc..].as_ptr(), 1, mr),
                            false => (a.sub(ir, pc).ptr(), a.rs, a.cs),
                        };
                        unsafe {
                            (kernel.tile)(
                                kc,
                                rows_of_a,
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
