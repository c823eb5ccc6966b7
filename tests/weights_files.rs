//! Weights going into a session: every tensor must fit the network it is loaded into, and the
//! BatchNorm counters saved beside them name exactly the BatchNorms whose statistics are saved.

use std::path::Path;

use netloom::graph::{Layer, Project};
use netloom::train::{self, NamedTensor, Session};

fn example(name: &str) -> Project {
    netloom::io::load_project(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/examples")
            .join(name),
    )
    .unwrap()
}

fn session(project: &Project) -> Session {
    let prepared = train::prepare(project, Path::new(".")).unwrap();
    train::cpu_session(project, &prepared, 1).unwrap()
}

fn error_of(session: &mut Session, tensors: &[NamedTensor]) -> String {
    session.set_weights(tensors).unwrap_err().to_string()
}

#[test]
fn tensors_that_match_nothing_are_named() {
    let mut s = session(&example("batchnorm_dropout.json"));
    let mut tensors = s.weights().unwrap();
    s.set_weights(&tensors).unwrap();
    tensors.push(NamedTensor {
        name: "ghost.weight".into(),
        shape: vec![2],
        values: vec![0.0, 0.0],
    });
    tensors.push(NamedTensor {
        name: "hidden2.bias".into(),
        shape: vec![1],
        values: vec![0.0],
    });
    let error = error_of(&mut s, &tensors);
    assert!(
        error.contains("match nothing in this network: \"ghost.weight\", \"hidden2.bias\""),
        "{error}"
    );
}

#[test]
fn missing_tensors_are_all_named() {
    let mut s = session(&example("batchnorm_dropout.json"));
    let tensors: Vec<NamedTensor> = s
        .weights()
        .unwrap()
        .into_iter()
        .filter(|t| !t.name.starts_with("norm."))
        .collect();
    let error = error_of(&mut s, &tensors);
    assert!(error.contains("\"norm.weight\""), "{error}");
    assert!(error.contains("\"norm.running_var\""), "{error}");
}

#[test]
fn optimizer_state_is_shape_checked_and_loaded() {
    let mut s = session(&example("batchnorm_dropout.json"));
    let mut tensors = s.weights().unwrap();
    let shape = tensors
        .iter()
        .find(|t| t.name == "hidden.weight")
        .unwrap()
        .shape
        .clone();
    let count: usize = shape.iter().product();
    tensors.push(NamedTensor {
        name: "hidden.weight.exp_avg".into(),
        shape: vec![3],
        values: vec![0.0; 3],
    });
    let error = error_of(&mut s, &tensors);
    assert!(
        error.contains("\"hidden.weight.exp_avg\" has shape [3] in the weights but"),
        "{error}"
    );
    let last = tensors.len() - 1;
    tensors[last] = NamedTensor {
        name: "hidden.weight.exp_avg".into(),
        shape,
        values: vec![0.0; count],
    };
    s.set_weights(&tensors).unwrap();
}

#[test]
fn non_finite_values_are_refused_and_nothing_is_written() {
    let mut s = session(&example("batchnorm_dropout.json"));
    let before = s.weights().unwrap();
    let mut tensors = before.clone();
    for t in &mut tensors {
        t.values.iter_mut().for_each(|v| *v += 1.0);
    }
    let bias = tensors
        .iter_mut()
        .find(|t| t.name == "scores.bias")
        .unwrap();
    bias.values[4] = f32::NAN;
    let error = error_of(&mut s, &tensors);
    assert!(
        error.contains("\"scores.bias\" holds NaN at index 4"),
        "{error}"
    );
    assert_eq!(s.weights().unwrap(), before, "a refused load wrote weights");
}

#[test]
fn counters_are_written_only_for_batch_norms_that_keep_statistics() {
    let mut project = example("batchnorm_dropout.json");
    // A BatchNorm on a branch that does not lead to the loss: it has no running statistics in
    // the program, so it must have no counter either.
    let hidden = project
        .graph
        .nodes
        .iter()
        .find(|n| n.name == "hidden")
        .unwrap()
        .id;
    let side = project.graph.add_node(
        Layer::BatchNorm {
            momentum: 0.1,
            epsilon: 1e-5,
        },
        [0.0, 300.0],
    );
    project.graph.connect(hidden, side, 0);
    let prepared = train::prepare(&project, Path::new(".")).unwrap();
    let loaded = vec![
        ("norm.num_batches_tracked".to_string(), 40),
        ("batchnorm.num_batches_tracked".to_string(), 9),
    ];
    let counters = netloom::io::batch_norm_counters(&prepared.model, 25, &loaded);
    assert_eq!(counters, [("norm.num_batches_tracked".to_string(), 65)]);
    let with_stats: Vec<String> = prepared
        .program
        .running_stats
        .iter()
        .filter_map(|s| s.name.strip_suffix(".running_mean"))
        .map(|bn| format!("{bn}.num_batches_tracked"))
        .collect();
    let named: Vec<&String> = counters.iter().map(|(n, _)| n).collect();
    assert_eq!(named, with_stats.iter().collect::<Vec<_>>());
    assert_eq!(
        netloom::io::batch_norm_counters(&prepared.model, 3, &[]),
        [("norm.num_batches_tracked".to_string(), 3)]
    );
}

#[test]
fn saved_counters_come_back_with_the_tensors() {
    let mut s = session(&example("batchnorm_dropout.json"));
    let tensors = s.weights().unwrap();
    let path = std::env::temp_dir().join(format!(
        "netloom-weights-files-{}.safetensors",
        std::process::id()
    ));
    let counters = vec![("norm.num_batches_tracked".to_string(), 12)];
    netloom::io::save_weights(&path, &tensors, &counters).unwrap();
    let loaded = netloom::io::load_weights_with_counters(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded.counters, counters);
    assert_eq!(loaded.tensors.len(), tensors.len());
    s.set_weights(&loaded.tensors).unwrap();
}
