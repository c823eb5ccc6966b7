//! A tiny fork-join thread pool: `run` hands one job to every thread at once and returns when
//! all of its indices have run. It exists because a training step issues many short parallel
//! kernels, so the hand-off must cost microseconds and allocate nothing (rayon boxes each job).
//!
//! Protocol: the caller writes the job into a shared slot, resets the `next` index counter
//! (Release) and bumps `epoch` to wake the workers. Everyone, the caller included, claims
//! indices from `next` until they run out; a successful claim (Acquire) makes the slot
//! readable. Each finished index bumps `done` (Release), and the caller returns once `done`
//! covers every index (Acquire). Claiming rather than assigning indices means a worker that is
//! asleep or descheduled (the machine is shared) delays nothing: the caller runs its share.
//! Index 0 always runs on the caller; other indices may run on any thread.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long a thread spins on an atomic before parking. Kernels of a training step arrive a few
/// microseconds apart, so a short spin avoids the wake-up latency of a park (tens of µs) without
/// keeping a core busy once the backend goes idle.
const SPIN: Duration = Duration::from_micros(100);
/// Spin iterations between two reads of the clock.
const SPIN_CHECK: u32 = 64;

type Job = dyn Fn(usize) + Sync;

/// What `run` publishes for one job.
struct Slot {
    /// The current job, its lifetime erased (see `run`).
    job: Option<*const Job>,
    /// The thread waiting in `run`, woken by whoever finishes the last index.
    caller: Option<Thread>,
}

struct Shared {
    slot: UnsafeCell<Slot>,
    /// Threads that claim indices (caller included), fixed once `Pool::new` returns.
    threads: AtomicUsize,
    /// The next unclaimed index of the current job; `threads` or more when none is left.
    next: AtomicUsize,
    /// Indices of the current job that have finished.
    done: AtomicUsize,
    /// Bumped once per job (and at shutdown) to wake the workers.
    epoch: AtomicUsize,
    /// Set when an index panicked on a worker; `run` re-raises it on the caller.
    panicked: AtomicBool,
    shutdown: AtomicBool,
}

// SAFETY: `slot` is written only by `run`, before it resets `next`, and only once `done` has
// covered every index of the previous job. It is read only by a thread that claimed an index
// below `threads` from `next`, which acquires that reset, and only until that index counts as
// done. So no read overlaps a write. The job is a `Sync` closure, so calling it from several
// threads at once is allowed; `Thread` is `Send + Sync`.
unsafe impl Sync for Shared {}
// SAFETY: as above; the raw job pointer is only dereferenced under that protocol.
unsafe impl Send for Shared {}

/// A fixed set of worker threads that run one job on every thread at once, with no allocation per job.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Set while a `run` is in flight, so that a nested or concurrent call runs inline instead
    /// of deadlocking or overwriting the slot.
    busy: AtomicBool,
}

impl Pool {
    /// A pool of `threads` threads (at least one): `threads - 1` workers are spawned and the
    /// caller of `run` is thread 0. If the OS refuses a thread, the pool keeps the ones it got.
    pub fn new(threads: usize) -> Arc<Pool> {
        let threads = threads.max(1);
        let shared = Arc::new(Shared::new(threads));
        let mut workers = Vec::with_capacity(threads - 1);
        for index in 1..threads {
            let shared = Arc::clone(&shared);
            let spawned = thread::Builder::new()
                .name(format!("netloom-pool-{index}"))
                .spawn(move || worker(&shared));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(_) => break,
            }
        }
        // Before any `run` can publish a job (the `Arc` hand-off orders this store).
        shared.threads.store(workers.len() + 1, Ordering::Relaxed);
        Arc::new(Pool {
            shared,
            workers,
            busy: AtomicBool::new(false),
        })
    }

    /// Threads a job runs on, the caller's included.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `job(thread_index)` for every index in 0..threads (index 0 on the calling thread) and
    /// returns when all are done. A call made while another is in flight (from inside a job)
    /// runs every index inline on the calling thread. A panic in any index is re-raised here
    /// once all indices have finished.
    pub fn run(&self, job: &(dyn Fn(usize) + Sync)) {
        let shared = &*self.shared;
        if self.workers.is_empty()
            || self
                .busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            for index in 0..self.threads() {
                job(index);
            }
            return;
        }
        let _busy = ClearOnDrop(&self.busy);

        // SAFETY: only the lifetime bound of the trait object changes. The erased pointer is
        // dereferenced only by threads that claimed an index, before that index counts as done,
        // and this function does not return (nor unwind: every index runs under
        // `catch_unwind`) before all are done, so `job` outlives every use.
        let erased: &'static Job =
            unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), &'static Job>(job) };
        // SAFETY: no thread reads the slot: the previous `run` saw every index done before
        // returning, and `busy` excludes any other `run`.
        unsafe {
            let slot = &mut *shared.slot.get();
            slot.job = Some(erased as *const Job);
            slot.caller = Some(thread::current());
        }
        shared.done.store(0, Ordering::Relaxed);
        // Release: publishes the slot and `done` to whoever claims an index. Index 0 is ours.
        shared.next.store(1, Ordering::Release);
        shared.epoch.fetch_add(1, Ordering::Release);
        for handle in &self.workers {
            // Cheap when the worker is spinning (an atomic swap); leaves a token it ignores.
            handle.thread().unpark();
        }

        let mut payload: Option<Box<dyn Any + Send>> = None;
        let mut index = 0;
        let threads = self.threads();
        while index < threads {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| job(index))) {
                payload.get_or_insert(p);
            }
            shared.done.fetch_add(1, Ordering::Release);
            index = shared.next.fetch_add(1, Ordering::Relaxed);
        }

        // Acquire: the other threads' writes (their shares of the output) happen before we
        // return. Whoever finishes the last index unparks us; a stale token only costs a loop.
        let mut backoff = Backoff::new();
        while shared.done.load(Ordering::Acquire) < threads {
            backoff.snooze();
        }
        // SAFETY: no thread reads the slot any more (every index is done); clearing the job
        // leaves no dangling pointer behind.
        unsafe {
            (*shared.slot.get()).job = None;
        }
        let worker_panicked = shared.panicked.swap(false, Ordering::Relaxed);
        if let Some(payload) = payload {
            resume_unwind(payload);
        }
        if worker_panicked {
            panic!("a thread-pool job panicked on a worker thread");
        }
    }
}

