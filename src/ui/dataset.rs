//! The dataset panel: choose a built-in set or import a CSV or IDX file, see a preview (a
//! scatter plot for 2D sets, a grid of images, a table otherwise) and the split sizes. Datasets
//! load on a thread of their own; once one has, the network is checked against it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use egui::{Color32, Pos2, Sense, Ui, Vec2};

use super::editor::{Editor, Gesture};
use crate::compile::DataInfo;
use crate::data::{
    self, CsvTask, DataError, Dataset, DatasetSpec, InMemoryDataset, PointSet, RegressionSet,
    SequenceTask, Targets, ToySet,
};
use crate::graph::{Layer, Project, ValueKind};

/// Samples drawn in the scatter preview at most.
const SCATTER_MAX: usize = 2_000;
/// Images in the preview grid.
const GRID: (usize, usize) = (8, 3);

struct Loaded {
    spec: DatasetSpec,
    /// Shared with the runs started on it, which need not load it again.
    dataset: Arc<InMemoryDataset>,
    image_grid: Option<egui::TextureHandle>,
}

#[derive(Default)]
pub struct DatasetPanel {
    loaded: Option<Loaded>,
    loading: Option<(DatasetSpec, Receiver<Result<InMemoryDataset, DataError>>)>,
    error: Option<(DatasetSpec, String)>,
    /// Set when the user picks a dataset: the Input node takes its shape once it loads.
    adopt_shape: bool,
}

