//! The tensors a live view watches while training: each node's activation and its gradient, and
//! each parameter's values, gradient and change in the step. Their statistics are reduced where the tensors live (on
//! the device for the GPU) and ride along with a step's readback, a few dozen bytes each.

use crate::compile::{BufferId, Cell, Program, Recurrence};
use crate::engine::TensorStats;
use crate::graph::NodeId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorKind {
    /// A node's output in the training pass.
    Activation,
    /// The loss's gradient with respect to a node's output: what flows back along its wires.
    OutputGradient,
    /// A parameter's values (after the step's update).
    Weight,
    /// A parameter's gradient.
    Gradient,
    /// What the step's update added to a parameter.
    Change,
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

/// Every node's activation and its gradient, then every parameter's values, gradient and
/// change, in program order.
pub fn watch_list(program: &Program) -> Vec<Watched> {
    let activations = program.node_outputs.iter().flat_map(|o| {
        std::iter::once((o.node, TensorKind::Activation, o.train))
            .chain(o.grad.map(|g| (o.node, TensorKind::OutputGradient, g)))
    });
    let params = program.params.iter().flat_map(|p| {
        std::iter::once((p.node, TensorKind::Weight, p.buffer))
            .chain(p.grad.map(|g| (p.node, TensorKind::Gradient, g)))
            .chain(p.change.map(|c| (p.node, TensorKind::Change, c)))
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

/// Rows of features' way through the network: every node's output, and the prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Traced {
    pub rows: usize,
    /// Each node's output for every row, rows one after the other.
    pub outputs: Vec<(NodeId, Inspected)>,
    /// Logits for classification, values for regression, per row.
    pub prediction: Vec<f32>,
    /// What each sequence layer computed inside for the first row, in program order.
    pub inside: Vec<(NodeId, Inside)>,
}

/// What a sequence layer computes inside, for one sequence, in time order.
#[derive(Clone, Debug, PartialEq)]
pub enum Inside {
    /// Attention weights, `[heads, steps (query), steps (key)]`: row `i` of head `h` is how
    /// much query step `i` takes from each step.
    Attention {
        heads: usize,
        steps: usize,
        weights: Vec<f32>,
    },
    Recurrence(RecurrentTrace),
}

/// One direction of one layer of a recurrent layer over a sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct RecurrentTrace {
    pub layer: usize,
    pub reverse: bool,
    pub steps: usize,
    pub hidden: usize,
    /// `[steps, hidden]` maps in time order, each named: the hidden state, an LSTM's cell
    /// state, then the gates (an LSTM's input, forget, candidate and output; a GRU's reset,
    /// update and candidate).
    pub maps: Vec<(&'static str, Vec<f32>)>,
    /// Per time step, the norm of the gradient of the last step's state (along a fixed unit
    /// direction) with respect to that step's state, with the weights as they are now: how
    /// far back through time a signal reaches (`engine::cpu::reach_through_time`).
    pub gradient_norms: Vec<f32>,
}

/// The names of a cell's gates, in the order its activations are saved.
fn gate_names(cell: Cell) -> &'static [&'static str] {
    match cell {
        Cell::RnnTanh | Cell::RnnRelu => &[],
        Cell::Lstm => &["input gate", "forget gate", "candidate", "output gate"],
        Cell::Gru => &["reset gate", "update gate", "candidate"],
    }
}

impl RecurrentTrace {
    /// Reads row `row` of `rows` from a recurrence's saved states (see `Op::Recurrence`).
    pub fn from_saved(
        r: &Recurrence,
        layer: usize,
        saved: &[f32],
        rows: usize,
        row: usize,
    ) -> Self {
        let (steps, h) = (r.steps, r.hidden);
        let a = r.cell.activations(h);
        let (acts, rest) = saved.split_at(steps * rows * a);
        let (hs, cs) = rest.split_at(steps * rows * h);
        // Step `s` of the recurrence is time `r.time(s)`: the maps are put in time order.
        let map = |region: &[f32], width: usize, offset: usize| -> Vec<f32> {
            (0..steps)
                .flat_map(|t| {
                    let s = r.time(t);
                    region[(s * rows + row) * width + offset..][..h]
                        .iter()
                        .copied()
                })
                .collect()
        };
        let mut maps = vec![("hidden state", map(hs, h, 0))];
        if r.cell == Cell::Lstm {
            maps.push(("cell state", map(cs, h, 0)));
        }
        for (k, &name) in gate_names(r.cell).iter().enumerate() {
            maps.push((name, map(acts, a, k * h)));
        }
        Self {
            layer,
            reverse: r.reverse,
            steps,
            hidden: h,
            maps,
            gradient_norms: Vec::new(),
        }
    }
}

impl Inspected {
    pub fn new(
        name: String,
        kind: Option<TensorKind>,
        shape: Vec<usize>,
        values: Vec<f32>,
    ) -> Self {
        let mut words = Vec::new();
        let width = shape.iter().product();
        crate::engine::statistics_words(&values, width, &mut words);
        Self {
            stats: TensorStats::from_words(values.len(), &words),
            name,
            kind,
            shape,
            values,
        }
    }
}

/// The buffers a node's inspection reads, in the order it shows them: the output and its
/// gradient, then per parameter its values, gradient and optimizer state.
pub fn inspected_buffers(program: &Program, node: NodeId) -> Vec<(BufferId, Option<TensorKind>)> {
    let output = program
        .node_outputs
        .iter()
        .filter(|o| o.node == node)
        .flat_map(|o| {
            std::iter::once((o.train, Some(TensorKind::Activation)))
                .chain(o.grad.map(|g| (g, Some(TensorKind::OutputGradient))))
        });
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
