//! Program execution. `Backend` is what every executor offers; `cpu` is the reference executor.

pub mod cpu;
pub mod gpu;
mod slots;
mod stats;

pub use stats::{
    HISTOGRAM_BINS, STATS_WORDS, TensorStats, bins_per_unit, histogram_bin, statistics_into,
    statistics_words,
};

use std::ops::Range;

use crate::compile::BufferId;

/// The few values that may change every step without recompiling, passed to every run (on the
/// GPU, one small uniform buffer). Changing them is how settings take effect while training.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepScalars {
    pub learning_rate: f32,
    /// SGD momentum.
    pub momentum: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
    /// RMSProp's smoothing constant.
    pub alpha: f32,
    /// L2 penalty (decoupled for AdamW).
    pub weight_decay: f32,
    pub l1: f32,
    /// Global gradient-norm clip; 0 turns clipping off.
    pub clip_norm: f32,
    /// 1-based count of this update (Adam's bias correction; the dropout stream).
    pub step: u32,
    /// The run's seed, folded to 32 bits, for dropout masks.
    pub seed: u32,
    /// Adam's bias corrections for this step: `1 - beta1^step` and `1 / sqrt(1 - beta2^step)`.
    /// Set by `at_step`.
    pub bias_correction1: f32,
    pub inv_sqrt_bias_correction2: f32,
}

impl StepScalars {
    /// These scalars for update number `step` (1-based). Adam's bias corrections are worked out
    /// here, once and in f64, for every backend alike: in f32, `1 - 0.999^t` keeps few correct
    /// digits, and a GPU's `pow` keeps fewer, which showed as a 6e-5 difference in the very
    /// first update.
    pub fn at_step(self, step: u32) -> Self {
        let t = step.max(1) as i32;
        Self {
            step,
            bias_correction1: (1.0 - (self.beta1 as f64).powi(t)) as f32,
            inv_sqrt_bias_correction2: (1.0 / (1.0 - (self.beta2 as f64).powi(t)).sqrt()) as f32,
            ..self
        }
    }
}

impl Default for StepScalars {
    fn default() -> Self {
        Self {
            learning_rate: 0.01,
            momentum: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            alpha: 0.99,
            weight_decay: 0.0,
            l1: 0.0,
            clip_norm: 0.0,
            step: 1,
            seed: 0,
            bias_correction1: 0.0,
            inv_sqrt_bias_correction2: 0.0,
        }
        .at_step(1)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    #[error("buffer {buffer} ({name}) holds {capacity} values; {given} were given")]
    WrongLength {
        buffer: BufferId,
        name: String,
        capacity: usize,
        given: usize,
    },
    #[error("a batch of {rows} rows does not fit the program's capacity of {capacity}")]
    BatchTooLarge { rows: usize, capacity: usize },
    #[error("the device was lost: {0}")]
    DeviceLost(String),
}

/// What a `request` brings back from a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// Its first `len` values.
    Values { buffer: BufferId, len: usize },
    /// `STATS_WORDS` words of statistics over its first `len` values, seen as rows of `width`.
    Statistics {
        buffer: BufferId,
        len: usize,
        width: usize,
    },
}

impl Fetch {
    pub fn words(&self) -> usize {
        match *self {
            Fetch::Values { len, .. } => len,
            Fetch::Statistics { .. } => STATS_WORDS,
        }
    }
}

/// A request whose values have not been collected yet.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a request holds its readback until it is collected"]
pub struct Ticket(pub(crate) usize);

/// Runs one compiled `Program`. Buffers are allocated when the backend is made for a program and
/// live as long as it does.
pub trait Backend: Send {
    /// A short description for the user: "CPU (2 threads)", or the adapter's name.
    fn name(&self) -> String;

    /// Writes the first `data.len()` values of an f32 buffer.
    fn write(&mut self, buffer: BufferId, data: &[f32]) -> Result<(), EngineError>;

    /// Writes the first `data.len()` values of an i32 buffer (class labels, token ids).
    fn write_i32(&mut self, buffer: BufferId, data: &[i32]) -> Result<(), EngineError>;

