//! Path lengths in the report: real `.pathlen` files, written by the real path-length plugin
//! (crates/ivc-pathlen, built by ivcbench) beside real captures of the baremetal guests on QEMU,
//! then `ivcbench report` on them. The expected figures are read from the files here, by this
//! test's own parsing, never by the report's code.

mod common;

use common::{ivcbench, run_ok, tx, SHORT_TRANSFER};
use std::path::Path;

/// A window's counts per side, EL0..EL3 (`None`: the side never closed its window).
type Window = (Option<[u64; 4]>, Option<[u64; 4]>);
/// (median, min, max, windows off the median).
type Spread = (u64, u64, u64, usize);

/// One side of an `N` line: EL0..EL3, or `None` for `-`.
fn side(s: &str) -> Option<[u64; 4]> {
    let (_, counts) = s.split_once(':')?;
    let v: Vec<u64> = counts.split(',').map(|c| c.parse().unwrap()).collect();
    Some([v[0], v[1], v[2], v[3]])
}

/// The recorded windows (the first `warmups` dropped) of a `.pathlen` file: per window tx's and
/// rx's counts.
fn windows(text: &str, warmups: usize) -> Vec<Window> {
    let n: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect::<Vec<_>>()).filter(|f| f[0] == "N").collect();
    n.iter().skip(warmups).map(|f| (side(f[2]), side(f[3]))).collect()
}

/// (median, min, max, windows that differ from the median): the median of a count is the
/// smallest value that at least half of the windows do not exceed.
fn spread(v: &[u64]) -> Spread {
    let half = v.len().div_ceil(2);
    let median = *v.iter().filter(|&&x| v.iter().filter(|&&y| y <= x).count() >= half).min().unwrap();
    (median, *v.iter().min().unwrap(), *v.iter().max().unwrap(), v.iter().filter(|&&x| x != median).count())
}

/// The expected (window, EL) → (median, min, max, off) of a notif file.
fn expected(text: &str, warmups: usize) -> Vec<(&'static str, &'static str, Spread)> {
    let w = windows(text, warmups);
    let mut out = Vec::new();
    for (name, pick) in [("tx", 0), ("rx", 1)] {
        for (el, i) in [("EL1", 1), ("EL2", 2)] {
            let v: Vec<u64> = w.iter().filter_map(|s| if pick == 0 { s.0 } else { s.1 }).map(|c| c[i]).collect();
            out.push((name, el, spread(&v)));
        }
    }
    out
}

/// report-pathlen.csv as maps of column name to value.
fn csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
    lines.map(|l| header.iter().cloned().zip(l.split(',').map(str::to_string)).collect()).collect()
}

