//! Train / validation / test splits: a seeded shuffle of sample indices, cut into three parts.

use serde::{Deserialize, Serialize};

use super::Dataset;
use crate::rng::Rng;

/// Random stream for splits, apart from the toy-data and init streams of the same seed.
const SPLIT_STREAM: u64 = 0x5911;

/// The share of samples held out; training gets the rest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitFractions {
    pub validation: f32,
    pub test: f32,
}

impl Default for SplitFractions {
    fn default() -> Self {
        Self {
            validation: 0.1,
            test: 0.1,
        }
    }
}

/// Sample indices of each part, each part in ascending order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Splits {
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
}

/// How many of `len` samples each part gets, as `split` cuts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitSizes {
    pub train: usize,
    pub validation: usize,
    pub test: usize,
}

pub fn split_sizes(len: usize, fractions: &SplitFractions) -> SplitSizes {
    let size = |fraction: f32| {
        // `clamp` keeps NaN, which `as usize` then turns into 0.
        let share = f64::from(fraction).clamp(0.0, 1.0);
        ((len as f64 * share).round() as usize).min(len)
    };
    let validation = size(fractions.validation);
    let test = size(fractions.test).min(len - validation);
    SplitSizes {
        train: len - validation - test,
        validation,
        test,
    }
}

/// Every index in `0..len` lands in exactly one part. Part sizes are the fractions of `len`,
/// rounded; fractions outside [0, 1] are clamped, and when they add up to more than the whole, the
/// test part gives way first.
pub fn split(len: usize, fractions: &SplitFractions, seed: u64) -> Splits {
    let SplitSizes {
        validation, test, ..
    } = split_sizes(len, fractions);
    let order = Rng::fork(seed, SPLIT_STREAM).permutation(len);
    let sorted = |part: &[usize]| {
        let mut part = part.to_vec();
        part.sort_unstable();
        part
    };
    Splits {
        validation: sorted(&order[..validation]),
        test: sorted(&order[validation..validation + test]),
        train: sorted(&order[validation + test..]),
    }
}

/// The parts cut by position: training first, then validation, then test, as for windows of
/// one text (nothing of what validation reads was trained on).
pub fn split_in_order(len: usize, fractions: &SplitFractions) -> Splits {
    let SplitSizes {
        train, validation, ..
    } = split_sizes(len, fractions);
    Splits {
        train: (0..train).collect(),
        validation: (train..train + validation).collect(),
        test: (train + validation..len).collect(),
    }
}

/// The split a dataset asks for: shuffled with `seed`, or by position for an ordered one.
pub fn split_for(dataset: &dyn Dataset, fractions: &SplitFractions, seed: u64) -> Splits {
    if dataset.ordered() {
        split_in_order(dataset.len(), fractions)
    } else {
        split(dataset.len(), fractions, seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fractions(validation: f32, test: f32) -> SplitFractions {
        SplitFractions { validation, test }
    }

    fn covers_once(s: &Splits, len: usize) {
        let mut all: Vec<usize> = [&s.train, &s.validation, &s.test]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..len).collect::<Vec<_>>());
    }

    #[test]
    fn every_index_lands_in_exactly_one_part() {
        for len in [0, 1, 2, 7, 10, 1797] {
            for f in [
                fractions(0.1, 0.1),
                fractions(0.0, 0.2),
                fractions(0.5, 0.5),
                fractions(0.9, 0.9),
            ] {
                covers_once(&split(len, &f, 3), len);
            }
        }
    }

    #[test]
    fn sizes_are_rounded_fractions() {
        let s = split(1797, &SplitFractions::default(), 1);
        assert_eq!(
            (s.train.len(), s.validation.len(), s.test.len()),
            (1437, 180, 180)
        );
        let s = split(10, &fractions(0.0, 0.25), 1);
        assert!(s.validation.is_empty());
        assert_eq!((s.train.len(), s.test.len()), (7, 3));
        let s = split(10, &fractions(0.8, 0.8), 1);
        assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (0, 8, 2));
        let s = split(10, &fractions(f32::NAN, -1.0), 1);
        assert_eq!(s.train.len(), 10);
    }

    #[test]
    fn same_seed_same_split() {
        let f = SplitFractions::default();
        assert_eq!(split(500, &f, 7), split(500, &f, 7));
        assert_ne!(split(500, &f, 7), split(500, &f, 8));
    }

    #[test]
    fn fractions_read_from_json_with_defaults() {
        let f: SplitFractions = serde_json::from_str(r#"{"test":0.2}"#).unwrap();
        assert_eq!(f, fractions(0.1, 0.2));
        assert!(serde_json::from_str::<SplitFractions>(r#"{"train":0.8}"#).is_err());
    }
}
