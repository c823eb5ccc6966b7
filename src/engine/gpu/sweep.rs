//! The matmul sweep of `netloom bench`: square products timed on the device, the tiled kernel the
//! engine runs against a plain 16x16 shared-memory kernel (shaders/matmul_plain.wgsl), in the
//! same run and on the same inputs, whose results are compared as well.

use std::time::Instant;

use bytemuck::Zeroable;
use wgpu::util::DeviceExt;

use super::backend::Globals;
use super::device::{Gpu, GpuError};
use super::gemm::{self, Product};
use super::kernels::{Family, Grid, Plan, SCRATCH};
use super::pipelines::{Dispatch, Pipelines};
use crate::compile::Extent;
use crate::rng::Rng;

/// One size of the sweep.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    pub size: usize,
    /// The tiled kernel's entry point, as the engine picks it for this size.
    pub tiled_kernel: &'static str,
    pub tiled_gflop_s: f64,
    pub plain_gflop_s: f64,
    /// The largest difference between the two kernels' results, relative to the value where
    /// it is over 1.
    pub max_difference: f32,
    /// The tiled kernel's largest error, likewise, on 64 outputs recomputed on the host in f64.
    pub max_error: f64,
}

/// Times `size`x`size` products for each of `sizes`: each kernel `runs` times (the median
/// counts), each time repeated for about `seconds` after a warm-up.
pub fn matmul_sweep(
    gpu: &Gpu,
    sizes: &[usize],
    runs: usize,
    seconds: f64,
) -> Result<Vec<SweepPoint>, GpuError> {
    sizes
        .iter()
        .map(|&size| sweep_point(gpu, size, runs.max(1), seconds))
        .collect()
}

fn failed(gpu: &Gpu, reason: String) -> GpuError {
    GpuError::Device {
        name: gpu.info.name.clone(),
        reason: gpu.failure().unwrap_or(reason),
    }
}

fn sweep_point(gpu: &Gpu, size: usize, runs: usize, seconds: f64) -> Result<SweepPoint, GpuError> {
    let device = &gpu.device;
    let values = size * size;
    let mut rng = Rng::new(size as u64);
    // Whole vec4s, as the tiled kernels read them.
    let mut random = || -> Vec<f32> {
        let mut data: Vec<f32> = (0..values).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
        data.resize(values.div_ceil(4) * 4, 0.0);
        data
    };
    let (a_values, b_values) = (random(), random());
    let input = |label, data: &[f32]| {
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: wgpu::BufferUsages::STORAGE,
        })
    };
    let (a, b) = (input("a", &a_values), input("b", &b_values));
    let output = |label, values: usize| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (values.max(4) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    };
    let (tiled_out, plain_out) = (output("tiled", values), output("plain", values));
    let globals = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("globals"),
        contents: bytemuck::bytes_of(&Globals::zeroed()),
        usage: wgpu::BufferUsages::UNIFORM,
    });

    let square = Extent::fixed(size);
    let product = Product {
        a: 0,
        b: 1,
        out: 2,
        trans_a: false,
        trans_b: false,
        m: square,
        n: square,
        k: square,
    };
    let tiled = gemm::matmul(product, Extent::fixed(values), 1);
    let scratch = output(
        "scratch",
        tiled.iter().map(|p| p.scratch_len).max().unwrap_or(0),
    );
    let plain = Plan {
        family: Family::MatmulPlain,
        entry: "matmul_16x16",
        params: gemm::words([square; 3], (false, false), 0),
        bindings: vec![(2, 0, false), (3, 1, false), (4, 3, true)],
        grid: Grid::Tiles {
            m: square,
            n: square,
            tile: 16,
            split: None,
        },
        scratch_len: 0,
    };
    let mut pipelines = Pipelines::default();
    let mut dispatch = |plan: &Plan| {
        let storage: Vec<(u32, &wgpu::Buffer)> = plan
            .bindings
            .iter()
            .map(|&(binding, buffer, _)| {
                let bound = match buffer {
                    0 => &a,
                    1 => &b,
                    2 => &tiled_out,
                    SCRATCH => &scratch,
                    _ => &plain_out,
                };
                (binding, bound)
            })
            .collect();
        pipelines.dispatch(device, plan, &globals, &storage)
    };
    let tiled_dispatches: Vec<Dispatch> = tiled.iter().map(&mut dispatch).collect();
    let plain_dispatches = [dispatch(&plain)];

    let flop = 2.0 * (size as f64).powi(3);
    let tiled_secs = time(gpu, &tiled_dispatches, runs, seconds)?;
    let plain_secs = time(gpu, &plain_dispatches, runs, seconds)?;
    let (t, p) = (
        read(gpu, &tiled_out, values)?,
        read(gpu, &plain_out, values)?,
    );
    let max_difference = t
        .iter()
        .zip(&p)
        .map(|(t, p)| (t - p).abs() / p.abs().max(1.0))
        .fold(0.0, f32::max);
    let max_error = (0..64)
        .map(|_| {
            let (row, col) = (rng.below(size), rng.below(size));
            let exact: f64 = (0..size)
                .map(|k| a_values[row * size + k] as f64 * b_values[k * size + col] as f64)
                .sum();
            (t[row * size + col] as f64 - exact).abs() / exact.abs().max(1.0)
        })
        .fold(0.0, f64::max);
    Ok(SweepPoint {
        size,
        tiled_kernel: tiled[0].entry,
        tiled_gflop_s: flop / tiled_secs / 1e9,
        plain_gflop_s: flop / plain_secs / 1e9,
        max_difference,
        max_error,
    })
}

