// Pooling over NCHW images (one thread per output, or per input for the gradients, which
// gather rather than scatter so no atomics are needed), and the dropout mask.

struct Params {
    channels: u32,
    in_h: u32,
    in_w: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride: u32,
    out_h: u32,
    out_w: u32,
    // Dropout: the drop rate (as f32 bits), the mask's stream and its values per row.
    rate: f32,
    stream: u32,
    per_row: u32,
    padding: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(3) var<storage, read> indices: array<i32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> argmax: array<i32>;

fn planes() -> u32 {
    return globals.rows * params.channels;
}

// Output windows covering input position `i` along one axis: [first, last] inclusive, empty when
// first > last.
fn covering(i: u32, kernel: u32, outputs: u32) -> vec2<u32> {
    let first = select(0u, (i - kernel + 1u + params.stride - 1u) / params.stride, i + 1u >= kernel);
    let last = min(i / params.stride, outputs - 1u);
    return vec2(first, last);
}

struct Best {
    value: f32,
    at: u32,
}

fn max_of_window(index: u32) -> Best {
    let plane_out = params.out_h * params.out_w;
    let plane = index / plane_out;
    let o = index % plane_out;
    let oy = o / params.out_w;
    let ox = o % params.out_w;
    let base = plane * params.in_h * params.in_w;
    var best = -3.4028235e38;
    var at = (oy * params.stride) * params.in_w + ox * params.stride;
    var first = true;
    for (var ki = 0u; ki < params.kernel_h; ki++) {
        for (var kj = 0u; kj < params.kernel_w; kj++) {
            let i = (oy * params.stride + ki) * params.in_w + ox * params.stride + kj;
            let v = in0[base + i];
            // Strictly greater keeps the first maximum, as PyTorch and the CPU backend do;
            // NaN wins so that it propagates.
            if first || v > best || v != v {
                best = v;
                at = i;
                first = false;
            }
        }
    }
    return Best(best, at);
}

@compute @workgroup_size(256)
fn max_pool(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    if index >= planes() * params.out_h * params.out_w {
        return;
    }
    let m = max_of_window(index);
    out[index] = m.value;
    argmax[index] = i32(m.at);
}

@compute @workgroup_size(256)
fn max_pool_eval(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    if index < planes() * params.out_h * params.out_w {
        out[index] = max_of_window(index).value;
    }
}

// in0 = dy, indices = argmax; one thread per input value.
@compute @workgroup_size(256)
fn max_pool_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let plane_in = params.in_h * params.in_w;
    if index >= planes() * plane_in {
        return;
    }
    let plane = index / plane_in;
    let i = index % plane_in;
    let ys = covering(i / params.in_w, params.kernel_h, params.out_h);
    let xs = covering(i % params.in_w, params.kernel_w, params.out_w);
    var sum = 0.0;
    for (var oy = ys.x; oy <= ys.y; oy++) {
        for (var ox = xs.x; ox <= xs.y; ox++) {
            let o = plane * params.out_h * params.out_w + oy * params.out_w + ox;
            if u32(indices[o]) == i {
                sum += in0[o];
            }
        }
    }
    out[index] = sum;
}

@compute @workgroup_size(256)
fn avg_pool(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let plane_out = params.out_h * params.out_w;
    if index >= planes() * plane_out {
        return;
    }
    let base = (index / plane_out) * params.in_h * params.in_w;
    let oy = (index % plane_out) / params.out_w;
    let ox = (index % plane_out) % params.out_w;
    var sum = 0.0;
    for (var ki = 0u; ki < params.kernel_h; ki++) {
        for (var kj = 0u; kj < params.kernel_w; kj++) {
            sum += in0[base + (oy * params.stride + ki) * params.in_w + ox * params.stride + kj];
        }
    }
    out[index] = sum / f32(params.kernel_h * params.kernel_w);
}

// in0 = dy; one thread per input value.
@compute @workgroup_size(256)
fn avg_pool_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let plane_in = params.in_h * params.in_w;
    if index >= planes() * plane_in {
        return;
    }
    let plane = index / plane_in;
    let i = index % plane_in;
    let ys = covering(i / params.in_w, params.kernel_h, params.out_h);
    let xs = covering(i % params.in_w, params.kernel_w, params.out_w);
    var sum = 0.0;
    for (var oy = ys.x; oy <= ys.y; oy++) {
        for (var ox = xs.x; ox <= xs.y; ox++) {
            sum += in0[plane * params.out_h * params.out_w + oy * params.out_w + ox];
        }
    }
    out[index] = sum / f32(params.kernel_h * params.kernel_w);
}

