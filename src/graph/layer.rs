//! The layer kinds a user can place, with their settings. Plain data: what each layer computes lives
//! in `compile`, never here.

use serde::{Deserialize, Serialize};

/// A layer and its settings. Serialised with a `"type"` tag, e.g. `{"type": "dense", "units": 16}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Layer {
    /// Where samples enter. `shape` is one sample's shape, without the batch axis.
    Input {
        shape: Vec<usize>,
        /// What the values are: features, a sequence over time, or token ids.
        #[serde(default, skip_serializing_if = "ValueKind::is_features")]
        values: ValueKind,
    },
    /// Looks up a learned vector per token id, as PyTorch's `nn.Embedding`: token ids `[time]`
    /// become a sequence `[time, embedding_dim]`.
    Embedding {
        num_embeddings: usize,
        embedding_dim: usize,
        #[serde(default = "standard_normal")]
        init: Init,
    },
    /// A recurrent layer over a sequence `[time, features]`, as PyTorch's `nn.RNN`, `nn.LSTM`
    /// and `nn.GRU` with `batch_first=True`, from a zero state.
    Recurrent {
        cell: RecurrentCell,
        hidden_size: usize,
        #[serde(default = "one")]
        num_layers: usize,
        #[serde(default)]
        bidirectional: bool,
        /// Every time step's output `[time, hidden]`, or the last one's `[hidden]`.
        #[serde(default)]
        returns: Returns,
    },
    /// Self-attention over a sequence `[time, width]`, as PyTorch's `nn.MultiheadAttention`
    /// (`batch_first=True`, query, key and value all the input): each step's output mixes every
    /// step's values, weighted by how well its query matches their keys, in `heads` heads.
    MultiHeadAttention {
        heads: usize,
        /// Each step sees only itself and the steps before it, as a model that writes must.
        #[serde(default)]
        causal: bool,
        /// The fraction of attention weights zeroed while training (the rest scaled up), as
        /// `nn.MultiheadAttention`'s `dropout`.
        #[serde(default)]
        dropout: f32,
    },
    /// Adds a learned vector per time step to a sequence, so that later layers know where each
    /// step is (attention alone cannot tell).
    PositionalEmbedding,
    /// Adds the fixed sines and cosines of "Attention Is All You Need" to a sequence: the same
    /// job with nothing to learn.
    PositionalEncoding,
    /// Sums a sequence `[time, features]` up as one vector `[features]`: each feature's mean or
    /// largest value over time, or its value at the last step.
    PoolOverTime {
        #[serde(default)]
        pooling: TimePooling,
    },
    Dense {
        units: usize,
        #[serde(default = "yes")]
        bias: bool,
        #[serde(default)]
        activation: Activation,
        #[serde(default)]
        init: Init,
    },
    Conv2d {
        filters: usize,
        kernel: usize,
        #[serde(default = "one")]
        stride: usize,
        #[serde(default)]
        padding: usize,
        #[serde(default = "yes")]
        bias: bool,
        #[serde(default)]
        activation: Activation,
        #[serde(default)]
        init: Init,
    },
    /// The transpose of a convolution (PyTorch's `ConvTranspose2d`, weight `[in, out, kh, kw]`):
    /// each input value stamps the kernel onto a larger output, `stride` apart, so an image
    /// grows by about `stride` a side. What a decoder uses to rebuild an image.
    ConvTranspose2d {
        filters: usize,
        kernel: usize,
        #[serde(default = "one")]
        stride: usize,
        #[serde(default)]
        padding: usize,
        /// Rows and columns added on one side of the output, to reach the size a stride would
        /// otherwise round away (less than the stride).
        #[serde(default)]
        output_padding: usize,
        #[serde(default = "yes")]
        bias: bool,
        #[serde(default)]
        activation: Activation,
        #[serde(default)]
        init: Init,
    },
    MaxPool2d {
        kernel: usize,
        /// Defaults to the kernel size, as in PyTorch.
        #[serde(default)]
        stride: Option<usize>,
    },
    /// Grows an image by a whole factor, as `nn.Upsample(scale_factor=…)`: each value copied
    /// onto a block (nearest), or blended with its neighbours (bilinear).
    Upsample {
        scale: usize,
        #[serde(default)]
        bilinear: bool,
    },
    AvgPool2d {
        kernel: usize,
        #[serde(default)]
        stride: Option<usize>,
    },
    GlobalAvgPool,
    Flatten,
    /// Reinterprets one sample as `shape` (same number of values).
    Reshape {
        shape: Vec<usize>,
    },
    Dropout {
        rate: f32,
    },
    BatchNorm {
        #[serde(default = "default_bn_momentum")]
        momentum: f32,
        #[serde(default = "default_epsilon")]
        epsilon: f32,
    },
    /// Normalises each sample over its last axis.
    LayerNorm {
        #[serde(default = "default_epsilon")]
        epsilon: f32,
    },
    Activation {
        function: Activation,
    },
    /// Element-wise sum of its inputs (residual connections).
    Add {
        #[serde(default = "two")]
        inputs: usize,
    },
    /// Joins its inputs along `axis` of the sample (0 is the first axis after the batch).
    Concat {
        #[serde(default = "two")]
        inputs: usize,
        #[serde(default)]
        axis: usize,
    },
    /// Compares the prediction on its first input with a target: the dataset's, or the
    /// tensor on its second input. Every trainable graph has one.
    Loss {
        kind: LossKind,
        /// For softmax cross-entropy: targets of this class count for nothing, as PyTorch's
        /// `ignore_index` (a padding class).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ignore_index: Option<usize>,
        #[serde(default, skip_serializing_if = "LossTarget::is_dataset")]
        target: LossTarget,
    },
}

