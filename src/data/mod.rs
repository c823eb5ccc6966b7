//! Datasets: what the trainer reads samples from, and the choices a project file stores.
//!
//! Every set, built-in or imported, ends up as an [`InMemoryDataset`]: features as one row-major
//! `f32` buffer (images NCHW without the N), targets as class indices or regression values. Loading
//! is all-or-nothing: an error means no dataset, never a half-filled one.

mod builtin;
mod csv;
mod error;
mod idx;
mod points;
mod series;
mod split;
mod tasks;
mod text;
mod toy;

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::graph::ValueKind;

pub use builtin::{digits, mnist_5k};
pub use csv::{CsvOptions, CsvTask, load_csv, parse_column, parse_csv, read_csv_text};
pub use error::DataError;
pub use idx::{load_idx, parse_idx};
pub use points::{PointSet, points_2d};
pub use series::{series_windows, sine_waves};
pub use split::{
    SplitFractions, SplitSizes, Splits, split, split_for, split_in_order, split_sizes,
};
pub use tasks::{MAX_QUESTION, SequenceTask, sequence_task};
pub use text::{MAX_LENGTH as MAX_TEXT_LENGTH, Vocabulary, load_text, shakespeare, text_windows};
pub use toy::{RegressionSet, ToySet, regression_2d, toy_2d};

/// The label of a time step whose class is not asked for (a synthetic task's question, before
/// its answer): no loss, no accuracy. Stored as `u32::MAX` in `Targets::Classes`.
pub const NO_TARGET: usize = usize::MAX;
const NO_LABEL: u32 = u32::MAX;

/// A stored label as the class it stands for.
fn label_class(label: u32) -> usize {
    if label == NO_LABEL {
        NO_TARGET
    } else {
        label as usize
    }
}

/// What a dataset asks of a network's output.
#[derive(Clone, Debug, PartialEq)]
pub enum Task {
    Classification { classes: usize },
    Regression { outputs: usize },
}

impl Task {
    /// Length of the buffer `Dataset::copy_target` fills: 1 for classification (the class index).
    pub fn target_len(&self) -> usize {
        match self {
            Task::Classification { .. } => 1,
            Task::Regression { outputs } => *outputs,
        }
    }
}

pub trait Dataset: Send + Sync {
    fn name(&self) -> &str;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Shape of one sample's features, e.g. [2] for a 2D set or [1, 28, 28] for an image (NCHW without N).
    fn feature_shape(&self) -> &[usize];
    /// Number of `f32`s in one sample's features.
    fn feature_len(&self) -> usize {
        self.feature_shape().iter().product()
    }
    fn task(&self) -> Task;
    /// Copies sample `index`'s features (row-major, length = product of feature_shape) into `out`.
    fn copy_features(&self, index: usize, out: &mut [f32]);
    /// Class index of sample `index` (classification only; 0 for regression).
    fn class(&self, index: usize) -> usize;
    /// Regression targets of sample `index` into `out` (length = outputs). For classification, writes
    /// the class index as f32 into `out` of length 1 (so a binary set can train with binary
    /// cross-entropy on a [1] target).
    fn copy_target(&self, index: usize, out: &mut [f32]);
    /// Human-readable class names (e.g. "0".."9"), empty for regression.
    fn class_names(&self) -> &[String];
    /// What the features are: float features, a sequence over time, or token ids.
    fn values(&self) -> ValueKind {
        ValueKind::Features
    }
    /// Class labels per sample: one per time step of a sequence task, else 1.
    fn target_positions(&self) -> usize {
        1
    }
    /// The class of each of sample `index`'s `target_positions` into `out`.
    fn copy_classes(&self, index: usize, out: &mut [usize]) {
        out[0] = self.class(index);
    }
    /// Whether the samples are windows of one stream in order (a text), to be split by
    /// position rather than shuffled, so validation reads text training never saw.
    fn ordered(&self) -> bool {
        false
    }
}

/// The targets of an [`InMemoryDataset`], one entry (or `width` values) per sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class index per sample, each below `classes`.
    Classes { labels: Vec<u32>, classes: usize },
    /// `width` values per sample, row-major.
    Values { values: Vec<f32>, width: usize },
}

