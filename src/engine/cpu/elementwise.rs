//! Element-wise and row-wise kernels: activations, softmax, bias, sums, concatenation.

use super::fast_math::{exp, sigmoid, tanh};
use super::simd::best_isa;
use crate::compile::UnaryFn;

/// erf by Abramowitz & Stegun 7.1.26 (max error 1.5e-7, below f32's resolution at 1).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-x * x);
    if x < 0.0 { -y } else { y }
}

const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// 1/√(2π)
const INV_SQRT_TAU: f32 = 0.398_942_3;

best_isa! {
pub fn unary(f: UnaryFn, x: &[f32], out: &mut [f32]) {
    let pairs = out.iter_mut().zip(x);
    match f {
        UnaryFn::Relu => pairs.for_each(|(o, &v)| *o = v.max(0.0)),
        UnaryFn::LeakyRelu(s) => pairs.for_each(|(o, &v)| *o = if v > 0.0 { v } else { s * v }),
        UnaryFn::Elu(a) => pairs.for_each(|(o, &v)| *o = if v > 0.0 { v } else { a * v.exp_m1() }),
        UnaryFn::Sigmoid => pairs.for_each(|(o, &v)| *o = sigmoid(v)),
        UnaryFn::Tanh => pairs.for_each(|(o, &v)| *o = tanh(v)),
        UnaryFn::Gelu => pairs.for_each(|(o, &v)| *o = 0.5 * v * (1.0 + erf(v * FRAC_1_SQRT_2))),
    }
}
}

best_isa! {
pub fn unary_backward(f: UnaryFn, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n = dx.len();
    let (x, y, dy) = (&x[..n], &y[..n], &dy[..n]);
    // One loop per function (not a match per element) so each can vectorise.
    match f {
        // Both sides are computed and one is selected: no branch to mispredict, and it vectorises.
        UnaryFn::Relu => {
            for i in 0..n {
                let g = dy[i];
                dx[i] = if x[i] > 0.0 { g } else { 0.0 };
            }
        }
        UnaryFn::LeakyRelu(s) => {
            for i in 0..n {
                let g = dy[i];
                dx[i] = if x[i] > 0.0 { g } else { s * g };
            }
        }
        UnaryFn::Elu(a) => {
            for i in 0..n {
                let (g, yv) = (dy[i], y[i]);
                dx[i] = if x[i] > 0.0 { g } else { (yv + a) * g };
            }
        }
        UnaryFn::Sigmoid => {
            for i in 0..n {
                dx[i] = y[i] * (1.0 - y[i]) * dy[i];
            }
        }
        UnaryFn::Tanh => {
            for i in 0..n {
                dx[i] = (1.0 - y[i] * y[i]) * dy[i];
            }
        }
        UnaryFn::Gelu => {
            for i in 0..n {
                let xv = x[i];
                let slope = 0.5 * (1.0 + erf(xv * FRAC_1_SQRT_2))
                    + xv * INV_SQRT_TAU * exp(-0.5 * xv * xv);
                dx[i] = slope * dy[i];
            }
        }
    }
}
}

pub fn softmax(x: &[f32], out: &mut [f32], width: usize) {
    for (row, o) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for (oj, &xj) in o.iter_mut().zip(row) {
            *oj = exp(xj - max);
            sum += *oj;
        }
        let inv = 1.0 / sum;
        o.iter_mut().for_each(|v| *v *= inv);
    }
}

pub fn softmax_backward(y: &[f32], dy: &[f32], dx: &mut [f32], width: usize) {
    for ((yr, dyr), dxr) in y
        .chunks_exact(width)
        .zip(dy.chunks_exact(width))
        .zip(dx.chunks_exact_mut(width))
    {
        let dot: f32 = yr.iter().zip(dyr).map(|(a, b)| a * b).sum();
        for ((d, &yv), &g) in dxr.iter_mut().zip(yr).zip(dyr) {
            *d = yv * (g - dot);
        }
    }
}

/// Sum with eight independent accumulators, so the loop vectorises (a single running sum
/// cannot be reordered).
pub fn sum(xs: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// Sum of squares, as `sum`.
pub fn sum_sq(xs: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().map(|v| v * v).sum();
    for chunk in chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += v * v;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// `x` and `out` viewed as `[outer, channels, inner]`.
pub fn bias_add(x: &[f32], bias: &[f32], out: &mut [f32], channels: usize, inner: usize) {
    for (xs, os) in x
        .chunks_exact(channels * inner)
        .zip(out.chunks_exact_mut(channels * inner))
    {
        if inner == 1 {
            for ((o, &v), &b) in os.iter_mut().zip(xs).zip(bias) {
                *o = v + b;
            }
            continue;
        }
        for (c, &b) in bias.iter().enumerate().take(channels) {
            let range = c * inner..(c + 1) * inner;
            for (o, &v) in os[range.clone()].iter_mut().zip(&xs[range]) {
                *o = v + b;
            }
        }
    }
}

/// The gradient of a bias over `[outer, channels, inner]` (the executor sums `inner == 1` by
/// `column_sums` on the pool instead).
pub fn bias_grad(dy: &[f32], out: &mut [f32], channels: usize, inner: usize) {
    out.fill(0.0);
    for block in dy.chunks_exact(channels * inner) {
        for (c, o) in out.iter_mut().enumerate() {
            *o += sum(&block[c * inner..(c + 1) * inner]);
        }
    }
}

/// `out[c] = Σ_rows dy[row, first + c]` over the rows of `dy` (`[rows, channels]`).
pub fn column_sums(dy: &[f32], out: &mut [f32], channels: usize, first: usize) {
    out.fill(0.0);
    for row in dy.chunks_exact(channels) {
        for (o, &g) in out.iter_mut().zip(&row[first..]) {
            *o += g;
        }
    }
}

pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x + y;
    }
}

pub fn sub(a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x - y;
    }
}

pub fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x * y;
    }
}

/// Copies block `[start, start + width)` of every `[total, inner]` row of `whole` to or from `part`.
pub fn copy_blocks(
    whole_len: usize,
    total: usize,
    start: usize,
    width: usize,
    inner: usize,
    mut copy: impl FnMut(usize, usize, usize),
) {
    let outer = whole_len / (total * inner);
    for o in 0..outer {
        copy(
            o * total * inner + start * inner,
            o * width * inner,
            width * inner,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, expected) in [
            (0.0f32, 0.0f32),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (2.0, 0.995_322_3),
            (-1.0, -0.842_700_8),
        ] {
            assert!((erf(x) - expected).abs() < 3e-7, "erf({x}) = {}", erf(x));
        }
    }
}
