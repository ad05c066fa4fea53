//! LAVA: the job definitions `ivcbench lava` writes must parse, and their patterns must find the
//! guests' result lines in real captures of the QEMU testbed (baremetal notif and transfer, Xen
//! notif behind its `(XEN) DOM1: ` prefixes), the way LAVA's boot, interactive and monitors
//! actions read a console; `import-lava` must turn a job log made from a real capture back into
//! a capture that decodes to the same samples.

mod common;

use common::ivcbench;
use ivc_proto::capture::{decode, Run};
use regex::Regex;
use serde_yaml_ng::Value;
use std::path::Path;

/// A real capture from the QEMU testbed.
fn real(dir: &Path, hyp: &str, args: &[&str]) -> Vec<u8> {
    common::run_ok(hyp, dir, args);
    let cell = args[args.iter().position(|a| *a == "--experiment").unwrap() + 1];
    let (exp, suffix) = cell.split_at(cell.find('+').unwrap_or(cell.len()));
    std::fs::read(dir.join(exp).join(format!("{hyp}{suffix}"))).unwrap()
}

fn jobs(out: &Path, hyps: &[&str], exp: &str) -> Vec<(String, Value)> {
    let mut args = vec!["lava", "--experiment", exp, "--matrix", "--platform", "zcu104", "--out", out.to_str().unwrap()];
    args.extend(["--kernel-url", "https://lab.example/ivcbench/{hypervisor}/{experiment}/boot.bin"]);
    for h in hyps {
        args.extend(["--hypervisor", h]);
    }
    let o = ivcbench(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let v: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{p} does not parse: {e}\n{text}"));
            (p.to_string(), v)
        })
        .collect()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut x = v;
    for k in path {
        x = match k.parse::<usize>() {
            Ok(i) => &x[i],
            Err(_) => &x[*k],
        };
    }
    x.as_str().unwrap_or_else(|| panic!("no string at {path:?} in {v:?}"))
}

/// What LAVA records from one result line.
#[derive(Debug)]
struct LavaResult {
    case: String,
    measurement: f64,
    units: String,
    result: String,
}

/// Reads `console` as LAVA would with `job`: the boot action waits for its prompt, the
/// interactive test sends `s` and waits for its success message, then the monitor waits for its
/// start and takes every pattern match until its end.
fn lava_reads(job: &Value, console: &str) -> Vec<LavaResult> {
    let actions = job["actions"].as_sequence().unwrap();
    let boot = &actions[1]["boot"];
    let interactive = &actions[2]["test"]["interactive"][0];
    let monitor = &actions[3]["test"]["monitors"][0];
    assert_eq!(s(interactive, &["script", "0", "command"]), "s");
    let mut at = 0;
    let mut find = |pattern: &str| {
        let m = Regex::new(pattern).unwrap().find(&console[at..]).unwrap_or_else(|| panic!("`{pattern}` not found"));
        at += m.end();
    };
    find(s(boot, &["prompts", "0"]));
    find(s(interactive, &["script", "0", "successes", "0", "message"]));
    find(s(monitor, &["start"]));
    let end = Regex::new(s(monitor, &["end"])).unwrap();
    let pattern = Regex::new(s(monitor, &["pattern"])).unwrap();
    let mut results = Vec::new();
    loop {
        let e = end.find(&console[at..]).map(|m| m.start());
        match pattern.captures(&console[at..]) {
            Some(c) if e.is_none_or(|e| c.get(0).unwrap().start() < e) => {
                at += c.get(0).unwrap().end();
                results.push(LavaResult {
                    case: c["test_case_id"].to_string(),
                    measurement: c["measurement"].parse().unwrap(),
                    units: c["units"].to_string(),
                    result: c["result"].to_string(),
                });
            }
            _ => {
                assert!(e.is_some(), "the monitor's end never came");
                return results;
            }
        }
    }
}

fn ns(ticks: u64, freq: u64) -> f64 {
    (ticks as u128 * 1_000_000_000 / freq as u128) as f64
}

fn get<'a>(results: &'a [LavaResult], case: &str) -> &'a LavaResult {
    results.iter().find(|r| r.case == case).unwrap_or_else(|| panic!("no result {case} in {results:?}"))
}

