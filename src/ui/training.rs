//! The training panel: Train/Pause, Step, Step epoch and Reset; the run's status; the training
//! settings as undoable edits (the run picks them up while it trains); and the views of the
//! run, one tab at a time.

use std::time::Duration;

use egui::{DragValue, Ui};

use super::editor::{Editor, Gesture};
use super::inspector::number;
use super::latent_view::LatentView;
use super::plots;
use super::run::{DEFAULT_PACE, Run};
use super::sequence_view::{self, SequenceView};
use super::task_view::TaskView;
use super::text_view::TextView;
use crate::data::{Dataset, InMemoryDataset};
use crate::graph::{BackendChoice, EarlyStopping, Graph, Optimizer, Schedule};
use crate::train::{Command, FinishReason};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tab {
    #[default]
    Loss,
    Accuracy,
    LearningRate,
    Gradients,
    UpdateRatios,
    Histograms,
    DecisionBoundary,
    Neurons,
    Confusion,
    Predictions,
    Text,
    Attention,
    States,
    Forecast,
    /// Where an autoencoder puts each sample at its bottleneck.
    Latent,
}

impl Tab {
    const ALL: [Tab; 15] = [
        Tab::Text,
        Tab::Forecast,
        Tab::States,
        Tab::Attention,
        Tab::Latent,
        Tab::Loss,
        Tab::Accuracy,
        Tab::LearningRate,
        Tab::Gradients,
        Tab::UpdateRatios,
        Tab::Histograms,
        Tab::DecisionBoundary,
        Tab::Neurons,
        Tab::Confusion,
        Tab::Predictions,
    ];

    /// Whether this view says anything about `dataset` (while it loads, every view is offered):
    /// the plane's views need two input features, the confusion matrix and the predictions
    /// per class a classification task; the views inside sequence layers a network that has
    /// them.
    pub fn applies_to(self, dataset: Option<&InMemoryDataset>, graph: &Graph) -> bool {
        match self {
            Tab::Attention => return sequence_view::has_attention(graph),
            Tab::States => return sequence_view::has_recurrence(graph),
            Tab::Latent => return super::latent_view::rebuilds(graph),
            _ => {}
        }
        // An autoencoder predicts no classes, whatever the dataset has.
        let predicts_targets = graph.learns_dataset_targets();
        let Some(dataset) = dataset else { return true };
        match self {
            Tab::DecisionBoundary | Tab::Neurons => dataset.feature_shape() == [2],
            Tab::Accuracy => {
                predicts_targets
                    && matches!(dataset.task(), crate::data::Task::Classification { .. })
            }
            // A class per sample; a class per time step has views of its own.
            Tab::Confusion | Tab::Predictions => {
                predicts_targets
                    && matches!(dataset.task(), crate::data::Task::Classification { .. })
                    && dataset.target_positions() == 1
            }
            Tab::Text => super::text_view::is_text(dataset),
            Tab::Forecast => sequence_view::is_series(dataset),
            _ => true,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tab::Loss => "Loss",
            Tab::Accuracy => "Accuracy",
            Tab::LearningRate => "Learning rate",
            Tab::Gradients => "Gradients",
            Tab::UpdateRatios => "Update ratio",
            Tab::Histograms => "Histograms",
            Tab::DecisionBoundary => "Decision boundary",
            Tab::Neurons => "Neurons",
            Tab::Confusion => "Confusion matrix",
            Tab::Predictions => "Predictions",
            Tab::Text => "Generated text",
            Tab::Attention => "Attention",
            Tab::States => "Recurrent state",
            Tab::Forecast => "Forecast",
            Tab::Latent => "Latent space",
        }
    }
}

pub struct TrainingPanel {
    pub tab: Tab,
    pub task: TaskView,
    pub text: TextView,
    pub sequence: SequenceView,
    pub latent: LatentView,
    pub histograms: plots::HistogramChoice,
    /// Where the tab's view was drawn last, in points: what a PNG export shows.
    pub view_rect: egui::Rect,
    /// How many more epochs to offer once training has finished (the project's count until
    /// changed).
    pub more_epochs: Option<usize>,
}

