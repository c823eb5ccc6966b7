//! A training session: one program on one backend over one dataset. Synchronous and
//! allocation-free per step; the trainer thread drives it, and tests and the CLI can too.

use std::sync::Arc;

use super::TrainError;
use super::metrics::{Accumulator, Metrics};
use super::schedule::{Progress, learning_rate};
use crate::compile::{BufferId, BufferKind, DType, Program, initial_values};
use crate::data::{Dataset, Splits, Task};
use crate::engine::{Backend, StepScalars};
use crate::graph::{NodeId, Optimizer, TrainingSettings};
use crate::rng::Rng;

/// Stream of the run's generator reserved for shuffling.
const SHUFFLE_STREAM: u64 = 2;

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
}

/// Where a non-finite value first appeared.
#[derive(Clone, Debug, PartialEq)]
pub struct NonFinite {
    pub step: u64,
    pub op: String,
    pub node: Option<NodeId>,
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
    task: Task,
    splits: Splits,
    pub settings: TrainingSettings,
    shuffle: Rng,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    step: u64,
    epoch_metrics: Accumulator,
    eval_metrics: Accumulator,
    // Reused batch staging, so a step allocates nothing.
    features: Vec<f32>,
    target_values: Vec<f32>,
    target_classes: Vec<i32>,
    classes: Vec<usize>,
    readback: Vec<f32>,
    prediction: Vec<f32>,
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
        let target_len = program.buffers[program.target].per_sample_len();
        let prediction_len = program.buffers[program.train.prediction].per_sample_len();
        let task = dataset.task();
        let mut session = Self {
            shuffle: Rng::fork(settings.seed, SHUFFLE_STREAM),
            order: splits.train.clone(),
            cursor: 0,
            epoch: 0,
            step: 0,
            epoch_metrics: Accumulator::new(task.clone()),
            eval_metrics: Accumulator::new(task.clone()),
            features: vec![0.0; capacity * feature_len],
            target_values: vec![0.0; capacity * target_len],
            target_classes: vec![0; capacity],
            classes: vec![0; capacity],
            readback: Vec::with_capacity(capacity * prediction_len.max(1)),
            prediction: Vec::with_capacity(capacity * prediction_len.max(1)),
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

    pub fn steps_taken(&self) -> u64 {
        self.step
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

    /// Fresh weights and optimizer state from the seed; back to step 0.
    pub fn reset(&mut self) -> Result<(), TrainError> {
        for (buffer, values) in initial_values(&self.program, self.settings.seed) {
            self.backend.write(buffer, &values)?;
        }
        self.shuffle = Rng::fork(self.settings.seed, SHUFFLE_STREAM);
        self.step = 0;
        self.epoch = 0;
        self.start_epoch();
        Ok(())
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
            total_steps: self.steps_per_epoch() * s.epochs as u64,
        };
        let mut scalars = StepScalars {
            learning_rate: learning_rate(s.learning_rate, s.schedule, s.warmup_steps, progress),
            weight_decay: s.weight_decay,
            l1: s.l1,
            clip_norm: s.clip_norm.unwrap_or(0.0),
            step: (self.step + 1) as u32,
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
        scalars
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
        let target = &self.program.buffers[self.program.target];
        let target_len = target.per_sample_len();
        let classes_as_labels = target.dtype == DType::I32;
        let indices = match part {
            None => &self.order[start..start + rows],
            Some(Part::Train) => &self.splits.train[start..start + rows],
            Some(Part::Validation) => &self.splits.validation[start..start + rows],
            Some(Part::Test) => &self.splits.test[start..start + rows],
        };
        for (r, &i) in indices.iter().enumerate() {
            self.dataset.copy_features(
                i,
                &mut self.features[r * feature_len..(r + 1) * feature_len],
            );
            self.classes[r] = self.dataset.class(i);
            if classes_as_labels {
                self.target_classes[r] = self.classes[r] as i32;
            } else {
                self.dataset.copy_target(
                    i,
                    &mut self.target_values[r * target_len..(r + 1) * target_len],
                );
            }
        }
        self.backend
            .write(self.program.input, &self.features[..rows * feature_len])?;
        if classes_as_labels {
            self.backend
                .write_i32(self.program.target, &self.target_classes[..rows])?;
        } else {
            self.backend.write(
                self.program.target,
                &self.target_values[..rows * target_len],
            )?;
        }
        Ok(())
    }

    /// One optimizer step on the next mini-batch. A non-finite loss or gradient leaves the weights
    /// untouched and names the first op that produced it.
    pub fn step(&mut self) -> Result<Result<StepReport, NonFinite>, TrainError> {
        let started = std::time::Instant::now();
        if self.cursor >= self.order.len() {
            self.epoch += 1;
            self.start_epoch();
        }
        let rows = (self.order.len() - self.cursor).min(self.program.batch_capacity);
        self.load_batch(None, self.cursor, rows)?;
        let scalars = self.scalars();
        let p = &self.program.phases;
        let (forward, backward, update) = (
            p.train_forward.clone(),
            p.backward.clone(),
            p.update.clone(),
        );
        self.backend
            .run(forward.start..backward.end, rows, &scalars)?;
        self.backend.run(update, rows, &scalars)?;
        self.backend
            .read(self.program.train.loss, 1, &mut self.readback)?;
        let loss = self.readback[0];
        self.backend
            .read(self.program.grad_norm_sq, 1, &mut self.readback)?;
        let norm_sq = self.readback[0];
        if !loss.is_finite() || !norm_sq.is_finite() {
            let at = self
                .backend
                .first_non_finite(forward.start..backward.end, rows, &scalars)?;
            let step = at.map(|i| &self.program.steps[i]);
            return Ok(Err(NonFinite {
                step: self.step + 1,
                op: step.map_or_else(|| "gradient norm".to_string(), |s| s.op.label()),
                node: step.and_then(|s| s.node),
            }));
        }
        self.record(self.program.train.prediction, loss, rows, false)?;
        self.cursor += rows;
        self.step += 1;
        Ok(Ok(StepReport {
            step: self.step,
            epoch: self.epoch,
            loss,
            grad_norm: norm_sq.sqrt(),
            learning_rate: scalars.learning_rate,
            rows,
            step_secs: started.elapsed().as_secs_f32(),
            epoch_done: self.cursor >= self.order.len(),
        }))
    }

    fn part(&self, part: Part) -> &[usize] {
        match part {
            Part::Train => &self.splits.train,
            Part::Validation => &self.splits.validation,
            Part::Test => &self.splits.test,
        }
    }

    /// Reads the batch's predictions and adds them, with its loss, to the epoch's training
    /// metrics or to the evaluation's.
    fn record(
        &mut self,
        prediction: BufferId,
        loss: f32,
        rows: usize,
        eval: bool,
    ) -> Result<(), TrainError> {
        let prediction_len = self.program.buffers[prediction].len(rows);
        self.backend
            .read(prediction, prediction_len, &mut self.prediction)?;
        let target_len = self.program.buffers[self.program.target].len(rows);
        let values = match self.task {
            Task::Regression { .. } => &self.target_values[..target_len],
            Task::Classification { .. } => &[],
        };
        let metrics = if eval {
            &mut self.eval_metrics
        } else {
            &mut self.epoch_metrics
        };
        metrics.add(loss, rows, &self.prediction, &self.classes[..rows], values);
        Ok(())
    }

    /// Loss and accuracy over the epoch so far, from the training steps themselves.
    pub fn epoch_metrics(&self) -> Metrics {
        self.epoch_metrics.finish()
    }

    /// An evaluation pass (dropout off, batch norm on running statistics) over one part of the data.
    pub fn evaluate(&mut self, part: Part) -> Result<Metrics, TrainError> {
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
            self.backend
                .read(self.program.eval.loss, 1, &mut self.readback)?;
            let loss = self.readback[0];
            self.record(self.program.eval.prediction, loss, rows, true)?;
            start += rows;
        }
        Ok(self.eval_metrics.finish())
    }

    /// Every parameter and running statistic by its PyTorch name, with its shape.
    pub fn weights(&mut self) -> Result<Vec<NamedTensor>, TrainError> {
        let program = Arc::clone(&self.program);
        let named = program
            .params
            .iter()
            .map(|p| (&p.name, p.buffer))
            .chain(program.running_stats.iter().map(|s| (&s.name, s.buffer)));
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

    /// Replaces weights by name. Every parameter and running statistic must be given, with its shape.
    pub fn set_weights(&mut self, tensors: &[NamedTensor]) -> Result<(), TrainError> {
        let program = Arc::clone(&self.program);
        for buffer in program
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| matches!(b.kind, BufferKind::Param | BufferKind::State))
        {
            let (id, b) = buffer;
            let is_optimizer_state = program.optimizer_state.contains(&id);
            if is_optimizer_state {
                continue;
            }
            let Some(t) = tensors.iter().find(|t| t.name == b.name) else {
                return Err(TrainError::Weights(format!(
                    "the weights have no tensor named \"{}\"",
                    b.name
                )));
            };
            if t.shape != b.shape || t.values.len() != b.per_sample_len() {
                return Err(TrainError::Weights(format!(
                    "\"{}\" has shape {:?} in the weights but {:?} in the network",
                    b.name, t.shape, b.shape
                )));
            }
        }
        for t in tensors {
            if let Some(id) = program.buffers.iter().position(|b| {
                b.name == t.name && matches!(b.kind, BufferKind::Param | BufferKind::State)
            }) {
                self.backend.write(id, &t.values)?;
            }
        }
        Ok(())
    }
}

/// A named tensor, as weights files hold them.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}
