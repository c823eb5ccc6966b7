//! MNIST's own file format (IDX), so that users who have the real files can train on them.
//!
//! An IDX file is a big-endian header (magic number `00 00 08 <dims>`, then one u32 per dimension)
//! followed by the unsigned bytes. Images are idx3 (count, rows, cols), labels idx1 (count).
//! Gzipped files (`*.gz`, as MNIST is distributed) are recognised by their magic bytes.

use std::path::Path;

use super::{DataError, InMemoryDataset, Targets, file_stem, gunzip_if_needed, read_file};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads an images file and a labels file; errors name the file they are about.
pub fn load_idx(images_path: &Path, labels_path: &Path) -> Result<InMemoryDataset, DataError> {
    let image_bytes = read_file(images_path)?;
    let label_bytes = read_file(labels_path)?;
    let images = gunzip_if_needed(&image_bytes)
        .and_then(|bytes| parse_images(&bytes))
        .map_err(|e| e.in_file(images_path))?;
    let labels = gunzip_if_needed(&label_bytes)
        .and_then(|bytes| parse_labels(&bytes))
        .map_err(|e| e.in_file(labels_path))?;
    build(&file_stem(images_path), images, labels)
}

/// Parses IDX images and labels held in memory (each optionally gzipped).
pub fn parse_idx(name: &str, images: &[u8], labels: &[u8]) -> Result<InMemoryDataset, DataError> {
    let images = parse_images(&gunzip_if_needed(images)?)?;
    let labels = parse_labels(&gunzip_if_needed(labels)?)?;
    build(name, images, labels)
}

struct Images {
    rows: usize,
    cols: usize,
    /// Pixels scaled to [0, 1], image after image.
    pixels: Vec<f32>,
}

fn parse_images(bytes: &[u8]) -> Result<Images, DataError> {
    let (dims, data) = parse_header(bytes, IMAGES_MAGIC, "images", 3)?;
    let [count, rows, cols] = [dims[0], dims[1], dims[2]];
    if count == 0 {
        return Err(DataError::Empty {
            what: "the IDX images file".into(),
        });
    }
    let data = data_bytes(bytes, data, &dims)?;
    Ok(Images {
        rows: rows as usize,
        cols: cols as usize,
        pixels: data.iter().map(|&b| f32::from(b) / 255.0).collect(),
    })
}

fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let (dims, data) = parse_header(bytes, LABELS_MAGIC, "labels", 1)?;
    Ok(data_bytes(bytes, data, &dims)?.to_vec())
}

/// The dimensions after the magic number, and the bytes after the header.
fn parse_header<'a>(
    bytes: &'a [u8],
    magic: u32,
    kind: &'static str,
    dim_count: usize,
) -> Result<(Vec<u32>, &'a [u8]), DataError> {
    let header_bytes = 4 * (1 + dim_count);
    let word = |i: usize| {
        bytes
            .get(4 * i..4 * i + 4)
            .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    };
    let found = word(0).ok_or(DataError::Truncated {
        expected_bytes: header_bytes as u64,
        found_bytes: bytes.len() as u64,
    })?;
    if found != magic {
        return Err(DataError::BadMagic {
            expected_kind: kind,
            expected: magic,
            found,
        });
    }
    let dims: Option<Vec<u32>> = (1..=dim_count).map(word).collect();
    let dims = dims.ok_or(DataError::Truncated {
        expected_bytes: header_bytes as u64,
        found_bytes: bytes.len() as u64,
    })?;
    Ok((dims, &bytes[header_bytes..]))
}

/// Exactly the bytes the dimensions promise, checked before anything is allocated for them, so a
/// corrupt header cannot ask for more memory than the file has bytes. Trailing bytes are ignored.
fn data_bytes<'a>(whole: &[u8], data: &'a [u8], dims: &[u32]) -> Result<&'a [u8], DataError> {
    if dims.iter().skip(1).any(|&d| d == 0) {
        return Err(DataError::ZeroDimension {
            dims: dims.to_vec(),
        });
    }
    // Saturating: three u32s can overflow a u64, and "more than the file has" is all we need.
    let needed = dims
        .iter()
        .fold(1u64, |n, &d| n.saturating_mul(u64::from(d)));
    let header_bytes = (whole.len() - data.len()) as u64;
    if (data.len() as u64) < needed {
        return Err(DataError::Truncated {
            expected_bytes: header_bytes.saturating_add(needed),
            found_bytes: whole.len() as u64,
        });
    }
    // `needed` fits in usize: it is at most `data.len()`.
    Ok(&data[..needed as usize])
}

