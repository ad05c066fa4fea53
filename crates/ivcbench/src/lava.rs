//! Board farms through LAVA: job definitions for matrix cells, and job logs back into captures.
//!
//! A job deploys a cell's boot image, boots it up to the guest's start prompt (U-Boot on a board,
//! LAVA's `qemu` device type on `qemu-virt`), sends `s` (an `interactive` test, as a person
//! would), then a `monitors` test records one LAVA result per `ivcbench-result:` line that tx
//! prints before its end record. The job's log keeps every console line, so `import-lava` rebuilds
//! the seed's capture file from it and farm runs go into the same reports as the others; [`farm`]
//! submits the jobs to a LAVA server and collects them. docs/lava.md walks through it.

pub mod farm;

use crate::names::{Configuration, Hypervisor};
use crate::qemu::{self, Clock};
use crate::{run, testbed};
use anyhow::{anyhow, bail, Context, Result};
use ivc_proto::capture::{self, Capture, PROMPT, RESULT_PREFIX};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Matched once the start key went out: tx's first header record, printed once per run.
pub const STARTED: &str = "@ivc1 tx 0 H ";
/// The monitor starts at tx's second header record (the first is taken by the interactive
/// test's success match, and LAVA needs a start string that comes after it).
pub const MONITOR_START: &str = "@ivc1 tx 1 H ";
/// tx's end record: after every result line.
pub const MONITOR_END: &str = "@ivc1 tx [0-9]+ E ";

/// LAVA's monitor pattern for the guests' result lines (Python `re` syntax, which LAVA uses):
/// the named groups are the ones LAVA reads.
pub fn monitor_pattern() -> String {
    format!(
        "{RESULT_PREFIX}test_case_id=(?P<test_case_id>[a-z0-9_]+) measurement=(?P<measurement>[0-9.]+) units=(?P<units>[A-Za-z/]+) result=(?P<result>pass|fail)"
    )
}

/// How a job boots the cell.
#[derive(Clone, Debug)]
pub enum JobBoot {
    /// A board: U-Boot commands that load and enter the boot image (LAVA substitutes
    /// `{KERNEL_ADDR}`, `{KERNEL}`, `{SERVER_IP}`, ...; ivcbench `{hypervisor}` and `{experiment}`).
    UBoot(Vec<String>),
    /// LAVA's `qemu` device type, on the machine of the QEMU testbed (`virt`, as `ivcbench run`
    /// boots the baremetal image), paced by `-icount shift=N`.
    Qemu { icount_shift: u8 },
}

/// How the jobs deploy and boot a cell: lab-specific, so all of it can be set.
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// LAVA's device type (e.g. `zcu104`).
    pub device_type: String,
    /// Platform the images were built for (`zcu104`, `zcu102`).
    pub platform: String,
    /// Where the boot image is served; `{hypervisor}`, `{experiment}` (the cell) are replaced.
    pub kernel_url: String,
    pub boot: JobBoot,
    /// Job timeout in minutes (a million notifications at 10 ms take almost three hours).
    pub timeout_minutes: u32,
    /// `visibility:` of the jobs.
    pub visibility: String,
}

/// The default U-Boot commands: fetch the boot image over TFTP and jump to it (a bare-metal
/// image, Bao's `bao.bin`); Xen needs its own (docs/lava.md).
pub fn default_boot_commands() -> Vec<String> {
    vec!["tftp {KERNEL_ADDR} {KERNEL}".into(), "go {KERNEL_ADDR}".into()]
}

/// A YAML single-quoted scalar: no escapes but `''`, so patterns keep their backslashes.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Why a cell has no LAVA job on `platform`, if it has none.
pub fn refusal(h: Hypervisor, c: Configuration, boot: &JobBoot) -> Option<String> {
    match boot {
        // One image on `-kernel`: Xen's testbed needs a device tree edited per run, Bao a second UART.
        JobBoot::Qemu { .. } if h != Hypervisor::Baremetal => {
            Some(format!("LAVA's qemu jobs boot the baremetal image only, not {h} (its QEMU machine is ivcbench's own: `ivcbench run`)"))
        }
        _ => crate::matrix::board_refusal(h, c),
    }
}

