//! Shape rules: for each layer, the output shape it makes from its input shapes, its parameter
//! count and its forward FLOPs per sample, or a problem explained in plain words.

use super::check::{Fix, FixAction, Shape, shape_text};
use crate::graph::{
    Activation, Init, Layer, LossKind, LossTarget, NodeId, RecurrentCell, Returns, ValueKind,
};

pub struct Inferred {
    /// `None` for a loss, which ends the graph.
    pub output: Option<Shape>,
    pub params: usize,
    pub flops: u64,
    pub warning: Option<Issue>,
}

pub struct Issue {
    pub message: String,
    /// Boxed: a fix can hold a whole layer, and an `Issue` travels in every `Result` here.
    pub fix: Option<Box<Fix>>,
}

impl Issue {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            fix: None,
        }
    }

    fn insert(mut self, node: NodeId, description: &str, layer: Layer) -> Self {
        self.fix = Some(Box::new(Fix {
            description: description.to_string(),
            action: FixAction::InsertBefore {
                node,
                port: 0,
                layer,
            },
        }));
        self
    }
}

/// The number of values in a shape that `ok` has already accepted, so it cannot overflow.
fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

// Shapes, parameter and FLOP counts are products of the user's settings. They are checked, so
// that a layer of 10^12 units is a problem in words, never a wrapped number or an allocation
// that aborts.

fn too_large() -> Issue {
    Issue::new(
        "This layer's sizes are too large to count: its values, parameters or operations pass 2^64. Use fewer units or filters, or a smaller input.",
    )
}

fn product(factors: &[usize]) -> Result<usize, Issue> {
    factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
        .ok_or_else(too_large)
}

fn sum(terms: &[usize]) -> Result<usize, Issue> {
    terms
        .iter()
        .try_fold(0usize, |acc, &t| acc.checked_add(t))
        .ok_or_else(too_large)
}

/// A layer's result, once its output's size is known to be countable.
fn ok(output: Vec<usize>, params: usize, flops: usize) -> Result<Inferred, Issue> {
    product(&output)?;
    Ok(Inferred {
        output: Some(Shape::features(output)),
        params,
        flops: flops as u64,
        warning: None,
    })
}

/// Output size of a sliding window, or `None` when the window does not fit (or its padded span
/// cannot be counted).
pub fn window_output(input: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let span = padding.checked_mul(2)?.checked_add(input)?;
    (kernel <= span && stride > 0).then(|| (span - kernel) / stride + 1)
}

fn activation_flops(function: Activation, n: usize) -> Result<usize, Issue> {
    match function {
        Activation::Identity => Ok(0),
        Activation::Relu | Activation::LeakyRelu { .. } => Ok(n),
        _ => product(&[4, n]),
    }
}

/// Expects an image `[channels, height, width]`.
fn image(node: NodeId, kind: &str, input: &Shape) -> Result<(usize, usize, usize), Issue> {
    if let [c, h, w] = input[..] {
        return Ok((c, h, w));
    }
    let message = format!("{kind} expects an image shaped [channels, height, width]; got {input}.");
    let n = numel(input);
    let side = (n as f64).sqrt().round() as usize;
    if input.len() == 1 && side * side == n && !input.has_time() {
        let target = vec![1, side, side];
        let text = format!("Add a Reshape to {} before it", shape_text(&target));
        Err(Issue::new(format!("{message} {text}.")).insert(
            node,
            &text,
            Layer::Reshape { shape: target },
        ))
    } else {
        Err(Issue::new(format!("{message} Add a Reshape before it.")))
    }
}

fn dropout_rate(rate: f32) -> Result<(), Issue> {
    if (0.0..1.0).contains(&rate) {
        return Ok(());
    }
    Err(Issue::new(format!(
        "The dropout rate is the fraction of values zeroed while training; it must be at least 0 and below 1, not {rate}."
    )))
}

fn positive(value: usize, what: &str) -> Result<(), Issue> {
    if value == 0 {
        Err(Issue::new(format!("The {what} must be at least 1.")))
    } else {
        Ok(())
    }
}

