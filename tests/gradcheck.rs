//! Gradient checks: every layer type and every primitive op, with the backward pass autodiff
//! emits compared against central finite differences of the loss. One test plants a wrong
//! vector-Jacobian product and shows the checker catches it.

use std::sync::Arc;

use netloom::compile::{self, DataInfo, Op, Program, UnaryFn};
use netloom::data::Task;
use netloom::engine::cpu::CpuBackend;
use netloom::engine::{Backend, StepScalars};
use netloom::graph::{
    Activation, Graph, Init, Layer, LossKind, LossTarget, RecurrentCell, Returns, TimePooling,
    TrainingSettings, ValueKind,
};
use netloom::rng::Rng;

const ROWS: usize = 3;

fn dense(units: usize, activation: Activation) -> Layer {
    Layer::Dense {
        units,
        bias: true,
        activation,
        init: Init::GlorotUniform,
    }
}

fn conv(
    filters: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    activation: Activation,
) -> Layer {
    Layer::Conv2d {
        filters,
        kernel,
        stride,
        padding,
        bias: true,
        activation,
        init: Init::GlorotUniform,
    }
}

fn compile(graph: &Graph, task: Task, input: Vec<usize>) -> Program {
    compile_values(graph, task, input, ValueKind::Features)
}

/// As `compile`, for an input of `values`: a sequence's (or token ids') task has a class per
/// time step.
fn compile_values(graph: &Graph, task: Task, input: Vec<usize>, values: ValueKind) -> Program {
    compile_with(
        graph,
        task,
        input.clone(),
        values,
        if values.has_time() { input[0] } else { 1 },
    )
}

fn compile_with(
    graph: &Graph,
    task: Task,
    input: Vec<usize>,
    values: ValueKind,
    positions: usize,
) -> Program {
    let model = compile::check(
        graph,
        Some(&DataInfo {
            feature_shape: input,
            values,
            task,
            positions,
        }),
    );
    assert!(model.is_trainable(), "{:?}", model.problems);
    let settings = TrainingSettings {
        batch_size: ROWS,
        ..TrainingSettings::default()
    };
    compile::compile(&model, &settings).expect("compiles")
}

/// How far the analytic gradients are from the numeric ones.
struct Report {
    checked: usize,
    /// Elements whose step crossed a kink (a ReLU at 0, a max-pool winner changing): there the
    /// one-sided slopes disagree and no derivative exists to compare against.
    at_kinks: usize,
    mismatches: usize,
    /// The first few mismatches, for the failure message.
    worst: Vec<String>,
    /// ‖numeric − analytic‖ / (‖numeric‖ + ‖analytic‖) over all checked elements.
    relative_error: f64,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "{} checked, {} at kinks, {} mismatched (relative error {:.2e}); first mismatches: {:?}",
            self.checked, self.at_kinks, self.mismatches, self.relative_error, self.worst
        )
    }
}

impl Report {
    fn passes(&self) -> bool {
        // A kink just inside the step bends one slope only slightly and can slip past the kink
        // test, so a rare mismatch is tolerated; a wrong gradient is wrong nearly everywhere.
        self.checked > 0
            && self.at_kinks * 4 <= self.checked
            && self.mismatches * 40 <= self.checked
            && self.relative_error < 1e-2
    }
}

