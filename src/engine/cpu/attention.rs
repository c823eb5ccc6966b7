//! Scaled dot-product self-attention per head, and its gradient, as `nn.MultiheadAttention`
//! computes them between its input and output projections: `softmax(q·kᵀ/√d)·v`, with steps
//! after the query's masked out when causal.
//!
//! Each (sample, head) is a handful of small matrix products on one thread; the pool's threads
//! take different heads. Queries, keys and values are read in place from the projection (a
//! head's are every `3·width` values), and each head's result goes through one `[steps, d]`
//! buffer of the thread's scratch into its columns of the output.

use super::disjoint::Disjoint;
use super::fast_math::exp;
use super::gemm::View;
use super::workers::{Workers, for_samples};
use crate::compile::Attention;

/// Scratch values one (sample, head) needs on its thread: a `[steps, d]` result and, with
/// dropout, the dropped weights.
pub fn sample_len(a: &Attention) -> usize {
    a.steps * a.head_dim() + a.steps * a.steps
}

/// `p ⊙ mask` into `kept` when there is a mask, else `p` itself.
fn dropped<'a>(p: &'a [f32], mask: Option<&[f32]>, kept: &'a mut [f32]) -> &'a [f32] {
    let Some(mask) = mask else { return p };
    for ((k, &p), &m) in kept.iter_mut().zip(p).zip(mask) {
        *k = p * m;
    }
    kept
}

/// Part 0 (queries), 1 (keys) or 2 (values) of head `h` of sample `row`, as a `[steps, d]`
/// matrix (read transposed, it is `[d, steps]`).
fn head_of<'a>(
    a: &Attention,
    qkv: &'a [f32],
    row: usize,
    part: usize,
    h: usize,
    transposed: bool,
) -> View<'a> {
    View {
        data: &qkv[row * a.steps * 3 * a.width + part * a.width + h * a.head_dim()..],
        cols: 3 * a.width,
        transposed,
    }
}

/// A `[steps, steps]` matrix of one head.
fn square(data: &[f32], transposed: bool) -> View<'_> {
    View {
        data,
        cols: data.len().isqrt(),
        transposed,
    }
}

/// The keys step `i` attends to.
fn visible(a: &Attention, i: usize) -> usize {
    if a.causal { i + 1 } else { a.steps }
}

/// Copies a head's `[steps, d]` result into its columns of `dst` (rows `stride` apart, from
/// `start`).
fn scatter(result: &[f32], d: usize, dst: &Disjoint, start: usize, stride: usize) {
    for (i, values) in result.chunks_exact(d).enumerate() {
        let at = start + i * stride;
        // SAFETY: each (sample, head) writes only its own columns of its own rows.
        unsafe { dst.part(at..at + d) }.copy_from_slice(values);
    }
}

/// `mask`, when training with attention dropout, multiplies the weights that mix the values
/// (`probs` keeps them whole).
#[allow(clippy::too_many_arguments)]
pub fn forward(
    a: &Attention,
    workers: &Workers,
    rows: usize,
    qkv: &[f32],
    probs: &mut [f32],
    mask: Option<&[f32]>,
    out: &mut [f32],
) {
    let (t, d) = (a.steps, a.head_dim());
    let scale = 1.0 / (d as f32).sqrt();
    let (probs, out) = (Disjoint::new(probs), Disjoint::new(out));
    for_samples(workers, rows * a.heads, |w, items| {
        for item in items {
            let (row, h) = (item / a.heads, item % a.heads);
            // SAFETY: each item owns its [steps, steps] block of `probs`.
            let p = unsafe { probs.part(item * t * t..(item + 1) * t * t) };
            let (q, k_t) = (
                head_of(a, qkv, row, 0, h, false),
                head_of(a, qkv, row, 1, h, true),
            );
            w.gemm.matmul(p, q, k_t, (t, t, d), false);
            for (i, p) in p.chunks_exact_mut(t).enumerate() {
                softmax(&mut p[..visible(a, i)], scale);
                p[visible(a, i)..].fill(0.0);
            }
            let (result, kept) = w.sample.split_at_mut(t * d);
            let mask = mask.map(|m| &m[item * t * t..][..t * t]);
            let p = dropped(p, mask, &mut kept[..t * t]);
            let v = head_of(a, qkv, row, 2, h, false);
            w.gemm.matmul(result, square(p, false), v, (t, d, t), false);
            scatter(result, d, &out, row * t * a.width + h * d, a.width);
        }
    });
}

/// `p = softmax(scale · p)` in place.
fn softmax(p: &mut [f32], scale: f32) {
    let max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in p.iter_mut() {
        *v = exp((*v - max) * scale);
        sum += *v;
    }
    let inverse = 1.0 / sum;
    p.iter_mut().for_each(|v| *v *= inverse);
}

#[allow(clippy::too_many_arguments)]
pub fn backward(
    a: &Attention,
    workers: &Workers,
    rows: usize,
    qkv: &[f32],
    probs: &[f32],
    mask: Option<&[f32]>,
    dy: &[f32],
    dqkv: &mut [f32],
    ds: &mut [f32],
) {
    let (t, d, width) = (a.steps, a.head_dim(), a.width);
    let scale = 1.0 / (d as f32).sqrt();
    let (dqkv, ds) = (Disjoint::new(dqkv), Disjoint::new(ds));
    for_samples(workers, rows * a.heads, |w, items| {
        for item in items {
            let (row, h) = (item / a.heads, item % a.heads);
            let p = &probs[item * t * t..][..t * t];
            // SAFETY: each item owns its [steps, steps] block of the score gradients.
            let ds = unsafe { ds.part(item * t * t..(item + 1) * t * t) };
            let dout = View {
                data: &dy[row * t * width + h * d..],
                cols: width,
                transposed: false,
            };
            // dP = dy·vᵀ (through the dropout mask), then through the softmax:
            // dS = P ⊙ (dP − Σ P ⊙ dP), scaled.
            w.gemm
                .matmul(ds, dout, head_of(a, qkv, row, 2, h, true), (t, t, d), false);
            let mask = mask.map(|m| &m[item * t * t..][..t * t]);
            if let Some(mask) = mask {
                ds.iter_mut().zip(mask).for_each(|(s, m)| *s *= m);
            }
            for (ds, p) in ds.chunks_exact_mut(t).zip(p.chunks_exact(t)) {
                let mean: f32 = p.iter().zip(&*ds).map(|(p, s)| p * s).sum();
                for (s, p) in ds.iter_mut().zip(p) {
                    *s = p * (*s - mean) * scale;
                }
            }
            // dV = (P ⊙ mask)ᵀ·dy, dQ = dS·K, dK = dSᵀ·Q, each through the scratch into its
            // columns.
            let (result, kept) = w.sample.split_at_mut(t * d);
            let p = dropped(p, mask, &mut kept[..t * t]);
            let base = row * t * 3 * width + h * d;
            let products = [
                (square(p, true), dout, 2),
                (square(ds, false), head_of(a, qkv, row, 1, h, false), 0),
                (square(ds, true), head_of(a, qkv, row, 0, h, false), 1),
            ];
            for (left, right, to) in products {
                w.gemm.matmul(result, left, right, (t, d, t), false);
                scatter(result, d, &dqkv, base + to * width, 3 * width);
            }
        }
    });
}
