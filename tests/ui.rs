//! The editor driven as a user drives it: widgets found by their accessible labels, clicked and
//! dragged with the pointer, and checked by what the window shows.

use std::path::{Path, PathBuf};

mod support;

use egui::{Key, Modifiers, Pos2, Role, Vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use netloom::ui::{self, NetloomApp};
use support::{drag, harness, on_canvas, palette_entry, select, spiral, until_loaded, wire};

fn shortcut(h: &mut Harness<'_, NetloomApp>, modifiers: Modifiers, key: Key) {
    h.key_press_modifiers(modifiers, key);
    h.run_steps(2);
}

#[test]
fn the_spiral_network_is_built_from_an_empty_canvas_by_dragging_and_wiring() {
    let mut h = harness(NetloomApp::new(ui::empty_project(), None, None));
    for (i, layer) in ["Dense", "Dense", "Dense", "Softmax cross-entropy"]
        .iter()
        .enumerate()
    {
        let source = palette_entry(&mut h, layer);
        drag(
            &mut h,
            source,
            Pos2::new(310.0 + 205.0 * i as f32, 570.0 + 40.0 * i as f32),
        );
    }
    assert_eq!(h.state().editor.project.graph.nodes.len(), 5);
    for (from, to) in [
        ("input", "dense"),
        ("dense", "dense2"),
        ("dense2", "dense3"),
        ("dense3", "loss"),
    ] {
        wire(&mut h, from, to);
    }
    assert_eq!(h.state().editor.project.graph.edges.len(), 4);
    for (node, units) in [("dense", 64.0), ("dense2", 64.0), ("dense3", 2.0)] {
        select(&mut h, node);
        h.get_by_role_and_label(Role::SpinButton, "Units")
            .set_value_accesskit(units);
        h.run_steps(2);
    }
    // The wires carry the shapes, and the network has the spiral example's size.
    for label in [
        "input → dense: [2]",
        "dense → dense2: [64]",
        "dense2 → dense3: [64]",
        "dense3 → loss: [2]",
    ] {
        h.get_by_label(label);
    }
    h.get_by_label("Parameters: 4,482");
    // The palette's Dense has a ReLU, which would cut off the scores: one click makes it linear.
    h.get_by_label("1 problem");
    select(&mut h, "dense3 problems");
    h.get_by_label("No problems");
}

#[test]
fn a_connection_that_cannot_work_is_refused_with_the_reason() {
    let mut h = spiral();
    let edges = h.state().editor.project.graph.edges.clone();
    // hidden1's only input already takes the input node.
    wire(&mut h, "hidden2", "hidden1");
    assert_eq!(h.state().editor.project.graph.edges, edges);
    h.get_by_label_contains("already takes input");
    // A loop: scores already depends on hidden1.
    let to = on_canvas(&h, "hidden1 input");
    let from = on_canvas(&h, "scores output");
    h.state_mut().editor.remove_edge(0);
    h.run_steps(2);
    drag(&mut h, from, to);
    h.get_by_label_contains("would make a loop");
}

#[test]
fn edits_undo_and_redo_with_the_keyboard() {
    let mut h = spiral();
    select(&mut h, "hidden1");
    shortcut(&mut h, Modifiers::NONE, Key::Delete);
    assert!(h.query_by_label("hidden1").is_none());
    assert!(h.query_by_label("No problems").is_none());
    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    h.get_by_label("hidden1");
    h.get_by_label("No problems");
    shortcut(&mut h, Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    assert!(h.query_by_label("hidden1").is_none());
    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    shortcut(&mut h, Modifiers::COMMAND, Key::Y);
    assert!(h.query_by_label("hidden1").is_none());
    h.get_by_label("Undo").click();
    h.run_steps(2);
    h.get_by_label("hidden1");
}

#[test]
fn a_settings_edit_shows_at_once_and_undoes() {
    let mut h = spiral();
    select(&mut h, "hidden1");
    h.get_by_role_and_label(Role::SpinButton, "Units")
        .set_value_accesskit(32.0);
    h.run_steps(2);
    // hidden1: 2·32 + 32; hidden2: 32·64 + 64; scores: 64·2 + 2.
    h.get_by_label("Parameters: 2,338");
    h.get_by_label("input → hidden1: [2]");
    h.get_by_label("hidden1 → hidden2: [32]");
    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    h.get_by_label("Parameters: 4,482");
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netloom-ui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn drop_file(h: &mut Harness<'_, NetloomApp>, path: &Path) {
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.to_path_buf())));
    h.run_steps(2);
}

