//! The window: a top bar of file and edit commands, the palette on the left, the canvas in the
//! middle, the inspector on the right and a status line at the bottom; keyboard shortcuts; and
//! the prompts that keep unsaved work from being lost.

use std::path::{Path, PathBuf};

use egui::{Key, KeyboardShortcut, Modifiers, Ui};

use super::analyze::{AnalyzeRequest, AnalyzeView};
use super::canvas::{Canvas, PRESENT_ZOOM, thousands};
use super::dataset::{DatasetPanel, Import, relative_to_project};
use super::editor::{Clip, Editor, lay_out, needs_layout};
use super::files::{Files, Purpose};
use super::inside::InsideView;
use super::inspector;
use super::palette::Palette;
use super::run::{Run, WeightsAnswer};
use super::templates::{self, TEMPLATES};
use super::training::{Request, TrainingPanel};
use crate::compile;
use crate::graph::Project;
use crate::io;
use crate::train::Command;

/// What to do once the user has decided about unsaved changes.
enum Pending {
    Replace(Box<Project>),
    Open(PathBuf),
    AskOpen,
    Quit,
}

pub struct NetloomApp {
    pub editor: Editor,
    pub canvas: Canvas,
    palette: Palette,
    pub dataset: DatasetPanel,
    pub run: Run,
    pub training: TrainingPanel,
    inside: InsideView,
    analyze: AnalyzeView,
    /// Where the weights the trainer was asked for are to be saved, and where loaded ones came
    /// from, until it answers.
    weights_to: Option<PathBuf>,
    weights_from: Option<PathBuf>,
    /// The history's revision the canvas's health marks were worked out from.
    health_revision: Option<u64>,
    /// The selection the inspector showed last frame: a new one scrolls it into view.
    inspected: std::collections::BTreeSet<crate::graph::NodeId>,
    files: Files,
    clip: Clip,
    /// A message for the user, and whether it reports an error.
    pub notice: Option<(String, bool)>,
    pending: Option<Pending>,
    /// Unsaved work from a session that ended without closing, offered back once.
    recovery: Option<Project>,
    show_problems: bool,
    /// Where a PNG of the training view is to go, and the outcome of saving one.
    picture_to: Option<PathBuf>,
    picture_saved: Option<std::sync::mpsc::Receiver<(PathBuf, Result<(), String>)>>,
    /// The message last shown and the editor's version then: a message that is not an error
    /// goes with the next edit.
    notice_seen: Option<(String, u64)>,
    /// The window title last sent: sending one asks for another frame, so it goes only when
    /// it changes.
    title: String,
    /// In Present mode, the zoom and theme to go back to.
    present: Option<(f32, egui::ThemePreference)>,
}

const SHORTCUT_NEW: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
const SHORTCUT_OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
const SHORTCUT_SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
const SHORTCUT_SAVE_AS: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S);
const SHORTCUT_UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
const SHORTCUT_REDO: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
const SHORTCUT_REDO_Y: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
const SHORTCUT_COPY: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::C);
const SHORTCUT_PASTE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::V);
const SHORTCUT_DUPLICATE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::D);
const SHORTCUT_PRESENT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F5);

impl NetloomApp {
    /// The app on `project` (from `path`, if it came from a file); `state_dir` keeps recent files
    /// and the recovery copy (`None` keeps nothing, as in tests).
    pub fn new(project: Project, path: Option<PathBuf>, state_dir: Option<PathBuf>) -> Self {
        let files = Files::new(state_dir);
        let recovery = files.recovered();
        let mut app = Self {
            editor: Editor::new(project, path),
            canvas: Canvas::default(),
            palette: Palette::default(),
            dataset: DatasetPanel::default(),
            run: Run::default(),
            training: TrainingPanel::default(),
            inside: InsideView::default(),
            analyze: AnalyzeView::default(),
            weights_to: None,
            weights_from: None,
            inspected: Default::default(),
            health_revision: None,
            files,
            clip: Clip::default(),
            notice: None,
            pending: None,
            recovery,
            show_problems: false,
            picture_to: None,
            picture_saved: None,
            present: None,
            notice_seen: None,
            title: String::new(),
        };
        app.canvas.fit();
        app
    }

    /// The spiral example, ready to train.
    pub fn with_spiral(state_dir: Option<PathBuf>) -> Self {
        Self::new(TEMPLATES[0].project(), None, state_dir)
    }

