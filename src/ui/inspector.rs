//! The selected node's settings as widgets, its shapes, size and problems. Every change applies
//! at once as an undoable edit; dragging a number is one undo step.

use egui::{DragValue, Ui};

use super::canvas::thousands;
use super::editor::Editor;
use crate::compile::Location;
use crate::graph::{
    Activation, Init, Layer, LossKind, LossTarget, NodeId, RecurrentCell, Returns, TimePooling,
    ValueKind,
};

/// A labelled number field; true when it changed.
pub fn number<T: egui::emath::Numeric>(
    ui: &mut Ui,
    label: &str,
    value: &mut T,
    range: std::ops::RangeInclusive<T>,
    speed: f64,
) -> bool {
    ui.horizontal(|ui| {
        let name = ui.label(label);
        ui.add(DragValue::new(value).range(range).speed(speed))
            .labelled_by(name.id)
            .changed()
    })
    .inner
}

/// A shape typed as numbers separated by commas ("1, 28, 28"); true when it changed to a valid one.
fn shape_field(ui: &mut Ui, label: &str, shape: &mut Vec<usize>) -> bool {
    let id = ui.scope_id().with(("shape", label));
    let mut text = ui.data_mut(|d| {
        d.get_temp::<String>(id).unwrap_or_else(|| {
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
    });
    let response = ui
        .horizontal(|ui| {
            let name = ui.label(label);
            ui.text_edit_singleline(&mut text).labelled_by(name.id)
        })
        .inner;
    let parsed: Option<Vec<usize>> = text
        .split(',')
        .map(|d| d.trim().parse().ok().filter(|&d| d > 0))
        .collect();
    if response.has_focus() {
        ui.data_mut(|d| d.insert_temp(id, text));
    } else {
        ui.data_mut(|d| d.remove::<String>(id));
    }
    match parsed {
        Some(new) if !new.is_empty() && new != *shape => {
            *shape = new;
            true
        }
        Some(_) => false,
        None => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                "Sizes are whole numbers above 0, separated by commas.",
            );
            false
        }
    }
}

fn activation_choice(ui: &mut Ui, value: &mut Activation) -> bool {
    let mut changed = false;
    egui::ComboBox::from_label("Activation")
        .selected_text(value.label())
        .show_ui(ui, |ui| {
            for choice in Activation::ALL {
                let chosen = std::mem::discriminant(value) == std::mem::discriminant(&choice);
                if ui.selectable_label(chosen, choice.label()).clicked() && !chosen {
                    *value = choice;
                    changed = true;
                }
            }
        });
    match value {
        Activation::LeakyRelu { slope } => changed |= number(ui, "Slope", slope, 0.0..=1.0, 0.001),
        Activation::Elu { alpha } => changed |= number(ui, "Alpha", alpha, 0.0..=10.0, 0.01),
        _ => {}
    }
    changed
}

fn init_choice(ui: &mut Ui, value: &mut Init) -> bool {
    let all = [
        ("Glorot uniform", Init::GlorotUniform),
        ("Glorot normal", Init::GlorotNormal),
        ("He uniform", Init::HeUniform),
        ("He normal", Init::HeNormal),
        ("LeCun normal", Init::LecunNormal),
        ("Zeros", Init::Zeros),
        ("Constant", Init::Constant { value: 0.1 }),
        ("Normal", Init::Normal { std: 1.0 }),
    ];
    let current = all
        .iter()
        .find(|(_, i)| std::mem::discriminant(i) == std::mem::discriminant(value))
        .map_or("", |(name, _)| name);
    let mut changed = false;
    egui::ComboBox::from_label("Initial weights")
        .selected_text(current)
        .show_ui(ui, |ui| {
            for (name, choice) in all {
                if ui.selectable_label(*name == *current, name).clicked() && name != current {
                    *value = choice;
                    changed = true;
                }
            }
        });
    match value {
        Init::Constant { value } => changed |= number(ui, "Constant", value, -10.0..=10.0, 0.01),
        Init::Normal { std } => {
            changed |= number(ui, "Standard deviation", std, 0.0..=10.0, 0.01);
        }
        _ => {}
    }
    changed
}

