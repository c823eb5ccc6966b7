//! The desktop app (eframe, wgpu renderer): the editor where networks are designed, and the
//! live view of their training. Nothing below this module knows egui exists.

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
mod neurons;
mod palette;
mod picture;
mod plot_style;
mod plots;
mod refresh;
mod run;
mod task_view;
mod templates;
mod training;

pub use app::NetloomApp;
pub use canvas::{NODE_SIZE, input_port_label, output_port_label, wire_label};
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
