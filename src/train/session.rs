//! A training session: one program on one backend over one dataset. Synchronous and
//! allocation-free per step; the trainer thread drives it, and tests and the CLI can too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::TrainError;
use super::metrics::{Accumulator, Metrics};
use super::schedule::{Progress, learning_rate};
use super::watch::{
    Inside, Inspected, Inspection, RecurrentTrace, Snapshot, Traced, Watched, inspected_buffers,
    watch_list,
};
use crate::compile::{BufferId, BufferKind, DType, Op, Program, initial_values};
use crate::data::{Dataset, NO_TARGET, Splits, Task};
use crate::engine::cpu::CpuBackend;
use crate::engine::{Backend, EngineError, Fetch, STATS_WORDS, StepScalars, TensorStats, Ticket};
use crate::graph::{NodeId, Optimizer, TrainingSettings};
use crate::rng::Rng;

/// Stream of the run's generator reserved for shuffling.
const SHUFFLE_STREAM: u64 = 2;

/// Steps submitted ahead of the one being collected: the device runs a step while the host
/// reads the last one's loss and stages the next batch.
const PIPELINE_DEPTH: u64 = 2;

/// Watching may take at most one part in this many of training's time: on a large network, the
/// statistics come less often than asked rather than slow training down.
const WATCH_SHARE: u32 = 20;

/// What one optimizer step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// 1-based number of this step.
    pub step: u64,
    /// 0-based epoch the step belongs to.
    pub epoch: usize,
    pub loss: f32,
    pub grad_norm: f32,
    pub learning_rate: f32,
    pub rows: usize,
    /// Wall time of the step, data staging included.
    pub step_secs: f32,
    /// Whether this step finished the epoch.
    pub epoch_done: bool,
    /// When its results were in on the host: how a watcher measures its own delay.
    pub collected_at: Instant,
}

/// Where a non-finite value first appeared.
#[derive(Clone, Debug, PartialEq)]
pub struct NonFinite {
    pub step: u64,
    pub op: String,
    pub node: Option<NodeId>,
}

/// The session moved to another backend, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendSwitch {
    /// The backend now training: "CPU (2 threads)".
    pub now: String,
    pub reason: String,
    /// When the move happened mid-run: the step whose weights and optimizer state training
    /// continues from (0 for the initial weights), and the last step reported before the move.
    pub resumed: Option<(u64, u64)>,
}

impl std::fmt::Display for BackendSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "training on the {}: {}", self.now, self.reason)?;
        match self.resumed {
            Some((from, last)) if from == last => {
                write!(f, "; continuing from the weights after step {from}")
            }
            Some((from, last)) => write!(
                f,
                "; continuing from the weights after step {from}, so the learning of steps {} to {last} is lost",
                from + 1
            ),
            None => Ok(()),
        }
    }
}

/// A step submitted and not yet collected: what its report and metrics need.
#[derive(Default)]
struct InFlight {
    ticket: Option<Ticket>,
    step: u64,
    epoch: usize,
    /// Where its batch starts in the epoch's order.
    start: usize,
    rows: usize,
    scalars: StepScalars,
    started: Option<Instant>,
    epoch_done: bool,
    /// Whether its readback carries the watched tensors' statistics after the predictions.
    watched: bool,
    /// Whether its readback carries a checkpoint after the step's values.
    checkpoint: bool,
    classes: Vec<usize>,
    target_values: Vec<f32>,
}

/// The weights and optimizer state after a step, kept on the host while training on a device
/// that can be lost.
struct Checkpoint {
    step: u64,
    values: Vec<f32>,
    taken: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Train,
    Validation,
    Test,
}

pub struct Session {
    program: Arc<Program>,
    backend: Box<dyn Backend>,
    dataset: Arc<dyn Dataset>,
    /// What the metrics compare the predictions with: the dataset's task, or nothing beyond
    /// the loss when the loss takes its target from a wire.
    task: Option<Task>,
    splits: Splits,
    pub settings: TrainingSettings,
    shuffle: Rng,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    /// Steps submitted, and steps collected and reported.
    step: u64,
    collected: u64,
    /// Indexed by step number modulo the pipeline depth.
    in_flight: [InFlight; PIPELINE_DEPTH as usize],
    /// Owning parameter and state buffers, whose values a checkpoint holds.
    persistent: Vec<BufferId>,
    checkpoint: Option<Checkpoint>,
    /// How often to refresh the checkpoint; each refresh copies every weight to the host.
    pub checkpoint_every: Duration,
    /// Threads for the CPU backend a lost device falls back to.
    pub cpu_threads: usize,
    switched: Option<BackendSwitch>,
    watched: Vec<Watched>,
    /// How often a step also brings back the watched tensors' statistics; `None` never. Large
    /// networks get them less often (see `WATCH_SHARE`).
    pub watch_every: Option<Duration>,
    last_watch: Option<Instant>,
    /// What asking for the last watched step's statistics added on this thread to what asking
    /// for an unwatched step's results takes (a GPU submits the step's work in the same call).
    watch_cost: Duration,
    /// What the last unwatched step's request took.
    plain_request: Duration,
    snapshot: Option<Snapshot>,
    fetches: Vec<Fetch>,
    epoch_metrics: Accumulator,
    eval_metrics: Accumulator,
    // Reused batch staging, so a step allocates nothing.
    features: Vec<f32>,
    /// The features as ids, for an input of token ids.
    feature_ids: Vec<i32>,
    target_values: Vec<f32>,
    target_classes: Vec<i32>,
    /// Class labels per sample (one per time step of a sequence task).
    positions: usize,
    classes: Vec<usize>,
    readback: Vec<f32>,
}

