//! How each op of a Program becomes a dispatch: which WGSL entry point, which constants, which
//! buffers in which bindings, and how many threads. Ops without a kernel yet are reported, so
//! a program that needs them stays on the CPU.

use super::gemm::{self, Convolution};
use crate::compile::{
    Attention, Buffer, BufferId, Cell, Extent, Op, Recurrence, UnaryFn, UpdateRule, Window,
};
use crate::graph::LossKind;

/// A WGSL source: the shared globals, the tile core for the families that multiply tiles, then
/// the family's own kernels.
pub fn family_source(family: Family) -> String {
    let tiled = matches!(family, Family::Matmul | Family::Conv);
    let core = if tiled {
        include_str!("../../../shaders/gemm_tile.wgsl")
    } else {
        ""
    };
    let body = match family {
        Family::Elementwise => include_str!("../../../shaders/elementwise.wgsl"),
        Family::Matmul => include_str!("../../../shaders/matmul.wgsl"),
        Family::MatmulPlain => include_str!("../../../shaders/matmul_plain.wgsl"),
        Family::Loss => include_str!("../../../shaders/loss.wgsl"),
        Family::Softmax => include_str!("../../../shaders/softmax.wgsl"),
        Family::Reduce => include_str!("../../../shaders/reduce.wgsl"),
        Family::Update => include_str!("../../../shaders/update.wgsl"),
        Family::Pool => include_str!("../../../shaders/pool.wgsl"),
        Family::Copy => include_str!("../../../shaders/copy.wgsl"),
        Family::Norm => include_str!("../../../shaders/norm.wgsl"),
        Family::Conv => include_str!("../../../shaders/conv.wgsl"),
        Family::Stats => include_str!("../../../shaders/stats.wgsl"),
        Family::Embedding => include_str!("../../../shaders/embedding.wgsl"),
        Family::Recurrent => include_str!("../../../shaders/recurrent.wgsl"),
        Family::Attention => include_str!("../../../shaders/attention.wgsl"),
    };
    format!(
        "{}\n{core}\n{body}",
        include_str!("../../../shaders/globals.wgsl")
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Elementwise,
    Matmul,
    /// The 16x16 yardstick of the matmul sweep (sweep.rs); no op uses it.
    MatmulPlain,
    Loss,
    Softmax,
    Reduce,
    Update,
    Pool,
    Copy,
    Norm,
    Conv,
    Stats,
    Embedding,
    Recurrent,
    Attention,
}

/// How many workgroups a dispatch needs once the live rows are known.
#[derive(Clone, Copy, Debug)]
pub enum Grid {
    /// One thread per element of a buffer holding `len` values, 256 to a workgroup.
    Elements(Extent),
    /// `tile` by `tile` output tiles of an `m` by `n` result, along x then y: one row of tiles
    /// per y while a row fits in x, else one run of tiles continuing on the next rows. In z,
    /// one workgroup per chunk of a split depth.
    Tiles {
        m: Extent,
        n: Extent,
        tile: usize,
        split: Option<Split>,
    },
    /// `count` items, `per_group` to a workgroup, continuing in y past a dimension's limit.
    Groups { count: Extent, per_group: usize },
    /// `count` threads in workgroups of `group`, in one dimension.
    Threads { count: usize, group: usize },
    /// One workgroup that reduces on its own.
    Single,
}

/// A product's depth dealt out in chunks, one workgroup each along z.
#[derive(Clone, Copy, Debug)]
pub struct Split {
    pub depth: Extent,
    pub chunk: usize,
}

/// `groups` workgroups in x, continuing in y when they are more than x takes.
fn spill(groups: usize, max_per_dimension: u32) -> (u32, u32) {
    let groups = groups.max(1) as u32;
    if groups <= max_per_dimension {
        (groups, 1)
    } else {
        (max_per_dimension, groups.div_ceil(max_per_dimension))
    }
}

impl Grid {
    pub fn workgroups(&self, rows: usize, max_per_dimension: u32) -> (u32, u32, u32) {
        match *self {
            Grid::Elements(len) => {
                let (x, y) = spill(len.at(rows).div_ceil(256), max_per_dimension);
                (x, y, 1)
            }
            Grid::Tiles { m, n, tile, split } => {
                let tiles_n = n.at(rows).div_ceil(tile).max(1);
                let tiles_m = m.at(rows).div_ceil(tile).max(1);
                let (x, y) = if tiles_n <= max_per_dimension as usize {
                    (tiles_n as u32, tiles_m as u32)
                } else {
                    spill(tiles_n * tiles_m, max_per_dimension)
                };
                let z = split.map_or(1, |s| s.depth.at(rows).div_ceil(s.chunk).max(1));
                (x, y, z as u32)
            }
            Grid::Groups { count, per_group } => {
                let (x, y) = spill(count.at(rows).div_ceil(per_group), max_per_dimension);
                (x, y, 1)
            }
            Grid::Threads { count, group } => ((count.div_ceil(group) as u32).max(1), 1, 1),
            Grid::Single => (1, 1, 1),
        }
    }
}

/// The buffer id that stands for the program's scratch buffer in `Plan::bindings`: the partial
/// blocks of a split product, written by one dispatch and summed by the next.
pub const SCRATCH: usize = usize::MAX;

/// One op as a dispatch.
pub struct Plan {
    pub family: Family,
    pub entry: &'static str,
    /// The op's constants, as the 32-bit words of the kernel's `Params` struct.
    pub params: Vec<u32>,
    /// (binding, buffer, written) in binding order; the buffer may be `SCRATCH`.
    pub bindings: Vec<(u32, usize, bool)>,
    pub grid: Grid,
    /// Values of scratch the dispatch needs with every row live (0 for none).
    pub scratch_len: usize,
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
        scratch_len: 0,
    }
}

