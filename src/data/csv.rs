//! CSV import: a table of numbers (and a target column) becomes a dataset.
//!
//! Kept small on purpose: comma-separated, optional header (guessed), RFC 4180 double quotes
//! within one line, whitespace trimmed, blank lines skipped. Every broken row is reported with its
//! line number as the student sees it in an editor (1-based, blank lines counted).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{DataError, InMemoryDataset, Targets, gunzip_if_needed, read_file};

/// What the target column means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvTask {
    /// Each distinct target value is a class.
    #[default]
    Classification,
    /// The target is a number to predict.
    Regression,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    /// The dataset's name (shown in the UI).
    pub name: String,
    /// The target column's name (the header's, or "column N" without a header); `None` = the last.
    pub target_column: Option<String>,
    pub task: CsvTask,
    /// Shift and scale each feature column to mean 0, standard deviation 1.
    pub standardize: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            name: "csv".into(),
            target_column: None,
            task: CsvTask::Classification,
            standardize: false,
        }
    }
}

/// More distinct targets than this is almost surely a regression column picked as classes.
const MAX_CLASSES: usize = 1000;

/// Reads a CSV file (optionally gzipped); errors name the file.
pub fn load_csv(path: &Path, options: &CsvOptions) -> Result<InMemoryDataset, DataError> {
    read_csv_text(path, |text| parse_csv(text, options))
}

/// `parse` on the text of a CSV file (optionally gzipped); errors name the file.
pub fn read_csv_text<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, DataError>,
) -> Result<T, DataError> {
    let bytes = read_file(path)?;
    let read = || {
        let bytes = gunzip_if_needed(&bytes)?;
        if looks_like_utf16(&bytes) {
            return Err(DataError::Utf16);
        }
        // Lossy: a stray Latin-1 byte in a header should not stop a file of numbers from loading.
        parse(&String::from_utf8_lossy(&bytes))
    };
    read().map_err(|e| e.in_file(path))
}

/// A UTF-16 file (as Excel's "Unicode text" saves) starts with its byte order mark, or, without
/// one, has a NUL byte beside nearly every character of a Latin-script text.
fn looks_like_utf16(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let head = &bytes[..bytes.len().min(4096)];
    let nuls = head.iter().filter(|&&b| b == 0).count();
    head.len() >= 4 && nuls * 4 >= head.len()
}

/// The file's lines. Files from classic Mac OS end lines with a lone CR; such a file (CRs and no
/// LF at all) is read by its CRs rather than as one long line.
fn lines(text: &str) -> impl Iterator<Item = &str> + Clone {
    let end = if text.contains('\r') && !text.contains('\n') {
        '\r'
    } else {
        '\n'
    };
    text.split(end)
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
}

fn empty() -> DataError {
    DataError::Empty {
        what: "the CSV data".into(),
    }
}

/// A CSV text's column names (its header's, or "column N" without one) and its data rows with
/// their line numbers.
fn table(text: &str) -> Result<(Vec<String>, impl Iterator<Item = (usize, &str)>), DataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\0') {
        return Err(DataError::Utf16);
    }
    let mut rows = lines(text)
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim().is_empty());
    let (first_line, first_row) = rows.next().ok_or_else(empty)?;
    let mut fields = Vec::new();
    split_fields(first_row, first_line, &mut fields)?;
    let first: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    let has_header = detect_header(&first, rows.clone());
    let names = (0..first.len())
        .map(|c| match first.get(c).filter(|_| has_header) {
            Some(name) if !name.is_empty() => name.clone(),
            _ => format!("column {}", c + 1),
        })
        .collect();
    let data_rows = std::iter::once((first_line, first_row))
        .filter(move |_| !has_header)
        .chain(rows);
    Ok((names, data_rows))
}

