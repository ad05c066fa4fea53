//! Step 4 of the workflow: turn captures into statistics, summaries, figures and exports.

pub mod compare;
pub mod dataset;
pub mod export;
pub mod legacy;
pub mod load;
pub mod output;
pub mod pathlen;
pub mod plot;
pub mod pmu;
pub mod stats;
pub mod status;

pub use stats::Stats;

use anyhow::{bail, Context, Result};
use ivc_proto::capture::{Group, Run};
use std::fmt::Write;

/// A column's good samples: as recorded, or (histogram mode) each bucket's samples at the bucket's
/// midpoint, the smallest and largest replaced by the exact extremes, so that order statistics are
/// within `ivc_proto::histogram::REL_ERROR` and min and max exact.
/// A notif column over every group of the run (one group, or one per PMU counter set).
pub fn notif_column(run: &Run, name: &str) -> Option<Vec<u64>> {
    let mut all: Option<Vec<u64>> = None;
    for g in &run.groups {
        if let Some(v) = column(g, &run.header, name) {
            all.get_or_insert_with(Vec::new).extend(v);
        }
    }
    all
}

pub fn column(g: &Group, h: &ivc_proto::capture::Header, name: &str) -> Option<Vec<u64>> {
    let i = h.columns.iter().position(|c| c == name)?;
    if let Some(hist) = g.histograms.get(i) {
        let mut v = Vec::with_capacity(hist.n as usize);
        for &(b, count) in &hist.buckets {
            let (low, width) = ivc_proto::histogram::bounds(b);
            v.extend(std::iter::repeat_n(low + width / 2, count as usize));
        }
        if let Some(first) = v.first_mut() {
            *first = hist.min;
        }
        if let Some(last) = v.last_mut() {
            *last = hist.max;
        }
        return Some(v);
    }
    g.columns.get(i).cloned()
}

/// Converts counter ticks to nanoseconds at the counter frequency the guest reported.
pub fn ticks_to_ns(ticks: u64, freq_hz: u64) -> f64 {
    ticks as f64 * 1e9 / freq_hz as f64
}

/// Throughput of one transfer sample: `bytes` moved in `ticks`.
pub fn mib_per_s(bytes: u64, ticks: u64, freq_hz: u64) -> f64 {
    (bytes as f64 / (1u64 << 20) as f64) / (ticks as f64 / freq_hz as f64)
}

fn size_name(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{}M", bytes >> 20)
    } else {
        format!("{}K", bytes >> 10)
    }
}

fn group_u64(g: &Group, key: &str) -> Result<u64> {
    match g.get(key).map(str::parse::<u64>) {
        Some(Ok(v)) => Ok(v),
        _ => bail!("transfer group without a numeric `{key}` field"),
    }
}

