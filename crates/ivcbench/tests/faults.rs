//! Faults ivcbench must handle as it says: a lost notification and a corrupted chunk are counted
//! and never turned into figures; QEMU killed mid-run and a full disk end in clear errors with the
//! raw capture kept. Real guests on real QEMU; the faults are injected by the guests themselves
//! (`--inject-fault`) or done to QEMU and the disk.

mod common;

use common::{end_field, ivcbench, run_ok, tx};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn csv_field(csv: &str, row_prefix: &str, name: &str) -> String {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> =
        csv.lines().find(|l| l.starts_with(row_prefix)).unwrap_or_else(|| panic!("no {row_prefix} in {csv}")).split(',').collect();
    row[header.iter().position(|h| *h == name).unwrap()].to_string()
}

#[test]
fn a_lost_notification_is_counted_and_the_run_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let c = run_ok(
        "baremetal",
        d.path(),
        &["--experiment", "notif", "--samples", "40", "--gap", "100us", "--sample-timeout", "1ms", "--inject-fault", "lose-notification@5"],
    );
    let r = tx(&c);
    let g = &r.groups[0];
    assert_eq!((g.count, g.lost_at.as_slice()), (40, &[5u64][..]), "sample 5 lost, the other 39 measured");
    assert_eq!((end_field(r, "sent"), end_field(r, "acked")), (50, 49));
    let out = d.path().join("report");
    let o = ivcbench(&["report", d.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "csv"]);
    assert!(o.status.success());
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    assert_eq!(csv_field(&csv, "notif,baremetal,base,round_trip", "lost"), "1");
    assert_eq!(csv_field(&csv, "notif,baremetal,base,round_trip", "n"), "39");
}

#[test]
fn a_corrupted_chunk_is_caught_and_never_a_figure() {
    let d = tempfile::tempdir().unwrap();
    let c = run_ok(
        "baremetal",
        d.path(),
        &[
            "--experiment",
            "transfer",
            "--samples",
            "3",
            "--warmups",
            "1",
            "--total",
            "64K",
            "--buffers",
            "4K,32K",
            "--modes",
            "polling",
            "--gap",
            "100us",
            "--inject-fault",
            "corrupt-chunk@1",
        ],
    );
    let r = tx(&c);
    assert_eq!(r.groups[0].corrupt_at, [1], "rx caught the damaged chunk of sample 1");
    assert_eq!(r.groups[0].columns[0].len(), 2, "its time is no sample");
    assert!(r.groups[1].corrupt_at.is_empty());
    assert_eq!((end_field(r, "bad"), end_field(r, "verified") + 1), (1, end_field(r, "chunks")));
    let out = d.path().join("report");
    let o = ivcbench(&["report", d.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "csv"]);
    assert!(o.status.success());
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    let row = "transfer,baremetal,base,throughput,polling,4096";
    assert_eq!((csv_field(&csv, row, "n"), csv_field(&csv, row, "corrupt")), ("2".into(), "1".into()));
}

#[test]
fn qemu_killed_mid_run_keeps_the_partial_capture() {
    let d = tempfile::tempdir().unwrap();
    // QEMU as ivcbench starts it, killed two seconds in, as by an OOM killer or a user.
    let wrapper = d.path().join("qemu-killed");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\n[ \"$1\" = --version ] && exec qemu-system-aarch64 --version\nexec timeout -s KILL 2 qemu-system-aarch64 \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = d.path().join("comm");
    let o = Command::new(env!("CARGO_BIN_EXE_ivcbench"))
        .args(["run", "--hypervisor", "baremetal", "--experiment", "notif", "--samples", "100000", "--gap", "10ms"])
        .arg("--out")
        .arg(&out)
        .env("IVCBENCH_QEMU", &wrapper)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("QEMU exited") && err.contains("raw console is kept"), "{err}");
    let capture = out.join("notif/baremetal");
    let raw = std::fs::read_to_string(&capture).unwrap();
    assert!(raw.contains("@ivc1 tx 0 H") && raw.contains(" S "), "what arrived before the kill is on disk");
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("notif/baremetal.meta.json")).unwrap()).unwrap();
    assert_eq!(meta["complete"], false, "marked partial");
    let o = ivcbench(&["summary", capture.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("has no end record"));
}

/// Needs root (as on the project's machines and CI) to mount a small tmpfs.
#[test]
fn a_full_disk_is_a_clear_error_and_keeps_what_fit() {
    let d = tempfile::tempdir().unwrap();
    let full = d.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=8k", "tmpfs"]).arg(&full).status().unwrap();
    assert!(mounted.success(), "mounting a small tmpfs needs root");
    let o = ivcbench(&[
        "run",
        "--hypervisor",
        "baremetal",
        "--experiment",
        "notif",
        "--samples",
        "5000",
        "--gap",
        "100us",
        "--out",
        full.to_str().unwrap(),
    ]);
    let kept = std::fs::read(full.join("notif/baremetal")).unwrap_or_default();
    let _ = Command::new("umount").arg(&full).status();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("writing the capture") && err.contains("No space left on device"), "{err}");
    assert!(kept.len() > 1000 && String::from_utf8_lossy(&kept).contains("@ivc1 tx 0 H"), "what fit is kept ({} bytes)", kept.len());
}

#[test]
fn a_guest_that_resets_mid_run_leaves_two_runs_and_the_whole_one_counts() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().to_str().unwrap();
    let o = ivcbench(&[
        "run",
        "--hypervisor",
        "baremetal",
        "--experiment",
        "notif",
        "--samples",
        "60",
        "--gap",
        "100us",
        "--out",
        out,
        "--inject-fault",
        "reset-guest@30",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("restarted and prompts again") && err.contains("an earlier tx run"), "{err}");
    let raw = std::fs::read_to_string(d.path().join("notif/baremetal")).unwrap();
    assert_eq!(raw.matches("@ivc1 tx 0 H").count(), 2, "two headers: the cut run and the whole one");
    let rep = d.path().join("report");
    let o = ivcbench(&["report", out, "--out", rep.to_str().unwrap(), "--format", "csv"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.contains("is incomplete"), "the cut run is flagged: {err}");
    let csv = std::fs::read_to_string(rep.join("report.csv")).unwrap();
    assert_eq!(csv_field(&csv, "notif,baremetal,base,round_trip", "n"), "60");
    assert_eq!(csv_field(&csv, "notif,baremetal,base,round_trip", "damaged"), "false");
}
