//! The serial target: a real board's console, captured the way the seed's users did with minicom
//! (start a capture, press `s` at the prompt, wait for the end, close the capture), by ivcbench.
//!
//! tx's UART is the capture, `experiments/comm/<experiment>/<hypervisor><suffix>`, exactly as the
//! seed names it; a second UART (the artifact put rx on uart1) goes raw to `<capture>.rx` beside
//! it. Both are written as bytes arrive, before anything parses them. The watching (prompt, start
//! key, end record, silence, progress) is the QEMU target's own: [`run::watch_console`].

use crate::run::{self, Ended, Outcome, RunSpec, INTERRUPTED};
use anyhow::{anyhow, bail, Context, Result};
use ivc_proto::capture::{self, START_KEY};
use serialport::TTYPort;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The board's console(s).
#[derive(Clone, Debug)]
pub struct Ports {
    /// tx's console (the one that prompts): the capture.
    pub tx: String,
    /// rx's console, when rx has a UART of its own.
    pub rx: Option<String>,
    pub baud: u32,
    /// Run (with `sh -c`) once the ports are open, to power on or reset the board into this
    /// cell's configuration: `{hypervisor}`, `{experiment}` (the cell, e.g. `notif+interf`) and
    /// `{platform}` are replaced, and the same values are in `IVCBENCH_HYPERVISOR`,
    /// `IVCBENCH_EXPERIMENT` and `IVCBENCH_PLATFORM`. Without it, a person boots the board.
    pub power_cmd: Option<String>,
}

/// After tx's end record, rx's console is read until it has been quiet this long (its last
/// lines may still be on the wire), at most [`RX_DRAIN_MAX`].
const RX_QUIET: Duration = Duration::from_millis(300);
const RX_DRAIN_MAX: Duration = Duration::from_secs(3);

/// The testbed a serial capture records: a real board.
pub const TESTBED: &str = "hardware";

/// Opens a port raw (no echo, no line editing, 8N1, no flow control), with reads that time out
/// so that the reader thread can notice the end of the run.
fn open(port: &str, baud: u32) -> Result<TTYPort> {
    let mut p = serialport::new(port, baud)
        .timeout(Duration::from_millis(100))
        .flow_control(serialport::FlowControl::None)
        .open_native()
        .map_err(|e| anyhow!("opening the serial port {port} at {baud} baud: {e} (is it the board's UART, and yours to open?)"))?;
    // Another program (minicom, a getty) holding the port would take bytes from the capture.
    let _ = p.set_exclusive(true);
    Ok(p)
}

fn create(path: &Path, force: bool) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .create_new(!force)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// Copies rx's console to its file on a thread of its own until told to stop.
struct RxCopy {
    stop: Arc<AtomicBool>,
    last_data: Arc<Mutex<Instant>>,
    thread: std::thread::JoinHandle<Result<()>>,
}