// Upsampling by the whole factor `stride` (engine/cpu/upsample.rs, term for term): how much
// input `i` counts in output `o` along an axis of `inputs` values, as PyTorch's bilinear
// `align_corners=False`.
fn bilinear_weight(o: u32, i: u32, inputs: u32) -> f32 {
    let source = max((f32(o) + 0.5) / f32(params.stride) - 0.5, 0.0);
    let low = min(u32(source), inputs - 1u);
    let high = min(low + 1u, inputs - 1u);
    let far = source - f32(low);
    return select(0.0, 1.0 - far, i == low) + select(0.0, far, i == high);
}

@compute @workgroup_size(256)
fn upsample_nearest(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let plane_out = params.out_h * params.out_w;
    if index >= planes() * plane_out {
        return;
    }
    let plane = index / plane_out;
    let o = index % plane_out;
    let iy = (o / params.out_w) / params.stride;
    let ix = (o % params.out_w) / params.stride;
    out[index] = in0[plane * params.in_h * params.in_w + iy * params.in_w + ix];
}

@compute @workgroup_size(256)
fn upsample_bilinear(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let plane_out = params.out_h * params.out_w;
    if index >= planes() * plane_out {
        return;
    }
    let plane = index / plane_out;
    let o = index % plane_out;
    let oy = o / params.out_w;
    let ox = o % params.out_w;
    let base = plane * params.in_h * params.in_w;
    var sum = 0.0;
    for (var iy = max(oy / params.stride, 1u) - 1u; iy < min(oy / params.stride + 2u, params.in_h); iy++) {
        let wy = bilinear_weight(oy, iy, params.in_h);
        for (var ix = max(ox / params.stride, 1u) - 1u; ix < min(ox / params.stride + 2u, params.in_w); ix++) {
            sum += wy * bilinear_weight(ox, ix, params.in_w) * in0[base + iy * params.in_w + ix];
        }
    }
    out[index] = sum;
}

@compute @workgroup_size(256)
fn upsample_nearest_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let plane_in = params.in_h * params.in_w;
    if index >= planes() * plane_in {
        return;
    }
    let plane = index / plane_in;
    let iy = (index % plane_in) / params.in_w;
    let ix = (index % plane_in) % params.in_w;
    let base = plane * params.out_h * params.out_w;
    var sum = 0.0;
    for (var oy = iy * params.stride; oy < (iy + 1u) * params.stride; oy++) {
        for (var ox = ix * params.stride; ox < (ix + 1u) * params.stride; ox++) {
            sum += in0[base + oy * params.out_w + ox];
        }
    }
    out[index] = sum;
}

@compute @workgroup_size(256)
fn upsample_bilinear_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let plane_in = params.in_h * params.in_w;
    if index >= planes() * plane_in {
        return;
    }
    let plane = index / plane_in;
    let iy = (index % plane_in) / params.in_w;
    let ix = (index % plane_in) % params.in_w;
    let base = plane * params.out_h * params.out_w;
    let s = params.stride;
    var sum = 0.0;
    for (var oy = max(iy * s, s) - s; oy < min((iy + 2u) * s, params.out_h); oy++) {
        let wy = bilinear_weight(oy, iy, params.in_h);
        if wy == 0.0 {
            continue;
        }
        for (var ox = max(ix * s, s) - s; ox < min((ix + 2u) * s, params.out_w); ox++) {
            sum += wy * bilinear_weight(ox, ix, params.in_w) * in0[base + oy * params.out_w + ox];
        }
    }
    out[index] = sum;
}

// engine::dropout_keeps, bit for bit.
fn keeps(index: u32) -> bool {
    var h = globals.seed ^ (globals.step * 0x9E3779B9u) ^ (params.stream * 0x85EBCA6Bu);
    h ^= index * 0xC2B2AE35u;
    h = h * 747796405u + 2891336453u;
    h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
    h = (h >> 22u) ^ h;
    return f32(h >> 8u) * (1.0 / 16777216.0) >= params.rate;
}

@compute @workgroup_size(256)
fn dropout_mask(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    if index < params.per_row * globals.rows {
        out[index] = select(0.0, 1.0 / (1.0 - params.rate), keeps(index));
    }
}
