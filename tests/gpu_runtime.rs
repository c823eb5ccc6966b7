//! The GPU executor at run time: tensor statistics against the CPU's, and the move to the CPU
//! when the device is missing, too small or lost. Like tests/gpu.rs, these fail instead of
//! skipping when `NETLOOM_REQUIRE_GPU=1` and no adapter appears.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use netloom::compile::BufferKind;
use netloom::engine::TensorStats;
use netloom::engine::gpu::{self, Gpu, GpuBackend, GpuError};
use netloom::graph::Project;
use netloom::train::{self, Event, Limits, Prepared, Session, Trainer};

fn device() -> Option<Gpu> {
    match gpu::open(true) {
        Ok(gpu) => Some(gpu),
        Err(e) if std::env::var("NETLOOM_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("NETLOOM_REQUIRE_GPU=1 but {e}")
        }
        Err(e) => {
            eprintln!("no GPU here, nothing to check: {e}");
            None
        }
    }
}

fn example(name: &str) -> (Project, Prepared) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples");
    let project = netloom::io::load_project(&dir.join(format!("{name}.json"))).unwrap();
    let prepared = train::prepare(&project, &dir).unwrap();
    (project, prepared)
}

fn gpu_session(project: &Project, prepared: &Prepared, gpu: Gpu) -> Session {
    let backend = GpuBackend::new(gpu, Arc::clone(&prepared.program)).unwrap();
    train::session_on(project, prepared, Box::new(backend)).unwrap()
}

fn assert_stats_agree(what: &str, g: &TensorStats, c: &TensorStats) {
    let close = |a: f32, b: f32, scale: f32| (a - b).abs() <= 1e-4 * scale.max(1e-6);
    let scale = c.max.abs().max(c.min.abs());
    assert_eq!(g.count, c.count, "{what}: count");
    assert!(close(g.mean, c.mean, scale), "{what}: mean {g:?} vs {c:?}");
    assert!(close(g.std, c.std, c.std), "{what}: std {g:?} vs {c:?}");
    assert!(close(g.l2, c.l2, c.l2), "{what}: l2 {g:?} vs {c:?}");
    assert!(
        close(g.min, c.min, scale) && close(g.max, c.max, scale),
        "{what}: range"
    );
    assert_eq!(g.zero_fraction, c.zero_fraction, "{what}: zeros");
    assert_eq!(
        g.non_finite_fraction, c.non_finite_fraction,
        "{what}: non-finite"
    );
    assert_eq!(g.silent_fraction, c.silent_fraction, "{what}: silent units");
    assert_eq!(
        g.histogram.iter().sum::<u32>(),
        c.histogram.iter().sum::<u32>()
    );
    // Values within rounding of a bin edge may land on either side of it.
    let moved: u32 = g
        .histogram
        .iter()
        .zip(&c.histogram)
        .map(|(a, b)| a.abs_diff(*b))
        .sum();
    assert!(moved <= 2 + c.count as u32 / 1000, "{what}: {g:?} vs {c:?}");
}

#[test]
fn statistics_of_weights_gradients_activations_and_optimizer_state_agree_with_the_cpu() {
    let Some(gpu) = device() else { return };
    let (project, prepared) = example("mnist_cnn");
    let mut on_gpu = gpu_session(&project, &prepared, gpu);
    let mut on_cpu = train::cpu_session(&project, &prepared, 1).unwrap();
    // A watched step also fills each parameter's change.
    on_gpu.watch_every = Some(std::time::Duration::ZERO);
    on_cpu.watch_every = Some(std::time::Duration::ZERO);
    on_gpu.step().unwrap().unwrap();
    on_cpu.step().unwrap().unwrap();
    let program = Arc::clone(&prepared.program);
    let rows = program.batch_capacity;
    let mut kinds_seen = Vec::new();
    for (id, buffer) in program.buffers.iter().enumerate() {
        if buffer.dtype != netloom::compile::DType::F32 {
            continue;
        }
        let len = buffer.len(rows);
        let width = buffer.per_sample_len();
        let g = on_gpu.backend_mut().statistics(id, len, width).unwrap();
        let c = on_cpu.backend_mut().statistics(id, len, width).unwrap();
        assert_stats_agree(&buffer.name, &g, &c);
        kinds_seen.push(buffer.kind);
    }
    for kind in [BufferKind::Param, BufferKind::State, BufferKind::Value] {
        assert!(kinds_seen.contains(&kind), "{kind:?}");
    }
    // Planted zeros, NaNs and infinities in a tensor larger than one workgroup's share.
    let input = program.input;
    let len = program.buffers[input].len(rows);
    assert!(len > 256 * 16, "the input spans many workgroups");
    let values: Vec<f32> = (0..len)
        .map(|i| match i % 97 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2..=9 => 0.0,
            _ => 1000.0 + (i as f32 * 0.37).sin(),
        })
        .collect();
    on_gpu.backend_mut().write(input, &values).unwrap();
    on_cpu.backend_mut().write(input, &values).unwrap();
    let g = on_gpu.backend_mut().statistics(input, len, 97).unwrap();
    let c = on_cpu.backend_mut().statistics(input, len, 97).unwrap();
    assert_stats_agree("planted input", &g, &c);
    assert!(c.non_finite_fraction > 0.0 && c.zero_fraction > 0.0 && c.std > 0.0);
}

