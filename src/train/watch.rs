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
