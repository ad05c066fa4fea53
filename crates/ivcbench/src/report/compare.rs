//! Comparing two sets of samples, as the seed's figures are read: does `+col` recover what
//! `+interf` lost, is A faster than B, did a new version regress. Per metric (and, for transfer,
//! per mode and buffer size): the difference of medians and of p99 with a bootstrap confidence
//! interval, the Mann-Whitney rank test's p-value, Cliff's delta as the effect size, and a verdict
//! in words. The methods are stated in docs/report.md.

use super::dataset::{Cell, CellData, NotifData, Origin, Provenance, TransferSeries};
use super::export::{configuration_name, Key};
use super::load::{self, LoadOptions};
use super::stats::quantile;
use crate::names::Suffix;
use anyhow::{anyhow, bail, Context, Result};
use ivc_proto::params::Experiment;
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 2000;
/// Significance level of the verdicts (intervals are 1 - ALPHA).
pub const ALPHA: f64 = 0.05;

/// One set of samples of a cell: a metric (and mode, buffer size) in display units.
#[derive(Clone, Debug)]
pub struct Series {
    pub key: Key,
    /// Ascending.
    pub values: Vec<f64>,
    pub provenance: &'static str,
}

impl Series {
    /// Lower is better for times, higher for throughput.
    fn higher_is_better(&self) -> bool {
        self.key.metric == "throughput"
    }
    /// What the series is within its cell: `round trip`, `throughput polling 4K`.
    pub fn what(&self) -> String {
        let mut s = super::export::metric_label(self.key.metric).to_string();
        if let Some(m) = &self.key.mode {
            let _ = write!(s, " {m}");
        }
        if let Some(b) = self.key.buffer {
            let _ = write!(s, " {}", super::size_name(b));
        }
        s
    }
    fn same_kind(&self, o: &Series) -> bool {
        // The artifact's irqlat and ivcbench's round trip are compared (the seed's notification
        // figure puts them on one axis); the rows say which is which.
        fn m(x: &str) -> &str {
            if x == "irqlat" {
                "round_trip"
            } else {
                x
            }
        }
        self.key.experiment == o.key.experiment
            && m(self.key.metric) == m(o.key.metric)
            && self.key.mode == o.key.mode
            && self.key.buffer == o.key.buffer
    }
}

/// Every series of a cell, in the report's units (ns, MiB/s).
pub fn series(cell: &Cell) -> Vec<Series> {
    let base = |key: Key, values: Vec<f64>| {
        let mut values = values;
        super::stats::sort(&mut values);
        Series { key, values, provenance: cell.provenance.name() }
    };
    let mut out = Vec::new();
    match &cell.data {
        CellData::Notif(d) => {
            let metric = if cell.origin == Origin::Legacy { "irqlat" } else { "round_trip" };
            out.push(base(Key::of(cell, metric, "ns"), d.latency.iter().map(|&t| cell.ticks_to_ns(t)).collect()));
            if let Some(ow) = &d.oneway {
                out.push(base(Key::of(cell, "one_way", "ns"), ow.iter().map(|&t| cell.ticks_to_ns(t)).collect()));
            }
        }
        CellData::Transfer(ts) => {
            for t in ts {
                let v = t.ticks.iter().filter(|&&k| k > 0).map(|&k| super::mib_per_s(t.total, k, cell.freq_hz)).collect();
                out.push(base(Key::of(cell, "throughput", "MiB/s").in_group(&t.mode, t.buf), v));
            }
        }
    }
    out.retain(|s| !s.values.is_empty());
    out
}

