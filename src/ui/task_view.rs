//! Views of the task the network learns: the decision boundary (or regression surface) of a 2D
//! set as an image under its points, the validation set's confusion matrix, and the validation
//! samples with what the network predicts for them (all of them, or one cell's of the matrix).

use std::collections::HashMap;
use std::sync::Arc;

use egui::{Color32, ColorImage, Role, TextureHandle, TextureOptions, Ui};
use egui_plot::{MarkerShape, Plot, PlotImage, PlotPoint, Points};

use super::canvas::accessible;

use super::dataset::{CLASS_COLORS, scatter_extent, thumbnail, value_color, value_range};
use super::history::History;
use super::inside::heatmap;
use super::neurons::NeuronView;
use super::refresh::Refresh;
use super::run::Run;
use super::training::Tab;
use crate::data::{Dataset, InMemoryDataset, SplitFractions, Targets, Task};
use crate::graph::Project;
use crate::train::Traced;

/// Cells along each side of the decision-boundary image: fine enough to look smooth at the
/// size the view draws it, and one batched request of 10,000 rows.
pub const BOUNDARY_CELLS: usize = 100;

/// Points drawn at most per part of the data (larger sets show every k-th).
const POINTS_MAX: usize = 2_000;

/// Validation samples predicted at most, and shown at most.
const VALIDATION_MAX: usize = 2_000;
const SHOWN_MAX: usize = 40;

#[derive(Clone, Copy)]
struct Chosen {
    index: usize,
    first: Option<u64>,
    last: Option<(u64, u64)>,
}

impl Chosen {
    fn new(index: usize) -> Self {
        Self {
            index,
            first: None,
            last: None,
        }
    }
}

/// What the network predicts for the validation samples.
struct Validation {
    indices: Vec<usize>,
    predicted: Vec<usize>,
    confidence: Vec<f32>,
}

pub struct TaskView {
    texture: Option<TextureHandle>,
    /// Whether the boundary shows the test split's points too.
    pub show_test_points: bool,
    /// The test split's samples, and the (size, fractions, seed) they were drawn for.
    test_samples: Option<((usize, SplitFractions, u64), Vec<usize>)>,
    boundary: Refresh,
    validation: Refresh,
    /// The validation samples the last request asked about, in its order.
    asked_samples: Vec<usize>,
    predicted: Option<Validation>,
    /// The confusion-matrix cell (true, predicted) whose samples are shown; `None` shows all.
    pub cell: Option<(usize, usize)>,
    thumbnails: HashMap<usize, TextureHandle>,
    /// The sample whose way through the network is shown, the first trace asked for it (later
    /// ones have larger tags) and the last (tag, step).
    chosen: Option<Chosen>,
    /// The latest trace of a chosen sample, by tag.
    traced: Option<(u64, Arc<Traced>)>,
    /// Pictures of the shown trace's node outputs, and its tag.
    trace_pictures: Option<(u64, Vec<TextureHandle>)>,
    pub neurons: NeuronView,
}

impl Default for TaskView {
    fn default() -> Self {
        Self {
            texture: None,
            show_test_points: true,
            test_samples: None,
            boundary: Refresh::default(),
            validation: Refresh::default(),
            asked_samples: Vec::new(),
            predicted: None,
            cell: None,
            thumbnails: HashMap::new(),
            chosen: None,
            traced: None,
            trace_pictures: None,
            neurons: NeuronView::default(),
        }
    }
}

