// One direction of an RNN, LSTM or GRU layer stepped through time, and its backward pass: a
// dispatch per kernel per time step, in order (engine/cpu/recurrent.rs is the reference, and
// compile::Op::Recurrence documents the layouts). Saved values are time-major: the block of all
// live rows of processing step `s` together.

struct Params {
    // 0 RNN tanh, 1 RNN ReLU, 2 LSTM, 3 GRU
    cell: u32,
    steps: u32,
    hidden: u32,
    // The processing step and the time step it reads (they differ running in reverse).
    s: u32,
    t: u32,
    padding0: u32,
    padding1: u32,
    padding2: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
// xw (forward) or dy (backward), batch-major
@group(0) @binding(2) var<storage, read> seq_in: array<f32>;
@group(0) @binding(3) var<storage, read> w_hh: array<f32>;
@group(0) @binding(4) var<storage, read> b_hh: array<f32>;
// out (forward) or dxw (backward), batch-major
@group(0) @binding(5) var<storage, read_write> seq_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> saved: array<f32>;
@group(0) @binding(7) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(8) var<storage, read_write> dw_hh: array<f32>;
@group(0) @binding(9) var<storage, read_write> db_hh: array<f32>;

fn gates() -> u32 {
    return select(select(1u, 4u, params.cell == 2u), 3u, params.cell == 3u);
}

fn gate_width() -> u32 {
    return gates() * params.hidden;
}

// Saved activations per row and step: four per unit for LSTM and GRU, none for an RNN.
fn act_width() -> u32 {
    return select(0u, 4u * params.hidden, params.cell >= 2u);
}

fn act_at(s: u32, row: u32) -> u32 {
    return (s * globals.rows + row) * act_width();
}

fn h_at(s: u32, row: u32) -> u32 {
    return params.steps * globals.rows * act_width() + (s * globals.rows + row) * params.hidden;
}

fn c_at(s: u32, row: u32) -> u32 {
    return params.steps * globals.rows * (act_width() + params.hidden) + (s * globals.rows + row) * params.hidden;
}

// scratch[row, k] = b_hh[k] + Σ_j h_prev[row, j] · W_hh[k, j], from a zero state at step 0.
@compute @workgroup_size(256)
fn recurrent_product(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    let g = gate_width();
    if i >= globals.rows * g {
        return;
    }
    let row = i / g;
    let k = i % g;
    var sum = b_hh[k];
    if params.s > 0u {
        let h_prev = h_at(params.s - 1u, row);
        for (var j = 0u; j < params.hidden; j++) {
            sum += saved[h_prev + j] * w_hh[k * params.hidden + j];
        }
    }
    scratch[i] = sum;
}

// One thread per row and unit: the cell's step.
@compute @workgroup_size(256)
fn recurrent_cell(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    let h = params.hidden;
    if i >= globals.rows * h {
        return;
    }
    let row = i / h;
    let j = i % h;
    let g = gate_width();
    let x = (row * params.steps + params.t) * g;
    let hh = row * g;
    let s = params.s;
    var h_new: f32;
    switch params.cell {
        case 0u, 1u: {
            let pre = seq_in[x + j] + scratch[hh + j];
            h_new = select(tanh(pre), max(pre, 0.0), params.cell == 1u);
        }
        case 2u: {
            let ig = sigmoid(seq_in[x + j] + scratch[hh + j]);
            let fg = sigmoid(seq_in[x + h + j] + scratch[hh + h + j]);
            let gg = tanh(seq_in[x + 2u * h + j] + scratch[hh + 2u * h + j]);
            let og = sigmoid(seq_in[x + 3u * h + j] + scratch[hh + 3u * h + j]);
            var c_prev = 0.0;
            if s > 0u {
                c_prev = saved[c_at(s - 1u, row) + j];
            }
            let c = fg * c_prev + ig * gg;
            saved[c_at(s, row) + j] = c;
            h_new = og * tanh(c);
            let a = act_at(s, row);
            saved[a + j] = ig;
            saved[a + h + j] = fg;
            saved[a + 2u * h + j] = gg;
            saved[a + 3u * h + j] = og;
        }
        default: {
            var h_prev = 0.0;
            if s > 0u {
                h_prev = saved[h_at(s - 1u, row) + j];
            }
            let r = sigmoid(seq_in[x + j] + scratch[hh + j]);
            let z = sigmoid(seq_in[x + h + j] + scratch[hh + h + j]);
            let hn = scratch[hh + 2u * h + j];
            let n = tanh(seq_in[x + 2u * h + j] + r * hn);
            h_new = (1.0 - z) * n + z * h_prev;
            let a = act_at(s, row);
            saved[a + j] = r;
            saved[a + h + j] = z;
            saved[a + 2u * h + j] = n;
            saved[a + 3u * h + j] = hn;
        }
    }
    saved[h_at(s, row) + j] = h_new;
    seq_out[(row * params.steps + params.t) * h + j] = h_new;
}

// Backward scratch: every step's gradient of the recurrent pre-activations, room for every
// step's gradient of its hidden state (which the CPU keeps there; this kernel has no use for
// it), then the gradients reaching the previous step's hidden state, its cell state, and the
// hidden state's direct part.
fn dg_at(s: u32, row: u32) -> u32 {
    return (s * globals.rows + row) * gate_width();
}

fn dh_at(s: u32, row: u32) -> u32 {
    return params.steps * globals.rows * gate_width() + (s * globals.rows + row) * params.hidden;
}

fn dh_next_at(row: u32) -> u32 {
    return dh_at(params.steps, row);
}

fn dc_next_at(row: u32) -> u32 {
    return dh_next_at(row) + globals.rows * params.hidden;
}

fn dh_direct_at(row: u32) -> u32 {
    return dh_next_at(row) + 2u * globals.rows * params.hidden;
}

// One thread per row and unit, from the last step to the first: the cell's gradient.
@compute @workgroup_size(256)
fn recurrent_cell_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    let h = params.hidden;
    if i >= globals.rows * h {
        return;
    }
    let row = i / h;
    let j = i % h;
    let s = params.s;
    let last = s + 1u == params.steps;
    var dh = seq_in[(row * params.steps + params.t) * h + j];
    if !last {
        dh += scratch[dh_next_at(row) + j];
    }
    let dx = (row * params.steps + params.t) * gate_width();
    let dg = dg_at(s, row);
    var direct = 0.0;
    switch params.cell {
        case 0u, 1u: {
            let hv = saved[h_at(s, row) + j];
            let slope = select(1.0 - hv * hv, select(0.0, 1.0, hv > 0.0), params.cell == 1u);
            let d = dh * slope;
            scratch[dg + j] = d;
            seq_out[dx + j] = d;
        }
        case 2u: {
            let a = act_at(s, row);
            let ig = saved[a + j];
            let fg = saved[a + h + j];
            let gg = saved[a + 2u * h + j];
            let og = saved[a + 3u * h + j];
            let c = saved[c_at(s, row) + j];
            var c_prev = 0.0;
            if s > 0u {
                c_prev = saved[c_at(s - 1u, row) + j];
            }
            var dc_in = 0.0;
            if !last {
                dc_in = scratch[dc_next_at(row) + j];
            }
            let tc = tanh(c);
            let dc = dc_in + dh * og * (1.0 - tc * tc);
            let di = dc * gg * ig * (1.0 - ig);
            let df = dc * c_prev * fg * (1.0 - fg);
            let dgg = dc * ig * (1.0 - gg * gg);
            let dov = dh * tc * og * (1.0 - og);
            scratch[dg + j] = di;
            scratch[dg + h + j] = df;
            scratch[dg + 2u * h + j] = dgg;
            scratch[dg + 3u * h + j] = dov;
            seq_out[dx + j] = di;
            seq_out[dx + h + j] = df;
            seq_out[dx + 2u * h + j] = dgg;
            seq_out[dx + 3u * h + j] = dov;
            scratch[dc_next_at(row) + j] = dc * fg;
        }
        default: {
            let a = act_at(s, row);
            let r = saved[a + j];
            let z = saved[a + h + j];
            let n = saved[a + 2u * h + j];
            let hn = saved[a + 3u * h + j];
            var h_prev = 0.0;
            if s > 0u {
                h_prev = saved[h_at(s - 1u, row) + j];
            }
            let dn = dh * (1.0 - z) * (1.0 - n * n);
            let dz = dh * (h_prev - n) * z * (1.0 - z);
            let dr = dn * hn * r * (1.0 - r);
            seq_out[dx + j] = dr;
            seq_out[dx + h + j] = dz;
            seq_out[dx + 2u * h + j] = dn;
            scratch[dg + j] = dr;
            scratch[dg + h + j] = dz;
            scratch[dg + 2u * h + j] = dn * r;
            direct = dh * z;
        }
    }
    scratch[dh_direct_at(row) + j] = direct;
}

