//! The GPU executor, built on wgpu: adapter choice and device creation, and a `Backend` that runs
//! a Program's ops as our own WGSL kernels (`shaders/`, one file per kernel family). An op
//! without a kernel, or a buffer past the device's limits, is refused when a program loads, so
//! that it trains on the CPU instead.

mod backend;
mod device;
mod gemm;
mod kernels;
mod pipelines;
mod profile;
mod stats;
mod sweep;

pub use backend::GpuBackend;
pub use device::{AdapterSummary, Gpu, GpuError, list_adapters, open};
pub use sweep::{SweepPoint, matmul_sweep};
