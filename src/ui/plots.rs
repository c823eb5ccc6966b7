//! The run's plots (egui_plot): loss, accuracy, learning rate, gradient norms and update-to-weight
//! ratios per layer, and histograms of weights, gradients and activations over time. Every line is decimated to the
//! pixels it covers, so a million steps draw as fast as a hundred.

use egui::{Color32, Ui};
use egui_plot::{Bar, BarChart, HLine, Line, LineStyle, Plot, PlotPoints, Points};

use super::history::{History, Point, Trace, decimate};
use super::plot_style::{
    TRAIN_COLOR, VALIDATION_COLOR, legend_ui, number_text, series_color, tick_text,
};
use crate::engine::{HISTOGRAM_BINS, TensorStats};
use crate::train::TensorKind;

/// Where a plotted series' points come from.
enum Source<'a> {
    Points(&'a [Point]),
    Trace(&'a Trace),
}

/// A line of points, drawn from the part in view at a few points per pixel.
struct Series<'a> {
    name: String,
    source: Source<'a>,
    color: Option<Color32>,
    width: f32,
    markers: bool,
}

impl<'a> Series<'a> {
    fn new(name: impl Into<String>, points: &'a [Point]) -> Self {
        Self::from_source(name, Source::Points(points))
    }

    /// A growing series, drawn from its coarse copy when that loses nothing.
    fn trace(name: impl Into<String>, trace: &'a Trace) -> Self {
        Self::from_source(name, Source::Trace(trace))
    }

    fn from_source(name: impl Into<String>, source: Source<'a>) -> Self {
        Self {
            name: name.into(),
            source,
            color: None,
            width: 1.5,
            markers: false,
        }
    }

    fn color(mut self, color: Color32) -> Self {
        self.color = Some(color);
        self
    }

    fn width(mut self, width: f32) -> Self {
        self.width = width;
        self
    }

    /// Also a dot per point (for sparse series such as epochs).
    fn markers(mut self) -> Self {
        self.markers = true;
        self
    }
}

/// A plot of `series` against the step; `log` plots log10 of the values, labelled as powers of ten.
/// How a plot's vertical axis is drawn.
#[derive(Clone, Copy)]
enum Scale {
    Linear,
    Log,
    /// The user's choice, a "Log scale" box on the legend row, remembered under this name.
    Choice(&'static str),
}

fn plot(ui: &mut Ui, id: &str, y_label: &str, scale: Scale, series: Vec<Series<'_>>) {
    plot_with_guide(ui, id, y_label, scale, series, None);
}

/// A level worth comparing against, drawn across the plot as a dashed line.
struct Guide {
    name: &'static str,
    value: f64,
}

fn plot_with_guide(
    ui: &mut Ui,
    id: &str,
    y_label: &str,
    scale: Scale,
    series: Vec<Series<'_>>,
    guide: Option<Guide>,
) {
    let columns = ui.available_width().max(1.0) as usize;
    let series: Vec<Series> = series
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let color = s.color.unwrap_or_else(|| series_color(i));
            s.color(color)
        })
        .collect();
    let legend: Vec<(String, Color32)> = series
        .iter()
        .map(|s| (s.name.clone(), s.color.unwrap_or(TRAIN_COLOR)))
        .collect();
    let mut log = matches!(scale, Scale::Log);
    legend_ui(ui, &legend, |ui| {
        if let Scale::Choice(name) = scale {
            let id = egui::Id::unique(name);
            log = ui.data(|d| d.get_temp::<bool>(id)).unwrap_or(false);
            if ui.checkbox(&mut log, "Log scale").changed() {
                ui.data_mut(|d| d.insert_temp(id, log));
            }
            ui.add_space(8.0);
        }
    });
    let y_label = if log && matches!(scale, Scale::Choice(_)) {
        format!("{y_label} (log scale)")
    } else {
        y_label.to_string()
    };
    let mut plot = Plot::new(id)
        .x_axis_label("Step")
        .y_axis_label(y_label)
        .x_axis_formatter(|mark, _| tick_text(mark))
        .y_axis_formatter(|mark, _| tick_text(mark))
        .allow_scroll(false);
    if log {
        plot = plot
            .y_axis_formatter(|mark, _| number_text(10f64.powf(mark.value), 0.0))
            .label_formatter(|hover| {
                let (name, p) = match hover {
                    egui_plot::HoverPosition::NearDataPoint {
                        plot_name,
                        position,
                        ..
                    } => (*plot_name, position),
                    egui_plot::HoverPosition::Elsewhere { position } => ("", position),
                };
                Some(format!("{name}\nstep {:.0}: {:.3e}", p.x, 10f64.powf(p.y)))
            });
    }
    plot.show(ui, |plot_ui| {
        if let Some(guide) = guide {
            let y = if log {
                guide.value.log10()
            } else {
                guide.value
            };
            plot_ui.hline(
                HLine::new(guide.name, y)
                    .style(LineStyle::dashed_loose())
                    .color(Color32::GRAY),
            );
        }
        let bounds = plot_ui.plot_bounds();
        // While the view follows the data, every point counts towards the bounds.
        let range = if plot_ui.auto_bounds().x {
            (f64::NEG_INFINITY, f64::INFINITY)
        } else {
            (bounds.min()[0], bounds.max()[0])
        };
        for s in series {
            let mut points = match s.source {
                Source::Points(points) => decimate(points, range, columns),
                Source::Trace(trace) => trace.decimated(range, columns),
            };
            if log {
                points.retain(|p| p[1] > 0.0);
                for p in &mut points {
                    p[1] = p[1].log10();
                }
            }
            // Dots help a sparse series; thousands of them only cost time.
            if s.markers && points.len() <= 300 {
                let mut dots =
                    Points::new(s.name.clone(), PlotPoints::from(points.clone())).radius(2.5);
                if let Some(color) = s.color {
                    dots = dots.color(color);
                }
                plot_ui.points(dots);
            }
            let mut line = Line::new(s.name, PlotPoints::from(points)).width(s.width);
            if let Some(color) = s.color {
                line = line.color(color);
            }
            plot_ui.line(line);
        }
    });
}