/// The built-in sets, as the panel offers them.
fn builtins() -> Vec<(String, DatasetSpec)> {
    let toy = ToySet::ALL.iter().map(|&set| {
        (
            format!("{} (2D classes)", capitalised(set.label())),
            DatasetSpec::Toy {
                set,
                samples: 500,
                noise: 0.0,
                seed: 0,
            },
        )
    });
    let regression = RegressionSet::ALL.iter().map(|&set| {
        (
            format!("{} (2D regression)", capitalised(set.label())),
            DatasetSpec::Regression2d {
                set,
                samples: 1200,
                noise: 0.0,
                seed: 0,
            },
        )
    });
    let points = PointSet::ALL.iter().map(|&set| {
        (
            format!("{} (2D points)", set.label()),
            DatasetSpec::Points2d {
                set,
                samples: data::default_points_samples(),
                noise: 0.0,
                seed: 0,
            },
        )
    });
    let tasks = SequenceTask::ALL.iter().map(|&task| {
        let (what, length, digits) = match task {
            SequenceTask::Copy => ("Copy digits", 6, 3),
            SequenceTask::Reverse => ("Reverse digits", 6, 3),
            SequenceTask::Sort => ("Sort digits", 6, 3),
            SequenceTask::Parity => ("Parity of bits", 8, 2),
            SequenceTask::Addition => ("Add numbers", 2, 10),
        };
        let spec = DatasetSpec::SequenceTask {
            task,
            samples: 10_000,
            length,
            digits,
            seed: 0,
        };
        (format!("{what} (sequence task)"), spec)
    });
    toy.chain(regression)
        .chain([
            ("Digits 8×8".to_string(), DatasetSpec::Digits),
            ("MNIST (5,000 images)".to_string(), DatasetSpec::Mnist5k),
            (
                "Shakespeare (text)".to_string(),
                DatasetSpec::Shakespeare { length: 64 },
            ),
            (
                "Sine waves (series)".to_string(),
                DatasetSpec::SineWaves {
                    samples: 1000,
                    length: 40,
                    waves: 1,
                    noise: 0.1,
                    seed: 0,
                },
            ),
        ])
        .chain(tasks)
        .chain(points)
        .collect()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Whether two specs are the same entry of the combo box (their settings aside).
fn same_choice(a: &DatasetSpec, b: &DatasetSpec) -> bool {
    match (a, b) {
        (DatasetSpec::Toy { set: x, .. }, DatasetSpec::Toy { set: y, .. }) => x == y,
        (DatasetSpec::Regression2d { set: x, .. }, DatasetSpec::Regression2d { set: y, .. }) => {
            x == y
        }
        (DatasetSpec::SequenceTask { task: x, .. }, DatasetSpec::SequenceTask { task: y, .. }) => {
            x == y
        }
        (DatasetSpec::Points2d { set: x, .. }, DatasetSpec::Points2d { set: y, .. }) => x == y,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// What the combo box shows for `spec`.
fn describe(spec: &DatasetSpec) -> String {
    match spec {
        DatasetSpec::Csv { path, .. } => format!("CSV: {}", file_name(path)),
        DatasetSpec::CsvSeries { path, .. } => format!("Series: {}", file_name(path)),
        DatasetSpec::Idx { images, .. } => format!("IDX: {}", file_name(images)),
        DatasetSpec::Text { path, .. } => format!("Text: {}", file_name(path)),
        _ => builtins()
            .into_iter()
            .find(|(_, s)| same_choice(s, spec))
            .map(|(name, _)| name)
            .unwrap_or_default(),
    }
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or(path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// `path` relative to the project's folder when it is inside it, so the project can move.
pub fn relative_to_project(path: &Path, project: Option<&Path>) -> String {
    let base = project.map(crate::io::project_dir);
    base.and_then(|b| path.strip_prefix(b).ok())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

impl DatasetPanel {
    /// The project's dataset, once loaded.
    pub fn dataset(&self) -> Option<&InMemoryDataset> {
        self.loaded.as_ref().map(|l| &*l.dataset)
    }

    /// The loaded set and the settings it was loaded with.
    pub fn shared(&self) -> Option<(&DatasetSpec, &Arc<InMemoryDataset>)> {
        self.loaded.as_ref().map(|l| (&l.spec, &l.dataset))
    }

    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Starts loading the project's dataset if it changed, and takes a finished load.
    pub fn update(&mut self, ctx: &egui::Context, editor: &mut Editor) {
        let wanted = &editor.project.dataset;
        if let Some((spec, receiver)) = &self.loading {
            if let Ok(result) = receiver.try_recv() {
                let spec = spec.clone();
                self.loading = None;
                match result {
                    Ok(dataset) => self.finish(ctx, editor, spec, dataset),
                    Err(e) => {
                        self.error = Some((spec, e.to_string()));
                        editor.set_data_info(None);
                    }
                }
            } else {
                ctx.request_repaint_after(std::time::Duration::from_millis(50));
            }
            return;
        }
        let current = self.loaded.as_ref().map(|l| &l.spec);
        let failed = self.error.as_ref().map(|(s, _)| s);
        if current == Some(wanted) || failed == Some(wanted) {
            return;
        }
        let (spec, base) = (
            wanted.clone(),
            editor
                .path
                .as_deref()
                .map_or_else(|| PathBuf::from("."), crate::io::project_dir),
        );
        let (sender, receiver) = channel();
        let job = spec.clone();
        std::thread::spawn(move || {
            let _ = sender.send(data::load_in_memory(&job, &base));
        });
        self.loading = Some((spec, receiver));
        self.error = None;
        ctx.request_repaint();
    }

    fn finish(
        &mut self,
        ctx: &egui::Context,
        editor: &mut Editor,
        spec: DatasetSpec,
        dataset: InMemoryDataset,
    ) {
        let info = DataInfo::of(&dataset);
        let (shape, kind) = (info.feature_shape.clone(), info.values);
        editor.set_data_info(Some((info, dataset.len())));
        if std::mem::take(&mut self.adopt_shape) {
            editor.follow_up(|p| {
                for node in &mut p.graph.nodes {
                    if let Layer::Input { shape: s, values } = &mut node.layer {
                        s.clone_from(&shape);
                        *values = kind;
                    }
                }
            });
        }
        let image_grid = image_grid(&dataset)
            .map(|image| ctx.load_texture("dataset preview", image, egui::TextureOptions::NEAREST));
        self.loaded = Some(Loaded {
            spec,
            dataset: Arc::new(dataset),
            image_grid,
        });
    }

    /// Uses `spec` from now on; the Input node takes the new shape once it has loaded.
    pub fn choose(&mut self, editor: &mut Editor, spec: DatasetSpec) {
        if spec != editor.project.dataset {
            editor.set_dataset(spec);
            self.adopt_shape = true;
        }
    }

    pub fn show(&mut self, ui: &mut Ui, editor: &mut Editor) -> Option<Import> {
        let mut import = None;
        let current = describe(&editor.project.dataset);
        egui::ComboBox::from_label("Dataset")
            .selected_text(current.clone())
            .show_ui(ui, |ui| {
                for (name, spec) in builtins() {
                    if ui.selectable_label(name == current, &name).clicked() && name != current {
                        self.choose(editor, spec);
                    }
                }
            });
        ui.horizontal_wrapped(|ui| {
            if ui.button("Import CSV…").clicked() {
                import = Some(Import::Csv);
            }
            if ui
                .button("Import IDX…")
                .on_hover_text("MNIST-format files: pick the images and the labels together")
                .clicked()
            {
                import = Some(Import::Idx);
            }
            if ui
                .button("Import text…")
                .on_hover_text("A UTF-8 text: the network learns to write its characters")
                .clicked()
            {
                import = Some(Import::Text);
            }
        });
        self.settings(ui, editor);
        self.split(ui, editor);
        if self.loading.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Loading the dataset…");
            });
        } else if let Some((_, why)) = &self.error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("The dataset could not be loaded: {why}"),
            );
        } else if let Some(loaded) = &self.loaded {
            preview(ui, loaded);
        }
        import
    }

    /// The chosen set's own settings.
    fn settings(&mut self, ui: &mut Ui, editor: &mut Editor) {
        let mut spec = editor.project.dataset.clone();
        let mut changed = false;
        // Another kind of reading of the same file.
        let spec_change = &mut None;
        match &mut spec {
            DatasetSpec::Toy {
                samples,
                noise,
                seed,
                ..
            }
            | DatasetSpec::Regression2d {
                samples,
                noise,
                seed,
                ..
            }
            | DatasetSpec::Points2d {
                samples,
                noise,
                seed,
                ..
            } => {
                changed |= labelled(
                    ui,
                    "Samples",
                    egui::DragValue::new(samples).range(10..=20_000),
                );
                changed |= labelled(ui, "Noise", egui::Slider::new(noise, 0.0..=0.5));
                changed |= labelled(ui, "Data seed", egui::DragValue::new(seed));
            }
            DatasetSpec::Csv {
                path,
                target_column,
                task,
                standardize,
            } => {
                if ui
                    .button("Read one column as a series")
                    .on_hover_text("The column's values down the rows, as a signal over time: the network forecasts each next value")
                    .clicked()
                {
                    *spec_change = Some(DatasetSpec::CsvSeries {
                        path: path.clone(),
                        column: target_column.clone(),
                        window: 32,
                        standardize: true,
                    });
                }
                let mut column = target_column.clone().unwrap_or_default();
                if labelled(
                    ui,
                    "Target column",
                    egui::TextEdit::singleline(&mut column).hint_text("last column"),
                ) {
                    *target_column = (!column.is_empty()).then_some(column);
                    changed = true;
                }
                egui::ComboBox::from_label("Task")
                    .selected_text(match task {
                        CsvTask::Classification => "Classification",
                        CsvTask::Regression => "Regression",
                    })
                    .show_ui(ui, |ui| {
                        changed |= ui
                            .selectable_value(task, CsvTask::Classification, "Classification")
                            .changed();
                        changed |= ui
                            .selectable_value(task, CsvTask::Regression, "Regression")
                            .changed();
                    });
                changed |= ui.checkbox(standardize, "Standardise features").changed();
            }
            DatasetSpec::CsvSeries {
                path,
                column,
                window,
                standardize,
            } => {
                let mut name = column.clone().unwrap_or_default();
                if labelled(
                    ui,
                    "Column",
                    egui::TextEdit::singleline(&mut name).hint_text("last column"),
                ) {
                    *column = (!name.is_empty()).then_some(name);
                    changed = true;
                }
                changed |= labelled(ui, "Window", egui::DragValue::new(window).range(1..=4096));
                changed |= ui
                    .checkbox(standardize, "Standardise the series")
                    .on_hover_text("Shift and scale it to mean 0 and standard deviation 1, which networks learn from best")
                    .changed();
                if ui
                    .button("Read as a table")
                    .on_hover_text("Each row a sample again, one column its target")
                    .clicked()
                {
                    *spec_change = Some(DatasetSpec::Csv {
                        path: path.clone(),
                        target_column: column.clone(),
                        task: CsvTask::Regression,
                        standardize: true,
                    });
                }
            }
            DatasetSpec::SineWaves {
                samples,
                length,
                waves,
                noise,
                seed,
            } => {
                changed |= labelled(
                    ui,
                    "Samples",
                    egui::DragValue::new(samples).range(1..=100_000),
                );
                changed |= labelled(ui, "Steps", egui::DragValue::new(length).range(2..=4096));
                changed |= labelled(ui, "Waves summed", egui::DragValue::new(waves).range(1..=8));
                changed |= labelled(ui, "Noise", egui::Slider::new(noise, 0.0..=1.0));
                changed |= labelled(ui, "Data seed", egui::DragValue::new(seed));
            }
            DatasetSpec::SequenceTask {
                task,
                samples,
                length,
                digits,
                seed,
            } => {
                changed |= labelled(
                    ui,
                    "Samples",
                    egui::DragValue::new(samples).range(1..=100_000),
                );
                let what = match task {
                    SequenceTask::Addition => "Digits per number",
                    SequenceTask::Parity => "Bits",
                    _ => "Digits",
                };
                changed |= labelled(
                    ui,
                    what,
                    egui::DragValue::new(length).range(1..=data::MAX_QUESTION),
                );
                if *task != SequenceTask::Parity {
                    changed |= labelled(
                        ui,
                        "Different digits",
                        egui::DragValue::new(digits).range(2..=100),
                    );
                }
                changed |= labelled(ui, "Data seed", egui::DragValue::new(seed));
            }
            DatasetSpec::Text { length, .. } | DatasetSpec::Shakespeare { length } => {
                changed |= labelled(
                    ui,
                    "Characters per sample",
                    egui::DragValue::new(length).range(1..=data::MAX_TEXT_LENGTH),
                );
            }
            _ => {}
        }
        if let Some(other) = spec_change.take() {
            self.choose(editor, other);
        } else if changed {
            editor.edit(Gesture::Training("dataset"), |p| p.dataset = spec);
        }
    }

    fn split(&mut self, ui: &mut Ui, editor: &mut Editor) {
        let mut split = editor.project.split;
        let mut changed = labelled(
            ui,
            "Validation",
            egui::Slider::new(&mut split.validation, 0.0..=0.5),
        );
        changed |= labelled(ui, "Test", egui::Slider::new(&mut split.test, 0.0..=0.5));
        if changed {
            editor.edit(Gesture::Training("split"), |p| p.split = split);
        }
        if let Some(loaded) = &self.loaded {
            let parts = data::split_for(&*loaded.dataset, &split, editor.project.training.seed);
            ui.label(format!(
                "{} samples: {} to train, {} to validate, {} to test",
                loaded.dataset.len(),
                parts.train.len(),
                parts.validation.len(),
                parts.test.len()
            ));
        }
    }
}

/// What the user asked to import; the app shows the file dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Import {
    Csv,
    Idx,
    Text,
}

