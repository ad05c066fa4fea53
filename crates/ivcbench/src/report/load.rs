//! Reading a captures directory (`<experiment>/<hypervisor><suffix>`) into cells: ivcbench's own
//! captures and the artifact's tables alike, files read two at a time.

use super::dataset::{Cell, CellData, ColumnSummary, NotifData, Origin, Provenance, TextLines, TransferSeries};
use super::legacy;
use crate::names::Suffix;
use anyhow::{anyhow, bail, Context, Result};
use ivc_proto::capture::{self, Capture, TAG};
use ivc_proto::params::Experiment;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Counter frequency of the artifact's tables, which do not carry it (its boards: 100 MHz).
    pub legacy_freq_hz: u64,
    /// Keep damaged cells (marked) instead of failing on the first damage.
    pub lenient: bool,
    /// The user says the artifact's tables were measured on hardware (`--origin hardware`); they
    /// record nothing themselves, so without it their provenance is unknown.
    pub hardware_tables: bool,
    /// Keep the samples in the order they were taken (for `--raw` exports); otherwise the loader
    /// sorts them on its threads, which every statistic, comparison and figure needs anyway.
    pub keep_order: bool,
}

/// Cells found, and files that are not captures (with the reason), for warnings.
#[derive(Debug, Default)]
pub struct Loaded {
    pub cells: Vec<Cell>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// `xen+interf-col` → (`xen`, `+interf+col`). The artifact's `interf-col` spelling is an alias.
pub fn parse_name(name: &str) -> Result<(String, Suffix)> {
    let (hyp, rest) = name.split_at(name.find('+').unwrap_or(name.len()));
    if hyp.is_empty() || !hyp.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("`{name}` is not <hypervisor><suffix>");
    }
    Ok((hyp.to_string(), Suffix::parse(rest)?))
}

/// Every capture under `root/notif` and `root/transfer`.
pub fn load_dir(root: &Path, opts: &LoadOptions) -> Result<Loaded> {
    if !root.is_dir() {
        bail!("{}: no such directory (captures live in <dir>/notif and <dir>/transfer)", root.display());
    }
    let mut files = Vec::new();
    let mut loaded = Loaded::default();
    for exp in [Experiment::Notif, Experiment::Transfer] {
        let dir = root.join(exp.name());
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
        names.sort();
        for path in names {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // Metadata, scripts and editor files live beside the captures.
            if name.starts_with('.') || name.contains('.') {
                continue;
            }
            match parse_name(name) {
                Ok((hyp, suffix)) => files.push((exp, hyp, suffix, path)),
                Err(e) => loaded.skipped.push((path, e.to_string())),
            }
        }
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Cell>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                // One buffer per thread, reused: a fresh one per file costs the kernel as much
                // zeroing new pages as the parser spends reading them.
                let mut buf = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((exp, hyp, suffix, path)) = files.get(i) else { break };
                    let mut cell = read_into(path, &mut buf).and_then(|()| load_bytes(*exp, hyp, *suffix, path, &buf, opts));
                    if let (Ok(c), false) = (&mut cell, opts.keep_order) {
                        sort_samples(c);
                    }
                    results.lock().expect("no reader panicked").push((i, cell));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("no reader panicked");
    results.sort_by_key(|(i, _)| *i);
    for (_, cell) in results {
        loaded.cells.push(cell?);
    }
    Ok(loaded)
}

/// Sorts every sample set of a cell (ascending ticks).
fn sort_samples(cell: &mut Cell) {
    match &mut cell.data {
        CellData::Notif(d) => {
            d.latency.sort_unstable();
            if let Some(o) = &mut d.oneway {
                o.sort_unstable();
            }
        }
        CellData::Transfer(ts) => ts.iter_mut().for_each(|t| t.ticks.sort_unstable()),
    }
}

/// One capture file, whichever format it is in.
pub fn load_file(experiment: Experiment, hypervisor: &str, suffix: Suffix, path: &Path, opts: &LoadOptions) -> Result<Cell> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    load_bytes(experiment, hypervisor, suffix, path, &bytes, opts)
}

/// Reads a whole file into `buf`, reusing its allocation.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<()> {
    use std::io::Read;
    buf.clear();
    std::fs::File::open(path).and_then(|mut f| f.read_to_end(buf)).with_context(|| format!("reading {}", path.display()))?;
    Ok(())
}

