//! The window's connection to a training run: it starts a `Trainer` off the UI thread, speaks to
//! it only through commands and events, and keeps what the events say in a `History`. Settings
//! that leave the program's shapes alone go to the running trainer; an edit of the graph (or of
//! a setting that shapes the program) starts a new trainer that keeps every weight that still
//! fits.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Duration;

use super::history::History;
use crate::data::{Dataset, DatasetSpec, InMemoryDataset, SplitFractions};
use crate::graph::{BackendChoice, Graph, NodeId, Optimizer, Project, TrainingSettings};
use crate::train::{
    self, Command, Event, FinishReason, Inspection, Limits, Metrics, Traced, Trainer, Watched,
};

/// How often a step brings back the watched tensors' statistics.
pub const WATCH_EVERY: Duration = Duration::from_millis(100);

/// Sixty steps a second: a small network learns slowly enough for a class to watch.
pub const DEFAULT_PACE: Duration = Duration::from_micros(16_667);

/// A NaN or infinity that paused training, where it came from and what to try.
#[derive(Clone, Debug, PartialEq)]
pub struct NonFiniteReport {
    pub node: Option<NodeId>,
    /// The step whose values were not finite, counted across edits of the graph.
    pub step: u64,
    pub message: String,
}

/// What carries over from a trainer into the one that replaces it after an edit.
struct Carried {
    weights: Vec<train::NamedTensor>,
    optimizer_state: Vec<train::NamedTensor>,
    steps: u64,
    epoch: usize,
}

/// What a freshly started trainer brings.
struct Started {
    trainer: Trainer,
    watched: Vec<Watched>,
    device: String,
    /// Parameters that kept fresh values when weights were carried over.
    fresh: Option<Vec<String>>,
}

/// What the program was compiled from: a change to any of it needs a new program.
#[derive(Clone, PartialEq)]
struct Compiled {
    graph: Graph,
    data: (DatasetSpec, SplitFractions),
    batch_size: usize,
    optimizer: std::mem::Discriminant<Optimizer>,
    /// Nesterov momentum is a different update, compiled into the program.
    nesterov: bool,
    backend: BackendChoice,
}

impl Compiled {
    fn of(project: &Project) -> Self {
        let mut graph = project.graph.clone();
        // Where a node sits on the canvas does not change the program.
        for node in &mut graph.nodes {
            node.position = [0.0, 0.0];
        }
        Self {
            graph,
            data: (project.dataset.clone(), project.split),
            batch_size: project.training.batch_size,
            optimizer: std::mem::discriminant(&project.training.optimizer),
            nesterov: matches!(
                project.training.optimizer,
                Optimizer::Sgd { nesterov: true, .. }
            ),
            backend: project.training.backend,
        }
    }
}

enum Phase {
    Idle,
    /// A thread is compiling the program and starting the trainer; `then` holds the commands
    /// given meanwhile.
    Starting {
        started: Receiver<Result<Started, String>>,
        then: Vec<Command>,
    },
    Live(Trainer),
}

