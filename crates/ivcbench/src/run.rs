//! Step 3 of the workflow: run a configuration and capture its console.
//!
//! The console bytes go to the capture file as they arrive, before anything parses them, so
//! nothing captured is lost when a run fails. The run is watched for the guest's start prompt
//! (answered with `s`, as a person would in the seed), for tx's end record and for silence.

use crate::build;
use crate::names::{Configuration, Hypervisor};
use crate::qemu::{self, Clock};
use crate::testbed::{self, run_dir};
use anyhow::{anyhow, bail, Context, Result};
use ivc_proto::capture::{self, Capture, PROMPT, TAG};
use ivc_proto::params::{flag, Experiment, Params};
use ivc_proto::platform::Platform;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// Everything one run needs.
pub struct RunSpec {
    pub hypervisor: Hypervisor,
    pub config: Configuration,
    pub platform: &'static Platform,
    /// Parameters for the guests; experiment, role and configuration are filled in by [`run`].
    pub params: Params,
    /// Root of the captures (`experiments/comm`).
    pub out_root: PathBuf,
    pub force: bool,
    pub clock: Clock,
    /// Longest wait for the start prompt after QEMU starts.
    pub boot_timeout: Duration,
    /// Longest silence on the console once the run has started.
    pub idle_timeout: Duration,
    /// Show progress on stderr.
    pub progress: bool,
    /// Xen image to boot (default: Debian's package unpacked by scripts/setup.sh).
    pub xen: Option<PathBuf>,
    /// A bao.bin built by the user with ivcbench's config.c and images (Bao is not shipped).
    pub bao: Option<PathBuf>,
    /// What the user built for `--hypervisor jailhouse` (Jailhouse is not shipped either).
    pub jailhouse: crate::jailhouse::Paths,
    /// Count path lengths with the TCG plugin into `<capture>.pathlen` (crate::pathlen).
    pub pathlen: bool,
    /// A seL4 system image (capDL loader image) built by the user from ivcbench's CAmkES
    /// application (seL4 is not shipped; crate::sel4).
    pub sel4: Option<PathBuf>,
}

/// A finished, decoded run.
pub struct Outcome {
    pub capture_path: PathBuf,
    pub capture: Capture,
    pub testbed: String,
    pub wall: Duration,
}

