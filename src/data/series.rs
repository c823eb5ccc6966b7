//! Time series to forecast: noisy waves, each sample a window of `length` values with the next
//! value as each step's target, so that a recurrent network learns to continue a signal. The
//! noise is in the targets too: the best forecast still misses by it, so a validation error near
//! the noise's variance is as good as it gets.

use std::f64::consts::TAU;

use super::{DataError, InMemoryDataset, Targets};
use crate::graph::ValueKind;
use crate::rng::Rng;

/// Stream of the run's generator for series, apart from the other sets of the same seed.
const SERIES_STREAM: u64 = 0x5e12;
/// The most values a set of series may hold, so that no setting exhausts memory.
const MAX_VALUES: usize = 10_000_000;

/// `samples` windows of `length` steps of a sum of `waves` sines (each of a random period of 8
/// to 40 steps, phase and amplitude), plus Gaussian noise of standard deviation `noise`.
pub fn sine_waves(
    samples: usize,
    length: usize,
    waves: usize,
    noise: f32,
    seed: u64,
) -> Result<InMemoryDataset, DataError> {
    let invalid = |setting, problem: String| Err(DataError::InvalidSetting { setting, problem });
    if !(1..=100_000).contains(&samples) {
        return invalid("samples", format!("between 1 and 100000, not {samples}"));
    }
    if !(2..=4096).contains(&length) {
        return invalid(
            "window length",
            format!("between 2 and 4096 steps, not {length}"),
        );
    }
    if !(1..=8).contains(&waves) {
        return invalid("waves", format!("between 1 and 8, not {waves}"));
    }
    // Features and targets are each samples × length values: 10 million is 80 MB in all.
    if samples.saturating_mul(length) > MAX_VALUES {
        return invalid(
            "samples",
            format!(
                "{samples} series of {length} steps are {} values; at most {MAX_VALUES} fit: use fewer or shorter series",
                samples.saturating_mul(length)
            ),
        );
    }
    if !(0.0..=1.0).contains(&noise) {
        return invalid("noise", format!("between 0 and 1, not {noise}"));
    }
    let mut rng = Rng::fork(seed, SERIES_STREAM);
    let mut features = Vec::with_capacity(samples * length);
    let mut targets = Vec::with_capacity(samples * length);
    let mut series = vec![0.0f32; length + 1];
    for _ in 0..samples {
        let parts: Vec<(f64, f64, f64)> = (0..waves)
            .map(|_| {
                let period = rng.uniform(8.0, 40.0);
                let amplitude = rng.uniform(0.5, 1.0) / waves as f64;
                (TAU / period, rng.uniform(0.0, TAU), amplitude)
            })
            .collect();
        for (t, v) in series.iter_mut().enumerate() {
            let clean: f64 = parts
                .iter()
                .map(|(w, phase, a)| a * (w * t as f64 + phase).sin())
                .sum();
            *v = (clean + f64::from(noise) * rng.normal()) as f32;
        }
        features.extend_from_slice(&series[..length]);
        targets.extend_from_slice(&series[1..]);
    }
    let name = if waves == 1 {
        "sine waves"
    } else {
        "sums of sines"
    };
    windowed(name.into(), length, features, targets)
}

/// Windows of `window` steps of one series, one starting at every step, each step's target the
/// value after it; split in order, so that validation forecasts the later part. With
/// `standardize`, the series is first shifted and scaled to mean 0 and standard deviation 1.
pub fn series_windows(
    name: String,
    series: &[f32],
    window: usize,
    standardize: bool,
) -> Result<InMemoryDataset, DataError> {
    let invalid = |setting, problem: String| Err(DataError::InvalidSetting { setting, problem });
    if window < 1 || window >= series.len() {
        return invalid(
            "window length",
            format!(
                "between 1 and {} steps for a series of {} values, not {window}",
                series.len().saturating_sub(1),
                series.len()
            ),
        );
    }
    let samples = series.len() - window;
    if samples.saturating_mul(window) > MAX_VALUES {
        return invalid(
            "window length",
            format!(
                "{samples} windows of {window} steps are {} values; at most {MAX_VALUES} fit: use shorter windows",
                samples.saturating_mul(window)
            ),
        );
    }
    let mut series = series.to_vec();
    if standardize {
        let n = series.len() as f64;
        let mean = series.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = series
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        let std = var.sqrt().max(1e-12);
        for v in &mut series {
            *v = ((f64::from(*v) - mean) / std) as f32;
        }
    }
    let mut features = Vec::with_capacity(samples * window);
    let mut targets = Vec::with_capacity(samples * window);
    for start in 0..samples {
        features.extend_from_slice(&series[start..start + window]);
        targets.extend_from_slice(&series[start + 1..start + window + 1]);
    }
    Ok(windowed(name, window, features, targets)?.in_order())
}

/// Samples of `length` steps of one value each, a target per step.
fn windowed(
    name: String,
    length: usize,
    features: Vec<f32>,
    targets: Vec<f32>,
) -> Result<InMemoryDataset, DataError> {
    InMemoryDataset::sequences(
        name,
        vec![length, 1],
        features,
        ValueKind::Sequence,
        Targets::Values {
            values: targets,
            width: length,
        },
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, Task};

    #[test]
    fn each_step_is_asked_for_the_next_value() {
        let d = sine_waves(5, 10, 2, 0.0, 3).unwrap();
        assert_eq!(d.feature_shape(), [10, 1]);
        assert_eq!(d.values(), ValueKind::Sequence);
        assert_eq!(d.task(), Task::Regression { outputs: 10 });
        let mut next = [0.0; 10];
        d.copy_target(2, &mut next);
        assert_eq!(d.sample_features(2)[1..], next[..9]);
        assert!(d.features().iter().all(|v| v.abs() <= 1.0));
        assert!(sine_waves(5, 1, 1, 0.1, 0).is_err());
        assert!(sine_waves(5, 10, 1, 2.0, 0).is_err());
        let err = sine_waves(100_000, 4096, 1, 0.1, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("409600000 values"), "{err}");
    }

    #[test]
    fn a_series_is_cut_into_windows_in_order_each_asking_for_the_next_value() {
        let series: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let d = series_windows("s".into(), &series, 4, false).unwrap();
        assert_eq!((d.len(), d.feature_shape()), (6, &[4, 1][..]));
        assert!(d.ordered(), "validation forecasts the later part");
        assert_eq!(d.sample_features(2), [2.0, 3.0, 4.0, 5.0]);
        let mut next = [0.0; 4];
        d.copy_target(2, &mut next);
        assert_eq!(next, [3.0, 4.0, 5.0, 6.0]);
        let d = series_windows("s".into(), &series, 4, true).unwrap();
        let mean = d.sample_features(0).iter().sum::<f32>() / 4.0;
        assert!((mean + 1.0445).abs() < 1e-3, "standardised: {mean}");
        for window in [0, 10, 11] {
            let e = series_windows("s".into(), &series, window, false).unwrap_err();
            assert!(e.to_string().contains("for a series of 10 values"), "{e}");
        }
    }
}
