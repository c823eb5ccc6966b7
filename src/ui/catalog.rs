//! What the palette offers: every layer kind, grouped, with a fresh layer's settings and a
//! description a student can follow (what it does, the formula in words, when to use it).

use crate::graph::{Activation, Init, Layer, LossKind, RecurrentCell, Returns, TimePooling};

pub struct Entry {
    pub name: &'static str,
    /// Other words people search for it by: "fully connected" for Dense, "loss" for a loss.
    pub keywords: &'static str,
    pub description: &'static str,
    pub make: fn() -> Layer,
}

pub struct Group {
    pub name: &'static str,
    pub entries: &'static [Entry],
}

/// Whether `entry` of `group` answers a search: every word of `query` appears in its name, its
/// keywords, its group's name or its description.
pub fn matches(group: &Group, entry: &Entry, query: &str) -> bool {
    let haystack = format!(
        "{} {} {} {}",
        entry.name, entry.keywords, group.name, entry.description
    );
    words_match(&haystack, query)
}

/// Whether every word of `query` appears in `haystack`, ignoring case.
pub fn words_match(haystack: &str, query: &str) -> bool {
    let haystack = haystack.to_lowercase();
    query
        .to_lowercase()
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

fn recurrent(cell: RecurrentCell) -> Layer {
    Layer::Recurrent {
        cell,
        hidden_size: 64,
        num_layers: 1,
        bidirectional: false,
        returns: Returns::Sequence,
    }
}

fn activation(function: Activation) -> Layer {
    Layer::Activation { function }
}

pub const GROUPS: &[Group] = &[
    Group {
        name: "Core",
        entries: &[
            Entry {
                name: "Input",
                keywords: "data features samples start",
                description: "Where samples enter the network. Its shape comes from the dataset.",
                make: || Layer::input(vec![2]),
            },
            Entry {
                name: "Dense",
                keywords: "fully connected linear fc perceptron mlp hidden affine",
                description: "Every output is a weighted sum of all inputs plus a bias: y = W·x + b. \
                    The basic building block of a multi-layer perceptron.",
                make: || Layer::Dense {
                    units: 16,
                    bias: true,
                    activation: Activation::Relu,
                    init: Init::default(),
                },
            },
            Entry {
                name: "Flatten",
                keywords: "flat vector reshape",
                description: "Lays a sample's values out in one row, e.g. an image [1, 28, 28] becomes \
                    [784]. Put it between convolutions and Dense layers.",
                make: || Layer::Flatten,
            },
            Entry {
                name: "Reshape",
                keywords: "view shape",
                description: "Gives a sample a new shape with the same number of values, e.g. [784] \
                    into [1, 28, 28] so that convolutions can see it as an image.",
                make: || Layer::Reshape {
                    shape: vec![1, 28, 28],
                },
            },
        ],
    },
    Group {
        name: "Convolution",
        entries: &[
            Entry {
                name: "Conv2d",
                keywords: "convolution convolutional cnn filter kernel image feature map",
                description: "Slides small learned filters over an image; each filter makes one feature \
                    map that lights up where its pattern appears. The workhorse for images.",
                make: || Layer::Conv2d {
                    filters: 8,
                    kernel: 3,
                    stride: 1,
                    padding: 1,
                    bias: true,
                    activation: Activation::Relu,
                    init: Init::HeUniform,
                },
            },
            Entry {
                name: "ConvTranspose2d",
                keywords: "transposed convolution deconvolution upsample decoder generator grow image",
                description: "The transpose of a convolution: each value stamps a learned filter onto a \
                    larger image, so a stride of 2 doubles its size. Decoders and generators use it to \
                    build images back up.",
                make: || Layer::ConvTranspose2d {
                    filters: 8,
                    kernel: 4,
                    stride: 2,
                    padding: 1,
                    output_padding: 0,
                    bias: true,
                    activation: Activation::Relu,
                    init: Init::HeUniform,
                },
            },
            Entry {
                name: "Upsample",
                keywords: "upsample upsampling nearest bilinear interpolate resize grow image decoder",
                description: "Makes an image larger by a whole factor, copying each value onto a block \
                    (nearest) or blending neighbours (bilinear). With a convolution after it, an \
                    alternative to the transposed convolution in a decoder.",
                make: || Layer::Upsample {
                    scale: 2,
                    bilinear: false,
                },
            },
            Entry {
                name: "MaxPool2d",
                keywords: "pooling max pool downsample subsample",
                description: "Keeps the largest value in each small window, halving the image with a \
                    2x2 window: fewer values, and features that tolerate small shifts.",
                make: || Layer::MaxPool2d {
                    kernel: 2,
                    stride: None,
                },
            },
            Entry {
                name: "AvgPool2d",
                keywords: "pooling average mean pool downsample subsample",
                description: "Averages each small window, shrinking the image more gently than max \
                    pooling.",
                make: || Layer::AvgPool2d {
                    kernel: 2,
                    stride: None,
                },
            },
            Entry {
                name: "GlobalAvgPool",
                keywords: "pooling global average gap",
                description: "Averages each feature map down to one number: [channels, h, w] becomes \
                    [channels]. A light alternative to Flatten before the classifier.",
                make: || Layer::GlobalAvgPool,
            },
        ],
    },
    Group {
        name: "Normalisation and regularisation",
        entries: &[
            Entry {
                name: "BatchNorm",
                keywords: "batch normalization normalisation norm",
                description: "Rescales each channel to mean 0 and spread 1 over the batch, then applies \
                    a learned scale and shift. Makes deep networks train faster and more stably.",
                make: || Layer::BatchNorm {
                    momentum: 0.1,
                    epsilon: 1e-5,
                },
            },
            Entry {
                name: "LayerNorm",
                keywords: "layer normalization normalisation norm",
                description: "Rescales each sample's values to mean 0 and spread 1, then applies a \
                    learned scale and shift. Like BatchNorm, but independent of the batch.",
                make: || Layer::LayerNorm { epsilon: 1e-5 },
            },
            Entry {
                name: "Dropout",
                keywords: "regularization regularisation overfitting drop",
                description: "While training, zeroes each value with the given probability and scales \
                    the rest up, so that the network cannot rely on any one unit. Fights overfitting.",
                make: || Layer::Dropout { rate: 0.2 },
            },
        ],
    },
    Group {
        name: "Activation",
        entries: &[
            Entry {
                name: "ReLU",
                keywords: "activation rectifier nonlinearity",
                description: "max(0, x): passes positives, zeroes negatives. The usual default for \
                    hidden layers.",
                make: || activation(Activation::Relu),
            },
            Entry {
                name: "LeakyReLU",
                keywords: "activation rectifier leaky nonlinearity",
                description: "x for positives, a small slope times x for negatives, so that units never \
                    go completely silent.",
                make: || activation(Activation::LeakyRelu { slope: 0.01 }),
            },
            Entry {
                name: "ELU",
                keywords: "activation exponential nonlinearity",
                description: "x for positives, a smooth curve towards -alpha for negatives.",
                make: || activation(Activation::Elu { alpha: 1.0 }),
            },
            Entry {
                name: "Sigmoid",
                keywords: "activation logistic nonlinearity",
                description: "1 / (1 + e^-x): squashes any number into 0..1. Saturates for large inputs, \
                    which slows learning in deep stacks.",
                make: || activation(Activation::Sigmoid),
            },
            Entry {
                name: "Tanh",
                keywords: "activation hyperbolic tangent nonlinearity",
                description: "Squashes any number into -1..1, centred on zero. Common in small networks \
                    such as TensorFlow Playground's.",
                make: || activation(Activation::Tanh),
            },
            Entry {
                name: "GELU",
                keywords: "activation gaussian transformer nonlinearity",
                description: "x times the chance that a standard normal value is below x: a smooth \
                    ReLU, used in transformers.",
                make: || activation(Activation::Gelu),
            },
            Entry {
                name: "Softmax",
                keywords: "activation probabilities normalize",
                description: "Turns scores into probabilities that sum to 1. Not needed before a \
                    softmax cross-entropy loss, which applies it itself.",
                make: || activation(Activation::Softmax),
            },
        ],
    },
    Group {
        name: "Merge",
        entries: &[
            Entry {
                name: "Add",
                keywords: "residual skip connection sum plus merge",
                description: "Adds its inputs element by element; they must have the same shape. Makes \
                    residual (skip) connections.",
                make: || Layer::Add { inputs: 2 },
            },
            Entry {
                name: "Concat",
                keywords: "concatenate join merge stack",
                description: "Joins its inputs along an axis, e.g. two [8] inputs into one [16].",
                make: || Layer::Concat { inputs: 2, axis: 0 },
            },
        ],
    },
    Group {
        name: "Output and loss",
        entries: &[
            Entry {
                name: "Softmax cross-entropy",
                keywords: "loss classification classes categorical crossentropy ce nll objective cost",
                description: "For choosing one class out of several: turns the scores into \
                    probabilities and measures how unlikely the right class was.",
                make: || Layer::loss(LossKind::SoftmaxCrossEntropy),
            },
            Entry {
                name: "Binary cross-entropy",
                keywords: "loss classification binary bce logistic objective cost",
                description: "For yes/no answers: a sigmoid turns each score into a probability, \
                    compared with a 0 or 1 target.",
                make: || Layer::loss(LossKind::BinaryCrossEntropy),
            },
            Entry {
                name: "Mean squared error",
                keywords: "loss regression mse l2 objective cost",
                description: "For predicting numbers: the average squared distance from the target. \
                    Punishes big misses hard.",
                make: || Layer::loss(LossKind::MeanSquaredError),
            },
            Entry {
                name: "Mean absolute error",
                keywords: "loss regression mae l1 objective cost",
                description: "For predicting numbers: the average distance from the target. Less \
                    swayed by outliers than squared error.",
                make: || Layer::loss(LossKind::MeanAbsoluteError),
            },
        ],
    },
    Group {
        name: "Sequences",
        entries: &[
            Entry {
                name: "Embedding",
                keywords: "token word character vocabulary lookup text nlp vector",
                description: "Turns each token id into a learned vector: ids [time] become [time, size]. \
                The first layer of a network that reads text.",
                make: || Layer::Embedding {
                    num_embeddings: 64,
                    embedding_dim: 32,
                    init: Init::Normal { std: 1.0 },
                },
            },
            Entry {
                name: "LSTM",
                keywords: "recurrent rnn long short-term memory gates cell state sequence time",
                description: "Reads a sequence one step at a time, keeping a memory (the cell state) \
                that its input, forget and output gates write, keep and read. Learns long-range \
                patterns a plain RNN forgets.",
                make: || recurrent(RecurrentCell::Lstm),
            },
            Entry {
                name: "GRU",
                keywords: "recurrent rnn gated recurrent unit reset update gates sequence time",
                description: "Like an LSTM with two gates (reset and update) and no separate memory: \
                fewer weights, often as good.",
                make: || recurrent(RecurrentCell::Gru),
            },
            Entry {
                name: "MultiHeadAttention",
                keywords: "attention self-attention transformer heads query key value gpt causal",
                description: "Each step looks at every step (or, causal, every earlier one) and \
                    takes a mix of their values, weighted by how well its query matches their \
                    keys; several heads look for different things. The heart of a transformer.",
                make: || Layer::MultiHeadAttention {
                    heads: 4,
                    causal: true,
                    dropout: 0.0,
                },
            },
            Entry {
                name: "PositionalEmbedding",
                keywords: "position positional encoding order transformer",
                description: "Adds a learned vector per time step, so that attention, which sees \
                    the steps as a set, knows their order.",
                make: || Layer::PositionalEmbedding,
            },
            Entry {
                name: "PositionalEncoding",
                keywords: "position positional encoding sinusoidal sine cosine fixed transformer",
                description: "Adds fixed sines and cosines of each step's position (the original \
                    transformer's encoding): the order, with nothing to learn.",
                make: || Layer::PositionalEncoding,
            },
            Entry {
                name: "PoolOverTime",
                keywords: "pool pooling time sequence mean max last step average summary",
                description: "Sums a whole sequence up as one vector: each feature's mean or \
                    largest value over time, or its last step. Before a Dense that classifies \
                    the sequence.",
                make: || Layer::PoolOverTime {
                    pooling: TimePooling::Mean,
                },
            },
            Entry {
                name: "RNN",
                keywords: "recurrent vanilla elman simple tanh sequence time",
                description: "The simplest recurrent layer: h' = tanh(W·x + U·h + b) at every step. \
                Its gradient fades over long sequences, which is what LSTM and GRU fix.",
                make: || recurrent(RecurrentCell::Rnn),
            },
        ],
    },
];

/// The group and entry describing `layer`'s kind (entries are named as their layers' kinds).
pub fn entry_for(layer: &Layer) -> Option<(usize, &'static Entry)> {
    let kind = layer.kind_label();
    GROUPS.iter().enumerate().find_map(|(g, group)| {
        group
            .entries
            .iter()
            .find(|e| e.name == kind)
            .map(|entry| (g, entry))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entries a search finds, by name.
    fn found(query: &str) -> Vec<&'static str> {
        GROUPS
            .iter()
            .flat_map(|g| g.entries.iter().map(move |e| (g, e)))
            .filter(|(g, e)| matches(g, e, query))
            .map(|(_, e)| e.name)
            .collect()
    }

    #[test]
    fn search_finds_layers_by_the_words_people_use() {
        assert_eq!(found("fully connected"), ["Dense"]);
        assert!(found("Convolution").contains(&"Conv2d"));
        let losses = found("loss");
        for loss in [
            "Softmax cross-entropy",
            "Binary cross-entropy",
            "Mean squared error",
            "Mean absolute error",
        ] {
            assert!(losses.contains(&loss), "{losses:?}");
        }
        // A group's name finds its members.
        assert!(found("merge").contains(&"Concat"));
        assert!(found("regularisation").contains(&"Dropout"));
        assert!(found("no such layer").is_empty());
    }

    #[test]
    fn every_entry_is_named_as_its_layer_and_every_kind_is_offered() {
        for entry in GROUPS.iter().flat_map(|g| g.entries) {
            assert_eq!(entry.name, (entry.make)().kind_label());
            assert!(entry.description.len() > 30, "{}", entry.name);
        }
        let kinds = [
            "Input",
            "Dense",
            "Conv2d",
            "MaxPool2d",
            "AvgPool2d",
            "GlobalAvgPool",
            "Flatten",
            "Reshape",
            "Dropout",
            "BatchNorm",
            "LayerNorm",
            "Add",
            "Concat",
        ];
        for kind in kinds {
            assert!(
                GROUPS
                    .iter()
                    .flat_map(|g| g.entries)
                    .any(|e| e.name == kind),
                "{kind}"
            );
        }
    }
}
