//! Signs of health of each node while it trains, read from the watched tensors' statistics:
//! how strongly it fires (for a colour and a sparkline on the canvas) and, in words, what looks
//! wrong: dead or silent ReLUs, saturated sigmoids and tanhs, vanishing or exploding gradients.

use std::collections::HashMap;

use super::history::History;
use crate::engine::{HISTOGRAM_BINS, TensorStats};
use crate::graph::{Activation, Graph, Layer, NodeId};
use crate::train::TensorKind;

/// Points of a node's sparkline.
const TREND: usize = 40;

/// The share of a ReLU's units that never fire over a batch from which it is called dead.
const DEAD_UNITS: f32 = 0.5;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeHealth {
    /// Root mean square of its latest output.
    pub magnitude: f32,
    /// The same over the latest snapshots, oldest first.
    pub trend: Vec<f32>,
    /// Root mean square of the gradient flowing back into its output, where one does.
    pub gradient: Option<f32>,
    /// What looks wrong, in plain words.
    pub warnings: Vec<String>,
}

fn rms(s: &TensorStats) -> f32 {
    (s.mean * s.mean + s.std * s.std).sqrt()
}

/// The activation function a node ends with, if any.
fn activation_of(layer: &Layer) -> Option<Activation> {
    match layer {
        Layer::Dense { activation, .. }
        | Layer::Conv2d { activation, .. }
        | Layer::ConvTranspose2d { activation, .. } => Some(*activation),
        Layer::Activation { function } => Some(*function),
        _ => None,
    }
}

/// The fraction of values in the histogram bins whose range (low, high) reaches into the
/// region `at_edge` describes.
fn fraction_where(s: &TensorStats, at_edge: impl Fn(f32, f32) -> bool) -> f32 {
    let total: u32 = s.histogram.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let width = (s.max - s.min) / HISTOGRAM_BINS as f32;
    let inside: u32 = s
        .histogram
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let low = s.min + *i as f32 * width;
            at_edge(low, low + width)
        })
        .map(|(_, &n)| n)
        .sum();
    inside as f32 / total as f32
}

fn activation_warnings(activation: Activation, s: &TensorStats) -> Option<String> {
    match activation {
        Activation::Relu if s.silent_fraction >= DEAD_UNITS => Some(format!(
            "Dead ReLUs: {:.0}% of its units gave zero for every sample of the batch, so no gradient reaches their weights and they stop learning. A lower learning rate, LeakyReLU or a different initialisation can help.",
            s.silent_fraction * 100.0
        )),
        Activation::Relu if s.zero_fraction >= 0.9 => Some(format!(
            "Mostly silent: {:.0}% of its outputs are zero, so little learning passes through it (dying ReLUs). A lower learning rate or LeakyReLU can help.",
            s.zero_fraction * 100.0
        )),
        Activation::Tanh => {
            let saturated = fraction_where(s, |low, high| low < -0.97 || high > 0.97);
            (saturated >= 0.5).then(|| format!(
                "Saturated: {:.0}% of its outputs sit near ±1, where tanh's slope is almost zero. Smaller inputs or weights (or batch normalisation before it) help.",
                saturated * 100.0
            ))
        }
        Activation::Sigmoid => {
            let saturated = fraction_where(s, |low, high| low < 0.03 || high > 0.97);
            (saturated >= 0.5).then(|| format!(
                "Saturated: {:.0}% of its outputs sit near 0 or 1, where the sigmoid's slope is almost zero. Smaller inputs or weights help.",
                saturated * 100.0
            ))
        }
        _ => None,
    }
}

fn gradient_warning(weight: &TensorStats, gradient: &TensorStats) -> Option<String> {
    if gradient.non_finite_fraction > 0.0 {
        return Some("Its gradient holds NaN or infinite values.".into());
    }
    let ratio = gradient.l2 / weight.l2.max(1e-12);
    if gradient.l2 > 1e3 || ratio > 10.0 {
        Some(format!(
            "Exploding gradient: norm {:.1e}, {ratio:.0} times its weights'. Lower the learning rate, clip gradients or normalise.",
            gradient.l2
        ))
    } else if ratio < 1e-7 {
        Some(format!(
            "Vanishing gradient: norm {:.1e}, so its weights barely change. Try ReLU-like activations, normalisation or skip connections.",
            gradient.l2
        ))
    } else {
        None
    }
}

