//! The backend's threads, each with its own scratch, and the split of a batch's samples among
//! them (convolutions and attention work one sample at a time on each thread).

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use super::gemm::Gemm;
use super::pool::Pool;

/// One thread's working memory: a GEMM with its packing buffers (its products run on this
/// thread), room for one sample's intermediate values (a convolution's unfolded patches,
/// attention's per-head products), and accumulators for chunks of a convolution's weight
/// gradient (`conv::weight_grad_slots` of them, one after another).
pub struct Worker {
    pub gemm: Gemm,
    pub sample: Vec<f32>,
    pub dw: Vec<f32>,
}

/// The backend's threads and their scratch, one entry per pool thread.
pub struct Workers<'a> {
    pub pool: &'a Pool,
    pub scratch: &'a [Mutex<Worker>],
}

/// Splits `0..items` (a batch's samples, or samples × heads) into one contiguous range per
/// thread and runs `job` on each, with that thread's scratch.
pub fn for_samples(
    workers: &Workers,
    items: usize,
    job: impl Fn(&mut Worker, Range<usize>) + Sync,
) {
    let threads = workers
        .pool
        .threads()
        .min(items)
        .min(workers.scratch.len())
        .max(1);
    workers.pool.run(&|t| {
        if t < threads {
            let mut scratch = workers.scratch[t]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            job(&mut scratch, t * items / threads..(t + 1) * items / threads);
        }
    });
}
