//! Path lengths on the QEMU testbed (`run --pathlen`): the TCG plugin (crates/ivc-pathlen) counts
//! the instructions each vCPU executes at each exception level between the guests' markers and
//! writes them beside the capture (`<capture>.pathlen`, ivc_proto::pathlen); this module finds or
//! builds the plugin, and reads and summarises its file.

use anyhow::{bail, Context, Result};
use ivc_proto::capture::Run;
use ivc_proto::pathlen::{self, PathLengths, PerEl};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the plugin writes a run's path lengths: `<capture>.pathlen`.
pub fn sidecar(capture: &Path) -> PathBuf {
    let mut name = capture.file_name().unwrap_or_default().to_os_string();
    name.push(".pathlen");
    capture.with_file_name(name)
}

/// The plugin library: `IVCBENCH_PATHLEN_PLUGIN`, or built from the checkout at `root`.
pub fn plugin(root: &Path) -> Result<PathBuf> {
    if let Ok(p) = std::env::var("IVCBENCH_PATHLEN_PLUGIN") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("{}: no such plugin (IVCBENCH_PATHLEN_PLUGIN)", p.display());
        }
        return Ok(p);
    }
    if !root.join("crates/ivc-pathlen/Cargo.toml").is_file() {
        bail!("the path-length plugin's source (crates/ivc-pathlen) is not under {}: set IVCBENCH_PATHLEN_PLUGIN", root.display());
    }
    let target = root.join("target/pathlen");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "ivc-pathlen", "--target-dir"])
        .arg(&target)
        .current_dir(root)
        .status()
        .context("running cargo to build the path-length plugin")?;
    if !st.success() {
        bail!("building the path-length plugin (crates/ivc-pathlen) failed");
    }
    Ok(target.join("release/libivc_pathlen.so"))
}

/// The QEMU arguments that load the plugin writing to `out`.
pub fn qemu_args(plugin: &Path, out: &Path) -> Result<[String; 2]> {
    let (p, o) = (plugin.display().to_string(), out.display().to_string());
    // QEMU splits -plugin's value at commas.
    if p.contains(',') || o.contains(',') {
        bail!("--pathlen: QEMU cannot take a path with a comma ({p}, {o})");
    }
    // A diagnostic: IVCBENCH_PATHLEN_TRACE=<window> makes the plugin list that window's
    // instructions (vCPU, EL, address) in the file, to read the path against the code.
    let trace = match std::env::var("IVCBENCH_PATHLEN_TRACE") {
        Ok(n) if n.parse::<u64>().is_ok() => format!(",trace={n}"),
        Ok(n) => bail!("IVCBENCH_PATHLEN_TRACE={n}: give a window number"),
        Err(_) => String::new(),
    };
    Ok(["-plugin".into(), format!("file={p},out={o}{trace}")])
}

/// Reads a path-length file.
pub fn load(path: &Path) -> Result<PathLengths> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = std::str::from_utf8(&bytes).with_context(|| format!("{}: not text", path.display()))?;
    pathlen::decode(text).map_err(|(line, e)| anyhow::anyhow!("{}:{line}: {e}", path.display()))
}

/// One side and exception level over the recorded samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub min: u64,
    /// The middle value; of an even count, the lower of the two middle ones (a count that
    /// occurred, not a midpoint).
    pub median: u64,
    pub max: u64,
    /// How many samples had another value than the median.
    pub off_median: usize,
    /// How many windows (a side's missing windows are not counted).
    pub n: usize,
}

fn stat(mut v: Vec<u64>) -> Option<Stat> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let median = v[(v.len() - 1) / 2];
    Some(Stat { min: v[0], median, max: v[v.len() - 1], off_median: v.iter().filter(|&&x| x != median).count(), n: v.len() })
}

/// A notif run's path lengths: per side (tx, rx), the vCPUs it ran on and per EL its statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub samples: usize,
    /// rx never acknowledged (lost samples).
    pub rx_missing: usize,
    pub tx_cpus: Vec<u32>,
    pub rx_cpus: Vec<u32>,
    /// [side][el]: side 0 = tx, 1 = rx; EL1 and EL2 (EL0 and EL3 are in `other`).
    pub el: [[Option<Stat>; 2]; 2],
    /// Instructions at EL0 or EL3 in any window (none expected).
    pub other: u64,
    /// Calibrations: name, vCPU, total instructions.
    pub calibrations: Vec<(String, u32, u64)>,
}

/// The recorded samples' path lengths of a run of one group (warm-ups dropped: the first
/// `warmups` windows).
pub fn table(p: &PathLengths, warmups: usize) -> Table {
    grouped_table(p, warmups, p.samples.len())
}

/// The same over groups of samples: tx runs its warm-ups before each group (one per PMU counter
/// set with `--pmu-events`), so the windows come in groups of `per_group` and the first
/// `warmups` of each are dropped.
fn grouped_table(p: &PathLengths, warmups: usize, per_group: usize) -> Table {
    let recorded: Vec<_> = p.samples.chunks(per_group.max(1)).flat_map(|g| g.get(warmups..).unwrap_or_default()).cloned().collect();
    table_of(&recorded, &p.calibrations)
}

