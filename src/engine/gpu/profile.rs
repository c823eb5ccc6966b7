//! Kernel timing for `netloom bench --profile`: while profiling, each dispatch gets a compute
//! pass of its own whose start and end the device stamps; after the run the stamps are read
//! back and added to the time of the op the dispatch belongs to.

use super::device::Gpu;

pub struct Timestamps {
    query_set: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// The op of each pass stamped since the last `accumulate`; two stamps each.
    passes: Vec<usize>,
    capacity: usize,
    nanoseconds_per_tick: f64,
    op_seconds: Vec<f64>,
}

impl Timestamps {
    pub fn new(gpu: &Gpu, ops: usize) -> Self {
        let queries = wgpu::QUERY_SET_MAX_QUERIES;
        let bytes = queries as u64 * 8;
        let buffer = |label, usage| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as U;
        Self {
            query_set: gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel times"),
                ty: wgpu::QueryType::Timestamp,
                count: queries,
            }),
            resolved: buffer("kernel times", U::QUERY_RESOLVE | U::COPY_SRC),
            readback: buffer("kernel times readback", U::MAP_READ | U::COPY_DST),
            passes: Vec::new(),
            capacity: queries as usize / 2,
            nanoseconds_per_tick: gpu.queue.get_timestamp_period() as f64,
            op_seconds: vec![0.0; ops],
        }
    }

    /// Stamps for the next pass, which runs a dispatch of `op`; none once the set is full (a run
    /// of over 2,048 dispatches is timed in part).
    pub fn next_pass(&mut self, op: usize) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        if self.passes.len() >= self.capacity {
            return None;
        }
        let first = 2 * self.passes.len() as u32;
        self.passes.push(op);
        Some(wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: Some(first),
            end_of_pass_write_index: Some(first + 1),
        })
    }

    /// Records the copies that bring this run's stamps back; after `encoder` is submitted,
    /// `accumulate` reads them.
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let queries = 2 * self.passes.len() as u32;
        if queries > 0 {
            encoder.resolve_query_set(&self.query_set, 0..queries, &self.resolved, 0);
            encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readback, 0, queries as u64 * 8);
        }
    }

    /// Waits for the stamps resolved into the last submission and adds them to the op times.
    pub fn accumulate(&mut self, gpu: &Gpu) -> Result<(), String> {
        if self.passes.is_empty() {
            return Ok(());
        }
        let bytes = self.passes.len() as u64 * 16;
        let slice = self.readback.slice(..bytes);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = sender.send(r);
        });
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| e.to_string())?;
        receiver
            .recv()
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        {
            let view = slice.get_mapped_range().map_err(|e| e.to_string())?;
            let ticks: &[u64] = bytemuck::cast_slice(&view);
            for (pair, &op) in ticks.chunks_exact(2).zip(&self.passes) {
                let elapsed = pair[1].saturating_sub(pair[0]) as f64;
                self.op_seconds[op] += elapsed * self.nanoseconds_per_tick * 1e-9;
            }
        }
        self.readback.unmap();
        self.passes.clear();
        Ok(())
    }

    pub fn op_seconds(&self) -> &[f64] {
        &self.op_seconds
    }
}
