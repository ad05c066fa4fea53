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
    if want(Format::Json) {
        put("report.json", &export::to_json(&rows, cells, opts.raw))?;
    }
    let md = export::to_markdown(&rows, cells);
    if want(Format::Md) {
        put("report.md", &md)?;
    }
    let figures = figures(cells);
    for (name, _, svg) in &figures {
        if want(Format::Svg) {
            put(&format!("{name}.svg"), svg)?;
        }
        if want(Format::Png) {
            super::plot::svg_to_png(svg, &opts.out.join(format!("{name}.png")), 2.0)?;
        }
    }
    if want(Format::Html) {
        let figs: Vec<(String, String)> = figures.into_iter().map(|(_, title, svg)| (title, svg)).collect();
        put("report.html", &export::to_html(&rows, cells, &figs, &status::matrix(cells)))?;
    }
    Ok(md)
}

/// (file name, caption, SVG) of every figure the cells have data for.
fn figures(cells: &[Cell]) -> Vec<(String, String, String)> {
    use ivc_proto::params::Experiment;
    let notif: Vec<&Cell> = cells.iter().filter(|c| c.experiment == Experiment::Notif).collect();
    let transfer: Vec<&Cell> = cells.iter().filter(|c| c.experiment == Experiment::Transfer).collect();
    let mut out = Vec::new();
    if !notif.is_empty() {
        out.push(("notif".into(), "Notification latency per configuration and hypervisor".into(), super::plot::notif_violin(&notif)));
        out.push((
            "notif-tail".into(),
            "Notification latency tail: fraction of samples above a latency".into(),
            super::plot::notif_tail(&notif),
        ));
    }
    if !transfer.is_empty() {
        out.push((
            "transfer".into(),
            "Transfer throughput by buffer size: polling / interrupt, without / with interference".into(),
            super::plot::transfer_grid(&transfer),
        ));
    }
    out
}
