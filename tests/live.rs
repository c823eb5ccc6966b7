//! The live training view driven as a teacher drives it: press Train on a template and watch.
//! Training runs on its own thread in real time, so the tests run frames until what they wait
//! for has happened (or a generous time has passed).

mod support;

use std::time::{Duration, Instant};

use egui::{Role, Vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use netloom::graph::{BackendChoice, Project};
use netloom::train::TensorKind;
use netloom::ui::{NetloomApp, TEMPLATES, Tab};
use support::{harness, select};

/// The spiral template, training for `epochs`.
fn spiral_for(epochs: usize) -> Project {
    let mut project = TEMPLATES[0].project();
    project.training.epochs = epochs;
    project
}

/// The app on `project`, training at full speed.
fn app(project: Project) -> NetloomApp {
    let mut app = NetloomApp::new(project, None, None);
    app.run.set_pace(None);
    app
}

/// Runs frames until `done` holds; fails after a minute.
fn until(h: &mut Harness<'_, NetloomApp>, what: &str, done: impl Fn(&NetloomApp) -> bool) {
    let started = Instant::now();
    while !done(h.state()) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what} (at step {}, {}, {:?})",
            h.state().run.steps(),
            if h.state().run.running {
                "running"
            } else {
                "paused"
            },
            h.state().run.notice
        );
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    h.run_steps(2);
}

fn click(h: &mut Harness<'_, NetloomApp>, label: &str) {
    h.get_by_role_and_label(Role::Button, label).click();
    h.run_steps(2);
}

/// Pauses and waits until the trainer has reported every step it started.
fn pause(h: &mut Harness<'_, NetloomApp>) -> u64 {
    click(h, "Pause");
    until(h, "the pause", |app| !app.run.running);
    let steps = h.state().run.steps();
    // Nothing more arrives once paused.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    assert_eq!(h.state().run.steps(), steps);
    steps
}

fn mean(points: &[[f64; 2]]) -> f64 {
    points.iter().map(|p| p[1]).sum::<f64>() / points.len() as f64
}

#[test]
fn pressing_train_plots_a_falling_loss() {
    let mut h = harness(app(spiral_for(100_000)));
    h.get_by_label_contains("Not trained yet");
    click(&mut h, "Train");
    until(&mut h, "600 steps", |app| app.run.steps() >= 600);
    let loss = h.state().run.history.loss.clone();
    assert!(loss.len() >= 600, "every step is a point of the loss plot");
    let (first, last) = (mean(&loss[..50]), mean(&loss[loss.len() - 50..]));
    assert!(last < first * 0.7, "the loss fell: {first} then {last}");
    h.get_by_label_contains("steps/s");
    // The trainer took the dataset the window had loaded rather than loading its own: the
    // panel, the run's offer and the session hold the one copy.
    let (_, dataset) = h.state().dataset.shared().unwrap();
    assert_eq!(std::sync::Arc::strong_count(dataset), 3);
    pause(&mut h);
    h.get_by_label_contains(&format!("Paused at step {} ·", h.state().run.steps()));
}

#[test]
fn the_loss_plot_has_its_legend_above_it_and_a_log_scale() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "some steps", |app| app.run.steps() >= 50);
    pause(&mut h);
    // The legend is a row of labels over the plot, not a box over its lines; the scale's box
    // leads that row rather than taking one of its own.
    let legend = h.get_by_label("Loss (smoothed)").rect();
    let toggle = h.get_by_role_and_label(Role::CheckBox, "Log scale");
    assert!(toggle.rect().right() <= legend.left());
    assert!(toggle.rect().y_range().contains(legend.center().y));
    assert!(legend.bottom() <= h.state().training.view_rect.center().y);
    toggle.click();
    h.run_steps(2);
    let toggle = h.get_by_role_and_label(Role::CheckBox, "Log scale");
    assert_eq!(
        toggle.accesskit_node().toggled(),
        Some(egui::accesskit::Toggled::True)
    );
    // The legend stays where it was: nothing jumps when the scale changes.
    assert_eq!(h.get_by_label("Loss (smoothed)").rect(), legend);
}

#[test]
fn pause_then_step_advances_exactly_one_step() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "some steps", |app| app.run.steps() >= 20);
    let paused_at = pause(&mut h);
    click(&mut h, "Step");
    until(&mut h, "the step", |app| app.run.steps() > paused_at);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    assert_eq!(h.state().run.steps(), paused_at + 1);
    assert!(!h.state().run.running);
    h.get_by_label_contains(&format!("Paused at step {} ·", paused_at + 1));
}

#[test]
fn a_learning_rate_change_applies_while_training_without_a_reset() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "some steps", |app| app.run.steps() >= 50);
    h.get_by_role_and_label(Role::SpinButton, "Learning rate")
        .set_value_accesskit(0.003);
    h.run_steps(2);
    let changed_at = h.state().run.steps();
    until(&mut h, "steps at the new rate", |app| {
        app.run.steps() > changed_at + 50
    });
    pause(&mut h);
    let rates = &h.state().run.history.learning_rate;
    assert_eq!(rates[0][1] as f32, 0.01);
    assert_eq!(rates.last().unwrap()[1] as f32, 0.003);
    // One run throughout: the steps count on from 1 without a gap or a restart.
    assert!(
        rates
            .iter()
            .enumerate()
            .all(|(i, p)| p[0] == (i + 1) as f64)
    );
}