#[test]
fn save_then_open_gives_the_same_project() {
    let path = temp_path("saved.json");
    let template = netloom::ui::TEMPLATES[6].project();
    let mut h = harness(NetloomApp::new(template, Some(path.clone()), None));
    select(&mut h, "conv1");
    h.get_by_role_and_label(Role::SpinButton, "Filters")
        .set_value_accesskit(12.0);
    h.run_steps(2);
    shortcut(&mut h, Modifiers::COMMAND, Key::S);
    let saved = netloom::io::load_project(&path).unwrap();
    assert_eq!(saved, h.state().editor.project);
    assert!(!h.state().editor.is_dirty());

    let mut fresh = spiral();
    drop_file(&mut fresh, &path);
    assert_eq!(fresh.state().editor.project, saved);
    fresh.get_by_label("conv1");
}

#[test]
fn a_bad_file_shows_a_readable_error_and_keeps_the_open_project() {
    let path = temp_path("broken.json");
    std::fs::write(
        &path,
        "{ \"format_version\": 1, \"graph\": { \"nodes\": [ }",
    )
    .unwrap();
    let mut h = spiral();
    let before = h.state().editor.project.clone();
    drop_file(&mut h, &path);
    h.get_by_label_contains("Could not open the project");
    h.get_by_label_contains("line 1");
    assert_eq!(h.state().editor.project, before);
}

#[test]
fn a_selected_nodes_settings_scroll_into_view_in_a_small_window() {
    let size = Vec2::new(1280.0, 800.0);
    let mut h = Harness::builder()
        .with_size(size)
        .with_step_dt(0.05)
        .build_ui_state(
            |ui, app: &mut NetloomApp| app.ui(ui),
            NetloomApp::with_spiral(None),
        );
    until_loaded(&mut h);
    select(&mut h, "hidden1");
    // Scrolling animates.
    h.run_steps(20);
    let units = h.get_by_role_and_label(Role::SpinButton, "Units").rect();
    assert!(
        units.max.y < h.get_by_label("Train").rect().min.y,
        "{units:?} is in sight"
    );
}

fn snapshot_of_the_main_window(theme: egui::Theme) {
    let mut h = Harness::builder()
        .with_size(Vec2::new(1280.0, 800.0))
        .with_theme(theme)
        .build_ui_state(
            |ui, app: &mut NetloomApp| app.ui(ui),
            NetloomApp::with_spiral(None),
        );
    until_loaded(&mut h);
    h.snapshot(format!("main_window_{theme:?}").to_lowercase());
}

#[test]
fn the_main_window_in_the_light_theme() {
    snapshot_of_the_main_window(egui::Theme::Light);
}

#[test]
fn the_main_window_in_the_dark_theme() {
    snapshot_of_the_main_window(egui::Theme::Dark);
}

#[test]
fn choosing_a_dataset_gives_the_input_its_shape_and_shows_a_preview() {
    let mut h = spiral();
    h.get_by_label_contains("600 samples: 420 to train");
    h.get_by_role_and_label(Role::ComboBox, "Dataset").click();
    h.run_steps(2);
    h.get_by_label("Digits 8×8").click();
    until_loaded(&mut h);
    let graph = &h.state().editor.project.graph;
    let input = graph.nodes.iter().find(|n| n.name == "input").unwrap();
    assert_eq!(input.layer, netloom::graph::Layer::input(vec![1, 8, 8]));
    h.get_by_label_contains("1797 samples");
    h.get_by_label("input → hidden1: [1, 8, 8]");
    // Dense layers want flat samples, and say so.
    assert!(h.query_by_label("No problems").is_none());
    // Undo brings the spiral back in one step per change.
    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    until_loaded(&mut h);
    h.get_by_label("No problems");
}