fn fill(s: &str, h: Hypervisor, c: Configuration) -> String {
    s.replace("{hypervisor}", h.name()).replace("{experiment}", &c.to_string())
}

/// The job definition of one cell.
pub fn job(h: Hypervisor, c: Configuration, o: &JobOptions) -> String {
    let mut y = String::new();
    let cell = format!("{h}{}", c.suffix);
    let _ = writeln!(y, "# LAVA job for the ivcbench cell {h}/{c} on {} (written by `ivcbench lava`).", o.platform);
    let _ = writeln!(y, "# Import its log with: ivcbench import-lava <job log> --job <id>");
    let _ = writeln!(y, "device_type: {}", q(&o.device_type));
    let _ = writeln!(y, "job_name: {}", q(&format!("ivcbench {h} {c} {}", o.platform)));
    let _ = writeln!(y, "priority: medium");
    let _ = writeln!(y, "visibility: {}", q(&o.visibility));
    let _ = writeln!(y, "metadata:");
    for (k, v) in [
        ("hypervisor", h.name().to_string()),
        ("experiment", c.to_string()),
        ("platform", o.platform.clone()),
        ("capture", format!("{}/{cell}", c.experiment.name())),
    ] {
        let _ = writeln!(y, "  ivcbench.{k}: {}", q(&v));
    }
    let _ = writeln!(y, "timeouts:");
    let _ = writeln!(y, "  job: {{minutes: {}}}", o.timeout_minutes);
    let _ = writeln!(y, "  action: {{minutes: {}}}", o.timeout_minutes);
    let _ = writeln!(y, "  connection: {{minutes: 5}}");
    if let JobBoot::Qemu { icount_shift } = o.boot {
        // The device type's template reads these (LAVA's job context): the testbed's machine.
        let _ = writeln!(y, "context:");
        let _ = writeln!(y, "  arch: arm64");
        let _ = writeln!(y, "  machine: {}", q(qemu::VIRT_MACHINE));
        let _ = writeln!(y, "  cpu: {}", q(qemu::VIRT_CPU));
        let _ = writeln!(y, "  memory: {}", qemu::VIRT_MEMORY_MIB);
        let _ = writeln!(y, "  extra_options:");
        let _ = writeln!(y, "  - '-smp {}'", testbed::baremetal_cores(c.suffix.interf));
        let _ = writeln!(y, "  - {}", q(&qemu::clock_options(Clock::Icount(icount_shift)).join(" ")));
        let _ = writeln!(y, "  - '-no-reboot'");
    }
    let _ = writeln!(y, "actions:");
    let _ = writeln!(y, "- deploy:");
    let _ = writeln!(y, "    timeout: {{minutes: 10}}");
    match &o.boot {
        JobBoot::UBoot(_) => {
            let _ = writeln!(y, "    to: tftp");
            let _ = writeln!(y, "    kernel:");
            let _ = writeln!(y, "      url: {}", q(&fill(&o.kernel_url, h, c)));
            let _ = writeln!(y, "      type: image");
        }
        JobBoot::Qemu { .. } => {
            let _ = writeln!(y, "    to: tmpfs");
            let _ = writeln!(y, "    images:");
            let _ = writeln!(y, "      kernel:");
            let _ = writeln!(y, "        image_arg: '-kernel {{kernel}}'");
            let _ = writeln!(y, "        url: {}", q(&fill(&o.kernel_url, h, c)));
        }
    }
    let _ = writeln!(y, "- boot:");
    let _ = writeln!(y, "    timeout: {{minutes: 10}}");
    match &o.boot {
        JobBoot::UBoot(commands) => {
            let _ = writeln!(y, "    method: u-boot");
            let _ = writeln!(y, "    commands:");
            for cmd in commands {
                let _ = writeln!(y, "    - {}", q(&fill(cmd, h, c)));
            }
        }
        JobBoot::Qemu { .. } => {
            let _ = writeln!(y, "    method: qemu");
            let _ = writeln!(y, "    media: tmpfs");
        }
    }
    let _ = writeln!(y, "    # No Linux boots: without this LAVA waits for `Linux version` before the prompt.");
    let _ = writeln!(y, "    parameters:");
    let _ = writeln!(y, "      kernel-start-message: ''");
    let _ = writeln!(y, "    # The guest waits for its start key; LAVA's boot ends at that prompt.");
    let _ = writeln!(y, "    prompts:");
    let _ = writeln!(y, "    - {}", q(PROMPT));
    let _ = writeln!(y, "- test:");
    let _ = writeln!(y, "    timeout: {{minutes: 2}}");
    let _ = writeln!(y, "    interactive:");
    let _ = writeln!(y, "    - name: ivcbench_start");
    let _ = writeln!(y, "      prompts:");
    let _ = writeln!(y, "      - {}", q(PROMPT));
    let _ = writeln!(y, "      script:");
    let _ = writeln!(y, "      # `s` starts the run, as in the seed; its first record says it started.");
    let _ = writeln!(y, "      - name: start");
    let _ = writeln!(y, "        command: s");
    let _ = writeln!(y, "        wait_for_prompt: false");
    let _ = writeln!(y, "        successes:");
    let _ = writeln!(y, "        - message: {}", q(STARTED));
    let _ = writeln!(y, "        failures:");
    let _ = writeln!(y, "        - message: 'ivc-guest (panic|exception)'");
    let _ = writeln!(y, "          exception: TestError");
    let _ = writeln!(y, "- test:");
    let _ = writeln!(y, "    timeout: {{minutes: {}}}", o.timeout_minutes);
    let _ = writeln!(y, "    monitors:");
    let _ = writeln!(
        y,
        "    - name: {}",
        q(&format!("ivcbench_{}_{}{}", h.name(), c.experiment.name(), c.suffix.to_string().replace('+', "_")))
    );
    let _ = writeln!(y, "      start: {}", q(MONITOR_START));
    let _ = writeln!(y, "      end: {}", q(MONITOR_END));
    let _ = writeln!(y, "      pattern: {}", q(&monitor_pattern()));
    y
}