/// Where a loss finds what its prediction should have been.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossTarget {
    /// The dataset's target for the sample: its class, or its values.
    #[default]
    Dataset,
    /// The tensor wired to the loss's second input: the input itself, for an autoencoder that
    /// learns to rebuild it. No gradient flows into it, as into a `detach()`ed PyTorch target.
    Wire,
}

impl LossTarget {
    pub fn is_dataset(&self) -> bool {
        *self == LossTarget::Dataset
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecurrentCell {
    /// `nn.RNN` with tanh.
    Rnn,
    /// `nn.RNN` with `nonlinearity="relu"`.
    RnnRelu,
    Lstm,
    Gru,
}

impl RecurrentCell {
    pub fn label(self) -> &'static str {
        match self {
            RecurrentCell::Rnn => "RNN",
            RecurrentCell::RnnRelu => "RNN (ReLU)",
            RecurrentCell::Lstm => "LSTM",
            RecurrentCell::Gru => "GRU",
        }
    }
}

/// How `PoolOverTime` sums up a sequence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePooling {
    #[default]
    Mean,
    Max,
    /// The last step's values (PyTorch's `x[:, -1]`).
    Last,
}

impl TimePooling {
    pub const ALL: [TimePooling; 3] = [TimePooling::Mean, TimePooling::Max, TimePooling::Last];

    pub fn label(self) -> &'static str {
        match self {
            TimePooling::Mean => "Mean over time",
            TimePooling::Max => "Max over time",
            TimePooling::Last => "Last step",
        }
    }
}

/// What a recurrent layer passes on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Returns {
    /// The output at every time step, `[time, hidden]`.
    #[default]
    Sequence,
    /// The output at the last time step only, `[hidden]` (PyTorch's `output[:, -1]`).
    LastStep,
}

/// What one sample's values are. A sequence's first axis is time; token ids are integers below
/// the vocabulary size, one per time step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueKind {
    #[default]
    Features,
    Sequence,
    Tokens {
        vocabulary: usize,
    },
}

impl ValueKind {
    pub fn is_features(&self) -> bool {
        *self == ValueKind::Features
    }

    /// Whether the first axis is time.
    pub fn has_time(&self) -> bool {
        !self.is_features()
    }
}

fn standard_normal() -> Init {
    Init::Normal { std: 1.0 }
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}
fn two() -> usize {
    2
}
fn default_bn_momentum() -> f32 {
    0.1
}
fn default_epsilon() -> f32 {
    1e-5
}

/// Element-wise (or, for softmax, per-row) non-linearities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Identity,
    Relu,
    LeakyRelu {
        #[serde(default = "default_leaky_slope")]
        slope: f32,
    },
    Elu {
        #[serde(default = "default_elu_alpha")]
        alpha: f32,
    },
    Sigmoid,
    Tanh,
    Gelu,
    /// Over the last axis of each sample.
    Softmax,
}

