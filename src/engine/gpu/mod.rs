//! The GPU executor, built on wgpu: adapter choice and device creation, and a `Backend` that runs
//! a Program's ops as our own WGSL kernels (`shaders/`). Every op has a kernel except
//! convolution; a program with one is refused with the op's name, and trains on the CPU.

mod backend;
mod device;
mod kernels;

pub use backend::GpuBackend;
pub use device::{AdapterSummary, Gpu, GpuError, list_adapters, open};
