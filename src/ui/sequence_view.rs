//! Views inside a sequence model as it trains, for one validation sequence the user picks: each
//! attention layer's heads as query × key heatmaps with the tokens on the axes, a recurrent
//! layer's states and gates over time with how far back the loss's gradient reaches, and a
//! series' forecast against the truth.

use std::collections::HashMap;
use std::sync::Arc;

use egui::{
    Align2, Color32, ColorImage, DragValue, FontId, Rect, Role, Sense, TextureHandle,
    TextureOptions, Ui, pos2, vec2,
};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};

use super::canvas::accessible;
use super::inside::diverging;
use super::plot_style::{TRAIN_COLOR, VALIDATION_COLOR};
use super::refresh::Refresh;
use super::run::Run;
use super::training::Tab;
use crate::data::{Dataset, InMemoryDataset, SplitFractions, Targets, Task};
use crate::graph::{Graph, Layer, NodeId, Project, ValueKind};
use crate::train::{Inside, RecurrentTrace, Traced};

/// Units of a recurrent layer drawn at most in each of its maps.
const UNITS_SHOWN: usize = 64;
/// Side of an attention head's small map, in points.
const THUMBNAIL: f32 = 72.0;
/// Steps shown on each axis of the attention maps at first: few enough to read the tokens.
const WINDOW: usize = 24;

pub struct SequenceView {
    /// The traced sample, 0-based among the validation samples (the training ones without a
    /// validation split).
    pub sample: usize,
    /// Steps shown along each axis of the attention maps: the sequence's last ones.
    pub window: usize,
    /// The attention map drawn large: (attention layer, head).
    pub focus: (usize, usize),
    /// The recurrence drawn: its place among the trace's recurrences.
    pub recurrence: usize,
    /// The samples offered, and the (size, split, seed) they were drawn for.
    samples: Option<((usize, SplitFractions, u64), Vec<usize>)>,
    trace: Refresh,
    forecast: Refresh,
    /// The dataset index of the sample last asked about.
    asked: Option<usize>,
    /// The latest trace and forecast, each with the dataset index of its sample.
    traced: Option<(usize, Arc<Traced>)>,
    predicted: Option<(usize, Vec<f32>)>,
    textures: HashMap<String, TextureHandle>,
    /// What the textures were drawn from: the trace, the window and the recurrence.
    drawn: Option<(*const Traced, usize, usize, Tab)>,
}

impl Default for SequenceView {
    fn default() -> Self {
        Self {
            sample: 0,
            window: WINDOW,
            focus: (0, 0),
            recurrence: 0,
            samples: None,
            trace: Refresh::default(),
            forecast: Refresh::default(),
            asked: None,
            traced: None,
            predicted: None,
            textures: HashMap::new(),
            drawn: None,
        }
    }
}

/// Whether the graph has a layer of this kind.
fn has(graph: &Graph, kind: fn(&Layer) -> bool) -> bool {
    graph.nodes.iter().any(|n| kind(&n.layer))
}

pub fn has_attention(graph: &Graph) -> bool {
    has(graph, |l| matches!(l, Layer::MultiHeadAttention { .. }))
}

pub fn has_recurrence(graph: &Graph) -> bool {
    has(graph, |l| matches!(l, Layer::Recurrent { .. }))
}

/// Whether the dataset is a series to forecast: values over time, regression targets.
pub fn is_series(dataset: &InMemoryDataset) -> bool {
    matches!(dataset.values(), ValueKind::Sequence)
        && matches!(dataset.task(), Task::Regression { .. })
}

/// A token as the axes show it: a text's character (blanks made visible), else its id.
fn token_label(dataset: &InMemoryDataset, value: f32) -> String {
    if !matches!(dataset.values(), ValueKind::Tokens { .. }) {
        return format!("{value:.2}");
    }
    let id = value as usize;
    match dataset.class_names().get(id).map(String::as_str) {
        // Glyphs the interface's fonts have.
        Some(" ") => "·".into(),
        Some("\n") => "¶".into(),
        Some("\t") => "»".into(),
        Some(name) if super::text_view::is_text(dataset) => name.into(),
        _ => id.to_string(),
    }
}

