//! Weights as safetensors, named and laid out as PyTorch's `state_dict` (`<node>.weight`,
//! `<node>.bias`, BatchNorm's `running_mean`, `running_var` and `num_batches_tracked`), so
//! `model.load_state_dict(safetensors.torch.load_file(path))` works on the exported module.
//!
//! Loading refuses what would train wrongly rather than fail loudly later: non-finite values,
//! dtypes other than f32 (and integer counters), and data whose length does not match its shape.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::{FileError, io_error, write_atomically};
use crate::compile::Model;
use crate::graph::Layer;
use crate::train::NamedTensor;

/// What a weights file holds: f32 tensors and integer counters (`<bn>.num_batches_tracked`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadedWeights {
    /// Sorted by name.
    pub tensors: Vec<NamedTensor>,
    /// Sorted by name.
    pub counters: Vec<(String, i64)>,
}

fn weights_error(path: &Path, message: impl std::fmt::Display) -> FileError {
    FileError::Weights {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Saves f32 tensors plus i64 scalar counters (BatchNorm's `num_batches_tracked`).
pub fn save_weights(
    path: &Path,
    tensors: &[NamedTensor],
    counters: &[(String, i64)],
) -> Result<(), FileError> {
    let float_bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let counter_bytes: Vec<[u8; 8]> = counters.iter().map(|(_, v)| v.to_le_bytes()).collect();
    let mut views: Vec<(String, TensorView)> = Vec::new();
    for (t, bytes) in tensors.iter().zip(&float_bytes) {
        let view = TensorView::new(Dtype::F32, t.shape.clone(), bytes)
            .map_err(|e| weights_error(path, e))?;
        views.push((t.name.clone(), view));
    }
    for ((name, _), bytes) in counters.iter().zip(&counter_bytes) {
        let view =
            TensorView::new(Dtype::I64, vec![], bytes).map_err(|e| weights_error(path, e))?;
        views.push((name.clone(), view));
    }
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes =
        safetensors::serialize(views, Some(metadata)).map_err(|e| weights_error(path, e))?;
    write_atomically(path, &bytes)
}

/// Loads the f32 tensors of a weights file (its counters are checked, then left out; see
/// [`load_weights_with_counters`]).
pub fn load_weights(path: &Path) -> Result<Vec<NamedTensor>, FileError> {
    Ok(load_weights_with_counters(path)?.tensors)
}

/// Loads every f32 tensor and every integer counter. Refuses, naming the tensor, a non-finite
/// value, a dtype Netloom does not read, a counter that is not a single value, and data whose
/// length does not match its shape.
pub fn load_weights_with_counters(path: &Path) -> Result<LoadedWeights, FileError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| {
        let why = header_problem(&bytes).unwrap_or_else(|| e.to_string());
        weights_error(path, format!("not a readable safetensors file ({why})"))
    })?;
    let mut loaded = LoadedWeights::default();
    for (name, view) in file.iter() {
        let count: usize = view.shape().iter().product();
        let size = view.dtype().bitsize() / 8;
        // The safetensors reader checks this too; checked here so that a shape and a length that
        // disagree can never be read as some other tensor.
        if view.data().len() != count * size {
            return Err(weights_error(
                path,
                length_mismatch(name, view.dtype(), view.shape(), view.data().len()),
            ));
        }
        match view.dtype() {
            Dtype::F32 => {
                let values: Vec<f32> = view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                if let Some((index, value)) =
                    values.iter().enumerate().find(|(_, v)| !v.is_finite())
                {
                    let what = if value.is_nan() { "NaN" } else { "an infinity" };
                    return Err(weights_error(
                        path,
                        format!(
                            "\"{name}\" holds {what} at index {index}; training cannot start from non-finite weights"
                        ),
                    ));
                }
                loaded.tensors.push(NamedTensor {
                    name: name.to_string(),
                    shape: view.shape().to_vec(),
                    values,
                });
            }
            dtype @ (Dtype::I64 | Dtype::I32) => {
                if count != 1 {
                    return Err(weights_error(
                        path,
                        format!(
                            "\"{name}\" is an {dtype} tensor of shape {:?}; Netloom reads F32 weights and single integer counters",
                            view.shape()
                        ),
                    ));
                }
                let data = view.data();
                let value = match dtype {
                    Dtype::I64 => i64::from_le_bytes(data[..8].try_into().unwrap_or([0; 8])),
                    _ => i64::from(i32::from_le_bytes(data[..4].try_into().unwrap_or([0; 4]))),
                };
                loaded.counters.push((name.to_string(), value));
            }
            other => {
                return Err(weights_error(
                    path,
                    format!("\"{name}\" is {other}; Netloom reads F32 weights"),
                ));
            }
        }
    }
    loaded.tensors.sort_by(|a, b| a.name.cmp(&b.name));
    loaded.counters.sort();
    Ok(loaded)
}

/// `<bn>.num_batches_tracked` for each BatchNorm whose running statistics the program keeps
/// (those that lead to the loss; the others are not lowered, so saving a counter for one would
/// make PyTorch's strict `load_state_dict` refuse the file): the count `loaded` holds for it,
/// if any, plus the steps taken since.
pub fn batch_norm_counters(
    model: &Model,
    steps_taken: u64,
    loaded: &[(String, i64)],
) -> Vec<(String, i64)> {
    let steps = i64::try_from(steps_taken).unwrap_or(i64::MAX);
    model
        .order
        .iter()
        .filter(|&&i| model.nodes.get(i).is_some_and(|info| info.feeds_loss))
        .filter_map(|&i| model.graph.nodes.get(i))
        .filter(|node| matches!(node.layer, Layer::BatchNorm { .. }))
        .map(|node| {
            let name = format!("{}.num_batches_tracked", node.name);
            let before = loaded
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |&(_, count)| count);
            (name, before.saturating_add(steps))
        })
        .collect()
}

