// Matrix products: out[m, n] = op(a) · op(b) over row-major 2D views, op transposing when asked.
// Tiled on the shared core (gemm_tile.wgsl) in four variants that differ only in how they load:
// `matmul` one value at a time, `matmul_vec4_a`, `matmul_vec4_b` and `matmul_vec4` four at a time
// along the contiguous axis of a, b or both, where its length is a multiple of 4 (gpu/gemm.rs
// picks the variant). A single output row or column goes to `matvec_rows` or `matvec_columns`
// instead, which reduce each output in workgroup memory. Edges are guarded: every size works.

struct Params {
    // Matvec: m is the output's length and n is 1.
    m_per_row: u32,
    m_batched: u32,
    n_per_row: u32,
    n_batched: u32,
    k_per_row: u32,
    k_batched: u32,
    trans_a: u32,
    trans_b: u32,
    // Depths per workgroup when the depth is split (0 when it is not); `out` is then the scratch
    // buffer that takes one partial block per chunk.
    chunk: u32,
    unused0: u32,
    unused1: u32,
    unused2: u32,
}

// Bound as vec4s so that aligned loads take four values at once; single values are read by
// component (the engine sizes every buffer in whole vec4s).
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn a_at(i: u32) -> f32 {
    return a[i / 4u][i % 4u];
}

fn b_at(i: u32) -> f32 {
    return b[i / 4u][i % 4u];
}

struct Dims {
    m: u32,
    n: u32,
    depth: u32,
}

// Rows `first_row`.. of op(a) at depths `t`.. into tile_a. Neighbouring threads load along a's
// contiguous axis: depth when a is [m, depth], rows when it is transposed ([depth, m]).
fn stage_a(thread: u32, first_row: u32, t: u32, d: Dims, wide: bool) {
    let trans = params.trans_a != 0u;
    if !wide {
        for (var i = 0u; i < 16u; i++) {
            let at = stage_index(i, thread);
            let r = select(at.x, at.y, trans);
            let k = select(at.y, at.x, trans);
            let row = first_row + r;
            let depth = t + k;
            var v = 0.0;
            if row < d.m && depth < d.depth {
                v = a_at(select(row * d.depth + depth, depth * d.m + row, trans));
            }
            put_a(r, k, v);
        }
        return;
    }
    // 256 vec4s, 4 per thread; the row length is a multiple of 4, so a vec4 is all in or all out.
    for (var i = 0u; i < 4u; i++) {
        let index = i * 64u + thread;
        if trans {
            // Four rows at one depth: they go into the tile as they are.
            let k = index / 8u;
            let r = index % 8u * 4u;
            var v = vec4(0.0);
            if first_row + r < d.m && t + k < d.depth {
                v = a[((t + k) * d.m + first_row + r) / 4u];
            }
            tile_a[k * 8u + r / 4u] = v;
        } else {
            // Four depths of one row.
            let r = index / 8u;
            let k = index % 8u * 4u;
            var v = vec4(0.0);
            if first_row + r < d.m && t + k < d.depth {
                v = a[((first_row + r) * d.depth + t + k) / 4u];
            }
            put_a(r, k, v.x);
            put_a(r, k + 1u, v.y);
            put_a(r, k + 2u, v.z);
            put_a(r, k + 3u, v.w);
        }
    }
}

// Columns `first_col`.. of op(b) at depths `t`.. into tile_b; b is [depth, n], or [n, depth]
// when transposed.
fn stage_b(thread: u32, first_col: u32, t: u32, d: Dims, wide: bool) {
    let trans = params.trans_b != 0u;
    if !wide {
        for (var i = 0u; i < 16u; i++) {
            let at = stage_index(i, thread);
            let k = select(at.x, at.y, trans);
            let c = select(at.y, at.x, trans);
            let col = first_col + c;
            let depth = t + k;
            var v = 0.0;
            if col < d.n && depth < d.depth {
                v = b_at(select(depth * d.n + col, col * d.depth + depth, trans));
            }
            put_b(k, c, v);
        }
        return;
    }
    for (var i = 0u; i < 4u; i++) {
        let index = i * 64u + thread;
        if trans {
            // Four depths of one column.
            let c = index / 8u;
            let k = index % 8u * 4u;
            var v = vec4(0.0);
            if first_col + c < d.n && t + k < d.depth {
                v = b[((first_col + c) * d.depth + t + k) / 4u];
            }
            put_b(k, c, v.x);
            put_b(k + 1u, c, v.y);
            put_b(k + 2u, c, v.z);
            put_b(k + 3u, c, v.w);
        } else {
            // Four columns at one depth.
            let k = index / 8u;
            let c = index % 8u * 4u;
            var v = vec4(0.0);
            if first_col + c < d.n && t + k < d.depth {
                v = b[((t + k) * d.n + first_col + c) / 4u];
            }
            tile_b[k * 8u + c / 4u] = v;
        }
    }
}