fn pool(
    node: NodeId,
    kind: &str,
    kernel: usize,
    stride: Option<usize>,
    input: &Shape,
) -> Result<Inferred, Issue> {
    positive(kernel, "kernel size")?;
    let stride = stride.unwrap_or(kernel);
    positive(stride, "stride")?;
    let (c, h, w) = image(node, kind, input)?;
    let (Some(oh), Some(ow)) = (
        window_output(h, kernel, stride, 0),
        window_output(w, kernel, stride, 0),
    ) else {
        return Err(Issue::new(format!(
            "The {kernel}x{kernel} window of {kind} does not fit in the {h}x{w} input. Use a smaller kernel."
        )));
    };
    let mut inferred = ok(vec![c, oh, ow], 0, product(&[c, oh, ow, kernel, kernel])?)?;
    if !(h - kernel).is_multiple_of(stride) || !(w - kernel).is_multiple_of(stride) {
        inferred.warning = Some(Issue::new(format!(
            "The {h}x{w} input does not divide evenly into {kernel}x{kernel} windows with stride {stride}; the last rows or columns are dropped."
        )));
    }
    Ok(inferred)
}

/// The output a layer makes from its inputs. What the values are (features, a sequence, token
/// ids) flows through: layers that work per time step keep the time axis, Flatten and Reshape
/// end it, an Embedding starts it.
pub fn infer(node: NodeId, layer: &Layer, inputs: &[Shape]) -> Result<Inferred, Issue> {
    let values = inputs.first().map_or(ValueKind::Features, |s| s.values);
    if let ValueKind::Tokens { vocabulary } = values
        && !matches!(layer, Layer::Embedding { .. })
    {
        let text = "Add an Embedding before it";
        return Err(Issue::new(format!(
            "{} works on numbers; it got token ids {}. {text} to turn each token into a vector.",
            layer.kind_label(),
            inputs[0]
        ))
        .insert(
            node,
            text,
            Layer::Embedding {
                num_embeddings: vocabulary,
                embedding_dim: 32,
                init: Init::Normal { std: 1.0 },
            },
        ));
    }
    if values == ValueKind::Sequence
        && let Some(kind) = match layer {
            Layer::Conv2d { .. }
            | Layer::ConvTranspose2d { .. }
            | Layer::MaxPool2d { .. }
            | Layer::AvgPool2d { .. }
            | Layer::Upsample { .. }
            | Layer::GlobalAvgPool => Some("images [channels, height, width]"),
            Layer::BatchNorm { .. } => Some("features or images; for sequences use LayerNorm"),
            _ => None,
        }
    {
        return Err(Issue::new(format!(
            "{} works on {kind}; it got a sequence {}.",
            layer.kind_label(),
            inputs[0]
        )));
    }
    let mut inferred = infer_dims(node, layer, inputs)?;
    if let Some(output) = &mut inferred.output {
        output.values = match layer {
            Layer::Input { values, .. } => *values,
            Layer::Embedding { .. } => ValueKind::Sequence,
            Layer::Flatten | Layer::Reshape { .. } | Layer::PoolOverTime { .. } => {
                ValueKind::Features
            }
            Layer::Recurrent {
                returns: Returns::LastStep,
                ..
            } => ValueKind::Features,
            _ => values,
        };
    }
    Ok(inferred)
}

