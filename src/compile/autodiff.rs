//! Reverse-mode autodiff at compile time: walking the forward ops backwards, each primitive emits
//! its vector-Jacobian product as more primitive ops. Gradients reaching a buffer along several
//! paths (fan-out) are summed. Only buffers that depend on a parameter get gradients.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::builder::Builder;
use super::program::{BufferId, Op};

/// Emits the backward pass of the forward ops in `forward` (which must end in one `Loss`) and
/// returns the gradient buffer of every parameter the loss depends on, and of those of `values`
/// that lie on a path from a parameter to the loss.
pub fn differentiate(
    b: &mut Builder,
    forward: Range<usize>,
    params: &[BufferId],
    values: &[BufferId],
) -> HashMap<BufferId, BufferId> {
    let mut needs: HashSet<BufferId> = params.iter().copied().collect();
    for step in &b.steps[forward.clone()] {
        if differentiable_inputs(&step.op)
            .iter()
            .any(|x| needs.contains(x))
        {
            needs.extend(step.op.writes());
        }
    }
    let mut grads = Gradients {
        of: HashMap::new(),
        needs,
    };
    for index in forward.rev() {
        let step = b.steps[index].clone();
        b.node = step.node;
        vjp(b, &step.op, &mut grads);
    }
    b.node = None;
    params
        .iter()
        .chain(values)
        .filter_map(|p| grads.of.get(p).map(|&g| (*p, g)))
        .collect()
}

struct Gradients {
    of: HashMap<BufferId, BufferId>,
    needs: HashSet<BufferId>,
}

impl Gradients {
    fn wants(&self, x: BufferId) -> bool {
        self.needs.contains(&x)
    }

    /// Adds `g` to the gradient of `x`, summing with what earlier consumers contributed.
    fn add(&mut self, b: &mut Builder, x: BufferId, g: BufferId) {
        let total = match self.of.get(&x) {
            None => g,
            Some(&previous) => {
                let out = b.like(format!("grad {}", b.name(x)), x);
                b.push(Op::Add {
                    a: previous,
                    b: g,
                    out,
                });
                out
            }
        };
        self.of.insert(x, total);
    }
}

fn differentiable_inputs(op: &Op) -> Vec<BufferId> {
    use Op::*;
    match op {
        MatMul { a, b, .. } | Add { a, b, .. } | Mul { a, b, .. } => vec![*a, *b],
        BiasAdd { x, bias, .. } => vec![*x, *bias],
        Unary { x, .. }
        | Softmax { x, .. }
        | Reshape { x, .. }
        | Slice { x, .. }
        | MaxPool2d { x, .. }
        | AvgPool2d { x, .. }
        | Upsample { x, .. } => vec![*x],
        Concat { inputs, .. } => inputs.clone(),
        Conv2d { x, w, .. } => vec![*x, *w],
        // A transposed convolution's forward op.
        Conv2dBackwardInput { dy, w, .. } => vec![*dy, *w],
        BatchNormTrain { x, gamma, beta, .. } | LayerNorm { x, gamma, beta, .. } => {
            vec![*x, *gamma, *beta]
        }
        Loss { pred, .. } => vec![*pred],
        Embedding { table, .. } => vec![*table],
        Attention { qkv, .. } => vec![*qkv],
        Recurrence { xw, w_hh, b_hh, .. } => vec![*xw, *w_hh, *b_hh],
        _ => vec![],
    }
}

/// A fresh gradient buffer shaped like `x`.
fn grad_like(b: &mut Builder, x: BufferId) -> BufferId {
    let name = format!("grad {}", b.name(x));
    b.like(name, x)
}