#[test]
fn a_huge_learning_rate_pauses_on_nan_and_points_at_the_node() {
    let mut h = harness(app(spiral_for(100_000)));
    h.get_by_role_and_label(Role::SpinButton, "Learning rate")
        .set_value_accesskit(1e30);
    h.run_steps(2);
    click(&mut h, "Train");
    until(&mut h, "the NaN pause", |app| app.run.non_finite.is_some());
    assert!(!h.state().run.running);
    h.get_by_label_contains("produced a NaN or an infinity");
    h.get_by_label_contains("learning rate that is too high");
    let step = h.state().run.non_finite.as_ref().unwrap().step;
    h.get_by_label_contains(&format!("Stopped on NaN at step {step}"));
    // The node it came from is marked on the canvas.
    let node = h.state().run.non_finite.as_ref().unwrap().node.unwrap();
    let name = h
        .state()
        .editor
        .project
        .graph
        .node(node)
        .unwrap()
        .name
        .clone();
    h.get_by_label(&format!("{name}: NaN or infinity here"));
}

#[test]
fn editing_the_graph_while_training_keeps_the_weights_that_still_fit() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "some steps", |app| app.run.steps() >= 200);
    let paused_at = pause(&mut h);
    select(&mut h, "hidden2");
    h.get_by_role_and_label(Role::SpinButton, "Units")
        .set_value_accesskit(32.0);
    h.run_steps(2);
    until(&mut h, "the new program", |app| {
        app.run
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("fresh"))
    });
    // hidden2 and the layer after it changed shape; hidden1 kept its weights.
    let notice = h.state().run.notice.clone().unwrap();
    for fresh in ["hidden2.weight", "hidden2.bias", "scores.weight"] {
        assert!(notice.contains(fresh), "{notice}");
    }
    assert!(!notice.contains("hidden1"), "{notice}");
    assert!(!notice.contains("scores.bias"), "{notice}");
    h.get_by_label_contains("started again from fresh values");
    // Training goes on from there, and so do the plots.
    click(&mut h, "Step");
    until(&mut h, "the step", |app| app.run.steps() > paused_at);
    assert_eq!(h.state().run.steps(), paused_at + 1);
}

#[test]
fn nodes_show_live_health_and_name_dead_relus() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "statistics", |app| app.canvas.health.len() >= 4);
    let health = &h.state().canvas.health;
    let hidden1 = h.state().editor.project.graph.nodes[1].id;
    assert!(health[&hidden1].magnitude > 0.0);
    pause(&mut h);
    // Far too large a step for plain SGD knocks the ReLUs silent.
    click(&mut h, "Reset");
    h.get_by_label("Optimizer").click();
    h.run_steps(2);
    h.get_by_label("SGD").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::SpinButton, "Learning rate")
        .set_value_accesskit(1000.0);
    h.run_steps(2);
    // Every step watched and a few milliseconds apart, so the statistics of the steps between
    // the ReLUs dying and the loss overflowing are seen, however busy the machine is.
    h.state_mut().run.set_watch(Some(Duration::ZERO));
    h.state_mut().run.set_pace(Some(Duration::from_millis(5)));
    click(&mut h, "Train");
    until(&mut h, "a health badge", |app| {
        app.canvas
            .health
            .values()
            .any(|n| n.warnings.iter().any(|w| w.starts_with("Dead ReLUs")))
    });
    pause(&mut h);
    let badges = ["hidden1", "hidden2"]
        .iter()
        .filter(|n| h.query_by_label(&format!("{n} health")).is_some())
        .count();
    assert!(badges > 0, "a badge on a hidden layer");
    // Hovering the badge shows its diagnosis, not the node's description.
    let node = ["hidden1", "hidden2"]
        .into_iter()
        .find(|n| h.query_by_label(&format!("{n} health")).is_some())
        .unwrap();
    h.hover_at(support::on_canvas(&h, &format!("{node} health")));
    // Tooltips wait for the pointer to rest.
    h.run_steps(20);
    assert!(
        h.query_by_label_contains("Dead ReLUs").is_some()
            || h.query_by_label_contains("Mostly silent").is_some()
            || h.query_by_label_contains("gradient").is_some(),
        "the diagnosis is shown"
    );
    let description = format!("{node}: ");
    assert!(
        !h.query_all_by_label_contains(&description).any(|n| n
            .accesskit_node()
            .label()
            .is_some_and(|l| l.starts_with(&description))),
        "not the node's description"
    );
}

#[test]
fn a_paused_node_shows_its_output_weights_gradients_and_optimizer_state() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "some steps", |app| app.run.steps() >= 30);
    select(&mut h, "hidden1");
    h.get_by_label_contains("Pause training (or press Step) to look inside");
    pause(&mut h);
    until(&mut h, "the look inside", |app| {
        app.run.inspection.is_some()
    });
    let steps = h.state().run.steps();
    h.get_by_label(&format!("Inside, after step {steps}"));
    h.get_by_label_contains("Output for sample 1: hidden1");
    h.get_by_label_contains("Gradient of the output for sample 1: hidden1");
    h.get_by_label("Weights: hidden1.weight [64×2]");
    h.get_by_role_and_label(Role::Image, "Histogram of hidden1.weight");
    h.get_by_label("Gradient: hidden1.weight [64×2]");
    h.get_by_label("Optimizer state: hidden1.weight.exp_avg [64×2]");
    h.get_by_label("Optimizer state: hidden1.weight.exp_avg_sq [64×2]");
    // The weights shown are the run's own.
    let inspection = h.state().run.inspection.clone().unwrap();
    let weight = inspection
        .tensors
        .iter()
        .find(|t| t.name == "hidden1.weight")
        .unwrap();
    assert_eq!(weight.values.len(), 128);
    assert!(weight.values.iter().all(|v| v.is_finite()) && weight.stats.std > 0.0);
    // After one more step the view follows.
    click(&mut h, "Step");
    until(&mut h, "the next look", |app| {
        app.run
            .inspection
            .as_ref()
            .is_some_and(|i| i.step == steps + 1)
    });
    h.get_by_label(&format!("Inside, after step {}", steps + 1));
}