impl SequenceView {
    /// Forgets the run's answers (a new run or project).
    pub fn clear(&mut self) {
        *self = Self {
            sample: self.sample,
            window: self.window,
            ..Self::default()
        };
    }

    /// Keeps the trace (or the forecast) of the chosen sample fresh while its view is shown.
    pub fn update(
        &mut self,
        run: &mut Run,
        project: &Project,
        dataset: Option<&InMemoryDataset>,
        tab: Tab,
    ) {
        let Some(dataset) = dataset else { return };
        if !matches!(tab, Tab::Attention | Tab::States | Tab::Forecast) {
            return;
        }
        let key = (dataset.len(), project.split, project.training.seed);
        if self.samples.as_ref().is_none_or(|(k, _)| *k != key) {
            self.samples = Some((key, super::dataset::watched_samples(dataset, project)));
        }
        if let (Some(asked), Some(traced)) = (self.asked, self.trace.take(run, Run::take_traced)) {
            self.traced = Some((asked, traced));
        }
        if let (Some(asked), Some(values)) =
            (self.asked, self.forecast.take(run, Run::take_predictions))
        {
            self.predicted = Some((asked, values));
        }
        let Some(index) = self.chosen() else { return };
        if self.asked != Some(index) {
            // Another sample: asked for at once, whether or not the run has moved on.
            (self.trace, self.forecast) = (Refresh::default(), Refresh::default());
        }
        let refresh = if tab == Tab::Forecast {
            &mut self.forecast
        } else {
            &mut self.trace
        };
        let asked = &mut self.asked;
        refresh.ask(run, |run| {
            let features = dataset.sample_features(index).to_vec();
            let tag = if tab == Tab::Forecast {
                run.predict(features)
            } else {
                run.trace(features)
            };
            *asked = Some(index).filter(|_| tag.is_some()).or(*asked);
            tag
        });
    }

    /// The dataset index of the chosen sample.
    fn chosen(&self) -> Option<usize> {
        let (_, samples) = self.samples.as_ref()?;
        samples
            .get(self.sample.min(samples.len().saturating_sub(1)))
            .copied()
    }

