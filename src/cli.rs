//! Headless subcommands: check a project, train it, export it, benchmark the engine.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::compile::{self, DataInfo, Location, Model, Severity};
use crate::data;
use crate::graph::{BackendChoice, TrainingSettings};
use crate::io;
use crate::train::{self, Event, FinishReason, Limits, Metrics, Trainer};

#[derive(Parser, Debug)]
#[command(
    name = "netloom",
    version,
    about = "Design neural networks, train them, and watch them learn."
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A project to open in the window (without one, the spiral example opens).
    pub project: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a project: shapes, parameters, FLOPs and problems (exit code 1 when it has errors).
    Check { project: PathBuf },
    /// Train a project without a window.
    Train(TrainArgs),
    /// Export a project as code.
    Export {
        #[command(subcommand)]
        format: ExportFormat,
    },
    /// Measure training throughput on the reference workloads.
    Bench(crate::bench::BenchArgs),
    /// List the GPU adapters with their backend, type and compute limits.
    Devices,
}

#[derive(Subcommand, Debug)]
pub enum ExportFormat {
    /// A PyTorch `nn.Module` whose parameter names match the saved weights.
    Pytorch {
        project: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Auto,
    Gpu,
    Cpu,
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    pub project: PathBuf,
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Stop after exactly this many optimizer steps.
    #[arg(long)]
    pub steps: Option<u64>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep the training samples in data order every epoch.
    #[arg(long)]
    pub no_shuffle: bool,
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Threads for the CPU backend (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Start from these weights (safetensors) instead of a fresh initialisation.
    #[arg(long)]
    pub init_weights: Option<PathBuf>,
    /// Save the trained weights (safetensors, PyTorch names).
    #[arg(long)]
    pub save_weights: Option<PathBuf>,
    /// Write metrics as JSON lines.
    #[arg(long)]
    pub metrics_out: Option<PathBuf>,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => {
            crate::ui::run(cli.project).map_err(|e| anyhow::anyhow!("the window failed: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check { project }) => check(&project),
        Some(Command::Train(args)) => train(args),
        Some(Command::Export {
            format: ExportFormat::Pytorch { project, output },
        }) => export_pytorch(&project, &output),
        Some(Command::Bench(args)) => crate::bench::run(&args),
        Some(Command::Devices) => {
            print!("{}", devices_report(&crate::engine::gpu::list_adapters()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let project = io::load_project(path)?;
    let dataset = data::load(&project.dataset, &io::project_dir(path));
    let info = dataset.as_ref().ok().map(|d| DataInfo::of(&**d));
    let samples = dataset.as_ref().ok().map(|d| d.len());
    let model = compile::check_project(&project, info.as_ref(), samples);
    print!("{}", check_report(&model, &project.training));
    let mut failed = !model.is_trainable();
    if let Err(e) = dataset {
        println!("error: dataset: {e}");
        failed = true;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The table `netloom check` prints: one row per node (the window's Analyze table), then the
/// totals and the problems.
pub fn check_report(model: &Model, settings: &TrainingSettings) -> String {
    let graph = &model.graph;
    let table = compile::layer_table(model, settings.optimizer, settings.batch_size);
    let mut rows = vec![[
        "node".to_string(),
        "layer".into(),
        "output".into(),
        "params".into(),
        "FLOPs".into(),
        "memory".into(),
    ]];
    for row in &table {
        rows.push([
            row.name.clone(),
            row.layer.into(),
            row.output.clone(),
            row.params.to_string(),
            row.flops.to_string(),
            compile::memory_text(row),
        ]);
    }
    let names: std::collections::HashMap<_, _> = graph
        .nodes
        .iter()
        .map(|n| (n.id, n.name.as_str()))
        .collect();
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                if c >= 3 {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "total: {} parameters, {} FLOPs per sample (forward)\n",
        model.total_params, model.total_flops
    ));
    if model.problems.is_empty() {
        out.push_str("no problems\n");
    }
    for p in &model.problems {
        let place = match p.location {
            Location::Node(id) => names
                .get(&id)
                .map_or_else(|| format!("node {id}"), |name| name.to_string()),
            Location::Edge(e) => format!("wire {}", e + 1),
            Location::Graph => "network".into(),
            Location::Training => "training settings".into(),
        };
        let severity = if p.severity == Severity::Error {
            "error"
        } else {
            "warning"
        };
        out.push_str(&format!("{severity}: {place}: {}", p.message));
        if let Some(fix) = &p.fix {
            out.push_str(&format!(" (fix: {})", fix.description));
        }
        out.push('\n');
    }
    out
}

fn devices_report(adapters: &[crate::engine::gpu::AdapterSummary]) -> String {
    if adapters.is_empty() {
        return "no GPU adapters found; training runs on the CPU\n".into();
    }
    let mut out = String::new();
    for a in adapters {
        out += &format!(
            "{}\n  {} via {}; max buffer {} MiB, max storage binding {} MiB, {} invocations per workgroup, {} workgroups per dimension, {} storage buffers per stage\n",
            a.name,
            a.device_type,
            a.backend,
            a.max_buffer_size_bytes >> 20,
            a.max_storage_buffer_binding_size_bytes >> 20,
            a.max_compute_invocations_per_workgroup,
            a.max_compute_workgroups_per_dimension,
            a.max_storage_buffers_per_shader_stage
        );
    }
    out
}

fn export_pytorch(path: &Path, output: &Path) -> anyhow::Result<ExitCode> {
    let project = io::load_project(path)?;
    check_output(output, &[path])?;
    let model = compile::check(&project.graph, None);
    if !model.is_trainable() {
        print!("{}", check_report(&model, &project.training));
        bail!("the project has problems to fix before it can be exported");
    }
    let title = if project.name.is_empty() {
        "Netloom model"
    } else {
        &project.name
    };
    io::write_atomically(output, io::export_pytorch(&model, title).as_bytes())?;
    println!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

fn train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let mut project = io::load_project(&args.project)?;
    let settings = &mut project.training;
    if let Some(e) = args.epochs {
        settings.epochs = e;
    }
    if let Some(b) = args.batch_size {
        settings.batch_size = b;
    }
    if let Some(s) = args.seed {
        settings.seed = s;
    }
    if args.no_shuffle {
        settings.shuffle = false;
    }
    let threads = args.threads.unwrap_or_else(default_threads);
    if !(1..=MAX_THREADS).contains(&threads) {
        bail!("--threads {threads}: give between 1 and {MAX_THREADS} threads");
    }
    let outputs: Vec<&Path> = [args.save_weights.as_deref(), args.metrics_out.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let csv = match &project.dataset {
        data::DatasetSpec::Csv { path, .. } => Some(io::project_dir(&args.project).join(path)),
        _ => None,
    };
    let mut inputs: Vec<&Path> = vec![&args.project];
    inputs.extend(args.init_weights.as_deref());
    inputs.extend(csv.as_deref());
    for (i, output) in outputs.iter().enumerate() {
        check_output(output, &inputs)?;
        if outputs[..i]
            .iter()
            .any(|other| other == output || io::same_file(output, other))
        {
            bail!("--save-weights and --metrics-out name the same file; give each its own");
        }
    }
    let prepared = match train::prepare(&project, &io::project_dir(&args.project)) {
        Ok(p) => p,
        Err(train::TrainError::Problems(model)) => {
            print!("{}", check_report(&model, &project.training));
            bail!("the project has problems to fix before it can be trained");
        }
        Err(e) => return Err(e.into()),
    };
    let choice = match args.backend {
        BackendArg::Auto => project.training.backend,
        BackendArg::Gpu => BackendChoice::Gpu,
        BackendArg::Cpu => BackendChoice::Cpu,
    };
    let (backend, fallback) = train::choose_backend(choice, &prepared.program, threads);
    let mut session = train::session_on(&project, &prepared, backend)?;
    session.cpu_threads = threads;
    if let Some(reason) = fallback {
        session.note_switch(reason);
    }
    let mut loaded_counters = Vec::new();
    if let Some(path) = &args.init_weights {
        let loaded = io::load_weights_with_counters(path)?;
        session
            .set_weights(&loaded.tensors)
            .with_context(|| format!("loading {}", path.display()))?;
        loaded_counters = loaded.counters;
    }
    let (train_n, val_n, test_n) = session.split_sizes();
    let steps_per_epoch = session.steps_per_epoch();
    let epochs = project.training.epochs;
    eprintln!(
        "training {} on {} ({} parameters; {train_n} train, {val_n} validation, {test_n} test samples; {steps_per_epoch} steps per epoch)",
        if project.name.is_empty() {
            "project"
        } else {
            &project.name
        },
        session.backend_name(),
        prepared.model.total_params,
    );
    let mut metrics = args
        .metrics_out
        .as_deref()
        .map(MetricsWriter::create)
        .transpose()?;
    let total_steps = args.steps.unwrap_or(steps_per_epoch * epochs as u64);
    let limits = Limits {
        max_steps: args.steps,
    };
    if total_steps == 0 {
        bail!("nothing to train: --steps or --epochs is 0");
    }
    let trainer = Trainer::spawn(session, limits, true);
    let mut progress = Progress::new(total_steps);
    let started = Instant::now();
    let mut outcome = Ok(ExitCode::SUCCESS);
    let mut finished_cleanly = false;
    let mut last_loss = f32::NAN;
    while let Ok(event) = trainer.events.recv() {
        match event {
            Event::Steps(reports) => {
                for report in &reports {
                    if let Some(m) = &mut metrics {
                        m.line(json!({"kind": "step", "step": report.step, "epoch": report.epoch + 1, "loss": report.loss}))?;
                    }
                }
                if let Some(report) = reports.last() {
                    last_loss = report.loss;
                    progress.update(report.step, report.epoch + 1, report.loss);
                }
            }
            Event::Epoch(e) => {
                if let Some(m) = &mut metrics {
                    m.line(json!({
                        "kind": "epoch", "epoch": e.epoch + 1,
                        "train_loss": e.train.loss, "train_accuracy": e.train.accuracy,
                        "val_loss": e.validation.as_ref().map(|v| v.loss),
                        "val_accuracy": e.validation.as_ref().and_then(|v| v.accuracy),
                    }))?;
                }
                progress.clear();
                eprintln!(
                    "epoch {:>3}: {}",
                    e.epoch + 1,
                    epoch_summary(&e.train, e.validation.as_ref())
                );
            }
            Event::Finished { reason, test } => {
                progress.clear();
                let why = match reason {
                    FinishReason::EpochsDone => "all epochs done",
                    FinishReason::StepLimit => "step limit reached",
                    FinishReason::EarlyStopped => {
                        "stopped early: the validation loss stopped improving"
                    }
                };
                eprintln!(
                    "finished ({why}) in {:.1} s; last training loss {last_loss:.4}",
                    started.elapsed().as_secs_f64()
                );
                if let Some(t) = &test {
                    if let Some(m) = &mut metrics {
                        m.line(json!({"kind": "test", "loss": t.loss, "accuracy": t.accuracy}))?;
                    }
                    println!("test: {}", metrics_text(t));
                }
                finished_cleanly = true;
                break;
            }
            Event::NonFinite(nf) => {
                progress.clear();
                let node = nf
                    .node
                    .and_then(|id| project.graph.node(id))
                    .map_or("the network".to_string(), |n| n.name.clone());
                eprintln!(
                    "error: step {}: the {} in {node} produced a NaN or an infinity; training stopped before the weights changed. A learning rate that is too high is the usual cause.",
                    nf.step, nf.op
                );
                outcome = Ok(ExitCode::FAILURE);
                break;
            }
            Event::Error(e) => {
                progress.clear();
                outcome = Err(anyhow::anyhow!(e));
                break;
            }
            Event::BackendChanged(switch) => {
                progress.clear();
                eprintln!("{switch}");
            }
            // The CLI asks for neither.
            Event::Statistics(_)
            | Event::Predictions { .. }
            | Event::Generated { .. }
            | Event::Inspection(_)
            | Event::Traced { .. } => {}
            Event::Paused
            | Event::Running
            | Event::Reset
            | Event::Weights { .. }
            | Event::WeightsLoaded => {}
        }
    }
    let mut session = trainer.join().context("the trainer thread failed")?;
    if let Some(m) = metrics {
        m.finish()?;
    }
    if let Some(path) = &args.save_weights {
        let counters = |steps| io::batch_norm_counters(&prepared.model, steps, &loaded_counters);
        save_trained_weights(path, &mut session, counters, finished_cleanly)?;
    }
    outcome
}

/// Saves the weights of a run that finished cleanly and holds only finite values; otherwise
/// says why nothing was saved, leaving the file that was there as it was.
fn save_trained_weights(
    path: &Path,
    session: &mut train::Session,
    counters: impl FnOnce(u64) -> Vec<(String, i64)>,
    finished_cleanly: bool,
) -> anyhow::Result<()> {
    if !finished_cleanly {
        eprintln!(
            "weights not saved: training did not finish cleanly, so {} is unchanged",
            path.display()
        );
        return Ok(());
    }
    let tensors = session.weights()?;
    if let Some(bad) = tensors
        .iter()
        .find(|t| t.values.iter().any(|v| !v.is_finite()))
    {
        eprintln!(
            "weights not saved: \"{}\" holds a NaN or an infinity, so {} is unchanged",
            bad.name,
            path.display()
        );
        return Ok(());
    }
    io::save_weights(path, &tensors, &counters(session.steps_taken()))?;
    eprintln!("saved weights to {}", path.display());
    Ok(())
}

/// The most threads `--threads` takes: far more than any machine's cores, and few enough that
/// the pool never asks the system for more threads than it can give.
const MAX_THREADS: usize = 1024;

/// Refuses, before any training, an output whose folder is missing or not writable, or that
/// is one of the run's own inputs, so that a run's results are never lost at its end and never
/// written over what it read.
fn check_output(output: &Path, inputs: &[&Path]) -> anyhow::Result<()> {
    if let Some(input) = inputs.iter().find(|input| io::same_file(output, input)) {
        bail!(
            "{} is also an input of this run ({}); write the output to another file",
            output.display(),
            input.display()
        );
    }
    let dir = io::project_dir(output);
    if !dir.is_dir() {
        bail!(
            "{}: the folder {} does not exist; create it first or choose another place",
            output.display(),
            dir.display()
        );
    }
    if output.is_dir() {
        bail!("{} is a folder; name a file to write", output.display());
    }
    // A safe file made and dropped uncommitted proves the folder takes one, and leaves nothing.
    io::SafeFile::create(output)
        .map(drop)
        .with_context(|| format!("{} cannot be written", output.display()))
}

fn metrics_text(m: &Metrics) -> String {
    let mut s = format!("loss {:.4}", m.loss);
    if let Some(a) = m.accuracy {
        s += &format!(", accuracy {a:.4}");
    }
    if let (Some(mae), Some(r2)) = (m.mae, m.r2) {
        s += &format!(", MAE {mae:.4}, R² {r2:.4}");
    }
    s
}

fn epoch_summary(train: &Metrics, validation: Option<&Metrics>) -> String {
    let mut s = format!("train {}", metrics_text(train));
    if let Some(v) = validation {
        s += &format!("; validation {}", metrics_text(v));
    }
    s
}

/// JSON lines into a safe file, renamed into place when training ends (and removed if it
/// fails first).
struct MetricsWriter {
    file: io::SafeFile,
}

impl MetricsWriter {
    fn create(path: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            file: io::SafeFile::create(path)?,
        })
    }

    fn line(&mut self, value: serde_json::Value) -> anyhow::Result<()> {
        writeln!(self.file, "{value}").context("writing metrics")
    }

    fn finish(self) -> anyhow::Result<()> {
        Ok(self.file.commit()?)
    }
}

/// A one-line progress bar on a terminal; silent otherwise.
struct Progress {
    total: u64,
    enabled: bool,
    last_draw: Instant,
}

impl Progress {
    fn new(total: u64) -> Self {
        Self {
            total,
            enabled: std::io::stderr().is_terminal(),
            last_draw: Instant::now() - Duration::from_secs(1),
        }
    }

    fn update(&mut self, step: u64, epoch: usize, loss: f32) {
        if !self.enabled || self.last_draw.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last_draw = Instant::now();
        let width = 30;
        let filled =
            ((step as f64 / self.total.max(1) as f64) * width as f64).min(width as f64) as usize;
        eprint!(
            "\r[{}{}] step {step}/{} epoch {epoch} loss {loss:.4}   ",
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.total
        );
    }

    fn clear(&mut self) {
        if self.enabled {
            eprint!("\r{}\r", " ".repeat(80));
        }
    }
}