/// The pool kernels' `Params`: the window, then the dropout fields.
fn pool_params(w: &Window, rate: f32, stream: u32, per_row: usize) -> Vec<u32> {
    let window = [
        w.channels, w.in_h, w.in_w, w.kernel_h, w.kernel_w, w.stride, w.out_h, w.out_w,
    ];
    window
        .iter()
        .map(|&v| v as u32)
        .chain([rate.to_bits(), stream, per_row as u32, 0])
        .collect()
}

fn pool(
    entry: &'static str,
    window: &Window,
    bindings: Vec<(u32, usize, bool)>,
    threads: Extent,
) -> Plan {
    Plan {
        family: Family::Pool,
        entry,
        params: pool_params(window, 0.0, 0, 0),
        bindings,
        grid: Grid::Elements(threads),
        scratch_len: 0,
    }
}

/// A `place` or `take` of one block of every row; `whole` is the concatenated buffer.
fn copy_block(
    entry: &'static str,
    whole: &Buffer,
    (total, start, width, inner): (usize, usize, usize, usize),
    from: usize,
    to: usize,
    part: &Buffer,
) -> Plan {
    let outer = whole.per_sample_len() / (total * inner).max(1);
    Plan {
        family: Family::Copy,
        entry,
        params: vec![
            outer as u32,
            total as u32,
            start as u32,
            width as u32,
            inner as u32,
            0,
            0,
            0,
        ],
        bindings: vec![(2, from, false), (4, to, true)],
        grid: Grid::Elements(extent_of(part)),
        scratch_len: 0,
    }
}

/// A kernel of shaders/norm.wgsl; `bindings` pairs binding numbers with buffers, read-write
/// from binding 5 up except the gradient input (10), as the shader declares them.
fn norm(entry: &'static str, params: [u32; 6], bindings: &[(u32, usize)], grid: Grid) -> Plan {
    Plan {
        family: Family::Norm,
        entry,
        params: params.iter().copied().chain([0, 0]).collect(),
        bindings: bindings
            .iter()
            .map(|&(binding, buffer)| (binding, buffer, (5..10).contains(&binding) || binding > 10))
            .collect(),
        grid,
        scratch_len: 0,
    }
}

