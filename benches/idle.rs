//! What an idle window costs: the app run as eframe runs it (a frame when one is asked for,
//! else waiting for the delay it asks), with nothing happening, for a few seconds. Prints the
//! frames drawn per second and the process's CPU time as a share of one core. The goal is
//! near zero. Run with `cargo bench --bench idle`.

use std::time::{Duration, Instant};

use egui::{Pos2, RawInput, Rect, Vec2, ViewportId};
use netloom::ui::NetloomApp;

const IDLE: Duration = Duration::from_secs(3);

/// User and system CPU time of this process so far, from /proc/self/stat.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    (ticks(11) + ticks(12)) / 100.0
}

/// One frame; returns how long until the app wants the next.
fn frame(ctx: &egui::Context, app: &mut NetloomApp, started: Instant) -> Duration {
    let input = RawInput {
        screen_rect: Some(Rect::from_min_size(Pos2::ZERO, Vec2::new(1280.0, 800.0))),
        time: Some(started.elapsed().as_secs_f64()),
        ..Default::default()
    };
    let mut output = ctx.run_ui(input, |ui| app.ui(ui));
    // No renderer takes the font atlas here.
    output.textures_delta.clear();
    ctx.tessellate(output.shapes, output.pixels_per_point);
    output
        .viewport_output
        .get(&ViewportId::ROOT)
        .map_or(Duration::MAX, |v| v.repaint_delay)
}

fn main() {
    let mut app = NetloomApp::with_spiral(None);
    let ctx = egui::Context::default();
    let started = Instant::now();
    // Settle: the dataset loads on a thread, fonts and layout caches fill.
    while app.dataset.is_loading() || started.elapsed() < Duration::from_millis(500) {
        frame(&ctx, &mut app, started);
        std::thread::sleep(Duration::from_millis(5));
    }
    let (cpu_before, since) = (cpu_secs(), Instant::now());
    let mut frames = 0u64;
    let mut next = Instant::now();
    while since.elapsed() < IDLE {
        let now = Instant::now();
        if now >= next {
            let delay = frame(&ctx, &mut app, started);
            frames += 1;
            next = now.checked_add(delay).unwrap_or(since + IDLE);
        } else {
            std::thread::sleep((next - now).min(Duration::from_millis(20)));
        }
    }
    let secs = since.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu_before;
    println!(
        "{{\"workload\":\"idle_window\",\"secs\":{secs:.1},\"frames_per_s\":{:.1},\"cpu_percent_of_a_core\":{:.1}}}",
        frames as f64 / secs,
        cpu / secs * 100.0
    );
}
