//! Project files from the window: open and save dialogs that never block the UI (rfd's
//! asynchronous dialogs, awaited on a thread of their own, and a built-in chooser when the
//! system has no dialog to offer), recent files, and a recovery copy of unsaved work written
//! every 30 seconds and offered back after a crash.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::graph::Project;
use crate::io;

const RECENT_MAX: usize = 8;
/// A system dialog that comes back empty sooner than this was never shown: nobody cancels a
/// dialog that fast, while rfd answers at once when no desktop portal is there to ask.
const NEVER_SHOWN: Duration = Duration::from_millis(400);
/// Setting this to `builtin` always uses the built-in chooser.
pub const DIALOG_ENV: &str = "NETLOOM_FILE_DIALOG";
const AUTOSAVE_EVERY: Duration = Duration::from_secs(30);
/// How long a system dialog may be awaited before the built-in chooser is offered in its place
/// (a desktop portal that is there but never answers shows nothing and says nothing).
const OFFER_BUILTIN_AFTER: Duration = Duration::from_secs(2);

/// What a file dialog was opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Open,
    SaveAs,
    ImportCsv,
    /// A UTF-8 text to learn characters from.
    ImportText,
    /// The images and labels files of an IDX set, picked together.
    ImportIdx,
    /// Where to write the plot in view, as values or as a picture.
    ExportCsv,
    ExportPng,
    /// Where to write the Analyze table.
    ExportAnalysis,
    /// The trained weights (safetensors, PyTorch's names), to write or to read.
    SaveWeights,
    LoadWeights,
    /// Where to write the network as a PyTorch module.
    ExportPytorch,
}

impl Purpose {
    /// Whether the file is to be written (a name to give) rather than read (a file to pick).
    fn saves(self) -> bool {
        matches!(
            self,
            Purpose::SaveAs
                | Purpose::ExportCsv
                | Purpose::ExportPng
                | Purpose::ExportAnalysis
                | Purpose::SaveWeights
                | Purpose::ExportPytorch
        )
    }
}

pub struct Files {
    /// A system dialog in progress: what for, when it was asked for, and its answer to come.
    dialog: Option<(Purpose, Instant, Receiver<Vec<PathBuf>>)>,
    /// The built-in chooser, when it is open.
    pub chooser: Option<Chooser>,
    /// Where the built-in chooser starts, when it is to be used instead of the system's
    /// dialogs.
    builtin: Option<PathBuf>,
    /// The name last suggested, for a chooser opened after a system dialog failed.
    suggested: String,
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
        let builtin = std::env::var(DIALOG_ENV)
            .is_ok_and(|v| v == "builtin")
            .then(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")));
        Self {
            dialog: None,
            chooser: None,
            builtin,
            suggested: String::new(),
            recent,
            state_dir,
            last_autosave: Instant::now(),
        }
    }

    /// Whether a system dialog is being waited for.
    pub fn dialog_open(&self) -> bool {
        self.dialog.is_some()
    }

    /// Uses the built-in chooser, starting in `dir`, instead of the system's dialogs.
    pub fn use_builtin(&mut self, dir: PathBuf) {
        self.builtin = Some(dir);
    }