/// An in-memory dataset; every built-in and imported set is one of these.
#[derive(Clone, Debug, PartialEq)]
pub struct InMemoryDataset {
    name: String,
    feature_shape: Vec<usize>,
    features: Vec<f32>,
    targets: Targets,
    class_names: Vec<String>,
    values: ValueKind,
    /// Class labels per sample (one per time step of a sequence task).
    positions: usize,
    ordered: bool,
    // Cached so that the step loop does not recompute them per sample.
    feature_len: usize,
    len: usize,
}

impl InMemoryDataset {
    /// Checks that the parts fit together: `features` holds a whole number of samples of
    /// `feature_shape`, there is one target per sample, labels are below the class count, and there
    /// is one class name per class (none for regression).
    pub fn new(
        name: impl Into<String>,
        feature_shape: Vec<usize>,
        features: Vec<f32>,
        targets: Targets,
        class_names: Vec<String>,
    ) -> Result<Self, DataError> {
        Self::build(
            name.into(),
            feature_shape,
            features,
            ValueKind::Features,
            targets,
            class_names,
        )
    }

    /// A set of sequences: `feature_shape` starts with the time axis, and class targets give a
    /// class per time step. Token ids must be whole numbers below the vocabulary; the first
    /// that is not is named with its sample and time step.
    pub fn sequences(
        name: impl Into<String>,
        feature_shape: Vec<usize>,
        features: Vec<f32>,
        values: ValueKind,
        targets: Targets,
        class_names: Vec<String>,
    ) -> Result<Self, DataError> {
        let dataset = Self::build(
            name.into(),
            feature_shape,
            features,
            values,
            targets,
            class_names,
        )?;
        if let ValueKind::Tokens { vocabulary } = values {
            let steps = dataset.feature_len;
            let bad = dataset
                .features
                .iter()
                .position(|&t| !(t >= 0.0 && t < vocabulary as f32 && t.fract() == 0.0));
            if let Some(at) = bad {
                return Err(DataError::Inconsistent(format!(
                    "sample {}, time step {}: token {} is not a whole number below the vocabulary size {vocabulary}",
                    at / steps + 1,
                    at % steps + 1,
                    dataset.features[at]
                )));
            }
        }
        Ok(dataset)
    }

    /// Marks the samples as windows of one stream, in order: see [`Dataset::ordered`].
    pub fn in_order(mut self) -> Self {
        self.ordered = true;
        self
    }

    fn build(
        name: String,
        feature_shape: Vec<usize>,
        features: Vec<f32>,
        values: ValueKind,
        targets: Targets,
        class_names: Vec<String>,
    ) -> Result<Self, DataError> {
        let bad = |message: String| Err(DataError::Inconsistent(message));
        if values.has_time()
            && feature_shape.len() != 1 + usize::from(values == ValueKind::Sequence)
        {
            return bad(format!(
                "a sequence's samples are shaped [time] (token ids) or [time, features], not {feature_shape:?}"
            ));
        }
        if feature_shape.is_empty() || feature_shape.contains(&0) {
            return bad(format!("feature shape {feature_shape:?} has no elements"));
        }
        let feature_len: usize = feature_shape.iter().product();
        if !features.len().is_multiple_of(feature_len) {
            return bad(format!(
                "{} feature values are not a whole number of samples of shape {feature_shape:?}",
                features.len()
            ));
        }
        let len = features.len() / feature_len;
        // A sequence task has a class per sample or one per time step.
        let positions = match &targets {
            Targets::Classes { labels, .. } if values.has_time() && labels.len() != len => {
                feature_shape[0]
            }
            _ => 1,
        };
        match &targets {
            Targets::Classes { labels, classes } => {
                if labels.len() != len * positions {
                    return bad(format!(
                        "{len} samples need {len} labels (or one per time step, {}), got {}",
                        len * feature_shape[0],
                        labels.len()
                    ));
                }
                if *classes == 0 {
                    return bad("a classification set needs at least one class".into());
                }
                let out_of_range = |&&l: &&u32| l != NO_LABEL && l as usize >= *classes;
                if let Some(label) = labels.iter().find(out_of_range) {
                    return bad(format!(
                        "label {label} is not below the class count {classes}"
                    ));
                }
                if class_names.len() != *classes {
                    return bad(format!(
                        "{classes} classes but {} class names",
                        class_names.len()
                    ));
                }
            }
            Targets::Values { values, width } => {
                if *width == 0 {
                    return bad("regression targets need at least one value per sample".into());
                }
                if values.len() != len * width {
                    return bad(format!(
                        "{len} samples of {width} target value(s) need {} values, got {}",
                        len * width,
                        values.len()
                    ));
                }
                if !class_names.is_empty() {
                    return bad("a regression set has no class names".into());
                }
            }
        }
        Ok(Self {
            name,
            feature_shape,
            features,
            targets,
            class_names,
            values,
            positions,
            ordered: false,
            feature_len,
            len,
        })
    }

