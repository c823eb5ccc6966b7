//! Inside a node, while training is paused: its output for one sample of the last batch, its
//! weights, their gradients and the optimizer's state, each as a heatmap (feature maps and
//! kernels as a grid of small images) with its histogram and statistics.

use std::sync::Arc;

use egui::{Color32, ColorImage, TextureHandle, TextureOptions, Ui};

use crate::train::{Inspected, Inspection, TensorKind};

/// At most this many feature maps or kernels are drawn per tensor.
const MAX_TILES: usize = 64;

#[derive(Default)]
pub struct InsideView {
    /// The inspection drawn, with the time step it was drawn at, and its tensors as drawn.
    shown: Option<(Arc<Inspection>, Option<usize>)>,
    tensors: Vec<Inspected>,
    textures: Vec<TextureHandle>,
    /// The sample of the batch whose output is shown.
    pub sample: usize,
    /// The time step of a sequence output shown; `None` shows them all.
    pub time_step: Option<usize>,
}

/// A sequence tensor (`[steps, ...]`) at one time step, with its own statistics; other
/// tensors as they are.
fn at_time_step(tensor: &Inspected, steps: usize, step: Option<usize>) -> Inspected {
    let over_time = matches!(
        tensor.kind,
        Some(TensorKind::Activation | TensorKind::OutputGradient)
    ) && tensor.shape.len() >= 2
        && tensor.shape[0] == steps;
    match step.filter(|_| over_time) {
        Some(t) => {
            let shape = tensor.shape[1..].to_vec();
            let width: usize = shape.iter().product();
            let values = tensor
                .values
                .get(t * width..(t + 1) * width)
                .unwrap_or_default();
            let name = format!("{} at time step {}", tensor.name, t + 1);
            Inspected::new(name, tensor.kind, shape, values.to_vec())
        }
        None => tensor.clone(),
    }
}

/// A value as a colour: blue below zero, orange above, stronger further from it.
pub(super) fn diverging(v: f32, scale: f32) -> Color32 {
    if !v.is_finite() {
        return Color32::from_rgb(255, 0, 255);
    }
    let t = (v / scale).clamp(-1.0, 1.0);
    let (r, g, b) = if t < 0.0 {
        (50.0, 110.0, 210.0)
    } else {
        (245.0, 150.0, 40.0)
    };
    let a = t.abs();
    let mix = |c: f32| (20.0 + (c - 20.0) * a) as u8;
    Color32::from_rgb(mix(r), mix(g), mix(b))
}

/// How a tensor is cut into tiles: (tile height, tile width, tiles). Images and kernels are
/// their last two axes; a matrix is one tile; a vector wraps at 32 values.
fn tiling(shape: &[usize], len: usize) -> (usize, usize, usize) {
    match shape {
        [.., h, w] if shape.len() >= 3 => (*h, *w, (len / (h * w).max(1)).min(MAX_TILES)),
        [rows, columns] => (*rows, *columns, 1),
        _ => (len.div_ceil(32).max(1), len.clamp(1, 32), 1),
    }
}

/// Whether a matrix is drawn on its side: one far taller than wide (a Dense layer's weights
/// from a few inputs) would be a thin strip.
fn on_its_side(shape: &[usize]) -> bool {
    matches!(shape, [rows, columns] if *rows > 4 * *columns)
}

/// The tensor as one image of tiles with a one-pixel gap between them.
pub fn heatmap(tensor: &Inspected) -> ColorImage {
    let (mut h, mut w, tiles) = tiling(&tensor.shape, tensor.values.len());
    let sideways = on_its_side(&tensor.shape);
    if sideways {
        (h, w) = (w, h);
    }
    let columns = (tiles as f32).sqrt().ceil() as usize;
    let rows = tiles.div_ceil(columns);
    let size = [columns * (w + 1) - 1, rows * (h + 1) - 1];
    let mut image = ColorImage::filled(size, Color32::TRANSPARENT);
    let scale = tensor
        .stats
        .min
        .abs()
        .max(tensor.stats.max.abs())
        .max(1e-12);
    for tile in 0..tiles {
        let (x0, y0) = ((tile % columns) * (w + 1), (tile / columns) * (h + 1));
        for y in 0..h {
            for x in 0..w {
                let index = if sideways { x * h + y } else { y * w + x };
                if let Some(&v) = tensor.values.get(tile * h * w + index) {
                    image.pixels[(y0 + y) * size[0] + x0 + x] = diverging(v, scale);
                }
            }
        }
    }
    image
}

fn title(tensor: &Inspected, sample: usize) -> String {
    let shape = tensor
        .shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("×");
    let what = match tensor.kind {
        Some(TensorKind::Activation) => format!("Output for sample {}", sample + 1),
        Some(TensorKind::Weight) => "Weights".into(),
        Some(TensorKind::OutputGradient) => {
            format!("Gradient of the output for sample {}", sample + 1)
        }
        Some(TensorKind::Gradient) => "Gradient".into(),
        Some(TensorKind::Change) => "Change in the last step".into(),
        None => "Optimizer state".into(),
    };
    // A gradient's buffer is named after what it is the gradient of.
    let name = tensor.name.trim_start_matches("grad ");
    format!("{what}: {name} [{shape}]")
}

