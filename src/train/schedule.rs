//! Learning-rate schedules: a pure function of the step, so pausing, stepping and changing the
//! schedule mid-run all agree.

use crate::graph::Schedule;

/// Where training stands, for the schedule.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Optimizer steps taken before this one.
    pub step: u64,
    pub steps_per_epoch: u64,
    pub total_steps: u64,
}

pub fn learning_rate(base: f32, schedule: Schedule, warmup_steps: usize, p: Progress) -> f32 {
    let warmup = warmup_steps as u64;
    if p.step < warmup {
        return base * (p.step + 1) as f32 / warmup as f32;
    }
    let epoch = (p.step / p.steps_per_epoch.max(1)) as i32;
    match schedule {
        Schedule::Constant => base,
        Schedule::Step {
            every_epochs,
            gamma,
        } => base * gamma.powi(epoch / every_epochs.max(1) as i32),
        Schedule::Exponential { gamma } => base * gamma.powi(epoch),
        Schedule::Cosine { min_factor } => {
            let span = p.total_steps.saturating_sub(warmup).max(1);
            let progress = ((p.step - warmup) as f32 / span as f32).min(1.0);
            let factor = min_factor
                + (1.0 - min_factor) * 0.5 * (1.0 + (std::f32::consts::PI * progress).cos());
            base * factor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(step: u64) -> Progress {
        Progress {
            step,
            steps_per_epoch: 10,
            total_steps: 100,
        }
    }

    #[test]
    fn schedules_follow_their_formulas() {
        assert_eq!(learning_rate(0.1, Schedule::Constant, 0, at(57)), 0.1);
        let step = Schedule::Step {
            every_epochs: 2,
            gamma: 0.5,
        };
        assert_eq!(learning_rate(0.1, step, 0, at(19)), 0.1);
        assert_eq!(learning_rate(0.1, step, 0, at(20)), 0.05);
        assert_eq!(learning_rate(0.1, step, 0, at(45)), 0.025);
        let exp = Schedule::Exponential { gamma: 0.9 };
        assert!((learning_rate(1.0, exp, 0, at(30)) - 0.729).abs() < 1e-6);
        let cosine = Schedule::Cosine { min_factor: 0.0 };
        assert_eq!(learning_rate(1.0, cosine, 0, at(0)), 1.0);
        assert!((learning_rate(1.0, cosine, 0, at(50)) - 0.5).abs() < 1e-6);
        assert!(learning_rate(1.0, cosine, 0, at(100)).abs() < 1e-6);
    }

    #[test]
    fn warmup_rises_linearly_then_hands_over() {
        assert!((learning_rate(1.0, Schedule::Constant, 4, at(0)) - 0.25).abs() < 1e-6);
        assert!((learning_rate(1.0, Schedule::Constant, 4, at(3)) - 1.0).abs() < 1e-6);
        assert_eq!(learning_rate(1.0, Schedule::Constant, 4, at(4)), 1.0);
        let cosine = Schedule::Cosine { min_factor: 0.0 };
        assert_eq!(learning_rate(1.0, cosine, 4, at(4)), 1.0);
    }
}