/// The path lengths of `windows`.
fn table_of(windows: &[ivc_proto::pathlen::Sample], calibrations: &[ivc_proto::pathlen::Calibration]) -> Table {
    let rec: Vec<_> = windows.iter().collect();
    let side = |s: &ivc_proto::pathlen::Sample, i: usize| if i == 0 { s.tx } else { s.rx };
    let cpus = |i: usize| {
        let mut c: Vec<u32> = rec.iter().filter_map(|s| side(s, i).map(|x| x.0)).collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let el = |i: usize, e: usize| stat(rec.iter().filter_map(|s| side(s, i).map(|x| x.1[e])).collect());
    let other = rec.iter().flat_map(|s| [s.tx, s.rx]).flatten().map(|(_, c): (u32, PerEl)| c[0] + c[3]).sum();
    Table {
        samples: rec.len(),
        rx_missing: rec.iter().filter(|s| s.rx.is_none()).count(),
        tx_cpus: cpus(0),
        rx_cpus: cpus(1),
        el: [[el(0, 1), el(0, 2)], [el(1, 1), el(1, 2)]],
        other,
        calibrations: calibrations.iter().map(|c| (c.name.clone(), c.cpu, c.counts.iter().sum())).collect(),
    }
}

/// The cost of the instrument that every run has: one read of the measurement counter, in its
/// ticks and ns (tx's header `counter_read_ticks`, the least of 16 back-to-back reads), which each
/// time figure includes about once. `None` for captures made before it was recorded.
pub fn counter_read_line(tx: &Run) -> Option<String> {
    let ticks: u64 = tx.header.get("counter_read_ticks")?.parse().ok()?;
    let ns = ticks as f64 * 1e9 / tx.header.freq_hz.max(1) as f64;
    Some(format!("  instrument: one counter read costs {ticks} ticks ({ns:.0} ns), measured by tx back to back"))
}

/// The summary lines of a run with `--pathlen`, or `None` when it has no path-length file.
pub fn summary(capture: &Path, tx: &Run) -> Result<Option<String>> {
    let file = sidecar(capture);
    if !file.exists() {
        return Ok(None);
    }
    // The plugin writes its first line at the first marker: an empty file means the guests ran
    // none (images built before the markers, e.g. a hand-built bao.bin or seL4 image).
    if std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) == 0 {
        bail!(
            "{}: no path-length marker ran: the guest images carry none (built before ivcbench had them?); regenerate the cell with `ivcbench config` and rebuild the hypervisor's image",
            file.display()
        );
    }
    let p = load(&file)?;
    Ok(Some(match tables(&file, &p, tx)? {
        Tables::Notif(t) => format_table(&t),
        Tables::Transfer(groups) => transfer_summary(&groups, &p),
    }))
}

/// A run's path lengths summarised: notif's one table, or transfer's per (mode, buffer size).
/// `run`'s summary and the report both show these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tables {
    Notif(Box<Table>),
    Transfer(Vec<(String, u64, Table)>),
}

/// The recorded windows of `p` (read from `file`) lined up with tx's run: an error, naming the
/// file, when they cannot be (another run's file, a run cut short).
pub fn tables(file: &Path, p: &PathLengths, tx: &Run) -> Result<Tables> {
    if tx.header.experiment == "transfer" {
        return transfer_tables(file, p, tx).map(Tables::Transfer);
    }
    let (warmups, samples) = (tx.header.warmups as usize, tx.header.samples as usize);
    let groups = tx.groups.len().max(1);
    if p.samples.len() != groups * (warmups + samples) {
        bail!(
            "{}: {} windows, but the capture's {groups} group(s) of {warmups} warm-ups and {samples} samples make {}",
            file.display(),
            p.samples.len(),
            groups * (warmups + samples)
        );
    }
    Ok(Tables::Notif(Box::new(grouped_table(p, warmups, warmups + samples))))
}

/// transfer: one window per chunk; per group (mode, buffer size), the chunks of the recorded
/// samples. A lost sample ends its chunks early, so a group with one cannot be lined up.
pub fn transfer_tables(file: &Path, p: &PathLengths, tx: &Run) -> Result<Vec<(String, u64, Table)>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let per = tx.header.warmups + tx.header.samples;
    for g in &tx.groups {
        let field = |k: &str| g.fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let (Some(mode), Some(buf), Some(total)) = (field("mode"), field("buf"), field("total")) else {
            bail!("{}: a transfer group without mode, buf and total", file.display());
        };
        let (buf, total): (u64, u64) = (buf.parse()?, total.parse()?);
        if !g.lost_at.is_empty() {
            bail!(
                "{}: {mode} {buf}: a lost sample ended its chunks early; the windows cannot be lined up with the samples",
                file.display()
            );
        }
        let chunks = (total / buf.max(1)) as usize;
        let n = per as usize * chunks;
        let Some(windows) = p.samples.get(at..at + n) else {
            bail!("{}: {} windows, fewer than the capture's chunks", file.display(), p.samples.len());
        };
        out.push((mode.to_string(), buf, table_of(&windows[tx.header.warmups as usize * chunks..], &[])));
        at += n;
    }
    if at != p.samples.len() {
        bail!("{}: {} windows, but the capture's groups account for {at}", file.display(), p.samples.len());
    }
    Ok(out)
}