/// A kernel of shaders/recurrent.wgsl for processing step `s`, one thread per value of `len`.
fn recurrent(
    entry: &'static str,
    shape: &Recurrence,
    s: usize,
    bindings: Vec<(u32, usize, bool)>,
    len: Extent,
) -> Plan {
    let cell = match shape.cell {
        Cell::RnnTanh => 0,
        Cell::RnnRelu => 1,
        Cell::Lstm => 2,
        Cell::Gru => 3,
    };
    Plan {
        family: Family::Recurrent,
        entry,
        params: vec![
            cell,
            shape.steps as u32,
            shape.hidden as u32,
            s as u32,
            shape.time(s) as u32,
            0,
            0,
            0,
        ],
        bindings,
        grid: Grid::Elements(len),
        scratch_len: 0,
    }
}

/// A kernel of shaders/attention.wgsl, one thread per `per_row` items of each live row. The
/// kernels that read a dropout mask get it at binding 7 (`mask` there, or when none, `qkv`
/// again, unread).
fn attention(
    entry: &'static str,
    shape: &Attention,
    mut bindings: Vec<(u32, usize, bool)>,
    (mask, qkv): (Option<BufferId>, BufferId),
    per_row: usize,
) -> Plan {
    if entry != "attention_query_backward" {
        bindings.push((7, mask.unwrap_or(qkv), false));
    }
    Plan {
        family: Family::Attention,
        entry,
        params: vec![
            shape.steps as u32,
            shape.width as u32,
            shape.heads as u32,
            shape.causal as u32,
            shape.head_dim() as u32,
            mask.is_some() as u32,
            0,
            0,
        ],
        bindings,
        grid: Grid::Elements(Extent {
            per_row,
            batched: true,
        }),
        scratch_len: 0,
    }
}

/// One thread per live row and hidden unit.
fn units(shape: &Recurrence) -> Extent {
    Extent {
        per_row: shape.hidden,
        batched: true,
    }
}

fn loss_code(kind: LossKind) -> u32 {
    match kind {
        LossKind::MeanSquaredError => 0,
        LossKind::MeanAbsoluteError => 1,
        LossKind::SoftmaxCrossEntropy => 2,
        LossKind::BinaryCrossEntropy => 3,
    }
}