impl Default for TrainingPanel {
    fn default() -> Self {
        Self {
            tab: Tab::default(),
            task: TaskView::default(),
            text: TextView::default(),
            sequence: SequenceView::default(),
            latent: LatentView::default(),
            histograms: plots::HistogramChoice::default(),
            view_rect: egui::Rect::NOTHING,
            more_epochs: None,
        }
    }
}

/// What the panel asks the app to do with the run.
pub enum Request {
    Command(Command),
    /// After training finished: this many epochs more.
    TrainMore(usize),
    /// Clear the notices shown.
    Dismiss,
    Reset,
    Pace(Option<Duration>),
    /// Save the view in the tab as CSV (`false`) or as a PNG picture (`true`).
    Export {
        picture: bool,
    },
}

/// The speeds offered, as the shortest time between steps.
const PACES: [(&str, Option<Duration>); 5] = [
    ("10 steps/s", Some(Duration::from_millis(100))),
    ("30 steps/s", Some(Duration::from_micros(33_333))),
    ("60 steps/s", Some(DEFAULT_PACE)),
    ("200 steps/s", Some(Duration::from_millis(5))),
    ("Full speed", None),
];

impl TrainingPanel {
    /// `notice` is the window's own message (and whether it reports an error), shown with the
    /// run's in the one notice area.
    pub fn show(
        &mut self,
        ui: &mut Ui,
        editor: &mut Editor,
        run: &Run,
        dataset: Option<&InMemoryDataset>,
        notice: Option<&(String, bool)>,
    ) -> Option<Request> {
        let mut request = None;
        let errors = error_count(editor);
        // Wraps rather than runs off the window, as in Present mode's larger text.
        ui.horizontal_wrapped(|ui| {
            if run.running {
                if ui
                    .button("Pause")
                    .on_hover_text("Pause after the step in progress (Space)")
                    .clicked()
                {
                    request = Some(Request::Command(Command::Pause));
                }
            } else if run.finished.is_some() {
                let mut more = self.more_epochs.unwrap_or(editor.project.training.epochs);
                let plural = if more == 1 { "epoch" } else { "epochs" };
                if ui
                    .button(format!("Train {more} more {plural}"))
                    .on_hover_text("Go on from these weights for that many epochs (Space)")
                    .clicked()
                {
                    request = Some(Request::TrainMore(more));
                }
                ui.add(DragValue::new(&mut more).range(1..=100_000))
                    .on_hover_text("How many more epochs to train");
                self.more_epochs = Some(more);
            } else {
                let hint = match errors {
                    0 => "Train until the epochs are done (Space)".to_string(),
                    n => format!(
                        "The network has {} to fix first: pressing Train lists {}",
                        problems(n),
                        if n == 1 { "it" } else { "them" }
                    ),
                };
                if ui.button("Train").on_hover_text(hint).clicked() {
                    request = Some(Request::Command(Command::Play));
                }
            }
            if ui
                .button("Step")
                .on_hover_text("Train on exactly one batch, then pause")
                .clicked()
            {
                request = Some(Request::Command(Command::Step));
            }
            if ui
                .button("Step epoch")
                .on_hover_text("Train to the end of this epoch, then pause")
                .clicked()
            {
                request = Some(Request::Command(Command::StepEpoch));
            }
            if ui
                .button("Reset")
                .on_hover_text("Start again from fresh weights (the seed decides them)")
                .clicked()
            {
                request = Some(Request::Reset);
            }
            let label = ui.label("Speed");
            let current = PACES
                .iter()
                .find(|(_, p)| *p == run.pace())
                .map_or("Full speed", |(name, _)| name);
            egui::ComboBox::from_id_salt("speed")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (name, pace) in PACES {
                        if ui.selectable_label(name == current, name).clicked() {
                            request = Some(Request::Pace(pace));
                        }
                    }
                })
                .response
                .labelled_by(label.id)
                .on_hover_text("Slow enough to watch a small network learn, or as fast as it goes");
            ui.separator();
            ui.label(status(run, errors));
            if let Some(test) = &run.test {
                ui.separator();
                ui.strong(test_text(test)).on_hover_text(
                    "Measured once training finished, on the test split: samples the network never trained on",
                );
            }
        });
        if notices_ui(ui, run, notice) {
            request = Some(Request::Dismiss);
        }
        ui.separator();
        egui::Panel::left("training settings")
            .resizable(false)
            .exact_size(250.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| settings(ui, editor, run));
            });
        // Views that say nothing about this dataset are not offered at all.
        let graph = &editor.project.graph;
        if !self.tab.applies_to(dataset, graph) {
            self.tab = Tab::Loss;
        }
        let rows = if ui.available_height() > 240.0 {
            2.0
        } else {
            1.0
        };
        ui.horizontal_wrapped(|ui| {
            let offered: Vec<Tab> = Tab::ALL
                .into_iter()
                .filter(|t| t.applies_to(dataset, graph))
                .collect();
            // Tabs wrapped over several rows would take a short panel's height (Present mode's
            // larger text, a small window): then the views are offered as one list instead.
            if tabs_width(ui, &offered) <= rows * ui.available_width() {
                for tab in offered {
                    ui.selectable_value(&mut self.tab, tab, tab.label());
                }
            } else {
                let label = ui.label("View");
                egui::ComboBox::from_id_salt("view")
                    .selected_text(self.tab.label())
                    .show_ui(ui, |ui| {
                        for tab in offered {
                            ui.selectable_value(&mut self.tab, tab, tab.label());
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_hover_text("Which view of the training to show");
            }
            ui.separator();
            if ui
                .button("Export PNG…")
                .on_hover_text("Save this view as a picture")
                .clicked()
            {
                request = Some(Request::Export { picture: true });
            }
            if !matches!(
                self.tab,
                Tab::DecisionBoundary
                    | Tab::Neurons
                    | Tab::Text
                    | Tab::Attention
                    | Tab::States
                    | Tab::Forecast
                    | Tab::Latent
            ) && ui
                .button("Export CSV…")
                .on_hover_text("Save the numbers behind this view")
                .clicked()
            {
                request = Some(Request::Export { picture: false });
            }
        });
        // The view gets the rest of the panel and no more, so that a view larger than that (a
        // confusion matrix of many classes) never pushes the tab row up.
        let area = ui.available_rect_before_wrap();
        ui.allocate_rect(area, egui::Sense::hover());
        let mut view = ui.new_child(egui::UiBuilder::new().max_rect(area).layout(*ui.layout()));
        view.set_clip_rect(area.intersect(ui.clip_rect()));
        let ui = &mut view;
        let top = ui.cursor().min;
        match self.tab {
            Tab::Loss => plots::loss(ui, &run.history),
            Tab::Accuracy => plots::accuracy(ui, &run.history),
            Tab::LearningRate => plots::learning_rate(ui, &run.history),
            Tab::Gradients => plots::gradients(ui, &run.history),
            Tab::UpdateRatios => plots::update_ratios(ui, &run.history),
            Tab::Histograms => self.histograms.show(ui, &run.history),
            Tab::DecisionBoundary => self.task.boundary(ui, dataset, &editor.project),
            Tab::Neurons => self.task.neurons.show(ui, dataset),
            Tab::Confusion => {
                if let Some(cell) = self.task.confusion(ui, &run.history) {
                    self.task.cell = Some(cell);
                    self.tab = Tab::Predictions;
                }
            }
            Tab::Predictions => self.task.predictions(ui, dataset),
            Tab::Text => self.text.show(ui, dataset, &editor.project.graph),
            Tab::Attention => self.sequence.attention(ui, dataset),
            Tab::States => self.sequence.states(ui, dataset, &editor.project.graph),
            Tab::Forecast => self.sequence.forecast(ui, dataset),
            Tab::Latent => self.latent.show(ui, dataset),
        }
        self.view_rect = egui::Rect::from_min_max(top, ui.min_rect().max);
        request
    }
}

/// The width the tabs take in one row, with the export buttons after them.
fn tabs_width(ui: &Ui, tabs: &[Tab]) -> f32 {
    let spacing = ui.spacing();
    let text = |label: &str| {
        egui::WidgetText::from(label)
            .into_galley(
                ui,
                Some(egui::TextWrapMode::Extend),
                f32::INFINITY,
                egui::TextStyle::Button,
            )
            .size()
            .x
    };
    let button =
        |label: &str| text(label) + 2.0 * spacing.button_padding.x + spacing.item_spacing.x;
    tabs.iter().map(|t| button(t.label())).sum::<f32>()
        + button("Export PNG…")
        + button("Export CSV…")
        + spacing.item_spacing.x * 2.0
}

fn error_count(editor: &Editor) -> usize {
    editor
        .model
        .problems
        .iter()
        .filter(|p| p.severity == crate::compile::Severity::Error)
        .count()
}

fn problems(n: usize) -> String {
    if n == 1 {
        "1 problem".into()
    } else {
        format!("{n} problems")
    }
}

/// The one place for what the user should know (a NaN, a fallback to the CPU, layers started
/// afresh, a file saved or not), of a fixed height whether or not there is anything to say, so
/// that nothing below it moves when a notice comes or goes. Returns whether Dismiss was pressed.
fn notices_ui(ui: &mut Ui, run: &Run, notice: Option<&(String, bool)>) -> bool {
    let (error, warn) = (ui.visuals().error_fg_color, ui.visuals().warn_fg_color);
    let mut notices: Vec<(&str, egui::Color32)> = Vec::new();
    if let Some(report) = &run.non_finite {
        notices.push((&report.message, error));
    }
    if run.paused_by_errors {
        notices.push((
            "Paused: an edit left the network with problems. What was trained is the last network without them; fix the problems, then press Train to go on with the new one.",
            warn,
        ));
    }
    if let Some((text, is_error)) = notice {
        let color = if *is_error {
            error
        } else {
            ui.visuals().text_color()
        };
        notices.push((text, color));
    }
    for text in [&run.notice, &run.fallback].into_iter().flatten() {
        notices.push((text, warn));
    }
    let height = ui.text_style_height(&egui::TextStyle::Body) * 2.0 + ui.spacing().item_spacing.y;
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), height),
        egui::Sense::hover(),
    );
    let mut area = ui.new_child(egui::UiBuilder::new().max_rect(rect));
    area.set_clip_rect(rect.intersect(ui.clip_rect()));
    let mut dismissed = false;
    egui::ScrollArea::vertical()
        .id_salt("notices")
        .max_height(height)
        .auto_shrink([false, false])
        .show(&mut area, |ui| {
            for (i, (text, color)) in notices.iter().enumerate() {
                ui.horizontal_wrapped(|ui| {
                    if i == 0 && ui.small_button("Dismiss").clicked() {
                        dismissed = true;
                    }
                    ui.colored_label(*color, *text);
                });
            }
        });
    dismissed
}

