//! The 2D sets of TensorFlow Playground (its `dataset.ts`), seeded from our own generator.
//!
//! The point clouds, label rules and noise follow the Playground so that its pictures carry over;
//! the coordinates are then divided by 5 (its domain is [-6, 6]) so that networks see features of
//! roughly [-1, 1], as they train directly on them. Playground labels -1/+1 become classes 0/1.

use std::f64::consts::{PI, TAU};

use serde::{Deserialize, Serialize};

use super::{DataError, InMemoryDataset, Targets};
use crate::rng::Rng;

/// TensorFlow-Playground 2D classification sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToySet {
    Circle,
    Xor,
    Gaussian,
    Spiral,
}

impl ToySet {
    pub const ALL: [ToySet; 4] = [
        ToySet::Circle,
        ToySet::Xor,
        ToySet::Gaussian,
        ToySet::Spiral,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ToySet::Circle => "circle",
            ToySet::Xor => "xor",
            ToySet::Gaussian => "gaussian",
            ToySet::Spiral => "spiral",
        }
    }
}

/// TensorFlow-Playground 2D regression sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressionSet {
    Plane,
    MultiGaussian,
}

impl RegressionSet {
    pub const ALL: [RegressionSet; 2] = [RegressionSet::Plane, RegressionSet::MultiGaussian];

    pub fn label(self) -> &'static str {
        match self {
            RegressionSet::Plane => "plane",
            RegressionSet::MultiGaussian => "multi gaussian",
        }
    }
}

/// Playground units to network units.
const PLAYGROUND_SCALE: f64 = 1.0 / 5.0;
/// The Playground's noise slider goes to 50%.
const MAX_NOISE: f32 = 0.5;
/// Keeps a hand-edited project file from asking for gigabytes.
const MAX_SAMPLES: usize = 1_000_000;
/// Random stream for toy data, so that a data seed equal to an init seed draws other numbers.
const TOY_STREAM: u64 = 0x7079;

/// A 2D classification set: features [2], classes 0 and 1, points in a seeded random order.
pub fn toy_2d(
    set: ToySet,
    samples: usize,
    noise: f32,
    seed: u64,
) -> Result<InMemoryDataset, DataError> {
    check_settings(samples, noise)?;
    let mut rng = Rng::fork(seed, TOY_STREAM);
    let noise = f64::from(noise);
    // Odd counts give the extra point to class 1, so that `samples` points come out exactly.
    let positives = samples - samples / 2;
    let negatives = samples / 2;
    let mut points: Vec<([f64; 2], u32)> = Vec::with_capacity(samples);
    match set {
        ToySet::Circle => {
            let radius = 5.0;
            let label = |x: f64, y: f64| u32::from(x.hypot(y) < radius * 0.5);
            for (count, r_low, r_high) in [
                (positives, 0.0, radius * 0.5),
                (negatives, radius * 0.7, radius),
            ] {
                for _ in 0..count {
                    let r = rng.uniform(r_low, r_high);
                    let angle = rng.uniform(0.0, TAU);
                    let (x, y) = (r * angle.sin(), r * angle.cos());
                    // As in the Playground, noise moves the point only for labelling: points near
                    // the boundary get the other side's label.
                    let noise_x = rng.uniform(-radius, radius) * noise;
                    let noise_y = rng.uniform(-radius, radius) * noise;
                    points.push(([x, y], label(x + noise_x, y + noise_y)));
                }
            }
        }
        ToySet::Xor => {
            let padding = 0.3;
            let coordinate = |rng: &mut Rng| {
                let v = rng.uniform(-5.0, 5.0);
                if v > 0.0 { v + padding } else { v - padding }
            };
            for _ in 0..samples {
                let x = coordinate(&mut rng);
                let y = coordinate(&mut rng);
                let noise_x = rng.uniform(-5.0, 5.0) * noise;
                let noise_y = rng.uniform(-5.0, 5.0) * noise;
                points.push(([x, y], u32::from((x + noise_x) * (y + noise_y) >= 0.0)));
            }
        }
        ToySet::Gaussian => {
            // The Playground maps noise 0..0.5 linearly onto variance 0.5..4.
            let std_dev = (0.5 + noise * 7.0).sqrt();
            for (count, centre, label) in [(positives, 2.0, 1), (negatives, -2.0, 0)] {
                for _ in 0..count {
                    let x = centre + std_dev * rng.normal();
                    let y = centre + std_dev * rng.normal();
                    points.push(([x, y], label));
                }
            }
        }
        ToySet::Spiral => {
            for (count, delta_t, label) in [(positives, 0.0, 1), (negatives, PI, 0)] {
                for i in 0..count {
                    let along = i as f64 / count as f64;
                    let r = along * 5.0;
                    let t = 1.75 * along * TAU + delta_t;
                    let x = r * t.sin() + rng.uniform(-1.0, 1.0) * noise;
                    let y = r * t.cos() + rng.uniform(-1.0, 1.0) * noise;
                    points.push(([x, y], label));
                }
            }
        }
    }
    // The generators emit one class after the other; a random order makes any prefix
    // (a preview, an unshuffled batch) representative.
    rng.shuffle(&mut points);
    let features = scaled_features(points.iter().map(|(p, _)| *p));
    let labels = points.iter().map(|(_, label)| *label).collect();
    InMemoryDataset::new(
        set.label(),
        vec![2],
        features,
        Targets::Classes { labels, classes: 2 },
        vec!["0".into(), "1".into()],
    )
}

