//! Lowering: each layer becomes a few primitive ops. Run once for the training pass and once for
//! the evaluation pass; both share the parameters and running statistics.

use std::collections::HashMap;

use super::builder::Builder;
use super::check::Model;
use super::program::{
    Attention, BufferId, BufferKind, Cell, DType, Extent, NamedState, Op, Param, ParamInit,
    Recurrence, StateInit, UnaryFn, Window,
};
use super::shapes::window_output;
use crate::graph::{
    Activation, Init, Layer, LossKind, NodeId, RecurrentCell, Returns, TimePooling,
};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

/// What both passes share: the data buffers and the trained state.
pub struct Shared {
    pub input: BufferId,
    pub target: Option<BufferId>,
    pub params: Vec<Param>,
    pub running_stats: Vec<NamedState>,
    by_name: HashMap<String, BufferId>,
    dropout_streams: u32,
}

impl Shared {
    pub fn new(input: BufferId) -> Self {
        Self {
            input,
            target: None,
            params: Vec::new(),
            running_stats: Vec::new(),
            by_name: HashMap::new(),
            dropout_streams: 0,
        }
    }

    fn param(
        &mut self,
        b: &mut Builder,
        node: NodeId,
        name: String,
        shape: Vec<usize>,
        init: ParamInit,
    ) -> BufferId {
        if let Some(&id) = self.by_name.get(&name) {
            return id;
        }
        let buffer = b.buffer(name.clone(), shape, false, DType::F32, BufferKind::Param);
        self.by_name.insert(name.clone(), buffer);
        self.params.push(Param {
            name,
            node,
            buffer,
            grad: None,
            change: None,
            init,
        });
        buffer
    }

    fn state(
        &mut self,
        b: &mut Builder,
        name: String,
        shape: Vec<usize>,
        initial: StateInit,
    ) -> BufferId {
        if let Some(&id) = self.by_name.get(&name) {
            return id;
        }
        let buffer = b.buffer(name.clone(), shape, false, DType::F32, BufferKind::State);
        self.by_name.insert(name.clone(), buffer);
        self.running_stats.push(NamedState {
            name,
            buffer,
            initial,
        });
        buffer
    }
}

pub struct Lowered {
    pub prediction: BufferId,
    pub loss: BufferId,
    pub node_outputs: Vec<(NodeId, BufferId)>,
}

/// Emits one forward pass over the nodes that feed the loss.
pub fn lower_forward(model: &Model, b: &mut Builder, shared: &mut Shared, mode: Mode) -> Lowered {
    let graph = &model.graph;
    let mut outputs: HashMap<usize, BufferId> = HashMap::new();
    let mut node_outputs = Vec::new();
    let mut result = None;
    for &i in &model.order {
        let info = &model.nodes[i];
        if !info.feeds_loss {
            continue;
        }
        let node = &graph.nodes[i];
        b.node = Some(node.id);
        let inputs: Vec<BufferId> = info
            .inputs
            .iter()
            .filter_map(|s| s.as_ref().and_then(|(src, _)| outputs.get(src).copied()))
            .collect();
        let mut lw = LayerLowering {
            b,
            shared,
            mode,
            node: node.id,
            name: &node.name,
        };
        let out = match &node.layer {
            Layer::Loss { kind, .. } => {
                let positions = match info.inputs.first() {
                    Some(Some((_, shape))) if shape.has_time() => shape[0],
                    _ => 1,
                };
                let (prediction, loss) =
                    lw.loss(*kind, inputs[0], inputs.get(1).copied(), positions);
                result = Some((prediction, loss));
                continue;
            }
            layer => lw.layer(layer, &inputs, info.output.clone().unwrap_or_default().dims),
        };
        outputs.insert(i, out);
        node_outputs.push((node.id, out));
    }
    b.node = None;
    let (prediction, loss) = result.unwrap_or((shared.input, shared.input));
    Lowered {
        prediction,
        loss,
        node_outputs,
    }
}

struct LayerLowering<'a> {
    b: &'a mut Builder,
    shared: &'a mut Shared,
    mode: Mode,
    node: NodeId,
    name: &'a str,
}

