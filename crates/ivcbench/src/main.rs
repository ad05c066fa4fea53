//! The `ivcbench` command line: build → run → report.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ivc_proto::params::{flag, Fault, Params, BUFFER_SIZES};
use ivc_proto::platform;
use ivcbench::cli::{parse_duration, parse_size};
use ivcbench::names::{Configuration, Hypervisor};
use ivcbench::qemu::Clock;
use ivcbench::run::{self, RunSpec};
use ivcbench::{build, report};
use std::path::PathBuf;
use std::time::Duration;

/// Measure inter-VM communication on static partitioning hypervisors: notification latency and
/// transfer throughput between two VMs, alone and next to a cache-thrashing VM.
#[derive(Parser)]
#[command(
    name = "ivcbench",
    version,
    after_help = "Captures go to experiments/comm/<experiment>/<hypervisor><suffix>, as in the RTAS'23 artifact."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the `run` variant (one field per flag) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Build the guest images (one per hypervisor backend and platform) under target/ivcbench/images.
    Build {
        /// Backends to build (default: every available one).
        #[arg(long = "hypervisor", value_enum)]
        hypervisors: Vec<Hypervisor>,
        #[arg(long, default_value = "qemu-virt")]
        platform: String,
    },
    /// Generate the hypervisor configuration of one matrix cell (Bao's config.c; Xen's dom0less
    /// device-tree fragment and U-Boot script for a board), with the role images it names.
    Config(ConfigArgs),
    /// Run one configuration (or, with --matrix, every missing one of an experiment) on QEMU or a
    /// board's serial console, capture its console to experiments/comm/... and print a summary.
    Run(Box<RunArgs>),
    /// Write LAVA job definitions (YAML) for matrix cells: deploy, boot, start the guest, and a
    /// `monitors` test whose pattern matches the guests' `ivcbench-result:` lines; `lava submit`
    /// sends them to a LAVA server, `lava collect` brings their logs back as captures.
    Lava(LavaArgs),
    /// Turn a LAVA job's log (YAML) into the seed's capture file, so that farm results go into
    /// the same reports.
    ImportLava(ImportLavaArgs),
    /// Decode existing captures and print their summaries; exits non-zero on any damage.
    Summary {
        /// Capture files (e.g. experiments/comm/notif/baremetal).
        #[arg(required = true)]
        captures: Vec<PathBuf>,
    },
    /// Report on a captures directory: statistics (CSV, JSON, Markdown), figures (SVG, PNG) and one
    /// self-contained HTML page. Reads ivcbench's captures and the RTAS'23 artifact's tables.
    Report(ReportArgs),
    /// Compare B against A: two captures, two cells, or two captures/report directories (a report
    /// directory's report.json written with --raw). Per metric, mode and buffer size: medians and
    /// p99 with bootstrap 95% intervals of their change, Mann-Whitney p, Cliff's delta, a verdict.
    Compare(CompareArgs),
    /// Show which hypervisor x configuration cells of the matrix are done, missing or damaged.
    Status {
        /// Captures directory (holding notif/ and transfer/).
        #[arg(default_value = "experiments/comm")]
        dir: PathBuf,
        /// Counter frequency of the artifact's tables (they do not record it).
        #[arg(long, default_value = "100MHz", value_parser = parse_freq)]
        legacy_freq: u64,
    },
    /// Run the demo on the QEMU testbed: baremetal and Xen, each with notif, notif+interf, transfer
    /// and transfer+interf (1000 notifications; 10 transfer samples of 16 MiB per mode and buffer
    /// size), then print every summary and write the report to <OUT>/report. The demo writes to
    /// its own directory and replaces only captures it made itself.
    Demo(DemoArgs),
}