#[test]
fn a_device_too_small_for_the_program_leaves_it_on_the_cpu_and_says_why() {
    let Some(mut gpu) = device() else { return };
    gpu.limits.max_storage_buffer_binding_size = 1024;
    let (project, prepared) = example("digits_mlp");
    let (backend, reason) = train::backend_on(Ok(gpu), &prepared.program, 1);
    let reason = reason.expect("the program does not fit");
    assert!(backend.name().starts_with("CPU"), "{}", backend.name());
    assert!(reason.contains("limit"), "{reason}");
    let mut session = train::session_on(&project, &prepared, backend).unwrap();
    session.note_switch(reason);
    let trainer = Trainer::spawn(session, Limits { max_steps: Some(3) }, true);
    let first = trainer.events.recv().unwrap();
    let Event::BackendChanged(switch) = first else {
        panic!("expected the move first, got {first:?}")
    };
    assert!(
        switch.to_string().starts_with("training on the CPU"),
        "{switch}"
    );
    assert_eq!(switch.resumed, None);
    let steps = trainer
        .events
        .iter()
        .take_while(|e| !matches!(e, Event::Finished { .. }))
        .map(|e| match e {
            Event::Steps(reports) => reports.len(),
            _ => 0,
        })
        .sum::<usize>();
    assert_eq!(steps, 3);
}

#[test]
fn no_adapter_leaves_the_program_on_the_cpu_and_says_why() {
    let (_, prepared) = example("xor");
    let (backend, reason) = train::backend_on(Err(GpuError::NoAdapter("")), &prepared.program, 1);
    assert!(backend.name().starts_with("CPU"));
    assert_eq!(reason.as_deref(), Some("no GPU adapter was found"));
}

#[test]
fn a_lost_device_moves_training_to_the_cpu_with_the_same_weights_and_optimizer_state() {
    let Some(gpu) = device() else { return };
    let device = gpu.device.clone();
    let (project, prepared) = example("spiral");
    let mut on_gpu = gpu_session(&project, &prepared, gpu);
    // A checkpoint every step, so that the CPU carries on exactly where the GPU stopped.
    on_gpu.checkpoint_every = Duration::ZERO;
    let mut on_cpu = train::cpu_session(&project, &prepared, 1).unwrap();
    for _ in 0..5 {
        let (g, c) = (
            on_gpu.step().unwrap().unwrap(),
            on_cpu.step().unwrap().unwrap(),
        );
        assert!((g.loss - c.loss).abs() < 1e-4 * c.loss);
    }
    device.destroy();
    for _ in 0..20 {
        let (g, c) = (
            on_gpu.step().unwrap().unwrap(),
            on_cpu.step().unwrap().unwrap(),
        );
        assert_eq!(g.step, c.step);
        assert!(
            (g.loss - c.loss).abs() < 1e-3 * c.loss,
            "step {}: {} vs {}",
            c.step,
            g.loss,
            c.loss
        );
    }
    let switch = on_gpu.take_switch().expect("the move is reported");
    assert!(switch.now.starts_with("CPU"), "{switch}");
    assert_eq!(switch.resumed, Some((5, 5)));
    assert!(on_gpu.backend_name().starts_with("CPU"));
}

#[test]
fn the_trainer_reports_a_lost_device_and_finishes_on_the_cpu() {
    let Some(gpu) = device() else { return };
    let device = gpu.device.clone();
    let (project, prepared) = example("xor");
    let session = gpu_session(&project, &prepared, gpu);
    let trainer = Trainer::spawn(
        session,
        Limits {
            max_steps: Some(40),
        },
        true,
    );
    let mut steps = Vec::new();
    let mut switch = None;
    for event in trainer.events.iter() {
        match event {
            Event::Steps(reports) => {
                for report in reports {
                    steps.push(report.step);
                    if report.step == 10 {
                        device.destroy();
                    }
                }
            }
            Event::BackendChanged(s) => switch = Some(s),
            Event::Finished { .. } => break,
            Event::Error(e) | Event::NonFinite(netloom::train::NonFinite { op: e, .. }) => {
                panic!("{e}")
            }
            _ => {}
        }
    }
    let switch = switch.expect("the move is reported");
    assert!(switch.to_string().contains("CPU"), "{switch}");
    let (from, last) = switch.resumed.expect("a move mid-run");
    assert!(from <= last && last >= 10, "{switch}");
    // Every step is reported once, in order, whatever was in flight when the device went.
    assert_eq!(steps, (1..=40).collect::<Vec<u64>>());
}
