//! The live view's cost: the window's CPU time per frame while the spiral trains at full speed
//! against the same window paused on the same plots (and, for scale, before training); the
//! delay from a finished step to the frame that draws it; and training steps per second with
//! the window open against the headless trainer (what the CLI runs) on the same project, for
//! the spiral and for the MNIST CNN, whose statistics cost far more to watch. Frames come at 60
//! per second, as on a display. Prints JSON lines. Run with `cargo bench --bench live`.

mod common;

use std::time::{Duration, Instant};

use std::path::Path;

use common::frame;
use netloom::train::{self, Command, Event, Limits, Trainer};
use netloom::ui::{NetloomApp, TEMPLATES};

const FRAME: Duration = Duration::from_micros(16_667);
// Long enough for about a million points per series at full speed.
const SECONDS: u64 = 24;
// The paused and paced baselines: long enough that a busy moment of the machine does not move
// their medians (two seconds did, by 30%).
const BASELINE_SECONDS: u64 = 8;

fn percentile(xs: &mut [f64], p: usize) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[(xs.len() * p / 100).min(xs.len() - 1)]
}

fn project() -> netloom::graph::Project {
    let mut project = TEMPLATES[0].project();
    project.training.epochs = 1_000_000;
    project
}

/// Frames at 60 per second for `seconds`: per-frame CPU times (ms) and, for frames that drew a
/// new step, how long after its results were in (ms).
fn frames(ctx: &egui::Context, app: &mut NetloomApp, seconds: u64) -> (Vec<f64>, Vec<f64>) {
    let (mut times, mut delays) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut next = started;
    let mut drawn = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        times.push(frame(ctx, app, vec![]).as_secs_f64() * 1e3);
        if let Some(last) = app.run.history.last
            && last.step > drawn
        {
            drawn = last.step;
            delays.push(last.collected_at.elapsed().as_secs_f64() * 1e3);
        }
        next += FRAME;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    (times, delays)
}

fn headless_steps_per_second(project: &netloom::graph::Project, base: &Path, seconds: u64) -> f64 {
    let project = project.clone();
    let prepared = train::prepare(&project, base).expect("an example");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (backend, _) = train::choose_backend(project.training.backend, &prepared.program, threads);
    let session = train::session_on(&project, &prepared, backend).expect("a session");
    let trainer = Trainer::spawn(session, Limits::default(), true);
    let started = Instant::now();
    let mut steps = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        if let Ok(Event::Steps(reports)) = trainer.events.recv_timeout(Duration::from_millis(100))
            && let Some(report) = reports.last()
        {
            steps = report.step;
        }
    }
    let rate = steps as f64 / started.elapsed().as_secs_f64();
    trainer.join();
    rate
}

fn main() {
    let mut app = NetloomApp::new(project(), None, None);
    app.run.set_pace(None);
    let ctx = egui::Context::default();
    let settle = Instant::now();
    while app.dataset.is_loading() || settle.elapsed() < Duration::from_millis(500) {
        frame(&ctx, &mut app, vec![]);
    }
    let (mut idle, _) = frames(&ctx, &mut app, 2);

    let (window_rate, mut training, mut delays) = train_for(&ctx, &mut app, ".".into(), SECONDS);
    app.run
        .command(&app.editor.project.clone(), ".".into(), Command::Pause);
    while app.run.running {
        frame(&ctx, &mut app, vec![]);
    }
    let (mut paused, _) = frames(&ctx, &mut app, BASELINE_SECONDS);
    // At the window's default speed, as a class would watch it.
    app.run.set_pace(Some(netloom::ui::DEFAULT_PACE));
    app.run
        .command(&app.editor.project.clone(), ".".into(), Command::Play);
    let (mut paced, _) = frames(&ctx, &mut app, BASELINE_SECONDS);
    app.run
        .command(&app.editor.project.clone(), ".".into(), Command::Pause);

    let paused_median = percentile(&mut paused, 50);
    let training_median = percentile(&mut training, 50);
    let paced_median = percentile(&mut paced, 50);
    println!(
        "{{\"workload\":\"live_frame\",\"points_per_series\":{},\"ms_median_before_training\":{:.3},\"ms_median_paused\":{paused_median:.3},\"ms_median_training\":{training_median:.3},\"ms_p95_training\":{:.3},\"ratio_training_to_paused\":{:.2},\"ms_median_training_at_60_steps_per_s\":{paced_median:.3},\"ratio_paced_to_paused\":{:.2}}}",
        app.run.history.loss.len(),
        percentile(&mut idle, 50),
        percentile(&mut training, 95),
        training_median / paused_median,
        paced_median / paused_median
    );
    println!(
        "{{\"workload\":\"live_latency\",\"ms_median\":{:.1},\"ms_p95\":{:.1},\"frames_with_new_steps\":{}}}",
        percentile(&mut delays, 50),
        percentile(&mut delays, 95),
        delays.len()
    );
    drop(app);
    let headless = headless_steps_per_second(&project(), Path::new("."), SECONDS);
    print_steps("spiral", window_rate, headless);

    let path = Path::new("assets/examples/mnist_cnn.json");
    let mut cnn = netloom::io::load_project(path).expect("the MNIST example");
    cnn.training.epochs = 1_000_000;
    let (window, mut times) = window_steps_per_second(&cnn, path, CNN_SECONDS);
    let headless = headless_steps_per_second(&cnn, Path::new("assets/examples"), CNN_SECONDS);
    print_steps("mnist_cnn", window, headless);
    println!(
        "{{\"workload\":\"live_frame_cnn\",\"ms_median_training\":{:.3},\"ms_p95_training\":{:.3}}}",
        percentile(&mut times, 50),
        percentile(&mut times, 95)
    );
}

const CNN_SECONDS: u64 = 10;

fn print_steps(project: &str, window: f64, headless: f64) {
    println!(
        "{{\"workload\":\"live_steps\",\"project\":\"{project}\",\"steps_per_s_window\":{window:.1},\"steps_per_s_headless\":{headless:.1},\"ratio\":{:.2}}}",
        window / headless
    );
}

/// Steps per second of `project` (opened from `path`) training at full speed in the window,
/// drawing its loss plot at 60 frames per second, and the frames' CPU times (ms).
fn window_steps_per_second(
    project: &netloom::graph::Project,
    path: &Path,
    seconds: u64,
) -> (f64, Vec<f64>) {
    let mut app = NetloomApp::new(project.clone(), Some(path.to_path_buf()), None);
    app.run.set_pace(None);
    let ctx = egui::Context::default();
    while app.dataset.is_loading() {
        frame(&ctx, &mut app, vec![]);
    }
    let base = path.parent().expect("a file in a folder").to_path_buf();
    let (rate, times, _) = train_for(&ctx, &mut app, base, seconds);
    (rate, times)
}

/// Presses Train and, from its first step on, runs frames for `seconds`: steps per second, and
/// the frames' times and delays (as `frames`).
fn train_for(
    ctx: &egui::Context,
    app: &mut NetloomApp,
    base: std::path::PathBuf,
    seconds: u64,
) -> (f64, Vec<f64>, Vec<f64>) {
    let project = app.editor.project.clone();
    app.run.command(&project, base, Command::Play);
    while app.run.steps() == 0 {
        frame(ctx, app, vec![]);
    }
    let first = app.run.steps();
    let started = Instant::now();
    let (times, delays) = frames(ctx, app, seconds);
    let rate = (app.run.steps() - first) as f64 / started.elapsed().as_secs_f64();
    (rate, times, delays)
}
