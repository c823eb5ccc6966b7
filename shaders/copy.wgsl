// Concatenation and its inverse: copying a block of `width` entries of every `[total, inner]`
// row of a whole buffer to or from a part. Concat runs `place` once per input.

struct Params {
    // Rows of the part per sample (outer size), total and part widths, offset, inner size.
    outer_per_row: u32,
    total: u32,
    start: u32,
    width: u32,
    inner: u32,
    padding0: u32,
    padding1: u32,
    padding2: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Index into the whole buffer of part element `i`.
fn whole_index(i: u32) -> u32 {
    let block = params.width * params.inner;
    let o = i / block;
    return o * params.total * params.inner + params.start * params.inner + i % block;
}

fn part_len() -> u32 {
    return params.outer_per_row * globals.rows * params.width * params.inner;
}

// in0 = part, out = whole
@compute @workgroup_size(256)
fn place(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i < part_len() {
        out[whole_index(i)] = in0[i];
    }
}

// in0 = whole, out = part
@compute @workgroup_size(256)
fn take(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups);
    if i < part_len() {
        out[i] = in0[whole_index(i)];
    }
}

// in0 = part, out = whole: the part in its place and zeros elsewhere (the gradient of `take`).
@compute @workgroup_size(256)
fn unslice(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let j = flat_index(id, groups);
    let row_len = params.total * params.inner;
    if j >= params.outer_per_row * globals.rows * row_len {
        return;
    }
    let o = j / row_len;
    let p = (j % row_len) / params.inner;
    let k = j % params.inner;
    if p >= params.start && p < params.start + params.width {
        out[j] = in0[(o * params.width + p - params.start) * params.inner + k];
    } else {
        out[j] = 0.0;
    }
}
