//! Scaled dot-product self-attention per head, and its gradient, as `nn.MultiheadAttention`
//! computes them between its input and output projections: `softmax(q·kᵀ/√d)·v`, with steps
//! after the query's masked out when causal.

use crate::compile::Attention;

/// Where step `i`'s query (part 0), key (1) or value (2) of head `h` starts in `qkv`.
fn at(a: &Attention, row: usize, i: usize, part: usize, h: usize) -> usize {
    (row * a.steps + i) * 3 * a.width + part * a.width + h * a.head_dim()
}

/// The keys step `i` attends to.
fn visible(a: &Attention, i: usize) -> usize {
    if a.causal { i + 1 } else { a.steps }
}

fn dot(x: &[f32], y: &[f32]) -> f32 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

pub fn forward(a: &Attention, rows: usize, qkv: &[f32], probs: &mut [f32], out: &mut [f32]) {
    let (t, d) = (a.steps, a.head_dim());
    let scale = 1.0 / (d as f32).sqrt();
    for row in 0..rows {
        for h in 0..a.heads {
            for i in 0..t {
                let q = &qkv[at(a, row, i, 0, h)..][..d];
                let p = &mut probs[((row * a.heads + h) * t + i) * t..][..t];
                let n = visible(a, i);
                for (j, pj) in p[..n].iter_mut().enumerate() {
                    *pj = dot(q, &qkv[at(a, row, j, 1, h)..][..d]) * scale;
                }
                let max = p[..n].iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for pj in &mut p[..n] {
                    *pj = (*pj - max).exp();
                    sum += *pj;
                }
                p[..n].iter_mut().for_each(|pj| *pj /= sum);
                p[n..].fill(0.0);
                let o = &mut out[(row * t + i) * a.width + h * d..][..d];
                o.fill(0.0);
                for (j, &pj) in p[..n].iter().enumerate() {
                    let v = &qkv[at(a, row, j, 2, h)..][..d];
                    o.iter_mut().zip(v).for_each(|(o, &v)| *o += pj * v);
                }
            }
        }
    }
}

pub fn backward(
    a: &Attention,
    rows: usize,
    qkv: &[f32],
    probs: &[f32],
    dy: &[f32],
    dqkv: &mut [f32],
    ds: &mut [f32],
) {
    let (t, d) = (a.steps, a.head_dim());
    let scale = 1.0 / (d as f32).sqrt();
    dqkv[..rows * t * 3 * a.width].fill(0.0);
    for row in 0..rows {
        for h in 0..a.heads {
            for i in 0..t {
                let p = &probs[((row * a.heads + h) * t + i) * t..][..t];
                let g = &dy[(row * t + i) * a.width + h * d..][..d];
                let n = visible(a, i);
                // dP = dy·vᵀ, then through the softmax: dS = P ⊙ (dP − Σ P ⊙ dP).
                for (j, s) in ds[..n].iter_mut().enumerate() {
                    *s = dot(g, &qkv[at(a, row, j, 2, h)..][..d]);
                }
                let mean: f32 = p[..n].iter().zip(&ds[..n]).map(|(p, s)| p * s).sum();
                for j in 0..n {
                    ds[j] = p[j] * (ds[j] - mean) * scale;
                    let (pj, sj) = (p[j], ds[j]);
                    // dV_j += p_ij·dy_i; dK_j += dS_ij·q_i; dQ_i += dS_ij·k_j.
                    for c in 0..d {
                        dqkv[at(a, row, j, 2, h) + c] += pj * g[c];
                        dqkv[at(a, row, j, 1, h) + c] += sj * qkv[at(a, row, i, 0, h) + c];
                        dqkv[at(a, row, i, 0, h) + c] += sj * qkv[at(a, row, j, 1, h) + c];
                    }
                }
            }
        }
    }
}