/// What the run is doing, in words.
pub fn state(run: &Run) -> String {
    let paused_at = run.history.last.as_ref().map(|l| l.step);
    if run.is_starting() {
        "Compiling the network…".into()
    } else if run.running {
        "Training".into()
    } else if let Some(report) = &run.non_finite {
        format!("Stopped on NaN at step {}", report.step)
    } else if let Some(reason) = run.finished {
        match reason {
            FinishReason::EpochsDone => "Finished (all epochs done)",
            FinishReason::StepLimit => "Finished (step limit reached)",
            FinishReason::EarlyStopped => {
                "Finished (stopped early: the validation loss stopped improving)"
            }
        }
        .into()
    } else if let Some(step) = paused_at {
        format!("Paused at step {step}")
    } else {
        "Not trained yet".into()
    }
}

/// "Test (90 samples): loss 0.0123 · accuracy 97.8%", with MAE and R² for regression.
fn test_text(test: &crate::train::Metrics) -> String {
    let mut parts = vec![format!(
        "Test ({} samples): loss {:.4}",
        test.samples, test.loss
    )];
    if let Some(accuracy) = test.accuracy {
        parts.push(format!("accuracy {:.1}%", accuracy * 100.0));
    }
    if let Some(mae) = test.mae {
        parts.push(format!("MAE {mae:.4}"));
    }
    if let Some(r2) = test.r2 {
        parts.push(format!("R² {r2:.3}"));
    }
    parts.join(" · ")
}

