//! A heatmap per neuron for small networks on two-feature sets, as TensorFlow Playground draws
//! them: every neuron's output over the plane the decision boundary covers, layer by layer, so
//! a class sees the first layer cut the plane into lines and later layers combine them.

use std::sync::Arc;

use egui::{Color32, ColorImage, Role, TextureHandle, TextureOptions, Ui};

use super::canvas::accessible;
use super::dataset::{CLASS_COLORS, scatter_extent};
use super::refresh::Refresh;
use super::run::Run;
use super::task_view::plane_grid;
use crate::data::{Dataset, InMemoryDataset};
use crate::train::Traced;

/// Neurons drawn per layer at most; wider layers show their first ones.
const NEURONS_SHOWN: usize = 16;

/// Cells along each side of a neuron's map: its picture is small, and a trace brings back every
/// neuron's output for every cell.
const MAP_CELLS: usize = 48;

/// Side of one neuron's map on screen, in points.
const MAP_SIDE: f32 = 44.0;

/// One layer's maps: its name, how many neurons it has, and per drawn neuron its picture and
/// the range of its output over the plane.
pub struct LayerMaps {
    pub name: String,
    pub neurons: usize,
    pub maps: Vec<(TextureHandle, f32, f32)>,
}

#[derive(Default)]
pub struct NeuronView {
    refresh: Refresh,
    pub layers: Vec<LayerMaps>,
}

/// Neuron `unit`'s output for every row of an output `width` values wide per row.
fn neuron_values(values: &[f32], width: usize, unit: usize) -> Vec<f32> {
    values
        .iter()
        .skip(unit)
        .step_by(width.max(1))
        .copied()
        .collect()
}

/// Blue for positive, orange for negative and pale near zero, as TF Playground colours them;
/// `scale` is the neuron's largest magnitude, so that a quiet neuron's pattern shows too.
fn diverging(value: f32, scale: f32) -> Color32 {
    let t = (value / scale.max(1e-6)).clamp(-1.0, 1.0);
    let end = if t >= 0.0 {
        CLASS_COLORS[1]
    } else {
        CLASS_COLORS[0]
    };
    Color32::from_gray(245).lerp_to_gamma(end, t.abs())
}

impl NeuronView {
    /// Turns the latest answer into pictures and asks for the next one when it is due.
    pub fn update(&mut self, ctx: &egui::Context, run: &mut Run, dataset: &InMemoryDataset) {
        if let Some(traced) = self.refresh.take(run, Run::take_traced) {
            self.draw(ctx, &traced);
        }
        self.refresh.ask(run, |run| {
            run.trace(plane_grid(scatter_extent(dataset), MAP_CELLS))
        });
    }

    /// Whether the maps show the weights after the run's latest step.
    pub fn is_current(&self, run: &Run) -> bool {
        self.refresh.is_current(run.steps()) && !self.layers.is_empty()
    }

