//! Tests of `Gemm` against a naive f64 product: every path (thresholds forced per test),
//! every instruction set the CPU has, one and two threads, plus the edge cases.

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

fn naive(a: &[f32], b: &[f32], (m, n, k): (usize, usize, usize), ta: bool, tb: bool) -> Vec<f64> {
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

/// A factor packed once gives every product the plain path gives, whatever its transpose, its
/// depth (past one block) or its width (past one strip), on each instruction set; a later
/// smaller factor reuses the buffer.
#[test]
fn packed_factor_agrees_with_naive() {
    let mut rng = Lcg(2);
    for isa in isas() {
        let mut gemm = Gemm::new(Pool::new(1));
        gemm.isa = isa;
        let mut packed = gemm.packed();
        for (m, n, k) in [
            (32, 1024, 256),
            (5, 70, 300),
            (16, 256, 1024),
            (3, 7, 2),
            (1, 33, 9),
        ] {
            for tb in [false, true] {
                let (a, b) = (rng.vec(m * k), rng.vec(k * n));
                let want = naive(&a, &b, (m, n, k), false, tb);
                let bv = View {
                    data: &b,
                    cols: if tb { k } else { n },
                    transposed: tb,
                };
                packed.pack(bv, (k, n));
                let av = View {
                    data: &a,
                    cols: k,
                    transposed: false,
                };
                let what = format!("{isa:?} packed {m}x{n}x{k} tb={tb}");
                let mut out = vec![0.5; m * n];
                packed.product(&mut out, av, m, false);
                assert_close(&out, |i| want[i], &what);
                packed.product(&mut out, av, m, true);
                assert_close(&out, |i| 2.0 * want[i], &format!("{what} accumulate"));
            }
        }
    }
}
