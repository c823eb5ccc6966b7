// 2D convolution (cross-correlation, as PyTorch) over NCHW images, and its two gradients, as
// implicit GEMMs on the tile core (gemm_tile.wgsl): the image side's tiles are gathered straight
// from the images as they are staged, so no im2col buffer is ever written. With taps = kh·kw
// and a column per (image, position):
//
//   conv2d                  y [F, rows·oh·ow] = w [F, C·taps] · patches of x [C·taps, rows·oh·ow]
//   conv2d_backward_input   dx [C, rows·h·w]  = w as [C, F·taps] · dy at the taps [F·taps, rows·h·w]
//   conv2d_backward_weight  dw [F, C·taps]    = dy [F, rows·oh·ow] · patches of x, transposed
//
// The weight gradient's depth grows with the batch and is split across workgroups
// (CHUNK in gpu/gemm.rs), as any of them is when its depth is long.

struct Params {
    channels: u32,
    in_h: u32,
    in_w: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride: u32,
    padding: u32,
    out_h: u32,
    out_w: u32,
    filters: u32,
    // Depths per workgroup when split (0 when not); `out` is then the scratch buffer.
    chunk: u32,
    unused: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(3) var<storage, read> in1: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// (x / d, x % d). A vector of integer divisions is a loop of scalar ones on a CPU (lavapipe), so
// below 2^24, where a float holds x exactly, the quotient comes from a float division and is
// corrected by at most one.
fn div_mod(x: u32, d: u32) -> vec2<u32> {
    if x >= 0x1000000u {
        return vec2(x / d, x % d);
    }
    var q = u32(f32(x) / f32(d));
    if q * d > x {
        q -= 1u;
    } else if (q + 1u) * d <= x {
        q += 1u;
    }
    return vec2(q, x - q * d);
}

// x[image, c, iy, ix], or 0 in the padding.
fn x_at(image: u32, c: u32, iy: i32, ix: i32) -> f32 {
    if iy < 0 || ix < 0 || iy >= i32(params.in_h) || ix >= i32(params.in_w) {
        return 0.0;
    }
    return in0[((image * params.channels + c) * params.in_h + u32(iy)) * params.in_w + u32(ix)];
}

// dy[image, f] at the output whose window put tap (ki, kj) on the input at (iy, ix), given as
// ty = iy + padding - ki and tx likewise; 0 when no output did.
fn dy_at(image: u32, f: u32, ty: i32, tx: i32) -> f32 {
    if ty < 0 || tx < 0 {
        return 0.0;
    }
    let oy = div_mod(u32(ty), params.stride);
    let ox = div_mod(u32(tx), params.stride);
    if oy.y != 0u || ox.y != 0u || oy.x >= params.out_h || ox.x >= params.out_w {
        return 0.0;
    }
    return in0[((image * params.filters + f) * params.out_h + oy.x) * params.out_w + ox.x];
}

const ZERO: array<vec4<f32>, 4> = array<vec4<f32>, 4>(vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));

// in0 = x, in1 = weight.
@compute @workgroup_size(8, 8)
fn conv2d(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let taps = params.kernel_h * params.kernel_w;
    let depth = params.channels * taps;
    let plane = params.out_h * params.out_w;
    let m = params.filters;
    let n = globals.rows * plane;
    let origin = tile_origin(group, groups, n);
    if origin.x >= m {
        return;
    }
    let range = depth_range(depth, params.chunk, group.z);
    let thread = local.y * 8u + local.x;
    // The column this thread stages in every tile: one output position of one image, and the
    // top left corner of its window.
    let col = origin.y + thread % TILE;
    let image = div_mod(col, plane);
    let position = div_mod(image.y, params.out_w);
    let corner_y = i32(position.x * params.stride) - i32(params.padding);
    let corner_x = i32(position.y * params.stride) - i32(params.padding);
    var acc = ZERO;
    for (var t = range.x; t < range.y; t += TILE) {
        for (var i = 0u; i < 16u; i++) {
            let at = stage_index(i, thread);
            // Weights, neighbouring threads along the depth.
            let f = origin.x + at.x;
            var va = 0.0;
            if f < m && t + at.y < depth {
                va = in1[f * depth + t + at.y];
            }
            put_a(at.x, at.y, va);
            // Patches, neighbouring threads along the columns.
            var vb = 0.0;
            if col < n && t + at.x < depth {
                let c = div_mod(t + at.x, taps);
                let tap = div_mod(c.y, params.kernel_w);
                vb = x_at(image.x, c.x, corner_y + i32(tap.x), corner_x + i32(tap.y));
            }
            put_b(at.x, at.y, vb);
        }
        workgroupBarrier();
        multiply_tiles(local, min(TILE, range.y - t), &acc);
        workgroupBarrier();
    }
    let base = group.z * m * n;
    for (var j = 0u; j < 4u; j++) {
        let col = origin.y + local.x * 4u + j;
        if col >= n {
            break;
        }
        let at = div_mod(col, plane);
        for (var i = 0u; i < 4u; i++) {
            let f = origin.x + local.y * 4u + i;
            if f < m {
                out[base + (at.x * m + f) * plane + at.y] = acc[i][j];
            }
        }
    }
}