/// "Training · epoch 3 · loss 0.412 · 850 steps/s · CPU (2 threads)"
fn status(run: &Run, errors: usize) -> String {
    let mut parts = vec![state(run)];
    if run.running
        && let Some(last) = &run.history.last
    {
        parts.push(format!("step {}", last.step));
    }
    if let Some(last) = &run.history.last {
        parts.push(format!("epoch {}", last.epoch + 1));
        parts.push(format!("loss {:.4}", last.loss));
        if run.running {
            parts.push(format!("{:.0} steps/s", run.history.steps_per_second()));
        }
    }
    if errors > 0 && !run.running {
        parts.push(format!("can't train: {} to fix", problems(errors)));
    }
    if let Some(device) = &run.device {
        parts.push(device.clone());
    }
    parts.join(" · ")
}

/// The project's training settings; every change is an undoable edit.
fn settings(ui: &mut Ui, editor: &mut Editor, run: &Run) {
    let mut t = editor.project.training.clone();
    let before = t.clone();
    ui.horizontal(|ui| {
        let label = ui.label("Backend");
        egui::ComboBox::from_id_salt("backend")
            .selected_text(backend_label(t.backend))
            .show_ui(ui, |ui| {
                for choice in [BackendChoice::Auto, BackendChoice::Gpu, BackendChoice::Cpu] {
                    ui.selectable_value(&mut t.backend, choice, backend_label(choice));
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("Auto takes a hardware GPU when there is one, else the CPU");
    });
    if let Some(device) = &run.device {
        ui.weak(format!("Running on {device}"));
    }
    ui.horizontal(|ui| {
        let label = ui.label("Learning rate");
        // Rates span many powers of ten: a drag moves by a percent of the value.
        let speed = f64::from(t.learning_rate) * 0.01;
        ui.add(
            DragValue::new(&mut t.learning_rate)
                .range(1e-7..=1e30)
                .speed(speed)
                .custom_formatter(|v, _| compact(v)),
        )
        .labelled_by(label.id)
        .on_hover_text("How big a step each update takes; changes apply at once");
    });
    optimizer(ui, &mut t.optimizer);
    schedule(ui, &mut t.schedule);
    number(ui, "Warm-up steps", &mut t.warmup_steps, 0..=100_000, 1.0);
    number(ui, "Batch size", &mut t.batch_size, 1..=4096, 1.0);
    number(ui, "Epochs", &mut t.epochs, 1..=100_000, 1.0);
    number(ui, "Weight decay", &mut t.weight_decay, 0.0..=1.0, 0.0001);
    number(ui, "L1 penalty", &mut t.l1, 0.0..=1.0, 0.0001);
    let mut clip = t.clip_norm.is_some();
    ui.checkbox(&mut clip, "Gradient clipping")
        .on_hover_text("Rescale the gradients when their overall L2 norm exceeds a limit");
    t.clip_norm = match (clip, t.clip_norm) {
        (false, _) => None,
        (true, Some(mut norm)) => {
            number(ui, "Clip norm", &mut norm, 1e-4..=1e6, 0.01);
            Some(norm)
        }
        (true, None) => Some(1.0),
    };
    ui.checkbox(&mut t.shuffle, "Shuffle")
        .on_hover_text("Reshuffle the training samples every epoch (seeded)");
    let mut early = t.early_stopping.is_some();
    ui.checkbox(&mut early, "Early stopping")
        .on_hover_text("Stop when the validation loss has not improved for some epochs");
    t.early_stopping = match (early, t.early_stopping) {
        (false, _) => None,
        (true, Some(mut e)) => {
            number(ui, "Patience (epochs)", &mut e.patience, 1..=1000, 1.0);
            number(ui, "Minimum change", &mut e.min_delta, 0.0..=10.0, 0.0001);
            ui.checkbox(&mut e.restore_best, "Restore the best weights")
                .on_hover_text("On stopping early, go back to the weights of the epoch with the lowest validation loss");
            Some(e)
        }
        (true, None) => Some(EarlyStopping {
            patience: 5,
            min_delta: 0.0,
            restore_best: false,
        }),
    };
    number(ui, "Seed", &mut t.seed, 0..=u64::MAX, 1.0);
    if t != before {
        // Settings are named so that dragging one field is one undo step.
        let name = changed_setting(&before, &t);
        editor.edit(Gesture::Training(name), |p| p.training = t);
    }
}

/// A number in few characters: 0.01, 0.0003, 3e-7, 1e+9.
fn compact(v: f64) -> String {
    if v == 0.0 || (1e-4..1e5).contains(&v.abs()) {
        let text = format!("{v:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:e}")
    }
}

fn changed_setting(
    a: &crate::graph::TrainingSettings,
    b: &crate::graph::TrainingSettings,
) -> &'static str {
    if a.learning_rate != b.learning_rate {
        "learning rate"
    } else if a.optimizer != b.optimizer {
        "optimizer"
    } else if a.batch_size != b.batch_size {
        "batch size"
    } else if a.epochs != b.epochs {
        "epochs"
    } else if a.seed != b.seed {
        "seed"
    } else {
        "training"
    }
}

fn backend_label(choice: BackendChoice) -> &'static str {
    match choice {
        BackendChoice::Auto => "Auto",
        BackendChoice::Gpu => "GPU",
        BackendChoice::Cpu => "CPU",
    }
}

fn optimizer(ui: &mut Ui, optimizer: &mut Optimizer) {
    let defaults = [
        Optimizer::Sgd {
            momentum: 0.9,
            nesterov: false,
        },
        Optimizer::default(),
        Optimizer::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        },
        Optimizer::RmsProp {
            alpha: 0.99,
            epsilon: 1e-8,
        },
        Optimizer::Adagrad { epsilon: 1e-10 },
    ];
    ui.horizontal(|ui| {
        let label = ui.label("Optimizer");
        egui::ComboBox::from_id_salt("optimizer")
            .selected_text(optimizer.label())
            .show_ui(ui, |ui| {
                for choice in defaults {
                    let same = std::mem::discriminant(&choice) == std::mem::discriminant(optimizer);
                    if ui.selectable_label(same, choice.label()).clicked() && !same {
                        *optimizer = choice;
                    }
                }
            })
            .response
            .labelled_by(label.id);
    });
    match optimizer {
        Optimizer::Sgd { momentum, nesterov } => {
            number(ui, "Momentum", momentum, 0.0..=0.999, 0.01);
            ui.checkbox(nesterov, "Nesterov momentum");
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
            number(ui, "Beta 1", beta1, 0.0..=0.9999, 0.001);
            number(ui, "Beta 2", beta2, 0.0..=0.99999, 0.0001);
            number(ui, "Epsilon", epsilon, 1e-12..=1.0, 1e-9);
        }
        Optimizer::RmsProp { alpha, .. } => {
            number(ui, "Alpha", alpha, 0.0..=0.9999, 0.001);
        }
        Optimizer::Adagrad { .. } => {}
    }
}

