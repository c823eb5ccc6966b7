//! A Program on the GPU: every buffer allocated and every pipeline and bind group made once, when
//! the program is loaded. Runs record their dispatches into one open command encoder, which is
//! submitted once per step, together with the copies that bring the step's loss back; those
//! copies are mapped when the trainer collects them, a step later, so the device never idles
//! while the host waits. The per-step scalars and the live row count travel in one small uniform
//! buffer.

use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use bytemuck::Zeroable;

use super::device::{Gpu, GpuError};
use super::kernels::{self, Plan};
use super::pipelines::{Dispatch, Pipelines};
use super::profile::Timestamps;
use super::stats::StatsKernels;
use crate::compile::{DType, Program};
use crate::engine::slots::Slots;
use crate::engine::{Backend, EngineError, Fetch, StepScalars, Ticket, check_rows};

/// The uniform block every kernel reads: the step's scalars, then the live rows (`Globals` in
/// shaders/globals.wgsl).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct Globals {
    scalars: StepScalars,
    rows: u32,
    padding: [u32; 2],
}

/// A mappable buffer that a request's copies land in.
#[derive(Default)]
struct Staging {
    buffer: Option<wgpu::Buffer>,
    pending: Option<Pending>,
}

/// Copies submitted and not yet read.
struct Pending {
    submitted: wgpu::SubmissionIndex,
    bytes: u64,
    mapped: Receiver<Result<(), wgpu::BufferAsyncError>>,
}

pub struct GpuBackend {
    gpu: Gpu,
    program: Arc<Program>,
    /// One per owning buffer; views use their base's.
    storage: Vec<wgpu::Buffer>,
    slot: Vec<usize>,
    /// The partial blocks of split products (bound in `dispatches`, kept with them).
    _scratch: wgpu::Buffer,
    globals: wgpu::Buffer,
    pipelines: Pipelines,
    /// Per op of the program, its dispatches (none for views).
    dispatches: Vec<Vec<Dispatch>>,
    stats: StatsKernels,
    /// Work recorded and not yet submitted, and the globals it runs with.
    encoder: Option<(wgpu::CommandEncoder, Globals)>,
    staging: Slots<Staging>,
    /// Per-op timing, while profiling on a device with timestamp queries.
    timestamps: Option<Timestamps>,
}

/// Whole vec4s: the product kernels read their inputs as vec4s.
fn size_bytes(values: usize) -> u64 {
    (values.max(1).div_ceil(4) * 16) as u64
}