#[test]
fn update_ratios_are_plotted_and_wires_carry_their_gradient() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "a few measured steps", |app| {
        app.run
            .history
            .of_kind(TensorKind::Change)
            .all(|(_, series)| series.len() >= 3)
            && app.canvas.health.values().any(|n| n.gradient.is_some())
    });
    pause(&mut h);
    // Each step moves each parameter by a small, finite fraction of its size (after the first
    // steps, in which the biases grow from zero).
    let history = &h.state().run.history;
    let weights: Vec<_> = history.of_kind(TensorKind::Weight).collect();
    let changes: Vec<_> = history.of_kind(TensorKind::Change).collect();
    assert_eq!(changes.len(), weights.len(), "one change per parameter");
    for ((w, values), (c, moved)) in weights.iter().zip(&changes) {
        assert_eq!(c.name, format!("{} (change)", w.name));
        let ratio = moved.last().unwrap().1.l2 / values.last().unwrap().1.l2;
        assert!(ratio > 0.0 && ratio < 1.0, "{}: {ratio}", w.name);
    }
    click(&mut h, "Update ratio");
    assert!(
        h.query_by_label_contains("Press Train").is_none(),
        "the plot is drawn"
    );
    // The wire out of the first hidden layer tells how much gradient flows back along it.
    let hidden1 = h.state().editor.project.graph.nodes[1].id;
    assert!(h.state().canvas.health[&hidden1].gradient.unwrap() > 0.0);
    let wire = support::on_canvas(&h, "hidden1 → hidden2: [64]");
    h.hover_at(wire);
    // Tooltips wait for the pointer to rest.
    h.run_steps(20);
    h.get_by_label_contains("Gradient flowing back into hidden1");
}

#[test]
fn the_live_view_follows_training_on_the_gpu() {
    let device = match netloom::engine::gpu::open(true) {
        Ok(gpu) => gpu.info.name.clone(),
        Err(e) if std::env::var("NETLOOM_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("NETLOOM_REQUIRE_GPU=1 but {e}")
        }
        Err(e) => {
            eprintln!("no GPU here, nothing to check: {e}");
            return;
        }
    };
    let mut project = spiral_for(100_000);
    project.training.backend = BackendChoice::Gpu;
    let mut h = harness(app(project));
    click(&mut h, "Train");
    // Statistics reduced on the device: changes, gradients along the wires, silent units.
    until(&mut h, "statistics from the device", |app| {
        let history = &app.run.history;
        history
            .of_kind(TensorKind::Change)
            .all(|(_, series)| series.len() >= 2)
            && app.canvas.health.values().any(|n| n.gradient.is_some())
            && history.loss.len() >= 100
    });
    pause(&mut h);
    assert!(
        h.query_all_by_label_contains(&device).next().is_some(),
        "the device is named"
    );
    let history = &h.state().run.history;
    for (w, series) in history.of_kind(TensorKind::Change) {
        let (_, stats) = series.last().unwrap();
        assert!(stats.l2 > 0.0 && stats.l2.is_finite(), "{}", w.name);
    }
    let loss = &history.loss;
    let (first, last) = (mean(&loss[..20]), mean(&loss[loss.len() - 20..]));
    assert!(
        last < first,
        "the loss fell on the device: {first} then {last}"
    );
}

/// The spiral trained to the end of a short run, on `tab`.
fn trained(tab: Tab) -> Harness<'static, NetloomApp> {
    let mut app = app(spiral_for(40));
    // Statistics arrive by the clock, so the sparklines they draw differ from run to run.
    app.run.set_watch(None);
    app.training.tab = tab;
    let mut h = Harness::builder()
        .with_size(Vec2::new(1280.0, 800.0))
        .with_step_dt(0.05)
        .build_ui_state(|ui, app: &mut NetloomApp| app.ui(ui), app);
    support::until_loaded(&mut h);
    click(&mut h, "Train");
    until(&mut h, "the end of training", |app| {
        app.run.finished.is_some()
    });
    h
}

#[test]
fn the_decision_boundary_forms_under_the_points() {
    let mut h = trained(Tab::DecisionBoundary);
    // The boundary is asked for again once the last step is in; wait for that answer.
    until(&mut h, "the final boundary", |app| {
        app.training.task.is_current(&app.run)
    });
    h.get_by_role_and_label(Role::Image, "Decision boundary");
    // A smooth picture: at least 100 by 100 samples of the plane, asked for in one request.
    let [columns, rows] = h.state().training.task.boundary_cells().unwrap();
    assert!(columns >= 100 && rows >= 100, "{columns}x{rows}");
    // Which colour is which class.
    h.get_by_label("Legend: class 0");
    h.get_by_label("Legend: class 1");
    // The square fills the view's height.
    let plot = h
        .get_by_role_and_label(Role::Image, "Decision boundary")
        .rect();
    assert!(plot.height() > 140.0, "{plot:?}");
    assert!((plot.width() - plot.height()).abs() < 6.0, "{plot:?}");
    // The test split's points can be hidden and shown again.
    assert!(h.state().training.task.show_test_points);
    h.get_by_role_and_label(Role::CheckBox, "Show test points")
        .click();
    h.run_steps(2);
    assert!(!h.state().training.task.show_test_points);
    h.get_by_role_and_label(Role::CheckBox, "Show test points")
        .click();
    h.run_steps(2);
    h.snapshot("decision_boundary");
}

