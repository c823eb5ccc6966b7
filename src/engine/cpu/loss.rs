//! Losses (mean over the live rows) and their gradients. Sums run in f64.

use super::elementwise::sigmoid;
use crate::graph::LossKind;

/// Class targets arrive as i32 in an f32-sized slot; a label outside the scores is clamped here
/// (the trainer validates labels before training, so this only keeps a bad file from panicking).
fn class(target: &[f32], r: usize, width: usize) -> usize {
    (target[r].to_bits() as i32).clamp(0, width as i32 - 1) as usize
}

fn log_sum_exp(row: &[f32]) -> (f32, f32) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
    (max, sum)
}

pub fn loss(kind: LossKind, pred: &[f32], target: &[f32], rows: usize, width: usize) -> f32 {
    let n = rows * width;
    let total: f64 = match kind {
        LossKind::SoftmaxCrossEntropy => (0..rows)
            .map(|r| {
                let row = &pred[r * width..][..width];
                let (max, sum) = log_sum_exp(row);
                (max + sum.ln() - row[class(target, r, width)]) as f64
            })
            .sum::<f64>(),
        LossKind::MeanSquaredError => (0..n).map(|i| ((pred[i] - target[i]) as f64).powi(2)).sum(),
        LossKind::MeanAbsoluteError => (0..n).map(|i| ((pred[i] - target[i]) as f64).abs()).sum(),
        LossKind::BinaryCrossEntropy => (0..n)
            .map(|i| {
                let (x, t) = (pred[i], target[i]);
                (x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()) as f64
            })
            .sum(),
    };
    let count = if kind == LossKind::SoftmaxCrossEntropy {
        rows
    } else {
        n
    };
    (total / count.max(1) as f64) as f32
}

pub fn loss_backward(
    kind: LossKind,
    pred: &[f32],
    target: &[f32],
    dpred: &mut [f32],
    rows: usize,
    width: usize,
) {
    let n = rows * width;
    match kind {
        LossKind::SoftmaxCrossEntropy => {
            let scale = 1.0 / rows.max(1) as f32;
            for r in 0..rows {
                let row = &pred[r * width..][..width];
                let (max, sum) = log_sum_exp(row);
                let d = &mut dpred[r * width..][..width];
                for (dj, &v) in d.iter_mut().zip(row) {
                    *dj = (v - max).exp() / sum * scale;
                }
                d[class(target, r, width)] -= scale;
            }
        }
        LossKind::MeanSquaredError => {
            let scale = 2.0 / n.max(1) as f32;
            for i in 0..n {
                dpred[i] = scale * (pred[i] - target[i]);
            }
        }
        LossKind::MeanAbsoluteError => {
            let scale = 1.0 / n.max(1) as f32;
            for i in 0..n {
                let d = pred[i] - target[i];
                dpred[i] = if d > 0.0 {
                    scale
                } else if d < 0.0 {
                    -scale
                } else {
                    0.0
                };
            }
        }
        LossKind::BinaryCrossEntropy => {
            let scale = 1.0 / n.max(1) as f32;
            for i in 0..n {
                dpred[i] = scale * (sigmoid(pred[i]) - target[i]);
            }
        }
    }
}
