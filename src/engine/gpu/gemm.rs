//! Products as dispatches of the tile core (shaders/gemm_tile.wgsl): which variant of the tiled
//! matmul an op's alignment allows, when a single output row or column goes to the
//! matrix-vector kernels instead, the convolutions as implicit GEMMs, and when a long depth is
//! split across workgroups and summed after.

use super::kernels::{Family, Grid, Plan, SCRATCH, Split};
use crate::compile::{Extent, Window};

/// The output tile's edge in the tiled kernels.
pub const TILE: usize = 32;

/// Depths per workgroup once a product's depth is split. Lavapipe stops a thread's loops after
/// 65,535 iterations in all and carries on with a wrong result; a chunk costs each thread a few
/// thousand. Splitting also gives a product with few output tiles (a weight gradient) more
/// workgroups to spread over the cores.
pub const CHUNK: usize = 2048;

/// The deepest product the matrix-vector kernels take: their threads loop over a quarter of the
/// depth at worst. Deeper ones are tiled, and split.
const MATVEC_MAX_DEPTH: usize = 1 << 16;

/// `out[m, n] = op(a) · op(b)`, as in `Op::MatMul`.
#[derive(Clone, Copy, Debug)]
pub struct Product {
    pub a: usize,
    pub b: usize,
    pub out: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub m: Extent,
    pub n: Extent,
    pub k: Extent,
}

/// Whether a row length is a multiple of 4 whatever the live rows.
fn aligned(e: Extent) -> bool {
    e.per_row.is_multiple_of(4)
}

/// The words of matmul.wgsl's `Params`.
pub fn words(extents: [Extent; 3], trans: (bool, bool), chunk: usize) -> Vec<u32> {
    extents
        .iter()
        .flat_map(|e| [e.per_row as u32, e.batched as u32])
        .chain([trans.0 as u32, trans.1 as u32, chunk as u32, 0, 0, 0])
        .collect()
}

/// The dispatches of a product; `out_len` sizes its output.
pub fn matmul(p: Product, out_len: Extent, capacity: usize) -> Vec<Plan> {
    let at = |e: Extent| e.at(capacity);
    if (at(p.n) == 1 || at(p.m) == 1) && at(p.k) <= MATVEC_MAX_DEPTH {
        return vec![matvec(p, at(p.n) == 1, capacity)];
    }
    let wide_a = aligned(if p.trans_a { p.m } else { p.k });
    let wide_b = aligned(if p.trans_b { p.k } else { p.n });
    let entry = match (wide_a, wide_b) {
        (false, false) => "matmul",
        (true, false) => "matmul_vec4_a",
        (false, true) => "matmul_vec4_b",
        (true, true) => "matmul_vec4",
    };
    tiled(
        Tiled {
            family: Family::Matmul,
            entry,
            params: words([p.m, p.n, p.k], (p.trans_a, p.trans_b), 0),
            chunk_word: 8,
            inputs: [p.a, p.b],
            out: p.out,
            m: p.m,
            n: p.n,
            k: p.k,
        },
        out_len,
        capacity,
    )
}

/// One output column (or else one row): each output reduced by a workgroup rather than by one
/// thread of a mostly empty tile.
fn matvec(p: Product, one_column: bool, capacity: usize) -> Plan {
    // With one column the matrix is op(a); with one row it is op(b) read across. Either way the
    // vector is contiguous, however it is transposed, and so is a matrix of one output.
    let (len, matrix, vector, along_rows) = if one_column {
        (p.m, p.a, p.b, !p.trans_a || p.m.at(capacity) == 1)
    } else {
        (p.n, p.b, p.a, p.trans_b || p.n.at(capacity) == 1)
    };
    let (entry, per_group) = match (along_rows, aligned(p.k)) {
        (true, false) => ("matvec_rows", 4),
        (true, true) => ("matvec_rows_vec4", 4),
        (false, _) => ("matvec_columns", 64),
    };
    Plan {
        family: Family::Matmul,
        entry,
        params: words([len, Extent::fixed(1), p.k], (false, false), 0),
        bindings: vec![(2, matrix, false), (3, vector, false), (4, p.out, true)],
        grid: Grid::Groups {
            count: len,
            per_group,
        },
        scratch_len: 0,
    }
}