    /// All features, sample after sample.
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// One sample's features, borrowed (no copy).
    pub fn sample_features(&self, index: usize) -> &[f32] {
        let start = index * self.feature_len;
        &self.features[start..start + self.feature_len]
    }
}

impl Dataset for InMemoryDataset {
    fn name(&self) -> &str {
        &self.name
    }

    fn len(&self) -> usize {
        self.len
    }

    fn feature_shape(&self) -> &[usize] {
        &self.feature_shape
    }

    fn feature_len(&self) -> usize {
        self.feature_len
    }

    fn task(&self) -> Task {
        match &self.targets {
            Targets::Classes { classes, .. } => Task::Classification { classes: *classes },
            Targets::Values { width, .. } => Task::Regression { outputs: *width },
        }
    }

    fn copy_features(&self, index: usize, out: &mut [f32]) {
        out.copy_from_slice(self.sample_features(index));
    }

    fn class(&self, index: usize) -> usize {
        match &self.targets {
            Targets::Classes { labels, .. } => label_class(labels[index * self.positions]),
            Targets::Values { .. } => 0,
        }
    }

    fn values(&self) -> ValueKind {
        self.values
    }

    fn target_positions(&self) -> usize {
        self.positions
    }

    fn copy_classes(&self, index: usize, out: &mut [usize]) {
        match &self.targets {
            Targets::Classes { labels, .. } => {
                let labels = &labels[index * self.positions..][..self.positions];
                for (o, &l) in out.iter_mut().zip(labels) {
                    *o = label_class(l);
                }
            }
            Targets::Values { .. } => out.fill(0),
        }
    }

    fn ordered(&self) -> bool {
        self.ordered
    }

    fn copy_target(&self, index: usize, out: &mut [f32]) {
        match &self.targets {
            Targets::Classes { labels, .. } => out.copy_from_slice(&[labels[index] as f32]),
            Targets::Values { values, width } => {
                out.copy_from_slice(&values[index * width..(index + 1) * width]);
            }
        }
    }

    fn class_names(&self) -> &[String] {
        &self.class_names
    }
}

