//! `ivcbench report` and `ivcbench status`: load a captures directory and write every output.

use super::dataset::Cell;
use super::export;
use super::load::{self, LoadOptions, Loaded};
use super::status;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Output formats of `ivcbench report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Md,
    Html,
    Svg,
    Png,
}

pub struct ReportOptions {
    pub load: LoadOptions,
    pub out: PathBuf,
    pub formats: Vec<Format>,
    /// JSON: include every sample.
    pub raw: bool,
}

/// Loads, warns about what was skipped, and returns the cells.
pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Vec<Cell>> {
    let Loaded { cells, skipped } = load::load_dir(dir, opts)?;
    for (path, why) in &skipped {
        eprintln!("ivcbench: warning: skipped {}: {why}", path.display());
    }
    for c in &cells {
        for n in &c.notes {
            eprintln!("ivcbench: warning: {}: {n}", c.path.display());
        }
    }
    for c in cells.iter().filter(|c| !c.damage.is_empty()) {
        eprintln!(
            "ivcbench: warning: {} is damaged ({} problem(s), first: {}); its cell is marked damaged",
            c.path.display(),
            c.damage.len(),
            c.damage[0]
        );
    }
    Ok(cells)
}

/// Writes the requested outputs under `opts.out`; returns the Markdown tables for the terminal.
pub fn write(cells: &[Cell], opts: &ReportOptions) -> Result<String> {
    std::fs::create_dir_all(&opts.out).with_context(|| format!("creating {}", opts.out.display()))?;
    let rows = export::rows(cells);
    let want = |f: Format| opts.formats.is_empty() || opts.formats.contains(&f);
    let put = |name: &str, text: &str| -> Result<()> {
        let p = opts.out.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
    };
    if want(Format::Csv) {
        put("report.csv", &export::to_csv(&rows))?;
    }
    // The comparisons (bootstrap, rank tests) on one core while the figures are drawn and
    // rendered on the other.
    let drawn = want(Format::Svg) || want(Format::Png) || want(Format::Html);
    let (comparisons, figures) = std::thread::scope(|s| -> Result<_> {
        let comparing = s.spawn(|| super::compare::against_base(cells));
        let figures = if drawn { figures(cells) } else { Vec::new() };
        for (name, _, svg) in &figures {
            if want(Format::Svg) {
                put(&format!("{name}.svg"), svg)?;
            }
            if want(Format::Png) {
                super::plot::svg_to_png(svg, &opts.out.join(format!("{name}.png")), 2.0)?;
            }
        }
        Ok((comparing.join().map_err(|_| anyhow::anyhow!("the comparisons panicked"))?, figures))
    })?;
    if want(Format::Json) {
        put("report.json", &export::to_json(&rows, cells, &comparisons, opts.raw))?;
    }
    let md = export::to_markdown(&rows, cells, &comparisons);
    if want(Format::Md) {
        put("report.md", &md)?;
    }
    if want(Format::Html) {
        let figs: Vec<(String, String)> = figures.into_iter().map(|(_, title, svg)| (title, svg)).collect();
        put("report.html", &export::to_html(&md, cells, &figs, &status::matrix(cells)))?;
    }
    Ok(md)
}

/// (file name, caption, SVG) of every figure the cells have data for. Each image carries the
/// provenance of what it draws in a line at its bottom, and each caption says it too.
pub fn figures(cells: &[Cell]) -> Vec<(String, String, String)> {
    use ivc_proto::params::Experiment;
    let notif: Vec<&Cell> = cells.iter().filter(|c| c.experiment == Experiment::Notif).collect();
    let transfer: Vec<&Cell> = cells.iter().filter(|c| c.experiment == Experiment::Transfer).collect();
    let mut out = Vec::new();
    let mut add = |name: &str, title: String, of: &[&Cell], svg: String| {
        let holds = export::provenance_summary(of.iter().copied());
        out.push((name.to_string(), format!("{title}. {holds}."), super::plot::with_footer(&svg, &holds)));
    };
    if !notif.is_empty() {
        let axis = if super::plot::violin_is_log(&notif) {
            "log axis, chosen because the slowest cell's p99 is 20 times the fastest cell's median or more"
        } else {
            "linear axis"
        };
        add(
            "notif",
            format!("Notification round trip per configuration and hypervisor ({axis})"),
            &notif,
            super::plot::notif_violin(&notif),
        );
        add(
            "notif-tail",
            "Notification round trip tail: fraction of samples above a value".into(),
            &notif,
            super::plot::notif_tail(&notif),
        );
    }
    if !transfer.is_empty() {
        add(
            "transfer",
            "Transfer throughput by buffer size (ticks at the sizes measured): polling / interrupt, without / with interference".into(),
            &transfer,
            super::plot::transfer_grid(&transfer),
        );
    }
    out
}
