//! The document the user edits: layers placed as nodes, wired by edges from an output port to an
//! input port, inside a project that also names the dataset and the training settings.
//! Plain data (serde, cheap to clone); no math and no knowledge of backends.

mod blocks;
mod layer;
mod load;
mod project;

pub use blocks::TransformerBlock;
pub use layer::{
    Activation, Init, Layer, LossKind, LossTarget, RecurrentCell, Returns, TimePooling, ValueKind,
};
pub use project::{
    BackendChoice, EarlyStopping, FORMAT_VERSION, LoadError, Optimizer, Project, Schedule,
    TrainingSettings, ViewState,
};

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A node's identity; stable across edits (positions in `Graph::nodes` are not).
pub type NodeId = u32;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: NodeId,
    /// Display name; also the prefix of the node's weights (`<name>.weight`), so it must be unique.
    pub name: String,
    pub layer: Layer,
    /// Canvas position of the node's top-left corner, in canvas units.
    #[serde(default)]
    pub position: [f32; 2],
    /// The block the node was placed with (say "Transformer block 1"), framed on the canvas
    /// with the other nodes of that name; none for a node of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// One end of an edge: a node and one of its ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortRef {
    pub node: NodeId,
    #[serde(default)]
    pub port: usize,
}

/// A wire from an output port to an input port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    pub from: PortRef,
    pub to: PortRef,
}

/// Read through [`GraphFile`], so that a file whose ids do not identify its nodes is refused
/// when it is read, before anything indexes nodes by id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GraphFile")]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// What is known of the groups that nodes name beyond their members: a group named by a
    /// node and missing here has the defaults. Entries no node names are kept and ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
}

/// A group of nodes (a transformer block, an encoder), as the canvas draws it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    /// Drawn as one box with the group's name, its members hidden, until opened again.
    #[serde(default)]
    pub collapsed: bool,
}

/// A graph as written in a file, before its ids are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GraphFile {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    #[serde(default)]
    groups: Vec<Group>,
}

impl TryFrom<GraphFile> for Graph {
    type Error = GraphError;

    fn try_from(file: GraphFile) -> Result<Graph, GraphError> {
        let graph = Graph {
            nodes: file.nodes,
            edges: file.edges,
            groups: file.groups,
        };
        graph.check_ids()?;
        Ok(graph)
    }
}

/// A graph whose ids do not say which node is which. Positions are indices into `nodes` and
/// `edges`, as in the file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GraphError {
    #[error(
        "nodes[{first}] ({first_name}) and nodes[{second}] ({second_name}) both have id {id}; each node needs its own id, since wires name nodes by id"
    )]
    DuplicateId {
        id: NodeId,
        first: usize,
        first_name: String,
        second: usize,
        second_name: String,
    },
    #[error("edges[{edge}] {} node {node}, which does not exist", if *to { "goes to" } else { "comes from" })]
    MissingNode {
        edge: usize,
        node: NodeId,
        /// The wire's end that is missing: its target (`to`) or its source.
        to: bool,
    },
}

