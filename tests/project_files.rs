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
    assert_eq!(examples().len(), 7);
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
