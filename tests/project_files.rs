//! Project files: every example round-trips, and bad files give errors that say where and what.

use std::path::Path;

use netloom::graph::{LoadError, Project};

fn examples() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

#[test]
fn examples_round_trip_through_save_and_load() {
    let dir = std::env::temp_dir().join(format!("netloom-projects-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Every example file is a built-in template, and every template a file.
    assert_eq!(examples().len(), netloom::ui::TEMPLATES.len());
    for path in examples() {
        let project = netloom::io::load_project(&path).unwrap();
        let copy = dir.join("copy.json");
        netloom::io::save_project(&copy, &project).unwrap();
        assert_eq!(
            netloom::io::load_project(&copy).unwrap(),
            project,
            "{}",
            path.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn spiral_text() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples/spiral.json"),
    )
    .unwrap()
}

#[test]
fn malformed_json_names_line_and_column() {
    let text = spiral_text().replacen("\"units\": 64,", "\"units\": 64", 1);
    match Project::from_json(&text) {
        Err(LoadError::Invalid {
            line,
            column,
            message,
            ..
        }) => {
            assert_eq!(line, 8, "{message}");
            assert!(column > 0);
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn an_unknown_layer_is_named_with_the_known_ones() {
    let text = spiral_text().replacen("\"type\": \"dense\"", "\"type\": \"dense_plus\"", 1);
    let error = Project::from_json(&text).unwrap_err().to_string();
    assert!(error.starts_with("line 8, column"), "{error}");
    assert!(
        error.contains("unknown variant `dense_plus`") && error.contains("`conv2d`"),
        "{error}"
    );
}

#[test]
fn a_wrong_setting_type_is_explained() {
    let text = spiral_text().replacen("\"units\": 64", "\"units\": \"many\"", 1);
    let error = Project::from_json(&text).unwrap_err().to_string();
    assert!(
        error.contains("invalid type: string \"many\", expected usize"),
        "{error}"
    );
}

#[test]
fn a_newer_format_version_asks_for_an_update() {
    let text = spiral_text().replacen("\"format_version\": 1", "\"format_version\": 99", 1);
    let error = Project::from_json(&text).unwrap_err();
    assert_eq!(
        error,
        LoadError::NewerVersion {
            found: 99,
            supported: 1
        }
    );
    assert!(error.to_string().contains("Update Netloom"));
}

#[test]
fn garbage_and_missing_files_do_not_panic() {
    for text in [
        "",
        "null",
        "[1, 2]",
        "{}",
        "\u{0}\u{1}",
        "{\"format_version\": -1}",
    ] {
        assert!(Project::from_json(text).is_err(), "{text:?}");
    }
    let missing = netloom::io::load_project(Path::new("/no/such/project.json")).unwrap_err();
    assert!(missing.to_string().contains("/no/such/project.json"));
}

#[test]
fn a_wrong_setting_names_the_field_and_the_node() {
    let text = spiral_text().replacen("\"units\": 64", "\"units\": \"many\"", 1);
    let error = Project::from_json(&text).unwrap_err().to_string();
    assert!(
        error.contains(
            "graph.nodes[1] (hidden1).layer.units: invalid type: string \"many\", expected usize"
        ),
        "{error}"
    );
    assert!(error.starts_with("line 8, column"), "{error}");
    let text = spiral_text().replacen("\"activation\": \"relu\"", "\"activation\": \"relux\"", 2);
    let error = Project::from_json(&text).unwrap_err().to_string();
    assert!(
        error.contains("graph.nodes[1] (hidden1).layer.activation: unknown variant `relux`"),
        "{error}"
    );
    let text = spiral_text().replacen("\"batch_size\": 16", "\"batch_size\": -16", 1);
    let error = Project::from_json(&text).unwrap_err().to_string();
    assert!(
        error.contains("training.batch_size: invalid value: integer `-16`"),
        "{error}"
    );
    let text = spiral_text().replacen("{ \"node\": 3 } }", "{ \"node\": 3, \"pot\": 0 } }", 1);
    let error = Project::from_json(&text).unwrap_err().to_string();
    assert!(
        error.contains("graph.edges[2].to.pot: unknown field `pot`"),
        "{error}"
    );
}

fn spiral_with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value: serde_json::Value = serde_json::from_str(&spiral_text()).unwrap();
    edit(&mut value);
    serde_json::to_string_pretty(&value).unwrap()
}

#[test]
fn duplicate_node_ids_are_refused_naming_both_nodes() {
    let text = spiral_with(|v| v["graph"]["nodes"][3]["id"] = 1.into());
    let error = Project::from_json(&text).unwrap_err().to_string();
    assert!(
        error.contains("nodes[1] (hidden1) and nodes[3] (scores) both have id 1"),
        "{error}"
    );
}

#[test]
fn a_wire_to_a_missing_node_names_the_wire_and_the_node() {
    let text = spiral_with(|v| v["graph"]["edges"][3]["to"]["node"] = 12.into());
    let error = Project::from_json(&text).unwrap_err().to_string();
    assert!(
        error.contains("edges[3] goes to node 12, which does not exist"),
        "{error}"
    );
    let text = spiral_with(|v| v["graph"]["edges"][0]["from"]["node"] = 9.into());
    let error = Project::from_json(&text).unwrap_err().to_string();
    assert!(
        error.contains("edges[0] comes from node 9, which does not exist"),
        "{error}"
    );
}

#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    let plain = Project::from_json(&spiral_text()).unwrap();
    let marked = format!("\u{feff}{}", spiral_text());
    assert_eq!(Project::from_json(&marked).unwrap(), plain);
    let dir = std::env::temp_dir().join(format!("netloom-bom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bom.json");
    std::fs::write(&path, marked).unwrap();
    assert_eq!(netloom::io::load_project(&path).unwrap(), plain);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The binary prints errors with anyhow's `{:#}`, which appends each `source` in the chain.
fn as_printed(error: netloom::io::FileError) -> String {
    format!("{:#}", anyhow::Error::new(error))
}

#[test]
fn each_cause_is_printed_once() {
    let missing =
        as_printed(netloom::io::load_project(Path::new("/no/such/project.json")).unwrap_err());
    assert_eq!(missing.matches("No such file").count(), 1, "{missing}");
    assert!(missing.starts_with("/no/such/project.json: "), "{missing}");

    let dir = std::env::temp_dir().join(format!("netloom-once-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(&path, "{ \"format_version\": 1, \"graph\": ").unwrap();
    let malformed = as_printed(netloom::io::load_project(&path).unwrap_err());
    assert_eq!(
        malformed.matches("line 1, column").count(),
        1,
        "{malformed}"
    );
    std::fs::write(
        &path,
        spiral_text().replacen("\"units\": 64", "\"units\": \"x\"", 1),
    )
    .unwrap();
    let bad_field = as_printed(netloom::io::load_project(&path).unwrap_err());
    assert_eq!(bad_field.matches("invalid type").count(), 1, "{bad_field}");
    std::fs::remove_dir_all(&dir).unwrap();
}
