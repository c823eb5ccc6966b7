//! From the document to something that runs: `check` (shapes, counts, problems; fast enough for
//! every edit) and `compile` (lowering to primitive ops, autodiff, optimizer updates).

mod analysis;
mod autodiff;
mod budget;
mod builder;
mod check;
mod init;
mod lower;
mod program;
mod settings;
mod shapes;

pub use analysis::{LayerRow, layer_table, memory_text, table_csv};
pub use budget::{bytes_text, machine_memory_bytes, program_bytes};
pub use check::{
    DataInfo, Fix, FixAction, Location, MAX_INPUTS, Model, NodeInfo, Problem, Severity, Shape,
    check, check_project, shape_text,
};
pub use init::initial_values;
pub use program::{
    Attention, Buffer, BufferId, BufferKind, Cell, DType, Extent, NamedState, NodeOutput, Op,
    Outputs, Param, ParamInit, Phases, Program, Recurrence, StateInit, Step, UnaryFn, UpdateRule,
    Window,
};
pub use shapes::window_output;

use std::ops::Range;

use builder::Builder;
use lower::{Mode, Shared, lower_forward};

use crate::graph::{Layer, Optimizer, TrainingSettings, ValueKind};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CompileError {
    #[error("the network has problems to fix first: {0}")]
    NotTrainable(String),
    #[error("the batch size must be at least 1")]
    EmptyBatch,
}

/// Compiles a checked model into one program holding the training step (forward, backward,
/// update) and the evaluation pass, sharing parameters, for batches of up to `settings.batch_size`.
pub fn compile(model: &Model, settings: &TrainingSettings) -> Result<Program, CompileError> {
    if let Some(problem) = model.errors().next() {
        return Err(CompileError::NotTrainable(problem.message.clone()));
    }
    if settings.batch_size == 0 {
        return Err(CompileError::EmptyBatch);
    }
    let (Some(input_index), Some(loss_index)) = (model.input, model.loss) else {
        return Err(CompileError::NotTrainable(
            "the network needs one Input and one loss".into(),
        ));
    };
    let mut b = Builder::default();
    let input_shape = model.nodes[input_index].output.clone().unwrap_or_default();
    let dtype = match input_shape.values {
        ValueKind::Tokens { .. } => DType::I32,
        ValueKind::Features | ValueKind::Sequence => DType::F32,
    };
    let input = b.buffer(
        "input".into(),
        input_shape.dims,
        true,
        dtype,
        BufferKind::Input,
    );
    let mut shared = Shared::new(input);

    let train_forward_start = b.steps.len();
    let train = lower_forward(model, &mut b, &mut shared, Mode::Train);
    let train_forward = train_forward_start..b.steps.len();

    let param_buffers: Vec<BufferId> = shared.params.iter().map(|p| p.buffer).collect();
    let outputs: Vec<BufferId> = train.node_outputs.iter().map(|&(_, out)| out).collect();
    let grads = autodiff::differentiate(&mut b, train_forward.clone(), &param_buffers, &outputs);
    let backward = train_forward.end..b.steps.len();
    for param in &mut shared.params {
        param.grad = grads.get(&param.buffer).copied();
    }

    let (grad_norm_sq, optimizer_state) = emit_updates(&mut b, &shared.params, settings.optimizer);
    let update = backward.end..b.steps.len();

    let eval = lower_forward(model, &mut b, &mut shared, Mode::Eval);
    let eval_forward = update.end..b.steps.len();
    let (before_update, after_update) = emit_change_watch(&mut b, &mut shared.params);

    let node_outputs = train
        .node_outputs
        .iter()
        .zip(&eval.node_outputs)
        .map(|(&(node, train), &(_, eval))| NodeOutput {
            node,
            train,
            eval,
            grad: grads.get(&train).copied(),
        })
        .collect();
    let ignore_class = match model.graph.nodes[loss_index].layer {
        Layer::Loss { ignore_index, .. } => ignore_index,
        _ => None,
    };
    Ok(Program {
        ignore_class,
        buffers: b.buffers,
        steps: b.steps,
        phases: Phases {
            train_forward,
            backward,
            update,
            eval_forward,
            before_update,
            after_update,
        },
        batch_capacity: settings.batch_size,
        input,
        target: shared.target,
        train: Outputs {
            prediction: train.prediction,
            loss: train.loss,
        },
        eval: Outputs {
            prediction: eval.prediction,
            loss: eval.loss,
        },
        grad_norm_sq,
        params: shared.params,
        running_stats: shared.running_stats,
        optimizer_state,
        node_outputs,
    })
}

