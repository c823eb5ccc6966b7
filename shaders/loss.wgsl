// Losses (the mean over the live rows, then how many targets it is over), their gradients, and
// softmax. Rows of the prediction hold `width` values, `positions` rows per sample; the target
// is a class index (i32 bits) for softmax cross-entropy, a negative one meaning no target, else
// shaped like the prediction.

struct Params {
    // 0 mean squared error, 1 mean absolute error, 2 softmax cross-entropy, 3 binary cross-entropy
    kind: u32,
    width: u32,
    // Rows of the prediction per sample: one per time step of a sequence, else 1.
    positions: u32,
    padding: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> pred: array<f32>;
@group(0) @binding(3) var<storage, read> truth: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
// The loss's own output, for its gradient: [mean, targets counted].
@group(0) @binding(5) var<storage, read> loss_out: array<f32>;

fn has_target(row: u32) -> bool {
    return bitcast<i32>(truth[row]) >= 0;
}

fn class_of(row: u32) -> u32 {
    let label = bitcast<i32>(truth[row]);
    return u32(clamp(label, 0, i32(params.width) - 1));
}

fn row_max(row: u32) -> f32 {
    var m = pred[row * params.width];
    for (var j = 1u; j < params.width; j++) {
        m = max(m, pred[row * params.width + j]);
    }
    return m;
}

fn row_sum_exp(row: u32, m: f32) -> f32 {
    var s = 0.0;
    for (var j = 0u; j < params.width; j++) {
        s += exp(pred[row * params.width + j] - m);
    }
    return s;
}

fn element_loss(i: u32) -> f32 {
    let d = pred[i] - truth[i];
    switch params.kind {
        case 0u: { return d * d; }
        case 1u: { return abs(d); }
        default: {
            let x = pred[i];
            return max(x, 0.0) - x * truth[i] + log(1.0 + exp(-abs(x)));
        }
    }
}

// One workgroup: each thread sums a strided share, then a tree in workgroup memory.
@compute @workgroup_size(256)
fn loss(@builtin(local_invocation_id) local: vec3<u32>) {
    let rows = globals.rows * params.positions;
    let cross_entropy = params.kind == 2u;
    let count = select(rows * params.width, rows, cross_entropy);
    var sum = 0.0;
    var targets = 0.0;
    for (var i = local.x; i < count; i += 256u) {
        if cross_entropy {
            if has_target(i) {
                let m = row_max(i);
                sum += m + log(row_sum_exp(i, m)) - pred[i * params.width + class_of(i)];
                targets += 1.0;
            }
        } else {
            sum += element_loss(i);
            targets += 1.0;
        }
    }
    let total = workgroup_sum(local.x, sum);
    let counted = workgroup_sum(local.x, targets);
    if local.x == 0u {
        out[0] = total / max(counted, 1.0);
        out[1] = counted;
    }
}

// One thread per row for cross-entropy, per element otherwise.
@compute @workgroup_size(256)
fn loss_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    let rows = globals.rows * params.positions;
    if params.kind == 2u {
        if i >= rows {
            return;
        }
        if !has_target(i) {
            for (var j = 0u; j < params.width; j++) {
                out[i * params.width + j] = 0.0;
            }
            return;
        }
        let scale = 1.0 / max(loss_out[1], 1.0);
        let m = row_max(i);
        let s = row_sum_exp(i, m);
        let label = class_of(i);
        for (var j = 0u; j < params.width; j++) {
            let p = exp(pred[i * params.width + j] - m) / s;
            out[i * params.width + j] = (p - select(0.0, 1.0, j == label)) * scale;
        }
        return;
    }
    let n = rows * params.width;
    if i >= n {
        return;
    }
    let d = pred[i] - truth[i];
    let scale = 1.0 / f32(max(n, 1u));
    switch params.kind {
        case 0u: { out[i] = 2.0 * scale * d; }
        case 1u: { out[i] = scale * sign(d); }
        default: {
            let x = pred[i];
            var s: f32;
            if x >= 0.0 {
                s = 1.0 / (1.0 + exp(-x));
            } else {
                let e = exp(x);
                s = e / (1.0 + e);
            }
            out[i] = scale * (s - truth[i]);
        }
    }
}
