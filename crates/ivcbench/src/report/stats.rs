//! Order statistics of a set of samples: what every table, export and figure reports.
//!
//! Quantiles (the median included) follow one convention everywhere: linear interpolation
//! between the two nearest order statistics at rank `(n - 1) p` (0-based), which is numpy's and
//! pandas' default, R's type 7 and Excel's PERCENTILE.INC. The median of an even number of samples
//! is then the midpoint of the two middle values (docs/report.md).

use serde::Serialize;

/// Statistics of one set of samples (latencies in ns, or throughputs in MiB/s).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub n: usize,
    pub min: f64,
    /// Quantiles by linear interpolation ([`quantile`]).
    pub median: f64,
    pub mean: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// Sample standard deviation (n - 1); 0 for a single sample.
    pub stddev: f64,
    /// A distribution-free 95% confidence interval of the median (order statistics around n/2,
    /// normal approximation of the binomial); `None` below 6 samples, where it is not defined.
    pub median_ci95: Option<(f64, f64)>,
}

/// The `p` quantile (0 ≤ p ≤ 1) of values in ascending order (not empty), numpy's default:
/// `h = (n - 1) p`, `v[⌊h⌋] + (h - ⌊h⌋) (v[⌊h⌋ + 1] - v[⌊h⌋])`.
pub fn quantile(v: &[f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    match v.get(lo + 1) {
        Some(&next) => v[lo] + (h - lo as f64) * (next - v[lo]),
        None => v[lo],
    }
}

/// Sorts ascending. Samples usually come sorted already (the loader sorts each cell's ticks on its
/// threads) or reversed (throughput falls as ticks rise): those take one pass, not a sort.
pub fn sort(v: &mut [f64]) {
    if v.is_sorted_by(|a, b| a <= b) {
        return;
    }
    if v.is_sorted_by(|a, b| a >= b) {
        v.reverse();
        return;
    }
    v.sort_unstable_by(f64::total_cmp);
}

impl Stats {
    /// `None` for an empty set: there is no statistic of nothing.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stats> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        sort(&mut v);
        Some(Self::of_sorted(&v))
    }

    /// As [`Stats::of`], for values already in ascending order (not empty).
    pub fn of_sorted(v: &[f64]) -> Stats {
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = if n > 1 { v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
        let median_ci95 = (n >= 6).then(|| {
            let half = 1.96 * (n as f64).sqrt() / 2.0;
            let lo = ((n as f64 / 2.0 - half).floor() as usize).clamp(1, n);
            let hi = ((n as f64 / 2.0 + half).ceil() as usize + 1).clamp(1, n);
            (v[lo - 1], v[hi - 1])
        });
        Stats {
            n,
            min: v[0],
            median: quantile(v, 0.5),
            mean,
            p90: quantile(v, 0.90),
            p99: quantile(v, 0.99),
            p999: quantile(v, 0.999),
            max: v[n - 1],
            stddev: var.sqrt(),
            median_ci95,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolated_percentiles() {
        // numpy.percentile(np.arange(1, 1001), [50, 90, 99, 99.9]) = 500.5, 900.1, 990.01, 999.001
        let t = Stats::of((1..=1000).map(f64::from)).unwrap();
        assert_eq!((t.min, t.max, t.mean), (1.0, 1000.0, 500.5));
        for (got, want) in [(t.median, 500.5), (t.p90, 900.1), (t.p99, 990.01), (t.p999, 999.001)] {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        // Sample standard deviation of 1..=1000: sqrt(1000 * 1001 / 12).
        assert!((t.stddev - 288.8194360957494).abs() < 1e-9);
        // Even count: the midpoint (the 200-sample table: 2120 and 2130 in the middle).
        assert_eq!(Stats::of([2130.0, 2000.0, 2120.0, 3000.0]).unwrap().median, 2125.0);
        assert_eq!(Stats::of([7.0]).unwrap().p99, 7.0);
        assert_eq!(Stats::of([7.0]).unwrap().stddev, 0.0);
        assert!(Stats::of([]).is_none());
        assert_eq!(quantile(&[1.0, 2.0], 0.0), 1.0);
        assert_eq!(quantile(&[1.0, 2.0], 1.0), 2.0);
    }

    #[test]
    fn median_interval_brackets_the_median() {
        // n = 100: ranks 40 and 61 (50 -/+ 1.96 * 10 / 2 = 9.8, outward).
        let t = Stats::of((1..=100).map(f64::from)).unwrap();
        assert_eq!(t.median_ci95, Some((40.0, 61.0)));
        assert!(Stats::of((1..=5).map(f64::from)).unwrap().median_ci95.is_none());
    }
}