/// A 2D regression set: features [2], one target value in about [-1, 1].
pub fn regression_2d(
    set: RegressionSet,
    samples: usize,
    noise: f32,
    seed: u64,
) -> Result<InMemoryDataset, DataError> {
    check_settings(samples, noise)?;
    let mut rng = Rng::fork(seed, TOY_STREAM);
    let noise = f64::from(noise);
    let radius = 6.0;
    let mut features = Vec::with_capacity(samples * 2);
    let mut values = Vec::with_capacity(samples);
    for _ in 0..samples {
        let x = rng.uniform(-radius, radius);
        let y = rng.uniform(-radius, radius);
        // As in the Playground, noise shifts where the target is read, not the point itself.
        let noisy_x = x + rng.uniform(-radius, radius) * noise;
        let noisy_y = y + rng.uniform(-radius, radius) * noise;
        let value = match set {
            RegressionSet::Plane => (noisy_x + noisy_y) / 10.0,
            RegressionSet::MultiGaussian => multi_gaussian(noisy_x, noisy_y),
        };
        features.extend([(x * PLAYGROUND_SCALE) as f32, (y * PLAYGROUND_SCALE) as f32]);
        values.push(value as f32);
    }
    InMemoryDataset::new(
        set.label(),
        vec![2],
        features,
        Targets::Values { values, width: 1 },
        Vec::new(),
    )
}

/// The bump with the largest magnitude among six signed cones around fixed centres.
fn multi_gaussian(x: f64, y: f64) -> f64 {
    const BUMPS: [(f64, f64, f64); 6] = [
        (-4.0, 2.5, 1.0),
        (0.0, 2.5, -1.0),
        (4.0, 2.5, 1.0),
        (-4.0, -2.5, -1.0),
        (0.0, -2.5, 1.0),
        (4.0, -2.5, -1.0),
    ];
    let mut value: f64 = 0.0;
    for (cx, cy, sign) in BUMPS {
        let height = (1.0 - (x - cx).hypot(y - cy) / 2.0).clamp(0.0, 1.0);
        let bump = sign * height;
        if bump.abs() > value.abs() {
            value = bump;
        }
    }
    value
}

fn scaled_features(points: impl Iterator<Item = [f64; 2]>) -> Vec<f32> {
    points
        .flat_map(|p| p.map(|v| (v * PLAYGROUND_SCALE) as f32))
        .collect()
}