#[test]
fn nodes_move_by_dragging_and_a_drag_is_one_undo_step() {
    let mut h = spiral();
    let before = h.state().editor.project.graph.node(1).unwrap().position;
    let from = on_canvas(&h, "hidden1");
    drag(&mut h, from, from + Vec2::new(0.0, 120.0));
    let after = h.state().editor.project.graph.node(1).unwrap().position;
    assert!(after[1] > before[1] + 50.0, "{before:?} → {after:?}");
    assert_eq!(after[0], before[0]);
    shortcut(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(
        h.state().editor.project.graph.node(1).unwrap().position,
        before
    );
}

#[test]
fn a_box_selects_nodes_which_duplicate_and_delete_together() {
    let mut h = spiral();
    // From above-left of hidden1 to below the middle of hidden2.
    let a = on_canvas(&h, "hidden1") - Vec2::new(70.0, 60.0);
    let b = on_canvas(&h, "hidden2") + Vec2::new(0.0, 60.0);
    drag(&mut h, a, b);
    let names = |h: &Harness<'_, NetloomApp>| -> Vec<String> {
        let editor = &h.state().editor;
        editor
            .selection
            .iter()
            .map(|&id| editor.project.graph.node(id).unwrap().name.clone())
            .collect()
    };
    assert_eq!(names(&h), ["hidden1", "hidden2"]);
    shortcut(&mut h, Modifiers::COMMAND, Key::D);
    assert_eq!(h.state().editor.project.graph.nodes.len(), 7);
    assert_eq!(names(&h), ["hidden3", "hidden4"]);
    // The copies are not wired to the input, so the shape between them is not known yet.
    h.get_by_label("hidden3 → hidden4: ?");
    shortcut(&mut h, Modifiers::NONE, Key::Delete);
    assert_eq!(h.state().editor.project.graph.nodes.len(), 5);
}

#[test]
fn double_clicking_a_palette_entry_adds_it_after_the_selected_node() {
    let mut h = spiral();
    select(&mut h, "hidden2");
    // Clicks land a frame apart; frames of 50 ms keep the two within a double click.
    h.get_by_label("Add Dropout").click();
    h.get_by_label("Add Dropout").click();
    h.run_steps(4);
    h.get_by_label("hidden2 → dropout: [64]");
    assert!(h.state().editor.selection.len() == 1);
}

#[test]
fn the_palette_search_narrows_the_layers() {
    let mut h = spiral();
    h.get_by_role_and_label(Role::TextInput, "Search").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::TextInput, "Search")
        .type_text("conv");
    h.run_steps(2);
    assert_eq!(
        h.get_by_role_and_label(Role::TextInput, "Search")
            .value()
            .as_deref(),
        Some("conv")
    );
    h.get_by_label("Add Conv2d");
    assert!(h.query_by_label("Add Dense").is_none());
}

#[test]
fn a_problem_badge_explains_and_a_click_applies_its_fix() {
    let mut h = spiral();
    h.get_by_role_and_label(Role::ComboBox, "Dataset").click();
    h.run_steps(2);
    h.get_by_label("Digits 8×8").click();
    until_loaded(&mut h);
    // Dense layers want flat samples: the fix puts a Flatten in front.
    select(&mut h, "hidden1 problems");
    h.get_by_label("input → flatten: [1, 8, 8]");
    h.get_by_label("flatten → hidden1: [64]");
    // Ten classes need ten scores: the fix gives the last Dense layer ten units.
    select(&mut h, "loss problems");
    h.get_by_label("scores → loss: [10]");
    h.get_by_label("No problems");
}