/// The health of every node the run watches.
pub fn assess(history: &History, graph: &Graph) -> HashMap<NodeId, NodeHealth> {
    let mut health: HashMap<NodeId, NodeHealth> = HashMap::new();
    for (watched, series) in history.of_kind(TensorKind::Activation) {
        let Some((_, latest)) = series.last() else {
            continue;
        };
        let entry = health.entry(watched.node).or_default();
        entry.magnitude = rms(latest);
        entry.trend = series[series.len().saturating_sub(TREND)..]
            .iter()
            .map(|(_, s)| rms(s))
            .collect();
        if let Some(warning) = graph
            .node(watched.node)
            .and_then(|n| activation_of(&n.layer))
            .and_then(|a| activation_warnings(a, latest))
        {
            entry.warnings.push(warning);
        }
    }
    for (watched, series) in history.of_kind(TensorKind::OutputGradient) {
        if let Some((_, latest)) = series.last() {
            health.entry(watched.node).or_default().gradient = Some(rms(latest));
        }
    }
    for node in &graph.nodes {
        let (Some(weight), Some(gradient)) = (
            history.latest(node.id, TensorKind::Weight),
            history.latest(node.id, TensorKind::Gradient),
        ) else {
            continue;
        };
        if let Some(warning) = gradient_warning(weight, gradient) {
            health.entry(node.id).or_default().warnings.push(warning);
        }
    }
    health
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statistics of rows of `width` units.
    fn stats_of_rows(values: &[f32], width: usize) -> TensorStats {
        let mut words = Vec::new();
        crate::engine::statistics_words(values, width, &mut words);
        TensorStats::from_words(values.len(), &words)
    }

    fn stats(values: &[f32]) -> TensorStats {
        stats_of_rows(values, values.len())
    }

    #[test]
    fn silent_relus_and_saturated_tanhs_are_named() {
        let mostly_zero: Vec<f32> = (0..100).map(|i| if i < 95 { 0.0 } else { 1.0 }).collect();
        // 20 samples of 5 units, in which every unit fires for the last sample.
        let warning =
            activation_warnings(Activation::Relu, &stats_of_rows(&mostly_zero, 5)).unwrap();
        assert!(warning.contains("95% of its outputs are zero"), "{warning}");
        // Units 0 to 5 never fire; the other four fire for every sample.
        let dead: Vec<f32> = (0..100).map(|i| f32::from(i % 10 >= 6)).collect();
        let warning = activation_warnings(Activation::Relu, &stats_of_rows(&dead, 10)).unwrap();
        assert!(
            warning.starts_with("Dead ReLUs: 60% of its units"),
            "{warning}"
        );
        let lively: Vec<f32> = (0..100).map(|i| i as f32 / 100.0).collect();
        assert_eq!(activation_warnings(Activation::Relu, &stats(&lively)), None);

        let pinned: Vec<f32> = (0..100)
            .map(|i| {
                if i % 10 == 0 {
                    0.1
                } else if i % 2 == 0 {
                    0.999
                } else {
                    -0.999
                }
            })
            .collect();
        let warning = activation_warnings(Activation::Tanh, &stats(&pinned)).unwrap();
        assert!(warning.starts_with("Saturated: 90%"), "{warning}");
        assert_eq!(activation_warnings(Activation::Tanh, &stats(&lively)), None);
    }

    #[test]
    fn gradients_far_smaller_or_larger_than_their_weights_are_named() {
        let weights = stats(&[0.5; 64]);
        let tiny = gradient_warning(&weights, &stats(&[1e-12; 64])).unwrap();
        assert!(tiny.starts_with("Vanishing gradient"), "{tiny}");
        let huge = gradient_warning(&weights, &stats(&[500.0; 64])).unwrap();
        assert!(huge.starts_with("Exploding gradient"), "{huge}");
        assert_eq!(gradient_warning(&weights, &stats(&[0.01; 64])), None);
    }
}