/// A widget after its label, linked to it for screen readers; true when it changed.
fn labelled(ui: &mut Ui, label: &str, widget: impl egui::Widget) -> bool {
    ui.horizontal(|ui| {
        let name = ui.label(label);
        ui.add(widget).labelled_by(name.id).changed()
    })
    .inner
}

pub const CLASS_COLORS: [Color32; 10] = [
    Color32::from_rgb(230, 120, 40),
    Color32::from_rgb(40, 130, 220),
    Color32::from_rgb(70, 170, 90),
    Color32::from_rgb(200, 70, 160),
    Color32::from_rgb(150, 110, 60),
    Color32::from_rgb(120, 90, 210),
    Color32::from_rgb(220, 200, 40),
    Color32::from_rgb(40, 180, 190),
    Color32::from_rgb(210, 60, 60),
    Color32::from_rgb(120, 120, 120),
];

fn preview(ui: &mut Ui, loaded: &Loaded) {
    let dataset = &loaded.dataset;
    if let Some(texture) = &loaded.image_grid {
        let width = ui.available_width().min(320.0);
        let size = texture.size_vec2() * (width / texture.size_vec2().x);
        ui.add(egui::Image::new(texture).fit_to_exact_size(size))
            .on_hover_text("Images from across the dataset");
    } else if dataset.feature_shape() == [2] {
        let side = ui.available_width().min(240.0);
        scatter(ui, dataset, side, None).on_hover_text("The dataset's points");
    } else if super::text_view::is_text(dataset) {
        text_excerpt(ui, dataset);
    } else if matches!(dataset.values(), ValueKind::Tokens { .. }) && dataset.target_positions() > 1
    {
        questions_and_answers(ui, dataset);
    } else if dataset.values() == crate::graph::ValueKind::Sequence
        && dataset.feature_shape()[1] == 1
    {
        series_plot(ui, dataset);
    } else {
        table(ui, dataset);
    }
}