/// The dispatches for `op` (none for a view, which shares its base's storage), or `None` when it
/// has no kernel yet. `capacity` is the program's batch capacity, which sizes scratch and picks
/// the product kernels.
pub fn plan(op: &Op, buffers: &[Buffer], capacity: usize) -> Option<Vec<Plan>> {
    let none = (0, 0.0);
    let one = |plan| Some(vec![plan]);
    let rows_of = |b: &Buffer, width: usize| Extent {
        per_row: b.per_sample_len() / width.max(1),
        batched: b.batched,
    };
    match *op {
        Op::Reshape { .. } => Some(vec![]),
        Op::Conv2d {
            x,
            w,
            out,
            ref window,
            filters,
        } => Some(gemm::conv(
            Convolution::Forward,
            window,
            filters,
            [x, w],
            out,
            capacity,
        )),
        Op::Conv2dBackwardInput {
            dy,
            w,
            dx,
            ref window,
            filters,
        } => Some(gemm::conv(
            Convolution::InputGradient,
            window,
            filters,
            [dy, w],
            dx,
            capacity,
        )),
        Op::Conv2dBackwardWeight {
            x,
            dy,
            dw,
            ref window,
            filters,
        } => Some(gemm::conv(
            Convolution::WeightGradient,
            window,
            filters,
            [x, dy],
            dw,
            capacity,
        )),
        Op::BatchNormTrain {
            x,
            gamma,
            beta,
            out,
            mean,
            inv_std,
            running_mean,
            running_var,
            channels,
            inner,
            momentum,
            epsilon,
        } => one(norm(
            "batch_norm_train",
            [
                channels as u32,
                inner as u32,
                momentum.to_bits(),
                epsilon.to_bits(),
                0,
                0,
            ],
            &[
                (2, x),
                (3, gamma),
                (4, beta),
                (5, out),
                (6, mean),
                (7, inv_std),
                (8, running_mean),
                (9, running_var),
            ],
            // A workgroup of 256 lanes per channel.
            Grid::Threads {
                count: channels * 256,
                group: 256,
            },
        )),
        Op::BatchNormEval {
            x,
            gamma,
            beta,
            out,
            running_mean,
            running_var,
            channels,
            inner,
            epsilon,
        } => one(norm(
            "batch_norm_eval",
            [channels as u32, inner as u32, 0, epsilon.to_bits(), 0, 0],
            &[
                (2, x),
                (3, gamma),
                (4, beta),
                (5, out),
                (8, running_mean),
                (9, running_var),
            ],
            Grid::Elements(extent_of(&buffers[out])),
        )),
        Op::BatchNormBackward {
            x,
            gamma,
            mean,
            inv_std,
            dy,
            dx,
            dgamma,
            dbeta,
            channels,
            inner,
        } => one(norm(
            "batch_norm_backward",
            [channels as u32, inner as u32, 0, 0, 0, 0],
            &[
                (2, x),
                (3, gamma),
                (5, dx),
                (6, mean),
                (7, inv_std),
                (10, dy),
                (11, dgamma),
                (12, dbeta),
            ],
            // A workgroup of 256 lanes per channel.
            Grid::Threads {
                count: channels * 256,
                group: 256,
            },
        )),
        Op::LayerNorm {
            x,
            gamma,
            beta,
            out,
            mean,
            inv_std,
            width,
            epsilon,
        } => {
            let rows = buffers[x].per_sample_len() / width.max(1);
            let grid = Grid::Elements(Extent {
                per_row: rows,
                batched: buffers[x].batched,
            });
            one(norm(
                "layer_norm",
                [0, 0, 0, epsilon.to_bits(), width as u32, rows as u32],
                &[
                    (2, x),
                    (3, gamma),
                    (4, beta),
                    (5, out),
                    (6, mean),
                    (7, inv_std),
                ],
                grid,
            ))
        }
        Op::LayerNormBackward {
            x,
            gamma,
            mean,
            inv_std,
            dy,
            dx,
            dgamma,
            dbeta,
            width,
        } => {
            let rows = buffers[x].per_sample_len() / width.max(1);
            let params = [0, 0, 0, 0, width as u32, rows as u32];
            let per_row = Grid::Elements(Extent {
                per_row: rows,
                batched: buffers[x].batched,
            });
            Some(vec![
                norm(
                    "layer_norm_backward_input",
                    params,
                    &[
                        (2, x),
                        (3, gamma),
                        (5, dx),
                        (6, mean),
                        (7, inv_std),
                        (10, dy),
                    ],
                    per_row,
                ),
                norm(
                    "layer_norm_backward_params",
                    params,
                    &[
                        (2, x),
                        (6, mean),
                        (7, inv_std),
                        (10, dy),
                        (11, dgamma),
                        (12, dbeta),
                    ],
                    // A workgroup of 256 lanes per column.
                    Grid::Threads {
                        count: width * 256,
                        group: 256,
                    },
                ),
            ])
        }
        Op::MaxPool2d {
            x,
            out,
            argmax,
            ref window,
        } => one(match argmax {
            Some(a) => pool(
                "max_pool",
                window,
                vec![(2, x, false), (4, out, true), (5, a, true)],
                extent_of(&buffers[out]),
            ),
            None => pool(
                "max_pool_eval",
                window,
                vec![(2, x, false), (4, out, true)],
                extent_of(&buffers[out]),
            ),
        }),
        Op::MaxPool2dBackward {
            dy,
            argmax,
            dx,
            ref window,
        } => one(pool(
            "max_pool_backward",
            window,
            vec![(2, dy, false), (3, argmax, false), (4, dx, true)],
            extent_of(&buffers[dx]),
        )),
        Op::AvgPool2d { x, out, ref window } => one(pool(
            "avg_pool",
            window,
            vec![(2, x, false), (4, out, true)],
            extent_of(&buffers[out]),
        )),
        Op::AvgPool2dBackward { dy, dx, ref window } => one(pool(
            "avg_pool_backward",
            window,
            vec![(2, dy, false), (4, dx, true)],
            extent_of(&buffers[dx]),
        )),
        Op::Upsample {
            x,
            out,
            ref window,
            bilinear,
        } => one(pool(
            if bilinear {
                "upsample_bilinear"
            } else {
                "upsample_nearest"
            },
            window,
            vec![(2, x, false), (4, out, true)],
            extent_of(&buffers[out]),
        )),
        Op::UpsampleBackward {
            dy,
            dx,
            ref window,
            bilinear,
        } => one(pool(
            if bilinear {
                "upsample_bilinear_backward"
            } else {
                "upsample_nearest_backward"
            },
            window,
            vec![(2, dy, false), (4, dx, true)],
            extent_of(&buffers[dx]),
        )),
        Op::DropoutMask { out, rate, stream } => {
            let len = extent_of(&buffers[out]);
            let blank = Window {
                channels: 0,
                in_h: 0,
                in_w: 0,
                kernel_h: 0,
                kernel_w: 0,
                stride: 1,
                padding: 0,
                out_h: 0,
                out_w: 0,
            };
            one(Plan {
                family: Family::Pool,
                entry: "dropout_mask",
                params: pool_params(&blank, rate, stream, len.per_row),
                bindings: vec![(4, out, true)],
                grid: Grid::Elements(len),
                scratch_len: 0,
            })
        }
        Op::Concat {
            ref inputs,
            out,
            ref widths,
            inner,
        } => {
            let total = widths.iter().sum();
            let starts = widths.iter().scan(0, |start, &w| {
                *start += w;
                Some(*start - w)
            });
            Some(
                inputs
                    .iter()
                    .zip(widths)
                    .zip(starts)
                    .map(|((&input, &width), start)| {
                        copy_block(
                            "place",
                            &buffers[out],
                            (total, start, width, inner),
                            input,
                            out,
                            &buffers[input],
                        )
                    })
                    .collect(),
            )
        }
        Op::Slice {
            x,
            out,
            total,
            start,
            width,
            inner,
        } => one(copy_block(
            "take",
            &buffers[x],
            (total, start, width, inner),
            x,
            out,
            &buffers[out],
        )),
        Op::Unslice {
            dy,
            dx,
            total,
            start,
            width,
            inner,
        } => {
            let mut plan = copy_block(
                "unslice",
                &buffers[dx],
                (total, start, width, inner),
                dy,
                dx,
                &buffers[dx],
            );
            plan.grid = Grid::Elements(extent_of(&buffers[dx]));
            one(plan)
        }
        Op::Attention {
            ref shape,
            qkv,
            probs,
            mask,
            out,
        } => one(attention(
            "attention",
            shape,
            vec![(2, qkv, false), (3, probs, true), (5, out, true)],
            (mask, qkv),
            shape.heads * shape.steps,
        )),
        Op::AttentionBackward {
            ref shape,
            qkv,
            probs,
            mask,
            dy,
            dqkv,
            scratch,
        } => {
            let (queries, columns) = (shape.heads * shape.steps, shape.steps * shape.width);
            Some(vec![
                attention(
                    "attention_scores_backward",
                    shape,
                    vec![
                        (2, qkv, false),
                        (3, probs, true),
                        (4, dy, false),
                        (6, scratch, true),
                    ],
                    (mask, qkv),
                    queries,
                ),
                attention(
                    "attention_query_backward",
                    shape,
                    vec![(2, qkv, false), (5, dqkv, true), (6, scratch, true)],
                    (mask, qkv),
                    columns,
                ),
                attention(
                    "attention_key_value_backward",
                    shape,
                    vec![
                        (2, qkv, false),
                        (3, probs, true),
                        (4, dy, false),
                        (5, dqkv, true),
                        (6, scratch, true),
                    ],
                    (mask, qkv),
                    columns,
                ),
            ])
        }
        Op::Recurrence {
            ref shape,
            xw,
            w_hh,
            b_hh,
            out,
            saved,
            scratch,
        } => Some(
            (0..shape.steps)
                .flat_map(|s| {
                    let product = recurrent(
                        "recurrent_product",
                        shape,
                        s,
                        vec![
                            (3, w_hh, false),
                            (4, b_hh, false),
                            (6, saved, true),
                            (7, scratch, true),
                        ],
                        Extent {
                            per_row: shape.gate_width(),
                            batched: true,
                        },
                    );
                    let cell = recurrent(
                        "recurrent_cell",
                        shape,
                        s,
                        vec![
                            (2, xw, false),
                            (5, out, true),
                            (6, saved, true),
                            (7, scratch, true),
                        ],
                        units(shape),
                    );
                    [product, cell]
                })
                .collect(),
        ),
        Op::RecurrenceBackward {
            ref shape,
            w_hh,
            saved,
            dy,
            dxw,
            dw_hh,
            db_hh,
            scratch,
        } => {
            let mut plans: Vec<Plan> = (0..shape.steps)
                .rev()
                .flat_map(|s| {
                    let cell = recurrent(
                        "recurrent_cell_backward",
                        shape,
                        s,
                        vec![
                            (2, dy, false),
                            (5, dxw, true),
                            (6, saved, true),
                            (7, scratch, true),
                        ],
                        units(shape),
                    );
                    // The first step passes nothing further back.
                    let hidden = (s > 0).then(|| {
                        recurrent(
                            "recurrent_hidden_backward",
                            shape,
                            s,
                            vec![(3, w_hh, false), (7, scratch, true)],
                            units(shape),
                        )
                    });
                    std::iter::once(cell).chain(hidden)
                })
                .collect();
            let g = shape.gate_width();
            plans.push(recurrent(
                "recurrent_weight_backward",
                shape,
                0,
                vec![(6, saved, true), (7, scratch, true), (8, dw_hh, true)],
                Extent::fixed(g * shape.hidden),
            ));
            plans.push(recurrent(
                "recurrent_bias_backward",
                shape,
                0,
                vec![(7, scratch, true), (9, db_hh, true)],
                Extent::fixed(g),
            ));
            Some(plans)
        }
        Op::GradNormSq { ref grads, out } => Some(norm_sq(grads, out, buffers)),
        Op::BiasGrad {
            dy,
            out,
            channels,
            inner,
        } => {
            let len = extent_of(&buffers[dy]);
            one(Plan {
                family: Family::Reduce,
                entry: "bias_grad",
                params: vec![
                    len.per_row as u32,
                    len.batched as u32,
                    channels as u32,
                    inner as u32,
                    0,
                    0,
                    0,
                    0,
                ],
                bindings: vec![(2, dy, false), (3, out, true)],
                grid: Grid::Groups {
                    count: Extent::fixed(channels),
                    per_group: 1,
                },
                scratch_len: 0,
            })
        }
        Op::Loss {
            kind,
            pred,
            target,
            out,
            width,
            positions,
        } => one(Plan {
            family: Family::Loss,
            entry: "loss",
            params: vec![loss_code(kind), width as u32, positions as u32, 0],
            bindings: vec![(2, pred, false), (3, target, false), (4, out, true)],
            grid: Grid::Single,
            scratch_len: 0,
        }),
        Op::LossBackward {
            kind,
            pred,
            target,
            loss,
            dpred,
            width,
            positions,
        } => one(Plan {
            family: Family::Loss,
            entry: "loss_backward",
            params: vec![loss_code(kind), width as u32, positions as u32, 0],
            bindings: vec![
                (2, pred, false),
                (3, target, false),
                (4, dpred, true),
                (5, loss, false),
            ],
            grid: Grid::Elements(extent_of(&buffers[pred])),
            scratch_len: 0,
        }),
        Op::Embedding {
            table,
            ids,
            out,
            dim,
            table_rows,
        } => one(Plan {
            family: Family::Embedding,
            entry: "embedding",
            params: vec![
                dim as u32,
                table_rows as u32,
                extent_of(&buffers[ids]).per_row as u32,
                0,
            ],
            bindings: vec![(2, table, false), (3, ids, false), (4, out, true)],
            grid: Grid::Elements(extent_of(&buffers[out])),
            scratch_len: 0,
        }),
        Op::EmbeddingBackward {
            ids,
            dy,
            dtable,
            dim,
            table_rows,
        } => one(Plan {
            family: Family::Embedding,
            entry: "embedding_backward",
            params: vec![
                dim as u32,
                table_rows as u32,
                extent_of(&buffers[ids]).per_row as u32,
                0,
            ],
            bindings: vec![(2, dy, false), (3, ids, false), (4, dtable, true)],
            grid: Grid::Elements(extent_of(&buffers[dtable])),
            scratch_len: 0,
        }),
        Op::Softmax { x, out, width } => one(Plan {
            family: Family::Softmax,
            entry: "softmax",
            params: vec![
                rows_of(&buffers[x], width).per_row as u32,
                width as u32,
                0,
                0,
            ],
            bindings: vec![(2, x, false), (4, out, true)],
            grid: Grid::Elements(rows_of(&buffers[x], width)),
            scratch_len: 0,
        }),
        Op::SoftmaxBackward { y, dy, dx, width } => one(Plan {
            family: Family::Softmax,
            entry: "softmax_backward",
            params: vec![
                rows_of(&buffers[y], width).per_row as u32,
                width as u32,
                0,
                0,
            ],
            bindings: vec![(2, y, false), (3, dy, false), (4, dx, true)],
            grid: Grid::Elements(rows_of(&buffers[y], width)),
            scratch_len: 0,
        }),
        Op::Update {
            rule,
            param,
            grad,
            state,
            norm_sq,
        } => {
            let (entry, flag) = match rule {
                UpdateRule::Sgd { nesterov } => ("sgd", nesterov),
                UpdateRule::Adam { decoupled_decay } => ("adam", decoupled_decay),
                UpdateRule::RmsProp => ("rmsprop", false),
                UpdateRule::Adagrad => ("adagrad", false),
            };
            let len = buffers[param].per_sample_len();
            let mut bindings = vec![(2, grad, false), (3, norm_sq, false), (4, param, true)];
            bindings.extend(
                state
                    .iter()
                    .zip([5, 6])
                    .filter_map(|(s, binding)| s.map(|s| (binding, s, true))),
            );
            if entry != "adam" {
                bindings.truncate(4);
            }
            one(Plan {
                family: Family::Update,
                entry,
                params: vec![len as u32, flag as u32, 0, 0],
                bindings,
                grid: Grid::Elements(Extent::fixed(len)),
                scratch_len: 0,
            })
        }
        Op::MatMul {
            a,
            b,
            out,
            trans_a,
            trans_b,
            m,
            n,
            k,
        } => Some(gemm::matmul(
            gemm::Product {
                a,
                b,
                out,
                trans_a,
                trans_b,
                m,
                n,
                k,
            },
            extent_of(&buffers[out]),
            capacity,
        )),
        _ => plan_elementwise(op, buffers, none),
    }
}

