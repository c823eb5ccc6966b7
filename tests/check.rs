//! `check`: every problem a student can make is found, tied to its node or wire, and explained
//! with the shapes involved and a fix where there is one.

use netloom::compile::{DataInfo, FixAction, Location, Model, Severity, check};
use netloom::data::Task;
use netloom::graph::{Activation, Graph, Layer, LossKind, NodeId};

fn dense(units: usize) -> Layer {
    Layer::Dense {
        units,
        bias: true,
        activation: Activation::Relu,
        init: Default::default(),
    }
}

fn loss() -> Layer {
    Layer::Loss {
        kind: LossKind::SoftmaxCrossEntropy,
    }
}

fn errors_at(model: &Model, location: Location) -> Vec<String> {
    model
        .problems_at(location)
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.message.clone())
        .collect()
}

fn id(graph: &Graph, name: &str) -> NodeId {
    graph.nodes.iter().find(|n| n.name == name).unwrap().id
}

#[test]
fn a_clean_chain_has_shapes_counts_and_no_problems() {
    let graph = Graph::chain([
        Layer::Input {
            shape: vec![1, 28, 28],
        },
        Layer::Flatten,
        dense(32),
        dense(10),
        loss(),
    ]);
    let model = check(&graph, None);
    assert!(model.problems.is_empty(), "{:?}", model.problems);
    assert_eq!(model.nodes[1].output, Some(vec![784]));
    assert_eq!(model.nodes[2].params, 784 * 32 + 32);
    assert_eq!(model.total_params, 784 * 32 + 32 + 32 * 10 + 10);
    assert!(model.total_flops > 2 * 784 * 32);
    assert_eq!(model.order, [0, 1, 2, 3, 4]);
}

#[test]
fn dense_on_an_image_asks_for_a_flatten() {
    let graph = Graph::chain([
        Layer::Input {
            shape: vec![16, 14, 14],
        },
        dense(10),
        loss(),
    ]);
    let model = check(&graph, None);
    let problem = model
        .problems_at(Location::Node(id(&graph, "dense")))
        .next()
        .unwrap();
    assert_eq!(
        problem.message,
        "Dense expects a flat input; got [16, 14, 14]. Add a Flatten before it."
    );
    assert!(matches!(
        problem.fix.as_ref().unwrap().action,
        FixAction::InsertBefore {
            layer: Layer::Flatten,
            ..
        }
    ));
    assert!(!model.is_trainable());
}

#[test]
fn conv_on_a_flat_square_offers_a_reshape() {
    let graph = Graph::chain([
        Layer::Input { shape: vec![784] },
        Layer::Conv2d {
            filters: 4,
            kernel: 3,
            stride: 1,
            padding: 0,
            bias: true,
            activation: Activation::Relu,
            init: Default::default(),
        },
    ]);
    let model = check(&graph, None);
    let problem = model
        .problems_at(Location::Node(id(&graph, "conv2d")))
        .next()
        .unwrap();
    assert!(problem.message.contains("got [784]"), "{}", problem.message);
    assert!(
        matches!(&problem.fix.as_ref().unwrap().action, FixAction::InsertBefore { layer: Layer::Reshape { shape }, .. } if *shape == [1, 28, 28])
    );
}

#[test]
fn add_with_different_shapes_names_both() {
    let mut g = Graph::default();
    let input = g.add_node(Layer::Input { shape: vec![4] }, [0.0, 0.0]);
    let a = g.add_node(dense(16), [0.0, 0.0]);
    let b = g.add_node(dense(32), [0.0, 0.0]);
    let sum = g.add_node(Layer::Add { inputs: 2 }, [0.0, 0.0]);
    let l = g.add_node(loss(), [0.0, 0.0]);
    for (x, y, port) in [
        (input, a, 0),
        (input, b, 0),
        (a, sum, 0),
        (b, sum, 1),
        (sum, l, 0),
    ] {
        g.connect(x, y, port);
    }
    let model = check(&g, None);
    assert_eq!(
        errors_at(&model, Location::Node(sum)),
        [
            "Add needs inputs of the same shape; got [16] and [32]. Make the branches end in the same shape."
        ]
    );
}

