//! Path lengths in the report: each ivcbench capture's `<capture>.pathlen` (written by the TCG
//! plugin of `run --pathlen`, docs/pathlen.md), summarised by crate::pathlen exactly as `run`
//! prints it, as one row type (per hypervisor × configuration × window × EL) written as CSV, JSON
//! and Markdown.

use super::dataset::{Cell, PathLen};
use super::export::{configuration_name, csv_field, origin_short, origin_text};
use crate::pathlen::{self as pl, Stat, Table, Tables};
use ivc_proto::capture::Run;
use serde::Serialize;
use std::fmt::Write;

/// Reads the capture's path-length file, if there is one, and lines it up with tx's run. A file
/// that cannot be read or lined up is left out with a note naming it (and the line), never shown
/// with numbers that might be another run's.
pub fn attach(cell: &mut Cell, tx: &Run) {
    let file = pl::sidecar(&cell.path);
    if !file.exists() {
        return;
    }
    let got = pl::load(&file).and_then(|p| Ok(PathLen { tables: pl::tables(&file, &p, tx)?, calibrations: p.calibrations, file }));
    cell.pathlen = Some(got.map_err(|e| format!("path lengths left out: {e:#}")));
    if let Some(Err(e)) = &cell.pathlen {
        cell.notes.push(e.clone());
    }
}

/// One side (or calibration) and exception level of one capture: instructions per window.
#[derive(Clone, Debug, Serialize)]
pub struct PathRow {
    pub experiment: &'static str,
    pub hypervisor: String,
    pub configuration: String,
    /// transfer: `polling` or `interrupt`, and the buffer size in bytes.
    pub mode: Option<String>,
    pub buffer: Option<u64>,
    /// `tx`, `rx`, or a calibration of the instrument (`probe`, `counter_read`, `pmu_read`).
    pub window: String,
    /// `EL1` or `EL2`.
    pub el: &'static str,
    /// The vCPUs the window ran on (`0`; `1,2` when it moved).
    pub cpus: String,
    /// `instructions/notification`, `instructions/chunk`, or `instructions` (a calibration).
    pub unit: &'static str,
    /// Windows summarised (the recorded samples' windows; 1 for a calibration).
    pub windows: usize,
    /// The middle count (of an even number, the lower middle one: a count that occurred).
    pub median: u64,
    pub min: u64,
    pub max: u64,
    /// How many windows counted another value than the median.
    pub off_median: usize,
    /// Windows in which rx never acknowledged (no rx counts for them).
    pub rx_missing: usize,
    /// Instructions at EL0 or EL3 inside the windows (none expected).
    pub other_el: u64,
    pub provenance: &'static str,
    #[serde(skip)]
    pub origin_short: String,
    pub origin: String,
    /// The `.pathlen` file.
    pub source: String,
}

const ELS: [(usize, &str); 2] = [(0, "EL1"), (1, "EL2")];

