//! Summary statistics of a tensor, for the live view: what a backend reduces on its side so that
//! only a few words per tensor cross to the host. Every backend fills the same word layout
//! (`STATS_WORDS` values, counts as u32 bits), and `TensorStats::from_words` reads it.
//!
//! A tensor is also seen as rows of `width` units (a batch of activations: one row per sample),
//! so that units which are zero for every row, such as dead ReLUs, can be counted.

/// Bins of the histogram, spread evenly from the tensor's finite minimum to its maximum.
pub const HISTOGRAM_BINS: usize = 32;

/// Words a backend hands back per tensor: finite count, mean, sum of squared deviations (M2),
/// sum of squares, min, max, zero count, non-finite count, silent units, units, then the
/// histogram.
pub const STATS_WORDS: usize = HEADER_WORDS + HISTOGRAM_BINS;
const HEADER_WORDS: usize = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct TensorStats {
    /// Every value, finite or not.
    pub count: usize,
    /// Mean, standard deviation, min and max of the finite values (0 when there are none).
    pub mean: f32,
    pub std: f32,
    pub min: f32,
    pub max: f32,
    /// Euclidean norm of the finite values.
    pub l2: f32,
    pub zero_fraction: f32,
    pub non_finite_fraction: f32,
    /// The share of units (columns of `width`) that are zero in every row: for a ReLU's output
    /// over a batch, the units no sample activated.
    pub silent_fraction: f32,
    /// Finite values per bin over `min..=max`; the maximum falls in the last bin.
    pub histogram: [u32; HISTOGRAM_BINS],
}

impl TensorStats {
    /// Reads the word layout of a tensor of `count` values.
    pub fn from_words(count: usize, words: &[f32]) -> Self {
        let finite = words[0].to_bits();
        let mut histogram = [0; HISTOGRAM_BINS];
        for (bin, word) in histogram.iter_mut().zip(&words[HEADER_WORDS..STATS_WORDS]) {
            *bin = word.to_bits();
        }
        let fraction = |n: u32| {
            if count == 0 {
                0.0
            } else {
                n as f32 / count as f32
            }
        };
        let any = finite > 0;
        let units = words[9].to_bits();
        Self {
            count,
            mean: if any { words[1] } else { 0.0 },
            std: if any {
                (words[2].max(0.0) / finite as f32).sqrt()
            } else {
                0.0
            },
            l2: words[3].max(0.0).sqrt(),
            min: if any { words[4] } else { 0.0 },
            max: if any { words[5] } else { 0.0 },
            zero_fraction: fraction(words[6].to_bits()),
            non_finite_fraction: fraction(words[7].to_bits()),
            silent_fraction: if units == 0 {
                0.0
            } else {
                words[8].to_bits() as f32 / units as f32
            },
            histogram,
        }
    }
}

/// Bins per unit of value for a histogram over `min..=max` (0 when the range is empty, which
/// puts everything in the first bin).
pub fn bins_per_unit(min: f32, max: f32) -> f32 {
    let span = max - min;
    if span > 0.0 {
        HISTOGRAM_BINS as f32 / span
    } else {
        0.0
    }
}

/// The histogram bin of finite `x` from `min` on. Backends share this formula, so they agree
/// on every value.
pub fn histogram_bin(x: f32, min: f32, per_unit: f32) -> usize {
    (((x - min) * per_unit) as usize).min(HISTOGRAM_BINS - 1)
}

/// Values summed in f32 lanes before their totals move to f64: the sums vectorise, and a block
/// is short enough for f32 to lose nothing that matters.
const BLOCK: usize = 4096;
const LANES: usize = 8;

/// Finite count, sum, sum of squares, min and max of the finite values, and zeros.
#[derive(Clone, Copy)]
struct Moments {
    finite: u32,
    zeros: u32,
    sum: f64,
    sum_sq: f64,
    min: f32,
    max: f32,
}

fn moments(values: &[f32]) -> Moments {
    let mut m = Moments {
        finite: 0,
        zeros: 0,
        sum: 0.0,
        sum_sq: 0.0,
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
    };
    for block in values.chunks(BLOCK) {
        let (mut sum, mut sum_sq) = ([0f32; LANES], [0f32; LANES]);
        let (mut min, mut max) = ([f32::INFINITY; LANES], [f32::NEG_INFINITY; LANES]);
        let (mut finite, mut zeros) = ([0u32; LANES], [0u32; LANES]);
        let mut add = |lane: usize, x: f32| {
            // Selects rather than branches, which the compiler can vectorise.
            let ok = x.is_finite();
            let v = if ok { x } else { 0.0 };
            sum[lane] += v;
            sum_sq[lane] += v * v;
            min[lane] = min[lane].min(if ok { x } else { f32::INFINITY });
            max[lane] = max[lane].max(if ok { x } else { f32::NEG_INFINITY });
            finite[lane] += ok as u32;
            zeros[lane] += (x == 0.0) as u32;
        };
        let chunks = block.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for (lane, &x) in chunk.iter().enumerate() {
                add(lane, x);
            }
        }
        for &x in rest {
            add(0, x);
        }
        m.sum += sum.iter().map(|&v| f64::from(v)).sum::<f64>();
        m.sum_sq += sum_sq.iter().map(|&v| f64::from(v)).sum::<f64>();
        m.min = min.iter().fold(m.min, |a, &b| a.min(b));
        m.max = max.iter().fold(m.max, |a, &b| a.max(b));
        m.finite += finite.iter().sum::<u32>();
        m.zeros += zeros.iter().sum::<u32>();
    }
    m
}