#[test]
fn a_cnn_for_mnist_is_built_checked_saved_and_reopened() {
    let path = temp_path("cnn.json");
    let mut h = harness(NetloomApp::new(
        ui::empty_project(),
        Some(path.clone()),
        None,
    ));
    h.get_by_role_and_label(Role::ComboBox, "Dataset").click();
    h.run_steps(2);
    h.get_by_label("MNIST (5,000 images)").click();
    until_loaded(&mut h);
    let spots = [
        (420.0, 200.0),
        (640.0, 200.0),
        (860.0, 200.0),
        (420.0, 460.0),
        (640.0, 460.0),
    ];
    for (layer, (x, y)) in [
        "Conv2d",
        "MaxPool2d",
        "Flatten",
        "Dense",
        "Softmax cross-entropy",
    ]
    .iter()
    .zip(spots)
    {
        let source = palette_entry(&mut h, layer);
        drag(&mut h, source, Pos2::new(x, y));
    }
    for (from, to) in [
        ("input", "conv2d"),
        ("conv2d", "maxpool2d"),
        ("maxpool2d", "flatten"),
        ("flatten", "dense"),
        ("dense", "loss"),
    ] {
        wire(&mut h, from, to);
    }
    // Sixteen scores for ten classes: the badge says so, and its fix gives ten.
    select(&mut h, "loss problems");
    for label in [
        "input → conv2d: [1, 28, 28]",
        "conv2d → maxpool2d: [8, 28, 28]",
        "maxpool2d → flatten: [8, 14, 14]",
        "flatten → dense: [1568]",
        "dense → loss: [10]",
    ] {
        h.get_by_label(label);
    }
    // Its ReLU would cut off the scores the loss takes: the warning's fix makes it linear.
    select(&mut h, "dense problems");
    h.get_by_label("No problems");
    // 8·9 + 8 for the convolution, 1568·10 + 10 for the dense layer.
    h.get_by_label("Parameters: 15,770");
    shortcut(&mut h, Modifiers::COMMAND, Key::S);
    let mut reopened = spiral();
    drop_file(&mut reopened, &path);
    until_loaded(&mut reopened);
    assert_eq!(reopened.state().editor.project, h.state().editor.project);
    reopened.get_by_label("No problems");
}

#[test]
fn unsaved_changes_are_not_lost_without_asking() {
    let mut h = spiral();
    select(&mut h, "hidden1");
    shortcut(&mut h, Modifiers::NONE, Key::Delete);
    h.get_by_label("New").click();
    h.run_steps(2);
    h.get_by_label("Unsaved changes");
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(h.query_by_label("Unsaved changes").is_none());
    assert_eq!(h.state().editor.project.graph.nodes.len(), 4);
    h.get_by_label("New").click();
    h.run_steps(2);
    h.get_by_label("Don't save").click();
    h.run_steps(2);
    assert_eq!(h.state().editor.project.graph.nodes.len(), 1);
    assert!(!h.state().editor.is_dirty());
}

#[test]
fn work_left_by_a_crash_is_offered_back() {
    let state = temp_path("state");
    std::fs::create_dir_all(&state).unwrap();
    let xor = netloom::ui::TEMPLATES[1].project();
    netloom::io::save_project(&state.join("recovery.json"), &xor).unwrap();
    let mut h = harness(NetloomApp::with_spiral(Some(state.clone())));
    h.get_by_label("Restore unsaved work?");
    h.get_by_label("Restore").click();
    h.run_steps(2);
    assert_eq!(h.state().editor.project, xor);
    assert!(
        h.state().editor.is_dirty(),
        "restored work is not saved yet"
    );
    // Saving or discarding the work removes the recovery copy; closing cleanly does too.
    h.state().closed_cleanly();
    assert!(!state.join("recovery.json").exists());
}

#[test]
fn templates_are_one_click_away() {
    let mut h = spiral();
    h.get_by_label("Templates").click();
    h.run_steps(2);
    h.get_by_label("MNIST CNN").click();
    until_loaded(&mut h);
    h.get_by_label("conv1");
    h.get_by_label("No problems");
}

#[test]
fn a_file_without_positions_is_laid_out_when_opened() {
    let mut project = netloom::ui::TEMPLATES[0].project();
    for node in &mut project.graph.nodes {
        node.position = [0.0, 0.0];
    }
    let path = temp_path("no_positions.json");
    netloom::io::save_project(&path, &project).unwrap();
    let mut h = spiral();
    drop_file(&mut h, &path);
    let xs: Vec<f32> = h
        .state()
        .editor
        .project
        .graph
        .nodes
        .iter()
        .map(|n| n.position[0])
        .collect();
    // Each node is right of the node feeding it, or in a band of rows below it.
    let graph = &h.state().editor.project.graph;
    for edge in &graph.edges {
        let from = graph.node(edge.from.node).unwrap().position;
        let to = graph.node(edge.to.node).unwrap().position;
        assert!(
            to[0] > from[0] || to[1] > from[1],
            "{from:?} → {to:?} in {xs:?}"
        );
    }
}