#[derive(Args)]
struct DemoArgs {
    /// The demo's own directory for its captures (not experiments/comm, where yours live).
    #[arg(long, default_value = "experiments/demo")]
    out: PathBuf,
    /// Run only these hypervisors (repeat the flag) [default: baremetal and xen].
    #[arg(long = "hypervisor", value_enum)]
    hypervisors: Vec<Hypervisor>,
    /// Run only these cells (repeat the flag) [default: notif, notif+interf, transfer, transfer+interf].
    #[arg(long = "experiment", value_parser = parse_configuration)]
    experiments: Vec<Configuration>,
    /// Samples per run instead of the demo's (1000 notifications, 10 transfers per buffer size).
    #[arg(long, value_parser = parse_samples, allow_hyphen_values = true)]
    samples: Option<u32>,
    /// Also replace captures the demo did not make, after keeping each as <capture>.N.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct ConfigArgs {
    #[arg(long, value_enum)]
    hypervisor: Hypervisor,
    /// The cell: an experiment with its configuration suffix (e.g. notif+interf+col).
    #[arg(long = "experiment", value_parser = parse_configuration)]
    config: Configuration,
    #[arg(long, default_value = "qemu-virt")]
    platform: String,
    /// Directory to write into (created; must be empty unless --force).
    #[arg(long)]
    out: PathBuf,
    /// Write only the configuration, without building and patching the role images into <OUT>/images.
    #[arg(long)]
    no_images: bool,
    /// State that your Xen build has LLC cache colouring (upstream 4.20+; Debian's 4.17 has not).
    #[arg(long)]
    xen_colouring: bool,
    /// Write the cells for the colouring fork of Jailhouse (ESRGv3/jailhouse-shedlight), which
    /// also gives `+col` cells their colours (mainline Jailhouse has none).
    #[arg(long)]
    jailhouse_colouring: bool,
    #[arg(long)]
    force: bool,
    /// notif: PMU events tx's image counts per sample (as `run --pmu-events`; docs/pmu.md).
    #[arg(long, value_parser = ivcbench::pmu::parse)]
    pmu_events: Option<ivc_proto::pmu::Selection>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct LavaArgs {
    #[command(subcommand)]
    farm: Option<LavaFarm>,
    /// Hypervisors to write jobs for (repeat the flag).
    #[arg(long = "hypervisor", value_enum)]
    hypervisors: Vec<Hypervisor>,
    /// The cell (e.g. notif+interf); with --matrix, the experiment alone (every configuration).
    #[arg(long = "experiment", value_parser = parse_configuration)]
    config: Option<Configuration>,
    /// Write a job for every configuration of the experiment (those a board can give).
    #[arg(long)]
    matrix: bool,
    /// A board (zcu104, zcu102: U-Boot boots the image), or qemu-virt (LAVA's `qemu` device
    /// type boots the baremetal image on the QEMU testbed's machine).
    #[arg(long, default_value = "zcu104")]
    platform: String,
    /// LAVA device type [default: `qemu` on qemu-virt, else the platform's name].
    #[arg(long)]
    device_type: Option<String>,
    /// Where each cell's boot image is served; {hypervisor} and {experiment} (the cell) are
    /// replaced, e.g. https://files.example/ivcbench/{hypervisor}/{experiment}/boot.bin
    /// (qemu-virt: the image of `ivcbench config --platform qemu-virt`, http:// or file://).
    #[arg(long)]
    kernel_url: Option<String>,
    /// A U-Boot command of the boot action (repeat the flag, in order) [default: `tftp
    /// {KERNEL_ADDR} {KERNEL}`, `go {KERNEL_ADDR}`].
    #[arg(long = "boot-command")]
    boot_commands: Vec<String>,
    /// qemu-virt: icount shift of the job's QEMU (as `ivcbench run --icount-shift`).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=10))]
    icount_shift: u8,
    /// Job and test timeout.
    #[arg(long, default_value = "30min", value_parser = parse_duration)]
    timeout: Duration,
    #[arg(long, default_value = "public")]
    visibility: String,
    /// Directory for the jobs: <OUT>/<experiment>/<hypervisor><suffix>.yaml.
    #[arg(long, default_value = "lava-jobs")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum LavaFarm {
    /// Submit job definitions to a LAVA server (REST API) and record their ids in
    /// <JOBS>/submitted.json, for `lava collect`.
    Submit(SubmitArgs),
    /// Wait for the submitted jobs, fetch their logs and results, and write each finished job's
    /// console as its cell's capture (with the job, device and hardware in <capture>.meta.json);
    /// failed jobs are reported per cell and write nothing.
    Collect(CollectArgs),
}

#[derive(Args)]
struct ServerArgs {
    /// The LAVA server, e.g. https://lava.example.org [default: $LAVA_URL, else the `uri` of
    /// the lavacli identity].
    #[arg(long)]
    url: Option<String>,
    /// API token [default: $LAVA_TOKEN, else the lavacli identity's token].
    #[arg(long)]
    token: Option<String>,
    /// The identity in lavacli's ~/.config/lavacli.yaml to take URL and token from.
    #[arg(long, default_value = "default")]
    identity: String,
}

#[derive(Args)]
struct SubmitArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The jobs written by `ivcbench lava` (and where submitted.json goes).
    #[arg(long, default_value = "lava-jobs")]
    jobs: PathBuf,
    /// Job files to submit [default: every job under <JOBS>].
    files: Vec<PathBuf>,
}