#[test]
fn views_that_do_not_apply_to_the_dataset_are_not_offered() {
    let h = harness(app(spiral_for(100_000)));
    h.get_by_label("Decision boundary");
    h.get_by_label("Neurons");
    let mnist = TEMPLATES
        .iter()
        .find(|t| t.name == "MNIST CNN")
        .unwrap()
        .project();
    let mut h = harness(app(mnist));
    h.get_by_label("Loss");
    h.get_by_label("Confusion matrix");
    assert!(h.query_by_label("Decision boundary").is_none());
    assert!(h.query_by_label("Neurons").is_none());
    assert!(
        h.query_by_label_contains("two input features").is_none(),
        "no sentence in their place"
    );
    // A view chosen before the dataset was known goes back to the loss.
    h.state_mut().training.tab = Tab::Neurons;
    h.run_steps(2);
    assert_eq!(h.state().training.tab, Tab::Loss);
}

#[test]
fn each_neuron_shows_its_response_over_the_plane() {
    let mut h = trained(Tab::Neurons);
    until(&mut h, "the final neuron maps", |app| {
        app.training.task.neurons.is_current(&app.run)
    });
    let layers: Vec<(String, usize, usize)> = h
        .state()
        .training
        .task
        .neurons
        .layers
        .iter()
        .map(|l| (l.name.clone(), l.neurons, l.maps.len()))
        .collect();
    // Input, two hidden layers of 64 (the first 16 drawn) and two scores.
    assert_eq!(layers.len(), 4, "{layers:?}");
    assert_eq!((layers[1].1, layers[1].2), (64, 16));
    assert_eq!((layers[3].1, layers[3].2), (2, 2));
    h.get_by_role_and_label(Role::Image, "hidden1 neuron 1");
    h.get_by_role_and_label(Role::Image, "scores neuron 2");
    assert_eq!(h.query_all_by_label("first 16 of 64").count(), 2);
    // Neurons that are zero everywhere on the plane are marked dead; only ReLU layers have any.
    let dead: Vec<String> = h
        .query_all_by_label_contains("(dead)")
        .filter_map(|n| n.accesskit_node().label())
        .collect();
    assert!(!dead.is_empty(), "a trained ReLU net has some");
    assert!(dead.iter().all(|d| d.starts_with("hidden")), "{dead:?}");
    h.snapshot("neurons");
}

#[test]
fn the_confusion_matrix_counts_the_validation_set() {
    let mut h = trained(Tab::Confusion);
    let matrix = h.state().run.history.confusion.clone().unwrap();
    let total: u32 = matrix.iter().flatten().sum();
    assert_eq!(total, 90, "the spiral's validation set");
    h.get_by_label(&format!("true 0, predicted 0: {}", matrix[0][0]));
    h.get_by_label(&format!("true 1, predicted 0: {}", matrix[1][0]));
    h.snapshot("confusion_matrix");
}

#[test]
fn a_confusion_cell_opens_its_samples_with_their_predictions() {
    let mut h = trained(Tab::Confusion);
    let matrix = h.state().run.history.confusion.clone().unwrap();
    h.get_by_label(&format!("true 1, predicted 1: {}", matrix[1][1]))
        .click();
    h.run_steps(2);
    assert_eq!(h.state().training.tab, Tab::Predictions);
    let heading = format!(
        "Validation samples of class 1 predicted as 1: {}",
        matrix[1][1]
    );
    // Predictions asked for during training are replaced by those of the final weights.
    until(&mut h, "the final predictions", |app| {
        app.training.task.predictions_are_current(&app.run)
    });
    h.get_by_label(&heading);
    click(&mut h, "Show all");
    h.get_by_label_contains("Validation samples: 90");
    // A sample shows its way through the network: every node's output for it.
    h.query_all_by_role(Role::Link).next().unwrap().click();
    until(&mut h, "the forward pass", |app| {
        app.training.task.traced().is_some()
    });
    h.get_by_label_contains("truly");
    let traced = h.state().training.task.traced().cloned().unwrap();
    let names: Vec<&str> = traced
        .outputs
        .iter()
        .map(|(_, o)| o.name.as_str())
        .collect();
    for layer in ["hidden1", "hidden2", "scores"] {
        assert!(names.iter().any(|n| n.starts_with(layer)), "{names:?}");
    }
    assert_eq!(traced.prediction.len(), 2);
    // Both classes' probabilities, which add up to one.
    let shown: f32 = (0..2)
        .map(|k| {
            let prefix = format!("class {k}: ");
            let node = h.get_by_label_contains(&prefix);
            let label = node.accesskit_node().label().unwrap();
            label
                .trim_end_matches('%')
                .rsplit(' ')
                .next()
                .unwrap()
                .parse::<f32>()
                .unwrap()
        })
        .sum();
    assert!((shown - 100.0).abs() <= 1.0, "{shown}");
}

#[test]
fn train_refuses_a_network_with_errors_and_lists_them() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "some steps", |app| app.run.steps() >= 20);
    h.get_by_label_contains("Training · step");
    let paused_at = pause(&mut h);
    // Without its input the network cannot train.
    select(&mut h, "input");
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    h.get_by_label_contains("can't train: ");
    click(&mut h, "Train");
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    assert!(!h.state().run.running, "the old network is not trained on");
    assert_eq!(h.state().run.steps(), paused_at);
    // The problems are listed.
    h.get_by_label_contains("There is no Input layer");
}

