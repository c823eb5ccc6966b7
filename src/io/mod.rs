//! Files: projects (JSON), weights (safetensors with PyTorch's names) and PyTorch code export.
//! Every write goes to a temporary file first and is renamed over the target, so a crash or a
//! full disk never leaves half a file where a good one was.

mod pytorch;
mod weights;

pub use pytorch::export_pytorch;
pub use weights::{load_weights, save_weights};

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::graph::{LoadError, Project};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Project { path: PathBuf, source: LoadError },
    #[error("{path}: {message}")]
    Weights { path: PathBuf, message: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, then renames it over.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(io_error(path))
}

pub fn load_project(path: &Path) -> Result<Project, FileError> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    Project::from_json(&text).map_err(|source| FileError::Project {
        path: path.to_path_buf(),
        source,
    })
}

pub fn save_project(path: &Path, project: &Project) -> Result<(), FileError> {
    write_atomically(path, project.to_json().as_bytes())
}

/// The folder a project's relative paths (CSV files) are resolved against.
pub fn project_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("netloom-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let missing = dir.join("no/such/folder/a.json");
        assert!(write_atomically(&missing, b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