/// Builds, boots, captures and decodes one configuration.
pub fn run(spec: &RunSpec) -> Result<Outcome> {
    let path = spec.config.capture_path(&spec.out_root, spec.hypervisor);
    if path.exists() && !spec.force {
        bail!("{} already exists: pass --force to run again (the old capture is kept as {}.1)", path.display(), path.display());
    }
    check_supported(spec)?;
    let machine = qemu::machine(spec.platform.name)?.1;
    let qemu_version = qemu::check(spec.clock)?;
    let root = build::project_root();
    // Patched images and generated files go with the run, whether it ends well or not.
    let _work = WorkDir(run_dir(spec, &root));
    let boot = testbed::boot(spec, &root, &path)?;
    let mut cmd = boot.cmd;
    if spec.pathlen {
        if spec.clock == Clock::RealTime {
            bail!("--pathlen needs icount mode (one thread runs every vCPU, so a marker reads all their counters at one moment): drop --realtime");
        }
        cmd.args(crate::pathlen::qemu_args(&crate::pathlen::plugin(&root)?, &crate::pathlen::sidecar(&path))?);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if spec.force {
        crate::keep::keep_old(&path)?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .create_new(!spec.force)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    // A replaced capture's path lengths belong to the old run.
    if !spec.pathlen {
        let _ = std::fs::remove_file(crate::pathlen::sidecar(&path));
    }

    let started = SystemTime::now();
    let t0 = Instant::now();
    let what = format!("{}/{}", spec.hypervisor, spec.config);
    eprintln!("ivcbench: running {what} on QEMU ({qemu_version}); capturing to {}", path.display());
    let early = Meta { spec, cmd: &cmd, started, wall: Duration::ZERO, qemu_version: &qemu_version, placement: &boot.placement, machine };
    // Until the run ends, the metadata says the capture is partial: a run killed on the way
    // (Ctrl-C, a lost machine) leaves it marked so.
    let _ = write_meta(&path, &early, Some(&anyhow!("{INTERRUPTED}")));
    let console = capture_console(&mut cmd, &mut file, spec, &what, &boot.start, boot.stays_up, &boot.after_end);
    let console = crate::jailhouse::explain(spec, &path, console);
    // The placement on record is the hypervisor's own report where it gives one.
    let console = console.and_then(|()| match boot.verify {
        Some(verify) => verify(spec, &String::from_utf8_lossy(&std::fs::read(&path)?), &boot.placement),
        None => Ok(boot.placement.clone()),
    });
    let placement = console.as_ref().map_or(boot.placement.clone(), String::clone);
    let meta = Meta { spec, cmd: &cmd, started, wall: t0.elapsed(), qemu_version: &qemu_version, placement: &placement, machine };
    // The metadata must not hide why a run failed (a full disk fails both).
    if let Err(e) = write_meta(&path, &meta, console.as_ref().err()) {
        eprintln!("ivcbench: warning: could not write the metadata beside {}: {e:#}", path.display());
    }
    console.with_context(|| format!("{what}: the raw console is kept in {}", path.display()))?;
    eprintln!("ivcbench: placement: {placement}");

    let bytes = std::fs::read(&path)?;
    let capture = checked(&path, capture::decode_lenient(&bytes))?;
    crate::pmu::check(spec, &capture)?;
    Ok(Outcome { capture_path: path, capture, testbed: spec.clock.testbed(machine), wall: meta.wall })
}

/// A run's work directory (target/ivcbench/run/<cell>.<pid>), removed when the run ends.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the metadata of a run that has not finished says, until it does.
pub const INTERRUPTED: &str = "the run did not finish (in progress, or interrupted): the capture is partial";

/// The capture must end with a whole tx run. Earlier runs of a guest that restarted are kept in
/// the file and named in a warning; damage anywhere else is an error with its line.
pub(crate) fn checked(path: &Path, capture: Capture) -> Result<Capture> {
    let last = capture.runs.iter().rposition(|r| r.header.role == "tx");
    let Some(last) = last else { bail!("{}: no tx run in the capture", path.display()) };
    // Damage that counts: unattributed lines, the last tx run, and every other role's runs.
    let counted = capture.runs.iter().enumerate().filter(|(i, r)| *i == last || r.header.role != "tx");
    let relevant = capture.damage.iter().chain(counted.flat_map(|(_, r)| r.damage.iter()));
    if let Some(e) = relevant.min_by_key(|e| e.line) {
        bail!("{}:{e}", path.display());
    }
    for r in capture.runs.iter().take(last).filter(|r| r.header.role == "tx" && !r.damage.is_empty()) {
        eprintln!(
            "ivcbench: warning: {}: an earlier tx run (lines {}-{}) was cut off ({}); the run that follows is whole",
            path.display(),
            r.first_line,
            r.last_line,
            r.damage[0]
        );
    }
    Ok(capture)
}

/// Why this cell cannot run on the QEMU testbed, if it cannot (for the matrix, which skips it).
pub fn refusal(spec: &RunSpec) -> Option<String> {
    check_supported(spec).err().map(|e| e.to_string())
}

/// Refuses what a hypervisor on this testbed cannot do, rather than run something else under the
/// configuration's name.
fn check_supported(spec: &RunSpec) -> Result<()> {
    if spec.hypervisor == Hypervisor::Jailhouse {
        return crate::jailhouse::check_supported(spec);
    }
    if spec.hypervisor == Hypervisor::Sel4 && spec.platform.name != "qemu-virt" {
        bail!(
            "sel4 runs on the qemu-virt testbed only (with --sel4); for {} generate the CAmkES application with \
             `ivcbench config --hypervisor sel4 --platform {}` (docs/sel4.md) and capture it with `--target serial`",
            spec.platform.name,
            spec.platform.name
        );
    }
    if !spec.config.suffix.col {
        return Ok(());
    }
    match spec.hypervisor {
        Hypervisor::Baremetal => bail!(
            "{}: baremetal has no hypervisor to colour memory, so `+col`/`+hypcol` would run the uncoloured setup under a coloured name",
            spec.config
        ),
        Hypervisor::Sel4 => bail!(
            "{}: the CAmkES VMM has no cache colouring, so sel4{} would run uncoloured under a coloured name",
            spec.config,
            spec.config.suffix
        ),
        // Whether the Xen to boot colours is read from the image itself.
        Hypervisor::Xen => {
            let xen = testbed::xen_image(spec, &build::project_root())?;
            testbed::check_xen_colouring(spec, &xen, &crate::xen::features(&xen)?)
        }
        _ => Ok(()),
    }
}

/// Where rx's console goes when it has a UART of its own: beside the capture, `<capture>.rx`.
pub fn rx_console_path(capture: &Path) -> PathBuf {
    let mut name = capture.file_name().unwrap_or_default().to_os_string();
    name.push(".rx");
    capture.with_file_name(name)
}

/// What a console reader thread reports.
pub(crate) enum Event {
    Data(Vec<u8>),
    Eof,
}

/// Reads `from` on a thread of its own and sends what arrives, so that the watch loop can time
/// out on silence whatever the source (QEMU's stdout, a serial port).
pub(crate) fn reader(mut from: impl Read + Send + 'static) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) => {
                    let _ = tx.send(Event::Eof);
                    break;
                }
                // A serial port's read times out when nothing comes; that is not the end.
                Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted) => continue,
                Err(_) => {
                    let _ = tx.send(Event::Eof);
                    break;
                }
                Ok(n) => {
                    if tx.send(Event::Data(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

fn capture_console(
    cmd: &mut std::process::Command,
    file: &mut File,
    spec: &RunSpec,
    what: &str,
    start: &[u8],
    stays_up: bool,
    after_end: &[u8],
) -> Result<()> {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("starting {:?}", cmd.get_program()))?;
    let result = watch(&mut child, file, spec, what, start, stays_up, after_end);
    // Whatever happened, QEMU does not outlive the run.
    let mut stopped = false;
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.kill();
        stopped = true;
    }
    // A machine that stays up is stopped after a whole run: its exit status says nothing.
    let status = child.wait().ok().filter(|_| !(stopped && stays_up));
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    match result {
        Err(e) if !err.trim().is_empty() => Err(e.context(format!("QEMU said: {}", err.trim()))),
        Err(e) => Err(e),
        Ok(()) if status.is_some_and(|s| !s.success()) => {
            bail!("QEMU failed ({}): {}", status.unwrap(), err.trim())
        }
        Ok(()) => Ok(()),
    }
}

fn watch(
    child: &mut Child,
    file: &mut File,
    spec: &RunSpec,
    what: &str,
    start_bytes: &[u8],
    stays_up: bool,
    after_end: &[u8],
) -> Result<()> {
    let events = reader(child.stdout.take().expect("stdout is piped"));
    let stdin = child.stdin.as_mut().expect("stdin is piped");
    match watch_console(&events, stdin, file, spec, what, start_bytes)? {
        Ended::EndRecord => {
            // One key at a time, each once the last one's output is over: Xen runs a debug key
            // later, from a tasklet that remembers only the last key typed.
            for key in after_end {
                stdin.write_all(&[*key]).and_then(|_| stdin.flush()).context("asking the hypervisor for its report")?;
                drain(&events, file)?;
            }
            if !stays_up {
                wait_exit(child);
            }
            Ok(())
        }
        Ended::Closed { prompted, last_line, .. } => {
            let status = child.wait()?;
            bail!(
                "QEMU exited ({status}) before tx's end record{}; last console line: {last_line:?}",
                if prompted { "" } else { " (the guest never printed its start prompt)" }
            );
        }
    }
}

/// How a watched console ended, when it did not fail.
pub(crate) enum Ended {
    /// tx's end record arrived (and was written to disk).
    EndRecord,
    /// The source closed first (QEMU exited, the port went away).
    Closed { prompted: bool, last_line: String },
}

/// Samples received so far, of those expected (header `n` times the groups the run has).
struct Progress {
    decoder: capture::Decoder,
    lines: usize,
    expected_groups: u64,
    checked_header: bool,
}

impl Progress {
    fn new(spec: &RunSpec) -> Self {
        let p = &spec.params;
        let groups = match spec.config.experiment {
            Experiment::Notif => 1,
            Experiment::Transfer => {
                let modes = [flag::MODE_POLLING, flag::MODE_INTERRUPT].iter().filter(|m| p.flags & **m != 0).count();
                (modes as u32 * p.buffers.count_ones()) as u64
            }
        };
        Progress { decoder: capture::Decoder::default(), lines: 0, expected_groups: groups, checked_header: false }
    }

    fn line(&mut self, line: &[u8]) {
        self.lines += 1;
        self.decoder.line(self.lines, line);
    }

    fn tx(&self) -> Option<&capture::Run> {
        self.decoder.capture().runs.iter().rev().find(|r| r.header.role == "tx")
    }

    /// `(received, expected)`; expected is 0 until tx's header has come.
    fn samples(&self) -> (u64, u64) {
        match self.tx() {
            Some(r) => (r.groups.iter().map(|g| g.count).sum(), r.header.samples * self.expected_groups),
            None => (0, 0),
        }
    }

    fn describe(&self) -> String {
        match self.samples() {
            (_, 0) => "no samples yet".to_string(),
            (got, of) => format!("{got} of {of} samples"),
        }
    }

    /// Once tx's header is in: it must be the cell being captured (a board may run another one).
    fn check_header(&mut self, spec: &RunSpec) -> Result<()> {
        let Some(h) = self.tx().map(|r| &r.header).filter(|h| !h.experiment.is_empty()) else { return Ok(()) };
        if self.checked_header {
            return Ok(());
        }
        let got = format!("{}/{}{}", h.hypervisor, h.experiment, h.config);
        let want = format!("{}/{}", spec.hypervisor, spec.config);
        if got != want {
            bail!("the guest runs {got}, but this run captures {want}: boot the images of {want}, or name the cell the board runs");
        }
        self.checked_header = true;
        Ok(())
    }
}

/// Watches a console: writes every byte to `file` as it arrives, answers every start prompt
/// with `start_bytes` on `input`, and stops at tx's end record; fails on a guest or hypervisor
/// panic and on silence (`boot_timeout` before the prompt, `idle_timeout` after it). Shared by
/// the QEMU and serial targets.
pub(crate) fn watch_console(
    events: &mpsc::Receiver<Event>,
    input: &mut dyn Write,
    file: &mut File,
    spec: &RunSpec,
    what: &str,
    start_bytes: &[u8],
) -> Result<Ended> {
    let mut line = Vec::new();
    let mut last_line = String::new();
    let mut prompted = false;
    let mut hypervisor_panic: Option<String> = None;
    let mut progress = Progress::new(spec);
    let mut bytes = 0u64;
    let start = Instant::now();
    let mut last_data = Instant::now();
    let mut last_progress = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let newline = |shown: bool| {
        if spec.progress && tty && shown {
            eprintln!();
        }
    };
    let mut shown = false;
    loop {
        let limit = if prompted { spec.idle_timeout } else { spec.boot_timeout };
        match events.recv_timeout(Duration::from_millis(200)) {
            Ok(Event::Data(d)) => {
                // Raw bytes reach the disk before anything looks at them.
                file.write_all(&d).context("writing the capture")?;
                file.flush()?;
                bytes += d.len() as u64;
                last_data = Instant::now();
                for &b in &d {
                    if b != b'\n' {
                        line.push(b);
                        // Every prompt is answered: a guest that restarts asks again.
                        if line.windows(PROMPT.len()).any(|w| w == PROMPT.as_bytes()) {
                            if prompted {
                                eprintln!("ivcbench: {what}: the guest restarted and prompts again; starting it again");
                            }
                            prompted = true;
                            input.write_all(start_bytes).and_then(|_| input.flush()).context("sending the start key to the guest")?;
                            line.clear();
                        }
                        continue;
                    }
                    progress.line(&line);
                    let text = String::from_utf8_lossy(&line).trim_end().to_string();
                    line.clear();
                    if text.contains("ivc-guest panic") || text.contains("ivc-guest exception") {
                        bail!("the guest failed: {text}");
                    }
                    if let Some(why) = (spec.hypervisor == Hypervisor::Sel4).then(|| crate::sel4::failure(&text)).flatten() {
                        bail!("seL4's VMM or kernel reports a failure: {why}");
                    }
                    if text.contains("Panic on CPU") {
                        hypervisor_panic = Some(String::new());
                    } else if let Some(why) = hypervisor_panic.as_mut() {
                        // Xen prints the reason on the lines after "Panic on CPU n:".
                        let reason = text.trim_start_matches("(XEN)").trim();
                        if !reason.is_empty() && !reason.starts_with('*') {
                            why.push_str(reason);
                            bail!("the hypervisor panicked: {why}");
                        }
                    }
                    if let Some(at) = text.find(TAG) {
                        progress.check_header(spec)?;
                        let mut f = text[at + TAG.len()..].split(' ');
                        if let (Some("tx"), Some(_), Some("E")) = (f.next(), f.next(), f.next()) {
                            file.sync_all()?;
                            newline(shown);
                            return Ok(Ended::EndRecord);
                        }
                    }
                    if !text.is_empty() {
                        last_line = text;
                    }
                }
            }
            Ok(Event::Eof) => {
                newline(shown);
                return Ok(Ended::Closed { prompted, last_line });
            }
            Err(_) => {}
        }
        if last_data.elapsed() > limit {
            newline(shown);
            if prompted {
                bail!(
                    "the guest stopped answering: no console output for {} s after {} (last line: {last_line:?}); raise --idle-timeout for slow runs",
                    limit.as_secs(),
                    progress.describe()
                );
            }
            if bytes == 0 {
                // Not one byte: nothing booted far enough to print (a hypervisor that stops before
                // its console is up does exactly this).
                bail!(
                    "nothing at all came out within {} s: the machine did not boot as far as a console{}",
                    limit.as_secs(),
                    match (spec.hypervisor, spec.config.suffix.hypcol) {
                        (Hypervisor::Bao, false) => " (a bao.bin on QEMU: see docs/bao.md on PSCI and the MPIDR)",
                        (Hypervisor::Bao, true) => " (a bao.bin on QEMU: see docs/bao.md on PSCI and the MPIDR, and on +hypcol)",
                        _ => "",
                    }
                );
            }
            bail!(
                "the guest never printed its start prompt {PROMPT:?} within {} s (last line: {last_line:?}); is the image for this platform?",
                limit.as_secs()
            );
        }
        if spec.progress && last_progress.elapsed() > Duration::from_secs(2) {
            last_progress = Instant::now();
            let msg = format!("ivcbench: {what}: {:>4} s, {}, {} KiB", start.elapsed().as_secs(), progress.describe(), bytes / 1024);
            if tty {
                eprint!("\r{msg}");
                shown = true;
            } else if start.elapsed().as_secs() % 10 < 2 {
                eprintln!("{msg}");
            }
        }
    }
}

/// Keeps capturing after the run until the console has been quiet for a second (at most 30 s):
/// the hypervisor's report asked for by one byte of `after_end`.
fn drain(events: &mpsc::Receiver<Event>, file: &mut File) -> Result<()> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        match events.recv_timeout(Duration::from_secs(1)) {
            Ok(Event::Data(d)) => file.write_all(&d).context("writing the capture")?,
            Ok(Event::Eof) | Err(_) => break,
        }
    }
    file.sync_all()?;
    Ok(())
}

