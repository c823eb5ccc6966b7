//! One direction of an RNN, LSTM or GRU layer stepped through time, and back-propagation
//! through time. The input's projection for every step comes in precomputed (one large product
//! before the loop); each step adds one `[rows, hidden] × [hidden, gates·hidden]` product.
//!
//! Sequences are independent of one another, so the pool's threads each step their own rows
//! through the whole sequence with no barrier between steps; the recurrent weights are packed
//! once per call (`Packed`), not once per step, and every thread reads that one copy.
//!
//! What the backward pass reads is saved time-major, a block of all live rows per step, so that
//! a step's hidden states are one contiguous matrix for the products, and the gradient of
//! `W_hh` is one product over all steps at the end rather than one per step.

use std::ops::Range;

use super::disjoint::{Disjoint, for_ranges};
use super::fast_math::{sigmoid, tanh};
use super::gemm::{Gemm, Packed, View};
use super::pool::Pool;
use super::simd::best_isa;
use crate::compile::{Cell, Recurrence};

/// The lengths of the regions of `saved` for `rows` live rows: activations, hidden states,
/// cell states.
fn regions(r: &Recurrence, rows: usize) -> [usize; 3] {
    let block = r.steps * rows;
    let cell_states = if r.cell == Cell::Lstm {
        block * r.hidden
    } else {
        0
    };
    [
        block * r.cell.activations(r.hidden),
        block * r.hidden,
        cell_states,
    ]
}

/// Runs `job` on per-thread ranges of the `rows` sequences.
fn for_rows(pool: &Pool, r: &Recurrence, rows: usize, job: impl Fn(Range<usize>) + Sync) {
    let per_row = r.steps * r.gate_width();
    for_ranges(pool, rows * per_row, per_row, |values| {
        job(values.start / per_row..values.end / per_row)
    });
}

/// `len` values per row of rows `part` in a block of `rows` rows starting at `block`.
fn rows_of(block: usize, part: &Range<usize>, len: usize) -> Range<usize> {
    block + part.start * len..block + part.end * len
}

/// Runs the recurrence over `rows` sequences: see `Op::Recurrence`. `packed` receives `w_hh`
/// transposed (`[hidden, gates·hidden]`), once for all the steps.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    pool: &Pool,
    packed: &mut Packed,
    r: &Recurrence,
    rows: usize,
    xw: &[f32],
    w_hh: &[f32],
    b_hh: &[f32],
    out: &mut [f32],
    saved: &mut [f32],
    hh: &mut [f32],
) {
    let (h, g) = (r.hidden, r.gate_width());
    let w_hh_t = View {
        data: w_hh,
        cols: h,
        transposed: true,
    };
    packed.pack(w_hh_t, (h, g));
    let w_hh = &*packed;
    let a = r.cell.activations(h);
    let [acts_len, hs_len, cs_len] = regions(r, rows);
    let (acts, rest) = saved.split_at_mut(acts_len);
    let (hs, rest) = rest.split_at_mut(hs_len);
    let (acts, hs) = (Disjoint::new(acts), Disjoint::new(hs));
    let cs = Disjoint::new(&mut rest[..cs_len]);
    let (out, hh) = (Disjoint::new(out), Disjoint::new(hh));
    for_rows(pool, r, rows, |part| {
        // SAFETY (every `part` below): a thread takes only its own rows: of the scratch, of the
        // output, and of each step's blocks, where the previous step's never overlap this one's.
        let (c_of, h_of) = (
            |s: usize| match cs_len {
                0 => &mut [][..],
                _ => unsafe { cs.part(rows_of(s * rows * h, &part, h)) },
            },
            |s: usize| unsafe { hs.part(rows_of(s * rows * h, &part, h)) },
        );
        let pre_all = unsafe { hh.part(rows_of(0, &part, g)) };
        for s in 0..r.steps {
            let t = r.time(s);
            let (h_prev, c_prev) = match s {
                0 => (None, None),
                _ => (Some(&*h_of(s - 1)), Some(&*c_of(s - 1))),
            };
            let (h_now, c_now) = (h_of(s), c_of(s));
            let acts_now = unsafe { acts.part(rows_of(s * rows * a, &part, a)) };
            match h_prev {
                None => pre_all.fill(0.0),
                Some(h_prev) => {
                    let h_prev = View {
                        data: h_prev,
                        cols: h,
                        transposed: false,
                    };
                    w_hh.product(pre_all, h_prev, part.len(), false);
                }
            }
            for (i, row) in part.clone().enumerate() {
                let x = &xw[(row * r.steps + t) * g..][..g];
                let pre = &mut pre_all[i * g..][..g];
                let h_new = &mut h_now[i * h..][..h];
                let act = &mut acts_now[i * a..][..a];
                match r.cell {
                    Cell::RnnTanh | Cell::RnnRelu => rnn_cell(r.cell, x, pre, b_hh, h_new),
                    Cell::Lstm => {
                        let c_new = &mut c_now[i * h..][..h];
                        lstm_cell(x, pre, b_hh, act, row_of(c_prev, i, h), c_new, h_new);
                    }
                    Cell::Gru => gru_cell(x, pre, b_hh, act, row_of(h_prev, i, h), h_new),
                }
                let at = (row * r.steps + t) * h;
                unsafe { out.part(at..at + h) }.copy_from_slice(h_new);
            }
        }
    });
}