    /// Shows a file dialog without waiting for it; `poll` (or the built-in chooser) hands back
    /// the choice.
    pub fn ask(&mut self, purpose: Purpose, suggested_name: &str) {
        if self.dialog.is_some() || self.chooser.is_some() {
            return;
        }
        let extension = extension(purpose);
        let name = format!("{suggested_name}.{extension}");
        self.suggested = name.clone();
        if let Some(dir) = &self.builtin {
            let why = format!(
                "The system file dialog is turned off ({DIALOG_ENV}=builtin); choose a file here."
            );
            self.chooser = Some(Chooser::new(purpose, dir.clone(), &name, why));
            return;
        }
        if !session_bus_present() {
            self.open_chooser(purpose);
            return;
        }
        let (sender, receiver) = channel();
        let dialog = rfd::AsyncFileDialog::new();
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
                    Purpose::ImportText => dialog
                        .add_filter("Text", &["txt", "gz"])
                        .pick_file()
                        .await
                        .into_iter()
                        .collect(),
                    Purpose::ImportIdx => dialog.pick_files().await.unwrap_or_default(),
                    Purpose::LoadWeights => dialog
                        .add_filter("safetensors", &["safetensors"])
                        .pick_file()
                        .await
                        .into_iter()
                        .collect(),
                    Purpose::ExportCsv
                    | Purpose::ExportPng
                    | Purpose::ExportAnalysis
                    | Purpose::SaveWeights
                    | Purpose::ExportPytorch => dialog
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
        self.dialog = Some((purpose, Instant::now(), receiver));
    }

    /// The built-in chooser in place of a system dialog that cannot be shown.
    fn open_chooser(&mut self, purpose: Purpose) {
        self.open_chooser_because(
            purpose,
            "No system file dialog is available (no desktop portal); choose a file here.",
        );
    }

    fn open_chooser_because(&mut self, purpose: Purpose, why: &str) {
        let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        self.chooser = Some(Chooser::new(
            purpose,
            dir,
            &self.suggested.clone(),
            why.into(),
        ));
    }

    /// The paths chosen in a finished dialog (none if it was cancelled). A dialog that failed
    /// (it answered before anyone could have cancelled it, or its thread died) opens the
    /// built-in chooser instead.
    pub fn poll(&mut self) -> Option<(Purpose, Vec<PathBuf>)> {
        let (purpose, asked, receiver) = self.dialog.as_ref()?;
        let (purpose, asked) = (*purpose, *asked);
        match receiver.try_recv() {
            Ok(chosen) => {
                self.dialog = None;
                if chosen.is_empty() && asked.elapsed() < NEVER_SHOWN {
                    self.open_chooser(purpose);
                }
                (!chosen.is_empty()).then_some((purpose, chosen))
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.dialog = None;
                self.open_chooser(purpose);
                None
            }
        }
    }

    /// While a system dialog has kept the user waiting, offers the built-in chooser instead.
    fn offer_builtin_ui(&mut self, ctx: &egui::Context) {
        let Some((purpose, asked, _)) = &self.dialog else {
            return;
        };
        if asked.elapsed() < OFFER_BUILTIN_AFTER {
            return;
        }
        let purpose = *purpose;
        let mut switch = false;
        egui::Window::new("Waiting for the file dialog")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_BOTTOM, [0.0, -60.0])
            .show(ctx, |ui| {
                ui.label("The system file dialog has not appeared: it may be behind this window, or the desktop portal is not answering.");
                switch = ui.button("Use the built-in chooser").clicked();
            });
        if switch {
            // The system dialog's answer, if it ever comes, goes nowhere.
            self.dialog = None;
            self.open_chooser_because(
                purpose,
                "The system file dialog did not appear; choose a file here.",
            );
        }
    }

    /// Draws the built-in chooser when it is open, and hands back what was chosen in it; offers
    /// it in place of a system dialog that keeps the user waiting.
    pub fn chooser_ui(&mut self, ctx: &egui::Context) -> Option<(Purpose, Vec<PathBuf>)> {
        self.offer_builtin_ui(ctx);
        let chooser = self.chooser.as_mut()?;
        match chooser.show(ctx) {
            Some(Choice::Chosen(paths)) => {
                let purpose = chooser.purpose;
                self.chooser = None;
                Some((purpose, paths))
            }
            Some(Choice::Cancelled) => {
                self.chooser = None;
                None
            }
            None => None,
        }
    }

    pub fn remember(&mut self, path: &Path) {
        // Paths chosen in the built-in chooser start the next one in their folder.
        if let (Some(dir), Some(parent)) = (&mut self.builtin, path.parent())
            && parent.is_dir()
        {
            *dir = parent.to_path_buf();
        }
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

fn extension(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::ExportCsv | Purpose::ExportAnalysis => "csv",
        Purpose::ExportPng => "png",
        Purpose::SaveWeights | Purpose::LoadWeights => "safetensors",
        Purpose::ExportPytorch => "py",
        _ => "json",
    }
}