/// The app in a window of the default size, 1280x800.
fn default_window(app: NetloomApp) -> Harness<'static, NetloomApp> {
    let mut h = Harness::builder()
        .with_size(Vec2::new(1280.0, 800.0))
        .with_step_dt(0.05)
        .build_ui_state(|ui, app: &mut NetloomApp| app.ui(ui), app);
    until_loaded(&mut h);
    h
}

/// Fitted to `h`'s window, every node is drawn large enough to read, and each wire's shape
/// label sits clear of the nodes and ports on either side.
fn assert_readable_at_fit(h: &Harness<'_, NetloomApp>) {
    let zoom = h.state().canvas.zoom();
    let name_px = zoom * ui::NAME_SIZE * h.ctx.pixels_per_point();
    assert!(name_px >= 13.0, "node names are {name_px} px");
    let graph = &h.state().editor.project.graph;
    let nodes: Vec<egui::Rect> = graph
        .nodes
        .iter()
        .map(|n| h.get_by_label(&n.name).rect())
        .collect();
    for (node, rect) in graph.nodes.iter().zip(&nodes) {
        let height_px = rect.height() * zoom * h.ctx.pixels_per_point();
        assert!(height_px >= 80.0, "{} is {height_px} px tall", node.name);
    }
    let mut wires = 0;
    for label in h.query_all_by_label_contains(" → ") {
        wires += 1;
        let rect = label.rect();
        for node in &nodes {
            // The ports stick out of the node by half their size.
            assert!(
                !node.expand(9.0).intersects(rect),
                "{:?} is cut by a node or port",
                label.accesskit_node().label()
            );
        }
    }
    assert_eq!(wires, graph.edges.len());
}

#[test]
fn the_mnist_cnn_and_the_spiral_are_readable_fitted_to_the_default_window() {
    for template in [6, 0] {
        let h = default_window(NetloomApp::new(
            ui::TEMPLATES[template].project(),
            None,
            None,
        ));
        assert_readable_at_fit(&h);
    }
}

#[test]
fn present_mode_is_one_click_away_larger_and_dark_on_white() {
    let mut h = default_window(NetloomApp::new(ui::TEMPLATES[6].project(), None, None));
    let scale = h.ctx.pixels_per_point();
    h.get_by_role_and_label(Role::Button, "Present").click();
    h.run_steps(3);
    assert!(h.state().presenting());
    assert_eq!(h.ctx.pixels_per_point(), scale * 1.5);
    let visuals = h.ctx.global_style().visuals.clone();
    assert_eq!(visuals.text_color(), egui::Color32::BLACK);
    assert_eq!(visuals.panel_fill, egui::Color32::WHITE);
    // The palette is put away; the network is still readable, and larger.
    assert!(h.query_by_label("Add Dense").is_none());
    assert_readable_at_fit(&h);
    // F5 goes back.
    shortcut(&mut h, Modifiers::NONE, Key::F5);
    h.run_steps(2);
    assert!(!h.state().presenting());
    assert_eq!(h.ctx.pixels_per_point(), scale);
    h.get_by_label("Add Dense");
}