/// Row `i` of `h` values of a block, if there is one.
fn row_of(block: Option<&[f32]>, i: usize, h: usize) -> Option<&[f32]> {
    block.map(|b| &b[i * h..(i + 1) * h])
}

// The cells, one row at a time. `pre` holds h·W_hhᵀ on entry; each loop runs over contiguous
// values with no calls, so that it vectorises.

best_isa! {
fn rnn_cell(cell: Cell, x: &[f32], pre: &[f32], b_hh: &[f32], h_new: &mut [f32]) {
    let pre = pre.iter().zip(x).zip(b_hh).map(|((p, x), b)| p + x + b);
    match cell {
        Cell::RnnRelu => h_new.iter_mut().zip(pre).for_each(|(h, v)| *h = v.max(0.0)),
        _ => h_new.iter_mut().zip(pre).for_each(|(h, v)| *h = tanh(v)),
    }
}
}

best_isa! {
/// Gates i, f, g, o (PyTorch's order): `c = f·c_prev + i·g`, `h = o·tanh(c)`.
fn lstm_cell(
    x: &[f32],
    pre: &mut [f32],
    b_hh: &[f32],
    act: &mut [f32],
    c_prev: Option<&[f32]>,
    c_new: &mut [f32],
    h_new: &mut [f32],
) {
    let h = h_new.len();
    for ((p, x), b) in pre.iter_mut().zip(x).zip(b_hh) {
        *p += x + b;
    }
    // Gates i, f, o squash to (0, 1); the candidate g to (-1, 1).
    let (sig_if, rest) = act.split_at_mut(2 * h);
    let (cand, sig_o) = rest.split_at_mut(h);
    let squash = |out: &mut [f32], pre: &[f32], f: fn(f32) -> f32| {
        out.iter_mut().zip(pre).for_each(|(o, &p)| *o = f(p));
    };
    squash(sig_if, &pre[..2 * h], sigmoid);
    squash(cand, &pre[2 * h..3 * h], tanh);
    squash(sig_o, &pre[3 * h..], sigmoid);
    let (i, f) = sig_if.split_at(h);
    for j in 0..h {
        let kept = c_prev.map_or(0.0, |c| f[j] * c[j]);
        c_new[j] = kept + i[j] * cand[j];
    }
    for j in 0..h {
        h_new[j] = sig_o[j] * tanh(c_new[j]);
    }
}
}

best_isa! {
/// Gates r, z, n (PyTorch's order), the candidate's recurrent part `hn` kept after them:
/// `n = tanh(x_n + r·hn)`, `h = (1 - z)·n + z·h_prev`.
fn gru_cell(
    x: &[f32],
    pre: &[f32],
    b_hh: &[f32],
    act: &mut [f32],
    h_prev: Option<&[f32]>,
    h_new: &mut [f32],
) {
    let h = h_new.len();
    for k in 0..2 * h {
        act[k] = sigmoid(pre[k] + x[k] + b_hh[k]);
    }
    for j in 0..h {
        let hn = pre[2 * h + j] + b_hh[2 * h + j];
        act[2 * h + j] = tanh(x[2 * h + j] + act[j] * hn);
        act[3 * h + j] = hn;
    }
    for j in 0..h {
        let (z, n) = (act[h + j], act[2 * h + j]);
        h_new[j] = (1.0 - z) * n + h_prev.map_or(0.0, |p| z * p[j]);
    }
}
}

