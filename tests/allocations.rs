//! A training step allocates nothing once the session is set up: buffers are made once per
//! program and batches are staged in reused memory. Counted with a global allocator, so this
//! file holds only this test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_training_steps_do_not_allocate() {
    let sequences = "tests/fixtures/pytorch_sequences";
    for (dir, example, threads) in [
        ("assets/examples", "batchnorm_dropout.json", 1),
        ("assets/examples", "residual_mlp.json", 2),
        ("assets/examples", "mnist_cnn.json", 1),
        ("assets/examples", "mnist_cnn.json", 2),
        // Recurrence and attention, over token ids, with a short batch ending each epoch.
        (sequences, "bigru2.json", 2),
        (sequences, "lstm.json", 1),
        (sequences, "gpt.json", 2),
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut project = netloom::io::load_project(&dir.join(example)).unwrap();
        project.training.epochs = 1000;
        let prepared = netloom::train::prepare(&project, &dir).unwrap();
        let mut session = netloom::train::cpu_session(&project, &prepared, threads).unwrap();
        // Warm up: thread pools and per-thread GEMM scratch are set up on first use.
        let per_epoch = session.steps_per_epoch() as usize;
        for _ in 0..per_epoch + 2 {
            session.step().unwrap().unwrap();
        }
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..per_epoch.min(20) {
            session.step().unwrap().unwrap();
        }
        let allocated = ALLOCATIONS.load(Ordering::Relaxed) - before;
        assert_eq!(
            allocated, 0,
            "{example} with {threads} thread(s) allocated {allocated} times"
        );
    }
}
