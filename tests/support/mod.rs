//! What the UI tests share: a harness on the app, and the pointer moves of a user.
#![allow(dead_code)] // Each test file uses its own part.

use egui::{Pos2, Vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use netloom::ui::NetloomApp;

pub fn harness(app: NetloomApp) -> Harness<'static, NetloomApp> {
    let mut harness = Harness::builder()
        .with_size(Vec2::new(1400.0, 1100.0))
        .with_step_dt(0.05)
        .build_ui_state(|ui, app: &mut NetloomApp| app.ui(ui), app);
    until_loaded(&mut harness);
    harness
}

/// Runs frames until the dataset, which loads on a thread, is in.
pub fn until_loaded(h: &mut Harness<'_, NetloomApp>) {
    let started = std::time::Instant::now();
    h.run_steps(2);
    while h.state().dataset.is_loading() {
        assert!(started.elapsed().as_secs() < 60, "the dataset never loaded");
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run_steps(2);
}

pub fn spiral() -> Harness<'static, NetloomApp> {
    harness(NetloomApp::with_spiral(None))
}

/// Where a canvas widget (node, port, wire label) is on screen: the canvas reports them in its
/// own units.
pub fn on_canvas(h: &Harness<'_, NetloomApp>, label: &str) -> Pos2 {
    let center = h.get_by_label(label).rect().center();
    h.state().canvas.to_screen(center)
}

pub fn drag(h: &mut Harness<'_, NetloomApp>, from: Pos2, to: Pos2) {
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    for t in [0.2, 0.6, 1.0] {
        h.hover_at(from.lerp(to, t));
        h.step();
    }
    h.drop_at(to);
    h.run_steps(3);
}

pub fn wire(h: &mut Harness<'_, NetloomApp>, from: &str, to: &str) {
    let (a, b) = (
        on_canvas(h, &format!("{from} output")),
        on_canvas(h, &format!("{to} input")),
    );
    drag(h, a, b);
}

pub fn select(h: &mut Harness<'_, NetloomApp>, node: &str) {
    let at = on_canvas(h, node);
    h.hover_at(at);
    h.step();
    h.drag_at(at);
    h.step();
    h.drop_at(at);
    h.run_steps(2);
}

/// Where the palette's entry for `layer` is, scrolled into view first as a user would.
pub fn palette_entry(h: &mut Harness<'_, NetloomApp>, layer: &str) -> Pos2 {
    let label = format!("Add {layer}");
    h.get_by_label(&label).scroll_to_me();
    h.run_steps(3);
    h.get_by_label(&label).rect().center()
}
