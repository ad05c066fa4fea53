//! Order statistics of a set of samples: what every table, export and figure reports.

use serde::Serialize;

/// Statistics of one set of samples (latencies in ns, or throughputs in MiB/s).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub n: usize,
    pub min: f64,
    /// Percentiles are nearest-rank: always a value that was measured.
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

impl Stats {
    /// `None` for an empty set: there is no statistic of nothing.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stats> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable_by(f64::total_cmp);
        Some(Self::of_sorted(&v))
    }

    /// As [`Stats::of`], for values already in ascending order (not empty).
    pub fn of_sorted(v: &[f64]) -> Stats {
        let n = v.len();
        let rank = |p: f64| v[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
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
            median: rank(0.5),
            mean,
            p90: rank(0.90),
            p99: rank(0.99),
            p999: rank(0.999),
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
    fn nearest_rank_percentiles() {
        let t = Stats::of((1..=1000).map(f64::from)).unwrap();
        assert_eq!((t.min, t.median, t.p90, t.p99, t.p999, t.max), (1.0, 500.0, 900.0, 990.0, 999.0, 1000.0));
        assert_eq!(t.mean, 500.5);
        // Sample standard deviation of 1..=1000: sqrt(1000 * 1001 / 12).
        assert!((t.stddev - 288.8194360957494).abs() < 1e-9);
        assert_eq!(Stats::of([7.0]).unwrap().p99, 7.0);
        assert_eq!(Stats::of([7.0]).unwrap().stddev, 0.0);
        assert!(Stats::of([]).is_none());
    }

    #[test]
    fn median_interval_brackets_the_median() {
        // n = 100: ranks 40 and 61 (50 -/+ 1.96 * 10 / 2 = 9.8, outward).
        let t = Stats::of((1..=100).map(f64::from)).unwrap();
        assert_eq!(t.median_ci95, Some((40.0, 61.0)));
        assert!(Stats::of((1..=5).map(f64::from)).unwrap().median_ci95.is_none());
    }
}
