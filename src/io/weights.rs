//! Weights as safetensors, named and laid out as PyTorch's `state_dict` (`<node>.weight`,
//! `<node>.bias`, BatchNorm's `running_mean`, `running_var` and `num_batches_tracked`), so
//! `model.load_state_dict(safetensors.torch.load_file(path))` works on the exported module.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::{FileError, write_atomically};
use crate::train::NamedTensor;

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

/// Loads every f32 tensor; integer counters are skipped (Netloom keeps its own step count).
pub fn load_weights(path: &Path) -> Result<Vec<NamedTensor>, FileError> {
    let bytes = std::fs::read(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| weights_error(path, format!("not a readable safetensors file ({e})")))?;
    let mut tensors = Vec::new();
    for (name, view) in file.iter() {
        match view.dtype() {
            Dtype::F32 => tensors.push(NamedTensor {
                name: name.to_string(),
                shape: view.shape().to_vec(),
                values: view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            }),
            Dtype::I64 | Dtype::I32 => {}
            other => {
                return Err(weights_error(
                    path,
                    format!("tensor \"{name}\" is {other}; Netloom reads f32 weights"),
                ));
            }
        }
    }
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tensors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_names_shapes_and_values() {
        let path = std::env::temp_dir().join(format!(
            "netloom-weights-{}.safetensors",
            std::process::id()
        ));
        let tensors = vec![
            NamedTensor {
                name: "dense.bias".into(),
                shape: vec![2],
                values: vec![0.5, -1.0],
            },
            NamedTensor {
                name: "dense.weight".into(),
                shape: vec![2, 3],
                values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            },
        ];
        save_weights(&path, &tensors, &[("bn.num_batches_tracked".into(), 7)]).unwrap();
        assert_eq!(load_weights(&path).unwrap(), tensors);
        std::fs::write(&path, b"not safetensors").unwrap();
        let message = load_weights(&path).unwrap_err().to_string();
        assert!(
            message.contains("not a readable safetensors file"),
            "{message}"
        );
        std::fs::remove_file(&path).unwrap();
    }
}
