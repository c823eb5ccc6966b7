//! A project: the graph plus everything needed to train it (dataset, split, training settings) and
//! the editor's view. Saved as JSON with a `format_version`; parsing never panics.

use serde::{Deserialize, Serialize};

use super::Graph;
use crate::data::{DatasetSpec, SplitFractions};

/// The project file format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub format_version: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub graph: Graph,
    pub dataset: DatasetSpec,
    #[serde(default)]
    pub split: SplitFractions,
    #[serde(default)]
    pub training: TrainingSettings,
    #[serde(default)]
    pub view: ViewState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingSettings {
    pub optimizer: Optimizer,
    pub learning_rate: f32,
    pub schedule: Schedule,
    /// Steps over which the learning rate rises linearly from 0 before the schedule applies.
    pub warmup_steps: usize,
    pub batch_size: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Reshuffle the training samples every epoch (seeded).
    pub shuffle: bool,
    /// L2 penalty; decoupled (applied to the weights directly) for AdamW.
    pub weight_decay: f32,
    /// L1 penalty on the weights.
    pub l1: f32,
    /// Rescale gradients whose global L2 norm exceeds this.
    pub clip_norm: Option<f32>,
    pub early_stopping: Option<EarlyStopping>,
    pub backend: BackendChoice,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        Self {
            optimizer: Optimizer::default(),
            learning_rate: 0.01,
            schedule: Schedule::Constant,
            warmup_steps: 0,
            batch_size: 32,
            epochs: 10,
            seed: 0,
            shuffle: true,
            weight_decay: 0.0,
            l1: 0.0,
            clip_norm: None,
            early_stopping: None,
            backend: BackendChoice::Auto,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Optimizer {
    Sgd {
        #[serde(default)]
        momentum: f32,
        #[serde(default)]
        nesterov: bool,
    },
    Adam {
        #[serde(default = "beta1")]
        beta1: f32,
        #[serde(default = "beta2")]
        beta2: f32,
        #[serde(default = "adam_eps")]
        epsilon: f32,
    },
    /// Adam with decoupled weight decay.
    AdamW {
        #[serde(default = "beta1")]
        beta1: f32,
        #[serde(default = "beta2")]
        beta2: f32,
        #[serde(default = "adam_eps")]
        epsilon: f32,
    },
    RmsProp {
        #[serde(default = "rms_alpha")]
        alpha: f32,
        #[serde(default = "rms_eps")]
        epsilon: f32,
    },
    Adagrad {
        #[serde(default = "adagrad_eps")]
        epsilon: f32,
    },
}

fn beta1() -> f32 {
    0.9
}
fn beta2() -> f32 {
    0.999
}
fn adam_eps() -> f32 {
    1e-8
}
fn rms_alpha() -> f32 {
    0.99
}
fn rms_eps() -> f32 {
    1e-8
}
fn adagrad_eps() -> f32 {
    1e-10
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer::Adam {
            beta1: beta1(),
            beta2: beta2(),
            epsilon: adam_eps(),
        }
    }
}

impl Optimizer {
    pub fn label(&self) -> &'static str {
        match self {
            Optimizer::Sgd { .. } => "SGD",
            Optimizer::Adam { .. } => "Adam",
            Optimizer::AdamW { .. } => "AdamW",
            Optimizer::RmsProp { .. } => "RMSProp",
            Optimizer::Adagrad { .. } => "Adagrad",
        }
    }
}

/// How the learning rate changes over training (after any warm-up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    #[default]
    Constant,
    /// Multiply by `gamma` every `every_epochs` epochs.
    Step { every_epochs: usize, gamma: f32 },
    /// Multiply by `gamma` every epoch.
    Exponential { gamma: f32 },
    /// Half a cosine from the base rate down to `min_factor` times it, over the whole run.
    Cosine {
        #[serde(default)]
        min_factor: f32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without improvement of the validation loss before training stops.
    pub patience: usize,
    /// The smallest drop in validation loss that counts as an improvement.
    #[serde(default)]
    pub min_delta: f32,
    /// On stopping, go back to the weights of the epoch with the lowest validation loss (as
    /// Keras's `restore_best_weights`).
    #[serde(default)]
    pub restore_best: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    #[default]
    Auto,
    Gpu,
    Cpu,
}

/// Where the editor's camera was; restored on load.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewState {
    pub pan: [f32; 2],
    pub zoom: f32,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            pan: [0.0, 0.0],
            zoom: 1.0,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LoadError {
    /// `path` is where in the document the error is, as `graph.nodes[3] (hidden1).layer.units`
    /// (empty for a syntax error, which its line and column place).
    #[error("line {line}, column {column}: {}{message}", path_prefix(path))]
    Invalid {
        line: usize,
        column: usize,
        path: String,
        message: String,
    },
    #[error(
        "this project was saved by a newer Netloom (format version {found}; this version reads up to {supported}). Update Netloom to open it."
    )]
    NewerVersion { found: u32, supported: u32 },
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

impl Project {
    pub fn new(name: &str, graph: Graph, dataset: DatasetSpec) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            name: name.to_string(),
            description: String::new(),
            graph,
            dataset,
            split: SplitFractions::default(),
            training: TrainingSettings::default(),
            view: ViewState::default(),
        }
    }

    /// Parses a project file's text. The version is checked first, so that a file from a newer
    /// Netloom is reported as such rather than as a list of unknown fields.
    pub fn from_json(text: &str) -> Result<Project, LoadError> {
        // Windows editors often save UTF-8 with a byte order mark, which JSON does not allow.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        #[derive(Deserialize)]
        struct VersionOnly {
            format_version: Option<u32>,
        }
        if let Ok(VersionOnly {
            format_version: Some(found),
        }) = serde_json::from_str::<VersionOnly>(text)
            && found > FORMAT_VERSION
        {
            return Err(LoadError::NewerVersion {
                found,
                supported: FORMAT_VERSION,
            });
        }
        super::load::from_json(text)
    }

    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
