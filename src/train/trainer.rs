//! The trainer thread. It owns a session and reacts to commands between steps, so pausing,
//! stepping one batch and changing settings never wait for more than one step.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::generate::Sampling;
use super::metrics::Metrics;
use super::session::{BackendSwitch, NamedTensor, NonFinite, Part, Session, StepReport};
use super::watch::{Inspection, Snapshot, Traced};
use crate::graph::{EarlyStopping, NodeId, TrainingSettings};

pub enum Command {
    Play,
    Pause,
    /// Exactly one optimizer step, then pause.
    Step,
    /// Steps to the end of the current epoch, then pause.
    StepEpoch,
    SetLearningRate(f32),
    /// Replaces the settings that do not change the program (learning rate, schedule, optimizer
    /// constants, regularisation, clipping, epochs, early stopping); the rest are ignored.
    SetSettings(Box<TrainingSettings>),
    /// Fresh weights from the seed, back to step 0, paused.
    Reset,
    /// How often a step also reports the watched tensors' statistics (`Event::Statistics`);
    /// `None` stops them.
    Watch(Option<Duration>),
    /// At most one step per this long while playing (so a class can watch a small network
    /// learn); `None` runs at full speed.
    SetPace(Option<Duration>),
    /// The evaluation pass's predictions for these feature rows, answered by
    /// `Event::Predictions` with the same tag.
    Predict {
        tag: u64,
        features: Vec<f32>,
    },
    /// A node's tensors as they are now (`Event::Inspection`), with its output for one sample.
    Inspect {
        node: NodeId,
        sample: usize,
    },
    /// Every node's output for one row of features (`Event::Traced` with the same tag).
    Trace {
        tag: u64,
        features: Vec<f32>,
    },
    /// Text written by the model as it is now (`Event::Generated` with the same tag).
    Generate {
        tag: u64,
        sampling: Sampling,
    },
    Stop,
    /// The weights as they are now, with PyTorch's names (`Event::Weights`).
    Weights,
    /// Replaces every parameter and running statistic by these (shapes checked), answered by
    /// `Event::WeightsLoaded` or `Event::Error`.
    SetWeights(Vec<NamedTensor>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    pub train: Metrics,
    pub validation: Option<Metrics>,
    pub elapsed_secs: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    EpochsDone,
    StepLimit,
    EarlyStopped,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Steps finished since the last such event, oldest first (see `STEP_BATCH`).
    Steps(Vec<StepReport>),
    Epoch(EpochReport),
    /// Training stopped by itself; the test metrics are measured then.
    Finished {
        reason: FinishReason,
        test: Option<Metrics>,
    },
    /// A NaN or infinity appeared; training is paused and the weights are as before that step.
    NonFinite(NonFinite),
    /// Training moved to another backend (the GPU was lost, missing or too small), with the
    /// weights and optimizer state it had.
    BackendChanged(BackendSwitch),
    /// The watched tensors' statistics after a step (see `Session::watched`).
    Statistics(Arc<Snapshot>),
    Predictions {
        tag: u64,
        values: Vec<f32>,
    },
    /// The tokens written for `Command::Generate`, at the step the weights were at.
    Generated {
        tag: u64,
        step: u64,
        tokens: Vec<u32>,
    },
    Inspection(Arc<Inspection>),
    Traced {
        tag: u64,
        traced: Arc<Traced>,
    },
    Paused,
    Running,
    /// Back at step 0 with fresh weights; steps reported before this belong to the old run.
    Reset,
    Error(String),
    /// The weights after `step` steps, as `Command::Weights` asked.
    Weights {
        step: u64,
        tensors: Vec<NamedTensor>,
    },
    WeightsLoaded,
}

/// Optional stopping points beyond the settings' epochs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    pub max_steps: Option<u64>,
}

pub struct Trainer {
    pub commands: Sender<Command>,
    pub events: Receiver<Event>,
    thread: Option<JoinHandle<Session>>,
}

impl Trainer {
    /// Starts the thread, paused unless `start_running`.
    pub fn spawn(session: Session, limits: Limits, start_running: bool) -> Self {
        let (commands, command_rx) = channel();
        let (event_tx, events) = channel();
        let thread = std::thread::Builder::new()
            .name("netloom-trainer".into())
            .spawn(move || {
                let mut looper = Loop {
                    session,
                    limits,
                    events: event_tx,
                    steps: Vec::new(),
                    steps_sent: Instant::now(),
                    running: start_running,
                    pause_at_epoch_end: false,
                    best_validation: f32::INFINITY,
                    best_weights: None,
                    epochs_without_gain: 0,
                    epoch_started: Instant::now(),
                    pace: None,
                    last_advance: Instant::now(),
                };
                looper.run(command_rx);
                looper.session
            })
            .ok();
        Self {
            commands,
            events,
            thread,
        }
    }