/// B against A for one series.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub experiment: &'static str,
    /// `hypervisor configuration` of each side (or the file compared).
    pub a: String,
    pub b: String,
    /// The series, as [`Series::what`] says it.
    pub what: String,
    pub unit: &'static str,
    pub n_a: usize,
    pub n_b: usize,
    pub median_a: f64,
    pub median_b: f64,
    /// (B - A) / A of the medians, in %, and its bootstrap interval.
    pub median_change_pct: f64,
    pub median_ci_pct: (f64, f64),
    pub p99_a: f64,
    pub p99_b: f64,
    pub p99_change_pct: f64,
    pub p99_ci_pct: (f64, f64),
    /// Mann-Whitney U test, two-sided (normal approximation with tie and continuity correction).
    pub p_value: f64,
    /// Cliff's delta, P(B > A) - P(B < A), in [-1, 1], and its usual reading.
    pub cliffs_delta: f64,
    pub effect: &'static str,
    /// `faster by 24% [19%, 28%]`, `slower by ...` or `no difference at 95%`.
    pub verdict: String,
    /// How much worse B is than A (median, in %) when the verdict is `slower`; else 0.
    pub slower_pct: f64,
    pub provenance: String,
}

/// A deterministic generator (SplitMix64): the same inputs give the same intervals.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// Standard normal, Marsaglia's polar method (no trigonometry).
    fn normal(&mut self) -> f64 {
        loop {
            let (u, v) = (2.0 * self.unit() - 1.0, 2.0 * self.unit() - 1.0);
            let s = u * u + v * v;
            if s < 1.0 && s > 0.0 {
                return u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }
    /// Gamma(shape >= 1, 1), Marsaglia and Tsang's method.
    fn gamma(&mut self, shape: f64) -> f64 {
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.unit();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
    fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        x / (x + self.gamma(b))
    }
}

/// The `q` quantile of a bootstrap resample of sorted `v` (n draws with replacement), drawn
/// without building the resample: its k-th smallest draw is `v[⌊n U(k)⌋]` where U(k), the k-th
/// smallest of n uniforms, is Beta(k, n + 1 - k), and the next one is U(k) plus the smallest of
/// the n - k uniforms above it. Exact, and O(1) per resample however many samples there are.
fn resampled_quantile(v: &[f64], q: f64, rng: &mut Rng) -> f64 {
    let n = v.len();
    let h = (n - 1) as f64 * q;
    let lo = h.floor() as usize;
    let frac = h - lo as f64;
    let k = lo + 1; // 1-based rank of the lower order statistic
    let uk = rng.beta(k as f64, (n + 1 - k) as f64);
    let at = |u: f64| v[((n as f64 * u) as usize).min(n - 1)];
    let x = at(uk);
    if frac == 0.0 || k == n {
        return x;
    }
    let next = uk + (1.0 - uk) * (1.0 - rng.unit().powf(1.0 / (n - k) as f64));
    x + frac * (at(next) - x)
}

/// Percentile bootstrap interval of (q(B) - q(A)) / q(A), in %.
fn bootstrap_change(a: &[f64], b: &[f64], q: f64, rng: &mut Rng) -> (f64, f64) {
    let mut d: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let (qa, qb) = (resampled_quantile(a, q, rng), resampled_quantile(b, q, rng));
            100.0 * (qb - qa) / qa
        })
        .filter(|x| x.is_finite())
        .collect();
    if d.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    d.sort_unstable_by(f64::total_cmp);
    (quantile(&d, ALPHA / 2.0), quantile(&d, 1.0 - ALPHA / 2.0))
}