fn epoch_series(
    history: &History,
    value: impl Fn(&super::history::EpochPoint) -> Option<f32>,
) -> Vec<Point> {
    history
        .epochs
        .iter()
        .filter_map(|e| value(e).map(|v| [e.step as f64, f64::from(v)]))
        .collect()
}

fn empty_hint(ui: &mut Ui, history: &History) -> bool {
    if history.loss.is_empty() {
        ui.weak("Press Train (or Step) to see the network learn.");
        return true;
    }
    false
}

pub fn loss(ui: &mut Ui, history: &History) {
    if empty_hint(ui, history) {
        return;
    }
    let train = epoch_series(history, |e| Some(e.train_loss));
    let validation = epoch_series(history, |e| e.validation_loss);
    let faint = ui.visuals().weak_text_color().gamma_multiply(0.6);
    plot(
        ui,
        "loss plot",
        "Loss",
        Scale::Choice("loss on a log scale"),
        vec![
            Series::trace("Loss per step", &history.loss)
                .color(faint)
                .width(1.0),
            Series::trace("Loss (smoothed)", &history.smoothed_loss)
                .color(TRAIN_COLOR)
                .width(2.0),
            Series::new("Training loss per epoch", &train)
                .color(TRAIN_COLOR.gamma_multiply(0.7))
                .markers(),
            Series::new("Validation loss per epoch", &validation)
                .color(VALIDATION_COLOR)
                .markers(),
        ],
    );
}

pub fn accuracy(ui: &mut Ui, history: &History) {
    if empty_hint(ui, history) {
        return;
    }
    let train = epoch_series(history, |e| e.train_accuracy);
    let validation = epoch_series(history, |e| e.validation_accuracy);
    if train.is_empty() && validation.is_empty() {
        ui.weak("Accuracy is measured at the end of each epoch of a classification task.");
        return;
    }
    plot(
        ui,
        "accuracy plot",
        "Accuracy",
        Scale::Linear,
        vec![
            Series::new("Training accuracy", &train)
                .color(TRAIN_COLOR)
                .markers(),
            Series::new("Validation accuracy", &validation)
                .color(VALIDATION_COLOR)
                .markers(),
        ],
    );
}

pub fn learning_rate(ui: &mut Ui, history: &History) {
    if empty_hint(ui, history) {
        return;
    }
    plot(
        ui,
        "learning rate plot",
        "Learning rate",
        Scale::Linear,
        vec![Series::trace("Learning rate", &history.learning_rate).color(TRAIN_COLOR)],
    );
}