impl Shared {
    fn new(threads: usize) -> Self {
        Shared {
            slot: UnsafeCell::new(Slot {
                job: None,
                caller: None,
            }),
            threads: AtomicUsize::new(threads),
            // Nothing to claim until the first `run`.
            next: AtomicUsize::new(threads),
            done: AtomicUsize::new(0),
            epoch: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Relaxed);
        // Release: orders `shutdown` before the epoch a waking worker acquires.
        self.shared.epoch.fetch_add(1, Ordering::Release);
        for handle in self.workers.drain(..) {
            handle.thread().unpark();
            // A worker never panics outside `catch_unwind`, so the result carries nothing.
            let _ = handle.join();
        }
    }
}

/// Clears the `busy` flag even when `run` unwinds.
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn worker(shared: &Shared) {
    let mut seen = 0usize;
    let threads = || shared.threads.load(Ordering::Relaxed);
    loop {
        seen = wait_for_epoch(shared, seen);
        if shared.shutdown.load(Ordering::Relaxed) {
            return;
        }
        // Acquire: a claim below `threads` reads the reset `run` made after writing the slot
        // (or an increment that continues it).
        loop {
            let index = shared.next.fetch_add(1, Ordering::Acquire);
            if index >= threads() {
                break;
            }
            // SAFETY: we hold a claimed index, so the slot holds the live job until we mark the
            // index done below (see `Shared`).
            let (job, caller) = unsafe {
                let slot = &*shared.slot.get();
                (slot.job, slot.caller.clone())
            };
            if let Some(job) = job {
                // SAFETY: the pointee outlives this call: `run` waits for our index.
                let job = unsafe { &*job };
                if catch_unwind(AssertUnwindSafe(|| job(index))).is_err() {
                    shared.panicked.store(true, Ordering::Relaxed);
                }
            }
            // Release: our share's writes happen before `run` returns. After this the slot may
            // be rewritten at any moment, hence the clone of `caller` above.
            if shared.done.fetch_add(1, Ordering::Release) + 1 == threads()
                && let Some(caller) = caller
            {
                caller.unpark();
            }
        }
    }
}

/// Waits until the epoch differs from `seen` and returns it. `run` unparks every worker after
/// bumping the epoch, so a park that starts after the bump returns at once.
fn wait_for_epoch(shared: &Shared, seen: usize) -> usize {
    let mut backoff = Backoff::new();
    loop {
        let epoch = shared.epoch.load(Ordering::Acquire);
        if epoch != seen {
            return epoch;
        }
        backoff.snooze();
    }
}

/// Spins for `SPIN`, then parks: a waiter calls `snooze` between two checks of its condition.
struct Backoff {
    start: Instant,
    spins: u32,
}

impl Backoff {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            spins: 0,
        }
    }

    fn snooze(&mut self) {
        if !self.spins.is_multiple_of(SPIN_CHECK) || self.start.elapsed() < SPIN {
            self.spins = self.spins.wrapping_add(1);
            std::hint::spin_loop();
        } else {
            thread::park();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_index_runs_once_per_call() {
        for threads in [1, 2, 3] {
            let pool = Pool::new(threads);
            assert_eq!(pool.threads(), threads);
            let counts: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
            let caller = thread::current().id();
            for _ in 0..1000 {
                pool.run(&|i| {
                    counts[i].fetch_add(1, Ordering::Relaxed);
                    assert!(i != 0 || thread::current().id() == caller);
                });
            }
            for c in &counts {
                assert_eq!(c.load(Ordering::Relaxed), 1000);
            }
        }
    }

    #[test]
    fn runs_after_workers_have_parked() {
        let pool = Pool::new(2);
        let sum = AtomicU64::new(0);
        for round in 0..3 {
            thread::sleep(Duration::from_millis(5));
            pool.run(&|i| {
                sum.fetch_add(i as u64 + 1, Ordering::Relaxed);
            });
            assert_eq!(sum.load(Ordering::Relaxed), 3 * (round + 1));
        }
    }

    #[test]
    fn nested_run_executes_inline() {
        let pool = Pool::new(2);
        let inner = AtomicUsize::new(0);
        pool.run(&|_| {
            pool.run(&|_| {
                inner.fetch_add(1, Ordering::Relaxed);
            });
        });
        // Each of the two outer shares ran both inner indices.
        assert_eq!(inner.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn worker_panic_reaches_the_caller_and_the_pool_survives() {
        let pool = Pool::new(2);
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.run(&|i| {
                if i == 1 {
                    panic!("boom");
                }
            })
        }));
        assert!(result.is_err());
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.run(&|i| {
                if i == 0 {
                    panic!("boom");
                }
            })
        }));
        assert!(result.is_err());
        let count = AtomicUsize::new(0);
        pool.run(&|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 2);
    }
}
