//! The reference executor: every op as plain Rust over `Vec<f32>` storage allocated once per
//! program, a real GEMM underneath products and convolutions, and no allocation per step.

mod attention;
mod conv;
mod disjoint;
mod elementwise;
mod embedding;
mod fast_math;
mod gemm;
mod loss;
mod norm;
pub mod pool;
mod recurrent;
mod simd;
mod statistics;
mod update;
mod upsample;
mod workers;

use std::ops::Range;
use std::sync::{Arc, Mutex};

use super::slots::Slots;
use super::{Backend, EngineError, Fetch, StepScalars, Ticket, check_rows, dropout_keeps};
use crate::compile::{BufferId, DType, Op, Program};
use conv::ConvArgs;
use disjoint::{Disjoint, for_columns, for_ranges};
use gemm::{Gemm, Packed, View};
use norm::{BatchNormShape, BatchNormState, NormGrads};
use pool::Pool;
use workers::{Worker, Workers};

pub use elementwise::erf;
pub use gemm::{CpuSweepPoint, matmul_sweep};
pub use recurrent::{reach_through_time, saved_row};

/// Buffer storage: one `Vec` per owning buffer (views share their base's). i32 buffers keep
/// their bits in f32 slots, as a GPU buffer would.
struct Storage {
    data: Vec<Vec<f32>>,
    /// For each buffer id, the index of its storage.
    slot: Vec<usize>,
}

impl Storage {
    fn get(&self, id: BufferId) -> &[f32] {
        &self.data[self.slot[id]]
    }

    /// Moves a buffer out so it can be written while others are read; `put` returns it.
    fn take(&mut self, id: BufferId) -> Vec<f32> {
        std::mem::take(&mut self.data[self.slot[id]])
    }

    fn put(&mut self, id: BufferId, v: Vec<f32>) {
        self.data[self.slot[id]] = v;
    }
}

pub struct CpuBackend {
    program: Arc<Program>,
    storage: Storage,
    pool: Arc<Pool>,
    /// For the program's matrix products, which split across the pool when large.
    gemm: Gemm,
    /// The weights of the recurrence running now, packed once for all its time steps.
    recurrent_weights: Packed,
    /// One per pool thread: convolutions and attention split the batch across threads.
    workers: Vec<Mutex<Worker>>,
    /// Seconds spent in each op of the program, when profiling.
    op_seconds: Option<Vec<f64>>,
    /// Values requested and not yet collected, in buffers kept for reuse.
    readbacks: Slots<Vec<f32>>,
}

impl CpuBackend {
    /// Allocates every buffer of `program`. `threads` caps the threads a single op may use.
    pub fn new(program: Arc<Program>, threads: usize) -> Self {
        let mut slot = vec![0; program.buffers.len()];
        let mut data = Vec::new();
        for (id, buffer) in program.buffers.iter().enumerate() {
            if buffer.alias_of.is_none() {
                slot[id] = data.len();
                data.push(vec![0.0; buffer.len(program.batch_capacity)]);
            }
        }
        for id in 0..program.buffers.len() {
            slot[id] = slot[program.storage_of(id)];
        }
        // Scratch sized for the largest convolution (its unfolded image and its weight
        // gradient) and the largest attention (one head's product).
        let (sample_len, dw_len) = program
            .steps
            .iter()
            .filter_map(|s| match &s.op {
                Op::Conv2d {
                    window, filters, ..
                }
                | Op::Conv2dBackwardInput {
                    window, filters, ..
                }
                | Op::Conv2dBackwardWeight {
                    window, filters, ..
                } => {
                    let k = conv::patch_len(window);
                    Some((k * window.out_plane(), k * filters))
                }
                Op::Attention { shape, .. } | Op::AttentionBackward { shape, .. } => {
                    Some((attention::sample_len(shape), 0))
                }
                _ => None,
            })
            .fold((0, 0), |(c, d), (c2, d2)| (c.max(c2), d.max(d2)));
        let pool = Pool::new(threads.max(1));
        let dw_slots = conv::weight_grad_slots(pool.threads());
        let workers = (0..pool.threads())
            .map(|_| {
                Mutex::new(Worker {
                    gemm: Gemm::new(Arc::clone(&pool)),
                    sample: vec![0.0; sample_len],
                    dw: vec![0.0; dw_slots * dw_len],
                })
            })
            .collect();
        let gemm = Gemm::new(Arc::clone(&pool));
        Self {
            program,
            storage: Storage { data, slot },
            recurrent_weights: gemm.packed(),
            gemm,
            pool,
            workers,
            op_seconds: None,
            readbacks: Slots::default(),
        }
    }