#[derive(Args)]
struct CollectArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Where `lava submit` recorded the jobs (logs and results are kept under <JOBS>/logs).
    #[arg(long, default_value = "lava-jobs")]
    jobs: PathBuf,
    /// Root of the captures.
    #[arg(long, default_value = "experiments/comm")]
    out: PathBuf,
    /// Longest wait for the jobs to finish.
    #[arg(long, default_value = "180min", value_parser = parse_duration)]
    timeout: Duration,
    /// Time between two looks at the jobs' states.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    poll: Duration,
    /// Overwrite existing captures.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct CompareArgs {
    /// The reference: a capture (e.g. experiments/comm/notif/xen), a captures directory or a
    /// report directory.
    a: PathBuf,
    /// What is compared with it.
    b: PathBuf,
    /// Exit non-zero when B is slower than A beyond chance (the verdict says `slower`) by more
    /// than PCT percent on any median: a regression gate for a hypervisor's CI.
    #[arg(long, value_name = "PCT")]
    fail_if_slower: Option<f64>,
    /// Write the comparison as JSON to this file as well.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Counter frequency of the artifact's tables (they do not record it).
    #[arg(long, default_value = "100MHz", value_parser = parse_freq)]
    legacy_freq: u64,
}

#[derive(Args)]
struct ImportLavaArgs {
    /// The job's log as LAVA keeps it (the YAML `output.yaml`, from the job page or `lavacli jobs logs --raw`).
    log: PathBuf,
    /// LAVA job id, for the metadata [default: the log's file name].
    #[arg(long)]
    job: Option<String>,
    /// The cell's hypervisor [default: as the capture's header says].
    #[arg(long, value_enum)]
    hypervisor: Option<Hypervisor>,
    /// The cell [default: as the capture's header says].
    #[arg(long, value_parser = parse_configuration)]
    experiment: Option<Configuration>,
    /// Root of the captures.
    #[arg(long, default_value = "experiments/comm")]
    out: PathBuf,
    /// Overwrite an existing capture.
    #[arg(long)]
    force: bool,
}

fn parse_configuration(s: &str) -> Result<Configuration> {
    Configuration::parse(s)
}