fn matmul_tiles(local: vec3<u32>, group: vec3<u32>, groups: vec3<u32>, wide_a: bool, wide_b: bool) {
    let d = Dims(
        extent(params.m_per_row, params.m_batched),
        extent(params.n_per_row, params.n_batched),
        extent(params.k_per_row, params.k_batched),
    );
    let origin = tile_origin(group, groups, d.n);
    if origin.x >= d.m {
        return;
    }
    let range = depth_range(d.depth, params.chunk, group.z);
    let thread = local.y * 8u + local.x;
    var acc = array<vec4<f32>, 4>(vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
    for (var t = range.x; t < range.y; t += TILE) {
        stage_a(thread, origin.x, t, d, wide_a);
        stage_b(thread, origin.y, t, d, wide_b);
        workgroupBarrier();
        multiply_tiles(local, min(TILE, range.y - t), &acc);
        workgroupBarrier();
    }
    // A split depth writes partial block z.
    let base = group.z * d.m * d.n;
    for (var i = 0u; i < 4u; i++) {
        let row = origin.x + local.y * 4u + i;
        if row >= d.m {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = origin.y + local.x * 4u + j;
            if col < d.n {
                out[base + row * d.n + col] = acc[i][j];
            }
        }
    }
}

@compute @workgroup_size(8, 8)
fn matmul(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    matmul_tiles(local, group, groups, false, false);
}

@compute @workgroup_size(8, 8)
fn matmul_vec4_a(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    matmul_tiles(local, group, groups, true, false);
}

@compute @workgroup_size(8, 8)
fn matmul_vec4_b(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    matmul_tiles(local, group, groups, false, true);
}

@compute @workgroup_size(8, 8)
fn matmul_vec4(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    matmul_tiles(local, group, groups, true, true);
}

// Matrix-vector products, out[i] = Σ_k mat(i, k) · v(k), for a product with one output row or
// column: `a` holds the matrix and `b` the vector (gpu/gemm.rs binds them so), m is the
// output's length and k the depth.
var<workgroup> partial: array<f32, 256>;

fn group_index(group: vec3<u32>, groups: vec3<u32>) -> u32 {
    return group.x + group.y * groups.x;
}

// mat(i, k) = a[i * depth + k]: four outputs per workgroup, 64 threads along each row, summed
// in workgroup memory. `wide` reads vec4s (the depth is a multiple of 4).
fn matvec_rows_of(local: vec3<u32>, group: vec3<u32>, groups: vec3<u32>, wide: bool) {
    let len = extent(params.m_per_row, params.m_batched);
    let depth = extent(params.k_per_row, params.k_batched);
    let i = group_index(group, groups) * 4u + local.x / 64u;
    let lane = local.x % 64u;
    var sum = 0.0;
    if i < len {
        if wide {
            for (var k = lane * 4u; k < depth; k += 256u) {
                sum += dot(a[(i * depth + k) / 4u], b[k / 4u]);
            }
        } else {
            for (var k = lane; k < depth; k += 64u) {
                sum += a_at(i * depth + k) * b_at(k);
            }
        }
    }
    partial[local.x] = sum;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride /= 2u) {
        if lane < stride {
            partial[local.x] += partial[local.x + stride];
        }
        workgroupBarrier();
    }
    if lane == 0u && i < len {
        out[i] = partial[local.x];
    }
}

@compute @workgroup_size(256)
fn matvec_rows(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    matvec_rows_of(local, group, groups, false);
}

@compute @workgroup_size(256)
fn matvec_rows_vec4(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    matvec_rows_of(local, group, groups, true);
}

// mat(i, k) = a[k * len + i]: 64 outputs per workgroup, neighbouring threads on neighbouring
// outputs, each output's depths dealt to 4 threads and summed in workgroup memory.
@compute @workgroup_size(256)
fn matvec_columns(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let len = extent(params.m_per_row, params.m_batched);
    let depth = extent(params.k_per_row, params.k_batched);
    let i = group_index(group, groups) * 64u + local.x % 64u;
    let slice = local.x / 64u;
    var sum = 0.0;
    if i < len {
        for (var k = slice; k < depth; k += 4u) {
            sum += a_at(k * len + i) * b_at(k);
        }
    }
    partial[local.x] = sum;
    workgroupBarrier();
    if slice == 0u && i < len {
        out[i] = partial[local.x] + partial[local.x + 64u] + partial[local.x + 128u] + partial[local.x + 192u];
    }
}
