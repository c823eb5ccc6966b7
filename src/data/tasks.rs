//! Sequence tasks that teach what a sequence model can learn, after minGPT's sorter: a question
//! of digits, then its answer, one token a step. A sample reads the question and the answer but
//! its last token; its target at each step is the next token of the answer, and there is none
//! while the question is still being read.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{DataError, InMemoryDataset, Targets};
use crate::graph::ValueKind;
use crate::rng::Rng;

/// Stream of the run's generator for these tasks, apart from the other sets of the same seed.
const TASK_STREAM: u64 = 0x7a5c;
/// The most tokens a task's samples may hold in all.
const MAX_TOKENS: usize = 10_000_000;
/// The longest question.
pub const MAX_QUESTION: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequenceTask {
    /// The digits again.
    Copy,
    /// The digits backwards.
    Reverse,
    /// The digits in increasing order.
    Sort,
    /// Whether the bits hold an odd number of ones: one answer token.
    Parity,
    /// Two numbers of `length` digits, most significant first; their sum's `length + 1` digits,
    /// least significant first, the order one adds them in by hand.
    Addition,
}

impl SequenceTask {
    pub const ALL: [SequenceTask; 5] = [
        SequenceTask::Copy,
        SequenceTask::Reverse,
        SequenceTask::Sort,
        SequenceTask::Parity,
        SequenceTask::Addition,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SequenceTask::Copy => "Copy",
            SequenceTask::Reverse => "Reverse",
            SequenceTask::Sort => "Sort",
            SequenceTask::Parity => "Parity",
            SequenceTask::Addition => "Addition",
        }
    }

    /// The tokens a question and its answer are written in: a parity's are bits.
    pub fn vocabulary(self, digits: usize) -> usize {
        match self {
            SequenceTask::Parity => 2,
            _ => digits,
        }
    }

    fn question_len(self, length: usize) -> usize {
        match self {
            SequenceTask::Addition => 2 * length,
            _ => length,
        }
    }

    fn answer_len(self, length: usize) -> usize {
        match self {
            SequenceTask::Parity => 1,
            SequenceTask::Addition => length + 1,
            _ => length,
        }
    }

    /// Time steps of a sample: the question and the answer but its last token.
    pub fn steps(self, length: usize) -> usize {
        self.question_len(length) + self.answer_len(length) - 1
    }

    fn answer(self, question: &[u32], base: u32) -> Vec<u32> {
        match self {
            SequenceTask::Copy => question.to_vec(),
            SequenceTask::Reverse => question.iter().rev().copied().collect(),
            SequenceTask::Sort => {
                let mut sorted = question.to_vec();
                sorted.sort_unstable();
                sorted
            }
            SequenceTask::Parity => vec![question.iter().sum::<u32>() % 2],
            SequenceTask::Addition => {
                let (a, b) = question.split_at(question.len() / 2);
                let mut carry = 0;
                let mut sum: Vec<u32> = a
                    .iter()
                    .rev()
                    .zip(b.iter().rev())
                    .map(|(x, y)| {
                        let d = x + y + carry;
                        carry = d / base;
                        d % base
                    })
                    .collect();
                sum.push(carry);
                sum
            }
        }
    }
}

