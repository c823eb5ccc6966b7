//! What the UI benchmarks share: one frame of the app, timed as the CPU spends it.

use std::time::{Duration, Instant};

use egui::{Event, Pos2, RawInput, Rect, Vec2};
use netloom::ui::NetloomApp;

/// Runs one frame of `app` on a 1600x1000 screen (layout, painting and tessellation; no GPU)
/// and returns how long it took.
pub fn frame(ctx: &egui::Context, app: &mut NetloomApp, events: Vec<Event>) -> Duration {
    let input = RawInput {
        screen_rect: Some(Rect::from_min_size(Pos2::ZERO, Vec2::new(1600.0, 1000.0))),
        events,
        ..Default::default()
    };
    let started = Instant::now();
    let output = ctx.run_ui(input, |ui| app.ui(ui));
    ctx.tessellate(output.shapes, output.pixels_per_point);
    started.elapsed()
}
