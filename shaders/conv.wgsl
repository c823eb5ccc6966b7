// 2D convolution (cross-correlation, as PyTorch) over NCHW images, and its two gradients. Direct
// loops, one thread per output, input or weight value: correct for every shape, and the
// reference for the implicit-GEMM kernel that is to replace it.

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
    unused0: u32,
    unused1: u32,
}

@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(3) var<storage, read> in1: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn x_index(n: u32, c: u32, iy: u32, ix: u32) -> u32 {
    return ((n * params.channels + c) * params.in_h + iy) * params.in_w + ix;
}

fn w_index(f: u32, c: u32, ki: u32, kj: u32) -> u32 {
    return ((f * params.channels + c) * params.kernel_h + ki) * params.kernel_w + kj;
}

fn y_index(n: u32, f: u32, oy: u32, ox: u32) -> u32 {
    return ((n * params.filters + f) * params.out_h + oy) * params.out_w + ox;
}

// Input coordinate of output `o` and kernel offset `k`, or -1 in the padding.
fn input_at(o: u32, k: u32, size: u32) -> i32 {
    let i = i32(o * params.stride + k) - i32(params.padding);
    return select(-1, i, i >= 0 && i < i32(size));
}

// in0 = x, in1 = weight
@compute @workgroup_size(256)
fn conv2d(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let plane = params.out_h * params.out_w;
    if index >= globals.rows * params.filters * plane {
        return;
    }
    let n = index / (params.filters * plane);
    let f = (index / plane) % params.filters;
    let oy = (index % plane) / params.out_w;
    let ox = index % params.out_w;
    var sum = 0.0;
    for (var c = 0u; c < params.channels; c++) {
        for (var ki = 0u; ki < params.kernel_h; ki++) {
            let iy = input_at(oy, ki, params.in_h);
            if iy < 0 {
                continue;
            }
            for (var kj = 0u; kj < params.kernel_w; kj++) {
                let ix = input_at(ox, kj, params.in_w);
                if ix >= 0 {
                    sum += in0[x_index(n, c, u32(iy), u32(ix))] * in1[w_index(f, c, ki, kj)];
                }
            }
        }
    }
    out[index] = sum;
}

// in0 = dy, in1 = weight; one thread per input value, gathering the outputs it fed.
@compute @workgroup_size(256)
fn conv2d_backward_input(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    let plane = params.in_h * params.in_w;
    if index >= globals.rows * params.channels * plane {
        return;
    }
    let n = index / (params.channels * plane);
    let c = (index / plane) % params.channels;
    let iy = (index % plane) / params.in_w;
    let ix = index % params.in_w;
    var sum = 0.0;
    for (var ki = 0u; ki < params.kernel_h; ki++) {
        let ty = i32(iy + params.padding) - i32(ki);
        if ty < 0 || ty % i32(params.stride) != 0 || u32(ty) / params.stride >= params.out_h {
            continue;
        }
        let oy = u32(ty) / params.stride;
        for (var kj = 0u; kj < params.kernel_w; kj++) {
            let tx = i32(ix + params.padding) - i32(kj);
            if tx < 0 || tx % i32(params.stride) != 0 || u32(tx) / params.stride >= params.out_w {
                continue;
            }
            let ox = u32(tx) / params.stride;
            for (var f = 0u; f < params.filters; f++) {
                sum += in0[y_index(n, f, oy, ox)] * in1[w_index(f, c, ki, kj)];
            }
        }
    }
    out[index] = sum;
}

// in0 = x, in1 = dy; one thread per weight value, summing over the batch.
@compute @workgroup_size(64)
fn conv2d_backward_weight(@builtin(global_invocation_id) id: vec3<u32>) {
    let index = id.x;
    let per_filter = params.channels * params.kernel_h * params.kernel_w;
    if index >= params.filters * per_filter {
        return;
    }
    let f = index / per_filter;
    let c = (index / (params.kernel_h * params.kernel_w)) % params.channels;
    let ki = (index / params.kernel_w) % params.kernel_h;
    let kj = index % params.kernel_w;
    var sum = 0.0;
    for (var n = 0u; n < globals.rows; n++) {
        for (var oy = 0u; oy < params.out_h; oy++) {
            let iy = input_at(oy, ki, params.in_h);
            if iy < 0 {
                continue;
            }
            for (var ox = 0u; ox < params.out_w; ox++) {
                let ix = input_at(ox, kj, params.in_w);
                if ix >= 0 {
                    sum += in0[x_index(n, c, u32(iy), u32(ix))] * in1[y_index(n, f, oy, ox)];
                }
            }
        }
    }
    out[index] = sum;
}
