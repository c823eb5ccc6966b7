//! `check`: the fast pass the editor runs on every edit. Orders the graph, infers the shape on every
//! port, counts parameters and FLOPs, and lists every problem in words a student understands, tied
//! to the node or edge it concerns, with a fix where one exists.

use std::collections::HashMap;

use super::budget::{check_memory, machine_memory_bytes};
use super::settings::{batch_norm_problems, settings_problems};
use super::shapes::{self, Inferred, Issue};
use crate::data::{Dataset, Task, split_sizes};
use crate::graph::{Activation, Graph, Layer, LossKind, LossTarget, NodeId, Project, ValueKind};

/// One sample's shape (the batch axis is implicit) and what its values are; it reads as its
/// axes, `shape[0]`, `shape.len()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Shape {
    pub dims: Vec<usize>,
    pub values: ValueKind,
}

impl Shape {
    /// Float features shaped `dims`.
    pub fn features(dims: Vec<usize>) -> Self {
        Self {
            dims,
            values: ValueKind::Features,
        }
    }

    pub fn with(dims: Vec<usize>, values: ValueKind) -> Self {
        Self { dims, values }
    }

    /// Whether the first axis is time.
    pub fn has_time(&self) -> bool {
        self.values.has_time()
    }
}

impl std::ops::Deref for Shape {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.dims
    }
}

/// As users see it: `[16, 14, 14]`, a sequence `[time 64, 32]`, token ids `[time 64] ids`.
impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self.dims.iter().map(|d| d.to_string()).collect();
        match self.values {
            ValueKind::Features => write!(f, "[{}]", dims.join(", ")),
            ValueKind::Sequence => write!(f, "[time {}]", dims.join(", ")),
            ValueKind::Tokens { .. } => write!(f, "[time {}] ids", dims.join(", ")),
        }
    }
}

/// What the dataset feeds the network and expects out of it.
#[derive(Clone, Debug, PartialEq)]
pub struct DataInfo {
    pub feature_shape: Vec<usize>,
    pub values: ValueKind,
    pub task: Task,
    /// Targets per sample: one per time step of a sequence task, else 1.
    pub positions: usize,
}

