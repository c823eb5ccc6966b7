//! `netloom bench`: training throughput on the three reference workloads of the PyTorch
//! comparison (tiny, mlp, cnn) and the sequence ones (charlstm, gpt), the cost of `check` on
//! graphs of 100 to 100,000 nodes, and a sweep of matrix products (matmul). Prints JSON lines.

use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use serde_json::json;

use crate::compile;
use crate::data::{Dataset, InMemoryDataset, Splits, Targets, Task};
use crate::graph::{
    Activation, BackendChoice, Graph, Init, Layer, LossKind, Node, NodeId, Optimizer,
    RecurrentCell, Returns, TrainingSettings, TransformerBlock, ValueKind,
};
use crate::rng::Rng;
use crate::train::Session;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value_t = crate::cli::BackendArg::Cpu)]
    pub backend: crate::cli::BackendArg,
    /// Comma-separated: tiny, mlp, cnn, charlstm, gpt, check, matmul (default: all but the
    /// sequence models and matmul, and matmul too with --backend gpu).
    #[arg(long)]
    pub workload: Option<String>,
    /// The matmul sweep's sizes: `1024` is a square product, `32x1024x256` is m×n×k (the CPU
    /// sweep only). The CPU's default adds the sequence workloads' per-step products.
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<String>,
    /// CPU threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed runs per workload; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Steps per timed run, as `tiny=5000,mlp=500,cnn=200,charlstm=50,gpt=50` (the PyTorch script's
    /// defaults).
    #[arg(long, default_value = "tiny=5000,mlp=500,cnn=200,charlstm=50,gpt=50")]
    pub steps: String,
    #[arg(long, default_value_t = 50)]
    pub warmup: usize,
    /// Also print, per workload, the kinds of op that take the most time per step.
    #[arg(long)]
    pub profile: bool,
}

/// One reference workload: its network, data, batch size and optimizer.
#[derive(Clone)]
pub struct Workload {
    pub graph: Graph,
    pub dataset: InMemoryDataset,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub learning_rate: f32,
    pub weight_decay: f32,
}

fn dense(units: usize, activation: Activation) -> Layer {
    Layer::Dense {
        units,
        bias: true,
        activation,
        init: Default::default(),
    }
}

fn conv(filters: usize) -> Layer {
    Layer::Conv2d {
        filters,
        kernel: 3,
        stride: 1,
        padding: 1,
        bias: true,
        activation: Activation::Relu,
        init: Default::default(),
    }
}

fn adam() -> Optimizer {
    Optimizer::Adam {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
    }
}

/// Uniform pixels and random labels: throughput does not depend on the values.
fn random_images(n: usize, shape: Vec<usize>) -> InMemoryDataset {
    let mut rng = Rng::new(0);
    let len: usize = shape.iter().product();
    let features = (0..n * len).map(|_| rng.next_f64() as f32).collect();
    let labels = (0..n).map(|_| rng.below(10) as u32).collect();
    let names = (0..10).map(|c| c.to_string()).collect();
    InMemoryDataset::new(
        "random",
        shape,
        features,
        Targets::Classes {
            labels,
            classes: 10,
        },
        names,
    )
    .expect("the random set's parts fit by construction")
}

/// Random character windows as `token_batches` makes them: `context` ids below `vocabulary` per
/// row, each position's target the next id.
fn random_tokens(rows: usize, context: usize, vocabulary: usize) -> InMemoryDataset {
    let mut rng = Rng::new(0);
    let mut features = Vec::with_capacity(rows * context);
    let mut labels = Vec::with_capacity(rows * context);
    for _ in 0..rows {
        let row: Vec<u32> = (0..=context)
            .map(|_| rng.below(vocabulary) as u32)
            .collect();
        features.extend(row[..context].iter().map(|&t| t as f32));
        labels.extend_from_slice(&row[1..]);
    }
    let names = (0..vocabulary).map(|c| c.to_string()).collect();
    InMemoryDataset::sequences(
        "random tokens",
        vec![context],
        features,
        ValueKind::Tokens { vocabulary },
        Targets::Classes {
            labels,
            classes: vocabulary,
        },
        names,
    )
    .expect("the random tokens' parts fit by construction")
}