/// A convolution's products (shaders/conv.wgsl).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convolution {
    /// `y [F, rows·oh·ow] = w [F, C·taps] · patches of x`; inputs x, w.
    Forward,
    /// `dx [C, rows·h·w] = w as [C, F·taps] · dy at the taps`; inputs dy, w.
    InputGradient,
    /// `dw [F, C·taps] = dy [F, rows·oh·ow] · patches of x, transposed`; inputs x, dy.
    WeightGradient,
}

/// A convolution or one of its gradients as an implicit GEMM: `inputs` bound at 2 and 3 as
/// `Convolution` lists them, the result at 4.
pub fn conv(
    product: Convolution,
    w: &Window,
    filters: usize,
    inputs: [usize; 2],
    out: usize,
    capacity: usize,
) -> Vec<Plan> {
    let taps = w.kernel_h * w.kernel_w;
    let columns = |per_row| Extent {
        per_row,
        batched: true,
    };
    let fixed = Extent::fixed;
    let (entry, m, n, k) = match product {
        Convolution::Forward => (
            "conv2d",
            fixed(filters),
            columns(w.out_plane()),
            fixed(w.channels * taps),
        ),
        Convolution::InputGradient => (
            "conv2d_backward_input",
            fixed(w.channels),
            columns(w.in_plane()),
            fixed(filters * taps),
        ),
        Convolution::WeightGradient => (
            "conv2d_backward_weight",
            fixed(filters),
            fixed(w.channels * taps),
            columns(w.out_plane()),
        ),
    };
    let window = [
        w.channels, w.in_h, w.in_w, w.kernel_h, w.kernel_w, w.stride, w.padding, w.out_h, w.out_w,
        filters,
    ];
    let out_len = Extent {
        per_row: m.per_row * n.per_row,
        batched: m.batched || n.batched,
    };
    tiled(
        Tiled {
            family: Family::Conv,
            entry,
            params: window.iter().map(|&v| v as u32).chain([0, 0]).collect(),
            chunk_word: 10,
            inputs,
            out,
            m,
            n,
            k,
        },
        out_len,
        capacity,
    )
}

/// A tiled product before its depth is split: `params` are the kernel's constants, with the
/// chunk length to go in word `chunk_word`.
struct Tiled {
    family: Family,
    entry: &'static str,
    params: Vec<u32>,
    chunk_word: usize,
    /// Bound at 2 and 3.
    inputs: [usize; 2],
    /// Bound at 4.
    out: usize,
    m: Extent,
    n: Extent,
    k: Extent,
}