fn infer_dims(node: NodeId, layer: &Layer, inputs: &[Shape]) -> Result<Inferred, Issue> {
    let first = inputs.first();
    let x = || first.cloned().unwrap_or_default();
    match layer {
        Layer::Input { shape, values } => {
            if shape.is_empty() || shape.contains(&0) {
                return Err(Issue::new(format!(
                    "The input shape {} must have at least one axis, each at least 1.",
                    shape_text(shape)
                )));
            }
            match values {
                ValueKind::Tokens { vocabulary: 0 } => {
                    return Err(Issue::new(
                        "The vocabulary of token ids must hold at least 1 token.",
                    ));
                }
                ValueKind::Tokens { .. } if shape.len() != 1 => {
                    return Err(Issue::new(format!(
                        "Token ids come one per time step, shaped [time]; {} has {} axes.",
                        shape_text(shape),
                        shape.len()
                    )));
                }
                ValueKind::Sequence if shape.len() != 2 => {
                    return Err(Issue::new(format!(
                        "A sequence is shaped [time, features]; {} has {} axes.",
                        shape_text(shape),
                        shape.len()
                    )));
                }
                _ => {}
            }
            ok(shape.clone(), 0, 0)
        }
        Layer::Embedding {
            num_embeddings,
            embedding_dim,
            ..
        } => {
            positive(*num_embeddings, "number of embeddings")?;
            positive(*embedding_dim, "embedding size")?;
            let x = x();
            let ValueKind::Tokens { vocabulary } = x.values else {
                return Err(Issue::new(format!(
                    "Embedding looks up token ids, shaped [time]; it got {x}. Feed it from an Input of token ids."
                )));
            };
            if vocabulary > *num_embeddings {
                return Err(Issue::new(format!(
                    "The token ids go up to {}, but the Embedding has rows for {num_embeddings} tokens. Give it {vocabulary} embeddings.",
                    vocabulary - 1
                )));
            }
            let params = product(&[*num_embeddings, *embedding_dim])?;
            ok(
                vec![x[0], *embedding_dim],
                params,
                product(&[x[0], *embedding_dim])?,
            )
        }
        Layer::Recurrent {
            cell,
            hidden_size,
            num_layers,
            bidirectional,
            returns,
        } => {
            positive(*hidden_size, "hidden size")?;
            positive(*num_layers, "number of layers")?;
            let x = x();
            let (true, &[steps, features]) = (x.has_time(), &x[..]) else {
                let text = if x.len() == 1 {
                    format!(
                        "{} expects a sequence [time, features]; got {x}. Add an Embedding or a Reshape before it.",
                        cell.label()
                    )
                } else {
                    format!(
                        "{} expects a sequence [time, features]; got {x}. Feed it from an Input of sequences or an Embedding.",
                        cell.label()
                    )
                };
                return Err(Issue::new(text));
            };
            let gates = match cell {
                RecurrentCell::Rnn | RecurrentCell::RnnRelu => 1,
                RecurrentCell::Lstm => 4,
                RecurrentCell::Gru => 3,
            };
            let directions = if *bidirectional { 2 } else { 1 };
            let out = product(&[directions, *hidden_size])?;
            // Per direction and layer: W_ih, W_hh and both biases.
            let mut params = 0;
            let mut flops = 0;
            for layer in 0..*num_layers {
                let inputs = if layer == 0 { features } else { out };
                let rows = product(&[gates, *hidden_size])?;
                let per = product(&[rows, sum(&[inputs, *hidden_size, 2])?])?;
                params = sum(&[params, product(&[directions, per])?])?;
                let macs = product(&[directions, steps, rows, sum(&[inputs, *hidden_size])?])?;
                flops = sum(&[flops, product(&[2, macs])?])?;
            }
            let dims = match returns {
                Returns::Sequence => vec![steps, out],
                Returns::LastStep => vec![out],
            };
            ok(dims, params, flops)
        }
        Layer::MultiHeadAttention { heads, dropout, .. } => {
            positive(*heads, "number of heads")?;
            dropout_rate(*dropout)?;
            let x = x();
            let (true, &[steps, width]) = (x.has_time(), &x[..]) else {
                return Err(Issue::new(format!(
                    "MultiHeadAttention expects a sequence [time, features]; got {x}. Add an Embedding before it."
                )));
            };
            if !width.is_multiple_of(*heads) {
                return Err(Issue::new(format!(
                    "The {width} features of each step must split evenly between the {heads} heads. Choose a number of heads that divides {width}."
                )));
            }
            let square = product(&[width, width])?;
            let params = sum(&[product(&[4, square])?, product(&[4, width])?])?;
            let projections = product(&[2, steps, 4, square])?;
            let mixing = product(&[4, steps, steps, width])?;
            ok(vec![steps, width], params, sum(&[projections, mixing])?)
        }
        Layer::PositionalEmbedding | Layer::PositionalEncoding => {
            let x = x();
            let (true, &[steps, width]) = (x.has_time(), &x[..]) else {
                return Err(Issue::new(format!(
                    "{} adds a vector per time step to a sequence [time, features]; got {x}. Add an Embedding before it.",
                    layer.kind_label()
                )));
            };
            let values = product(&[steps, width])?;
            let learned = matches!(layer, Layer::PositionalEmbedding);
            ok(vec![steps, width], if learned { values } else { 0 }, values)
        }
        Layer::Dense {
            units,
            bias,
            activation,
            ..
        } => {
            positive(*units, "number of units")?;
            let x = x();
            // On a sequence, the same Dense applies at every time step.
            let (steps, features) = match (x.has_time(), &x[..]) {
                (false, &[features]) => (1, features),
                (true, &[steps, features]) => (steps, features),
                _ => {
                    return Err(Issue::new(format!(
                        "Dense expects a flat input; got {x}. Add a Flatten before it."
                    ))
                    .insert(node, "Add a Flatten before it", Layer::Flatten));
                }
            };
            let weights = product(&[features, *units])?;
            let params = sum(&[weights, if *bias { *units } else { 0 }])?;
            let outputs = product(&[steps, *units])?;
            let dims = if x.has_time() {
                vec![steps, *units]
            } else {
                vec![*units]
            };
            ok(
                dims,
                params,
                sum(&[
                    product(&[2, weights, steps])?,
                    outputs,
                    activation_flops(*activation, outputs)?,
                ])?,
            )
        }
        Layer::Conv2d {
            filters,
            kernel,
            stride,
            padding,
            bias,
            activation,
            ..
        } => {
            positive(*filters, "number of filters")?;
            positive(*kernel, "kernel size")?;
            positive(*stride, "stride")?;
            let (c, h, w) = image(node, "Conv2d", &x())?;
            sum(&[h.max(w), product(&[2, *padding])?])?;
            let (Some(oh), Some(ow)) = (
                window_output(h, *kernel, *stride, *padding),
                window_output(w, *kernel, *stride, *padding),
            ) else {
                return Err(Issue::new(format!(
                    "The {kernel}x{kernel} kernel does not fit in the {h}x{w} input (with padding {padding}). Use a smaller kernel or more padding."
                )));
            };
            let params = sum(&[
                product(&[*filters, c, *kernel, *kernel])?,
                if *bias { *filters } else { 0 },
            ])?;
            let out = product(&[*filters, oh, ow])?;
            ok(
                vec![*filters, oh, ow],
                params,
                sum(&[
                    product(&[2, c, *kernel, *kernel, out])?,
                    out,
                    activation_flops(*activation, out)?,
                ])?,
            )
        }
        Layer::ConvTranspose2d {
            filters,
            kernel,
            stride,
            padding,
            output_padding,
            bias,
            activation,
            ..
        } => {
            positive(*filters, "number of filters")?;
            positive(*kernel, "kernel size")?;
            positive(*stride, "stride")?;
            let (c, h, w) = image(node, "ConvTranspose2d", &x())?;
            if output_padding >= stride {
                return Err(Issue::new(format!(
                    "The output padding ({output_padding}) must be smaller than the stride ({stride})."
                )));
            }
            // (in - 1)·stride + kernel + output padding, less the padding on both sides.
            let cropped = product(&[2, *padding])?;
            let grown = |side: usize| -> Result<Option<usize>, Issue> {
                let full = sum(&[product(&[side - 1, *stride])?, *kernel, *output_padding])?;
                Ok(full.checked_sub(cropped).filter(|&n| n > 0))
            };
            let (Some(oh), Some(ow)) = (grown(h)?, grown(w)?) else {
                return Err(Issue::new(format!(
                    "A padding of {padding} crops away the whole {kernel}x{kernel} output of the {h}x{w} input. Use less padding."
                )));
            };
            let params = sum(&[
                product(&[c, *filters, *kernel, *kernel])?,
                if *bias { *filters } else { 0 },
            ])?;
            let out = product(&[*filters, oh, ow])?;
            ok(
                vec![*filters, oh, ow],
                params,
                sum(&[
                    product(&[2, c, *kernel, *kernel, h, w, *filters])?,
                    out,
                    activation_flops(*activation, out)?,
                ])?,
            )
        }
        Layer::MaxPool2d { kernel, stride } => pool(node, "MaxPool2d", *kernel, *stride, &x()),
        Layer::AvgPool2d { kernel, stride } => pool(node, "AvgPool2d", *kernel, *stride, &x()),
        Layer::Upsample { scale, bilinear } => {
            positive(*scale, "scale factor")?;
            let (c, h, w) = image(node, "Upsample", &x())?;
            let out = product(&[c, h, w, *scale, *scale])?;
            let per_output = if *bilinear { 8 } else { 0 };
            ok(
                vec![c, product(&[h, *scale])?, product(&[w, *scale])?],
                0,
                product(&[per_output, out])?,
            )
        }
        Layer::GlobalAvgPool => {
            let (c, h, w) = image(node, "GlobalAvgPool", &x())?;
            ok(vec![c], 0, product(&[c, h, w])?)
        }
        Layer::PoolOverTime { .. } => {
            let x = x();
            let (true, &[steps, width]) = (x.has_time(), &x[..]) else {
                return Err(Issue::new(format!(
                    "PoolOverTime sums up a sequence [time, features]; got {x}. Use it after a recurrent, attention or Embedding layer."
                )));
            };
            ok(vec![width], 0, product(&[steps, width])?)
        }
        Layer::Flatten => ok(vec![numel(&x())], 0, 0),
        Layer::Reshape { shape } => {
            let x = x();
            if shape.is_empty() || shape.contains(&0) {
                return Err(Issue::new(format!(
                    "The target shape {} must have at least one axis, each at least 1.",
                    shape_text(shape)
                )));
            }
            if product(shape)? != numel(&x) {
                return Err(Issue::new(format!(
                    "Reshape to {} needs {} values, but its input {x} has {}. Choose a shape with the same number of values.",
                    shape_text(shape),
                    numel(shape),
                    numel(&x)
                )));
            }
            ok(shape.clone(), 0, 0)
        }
        Layer::Dropout { rate } => {
            dropout_rate(*rate)?;
            let x = x();
            let n = numel(&x);
            ok(x.dims, 0, n)
        }
        Layer::BatchNorm { momentum, epsilon } => {
            if !(0.0..=1.0).contains(momentum) || *epsilon <= 0.0 {
                return Err(Issue::new(
                    "BatchNorm's momentum must be between 0 and 1 and its epsilon above 0.",
                ));
            }
            let x = x();
            let n = numel(&x);
            ok(x.dims.clone(), product(&[2, x[0]])?, product(&[2, n])?)
        }
        Layer::LayerNorm { epsilon } => {
            if *epsilon <= 0.0 {
                return Err(Issue::new("LayerNorm's epsilon must be above 0."));
            }
            let x = x();
            let n = numel(&x);
            let last = x.last().copied().unwrap_or(1);
            ok(x.dims, product(&[2, last])?, product(&[5, n])?)
        }
        Layer::Activation { function } => {
            let x = x();
            let n = numel(&x);
            ok(x.dims, 0, activation_flops(*function, n)?)
        }
        Layer::Add { inputs: count } => {
            if *count < 2 {
                return Err(Issue::new(
                    "Add sums two or more inputs; give it at least 2.",
                ));
            }
            let x = x();
            if let Some(other) = inputs.iter().find(|s| **s != x) {
                return Err(Issue::new(format!(
                    "Add needs inputs of the same shape; got {x} and {other}. Make the branches end in the same shape."
                )));
            }
            let n = numel(&x);
            ok(x.dims, 0, product(&[n, count - 1])?)
        }
        Layer::Concat {
            inputs: count,
            axis,
        } => {
            if *count < 2 {
                return Err(Issue::new(
                    "Concat joins two or more inputs; give it at least 2.",
                ));
            }
            let x = x();
            if *axis >= x.len() {
                return Err(Issue::new(format!(
                    "Concat's axis {axis} does not exist: its input {x} has {} axes (counting from 0).",
                    x.len()
                )));
            }
            let mut out = x.dims.clone();
            out[*axis] = 0;
            for other in inputs {
                let same_rest = other.len() == x.len()
                    && other.values == x.values
                    && other
                        .iter()
                        .zip(x.iter())
                        .enumerate()
                        .all(|(i, (a, b))| i == *axis || a == b);
                if !same_rest {
                    return Err(Issue::new(format!(
                        "Concat along axis {axis} needs inputs that agree on every other axis; got {x} and {other}."
                    )));
                }
                out[*axis] = sum(&[out[*axis], other[*axis]])?;
            }
            ok(out, 0, 0)
        }
        Layer::Loss {
            kind,
            target: LossTarget::Wire,
            ..
        } => {
            let (x, target) = (x(), inputs.get(1).cloned().unwrap_or_default());
            if *kind == LossKind::SoftmaxCrossEntropy {
                return Err(Issue::new(
                    "Softmax cross-entropy compares scores with classes, which come from the dataset. To rebuild a tensor from a wire, use mean squared error, or binary cross-entropy for values between 0 and 1.",
                ));
            }
            if matches!(target.values, ValueKind::Tokens { .. }) {
                return Err(Issue::new(format!(
                    "The loss's target {target} is token ids; it compares numbers. Wire it a tensor of values, or take the target from the dataset."
                )));
            }
            if x.dims != target.dims {
                return Err(Issue::new(format!(
                    "The loss compares the prediction {x} with the target {target}; they must have the same shape. Reshape the prediction to {}.",
                    shape_text(&target.dims)
                ))
                .insert(
                    node,
                    &format!("Add a Reshape to {}", shape_text(&target.dims)),
                    Layer::Reshape {
                        shape: target.dims.clone(),
                    },
                ));
            }
            Ok(Inferred {
                output: None,
                params: 0,
                flops: product(&[3, numel(&x)])? as u64,
                warning: None,
            })
        }
        Layer::Loss { kind, .. } => {
            let x = x();
            // On a sequence, one set of scores per time step: a class per token.
            let scores_axes = if x.has_time() { 2 } else { 1 };
            if *kind == LossKind::SoftmaxCrossEntropy && x.len() != scores_axes {
                return Err(Issue::new(format!(
                    "Softmax cross-entropy expects one score per class, a flat input (or one per time step of a sequence); got {x}. Add a Flatten and a Dense layer with one unit per class before it."
                ))
                .insert(node, "Add a Flatten before it", Layer::Flatten));
            }
            Ok(Inferred {
                output: None,
                params: 0,
                flops: product(&[3, numel(&x)])? as u64,
                warning: None,
            })
        }
    }
}
