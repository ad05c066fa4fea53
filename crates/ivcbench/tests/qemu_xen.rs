//! End to end through a real hypervisor: Xen 4.17 booting dom0less under QEMU (icount mode), with
//! tx, rx and the interferer as domUs running the real guests. The default Xen is the static
//! partitioning one scripts/setup.sh builds from Debian's source package (every domain pinned,
//! as Xen itself reports after the run); Debian's binary package is run once with `--xen`.
//! Needs what scripts/setup.sh installs (QEMU 10, the guest target, both Xens under .cache/xen).

mod common;

use common::{check_notif, check_transfer, ivcbench, run_ok, tx};
use std::path::Path;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The placement on record, which must be Xen's own report of every domain alone on its CPU
/// (the testbed's `virt` keeps CPU 0 for Xen alone: domain d on CPU d).
fn assert_pinned(capture: &Path, domains: usize) {
    assert_pinned_from(capture, domains, 1)
}

/// As [`assert_pinned`], with domain d on CPU d - 1 + `first_cpu` in pool d - 1 + `first_cpu`.
fn assert_pinned_from(capture: &Path, domains: usize, first_cpu: usize) {
    let meta = std::fs::read_to_string(ivcbench::run::meta_path(capture)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&meta).unwrap();
    let placement = v["placement"].as_str().unwrap();
    assert!(placement.contains("Xen reports (debug key r, after the run) each domain alone on its own CPU"), "{placement}");
    for (i, role) in ["tx", "rx", "interf"].iter().take(domains).enumerate() {
        let (d, cpu) = (i + 1, i + first_cpu);
        assert!(placement.contains(&format!("{role} dom{d}: v0 on CPU {cpu} (pool {cpu}, null)")), "{placement}");
    }
    // The report is in the raw capture, after tx's end record.
    let raw = std::fs::read_to_string(capture).unwrap();
    let end = raw.rfind("@ivc1 tx").unwrap();
    assert!(raw[end..].contains("Scheduler: null Scheduler (null)"));
}

#[test]
fn xen_notif_through_an_event_channel() {
    let d = tempdir();
    let c = run_ok("xen", d.path(), &["--experiment", "notif", "--samples", "200", "--gap", "1ms"]);
    let r = tx(&c);
    assert_eq!((r.header.hypervisor.as_str(), r.header.freq_hz), ("xen", 62_500_000));
    assert_eq!(r.header.get("cpus"), Some("tx:dom1,rx:dom2,interf:dom3"));
    check_notif(r, 200, 10);
    // The capture went through Xen's console: every record behind a domain prefix.
    let raw = std::fs::read_to_string(d.path().join("notif/xen")).unwrap();
    assert!(raw.lines().filter(|l| l.contains("@ivc1 ")).all(|l| l.starts_with("(XEN) DOM1: ")));
    assert_pinned(&d.path().join("notif/xen"), 2);
}

#[test]
fn debian_binary_package_stays_selectable_unpinned() {
    let d = tempdir();
    let debian = ivcbench::build::project_root().join(ivcbench::xen::DEBIAN_XEN);
    let c = run_ok("xen", d.path(), &["--experiment", "notif", "--samples", "50", "--gap", "1ms", "--xen", debian.to_str().unwrap()]);
    check_notif(tx(&c), 50, 10);
    let meta = std::fs::read_to_string(d.path().join("notif/xen.meta.json")).unwrap();
    assert!(meta.contains("not pinned; Xen reports (debug key r, after the run): tx dom1: "), "{meta}");
    assert!(meta.contains("null scheduler: no, boot-time cpupools: no"), "{meta}");
}

#[test]
fn xen_transfer_polling_and_interrupt_through_grants() {
    let d = tempdir();
    let c = run_ok(
        "xen",
        d.path(),
        &["--experiment", "transfer", "--samples", "3", "--warmups", "1", "--total", "256K", "--buffers", "4K,32K,256K", "--gap", "100us"],
    );
    check_transfer(tx(&c), 3, 1, 256 << 10, &[4 << 10, 32 << 10, 256 << 10]);
    assert_pinned(&d.path().join("transfer/xen"), 2);
}

#[test]
fn xen_transfer_with_an_interference_domain() {
    let d = tempdir();
    let c = run_ok(
        "xen",
        d.path(),
        &[
            "--experiment",
            "transfer+interf",
            "--samples",
            "2",
            "--warmups",
            "1",
            "--total",
            "256K",
            "--buffers",
            "4K,256K",
            "--gap",
            "100us",
        ],
    );
    check_transfer(tx(&c), 2, 1, 256 << 10, &[4 << 10, 256 << 10]);
    assert_pinned(&d.path().join("transfer/xen+interf"), 3);
}

