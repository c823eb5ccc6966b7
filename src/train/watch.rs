//! The tensors a live view watches while training: each node's activation, and each
//! parameter's values and gradient. Their statistics are reduced where the tensors live (on
//! the device for the GPU) and ride along with a step's readback, a few dozen bytes each.

use crate::compile::{BufferId, Program};
use crate::engine::TensorStats;
use crate::graph::NodeId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorKind {
    /// A node's output in the training pass.
    Activation,
    /// A parameter's values (after the step's update).
    Weight,
    /// A parameter's gradient.
    Gradient,
}

/// One watched tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Watched {
    pub node: NodeId,
    pub kind: TensorKind,
    /// The buffer's name: `dense1 (output)`, `dense1.weight`, ...
    pub name: String,
    pub buffer: BufferId,
}

/// Statistics of every watched tensor after one step, in the order of `Session::watched`.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub step: u64,
    pub stats: Vec<TensorStats>,
}

/// Every node's activation, then every parameter's values and gradient, in program order.
pub fn watch_list(program: &Program) -> Vec<Watched> {
    let activations = program
        .node_outputs
        .iter()
        .map(|&(node, train, _)| (node, TensorKind::Activation, train));
    let params = program.params.iter().flat_map(|p| {
        std::iter::once((p.node, TensorKind::Weight, p.buffer))
            .chain(p.grad.map(|g| (p.node, TensorKind::Gradient, g)))
    });
    activations
        .chain(params)
        .map(|(node, kind, buffer)| Watched {
            node,
            kind,
            name: program.buffers[buffer].name.clone(),
            buffer,
        })
        .collect()
}

/// One of a node's tensors, whole, for a look inside the node.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspected {
    pub name: String,
    /// `None` for optimizer state.
    pub kind: Option<TensorKind>,
    /// Per-sample shape for activations.
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
    pub stats: TensorStats,
}

/// A node's tensors after one step: its output for one sample of that step's batch, its
/// parameters, their gradients and the optimizer's state for them.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspection {
    pub node: NodeId,
    pub step: u64,
    pub sample: usize,
    pub tensors: Vec<Inspected>,
}

/// One sample's way through the network: every node's output, and the prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Traced {
    pub outputs: Vec<(NodeId, Inspected)>,
    /// Logits for classification, values for regression.
    pub prediction: Vec<f32>,
}

impl Inspected {
    pub fn new(
        name: String,
        kind: Option<TensorKind>,
        shape: Vec<usize>,
        values: Vec<f32>,
    ) -> Self {
        let mut words = Vec::new();
        crate::engine::statistics_words(&values, &mut words);
        Self {
            stats: TensorStats::from_words(values.len(), &words),
            name,
            kind,
            shape,
            values,
        }
    }
}

/// The buffers a node's inspection reads, in the order it shows them: the output, then per
/// parameter its values, gradient and optimizer state.
pub fn inspected_buffers(program: &Program, node: NodeId) -> Vec<(BufferId, Option<TensorKind>)> {
    let output = program
        .node_outputs
        .iter()
        .filter(|(n, _, _)| *n == node)
        .map(|&(_, train, _)| (train, Some(TensorKind::Activation)));
    let params = program
        .params
        .iter()
        .filter(|p| p.node == node)
        .flat_map(|p| {
            let state = program
                .optimizer_state
                .iter()
                .filter(|&&s| {
                    program.buffers[s]
                        .name
                        .strip_prefix(p.name.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
                })
                .map(|&s| (s, None));
            std::iter::once((p.buffer, Some(TensorKind::Weight)))
                .chain(p.grad.map(|g| (g, Some(TensorKind::Gradient))))
                .chain(state)
        });
    output.chain(params).collect()
}