/// The notif results agree with the host's own reading of the capture.
fn check_notif(results: &[LavaResult], tx: &Run, oneway: bool) {
    let g = &tx.groups[0];
    let freq = tx.header.freq_hz;
    let mut cols = vec![("rtt", g.column(&tx.header, "rtt").unwrap())];
    if oneway {
        cols.push(("oneway", g.column(&tx.header, "oneway").unwrap()));
    }
    for (name, v) in cols {
        let mut sorted = v.to_vec();
        sorted.sort();
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64 * 1e9 / freq as f64;
        assert_eq!(get(results, &format!("notif_{name}_min")).measurement, ns(sorted[0], freq));
        assert_eq!(get(results, &format!("notif_{name}_max")).measurement, ns(*sorted.last().unwrap(), freq));
        assert!((get(results, &format!("notif_{name}_mean")).measurement - mean).abs() <= 1.0, "{name} mean {mean}");
        // The guest knows its median only to a histogram bucket, so it gives a bound: never below
        // the exact (nearest-rank) median, never above the max, and within the bucket's 1/64.
        let median = ns(sorted[(sorted.len() - 1) / 2], freq);
        let got = get(results, &format!("notif_{name}_median_le")).measurement;
        assert!(got >= median && got <= ns(*sorted.last().unwrap(), freq), "{name} median bound {got} vs median {median}");
        assert!(got - median <= median * ivc_proto::histogram::REL_ERROR + 1.0, "{name} median bound {got} vs median {median}");
        assert_eq!(get(results, &format!("notif_{name}_median_le")).units, "ns");
    }
    let lost = get(results, "notif_lost");
    assert_eq!((lost.measurement, lost.result.as_str()), (0.0, "pass"));
    assert!(results.iter().all(|r| r.result == "pass" && Regex::new("^[a-z0-9_]+$").unwrap().is_match(&r.case)), "{results:?}");
}

#[test]
fn jobs_parse_and_their_monitors_read_the_result_lines_of_real_captures() {
    let d = tempfile::tempdir().unwrap();
    let bm = real(d.path(), "baremetal", &["--experiment", "notif", "--samples", "50", "--gap", "200us"]);
    let xen = real(d.path(), "xen", &["--experiment", "notif", "--samples", "30", "--gap", "200us"]);
    let tr = real(
        d.path(),
        "baremetal",
        &["--experiment", "transfer", "--samples", "2", "--warmups", "1", "--total", "256K", "--buffers", "4K,256K", "--gap", "100us"],
    );
    let out = d.path().join("jobs");
    let notif_jobs = jobs(&out, &["baremetal", "xen"], "notif");
    // baremetal's coloured cells do not exist; xen has all five.
    assert_eq!(notif_jobs.len(), 2 + 5, "{:?}", notif_jobs.iter().map(|j| &j.0).collect::<Vec<_>>());
    let job_of = |jobs: &[(String, Value)], name: &str| jobs.iter().find(|j| j.0.ends_with(name)).unwrap().1.clone();
    let xen_interf = job_of(&notif_jobs, "notif/xen+interf.yaml");
    assert_eq!(s(&xen_interf, &["device_type"]), "zcu104");
    assert_eq!(s(&xen_interf, &["actions", "0", "deploy", "to"]), "tftp");
    assert_eq!(s(&xen_interf, &["actions", "0", "deploy", "kernel", "url"]), "https://lab.example/ivcbench/xen/notif+interf/boot.bin");
    assert_eq!(s(&xen_interf, &["actions", "1", "boot", "method"]), "u-boot");
    assert_eq!(s(&xen_interf, &["metadata", "ivcbench.capture"]), "notif/xen+interf");

    let r = lava_reads(&job_of(&notif_jobs, "notif/baremetal.yaml"), &String::from_utf8_lossy(&bm));
    check_notif(&r, decode(&bm).unwrap().run("tx").unwrap(), true);
    assert_eq!(r.len(), 9);
    let r = lava_reads(&job_of(&notif_jobs, "notif/xen.yaml"), &String::from_utf8_lossy(&xen));
    let xen_tx = decode(&xen).unwrap().run("tx").unwrap().clone();
    check_notif(&r, &xen_tx, xen_tx.header.get("common_counter") == Some("yes"));

    let transfer_jobs = jobs(&out, &["baremetal"], "transfer");
    assert_eq!(transfer_jobs.len(), 2);
    let r = lava_reads(&job_of(&transfer_jobs, "transfer/baremetal.yaml"), &String::from_utf8_lossy(&tr));
    let c = decode(&tr).unwrap();
    let tx = c.run("tx").unwrap();
    assert_eq!(r.len(), tx.groups.len());
    for g in &tx.groups {
        let buf: u64 = g.get("buf").unwrap().parse().unwrap();
        let total: u64 = g.get("total").unwrap().parse().unwrap();
        let id = format!(
            "transfer_{}_{}",
            g.get("mode").unwrap(),
            if buf >= 1 << 20 { format!("{}m", buf >> 20) } else { format!("{}k", buf >> 10) }
        );
        let ticks = g.column(&tx.header, "ticks").unwrap();
        let mibs = ticks.len() as f64 * total as f64 / (ticks.iter().sum::<u64>() as f64 / tx.header.freq_hz as f64) / (1 << 20) as f64;
        let got = get(&r, &id);
        assert!((got.measurement - mibs).abs() <= 0.011, "{id}: {} vs {mibs}", got.measurement);
        assert_eq!((got.units.as_str(), got.result.as_str()), ("MiB/s", "pass"));
    }
}