pub struct Run {
    phase: Phase,
    compiled: Option<Compiled>,
    /// The settings the trainer has, to send only what changed.
    settings: Option<TrainingSettings>,
    /// The editor's version and error state the live trainer was last compared with.
    followed: Option<(u64, bool)>,
    pub history: History,
    pub running: bool,
    /// The device training runs on, as the trainer names it.
    pub device: Option<String>,
    /// Why training runs on another backend than asked for, if it does.
    pub fallback: Option<String>,
    /// Something else the user should know: layers re-initialised by an edit, an error.
    pub notice: Option<String>,
    pub non_finite: Option<NonFiniteReport>,
    pub finished: Option<FinishReason>,
    /// Training was paused because an edit left the graph with errors: the trainer still holds
    /// the last network without them.
    pub paused_by_errors: bool,
    /// The epoch count the trainer stops at when more epochs were asked for after it finished
    /// (the project's count otherwise).
    epoch_limit: Option<usize>,
    /// Steps of earlier programs of this run (before edits of the graph), so the plots go on.
    step_offset: u64,
    next_tag: u64,
    /// Answers to `predict` and `trace`, by tag, until taken.
    answers: Vec<(u64, Answer)>,
    /// A dataset the window has loaded, and the settings it was loaded with: a run on the
    /// same settings starts on it instead of loading it again.
    loaded: Option<(DatasetSpec, Arc<InMemoryDataset>)>,
    /// The shortest time between steps while playing; `None` is full speed.
    pace: Option<Duration>,
    /// How often statistics of the watched tensors come; `None` never.
    watch: Option<Duration>,
    /// The latest look inside a node, and what was last asked for (node, sample, step).
    pub inspection: Option<Arc<Inspection>>,
    inspection_asked: Option<(NodeId, usize, u64)>,
    /// The trainer's answer to `Command::Weights` or `Command::SetWeights`, for the window to
    /// take.
    pub weights: Option<WeightsAnswer>,
    /// The test split's metrics, measured when training finished.
    pub test: Option<Metrics>,
    /// The project the trainer was started on, and its folder: Reset starts again from it
    /// when the seed changed since, as the seed also draws the split.
    started_on: Option<(Project, PathBuf)>,
}

pub enum WeightsAnswer {
    /// The weights after this many steps of the run.
    Taken {
        step: u64,
        tensors: Vec<crate::train::NamedTensor>,
    },
    Loaded,
}

/// What the trainer answered to a tagged question.
enum Answer {
    Predictions(Vec<f32>),
    Traced(Arc<Traced>),
    /// Tokens written, and the step (counted across edits) of the weights that wrote them.
    Generated(u64, Vec<u32>),
}

impl Default for Run {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            compiled: None,
            settings: None,
            followed: None,
            history: History::default(),
            running: false,
            device: None,
            fallback: None,
            notice: None,
            non_finite: None,
            finished: None,
            paused_by_errors: false,
            epoch_limit: None,
            step_offset: 0,
            next_tag: 0,
            answers: Vec::new(),
            loaded: None,
            pace: Some(DEFAULT_PACE),
            watch: Some(WATCH_EVERY),
            inspection: None,
            weights: None,
            inspection_asked: None,
            test: None,
            started_on: None,
        }
    }
}