impl DataInfo {
    pub fn of(dataset: &dyn Dataset) -> Self {
        Self {
            feature_shape: dataset.feature_shape().to_vec(),
            values: dataset.values(),
            task: dataset.task(),
            positions: dataset.target_positions(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Model {
    pub graph: Graph,
    /// Node indices (into `graph.nodes`) in an order where every node follows its inputs. Nodes
    /// caught in a cycle are left out.
    pub order: Vec<usize>,
    /// Per node, indexed like `graph.nodes`.
    pub nodes: Vec<NodeInfo>,
    pub problems: Vec<Problem>,
    pub total_params: usize,
    pub total_flops: u64,
    /// Index of the single loss node, when there is exactly one.
    pub loss: Option<usize>,
    /// Index of the single Input node, when there is exactly one.
    pub input: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeInfo {
    /// The node (index) and shape feeding each input port.
    pub inputs: Vec<Option<(usize, Shape)>>,
    pub output: Option<Shape>,
    pub params: usize,
    /// Forward floating-point operations for one sample.
    pub flops: u64,
    /// Whether the node contributes to the loss (and so is trained).
    pub feeds_loss: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The network cannot be trained until this is fixed.
    Error,
    /// Trainable, but probably not what was meant.
    Warning,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Node(NodeId),
    /// Index into `graph.edges`.
    Edge(usize),
    Graph,
    /// The training settings (learning rate, batch size, split, ...).
    Training,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub severity: Severity,
    pub location: Location,
    pub message: String,
    pub fix: Option<Fix>,
}

/// An edit that resolves a problem, for the editor to offer as one click.
#[derive(Clone, Debug, PartialEq)]
pub struct Fix {
    pub description: String,
    pub action: FixAction,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FixAction {
    /// Insert `layer` on the wire entering `port` of `node`.
    InsertBefore {
        node: NodeId,
        port: usize,
        layer: Layer,
    },
    /// Replace a node's layer settings.
    SetLayer {
        node: NodeId,
        layer: Layer,
    },
    RemoveEdge(usize),
}

impl Model {
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }

    pub fn is_trainable(&self) -> bool {
        self.errors().next().is_none()
    }

    pub fn problems_at(&self, location: Location) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(move |p| p.location == location)
    }
}

/// Formats a shape the way users see it: `[16, 14, 14]`.
pub fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

/// `check`, then the project's training settings and the memory a step needs at its batch size:
/// what `netloom check`, `netloom train` and the window all report. `samples` is the dataset's
/// size, where it is loaded.
pub fn check_project(project: &Project, data: Option<&DataInfo>, samples: Option<usize>) -> Model {
    let mut model = check(&project.graph, data);
    let settings = &project.training;
    model
        .problems
        .extend(settings_problems(settings, &project.split, samples));
    let train_samples = samples.map(|n| split_sizes(n, &project.split).train);
    let batch_norm = batch_norm_problems(&model, settings.batch_size, train_samples);
    model.problems.extend(batch_norm);
    if let Some(available) = machine_memory_bytes() {
        check_memory(
            &mut model,
            settings.optimizer,
            settings.batch_size,
            available,
        );
    }
    model
}

/// The most inputs an Add or a Concat may take. A node's ports are allocated and drawn one by one,
/// so a file asking for 10^12 of them must be refused before anything is made for each.
pub const MAX_INPUTS: usize = 64;

/// The ports `check` works with: none for a node with more than `MAX_INPUTS`, which is a problem.
fn port_count(layer: &Layer) -> usize {
    let count = layer.input_count();
    if count > MAX_INPUTS { 0 } else { count }
}

pub fn check(graph: &Graph, data: Option<&DataInfo>) -> Model {
    let mut checker = Checker {
        graph,
        problems: Vec::new(),
    };
    let index_of: HashMap<NodeId, usize> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id, i))
        .collect();
    checker.check_names();
    checker.check_port_counts();
    let wiring = checker.wire(&index_of);
    let order = checker.order(&wiring);
    let (loss, input) = checker.check_ends();

    let mut nodes: Vec<NodeInfo> = graph
        .nodes
        .iter()
        .map(|n| NodeInfo {
            inputs: vec![None; port_count(&n.layer)],
            ..NodeInfo::default()
        })
        .collect();
    for &i in &order {
        let node = &graph.nodes[i];
        let ports = port_count(&node.layer);
        if ports != node.layer.input_count() {
            continue;
        }
        let mut input_shapes = Vec::with_capacity(ports);
        for port in 0..ports {
            let source = wiring.sources[i].get(port).copied().flatten();
            let shape = source.and_then(|s| nodes[s].output.clone().map(|shape| (s, shape)));
            nodes[i].inputs[port] = shape.clone();
            match (source, shape) {
                (Some(_), Some((_, shape))) => input_shapes.push(shape),
                (Some(_), None) => {} // the upstream problem is already reported
                (None, _) if matches!(node.layer, Layer::Loss { .. }) && port == 1 => checker
                    .node_problem(
                        node.id,
                        format!(
                            "{} takes its target from its second input, and nothing is connected to it. Wire it the tensor to rebuild (the Input, for an autoencoder).",
                            node.name
                        ),
                        None,
                    ),
                (None, _) => checker.node_problem(
                    node.id,
                    format!(
                        "{} has nothing connected to its {}. Connect a layer's output to it.",
                        node.name,
                        port_words(port, ports)
                    ),
                    None,
                ),
            }
        }
        if input_shapes.len() < ports {
            continue;
        }
        match shapes::infer(node.id, &node.layer, &input_shapes) {
            Ok(Inferred {
                output,
                params,
                flops,
                warning,
            }) => {
                nodes[i].output = output;
                nodes[i].params = params;
                nodes[i].flops = flops;
                if let Some(w) = warning {
                    checker.push(Severity::Warning, Location::Node(node.id), w);
                }
            }
            Err(issue) => checker.push(Severity::Error, Location::Node(node.id), issue),
        }
    }

    if let Some(data) = data {
        checker.check_data(data, &nodes, input, loss);
    }
    checker.check_linear_scores(&nodes, loss);
    mark_feeding_loss(&wiring, loss, &mut nodes);
    for (i, node) in graph.nodes.iter().enumerate() {
        if loss.is_some() && !nodes[i].feeds_loss && node.layer.output_count() > 0 {
            checker.node_problem_with(
                Severity::Warning,
                node.id,
                format!(
                    "{} does not lead to the loss, so it will not be trained. Connect its output onward, or delete it.",
                    node.name
                ),
            );
        }
    }
    for i in only_behind_the_target(&wiring, loss, &nodes) {
        let node = &graph.nodes[i];
        checker.node_problem_with(
            Severity::Warning,
            node.id,
            format!(
                "{} reaches the loss only through its target, which no gradient flows back into, so its weights will not be trained. Feed the prediction from it, or take the target from before it.",
                node.name
            ),
        );
    }

    Model {
        graph: graph.clone(),
        total_params: nodes.iter().map(|n| n.params).sum(),
        total_flops: nodes.iter().map(|n| n.flops).sum(),
        order,
        nodes,
        problems: checker.problems,
        loss,
        input,
    }
}

fn port_words(port: usize, count: usize) -> String {
    if count == 1 {
        "input".to_string()
    } else {
        format!("input {}", port + 1)
    }
}

/// Which node feeds each input port, and who consumes each node's output.
struct Wiring {
    sources: Vec<Vec<Option<usize>>>,
    consumers: Vec<Vec<usize>>,
}

struct Checker<'a> {
    graph: &'a Graph,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn push(&mut self, severity: Severity, location: Location, issue: Issue) {
        self.problems.push(Problem {
            severity,
            location,
            message: issue.message,
            fix: issue.fix.map(|f| *f),
        });
    }