#[test]
fn an_edit_that_breaks_the_network_while_training_pauses_and_says_so() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "some steps", |app| app.run.steps() >= 20);
    select(&mut h, "input");
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    until(&mut h, "the pause", |app| !app.run.running);
    h.get_by_label_contains("What was trained is the last network without them");
    h.get_by_label_contains(&format!("Paused at step {}", h.state().run.steps()));
    // Undoing the edit lets training go on.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    let paused_at = h.state().run.steps();
    click(&mut h, "Train");
    until(&mut h, "more steps", |app| app.run.steps() > paused_at + 20);
}

#[test]
fn after_the_last_epoch_train_more_goes_on_for_that_many_epochs() {
    let mut h = harness(app(spiral_for(3)));
    click(&mut h, "Train");
    until(&mut h, "the end of training", |app| {
        app.run.finished.is_some()
    });
    h.get_by_label_contains("Finished (all epochs done)");
    assert_eq!(h.state().run.epochs_done(), 3);
    h.get_by_role_and_label(Role::Button, "Reset");
    click(&mut h, "Train 3 more epochs");
    until(&mut h, "the end of the epochs added", |app| {
        app.run.finished.is_some()
    });
    assert_eq!(h.state().run.epochs_done(), 6);
    h.get_by_label_contains("Finished (all epochs done)");
}

/// Where the tab row and the canvas are on screen.
fn layout(h: &Harness<'_, NetloomApp>) -> (f32, f32) {
    let tabs = h.get_by_label("Update ratio").rect().min.y;
    let canvas = support::on_canvas(h, "hidden1 input").y;
    (tabs, canvas)
}

#[test]
fn notices_and_views_never_move_the_tab_row_or_the_canvas() {
    let mut h = trained(Tab::Loss);
    let at = layout(&h);
    h.state_mut().notice = Some(("Saved /tmp/a file.json".into(), false));
    h.run_steps(2);
    h.get_by_label_contains("Saved /tmp/a file.json");
    assert_eq!(layout(&h), at, "a notice of the window");
    h.state_mut().run.notice = Some("The network changed: layers started again. ".repeat(12));
    h.run_steps(2);
    assert_eq!(layout(&h), at, "a long notice of the run");
    click(&mut h, "Dismiss");
    assert!(
        h.query_by_label_contains("Saved /tmp/a file.json")
            .is_none()
    );
    assert_eq!(layout(&h), at, "no notice");
    for tab in [
        "Confusion matrix",
        "Predictions",
        "Decision boundary",
        "Neurons",
        "Histograms",
        "Loss",
    ] {
        click(&mut h, tab);
        h.run_steps(3);
        assert_eq!(layout(&h), at, "the {tab} view");
    }
    // A sample's way through the network.
    click(&mut h, "Predictions");
    until(&mut h, "the predictions", |app| {
        app.training.task.predictions_are_current(&app.run)
    });
    h.query_all_by_role(Role::Link).next().unwrap().click();
    until(&mut h, "the forward pass", |app| {
        app.training.task.traced().is_some()
    });
    assert_eq!(layout(&h), at, "a traced sample");
}

#[test]
fn a_fallback_notice_goes_when_the_backend_changes() {
    let mut project = spiral_for(100_000);
    project.training.backend = BackendChoice::Gpu;
    let mut h = harness(app(project));
    click(&mut h, "Train");
    until(&mut h, "some steps", |app| app.run.steps() >= 5);
    let Some(fallback) = h.state().run.fallback.clone() else {
        eprintln!("a GPU here: no fallback to see");
        return;
    };
    h.get_by_label_contains(&fallback);
    pause(&mut h);
    h.get_by_role_and_label(Role::ComboBox, "Backend").click();
    h.run_steps(2);
    h.get_by_label("CPU").click();
    h.run_steps(2);
    until(&mut h, "the trainer on the CPU", |app| {
        !app.run.is_starting() && app.run.fallback.is_none()
    });
    h.run_steps(5);
    assert!(h.query_by_label_contains(&fallback).is_none());
}

#[test]
fn every_training_setting_is_in_the_window() {
    let mut h = harness(app(spiral_for(100_000)));
    let spin = |h: &mut Harness<'_, NetloomApp>, label: &str, value: f64| {
        h.get_by_role_and_label(Role::SpinButton, label)
            .set_value_accesskit(value);
        h.run_steps(2);
    };
    // The settings scroll: a click reaches a box the user would scroll to.
    let check = |h: &mut Harness<'_, NetloomApp>, label: &str| {
        h.get_by_role_and_label(Role::CheckBox, label)
            .click_accesskit();
        h.run_steps(2);
    };
    spin(&mut h, "L1 penalty", 0.001);
    assert_eq!(h.state().editor.project.training.l1, 0.001);
    check(&mut h, "Gradient clipping");
    assert_eq!(h.state().editor.project.training.clip_norm, Some(1.0));
    spin(&mut h, "Clip norm", 2.5);
    assert_eq!(h.state().editor.project.training.clip_norm, Some(2.5));
    spin(&mut h, "Epsilon", 1e-6);
    assert!(matches!(
        h.state().editor.project.training.optimizer,
        netloom::graph::Optimizer::Adam { epsilon, .. } if epsilon == 1e-6
    ));
    assert!(h.state().editor.project.training.shuffle);
    check(&mut h, "Shuffle");
    assert!(!h.state().editor.project.training.shuffle);
    check(&mut h, "Early stopping");
    spin(&mut h, "Patience (epochs)", 3.0);
    spin(&mut h, "Minimum change", 0.01);
    let early = h.state().editor.project.training.early_stopping.unwrap();
    assert_eq!((early.patience, early.min_delta), (3, 0.01));
    assert!(!early.restore_best);
    check(&mut h, "Restore the best weights");
    // Saved with the project, as every other setting.
    let early = h.state().editor.project.training.early_stopping.unwrap();
    assert!(early.restore_best);
}