impl LayerLowering<'_> {
    fn value(&mut self, what: &str, shape: Vec<usize>) -> BufferId {
        let suffix = if self.mode == Mode::Eval {
            ", eval"
        } else {
            ""
        };
        self.b
            .value(format!("{} ({what}{suffix})", self.name), shape)
    }

    fn param(&mut self, suffix: &str, shape: Vec<usize>, init: ParamInit) -> BufferId {
        let name = format!("{}.{suffix}", self.name);
        self.shared.param(self.b, self.node, name, shape, init)
    }

    fn layer(&mut self, layer: &Layer, inputs: &[BufferId], out_shape: Vec<usize>) -> BufferId {
        let x = inputs.first().copied().unwrap_or(self.shared.input);
        let x_shape = self.b.shape(x).to_vec();
        match layer {
            Layer::Input { .. } => self.shared.input,
            Layer::Embedding {
                num_embeddings,
                embedding_dim,
                init,
            } => {
                let table = self.param(
                    "weight",
                    vec![*num_embeddings, *embedding_dim],
                    ParamInit::Weight {
                        init: *init,
                        fan_in: *embedding_dim,
                        fan_out: *num_embeddings,
                    },
                );
                let out = self.value("embedding", out_shape);
                self.b.push(Op::Embedding {
                    table,
                    ids: x,
                    out,
                    dim: *embedding_dim,
                    table_rows: *num_embeddings,
                });
                out
            }
            Layer::Recurrent {
                cell,
                hidden_size,
                num_layers,
                bidirectional,
                returns,
            } => {
                let cell = match cell {
                    RecurrentCell::Rnn => Cell::RnnTanh,
                    RecurrentCell::RnnRelu => Cell::RnnRelu,
                    RecurrentCell::Lstm => Cell::Lstm,
                    RecurrentCell::Gru => Cell::Gru,
                };
                let steps = x_shape[0];
                let mut seq = x;
                for layer in 0..*num_layers {
                    let directions: &[bool] = if *bidirectional {
                        &[false, true]
                    } else {
                        &[false]
                    };
                    let outputs: Vec<BufferId> = directions
                        .iter()
                        .map(|&reverse| {
                            let shape = Recurrence {
                                cell,
                                steps,
                                hidden: *hidden_size,
                                reverse,
                            };
                            self.recurrence(seq, shape, layer)
                        })
                        .collect();
                    seq = if let [one] = outputs[..] {
                        one
                    } else {
                        let out = self.value("both directions", vec![steps, 2 * hidden_size]);
                        self.b.push(Op::Concat {
                            inputs: outputs,
                            out,
                            widths: vec![*hidden_size; 2],
                            inner: 1,
                        });
                        out
                    };
                }
                match returns {
                    Returns::Sequence => seq,
                    Returns::LastStep => self.last_step(seq, out_shape),
                }
            }
            Layer::MultiHeadAttention {
                heads,
                causal,
                dropout,
            } => {
                let (steps, width) = (x_shape[0], x_shape[1]);
                let shape = Attention {
                    steps,
                    width,
                    heads: *heads,
                    causal: *causal,
                };
                // nn.MultiheadAttention's own start: Xavier for the input projection, Linear's
                // for the output one, zero biases.
                let in_init = ParamInit::Weight {
                    init: Init::GlorotUniform,
                    fan_in: width,
                    fan_out: 3 * width,
                };
                let out_init = ParamInit::Weight {
                    init: Init::Uniform {
                        limit: 1.0 / (width as f32).sqrt(),
                    },
                    fan_in: width,
                    fan_out: width,
                };
                let qkv = self.projection(x, "in_proj_weight", "in_proj_bias", 3 * width, in_init);
                let probs = self.value("attention weights", vec![*heads, steps, steps]);
                let mask = self.dropout_mask(*dropout, "attention dropout mask", probs);
                let mixed = self.value("heads", vec![steps, width]);
                self.b.push(Op::Attention {
                    shape,
                    qkv,
                    probs,
                    mask,
                    out: mixed,
                });
                self.projection(mixed, "out_proj.weight", "out_proj.bias", width, out_init)
            }
            Layer::PositionalEmbedding => {
                let (steps, width) = (x_shape[0], x_shape[1]);
                // As nn.Embedding(steps, width) looked up at 0, 1, 2, ...
                let init = ParamInit::Weight {
                    init: Init::Normal { std: 1.0 },
                    fan_in: width,
                    fan_out: steps,
                };
                let table = self.param("weight", vec![steps, width], init);
                self.add_per_step(x, table)
            }
            Layer::PositionalEncoding => {
                let (steps, width) = (x_shape[0], x_shape[1]);
                let name = format!("{}.pe", self.name);
                let initial = StateInit::Sinusoidal { steps, width };
                let table = self.shared.state(self.b, name, vec![steps, width], initial);
                self.add_per_step(x, table)
            }
            Layer::Dense {
                units,
                bias,
                activation,
                init,
            } => {
                // A sequence's time steps are rows of the product, as batch rows are.
                let features = *x_shape.last().unwrap_or(&1);
                let w = self.param(
                    "weight",
                    vec![*units, features],
                    ParamInit::Weight {
                        init: *init,
                        fan_in: features,
                        fan_out: *units,
                    },
                );
                let b = bias.then(|| self.param("bias", vec![*units], ParamInit::Constant(0.0)));
                let y = self.linear(x, w, b, "matmul");
                self.activate(*activation, y)
            }
            Layer::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                bias,
                activation,
                init,
            } => {
                let window = Window {
                    channels: x_shape[0],
                    in_h: x_shape[1],
                    in_w: x_shape[2],
                    kernel_h: *kernel,
                    kernel_w: *kernel,
                    stride: *stride,
                    padding: *padding,
                    out_h: out_shape[1],
                    out_w: out_shape[2],
                };
                let area = kernel * kernel;
                let w = self.param(
                    "weight",
                    vec![*filters, window.channels, *kernel, *kernel],
                    ParamInit::Weight {
                        init: *init,
                        fan_in: window.channels * area,
                        fan_out: filters * area,
                    },
                );
                let y = self.value("convolution", out_shape.clone());
                self.b.push(Op::Conv2d {
                    x,
                    w,
                    out: y,
                    window,
                    filters: *filters,
                });
                let y = if *bias {
                    self.bias(y, *filters, window.out_plane())
                } else {
                    y
                };
                self.activate(*activation, y)
            }
            Layer::ConvTranspose2d {
                filters,
                kernel,
                stride,
                padding,
                bias,
                activation,
                init,
                ..
            } => {
                // The input gradient of the convolution that would map the output back onto
                // the input: its window runs from the output (as its input) to this input.
                let window = Window {
                    channels: *filters,
                    in_h: out_shape[1],
                    in_w: out_shape[2],
                    kernel_h: *kernel,
                    kernel_w: *kernel,
                    stride: *stride,
                    padding: *padding,
                    out_h: x_shape[1],
                    out_w: x_shape[2],
                };
                let area = kernel * kernel;
                // PyTorch's layout, and its fans (taken from the weight's second axis first).
                let w = self.param(
                    "weight",
                    vec![x_shape[0], *filters, *kernel, *kernel],
                    ParamInit::Weight {
                        init: *init,
                        fan_in: filters * area,
                        fan_out: x_shape[0] * area,
                    },
                );
                let y = self.value("transposed convolution", out_shape.clone());
                self.b.push(Op::Conv2dBackwardInput {
                    dy: x,
                    w,
                    dx: y,
                    window,
                    filters: x_shape[0],
                });
                let y = if *bias {
                    self.bias(y, *filters, out_shape[1] * out_shape[2])
                } else {
                    y
                };
                self.activate(*activation, y)
            }
            Layer::MaxPool2d { kernel, stride } => {
                let window = pool_window(&x_shape, *kernel, *kernel, stride.unwrap_or(*kernel));
                let out = self.value("max pool", out_shape.clone());
                let argmax = (self.mode == Mode::Train).then(|| {
                    self.b.buffer(
                        format!("{} (argmax)", self.name),
                        out_shape,
                        true,
                        DType::I32,
                        BufferKind::Value,
                    )
                });
                self.b.push(Op::MaxPool2d {
                    x,
                    out,
                    argmax,
                    window,
                });
                out
            }
            Layer::Upsample { scale, bilinear } => {
                let window = Window {
                    channels: x_shape[0],
                    in_h: x_shape[1],
                    in_w: x_shape[2],
                    kernel_h: *scale,
                    kernel_w: *scale,
                    stride: *scale,
                    padding: 0,
                    out_h: out_shape[1],
                    out_w: out_shape[2],
                };
                let out = self.value("upsampled", out_shape);
                self.b.push(Op::Upsample {
                    x,
                    out,
                    window,
                    bilinear: *bilinear,
                });
                out
            }
            Layer::AvgPool2d { kernel, stride } => {
                let window = pool_window(&x_shape, *kernel, *kernel, stride.unwrap_or(*kernel));
                let out = self.value("average pool", out_shape);
                self.b.push(Op::AvgPool2d { x, out, window });
                out
            }
            Layer::GlobalAvgPool => {
                let window = pool_window(&x_shape, x_shape[1], x_shape[2], 1);
                let pooled = self.value("average pool", vec![x_shape[0], 1, 1]);
                self.b.push(Op::AvgPool2d {
                    x,
                    out: pooled,
                    window,
                });
                let name = format!("{} (output)", self.name);
                self.b.reshape(pooled, out_shape, name)
            }
            Layer::PoolOverTime { pooling } => {
                let (steps, width) = (x_shape[0], x_shape[1]);
                // A window over the whole time axis of the sequence seen as a one-channel
                // image [1, steps, width]: one output per feature.
                let window = pool_window(&[1, steps, width], steps, 1, 1);
                let pooled = match pooling {
                    TimePooling::Last => return self.last_step(x, out_shape),
                    TimePooling::Mean => {
                        let out = self.value("mean over time", vec![1, 1, width]);
                        self.b.push(Op::AvgPool2d { x, out, window });
                        out
                    }
                    TimePooling::Max => {
                        let out = self.value("max over time", vec![1, 1, width]);
                        let argmax = (self.mode == Mode::Train).then(|| {
                            let name = format!("{} (argmax)", self.name);
                            let shape = vec![1, 1, width];
                            self.b
                                .buffer(name, shape, true, DType::I32, BufferKind::Value)
                        });
                        self.b.push(Op::MaxPool2d {
                            x,
                            out,
                            argmax,
                            window,
                        });
                        out
                    }
                };
                let name = format!("{} (output)", self.name);
                self.b.reshape(pooled, out_shape, name)
            }
            Layer::Flatten | Layer::Reshape { .. } => {
                let name = format!("{} (output)", self.name);
                self.b.reshape(x, out_shape, name)
            }
            Layer::Dropout { rate } => {
                let Some(mask) = self.dropout_mask(*rate, "dropout mask", x) else {
                    return x;
                };
                let out = self.value("dropout", x_shape);
                self.b.push(Op::Mul { a: x, b: mask, out });
                out
            }
            Layer::BatchNorm { momentum, epsilon } => {
                let channels = x_shape[0];
                let inner: usize = x_shape[1..].iter().product();
                let gamma = self.param("weight", vec![channels], ParamInit::Constant(1.0));
                let beta = self.param("bias", vec![channels], ParamInit::Constant(0.0));
                let running_mean = self.shared.state(
                    self.b,
                    format!("{}.running_mean", self.name),
                    vec![channels],
                    StateInit::Constant(0.0),
                );
                let running_var = self.shared.state(
                    self.b,
                    format!("{}.running_var", self.name),
                    vec![channels],
                    StateInit::Constant(1.0),
                );
                let out = self.value("batch norm", x_shape);
                if self.mode == Mode::Eval {
                    self.b.push(Op::BatchNormEval {
                        x,
                        gamma,
                        beta,
                        out,
                        running_mean,
                        running_var,
                        channels,
                        inner,
                        epsilon: *epsilon,
                    });
                } else {
                    let mean = self
                        .b
                        .fixed(format!("{} (batch mean)", self.name), vec![channels]);
                    let inv_std = self
                        .b
                        .fixed(format!("{} (batch 1/std)", self.name), vec![channels]);
                    self.b.push(Op::BatchNormTrain {
                        x,
                        gamma,
                        beta,
                        out,
                        mean,
                        inv_std,
                        running_mean,
                        running_var,
                        channels,
                        inner,
                        momentum: *momentum,
                        epsilon: *epsilon,
                    });
                }
                out
            }
            Layer::LayerNorm { epsilon } => {
                let width = *x_shape.last().unwrap_or(&1);
                let rows_per_sample = x_shape.iter().product::<usize>() / width.max(1);
                let gamma = self.param("weight", vec![width], ParamInit::Constant(1.0));
                let beta = self.param("bias", vec![width], ParamInit::Constant(0.0));
                let out = self.value("layer norm", x_shape);
                let mean = self.value("row mean", vec![rows_per_sample]);
                let inv_std = self.value("row 1/std", vec![rows_per_sample]);
                self.b.push(Op::LayerNorm {
                    x,
                    gamma,
                    beta,
                    out,
                    mean,
                    inv_std,
                    width,
                    epsilon: *epsilon,
                });
                out
            }
            Layer::Activation { function } => self.activate(*function, x),
            Layer::Add { .. } => inputs[1..].iter().fold(x, |sum, &next| {
                let out = self.value("sum", x_shape.clone());
                self.b.push(Op::Add {
                    a: sum,
                    b: next,
                    out,
                });
                out
            }),
            Layer::Concat { axis, .. } => {
                let widths: Vec<usize> = inputs.iter().map(|&i| self.b.shape(i)[*axis]).collect();
                let inner = x_shape[axis + 1..].iter().product();
                let out = self.value("concat", out_shape);
                self.b.push(Op::Concat {
                    inputs: inputs.to_vec(),
                    out,
                    widths,
                    inner,
                });
                out
            }
            Layer::Loss { .. } => x,
        }
    }

    /// The last time step of `seq` (`[steps, width]`), shaped `out_shape`.
    fn last_step(&mut self, seq: BufferId, out_shape: Vec<usize>) -> BufferId {
        let (steps, width) = (self.b.shape(seq)[0], *out_shape.last().unwrap_or(&1));
        let last = self.value("last step", vec![1, width]);
        self.b.push(Op::Slice {
            x: seq,
            out: last,
            total: steps,
            start: steps - 1,
            width: 1,
            inner: width,
        });
        let name = format!("{} (output)", self.name);
        self.b.reshape(last, out_shape, name)
    }

    /// `x` (`[steps, width]`) plus `table`, a vector per time step.
    fn add_per_step(&mut self, x: BufferId, table: BufferId) -> BufferId {
        let shape = self.b.shape(x).to_vec();
        let channels = shape.iter().product();
        let out = self.value("with positions", shape);
        self.b.push(Op::BiasAdd {
            x,
            bias: table,
            out,
            channels,
            inner: 1,
        });
        out
    }

    /// A fresh dropout mask shaped like `like`, drawn at every training step from its own
    /// stream; none when evaluating or when nothing is dropped.
    fn dropout_mask(&mut self, rate: f32, name: &str, like: BufferId) -> Option<BufferId> {
        if self.mode == Mode::Eval || rate == 0.0 {
            return None;
        }
        let stream = self.shared.dropout_streams;
        self.shared.dropout_streams += 1;
        let mask = self.value(name, self.b.shape(like).to_vec());
        self.b.push(Op::DropoutMask {
            out: mask,
            rate,
            stream,
        });
        Some(mask)
    }

    /// One direction of layer `layer` of a recurrent layer over `x` (`[steps, features]`):
    /// the input's projection for every step in one product, then the recurrence. Parameters
    /// are named and laid out as PyTorch's (`weight_ih_l0`, `bias_hh_l1_reverse`, ...).
    fn recurrence(&mut self, x: BufferId, shape: Recurrence, layer: usize) -> BufferId {
        let features = *self.b.shape(x).last().unwrap_or(&1);
        let (h, g) = (shape.hidden, shape.gate_width());
        let suffix = format!("l{layer}{}", if shape.reverse { "_reverse" } else { "" });
        // PyTorch's start for every recurrent weight and bias.
        let init = ParamInit::Weight {
            init: Init::Uniform {
                limit: 1.0 / (h as f32).sqrt(),
            },
            fan_in: h,
            fan_out: g,
        };
        let w_ih = self.param(&format!("weight_ih_{suffix}"), vec![g, features], init);
        let w_hh = self.param(&format!("weight_hh_{suffix}"), vec![g, h], init);
        let b_ih = self.param(&format!("bias_ih_{suffix}"), vec![g], init);
        let b_hh = self.param(&format!("bias_hh_{suffix}"), vec![g], init);
        let xw_b = self.linear(x, w_ih, Some(b_ih), &format!("input projection {suffix}"));
        let out = self.value(&format!("hidden states {suffix}"), vec![shape.steps, h]);
        let saved = self.value(
            &format!("saved states {suffix}"),
            vec![shape.steps * shape.cell.saved_per_step(h)],
        );
        let scratch = self.value(&format!("recurrent product {suffix}"), vec![g]);
        self.b.push(Op::Recurrence {
            shape,
            xw: xw_b,
            w_hh,
            b_hh,
            out,
            saved,
            scratch,
        });
        out
    }

    /// `x·Wᵀ + b` at every time step of `x` (`[steps, features]`), to `width` values per step,
    /// with new parameters of these names (the bias starting at zero).
    fn projection(
        &mut self,
        x: BufferId,
        weight: &str,
        bias: &str,
        width: usize,
        init: ParamInit,
    ) -> BufferId {
        let features = *self.b.shape(x).last().unwrap_or(&1);
        let w = self.param(weight, vec![width, features], init);
        let b = self.param(bias, vec![width], ParamInit::Constant(0.0));
        self.linear(x, w, Some(b), &format!("{weight} product"))
    }

    /// `x·Wᵀ (+ b)` over the last axis of `x`, at every time step of a sequence as at every
    /// sample: `w` is `[width, features]`, as PyTorch's Linear holds it.
    fn linear(&mut self, x: BufferId, w: BufferId, b: Option<BufferId>, what: &str) -> BufferId {
        let x_shape = self.b.shape(x).to_vec();
        let (&features, steps) = x_shape.split_last().unwrap_or((&1, &[]));
        let width = self.b.shape(w)[0];
        let shape: Vec<usize> = steps.iter().copied().chain([width]).collect();
        let y = self.value(what, shape.clone());
        self.b.push(Op::MatMul {
            a: x,
            b: w,
            out: y,
            trans_a: false,
            trans_b: true,
            m: Extent {
                per_row: steps.iter().product(),
                batched: true,
            },
            n: Extent::fixed(width),
            k: Extent::fixed(features),
        });
        let Some(bias) = b else { return y };
        let out = self.value(&format!("{what} + bias"), shape);
        self.b.push(Op::BiasAdd {
            x: y,
            bias,
            out,
            channels: width,
            inner: 1,
        });
        out
    }

    fn bias(&mut self, x: BufferId, channels: usize, inner: usize) -> BufferId {
        let bias = self.param("bias", vec![channels], ParamInit::Constant(0.0));
        let out = self.value("bias", self.b.shape(x).to_vec());
        self.b.push(Op::BiasAdd {
            x,
            bias,
            out,
            channels,
            inner,
        });
        out
    }

    fn activate(&mut self, function: Activation, x: BufferId) -> BufferId {
        let shape = self.b.shape(x).to_vec();
        let f = match function {
            Activation::Identity => return x,
            Activation::Softmax => {
                let width = *shape.last().unwrap_or(&1);
                let out = self.value("softmax", shape);
                self.b.push(Op::Softmax { x, out, width });
                return out;
            }
            Activation::Relu => UnaryFn::Relu,
            Activation::LeakyRelu { slope } => UnaryFn::LeakyRelu(slope),
            Activation::Elu { alpha } => UnaryFn::Elu(alpha),
            Activation::Sigmoid => UnaryFn::Sigmoid,
            Activation::Tanh => UnaryFn::Tanh,
            Activation::Gelu => UnaryFn::Gelu,
        };
        let out = self.value(&function.label().to_lowercase(), shape);
        self.b.push(Op::Unary { f, x, out });
        out
    }

    /// `positions` is the time steps of a sequence's prediction (1 for a sample's one), each
    /// with its own target.
    /// The loss of `pred` against `wired` (a tensor of the network, shaped like `pred`), or
    /// against the dataset's target.
    fn loss(
        &mut self,
        kind: LossKind,
        pred: BufferId,
        wired: Option<BufferId>,
        positions: usize,
    ) -> (BufferId, BufferId) {
        let pred_shape = self.b.shape(pred).to_vec();
        let from_data = || {
            let (shape, dtype) = match kind {
                LossKind::SoftmaxCrossEntropy if positions > 1 => (vec![positions], DType::I32),
                LossKind::SoftmaxCrossEntropy => (vec![], DType::I32),
                _ => (pred_shape.clone(), DType::F32),
            };
            self.b
                .buffer("target".into(), shape, true, dtype, BufferKind::Target)
        };
        let target = match wired {
            Some(tensor) => tensor,
            None => *self.shared.target.get_or_insert_with(from_data),
        };
        let suffix = if self.mode == Mode::Eval {
            " (eval)"
        } else {
            ""
        };
        // The mean loss and how many targets it is over.
        let loss = self.b.fixed(format!("loss{suffix}"), vec![2]);
        let width = pred_shape.iter().product::<usize>() / positions;
        self.b.push(Op::Loss {
            kind,
            pred,
            target,
            out: loss,
            width,
            positions,
        });
        (pred, loss)
    }
}

fn pool_window(x: &[usize], kernel_h: usize, kernel_w: usize, stride: usize) -> Window {
    Window {
        channels: x[0],
        in_h: x[1],
        in_w: x[2],
        kernel_h,
        kernel_w,
        stride,
        padding: 0,
        out_h: window_output(x[1], kernel_h, stride, 0).unwrap_or(1),
        out_w: window_output(x[2], kernel_w, stride, 0).unwrap_or(1),
    }
}