/// The ops that measure what a step changes: each trained parameter's values are kept before
/// the update and subtracted from the updated ones after it, into `Param::change`. They run
/// only on watched steps, so other steps pay nothing for them.
fn emit_change_watch(b: &mut Builder, params: &mut [Param]) -> (Range<usize>, Range<usize>) {
    // A buffer shaped like `param`, for ops on its behalf.
    let beside = |b: &mut Builder, param: &Param, what: &str| {
        let shape = b.shape(param.buffer).to_vec();
        b.node = Some(param.node);
        b.fixed(format!("{} ({what})", param.name), shape)
    };
    let start = b.steps.len();
    let kept: Vec<Option<BufferId>> = params
        .iter()
        .map(|param| {
            param.grad?;
            let kept = beside(b, param, "before the step");
            b.push(Op::Copy {
                x: param.buffer,
                out: kept,
            });
            Some(kept)
        })
        .collect();
    let middle = b.steps.len();
    for (param, kept) in params.iter_mut().zip(kept) {
        let Some(kept) = kept else { continue };
        let change = beside(b, param, "change");
        b.push(Op::Sub {
            a: param.buffer,
            b: kept,
            out: change,
        });
        param.change = Some(change);
    }
    b.node = None;
    (start..middle, middle..b.steps.len())
}

/// The global gradient norm (for clipping, diagnostics and the non-finite guard), then one update
/// per parameter with its optimizer state.
fn emit_updates(
    b: &mut Builder,
    params: &[Param],
    optimizer: Optimizer,
) -> (BufferId, Vec<BufferId>) {
    let grads: Vec<BufferId> = params.iter().filter_map(|p| p.grad).collect();
    let norm_sq = b.fixed("gradient norm²".into(), vec![1]);
    b.push(Op::GradNormSq {
        grads,
        out: norm_sq,
    });
    let (rule, state_names): (UpdateRule, &[&str]) = match optimizer {
        Optimizer::Sgd { nesterov, .. } => (UpdateRule::Sgd { nesterov }, &["momentum_buffer"]),
        Optimizer::Adam { .. } => (
            UpdateRule::Adam {
                decoupled_decay: false,
            },
            &["exp_avg", "exp_avg_sq"],
        ),
        Optimizer::AdamW { .. } => (
            UpdateRule::Adam {
                decoupled_decay: true,
            },
            &["exp_avg", "exp_avg_sq"],
        ),
        Optimizer::RmsProp { .. } => (UpdateRule::RmsProp, &["square_avg"]),
        Optimizer::Adagrad { .. } => (UpdateRule::Adagrad, &["sum"]),
    };
    let mut all_state = Vec::new();
    for param in params {
        let Some(grad) = param.grad else { continue };
        let shape = b.shape(param.buffer).to_vec();
        let mut state = [None, None];
        for (slot, name) in state.iter_mut().zip(state_names) {
            let id = b.buffer(
                format!("{}.{name}", param.name),
                shape.clone(),
                false,
                DType::F32,
                BufferKind::State,
            );
            all_state.push(id);
            *slot = Some(id);
        }
        b.node = Some(param.node);
        b.push(Op::Update {
            rule,
            param: param.buffer,
            grad,
            state,
            norm_sq,
        });
    }
    b.node = None;
    (norm_sq, all_state)
}
