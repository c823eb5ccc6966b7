//! What a training run has said so far, as series the plots draw: the loss per step (raw and
//! smoothed), the learning rate and gradient norm, train and validation metrics per epoch, and
//! the watched tensors' statistics over time. Plots draw at most a few points per pixel, so
//! `decimate` picks the extremes of each pixel column from series of any length.

use crate::engine::TensorStats;
use crate::graph::NodeId;
use crate::train::{EpochReport, Snapshot, StepReport, TensorKind, Watched};

/// Weight of the newest loss in the smoothed loss (an exponential moving average).
const SMOOTHING: f64 = 0.05;

/// A point of a series: step (or epoch) and value.
pub type Point = [f64; 2];

/// Points summarised together in a `Trace`'s coarse copy.
const BLOCK: usize = 64;

/// Statistics kept per watched tensor at most: ten a second would otherwise grow without end
/// over a long run. At the limit every other older one goes (as TensorBoard samples its
/// histograms), so the newest stay dense and the whole run stays covered.
const SNAPSHOTS_KEPT: usize = 4096;

/// A series that grows a point at a time, with a coarse copy (each full block of `BLOCK`
/// points as its first, lowest, highest and last) so that drawing a long series scans a
/// sixteenth of it. Reads as the slice of its points.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    points: Vec<Point>,
    summary: Vec<Point>,
}

impl Trace {
    pub fn push(&mut self, point: Point) {
        self.points.push(point);
        if self.points.len().is_multiple_of(BLOCK) {
            let block = &self.points[self.points.len() - BLOCK..];
            push_extremes(block, &mut self.summary);
        }
    }

    /// What `decimate` gives for the whole series, from the coarse copy when the part in view
    /// is long enough for it to lose nothing at `columns` columns.
    pub fn decimated(&self, x_range: (f64, f64), columns: usize) -> Vec<Point> {
        let in_view = self.points.partition_point(|p| p[0] <= x_range.1)
            - self.points.partition_point(|p| p[0] < x_range.0);
        if in_view <= columns.max(1) * BLOCK {
            return decimate(&self.points, x_range, columns);
        }
        let summarised = self.summary.len() / 4 * BLOCK;
        let mut coarse = Vec::with_capacity(self.summary.len() + BLOCK);
        coarse.extend_from_slice(&self.summary);
        coarse.extend_from_slice(&self.points[summarised..]);
        decimate(&coarse, x_range, columns)
    }
}

impl std::ops::Deref for Trace {
    type Target = [Point];