/// One dispatch writing the output, or, when the depth can be longer than `CHUNK`, one writing
/// a partial block per chunk into scratch and a second adding them up into the output.
fn tiled(mut t: Tiled, out_len: Extent, capacity: usize) -> Vec<Plan> {
    let bindings = |out| {
        vec![
            (2, t.inputs[0], false),
            (3, t.inputs[1], false),
            (4, out, true),
        ]
    };
    let grid = |split| Grid::Tiles {
        m: t.m,
        n: t.n,
        tile: TILE,
        split,
    };
    if t.k.at(capacity) <= CHUNK {
        return vec![Plan {
            family: t.family,
            entry: t.entry,
            bindings: bindings(t.out),
            grid: grid(None),
            params: t.params,
            scratch_len: 0,
        }];
    }
    let scratch_len = t.k.at(capacity).div_ceil(CHUNK) * out_len.at(capacity);
    t.params[t.chunk_word] = CHUNK as u32;
    let split = Split {
        depth: t.k,
        chunk: CHUNK,
    };
    vec![
        Plan {
            family: t.family,
            entry: t.entry,
            bindings: bindings(SCRATCH),
            grid: grid(Some(split)),
            params: t.params,
            scratch_len,
        },
        Plan {
            family: Family::Reduce,
            entry: "sum_partials",
            params: vec![
                out_len.per_row as u32,
                out_len.batched as u32,
                0,
                0,
                CHUNK as u32,
                0,
                t.k.per_row as u32,
                t.k.batched as u32,
            ],
            bindings: vec![(2, SCRATCH, false), (3, t.out, true)],
            grid: Grid::Elements(out_len),
            scratch_len,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(trans_a: bool, trans_b: bool, (m, n, k): (usize, usize, usize)) -> Product {
        Product {
            a: 0,
            b: 1,
            out: 2,
            trans_a,
            trans_b,
            m: Extent::fixed(m),
            n: Extent::fixed(n),
            k: Extent::fixed(k),
        }
    }

    fn entries(p: Product) -> Vec<&'static str> {
        let out = Extent::fixed(p.m.per_row * p.n.per_row);
        matmul(p, out, 4).iter().map(|plan| plan.entry).collect()
    }

    #[test]
    fn vec4_loads_where_the_contiguous_axis_is_a_multiple_of_4() {
        // a [m, k] is contiguous along k, b [k, n] along n; transposed, along m and k.
        assert_eq!(entries(product(false, false, (5, 8, 12))), ["matmul_vec4"]);
        assert_eq!(
            entries(product(false, false, (5, 7, 12))),
            ["matmul_vec4_a"]
        );
        assert_eq!(entries(product(false, false, (5, 8, 9))), ["matmul_vec4_b"]);
        assert_eq!(entries(product(true, true, (8, 5, 12))), ["matmul_vec4"]);
        assert_eq!(entries(product(true, true, (5, 8, 9))), ["matmul"]);
        // A batched extent is aligned when its per-row length is.
        let mut p = product(false, true, (3, 5, 6));
        p.m = Extent {
            per_row: 1,
            batched: true,
        };
        p.k = Extent {
            per_row: 8,
            batched: false,
        };
        assert_eq!(entries(p), ["matmul_vec4"]);
    }

    #[test]
    fn single_rows_and_columns_go_to_the_matrix_vector_kernels() {
        assert_eq!(
            entries(product(false, false, (9, 1, 12))),
            ["matvec_rows_vec4"]
        );
        assert_eq!(
            entries(product(true, false, (9, 1, 12))),
            ["matvec_columns"]
        );
        assert_eq!(entries(product(false, true, (1, 9, 7))), ["matvec_rows"]);
        assert_eq!(
            entries(product(false, false, (1, 9, 7))),
            ["matvec_columns"]
        );
        assert_eq!(entries(product(true, false, (1, 1, 7))), ["matvec_rows"]);
    }

    #[test]
    fn long_depths_are_split_and_summed() {
        let plans = matmul(
            product(false, false, (5, 6, 3 * CHUNK + 1)),
            Extent::fixed(30),
            1,
        );
        let entries: Vec<_> = plans.iter().map(|p| p.entry).collect();
        assert_eq!(entries, ["matmul", "sum_partials"]);
        assert_eq!(plans[0].scratch_len, 4 * 30);
        assert_eq!(plans[0].grid.workgroups(1, 65535), (1, 1, 4));
        assert!(plans[0].bindings.contains(&(4, SCRATCH, true)));
    }

    #[test]
    fn a_weight_gradient_splits_its_depth_as_the_batch_grows() {
        let window = Window {
            channels: 2,
            in_h: 8,
            in_w: 8,
            kernel_h: 3,
            kernel_w: 3,
            stride: 1,
            padding: 1,
            out_h: 8,
            out_w: 8,
        };
        let plans = |capacity| conv(Convolution::WeightGradient, &window, 3, [0, 1], 2, capacity);
        // 64 positions per image: 32 images fill a chunk.
        assert_eq!(plans(32).len(), 1);
        let split = plans(1100);
        assert_eq!(split[1].entry, "sum_partials");
        assert_eq!(split[0].scratch_len, 1100usize.div_ceil(32) * 3 * 18);
        assert_eq!(split[0].grid.workgroups(1100, 65535), (1, 1, 35));
        assert_eq!(split[0].grid.workgroups(10, 65535), (1, 1, 1));
    }

    #[test]
    fn tiles_too_many_for_one_dimension_continue_on_the_next_rows() {
        let grid = Grid::Tiles {
            m: Extent::fixed(70),
            n: Extent {
                per_row: 100,
                batched: true,
            },
            tile: TILE,
            split: None,
        };
        assert_eq!(grid.workgroups(10, 65535), (32, 3, 1));
        // 32 tiles across and 3 down make 96 groups, 10 to a row of the grid.
        assert_eq!(grid.workgroups(10, 10), (10, 10, 1));
    }
}
