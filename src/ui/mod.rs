//! The desktop app (eframe, wgpu renderer): the editor where networks are designed, and the
//! live view of their training. Nothing below this module knows egui exists.

mod analyze;
mod app;
mod canvas;
mod catalog;
mod dataset;
mod editor;
mod files;
mod health;
mod history;
mod inside;
mod inspector;
mod latent_view;
mod neurons;
mod palette;
mod picture;
mod plot_style;
mod plots;
mod refresh;
mod run;
mod sequence_view;
mod task_view;
mod templates;
mod text_view;
mod training;

pub use app::NetloomApp;
pub use canvas::{NAME_SIZE, NODE_SIZE, input_port_label, output_port_label, wire_label};
pub use editor::{Editor, Gesture};
pub use files::default_state_dir;
pub use history::{History, decimate};
pub use run::{DEFAULT_PACE, Run};
pub use templates::{TEMPLATES, empty as empty_project};
pub use training::Tab;

use std::path::PathBuf;

/// Opens the window on `project` (a file), or on the spiral example.
pub fn run(project: Option<PathBuf>) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Netloom")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Netloom",
        options,
        Box::new(move |_| {
            let state = default_state_dir();
            let mut app = NetloomApp::with_spiral(state);
            if let Some(path) = project {
                app.open_path(&path);
            }
            Ok(Box::new(app))
        }),
    )
}

#[cfg(test)]
mod tests {
    /// The UI's source files, whose string literals hold the text it paints.
    const SOURCES: &[&str] = &[
        include_str!("app.rs"),
        include_str!("canvas/mod.rs"),
        include_str!("canvas/groups.rs"),
        include_str!("catalog.rs"),
        include_str!("dataset.rs"),
        include_str!("editor.rs"),
        include_str!("files.rs"),
        include_str!("health.rs"),
        include_str!("history.rs"),
        include_str!("inside.rs"),
        include_str!("inspector.rs"),
        include_str!("latent_view.rs"),
        include_str!("neurons.rs"),
        include_str!("palette.rs"),
        include_str!("plots.rs"),
        include_str!("run.rs"),
        include_str!("sequence_view.rs"),
        include_str!("task_view.rs"),
        include_str!("training.rs"),
        include_str!("text_view.rs"),
    ];

    /// A glyph missing from the bundled fonts is drawn as an empty box.
    #[test]
    fn every_glyph_the_ui_paints_is_in_the_bundled_fonts() {
        let ctx = egui::Context::default();
        let mut output = ctx.run_ui(Default::default(), |_| {});
        output.textures_delta.clear();
        let mut missing = std::collections::BTreeSet::new();
        for source in SOURCES {
            for line in source.lines() {
                if line.trim_start().starts_with("//") || line.ends_with("// not painted") {
                    continue;
                }
                // The text between quotes: string literals.
                for literal in line.split('"').skip(1).step_by(2) {
                    for c in literal.chars().filter(|c| !c.is_ascii()) {
                        for font in [
                            egui::FontId::proportional(14.0),
                            egui::FontId::monospace(14.0),
                        ] {
                            if !ctx.fonts_mut(|f| f.has_glyph(&font, c)) {
                                missing.insert((c, format!("{:?}", font.family)));
                            }
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "missing from the fonts: {missing:?}");
    }
}