fn default_leaky_slope() -> f32 {
    0.01
}
fn default_elu_alpha() -> f32 {
    1.0
}

impl Activation {
    pub const ALL: [Activation; 8] = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.01 },
        Activation::Elu { alpha: 1.0 },
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
        Activation::Softmax,
    ];

    pub fn label(&self) -> &'static str {
        match self {
            Activation::Identity => "Identity",
            Activation::Relu => "ReLU",
            Activation::LeakyRelu { .. } => "LeakyReLU",
            Activation::Elu { .. } => "ELU",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Gelu => "GELU",
            Activation::Softmax => "Softmax",
        }
    }
}

/// How a weight tensor starts. Biases start at zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    #[default]
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    LecunNormal,
    Zeros,
    Constant {
        value: f32,
    },
    /// Normal with mean 0 and this standard deviation, whatever the fans (PyTorch's
    /// `nn.Embedding` starts at a standard normal).
    Normal {
        std: f32,
    },
    /// Uniform in `[-limit, limit]` (PyTorch starts recurrent layers at `1/√hidden`).
    Uniform {
        limit: f32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Mean squared error, for regression.
    MeanSquaredError,
    /// Mean absolute error, for regression robust to outliers.
    MeanAbsoluteError,
    /// Softmax then cross-entropy against a class index: multi-class classification.
    SoftmaxCrossEntropy,
    /// Sigmoid then binary cross-entropy against 0/1 targets: two classes (or several independent labels).
    BinaryCrossEntropy,
}

impl LossKind {
    pub fn label(&self) -> &'static str {
        match self {
            LossKind::MeanSquaredError => "Mean squared error",
            LossKind::MeanAbsoluteError => "Mean absolute error",
            LossKind::SoftmaxCrossEntropy => "Softmax cross-entropy",
            LossKind::BinaryCrossEntropy => "Binary cross-entropy",
        }
    }
}

impl Layer {
    /// An Input of float features shaped `shape`.
    pub fn input(shape: Vec<usize>) -> Layer {
        Layer::Input {
            shape,
            values: ValueKind::Features,
        }
    }

    /// A loss of this kind that counts every target.
    pub fn loss(kind: LossKind) -> Layer {
        Layer::Loss {
            kind,
            ignore_index: None,
            target: LossTarget::Dataset,
        }
    }

    /// The word a user sees for this kind of layer.
    pub fn kind_label(&self) -> &'static str {
        match self {
            Layer::Input { .. } => "Input",
            Layer::Embedding { .. } => "Embedding",
            Layer::Recurrent { cell, .. } => cell.label(),
            Layer::MultiHeadAttention { .. } => "MultiHeadAttention",
            Layer::PositionalEmbedding => "PositionalEmbedding",
            Layer::PositionalEncoding => "PositionalEncoding",
            Layer::PoolOverTime { .. } => "PoolOverTime",
            Layer::Dense { .. } => "Dense",
            Layer::Conv2d { .. } => "Conv2d",
            Layer::ConvTranspose2d { .. } => "ConvTranspose2d",
            Layer::MaxPool2d { .. } => "MaxPool2d",
            Layer::AvgPool2d { .. } => "AvgPool2d",
            Layer::Upsample { .. } => "Upsample",
            Layer::GlobalAvgPool => "GlobalAvgPool",
            Layer::Flatten => "Flatten",
            Layer::Reshape { .. } => "Reshape",
            Layer::Dropout { .. } => "Dropout",
            Layer::BatchNorm { .. } => "BatchNorm",
            Layer::LayerNorm { .. } => "LayerNorm",
            Layer::Activation { function } => function.label(),
            Layer::Add { .. } => "Add",
            Layer::Concat { .. } => "Concat",
            Layer::Loss { kind, .. } => kind.label(),
        }
    }

    /// How many input ports the layer has.
    pub fn input_count(&self) -> usize {
        match self {
            Layer::Input { .. } => 0,
            Layer::Add { inputs } | Layer::Concat { inputs, .. } => *inputs,
            Layer::Loss {
                target: LossTarget::Wire,
                ..
            } => 2,
            _ => 1,
        }
    }

    /// How many output ports the layer has (a loss ends the graph).
    pub fn output_count(&self) -> usize {
        match self {
            Layer::Loss { .. } => 0,
            _ => 1,
        }
    }
}
