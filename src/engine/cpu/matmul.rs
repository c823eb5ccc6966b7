//! Matrix products on row-major 2D views, through the `gemm` crate for anything but tiny sizes.

use gemm::Parallelism;

/// Below this many multiply-adds a plain loop beats the blocked kernel's setup.
const SMALL_MACS: usize = 16 * 16 * 16;
/// Above this many, splitting the product across threads pays for the hand-off.
const PARALLEL_MACS: usize = 96 * 96 * 96;

/// A row-major matrix, possibly read transposed.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    /// Columns as stored (the row stride when not transposed).
    pub cols: usize,
    pub transposed: bool,
}

impl View<'_> {
    /// Strides (row, column) of the logical (possibly transposed) matrix.
    fn strides(&self) -> (usize, usize) {
        if self.transposed {
            (1, self.cols)
        } else {
            (self.cols, 1)
        }
    }
}

/// `out[m, n] = a · b`, or `out += a · b` when `accumulate`; `a` is logically `[m, k]`, `b` `[k, n]`.
pub fn matmul(
    out: &mut [f32],
    a: View,
    b: View,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    threads: usize,
) {
    debug_assert!(out.len() >= m * n && a.data.len() >= m * k && b.data.len() >= k * n);
    let (a_rs, a_cs) = a.strides();
    let (b_rs, b_cs) = b.strides();
    let macs = m * n * k;
    if k == 0 {
        if !accumulate {
            out[..m * n].fill(0.0);
        }
        return;
    }
    if macs <= SMALL_MACS {
        small(
            out,
            a.data,
            (a_rs, a_cs),
            b.data,
            (b_rs, b_cs),
            (m, n, k),
            accumulate,
        );
        return;
    }
    let parallelism = if threads > 1 && macs >= PARALLEL_MACS {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: the debug assertion above states the bounds the strides imply: `a` holds m·k values
    // laid out with (a_rs, a_cs), `b` k·n with (b_rs, b_cs) and `out` m·n row-major, and the three
    // do not overlap (`out` is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.data.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn small(
    out: &mut [f32],
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        if !accumulate {
            row.fill(0.0);
        }
        for p in 0..k {
            let aip = a[i * a_rs + p * a_cs];
            let b_row = p * b_rs;
            if b_cs == 1 {
                for (o, &bv) in row.iter_mut().zip(&b[b_row..b_row + n]) {
                    *o += aip * bv;
                }
            } else {
                for (j, o) in row.iter_mut().enumerate() {
                    *o += aip * b[b_row + j * b_cs];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn naive(a: &[f32], b: &[f32], m: usize, n: usize, k: usize, ta: bool, tb: bool) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av as f64 * bv as f64;
                }
                out[i * n + j] = s as f32;
            }
        }
        out
    }

    #[test]
    fn agrees_with_naive_for_all_transposes_and_sizes() {
        let mut rng = Rng::new(1);
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (17, 33, 9),
            (64, 130, 70),
            (128, 96, 200),
        ] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
                    let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
                    let expected = naive(&a, &b, m, n, k, ta, tb);
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
                    for threads in [1, 2] {
                        let mut out = vec![0.5; m * n];
                        matmul(&mut out, av, bv, (m, n, k), false, threads);
                        for (x, y) in out.iter().zip(&expected) {
                            assert!(
                                (x - y).abs() < 1e-4,
                                "{m}x{n}x{k} ta={ta} tb={tb}: {x} vs {y}"
                            );
                        }
                        matmul(&mut out, av, bv, (m, n, k), true, threads);
                        for (x, y) in out.iter().zip(&expected) {
                            assert!((x - 2.0 * y).abs() < 2e-4, "accumulate {m}x{n}x{k}");
                        }
                    }
                }
            }
        }
    }
}
