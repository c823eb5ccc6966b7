//! Metrics over a pass: loss, accuracy and the confusion matrix for classification; MAE and R²
//! for regression. Accumulated batch by batch without allocating.

use serde::Serialize;

use crate::data::Task;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub loss: f32,
    pub samples: usize,
    /// Classification only.
    pub accuracy: Option<f32>,
    /// `confusion[true][predicted]` counts; classification only.
    pub confusion: Option<Vec<Vec<u32>>>,
    /// Regression only.
    pub mae: Option<f32>,
    pub r2: Option<f32>,
}

/// The class a prediction row votes for: the largest score, or for a single logit, its sign.
pub fn predicted_class(row: &[f32]) -> usize {
    if row.len() == 1 {
        return (row[0] > 0.0) as usize;
    }
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

pub struct Accumulator {
    /// What the predictions are compared with beyond the loss; nothing for a loss whose
    /// target comes from a wire.
    task: Option<Task>,
    loss_sum: f64,
    samples: usize,
    /// Classes compared: one per sample, or one per time step of a sequence task.
    labels: usize,
    correct: usize,
    confusion: Vec<u32>,
    abs_err: f64,
    sq_err: f64,
    target_sum: f64,
    target_sq: f64,
    values: usize,
}

impl Accumulator {
    pub fn new(task: Option<Task>) -> Self {
        let classes = match task {
            Some(Task::Classification { classes }) => classes,
            _ => 0,
        };
        Self {
            task,
            loss_sum: 0.0,
            samples: 0,
            labels: 0,
            correct: 0,
            confusion: vec![0; classes * classes],
            abs_err: 0.0,
            sq_err: 0.0,
            target_sum: 0.0,
            target_sq: 0.0,
            values: 0,
        }
    }

    /// Starts over, keeping the allocation.
    pub fn clear(&mut self) {
        self.loss_sum = 0.0;
        self.samples = 0;
        self.labels = 0;
        self.correct = 0;
        self.confusion.fill(0);
        self.abs_err = 0.0;
        self.sq_err = 0.0;
        self.target_sum = 0.0;
        self.target_sq = 0.0;
        self.values = 0;
    }

    /// Adds one batch: its mean loss, the prediction rows, and the targets (class indices for
    /// classification, values for regression).
    pub fn add(
        &mut self,
        mean_loss: f32,
        rows: usize,
        prediction: &[f32],
        classes: &[usize],
        values: &[f32],
    ) {
        self.loss_sum += mean_loss as f64 * rows as f64;
        self.samples += rows;
        match self.task {
            None => {}
            Some(Task::Classification { classes: k }) => {
                // A row of scores per class label: per sample, or per time step.
                let width = prediction.len() / classes.len().max(1);
                for (r, &truth) in classes.iter().enumerate() {
                    if truth == crate::data::NO_TARGET {
                        continue;
                    }
                    self.labels += 1;
                    let guess = predicted_class(&prediction[r * width..(r + 1) * width]);
                    self.correct += (guess == truth) as usize;
                    if truth < k && guess < k {
                        self.confusion[truth * k + guess] += 1;
                    }
                }
            }
            Some(Task::Regression { .. }) => {
                for (&p, &t) in prediction.iter().zip(values) {
                    let d = (p - t) as f64;
                    self.abs_err += d.abs();
                    self.sq_err += d * d;
                    self.target_sum += t as f64;
                    self.target_sq += t as f64 * t as f64;
                    self.values += 1;
                }
            }
        }
    }

    pub fn finish(&self) -> Metrics {
        let samples = self.samples.max(1) as f64;
        let mut m = Metrics {
            loss: (self.loss_sum / samples) as f32,
            samples: self.samples,
            ..Metrics::default()
        };
        match self.task {
            None => {}
            Some(Task::Classification { classes }) => {
                m.accuracy = Some((self.correct as f64 / self.labels.max(1) as f64) as f32);
                m.confusion = Some(
                    self.confusion
                        .chunks(classes.max(1))
                        .map(|r| r.to_vec())
                        .collect(),
                );
            }
            Some(Task::Regression { .. }) => {
                let n = self.values.max(1) as f64;
                m.mae = Some((self.abs_err / n) as f32);
                let total = self.target_sq - self.target_sum * self.target_sum / n;
                m.r2 = Some(if total > 0.0 {
                    (1.0 - self.sq_err / total) as f32
                } else {
                    0.0
                });
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_counts_hits_and_confusions() {
        let mut acc = Accumulator::new(Some(Task::Classification { classes: 3 }));
        let prediction = [0.9, 0.1, 0.0, 0.0, 0.2, 0.8, 0.1, 0.7, 0.2, 0.6, 0.3, 0.1];
        acc.add(0.5, 4, &prediction, &[0, 2, 1, 1], &[]);
        let m = acc.finish();
        assert_eq!(m.accuracy, Some(0.75));
        assert_eq!(
            m.confusion,
            Some(vec![vec![1, 0, 0], vec![1, 1, 0], vec![0, 0, 1]])
        );
        assert_eq!(m.loss, 0.5);
        acc.clear();
        assert_eq!(acc.finish().samples, 0);
        assert_eq!(acc.finish().confusion.map(|c| c.len()), Some(3));
    }

    #[test]
    fn a_single_logit_votes_by_its_sign() {
        assert_eq!(predicted_class(&[-0.3]), 0);
        assert_eq!(predicted_class(&[0.3]), 1);
    }

    #[test]
    fn regression_reports_mae_and_r2() {
        let mut acc = Accumulator::new(Some(Task::Regression { outputs: 1 }));
        acc.add(0.0, 4, &[1.0, 2.0, 3.0, 4.0], &[], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(acc.finish().r2, Some(1.0));
        let mut acc = Accumulator::new(Some(Task::Regression { outputs: 1 }));
        acc.add(0.0, 2, &[2.0, 2.0], &[], &[1.0, 3.0]);
        let m = acc.finish();
        assert_eq!(m.mae, Some(1.0));
        assert_eq!(m.r2, Some(0.0));
    }
}
