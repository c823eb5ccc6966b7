//! Training: determinism, the trainer's Command/Event protocol, and the non-finite guard.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use netloom::graph::Project;
use netloom::train::{self, Command, Event, Limits, Session, TensorKind, Trainer};

fn example(name: &str) -> Project {
    netloom::io::load_project(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/examples")
            .join(name),
    )
    .unwrap()
}

fn session(project: &Project, threads: usize) -> Session {
    let prepared = train::prepare(project, Path::new(".")).unwrap();
    train::cpu_session(project, &prepared, threads).unwrap()
}

fn losses(session: &mut Session, steps: usize) -> Vec<u32> {
    (0..steps)
        .map(|_| session.step().unwrap().unwrap().loss.to_bits())
        .collect()
}

#[test]
fn same_seed_same_losses_bit_for_bit() {
    // Dropout, batch norm and shuffling all draw from the seed.
    let project = example("batchnorm_dropout.json");
    let first = losses(&mut session(&project, 2), 120);
    assert_eq!(first, losses(&mut session(&project, 2), 120));
    let mut other = project.clone();
    other.training.seed = 1;
    assert_ne!(first, losses(&mut session(&other, 2), 120));
}

#[test]
fn the_thread_count_does_not_change_a_single_bit() {
    // The CNN's convolution weight gradient sums samples on several threads; the recurrences
    // step different sequences, and attention different heads, on different threads; layer
    // normalisation and biases sum their gradients by columns.
    for name in [
        "mnist_cnn.json",
        "char_lstm.json",
        "char_gru.json",
        "char_rnn.json",
        "tiny_gpt.json",
    ] {
        assert_same_on_any_thread_count(&example(name), name);
    }
}

fn assert_same_on_any_thread_count(project: &Project, name: &str) {
    let run = |threads: usize| {
        let mut s = session(project, threads);
        let losses = losses(&mut s, 4);
        let weights: Vec<Vec<u32>> = s
            .weights()
            .unwrap()
            .iter()
            .map(|t| t.values.iter().map(|v| v.to_bits()).collect())
            .collect();
        (losses, weights)
    };
    let one = run(1);
    for threads in [2, 3, 5] {
        assert!(one == run(threads), "{name} on {threads} threads");
    }
}

#[test]
fn reset_starts_the_same_run_again() {
    let project = example("xor.json");
    let mut s = session(&project, 1);
    let first = losses(&mut s, 30);
    s.reset().unwrap();
    assert_eq!(first, losses(&mut s, 30));
}

#[test]
fn a_short_last_batch_is_trained_on() {
    let mut project = example("xor.json");
    project.training.batch_size = 64;
    let mut s = session(&project, 1);
    let (train, _, _) = s.split_sizes();
    assert_eq!(train, 400);
    let rows: Vec<usize> = (0..7).map(|_| s.step().unwrap().unwrap().rows).collect();
    assert_eq!(rows, [64, 64, 64, 64, 64, 64, 16]);
    assert_eq!(s.steps_per_epoch(), 7);
}

fn next_event(trainer: &Trainer) -> Event {
    trainer
        .events
        .recv_timeout(Duration::from_secs(30))
        .expect("an event within 30 s")
}

fn steps_until_quiet(trainer: &Trainer) -> Vec<u64> {
    let mut steps = Vec::new();
    while let Ok(event) = trainer.events.recv_timeout(Duration::from_millis(300)) {
        if let Event::Steps(reports) = event {
            steps.extend(reports.iter().map(|s| s.step));
        }
    }
    steps
}