#[test]
fn xen_notif_with_an_interference_domain() {
    let d = tempdir();
    let c = run_ok("xen", d.path(), &["--experiment", "notif+interf", "--samples", "100", "--gap", "1ms", "--interf-report", "10ms"]);
    let t = tx(&c);
    check_notif(t, 100, 10);
    let interf = c.run("interf").expect("the interference domain's stream");
    assert_eq!(interf.header.get("cpus"), Some("tx:dom1,rx:dom2,interf:dom3"));
    // Its passes reach tx through the status page it grants; its console is quiet once it sweeps.
    assert_eq!(interf.progress.len(), 1, "only the interferer's first report goes through Xen's console");
    let passes = t.progress.iter().flat_map(|f| f.iter()).find(|(k, _)| k == "interf_passes").map(|(_, v)| v.parse::<u64>().unwrap());
    assert!(passes.is_some_and(|p| p > 10), "tx reports the interferer's passes: {passes:?}");
    let raw = std::fs::read_to_string(d.path().join("notif/xen+interf")).unwrap();
    assert!(raw.lines().any(|l| l.starts_with("(XEN) DOM3: @ivc1 interf")), "interf runs in its own domain");
    assert_pinned(&d.path().join("notif/xen+interf"), 3);
}

#[test]
fn xen_on_the_zynqmp_model_from_the_boards_generated_files() {
    // The zcu102 cell: Xen boots on QEMU's ZCU102 model with the board's generated /chosen
    // fragment (cpupools, domains) and its images at the boot script's addresses; each domain
    // alone on its board core (tx 0, rx 1, interf 2).
    let d = tempdir();
    let c = run_ok("xen", d.path(), &["--platform", "zcu102", "--experiment", "notif+interf", "--samples", "100", "--gap", "1ms"]);
    let t = tx(&c);
    check_notif(t, 100, 10);
    assert_eq!(t.header.platform, "zcu102");
    assert_pinned_from(&d.path().join("notif/xen+interf"), 3, 0);
    let raw = std::fs::read_to_string(d.path().join("notif/xen+interf")).unwrap();
    assert!(raw.contains("(XEN) Loading d1 kernel from boot module @ 0000000004000000"), "the boot script's address");
}

#[test]
fn xen_refuses_colouring_and_bad_xen_images() {
    let d = tempdir();
    let out = d.path().to_str().unwrap();
    let o = ivcbench(&["run", "--hypervisor", "xen", "--experiment", "notif+interf+col", "--out", out]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("built without LLC colouring") && err.contains("LLC colouring: no"), "{err}");

    let o = ivcbench(&["run", "--hypervisor", "xen", "--experiment", "notif", "--out", out, "--xen", "/nonexistent/xen"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("/nonexistent/xen: no such Xen image"), "{err}");

    // Something that is not Xen: QEMU runs it, nothing ever prints, and the run ends with a
    // clear error at the boot timeout instead of hanging.
    let junk = d.path().join("junk.bin");
    std::fs::write(&junk, vec![0u8; 4096]).unwrap();
    let o = ivcbench(&[
        "run",
        "--hypervisor",
        "xen",
        "--experiment",
        "notif",
        "--out",
        out,
        "--xen",
        junk.to_str().unwrap(),
        "--boot-timeout",
        "3s",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("nothing at all came out within 3 s"), "{err}");
    assert!(d.path().join("notif/xen").exists(), "the raw console is kept");
}

/// Xen traps a dom0less domain's PMU and emulates it as reading zero (no vPMU for dom0less
/// domains): tx reads PMCR_EL0.N = 0, records nothing and the run fails saying why.
#[test]
fn xen_refuses_pmu_events_without_a_vpmu() {
    let d = tempdir();
    let out = d.path().to_str().unwrap();
    let args = [
        "run",
        "--hypervisor",
        "xen",
        "--out",
        out,
        "--experiment",
        "notif",
        "--samples",
        "5",
        "--pmu-events",
        "inst_ret:el1,inst_ret:el2",
    ];
    let o = ivcbench(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    for want in
        ["refused by tx's PMU on xen/qemu-virt: it has no event counters (tx read PMCR_EL0.N = 0", "dom0less domains cannot ask for a vPMU"]
    {
        assert!(stderr.contains(want), "missing `{want}` in:\n{stderr}");
    }
    let c = ivc_proto::capture::decode(&std::fs::read(d.path().join("notif/xen")).unwrap()).unwrap();
    let r = c.run("tx").unwrap();
    assert_eq!((r.header.get("pmu_n"), r.header.get("pmceid"), r.groups.len()), (Some("0"), Some("0x0"), 0));
}
