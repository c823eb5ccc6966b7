//! The compiled form of a network: a flat, ordered list of primitive ops over numbered buffers
//! with known shapes. The same list runs on every backend; nothing is built per step.
//!
//! Batched buffers hold up to `batch_capacity` samples along a leading batch axis; each run says
//! how many rows are live, so a short last batch needs no second program.

use std::ops::Range;

use crate::graph::{Init, LossKind, NodeId};

pub type BufferId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    /// Class labels today; token ids for embeddings later.
    I32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferKind {
    /// Features written by the trainer before each run.
    Input,
    /// Targets written by the trainer before each run.
    Target,
    /// Trained weights.
    Param,
    /// State kept across steps that is not trained: running statistics, optimizer moments.
    State,
    /// Produced and consumed within one run.
    Value,
}

#[derive(Clone, Debug)]
pub struct Buffer {
    /// What it holds, for messages and inspection: `dense1.weight`, `dense1 (output)`, ...
    pub name: String,
    /// Per-sample shape when `batched`, the whole shape otherwise.
    pub shape: Vec<usize>,
    pub batched: bool,
    pub dtype: DType,
    pub kind: BufferKind,
    /// A view (reshape) shares the storage of this buffer.
    pub alias_of: Option<BufferId>,
}

impl Buffer {
    pub fn per_sample_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Number of elements when `rows` samples are live.
    pub fn len(&self, rows: usize) -> usize {
        self.per_sample_len() * if self.batched { rows } else { 1 }
    }
}

/// A size that may scale with the number of live rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub per_row: usize,
    pub batched: bool,
}

impl Extent {
    pub fn fixed(n: usize) -> Self {
        Self {
            per_row: n,
            batched: false,
        }
    }

