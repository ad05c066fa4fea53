//! PMU events per notif sample (`run --pmu-events`, docs/pmu.md): the run's parameters, the
//! refusals before and after a run, and the summary of the PMU columns.
//!
//! tx decides on its own PMU whether it can record what was asked (only it can read PMCR_EL0 and
//! PMCEID); when it cannot, it records no sample and ends its run with `pmu=refused`, and
//! [`check`] turns that into an error that names the events, what the PMU implements and why.

use crate::names::Hypervisor;
use crate::run::RunSpec;
use anyhow::{bail, Result};
use ivc_proto::capture::{Capture, Run, CYCLES};
use ivc_proto::params::{flag, Experiment, Params};
use ivc_proto::pmu::{self, Counter, El, Selection};
use std::fmt::Write;

/// Parses `--pmu-events` (ivc_proto::pmu::Selection::parse: `artifact`, or a comma list of
/// `<event>[:el1|el2|el1+2]`).
pub fn parse(spec: &str) -> Result<Selection, String> {
    Selection::parse(spec).map_err(|e| format!("{e} (in `{spec}`)"))
}

/// Puts a selection into the run's parameters. On the QEMU testbed (`qemu`), tx also refuses
/// events PMCEID cannot vouch for: QEMU implements no implementation-defined event, where a
/// board's core does (Cortex-A53's EXC_IRQ, 0x86).
pub fn apply(p: &mut Params, sel: Selection, experiment: Experiment, qemu: bool) -> Result<()> {
    if sel.is_empty() {
        return Ok(());
    }
    if experiment != Experiment::Notif {
        bail!("--pmu-events is for notif (the artifact counted PMU events per notification); transfer records none");
    }
    if p.has(flag::HISTOGRAM) {
        bail!(
            "--pmu-events with --histogram: histogram mode keeps latency buckets only, so the PMU columns would be lost; drop one of them"
        );
    }
    p.pmu = sel;
    if qemu {
        p.flags |= flag::PMU_PMCEID_ONLY;
    }
    Ok(())
}

/// After a run: tx's refusal, if it refused, as an error naming what and why.
pub fn check(spec: &RunSpec, capture: &Capture) -> Result<()> {
    let Some(tx) = capture.run("tx") else { return Ok(()) };
    let refused = tx.end.as_ref().is_some_and(|e| e.iter().any(|(k, v)| k == "pmu" && v == "refused"));
    if !refused {
        return Ok(());
    }
    bail!("{}", refusal(spec.hypervisor, spec.platform.name, &spec.params, tx));
}

/// The message for a refused run.
pub fn refusal(hyp: Hypervisor, platform: &str, p: &Params, tx: &Run) -> String {
    let num = |k: &str| tx.header.get(k).and_then(parse_u64).unwrap_or(0);
    let (n, ceid, ceid_hi) = (num("pmu_n"), num("pmceid"), num("pmceid_hi"));
    let mut m = format!("--pmu-events refused by tx's PMU on {hyp}/{platform}: ");
    if n == 0 {
        let _ = write!(m, "it has no event counters (tx read PMCR_EL0.N = 0, PMCEID = {ceid:#x}). {}", no_counters_why(hyp));
        return m;
    }
    if p.has(flag::HISTOGRAM) {
        m.push_str("histogram mode keeps latencies only. ");
    }
    let mut missing: Vec<String> = Vec::new();
    for c in p.pmu.as_slice() {
        let absent = match c.implemented(ceid, ceid_hi) {
            Some(implemented) => !implemented,
            None => p.has(flag::PMU_PMCEID_ONLY),
        };
        let name = format!("{} ({:#04x})", event_name(c.event), c.event);
        if absent && !missing.contains(&name) {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        let _ = write!(m, "not implemented: {}. ", missing.join(", "));
    }
    let _ = write!(m, "This PMU has {n} event counters and implements {}", implemented(ceid, ceid_hi));
    if p.has(flag::PMU_PMCEID_ONLY) {
        m.push_str(" (on the QEMU testbed, QEMU implements no implementation-defined event, so only these can be counted)");
    }
    m.push('.');
    // A board's image got its events from `ivcbench config`, not from this command: tx's notes
    // say what it refused either way.
    if missing.is_empty() {
        let notes: Vec<&str> = tx.notes.iter().map(String::as_str).filter(|n| n.starts_with("pmu: ")).collect();
        let _ = write!(m, " tx says: {}", notes.join("; "));
    }
    m
}

/// Why tx sees no event counters under `hyp` (docs/pmu.md has the source lines).
pub fn no_counters_why(hyp: Hypervisor) -> &'static str {
    match hyp {
        Hypervisor::Xen => {
            "Xen traps a domain's PMU accesses (MDCR_EL2.TPM and TPMCR) unless the domain was created with a virtual PMU \
             (XEN_DOMCTL_CDF_vpmu) and emulates PMCR_EL0, PMCEID and the indirect counter registers as reading zero; \
             dom0less domains cannot ask for a vPMU (no device-tree property for it, up to Xen master of 2026-08), so a dom0less guest \
             has no counters (docs/pmu.md)"
        }
        _ => "the hypervisor hides the event counters from the guest (MDCR_EL2.HPMN = 0, or PMCR_EL0 emulated as zero; docs/pmu.md)",
    }
}

