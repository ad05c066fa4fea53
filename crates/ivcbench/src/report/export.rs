//! One result type, several formats: the report's rows as CSV, JSON, Markdown and one
//! self-contained HTML page (tables, figures, and how each capture was made).

use super::dataset::{Cell, CellData, NotifData, Origin};
use super::stats::Stats;
use serde::Serialize;
use std::fmt::Write;

/// One line of every table: a statistic of one cell (and, for transfer, one mode and buffer size).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub experiment: &'static str,
    pub hypervisor: String,
    /// `base`, `+interf`, ...
    pub configuration: String,
    /// `latency` (notif round trip, or the artifact's irqlat), `oneway`, `throughput`.
    pub metric: &'static str,
    pub mode: Option<String>,
    pub buffer: Option<u64>,
    /// `ns` or `MiB/s`.
    pub unit: &'static str,
    pub lost: u64,
    pub corrupt: u64,
    /// `None` when no sample survived.
    pub stats: Option<Stats>,
    /// What the figures are: ivcbench on a testbed (emulated or hardware), or an artifact table.
    pub origin: String,
    #[serde(skip)]
    pub origin_short: String,
    pub freq_hz: u64,
    pub damaged: bool,
    pub source: String,
}

/// A PMU column of an artifact table, summarised.
#[derive(Clone, Debug, Serialize)]
pub struct PmuRow {
    pub hypervisor: String,
    pub configuration: String,
    pub column: String,
    pub n: u64,
    pub min: u64,
    pub mean: f64,
    pub max: u64,
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

/// The origin in a few words, for table columns; [`origin_text`] has it in full.
pub fn origin_short(cell: &Cell) -> String {
    let p = precision(cell);
    match &cell.origin {
        Origin::Ivcbench { testbed, platform, .. } => {
            let kind = if testbed.starts_with("emulated") { "emulated" } else { "hardware" };
            format!("ivcbench, {platform}, {kind}{p}")
        }
        Origin::Legacy => format!("artifact, {} MHz assumed", cell.freq_hz as f64 / 1e6),
    }
}

pub fn origin_text(cell: &Cell) -> String {
    let p = precision(cell);
    match &cell.origin {
        Origin::Ivcbench { testbed, platform, .. } => format!("ivcbench on {platform}, {testbed}{p}"),
        Origin::Legacy => format!("artifact table, counter assumed {} MHz", cell.freq_hz as f64 / 1e6),
    }
}

/// Every statistic of every cell, in the cells' order.
pub fn rows(cells: &[Cell]) -> Vec<Row> {
    let mut out = Vec::new();
    for c in cells {
        let base = |metric: &'static str, unit: &'static str| Row {
            experiment: c.experiment.name(),
            hypervisor: c.hypervisor.clone(),
            configuration: configuration_name(c),
            metric,
            mode: None,
            buffer: None,
            unit,
            lost: 0,
            corrupt: 0,
            stats: None,
            origin: origin_text(c),
            origin_short: origin_short(c),
            freq_hz: c.freq_hz,
            damaged: !c.damage.is_empty(),
            source: c.path.display().to_string(),
        };
        match &c.data {
            CellData::Notif(d) => {
                out.push(Row { lost: d.lost, stats: Stats::of(d.latency.iter().map(|&t| c.ticks_to_ns(t))), ..base("latency", "ns") });
                if let Some(ow) = &d.oneway {
                    out.push(Row { stats: Stats::of(ow.iter().map(|&t| c.ticks_to_ns(t))), ..base("oneway", "ns") });
                }
            }
            CellData::Transfer(series) => {
                for t in series {
                    let secs = |ticks: u64| ticks as f64 / c.freq_hz as f64;
                    out.push(Row {
                        mode: Some(t.mode.clone()),
                        buffer: Some(t.buf),
                        lost: t.lost,
                        corrupt: t.corrupt,
                        stats: Stats::of(t.ticks.iter().map(|&k| t.total as f64 / (1u64 << 20) as f64 / secs(k))),
                        ..base("throughput", "MiB/s")
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
                out.push(PmuRow {
                    hypervisor: c.hypervisor.clone(),
                    configuration: configuration_name(c),
                    column: p.name.clone(),
                    n: p.n,
                    min: if p.n == 0 { 0 } else { p.min },
                    mean: p.mean().unwrap_or(0.0),
                    max: p.max,
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

const CSV_HEADER: &str = "experiment,hypervisor,configuration,metric,mode,buffer,unit,n,lost,corrupt,min,median,mean,p90,p99,p999,max,stddev,median_ci95_lo,median_ci95_hi,freq_hz,damaged,origin,source";

fn csv_field(s: &str) -> String {
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
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.experiment,
            csv_field(&r.hypervisor),
            csv_field(&r.configuration),
            r.metric,
            r.mode.as_deref().unwrap_or(""),
            r.buffer.map(|b| b.to_string()).unwrap_or_default(),
            r.unit,
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
            csv_field(&r.origin),
            csv_field(&r.source),
        );
    }
    s
}

/// JSON: the rows, the PMU summaries and, with `raw`, every sample of every cell in ticks.
pub fn to_json(rows: &[Row], cells: &[Cell], raw: bool) -> String {
    #[derive(Serialize)]
    struct RawCell<'a> {
        source: String,
        experiment: &'static str,
        hypervisor: &'a str,
        configuration: String,
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
    let doc = serde_json::json!({
        "tool": format!("ivcbench {}", env!("CARGO_PKG_VERSION")),
        "rows": rows,
        "pmu": pmu_rows(cells),
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

/// Markdown tables: notif latencies, transfer throughputs, PMU summaries.
pub fn to_markdown(rows: &[Row], cells: &[Cell]) -> String {
    let mut s = String::new();
    let notif: Vec<&Row> = rows.iter().filter(|r| r.experiment == "notif").collect();
    if !notif.is_empty() {
        s.push_str("### Notification latency (ns)\n\n");
        s.push_str("| hypervisor | configuration | metric | n | lost | min | median (95% CI) | mean | p90 | p99 | p99.9 | max | stddev | origin |\n");
        s.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
        for r in notif {
            s.push_str(&md_row(r, None));
        }
        s.push('\n');
    }
    let transfer: Vec<&Row> = rows.iter().filter(|r| r.experiment == "transfer").collect();
    if !transfer.is_empty() {
        s.push_str("### Transfer throughput (MiB/s)\n\n");
        s.push_str("| hypervisor | configuration | mode / buffer | n | lost | min | median (95% CI) | mean | p90 | p99 | p99.9 | max | stddev | origin |\n");
        s.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
        for r in transfer {
            let what = format!("{} {}", r.mode.as_deref().unwrap_or("?"), r.buffer.map(buffer_name).unwrap_or_default());
            s.push_str(&md_row(r, Some(what)));
        }
        s.push('\n');
    }
    if rows.iter().any(|r| r.origin_short.ends_with("emulated")) {
        s.push_str("emulated: measured on QEMU; instruction-paced virtual time, not hardware latency (the full testbed is in report.csv and report.html).\n\n");
    }
    let pmu = pmu_rows(cells);
    if !pmu.is_empty() {
        s.push_str("### PMU columns of the artifact's tables (events per sample)\n\n| hypervisor | configuration | column | n | min | mean | max |\n|---|---|---|--:|--:|--:|--:|\n");
        for p in pmu {
            let _ =
                writeln!(s, "| {} | {} | {} | {} | {} | {:.1} | {} |", p.hypervisor, p.configuration, p.column, p.n, p.min, p.mean, p.max);
        }
        s.push('\n');
    }
    s
}

fn md_row(r: &Row, what: Option<String>) -> String {
    let damaged = if r.damaged { " (damaged)" } else { "" };
    let what = what.unwrap_or_else(|| r.metric.to_string());
    match &r.stats {
        None => {
            format!("| {}{damaged} | {} | {what} | 0 | {} | | | | | | | | | {} |\n", r.hypervisor, r.configuration, r.lost, r.origin_short)
        }
        Some(t) => {
            let f = |v: f64| fmt_stat(v, r.unit);
            let ci = t.median_ci95.map(|(a, b)| format!(" ({}–{})", f(a), f(b))).unwrap_or_default();
            format!(
                "| {}{damaged} | {} | {what} | {} | {} | {} | {}{ci} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.hypervisor,
                r.configuration,
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
pub fn to_html(rows: &[Row], cells: &[Cell], figures: &[(String, String)], status: &str) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ivcbench report</title>\n<style>\n\
body{font-family:'DejaVu Sans',sans-serif;margin:2em auto;max-width:1200px;color:#222}\n\
table{border-collapse:collapse;margin:1em 0;font-size:0.85em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}\n\
td:first-child,th:first-child,td:nth-child(2),td:nth-child(3){text-align:left}figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}\n\
pre{background:#f6f6f6;padding:1em;overflow:auto}.damaged{color:#b00}\n</style></head>\n<body>\n<h1>ivcbench report</h1>\n",
    );
    let _ = writeln!(s, "<p>Generated by ivcbench {} from {} capture(s).</p>", env!("CARGO_PKG_VERSION"), cells.len());
    s.push_str("<h2>Figures</h2>\n");
    for (title, svg) in figures {
        let _ = writeln!(s, "<figure>{svg}<figcaption>{}</figcaption></figure>", html_escape(title));
    }
    s.push_str("<h2>Statistics</h2>\n");
    // The Markdown tables, as HTML tables.
    for block in to_markdown(rows, cells).split("### ").filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines();
        let title = lines.next().unwrap_or("");
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
    s.push_str("<h2>How each capture was made</h2>\n<table><tr><th>capture</th><th>experiment</th><th>hypervisor</th><th>configuration</th><th>made by</th><th>counter</th><th>build</th><th>damage and notes</th></tr>\n");
    for c in cells {
        let build = match &c.origin {
            Origin::Ivcbench { build, .. } => build.clone(),
            Origin::Legacy => "RTAS'23 artifact".into(),
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} Hz</td><td>{}</td><td>{}</td></tr>",
            html_escape(&c.path.display().to_string()),
            c.experiment.name(),
            html_escape(&c.hypervisor),
            configuration_name(c),
            html_escape(&origin_text(c)),
            c.freq_hz,
            html_escape(&build),
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