/// The guest powers the machine off after its end record; give QEMU a moment to see it.
fn wait_exit(child: &mut Child) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Meta<'a> {
    spec: &'a RunSpec,
    cmd: &'a std::process::Command,
    started: SystemTime,
    wall: Duration,
    qemu_version: &'a str,
    placement: &'a str,
    machine: &'a str,
}

fn write_meta(capture: &Path, m: &Meta, error: Option<&anyhow::Error>) -> Result<()> {
    let cmdline: Vec<String> =
        std::iter::once(m.cmd.get_program()).chain(m.cmd.get_args()).map(|a| a.to_string_lossy().into_owned()).collect();
    let target = serde_json::json!({
        "target": "qemu",
        "emulated": true,
        "testbed": m.spec.clock.testbed(m.machine),
        "placement": m.placement,
        "qemu": { "version": m.qemu_version, "command": cmdline },
    });
    write_meta_json(capture, m.spec, m.started, m.wall, error, target)
}

/// Writes `<capture>.meta.json`: what every run records, with the target's own fields.
pub(crate) fn write_meta_json(
    capture: &Path,
    spec: &RunSpec,
    started: SystemTime,
    wall: Duration,
    error: Option<&anyhow::Error>,
    target: serde_json::Value,
) -> Result<()> {
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut meta = serde_json::json!({
        "tool": format!("ivcbench {}", env!("CARGO_PKG_VERSION")),
        "command": std::env::args().collect::<Vec<_>>(),
        "hypervisor": spec.hypervisor.name(),
        "configuration": spec.config.to_string(),
        "platform": spec.platform.name,
    });
    if let (Some(m), serde_json::Value::Object(t)) = (meta.as_object_mut(), target) {
        m.extend(t);
    }
    if let Some(m) = meta.as_object_mut() {
        m.insert("start_unix".into(), secs(started).into());
        m.insert("end_unix".into(), secs(started + wall).into());
        m.insert("wall_seconds".into(), wall.as_secs_f64().into());
        // false: the run failed and the capture holds what arrived before (kept, never parsed as whole).
        m.insert("complete".into(), error.is_none().into());
        m.insert("error".into(), error.map(|e| format!("{e:#}")).into());
    }
    std::fs::write(meta_path(capture), serde_json::to_string_pretty(&meta)? + "\n")?;
    Ok(())
}

/// `<capture>.meta.json`.
pub fn meta_path(capture: &Path) -> PathBuf {
    let mut name = capture.as_os_str().to_owned();
    name.push(".meta.json");
    PathBuf::from(name)
}
