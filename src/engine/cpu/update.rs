//! Optimizer updates, element by element, with weight decay and clipping folded in.

use super::disjoint::Disjoint;
use super::pool::Pool;
use crate::compile::UpdateRule;
use crate::engine::StepScalars;

/// Below this many values per thread, splitting an update costs more than it saves.
const PER_THREAD: usize = 16 * 1024;

/// `update`, split across the pool's threads for large parameters.
pub fn update_in_parallel(
    pool: &Pool,
    rule: UpdateRule,
    s: &StepScalars,
    norm_sq: f32,
    param: &mut [f32],
    grad: &[f32],
    state: [Option<&mut [f32]>; 2],
) {
    let n = param.len();
    let threads = pool.threads().min(n / PER_THREAD).max(1);
    if threads == 1 {
        return update(rule, s, norm_sq, param, grad, state);
    }
    let param = Disjoint::new(param);
    let state = state.map(|b| b.map(Disjoint::new));
    pool.run(&|t| {
        if t >= threads {
            return;
        }
        let range = t * n / threads..(t + 1) * n / threads;
        let [first, second] = &state;
        // SAFETY: each index takes its own range of every buffer.
        let (p, m, v) = unsafe {
            (
                param.part(range.clone()),
                first.as_ref().map(|d| d.part(range.clone())),
                second.as_ref().map(|d| d.part(range.clone())),
            )
        };
        update(rule, s, norm_sq, p, &grad[range], [m, v]);
    });
}

/// Values summed in f32 before the running total moves to f64, as the GPU's blocks.
const NORM_BLOCK: usize = 8192;

pub fn norm_sq<'a>(grads: impl Iterator<Item = &'a [f32]>) -> f32 {
    // f32 lanes within a block (fast), f64 across blocks: summed in f32 lanes alone, a tensor
    // of millions of values drifted by a part in a thousand.
    grads
        .flat_map(|g| g.chunks(NORM_BLOCK))
        .map(|block| super::elementwise::sum_sq(block) as f64)
        .sum::<f64>() as f32
}

/// The factor gradients are scaled by so that their global norm is at most `clip_norm` (the
/// same formula as PyTorch's `clip_grad_norm_`).
fn clip_scale(norm_sq: f32, clip_norm: f32) -> f32 {
    let norm = norm_sq.sqrt();
    if clip_norm > 0.0 && norm > clip_norm {
        clip_norm / (norm + 1e-6)
    } else {
        1.0
    }
}