/// One numeric column of CSV text (the last unless named), top to bottom: a series. Returns
/// the column's name with its values.
pub fn parse_column(text: &str, column: Option<&str>) -> Result<(String, Vec<f32>), DataError> {
    let (names, rows) = table(text)?;
    let wanted = target_index(&names, column)?;
    let mut fields = Vec::new();
    let mut values = Vec::new();
    for (line, row) in rows {
        split_fields(row, line, &mut fields)?;
        if fields.len() != names.len() {
            return Err(DataError::RowLength {
                line,
                expected: names.len(),
                found: fields.len(),
            });
        }
        let field = &fields[wanted];
        if field.is_empty() {
            return Err(DataError::MissingTarget {
                line,
                column: names[wanted].clone(),
            });
        }
        values.push(parse_number(field, line, &names[wanted])?);
    }
    if values.is_empty() {
        return Err(empty());
    }
    Ok((names[wanted].clone(), values))
}

/// Parses CSV text into a dataset with features [number of feature columns].
pub fn parse_csv(text: &str, options: &CsvOptions) -> Result<InMemoryDataset, DataError> {
    let (names, data_rows) = table(text)?;
    let column_count = names.len();
    if column_count < 2 {
        return Err(DataError::TooFewColumns {
            columns: column_count,
        });
    }
    let target = target_index(&names, options.target_column.as_deref())?;
    let feature_count = column_count - 1;
    let mut fields = Vec::new();
    let mut features: Vec<f32> = Vec::new();
    let mut values: Vec<f32> = Vec::new();
    let mut classes = ClassTable::default();
    let mut len = 0;
    for (line, row) in data_rows {
        split_fields(row, line, &mut fields)?;
        if fields.len() != column_count {
            return Err(DataError::RowLength {
                line,
                expected: column_count,
                found: fields.len(),
            });
        }
        for (c, field) in fields.iter().enumerate() {
            if c != target {
                features.push(parse_number(field, line, &names[c])?);
            }
        }
        let target_field = &fields[target];
        // An empty class would be a class called "" that no one meant.
        if target_field.is_empty() {
            return Err(DataError::MissingTarget {
                line,
                column: names[target].clone(),
            });
        }
        match options.task {
            CsvTask::Classification => classes.push(target_field),
            CsvTask::Regression => values.push(parse_number(target_field, line, &names[target])?),
        }
        len += 1;
    }
    if len == 0 {
        return Err(empty());
    }
    if options.standardize {
        standardize(&mut features, feature_count);
    }
    let (targets, class_names) = match options.task {
        CsvTask::Classification => {
            let (labels, class_names) = classes.into_sorted();
            if class_names.len() > MAX_CLASSES {
                return Err(DataError::TooManyClasses {
                    column: names[target].clone(),
                    classes: class_names.len(),
                    max: MAX_CLASSES,
                });
            }
            let classes = class_names.len();
            (Targets::Classes { labels, classes }, class_names)
        }
        CsvTask::Regression => (Targets::Values { values, width: 1 }, Vec::new()),
    };
    InMemoryDataset::new(
        options.name.clone(),
        vec![feature_count],
        features,
        targets,
        class_names,
    )
}

/// The first row is a header when one of its fields is not a number in a column whose data rows
/// are all numbers (a name above numbers). A non-numeric first field above non-numeric data is
/// just a data row of a text column, such as class names.
fn detect_header<'a>(first: &[String], data_rows: impl Iterator<Item = (usize, &'a str)>) -> bool {
    let candidates: Vec<usize> = (0..first.len())
        .filter(|&c| as_number(&first[c]).is_none())
        .collect();
    if candidates.is_empty() {
        return false;
    }
    let mut numeric_below = vec![true; candidates.len()];
    let mut saw_data = false;
    let mut fields = Vec::new();
    for (line, row) in data_rows {
        // A broken row is reported by the real parse; here it is simply no evidence.
        if split_fields(row, line, &mut fields).is_err() {
            continue;
        }
        saw_data = true;
        for (flag, &c) in numeric_below.iter_mut().zip(&candidates) {
            *flag = *flag && fields.get(c).is_some_and(|f| as_number(f).is_some());
        }
        if !numeric_below.contains(&true) {
            return false;
        }
    }
    // A lone row of words is a header without data (reported as empty), not a sample.
    !saw_data || numeric_below.contains(&true)
}