/// Every class's probability for a prediction row: the softmax of its logits, or for a single
/// output the sigmoid's two sides.
fn probabilities(prediction: &[f32]) -> Vec<f32> {
    if let [logit] = prediction {
        let p = 1.0 / (1.0 + (-logit).exp());
        return vec![1.0 - p, p];
    }
    let max = prediction.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = prediction.iter().map(|v| (v - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// A prediction row's class and how sure the network is of it (its softmax probability, or the
/// sigmoid's for a single output).
fn class_and_confidence(prediction: &[f32]) -> (usize, f32) {
    if prediction.len() == 1 {
        let p = 1.0 / (1.0 + (-prediction[0]).exp());
        return (usize::from(p > 0.5), p.max(1.0 - p));
    }
    let max = prediction.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let total: f32 = prediction.iter().map(|v| (v - max).exp()).sum();
    (crate::train::predicted_class(prediction), 1.0 / total)
}

/// The centres of a `cells` by `cells` image's cells over the square of half-side `extent`,
/// as feature rows, row by row from the top.
pub fn plane_grid(extent: f32, cells: usize) -> Vec<f32> {
    let cell = 2.0 * extent / cells as f32;
    let mut features = Vec::with_capacity(cells * cells * 2);
    for row in 0..cells {
        for column in 0..cells {
            features.push(-extent + (column as f32 + 0.5) * cell);
            features.push(extent - (row as f32 + 0.5) * cell);
        }
    }
    features
}

/// The colour of one cell: the predicted class's, stronger the surer the network is; or the
/// value's colour for regression.
fn cell_color(task: &Task, prediction: &[f32], values: (f32, f32)) -> Color32 {
    match task {
        // Nearly at full strength: the points over it are small and outlined, so the surface
        // shows between and around them.
        Task::Regression { .. } => value_color(values, prediction[0]).gamma_multiply(0.85),
        Task::Classification { .. } => {
            let (class, p) = class_and_confidence(prediction);
            // From a coin toss between the classes (0) to certainty (1).
            let k = prediction.len().max(2) as f32;
            let sure = ((p - 1.0 / k) / (1.0 - 1.0 / k)).clamp(0.0, 1.0);
            CLASS_COLORS[class % 10].gamma_multiply(0.15 + 0.45 * sure)
        }
    }
}

impl TaskView {
    /// Keeps the predictions of the view in `tab` fresh, and turns answers into what it shows.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        run: &mut Run,
        project: &Project,
        dataset: Option<&InMemoryDataset>,
        tab: Tab,
    ) {
        let Some(dataset) = dataset else { return };
        match tab {
            Tab::DecisionBoundary if dataset.feature_shape() == [2] => {
                self.update_boundary(ctx, run, dataset)
            }
            Tab::Neurons if dataset.feature_shape() == [2] => {
                self.neurons.update(ctx, run, dataset)
            }
            Tab::Confusion | Tab::Predictions
                if matches!(dataset.task(), Task::Classification { .. }) =>
            {
                self.update_validation(run, project, dataset)
            }
            _ => {}
        }
    }

    fn update_boundary(&mut self, ctx: &egui::Context, run: &mut Run, dataset: &InMemoryDataset) {
        if let Some(values) = self.boundary.take(run, Run::take_predictions)
            && values.len() >= BOUNDARY_CELLS * BOUNDARY_CELLS
        {
            let per_cell = values.len() / (BOUNDARY_CELLS * BOUNDARY_CELLS);
            let task = dataset.task();
            let range = value_range(dataset);
            let pixels = values
                .chunks_exact(per_cell)
                .map(|p| cell_color(&task, p, range))
                .collect();
            let image = ColorImage::new([BOUNDARY_CELLS; 2], pixels);
            match &mut self.texture {
                Some(texture) => texture.set(image, TextureOptions::LINEAR),
                None => {
                    self.texture =
                        Some(ctx.load_texture("decision boundary", image, TextureOptions::LINEAR))
                }
            }
        }
        self.boundary.ask(run, |run| {
            run.predict(plane_grid(scatter_extent(dataset), BOUNDARY_CELLS))
        });
    }

    fn update_validation(&mut self, run: &mut Run, project: &Project, dataset: &InMemoryDataset) {
        if let Some(values) = self.validation.take(run, Run::take_predictions)
            && !self.asked_samples.is_empty()
        {
            let per_sample = values.len() / self.asked_samples.len();
            let (predicted, confidence) = values
                .chunks_exact(per_sample.max(1))
                .map(class_and_confidence)
                .unzip();
            self.predicted = Some(Validation {
                indices: self.asked_samples.clone(),
                predicted,
                confidence,
            });
        }
        self.trace_chosen(run, dataset);
        // The split is drawn only when asking: it shuffles the whole set.
        let asked_samples = &mut self.asked_samples;
        self.validation.ask(run, |run| {
            let split = crate::data::split_for(dataset, &project.split, project.training.seed);
            *asked_samples = split.validation;
            asked_samples.truncate(VALIDATION_MAX);
            let mut features = Vec::with_capacity(asked_samples.len() * dataset.feature_len());
            for &i in asked_samples.iter() {
                features.extend_from_slice(dataset.sample_features(i));
            }
            run.predict(features)
        });
    }

    /// Asks for the chosen sample's way through the network again once the run has moved on
    /// and the last answer is in.
    fn trace_chosen(&mut self, run: &mut Run, dataset: &InMemoryDataset) {
        let Some(chosen) = &mut self.chosen else {
            return;
        };
        if let Some((tag, _)) = chosen.last
            && let Some(traced) = run.take_traced(tag)
        {
            self.traced = Some((tag, traced));
        }
        let shown = self.traced.as_ref().map(|(tag, _)| *tag);
        let answered = chosen
            .last
            .is_none_or(|(tag, step)| step != run.steps() && shown == Some(tag));
        if answered && let Some(tag) = run.trace(dataset.sample_features(chosen.index).to_vec()) {
            chosen.first.get_or_insert(tag);
            chosen.last = Some((tag, run.steps()));
        }
    }

    /// The latest trace of the chosen sample.
    pub fn traced(&self) -> Option<&Arc<Traced>> {
        self.traced.as_ref().map(|(_, traced)| traced)
    }

    /// Whether the validation predictions shown are those of the run's latest weights.
    pub fn predictions_are_current(&self, run: &Run) -> bool {
        self.predicted.is_some() && self.validation.is_current(run.steps())
    }

    /// Whether the boundary shows the weights after the run's latest step.
    pub fn is_current(&self, run: &Run) -> bool {
        self.boundary.is_current(run.steps()) && self.texture.is_some()
    }

    /// The side of the boundary image, in cells, once there is one.
    pub fn boundary_cells(&self) -> Option<[usize; 2]> {
        self.texture.as_ref().map(|t| t.size())
    }

    /// Forgets the image (a new run or dataset); keeps what the user chose to show.
    pub fn clear(&mut self) {
        *self = Self {
            show_test_points: self.show_test_points,
            ..Self::default()
        };
    }

    /// The test split's samples of `dataset` under `project`'s split and seed.
    fn test_samples(&mut self, dataset: &InMemoryDataset, project: &Project) -> &[usize] {
        let key = (dataset.len(), project.split, project.training.seed);
        if self.test_samples.as_ref().is_none_or(|(k, _)| *k != key) {
            let split = crate::data::split_for(dataset, &project.split, project.training.seed);
            self.test_samples = Some((key, split.test));
        }
        self.test_samples.as_ref().map_or(&[], |(_, t)| t)
    }

    /// The decision boundary (or regression surface) of a 2D set as a square plot with values
    /// along its axes, the data's points over it (the test split's as hollow squares, when
    /// shown) and a legend of its colours.
    pub fn boundary(&mut self, ui: &mut Ui, dataset: Option<&InMemoryDataset>, project: &Project) {
        let Some(dataset) = dataset.filter(|d| d.feature_shape() == [2]) else {
            ui.weak("The decision boundary is drawn for datasets with two input features.");
            return;
        };
        let range = value_range(dataset);
        let mut is_test = vec![false; dataset.len()];
        for &i in self.test_samples(dataset, project) {
            if let Some(t) = is_test.get_mut(i) {
                *t = true;
            }
        }
        // The square fills the view's height exactly (anything below would grow the panel each
        // frame), with the legend and the toggle in a column beside it.
        let side = ui
            .available_height()
            .min(ui.available_width() - 200.0)
            .max(120.0);
        ui.horizontal_top(|ui| {
            self.boundary_plot(ui, dataset, &is_test, side);
            ui.vertical(|ui| {
                boundary_legend(ui, dataset, range);
                ui.add_space(8.0);
                ui.checkbox(&mut self.show_test_points, "Show test points")
                    .on_hover_text("The test split's points, drawn as hollow squares: data the network never trains on");
                if self.texture.is_none() {
                    ui.weak("Press Train (or Step) to see the boundary form.");
                }
            });
        });
    }

    fn boundary_plot(&self, ui: &mut Ui, dataset: &InMemoryDataset, is_test: &[bool], side: f32) {
        let task = dataset.task();
        let range = value_range(dataset);
        let extent = f64::from(scatter_extent(dataset));
        let texture = self.texture.as_ref().map(|t| t.id());
        let show_test = self.show_test_points;
        let outline = ui.visuals().extreme_bg_color;
        let response = Plot::new("decision boundary")
            .width(side)
            .height(side)
            .data_aspect(1.0)
            .include_x(-extent)
            .include_x(extent)
            .include_y(-extent)
            .include_y(extent)
            .set_margin_fraction(egui::Vec2::ZERO)
            .show_grid(false)
            .x_axis_label("x1")
            .y_axis_label("x2")
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .allow_double_click_reset(false)
            .show(ui, |plot| {
                if let Some(texture) = texture {
                    let size = egui::Vec2::splat(2.0 * extent as f32);
                    plot.image(PlotImage::new(
                        "boundary",
                        texture,
                        PlotPoint::new(0.0, 0.0),
                        size,
                    ));
                }
                for (name, test) in [("data", false), ("test", true)] {
                    if test && !show_test {
                        continue;
                    }
                    for (color, points) in point_groups(dataset, &task, range, is_test, test) {
                        let (shape, radius) = if test {
                            (MarkerShape::Square, 3.0)
                        } else {
                            (MarkerShape::Circle, 2.0)
                        };
                        // A dark ring under each point, so that points stand out from a
                        // surface of the same colours without hiding it.
                        plot.points(
                            Points::new(name, points.clone())
                                .shape(shape)
                                .radius(radius + 1.0)
                                .color(outline)
                                .filled(!test)
                                .allow_hover(false),
                        );
                        plot.points(
                            Points::new(name, points)
                                .shape(shape)
                                .radius(radius)
                                .color(color)
                                .filled(!test)
                                .allow_hover(false),
                        );
                    }
                }
            })
            .response;
        let what = match task {
            Task::Classification { .. } => {
                "Decision boundary: the colour is the class the network predicts there, stronger where it is surer; dots are the data"
            }
            Task::Regression { .. } => {
                "Regression surface: the colour is the value the network predicts there; dots are the data"
            }
        };
        accessible(
            &response.on_hover_text(what),
            Role::Image,
            "Decision boundary",
        );
    }

    /// The validation set's confusion matrix: rows are the true classes, columns the predicted.
    /// Shows the matrix; a clicked cell is returned, to show its samples.
    pub fn confusion(&self, ui: &mut Ui, history: &History) -> Option<(usize, usize)> {
        let Some(matrix) = &history.confusion else {
            ui.weak("The confusion matrix is measured on the validation set at the end of each epoch of a classification task.");
            return None;
        };
        let mut clicked = None;
        let most = matrix.iter().flatten().copied().max().unwrap_or(1).max(1);
        ui.label("Rows: true class · columns: predicted class (validation set)");
        let rows = matrix.len() as f32 + 1.0;
        let cell = (ui.available_height() / rows - 2.0).clamp(12.0, 40.0);
        egui::Grid::new("confusion matrix")
            .spacing([2.0, 2.0])
            .show(ui, |ui| {
                ui.label("");
                for predicted in 0..matrix.len() {
                    ui.strong(predicted.to_string());
                }
                ui.end_row();
                for (truth, row) in matrix.iter().enumerate() {
                    ui.strong(truth.to_string());
                    for (predicted, &count) in row.iter().enumerate() {
                        let strength = count as f32 / most as f32;
                        let base = if truth == predicted {
                            Color32::from_rgb(40, 150, 80)
                        } else {
                            Color32::from_rgb(210, 60, 60)
                        };
                        let fill = base.gamma_multiply(0.1 + 0.9 * strength);
                        let label = format!("true {truth}, predicted {predicted}: {count}");
                        let response = ui
                            .add_sized(
                                [cell * 1.4, cell],
                                egui::Button::new(count.to_string()).fill(fill),
                            )
                            .on_hover_text(format!("{label}. Click to see these samples."));
                        accessible(&response, Role::Button, &label);
                        if response.clicked() {
                            clicked = Some((truth, predicted));
                        }
                    }
                    ui.end_row();
                }
            });
        clicked
    }

    /// The validation samples (one cell's, when chosen) with the class the network predicts
    /// and how sure it is; images as pictures, other samples as rows of numbers.
    pub fn predictions(&mut self, ui: &mut Ui, dataset: Option<&InMemoryDataset>) {
        let (Some(dataset), Some(validation)) = (dataset, &self.predicted) else {
            ui.weak("Press Train (or Step) on a classification task to see what the network predicts for each validation sample.");
            return;
        };
        let labels = match dataset.targets() {
            Targets::Classes { labels, .. } => labels,
            Targets::Values { .. } => return,
        };
        let shown: Vec<usize> = (0..validation.indices.len())
            .filter(|&k| {
                self.cell.is_none_or(|(truth, predicted)| {
                    labels[validation.indices[k]] as usize == truth
                        && validation.predicted[k] == predicted
                })
            })
            .collect();
        ui.horizontal(|ui| {
            match self.cell {
                Some((truth, predicted)) => ui.label(format!(
                    "Validation samples of class {truth} predicted as {predicted}: {}",
                    shown.len()
                )),
                None => ui.label(format!(
                    "Validation samples: {} ({} predicted wrong)",
                    shown.len(),
                    shown
                        .iter()
                        .filter(
                            |&&k| labels[validation.indices[k]] as usize != validation.predicted[k]
                        )
                        .count()
                )),
            };
            if self.cell.is_some() && ui.button("Show all").clicked() {
                self.cell = None;
            }
        });
        // Mistakes first: they are what a teacher points at.
        let mut shown = shown;
        shown.sort_by_key(|&k| labels[validation.indices[k]] as usize == validation.predicted[k]);
        let rows: Vec<(usize, usize, usize, f32)> = shown
            .iter()
            .take(SHOWN_MAX)
            .map(|&k| {
                let index = validation.indices[k];
                let truth = labels[index] as usize;
                let (predicted, sure) = (validation.predicted[k], validation.confidence[k]);
                (index, truth, predicted, sure)
            })
            .collect();
        self.forward_pass(ui, labels);
        egui::ScrollArea::vertical().show(ui, |ui| {
            if dataset.feature_shape().len() == 3 {
                // A card is the 56-point picture, its frame and the grid's spacing.
                let columns = ((ui.available_width() / 74.0) as usize).max(1);
                egui::Grid::new("predicted images").show(ui, |ui| {
                    for (i, (index, truth, predicted, confidence)) in rows.into_iter().enumerate() {
                        self.thumbnail_card(ui, dataset, index, truth, predicted, confidence);
                        if (i + 1) % columns == 0 {
                            ui.end_row();
                        }
                    }
                });
            } else if let Some(index) = sample_table(ui, dataset, rows.into_iter()) {
                self.chosen = Some(Chosen::new(index));
            }
        });
    }

    fn thumbnail_card(
        &mut self,
        ui: &mut Ui,
        dataset: &InMemoryDataset,
        index: usize,
        truth: usize,
        predicted: usize,
        confidence: f32,
    ) {
        let texture = self.thumbnails.entry(index).or_insert_with(|| {
            let image = thumbnail(dataset, index).unwrap_or_default();
            ui.ctx()
                .load_texture(format!("sample {index}"), image, TextureOptions::NEAREST)
        });
        let wrong = truth != predicted;
        let label = if wrong {
            format!("sample {index}: predicted {predicted}, truly {truth}")
        } else {
            format!("sample {index}: predicted {predicted}")
        };
        let stroke = if wrong {
            egui::Stroke::new(2.0, ui.visuals().error_fg_color)
        } else {
            egui::Stroke::NONE
        };
        let card = egui::Frame::new()
            .stroke(stroke)
            .inner_margin(2.0)
            .show(ui, |ui| {
                ui.vertical(|ui| {
                    ui.add(egui::Image::new(&*texture).fit_to_exact_size(egui::Vec2::splat(56.0)));
                    ui.label(format!("{predicted} ({:.0}%)", confidence * 100.0));
                    if wrong {
                        ui.colored_label(ui.visuals().error_fg_color, format!("truly {truth}"));
                    }
                });
            });
        let card = card.response.interact(egui::Sense::click());
        accessible(&card, Role::Button, &label);
        if card
            .on_hover_text("Click to see its way through the network")
            .clicked()
        {
            self.chosen = Some(Chosen::new(index));
        }
    }

    /// The chosen sample's way through the network: what it is predicted to be, and every
    /// node's output for it.
    fn forward_pass(&mut self, ui: &mut Ui, labels: &[u32]) {
        let (
            Some(Chosen {
                index,
                first: Some(first),
                ..
            }),
            Some((traced_tag, traced)),
        ) = (self.chosen, &self.traced)
        else {
            return;
        };
        // An answer from before this sample was chosen is another sample's.
        if *traced_tag < first {
            return;
        }
        if self
            .trace_pictures
            .as_ref()
            .is_none_or(|(t, _)| t != traced_tag)
        {
            let pictures = traced
                .outputs
                .iter()
                .map(|(_, output)| {
                    ui.ctx()
                        .load_texture(&output.name, heatmap(output), TextureOptions::NEAREST)
                })
                .collect();
            self.trace_pictures = Some((*traced_tag, pictures));
        }
        let (class, sure) = class_and_confidence(&traced.prediction);
        let truth = labels[index];
        ui.horizontal(|ui| {
            ui.strong(format!(
                "Sample {index}, truly {truth}: predicted {class} ({:.0}% sure)",
                sure * 100.0
            ));
            if ui.button("Close").clicked() {
                self.chosen = None;
            }
        });
        ui.horizontal_wrapped(|ui| {
            for (k, p) in probabilities(&traced.prediction).into_iter().enumerate() {
                let bar = egui::ProgressBar::new(p)
                    .desired_width(60.0)
                    .text(format!("{k}: {:.0}%", p * 100.0));
                let response = ui.add(bar);
                accessible(
                    &response,
                    Role::ProgressIndicator,
                    &format!("class {k}: {:.0}%", p * 100.0),
                );
            }
        });
        let Some((_, pictures)) = &self.trace_pictures else {
            return;
        };
        egui::ScrollArea::horizontal()
            .id_salt("forward pass")
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    for ((_, output), picture) in traced.outputs.iter().zip(pictures) {
                        ui.vertical(|ui| {
                            ui.label(&output.name);
                            let size = picture.size_vec2();
                            let scale = (72.0 / size.x.max(size.y)).clamp(1.0, 12.0);
                            ui.add(egui::Image::new(picture).fit_to_exact_size(size * scale))
                                .on_hover_text(format!(
                                    "mean {:.3}, min {:.3}, max {:.3}",
                                    output.stats.mean, output.stats.min, output.stats.max
                                ));
                        });
                    }
                });
            });
        ui.separator();
    }
}

