//! `check`: every problem a student can make is found, tied to its node or wire, and explained
//! with the shapes involved and a fix where there is one.

use netloom::compile::{DataInfo, FixAction, Location, Model, Severity, check, check_project};
use netloom::data::{DatasetSpec, Task};
use netloom::graph::{Activation, Graph, Layer, LossKind, LossTarget, NodeId, Project, ValueKind};

fn dense(units: usize) -> Layer {
    Layer::Dense {
        units,
        bias: true,
        activation: Activation::Relu,
        init: Default::default(),
    }
}

/// A layer of scores, linear as a cross-entropy wants them.
fn scores(units: usize) -> Layer {
    Layer::Dense {
        units,
        bias: true,
        activation: Activation::Identity,
        init: Default::default(),
    }
}

fn loss() -> Layer {
    Layer::loss(LossKind::SoftmaxCrossEntropy)
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
        Layer::input(vec![1, 28, 28]),
        Layer::Flatten,
        dense(32),
        scores(10),
        loss(),
    ]);
    let model = check(&graph, None);
    assert!(model.problems.is_empty(), "{:?}", model.problems);
    assert_eq!(model.nodes[1].output.as_deref(), Some(&[784][..]));
    assert_eq!(model.nodes[2].params, 784 * 32 + 32);
    assert_eq!(model.total_params, 784 * 32 + 32 + 32 * 10 + 10);
    assert!(model.total_flops > 2 * 784 * 32);
    assert_eq!(model.order, [0, 1, 2, 3, 4]);
}