/// Whether a D-Bus session bus, through which rfd asks the desktop portal for a dialog, is
/// there at all.
fn session_bus_present() -> bool {
    use std::os::unix::fs::MetadataExt;
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return true;
    }
    let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
    Path::new(&format!("/run/user/{uid}/bus")).exists()
}

/// What the user did in the built-in chooser.
enum Choice {
    Chosen(Vec<PathBuf>),
    Cancelled,
}

/// The built-in file chooser: a folder's listing to click through, a path field, OK and
/// Cancel.
pub struct Chooser {
    purpose: Purpose,
    dir: PathBuf,
    /// A file name in `dir`, or a path.
    path: String,
    /// Files picked for a purpose that takes two (IDX images and labels).
    picked: Vec<PathBuf>,
    /// Folders, then files, of `dir`.
    entries: Vec<(String, bool)>,
    why: String,
    error: Option<String>,
}

impl Chooser {
    fn new(purpose: Purpose, dir: PathBuf, suggested_name: &str, why: String) -> Self {
        let mut chooser = Self {
            purpose,
            dir: PathBuf::new(),
            path: if purpose.saves() {
                suggested_name.to_string()
            } else {
                String::new()
            },
            picked: Vec::new(),
            entries: Vec::new(),
            why,
            error: None,
        };
        chooser.enter(dir);
        chooser
    }

    fn saving(&self) -> bool {
        self.purpose.saves()
    }

    /// Lists `dir`, folders first, hidden entries left out.
    fn enter(&mut self, dir: PathBuf) {
        let dir = dir.canonicalize().unwrap_or(dir);
        match std::fs::read_dir(&dir) {
            Ok(listing) => {
                let mut entries: Vec<(String, bool)> = listing
                    .flatten()
                    .filter_map(|e| {
                        let name = e.file_name().to_str()?.to_string();
                        (!name.starts_with('.')).then(|| (name, e.path().is_dir()))
                    })
                    .collect();
                entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                self.entries = entries;
                self.dir = dir;
                self.error = None;
                if !self.saving() {
                    self.path.clear();
                }
            }
            Err(e) => self.error = Some(format!("Cannot open {}: {e}", dir.display())),
        }
    }

    /// The path the field names: absolute, or relative to the folder shown.
    fn typed(&self) -> PathBuf {
        let typed = PathBuf::from(self.path.trim());
        if typed.is_absolute() {
            typed
        } else {
            self.dir.join(typed)
        }
    }

    /// OK: a folder in the field is entered; a file is chosen.
    fn accept(&mut self) -> Option<Choice> {
        if self.purpose == Purpose::ImportIdx && self.path.trim().is_empty() {
            if self.picked.len() == 2 {
                return Some(Choice::Chosen(self.picked.clone()));
            }
            self.error = Some("Pick two files: the images (idx3) and the labels (idx1).".into());
            return None;
        }
        if self.path.trim().is_empty() {
            self.error = Some("Pick a file, or type its name.".into());
            return None;
        }
        let path = self.typed();
        if path.is_dir() {
            self.enter(path);
            return None;
        }
        if !self.saving() && !path.is_file() {
            self.error = Some(format!("There is no file {}.", path.display()));
            return None;
        }
        if self.saving() && !path.parent().is_some_and(Path::is_dir) {
            self.error = Some(format!("There is no folder {}.", self.dir.display()));
            return None;
        }
        Some(Choice::Chosen(vec![path]))
    }

