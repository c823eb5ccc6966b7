//! Writing with a trained sequence model: from a prompt of token ids, the next token is drawn
//! from the model's scores at the last position, at a temperature and among the `top_k` most
//! likely, and appended; the window the model reads slides along as the text grows.
//!
//! The window holds the last tokens at its start, and the rest of it is ignored: that is only
//! right for a model that reads left to right (a forward recurrent layer, causal attention).

use super::TrainError;
use super::session::Session;
use crate::rng::Rng;

/// What to write and how.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// Token ids to start from; none starts from token 0.
    pub prompt: Vec<u32>,
    /// Tokens to write after the prompt.
    pub length: usize,
    /// Divides the scores before the softmax: below 1 plays safe, above 1 takes risks; 0 always
    /// takes the most likely token.
    pub temperature: f32,
    /// Draw among this many most likely tokens only; 0 for all of them.
    pub top_k: usize,
    pub seed: u64,
}

impl Session {
    /// The tokens the model writes after `sampling.prompt`.
    pub fn generate(&mut self, sampling: &Sampling) -> Result<Vec<u32>, TrainError> {
        let program = std::sync::Arc::clone(self.program());
        let window = program.buffers[program.input].per_sample_len();
        let scores_per_window = program.buffers[program.eval.prediction].per_sample_len();
        let vocabulary = scores_per_window / window.max(1);
        if window == 0 || vocabulary == 0 {
            return Ok(Vec::new());
        }
        let mut text: Vec<u32> = sampling.prompt.clone();
        if text.is_empty() {
            text.push(0);
        }
        let mut rng = Rng::new(sampling.seed);
        let (mut features, mut scores) = (vec![0.0f32; window], Vec::new());
        for _ in 0..sampling.length {
            let context = &text[text.len().saturating_sub(window)..];
            features.fill(0.0);
            for (f, &id) in features.iter_mut().zip(context) {
                *f = id as f32;
            }
            self.predict(&features, &mut scores)?;
            let last = &scores[(context.len() - 1) * vocabulary..][..vocabulary];
            text.push(draw(last, sampling.temperature, sampling.top_k, &mut rng) as u32);
        }
        Ok(text.split_off(text.len() - sampling.length))
    }
}

/// A token drawn from `scores` as `Sampling` describes.
pub fn draw(scores: &[f32], temperature: f32, top_k: usize, rng: &mut Rng) -> usize {
    // A score that is not a number is not a chance.
    let mut order: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let Some(&most_likely) = order.first() else {
        return 0;
    };
    if temperature.is_nan() || temperature <= 0.0 {
        return most_likely;
    }
    if top_k > 0 {
        order.truncate(top_k);
    }
    let top = scores[most_likely];
    let weights: Vec<f64> = order
        .iter()
        .map(|&i| (f64::from(scores[i] - top) / f64::from(temperature)).exp())
        .collect();
    let mut pick = rng.next_f64() * weights.iter().sum::<f64>();
    for (&i, w) in order.iter().zip(&weights) {
        pick -= w;
        if pick <= 0.0 {
            return i;
        }
    }
    order[order.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_follow_the_temperature_and_top_k() {
        let scores = [1.0, 3.0, 2.0, -1.0];
        let mut rng = Rng::new(1);
        assert_eq!(draw(&scores, 0.0, 0, &mut rng), 1);
        assert_eq!(draw(&[f32::NAN, 1.0], 1.0, 0, &mut rng), 1);
        // Among the top two only, and the best about e times as often as the second.
        let mut counts = [0usize; 4];
        for _ in 0..10_000 {
            counts[draw(&scores, 1.0, 2, &mut rng)] += 1;
        }
        assert_eq!((counts[0], counts[3]), (0, 0));
        let ratio = counts[1] as f64 / counts[2] as f64;
        assert!((ratio - std::f64::consts::E).abs() < 0.2, "{counts:?}");
        // A high temperature evens the odds.
        let mut counts = [0usize; 4];
        for _ in 0..10_000 {
            counts[draw(&scores, 100.0, 0, &mut rng)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 2000), "{counts:?}");
    }
}