    /// Opens `path`, replacing the current project (the caller has dealt with unsaved changes).
    pub fn open_path(&mut self, path: &Path) {
        match io::load_project(path) {
            Ok(mut project) => {
                if needs_layout(&project.graph) {
                    lay_out(&mut project.graph);
                }
                self.replace(project, Some(path.to_path_buf()));
                self.files.remember(path);
                self.notice = None;
            }
            Err(e) => self.notice = Some((format!("Could not open the project: {e}"), true)),
        }
    }

    fn replace(&mut self, project: Project, path: Option<PathBuf>) {
        self.editor = Editor::new(project, path);
        self.run = Run::default();
        self.training.task.clear();
        self.training.sequence.clear();
        self.files.clear_recovery();
        self.canvas.fit();
    }

    /// Saves to the project's file, or asks where when it has none.
    pub fn save(&mut self) {
        match self.editor.path.clone() {
            Some(path) => self.save_to(&path),
            None => self.files.ask(Purpose::SaveAs, &self.editor.project.name),
        }
    }

    pub fn save_to(&mut self, path: &Path) {
        match io::save_project(path, &self.editor.project) {
            Ok(()) => {
                self.editor.mark_saved(path.to_path_buf());
                self.files.remember(path);
                self.files.clear_recovery();
                self.notice = Some((format!("Saved {}", path.display()), false));
            }
            Err(e) => self.notice = Some((format!("Could not save: {e}"), true)),
        }
    }

    /// Runs `action` now, or after asking what to do with unsaved changes.
    fn guarded(&mut self, action: Pending) {
        if self.editor.is_dirty() {
            self.pending = Some(action);
        } else {
            self.run_pending(action);
        }
    }

    fn run_pending(&mut self, action: Pending) {
        match action {
            Pending::Replace(project) => self.replace(*project, None),
            Pending::Open(path) => self.open_path(&path),
            Pending::AskOpen => self.files.ask(Purpose::Open, ""),
            Pending::Quit => {}
        }
    }

    /// Where the project's relative paths start.
    fn base_dir(&self) -> PathBuf {
        self.editor
            .path
            .as_deref()
            .map_or_else(|| PathBuf::from("."), io::project_dir)
    }

    /// Takes in the trainer's news, passes edits on to it, and keeps frames coming while it
    /// trains.
    fn follow_run(&mut self, ctx: &egui::Context) {
        self.run.poll(&self.editor.project.graph);
        let has_errors = self.has_errors();
        let version = self.editor.version();
        match (&self.notice, &self.notice_seen) {
            (Some((text, false)), Some((seen, at))) if text == seen => {
                if *at != version {
                    self.notice = None;
                }
            }
            (Some((text, _)), _) => self.notice_seen = Some((text.clone(), version)),
            (None, _) => self.notice_seen = None,
        }
        self.run
            .follow(&self.editor.project, version, self.base_dir(), has_errors);
        self.training
            .text
            .update(&mut self.run, self.dataset.dataset());
        self.training.sequence.update(
            &mut self.run,
            &self.editor.project,
            self.dataset.dataset(),
            self.training.tab,
        );
        if self.training.tab == super::training::Tab::Latent {
            self.training.latent.update(
                ctx,
                &mut self.run,
                &self.editor.project,
                self.dataset.dataset(),
            );
        }
        self.training.task.update(
            ctx,
            &mut self.run,
            &self.editor.project,
            self.dataset.dataset(),
            self.training.tab,
        );
        self.canvas.non_finite = self
            .run
            .non_finite
            .as_ref()
            .and_then(|r| r.node.map(|n| (n, r.message.clone())));
        // Health changes with new statistics or a new run, not with every step.
        let revision = Some(self.run.history.revision());
        if revision != self.health_revision || self.run.is_idle() {
            self.canvas.health =
                super::health::assess(&self.run.history, &self.editor.project.graph);
            self.health_revision = revision;
        }
        if self.run.running || self.run.is_starting() {
            ctx.request_repaint_after(std::time::Duration::from_millis(30));
        }
    }

    /// While training is paused, what the selected node holds.
    fn inside_selected_node(&mut self, ui: &mut Ui) {
        let [node] = self.editor.selection.iter().copied().collect::<Vec<_>>()[..] else {
            return;
        };
        if self.run.is_idle() || self.run.running {
            if !self.run.is_idle() {
                ui.separator();
                ui.weak("Pause training (or press Step) to look inside this node.");
            }
            return;
        }
        self.run.want_inspection(node, self.inside.sample);
        if let Some(inspection) = self.run.inspection.clone().filter(|i| i.node == node) {
            ui.separator();
            let time_steps = self
                .editor
                .model
                .graph
                .node_index(node)
                .and_then(|i| self.editor.model.nodes.get(i)?.output.as_ref())
                .filter(|shape| shape.has_time() && shape.len() >= 2)
                .map(|shape| shape[0]);
            self.inside.show(ui, &inspection, time_steps);
        }
    }