    fn draw(&mut self, ctx: &egui::Context, traced: &Arc<Traced>) {
        let cells = MAP_CELLS * MAP_CELLS;
        if traced.rows != cells {
            return;
        }
        let mut layers = Vec::new();
        for (_, output) in traced.outputs.iter().filter(|(_, o)| o.shape.len() == 1) {
            let width = output.shape[0];
            let old = self.layers.iter_mut().find(|l| l.name == output.name);
            let mut textures = old.map(|l| std::mem::take(&mut l.maps)).unwrap_or_default();
            let maps = (0..width.min(NEURONS_SHOWN))
                .map(|unit| {
                    let values = neuron_values(&output.values, width, unit);
                    let (low, high) = values
                        .iter()
                        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                            (l.min(v), h.max(v))
                        });
                    let scale = low.abs().max(high.abs());
                    let pixels = values.iter().map(|&v| diverging(v, scale)).collect();
                    let image = ColorImage::new([MAP_CELLS; 2], pixels);
                    let texture = match textures.get_mut(unit) {
                        Some((texture, _, _)) => {
                            texture.set(image, TextureOptions::LINEAR);
                            texture.clone()
                        }
                        None => ctx.load_texture(
                            format!("{} neuron {}", output.name, unit + 1),
                            image,
                            TextureOptions::LINEAR,
                        ),
                    };
                    (texture, low, high)
                })
                .collect();
            layers.push(LayerMaps {
                name: output.name.clone(),
                neurons: width,
                maps,
            });
        }
        self.layers = layers;
    }

    pub fn show(&self, ui: &mut Ui, dataset: Option<&InMemoryDataset>) {
        if dataset.is_none_or(|d| d.feature_shape() != [2]) {
            ui.weak("Neurons are drawn over the plane for datasets with two input features.");
            return;
        }
        if self.layers.is_empty() {
            ui.weak("Press Train (or Step) to see what each neuron responds to.");
            return;
        }
        ui.label("Each square is one neuron's output over the plane of the data, layer by layer: blue where it is positive, orange where negative, each scaled to its own largest value.");
        // Maps stack down a column as far as the panel allows, then start another column.
        let gap = ui.spacing().item_spacing.y;
        let header = 2.0 * ui.text_style_height(&egui::TextStyle::Body) + 2.0 * gap;
        let rows = (((ui.available_height() - header) / (MAP_SIDE + gap)) as usize).max(1);
        egui::ScrollArea::both().id_salt("neurons").show(ui, |ui| {
            ui.horizontal_top(|ui| {
                for layer in &self.layers {
                    ui.vertical(|ui| layer_maps(ui, layer, rows));
                    ui.separator();
                }
            });
        });
    }
}

/// A layer's title and its maps in columns of `rows`.
fn layer_maps(ui: &mut Ui, layer: &LayerMaps, rows: usize) {
    let title = layer_title(&layer.name);
    ui.strong(title);
    if layer.neurons > layer.maps.len() {
        ui.weak(format!("first {} of {}", layer.maps.len(), layer.neurons));
    } else {
        ui.weak(format!("{} neurons", layer.neurons));
    }
    ui.horizontal_top(|ui| {
        for (column, maps) in layer.maps.chunks(rows).enumerate() {
            ui.vertical(|ui| {
                for (row, &(ref texture, low, high)) in maps.iter().enumerate() {
                    let mut label = format!("{title} neuron {}", column * rows + row + 1);
                    let response = ui.add(
                        egui::Image::new(texture).fit_to_exact_size(egui::Vec2::splat(MAP_SIDE)),
                    );
                    let hover = if low == 0.0 && high == 0.0 {
                        // Zero over the whole plane: no input the data could give wakes it.
                        ui.painter().rect_stroke(
                            response.rect,
                            0.0,
                            egui::Stroke::new(1.5, ui.visuals().error_fg_color),
                            egui::StrokeKind::Inside,
                        );
                        label += " (dead)";
                        format!("{label}: zero everywhere on the plane, so it passes nothing on and learns nothing")
                    } else {
                        format!("{label}: from {low:.3} to {high:.3} over the plane")
                    };
                    accessible(&response, Role::Image, &label);
                    response.on_hover_text(hover);
                }
            });
        }
    });
}

/// "hidden1" for the output buffer "hidden1 (relu)".
fn layer_title(buffer: &str) -> &str {
    buffer.split(" (").next().unwrap_or(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_neurons_values_are_its_column_of_every_row() {
        // Three rows of two neurons.
        let values = [1.0, -1.0, 2.0, -2.0, 3.0, -3.0];
        assert_eq!(neuron_values(&values, 2, 0), [1.0, 2.0, 3.0]);
        assert_eq!(neuron_values(&values, 2, 1), [-1.0, -2.0, -3.0]);
    }

    #[test]
    fn colours_run_from_orange_through_pale_to_blue() {
        assert_eq!(diverging(2.0, 2.0), CLASS_COLORS[1]);
        assert_eq!(diverging(-5.0, 2.0), CLASS_COLORS[0]);
        assert_eq!(diverging(0.0, 2.0), Color32::from_gray(245));
    }
}