    /// The sample picker, and the sample's tokens or values.
    fn sample_row(&mut self, ui: &mut Ui, dataset: &InMemoryDataset) {
        let count = self.samples.as_ref().map_or(0, |(_, s)| s.len());
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Sample");
            let mut shown = self.sample.min(count.saturating_sub(1)) + 1;
            ui.add(DragValue::new(&mut shown).range(1..=count.max(1)))
                .labelled_by(label.id)
                .on_hover_text("Which validation sequence the view follows through the network");
            self.sample = shown - 1;
            ui.weak(format!("of {count} validation sequences"));
            if let Some(index) = self.chosen()
                && matches!(dataset.values(), ValueKind::Tokens { .. })
            {
                let features = dataset.sample_features(index);
                let tokens: Vec<String> =
                    features.iter().map(|&v| token_label(dataset, v)).collect();
                // A text's characters run together; other tokens stand apart.
                let gap = if super::text_view::is_text(dataset) {
                    ""
                } else {
                    " "
                };
                ui.monospace(tokens.join(gap));
            }
        });
    }

    /// The trace of the chosen sample, if one has come back for it.
    fn current_trace(&self) -> Option<Arc<Traced>> {
        let (sample, traced) = self.traced.as_ref()?;
        (Some(*sample) == self.chosen()).then(|| Arc::clone(traced))
    }

    fn set_texture(&mut self, ctx: &egui::Context, name: String, image: ColorImage) {
        let options = TextureOptions::NEAREST;
        match self.textures.get_mut(&name) {
            Some(texture) => texture.set(image, options),
            None => {
                let texture = ctx.load_texture(name.clone(), image, options);
                self.textures.insert(name, texture);
            }
        }
    }

    /// Whether `view`'s textures must be drawn again for `traced` as the view is set now.
    fn redraw(&mut self, traced: &Arc<Traced>, view: Tab) -> bool {
        let now = (Arc::as_ptr(traced), self.window, self.recurrence, view);
        let again = self.drawn != Some(now);
        self.drawn = Some(now);
        again
    }

    /// Each attention layer × head as a small map, and the chosen one large with the tokens on
    /// its axes.
    pub fn attention(&mut self, ui: &mut Ui, dataset: Option<&InMemoryDataset>) {
        let Some(dataset) = dataset else { return };
        self.sample_row(ui, dataset);
        let Some(traced) = self.current_trace() else {
            ui.weak("Press Train (or Step): each attention head's weights for this sequence appear here, layer by layer.");
            return;
        };
        let layers: Vec<(usize, usize, &[f32])> = traced
            .inside
            .iter()
            .filter_map(|(_, inside)| match inside {
                Inside::Attention {
                    heads,
                    steps,
                    weights,
                } => Some((*heads, *steps, weights.as_slice())),
                Inside::Recurrence(_) => None,
            })
            .collect();
        let Some(&(_, steps, _)) = layers.first() else {
            ui.weak("This network has no attention layer.");
            return;
        };
        ui.horizontal(|ui| {
            let label = ui.label("Steps shown");
            ui.add(DragValue::new(&mut self.window).range(2..=steps.max(2)))
                .labelled_by(label.id)
                .on_hover_text("How many of the sequence's last steps the maps show: fewer, larger, with every token readable");
            ui.weak("Rows: each step's query · columns: the steps it reads (keys) · brighter: more weight");
        });
        let window = self.window.clamp(1, steps);
        let first = steps - window;
        if self.redraw(&traced, Tab::Attention) {
            for (layer, &(heads, steps, weights)) in layers.iter().enumerate() {
                for head in 0..heads {
                    let map = &weights[head * steps * steps..][..steps * steps];
                    let cells =
                        (first..steps).flat_map(|q| map[q * steps + first..][..window].iter());
                    let scale = cells.clone().fold(1e-6f32, |m, &w| m.max(w));
                    let pixels = cells.map(|&w| diverging(w, scale)).collect();
                    let image = ColorImage::new([window, window], pixels);
                    self.set_texture(ui.ctx(), format!("attention {layer} {head}"), image);
                }
            }
        }
        self.focus.0 = self.focus.0.min(layers.len() - 1);
        self.focus.1 = self.focus.1.min(layers[self.focus.0].0.saturating_sub(1));
        let features = dataset.sample_features(self.chosen().unwrap_or(0));
        // A trace of another dataset's sequences (the set was just changed) shows no tokens.
        let tokens: Vec<String> = features
            .get(first..)
            .unwrap_or_default()
            .iter()
            .map(|&v| token_label(dataset, v))
            .collect();
        ui.horizontal_top(|ui| {
            egui::ScrollArea::vertical()
                .id_salt("attention heads")
                .max_width(ui.available_width() * 0.45)
                .show(ui, |ui| {
                    egui::Grid::new("attention grid").show(ui, |ui| {
                        for (layer, &(heads, ..)) in layers.iter().enumerate() {
                            ui.label(format!("Layer {}", layer + 1));
                            for head in 0..heads {
                                let name = format!("attention {layer} {head}");
                                let Some(texture) = self.textures.get(&name) else {
                                    continue;
                                };
                                let label = format!("Layer {}, head {}", layer + 1, head + 1);
                                let image =
                                    egui::Image::new((texture.id(), vec2(THUMBNAIL, THUMBNAIL)))
                                        .sense(Sense::click());
                                let response = ui
                                    .add(image)
                                    .on_hover_text(format!("{label}: show it large"));
                                accessible(&response, Role::Button, &label);
                                if self.focus == (layer, head) {
                                    ui.painter().rect_stroke(
                                        response.rect.expand(2.0),
                                        2.0,
                                        (2.0, ui.visuals().selection.stroke.color),
                                        egui::StrokeKind::Outside,
                                    );
                                }
                                if response.clicked() {
                                    self.focus = (layer, head);
                                }
                            }
                            ui.end_row();
                        }
                    });
                });
            ui.separator();
            let (layer, head) = self.focus;
            let Some(texture) = self.textures.get(&format!("attention {layer} {head}")) else {
                return;
            };
            let (_, steps, weights) = layers[layer];
            let map = &weights[head * steps * steps..][..steps * steps];
            let weight = |q: usize, k: usize| map[(first + q) * steps + first + k];
            ui.vertical(|ui| {
                ui.strong(format!("Layer {}, head {}", layer + 1, head + 1));
                large_map(ui, texture, &tokens, &weight);
            });
        });
    }

    /// A recurrent layer's hidden and cell states and gates over time, and the gradient's
    /// reach back through time at the last training step.
    pub fn states(&mut self, ui: &mut Ui, dataset: Option<&InMemoryDataset>, graph: &Graph) {
        let Some(dataset) = dataset else { return };
        self.sample_row(ui, dataset);
        let Some(traced) = self.current_trace() else {
            ui.weak("Press Train (or Step): the recurrent layers' states and gates for this sequence appear here, step by step.");
            return;
        };
        let recurrences: Vec<(NodeId, &RecurrentTrace)> = traced
            .inside
            .iter()
            .filter_map(|(node, inside)| match inside {
                Inside::Recurrence(r) => Some((*node, r)),
                Inside::Attention { .. } => None,
            })
            .collect();
        if recurrences.is_empty() {
            ui.weak("This network has no recurrent layer.");
            return;
        }
        self.recurrence = self.recurrence.min(recurrences.len() - 1);
        let name = |(node, r): &(NodeId, &RecurrentTrace)| {
            let node = graph.node(*node).map_or("recurrent", |n| n.name.as_str());
            let direction = if r.reverse { ", backward" } else { "" };
            format!("{node}, layer {}{direction}", r.layer + 1)
        };
        if recurrences.len() > 1 {
            ui.horizontal(|ui| {
                let label = ui.label("Layer");
                egui::ComboBox::from_id_salt("recurrence")
                    .selected_text(name(&recurrences[self.recurrence]))
                    .show_ui(ui, |ui| {
                        for (i, r) in recurrences.iter().enumerate() {
                            ui.selectable_value(&mut self.recurrence, i, name(r));
                        }
                    })
                    .response
                    .labelled_by(label.id);
            });
        }
        let (_, r) = recurrences[self.recurrence];
        let units = r.hidden.min(UNITS_SHOWN);
        if self.redraw(&traced, Tab::States) {
            for (map_name, map) in &r.maps {
                let largest = map.iter().fold(0f32, |m, v| m.max(v.abs()));
                // Gates and squashed states keep one scale, so that open reads as open.
                let scale = largest.max(1.0);
                let mut image = ColorImage::filled([r.steps, units], Color32::BLACK);
                for t in 0..r.steps {
                    for u in 0..units {
                        image.pixels[u * r.steps + t] = diverging(map[t * r.hidden + u], scale);
                    }
                }
                self.set_texture(ui.ctx(), format!("state {map_name}"), image);
            }
        }
        let shown = if units < r.hidden {
            format!("the first {units} of {} units", r.hidden)
        } else {
            format!("{units} units")
        };
        ui.weak(format!(
            "Across: the {} time steps · down: {shown} · orange above zero, blue below; gates run from 0 (shut, dark) to 1 (open, bright)",
            r.steps
        ));
        // The maps on the left, two rows of them; the gradient through time beside them.
        let area = ui.available_size();
        let maps_width = area.x * 0.64;
        let columns = r.maps.len().div_ceil(2).max(1);
        let rows = r.maps.len().div_ceil(columns);
        let caption = ui.text_style_height(&egui::TextStyle::Body) + 10.0;
        let cell = vec2(
            maps_width / columns as f32 - 10.0,
            ((area.y - 8.0) / rows as f32 - caption).max(24.0),
        );
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(maps_width);
                egui::Grid::new("state maps").show(ui, |ui| {
                    for row in r.maps.chunks(columns) {
                        for (map_name, _) in row {
                            let name = format!("state {map_name}");
                            let Some(texture) = self.textures.get(&name) else {
                                continue;
                            };
                            ui.vertical(|ui| {
                                ui.label(capitalised(map_name));
                                let response = ui.add(egui::Image::new((texture.id(), cell)));
                                accessible(&response, Role::Image, map_name);
                            });
                        }
                        ui.end_row();
                    }
                });
            });
            ui.separator();
            ui.vertical(|ui| gradient_through_time(ui, r));
        });
    }

    /// The forecast for the chosen series against the truth.
    pub fn forecast(&mut self, ui: &mut Ui, dataset: Option<&InMemoryDataset>) {
        let Some(dataset) = dataset.filter(|d| is_series(d)) else {
            ui.weak("The forecast is drawn for series: values over time with values to predict.");
            return;
        };
        self.sample_row(ui, dataset);
        let (Some(index), Some((sample, predicted))) = (self.chosen(), &self.predicted) else {
            ui.weak("Press Train (or Step) to see the network's forecast for this series.");
            return;
        };
        let Targets::Values { values, width } = dataset.targets() else {
            return;
        };
        let truth = &values[index * width..][..*width];
        let features = dataset.sample_features(index);
        let steps = dataset.feature_shape().first().copied().unwrap_or(1).max(1);
        // Targets at every time step, or for the whole window.
        let positions = if width % steps == 0 { steps } else { 1 };
        let outputs = (width / positions).max(1);
        let per_step = features.len() / steps.max(1);
        // One value per time step: the forecast at step t is for the step after it.
        let at = |position: usize| {
            if positions == steps {
                position as f64 + 1.0
            } else {
                (steps - positions + position) as f64 + 1.0
            }
        };
        let first_output = |values: &[f32]| -> Vec<[f64; 2]> {
            (0..positions)
                .map(|p| [at(p), f64::from(values[p * outputs])])
                .collect()
        };
        let input: Vec<[f64; 2]> = (0..steps)
            .map(|t| [t as f64, f64::from(features[t * per_step])])
            .collect();
        let fresh = *sample == index;
        ui.weak(if outputs > 1 {
            "The first predicted value at each step, against the truth"
        } else {
            "What the network predicts at each step for the next one, against what came"
        });
        let sparse = positions < 8;
        let faint = ui.visuals().weak_text_color();
        Plot::new("forecast plot")
            .legend(Legend::default())
            .x_axis_label("Time step")
            .y_axis_label("Value")
            .allow_scroll(false)
            .show(ui, |plot| {
                if positions < steps {
                    plot.line(Line::new("Input", PlotPoints::from(input)).color(faint));
                }
                let truth = first_output(truth);
                plot.line(Line::new("Truth", PlotPoints::from(truth.clone())).color(TRAIN_COLOR));
                if sparse {
                    plot.points(Points::new("Truth", truth).color(TRAIN_COLOR).radius(4.0));
                }
                if fresh && predicted.len() >= positions * outputs {
                    let forecast = first_output(predicted);
                    let line = Line::new("Forecast", PlotPoints::from(forecast.clone()));
                    plot.line(line.color(VALIDATION_COLOR).width(2.0));
                    if sparse {
                        let dots = Points::new("Forecast", forecast).radius(4.0);
                        plot.points(dots.color(VALIDATION_COLOR));
                    }
                }
            });
    }
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// An attention map at the size the panel allows, queries down and keys across, each labelled
/// with its token when there is room; hovering a cell names both steps and the weight.
fn large_map(
    ui: &mut Ui,
    texture: &TextureHandle,
    tokens: &[String],
    weight: &dyn Fn(usize, usize) -> f32,
) {
    if tokens.is_empty() {
        return;
    }
    let n = tokens.len();
    let margin = 22.0;
    let side = (ui.available_width().min(ui.available_height()) - margin - 8.0).max(60.0);
    let (rect, response) =
        ui.allocate_exact_size(vec2(side + margin, side + margin), Sense::hover());
    let map = Rect::from_min_size(rect.min + vec2(margin, margin), vec2(side, side));
    let painter = ui.painter_at(rect);
    painter.image(
        texture.id(),
        map,
        Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
        Color32::WHITE,
    );
    let cell = side / n as f32;
    // Every k-th token, so that labels never overlap.
    let every = (12.0 / cell).ceil().max(1.0) as usize;
    let font = FontId::monospace(cell.clamp(9.0, 14.0));
    let color = ui.visuals().text_color();
    for (i, token) in tokens.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let middle = (i as f32 + 0.5) * cell;
        let left = pos2(map.left() - 4.0, map.top() + middle);
        painter.text(left, Align2::RIGHT_CENTER, token, font.clone(), color);
        let top = pos2(map.left() + middle, map.top() - 4.0);
        painter.text(top, Align2::CENTER_BOTTOM, token, font.clone(), color);
    }
    accessible(
        &response,
        Role::Image,
        "Attention weights of the chosen head",
    );
    if let Some(pointer) = response.hover_pos()
        && map.contains(pointer)
    {
        let q = (((pointer.y - map.top()) / cell) as usize).min(n - 1);
        let k = (((pointer.x - map.left()) / cell) as usize).min(n - 1);
        response.on_hover_text_at_pointer(format!(
            "{} reads {}: weight {:.1}%",
            tokens[q],
            tokens[k],
            100.0 * weight(q, k)
        ));
    }
}

