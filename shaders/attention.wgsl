// Scaled dot-product self-attention per head and its gradient (engine/cpu/attention.rs is the
// reference; compile::Op::Attention documents the layouts). qkv holds each step's query, key
// and value side by side, `3 * width` per step; head h uses columns h * head_dim of each.

struct Params {
    steps: u32,
    width: u32,
    heads: u32,
    causal: u32,
    head_dim: u32,
    // 1 while training with attention dropout: `mask` multiplies the weights that mix values.
    dropout: u32,
    padding1: u32,
    padding2: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
// The heads' outputs (forward) or the gradient of qkv (backward).
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
// Each query's gradients of its scores, [heads, steps, steps] per sample.
@group(0) @binding(6) var<storage, read_write> scores: array<f32>;
// The dropout mask, shaped as `probs` (unread without dropout).
@group(0) @binding(7) var<storage, read> mask: array<f32>;

// What weight p of `probs` mixes the values with: itself, or after dropout.
fn kept(p: u32) -> f32 {
    return select(probs[p], probs[p] * mask[p], params.dropout != 0u);
}

fn at(row: u32, i: u32, part: u32, col: u32) -> u32 {
    return (row * params.steps + i) * 3u * params.width + part * params.width + col;
}

fn visible(i: u32) -> u32 {
    return select(params.steps, i + 1u, params.causal != 0u);
}

fn scale() -> f32 {
    return 1.0 / sqrt(f32(params.head_dim));
}

// The row, head and query step of thread x of a kernel with a thread per query.
fn query_of(x: u32) -> vec3<u32> {
    let t = params.steps;
    return vec3<u32>(x / (t * params.heads), (x / t) % params.heads, x % t);
}

// One thread per row, head and query step: its weights over the keys, then its output.
@compute @workgroup_size(256)
fn attention(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let x = flat_index(id, groups);
    let t = params.steps;
    if x >= globals.rows * params.heads * t {
        return;
    }
    let q = query_of(x);
    let row = q.x;
    let h = q.y;
    let i = q.z;
    let d = params.head_dim;
    // This query's weights (or score gradients) start at x * t.
    let p = x * t;
    let n = visible(i);
    var top = -3.4e38;
    for (var j = 0u; j < n; j++) {
        var s = 0.0;
        for (var c = 0u; c < d; c++) {
            s += qkv[at(row, i, 0u, h * d + c)] * qkv[at(row, j, 1u, h * d + c)];
        }
        s *= scale();
        probs[p + j] = s;
        top = max(top, s);
    }
    var sum = 0.0;
    for (var j = 0u; j < n; j++) {
        let e = exp(probs[p + j] - top);
        probs[p + j] = e;
        sum += e;
    }
    for (var j = 0u; j < t; j++) {
        probs[p + j] = select(0.0, probs[p + j] / sum, j < n);
    }
    for (var c = 0u; c < d; c++) {
        var o = 0.0;
        for (var j = 0u; j < n; j++) {
            o += kept(p + j) * qkv[at(row, j, 2u, h * d + c)];
        }
        out[(row * t + i) * params.width + h * d + c] = o;
    }
}

// One thread per row, head and query step: dS = P ⊙ (dP − Σ P ⊙ dP), scaled, where
// dP = dy·vᵀ through the dropout mask.
@compute @workgroup_size(256)
fn attention_scores_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let x = flat_index(id, groups);
    let t = params.steps;
    if x >= globals.rows * params.heads * t {
        return;
    }
    let q = query_of(x);
    let row = q.x;
    let h = q.y;
    let i = q.z;
    let d = params.head_dim;
    // This query's weights (or score gradients) start at x * t.
    let p = x * t;
    let n = visible(i);
    var mean = 0.0;
    for (var j = 0u; j < n; j++) {
        var s = 0.0;
        for (var c = 0u; c < d; c++) {
            s += dy[(row * t + i) * params.width + h * d + c] * qkv[at(row, j, 2u, h * d + c)];
        }
        s = select(s, s * mask[p + j], params.dropout != 0u);
        scores[p + j] = s;
        mean += probs[p + j] * s;
    }
    for (var j = 0u; j < t; j++) {
        scores[p + j] = select(0.0, probs[p + j] * (scores[p + j] - mean) * scale(), j < n);
    }
}

// One thread per row, step and column: the query's gradient Σ_j dS_ij k_j.
@compute @workgroup_size(256)
fn attention_query_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let x = flat_index(id, groups);
    let t = params.steps;
    let w = params.width;
    if x >= globals.rows * t * w {
        return;
    }
    let col = x % w;
    let i = (x / w) % t;
    let row = x / (w * t);
    let h = col / params.head_dim;
    let p = ((row * params.heads + h) * t + i) * t;
    var dq = 0.0;
    for (var j = 0u; j < visible(i); j++) {
        dq += scores[p + j] * qkv[at(row, j, 1u, col)];
    }
    out[at(row, i, 0u, col)] = dq;
}

// One thread per row, step and column: the key's gradient Σ_i dS_ij q_i and the value's
// Σ_i P_ij dy_i (P after dropout), over the queries that see this step.
@compute @workgroup_size(256)
fn attention_key_value_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let x = flat_index(id, groups);
    let t = params.steps;
    let w = params.width;
    if x >= globals.rows * t * w {
        return;
    }
    let col = x % w;
    let j = (x / w) % t;
    let row = x / (w * t);
    let h = col / params.head_dim;
    var dk = 0.0;
    var dv = 0.0;
    let first = select(0u, j, params.causal != 0u);
    for (var i = first; i < t; i++) {
        let p = ((row * params.heads + h) * t + i) * t + j;
        dk += scores[p] * qkv[at(row, i, 0u, col)];
        dv += kept(p) * dy[(row * t + i) * w + col];
    }
    out[at(row, j, 1u, col)] = dk;
    out[at(row, j, 2u, col)] = dv;
}