fn schedule(ui: &mut Ui, schedule: &mut Schedule) {
    let choices = [
        ("Constant", Schedule::Constant),
        (
            "Step",
            Schedule::Step {
                every_epochs: 10,
                gamma: 0.5,
            },
        ),
        ("Exponential", Schedule::Exponential { gamma: 0.95 }),
        ("Cosine", Schedule::Cosine { min_factor: 0.0 }),
    ];
    let current = choices
        .iter()
        .find(|(_, s)| std::mem::discriminant(s) == std::mem::discriminant(schedule))
        .map_or("Constant", |(name, _)| name);
    ui.horizontal(|ui| {
        let label = ui.label("Schedule");
        egui::ComboBox::from_id_salt("schedule")
            .selected_text(current)
            .show_ui(ui, |ui| {
                for (name, choice) in choices {
                    if ui.selectable_label(name == current, name).clicked() && name != current {
                        *schedule = choice;
                    }
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("How the learning rate changes as training goes on");
    });
    match schedule {
        Schedule::Constant => {}
        Schedule::Step {
            every_epochs,
            gamma,
        } => {
            number(ui, "Every (epochs)", every_epochs, 1..=10_000, 1.0);
            number(ui, "Factor", gamma, 0.0..=1.0, 0.01);
        }
        Schedule::Exponential { gamma } => {
            number(ui, "Factor per epoch", gamma, 0.0..=1.0, 0.001);
        }
        Schedule::Cosine { min_factor } => {
            number(ui, "Lowest factor", min_factor, 0.0..=1.0, 0.01);
        }
    }
}