/// Back-propagation through time: see `Op::RecurrenceBackward`. `packed` receives `w_hh` as
/// stored (`[gates·hidden, hidden]`), once for all the steps; `gemm` makes the weight gradient.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    gemm: &mut Gemm,
    packed: &mut Packed,
    r: &Recurrence,
    rows: usize,
    w_hh: &[f32],
    saved: &[f32],
    dy: &[f32],
    dxw: &mut [f32],
    dw_hh: &mut [f32],
    db_hh: &mut [f32],
    scratch: &mut [f32],
) {
    let (h, g, steps) = (r.hidden, r.gate_width(), r.steps);
    let w = View {
        data: w_hh,
        cols: h,
        transposed: false,
    };
    packed.pack(w, (g, h));
    let w_hh_packed = &*packed;
    let a = r.cell.activations(h);
    let [acts_len, hs_len, cs_len] = regions(r, rows);
    let (acts, rest) = saved.split_at(acts_len);
    let (hs, rest) = rest.split_at(hs_len);
    let cs = &rest[..cs_len];
    let (dgates, rest) = scratch.split_at_mut(steps * rows * g);
    let (dhs, rest) = rest.split_at_mut(steps * rows * h);
    let (dh_next, rest) = rest.split_at_mut(rows * h);
    let dc_next = &mut rest[..rows * h];
    let shared = [&mut *dgates, dhs, dh_next, dc_next, dxw].map(Disjoint::new);
    let [dgates_d, dhs_d, dh_next_d, dc_next_d, dxw_d] = &shared;
    for_rows(gemm.pool(), r, rows, |part| {
        // SAFETY (every `part` below): a thread takes only its own rows, as in `forward`.
        let dh_next = unsafe { dh_next_d.part(rows_of(0, &part, h)) };
        let dc_next = unsafe { dc_next_d.part(rows_of(0, &part, h)) };
        dh_next.fill(0.0);
        dc_next.fill(0.0);
        for s in (0..steps).rev() {
            let t = r.time(s);
            let dg_now = unsafe { dgates_d.part(rows_of(s * rows * g, &part, g)) };
            // The whole gradient reaching each step's hidden state, kept for the live view.
            let dh_kept = unsafe { dhs_d.part(rows_of(s * rows * h, &part, h)) };
            for (i, row) in part.clone().enumerate() {
                let at = |len: usize, step: usize| (step * rows + row) * len;
                let dy = &dy[(row * steps + t) * h..][..h];
                let dx_at = (row * steps + t) * g;
                let dx = unsafe { dxw_d.part(dx_at..dx_at + g) };
                let dg = &mut dg_now[i * g..][..g];
                let act = &acts[at(a, s)..][..a];
                let dh_next = &mut dh_next[i * h..][..h];
                let dh = &mut dh_kept[i * h..][..h];
                for ((dh, dy), next) in dh.iter_mut().zip(dy).zip(&*dh_next) {
                    *dh = dy + next;
                }
                let before = |v| row_before(v, s, at(h, s.max(1) - 1), h);
                match r.cell {
                    Cell::RnnTanh | Cell::RnnRelu => {
                        let h_now = &hs[at(h, s)..][..h];
                        rnn_cell_backward(r.cell, dh, h_now, dg);
                        dx.copy_from_slice(dg);
                    }
                    Cell::Lstm => {
                        let c_now = &cs[at(h, s)..][..h];
                        let dc_next = &mut dc_next[i * h..][..h];
                        lstm_cell_backward(dh, act, c_now, before(cs), dc_next, dg);
                        dx.copy_from_slice(dg);
                    }
                    Cell::Gru => gru_cell_backward(dh, act, before(hs), dh_next, dg, dx),
                }
            }
            if s > 0 {
                // What this step's gates pass back to the previous step's hidden state.
                let dg = View {
                    data: dg_now,
                    cols: g,
                    transposed: false,
                };
                w_hh_packed.product(dh_next, dg, part.len(), r.cell == Cell::Gru);
            }
        }
    });
    // dW_hh = Σ_s dgates[s]ᵀ · h[s - 1], one product over steps 1.. (the first had h = 0).
    let earlier = (steps - 1) * rows;
    if earlier == 0 {
        dw_hh[..g * h].fill(0.0);
    } else {
        let dg = View {
            data: &dgates[rows * g..],
            cols: g,
            transposed: true,
        };
        let h_prev = View {
            data: &hs[..earlier * h],
            cols: h,
            transposed: false,
        };
        gemm.matmul(dw_hh, dg, h_prev, (g, h, earlier), false);
    }
    db_hh[..g].fill(0.0);
    for step_row in dgates.chunks_exact(g) {
        for (d, &v) in db_hh.iter_mut().zip(step_row) {
            *d += v;
        }
    }
}