fn report(dir: &Path) -> (std::process::Output, std::path::PathBuf) {
    let out = dir.join("report");
    let o = ivcbench(&["report", dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (o, out)
}

/// Copies a capture with its metadata and, if given, a `.pathlen` text.
fn place(from: &Path, to: &Path, rel: &str, pathlen: Option<&str>, meta: Option<&str>) {
    let dst = to.join(rel);
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    std::fs::copy(from.join(rel), &dst).unwrap();
    let meta_dst = to.join(format!("{rel}.meta.json"));
    match meta {
        Some(m) => std::fs::write(meta_dst, m).unwrap(),
        None => drop(std::fs::copy(from.join(format!("{rel}.meta.json")), meta_dst).unwrap()),
    }
    if let Some(p) = pathlen {
        std::fs::write(to.join(format!("{rel}.pathlen")), p).unwrap();
    }
}

const NOTE: &str = "Emulated +interf: on the QEMU testbed (icount) virtual time advances with every vCPU's instructions";

#[test]
fn report_shows_the_path_lengths_the_files_hold() {
    let real = tempfile::tempdir().unwrap();
    let args = |e: &'static str| ["--experiment", e, "--samples", "20", "--gap", "200us", "--pathlen"];
    // The base cell also records PMU events (QEMU implements INST_RETIRED), so its own PMU
    // columns come through the report too.
    let base = run_ok("baremetal", real.path(), &[&args("notif")[..], &["--pmu-events", "inst_ret:el1,inst_ret:el1+2"]].concat());
    run_ok("baremetal", real.path(), &args("notif+interf"));
    let transfer_args = [&["--experiment", "transfer"][..], &SHORT_TRANSFER, &["--pathlen"]].concat();
    run_ok("baremetal", real.path(), &transfer_args);
    let warm = tx(&base).header.warmups as usize;
    let file = |rel: &str| std::fs::read_to_string(real.path().join(format!("{rel}.pathlen"))).unwrap();

    // 1. The tables hold what the files say: CSV, Markdown and JSON.
    let (_, out) = report(real.path());
    let rows = csv(&out.join("report-pathlen.csv"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    for cfg in ["base", "+interf"] {
        let rel = if cfg == "base" { "notif/baremetal".to_string() } else { "notif/baremetal+interf".to_string() };
        let want = expected(&file(&rel), warm);
        for (window, el, (median, min, max, off)) in &want {
            let r = rows
                .iter()
                .find(|r| r["experiment"] == "notif" && r["configuration"] == cfg && r["window"] == *window && r["el"] == *el)
                .unwrap_or_else(|| panic!("no {cfg} {window} {el} row in {rows:?}"));
            let got: Vec<u64> = ["median", "min", "max", "off_median", "windows"].iter().map(|k| r[*k].parse().unwrap()).collect();
            assert_eq!(got, [*median, *min, *max, *off as u64, 20], "{cfg} {window} {el}");
            assert_eq!(r["provenance"], "emulated");
            let j = json["pathlen"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["configuration"] == cfg && j["window"] == *window && j["el"] == *el)
                .unwrap();
            assert_eq!(j["median"].as_u64(), Some(*median));
        }
        let m: Vec<String> = want.iter().map(|w| w.2 .0.to_string()).collect();
        let line = format!("| baremetal | {cfg} | 20 | {} |", m.join(" | "));
        assert!(md.contains(&line), "{line}\n{md}");
    }
    // The instrument's calibrations, as the file's C lines say.
    for l in file("notif/baremetal").lines().filter(|l| l.starts_with("C ")) {
        let f: Vec<&str> = l.split(' ').collect();
        let c = side(f[2]).unwrap();
        let r = rows.iter().find(|r| r["configuration"] == "base" && r["window"] == f[1] && r["el"] == "EL1").unwrap();
        assert_eq!(r["median"], c[1].to_string(), "{l}");
        assert!(md.contains(&format!("{} {}", f[1], c[1] + c[2])), "{l}\n{md}");
    }
    // transfer: the windows are the chunks, group by group (polling 4K, 32K, interrupt 4K, 32K),
    // each group's warm-up sample's chunks first.
    let t = windows(&file("transfer/baremetal"), 0);
    let mut at = 0;
    for (mode, buf) in [("polling", 4096usize), ("polling", 32768), ("interrupt", 4096), ("interrupt", 32768)] {
        let chunks = (64 << 10) / buf;
        let recorded = &t[at + chunks..at + 3 * chunks];
        at += 3 * chunks;
        let tx_el1: Vec<u64> = recorded.iter().map(|w| w.0.unwrap()[1]).collect();
        let rx_el1: Vec<u64> = recorded.iter().map(|w| w.1.unwrap()[1]).collect();
        for (window, v) in [("tx", tx_el1), ("rx", rx_el1)] {
            let r = rows
                .iter()
                .find(|r| {
                    r["experiment"] == "transfer"
                        && r["mode"] == mode
                        && r["buffer"] == buf.to_string()
                        && r["window"] == window
                        && r["el"] == "EL1"
                })
                .unwrap();
            assert_eq!((r["median"].parse().unwrap(), r["windows"].parse().unwrap()), (spread(&v).0, 2 * chunks), "{mode} {buf} {window}");
            assert_eq!(r["unit"], "instructions/chunk");
        }
    }
    assert_eq!(at, t.len(), "every window belongs to a group");
    assert!(md.contains("### Path length per transfer chunk"), "{md}");
    // `summary` prints them beside the latency, as `run` did.
    let o = ivcbench(&["summary", real.path().join("notif/baremetal").to_str().unwrap()]);
    let want = expected(&file("notif/baremetal"), warm);
    let line = format!("tx (vCPU 0): EL1 {}  EL2 {}", want[0].2 .0, want[1].2 .0);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains(&line), "{line}\n{o:?}");

    // The base cell's own PMU columns: EL1 and the one-counter EL1+2 side by side in the
    // tables, drawn in the PMU figure; the means as the capture's columns give them.
    let run = tx(&base);
    let g = &run.groups[0];
    let mean = |name: &str| {
        let v = g.column(&run.header, name).unwrap();
        v.iter().sum::<u64>() as f64 / v.len() as f64
    };
    let pmu = csv(&out.join("report-pmu.csv"));
    for (column, level) in [("inst_ret_el1", "EL1"), ("inst_ret_el1+2", "EL1+2")] {
        let r = pmu.iter().find(|r| r["column"] == column).unwrap_or_else(|| panic!("{column} in {pmu:?}"));
        assert_eq!((r["event"].as_str(), r["level"].as_str(), r["n"].as_str()), ("inst_ret", level, "20"));
        assert_eq!(r["mean"], format!("{:.3}", mean(column)), "{column}");
        assert_eq!(r["provenance"], "emulated");
    }
    assert!(md.contains(&format!("| baremetal | base | inst_ret | {:.1} (", mean("inst_ret_el1"))), "{md}");
    let pmu_svg = std::fs::read_to_string(out.join("pmu.svg")).unwrap();
    for el in ["EL1", "EL1+2"] {
        assert!(
            pmu_svg.contains(&format!("data-panel=\"inst_ret\" data-hyp=\"baremetal\" data-cfg=\"base\" data-el=\"{el}\"")),
            "{pmu_svg}"
        );
    }

    // 2. The figure: per configuration, tx and rx bars with EL1 at the bottom and EL2 on top.
    let svg = std::fs::read_to_string(out.join("pathlen.svg")).unwrap();
    let want = expected(&file("notif/baremetal"), warm);
    for (window, el, (median, ..)) in &want {
        let bar = format!("data-panel=\"{window}\" data-hyp=\"baremetal\" data-cfg=\"base\" data-el=\"{el}\" data-value=\"{median}\"");
        assert!(svg.contains(&bar), "{bar}\n{svg}");
    }
    assert!(svg.contains("instructions per notification (median)") && svg.contains("class=\"provenance\""), "{svg}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("data-panel=\"rx\"") && html.contains("Path length per notification: instructions"));

    // 3. The emulated clock: said for the emulated +interf cell, in the captions and the images
    // of the latency and throughput figures, not in the path-length figure.
    let captions: Vec<&str> = html.split("<figcaption>").skip(1).map(|c| &c[..c.find("</figcaption>").unwrap()]).collect();
    let noted: Vec<bool> = captions.iter().map(|c| c.contains(NOTE)).collect();
    assert_eq!(noted, [true, true, false, false, false], "notif, notif-tail, pathlen, pmu, transfer (no +interf): {captions:?}");
    assert_eq!(md.matches(NOTE).count(), 2, "{md}");
    let violin = std::fs::read_to_string(out.join("notif.svg")).unwrap();
    assert!(violin.contains("class=\"note\"") && violin.contains("Emulated +interf: on the QEMU testbed (icount)"), "{violin}");

    // 4. An edited copy of the real file (said so: the test changes counts to make them differ):
    // a warm-up window far off, recorded windows spread, rx at EL2 in some. The tables follow the
    // recorded windows only, and the figure stacks rx's EL2 on its EL1.
    let edited = tempfile::tempdir().unwrap();
    let mut k = 0u64;
    let text: String = file("notif/baremetal")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            if f[0] != "N" {
                return format!("{l}\n");
            }
            let i: usize = f[1].parse().unwrap();
            if i < warm {
                return format!("N {i} 0:0,99999,0,0 {}\n", f[3]);
            }
            k += 1;
            format!(
                "N {i} 0:0,{},0,0 1:0,88,{},0\n",
                if k.is_multiple_of(2) { 11 } else { 14 + k % 3 },
                if k.is_multiple_of(4) { 0 } else { 500 + k % 3 }
            )
        })
        .collect();
    place(real.path(), edited.path(), "notif/baremetal", Some(&text), None);
    let (_, out) = report(edited.path());
    let rows = csv(&out.join("report-pathlen.csv"));
    for (window, el, (median, min, max, off)) in expected(&text, warm) {
        let r = rows.iter().find(|r| r["window"] == window && r["el"] == el).unwrap();
        let got: Vec<u64> = ["median", "min", "max", "off_median"].iter().map(|k| r[*k].parse().unwrap()).collect();
        assert_eq!(got, [median, min, max, off as u64], "{window} {el}");
    }
    assert!(rows.iter().all(|r| r["max"] != "99999"), "warm-ups are not summarised");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let (m, lo, hi, off) = spread(&windows(&text, warm).iter().map(|w| w.0.unwrap()[1]).collect::<Vec<_>>());
    assert!(md.contains(&format!("| {m} ({lo}–{hi}, {off} of 20 differ) |")), "{md}");
    let svg = std::fs::read_to_string(out.join("pathlen.svg")).unwrap();
    let rect = |el: &str| -> (f64, f64) {
        let at = svg.find(&format!("data-panel=\"rx\" data-hyp=\"baremetal\" data-cfg=\"base\" data-el=\"{el}\"")).unwrap();
        let start = svg[..at].rfind("<rect").unwrap();
        let attr = |n: &str| -> f64 {
            let i = svg[start..].find(&format!(" {n}=\"")).unwrap() + start + n.len() + 3;
            svg[i..].split('"').next().unwrap().parse().unwrap()
        };
        (attr("y"), attr("height"))
    };
    let ((el1_y, el1_h), (el2_y, el2_h)) = (rect("EL1"), rect("EL2"));
    assert!(el2_h > el1_h && (el2_y + el2_h - el1_y).abs() < 0.02, "rx EL2 ({el2_y}+{el2_h}) stacked on EL1 ({el1_y}+{el1_h})");

    // 5. Damaged files: a garbled line, and a file of another run (windows missing). Each is a
    // warning naming the file (and the line), left out of the tables; the rest of the report
    // comes out.
    let damaged = tempfile::tempdir().unwrap();
    let garble = |i: usize, l: &str| {
        let f: Vec<&str> = l.split(' ').collect();
        if i == 4 {
            assert_eq!(f[0], "N", "line 5 is a window: {l}");
            format!("N {} 0:0,11,0 {}\n", f[1], f[3])
        } else {
            format!("{l}\n")
        }
    };
    let garbled: String = file("notif/baremetal").lines().enumerate().map(|(i, l)| garble(i, l)).collect();
    place(real.path(), damaged.path(), "notif/baremetal", Some(&garbled), None);
    // The last two windows gone: 28 windows for 10 warm-ups and 20 samples.
    let whole = file("notif/baremetal+interf");
    assert!(whole.lines().last().unwrap().starts_with("N "));
    let short: String = whole.lines().take(whole.lines().count() - 2).map(|l| format!("{l}\n")).collect();
    place(real.path(), damaged.path(), "notif/baremetal+interf", Some(&short), None);
    let (o, out) = report(damaged.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning") && err.contains("notif/baremetal.pathlen:5: four counts, EL0 to EL3"), "{err}");
    assert!(
        err.contains("notif/baremetal+interf.pathlen: 28 windows, but the capture's 1 group(s) of 10 warm-ups and 20 samples make 30"),
        "{err}"
    );
    let o = ivcbench(&["summary", damaged.path().join("notif/baremetal").to_str().unwrap()]);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() && stdout.contains("round trip") && !stdout.contains("path length"), "{stdout}");
    assert!(stderr.contains("warning: path lengths left out") && stderr.contains("baremetal.pathlen:5: four counts"), "{stderr}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| baremetal | base | round trip | 20 |") && md.contains("| baremetal | +interf | round trip | 20 |"), "{md}");
    assert!(md.contains("### Path-length files left out") && md.contains("baremetal.pathlen:5"), "{md}");
    assert_eq!(csv(&out.join("report-pathlen.csv")).len(), 0, "no numbers from a damaged file");
    assert!(!out.join("pathlen.svg").exists());

    // 6. The same +interf capture as a board's (a serial target run): no note about the emulated
    // clock, which is not what timed it.
    let board = tempfile::tempdir().unwrap();
    let meta = r#"{"target":"serial /dev/ttyUSB0","emulated":false,"testbed":"hardware"}"#;
    place(real.path(), board.path(), "notif/baremetal+interf", None, Some(meta));
    let (_, out) = report(board.path());
    let (md, html) = (std::fs::read_to_string(out.join("report.md")).unwrap(), std::fs::read_to_string(out.join("report.html")).unwrap());
    assert!(html.contains("captures: 1 hardware"), "{html}");
    assert!(!md.contains("Emulated +interf") && !html.contains("Emulated +interf"), "{md}");
    assert!(!std::fs::read_to_string(out.join("notif.svg")).unwrap().contains("class=\"note\""));
}