    fn has_errors(&self) -> bool {
        self.editor
            .model
            .problems
            .iter()
            .any(|p| p.severity == crate::compile::Severity::Error)
    }

    fn apply(&mut self, request: Request) {
        let trains = matches!(
            request,
            Request::TrainMore(_)
                | Request::Command(Command::Play | Command::Step | Command::StepEpoch)
        );
        if trains && self.has_errors() {
            // The trainer would train the last network without errors, not the one on screen.
            self.show_problems = true;
            return;
        }
        match request {
            Request::Command(Command::Play) if self.run.finished.is_some() => {
                let more = self
                    .training
                    .more_epochs
                    .unwrap_or(self.editor.project.training.epochs);
                self.apply(Request::TrainMore(more));
            }
            Request::Command(command) => {
                let base = self.base_dir();
                self.run.command(&self.editor.project, base, command);
            }
            Request::TrainMore(more) => {
                let base = self.base_dir();
                self.run.train_more(&self.editor.project, base, more);
            }
            Request::Dismiss => {
                self.notice = None;
                self.run.notice = None;
                self.run.fallback = None;
            }
            Request::Reset => {
                self.run.reset();
                self.training.task.clear();
                self.training.sequence.clear();
            }
            Request::Pace(pace) => self.run.set_pace(pace),
            Request::Export { picture } => {
                let purpose = if picture {
                    Purpose::ExportPng
                } else {
                    Purpose::ExportCsv
                };
                let name = self.training.tab.label().to_lowercase().replace(' ', "_");
                self.files.ask(purpose, &name);
            }
        }
    }

    /// Uses the built-in file chooser, starting in `dir`, instead of the system's dialogs (as
    /// setting `NETLOOM_FILE_DIALOG=builtin` does).
    pub fn use_builtin_file_chooser(&mut self, dir: PathBuf) {
        self.files.use_builtin(dir);
    }

