//! Losses (mean over the live rows) and their gradients. Sums run in f64.

use super::fast_math::sigmoid;
use crate::graph::LossKind;

/// Class targets arrive as i32 in an f32-sized slot; a negative one is no target. A label past
/// the scores is clamped here (the trainer validates labels before training, so this only keeps
/// a bad file from panicking).
fn class(target: &[f32], r: usize, width: usize) -> Option<usize> {
    let label = target[r].to_bits() as i32;
    (label >= 0).then(|| label.min(width as i32 - 1) as usize)
}

/// The rows with a class target.
fn targeted(target: &[f32], rows: usize) -> usize {
    (0..rows)
        .filter(|&r| (target[r].to_bits() as i32) >= 0)
        .count()
}

fn log_sum_exp(row: &[f32]) -> (f32, f32) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
    (max, sum)
}

/// The mean loss, and how many targets it is the mean over.
pub fn loss(
    kind: LossKind,
    pred: &[f32],
    target: &[f32],
    rows: usize,
    width: usize,
) -> (f32, usize) {
    let n = rows * width;
    let total: f64 = match kind {
        LossKind::SoftmaxCrossEntropy => (0..rows)
            .filter_map(|r| {
                let label = class(target, r, width)?;
                let row = &pred[r * width..][..width];
                let (max, sum) = log_sum_exp(row);
                Some((max + sum.ln() - row[label]) as f64)
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
        targeted(target, rows)
    } else {
        n
    };
    ((total / count.max(1) as f64) as f32, count)
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
            let scale = 1.0 / targeted(target, rows).max(1) as f32;
            for r in 0..rows {
                let row = &pred[r * width..][..width];
                let d = &mut dpred[r * width..][..width];
                let Some(label) = class(target, r, width) else {
                    d.fill(0.0);
                    continue;
                };
                let (max, sum) = log_sum_exp(row);
                for (dj, &v) in d.iter_mut().zip(row) {
                    *dj = (v - max).exp() / sum * scale;
                }
                d[label] -= scale;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negative_class_is_no_target_and_the_mean_is_over_the_rest() {
        let pred = [1.0, 0.0, -1.0, 0.5, 0.5, 0.5, 2.0, 1.0, 0.0];
        let label = |c: i32| f32::from_bits(c as u32);
        let target = [label(2), label(-1), label(0)];
        let (mean, count) = loss(LossKind::SoftmaxCrossEntropy, &pred, &target, 3, 3);
        assert_eq!(count, 2);
        let softmax = |row: &[f32], c: usize| {
            let (max, sum) = log_sum_exp(row);
            (row[c] - max).exp() / sum
        };
        let expected = -(softmax(&pred[..3], 2).ln() + softmax(&pred[6..], 0).ln()) / 2.0;
        assert!((mean - expected).abs() < 1e-6, "{mean} against {expected}");
        let mut grad = [1.0; 9];
        loss_backward(
            LossKind::SoftmaxCrossEntropy,
            &pred,
            &target,
            &mut grad,
            3,
            3,
        );
        assert_eq!(
            grad[3..6],
            [0.0; 3],
            "the row without a target gets no gradient"
        );
        let wanted = (softmax(&pred[..3], 2) - 1.0) / 2.0;
        assert!(
            (grad[2] - wanted).abs() < 1e-6,
            "{} against {wanted}",
            grad[2]
        );
    }
}