    fn node_problem(&mut self, node: NodeId, message: String, fix: Option<Fix>) {
        self.push(
            Severity::Error,
            Location::Node(node),
            Issue {
                message,
                fix: fix.map(Box::new),
            },
        );
    }

    fn node_problem_with(&mut self, severity: Severity, node: NodeId, message: String) {
        self.push(severity, Location::Node(node), Issue { message, fix: None });
    }

    fn edge_problem(&mut self, edge: usize, message: String) {
        self.push(
            Severity::Error,
            Location::Edge(edge),
            Issue {
                message,
                fix: Some(Box::new(Fix {
                    description: "Remove this wire".to_string(),
                    action: FixAction::RemoveEdge(edge),
                })),
            },
        );
    }

    fn check_names(&mut self) {
        let mut seen: HashMap<&str, NodeId> = HashMap::new();
        for node in &self.graph.nodes {
            if !is_identifier(&node.name) {
                self.node_problem(
                    node.id,
                    format!(
                        "The name \"{}\" also names this layer's weights and its code on export: use letters, digits and underscores, not starting with a digit.",
                        node.name
                    ),
                    None,
                );
            }
            if seen.insert(&node.name, node.id).is_some() {
                self.node_problem(
                    node.id,
                    format!(
                        "Two layers are named \"{}\"; names must be unique because they name the weights. Rename one.",
                        node.name
                    ),
                    None,
                );
            }
        }
    }

    fn check_port_counts(&mut self) {
        for node in &self.graph.nodes {
            let count = node.layer.input_count();
            if count > MAX_INPUTS {
                self.node_problem(
                    node.id,
                    format!(
                        "{} takes {count} inputs; a layer takes at most {MAX_INPUTS}. Give it fewer.",
                        node.name
                    ),
                    None,
                );
            }
        }
    }