#[test]
fn cycles_are_found_on_every_node_of_the_loop() {
    let mut g = Graph::chain([
        Layer::Input { shape: vec![4] },
        dense(4),
        Layer::Add { inputs: 2 },
        dense(4),
        dense(2),
        loss(),
    ]);
    let (add, back) = (id(&g, "add"), id(&g, "dense2"));
    g.connect(back, add, 1);
    let model = check(&g, None);
    for node in [add, back] {
        assert!(
            errors_at(&model, Location::Node(node))
                .iter()
                .any(|m| m.contains("part of a loop")),
            "{node}"
        );
    }
    assert!(!model.order.contains(&g.node_index(add).unwrap()));
}

#[test]
fn unconnected_inputs_and_occupied_ports_are_reported() {
    let mut g = Graph::chain([Layer::Input { shape: vec![4] }, dense(4), loss()]);
    let lonely = g.add_node(dense(3), [0.0, 0.0]);
    let model = check(&g, None);
    assert_eq!(
        errors_at(&model, Location::Node(lonely)),
        ["dense2 has nothing connected to its input. Connect a layer's output to it."]
    );

    let input = id(&g, "input");
    let dense = id(&g, "dense");
    g.connect(input, dense, 0);
    let model = check(&g, None);
    let edge = g.edges.len() - 1;
    let problem = model.problems_at(Location::Edge(edge)).next().unwrap();
    assert!(
        problem.message.contains("already has a wire"),
        "{}",
        problem.message
    );
    assert_eq!(
        problem.fix.as_ref().unwrap().action,
        FixAction::RemoveEdge(edge)
    );
}

#[test]
fn losses_must_be_exactly_one() {
    let g = Graph::chain([Layer::Input { shape: vec![4] }, dense(2)]);
    let model = check(&g, None);
    assert!(
        errors_at(&model, Location::Graph)
            .iter()
            .any(|m| m.starts_with("There is no loss layer"))
    );

    let mut g = Graph::chain([Layer::Input { shape: vec![4] }, dense(2), loss()]);
    let second = g.add_node(loss(), [0.0, 0.0]);
    g.connect(id(&g, "dense"), second, 0);
    let model = check(&g, None);
    assert!(
        errors_at(&model, Location::Node(second))
            .iter()
            .any(|m| m.contains("second one"))
    );
}

#[test]
fn the_dataset_must_fit_the_ends_of_the_network() {
    let g = Graph::chain([Layer::Input { shape: vec![3] }, dense(4), loss()]);
    let data = DataInfo {
        feature_shape: vec![2],
        task: Task::Classification { classes: 3 },
    };
    let model = check(&g, Some(&data));
    let input = errors_at(&model, Location::Node(id(&g, "input")));
    assert_eq!(
        input,
        ["The dataset's samples are [2] but input expects [3]."]
    );
    let at_loss = errors_at(&model, Location::Node(id(&g, "loss")));
    assert_eq!(
        at_loss,
        [
            "The dataset has 3 classes but the layer before the loss gives 4 scores. Give it one unit per class (3)."
        ]
    );
}

#[test]
fn softmax_before_cross_entropy_and_dead_ends_are_warnings() {
    let mut g = Graph::chain([
        Layer::Input { shape: vec![4] },
        Layer::Dense {
            units: 2,
            bias: true,
            activation: Activation::Softmax,
            init: Default::default(),
        },
        loss(),
    ]);
    let dangling = g.add_node(dense(3), [0.0, 0.0]);
    g.connect(id(&g, "input"), dangling, 0);
    let model = check(&g, None);
    assert!(model.is_trainable());
    let warnings: Vec<_> = model
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Warning)
        .map(|p| p.message.as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|m| m.contains("applies the softmax itself")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|m| m.contains("does not lead to the loss")),
        "{warnings:?}"
    );
}

#[test]
fn bad_names_and_settings_are_explained() {
    let mut g = Graph::chain([
        Layer::Input { shape: vec![4] },
        Layer::Dropout { rate: 1.5 },
        dense(2),
        loss(),
    ]);
    g.nodes[2].name = "2nd layer".into();
    let model = check(&g, None);
    assert!(
        errors_at(&model, Location::Node(g.nodes[1].id))
            .iter()
            .any(|m| m.contains("below 1"))
    );
    assert!(
        errors_at(&model, Location::Node(g.nodes[2].id))
            .iter()
            .any(|m| m.contains("letters, digits and underscores"))
    );
}