/// Features, a sequence over time, or token ids below a vocabulary size.
fn values_choice(ui: &mut Ui, value: &mut ValueKind) -> bool {
    let all = [
        ("Features", ValueKind::Features),
        ("Sequence [time, features]", ValueKind::Sequence),
        ("Token ids [time]", ValueKind::Tokens { vocabulary: 64 }),
    ];
    let current = all
        .iter()
        .find(|(_, v)| std::mem::discriminant(v) == std::mem::discriminant(value))
        .map_or("", |(name, _)| name);
    let mut changed = false;
    egui::ComboBox::from_label("Values")
        .selected_text(current)
        .show_ui(ui, |ui| {
            for (name, choice) in all {
                if ui.selectable_label(*name == *current, name).clicked() && name != current {
                    *value = choice;
                    changed = true;
                }
            }
        });
    if let ValueKind::Tokens { vocabulary } = value {
        changed |= number(ui, "Vocabulary", vocabulary, 1..=1_000_000, 0.2);
    }
    changed
}

fn loss_choice(ui: &mut Ui, kind: &mut LossKind) -> bool {
    let mut changed = false;
    egui::ComboBox::from_label("Loss")
        .selected_text(kind.label())
        .show_ui(ui, |ui| {
            for choice in [
                LossKind::SoftmaxCrossEntropy,
                LossKind::BinaryCrossEntropy,
                LossKind::MeanSquaredError,
                LossKind::MeanAbsoluteError,
            ] {
                changed |= ui.selectable_value(kind, choice, choice.label()).changed();
            }
        });
    changed
}

/// Where the loss's target comes from: the dataset, or a wire into a second input.
fn target_choice(ui: &mut Ui, target: &mut LossTarget) -> bool {
    let label = |t: LossTarget| match t {
        LossTarget::Dataset => "The dataset's",
        LossTarget::Wire => "Its second input",
    };
    let mut changed = false;
    egui::ComboBox::from_label("Target")
        .selected_text(label(*target))
        .show_ui(ui, |ui| {
            for choice in [LossTarget::Dataset, LossTarget::Wire] {
                changed |= ui
                    .selectable_value(target, choice, label(choice))
                    .changed();
            }
        })
        .response
        .on_hover_text(
            "What the prediction is compared with: each sample's class or values from the dataset, or a tensor wired to the loss (the input itself, for an autoencoder that learns to rebuild it).",
        );
    changed
}

/// A class whose targets count for nothing (padding), as PyTorch's `ignore_index`.
fn ignore_choice(ui: &mut Ui, ignore: &mut Option<usize>) -> bool {
    let mut on = ignore.is_some();
    let mut changed = ui
        .checkbox(&mut on, "Ignore a class")
        .on_hover_text(
            "Targets of this class add nothing to the loss or the accuracy: a padding class",
        )
        .changed();
    if changed {
        *ignore = on.then_some(0);
    }
    if let Some(class) = ignore {
        changed |= number(ui, "Ignored class", class, 0..=100_000, 0.05);
    }
    changed
}

/// A pooling stride: the kernel size unless set.
fn stride_choice(ui: &mut Ui, stride: &mut Option<usize>, kernel: usize) -> bool {
    let mut own = stride.is_some();
    let mut changed = ui.checkbox(&mut own, "Own stride").changed();
    if changed {
        *stride = own.then_some(kernel);
    }
    if let Some(s) = stride {
        changed |= number(ui, "Stride", s, 1..=8, 0.05);
    }
    changed
}

