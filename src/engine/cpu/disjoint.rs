//! Sharing one op's work out to the pool's threads: a slice written in disjoint parts, without
//! locks or copies, and the split of an index range into per-thread parts.

use std::marker::PhantomData;
use std::ops::Range;

use super::pool::Pool;

pub struct Disjoint<'a> {
    ptr: *mut f32,
    len: usize,
    _borrow: PhantomData<&'a mut [f32]>,
}

// SAFETY: threads only reach the data through `part`, whose callers take disjoint ranges.
unsafe impl Sync for Disjoint<'_> {}

impl<'a> Disjoint<'a> {
    pub fn new(data: &'a mut [f32]) -> Self {
        Self {
            ptr: data.as_mut_ptr(),
            len: data.len(),
            _borrow: PhantomData,
        }
    }

    /// # Safety
    /// No two live results may overlap.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn part(&self, range: Range<usize>) -> &mut [f32] {
        assert!(range.start <= range.end && range.end <= self.len);
        // SAFETY: in bounds (asserted); exclusive by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
}

/// Below this many values per thread, handing work to another thread costs more than it saves.
const MIN_PER_THREAD: usize = 32 * 1024;

/// Runs `job` over per-thread ranges of the `columns` columns of a matrix of `rows` rows (each
/// range whole columns, weighed by the values they hold), or over all of them on this thread
/// when the matrix is small. A job that sums its columns down the rows in order gives the same
/// bits on any number of threads.
pub fn for_columns(pool: &Pool, rows: usize, columns: usize, job: impl Fn(Range<usize>) + Sync) {
    let rows = rows.max(1);
    for_ranges(pool, columns * rows, rows, |r| {
        job(r.start / rows..r.end / rows)
    });
}

/// Runs `job` over `0..n` split into one range per thread, each a multiple of `unit` long (so a
/// row of `unit` values is never cut), or over the whole range on this thread when `n` is small.
pub fn for_ranges(pool: &Pool, n: usize, unit: usize, job: impl Fn(Range<usize>) + Sync) {
    let units = n / unit.max(1);
    let threads = pool.threads().min(n / MIN_PER_THREAD).min(units).max(1);
    if threads == 1 {
        return job(0..n);
    }
    pool.run(&|t| {
        if t < threads {
            let end = if t + 1 == threads {
                n
            } else {
                (t + 1) * units / threads * unit
            };
            job(t * units / threads * unit..end);
        }
    });
}
