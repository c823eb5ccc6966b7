//! The Generated text view: every so many steps the model writes a few lines from the user's
//! prompt, at the temperature and top-k the user sets, and the samples stay listed by step, so
//! that a class sees noise turn into words as it trains.

use std::time::{Duration, Instant};

use egui::{DragValue, RichText, Slider, Ui};

use super::run::Run;
use crate::data::{Dataset, InMemoryDataset};
use crate::graph::ValueKind;
use crate::graph::{Graph, Layer};
use crate::train::Sampling;

/// A sample lost to a restarted trainer is given up after this long.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);
/// Samples kept; the oldest go first.
const KEPT: usize = 200;

pub struct TextView {
    pub prompt: String,
    pub temperature: f32,
    pub top_k: usize,
    /// Characters written per sample.
    pub length: usize,
    /// Steps between samples while training.
    pub every: u64,
    /// (step of the weights, the prompt, what they wrote), oldest first.
    pub samples: Vec<(u64, String, String)>,
    asked: Option<(u64, String, Instant)>,
    /// The step of the last sample asked for.
    last_step: Option<u64>,
    /// Asked for by the user, to write as soon as the trainer can.
    now: bool,
}

impl Default for TextView {
    fn default() -> Self {
        Self {
            prompt: "To be, or not".into(),
            temperature: 0.8,
            top_k: 0,
            length: 160,
            every: 100,
            samples: Vec::new(),
            asked: None,
            last_step: None,
            now: false,
        }
    }
}

/// Whether `dataset` is characters of a text: windows of one stream of token ids, in order,
/// whose classes are single characters.
pub fn is_text(dataset: &InMemoryDataset) -> bool {
    matches!(dataset.values(), ValueKind::Tokens { .. })
        && dataset.target_positions() > 1
        && dataset.ordered()
        && dataset.class_names().iter().all(|c| c.chars().count() == 1)
}

/// Why the network cannot write sensibly, if it cannot: a layer that reads backwards sees the
/// very characters it is asked to predict.
fn reads_ahead(graph: &Graph) -> Option<&str> {
    graph.nodes.iter().find_map(|n| match n.layer {
        Layer::Recurrent {
            bidirectional: true,
            ..
        } => Some(n.name.as_str()),
        _ => None,
    })
}

impl TextView {
    /// Asks for a sample when training has gone `every` steps past the last one (or the user
    /// asked), and takes in the answer. Runs whether or not the view is shown, so the list is
    /// there when it is opened.
    pub fn update(&mut self, run: &mut Run, dataset: Option<&InMemoryDataset>) {
        let Some(dataset) = dataset.filter(|d| is_text(d)) else {
            return;
        };
        if let Some((tag, prompt, at)) = &self.asked {
            if let Some((step, tokens)) = run.take_generated(*tag) {
                let names = dataset.class_names();
                let text = tokens
                    .iter()
                    .filter_map(|&t| names.get(t as usize))
                    .map(String::as_str)
                    .collect();
                if self.samples.len() >= KEPT {
                    self.samples.remove(0);
                }
                self.samples.push((step, prompt.clone(), text));
                self.asked = None;
            } else if at.elapsed() < GIVE_UP_AFTER {
                return;
            } else {
                self.asked = None;
            }
        }
        let step = run.steps();
        let due = step > 0
            && self
                .last_step
                .is_none_or(|last| step >= last + self.every.max(1));
        if !(due || self.now) || self.last_step == Some(step) {
            return;
        }
        let (prompt, _) = self.prompt_ids(dataset);
        let sampling = Sampling {
            prompt,
            length: self.length,
            temperature: self.temperature,
            top_k: self.top_k,
            seed: step,
        };
        if let Some(tag) = run.generate(sampling) {
            self.asked = Some((tag, self.prompt.clone(), Instant::now()));
            self.last_step = Some(step);
            self.now = false;
        }
    }

    /// The prompt as token ids, and the characters of it the text does not have.
    fn prompt_ids(&self, dataset: &InMemoryDataset) -> (Vec<u32>, String) {
        let names = dataset.class_names();
        let mut unknown = String::new();
        let ids = self
            .prompt
            .chars()
            .filter_map(|c| {
                let id = names.iter().position(|n| n.starts_with(c));
                if id.is_none() && !unknown.contains(c) {
                    unknown.push(c);
                }
                id.map(|i| i as u32)
            })
            .collect();
        (ids, unknown)
    }

    pub fn show(&mut self, ui: &mut Ui, dataset: Option<&InMemoryDataset>, graph: &Graph) {
        let Some(dataset) = dataset.filter(|d| is_text(d)) else {
            ui.weak("The network writes here when it learns the characters of a text.");
            return;
        };
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Prompt");
            ui.add(egui::TextEdit::singleline(&mut self.prompt).desired_width(160.0))
                .labelled_by(label.id)
                .on_hover_text("What the network goes on from");
            let label = ui.label("Temperature");
            ui.add(Slider::new(&mut self.temperature, 0.0..=2.0))
                .labelled_by(label.id)
                .on_hover_text("Low: the likeliest characters, safe and repetitive; high: more surprising, more mistakes; 0: always the likeliest");
            let label = ui.label("Top-k");
            ui.add(DragValue::new(&mut self.top_k).range(0..=1000))
                .labelled_by(label.id)
                .on_hover_text("Draw only among this many likeliest characters (0: all of them)");
            let label = ui.label("Characters");
            ui.add(DragValue::new(&mut self.length).range(1..=2000))
                .labelled_by(label.id);
            let label = ui.label("Every");
            ui.add(DragValue::new(&mut self.every).range(1..=100_000).suffix(" steps"))
                .labelled_by(label.id)
                .on_hover_text("How often the network writes while it trains");
            if ui
                .button("Write now")
                .on_hover_text("Write a sample with the weights as they are")
                .clicked()
            {
                self.now = true;
            }
        });
        let (_, unknown) = self.prompt_ids(dataset);
        if !unknown.is_empty() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "The text has no {unknown:?}: those characters of the prompt are left out."
                ),
            );
        }
        if let Some(name) = reads_ahead(graph) {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("{name} reads the text both ways, so it sees the characters it is asked to predict: what it writes here means little. A one-way layer writes for real."),
            );
        }
        if self.samples.is_empty() {
            ui.weak(format!(
                "Press Train: every {} steps the network writes {} characters from the prompt.",
                self.every, self.length
            ));
            return;
        }
        egui::ScrollArea::vertical()
            .stick_to_bottom(true)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (step, prompt, text) in &self.samples {
                    ui.label(RichText::new(format!("Step {step}")).weak());
                    ui.label(
                        RichText::new(format!("{prompt}{text}"))
                            .monospace()
                            .color(ui.visuals().strong_text_color()),
                    );
                    ui.add_space(6.0);
                }
            });
    }
}