    fn check_len(&self, buffer: BufferId, given: usize) -> Result<(), EngineError> {
        let capacity = self.storage.get(buffer).len();
        if given > capacity {
            return Err(EngineError::WrongLength {
                buffer,
                name: self.program.buffers[buffer].name.clone(),
                capacity,
                given,
            });
        }
        Ok(())
    }

    fn execute(&mut self, op: &Op, rows: usize, s: &StepScalars) {
        let program = &*self.program;
        let st = &mut self.storage;
        let len = |id: BufferId| program.buffers[id].len(rows);
        let workers = Workers {
            pool: &self.pool,
            scratch: &self.workers,
        };
        match *op {
            Op::MatMul {
                a,
                b,
                out,
                trans_a,
                trans_b,
                m,
                n,
                k,
            } => {
                let (m, n, k) = (m.at(rows), n.at(rows), k.at(rows));
                let mut o = st.take(out);
                let av = View {
                    data: st.get(a),
                    cols: if trans_a { m } else { k },
                    transposed: trans_a,
                };
                let bv = View {
                    data: st.get(b),
                    cols: if trans_b { k } else { n },
                    transposed: trans_b,
                };
                self.gemm.matmul(&mut o, av, bv, (m, n, k), false);
                st.put(out, o);
            }
            Op::BiasAdd {
                x,
                bias,
                out,
                channels,
                inner,
            } => {
                let mut o = st.take(out);
                let (x, bias) = (st.get(x), st.get(bias));
                let dst = Disjoint::new(&mut o);
                for_ranges(&self.pool, len(out), channels * inner, |r| {
                    // SAFETY: the ranges are disjoint.
                    let dst = unsafe { dst.part(r.clone()) };
                    elementwise::bias_add(&x[r], bias, dst, channels, inner);
                });
                st.put(out, o);
            }
            Op::BiasGrad {
                dy,
                out,
                channels,
                inner,
            } => {
                let mut o = st.take(out);
                let dy = &st.get(dy)[..len(dy)];
                if inner == 1 {
                    let dst = Disjoint::new(&mut o[..channels]);
                    let rows = dy.len() / channels.max(1);
                    for_columns(&self.pool, rows, channels, |columns| {
                        // SAFETY: the column ranges are disjoint.
                        let dst = unsafe { dst.part(columns.clone()) };
                        elementwise::column_sums(dy, dst, channels, columns.start);
                    });
                } else {
                    elementwise::bias_grad(dy, &mut o, channels, inner);
                }
                st.put(out, o);
            }
            Op::Unary { f, x, out } => {
                let mut o = st.take(out);
                let (x, dst) = (st.get(x), Disjoint::new(&mut o));
                for_ranges(&self.pool, len(out), 1, |r| {
                    // SAFETY: the ranges are disjoint.
                    let dst = unsafe { dst.part(r.clone()) };
                    elementwise::unary(f, &x[r], dst);
                });
                st.put(out, o);
            }
            Op::UnaryBackward { f, x, y, dy, dx } => {
                let mut o = st.take(dx);
                let (x, y, dy, dst) = (st.get(x), st.get(y), st.get(dy), Disjoint::new(&mut o));
                for_ranges(&self.pool, len(dx), 1, |r| {
                    // SAFETY: the ranges are disjoint.
                    let dst = unsafe { dst.part(r.clone()) };
                    elementwise::unary_backward(f, &x[r.clone()], &y[r.clone()], &dy[r], dst);
                });
                st.put(dx, o);
            }
            Op::Softmax { x, out, width } => {
                let mut o = st.take(out);
                let n = len(out);
                elementwise::softmax(&st.get(x)[..n], &mut o[..n], width);
                st.put(out, o);
            }
            Op::SoftmaxBackward { y, dy, dx, width } => {
                let mut o = st.take(dx);
                let n = len(dx);
                elementwise::softmax_backward(
                    &st.get(y)[..n],
                    &st.get(dy)[..n],
                    &mut o[..n],
                    width,
                );
                st.put(dx, o);
            }
            Op::Add { a, b, out } => {
                let mut o = st.take(out);
                binary_in_parallel(
                    &self.pool,
                    st.get(a),
                    st.get(b),
                    &mut o,
                    len(out),
                    elementwise::add,
                );
                st.put(out, o);
            }
            Op::Sub { a, b, out } => {
                let mut o = st.take(out);
                binary_in_parallel(
                    &self.pool,
                    st.get(a),
                    st.get(b),
                    &mut o,
                    len(out),
                    elementwise::sub,
                );
                st.put(out, o);
            }
            Op::Copy { x, out } => {
                let mut o = st.take(out);
                let n = len(out);
                o[..n].copy_from_slice(&st.get(x)[..n]);
                st.put(out, o);
            }
            Op::Mul { a, b, out } => {
                let mut o = st.take(out);
                binary_in_parallel(
                    &self.pool,
                    st.get(a),
                    st.get(b),
                    &mut o,
                    len(out),
                    elementwise::mul,
                );
                st.put(out, o);
            }
            Op::Reshape { .. } => {}
            Op::Concat {
                ref inputs,
                out,
                ref widths,
                inner,
            } => {
                let mut o = st.take(out);
                let total: usize = widths.iter().sum();
                let mut start = 0;
                for (&input, &width) in inputs.iter().zip(widths) {
                    let src = st.get(input);
                    elementwise::copy_blocks(
                        len(out),
                        total,
                        start,
                        width,
                        inner,
                        |whole, part, n| {
                            o[whole..whole + n].copy_from_slice(&src[part..part + n]);
                        },
                    );
                    start += width;
                }
                st.put(out, o);
            }
            Op::Slice {
                x,
                out,
                total,
                start,
                width,
                inner,
            } => {
                let mut o = st.take(out);
                let src = st.get(x);
                elementwise::copy_blocks(len(x), total, start, width, inner, |whole, part, n| {
                    o[part..part + n].copy_from_slice(&src[whole..whole + n]);
                });
                st.put(out, o);
            }
            Op::Unslice {
                dy,
                dx,
                total,
                start,
                width,
                inner,
            } => {
                let mut o = st.take(dx);
                let src = st.get(dy);
                o[..len(dx)].fill(0.0);
                elementwise::copy_blocks(len(dx), total, start, width, inner, |whole, part, n| {
                    o[whole..whole + n].copy_from_slice(&src[part..part + n]);
                });
                st.put(dx, o);
            }
            Op::Conv2d {
                x,
                w,
                out,
                ref window,
                filters,
            } => {
                let mut o = st.take(out);
                let args = ConvArgs {
                    window,
                    filters,
                    rows,
                };
                conv::conv2d(&args, &workers, st.get(x), st.get(w), &mut o);
                st.put(out, o);
            }
            Op::Conv2dBackwardInput {
                dy,
                w,
                dx,
                ref window,
                filters,
            } => {
                let mut o = st.take(dx);
                let args = ConvArgs {
                    window,
                    filters,
                    rows,
                };
                conv::conv2d_backward_input(&args, &workers, st.get(dy), st.get(w), &mut o);
                st.put(dx, o);
            }
            Op::Conv2dBackwardWeight {
                x,
                dy,
                dw,
                ref window,
                filters,
            } => {
                let mut o = st.take(dw);
                let args = ConvArgs {
                    window,
                    filters,
                    rows,
                };
                conv::conv2d_backward_weight(&args, &workers, st.get(x), st.get(dy), &mut o);
                st.put(dw, o);
            }
            Op::MaxPool2d {
                x,
                out,
                argmax,
                ref window,
            } => {
                let mut o = st.take(out);
                let mut am = argmax.map(|a| st.take(a));
                conv::max_pool_batch(&workers, window, rows, st.get(x), &mut o, am.as_deref_mut());
                st.put(out, o);
                if let (Some(a), Some(v)) = (argmax, am) {
                    st.put(a, v);
                }
            }
            Op::MaxPool2dBackward {
                dy,
                argmax,
                dx,
                ref window,
            } => {
                let mut o = st.take(dx);
                let am = bytemuck::cast_slice::<f32, i32>(st.get(argmax));
                let (per_in, per_out) = (
                    window.channels * window.in_plane(),
                    window.channels * window.out_plane(),
                );
                let (dy, dst) = (st.get(dy), Disjoint::new(&mut o));
                // Whole samples per thread: a window's gradient lands inside its own sample.
                for_ranges(&self.pool, rows * per_in, per_in, |ins| {
                    let samples = ins.start / per_in..ins.end / per_in;
                    let outs = samples.start * per_out..samples.end * per_out;
                    // SAFETY: the sample ranges are disjoint.
                    let dst = unsafe { dst.part(ins) };
                    conv::max_pool_backward(
                        window,
                        samples.len(),
                        &dy[outs.clone()],
                        &am[outs],
                        dst,
                    );
                });
                st.put(dx, o);
            }
            Op::AvgPool2d { x, out, ref window } => {
                let mut o = st.take(out);
                conv::avg_pool(window, rows, st.get(x), &mut o);
                st.put(out, o);
            }
            Op::AvgPool2dBackward { dy, dx, ref window } => {
                let mut o = st.take(dx);
                conv::avg_pool_backward(window, rows, st.get(dy), &mut o);
                st.put(dx, o);
            }
            Op::Upsample {
                x,
                out,
                ref window,
                bilinear,
            } => {
                let mut o = st.take(out);
                upsample::upsample(window, bilinear, rows, st.get(x), &mut o);
                st.put(out, o);
            }
            Op::UpsampleBackward {
                dy,
                dx,
                ref window,
                bilinear,
            } => {
                let mut o = st.take(dx);
                upsample::upsample_backward(window, bilinear, rows, st.get(dy), &mut o);
                st.put(dx, o);
            }
            Op::DropoutMask { out, rate, stream } => {
                let mut o = st.take(out);
                let keep = 1.0 / (1.0 - rate);
                for (i, v) in o[..len(out)].iter_mut().enumerate() {
                    *v = if dropout_keeps(s.seed, s.step, stream, i as u32, rate) {
                        keep
                    } else {
                        0.0
                    };
                }
                st.put(out, o);
            }
            Op::BatchNormTrain {
                x,
                gamma,
                beta,
                out,
                mean,
                inv_std,
                running_mean,
                running_var,
                channels,
                inner,
                momentum,
                epsilon,
            } => {
                let (mut o, mut m, mut is, mut rm, mut rv) = (
                    st.take(out),
                    st.take(mean),
                    st.take(inv_std),
                    st.take(running_mean),
                    st.take(running_var),
                );
                let shape = BatchNormShape {
                    rows,
                    channels,
                    inner,
                };
                let state = BatchNormState {
                    mean: &mut m,
                    inv_std: &mut is,
                    running_mean: &mut rm,
                    running_var: &mut rv,
                };
                norm::batch_norm_train(
                    &shape,
                    st.get(x),
                    st.get(gamma),
                    st.get(beta),
                    &mut o,
                    state,
                    momentum,
                    epsilon,
                );
                st.put(out, o);
                st.put(mean, m);
                st.put(inv_std, is);
                st.put(running_mean, rm);
                st.put(running_var, rv);
            }
            Op::BatchNormEval {
                x,
                gamma,
                beta,
                out,
                running_mean,
                running_var,
                channels,
                inner,
                epsilon,
            } => {
                let mut o = st.take(out);
                let shape = BatchNormShape {
                    rows,
                    channels,
                    inner,
                };
                norm::batch_norm_eval(
                    &shape,
                    st.get(x),
                    st.get(gamma),
                    st.get(beta),
                    &mut o,
                    st.get(running_mean),
                    st.get(running_var),
                    epsilon,
                );
                st.put(out, o);
            }
            Op::BatchNormBackward {
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
            } => {
                let (mut a, mut b, mut c) = (st.take(dx), st.take(dgamma), st.take(dbeta));
                let shape = BatchNormShape {
                    rows,
                    channels,
                    inner,
                };
                let grads = NormGrads {
                    dx: &mut a,
                    dgamma: &mut b,
                    dbeta: &mut c,
                };
                norm::batch_norm_backward(
                    &shape,
                    st.get(x),
                    st.get(gamma),
                    st.get(mean),
                    st.get(inv_std),
                    st.get(dy),
                    grads,
                );
                st.put(dx, a);
                st.put(dgamma, b);
                st.put(dbeta, c);
            }
            Op::LayerNorm {
                x,
                gamma,
                beta,
                out,
                mean,
                inv_std,
                width,
                epsilon,
            } => {
                let (mut o, mut m, mut is) = (st.take(out), st.take(mean), st.take(inv_std));
                let (x, gamma, beta) = (st.get(x), st.get(gamma), st.get(beta));
                let [dst, means, inv_stds] = [&mut o, &mut m, &mut is].map(|v| Disjoint::new(v));
                for_ranges(&self.pool, len(out), width, |r| {
                    let rows = r.start / width..r.end / width;
                    // SAFETY: the ranges are disjoint, and so are the rows they cover.
                    let (o, m, is) = unsafe {
                        (
                            dst.part(r.clone()),
                            means.part(rows.clone()),
                            inv_stds.part(rows),
                        )
                    };
                    norm::layer_norm(&x[r], gamma, beta, o, m, is, width, epsilon);
                });
                st.put(out, o);
                st.put(mean, m);
                st.put(inv_std, is);
            }
            Op::LayerNormBackward {
                x,
                gamma,
                mean,
                inv_std,
                dy,
                dx,
                dgamma,
                dbeta,
                width,
            } => {
                let (mut a, mut b, mut c) = (st.take(dx), st.take(dgamma), st.take(dbeta));
                let n = len(dx);
                let (x, gamma, mean, inv_std) =
                    (st.get(x), st.get(gamma), st.get(mean), st.get(inv_std));
                let dy = st.get(dy);
                let dst = Disjoint::new(&mut a[..n]);
                for_ranges(&self.pool, n, width, |r| {
                    let rows = r.start / width..r.end / width;
                    let (m, is) = (&mean[rows.clone()], &inv_std[rows]);
                    // SAFETY: the ranges are disjoint.
                    let dx = unsafe { dst.part(r.clone()) };
                    norm::layer_norm_backward(&x[r.clone()], gamma, m, is, &dy[r], dx, width);
                });
                let rows = n / width;
                let (dgammas, dbetas) = (Disjoint::new(&mut b), Disjoint::new(&mut c));
                for_columns(&self.pool, rows, width, |columns| {
                    // SAFETY: the column ranges are disjoint.
                    let (dg, db) =
                        unsafe { (dgammas.part(columns.clone()), dbetas.part(columns.clone())) };
                    let shape = (rows, width, columns.start);
                    norm::layer_norm_param_grads(x, mean, inv_std, dy, dg, db, shape);
                });
                st.put(dx, a);
                st.put(dgamma, b);
                st.put(dbeta, c);
            }
            Op::Loss {
                kind,
                pred,
                target,
                out,
                width,
                positions,
            } => {
                let rows = rows * positions;
                let (value, count) = loss::loss(kind, st.get(pred), st.get(target), rows, width);
                let mut o = st.take(out);
                (o[0], o[1]) = (value, count as f32);
                st.put(out, o);
            }
            Op::LossBackward {
                kind,
                pred,
                target,
                dpred,
                width,
                positions,
                ..
            } => {
                let rows = rows * positions;
                let mut o = st.take(dpred);
                loss::loss_backward(kind, st.get(pred), st.get(target), &mut o, rows, width);
                st.put(dpred, o);
            }
            Op::Embedding {
                table,
                ids,
                out,
                dim,
                table_rows,
            } => {
                let mut o = st.take(out);
                let ids = &st.get(ids)[..len(ids)];
                embedding::gather(st.get(table), ids, &mut o, dim, table_rows);
                st.put(out, o);
            }
            Op::EmbeddingBackward {
                ids,
                dy,
                dtable,
                dim,
                table_rows,
            } => {
                let mut o = st.take(dtable);
                let ids = &st.get(ids)[..len(ids)];
                embedding::scatter_add(ids, st.get(dy), &mut o, dim, table_rows);
                st.put(dtable, o);
            }
            Op::Attention {
                ref shape,
                qkv,
                probs,
                mask,
                out,
            } => {
                let (mut p, mut o) = (st.take(probs), st.take(out));
                let (qkv, mask) = (st.get(qkv), mask.map(|m| st.get(m)));
                attention::forward(shape, &workers, rows, qkv, &mut p, mask, &mut o);
                st.put(probs, p);
                st.put(out, o);
            }
            Op::AttentionBackward {
                ref shape,
                qkv,
                probs,
                mask,
                dy,
                dqkv,
                scratch,
            } => {
                let (mut dx, mut ds) = (st.take(dqkv), st.take(scratch));
                let (qkv, probs, dy) = (st.get(qkv), st.get(probs), st.get(dy));
                let mask = mask.map(|m| st.get(m));
                attention::backward(
                    shape, &workers, rows, qkv, probs, mask, dy, &mut dx, &mut ds,
                );
                st.put(dqkv, dx);
                st.put(scratch, ds);
            }
            Op::Recurrence {
                ref shape,
                xw,
                w_hh,
                b_hh,
                out,
                saved,
                scratch,
            } => {
                let (mut o, mut kept, mut hh) = (st.take(out), st.take(saved), st.take(scratch));
                let (xw, w_hh, b_hh) = (st.get(xw), st.get(w_hh), st.get(b_hh));
                recurrent::forward(
                    &self.pool,
                    &mut self.recurrent_weights,
                    shape,
                    rows,
                    xw,
                    w_hh,
                    b_hh,
                    &mut o,
                    &mut kept,
                    &mut hh,
                );
                st.put(out, o);
                st.put(saved, kept);
                st.put(scratch, hh);
            }
            Op::RecurrenceBackward {
                ref shape,
                w_hh,
                saved,
                dy,
                dxw,
                dw_hh,
                db_hh,
                scratch,
            } => {
                let (mut dx, mut dw, mut db, mut work) = (
                    st.take(dxw),
                    st.take(dw_hh),
                    st.take(db_hh),
                    st.take(scratch),
                );
                recurrent::backward(
                    &mut self.gemm,
                    &mut self.recurrent_weights,
                    shape,
                    rows,
                    st.get(w_hh),
                    st.get(saved),
                    st.get(dy),
                    &mut dx,
                    &mut dw,
                    &mut db,
                    &mut work,
                );
                st.put(dxw, dx);
                st.put(dw_hh, dw);
                st.put(db_hh, db);
                st.put(scratch, work);
            }
            Op::GradNormSq { ref grads, out } => {
                let value = update::norm_sq(grads.iter().map(|&g| st.get(g)));
                let mut o = st.take(out);
                o[0] = value;
                st.put(out, o);
            }
            Op::Update {
                rule,
                param,
                grad,
                state,
                norm_sq,
            } => {
                let norm = st.get(norm_sq)[0];
                let mut p = st.take(param);
                let mut taken = state.map(|b| b.map(|b| st.take(b)));
                let [first, second] = &mut taken;
                update::update_in_parallel(
                    &self.pool,
                    rule,
                    s,
                    norm,
                    &mut p,
                    st.get(grad),
                    [first.as_deref_mut(), second.as_deref_mut()],
                );
                st.put(param, p);
                for (b, v) in state.iter().zip(taken) {
                    if let (Some(b), Some(v)) = (b, v) {
                        st.put(*b, v);
                    }
                }
            }
        }
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        let threads = self.pool.threads();
        format!(
            "CPU ({threads} thread{})",
            if threads == 1 { "" } else { "s" }
        )
    }

