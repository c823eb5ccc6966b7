// Softmax over rows of `width` values, and its gradient; one thread per row.

struct Params {
    rows_per_sample: u32,
    width: u32,
    padding: vec2<u32>,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(3) var<storage, read> in1: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// in0 = x
@compute @workgroup_size(256)
fn softmax(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = flat_index(id, groups);
    if row >= params.rows_per_sample * globals.rows {
        return;
    }
    let base = row * params.width;
    var m = in0[base];
    for (var j = 1u; j < params.width; j++) {
        m = max(m, in0[base + j]);
    }
    var s = 0.0;
    for (var j = 0u; j < params.width; j++) {
        let e = exp(in0[base + j] - m);
        out[base + j] = e;
        s += e;
    }
    let inv = 1.0 / s;
    for (var j = 0u; j < params.width; j++) {
        out[base + j] *= inv;
    }
}

// in0 = y, in1 = dy
@compute @workgroup_size(256)
fn softmax_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = flat_index(id, groups);
    if row >= params.rows_per_sample * globals.rows {
        return;
    }
    let base = row * params.width;
    var dot = 0.0;
    for (var j = 0u; j < params.width; j++) {
        dot += in0[base + j] * in1[base + j];
    }
    for (var j = 0u; j < params.width; j++) {
        out[base + j] = in0[base + j] * (in1[base + j] - dot);
    }
}