    /// Stops the thread and hands back the session (for its weights).
    pub fn join(mut self) -> Option<Session> {
        let _ = self.commands.send(Command::Stop);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

/// Finished steps are reported together when they come faster than this: a small network takes
/// tens of thousands of steps a second, and one event each would cost a watcher more than
/// drawing them. A step waits at most this long (or until the trainer waits for anything).
const STEP_BATCH: Duration = Duration::from_millis(2);

struct Loop {
    session: Session,
    limits: Limits,
    events: Sender<Event>,
    /// Steps not reported yet, and when steps were last reported.
    steps: Vec<StepReport>,
    steps_sent: Instant,
    running: bool,
    pause_at_epoch_end: bool,
    best_validation: f32,
    /// The weights at the best validation loss, kept when early stopping is to restore them.
    best_weights: Option<Vec<NamedTensor>>,
    epochs_without_gain: usize,
    epoch_started: Instant,
    pace: Option<Duration>,
    last_advance: Instant,
}

impl Loop {
    /// Sends `event` after the steps before it.
    fn send(&mut self, event: Event) {
        self.send_steps();
        // The receiver going away just means nobody is watching.
        let _ = self.events.send(event);
    }

    fn send_steps(&mut self) {
        if !self.steps.is_empty() {
            let _ = self
                .events
                .send(Event::Steps(std::mem::take(&mut self.steps)));
        }
        self.steps_sent = Instant::now();
    }

    fn run(&mut self, commands: Receiver<Command>) {
        self.serve(commands);
        self.send_steps();
    }

    fn serve(&mut self, commands: Receiver<Command>) {
        self.report_switch();
        loop {
            // Time left before the next step may start, when paced.
            let wait = self.pace.map_or(Duration::ZERO, |p| {
                p.saturating_sub(self.last_advance.elapsed())
            });
            let command = if self.running && wait.is_zero() {
                match commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else if self.running {
                self.send_steps();
                match commands.recv_timeout(wait) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                self.send_steps();
                match commands.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return,
                }
            };
            match command {
                Some(Command::Stop) => {
                    self.drain();
                    return;
                }
                Some(command) => self.apply(command),
                None => {}
            }
            let due = self.pace.is_none_or(|p| self.last_advance.elapsed() >= p);
            if self.running && due {
                self.last_advance = Instant::now();
                self.advance();
            }
        }
    }

    fn set_running(&mut self, running: bool) {
        if self.running != running {
            self.running = running;
            self.send(if running {
                Event::Running
            } else {
                Event::Paused
            });
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Play => {
                self.pause_at_epoch_end = false;
                self.set_running(true);
            }
            Command::Pause => {
                self.drain();
                self.set_running(false);
            }
            Command::Step => {
                self.drain();
                self.set_running(false);
                self.advance();
            }
            Command::StepEpoch => {
                self.pause_at_epoch_end = true;
                self.set_running(true);
            }
            Command::SetLearningRate(lr) => self.session.settings.learning_rate = lr,
            Command::SetSettings(new) => {
                let s = &mut self.session.settings;
                // The optimizer kind and batch size shape the program; only their constants change here.
                if std::mem::discriminant(&s.optimizer) == std::mem::discriminant(&new.optimizer) {
                    s.optimizer = new.optimizer;
                }
                s.learning_rate = new.learning_rate;
                s.schedule = new.schedule;
                s.warmup_steps = new.warmup_steps;
                s.epochs = new.epochs;
                s.weight_decay = new.weight_decay;
                s.l1 = new.l1;
                s.clip_norm = new.clip_norm;
                s.early_stopping = new.early_stopping;
                s.shuffle = new.shuffle;
            }
            Command::Reset => {
                self.drain();
                self.set_running(false);
                self.best_validation = f32::INFINITY;
                self.best_weights = None;
                self.epochs_without_gain = 0;
                match self.session.reset() {
                    Ok(()) => self.send(Event::Reset),
                    Err(e) => self.send(Event::Error(e.to_string())),
                }
            }
            Command::Watch(every) => self.session.watch_every = every,
            Command::SetPace(pace) => self.pace = pace,
            Command::Predict { tag, features } => {
                // The prediction pass shares the input buffer with the steps in flight.
                self.drain();
                let mut values = Vec::new();
                match self.session.predict(&features, &mut values) {
                    Ok(()) => self.send(Event::Predictions { tag, values }),
                    Err(e) => self.send(Event::Error(e.to_string())),
                }
                self.report_switch();
            }
            Command::Generate { tag, sampling } => {
                // Writing runs the evaluation pass on the input buffer of the steps in flight.
                self.drain();
                let step = self.session.steps_taken();
                match self.session.generate(&sampling) {
                    Ok(tokens) => self.send(Event::Generated { tag, step, tokens }),
                    Err(e) => self.send(Event::Error(e.to_string())),
                }
                self.report_switch();
            }
            Command::Trace { tag, features } => {
                // The pass shares the input buffer with the steps in flight.
                self.drain();
                match self.session.trace(&features) {
                    Ok(traced) => self.send(Event::Traced {
                        tag,
                        traced: Arc::new(traced),
                    }),
                    Err(e) => self.send(Event::Error(e.to_string())),
                }
                self.report_switch();
            }
            Command::Inspect { node, sample } => {
                self.drain();
                match self.session.inspect(node, sample) {
                    Ok(inspection) => self.send(Event::Inspection(Arc::new(inspection))),
                    Err(e) => self.send(Event::Error(e.to_string())),
                }
                self.report_switch();
            }
            Command::Stop => {}
            Command::Weights => {
                self.drain();
                match self.session.weights() {
                    Ok(tensors) => self.send(Event::Weights {
                        step: self.session.steps_taken(),
                        tensors,
                    }),
                    Err(e) => self.send(Event::Error(e.to_string())),
                }
            }
            Command::SetWeights(tensors) => {
                self.drain();
                match self.session.set_weights(&tensors) {
                    Ok(()) => self.send(Event::WeightsLoaded),
                    Err(e) => self.send(Event::Error(format!("the weights do not fit: {e}"))),
                }
            }
        }
    }

    fn report_switch(&mut self) {
        if let Some(switch) = self.session.take_switch() {
            self.send(Event::BackendChanged(switch));
        }
    }

    /// Submits steps while running (keeping the device busy while the host reads the last
    /// one), or one when paused, then reports the oldest.
    fn advance(&mut self) {
        let session = &self.session;
        if session.in_flight() == 0 && session.epoch_metrics().samples == 0 {
            self.epoch_started = Instant::now();
        }
        loop {
            let session = &self.session;
            let under_limit = self
                .limits
                .max_steps
                .is_none_or(|max| session.steps_submitted() < max);
            let wanted = session.in_flight() == 0 || self.running;
            if !(wanted && under_limit && session.can_submit()) {
                break;
            }
            if let Err(e) = self.session.submit() {
                self.report_switch();
                self.send(Event::Error(e.to_string()));
                self.set_running(false);
                return;
            }
        }
        self.collect_one();
    }

    /// Reports the steps still in flight, submitting no more.
    fn drain(&mut self) {
        while self.session.in_flight() > 0 {
            self.collect_one();
        }
    }

    /// Reports the oldest step in flight, and the epoch's end when it comes.
    fn collect_one(&mut self) {
        let collected = self.session.collect();
        self.report_switch();
        let report = match collected {
            Ok(Some(Ok(report))) => report,
            Ok(None) => return,
            Ok(Some(Err(non_finite))) => {
                self.send(Event::NonFinite(non_finite));
                self.set_running(false);
                self.drain();
                return;
            }
            Err(e) => {
                self.send(Event::Error(e.to_string()));
                self.set_running(false);
                return;
            }
        };
        self.steps.push(report);
        if self.steps_sent.elapsed() >= STEP_BATCH {
            self.send_steps();
        }
        if let Some(snapshot) = self.session.take_snapshot() {
            self.send(Event::Statistics(Arc::new(snapshot)));
        }
        if self.limits.max_steps.is_some_and(|max| report.step >= max) {
            self.finish(FinishReason::StepLimit);
            return;
        }
        if report.epoch_done {
            self.end_epoch(report.epoch);
        }
    }

    fn end_epoch(&mut self, epoch: usize) {
        let train = self.session.epoch_metrics();
        let validation = if self.session.split_sizes().1 > 0 {
            match self.session.evaluate(Part::Validation) {
                Ok(m) => Some(m),
                Err(e) => {
                    self.send(Event::Error(e.to_string()));
                    None
                }
            }
        } else {
            None
        };
        let stop_early = match (&validation, self.session.settings.early_stopping) {
            (
                Some(v),
                Some(EarlyStopping {
                    patience,
                    min_delta,
                    restore_best,
                }),
            ) => {
                if v.loss < self.best_validation - min_delta {
                    self.best_validation = v.loss;
                    self.epochs_without_gain = 0;
                    if restore_best {
                        match self.session.weights() {
                            Ok(weights) => self.best_weights = Some(weights),
                            Err(e) => self.send(Event::Error(e.to_string())),
                        }
                    }
                } else {
                    self.epochs_without_gain += 1;
                }
                self.epochs_without_gain >= patience.max(1)
            }
            _ => false,
        };
        self.send(Event::Epoch(EpochReport {
            epoch,
            train,
            validation,
            elapsed_secs: self.epoch_started.elapsed().as_secs_f64(),
        }));
        self.epoch_started = Instant::now();
        if stop_early {
            let restore = self
                .session
                .settings
                .early_stopping
                .is_some_and(|e| e.restore_best);
            if let Some(best) = self.best_weights.take()
                && restore
                && let Err(e) = self.session.load_matching(&best)
            {
                self.send(Event::Error(e.to_string()));
            }
            self.finish(FinishReason::EarlyStopped);
        } else if epoch + 1 >= self.session.settings.epochs {
            self.finish(FinishReason::EpochsDone);
        } else if self.pause_at_epoch_end {
            self.pause_at_epoch_end = false;
            self.set_running(false);
        }
    }

    fn finish(&mut self, reason: FinishReason) {
        let test = if self.session.split_sizes().2 > 0 {
            self.session
                .evaluate(Part::Test)
                .map_err(|e| self.send(Event::Error(e.to_string())))
                .ok()
        } else {
            None
        };
        self.running = false;
        self.send(Event::Finished { reason, test });
    }
}
