//! A Program on the GPU: every buffer allocated and every pipeline and bind group made once, when
//! the program is loaded; a run records its dispatches into one command encoder and submits it
//! once. The per-step scalars and the live row count travel in one small uniform buffer.

use std::ops::Range;
use std::sync::Arc;

use super::device::{Gpu, GpuError};
use super::kernels::{self, Plan};
use super::pipelines::{Dispatch, Pipelines};
use crate::compile::{DType, Program};
use crate::engine::{Backend, EngineError, StepScalars, check_rows};

/// The uniform block every kernel reads: the step's scalars, then the live rows (`Globals` in
/// shaders/globals.wgsl).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Globals {
    scalars: StepScalars,
    rows: u32,
    padding: [u32; 3],
}

pub struct GpuBackend {
    gpu: Gpu,
    program: Arc<Program>,
    /// One per owning buffer; views use their base's.
    storage: Vec<wgpu::Buffer>,
    slot: Vec<usize>,
    globals: wgpu::Buffer,
    /// Per op of the program, its dispatches (none for views).
    dispatches: Vec<Vec<Dispatch>>,
    staging: wgpu::Buffer,
}

fn size_bytes(values: usize) -> u64 {
    (values.max(1) * 4) as u64
}

impl GpuBackend {
    /// Loads `program`: fails, saying why, when an op has no kernel yet or a buffer exceeds the
    /// device's limits, so the caller can keep the program on the CPU.
    pub fn new(gpu: Gpu, program: Arc<Program>) -> Result<Self, GpuError> {
        let device = &gpu.device;
        let capacity = program.batch_capacity;
        let mut slot = vec![0; program.buffers.len()];
        let mut storage = Vec::new();
        let mut largest = 4;
        for (id, buffer) in program.buffers.iter().enumerate() {
            if buffer.alias_of.is_some() {
                continue;
            }
            let size = size_bytes(buffer.len(capacity));
            if size > gpu.limits.max_storage_buffer_binding_size {
                return Err(GpuError::TooLarge {
                    name: buffer.name.clone(),
                    size_bytes: size,
                    limit_bytes: gpu.limits.max_storage_buffer_binding_size,
                });
            }
            largest = largest.max(size);
            slot[id] = storage.len();
            storage.push(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&buffer.name),
                size,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        for id in 0..program.buffers.len() {
            slot[id] = slot[program.storage_of(id)];
        }
        let globals = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("globals"),
            size: std::mem::size_of::<Globals>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: largest,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });

        let mut dispatches = Vec::with_capacity(program.steps.len());
        let mut pipelines = Pipelines::default();
        for step in &program.steps {
            let plans = kernels::plan(&step.op, &program.buffers)
                .ok_or_else(|| GpuError::Unsupported(step.op.label()))?;
            let bound = |plan: &Plan| -> Vec<(u32, &wgpu::Buffer)> {
                plan.bindings
                    .iter()
                    .map(|&(binding, buffer, _)| (binding, &storage[slot[buffer]]))
                    .collect()
            };
            let op_dispatches = plans
                .iter()
                .map(|plan| pipelines.dispatch(device, plan, &globals, &bound(plan)))
                .collect();
            dispatches.push(op_dispatches);
        }
        Ok(Self {
            gpu,
            program,
            storage,
            slot,
            globals,
            dispatches,
            staging,
        })
    }

    fn check_len(&self, buffer: usize, given: usize) -> Result<(), EngineError> {
        let capacity = self.program.buffers[buffer].len(self.program.batch_capacity);
        if given > capacity {
            return Err(EngineError::WrongLength {
                buffer,
                name: self.program.buffers[buffer].name.clone(),
                capacity,
                given,
            });
        }
        Ok(())
    }

    fn write_bytes(
        &mut self,
        buffer: usize,
        given: usize,
        bytes: &[u8],
    ) -> Result<(), EngineError> {
        self.check_len(buffer, given)?;
        self.gpu
            .queue
            .write_buffer(&self.storage[self.slot[buffer]], 0, bytes);
        Ok(())
    }
}

impl Backend for GpuBackend {
    fn name(&self) -> String {
        format!("GPU ({})", self.gpu.info.name)
    }

    fn write(&mut self, buffer: usize, data: &[f32]) -> Result<(), EngineError> {
        self.write_bytes(buffer, data.len(), bytemuck::cast_slice(data))
    }

    fn write_i32(&mut self, buffer: usize, data: &[i32]) -> Result<(), EngineError> {
        self.write_bytes(buffer, data.len(), bytemuck::cast_slice(data))
    }

    fn read(&mut self, buffer: usize, len: usize, out: &mut Vec<f32>) -> Result<(), EngineError> {
        self.check_len(buffer, len)?;
        out.clear();
        if len == 0 {
            return Ok(());
        }
        let bytes = size_bytes(len);
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.storage[self.slot[buffer]], 0, &self.staging, 0, bytes);
        self.gpu.queue.submit([encoder.finish()]);
        let slice = self.staging.slice(..bytes);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        let lost = |e: String| EngineError::DeviceLost(e);
        self.gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| lost(e.to_string()))?;
        receiver
            .recv()
            .map_err(|e| lost(e.to_string()))?
            .map_err(|e| lost(e.to_string()))?;
        {
            // i32 buffers come back as their bits, as the CPU backend keeps them.
            let mapped = slice.get_mapped_range().map_err(|e| lost(e.to_string()))?;
            out.extend_from_slice(&bytemuck::cast_slice::<u8, f32>(&mapped)[..len]);
        }
        self.staging.unmap();
        Ok(())
    }

    fn run(
        &mut self,
        steps: Range<usize>,
        rows: usize,
        scalars: &StepScalars,
    ) -> Result<(), EngineError> {
        check_rows(&self.program, rows)?;
        let globals = Globals {
            scalars: *scalars,
            rows: rows as u32,
            padding: [0; 3],
        };
        self.gpu
            .queue
            .write_buffer(&self.globals, 0, bytemuck::bytes_of(&globals));
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            let max = self.gpu.limits.max_compute_workgroups_per_dimension;
            for dispatch in self.dispatches[steps].iter().flatten() {
                let (x, y, z) = dispatch.grid.workgroups(rows, max);
                pass.set_pipeline(&dispatch.pipeline);
                pass.set_bind_group(0, &dispatch.bind_group, &[]);
                pass.dispatch_workgroups(x, y, z);
            }
        }
        self.gpu.queue.submit([encoder.finish()]);
        Ok(())
    }

    fn first_non_finite(
        &mut self,
        steps: Range<usize>,
        rows: usize,
        scalars: &StepScalars,
    ) -> Result<Option<usize>, EngineError> {
        let program = Arc::clone(&self.program);
        let mut values = Vec::new();
        for index in steps {
            self.run(index..index + 1, rows, scalars)?;
            for b in program.steps[index].op.writes() {
                let buffer = &program.buffers[b];
                if buffer.dtype == DType::F32 {
                    self.read(b, buffer.len(rows), &mut values)?;
                    if values.iter().any(|v| !v.is_finite()) {
                        return Ok(Some(index));
                    }
                }
            }
        }
        Ok(None)
    }
}
