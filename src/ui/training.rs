//! The training panel: Train/Pause, Step, Step epoch and Reset; the run's status; the training
//! settings as undoable edits (the run picks them up while it trains); and the views of the
//! run, one tab at a time.

use std::time::Duration;

use egui::{DragValue, Ui};

use super::editor::{Editor, Gesture};
use super::inspector::number;
use super::plots;
use super::run::{DEFAULT_PACE, Run};
use super::task_view::TaskView;
use crate::data::InMemoryDataset;
use crate::graph::{BackendChoice, EarlyStopping, Optimizer, Schedule};
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
}

impl Tab {
    const ALL: [Tab; 10] = [
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
        }
    }
}

pub struct TrainingPanel {
    pub tab: Tab,
    pub task: TaskView,
    pub histograms: plots::HistogramChoice,
    /// Where the tab's view was drawn last, in points: what a PNG export shows.
    pub view_rect: egui::Rect,
}

impl Default for TrainingPanel {
    fn default() -> Self {
        Self {
            tab: Tab::default(),
            task: TaskView::default(),
            histograms: plots::HistogramChoice::default(),
            view_rect: egui::Rect::NOTHING,
        }
    }
}

/// What the panel asks the app to do with the run.
pub enum Request {
    Command(Command),
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
    pub fn show(
        &mut self,
        ui: &mut Ui,
        editor: &mut Editor,
        run: &Run,
        dataset: Option<&InMemoryDataset>,
    ) -> Option<Request> {
        let mut request = None;
        ui.horizontal(|ui| {
            let (label, command, hint) = if run.running {
                ("Pause", Command::Pause, "Pause after the step in progress")
            } else {
                (
                    "Train",
                    Command::Play,
                    "Train until the epochs are done (Space)",
                )
            };
            if ui.button(label).on_hover_text(hint).clicked() {
                request = Some(Request::Command(command));
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
            ui.label(status(run));
        });
        if let Some(report) = &run.non_finite {
            ui.colored_label(ui.visuals().error_fg_color, &report.message);
        }
        for notice in [&run.notice, &run.fallback].into_iter().flatten() {
            ui.colored_label(ui.visuals().warn_fg_color, notice);
        }
        ui.separator();
        egui::Panel::left("training settings")
            .resizable(false)
            .exact_size(250.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| settings(ui, editor, run));
            });
        ui.horizontal_wrapped(|ui| {
            for tab in Tab::ALL {
                ui.selectable_value(&mut self.tab, tab, tab.label());
            }
            ui.separator();
            if ui
                .button("Export PNG…")
                .on_hover_text("Save this view as a picture")
                .clicked()
            {
                request = Some(Request::Export { picture: true });
            }
            if !matches!(self.tab, Tab::DecisionBoundary | Tab::Neurons)
                && ui
                    .button("Export CSV…")
                    .on_hover_text("Save the numbers behind this view")
                    .clicked()
            {
                request = Some(Request::Export { picture: false });
            }
        });
        let top = ui.cursor().min;
        match self.tab {
            Tab::Loss => plots::loss(ui, &run.history),
            Tab::Accuracy => plots::accuracy(ui, &run.history),
            Tab::LearningRate => plots::learning_rate(ui, &run.history),
            Tab::Gradients => plots::gradients(ui, &run.history),
            Tab::UpdateRatios => plots::update_ratios(ui, &run.history),
            Tab::Histograms => self.histograms.show(ui, &run.history),
            Tab::DecisionBoundary => self.task.boundary(ui, dataset),
            Tab::Neurons => self.task.neurons.show(ui, dataset),
            Tab::Confusion => {
                if let Some(cell) = self.task.confusion(ui, &run.history) {
                    self.task.cell = Some(cell);
                    self.tab = Tab::Predictions;
                }
            }
            Tab::Predictions => self.task.predictions(ui, dataset),
        }
        self.view_rect = egui::Rect::from_min_max(top, ui.min_rect().max);
        request
    }
}

/// "Step 120 · epoch 3 · loss 0.412 · 850 steps/s · CPU (2 threads)"
fn status(run: &Run) -> String {
    let mut parts = Vec::new();
    if run.is_starting() {
        parts.push("Compiling the network…".to_string());
    }
    match &run.history.last {
        Some(last) => {
            parts.push(format!("Step {}", last.step));
            parts.push(format!("epoch {}", last.epoch + 1));
            parts.push(format!("loss {:.4}", last.loss));
            if run.running {
                parts.push(format!("{:.0} steps/s", run.history.steps_per_second()));
            }
        }
        None if !run.is_starting() => parts.push("Not trained yet".into()),
        None => {}
    }
    if let Some(reason) = run.finished {
        parts.push(
            match reason {
                FinishReason::EpochsDone => "finished: all epochs done",
                FinishReason::StepLimit => "finished: step limit",
                FinishReason::EarlyStopped => "finished early: validation loss stopped improving",
            }
            .into(),
        );
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
    let mut early = t.early_stopping.is_some();
    ui.checkbox(&mut early, "Early stopping")
        .on_hover_text("Stop when the validation loss has not improved for some epochs");
    t.early_stopping = match (early, t.early_stopping) {
        (false, _) => None,
        (true, Some(mut e)) => {
            number(ui, "Patience (epochs)", &mut e.patience, 1..=1000, 1.0);
            Some(e)
        }
        (true, None) => Some(EarlyStopping {
            patience: 5,
            min_delta: 0.0,
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
        Optimizer::Adam { beta1, beta2, .. } | Optimizer::AdamW { beta1, beta2, .. } => {
            number(ui, "Beta 1", beta1, 0.0..=0.9999, 0.001);
            number(ui, "Beta 2", beta2, 0.0..=0.99999, 0.0001);
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