/// The complementary error function (W. J. Cody's rational approximations are overkill here:
/// this is Numerical Recipes' erfc, fractional error below 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Mann-Whitney U of sorted `a` and `b`: (U of A, i.e. pairs with a > b plus half the ties;
/// two-sided p-value by the normal approximation with tie and continuity corrections, as scipy's
/// `mannwhitneyu(method="asymptotic")`).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (na, nb) = (a.len(), b.len());
    let n = (na + nb) as f64;
    // Merge, giving tied values their average rank.
    let (mut i, mut j) = (0, 0);
    let (mut rank_sum_a, mut ties) = (0.0, 0.0);
    let mut next_rank = 1.0;
    while i < na || j < nb {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => unreachable!(),
        };
        let (i0, j0) = (i, j);
        while a.get(i) == Some(&x) {
            i += 1;
        }
        while b.get(j) == Some(&x) {
            j += 1;
        }
        let t = (i - i0 + j - j0) as f64;
        let avg = next_rank + (t - 1.0) / 2.0;
        rank_sum_a += avg * (i - i0) as f64;
        ties += t * t * t - t;
        next_rank += t;
    }
    let u_a = rank_sum_a - (na * (na + 1)) as f64 / 2.0;
    let mean = (na * nb) as f64 / 2.0;
    let var = (na * nb) as f64 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if var <= 0.0 {
        return (u_a, 1.0);
    }
    let z = ((u_a - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (u_a, erfc(z / std::f64::consts::SQRT_2).min(1.0))
}

fn effect_name(d: f64) -> &'static str {
    // Romano et al.'s thresholds for Cliff's delta.
    match d.abs() {
        x if x < 0.147 => "negligible",
        x if x < 0.33 => "small",
        x if x < 0.474 => "medium",
        _ => "large",
    }
}

/// B against A. `label_a` and `label_b` name the sides in the output.
pub fn compare(a: &Series, b: &Series, label_a: &str, label_b: &str) -> Comparison {
    let mut rng = Rng(0x1cbe_7c4a_5e5f_0001 ^ (a.values.len() as u64) << 20 ^ b.values.len() as u64);
    let (va, vb) = (&a.values, &b.values);
    let (ma, mb) = (quantile(va, 0.5), quantile(vb, 0.5));
    let (pa, pb) = (quantile(va, 0.99), quantile(vb, 0.99));
    let change = |x: f64, y: f64| 100.0 * (y - x) / x;
    let median_ci = bootstrap_change(va, vb, 0.5, &mut rng);
    let p99_ci = bootstrap_change(va, vb, 0.99, &mut rng);
    let (u_a, p) = mann_whitney(va, vb);
    let cliffs = 1.0 - 2.0 * u_a / (va.len() * vb.len()) as f64;
    let median_change = change(ma, mb);
    // Significant when the interval of the median's change excludes 0 and the rank test agrees.
    let significant = p < ALPHA && (median_ci.0 > 0.0 || median_ci.1 < 0.0);
    let better = (median_change > 0.0) == a.higher_is_better();
    let (verdict, slower) = if !significant {
        (format!("no difference at {:.0}%", 100.0 * (1.0 - ALPHA)), 0.0)
    } else {
        let (lo, hi) = (median_ci.0.abs().min(median_ci.1.abs()), median_ci.0.abs().max(median_ci.1.abs()));
        let word = if better { "faster" } else { "slower" };
        (format!("{word} by {}% [{}%, {}%]", pct(median_change.abs()), pct(lo), pct(hi)), if better { 0.0 } else { median_change.abs() })
    };
    let provenance = if a.provenance == b.provenance { a.provenance.to_string() } else { format!("{} vs {}", a.provenance, b.provenance) };
    Comparison {
        experiment: a.key.experiment,
        a: label_a.to_string(),
        b: label_b.to_string(),
        what: a.what(),
        unit: a.key.unit,
        n_a: va.len(),
        n_b: vb.len(),
        median_a: ma,
        median_b: mb,
        median_change_pct: median_change,
        median_ci_pct: median_ci,
        p99_a: pa,
        p99_b: pb,
        p99_change_pct: change(pa, pb),
        p99_ci_pct: p99_ci,
        p_value: p,
        cliffs_delta: cliffs,
        effect: effect_name(cliffs),
        verdict,
        slower_pct: slower,
        provenance,
    }
}