/// One optimizer step over a parameter (or a part of one), compiled for the widest vector unit
/// the CPU has. Vector width does not change the results: no operation is fused or reordered.
pub fn update(
    rule: UpdateRule,
    s: &StepScalars,
    norm_sq: f32,
    param: &mut [f32],
    grad: &[f32],
    state: [Option<&mut [f32]>; 2],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the feature the function is compiled for.
            return unsafe { update_avx512(rule, s, norm_sq, param, grad, state) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { update_avx2(rule, s, norm_sq, param, grad, state) };
        }
    }
    update_body(rule, s, norm_sq, param, grad, state)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update_avx512(
    rule: UpdateRule,
    s: &StepScalars,
    norm_sq: f32,
    param: &mut [f32],
    grad: &[f32],
    state: [Option<&mut [f32]>; 2],
) {
    update_body(rule, s, norm_sq, param, grad, state)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn update_avx2(
    rule: UpdateRule,
    s: &StepScalars,
    norm_sq: f32,
    param: &mut [f32],
    grad: &[f32],
    state: [Option<&mut [f32]>; 2],
) {
    update_body(rule, s, norm_sq, param, grad, state)
}

#[inline(always)]
fn update_body(
    rule: UpdateRule,
    s: &StepScalars,
    norm_sq: f32,
    param: &mut [f32],
    grad: &[f32],
    state: [Option<&mut [f32]>; 2],
) {
    if !norm_sq.is_finite() {
        return;
    }
    let scale = clip_scale(norm_sq, s.clip_norm);
    let decoupled = matches!(
        rule,
        UpdateRule::Adam {
            decoupled_decay: true
        }
    );
    let l2 = if decoupled { 0.0 } else { s.weight_decay };
    let effective =
        |p: f32, g: f32| g * scale + l2 * p + s.l1 * p.signum() * (p != 0.0) as u8 as f32;
    let lr = s.learning_rate;
    let [first, second] = state;
    match rule {
        UpdateRule::Sgd { nesterov } => {
            let Some(v) = first else { return };
            for ((p, &g), v) in param.iter_mut().zip(grad).zip(v.iter_mut()) {
                let mut d = effective(*p, g);
                if s.momentum != 0.0 {
                    *v = s.momentum * *v + d;
                    d = if nesterov { d + s.momentum * *v } else { *v };
                }
                *p -= lr * d;
            }
        }
        UpdateRule::Adam { .. } => {
            let (Some(m), Some(v)) = (first, second) else {
                return;
            };
            let inv_bias2_sqrt = s.inv_sqrt_bias_correction2;
            let step_size = lr / s.bias_correction1;
            let shrink = if decoupled {
                1.0 - lr * s.weight_decay
            } else {
                1.0
            };
            for (((p, &g), m), v) in param
                .iter_mut()
                .zip(grad)
                .zip(m.iter_mut())
                .zip(v.iter_mut())
            {
                let d = effective(*p, g);
                *p *= shrink;
                *m = s.beta1 * *m + (1.0 - s.beta1) * d;
                *v = s.beta2 * *v + (1.0 - s.beta2) * d * d;
                *p -= step_size * *m / (v.sqrt() * inv_bias2_sqrt + s.epsilon);
            }
        }
        UpdateRule::RmsProp => {
            let Some(sq) = first else { return };
            for ((p, &g), sq) in param.iter_mut().zip(grad).zip(sq.iter_mut()) {
                let d = effective(*p, g);
                *sq = s.alpha * *sq + (1.0 - s.alpha) * d * d;
                *p -= lr * d / (sq.sqrt() + s.epsilon);
            }
        }
        UpdateRule::Adagrad => {
            let Some(sum) = first else { return };
            for ((p, &g), acc) in param.iter_mut().zip(grad).zip(sum.iter_mut()) {
                let d = effective(*p, g);
                *acc += d * d;
                *p -= lr * d / (acc.sqrt() + s.epsilon);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five steps on L = ½·Σ aᵢpᵢ² + Σ bᵢpᵢ from p = [0.5, -1, 2], against PyTorch 2.15's
    /// optimizers (with `clip_grad_norm_(0.5)` before each step in the clipped runs).
    fn run(rule: UpdateRule, s: StepScalars, clip: f32) -> Vec<f32> {
        let (a, b) = ([1.0f32, 2.0, 0.5], [0.3f32, -0.2, 0.1]);
        let mut p = vec![0.5f32, -1.0, 2.0];
        let (mut s1, mut s2) = (vec![0.0f32; 3], vec![0.0f32; 3]);
        for step in 1..=5 {
            let grad: Vec<f32> = (0..3).map(|i| a[i] * p[i] + b[i]).collect();
            let scalars = StepScalars {
                clip_norm: clip,
                ..s
            }
            .at_step(step);
            update(
                rule,
                &scalars,
                norm_sq([grad.as_slice()].into_iter()),
                &mut p,
                &grad,
                [Some(&mut s1), Some(&mut s2)],
            );
        }
        p
    }

    fn close(got: &[f32], expected: [f32; 3]) -> bool {
        got.iter().zip(expected).all(|(g, e)| (g - e).abs() < 2e-5)
    }

    #[test]
    fn optimizers_match_pytorch() {
        let base = StepScalars::default();
        let sgd = UpdateRule::Sgd { nesterov: false };
        let adam = UpdateRule::Adam {
            decoupled_decay: false,
        };
        let cases: [(&str, UpdateRule, StepScalars, [[f32; 3]; 2]); 8] = [
            (
                "sgd",
                sgd,
                StepScalars {
                    learning_rate: 0.1,
                    ..base
                },
                [
                    [0.172392, -0.260448, 1.502318],
                    [0.4206923, -0.7907244, 1.8886769],
                ],
            ),
            (
                "sgd momentum",
                sgd,
                StepScalars {
                    learning_rate: 0.1,
                    momentum: 0.9,
                    ..base
                },
                [
                    [-0.323328, 0.7384619, 0.717743],
                    [0.2901034, -0.4528995, 1.7036487],
                ],
            ),
            (
                "sgd nesterov + L2",
                UpdateRule::Sgd { nesterov: true },
                StepScalars {
                    learning_rate: 0.1,
                    momentum: 0.9,
                    weight_decay: 0.01,
                    ..base
                },
                [
                    [-0.3853331, 0.5572914, 0.4741541],
                    [0.2167889, -0.3002967, 1.5700302],
                ],
            ),
            (
                "adam",
                adam,
                StepScalars {
                    learning_rate: 0.1,
                    ..base
                },
                [
                    [0.0115043, -0.5068637, 1.5026137],
                    [0.0033896, -0.5003839, 1.498351],
                ],
            ),
            (
                "adam + L2",
                adam,
                StepScalars {
                    learning_rate: 0.1,
                    weight_decay: 0.05,
                    ..base
                },
                [
                    [0.0118667, -0.5068871, 1.5026416],
                    [0.0051913, -0.5008758, 1.4992038],
                ],
            ),
            (
                "adamw",
                UpdateRule::Adam {
                    decoupled_decay: true,
                },
                StepScalars {
                    learning_rate: 0.1,
                    weight_decay: 0.05,
                    ..base
                },
                [
                    [0.0044519, -0.4875382, 1.4583964],
                    [-0.0041117, -0.4806201, 1.4538205],
                ],
            ),
            (
                "rmsprop",
                UpdateRule::RmsProp,
                StepScalars {
                    learning_rate: 0.01,
                    alpha: 0.99,
                    ..base
                },
                [
                    [0.2023559, -0.6943897, 1.6845354],
                    [0.1851977, -0.6769136, 1.6668538],
                ],
            ),
            (
                "adagrad",
                UpdateRule::Adagrad,
                StepScalars {
                    learning_rate: 0.1,
                    epsilon: 1e-10,
                    ..base
                },
                [
                    [0.2035817, -0.6956459, 1.6858172],
                    [0.1864656, -0.6782033, 1.668156],
                ],
            ),
        ];
        for (name, rule, scalars, [plain, clipped]) in cases {
            let got = run(rule, scalars, 0.0);
            assert!(close(&got, plain), "{name}: {got:?} vs PyTorch {plain:?}");
            let got = run(rule, scalars, 0.5);
            assert!(
                close(&got, clipped),
                "{name} clipped: {got:?} vs PyTorch {clipped:?}"
            );
        }
    }

    #[test]
    fn l1_pulls_towards_zero_and_bad_norms_change_nothing() {
        let s = StepScalars {
            learning_rate: 0.1,
            l1: 0.5,
            ..StepScalars::default()
        };
        let mut p = vec![1.0f32, -1.0, 0.0];
        let mut v = vec![0.0f32; 3];
        update(
            UpdateRule::Sgd { nesterov: false },
            &s,
            0.0,
            &mut p,
            &[0.0; 3],
            [Some(&mut v), None],
        );
        assert_eq!(p, [0.95, -0.95, 0.0]);
        for bad in [f32::NAN, f32::INFINITY] {
            update(
                UpdateRule::Sgd { nesterov: false },
                &s,
                bad,
                &mut p,
                &[1.0; 3],
                [Some(&mut v), None],
            );
            assert_eq!(p, [0.95, -0.95, 0.0]);
        }
    }
}
