//! `ivcbench report` and `ivcbench status`: load a captures directory and write every output.

use super::dataset::{Cell, Provenance};
use super::export;
use super::load::{self, LoadOptions, Loaded};
use super::status;
use crate::names::Suffix;
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
        put("report-pathlen.csv", &super::pathlen::to_csv(&super::pathlen::rows(cells)))?;
        put("report-pmu.csv", &super::pmu::to_csv(&export::pmu_rows(cells)))?;
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
    // The Markdown lists the figures under their captions, linked where they were written.
    let file = |name: &str| match (want(Format::Svg), want(Format::Png)) {
        (true, _) => format!("{name}.svg"),
        (false, true) => format!("{name}.png"),
        _ => String::new(),
    };
    let listed: Vec<(String, String)> = figures.iter().map(|(name, caption, _)| (file(name), caption.clone())).collect();
    let md = export::to_markdown(&rows, cells, &comparisons, &listed);
    if want(Format::Md) {
        put("report.md", &md)?;
    }
    if want(Format::Html) {
        let figs: Vec<(String, String)> = figures.into_iter().map(|(_, title, svg)| (title, svg)).collect();
        put("report.html", &export::to_html(&md, cells, &figs, &status::matrix(cells)))?;
    }
    Ok(md)
}

/// What the emulated clock does, for a latency or throughput figure that shows an emulated
/// `+interf` cell (`effect`: what happens to the figure's metric); `None` when it shows none
/// (hardware and unknown captures keep their time).
pub fn emulated_clock_note(drawn: &[&Cell], effect: &str, pathlen_figure: bool) -> Option<String> {
    let emulated_interf = drawn.iter().any(|c| c.suffix.interf && matches!(c.provenance, Provenance::Emulated { .. }));
    let measure = if pathlen_figure { "the path-length figure is" } else { "path lengths (run --pathlen) are" };
    emulated_interf.then(|| {
        format!(
            "Emulated +interf: on the QEMU testbed (icount) virtual time advances with every vCPU's instructions, so a busy \
             neighbour makes the clock run faster for tx and rx and {effect} without any cache model; {measure} the measure of the mechanism."
        )
    })
}

/// (file name, caption, SVG) of every figure the cells have data for. Each image carries the
/// provenance of what it draws in a line at its bottom, and each caption says it too; a latency
/// or throughput figure with an emulated `+interf` cell also says what the emulated clock does.
pub fn figures(cells: &[Cell]) -> Vec<(String, String, String)> {
    use ivc_proto::params::Experiment;
    let notif: Vec<&Cell> = cells.iter().filter(|c| c.experiment == Experiment::Notif).collect();
    let transfer: Vec<&Cell> = cells.iter().filter(|c| c.experiment == Experiment::Transfer).collect();
    let pathlen = super::plot::pathlen_bars(&notif);
    let mut out = Vec::new();
    let mut add = |name: &str, title: String, of: &[&Cell], svg: String, note: Option<String>| {
        let holds = export::provenance_summary(of.iter().copied());
        let mut lines = vec![holds.as_str()];
        lines.extend(note.as_deref());
        let caption = match &note {
            Some(n) => format!("{title}. {holds}. {n}"),
            None => format!("{title}. {holds}."),
        };
        out.push((name.to_string(), caption, super::plot::with_footer(&svg, &lines)));
    };
    if !notif.is_empty() {
        let axis = if super::plot::violin_is_log(&notif) {
            "log axis, chosen because the slowest cell's p99 is 20 times the fastest cell's median or more"
        } else {
            "linear axis"
        };
        let note = emulated_clock_note(&notif, "the emulated latency can rise", pathlen.is_some());
        add(
            "notif",
            format!("Notification round trip per configuration and hypervisor ({axis})"),
            &notif,
            super::plot::notif_violin(&notif),
            note.clone(),
        );
        add(
            "notif-tail",
            "Notification round trip tail: fraction of samples above a value".into(),
            &notif,
            super::plot::notif_tail(&notif),
            note,
        );
    }
    if let Some(svg) = pathlen {
        let with: Vec<&Cell> = notif.iter().copied().filter(|c| matches!(c.pathlen, Some(Ok(_)))).collect();
        add(
            "pathlen",
            "Path length per notification: instructions along the notification path (median over the recorded windows, \
             counted by the TCG plugin of run --pathlen), per hypervisor and configuration, EL1 at the bottom and EL2 stacked on \
             top, tx and rx in a panel each; the label is EL1+EL2"
                .into(),
            &with,
            svg,
            None,
        );
    }
    if let Some(svg) = super::plot::pmu_bars(&notif) {
        let with: Vec<&Cell> =
            notif.iter().copied().filter(|c| matches!(&c.data, super::dataset::CellData::Notif(d) if !d.pmu.is_empty())).collect();
        add(
            "pmu",
            "PMU events per sample (mean), a panel per event, per hypervisor and configuration: EL1 at the bottom and EL2 stacked \
             on top where both were counted; an event counted at one level only, or by one counter for both, stands alone and its \
             panel's title says so"
                .into(),
            &with,
            svg,
            None,
        );
    }
    if !transfer.is_empty() {
        // The transfer figure draws the base setup and +interf only.
        let drawn: Vec<&Cell> = transfer
            .iter()
            .copied()
            .filter(|c| c.suffix == Suffix::default() || c.suffix == Suffix { interf: true, ..Suffix::default() })
            .collect();
        add(
            "transfer",
            "Transfer throughput by buffer size (ticks at the sizes measured): polling / interrupt, without / with interference".into(),
            &transfer,
            super::plot::transfer_grid(&transfer),
            emulated_clock_note(&drawn, "the emulated throughput can fall", false),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plot::tests::{notif, transfer};

    #[test]
    fn the_emulated_clock_is_said_only_for_emulated_interf_cells() {
        let emulated = Provenance::Emulated { testbed: "emulated on QEMU virt".into() };
        let mut a = notif("xen", "+interf", 5000.0, 1);
        a.provenance = emulated.clone();
        let mut base = notif("xen", "", 5000.0, 2);
        base.provenance = emulated.clone();
        let mut board = notif("xen", "+interf", 5000.0, 3);
        board.provenance = Provenance::Hardware { how: "serial target run on /dev/ttyUSB0".into() };
        assert!(emulated_clock_note(&[&base, &a], "x", false).unwrap().contains("virtual time advances with every vCPU's instructions"));
        assert_eq!(emulated_clock_note(&[&base, &board], "x", false), None);
        assert_eq!(emulated_clock_note(&[&base], "x", true), None);
        // The transfer figure draws base and +interf: its caption and image carry the note, the
        // path-length note points at the figure only where there is one.
        let mut t = transfer("xen", "+interf", 900.0, 4);
        t.provenance = emulated;
        let figs = figures(&[t]);
        let (_, caption, svg) = figs.iter().find(|f| f.0 == "transfer").unwrap();
        assert!(caption.contains("the emulated throughput can fall") && caption.contains("path lengths (run --pathlen)"), "{caption}");
        assert!(svg.contains("class=\"note\""));
    }
}