/// The points of one part of a 2D set (the test split's, or the rest), grouped by colour: by
/// class, or by value in a few steps for regression.
fn point_groups(
    dataset: &InMemoryDataset,
    task: &Task,
    range: (f32, f32),
    is_test: &[bool],
    test: bool,
) -> Vec<(Color32, Vec<[f64; 2]>)> {
    const VALUE_STEPS: usize = 12;
    let xs = dataset.features();
    let groups = match task {
        Task::Classification { .. } => CLASS_COLORS.len(),
        Task::Regression { .. } => VALUE_STEPS,
    };
    let mut points = vec![Vec::new(); groups];
    let step = dataset.len().div_ceil(POINTS_MAX).max(1);
    for i in (0..dataset.len()).step_by(step) {
        if is_test.get(i).copied().unwrap_or(false) != test {
            continue;
        }
        let group = match dataset.targets() {
            Targets::Classes { labels, .. } => labels[i] as usize % groups,
            Targets::Values { values, width } => {
                let (low, high) = range;
                let t = ((values[i * width] - low) / (high - low).max(1e-6)).clamp(0.0, 1.0);
                ((t * (groups - 1) as f32).round() as usize).min(groups - 1)
            }
        };
        points[group].push([f64::from(xs[2 * i]), f64::from(xs[2 * i + 1])]);
    }
    points
        .into_iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(group, p)| {
            let color = match task {
                Task::Classification { .. } => CLASS_COLORS[group],
                Task::Regression { .. } => {
                    let (low, high) = range;
                    let t = group as f32 / (groups - 1) as f32;
                    value_color(range, low + t * (high - low))
                }
            };
            (color, p)
        })
        .collect()
}