    pub fn at(&self, rows: usize) -> usize {
        if self.batched {
            self.per_row * rows
        } else {
            self.per_row
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryFn {
    Relu,
    LeakyRelu(f32),
    Elu(f32),
    Sigmoid,
    Tanh,
    /// The exact (erf) form, as PyTorch's default.
    Gelu,
}

/// The step of a recurrent layer, as PyTorch computes it (gates in PyTorch's order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// `h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)`.
    RnnTanh,
    /// As `RnnTanh` with ReLU.
    RnnRelu,
    /// Gates i, f, g, o: `c' = f·c + i·g`, `h' = o·tanh(c')`.
    Lstm,
    /// Gates r, z, n: `n = tanh(W_in x + b_in + r·(W_hn h + b_hn))`, `h' = (1 − z)·n + z·h`.
    Gru,
}

impl Cell {
    /// Rows of `W_ih` and `W_hh` per hidden unit: one per gate.
    pub fn gates(self) -> usize {
        match self {
            Cell::RnnTanh | Cell::RnnRelu => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// Values a step keeps per sample for the backward pass, before its hidden state (and an
    /// LSTM's cell state): the gates' activations, and a GRU's `W_hn h + b_hn`.
    pub fn activations(self, hidden: usize) -> usize {
        match self {
            Cell::RnnTanh | Cell::RnnRelu => 0,
            Cell::Lstm | Cell::Gru => 4 * hidden,
        }
    }

    /// Everything a step keeps per sample: activations, hidden state, an LSTM's cell state.
    pub fn saved_per_step(self, hidden: usize) -> usize {
        let cell_state = if self == Cell::Lstm { hidden } else { 0 };
        self.activations(hidden) + hidden + cell_state
    }
}

/// The sizes of one direction of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recurrence {
    pub cell: Cell,
    pub steps: usize,
    pub hidden: usize,
    /// Runs from the last time step to the first (the second direction of a bidirectional layer).
    pub reverse: bool,
}

impl Recurrence {
    /// Width of a step's gate pre-activations: `gates × hidden`.
    pub fn gate_width(&self) -> usize {
        self.cell.gates() * self.hidden
    }

    /// The time step processed `s`-th.
    pub fn time(&self, s: usize) -> usize {
        if self.reverse { self.steps - 1 - s } else { s }
    }
}

/// The sizes of multi-head self-attention over a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attention {
    pub steps: usize,
    /// Width of a step: `heads × head_dim`.
    pub width: usize,
    pub heads: usize,
    /// Each step attends only to itself and the steps before it.
    pub causal: bool,
}

impl Attention {
    pub fn head_dim(&self) -> usize {
        self.width / self.heads.max(1)
    }
}

/// A 2D convolution or pooling window over NCHW images, per sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride: usize,
    pub padding: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Window {
    pub fn in_plane(&self) -> usize {
        self.in_h * self.in_w
    }
    pub fn out_plane(&self) -> usize {
        self.out_h * self.out_w
    }
}

/// Primitive operations. Every op writes buffers no earlier op in the same phase wrote, except the
/// update ops, which change parameters and optimizer state in place. Semantics are documented
/// once here and implemented identically by every backend.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `out[m, n] = op(a) · op(b)`, `op` transposing when asked; operands are row-major 2D views.
    MatMul {
        a: BufferId,
        b: BufferId,
        out: BufferId,
        trans_a: bool,
        trans_b: bool,
        m: Extent,
        n: Extent,
        k: Extent,
    },
    /// `out = x + bias` with `x` viewed as `[outer, channels, inner]` and `bias` as `[channels]`.
    BiasAdd {
        x: BufferId,
        bias: BufferId,
        out: BufferId,
        channels: usize,
        inner: usize,
    },
    /// `out[c] = Σ dy[o, c, i]`: the bias gradient.
    BiasGrad {
        dy: BufferId,
        out: BufferId,
        channels: usize,
        inner: usize,
    },
    Unary {
        f: UnaryFn,
        x: BufferId,
        out: BufferId,
    },
    /// `dx = f'(x) · dy`; `y = f(x)` is at hand for functions whose derivative is cheaper from it.
    UnaryBackward {
        f: UnaryFn,
        x: BufferId,
        y: BufferId,
        dy: BufferId,
        dx: BufferId,
    },
    /// Softmax over the last axis, rows of length `width`.
    Softmax {
        x: BufferId,
        out: BufferId,
        width: usize,
    },
    SoftmaxBackward {
        y: BufferId,
        dy: BufferId,
        dx: BufferId,
        width: usize,
    },
    Add {
        a: BufferId,
        b: BufferId,
        out: BufferId,
    },
    Mul {
        a: BufferId,
        b: BufferId,
        out: BufferId,
    },
    /// A view with another shape; runs as nothing, since `out` aliases `x`.
    Reshape { x: BufferId, out: BufferId },
    /// Joins inputs along a per-sample axis: each input viewed as `[outer, width_i, inner]`.
    Concat {
        inputs: Vec<BufferId>,
        out: BufferId,
        widths: Vec<usize>,
        inner: usize,
    },
    /// The inverse of one part of a Concat: `out = x[:, start..start + width, :]`.
    Slice {
        x: BufferId,
        out: BufferId,
        total: usize,
        start: usize,
        width: usize,
        inner: usize,
    },
    /// The gradient of a Slice: `dy` in its place of `dx`, zeros elsewhere.
    Unslice {
        dy: BufferId,
        dx: BufferId,
        total: usize,
        start: usize,
        width: usize,
        inner: usize,
    },
    /// Cross-correlation as in PyTorch: `x [n, C, H, W]`, `w [F, C, kh, kw]`, `out [n, F, oh, ow]`.
    Conv2d {
        x: BufferId,
        w: BufferId,
        out: BufferId,
        window: Window,
        filters: usize,
    },
    Conv2dBackwardInput {
        dy: BufferId,
        w: BufferId,
        dx: BufferId,
        window: Window,
        filters: usize,
    },
    Conv2dBackwardWeight {
        x: BufferId,
        dy: BufferId,
        dw: BufferId,
        window: Window,
        filters: usize,
    },
    /// `argmax` (when kept, for the backward pass) holds each output's flat index within its plane.
    MaxPool2d {
        x: BufferId,
        out: BufferId,
        argmax: Option<BufferId>,
        window: Window,
    },
    MaxPool2dBackward {
        dy: BufferId,
        argmax: BufferId,
        dx: BufferId,
        window: Window,
    },
    /// Averages over the window; padding (none today) would count as zeros.
    AvgPool2d {
        x: BufferId,
        out: BufferId,
        window: Window,
    },
    AvgPool2dBackward {
        dy: BufferId,
        dx: BufferId,
        window: Window,
    },
    /// Grows each image by the whole factor `window.stride`, from `in_h × in_w` to
    /// `out_h × out_w`: nearest, or bilinear as PyTorch's `align_corners=False`.
    Upsample {
        x: BufferId,
        out: BufferId,
        window: Window,
        bilinear: bool,
    },
    UpsampleBackward {
        dy: BufferId,
        dx: BufferId,
        window: Window,
        bilinear: bool,
    },
    /// One direction of a recurrent layer over each live row's sequence. `xw` is the input's
    /// projection `x·W_ihᵀ + b_ih`, `[steps, gates·hidden]` per sample; each step adds
    /// `h·W_hhᵀ + b_hh` (`w_hh [gates·hidden, hidden]`) to it and applies the cell, from a zero
    /// state. Writes every step's hidden state to `out` (`[steps, hidden]` per sample), and to
    /// `saved`, time-major (all rows of a step together), what the backward pass reads: each
    /// step's activations, hidden states and cell states, in three regions. `scratch` holds a
    /// step's `h·W_hhᵀ`.
    Recurrence {
        shape: Recurrence,
        xw: BufferId,
        w_hh: BufferId,
        b_hh: BufferId,
        out: BufferId,
        saved: BufferId,
        scratch: BufferId,
    },
    /// Back-propagation through time: from `dy` (the gradient of `out`) to the gradients of
    /// `xw`, `w_hh` and `b_hh`. `scratch` keeps every step's gradient of the recurrent
    /// pre-activations, then every step's gradient of its hidden state (both time-major; the
    /// second is the CPU's working memory, and what the live view's reach through time reads
    /// from its own one-row pass), then the gradients flowing to the previous step's hidden
    /// and cell states, and the part of the hidden one that skips the product (a GRU's).
    RecurrenceBackward {
        shape: Recurrence,
        w_hh: BufferId,
        saved: BufferId,
        dy: BufferId,
        dxw: BufferId,
        dw_hh: BufferId,
        db_hh: BufferId,
        scratch: BufferId,
    },
    /// Scaled dot-product attention per head, as `nn.MultiheadAttention` computes it: `qkv`
    /// holds each step's query, key and value side by side (`[steps, 3·width]` per sample, head
    /// `h` in columns `h·head_dim..` of each), `probs` keeps the attention weights
    /// (`[heads, steps, steps]` per sample) and `out` the heads' outputs side by side
    /// (`[steps, width]`). While training with attention dropout, `mask` (shaped as `probs`,
    /// from `DropoutMask`) multiplies the weights before they mix the values; `probs` keeps
    /// them whole.
    Attention {
        shape: Attention,
        qkv: BufferId,
        probs: BufferId,
        mask: Option<BufferId>,
        out: BufferId,
    },
    /// `scratch` holds the gradients of the scores (`[heads, steps, steps]` per sample; the CPU
    /// needs one query's at a time).
    AttentionBackward {
        shape: Attention,
        qkv: BufferId,
        probs: BufferId,
        mask: Option<BufferId>,
        dy: BufferId,
        dqkv: BufferId,
        scratch: BufferId,
    },
    /// Fills `out` with 0 or `1 / (1 - rate)` from a counter-based hash of (seed, step, stream,
    /// index), so every backend draws the same mask.
    DropoutMask {
        out: BufferId,
        rate: f32,
        stream: u32,
    },
    /// Normalises `x` viewed as `[n, channels, inner]` per channel over the batch, saves the batch
    /// `mean` and `inv_std` for the backward pass and updates the running statistics in place
    /// (unbiased variance, as PyTorch).
    BatchNormTrain {
        x: BufferId,
        gamma: BufferId,
        beta: BufferId,
        out: BufferId,
        mean: BufferId,
        inv_std: BufferId,
        running_mean: BufferId,
        running_var: BufferId,
        channels: usize,
        inner: usize,
        momentum: f32,
        epsilon: f32,
    },
    BatchNormEval {
        x: BufferId,
        gamma: BufferId,
        beta: BufferId,
        out: BufferId,
        running_mean: BufferId,
        running_var: BufferId,
        channels: usize,
        inner: usize,
        epsilon: f32,
    },
    BatchNormBackward {
        x: BufferId,
        gamma: BufferId,
        mean: BufferId,
        inv_std: BufferId,
        dy: BufferId,
        dx: BufferId,
        dgamma: BufferId,
        dbeta: BufferId,
        channels: usize,
        inner: usize,
    },
    /// Normalises each row of length `width`; saves per-row `mean` and `inv_std`.
    LayerNorm {
        x: BufferId,
        gamma: BufferId,
        beta: BufferId,
        out: BufferId,
        mean: BufferId,
        inv_std: BufferId,
        width: usize,
        epsilon: f32,
    },
    LayerNormBackward {
        x: BufferId,
        gamma: BufferId,
        mean: BufferId,
        inv_std: BufferId,
        dy: BufferId,
        dx: BufferId,
        dgamma: BufferId,
        dbeta: BufferId,
        width: usize,
    },
    /// The mean loss over the live rows, into a one-element `out`. Each sample has `positions`
    /// rows of `pred` (one per time step of a sequence, else 1) of `width` values; the target is
    /// a class index (I32) per row for softmax cross-entropy, else shaped like `pred`. A negative
    /// class is no target: the mean is over the rows that have one, whose count goes to `out[1]`.
    Loss {
        kind: LossKind,
        pred: BufferId,
        target: BufferId,
        out: BufferId,
        width: usize,
        positions: usize,
    },
    /// Gradient of that mean loss with respect to `pred`; `loss` is the Loss op's `out`, whose
    /// count of targeted rows it divides by.
    LossBackward {
        kind: LossKind,
        pred: BufferId,
        target: BufferId,
        loss: BufferId,
        dpred: BufferId,
        width: usize,
        positions: usize,
    },
    /// `out[i, :] = table[ids[i], :]`: a row of `table` (`[table_rows, dim]`) for each of the
    /// ids (I32) of the live rows. An id outside the table reads zeros (ids are checked when
    /// data is loaded; this only keeps a bad one from reading past the table).
    Embedding {
        table: BufferId,
        ids: BufferId,
        out: BufferId,
        dim: usize,
        table_rows: usize,
    },
    /// `dtable[v, :] = Σ dy[i, :]` over the ids `i` equal to `v`, summed in id order so that
    /// every backend adds in the same order.
    EmbeddingBackward {
        ids: BufferId,
        dy: BufferId,
        dtable: BufferId,
        dim: usize,
        table_rows: usize,
    },
    /// `out = x`.
    Copy { x: BufferId, out: BufferId },
    /// `out = a - b`.
    Sub {
        a: BufferId,
        b: BufferId,
        out: BufferId,
    },
    /// `out = Σ‖g‖²` over all gradients, into a one-element buffer.
    GradNormSq { grads: Vec<BufferId>, out: BufferId },
    /// One optimizer step on one parameter. Every update first adds the L2 (`weight_decay`, unless
    /// decoupled) and L1 terms to the gradient and scales it by the global-norm clip factor; it
    /// does nothing when `norm_sq` is not finite, so a bad step never reaches the weights.
    Update {
        rule: UpdateRule,
        param: BufferId,
        grad: BufferId,
        /// Per-rule state: SGD momentum buffer; Adam's first and second moments; RMSProp's and
        /// Adagrad's running squares.
        state: [Option<BufferId>; 2],
        norm_sq: BufferId,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateRule {
    Sgd { nesterov: bool },
    Adam { decoupled_decay: bool },
    RmsProp,
    Adagrad,
}

/// One entry of the op list: the op and the node it came from, so problems can name the layer.
#[derive(Clone, Debug)]
pub struct Step {
    pub op: Op,
    pub node: Option<NodeId>,
}

/// Where each part of a training step sits in the op list.
#[derive(Clone, Debug, Default)]
pub struct Phases {
    pub train_forward: Range<usize>,
    pub backward: Range<usize>,
    pub update: Range<usize>,
    pub eval_forward: Range<usize>,
    /// Run around `update` only on steps whose change to the parameters is watched: the first
    /// keeps each parameter's values, the second subtracts them from the updated ones.
    pub before_update: Range<usize>,
    pub after_update: Range<usize>,
}

/// A trained parameter, named as PyTorch names it.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub node: NodeId,
    pub buffer: BufferId,
    /// `None` when the loss does not depend on it.
    pub grad: Option<BufferId>,
    /// What the last step run with `Phases::before_update` and `after_update` added to it;
    /// `None` when it has no gradient.
    pub change: Option<BufferId>,
    pub init: ParamInit,
}

/// A node's output in the training and the evaluation pass, and its gradient in the training
/// pass (`None` where the loss does not depend on it through a parameter).
#[derive(Clone, Copy, Debug)]
pub struct NodeOutput {
    pub node: NodeId,
    pub train: BufferId,
    pub eval: BufferId,
    pub grad: Option<BufferId>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamInit {
    /// A weight initialiser with the tensor's fans.
    Weight {
        init: Init,
        fan_in: usize,
        fan_out: usize,
    },
    Constant(f32),
}

/// A buffer that persists across steps and is saved with the weights (running statistics, a
/// fixed encoding).
#[derive(Clone, Debug)]
pub struct NamedState {
    pub name: String,
    pub buffer: BufferId,
    pub initial: StateInit,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StateInit {
    Constant(f32),
    /// `[steps, width]`: sin(p·ω_i) in even columns and cos(p·ω_i) in odd ones, ω_i =
    /// 10000^(-2i/width), as "Attention Is All You Need" and PyTorch's tutorial build it.
    Sinusoidal {
        steps: usize,
        width: usize,
    },
}

/// The buffers a forward phase reads and writes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outputs {
    /// What feeds the loss: logits for classification, values for regression.
    pub prediction: BufferId,
    pub loss: BufferId,
}

#[derive(Clone, Debug, Default)]
pub struct Program {
    pub buffers: Vec<Buffer>,
    pub steps: Vec<Step>,
    pub phases: Phases,
    pub batch_capacity: usize,
    pub input: BufferId,
    /// The dataset's target, where the loss takes it from the dataset (not from a wire).
    pub target: Option<BufferId>,
    pub train: Outputs,
    pub eval: Outputs,
    pub grad_norm_sq: BufferId,
    pub params: Vec<Param>,
    pub running_stats: Vec<NamedState>,
    /// Optimizer state, zero at the start; reset with the weights.
    pub optimizer_state: Vec<BufferId>,
    /// Each node's output, for watching and inspection.
    pub node_outputs: Vec<NodeOutput>,
    /// Targets of this class are written as no target (-1): the loss's `ignore_index`.
    pub ignore_class: Option<usize>,
}

impl Program {
    /// The buffer that owns the storage of `id` (itself unless it is a view).
    pub fn storage_of(&self, mut id: BufferId) -> BufferId {
        while let Some(base) = self.buffers[id].alias_of {
            id = base;
        }
        id
    }
}

impl Op {
    /// Buffers the op writes (for in-place updates, also ones it reads).
    pub fn writes(&self) -> Vec<BufferId> {
        use Op::*;
        match self {
            MatMul { out, .. }
            | BiasAdd { out, .. }
            | BiasGrad { out, .. }
            | Unary { out, .. }
            | Softmax { out, .. }
            | Add { out, .. }
            | Sub { out, .. }
            | Copy { out, .. }
            | Mul { out, .. }
            | Reshape { out, .. }
            | Concat { out, .. }
            | Slice { out, .. }
            | Conv2d { out, .. }
            | AvgPool2d { out, .. }
            | Upsample { out, .. }
            | DropoutMask { out, .. }
            | BatchNormEval { out, .. }
            | Loss { out, .. }
            | Embedding { out, .. }
            | GradNormSq { out, .. } => vec![*out],
            EmbeddingBackward { dtable, .. } => vec![*dtable],
            Recurrence {
                out,
                saved,
                scratch,
                ..
            } => vec![*out, *saved, *scratch],
            Attention { probs, out, .. } => vec![*out, *probs],
            AttentionBackward { dqkv, scratch, .. } => vec![*dqkv, *scratch],
            RecurrenceBackward {
                dxw,
                dw_hh,
                db_hh,
                scratch,
                ..
            } => vec![*dxw, *dw_hh, *db_hh, *scratch],
            UnaryBackward { dx, .. }
            | Unslice { dx, .. }
            | SoftmaxBackward { dx, .. }
            | Conv2dBackwardInput { dx, .. }
            | MaxPool2dBackward { dx, .. }
            | AvgPool2dBackward { dx, .. }
            | UpsampleBackward { dx, .. } => vec![*dx],
            Conv2dBackwardWeight { dw, .. } => vec![*dw],
            MaxPool2d { out, argmax, .. } => std::iter::once(*out).chain(*argmax).collect(),
            BatchNormTrain {
                out,
                mean,
                inv_std,
                running_mean,
                running_var,
                ..
            } => vec![*out, *mean, *inv_std, *running_mean, *running_var],
            LayerNorm {
                out, mean, inv_std, ..
            } => vec![*out, *mean, *inv_std],
            BatchNormBackward {
                dx, dgamma, dbeta, ..
            }
            | LayerNormBackward {
                dx, dgamma, dbeta, ..
            } => vec![*dx, *dgamma, *dbeta],
            LossBackward { dpred, .. } => vec![*dpred],
            Update { param, state, .. } => std::iter::once(*param)
                .chain(state.iter().flatten().copied())
                .collect(),
        }
    }

    /// A short name for messages: "matmul", "softmax cross-entropy", ...
    pub fn label(&self) -> String {
        use Op::*;
        match self {
            MatMul { .. } => "matrix product".into(),
            BiasAdd { .. } => "bias".into(),
            BiasGrad { .. } => "bias gradient".into(),
            Unary { f, .. } => format!("{f:?}").to_lowercase(),
            UnaryBackward { f, .. } => format!("{f:?} gradient").to_lowercase(),
            Softmax { .. } => "softmax".into(),
            SoftmaxBackward { .. } => "softmax gradient".into(),
            Add { .. } => "sum".into(),
            Mul { .. } => "product".into(),
            Reshape { .. } => "reshape".into(),
            Concat { .. } => "concatenation".into(),
            Slice { .. } => "slice".into(),
            Unslice { .. } => "slice gradient".into(),
            Conv2d { .. } => "convolution".into(),
            Conv2dBackwardInput { .. } => "convolution input gradient".into(),
            Conv2dBackwardWeight { .. } => "convolution weight gradient".into(),
            MaxPool2d { .. } => "max pooling".into(),
            MaxPool2dBackward { .. } => "max pooling gradient".into(),
            AvgPool2d { .. } => "average pooling".into(),
            AvgPool2dBackward { .. } => "average pooling gradient".into(),
            Upsample { .. } => "upsampling".into(),
            UpsampleBackward { .. } => "upsampling gradient".into(),
            DropoutMask { .. } => "dropout mask".into(),
            BatchNormTrain { .. } | BatchNormEval { .. } => "batch normalisation".into(),
            BatchNormBackward { .. } => "batch normalisation gradient".into(),
            LayerNorm { .. } => "layer normalisation".into(),
            LayerNormBackward { .. } => "layer normalisation gradient".into(),
            Loss { kind, .. } => kind.label().to_lowercase(),
            LossBackward { kind, .. } => format!("{} gradient", kind.label().to_lowercase()),
            GradNormSq { .. } => "gradient norm".into(),
            Embedding { .. } => "embedding lookup".into(),
            Attention { .. } => "attention".into(),
            AttentionBackward { .. } => "attention gradient".into(),
            Recurrence { shape, .. } => format!("{} over time", cell_label(shape.cell)),
            RecurrenceBackward { shape, .. } => {
                format!("{} gradient through time", cell_label(shape.cell))
            }
            EmbeddingBackward { .. } => "embedding gradient".into(),
            Copy { .. } => "copy".into(),
            Sub { .. } => "difference".into(),
            Update { .. } => "weight update".into(),
        }
    }
}

fn cell_label(cell: Cell) -> &'static str {
    match cell {
        Cell::RnnTanh | Cell::RnnRelu => "RNN",
        Cell::Lstm => "LSTM",
        Cell::Gru => "GRU",
    }
}