/// Values one workgroup sums in the first stage of the gradient norm (`NORM_BLOCK` in
/// shaders/reduce.wgsl).
const NORM_BLOCK: usize = 8192;

/// The squared norm of `grads` into `out`: a block sum per workgroup into scratch, gradient by
/// gradient, then one workgroup adding the block sums.
fn norm_sq(grads: &[BufferId], out: BufferId, buffers: &[Buffer]) -> Vec<Plan> {
    let reduce = |entry, len: usize, offset: usize, bindings, grid| Plan {
        family: Family::Reduce,
        entry,
        params: vec![0, 0, 0, 0, len as u32, offset as u32, 0, 0],
        bindings,
        grid,
        scratch_len: 0,
    };
    let mut blocks = 0;
    let mut plans: Vec<Plan> = grads
        .iter()
        .map(|&g| {
            let len = buffers[g].per_sample_len();
            let grid = Grid::Groups {
                count: Extent::fixed(len),
                per_group: NORM_BLOCK,
            };
            let plan = reduce(
                "norm_sq_blocks",
                len,
                blocks,
                vec![(2, g, false), (3, SCRATCH, true)],
                grid,
            );
            blocks += len.div_ceil(NORM_BLOCK);
            plan
        })
        .collect();
    plans.push(reduce(
        "norm_sq_finish",
        blocks,
        0,
        vec![(2, SCRATCH, false), (3, out, true)],
        Grid::Single,
    ));
    for plan in &mut plans {
        plan.scratch_len = blocks;
    }
    plans
}

fn plan_elementwise(op: &Op, buffers: &[Buffer], none: (u32, f32)) -> Option<Vec<Plan>> {
    Some(vec![match *op {
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
        Op::Sub { a, b, out } => {
            elementwise("difference", &buffers[out], none, (1, 1), &[a, b], out)
        }
        Op::Copy { x, out } => elementwise("copy_values", &buffers[out], none, (1, 1), &[x], out),
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
        _ => return None,
    }])
}
