//! Shader modules, pipelines and bind groups: made once per kernel family and entry point, so
//! loading a program compiles each kernel once however many ops use it.

use std::collections::HashMap;

use wgpu::util::DeviceExt;

use super::kernels::{self, Family, Grid, Plan};

/// One recorded dispatch: a pipeline, its buffers, and its grid.
pub struct Dispatch {
    pub pipeline: wgpu::ComputePipeline,
    /// The constants in binding 1, for kernels whose sizes are only known when they run.
    pub params: wgpu::Buffer,
    pub bind_group: wgpu::BindGroup,
    pub grid: Grid,
}

#[derive(Default)]
pub struct Pipelines {
    modules: HashMap<Family, wgpu::ShaderModule>,
    pipelines: HashMap<(Family, &'static str), wgpu::ComputePipeline>,
}

impl Pipelines {
    pub fn dispatch(
        &mut self,
        device: &wgpu::Device,
        plan: &Plan,
        globals: &wgpu::Buffer,
        storage: &[(u32, &wgpu::Buffer)],
    ) -> Dispatch {
        let module = self.modules.entry(plan.family).or_insert_with(|| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(&format!("{:?}", plan.family)),
                source: wgpu::ShaderSource::Wgsl(kernels::family_source(plan.family).into()),
            })
        });
        // An explicit layout: automatic ones drop the bindings an entry point does not read,
        // which would make the shared globals binding an error in some kernels.
        let pipeline = self
            .pipelines
            .entry((plan.family, plan.entry))
            .or_insert_with(|| {
                let buffer_entry =
                    |binding: u32, ty: wgpu::BufferBindingType| wgpu::BindGroupLayoutEntry {
                        binding,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: wgpu::BindingType::Buffer {
                            ty,
                            has_dynamic_offset: false,
                            min_binding_size: None,
                        },
                        count: None,
                    };
                let uniform = wgpu::BufferBindingType::Uniform;
                let mut entries = vec![buffer_entry(0, uniform), buffer_entry(1, uniform)];
                entries.extend(plan.bindings.iter().map(|&(binding, _, written)| {
                    buffer_entry(
                        binding,
                        wgpu::BufferBindingType::Storage {
                            read_only: !written,
                        },
                    )
                }));
                let bind_group_layout =
                    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                        label: Some(plan.entry),
                        entries: &entries,
                    });
                let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                    label: Some(plan.entry),
                    bind_group_layouts: &[Some(&bind_group_layout)],
                    immediate_size: 0,
                });
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(plan.entry),
                    layout: Some(&layout),
                    module,
                    entry_point: Some(plan.entry),
                    compilation_options: Default::default(),
                    cache: None,
                })
            })
            .clone();
        // Uniform blocks are read in 16-byte rows.
        let mut words = plan.params.clone();
        words.resize(words.len().div_ceil(4).max(1) * 4, 0);
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::cast_slice(&words),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let mut entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: globals.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: params.as_entire_binding(),
            },
        ];
        entries.extend(
            storage
                .iter()
                .map(|&(binding, buffer)| wgpu::BindGroupEntry {
                    binding,
                    resource: buffer.as_entire_binding(),
                }),
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(plan.entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        Dispatch {
            pipeline,
            params,
            bind_group,
            grid: plan.grid,
        }
    }
}
