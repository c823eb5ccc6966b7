//! Files: projects (JSON), weights (safetensors with PyTorch's names) and PyTorch code export.
//! Every write goes to a temporary file first and is renamed over the target, so a crash or a
//! full disk never leaves half a file where a good one was.

mod pytorch;
mod safe;
mod weights;

pub use pytorch::export_pytorch;
pub use safe::{SafeFile, same_file, write_atomically};
pub use weights::{
    LoadedWeights, batch_norm_counters, load_weights, load_weights_with_counters, save_weights,
};

use std::path::{Path, PathBuf};

use crate::graph::{LoadError, Project};

/// Each variant's message is complete (it names the file and says the cause), so causes are
/// written into it rather than chained as `source`s, which `{:#}` would print a second time.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: {error}", path.display())]
    Project { path: PathBuf, error: LoadError },
    #[error("{}: {message}", path.display())]
    Weights { path: PathBuf, message: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |cause| FileError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

pub fn load_project(path: &Path) -> Result<Project, FileError> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    Project::from_json(&text).map_err(|error| FileError::Project {
        path: path.to_path_buf(),
        error,
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