/// The report's comparisons: each configuration against the one it adds to, per hypervisor and
/// experiment (`+interf` vs base, `+interf+col` vs `+interf`, `+interf+col+hypcol` vs
/// `+interf+col`, `+col` vs base).
pub fn against_base(cells: &[Cell]) -> Vec<Comparison> {
    const PAIRS: [(&str, &str); 4] =
        [("base", "+interf"), ("+interf", "+interf+col"), ("+interf+col", "+interf+col+hypcol"), ("base", "+col")];
    let whole: Vec<&Cell> = cells.iter().filter(|c| c.damage.is_empty()).collect();
    let mut out = Vec::new();
    // Two cells' samples at a time, so that memory does not hold a copy of every cell's.
    for x in &whole {
        for (from, to) in PAIRS {
            if configuration_name(x) != from {
                continue;
            }
            let found = whole.iter().find(|y| y.experiment == x.experiment && y.hypervisor == x.hypervisor && configuration_name(y) == to);
            let Some(y) = found else { continue };
            let (sx, sy) = (series(x), series(y));
            for a in &sx {
                if let Some(b) = sy.iter().find(|b| a.same_kind(b)) {
                    out.push(compare(a, b, &format!("{} {from}", x.hypervisor), &format!("{} {to}", y.hypervisor)));
                }
            }
        }
    }
    out
}

/// One side of `ivcbench compare`: a capture file (its parent directory names the experiment), a
/// captures directory (holding `notif/`, `transfer/`), or a report directory whose report.json
/// was written with `--raw`.
pub fn load_side(path: &Path, opts: &LoadOptions) -> Result<Vec<Series>> {
    if path.is_file() {
        let experiment = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).and_then(Experiment::from_name);
        let Some(experiment) = experiment else {
            bail!("{}: cannot tell its experiment: a capture lives in a `notif/` or `transfer/` directory", path.display());
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        // A kept copy (`xen.1`) or any other name: compared as it is.
        let (hyp, suffix) = load::parse_name(name).unwrap_or((name.to_string(), Suffix::default()));
        let cell = load::load_file(experiment, &hyp, suffix, path, opts)?;
        if let Some(d) = cell.damage.first() {
            bail!("{}:{d}", path.display());
        }
        return Ok(series(&cell));
    }
    if path.join("notif").is_dir() || path.join("transfer").is_dir() {
        let loaded = load::load_dir(path, opts)?;
        return Ok(loaded.cells.iter().filter(|c| c.damage.is_empty()).flat_map(series).collect());
    }
    let json = path.join("report.json");
    let text = std::fs::read(&json).map_err(|_| {
        anyhow!("{}: neither a capture, nor a captures directory (notif/, transfer/), nor a report directory (report.json)", path.display())
    })?;
    let doc: serde_json::Value = serde_json::from_slice(&text).with_context(|| format!("{}: not JSON", json.display()))?;
    let Some(samples) = doc["samples"].as_array() else {
        bail!("{}: has no samples: write the report with `--raw` to compare it", json.display());
    };
    samples
        .iter()
        .map(|c| raw_cell(c).with_context(|| format!("{}: a sample set", json.display())))
        .collect::<Result<Vec<Cell>>>()
        .map(|cells| cells.iter().flat_map(series).collect())
}