fn length_mismatch(name: &str, dtype: Dtype, shape: &[usize], found_bytes: usize) -> String {
    let count: usize = shape.iter().product();
    format!(
        "\"{name}\" has shape {shape:?}, {count} {dtype} values in {} bytes, but its data is {found_bytes} bytes",
        count * dtype.bitsize() / 8
    )
}

/// Names the tensor whose shape and data length disagree, when that is why the reader refused
/// the file (its own error does not say which tensor).
fn header_problem(bytes: &[u8]) -> Option<String> {
    let header_len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let header = bytes.get(8..8usize.checked_add(usize::try_from(header_len).ok()?)?)?;
    let header: HashMap<String, serde_json::Value> = serde_json::from_slice(header).ok()?;
    let mut names: Vec<&String> = header.keys().filter(|k| *k != "__metadata__").collect();
    names.sort();
    names.into_iter().find_map(|name| {
        let info = &header[name];
        let dtype: Dtype = serde_json::from_value(info.get("dtype")?.clone()).ok()?;
        let shape: Vec<usize> = serde_json::from_value(info.get("shape")?.clone()).ok()?;
        let [start, end]: [usize; 2] =
            serde_json::from_value(info.get("data_offsets")?.clone()).ok()?;
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
        let expected = count.checked_mul(dtype.bitsize())? / 8;
        let found = end.checked_sub(start)?;
        (found != expected).then(|| length_mismatch(name, dtype, &shape, found))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!(
            "netloom-weights-{name}-{}.safetensors",
            std::process::id()
        ))
    }

    fn tensor(name: &str, shape: &[usize], values: &[f32]) -> NamedTensor {
        NamedTensor {
            name: name.into(),
            shape: shape.to_vec(),
            values: values.to_vec(),
        }
    }

    /// A safetensors file written by hand, for what `save_weights` would never write.
    fn raw_file(entries: &[(&str, &str, &[usize], &[u8])]) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, dtype, shape, bytes) in entries {
            let start = data.len();
            data.extend_from_slice(bytes);
            header.insert(
                name.to_string(),
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
            );
        }
        let mut header = serde_json::Value::Object(header).to_string().into_bytes();
        while !header.len().is_multiple_of(8) {
            header.push(b' ');
        }
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend(header);
        file.extend(data);
        file
    }

    fn load_raw(name: &str, bytes: &[u8]) -> Result<LoadedWeights, FileError> {
        let path = temp_path(name);
        std::fs::write(&path, bytes).unwrap();
        let result = load_weights_with_counters(&path);
        std::fs::remove_file(&path).unwrap();
        result
    }

    #[test]
    fn round_trip_keeps_names_shapes_values_and_counters() {
        let path = temp_path("round-trip");
        let tensors = vec![
            tensor("dense.bias", &[2], &[0.5, -1.0]),
            tensor("dense.weight", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        ];
        save_weights(&path, &tensors, &[("bn.num_batches_tracked".into(), 7)]).unwrap();
        assert_eq!(load_weights(&path).unwrap(), tensors);
        let loaded = load_weights_with_counters(&path).unwrap();
        assert_eq!(loaded.tensors, tensors);
        assert_eq!(loaded.counters, [("bn.num_batches_tracked".to_string(), 7)]);
        std::fs::write(&path, b"not safetensors").unwrap();
        let message = load_weights(&path).unwrap_err().to_string();
        assert!(
            message.contains("not a readable safetensors file"),
            "{message}"
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn non_finite_values_are_refused_with_the_tensor_and_index() {
        let mut values = [1.0f32, 2.0, 3.0, f32::NAN, 5.0, 6.0];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let file = raw_file(&[("dense.weight", "F32", &[2, 3], &bytes)]);
        let error = load_raw("nan", &file).unwrap_err().to_string();
        assert!(
            error.contains("\"dense.weight\" holds NaN at index 3"),
            "{error}"
        );
        values[3] = 4.0;
        values[5] = f32::NEG_INFINITY;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let file = raw_file(&[("dense.weight", "F32", &[2, 3], &bytes)]);
        let error = load_raw("inf", &file).unwrap_err().to_string();
        assert!(
            error.contains("\"dense.weight\" holds an infinity at index 5"),
            "{error}"
        );
    }

    #[test]
    fn other_dtypes_are_named() {
        let bytes: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let file = raw_file(&[("x", "F64", &[2], &bytes)]);
        let error = load_raw("f64", &file).unwrap_err().to_string();
        assert!(
            error.contains("\"x\" is F64; Netloom reads F32 weights"),
            "{error}"
        );
        let file = raw_file(&[("h", "F16", &[2], &[0, 60, 0, 60])]);
        let error = load_raw("f16", &file).unwrap_err().to_string();
        assert!(error.contains("\"h\" is F16"), "{error}");
        let file = raw_file(&[("n", "I64", &[2], &[0; 16])]);
        let error = load_raw("i64-vector", &file).unwrap_err().to_string();
        assert!(
            error.contains("\"n\" is an I64 tensor of shape [2]"),
            "{error}"
        );
        let file = raw_file(&[("bn.num_batches_tracked", "I32", &[], &5i32.to_le_bytes())]);
        let loaded = load_raw("i32-counter", &file).unwrap();
        assert_eq!(loaded.counters, [("bn.num_batches_tracked".to_string(), 5)]);
    }

    #[test]
    fn data_that_does_not_match_its_shape_is_refused_by_name() {
        let file = raw_file(&[
            ("a.bias", "F32", &[2], &[0; 8]),
            ("dense.weight", "F32", &[2, 3], &[0; 20]),
        ]);
        let error = load_raw("short", &file).unwrap_err().to_string();
        assert!(
            error.contains("\"dense.weight\" has shape [2, 3], 6 F32 values in 24 bytes, but its data is 20 bytes"),
            "{error}"
        );
    }
}