    pub fn ui(&mut self, ui: &mut Ui) {
        self.handle_files(ui.ctx());
        self.handle_shortcuts(ui.ctx());
        self.take_picture(ui.ctx());
        self.dataset.update(ui.ctx(), &mut self.editor);
        if let Some((spec, dataset)) = self.dataset.shared() {
            self.run.offer_dataset(spec, dataset);
        }
        self.follow_run(ui.ctx());
        self.take_weights();
        egui::Panel::top("top bar").show(ui, |ui| self.top_bar(ui));
        egui::Panel::bottom("status line").show(ui, |ui| self.status_line(ui));
        // Larger text leaves fewer points: presenting, the plots take at most 55% of the height.
        let most = if self.present.is_some() {
            ui.available_height() * 0.55
        } else {
            f32::INFINITY
        };
        let request = egui::Panel::bottom("training")
            .resizable(true)
            .default_size(360.0)
            .max_size(most)
            .show(ui, |ui| {
                self.training.show(
                    ui,
                    &mut self.editor,
                    &self.run,
                    self.dataset.dataset(),
                    self.notice.as_ref(),
                )
            })
            .inner;
        if let Some(request) = request {
            self.apply(request);
        }
        // Presenting is for showing: the palette is put away, and comes back with Present.
        if self.present.is_none() {
            egui::Panel::left("palette")
                .default_size(200.0)
                .show(ui, |ui| self.palette.show(ui, &mut self.editor));
        }
        egui::Panel::right("inspector")
            .default_size(280.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    egui::CollapsingHeader::new("Dataset")
                        .default_open(true)
                        .show(ui, |ui| match self.dataset.show(ui, &mut self.editor) {
                            Some(Import::Csv) => self.files.ask(Purpose::ImportCsv, ""),
                            Some(Import::Text) => self.files.ask(Purpose::ImportText, ""),
                            Some(Import::Idx) => self.files.ask(Purpose::ImportIdx, ""),
                            None => {}
                        });
                    ui.separator();
                    // Below an open dataset section, a newly selected node's settings could be
                    // out of sight.
                    if self.editor.selection != self.inspected {
                        self.inspected = self.editor.selection.clone();
                        if !self.inspected.is_empty() {
                            ui.scroll_to_cursor(Some(egui::Align::TOP));
                        }
                    }
                    inspector::show(ui, &mut self.editor);
                    self.inside_selected_node(ui);
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.canvas.show(ui, &mut self.editor);
        });
        self.problems_window(ui.ctx());
        self.analyze_window(ui.ctx());
        self.unsaved_prompt(ui.ctx());
        self.recovery_prompt(ui.ctx());
        if let Some((purpose, paths)) = self.files.chooser_ui(ui.ctx()) {
            self.chosen(purpose, &paths);
        }
        let idle = ui.input(|i| !i.pointer.any_down()) && ui.memory(|m| m.focused().is_none());
        if idle {
            self.editor.seal();
        }
        self.files
            .autosave(&self.editor.project, self.editor.is_dirty());
    }

    fn handle_files(&mut self, ctx: &egui::Context) {
        if let Some((purpose, paths)) = self.files.poll() {
            self.chosen(purpose, &paths);
        }
        if self.files.dialog_open() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        let dropped: Option<PathBuf> =
            ctx.input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf()));
        if let Some(path) = dropped {
            self.guarded(Pending::Open(path));
        }
        if ctx.input(|i| i.viewport().close_requested()) && self.editor.is_dirty() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.pending = Some(Pending::Quit);
        }
        let title = format!(
            "Netloom — {}{}",
            self.editor.project.name,
            if self.editor.is_dirty() { " •" } else { "" }
        );
        if title != self.title {
            self.title = title.clone();
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title));
        }
    }

    /// Acts on files picked in a dialog.
    fn chosen(&mut self, purpose: Purpose, paths: &[PathBuf]) {
        let relative = |p: &Path| relative_to_project(p, self.editor.path.as_deref());
        match (purpose, paths) {
            (Purpose::Open, [path, ..]) => self.open_path(path),
            (Purpose::SaveAs, [path, ..]) => self.save_to(path),
            (Purpose::ImportCsv, [path, ..]) => {
                let spec = crate::data::DatasetSpec::Csv {
                    path: relative(path),
                    target_column: None,
                    task: Default::default(),
                    standardize: true,
                };
                self.dataset.choose(&mut self.editor, spec);
            }
            (Purpose::ImportText, [path, ..]) => {
                let spec = crate::data::DatasetSpec::Text {
                    path: relative(path),
                    length: 64,
                };
                self.dataset.choose(&mut self.editor, spec);
            }
            (Purpose::ImportIdx, [a, b]) => {
                // The images file is the larger of the two.
                let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
                let (images, labels) = if size(a) >= size(b) { (a, b) } else { (b, a) };
                let spec = crate::data::DatasetSpec::Idx {
                    images: relative(images),
                    labels: relative(labels),
                };
                self.dataset.choose(&mut self.editor, spec);
            }
            (Purpose::ExportCsv, [path, ..]) => {
                let csv = super::plots::csv(
                    self.training.tab,
                    &self.run.history,
                    &self.training.histograms,
                )
                .unwrap_or_default();
                let written = io::write_atomically(path, csv.as_bytes());
                self.report_write(path, written.map_err(|e| e.to_string()));
            }
            (Purpose::ExportPng, [path, ..]) => self.picture_to = Some(path.clone()),
            (Purpose::SaveWeights, [path, ..]) => {
                // The trainer answers with the weights as they are; `take_weights` saves them.
                self.weights_to = Some(path.clone());
                self.apply(Request::Command(Command::Weights));
            }
            (Purpose::LoadWeights, [path, ..]) => match io::load_weights_with_counters(path) {
                Ok(loaded) => {
                    self.weights_from = Some(path.clone());
                    self.apply(Request::Command(Command::SetWeights(loaded.tensors)));
                }
                Err(e) => self.notice = Some((format!("Could not load weights: {e}"), true)),
            },
            (Purpose::ExportPytorch, [path, ..]) => {
                let written = if self.editor.model.is_trainable() {
                    let code = io::export_pytorch(&self.editor.model, &self.editor.project.name);
                    io::write_atomically(path, code.as_bytes()).map_err(|e| e.to_string())
                } else {
                    Err("the network has problems to fix first (see Problems)".into())
                };
                self.report_write(path, written);
            }
            (Purpose::ExportAnalysis, [path, ..]) => {
                let model = &self.editor.model;
                let training = &self.editor.project.training;
                let rows = compile::layer_table(model, training.optimizer, training.batch_size);
                let written = io::write_atomically(path, compile::table_csv(&rows).as_bytes());
                self.report_write(path, written.map_err(|e| e.to_string()));
            }
            (Purpose::ImportIdx, _) => {
                self.notice = Some((
                    "Pick two files together: the images (idx3) and the labels (idx1).".into(),
                    true,
                ))
            }
            _ => {}
        }
    }

    fn report_write(&mut self, path: &Path, result: Result<(), String>) {
        self.notice = Some(match result {
            Ok(()) => (format!("Saved {}", path.display()), false),
            Err(e) => (format!("Could not save: {e}"), true),
        });
    }

    /// Asks the window for a screenshot when a PNG is wanted; the training view's part of it is
    /// saved off the UI thread, and the outcome shown when it comes.
    fn take_picture(&mut self, ctx: &egui::Context) {
        if let Some(path) = self.picture_to.take() {
            let (rect, scale) = (self.training.view_rect, ctx.pixels_per_point());
            let (sender, receiver) = std::sync::mpsc::channel();
            let repaint = ctx.clone();
            ctx.request_screenshot(move |image| {
                let region = image.region(&rect, Some(scale));
                let written = super::picture::png(&region).and_then(|bytes| {
                    io::write_atomically(&path, &bytes).map_err(|e| e.to_string())
                });
                let _ = sender.send((path, written));
                repaint.request_repaint();
            });
            self.picture_saved = Some(receiver);
        }
        if let Some(Ok((path, written))) = self.picture_saved.as_ref().map(|r| r.try_recv()) {
            self.picture_saved = None;
            self.report_write(&path, written);
        }
    }

    /// Whether the window is in Present mode: larger, and dark on white.
    pub fn presenting(&self) -> bool {
        self.present.is_some()
    }

    /// Goes into Present mode (everything 1.5 times larger, high contrast, the palette put away)
    /// or back to how the window was.
    pub fn toggle_present(&mut self, ctx: &egui::Context) {
        match self.present.take() {
            None => {
                let before = (ctx.zoom_factor(), ctx.options(|o| o.theme_preference));
                ctx.set_zoom_factor(before.0 * PRESENT_ZOOM);
                ctx.set_visuals_of(egui::Theme::Light, present_visuals());
                ctx.set_theme(egui::ThemePreference::Light);
                self.present = Some(before);
            }
            Some((zoom, theme)) => {
                ctx.set_zoom_factor(zoom);
                ctx.set_visuals_of(egui::Theme::Light, egui::Visuals::light());
                ctx.set_theme(theme);
            }
        }
        self.canvas.present = self.present.is_some();
        self.canvas.fit();
    }

    /// Acts on the trainer's answer about weights: saves those asked for (finite ones only, so a
    /// run that blew up never replaces good weights), or says that loaded ones are in.
    fn take_weights(&mut self) {
        match self.run.weights.take() {
            Some(WeightsAnswer::Taken { step, tensors }) => {
                let Some(path) = self.weights_to.take() else {
                    return;
                };
                if let Some(bad) = tensors
                    .iter()
                    .find(|t| t.values.iter().any(|v| !v.is_finite()))
                {
                    self.notice = Some((
                        format!(
                            "Weights not saved: \"{}\" holds a NaN or an infinity. Reset or load good weights, then train again.",
                            bad.name
                        ),
                        true,
                    ));
                    return;
                }
                let counters = io::batch_norm_counters(&self.editor.model, step, &[]);
                let written = io::save_weights(&path, &tensors, &counters);
                self.report_write(&path, written.map_err(|e| e.to_string()));
            }
            Some(WeightsAnswer::Loaded) => {
                if let Some(path) = self.weights_from.take() {
                    self.notice = Some((format!("Loaded weights from {}", path.display()), false));
                }
            }
            None => {}
        }
    }

    /// Model: what the class trained, kept or brought back, and the network as code.
    fn model_menu(&mut self, ui: &mut Ui) {
        let name = self.editor.project.name.to_lowercase().replace(' ', "_");
        if ui.button("Save trained weights…").clicked() {
            self.files.ask(Purpose::SaveWeights, &name);
        }
        if ui.button("Load weights…").clicked() {
            self.files.ask(Purpose::LoadWeights, "");
        }
        ui.separator();
        if ui.button("Export PyTorch module…").clicked() {
            self.files.ask(Purpose::ExportPytorch, &name);
        }
    }

    /// Copies the selection, into the system clipboard too where there is one.
    fn copy(&mut self, ctx: &egui::Context) {
        self.clip = self.editor.copy_selection();
        if !self.clip.is_empty() {
            ctx.copy_text(self.clip.to_text());
        }
    }

    /// Pastes what the system clipboard holds when it is a copy of nodes, else what was copied
    /// here last (the clipboard may be empty, hold other text, or be missing).
    fn paste(&mut self, clipboard: Option<&str>) {
        let clip = clipboard.and_then(Clip::from_text);
        self.editor
            .paste(clip.as_ref().unwrap_or(&self.clip), [40.0, 40.0]);
    }

    /// Edit: the editing commands, each also a shortcut.
    fn edit_menu(&mut self, ui: &mut Ui) {
        let selected = !self.editor.selection.is_empty();
        let item = |ui: &mut Ui, enabled: bool, label: &str, keys: &str| {
            ui.add_enabled(enabled, egui::Button::new(label).shortcut_text(keys))
                .clicked()
        };
        if item(ui, self.editor.can_undo(), "Undo", "Ctrl+Z") {
            self.editor.undo();
        }
        if item(ui, self.editor.can_redo(), "Redo", "Ctrl+Shift+Z") {
            self.editor.redo();
        }
        ui.separator();
        if item(ui, selected, "Copy", "Ctrl+C") {
            self.copy(ui.ctx());
        }
        if item(ui, !self.clip.is_empty(), "Paste", "Ctrl+V") {
            self.paste(None);
        }
        if item(ui, selected, "Duplicate", "Ctrl+D") {
            self.editor.duplicate_selection();
        }
        if item(ui, selected, "Delete", "Del") {
            self.editor.delete_selection();
        }
    }

    fn handle_shortcuts(&mut self, ctx: &egui::Context) {
        let pressed = |s: &KeyboardShortcut| ctx.input_mut(|i| i.consume_shortcut(s));
        if pressed(&SHORTCUT_PRESENT) {
            self.toggle_present(ctx);
        }
        if pressed(&SHORTCUT_SAVE_AS) {
            self.files.ask(Purpose::SaveAs, &self.editor.project.name);
        } else if pressed(&SHORTCUT_SAVE) {
            self.save();
        }
        if pressed(&SHORTCUT_NEW) {
            self.guarded(Pending::Replace(Box::new(templates::empty())));
        }
        if pressed(&SHORTCUT_OPEN) {
            self.guarded(Pending::AskOpen);
        }
        // Text fields keep their own editing keys.
        if ctx.memory(|m| m.focused().is_some()) {
            return;
        }
        if pressed(&SHORTCUT_REDO) || pressed(&SHORTCUT_REDO_Y) {
            self.editor.redo();
        } else if pressed(&SHORTCUT_UNDO) {
            self.editor.undo();
        }
        let copied = ctx.input(|i| i.events.iter().any(|e| matches!(e, egui::Event::Copy)));
        if pressed(&SHORTCUT_COPY) || copied {
            self.copy(ctx);
        }
        let pasted = ctx.input(|i| {
            i.events.iter().find_map(|e| match e {
                egui::Event::Paste(text) => Some(text.clone()),
                _ => None,
            })
        });
        if pressed(&SHORTCUT_PASTE) || pasted.is_some() {
            self.paste(pasted.as_deref());
        }
        if pressed(&SHORTCUT_DUPLICATE) {
            self.editor.duplicate_selection();
        }
        if ctx.input(|i| i.key_pressed(Key::Delete) || i.key_pressed(Key::Backspace)) {
            self.editor.delete_selection();
        }
        if ctx.input(|i| i.key_pressed(Key::F) && i.modifiers.is_none()) {
            self.canvas.fit();
        }
        if ctx.input(|i| i.key_pressed(Key::Space) && i.modifiers.is_none()) {
            let command = if self.run.running {
                Command::Pause
            } else {
                Command::Play
            };
            self.apply(Request::Command(command));
        }
    }

    fn top_bar(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.strong("Netloom");
            ui.separator();
            if ui
                .button("New")
                .on_hover_text("An empty canvas (Ctrl+N)")
                .clicked()
            {
                self.guarded(Pending::Replace(Box::new(templates::empty())));
            }
            if ui
                .button("Open…")
                .on_hover_text("Open a project (Ctrl+O)")
                .clicked()
            {
                self.guarded(Pending::AskOpen);
            }
            if ui.button("Save").on_hover_text("Save (Ctrl+S)").clicked() {
                self.save();
            }
            if ui
                .button("Save as…")
                .on_hover_text("Save under a new name (Ctrl+Shift+S)")
                .clicked()
            {
                self.files.ask(Purpose::SaveAs, &self.editor.project.name);
            }
            ui.menu_button("Recent", |ui| {
                if self.files.recent.is_empty() {
                    ui.weak("No recent projects yet.");
                }
                for path in self.files.recent.clone() {
                    if ui.button(path.display().to_string()).clicked() {
                        self.guarded(Pending::Open(path));
                    }
                }
            });
            ui.menu_button("Templates", |ui| {
                if ui.button("Empty canvas").clicked() {
                    self.guarded(Pending::Replace(Box::new(templates::empty())));
                }
                for template in TEMPLATES {
                    if ui.button(template.name).clicked() {
                        self.guarded(Pending::Replace(Box::new(template.project())));
                    }
                }
            });
            ui.menu_button("Edit", |ui| self.edit_menu(ui));
            ui.menu_button("Model", |ui| self.model_menu(ui));
            ui.separator();
            let undo = ui.add_enabled(self.editor.can_undo(), egui::Button::new("Undo"));
            if undo.on_hover_text("Undo (Ctrl+Z)").clicked() {
                self.editor.undo();
            }
            let redo = ui.add_enabled(self.editor.can_redo(), egui::Button::new("Redo"));
            if redo
                .on_hover_text("Redo (Ctrl+Shift+Z or Ctrl+Y)")
                .clicked()
            {
                self.editor.redo();
            }
            if ui
                .button("Arrange")
                .on_hover_text("Lay the graph out from left to right")
                .clicked()
            {
                self.editor.auto_layout();
                self.canvas.fit();
            }
            if ui
                .button("Fit")
                .on_hover_text("Show the whole graph (F)")
                .clicked()
            {
                self.canvas.fit();
            }
            if ui
                .button("Analyze")
                .on_hover_text(
                    "Every layer in a table: shapes, parameters, FLOPs, memory, problems",
                )
                .clicked()
            {
                self.analyze.open = !self.analyze.open;
            }
            ui.separator();
            if ui
                .selectable_label(self.present.is_some(), "Present")
                .on_hover_text(
                    "Larger and dark on white, for a projector; the palette is put away (F5)",
                )
                .clicked()
            {
                self.toggle_present(ui.ctx());
            }
            if self.present.is_none() {
                theme_choice(ui);
            }
        });
    }

    fn status_line(&mut self, ui: &mut Ui) {
        let model = &self.editor.model;
        ui.horizontal(|ui| {
            ui.label(format!("Parameters: {}", thousands(model.total_params)));
            ui.separator();
            ui.label(format!(
                "FLOPs per sample: {}",
                thousands(model.total_flops as usize)
            ));
            ui.separator();
            let count = model.problems.len();
            let text = match count {
                0 => "No problems".to_string(),
                1 => "1 problem".to_string(),
                n => format!("{n} problems"),
            };
            if ui
                .selectable_label(self.show_problems, text)
                .on_hover_text("Show every problem with the network")
                .clicked()
            {
                self.show_problems = !self.show_problems;
            }
            ui.separator();
            ui.label(match &self.run.device {
                Some(device) => format!("Backend: {device}"),
                None => format!(
                    "Backend: {}",
                    format!("{:?}", self.editor.project.training.backend).to_lowercase()
                ),
            });
        });
    }

    fn analyze_window(&mut self, ctx: &egui::Context) {
        let project = &self.editor.project;
        let version = self.editor.version();
        match self
            .analyze
            .show(ctx, &self.editor.model, &project.training, version)
        {
            Some(AnalyzeRequest::ExportCsv) => {
                let name = format!("{}_analysis", project.name.to_lowercase().replace(' ', "_"));
                self.files.ask(Purpose::ExportAnalysis, &name);
            }
            Some(AnalyzeRequest::Select(id)) => self.editor.selection = [id].into(),
            None => {}
        }
    }

    fn problems_window(&mut self, ctx: &egui::Context) {
        let mut open = self.show_problems;
        let mut fix = None;
        egui::Window::new("Problems")
            .open(&mut open)
            .default_width(360.0)
            .show(ctx, |ui| {
                if self.editor.model.problems.is_empty() {
                    ui.label("The network has no problems: it is ready to train.");
                }
                for problem in &self.editor.model.problems {
                    ui.label(&problem.message);
                    if let Some(f) = &problem.fix
                        && ui.button(&f.description).clicked()
                    {
                        fix = Some(f.action.clone());
                    }
                    ui.separator();
                }
            });
        self.show_problems = open;
        if let Some(action) = fix {
            self.editor.apply_fix(&action);
        }
    }

    fn unsaved_prompt(&mut self, ctx: &egui::Context) {
        if self.pending.is_none() {
            return;
        }
        let name = self.editor.project.name.clone();
        let mut choice = None;
        egui::Modal::new(egui::Id::unique("unsaved changes")).show(ctx, |ui| {
            ui.heading("Unsaved changes");
            ui.label(format!("Save the changes to “{name}” first?"));
            ui.horizontal(|ui| {
                for option in ["Save", "Don't save", "Cancel"] {
                    if ui.button(option).clicked() {
                        choice = Some(option);
                    }
                }
            });
        });
        let Some(choice) = choice else { return };
        let action = self.pending.take().expect("checked above");
        match choice {
            "Save" => {
                self.save();
                if !self.editor.is_dirty() {
                    self.finish(ctx, action);
                }
            }
            "Don't save" => {
                self.files.clear_recovery();
                self.editor.mark_saved_as_is();
                self.finish(ctx, action);
            }
            _ => {}
        }
    }

    fn finish(&mut self, ctx: &egui::Context, action: Pending) {
        match action {
            Pending::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            other => self.run_pending(other),
        }
    }

    fn recovery_prompt(&mut self, ctx: &egui::Context) {
        let Some(project) = &self.recovery else {
            return;
        };
        let name = project.name.clone();
        let mut restore = None;
        egui::Modal::new(egui::Id::unique("recovery")).show(ctx, |ui| {
            ui.heading("Restore unsaved work?");
            ui.label(format!(
                "Netloom did not close properly last time. Unsaved work on “{name}” was kept."
            ));
            ui.horizontal(|ui| {
                if ui.button("Restore").clicked() {
                    restore = Some(true);
                }
                if ui.button("Discard").clicked() {
                    restore = Some(false);
                }
            });
        });
        match restore {
            Some(true) => {
                let project = self.recovery.take().expect("checked above");
                self.editor = Editor::new(project, None);
                self.editor.mark_unsaved();
                self.canvas.fit();
            }
            Some(false) => {
                self.recovery = None;
                self.files.clear_recovery();
            }
            None => {}
        }
    }

    /// Called when the window closes after the user has dealt with unsaved work.
    pub fn closed_cleanly(&self) {
        self.files.clear_recovery();
    }
}