/// A sample count and noise level a generated 2D set can be made with.
pub(super) fn check_settings(samples: usize, noise: f32) -> Result<(), DataError> {
    if samples == 0 || samples > MAX_SAMPLES {
        return Err(DataError::InvalidSetting {
            setting: "samples",
            problem: format!("{samples} is not between 1 and {MAX_SAMPLES}"),
        });
    }
    if !(0.0..=MAX_NOISE).contains(&noise) {
        return Err(DataError::InvalidSetting {
            setting: "noise",
            problem: format!("{noise} is not between 0 and {MAX_NOISE}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;

    fn points(d: &InMemoryDataset) -> Vec<([f32; 2], usize)> {
        (0..d.len())
            .map(|i| {
                let f = d.sample_features(i);
                ([f[0], f[1]], d.class(i))
            })
            .collect()
    }

    #[test]
    fn same_seed_same_points_and_sizes_are_exact() {
        for set in ToySet::ALL {
            for samples in [1, 7, 500] {
                let a = toy_2d(set, samples, 0.2, 42).unwrap();
                assert_eq!(a, toy_2d(set, samples, 0.2, 42).unwrap());
                assert_eq!(a.len(), samples);
                assert_eq!(a.feature_shape(), [2]);
                assert_eq!(a.class_names(), ["0", "1"]);
            }
            assert_ne!(
                toy_2d(set, 50, 0.2, 1).unwrap(),
                toy_2d(set, 50, 0.2, 2).unwrap()
            );
        }
        for set in RegressionSet::ALL {
            let a = regression_2d(set, 99, 0.1, 5).unwrap();
            assert_eq!(a, regression_2d(set, 99, 0.1, 5).unwrap());
            assert_eq!(a.len(), 99);
            assert_eq!(a.task(), crate::data::Task::Regression { outputs: 1 });
            assert_ne!(a, regression_2d(set, 99, 0.1, 6).unwrap());
        }
    }

    #[test]
    fn labels_are_balanced_and_features_near_unit_range() {
        for set in ToySet::ALL {
            let d = toy_2d(set, 1001, 0.0, 3).unwrap();
            let ones = points(&d).iter().filter(|(_, c)| *c == 1).count();
            if set == ToySet::Xor {
                // Labels come from the quadrant, so balance holds only on average.
                assert!((400..=600).contains(&ones), "{ones}");
            } else {
                assert_eq!(ones, 501, "{set:?}");
            }
            if set != ToySet::Gaussian {
                let max = d.features().iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!(max <= 1.07, "{set:?}: {max}");
            }
        }
    }

    #[test]
    fn circle_inner_points_are_class_one() {
        let d = toy_2d(ToySet::Circle, 400, 0.0, 8).unwrap();
        for ([x, y], class) in points(&d) {
            let r = x.hypot(y);
            if class == 1 {
                assert!(r <= 0.5 + 1e-6, "{r}");
            } else {
                assert!(r >= 0.7 - 1e-6, "{r}");
            }
        }
        // Noise flips some labels near the boundary, as in the Playground.
        let noisy = toy_2d(ToySet::Circle, 400, 0.5, 8).unwrap();
        assert!(
            points(&noisy)
                .iter()
                .any(|([x, y], c)| *c == 0 && x.hypot(*y) < 0.5)
        );
    }

    #[test]
    fn xor_label_is_the_quadrant() {
        let d = toy_2d(ToySet::Xor, 400, 0.0, 8).unwrap();
        for ([x, y], class) in points(&d) {
            assert_eq!(class == 1, x * y >= 0.0);
            assert!(x.abs() >= 0.06 - 1e-6 && y.abs() >= 0.06 - 1e-6, "padding");
        }
    }

    #[test]
    fn gaussian_classes_sit_on_opposite_corners() {
        let d = toy_2d(ToySet::Gaussian, 2000, 0.0, 8).unwrap();
        for class in [0, 1] {
            let members: Vec<_> = points(&d)
                .into_iter()
                .filter(|(_, c)| *c == class)
                .collect();
            let mean_x = members.iter().map(|(p, _)| p[0]).sum::<f32>() / members.len() as f32;
            let mean_y = members.iter().map(|(p, _)| p[1]).sum::<f32>() / members.len() as f32;
            let expected = if class == 1 { 0.4 } else { -0.4 };
            assert!((mean_x - expected).abs() < 0.05 && (mean_y - expected).abs() < 0.05);
        }
    }

    #[test]
    fn spiral_arms_are_half_a_turn_apart() {
        let d = toy_2d(ToySet::Spiral, 600, 0.0, 8).unwrap();
        for ([x, y], class) in points(&d) {
            let r = f64::from(x.hypot(y));
            if r < 0.05 {
                continue; // the angle is meaningless at the centre
            }
            // On an arm, angle = 1.75 turns * radius (in units of the full radius) + offset.
            let offset = (f64::from(x).atan2(f64::from(y)) - 1.75 * TAU * r).rem_euclid(TAU);
            let expected = if class == 1 { 0.0 } else { PI };
            let diff = (offset - expected).rem_euclid(TAU);
            assert!(
                diff.min(TAU - diff) < 1e-3,
                "class {class}: offset {offset}"
            );
        }
    }

    #[test]
    fn regression_targets_follow_the_playground() {
        let plane = regression_2d(RegressionSet::Plane, 300, 0.0, 1).unwrap();
        let mut t = [0.0];
        for i in 0..plane.len() {
            let f = plane.sample_features(i);
            plane.copy_target(i, &mut t);
            // x + y over 10, in Playground units (5 times ours).
            assert!((t[0] - (f[0] + f[1]) / 2.0).abs() < 1e-5);
        }
        let bumps = regression_2d(RegressionSet::MultiGaussian, 2000, 0.0, 1).unwrap();
        let mut near_positive = 0;
        for i in 0..bumps.len() {
            let f = bumps.sample_features(i);
            bumps.copy_target(i, &mut t);
            assert!((-1.0..=1.0).contains(&t[0]));
            // (0, -2.5) is a positive bump: (0, -0.5) in our units.
            if f[0].hypot(f[1] + 0.5) < 0.1 {
                assert!(t[0] > 0.5, "{}", t[0]);
                near_positive += 1;
            }
        }
        assert!(near_positive > 0);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(toy_2d(ToySet::Circle, 0, 0.0, 0).is_err());
        assert!(toy_2d(ToySet::Circle, 10, 0.6, 0).is_err());
        assert!(toy_2d(ToySet::Circle, 10, f32::NAN, 0).is_err());
        assert!(regression_2d(RegressionSet::Plane, 10, -0.1, 0).is_err());
        let err = toy_2d(ToySet::Xor, 10, 0.9, 0).unwrap_err();
        assert_eq!(err.to_string(), "noise: 0.9 is not between 0 and 0.5");
    }
}