impl RxCopy {
    fn start(mut port: TTYPort, mut file: File, name: String) -> RxCopy {
        let stop = Arc::new(AtomicBool::new(false));
        let last_data = Arc::new(Mutex::new(Instant::now()));
        let (s, l) = (stop.clone(), last_data.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                match port.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        file.write_all(&buf[..n]).and_then(|_| file.flush()).with_context(|| format!("writing {name}"))?;
                        *l.lock().expect("the rx copy does not panic") = Instant::now();
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted) => {}
                    Err(e) => bail!("reading rx's console: {e}"),
                }
            }
            file.sync_all().with_context(|| format!("writing {name}"))?;
            Ok(())
        });
        RxCopy { stop, last_data, thread }
    }

    /// Lets rx's last bytes arrive, then stops the copy.
    fn finish(self, drain: bool) -> Result<()> {
        let t = Instant::now();
        while drain && t.elapsed() < RX_DRAIN_MAX {
            if self.last_data.lock().expect("the rx copy does not panic").elapsed() >= RX_QUIET {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().map_err(|_| anyhow!("the rx console thread panicked"))?
    }
}

/// Captures one configuration from a board: waits for the guest's prompt (the user or a power
/// hook boots the board), sends `s`, writes the console to the capture file as it arrives, and
/// stops at tx's end record; then decodes it.
pub fn run(spec: &RunSpec, ports: &Ports) -> Result<Outcome> {
    let path = spec.config.capture_path(&spec.out_root, spec.hypervisor);
    let rx_path = run::rx_console_path(&path);
    for p in std::iter::once(&path).chain(ports.rx.as_ref().map(|_| &rx_path)) {
        if p.exists() && !spec.force {
            bail!("{} already exists: pass --force to run again (the old files are kept as <capture>.1)", p.display());
        }
    }
    let mut tx = open(&ports.tx, ports.baud)?;
    let rx = match &ports.rx {
        Some(p) if *p == ports.tx => bail!("--rx-port {p} is tx's port too: give rx's own UART, or leave --rx-port out"),
        Some(p) => Some(open(p, ports.baud)?),
        None => None,
    };
    let reading = tx.try_clone_native().with_context(|| format!("{}: a second handle for reading", ports.tx))?;
    if spec.force {
        crate::keep::keep_old(&path)?;
    }
    let mut file = create(&path, spec.force)?;
    let rx_copy = match rx {
        Some(port) => Some(RxCopy::start(port, create(&rx_path, spec.force)?, rx_path.display().to_string())),
        None => None,
    };

    let started = SystemTime::now();
    let t0 = Instant::now();
    let what = format!("{}/{}", spec.hypervisor, spec.config);
    let target = target_fields(ports, &rx_path);
    // Until the run ends, the metadata says the capture is partial (Ctrl-C, a board that hangs).
    let _ = run::write_meta_json(&path, spec, started, Duration::ZERO, Some(&anyhow!("{INTERRUPTED}")), target.clone());
    eprintln!(
        "ivcbench: capturing {what} from {} at {} baud into {}{}; boot the board now (waiting up to {} s for its prompt)",
        ports.tx,
        ports.baud,
        path.display(),
        if ports.rx.is_some() {
            format!(" (rx's console from {} into {})", ports.rx.as_deref().unwrap_or(""), rx_path.display())
        } else {
            String::new()
        },
        spec.boot_timeout.as_secs()
    );
    // Reading starts before the board boots: its prompt comes once.
    let events = run::reader(reading);
    let watched = match ports.power_cmd.as_deref().map(|c| power(c, spec)).transpose() {
        Err(e) => Err(e),
        Ok(_) => match run::watch_console(&events, &mut tx, &mut file, spec, &what, &[START_KEY]) {
        Ok(Ended::EndRecord) => Ok(()),
        Ok(Ended::Closed { prompted, last_line }) => Err(anyhow!(
            "the serial port {} closed before tx's end record{} (board unplugged, or the port taken away); last console line: {last_line:?}",
            ports.tx,
            if prompted { "" } else { ", before the guest's start prompt" }
        )),
        Err(e) => Err(e),
        },
    };
    let rx_done = rx_copy.map(|c| c.finish(watched.is_ok())).transpose();
    let console = watched.and(rx_done.map(|_| ()));
    if let Err(e) = run::write_meta_json(&path, spec, started, t0.elapsed(), console.as_ref().err(), target) {
        eprintln!("ivcbench: warning: could not write the metadata beside {}: {e:#}", path.display());
    }
    console.with_context(|| format!("{what}: the raw console is kept in {}", path.display()))?;

    let bytes = std::fs::read(&path)?;
    let capture = run::checked(&path, capture::decode_lenient(&bytes))?;
    crate::pmu::check(spec, &capture)?;
    Ok(Outcome { capture_path: path, capture, testbed: TESTBED.to_string(), wall: t0.elapsed() })
}

/// Runs the user's power/boot command for this cell.
fn power(cmd: &str, spec: &RunSpec) -> Result<()> {
    let cell = spec.config.to_string();
    let expanded =
        cmd.replace("{hypervisor}", spec.hypervisor.name()).replace("{experiment}", &cell).replace("{platform}", spec.platform.name);
    eprintln!("ivcbench: booting {}/{cell}: {expanded}", spec.hypervisor);
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(&expanded)
        .env("IVCBENCH_HYPERVISOR", spec.hypervisor.name())
        .env("IVCBENCH_EXPERIMENT", &cell)
        .env("IVCBENCH_PLATFORM", spec.platform.name)
        .status()
        .with_context(|| format!("running the power command `{expanded}`"))?;
    if !status.success() {
        bail!("the power command `{expanded}` failed ({status}) for {}/{cell}", spec.hypervisor);
    }
    Ok(())
}

/// What the metadata says about a serial target.
fn target_fields(ports: &Ports, rx_path: &Path) -> serde_json::Value {
    let mut v = serde_json::json!({
        "target": format!("serial {}", ports.tx),
        "emulated": false,
        "testbed": TESTBED,
        "serial": { "port": ports.tx, "baud": ports.baud },
    });
    if let Some(rx) = &ports.rx {
        v["serial"]["rx_port"] = rx.as_str().into();
        v["serial"]["rx_console"] = rx_path.display().to_string().into();
    }
    v
}