    /// Asks for `fetches` as they will be once the work already run has finished, without
    /// waiting for it: the trainer collects a step's loss while the next step runs.
    fn request(&mut self, fetches: &[Fetch]) -> Result<Ticket, EngineError>;

    /// The words a request asked for, in order, into `out` (cleared first); waits only until
    /// the work before the request has finished.
    fn collect(&mut self, ticket: Ticket, out: &mut Vec<f32>) -> Result<(), EngineError>;

    /// Reads the first `len` values of an f32 buffer into `out` (cleared first), now.
    fn read(
        &mut self,
        buffer: BufferId,
        len: usize,
        out: &mut Vec<f32>,
    ) -> Result<(), EngineError> {
        let ticket = self.request(&[Fetch::Values { buffer, len }])?;
        self.collect(ticket, out)
    }

    /// Statistics of the first `len` values of a buffer, rows of `width` units, now.
    fn statistics(
        &mut self,
        buffer: BufferId,
        len: usize,
        width: usize,
    ) -> Result<TensorStats, EngineError> {
        let mut words = Vec::with_capacity(STATS_WORDS);
        let ticket = self.request(&[Fetch::Statistics { buffer, len, width }])?;
        self.collect(ticket, &mut words)?;
        Ok(TensorStats::from_words(len, &words))
    }

    /// Whether the device can go away mid-run (a GPU can; the CPU cannot), so that the trainer
    /// keeps a copy of the weights on the host to carry on from.
    fn can_be_lost(&self) -> bool {
        false
    }

    /// Runs the ops in `steps` (a range of the program's op list) on `rows` live samples.
    fn run(
        &mut self,
        steps: Range<usize>,
        rows: usize,
        scalars: &StepScalars,
    ) -> Result<(), EngineError>;

    /// Starts (and zeroes) or stops timing each op; for `netloom bench --profile`.
    fn set_profiling(&mut self, _on: bool) {}

    /// Time spent in each op of the program since profiling started, where the backend measures it.
    fn op_seconds(&self) -> Option<&[f64]> {
        None
    }

    /// Runs the ops in `steps` one at a time and returns the index of the first whose output holds a
    /// NaN or an infinity: how a non-finite loss is traced to the layer that produced it.
    fn first_non_finite(
        &mut self,
        steps: Range<usize>,
        rows: usize,
        scalars: &StepScalars,
    ) -> Result<Option<usize>, EngineError>;
}

/// Refuses a run on more rows than the program's buffers hold.
pub fn check_rows(program: &crate::compile::Program, rows: usize) -> Result<(), EngineError> {
    let capacity = program.batch_capacity;
    if rows > capacity {
        return Err(EngineError::BatchTooLarge { rows, capacity });
    }
    Ok(())
}

/// Whether dropout keeps element `index` of mask `stream` at `step`: a counter-based hash, so any
/// backend draws the same mask without sharing generator state.
pub fn dropout_keeps(seed: u32, step: u32, stream: u32, index: u32, rate: f32) -> bool {
    let mut h = seed ^ step.wrapping_mul(0x9E37_79B9) ^ stream.wrapping_mul(0x85EB_CA6B);
    h ^= index.wrapping_mul(0xC2B2_AE35);
    // PCG-style output permutation (as in the "hash without sine" family).
    h = h.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    h = ((h >> ((h >> 28) + 4)) ^ h).wrapping_mul(277_803_737);
    h = (h >> 22) ^ h;
    (h >> 8) as f32 * (1.0 / (1u32 << 24) as f32) >= rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_keeps_about_one_minus_rate() {
        for rate in [0.1f32, 0.5, 0.9] {
            let kept = (0..100_000u32)
                .filter(|&i| dropout_keeps(7, 3, 1, i, rate))
                .count();
            let fraction = kept as f32 / 100_000.0;
            assert!(
                (fraction - (1.0 - rate)).abs() < 0.01,
                "rate {rate}: kept {fraction}"
            );
        }
        let a: Vec<bool> = (0..64).map(|i| dropout_keeps(1, 1, 0, i, 0.5)).collect();
        let b: Vec<bool> = (0..64).map(|i| dropout_keeps(1, 2, 0, i, 0.5)).collect();
        assert_ne!(a, b, "each step draws a new mask");
    }
}