/// The norm of the last step's state's gradient with respect to each time step's state, on a
/// log scale: flat for a cell that carries the gradient far back, falling away for one that
/// does not.
fn gradient_through_time(ui: &mut Ui, r: &RecurrentTrace) {
    ui.label("Gradient through time")
        .on_hover_text("How strongly the state after the last step depends on each earlier step's state (the gradient sent back from the last step, with the weights as they are now): a line that falls away from the last step is a vanishing gradient");
    if r.gradient_norms.is_empty() {
        ui.weak("The sequence is empty.");
        return;
    }
    let points: Vec<[f64; 2]> = r
        .gradient_norms
        .iter()
        .enumerate()
        .filter(|(_, g)| **g > 0.0)
        .map(|(t, g)| [t as f64, f64::from(*g).log10()])
        .collect();
    // What is left of the signal at the other end of the sequence, in words.
    let first = if r.reverse { r.steps - 1 } else { 0 };
    let left = r.gradient_norms.get(first).copied().unwrap_or(0.0);
    ui.weak(format!(
        "Step {first} gets {left:.0e} of the last step's signal"
    ));
    // At least 1 to 1e-12 on every run, so that two cells' plots compare at a glance.
    let mut plot = Plot::new("gradient through time")
        .x_axis_label("Time step")
        .include_y(0.2)
        .include_y(-12.0);
    // The axis title would stand taller than a short plot and over the heading.
    if ui.available_height() > 160.0 {
        plot = plot.y_axis_label("Size (log scale)");
    }
    plot.y_axis_formatter(|mark, _| format!("{:.0e}", 10f64.powf(mark.value)))
        .label_formatter(|hover| {
            let p = match hover {
                egui_plot::HoverPosition::NearDataPoint { position, .. }
                | egui_plot::HoverPosition::Elsewhere { position } => position,
            };
            Some(format!("step {:.0}: {:.2e}", p.x, 10f64.powf(p.y)))
        })
        .allow_scroll(false)
        .show(ui, |plot| {
            let line = Line::new("Gradient norm", PlotPoints::from(points));
            plot.line(line.color(TRAIN_COLOR).width(2.0));
        });
}