    fn wire(&mut self, index_of: &HashMap<NodeId, usize>) -> Wiring {
        let graph = self.graph;
        let mut sources: Vec<Vec<Option<usize>>> = graph
            .nodes
            .iter()
            .map(|n| vec![None; port_count(&n.layer)])
            .collect();
        let mut consumers = vec![Vec::new(); graph.nodes.len()];
        for (e, edge) in graph.edges.iter().enumerate() {
            let (Some(&from), Some(&to)) =
                (index_of.get(&edge.from.node), index_of.get(&edge.to.node))
            else {
                let missing = if index_of.contains_key(&edge.from.node) {
                    edge.to.node
                } else {
                    edge.from.node
                };
                self.edge_problem(
                    e,
                    format!("This wire connects to node {missing}, which no longer exists."),
                );
                continue;
            };
            let (from_node, to_node) = (&graph.nodes[from], &graph.nodes[to]);
            if edge.from.port >= from_node.layer.output_count() {
                self.edge_problem(
                    e,
                    format!(
                        "{} has no output {} to connect from.",
                        from_node.name,
                        edge.from.port + 1
                    ),
                );
                continue;
            }
            if edge.to.port >= port_count(&to_node.layer) {
                self.edge_problem(
                    e,
                    format!(
                        "{} has no input {} to connect to.",
                        to_node.name,
                        edge.to.port + 1
                    ),
                );
                continue;
            }
            let slot = &mut sources[to][edge.to.port];
            if slot.is_some() {
                self.edge_problem(
                    e,
                    format!(
                        "The {} of {} already has a wire; each input takes one. Remove one of them (to combine two layers, use Add or Concat).",
                        port_words(edge.to.port, to_node.layer.input_count()),
                        to_node.name
                    ),
                );
                continue;
            }
            *slot = Some(from);
            consumers[from].push(to);
        }
        Wiring { sources, consumers }
    }

