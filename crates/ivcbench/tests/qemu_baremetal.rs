//! End to end on the emulated testbed: the real guests on real QEMU (icount mode), captured by
//! the real `ivcbench` binary, decoded and checked. Needs qemu-system-aarch64 10 and the
//! aarch64-unknown-none target (scripts/setup.sh installs both).

mod common;

use common::{check_notif, check_transfer, ivcbench, tx};
use std::path::{Path, PathBuf};
use std::process::Command;

fn run_ok(out: &Path, args: &[&str]) -> ivc_proto::capture::Capture {
    common::run_ok("baremetal", out, args)
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn notif_is_complete_and_deterministic() {
    let (a, b) = (tempdir(), tempdir());
    let args = ["--experiment", "notif", "--samples", "300", "--gap", "200us"];
    let first = run_ok(a.path(), &args);
    let r = tx(&first);
    assert_eq!(r.header.hypervisor, "baremetal");
    assert_eq!(r.header.config, "");
    // QEMU virt's counter runs at 62.5 MHz; the host never tells the guest, it reads CNTFRQ_EL0.
    assert_eq!(r.header.freq_hz, 62_500_000);
    check_notif(r, 300, 10);
    // Same build, same icount settings: the same samples, bit for bit.
    let second = run_ok(b.path(), &args);
    assert_eq!(tx(&second).groups, r.groups);
}

#[test]
fn notif_with_interference_records_its_pass_rate() {
    let d = tempdir();
    let c = run_ok(d.path(), &["--experiment", "notif+interf", "--samples", "100", "--gap", "1ms", "--interf-report", "20ms"]);
    let r = tx(&c);
    assert_eq!(r.header.config, "+interf");
    check_notif(r, 100, 10);
    // The one UART is tx's capture: the interferer reports once as it starts, then counts its
    // passes in a status page that tx reads and puts on record before its end record.
    let interf = c.run("interf").expect("the interferer's stream");
    assert!(interf.damage.is_empty(), "{:?}", interf.damage);
    assert_eq!(interf.progress.len(), 1, "the interferer keeps the shared console quiet after its first report");
    let num = |k: &str| -> u64 {
        let f = r.progress.iter().rev().find(|f| f.iter().any(|(key, _)| key == "interf_passes")).expect("tx records the status page");
        f.iter().find(|(key, _)| key == k).unwrap().1.parse().unwrap()
    };
    let (passes, t0, t) = (num("interf_passes"), num("interf_t0"), num("interf_t"));
    assert!(passes >= 2 && t > t0, "the interferer kept running while tx measured: {passes} passes");
    let line = ivcbench::report::interference(&c).expect("an interference line");
    let expect = format!("interferer: {passes} passes over 2M");
    assert!(line.contains(&expect) && line.contains("(from its status page, read by tx)"), "{line}");
    assert!(ivcbench::report::interference(&run_ok(tempdir().path(), &["--experiment", "notif", "--samples", "20"])).is_none());
}

#[test]
fn transfer_polling_and_interrupt_verify_every_chunk() {
    let d = tempdir();
    let c = run_ok(
        d.path(),
        &["--experiment", "transfer", "--samples", "3", "--warmups", "1", "--total", "256K", "--buffers", "4K,32K,256K", "--gap", "100us"],
    );
    check_transfer(tx(&c), 3, 1, 256 << 10, &[4 << 10, 32 << 10, 256 << 10]);
}

#[test]
fn existing_capture_is_not_overwritten() {
    let d = tempdir();
    let path: PathBuf = d.path().join("notif/baremetal");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "precious").unwrap();
    let o = ivcbench(&["run", "--hypervisor", "baremetal", "--experiment", "notif", "--out", d.path().to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[test]
fn damaged_captures_are_reported_with_their_line() {
    let d = tempdir();
    run_ok(d.path(), &["--experiment", "notif", "--samples", "100", "--gap", "100us"]);
    let path = d.path().join("notif/baremetal");
    let text = std::fs::read_to_string(&path).unwrap();
    let ok = ivcbench(&["summary", path.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let lines: Vec<&str> = text.split('\n').collect();
    let sample_line = lines.iter().position(|l| l.contains("@ivc1 tx") && l.contains(" S ")).unwrap();

    let flipped = d.path().join("flipped");
    let mut bytes = text.clone().into_bytes();
    let at = text.find(lines[sample_line]).unwrap() + 20;
    bytes[at] ^= 0x04;
    std::fs::write(&flipped, bytes).unwrap();
    let dropped = d.path().join("dropped");
    let kept: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != sample_line).map(|(_, l)| *l).collect();
    std::fs::write(&dropped, kept.join("\n")).unwrap();
    let cut = d.path().join("cut");
    let end_line = lines.iter().position(|l| l.contains("@ivc1 tx") && l.contains(" E ")).unwrap();
    std::fs::write(&cut, lines[..end_line].join("\n") + "\n").unwrap();

    for (file, want) in [
        (&flipped, format!("line {}: record damaged", sample_line + 1)),
        (&dropped, format!("line {}: 1 record(s) of tx missing", sample_line + 1)),
        (&cut, "has no end record".to_string()),
    ] {
        let o = ivcbench(&["summary", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{} must fail", file.display());
        assert!(err.contains(&want), "{}: want {want:?} in {err}", file.display());
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let o = ivcbench(&["run", "--hypervisor", "baremetal", "--experiment", "notif", "--sampels", "3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--samples"), "clap suggests the right flag");
    let o = ivcbench(&["run", "--hypervisor", "baremetal", "--experiment", "notif+col"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("colour"), "{}", String::from_utf8_lossy(&o.stderr));
    let d = tempdir();
    let o = Command::new(env!("CARGO_BIN_EXE_ivcbench"))
        .args(["run", "--hypervisor", "baremetal", "--experiment", "notif", "--out", d.path().to_str().unwrap()])
        .env("IVCBENCH_QEMU", "/nonexistent/qemu-system-aarch64")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("not found") && err.contains("scripts/setup.sh"), "{err}");
}

#[test]
fn notif_with_a_jittered_microsecond_gap() {
    let d = tempdir();
    let c = run_ok(d.path(), &["--experiment", "notif", "--samples", "5000", "--gap", "2us", "--gap-jitter", "3us"]);
    let r = tx(&c);
    assert_eq!((r.header.gap_ns, r.header.get("gap_jitter_ns")), (2000, Some("3000")));
    check_notif(r, 5000, 10);
}