/// A GPT of `blocks` pre-norm transformer blocks (LayerNorm, causal attention, residual add;
/// LayerNorm, a GELU MLP four times as wide, residual add) over token embeddings with learned
/// positions, then a final LayerNorm and the scores per step.
pub fn gpt_graph(
    vocabulary: usize,
    context: usize,
    width: usize,
    heads: usize,
    blocks: usize,
) -> Graph {
    let mut g = Graph::default();
    let chain = |g: &mut Graph, from: Option<NodeId>, layer: Layer| {
        let id = g.add_node(layer, [0.0, 0.0]);
        if let Some(from) = from {
            g.connect(from, id, 0);
        }
        id
    };
    let input = chain(
        &mut g,
        None,
        Layer::Input {
            shape: vec![context],
            values: ValueKind::Tokens { vocabulary },
        },
    );
    let embedded = chain(
        &mut g,
        Some(input),
        Layer::Embedding {
            num_embeddings: vocabulary,
            embedding_dim: width,
            init: Init::Normal { std: 1.0 },
        },
    );
    let mut x = chain(&mut g, Some(embedded), Layer::PositionalEmbedding);
    let block = TransformerBlock { width, heads };
    for _ in 0..blocks {
        x = g.add_transformer_block(&block, Some(x), [0.0, 0.0], [0.0, 0.0]);
    }
    let normed = chain(&mut g, Some(x), Layer::LayerNorm { epsilon: 1e-5 });
    let scores = chain(
        &mut g,
        Some(normed),
        dense(vocabulary, Activation::Identity),
    );
    chain(
        &mut g,
        Some(scores),
        Layer::loss(LossKind::SoftmaxCrossEntropy),
    );
    g
}

pub fn workload(name: &str) -> Option<Workload> {
    Some(match name {
        "tiny" => Workload {
            graph: Graph::chain([
                Layer::input(vec![2]),
                dense(8, Activation::Tanh),
                dense(8, Activation::Tanh),
                dense(1, Activation::Identity),
                Layer::loss(LossKind::BinaryCrossEntropy),
            ]),
            dataset: crate::data::toy_2d(crate::data::ToySet::Circle, 500, 0.0, 0).ok()?,
            batch_size: 10,
            optimizer: Optimizer::Sgd {
                momentum: 0.0,
                nesterov: false,
            },
            learning_rate: 0.03,
            weight_decay: 0.0,
        },
        "mlp" => Workload {
            graph: Graph::chain([
                Layer::input(vec![784]),
                dense(256, Activation::Relu),
                dense(128, Activation::Relu),
                dense(10, Activation::Identity),
                Layer::loss(LossKind::SoftmaxCrossEntropy),
            ]),
            dataset: random_images(64 * 32, vec![784]),
            batch_size: 64,
            optimizer: adam(),
            learning_rate: 1e-3,
            weight_decay: 0.0,
        },
        "cnn" => Workload {
            graph: Graph::chain([
                Layer::input(vec![1, 28, 28]),
                conv(16),
                Layer::MaxPool2d {
                    kernel: 2,
                    stride: None,
                },
                conv(32),
                Layer::MaxPool2d {
                    kernel: 2,
                    stride: None,
                },
                Layer::Flatten,
                dense(10, Activation::Identity),
                Layer::loss(LossKind::SoftmaxCrossEntropy),
            ]),
            dataset: random_images(64 * 16, vec![1, 28, 28]),
            batch_size: 64,
            optimizer: adam(),
            learning_rate: 1e-3,
            weight_decay: 0.0,
        },
        "charlstm" => Workload {
            graph: Graph::chain([
                Layer::Input {
                    shape: vec![64],
                    values: ValueKind::Tokens { vocabulary: 65 },
                },
                Layer::Embedding {
                    num_embeddings: 65,
                    embedding_dim: 64,
                    init: Init::Normal { std: 1.0 },
                },
                Layer::Recurrent {
                    cell: RecurrentCell::Lstm,
                    hidden_size: 256,
                    num_layers: 1,
                    bidirectional: false,
                    returns: Returns::Sequence,
                },
                dense(65, Activation::Identity),
                Layer::loss(LossKind::SoftmaxCrossEntropy),
            ]),
            dataset: random_tokens(32 * 8, 64, 65),
            batch_size: 32,
            optimizer: adam(),
            learning_rate: 2e-3,
            weight_decay: 0.0,
        },
        "gpt" => Workload {
            graph: gpt_graph(65, 64, 128, 4, 2),
            dataset: random_tokens(32 * 8, 64, 65),
            batch_size: 32,
            optimizer: Optimizer::AdamW {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-8,
            },
            learning_rate: 1e-3,
            weight_decay: 0.1,
        },
        _ => return None,
    })
}