    /// Kahn's algorithm; whatever is left over sits on a cycle.
    fn order(&mut self, wiring: &Wiring) -> Vec<usize> {
        let n = self.graph.nodes.len();
        let mut pending: Vec<usize> = wiring
            .sources
            .iter()
            .map(|s| s.iter().flatten().count())
            .collect();
        let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).rev().collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop() {
            order.push(i);
            for &c in wiring.consumers[i].iter().rev() {
                pending[c] -= 1;
                if pending[c] == 0 {
                    ready.push(c);
                }
            }
        }
        for (i, &p) in pending.iter().enumerate() {
            if p > 0 {
                let node = &self.graph.nodes[i];
                self.node_problem(
                    node.id,
                    format!(
                        "{} is part of a loop: data would flow round in a circle. Remove one of the wires in the loop.",
                        node.name
                    ),
                    None,
                );
            }
        }
        order
    }

    fn check_ends(&mut self) -> (Option<usize>, Option<usize>) {
        let nodes = &self.graph.nodes;
        let losses: Vec<usize> = (0..nodes.len())
            .filter(|&i| matches!(nodes[i].layer, Layer::Loss { .. }))
            .collect();
        let inputs: Vec<usize> = (0..nodes.len())
            .filter(|&i| matches!(nodes[i].layer, Layer::Input { .. }))
            .collect();
        if losses.is_empty() {
            self.push(
                Severity::Error,
                Location::Graph,
                Issue::new(
                    "There is no loss layer, so the network has nothing to learn from. Add a loss after the last layer (softmax cross-entropy for classes, mean squared error for numbers).",
                ),
            );
        }
        for &extra in losses.iter().skip(1) {
            self.node_problem(
                nodes[extra].id,
                "A network trains on one loss; this is a second one. Delete all but one loss layer."
                    .into(),
                None,
            );
        }
        if inputs.is_empty() {
            self.push(
                Severity::Error,
                Location::Graph,
                Issue::new("There is no Input layer, so no data can enter the network. Add one."),
            );
        }
        for &extra in inputs.iter().skip(1) {
            self.node_problem(
                nodes[extra].id,
                "Datasets here provide one input per sample; this is a second Input layer. Delete it and feed both branches from one Input."
                    .into(),
                None,
            );
        }
        (
            (losses.len() == 1).then(|| losses[0]),
            (inputs.len() == 1).then(|| inputs[0]),
        )
    }

    fn check_data(
        &mut self,
        data: &DataInfo,
        nodes: &[NodeInfo],
        input: Option<usize>,
        loss: Option<usize>,
    ) {
        if let Some(i) = input {
            let node = &self.graph.nodes[i];
            let given = Shape::with(data.feature_shape.clone(), data.values);
            if let Layer::Input { shape, values } = &node.layer
                && (*shape != given.dims || *values != given.values)
            {
                let expected = Shape::with(shape.clone(), *values);
                let fixed = Layer::Input {
                    shape: given.dims.clone(),
                    values: given.values,
                };
                let (given_text, expected_text) = (values_text(&given), values_text(&expected));
                self.node_problem(
                    node.id,
                    format!(
                        "The dataset's samples are {given_text} but {} expects {expected_text}.",
                        node.name,
                    ),
                    Some(Fix {
                        description: format!("Make the input {given_text}"),
                        action: FixAction::SetLayer {
                            node: node.id,
                            layer: fixed,
                        },
                    }),
                );
            }
        }
        let Some(l) = loss else { return };
        let node = &self.graph.nodes[l];
        let Layer::Loss {
            kind,
            ignore_index,
            target,
        } = node.layer
        else {
            return;
        };
        if let Some(ignored) = ignore_index {
            let problem = match data.task {
                _ if kind != LossKind::SoftmaxCrossEntropy => Some(format!(
                    "Only softmax cross-entropy leaves a class out; {} compares every target. Clear the ignored class.",
                    kind.label()
                )),
                Task::Classification { classes } if ignored >= classes => Some(format!(
                    "The ignored class {ignored} is not one of the dataset's {classes} classes (0 to {})",
                    classes - 1
                )),
                _ => None,
            };
            if let Some(problem) = problem {
                self.node_problem(node.id, problem, None);
            }
        }
        // A target from a wire is the network's own business: the dataset's task does not
        // constrain it.
        if target == LossTarget::Wire {
            return;
        }
        let Some((source, prediction)) = nodes[l].inputs.first().cloned().flatten() else {
            return;
        };
        // A sequence's prediction has a row of scores per time step; a regression compares
        // every value.
        let width: usize = match data.task {
            Task::Classification { .. } if prediction.has_time() => {
                prediction.last().copied().unwrap_or(1)
            }
            _ => prediction.iter().product(),
        };
        let positions = data.positions;
        if positions > 1 && !prediction.has_time() && kind == LossKind::SoftmaxCrossEntropy {
            self.node_problem(
                node.id,
                format!(
                    "The dataset has a class for each of its {positions} time steps, but the loss gets one set of scores per sample, {prediction}. Keep the time axis up to the loss: leave out Flatten, and give the last Dense one unit per class."
                ),
                None,
            );
            return;
        }
        // Fixes: the right number of units on a Dense layer feeding the loss, or the right loss.
        let units = |units: usize| match &self.graph.nodes[source].layer {
            Layer::Dense {
                bias,
                activation,
                init,
                ..
            } => Some(Fix {
                description: format!("Give {} {units} units", self.graph.nodes[source].name),
                action: FixAction::SetLayer {
                    node: self.graph.nodes[source].id,
                    layer: Layer::Dense {
                        units,
                        bias: *bias,
                        activation: *activation,
                        init: *init,
                    },
                },
            }),
            _ => None,
        };
        let use_loss = |kind: LossKind| {
            Some(Fix {
                description: format!("Use {}", kind.label().to_lowercase()),
                action: FixAction::SetLayer {
                    node: node.id,
                    layer: Layer::loss(kind),
                },
            })
        };
        let problem = match (&data.task, kind) {
            (Task::Classification { classes }, LossKind::SoftmaxCrossEntropy) if width != *classes => Some((format!(
                "The dataset has {classes} classes but the layer before the loss gives {width} scores. Give it one unit per class ({classes})."
            ), units(*classes))),
            (Task::Classification { classes }, LossKind::BinaryCrossEntropy) if *classes != 2 => Some((format!(
                "Binary cross-entropy tells two classes apart; this dataset has {classes}. Use softmax cross-entropy with {classes} units before it."
            ), use_loss(LossKind::SoftmaxCrossEntropy))),
            (Task::Classification { .. }, LossKind::BinaryCrossEntropy) if width != 1 => Some((format!(
                "Binary cross-entropy needs one score per sample; the layer before it gives {width}. Give it 1 unit."
            ), units(1))),
            (Task::Classification { .. }, LossKind::MeanSquaredError | LossKind::MeanAbsoluteError) => Some((
                "The dataset is about classes, but this loss measures distances between numbers. Use softmax cross-entropy (or binary cross-entropy for two classes).".to_string(),
                use_loss(LossKind::SoftmaxCrossEntropy),
            )),
            (Task::Regression { .. }, LossKind::SoftmaxCrossEntropy | LossKind::BinaryCrossEntropy) => Some((
                "The dataset has numbers to predict, not classes. Use mean squared error or mean absolute error.".to_string(),
                use_loss(LossKind::MeanSquaredError),
            )),
            (Task::Regression { outputs }, _) if width != *outputs => Some((format!(
                "The dataset has {outputs} value(s) to predict per sample but the layer before the loss gives {width}. Give it {outputs} unit(s)."
            ), units(*outputs))),
            _ => None,
        };
        if let Some((message, fix)) = problem {
            self.node_problem(node.id, message, fix);
        }
    }

    /// Cross-entropy losses take raw scores (logits): an activation on the layer that feeds
    /// one (a softmax applied twice, a ReLU that cuts off every negative score) slows learning
    /// or stops it, a trap of networks built from scratch.
    fn check_linear_scores(&mut self, nodes: &[NodeInfo], loss: Option<usize>) {
        let Some(l) = loss else { return };
        let graph = self.graph;
        let Layer::Loss { kind, .. } = graph.nodes[l].layer else {
            return;
        };
        let applies_itself = match kind {
            LossKind::SoftmaxCrossEntropy => Activation::Softmax,
            LossKind::BinaryCrossEntropy => Activation::Sigmoid,
            LossKind::MeanSquaredError | LossKind::MeanAbsoluteError => return,
        };
        let Some((source, _)) = nodes[l].inputs.first().cloned().flatten() else {
            return;
        };
        let node = &graph.nodes[source];
        let mut linear = node.layer.clone();
        let activation = match &mut linear {
            Layer::Activation { function: f }
            | Layer::Dense { activation: f, .. }
            | Layer::Conv2d { activation: f, .. }
            | Layer::ConvTranspose2d { activation: f, .. } => {
                std::mem::replace(f, Activation::Identity)
            }
            _ => return,
        };
        if activation == Activation::Identity {
            return;
        }
        let name = &node.name;
        let function = activation.label();
        let message = if activation == applies_itself {
            format!(
                "{} applies the {} itself; the {function} on {name} makes it apply twice and slows learning. Remove it.",
                kind.label(),
                function.to_lowercase()
            )
        } else {
            format!(
                "{} takes raw scores, any number from minus to plus infinity; the {function} on {name} squeezes or cuts them off, so the network learns slowly or not at all. Make {name} linear.",
                kind.label()
            )
        };
        self.push(
            Severity::Warning,
            Location::Node(node.id),
            Issue {
                message,
                fix: Some(Box::new(Fix {
                    description: format!("Make {name} linear (no activation)"),
                    action: FixAction::SetLayer {
                        node: node.id,
                        layer: linear,
                    },
                })),
            },
        );
    }
}

