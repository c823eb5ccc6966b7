//! One direction of an RNN, LSTM or GRU layer stepped through time, and back-propagation
//! through time. The input's projection for every step comes in precomputed (one large product
//! before the loop); each step adds one `[rows, hidden] × [hidden, gates·hidden]` product.
//!
//! What the backward pass reads is saved time-major, a block of all live rows per step, so that
//! a step's hidden states are one contiguous matrix for the products, and the gradient of
//! `W_hh` is one product over all steps at the end rather than one per step.

use super::fast_math::{sigmoid, tanh};
use super::gemm::{Gemm, View};
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

/// Runs the recurrence over `rows` sequences: see `Op::Recurrence`.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    gemm: &mut Gemm,
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
    let a = r.cell.activations(h);
    let [acts_len, hs_len, cs_len] = regions(r, rows);
    let (acts, rest) = saved.split_at_mut(acts_len);
    let (hs, rest) = rest.split_at_mut(hs_len);
    let cs = &mut rest[..cs_len];
    let hh = &mut hh[..rows * g];
    for s in 0..r.steps {
        let t = r.time(s);
        let (done, rest) = hs.split_at_mut(s * rows * h);
        let now = &mut rest[..rows * h];
        let before = (s > 0).then(|| &done[(s - 1) * rows * h..]);
        match before {
            None => hh.fill(0.0),
            Some(before) => {
                let h_prev = View {
                    data: before,
                    cols: h,
                    transposed: false,
                };
                let w = View {
                    data: w_hh,
                    cols: h,
                    transposed: true,
                };
                gemm.matmul(hh, h_prev, w, (rows, g, h), false);
            }
        }
        // Cell states: an LSTM's only.
        let (c_done, c_rest) = cs.split_at_mut((s * rows * h).min(cs.len()));
        for row in 0..rows {
            let x = &xw[(row * r.steps + t) * g..][..g];
            // The pre-activations, in place of the product: x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh
            // (a GRU's candidate adds its recurrent part only after the reset gate).
            let pre = &mut hh[row * g..][..g];
            let h_new = &mut now[row * h..][..h];
            let act = &mut acts[(s * rows + row) * a..][..a];
            // Each loop is over contiguous values with no calls, so that it vectorises.
            match r.cell {
                Cell::RnnTanh | Cell::RnnRelu => {
                    for j in 0..h {
                        let v = pre[j] + x[j] + b_hh[j];
                        h_new[j] = if r.cell == Cell::RnnRelu {
                            v.max(0.0)
                        } else {
                            tanh(v)
                        };
                    }
                }
                Cell::Lstm => {
                    for k in 0..g {
                        pre[k] += x[k] + b_hh[k];
                    }
                    // Gates i, f, o squash to (0, 1); the candidate g to (-1, 1).
                    for k in (0..2 * h).chain(3 * h..g) {
                        act[k] = sigmoid(pre[k]);
                    }
                    for k in 2 * h..3 * h {
                        act[k] = tanh(pre[k]);
                    }
                    let c_new = &mut c_rest[row * h..][..h];
                    let c_prev = (s > 0).then(|| &c_done[((s - 1) * rows + row) * h..][..h]);
                    for j in 0..h {
                        let (i, f) = (act[j], act[h + j]);
                        let (gg, o) = (act[2 * h + j], act[3 * h + j]);
                        let c = f * c_prev.map_or(0.0, |c| c[j]) + i * gg;
                        c_new[j] = c;
                        h_new[j] = o * tanh(c);
                    }
                }
                Cell::Gru => {
                    for k in 0..2 * h {
                        act[k] = sigmoid(pre[k] + x[k] + b_hh[k]);
                    }
                    for j in 0..h {
                        let hn = pre[2 * h + j] + b_hh[2 * h + j];
                        act[2 * h + j] = tanh(x[2 * h + j] + act[j] * hn);
                        act[3 * h + j] = hn;
                    }
                    for j in 0..h {
                        let h_prev = before.map_or(0.0, |b| b[row * h + j]);
                        let (z, n) = (act[h + j], act[2 * h + j]);
                        h_new[j] = (1.0 - z) * n + z * h_prev;
                    }
                }
            }
            out[(row * r.steps + t) * h..][..h].copy_from_slice(h_new);
        }
    }
}

