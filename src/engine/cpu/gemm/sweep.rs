//! Throughput of the CPU matrix product on chosen shapes, for `netloom bench --workload matmul
//! --backend cpu`: the figure the training workloads' products are judged against.

use std::time::Instant;

use super::{Gemm, View};
use crate::engine::cpu::pool::Pool;
use crate::rng::Rng;

/// One measured shape: `out[m, n] = a[m, k] · b[k, n]`, `b` read transposed when asked (as a
/// layer's weights are).
pub struct CpuSweepPoint {
    pub shape: (usize, usize, usize),
    pub b_transposed: bool,
    pub gflop_s: f64,
    /// The microkernel's instruction set.
    pub isa: String,
}

/// Times each shape for about `seconds` per run, `runs` runs, and reports the median.
pub fn matmul_sweep(
    threads: usize,
    shapes: &[(usize, usize, usize)],
    runs: usize,
    seconds: f64,
) -> Vec<CpuSweepPoint> {
    let mut gemm = Gemm::new(Pool::new(threads.max(1)));
    let mut rng = Rng::new(7);
    let mut points = Vec::new();
    for &(m, n, k) in shapes {
        let mut random =
            |len: usize| -> Vec<f32> { (0..len).map(|_| rng.uniform(-1.0, 1.0) as f32).collect() };
        let (a, b) = (random(m * k), random(k * n));
        let mut out = vec![0.0; m * n];
        for b_transposed in [false, true] {
            let a_view = View {
                data: &a,
                cols: k,
                transposed: false,
            };
            let b_view = View {
                data: &b,
                cols: if b_transposed { k } else { n },
                transposed: b_transposed,
            };
            let mut product = || gemm.matmul(&mut out, a_view, b_view, (m, n, k), false);
            product();
            let mut rates: Vec<f64> = (0..runs.max(1))
                .map(|_| {
                    let started = Instant::now();
                    let mut done = 0u32;
                    while done == 0 || started.elapsed().as_secs_f64() < seconds {
                        product();
                        done += 1;
                    }
                    let flop = 2.0 * (m * n * k) as f64 * f64::from(done);
                    flop / started.elapsed().as_secs_f64() / 1e9
                })
                .collect();
            rates.sort_by(f64::total_cmp);
            points.push(CpuSweepPoint {
                shape: (m, n, k),
                b_transposed,
                gflop_s: rates[rates.len() / 2],
                isa: format!("{:?}", gemm.isa),
            });
        }
    }
    points
}
