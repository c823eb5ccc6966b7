// Element-wise kernels: activations and their gradients, sums, differences, products, copies
// and bias, one thread per element.

struct Params {
    // Elements per row, and whether the buffer scales with the rows.
    per_row: u32,
    batched: u32,
    // UnaryFn: 0 relu, 1 leaky relu, 2 elu, 3 sigmoid, 4 tanh, 5 gelu; `slope` is its constant.
    function: u32,
    slope: f32,
    // Bias layout: x viewed as [outer, channels, inner].
    channels: u32,
    inner: u32,
    padding: vec2<u32>,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(3) var<storage, read> in1: array<f32>;
@group(0) @binding(4) var<storage, read> in2: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

fn len() -> u32 {
    return extent(params.per_row, params.batched);
}

// erf by Abramowitz & Stegun 7.1.26, as the CPU backend.
fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let poly = t * (0.2548296 + t * (-0.28449674 + t * (1.4214137 + t * (-1.4531521 + t * 1.0614054))));
    let y = 1.0 - poly * exp(-x * x);
    return select(y, -y, x < 0.0);
}

// in0 = x
@compute @workgroup_size(256)
fn unary(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i >= len() {
        return;
    }
    let v = in0[i];
    var y: f32;
    switch params.function {
        case 0u: { y = max(v, 0.0); }
        case 1u: { y = select(params.slope * v, v, v > 0.0); }
        case 2u: { y = select(params.slope * (exp(v) - 1.0), v, v > 0.0); }
        case 3u: { y = sigmoid(v); }
        case 4u: { y = tanh(v); }
        default: { y = 0.5 * v * (1.0 + erf(v * 0.70710677)); }
    }
    out[i] = y;
}

// in0 = x, in1 = y, in2 = dy
@compute @workgroup_size(256)
fn unary_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i >= len() {
        return;
    }
    let x = in0[i];
    let y = in1[i];
    let g = in2[i];
    var d: f32;
    switch params.function {
        case 0u: { d = select(0.0, g, x > 0.0); }
        case 1u: { d = select(params.slope * g, g, x > 0.0); }
        case 2u: { d = select((y + params.slope) * g, g, x > 0.0); }
        case 3u: { d = y * (1.0 - y) * g; }
        case 4u: { d = (1.0 - y * y) * g; }
        default: {
            let slope = 0.5 * (1.0 + erf(x * 0.70710677)) + x * 0.3989423 * exp(-0.5 * x * x);
            d = slope * g;
        }
    }
    out[i] = d;
}

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i < len() {
        out[i] = in0[i] + in1[i];
    }
}

@compute @workgroup_size(256)
fn difference(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i < len() {
        out[i] = in0[i] - in1[i];
    }
}

@compute @workgroup_size(256)
fn copy_values(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i < len() {
        out[i] = in0[i];
    }
}

@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i < len() {
        out[i] = in0[i] * in1[i];
    }
}

// in0 = x, in1 = bias
@compute @workgroup_size(256)
fn bias_add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i < len() {
        out[i] = in0[i] + in1[(i / params.inner) % params.channels];
    }
}