    fn write(&mut self, buffer: BufferId, data: &[f32]) -> Result<(), EngineError> {
        self.check_len(buffer, data.len())?;
        let slot = self.storage.slot[buffer];
        self.storage.data[slot][..data.len()].copy_from_slice(data);
        Ok(())
    }

    fn write_i32(&mut self, buffer: BufferId, data: &[i32]) -> Result<(), EngineError> {
        self.check_len(buffer, data.len())?;
        let slot = self.storage.slot[buffer];
        let dst = bytemuck::cast_slice_mut::<f32, i32>(&mut self.storage.data[slot][..data.len()]);
        dst.copy_from_slice(data);
        Ok(())
    }

    fn request(&mut self, fetches: &[Fetch]) -> Result<Ticket, EngineError> {
        for fetch in fetches {
            let (Fetch::Values { buffer, len } | Fetch::Statistics { buffer, len, .. }) = *fetch;
            self.check_len(buffer, len)?;
        }
        let index = self.readbacks.take();
        let mut words = std::mem::take(&mut self.readbacks.slots[index]);
        words.clear();
        words.resize(fetches.iter().map(Fetch::words).sum(), 0.0);
        let mut jobs = Vec::new();
        let mut offset = 0;
        for fetch in fetches {
            match *fetch {
                Fetch::Values { buffer, len } => {
                    words[offset..offset + len].copy_from_slice(&self.storage.get(buffer)[..len])
                }
                Fetch::Statistics { buffer, len, width } => jobs.push(statistics::Job::new(
                    &self.storage.get(buffer)[..len],
                    width,
                    offset,
                )),
            }
            offset += fetch.words();
        }
        statistics::run(&self.pool, &mut jobs, &mut words);
        self.readbacks.slots[index] = words;
        Ok(Ticket(index))
    }

