//! How each op of a Program becomes a dispatch: which WGSL entry point, which constants, which
//! buffers in which bindings, and how many threads. Ops without a kernel yet are reported, so
//! a program that needs them stays on the CPU.

use crate::compile::{Buffer, Extent, Op, UnaryFn};

/// A WGSL source: the shared globals, then one kernel family.
pub fn family_source(family: Family) -> String {
    let body = match family {
        Family::Elementwise => include_str!("../../../shaders/elementwise.wgsl"),
        Family::Matmul => include_str!("../../../shaders/matmul.wgsl"),
    };
    format!("{}\n{body}", include_str!("../../../shaders/globals.wgsl"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Elementwise,
    Matmul,
}

/// How many workgroups a dispatch needs once the live rows are known.
#[derive(Clone, Copy, Debug)]
pub enum Grid {
    /// One thread per element of a buffer holding `len` values, 256 to a workgroup.
    Elements(Extent),
    /// 16x16 output tiles of an `m` by `n` result.
    Tiles { m: Extent, n: Extent },
}

impl Grid {
    pub fn workgroups(&self, rows: usize, max_per_dimension: u32) -> (u32, u32, u32) {
        match *self {
            Grid::Elements(len) => {
                let groups = len.at(rows).div_ceil(256) as u32;
                if groups <= max_per_dimension {
                    (groups.max(1), 1, 1)
                } else {
                    (max_per_dimension, groups.div_ceil(max_per_dimension), 1)
                }
            }
            Grid::Tiles { m, n } => (
                (n.at(rows).div_ceil(16) as u32).max(1),
                (m.at(rows).div_ceil(16) as u32).max(1),
                1,
            ),
        }
    }
}

/// One op as a dispatch.
pub struct Plan {
    pub family: Family,
    pub entry: &'static str,
    /// The op's constants, as the 32-bit words of the kernel's `Params` struct.
    pub params: Vec<u32>,
    /// (binding, buffer, written) in binding order.
    pub bindings: Vec<(u32, usize, bool)>,
    pub grid: Grid,
}

fn extent_of(b: &Buffer) -> Extent {
    Extent {
        per_row: b.per_sample_len(),
        batched: b.batched,
    }
}

fn unary_code(f: UnaryFn) -> (u32, f32) {
    match f {
        UnaryFn::Relu => (0, 0.0),
        UnaryFn::LeakyRelu(s) => (1, s),
        UnaryFn::Elu(a) => (2, a),
        UnaryFn::Sigmoid => (3, 0.0),
        UnaryFn::Tanh => (4, 0.0),
        UnaryFn::Gelu => (5, 0.0),
    }
}

fn elementwise(
    entry: &'static str,
    out: &Buffer,
    function: (u32, f32),
    bias: (usize, usize),
    inputs: &[usize],
    out_id: usize,
) -> Plan {
    let len = extent_of(out);
    let mut bindings: Vec<(u32, usize, bool)> = inputs
        .iter()
        .enumerate()
        .map(|(i, &b)| (2 + i as u32, b, false))
        .collect();
    bindings.push((5, out_id, true));
    Plan {
        family: Family::Elementwise,
        entry,
        params: vec![
            len.per_row as u32,
            len.batched as u32,
            function.0,
            function.1.to_bits(),
            bias.0 as u32,
            bias.1 as u32,
            0,
            0,
        ],
        bindings,
        grid: Grid::Elements(len),
    }
}

/// The dispatch for `op`, or `None` when it has no kernel yet. `Reshape` needs none (views share
/// storage) and is planned as an empty dispatch list by the caller.
pub fn plan(op: &Op, buffers: &[Buffer]) -> Option<Plan> {
    let none = (0, 0.0);
    Some(match *op {
        Op::Unary { f, x, out } => {
            elementwise("unary", &buffers[out], unary_code(f), (1, 1), &[x], out)
        }
        Op::UnaryBackward { f, x, y, dy, dx } => elementwise(
            "unary_backward",
            &buffers[dx],
            unary_code(f),
            (1, 1),
            &[x, y, dy],
            dx,
        ),
        Op::Add { a, b, out } => elementwise("add", &buffers[out], none, (1, 1), &[a, b], out),
        Op::Mul { a, b, out } => elementwise("mul", &buffers[out], none, (1, 1), &[a, b], out),
        Op::BiasAdd {
            x,
            bias,
            out,
            channels,
            inner,
        } => elementwise(
            "bias_add",
            &buffers[out],
            none,
            (channels, inner),
            &[x, bias],
            out,
        ),
        Op::MatMul {
            a,
            b,
            out,
            trans_a,
            trans_b,
            m,
            n,
            k,
        } => Plan {
            family: Family::Matmul,
            entry: "matmul",
            params: [m, n, k]
                .iter()
                .flat_map(|e| [e.per_row as u32, e.batched as u32])
                .chain([trans_a as u32, trans_b as u32])
                .collect(),
            bindings: vec![(2, a, false), (3, b, false), (4, out, true)],
            grid: Grid::Tiles { m, n },
        },
        _ => return None,
    })
}
