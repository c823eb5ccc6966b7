//! The latent space of a network that rebuilds its input (an autoencoder): where the validation
//! samples land at its bottleneck, as a scatter coloured by class (the first two principal
//! directions of a code wider than two), moving as training goes; and a strip of inputs above
//! what the network rebuilds from them.

use egui::{ColorImage, Role, TextureHandle, TextureOptions, Ui};
use egui_plot::{MarkerShape, Plot, Points};

use super::canvas::accessible;
use super::dataset::{CLASS_COLORS, image_of};
use super::refresh::Refresh;
use super::run::Run;
use crate::data::{Dataset, InMemoryDataset, SplitFractions, Task};
use crate::graph::{Graph, Layer, LossKind, LossTarget, Project};
use crate::train::Traced;

/// Validation samples placed in the scatter at most.
const SAMPLES_MAX: usize = 1_000;
/// Power-iteration passes for each principal direction: plenty for a picture.
const ITERATIONS: usize = 50;
/// Inputs shown with what the network rebuilds from them.
const PAIRS: usize = 8;
/// The largest a picture of a pair is drawn, in points.
const PAIR_SIDE: f32 = 44.0;
const LABEL_WIDTH: f32 = 56.0;
/// Room between the rows of pictures, and between the two sets of pairs.
const ROW_GAP: f32 = 2.0;
const PAIRS_GAP: f32 = 8.0;

/// Whether the graph rebuilds a tensor: a loss takes its target from a wire.
pub fn rebuilds(graph: &Graph) -> bool {
    graph.nodes.iter().any(|n| {
        matches!(
            n.layer,
            Layer::Loss {
                target: LossTarget::Wire,
                ..
            }
        )
    })
}

/// The codes of the last trace, ready to draw.
struct Latent {
    /// The bottleneck's name and how many numbers it gives per sample.
    node: String,
    width: usize,
    /// One point per sample, and its class where the dataset has classes.
    points: Vec<[f64; 2]>,
    classes: Vec<Option<usize>>,
    /// Inputs and what the network rebuilt from them.
    pairs: Vec<(TextureHandle, TextureHandle)>,
}

#[derive(Default)]
pub struct LatentView {
    /// The validation samples, and the (size, fractions, seed) they were drawn for.
    samples: Option<((usize, SplitFractions, u64), Vec<usize>)>,
    refresh: Refresh,
    latent: Option<Latent>,
}

impl LatentView {
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        run: &mut Run,
        project: &Project,
        dataset: Option<&InMemoryDataset>,
    ) {
        let Some(dataset) = dataset else { return };
        let key = (dataset.len(), project.split, project.training.seed);
        if self.samples.as_ref().is_none_or(|(k, _)| *k != key) {
            let mut samples = super::dataset::watched_samples(dataset, project);
            samples.truncate(SAMPLES_MAX);
            self.samples = Some((key, samples));
        }
        let Some((_, samples)) = &self.samples else {
            return;
        };
        if let Some(traced) = self.refresh.take(run, Run::take_traced)
            && traced.rows == samples.len()
        {
            self.latent = latent(ctx, &traced, &project.graph, dataset, samples);
        }
        self.refresh.ask(run, |run| {
            let mut features = Vec::with_capacity(samples.len() * dataset.feature_len());
            for &i in samples {
                features.extend_from_slice(dataset.sample_features(i));
            }
            run.trace(features)
        });
    }

    pub fn show(&self, ui: &mut Ui, dataset: Option<&InMemoryDataset>) {
        let Some(latent) = &self.latent else {
            ui.weak("Press Train (or Step) to see where the network puts each sample.");
            return;
        };
        let how = if latent.width > 2 {
            format!(
                "{} numbers each, along their two main directions",
                latent.width
            )
        } else {
            format!("{} numbers each", latent.width)
        };
        // One line, so that the scatter keeps its height in Present mode.
        ui.label(format!(
            "Where {} validation samples land at {} ({how}).",
            latent.points.len(),
            latent.node
        ))
        .on_hover_text(
            "Samples the network finds alike sit together, whether or not they share a class.",
        );
        let names = dataset
            .map(|d| d.class_names().to_vec())
            .unwrap_or_default();
        let groups = latent.classes.iter().flatten().max().map_or(1, |c| c + 1);
        if latent.classes.iter().any(Option::is_some) {
            class_key(ui, &names, groups);
        }
        // The pairs stand to the right of the scatter, which keeps the whole height; their
        // four rows share that height.
        let height = ui.available_height().max(80.0);
        let gap = ui.spacing().item_spacing;
        let side = ((height - PAIRS_GAP) / 4.0 - ROW_GAP).clamp(20.0, PAIR_SIDE);
        let pairs_width = if latent.pairs.is_empty() {
            0.0
        } else {
            LABEL_WIDTH + (PAIRS / 2) as f32 * (side + gap.x) + 16.0
        };
        let width = (ui.available_width() - pairs_width).max(160.0);
        ui.horizontal_top(|ui| {
            let response = Plot::new("latent space")
                .width(width)
                .height(height)
                .show(ui, |plot| {
                    for group in 0..groups {
                        let points: Vec<[f64; 2]> = latent
                            .points
                            .iter()
                            .zip(&latent.classes)
                            .filter(|(_, c)| c.unwrap_or(0) == group)
                            .map(|(p, _)| *p)
                            .collect();
                        let name = names
                            .get(group)
                            .cloned()
                            .unwrap_or_else(|| group.to_string());
                        plot.points(
                            Points::new(name, points)
                                .shape(MarkerShape::Circle)
                                .radius(2.5)
                                .color(CLASS_COLORS[group % CLASS_COLORS.len()]),
                        );
                    }
                })
                .response;
            accessible(&response, Role::Image, "Codes scatter");
            if !latent.pairs.is_empty() {
                ui.vertical(|ui| show_pairs(ui, &latent.pairs, side));
            }
        });
    }
}