    fn collect(&mut self, ticket: Ticket, out: &mut Vec<f32>) -> Result<(), EngineError> {
        out.clear();
        out.extend_from_slice(&self.readbacks.slots[ticket.0]);
        self.readbacks.give_back(ticket.0);
        Ok(())
    }

    fn run(
        &mut self,
        steps: Range<usize>,
        rows: usize,
        scalars: &StepScalars,
    ) -> Result<(), EngineError> {
        check_rows(&self.program, rows)?;
        let program = Arc::clone(&self.program);
        for index in steps {
            let started = self.op_seconds.is_some().then(std::time::Instant::now);
            self.execute(&program.steps[index].op, rows, scalars);
            if let (Some(times), Some(started)) = (&mut self.op_seconds, started) {
                times[index] += started.elapsed().as_secs_f64();
            }
        }
        Ok(())
    }

    fn set_profiling(&mut self, on: bool) {
        self.op_seconds = on.then(|| vec![0.0; self.program.steps.len()]);
    }

    fn op_seconds(&self) -> Option<&[f64]> {
        self.op_seconds.as_deref()
    }

    fn first_non_finite(
        &mut self,
        steps: Range<usize>,
        rows: usize,
        scalars: &StepScalars,
    ) -> Result<Option<usize>, EngineError> {
        let program = Arc::clone(&self.program);
        for index in steps {
            self.run(index..index + 1, rows, scalars)?;
            let bad = program.steps[index].op.writes().iter().any(|&b| {
                let buffer = &program.buffers[b];
                buffer.dtype == DType::F32
                    && self.storage.get(b)[..buffer.len(rows)]
                        .iter()
                        .any(|v| !v.is_finite())
            });
            if bad {
                return Ok(Some(index));
            }
        }
        Ok(None)
    }
}

/// `out[..n] = f(a, b)` element by element, split over the pool.
fn binary_in_parallel(
    pool: &Pool,
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    n: usize,
    f: fn(&[f32], &[f32], &mut [f32]),
) {
    let dst = Disjoint::new(&mut out[..n]);
    for_ranges(pool, n, 1, |r| {
        // SAFETY: the ranges are disjoint.
        let dst = unsafe { dst.part(r.clone()) };
        f(&a[r.clone()], &b[r], dst);
    });
}
