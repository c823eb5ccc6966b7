//! The GPU device: found and opened on whatever adapter the machine has (Mesa's lavapipe in CI).
//! With `NETLOOM_REQUIRE_GPU=1` (as CI sets it) a missing adapter fails the test instead of
//! skipping it.

use netloom::engine::gpu;

fn required() -> bool {
    std::env::var("NETLOOM_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

#[test]
fn a_device_opens_with_the_adapters_own_limits() {
    let gpu = match gpu::open(true) {
        Ok(gpu) => gpu,
        Err(e) if !required() => {
            eprintln!("no GPU here, nothing to check: {e}");
            return;
        }
        Err(e) => panic!("NETLOOM_REQUIRE_GPU=1 but {e}"),
    };
    assert!(!gpu.info.name.is_empty());
    let defaults = wgpu::Limits::default();
    assert!(
        gpu.device.limits().max_storage_buffer_binding_size
            >= defaults.max_storage_buffer_binding_size
    );
    assert_eq!(
        gpu.device.limits().max_buffer_size,
        gpu.limits.max_buffer_size
    );
    let listed = gpu::list_adapters();
    assert!(listed.iter().any(|a| a.name == gpu.info.name), "{listed:?}");
}

/// The bench's matmul sweep: the tiled and the plain 16x16 kernel agree with each other and
/// with the host, on a size of whole tiles and an odd one.
#[test]
fn the_matmul_sweep_measures_kernels_that_agree_with_the_host() {
    let gpu = match gpu::open(true) {
        Ok(gpu) => gpu,
        Err(e) if !required() => {
            eprintln!("no GPU here, nothing to sweep: {e}");
            return;
        }
        Err(e) => panic!("NETLOOM_REQUIRE_GPU=1 but {e}"),
    };
    let points = gpu::matmul_sweep(&gpu, &[64, 37], 1, 0.0).unwrap();
    let kernels: Vec<_> = points.iter().map(|p| p.tiled_kernel).collect();
    assert_eq!(kernels, ["matmul_vec4", "matmul"]);
    for p in points {
        assert!(p.max_difference < 1e-4 && p.max_error < 1e-4, "{p:?}");
        assert!(p.tiled_gflop_s > 0.0 && p.plain_gflop_s > 0.0, "{p:?}");
    }
}

mod parity {
    //! Each op with a GPU kernel, on seeded random inputs, against the CPU backend.

    use std::sync::Arc;

    use netloom::compile::{Buffer, BufferKind, DType, Extent, Op, Program, Step, UnaryFn, Window};
    use netloom::engine::cpu::CpuBackend;
    use netloom::engine::gpu::{self, GpuBackend};
    use netloom::engine::{Backend, StepScalars};
    use netloom::rng::Rng;

    fn buffer(name: &str, shape: Vec<usize>, batched: bool) -> Buffer {
        Buffer {
            name: name.into(),
            shape,
            batched,
            dtype: DType::F32,
            kind: BufferKind::Value,
            alias_of: None,
        }
    }

    /// Runs `op` over `buffers` (the last one is its output) on both backends with `rows` live rows
    /// and returns (cpu, gpu) outputs; `None` when there is no GPU and none is required.
    fn both(
        buffers: Vec<Buffer>,
        op: Op,
        capacity: usize,
        rows: usize,
    ) -> Option<(Vec<f32>, Vec<f32>)> {
        let out = buffers.len() - 1;
        let inputs: Vec<usize> = (0..out).collect();
        both_ops(buffers, vec![op], capacity, rows, &inputs, out)
    }

    /// Runs `ops` on both backends after writing seeded random values into `inputs`, and returns
    /// buffer `output` from each.
    fn both_ops(
        buffers: Vec<Buffer>,
        ops: Vec<Op>,
        capacity: usize,
        rows: usize,
        inputs: &[usize],
        output: usize,
    ) -> Option<(Vec<f32>, Vec<f32>)> {
        both_outputs(buffers, ops, capacity, rows, inputs, &[output]).map(|mut all| all.remove(0))
    }

    /// As `both_ops`, returning each of `outputs`: many ops in one program share one device
    /// and one compilation of each kernel, which a software rasterizer makes worth sharing.
    fn both_outputs(
        buffers: Vec<Buffer>,
        ops: Vec<Op>,
        capacity: usize,
        rows: usize,
        inputs: &[usize],
        outputs: &[usize],
    ) -> Option<Vec<(Vec<f32>, Vec<f32>)>> {
        both_with_ids(buffers, ops, capacity, rows, inputs, &[], outputs)
    }

    /// As `both_outputs`, also writing seeded ids below each `(buffer, bound)` of `ids`, a few
    /// of them (-1, the bound) outside it.
    fn both_with_ids(
        buffers: Vec<Buffer>,
        ops: Vec<Op>,
        capacity: usize,
        rows: usize,
        inputs: &[usize],
        ids: &[(usize, i32)],
        outputs: &[usize],
    ) -> Option<Vec<(Vec<f32>, Vec<f32>)>> {
        let gpu = match gpu::open(true) {
            Ok(gpu) => gpu,
            Err(e) if !super::required() => {
                eprintln!("no GPU here, nothing to compare: {e}");
                return None;
            }
            Err(e) => panic!("NETLOOM_REQUIRE_GPU=1 but {e}"),
        };
        let steps = ops.len();
        let program = Arc::new(Program {
            buffers,
            steps: ops.into_iter().map(|op| Step { op, node: None }).collect(),
            batch_capacity: capacity,
            ..Program::default()
        });
        let mut cpu = CpuBackend::new(Arc::clone(&program), 1);
        let mut gpu = GpuBackend::new(gpu, Arc::clone(&program)).expect("the ops have kernels");
        let mut rng = Rng::new(outputs[0] as u64 + 17);
        for &id in inputs {
            let values: Vec<f32> = (0..program.buffers[id].len(rows))
                .map(|_| rng.uniform(-2.0, 2.0) as f32)
                .collect();
            cpu.write(id, &values).unwrap();
            gpu.write(id, &values).unwrap();
        }
        for &(id, bound) in ids {
            let values: Vec<i32> = (0..program.buffers[id].len(rows))
                .map(|i| match i % 11 {
                    5 => -1,
                    9 => bound,
                    _ => rng.below(bound as usize) as i32,
                })
                .collect();
            cpu.write_i32(id, &values).unwrap();
            gpu.write_i32(id, &values).unwrap();
        }
        let scalars = StepScalars {
            seed: 12345,
            step: 7,
            ..StepScalars::default()
        };
        cpu.run(0..steps, rows, &scalars).unwrap();
        gpu.run(0..steps, rows, &scalars).unwrap();
        let read = |backend: &mut dyn Backend, output: usize| {
            let mut values = Vec::new();
            let len = program.buffers[output].len(rows);
            backend.read(output, len, &mut values).unwrap();
            values
        };
        Some(
            outputs
                .iter()
                .map(|&output| (read(&mut cpu, output), read(&mut gpu, output)))
                .collect(),
        )
    }

    fn assert_close(what: &str, (cpu, gpu): (Vec<f32>, Vec<f32>)) {
        assert_eq!(cpu.len(), gpu.len(), "{what}");
        for (i, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
            assert!(
                (c - g).abs() <= 1e-4 * c.abs().max(1.0),
                "{what}[{i}]: CPU {c}, GPU {g}"
            );
        }
    }

    /// As `assert_close`, for sums over thousands of terms: rounding grows with the depth, so
    /// each value is held to the tensor's largest.
    fn assert_close_in_scale(what: &str, (cpu, gpu): (Vec<f32>, Vec<f32>)) {
        assert_eq!(cpu.len(), gpu.len(), "{what}");
        let scale = cpu.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
            assert!(
                (c - g).abs() <= 1e-4 * scale,
                "{what}[{i}]: CPU {c}, GPU {g} (largest {scale})"
            );
        }
    }

    const FUNCTIONS: [UnaryFn; 6] = [
        UnaryFn::Relu,
        UnaryFn::LeakyRelu(0.1),
        UnaryFn::Elu(1.0),
        UnaryFn::Sigmoid,
        UnaryFn::Tanh,
        UnaryFn::Gelu,
    ];

    #[test]
    fn activations_and_their_gradients() {
        for f in FUNCTIONS {
            let forward = both(
                vec![buffer("x", vec![37], true), buffer("y", vec![37], true)],
                Op::Unary { f, x: 0, out: 1 },
                9,
                7,
            );
            let Some(result) = forward else { return };
            assert_close(&format!("{f:?}"), result);
            let shape = || vec![5, 3];
            let backward = Op::UnaryBackward {
                f,
                x: 0,
                y: 1,
                dy: 2,
                dx: 3,
            };
            let buffers = vec![
                buffer("x", shape(), true),
                buffer("y", shape(), true),
                buffer("dy", shape(), true),
                buffer("dx", shape(), true),
            ];
            assert_close(
                &format!("{f:?} gradient"),
                both(buffers, backward, 4, 4).unwrap(),
            );
        }
    }

    #[test]
    fn sums_differences_products_copies_and_bias() {
        let three = || {
            vec![
                buffer("a", vec![3, 2, 5], true),
                buffer("b", vec![3, 2, 5], true),
                buffer("out", vec![3, 2, 5], true),
            ]
        };
        let Some(sum) = both(three(), Op::Add { a: 0, b: 1, out: 2 }, 6, 5) else {
            return;
        };
        assert_close("add", sum);
        assert_close(
            "mul",
            both(three(), Op::Mul { a: 0, b: 1, out: 2 }, 6, 6).unwrap(),
        );
        assert_close(
            "difference",
            both(three(), Op::Sub { a: 0, b: 1, out: 2 }, 6, 4).unwrap(),
        );
        let (cpu, gpu) = both(
            vec![
                buffer("x", vec![301], false),
                buffer("out", vec![301], false),
            ],
            Op::Copy { x: 0, out: 1 },
            1,
            1,
        )
        .unwrap();
        assert_eq!(cpu, gpu, "copy");
        for (shape, channels, inner) in [(vec![7], 7, 1), (vec![3, 4, 5], 3, 20)] {
            let buffers = vec![
                buffer("x", shape.clone(), true),
                buffer("bias", vec![channels], false),
                buffer("out", shape, true),
            ];
            let op = Op::BiasAdd {
                x: 0,
                bias: 1,
                out: 2,
                channels,
                inner,
            };
            assert_close(
                &format!("bias {channels}x{inner}"),
                both(buffers, op, 5, 3).unwrap(),
            );
        }
    }

    fn ids(name: &str, shape: Vec<usize>) -> Buffer {
        Buffer {
            dtype: DType::I32,
            ..buffer(name, shape, true)
        }
    }

    #[test]
    fn embeddings_their_gradients_and_a_loss_per_time_step() {
        // 7 of 9 rows live, 13 time steps, a table of 11 rows of 5: odd everywhere. Every 11th
        // label is -1, no target, which the loss leaves out.
        let (steps, dim, table_rows) = (13, 5, 11);
        let buffers = vec![
            buffer("table", vec![table_rows, dim], false),
            ids("ids", vec![steps]),
            buffer("dy", vec![steps, dim], true),
            buffer("out", vec![steps, dim], true),
            buffer("dtable", vec![table_rows, dim], false),
            ids("labels", vec![steps]),
            buffer("loss", vec![2], false),
            buffer("dscores", vec![steps, dim], true),
        ];
        let loss = |positions| Op::Loss {
            kind: netloom::graph::LossKind::SoftmaxCrossEntropy,
            pred: 3,
            target: 5,
            out: 6,
            width: dim,
            positions,
        };
        let ops = vec![
            Op::Embedding {
                table: 0,
                ids: 1,
                out: 3,
                dim,
                table_rows,
            },
            Op::EmbeddingBackward {
                ids: 1,
                dy: 2,
                dtable: 4,
                dim,
                table_rows,
            },
            loss(steps),
            Op::LossBackward {
                kind: netloom::graph::LossKind::SoftmaxCrossEntropy,
                pred: 3,
                target: 5,
                loss: 6,
                dpred: 7,
                width: dim,
                positions: steps,
            },
        ];
        let ids = [(1, table_rows as i32), (5, dim as i32)];
        let Some(results) = both_with_ids(buffers, ops, 9, 7, &[0, 2], &ids, &[3, 4, 6, 7]) else {
            return;
        };
        let mut results = results.into_iter();
        let mut next = || results.next().unwrap();
        assert_close("embedding", next());
        assert_close("embedding gradient", next());
        assert_close("loss per time step", next());
        assert_close("loss gradient per time step", next());
    }

    #[test]
    fn pooling_and_its_gradients() {
        // The last: a window over the whole height, as pooling over time uses.
        for (kernel_h, kernel_w, stride) in [(2, 2, 2), (3, 3, 2), (3, 3, 1), (7, 1, 1)] {
            let (c, h, w) = (2, 7, 6);
            let (oh, ow) = ((h - kernel_h) / stride + 1, (w - kernel_w) / stride + 1);
            let kernel = format!("{kernel_h}×{kernel_w}");
            let window = Window {
                channels: c,
                in_h: h,
                in_w: w,
                kernel_h,
                kernel_w,
                stride,
                padding: 0,
                out_h: oh,
                out_w: ow,
            };
            let mut argmax = buffer("argmax", vec![c, oh, ow], true);
            argmax.dtype = DType::I32;
            let buffers = || {
                vec![
                    buffer("x", vec![c, h, w], true),
                    buffer("out", vec![c, oh, ow], true),
                    argmax.clone(),
                    buffer("dy", vec![c, oh, ow], true),
                    buffer("dx", vec![c, h, w], true),
                ]
            };
            let max = vec![
                Op::MaxPool2d {
                    x: 0,
                    out: 1,
                    argmax: Some(2),
                    window,
                },
                Op::MaxPool2dBackward {
                    dy: 3,
                    argmax: 2,
                    dx: 4,
                    window,
                },
            ];
            let Some(forward) = both_ops(buffers(), max.clone(), 4, 3, &[0, 3], 1) else {
                return;
            };
            assert_close(&format!("max pool {kernel}/{stride}"), forward);
            assert_close(
                &format!("max pool gradient {kernel}/{stride}"),
                both_ops(buffers(), max, 4, 3, &[0, 3], 4).unwrap(),
            );
            let avg = vec![
                Op::AvgPool2d {
                    x: 0,
                    out: 1,
                    window,
                },
                Op::AvgPool2dBackward {
                    dy: 3,
                    dx: 4,
                    window,
                },
            ];
            assert_close(
                &format!("avg pool {kernel}/{stride}"),
                both_ops(buffers(), avg.clone(), 4, 3, &[0, 3], 1).unwrap(),
            );
            assert_close(
                &format!("avg pool gradient {kernel}/{stride}"),
                both_ops(buffers(), avg, 4, 3, &[0, 3], 4).unwrap(),
            );
        }
    }

    #[test]
    fn dropout_masks_and_concatenation() {
        let mask = vec![buffer("mask", vec![300], true)];
        let Some(masks) = both_ops(
            mask,
            vec![Op::DropoutMask {
                out: 0,
                rate: 0.4,
                stream: 3,
            }],
            5,
            5,
            &[],
            0,
        ) else {
            return;
        };
        assert!(masks.0.contains(&0.0) && masks.0.iter().any(|&v| v > 1.0));
        assert_eq!(masks.0, masks.1, "both backends draw the same mask");
        // [2, 3] and [5, 3] joined along axis 0 into [7, 3], then the second part taken back out.
        let buffers = || {
            vec![
                buffer("a", vec![2, 3], true),
                buffer("b", vec![5, 3], true),
                buffer("joined", vec![7, 3], true),
                buffer("part", vec![5, 3], true),
            ]
        };
        let ops = vec![
            Op::Concat {
                inputs: vec![0, 1],
                out: 2,
                widths: vec![2, 5],
                inner: 3,
            },
            Op::Slice {
                x: 2,
                out: 3,
                total: 7,
                start: 2,
                width: 5,
                inner: 3,
            },
        ];
        assert_close(
            "concat",
            both_ops(buffers(), ops.clone(), 4, 3, &[0, 1], 2).unwrap(),
        );
        assert_close("slice", both_ops(buffers(), ops, 4, 3, &[0, 1], 3).unwrap());
    }

    /// Batch norm over `rows` samples of `[c, h, w]` (capacity `capacity`): the output, the
    /// running variance it updates, the input gradient and the scale gradient.
    fn batch_norm_case(c: usize, (h, w): (usize, usize), capacity: usize, rows: usize) -> bool {
        let inner = h * w;
        let bn = || {
            vec![
                buffer("x", vec![c, h, w], true),
                buffer("gamma", vec![c], false),
                buffer("beta", vec![c], false),
                buffer("out", vec![c, h, w], true),
                buffer("mean", vec![c], false),
                buffer("inv_std", vec![c], false),
                buffer("running_mean", vec![c], false),
                buffer("running_var", vec![c], false),
                buffer("dy", vec![c, h, w], true),
                buffer("dx", vec![c, h, w], true),
                buffer("dgamma", vec![c], false),
                buffer("dbeta", vec![c], false),
            ]
        };
        let ops = vec![
            Op::BatchNormTrain {
                x: 0,
                gamma: 1,
                beta: 2,
                out: 3,
                mean: 4,
                inv_std: 5,
                running_mean: 6,
                running_var: 7,
                channels: c,
                inner,
                momentum: 0.1,
                epsilon: 1e-5,
            },
            Op::BatchNormBackward {
                x: 0,
                gamma: 1,
                mean: 4,
                inv_std: 5,
                dy: 8,
                dx: 9,
                dgamma: 10,
                dbeta: 11,
                channels: c,
                inner,
            },
        ];
        let inputs = [0, 1, 2, 6, 8];
        let Some(out) = both_ops(bn(), ops.clone(), capacity, rows, &inputs, 3) else {
            return false;
        };
        assert_close("batch norm", out);
        for (what, output) in [
            ("running variance", 7),
            ("batch norm input gradient", 9),
            ("batch norm scale gradient", 10),
        ] {
            assert_close(
                what,
                both_ops(bn(), ops.clone(), capacity, rows, &inputs, output).unwrap(),
            );
        }
        true
    }

    #[test]
    fn batch_norm_over_more_values_per_channel_than_a_thread_may_loop() {
        // 100 images of 28x28: 78,400 values per channel, past lavapipe's 65,535 iterations.
        batch_norm_case(2, (28, 28), 100, 100);
    }

    #[test]
    fn normalisation_forward_and_backward() {
        // Batch norm over [rows, 3, 2, 2]; then the evaluation pass (running variance left at
        // zero, so epsilon alone keeps it positive).
        let (c, inner) = (3, 4);
        if !batch_norm_case(c, (2, 2), 6, 5) {
            return;
        }
        let bn = || {
            vec![
                buffer("x", vec![c, 2, 2], true),
                buffer("gamma", vec![c], false),
                buffer("beta", vec![c], false),
                buffer("out", vec![c, 2, 2], true),
                buffer("mean", vec![c], false),
                buffer("inv_std", vec![c], false),
                buffer("running_mean", vec![c], false),
                buffer("running_var", vec![c], false),
            ]
        };
        let eval = vec![Op::BatchNormEval {
            x: 0,
            gamma: 1,
            beta: 2,
            out: 3,
            running_mean: 6,
            running_var: 7,
            channels: c,
            inner,
            epsilon: 1e-5,
        }];
        assert_close(
            "batch norm (evaluation)",
            both_ops(bn(), eval, 6, 5, &[0, 1, 2, 6], 3).unwrap(),
        );

        // Layer norm over rows of 5 values, two rows per sample.
        layer_norm_case((2, 5), 4, 3);
    }

    /// Layer norm over `rows` samples of `rows_per_sample` rows of `width` (capacity
    /// `capacity`): the output and the input and scale gradients.
    fn layer_norm_case((rows_per_sample, width): (usize, usize), capacity: usize, rows: usize) {
        let ln = || {
            vec![
                buffer("x", vec![rows_per_sample, width], true),
                buffer("gamma", vec![width], false),
                buffer("beta", vec![width], false),
                buffer("out", vec![rows_per_sample, width], true),
                buffer("mean", vec![rows_per_sample], true),
                buffer("inv_std", vec![rows_per_sample], true),
                buffer("dy", vec![rows_per_sample, width], true),
                buffer("dx", vec![rows_per_sample, width], true),
                buffer("dgamma", vec![width], false),
                buffer("dbeta", vec![width], false),
            ]
        };
        let ops = vec![
            Op::LayerNorm {
                x: 0,
                gamma: 1,
                beta: 2,
                out: 3,
                mean: 4,
                inv_std: 5,
                width,
                epsilon: 1e-5,
            },
            Op::LayerNormBackward {
                x: 0,
                gamma: 1,
                mean: 4,
                inv_std: 5,
                dy: 6,
                dx: 7,
                dgamma: 8,
                dbeta: 9,
                width,
            },
        ];
        let outputs = [3, 7, 8, 9];
        let Some(results) = both_outputs(ln(), ops, capacity, rows, &[0, 1, 2, 6], &outputs) else {
            return;
        };
        let names = [
            "layer norm",
            "layer norm input gradient",
            "layer norm scale gradient",
            "layer norm shift gradient",
        ];
        for (what, result) in names.into_iter().zip(results) {
            assert_close_in_scale(what, result);
        }
    }

    #[test]
    fn a_gradient_norm_over_more_values_than_a_workgroup_may_loop_over() {
        // 20M values: 78,125 per lane of the one workgroup, past lavapipe's 65,535 iterations.
        let len = 20_000_000;
        let buffers = vec![buffer("g", vec![len], false), buffer("out", vec![1], false)];
        let op = Op::GradNormSq {
            grads: vec![0],
            out: 1,
        };
        let Some(results) = both_outputs(buffers, vec![op], 1, 1, &[0], &[0, 1]) else {
            return;
        };
        let exact: f64 = results[0].0.iter().map(|&v| f64::from(v).powi(2)).sum();
        let (cpu, gpu) = (f64::from(results[1].0[0]), f64::from(results[1].1[0]));
        for (backend, sum) in [("CPU", cpu), ("GPU", gpu)] {
            assert!(
                (sum - exact).abs() <= 1e-5 * exact,
                "{backend} {sum}, exactly {exact}"
            );
        }
    }

    #[test]
    fn layer_norm_over_more_rows_than_a_thread_may_loop() {
        // 100 samples of 700 rows: 70,000 rows per column, past lavapipe's 65,535 iterations.
        layer_norm_case((700, 3), 100, 100);
    }

    /// A convolution, its input gradient and its weight gradient over `rows` images of
    /// `[c, h, w]` with `filters` filters: (forward, input gradient, weight gradient) from each
    /// backend.
    fn convolutions(
        (c, h, w): (usize, usize, usize),
        filters: usize,
        (kernel_h, kernel_w, stride, padding): (usize, usize, usize, usize),
        rows: usize,
    ) -> Option<Vec<(Vec<f32>, Vec<f32>)>> {
        let (oh, ow) = (
            (h + 2 * padding - kernel_h) / stride + 1,
            (w + 2 * padding - kernel_w) / stride + 1,
        );
        let window = Window {
            channels: c,
            in_h: h,
            in_w: w,
            kernel_h,
            kernel_w,
            stride,
            padding,
            out_h: oh,
            out_w: ow,
        };
        let buffers = vec![
            buffer("x", vec![c, h, w], true),
            buffer("w", vec![filters, c, kernel_h, kernel_w], false),
            buffer("y", vec![filters, oh, ow], true),
            buffer("dy", vec![filters, oh, ow], true),
            buffer("dx", vec![c, h, w], true),
            buffer("dw", vec![filters, c, kernel_h, kernel_w], false),
        ];
        let ops = vec![
            Op::Conv2d {
                x: 0,
                w: 1,
                out: 2,
                window,
                filters,
            },
            Op::Conv2dBackwardInput {
                dy: 3,
                w: 1,
                dx: 4,
                window,
                filters,
            },
            Op::Conv2dBackwardWeight {
                x: 0,
                dy: 3,
                dw: 5,
                window,
                filters,
            },
        ];
        both_outputs(buffers, ops, rows + 1, rows, &[0, 1, 3], &[2, 4, 5])
    }

    #[test]
    fn convolution_and_its_gradients() {
        // (channels, height, width), filters, (kernel height and width, stride, padding): odd
        // sizes, strides and paddings, more filters than a tile has rows and more depth than
        // it has steps.
        let cases = [
            ((2, 7, 6), 3, (3, 3, 1, 1)),
            ((2, 7, 6), 3, (3, 3, 2, 0)),
            ((2, 7, 6), 3, (2, 2, 1, 0)),
            ((2, 7, 6), 3, (3, 3, 2, 2)),
            ((5, 9, 7), 33, (3, 3, 2, 1)),
            ((3, 11, 5), 5, (3, 2, 2, 1)),
            ((1, 13, 13), 16, (5, 5, 3, 2)),
        ];
        for (image, filters, window) in cases {
            let what =
                format!("{image:?}, {filters} filters, (kh, kw, stride, padding) {window:?}");
            let Some(results) = convolutions(image, filters, window, 4) else {
                return;
            };
            let mut results = results.into_iter();
            for kind in ["convolution", "input gradient", "weight gradient"] {
                assert_close(&format!("{kind} {what}"), results.next().unwrap());
            }
        }
    }

    #[test]
    fn upsampling_nearest_and_bilinear_and_their_gradients() {
        for ((c, h, w), scale) in [((2, 3, 5), 2), ((3, 4, 1), 3), ((1, 7, 6), 1)] {
            let window = Window {
                channels: c,
                in_h: h,
                in_w: w,
                kernel_h: scale,
                kernel_w: scale,
                stride: scale,
                padding: 0,
                out_h: h * scale,
                out_w: w * scale,
            };
            for bilinear in [false, true] {
                let buffers = vec![
                    buffer("x", vec![c, h, w], true),
                    buffer("dy", vec![c, h * scale, w * scale], true),
                    buffer("y", vec![c, h * scale, w * scale], true),
                    buffer("dx", vec![c, h, w], true),
                ];
                let ops = vec![
                    Op::Upsample {
                        x: 0,
                        out: 2,
                        window,
                        bilinear,
                    },
                    Op::UpsampleBackward {
                        dy: 1,
                        dx: 3,
                        window,
                        bilinear,
                    },
                ];
                let Some(results) = both_outputs(buffers, ops, 4, 3, &[0, 1], &[2, 3]) else {
                    return;
                };
                let what = format!("{c}x{h}x{w} by {scale}, bilinear {bilinear}");
                let mut results = results.into_iter();
                for kind in ["upsampling", "its gradient"] {
                    assert_close(&format!("{kind} of {what}"), results.next().unwrap());
                }
            }
        }
    }

    /// A batch of 1,100 8x8 images: the weight gradient sums 70,400 products per weight, past
    /// the 65,535 loop iterations lavapipe allows a thread before it stops the loop and carries
    /// on with what it has.
    #[test]
    fn a_weight_gradient_deeper_than_a_threads_loops_may_run() {
        let Some(results) = convolutions((2, 8, 8), 3, (3, 3, 1, 1), 1100) else {
            return;
        };
        let mut results = results.into_iter();
        for kind in ["convolution", "input gradient", "weight gradient"] {
            assert_close_in_scale(&format!("{kind}, batch of 1,100"), results.next().unwrap());
        }
    }

    #[test]
    fn bias_gradients_including_one_past_a_threads_loops() {
        // Dense (a channel per unit), a small image, and 1,100 8x8 images: 70,400 values per
        // channel.
        for (shape, channels, inner, rows) in [
            (vec![7], 7, 1, 5),
            (vec![3, 4, 5], 3, 20, 3),
            (vec![3, 8, 8], 3, 64, 1100),
        ] {
            let buffers = vec![
                buffer("dy", shape, true),
                buffer("bias grad", vec![channels], false),
            ];
            let op = Op::BiasGrad {
                dy: 0,
                out: 1,
                channels,
                inner,
            };
            let Some(result) = both(buffers, op, rows + 1, rows) else {
                return;
            };
            assert_close_in_scale(
                &format!("bias gradient {channels}x{inner}, {rows} rows"),
                result,
            );
        }
    }

    /// `Op::MatMul` with `a [m, k]` (or `[k, m]` transposed) and `b [k, n]` (or `[n, k]`), its
    /// buffers from `first` on.
    fn product(
        first: usize,
        (m, n, k): (usize, usize, usize),
        trans: (bool, bool),
    ) -> (Vec<Buffer>, Op) {
        let a_shape = if trans.0 { vec![k, m] } else { vec![m, k] };
        let b_shape = if trans.1 { vec![n, k] } else { vec![k, n] };
        let buffers = vec![
            buffer("a", a_shape, false),
            buffer("b", b_shape, false),
            buffer("out", vec![m, n], false),
        ];
        let op = Op::MatMul {
            a: first,
            b: first + 1,
            out: first + 2,
            trans_a: trans.0,
            trans_b: trans.1,
            m: Extent::fixed(m),
            n: Extent::fixed(n),
            k: Extent::fixed(k),
        };
        (buffers, op)
    }

    /// Each of `shapes` (m, n, k) in every transpose, as one program; `check` compares each
    /// product's outputs.
    fn products(shapes: &[(usize, usize, usize)], check: fn(&str, (Vec<f32>, Vec<f32>))) {
        let (mut buffers, mut ops, mut names) = (Vec::new(), Vec::new(), Vec::new());
        for &shape in shapes {
            for trans in [(false, false), (true, false), (false, true), (true, true)] {
                let (b, op) = product(buffers.len(), shape, trans);
                buffers.extend(b);
                ops.push(op);
                names.push(format!("{shape:?} transposed {trans:?}"));
            }
        }
        let inputs: Vec<usize> = (0..buffers.len()).filter(|i| i % 3 != 2).collect();
        let outputs: Vec<usize> = (0..buffers.len()).filter(|i| i % 3 == 2).collect();
        let Some(results) = both_outputs(buffers, ops, 1, 1, &inputs, &outputs) else {
            return;
        };
        for (name, result) in names.iter().zip(results) {
            check(name, result);
        }
    }

    #[test]
    fn matrix_products_of_every_shape_and_transpose() {
        // Odd sizes, not multiples of the tile; then each of m, n and k a multiple of 4 or not,
        // so that every transpose meets every vec4 variant; then single rows and columns (the
        // matrix-vector kernels).
        products(
            &[
                (1, 1, 1),
                (3, 5, 7),
                (5, 7, 3),
                (31, 33, 65),
                (33, 31, 127),
                (65, 127, 33),
                (127, 65, 31),
                (32, 65, 31),
                (33, 64, 31),
                (33, 65, 32),
                (32, 64, 31),
                (32, 65, 128),
                (33, 64, 128),
                (64, 32, 96),
                (1, 33, 65),
                (65, 1, 127),
                (1, 127, 128),
                (128, 1, 64),
                (1, 1, 127),
            ],
            assert_close,
        );
    }

    #[test]
    fn products_deeper_than_a_threads_loops_may_run() {
        // Split into chunks of depth and summed after; the matrix-vector kernels take depths
        // up to 65,536.
        products(
            &[
                (2, 3, 70_000),
                (33, 5, 5_000),
                (1, 5, 70_000),
                (6, 1, 60_000),
            ],
            assert_close_in_scale,
        );
    }

    #[test]
    fn products_whose_rows_scale_with_the_batch() {
        // x [rows, 6] · wᵀ with w [4, 6], 5 of 8 rows live; then its weight gradient
        // dyᵀ [4, rows] · x [rows, 6], whose depth is the batch.
        let batched = Extent {
            per_row: 1,
            batched: true,
        };
        let buffers = vec![
            buffer("x", vec![6], true),
            buffer("w", vec![4, 6], false),
            buffer("y", vec![4], true),
            buffer("dy", vec![4], true),
            buffer("dw", vec![4, 6], false),
        ];
        let ops = vec![
            Op::MatMul {
                a: 0,
                b: 1,
                out: 2,
                trans_a: false,
                trans_b: true,
                m: batched,
                n: Extent::fixed(4),
                k: Extent::fixed(6),
            },
            Op::MatMul {
                a: 3,
                b: 0,
                out: 4,
                trans_a: true,
                trans_b: false,
                m: Extent::fixed(4),
                n: Extent::fixed(6),
                k: batched,
            },
        ];
        let Some(results) = both_outputs(buffers, ops, 8, 5, &[0, 1, 3], &[2, 4]) else {
            return;
        };
        for (what, result) in ["batched dense", "batched weight gradient"]
            .iter()
            .zip(results)
        {
            assert_close(what, result);
        }
    }
}

mod training {
    //! Whole training runs: the GPU's loss sequence follows the CPU's.

    use std::path::Path;

    use netloom::engine::gpu::{self, GpuBackend};
    use netloom::graph::Layer;
    use netloom::train::{self, Session};

    fn losses(session: &mut Session, steps: usize) -> Vec<f32> {
        (0..steps)
            .map(|_| session.step().unwrap().unwrap().loss)
            .collect()
    }

    const EXAMPLES: [&str; 7] = [
        "xor",
        "regression",
        "digits_mlp",
        "residual_mlp",
        "spiral",
        "batchnorm_dropout",
        "mnist_cnn",
    ];

    /// The example on the GPU and on the CPU, with its own batch size unless `batch_size`.
    fn sessions(name: &str, batch_size: Option<usize>) -> Option<(Session, Session)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples");
        sessions_in(&dir, name, |project| {
            if let Some(batch_size) = batch_size {
                project.training.batch_size = batch_size;
            }
        })
    }

    /// A session on the GPU and one on the CPU of project `name` in `dir`.
    fn sessions_in(
        dir: &Path,
        name: &str,
        edit: impl FnOnce(&mut netloom::graph::Project),
    ) -> Option<(Session, Session)> {
        let device = match gpu::open(true) {
            Ok(device) => device,
            Err(e) if !super::required() => {
                eprintln!("no GPU here, nothing to compare: {e}");
                return None;
            }
            Err(e) => panic!("NETLOOM_REQUIRE_GPU=1 but {e}"),
        };
        let mut project = netloom::io::load_project(&dir.join(format!("{name}.json"))).unwrap();
        edit(&mut project);
        let prepared = train::prepare(&project, dir).unwrap();
        let backend = GpuBackend::new(device, prepared.program.clone()).unwrap();
        let on_gpu = train::session_on(&project, &prepared, Box::new(backend)).unwrap();
        Some((on_gpu, train::cpu_session(&project, &prepared, 1).unwrap()))
    }

    fn worst_difference(g: &[f32], c: &[f32]) -> f32 {
        g.iter()
            .zip(c)
            .map(|(g, c)| (g - c).abs() / c.abs().max(1e-3))
            .fold(0.0, f32::max)
    }

    /// The gradients of every parameter after one step, by name.
    fn gradients(session: &mut Session) -> Vec<(String, Vec<f32>)> {
        let program = session.program().clone();
        let mut out = Vec::new();
        for p in &program.params {
            let grad = p.grad.expect("every parameter feeds the loss");
            let mut values = Vec::new();
            session
                .backend_mut()
                .read(grad, program.buffers[grad].per_sample_len(), &mut values)
                .unwrap();
            out.push((p.name.clone(), values));
        }
        out
    }

    /// The examples above, and two autoencoders (their losses take their targets from a wire;
    /// the second rebuilds images with transposed convolutions).
    #[test]
    fn one_step_gives_every_parameter_the_same_gradient() {
        for name in EXAMPLES
            .into_iter()
            .chain(["autoencoder", "conv_autoencoder"])
        {
            let Some((mut on_gpu, mut on_cpu)) = sessions(name, None) else {
                return;
            };
            assert_same_gradients(name, &mut on_gpu, &mut on_cpu);
        }
    }

    /// Recurrent layers of every family and a one-block GPT, over an Embedding, with a Dense per
    /// time step: the sequence fixture of the PyTorch comparison, whose last batch of an epoch
    /// is short.
    #[test]
    fn sequence_models_give_the_same_gradients_and_losses_on_both_backends() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch_sequences");
        for name in ["lstm", "gru", "rnn", "bigru2", "gpt"] {
            let Some((on_gpu, on_cpu)) = sessions_in(&dir, name, |_| {}) else {
                return;
            };
            let (mut on_gpu, mut on_cpu) = (on_gpu, on_cpu);
            assert_same_gradients(name, &mut on_gpu, &mut on_cpu);
            assert_same_insides(name, &mut on_gpu, &mut on_cpu);
            let (mut on_gpu, mut on_cpu) = sessions_in(&dir, name, |_| {}).unwrap();
            let (g, c) = (losses(&mut on_gpu, 40), losses(&mut on_cpu, 40));
            let worst = worst_difference(&g, &c);
            assert!(worst < 1e-3, "{name}: losses differ by {worst:e}");
        }
    }

    /// Attention dropout draws the same mask on both backends, and both mix the values with the
    /// dropped weights and send gradients back through the same ones.
    #[test]
    fn attention_dropout_is_the_same_on_both_backends() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch_sequences");
        let with_dropout = |project: &mut netloom::graph::Project| {
            for node in &mut project.graph.nodes {
                if let Layer::MultiHeadAttention { dropout, .. } = &mut node.layer {
                    *dropout = 0.3;
                }
            }
        };
        let Some((mut on_gpu, mut on_cpu)) = sessions_in(&dir, "gpt", with_dropout) else {
            return;
        };
        assert_same_gradients("gpt with attention dropout", &mut on_gpu, &mut on_cpu);
        let (mut on_gpu, mut on_cpu) = sessions_in(&dir, "gpt", with_dropout).unwrap();
        let (g, c) = (losses(&mut on_gpu, 20), losses(&mut on_cpu, 20));
        let worst = worst_difference(&g, &c);
        assert!(worst < 1e-3, "losses differ by {worst:e}");
    }

    /// What the live views show inside attention and recurrent layers: the attention weights,
    /// states and gates of a traced sequence, and the gradient through time of the last step.
    fn assert_same_insides(name: &str, on_gpu: &mut Session, on_cpu: &mut Session) {
        let program = on_cpu.program().clone();
        let len = program.buffers[program.input].per_sample_len();
        let ids: Vec<f32> = (0..len).map(|i| (i * 7 % 5) as f32).collect();
        let (g, c) = (on_gpu.trace(&ids).unwrap(), on_cpu.trace(&ids).unwrap());
        assert!(!c.inside.is_empty(), "{name}: nothing inside traced");
        assert_eq!(g.inside.len(), c.inside.len());
        for ((_, g), (_, c)) in g.inside.iter().zip(&c.inside) {
            let (g, c) = (inside_values(g), inside_values(c));
            assert_eq!(g.len(), c.len(), "{name}");
            let worst = g
                .iter()
                .zip(&c)
                .map(|(g, c)| (g - c).abs() / c.abs().max(1e-2))
                .fold(0.0, f32::max);
            assert!(worst < 1e-3, "{name}: insides differ by {worst:e}");
        }
    }

    fn inside_values(inside: &netloom::train::Inside) -> Vec<f32> {
        match inside {
            netloom::train::Inside::Attention { weights, .. } => weights.clone(),
            netloom::train::Inside::Recurrence(r) => {
                assert_eq!(r.gradient_norms.len(), r.steps, "a step was taken");
                let maps = r.maps.iter().flat_map(|(_, m)| m.iter().copied());
                maps.chain(r.gradient_norms.iter().copied()).collect()
            }
        }
    }

    fn assert_same_gradients(name: &str, on_gpu: &mut Session, on_cpu: &mut Session) {
        on_gpu.step().unwrap().unwrap();
        on_cpu.step().unwrap().unwrap();
        for ((param, g), (_, c)) in gradients(on_gpu).iter().zip(gradients(on_cpu)) {
            // Relative to the tensor's largest gradient; the floor covers gradients that are
            // zero up to rounding (a bias just before batch norm).
            let scale = c.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
            for (a, b) in g.iter().zip(&c) {
                assert!(
                    (a - b).abs() <= 1e-4 * scale,
                    "{name}: gradient of {param} differs: GPU {a}, CPU {b}"
                );
            }
        }
    }

    /// Every example, 200 steps: the loss sequences agree within 1e-3 relative (measured: 2e-6
    /// at worst). The CNN trains on batches of 8 here, which keeps it quick on a software
    /// rasterizer.
    #[test]
    fn every_example_trains_alike_for_200_steps() {
        for name in EXAMPLES {
            let small_batches = (name == "mnist_cnn").then_some(8);
            let Some((mut on_gpu, mut on_cpu)) = sessions(name, small_batches) else {
                return;
            };
            let (g, c) = (losses(&mut on_gpu, 200), losses(&mut on_cpu, 200));
            let worst = worst_difference(&g, &c);
            assert!(worst < 1e-3, "{name}: losses differ by {worst:e}");
        }
    }
}
