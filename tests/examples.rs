//! Every example project checks clean against its dataset and learns: training lowers its
//! validation loss within 150 steps. (The CLI test trains the spiral to the end.)

use std::path::Path;

use netloom::train::{self, Part};

#[test]
fn every_example_checks_clean_and_learns() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let project = netloom::io::load_project(&path).unwrap();
        let prepared = train::prepare(&project, &dir).unwrap();
        assert!(
            prepared.model.problems.is_empty(),
            "{}: {:?}",
            path.display(),
            prepared.model.problems
        );
        let mut session = train::cpu_session(&project, &prepared, 2).unwrap();
        let before = session.evaluate(Part::Validation).unwrap().loss;
        for _ in 0..150 {
            session.step().unwrap().unwrap();
        }
        let after = session.evaluate(Part::Validation).unwrap().loss;
        assert!(
            after < 0.95 * before,
            "{}: validation loss {before} -> {after}",
            path.display()
        );
    }
}

#[test]
fn the_check_benchmark_graphs_are_clean_and_of_the_sizes_named() {
    for nodes in [100, 10_000] {
        let graph = netloom::bench::tower_graph(netloom::bench::tower_blocks(nodes));
        assert!(
            graph.nodes.len().abs_diff(nodes) <= 2,
            "{}",
            graph.nodes.len()
        );
        let info = netloom::compile::DataInfo {
            feature_shape: vec![64],
            values: netloom::graph::ValueKind::Features,
            task: netloom::data::Task::Classification { classes: 10 },
            positions: 1,
        };
        let model = netloom::compile::check(&graph, Some(&info));
        assert!(model.problems.is_empty(), "{:?}", model.problems);
        assert_eq!(model.order.len(), graph.nodes.len());
    }
}
