//! The statistics of many watched tensors at once, dealt out to the pool's threads: on a large
//! network they are most of what watching a step costs.

use super::disjoint::Disjoint;
use super::pool::Pool;
use crate::engine::{STATS_WORDS, statistics_into};

/// Below this many values in all, one thread does it all.
const MIN_PARALLEL: usize = 64 * 1024;

/// One tensor's statistics: its values, rows of `width`, into `STATS_WORDS` words from
/// `offset` of the request's words, on pool thread `thread`.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
    pub values: &'a [f32],
    pub width: usize,
    pub offset: usize,
    thread: usize,
}

impl<'a> Job<'a> {
    pub fn new(values: &'a [f32], width: usize, offset: usize) -> Self {
        Self {
            values,
            width,
            offset,
            thread: 0,
        }
    }
}

/// Runs `jobs` into `words`, each thread taking the largest tensor left to whichever thread has
/// the fewest values so far.
pub fn run(pool: &Pool, jobs: &mut [Job<'_>], words: &mut [f32]) {
    let total: usize = jobs.iter().map(|j| j.values.len()).sum();
    let threads = pool.threads().min(jobs.len());
    if threads <= 1 || total < MIN_PARALLEL {
        for job in jobs.iter() {
            statistics_into(
                job.values,
                job.width,
                &mut words[job.offset..][..STATS_WORDS],
            );
        }
        return;
    }
    jobs.sort_unstable_by_key(|j| std::cmp::Reverse(j.values.len()));
    let mut load = vec![0usize; threads];
    for job in jobs.iter_mut() {
        let (least, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(_, &n)| n)
            .unwrap_or((0, &0));
        job.thread = least;
        load[least] += job.values.len();
    }
    let out = Disjoint::new(words);
    let jobs = &*jobs;
    pool.run(&|t| {
        for job in jobs.iter().filter(|j| j.thread == t) {
            // SAFETY: every job writes its own STATS_WORDS words, at its own offset.
            let part = unsafe { out.part(job.offset..job.offset + STATS_WORDS) };
            statistics_into(job.values, job.width, part);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::statistics_words;

    #[test]
    fn tensors_shared_out_to_threads_give_the_words_one_thread_gives() {
        let tensors: Vec<Vec<f32>> = [300_000, 5, 70_000, 1_000, 120_000]
            .iter()
            .map(|&n| (0..n).map(|i| ((i as f32) * 0.01).sin().max(0.0)).collect())
            .collect();
        let mut expected = Vec::new();
        for t in &tensors {
            statistics_words(t, 100.min(t.len()), &mut expected);
        }
        let mut jobs: Vec<Job> = tensors
            .iter()
            .enumerate()
            .map(|(i, t)| Job::new(t, 100.min(t.len()), i * STATS_WORDS))
            .collect();
        let mut words = vec![0.0; tensors.len() * STATS_WORDS];
        run(&Pool::new(3), &mut jobs, &mut words);
        let bits = |w: &[f32]| w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&words), bits(&expected));
    }
}
