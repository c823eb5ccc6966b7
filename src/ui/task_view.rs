//! Views of the task the network learns: the decision boundary (or regression surface) of a 2D
//! set as an image under its points, and the validation set's confusion matrix.

use std::time::{Duration, Instant};

use egui::{Color32, ColorImage, Role, TextureHandle, TextureOptions, Ui};

use super::canvas::accessible;

use super::dataset::{CLASS_COLORS, scatter, scatter_extent, value_color, value_range};
use super::history::History;
use super::run::Run;
use crate::data::{Dataset, InMemoryDataset, Task};

/// Cells along each side of the decision-boundary image.
pub const BOUNDARY_CELLS: usize = 48;

/// How often the boundary is asked for while training.
const BOUNDARY_EVERY: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct TaskView {
    texture: Option<TextureHandle>,
    /// The tag of the request the texture shows, and the step and time it was asked at.
    asked: Option<(u64, u64, Instant)>,
    shown_tag: Option<u64>,
}

/// The centres of the boundary image's cells as feature rows, row by row from the top.
pub fn boundary_grid(extent: f32) -> Vec<f32> {
    let cell = 2.0 * extent / BOUNDARY_CELLS as f32;
    let mut features = Vec::with_capacity(BOUNDARY_CELLS * BOUNDARY_CELLS * 2);
    for row in 0..BOUNDARY_CELLS {
        for column in 0..BOUNDARY_CELLS {
            features.push(-extent + (column as f32 + 0.5) * cell);
            features.push(extent - (row as f32 + 0.5) * cell);
        }
    }
    features
}

/// The colour of one cell: the predicted class's, stronger the surer the network is; or the
/// value's colour for regression.
fn cell_color(task: &Task, prediction: &[f32], values: (f32, f32)) -> Color32 {
    let color = match task {
        Task::Regression { .. } => value_color(values, prediction[0]),
        Task::Classification { .. } => {
            let (class, confidence) = if prediction.len() == 1 {
                let p = 1.0 / (1.0 + (-prediction[0]).exp());
                (usize::from(p > 0.5), (2.0 * p - 1.0).abs())
            } else {
                let max = prediction.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let total: f32 = prediction.iter().map(|v| (v - max).exp()).sum();
                let class = crate::train::predicted_class(prediction);
                let k = prediction.len() as f32;
                let p = 1.0 / total;
                (class, ((p - 1.0 / k) / (1.0 - 1.0 / k)).clamp(0.0, 1.0))
            };
            return CLASS_COLORS[class % 10].gamma_multiply(0.15 + 0.45 * confidence);
        }
    };
    color.gamma_multiply(0.6)
}

impl TaskView {
    /// Asks the run for the boundary while it changes, and turns answers into the image.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        run: &mut Run,
        dataset: Option<&InMemoryDataset>,
    ) {
        let Some(dataset) = dataset.filter(|d| d.feature_shape() == [2]) else {
            return;
        };
        if let Some((tag, values)) = &run.predictions
            && self.shown_tag != Some(*tag)
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
            self.shown_tag = Some(*tag);
        }
        let step = run.steps();
        let due = self
            .asked
            .is_none_or(|(_, at_step, at)| at_step != step && at.elapsed() >= BOUNDARY_EVERY);
        if due && let Some(tag) = run.predict(boundary_grid(scatter_extent(dataset))) {
            self.asked = Some((tag, step, Instant::now()));
        }
    }

    /// Whether the image shows the weights after the run's latest step.
    pub fn is_current(&self, run: &Run) -> bool {
        self.asked
            .is_some_and(|(tag, step, _)| step == run.steps() && self.shown_tag == Some(tag))
    }

    /// Forgets the image (a new run or dataset).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    pub fn boundary(&self, ui: &mut Ui, dataset: Option<&InMemoryDataset>) {
        let Some(dataset) = dataset.filter(|d| d.feature_shape() == [2]) else {
            ui.weak("The decision boundary is drawn for datasets with two input features.");
            return;
        };
        if self.texture.is_none() {
            ui.weak("Press Train (or Step) to see the boundary form.");
        }
        // Filling the panel's height exactly: anything below would grow the panel each frame.
        let side = ui.available_height().min(ui.available_width()).max(120.0);
        let response = scatter(ui, dataset, side, self.texture.as_ref());
        let what = match dataset.task() {
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
    pub fn confusion(&self, ui: &mut Ui, history: &History) {
        let Some(matrix) = &history.confusion else {
            ui.weak("The confusion matrix is measured on the validation set at the end of each epoch of a classification task.");
            return;
        };
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
                        let cell = ui
                            .add_sized(
                                [cell * 1.4, cell],
                                egui::Button::new(count.to_string()).fill(fill),
                            )
                            .on_hover_text(&label);
                        accessible(&cell, Role::Button, &label);
                    }
                    ui.end_row();
                }
            });
    }
}
