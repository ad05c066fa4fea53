//! End to end through a real hypervisor: Debian's Xen 4.17 booting dom0less under QEMU (icount
//! mode), with tx, rx and the interferer as domUs running the real guests. Needs what
//! scripts/setup.sh installs (QEMU 10, the guest target, Xen's package under .cache/xen).

mod common;

use common::{check_notif, check_transfer, ivcbench, run_ok, tx};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
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
    let meta = std::fs::read_to_string(d.path().join("notif/xen.meta.json")).unwrap();
    assert!(meta.contains("one vCPU per domain"), "placement on record: {meta}");
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
}

#[test]
fn xen_notif_with_an_interference_domain() {
    let d = tempdir();
    let c = run_ok("xen", d.path(), &["--experiment", "notif+interf", "--samples", "100", "--gap", "1ms", "--interf-report", "10ms"]);
    check_notif(tx(&c), 100, 10);
    let interf = c.run("interf").expect("the interference domain's stream");
    assert_eq!(interf.header.get("cpus"), Some("tx:dom1,rx:dom2,interf:dom3"));
    assert!(interf.progress.len() >= 2, "pass-rate records: {}", interf.progress.len());
    let raw = std::fs::read_to_string(d.path().join("notif/xen+interf")).unwrap();
    assert!(raw.lines().any(|l| l.starts_with("(XEN) DOM3: @ivc1 interf")), "interf runs in its own domain");
}

#[test]
fn xen_refuses_colouring_and_bad_xen_images() {
    let d = tempdir();
    let out = d.path().to_str().unwrap();
    let o = ivcbench(&["run", "--hypervisor", "xen", "--experiment", "notif+interf+col", "--out", out]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("without cache colouring"), "{err}");

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
