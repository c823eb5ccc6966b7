//! Starting values of parameters and running statistics, drawn from the run's seeded generator
//! in program order, so the same seed gives the same network.

use super::program::{BufferId, ParamInit, Program, StateInit};
use crate::graph::Init;
use crate::rng::Rng;

/// Stream of the run's generator reserved for weight initialisation.
const INIT_STREAM: u64 = 1;

/// Every parameter's and running statistic's first values. Optimizer state starts at zero.
pub fn initial_values(program: &Program, seed: u64) -> Vec<(BufferId, Vec<f32>)> {
    let mut rng = Rng::fork(seed, INIT_STREAM);
    let mut values = Vec::new();
    for param in &program.params {
        let n = program.buffers[param.buffer].per_sample_len();
        let data = match param.init {
            ParamInit::Constant(c) => vec![c; n],
            ParamInit::Weight {
                init,
                fan_in,
                fan_out,
            } => draw(init, fan_in, fan_out, n, &mut rng),
        };
        values.push((param.buffer, data));
    }
    for state in &program.running_stats {
        let n = program.buffers[state.buffer].per_sample_len();
        let data = match state.initial {
            StateInit::Constant(c) => vec![c; n],
            StateInit::Sinusoidal { steps, width } => sinusoidal(steps, width),
        };
        values.push((state.buffer, data));
    }
    for &state in &program.optimizer_state {
        values.push((state, vec![0.0; program.buffers[state].per_sample_len()]));
    }
    values
}

/// The fixed positional encoding: see `StateInit::Sinusoidal`.
pub fn sinusoidal(steps: usize, width: usize) -> Vec<f32> {
    let mut table = Vec::with_capacity(steps * width);
    for p in 0..steps {
        for j in 0..width {
            let i = (j / 2) as f64;
            let angle = p as f64 * (-(10_000f64.ln()) * 2.0 * i / width as f64).exp();
            table.push(if j % 2 == 0 { angle.sin() } else { angle.cos() } as f32);
        }
    }
    table
}

fn draw(init: Init, fan_in: usize, fan_out: usize, n: usize, rng: &mut Rng) -> Vec<f32> {
    let (fan_in, fan_out) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
    let uniform = |limit: f64, rng: &mut Rng| -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-limit, limit) as f32).collect()
    };
    let normal = |std: f64, rng: &mut Rng| -> Vec<f32> {
        (0..n).map(|_| (rng.normal() * std) as f32).collect()
    };
    match init {
        Init::GlorotUniform => uniform((6.0 / (fan_in + fan_out)).sqrt(), rng),
        Init::GlorotNormal => normal((2.0 / (fan_in + fan_out)).sqrt(), rng),
        Init::HeUniform => uniform((6.0 / fan_in).sqrt(), rng),
        Init::HeNormal => normal((2.0 / fan_in).sqrt(), rng),
        Init::LecunNormal => normal((1.0 / fan_in).sqrt(), rng),
        Init::Zeros => vec![0.0; n],
        Init::Constant { value } => vec![value; n],
        Init::Normal { std } => normal(f64::from(std), rng),
        Init::Uniform { limit } => uniform(f64::from(limit), rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(xs: &[f32]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn initialisers_have_their_variance() {
        let (fan_in, fan_out, n) = (300, 100, 60_000);
        let cases = [
            (Init::GlorotUniform, 2.0 / 400.0),
            (Init::GlorotNormal, 2.0 / 400.0),
            (Init::HeUniform, 2.0 / 300.0),
            (Init::HeNormal, 2.0 / 300.0),
            (Init::LecunNormal, 1.0 / 300.0),
        ];
        for (init, expected) in cases {
            let xs = draw(init, fan_in, fan_out, n, &mut Rng::new(5));
            let (mean, var) = moments(&xs);
            assert!(mean.abs() < 0.01, "{init:?} mean {mean}");
            assert!(
                (var / expected - 1.0).abs() < 0.03,
                "{init:?} var {var}, expected {expected}"
            );
        }
        assert!(
            draw(Init::Zeros, 3, 3, 9, &mut Rng::new(0))
                .iter()
                .all(|&x| x == 0.0)
        );
        assert!(
            draw(Init::Constant { value: 0.5 }, 3, 3, 9, &mut Rng::new(0))
                .iter()
                .all(|&x| x == 0.5)
        );
    }

    #[test]
    fn the_sinusoidal_encoding_is_the_original_transformers() {
        let (steps, width) = (50, 6);
        let table = sinusoidal(steps, width);
        assert_eq!(table.len(), steps * width);
        for p in 0..steps {
            for i in 0..width / 2 {
                let angle = p as f64 / 10_000f64.powf(2.0 * i as f64 / width as f64);
                let (sin, cos) = (table[p * width + 2 * i], table[p * width + 2 * i + 1]);
                assert!(
                    (f64::from(sin) - angle.sin()).abs() < 1e-6,
                    "pe[{p}, {}]",
                    2 * i
                );
                assert!(
                    (f64::from(cos) - angle.cos()).abs() < 1e-6,
                    "pe[{p}, {}]",
                    2 * i + 1
                );
            }
        }
        // An odd width ends on a sine.
        assert_eq!(
            sinusoidal(3, 3)[2 * 3 + 2],
            (2.0 / 10_000f64.powf(2.0 / 3.0)).sin() as f32
        );
    }
}