    fn show(&mut self, ctx: &egui::Context) -> Option<Choice> {
        let mut choice = None;
        let title = match self.purpose {
            Purpose::Open => "Open a project",
            Purpose::SaveAs => "Save the project as",
            Purpose::ImportCsv => "Import a CSV file",
            Purpose::ImportText => "Import a text file",
            Purpose::ImportIdx => "Import IDX images and labels",
            Purpose::ExportCsv => "Export as CSV",
            Purpose::ExportPng => "Export as PNG",
            Purpose::ExportAnalysis => "Export the analysis as CSV",
            Purpose::SaveWeights => "Save the trained weights",
            Purpose::LoadWeights => "Load weights",
            Purpose::ExportPytorch => "Export a PyTorch module",
        };
        egui::Modal::new(egui::Id::unique("file chooser")).show(ctx, |ui| {
            ui.set_width(520.0);
            ui.heading(title);
            ui.label(&self.why);
            ui.horizontal(|ui| {
                let parent = self.dir.parent().map(Path::to_path_buf);
                if ui
                    .add_enabled(parent.is_some(), egui::Button::new("Up"))
                    .on_hover_text("The folder above")
                    .clicked()
                    && let Some(parent) = parent
                {
                    self.enter(parent);
                }
                ui.label(format!("Folder: {}", self.dir.display()));
            });
            let mut entered = None;
            let mut accept = false;
            egui::ScrollArea::vertical()
                .max_height(260.0)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    if self.entries.is_empty() {
                        ui.weak("This folder is empty.");
                    }
                    for (name, is_dir) in &self.entries {
                        let shown = if *is_dir {
                            format!("{name}/")
                        } else {
                            name.clone()
                        };
                        let path = self.dir.join(name);
                        let selected =
                            !is_dir && (self.picked.contains(&path) || self.path == *name);
                        let response = ui.selectable_label(selected, shown);
                        if response.clicked() {
                            if *is_dir {
                                entered = Some(path);
                            } else if self.purpose == Purpose::ImportIdx {
                                if let Some(i) = self.picked.iter().position(|p| *p == path) {
                                    self.picked.remove(i);
                                } else if self.picked.len() < 2 {
                                    self.picked.push(path);
                                }
                            } else {
                                self.path = name.clone();
                            }
                        }
                        if response.double_clicked() && !is_dir {
                            self.path = name.clone();
                            accept = true;
                        }
                    }
                });
            if let Some(dir) = entered {
                self.enter(dir);
            }
            if accept {
                choice = self.accept();
            }
            ui.horizontal(|ui| {
                let label = ui.label(if self.saving() { "Save as" } else { "File" });
                let field = ui
                    .add(egui::TextEdit::singleline(&mut self.path).desired_width(420.0))
                    .labelled_by(label.id);
                if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    choice = self.accept();
                }
            });
            if !self.picked.is_empty() {
                let names: Vec<String> = self
                    .picked
                    .iter()
                    .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
                    .collect();
                ui.label(format!("Picked: {}", names.join(", ")));
            }
            if let Some(error) = &self.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            ui.horizontal(|ui| {
                if ui.button("OK").clicked() {
                    choice = self.accept();
                }
                if ui.button("Cancel").clicked() {
                    choice = Some(Choice::Cancelled);
                }
            });
        });
        choice
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    #[test]
    fn a_system_dialog_that_never_answers_gives_way_to_the_built_in_chooser() {
        let mut files = Files::new(None);
        let (sender, receiver) = channel();
        let asked = Instant::now() - OFFER_BUILTIN_AFTER - Duration::from_millis(10);
        files.dialog = Some((Purpose::Open, asked, receiver));
        let mut h = Harness::builder().build_ui_state(
            |ui, files: &mut Files| {
                files.chooser_ui(ui.ctx());
            },
            files,
        );
        h.run_steps(2);
        h.get_by_label("Use the built-in chooser").click();
        h.run_steps(2);
        assert!(h.state().dialog.is_none());
        h.get_by_label_contains("did not appear; choose a file here");
        drop(sender);
    }
}
