//! The layer palette: every layer kind by group, and blocks of layers (a transformer block),
//! filtered by a search box. Drag an entry onto the canvas to place it there; double-click to
//! add it after the selected node, wired.

use egui::{Color32, Sense, Ui};

use super::catalog::{self, GROUPS};
use super::editor::Editor;
use crate::graph::Layer;

#[derive(Default)]
pub struct Palette {
    search: String,
}

/// A block of layers the palette offers, carried to the canvas when dragged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    Transformer,
}

const BLOCK_NAME: &str = "TransformerBlock";
const BLOCK_KEYWORDS: &str = "block group transformer gpt pre-norm residual attention mlp";
const BLOCK_DESCRIPTION: &str = "A pre-norm transformer block, framed as one group: LayerNorm, \
    causal attention and a residual Add, then LayerNorm, a GELU MLP four times wider and \
    another Add. Its layers are ordinary nodes: select one to change it.";

/// A colour per palette group, so that a node's kind shows at a glance.
pub fn group_color(layer: &Layer, dark: bool) -> Color32 {
    let group = GROUPS
        .iter()
        .position(|g| {
            g.entries
                .iter()
                .any(|e| (e.make)().kind_label() == layer.kind_label())
        })
        .unwrap_or(0);
    let [r, g, b] = [
        [90, 140, 220],
        [80, 170, 120],
        [200, 150, 60],
        [180, 100, 200],
        [60, 170, 180],
        [210, 90, 90],
    ][group % 6];
    let color = Color32::from_rgb(r, g, b);
    if dark {
        color
    } else {
        color.gamma_multiply(0.9)
    }
}

impl Palette {
    pub fn show(&mut self, ui: &mut Ui, editor: &mut Editor) {
        ui.heading("Layers");
        ui.horizontal(|ui| {
            let label = ui.label("Search");
            ui.add(
                egui::TextEdit::singleline(&mut self.search)
                    .hint_text("name or purpose")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        });
        ui.add_space(4.0);
        let query = self.search.trim();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for group in GROUPS {
                let entries: Vec<_> = group
                    .entries
                    .iter()
                    .filter(|e| catalog::matches(group, e, query))
                    .collect();
                if entries.is_empty() {
                    continue;
                }
                egui::CollapsingHeader::new(group.name)
                    .default_open(true)
                    .open(if query.is_empty() { None } else { Some(true) })
                    .show(ui, |ui| {
                        for entry in entries {
                            self.entry(ui, editor, entry);
                        }
                    });
            }
            let haystack = format!("blocks {BLOCK_NAME} {BLOCK_KEYWORDS} {BLOCK_DESCRIPTION}");
            if catalog::words_match(&haystack, query) {
                egui::CollapsingHeader::new("Blocks")
                    .default_open(true)
                    .open(if query.is_empty() { None } else { Some(true) })
                    .show(ui, |ui| {
                        let color = group_color(&Layer::Add { inputs: 2 }, ui.visuals().dark_mode);
                        let response = row(ui, BLOCK_NAME, color, BLOCK_DESCRIPTION);
                        if response.dragged() {
                            carry(ui, Block::Transformer, BLOCK_NAME);
                        }
                        if response.double_clicked() {
                            editor.add_transformer_block(None);
                        }
                    });
            }
        });
    }

    fn entry(&self, ui: &mut Ui, editor: &mut Editor, entry: &catalog::Entry) {
        let layer = (entry.make)();
        let color = group_color(&layer, ui.visuals().dark_mode);
        let response = row(ui, entry.name, color, entry.description);
        if response.dragged() {
            carry(ui, layer.clone(), entry.name);
        }
        if response.double_clicked() {
            editor.add_after_selection(layer);
        }
    }
}

/// A palette row: a button labelled "Add <name>" with a dot of the entry's colour, telling
/// how to use it when hovered.
fn row(ui: &mut Ui, name: &str, color: Color32, description: &str) -> egui::Response {
    let height = ui.spacing().interact_size.y;
    let (rect, response) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), height),
        Sense::click_and_drag(),
    );
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Add {name}")));
    let visuals = ui.visuals();
    if response.hovered() || response.dragged() {
        ui.painter()
            .rect_filled(rect, 3.0, visuals.widgets.hovered.weak_bg_fill);
    }
    ui.painter()
        .circle_filled(rect.left_center() + egui::vec2(6.0, 0.0), 4.0, color);
    ui.painter().text(
        rect.left_center() + egui::vec2(16.0, 0.0),
        egui::Align2::LEFT_CENTER,
        name,
        egui::TextStyle::Body.resolve(ui.style()),
        visuals.text_color(),
    );
    response.on_hover_text(format!(
        "{description}\n\nDrag onto the canvas, or double-click to add after the selected node."
    ))
}

/// While a row is dragged: `payload` travels to the canvas, which places it where it is let
/// go, and the entry's name follows the pointer.
fn carry<T: std::any::Any + Send + Sync>(ui: &Ui, payload: T, name: &str) {
    egui::DragAndDrop::set_payload(ui.ctx(), payload);
    ui.ctx().set_cursor_icon(egui::CursorIcon::Grabbing);
    if let Some(at) = ui.ctx().pointer_latest_pos() {
        egui::Area::new(egui::Id::unique("palette drag"))
            .fixed_pos(at + egui::vec2(8.0, 8.0))
            .order(egui::Order::Tooltip)
            .interactable(false)
            .show(ui.ctx(), |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| ui.label(name));
            });
    }
}
