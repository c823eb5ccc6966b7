//! PyTorch code export: a readable `nn.Module` whose submodules are named after the nodes, so its
//! `state_dict` keys match the safetensors Netloom saves.
//!
//! A node's name becomes an attribute (`self.hidden`) when Python and `nn.Module` leave it free.
//! A name that is a Python keyword (`class`), one of `nn.Module`'s own attributes (`forward`,
//! `training`, `eval`) or private-looking (`_modules`, `__x`, which Python would mangle) is only
//! ever a string key of `self._modules`, which is where `nn.Module` keeps submodules anyway: the
//! `state_dict` keys stay `<name>.weight`, and the module's own attributes keep working.

use std::fmt::Write;

use crate::compile::Model;
use crate::graph::{Activation, Layer, LossKind, LossTarget, RecurrentCell, Returns, TimePooling};

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
    // Locals end in `_`, which no keyword, builtin used here or argument (`x`, `self`) does.
    let var = |i: usize| format!("{}_", graph.nodes[i].name);
    let mut by_key = false;
    let mut sinusoidal = false;
    let mut wired = false;
    for &i in &model.order {
        let info = &model.nodes[i];
        if !info.feeds_loss {
            continue;
        }
        let node = &graph.nodes[i];
        let layer = submodule(&node.name);
        by_key |= layer.starts_with("self._modules[");
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
            Layer::Embedding {
                num_embeddings,
                embedding_dim,
                ..
            } => {
                let _ = writeln!(
                    init,
                    "        {layer} = nn.Embedding({num_embeddings}, {embedding_dim})"
                );
                format!("{layer}({x}.long())")
            }
            Layer::MultiHeadAttention {
                heads,
                causal,
                dropout,
            } => {
                let width = input_shape.last().copied().unwrap_or(1);
                let dropout = if *dropout > 0.0 {
                    format!(", dropout={dropout:?}")
                } else {
                    String::new()
                };
                let _ = writeln!(
                    init,
                    "        {layer} = nn.MultiheadAttention({width}, {heads}{dropout}, batch_first=True)"
                );
                let mask = if *causal {
                    format!(
                        ", attn_mask=torch.ones({x}.shape[1], {x}.shape[1], dtype=torch.bool, device={x}.device).triu(1)"
                    )
                } else {
                    String::new()
                };
                format!("{layer}({x}, {x}, {x}, need_weights=False{mask})[0]")
            }
            Layer::PositionalEmbedding => {
                let (steps, width) = (input_shape[0], input_shape.last().copied().unwrap_or(1));
                let _ = writeln!(init, "        {layer} = nn.Embedding({steps}, {width})");
                format!("{x} + {layer}.weight[: {x}.shape[1]]")
            }
            Layer::PositionalEncoding => {
                let (steps, width) = (input_shape[0], input_shape.last().copied().unwrap_or(1));
                let _ = writeln!(
                    init,
                    "        {layer} = SinusoidalEncoding({steps}, {width})"
                );
                sinusoidal = true;
                format!("{layer}({x})")
            }
            Layer::Recurrent {
                cell,
                hidden_size,
                num_layers,
                bidirectional,
                returns,
            } => {
                let (module, nonlinearity) = match cell {
                    RecurrentCell::Rnn => ("RNN", ""),
                    RecurrentCell::RnnRelu => ("RNN", ", nonlinearity=\"relu\""),
                    RecurrentCell::Lstm => ("LSTM", ""),
                    RecurrentCell::Gru => ("GRU", ""),
                };
                let _ = writeln!(
                    init,
                    "        {layer} = nn.{module}({}, {hidden_size}, num_layers={num_layers}{nonlinearity}, batch_first=True, bidirectional={})",
                    input_shape.last().copied().unwrap_or(1),
                    py_bool(*bidirectional)
                );
                match returns {
                    Returns::Sequence => format!("{layer}({x})[0]"),
                    Returns::LastStep => format!("{layer}({x})[0][:, -1]"),
                }
            }
            Layer::Dense {
                units,
                bias,
                activation,
                ..
            } => {
                let _ = writeln!(
                    init,
                    "        {layer} = nn.Linear({}, {units}, bias={})",
                    input_shape.last().copied().unwrap_or(1),
                    py_bool(*bias)
                );
                activation_call(*activation, &format!("{layer}({x})"))
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
                    "        {layer} = nn.Conv2d({}, {filters}, {kernel}, stride={stride}, padding={padding}, bias={})",
                    input_shape[0],
                    py_bool(*bias)
                );
                activation_call(*activation, &format!("{layer}({x})"))
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
                let _ = writeln!(
                    init,
                    "        {layer} = nn.ConvTranspose2d({}, {filters}, {kernel}, stride={stride}, padding={padding}, output_padding={output_padding}, bias={})",
                    input_shape[0],
                    py_bool(*bias)
                );
                activation_call(*activation, &format!("{layer}({x})"))
            }
            Layer::MaxPool2d { kernel, stride } => {
                format!("F.max_pool2d({x}, {kernel}, {})", stride.unwrap_or(*kernel))
            }
            Layer::Upsample { scale, bilinear } => {
                let mode = if *bilinear { "bilinear" } else { "nearest" };
                format!("F.interpolate({x}, scale_factor={scale}, mode=\"{mode}\")")
            }
            Layer::AvgPool2d { kernel, stride } => {
                format!("F.avg_pool2d({x}, {kernel}, {})", stride.unwrap_or(*kernel))
            }
            Layer::GlobalAvgPool => format!("{x}.mean(dim=(2, 3))"),
            Layer::PoolOverTime { pooling } => match pooling {
                TimePooling::Mean => format!("{x}.mean(dim=1)"),
                TimePooling::Max => format!("{x}.amax(dim=1)"),
                TimePooling::Last => format!("{x}[:, -1]"),
            },
            Layer::Flatten => format!("torch.flatten({x}, 1)"),
            Layer::Reshape { shape } => {
                let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
                format!("{x}.reshape({x}.shape[0], {})", dims.join(", "))
            }
            Layer::Dropout { rate } => {
                let _ = writeln!(init, "        {layer} = nn.Dropout({rate:?})");
                format!("{layer}({x})")
            }
            Layer::BatchNorm { momentum, epsilon } => {
                let kind = if input_shape.len() == 3 {
                    "BatchNorm2d"
                } else {
                    "BatchNorm1d"
                };
                let _ = writeln!(
                    init,
                    "        {layer} = nn.{kind}({}, eps={epsilon:?}, momentum={momentum:?})",
                    input_shape[0]
                );
                format!("{layer}({x})")
            }
            Layer::LayerNorm { epsilon } => {
                let width = input_shape.last().copied().unwrap_or(1);
                let _ = writeln!(
                    init,
                    "        {layer} = nn.LayerNorm({width}, eps={epsilon:?})"
                );
                format!("{layer}({x})")
            }
            Layer::Activation { function } => activation_call(*function, &x),
            Layer::Add { .. } => inputs.join(" + "),
            Layer::Concat { axis, .. } => {
                format!("torch.cat([{}], dim={})", inputs.join(", "), axis + 1)
            }
            Layer::Loss {
                kind,
                ignore_index,
                target,
            } => {
                // A target from a wire leaves forward() beside the output, detached as the
                // trainer keeps gradients out of it.
                let output = match (target, inputs.get(1)) {
                    (LossTarget::Wire, Some(target)) => {
                        wired = true;
                        format!("{x}, {target}.detach()")
                    }
                    _ => x,
                };
                loss = Some((*kind, output, input_shape.has_time(), *ignore_index));
                continue;
            }
        };
        let _ = writeln!(forward, "        {} = {expr}", var(i));
    }
    let (kind, output, per_step, ignore) =
        loss.unwrap_or((LossKind::MeanSquaredError, "x".into(), false, None));
    if init.is_empty() {
        init.push_str("        pass\n");
    }
    let setattr = if by_key { SETATTR } else { "" };
    let helpers = if sinusoidal { SINUSOIDAL } else { "" };
    format!(
        r#""""{title}: exported from Netloom.

Parameter names match the weights Netloom saves, so:

    model = Net()
    model.load_state_dict(safetensors.torch.load_file("weights.safetensors"))
"""
import math

import torch
import torch.nn.functional as F
from torch import nn
{helpers}

class Net(nn.Module):
    def __init__(self):
        super().__init__()
{init}{setattr}
    def forward(self, x):
{forward}        return {output}


# The loss Netloom trained with; {takes}.
loss_fn = {loss}
"#,
        title = docstring_text(title),
        takes = if wired {
            "its target is wired inside the network, so it takes what forward()\n# returns: `loss_fn(*net(x))`"
        } else {
            "it takes the output of forward() and the targets"
        },
        loss = loss_expression(kind, per_step, ignore),
    )
}

/// The loss as Python. Time steps without a target are -1, as Netloom writes them; an ignored
/// class joins them.
fn loss_expression(kind: LossKind, per_step: bool, ignore: Option<usize>) -> String {
    if kind != LossKind::SoftmaxCrossEntropy || !(per_step || ignore.is_some()) {
        return loss_module(kind).into();
    }
    // A class per time step: the batch and time axes are one axis of tokens.
    let (scores, targets) = if per_step {
        ("scores.flatten(0, 1)", "targets.flatten()")
    } else {
        ("scores", "targets")
    };
    let targets = match ignore {
        Some(class) => format!("{targets}.masked_fill({targets} == {class}, -1)"),
        None => targets.into(),
    };
    format!("lambda scores, targets: F.cross_entropy({scores}, {targets}, ignore_index=-1)")
}

/// Keeps the layers stored by key from colliding with `nn.Module`'s attributes of the same name
/// when the module sets one (`train()` sets `self.training`), which `nn.Module` would refuse.
/// The fixed positional encoding, kept (and saved) as the buffer `pe` as Netloom keeps it.
const SINUSOIDAL: &str = r#"

class SinusoidalEncoding(nn.Module):
    def __init__(self, steps, width):
        super().__init__()
        position = torch.arange(steps, dtype=torch.float64).unsqueeze(1)
        frequency = torch.exp(
            torch.arange(0, width, 2, dtype=torch.float64) * (-math.log(10000.0) / width)
        )
        pe = torch.zeros(steps, width, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(position * frequency)
        pe[:, 1::2] = torch.cos(position * frequency[: width // 2])
        self.register_buffer("pe", pe.float())

    def forward(self, x):
        return x + self.pe[: x.shape[1]]
"#;

const SETATTR: &str = r#"
    def __setattr__(self, name, value):
        # Some layers are named like nn.Module's own attributes (such as "training"): the layer
        # lives in _modules under that name, the attribute stays a plain attribute.
        if name in self.__dict__.get("_modules", {}) and not isinstance(value, nn.Module):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)
"#;

/// How the code refers to a node's submodule: `self.<name>` where that is safe, otherwise by
/// key in `self._modules` (see the module's documentation).
fn submodule(name: &str) -> String {
    if attribute_is_free(name) {
        format!("self.{name}")
    } else {
        format!("self._modules[{}]", python_string(name))
    }
}

/// Whether `self.<name>` names a submodule and nothing else: a plain identifier that is no
/// keyword, no attribute of `nn.Module` and not private-looking (every attribute `nn.Module`
/// keeps privately starts with `_`, and Python mangles `__x` inside a class).
fn attribute_is_free(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !PYTHON_KEYWORDS.contains(&name)
        && !MODULE_ATTRIBUTES.contains(&name)
}

/// `keyword.kwlist` and `keyword.softkwlist` of Python 3.12 (3.11 lacks the soft `type`).
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "_", "case", "match", "type",
];

/// The public attributes of `torch.nn.Module` (`dir(nn.Module())` without the `_` ones), as of
/// PyTorch 2.15.
const MODULE_ATTRIBUTES: &[&str] = &[
    "T_destination",
    "add_module",
    "apply",
    "bfloat16",
    "buffers",
    "call_super_init",
    "children",
    "compile",
    "cpu",
    "cuda",
    "double",
    "dump_patches",
    "eval",
    "extra_repr",
    "float",
    "forward",
    "get_buffer",
    "get_extra_state",
    "get_parameter",
    "get_submodule",
    "half",
    "ipu",
    "load_state_dict",
    "modules",
    "mtia",
    "named_buffers",
    "named_children",
    "named_modules",
    "named_parameters",
    "parameters",
    "register_backward_hook",
    "register_buffer",
    "register_forward_hook",
    "register_forward_pre_hook",
    "register_full_backward_hook",
    "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook",
    "register_module",
    "register_parameter",
    "register_state_dict_post_hook",
    "register_state_dict_pre_hook",
    "requires_grad_",
    "set_extra_state",
    "set_submodule",
    "share_memory",
    "state_dict",
    "to",
    "to_empty",
    "train",
    "training",
    "type",
    "xpu",
    "zero_grad",
];

/// A Python string literal holding `text`.
fn python_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` made safe inside a `"""` docstring: a project's name may hold quotes or backslashes.
fn docstring_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;
    use crate::graph::{Graph, Init, TrainingSettings};
    use crate::train::NamedTensor;

    /// Names Python or `nn.Module` already use, on layers with weights, running statistics
    /// and none.
    const CLASHING: [&str; 10] = [
        "class",
        "training",
        "eval",
        "forward",
        "state_dict",
        "_modules",
        "lambda",
        "to",
        "__x",
        "T_destination",
    ];

    fn clashing_model() -> Model {
        let dense = |units| Layer::Dense {
            units,
            bias: true,
            activation: Activation::Relu,
            init: Init::default(),
        };
        let mut graph = Graph::chain([
            Layer::input(vec![4]),
            dense(8),
            Layer::BatchNorm {
                momentum: 0.1,
                epsilon: 1e-5,
            },
            Layer::Dropout { rate: 0.1 },
            dense(8),
            Layer::LayerNorm { epsilon: 1e-5 },
            dense(6),
            dense(5),
            Layer::Activation {
                function: Activation::Tanh,
            },
            dense(4),
            dense(3),
            Layer::loss(LossKind::SoftmaxCrossEntropy),
        ]);
        for (node, name) in graph.nodes[1..].iter_mut().zip(CLASHING) {
            node.name = name.to_string();
        }
        let model = compile::check(&graph, None);
        assert!(model.is_trainable(), "{:?}", model.problems);
        model
    }

    #[test]
    fn a_target_wired_inside_the_network_leaves_forward_detached_beside_the_output() {
        let mut graph = crate::graph::Graph::chain([
            Layer::input(vec![4]),
            Layer::Dense {
                units: 4,
                bias: true,
                activation: Activation::Identity,
                init: Default::default(),
            },
            Layer::Loss {
                kind: LossKind::MeanSquaredError,
                ignore_index: None,
                target: LossTarget::Wire,
            },
        ]);
        graph.connect(0, 2, 1);
        let model = crate::compile::check(&graph, None);
        assert!(model.is_trainable(), "{:?}", model.problems);
        let code = export_pytorch(&model, "Rebuild");
        assert!(
            code.contains("        return dense_, input_.detach()\n"),
            "{code}"
        );
        assert!(code.contains("loss_fn = nn.MSELoss()"), "{code}");
    }

    #[test]
    fn clashing_names_are_only_string_keys() {
        let model = clashing_model();
        let code = export_pytorch(&model, "Clashes \"quoted\" \\ name");
        // "to" names an activation, which has no submodule.
        for name in CLASHING.iter().filter(|&&n| n != "to") {
            let key = format!("self._modules[\"{name}\"]");
            assert!(code.contains(&key), "no {key} in:\n{code}");
        }
        // Outside string keys, no clashing name is an identifier (the locals `<name>_` are
        // derived from it, never equal to it), once the docstring, the comments and Python's own
        // `class Net`, `def forward`, `self._modules` are set aside.
        let body = code.split("\"\"\"").nth(2).unwrap_or_default();
        let mut rest: String = body
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        for own in ["class Net(", "def forward(", "self._modules["] {
            rest = rest.replace(own, " ");
        }
        for name in CLASHING {
            rest = rest.replace(&format!("\"{name}\""), " ");
        }
        let identifiers: Vec<&str> = rest
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        for name in CLASHING {
            assert!(
                !identifiers.contains(&name),
                "{name} is an identifier in:\n{code}"
            );
            let attribute = format!("self.{name}");
            let as_attribute = rest.match_indices(&attribute).any(|(at, _)| {
                !rest[at + attribute.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
            assert!(!as_attribute, "{attribute} in:\n{code}");
        }
        assert!(
            code.contains("def __setattr__(self, name, value):"),
            "{code}"
        );
        assert!(
            code.contains(r#""""Clashes \"quoted\" \\ name: exported"#),
            "{code}"
        );
        // Free names stay readable attributes, and need no __setattr__.
        let mut plain = model.graph.clone();
        for (i, node) in plain.nodes.iter_mut().enumerate() {
            node.name = format!("layer{i}");
        }
        let code = export_pytorch(&compile::check(&plain, None), "Plain");
        assert!(
            code.contains("self.layer1 = nn.Linear(4, 8, bias=True)"),
            "{code}"
        );
        assert!(
            !code.contains("_modules") && !code.contains("__setattr__"),
            "{code}"
        );
    }

    /// With `NETLOOM_PYTHON` set to a Python that has torch and safetensors, the exported module
    /// is imported, built, loaded from the weights Netloom saves (strictly), trained a step and
    /// switched between modes. Skipped otherwise, so that machines without torch still pass.
    #[test]
    fn clashing_names_export_a_module_torch_can_train() {
        let Some(python) = std::env::var_os("NETLOOM_PYTHON") else {
            eprintln!("NETLOOM_PYTHON is not set: the module is not run under torch");
            return;
        };
        let model = clashing_model();
        let program = compile::compile(&model, &TrainingSettings::default()).unwrap();
        let tensors: Vec<NamedTensor> = program
            .params
            .iter()
            .map(|p| (&p.name, p.buffer))
            .chain(program.running_stats.iter().map(|s| (&s.name, s.buffer)))
            .map(|(name, buffer)| {
                let shape = program.buffers[buffer].shape.clone();
                let values = vec![0.5; shape.iter().product()];
                NamedTensor {
                    name: name.clone(),
                    shape,
                    values,
                }
            })
            .collect();
        let counters = super::super::batch_norm_counters(&model, 3, &[]);
        let dir = std::env::temp_dir().join(format!("netloom-torch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.py"), export_pytorch(&model, "Clashes")).unwrap();
        super::super::save_weights(&dir.join("w.safetensors"), &tensors, &counters).unwrap();
        let script = r#"
import sys, torch, safetensors.torch
sys.path.insert(0, sys.argv[1])
import model as exported
net = exported.Net()
saved = safetensors.torch.load_file(sys.argv[1] + "/w.safetensors")
assert set(net.state_dict()) == set(saved), (sorted(net.state_dict()), sorted(saved))
net.load_state_dict(saved)
assert net.training
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
loss = exported.loss_fn(net(x), y)
loss.backward()
optimizer.step()
net.eval()
assert not net.training and not net._modules["training"].training
with torch.no_grad():
    net(x)
net.train()
assert net.training and net._modules["training"].training
print("ok", sorted(net.state_dict()))
"#;
        let out = std::process::Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(&dir)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
