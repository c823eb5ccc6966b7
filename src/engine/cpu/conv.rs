//! Convolution (im2col + GEMM) and pooling over NCHW images.

use std::ops::Range;
use std::sync::PoisonError;

use super::disjoint::Disjoint;
use super::gemm::View;
use super::workers::{Workers, for_samples};
use crate::compile::Window;

/// Rows of the column matrix: one per (channel, kernel row, kernel column).
pub fn patch_len(w: &Window) -> usize {
    w.channels * w.kernel_h * w.kernel_w
}

/// The output positions `o` whose input position `o * stride + offset` lies in `0..input`: the
/// window positions that do not hang over the padding along one axis.
fn inside(outputs: usize, input: usize, stride: usize, offset: isize) -> Range<usize> {
    let first = if offset >= 0 {
        0
    } else {
        offset.unsigned_abs().div_ceil(stride)
    };
    let last_input = input as isize - 1 - offset;
    let end = if last_input < 0 {
        0
    } else {
        last_input as usize / stride + 1
    };
    let (first, end) = (first.min(outputs), end.min(outputs));
    first..end.max(first)
}

/// Calls `row(c, ki, kj, ys, xs, iy0, ix0)` for every kernel position: `ys` and `xs` are the
/// output rows and columns whose inputs lie inside the image, and the input position of output
/// (oy, ox) is (oy·stride + iy0, ox·stride + ix0).
fn for_each_kernel_position(
    w: &Window,
    mut row: impl FnMut(usize, Range<usize>, Range<usize>, isize, isize),
) {
    let pad = w.padding as isize;
    for c in 0..w.channels {
        for ki in 0..w.kernel_h {
            let iy0 = ki as isize - pad;
            let ys = inside(w.out_h, w.in_h, w.stride, iy0);
            for kj in 0..w.kernel_w {
                let ix0 = kj as isize - pad;
                let xs = inside(w.out_w, w.in_w, w.stride, ix0);
                row(
                    (c * w.kernel_h + ki) * w.kernel_w + kj,
                    ys.clone(),
                    xs,
                    iy0,
                    ix0,
                );
            }
        }
    }
}

/// Unfolds one image `[C, H, W]` into `cols [C·kh·kw, oh·ow]`, zero where the window hangs over
/// the padding.
fn im2col(w: &Window, image: &[f32], cols: &mut [f32]) {
    let plane = w.out_plane();
    let channel_of = |r: usize| r / (w.kernel_h * w.kernel_w);
    for_each_kernel_position(w, |r, ys, xs, iy0, ix0| {
        let dst_rows = &mut cols[r * plane..][..plane];
        dst_rows[..ys.start * w.out_w].fill(0.0);
        dst_rows[ys.end * w.out_w..].fill(0.0);
        let src_plane = &image[channel_of(r) * w.in_plane()..][..w.in_plane()];
        for oy in ys {
            let src = &src_plane[(oy * w.stride).wrapping_add_signed(iy0) * w.in_w..][..w.in_w];
            let dst = &mut dst_rows[oy * w.out_w..][..w.out_w];
            dst[..xs.start].fill(0.0);
            dst[xs.end..].fill(0.0);
            let first = (xs.start * w.stride).wrapping_add_signed(ix0);
            if w.stride == 1 {
                dst[xs.clone()].copy_from_slice(&src[first..first + xs.len()]);
            } else {
                for (d, &v) in dst[xs.clone()]
                    .iter_mut()
                    .zip(src[first..].iter().step_by(w.stride))
                {
                    *d = v;
                }
            }
        }
    });
}

/// Folds `cols` back onto an image, adding overlapping contributions.
fn col2im(w: &Window, cols: &[f32], image: &mut [f32]) {
    let plane = w.out_plane();
    image.fill(0.0);
    let channel_of = |r: usize| r / (w.kernel_h * w.kernel_w);
    for_each_kernel_position(w, |r, ys, xs, iy0, ix0| {
        let src_rows = &cols[r * plane..][..plane];
        let dst_plane = &mut image[channel_of(r) * w.in_plane()..][..w.in_plane()];
        for oy in ys {
            let dst = &mut dst_plane[(oy * w.stride).wrapping_add_signed(iy0) * w.in_w..][..w.in_w];
            let src = &src_rows[oy * w.out_w..][..w.out_w];
            let first = (xs.start * w.stride).wrapping_add_signed(ix0);
            if w.stride == 1 {
                for (d, &v) in dst[first..first + xs.len()]
                    .iter_mut()
                    .zip(&src[xs.clone()])
                {
                    *d += v;
                }
            } else {
                for (d, &v) in dst[first..]
                    .iter_mut()
                    .step_by(w.stride)
                    .zip(&src[xs.clone()])
                {
                    *d += v;
                }
            }
        }
    });
}