impl Session {
    /// Sets up a session with freshly initialised weights.
    pub fn new(
        program: Arc<Program>,
        backend: Box<dyn Backend>,
        dataset: Arc<dyn Dataset>,
        splits: Splits,
        settings: TrainingSettings,
    ) -> Result<Self, TrainError> {
        if splits.train.is_empty() {
            return Err(TrainError::Setup("the training split is empty: lower the validation and test fractions or use more samples".into()));
        }
        let capacity = program.batch_capacity;
        let feature_len = program.buffers[program.input].per_sample_len();
        let target_len = target_len(&program, 1);
        let prediction_len = program.buffers[program.train.prediction].per_sample_len();
        let task = program.target.map(|_| dataset.task());
        let positions = dataset.target_positions();
        let token_ids = program.buffers[program.input].dtype == DType::I32;
        let persistent: Vec<BufferId> = (0..program.buffers.len())
            .filter(|&id| {
                let b = &program.buffers[id];
                b.alias_of.is_none() && matches!(b.kind, BufferKind::Param | BufferKind::State)
            })
            .collect();
        let in_flight = std::array::from_fn(|_| InFlight {
            classes: vec![0; capacity * positions],
            target_values: vec![0.0; capacity * target_len],
            ..InFlight::default()
        });
        let persistent_len: usize = persistent
            .iter()
            .map(|&b| program.buffers[b].per_sample_len())
            .sum();
        let mut session = Self {
            shuffle: Rng::fork(settings.seed, SHUFFLE_STREAM),
            order: splits.train.clone(),
            cursor: 0,
            epoch: 0,
            step: 0,
            collected: 0,
            in_flight,
            persistent,
            checkpoint: None,
            checkpoint_every: Duration::from_secs(2),
            cpu_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            switched: None,
            watched: watch_list(&program),
            watch_every: None,
            last_watch: None,
            watch_cost: Duration::ZERO,
            plain_request: Duration::ZERO,
            snapshot: None,
            fetches: Vec::with_capacity(3 + persistent_len),
            epoch_metrics: Accumulator::new(task.clone()),
            eval_metrics: Accumulator::new(task.clone()),
            features: vec![0.0; capacity * feature_len],
            feature_ids: vec![0; if token_ids { capacity * feature_len } else { 0 }],
            target_values: vec![0.0; capacity * target_len],
            target_classes: vec![0; capacity * positions],
            positions,
            classes: vec![0; capacity * positions],
            readback: Vec::with_capacity(2 + capacity * prediction_len + persistent_len),
            program,
            backend,
            dataset,
            task,
            splits,
            settings,
        };
        session.reset()?;
        Ok(session)
    }

    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// The backend, for profiling and inspection.
    pub fn backend_mut(&mut self) -> &mut dyn Backend {
        self.backend.as_mut()
    }

    pub fn backend_name(&self) -> String {
        self.backend.name()
    }

    /// Steps collected and reported.
    pub fn steps_taken(&self) -> u64 {
        self.collected
    }

    pub fn steps_submitted(&self) -> u64 {
        self.step
    }

    /// Steps submitted and not yet collected.
    pub fn in_flight(&self) -> u64 {
        self.step - self.collected
    }

    /// Whether another step may be submitted now: the pipeline has room, and no step in flight
    /// ends the epoch (the epoch's end is measured on the weights it leaves).
    pub fn can_submit(&self) -> bool {
        self.in_flight() < PIPELINE_DEPTH
            && (self.in_flight() == 0 || !self.flight(self.step).epoch_done)
    }

    /// The move to another backend since this was last asked, if there was one.
    pub fn take_switch(&mut self) -> Option<BackendSwitch> {
        self.switched.take()
    }

    /// The tensors whose statistics `take_snapshot` reports.
    pub fn watched(&self) -> &[Watched] {
        &self.watched
    }

    /// The watched tensors' statistics from the latest step that carried them, once.
    pub fn take_snapshot(&mut self) -> Option<Snapshot> {
        self.snapshot.take()
    }

    /// Tells the watchers of this session that it trains on a backend other than the one
    /// asked for (no adapter, or a program past the device's limits).
    pub fn note_switch(&mut self, reason: String) {
        self.switched = Some(BackendSwitch {
            now: self.backend.name(),
            reason,
            resumed: None,
        });
    }

    fn flight(&self, step: u64) -> &InFlight {
        &self.in_flight[(step % PIPELINE_DEPTH) as usize]
    }