/// Height of each tensor's histogram, in points.
const HISTOGRAM_HEIGHT: f32 = 90.0;

impl InsideView {
    /// `time_steps` is the length of the node's output sequence, if it has a time axis.
    pub fn show(&mut self, ui: &mut Ui, inspection: &Arc<Inspection>, time_steps: Option<usize>) {
        let step = time_steps.and(self.time_step);
        if !self
            .shown
            .as_ref()
            .is_some_and(|(s, at)| Arc::ptr_eq(s, inspection) && *at == step)
        {
            let steps = time_steps.unwrap_or(0);
            self.tensors = inspection
                .tensors
                .iter()
                .map(|t| at_time_step(t, steps, step))
                .collect();
            self.textures = self
                .tensors
                .iter()
                .map(|t| {
                    ui.ctx()
                        .load_texture(&t.name, heatmap(t), TextureOptions::NEAREST)
                })
                .collect();
            self.shown = Some((Arc::clone(inspection), step));
        }
        ui.strong(format!("Inside, after step {}", inspection.step));
        if let Some(steps) = time_steps {
            self.time_step_picker(ui, steps);
        }
        ui.horizontal(|ui| {
            let label = ui.label("Sample");
            let mut shown = self.sample + 1;
            if ui
                .add(egui::DragValue::new(&mut shown).range(1..=4096))
                .labelled_by(label.id)
                .on_hover_text("Which sample of the last batch the output is shown for")
                .changed()
            {
                self.sample = shown.saturating_sub(1);
            }
        });
        let width = ui.available_width().min(260.0);
        for (tensor, texture) in self.tensors.iter().zip(&self.textures) {
            ui.separator();
            ui.label(title(tensor, inspection.sample));
            let s = &tensor.stats;
            ui.weak(format!(
                "mean {:.3}, std {:.3}, min {:.3}, max {:.3}, zeros {:.0}%",
                s.mean,
                s.std,
                s.min,
                s.max,
                s.zero_fraction * 100.0
            ));
            let size = texture.size_vec2();
            let scale = (width / size.x).min(8.0);
            let mut about = "Orange above zero, blue below; the brighter, the larger.".to_string();
            if on_its_side(&tensor.shape) {
                about += " Drawn on its side: each column of pixels is a row of the matrix.";
            }
            ui.add(egui::Image::new(texture).fit_to_exact_size(size * scale))
                .on_hover_text(about);
            ui.allocate_ui(egui::vec2(width, HISTOGRAM_HEIGHT), |ui| {
                super::plots::histogram(ui, ("inside", &tensor.name), &tensor.name, s);
            });
        }
    }

    /// All time steps of a sequence output at once, or one of them.
    fn time_step_picker(&mut self, ui: &mut Ui, steps: usize) {
        ui.horizontal(|ui| {
            let mut all = self.time_step.is_none();
            if ui
                .checkbox(&mut all, "All time steps")
                .on_hover_text("The output over the whole sequence, one row per time step; untick to see one step and its histogram")
                .changed()
            {
                self.time_step = if all { None } else { Some(0) };
            }
            if let Some(step) = &mut self.time_step {
                let label = ui.label("Time step");
                let mut shown = (*step).min(steps - 1) + 1;
                ui.add(egui::DragValue::new(&mut shown).range(1..=steps))
                    .labelled_by(label.id);
                *step = shown - 1;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_maps_are_tiled_and_matrices_drawn_whole() {
        let maps = Inspected::new("conv".into(), None, vec![4, 3, 2], vec![1.0; 24]);
        let image = heatmap(&maps);
        // Four 3x2 maps in two columns and two rows, a pixel apart.
        assert_eq!(image.size, [2 * 3 - 1, 2 * 4 - 1]);
        let matrix = Inspected::new("dense".into(), None, vec![5, 7], vec![-1.0; 35]);
        assert_eq!(heatmap(&matrix).size, [7, 5]);
        let bias = Inspected::new("bias".into(), None, vec![40], vec![0.5; 40]);
        assert_eq!(heatmap(&bias).size, [32, 2]);
        // 16 rows of 2: drawn as 2 pixel rows of 16, row r of the matrix in column r.
        let values: Vec<f32> = (0..32).map(|i| if i == 7 { 1.0 } else { 0.0 }).collect();
        let tall = Inspected::new("dense".into(), None, vec![16, 2], values);
        let image = heatmap(&tall);
        assert_eq!(image.size, [16, 2]);
        let lit: Vec<usize> = (0..32)
            .filter(|&p| image.pixels[p] != diverging(0.0, 1.0))
            .collect();
        assert_eq!(lit, [16 + 3], "row 3, column 1 of the matrix");
    }
}