/// A session over the whole workload set, in data order, on the backend `choice` gives (a GPU
/// that lacks a kernel for the workload falls back to the CPU, and says so).
pub fn workload_session(
    w: Workload,
    choice: BackendChoice,
    threads: usize,
) -> anyhow::Result<Session> {
    let info = compile::DataInfo::of(&w.dataset);
    let model = compile::check(&w.graph, Some(&info));
    let settings = TrainingSettings {
        optimizer: w.optimizer,
        learning_rate: w.learning_rate,
        weight_decay: w.weight_decay,
        batch_size: w.batch_size,
        shuffle: false,
        // Never the end, yet small enough that steps per epoch times epochs fits in a u64.
        epochs: u32::MAX as usize,
        ..TrainingSettings::default()
    };
    let program = Arc::new(compile::compile(&model, &settings)?);
    let splits = Splits {
        train: (0..w.dataset.len()).collect(),
        validation: vec![],
        test: vec![],
    };
    let (backend, fallback) = crate::train::choose_backend(choice, &program, threads);
    if let (Some(reason), BackendChoice::Gpu) = (fallback, choice) {
        eprintln!("running on the CPU: {reason}");
    }
    Ok(Session::new(
        program,
        backend,
        Arc::new(w.dataset),
        splits,
        settings,
    )?)
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn steps_for(spec: &str, name: &str) -> usize {
    spec.split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(200)
}

pub fn run(args: &BenchArgs) -> anyhow::Result<std::process::ExitCode> {
    let choice = match args.backend {
        crate::cli::BackendArg::Auto => BackendChoice::Auto,
        crate::cli::BackendArg::Gpu => BackendChoice::Gpu,
        crate::cli::BackendArg::Cpu => BackendChoice::Cpu,
    };
    let threads = args.threads.unwrap_or_else(crate::cli::default_threads);
    let runs = args.runs.max(1);
    let workloads = args.workload.clone().unwrap_or_else(|| {
        let gpu = choice == BackendChoice::Gpu;
        format!("tiny,mlp,cnn,check{}", if gpu { ",matmul" } else { "" })
    });
    for name in workloads.split(',').map(str::trim) {
        if name == "check" {
            for line in check_bench(runs) {
                println!("{line}");
            }
            continue;
        }
        if name == "matmul" {
            for line in matmul_sweep(choice, &args.sizes, threads, runs)? {
                println!("{line}");
            }
            continue;
        }
        let Some(chosen) = workload(name) else {
            bail!("unknown workload \"{name}\" (tiny, mlp, cnn, charlstm, gpt, check, matmul)")
        };
        let flop_per_step = training_flop(&chosen);
        let steps = steps_for(&args.steps, name);
        let mut per_run = Vec::new();
        let mut losses = (f32::NAN, f32::NAN);
        let mut device = String::new();
        for _ in 0..runs {
            let mut session = workload_session(chosen.clone(), choice, threads)?;
            device = session.backend_name();
            for i in 0..args.warmup {
                let loss = step_loss(&mut session)?;
                if i == 0 {
                    losses.0 = loss;
                }
            }
            let started = Instant::now();
            for _ in 0..steps {
                losses.1 = step_loss(&mut session)?;
            }
            per_run.push(steps as f64 / started.elapsed().as_secs_f64());
            if args.profile {
                println!("{}", profile(&mut session, name, &device, steps)?);
            }
        }
        let runs_rounded: Vec<f64> = per_run.iter().map(|s| (s * 10.0).round() / 10.0).collect();
        let steps_per_s = median(&mut per_run);
        let gflop_s = steps_per_s * flop_per_step / 1e9;
        println!(
            "{}",
            json!({"workload": name, "backend": if device.starts_with("GPU") { "gpu" } else { "cpu" }, "device": device, "threads": threads, "steps_per_s": (steps_per_s * 10.0).round() / 10.0,
                   "gflop_s": (gflop_s * 1000.0).round() / 1000.0, "runs": runs_rounded, "steps_timed": steps, "loss_first_last": [losses.0, losses.1]})
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// FLOPs of one training step, by the usual estimate: the backward pass costs twice the
/// forward one, which `check` counts per sample.
fn training_flop(w: &Workload) -> f64 {
    let info = compile::DataInfo::of(&w.dataset);
    let forward = compile::check(&w.graph, Some(&info)).total_flops as f64;
    3.0 * forward * w.batch_size as f64
}

/// The matmul sweep: per size, the tiled kernel against the plain 16x16 one, on the device the
/// backend choice opens.
fn matmul_sweep(
    choice: BackendChoice,
    sizes: &[String],
    threads: usize,
    runs: usize,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let shapes = sizes
        .iter()
        .map(|size| parse_shape(size))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if choice == BackendChoice::Cpu {
        let shapes = if shapes.is_empty() {
            vec![
                (256, 256, 256),
                (1024, 1024, 1024),
                (32, 1024, 256),
                (32, 256, 1024),
                (1024, 256, 2016),
            ]
        } else {
            shapes
        };
        let device = format!("CPU ({threads} threads)");
        return Ok(
            crate::engine::cpu::matmul_sweep(threads, &shapes, runs, 0.3)
                .iter()
                .map(|p| {
                    let (m, n, k) = p.shape;
                    json!({"workload": "matmul", "backend": "cpu", "device": device, "isa": p.isa,
                       "m": m, "n": n, "k": k, "b_transposed": p.b_transposed,
                       "gflop_s": round(p.gflop_s)})
                })
                .collect(),
        );
    }
    let sizes = if shapes.is_empty() {
        vec![256, 512, 1024, 2048]
    } else {
        shapes
            .iter()
            .map(|&(m, n, k)| match m == n && n == k {
                true => Ok(m),
                false => Err(anyhow::anyhow!(
                    "the GPU matmul sweep takes square sizes only; {m}x{n}x{k} is not square"
                )),
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let gpu = crate::engine::gpu::open(choice == BackendChoice::Gpu)?;
    let device = format!("GPU ({})", gpu.info.name);
    let points = crate::engine::gpu::matmul_sweep(&gpu, &sizes, runs, 0.5)?;
    Ok(points
        .iter()
        .map(|p| {
            json!({"workload": "matmul", "backend": "gpu", "device": device, "size": p.size,
                   "tiled_kernel": p.tiled_kernel, "tiled_gflop_s": round(p.tiled_gflop_s),
                   "plain_16x16_gflop_s": round(p.plain_gflop_s),
                   "tiled_over_plain": round(p.tiled_gflop_s / p.plain_gflop_s),
                   "max_difference": p.max_difference, "max_error": p.max_error})
        })
        .collect())
}

/// `1024` as 1024×1024×1024, or `32x1024x256` as m×n×k.
fn parse_shape(size: &str) -> anyhow::Result<(usize, usize, usize)> {
    let dims: Vec<usize> = size
        .trim()
        .split('x')
        .map(|d| d.trim().parse::<usize>().ok().filter(|&d| d > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            anyhow::anyhow!("matmul size \"{size}\" is not a positive whole number or MxNxK")
        })?;
    match dims[..] {
        [s] => Ok((s, s, s)),
        [m, n, k] => Ok((m, n, k)),
        _ => bail!("matmul size \"{size}\" should be one number or three joined by x (MxNxK)"),
    }
}

/// Times each op over `steps` more steps and sums the time by op kind.
fn profile(
    session: &mut Session,
    name: &str,
    device: &str,
    steps: usize,
) -> anyhow::Result<serde_json::Value> {
    session.backend_mut().set_profiling(true);
    for _ in 0..steps {
        step_loss(session)?;
    }
    let program = Arc::clone(session.program());
    let seconds = session
        .backend_mut()
        .op_seconds()
        .map(<[f64]>::to_vec)
        .unwrap_or_default();
    session.backend_mut().set_profiling(false);
    let mut by_kind: Vec<(String, f64)> = Vec::new();
    for (step, secs) in program.steps.iter().zip(seconds) {
        let kind = step.op.label();
        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, total)) => *total += secs,
            None => by_kind.push((kind, secs)),
        }
    }
    by_kind.sort_by(|a, b| b.1.total_cmp(&a.1));
    let us_per_step: serde_json::Map<String, serde_json::Value> = by_kind
        .into_iter()
        .map(|(k, s)| (k, json!((s * 1e6 / steps as f64 * 10.0).round() / 10.0)))
        .collect();
    Ok(json!({"workload": name, "device": device, "profile_us_per_step": us_per_step}))
}

fn step_loss(session: &mut Session) -> anyhow::Result<f32> {
    match session.step()? {
        Ok(report) => Ok(report.loss),
        Err(nf) => bail!("non-finite value in {} at step {}", nf.op, nf.step),
    }
}

/// A residual tower of `3 × blocks + 5` nodes (an input, `blocks` blocks of two dense layers
/// joined to the block's input by Add, an activation, an output layer and a loss), built in
/// linear time: ids and names are given, not searched for, so 100,000 nodes take milliseconds.
pub fn tower_graph(blocks: usize) -> Graph {
    let mut g = Graph::default();
    let add = |g: &mut Graph, name: String, layer: Layer| {
        let id = g.nodes.len() as NodeId;
        g.nodes.push(Node {
            id,
            name,
            layer,
            position: [0.0, 0.0],
            group: None,
        });
        id
    };
    let input = add(&mut g, "input".into(), Layer::input(vec![64]));
    let mut last = input;
    for i in 0..blocks {
        let a = add(&mut g, format!("dense_{i}a"), dense(64, Activation::Relu));
        let b = add(
            &mut g,
            format!("dense_{i}b"),
            dense(64, Activation::Identity),
        );
        let sum = add(&mut g, format!("add_{i}"), Layer::Add { inputs: 2 });
        g.connect(last, a, 0);
        g.connect(a, b, 0);
        g.connect(b, sum, 0);
        g.connect(last, sum, 1);
        last = sum;
    }
    let relu = add(
        &mut g,
        "relu".into(),
        Layer::Activation {
            function: Activation::Relu,
        },
    );
    g.connect(last, relu, 0);
    let out = add(&mut g, "out".into(), dense(10, Activation::Identity));
    g.connect(relu, out, 0);
    let loss = add(
        &mut g,
        "loss".into(),
        Layer::loss(LossKind::SoftmaxCrossEntropy),
    );
    g.connect(out, loss, 0);
    g
}

/// The number of blocks that make a tower of about `nodes` nodes.
pub fn tower_blocks(nodes: usize) -> usize {
    nodes.saturating_sub(5).div_ceil(3)
}

/// `check` and its printed report on towers of about 100, 10,000 and 100,000 nodes: a line each,
/// with the time per node, which stays flat when `check` is linear.
fn check_bench(runs: usize) -> Vec<serde_json::Value> {
    let info = compile::DataInfo {
        feature_shape: vec![64],
        values: crate::graph::ValueKind::Features,
        task: Task::Classification { classes: 10 },
        positions: 1,
    };
    [100, 10_000, 100_000]
        .into_iter()
        .map(|nodes| {
            let graph = tower_graph(tower_blocks(nodes));
            // About a million nodes checked per run, at least once.
            let iterations = (1_000_000 / graph.nodes.len()).max(1);
            let mut check_us = Vec::new();
            let mut report_us = Vec::new();
            for _ in 0..runs {
                let started = Instant::now();
                for _ in 0..iterations {
                    std::hint::black_box(compile::check(std::hint::black_box(&graph), Some(&info)));
                }
                check_us.push(started.elapsed().as_secs_f64() * 1e6 / iterations as f64);
                let model = compile::check(&graph, Some(&info));
                let started = Instant::now();
                std::hint::black_box(crate::cli::check_report(
                    &model,
                    &TrainingSettings::default(),
                ));
                report_us.push(started.elapsed().as_secs_f64() * 1e6);
            }
            let check = median(&mut check_us);
            json!({
                "workload": "check",
                "nodes": graph.nodes.len(),
                "us_per_check": (check * 100.0).round() / 100.0,
                "ns_per_node": (check * 1e3 / graph.nodes.len() as f64 * 10.0).round() / 10.0,
                "us_per_report": (median(&mut report_us) * 100.0).round() / 100.0,
            })
        })
        .collect()
}