/// A shape with the size of its vocabulary, where it is of token ids.
fn values_text(shape: &Shape) -> String {
    match shape.values {
        ValueKind::Tokens { vocabulary } => format!("{shape} below {vocabulary}"),
        _ => shape.to_string(),
    }
}

fn mark_feeding_loss(wiring: &Wiring, loss: Option<usize>, nodes: &mut [NodeInfo]) {
    let Some(loss) = loss else { return };
    let mut stack = vec![loss];
    while let Some(i) = stack.pop() {
        if nodes[i].feeds_loss {
            continue;
        }
        nodes[i].feeds_loss = true;
        stack.extend(wiring.sources[i].iter().flatten());
    }
}

/// The layers with weights that lead to the loss only through its second input, a wired
/// target: the target is detached, so nothing behind it alone gets a gradient.
fn only_behind_the_target(wiring: &Wiring, loss: Option<usize>, nodes: &[NodeInfo]) -> Vec<usize> {
    let Some(loss) = loss else { return Vec::new() };
    let Some(Some(prediction)) = wiring.sources[loss].first().copied() else {
        return Vec::new();
    };
    let mut trained = vec![false; nodes.len()];
    let mut stack = vec![prediction];
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut trained[i], true) {
            stack.extend(wiring.sources[i].iter().flatten());
        }
    }
    (0..nodes.len())
        .filter(|&i| nodes[i].feeds_loss && !trained[i] && nodes[i].params > 0)
        .collect()
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
