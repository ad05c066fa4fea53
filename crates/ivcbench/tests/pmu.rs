//! PMU events per notif sample (`run --pmu-events`, docs/pmu.md) on the emulated testbed: the real
//! guests on real QEMU read its PMU. QEMU 10's `virt` CPU has 6 event counters and implements
//! SW_INCR, INST_RETIRED and CPU_CYCLES only (its PMCEID, as tx reads it), so those are recorded
//! and every other event is refused. The Xen refusal (no counters for dom0less domains) is in
//! tests/qemu_xen.rs.

mod common;

use common::{check_notif, ivcbench, run_ok, tx};
use ivc_proto::capture::{decode, Group, Run};
use ivc_proto::params::Experiment;
use ivcbench::names::Suffix;
use ivcbench::report::dataset::CellData;
use ivcbench::report::load::{load_file, LoadOptions};
use std::path::Path;

fn col<'a>(g: &'a Group, r: &Run, name: &str) -> &'a [u64] {
    g.column(&r.header, name).unwrap_or_else(|| panic!("no column {name} in {:?}", g.names(&r.header)))
}

fn ivcbench_in(out: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["run", "--hypervisor", "baremetal", "--out", out.to_str().unwrap(), "--experiment", "notif"];
    all.extend_from_slice(args);
    ivcbench(&all)
}

#[test]
fn events_qemu_implements_are_recorded_per_sample() {
    let d = tempfile::tempdir().unwrap();
    let args = ["--experiment", "notif", "--samples", "40", "--gap", "200us", "--pmu-events", "inst_ret:el1,0x11:el1"];
    let c = run_ok("baremetal", d.path(), &args);
    let r = tx(&c);
    assert_eq!(r.header.version, 2);
    assert_eq!((r.header.get("pmu_n"), r.header.get("pmu_el2")), (Some("6"), Some("0")), "QEMU virt: 6 counters, no EL2");
    check_notif(r, 40, 10);
    assert_eq!(r.groups.len(), 1);
    let g = &r.groups[0];
    assert_eq!(g.names(&r.header), ["rtt", "oneway", "inst_ret_el1", "cpu_cycles_el1", "cycles"]);
    // Under icount (shift=4) the machine's clock advances 16 ns per instruction of any vCPU: one
    // tick of the 62.5 MHz counter, 16 of QEMU's 1 GHz cycle counter, and one INST_RETIRED (which
    // counts the machine's instructions under icount). The PMU's window holds the round trip's
    // plus the counter reads around it, so each count is the round trip in ticks plus a little.
    let (rtt, inst, ev_cycles, cycles) = (col(g, r, "rtt"), col(g, r, "inst_ret_el1"), col(g, r, "cpu_cycles_el1"), col(g, r, "cycles"));
    for i in 0..rtt.len() {
        let near = |x: u64| x >= rtt[i] && x <= rtt[i] + 64;
        assert!(near(inst[i]), "sample {i}: {} instructions for a round trip of {} ticks", inst[i], rtt[i]);
        assert!(near(cycles[i] / 16) && near(ev_cycles[i] / 16), "sample {i}: cycles {} / {} vs {} ticks", cycles[i], ev_cycles[i], rtt[i]);
    }
    // The summary prints the PMU columns and what QEMU's PMU counts.
    let again = ivcbench_in(tempfile::tempdir().unwrap().path(), &args[2..]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("inst_ret_el1") && stdout.contains("the machine's one instruction count"), "{stdout}");
    // `summary` on the saved capture prints them too, with what they were measured on.
    let capture = d.path().join("notif/baremetal");
    let o = ivcbench(&["summary", capture.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && stdout.contains("cpu_cycles_el1") && stdout.contains("emulated on QEMU virt"), "{stdout}");
    // The report reads the columns under the artifact's names, beside its own tables' columns.
    let opts = LoadOptions { legacy_freq_hz: 100_000_000, lenient: false, hardware_tables: false, keep_order: false };
    let cell = load_file(Experiment::Notif, "baremetal", Suffix::parse("").unwrap(), &d.path().join("notif/baremetal"), &opts).unwrap();
    let CellData::Notif(n) = &cell.data else { panic!("notif data") };
    let names: Vec<&str> = n.pmu.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["inst_ret_el1", "cpu_cycles_el1", "cycles"]);
    assert_eq!((n.pmu[0].n, n.pmu[0].min), (40, *inst.iter().min().unwrap()));
    assert_eq!(n.latency.len(), 40);
}