fn vjp(b: &mut Builder, op: &Op, g: &mut Gradients) {
    use Op::*;
    if let Loss {
        kind,
        pred,
        target,
        out,
        width,
        positions,
    } = *op
    {
        if g.wants(pred) {
            let dpred = grad_like(b, pred);
            b.push(LossBackward {
                kind,
                pred,
                target,
                loss: out,
                dpred,
                width,
                positions,
            });
            g.add(b, pred, dpred);
        }
        return;
    }
    let Some(out) = op.writes().first().copied() else {
        return;
    };
    let Some(&dy) = g.of.get(&out) else { return };
    match *op {
        MatMul {
            a,
            b: rhs,
            trans_a,
            trans_b,
            m,
            n,
            k,
            ..
        } => {
            // out = op(A)·op(B). dA = dY·op(B)ᵀ (transposed back if A was); dB likewise.
            if g.wants(a) {
                let da = grad_like(b, a);
                let product = if trans_a {
                    MatMul {
                        a: rhs,
                        b: dy,
                        out: da,
                        trans_a: trans_b,
                        trans_b: true,
                        m: k,
                        n: m,
                        k: n,
                    }
                } else {
                    MatMul {
                        a: dy,
                        b: rhs,
                        out: da,
                        trans_a: false,
                        trans_b: !trans_b,
                        m,
                        n: k,
                        k: n,
                    }
                };
                b.push(product);
                g.add(b, a, da);
            }
            if g.wants(rhs) {
                let db = grad_like(b, rhs);
                let product = if trans_b {
                    MatMul {
                        a: dy,
                        b: a,
                        out: db,
                        trans_a: true,
                        trans_b: trans_a,
                        m: n,
                        n: k,
                        k: m,
                    }
                } else {
                    MatMul {
                        a,
                        b: dy,
                        out: db,
                        trans_a: !trans_a,
                        trans_b: false,
                        m: k,
                        n,
                        k: m,
                    }
                };
                b.push(product);
                g.add(b, rhs, db);
            }
        }
        BiasAdd {
            x,
            bias,
            channels,
            inner,
            ..
        } => {
            if g.wants(x) {
                g.add(b, x, dy);
            }
            if g.wants(bias) {
                let db = grad_like(b, bias);
                b.push(BiasGrad {
                    dy,
                    out: db,
                    channels,
                    inner,
                });
                g.add(b, bias, db);
            }
        }
        Unary { f, x, out } => {
            let dx = grad_like(b, x);
            b.push(UnaryBackward {
                f,
                x,
                y: out,
                dy,
                dx,
            });
            g.add(b, x, dx);
        }
        Softmax { x, out, width } => {
            let dx = grad_like(b, x);
            b.push(SoftmaxBackward {
                y: out,
                dy,
                dx,
                width,
            });
            g.add(b, x, dx);
        }
        Add { a, b: rhs, .. } => {
            for x in [a, rhs] {
                if g.wants(x) {
                    g.add(b, x, dy);
                }
            }
        }
        Mul { a, b: rhs, .. } => {
            for (x, other) in [(a, rhs), (rhs, a)] {
                if g.wants(x) {
                    let dx = grad_like(b, x);
                    b.push(Mul {
                        a: dy,
                        b: other,
                        out: dx,
                    });
                    g.add(b, x, dx);
                }
            }
        }
        Reshape { x, .. } => {
            let shape = b.shape(x).to_vec();
            let name = format!("grad {}", b.name(x));
            let dx = b.reshape(dy, shape, name);
            g.add(b, x, dx);
        }
        Concat {
            ref inputs,
            ref widths,
            inner,
            ..
        } => {
            let total = widths.iter().sum();
            let mut start = 0;
            for (&x, &width) in inputs.iter().zip(widths) {
                if g.wants(x) {
                    let dx = grad_like(b, x);
                    b.push(Slice {
                        x: dy,
                        out: dx,
                        total,
                        start,
                        width,
                        inner,
                    });
                    g.add(b, x, dx);
                }
                start += width;
            }
        }
        Slice {
            x,
            total,
            start,
            width,
            inner,
            ..
        } => {
            let dx = grad_like(b, x);
            b.push(Unslice {
                dy,
                dx,
                total,
                start,
                width,
                inner,
            });
            g.add(b, x, dx);
        }
        Conv2d {
            x,
            w,
            window,
            filters,
            ..
        } => {
            if g.wants(x) {
                let dx = grad_like(b, x);
                b.push(Conv2dBackwardInput {
                    dy,
                    w,
                    dx,
                    window,
                    filters,
                });
                g.add(b, x, dx);
            }
            if g.wants(w) {
                let dw = grad_like(b, w);
                b.push(Conv2dBackwardWeight {
                    x,
                    dy,
                    dw,
                    window,
                    filters,
                });
                g.add(b, w, dw);
            }
        }
        // As a transposed convolution, `dy` is its input and `dx` its output: the gradient
        // flows back through the convolution itself, and the weight's gradient is the
        // convolution's with the two roles exchanged.
        Conv2dBackwardInput {
            dy: x,
            w,
            window,
            filters,
            ..
        } => {
            if g.wants(x) {
                let dx = grad_like(b, x);
                b.push(Conv2d {
                    x: dy,
                    w,
                    out: dx,
                    window,
                    filters,
                });
                g.add(b, x, dx);
            }
            if g.wants(w) {
                let dw = grad_like(b, w);
                b.push(Conv2dBackwardWeight {
                    x: dy,
                    dy: x,
                    dw,
                    window,
                    filters,
                });
                g.add(b, w, dw);
            }
        }
        MaxPool2d {
            x,
            argmax: Some(argmax),
            window,
            ..
        } => {
            let dx = grad_like(b, x);
            b.push(MaxPool2dBackward {
                dy,
                argmax,
                dx,
                window,
            });
            g.add(b, x, dx);
        }
        Embedding {
            table,
            ids,
            dim,
            table_rows,
            ..
        } => {
            let dtable = grad_like(b, table);
            b.push(EmbeddingBackward {
                ids,
                dy,
                dtable,
                dim,
                table_rows,
            });
            g.add(b, table, dtable);
        }
        Recurrence {
            shape,
            xw,
            w_hh,
            b_hh,
            saved,
            scratch,
            ..
        } => {
            let (dxw, dw_hh, db_hh) = (grad_like(b, xw), grad_like(b, w_hh), grad_like(b, b_hh));
            // Every step's gate and hidden-state gradients, then three [hidden] vectors (see
            // Op::RecurrenceBackward).
            let per_sample = shape.steps * (shape.gate_width() + shape.hidden) + 3 * shape.hidden;
            let scratch = b.value(format!("{} (backward)", b.name(scratch)), vec![per_sample]);
            b.push(RecurrenceBackward {
                shape,
                w_hh,
                saved,
                dy,
                dxw,
                dw_hh,
                db_hh,
                scratch,
            });
            add_wanted(b, g, [(xw, dxw), (w_hh, dw_hh), (b_hh, db_hh)]);
        }
        Attention {
            shape,
            qkv,
            probs,
            mask,
            ..
        } => {
            let dqkv = grad_like(b, qkv);
            let scratch = b.value(
                format!("{} (score gradients)", b.name(probs)),
                vec![shape.heads, shape.steps, shape.steps],
            );
            b.push(AttentionBackward {
                shape,
                qkv,
                probs,
                mask,
                dy,
                dqkv,
                scratch,
            });
            g.add(b, qkv, dqkv);
        }
        Upsample {
            x,
            window,
            bilinear,
            ..
        } => {
            let dx = grad_like(b, x);
            b.push(UpsampleBackward {
                dy,
                dx,
                window,
                bilinear,
            });
            g.add(b, x, dx);
        }
        AvgPool2d { x, window, .. } => {
            let dx = grad_like(b, x);
            b.push(AvgPool2dBackward { dy, dx, window });
            g.add(b, x, dx);
        }
        BatchNormTrain {
            x,
            gamma,
            beta,
            mean,
            inv_std,
            channels,
            inner,
            ..
        } => {
            let (dx, dgamma, dbeta) = (grad_like(b, x), grad_like(b, gamma), grad_like(b, beta));
            b.push(BatchNormBackward {
                x,
                gamma,
                mean,
                inv_std,
                dy,
                dx,
                dgamma,
                dbeta,
                channels,
                inner,
            });
            add_wanted(b, g, [(x, dx), (gamma, dgamma), (beta, dbeta)]);
        }
        LayerNorm {
            x,
            gamma,
            beta,
            mean,
            inv_std,
            width,
            ..
        } => {
            let (dx, dgamma, dbeta) = (grad_like(b, x), grad_like(b, gamma), grad_like(b, beta));
            b.push(LayerNormBackward {
                x,
                gamma,
                mean,
                inv_std,
                dy,
                dx,
                dgamma,
                dbeta,
                width,
            });
            add_wanted(b, g, [(x, dx), (gamma, dgamma), (beta, dbeta)]);
        }
        _ => {}
    }
}

fn add_wanted(b: &mut Builder, g: &mut Gradients, pairs: [(BufferId, BufferId); 3]) {
    for (x, dx) in pairs {
        if g.wants(x) {
            g.add(b, x, dx);
        }
    }
}