#[test]
fn the_trainer_plays_pauses_steps_and_resets() {
    let mut project = example("spiral.json");
    project.training.epochs = 1000;
    let trainer = Trainer::spawn(session(&project, 1), Limits::default(), false);

    trainer.commands.send(Command::Step).unwrap();
    assert!(matches!(next_event(&trainer), Event::Steps(s) if s.len() == 1 && s[0].step == 1));
    assert!(
        steps_until_quiet(&trainer).is_empty(),
        "Step takes exactly one step"
    );

    trainer
        .commands
        .send(Command::SetLearningRate(0.5))
        .unwrap();
    trainer.commands.send(Command::Step).unwrap();
    match next_event(&trainer) {
        Event::Steps(s) => {
            assert_eq!(s.len(), 1);
            assert_eq!(s[0].step, 2);
            assert_eq!(s[0].learning_rate, 0.5);
        }
        other => panic!("{other:?}"),
    }

    trainer.commands.send(Command::Play).unwrap();
    assert_eq!(next_event(&trainer), Event::Running);
    std::thread::sleep(Duration::from_millis(50));
    trainer.commands.send(Command::Pause).unwrap();
    let played = steps_until_quiet(&trainer);
    assert!(played.len() > 1, "playing runs steps");
    assert!(played.windows(2).all(|w| w[1] == w[0] + 1));

    trainer.commands.send(Command::Reset).unwrap();
    trainer.commands.send(Command::Step).unwrap();
    let after_reset = steps_until_quiet(&trainer);
    assert_eq!(after_reset, [1]);

    trainer.commands.send(Command::StepEpoch).unwrap();
    let mut saw_epoch = false;
    while let Ok(event) = trainer.events.recv_timeout(Duration::from_millis(500)) {
        if let Event::Epoch(e) = event {
            assert_eq!(e.epoch, 0);
            assert!(e.validation.is_some());
            saw_epoch = true;
        }
    }
    assert!(saw_epoch);
    let session = trainer.join().unwrap();
    assert_eq!(
        session.steps_taken(),
        27,
        "one epoch of 420 samples in batches of 16"
    );
}

#[test]
fn early_stopping_ends_training_when_validation_stalls() {
    let mut project = example("xor.json");
    project.training.epochs = 500;
    // No epoch can lower the loss by 10, so after the first sets the best, none improves.
    project.training.early_stopping = Some(netloom::graph::EarlyStopping {
        patience: 3,
        min_delta: 10.0,
        restore_best: false,
    });
    let trainer = Trainer::spawn(session(&project, 1), Limits::default(), true);
    let mut epochs = 0;
    loop {
        match next_event(&trainer) {
            Event::Epoch(_) => epochs += 1,
            Event::Finished { reason, test } => {
                assert_eq!(reason, train::FinishReason::EarlyStopped);
                assert!(test.is_some());
                break;
            }
            _ => {}
        }
    }
    assert_eq!(
        epochs, 4,
        "the first epoch sets the best loss, three more without gain stop it"
    );
}

#[test]
fn early_stopping_can_restore_the_best_weights() {
    for restore_best in [false, true] {
        let mut project = example("xor.json");
        project.training.epochs = 500;
        // Only the first epoch counts as an improvement, so its weights are the best.
        project.training.early_stopping = Some(netloom::graph::EarlyStopping {
            patience: 3,
            min_delta: 10.0,
            restore_best,
        });
        let trainer = Trainer::spawn(session(&project, 1), Limits::default(), true);
        let mut validation = Vec::new();
        loop {
            match next_event(&trainer) {
                Event::Epoch(e) => validation.push(e.validation.unwrap().loss),
                Event::Finished { .. } => break,
                _ => {}
            }
        }
        let mut s = trainer.join().unwrap();
        let now = s.evaluate(train::Part::Validation).unwrap().loss;
        let expected = if restore_best {
            validation[0]
        } else {
            *validation.last().unwrap()
        };
        assert_eq!(now, expected, "restore_best {restore_best}: {validation:?}");
        assert_ne!(validation[0], *validation.last().unwrap());
    }
}