#[test]
fn more_events_than_counters_rotate_over_groups() {
    let d = tempfile::tempdir().unwrap();
    // 7 counters on QEMU's 6: two groups of 20 samples, 6 then 1 counters.
    let spec = "inst_ret:el1,inst_ret:el2,inst_ret:el1+2,CPU_CYCLES:el1,0x11:el2,0x11:el1+2,SW_INCR";
    // With the path lengths too: tx runs its warm-ups before each group, and the windows of both
    // groups line up with their samples (run fails otherwise).
    let c =
        run_ok("baremetal", d.path(), &["--experiment", "notif", "--samples", "20", "--gap", "200us", "--pmu-events", spec, "--pathlen"]);
    let r = tx(&c);
    assert_eq!(r.header.get("pmu_groups"), Some("2"));
    let pathlen = ivcbench::pathlen::load(&d.path().join("notif/baremetal.pathlen")).unwrap();
    assert_eq!(pathlen.samples.len(), 2 * (10 + 20), "a window per doorbell, warm-ups of both groups included");
    // The instrument's cost includes a read of the PMU (six counters and the cycle counter): a
    // select and a read per counter at least.
    let pmu_read: u64 = pathlen.calibrations.iter().find(|c| c.name == "pmu_read").expect("a pmu_read calibration").counts.iter().sum();
    assert!(pmu_read > 2 * 6, "pmu_read {pmu_read}");
    let sizes: Vec<usize> = r.groups.iter().map(|g| g.pmu.len()).collect();
    assert_eq!(sizes, [6, 1]);
    assert!(r.groups.iter().all(|g| g.count == 20 && g.lost_at.is_empty()));
    assert_eq!(ivc_proto::pmu::GroupList(&r.groups[1].pmu).to_string(), "0:el1");
    // Nothing increments SW_INCR; EL2 is absent on QEMU's virt without virtualization, so the
    // EL2-only counters count nothing and EL1+2 counts what EL1 does.
    let (g0, g1) = (&r.groups[0], &r.groups[1]);
    assert!(col(g1, r, "sw_incr_el1").iter().all(|&v| v == 0));
    assert!(col(g0, r, "inst_ret_el2").iter().all(|&v| v == 0));
    assert!(col(g0, r, "inst_ret_el1").iter().all(|&v| v > 0));
    // Nor does the report: the column is left out, with a note saying why.
    let opts = LoadOptions { legacy_freq_hz: 100_000_000, lenient: false, hardware_tables: false, keep_order: false };
    let cell = load_file(Experiment::Notif, "baremetal", Suffix::parse("").unwrap(), &d.path().join("notif/baremetal"), &opts).unwrap();
    let CellData::Notif(n) = &cell.data else { panic!("notif data") };
    assert!(n.pmu.iter().all(|s| !s.name.ends_with("_el2")) && n.pmu.iter().any(|s| s.name == "inst_ret_el1+2"));
    assert!(cell.notes.iter().any(|m| m.contains("PMU column cpu_cycles_el2 not measured: tx's core has no EL2")), "{:?}", cell.notes);
    assert_eq!(n.latency.len(), 40, "both groups' round trips");
    // The summary never prints an EL2-only column of a core without EL2 as a figure.
    let o = ivcbench_in(tempfile::tempdir().unwrap().path(), &["--samples", "5", "--pmu-events", "inst_ret:el2"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.lines().any(|l| l.contains("inst_ret_el2") && l.contains("not measured: this core has no EL2")), "{stdout}");
}

#[test]
fn the_artifacts_events_are_refused_naming_what_qemu_lacks() {
    let d = tempfile::tempdir().unwrap();
    let o = ivcbench_in(d.path(), &["--samples", "5", "--pmu-events", "artifact"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    for want in [
        "--pmu-events refused by tx's PMU on baremetal/qemu-virt",
        "not implemented: L1I_CACHE_REFILL (0x01), L1D_CACHE_REFILL (0x03), L2D_CACHE_REFILL (0x17), L1I_TLB_REFILL (0x02), \
         L1D_TLB_REFILL (0x05), MEM_ACCESS (0x13), BUS_ACCESS (0x19), EXC_TAKEN (0x09), EXC_IRQ (0x86).",
        "This PMU has 6 event counters and implements SW_INCR (0x00), INST_RETIRED (0x08), CPU_CYCLES (0x11)",
    ] {
        assert!(stderr.contains(want), "missing `{want}` in:\n{stderr}");
    }
    // The raw capture stays, and says so itself: no sample, the refusal in notes and end record.
    let c = decode(&std::fs::read(d.path().join("notif/baremetal")).unwrap()).unwrap();
    let r = c.run("tx").unwrap();
    assert!(r.groups.is_empty());
    assert!(r.notes.iter().any(|n| n == "pmu: event 0x86 outside PMCEID (the run counts listed ones only); refused"), "{:?}", r.notes);
    assert_eq!(common::end_field(r, "samples"), 0);
}

#[test]
fn bad_pmu_requests_are_refused_before_running() {
    let d = tempfile::tempdir().unwrap();
    for (args, want) in [
        (&["--pmu-events", "inst_ret:el1,l1$d_mis"][..], "`l1$d_mis`: unknown event"),
        (&["--pmu-events", "inst_ret:el4"][..], "`inst_ret:el4`: unknown filter"),
        (&["--pmu-events", "inst_ret", "--histogram"][..], "histogram mode keeps latency buckets only"),
    ] {
        let o = ivcbench_in(d.path(), args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && stderr.contains(want), "{args:?}: {stderr}");
    }
    let o = ivcbench(&[
        "run",
        "--hypervisor",
        "baremetal",
        "--out",
        d.path().to_str().unwrap(),
        "--experiment",
        "transfer",
        "--pmu-events",
        "inst_ret",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--pmu-events is for notif"));
    assert!(!d.path().join("notif").exists() && !d.path().join("transfer").exists(), "nothing ran");
}