/// The gradient's norm per parameter and over the whole network, on a log scale: vanishing
/// gradients sink towards 1e-8, exploding ones climb.
pub fn gradients(ui: &mut Ui, history: &History) {
    if empty_hint(ui, history) {
        return;
    }
    let per_layer = gradient_norms(history);
    let mut series = vec![Series::trace("Whole network", &history.grad_norm).width(2.0)];
    series.extend(
        per_layer
            .iter()
            .map(|(name, points)| Series::new(name.clone(), points)),
    );
    plot(ui, "gradient plot", "Gradient norm", Scale::Log, series);
}

/// Each parameter's gradient norm over time, named after the parameter.
fn gradient_norms(history: &History) -> Vec<(String, Vec<Point>)> {
    history
        .of_kind(TensorKind::Gradient)
        .map(|(w, series)| {
            let points = series
                .iter()
                .map(|(step, s)| [*step as f64, f64::from(s.l2)])
                .collect();
            // A gradient's buffer is named after what it is the gradient of.
            (w.name.trim_start_matches("grad ").to_string(), points)
        })
        .collect()
}

/// How far each step moves each parameter, as the norm of its change over the norm of its
/// values, on a log scale. Around 1e-3 is the usual sign of a healthy learning rate; far above,
/// the weights are thrown about; far below, they barely learn.
pub fn update_ratios(ui: &mut Ui, history: &History) {
    if empty_hint(ui, history) {
        return;
    }
    let ratios = update_ratio_series(history);
    if ratios.is_empty() {
        ui.weak("No parameter is trained yet.");
        return;
    }
    let series = ratios
        .iter()
        .map(|(name, points)| Series::new(name.clone(), points))
        .collect();
    let guide = Guide {
        name: "1e-3, a usual healthy ratio",
        value: 1e-3,
    };
    plot_with_guide(
        ui,
        "update ratio plot",
        "Update / weight",
        Scale::Log,
        series,
        Some(guide),
    );
}

/// Each parameter's ratio of its change in a step to its values, over time.
fn update_ratio_series(history: &History) -> Vec<(String, Vec<Point>)> {
    history
        .of_kind(TensorKind::Change)
        .filter_map(|(change, changes)| {
            let (weight, values) = history
                .of_kind(TensorKind::Weight)
                .find(|(w, _)| change.name.strip_suffix(" (change)") == Some(w.name.as_str()))?;
            // Both were measured on the same steps, so the series pair up.
            let points = changes
                .iter()
                .zip(values)
                .map(|((step, c), (_, w))| [*step as f64, f64::from(c.l2 / w.l2.max(1e-12))])
                .collect();
            Some((weight.name.clone(), points))
        })
        .collect()
}

/// Which tensor's histogram to show, and when.
#[derive(Default)]
pub struct HistogramChoice {
    pub kind: Option<TensorKind>,
    pub tensor: usize,
    /// Index into the tensor's snapshots; `None` follows the newest.
    pub at: Option<usize>,
}

impl HistogramChoice {
    /// The chosen tensor's histogram at the chosen time: `low,high,count` per bin.
    fn csv(&self, history: &History) -> Option<String> {
        let (_, series) = history.of_kind(self.kind?).nth(self.tensor)?;
        let (_, stats) = series.get(self.at.unwrap_or(series.len().checked_sub(1)?))?;
        let width = (stats.max - stats.min) / HISTOGRAM_BINS as f32;
        let mut csv = String::from("low,high,count\n");
        for (i, count) in stats.histogram.iter().enumerate() {
            let low = stats.min + i as f32 * width;
            csv.push_str(&format!("{low},{},{count}\n", low + width));
        }
        Some(csv)
    }

