//! The editor's CPU time per frame (layout, painting and tessellation; no GPU), on graphs of 50,
//! 200 and 500 nodes laid out and zoomed to fit, with the pointer moving over the canvas as a
//! user's would. Prints one JSON line per size. Run with `cargo bench --bench ui_frame`.

mod common;

use std::time::{Duration, Instant};

use common::frame;
use egui::{Event, Pos2};
use netloom::data::DatasetSpec;
use netloom::graph::{Graph, Project};
use netloom::ui::NetloomApp;

const FRAMES: usize = 200;

fn main() {
    for nodes in [50, 200, 500] {
        let blocks = (nodes - 5) / 3;
        let project = Project::new(
            "bench",
            Graph::residual_tower(blocks),
            DatasetSpec::default(),
        );
        let mut app = NetloomApp::new(project, None, None);
        app.editor.auto_layout();
        app.canvas.fit();
        let ctx = egui::Context::default();
        // Settle: the dataset loads on a thread, fonts and layout caches fill.
        let settle = Instant::now();
        while app.dataset.is_loading() || settle.elapsed() < Duration::from_millis(300) {
            frame(&ctx, &mut app, vec![]);
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut times: Vec<f64> = (0..FRAMES)
            .map(|i| {
                let t = i as f32 / FRAMES as f32;
                let pointer = Pos2::new(300.0 + 900.0 * t, 200.0 + 500.0 * (t * 7.0).sin().abs());
                frame(&ctx, &mut app, vec![Event::PointerMoved(pointer)]).as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "{{\"workload\":\"ui_frame\",\"nodes\":{},\"frames\":{FRAMES},\"ms_mean\":{mean:.3},\"ms_median\":{:.3},\"ms_p95\":{:.3}}}",
            app.editor.project.graph.nodes.len(),
            times[times.len() / 2],
            times[times.len() * 95 / 100],
        );
    }
}