/// Which colour is which class, or the value scale of a regression surface.
fn boundary_legend(ui: &mut Ui, dataset: &InMemoryDataset, range: (f32, f32)) {
    let swatch = |ui: &mut Ui, color: Color32| {
        let (rect, _) = ui.allocate_exact_size(egui::Vec2::splat(12.0), egui::Sense::hover());
        ui.painter().rect_filled(rect, 2.0, color);
    };
    match dataset.targets() {
        Targets::Classes { classes, .. } => {
            ui.strong("Predicted class");
            for class in 0..(*classes).max(2) {
                ui.horizontal(|ui| {
                    swatch(ui, CLASS_COLORS[class % 10]);
                    let label = ui.label(format!("Class {class}"));
                    accessible(&label, Role::Label, &format!("Legend: class {class}"));
                });
            }
            ui.weak("Paler where the network is less sure");
        }
        Targets::Values { .. } => {
            ui.strong("Predicted value");
            let (low, high) = range;
            ui.horizontal(|ui| {
                let label = ui.label(format!("{low:.2}"));
                accessible(
                    &label,
                    Role::Label,
                    &format!("Legend: lowest value {low:.2}"),
                );
                ui.spacing_mut().item_spacing.x = 0.0;
                for k in 0..8 {
                    swatch(ui, value_color(range, low + (high - low) * k as f32 / 7.0));
                }
                ui.spacing_mut().item_spacing.x = 4.0;
                let label = ui.label(format!("{high:.2}"));
                accessible(
                    &label,
                    Role::Label,
                    &format!("Legend: highest value {high:.2}"),
                );
            });
        }
    }
    ui.weak("Dots: training and validation data");
}