pub struct ConvArgs<'a> {
    pub window: &'a Window,
    pub filters: usize,
    pub rows: usize,
}

pub fn conv2d(a: &ConvArgs, workers: &Workers, x: &[f32], weight: &[f32], out: &mut [f32]) {
    let w = a.window;
    let (k, plane, image) = (patch_len(w), w.out_plane(), w.channels * w.in_plane());
    let per_sample = a.filters * plane;
    let out = Disjoint::new(&mut out[..a.rows * per_sample]);
    for_samples(workers, a.rows, |s, samples| {
        for n in samples {
            im2col(w, &x[n * image..], &mut s.sample);
            let wv = View {
                data: weight,
                cols: k,
                transposed: false,
            };
            let cv = View {
                data: &s.sample,
                cols: plane,
                transposed: false,
            };
            // SAFETY: sample ranges of different threads are disjoint.
            let dst = unsafe { out.part(n * per_sample..(n + 1) * per_sample) };
            s.gemm.matmul(dst, wv, cv, (a.filters, plane, k), false);
        }
    });
}

pub fn conv2d_backward_input(
    a: &ConvArgs,
    workers: &Workers,
    dy: &[f32],
    weight: &[f32],
    dx: &mut [f32],
) {
    let w = a.window;
    let (k, plane, image) = (patch_len(w), w.out_plane(), w.channels * w.in_plane());
    let dx = Disjoint::new(&mut dx[..a.rows * image]);
    for_samples(workers, a.rows, |s, samples| {
        for n in samples {
            let wt = View {
                data: weight,
                cols: k,
                transposed: true,
            };
            let dyv = View {
                data: &dy[n * a.filters * plane..],
                cols: plane,
                transposed: false,
            };
            s.gemm
                .matmul(&mut s.sample, wt, dyv, (k, plane, a.filters), false);
            // SAFETY: sample ranges of different threads are disjoint.
            col2im(w, &s.sample, unsafe { dx.part(n * image..(n + 1) * image) });
        }
    });
}

pub fn conv2d_backward_weight(
    a: &ConvArgs,
    workers: &Workers,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
) {
    let w = a.window;
    let (k, plane, image) = (patch_len(w), w.out_plane(), w.channels * w.in_plane());
    let len = a.filters * k;
    // The samples are cut into the same chunks whatever the thread count; each chunk's sum goes
    // to its own accumulator and the chunks are added in order, so one thread and sixteen give
    // the same bits.
    let chunks = a.rows.clamp(1, WEIGHT_GRAD_CHUNKS);
    let threads = workers.pool.threads().min(workers.scratch.len()).max(1);
    let per_thread = chunks.div_ceil(threads);
    let chunk_rows = |c: usize| c * a.rows / chunks..(c + 1) * a.rows / chunks;
    workers.pool.run(&|t| {
        if t >= threads {
            return;
        }
        let mut s = workers.scratch[t]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let s = &mut *s;
        for (slot, c) in (t * per_thread..((t + 1) * per_thread).min(chunks)).enumerate() {
            let acc = &mut s.dw[slot * len..(slot + 1) * len];
            acc.fill(0.0);
            for n in chunk_rows(c) {
                im2col(w, &x[n * image..], &mut s.sample);
                let dyv = View {
                    data: &dy[n * a.filters * plane..],
                    cols: plane,
                    transposed: false,
                };
                let ct = View {
                    data: &s.sample,
                    cols: plane,
                    transposed: true,
                };
                s.gemm.matmul(acc, dyv, ct, (a.filters, k, plane), true);
            }
        }
    });
    dw[..len].fill(0.0);
    for c in 0..chunks {
        let (t, slot) = (c / per_thread, c % per_thread);
        let partial = workers.scratch[t]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (d, p) in dw[..len].iter_mut().zip(&partial.dw[slot * len..]) {
            *d += p;
        }
    }
}

