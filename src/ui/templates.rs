//! The example projects, built in so that each is one click away, and an empty canvas.

use crate::data::DatasetSpec;
use crate::graph::{Graph, Layer, Project};

pub struct Template {
    pub name: &'static str,
    json: &'static str,
}

macro_rules! example {
    ($name:literal, $file:literal) => {
        Template {
            name: $name,
            json: include_str!(concat!("../../assets/examples/", $file)),
        }
    };
}

pub const TEMPLATES: &[Template] = &[
    example!("Spiral (2D classification)", "spiral.json"),
    example!("XOR", "xor.json"),
    example!("2D regression", "regression.json"),
    example!("Digits MLP", "digits_mlp.json"),
    example!("Residual MLP", "residual_mlp.json"),
    example!("BatchNorm and Dropout", "batchnorm_dropout.json"),
    example!("MNIST CNN", "mnist_cnn.json"),
    example!("Shakespeare LSTM (text)", "char_lstm.json"),
    example!("Shakespeare GRU (text)", "char_gru.json"),
    example!("Shakespeare RNN (text)", "char_rnn.json"),
    example!("Tiny GPT (text)", "tiny_gpt.json"),
    example!("Sine forecast (series)", "sine_forecast.json"),
    example!("Transformer sorts digits", "sort_transformer.json"),
    example!("Autoencoder (MNIST, 2-D code)", "autoencoder.json"),
    example!("Convolutional autoencoder (MNIST)", "conv_autoencoder.json"),
];

impl Template {
    /// The example, laid out to be read once fitted to a window (the files keep one row).
    pub fn project(&self) -> Project {
        let mut project =
            Project::from_json(self.json).expect("the built-in examples parse (tests/examples.rs)");
        super::editor::lay_out(&mut project.graph);
        project
    }
}

/// A canvas with nothing on it but the dataset's input.
pub fn empty() -> Project {
    let mut graph = Graph::default();
    graph.add_node(Layer::input(vec![2]), [40.0, 40.0]);
    let mut project = Project::new("Untitled", graph, DatasetSpec::default());
    // Long enough for the palette's layers to learn any toy set, the spiral too (ten epochs,
    // the file format's default, leave it at a coin toss).
    project.training.epochs = 100;
    project
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        for t in super::TEMPLATES {
            assert!(!t.project().graph.nodes.is_empty(), "{}", t.name);
        }
    }
}