#[test]
fn the_built_in_file_chooser_opens_and_saves_where_it_is_pointed() {
    let root = temp_path("chooser");
    std::fs::create_dir_all(root.join("class")).unwrap();
    let xor = ui::TEMPLATES[1].project();
    netloom::io::save_project(&root.join("class/xor.json"), &xor).unwrap();
    let mut h = spiral();
    h.state_mut().use_builtin_file_chooser(root.clone());
    h.get_by_label("Open…").click();
    h.run_steps(2);
    h.get_by_label_contains("choose a file here");
    h.get_by_label("class/").click();
    h.run_steps(2);
    h.get_by_label("xor.json").click();
    h.run_steps(2);
    h.get_by_label("OK").click();
    until_loaded(&mut h);
    assert_eq!(h.state().editor.project, xor);
    assert!(h.query_by_label_contains("choose a file here").is_none());
    // The next chooser starts where the last file came from; Up goes to the folder above.
    h.get_by_label("Save as…").click();
    h.run_steps(2);
    h.get_by_label("xor.json");
    h.get_by_label("Up").click();
    h.run_steps(2);
    h.get_by_label("class/");
    h.get_by_label("OK").click();
    h.run_steps(2);
    let saved = root
        .canonicalize()
        .unwrap()
        .join(format!("{}.json", xor.name));
    assert_eq!(netloom::io::load_project(&saved).unwrap(), xor);
    assert_eq!(h.state().editor.path.as_deref(), Some(saved.as_path()));
    // Cancel closes it and changes nothing.
    h.get_by_label("Open…").click();
    h.run_steps(2);
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("choose a file here").is_none());
}

#[test]
fn an_idle_window_asks_for_no_more_frames() {
    let mut h = default_window(NetloomApp::with_spiral(None));
    let steps = h.try_run().expect("the window settles");
    assert!(steps < 20, "{steps} frames to settle");
    h.step();
    let output = &h.output().viewport_output[&egui::ViewportId::ROOT];
    assert_eq!(output.repaint_delay, std::time::Duration::MAX);
}

#[test]
fn the_edit_menu_copies_and_pastes_without_a_system_clipboard() {
    let mut h = spiral();
    select(&mut h, "hidden1");
    let nodes = h.state().editor.project.graph.nodes.len();
    let menu_item = |h: &mut Harness<'_, NetloomApp>, item: &str| {
        h.get_by_label("Edit").click();
        h.run_steps(2);
        h.get_by_role_and_label(Role::Button, item).click();
        h.run_steps(2);
    };
    for item in ["Copy Ctrl+C", "Paste Ctrl+V", "Duplicate Ctrl+D"] {
        menu_item(&mut h, item);
    }
    assert_eq!(h.state().editor.project.graph.nodes.len(), nodes + 2);
    menu_item(&mut h, "Delete Del");
    assert_eq!(h.state().editor.project.graph.nodes.len(), nodes + 1);
}

#[test]
fn analyze_lists_every_layer_with_its_shapes_counts_and_memory() {
    let mut h = spiral();
    h.get_by_role_and_label(Role::Button, "Analyze").click();
    h.run_steps(3);
    for header in ["Kind", "Parameters", "FLOPs", "Memory", "Problems"] {
        h.get_by_label(header);
    }
    for name in ["input", "hidden1", "hidden2", "scores", "loss"] {
        h.get_by_role_and_label(Role::Link, name);
    }
    // The spiral's first hidden layer: 2 inputs, 64 units, 192 parameters.
    h.get_by_label("192");
    h.get_by_role_and_label(Role::Link, "hidden2").click();
    h.run_steps(2);
    let hidden2 = h
        .state()
        .editor
        .project
        .graph
        .nodes
        .iter()
        .find(|n| n.name == "hidden2")
        .unwrap()
        .id;
    assert!(h.state().editor.selection.contains(&hidden2));
}

/// A transformer block comes from the palette as one framed group after the selected node,
/// sized to it; its frame's title selects the block and drags it as one.
/// The transformer sorter template, loaded: a network with a block.
fn sorter() -> Harness<'static, NetloomApp> {
    let sorter = netloom::ui::TEMPLATES
        .iter()
        .find(|t| t.name == "Transformer sorts digits")
        .unwrap();
    let mut h = harness(NetloomApp::new(sorter.project(), None, None));
    until_loaded(&mut h);
    h
}

