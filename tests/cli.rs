//! The CLI end to end: train an example, check a broken project, export, and the step limit.

use std::path::{Path, PathBuf};
use std::process::Command;

fn netloom() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netloom"))
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/examples")
        .join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netloom-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn train_spiral_end_to_end() {
    let dir = temp_dir("spiral");
    let (metrics, weights) = (dir.join("metrics.jsonl"), dir.join("spiral.safetensors"));
    let out = netloom()
        .args([
            "train",
            example("spiral.json").to_str().unwrap(),
            "--backend",
            "cpu",
            "--metrics-out",
        ])
        .arg(&metrics)
        .arg("--save-weights")
        .arg(&weights)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&metrics);
    let steps: Vec<_> = lines.iter().filter(|l| l["kind"] == "step").collect();
    let epochs: Vec<_> = lines.iter().filter(|l| l["kind"] == "epoch").collect();
    assert_eq!(epochs.len(), 150);
    assert_eq!(steps[0]["step"], 1);
    assert_eq!(steps[0]["epoch"], 1);
    assert!(steps.iter().all(|s| s["loss"].as_f64().is_some()));
    let last_epoch = epochs.last().unwrap();
    for key in ["train_loss", "train_accuracy", "val_loss", "val_accuracy"] {
        assert!(
            last_epoch[key].as_f64().is_some(),
            "{key} missing in {last_epoch}"
        );
    }
    let test = lines.last().unwrap();
    assert_eq!(test["kind"], "test");
    assert!(test["accuracy"].as_f64().unwrap() >= 0.95, "{test}");
    let tensors = netloom::io::load_weights(&weights).unwrap();
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
    assert_eq!(tensors[1].shape, [64, 2], "Linear weights are [out, in]");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn steps_stop_exactly_and_regression_reports_no_accuracy() {
    let dir = temp_dir("steps");
    let metrics = dir.join("m.jsonl");
    let out = netloom()
        .args([
            "train",
            example("regression.json").to_str().unwrap(),
            "--steps",
            "7",
            "--batch-size",
            "5",
            "--metrics-out",
        ])
        .arg(&metrics)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&metrics);
    assert_eq!(lines.iter().filter(|l| l["kind"] == "step").count(), 7);
    let test = lines.last().unwrap();
    assert_eq!(test["kind"], "test");
    assert!(test["accuracy"].is_null());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_reports_a_broken_project_and_fails() {
    let dir = temp_dir("broken");
    let path = dir.join("broken.json");
    let text = std::fs::read_to_string(example("mnist_cnn.json")).unwrap();
    // Drop the Flatten: the dense layer now receives an image.
    let mut project: serde_json::Value = serde_json::from_str(&text).unwrap();
    let edges = project["graph"]["edges"].as_array_mut().unwrap();
    edges.retain(|e| e["from"]["node"] != 5 && e["to"]["node"] != 5);
    edges.push(serde_json::json!({"from": {"node": 4}, "to": {"node": 6}}));
    std::fs::write(&path, project.to_string()).unwrap();
    let out = netloom()
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("Dense expects a flat input; got [32, 7, 7]. Add a Flatten before it."),
        "{stdout}"
    );
    assert!(stdout.contains("scores"), "{stdout}");

    let good = netloom()
        .args(["check", example("mnist_cnn.json").to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "{table}");
    assert!(
        table.contains("conv2") && table.contains("[32, 14, 14]") && table.contains("4640"),
        "{table}"
    );

    std::fs::write(&path, "{ \"format_version\": 1, \"graph\": ").unwrap();
    let out = netloom()
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1, column"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `netloom export pytorch project -o out`, and the code it wrote.
fn export_pytorch(project: &Path, out: &Path) -> String {
    let run = netloom()
        .args(["export", "pytorch", project.to_str().unwrap(), "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn export_pytorch_names_match_the_weights() {
    let dir = temp_dir("export");
    let code = export_pytorch(&example("batchnorm_dropout.json"), &dir.join("model.py"));
    for line in [
        "self.hidden = nn.Linear(64, 128, bias=True)",
        "self.norm = nn.BatchNorm1d(128, eps=1e-5, momentum=0.1)",
        "self.dropout = nn.Dropout(0.3)",
        "self.scores = nn.Linear(128, 10, bias=True)",
        "loss_fn = nn.CrossEntropyLoss()",
    ] {
        assert!(code.contains(line), "missing `{line}` in:\n{code}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_csv_dataset_is_found_next_to_the_project() {
    let dir = temp_dir("csv");
    let mut csv = String::from("width,height,kind\n");
    for i in 0..120 {
        let (w, h) = ((i % 10) as f32, (i / 10) as f32);
        csv += &format!("{w},{h},{}\n", if w > h { "wide" } else { "tall" });
    }
    std::fs::write(dir.join("shapes.csv"), csv).unwrap();
    let project = serde_json::json!({
        "format_version": 1,
        "graph": {
            "nodes": [
                {"id": 0, "name": "input", "layer": {"type": "input", "shape": [2]}},
                {"id": 1, "name": "hidden", "layer": {"type": "dense", "units": 8, "activation": "relu"}},
                {"id": 2, "name": "scores", "layer": {"type": "dense", "units": 2}},
                {"id": 3, "name": "loss", "layer": {"type": "loss", "kind": "softmax_cross_entropy"}}
            ],
            "edges": [
                {"from": {"node": 0}, "to": {"node": 1}},
                {"from": {"node": 1}, "to": {"node": 2}},
                {"from": {"node": 2}, "to": {"node": 3}}
            ]
        },
        "dataset": {"kind": "csv", "path": "shapes.csv", "target_column": "kind", "task": "classification", "standardize": true},
        "training": {"learning_rate": 0.05, "batch_size": 8, "epochs": 30}
    });
    let path = dir.join("shapes.json");
    std::fs::write(&path, project.to_string()).unwrap();
    // Run from elsewhere: the CSV path is relative to the project file, not the working directory.
    let out = netloom()
        .current_dir(std::env::temp_dir())
        .args(["train", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let accuracy: f32 = stdout
        .split("accuracy ")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(accuracy >= 0.8, "{stdout}");

    std::fs::write(
        dir.join("shapes.csv"),
        "width,height,kind\n1,2,wide\n3,x,tall\n",
    )
    .unwrap();
    let out = netloom()
        .args(["train", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 3"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Trains `project` of `fixture` from `weights` for as many steps as PyTorch's `losses` list
/// and asserts each step's loss is PyTorch's within `tolerance`, relative.
fn assert_trains_like_pytorch(
    fixture: &str,
    project: &str,
    weights: &str,
    losses: &str,
    tolerance: f64,
) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let expected: Vec<f64> =
        serde_json::from_str(&std::fs::read_to_string(fixture.join(losses)).unwrap()).unwrap();
    let dir = temp_dir(project);
    let metrics = dir.join("m.jsonl");
    let out = netloom()
        .args(["train", fixture.join(project).to_str().unwrap(), "--steps"])
        .arg(expected.len().to_string())
        .arg("--init-weights")
        .arg(fixture.join(weights))
        .arg("--metrics-out")
        .arg(&metrics)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: Vec<f64> = json_lines(&metrics)
        .iter()
        .filter(|l| l["kind"] == "step")
        .map(|l| l["loss"].as_f64().unwrap())
        .collect();
    assert_eq!(ours.len(), expected.len());
    for (step, (a, b)) in ours.iter().zip(&expected).enumerate() {
        assert!(
            (a - b).abs() <= tolerance * b.abs(),
            "{project}, step {}: Netloom {a}, PyTorch {b}",
            step + 1
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn training_matches_pytorch_step_by_step() {
    // Fixture from tests/fixtures/pytorch_parity/make.py: the same data, initial weights and
    // settings in PyTorch, and the losses it reported.
    assert_trains_like_pytorch(
        "pytorch_parity",
        "parity.json",
        "init.safetensors",
        "torch_losses.json",
        1e-5,
    );
}

#[test]
fn sequence_models_train_like_pytorch_for_100_steps() {
    // Fixture from tests/fixtures/pytorch_sequences/make.py: character windows of one text, an
    // Embedding, a recurrent layer of each family (and a one-block GPT: positions, causal
    // attention, a GELU MLP, residual adds and LayerNorms) and a Dense per step, in text order.
    for family in ["lstm", "gru", "rnn", "bigru2", "gpt"] {
        assert_trains_like_pytorch(
            "pytorch_sequences",
            &format!("{family}.json"),
            &format!("{family}.safetensors"),
            &format!("{family}_losses.json"),
            1e-4,
        );
    }
}

fn run(args: &[&str]) -> (bool, String) {
    let out = netloom().args(args).output().unwrap();
    // A refusal is an exit with a status, never a signal (an allocation abort).
    assert!(out.status.code().is_some(), "killed: {:?}", out.status);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The spiral example with `edit` applied, saved in `dir`.
fn edited_spiral(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let text = std::fs::read_to_string(example("spiral.json")).unwrap();
    let mut project: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut project);
    let path = dir.join("spiral.json");
    std::fs::write(&path, project.to_string()).unwrap();
    path
}

#[test]
fn sizes_past_the_machine_are_refused_in_words_before_anything_is_allocated() {
    let spiral = example("spiral.json");
    let spiral = spiral.to_str().unwrap();
    let (ok, text) = run(&["train", spiral, "--batch-size", "100000000000"]);
    assert!(!ok);
    assert!(text.contains("this machine has"), "{text}");
    for threads in ["0", "100000000"] {
        let (ok, text) = run(&["train", spiral, "--threads", threads]);
        assert!(!ok);
        assert!(text.contains("--threads"), "{text}");
    }

    let dir = temp_dir("huge");
    let huge = edited_spiral(&dir, |p| {
        p["graph"]["nodes"][1]["layer"]["units"] = serde_json::json!(1_000_000_000_000u64);
    });
    let huge = huge.to_str().unwrap();
    for command in ["check", "train"] {
        let (ok, text) = run(&[command, huge]);
        assert!(!ok, "{command}");
        assert!(
            text.contains("hidden2 would hold") && text.contains("this machine has"),
            "{command}: {text}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn train_reports_the_problems_check_reports_with_the_dataset_loaded() {
    let dir = temp_dir("mismatch");
    let path = edited_spiral(&dir, |p| {
        p["graph"]["nodes"][0]["layer"]["shape"] = serde_json::json!([3]);
        p["training"]["learning_rate"] = serde_json::json!(-1.0);
    });
    let path = path.to_str().unwrap();
    let (checked, check_text) = run(&["check", path]);
    let (trained, train_text) = run(&["train", path]);
    assert!(!checked && !trained);
    for text in [&check_text, &train_text] {
        assert!(text.contains("The dataset's samples are [2]"), "{text}");
        assert!(
            text.contains("error: training settings: The learning rate"),
            "{text}"
        );
        assert!(!text.contains("no problems"), "{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn outputs_are_checked_before_training_and_never_written_over_inputs() {
    let dir = temp_dir("outputs");
    let spiral = example("spiral.json");
    let spiral = spiral.to_str().unwrap();
    let missing = dir.join("no/such/folder/w.safetensors");
    let (ok, text) = run(&["train", spiral, "--save-weights", missing.to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains("does not exist"), "{text}");
    assert!(!text.contains("epoch"), "trained before refusing: {text}");

    let project = dir.join("p.json");
    std::fs::copy(example("spiral.json"), &project).unwrap();
    let before = std::fs::read(&project).unwrap();
    let project = project.to_str().unwrap();
    let (ok, text) = run(&["export", "pytorch", project, "-o", project]);
    assert!(!ok);
    assert!(text.contains("is also an input"), "{text}");
    let (ok, _) = run(&["train", project, "--metrics-out", project]);
    assert!(!ok);
    assert_eq!(std::fs::read(project).unwrap(), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_stopped_on_nan_leaves_the_saved_weights_alone() {
    let dir = temp_dir("nan");
    let path = edited_spiral(&dir, |p| {
        p["training"]["learning_rate"] = serde_json::json!(1e30);
    });
    let weights = dir.join("good.safetensors");
    std::fs::write(&weights, b"good weights").unwrap();
    let (ok, text) = run(&[
        "train",
        path.to_str().unwrap(),
        "--backend",
        "cpu",
        "--save-weights",
        weights.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(text.contains("NaN"), "{text}");
    assert!(text.contains("weights not saved"), "{text}");
    assert_eq!(std::fs::read(&weights).unwrap(), b"good weights");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Fixture from tests/fixtures/pytorch_export/make.py: the code `export pytorch` writes for
/// each sequence net, loaded with the net's weights (strict=True) and run by PyTorch on the
/// first text windows. The code is exported afresh and must be the one the fixture ran, and
/// Netloom's outputs from the same weights must be PyTorch's.
#[test]
fn exported_sequence_modules_compute_what_netloom_computes() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let here = fixtures.join("pytorch_export");
    let sequences = fixtures.join("pytorch_sequences");
    let dir = temp_dir("export_sequences");
    for name in ["lstm", "gru", "rnn", "bigru2", "gpt", "encoded"] {
        let project = match name {
            "encoded" => here.join("encoded.json"),
            _ => sequences.join(format!("{name}.json")),
        };
        let code = export_pytorch(&project, &dir.join(format!("{name}.py")));
        let fixture_code = std::fs::read_to_string(here.join(format!("{name}_net.py"))).unwrap();
        assert_eq!(
            code, fixture_code,
            "{name}: the export changed; run make.py again"
        );
        let fixture: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(here.join(format!("{name}_outputs.json"))).unwrap(),
        )
        .unwrap();
        let loaded = netloom::io::load_project(&project).unwrap();
        let base = project.parent().unwrap();
        let prepared = netloom::train::prepare(&loaded, base).unwrap();
        let mut session = netloom::train::cpu_session(&loaded, &prepared, 1).unwrap();
        let weights = here.join(fixture["weights"].as_str().unwrap());
        session
            .set_weights(&netloom::io::load_weights(&weights).unwrap())
            .unwrap();
        let features: Vec<f32> = fixture["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter())
            .map(|id| id.as_f64().unwrap() as f32)
            .collect();
        let mut ours = Vec::new();
        session.predict(&features, &mut ours).unwrap();
        let theirs: Vec<f32> = fixture["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{name}");
        let scale = theirs.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "{name}, output {i}: Netloom {a}, PyTorch {b}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