/// Seeds the inputs, parameters and targets, then compares d(loss)/d(param) for every parameter.
fn gradient_check(program: Program, task: &Task, seed: u64) -> Report {
    let program = Arc::new(program);
    let mut backend = CpuBackend::new(Arc::clone(&program), 1);
    let mut rng = Rng::new(seed);
    let mut random = |n: usize, scale: f64| -> Vec<f32> {
        (0..n)
            .map(|_| (rng.uniform(-1.0, 1.0) * scale) as f32)
            .collect()
    };
    for (buffer, values) in compile::initial_values(&program, seed) {
        backend.write(buffer, &values).unwrap();
    }
    for p in &program.params {
        // Non-trivial values everywhere, biases and norm scales included.
        let n = program.buffers[p.buffer].per_sample_len();
        let values: Vec<f32> = random(n, 0.8)
            .iter()
            .map(|v| {
                v + if p.name.ends_with("weight")
                    && matches!(p.init, compile::ParamInit::Constant(_))
                {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        backend.write(p.buffer, &values).unwrap();
    }
    let input = &program.buffers[program.input];
    if input.dtype == compile::DType::I32 {
        // Token ids, each id of the smallest table used at least once.
        let vocabulary = program
            .steps
            .iter()
            .filter_map(|s| match s.op {
                Op::Embedding { table_rows, .. } => Some(table_rows),
                _ => None,
            })
            .min()
            .unwrap_or(1);
        let ids: Vec<i32> = (0..input.len(ROWS))
            .map(|i| ((i * 7 + 3) % vocabulary) as i32)
            .collect();
        backend.write_i32(program.input, &ids).unwrap();
    } else {
        backend
            .write(program.input, &random(input.len(ROWS), 1.0))
            .unwrap();
    }
    // A loss whose target is wired inside the network has no dataset target to write.
    if let Some(target_id) = program.target {
        let target = &program.buffers[target_id];
        match task {
            Task::Classification { classes } if target.dtype == compile::DType::I32 => {
                let labels: Vec<i32> = (0..target.len(ROWS))
                    .map(|r| ((r * 5 + 1) % classes) as i32)
                    .collect();
                backend.write_i32(target_id, &labels).unwrap();
            }
            Task::Classification { .. } => {
                let labels: Vec<f32> = (0..target.len(ROWS)).map(|r| (r % 2) as f32).collect();
                backend.write(target_id, &labels).unwrap();
            }
            Task::Regression { .. } => backend
                .write(target_id, &random(target.len(ROWS), 1.0))
                .unwrap(),
        }
    }

    let scalars = StepScalars::default();
    let phases = &program.phases;
    let forward = phases.train_forward.clone();
    let mut out = Vec::new();
    let mut loss = |backend: &mut CpuBackend| -> f64 {
        backend.run(forward.clone(), ROWS, &scalars).unwrap();
        backend.read(program.train.loss, 1, &mut out).unwrap();
        out[0] as f64
    };
    backend
        .run(
            phases.train_forward.start..phases.backward.end,
            ROWS,
            &scalars,
        )
        .unwrap();
    let centre = loss(&mut backend);
    let (mut diff_sq, mut norm_sq, mut checked, mut at_kinks, mut mismatches) = (0.0, 0.0, 0, 0, 0);
    let mut worst = Vec::new();
    let eps: f32 = std::env::var("GRADCHECK_EPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1e-3);
    for p in &program.params {
        let grad = p.grad.expect("every parameter feeds the loss");
        let n = program.buffers[p.buffer].per_sample_len();
        let mut analytic = Vec::new();
        backend.read(grad, n, &mut analytic).unwrap();
        let mut values = Vec::new();
        backend.read(p.buffer, n, &mut values).unwrap();
        for i in 0..n {
            let original = values[i];
            values[i] = original + eps;
            backend.write(p.buffer, &values).unwrap();
            let up = loss(&mut backend);
            values[i] = original - eps;
            backend.write(p.buffer, &values).unwrap();
            let down = loss(&mut backend);
            values[i] = original;
            backend.write(p.buffer, &values).unwrap();
            let numeric = (up - down) / (2.0 * eps as f64);
            let (right, left) = ((up - centre) / eps as f64, (centre - down) / eps as f64);
            if (right - left).abs() > 0.05 * (right.abs() + left.abs()) + 2e-3 {
                at_kinks += 1;
                continue;
            }
            let a = analytic[i] as f64;
            diff_sq += (numeric - a).powi(2);
            norm_sq += (numeric.abs() + a.abs()).powi(2);
            checked += 1;
            if (numeric - a).abs() > 2e-3 + 2e-2 * a.abs().max(numeric.abs()) {
                if worst.len() < 5 {
                    worst.push(format!(
                        "{}[{i}]: numeric {numeric:.5}, analytic {a:.5}",
                        p.name
                    ));
                }
                mismatches += 1;
            }
        }
    }
    Report {
        checked,
        at_kinks,
        mismatches,
        worst,
        relative_error: (diff_sq / norm_sq.max(1e-30)).sqrt(),
    }
}

fn assert_gradients(graph: Graph, task: Task, input: Vec<usize>) {
    let program = compile(&graph, task.clone(), input);
    let report = gradient_check(program, &task, 7);
    assert!(report.passes(), "{report:?}");
}

fn classify(k: usize) -> Task {
    Task::Classification { classes: k }
}

fn regress(k: usize) -> Task {
    Task::Regression { outputs: k }
}

#[test]
fn dense_with_every_activation() {
    for activation in Activation::ALL {
        let graph = Graph::chain([
            Layer::input(vec![4]),
            dense(5, Activation::Tanh),
            dense(4, activation),
            dense(3, Activation::Identity),
            Layer::loss(LossKind::MeanSquaredError),
        ]);
        let program = compile(&graph, regress(3), vec![4]);
        let report = gradient_check(program, &regress(3), 3);
        assert!(report.passes(), "{activation:?}: {report:?}");
    }
}

#[test]
fn activation_layers() {
    for function in Activation::ALL {
        let graph = Graph::chain([
            Layer::input(vec![4]),
            dense(5, Activation::Identity),
            Layer::Activation { function },
            dense(2, Activation::Identity),
            Layer::loss(LossKind::MeanSquaredError),
        ]);
        let program = compile(&graph, regress(2), vec![4]);
        let report = gradient_check(program, &regress(2), 11);
        assert!(report.passes(), "{function:?}: {report:?}");
    }
}

#[test]
fn every_loss() {
    for (kind, task, units) in [
        (LossKind::MeanSquaredError, regress(3), 3),
        (LossKind::MeanAbsoluteError, regress(3), 3),
        (LossKind::SoftmaxCrossEntropy, classify(3), 3),
        (LossKind::BinaryCrossEntropy, classify(2), 1),
    ] {
        let graph = Graph::chain([
            Layer::input(vec![4]),
            dense(5, Activation::Tanh),
            dense(units, Activation::Identity),
            Layer::loss(kind),
        ]);
        let program = compile(&graph, task.clone(), vec![4]);
        let report = gradient_check(program, &task, 5);
        assert!(report.passes(), "{kind:?}: {report:?}");
    }
}

#[test]
fn losses_against_a_target_wired_from_the_input() {
    for kind in [
        LossKind::MeanSquaredError,
        LossKind::MeanAbsoluteError,
        LossKind::BinaryCrossEntropy,
    ] {
        let mut graph = Graph::chain([
            Layer::input(vec![4]),
            dense(2, Activation::Tanh),
            dense(4, Activation::Identity),
            Layer::Loss {
                kind,
                ignore_index: None,
                target: LossTarget::Wire,
            },
        ]);
        graph.connect(0, 3, 1);
        // The dataset's task does not matter to a loss with a wired target.
        let task = classify(3);
        let program = compile(&graph, task.clone(), vec![4]);
        assert!(program.target.is_none(), "no dataset target is read");
        let report = gradient_check(program, &task, 9);
        assert!(report.passes(), "{kind:?}: {report:?}");
    }
}

#[test]
fn convolution_with_stride_and_padding() {
    for (kernel, stride, padding) in [(3, 1, 1), (3, 2, 0), (2, 1, 0), (3, 2, 2)] {
        let graph = Graph::chain([
            Layer::input(vec![2, 9, 8]),
            conv(3, kernel, stride, padding, Activation::Tanh),
            conv(2, kernel, stride, padding, Activation::Identity),
            Layer::Flatten,
            dense(2, Activation::Identity),
            Layer::loss(LossKind::MeanSquaredError),
        ]);
        assert_gradients(graph, regress(2), vec![2, 9, 8]);
    }
}

#[test]
fn transposed_convolution_with_stride_padding_and_output_padding() {
    for (kernel, stride, padding, output_padding) in
        [(3, 1, 1, 0), (3, 2, 1, 1), (4, 2, 1, 0), (2, 3, 0, 2)]
    {
        let transposed = |filters, activation| Layer::ConvTranspose2d {
            filters,
            kernel,
            stride,
            padding,
            output_padding,
            bias: true,
            activation,
            init: Init::GlorotUniform,
        };
        let graph = Graph::chain([
            Layer::input(vec![2, 3, 4]),
            transposed(3, Activation::Tanh),
            transposed(2, Activation::Identity),
            Layer::Flatten,
            dense(2, Activation::Identity),
            Layer::loss(LossKind::MeanSquaredError),
        ]);
        assert_gradients(graph, regress(2), vec![2, 3, 4]);
    }
}

#[test]
fn upsampling_nearest_and_bilinear() {
    for (scale, bilinear) in [(2, false), (2, true), (3, true)] {
        let graph = Graph::chain([
            Layer::input(vec![2, 3, 4]),
            // Parameters before the upsampling, so that its gradient is checked too.
            conv(2, 3, 1, 1, Activation::Tanh),
            Layer::Upsample { scale, bilinear },
            Layer::Flatten,
            dense(2, Activation::Identity),
            Layer::loss(LossKind::MeanSquaredError),
        ]);
        assert_gradients(graph, regress(2), vec![2, 3, 4]);
    }
}

#[test]
fn pooling_layers() {
    for pool in [
        Layer::MaxPool2d {
            kernel: 2,
            stride: None,
        },
        Layer::MaxPool2d {
            kernel: 3,
            stride: Some(2),
        },
        Layer::AvgPool2d {
            kernel: 2,
            stride: None,
        },
        Layer::AvgPool2d {
            kernel: 3,
            stride: Some(1),
        },
        Layer::GlobalAvgPool,
    ] {
        let graph = Graph::chain([
            Layer::input(vec![1, 6, 6]),
            conv(2, 3, 1, 1, Activation::Identity),
            pool.clone(),
            Layer::Flatten,
            dense(2, Activation::Identity),
            Layer::loss(LossKind::MeanSquaredError),
        ]);
        let model = compile::check(&graph, None);
        assert!(model.is_trainable(), "{pool:?}: {:?}", model.problems);
        let program = compile(&graph, regress(2), vec![1, 6, 6]);
        let report = gradient_check(program, &regress(2), 7);
        assert!(report.passes(), "{pool:?}: {report:?}");
    }
}

#[test]
fn normalisation_layers() {
    for (input, norm) in [
        (
            vec![4],
            Layer::BatchNorm {
                momentum: 0.1,
                epsilon: 1e-5,
            },
        ),
        (
            vec![2, 4, 4],
            Layer::BatchNorm {
                momentum: 0.1,
                epsilon: 1e-5,
            },
        ),
        (vec![4], Layer::LayerNorm { epsilon: 1e-5 }),
    ] {
        let first = if input.len() == 3 {
            conv(3, 3, 1, 1, Activation::Identity)
        } else {
            dense(5, Activation::Identity)
        };
        let graph = Graph::chain([
            Layer::input(input.clone()),
            first,
            norm.clone(),
            Layer::Activation {
                function: Activation::Tanh,
            },
            Layer::Flatten,
            dense(2, Activation::Identity),
            Layer::loss(LossKind::MeanSquaredError),
        ]);
        assert_gradients(graph, regress(2), input);
    }
}

#[test]
fn reshape_and_dropout() {
    let graph = Graph::chain([
        Layer::input(vec![6]),
        dense(8, Activation::Tanh),
        Layer::Reshape { shape: vec![2, 4] },
        Layer::Flatten,
        Layer::Dropout { rate: 0.5 },
        dense(2, Activation::Identity),
        Layer::loss(LossKind::MeanSquaredError),
    ]);
    assert_gradients(graph, regress(2), vec![6]);
}

/// input → a → (b, c) → Add / Concat → loss: fan-out sums gradients, merges route them back.
fn merge_graph(merge: Layer, out_units: usize) -> Graph {
    let mut g = Graph::default();
    let input = g.add_node(Layer::input(vec![3]), [0.0, 0.0]);
    let a = g.add_node(dense(4, Activation::Tanh), [0.0, 0.0]);
    let b = g.add_node(dense(4, Activation::Tanh), [0.0, 0.0]);
    let c = g.add_node(dense(4, Activation::Sigmoid), [0.0, 0.0]);
    let m = g.add_node(merge, [0.0, 0.0]);
    let out = g.add_node(dense(out_units, Activation::Identity), [0.0, 0.0]);
    let loss = g.add_node(Layer::loss(LossKind::MeanSquaredError), [0.0, 0.0]);
    g.connect(input, a, 0);
    g.connect(a, b, 0);
    g.connect(a, c, 0);
    g.connect(b, m, 0);
    g.connect(c, m, 1);
    g.connect(m, out, 0);
    g.connect(out, loss, 0);
    g
}

#[test]
fn add_and_concat_with_fan_out() {
    assert_gradients(
        merge_graph(Layer::Add { inputs: 2 }, 2),
        regress(2),
        vec![3],
    );
    assert_gradients(
        merge_graph(Layer::Concat { inputs: 2, axis: 0 }, 2),
        regress(2),
        vec![3],
    );
}

#[test]
fn concat_of_images_along_channels() {
    let mut g = Graph::default();
    let input = g.add_node(Layer::input(vec![1, 4, 4]), [0.0, 0.0]);
    let a = g.add_node(conv(2, 3, 1, 1, Activation::Tanh), [0.0, 0.0]);
    let b = g.add_node(conv(3, 3, 1, 1, Activation::Tanh), [0.0, 0.0]);
    let m = g.add_node(Layer::Concat { inputs: 2, axis: 0 }, [0.0, 0.0]);
    let f = g.add_node(Layer::Flatten, [0.0, 0.0]);
    let out = g.add_node(dense(2, Activation::Identity), [0.0, 0.0]);
    let loss = g.add_node(Layer::loss(LossKind::MeanSquaredError), [0.0, 0.0]);
    for (x, y, port) in [
        (input, a, 0),
        (input, b, 0),
        (a, m, 0),
        (b, m, 1),
        (m, f, 0),
        (f, out, 0),
        (out, loss, 0),
    ] {
        g.connect(x, y, port);
    }
    assert_gradients(g, regress(2), vec![1, 4, 4]);
}

/// `layers` between an Embedding of token ids (`[5]` below 6, as vectors of 4) and a Dense of
/// scores per step with a class per step: gradient-checked.
fn assert_gradients_over_tokens(layers: impl IntoIterator<Item = Layer>, seed: u64, what: &str) {
    let report = gradient_check(program_over_tokens(layers), &classify(6), seed);
    assert!(report.passes(), "{what}: {report:?}");
}

/// Token ids → Embedding → `layers` → Dense per step → per-token cross-entropy.
fn program_over_tokens(layers: impl IntoIterator<Item = Layer>) -> Program {
    let values = ValueKind::Tokens { vocabulary: 6 };
    let mut chain = vec![
        Layer::Input {
            shape: vec![5],
            values,
        },
        Layer::Embedding {
            num_embeddings: 6,
            embedding_dim: 4,
            init: Init::Normal { std: 1.0 },
        },
    ];
    chain.extend(layers);
    chain.push(dense(6, Activation::Identity));
    chain.push(Layer::loss(LossKind::SoftmaxCrossEntropy));
    compile_values(&Graph::chain(chain), classify(6), vec![5], values)
}

#[test]
fn embeddings_and_layers_per_time_step_over_token_ids() {
    let layers = [
        dense(5, Activation::Tanh),
        Layer::LayerNorm { epsilon: 1e-5 },
    ];
    assert_gradients_over_tokens(layers, 7, "dense and layer norm");
}

#[test]
fn a_class_per_time_step_of_a_float_sequence() {
    let graph = Graph::chain([
        Layer::Input {
            shape: vec![4, 3],
            values: ValueKind::Sequence,
        },
        dense(5, Activation::Gelu),
        Layer::Dropout { rate: 0.0 },
        dense(3, Activation::Identity),
        Layer::loss(LossKind::SoftmaxCrossEntropy),
    ]);
    let program = compile_values(&graph, classify(3), vec![4, 3], ValueKind::Sequence);
    let report = gradient_check(program, &classify(3), 7);
    assert!(report.passes(), "{report:?}");
}

fn recurrent(cell: RecurrentCell, hidden_size: usize, layers: usize, both: bool) -> Layer {
    Layer::Recurrent {
        cell,
        hidden_size,
        num_layers: layers,
        bidirectional: both,
        returns: Returns::Sequence,
    }
}

const CELLS: [RecurrentCell; 4] = [
    RecurrentCell::Rnn,
    RecurrentCell::RnnRelu,
    RecurrentCell::Lstm,
    RecurrentCell::Gru,
];

#[test]
fn recurrent_layers_stacked_and_both_ways_through_time() {
    for cell in CELLS {
        for (layers, both) in [(1, false), (2, true)] {
            let graph = Graph::chain([
                Layer::Input {
                    shape: vec![5, 3],
                    values: ValueKind::Sequence,
                },
                recurrent(cell, 4, layers, both),
                dense(3, Activation::Identity),
                Layer::loss(LossKind::SoftmaxCrossEntropy),
            ]);
            let program = compile_values(&graph, classify(3), vec![5, 3], ValueKind::Sequence);
            let report = gradient_check(program, &classify(3), 7);
            assert!(
                report.passes(),
                "{cell:?}, {layers} layers, both ways {both}: {report:?}"
            );
        }
    }
}

/// `layers` that end a sequence of 6 embedded token ids (below 4, as vectors of 3) with one
/// vector per sample, then two classes: gradient-checked, with one sample per batch.
fn assert_gradients_of_one_class_per_sequence(layers: impl IntoIterator<Item = Layer>, what: &str) {
    let values = ValueKind::Tokens { vocabulary: 4 };
    let mut chain = vec![
        Layer::Input {
            shape: vec![6],
            values,
        },
        Layer::Embedding {
            num_embeddings: 4,
            embedding_dim: 3,
            init: Init::Normal { std: 1.0 },
        },
    ];
    chain.extend(layers);
    chain.push(dense(2, Activation::Identity));
    chain.push(Layer::loss(LossKind::SoftmaxCrossEntropy));
    let program = compile_with(&Graph::chain(chain), classify(2), vec![6], values, 1);
    let report = gradient_check(program, &classify(2), 3);
    assert!(report.passes(), "{what}: {report:?}");
}

#[test]
fn the_last_step_of_a_recurrent_layer_over_embeddings() {
    for cell in [RecurrentCell::Lstm, RecurrentCell::Gru] {
        let mut last = recurrent(cell, 3, 1, true);
        if let Layer::Recurrent { returns, .. } = &mut last {
            *returns = Returns::LastStep;
        }
        assert_gradients_of_one_class_per_sequence([last], &format!("{cell:?}"));
    }
}

#[test]
fn attention_with_positions_causal_or_not() {
    for causal in [true, false] {
        let layers = [
            Layer::PositionalEmbedding,
            Layer::MultiHeadAttention {
                heads: 2,
                causal,
                dropout: 0.0,
            },
        ];
        assert_gradients_over_tokens(layers, 5, &format!("causal {causal}"));
    }
}

#[test]
fn attention_with_dropout() {
    let attention = Layer::MultiHeadAttention {
        heads: 2,
        causal: true,
        dropout: 0.4,
    };
    let layers = [Layer::PositionalEmbedding, attention];
    // The training program really drops weights: its attention reads a mask.
    let program = program_over_tokens(layers.clone());
    let masked = |s: &netloom::compile::Step| matches!(s.op, Op::Attention { mask: Some(_), .. });
    assert!(program.steps.iter().any(masked));
    assert_gradients_over_tokens(layers, 5, "attention dropout");
}

#[test]
fn a_planted_wrong_gradient_is_caught() {
    let graph = Graph::chain([
        Layer::input(vec![4]),
        dense(5, Activation::Tanh),
        dense(3, Activation::Tanh),
        dense(2, Activation::Identity),
        Layer::loss(LossKind::MeanSquaredError),
    ]);
    let task = regress(2);
    let honest = compile(&graph, task.clone(), vec![4]);
    assert!(gradient_check(honest.clone(), &task, 1).passes());

    // Swap tanh's derivative for sigmoid's in the backward pass: a plausible-looking, wrong VJP.
    let mut planted = honest;
    let mut planted_any = false;
    for step in &mut planted.steps[planted.phases.backward.clone()] {
        if let Op::UnaryBackward { f, .. } = &mut step.op {
            *f = UnaryFn::Sigmoid;
            planted_any = true;
        }
    }
    assert!(planted_any);
    let report = gradient_check(planted, &task, 1);
    assert!(
        !report.passes(),
        "the checker missed a wrong gradient: {report:?}"
    );
}

#[test]
fn a_sequence_pooled_over_time_by_mean_max_or_last_step() {
    for pooling in TimePooling::ALL {
        let layers = [Layer::PositionalEncoding, Layer::PoolOverTime { pooling }];
        assert_gradients_of_one_class_per_sequence(layers, &format!("{pooling:?}"));
    }
}