/// Back-propagation through time: see `Op::RecurrenceBackward`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    gemm: &mut Gemm,
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
    let a = r.cell.activations(h);
    let [acts_len, hs_len, cs_len] = regions(r, rows);
    let (acts, rest) = saved.split_at(acts_len);
    let (hs, rest) = rest.split_at(hs_len);
    let cs = &rest[..cs_len];
    let (dgates, rest) = scratch.split_at_mut(steps * rows * g);
    let (dhs, rest) = rest.split_at_mut(steps * rows * h);
    let (dh_next, rest) = rest.split_at_mut(rows * h);
    let dc_next = &mut rest[..rows * h];
    dh_next.fill(0.0);
    dc_next.fill(0.0);
    for s in (0..steps).rev() {
        let t = r.time(s);
        let dg = &mut dgates[s * rows * g..][..rows * g];
        for row in 0..rows {
            let dy = &dy[(row * steps + t) * h..][..h];
            let dx = &mut dxw[(row * steps + t) * g..][..g];
            let dg = &mut dg[row * g..][..g];
            let act = &acts[(s * rows + row) * a..][..a];
            let h_now = &hs[(s * rows + row) * h..][..h];
            let dh_next = &mut dh_next[row * h..][..h];
            // The whole gradient reaching this step's hidden state, kept for the live view.
            let dh_kept = &mut dhs[(s * rows + row) * h..][..h];
            match r.cell {
                Cell::RnnTanh | Cell::RnnRelu => {
                    for j in 0..h {
                        let dh = dy[j] + dh_next[j];
                        dh_kept[j] = dh;
                        let slope = match r.cell {
                            Cell::RnnRelu => f32::from(h_now[j] > 0.0),
                            _ => 1.0 - h_now[j] * h_now[j],
                        };
                        dg[j] = dh * slope;
                        dx[j] = dg[j];
                        dh_next[j] = 0.0;
                    }
                }
                Cell::Lstm => {
                    let dc_next = &mut dc_next[row * h..][..h];
                    for j in 0..h {
                        let dh = dy[j] + dh_next[j];
                        dh_kept[j] = dh;
                        let (i, f, gg, o) = (act[j], act[h + j], act[2 * h + j], act[3 * h + j]);
                        let c = cs[(s * rows + row) * h + j];
                        let c_prev = if s > 0 {
                            cs[((s - 1) * rows + row) * h + j]
                        } else {
                            0.0
                        };
                        let tc = tanh(c);
                        let dc = dc_next[j] + dh * o * (1.0 - tc * tc);
                        dg[j] = dc * gg * i * (1.0 - i);
                        dg[h + j] = dc * c_prev * f * (1.0 - f);
                        dg[2 * h + j] = dc * i * (1.0 - gg * gg);
                        dg[3 * h + j] = dh * tc * o * (1.0 - o);
                        dc_next[j] = dc * f;
                        dh_next[j] = 0.0;
                    }
                    dx.copy_from_slice(dg);
                }
                Cell::Gru => {
                    for j in 0..h {
                        let dh = dy[j] + dh_next[j];
                        dh_kept[j] = dh;
                        let (rr, z, n, hn) = (act[j], act[h + j], act[2 * h + j], act[3 * h + j]);
                        let h_prev = if s > 0 {
                            hs[((s - 1) * rows + row) * h + j]
                        } else {
                            0.0
                        };
                        let dn = dh * (1.0 - z) * (1.0 - n * n);
                        let dz = dh * (h_prev - n) * z * (1.0 - z);
                        let dr = dn * hn * rr * (1.0 - rr);
                        (dx[j], dx[h + j], dx[2 * h + j]) = (dr, dz, dn);
                        (dg[j], dg[h + j], dg[2 * h + j]) = (dr, dz, dn * rr);
                        dh_next[j] = dh * z;
                    }
                }
            }
        }
        if s > 0 {
            // What this step's gates pass back to the previous step's hidden state.
            let dg = View {
                data: dg,
                cols: g,
                transposed: false,
            };
            let w = View {
                data: w_hh,
                cols: h,
                transposed: false,
            };
            gemm.matmul(dh_next, dg, w, (rows, h, g), true);
        }
    }
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
