//! Convolution (im2col + GEMM) and pooling over NCHW images.

use super::matmul::{View, matmul};
use crate::compile::Window;

/// Rows of the column matrix: one per (channel, kernel row, kernel column).
pub fn patch_len(w: &Window) -> usize {
    w.channels * w.kernel_h * w.kernel_w
}

/// Unfolds one image `[C, H, W]` into `cols [C·kh·kw, oh·ow]`, zero where the window hangs over
/// the padding.
fn im2col(w: &Window, image: &[f32], cols: &mut [f32]) {
    let plane = w.out_plane();
    for c in 0..w.channels {
        for ki in 0..w.kernel_h {
            for kj in 0..w.kernel_w {
                let row = &mut cols[((c * w.kernel_h + ki) * w.kernel_w + kj) * plane..][..plane];
                for oy in 0..w.out_h {
                    let iy = (oy * w.stride + ki) as isize - w.padding as isize;
                    let dst = &mut row[oy * w.out_w..(oy + 1) * w.out_w];
                    if iy < 0 || iy >= w.in_h as isize {
                        dst.fill(0.0);
                        continue;
                    }
                    let src = &image[c * w.in_plane() + iy as usize * w.in_w..][..w.in_w];
                    for (ox, d) in dst.iter_mut().enumerate() {
                        let ix = (ox * w.stride + kj) as isize - w.padding as isize;
                        *d = if ix >= 0 && ix < w.in_w as isize {
                            src[ix as usize]
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
    }
}

/// Folds `cols` back onto an image, adding overlapping contributions.
fn col2im(w: &Window, cols: &[f32], image: &mut [f32]) {
    let plane = w.out_plane();
    image.fill(0.0);
    for c in 0..w.channels {
        for ki in 0..w.kernel_h {
            for kj in 0..w.kernel_w {
                let row = &cols[((c * w.kernel_h + ki) * w.kernel_w + kj) * plane..][..plane];
                for oy in 0..w.out_h {
                    let iy = (oy * w.stride + ki) as isize - w.padding as isize;
                    if iy < 0 || iy >= w.in_h as isize {
                        continue;
                    }
                    let dst = &mut image[c * w.in_plane() + iy as usize * w.in_w..][..w.in_w];
                    for ox in 0..w.out_w {
                        let ix = (ox * w.stride + kj) as isize - w.padding as isize;
                        if ix >= 0 && ix < w.in_w as isize {
                            dst[ix as usize] += row[oy * w.out_w + ox];
                        }
                    }
                }
            }
        }
    }
}

pub struct ConvArgs<'a> {
    pub window: &'a Window,
    pub filters: usize,
    pub rows: usize,
    pub threads: usize,
}

pub fn conv2d(a: &ConvArgs, x: &[f32], weight: &[f32], out: &mut [f32], cols: &mut [f32]) {
    let w = a.window;
    let (k, plane) = (patch_len(w), w.out_plane());
    let wv = View {
        data: weight,
        cols: k,
        transposed: false,
    };
    for n in 0..a.rows {
        im2col(w, &x[n * w.channels * w.in_plane()..], cols);
        let cv = View {
            data: cols,
            cols: plane,
            transposed: false,
        };
        matmul(
            &mut out[n * a.filters * plane..][..a.filters * plane],
            wv,
            cv,
            (a.filters, plane, k),
            false,
            a.threads,
        );
    }
}

pub fn conv2d_backward_input(
    a: &ConvArgs,
    dy: &[f32],
    weight: &[f32],
    dx: &mut [f32],
    cols: &mut [f32],
) {
    let w = a.window;
    let (k, plane, image) = (patch_len(w), w.out_plane(), w.channels * w.in_plane());
    let wt = View {
        data: weight,
        cols: k,
        transposed: true,
    };
    for n in 0..a.rows {
        let dyv = View {
            data: &dy[n * a.filters * plane..],
            cols: plane,
            transposed: false,
        };
        matmul(cols, wt, dyv, (k, plane, a.filters), false, a.threads);
        col2im(w, cols, &mut dx[n * image..][..image]);
    }
}

pub fn conv2d_backward_weight(
    a: &ConvArgs,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    cols: &mut [f32],
) {
    let w = a.window;
    let (k, plane) = (patch_len(w), w.out_plane());
    for n in 0..a.rows {
        im2col(w, &x[n * w.channels * w.in_plane()..], cols);
        let dyv = View {
            data: &dy[n * a.filters * plane..],
            cols: plane,
            transposed: false,
        };
        let ct = View {
            data: cols,
            cols: plane,
            transposed: true,
        };
        matmul(dw, dyv, ct, (a.filters, k, plane), n > 0, a.threads);
    }
    if a.rows == 0 {
        dw.fill(0.0);
    }
}

/// Calls `visit(out_index, in_index_within_plane)` for every (output, window element) pair of
/// one plane.
fn for_each_window(w: &Window, mut visit: impl FnMut(usize, usize)) {
    for oy in 0..w.out_h {
        for ox in 0..w.out_w {
            for ki in 0..w.kernel_h {
                for kj in 0..w.kernel_w {
                    let (iy, ix) = (oy * w.stride + ki, ox * w.stride + kj);
                    visit(oy * w.out_w + ox, iy * w.in_w + ix);
                }
            }
        }
    }
}

pub fn max_pool(
    w: &Window,
    rows: usize,
    x: &[f32],
    out: &mut [f32],
    mut argmax: Option<&mut [i32]>,
) {
    let (ip, op) = (w.in_plane(), w.out_plane());
    for plane in 0..rows * w.channels {
        let src = &x[plane * ip..][..ip];
        let dst = &mut out[plane * op..][..op];
        dst.fill(f32::NEG_INFINITY);
        let mut am = argmax.as_deref_mut().map(|a| &mut a[plane * op..][..op]);
        for_each_window(w, |o, i| {
            // Strictly greater keeps the first maximum, as PyTorch does; NaN wins so it propagates.
            if src[i] > dst[o] || src[i].is_nan() {
                dst[o] = src[i];
                if let Some(am) = am.as_deref_mut() {
                    am[o] = i as i32;
                }
            }
        });
    }
}

pub fn max_pool_backward(w: &Window, rows: usize, dy: &[f32], argmax: &[i32], dx: &mut [f32]) {
    let (ip, op) = (w.in_plane(), w.out_plane());
    dx.fill(0.0);
    for plane in 0..rows * w.channels {
        for o in 0..op {
            dx[plane * ip + argmax[plane * op + o] as usize] += dy[plane * op + o];
        }
    }
}

pub fn avg_pool(w: &Window, rows: usize, x: &[f32], out: &mut [f32]) {
    let (ip, op) = (w.in_plane(), w.out_plane());
    let scale = 1.0 / (w.kernel_h * w.kernel_w) as f32;
    for plane in 0..rows * w.channels {
        let src = &x[plane * ip..][..ip];
        let dst = &mut out[plane * op..][..op];
        dst.fill(0.0);
        for_each_window(w, |o, i| dst[o] += src[i]);
        dst.iter_mut().for_each(|v| *v *= scale);
    }
}

pub fn avg_pool_backward(w: &Window, rows: usize, dy: &[f32], dx: &mut [f32]) {
    let (ip, op) = (w.in_plane(), w.out_plane());
    let scale = 1.0 / (w.kernel_h * w.kernel_w) as f32;
    dx.fill(0.0);
    for plane in 0..rows * w.channels {
        let g = &dy[plane * op..][..op];
        let dst = &mut dx[plane * ip..][..ip];
        for_each_window(w, |o, i| dst[i] += g[o] * scale);
    }
}
