//! Training: a `Session` runs steps and evaluations; the `Trainer` runs a session on its own thread
//! and speaks to the UI (or the CLI) only through `Command`s in and `Event`s out.

mod generate;
mod metrics;
mod schedule;
mod session;
mod trainer;
mod watch;

pub use generate::{Sampling, draw};
pub use metrics::{Accumulator, Metrics, predicted_class};
pub use schedule::{Progress, learning_rate};
pub use session::{BackendSwitch, NamedTensor, NonFinite, Part, Session, StepReport};
pub use trainer::{Command, EpochReport, Event, FinishReason, Limits, Trainer};
pub use watch::{
    Inside, Inspected, Inspection, RecurrentTrace, Snapshot, TensorKind, Traced, Watched,
    watch_list,
};

use std::path::Path;
use std::sync::Arc;

use crate::compile::{self, CompileError, DataInfo, Model, Program};
use crate::data::{self, DataError, Dataset};
use crate::engine::Backend;
use crate::engine::EngineError;
use crate::engine::cpu::CpuBackend;
use crate::engine::gpu::{self, Gpu, GpuBackend, GpuError};
use crate::graph::{BackendChoice, Project};

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("dataset: {0}")]
    Data(#[from] DataError),
    #[error("{}", problems_text(.0))]
    Problems(Box<Model>),
    #[error("{0}")]
    Compile(#[from] CompileError),
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    #[error("weights: {0}")]
    Weights(String),
    #[error("{0}")]
    Setup(String),
}

/// Everything a session is made from, ready before any step runs.
pub struct Prepared {
    pub model: Model,
    pub program: Arc<Program>,
    pub dataset: Arc<dyn Dataset>,
}

/// Loads the project's dataset (paths relative to `base_dir`), checks the graph against it and
/// compiles it.
pub fn prepare(project: &Project, base_dir: &Path) -> Result<Prepared, TrainError> {
    prepare_on(project, Arc::from(data::load(&project.dataset, base_dir)?))
}

/// As `prepare`, on `dataset`, already loaded as the project's settings ask.
pub fn prepare_on(project: &Project, dataset: Arc<dyn Dataset>) -> Result<Prepared, TrainError> {
    let info = DataInfo::of(&*dataset);
    let model = compile::check_project(project, Some(&info), Some(dataset.len()));
    if !model.is_trainable() {
        return Err(TrainError::Problems(Box::new(model)));
    }
    let program = Arc::new(compile::compile(&model, &project.training)?);
    check_fits(&program)?;
    Ok(Prepared {
        model,
        program,
        dataset,
    })
}

/// The first error of a model that cannot be trained, and how many more there are.
fn problems_text(model: &Model) -> String {
    let mut errors = model.errors();
    let first = errors.next().map_or("", |p| p.message.as_str());
    match errors.count() {
        0 => format!("the network has a problem to fix first: {first}"),
        more => format!("the network has problems to fix first: {first} (and {more} more)"),
    }
}

/// Refuses a program whose buffers would not fit in this machine's memory, before a backend
/// allocates any of them.
fn check_fits(program: &Program) -> Result<(), TrainError> {
    let available = compile::machine_memory_bytes();
    match (compile::program_bytes(program), available) {
        (None, _) => Err(TrainError::Setup(
            "the training step's buffers are too large to count; use a smaller network or batch"
                .into(),
        )),
        (Some(needed), Some(available)) if needed > available => Err(TrainError::Setup(format!(
            "the training step needs {} of buffers at a batch of {}, and this machine has {}; use a smaller network or batch",
            compile::bytes_text(needed as f64),
            program.batch_capacity,
            compile::bytes_text(available as f64)
        ))),
        _ => Ok(()),
    }
}

/// A session on the CPU backend with `threads` threads, split as the project says.
pub fn cpu_session(
    project: &Project,
    prepared: &Prepared,
    threads: usize,
) -> Result<Session, TrainError> {
    let backend = cpu_backend(&prepared.program, threads);
    session_on(project, prepared, backend)
}

/// A session on `backend`, split as the project says.
pub fn session_on(
    project: &Project,
    prepared: &Prepared,
    backend: Box<dyn Backend>,
) -> Result<Session, TrainError> {
    let splits = data::split_for(&*prepared.dataset, &project.split, project.training.seed);
    Session::new(
        Arc::clone(&prepared.program),
        backend,
        Arc::clone(&prepared.dataset),
        splits,
        project.training.clone(),
    )
}

/// The backend `choice` asks for: `Auto` takes a hardware GPU when there is one that can run the
/// whole program, `Gpu` also a software one; otherwise the CPU, with the reason why (for
/// `Session::note_switch`).
pub fn choose_backend(
    choice: BackendChoice,
    program: &Arc<Program>,
    threads: usize,
) -> (Box<dyn Backend>, Option<String>) {
    if choice == BackendChoice::Cpu {
        return (cpu_backend(program, threads), None);
    }
    backend_on(gpu::open(choice == BackendChoice::Gpu), program, threads)
}

/// The program on `device`, or on the CPU when there is none or it cannot hold the program.
pub fn backend_on(
    device: Result<Gpu, GpuError>,
    program: &Arc<Program>,
    threads: usize,
) -> (Box<dyn Backend>, Option<String>) {
    match device.and_then(|device| GpuBackend::new(device, Arc::clone(program))) {
        Ok(backend) => (Box::new(backend), None),
        Err(e) => (cpu_backend(program, threads), Some(e.to_string())),
    }
}

fn cpu_backend(program: &Arc<Program>, threads: usize) -> Box<dyn Backend> {
    Box::new(CpuBackend::new(Arc::clone(program), threads))
}
