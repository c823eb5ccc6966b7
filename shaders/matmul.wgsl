// Matrix products: out[m, n] = op(a) · op(b) over row-major 2D views, op transposing when asked.
// A plain 16x16 tile staged in workgroup memory; correct for every size. The 32x32-tile,
// 4x4-per-thread kernel comes next.

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

var<workgroup> tile_a: array<f32, 256>;
var<workgroup> tile_b: array<f32, 256>;

@compute @workgroup_size(16, 16)
fn matmul(@builtin(local_invocation_id) local: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
    let m = extent(params.m_per_row, params.m_batched);
    let n = extent(params.n_per_row, params.n_batched);
    let k = extent(params.k_per_row, params.k_batched);
    let row = group.y * 16u + local.y;
    let col = group.x * 16u + local.x;
    var acc = 0.0;
    for (var t = 0u; t < k; t += 16u) {
        let ka = t + local.x;
        var va = 0.0;
        if row < m && ka < k {
            va = select(a[row * k + ka], a[ka * m + row], params.trans_a != 0u);
        }
        tile_a[local.y * 16u + local.x] = va;
        let kb = t + local.y;
        var vb = 0.0;
        if kb < k && col < n {
            vb = select(b[kb * n + col], b[col * k + kb], params.trans_b != 0u);
        }
        tile_b[local.y * 16u + local.x] = vb;
        workgroupBarrier();
        for (var i = 0u; i < 16u; i++) {
            acc += tile_a[local.y * 16u + i] * tile_b[i * 16u + local.x];
        }
        workgroupBarrier();
    }
    if row < m && col < n {
        out[row * n + col] = acc;
    }
}