#[test]
fn a_huge_learning_rate_pauses_on_the_first_non_finite_op() {
    let mut project = example("spiral.json");
    project.training.learning_rate = 1e30;
    project.training.optimizer = netloom::graph::Optimizer::Sgd {
        momentum: 0.0,
        nesterov: false,
    };
    let prepared = train::prepare(&project, Path::new(".")).unwrap();
    let program = Arc::clone(&prepared.program);
    let trainer = Trainer::spawn(
        train::cpu_session(&project, &prepared, 1).unwrap(),
        Limits::default(),
        true,
    );
    let non_finite = loop {
        match next_event(&trainer) {
            Event::NonFinite(nf) => break nf,
            Event::Steps(_) | Event::Running => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(next_event(&trainer), Event::Paused);
    let node = non_finite
        .node
        .and_then(|id| project.graph.node(id))
        .expect("names a node");
    assert!(!node.name.is_empty() && !non_finite.op.is_empty());
    // The weights from before the bad step are kept: all finite.
    let mut session = trainer.join().unwrap();
    assert!(
        session
            .weights()
            .unwrap()
            .iter()
            .all(|t| t.values.iter().all(|v| v.is_finite()))
    );
    assert!(program.params.iter().all(|p| p.grad.is_some()));
}

#[test]
fn watched_tensors_report_their_statistics_at_the_rate_asked() {
    let project = example("spiral.json");
    let mut s = session(&project, 1);
    s.step().unwrap().unwrap();
    assert!(s.take_snapshot().is_none(), "nothing is watched by default");
    s.watch_every = Some(Duration::ZERO);
    let report = s.step().unwrap().unwrap();
    let snapshot = s.take_snapshot().expect("statistics with the step");
    assert_eq!(snapshot.step, report.step);
    let watched = s.watched().to_vec();
    assert_eq!(snapshot.stats.len(), watched.len());
    assert!(watched.iter().any(|w| w.kind == TensorKind::Gradient));
    // A weight's statistics are those of its values after the step.
    let weights = s.weights().unwrap();
    for (w, stats) in watched.iter().zip(&snapshot.stats) {
        if w.kind == TensorKind::Weight {
            let values = &weights.iter().find(|t| t.name == w.name).unwrap().values;
            let mean = values.iter().sum::<f32>() / values.len() as f32;
            assert_eq!(stats.count, values.len());
            assert!((stats.mean - mean).abs() < 1e-5, "{}", w.name);
        }
        if w.kind == TensorKind::Activation && w.name.starts_with("input") {
            assert_eq!(stats.count, report.rows * 2);
        }
    }
    s.watch_every = Some(Duration::from_secs(3600));
    s.step().unwrap().unwrap();
    s.step().unwrap().unwrap();
    assert!(s.take_snapshot().is_none(), "not again within the interval");
}

#[test]
fn a_watched_step_reports_each_parameters_change_and_each_outputs_gradient() {
    let project = example("spiral.json");
    let mut s = session(&project, 1);
    s.step().unwrap().unwrap();
    let before = s.weights().unwrap();
    s.watch_every = Some(Duration::ZERO);
    s.step().unwrap().unwrap();
    let after = s.weights().unwrap();
    let snapshot = s.take_snapshot().unwrap();
    let watched = s.watched().to_vec();
    let stats_of = |kind: TensorKind, name: &str| {
        watched
            .iter()
            .zip(&snapshot.stats)
            .find(|(w, _)| w.kind == kind && w.name.starts_with(name))
            .map(|(_, stats)| stats.clone())
    };
    let mut changes = 0;
    for (b, a) in before.iter().zip(&after) {
        let Some(change) = stats_of(TensorKind::Change, &b.name) else {
            continue;
        };
        let norm = b
            .values
            .iter()
            .zip(&a.values)
            .map(|(x, y)| (y - x) * (y - x))
            .sum::<f32>()
            .sqrt();
        assert!(norm > 0.0, "{} moved", b.name);
        assert!(
            (change.l2 - norm).abs() <= 1e-5 * norm,
            "{}: {} vs {norm}",
            b.name,
            change.l2
        );
        changes += 1;
    }
    assert_eq!(
        changes,
        s.program().params.len(),
        "every parameter's change"
    );
    // Gradients reach every layer's output; the input does not depend on a parameter.
    let gradients: Vec<&str> = watched
        .iter()
        .filter(|w| w.kind == TensorKind::OutputGradient)
        .map(|w| w.name.as_str())
        .collect();
    assert!(
        gradients.iter().all(|name| !name.contains("input")),
        "{gradients:?}"
    );
    let layers = s.program().node_outputs.len() - 1;
    assert_eq!(gradients.len(), layers, "{gradients:?}");
    for name in gradients {
        let stats = stats_of(TensorKind::OutputGradient, name).unwrap();
        assert!(stats.l2 > 0.0 && stats.non_finite_fraction == 0.0, "{name}");
    }
    // Steps that are not watched skip the measuring ops and train the same.
    let mut plain = session(&project, 1);
    let mut watched_run = session(&project, 1);
    watched_run.watch_every = Some(Duration::ZERO);
    assert_eq!(losses(&mut plain, 30), losses(&mut watched_run, 30));
}

/// The spiral after 20 steps, and more rows of its two features than a batch holds (an odd
/// number of them), drawn from `wave`.
fn trained_spiral_and_rows(wave: fn(f32) -> f32) -> (Session, usize, Vec<f32>) {
    let project = example("spiral.json");
    let mut s = session(&project, 1);
    for _ in 0..20 {
        s.step().unwrap().unwrap();
    }
    let rows = project.training.batch_size * 2 + 3;
    let features = (0..rows * 2).map(|i| wave(i as f32)).collect();
    (s, rows, features)
}

#[test]
fn a_trace_of_many_rows_gives_each_rows_outputs_as_a_trace_of_it_alone() {
    let (mut s, rows, features) = trained_spiral_and_rows(|i| (i * 0.53).cos() * 2.0);
    let all = s.trace(&features).unwrap();
    assert_eq!(all.rows, rows);
    let mut predicted = Vec::new();
    s.predict(&features, &mut predicted).unwrap();
    assert_eq!(all.prediction, predicted);
    for r in [0, rows / 2, rows - 1] {
        let one = s.trace(&features[r * 2..r * 2 + 2]).unwrap();
        assert_eq!(one.rows, 1);
        for ((node, whole), (same, alone)) in all.outputs.iter().zip(&one.outputs) {
            assert_eq!(node, same);
            let width = alone.values.len();
            assert_eq!(whole.values.len(), width * rows);
            assert_eq!(whole.values[r * width..(r + 1) * width], alone.values[..]);
        }
    }
}

#[test]
fn predictions_do_not_depend_on_how_rows_are_chunked() {
    let (mut s, rows, features) = trained_spiral_and_rows(|i| (i * 0.37).sin() * 3.0);
    let mut all = Vec::new();
    s.predict(&features, &mut all).unwrap();
    let classes = all.len() / rows;
    assert_eq!(all.len(), rows * classes);
    let mut one = Vec::new();
    for r in [0, rows / 2, rows - 1] {
        s.predict(&features[r * 2..r * 2 + 2], &mut one).unwrap();
        assert_eq!(one, all[r * classes..(r + 1) * classes]);
    }
    // Predicting leaves training as it was.
    s.step().unwrap().unwrap();
}

#[test]
fn a_paced_trainer_takes_no_more_than_one_step_per_interval() {
    let project = example("spiral.json");
    let trainer = Trainer::spawn(session(&project, 1), Limits::default(), false);
    trainer
        .commands
        .send(Command::SetPace(Some(Duration::from_millis(50))))
        .unwrap();
    let started = std::time::Instant::now();
    trainer.commands.send(Command::Play).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    trainer.commands.send(Command::Pause).unwrap();
    // One step per interval begun, and the step still in flight at the pause.
    let allowed = (started.elapsed().as_millis() / 50) as usize + 2;
    let steps = steps_until_quiet(&trainer).len();
    assert!(
        steps >= 1 && steps <= allowed,
        "{steps} steps, at most {allowed}"
    );
}

#[test]
fn steps_taken_faster_than_a_watcher_needs_come_in_order_in_fewer_events() {
    let project = example("spiral.json");
    let trainer = Trainer::spawn(session(&project, 1), Limits::default(), true);
    std::thread::sleep(Duration::from_millis(200));
    trainer.commands.send(Command::Pause).unwrap();
    let (mut events, mut steps) = (0, Vec::new());
    while let Ok(event) = trainer.events.recv_timeout(Duration::from_millis(300)) {
        if let Event::Steps(reports) = event {
            events += 1;
            steps.extend(reports.iter().map(|r| r.step));
        }
    }
    assert!(steps.len() > 100, "{} steps", steps.len());
    assert_eq!(
        steps,
        (1..=steps.len() as u64).collect::<Vec<_>>(),
        "every step, in order"
    );
    assert!(
        events * 10 < steps.len(),
        "{events} events for {} steps",
        steps.len()
    );
}

#[test]
fn a_new_project_built_with_the_palette_defaults_learns_every_toy_set() {
    use netloom::data::{DatasetSpec, ToySet};
    use netloom::graph::{Activation, Graph, Init, Layer, LossKind};
    // What a student drags in: the palette's Dense (16 ReLU units) twice, a Dense of 2 scores
    // made linear as check advises, and the loss; every setting as a new project has it.
    let hidden = || Layer::Dense {
        units: 16,
        bias: true,
        activation: Activation::Relu,
        init: Init::default(),
    };
    let graph = Graph::chain([
        Layer::input(vec![2]),
        hidden(),
        hidden(),
        Layer::Dense {
            units: 2,
            bias: true,
            activation: Activation::Identity,
            init: Init::default(),
        },
        Layer::loss(LossKind::SoftmaxCrossEntropy),
    ]);
    for set in ToySet::ALL {
        let mut project = netloom::ui::empty_project();
        project.graph = graph.clone();
        if let DatasetSpec::Toy { set: chosen, .. } = &mut project.dataset {
            *chosen = set;
        }
        let mut s = session(&project, 1);
        for _ in 0..project.training.epochs as u64 * s.steps_per_epoch() {
            s.step().unwrap().unwrap();
        }
        let accuracy = s
            .evaluate(train::Part::Validation)
            .unwrap()
            .accuracy
            .unwrap();
        assert!(accuracy >= 0.9, "{set:?}: validation accuracy {accuracy}");
    }
}

/// The recurrent state view's numbers: a traced sequence's hidden states are the layer's output
/// (both directions, in time order), gates stay in (0, 1), and the gradient through time at the
/// step where nothing comes from later steps is the layer's own output gradient.
#[test]
fn a_trace_shows_a_recurrences_states_gates_and_gradients_through_time() {
    use netloom::graph::{Layer, RecurrentCell};
    use netloom::train::Inside;
    let mut project = example("sine_forecast.json");
    let (hidden, steps) = (5, 9);
    project.dataset = netloom::data::DatasetSpec::SineWaves {
        samples: 40,
        length: steps,
        waves: 1,
        noise: 0.1,
        seed: 3,
    };
    project.graph.nodes[0].layer = Layer::input(vec![steps, 1]);
    if let Layer::Input { values, .. } = &mut project.graph.nodes[0].layer {
        *values = netloom::graph::ValueKind::Sequence;
    }
    let Layer::Recurrent {
        cell,
        hidden_size,
        num_layers,
        bidirectional,
        ..
    } = &mut project.graph.nodes[1].layer
    else {
        panic!("the example's second node is its LSTM");
    };
    (*cell, *hidden_size, *num_layers, *bidirectional) = (RecurrentCell::Lstm, hidden, 2, true);
    project.training.batch_size = 1;
    let mut s = session(&project, 1);
    s.step().unwrap().unwrap();
    let lstm = project.graph.nodes[1].id;
    let series: Vec<f32> = (0..steps).map(|t| (t as f32 * 0.7).sin()).collect();
    let traced = s.trace(&series).unwrap();
    let output = &traced
        .outputs
        .iter()
        .find(|(n, _)| *n == lstm)
        .unwrap()
        .1
        .values;
    let traces: Vec<_> = traced
        .inside
        .iter()
        .map(|(node, inside)| match inside {
            Inside::Recurrence(r) if *node == lstm => r,
            other => panic!("only the LSTM has insides, not {other:?}"),
        })
        .collect();
    let order: Vec<_> = traces.iter().map(|r| (r.layer, r.reverse)).collect();
    assert_eq!(order, [(0, false), (0, true), (1, false), (1, true)]);
    for r in &traces {
        let names: Vec<_> = r.maps.iter().map(|(name, _)| *name).collect();
        assert_eq!(names[..2], ["hidden state", "cell state"]);
        assert_eq!(names.len(), 6, "and the four gates");
        for (name, map) in &r.maps[2..] {
            assert_eq!(map.len(), steps * hidden);
            let (low, high) = if *name == "candidate" {
                (-1.0, 1.0)
            } else {
                (0.0, 1.0)
            };
            assert!(
                map.iter().all(|g| (low..=high).contains(g)),
                "{name}: {map:?}"
            );
        }
        assert_eq!(r.gradient_norms.len(), steps);
        assert!(r.gradient_norms.iter().all(|g| g.is_finite() && *g > 0.0));
        if r.layer == 1 {
            // The top layer's output is the node's: [time, forward units, reverse units].
            let column = if r.reverse { hidden } else { 0 };
            for t in 0..steps {
                let row = &output[t * 2 * hidden + column..][..hidden];
                assert_eq!(&r.maps[0].1[t * hidden..][..hidden], row, "time {t}");
            }
        }
        // The reach through time starts from a unit signal at the last step processed.
        let last = if r.reverse { 0 } else { steps - 1 };
        let at_last = r.gradient_norms[last];
        assert!((at_last - 1.0).abs() < 1e-6, "{at_last}");
    }
}

/// The sort template: a one-block transformer, scored only on the sorted half of each sample,
/// sorts every validation question within its 20 epochs.
#[test]
fn a_transformer_learns_to_sort_every_validation_question() {
    let project = example("sort_transformer.json");
    let mut s = session(&project, 2);
    let steps = s.steps_per_epoch() * project.training.epochs as u64;
    for _ in 0..steps {
        s.step().unwrap().unwrap();
    }
    let validation = s.evaluate(train::Part::Validation).unwrap();
    assert_eq!(validation.accuracy, Some(1.0), "{validation:?}");
}

/// Attention dropout drops weights while training: the same network and seed train to other
/// losses with it than without it.
#[test]
fn attention_dropout_changes_what_training_sees() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch_sequences");
    let project = netloom::io::load_project(&dir.join("gpt.json")).unwrap();
    let run = |dropout: f32| {
        let mut project = project.clone();
        for node in &mut project.graph.nodes {
            if let netloom::graph::Layer::MultiHeadAttention { dropout: d, .. } = &mut node.layer {
                *d = dropout;
            }
        }
        let prepared = train::prepare(&project, &dir).unwrap();
        let mut s = train::cpu_session(&project, &prepared, 1).unwrap();
        losses(&mut s, 3)
    };
    let (without, with) = (run(0.0), run(0.3));
    assert_eq!(without, run(0.0), "the same run twice");
    assert_ne!(without[0], with[0], "the first step's loss already differs");
}

/// The autoencoder learns without labels, yet its two-number codes keep the digits apart: the
/// 20 nearest training codes vote for a validation digit's class (k-NN accuracy), and the
/// rebuilt pixels are close to the input's.
#[test]
fn an_autoencoders_two_number_code_separates_the_digits_it_never_saw_labelled() {
    let project = example("autoencoder.json");
    let prepared = train::prepare(&project, Path::new(".")).unwrap();
    let mut s = train::cpu_session(&project, &prepared, 2).unwrap();
    let metrics = s.evaluate(train::Part::Validation).unwrap();
    assert_eq!(metrics.accuracy, None, "no classes are predicted");
    let steps = s.steps_per_epoch() * project.training.epochs as u64;
    for _ in 0..steps {
        s.step().unwrap().unwrap();
    }
    let data = &prepared.dataset;
    let splits = netloom::data::split_for(&**data, &project.split, project.training.seed);
    let feature_len: usize = data.feature_shape().iter().product();
    let encode = |s: &mut Session, samples: &[usize]| {
        let mut features = vec![0.0; samples.len() * feature_len];
        for (row, &i) in features.chunks_mut(feature_len).zip(samples) {
            data.copy_features(i, row);
        }
        let traced = s.trace(&features).unwrap();
        let output = |name: &str| {
            let id = project
                .graph
                .nodes
                .iter()
                .find(|n| n.name == name)
                .unwrap()
                .id;
            traced
                .outputs
                .iter()
                .find(|(n, _)| *n == id)
                .unwrap()
                .1
                .values
                .clone()
        };
        (features, output("code"), output("image"))
    };
    let class = |i: usize| {
        let mut c = [0];
        data.copy_classes(i, &mut c);
        c[0]
    };
    let train_part = &splits.train;
    let (_, known, _) = encode(&mut s, train_part);
    let (pixels, codes, rebuilt) = encode(&mut s, &splits.validation);
    let mut right = 0;
    for (v, code) in codes.chunks(2).enumerate() {
        let mut near: Vec<(f32, usize)> = known
            .chunks(2)
            .zip(train_part)
            .map(|(k, &i)| {
                (
                    (k[0] - code[0]).powi(2) + (k[1] - code[1]).powi(2),
                    class(i),
                )
            })
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut votes = [0; 10];
        for &(_, c) in &near[..20] {
            votes[c] += 1;
        }
        let vote = (0..10)
            .max_by_key(|&c| (votes[c], std::cmp::Reverse(c)))
            .unwrap();
        right += (vote == class(splits.validation[v])) as usize;
    }
    let accuracy = right as f32 / splits.validation.len() as f32;
    let mse = pixels
        .iter()
        .zip(&rebuilt)
        .map(|(x, logit)| (1.0 / (1.0 + (-logit).exp()) - x).powi(2))
        .sum::<f32>()
        / pixels.len() as f32;
    let variance = {
        let mean = pixels.iter().sum::<f32>() / pixels.len() as f32;
        pixels.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / pixels.len() as f32
    };
    println!(
        "20-NN accuracy on the codes {accuracy:.3}; reconstruction MSE {mse:.4} (pixel variance {variance:.4})"
    );
    assert!(accuracy >= 0.7, "20-NN accuracy on the codes: {accuracy}");
    assert!(
        mse < 0.5 * variance,
        "reconstruction MSE {mse} against variance {variance}"
    );
}