/// The first few series of a set of them, one line each.
fn series_plot(ui: &mut Ui, dataset: &InMemoryDataset) {
    let lines: Vec<Vec<[f64; 2]>> = (0..dataset.len().min(3))
        .map(|i| {
            let values = dataset.sample_features(i).iter();
            values
                .enumerate()
                .map(|(t, &v)| [t as f64, f64::from(v)])
                .collect()
        })
        .collect();
    egui_plot::Plot::new("series preview")
        .height(140.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .x_axis_label("Time step")
        .show(ui, |plot| {
            for (i, points) in lines.into_iter().enumerate() {
                let line = egui_plot::Line::new(format!("series {}", i + 1), points)
                    .color(CLASS_COLORS[i]);
                plot.line(line);
            }
        })
        .response
        .on_hover_text("The first series of the set: the network sees each up to a step, and predicts the next value");
}

/// The first samples of a text, as the characters they are: what the network learns to write.
fn text_excerpt(ui: &mut Ui, dataset: &InMemoryDataset) {
    let names = dataset.class_names();
    let text: String = (0..dataset.len().min(4))
        .flat_map(|i| dataset.sample_features(i).iter())
        .filter_map(|&id| names.get(id as usize))
        .map(String::as_str)
        .collect();
    ui.label(format!(
        "{} different characters; each sample is {} of them, and each character's target is the one after it.",
        names.len(),
        dataset.feature_len()
    ));
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(egui::RichText::new(text).monospace());
    });
}

