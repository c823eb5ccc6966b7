//! The layer palette: every layer kind by group, filtered by a search box. Drag an entry onto
//! the canvas to place it there; double-click to add it after the selected node, wired.

use egui::{Color32, Sense, Ui};

use super::catalog::{self, GROUPS};
use super::editor::Editor;
use crate::graph::Layer;

#[derive(Default)]
pub struct Palette {
    search: String,
}

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
        ui.add(
            egui::TextEdit::singleline(&mut self.search)
                .hint_text("Search layers")
                .desired_width(f32::INFINITY),
        )
        .widget_info(|| egui::WidgetInfo::text_edit(true, "", "Search layers", "Search layers"));
        ui.add_space(4.0);
        let query = self.search.to_lowercase();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for group in GROUPS {
                let entries: Vec<_> = group
                    .entries
                    .iter()
                    .filter(|e| {
                        query.is_empty()
                            || e.name.to_lowercase().contains(&query)
                            || e.description.to_lowercase().contains(&query)
                    })
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
        });
    }

    fn entry(&self, ui: &mut Ui, editor: &mut Editor, entry: &catalog::Entry) {
        let layer = (entry.make)();
        let id = egui::Id::unique(("palette", entry.name));
        let color = group_color(&layer, ui.visuals().dark_mode);
        let response = ui
            .dnd_drag_source(id, layer.clone(), |ui| {
                ui.horizontal(|ui| {
                    let (dot, _) = ui.allocate_exact_size(egui::vec2(8.0, 8.0), Sense::hover());
                    ui.painter().circle_filled(dot.center(), 4.0, color);
                    ui.label(entry.name);
                });
            })
            .response;
        let response = ui
            .interact(response.rect, id.with("click"), Sense::click())
            .on_hover_text(format!(
                "{}\n\nDrag onto the canvas, or double-click to add after the selected node.",
                entry.description
            ));
        response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Add {}", entry.name))
        });
        if response.double_clicked() {
            editor.add_after_selection(layer);
        }
    }
}
