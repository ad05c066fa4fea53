//! Shared by the end-to-end tests: run the real `ivcbench` binary and decode what it captured.
#![allow(dead_code)]

use ivc_proto::capture::{decode, Capture, Run};
use std::path::Path;
use std::process::{Command, Output};

pub fn ivcbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ivcbench")).args(args).output().expect("ivcbench runs")
}

/// Runs `ivcbench run --hypervisor <hyp> --out <out> <args>`, checks it succeeded and said what
/// it ran on, and decodes the capture it wrote.
pub fn run_ok(hyp: &str, out: &Path, args: &[&str]) -> Capture {
    let mut all = vec!["run", "--hypervisor", hyp, "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = ivcbench(&all);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "ivcbench {all:?} failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("emulated on QEMU") && stdout.contains("(QEMU icount"), "summary must say what it ran on:\n{stdout}");
    let exp = args[args.iter().position(|a| *a == "--experiment").unwrap() + 1];
    let (e, suffix) = exp.split_at(exp.find('+').unwrap_or(exp.len()));
    let path = out.join(e).join(format!("{hyp}{suffix}"));
    decode(&std::fs::read(&path).unwrap()).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A short transfer run, after `--experiment transfer[+interf]`: two samples after one warm-up,
/// 64 KiB per sample over the 4K and 32K buffers, in both modes.
pub const SHORT_TRANSFER: [&str; 10] = ["--samples", "2", "--warmups", "1", "--total", "64K", "--buffers", "4K,32K", "--gap", "100us"];

/// tx's run, which must be whole.
pub fn tx(c: &Capture) -> &Run {
    let r = c.run("tx").expect("a tx run");
    assert!(r.is_complete(), "{:?}", r.damage);
    r
}

pub fn end_field(r: &Run, key: &str) -> u64 {
    let end = r.end.as_ref().expect("an end record");
    end.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no `{key}` in the end record")).1.parse().unwrap()
}

/// notif: `n` samples, none lost, every doorbell (warm-ups too) acknowledged by rx's handler with
/// its sequence number, and rx's handler entry between t0 and t1.
pub fn check_notif(r: &Run, n: u64, warmups: u64) {
    let g = &r.groups[0];
    assert_eq!((g.count, r.lost()), (n, 0));
    assert_eq!(end_field(r, "sent"), n + warmups);
    assert_eq!(end_field(r, "acked"), n + warmups, "rx acknowledged every doorbell");
    let rtt = g.column(&r.header, "rtt").unwrap();
    let oneway = g.column(&r.header, "oneway").unwrap();
    assert_eq!(rtt.len() as u64, n);
    assert!(rtt.iter().zip(oneway).all(|(&rt, &ow)| ow > 0 && ow < rt), "rx's handler runs between t0 and t1");
}

/// transfer: both modes over `buffers`, `n` samples each, every chunk verified by rx.
pub fn check_transfer(r: &Run, n: u64, warmups: u64, total: u64, buffers: &[u64]) {
    assert_eq!(r.groups.len(), 2 * buffers.len(), "two modes x buffer sizes");
    let mut expect_chunks = 0;
    for (i, g) in r.groups.iter().enumerate() {
        let (mode, buf) = (if i < buffers.len() { "polling" } else { "interrupt" }, buffers[i % buffers.len()]);
        assert_eq!(g.get("mode"), Some(mode));
        assert_eq!(g.get("buf"), Some(buf.to_string().as_str()));
        assert_eq!(g.count, n);
        assert!(g.lost_at.is_empty() && g.corrupt_at.is_empty());
        expect_chunks += (n + warmups) * (total / buf);
    }
    assert_eq!(end_field(r, "chunks"), expect_chunks);
    assert_eq!(end_field(r, "verified"), expect_chunks);
    assert_eq!(end_field(r, "bad"), 0);
}
