//! One result type, several formats: the report's rows as CSV, JSON, Markdown and one
//! self-contained HTML page (tables, figures, and how each capture was made).

use super::compare::Comparison;
use super::dataset::{Cell, CellData, NotifData, Origin};
use super::stats::Stats;
use serde::Serialize;
use std::fmt::Write;

/// What a statistic is of: one metric of one cell (and, for transfer, one mode and buffer size).
/// The report's rows and `compare`'s series share it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Key {
    pub experiment: &'static str,
    pub hypervisor: String,
    /// `base`, `+interf`, ...
    pub configuration: String,
    /// One name per metric, defined in docs/report.md: `round_trip`, `one_way`, `irqlat` (the
    /// artifact's notif column), `throughput`.
    pub metric: &'static str,
    pub mode: Option<String>,
    pub buffer: Option<u64>,
    /// `ns` or `MiB/s`.
    pub unit: &'static str,
}

impl Key {
    /// A metric of `cell` (no mode or buffer size).
    pub fn of(cell: &Cell, metric: &'static str, unit: &'static str) -> Key {
        Key {
            experiment: cell.experiment.name(),
            hypervisor: cell.hypervisor.clone(),
            configuration: configuration_name(cell),
            metric,
            mode: None,
            buffer: None,
            unit,
        }
    }

    /// The same for one transfer mode and buffer size.
    pub fn in_group(self, mode: &str, buffer: u64) -> Key {
        Key { mode: Some(mode.to_string()), buffer: Some(buffer), ..self }
    }
}

/// One line of every table: a statistic of one cell (and, for transfer, one mode and buffer size).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub key: Key,
    pub lost: u64,
    pub corrupt: u64,
    /// `None` when no sample survived.
    pub stats: Option<Stats>,
    /// `emulated`, `hardware` or `unknown`: what the figures were measured on.
    pub provenance: &'static str,
    /// Who wrote the capture and what its provenance rests on.
    pub origin: String,
    #[serde(skip)]
    pub origin_short: String,
    pub freq_hz: u64,
    pub damaged: bool,
    pub source: String,
}

/// A PMU column (an artifact table's, or an ivcbench capture's), summarised per sample.
#[derive(Clone, Debug, Serialize)]
pub struct PmuRow {
    pub hypervisor: String,
    pub configuration: String,
    /// The column's name as recorded (`l1$i_miss_el2`, `cycles`).
    pub column: String,
    /// The event without its level (`l1$i_miss`), and the level: `EL1`, `EL2`, `EL1+2` or
    /// `not split` (report::pmu).
    pub event: String,
    pub level: &'static str,
    pub n: u64,
    pub min: u64,
    pub mean: f64,
    pub max: u64,
    pub provenance: &'static str,
    pub origin: String,
    pub source: String,
}

pub fn configuration_name(cell: &Cell) -> String {
    let s = cell.suffix.to_string();
    if s.is_empty() {
        "base".into()
    } else {
        s
    }
}

/// Histogram-mode cells say how exact their values are.
fn precision(cell: &Cell) -> String {
    match &cell.data {
        CellData::Notif(NotifData { rel_error: Some(e), .. }) => format!(", histogram ±{:.1}%", e * 100.0),
        _ => String::new(),
    }
}

/// The provenance and origin in a few words, for table columns; [`origin_text`] has it in full.
pub fn origin_short(cell: &Cell) -> String {
    let p = precision(cell);
    let prov = cell.provenance.name();
    match &cell.origin {
        Origin::Ivcbench { platform, .. } => format!("{prov}, ivcbench, {platform}{p}"),
        Origin::Legacy => format!("{prov}, artifact, {} MHz assumed", cell.freq_hz as f64 / 1e6),
    }
}

pub fn origin_text(cell: &Cell) -> String {
    let p = precision(cell);
    let prov = cell.provenance.describe();
    match &cell.origin {
        Origin::Ivcbench { platform, .. } => format!("ivcbench on {platform}, {prov}{p}"),
        Origin::Legacy => format!("artifact table, counter assumed {} MHz, {prov}", cell.freq_hz as f64 / 1e6),
    }
}