/// Every capture's path lengths, in the cells' order: per table tx EL1, tx EL2, rx EL1, rx EL2,
/// then the calibrations.
pub fn rows(cells: &[Cell]) -> Vec<PathRow> {
    let mut out = Vec::new();
    for c in cells {
        let Some(Ok(p)) = &c.pathlen else { continue };
        let base = |window: &str, el: &'static str, unit: &'static str| PathRow {
            experiment: c.experiment.name(),
            hypervisor: c.hypervisor.clone(),
            configuration: configuration_name(c),
            mode: None,
            buffer: None,
            window: window.to_string(),
            el,
            cpus: String::new(),
            unit,
            windows: 0,
            median: 0,
            min: 0,
            max: 0,
            off_median: 0,
            rx_missing: 0,
            other_el: 0,
            provenance: c.provenance.name(),
            origin_short: origin_short(c),
            origin: origin_text(c),
            source: p.file.display().to_string(),
        };
        let table = |out: &mut Vec<PathRow>, t: &Table, mode: Option<(&str, u64)>, unit: &'static str| {
            for (side, name) in [(0, "tx"), (1, "rx")] {
                let cpus = if side == 0 { &t.tx_cpus } else { &t.rx_cpus };
                for (el, el_name) in ELS {
                    let Some(Stat { min, median, max, off_median, n }) = t.el[side][el].clone() else { continue };
                    out.push(PathRow {
                        mode: mode.map(|m| m.0.to_string()),
                        buffer: mode.map(|m| m.1),
                        cpus: cpus.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
                        windows: n,
                        median,
                        min,
                        max,
                        off_median,
                        rx_missing: t.rx_missing,
                        other_el: t.other,
                        ..base(name, el_name, unit)
                    });
                }
            }
        };
        match &p.tables {
            Tables::Notif(t) => table(&mut out, t, None, "instructions/notification"),
            Tables::Transfer(groups) => {
                for (mode, buf, t) in groups {
                    table(&mut out, t, Some((mode, *buf)), "instructions/chunk");
                }
            }
        }
        for cal in &p.calibrations {
            for (el, el_name) in ELS {
                let v = cal.counts[el + 1];
                out.push(PathRow {
                    cpus: cal.cpu.to_string(),
                    windows: 1,
                    median: v,
                    min: v,
                    max: v,
                    other_el: cal.counts[0] + cal.counts[3],
                    ..base(&cal.name, el_name, "instructions")
                });
            }
        }
    }
    out
}

const CSV_HEADER: &str = "experiment,hypervisor,configuration,mode,buffer,window,el,cpus,unit,windows,median,min,max,off_median,rx_missing,other_el,provenance,origin,source";

pub fn to_csv(rows: &[PathRow]) -> String {
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.experiment,
            csv_field(&r.hypervisor),
            csv_field(&r.configuration),
            r.mode.as_deref().unwrap_or(""),
            r.buffer.map(|b| b.to_string()).unwrap_or_default(),
            csv_field(&r.window),
            r.el,
            csv_field(&r.cpus),
            r.unit,
            r.windows,
            r.median,
            r.min,
            r.max,
            r.off_median,
            r.rx_missing,
            r.other_el,
            r.provenance,
            csv_field(&r.origin),
            csv_field(&r.source),
        );
    }
    s
}

/// A table cell: the median, and the spread when not every window agrees.
fn md_value(r: Option<&PathRow>) -> String {
    match r {
        None => "-".into(),
        Some(r) if r.off_median == 0 => r.median.to_string(),
        Some(r) => format!("{} ({}–{}, {} of {} differ)", r.median, r.min, r.max, r.off_median, r.windows),
    }
}