fn target_index(names: &[String], wanted: Option<&str>) -> Result<usize, DataError> {
    let Some(wanted) = wanted else {
        return Ok(names.len() - 1);
    };
    let wanted = wanted.trim();
    if let Some(i) = names.iter().position(|n| n == wanted) {
        return Ok(i);
    }
    // Forgive case ("Species" for "species") when it picks one column only.
    let mut matches = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.eq_ignore_ascii_case(wanted));
    match (matches.next(), matches.next()) {
        (Some((i, _)), None) => Ok(i),
        _ => Err(DataError::MissingColumn {
            name: wanted.to_string(),
            columns: names.to_vec(),
        }),
    }
}

/// Splits one line into trimmed fields, reusing `out`; quoted fields may hold commas and `""`.
fn split_fields<'a>(
    row: &'a str,
    line: usize,
    out: &mut Vec<Cow<'a, str>>,
) -> Result<(), DataError> {
    out.clear();
    let mut rest = row;
    loop {
        let field_start = rest.trim_start();
        if let Some(quoted) = field_start.strip_prefix('"') {
            let mut value = String::new();
            let mut chunk = quoted;
            let after = loop {
                let Some(end) = chunk.find('"') else {
                    return Err(DataError::UnclosedQuote { line });
                };
                value.push_str(&chunk[..end]);
                let tail = &chunk[end + 1..];
                match tail.strip_prefix('"') {
                    Some(escaped_rest) => {
                        value.push('"');
                        chunk = escaped_rest;
                    }
                    None => break tail.trim_start(),
                }
            };
            out.push(Cow::Owned(value));
            if after.is_empty() {
                return Ok(());
            }
            match after.strip_prefix(',') {
                Some(next) => rest = next,
                None => return Err(DataError::BadQuote { line }),
            }
        } else {
            match field_start.find(',') {
                Some(comma) => {
                    out.push(Cow::Borrowed(field_start[..comma].trim_end()));
                    rest = &field_start[comma + 1..];
                }
                None => {
                    out.push(Cow::Borrowed(field_start.trim_end()));
                    return Ok(());
                }
            }
        }
    }
}

fn as_number(field: &str) -> Option<f32> {
    // Through f64 so that "1e39" is refused as out of range rather than read as infinity.
    let value = field.trim().parse::<f64>().ok()? as f32;
    value.is_finite().then_some(value)
}

fn parse_number(field: &str, line: usize, column: &str) -> Result<f32, DataError> {
    as_number(field).ok_or_else(|| DataError::NotANumber {
        line,
        column: column.to_string(),
        value: field.to_string(),
    })
}

/// Distinct target strings in order of first appearance, then sorted.
#[derive(Default)]
struct ClassTable {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    labels: Vec<u32>,
}

impl ClassTable {
    fn push(&mut self, name: &str) {
        let id = match self.ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.ids.insert(name.to_string(), id);
                self.names.push(name.to_string());
                id
            }
        };
        self.labels.push(id);
    }

    /// Labels renumbered so that classes are in numeric order when every name is a number
    /// ("2" before "10"), in text order otherwise.
    fn into_sorted(self) -> (Vec<u32>, Vec<String>) {
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        let numbers: Option<Vec<f32>> = self.names.iter().map(|n| as_number(n)).collect();
        match numbers {
            Some(numbers) => order.sort_by(|&a, &b| numbers[a].total_cmp(&numbers[b])),
            None => order.sort_by(|&a, &b| self.names[a].cmp(&self.names[b])),
        }
        let mut new_id = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old] = new as u32;
        }
        let labels = self.labels.iter().map(|&l| new_id[l as usize]).collect();
        let names = order.iter().map(|&old| self.names[old].clone()).collect();
        (labels, names)
    }
}

