//! End to end on the emulated testbed: the real guests on real QEMU (icount mode), captured by
//! the real `ivcbench` binary, decoded and checked. Needs qemu-system-aarch64 10 and the
//! aarch64-unknown-none target (scripts/setup.sh installs both).

use ivc_proto::capture::{decode, Capture, Run};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ivcbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ivcbench")).args(args).output().expect("ivcbench runs")
}

fn run_ok(out: &Path, args: &[&str]) -> Capture {
    let mut all = vec!["run", "--hypervisor", "baremetal", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = ivcbench(&all);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "ivcbench {all:?} failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("emulated (QEMU icount"), "summary must say what it ran on:\n{stdout}");
    let exp = args[args.iter().position(|a| *a == "--experiment").unwrap() + 1];
    let (e, suffix) = exp.split_at(exp.find('+').unwrap_or(exp.len()));
    let path = out.join(e).join(format!("baremetal{suffix}"));
    decode(&std::fs::read(&path).unwrap()).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn tx(c: &Capture) -> &Run {
    let r = c.run("tx").expect("a tx run");
    assert!(r.is_complete(), "{:?}", r.damage);
    r
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
    let g = &r.groups[0];
    assert_eq!(g.count, 300);
    assert_eq!(r.lost(), 0);
    let rtt = g.column(&r.header, "rtt").unwrap();
    let oneway = g.column(&r.header, "oneway").unwrap();
    assert_eq!(rtt.len(), 300);
    assert!(rtt.iter().zip(oneway).all(|(&rt, &ow)| ow > 0 && ow < rt), "rx's handler runs between t0 and t1");
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
    assert_eq!((r.groups[0].count, r.lost()), (100, 0));
    let interf = c.run("interf").expect("the interferer's stream");
    assert!(interf.damage.is_empty(), "{:?}", interf.damage);
    assert!(interf.progress.len() >= 2, "pass-rate records: {}", interf.progress.len());
    let passes: Vec<u64> = interf
        .progress
        .iter()
        .map(|f| f.iter().find(|(k, _)| k == "passes").unwrap().1.parse().unwrap())
        .collect();
    assert!(passes.windows(2).all(|w| w[1] > w[0]), "the interferer keeps running: {passes:?}");
}

#[test]
fn transfer_polling_and_interrupt_verify_every_chunk() {
    let d = tempdir();
    let c = run_ok(
        d.path(),
        &["--experiment", "transfer", "--samples", "3", "--warmups", "1", "--total", "256K", "--buffers", "4K,32K,256K", "--gap", "100us"],
    );
    let r = tx(&c);
    assert_eq!(r.groups.len(), 6, "two modes x three buffer sizes");
    for (g, (mode, buf)) in r.groups.iter().zip([("polling", 4096), ("polling", 32768), ("polling", 262144), ("interrupt", 4096), ("interrupt", 32768), ("interrupt", 262144)]) {
        assert_eq!(g.get("mode"), Some(mode));
        assert_eq!(g.get("buf"), Some(buf.to_string().as_str()));
        assert_eq!(g.count, 3);
        assert!(g.lost_at.is_empty() && g.corrupt_at.is_empty());
    }
    let end = r.end.as_ref().unwrap();
    let field = |k: &str| end.iter().find(|(key, _)| key == k).unwrap().1.parse::<u64>().unwrap();
    // (3 samples + 1 warm-up) x (64 + 8 + 1 chunks) x 2 modes.
    assert_eq!(field("chunks"), 4 * (64 + 8 + 1) * 2);
    assert_eq!(field("verified"), field("chunks"));
    assert_eq!(field("bad"), 0);
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