    fn deref(&self) -> &[Point] {
        &self.points
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochPoint {
    /// 1-based epoch, and the step it ended at.
    pub epoch: usize,
    pub step: u64,
    pub train_loss: f32,
    pub train_accuracy: Option<f32>,
    pub validation_loss: Option<f32>,
    pub validation_accuracy: Option<f32>,
}

#[derive(Default)]
pub struct History {
    pub loss: Trace,
    pub smoothed_loss: Trace,
    pub learning_rate: Trace,
    pub grad_norm: Trace,
    pub epochs: Vec<EpochPoint>,
    /// The validation set's confusion matrix after the latest epoch (rows: true class).
    pub confusion: Option<Vec<Vec<u32>>>,
    pub last: Option<StepReport>,
    /// The tensors `stats` follows.
    pub watched: Vec<Watched>,
    /// Per watched tensor, its statistics over time.
    pub stats: Vec<Vec<(u64, TensorStats)>>,
    /// Steps per second over the last second or so.
    rate: Option<(u64, std::time::Instant, f64)>,
    /// Counts changes to the watched tensors and their statistics.
    revision: u64,
    smoothing: Smoothing,
}

/// An exponential moving average debiased as TensorBoard's is: it starts at zero and is divided
/// by the weight its terms have so far, so the first smoothed value is the first loss itself and
/// the early curve is not pulled towards the very first step or towards zero.
#[derive(Default)]
struct Smoothing {
    average: f64,
    weight: f64,
}

impl Smoothing {
    /// The smoothed value after `value`; a NaN or infinite loss is left out, as TensorBoard
    /// leaves it, and gives no point.
    fn add(&mut self, value: f64) -> Option<f64> {
        if !value.is_finite() {
            return None;
        }
        let first = self.weight == 0.0;
        self.average = (1.0 - SMOOTHING) * self.average + SMOOTHING * value;
        self.weight = (1.0 - SMOOTHING) * self.weight + SMOOTHING;
        // The first is the value itself, to the bit: the division can be an ulp off, and a
        // plot of one step whose two lines differ by an ulp has no height to draw.
        Some(if first {
            value
        } else {
            self.average / self.weight
        })
    }
}

impl History {
    /// Starts following `watched` (a new program); earlier statistics stay with their tensors
    /// where the names match.
    pub fn watch(&mut self, watched: Vec<Watched>) {
        let mut stats: Vec<Vec<(u64, TensorStats)>> = Vec::with_capacity(watched.len());
        for w in &watched {
            let kept = self
                .watched
                .iter()
                .position(|old| old.name == w.name && old.kind == w.kind)
                .map(|i| std::mem::take(&mut self.stats[i]))
                .unwrap_or_default();
            stats.push(kept);
        }
        self.watched = watched;
        self.stats = stats;
        self.revision += 1;
    }

    /// Changes whenever the watched tensors or their statistics do: what depends only on them
    /// is worked out again only then.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn last_step(&self) -> u64 {
        self.last.map_or(0, |r| r.step)
    }

    /// Takes in steps that came together (about a thousand a frame at full speed), reading the
    /// clock for the rate once for them all.
    pub fn steps(&mut self, reports: &[StepReport], offset: u64) {
        let Some(last) = reports.last() else {
            return;
        };
        for report in reports {
            let x = (report.step + offset) as f64;
            let loss = f64::from(report.loss);
            self.loss.push([x, loss]);
            if let Some(smoothed) = self.smoothing.add(loss) {
                self.smoothed_loss.push([x, smoothed]);
            }
            self.learning_rate
                .push([x, f64::from(report.learning_rate)]);
            self.grad_norm.push([x, f64::from(report.grad_norm)]);
        }
        let mut report = *last;
        report.step += offset;
        let now = std::time::Instant::now();
        self.rate = match self.rate {
            Some((step, at, rate)) if now.duration_since(at).as_secs_f64() < 1.0 => {
                Some((step, at, rate))
            }
            Some((step, at, _)) => Some((
                report.step,
                now,
                (report.step.saturating_sub(step)) as f64 / now.duration_since(at).as_secs_f64(),
            )),
            None => Some((report.step, now, 0.0)),
        };
        self.last = Some(report);
    }

    /// Steps per second, measured over about a second.
    pub fn steps_per_second(&self) -> f64 {
        self.rate.map_or(0.0, |(_, _, rate)| rate)
    }

    pub fn epoch(&mut self, report: &EpochReport, offset: u64) {
        self.epochs.push(EpochPoint {
            epoch: report.epoch + 1,
            step: self.last.map_or(offset, |r| r.step),
            train_loss: report.train.loss,
            train_accuracy: report.train.accuracy,
            validation_loss: report.validation.as_ref().map(|v| v.loss),
            validation_accuracy: report.validation.as_ref().and_then(|v| v.accuracy),
        });
        if let Some(confusion) = report.validation.as_ref().and_then(|v| v.confusion.clone()) {
            self.confusion = Some(confusion);
        }
    }

    pub fn snapshot(&mut self, snapshot: &Snapshot, offset: u64) {
        for (series, stats) in self.stats.iter_mut().zip(&snapshot.stats) {
            if series.len() >= SNAPSHOTS_KEPT {
                thin(series);
            }
            series.push((snapshot.step + offset, stats.clone()));
        }
        self.revision += 1;
    }

    /// The watched tensors of one kind, with their series.
    pub fn of_kind(
        &self,
        kind: TensorKind,
    ) -> impl Iterator<Item = (&Watched, &Vec<(u64, TensorStats)>)> {
        self.watched
            .iter()
            .zip(&self.stats)
            .filter(move |(w, _)| w.kind == kind)
    }

    /// The latest statistics of a node's tensor of `kind` (its first parameter, for weights).
    pub fn latest(&self, node: NodeId, kind: TensorKind) -> Option<&TensorStats> {
        self.watched
            .iter()
            .zip(&self.stats)
            .find(|(w, _)| w.node == node && w.kind == kind)
            .and_then(|(_, series)| series.last().map(|(_, s)| s))
    }
}

/// Drops every other entry of the older half of `series`.
fn thin<T>(series: &mut Vec<T>) {
    let older = series.len() / 2;
    let mut index = 0;
    series.retain(|_| {
        index += 1;
        index > older || index % 2 == 1
    });
}

/// At most about `columns * 2` points of `points` (sorted by x) within `x_range`: the first,
/// smallest, largest and last point of each column's worth, so spikes survive.
pub fn decimate(points: &[Point], x_range: (f64, f64), columns: usize) -> Vec<Point> {
    let start = points
        .partition_point(|p| p[0] < x_range.0)
        .saturating_sub(1);
    let end = (points.partition_point(|p| p[0] <= x_range.1) + 1).min(points.len());
    let visible = &points[start..end.max(start)];
    let columns = columns.max(1);
    if visible.len() <= columns * 4 {
        return visible.to_vec();
    }
    let per_column = visible.len().div_ceil(columns);
    let mut out = Vec::with_capacity(columns * 4);
    for chunk in visible.chunks(per_column) {
        push_extremes(chunk, &mut out);
    }
    out
}

/// The first, lowest, highest and last points of `chunk`, in order, each once.
fn push_extremes(chunk: &[Point], out: &mut Vec<Point>) {
    let (mut low, mut high) = (0, 0);
    for (i, p) in chunk.iter().enumerate() {
        if p[1] < chunk[low][1] {
            low = i;
        }
        if p[1] > chunk[high][1] {
            high = i;
        }
    }
    let mut picks = [0, low.min(high), low.max(high), chunk.len() - 1];
    picks.sort_unstable();
    let mut previous = None;
    for i in picks {
        if previous != Some(i) {
            out.push(chunk[i]);
            previous = Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smoothed_loss_starts_on_the_data_and_skips_what_is_not_finite() {
        let mut smoothing = Smoothing::default();
        assert_eq!(smoothing.add(2.0), Some(2.0));
        // A running average started at the first value would give 2 - 0.05 = 1.95 here; the
        // debiased one weighs both terms by what they have contributed: (0.95·0.05·2 + 0.05·1)
        // over (0.95·0.05 + 0.05).
        let second = smoothing.add(1.0).unwrap();
        let expected = (0.95 * 0.05 * 2.0 + 0.05) / (0.95 * 0.05 + 0.05);
        assert!((second - expected).abs() < 1e-12, "{second}");
        assert_eq!(smoothing.add(f64::NAN), None);
        // A constant series stays where it is.
        let mut constant = Smoothing::default();
        assert!((0..50).all(|_| (constant.add(0.7).unwrap() - 0.7).abs() < 1e-12));
    }

    #[test]
    fn decimation_keeps_spikes_and_ends_and_bounds_the_count() {
        let mut points: Vec<Point> = (0..1_000_000).map(|i| [i as f64, 1.0]).collect();
        points[123_456][1] = 50.0;
        points[654_321][1] = -7.0;
        let out = decimate(&points, (0.0, 1e6), 500);
        assert!(out.len() <= 2_000, "{}", out.len());
        assert_eq!(out.first(), points.first());
        assert_eq!(out.last(), points.last());
        assert!(out.contains(&[123_456.0, 50.0]));
        assert!(out.contains(&[654_321.0, -7.0]));
        assert!(out.windows(2).all(|w| w[0][0] < w[1][0]), "in order");
    }

    #[test]
    fn a_long_trace_draws_from_its_coarse_copy_with_the_same_extremes() {
        let mut trace = Trace::default();
        for i in 0..1_000_003 {
            let spike = match i {
                123_456 => 50.0,
                654_321 => -7.0,
                _ => (i as f64 * 0.001).sin(),
            };
            trace.push([i as f64, spike]);
        }
        let all = (f64::NEG_INFINITY, f64::INFINITY);
        let coarse = trace.decimated(all, 500);
        let fine = decimate(&trace, all, 500);
        assert!(coarse.len() <= 2_000, "{}", coarse.len());
        assert!(coarse.contains(&[123_456.0, 50.0]) && coarse.contains(&[654_321.0, -7.0]));
        assert_eq!(coarse.first(), fine.first());
        assert_eq!(coarse.last(), fine.last());
        // Zoomed in far enough, every point is there.
        assert_eq!(trace.decimated((10.0, 20.0), 500), trace[9..=21].to_vec());
    }

    #[test]
    fn statistics_kept_over_a_long_run_are_bounded_and_span_it() {
        let watched = Watched {
            node: 1,
            kind: TensorKind::Weight,
            name: "w".into(),
            buffer: 0,
        };
        let mut history = History::default();
        history.watch(vec![watched]);
        let mut words = Vec::new();
        crate::engine::statistics_words(&[1.0], 1, &mut words);
        let stats = TensorStats::from_words(1, &words);
        for step in 1..=100_000 {
            let snapshot = Snapshot {
                step,
                stats: vec![stats.clone()],
            };
            history.snapshot(&snapshot, 0);
        }
        let steps: Vec<u64> = history.stats[0].iter().map(|(s, _)| *s).collect();
        assert!(steps.len() <= SNAPSHOTS_KEPT, "{}", steps.len());
        assert_eq!(steps.first(), Some(&1), "the start of the run");
        assert_eq!(steps.last(), Some(&100_000), "its end");
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "in order");
        // The newest are every step.
        assert_eq!(
            steps[steps.len() - 100..],
            (99_901..=100_000).collect::<Vec<_>>()[..]
        );
    }

    #[test]
    fn decimation_returns_short_or_zoomed_series_whole() {
        let points: Vec<Point> = (0..100).map(|i| [i as f64, i as f64]).collect();
        assert_eq!(decimate(&points, (0.0, 99.0), 500), points);
        // Zoomed in: the visible points and one either side, so lines reach the edges.
        assert_eq!(
            decimate(&points, (10.5, 20.5), 500),
            points[10..=21].to_vec()
        );
    }
}