#[test]
fn a_collapsed_group_is_one_box_that_the_outside_wires_reach_and_opens_again() {
    let mut h = sorter();
    select(&mut h, "Collapse Transformer block 1");
    assert!(
        h.state()
            .editor
            .project
            .graph
            .is_collapsed("Transformer block 1")
    );
    assert!(
        h.query_by_label("attention1").is_none(),
        "the block's layers are hidden"
    );
    h.get_by_label("Transformer block 1 (group)");
    // The wires from outside reach the box and still say what they carry; the ones inside
    // are gone with the layers.
    let wires: Vec<String> = h
        .query_all_by_label_contains(" → ")
        .filter_map(|n| n.accesskit_node().label())
        .collect();
    assert!(
        wires.iter().any(|w| w.starts_with("positions → ln1a")),
        "{wires:?}"
    );
    assert!(
        wires.iter().any(|w| w.starts_with("residual1b → ln_final")),
        "{wires:?}"
    );
    assert!(
        !wires.iter().any(|w| w.starts_with("ln1a → attention1")),
        "{wires:?}"
    );

    // Dragging the box moves the whole block.
    let before = h.state().editor.project.graph.clone();
    let at = on_canvas(&h, "Transformer block 1 (group)");
    drag(&mut h, at, at + Vec2::new(0.0, 60.0));
    let after = &h.state().editor.project.graph;
    for (old, new) in before.nodes.iter().zip(&after.nodes) {
        let moved = new.position[1] - old.position[1];
        if old.group.is_some() {
            assert!(moved > 10.0, "{} moved with its box", old.name);
        } else {
            assert_eq!(moved, 0.0, "{} stayed", old.name);
        }
    }

    select(&mut h, "Open Transformer block 1");
    assert!(
        !h.state()
            .editor
            .project
            .graph
            .is_collapsed("Transformer block 1")
    );
    h.get_by_label("attention1");
    h.get_by_label("Collapse Transformer block 1");
}

#[test]
fn a_transformer_block_drops_in_as_a_group_that_moves_as_one() {
    let mut h = sorter();
    let title = on_canvas(&h, "Transformer block 1 (group)");
    h.hover_at(title);
    h.step();
    h.drag_at(title);
    h.step();
    h.drop_at(title);
    h.run_steps(2);
    let members = |h: &Harness<'_, NetloomApp>, group: &str| -> Vec<(String, [f32; 2])> {
        let graph = &h.state().editor.project.graph;
        graph
            .nodes
            .iter()
            .filter(|n| n.group.as_deref() == Some(group))
            .map(|n| (n.name.clone(), n.position))
            .collect()
    };
    let block = members(&h, "Transformer block 1");
    assert_eq!(block.len(), 7);
    assert_eq!(
        h.state().editor.selection.len(),
        7,
        "the title selects the block"
    );
    drag(&mut h, title, title + Vec2::new(0.0, 60.0));
    let moved = members(&h, "Transformer block 1");
    let dy = moved[0].1[1] - block[0].1[1];
    assert!(dy > 10.0, "the block moved: {dy}");
    for ((_, before), (name, after)) in block.iter().zip(&moved) {
        assert_eq!(after[1] - before[1], dy, "{name} moved with the block");
    }

    select(&mut h, "residual1b");
    h.get_by_role_and_label(Role::TextInput, "Search").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::TextInput, "Search")
        .type_text("transformer");
    h.run_steps(2);
    // Clicks land a frame apart; frames of 50 ms keep the two within a double click.
    h.get_by_label("Add TransformerBlock").click();
    h.get_by_label("Add TransformerBlock").click();
    h.run_steps(4);
    let added = members(&h, "Transformer block 2");
    assert_eq!(added.len(), 7);
    h.get_by_label("Transformer block 2 (group)");
    // Wired after the selected node and as wide as it: nothing in it is wrong (it only leads
    // nowhere yet).
    let problems = &h.state().editor.model.problems;
    let errors: Vec<_> = problems
        .iter()
        .filter(|p| p.severity == netloom::compile::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let graph = &h.state().editor.project.graph;
    let from = graph
        .nodes
        .iter()
        .find(|n| n.name == "residual1b")
        .unwrap()
        .id;
    let fed: Vec<_> = graph.edges.iter().filter(|e| e.from.node == from).collect();
    assert_eq!(
        fed.len(),
        3,
        "residual1b feeds the final norm and the new block twice"
    );
}
