// Shared by every kernel: the per-step scalars (engine::StepScalars, then the live row count)
// in binding 0 and the op's own constants in binding 1.
struct Globals {
    learning_rate: f32,
    momentum: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    alpha: f32,
    weight_decay: f32,
    l1: f32,
    clip_norm: f32,
    step: u32,
    seed: u32,
    bias_correction1: f32,
    inv_sqrt_bias_correction2: f32,
    rows: u32,
    padding: vec2<u32>,
}

@group(0) @binding(0) var<uniform> globals: Globals;

// A size that may scale with the live rows (compile::Extent).
fn extent(per_row: u32, batched: u32) -> u32 {
    return select(per_row, per_row * globals.rows, batched != 0u);
}

// Flat thread index of a 1D launch that may spill into y when it has over 65,535 workgroups.
fn flat_index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return id.x + id.y * groups.x * 256u;
}

// The logistic function, without overflow for large negative inputs.
fn sigmoid(v: f32) -> f32 {
    if v >= 0.0 {
        return 1.0 / (1.0 + exp(-v));
    }
    let e = exp(v);
    return e / (1.0 + e);
}

// Neither NaN nor infinite: the exponent bits are not all ones. A bit test, because fast-math
// compilers may fold `x == x` to true.
fn finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// The sum of `value` over a workgroup of 256 lanes, in every lane. Call it from control flow
// the whole workgroup shares: it holds barriers.
var<workgroup> lane_sums: array<f32, 256>;

fn workgroup_sum(lane: u32, value: f32) -> f32 {
    lane_sums[lane] = value;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride /= 2u) {
        if lane < stride {
            lane_sums[lane] += lane_sums[lane + stride];
        }
        workgroupBarrier();
    }
    let total = lane_sums[0];
    workgroupBarrier();
    return total;
}
