//! Tensor statistics on the device (shaders/stats.wgsl): four dispatches per tensor, after
//! which `STATS_WORDS` words wait in `result` to be copied out. Bind groups are made the first
//! time a buffer is asked about and kept.

use std::collections::HashMap;

use super::kernels::{Family, Grid, Plan};
use super::pipelines::{Dispatch, Pipelines};
use crate::engine::STATS_WORDS;

/// Workgroups of the first pass at most; `stats_finish` merges one summary per thread.
const MAX_GROUPS: usize = 256;
const SUMMARY_WORDS: usize = 8;

pub struct StatsKernels {
    partials: wgpu::Buffer,
    pub result: wgpu::Buffer,
    /// Per storage slot: the partial, finish, histogram and silent-unit dispatches over it.
    bound: HashMap<usize, [Dispatch; 4]>,
}

impl StatsKernels {
    pub fn new(device: &wgpu::Device) -> Self {
        let buffer = |label, words: usize, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (words * 4) as u64,
                usage: wgpu::BufferUsages::STORAGE | usage,
                mapped_at_creation: false,
            })
        };
        Self {
            partials: buffer(
                "statistics partials",
                MAX_GROUPS * SUMMARY_WORDS,
                wgpu::BufferUsages::empty(),
            ),
            result: buffer("statistics", STATS_WORDS, wgpu::BufferUsages::COPY_SRC),
            bound: HashMap::new(),
        }
    }

    /// Records the statistics of the first `len` values of `input` (storage slot `slot`), rows
    /// of `width` units, into `result`. The constants are written through the queue, so they
    /// take effect with the next submission, which must be the one holding this pass.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        pipelines: &mut Pipelines,
        globals: &wgpu::Buffer,
        encoder: &mut wgpu::CommandEncoder,
        (slot, input): (usize, &wgpu::Buffer),
        (len, width): (usize, usize),
    ) {
        let groups = len.div_ceil(256).clamp(1, MAX_GROUPS);
        let width = width.clamp(1, len.max(1));
        let unit_groups = width.div_ceil(256).clamp(1, MAX_GROUPS);
        let (partials, result) = (&self.partials, &self.result);
        let dispatches = self.bound.entry(slot).or_insert_with(|| {
            [
                "stats_partial",
                "stats_finish",
                "stats_histogram",
                "stats_units",
            ]
            .map(|entry| {
                let plan = Plan {
                    family: Family::Stats,
                    entry,
                    params: vec![0; 4],
                    bindings: vec![(2, slot, false), (3, slot, true), (4, slot, true)],
                    grid: Grid::Single,
                    scratch_len: 0,
                };
                pipelines.dispatch(
                    device,
                    &plan,
                    globals,
                    &[(2, input), (3, partials), (4, result)],
                )
            })
        });
        let params = [len as u32, groups as u32, width as u32, 0];
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for (dispatch, workgroups) in dispatches.iter().zip([groups, 1, groups, unit_groups]) {
            queue.write_buffer(&dispatch.params, 0, bytemuck::cast_slice(&params));
            pass.set_pipeline(&dispatch.pipeline);
            pass.set_bind_group(0, &dispatch.bind_group, &[]);
            pass.dispatch_workgroups(workgroups as u32, 1, 1);
        }
    }
}