/// Per column: mean 0 and standard deviation 1; a constant column becomes all 0.
fn standardize(features: &mut [f32], width: usize) {
    let rows = features.len() / width;
    for c in 0..width {
        let column = || {
            features
                .iter()
                .skip(c)
                .step_by(width)
                .map(|&v| f64::from(v))
        };
        let mean = column().sum::<f64>() / rows as f64;
        let variance = column().map(|v| (v - mean) * (v - mean)).sum::<f64>() / rows as f64;
        let std_dev = variance.sqrt();
        // Relative to the mean so that a column of large equal values, with rounding noise, counts
        // as constant.
        let scale = if std_dev > 1e-12 * mean.abs().max(1.0) {
            1.0 / std_dev
        } else {
            0.0
        };
        for v in features.iter_mut().skip(c).step_by(width) {
            *v = ((f64::from(*v) - mean) * scale) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, Task};

    fn parse(text: &str) -> Result<InMemoryDataset, DataError> {
        parse_csv(text, &CsvOptions::default())
    }

    fn with(target: Option<&str>, task: CsvTask, standardize: bool) -> CsvOptions {
        CsvOptions {
            name: "t".into(),
            target_column: target.map(str::to_string),
            task,
            standardize,
        }
    }

    fn all_targets(d: &InMemoryDataset) -> Vec<f32> {
        let mut t = vec![0.0; d.task().target_len()];
        (0..d.len())
            .flat_map(|i| {
                d.copy_target(i, &mut t);
                t.clone()
            })
            .collect()
    }

    #[test]
    fn header_is_detected_when_names_sit_above_numbers() {
        let d = parse("width, height ,label\n1,2,cat\n3,4,dog\n").unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.feature_shape(), [2]);
        assert_eq!(d.features(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.class_names(), ["cat", "dog"]);
        let err = parse_csv(
            "a,b,c\n1,2,3\n",
            &with(Some("nope"), CsvTask::Regression, false),
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"a\", \"b\", \"c\""), "{err}");
    }

    #[test]
    fn no_header_when_the_first_row_is_data() {
        let d = parse("1,2,0\n3,4,1\n5,6,1\n").unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.class_names(), ["0", "1"]);
        // A word in the text column alone does not make a header.
        let d = parse("1,2,cat\n3,4,dog\n").unwrap();
        assert_eq!(d.len(), 2);
        // Without a header, columns are called "column N".
        let d = parse_csv(
            "1,2,3\n4,5,6\n",
            &with(Some("column 1"), CsvTask::Regression, false),
        )
        .unwrap();
        assert_eq!(d.features(), [2.0, 3.0, 5.0, 6.0]);
        assert_eq!(all_targets(&d), [1.0, 4.0]);
    }

    #[test]
    fn target_column_is_chosen_by_name_or_defaults_to_last() {
        let text = "x,y,z\n1,2,3\n4,5,6\n";
        let d = parse_csv(text, &with(Some("x"), CsvTask::Regression, false)).unwrap();
        assert_eq!(d.task(), Task::Regression { outputs: 1 });
        assert_eq!(d.features(), [2.0, 3.0, 5.0, 6.0]);
        assert_eq!(all_targets(&d), [1.0, 4.0]);
        let d = parse_csv(text, &with(Some("Y"), CsvTask::Regression, false)).unwrap();
        assert_eq!(all_targets(&d), [2.0, 5.0]);
        let d = parse_csv(text, &with(None, CsvTask::Regression, false)).unwrap();
        assert_eq!(all_targets(&d), [3.0, 6.0]);
        let err = parse_csv(text, &with(Some("w"), CsvTask::Regression, false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "there is no column \"w\"; the columns are: \"x\", \"y\", \"z\""
        );
    }

    #[test]
    fn classification_sorts_classes() {
        let d = parse("a,label\n1,10\n2,9\n3,2\n4,9\n").unwrap();
        assert_eq!(d.task(), Task::Classification { classes: 3 });
        assert_eq!(d.class_names(), ["2", "9", "10"]);
        assert_eq!((0..4).map(|i| d.class(i)).collect::<Vec<_>>(), [2, 1, 0, 1]);
        assert_eq!(all_targets(&d), [2.0, 1.0, 0.0, 1.0]);
        let d = parse("1,b\n2,a\n3,c\n4,a\n").unwrap();
        assert_eq!(d.class_names(), ["a", "b", "c"]);
        assert_eq!((0..4).map(|i| d.class(i)).collect::<Vec<_>>(), [1, 0, 2, 0]);
    }

    #[test]
    fn regression_needs_a_numeric_target() {
        let d = parse_csv(
            "a,y\n1,0.5\n2,-1e2\n",
            &with(None, CsvTask::Regression, false),
        )
        .unwrap();
        assert_eq!(all_targets(&d), [0.5, -100.0]);
        assert!(d.class_names().is_empty());
        let err = parse_csv(
            "a,y\n1,0.5\n2,big\n",
            &with(None, CsvTask::Regression, false),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3, column \"y\": \"big\" is not a number"
        );
    }

    #[test]
    fn standardisation_gives_mean_zero_std_one() {
        let text = "a,b,c,t\n1,5,0,x\n2,5,10,y\n3,5,20,x\n";
        let d = parse_csv(text, &with(None, CsvTask::Classification, true)).unwrap();
        let f = d.features();
        let s = (1.5f32).sqrt(); // 1 / population std of [1, 2, 3]
        let expected = [-s, 0.0, -s, 0.0, 0.0, 0.0, s, 0.0, s];
        for (got, want) in f.iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{f:?}");
        }
        let d = parse_csv(text, &with(None, CsvTask::Classification, false)).unwrap();
        assert_eq!(d.features()[..3], [1.0, 5.0, 0.0]);
    }

    #[test]
    fn quoted_fields_keep_commas_and_quotes() {
        let text =
            "\"x\",\"y, with comma\",label\n1,\"2\",a\n \"3\" ,4,\"b \"\"q\"\"\"\n5,6,\"a\"\n";
        let d = parse(text).unwrap();
        assert_eq!(d.features(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(d.class_names(), ["a", "b \"q\""]);
        let err = parse_csv(text, &with(Some("zzz"), CsvTask::Regression, false)).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"x\", \"y, with comma\", \"label\""),
            "{err}"
        );
        let err = parse("a,b\n1,\"2\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 2: a quoted field has no closing"),
            "{err}"
        );
        assert!(matches!(
            parse("a,b\n1,\"2\"x\n"),
            Err(DataError::BadQuote { line: 2 })
        ));
    }

    #[test]
    fn broken_row_names_its_line() {
        // Line 3 is blank and still counted, as an editor counts it.
        let err = parse("1,2,3,4,5\n6,7,8,9,0\n\n1,2,3,4\n").unwrap_err();
        assert_eq!(err.to_string(), "line 4: expected 5 values, found 4");
        assert!(matches!(
            parse("a,b,c\n1,2,3\n4,5,6,7\n"),
            Err(DataError::RowLength {
                line: 3,
                expected: 3,
                found: 4
            })
        ));
    }

    #[test]
    fn non_numeric_feature_names_line_and_column() {
        let err = parse("age,height,label\n1,2,a\n4,5,b\nabc,3,b\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 4, column \"age\": \"abc\" is not a number"
        );
        let err = parse("age,height,label\n1,,a\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 2, column \"height\": the value is missing")
        );
        let err = parse("1,2,a\nnan,3,b\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2, column \"column 1\": \"nan\" is not a number"
        );
    }

    #[test]
    fn empty_and_degenerate_files_are_refused() {
        assert!(matches!(parse(""), Err(DataError::Empty { .. })));
        assert!(matches!(parse("\n  \n"), Err(DataError::Empty { .. })));
        assert!(matches!(parse("a,b,label\n"), Err(DataError::Empty { .. })));
        assert!(matches!(
            parse("1;2;3\n4;5;6\n"),
            Err(DataError::TooFewColumns { columns: 1 })
        ));
        let many: String = (0..1200).map(|i| format!("{i},{i}.5\n")).collect();
        let err = parse(&many).unwrap_err();
        assert!(
            err.to_string().contains("is this a regression task?"),
            "{err}"
        );
    }

    #[test]
    fn bom_crlf_and_whitespace_are_tolerated() {
        let d = parse("\u{feff}a , b\r\n 1 , x \r\n\r\n2,y\r\n").unwrap();
        assert_eq!(d.features(), [1.0, 2.0]);
        assert_eq!(d.class_names(), ["x", "y"]);
    }

    #[test]
    fn an_empty_target_is_an_error_at_its_line() {
        let err = parse("a,b,label\n1,2,x\n\n3,4,\n5,6,y\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 4, column \"label\": the target is missing (every row needs one)"
        );
        let err =
            parse_csv("a,y\n1,0.5\n2, \n", &with(None, CsvTask::Regression, false)).unwrap_err();
        assert!(
            matches!(err, DataError::MissingTarget { line: 3, .. }),
            "{err}"
        );
        // A quoted empty target is empty too.
        assert!(matches!(
            parse("1,x\n2,\"\"\n"),
            Err(DataError::MissingTarget { line: 2, .. })
        ));
    }

    #[test]
    fn a_broken_quote_is_reported_at_its_own_line() {
        let err = parse("a,b\n1,2\n\n3,\"4\n5,6\n7,8\n").unwrap_err();
        assert!(matches!(err, DataError::UnclosedQuote { line: 4 }), "{err}");
        assert!(
            err.to_string()
                .starts_with("line 4: a quoted field has no closing")
        );
        let err = parse("a,b\r\n1,2\r\n3,\"4\"x\r\n5,6\r\n").unwrap_err();
        assert!(matches!(err, DataError::BadQuote { line: 3 }), "{err}");
        // In the first row, before the header is guessed.
        assert!(matches!(
            parse("\"a,b\n1,2\n"),
            Err(DataError::UnclosedQuote { line: 1 })
        ));
    }

    #[test]
    fn lone_cr_line_endings_are_read_as_lines() {
        let d = parse("a,b,label\r1,2,x\r3,4,y\r").unwrap();
        assert_eq!(d.features(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.class_names(), ["x", "y"]);
        let err = parse("a,b,label\r1,2,x\r\r3,z,y\r").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 4, column \"b\": \"z\" is not a number"
        );
    }

    #[test]
    fn utf16_files_are_named_as_such() {
        let dir = std::env::temp_dir().join(format!("netloom-data-utf16-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = "a,b\n1,0\n2,1\n";
        let little: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let big: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        for (name, bytes) in [
            ("le-bom", [vec![0xFF, 0xFE], little.clone()].concat()),
            ("be-bom", [vec![0xFE, 0xFF], big.clone()].concat()),
            ("le", little),
            ("be", big),
        ] {
            let path = dir.join(format!("{name}.csv"));
            std::fs::write(&path, bytes).unwrap();
            let err = load_csv(&path, &CsvOptions::default()).unwrap_err();
            assert!(matches!(err.innermost(), DataError::Utf16), "{name}: {err}");
            assert!(
                err.to_string()
                    .contains("this file is UTF-16; save it as UTF-8 CSV"),
                "{err}"
            );
        }
        assert!(matches!(parse("a\0,b\0\n"), Err(DataError::Utf16)));
        // UTF-8 with a byte order mark is fine, and the mark is not part of the first name.
        let path = dir.join("bom.csv");
        std::fs::write(&path, b"\xEF\xBB\xBFa,b\n1,0\n2,1\n").unwrap();
        let d = load_csv(&path, &with(Some("a"), CsvTask::Regression, false)).unwrap();
        assert_eq!(all_targets(&d), [1.0, 2.0]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn gzipped_file_loads_and_errors_name_the_file() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("netloom-data-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"a,b\n1,0\n2,1\n").unwrap();
        let path = dir.join("small.csv.gz");
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let d = load_csv(&path, &CsvOptions::default()).unwrap();
        assert_eq!(d.len(), 2);
        let empty = dir.join("empty.csv");
        std::fs::write(&empty, "").unwrap();
        let err = load_csv(&empty, &CsvOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("empty.csv: the CSV data is empty"),
            "{err}"
        );
        assert!(matches!(err.innermost(), DataError::Empty { .. }));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn one_column_is_read_down_its_rows_as_a_series() {
        let (name, values) = parse_column("passengers\n112\n118\n132\n", None).unwrap();
        assert_eq!(
            (name.as_str(), values),
            ("passengers", vec![112.0, 118.0, 132.0])
        );
        let text = "month,passengers,year\n1,112,1949\n2,118,1949\n";
        let (name, values) = parse_column(text, Some("Passengers")).unwrap();
        assert_eq!((name.as_str(), values), ("passengers", vec![112.0, 118.0]));
        let broken = parse_column("v,w\n1,2\nmany,3\n", Some("v"))
            .unwrap_err()
            .to_string();
        assert!(broken.contains("line 3"), "{broken}");
        let short = parse_column("a,b\n1,2\n3\n", Some("a"))
            .unwrap_err()
            .to_string();
        assert!(short.contains("line 3"), "{short}");
        assert!(parse_column("", None).is_err());
    }
}