/// Edits `layer` in place; the name of the setting that changed, if one did.
fn layer_settings(ui: &mut Ui, layer: &mut Layer) -> Option<&'static str> {
    let mut changed = None;
    let mut mark = |field: &'static str, did: bool| {
        if did {
            changed = Some(field);
        }
    };
    match layer {
        Layer::Input { shape, values } => {
            mark("shape", shape_field(ui, "Shape", shape));
            mark("values", values_choice(ui, values));
        }
        Layer::Recurrent {
            cell,
            hidden_size,
            num_layers,
            bidirectional,
            returns,
        } => {
            let mut chosen = false;
            egui::ComboBox::from_label("Cell")
                .selected_text(cell.label())
                .show_ui(ui, |ui| {
                    for choice in [
                        RecurrentCell::Lstm,
                        RecurrentCell::Gru,
                        RecurrentCell::Rnn,
                        RecurrentCell::RnnRelu,
                    ] {
                        chosen |= ui.selectable_value(cell, choice, choice.label()).changed();
                    }
                });
            mark("cell", chosen);
            mark(
                "hidden_size",
                number(ui, "Hidden size", hidden_size, 1..=8192, 0.2),
            );
            mark("num_layers", number(ui, "Layers", num_layers, 1..=8, 0.05));
            mark(
                "bidirectional",
                ui.checkbox(bidirectional, "Both directions").changed(),
            );
            let mut last = *returns == Returns::LastStep;
            if ui
                .checkbox(&mut last, "Last step only")
                .on_hover_text("Pass on the output at the last time step, not the whole sequence")
                .changed()
            {
                *returns = if last {
                    Returns::LastStep
                } else {
                    Returns::Sequence
                };
                mark("returns", true);
            }
        }
        Layer::MultiHeadAttention {
            heads,
            causal,
            dropout,
        } => {
            mark("heads", number(ui, "Heads", heads, 1..=64, 0.05));
            mark(
                "dropout",
                number(ui, "Attention dropout", dropout, 0.0..=0.95, 0.005),
            );
            mark(
                "causal",
                ui.checkbox(causal, "Causal (only earlier steps)")
                    .on_hover_text(
                        "Each step sees only itself and the steps before it: needed to write text",
                    )
                    .changed(),
            );
        }
        Layer::PositionalEmbedding => {
            ui.weak("A learned vector per time step, added to the input.");
        }
        Layer::PoolOverTime { pooling } => {
            let mut changed = false;
            egui::ComboBox::from_label("Pooling")
                .selected_text(pooling.label())
                .show_ui(ui, |ui| {
                    for choice in TimePooling::ALL {
                        changed |= ui
                            .selectable_value(pooling, choice, choice.label())
                            .changed();
                    }
                });
            mark("pooling", changed);
        }
        Layer::PositionalEncoding => {
            ui.weak("Fixed sines and cosines of the step's position, added to the input: nothing to learn.");
        }
        Layer::Embedding {
            num_embeddings,
            embedding_dim,
            init,
        } => {
            mark(
                "num_embeddings",
                number(ui, "Tokens", num_embeddings, 1..=1_000_000, 0.2),
            );
            mark(
                "embedding_dim",
                number(ui, "Vector size", embedding_dim, 1..=65_536, 0.2),
            );
            mark("init", init_choice(ui, init));
        }
        Layer::Dense {
            units,
            bias,
            activation,
            init,
        } => {
            mark("units", number(ui, "Units", units, 1..=65_536, 0.2));
            mark("bias", ui.checkbox(bias, "Bias").changed());
            mark("activation", activation_choice(ui, activation));
            mark("init", init_choice(ui, init));
        }
        // A transposed convolution's output padding follows these.
        Layer::Conv2d {
            filters,
            kernel,
            stride,
            padding,
            bias,
            activation,
            init,
        }
        | Layer::ConvTranspose2d {
            filters,
            kernel,
            stride,
            padding,
            bias,
            activation,
            init,
            ..
        } => {
            mark("filters", number(ui, "Filters", filters, 1..=4096, 0.2));
            mark("kernel", number(ui, "Kernel size", kernel, 1..=15, 0.05));
            mark("stride", number(ui, "Stride", stride, 1..=8, 0.05));
            mark("padding", number(ui, "Padding", padding, 0..=15, 0.05));
            mark("bias", ui.checkbox(bias, "Bias").changed());
            mark("activation", activation_choice(ui, activation));
            mark("init", init_choice(ui, init));
        }
        Layer::Upsample { scale, bilinear } => {
            mark("scale", number(ui, "Scale factor", scale, 1..=8, 0.05));
            mark(
                "bilinear",
                ui.checkbox(bilinear, "Bilinear")
                    .on_hover_text("Blend each new value from its four nearest neighbours, rather than copy the nearest")
                    .changed(),
            );
        }
        Layer::MaxPool2d { kernel, stride } | Layer::AvgPool2d { kernel, stride } => {
            mark("kernel", number(ui, "Kernel size", kernel, 1..=15, 0.05));
            let k = *kernel;
            mark("stride", stride_choice(ui, stride, k));
        }
        Layer::Reshape { shape } => mark("shape", shape_field(ui, "Shape", shape)),
        Layer::Dropout { rate } => {
            mark("rate", number(ui, "Drop rate", rate, 0.0..=0.95, 0.005));
        }
        Layer::BatchNorm { momentum, epsilon } => {
            mark(
                "momentum",
                number(ui, "Momentum", momentum, 0.0..=1.0, 0.005),
            );
            mark("epsilon", number(ui, "Epsilon", epsilon, 1e-8..=1e-1, 1e-6));
        }
        Layer::LayerNorm { epsilon } => {
            mark("epsilon", number(ui, "Epsilon", epsilon, 1e-8..=1e-1, 1e-6));
        }
        Layer::Activation { function } => mark("function", activation_choice(ui, function)),
        Layer::Add { inputs } => mark("inputs", number(ui, "Inputs", inputs, 2..=8, 0.05)),
        Layer::Concat { inputs, axis } => {
            mark("inputs", number(ui, "Inputs", inputs, 2..=8, 0.05));
            mark("axis", number(ui, "Axis", axis, 0..=3, 0.05));
        }
        Layer::Loss {
            kind,
            ignore_index,
            target,
        } => {
            mark("kind", loss_choice(ui, kind));
            mark("target", target_choice(ui, target));
            if *kind == LossKind::SoftmaxCrossEntropy || ignore_index.is_some() {
                mark("ignore_index", ignore_choice(ui, ignore_index));
            }
        }
        Layer::GlobalAvgPool | Layer::Flatten => {
            ui.weak("No settings.");
        }
    }
    if let Layer::ConvTranspose2d { output_padding, .. } = layer {
        mark(
            "output_padding",
            number(ui, "Output padding", output_padding, 0..=7, 0.05),
        );
    }
    changed
}