/// The fixed number of sample chunks a convolution's weight gradient is summed in (fewer for a
/// smaller batch); each thread keeps an accumulator for each of its chunks.
pub const WEIGHT_GRAD_CHUNKS: usize = 16;

/// Accumulators a thread needs for the weight-gradient chunks when `threads` share them.
pub fn weight_grad_slots(threads: usize) -> usize {
    WEIGHT_GRAD_CHUNKS.div_ceil(threads.max(1))
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

/// Takes `v` (at `index`) over the running maximum when strictly greater, as PyTorch keeps the
/// first maximum, or NaN, so that it propagates. Bit masks, not a branch: the comparison is a
/// coin flip the branch predictor loses half the time.
#[inline(always)]
fn keep_max((best, at): (f32, u32), v: f32, index: u32) -> (f32, u32) {
    let mask = 0u32.wrapping_sub(u32::from((v > best) | v.is_nan()));
    (
        f32::from_bits((v.to_bits() & mask) | (best.to_bits() & !mask)),
        (index & mask) | (at & !mask),
    )
}

/// `max_pool` with the batch split across the pool's threads.
pub fn max_pool_batch(
    workers: &Workers,
    w: &Window,
    rows: usize,
    x: &[f32],
    out: &mut [f32],
    argmax: Option<&mut [f32]>,
) {
    let (per_in, per_out) = (w.channels * w.in_plane(), w.channels * w.out_plane());
    let out = Disjoint::new(&mut out[..rows * per_out]);
    let argmax = argmax.map(|a| Disjoint::new(&mut a[..rows * per_out]));
    for_samples(workers, rows, |_, samples| {
        let outputs = samples.start * per_out..samples.end * per_out;
        // SAFETY: sample ranges of different threads are disjoint.
        let dst = unsafe { out.part(outputs.clone()) };
        // SAFETY: as above.
        let am = argmax.as_ref().map(|a| unsafe { a.part(outputs) });
        // Argmax indices live in 4-byte slots of f32 storage, as on a GPU.
        let am = am.map(bytemuck::cast_slice_mut::<f32, i32>);
        max_pool(
            w,
            samples.len(),
            &x[samples.start * per_in..samples.end * per_in],
            dst,
            am,
        );
    });
}

fn max_pool(w: &Window, rows: usize, x: &[f32], out: &mut [f32], mut argmax: Option<&mut [i32]>) {
    let (ip, op) = (w.in_plane(), w.out_plane());
    let (in_w, out_w, stride) = (w.in_w, w.out_w, w.stride);
    for plane in 0..rows * w.channels {
        let src = &x[plane * ip..][..ip];
        let dst = &mut out[plane * op..][..op];
        let mut am = argmax.as_deref_mut().map(|a| &mut a[plane * op..][..op]);
        for oy in 0..w.out_h {
            for ox in 0..out_w {
                let first = oy * stride * in_w + ox * stride;
                let mut best = (f32::NEG_INFINITY, first as u32);
                if w.kernel_h == 2 && w.kernel_w == 2 {
                    // The common 2x2 window, unrolled.
                    let (top, bottom) =
                        (&src[first..first + 2], &src[first + in_w..first + in_w + 2]);
                    best = keep_max(best, top[0], first as u32);
                    best = keep_max(best, top[1], first as u32 + 1);
                    best = keep_max(best, bottom[0], (first + in_w) as u32);
                    best = keep_max(best, bottom[1], (first + in_w) as u32 + 1);
                } else {
                    for ki in 0..w.kernel_h {
                        let row = first + ki * in_w;
                        for (kj, &v) in src[row..row + w.kernel_w].iter().enumerate() {
                            best = keep_max(best, v, (row + kj) as u32);
                        }
                    }
                }
                dst[oy * out_w + ox] = best.0;
                if let Some(am) = am.as_deref_mut() {
                    am[oy * out_w + ox] = best.1 as i32;
                }
            }
        }
    }
}

pub fn max_pool_backward(w: &Window, rows: usize, dy: &[f32], argmax: &[i32], dx: &mut [f32]) {
    let (ip, op) = (w.in_plane(), w.out_plane());
    dx[..rows * w.channels * ip].fill(0.0);
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