/// Row `row` of the saved states of `rows` rows, laid out as for one row.
pub fn saved_row(r: &Recurrence, saved: &[f32], rows: usize, row: usize) -> Vec<f32> {
    let mut one = Vec::with_capacity(r.steps * r.cell.saved_per_step(r.hidden));
    let mut start = 0;
    for (len, one_row) in regions(r, rows).into_iter().zip(regions(r, 1)) {
        let width = one_row / r.steps.max(1);
        for s in 0..r.steps {
            let at = start + (s * rows + row) * width;
            one.extend_from_slice(&saved[at..at + width]);
        }
        start += len;
    }
    one
}

/// How far back through time the state reaches, for one sequence (`saved` as `saved_row`
/// gives it, `w_hh` as stored): per time step t, ‖∂(u·h_last)/∂h_t‖, where h_last is the state
/// after the step processed last and u a fixed unit direction, by the same back-propagation
/// through time as training. A plain RNN's falls off fast; an LSTM's and a GRU's hold on.
pub fn reach_through_time(r: &Recurrence, saved: &[f32], w_hh: &[f32]) -> Vec<f32> {
    let (h, g, steps) = (r.hidden, r.gate_width(), r.steps);
    if steps == 0 || h == 0 {
        return Vec::new();
    }
    let mut gemm = Gemm::new(Pool::new(1));
    let mut packed = gemm.packed();
    let mut dy = vec![0.0; steps * h];
    let last = r.time(steps - 1);
    dy[last * h..(last + 1) * h].fill(1.0 / (h as f32).sqrt());
    let mut scratch = vec![0.0; steps * (g + h) + 3 * h];
    let (mut dxw, mut dw, mut db) = (vec![0.0; steps * g], vec![0.0; g * h], vec![0.0; g]);
    backward(
        &mut gemm,
        &mut packed,
        r,
        1,
        w_hh,
        saved,
        &dy,
        &mut dxw,
        &mut dw,
        &mut db,
        &mut scratch,
    );
    let dhs = &scratch[steps * g..steps * (g + h)];
    (0..steps)
        .map(|t| {
            let step = &dhs[r.time(t) * h..][..h];
            step.iter().map(|v| v * v).sum::<f32>().sqrt()
        })
        .collect()
}

/// The `h` values at `at` of the step before `s`, if there is one.
fn row_before(v: &[f32], s: usize, at: usize, h: usize) -> Option<&[f32]> {
    (s > 0).then(|| &v[at..at + h])
}

best_isa! {
/// `dg` from the gradient `dh` reaching a step's state `h_now`.
fn rnn_cell_backward(cell: Cell, dh: &[f32], h_now: &[f32], dg: &mut [f32]) {
    for ((dg, &dh), &h) in dg.iter_mut().zip(dh).zip(h_now) {
        let slope = match cell {
            Cell::RnnRelu => f32::from(h > 0.0),
            _ => 1.0 - h * h,
        };
        *dg = dh * slope;
    }
}
}