impl Graph {
    /// Every node has its own id and every wire ends at nodes that exist; the first problem
    /// otherwise.
    pub fn check_ids(&self) -> Result<(), GraphError> {
        let mut index_of: HashMap<NodeId, usize> = HashMap::with_capacity(self.nodes.len());
        for (second, node) in self.nodes.iter().enumerate() {
            if let Some(&first) = index_of.get(&node.id) {
                return Err(GraphError::DuplicateId {
                    id: node.id,
                    first,
                    first_name: self.nodes[first].name.clone(),
                    second,
                    second_name: node.name.clone(),
                });
            }
            index_of.insert(node.id, second);
        }
        for (edge, e) in self.edges.iter().enumerate() {
            for (node, to) in [(e.from.node, false), (e.to.node, true)] {
                if !index_of.contains_key(&node) {
                    return Err(GraphError::MissingNode { edge, node, to });
                }
            }
        }
        Ok(())
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn node_index(&self, id: NodeId) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// Adds a node with a fresh id and a name made unique from `base_name`; returns its id.
    pub fn add_node(&mut self, layer: Layer, position: [f32; 2]) -> NodeId {
        let id = self.nodes.iter().map(|n| n.id + 1).max().unwrap_or(0);
        let name = self.unique_name(&default_name(&layer));
        self.nodes.push(Node {
            id,
            name,
            layer,
            position,
            group: None,
        });
        id
    }

    /// Connects output port 0 of `from` to input `port` of `to`.
    pub fn connect(&mut self, from: NodeId, to: NodeId, port: usize) {
        self.edges.push(Edge {
            from: PortRef {
                node: from,
                port: 0,
            },
            to: PortRef { node: to, port },
        });
    }

    /// Whether a loss compares predictions with the dataset's targets, rather than only with
    /// tensors of the network (an autoencoder's): what accuracy and the class views measure.
    pub fn learns_dataset_targets(&self) -> bool {
        self.nodes.iter().any(|n| {
            matches!(
                n.layer,
                Layer::Loss {
                    target: LossTarget::Dataset,
                    ..
                }
            )
        })
    }

    /// `base` if no node has that name, else `base2`, `base3`, ...
    pub fn unique_name(&self, base: &str) -> String {
        let taken = |name: &str| self.nodes.iter().any(|n| n.name == name);
        if !taken(base) {
            return base.to_string();
        }
        (2..)
            .map(|i| format!("{base}{i}"))
            .find(|name| !taken(name))
            .unwrap_or_else(|| base.to_string())
    }

    /// A graph of layers wired one after another, laid out left to right; used by examples and tests.
    pub fn chain(layers: impl IntoIterator<Item = Layer>) -> Graph {
        let mut graph = Graph::default();
        let mut previous = None;
        for (i, layer) in layers.into_iter().enumerate() {
            let id = graph.add_node(layer, [i as f32 * 180.0, 0.0]);
            if let Some(prev) = previous {
                graph.connect(prev, id, 0);
            }
            previous = Some(id);
        }
        graph
    }
}

impl Graph {
    /// A big well-formed graph for benchmarks: an input of 64 values, `blocks` residual blocks
    /// (two dense layers joined to the block's input by Add), an activation, an output layer
    /// and a loss; 3 × `blocks` + 5 nodes.
    pub fn residual_tower(blocks: usize) -> Graph {
        let dense = |units, activation| Layer::Dense {
            units,
            bias: true,
            activation,
            init: Init::default(),
        };
        let mut g = Graph::default();
        let mut last = g.add_node(Layer::input(vec![64]), [0.0, 0.0]);
        for _ in 0..blocks {
            let a = g.add_node(dense(64, Activation::Relu), [0.0, 0.0]);
            let b = g.add_node(dense(64, Activation::Identity), [0.0, 0.0]);
            let sum = g.add_node(Layer::Add { inputs: 2 }, [0.0, 0.0]);
            g.connect(last, a, 0);
            g.connect(a, b, 0);
            g.connect(b, sum, 0);
            g.connect(last, sum, 1);
            last = sum;
        }
        let relu = g.add_node(
            Layer::Activation {
                function: Activation::Relu,
            },
            [0.0, 0.0],
        );
        g.connect(last, relu, 0);
        let out = g.add_node(dense(10, Activation::Identity), [0.0, 0.0]);
        g.connect(relu, out, 0);
        let loss = g.add_node(Layer::loss(LossKind::SoftmaxCrossEntropy), [0.0, 0.0]);
        g.connect(out, loss, 0);
        g
    }
}

/// A name usable as a Python identifier, so exported code and weight names line up.
fn default_name(layer: &Layer) -> String {
    match layer {
        Layer::Activation { function } => function.label().to_lowercase(),
        Layer::Loss { .. } => "loss".to_string(),
        Layer::MultiHeadAttention { .. } => "attention".to_string(),
        Layer::PositionalEmbedding | Layer::PositionalEncoding => "positions".to_string(),
        Layer::PoolOverTime { .. } => "pooled".to_string(),
        Layer::Recurrent { cell, .. } => match cell {
            RecurrentCell::Rnn | RecurrentCell::RnnRelu => "rnn".to_string(),
            RecurrentCell::Lstm => "lstm".to_string(),
            RecurrentCell::Gru => "gru".to_string(),
        },
        other => other.kind_label().to_lowercase(),
    }
}
