//! `ivcbench demo` never touches a capture it did not make: run twice over a directory holding a
//! hand-made board capture, it leaves that capture and its metadata byte for byte; with --force it
//! keeps them as `<capture>.1` before running the cell. Real QEMU and the real baremetal guest, with
//! a small sample count and two cells so that it stays short.

mod common;

use common::ivcbench;
use ivc_proto::capture::Encoder;
use std::path::Path;

/// A notif capture from a ZCU104 as minicom saved it: a cut first line, boot output, the prompt
/// before and after, CR LF; and the metadata a serial target run writes.
fn board_capture(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let mut out = String::from("I: Booting Trusted Firmware\r\nU-Boot 2023.01\r\nPress 's' to start\r\n");
    {
        let mut e = Encoder::new("tx", 1, |l: &str| {
            out.push_str(l);
            out.push_str("\r\n");
        });
        e.header(&[("v", &1), ("exp", &"notif"), ("cfg", &""), ("hyp", &"baremetal"), ("plat", &"zcu104")]);
        e.header(&[("role", &"tx"), ("freq", &100_000_000u64), ("n", &5), ("warm", &0), ("gap_ns", &1000)]);
        e.header(&[("build", &"by-hand"), ("cols", &"rtt")]);
        e.header_done();
        for v in [201u64, 198, 205, 199, 240] {
            e.sample(&[v]);
        }
        e.end(&[]);
    }
    let capture = (out + "Press 's' to start\r\n").into_bytes();
    let meta = br#"{"tool":"ivcbench 0.1.0","command":["ivcbench","run","--target","serial"],"target":"serial /dev/ttyUSB1","emulated":false,"testbed":"hardware"}"#.to_vec();
    std::fs::create_dir_all(dir.join("notif")).unwrap();
    std::fs::write(dir.join("notif/baremetal"), &capture).unwrap();
    std::fs::write(dir.join("notif/baremetal.meta.json"), &meta).unwrap();
    (capture, meta)
}

fn demo(dir: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["demo", "--out", dir.to_str().unwrap(), "--hypervisor", "baremetal"];
    args.extend(["--experiment", "notif", "--experiment", "notif+interf", "--samples", "20"]);
    args.extend_from_slice(extra);
    let o = ivcbench(&args);
    let (out, err) = (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert!(o.status.success(), "demo failed:\n{err}");
    (out, err)
}

#[test]
fn demo_twice_leaves_a_board_capture_byte_identical_and_force_keeps_it() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("demo");
    let (capture, meta) = board_capture(&dir);
    let read = |rel: &str| std::fs::read(dir.join(rel)).unwrap();
    let mut demo_capture = Vec::new();
    for round in 0..2 {
        let (out, err) = demo(&dir, &[]);
        assert_eq!((read("notif/baremetal"), read("notif/baremetal.meta.json")), (capture.clone(), meta.clone()), "round {round}");
        assert!(err.contains("notif/baremetal was not made by the demo: left as it is"), "{err}");
        assert!(out.contains("left") && out.contains("untouched"), "{out}");
        // The demo's own cell is its own to replace: no `.1` of it piles up.
        let meta: serde_json::Value = serde_json::from_slice(&read("notif/baremetal+interf.meta.json")).unwrap();
        assert_eq!(meta["command"][1], "demo");
        assert!(!dir.join("notif/baremetal+interf.1").exists() && !dir.join("notif/baremetal.1").exists());
        demo_capture = read("notif/baremetal+interf");
        // The report holds both, each labelled: the board capture hardware, the demo's emulated.
        let csv = std::fs::read_to_string(dir.join("report/report.csv")).unwrap();
        let prov = |cfg: &str| csv.lines().find(|l| l.starts_with(&format!("notif,baremetal,{cfg},round_trip"))).unwrap().to_string();
        assert!(prov("base").contains(",hardware,"), "{csv}");
        assert!(prov("+interf").contains(",emulated,"), "{csv}");
        let html = std::fs::read_to_string(dir.join("report/report.html")).unwrap();
        assert!(html.contains("captures: 1 emulated, 1 hardware"), "the page says what it holds");
        assert!(html.contains("+interf vs baremetal base"), "the comparison table");
    }
    assert!(!demo_capture.is_empty());

    // --force: the board capture is kept as .1 (byte for byte), then its cell runs.
    let (_, err) = demo(&dir, &["--force"]);
    assert_eq!((read("notif/baremetal.1"), read("notif/baremetal.1.meta.json")), (capture, meta));
    assert!(err.contains("kept the previous capture"), "{err}");
    let meta: serde_json::Value = serde_json::from_slice(&read("notif/baremetal.meta.json")).unwrap();
    assert_eq!(meta["command"][1], "demo");
}