/// Present mode's look: black on white, with strong outlines and wires.
fn present_visuals() -> egui::Visuals {
    use egui::{Color32, Stroke};
    let mut v = egui::Visuals::light();
    v.override_text_color = Some(Color32::BLACK);
    v.panel_fill = Color32::WHITE;
    v.window_fill = Color32::WHITE;
    v.extreme_bg_color = Color32::WHITE;
    v.faint_bg_color = Color32::from_gray(240);
    v.widgets.noninteractive.bg_fill = Color32::WHITE;
    v.widgets.noninteractive.bg_stroke = Stroke::new(1.5, Color32::from_gray(40));
    v.widgets.noninteractive.fg_stroke = Stroke::new(1.5, Color32::BLACK);
    v.widgets.inactive.fg_stroke = Stroke::new(2.0, Color32::from_gray(30));
    v.widgets.inactive.bg_stroke = Stroke::new(1.0, Color32::from_gray(60));
    v.weak_text_color = Some(Color32::from_gray(40));
    v
}

/// Follow the system, or always light or dark.
fn theme_choice(ui: &mut Ui) {
    let mut preference = ui.ctx().options(|o| o.theme_preference);
    let before = preference;
    egui::ComboBox::from_label("Theme")
        .selected_text(format!("{preference:?}"))
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut preference, egui::ThemePreference::System, "System");
            ui.selectable_value(&mut preference, egui::ThemePreference::Light, "Light");
            ui.selectable_value(&mut preference, egui::ThemePreference::Dark, "Dark");
        });
    if preference != before {
        ui.ctx().set_theme(preference);
    }
}

impl eframe::App for NetloomApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        NetloomApp::ui(self, ui);
    }

    fn on_exit(&mut self) {
        self.closed_cleanly();
    }
}