/// The dataset a project uses, as stored in the project file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DatasetSpec {
    /// TensorFlow-Playground-style 2D classification sets.
    Toy {
        set: ToySet,
        #[serde(default = "default_toy_samples")]
        samples: usize,
        /// 0..=0.5, like the Playground's 0..50% slider.
        #[serde(default)]
        noise: f32,
        #[serde(default)]
        seed: u64,
    },
    /// 2D regression sets (the Playground's "plane" and "multi gaussian").
    Regression2d {
        set: RegressionSet,
        #[serde(default = "default_regression_samples")]
        samples: usize,
        #[serde(default)]
        noise: f32,
        #[serde(default)]
        seed: u64,
    },
    /// GAN Lab's 2D distributions (a ring of Gaussians, a line, two moons, blobs); each
    /// point's class is the mode it came from.
    Points2d {
        set: PointSet,
        #[serde(default = "default_points_samples")]
        samples: usize,
        #[serde(default)]
        noise: f32,
        #[serde(default)]
        seed: u64,
    },
    /// 8x8 handwritten digits (1,797 samples, features [1, 8, 8] scaled to [0, 1]).
    Digits,
    /// MNIST, 5,000 samples (500 per class), features [1, 28, 28] scaled to [0, 1].
    Mnist5k,
    /// A CSV file chosen by the user; a relative path is relative to the project file's folder.
    Csv {
        path: String,
        /// `None` = the last column.
        #[serde(default)]
        target_column: Option<String>,
        #[serde(default)]
        task: CsvTask,
        #[serde(default)]
        standardize: bool,
    },
    /// One column of a CSV file (optionally gzipped) read down its rows as a series, in windows
    /// of `window` steps with the next value as each step's target; relative paths as for CSV.
    CsvSeries {
        path: String,
        /// `None` = the last column.
        #[serde(default)]
        column: Option<String>,
        #[serde(default = "default_series_length")]
        window: usize,
        /// Shift and scale the series to mean 0, standard deviation 1.
        #[serde(default = "standardized")]
        standardize: bool,
    },
    /// MNIST-format IDX files (images idx3 uint8, labels idx1 uint8), optionally gzipped; relative
    /// paths as for CSV.
    Idx { images: String, labels: String },
    /// Characters of a UTF-8 text file, in windows of `length` with the next character as each
    /// one's target; relative paths as for CSV.
    Text {
        path: String,
        #[serde(default = "default_text_length")]
        length: usize,
    },
    /// Six plays of Shakespeare (842 KB, 73 characters), as `Text`.
    Shakespeare {
        #[serde(default = "default_text_length")]
        length: usize,
    },
    /// Noisy sine waves (or sums of several) to forecast a step ahead.
    SineWaves {
        #[serde(default = "default_series_samples")]
        samples: usize,
        #[serde(default = "default_series_length")]
        length: usize,
        #[serde(default = "one_wave")]
        waves: usize,
        #[serde(default)]
        noise: f32,
        #[serde(default)]
        seed: u64,
    },
    /// A synthetic sequence task: a question of `length` digits (each below `digits`), then its
    /// answer; see `SequenceTask`.
    SequenceTask {
        task: SequenceTask,
        #[serde(default = "default_task_samples")]
        samples: usize,
        #[serde(default = "default_task_length")]
        length: usize,
        #[serde(default = "default_task_digits")]
        digits: usize,
        #[serde(default)]
        seed: u64,
    },
}

fn standardized() -> bool {
    true
}

fn default_task_samples() -> usize {
    10_000
}

fn default_task_length() -> usize {
    6
}

fn default_task_digits() -> usize {
    3
}

fn default_text_length() -> usize {
    64
}

fn default_series_samples() -> usize {
    1000
}

fn default_series_length() -> usize {
    40
}

fn one_wave() -> usize {
    1
}

// The Playground's own defaults (500 points to classify, 1200 to regress).
fn default_toy_samples() -> usize {
    500
}

fn default_regression_samples() -> usize {
    1200
}

/// Enough points that each of a ring's eight modes is seen clearly.
pub fn default_points_samples() -> usize {
    1000
}

impl Default for DatasetSpec {
    fn default() -> Self {
        DatasetSpec::Toy {
            set: ToySet::Circle,
            samples: default_toy_samples(),
            noise: 0.0,
            seed: 0,
        }
    }
}

/// Makes or reads the dataset `spec` describes; relative paths are taken from `base_dir` (the
/// project file's folder).
pub fn load(spec: &DatasetSpec, base_dir: &Path) -> Result<Box<dyn Dataset>, DataError> {
    Ok(Box::new(load_in_memory(spec, base_dir)?))
}