/// One capture's bytes, whichever format they are in.
fn load_bytes(experiment: Experiment, hypervisor: &str, suffix: Suffix, path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Cell> {
    let mut cell = Cell {
        experiment,
        hypervisor: hypervisor.to_string(),
        suffix,
        path: path.to_path_buf(),
        origin: Origin::Legacy,
        provenance: provenance_of(path),
        freq_hz: opts.legacy_freq_hz,
        data: CellData::Notif(NotifData::default()),
        damage: Vec::new(),
        notes: Vec::new(),
        text: TextLines::default(),
        interference: None,
        pathlen: None,
    };
    if contains_tag(bytes) {
        let capture = capture::decode_lenient(bytes);
        from_ivcbench(&mut cell, &capture)?;
        cell.interference = super::interference(&capture).map(|l| l.trim().trim_start_matches("interferer: ").to_string());
        cell.text = console_text(bytes);
        if let (false, Some(first)) = (opts.lenient, cell.damage.first()) {
            bail!("{}:{first}", path.display());
        }
    } else {
        if opts.hardware_tables {
            cell.provenance = Provenance::Hardware { how: "the user says so: --origin hardware".into() };
        }
        let problems = match experiment {
            Experiment::Notif => {
                let (data, problems) = legacy(bytes, path, opts.lenient, legacy::parse_notif, legacy::parse_notif_lenient)?;
                cell.text = data.text;
                cell.data = CellData::Notif(data);
                problems
            }
            Experiment::Transfer => {
                let (data, problems) = legacy(bytes, path, opts.lenient, legacy::parse_transfer, legacy::parse_transfer_lenient)?;
                cell.text = data.text;
                cell.data = CellData::Transfer(data.series);
                problems
            }
        };
        cell.damage.extend(problems.iter().map(|p| p.to_string()));
    }
    if cell.freq_hz == 0 {
        bail!("{}: counter frequency is 0", path.display());
    }
    Ok(cell)
}

/// Lines of an ivcbench capture that are not records (boot output, the prompt, other VMs).
fn console_text(bytes: &[u8]) -> TextLines {
    let mut t = TextLines::default();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if !line.trim_ascii().is_empty() && !line.windows(TAG.len()).any(|w| w == TAG.as_bytes()) {
            t.add(i + 1);
        }
    }
    t
}

/// Whether a file holds ivcbench records (a SIMD substring search: this reads every byte of
/// the artifact's large tables).
fn contains_tag(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, TAG.as_bytes()).is_some()
}

/// An artifact table, strictly (the first problem is an error naming file and line) or leniently.
fn legacy<T>(
    bytes: &[u8],
    path: &Path,
    lenient: bool,
    strict: fn(&[u8]) -> Result<T, legacy::LegacyError>,
    loose: fn(&[u8]) -> (T, Vec<legacy::LegacyError>),
) -> Result<(T, Vec<legacy::LegacyError>)> {
    if lenient {
        return Ok(loose(bytes));
    }
    Ok((strict(bytes).map_err(|e| anyhow!("{}:{e}", path.display()))?, Vec::new()))
}