    pub fn steps_per_epoch(&self) -> u64 {
        self.splits
            .train
            .len()
            .div_ceil(self.program.batch_capacity) as u64
    }

    pub fn split_sizes(&self) -> (usize, usize, usize) {
        (
            self.splits.train.len(),
            self.splits.validation.len(),
            self.splits.test.len(),
        )
    }

    /// Fresh weights and optimizer state from the seed; back to step 0. Steps in flight are
    /// dropped.
    pub fn reset(&mut self) -> Result<(), TrainError> {
        self.drop_in_flight();
        for (buffer, values) in initial_values(&self.program, self.settings.seed) {
            self.backend.write(buffer, &values)?;
        }
        self.shuffle = Rng::fork(self.settings.seed, SHUFFLE_STREAM);
        self.step = 0;
        self.collected = 0;
        self.checkpoint = None;
        self.epoch = 0;
        self.start_epoch();
        Ok(())
    }

    /// Forgets the steps in flight, releasing their readbacks; a device that fails here has
    /// nothing left to give.
    fn drop_in_flight(&mut self) {
        for record in &mut self.in_flight {
            if let Some(ticket) = record.ticket.take() {
                let _ = self.backend.collect(ticket, &mut self.readback);
            }
        }
        self.step = self.collected;
    }

    fn start_epoch(&mut self) {
        self.order.clear();
        self.order.extend_from_slice(&self.splits.train);
        if self.settings.shuffle {
            self.shuffle.shuffle(&mut self.order);
        }
        self.cursor = 0;
        self.epoch_metrics.clear();
    }