/// As [`load`], keeping the concrete type (for views that want all features at once).
pub fn load_in_memory(spec: &DatasetSpec, base_dir: &Path) -> Result<InMemoryDataset, DataError> {
    match spec {
        DatasetSpec::Toy {
            set,
            samples,
            noise,
            seed,
        } => toy_2d(*set, *samples, *noise, *seed),
        DatasetSpec::Regression2d {
            set,
            samples,
            noise,
            seed,
        } => regression_2d(*set, *samples, *noise, *seed),
        DatasetSpec::Points2d {
            set,
            samples,
            noise,
            seed,
        } => points_2d(*set, *samples, *noise, *seed),
        DatasetSpec::Digits => digits(),
        DatasetSpec::Mnist5k => mnist_5k(),
        DatasetSpec::Csv {
            path,
            target_column,
            task,
            standardize,
        } => {
            let path = resolve("CSV file", base_dir, path)?;
            let options = CsvOptions {
                name: file_stem(&path),
                target_column: target_column.clone(),
                task: *task,
                standardize: *standardize,
            };
            load_csv(&path, &options)
        }
        DatasetSpec::CsvSeries {
            path,
            column,
            window,
            standardize,
        } => {
            let path = resolve("CSV file", base_dir, path)?;
            let stem = file_stem(&path);
            read_csv_text(&path, |text| {
                let (name, values) = parse_column(text, column.as_deref())?;
                series_windows(format!("{stem}: {name}"), &values, *window, *standardize)
            })
        }
        DatasetSpec::Idx { images, labels } => {
            let images = resolve("IDX images file", base_dir, images)?;
            let labels = resolve("IDX labels file", base_dir, labels)?;
            load_idx(&images, &labels)
        }
        DatasetSpec::Text { path, length } => {
            let path = resolve("text file", base_dir, path)?;
            load_text(&path, *length)
        }
        DatasetSpec::Shakespeare { length } => shakespeare(*length),
        DatasetSpec::SineWaves {
            samples,
            length,
            waves,
            noise,
            seed,
        } => sine_waves(*samples, *length, *waves, *noise, *seed),
        DatasetSpec::SequenceTask {
            task,
            samples,
            length,
            digits,
            seed,
        } => sequence_task(*task, *samples, *length, *digits, *seed),
    }
}

fn resolve(setting: &'static str, base_dir: &Path, path: &str) -> Result<PathBuf, DataError> {
    if path.trim().is_empty() {
        return Err(DataError::InvalidSetting {
            setting,
            problem: "no file has been chosen".into(),
        });
    }
    // `join` keeps an absolute path as it is.
    Ok(base_dir.join(path))
}

fn file_stem(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = name.unwrap_or_else(|| path.display().to_string());
    // "train.csv.gz" reads better as "train".
    let stem = name.split('.').next().unwrap_or_default();
    if stem.is_empty() {
        name
    } else {
        stem.to_string()
    }
}