/// Markdown tables: notif per hypervisor × configuration, transfer per mode and buffer size too;
/// each row's tx and rx at EL1 and EL2 side by side. Files left out are listed with the reason.
pub fn to_markdown(rows: &[PathRow], cells: &[Cell]) -> String {
    let mut s = String::new();
    // Rows come grouped by capture and table: the first row of each group is its key.
    let mut groups: Vec<Vec<&PathRow>> = Vec::new();
    for r in rows.iter().filter(|r| r.window == "tx" || r.window == "rx") {
        match groups.last_mut() {
            Some(g) if g[0].source == r.source && g[0].mode == r.mode && g[0].buffer == r.buffer => g.push(r),
            _ => groups.push(vec![r]),
        }
    }
    let values =
        |g: &[&PathRow]| [("tx", "EL1"), ("tx", "EL2"), ("rx", "EL1"), ("rx", "EL2")].map(|(w, el)| md_value(find(g, w, el))).join(" | ");
    let cpus = |g: &[&PathRow], w: &str| find(g, w, "EL1").or(find(g, w, "EL2")).map_or("-".to_string(), |r| r.cpus.clone());
    let notif: Vec<&Vec<&PathRow>> = groups.iter().filter(|g| g[0].experiment == "notif").collect();
    if !notif.is_empty() {
        s.push_str("### Path length per notification (instructions along the notification path, counted by the TCG plugin of run --pathlen: median over the recorded windows, min–max and how many differ when not all agree)\n\n");
        s.push_str(
            "| hypervisor | configuration | windows | tx EL1 | tx EL2 | rx EL1 | rx EL2 | vCPU tx / rx | instrument (EL1+EL2) | origin |\n",
        );
        s.push_str("|---|---|--:|--:|--:|--:|--:|---|---|---|\n");
        for g in notif {
            let r = g[0];
            let cal: Vec<String> = calibrations(rows, &r.source).into_iter().map(|(n, v)| format!("{n} {v}")).collect();
            let mut lost = if r.rx_missing > 0 { format!(" (rx lost {})", r.rx_missing) } else { String::new() };
            if r.other_el > 0 {
                // Not in the EL1/EL2 columns: say it is there (report-pathlen.csv's `other_el`).
                let _ = write!(lost, " (EL0/EL3: {} instructions in all)", r.other_el);
            }
            let _ = writeln!(
                s,
                "| {} | {} | {}{lost} | {} | {} / {} | {} | {} |",
                r.hypervisor,
                r.configuration,
                find(g, "tx", "EL1").map_or(0, |t| t.windows),
                values(g),
                cpus(g, "tx"),
                cpus(g, "rx"),
                if cal.is_empty() { "-".to_string() } else { cal.join(", ") },
                r.origin_short
            );
        }
        s.push('\n');
    }
    let transfer: Vec<&Vec<&PathRow>> = groups.iter().filter(|g| g[0].experiment == "transfer").collect();
    if !transfer.is_empty() {
        s.push_str("### Path length per transfer chunk (instructions per chunk handed over, counted by the TCG plugin of run --pathlen: median over the recorded samples' chunks)\n\n");
        s.push_str("| hypervisor | configuration | mode / buffer | chunks | tx EL1 | tx EL2 | rx EL1 | rx EL2 | origin |\n");
        s.push_str("|---|---|---|--:|--:|--:|--:|--:|---|\n");
        for g in transfer {
            let r = g[0];
            let buf = r.buffer.map_or(String::new(), |b| if b >= 1 << 20 { format!("{}M", b >> 20) } else { format!("{}K", b >> 10) });
            let _ = writeln!(
                s,
                "| {} | {} | {} {buf} | {} | {} | {} |",
                r.hypervisor,
                r.configuration,
                r.mode.as_deref().unwrap_or("?"),
                find(g, "tx", "EL1").map_or(0, |t| t.windows),
                values(g),
                r.origin_short
            );
        }
        s.push('\n');
    }
    let left_out: Vec<(&Cell, &String)> = cells
        .iter()
        .filter_map(|c| match &c.pathlen {
            Some(Err(e)) => Some((c, e)),
            _ => None,
        })
        .collect();
    if !left_out.is_empty() {
        s.push_str("### Path-length files left out (damaged, or not from the run in the capture)\n\n| capture | problem |\n|---|---|\n");
        for (c, e) in left_out {
            let _ = writeln!(s, "| {} | {} |", c.path.display(), e.replace('|', "\\|"));
        }
        s.push('\n');
    }
    s
}

/// The row of `window` at `el` in a group.
fn find<'a>(g: &[&'a PathRow], window: &str, el: &str) -> Option<&'a PathRow> {
    g.iter().find(|r| r.window == window && r.el == el).copied()
}

/// The calibrations of one `.pathlen` file: name and instructions at EL1 and EL2.
fn calibrations(rows: &[PathRow], source: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for r in rows.iter().filter(|r| r.source == source && r.unit == "instructions") {
        match out.iter_mut().find(|(n, _)| *n == r.window) {
            Some(x) => x.1 += r.median,
            None => out.push((r.window.clone(), r.median)),
        }
    }
    out
}