impl GpuBackend {
    /// Loads `program`: fails, saying why, when an op has no kernel yet or a buffer exceeds the
    /// device's limits, so the caller can keep the program on the CPU.
    pub fn new(gpu: Gpu, program: Arc<Program>) -> Result<Self, GpuError> {
        let device = &gpu.device;
        let capacity = program.batch_capacity;
        let mut slot = vec![0; program.buffers.len()];
        let mut storage = Vec::new();
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

        let mut plans = Vec::with_capacity(program.steps.len());
        for step in &program.steps {
            plans.push(
                kernels::plan(&step.op, &program.buffers, capacity)
                    .ok_or_else(|| GpuError::Unsupported(step.op.label()))?,
            );
        }
        // One scratch buffer serves every split product: they run one after another.
        let scratch_len = plans.iter().flatten().map(|p| p.scratch_len).max();
        let scratch_size = size_bytes(scratch_len.unwrap_or(0));
        if scratch_size > gpu.limits.max_storage_buffer_binding_size {
            return Err(GpuError::TooLarge {
                name: "the partial sums of a split product".into(),
                size_bytes: scratch_size,
                limit_bytes: gpu.limits.max_storage_buffer_binding_size,
            });
        }
        let scratch = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("scratch"),
            size: scratch_size,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let mut pipelines = Pipelines::default();
        let bound = |plan: &Plan| -> Vec<(u32, &wgpu::Buffer)> {
            plan.bindings
                .iter()
                .map(|&(binding, buffer, _)| match buffer {
                    kernels::SCRATCH => (binding, &scratch),
                    _ => (binding, &storage[slot[buffer]]),
                })
                .collect()
        };
        let dispatches = plans
            .iter()
            .map(|op_plans| {
                op_plans
                    .iter()
                    .map(|plan| pipelines.dispatch(device, plan, &globals, &bound(plan)))
                    .collect()
            })
            .collect();
        let stats = StatsKernels::new(device);
        if let Some(why) = gpu.failure() {
            return Err(GpuError::Device {
                name: gpu.info.name.clone(),
                reason: why,
            });
        }
        Ok(Self {
            gpu,
            program,
            storage,
            slot,
            _scratch: scratch,
            globals,
            pipelines,
            dispatches,
            stats,
            encoder: None,
            staging: Slots::default(),
            timestamps: None,
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

    /// Fails once the device has, so that the caller stops using it.
    fn check_device(&self) -> Result<(), EngineError> {
        match self.gpu.failure() {
            Some(why) => Err(EngineError::DeviceLost(why)),
            None => Ok(()),
        }
    }

    /// Submits the recorded work, if any.
    fn flush(&mut self) -> Option<wgpu::SubmissionIndex> {
        let (encoder, _) = self.encoder.take()?;
        Some(self.gpu.queue.submit([encoder.finish()]))
    }

    /// Opens the encoder for work that runs with `globals`. Work recorded under other globals
    /// is submitted first: the uniform holds one value per submission.
    fn open_encoder(&mut self, globals: Globals) {
        if self.encoder.as_ref().is_some_and(|(_, g)| *g != globals) {
            self.flush();
        }
        if self.encoder.is_none() {
            self.gpu
                .queue
                .write_buffer(&self.globals, 0, bytemuck::bytes_of(&globals));
            let encoder = self.gpu.device.create_command_encoder(&Default::default());
            self.encoder = Some((encoder, globals));
        }
    }

    fn write_bytes(
        &mut self,
        buffer: usize,
        given: usize,
        bytes: &[u8],
    ) -> Result<(), EngineError> {
        self.check_len(buffer, given)?;
        self.check_device()?;
        // Queue writes land before the next submission: recorded work that must read the old
        // contents goes first.
        self.flush();
        self.gpu
            .queue
            .write_buffer(&self.storage[self.slot[buffer]], 0, bytes);
        Ok(())
    }

    /// Submits a profiled run with its timestamps and adds them to the op times.
    fn finish_profile(&mut self) -> Result<(), EngineError> {
        if let (Some((encoder, _)), Some(timestamps)) = (&mut self.encoder, &self.timestamps) {
            timestamps.resolve(encoder);
        }
        self.flush();
        match &mut self.timestamps {
            Some(timestamps) => timestamps
                .accumulate(&self.gpu)
                .map_err(EngineError::DeviceLost),
            None => Ok(()),
        }
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

    fn request(&mut self, fetches: &[Fetch]) -> Result<Ticket, EngineError> {
        for fetch in fetches {
            let (Fetch::Values { buffer, len } | Fetch::Statistics { buffer, len, .. }) = *fetch;
            self.check_len(buffer, len)?;
        }
        self.check_device()?;
        let bytes: u64 = fetches.iter().map(|f| f.words() as u64 * 4).sum();
        let index = self.staging.take();
        let staging = &mut self.staging.slots[index];
        if staging.buffer.as_ref().is_none_or(|b| b.size() < bytes) {
            staging.buffer = Some(self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: bytes.max(4),
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        let target = staging.buffer.clone().expect("made above");
        // Copies need no globals: they join whatever is open.
        let globals = self.encoder.as_ref().map_or(Globals::zeroed(), |(_, g)| *g);
        self.open_encoder(globals);
        let (encoder, _) = self.encoder.as_mut().expect("opened above");
        let mut offset = 0;
        for fetch in fetches {
            let size = fetch.words() as u64 * 4;
            match *fetch {
                Fetch::Values { buffer, .. } => {
                    let source = &self.storage[self.slot[buffer]];
                    if size > 0 {
                        encoder.copy_buffer_to_buffer(source, 0, &target, offset, size);
                    }
                }
                Fetch::Statistics { buffer, len, width } => {
                    let slot = self.slot[buffer];
                    self.stats.record(
                        &self.gpu.device,
                        &self.gpu.queue,
                        &mut self.pipelines,
                        &self.globals,
                        encoder,
                        (slot, &self.storage[slot]),
                        (len, width),
                    );
                    encoder.copy_buffer_to_buffer(&self.stats.result, 0, &target, offset, size);
                }
            }
            offset += size;
        }
        let submitted = self.flush().expect("opened above");
        let (sender, receiver) = channel();
        target
            .slice(..bytes.max(4))
            .map_async(wgpu::MapMode::Read, move |result| {
                let _ = sender.send(result);
            });
        self.staging.slots[index].pending = Some(Pending {
            submitted,
            bytes,
            mapped: receiver,
        });
        Ok(Ticket(index))
    }

    fn collect(&mut self, ticket: Ticket, out: &mut Vec<f32>) -> Result<(), EngineError> {
        out.clear();
        let staging = &mut self.staging.slots[ticket.0];
        let (
            Some(buffer),
            Some(Pending {
                submitted,
                bytes,
                mapped,
            }),
        ) = (&staging.buffer, staging.pending.take())
        else {
            self.staging.give_back(ticket.0);
            return Ok(());
        };
        let lost = |e: String| EngineError::DeviceLost(e);
        let waited = self.gpu.device.poll(wgpu::PollType::Wait {
            submission_index: Some(submitted),
            timeout: None,
        });
        let mapped = waited
            .map_err(|e| e.to_string())
            .and_then(|_| mapped.recv().map_err(|e| e.to_string()))
            .and_then(|r| r.map_err(|e| e.to_string()));
        let copied = mapped.and_then(|()| {
            let range = buffer.slice(..bytes.max(4));
            let view = range.get_mapped_range().map_err(|e| e.to_string())?;
            // i32 buffers come back as their bits, as the CPU backend keeps them.
            out.extend_from_slice(&bytemuck::cast_slice::<u8, f32>(&view)[..bytes as usize / 4]);
            Ok(())
        });
        if copied.is_ok() {
            buffer.unmap();
        }
        self.staging.give_back(ticket.0);
        copied.map_err(|e| lost(self.gpu.failure().unwrap_or(e)))?;
        self.check_device()
    }

    fn run(
        &mut self,
        steps: Range<usize>,
        rows: usize,
        scalars: &StepScalars,
    ) -> Result<(), EngineError> {
        check_rows(&self.program, rows)?;
        self.check_device()?;
        let globals = Globals {
            scalars: *scalars,
            rows: rows as u32,
            padding: [0; 2],
        };
        let max = self.gpu.limits.max_compute_workgroups_per_dimension;
        self.open_encoder(globals);
        let (encoder, _) = self.encoder.as_mut().expect("opened above");
        let Some(timestamps) = &mut self.timestamps else {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for dispatch in self.dispatches[steps].iter().flatten() {
                let (x, y, z) = dispatch.grid.workgroups(rows, max);
                pass.set_pipeline(&dispatch.pipeline);
                pass.set_bind_group(0, &dispatch.bind_group, &[]);
                pass.dispatch_workgroups(x, y, z);
            }
            return Ok(());
        };
        for op in steps {
            for dispatch in &self.dispatches[op] {
                let (x, y, z) = dispatch.grid.workgroups(rows, max);
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: timestamps.next_pass(op),
                });
                pass.set_pipeline(&dispatch.pipeline);
                pass.set_bind_group(0, &dispatch.bind_group, &[]);
                pass.dispatch_workgroups(x, y, z);
            }
        }
        self.finish_profile()
    }

    fn set_profiling(&mut self, on: bool) {
        self.timestamps = (on && self.gpu.has_timestamps())
            .then(|| Timestamps::new(&self.gpu, self.program.steps.len()));
    }

    fn op_seconds(&self) -> Option<&[f64]> {
        self.timestamps.as_ref().map(Timestamps::op_seconds)
    }

    fn can_be_lost(&self) -> bool {
        true
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