/// tx's run of an ivcbench capture: the last complete one (a guest that restarted mid-run leaves
/// a cut-off run before it, which becomes a note), else the last one. The chosen run's damage,
/// and damage no run can be told from, goes on the cell.
fn from_ivcbench(cell: &mut Cell, capture: &Capture) -> Result<()> {
    let tx: Vec<&ivc_proto::capture::Run> = capture.runs.iter().filter(|r| r.header.role == "tx").collect();
    let Some(run) = tx.iter().rev().find(|r| r.is_complete()).or(tx.last()).copied() else {
        bail!("{}: no tx run in the capture", cell.path.display());
    };
    cell.damage.extend(capture.damage.iter().chain(run.damage.iter()).map(|e| e.to_string()));
    for other in tx.iter().filter(|r| !std::ptr::eq(**r, run) && !r.damage.is_empty()) {
        cell.notes.push(format!(
            "a tx run at lines {}-{} is incomplete ({}); the report uses the run at lines {}-{}",
            other.first_line, other.last_line, other.damage[0], run.first_line, run.last_line
        ));
    }
    let h = &run.header;
    if h.experiment != cell.experiment.name() {
        bail!("{}: holds a {} run, but sits under {}/", cell.path.display(), h.experiment, cell.experiment.name());
    }
    cell.freq_hz = h.freq_hz;
    cell.origin = Origin::Ivcbench { build: h.build.clone(), platform: h.platform.clone() };
    cell.data = match cell.experiment {
        Experiment::Notif => {
            let g = run.groups.first();
            let col = |name: &str| super::notif_column(run, name);
            CellData::Notif(NotifData {
                latency: col("rtt").unwrap_or_default(),
                oneway: col("oneway").filter(|_| h.get("common_counter") == Some("yes")),
                lost: run.lost(),
                pmu: pmu_columns(run, &mut cell.notes),
                rel_error: g.filter(|g| !g.histograms.is_empty()).map(|_| ivc_proto::histogram::REL_ERROR),
                text: TextLines::default(),
            })
        }
        Experiment::Transfer => CellData::Transfer(
            run.groups
                .iter()
                .map(|g| {
                    let num = |k: &str| g.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
                    TransferSeries {
                        mode: g.get("mode").unwrap_or("?").to_string(),
                        buf: num("buf"),
                        total: num("total"),
                        ticks: g.column(h, "ticks").map(<[u64]>::to_vec).unwrap_or_default(),
                        lost: g.lost_at.len() as u64,
                        corrupt: g.corrupt_at.len() as u64,
                    }
                })
                .collect(),
        ),
    };
    super::pathlen::attach(cell, run);
    Ok(())
}

/// A v2 capture's PMU columns, summarised under the artifact's column names (`inst_ret_el1`,
/// `cycles` over every group, as the artifact's tables repeat it), so the report shows them next
/// to the artifact's. On a core without EL2 an EL2-only counter counts nothing: such a column is
/// left out, with a note, rather than shown as a measured zero.
fn pmu_columns(run: &ivc_proto::capture::Run, notes: &mut Vec<String>) -> Vec<ColumnSummary> {
    let no_el2 = run.header.get("pmu_el2") == Some("0");
    let mut out: Vec<ColumnSummary> = Vec::new();
    for g in run.groups.iter().filter(|g| !g.pmu.is_empty()) {
        let base = run.header.columns.len();
        for (i, (name, values)) in g.names(&run.header).iter().zip(&g.columns).enumerate().skip(base) {
            if no_el2 && g.pmu.get(i - base).is_some_and(|c| c.el == ivc_proto::pmu::El::El2) {
                notes.push(format!("PMU column {name} not measured: tx's core has no EL2 (NSH is RES0), so it counts nothing"));
                continue;
            }
            let i = out.iter().position(|s| s.name == *name).unwrap_or_else(|| {
                out.push(ColumnSummary::new(name));
                out.len() - 1
            });
            values.iter().for_each(|&v| out[i].add(v));
        }
    }
    out
}

/// What a capture was measured on, from the metadata written beside it: emulated when it says
/// so, hardware only for a serial target run or an imported LAVA job, unknown otherwise (no
/// metadata, or metadata that says neither).
pub fn provenance_of(capture: &Path) -> Provenance {
    let mut meta = capture.as_os_str().to_owned();
    meta.push(".meta.json");
    let Some(v) = std::fs::read(PathBuf::from(meta)).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()) else {
        return Provenance::Unknown;
    };
    let testbed = v["testbed"].as_str().unwrap_or("");
    let target = v["target"].as_str().unwrap_or("");
    match v["emulated"].as_bool() {
        Some(true) => Provenance::Emulated { testbed: if testbed.is_empty() { "emulated".into() } else { testbed.into() } },
        Some(false) if target.starts_with("serial ") => {
            Provenance::Hardware { how: format!("serial target run on {}", &target["serial ".len()..]) }
        }
        Some(false) if target.starts_with("lava job ") => Provenance::Hardware { how: format!("imported LAVA {target}") },
        _ => Provenance::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        assert_eq!(parse_name("xen").unwrap(), ("xen".into(), Suffix::default()));
        assert_eq!(parse_name("bao+interf-col").unwrap().1.to_string(), "+interf+col");
        assert_eq!(parse_name("sel4+interf+col+hypcol").unwrap().1.to_string(), "+interf+col+hypcol");
        assert!(parse_name("xen+interf2").is_err());
        assert!(parse_name("+interf").is_err());
    }
}