/// Each class's colour and name in one row above the scatter, where a legend inside it would
/// cover points and, on a short plot, lose classes off its foot.
fn class_key(ui: &mut Ui, names: &[String], groups: usize) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Colour is the class:");
        for group in 0..groups {
            let (dot, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter()
                .circle_filled(dot.center(), 4.5, CLASS_COLORS[group % CLASS_COLORS.len()]);
            ui.label(
                names
                    .get(group)
                    .cloned()
                    .unwrap_or_else(|| group.to_string()),
            );
        }
    });
}

/// Inputs over what the network rebuilt from them, in two rows of pairs.
fn show_pairs(ui: &mut Ui, pairs: &[(TextureHandle, TextureHandle)], side: f32) {
    ui.spacing_mut().item_spacing.y = ROW_GAP;
    for half in pairs.chunks(PAIRS / 2) {
        for (row, label) in ["Input", "Rebuilt"].into_iter().enumerate() {
            ui.horizontal(|ui| {
                ui.add_sized([LABEL_WIDTH, side], egui::Label::new(label));
                for pair in half {
                    let texture = if row == 0 { &pair.0 } else { &pair.1 };
                    ui.add(egui::Image::new(texture).fit_to_exact_size([side; 2].into()));
                }
            });
        }
        ui.add_space(PAIRS_GAP);
    }
}

/// The codes of `samples` at the graph's bottleneck (the narrowest layer after the input), and
/// the first inputs beside what the network made of them.
fn latent(
    ctx: &egui::Context,
    traced: &Traced,
    graph: &Graph,
    dataset: &InMemoryDataset,
    samples: &[usize],
) -> Option<Latent> {
    let rows = traced.rows.max(1);
    let (id, code) = traced
        .outputs
        .iter()
        .filter(|(id, _)| {
            graph
                .node(*id)
                .is_some_and(|n| !matches!(n.layer, Layer::Input { .. }))
        })
        .min_by_key(|(_, out)| out.values.len())?;
    let width = code.values.len() / rows;
    if width == 0 {
        return None;
    }
    let points = plane_of(&code.values, width);
    let classes = samples
        .iter()
        .map(|&i| {
            matches!(dataset.task(), Task::Classification { .. }).then(|| {
                let mut class = [0];
                dataset.copy_classes(i, &mut class);
                class[0]
            })
        })
        .collect();
    Some(Latent {
        node: graph.node(*id).map(|n| n.name.clone()).unwrap_or_default(),
        width,
        points,
        classes,
        pairs: pairs(ctx, traced, graph, dataset, samples),
    })
}