/// The reference reduction: appends the word layout for `values`, rows of `width` units, to
/// `out`.
pub fn statistics_words(values: &[f32], width: usize, out: &mut Vec<f32>) {
    let start = out.len();
    out.resize(start + STATS_WORDS, 0.0);
    statistics_into(values, width, &mut out[start..]);
}

/// The word layout for `values`, rows of `width` units, into the `STATS_WORDS` words of `out`.
/// Sums run in f32 lanes within blocks of `BLOCK` values and in f64 across them.
pub fn statistics_into(values: &[f32], width: usize, out: &mut [f32]) {
    let Moments {
        finite,
        zeros,
        sum,
        sum_sq,
        min,
        max,
    } = moments(values);
    let mean = if finite > 0 { sum / finite as f64 } else { 0.0 };
    let mut histogram = [0u32; HISTOGRAM_BINS];
    let mut m2 = 0f64;
    let centre = mean as f32;
    let per_unit = bins_per_unit(min, max);
    for block in values.chunks(BLOCK) {
        let mut deviations = 0f32;
        for &x in block.iter().filter(|x| x.is_finite()) {
            deviations += (x - centre) * (x - centre);
            histogram[histogram_bin(x, min, per_unit)] += 1;
        }
        m2 += f64::from(deviations);
    }
    let non_finite = values.len() as u32 - finite;
    let width = width.clamp(1, values.len().max(1));
    let silent = if width == values.len() {
        // One row: a unit is silent when its one value is zero.
        zeros
    } else {
        let mut active = vec![false; width];
        for row in values.chunks_exact(width) {
            for (a, &x) in active.iter_mut().zip(row) {
                *a |= x != 0.0;
            }
        }
        active.iter().filter(|&&a| !a).count() as u32
    };
    let header = [
        f32::from_bits(finite),
        mean as f32,
        m2 as f32,
        sum_sq as f32,
        min,
        max,
        f32::from_bits(zeros),
        f32::from_bits(non_finite),
        f32::from_bits(silent),
        f32::from_bits(width as u32),
    ];
    let (head, bins) = out.split_at_mut(HEADER_WORDS);
    head.copy_from_slice(&header);
    for (word, &n) in bins.iter_mut().zip(&histogram) {
        *word = f32::from_bits(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_a_small_tensor() {
        let values = [0.0, 1.0, 2.0, 3.0, f32::NAN, 0.0, f32::INFINITY, 6.0];
        let mut words = Vec::new();
        statistics_words(&values, 4, &mut words);
        let s = TensorStats::from_words(values.len(), &words);
        assert_eq!(s.count, 8);
        assert_eq!(s.mean, 2.0);
        // Finite values 0 1 2 3 0 6: squared deviations 4+1+0+1+4+16 = 26 over 6.
        assert!((s.std - (26.0f32 / 6.0).sqrt()).abs() < 1e-6);
        assert!((s.l2 - 50.0f32.sqrt()).abs() < 1e-6);
        assert_eq!((s.min, s.max), (0.0, 6.0));
        assert_eq!(s.zero_fraction, 0.25);
        assert_eq!(s.non_finite_fraction, 0.25);
        assert_eq!(s.silent_fraction, 0.0, "no unit is zero in both rows");
        assert_eq!(s.histogram.iter().sum::<u32>(), 6);
        assert_eq!(s.histogram[0], 2);
        assert_eq!(s.histogram[HISTOGRAM_BINS - 1], 1);
        assert_eq!(
            s.histogram[histogram_bin(3.0, 0.0, bins_per_unit(0.0, 6.0))],
            1
        );
    }

    #[test]
    fn silent_units_are_those_zero_in_every_row() {
        let rows = [0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, -0.5];
        let mut words = Vec::new();
        statistics_words(&rows, 3, &mut words);
        let s = TensorStats::from_words(rows.len(), &words);
        assert_eq!(
            s.silent_fraction,
            1.0 / 3.0,
            "only the first unit never fires"
        );
        assert!(s.zero_fraction > 0.5, "most values are zero all the same");
    }

    #[test]
    fn a_tensor_with_nothing_finite_has_zero_summaries() {
        let mut words = Vec::new();
        statistics_words(&[f32::NAN, f32::NEG_INFINITY], 2, &mut words);
        let s = TensorStats::from_words(2, &words);
        assert_eq!(
            (s.mean, s.std, s.min, s.max, s.l2),
            (0.0, 0.0, 0.0, 0.0, 0.0)
        );
        assert_eq!(s.non_finite_fraction, 1.0);
        assert_eq!(s.silent_fraction, 0.0, "NaN is not silence");
        assert_eq!(s.histogram, [0; HISTOGRAM_BINS]);
    }
}
