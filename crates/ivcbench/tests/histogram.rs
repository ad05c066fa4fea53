//! Histogram mode on the QEMU testbed: a million notifications in a capture of a few kilobytes,
//! and percentiles that agree with a raw-mode run of the same build within the stated bound.

mod common;

use common::{ivcbench, run_ok, tx};
use ivc_proto::histogram::REL_ERROR;

#[test]
fn a_million_samples_fit_in_a_few_kilobytes() {
    let d = tempfile::tempdir().unwrap();
    let c = run_ok("baremetal", d.path(), &["--experiment", "notif", "--histogram", "--samples", "1000000", "--gap", "1us"]);
    let r = tx(&c);
    let g = &r.groups[0];
    assert_eq!((g.count, r.lost()), (1_000_000, 0));
    assert_eq!((g.histograms[0].n, g.histograms[1].n), (1_000_000, 1_000_000));
    assert_eq!(r.header.get("mode"), Some("histogram"));
    let size = std::fs::metadata(d.path().join("notif/baremetal")).unwrap().len();
    assert!(size < 16_000, "capture of {size} bytes");
}

fn report_percentiles(dir: &std::path::Path) -> (f64, f64) {
    let out = dir.join("report");
    let o = ivcbench(&["report", dir.to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().find(|l| l.starts_with("notif,baremetal,base,round_trip")).unwrap().split(',').collect();
    let f = |n: &str| row[header.iter().position(|h| *h == n).unwrap()].parse::<f64>().unwrap();
    (f("p99"), f("p999"))
}

#[test]
fn histogram_percentiles_agree_with_raw_mode_within_the_bound() {
    let (h, r) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = ["--experiment", "notif", "--samples", "20000", "--gap", "1us"];
    run_ok("baremetal", h.path(), &[&args[..], &["--histogram"]].concat());
    run_ok("baremetal", r.path(), &args);
    let (hp99, hp999) = report_percentiles(h.path());
    let (rp99, rp999) = report_percentiles(r.path());
    for (name, hv, rv) in [("p99", hp99, rp99), ("p99.9", hp999, rp999)] {
        assert!((hv - rv).abs() / rv <= REL_ERROR, "{name}: histogram {hv} ns, raw {rv} ns, bound {REL_ERROR}");
    }
}
