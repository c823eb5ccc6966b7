//! Upsampling NCHW images by a whole factor (`window.stride`), as PyTorch's `nn.Upsample`:
//! nearest copies each value onto a factor×factor block; bilinear interpolates between the
//! four nearest inputs with `align_corners=False`. Both directions gather (the gradient of an
//! input sums the outputs that read it), as the WGSL kernels do, so no writes collide.

use crate::compile::Window;

/// How much input `i` counts in output `o` along one axis of `inputs` values, upsampled by
/// `scale`: PyTorch's source index `(o + ½)/scale − ½`, clamped at 0, between its floor and
/// the next input (the last one counts twice at the far edge).
pub fn bilinear_weight(o: usize, i: usize, scale: usize, inputs: usize) -> f32 {
    let source = ((o as f32 + 0.5) / scale as f32 - 0.5).max(0.0);
    let low = (source as usize).min(inputs - 1);
    let high = (low + 1).min(inputs - 1);
    let far = source - low as f32;
    let mut weight = 0.0;
    if i == low {
        weight += 1.0 - far;
    }
    if i == high {
        weight += far;
    }
    weight
}

/// The outputs along one axis that may read input `i`: its own block, one block either side.
fn readers(i: usize, scale: usize, outputs: usize) -> std::ops::Range<usize> {
    (i * scale).saturating_sub(scale)..((i + 2) * scale).min(outputs)
}

pub fn upsample(window: &Window, bilinear: bool, rows: usize, x: &[f32], out: &mut [f32]) {
    let Window {
        in_h,
        in_w,
        out_h,
        out_w,
        stride: scale,
        ..
    } = *window;
    let planes = rows * window.channels;
    for (out, x) in out
        .chunks_exact_mut(out_h * out_w)
        .zip(x.chunks_exact(in_h * in_w))
        .take(planes)
    {
        for oy in 0..out_h {
            for ox in 0..out_w {
                out[oy * out_w + ox] = if bilinear {
                    let mut sum = 0.0;
                    for iy in readers_of(oy, scale, in_h) {
                        let wy = bilinear_weight(oy, iy, scale, in_h);
                        for ix in readers_of(ox, scale, in_w) {
                            sum += wy * bilinear_weight(ox, ix, scale, in_w) * x[iy * in_w + ix];
                        }
                    }
                    sum
                } else {
                    x[(oy / scale) * in_w + ox / scale]
                };
            }
        }
    }
}

/// The inputs along one axis output `o` may read: the one under it and its neighbours.
fn readers_of(o: usize, scale: usize, inputs: usize) -> std::ops::Range<usize> {
    (o / scale).saturating_sub(1)..(o / scale + 2).min(inputs)
}

pub fn upsample_backward(window: &Window, bilinear: bool, rows: usize, dy: &[f32], dx: &mut [f32]) {
    let Window {
        in_h,
        in_w,
        out_h,
        out_w,
        stride: scale,
        ..
    } = *window;
    let planes = rows * window.channels;
    for (dx, dy) in dx
        .chunks_exact_mut(in_h * in_w)
        .zip(dy.chunks_exact(out_h * out_w))
        .take(planes)
    {
        for iy in 0..in_h {
            for ix in 0..in_w {
                let mut sum = 0.0;
                if bilinear {
                    for oy in readers(iy, scale, out_h) {
                        let wy = bilinear_weight(oy, iy, scale, in_h);
                        if wy == 0.0 {
                            continue;
                        }
                        for ox in readers(ix, scale, out_w) {
                            sum += wy * bilinear_weight(ox, ix, scale, in_w) * dy[oy * out_w + ox];
                        }
                    }
                } else {
                    for oy in iy * scale..(iy + 1) * scale {
                        for ox in ix * scale..(ix + 1) * scale {
                            sum += dy[oy * out_w + ox];
                        }
                    }
                }
                dx[iy * in_w + ix] = sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_weights_are_pytorchs() {
        // torch.nn.Upsample(scale_factor=2, mode="bilinear") on [1, 2, 3] along one axis gives
        // [1, 1.25, 1.75, 2.25, 2.75, 3].
        let x = [1.0, 2.0, 3.0];
        let row: Vec<f32> = (0..6)
            .map(|o| (0..3).map(|i| bilinear_weight(o, i, 2, 3) * x[i]).sum())
            .collect();
        assert_eq!(row, [1.0, 1.25, 1.75, 2.25, 2.75, 3.0]);
        // Each output's weights sum to one.
        for o in 0..9 {
            let total: f32 = (0..4).map(|i| bilinear_weight(o, i, 3, 4)).sum();
            assert!((total - 1.0).abs() < 1e-6, "{o}: {total}");
        }
    }
}