pub fn show(ui: &mut Ui, editor: &mut Editor) {
    ui.heading("Inspector");
    let selected: Vec<NodeId> = editor.selection.iter().copied().collect();
    let [id] = selected[..] else {
        ui.weak(match selected.len() {
            0 => "Select a node to see and change its settings.",
            _ => "Several nodes are selected; select one to change its settings.",
        });
        return;
    };
    let Some(index) = editor.project.graph.node_index(id) else {
        return;
    };
    let node = editor.project.graph.nodes[index].clone();
    ui.label(egui::RichText::new(node.layer.kind_label()).strong());

    let mut name = node.name.clone();
    let renamed = ui
        .horizontal(|ui| {
            let label = ui.label("Name");
            ui.text_edit_singleline(&mut name).labelled_by(label.id)
        })
        .inner;
    if renamed.changed() {
        editor.rename(id, name);
    }

    let mut layer = node.layer.clone();
    if let Some(field) = layer_settings(ui, &mut layer) {
        editor.set_layer(id, field, layer);
    }

    ui.separator();
    let info = editor.model.nodes.get(index).cloned().unwrap_or_default();
    egui::Grid::new("node facts").num_columns(2).show(ui, |ui| {
        for (port, input) in info.inputs.iter().enumerate() {
            ui.label(if info.inputs.len() > 1 {
                format!("Input {}", port + 1)
            } else {
                "Input".to_string()
            });
            ui.label(
                input
                    .as_ref()
                    .map_or("not connected".into(), |(_, s)| s.to_string()),
            );
            ui.end_row();
        }
        ui.label("Output");
        ui.label(info.output.as_ref().map_or("—".into(), |s| s.to_string()));
        ui.end_row();
        ui.label("Parameters");
        ui.label(thousands(info.params));
        ui.end_row();
        ui.label("FLOPs per sample");
        ui.label(thousands(info.flops as usize));
        ui.end_row();
    });

    let problems: Vec<_> = editor
        .model
        .problems_at(Location::Node(id))
        .cloned()
        .collect();
    for problem in problems {
        ui.separator();
        ui.colored_label(ui.visuals().warn_fg_color, &problem.message);
        if let Some(fix) = &problem.fix
            && ui.button(&fix.description).clicked()
        {
            editor.apply_fix(&fix.action);
        }
    }
}