/// Reads a whole file, telling "not there" apart from "there but unreadable".
fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|cause| {
        if cause.kind() == std::io::ErrorKind::NotFound {
            DataError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            DataError::Unreadable {
                path: path.to_path_buf(),
                cause,
            }
        }
    })
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Far above full MNIST (55 MB); stops a corrupt or hostile file from filling memory.
const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// Decompresses gzip data (recognised by its magic bytes); anything else is returned as it is.
fn gunzip_if_needed(bytes: &[u8]) -> Result<Cow<'_, [u8]>, DataError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::Gzip {
            reason: e.to_string(),
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(DataError::Gzip {
            reason: format!("it unpacks to more than {MAX_DECOMPRESSED_BYTES} bytes"),
        });
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> InMemoryDataset {
        InMemoryDataset::new(
            "tiny",
            vec![2],
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            Targets::Classes {
                labels: vec![0, 1, 1],
                classes: 2,
            },
            vec!["0".into(), "1".into()],
        )
        .unwrap()
    }

    #[test]
    fn in_memory_copies_samples() {
        let d = tiny();
        assert_eq!(d.len(), 3);
        assert_eq!(d.task(), Task::Classification { classes: 2 });
        let mut f = [0.0; 2];
        d.copy_features(1, &mut f);
        assert_eq!(f, [3.0, 4.0]);
        let mut t = [0.0; 1];
        d.copy_target(2, &mut t);
        assert_eq!(t, [1.0]);
        assert_eq!(d.class(0), 0);
    }

    #[test]
    fn in_memory_rejects_parts_that_do_not_fit() {
        let labels = Targets::Classes {
            labels: vec![0, 1],
            classes: 2,
        };
        let names = vec!["0".to_string(), "1".to_string()];
        assert!(
            InMemoryDataset::new("x", vec![2], vec![0.0; 5], labels.clone(), names.clone())
                .is_err()
        );
        assert!(
            InMemoryDataset::new("x", vec![2], vec![0.0; 6], labels.clone(), names.clone())
                .is_err()
        );
        let high = Targets::Classes {
            labels: vec![0, 2],
            classes: 2,
        };
        assert!(InMemoryDataset::new("x", vec![2], vec![0.0; 4], high, names).is_err());
        let values = Targets::Values {
            values: vec![0.5; 4],
            width: 2,
        };
        let d = InMemoryDataset::new("x", vec![1], vec![0.0; 2], values, vec![]).unwrap();
        assert_eq!(d.task(), Task::Regression { outputs: 2 });
        let mut t = [0.0; 2];
        d.copy_target(1, &mut t);
        assert_eq!(t, [0.5, 0.5]);
    }

    #[test]
    fn spec_round_trips_through_json() {
        let specs = [
            DatasetSpec::default(),
            DatasetSpec::Regression2d {
                set: RegressionSet::MultiGaussian,
                samples: 300,
                noise: 0.1,
                seed: 9,
            },
            DatasetSpec::Digits,
            DatasetSpec::Mnist5k,
            DatasetSpec::Csv {
                path: "data/iris.csv".into(),
                target_column: Some("species".into()),
                task: CsvTask::Regression,
                standardize: true,
            },
            DatasetSpec::Idx {
                images: "a".into(),
                labels: "b".into(),
            },
        ];
        for spec in specs {
            let json = serde_json::to_string(&spec).unwrap();
            let back: DatasetSpec = serde_json::from_str(&json).unwrap();
            assert_eq!(back, spec, "{json}");
        }
    }

    #[test]
    fn spec_json_uses_defaults_and_rejects_unknown_fields() {
        let spec: DatasetSpec = serde_json::from_str(r#"{"kind":"toy","set":"spiral"}"#).unwrap();
        assert_eq!(
            spec,
            DatasetSpec::Toy {
                set: ToySet::Spiral,
                samples: 500,
                noise: 0.0,
                seed: 0
            }
        );
        let spec: DatasetSpec = serde_json::from_str(r#"{"kind":"csv","path":"x.csv"}"#).unwrap();
        assert_eq!(
            spec,
            DatasetSpec::Csv {
                path: "x.csv".into(),
                target_column: None,
                task: CsvTask::Classification,
                standardize: false
            }
        );
        let digits: DatasetSpec = serde_json::from_str(r#"{"kind":"digits"}"#).unwrap();
        assert_eq!(digits, DatasetSpec::Digits);
        assert!(
            serde_json::from_str::<DatasetSpec>(r#"{"kind":"toy","set":"xor","nois":0.1}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<DatasetSpec>(r#"{"kind":"moons"}"#).is_err());
    }

    #[test]
    fn load_resolves_relative_paths_and_names_missing_files() {
        let dir = std::env::temp_dir().join(format!("netloom-data-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("points.csv"), "x,y,label\n1,2,a\n3,4,b\n").unwrap();
        let spec = DatasetSpec::Csv {
            path: "points.csv".into(),
            target_column: None,
            task: CsvTask::Classification,
            standardize: false,
        };
        let d = load(&spec, &dir).unwrap();
        assert_eq!(d.name(), "points");
        assert_eq!(d.len(), 2);
        assert_eq!(d.class_names(), ["a", "b"]);

        let missing = DatasetSpec::Csv {
            path: "nope.csv".into(),
            target_column: None,
            task: CsvTask::Classification,
            standardize: false,
        };
        let err = load(&missing, &dir).err().unwrap();
        assert!(matches!(err, DataError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("nope.csv"), "{err}");

        std::fs::write(dir.join("broken.csv"), "1,2,3\n4,5\n").unwrap();
        let broken = DatasetSpec::Csv {
            path: "broken.csv".into(),
            target_column: None,
            task: CsvTask::Classification,
            standardize: false,
        };
        let err = load(&broken, &dir).err().unwrap();
        assert!(
            err.to_string()
                .contains("broken.csv: line 2: expected 3 values, found 2"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
