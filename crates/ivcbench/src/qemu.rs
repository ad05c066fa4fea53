//! The emulated testbed: QEMU `virt` command lines.
//!
//! Deterministic by default: `-icount shift=N,sleep=off` paces virtual time by instructions, so
//! the same build gives the same console output and the same latencies run after run (this needs
//! QEMU 9 or newer with several vCPUs; 7.2 hangs). Figures measured so are instruction-paced
//! virtual time, never hardware latency, and every summary says so.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// How QEMU paces time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// `-icount shift=N,sleep=off`: 2^N ns of virtual time per instruction, deterministic.
    Icount(u8),
    /// Multi-threaded TCG in host real time: fast, but timings are host noise.
    RealTime,
}

impl Clock {
    /// What the figures of a run under this clock are, for every output that shows them.
    pub fn testbed(self) -> String {
        match self {
            Clock::Icount(n) => format!("emulated (QEMU icount shift={n}: instruction-paced virtual time, not hardware latency)"),
            Clock::RealTime => "emulated (QEMU TCG in real time: timings are host noise, not hardware latency)".into(),
        }
    }
}

/// The QEMU binary to run (`IVCBENCH_QEMU` overrides it).
pub fn binary() -> String {
    std::env::var("IVCBENCH_QEMU").unwrap_or_else(|_| "qemu-system-aarch64".into())
}

/// Checks that QEMU runs and is recent enough for icount with several vCPUs.
pub fn check(clock: Clock) -> Result<String> {
    let bin = binary();
    let out = Command::new(&bin).arg("--version").output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "`{bin}` not found: install QEMU 10 with scripts/setup.sh (Debian: apt-get install -t bookworm-backports qemu-system-arm)"
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot run `{bin}`")),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.lines().next().unwrap_or("").to_string();
    let major: Option<u32> = version.split("version ").nth(1).and_then(|v| v.split('.').next()?.parse().ok());
    if let (Clock::Icount(_), Some(m)) = (clock, major) {
        if m < 9 {
            bail!("{version}: icount mode hangs with several vCPUs before QEMU 9; install QEMU 10 (scripts/setup.sh) or pass --realtime");
        }
    }
    Ok(version)
}

/// QEMU `virt` booting `image` directly at EL1 (no hypervisor): the baremetal floor.
/// `reboot`: let a guest reset restart the machine (else QEMU exits on it, so that a guest stuck in
/// a reset loop ends the run).
pub fn baremetal(image: &Path, cores: usize, clock: Clock, reboot: bool) -> Command {
    let mut c = Command::new(binary());
    c.args(["-machine", "virt,gic-version=3", "-cpu", "cortex-a57", "-m", "1024"])
        .args(["-smp", &cores.to_string()])
        .args(["-display", "none", "-monitor", "none", "-serial", "stdio"])
        .arg("-kernel")
        .arg(image);
    if !reboot {
        c.arg("-no-reboot");
    }
    clock_args(&mut c, clock);
    c
}

fn clock_args(c: &mut Command, clock: Clock) {
    match clock {
        Clock::Icount(n) => c.args(["-icount", &format!("shift={n},sleep=off")]),
        Clock::RealTime => c.args(["-accel", "tcg,thread=multi"]),
    };
}