/// A metric's name in prose (docs/report.md defines each).
pub fn metric_label(metric: &str) -> &str {
    match metric {
        "round_trip" => "round trip",
        "one_way" => "one-way",
        "irqlat" => "irqlat (artifact)",
        other => other,
    }
}

/// What a set of cells holds, in one sentence: how many captures of each provenance. The page
/// and every figure start with it.
pub fn provenance_summary<'a>(cells: impl IntoIterator<Item = &'a Cell>) -> String {
    let mut counts = [0usize; 3];
    for c in cells {
        counts[match c.provenance.name() {
            "emulated" => 0,
            "hardware" => 1,
            _ => 2,
        }] += 1;
    }
    let parts: Vec<String> =
        ["emulated", "hardware", "unknown"].iter().zip(counts).filter(|(_, n)| *n > 0).map(|(w, n)| format!("{n} {w}")).collect();
    let mut s = format!("captures: {}", parts.join(", "));
    if counts[0] > 0 {
        s.push_str(" (emulated: QEMU virtual time, not hardware latency)");
    }
    if counts[2] > 0 {
        s.push_str(" (unknown: nothing records what it was measured on)");
    }
    s
}

/// Every statistic of every cell, in the cells' order.
pub fn rows(cells: &[Cell]) -> Vec<Row> {
    let mut out = Vec::new();
    for c in cells {
        let base = |key: Key| Row {
            key,
            lost: 0,
            corrupt: 0,
            stats: None,
            provenance: c.provenance.name(),
            origin: origin_text(c),
            origin_short: origin_short(c),
            freq_hz: c.freq_hz,
            damaged: !c.damage.is_empty(),
            source: c.path.display().to_string(),
        };
        match &c.data {
            CellData::Notif(d) => {
                let metric = if c.origin == Origin::Legacy { "irqlat" } else { "round_trip" };
                out.push(Row {
                    lost: d.lost,
                    stats: Stats::of(d.latency.iter().map(|&t| c.ticks_to_ns(t))),
                    ..base(Key::of(c, metric, "ns"))
                });
                if let Some(ow) = &d.oneway {
                    out.push(Row { stats: Stats::of(ow.iter().map(|&t| c.ticks_to_ns(t))), ..base(Key::of(c, "one_way", "ns")) });
                }
            }
            CellData::Transfer(series) => {
                for t in series {
                    let secs = |ticks: u64| ticks as f64 / c.freq_hz as f64;
                    out.push(Row {
                        lost: t.lost,
                        corrupt: t.corrupt,
                        stats: Stats::of(t.ticks.iter().map(|&k| t.total as f64 / (1u64 << 20) as f64 / secs(k))),
                        ..base(Key::of(c, "throughput", "MiB/s").in_group(&t.mode, t.buf))
                    });
                }
            }
        }
    }
    out
}

pub fn pmu_rows(cells: &[Cell]) -> Vec<PmuRow> {
    let mut out = Vec::new();
    for c in cells {
        if let CellData::Notif(d) = &c.data {
            for p in &d.pmu {
                let (event, level) = super::pmu::split(&p.name);
                out.push(PmuRow {
                    hypervisor: c.hypervisor.clone(),
                    configuration: configuration_name(c),
                    column: p.name.clone(),
                    event: event.to_string(),
                    level: level.name(),
                    n: p.n,
                    min: if p.n == 0 { 0 } else { p.min },
                    mean: p.mean().unwrap_or(0.0),
                    max: p.max,
                    provenance: c.provenance.name(),
                    origin: origin_text(c),
                    source: c.path.display().to_string(),
                });
            }
        }
    }
    out
}

fn buffer_name(b: u64) -> String {
    if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{}M", b >> 20)
    } else {
        format!("{}K", b >> 10)
    }
}

const CSV_HEADER: &str = "experiment,hypervisor,configuration,metric,mode,buffer,unit,n,lost,corrupt,min,median,mean,p90,p99,p999,max,stddev,median_ci95_lo,median_ci95_hi,freq_hz,damaged,provenance,origin,source";

pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn to_csv(rows: &[Row]) -> String {
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for r in rows {
        let st = r.stats.as_ref();
        let num = |f: fn(&Stats) -> f64| st.map(|t| format!("{:.3}", f(t))).unwrap_or_default();
        let ci = st.and_then(|t| t.median_ci95);
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.key.experiment,
            csv_field(&r.key.hypervisor),
            csv_field(&r.key.configuration),
            r.key.metric,
            r.key.mode.as_deref().unwrap_or(""),
            r.key.buffer.map(|b| b.to_string()).unwrap_or_default(),
            r.key.unit,
            st.map_or(0, |t| t.n),
            r.lost,
            r.corrupt,
            num(|t| t.min),
            num(|t| t.median),
            num(|t| t.mean),
            num(|t| t.p90),
            num(|t| t.p99),
            num(|t| t.p999),
            num(|t| t.max),
            num(|t| t.stddev),
            ci.map(|c| format!("{:.3}", c.0)).unwrap_or_default(),
            ci.map(|c| format!("{:.3}", c.1)).unwrap_or_default(),
            r.freq_hz,
            r.damaged,
            r.provenance,
            csv_field(&r.origin),
            csv_field(&r.source),
        );
    }
    s
}

/// JSON: the rows, the PMU summaries, the path lengths and, with `raw`, every sample of every
/// cell in ticks.
pub fn to_json(rows: &[Row], cells: &[Cell], comparisons: &[Comparison], raw: bool) -> String {
    #[derive(Serialize)]
    struct RawCell<'a> {
        source: String,
        experiment: &'static str,
        hypervisor: &'a str,
        configuration: String,
        provenance: &'static str,
        metric: Option<&'static str>,
        freq_hz: u64,
        unit: &'static str,
        latency: Option<&'a [u64]>,
        oneway: Option<&'a [u64]>,
        transfer: Vec<(&'a str, u64, u64, &'a [u64])>,
    }
    let raw_cells: Option<Vec<RawCell>> = raw.then(|| {
        cells
            .iter()
            .map(|c| {
                let (latency, oneway, transfer) = match &c.data {
                    CellData::Notif(d) => (Some(d.latency.as_slice()), d.oneway.as_deref(), Vec::new()),
                    CellData::Transfer(t) => {
                        (None, None, t.iter().map(|s| (s.mode.as_str(), s.buf, s.total, s.ticks.as_slice())).collect())
                    }
                };
                RawCell {
                    source: c.path.display().to_string(),
                    experiment: c.experiment.name(),
                    hypervisor: &c.hypervisor,
                    configuration: configuration_name(c),
                    provenance: c.provenance.name(),
                    metric: latency.map(|_| if c.origin == Origin::Legacy { "irqlat" } else { "round_trip" }),
                    freq_hz: c.freq_hz,
                    unit: "ticks",
                    latency,
                    oneway,
                    transfer,
                }
            })
            .collect()
    });
    let damage: Vec<(String, &Vec<String>)> =
        cells.iter().filter(|c| !c.damage.is_empty()).map(|c| (c.path.display().to_string(), &c.damage)).collect();
    let captures: Vec<serde_json::Value> = cells
        .iter()
        .map(|c| {
            serde_json::json!({
                "source": c.path.display().to_string(),
                "provenance": c.provenance.name(),
                "origin": origin_text(c),
                "console_text_lines": c.text.count,
                "console_text_first_line": c.text.first,
                "interference": c.interference,
                "pathlen": match &c.pathlen {
                    Some(Ok(p)) => serde_json::json!(p.file.display().to_string()),
                    Some(Err(e)) => serde_json::json!({ "left_out": e }),
                    None => serde_json::Value::Null,
                },
            })
        })
        .collect();
    let doc = serde_json::json!({
        "tool": format!("ivcbench {}", env!("CARGO_PKG_VERSION")),
        "holds": provenance_summary(cells),
        "captures": captures,
        "rows": rows,
        "comparisons": comparisons,
        "pmu": pmu_rows(cells),
        "pathlen": super::pathlen::rows(cells),
        "damage": damage,
        "samples": raw_cells,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn fmt_stat(v: f64, unit: &str) -> String {
    if unit == "ns" {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Markdown tables: notif round trips and one-way times, transfer throughputs, each configuration
/// against its base, the interference applied, path lengths, PMU events; then the figures, each
/// `(file, caption)` (file empty when the figure was not written as a file).
pub fn to_markdown(rows: &[Row], cells: &[Cell], comparisons: &[Comparison], figures: &[(String, String)]) -> String {
    let mut s = format!("{}.\n\n", provenance_summary(cells));
    let notif: Vec<&Row> = rows.iter().filter(|r| r.key.experiment == "notif").collect();
    if !notif.is_empty() {
        s.push_str("### Notification round trip and one-way (ns)\n\n");
        s.push_str("| hypervisor | configuration | metric | n | lost | min | median (95% CI) | mean | p90 | p99 | p99.9 | max | stddev | origin |\n");
        s.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
        for r in notif {
            s.push_str(&md_row(r, None));
        }
        s.push('\n');
    }
    let transfer: Vec<&Row> = rows.iter().filter(|r| r.key.experiment == "transfer").collect();
    if !transfer.is_empty() {
        s.push_str("### Transfer throughput (MiB/s)\n\n");
        s.push_str("| hypervisor | configuration | mode / buffer | n | lost | min | median (95% CI) | mean | p90 | p99 | p99.9 | max | stddev | origin |\n");
        s.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
        for r in transfer {
            let what = format!("{} {}", r.key.mode.as_deref().unwrap_or("?"), r.key.buffer.map(buffer_name).unwrap_or_default());
            s.push_str(&md_row(r, Some(what)));
        }
        s.push('\n');
    }
    if !comparisons.is_empty() {
        s.push_str("### Each configuration against its base (B vs A: +interf vs base, +interf+col vs +interf, +interf+col+hypcol vs +interf+col, +col vs base)\n\n");
        s.push_str(&super::compare::to_markdown(comparisons));
        s.push_str("\nchange: (B - A) / A; intervals: bootstrap 95%; verdict: faster/slower when the median's interval excludes 0 and Mann-Whitney p < 0.05 (docs/report.md).\n\n");
    }
    let interf: Vec<&Cell> = cells.iter().filter(|c| c.interference.is_some()).collect();
    if !interf.is_empty() {
        s.push_str("### Interference applied (the interferer's passes over its buffer and the bandwidth it swept)\n\n| experiment | hypervisor | configuration | interference | origin |\n|---|---|---|---|---|\n");
        for c in interf {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                c.experiment.name(),
                c.hypervisor,
                configuration_name(c),
                c.interference.as_deref().unwrap_or(""),
                origin_short(c)
            );
        }
        s.push('\n');
    }
    s.push_str(&super::pathlen::to_markdown(&super::pathlen::rows(cells), cells));
    s.push_str(&super::pmu::to_markdown(cells));
    if !figures.is_empty() {
        s.push_str("### Figures\n\n");
        for (file, caption) in figures {
            if !file.is_empty() {
                let name = file.rsplit_once('.').map_or(file.as_str(), |(n, _)| n);
                let _ = writeln!(s, "![{name}]({file})\n");
            }
            let _ = writeln!(s, "*{caption}*\n");
        }
    }
    s
}

fn md_row(r: &Row, what: Option<String>) -> String {
    let damaged = if r.damaged { " (damaged)" } else { "" };
    let what = what.unwrap_or_else(|| metric_label(r.key.metric).to_string());
    match &r.stats {
        None => {
            format!(
                "| {}{damaged} | {} | {what} | 0 | {} | | | | | | | | | {} |\n",
                r.key.hypervisor, r.key.configuration, r.lost, r.origin_short
            )
        }
        Some(t) => {
            let f = |v: f64| fmt_stat(v, r.key.unit);
            let ci = t.median_ci95.map(|(a, b)| format!(" ({}–{})", f(a), f(b))).unwrap_or_default();
            format!(
                "| {}{damaged} | {} | {what} | {} | {} | {} | {}{ci} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.key.hypervisor,
                r.key.configuration,
                t.n,
                r.lost + r.corrupt,
                f(t.min),
                f(t.median),
                f(t.mean),
                f(t.p90),
                f(t.p99),
                f(t.p999),
                f(t.max),
                f(t.stddev),
                r.origin_short
            )
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One self-contained page: no external files, the figures inline as SVG.
pub fn to_html(markdown: &str, cells: &[Cell], figures: &[(String, String)], status: &str) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ivcbench report</title>\n<style>\n\
body{font-family:'DejaVu Sans',sans-serif;margin:2em auto;max-width:1200px;color:#222}\n\
table{border-collapse:collapse;margin:1em 0;font-size:0.85em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}\n\
td:first-child,th:first-child,td:nth-child(2),td:nth-child(3){text-align:left}figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}\n\
pre{background:#f6f6f6;padding:1em;overflow:auto}.damaged{color:#b00}\n</style></head>\n<body>\n<h1>ivcbench report</h1>\n",
    );
    let _ = writeln!(
        s,
        "<p class=\"holds\"><b>This page holds {} capture(s); {}.</b> Every figure and table row says which.</p>\n<p>Generated by ivcbench {}.</p>",
        cells.len(),
        html_escape(&provenance_summary(cells)),
        env!("CARGO_PKG_VERSION")
    );
    s.push_str("<h2>Figures</h2>\n");
    for (title, svg) in figures {
        let _ = writeln!(s, "<figure>{svg}<figcaption>{}</figcaption></figure>", html_escape(title));
    }
    s.push_str("<h2>Statistics</h2>\n");
    // The Markdown tables, as HTML tables.
    for block in markdown.split("### ").skip(1) {
        let mut lines = block.lines();
        let title = lines.next().unwrap_or("");
        // The figures are on the page already; every other block is a table.
        if !block.lines().any(|l| l.starts_with('|')) {
            continue;
        }
        let _ = writeln!(s, "<h3>{}</h3>\n<table>", html_escape(title));
        for (i, line) in lines.filter(|l| l.starts_with('|')).enumerate() {
            if i == 1 {
                continue; // the Markdown alignment row
            }
            let tag = if i == 0 { "th" } else { "td" };
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            let class = if line.contains("(damaged)") { " class=\"damaged\"" } else { "" };
            let _ = write!(s, "<tr{class}>");
            for c in cells {
                let _ = write!(s, "<{tag}>{}</{tag}>", html_escape(c.trim()));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</table>\n");
    }
    let _ = writeln!(s, "<h2>Matrix</h2>\n<pre>{}</pre>", html_escape(status));
    s.push_str("<h2>How each capture was made</h2>\n<table><tr><th>capture</th><th>experiment</th><th>hypervisor</th><th>configuration</th><th>provenance</th><th>made by</th><th>counter</th><th>build</th><th>console text</th><th>damage and notes</th></tr>\n");
    for c in cells {
        let build = match &c.origin {
            Origin::Ivcbench { build, .. } => build.clone(),
            Origin::Legacy => "RTAS'23 artifact".into(),
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} Hz</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(&c.path.display().to_string()),
            c.experiment.name(),
            html_escape(&c.hypervisor),
            configuration_name(c),
            c.provenance.name(),
            html_escape(&origin_text(c)),
            c.freq_hz,
            html_escape(&build),
            if c.text.count == 0 { "none".to_string() } else { html_escape(&c.text.to_string()) },
            html_escape(&c.damage.iter().chain(c.notes.iter()).cloned().collect::<Vec<_>>().join("; "))
        );
    }
    s.push_str("</table>\n");
    // Lets a headless browser confirm that every figure was laid out (docs/report.md).
    s.push_str(
        "<script>\nwindow.addEventListener('load', function () {\n  var figs = document.querySelectorAll('figure svg');\n  var ok = Array.prototype.every.call(figs, function (f) { return f.getBoundingClientRect().width > 0; });\n  document.body.setAttribute('data-figures', (ok ? 'ok ' : 'broken ') + figs.length);\n});\n</script>\n</body></html>\n",
    );
    s
}
