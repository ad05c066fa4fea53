//! The seed's "for each hypervisor, for each configuration": which cells of the matrix exist,
//! which are missing and which are damaged.

use super::dataset::{Cell, CellData};
use crate::names::{Hypervisor, Suffix};
use ivc_proto::params::Experiment;
use std::fmt::Write;

/// Configurations each experiment has, in the seed's order.
pub fn configurations(e: Experiment) -> Vec<Suffix> {
    match e {
        Experiment::Notif => Suffix::ALL.to_vec(),
        Experiment::Transfer => vec![Suffix::default(), Suffix { interf: true, ..Suffix::default() }],
    }
}

fn samples(c: &Cell) -> usize {
    match &c.data {
        CellData::Notif(d) => d.latency.len(),
        CellData::Transfer(t) => t.iter().map(|s| s.ticks.len()).sum(),
    }
}

/// A text table per experiment: rows hypervisors (the five known, then any other found), columns
/// configurations; each cell `ok <samples>`, `DAMAGED` or `-` (missing). Captures whose
/// configuration the experiment does not define are listed below the table.
pub fn matrix(cells: &[Cell]) -> String {
    let mut hyps: Vec<String> = Hypervisor::ALL.iter().map(|h| h.name().to_string()).collect();
    for c in cells {
        if !hyps.contains(&c.hypervisor) {
            hyps.push(c.hypervisor.clone());
        }
    }
    let mut s = String::new();
    for e in [Experiment::Notif, Experiment::Transfer] {
        let cfgs = configurations(e);
        let names: Vec<String> =
            cfgs.iter().map(|c| if *c == Suffix::default() { e.name().to_string() } else { format!("{}{c}", e.name()) }).collect();
        let w = names.iter().map(String::len).max().unwrap_or(8).max(10);
        let _ = write!(s, "{:<10}", e.name());
        for n in &names {
            let _ = write!(s, " {n:>w$}");
        }
        s.push('\n');
        let (mut done, mut damaged) = (0, 0);
        for h in &hyps {
            let _ = write!(s, "{h:<10}");
            for cfg in &cfgs {
                let found = cells.iter().find(|c| c.experiment == e && &c.hypervisor == h && c.suffix == *cfg);
                let mark = match found {
                    None => "-".to_string(),
                    Some(c) if !c.damage.is_empty() => {
                        damaged += 1;
                        "DAMAGED".to_string()
                    }
                    Some(c) => {
                        done += 1;
                        format!("ok {}", samples(c))
                    }
                };
                let _ = write!(s, " {mark:>w$}");
            }
            s.push('\n');
        }
        let total = hyps.len() * cfgs.len();
        let _ = writeln!(s, "{done} of {total} cells done, {damaged} damaged, {} missing", total - done - damaged);
        for c in cells.iter().filter(|c| c.experiment == e && !cfgs.contains(&c.suffix)) {
            let _ = writeln!(s, "  (also {}: not a configuration of {})", c.path.display(), e.name());
        }
        for c in cells.iter().filter(|c| c.experiment == e && !c.damage.is_empty()) {
            let _ = writeln!(s, "  {}: {}", c.path.display(), c.damage.first().map(String::as_str).unwrap_or(""));
        }
        s.push('\n');
    }
    s
}
