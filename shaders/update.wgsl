// Optimizer updates, one thread per parameter value, as engine/cpu/update.rs: weight decay and
// the clip factor folded into the gradient, and nothing done when the gradient norm is not
// finite.

struct Params {
    len: u32,
    // SGD: Nesterov momentum. Adam: decoupled weight decay (AdamW).
    flag: u32,
    padding: vec2<u32>,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> norm_sq: array<f32>;
@group(0) @binding(4) var<storage, read_write> param: array<f32>;
@group(0) @binding(5) var<storage, read_write> state0: array<f32>;
@group(0) @binding(6) var<storage, read_write> state1: array<f32>;

// The gradient as the rule sees it, or a flag that the step must be skipped.
fn effective(i: u32, l2: f32) -> f32 {
    let norm = sqrt(norm_sq[0]);
    var scale = 1.0;
    if globals.clip_norm > 0.0 && norm > globals.clip_norm {
        scale = globals.clip_norm / (norm + 1e-6);
    }
    let p = param[i];
    return grad[i] * scale + l2 * p + globals.l1 * sign(p);
}

fn skip(i: u32) -> bool {
    return i >= params.len || !finite(norm_sq[0]);
}

@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if skip(i) {
        return;
    }
    var d = effective(i, globals.weight_decay);
    if globals.momentum != 0.0 {
        state0[i] = globals.momentum * state0[i] + d;
        d = select(state0[i], d + globals.momentum * state0[i], params.flag != 0u);
    }
    param[i] -= globals.learning_rate * d;
}

@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if skip(i) {
        return;
    }
    let decoupled = params.flag != 0u;
    let d = effective(i, select(globals.weight_decay, 0.0, decoupled));
    var p = param[i];
    if decoupled {
        p *= 1.0 - globals.learning_rate * globals.weight_decay;
    }
    let m = globals.beta1 * state0[i] + (1.0 - globals.beta1) * d;
    let v = globals.beta2 * state1[i] + (1.0 - globals.beta2) * d * d;
    state0[i] = m;
    state1[i] = v;
    let step_size = globals.learning_rate / globals.bias_correction1;
    param[i] = p - step_size * m / (sqrt(v) * globals.inv_sqrt_bias_correction2 + globals.epsilon);
}

@compute @workgroup_size(256)
fn rmsprop(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if skip(i) {
        return;
    }
    let d = effective(i, globals.weight_decay);
    let s = globals.alpha * state0[i] + (1.0 - globals.alpha) * d * d;
    state0[i] = s;
    param[i] -= globals.learning_rate * d / (sqrt(s) + globals.epsilon);
}

@compute @workgroup_size(256)
fn adagrad(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if skip(i) {
        return;
    }
    let d = effective(i, globals.weight_decay);
    let s = state0[i] + d * d;
    state0[i] = s;
    param[i] -= globals.learning_rate * d / (sqrt(s) + globals.epsilon);
}
