// Reductions: the bias gradient (a sum per channel), the squared norm of the gradients, and the
// sum of a split product's partial blocks.

struct Params {
    // Bias: dy viewed as [outer, channels, inner]; `per_row`/`batched` size dy.
    per_row: u32,
    batched: u32,
    channels: u32,
    inner: u32,
    // Norm: values in this gradient (`len`) and where its block sums go in scratch (`offset`);
    // the finish adds up `len` block sums.
    // Partials: `per_row`/`batched` size the product's output, `len` is the depth per chunk and
    // `depth_per_row`/`depth_batched` the whole depth.
    len: u32,
    offset: u32,
    depth_per_row: u32,
    depth_batched: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// One workgroup per channel: 256 threads stride over the channel's values in every sample and
// sum in workgroup memory. (A thread per channel looped over the whole batch: for a convolution
// over 28x28 images, past the 65,535 iterations lavapipe lets a thread's loops run from a batch
// of 84 on.)
@compute @workgroup_size(256)
fn bias_grad(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let c = group.x + group.y * groups.x;
    let block = params.channels * params.inner;
    let count = extent(params.per_row, params.batched) / block * params.inner;
    var sum = 0.0;
    if c < params.channels {
        for (var i = local.x; i < count; i += 256u) {
            let o = i / params.inner;
            sum += in0[o * block + c * params.inner + i - o * params.inner];
        }
    }
    let total = workgroup_sum(local.x, sum);
    if local.x == 0u && c < params.channels {
        out[c] = total;
    }
}

// Values one workgroup sums in the first stage of the gradient norm: 32 per lane.
const NORM_BLOCK: u32 = 8192u;

// The squared norm of the gradients, in two stages so that no workgroup walks a whole tensor (a
// real GPU would sit idle but for one core; lavapipe gave wrong sums past 2^24 values):
// `norm_sq_blocks` sums each block of NORM_BLOCK values of one gradient into scratch, from
// `offset` on; `norm_sq_finish` adds all `len` block sums up into out[0].
@compute @workgroup_size(256)
fn norm_sq_blocks(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let block = group.x + group.y * groups.x;
    let start = block * NORM_BLOCK;
    let end = min(params.len, start + NORM_BLOCK);
    var sum = 0.0;
    for (var i = start + local.x; i < end; i += 256u) {
        sum += in0[i] * in0[i];
    }
    let total = workgroup_sum(local.x, sum);
    if local.x == 0u && start < params.len {
        out[params.offset + block] = total;
    }
}

@compute @workgroup_size(256)
fn norm_sq_finish(@builtin(local_invocation_id) local: vec3<u32>) {
    var sum = 0.0;
    for (var i = local.x; i < params.len; i += 256u) {
        sum += in0[i];
    }
    let total = workgroup_sum(local.x, sum);
    if local.x == 0u {
        out[0] = total;
    }
}

// One thread per output of a product whose depth was split into chunks (gemm_tile.wgsl): adds
// the chunks' partial blocks, which lie one after another in in0.
@compute @workgroup_size(256)
fn sum_partials(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let count = extent(params.per_row, params.batched);
    if index >= count {
        return;
    }
    let chunks = (extent(params.depth_per_row, params.depth_batched) + params.len - 1u) / params.len;
    var sum = 0.0;
    for (var c = 0u; c < chunks; c++) {
        sum += in0[c * count + index];
    }
    out[index] = sum;
}
