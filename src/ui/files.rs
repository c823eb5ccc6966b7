//! Project files from the window: open and save dialogs that never block the UI (rfd's
//! asynchronous dialogs, awaited on a thread of their own), recent files, and a recovery copy of
//! unsaved work written every 30 seconds and offered back after a crash.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::graph::Project;
use crate::io;

const RECENT_MAX: usize = 8;
const AUTOSAVE_EVERY: Duration = Duration::from_secs(30);

/// What a file dialog was opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Open,
    SaveAs,
    ImportCsv,
    /// The images and labels files of an IDX set, picked together.
    ImportIdx,
    /// Where to write the plot in view, as values or as a picture.
    ExportCsv,
    ExportPng,
}

pub struct Files {
    dialog: Option<(Purpose, Receiver<Vec<PathBuf>>)>,
    pub recent: Vec<PathBuf>,
    /// Where recent files and the recovery copy live; `None` keeps nothing on disk.
    state_dir: Option<PathBuf>,
    last_autosave: Instant,
}

/// The folder for Netloom's own state: `$XDG_STATE_HOME/netloom`, else `~/.local/state/netloom`.
pub fn default_state_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("netloom"))
}

impl Files {
    pub fn new(state_dir: Option<PathBuf>) -> Self {
        let recent = state_dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join("recent.json")).ok())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Self {
            dialog: None,
            recent,
            state_dir,
            last_autosave: Instant::now(),
        }
    }

    pub fn dialog_open(&self) -> bool {
        self.dialog.is_some()
    }

    /// Shows a file dialog without waiting for it; `poll` hands back the choice.
    pub fn ask(&mut self, purpose: Purpose, suggested_name: &str) {
        if self.dialog.is_some() {
            return;
        }
        let (sender, receiver) = channel();
        let dialog = rfd::AsyncFileDialog::new();
        let extension = match purpose {
            Purpose::ExportCsv => "csv",
            Purpose::ExportPng => "png",
            _ => "json",
        };
        let name = format!("{suggested_name}.{extension}");
        std::thread::spawn(move || {
            let project = |d: rfd::AsyncFileDialog| d.add_filter("Netloom project", &["json"]);
            let chosen = pollster::block_on(async move {
                match purpose {
                    Purpose::Open => project(dialog).pick_file().await.into_iter().collect(),
                    Purpose::SaveAs => project(dialog)
                        .set_file_name(name)
                        .save_file()
                        .await
                        .into_iter()
                        .collect(),
                    Purpose::ImportCsv => dialog
                        .add_filter("CSV", &["csv", "gz"])
                        .pick_file()
                        .await
                        .into_iter()
                        .collect(),
                    Purpose::ImportIdx => dialog.pick_files().await.unwrap_or_default(),
                    Purpose::ExportCsv | Purpose::ExportPng => dialog
                        .add_filter(extension.to_uppercase(), &[extension])
                        .set_file_name(name)
                        .save_file()
                        .await
                        .into_iter()
                        .collect(),
                }
            });
            let chosen: Vec<rfd::FileHandle> = chosen;
            let _ = sender.send(chosen.iter().map(|f| f.path().to_path_buf()).collect());
        });
        self.dialog = Some((purpose, receiver));
    }

    /// The paths chosen in a finished dialog (none if it was cancelled).
    pub fn poll(&mut self) -> Option<(Purpose, Vec<PathBuf>)> {
        let (purpose, receiver) = self.dialog.as_ref()?;
        let purpose = *purpose;
        match receiver.try_recv() {
            Ok(chosen) => {
                self.dialog = None;
                (!chosen.is_empty()).then_some((purpose, chosen))
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.dialog = None;
                None
            }
        }
    }

    pub fn remember(&mut self, path: &Path) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.recent.retain(|p| *p != path);
        self.recent.insert(0, path);
        self.recent.truncate(RECENT_MAX);
        if let Some(dir) = &self.state_dir
            && let Ok(json) = serde_json::to_vec_pretty(&self.recent)
        {
            let _ = std::fs::create_dir_all(dir);
            let _ = io::write_atomically(&dir.join("recent.json"), &json);
        }
    }

    fn recovery_path(&self) -> Option<PathBuf> {
        self.state_dir.as_ref().map(|d| d.join("recovery.json"))
    }

    /// Writes the recovery copy when 30 seconds have passed since the last one and there is
    /// unsaved work.
    pub fn autosave(&mut self, project: &Project, dirty: bool) {
        if !dirty || self.last_autosave.elapsed() < AUTOSAVE_EVERY {
            return;
        }
        self.last_autosave = Instant::now();
        if let Some(path) = self.recovery_path() {
            let _ = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")));
            let _ = io::save_project(&path, project);
        }
    }

    /// Forgets the recovery copy: the work was saved, discarded, or the app closed cleanly.
    pub fn clear_recovery(&self) {
        if let Some(path) = self.recovery_path() {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Work left behind by a session that did not close cleanly.
    pub fn recovered(&self) -> Option<Project> {
        io::load_project(&self.recovery_path()?).ok()
    }
}
