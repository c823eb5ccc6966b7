//! How the plots look, for a projector and for every eye: the Okabe–Ito colours (told apart with
//! any common colour blindness), tick labels of a few significant digits, and a legend in a row
//! above the plot, where it can never cover the data.

use egui::{Color32, Ui};
use egui_plot::GridMark;

/// Okabe & Ito's palette, in the order series take it: blue, orange, bluish green, vermillion,
/// reddish purple, sky blue, yellow.
pub const PALETTE: [Color32; 7] = [
    Color32::from_rgb(0, 114, 178),
    Color32::from_rgb(230, 159, 0),
    Color32::from_rgb(0, 158, 115),
    Color32::from_rgb(213, 94, 0),
    Color32::from_rgb(204, 121, 167),
    Color32::from_rgb(86, 180, 233),
    Color32::from_rgb(240, 228, 66),
];

pub const TRAIN_COLOR: Color32 = PALETTE[0];
pub const VALIDATION_COLOR: Color32 = PALETTE[1];

/// The colour of the `index`-th series of a plot that has no colour of its own.
pub fn series_color(index: usize) -> Color32 {
    PALETTE[index % PALETTE.len()]
}

/// A tick's value with as many decimals as the spacing of the ticks needs, so that no label
/// reads `0.30000000000000004`; very large or small values in scientific notation.
pub fn tick_text(mark: GridMark) -> String {
    number_text(mark.value, mark.step_size)
}

pub fn number_text(value: f64, step: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs();
    if !(1e-4..1e6).contains(&magnitude) {
        return format!("{value:.2e}");
    }
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        3
    };
    format!("{value:.decimals$}")
}

const SWATCH_WIDTH: f32 = 18.0;

/// The legend: a swatch and a name per series, wrapped in rows above the plot, after whatever
/// `lead` puts first (a plot's own controls).
pub fn legend_ui(ui: &mut Ui, entries: &[(String, Color32)], lead: impl FnOnce(&mut Ui)) {
    ui.horizontal_wrapped(|ui| {
        lead(ui);
        for (name, color) in entries {
            // A swatch and its name wrap together, never apart.
            let text = egui::WidgetText::from(name.as_str()).into_galley(
                ui,
                Some(egui::TextWrapMode::Extend),
                f32::INFINITY,
                egui::TextStyle::Body,
            );
            let width = SWATCH_WIDTH + ui.spacing().item_spacing.x + text.size().x;
            if width > ui.available_size_before_wrap().x {
                ui.end_row();
            }
            let (rect, _) =
                ui.allocate_exact_size(egui::vec2(SWATCH_WIDTH, 4.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 1.0, *color);
            ui.label(text);
            ui.add_space(8.0);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(number_text(0.30000000000000004, 0.1), "0.3");
        assert_eq!(number_text(1250.0, 250.0), "1250");
        assert_eq!(number_text(0.0126, 0.0025), "0.013");
        assert_eq!(number_text(3.0e9, 1.0e9), "3.00e9");
        assert_eq!(number_text(2.0e-7, 1.0e-7), "2.00e-7");
        for (value, step) in [(0.1 + 0.2, 0.05), (1.0 / 3.0, 0.01), (123456.789, 10000.0)] {
            let text = number_text(value, step);
            assert!(text.len() <= 8, "{text}");
        }
    }

    #[test]
    fn the_palette_has_distinct_colours() {
        for (i, a) in PALETTE.iter().enumerate() {
            for b in &PALETTE[i + 1..] {
                let distance: i32 = a
                    .to_array()
                    .iter()
                    .zip(b.to_array())
                    .map(|(x, y)| (i32::from(*x) - i32::from(y)).abs())
                    .sum();
                assert!(distance > 80, "{a:?} and {b:?}");
            }
        }
    }
}