    fn scalars(&self) -> StepScalars {
        let s = &self.settings;
        let progress = Progress {
            step: self.step,
            steps_per_epoch: self.steps_per_epoch(),
            total_steps: self.steps_per_epoch().saturating_mul(s.epochs as u64),
        };
        let mut scalars = StepScalars {
            learning_rate: learning_rate(s.learning_rate, s.schedule, s.warmup_steps, progress),
            weight_decay: s.weight_decay,
            l1: s.l1,
            clip_norm: s.clip_norm.unwrap_or(0.0),
            seed: (s.seed ^ (s.seed >> 32)) as u32,
            ..StepScalars::default()
        };
        match s.optimizer {
            Optimizer::Sgd { momentum, .. } => scalars.momentum = momentum,
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
            }
            | Optimizer::AdamW {
                beta1,
                beta2,
                epsilon,
            } => {
                (scalars.beta1, scalars.beta2, scalars.epsilon) = (beta1, beta2, epsilon);
            }
            Optimizer::RmsProp { alpha, epsilon } => {
                (scalars.alpha, scalars.epsilon) = (alpha, epsilon)
            }
            Optimizer::Adagrad { epsilon } => scalars.epsilon = epsilon,
        }
        scalars.at_step((self.step + 1) as u32)
    }

    /// Copies `rows` samples, from position `start` of the epoch's order (`None`) or of a part,
    /// into the input and target buffers.
    fn load_batch(
        &mut self,
        part: Option<Part>,
        start: usize,
        rows: usize,
    ) -> Result<(), TrainError> {
        let feature_len = self.program.buffers[self.program.input].per_sample_len();
        let target_len = target_len(&self.program, 1);
        let classes_as_labels = self
            .program
            .target
            .is_some_and(|t| self.program.buffers[t].dtype == DType::I32);
        let indices = match part {
            None => &self.order[start..start + rows],
            Some(Part::Train) => &self.splits.train[start..start + rows],
            Some(Part::Validation) => &self.splits.validation[start..start + rows],
            Some(Part::Test) => &self.splits.test[start..start + rows],
        };
        let p = self.positions;
        for (r, &i) in indices.iter().enumerate() {
            self.dataset.copy_features(
                i,
                &mut self.features[r * feature_len..(r + 1) * feature_len],
            );
            let classes = &mut self.classes[r * p..(r + 1) * p];
            self.dataset.copy_classes(i, classes);
            // The loss's ignored class counts for nothing, like a step with no target.
            for c in classes.iter_mut() {
                if Some(*c) == self.program.ignore_class {
                    *c = NO_TARGET;
                }
            }
            if classes_as_labels {
                for (t, &c) in self.target_classes[r * p..].iter_mut().zip(&*classes) {
                    *t = if c == NO_TARGET { -1 } else { c as i32 };
                }
            } else if target_len > 0 {
                self.dataset.copy_target(
                    i,
                    &mut self.target_values[r * target_len..(r + 1) * target_len],
                );
            }
        }
        write_input(
            &mut *self.backend,
            &self.program,
            &self.features[..rows * feature_len],
            &mut self.feature_ids,
        )?;
        match self.program.target {
            None => {}
            Some(target) if classes_as_labels => self
                .backend
                .write_i32(target, &self.target_classes[..rows * p])?,
            Some(target) => self
                .backend
                .write(target, &self.target_values[..rows * target_len])?,
        }
        Ok(())
    }

    /// One optimizer step on the next mini-batch, waiting for its results. A non-finite loss or
    /// gradient leaves the weights untouched and names the first op that produced it.
    pub fn step(&mut self) -> Result<Result<StepReport, NonFinite>, TrainError> {
        loop {
            if self.in_flight() == 0 {
                self.submit()?;
            }
            if let Some(outcome) = self.collect()? {
                return Ok(outcome);
            }
        }
    }

    /// Starts the next step without waiting for it; `collect` reports it. Check `can_submit`
    /// first.
    pub fn submit(&mut self) -> Result<(), TrainError> {
        debug_assert!(self.can_submit());
        if self.cursor >= self.order.len() {
            self.epoch += 1;
            self.start_epoch();
        }
        let rows = (self.order.len() - self.cursor).min(self.program.batch_capacity);
        let submitted = self.try_submit(rows);
        self.recover(submitted)?;
        Ok(())
    }

    fn try_submit(&mut self, rows: usize) -> Result<(), TrainError> {
        let started = Instant::now();
        self.load_batch(None, self.cursor, rows)?;
        let scalars = self.scalars();
        let watch = self
            .watch_every
            .map(|every| every.max(self.watch_cost * WATCH_SHARE))
            .is_some_and(|every| self.last_watch.is_none_or(|last| last.elapsed() >= every));
        let p = &self.program.phases;
        debug_assert!(p.backward.start == p.train_forward.end && p.update.start == p.backward.end);
        if watch {
            for phase in [
                p.train_forward.start..p.backward.end,
                p.before_update.clone(),
                p.update.clone(),
                p.after_update.clone(),
            ] {
                self.backend.run(phase, rows, &scalars)?;
            }
        } else {
            self.backend
                .run(p.train_forward.start..p.update.end, rows, &scalars)?;
        }
        let checkpoint = self.backend.can_be_lost()
            && self
                .checkpoint
                .as_ref()
                .is_none_or(|c| c.taken.elapsed() >= self.checkpoint_every);
        self.fetches.clear();
        self.fetches.extend([
            Fetch::Values {
                buffer: self.program.train.loss,
                len: 1,
            },
            Fetch::Values {
                buffer: self.program.grad_norm_sq,
                len: 1,
            },
            Fetch::Values {
                buffer: self.program.train.prediction,
                len: self.program.buffers[self.program.train.prediction].len(rows),
            },
        ]);
        if watch {
            self.last_watch = Some(Instant::now());
            let buffers = &self.program.buffers;
            self.fetches.extend(self.watched.iter().map(|w| {
                let b = &buffers[w.buffer];
                Fetch::Statistics {
                    buffer: w.buffer,
                    len: b.len(rows),
                    width: b.per_sample_len(),
                }
            }));
        }
        if checkpoint {
            let buffers = &self.program.buffers;
            self.fetches
                .extend(self.persistent.iter().map(|&buffer| Fetch::Values {
                    buffer,
                    len: buffers[buffer].per_sample_len(),
                }));
        }
        let asked = Instant::now();
        let ticket = self.backend.request(&self.fetches)?;
        if watch {
            self.watch_cost = asked.elapsed().saturating_sub(self.plain_request);
        } else {
            self.plain_request = asked.elapsed();
        }
        let step = self.step + 1;
        let target_len = target_len(&self.program, rows);
        let record = &mut self.in_flight[(step % PIPELINE_DEPTH) as usize];
        record.ticket = Some(ticket);
        record.step = step;
        record.epoch = self.epoch;
        record.start = self.cursor;
        record.rows = rows;
        record.scalars = scalars;
        record.started = Some(started);
        record.checkpoint = checkpoint;
        record.watched = watch;
        let labels = rows * self.positions;
        record.classes[..labels].copy_from_slice(&self.classes[..labels]);
        record.target_values[..target_len].copy_from_slice(&self.target_values[..target_len]);
        self.cursor += rows;
        record.epoch_done = self.cursor >= self.order.len();
        self.step = step;
        Ok(())
    }

    /// Reports the oldest step in flight, waiting for the device to finish it; `None` when
    /// nothing is in flight (or what was in flight was lost with the device).
    pub fn collect(&mut self) -> Result<Option<Result<StepReport, NonFinite>>, TrainError> {
        if self.in_flight() == 0 {
            return Ok(None);
        }
        let collected = self.try_collect();
        self.recover(collected)
    }

    fn try_collect(&mut self) -> Result<Option<Result<StepReport, NonFinite>>, TrainError> {
        let step = self.collected + 1;
        let slot = (step % PIPELINE_DEPTH) as usize;
        let ticket = self.in_flight[slot]
            .ticket
            .take()
            .expect("a step in flight");
        self.backend.collect(ticket, &mut self.readback)?;
        self.collected = step;
        let record = &self.in_flight[slot];
        let (loss, norm_sq) = (self.readback[0], self.readback[1]);
        if !loss.is_finite() || !norm_sq.is_finite() {
            return Ok(Some(Err(self.trace_non_finite(slot)?)));
        }
        let prediction_len = self.program.buffers[self.program.train.prediction].len(record.rows);
        let rest = &self.readback[2..];
        let (prediction, rest) = rest.split_at(prediction_len);
        let (watched, checkpoint) = rest.split_at(if record.watched {
            self.watched.len() * STATS_WORDS
        } else {
            0
        });
        if record.watched {
            let buffers = &self.program.buffers;
            self.snapshot = Some(Snapshot {
                step,
                stats: self
                    .watched
                    .iter()
                    .zip(watched.chunks_exact(STATS_WORDS))
                    .map(|(w, words)| {
                        TensorStats::from_words(buffers[w.buffer].len(record.rows), words)
                    })
                    .collect(),
            });
        }
        if record.checkpoint {
            let kept = self.checkpoint.get_or_insert_with(|| Checkpoint {
                step: 0,
                values: Vec::with_capacity(checkpoint.len()),
                taken: Instant::now(),
            });
            kept.step = step;
            kept.taken = Instant::now();
            kept.values.clear();
            kept.values.extend_from_slice(checkpoint);
        }
        let values = match self.task {
            Some(Task::Regression { .. }) => {
                &record.target_values[..target_len(&self.program, record.rows)]
            }
            _ => &[],
        };
        self.epoch_metrics.add(
            loss,
            record.rows,
            prediction,
            &record.classes[..record.rows * self.positions],
            values,
        );
        Ok(Some(Ok(StepReport {
            step,
            epoch: record.epoch,
            loss,
            grad_norm: norm_sq.sqrt(),
            learning_rate: record.scalars.learning_rate,
            rows: record.rows,
            step_secs: record.started.map_or(0.0, |t| t.elapsed().as_secs_f32()),
            epoch_done: record.epoch_done,
            collected_at: Instant::now(),
        })))
    }

    /// Runs a non-finite step's forward and backward passes again, op by op, on its own batch,
    /// to name where the first NaN or infinity appeared. The update skipped itself.
    fn trace_non_finite(&mut self, slot: usize) -> Result<NonFinite, TrainError> {
        let (step, start, rows, epoch, scalars) = {
            let r = &self.in_flight[slot];
            (r.step, r.start, r.rows, r.epoch, r.scalars)
        };
        let mut at = None;
        // The epoch's order still holds the batch unless a new epoch has begun since.
        if epoch == self.epoch {
            self.load_batch(None, start, rows)?;
            let p = &self.program.phases;
            at = self.backend.first_non_finite(
                p.train_forward.start..p.backward.end,
                rows,
                &scalars,
            )?;
        }
        let op = at.map(|i| &self.program.steps[i]);
        Ok(NonFinite {
            step,
            op: op.map_or_else(|| "gradient norm".to_string(), |s| s.op.label()),
            node: op.and_then(|s| s.node),
        })
    }

    /// Passes `result` through, unless the device was lost: then training moves to the CPU,
    /// from the last checkpoint, and the steps in flight are run again there.
    fn recover<T: Default>(&mut self, result: Result<T, TrainError>) -> Result<T, TrainError> {
        match result {
            Err(e) => self.move_to_cpu(e).map(|()| T::default()),
            ok => ok,
        }
    }

    /// Moves to the CPU if `error` is the loss of the device, or passes it on.
    fn move_to_cpu(&mut self, error: TrainError) -> Result<(), TrainError> {
        let TrainError::Engine(EngineError::DeviceLost(why)) = error else {
            return Err(error);
        };
        let restart = (self.collected + 1..=self.step)
            .map(|step| self.flight(step).start)
            .min();
        for record in &mut self.in_flight {
            record.ticket = None;
        }
        let mut cpu = CpuBackend::new(Arc::clone(&self.program), self.cpu_threads);
        let from = match &self.checkpoint {
            Some(checkpoint) => {
                let mut values = checkpoint.values.as_slice();
                for &buffer in &self.persistent {
                    let (now, rest) =
                        values.split_at(self.program.buffers[buffer].per_sample_len());
                    cpu.write(buffer, now)?;
                    values = rest;
                }
                checkpoint.step
            }
            None => {
                for (buffer, values) in initial_values(&self.program, self.settings.seed) {
                    cpu.write(buffer, &values)?;
                }
                0
            }
        };
        self.backend = Box::new(cpu);
        self.checkpoint = None;
        self.step = self.collected;
        if let Some(start) = restart {
            self.cursor = start;
        }
        self.switched = Some(BackendSwitch {
            now: self.backend.name(),
            reason: why,
            resumed: Some((from, self.collected)),
        });
        Ok(())
    }

    fn part(&self, part: Part) -> &[usize] {
        match part {
            Part::Train => &self.splits.train,
            Part::Validation => &self.splits.validation,
            Part::Test => &self.splits.test,
        }
    }

    /// Loss and accuracy over the epoch so far, from the training steps themselves.
    pub fn epoch_metrics(&self) -> Metrics {
        self.epoch_metrics.finish()
    }

    /// An evaluation pass (dropout off, batch norm on running statistics) over one part of the
    /// data; on the CPU if the device is lost meanwhile.
    pub fn evaluate(&mut self, part: Part) -> Result<Metrics, TrainError> {
        match self.try_evaluate(part) {
            Err(e) => {
                self.move_to_cpu(e)?;
                self.try_evaluate(part)
            }
            ok => ok,
        }
    }

    fn try_evaluate(&mut self, part: Part) -> Result<Metrics, TrainError> {
        let len = self.part(part).len();
        self.eval_metrics.clear();
        let scalars = self.scalars();
        let capacity = self.program.batch_capacity;
        let mut start = 0;
        while start < len {
            let rows = (len - start).min(capacity);
            self.load_batch(Some(part), start, rows)?;
            self.backend
                .run(self.program.phases.eval_forward.clone(), rows, &scalars)?;
            let prediction = self.program.eval.prediction;
            let ticket = self.backend.request(&[
                Fetch::Values {
                    buffer: self.program.eval.loss,
                    len: 1,
                },
                Fetch::Values {
                    buffer: prediction,
                    len: self.program.buffers[prediction].len(rows),
                },
            ])?;
            self.backend.collect(ticket, &mut self.readback)?;
            let values = match self.task {
                Some(Task::Regression { .. }) => {
                    &self.target_values[..target_len(&self.program, rows)]
                }
                _ => &[],
            };
            let (loss, prediction) = (self.readback[0], &self.readback[1..]);
            self.eval_metrics.add(
                loss,
                rows,
                prediction,
                &self.classes[..rows * self.positions],
                values,
            );
            start += rows;
        }
        Ok(self.eval_metrics.finish())
    }

    /// The evaluation pass's predictions (logits, or values for regression) for `features`,
    /// whole rows of the input's per-sample length, into `out`: what the live view draws a
    /// decision boundary from.
    pub fn predict(&mut self, features: &[f32], out: &mut Vec<f32>) -> Result<(), TrainError> {
        match self.try_predict(features, out) {
            Err(e) => {
                self.move_to_cpu(e)?;
                self.try_predict(features, out)
            }
            ok => ok,
        }
    }

    fn try_predict(&mut self, features: &[f32], out: &mut Vec<f32>) -> Result<(), TrainError> {
        out.clear();
        let feature_len = self.program.buffers[self.program.input].per_sample_len();
        let prediction = self.program.eval.prediction;
        let scalars = self.scalars();
        for chunk in features.chunks(self.program.batch_capacity * feature_len) {
            let rows = chunk.len() / feature_len;
            if rows == 0 {
                break;
            }
            write_input(
                &mut *self.backend,
                &self.program,
                &chunk[..rows * feature_len],
                &mut self.feature_ids,
            )?;
            self.backend
                .run(self.program.phases.eval_forward.clone(), rows, &scalars)?;
            let len = self.program.buffers[prediction].len(rows);
            self.backend.read(prediction, len, &mut self.readback)?;
            out.extend_from_slice(&self.readback);
        }
        Ok(())
    }

    /// A node's tensors as the last step left them, the output for `sample` of its batch
    /// (clamped to the rows it had). Reads whole tensors: for a paused run.
    pub fn inspect(&mut self, node: NodeId, sample: usize) -> Result<Inspection, TrainError> {
        let program = Arc::clone(&self.program);
        let rows = self.flight(self.collected).rows.max(1);
        let sample = sample.min(rows - 1);
        let mut tensors = Vec::new();
        let mut values = Vec::new();
        for (buffer, kind) in inspected_buffers(&program, node) {
            let b = &program.buffers[buffer];
            let per_sample = b.per_sample_len();
            let (len, start) = if b.batched {
                ((sample + 1) * per_sample, sample * per_sample)
            } else {
                (per_sample, 0)
            };
            self.backend.read(buffer, len, &mut values)?;
            tensors.push(Inspected::new(
                b.name.clone(),
                kind,
                b.shape.clone(),
                values[start..].to_vec(),
            ));
        }
        Ok(Inspection {
            node,
            step: self.collected,
            sample,
            tensors,
        })
    }

    /// The evaluation pass on `features` (whole rows) and every node's output for each row, in
    /// the program's order: one sample's way through the network, or every neuron's response
    /// over a grid of inputs.
    pub fn trace(&mut self, features: &[f32]) -> Result<Traced, TrainError> {
        let program = Arc::clone(&self.program);
        let feature_len = program.buffers[program.input].per_sample_len();
        let outputs = &program.node_outputs;
        let mut values = vec![Vec::new(); outputs.len() + 1];
        let scalars = self.scalars();
        let mut fetches = Vec::with_capacity(values.len());
        let mut inside = Vec::new();
        for chunk in features.chunks(program.batch_capacity * feature_len) {
            let rows = chunk.len() / feature_len;
            if rows == 0 {
                break;
            }
            write_input(
                &mut *self.backend,
                &program,
                &chunk[..rows * feature_len],
                &mut self.feature_ids,
            )?;
            self.backend
                .run(program.phases.eval_forward.clone(), rows, &scalars)?;
            if inside.is_empty() {
                inside = self.read_inside(&program, rows)?;
            }
            fetches.clear();
            let eval_buffers = outputs.iter().map(|o| o.eval);
            fetches.extend(eval_buffers.chain([program.eval.prediction]).map(|buffer| {
                Fetch::Values {
                    buffer,
                    len: program.buffers[buffer].len(rows),
                }
            }));
            let ticket = self.backend.request(&fetches)?;
            self.backend.collect(ticket, &mut self.readback)?;
            let mut words = self.readback.as_slice();
            for (all, fetch) in values.iter_mut().zip(&fetches) {
                let (these, rest) = words.split_at(fetch.words());
                all.extend_from_slice(these);
                words = rest;
            }
        }
        let prediction = values.pop().unwrap_or_default();
        let kind = Some(super::watch::TensorKind::Activation);
        Ok(Traced {
            rows: features.len() / feature_len.max(1),
            outputs: outputs
                .iter()
                .zip(values)
                .map(|(o, values)| {
                    let b = &program.buffers[o.eval];
                    let inspected = Inspected::new(b.name.clone(), kind, b.shape.clone(), values);
                    (o.node, inspected)
                })
                .collect(),
            prediction,
            inside,
        })
    }

    /// What the evaluation pass just run on `rows` rows computed inside its sequence layers,
    /// for the first row; a recurrence also gets how far back through time its state reaches
    /// (`engine::cpu::reach_through_time`, from the states read back, whichever the backend).
    fn read_inside(
        &mut self,
        program: &Program,
        rows: usize,
    ) -> Result<Vec<(NodeId, Inside)>, TrainError> {
        let mut inside = Vec::new();
        let mut values = Vec::new();
        let mut weights = Vec::new();
        let mut directions_seen: Vec<(NodeId, bool)> = Vec::new();
        for step in &program.steps[program.phases.eval_forward.clone()] {
            let Some(node) = step.node else { continue };
            match step.op {
                Op::Attention { shape, probs, .. } => {
                    let len = shape.heads * shape.steps * shape.steps;
                    self.backend.read(probs, len, &mut values)?;
                    let weights = values[..len].to_vec();
                    let (heads, steps) = (shape.heads, shape.steps);
                    inside.push((
                        node,
                        Inside::Attention {
                            heads,
                            steps,
                            weights,
                        },
                    ));
                }
                Op::Recurrence {
                    shape, saved, w_hh, ..
                } => {
                    // Layers come in order, each forward then (if bidirectional) reverse.
                    let layer = directions_seen
                        .iter()
                        .filter(|&&seen| seen == (node, shape.reverse))
                        .count();
                    directions_seen.push((node, shape.reverse));
                    let len = program.buffers[saved].len(rows);
                    self.backend.read(saved, len, &mut values)?;
                    let mut trace = RecurrentTrace::from_saved(&shape, layer, &values, rows, 0);
                    let len = program.buffers[w_hh].per_sample_len();
                    self.backend.read(w_hh, len, &mut weights)?;
                    let first = crate::engine::cpu::saved_row(&shape, &values, rows, 0);
                    trace.gradient_norms =
                        crate::engine::cpu::reach_through_time(&shape, &first, &weights[..len]);
                    inside.push((node, Inside::Recurrence(trace)));
                }
                _ => {}
            }
        }
        Ok(inside)
    }

    /// Every parameter and running statistic by its PyTorch name, with its shape.
    pub fn weights(&mut self) -> Result<Vec<NamedTensor>, TrainError> {
        let program = Arc::clone(&self.program);
        let named = named_state(&program);
        let mut out = Vec::new();
        for (name, buffer) in named {
            let b = &program.buffers[buffer];
            let mut values = Vec::new();
            self.backend.read(buffer, b.per_sample_len(), &mut values)?;
            out.push(NamedTensor {
                name: name.clone(),
                shape: b.shape.clone(),
                values,
            });
        }
        Ok(out)
    }

    /// Loads each of `tensors` whose name and shape match a parameter or running statistic of
    /// this program (carrying training across an edit of the graph); the rest keep their initial
    /// values, and their names are returned.
    pub fn load_matching(&mut self, tensors: &[NamedTensor]) -> Result<Vec<String>, TrainError> {
        let program = Arc::clone(&self.program);
        let named = named_state(&program);
        let mut fresh = Vec::new();
        for (name, buffer) in named {
            let shape = &program.buffers[buffer].shape;
            match tensors
                .iter()
                .find(|t| &t.name == name && &t.shape == shape)
            {
                Some(t) => self.backend.write(buffer, &t.values)?,
                None => fresh.push(name.clone()),
            }
        }
        Ok(fresh)
    }

    /// The optimizer's state buffers (`<param>.exp_avg`, `<param>.momentum_buffer`, ...) by
    /// name, with their shapes: what carries an optimizer across an edit of the graph.
    pub fn optimizer_state(&mut self) -> Result<Vec<NamedTensor>, TrainError> {
        let program = Arc::clone(&self.program);
        let mut out = Vec::new();
        for &buffer in &program.optimizer_state {
            let b = &program.buffers[buffer];
            let mut values = Vec::new();
            self.backend.read(buffer, b.per_sample_len(), &mut values)?;
            out.push(NamedTensor {
                name: b.name.clone(),
                shape: b.shape.clone(),
                values,
            });
        }
        Ok(out)
    }

    /// Loads each of `tensors` whose name and shape match an optimizer state buffer of this
    /// program; the rest keep their initial values.
    pub fn load_matching_optimizer_state(
        &mut self,
        tensors: &[NamedTensor],
    ) -> Result<(), TrainError> {
        let program = Arc::clone(&self.program);
        for &buffer in &program.optimizer_state {
            let b = &program.buffers[buffer];
            if let Some(t) = tensors
                .iter()
                .find(|t| t.name == b.name && t.shape == b.shape)
            {
                self.backend.write(buffer, &t.values)?;
            }
        }
        Ok(())
    }

    /// Counts on from `steps` steps taken, in epoch `epoch` (started again from its first
    /// batch): a program that replaces another mid-run goes on with its step and epoch count,
    /// and so its schedule and the optimizer's bias correction.
    pub fn continue_from(&mut self, steps: u64, epoch: usize) {
        self.drop_in_flight();
        self.step = steps;
        self.collected = steps;
        self.epoch = epoch;
        self.start_epoch();
    }

    /// The 0-based epoch training is in.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Replaces weights by name. Every parameter and running statistic must be given; optimizer
    /// state may be. Each tensor must have its buffer's shape and finite values, and a tensor that
    /// matches nothing in the network is an error (it usually means the weights are another
    /// network's). Nothing is written unless everything fits.
    pub fn set_weights(&mut self, tensors: &[NamedTensor]) -> Result<(), TrainError> {
        let program = Arc::clone(&self.program);
        let mut writes = Vec::with_capacity(tensors.len());
        let mut unknown = Vec::new();
        for t in tensors {
            let Some(id) = program.buffers.iter().position(|b| {
                b.name == t.name && matches!(b.kind, BufferKind::Param | BufferKind::State)
            }) else {
                unknown.push(t.name.as_str());
                continue;
            };
            // Optimizer state is checked like a parameter: a wrong length would be written over
            // the buffer's neighbours or leave it half old.
            let b = &program.buffers[id];
            if t.shape != b.shape || t.values.len() != b.per_sample_len() {
                return Err(TrainError::Weights(format!(
                    "\"{}\" has shape {:?} in the weights but {:?} in the network",
                    t.name, t.shape, b.shape
                )));
            }
            if let Some(index) = t.values.iter().position(|v| !v.is_finite()) {
                return Err(TrainError::Weights(format!(
                    "\"{}\" holds {} at index {index}",
                    t.name,
                    if t.values[index].is_nan() {
                        "NaN"
                    } else {
                        "an infinity"
                    }
                )));
            }
            writes.push((id, t));
        }
        if !unknown.is_empty() {
            return Err(TrainError::Weights(format!(
                "the weights hold {} that match nothing in this network: {}",
                if unknown.len() == 1 {
                    "a tensor"
                } else {
                    "tensors"
                },
                quoted_names(&unknown)
            )));
        }
        let missing: Vec<&str> = named_state(&program)
            .filter(|(name, _)| !tensors.iter().any(|t| &t.name == *name))
            .map(|(name, _)| name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(TrainError::Weights(format!(
                "the weights have no tensor named {}",
                quoted_names(&missing)
            )));
        }
        for (id, t) in writes {
            self.backend.write(id, &t.values)?;
        }
        Ok(())
    }
}

/// `"a", "b", "c"`, for naming tensors in an error.
fn quoted_names(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every parameter and running statistic with its PyTorch name: what weights files hold.
fn named_state(program: &Program) -> impl Iterator<Item = (&String, BufferId)> {
    program
        .params
        .iter()
        .map(|p| (&p.name, p.buffer))
        .chain(program.running_stats.iter().map(|s| (&s.name, s.buffer)))
}

/// A named tensor, as weights files hold them.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Values of the dataset's target in `rows` samples: none when the loss takes its target from
/// a wire.
fn target_len(program: &Program, rows: usize) -> usize {
    program.target.map_or(0, |t| program.buffers[t].len(rows))
}

/// Writes rows of features into the program's input: as they are, or as token ids (whole
/// numbers below the vocabulary, as the dataset checked) staged in `ids`.
fn write_input(
    backend: &mut dyn Backend,
    program: &Program,
    features: &[f32],
    ids: &mut [i32],
) -> Result<(), EngineError> {
    if program.buffers[program.input].dtype != DType::I32 {
        return backend.write(program.input, features);
    }
    let ids = &mut ids[..features.len()];
    for (id, &f) in ids.iter_mut().zip(features) {
        *id = f as i32;
    }
    backend.write_i32(program.input, ids)
}
