//! Lowering: each layer becomes a few primitive ops. Run once for the training pass and once for
//! the evaluation pass; both share the parameters and running statistics.

use std::collections::HashMap;

use super::builder::Builder;
use super::check::Model;
use super::program::{
    BufferId, BufferKind, DType, Extent, NamedState, Op, Param, ParamInit, UnaryFn, Window,
};
use super::shapes::window_output;
use crate::graph::{Activation, Layer, LossKind, NodeId};

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
        initial: f32,
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
            Layer::Loss { kind } => {
                let (prediction, loss) = lw.loss(*kind, inputs[0]);
                result = Some((prediction, loss));
                continue;
            }
            layer => lw.layer(layer, &inputs, info.output.clone().unwrap_or_default()),
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
            Layer::Dense {
                units,
                bias,
                activation,
                init,
            } => {
                let features = x_shape[0];
                let w = self.param(
                    "weight",
                    vec![*units, features],
                    ParamInit::Weight {
                        init: *init,
                        fan_in: features,
                        fan_out: *units,
                    },
                );
                let y = self.value("matmul", vec![*units]);
                self.b.push(Op::MatMul {
                    a: x,
                    b: w,
                    out: y,
                    trans_a: false,
                    trans_b: true,
                    m: Extent {
                        per_row: 1,
                        batched: true,
                    },
                    n: Extent::fixed(*units),
                    k: Extent::fixed(features),
                });
                let y = if *bias { self.bias(y, *units, 1) } else { y };
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
            Layer::Flatten | Layer::Reshape { .. } => {
                let name = format!("{} (output)", self.name);
                self.b.reshape(x, out_shape, name)
            }
            Layer::Dropout { rate } => {
                if self.mode == Mode::Eval || *rate == 0.0 {
                    return x;
                }
                let stream = self.shared.dropout_streams;
                self.shared.dropout_streams += 1;
                let mask = self.value("dropout mask", x_shape.clone());
                self.b.push(Op::DropoutMask {
                    out: mask,
                    rate: *rate,
                    stream,
                });
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
                    0.0,
                );
                let running_var = self.shared.state(
                    self.b,
                    format!("{}.running_var", self.name),
                    vec![channels],
                    1.0,
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

    fn loss(&mut self, kind: LossKind, pred: BufferId) -> (BufferId, BufferId) {
        let pred_shape = self.b.shape(pred).to_vec();
        let target = *self.shared.target.get_or_insert_with(|| {
            let (shape, dtype) = match kind {
                LossKind::SoftmaxCrossEntropy => (vec![], DType::I32),
                _ => (pred_shape.clone(), DType::F32),
            };
            self.b
                .buffer("target".into(), shape, true, dtype, BufferKind::Target)
        });
        let suffix = if self.mode == Mode::Eval {
            " (eval)"
        } else {
            ""
        };
        let loss = self.b.fixed(format!("loss{suffix}"), vec![1]);
        let width = pred_shape.iter().product();
        self.b.push(Op::Loss {
            kind,
            pred,
            target,
            out: loss,
            width,
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