#[test]
fn when_training_finishes_the_test_metrics_are_shown() {
    let mut h = harness(app(spiral_for(3)));
    click(&mut h, "Train");
    until(&mut h, "the end of training", |app| {
        app.run.finished.is_some()
    });
    let test = h.state().run.test.clone().unwrap();
    assert_eq!(test.samples, 90);
    h.get_by_label_contains(&format!("Test (90 samples): loss {:.4}", test.loss));
    h.get_by_label_contains("accuracy");
}

/// The loss of the first step after pressing Step on a fresh run.
fn first_loss(h: &mut Harness<'_, NetloomApp>) -> f64 {
    click(h, "Step");
    until(h, "the first step", |app| app.run.steps() == 1);
    h.state().run.history.loss[0][1]
}

#[test]
fn a_new_seed_applies_on_reset() {
    let mut h = harness(app(spiral_for(100_000)));
    let before = first_loss(&mut h);
    h.get_by_role_and_label(Role::SpinButton, "Seed")
        .set_value_accesskit(7.0);
    h.run_steps(2);
    click(&mut h, "Reset");
    until(&mut h, "the reset", |app| app.run.steps() == 0);
    let after = first_loss(&mut h);
    assert_ne!(
        before, after,
        "new weights and a new split from the new seed"
    );
    // The seed is what decides: the old one gives the old run back.
    h.get_by_role_and_label(Role::SpinButton, "Seed")
        .set_value_accesskit(h.state().editor.project.training.seed as f64 - 7.0);
    h.run_steps(2);
    click(&mut h, "Reset");
    until(&mut h, "the reset", |app| app.run.steps() == 0);
    assert_eq!(first_loss(&mut h), before);
}

/// hidden1's optimizer state as the look inside shows it after `step`.
fn exp_avg_sq(h: &mut Harness<'_, NetloomApp>, step: u64) -> Vec<f32> {
    select(h, "hidden1");
    let graph = &h.state().editor.project.graph;
    let hidden1 = graph.nodes.iter().find(|n| n.name == "hidden1").unwrap().id;
    // The node looked at before may have an answer for the same step.
    until(h, "the look inside", |app| {
        app.run
            .inspection
            .as_ref()
            .is_some_and(|i| i.step == step && i.node == hidden1)
    });
    let inspection = h.state().run.inspection.clone().unwrap();
    inspection
        .tensors
        .iter()
        .find(|t| t.name == "hidden1.weight.exp_avg_sq")
        .unwrap()
        .values
        .clone()
}

#[test]
fn a_hot_edit_goes_on_counting_epochs_and_keeps_the_optimizer_state() {
    let mut h = harness(app(spiral_for(100_000)));
    click(&mut h, "Train");
    until(&mut h, "some epochs", |app| app.run.epochs_done() >= 4);
    let paused_at = pause(&mut h);
    let epoch = h.state().run.history.last.unwrap().epoch;
    let before = exp_avg_sq(&mut h, paused_at);
    select(&mut h, "hidden2");
    h.get_by_role_and_label(Role::SpinButton, "Units")
        .set_value_accesskit(32.0);
    h.run_steps(2);
    until(&mut h, "the new program", |app| {
        app.run
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("fresh"))
    });
    click(&mut h, "Step");
    until(&mut h, "the step", |app| app.run.steps() > paused_at);
    assert_eq!(h.state().run.steps(), paused_at + 1);
    // The epoch goes on from where it was, not from the first.
    assert!(h.state().run.history.last.unwrap().epoch >= epoch);
    h.get_by_label_contains(&format!("epoch {}", epoch + 1));
    // Adam's second moment of the untouched layer went on from its value (one step at
    // beta2 = 0.999 keeps at least 99.9% of it), rather than from zero.
    let after = exp_avg_sq(&mut h, paused_at + 1);
    assert_eq!(after.len(), before.len());
    let (sum_before, sum_after): (f32, f32) = (before.iter().sum(), after.iter().sum());
    assert!(sum_before > 0.0);
    assert!(
        sum_after >= 0.99 * sum_before,
        "{sum_before} then {sum_after}"
    );
    for (b, a) in before.iter().zip(&after) {
        assert!(*a >= 0.998 * b, "{b} then {a}");
    }
}