    pub fn show(&mut self, ui: &mut Ui, history: &History) {
        let kind = *self.kind.get_or_insert(TensorKind::Weight);
        let tensors: Vec<_> = history.of_kind(kind).collect();
        ui.horizontal(|ui| {
            for (k, name) in [
                (TensorKind::Weight, "Weights"),
                (TensorKind::Gradient, "Gradients"),
                (TensorKind::Activation, "Activations"),
                (TensorKind::OutputGradient, "Activation gradients"),
            ] {
                if ui.selectable_label(kind == k, name).clicked() {
                    self.kind = Some(k);
                    self.tensor = 0;
                }
            }
            let label = ui.label("Tensor");
            let current = tensors
                .get(self.tensor)
                .map_or("—", |(w, _)| w.name.as_str());
            egui::ComboBox::from_id_salt("histogram tensor")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (i, (w, _)) in tensors.iter().enumerate() {
                        ui.selectable_value(&mut self.tensor, i, &w.name);
                    }
                })
                .response
                .labelled_by(label.id);
        });
        let Some((_, series)) = tensors.get(self.tensor) else {
            ui.weak("Press Train (or Step) to see how the values spread.");
            return;
        };
        let Some(last) = series.len().checked_sub(1) else {
            ui.weak("No statistics yet: they arrive a few times a second while training.");
            return;
        };
        let mut at = self.at.unwrap_or(last).min(last);
        ui.horizontal(|ui| {
            let label = ui.label("Time");
            let slider = ui
                .add(
                    egui::Slider::new(&mut at, 0..=last)
                        .custom_formatter(|i, _| format!("step {}", series[i as usize].0)),
                )
                .labelled_by(label.id);
            if slider.changed() {
                self.at = (at < last).then_some(at);
            }
            if self.at.is_some() && ui.button("Follow the newest").clicked() {
                self.at = None;
            }
        });
        let (tensor, _) = tensors[self.tensor];
        let (step, stats) = &series[at];
        ui.label(format!(
            "Step {step}: mean {:.4}, std {:.4}, min {:.4}, max {:.4}, zeros {:.1}%, not finite {:.1}%",
            stats.mean,
            stats.std,
            stats.min,
            stats.max,
            stats.zero_fraction * 100.0,
            stats.non_finite_fraction * 100.0
        ));
        histogram(ui, "histogram plot", &tensor.name, stats);
    }
}

/// Tensor `name`'s histogram as bars over its range of values, as tall as `ui` allows; `id`
/// tells this plot from others of the same tensor.
pub fn histogram(ui: &mut Ui, id: impl egui::AsIdSalt, name: &str, stats: &TensorStats) {
    let width = (stats.max - stats.min).max(f32::EPSILON) as f64 / HISTOGRAM_BINS as f64;
    let bars = stats
        .histogram
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            Bar::new(stats.min as f64 + (i as f64 + 0.5) * width, f64::from(n)).width(width)
        })
        .collect();
    let shown = Plot::new(id)
        .x_axis_label("Value")
        .y_axis_label("Count")
        .x_axis_formatter(|mark, _| tick_text(mark))
        .y_axis_formatter(|mark, _| tick_text(mark))
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |plot_ui| {
            plot_ui.bar_chart(BarChart::new("Values", bars).color(TRAIN_COLOR));
        });
    super::canvas::accessible(
        &shown.response,
        egui::Role::Image,
        &format!("Histogram of {name}"),
    );
}

/// Series as CSV rows of `series,step,value`.
pub fn series_csv(series: &[(&str, &[Point])]) -> String {
    let mut csv = String::from("series,step,value\n");
    for (name, points) in series {
        for [x, y] in points.iter() {
            csv.push_str(&format!("{name},{x},{y}\n"));
        }
    }
    csv
}

