//! The GPU executor, built on wgpu. This first part finds and opens a device; the kernels of
//! the Program's ops (WGSL in `shaders/`) and the `Backend` on top of them come next.

mod device;

pub use device::{AdapterSummary, Gpu, GpuError, list_adapters, open};