/// Seconds per product: the median of `runs` timings, each of as many products in one
/// submission as fill about `seconds`, after a first one that warms up. A first product that
/// takes over `seconds` (a slow kernel on a software rasterizer takes minutes at 2048) counts as
/// the first timing instead.
fn time(gpu: &Gpu, dispatches: &[Dispatch], runs: usize, seconds: f64) -> Result<f64, GpuError> {
    let once = run(gpu, dispatches, 1)?;
    let repeats = (seconds / once.max(1e-6)).ceil().clamp(1.0, 1000.0) as usize;
    let mut timings = if once > seconds { vec![once] } else { vec![] };
    while timings.len() < runs {
        timings.push(run(gpu, dispatches, repeats)? / repeats as f64);
    }
    timings.sort_by(f64::total_cmp);
    Ok(timings[timings.len() / 2])
}

/// Wall-clock seconds for `repeats` rounds of `dispatches`, submitted together and waited for.
fn run(gpu: &Gpu, dispatches: &[Dispatch], repeats: usize) -> Result<f64, GpuError> {
    let max = gpu.limits.max_compute_workgroups_per_dimension;
    let started = Instant::now();
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for _ in 0..repeats {
            for d in dispatches {
                let (x, y, z) = d.grid.workgroups(1, max);
                pass.set_pipeline(&d.pipeline);
                pass.set_bind_group(0, &d.bind_group, &[]);
                pass.dispatch_workgroups(x, y, z);
            }
        }
    }
    gpu.queue.submit([encoder.finish()]);
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| failed(gpu, e.to_string()))?;
    match gpu.failure() {
        Some(why) => Err(failed(gpu, why)),
        None => Ok(started.elapsed().as_secs_f64()),
    }
}

fn read(gpu: &Gpu, buffer: &wgpu::Buffer, values: usize) -> Result<Vec<f32>, GpuError> {
    let bytes = (values * 4) as u64;
    let staging = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("sweep readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
    gpu.queue.submit([encoder.finish()]);
    let slice = staging.slice(..);
    let (sender, receiver) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = sender.send(r);
    });
    let fail = |e: String| failed(gpu, e);
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| fail(e.to_string()))?;
    receiver
        .recv()
        .map_err(|e| fail(e.to_string()))?
        .map_err(|e| fail(e.to_string()))?;
    let values = {
        let view = slice.get_mapped_range().map_err(|e| fail(e.to_string()))?;
        bytemuck::cast_slice::<u8, f32>(&view).to_vec()
    };
    staging.unmap();
    Ok(values)
}