// dh_prev[row, j] = direct + Σ_k dg[s][row, k] · W_hh[k, j]: what step s passes back.
@compute @workgroup_size(256)
fn recurrent_hidden_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    let h = params.hidden;
    if i >= globals.rows * h {
        return;
    }
    let row = i / h;
    let j = i % h;
    let dg = dg_at(params.s, row);
    var sum = scratch[dh_direct_at(row) + j];
    for (var k = 0u; k < gate_width(); k++) {
        sum += scratch[dg + k] * w_hh[k * h + j];
    }
    scratch[dh_next_at(row) + j] = sum;
}

// dW_hh[k, j] = Σ over steps s ≥ 1 and rows of dg[s][row, k] · h[s - 1][row, j], in that order.
@compute @workgroup_size(256)
fn recurrent_weight_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    let h = params.hidden;
    let g = gate_width();
    if i >= g * h {
        return;
    }
    let k = i / h;
    let j = i % h;
    var sum = 0.0;
    for (var s = 1u; s < params.steps; s++) {
        for (var row = 0u; row < globals.rows; row++) {
            sum += scratch[dg_at(s, row) + k] * saved[h_at(s - 1u, row) + j];
        }
    }
    dw_hh[i] = sum;
}

// db_hh[k] = Σ over every step and row of dg[s][row, k].
@compute @workgroup_size(256)
fn recurrent_bias_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let k = flat_index(id, groups);
    if k >= gate_width() {
        return;
    }
    var sum = 0.0;
    for (var s = 0u; s < params.steps; s++) {
        for (var row = 0u; row < globals.rows; row++) {
            sum += scratch[dg_at(s, row) + k];
        }
    }
    db_hh[k] = sum;
}