// in0 = dy, in1 = weight. Each input value gathers the outputs whose windows covered it.
@compute @workgroup_size(8, 8)
fn conv2d_backward_input(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let taps = params.kernel_h * params.kernel_w;
    let depth = params.filters * taps;
    let plane = params.in_h * params.in_w;
    let m = params.channels;
    let n = globals.rows * plane;
    let origin = tile_origin(group, groups, n);
    if origin.x >= m {
        return;
    }
    let range = depth_range(depth, params.chunk, group.z);
    let thread = local.y * 8u + local.x;
    let col = origin.y + thread % TILE;
    let image = div_mod(col, plane);
    let position = div_mod(image.y, params.in_w);
    let shifted_y = i32(position.x + params.padding);
    let shifted_x = i32(position.y + params.padding);
    var acc = ZERO;
    for (var t = range.x; t < range.y; t += TILE) {
        for (var i = 0u; i < 16u; i++) {
            let at = stage_index(i, thread);
            // w[f, c, tap] for row c and depth (f, tap).
            let c = origin.x + at.x;
            var va = 0.0;
            if c < m && t + at.y < depth {
                let f = div_mod(t + at.y, taps);
                va = in1[(f.x * m + c) * taps + f.y];
            }
            put_a(at.x, at.y, va);
            var vb = 0.0;
            if col < n && t + at.x < depth {
                let f = div_mod(t + at.x, taps);
                let tap = div_mod(f.y, params.kernel_w);
                vb = dy_at(image.x, f.x, shifted_y - i32(tap.x), shifted_x - i32(tap.y));
            }
            put_b(at.x, at.y, vb);
        }
        workgroupBarrier();
        multiply_tiles(local, min(TILE, range.y - t), &acc);
        workgroupBarrier();
    }
    let base = group.z * m * n;
    for (var j = 0u; j < 4u; j++) {
        let col = origin.y + local.x * 4u + j;
        if col >= n {
            break;
        }
        let at = div_mod(col, plane);
        for (var i = 0u; i < 4u; i++) {
            let c = origin.x + local.y * 4u + i;
            if c < m {
                out[base + (at.x * m + c) * plane + at.y] = acc[i][j];
            }
        }
    }
}

// in0 = x, in1 = dy. The depth runs over every output position of every image.
@compute @workgroup_size(8, 8)
fn conv2d_backward_weight(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let taps = params.kernel_h * params.kernel_w;
    let plane = params.out_h * params.out_w;
    let depth = globals.rows * plane;
    let m = params.filters;
    let n = params.channels * taps;
    let origin = tile_origin(group, groups, n);
    if origin.x >= m {
        return;
    }
    let range = depth_range(depth, params.chunk, group.z);
    let thread = local.y * 8u + local.x;
    // The column this thread stages: one channel and tap, as offsets from a window's corner.
    let col = origin.y + thread % TILE;
    let c = div_mod(col, taps);
    let tap = div_mod(c.y, params.kernel_w);
    let offset_y = i32(tap.x) - i32(params.padding);
    let offset_x = i32(tap.y) - i32(params.padding);
    var acc = ZERO;
    for (var t = range.x; t < range.y; t += TILE) {
        for (var i = 0u; i < 16u; i++) {
            let at = stage_index(i, thread);
            // dy[image, f, position] for row f and depth (image, position).
            let f = origin.x + at.x;
            var va = 0.0;
            if f < m && t + at.y < depth {
                let image = div_mod(t + at.y, plane);
                va = in1[(image.x * m + f) * plane + image.y];
            }
            put_a(at.x, at.y, va);
            var vb = 0.0;
            if col < n && t + at.x < depth {
                let image = div_mod(t + at.x, plane);
                let position = div_mod(image.y, params.out_w);
                let iy = i32(position.x * params.stride) + offset_y;
                let ix = i32(position.y * params.stride) + offset_x;
                vb = x_at(image.x, c.x, iy, ix);
            }
            put_b(at.x, at.y, vb);
        }
        workgroupBarrier();
        multiply_tiles(local, min(TILE, range.y - t), &acc);
        workgroupBarrier();
    }
    let base = group.z * m * n;
    for (var i = 0u; i < 4u; i++) {
        let f = origin.x + local.y * 4u + i;
        if f >= m {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = origin.y + local.x * 4u + j;
            if col < n {
                out[base + f * n + col] = acc[i][j];
            }
        }
    }
}