#[derive(Args)]
struct ReportArgs {
    /// Captures directory (holding notif/ and transfer/).
    #[arg(default_value = "experiments/comm")]
    dir: PathBuf,
    /// Where the outputs go [default: <DIR>/report].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Outputs to write (default: all).
    #[arg(long, value_delimiter = ',', value_enum)]
    format: Vec<report::output::Format>,
    /// JSON: include every sample (in counter ticks).
    #[arg(long)]
    raw: bool,
    /// Counter frequency of the artifact's tables (they do not record it; its boards ran at 100 MHz).
    #[arg(long, default_value = "100MHz", value_parser = parse_freq)]
    legacy_freq: u64,
    /// Report damaged captures with a warning and their cell marked damaged, instead of failing.
    #[arg(long)]
    lenient: bool,
    /// What the artifact's tables were measured on (they do not record it): `hardware` when you
    /// know they come from a board; left `unknown`, they are labelled so. ivcbench's own captures
    /// take theirs from their metadata.
    #[arg(long, value_enum, default_value = "unknown")]
    origin: TablesOrigin,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TablesOrigin {
    Unknown,
    Hardware,
}

/// `lose-notification@5`, `corrupt-chunk@0`.
fn parse_fault(s: &str) -> Result<(Fault, u32)> {
    let (kind, at) = s.split_once('@').unwrap_or((s, "0"));
    let fault = match kind {
        "lose-notification" => Fault::LoseNotification,
        "corrupt-chunk" => Fault::CorruptChunk,
        "reset-guest" => Fault::ResetGuest,
        _ => bail!("unknown fault `{kind}` (known: lose-notification@N, corrupt-chunk@N, reset-guest@N)"),
    };
    let Ok(at) = at.parse() else { bail!("`{at}` is not a sample index") };
    Ok((fault, at))
}

/// A sample count: a whole number from 1 to 4294967295 (clap's own message for `-5` would not say
/// so, and `--samples -5` would read as an unknown flag).
fn parse_samples(s: &str) -> Result<u32> {
    match s.trim().parse::<u32>() {
        Ok(0) => bail!("`{s}`: --samples must be at least 1"),
        Ok(n) => Ok(n),
        Err(_) => bail!("`{s}` is not a sample count: --samples takes a whole number from 1 to {}", u32::MAX),
    }
}

/// `100MHz`, `62.5MHz`, `100000000`.
fn parse_freq(s: &str) -> Result<u64> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("MHz") {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix("kHz") {
        (n, 1e3)
    } else {
        (t.strip_suffix("Hz").unwrap_or(t), 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v > 0.0 => Ok((v * mult).round() as u64),
        _ => bail!("`{s}` is not a frequency (e.g. 100MHz)"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// QEMU `virt`, started and stopped by ivcbench.
    Qemu,
    /// A real board's serial console (--port), booted by you or by --power-cmd.
    Serial,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Polling,
    Interrupt,
}

#[derive(Args)]
struct RunArgs {
    /// The hypervisor; with --matrix, give it once per hypervisor to walk [default with --matrix:
    /// baremetal and xen on qemu, all five on serial].
    #[arg(long = "hypervisor", value_enum)]
    hypervisors: Vec<Hypervisor>,
    /// Experiment and configuration: notif, notif+interf, notif+col, notif+interf+col,
    /// notif+interf+col+hypcol, transfer, transfer+interf. With --matrix, the experiment alone.
    #[arg(long, value_parser = Configuration::parse)]
    experiment: Configuration,
    #[arg(long, value_enum, default_value = "qemu")]
    target: Target,
    /// serial: tx's console (the capture), e.g. /dev/ttyUSB1.
    #[arg(long)]
    port: Option<String>,
    /// serial: rx's console, when rx has a UART of its own; written raw to <capture>.rx.
    #[arg(long)]
    rx_port: Option<String>,
    /// serial: line speed of the port(s).
    #[arg(long, default_value_t = 115200)]
    baud: u32,
    /// Walk every missing cell (hypervisor x configuration) of the experiment, telling you which
    /// configuration to boot next (or running --power-cmd); run it again to resume. Done cells
    /// are kept; a partial capture is moved aside to <capture>.partial and its cell run again.
    #[arg(long)]
    matrix: bool,
    /// serial: a command that powers on or resets the board into the cell's configuration, run
    /// with `sh -c` once the ports are open; `{hypervisor}`, `{experiment}` (the cell, e.g.
    /// notif+interf) and `{platform}` are replaced (also in IVCBENCH_HYPERVISOR,
    /// IVCBENCH_EXPERIMENT, IVCBENCH_PLATFORM).
    #[arg(long)]
    power_cmd: Option<String>,
    #[arg(long, default_value = "qemu-virt")]
    platform: String,
    /// Samples to record (notif: in all; transfer: per mode and buffer size) [default: notif 200, transfer 50].
    #[arg(long, value_parser = parse_samples, allow_hyphen_values = true)]
    samples: Option<u32>,
    /// Samples run first and thrown away.
    #[arg(long, default_value_t = 10)]
    warmups: u32,
    /// Pause between samples (e.g. 10ms, 100us).
    #[arg(long, default_value = "10ms", value_parser = parse_duration)]
    gap: Duration,
    /// Up to this much more pause, drawn anew for each sample (e.g. 50us), so that samples do not
    /// phase-lock with periodic activity.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    gap_jitter: Duration,
    /// A notification or chunk not acknowledged within this is counted as lost.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    sample_timeout: Duration,
    /// transfer: bytes moved per sample.
    #[arg(long, default_value = "16M", value_parser = parse_size)]
    total: u64,
    /// transfer: buffer sizes to run (default: 4K,32K,256K,512K,1M,2M,4M,16M).
    #[arg(long, value_delimiter = ',', value_parser = parse_size)]
    buffers: Vec<u64>,
    /// transfer: modes to run (default: both).
    #[arg(long, value_delimiter = ',', value_enum)]
    modes: Vec<Mode>,
    /// notif: record into log-linear histograms (percentiles within 1.6%, min and max exact),
    /// printed at the end: a few KB for any number of samples, for 10^6 samples on a serial console.
    #[arg(long)]
    histogram: bool,
    /// notif: PMU events tx counts per sample, on its own core (docs/pmu.md): `artifact` (the
    /// artifact's 20: ten events at EL1 and at EL2), or a comma list of `<event>[:el1|el2|el1+2]`,
    /// the event a number (0x08), an Arm name (INST_RETIRED) or an artifact column (inst_ret);
    /// rotated over groups of samples when there are more than the PMU's counters.
    #[arg(long, value_parser = ivcbench::pmu::parse)]
    pmu_events: Option<ivc_proto::pmu::Selection>,
    /// rx does not dirty its L1D while waiting (the artifact does).
    #[arg(long)]
    no_rx_dirty: bool,
    /// rx does not invalidate its I-cache in the handler (the artifact does).
    #[arg(long)]
    no_rx_icache_inv: bool,
    /// Inject a fault to see it handled: `lose-notification@N` (rx ignores recorded notif sample N's
    /// doorbell), `corrupt-chunk@N` (tx damages recorded transfer sample N's first chunk, in the
    /// first mode and buffer size) or `reset-guest@N` (baremetal notif: tx resets the machine
    /// before recorded sample N, once). For testing ivcbench, never for measurements.
    #[arg(long, value_parser = parse_fault)]
    inject_fault: Option<(Fault, u32)>,
    /// Interval between the interferer's pass-rate records (0 = never).
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    interf_report: Duration,
    /// Root of the captures.
    #[arg(long, default_value = "experiments/comm")]
    out: PathBuf,
    /// Xen image for `--hypervisor xen` [default: .cache/xen/boot/xen-4.17-arm64-static, built by scripts/setup.sh; Debian's binary: .cache/xen/boot/xen-4.17-arm64].
    #[arg(long)]
    xen: Option<PathBuf>,
    /// Bao image for `--hypervisor bao`: a bao.bin you built from Bao's source with the config.c
    /// and images of `ivcbench config --hypervisor bao --platform qemu-virt` (see docs/bao.md).
    #[arg(long)]
    bao: Option<PathBuf>,
    /// `--hypervisor jailhouse`: your built Jailhouse source tree (driver/jailhouse.ko,
    /// hypervisor/jailhouse.bin, tools/jailhouse; see docs/jailhouse.md).
    #[arg(long)]
    jailhouse: Option<PathBuf>,
    /// `--hypervisor jailhouse`: the root cell's Linux (arm64 Image) the driver was built against.
    #[arg(long)]
    jailhouse_kernel: Option<PathBuf>,
    /// `--hypervisor jailhouse`: the directory of root.cell, tx.cell, rx.cell (interf.cell), compiled
    /// from the .c files of `ivcbench config --hypervisor jailhouse --platform qemu-virt`.
    #[arg(long)]
    jailhouse_cells: Option<PathBuf>,
    /// `--hypervisor jailhouse`: an arm64 static busybox [default: .cache/busybox/bin/busybox, from scripts/setup.sh].
    #[arg(long)]
    busybox: Option<PathBuf>,
    /// seL4 image for `--hypervisor sel4`: the capDL loader image of a seL4 build of the CAmkES
    /// application `ivcbench config --hypervisor sel4 --platform qemu-virt` writes (see docs/sel4.md).
    #[arg(long)]
    sel4: Option<PathBuf>,
    /// Overwrite an existing capture.
    #[arg(long)]
    force: bool,
    /// QEMU testbed: count the instructions of every notification per vCPU and exception level
    /// with the path-length TCG plugin (crates/ivc-pathlen), into <capture>.pathlen; printed in
    /// the summary.
    #[arg(long)]
    pathlen: bool,
    /// Run QEMU in host real time instead of deterministic icount mode (timings become host noise).
    #[arg(long)]
    realtime: bool,
    /// icount shift: 2^N ns of virtual time per instruction.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=10))]
    icount_shift: u8,
    /// Longest console silence once the run has started (e.g. 60s).
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Longest wait for the guest's start prompt [default: 60s on qemu (3min for jailhouse, whose
    /// root Linux boots first; 5min for sel4, whose loader builds the whole system first), 10min on
    /// serial, where a person may be booting the board].
    #[arg(long, value_parser = parse_duration)]
    boot_timeout: Option<Duration>,
}

impl RunArgs {
    /// The one run asked for (without --matrix).
    fn spec(&self) -> Result<RunSpec> {
        let [hypervisor] = self.hypervisors[..] else {
            bail!("give one --hypervisor (several are for --matrix)");
        };
        self.spec_for(hypervisor, self.experiment)
    }

    fn spec_for(&self, hypervisor: Hypervisor, config: Configuration) -> Result<RunSpec> {
        let Some(platform) = platform::by_name(&self.platform) else {
            bail!("unknown platform `{}` (known: qemu-virt, zcu104, zcu102)", self.platform);
        };
        let default_samples = match config.experiment {
            ivc_proto::params::Experiment::Notif => 200,
            ivc_proto::params::Experiment::Transfer => 50,
        };
        let mut p = Params {
            samples: self.samples.unwrap_or(default_samples),
            warmups: self.warmups,
            gap_ns: self.gap.as_nanos() as u64,
            gap_jitter_ns: self.gap_jitter.as_nanos() as u64,
            timeout_ns: self.sample_timeout.as_nanos() as u64,
            transfer_total: self.total,
            interf_report_ms: self.interf_report.as_millis() as u32,
            fault: self.inject_fault.map_or(Fault::None, |f| f.0),
            fault_at: self.inject_fault.map_or(0, |f| f.1),
            ..Params::DEFAULT
        };
        if p.samples == 0 {
            bail!("--samples must be at least 1");
        }
        if !self.buffers.is_empty() {
            p.buffers = 0;
            for b in &self.buffers {
                let Some(i) = BUFFER_SIZES.iter().position(|s| s == b) else {
                    bail!("buffer size {b} is not one of the experiment's (4K,32K,256K,512K,1M,2M,4M,16M)");
                };
                p.buffers |= 1 << i;
            }
        }
        if BUFFER_SIZES.iter().enumerate().any(|(i, &s)| p.buffers & (1 << i) != 0 && s > p.transfer_total) {
            bail!("--total {} is smaller than a buffer size it would run; pass --buffers up to the total", self.total);
        }
        if !self.modes.is_empty() {
            p.flags &= !(flag::MODE_POLLING | flag::MODE_INTERRUPT);
            for m in &self.modes {
                p.flags |= if *m == Mode::Polling { flag::MODE_POLLING } else { flag::MODE_INTERRUPT };
            }
        }
        if self.histogram {
            if config.experiment != ivc_proto::params::Experiment::Notif {
                bail!("--histogram is for notif; transfer records a few samples per buffer size");
            }
            p.flags |= flag::HISTOGRAM;
        }
        if let Some(sel) = self.pmu_events {
            ivcbench::pmu::apply(&mut p, sel, config.experiment, self.target == Target::Qemu)?;
        }
        if self.no_rx_dirty {
            p.flags &= !flag::RX_DIRTY_L1;
        }
        if self.no_rx_icache_inv {
            p.flags &= !flag::RX_INV_ICACHE;
        }
        let boot_timeout = self.boot_timeout.unwrap_or(match self.target {
            // The root cell's Linux boots first under Jailhouse (about 10 s to the prompt here under load).
            Target::Qemu if hypervisor == Hypervisor::Jailhouse => Duration::from_secs(180),
            // seL4's capDL loader builds every VM's objects before the first prompt.
            Target::Qemu if hypervisor == Hypervisor::Sel4 => ivcbench::sel4::BOOT_TIMEOUT,
            Target::Qemu => Duration::from_secs(60),
            Target::Serial => Duration::from_secs(600),
        });
        Ok(RunSpec {
            hypervisor,
            config,
            platform,
            params: p,
            out_root: self.out.clone(),
            force: self.force,
            clock: if self.realtime { Clock::RealTime } else { Clock::Icount(self.icount_shift) },
            boot_timeout,
            idle_timeout: self.idle_timeout,
            progress: true,
            xen: self.xen.clone(),
            bao: self.bao.clone(),
            jailhouse: ivcbench::jailhouse::Paths {
                tree: self.jailhouse.clone(),
                kernel: self.jailhouse_kernel.clone(),
                cells: self.jailhouse_cells.clone(),
                busybox: self.busybox.clone(),
            },
            pathlen: self.pathlen,
            sel4: self.sel4.clone(),
        })
    }
}

fn print_outcome(o: &run::Outcome) -> Result<()> {
    let tx = o.capture.run("tx").context("no tx run")?;
    print!("{}", report::summary(tx, &o.testbed)?);
    if let Some(line) = report::interference(&o.capture) {
        println!("{line}");
    }
    if let Some(t) = ivcbench::pmu::summary(tx, &o.testbed) {
        print!("{t}");
    }
    if let Some(line) = ivcbench::pathlen::counter_read_line(tx) {
        println!("{line}");
    }
    if let Some(t) = ivcbench::pathlen::summary(&o.capture_path, tx)? {
        print!("{t}");
    }
    println!("  capture {} ({:.1} s wall)", o.capture_path.display(), o.wall.as_secs_f64());
    Ok(())
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("ivcbench: error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Build { hypervisors, platform } => {
            let root = build::project_root();
            let hyps: Vec<Hypervisor> = if hypervisors.is_empty() {
                Hypervisor::ALL.into_iter().filter(|h| build::backend_available(*h)).collect()
            } else {
                hypervisors
            };
            if platform::by_name(&platform).is_none() {
                bail!("unknown platform `{platform}` (known: qemu-virt, zcu104, zcu102)");
            }
            for h in hyps {
                let img = build::build_image(&root, h, &platform)?;
                println!("{}", img.display());
            }
        }
        Command::Config(a) => {
            let Some(board) = platform::by_name(&a.platform) else {
                bail!("unknown platform `{}` (known: {})", a.platform, platform::ALL.map(|p| p.name).join(", "));
            };
            let opts = ivcbench::config::Options {
                out: a.out,
                images: !a.no_images,
                xen_colouring: a.xen_colouring,
                jailhouse_colouring: a.jailhouse_colouring,
                force: a.force,
                pmu: a.pmu_events.unwrap_or_default(),
            };
            for f in ivcbench::config::generate(a.hypervisor, board, a.config, &opts)? {
                println!("{}", f.display());
            }
        }
        Command::Run(args) => run_command(&args)?,
        Command::Lava(a) => lava_command(&a)?,
        Command::ImportLava(a) => {
            let opts = ivcbench::lava::ImportOptions {
                out_root: a.out,
                force: a.force,
                job: a.job,
                hypervisor: a.hypervisor,
                config: a.experiment,
            };
            let imported = ivcbench::lava::import(&a.log, &opts)?;
            let tx = imported.capture.run("tx").context("no tx run")?;
            print!("{}", report::summary(tx, &imported.testbed)?);
            println!("  capture {} (from {})", imported.path.display(), a.log.display());
        }
        Command::Summary { captures } => report::print_summaries(&captures)?,
        Command::Report(a) => {
            let load = report::load::LoadOptions {
                legacy_freq_hz: a.legacy_freq,
                lenient: a.lenient,
                hardware_tables: a.origin == TablesOrigin::Hardware,
                keep_order: a.raw,
            };
            let cells = report::output::load(&a.dir, &load)?;
            if cells.is_empty() {
                bail!("no captures under {}/notif or {}/transfer", a.dir.display(), a.dir.display());
            }
            let out = a.out.unwrap_or_else(|| a.dir.join("report"));
            let opts = report::output::ReportOptions { load, out: out.clone(), formats: a.format, raw: a.raw };
            let md = report::output::write(&cells, &opts)?;
            print!("{md}");
            eprintln!("ivcbench: report on {} capture(s) written to {}", cells.len(), out.display());
        }
        Command::Compare(a) => {
            let opts =
                report::load::LoadOptions { legacy_freq_hz: a.legacy_freq, lenient: false, hardware_tables: false, keep_order: false };
            report::compare::command(&a.a, &a.b, &opts, a.json.as_deref(), a.fail_if_slower)?
        }
        Command::Status { dir, legacy_freq } => {
            let load = report::load::LoadOptions { legacy_freq_hz: legacy_freq, lenient: true, hardware_tables: false, keep_order: false };
            let cells = report::output::load(&dir, &load)?;
            print!("{}", report::status::matrix(&cells));
            print!("{}", ivcbench::demo::xen_cells_note(&dir, &cells, &demo_spec)?);
        }
        Command::Demo(a) => {
            let d =
                ivcbench::demo::Demo { out: a.out, hypervisors: a.hypervisors, cells: a.experiments, samples: a.samples, force: a.force };
            ivcbench::demo::run(&d, &demo_spec, &print_outcome)?
        }
    }
    Ok(())
}

fn server(a: &ServerArgs) -> Result<ivcbench::lava::farm::Server> {
    ivcbench::lava::farm::Server::new(a.url.clone(), a.token.clone(), &a.identity)
}

/// `lava`: a job definition per cell; `lava submit`, `lava collect`.
fn lava_command(a: &LavaArgs) -> Result<()> {
    use ivcbench::lava::{self, farm, JobBoot};
    match &a.farm {
        Some(LavaFarm::Submit(s)) => {
            let submitted = farm::submit(&server(&s.server)?, &s.jobs, &s.files)?;
            for j in &submitted {
                println!("{} {}/{} -> LAVA job {}", j.file, j.hypervisor, j.experiment, j.job_id);
            }
            return Ok(());
        }
        Some(LavaFarm::Collect(c)) => {
            let opts =
                farm::CollectOptions { jobs: c.jobs.clone(), out_root: c.out.clone(), timeout: c.timeout, poll: c.poll, force: c.force };
            let outcomes = farm::collect(&server(&c.server)?, &opts)?;
            print!("{}", farm::table(&outcomes));
            let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
            if failed > 0 {
                bail!("{failed} of {} job(s) gave no capture (see the table; `ivcbench status` shows their cells missing)", outcomes.len());
            }
            return Ok(());
        }
        None => {}
    }
    if platform::by_name(&a.platform).is_none() {
        bail!("unknown platform `{}` (known: {})", a.platform, platform::ALL.map(|p| p.name).join(", "));
    }
    let Some(config) = a.config else { bail!("give --experiment (the cell, or with --matrix the experiment)") };
    let Some(kernel_url) = a.kernel_url.clone() else { bail!("give --kernel-url (where the farm fetches each cell's boot image)") };
    if a.hypervisors.is_empty() {
        bail!("give --hypervisor (repeat it for several)");
    }
    let configs = if a.matrix {
        if config.suffix != ivcbench::names::Suffix::default() {
            bail!("--matrix writes every configuration of an experiment: give `--experiment {}`", config.experiment.name());
        }
        report::status::configurations(config.experiment)
            .into_iter()
            .map(|suffix| Configuration { experiment: config.experiment, suffix })
            .collect()
    } else {
        vec![config]
    };
    let qemu = a.platform == "qemu-virt";
    if qemu && !a.boot_commands.is_empty() {
        bail!("--boot-command is for boards' U-Boot; LAVA's qemu device type boots the image itself");
    }
    let opts = lava::JobOptions {
        device_type: a.device_type.clone().unwrap_or_else(|| if qemu { "qemu".into() } else { a.platform.clone() }),
        platform: a.platform.clone(),
        kernel_url,
        boot: match (qemu, a.boot_commands.is_empty()) {
            (true, _) => JobBoot::Qemu { icount_shift: a.icount_shift },
            (false, true) => JobBoot::UBoot(lava::default_boot_commands()),
            (false, false) => JobBoot::UBoot(a.boot_commands.clone()),
        },
        timeout_minutes: (a.timeout.as_secs().div_ceil(60)).max(1) as u32,
        visibility: a.visibility.clone(),
    };
    lava::write_jobs(&a.out, &a.hypervisors, &configs, &opts)
}

/// `run`: one cell, or the matrix, on QEMU or a board's serial console.
fn run_command(args: &RunArgs) -> Result<()> {
    if args.pathlen && args.target == Target::Serial {
        bail!("--pathlen counts with a QEMU plugin: it is for --target qemu");
    }
    let ports = match (args.target, &args.port) {
        (Target::Serial, Some(port)) => {
            Some(ivcbench::serial::Ports { tx: port.clone(), rx: args.rx_port.clone(), baud: args.baud, power_cmd: args.power_cmd.clone() })
        }
        (Target::Serial, None) => bail!("--target serial needs --port (tx's console, e.g. /dev/ttyUSB1)"),
        (Target::Qemu, _) => {
            if args.port.is_some() || args.rx_port.is_some() || args.power_cmd.is_some() {
                bail!("--port, --rx-port and --power-cmd are for --target serial (QEMU is started by ivcbench)");
            }
            None
        }
    };
    let run_one = |spec: &RunSpec| match &ports {
        Some(p) => ivcbench::serial::run(spec, p),
        None => run::run(spec),
    };
    if !args.matrix {
        return print_outcome(&run_one(&args.spec()?)?);
    }
    if args.experiment.suffix != ivcbench::names::Suffix::default() {
        bail!("--matrix walks every configuration of an experiment: give `--experiment {}`", args.experiment.experiment.name());
    }
    let hypervisors = match (args.hypervisors.is_empty(), args.target) {
        (false, _) => args.hypervisors.clone(),
        (true, Target::Qemu) => vec![Hypervisor::Baremetal, Hypervisor::Xen],
        (true, Target::Serial) => Hypervisor::ALL.to_vec(),
    };
    let walk = ivcbench::matrix::Walk {
        out_root: args.out.clone(),
        experiment: args.experiment.experiment,
        hypervisors,
        platform: args.platform.clone(),
        redo_done: args.force,
        person_boots: args.target == Target::Serial && args.power_cmd.is_none(),
    };
    let refusal = |spec: &RunSpec| match args.target {
        Target::Qemu => run::refusal(spec),
        Target::Serial => ivcbench::matrix::board_refusal(spec.hypervisor, spec.config),
    };
    let done = ivcbench::matrix::walk(
        &walk,
        |h, c| args.spec_for(h, c),
        refusal,
        |spec| {
            let o = run_one(spec)?;
            print_outcome(&o)?;
            Ok(o)
        },
    )?;
    print!("{}", done.table());
    Ok(())
}

/// The demo's run of one cell, as `ivcbench run` would make it.
fn demo_spec(hyp: Hypervisor, cfg: Configuration, samples: u32, out: &std::path::Path, force: bool) -> Result<RunSpec> {
    RunArgs::parse_from_demo(hyp.name(), &cfg.to_string(), samples, out, force).spec()
}

impl RunArgs {
    /// The demo's settings: short runs that show every experiment in a few minutes here.
    /// `force`: a capture the demo did not make is there, and the user said --force (run keeps it).
    fn parse_from_demo(hyp: &str, cfg: &str, samples: u32, out: &std::path::Path, force: bool) -> RunArgs {
        let samples = samples.to_string();
        let out = out.to_string_lossy().into_owned();
        let mut argv = vec!["run", "--hypervisor", hyp, "--experiment", cfg, "--samples", &samples, "--out", &out];
        if force {
            argv.push("--force");
        }
        if cfg.starts_with("transfer") {
            argv.extend(["--warmups", "2"]);
        }
        let Cli { command: Command::Run(a) } = Cli::parse_from(std::iter::once("ivcbench").chain(argv)) else {
            unreachable!("the demo's arguments are a run")
        };
        *a
    }
}