/// The first samples of a question-and-answer task: the question read, then the answer wanted
/// (each time step without a target is part of the question).
fn questions_and_answers(ui: &mut Ui, dataset: &InMemoryDataset) {
    let names = dataset.class_names();
    let mut classes = vec![0; dataset.target_positions()];
    let name = |id: usize| names.get(id).map_or("?", String::as_str);
    let lines: Vec<String> = (0..dataset.len().min(5))
        .map(|i| {
            dataset.copy_classes(i, &mut classes);
            let asked = classes
                .iter()
                .take_while(|&&c| c == data::NO_TARGET)
                .count();
            let tokens = dataset.sample_features(i);
            let question: Vec<&str> = tokens[..=asked.min(tokens.len() - 1)]
                .iter()
                .map(|&t| name(t as usize))
                .collect();
            let answer: Vec<&str> = classes[asked..].iter().map(|&c| name(c)).collect();
            format!("{}  ->  {}", question.join(" "), answer.join(" "))
        })
        .collect();
    ui.label("The network reads each question, then is asked for the answer one token at a time:");
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(egui::RichText::new(lines.join("\n")).monospace());
    });
}

/// Half the width of the square a scatter plot of `dataset` shows, in data units.
pub fn scatter_extent(dataset: &InMemoryDataset) -> f32 {
    let bound = dataset
        .features()
        .iter()
        .fold(1e-6f32, |m, v| m.max(v.abs()));
    bound / 0.92
}

/// The samples a view follows: the validation split's, or the training split's when there is
/// no validation split.
pub fn watched_samples(dataset: &InMemoryDataset, project: &Project) -> Vec<usize> {
    let split = crate::data::split_for(dataset, &project.split, project.training.seed);
    if split.validation.is_empty() {
        split.train
    } else {
        split.validation
    }
}

/// The range of a regression set's first target, for colouring by value.
pub fn value_range(dataset: &InMemoryDataset) -> (f32, f32) {
    match dataset.targets() {
        Targets::Values { values, .. } => values
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            }),
        Targets::Classes { .. } => (0.0, 1.0),
    }
}

/// The colour of a regression value within `range`.
pub fn value_color((low, high): (f32, f32), value: f32) -> Color32 {
    let t = ((value - low) / (high - low).max(1e-6)).clamp(0.0, 1.0);
    CLASS_COLORS[1].lerp_to_gamma(CLASS_COLORS[0], t)
}