best_isa! {
/// The gates' gradients `dg` from `dh`, and the cell state's gradient carried to the step before
/// (`dc_next`, which holds the later step's on entry).
fn lstm_cell_backward(
    dh: &[f32],
    act: &[f32],
    c_now: &[f32],
    c_prev: Option<&[f32]>,
    dc_next: &mut [f32],
    dg: &mut [f32],
) {
    let h = dh.len();
    let (i, rest) = act.split_at(h);
    let (f, rest) = rest.split_at(h);
    let (cand, o) = rest.split_at(h);
    let (dg_i, rest) = dg.split_at_mut(h);
    let (dg_f, rest) = rest.split_at_mut(h);
    let (dg_g, dg_o) = rest.split_at_mut(h);
    for j in 0..h {
        let tc = tanh(c_now[j]);
        let dc = dc_next[j] + dh[j] * o[j] * (1.0 - tc * tc);
        let c_before = c_prev.map_or(0.0, |c| c[j]);
        dg_i[j] = dc * cand[j] * i[j] * (1.0 - i[j]);
        dg_f[j] = dc * c_before * f[j] * (1.0 - f[j]);
        dg_g[j] = dc * i[j] * (1.0 - cand[j] * cand[j]);
        dg_o[j] = dh[j] * tc * o[j] * (1.0 - o[j]);
        dc_next[j] = dc * f[j];
    }
}
}

best_isa! {
/// The GRU's gradients: `dx` for the input's projection, `dg` for the recurrent product (whose
/// candidate part passed through the reset gate), and `dh_next`, the part of `dh` that flows
/// straight to the step before through `z·h_prev` (the product adds the rest).
fn gru_cell_backward(
    dh: &[f32],
    act: &[f32],
    h_prev: Option<&[f32]>,
    dh_next: &mut [f32],
    dg: &mut [f32],
    dx: &mut [f32],
) {
    let h = dh.len();
    for j in 0..h {
        let (rr, z, n, hn) = (act[j], act[h + j], act[2 * h + j], act[3 * h + j]);
        let before = h_prev.map_or(0.0, |p| p[j]);
        let dn = dh[j] * (1.0 - z) * (1.0 - n * n);
        let dz = dh[j] * (before - n) * z * (1.0 - z);
        let dr = dn * hn * rr * (1.0 - rr);
        (dx[j], dx[h + j], dx[2 * h + j]) = (dr, dz, dn);
        (dg[j], dg[h + j], dg[2 * h + j]) = (dr, dz, dn * rr);
        dh_next[j] = dh[j] * z;
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One tanh unit with `w_hh = 0.5`: what reaches step t from the last is the product of
    /// the later steps' slopes `1 - h²` and weights.
    #[test]
    fn the_reach_through_time_is_the_chain_of_slopes_and_weights() {
        let r = Recurrence {
            cell: Cell::RnnTanh,
            steps: 4,
            hidden: 1,
            reverse: false,
        };
        let states = [0.1f32, 0.2, 0.3, 0.4];
        let reach = reach_through_time(&r, &states, &[0.5]);
        let mut want = [1.0f32; 4];
        for t in (0..3).rev() {
            want[t] = want[t + 1] * (1.0 - states[t + 1] * states[t + 1]) * 0.5;
        }
        for (got, want) in reach.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{reach:?} against {want}");
        }
        // Reversed, the last step processed is the first in time.
        let reversed = Recurrence { reverse: true, ..r };
        let states_processed = [0.4f32, 0.3, 0.2, 0.1];
        let back = reach_through_time(&reversed, &states_processed, &[0.5]);
        assert!(
            (back[0] - 1.0).abs() < 1e-6 && back[3] < back[1],
            "{back:?}"
        );
    }

    #[test]
    fn one_row_of_saved_states_keeps_its_layout() {
        let r = Recurrence {
            cell: Cell::Lstm,
            steps: 2,
            hidden: 1,
            reverse: false,
        };
        // Two rows: per step 4 gates, then per step a hidden state, then per step a cell state.
        let saved: Vec<f32> = (0..2 * 2 * 6).map(|v| v as f32).collect();
        let row = saved_row(&r, &saved, 2, 1);
        assert_eq!(
            row,
            [4., 5., 6., 7., 12., 13., 14., 15., 17., 19., 21., 23.]
        );
    }
}