#[test]
fn dense_on_an_image_asks_for_a_flatten() {
    let graph = Graph::chain([Layer::input(vec![16, 14, 14]), dense(10), loss()]);
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
        Layer::input(vec![784]),
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
    let input = g.add_node(Layer::input(vec![4]), [0.0, 0.0]);
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
        Layer::input(vec![4]),
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
    let mut g = Graph::chain([Layer::input(vec![4]), dense(4), loss()]);
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
    let g = Graph::chain([Layer::input(vec![4]), dense(2)]);
    let model = check(&g, None);
    assert!(
        errors_at(&model, Location::Graph)
            .iter()
            .any(|m| m.starts_with("There is no loss layer"))
    );

    let mut g = Graph::chain([Layer::input(vec![4]), dense(2), loss()]);
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
    let g = Graph::chain([Layer::input(vec![3]), dense(4), loss()]);
    let data = DataInfo {
        feature_shape: vec![2],
        values: netloom::graph::ValueKind::Features,
        task: Task::Classification { classes: 3 },
        positions: 1,
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
        Layer::input(vec![4]),
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
        Layer::input(vec![4]),
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

fn errors(model: &Model) -> Vec<String> {
    model.errors().map(|p| p.message.clone()).collect()
}

fn project(graph: Graph) -> Project {
    Project::new("test", graph, DatasetSpec::default())
}

#[test]
fn sizes_past_counting_are_problems_in_words_not_panics() {
    let huge = 1usize << 63;
    let cases: Vec<(Layer, Layer)> = vec![
        (Layer::input(vec![4]), dense(huge)),
        (Layer::input(vec![1 << 40, 1 << 40]), Layer::Flatten),
        (
            Layer::input(vec![3, 8, 8]),
            Layer::Conv2d {
                filters: 4,
                kernel: 3,
                stride: 1,
                padding: usize::MAX / 2,
                bias: true,
                activation: Activation::Relu,
                init: Default::default(),
            },
        ),
        (
            Layer::input(vec![3, 8, 8]),
            Layer::Conv2d {
                filters: huge,
                kernel: 3,
                stride: 1,
                padding: 1,
                bias: true,
                activation: Activation::Relu,
                init: Default::default(),
            },
        ),
    ];
    for (input, layer) in cases {
        let g = Graph::chain([input, layer, Layer::Flatten, dense(2), loss()]);
        let model = check(&g, None);
        let all = errors(&model);
        assert!(
            all.iter().any(|m| m.contains("too large to count")),
            "{:?}: {all:?}",
            g.nodes[1].layer
        );
    }
}

#[test]
fn a_merge_of_countless_inputs_is_refused_before_anything_is_made_for_them() {
    let mut g = Graph::chain([Layer::input(vec![4]), dense(4), loss()]);
    g.nodes[1].layer = Layer::Add {
        inputs: 1_000_000_000_000,
    };
    let model = check(&g, None);
    assert!(
        errors_at(&model, Location::Node(g.nodes[1].id))
            .iter()
            .any(|m| m.contains("at most 64")),
        "{:?}",
        errors(&model)
    );
}

#[test]
fn a_network_too_big_for_the_machine_names_the_layer_and_the_figures() {
    if netloom::compile::machine_memory_bytes().is_none() {
        return; // nothing to compare with where the machine's memory cannot be read
    }
    let g = Graph::chain([
        Layer::input(vec![1000]),
        dense(1_000_000_000_000),
        dense(2),
        loss(),
    ]);
    let model = check_project(&project(g.clone()), None, None);
    let at_dense = errors_at(&model, Location::Node(g.nodes[1].id));
    assert!(
        at_dense.iter().any(|m| m.contains("of weights")
            && m.contains("Adam")
            && m.contains("this machine has")),
        "{at_dense:?}"
    );

    // An ordinary network with an enormous batch: the outputs are what does not fit.
    let small = Graph::chain([Layer::input(vec![2]), dense(64), dense(2), loss()]);
    let mut p = project(small.clone());
    p.training.batch_size = 100_000_000_000;
    let all = errors(&check_project(&p, None, None));
    assert!(
        all.iter()
            .any(|m| m.contains("for a batch of 100000000000") && m.contains("TB")),
        "{all:?}"
    );
    p.training.batch_size = 32;
    assert!(check_project(&p, None, None).is_trainable());
}

#[test]
fn training_settings_are_problems_in_words() {
    let g = Graph::chain([Layer::input(vec![2]), dense(8), dense(2), loss()]);
    type Edit = fn(&mut Project);
    let cases: Vec<(Edit, &str)> = vec![
        (|p| p.training.learning_rate = 0.0, "learning rate"),
        (|p| p.training.learning_rate = f32::NAN, "learning rate"),
        (|p| p.training.learning_rate = -0.1, "learning rate"),
        (|p| p.training.clip_norm = Some(-1.0), "clipping"),
        (|p| p.training.batch_size = 0, "batch size"),
        (|p| p.training.epochs = 0, "0 epochs"),
        (|p| p.training.weight_decay = -1.0, "weight decay"),
        (|p| p.training.l1 = f32::INFINITY, "L1"),
        (
            |p| {
                p.split.validation = 0.6;
                p.split.test = 0.5;
            },
            "No samples are left to train on",
        ),
        (
            |p| {
                p.split.validation = 0.0;
                p.training.early_stopping = Some(netloom::graph::EarlyStopping {
                    patience: 3,
                    min_delta: 0.0,
                    restore_best: false,
                });
            },
            "Early stopping",
        ),
    ];
    assert!(check_project(&project(g.clone()), None, Some(100)).is_trainable());
    for (edit, words) in cases {
        let mut p = project(g.clone());
        edit(&mut p);
        let model = check_project(&p, None, Some(100));
        let at_settings = errors_at(&model, Location::Training);
        assert!(
            at_settings.iter().any(|m| m.contains(words)),
            "{words}: {at_settings:?}"
        );
    }
}

#[test]
fn batch_norm_refuses_a_training_batch_of_one_flat_sample() {
    let g = Graph::chain([
        Layer::input(vec![2]),
        dense(8),
        Layer::BatchNorm {
            momentum: 0.1,
            epsilon: 1e-5,
        },
        dense(2),
        loss(),
    ]);
    let bn = g.nodes[2].id;
    let mut p = project(g);
    p.split.validation = 0.0;
    p.split.test = 0.0;
    p.training.batch_size = 1;
    let single = errors_at(&check_project(&p, None, Some(100)), Location::Node(bn));
    assert!(
        single.iter().any(|m| m.contains("a batch of 1 sample")),
        "{single:?}"
    );
    // 101 samples in batches of 10 leave one for the last batch.
    p.training.batch_size = 10;
    let last = errors_at(&check_project(&p, None, Some(101)), Location::Node(bn));
    assert!(
        last.iter().any(|m| m.contains("the last batch")),
        "{last:?}"
    );
    assert!(check_project(&p, None, Some(100)).is_trainable());

    // Over an image, one sample still gives each channel many values, as PyTorch allows.
    let image = Graph::chain([
        Layer::input(vec![1, 4, 4]),
        Layer::BatchNorm {
            momentum: 0.1,
            epsilon: 1e-5,
        },
        Layer::Flatten,
        dense(2),
        loss(),
    ]);
    let mut p = project(image);
    p.training.batch_size = 1;
    assert!(check_project(&p, None, Some(100)).is_trainable());
}

#[test]
fn an_activation_on_the_scores_a_cross_entropy_takes_is_a_warning_with_a_fix() {
    for (activation, words) in [
        (Activation::Relu, "takes raw scores"),
        (Activation::Softmax, "applies the softmax itself"),
    ] {
        let g = Graph::chain([
            Layer::input(vec![2]),
            dense(8),
            Layer::Dense {
                units: 2,
                bias: true,
                activation,
                init: Default::default(),
            },
            loss(),
        ]);
        let model = check(&g, None);
        let scores = g.nodes[2].id;
        let warning = model
            .problems_at(Location::Node(scores))
            .find(|p| p.severity == Severity::Warning && p.message.contains(words))
            .unwrap_or_else(|| panic!("{words}: {:?}", model.problems));
        let Some(FixAction::SetLayer { layer, .. }) = warning.fix.as_ref().map(|f| &f.action)
        else {
            panic!("no fix: {warning:?}");
        };
        assert!(matches!(
            layer,
            Layer::Dense {
                activation: Activation::Identity,
                ..
            }
        ));
    }
}

fn tokens(length: usize, vocabulary: usize) -> Layer {
    Layer::Input {
        shape: vec![length],
        values: ValueKind::Tokens { vocabulary },
    }
}

fn embedding(rows: usize, dim: usize) -> Layer {
    Layer::Embedding {
        num_embeddings: rows,
        embedding_dim: dim,
        init: netloom::graph::Init::Normal { std: 1.0 },
    }
}

#[test]
fn sequences_carry_their_time_axis_to_the_loss_and_on_the_wires() {
    let g = Graph::chain([
        tokens(64, 73),
        embedding(73, 32),
        dense(128),
        scores(73),
        loss(),
    ]);
    let data = DataInfo {
        feature_shape: vec![64],
        values: ValueKind::Tokens { vocabulary: 73 },
        task: Task::Classification { classes: 73 },
        positions: 64,
    };
    let model = check(&g, Some(&data));
    assert!(model.is_trainable(), "{:?}", model.problems);
    let shape = |i: usize| model.nodes[i].output.as_ref().unwrap().to_string();
    assert_eq!(shape(0), "[time 64] ids");
    assert_eq!(shape(1), "[time 64, 32]");
    assert_eq!(shape(3), "[time 64, 73]");
    // The same Dense at every step: its weights once, its work 64 times.
    assert_eq!(model.nodes[2].params, 32 * 128 + 128);
    assert!(model.nodes[2].flops >= 64 * 2 * 32 * 128);
}

#[test]
fn token_ids_into_a_dense_layer_are_offered_an_embedding() {
    let g = Graph::chain([tokens(16, 50), dense(8), scores(50), loss()]);
    let model = check(&g, None);
    let problem = model
        .problems_at(Location::Node(id(&g, "dense")))
        .next()
        .expect("a problem on the Dense");
    assert!(
        problem.message.contains("got token ids [time 16] ids")
            && problem.message.contains("Add an Embedding before it"),
        "{}",
        problem.message
    );
    let Some(FixAction::InsertBefore { layer, .. }) = problem.fix.as_ref().map(|f| &f.action)
    else {
        panic!("no fix: {problem:?}");
    };
    assert_eq!(*layer, embedding(50, 32));
}

#[test]
fn sequence_problems_say_what_was_expected_in_words() {
    let sequence = Layer::Input {
        shape: vec![20, 3],
        values: ValueKind::Sequence,
    };
    let conv = Layer::Conv2d {
        filters: 4,
        kernel: 3,
        stride: 1,
        padding: 0,
        bias: true,
        activation: Activation::Relu,
        init: Default::default(),
    };
    let g = Graph::chain([sequence, conv, loss()]);
    let errors = errors_at(&check(&g, None), Location::Node(id(&g, "conv2d")));
    assert_eq!(
        errors,
        ["Conv2d works on images [channels, height, width]; it got a sequence [time 20, 3]."]
    );

    let g = Graph::chain([tokens(8, 100), embedding(60, 4), scores(100), loss()]);
    let errors = errors_at(&check(&g, None), Location::Node(id(&g, "embedding")));
    assert!(
        errors[0].contains("go up to 99") && errors[0].contains("Give it 100"),
        "{errors:?}"
    );

    let g = Graph::chain([Layer::input(vec![8]), embedding(60, 4), loss()]);
    let errors = errors_at(&check(&g, None), Location::Node(id(&g, "embedding")));
    assert!(
        errors[0].contains("Embedding looks up token ids"),
        "{errors:?}"
    );
}

#[test]
fn a_class_per_time_step_cannot_be_flattened_away() {
    let g = Graph::chain([
        tokens(10, 5),
        embedding(5, 4),
        Layer::Flatten,
        scores(5),
        loss(),
    ]);
    let data = DataInfo {
        feature_shape: vec![10],
        values: ValueKind::Tokens { vocabulary: 5 },
        task: Task::Classification { classes: 5 },
        positions: 10,
    };
    let errors = errors_at(&check(&g, Some(&data)), Location::Node(id(&g, "loss")));
    assert!(
        errors[0].contains("a class for each of its 10 time steps"),
        "{errors:?}"
    );
}

#[test]
fn an_input_of_features_fed_token_ids_is_offered_the_datasets_kind() {
    let g = Graph::chain([Layer::input(vec![10]), dense(4), scores(5), loss()]);
    let data = DataInfo {
        feature_shape: vec![10],
        values: ValueKind::Tokens { vocabulary: 5 },
        task: Task::Classification { classes: 5 },
        positions: 10,
    };
    let model = check(&g, Some(&data));
    let problem = model
        .problems_at(Location::Node(id(&g, "input")))
        .next()
        .expect("a problem on the input");
    assert!(
        problem.message.contains("[time 10] ids below 5"),
        "{}",
        problem.message
    );
    let Some(FixAction::SetLayer { layer, .. }) = problem.fix.as_ref().map(|f| &f.action) else {
        panic!("no fix: {problem:?}");
    };
    assert_eq!(*layer, tokens(10, 5));
}

#[test]
fn an_ignored_class_must_be_one_of_the_datasets_and_the_loss_a_cross_entropy() {
    let data = DataInfo {
        feature_shape: vec![2],
        values: netloom::graph::ValueKind::Features,
        task: Task::Classification { classes: 3 },
        positions: 1,
    };
    let with_loss = |kind, ignore_index| {
        let g = Graph::chain([
            Layer::input(vec![2]),
            scores(3),
            Layer::Loss {
                kind,
                ignore_index,
                target: LossTarget::Dataset,
            },
        ]);
        let model = check(&g, Some(&data));
        errors_at(&model, Location::Node(id(&g, "loss")))
    };
    assert!(with_loss(LossKind::SoftmaxCrossEntropy, Some(2)).is_empty());
    assert_eq!(
        with_loss(LossKind::SoftmaxCrossEntropy, Some(3)),
        ["The ignored class 3 is not one of the dataset's 3 classes (0 to 2)"]
    );
    let mse = with_loss(LossKind::MeanSquaredError, Some(0));
    assert!(
        mse[0].starts_with("Only softmax cross-entropy leaves a class out"),
        "{mse:?}"
    );
}

#[test]
fn pooling_over_time_ends_the_time_axis_and_asks_for_one() {
    let pooled = Layer::PoolOverTime {
        pooling: netloom::graph::TimePooling::Max,
    };
    let sequence = Layer::Input {
        shape: vec![7, 3],
        values: netloom::graph::ValueKind::Sequence,
    };
    let g = Graph::chain([sequence, pooled.clone(), scores(2), loss()]);
    let model = check(&g, None);
    assert!(model.problems.is_empty(), "{:?}", model.problems);
    let shape = model.nodes[1].output.clone().unwrap();
    assert_eq!((shape.to_string(), shape.has_time()), ("[3]".into(), false));
    let g = Graph::chain([Layer::input(vec![4]), pooled, scores(2), loss()]);
    let model = check(&g, None);
    assert_eq!(
        errors_at(&model, Location::Node(id(&g, "pooled"))),
        [
            "PoolOverTime sums up a sequence [time, features]; got [4]. Use it after a recurrent, attention or Embedding layer."
        ]
    );
}

/// An autoencoder: images through a two-number code and back, the loss comparing the rebuilt
/// image with the input itself, wired to its second input.
fn autoencoder(out_shape: Vec<usize>, kind: LossKind) -> Graph {
    let mut g = Graph::chain([
        Layer::input(vec![1, 4, 4]),
        Layer::Flatten,
        dense(2),
        dense(16),
        Layer::Reshape { shape: out_shape },
        Layer::Loss {
            kind,
            ignore_index: None,
            target: LossTarget::Wire,
        },
    ]);
    let (input, loss) = (id(&g, "input"), id(&g, "loss"));
    g.connect(input, loss, 1);
    g
}

#[test]
fn a_loss_takes_its_target_from_a_wire_whatever_the_datasets_task() {
    let data = DataInfo {
        feature_shape: vec![1, 4, 4],
        values: ValueKind::Features,
        task: Task::Classification { classes: 10 },
        positions: 1,
    };
    let g = autoencoder(vec![1, 4, 4], LossKind::MeanSquaredError);
    let model = check(&g, Some(&data));
    assert!(errors(&model).is_empty(), "{:?}", errors(&model));
    assert!(model.nodes[g.node_index(id(&g, "input")).unwrap()].feeds_loss);

    // The shapes must agree, and a Reshape is offered.
    let g = autoencoder(vec![16], LossKind::MeanSquaredError);
    let model = check(&g, Some(&data));
    let at_loss = errors_at(&model, Location::Node(id(&g, "loss")));
    assert_eq!(
        at_loss,
        [
            "The loss compares the prediction [16] with the target [1, 4, 4]; they must have the same shape. Reshape the prediction to [1, 4, 4]."
        ]
    );
    let fix = model.problems.iter().find_map(|p| p.fix.as_ref()).unwrap();
    assert!(matches!(
        &fix.action,
        FixAction::InsertBefore { layer: Layer::Reshape { shape }, .. } if *shape == vec![1, 4, 4]
    ));

    // Classes come from the dataset, so cross-entropy cannot take a wired target.
    let g = autoencoder(vec![1, 4, 4], LossKind::SoftmaxCrossEntropy);
    let at_loss = errors_at(&check(&g, Some(&data)), Location::Node(id(&g, "loss")));
    assert!(
        at_loss[0].starts_with("Softmax cross-entropy compares scores with classes"),
        "{at_loss:?}"
    );

    // A layer that feeds only the (detached) target learns nothing, and is told so.
    let mut g = autoencoder(vec![1, 4, 4], LossKind::MeanSquaredError);
    g.edges.retain(|e| e.to.port != 1);
    let flatten = id(&g, "flatten");
    let side = g.add_node(
        Layer::Dense {
            units: 16,
            bias: true,
            activation: Activation::Sigmoid,
            init: Default::default(),
        },
        [0.0; 2],
    );
    g.connect(flatten, side, 0);
    let reshape = g.add_node(
        Layer::Reshape {
            shape: vec![1, 4, 4],
        },
        [0.0; 2],
    );
    g.connect(side, reshape, 0);
    g.connect(reshape, id(&g, "loss"), 1);
    let model = check(&g, Some(&data));
    let side_name = &g.nodes[g.node_index(side).unwrap()].name;
    let warned: Vec<&str> = model
        .problems
        .iter()
        .filter(|p| p.location == Location::Node(side))
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].starts_with(&format!(
            "{side_name} reaches the loss only through its target"
        )),
        "{warned:?}"
    );
    // The autoencoder's own layers are trained: nothing is said of them.
    let g = autoencoder(vec![1, 4, 4], LossKind::MeanSquaredError);
    assert!(check(&g, Some(&data)).problems.is_empty());

    // A loss told to take its target from a wire, with none wired, says so.
    let mut g = autoencoder(vec![1, 4, 4], LossKind::MeanSquaredError);
    g.edges.retain(|e| e.to.port != 1);
    let at_loss = errors_at(&check(&g, Some(&data)), Location::Node(id(&g, "loss")));
    assert_eq!(
        at_loss,
        [
            "loss takes its target from its second input, and nothing is connected to it. Wire it the tensor to rebuild (the Input, for an autoencoder)."
        ]
    );
}

