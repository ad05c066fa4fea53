//! The emulated testbed: QEMU command lines (`virt`, and the ZynqMP model for the boards).
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
    /// `machine`: the machine's description from [`machine`].
    pub fn testbed(self, machine: &str) -> String {
        match self {
            Clock::Icount(n) => {
                format!("emulated on {machine} (QEMU icount shift={n}: instruction-paced virtual time, not hardware latency)")
            }
            Clock::RealTime => format!("emulated on {machine} (QEMU TCG in real time: timings are host noise, not hardware latency)"),
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

/// The QEMU machine that models `platform`, and what a capture made on it should say.
pub fn machine(platform: &str) -> Result<(&'static str, &'static str)> {
    Ok(match platform {
        "qemu-virt" => ("virt", "QEMU virt"),
        // The ZCU104 and ZCU102 carry the same MPSoC (Cortex-A53s, GIC-400, Cadence UARTs); QEMU
        // models the ZCU102 board.
        "zcu102" | "zcu104" => ("xlnx-zcu102", "QEMU's ZCU102 model (xlnx-zcu102: the ZynqMP's cores, GIC-400 and Cadence UARTs)"),
        other => bail!("no QEMU machine models `{other}`"),
    })
}

/// The `virt` machine the baremetal image runs on (also what LAVA's qemu jobs ask for).
pub const VIRT_MACHINE: &str = "virt,gic-version=3";
pub const VIRT_CPU: &str = "cortex-a57";
pub const VIRT_MEMORY_MIB: u32 = 1024;

/// QEMU booting `image` directly (no hypervisor): the baremetal floor. On `virt` the image is
/// entered at EL1. On the ZynqMP model it is entered at EL2 (`virtualization=on`) as U-Boot
/// enters it on the boards, so PSCI goes through SMC to QEMU's firmware stand-in; the model's
/// CPUs are fixed (four A53s), and its second UART is given a null backend.
/// `reboot`: let a guest reset restart the machine (else QEMU exits on it, so that a guest stuck in
/// a reset loop ends the run).
pub fn baremetal(platform: &str, image: &Path, cores: usize, clock: Clock, reboot: bool) -> Result<Command> {
    let mut c = Command::new(binary());
    match machine(platform)?.0 {
        "virt" => {
            c.args(["-machine", VIRT_MACHINE, "-cpu", VIRT_CPU, "-m", &VIRT_MEMORY_MIB.to_string()]).args(["-smp", &cores.to_string()])
        }
        m => c.args(["-machine", &format!("{m},virtualization=on"), "-m", "2048", "-audio", "none"]),
    };
    c.args(["-display", "none", "-monitor", "none", "-serial", "stdio"]);
    if platform != "qemu-virt" {
        c.args(["-serial", "null"]);
    }
    c.arg("-kernel").arg(image);
    if !reboot {
        c.arg("-no-reboot");
    }
    clock_args(&mut c, clock);
    Ok(c)
}

fn clock_args(c: &mut Command, clock: Clock) {
    c.args(clock_options(clock));
}

/// QEMU's options for `clock`.
pub fn clock_options(clock: Clock) -> [String; 2] {
    match clock {
        Clock::Icount(n) => ["-icount".into(), format!("shift={n},sleep=off")],
        Clock::RealTime => ["-accel".into(), "tcg,thread=multi".into()],
    }
}
