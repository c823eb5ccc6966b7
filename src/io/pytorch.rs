//! PyTorch code export: a readable `nn.Module` whose attribute names are the node names, so its
//! `state_dict` keys match the safetensors Netloom saves.

use std::fmt::Write;

use crate::compile::Model;
use crate::graph::{Activation, Layer, LossKind};

fn activation_call(function: Activation, x: &str) -> String {
    match function {
        Activation::Identity => x.to_string(),
        Activation::Relu => format!("torch.relu({x})"),
        Activation::LeakyRelu { slope } => format!("F.leaky_relu({x}, {slope:?})"),
        Activation::Elu { alpha } => format!("F.elu({x}, {alpha:?})"),
        Activation::Sigmoid => format!("torch.sigmoid({x})"),
        Activation::Tanh => format!("torch.tanh({x})"),
        Activation::Gelu => format!("F.gelu({x})"),
        Activation::Softmax => format!("torch.softmax({x}, dim=-1)"),
    }
}

fn loss_module(kind: LossKind) -> &'static str {
    match kind {
        LossKind::MeanSquaredError => "nn.MSELoss()",
        LossKind::MeanAbsoluteError => "nn.L1Loss()",
        LossKind::SoftmaxCrossEntropy => "nn.CrossEntropyLoss()",
        LossKind::BinaryCrossEntropy => "nn.BCEWithLogitsLoss()",
    }
}

/// Python source for the model's trainable part (the nodes that feed the loss). Errors in the
/// model are the caller's to refuse first: this assumes `model.is_trainable()`.
pub fn export_pytorch(model: &Model, title: &str) -> String {
    let graph = &model.graph;
    let mut init = String::new();
    let mut forward = String::new();
    let mut loss = None;
    let var = |i: usize| format!("{}_", graph.nodes[i].name);
    for &i in &model.order {
        let info = &model.nodes[i];
        if !info.feeds_loss {
            continue;
        }
        let node = &graph.nodes[i];
        let name = &node.name;
        let inputs: Vec<String> = info
            .inputs
            .iter()
            .flatten()
            .map(|(src, _)| var(*src))
            .collect();
        let input_shape = info
            .inputs
            .first()
            .cloned()
            .flatten()
            .map(|(_, s)| s)
            .unwrap_or_default();
        let x = inputs.first().cloned().unwrap_or_default();
        let expr = match &node.layer {
            Layer::Input { .. } => "x".to_string(),
            Layer::Dense {
                units,
                bias,
                activation,
                ..
            } => {
                let _ = writeln!(
                    init,
                    "        self.{name} = nn.Linear({}, {units}, bias={})",
                    input_shape[0],
                    py_bool(*bias)
                );
                activation_call(*activation, &format!("self.{name}({x})"))
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
                let _ = writeln!(
                    init,
                    "        self.{name} = nn.Conv2d({}, {filters}, {kernel}, stride={stride}, padding={padding}, bias={})",
                    input_shape[0],
                    py_bool(*bias)
                );
                activation_call(*activation, &format!("self.{name}({x})"))
            }
            Layer::MaxPool2d { kernel, stride } => {
                format!("F.max_pool2d({x}, {kernel}, {})", stride.unwrap_or(*kernel))
            }
            Layer::AvgPool2d { kernel, stride } => {
                format!("F.avg_pool2d({x}, {kernel}, {})", stride.unwrap_or(*kernel))
            }
            Layer::GlobalAvgPool => format!("{x}.mean(dim=(2, 3))"),
            Layer::Flatten => format!("torch.flatten({x}, 1)"),
            Layer::Reshape { shape } => {
                let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
                format!("{x}.reshape({x}.shape[0], {})", dims.join(", "))
            }
            Layer::Dropout { rate } => {
                let _ = writeln!(init, "        self.{name} = nn.Dropout({rate:?})");
                format!("self.{name}({x})")
            }
            Layer::BatchNorm { momentum, epsilon } => {
                let kind = if input_shape.len() == 3 {
                    "BatchNorm2d"
                } else {
                    "BatchNorm1d"
                };
                let _ = writeln!(
                    init,
                    "        self.{name} = nn.{kind}({}, eps={epsilon:?}, momentum={momentum:?})",
                    input_shape[0]
                );
                format!("self.{name}({x})")
            }
            Layer::LayerNorm { epsilon } => {
                let width = input_shape.last().copied().unwrap_or(1);
                let _ = writeln!(
                    init,
                    "        self.{name} = nn.LayerNorm({width}, eps={epsilon:?})"
                );
                format!("self.{name}({x})")
            }
            Layer::Activation { function } => activation_call(*function, &x),
            Layer::Add { .. } => inputs.join(" + "),
            Layer::Concat { axis, .. } => {
                format!("torch.cat([{}], dim={})", inputs.join(", "), axis + 1)
            }
            Layer::Loss { kind } => {
                loss = Some((*kind, x));
                continue;
            }
        };
        let _ = writeln!(forward, "        {} = {expr}", var(i));
    }
    let (kind, output) = loss.unwrap_or((LossKind::MeanSquaredError, "x".into()));
    if init.is_empty() {
        init.push_str("        pass\n");
    }
    format!(
        r#""""{title}: exported from Netloom.

Parameter names match the weights Netloom saves, so:

    model = Net()
    model.load_state_dict(safetensors.torch.load_file("weights.safetensors"))
"""
import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
{init}
    def forward(self, x):
{forward}        return {output}


# The loss Netloom trained with; it takes the output of forward() and the targets.
loss_fn = {loss}
"#,
        loss = loss_module(kind)
    )
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}