#[test]
fn a_transposed_convolution_grows_the_image_and_explains_impossible_settings() {
    let transposed = |stride, padding, output_padding| Layer::ConvTranspose2d {
        filters: 4,
        kernel: 4,
        stride,
        padding,
        output_padding,
        bias: true,
        activation: Activation::Relu,
        init: netloom::graph::Init::HeUniform,
    };
    let model_with = |layer| {
        let g = Graph::chain([Layer::input(vec![3, 7, 5]), layer]);
        let model = check(&g, None);
        let node = &model.nodes[1];
        (
            node.output.clone().map(|s| s.dims),
            node.params,
            errors(&model),
        )
    };
    // (7 - 1)·2 + 4 - 2·1 = 14, as PyTorch's ConvTranspose2d(3, 4, 4, 2, 1).
    let (output, params, _) = model_with(transposed(2, 1, 0));
    assert_eq!(output, Some(vec![4, 14, 10]));
    assert_eq!(params, 3 * 4 * 4 * 4 + 4);
    assert_eq!(model_with(transposed(2, 1, 1)).0, Some(vec![4, 15, 11]));
    let (_, _, problems) = model_with(transposed(2, 0, 2));
    assert!(
        problems
            .contains(&"The output padding (2) must be smaller than the stride (2).".to_string()),
        "{problems:?}"
    );
    let (_, _, problems) = model_with(transposed(1, 9, 0));
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("A padding of 9 crops away the whole")),
        "{problems:?}"
    );
}

#[test]
fn a_padding_past_counting_on_a_transposed_convolution_is_a_problem_not_a_panic() {
    let g = Graph::chain([
        Layer::input(vec![1, 4, 4]),
        Layer::ConvTranspose2d {
            filters: 1,
            kernel: 3,
            stride: 1,
            padding: usize::MAX / 2 + 1,
            output_padding: 0,
            bias: true,
            activation: Activation::Identity,
            init: netloom::graph::Init::GlorotUniform,
        },
    ]);
    assert!(!errors(&check(&g, None)).is_empty());
}