/// Where a cell's job goes under `out`: `<experiment>/<hypervisor><suffix>.yaml`, as captures are named.
pub fn job_path(out: &Path, h: Hypervisor, c: Configuration) -> PathBuf {
    let mut p = c.capture_path(out, h).into_os_string();
    p.push(".yaml");
    PathBuf::from(p)
}

/// `ivcbench lava`: writes a job per hypervisor and cell under `out` (printing each path), and
/// names on stderr each cell that has no job on this boot (e.g. a Xen colour cell on QEMU); an
/// error when no job was written at all.
pub fn write_jobs(out: &Path, hypervisors: &[Hypervisor], configs: &[Configuration], opts: &JobOptions) -> Result<()> {
    let mut written = 0;
    for &h in hypervisors {
        for &c in configs {
            if let Some(why) = refusal(h, c, &opts.boot) {
                eprintln!("ivcbench: skipped {h}/{c}: {why}");
                continue;
            }
            let path = job_path(out, h, c);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&path, job(h, c, opts)).with_context(|| format!("writing {}", path.display()))?;
            println!("{}", path.display());
            written += 1;
        }
    }
    if written == 0 {
        bail!("no job written: no cell asked for has a job on {}", opts.platform);
    }
    Ok(())
}

/// One entry of a LAVA job log (`output.yaml`: a list of `{dt, lvl, msg}`).
#[derive(serde::Deserialize)]
struct LogEntry {
    lvl: String,
    msg: serde_yaml_ng::Value,
}

/// The job log's entries: LAVA's `output.yaml` (a YAML list, as the server keeps it) or what
/// `lava-run` prints (one `{dt, lvl, msg}` mapping a line).
fn log_entries(log: &[u8]) -> Result<Vec<LogEntry>> {
    let list = serde_yaml_ng::from_slice::<Vec<LogEntry>>(log);
    let lines = || -> Option<Vec<LogEntry>> {
        let text = std::str::from_utf8(log).ok()?;
        let lines = text.lines().filter(|l| !l.trim().is_empty());
        lines.map(|l| serde_yaml_ng::from_str::<LogEntry>(l.strip_prefix("- ").unwrap_or(l)).ok()).collect()
    };
    match list {
        Ok(entries) => Ok(entries),
        Err(e) => lines()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| anyhow!("not a LAVA job log (a YAML list of {{dt, lvl, msg}} entries, or lava-run's one entry a line): {e}")),
    }
}