/// `ivcbench summary`: each capture's summary on stdout, each damaged or empty one named on
/// stderr (with what the file starts with when it holds no record at all), and an error counting
/// them, so that the command fails on any damage.
pub fn print_summaries(captures: &[std::path::PathBuf]) -> Result<()> {
    let mut failed = 0;
    for path in captures {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        match ivc_proto::capture::decode(&bytes) {
            Ok(c) => match c.run("tx") {
                Some(tx) => {
                    let on = load::provenance_of(path).describe();
                    print!("{}", summary(tx, &on)?);
                    if let Some(line) = interference(&c) {
                        println!("{line}");
                    }
                    if let Some(t) = crate::pmu::summary(tx, &on) {
                        print!("{t}");
                    }
                    // The path lengths beside it, as `run` printed them; a damaged file is said,
                    // and the latency summary stands.
                    match crate::pathlen::summary(path, tx) {
                        Ok(t) => print!("{}", t.unwrap_or_default()),
                        Err(e) => eprintln!("ivcbench: warning: path lengths left out: {e:#}"),
                    }
                }
                None => {
                    let what = if c.runs.is_empty() { format!("; {}", legacy::file_start(&bytes)) } else { String::new() };
                    eprintln!("ivcbench: {}: no tx run in the capture{what}", path.display());
                    failed += 1;
                }
            },
            Err(e) => {
                eprintln!("ivcbench: {}:{e}", path.display());
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} capture(s) damaged or empty");
    }
    Ok(())
}

/// A plain-text summary of one run of tx; `testbed` says what it ran on (emulated, hardware or
/// unknown). Metric names as in docs/report.md: round trip, one-way, throughput.
pub fn summary(run: &Run, testbed: &str) -> Result<String> {
    let h = &run.header;
    let mut s = String::new();
    writeln!(s, "{}{} on {} ({}), counter {} Hz, {}", h.experiment, h.config, h.hypervisor, h.platform, h.freq_hz, testbed)?;
    match h.experiment.as_str() {
        "notif" => {
            let Some(g) = run.groups.first() else { bail!("notif run without samples") };
            let (Some(rtt), oneway) = (notif_column(run, "rtt"), notif_column(run, "oneway")) else {
                bail!("notif run without an `rtt` column")
            };
            let (rtt, oneway) = (rtt.as_slice(), oneway.as_deref());
            writeln!(s, "  samples {}, lost {}", run.groups.iter().map(|g| g.count).sum::<u64>(), run.lost())?;
            if !g.histograms.is_empty() {
                let bound = ivc_proto::histogram::REL_ERROR * 100.0;
                writeln!(s, "  histogram mode: percentiles within {bound:.1}% (bucket width), min and max exact")?;
            }
            let line = |s: &mut String, name: &str, col: &[u64]| -> Result<()> {
                if let Some(t) = Stats::of(col.iter().map(|&v| ticks_to_ns(v, h.freq_hz))) {
                    writeln!(
                        s,
                        "  {name:<10} ns: min {:>9.0}  median {:>9.0}  mean {:>9.0}  p99 {:>9.0}  max {:>9.0}",
                        t.min, t.median, t.mean, t.p99, t.max
                    )?;
                }
                Ok(())
            };
            line(&mut s, "round trip", rtt)?;
            if let Some(ow) = oneway.filter(|_| h.get("common_counter") == Some("yes")) {
                line(&mut s, "one-way", ow)?;
            }
        }
        "transfer" => {
            for g in &run.groups {
                let (buf, total) = (group_u64(g, "buf")?, group_u64(g, "total")?);
                let Some(ticks) = g.column(h, "ticks") else { bail!("transfer run without a `ticks` column") };
                let t = Stats::of(ticks.iter().map(|&v| mib_per_s(total, v, h.freq_hz)));
                let mode = g.get("mode").unwrap_or("?");
                match t {
                    Some(t) => writeln!(
                        s,
                        "  {mode:<9} buf {:>4}: {} samples, MiB/s min {:>8.1}  median {:>8.1}  max {:>8.1}{}",
                        size_name(buf),
                        g.count,
                        t.min,
                        t.median,
                        t.max,
                        if g.corrupt_at.is_empty() { String::new() } else { format!("  ({} corrupt)", g.corrupt_at.len()) }
                    )?,
                    None => writeln!(s, "  {mode:<9} buf {:>4}: no good sample", size_name(buf))?,
                }
            }
            if let Some(end) = &run.end {
                let f = |k: &str| end.iter().find(|(key, _)| key == k).map_or("?", |(_, v)| v.as_str());
                writeln!(s, "  chunks sent {}, verified by rx {}, bad {}", f("chunks"), f("verified"), f("bad"))?;
            }
        }
        other => bail!("unknown experiment `{other}` in the capture"),
    }
    Ok(s)
}

/// The interference actually applied, from the interferer's own progress records or, where it
/// has no console, from what tx reported of its status page: one summary line, or `None` for a
/// run without an interferer (or without a record of one).
pub fn interference(capture: &ivc_proto::capture::Capture) -> Option<String> {
    let num = |f: &[(String, String)], k: &str| f.iter().find(|(key, _)| key == k).and_then(|(_, v)| v.parse::<u64>().ok());
    let tx = capture.run("tx")?;
    let freq = tx.header.freq_hz;
    let (t0, t1, passes, bytes, how) = match capture.run("interf").filter(|r| r.progress.len() >= 2) {
        Some(r) => {
            let (first, last) = (r.progress.first()?, r.progress.last()?);
            let passes = num(last, "passes")? - num(first, "passes")?;
            (num(first, "t")?, num(last, "t")?, passes, num(last, "bytes")?, "its own reports")
        }
        None => {
            let f = tx.progress.iter().rev().find(|f| num(f, "interf_passes").is_some())?;
            (num(f, "interf_t0")?, num(f, "interf_t")?, num(f, "interf_passes")?, num(f, "interf_bytes")?, "its status page, read by tx")
        }
    };
    let secs = t1.checked_sub(t0)? as f64 / freq as f64;
    if secs <= 0.0 {
        return Some(format!("  interferer: {passes} passes of {} (from {how}), too short to rate", size_name(bytes)));
    }
    let rate = (passes * bytes) as f64 / secs / (1u64 << 20) as f64;
    Some(format!("  interferer: {passes} passes over {} in {secs:.3} s, {rate:.0} MiB/s swept (from {how})", size_name(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(ticks_to_ns(625, 62_500_000), 10_000.0);
        assert_eq!(mib_per_s(16 << 20, 100_000_000, 100_000_000), 16.0);
        assert_eq!(size_name(4096), "4K");
        assert_eq!(size_name(16 << 20), "16M");
    }
}
