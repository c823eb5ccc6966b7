// The plain shared-memory matrix product, kept only as the yardstick that `netloom bench`'s
// matmul sweep measures the tiled kernel against: a 16x16 workgroup, one output per thread,
// 16x16 tiles of both inputs staged in workgroup memory. out[m, n] = a[m, k] · b[k, n], no
// transposes; the engine never runs it.

struct Params {
    m_per_row: u32,
    m_batched: u32,
    n_per_row: u32,
    n_batched: u32,
    k_per_row: u32,
    k_batched: u32,
    // The rest of matmul.wgsl's Params, which the sweep writes too.
    trans_a: u32,
    trans_b: u32,
    chunk: u32,
    unused0: u32,
    unused1: u32,
    unused2: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const SIDE: u32 = 16u;

var<workgroup> plain_a: array<f32, 256>;
var<workgroup> plain_b: array<f32, 256>;

@compute @workgroup_size(16, 16)
fn matmul_16x16(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let m = extent(params.m_per_row, params.m_batched);
    let n = extent(params.n_per_row, params.n_batched);
    let depth = extent(params.k_per_row, params.k_batched);
    // Tiles run along x then y, as kernels.rs lays out Grid::Tiles.
    let tiles_n = max((n + SIDE - 1u) / SIDE, 1u);
    let linear = group.x + group.y * groups.x;
    let first_row = linear / tiles_n * SIDE;
    if first_row >= m {
        return;
    }
    let row = first_row + local.y;
    let col = linear % tiles_n * SIDE + local.x;
    var sum = 0.0;
    for (var t = 0u; t < depth; t += SIDE) {
        var va = 0.0;
        if row < m && t + local.x < depth {
            va = a[row * depth + t + local.x];
        }
        var vb = 0.0;
        if t + local.y < depth && col < n {
            vb = b[(t + local.y) * n + col];
        }
        plain_a[local.y * SIDE + local.x] = va;
        plain_b[local.y * SIDE + local.x] = vb;
        workgroupBarrier();
        for (var k = 0u; k < SIDE; k++) {
            sum += plain_a[local.y * SIDE + k] * plain_b[k * SIDE + local.x];
        }
        workgroupBarrier();
    }
    if row < m && col < n {
        out[row * n + col] = sum;
    }
}