/// The CSV of what `tab` shows.
pub fn csv(
    tab: super::training::Tab,
    history: &History,
    histogram: &HistogramChoice,
) -> Option<String> {
    use super::training::Tab;
    Some(match tab {
        Tab::Loss => series_csv(&[
            ("loss", &history.loss),
            ("smoothed_loss", &history.smoothed_loss),
            (
                "train_loss_epoch",
                &epoch_series(history, |e| Some(e.train_loss)),
            ),
            (
                "validation_loss_epoch",
                &epoch_series(history, |e| e.validation_loss),
            ),
        ]),
        Tab::Accuracy => series_csv(&[
            (
                "train_accuracy",
                &epoch_series(history, |e| e.train_accuracy),
            ),
            (
                "validation_accuracy",
                &epoch_series(history, |e| e.validation_accuracy),
            ),
        ]),
        Tab::LearningRate => series_csv(&[("learning_rate", &history.learning_rate)]),
        Tab::Gradients => {
            let gradients = gradient_norms(history);
            let mut series: Vec<(&str, &[Point])> = vec![("grad_norm", &history.grad_norm)];
            series.extend(gradients.iter().map(|(n, p)| (n.as_str(), p.as_slice())));
            series_csv(&series)
        }
        Tab::UpdateRatios => {
            let ratios = update_ratio_series(history);
            let series: Vec<(&str, &[Point])> = ratios
                .iter()
                .map(|(n, p)| (n.as_str(), p.as_slice()))
                .collect();
            series_csv(&series)
        }
        Tab::Histograms => histogram.csv(history)?,
        Tab::Confusion => {
            let matrix = history.confusion.as_ref()?;
            let mut csv = String::from("true_class");
            for predicted in 0..matrix.len() {
                csv.push_str(&format!(",predicted_{predicted}"));
            }
            csv.push('\n');
            for (truth, row) in matrix.iter().enumerate() {
                csv.push_str(&truth.to_string());
                for count in row {
                    csv.push_str(&format!(",{count}"));
                }
                csv.push('\n');
            }
            csv
        }
        Tab::DecisionBoundary
        | Tab::Neurons
        | Tab::Predictions
        | Tab::Text
        | Tab::Attention
        | Tab::States
        | Tab::Forecast
        | Tab::Latent => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::StepReport;
    use crate::ui::training::Tab;

    #[test]
    fn update_ratios_pair_each_change_with_its_own_weights() {
        use crate::train::{Snapshot, Watched};
        let stats = |values: &[f32]| {
            let mut words = Vec::new();
            crate::engine::statistics_words(values, values.len(), &mut words);
            TensorStats::from_words(values.len(), &words)
        };
        let watched = |name: &str, kind| Watched {
            node: 1,
            kind,
            name: name.into(),
            buffer: 0,
        };
        let mut history = History::default();
        history.watch(vec![
            watched("d.weight", TensorKind::Weight),
            watched("d.bias", TensorKind::Weight),
            watched("d.weight (change)", TensorKind::Change),
            watched("d.bias (change)", TensorKind::Change),
            // A name that begins with another's pairs with its own weights all the same.
            watched("d.weight2", TensorKind::Weight),
            watched("d.weight2 (change)", TensorKind::Change),
        ]);
        // Norms: weights 5 then 10, bias 2; their changes 0.05 then 0.01, and 1.
        for (step, weight, moved) in [(1, [3.0, 4.0], 0.05), (2, [6.0, 8.0], 0.01)] {
            let stats = vec![
                stats(&weight),
                stats(&[2.0]),
                stats(&[moved]),
                stats(&[1.0]),
                stats(&[4.0]),
                stats(&[1.0]),
            ];
            history.snapshot(&Snapshot { step, stats }, 0);
        }
        let ratios = update_ratio_series(&history);
        let names: Vec<&str> = ratios.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["d.weight", "d.bias", "d.weight2"]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        let weight = &ratios[0].1;
        assert!(
            close(weight[0][1], 0.01) && close(weight[1][1], 0.001),
            "{weight:?}"
        );
        assert!(ratios[1].1.iter().all(|p| close(p[1], 0.5)));
        assert!(ratios[2].1.iter().all(|p| close(p[1], 0.25)));
        let csv = csv(Tab::UpdateRatios, &history, &HistogramChoice::default()).unwrap();
        assert_eq!(csv.lines().count(), 1 + 6);
        assert!(csv.contains("d.bias,2,0.5"), "{csv}");
    }

    #[test]
    fn a_plot_exports_every_point_of_its_series() {
        let mut history = History::default();
        for step in 1..=3 {
            let report = StepReport {
                step,
                epoch: 0,
                loss: 1.0 / step as f32,
                grad_norm: 0.5,
                learning_rate: 0.01,
                rows: 16,
                step_secs: 0.001,
                epoch_done: false,
                collected_at: std::time::Instant::now(),
            };
            history.steps(&[report], 0);
        }
        let loss = csv(Tab::Loss, &history, &HistogramChoice::default()).unwrap();
        let lines: Vec<&str> = loss.lines().collect();
        assert_eq!(lines[0], "series,step,value");
        assert_eq!(lines[1], "loss,1,1");
        assert_eq!(lines[3], "loss,3,0.3333333432674408");
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("smoothed_loss,"))
                .count(),
            3
        );
        let rates = csv(Tab::LearningRate, &history, &HistogramChoice::default()).unwrap();
        assert_eq!(rates.lines().count(), 4);
        assert!(csv(Tab::Confusion, &history, &HistogramChoice::default()).is_none());
    }
}
