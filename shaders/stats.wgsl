// Statistics of one tensor (engine/stats.rs has the word layout and the reference). Three
// dispatches: `stats_partial` summarises a stretch of the tensor per workgroup, `stats_finish`
// merges those summaries, `stats_histogram` counts values into bins between the merged min and
// max, and `stats_units` counts the units (columns of rows `width` long) that are zero in every
// row. Means and squared deviations merge by Chan's formula, which stays accurate where the
// spread is small next to the mean.

struct Params {
    len: u32,
    groups: u32,
    width: u32,
    padding: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
// Per workgroup of `stats_partial`: count, mean, m2, sum of squares, min, max, zeros, non-finite.
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> result: array<atomic<u32>>;

const GROUP: u32 = 256u;
const BINS: u32 = 32u;
// Summary words per partial; the result has two more (silent units, units) before the bins.
const WORDS: u32 = 8u;
const HEADER: u32 = 10u;

var<workgroup> w_count: array<u32, GROUP>;
var<workgroup> w_mean: array<f32, GROUP>;
var<workgroup> w_m2: array<f32, GROUP>;
var<workgroup> w_sum_sq: array<f32, GROUP>;
var<workgroup> w_min: array<f32, GROUP>;
var<workgroup> w_max: array<f32, GROUP>;
var<workgroup> w_zeros: array<u32, GROUP>;
var<workgroup> w_bad: array<u32, GROUP>;
var<workgroup> w_bins: array<atomic<u32>, BINS>;

// Folds slot `b` into slot `a`.
fn merge(a: u32, b: u32) {
    let n = w_count[a] + w_count[b];
    if w_count[b] > 0u {
        let na = f32(w_count[a]);
        let nb = f32(w_count[b]);
        let delta = w_mean[b] - w_mean[a];
        w_mean[a] += delta * nb / f32(n);
        w_m2[a] += w_m2[b] + delta * delta * na * nb / f32(n);
    }
    w_count[a] = n;
    w_sum_sq[a] += w_sum_sq[b];
    w_min[a] = min(w_min[a], w_min[b]);
    w_max[a] = max(w_max[a], w_max[b]);
    w_zeros[a] += w_zeros[b];
    w_bad[a] += w_bad[b];
}

fn reduce_slots(local: u32) {
    workgroupBarrier();
    for (var stride = GROUP / 2u; stride > 0u; stride /= 2u) {
        if local < stride {
            merge(local, local + stride);
        }
        workgroupBarrier();
    }
}

fn clear_slot(local: u32) {
    w_count[local] = 0u;
    w_mean[local] = 0.0;
    w_m2[local] = 0.0;
    w_sum_sq[local] = 0.0;
    w_min[local] = 3.4028235e38;
    w_max[local] = -3.4028235e38;
    w_zeros[local] = 0u;
    w_bad[local] = 0u;
}

@compute @workgroup_size(256)
fn stats_partial(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
    let local = lid.x;
    clear_slot(local);
    // Welford over this thread's values, strided across the whole launch.
    for (var i = group.x * GROUP + local; i < params.len; i += params.groups * GROUP) {
        let v = x[i];
        if !finite(v) {
            w_bad[local] += 1u;
            continue;
        }
        w_count[local] += 1u;
        let delta = v - w_mean[local];
        w_mean[local] += delta / f32(w_count[local]);
        w_m2[local] += delta * (v - w_mean[local]);
        w_sum_sq[local] += v * v;
        w_min[local] = min(w_min[local], v);
        w_max[local] = max(w_max[local], v);
        w_zeros[local] += u32(v == 0.0);
    }
    reduce_slots(local);
    if local == 0u {
        let base = group.x * WORDS;
        partials[base] = bitcast<f32>(w_count[0]);
        partials[base + 1u] = w_mean[0];
        partials[base + 2u] = w_m2[0];
        partials[base + 3u] = w_sum_sq[0];
        partials[base + 4u] = w_min[0];
        partials[base + 5u] = w_max[0];
        partials[base + 6u] = bitcast<f32>(w_zeros[0]);
        partials[base + 7u] = bitcast<f32>(w_bad[0]);
    }
}

@compute @workgroup_size(256)
fn stats_finish(@builtin(local_invocation_id) lid: vec3<u32>) {
    let local = lid.x;
    clear_slot(local);
    if local < params.groups {
        let base = local * WORDS;
        w_count[local] = bitcast<u32>(partials[base]);
        w_mean[local] = partials[base + 1u];
        w_m2[local] = partials[base + 2u];
        w_sum_sq[local] = partials[base + 3u];
        w_min[local] = partials[base + 4u];
        w_max[local] = partials[base + 5u];
        w_zeros[local] = bitcast<u32>(partials[base + 6u]);
        w_bad[local] = bitcast<u32>(partials[base + 7u]);
    }
    reduce_slots(local);
    if local == 0u {
        atomicStore(&result[0], w_count[0]);
        atomicStore(&result[1], bitcast<u32>(w_mean[0]));
        atomicStore(&result[2], bitcast<u32>(w_m2[0]));
        atomicStore(&result[3], bitcast<u32>(w_sum_sq[0]));
        atomicStore(&result[4], bitcast<u32>(w_min[0]));
        atomicStore(&result[5], bitcast<u32>(w_max[0]));
        atomicStore(&result[6], w_zeros[0]);
        atomicStore(&result[7], w_bad[0]);
        atomicStore(&result[8], 0u);
        atomicStore(&result[9], params.width);
    }
    if local < BINS {
        atomicStore(&result[HEADER + local], 0u);
    }
}

@compute @workgroup_size(256)
fn stats_histogram(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
    let local = lid.x;
    if local < BINS {
        atomicStore(&w_bins[local], 0u);
    }
    workgroupBarrier();
    let lo = bitcast<f32>(atomicLoad(&result[4]));
    let hi = bitcast<f32>(atomicLoad(&result[5]));
    // As engine::bins_per_unit and engine::histogram_bin.
    let span = hi - lo;
    let per_unit = select(0.0, f32(BINS) / span, span > 0.0);
    for (var i = group.x * GROUP + local; i < params.len; i += params.groups * GROUP) {
        let v = x[i];
        if finite(v) {
            atomicAdd(&w_bins[min(u32((v - lo) * per_unit), BINS - 1u)], 1u);
        }
    }
    workgroupBarrier();
    if local < BINS {
        atomicAdd(&result[HEADER + local], atomicLoad(&w_bins[local]));
    }
}

// One thread per unit, down its column; rows are at most a batch, so the inner loop is short.
@compute @workgroup_size(256)
fn stats_units(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let rows = params.len / params.width;
    for (var unit = id.x; unit < params.width; unit += groups.x * GROUP) {
        var silent = true;
        for (var row = 0u; row < rows; row++) {
            // NaN is not silence; comparisons alone may not say so on every device.
            let v = x[row * params.width + unit];
            if !finite(v) || v != 0.0 {
                silent = false;
                break;
            }
        }
        if silent {
            atomicAdd(&result[8], 1u);
        }
    }
}