/// Up to `samples` different questions of `task` (fewer when there are not that many), so that
/// no validation question was trained on.
pub fn sequence_task(
    task: SequenceTask,
    samples: usize,
    length: usize,
    digits: usize,
    seed: u64,
) -> Result<InMemoryDataset, DataError> {
    let invalid = |setting, problem: String| Err(DataError::InvalidSetting { setting, problem });
    if !(1..=100_000).contains(&samples) {
        return invalid("samples", format!("between 1 and 100000, not {samples}"));
    }
    if !(1..=MAX_QUESTION).contains(&length) {
        return invalid(
            "digits per number",
            format!("between 1 and {MAX_QUESTION}, not {length}"),
        );
    }
    if !(2..=100).contains(&digits) {
        return invalid(
            "different digits",
            format!("between 2 and 100, not {digits}"),
        );
    }
    let steps = task.steps(length);
    if samples.saturating_mul(steps) > MAX_TOKENS {
        return invalid(
            "samples",
            format!(
                "{samples} samples of {steps} steps are more than {MAX_TOKENS} tokens: use fewer"
            ),
        );
    }
    let base = task.vocabulary(digits) as u32;
    let question_len = task.question_len(length);
    // Every question there is, when there are no more than asked for.
    let space = (base as f64).powi(question_len as i32);
    let wanted = if space <= samples as f64 {
        space as usize
    } else {
        samples
    };
    let mut rng = Rng::fork(seed, TASK_STREAM);
    let mut seen = HashSet::with_capacity(wanted);
    let mut features = Vec::with_capacity(wanted * steps);
    let mut labels = Vec::with_capacity(wanted * steps);
    let mut question = vec![0u32; question_len];
    // Random draws find nearly every question of a small space; the cap keeps a full one from
    // looping long for its last few.
    for _ in 0..wanted.saturating_mul(20) {
        if seen.len() == wanted {
            break;
        }
        for q in question.iter_mut() {
            *q = (rng.next_u64() % u64::from(base)) as u32;
        }
        if !seen.insert(question.clone()) {
            continue;
        }
        let answer = task.answer(&question, base);
        let sequence = question.iter().chain(&answer[..answer.len() - 1]);
        features.extend(sequence.map(|&t| t as f32));
        labels.extend((1..question_len).map(|_| u32::MAX));
        labels.extend_from_slice(&answer);
    }
    let names = (0..base).map(|d| d.to_string()).collect();
    InMemoryDataset::sequences(
        format!("{} task", task.label().to_lowercase()),
        vec![steps],
        features,
        ValueKind::Tokens {
            vocabulary: base as usize,
        },
        Targets::Classes {
            labels,
            classes: base as usize,
        },
        names,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, NO_TARGET};

    fn sample(d: &InMemoryDataset, i: usize) -> (Vec<u32>, Vec<usize>) {
        let tokens = d.sample_features(i).iter().map(|&t| t as u32).collect();
        let mut classes = vec![0; d.target_positions()];
        d.copy_classes(i, &mut classes);
        (tokens, classes)
    }

    #[test]
    fn each_task_asks_its_question_then_wants_its_answer() {
        let n = NO_TARGET;
        let d = sequence_task(SequenceTask::Sort, 50, 4, 3, 1).unwrap();
        assert_eq!(d.feature_shape(), [7]);
        for i in 0..d.len() {
            let (tokens, classes) = sample(&d, i);
            let mut sorted = tokens[..4].to_vec();
            sorted.sort_unstable();
            // The answer is read but for its last token, and wanted a step early.
            assert_eq!(tokens[4..], sorted[..3]);
            let wanted: Vec<usize> = sorted.iter().map(|&t| t as usize).collect();
            assert_eq!(classes[..3], [n, n, n]);
            assert_eq!(classes[3..], wanted[..]);
        }
        let d = sequence_task(SequenceTask::Addition, 200, 2, 10, 1).unwrap();
        assert_eq!(d.feature_shape(), [6]);
        for i in 0..d.len() {
            let (tokens, classes) = sample(&d, i);
            let number = |digits: &[u32]| digits.iter().fold(0, |v, &d| 10 * v + d as usize);
            let sum = number(&tokens[..2]) + number(&tokens[2..4]);
            // Lowest digit first.
            assert_eq!(classes[3..], [sum % 10, sum / 10 % 10, sum / 100]);
            assert_eq!(tokens[4..], [(sum % 10) as u32, (sum / 10 % 10) as u32]);
        }
        let d = sequence_task(SequenceTask::Parity, 30, 5, 10, 1).unwrap();
        for i in 0..d.len() {
            let (tokens, classes) = sample(&d, i);
            assert!(tokens.iter().all(|&t| t < 2), "bits, whatever the digits");
            let ones = tokens.iter().sum::<u32>() as usize;
            assert_eq!(classes, [n, n, n, n, ones % 2]);
        }
        let (tokens, classes) = sample(
            &sequence_task(SequenceTask::Reverse, 1, 3, 10, 1).unwrap(),
            0,
        );
        assert_eq!(
            classes[2..],
            [tokens[2], tokens[1], tokens[0]].map(|t| t as usize)
        );
    }

    #[test]
    fn questions_are_all_different_and_a_small_space_gives_them_all() {
        let d = sequence_task(SequenceTask::Copy, 1000, 3, 3, 7).unwrap();
        assert_eq!(d.len(), 27);
        let questions: HashSet<Vec<u32>> = (0..d.len())
            .map(|i| sample(&d, i).0[..3].to_vec())
            .collect();
        assert_eq!(questions.len(), 27);
        assert_eq!(
            sequence_task(SequenceTask::Copy, 1000, 3, 3, 7).unwrap(),
            d,
            "the seed decides"
        );
    }

    #[test]
    fn impossible_settings_are_refused_in_words() {
        for (samples, length, digits) in [
            (0, 4, 3),
            (10, 0, 3),
            (10, 65, 3),
            (10, 4, 1),
            (100_000, 64, 10),
        ] {
            let e = sequence_task(SequenceTask::Addition, samples, length, digits, 0).unwrap_err();
            assert!(matches!(e, DataError::InvalidSetting { .. }), "{e}");
        }
    }
}
