//! The 2D distributions GAN Lab teaches with: a ring of eight Gaussians, a line, two moons and
//! disjoint blobs. Each point's class is the mode it was drawn from, so a set doubles as a
//! classification task and a generator's coverage of the modes can be counted.

use std::f64::consts::{PI, TAU};

use serde::{Deserialize, Serialize};

use super::{DataError, InMemoryDataset, Targets};
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointSet {
    /// Eight Gaussians on a circle, the set that shows mode collapse.
    Ring,
    /// Points spread along a diagonal segment.
    Line,
    /// Two interleaved half circles.
    Moons,
    /// Three tight clusters far apart.
    Blobs,
}

impl PointSet {
    pub const ALL: [PointSet; 4] = [
        PointSet::Ring,
        PointSet::Line,
        PointSet::Moons,
        PointSet::Blobs,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PointSet::Ring => "Ring of Gaussians",
            PointSet::Line => "Line",
            PointSet::Moons => "Two moons",
            PointSet::Blobs => "Disjoint blobs",
        }
    }

    /// How many modes (classes) the set draws from.
    pub fn modes(self) -> usize {
        match self {
            PointSet::Ring => 8,
            PointSet::Line => 1,
            PointSet::Moons => 2,
            PointSet::Blobs => 3,
        }
    }
}

/// Random stream for these sets, apart from the toy sets' and the weights'.
const POINTS_STREAM: u64 = 0x9047;

/// `samples` points of `set`, each mode getting its share, with `noise` (0..=0.5) widening
/// every mode; in a seeded random order, features in about [-1, 1].
pub fn points_2d(
    set: PointSet,
    samples: usize,
    noise: f32,
    seed: u64,
) -> Result<InMemoryDataset, DataError> {
    super::toy::check_settings(samples, noise)?;
    let mut rng = Rng::fork(seed, POINTS_STREAM);
    let spread = 1.0 + 4.0 * f64::from(noise);
    let modes = set.modes();
    let mut points: Vec<([f64; 2], u32)> = (0..samples)
        .map(|i| {
            let mode = i % modes;
            let point = match set {
                PointSet::Ring => {
                    let angle = TAU * mode as f64 / modes as f64;
                    let std = 0.05 * spread;
                    [
                        0.8 * angle.cos() + std * rng.normal(),
                        0.8 * angle.sin() + std * rng.normal(),
                    ]
                }
                PointSet::Line => {
                    let t = rng.uniform(-0.8, 0.8);
                    let std = 0.02 * spread;
                    [t + std * rng.normal(), 0.5 * t + std * rng.normal()]
                }
                PointSet::Moons => {
                    let t = rng.uniform(0.0, PI);
                    let std = 0.05 * spread;
                    // scikit-learn's make_moons, centred and scaled to the unit square.
                    let (x, y) = if mode == 0 {
                        (t.cos(), t.sin())
                    } else {
                        (1.0 - t.cos(), 0.5 - t.sin())
                    };
                    [
                        0.6 * (x - 0.5) + std * rng.normal(),
                        0.6 * (y - 0.25) + std * rng.normal(),
                    ]
                }
                PointSet::Blobs => {
                    let centre = [[-0.6, -0.5], [0.6, -0.5], [0.0, 0.6]][mode];
                    let std = 0.06 * spread;
                    [
                        centre[0] + std * rng.normal(),
                        centre[1] + std * rng.normal(),
                    ]
                }
            };
            (point, mode as u32)
        })
        .collect();
    rng.shuffle(&mut points);
    let features = points
        .iter()
        .flat_map(|(p, _)| [p[0] as f32, p[1] as f32])
        .collect();
    let labels = points.iter().map(|(_, mode)| *mode).collect();
    InMemoryDataset::new(
        set.label(),
        vec![2],
        features,
        Targets::Classes {
            labels,
            classes: modes,
        },
        (0..modes).map(|m| format!("mode {}", m + 1)).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;

    fn points(d: &InMemoryDataset) -> Vec<([f32; 2], usize)> {
        (0..d.len())
            .map(|i| {
                let f = d.sample_features(i);
                let mut class = [0];
                d.copy_classes(i, &mut class);
                ([f[0], f[1]], class[0])
            })
            .collect()
    }

    #[test]
    fn each_ring_mode_is_a_tight_cluster_on_the_circle_with_its_share_of_points() {
        let d = points_2d(PointSet::Ring, 800, 0.0, 3).unwrap();
        let all = points(&d);
        for mode in 0..8 {
            let of_mode: Vec<[f32; 2]> = all
                .iter()
                .filter(|(_, m)| *m == mode)
                .map(|(p, _)| *p)
                .collect();
            assert_eq!(of_mode.len(), 100, "mode {mode}");
            let angle = TAU as f32 * mode as f32 / 8.0;
            let (cx, cy) = (0.8 * angle.cos(), 0.8 * angle.sin());
            let far = of_mode
                .iter()
                .map(|p| (p[0] - cx).hypot(p[1] - cy))
                .fold(0.0f32, f32::max);
            assert!(far < 0.3, "mode {mode}: a point {far} from its centre");
        }
        assert_eq!(points_2d(PointSet::Ring, 800, 0.0, 3).unwrap(), d, "seeded");
    }

    #[test]
    fn every_set_stays_in_the_unit_square_and_bad_settings_are_refused() {
        for set in PointSet::ALL {
            let d = points_2d(set, 300, 0.2, 1).unwrap();
            assert_eq!(d.len(), 300);
            assert!(d.features().iter().all(|v| v.abs() < 1.2), "{set:?}");
            let classes: std::collections::BTreeSet<usize> =
                points(&d).iter().map(|(_, c)| *c).collect();
            assert_eq!(classes.len(), set.modes(), "{set:?}");
        }
        assert!(points_2d(PointSet::Line, 0, 0.0, 0).is_err());
        assert!(points_2d(PointSet::Line, 10, 0.9, 0).is_err());
    }
}