#[test]
fn the_model_menu_saves_and_loads_trained_weights_and_exports_pytorch() {
    let root = std::env::temp_dir().join(format!("netloom-weights-ui-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let mut h = harness(app(spiral_for(100_000)));
    h.state_mut().use_builtin_file_chooser(root.clone());
    click(&mut h, "Train");
    until(&mut h, "some steps", |app| app.run.steps() >= 50);
    pause(&mut h);
    let menu = |h: &mut Harness<'_, NetloomApp>, item: &str| {
        h.get_by_label("Model").click();
        h.run_steps(2);
        click(h, item);
        click(h, "OK");
    };
    let files = |ext: &str| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&root)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect()
    };
    menu(&mut h, "Save trained weights…");
    until(&mut h, "the weights on disk", |_| {
        !files("safetensors").is_empty()
    });
    let saved = files("safetensors").remove(0);
    let tensors = netloom::io::load_weights(&saved).unwrap();
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "hidden1.bias",
            "hidden1.weight",
            "hidden2.bias",
            "hidden2.weight",
            "scores.bias",
            "scores.weight"
        ]
    );

    click(&mut h, "Reset");
    h.get_by_label("Model").click();
    h.run_steps(2);
    click(&mut h, "Load weights…");
    h.get_by_label(saved.file_name().unwrap().to_str().unwrap())
        .click();
    h.run_steps(2);
    click(&mut h, "OK");
    until(&mut h, "the weights loaded", |app| {
        app.notice
            .as_ref()
            .is_some_and(|(n, _)| n.starts_with("Loaded weights from"))
    });

    menu(&mut h, "Export PyTorch module…");
    until(&mut h, "the module on disk", |_| !files("py").is_empty());
    let code = std::fs::read_to_string(files("py").remove(0)).unwrap();
    assert!(code.contains("self.hidden1 = nn.Linear(2, 64"), "{code}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn presenting_a_run_leaves_the_plot_room_to_read() {
    let mut h = trained(Tab::Loss);
    h.get_by_role_and_label(Role::Button, "Present").click();
    h.run_steps(4);
    assert!(h.state().presenting());
    // Ten tabs wrapped over rows would leave the plot no height: they become one list.
    h.get_by_role_and_label(Role::ComboBox, "View");
    assert!(h.query_by_label("Update ratio").is_none());
    let (view, pixels) = (h.state().training.view_rect, h.ctx.pixels_per_point());
    assert!(
        view.height() * pixels >= 180.0,
        "the loss view is {} px high",
        view.height() * pixels
    );
    let screen = h.ctx.content_rect();
    assert!(view.max.x <= screen.max.x, "{view:?} runs past {screen:?}");
    h.get_by_role_and_label(Role::CheckBox, "Log scale");
}

#[test]
fn a_text_model_writes_from_the_prompt_as_it_trains() {
    let template = TEMPLATES
        .iter()
        .find(|t| t.name.contains("Shakespeare"))
        .expect("a text template");
    let mut project = template.project();
    // A small LSTM, so that the test is quick; the template trains the real one.
    for node in &mut project.graph.nodes {
        if let netloom::graph::Layer::Recurrent { hidden_size, .. } = &mut node.layer {
            *hidden_size = 16;
        }
    }
    let mut app = app(project);
    app.run.set_watch(None);
    app.training.text.every = 5;
    app.training.text.length = 12;
    let mut h = harness(app);
    click(&mut h, "Generated text");
    h.get_by_label_contains("every 5 steps the network writes 12 characters");
    // The prompt's characters come from the text; one it lacks is named and left out.
    h.state_mut().training.text.prompt = "To be~".into();
    h.run_steps(2);
    h.get_by_label_contains("The text has no \"~\"");
    click(&mut h, "Train");
    until(&mut h, "two samples", |app| {
        app.training.text.samples.len() >= 2
    });
    let (step, prompt, text) = h.state().training.text.samples[1].clone();
    assert!(step >= 5, "{step}");
    assert_eq!(prompt, "To be~");
    assert_eq!(text.chars().count(), 12);
    h.get_by_label(&format!("Step {step}"));
    h.get_by_label(&format!("{prompt}{text}"));
}

/// The template called `name`, its recurrent layers and attention width shrunk so that a step
/// is quick (the template trains the real sizes).
fn small_template(name: &str) -> Project {
    let mut project = TEMPLATES
        .iter()
        .find(|t| t.name == name)
        .expect("the template")
        .project();
    for node in &mut project.graph.nodes {
        if let netloom::graph::Layer::Recurrent { hidden_size, .. } = &mut node.layer {
            *hidden_size = 16;
        }
    }
    project
}