/// The points of a 2D set, coloured by class (or by value, for regression), in a square of
/// `side` points, over `background` (an image of the same square) when given.
pub fn scatter(
    ui: &mut Ui,
    dataset: &InMemoryDataset,
    side: f32,
    background: Option<&egui::TextureHandle>,
) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
    if let Some(texture) = background {
        painter.image(
            texture.id(),
            rect,
            egui::Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
    }
    let xs = dataset.features();
    let extent = scatter_extent(dataset);
    let to_screen = |x: f32, y: f32| {
        Pos2::new(
            rect.center().x + x / extent * side * 0.5,
            rect.center().y - y / extent * side * 0.5,
        )
    };
    let step = dataset.len().div_ceil(SCATTER_MAX).max(1);
    let range = value_range(dataset);
    let outline = egui::Stroke::new(0.6, ui.visuals().extreme_bg_color);
    for i in (0..dataset.len()).step_by(step) {
        let color = match dataset.targets() {
            Targets::Classes { labels, .. } => CLASS_COLORS[labels[i] as usize % 10],
            Targets::Values { values, width } => value_color(range, values[i * width]),
        };
        let at = to_screen(xs[2 * i], xs[2 * i + 1]);
        painter.circle(at, 2.2, color, outline);
    }
    response
}

/// The first rows of a table-shaped set.
fn table(ui: &mut Ui, dataset: &InMemoryDataset) {
    let width = dataset.feature_len().min(6);
    egui::Grid::new("dataset rows")
        .striped(true)
        .show(ui, |ui| {
            for column in 0..width {
                ui.strong(format!("x{}", column + 1));
            }
            ui.strong("target");
            ui.end_row();
            for i in 0..dataset.len().min(8) {
                for value in &dataset.sample_features(i)[..width] {
                    ui.label(format!("{value:.3}"));
                }
                let mut target = vec![0.0; dataset.task().target_len()];
                dataset.copy_target(i, &mut target);
                ui.label(format!("{:.3}", target[0]));
                ui.end_row();
            }
        });
}

/// One sample of an image set as a picture; `None` for other sets.
pub fn thumbnail(dataset: &InMemoryDataset, index: usize) -> Option<egui::ColorImage> {
    image_of(dataset.feature_shape(), dataset.sample_features(index))
}

/// Values `x` of an image shaped `[channels, height, width]` (1 or 3 channels, values in
/// 0..1) as a picture; `None` for other shapes.
pub fn image_of(shape: &[usize], x: &[f32]) -> Option<egui::ColorImage> {
    let &[channels, h, w] = shape else {
        return None;
    };
    if (channels != 1 && channels != 3) || x.len() < channels * h * w {
        return None;
    }
    let value =
        |c: usize, y: usize, col: usize| (x[(c * h + y) * w + col].clamp(0.0, 1.0) * 255.0) as u8;
    let pixels = (0..h * w)
        .map(|p| {
            let (y, col) = (p / w, p % w);
            if channels == 1 {
                Color32::from_gray(value(0, y, col))
            } else {
                Color32::from_rgb(value(0, y, col), value(1, y, col), value(2, y, col))
            }
        })
        .collect();
    Some(egui::ColorImage::new([w, h], pixels))
}

/// Images from across an image set, tiled into one picture; `None` for other sets.
fn image_grid(dataset: &InMemoryDataset) -> Option<egui::ColorImage> {
    let &[channels, h, w] = dataset.feature_shape() else {
        return None;
    };
    if channels != 1 && channels != 3 {
        return None;
    }
    let (columns, rows) = GRID;
    let count = dataset.len().min(columns * rows);
    let mut image = egui::ColorImage::filled([columns * (w + 1), rows * (h + 1)], Color32::BLACK);
    for i in 0..count {
        // Spread over the set: files are often sorted by class.
        let picture = thumbnail(dataset, i * dataset.len() / count)?;
        let (ox, oy) = ((i % columns) * (w + 1), (i / columns) * (h + 1));
        for y in 0..h {
            for col in 0..w {
                image[(ox + col, oy + y)] = picture[(col, y)];
            }
        }
    }
    Some(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_has_its_own_name() {
        for (name, spec) in builtins() {
            assert_eq!(describe(&spec), name);
        }
    }

    #[test]
    fn image_sets_tile_and_others_do_not() {
        let digits = data::load_in_memory(&DatasetSpec::Digits, Path::new(".")).unwrap();
        let grid = image_grid(&digits).unwrap();
        assert_eq!(grid.size, [8 * 9, 3 * 9]);
        let toy = data::load_in_memory(&DatasetSpec::default(), Path::new(".")).unwrap();
        assert!(image_grid(&toy).is_none());
    }
}
