//! The GPU executor, built on wgpu: adapter choice and device creation, and a `Backend` that runs
//! a Program's ops as our own WGSL kernels (`shaders/`). Kernels exist so far for element-wise
//! ops and matrix products; a program with other ops is refused with the op's name.

mod backend;
mod device;
mod kernels;

pub use backend::GpuBackend;
pub use device::{AdapterSummary, Gpu, GpuError, list_adapters, open};
