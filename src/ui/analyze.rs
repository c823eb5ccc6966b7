//! Analyze: the network as a table, a row per layer with its shapes in and out, parameters,
//! FLOPs, the memory training gives it and its problems, the rows `netloom check` prints, and
//! exportable as CSV.

use egui::{Context, RichText, Ui};

use crate::compile::{self, LayerRow, Model};
use crate::graph::TrainingSettings;

#[derive(Default)]
pub struct AnalyzeView {
    pub open: bool,
    /// The table and the editor version it was made for: made again only after an edit, not
    /// on every frame the window is open.
    rows: Option<(u64, Vec<LayerRow>)>,
}

/// What the user asked of the table.
pub enum AnalyzeRequest {
    ExportCsv,
    Select(crate::graph::NodeId),
}

const HEADERS: [&str; 8] = [
    "Layer",
    "Kind",
    "Input",
    "Output",
    "Parameters",
    "FLOPs",
    "Memory",
    "Problems",
];

impl AnalyzeView {
    /// The window, for the project at `version` of the editor's edits.
    pub fn show(
        &mut self,
        ctx: &Context,
        model: &Model,
        settings: &TrainingSettings,
        version: u64,
    ) -> Option<AnalyzeRequest> {
        if !self.open {
            return None;
        }
        if self.rows.as_ref().is_none_or(|(made, _)| *made != version) {
            let rows = compile::layer_table(model, settings.optimizer, settings.batch_size);
            self.rows = Some((version, rows));
        }
        let rows = self.rows.as_ref().map_or(&[][..], |(_, rows)| rows);
        let mut request = None;
        let mut open = self.open;
        egui::Window::new("Analyze")
            .open(&mut open)
            .default_size([900.0, 420.0])
            .show(ctx, |ui| request = table_ui(ui, rows, model, settings));
        self.open = open;
        request
    }
}

fn table_ui(
    ui: &mut Ui,
    rows: &[LayerRow],
    model: &Model,
    settings: &TrainingSettings,
) -> Option<AnalyzeRequest> {
    let mut request = None;
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} layers · {} parameters · {} FLOPs per sample · memory at a batch of {} with {}",
            rows.len(),
            super::canvas::thousands(model.total_params),
            super::canvas::thousands(model.total_flops as usize),
            settings.batch_size,
            settings.optimizer.label()
        ));
        if ui.button("Export CSV…").clicked() {
            request = Some(AnalyzeRequest::ExportCsv);
        }
    });
    ui.separator();
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("analyze table")
            .striped(true)
            .spacing([16.0, 6.0])
            .show(ui, |ui| {
                for header in HEADERS {
                    ui.label(RichText::new(header).strong());
                }
                ui.end_row();
                for row in rows {
                    if ui
                        .link(&row.name)
                        .on_hover_text("Select this layer on the canvas")
                        .clicked()
                    {
                        request = Some(AnalyzeRequest::Select(row.node));
                    }
                    ui.label(row.layer);
                    ui.label(&row.inputs);
                    ui.label(&row.output);
                    ui.label(super::canvas::thousands(row.params));
                    ui.label(super::canvas::thousands(row.flops as usize));
                    ui.label(compile::memory_text(row));
                    if row.problems.is_empty() {
                        ui.weak("—");
                    } else {
                        ui.vertical(|ui| {
                            ui.set_max_width(360.0);
                            for p in &row.problems {
                                let color = if p.starts_with("error") {
                                    ui.visuals().error_fg_color
                                } else {
                                    ui.visuals().warn_fg_color
                                };
                                ui.label(RichText::new(p).color(color));
                            }
                        });
                    }
                    ui.end_row();
                }
            });
    });
    request
}
