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

/// Debian's python, with Debian's LAVA modules (scripts/setup.sh installs them).
const PYTHON: &str = "/usr/bin/python3";

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs LAVA's own strict job schema (lava-common's `lava_common.schemas.validate`, as
/// lava-server checks a submission) over `files`; the failures, one per line.
fn lava_schema_failures(files: &[String]) -> String {
    let script = r#"
import sys, yaml
from lava_common.schemas import validate
for f in sys.argv[1:]:
    try:
        validate(yaml.safe_load(open(f)), strict=True)
    except Exception as e:
        print(f"{f}: {e}")
"#;
    let o = std::process::Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("{PYTHON}: {e} (scripts/setup.sh installs Debian's python3 and lava-common)"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "LAVA's schema did not run (scripts/setup.sh installs lava-common): {stderr}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn every_job_ivcbench_writes_passes_lavas_own_schema() {
    let d = tempfile::tempdir().unwrap();
    let all = ["baremetal", "bao", "xen", "jailhouse", "sel4"];
    let mut files = Vec::new();
    for platform in ["zcu104", "zcu102", "qemu-virt"] {
        for exp in ["notif", "transfer"] {
            let out = d.path().join(platform);
            let mut args = vec!["lava", "--matrix", "--experiment", exp, "--platform", platform, "--out", out.to_str().unwrap()];
            args.extend(["--kernel-url", "https://lab.example/ivcbench/{hypervisor}/{experiment}/boot.bin"]);
            for h in all {
                args.extend(["--hypervisor", h]);
            }
            let o = ivcbench(&args);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            files.extend(String::from_utf8(o.stdout).unwrap().lines().map(String::from));
        }
    }
    // Every hypervisor on the boards: 3 + 5 x 4 notif cells and 5 x 2 transfer cells; qemu-virt: baremetal's 2 + 2.
    assert_eq!(files.len(), 2 * (22 + 10) + 4, "{files:?}");
    // One cell without --matrix, with a lab's own U-Boot commands (docs/lava.md's Xen example).
    let out = d.path().join("one");
    let o = ivcbench(&[
        "lava",
        "--experiment",
        "notif+interf",
        "--hypervisor",
        "xen",
        "--platform",
        "zcu104",
        "--out",
        out.to_str().unwrap(),
        "--kernel-url",
        "https://lab.example/{hypervisor}/{experiment}/boot.scr",
        "--boot-command",
        "setenv serverip {SERVER_IP}",
        "--boot-command",
        "tftp 0x20000000 {KERNEL}",
        "--boot-command",
        "source 0x20000000",
        "--timeout",
        "180min",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    files.extend(String::from_utf8(o.stdout).unwrap().lines().map(String::from));
    let failures = lava_schema_failures(&files);
    assert!(failures.is_empty(), "LAVA rejects these jobs:\n{failures}");

    // The check can fail: a job without its deploy target is refused, naming the file.
    let broken = d.path().join("broken.yaml");
    std::fs::write(&broken, std::fs::read_to_string(&files[0]).unwrap().replace("    to: tftp\n", "")).unwrap();
    let failures = lava_schema_failures(&[broken.display().to_string()]);
    assert!(failures.contains("broken.yaml"), "{failures}");
}

/// The LAVA results a job log holds for the monitor test `definition`.
fn log_results(log: &str, definition: &str) -> Vec<LavaResult> {
    log.lines()
        .filter_map(|l| serde_yaml_ng::from_str::<Value>(l).ok())
        .filter(|e| e["lvl"] == "results" && e["msg"]["definition"] == definition)
        .map(|e| LavaResult {
            case: s(&e, &["msg", "case"]).to_string(),
            measurement: s(&e, &["msg", "measurement"]).parse().unwrap(),
            units: s(&e, &["msg", "units"]).to_string(),
            result: s(&e, &["msg", "result"]).to_string(),
        })
        .collect()
}

/// Debian's lava-dispatcher runs ivcbench's qemu job on a local `qemu` device (its device
/// dictionary rendered from lava-server's own `qemu.jinja2`, with the job's context, as the
/// server renders it): the image is fetched from a file:// URL, booted, started by the
/// interactive test; the monitor's results agree with the decode of the console; and
/// `import-lava` of the dispatcher's log gives, byte for byte, the capture `ivcbench run` writes
/// for the same cell (QEMU in icount mode prints the same console both times).
#[test]
fn a_real_lava_dispatcher_runs_the_qemu_job_and_its_log_imports_to_the_run_capture() {
    let d = tempfile::tempdir().unwrap();
    let p = |x: &str| d.path().join(x).to_str().unwrap().to_string();
    let o = ivcbench(&["config", "--hypervisor", "baremetal", "--platform", "qemu-virt", "--experiment", "notif", "--out", &p("cell")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let url = format!("file://{}", p("cell/images/baremetal.bin"));
    let o = ivcbench(&[
        "lava",
        "--platform",
        "qemu-virt",
        "--hypervisor",
        "baremetal",
        "--experiment",
        "notif",
        "--kernel-url",
        &url,
        "--out",
        &p("jobs"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let job = p("jobs/notif/baremetal.yaml");

    let templates = root().join(".cache/lava/device-types");
    assert!(
        templates.join("qemu.jinja2").is_file(),
        "{}: run scripts/setup.sh (it unpacks lava-server's device types)",
        templates.display()
    );
    let render = r#"
import sys, yaml, jinja2
templates, job, out = sys.argv[1:]
context = yaml.safe_load(open(job)).get("context") or {}
env = jinja2.Environment(loader=jinja2.FileSystemLoader([templates]), trim_blocks=True, autoescape=False)
open(out, "w").write(env.from_string("{% extends 'qemu.jinja2' %}\n").render(**context))
"#;
    let o = std::process::Command::new(PYTHON).args(["-c", render]).arg(&templates).arg(&job).arg(p("device.yaml")).output().unwrap();
    assert!(o.status.success(), "rendering the device dictionary: {}", String::from_utf8_lossy(&o.stderr));

    let o = std::process::Command::new("lava-run")
        .args(["--job-id", &format!("ivcbench-{}", std::process::id()), "--output-dir", &p("out"), "--device", &p("device.yaml"), &job])
        .output()
        .expect("lava-run (Debian's lava-dispatcher; scripts/setup.sh installs it)");
    // lava-run logs to its stderr, one `{dt, lvl, msg}` entry a line.
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    std::fs::write(p("job.log"), &log).unwrap();
    assert!(o.status.success() && log.contains("Job finished correctly"), "lava-run failed ({}):\n{log}", o.status);

    let o = ivcbench(&["import-lava", &p("job.log"), "--job", "1", "--out", &p("imported")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("emulated on QEMU virt"), "{}", String::from_utf8_lossy(&o.stdout));
    let imported = std::fs::read(p("imported/notif/baremetal")).unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(p("imported/notif/baremetal.meta.json")).unwrap()).unwrap();
    assert_eq!((meta["emulated"].as_bool(), meta["lava"]["hardware"].as_bool()), (Some(true), Some(false)));

    // LAVA's own results, from the dispatcher's log, against the host's decode of that console.
    let results = log_results(&log, "ivcbench_baremetal_notif");
    assert_eq!(results.len(), 9, "{results:?}");
    check_notif(&results, decode(&imported).unwrap().run("tx").unwrap(), true);

    // `ivcbench run` of the same cell (its defaults are the image's) writes the same bytes.
    common::run_ok("baremetal", &d.path().join("run"), &["--experiment", "notif"]);
    let ran = std::fs::read(d.path().join("run/notif/baremetal")).unwrap();
    assert!(imported == ran, "imported:\n{}\nran:\n{}", String::from_utf8_lossy(&imported), String::from_utf8_lossy(&ran));
}
