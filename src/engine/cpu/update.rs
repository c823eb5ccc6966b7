//! Optimizer updates, element by element, with weight decay and clipping folded in.

use crate::compile::UpdateRule;
use crate::engine::StepScalars;

pub fn norm_sq<'a>(grads: impl Iterator<Item = &'a [f32]>) -> f32 {
    grads
        .map(|g| g.iter().map(|&v| v as f64 * v as f64).sum::<f64>())
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

pub fn update(
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
            let t = s.step.max(1) as i32;
            let bias1 = 1.0 - s.beta1.powi(t);
            let bias2_sqrt = (1.0 - s.beta2.powi(t)).sqrt();
            let step_size = lr / bias1;
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
                *p -= step_size * *m / (v.sqrt() / bias2_sqrt + s.epsilon);
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
