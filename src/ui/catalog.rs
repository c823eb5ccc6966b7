//! What the palette offers: every layer kind, grouped, with a fresh layer's settings and a
//! description a student can follow (what it does, the formula in words, when to use it).

use crate::graph::{Activation, Init, Layer, LossKind};

pub struct Entry {
    pub name: &'static str,
    pub description: &'static str,
    pub make: fn() -> Layer,
}

pub struct Group {
    pub name: &'static str,
    pub entries: &'static [Entry],
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
                description: "Where samples enter the network. Its shape comes from the dataset.",
                make: || Layer::Input { shape: vec![2] },
            },
            Entry {
                name: "Dense",
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
                description: "Lays a sample's values out in one row, e.g. an image [1, 28, 28] becomes \
                    [784]. Put it between convolutions and Dense layers.",
                make: || Layer::Flatten,
            },
            Entry {
                name: "Reshape",
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
                name: "MaxPool2d",
                description: "Keeps the largest value in each small window, halving the image with a \
                    2x2 window: fewer values, and features that tolerate small shifts.",
                make: || Layer::MaxPool2d {
                    kernel: 2,
                    stride: None,
                },
            },
            Entry {
                name: "AvgPool2d",
                description: "Averages each small window, shrinking the image more gently than max \
                    pooling.",
                make: || Layer::AvgPool2d {
                    kernel: 2,
                    stride: None,
                },
            },
            Entry {
                name: "GlobalAvgPool",
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
                description: "Rescales each channel to mean 0 and spread 1 over the batch, then applies \
                    a learned scale and shift. Makes deep networks train faster and more stably.",
                make: || Layer::BatchNorm {
                    momentum: 0.1,
                    epsilon: 1e-5,
                },
            },
            Entry {
                name: "LayerNorm",
                description: "Rescales each sample's values to mean 0 and spread 1, then applies a \
                    learned scale and shift. Like BatchNorm, but independent of the batch.",
                make: || Layer::LayerNorm { epsilon: 1e-5 },
            },
            Entry {
                name: "Dropout",
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
                description: "max(0, x): passes positives, zeroes negatives. The usual default for \
                    hidden layers.",
                make: || activation(Activation::Relu),
            },
            Entry {
                name: "LeakyReLU",
                description: "x for positives, a small slope times x for negatives, so that units never \
                    go completely silent.",
                make: || activation(Activation::LeakyRelu { slope: 0.01 }),
            },
            Entry {
                name: "ELU",
                description: "x for positives, a smooth curve towards -alpha for negatives.",
                make: || activation(Activation::Elu { alpha: 1.0 }),
            },
            Entry {
                name: "Sigmoid",
                description: "1 / (1 + e^-x): squashes any number into 0..1. Saturates for large inputs, \
                    which slows learning in deep stacks.",
                make: || activation(Activation::Sigmoid),
            },
            Entry {
                name: "Tanh",
                description: "Squashes any number into -1..1, centred on zero. Common in small networks \
                    such as TensorFlow Playground's.",
                make: || activation(Activation::Tanh),
            },
            Entry {
                name: "GELU",
                description: "x times the chance that a standard normal value is below x: a smooth \
                    ReLU, used in transformers.",
                make: || activation(Activation::Gelu),
            },
            Entry {
                name: "Softmax",
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
                description: "Adds its inputs element by element; they must have the same shape. Makes \
                    residual (skip) connections.",
                make: || Layer::Add { inputs: 2 },
            },
            Entry {
                name: "Concat",
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
                description: "For choosing one class out of several: turns the scores into \
                    probabilities and measures how unlikely the right class was.",
                make: || Layer::Loss {
                    kind: LossKind::SoftmaxCrossEntropy,
                },
            },
            Entry {
                name: "Binary cross-entropy",
                description: "For yes/no answers: a sigmoid turns each score into a probability, \
                    compared with a 0 or 1 target.",
                make: || Layer::Loss {
                    kind: LossKind::BinaryCrossEntropy,
                },
            },
            Entry {
                name: "Mean squared error",
                description: "For predicting numbers: the average squared distance from the target. \
                    Punishes big misses hard.",
                make: || Layer::Loss {
                    kind: LossKind::MeanSquaredError,
                },
            },
            Entry {
                name: "Mean absolute error",
                description: "For predicting numbers: the average distance from the target. Less \
                    swayed by outliers than squared error.",
                make: || Layer::Loss {
                    kind: LossKind::MeanAbsoluteError,
                },
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
