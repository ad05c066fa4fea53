//! `ivcbench report` and `ivcbench status` on hand-made captures: the artifact's tables and
//! ivcbench's own format. Expected statistics are written out here, worked by hand, not computed
//! by the report's code.

mod common;

use common::ivcbench;
use ivc_proto::capture::Encoder;
use std::path::Path;

fn row(cols: &[u64]) -> String {
    cols.iter().map(|v| format!("{v:>20}")).collect::<String>() + "\n"
}

/// Two tables, as the artifact's notif guest printed them: irqlat then PMU columns and cycles.
fn legacy_notif() -> String {
    let dashes = "-".repeat(60) + "\n";
    let mut s = String::from("Press 's' to start...\n");
    s += &dashes;
    s += &format!("{:>20}{:>20}{:>20}\n", "irqlat", "l1$i_miss_el1", "cycles");
    for (lat, miss) in [(100, 1), (300, 3), (200, 2)] {
        s += &row(&[lat, miss, lat * 10]);
    }
    s += &dashes;
    s += &format!("{:>20}{:>20}{:>20}\n", "irqlat", "exceptions_el2", "cycles");
    for (lat, exc) in [(400, 4), (500, 5)] {
        s += &row(&[lat, exc, lat * 10]);
    }
    s
}

fn legacy_transfer() -> String {
    "<- polling, 16M, time\n      4K     16M\n 1000000  500000\n 2000000  500000\n->\n\
     <- interrupt, 16M, time\n      4K     16M\n 4000000 1000000\n 4000000 1000000\n->\n"
        .to_string()
}

