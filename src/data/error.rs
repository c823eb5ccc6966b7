//! What can go wrong while making or loading a dataset, in sentences a student can act on.
//!
//! Each message is complete on its own (the UI shows one line), so causes are written into the
//! message rather than chained as `source`s that would print twice.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DataError {
    #[error("file not found: {}", path.display())]
    NotFound { path: PathBuf },

    #[error("could not read {}: {cause}", path.display())]
    Unreadable {
        path: PathBuf,
        cause: std::io::Error,
    },

    /// Any other error, tied to the file it came from.
    #[error("{}: {error}", path.display())]
    InFile {
        path: PathBuf,
        error: Box<DataError>,
    },

    #[error("{what} is empty: there are no samples in it")]
    Empty { what: String },

    #[error("line {line}: expected {expected} values, found {found}")]
    RowLength {
        line: usize,
        expected: usize,
        found: usize,
    },

    #[error("{}", not_a_number_message(*line, column, value))]
    NotANumber {
        line: usize,
        column: String,
        value: String,
    },

    #[error(
        "line {line}: a quoted field is badly formed (a field that starts with \" must end with \" \
         just before the next comma; a \" inside it is written \"\")"
    )]
    BadQuote { line: usize },

    #[error(
        "line {line}: a quoted field has no closing \" on its line (each row must fit on one line; \
         a \" inside a field is written \"\")"
    )]
    UnclosedQuote { line: usize },

    #[error("line {line}, column \"{column}\": the target is missing (every row needs one)")]
    MissingTarget { line: usize, column: String },

    #[error(
        "this file is UTF-16; save it as UTF-8 CSV (in Excel: \"CSV UTF-8\") and load it again"
    )]
    Utf16,

    #[error(
        "the file has {columns} column(s), but it needs at least two (features and a target); \
         are the values separated by commas?"
    )]
    TooFewColumns { columns: usize },

    #[error(
        "column \"{column}\" has {classes} different values, too many to be classes (at most \
         {max}); is this a regression task?"
    )]
    TooManyClasses {
        column: String,
        classes: usize,
        max: usize,
    },

    #[error(
        "there is no column \"{name}\"; the columns are: {}",
        quoted_list(columns)
    )]
    MissingColumn { name: String, columns: Vec<String> },

    #[error("{}", bad_magic_message(expected_kind, *expected, *found))]
    BadMagic {
        expected_kind: &'static str,
        expected: u32,
        found: u32,
    },

    #[error("the file is truncated: it should hold {expected_bytes} bytes, but has {found_bytes}")]
    Truncated {
        expected_bytes: u64,
        found_bytes: u64,
    },

    #[error("the IDX file has a zero-sized dimension ({dims:?})")]
    ZeroDimension { dims: Vec<u32> },

    #[error("there are {images} images but {labels} labels; each image needs exactly one label")]
    CountMismatch { images: usize, labels: usize },

    #[error("could not decompress the gzip data: {reason}")]
    Gzip { reason: String },

    #[error("{setting}: {problem}")]
    InvalidSetting {
        setting: &'static str,
        problem: String,
    },

    /// The parts given to `InMemoryDataset::new` do not fit together (a bug in the caller).
    #[error("inconsistent dataset: {0}")]
    Inconsistent(String),
}

fn not_a_number_message(line: usize, column: &str, value: &str) -> String {
    if value.is_empty() {
        format!(
            "line {line}, column \"{column}\": the value is missing (every feature must be a number)"
        )
    } else {
        format!("line {line}, column \"{column}\": \"{value}\" is not a number")
    }
}

fn bad_magic_message(expected_kind: &str, expected: u32, found: u32) -> String {
    let mut message = format!(
        "not an IDX {expected_kind} file: its magic number is 0x{found:08x}, expected 0x{expected:08x}"
    );
    // The commonest mistake is picking the two files the wrong way round.
    let other = match found {
        0x0000_0801 => Some("labels"),
        0x0000_0803 => Some("images"),
        _ => None,
    };
    if let Some(other) = other.filter(|&o| o != expected_kind) {
        message.push_str(&format!(
            " (it looks like the {other} file: are the two files swapped?)"
        ));
    }
    message
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl DataError {
    /// The error itself, without the file it was found in.
    pub fn innermost(&self) -> &DataError {
        match self {
            DataError::InFile { error, .. } => error.innermost(),
            other => other,
        }
    }

    pub(crate) fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            // These already name their path.
            DataError::NotFound { .. }
            | DataError::Unreadable { .. }
            | DataError::InFile { .. } => self,
            other => DataError::InFile {
                path: path.into(),
                error: Box::new(other),
            },
        }
    }
}
