//! Batch and layer normalisation, forward and backward. Sums run in f64: a channel may gather
//! hundreds of thousands of values.

use super::simd::best_isa;

pub struct BatchNormShape {
    pub rows: usize,
    pub channels: usize,
    pub inner: usize,
}

impl BatchNormShape {
    /// Calls `f(offset)` for the start of every `inner`-long run of channel `c`.
    fn runs(&self, c: usize, mut f: impl FnMut(usize)) {
        for n in 0..self.rows {
            f((n * self.channels + c) * self.inner);
        }
    }

    fn count(&self) -> usize {
        self.rows * self.inner
    }
}

pub struct BatchNormState<'a> {
    pub mean: &'a mut [f32],
    pub inv_std: &'a mut [f32],
    pub running_mean: &'a mut [f32],
    pub running_var: &'a mut [f32],
}

#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train(
    s: &BatchNormShape,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    out: &mut [f32],
    state: BatchNormState,
    momentum: f32,
    epsilon: f32,
) {
    let count = s.count() as f64;
    for c in 0..s.channels {
        let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
        s.runs(c, |o| {
            for &v in &x[o..o + s.inner] {
                sum += v as f64;
                sum_sq += v as f64 * v as f64;
            }
        });
        let mean = sum / count;
        let var = (sum_sq / count - mean * mean).max(0.0);
        let inv_std = 1.0 / (var + epsilon as f64).sqrt();
        state.mean[c] = mean as f32;
        state.inv_std[c] = inv_std as f32;
        let unbiased = if count > 1.0 {
            var * count / (count - 1.0)
        } else {
            var
        };
        state.running_mean[c] = (1.0 - momentum) * state.running_mean[c] + momentum * mean as f32;
        state.running_var[c] = (1.0 - momentum) * state.running_var[c] + momentum * unbiased as f32;
        let (scale, shift) = ((gamma[c] as f64 * inv_std) as f32, beta[c]);
        let mean = mean as f32;
        s.runs(c, |o| {
            for (y, &v) in out[o..o + s.inner].iter_mut().zip(&x[o..o + s.inner]) {
                *y = (v - mean) * scale + shift;
            }
        });
    }
}

#[allow(clippy::too_many_arguments)]
pub fn batch_norm_eval(
    s: &BatchNormShape,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    out: &mut [f32],
    running_mean: &[f32],
    running_var: &[f32],
    epsilon: f32,
) {
    for c in 0..s.channels {
        let scale = gamma[c] / (running_var[c] + epsilon).sqrt();
        let (mean, shift) = (running_mean[c], beta[c]);
        s.runs(c, |o| {
            for (y, &v) in out[o..o + s.inner].iter_mut().zip(&x[o..o + s.inner]) {
                *y = (v - mean) * scale + shift;
            }
        });
    }
}

pub struct NormGrads<'a> {
    pub dx: &'a mut [f32],
    pub dgamma: &'a mut [f32],
    pub dbeta: &'a mut [f32],
}

#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    s: &BatchNormShape,
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    dy: &[f32],
    g: NormGrads,
) {
    let count = s.count() as f32;
    for c in 0..s.channels {
        let (m, is) = (mean[c], inv_std[c]);
        let (mut sum_dy, mut sum_dy_xhat) = (0.0f64, 0.0f64);
        s.runs(c, |o| {
            for (&v, &d) in x[o..o + s.inner].iter().zip(&dy[o..o + s.inner]) {
                sum_dy += d as f64;
                sum_dy_xhat += d as f64 * ((v - m) * is) as f64;
            }
        });
        g.dbeta[c] = sum_dy as f32;
        g.dgamma[c] = sum_dy_xhat as f32;
        let k = gamma[c] * is / count;
        let (sd, sdx) = (sum_dy as f32, sum_dy_xhat as f32);
        s.runs(c, |o| {
            for i in o..o + s.inner {
                let xhat = (x[i] - m) * is;
                g.dx[i] = k * (count * dy[i] - sd - xhat * sdx);
            }
        });
    }
}

/// Σ f(a[j], b[j], c[j]) in eight lanes, so that the loop vectorises (a row of layer
/// normalisation is short: f32 is exact enough, as it is for PyTorch).
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8, c8) = (a.chunks_exact(8), b.chunks_exact(8), c.chunks_exact(8));
    let rest = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .zip(c8.remainder());
    let rest: f32 = rest.map(|((&a, &b), &c)| f(a, b, c)).sum();
    for ((a, b), c) in a8.zip(b8).zip(c8) {
        for l in 0..8 {
            lanes[l] += f(a[l], b[l], c[l]);
        }
    }
    lanes.iter().sum::<f32>() + rest
}

best_isa! {
/// Normalises each row of `width` values of `x` (rows of `out`, `mean` and `inv_std` alike).
#[allow(clippy::too_many_arguments)]
pub fn layer_norm(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    out: &mut [f32],
    mean: &mut [f32],
    inv_std: &mut [f32],
    width: usize,
    epsilon: f32,
) {
    for (r, (row, o)) in x
        .chunks_exact(width)
        .zip(out.chunks_exact_mut(width))
        .enumerate()
    {
        let w = width as f32;
        let m = lane_sum(row, row, row, |v, _, _| v) / w;
        let var = lane_sum(row, row, row, |v, _, _| (v - m) * (v - m)) / w;
        let is = 1.0 / (var + epsilon).sqrt();
        mean[r] = m;
        inv_std[r] = is;
        for j in 0..width {
            o[j] = (row[j] - m) * is * gamma[j] + beta[j];
        }
    }
}
}

best_isa! {
/// The input's gradient of `layer_norm`, for the rows of `dx`.
pub fn layer_norm_backward(
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    width: usize,
) {
    let w = width as f32;
    for (r, dxr) in dx.chunks_exact_mut(width).enumerate() {
        let (m, is) = (mean[r], inv_std[r]);
        let (xr, dyr) = (&x[r * width..][..width], &dy[r * width..][..width]);
        let gamma = &gamma[..width];
        let sum_g = lane_sum(dyr, gamma, xr, |dy, g, _| dy * g);
        let sum_g_xhat = lane_sum(dyr, gamma, xr, |dy, g, x| dy * g * (x - m) * is);
        for j in 0..width {
            let xhat = (xr[j] - m) * is;
            dxr[j] = is / w * (w * dyr[j] * gamma[j] - sum_g - xhat * sum_g_xhat);
        }
    }
}
}

best_isa! {
/// The gradients of `layer_norm`'s `gamma` and `beta` for columns `first..` (as many as
/// `dgamma` holds), summed over the rows in order; `shape` is (rows, width, first).
pub fn layer_norm_param_grads(
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    dy: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    shape: (usize, usize, usize),
) {
    let (rows, width, first) = shape;
    dgamma.fill(0.0);
    dbeta.fill(0.0);
    let columns = dgamma.len();
    for r in 0..rows {
        let (m, is) = (mean[r], inv_std[r]);
        let at = r * width + first;
        let (xr, dyr) = (&x[at..at + columns], &dy[at..at + columns]);
        for j in 0..columns {
            dgamma[j] += dyr[j] * (xr[j] - m) * is;
            dbeta[j] += dyr[j];
        }
    }
}
}