/// Each row of `codes` (`width` numbers) as a point: itself for two numbers, its coordinates
/// along the two directions the codes spread most in (principal components) for more, and on
/// a line for one.
fn plane_of(codes: &[f32], width: usize) -> Vec<[f64; 2]> {
    let rows: Vec<&[f32]> = codes.chunks_exact(width).collect();
    match width {
        1 => return rows.iter().map(|r| [r[0] as f64, 0.0]).collect(),
        2 => return rows.iter().map(|r| [r[0] as f64, r[1] as f64]).collect(),
        _ => {}
    }
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0.0f64; width];
    for r in &rows {
        for (m, &v) in mean.iter_mut().zip(*r) {
            *m += v as f64 / n;
        }
    }
    let centred: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect())
        .collect();
    let first = main_direction(&centred, width, None);
    let second = main_direction(&centred, width, Some(&first));
    centred
        .iter()
        .map(|r| [dot(r, &first), dot(r, &second)])
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The unit direction the `centred` rows spread most along, at right angles to `away`: power
/// iteration with the covariance applied as `Xᵀ(X v)`, which costs rows × width a pass and
/// never forms the width × width matrix (the view runs it on the UI thread).
fn main_direction(centred: &[Vec<f64>], width: usize, away: Option<&[f64]>) -> Vec<f64> {
    // A start no direction is likely to be orthogonal to.
    let mut v: Vec<f64> = (0..width).map(|i| 1.0 + i as f64 * 0.01).collect();
    for _ in 0..ITERATIONS {
        if let Some(a) = away {
            let along = dot(&v, a);
            v.iter_mut().zip(a).for_each(|(x, y)| *x -= along * y);
        }
        let mut next = vec![0.0; width];
        for row in centred {
            let along = dot(row, &v);
            next.iter_mut().zip(row).for_each(|(n, x)| *n += along * x);
        }
        let norm = dot(&next, &next).sqrt();
        if norm < 1e-30 {
            break;
        }
        v = next.into_iter().map(|x| x / norm).collect();
    }
    v
}

/// The first inputs as pictures beside the network's rebuilt images (through a sigmoid when
/// the loss compares logits), for image sets whose prediction is an image.
fn pairs(
    ctx: &egui::Context,
    traced: &Traced,
    graph: &Graph,
    dataset: &InMemoryDataset,
    samples: &[usize],
) -> Vec<(TextureHandle, TextureHandle)> {
    let shape = dataset.feature_shape();
    let per_sample = dataset.feature_len();
    if traced.prediction.len() != traced.rows * per_sample {
        return Vec::new();
    }
    let logits = graph.nodes.iter().any(|n| {
        matches!(
            n.layer,
            Layer::Loss {
                kind: LossKind::BinaryCrossEntropy,
                target: LossTarget::Wire,
                ..
            }
        )
    });
    let texture =
        |name: String, image: ColorImage| ctx.load_texture(name, image, TextureOptions::NEAREST);
    let mut out = Vec::new();
    // Spread over the samples, which a split lists in order (and a set may keep by class).
    let every = (samples.len() / PAIRS).max(1);
    for (r, &i) in samples.iter().enumerate().step_by(every).take(PAIRS) {
        let rebuilt: Vec<f32> = traced.prediction[r * per_sample..(r + 1) * per_sample]
            .iter()
            .map(|&v| if logits { 1.0 / (1.0 + (-v).exp()) } else { v })
            .collect();
        let (Some(input), Some(rebuilt)) = (
            image_of(shape, dataset.sample_features(i)),
            image_of(shape, &rebuilt),
        ) else {
            return Vec::new();
        };
        out.push((
            texture(format!("latent input {r}"), input),
            texture(format!("latent rebuilt {r}"), rebuilt),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_code_is_drawn_along_the_directions_it_spreads_most_in() {
        // Points on a line along (1, 1, 0) with a little spread along (0, 0, 1).
        let codes: Vec<f32> = (0..50)
            .flat_map(|i| {
                let t = i as f32 - 25.0;
                [t, t, if i % 2 == 0 { 0.1 } else { -0.1 }]
            })
            .collect();
        let points = plane_of(&codes, 3);
        let spread = |axis: usize| {
            let mean = points.iter().map(|p| p[axis]).sum::<f64>() / 50.0;
            points.iter().map(|p| (p[axis] - mean).powi(2)).sum::<f64>() / 50.0
        };
        // The line's variance is 2·var(t) along the unit diagonal; the rest is 0.01.
        let along_line = 2.0 * (0..50).map(|i| (i as f64 - 24.5).powi(2)).sum::<f64>() / 50.0;
        assert!(
            (spread(0) - along_line).abs() < 1e-3 * along_line,
            "{}",
            spread(0)
        );
        assert!((spread(1) - 0.01).abs() < 1e-4, "{}", spread(1));
        assert_eq!(plane_of(&[1.0, 2.0, 3.0, 4.0], 2), [[1.0, 2.0], [3.0, 4.0]]);
    }
}