impl Run {
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Idle)
    }

    pub fn is_starting(&self) -> bool {
        matches!(self.phase, Phase::Starting { .. })
    }

    pub fn pace(&self) -> Option<Duration> {
        self.pace
    }

    /// Sets the shortest time between steps (`None`: full speed), now and for later trainers.
    pub fn set_pace(&mut self, pace: Option<Duration>) {
        self.pace = pace;
        if let Phase::Live(trainer) = &self.phase {
            let _ = trainer.commands.send(Command::SetPace(pace));
        }
    }

    /// Sets how often statistics come (`None`: never), now and for later trainers.
    pub fn set_watch(&mut self, every: Option<Duration>) {
        self.watch = every;
        if let Phase::Live(trainer) = &self.phase {
            let _ = trainer.commands.send(Command::Watch(every));
        }
    }

    /// Asks for a look inside `node` while paused, unless that look is already asked for.
    pub fn want_inspection(&mut self, node: NodeId, sample: usize) {
        let Phase::Live(trainer) = &self.phase else {
            return;
        };
        let wanted = (node, sample, self.steps());
        if self.running || self.inspection_asked == Some(wanted) {
            return;
        }
        let _ = trainer.commands.send(Command::Inspect { node, sample });
        self.inspection_asked = Some(wanted);
    }

    /// Steps taken in this run, across edits of the graph.
    pub fn steps(&self) -> u64 {
        self.history.last_step()
    }

    /// Sends `command`, starting a trainer for `project` first when there is none.
    pub fn command(&mut self, project: &Project, base_dir: PathBuf, command: Command) {
        if matches!(command, Command::Play | Command::Step | Command::StepEpoch) {
            self.non_finite = None;
            self.finished = None;
            self.test = None;
            self.paused_by_errors = false;
        }
        match &mut self.phase {
            Phase::Live(trainer) => {
                let _ = trainer.commands.send(command);
            }
            Phase::Starting { then, .. } => then.push(command),
            Phase::Idle => {
                self.start(project, base_dir, None);
                if let Phase::Starting { then, .. } = &mut self.phase {
                    then.push(command);
                }
            }
        }
    }

    /// Fresh weights from the seed, paused at step 0, with empty plots.
    pub fn reset(&mut self) {
        let seed_changed = match (&self.started_on, &self.settings) {
            (Some((project, _)), Some(settings)) => project.training.seed != settings.seed,
            _ => false,
        };
        if seed_changed
            && matches!(self.phase, Phase::Live(_))
            && let Some((mut project, base_dir)) = self.started_on.take()
            && let Some(settings) = self.settings.clone()
        {
            // The seed draws the split as well as the weights: a new session on the new split.
            project.training = settings;
            self.stop();
            self.history = History::default();
            self.step_offset = 0;
            self.epoch_limit = None;
            self.start(&project, base_dir, None);
        }
        // The plots clear when the trainer confirms, after the steps it still reports.
        match &self.phase {
            Phase::Live(trainer) => {
                let _ = trainer.commands.send(Command::Reset);
            }
            _ => self.history = History::default(),
        }
        self.non_finite = None;
        self.finished = None;
        self.test = None;
        self.paused_by_errors = false;
        self.notice = None;
        self.answers.clear();
        if self.epoch_limit.take().is_some()
            && let (Phase::Live(trainer), Some(settings)) = (&self.phase, &self.settings)
        {
            let _ = trainer
                .commands
                .send(Command::SetSettings(Box::new(settings.clone())));
        }
    }

    /// The epochs taken so far in this run.
    pub fn epochs_done(&self) -> usize {
        self.history.last.as_ref().map_or(0, |l| l.epoch + 1)
    }

    /// After training has finished, trains `more` epochs beyond those done and stops again.
    pub fn train_more(&mut self, project: &Project, base_dir: PathBuf, more: usize) {
        let limit = self.epochs_done() + more.max(1);
        self.epoch_limit = Some(limit);
        if let Phase::Live(trainer) = &self.phase {
            let _ = trainer
                .commands
                .send(Command::SetSettings(Box::new(self.for_trainer(project))));
        }
        self.command(project, base_dir, Command::Play);
    }

    /// The project's settings as the trainer is to have them: with the epoch limit asked for
    /// after it finished, when that is further.
    fn for_trainer(&self, project: &Project) -> TrainingSettings {
        let mut settings = project.training.clone();
        if let Some(limit) = self.epoch_limit {
            settings.epochs = settings.epochs.max(limit);
        }
        settings
    }

    fn stop(&mut self) {
        if let Phase::Live(trainer) = std::mem::replace(&mut self.phase, Phase::Idle) {
            // The trainer stops within a step; its thread is left to finish on its own.
            let _ = trainer.commands.send(Command::Stop);
        }
        self.running = false;
        self.compiled = None;
        self.settings = None;
    }

    /// Compiles `project` and starts its trainer on a thread, carrying over the weights of
    /// `previous` when given.
    /// Offers the dataset the window has loaded for `spec` to the runs that start from now on.
    pub fn offer_dataset(&mut self, spec: &DatasetSpec, dataset: &Arc<InMemoryDataset>) {
        let offered = self
            .loaded
            .as_ref()
            .is_some_and(|(s, d)| Arc::ptr_eq(d, dataset) && s == spec);
        if !offered {
            self.loaded = Some((spec.clone(), Arc::clone(dataset)));
        }
    }

    fn start(&mut self, project: &Project, base_dir: PathBuf, previous: Option<Trainer>) {
        let (tx, rx) = channel();
        let owned = project.clone();
        let dir = base_dir.clone();
        let loaded = self
            .loaded
            .as_ref()
            .filter(|(spec, _)| *spec == project.dataset)
            .map(|(_, dataset)| Arc::clone(dataset) as Arc<dyn Dataset>);
        let spawned = std::thread::Builder::new()
            .name("netloom-start".into())
            .spawn(move || {
                let _ = tx.send(start_trainer(&owned, &base_dir, loaded, previous));
            });
        if let Err(e) = spawned {
            self.notice = Some(format!("Could not start training: {e}"));
            return;
        }
        self.compiled = Some(Compiled::of(project));
        self.settings = Some(project.training.clone());
        self.started_on = Some((project.clone(), dir));
        self.phase = Phase::Starting {
            started: rx,
            then: Vec::new(),
        };
    }

    /// Follows the project as it is edited (`version` counts the edits): settings that keep
    /// the program's shapes go to the trainer; other changes restart it with the weights that
    /// still fit. Waits for a graph without errors. Compares only when something changed.
    pub fn follow(&mut self, project: &Project, version: u64, base_dir: PathBuf, has_errors: bool) {
        let Phase::Live(trainer) = &self.phase else {
            return;
        };
        if self.followed == Some((version, has_errors)) {
            return;
        }
        self.followed = Some((version, has_errors));
        if let Some(settings) = &self.settings
            && *settings != project.training
        {
            let _ = trainer
                .commands
                .send(Command::SetSettings(Box::new(self.for_trainer(project))));
            self.settings = Some(project.training.clone());
        }
        let changed = self
            .compiled
            .as_ref()
            .is_some_and(|c| *c != Compiled::of(project));
        if changed && has_errors && self.running {
            // Training on would train a network that is no longer the one on screen.
            let _ = trainer.commands.send(Command::Pause);
            self.paused_by_errors = true;
        }
        if changed && !has_errors {
            self.paused_by_errors = false;
            let Phase::Live(trainer) = std::mem::replace(&mut self.phase, Phase::Idle) else {
                unreachable!("matched above")
            };
            let resume = self.running;
            // The new session counts its steps and epochs on from the old one's.
            self.step_offset = 0;
            self.start(project, base_dir, Some(trainer));
            if let Phase::Starting { then, .. } = &mut self.phase
                && resume
            {
                then.push(Command::Play);
            }
        }
    }

    /// Asks for the predictions of `features`; `take_predictions` gives them with the returned
    /// tag.
    pub fn predict(&mut self, features: Vec<f32>) -> Option<u64> {
        self.send_tagged(|tag| Command::Predict { tag, features })
    }

    /// Asks for every node's output for rows of features; `take_traced` gives them with the
    /// returned tag.
    pub fn trace(&mut self, features: Vec<f32>) -> Option<u64> {
        self.send_tagged(|tag| Command::Trace { tag, features })
    }

    /// Asks for text written by the model; `take_generated` gives it with the returned tag.
    pub fn generate(&mut self, sampling: train::Sampling) -> Option<u64> {
        self.send_tagged(|tag| Command::Generate { tag, sampling })
    }

    /// The answer to the `generate` that returned `tag`, once it is in: the step of the
    /// weights that wrote it, and the tokens.
    pub fn take_generated(&mut self, tag: u64) -> Option<(u64, Vec<u32>)> {
        match self.take_answer(tag)? {
            Answer::Generated(step, tokens) => Some((step, tokens)),
            _ => None,
        }
    }

    /// Sends a command whose answer comes back under a fresh tag, which is returned.
    fn send_tagged(&mut self, command: impl FnOnce(u64) -> Command) -> Option<u64> {
        let Phase::Live(trainer) = &self.phase else {
            return None;
        };
        let tag = self.next_tag;
        self.next_tag += 1;
        trainer.commands.send(command(tag)).ok()?;
        Some(tag)
    }

    /// The answer to the `predict` that returned `tag`, once it is in.
    pub fn take_predictions(&mut self, tag: u64) -> Option<Vec<f32>> {
        match self.take_answer(tag)? {
            Answer::Predictions(values) => Some(values),
            _ => None,
        }
    }

    /// The answer to the `trace` that returned `tag`, once it is in.
    pub fn take_traced(&mut self, tag: u64) -> Option<Arc<Traced>> {
        match self.take_answer(tag)? {
            Answer::Traced(traced) => Some(traced),
            _ => None,
        }
    }

    fn take_answer(&mut self, tag: u64) -> Option<Answer> {
        let i = self.answers.iter().position(|(t, _)| *t == tag)?;
        Some(self.answers.swap_remove(i).1)
    }

    fn keep_answer(&mut self, tag: u64, answer: Answer) {
        // Answers nobody took (their view was closed) are not kept for long.
        if self.answers.len() >= 8 {
            self.answers.remove(0);
        }
        self.answers.push((tag, answer));
    }

    /// Takes in what the trainer has said since the last frame.
    pub fn poll(&mut self, graph: &Graph) {
        if let Phase::Starting { started, then } = &mut self.phase {
            match started.try_recv() {
                Ok(Ok(started)) => {
                    let commands = &started.trainer.commands;
                    if self.epoch_limit.is_some()
                        && let Some(settings) = &self.settings
                    {
                        let mut settings = settings.clone();
                        settings.epochs = settings.epochs.max(self.epoch_limit.unwrap_or(0));
                        let _ = commands.send(Command::SetSettings(Box::new(settings)));
                    }
                    let _ = commands.send(Command::Watch(self.watch));
                    let _ = commands.send(Command::SetPace(self.pace));
                    for command in then.drain(..) {
                        let _ = commands.send(command);
                    }
                    self.history.watch(started.watched);
                    self.device = Some(started.device);
                    // What was said of the last trainer is stale; this one says its own (a
                    // fallback to the CPU comes again as an event if it happens again).
                    self.fallback = None;
                    self.notice = None;
                    if let Some(fresh) = started.fresh.filter(|f| !f.is_empty()) {
                        self.notice = Some(format!(
                            "The network changed: {} started again from fresh values; every other weight was kept.",
                            fresh.join(", ")
                        ));
                    }
                    self.phase = Phase::Live(started.trainer);
                }
                Ok(Err(e)) => {
                    self.notice = Some(e);
                    self.phase = Phase::Idle;
                    self.compiled = None;
                    return;
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.notice = Some("Training could not start.".into());
                    self.phase = Phase::Idle;
                    return;
                }
            }
        }
        let Phase::Live(trainer) = &self.phase else {
            return;
        };
        // Bounded, so a flood of fast steps never holds up a frame.
        let events: Vec<Event> = trainer.events.try_iter().take(10_000).collect();
        for event in events {
            self.take(event, graph);
        }
    }

    fn take(&mut self, event: Event, graph: &Graph) {
        match event {
            Event::Steps(reports) => self.history.steps(&reports, self.step_offset),
            Event::Epoch(epoch) => self.history.epoch(&epoch, self.step_offset),
            Event::Statistics(snapshot) => self.history.snapshot(&snapshot, self.step_offset),
            Event::Inspection(inspection) => self.inspection = Some(inspection),
            Event::Traced { tag, traced } => self.keep_answer(tag, Answer::Traced(traced)),
            Event::Generated { tag, step, tokens } => {
                let step = step + self.step_offset;
                self.keep_answer(tag, Answer::Generated(step, tokens));
            }
            Event::Predictions { tag, values } => {
                self.keep_answer(tag, Answer::Predictions(values))
            }
            Event::Finished { reason, test } => {
                self.finished = Some(reason);
                self.test = test;
                self.running = false;
            }
            Event::NonFinite(nf) => {
                let place = nf
                    .node
                    .and_then(|id| graph.node(id))
                    .map_or("the network".to_string(), |n| format!("\"{}\"", n.name));
                self.non_finite = Some(NonFiniteReport {
                    node: nf.node,
                    step: nf.step + self.step_offset,
                    message: format!(
                        "Training paused at step {}: the {} in {place} produced a NaN or an infinity, so the weights were left as they were. \
                         The usual cause is a learning rate that is too high; inputs with very large values, a division by a tiny variance or \
                         a log of zero can do it too. Lower the learning rate (or press Reset) and train again.",
                        nf.step + self.step_offset,
                        nf.op
                    ),
                });
                self.running = false;
            }
            Event::BackendChanged(switch) => {
                self.device = Some(switch.now.clone());
                self.fallback = Some(format!("Now {switch}."));
            }
            Event::Reset => {
                let watched = std::mem::take(&mut self.history).watched;
                self.step_offset = 0;
                self.history.watch(watched);
            }
            Event::Paused => self.running = false,
            Event::Running => self.running = true,
            Event::Weights { step, tensors } => {
                self.weights = Some(WeightsAnswer::Taken {
                    step: step + self.step_offset,
                    tensors,
                })
            }
            Event::WeightsLoaded => self.weights = Some(WeightsAnswer::Loaded),
            Event::Error(e) => {
                self.notice = Some(format!("Training stopped: {e}"));
                self.running = false;
            }
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Compiles the project and starts a paused trainer on the backend its settings ask for, on
/// `loaded` when given (else loading the dataset), with what fits of the weights `previous`
/// ends with.
fn start_trainer(
    project: &Project,
    base_dir: &std::path::Path,
    loaded: Option<Arc<dyn Dataset>>,
    previous: Option<Trainer>,
) -> Result<Started, String> {
    let carried = previous.and_then(Trainer::join).and_then(|mut session| {
        Some(Carried {
            weights: session.weights().ok()?,
            optimizer_state: session.optimizer_state().ok()?,
            steps: session.steps_taken(),
            epoch: session.epoch(),
        })
    });
    let prepared = match loaded {
        Some(dataset) => train::prepare_on(project, dataset),
        None => train::prepare(project, base_dir),
    }
    .map_err(|e| e.to_string())?;
    // Every core, as the CLI: keeping one for the window halved a CNN's speed on two cores,
    // while a frame takes only a few milliseconds of one (`cargo bench --bench live`).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (backend, fell_back) =
        train::choose_backend(project.training.backend, &prepared.program, threads);
    let mut session = train::session_on(project, &prepared, backend).map_err(|e| e.to_string())?;
    if let Some(reason) = fell_back {
        session.note_switch(reason);
    }
    let fresh = match carried {
        Some(carried) => {
            let fresh = session
                .load_matching(&carried.weights)
                .map_err(|e| e.to_string())?;
            // The optimizer goes on where it was for every tensor that still fits.
            session
                .load_matching_optimizer_state(&carried.optimizer_state)
                .map_err(|e| e.to_string())?;
            session.continue_from(carried.steps, carried.epoch);
            Some(fresh)
        }
        None => None,
    };
    Ok(Started {
        watched: session.watched().to_vec(),
        device: session.backend_name(),
        fresh,
        trainer: Trainer::spawn(session, Limits::default(), false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggling_nesterov_needs_a_new_program_and_moving_a_node_does_not() {
        let mut project = super::super::templates::TEMPLATES[0].project();
        project.training.optimizer = Optimizer::Sgd {
            momentum: 0.9,
            nesterov: false,
        };
        let before = Compiled::of(&project);
        project.graph.nodes[0].position = [500.0, 500.0];
        assert!(Compiled::of(&project) == before, "a move keeps the program");
        project.training.optimizer = Optimizer::Sgd {
            momentum: 0.9,
            nesterov: true,
        };
        assert!(Compiled::of(&project) != before, "Nesterov is compiled in");
    }
}
