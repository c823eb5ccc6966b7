// Batch normalisation (x viewed as [rows, channels, inner], statistics per channel over the batch)
// and layer normalisation (statistics per row of `width`), forward and backward, as
// engine/cpu/norm.rs. Batch norm gives each channel a workgroup; layer norm one thread per row
// or column, whose loops are short.

struct Params {
    channels: u32,
    inner: u32,
    momentum: f32,
    epsilon: f32,
    // Layer norm: values per row, and rows per sample.
    width: u32,
    rows_per_sample: u32,
    padding0: u32,
    padding1: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> inv_std: array<f32>;
@group(0) @binding(8) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(9) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(10) var<storage, read> dy: array<f32>;
@group(0) @binding(11) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(12) var<storage, read_write> dbeta: array<f32>;

fn at(n: u32, c: u32, i: u32) -> u32 {
    return (n * params.channels + c) * params.inner + i;
}

// Batch norm reduces each channel over rows x inner values in one workgroup: the lanes stride
// over the values, then sum their parts in workgroup memory (`workgroup_sum`). One thread per
// channel would loop over them all, which lavapipe silently cuts short after 65,535 iterations.
const LANES: u32 = 256u;

// The k-th value of channel c, counting over rows and then inner positions.
fn channel_at(k: u32, c: u32) -> u32 {
    return at(k / params.inner, c, k % params.inner);
}

@compute @workgroup_size(256)
fn batch_norm_train(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let c = group.x;
    if c >= params.channels {
        return;
    }
    let total = globals.rows * params.inner;
    let count = f32(total);
    var sum = 0.0;
    for (var k = lane; k < total; k += LANES) {
        sum += x[channel_at(k, c)];
    }
    let m = workgroup_sum(lane, sum) / count;
    var squares = 0.0;
    for (var k = lane; k < total; k += LANES) {
        let d = x[channel_at(k, c)] - m;
        squares += d * d;
    }
    let variance = workgroup_sum(lane, squares) / count;
    let s = 1.0 / sqrt(variance + params.epsilon);
    if lane == 0u {
        mean[c] = m;
        inv_std[c] = s;
        let unbiased = select(variance, variance * count / (count - 1.0), count > 1.0);
        running_mean[c] = (1.0 - params.momentum) * running_mean[c] + params.momentum * m;
        running_var[c] = (1.0 - params.momentum) * running_var[c] + params.momentum * unbiased;
    }
    let scale = gamma[c] * s;
    for (var k = lane; k < total; k += LANES) {
        let i = channel_at(k, c);
        out[i] = (x[i] - m) * scale + beta[c];
    }
}

@compute @workgroup_size(256)
fn batch_norm_eval(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    if index >= globals.rows * params.channels * params.inner {
        return;
    }
    let c = (index / params.inner) % params.channels;
    let scale = gamma[c] / sqrt(running_var[c] + params.epsilon);
    out[index] = (x[index] - running_mean[c]) * scale + beta[c];
}

// out = dx
@compute @workgroup_size(256)
fn batch_norm_backward(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let c = group.x;
    if c >= params.channels {
        return;
    }
    let total = globals.rows * params.inner;
    let count = f32(total);
    let m = mean[c];
    let s = inv_std[c];
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var k = lane; k < total; k += LANES) {
        let i = channel_at(k, c);
        sum_dy += dy[i];
        sum_dy_xhat += dy[i] * (x[i] - m) * s;
    }
    let sums = vec2(workgroup_sum(lane, sum_dy), workgroup_sum(lane, sum_dy_xhat));
    if lane == 0u {
        dbeta[c] = sums.x;
        dgamma[c] = sums.y;
    }
    let k_scale = gamma[c] * s / count;
    for (var k = lane; k < total; k += LANES) {
        let i = channel_at(k, c);
        let xhat = (x[i] - m) * s;
        out[i] = k_scale * (count * dy[i] - sums.x - xhat * sums.y);
    }
}

fn norm_rows() -> u32 {
    return globals.rows * params.rows_per_sample;
}

@compute @workgroup_size(256)
fn layer_norm(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = flat_index(id, groups);
    if r >= norm_rows() {
        return;
    }
    let w = params.width;
    var sum = 0.0;
    for (var j = 0u; j < w; j++) {
        sum += x[r * w + j];
    }
    let m = sum / f32(w);
    var squares = 0.0;
    for (var j = 0u; j < w; j++) {
        let d = x[r * w + j] - m;
        squares += d * d;
    }
    let s = 1.0 / sqrt(squares / f32(w) + params.epsilon);
    mean[r] = m;
    inv_std[r] = s;
    for (var j = 0u; j < w; j++) {
        out[r * w + j] = (x[r * w + j] - m) * s * gamma[j] + beta[j];
    }
}

// out = dx; one thread per row.
@compute @workgroup_size(256)
fn layer_norm_backward_input(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = flat_index(id, groups);
    if r >= norm_rows() {
        return;
    }
    let w = params.width;
    let m = mean[r];
    let s = inv_std[r];
    var sum_g = 0.0;
    var sum_g_xhat = 0.0;
    for (var j = 0u; j < w; j++) {
        let g = dy[r * w + j] * gamma[j];
        sum_g += g;
        sum_g_xhat += g * (x[r * w + j] - m) * s;
    }
    let fw = f32(w);
    for (var j = 0u; j < w; j++) {
        let xhat = (x[r * w + j] - m) * s;
        out[r * w + j] = s / fw * (fw * dy[r * w + j] * gamma[j] - sum_g - xhat * sum_g_xhat);
    }
}

// One workgroup of 256 lanes per column, striding down the rows: no thread loops over every
// row, which lavapipe would cut short past 65,535 of them.
@compute @workgroup_size(256)
fn layer_norm_backward_params(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let j = group.x;
    let w = params.width;
    if j >= w {
        return;
    }
    var dg = 0.0;
    var db = 0.0;
    for (var r = lane; r < norm_rows(); r += LANES) {
        let g = dy[r * w + j];
        dg += g * (x[r * w + j] - mean[r]) * inv_std[r];
        db += g;
    }
    let sums = vec2(workgroup_sum(lane, dg), workgroup_sum(lane, db));
    if lane == 0u {
        dgamma[j] = sums.x;
        dbeta[j] = sums.y;
    }
}