/// An ivcbench notif capture at QEMU's 62.5 MHz: round trips of 625, 1250 and 1875 ticks.
fn ivcbench_notif() -> String {
    let mut out = String::from("boot noise\r\n");
    {
        let mut e = Encoder::new("tx", 2, |l: &str| {
            out.push_str("(XEN) DOM1: ");
            out.push_str(l);
            out.push_str("\r\n");
        });
        e.header(&[("v", &1), ("exp", &"notif"), ("cfg", &"+interf"), ("hyp", &"xen"), ("plat", &"qemu-virt")]);
        e.header(&[("role", &"tx"), ("freq", &62_500_000u64), ("n", &4), ("warm", &0), ("gap_ns", &1000)]);
        e.header(&[("build", &"test"), ("cols", &"rtt,oneway"), ("common_counter", &"yes")]);
        e.header_done();
        for v in [1875u64, 625, 1250] {
            e.sample(&[v, v / 2]);
        }
        e.lost();
        e.end(&[]);
    }
    out
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The CSV row of `hypervisor`/`configuration`/`metric` (and `mode`, `buffer` for transfer).
fn csv_row(csv: &str, key: &[&str]) -> Vec<String> {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .find(|f| {
            f[col("hypervisor")] == key[0]
                && f[col("configuration")] == key[1]
                && f[col("metric")] == key[2]
                && key.get(3).is_none_or(|m| f[col("mode")] == *m)
                && key.get(4).is_none_or(|b| f[col("buffer")] == *b)
        })
        .unwrap_or_else(|| panic!("no row {key:?} in\n{csv}"))
}

fn field(csv: &str, row: &[String], name: &str) -> f64 {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    row[header.iter().position(|h| *h == name).unwrap()].parse().unwrap()
}

#[test]
fn statistics_of_artifact_tables_and_ivcbench_captures() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "notif/bao", &legacy_notif());
    write(d.path(), "transfer/bao+interf", &legacy_transfer());
    write(d.path(), "notif/xen+interf", &ivcbench_notif());
    write(d.path(), "notif/notif.py", "# the artifact's script sits beside its captures\n");
    let out = d.path().join("out");
    let o = ivcbench(&["report", d.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();

    // bao, artifact table at 100 MHz: 100..500 ticks -> 1000..5000 ns over two tables.
    // Quantiles interpolate linearly (numpy's default): p90 of 1000..5000 is 4000 + 0.6 * 1000.
    let r = csv_row(&csv, &["bao", "base", "irqlat"]);
    for (name, want) in [("n", 5.0), ("min", 1000.0), ("median", 3000.0), ("mean", 3000.0), ("p90", 4600.0), ("max", 5000.0)] {
        assert_eq!(field(&csv, &r, name), want, "bao {name}");
    }
    // Sample standard deviation of 1000..5000 step 1000: sqrt(2.5e6).
    assert!((field(&csv, &r, "stddev") - 1581.139).abs() < 0.01);

    // bao+interf transfer, 16 MiB per sample at 100 MHz: 1e6 ticks = 10 ms = 1600 MiB/s.
    let r = csv_row(&csv, &["bao", "+interf", "throughput", "polling", "4096"]);
    assert_eq!(
        (field(&csv, &r, "n"), field(&csv, &r, "min"), field(&csv, &r, "max"), field(&csv, &r, "mean")),
        (2.0, 800.0, 1600.0, 1200.0)
    );
    let r = csv_row(&csv, &["bao", "+interf", "throughput", "interrupt", "16777216"]);
    assert_eq!(field(&csv, &r, "median"), 1600.0);

    // xen+interf, ivcbench at 62.5 MHz: 625/1250/1875 ticks = 10/20/30 us; one lost.
    let r = csv_row(&csv, &["xen", "+interf", "round_trip"]);
    assert_eq!((field(&csv, &r, "n"), field(&csv, &r, "lost"), field(&csv, &r, "median")), (3.0, 1.0, 20000.0));
    // One-way: 1875 / 2 = 937 ticks = 14992 ns.
    let r = csv_row(&csv, &["xen", "+interf", "one_way"]);
    assert_eq!(field(&csv, &r, "max"), 14992.0);

    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let pmu = json["pmu"].as_array().unwrap();
    let cycles = pmu.iter().find(|p| p["column"] == "cycles").unwrap();
    assert_eq!((cycles["n"].as_u64(), cycles["min"].as_u64(), cycles["max"].as_u64()), (Some(5), Some(1000), Some(5000)));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| bao | base | irqlat (artifact) | 5 |"), "{md}");
    for f in ["notif.svg", "notif-tail.svg", "transfer.svg", "pmu.svg", "notif.png", "transfer.png", "pmu.png", "report.html"] {
        assert!(out.join(f).metadata().map(|m| m.len() > 0).unwrap_or(false), "{f} written");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(html.matches("<figure><svg").count(), 4, "every figure inline (notif, notif-tail, pmu, transfer)");
    assert!(html.contains("artifact table, counter assumed 100 MHz") && html.contains("qemu-virt"));
    // No metadata anywhere: every capture's provenance is unknown, and the page and figures say so.
    assert!(html.contains("This page holds 3 capture(s); captures: 3 unknown"), "{html}");
    let captions: Vec<&str> = html.split("<figcaption>").skip(1).map(|c| &c[..c.find("</figcaption>").unwrap()]).collect();
    assert_eq!(captions.len(), 4);
    assert!(captions.iter().all(|c| c.contains("captures: 2 unknown") || c.contains("captures: 1 unknown")), "{captions:?}");
    for f in ["notif.svg", "notif-tail.svg", "transfer.svg", "pmu.svg"] {
        let svg = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(svg.contains("class=\"provenance\"") && svg.contains(" unknown"), "{f}");
    }
}

/// The artifact's PMU columns: one event's EL1 and EL2 side by side in the tables, stacked in the
/// figure (EL2 on EL1); an event with one level, or none, alone and said so. Means worked by hand.
#[test]
fn pmu_events_el1_and_el2_side_by_side_and_stacked() {
    let d = tempfile::tempdir().unwrap();
    let dashes = "-".repeat(60) + "\n";
    let mut t = String::from("Press 's' to start...\n");
    t += &format!("{:>20}{:>20}{:>20}{:>20}\n", "irqlat", "l1$i_miss_el1", "l1$i_miss_el2", "cycles");
    for (lat, el1, el2) in [(100, 1, 10), (300, 3, 50), (200, 2, 30)] {
        t += &row(&[lat, el1, el2, lat * 10]);
    }
    t += &dashes;
    t += &format!("{:>20}{:>20}{:>20}\n", "irqlat", "exceptions_el2", "cycles");
    for (lat, exc) in [(400, 4), (500, 6)] {
        t += &row(&[lat, exc, lat * 10]);
    }
    write(d.path(), "notif/bao", &t);
    write(d.path(), "notif/xen+interf", &legacy_notif());
    let out = d.path().join("out");
    let o = ivcbench(&["report", d.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // bao: l1$i_miss EL1 mean (1+3+2)/3 = 2, EL2 (10+50+30)/3 = 30; exceptions EL2 only, 5;
    // cycles over both tables (1000..5000) 3000, not split.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for line in [
        "| bao | base | l1$i_miss | 2.0 (1–3, n 3) | 30.0 (10–50, n 3) | - |",
        "| bao | base | exceptions | - | 5.0 (4–6, n 2) | - |",
        "| bao | base | cycles | - | - | 3000.0 (1000–5000, n 5) [not split] |",
        "| xen | +interf | l1$i_miss | 2.0 (1–3, n 3) | - | - |",
    ] {
        assert!(md.contains(line), "{line}\n{md}");
    }
    let csv = std::fs::read_to_string(out.join("report-pmu.csv")).unwrap();
    assert!(csv.starts_with("hypervisor,configuration,event,level,column,n,min,mean,max,provenance"), "{csv}");
    assert!(csv.contains("bao,base,l1$i_miss,EL2,l1$i_miss_el2,3,10,30.000,50,unknown,"), "{csv}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let el2 = json["pmu"].as_array().unwrap().iter().find(|p| p["column"] == "l1$i_miss_el2").unwrap();
    assert_eq!((el2["event"].as_str(), el2["level"].as_str(), el2["mean"].as_f64()), (Some("l1$i_miss"), Some("EL2"), Some(30.0)));

    let svg = std::fs::read_to_string(out.join("pmu.svg")).unwrap();
    let bar = |hyp: &str, cfg: &str, event: &str, el: &str| -> Option<(f64, f64, String)> {
        let at = svg.find(&format!("data-panel=\"{event}\" data-hyp=\"{hyp}\" data-cfg=\"{cfg}\" data-el=\"{el}\""))?;
        let start = svg[..at].rfind("<rect").unwrap();
        let attr = |n: &str| {
            let i = svg[start..].find(&format!(" {n}=\"")).unwrap() + start + n.len() + 3;
            svg[i..].split('"').next().unwrap().to_string()
        };
        Some((attr("y").parse().unwrap(), attr("height").parse().unwrap(), attr("data-value")))
    };
    let (y1, h1, v1) = bar("bao", "base", "l1$i_miss", "EL1").expect("bao's EL1 bar");
    let (y2, h2, v2) = bar("bao", "base", "l1$i_miss", "EL2").expect("bao's EL2 bar");
    assert_eq!((v1.as_str(), v2.as_str()), ("2", "30"));
    assert!((y2 + h2 - y1).abs() < 0.02 && (h2 / h1 - 15.0).abs() < 0.1, "EL2 (30) stacked on EL1 (2): {y1} {h1} {y2} {h2}");
    assert!(bar("xen", "+interf", "l1$i_miss", "EL1").is_some() && bar("xen", "+interf", "l1$i_miss", "EL2").is_none());
    assert_eq!(bar("bao", "base", "exceptions", "EL2").map(|b| b.2), Some("5".to_string()));
    // xen's bar without EL2 is named in its panel's title (over two lines).
    for title in
        [">l1$i_miss: EL1 + EL2 stacked (xen<", ">+interf EL1 only)<", ">exceptions: EL2 only: no EL1 column<", ">cycles: not split by EL<"]
    {
        assert!(svg.contains(title), "{title}");
    }
    assert!(svg.contains("events per sample (mean)") && svg.contains("class=\"provenance\""));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("PMU events per sample (mean), a panel per event"), "caption");
}

#[test]
fn damaged_tables_fail_with_file_and_line_or_are_marked_when_lenient() {
    let d = tempfile::tempdir().unwrap();
    let mut garbled = legacy_notif();
    garbled = garbled.replacen("                 300", "                 3x0", 1);
    write(d.path(), "notif/jailhouse", &garbled);
    let mut missing = legacy_notif();
    missing = missing.replacen(&row(&[200, 2, 2000]), &row(&[200, 2]), 1);
    write(d.path(), "notif/sel4", &missing);
    let cut = legacy_transfer();
    write(d.path(), "transfer/sel4", &cut[..cut.rfind("->").unwrap()]);
    let dir = d.path().to_str().unwrap();
    let o = ivcbench(&["report", dir, "--out", d.path().join("out").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("notif/jailhouse:") && err.contains("line 5"), "garbled row named by file and line: {err}");

    for (file, line) in [("notif/sel4", "line 6"), ("transfer/sel4", "line ")] {
        let only = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(only.path().join(file).parent().unwrap()).unwrap();
        std::fs::copy(d.path().join(file), only.path().join(file)).unwrap();
        let o = ivcbench(&["report", only.path().to_str().unwrap(), "--out", only.path().join("out").to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(file) && err.contains(line), "{file}: {err}");
    }

    let o = ivcbench(&["report", dir, "--lenient", "--format", "csv", "--out", d.path().join("out").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("warning") && err.contains("damaged"), "{err}");
    let csv = std::fs::read_to_string(d.path().join("out/report.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let damaged = header.iter().position(|h| *h == "damaged").unwrap();
    let jail = csv_row(&csv, &["jailhouse", "base", "irqlat"]);
    assert_eq!(jail[damaged], "true");

    let o = ivcbench(&["status", dir]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(out.contains("DAMAGED"), "{out}");
    assert!(out.contains("0 of 25 cells done, 2 damaged, 23 missing"), "{out}");
}

/// The HTML report in a real browser: headless Chromium (Debian's package, installed by
/// scripts/setup.sh) loads it, the page's own check finds every figure laid out, and the browser
/// logs no console error.
#[test]
fn html_report_loads_in_headless_chromium() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "notif/bao", &legacy_notif());
    write(d.path(), "transfer/bao+interf", &legacy_transfer());
    write(d.path(), "notif/xen+interf", &ivcbench_notif());
    let out = d.path().join("out");
    let o = ivcbench(&["report", d.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "html"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let profile = d.path().join("chromium-profile");
    let page = format!("file://{}", out.join("report.html").display());
    let o = std::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .args(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&page)
        .output()
        .expect("chromium runs (scripts/setup.sh installs Debian's chromium package)");
    let dom = String::from_utf8_lossy(&o.stdout);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(dom.contains("data-figures=\"ok 4\""), "every figure laid out; DOM starts:\n{}", &dom[..dom.len().min(400)]);
    let console_errors: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console_errors.is_empty(), "console errors: {console_errors:?}");
}

/// A guest that restarted mid-run leaves a cut-off run before the complete one: the report uses
/// the complete run, says so, and does not call the cell damaged.
#[test]
fn a_restarted_guest_keeps_the_complete_run() {
    let d = tempfile::tempdir().unwrap();
    let whole = ivcbench_notif();
    let end = whole.find(" E ").unwrap();
    let cut = &whole[..whole[..end].rfind('\n').unwrap() + 1];
    write(d.path(), "notif/xen+interf", &format!("{cut}{whole}"));
    let out = d.path().join("out");
    let o = ivcbench(&["report", d.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "csv"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("is incomplete") && err.contains("the report uses the run at lines"), "{err}");
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    let r = csv_row(&csv, &["xen", "+interf", "round_trip"]);
    assert_eq!((field(&csv, &r, "n"), field(&csv, &r, "median")), (3.0, 20000.0));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(r[header.iter().position(|h| *h == "damaged").unwrap()], "false");
}

/// The project's guests' real captures (QEMU runs kept as the fuzzer's seeds), saved the way
/// minicom saves a board's console: the log opened mid-line, boot output before, the prompt again
/// after the tables, CR LF. Strict reading gives the statistics of the clean file, and no damage.
#[test]
fn minicom_captures_read_as_the_clean_files() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode");
    let (clean, real) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let files = [
        ("baremetal-notif", "notif/baremetal"),
        ("xen-notif-interf", "notif/xen+interf"),
        ("baremetal-transfer-interf", "transfer/baremetal+interf"),
    ];
    for (seed, rel) in files {
        let bytes = std::fs::read_to_string(corpus.join(seed)).unwrap();
        write(clean.path(), rel, &bytes);
        let body = bytes.replace("\r\n", "\n").replace('\n', "\r\n");
        let minicom = format!(
            "t: CPU1: found redistributor 1\r\nNOTICE:  BL31: v2.6(release)\r\nU-Boot 2020.01 (Jan 01 2020)\r\nDRAM:  2 GiB\r\n\
             7667720 bytes read in 514 ms (14.2 MiB/s)\r\n{body}Press 's' to start\r\n"
        );
        write(real.path(), rel, &minicom);
    }
    // The artifact's tables too, the same way.
    let legacy = legacy_notif().replace('\n', "\r\n");
    write(clean.path(), "notif/bao", &legacy);
    write(real.path(), "notif/bao", &format!("ress 's' to start...\r\nboot: 2 CPUs\r\n{legacy}Press 's' to start...\r\n"));
    let report = |dir: &Path| {
        let out = dir.join("out");
        let o = ivcbench(&["report", dir.to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "csv,json"]);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success() && !err.contains("damaged"), "{err}");
        let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
        // Everything but the source path.
        let rows: Vec<String> = csv.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect();
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        (rows, json)
    };
    let ((clean_rows, _), (real_rows, json)) = (report(clean.path()), report(real.path()));
    assert_eq!(clean_rows, real_rows);
    assert_eq!(real_rows.len(), 10, "{real_rows:?}");
    // The console text is noted (count, first line), not counted as damage.
    let caps = json["captures"].as_array().unwrap();
    let bao = caps.iter().find(|c| c["source"].as_str().unwrap().ends_with("notif/bao")).unwrap();
    assert_eq!((bao["console_text_lines"].as_u64(), bao["console_text_first_line"].as_u64()), (Some(4), Some(1)));
    let bm = caps.iter().find(|c| c["source"].as_str().unwrap().ends_with("notif/baremetal")).unwrap();
    assert_eq!((bm["console_text_lines"].as_u64(), bm["console_text_first_line"].as_u64()), (Some(7), Some(1)));
    // Real damage still is: a row of the artifact's table cut before the prompt.
    write(real.path(), "notif/bao", &format!("boot\r\n{}Press 's' to start...\r\n", &legacy[..legacy.len() - 6]));
    let o = ivcbench(&["report", real.path().to_str().unwrap(), "--out", real.path().join("out").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("notif/bao:") && err.contains("is not a non-negative integer"), "{err}");
}

/// Garbage and binary files: an error naming the file, with the offending bytes escaped.
#[test]
fn binary_files_are_refused_with_their_bytes_escaped() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("notif/xen");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, b"\x7fELF\x02\x01\x01\x00\x00\x00\x1b[2J\xff\xfe garbage").unwrap();
    let o = ivcbench(&["report", d.path().to_str().unwrap(), "--out", d.path().join("out").to_str().unwrap()]);
    assert!(!o.status.success());
    let err = &o.stderr;
    let text = String::from_utf8(err.clone()).expect("the message is text");
    assert!(text.contains("notif/xen:") && text.contains(r"\x7fELF\x02\x01\x01\x00\x00\x00\x1b[2J\xff\xfe"), "{text}");
    assert!(!err.iter().any(|&b| b == 0 || b == 0x1b || b >= 0x80), "no raw control or high bytes");
    let o = ivcbench(&["summary", p.to_str().unwrap()]);
    let text = String::from_utf8(o.stderr).expect("the message is text");
    assert!(!o.status.success() && text.contains(r#"the file starts with "\x7fELF\x02"#), "{text}");
    assert!(!text.bytes().any(|b| b == 0 || b == 0x1b || b >= 0x80), "{text}");
}

/// Every provenance case: the metadata of a QEMU run (emulated), of a serial target run and of an
/// imported LAVA job (hardware), none (unknown), metadata that says neither (unknown), and the
/// artifact's tables (unknown, or hardware with --origin hardware).
#[test]
fn provenance_comes_from_metadata_or_the_user_only() {
    let d = tempfile::tempdir().unwrap();
    let metas = [
        (
            "bao",
            Some(
                r#"{"target":"qemu","emulated":true,"testbed":"emulated on virt (QEMU icount shift=4: instruction-paced virtual time, not hardware latency)"}"#,
            ),
        ),
        ("xen", Some(r#"{"target":"serial /dev/ttyUSB1","emulated":false,"testbed":"hardware"}"#)),
        ("jailhouse", Some(r#"{"target":"lava job 1234","emulated":false,"testbed":"hardware"}"#)),
        ("sel4", None),
        ("baremetal", Some(r#"{"tool":"ivcbench 0.1.0"}"#)),
    ];
    let capture = ivcbench_notif().replace("(XEN) DOM1: ", "");
    for (hyp, meta) in metas {
        // The header says xen+interf: the file name is what places the cell.
        write(d.path(), &format!("notif/{hyp}"), &capture);
        if let Some(m) = meta {
            write(d.path(), &format!("notif/{hyp}.meta.json"), m);
        }
    }
    write(d.path(), "transfer/bao", &legacy_transfer());
    let csv_of = |extra: &[&str]| {
        let out = d.path().join("out");
        let mut args = vec!["report", d.path().to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = ivcbench(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (std::fs::read_to_string(out.join("report.csv")).unwrap(), std::fs::read_to_string(out.join("report.html")).unwrap())
    };
    let (csv, html) = csv_of(&[]);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "provenance").unwrap();
    let prov = |exp: &str, hyp: &str| {
        csv.lines()
            .find(|l| l.starts_with(&format!("{exp},{hyp},")))
            .unwrap_or_else(|| panic!("{exp} {hyp}"))
            .split(',')
            .nth(col)
            .unwrap()
            .to_string()
    };
    for (hyp, want) in [("bao", "emulated"), ("xen", "hardware"), ("jailhouse", "hardware"), ("sel4", "unknown"), ("baremetal", "unknown")]
    {
        assert_eq!(prov("notif", hyp), want, "{hyp}");
    }
    assert_eq!(prov("transfer", "bao"), "unknown");
    assert!(html.contains("This page holds 6 capture(s); captures: 1 emulated, 2 hardware, 3 unknown"), "{html}");
    assert!(html.contains("serial target run on /dev/ttyUSB1") && html.contains("imported LAVA lava job 1234"));
    let (csv, _) = csv_of(&["--origin", "hardware"]);
    let line = csv.lines().find(|l| l.starts_with("transfer,bao,")).unwrap();
    assert!(line.contains(",hardware,") && line.contains("--origin hardware"), "{line}");
    // `summary` says the same as the report.
    let o = ivcbench(&["summary", d.path().join("notif/sel4").to_str().unwrap(), d.path().join("notif/xen").to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("unknown (nothing records what it was measured on)") && out.contains("hardware (serial target run"), "{out}");
}
