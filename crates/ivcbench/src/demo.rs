//! `ivcbench demo`: a short run of every cell the QEMU testbed can give, then the report.
//!
//! The demo writes to its own directory (experiments/demo) and replaces only captures it made
//! itself ([`crate::keep`]); a capture someone else made is left alone, or kept as `<capture>.N`
//! with `force`. How one cell's run is set up (its `RunSpec`) is the command line's business, so
//! it comes in as a function; so does printing an outcome, which `run` shares.

use crate::names::{Configuration, Hypervisor};
use crate::report;
use crate::run::{self, Outcome, RunSpec};
use anyhow::Result;
use ivc_proto::params::Experiment;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the demo runs, and where.
pub struct Demo {
    pub out: PathBuf,
    /// Empty: baremetal and Xen.
    pub hypervisors: Vec<Hypervisor>,
    /// Empty: notif, notif+interf, transfer, transfer+interf (and, for Xen, its seven cells).
    pub cells: Vec<Configuration>,
    /// Samples per run [default: 1000 notifications, 10 transfers per buffer size].
    pub samples: Option<u32>,
    pub force: bool,
}

/// Makes the run of one cell: hypervisor, cell, samples, captures root, and whether a capture
/// the demo did not make is there and may be kept aside (`--force`).
pub type SpecFn<'a> = dyn Fn(Hypervisor, Configuration, u32, &Path, bool) -> Result<RunSpec> + 'a;

pub fn run(d: &Demo, spec_for: &SpecFn, print: &dyn Fn(&Outcome) -> Result<()>) -> Result<()> {
    let t = Instant::now();
    let out = &d.out;
    let hyps = if d.hypervisors.is_empty() { vec![Hypervisor::Baremetal, Hypervisor::Xen] } else { d.hypervisors.clone() };
    let configs: Vec<Configuration> = if d.cells.is_empty() {
        ["notif", "notif+interf", "transfer", "transfer+interf"].iter().map(|c| Configuration::parse(c)).collect::<Result<_>>()?
    } else {
        d.cells.clone()
    };
    eprintln!("ivcbench: demo: captures go to {} (the demo's own directory; it replaces only captures it made)", out.display());
    let mut outcomes = Vec::new();
    let mut kept = Vec::new();
    for &hyp in &hyps {
        // Xen: every cell the default Xen can give; the others are named with the reason.
        let cells = if d.cells.is_empty() && hyp == Hypervisor::Xen { xen_cells() } else { configs.clone() };
        for cfg in cells {
            let path = cfg.capture_path(out, hyp);
            let exists = path.exists() || run::meta_path(&path).exists();
            let default = if cfg.experiment == Experiment::Notif { 1000 } else { 10 };
            let spec = spec_for(hyp, cfg, d.samples.unwrap_or(default), out, exists)?;
            if let Some(why) = run::refusal(&spec) {
                eprintln!("demo: {hyp}/{cfg} refused: {why}");
                continue;
            }
            if exists && crate::keep::made_by(&path, "demo") {
                crate::keep::remove(&path)?;
            } else if exists && !d.force {
                eprintln!(
                    "ivcbench: demo: {} was not made by the demo: left as it is and its cell not run (--force keeps it as {}.N and runs the cell)",
                    path.display(),
                    path.display()
                );
                kept.push(path);
                continue;
            }
            outcomes.push(run::run(&spec)?);
        }
    }
    println!();
    for o in &outcomes {
        print(o)?;
        println!();
    }
    let load = report::load::LoadOptions { legacy_freq_hz: 100_000_000, lenient: false, hardware_tables: false, keep_order: false };
    let cells = report::output::load(out, &load)?;
    let report_dir = out.join("report");
    let opts = report::output::ReportOptions { load, out: report_dir.clone(), formats: Vec::new(), raw: false };
    let md = report::output::write(&cells, &opts)?;
    println!("{md}");
    print!("{}", report::status::matrix(&cells));
    for p in &kept {
        println!("demo: left {} untouched (not made by the demo)", p.display());
    }
    if hyps.contains(&Hypervisor::Xen) {
        print!("{}", xen_cells_note(out, &cells, spec_for)?);
    }
    println!(
        "demo: {} runs in {:.1} s wall; captures under {}, report in {} (open report.html)",
        outcomes.len(),
        t.elapsed().as_secs_f64(),
        out.display(),
        report_dir.display()
    );
    Ok(())
}

/// The seven Xen cells of the seed: notif and its four configurations, transfer and +interf.
pub fn xen_cells() -> Vec<Configuration> {
    [Experiment::Notif, Experiment::Transfer]
        .into_iter()
        .flat_map(|experiment| {
            report::status::configurations(experiment).into_iter().map(move |suffix| Configuration { experiment, suffix })
        })
        .collect()
}

/// Each Xen cell with no capture under `dir`, and why the testbed's default Xen refuses it, if it does.
pub fn xen_cells_note(dir: &Path, cells: &[report::dataset::Cell], spec_for: &SpecFn) -> Result<String> {
    let mut s = String::from("xen cells on this testbed (default Xen):\n");
    for cfg in xen_cells() {
        let found = cells.iter().find(|c| c.hypervisor == "xen" && c.experiment == cfg.experiment && c.suffix == cfg.suffix);
        let spec = spec_for(Hypervisor::Xen, cfg, 1, dir, false)?;
        let state = match (found, run::refusal(&spec)) {
            (Some(c), _) if c.damage.is_empty() => "done".to_string(),
            (Some(_), _) => "DAMAGED".to_string(),
            (None, Some(why)) => format!("refused: {why}"),
            (None, None) => "missing (the default Xen can run it)".to_string(),
        };
        s += &format!("  {:<24} {state}\n", cfg.to_string());
    }
    Ok(s)
}