/// A cell back from report.json's raw samples (`--raw`).
fn raw_cell(v: &serde_json::Value) -> Result<Cell> {
    let s = |k: &str| v[k].as_str().ok_or_else(|| anyhow!("no `{k}`"));
    let ticks = |x: &serde_json::Value| -> Option<Vec<u64>> { x.as_array()?.iter().map(|t| t.as_u64()).collect() };
    let experiment = Experiment::from_name(s("experiment")?).ok_or_else(|| anyhow!("bad experiment"))?;
    let configuration = s("configuration")?;
    let suffix = if configuration == "base" { Suffix::default() } else { Suffix::parse(configuration)? };
    let provenance = match v["provenance"].as_str() {
        Some("emulated") => Provenance::Emulated { testbed: "emulated".into() },
        Some("hardware") => Provenance::Hardware { how: "as report.json says".into() },
        _ => Provenance::Unknown,
    };
    let data = match experiment {
        Experiment::Notif => CellData::Notif(NotifData {
            latency: ticks(&v["latency"]).ok_or_else(|| anyhow!("no `latency`"))?,
            oneway: ticks(&v["oneway"]),
            ..NotifData::default()
        }),
        Experiment::Transfer => CellData::Transfer(
            v["transfer"]
                .as_array()
                .ok_or_else(|| anyhow!("no `transfer`"))?
                .iter()
                .map(|t| {
                    Some(TransferSeries {
                        mode: t[0].as_str()?.to_string(),
                        buf: t[1].as_u64()?,
                        total: t[2].as_u64()?,
                        ticks: ticks(&t[3])?,
                        ..TransferSeries::default()
                    })
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| anyhow!("bad `transfer`"))?,
        ),
    };
    Ok(Cell {
        experiment,
        hypervisor: s("hypervisor")?.to_string(),
        suffix,
        path: PathBuf::from(s("source")?),
        origin: if v["metric"].as_str() == Some("irqlat") {
            Origin::Legacy
        } else {
            Origin::Ivcbench { build: String::new(), platform: String::new() }
        },
        provenance,
        freq_hz: v["freq_hz"].as_u64().filter(|&f| f > 0).ok_or_else(|| anyhow!("no `freq_hz`"))?,
        data,
        damage: Vec::new(),
        notes: Vec::new(),
        text: Default::default(),
        interference: None,
        pathlen: None,
    })
}

/// `ivcbench compare A B`: two captures are compared series by series whatever their cells; two
/// directories cell by cell (same hypervisor and configuration).
pub fn compare_paths(a: &Path, b: &Path, opts: &LoadOptions) -> Result<Vec<Comparison>> {
    let (sa, sb) = (load_side(a, opts)?, load_side(b, opts)?);
    let rows = if a.is_file() && b.is_file() {
        sa.iter()
            .filter_map(|x| {
                let y = sb.iter().find(|y| x.same_kind(y))?;
                Some(compare(x, y, &a.display().to_string(), &b.display().to_string()))
            })
            .collect()
    } else {
        let la = |s: &Series| format!("{}: {} {}", a.display(), s.key.hypervisor, s.key.configuration);
        let lb = |s: &Series| format!("{}: {} {}", b.display(), s.key.hypervisor, s.key.configuration);
        sa.iter()
            .filter_map(|x| {
                let y = sb
                    .iter()
                    .find(|y| y.key.hypervisor == x.key.hypervisor && y.key.configuration == x.key.configuration && x.same_kind(y))?;
                Some(compare(x, y, &la(x), &lb(y)))
            })
            .collect::<Vec<_>>()
    };
    if rows.is_empty() {
        bail!(
            "{} and {} have nothing in common to compare (same experiment and metric; for directories, same cells)",
            a.display(),
            b.display()
        );
    }
    Ok(rows)
}

fn fmt_value(v: f64, unit: &str) -> String {
    if unit == "ns" {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A percentage with one decimal, or two significant digits below 0.1% (deterministic emulated
/// runs tell 0.02% apart, and "0.0%" would hide it).
fn pct(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.1 {
        let digits = (1 - x.abs().log10().floor() as i32).clamp(1, 9) as usize;
        format!("{x:.digits$}")
    } else {
        format!("{x:.1}")
    }
}

fn signed_pct(x: f64) -> String {
    if x >= 0.0 {
        format!("+{}", pct(x))
    } else {
        pct(x)
    }
}

fn fmt_ci(c: (f64, f64)) -> String {
    format!("[{}%, {}%]", signed_pct(c.0), signed_pct(c.1))
}

/// The normal approximation is not meaningful below about 1e-16.
fn fmt_p(p: f64) -> String {
    if p < 1e-16 {
        "< 1e-16".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// `ivcbench compare`: the table, a verdict per row, the JSON if asked, and the regression gate
/// (an error when B is slower than A beyond chance by more than `fail_if_slower` percent).
pub fn command(a: &Path, b: &Path, opts: &LoadOptions, json: Option<&Path>, fail_if_slower: Option<f64>) -> Result<()> {
    let rows = compare_paths(a, b, opts)?;
    print!("{}", to_markdown(&rows));
    println!();
    for r in &rows {
        println!("{} vs {}, {}: {} ({})", r.b, r.a, r.what, r.verdict, r.provenance);
    }
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(&rows)? + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(pct) = fail_if_slower {
        let slower: Vec<String> =
            rows.iter().filter(|r| r.slower_pct > pct).map(|r| format!("{} ({}: {})", r.what, r.b, r.verdict)).collect();
        if !slower.is_empty() {
            bail!("slower than the reference by more than {pct}%: {}", slower.join("; "));
        }
    }
    Ok(())
}

/// A Markdown table of comparisons (the same columns for `compare` and the report).
pub fn to_markdown(rows: &[Comparison]) -> String {
    let mut s = String::from(
        "| B vs A | what | n (A, B) | median A → B | change (95% CI) | p99 A → B | p99 change (95% CI) | Mann-Whitney p | Cliff's δ | verdict (B) | provenance |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} vs {} | {} ({}) | {}, {} | {} → {} | {}% {} | {} → {} | {}% {} | {} | {:+.2} ({}) | {} | {} |",
            r.b,
            r.a,
            r.what,
            r.unit,
            r.n_a,
            r.n_b,
            fmt_value(r.median_a, r.unit),
            fmt_value(r.median_b, r.unit),
            signed_pct(r.median_change_pct),
            fmt_ci(r.median_ci_pct),
            fmt_value(r.p99_a, r.unit),
            fmt_value(r.p99_b, r.unit),
            signed_pct(r.p99_change_pct),
            fmt_ci(r.p99_ci_pct),
            fmt_p(r.p_value),
            r.cliffs_delta,
            r.effect,
            r.verdict,
            r.provenance
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        // erfc(0) = 1, erfc(1) = 0.157299207, erfc(2) = 0.004677735, erfc(-1) = 1.842700793.
        for (x, want) in [(0.0, 1.0), (1.0, 0.157_299_207), (2.0, 0.004_677_735), (-1.0, 1.842_700_793)] {
            assert!((erfc(x) - want).abs() < 2e-7 * want.max(1e-3), "erfc({x}) = {}", erfc(x));
        }
    }

    #[test]
    fn mann_whitney_agrees_with_scipy() {
        // scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic",
        // use_continuity=True) on these (ties included): U = 18.0, p = 0.009822508347239642.
        let mut a = [5.0, 7.0, 7.0, 9.0, 12.0, 3.0, 8.0, 8.0, 10.0, 6.0];
        let mut b = [9.0, 11.0, 7.0, 13.0, 12.0, 15.0, 10.0, 9.0, 14.0, 8.0, 16.0];
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let (u, p) = mann_whitney(&a, &b);
        assert_eq!(u, 18.0);
        assert!((p - 0.009_822_508_347_239_642).abs() < 1e-8, "{p}");
        let (u, p) = mann_whitney(&a, &a);
        assert_eq!((u, p), (50.0, 1.0));
    }

    #[test]
    fn percentages_keep_small_differences_visible() {
        assert_eq!(
            (pct(24.04), pct(0.0), pct(0.0234), pct(-0.0049), signed_pct(1.25)),
            ("24.0".into(), "0.0".into(), "0.023".into(), "-0.0049".into(), "+1.2".into())
        );
        assert_eq!((fmt_p(1.8e-315), fmt_p(5.6e-5), fmt_p(0.25)), ("< 1e-16".into(), "5.6e-5".into(), "0.2500".into()));
    }

    #[test]
    fn beta_sampler_has_the_right_mean() {
        let mut r = Rng(7);
        let n = 20_000;
        let m = (0..n).map(|_| r.beta(3.0, 7.0)).sum::<f64>() / n as f64;
        assert!((m - 0.3).abs() < 0.005, "{m}");
    }
}
