//! The memory a training step would take, estimated from the checked model before anything is
//! compiled or allocated, so that a network or a batch too big for the machine is a problem in
//! words ("hidden1 would hold 4.0 GB of weights and 8.0 GB of Adam state; this machine has
//! 24 GB") and never an allocation that aborts the process.

use super::check::{Location, Model, Problem, Severity};
use super::program::Program;
use crate::graph::{Layer, Optimizer};

const F32_BYTES: f64 = 4.0;

/// Copies of every node output a step keeps: the training forward value, its gradient, and the
/// evaluation pass's value.
const ACTIVATION_COPIES: f64 = 3.0;

/// The memory of this machine, from `/proc/meminfo`; `None` where it cannot be read, and then
/// nothing is refused for its size. Read once: the editor checks on every edit.
pub fn machine_memory_bytes() -> Option<u64> {
    static MEMORY: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *MEMORY.get_or_init(read_machine_memory)
}

fn read_machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Optimizer state tensors per parameter, as `compile` allocates them.
fn state_slots(optimizer: Optimizer) -> f64 {
    match optimizer {
        Optimizer::Adam { .. } | Optimizer::AdamW { .. } => 2.0,
        Optimizer::Sgd { .. } | Optimizer::RmsProp { .. } | Optimizer::Adagrad { .. } => 1.0,
    }
}

/// One node's share of a training step, in bytes.
pub struct Share {
    pub weights: f64,
    /// Gradients, optimizer state and the watched copies of a step's change.
    pub state: f64,
    pub activations: f64,
}

impl Share {
    pub fn total(&self) -> f64 {
        self.weights + self.state + self.activations
    }
}

/// Each node's share of a training step at `batch_size`, indexed like `model.nodes`.
pub fn node_shares(model: &Model, optimizer: Optimizer, batch_size: usize) -> Vec<Share> {
    model
        .nodes
        .iter()
        .zip(&model.graph.nodes)
        .map(|(info, node)| {
            let params = info.params as f64;
            let values = match (&node.layer, &info.output) {
                (Layer::Loss { .. }, _) | (_, None) => 0.0,
                (_, Some(shape)) => shape.iter().map(|&d| d as f64).product(),
            };
            Share {
                weights: params * F32_BYTES,
                state: params * F32_BYTES * (3.0 + state_slots(optimizer)),
                activations: values * batch_size as f64 * F32_BYTES * ACTIVATION_COPIES,
            }
        })
        .collect()
}

/// Adds an error to `model` when a training step at `batch_size` would need more than
/// `available_bytes`, naming the node that takes the most and what it holds.
pub fn check_memory(
    model: &mut Model,
    optimizer: Optimizer,
    batch_size: usize,
    available_bytes: u64,
) {
    let shares = node_shares(model, optimizer, batch_size);
    let total: f64 = shares.iter().map(Share::total).sum();
    if total <= available_bytes as f64 {
        return;
    }
    let Some((largest, share)) = shares
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total().total_cmp(&b.1.total()))
    else {
        return;
    };
    let node = &model.graph.nodes[largest];
    let mut parts = Vec::new();
    if share.weights > 0.0 {
        parts.push(format!("{} of weights", bytes_text(share.weights)));
        parts.push(format!(
            "{} of gradients and {} state",
            bytes_text(share.state),
            optimizer.label()
        ));
    }
    if share.activations > 0.0 {
        parts.push(format!(
            "{} of outputs for a batch of {batch_size}",
            bytes_text(share.activations)
        ));
    }
    let held = match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}, and {last}", rest.join(", ")),
        _ => parts.join(""),
    };
    let message = format!(
        "{} would hold {held}; a training step needs about {} in all, and this machine has {}. Use fewer units or filters, a smaller input, or a smaller batch.",
        node.name,
        bytes_text(total),
        bytes_text(available_bytes as f64),
    );
    model.problems.push(Problem {
        severity: Severity::Error,
        location: Location::Node(node.id),
        message,
        fix: None,
    });
}

/// The bytes `program`'s buffers take at its batch capacity, exactly; `None` when they cannot
/// be counted, which the caller refuses like a size too large.
pub fn program_bytes(program: &Program) -> Option<u64> {
    program
        .buffers
        .iter()
        .filter(|b| b.alias_of.is_none())
        .try_fold(0u64, |total, b| {
            let rows = if b.batched { program.batch_capacity } else { 1 };
            let values = b
                .shape
                .iter()
                .try_fold(rows, |acc, &d| acc.checked_mul(d))?;
            total.checked_add(u64::try_from(values).ok()?.checked_mul(4)?)
        })
}

/// "4.0 GB", "512 MB", "12 KB": decimal units, as file managers show sizes.
pub fn bytes_text(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} bytes")
    } else if value >= 1000.0 {
        format!("{value:.2e} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_file_managers_show_them() {
        assert_eq!(bytes_text(512.0), "512 bytes");
        assert_eq!(bytes_text(4.0e9), "4.0 GB");
        assert_eq!(bytes_text(24.6e9), "24.6 GB");
        assert_eq!(bytes_text(3.2e22), "3.20e4 EB");
    }
}