/// A LAVA job log around `console`: LAVA's own lines, the target's lines one entry each (without
/// their ends), the `s` it typed, and a result.
fn job_log(console: &[u8]) -> String {
    let entry = |lvl: &str, msg: &str| {
        format!("- {{\"dt\": \"2024-05-01T10:00:00.000000\", \"lvl\": \"{lvl}\", \"msg\": {}}}\n", serde_json::to_string(msg).unwrap())
    };
    let mut log = entry("info", "start: 1 tftp-deploy (timeout 00:10:00) [common]");
    let text = String::from_utf8(console.to_vec()).unwrap();
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    for line in lines {
        log += &entry("target", line.trim_end_matches('\r'));
        if line.contains("Press 's' to start") {
            log += &entry("input", "s\n");
        }
    }
    log += "- {\"dt\": \"2024-05-01T10:00:09.000000\", \"lvl\": \"results\", \"msg\": {\"case\": \"notif_lost\", \"definition\": \"ivcbench\", \"result\": \"pass\"}}\n";
    log
}

#[test]
fn import_lava_round_trips_a_job_log_of_real_captures() {
    let d = tempfile::tempdir().unwrap();
    let bm = real(d.path(), "baremetal", &["--experiment", "notif+interf", "--samples", "50", "--gap", "200us", "--interf-report", "2ms"]);
    let xen =
        real(d.path(), "xen", &["--experiment", "transfer", "--samples", "2", "--warmups", "1", "--total", "32K", "--buffers", "4K,32K"]);
    for (name, original, capture) in [("4242", &bm, "notif/baremetal+interf"), ("4243", &xen, "transfer/xen")] {
        let log = d.path().join(format!("{name}.yaml"));
        std::fs::write(&log, job_log(original)).unwrap();
        let out = d.path().join("imported");
        let o = ivcbench(&["import-lava", log.to_str().unwrap(), "--job", name, "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let path = out.join(capture);
        let got = std::fs::read(&path).unwrap();
        // The console as it was, line for line, with CR LF ends.
        let lf = |b: &[u8]| String::from_utf8_lossy(b).replace('\r', "");
        assert_eq!(lf(&got), lf(original));
        let (a, b) = (decode(&got).unwrap(), decode(original).unwrap());
        for role in ["tx", "interf"] {
            assert_eq!(
                a.run(role).map(|r| (&r.header, &r.groups, &r.progress, &r.end)),
                b.run(role).map(|r| (&r.header, &r.groups, &r.progress, &r.end))
            );
        }
        let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join(format!("{capture}.meta.json"))).unwrap()).unwrap();
        assert_eq!((meta["target"].as_str(), meta["complete"].as_bool()), (Some(format!("lava job {name}").as_str()), Some(true)));
        // A second import does not overwrite the first.
        let o = ivcbench(&["import-lava", log.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--force"));
    }

    // A job that never reached the guest: said so, nothing written.
    let log = d.path().join("empty.yaml");
    std::fs::write(&log, "- {\"dt\": \"2024-05-01T10:00:00\", \"lvl\": \"info\", \"msg\": \"start: 0 validate\"}\n").unwrap();
    let o = ivcbench(&["import-lava", log.to_str().unwrap(), "--out", d.path().join("x").to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no target (console) lines"));
}
