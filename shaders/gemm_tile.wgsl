// The tile core of every tiled product (matmul.wgsl and conv.wgsl include it): a 32x32 output
// tile per 8x8 workgroup, 4x4 outputs per thread, both input tiles staged in workgroup memory.
// The including kernel stages the tiles with its own loads (plain, vec4, or gathered from an
// image) and writes its results; the multiply, the tile grid and the depth split live here.
//
// A long depth is split across workgroups (group.z, `chunk` steps each: CHUNK in gpu/gemm.rs):
// each writes its partial block, and reduce.wgsl's `sum_partials` adds them up. That keeps every
// thread's loops short, which lavapipe needs: it stops a thread's loops after 65,535 iterations
// in all, silently.

const TILE: u32 = 32u;

// tile_a[k * 8 + r]: rows 4r..4r+3 of op(a) at depth k; tile_b[k * 8 + c]: columns 4c..4c+3 of
// op(b) at depth k. A thread reads one vec4 of each per depth step for its 4x4 block.
var<workgroup> tile_a: array<vec4<f32>, 256>;
var<workgroup> tile_b: array<vec4<f32>, 256>;

fn put_a(row: u32, k: u32, value: f32) {
    tile_a[k * 8u + row / 4u][row % 4u] = value;
}

fn put_b(k: u32, col: u32, value: f32) {
    tile_b[k * 8u + col / 4u][col % 4u] = value;
}

// 64 threads stage 1,024 values of a tile, 16 each: slot i of `thread` holds the value at
// (index / 32, index % 32), so neighbouring threads load neighbouring values.
fn stage_index(i: u32, thread: u32) -> vec2<u32> {
    let index = i * 64u + thread;
    return vec2(index / TILE, index % TILE);
}

// First row and column of this workgroup's output tile. Tiles run along x then y, so a grid
// wider than a dimension allows continues on the next rows (kernels.rs, Grid::Tiles).
fn tile_origin(group: vec3<u32>, groups: vec3<u32>, n: u32) -> vec2<u32> {
    let tiles_n = max((n + TILE - 1u) / TILE, 1u);
    let linear = group.x + group.y * groups.x;
    return vec2(linear / tiles_n * TILE, linear % tiles_n * TILE);
}

// The depths [x, y) this workgroup covers: chunk `group.z`, or all of them when `chunk` is 0.
fn depth_range(depth: u32, chunk: u32, z: u32) -> vec2<u32> {
    if chunk == 0u {
        return vec2(0u, depth);
    }
    return vec2(min(z * chunk, depth), min((z + 1u) * chunk, depth));
}

fn multiply_step(local: vec3<u32>, k: u32, acc: ptr<function, array<vec4<f32>, 4>>) {
    let av = tile_a[k * 8u + local.y];
    let bv = tile_b[k * 8u + local.x];
    (*acc)[0] += av.x * bv;
    (*acc)[1] += av.y * bv;
    (*acc)[2] += av.z * bv;
    (*acc)[3] += av.w * bv;
}

// Adds the staged tiles' product over their first `steps` depths to a thread's 4x4 block. A
// whole tile gets a loop of constant length, which compilers unroll; a short depth (a 3x3
// convolution over one channel has 9) stops where the depth does.
fn multiply_tiles(local: vec3<u32>, steps: u32, acc: ptr<function, array<vec4<f32>, 4>>) {
    if steps == TILE {
        for (var k = 0u; k < TILE; k++) {
            multiply_step(local, k, acc);
        }
    } else {
        for (var k = 0u; k < steps; k++) {
            multiply_step(local, k, acc);
        }
    }
}