/// Rows of a non-image set's samples: their first features, class and prediction. Returns the
/// sample clicked.
fn sample_table(
    ui: &mut Ui,
    dataset: &InMemoryDataset,
    rows: impl Iterator<Item = (usize, usize, usize, f32)>,
) -> Option<usize> {
    let mut clicked = None;
    let width = dataset.feature_len().min(4);
    egui::Grid::new("validation samples")
        .striped(true)
        .show(ui, |ui| {
            ui.strong("Sample");
            for column in 0..width {
                ui.strong(format!("x{}", column + 1));
            }
            for heading in ["True class", "Predicted", "Sure"] {
                ui.strong(heading);
            }
            ui.end_row();
            for (index, truth, predicted, confidence) in rows {
                let link = ui
                    .link(index.to_string())
                    .on_hover_text("Click to see its way through the network");
                accessible(&link, Role::Link, &format!("sample {index}"));
                if link.clicked() {
                    clicked = Some(index);
                }
                for value in &dataset.sample_features(index)[..width] {
                    ui.label(format!("{value:.3}"));
                }
                ui.label(truth.to_string());
                if truth == predicted {
                    ui.label(predicted.to_string());
                } else {
                    ui.colored_label(ui.visuals().error_fg_color, predicted.to_string());
                }
                ui.label(format!("{:.0}%", confidence * 100.0));
                ui.end_row();
            }
        });
    clicked
}
