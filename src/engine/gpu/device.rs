//! Adapter choice and device creation. `auto` prefers a discrete GPU, then an integrated one;
//! a software rasterizer (lavapipe, llvmpipe) is used only when asked for, as in tests, since
//! the CPU backend beats it. The device asks for the adapter's own limits: the defaults are
//! sized for rendering and too small for compute.

use std::sync::{Arc, Mutex};

use wgpu::{Backends, DeviceType};

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter was found{0}")]
    NoAdapter(&'static str),
    #[error("the GPU adapter {name} could not open a device: {reason}")]
    Device { name: String, reason: String },
    #[error("the {0} has no GPU kernel yet")]
    Unsupported(String),
    #[error(
        "{name} needs {}, more than the GPU's limit of {} for one buffer",
        crate::compile::bytes_text(*size_bytes as f64),
        crate::compile::bytes_text(*limit_bytes as f64)
    )]
    TooLarge {
        name: String,
        size_bytes: u64,
        limit_bytes: u64,
    },
}

/// What `netloom devices` shows of an adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub max_buffer_size_bytes: u64,
    pub max_storage_buffer_binding_size_bytes: u64,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_storage_buffers_per_shader_stage: u32,
}

/// An open device.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// Why the device stopped working, once it has: lost, out of memory, or an error in our
    /// own use of it. wgpu reports these from its callbacks, not from the calls that fail.
    failure: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().map_or(None, |f| f.clone())
    }

    /// Whether kernels can be timed (for `netloom bench --profile`).
    pub fn has_timestamps(&self) -> bool {
        self.device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Replaces wgpu's default of panicking on an error: the first failure is kept for
    /// `failure`, so that the trainer can move to the CPU instead.
    fn watch(self) -> Self {
        let record = |failure: &Arc<Mutex<Option<String>>>, why: String| {
            if let Ok(mut slot) = failure.lock() {
                slot.get_or_insert(why);
            }
        };
        let failure = Arc::clone(&self.failure);
        self.device.set_device_lost_callback(move |_, message| {
            record(&failure, format!("the device was lost ({message})"))
        });
        let failure = Arc::clone(&self.failure);
        self.device
            .on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
                record(&failure, error.to_string())
            }));
        self
    }
}

/// Vulkan, Metal or DX12 (compute on GL is limited), unless `WGPU_BACKEND` says otherwise.
fn backends() -> Backends {
    Backends::from_env().unwrap_or(Backends::PRIMARY)
}

fn adapters() -> Vec<wgpu::Adapter> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = backends();
    pollster::block_on(wgpu::Instance::new(desc).enumerate_adapters(backends()))
}

/// Lower is better; `None` when the adapter is not to be used.
fn rank(device_type: DeviceType, allow_software: bool) -> Option<u8> {
    match device_type {
        DeviceType::DiscreteGpu => Some(0),
        DeviceType::IntegratedGpu => Some(1),
        DeviceType::VirtualGpu => Some(2),
        DeviceType::Other => Some(3),
        DeviceType::Cpu => allow_software.then_some(4),
    }
}

pub fn list_adapters() -> Vec<AdapterSummary> {
    adapters()
        .iter()
        .map(|adapter| {
            let (info, limits) = (adapter.get_info(), adapter.limits());
            AdapterSummary {
                name: info.name,
                backend: format!("{:?}", info.backend),
                device_type: match info.device_type {
                    DeviceType::DiscreteGpu => "discrete GPU".into(),
                    DeviceType::IntegratedGpu => "integrated GPU".into(),
                    DeviceType::VirtualGpu => "virtual GPU".into(),
                    DeviceType::Cpu => "software (CPU)".into(),
                    DeviceType::Other => "other".into(),
                },
                max_buffer_size_bytes: limits.max_buffer_size,
                max_storage_buffer_binding_size_bytes: limits.max_storage_buffer_binding_size,
                max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
                max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
                max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            }
        })
        .collect()
}

/// Opens the best adapter: hardware first, software only when `allow_software`.
pub fn open(allow_software: bool) -> Result<Gpu, GpuError> {
    let best = adapters()
        .into_iter()
        .filter_map(|a| rank(a.get_info().device_type, allow_software).map(|r| (r, a)))
        .min_by_key(|(r, _)| *r)
        .map(|(_, a)| a);
    let Some(adapter) = best else {
        return Err(GpuError::NoAdapter(if allow_software {
            ""
        } else {
            " (software adapters are left to the CPU backend)"
        }));
    };
    let (info, limits) = (adapter.get_info(), adapter.limits());
    let desc = wgpu::DeviceDescriptor {
        label: Some("netloom"),
        required_limits: limits.clone(),
        required_features: adapter.features() & wgpu::Features::TIMESTAMP_QUERY,
        ..Default::default()
    };
    let (device, queue) =
        pollster::block_on(adapter.request_device(&desc)).map_err(|e| GpuError::Device {
            name: info.name.clone(),
            reason: e.to_string(),
        })?;
    Ok(Gpu {
        device,
        queue,
        info,
        limits,
        failure: Arc::default(),
    }
    .watch())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardware_comes_first_and_software_only_when_asked() {
        let order = [
            DeviceType::Cpu,
            DeviceType::IntegratedGpu,
            DeviceType::DiscreteGpu,
        ];
        let best = |allow| {
            order
                .iter()
                .filter_map(|&t| rank(t, allow).map(|r| (r, t)))
                .min_by_key(|(r, _)| *r)
                .map(|(_, t)| t)
        };
        assert_eq!(best(false), Some(DeviceType::DiscreteGpu));
        assert_eq!(rank(DeviceType::Cpu, false), None);
        assert_eq!(rank(DeviceType::Cpu, true), Some(4));
        assert!(rank(DeviceType::IntegratedGpu, false) < rank(DeviceType::VirtualGpu, false));
    }
}
