// Matrix products: out[m, n] = op(a) · op(b) over row-major 2D views, op transposing when asked.
// The shape the hand-written WGSL engines converged on: a 32x32 output tile per 8x8 workgroup,
// 4x4 outputs per thread, both input tiles staged in workgroup memory. Edges are guarded, so
// every size works.

struct Params {
    m_per_row: u32,
    m_batched: u32,
    n_per_row: u32,
    n_batched: u32,
    k_per_row: u32,
    k_batched: u32,
    trans_a: u32,
    trans_b: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const TILE: u32 = 32u;

// tile_a[r * TILE + k]: rows of op(a); tile_b[k * TILE + c]: columns of op(b).
var<workgroup> tile_a: array<f32, 1024>;
var<workgroup> tile_b: array<f32, 1024>;

fn a_at(row: u32, k: u32, m: u32, depth: u32) -> f32 {
    if row >= m || k >= depth {
        return 0.0;
    }
    if params.trans_a != 0u {
        return a[k * m + row];
    }
    return a[row * depth + k];
}

fn b_at(k: u32, col: u32, n: u32, depth: u32) -> f32 {
    if k >= depth || col >= n {
        return 0.0;
    }
    if params.trans_b != 0u {
        return b[col * depth + k];
    }
    return b[k * n + col];
}

@compute @workgroup_size(8, 8)
fn matmul(@builtin(local_invocation_id) local: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
    let m = extent(params.m_per_row, params.m_batched);
    let n = extent(params.n_per_row, params.n_batched);
    let depth = extent(params.k_per_row, params.k_batched);
    let first_row = group.y * TILE;
    let first_col = group.x * TILE;
    let thread = local.y * 8u + local.x;
    var acc = array<vec4<f32>, 4>(vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
    for (var t = 0u; t < depth; t += TILE) {
        // 64 threads stage 1,024 values of each tile, 16 each.
        for (var i = 0u; i < 16u; i++) {
            let index = i * 64u + thread;
            let r = index / TILE;
            let c = index % TILE;
            tile_a[index] = a_at(first_row + r, t + c, m, depth);
            tile_b[index] = b_at(t + r, first_col + c, n, depth);
        }
        workgroupBarrier();
        for (var k = 0u; k < TILE; k++) {
            let base = k * TILE + local.x * 4u;
            let bv = vec4(tile_b[base], tile_b[base + 1u], tile_b[base + 2u], tile_b[base + 3u]);
            for (var i = 0u; i < 4u; i++) {
                acc[i] += tile_a[(local.y * 4u + i) * TILE + k] * bv;
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let row = first_row + local.y * 4u + i;
        if row >= m {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = first_col + local.x * 4u + j;
            if col < n {
                out[row * n + col] = acc[i][j];
            }
        }
    }
}