/// Runs frames until a widget labelled `label` is shown; fails after a minute.
fn until_shown(h: &mut Harness<'_, NetloomApp>, label: &str) {
    let started = Instant::now();
    while h.query_by_label(label).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {label:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
}

#[test]
fn each_attention_head_shows_its_weights_for_the_chosen_sequence() {
    let mut h = harness(app(small_template("Tiny GPT (text)")));
    assert!(h.query_by_label("Recurrent state").is_none());
    click(&mut h, "Attention");
    h.get_by_label_contains("each attention head's weights for this sequence appear here");
    click(&mut h, "Step");
    until_shown(&mut h, "Layer 2, head 4");
    // One small map per layer and head; the first is drawn large.
    for layer in 1..=2 {
        for head in 1..=4 {
            h.get_by_role_and_label(Role::Button, &format!("Layer {layer}, head {head}"));
        }
    }
    assert_eq!(h.get_all_by_label("Layer 1, head 1").count(), 2);
    h.get_by_role_and_label(Role::Button, "Layer 2, head 3")
        .click();
    h.run_steps(2);
    assert_eq!(h.get_all_by_label("Layer 2, head 3").count(), 2);
    assert_eq!(h.get_all_by_label("Layer 1, head 1").count(), 1);
    h.get_by_role_and_label(Role::Image, "Attention weights of the chosen head");
    // The sequence's characters are written out, blanks made visible.
    let sequence = h
        .get_all_by_label_contains("·")
        .filter_map(|n| n.accesskit_node().value())
        .find(|text| !text.contains(' '));
    assert_eq!(sequence.map(|s| s.chars().count()), Some(64));
    h.get_by_label_contains("validation sequences");
}

#[test]
fn an_lstm_shows_its_states_and_gates_over_time_and_its_gradient_through_time() {
    let mut h = harness(app(small_template("Shakespeare LSTM (text)")));
    assert!(h.query_by_label("Attention").is_none());
    click(&mut h, "Recurrent state");
    click(&mut h, "Step");
    until_shown(&mut h, "Forget gate");
    for map in [
        "hidden state",
        "cell state",
        "input gate",
        "forget gate",
        "candidate",
        "output gate",
    ] {
        h.get_by_role_and_label(Role::Image, map);
    }
    h.get_by_label("Gradient through time");
    h.get_by_label_contains("16 units");
    assert!(h.query_by_label_contains("Take a training step").is_none());
}

#[test]
fn a_forecaster_draws_its_forecast_against_the_truth() {
    let mut h = harness(app(small_template("Sine forecast (series)")));
    assert!(h.query_by_label("Attention").is_none());
    // A regression has no accuracy to plot.
    assert!(h.query_by_label("Accuracy").is_none());
    click(&mut h, "Forecast");
    h.get_by_label_contains("to see the network's forecast for this series");
    click(&mut h, "Step");
    until_shown(
        &mut h,
        "What the network predicts at each step for the next one, against what came",
    );
    // Another series is forecast when chosen.
    h.state_mut().training.sequence.sample = 3;
    h.run_steps(2);
    until_shown(
        &mut h,
        "What the network predicts at each step for the next one, against what came",
    );
}

#[test]
fn inside_a_recurrent_node_one_time_step_can_be_looked_at_alone() {
    let mut h = harness(app(small_template("Shakespeare LSTM (text)")));
    click(&mut h, "Step");
    until(&mut h, "a step", |app| {
        app.run.steps() == 1 && !app.run.running
    });
    select(&mut h, "lstm");
    until(&mut h, "the look inside", |app| {
        app.run.inspection.is_some()
    });
    h.run_steps(2);
    // The whole sequence at first: one row per time step.
    h.get_by_label("Output for sample 1: lstm (hidden states l0) [64×16]");
    h.get_by_role_and_label(Role::CheckBox, "All time steps")
        .click_accesskit();
    h.run_steps(2);
    h.get_by_label("Time step");
    h.get_by_label("Output for sample 1: lstm (hidden states l0) at time step 1 [16]");
    h.get_by_label(
        "Gradient of the output for sample 1: lstm (hidden states l0) at time step 1 [16]",
    );
    // Weights have no time axis: they are shown whole.
    h.get_by_label("Weights: lstm.weight_hh_l0 [64×16]");
}

#[test]
fn a_sequence_task_shows_its_questions_and_answers_and_is_not_taken_for_a_text() {
    let mut h = harness(app(small_template("Transformer sorts digits")));
    h.run_steps(4);
    until_shown(
        &mut h,
        "The network reads each question, then is asked for the answer one token at a time:",
    );
    let examples = h
        .get_all_by_role(Role::Label)
        .filter_map(|n| n.accesskit_node().value())
        .find(|text| text.contains("  ->  "))
        .expect("the first questions and their answers");
    let first = examples.lines().next().unwrap();
    let (question, answer) = first.split_once("  ->  ").unwrap();
    let mut sorted: Vec<&str> = question.split(' ').take(6).collect();
    sorted.sort_unstable();
    assert_eq!(answer.split(' ').collect::<Vec<_>>(), sorted, "{first}");
    assert!(h.query_by_label("Generated text").is_none());
    h.get_by_label("Attention");
}

#[test]
fn an_autoencoder_shows_where_its_codes_land_and_what_it_rebuilds() {
    let mut h = harness(app(small_template("Autoencoder (MNIST, 2-D code)")));
    // It predicts no classes, so the class views are not offered.
    assert!(h.query_by_label("Accuracy").is_none());
    assert!(h.query_by_label("Confusion matrix").is_none());
    click(&mut h, "Latent space");
    h.get_by_label_contains("to see where the network puts each sample");
    click(&mut h, "Step");
    until_shown(
        &mut h,
        "Where 500 validation samples land at code (2 numbers each).",
    );
    h.get_by_label("Codes scatter");
    assert_eq!(h.query_all_by_label("Rebuilt").count(), 2);
}

#[test]
fn a_ring_of_gaussians_is_offered_as_a_dataset_with_a_class_per_mode() {
    let mut h = harness(app(spiral_for(100_000)));
    h.get_by_role_and_label(Role::ComboBox, "Dataset").click();
    h.run_steps(2);
    // The point sets end the list: the wheel brings them into view.
    h.hover_at(h.get_by_label("Xor (2D classes)").rect().center());
    h.step();
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, -2000.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(3);
    h.get_by_label("Ring of Gaussians (2D points)").click();
    until(&mut h, "the ring", |app| {
        app.dataset
            .dataset()
            .is_some_and(|d| netloom::data::Dataset::name(d) == "Ring of Gaussians")
    });
    h.run_steps(2);
    h.get_by_label("1000 samples: 700 to train, 150 to validate, 150 to test");
    // The spiral's two scores do not fit the ring's eight modes, and the loss says so.
    let problems = &h.state().editor.model.problems;
    assert!(
        problems.iter().any(|p| p.message.contains("8 classes")),
        "{problems:?}"
    );
}