fn build(name: &str, images: Images, labels: Vec<u8>) -> Result<InMemoryDataset, DataError> {
    let count = images.pixels.len() / (images.rows * images.cols);
    if labels.len() != count {
        return Err(DataError::CountMismatch {
            images: count,
            labels: labels.len(),
        });
    }
    let classes = labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(1);
    InMemoryDataset::new(
        name,
        vec![1, images.rows, images.cols],
        images.pixels,
        Targets::Classes {
            labels: labels.into_iter().map(u32::from).collect(),
            classes,
        },
        (0..classes).map(|c| c.to_string()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, Task};

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
        out.extend(data);
        out
    }

    /// Three 2x3 images whose pixels count up, labelled 0, 2, 1.
    fn sample() -> (Vec<u8>, Vec<u8>) {
        let pixels: Vec<u8> = (0..18).map(|i| i * 15).collect();
        (
            idx(IMAGES_MAGIC, &[3, 2, 3], &pixels),
            idx(LABELS_MAGIC, &[3], &[0, 2, 1]),
        )
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn round_trip() {
        let (images, labels) = sample();
        let d = parse_idx("tiny", &images, &labels).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.feature_shape(), [1, 2, 3]);
        assert_eq!(d.task(), Task::Classification { classes: 3 });
        assert_eq!(d.class_names(), ["0", "1", "2"]);
        assert_eq!((0..3).map(|i| d.class(i)).collect::<Vec<_>>(), [0, 2, 1]);
        let mut f = [0.0; 6];
        d.copy_features(1, &mut f);
        let expected: Vec<f32> = (6..12).map(|i| (i * 15) as f32 / 255.0).collect();
        assert_eq!(f.to_vec(), expected);
        assert_eq!(d.features()[17], 1.0);
    }

    #[test]
    fn gzipped_files_are_read_too() {
        let (images, labels) = sample();
        let plain = parse_idx("tiny", &images, &labels).unwrap();
        assert_eq!(
            parse_idx("tiny", &gzip(&images), &gzip(&labels)).unwrap(),
            plain
        );
        assert_eq!(parse_idx("tiny", &gzip(&images), &labels).unwrap(), plain);
        let err = parse_idx("tiny", &[0x1f, 0x8b, 1, 2, 3], &labels).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err}");
    }

    #[test]
    fn bad_magic_is_refused_and_swapped_files_are_spotted() {
        let (images, labels) = sample();
        let err = parse_idx("x", &labels, &images).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an IDX images file: its magic number is 0x00000801, expected 0x00000803 \
             (it looks like the labels file: are the two files swapped?)"
        );
        let err = parse_idx("x", &idx(0x0000_0c03, &[3, 2, 3], &[0; 18]), &labels).unwrap_err();
        assert!(
            matches!(err, DataError::BadMagic { found: 0x0c03, .. }),
            "{err}"
        );
        let err = parse_idx("x", &images, b"hello world").unwrap_err();
        assert!(
            err.to_string().starts_with("not an IDX labels file"),
            "{err}"
        );
    }

    #[test]
    fn truncated_data_is_refused() {
        let (images, labels) = sample();
        let err = parse_idx("x", &images[..images.len() - 1], &labels).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is truncated: it should hold 34 bytes, but has 33"
        );
        let err = parse_idx("x", &images[..10], &labels).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected_bytes: 16,
                    found_bytes: 10
                }
            ),
            "{err}"
        );
        assert!(matches!(
            parse_idx("x", &images, &labels[..2]),
            Err(DataError::Truncated { .. })
        ));
        // A header promising billions of pixels is refused before anything is allocated.
        let huge = idx(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[0; 8]);
        assert!(matches!(
            parse_idx("x", &huge, &labels),
            Err(DataError::Truncated { .. })
        ));
        let flat = idx(IMAGES_MAGIC, &[3, 0, 3], &[]);
        assert!(matches!(
            parse_idx("x", &flat, &labels),
            Err(DataError::ZeroDimension { .. })
        ));
        let none = idx(IMAGES_MAGIC, &[0, 2, 3], &[]);
        assert!(matches!(
            parse_idx("x", &none, &labels),
            Err(DataError::Empty { .. })
        ));
    }

    #[test]
    fn counts_must_match() {
        let (images, _) = sample();
        let err = parse_idx("x", &images, &idx(LABELS_MAGIC, &[2], &[0, 1])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "there are 3 images but 2 labels; each image needs exactly one label"
        );
    }

    #[test]
    fn files_are_read_and_errors_name_them() {
        let dir = std::env::temp_dir().join(format!("netloom-data-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (images, labels) = sample();
        let images_path = dir.join("t10k-images-idx3-ubyte.gz");
        let labels_path = dir.join("t10k-labels-idx1-ubyte");
        std::fs::write(&images_path, gzip(&images)).unwrap();
        std::fs::write(&labels_path, &labels).unwrap();
        let d = load_idx(&images_path, &labels_path).unwrap();
        assert_eq!(d.name(), "t10k-images-idx3-ubyte");
        assert_eq!(d.len(), 3);
        let err = load_idx(&labels_path, &images_path).unwrap_err();
        assert!(
            err.to_string()
                .contains("t10k-labels-idx1-ubyte: not an IDX images file"),
            "{err}"
        );
        let err = load_idx(&dir.join("missing"), &labels_path).unwrap_err();
        assert!(matches!(err, DataError::NotFound { .. }), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