/// Why a job failed, as its log's last `job` result says (`error_type: error_msg`).
pub(crate) fn job_error(log: &[u8]) -> Option<String> {
    let entries = log_entries(log).ok()?;
    let r = entries.iter().rev().find(|e| e.lvl == "results" && e.msg["case"] == "job" && e.msg["result"] == "fail")?;
    let msg = r.msg["error_msg"].as_str()?.trim();
    Some(match r.msg["error_type"].as_str() {
        Some(t) => format!("{t} error: {msg}"),
        None => msg.to_string(),
    })
}

fn text(msg: &serde_yaml_ng::Value) -> Option<String> {
    match msg {
        serde_yaml_ng::Value::String(s) => Some(s.clone()),
        // A line that YAML reads as a number or a boolean is still console text.
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The board's console from a LAVA job log: the `target` lines, in order, each ended with CR LF
/// as the console sent it (LAVA logs lines without their ends). What the dispatcher typed comes
/// back as a `target` line of its own when its terminal echoes it (its `s`, and the `poweroff`
/// it sends at the end, seen on LAVA's qemu devices): a target line right after an `input` entry
/// that repeats it is that echo, not the board's output, and is left out. When the prompt had no
/// line end yet as the dispatcher typed, the echo lands on the prompt's own line
/// (`Press 's' to starts`) and its line end makes an empty line of its own: both are left out too.
/// Which of the two shapes a log has depends on the dispatcher's timing.
pub fn console_from_log(log: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut typed: Option<String> = None;
    let mut echo_line_end = false;
    for e in log_entries(log)? {
        let Some(line) = text(&e.msg) else { continue };
        match e.lvl.as_str() {
            "input" => typed = Some(line.trim_end_matches(['\r', '\n']).to_string()),
            "target" => {
                let mut line = line.trim_end_matches(['\r', '\n']);
                if std::mem::take(&mut echo_line_end) && line.is_empty() {
                    continue;
                }
                if let Some(t) = typed.take().filter(|t| !t.is_empty()) {
                    if t == line {
                        continue;
                    }
                    if let Some(before) = line.strip_suffix(t.as_str()) {
                        line = before;
                        echo_line_end = true;
                    }
                }
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            _ => {}
        }
    }
    Ok(out)
}

/// What `import-lava` writes where.
pub struct ImportOptions {
    /// Root of the captures (`experiments/comm`).
    pub out_root: PathBuf,
    pub force: bool,
    /// The LAVA job id, for the metadata [default: the log's file name].
    pub job: Option<String>,
    /// The cell, when the capture's own header should not name it.
    pub hypervisor: Option<Hypervisor>,
    pub config: Option<Configuration>,
}

pub struct Imported {
    pub path: PathBuf,
    pub capture: Capture,
    /// What it was measured on, as its metadata says.
    pub testbed: String,
}

/// What a LAVA-made capture was measured on, for its metadata (the report reads `testbed`:
/// `emulated ...` or `hardware`).
pub struct Provenance {
    pub emulated: bool,
    pub testbed: String,
    /// The `lava` object of the metadata: server, job id, device, device type, hardware.
    pub lava: serde_json::Value,
}

impl Provenance {
    /// A job of a LAVA server: a `qemu` device (or a qemu-virt cell) is emulated; a board is hardware.
    pub fn lava(server: &str, job: u64, device: &str, device_type: &str, platform: &str) -> Provenance {
        let emulated = device_type == "qemu" || platform == "qemu-virt";
        Provenance {
            emulated,
            testbed: testbed(emulated, &format!("LAVA device {device}")),
            lava: serde_json::json!({
                "server": server, "job_id": job, "device": device, "device_type": device_type, "hardware": !emulated,
            }),
        }
    }

    /// A job log imported by hand: what ran it is known only from the capture's own platform.
    fn log(job: &str, platform: Option<&str>) -> Provenance {
        let emulated = platform == Some("qemu-virt");
        Provenance {
            emulated,
            testbed: testbed(emulated, &format!("LAVA job {job}")),
            lava: serde_json::json!({ "job_id": job, "device": null, "device_type": null, "hardware": !emulated }),
        }
    }
}

fn testbed(emulated: bool, on: &str) -> String {
    match emulated {
        true => format!("emulated on QEMU virt ({on}: a LAVA qemu device, instruction-paced virtual time, not hardware latency)"),
        false => crate::serial::TESTBED.to_string(),
    }
}

/// Turns a LAVA job log into the seed's capture file (with its metadata) and decodes it.
pub fn import(log: &Path, o: &ImportOptions) -> Result<Imported> {
    let bytes = std::fs::read(log).with_context(|| format!("reading the LAVA job log {}", log.display()))?;
    import_console(log, &bytes, o, None)
}

/// [`import`] of a log already read; `provenance` when the job's server and device are known.
pub(crate) fn import_console(log: &Path, bytes: &[u8], o: &ImportOptions, provenance: impl Into<Option<Provenance>>) -> Result<Imported> {
    let console = console_from_log(bytes).with_context(|| log.display().to_string())?;
    if console.is_empty() {
        bail!("{}: the job log has no target (console) lines", log.display());
    }
    let decoded = capture::decode_lenient(&console);
    let header = decoded.run("tx").map(|r| r.header.clone());
    let hypervisor = match (o.hypervisor, &header) {
        (Some(h), _) => h,
        (None, Some(h)) => Hypervisor::from_name(&h.hypervisor)
            .ok_or_else(|| anyhow!("{}: the capture names hypervisor `{}`; pass --hypervisor", log.display(), h.hypervisor))?,
        (None, None) => {
            bail!("{}: no tx header in the job's console (did the guest start?); pass --hypervisor and --experiment", log.display())
        }
    };
    let config = match (o.config, &header) {
        (Some(c), _) => c,
        (None, Some(h)) => Configuration::parse(&format!("{}{}", h.experiment, h.config))
            .with_context(|| format!("{}: the capture's header names no known cell; pass --experiment", log.display()))?,
        (None, None) => bail!("{}: no tx header in the job's console; pass --experiment", log.display()),
    };
    let path = config.capture_path(&o.out_root, hypervisor);
    if path.exists() && !o.force {
        bail!("{} already exists: pass --force to import again (the old capture is kept as {}.1)", path.display(), path.display());
    }
    if o.force {
        crate::keep::keep_old(&path)?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, &console).with_context(|| format!("writing {}", path.display()))?;
    let checked = run::checked(&path, decoded);
    let job = o.job.clone().unwrap_or_else(|| log.file_stem().unwrap_or_default().to_string_lossy().into_owned());
    let prov = provenance.into().unwrap_or_else(|| Provenance::log(&job, header.as_ref().map(|h| h.platform.as_str())));
    let meta = serde_json::json!({
        "tool": format!("ivcbench {}", env!("CARGO_PKG_VERSION")),
        "command": std::env::args().collect::<Vec<_>>(),
        "hypervisor": hypervisor.name(),
        "configuration": config.to_string(),
        "platform": header.as_ref().map(|h| h.platform.clone()),
        "target": format!("lava job {job}"),
        "emulated": prov.emulated,
        "testbed": &prov.testbed,
        "lava": prov.lava,
        "lava_log": log.display().to_string(),
        "complete": checked.is_ok(),
        "error": checked.as_ref().err().map(|e| format!("{e:#}")),
    });
    std::fs::write(run::meta_path(&path), serde_json::to_string_pretty(&meta)? + "\n")
        .with_context(|| format!("writing the metadata beside {}", path.display()))?;
    let capture = checked.with_context(|| format!("LAVA job {job}: the console is kept in {}", path.display()))?;
    Ok(Imported { path, capture, testbed: prov.testbed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quotes_keep_backslashes_and_double_quotes() {
        assert_eq!(q(r"a\S 'b'"), r"'a\S ''b'''");
        let v: String = serde_yaml_ng::from_str(&q(r"x\d+ 'y'")).unwrap();
        assert_eq!(v, r"x\d+ 'y'");
    }

    #[test]
    fn console_lines_come_from_target_entries_only() {
        let log = br#"
- {"dt": "2024-05-01T10:00:00.000000", "lvl": "info", "msg": "start: 1.1 tftp-deploy"}
- {"dt": "2024-05-01T10:00:01.000000", "lvl": "target", "msg": "U-Boot 2023.01"}
- {"dt": "2024-05-01T10:00:02.000000", "lvl": "input", "msg": "s\n"}
- {"dt": "2024-05-01T10:00:02.100000", "lvl": "target", "msg": "42"}
- {"dt": "2024-05-01T10:00:03.000000", "lvl": "results", "msg": {"case": "x", "result": "pass"}}
"#;
        assert_eq!(console_from_log(log).unwrap(), b"U-Boot 2023.01\r\n42\r\n");
        assert!(console_from_log(b"not: [a list").is_err());
    }

    #[test]
    fn a_failed_jobs_reason_comes_from_its_last_job_result() {
        // As LAVA 2023.01 logged a boot that never saw its prompt, here.
        let log = br#"- {"dt": "2026-11-26T03:25:16.7", "lvl": "results", "msg": {"case": "auto-login-action", "definition": "lava", "result": "fail"}}
- {"dt": "2026-11-26T03:25:22.9", "lvl": "results", "msg": {"case": "job", "definition": "lava", "error_msg": "auto-login-action timed out after 120 seconds", "error_type": "Job", "result": "fail"}}
"#;
        assert_eq!(job_error(log).as_deref(), Some("Job error: auto-login-action timed out after 120 seconds"));
        assert_eq!(job_error(br#"- {"dt": "x", "lvl": "results", "msg": {"case": "job", "definition": "lava", "result": "pass"}}"#), None);
    }

    #[test]
    fn the_dispatchers_echo_of_what_it_typed_is_not_console() {
        // lava-run's own form (one entry a line, no list), with the echo seen on LAVA's qemu devices.
        let log = br#"{"dt": "2026-11-26T03:25:33.1", "lvl": "target", "msg": "Press 's' to start"}
{"dt": "2026-11-26T03:25:33.2", "lvl": "input", "msg": "s\n"}
{"dt": "2026-11-26T03:25:33.3", "lvl": "target", "msg": "s"}
{"dt": "2026-11-26T03:25:33.4", "lvl": "target", "msg": "s"}
{"dt": "2026-11-26T03:25:35.0", "lvl": "input", "msg": "poweroff\n"}
{"dt": "2026-11-26T03:25:35.1", "lvl": "debug", "msg": "x"}
{"dt": "2026-11-26T03:25:35.2", "lvl": "target", "msg": "poweroff"}
"#;
        // Only the line right after what was typed is its echo: the board's own `s` stays.
        assert_eq!(console_from_log(log).unwrap(), b"Press 's' to start\r\ns\r\n");
    }

    #[test]
    fn an_echo_on_the_prompts_own_line_is_not_console() {
        // The shape seen when the dispatcher types before the prompt's line was logged.
        let log = br#"{"dt": "2026-11-26T04:50:01.0", "lvl": "input", "msg": "s\n"}
{"dt": "2026-11-26T04:50:01.1", "lvl": "target", "msg": "Press 's' to starts"}
{"dt": "2026-11-26T04:50:01.2", "lvl": "target", "msg": ""}
{"dt": "2026-11-26T04:50:01.3", "lvl": "target", "msg": "@ivc1 tx 0 H v=1"}
{"dt": "2026-11-26T04:50:01.4", "lvl": "target", "msg": ""}
"#;
        // Only the empty line that ends the echo goes; a later empty line is the board's.
        assert_eq!(console_from_log(log).unwrap(), b"Press 's' to start\r\n@ivc1 tx 0 H v=1\r\n\r\n");
    }
}
