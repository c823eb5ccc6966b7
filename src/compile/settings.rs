//! Checks of the training settings, in words: a learning rate that is not a positive number, a
//! batch of 0, a split that leaves nothing to train on. `netloom check`, `train` and the window
//! all report them through `check_project`, alongside the graph's own problems.

use super::check::{Location, Model, Problem, Severity};
use crate::data::{SplitFractions, split_sizes};
use crate::graph::{Layer, Optimizer, Schedule, TrainingSettings};

/// Every problem with `settings` and `split`; `samples` is the dataset's size where it is loaded.
pub fn settings_problems(
    settings: &TrainingSettings,
    split: &SplitFractions,
    samples: Option<usize>,
) -> Vec<Problem> {
    let mut found = Vec::new();
    let mut refuse = |message: String| {
        found.push(Problem {
            severity: Severity::Error,
            location: Location::Training,
            message,
            fix: None,
        })
    };
    let positive = |v: f32| v.is_finite() && v > 0.0;
    let non_negative = |v: f32| v.is_finite() && v >= 0.0;
    let fraction = |v: f32| v.is_finite() && (0.0..1.0).contains(&v);

    if !positive(settings.learning_rate) {
        refuse(format!(
            "The learning rate must be a number above 0, such as 0.01; it is {}.",
            settings.learning_rate
        ));
    }
    if settings.batch_size == 0 {
        refuse("The batch size must be at least 1.".into());
    }
    if settings.epochs == 0 {
        refuse("With 0 epochs nothing would be trained. Train for at least 1 epoch.".into());
    }
    if let Some(clip) = settings.clip_norm
        && !positive(clip)
    {
        refuse(format!(
            "The gradient clipping norm must be above 0 (or clipping turned off); it is {clip}."
        ));
    }
    if !non_negative(settings.weight_decay) {
        refuse(format!(
            "The weight decay (L2) must be 0 or more; it is {}.",
            settings.weight_decay
        ));
    }
    if !non_negative(settings.l1) {
        refuse(format!(
            "The L1 penalty must be 0 or more; it is {}.",
            settings.l1
        ));
    }
    match settings.optimizer {
        Optimizer::Sgd { momentum, nesterov } => {
            if !non_negative(momentum) {
                refuse(format!(
                    "SGD's momentum must be 0 or more; it is {momentum}."
                ));
            } else if nesterov && momentum == 0.0 {
                refuse("Nesterov momentum needs a momentum above 0. Set one, such as 0.9, or turn Nesterov off.".into());
            }
        }
        Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
        }
        | Optimizer::AdamW {
            beta1,
            beta2,
            epsilon,
        } => {
            if !fraction(beta1) || !fraction(beta2) {
                refuse(format!(
                    "Adam's betas must each be at least 0 and below 1; they are {beta1} and {beta2}."
                ));
            }
            if !non_negative(epsilon) {
                refuse(format!(
                    "Adam's epsilon must be 0 or more; it is {epsilon}."
                ));
            }
        }
        Optimizer::RmsProp { alpha, epsilon } => {
            if !non_negative(alpha) || !non_negative(epsilon) {
                refuse(format!(
                    "RMSProp's alpha and epsilon must be 0 or more; they are {alpha} and {epsilon}."
                ));
            }
        }
        Optimizer::Adagrad { epsilon } => {
            if !non_negative(epsilon) {
                refuse(format!(
                    "Adagrad's epsilon must be 0 or more; it is {epsilon}."
                ));
            }
        }
    }
    match settings.schedule {
        Schedule::Constant => {}
        Schedule::Step {
            every_epochs,
            gamma,
        } => {
            if every_epochs == 0 || !positive(gamma) {
                refuse(format!(
                    "A step schedule multiplies the rate by a factor above 0 every 1 or more epochs; it is {gamma} every {every_epochs}."
                ));
            }
        }
        Schedule::Exponential { gamma } => {
            if !positive(gamma) {
                refuse(format!(
                    "An exponential schedule multiplies the rate by a factor above 0 each epoch; it is {gamma}."
                ));
            }
        }
        Schedule::Cosine { min_factor } => {
            if !(min_factor.is_finite() && (0.0..=1.0).contains(&min_factor)) {
                refuse(format!(
                    "A cosine schedule ends at a fraction of the rate between 0 and 1; it is {min_factor}."
                ));
            }
        }
    }
    if !fraction(split.validation) || !fraction(split.test) {
        refuse(format!(
            "The validation and test shares must each be at least 0 and below 1; they are {} and {}.",
            split.validation, split.test
        ));
    }
    if let Some(stopping) = settings.early_stopping {
        if !non_negative(stopping.min_delta) {
            refuse(format!(
                "Early stopping's minimum change must be 0 or more; it is {}.",
                stopping.min_delta
            ));
        }
        if split.validation <= 0.0 {
            refuse("Early stopping watches the validation loss, but no samples are kept for validation. Give validation a share, or turn early stopping off.".into());
        }
    }
    if let Some(samples) = samples {
        let sizes = split_sizes(samples, split);
        if sizes.train == 0 {
            refuse(format!(
                "No samples are left to train on: the dataset has {samples}, and validation and test take {} and {}. Give them smaller shares.",
                sizes.validation, sizes.test
            ));
        } else if settings.early_stopping.is_some() && sizes.validation == 0 {
            refuse(format!(
                "Early stopping watches the validation loss, but {:.0}% of {samples} samples rounds to none. Give validation a larger share.",
                split.validation * 100.0
            ));
        }
    }
    found
}

/// BatchNorm normalises each channel over the batch. A training batch that gives it one value
/// per channel (one flat sample) has no variance to divide by, and PyTorch refuses it; so do we,
/// for a batch size of 1 and for a last batch of each epoch that holds one sample.
pub fn batch_norm_problems(
    model: &Model,
    batch_size: usize,
    train_samples: Option<usize>,
) -> Vec<Problem> {
    let last_rows = train_samples.map(|n| match n % batch_size.max(1) {
        0 => batch_size.min(n),
        rest => rest,
    });
    let why = if batch_size == 1 {
        "a batch of 1 sample".to_string()
    } else if let (Some(1), Some(n)) = (last_rows, train_samples) {
        format!("the last batch of each epoch ({n} training samples in batches of {batch_size})")
    } else {
        return Vec::new();
    };
    model
        .graph
        .nodes
        .iter()
        .zip(&model.nodes)
        .filter(|(node, info)| {
            let per_sample_per_channel = match info.inputs.first() {
                Some(Some((_, shape))) => shape.iter().skip(1).product::<usize>(),
                _ => return false,
            };
            matches!(node.layer, Layer::BatchNorm { .. })
                && info.feeds_loss
                && per_sample_per_channel == 1
        })
        .map(|(node, _)| Problem {
            severity: Severity::Error,
            location: Location::Node(node.id),
            message: format!(
                "{} normalises each channel over the samples of a batch, but {why} gives it one value per channel, so there is nothing to normalise (PyTorch refuses this too). Use a batch size of at least 2 that leaves more than 1 sample for the last batch.",
                node.name
            ),
            fix: None,
        })
        .collect()
}