fn transfer_summary(groups: &[(String, u64, Table)], p: &PathLengths) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "  path length (instructions per chunk handed over, counted by the TCG plugin on the emulated testbed; median):");
    for (mode, buf, t) in groups {
        let m = |side: usize, el: usize| t.el[side][el].as_ref().map_or("-".to_string(), |x| x.median.to_string());
        let _ = writeln!(s, "    {mode:<9} {buf:>8} B: tx EL1 {} EL2 {}  rx EL1 {} EL2 {}", m(0, 0), m(0, 1), m(1, 0), m(1, 1));
    }
    let c: Vec<String> = p.calibrations.iter().map(|c| format!("{} {}", c.name, c.counts.iter().sum::<u64>())).collect();
    if !c.is_empty() {
        let _ = writeln!(s, "    instrument (instructions): {}", c.join(", "));
    }
    s
}

fn fmt_stat(s: &Option<Stat>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.off_median == 0 => format!("{}", s.median),
        Some(s) => format!("{} (min {}, max {}, {} off)", s.median, s.min, s.max, s.off_median),
    }
}

/// The path-length lines of a run's summary.
pub fn format_table(t: &Table) -> String {
    let cpus = |c: &[u32]| c.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",");
    let mut s = String::new();
    let _ = writeln!(s, "  path length (instructions per notification, counted by the TCG plugin on the emulated testbed; median, and the spread when not all samples agree):");
    let _ = writeln!(s, "    tx (vCPU {}): EL1 {}  EL2 {}", cpus(&t.tx_cpus), fmt_stat(&t.el[0][0]), fmt_stat(&t.el[0][1]));
    let _ = writeln!(s, "    rx (vCPU {}): EL1 {}  EL2 {}", cpus(&t.rx_cpus), fmt_stat(&t.el[1][0]), fmt_stat(&t.el[1][1]));
    if t.rx_missing != 0 {
        let _ = writeln!(s, "    rx never acknowledged {} of {} windows", t.rx_missing, t.samples);
    }
    if t.other != 0 {
        // None expected from the guests; seL4's VMM is a user-level program (docs/pathlen.md).
        let _ = writeln!(
            s,
            "    EL0/EL3, not in the figures above (a hypervisor's user-level VMM runs at EL0): {} instructions in all windows together",
            t.other
        );
    }
    if !t.calibrations.is_empty() {
        let c: Vec<String> = t.calibrations.iter().map(|(n, _, v)| format!("{n} {v}")).collect();
        let _ = writeln!(s, "    instrument (instructions, included in the figures above where it lies in a window): {}", c.join(", "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ivc_proto::pathlen::{Calibration, Sample};

    #[test]
    fn table_drops_warmups_and_shows_spread() {
        let s = |i, tx: u64, rx: Option<u64>| Sample { index: i, tx: Some((0, [0, tx, 0, 0])), rx: rx.map(|r| (1, [0, r, 7, 0])) };
        let p = PathLengths {
            vcpus: 2,
            samples: vec![s(0, 999, Some(999)), s(1, 10, Some(20)), s(2, 10, Some(20)), s(3, 12, None)],
            calibrations: vec![Calibration { name: "probe".into(), cpu: 0, counts: [0, 1, 0, 0] }],
        };
        let t = table(&p, 1);
        assert_eq!(t.samples, 3);
        assert_eq!(t.rx_missing, 1);
        assert_eq!(t.el[0][0], Some(Stat { min: 10, median: 10, max: 12, off_median: 1, n: 3 }));
        assert_eq!(t.el[1][0], Some(Stat { min: 20, median: 20, max: 20, off_median: 0, n: 2 }));
        assert_eq!(t.el[1][1].as_ref().unwrap().median, 7);
        let text = format_table(&t);
        assert!(text.contains("tx (vCPU 0): EL1 10 (min 10, max 12, 1 off)  EL2 0"), "{text}");
        assert!(text.contains("rx never acknowledged 1 of 3"), "{text}");
        assert!(text.contains("probe 1"), "{text}");
    }

    #[test]
    fn each_group_of_samples_drops_its_own_warmups() {
        // Two PMU counter sets: warm-up, two samples, warm-up, two samples.
        let s = |i, tx: u64| Sample { index: i, tx: Some((0, [0, tx, 0, 0])), rx: Some((1, [0, 20, 0, 0])) };
        let p = PathLengths { vcpus: 2, samples: vec![s(0, 999), s(1, 10), s(2, 10), s(3, 999), s(4, 11), s(5, 11)], calibrations: vec![] };
        let t = grouped_table(&p, 1, 3);
        assert_eq!(t.samples, 4);
        assert_eq!(t.el[0][0], Some(Stat { min: 10, median: 10, max: 11, off_median: 2, n: 4 }));
    }
}