/// Arm's name of an event, or its number.
fn event_name(e: u16) -> String {
    pmu::event(e).map_or_else(|| format!("{e:#x}"), |ev| ev.arm.to_string())
}

/// The events PMCEID says are implemented, by name.
pub fn implemented(ceid: u64, ceid_hi: u64) -> String {
    let names: Vec<String> = (0..64u16)
        .filter(|&b| ceid >> b & 1 == 1)
        .chain((0..64u16).filter(|&b| ceid_hi >> b & 1 == 1).map(|b| 0x4000 + b))
        .map(|e| format!("{} ({e:#04x})", event_name(e)))
        .collect();
    if names.is_empty() {
        "no common event (PMCEID reads 0)".into()
    } else {
        names.join(", ")
    }
}

fn parse_u64(v: &str) -> Option<u64> {
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// What the QEMU testbed's PMU counts, printed beside its figures.
pub const QEMU_NOTE: &str = "QEMU's PMU models no cache, TLB, bus or exception event; under icount its INST_RETIRED counts the machine's \
     one instruction count (every vCPU's, not tx's core alone) while the filter's exception level runs on tx's core, and \
     `cycles` and CPU_CYCLES count virtual time at 1 GHz (16 per instruction of any vCPU at shift=4)";

/// The PMU columns of tx's run, per group: median, min and max, with what they were measured on;
/// `None` for a run without PMU groups.
pub fn summary(tx: &Run, testbed: &str) -> Option<String> {
    if tx.groups.iter().all(|g| g.pmu.is_empty()) {
        return None;
    }
    let el2 = tx.header.get("pmu_el2") != Some("0");
    let mut s = String::new();
    let _ = writeln!(s, "  PMU events on tx's core, per sample from before the doorbell to after rx's acknowledgement ({testbed}):");
    if testbed.contains("QEMU") {
        let _ = writeln!(s, "    {QEMU_NOTE}");
    }
    let _ = writeln!(s, "    {:<22} {:>5} {:>12} {:>12} {:>12}", "column", "group", "median", "min", "max");
    for (k, g) in tx.groups.iter().enumerate().filter(|(_, g)| !g.pmu.is_empty()) {
        let base = tx.header.columns.len();
        let names = g.names(&tx.header);
        for (i, name) in names.iter().enumerate().skip(base) {
            let counter: Option<&Counter> = g.pmu.get(i - base);
            let filter = counter.map_or(El::El1And2, |c| c.el);
            let _ = write!(s, "    {name:<22} {:>5} ", k + 1);
            if !el2 && filter == El::El2 {
                let _ = writeln!(s, "not measured: this core has no EL2 (NSH is RES0), so an EL2-only counter counts nothing");
                continue;
            }
            let mut v = g.columns[i].clone();
            v.sort_unstable();
            match (v.first(), v.last()) {
                (Some(min), Some(max)) => {
                    let _ = write!(s, "{:>12} {min:>12} {max:>12}", v[(v.len() - 1) / 2]);
                }
                _ => {
                    let _ = write!(s, "{:>12}", "no sample");
                }
            }
            if !el2 && filter == El::El1And2 {
                s.push_str("  (EL1 only: no EL2 here)");
            }
            if name == CYCLES {
                let _ = write!(s, "  (filter {})", tx.header.get("pmu_cycles").unwrap_or("?"));
            }
            s.push('\n');
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implemented_names_read_pmceid() {
        // SW_INCR, INST_RETIRED, CPU_CYCLES (what QEMU 10's testbed CPU lists), and three of PMCEID1's.
        let ceid = 1 | 1 << 8 | 1 << 0x11 | 1u64 << (32 + 3) | 1u64 << (32 + 4) | 1u64 << (32 + 0x1c);
        let s = implemented(ceid, 0);
        assert_eq!(s, "SW_INCR (0x00), INST_RETIRED (0x08), CPU_CYCLES (0x11), STALL_FRONTEND (0x23), STALL_BACKEND (0x24), STALL (0x3c)");
        assert_eq!(implemented(0, 1), "0x4000 (0x4000)");
    }

    /// tx's refused run as the guest writes it (header fields, notes, `pmu=refused`).
    fn refused_run(n: &str, ceid: &str, notes: &[&str]) -> Run {
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        let mut r = Run::default();
        r.header.fields = vec![f("pmu_n", n), f("pmceid", ceid), f("pmceid_hi", "0x0")];
        r.notes = notes.iter().map(|s| s.to_string()).collect();
        r.end = Some(vec![f("pmu", "refused")]);
        r
    }

    #[test]
    fn refusals_name_events_and_why() {
        let p = Params { pmu: parse("inst_ret:el1,l1$d_miss:el1,l1$d_miss:el2").unwrap(), ..Params::DEFAULT };
        let m = refusal(Hypervisor::Xen, "qemu-virt", &p, &refused_run("0", "0x0", &[]));
        assert!(m.contains("no event counters (tx read PMCR_EL0.N = 0") && m.contains("dom0less domains cannot ask for a vPMU"), "{m}");
        let m = refusal(Hypervisor::Bao, "zcu104", &p, &refused_run("6", "0x101", &[]));
        assert!(m.contains("not implemented: L1D_CACHE_REFILL (0x03). This PMU has 6 event counters and implements SW_INCR (0x00), INST_RETIRED (0x08)."), "{m}");
        // Events that came with a board's image, not with this command: tx's notes say which.
        let note = "pmu: event 0x3 not implemented (PMCEID); refused";
        let m = refusal(Hypervisor::Bao, "zcu104", &Params::DEFAULT, &refused_run("6", "0x101", &[note, "other"]));
        assert!(m.ends_with(&format!("tx says: {note}")), "{m}");
    }

    #[test]
    fn refusals_before_the_run() {
        let sel = parse("artifact").unwrap();
        let mut p = Params::DEFAULT;
        assert!(apply(&mut p, sel, Experiment::Transfer, true).unwrap_err().to_string().contains("for notif"));
        p.flags |= flag::HISTOGRAM;
        assert!(apply(&mut p, sel, Experiment::Notif, true).unwrap_err().to_string().contains("--histogram"));
        let mut p = Params::DEFAULT;
        apply(&mut p, sel, Experiment::Notif, false).unwrap();
        assert_eq!((p.pmu, p.has(flag::PMU_PMCEID_ONLY)), (sel, false));
        assert!(parse("inst_ret:el9").unwrap_err().contains("`inst_ret:el9`"));
    }
}
