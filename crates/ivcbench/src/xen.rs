//! The Xen testbed: Xen booting dom0less (no dom0) under QEMU `virt`. By default the static
//! partitioning Xen that scripts/build-xen.sh builds from Debian's Xen 4.17 source package (null
//! scheduler, boot-time cpupools); any other Xen with `run --xen`.
//!
//! Xen takes its domUs from the device tree, so [`prepare`] dumps QEMU's own DT, adds under
//! `/chosen` the Xen command line, one cpupool per domU (when the Xen has them) and one
//! `xen,domain` node per domU, and returns the QEMU command that boots Xen with the domU images
//! placed in RAM by `-device loader`. `dtc` does the DTB↔DTS round trip. See docs/testbed-xen.md
//! for what the console looks like and how input reaches a domU.

use anyhow::{bail, ensure, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One domU. Domains get domids 1, 2, 3… in the order they are given to [`prepare`].
pub struct Domain {
    /// "tx", "rx" or "interf"; names the DT node.
    pub role: &'static str,
    /// An arm64 Image (Xen loads nothing else as a domU kernel).
    pub image: PathBuf,
    pub memory_mib: u64,
    /// The domain's LLC colours (`llc-colors`), for a Xen with colouring.
    pub colours: Option<String>,
}

/// What a Xen image can do, read from the image itself (its strings), never assumed from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    /// `(major, minor)` from the `xen,xen-X.Y` compatible it gives its guests.
    pub version: Option<(u32, u32)>,
    /// The null scheduler is built in.
    pub null_scheduler: bool,
    /// Cpupools from the device tree (`xen,cpupool`, BOOT_TIME_CPUPOOLS).
    pub boot_cpupools: bool,
    /// LLC colouring (CONFIG_LLC_COLORING, 4.20+): its `xen-llc-colors` parameter is there.
    pub llc_colouring: bool,
}

impl Features {
    /// Each domain on a physical CPU of its own, which nothing else uses.
    pub fn can_pin(&self) -> bool {
        self.null_scheduler && self.boot_cpupools
    }

    /// 4.18 and later skip absent domains (dom0 here) when the console input moves on.
    fn input_skips_dom0(&self) -> bool {
        self.version.is_some_and(|v| v >= (4, 18))
    }

    pub fn describe(&self) -> String {
        let v = self.version.map_or("unknown version".to_string(), |(a, b)| format!("{a}.{b}"));
        let yes = |b: bool| if b { "yes" } else { "no" };
        format!(
            "Xen {v} (null scheduler: {}, boot-time cpupools: {}, LLC colouring: {})",
            yes(self.null_scheduler),
            yes(self.boot_cpupools),
            yes(self.llc_colouring)
        )
    }
}

/// Reads what the Xen image at `xen` was built with.
pub fn features(xen: &Path) -> Result<Features> {
    let bytes = std::fs::read(xen).with_context(|| format!("reading the Xen image {}", xen.display()))?;
    Ok(features_of(&bytes))
}

fn features_of(bytes: &[u8]) -> Features {
    let has = |s: &[u8]| bytes.windows(s.len()).any(|w| w == s);
    let version = bytes.windows(8).position(|w| w == b"xen,xen-").and_then(|at| {
        let rest = &bytes[at + 8..bytes.len().min(at + 24)];
        let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        let (a, b) = std::str::from_utf8(&rest[..end]).ok()?.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    });
    Features {
        version,
        null_scheduler: has(b"null Scheduler\0"),
        boot_cpupools: has(b"xen,cpupool\0"),
        llc_colouring: has(b"xen-llc-colors\0"),
    }
}

/// How Xen boots: pinned (a null-scheduler cpupool per domain) and anything added to its
/// command line (colouring).
#[derive(Default)]
pub struct Boot {
    pub pinned: bool,
    pub bootargs: Vec<String>,
}

/// Xen's command line. `xsm=dummy`: the default XSM policy (SILO) forbids domU↔domU event
/// channels and grants. `guest_loglvl=all`: guest-tagged messages (a domU's console_io
/// hypercall, Xen's warnings about a domU) are otherwise rate-limited or dropped. vpl011 output
/// itself is printed at the default level, which is never rate-limited. `conswitch=ax`: the
/// input focus stays on Xen after boot (4.17 would move it to the absent dom0, 4.20 to DOM1), so
/// every version starts from the same place.
pub const BOOTARGS: &str = "console=dtuart dtuart=/pl011@9000000 xsm=dummy guest_loglvl=all conswitch=ax";

/// The bytes that send `byte` to DOM1 and then return the focus to Xen, for `domains` domUs.
/// The focus starts on Xen (`conswitch=ax`); each CTRL-a CTRL-a CTRL-a moves it on: (4.17 only:
/// the absent DOM0), DOM1, DOM2, …, DOMn, Xen. While a domU has the focus Xen prints its output
/// without the `(XEN) DOMn: ` prefix, so the focus must not stay there, and the domains it passes
/// through must be quiet then (the interferer reports through shared memory, not the console).
pub fn input_to_dom1(byte: u8, domains: usize, xen: &Features) -> Vec<u8> {
    let to_dom1 = if xen.input_skips_dom0() { 1 } else { 2 };
    let mut v = vec![1; 3 * to_dom1];
    v.push(byte);
    v.extend(std::iter::repeat_n(1, 3 * domains));
    v
}

/// Xen's debug key that dumps every cpupool's CPUs and what runs on them (its scheduler's own
/// view), sent once the run is over: the placement on record is what Xen reports.
pub const DUMP_RUNQUEUES: &[u8] = b"r";
/// Debug keys that show the colours Xen gave itself (`m`, memory info) and each domain (`q`).
pub const DUMP_COLOURS: &[u8] = b"mq";

/// Where the first domU image goes: well above Xen (loaded at 0x40200000) and QEMU's DTB
/// (0x48000000), inside the 2 GiB of RAM at 0x40000000.
const LOAD_BASE: u64 = 0x5000_0000;
/// Images are placed on 2 MiB boundaries, as a Linux Image prefers.
const LOAD_ALIGN: u64 = 2 << 20;

/// The testbed's default Xen: 4.17 built from Debian's source package with the static
/// partitioning configuration by scripts/build-xen.sh (run by scripts/setup.sh).
pub const DEFAULT_XEN: &str = ".cache/xen/boot/xen-4.17-arm64-static";
/// Debian's own binary package (credit2, no cpupools), unpacked by scripts/setup.sh: `--xen` it.
pub const DEBIAN_XEN: &str = ".cache/xen/boot/xen-4.17-arm64";

/// Path of the default Xen.
pub fn find_xen(root: &Path) -> Result<PathBuf> {
    let xen = root.join(DEFAULT_XEN);
    ensure!(
        xen.is_file(),
        "{} not found: run scripts/setup.sh (it builds Xen 4.17 from Debian's source package with scripts/build-xen.sh)",
        xen.display()
    );
    Ok(xen)
}

/// Writes `<work>/xen.dtb` and returns the QEMU command that boots Xen with `domains`.
/// `icount`: `Some(n)` for `-icount shift=n,sleep=off` (deterministic), `None` for real-time MTTCG.
pub fn prepare(qemu: &str, xen: &Path, domains: &[Domain], boot: &Boot, work: &Path, icount: Option<u8>) -> Result<Command> {
    ensure!(!domains.is_empty(), "no domUs to boot");
    let mut sizes = Vec::new();
    for d in domains {
        let len = std::fs::metadata(&d.image).with_context(|| format!("domU image {}", d.image.display()))?.len();
        // QEMU splits -device options at commas.
        ensure!(!d.image.to_string_lossy().contains(','), "{}: QEMU cannot take a path with a comma", d.image.display());
        sizes.push(len);
    }
    let addrs = load_addresses(&sizes);
    std::fs::create_dir_all(work)?;

    // One vCPU per domU plus one, so every single-vCPU domain has a physical CPU of its own.
    let smp = (domains.len() + 1).to_string();
    let machine = "virt,virtualization=on,gic-version=3";
    let common = |c: &mut Command| {
        c.args(["-cpu", "cortex-a57", "-smp", &smp, "-m", "2G", "-display", "none", "-monitor", "none", "-no-reboot"]);
        c.arg("-kernel").arg(xen);
    };

    // QEMU's DT depends on the machine, CPU count and RAM: dump it with the boot's own options.
    let qemu_dtb = work.join("qemu.dtb");
    let mut dump = Command::new(qemu);
    dump.args(["-machine", &format!("{machine},dumpdtb={}", qemu_dtb.display())]).args(["-serial", "null"]);
    common(&mut dump);
    run(dump.stdin(Stdio::null()), "qemu -machine dumpdtb")?;

    let dts = run(Command::new("dtc").args(["-q", "-I", "dtb", "-O", "dts"]).arg(&qemu_dtb), "dtc (dtb to dts)")?;
    let xen_dts = work.join("xen.dts");
    std::fs::write(&xen_dts, dts + &chosen_dts(domains, &addrs, &sizes, boot))?;
    let xen_dtb = work.join("xen.dtb");
    run(Command::new("dtc").args(["-q", "-I", "dts", "-O", "dtb", "-o"]).arg(&xen_dtb).arg(&xen_dts), "dtc (dts to dtb)")?;

    let mut c = Command::new(qemu);
    c.args(["-machine", machine]);
    common(&mut c);
    c.args(["-serial", "stdio"]).arg("-dtb").arg(&xen_dtb);
    for (d, a) in domains.iter().zip(&addrs) {
        c.args(["-device", &format!("loader,file={},addr={a:#x},force-raw=on", d.image.display())]);
    }
    match icount {
        Some(n) => c.args(["-icount", &format!("shift={n},sleep=off")]),
        None => c.args(["-accel", "tcg,thread=multi"]),
    };
    Ok(c)
}

/// One cpupool as Xen's run-queue dump (debug key `r`) shows it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pool {
    pub id: u32,
    pub cpus: Vec<u32>,
    /// The scheduler's short name (`null`, `credit2`).
    pub scheduler: String,
    /// `(domain, vcpu, physical CPU)` of each vCPU the dump places on a CPU.
    pub units: Vec<(u32, u32, u32)>,
}

/// Xen's report of where domains run: the cpupools of the last run-queue dump in a console.
#[derive(Debug, Default)]
pub struct Placement {
    pub pools: Vec<Pool>,
}

/// Parses the last run-queue dump (debug key `r`) in Xen's console output.
pub fn placement(console: &str) -> Result<Placement> {
    let lines: Vec<&str> = console.lines().map(|l| l.trim_end_matches('\r').trim_start_matches("(XEN) ")).collect();
    let Some(start) = lines.iter().rposition(|l| l.starts_with("Online Cpus:")) else {
        bail!("no run-queue dump in the console (Xen never answered debug key 'r')");
    };
    let mut pools: Vec<Pool> = Vec::new();
    let mut cpu: Option<u32> = None;
    for l in &lines[start..] {
        let t = l.trim();
        if let Some(id) = t.strip_prefix("Cpupool ").and_then(|r| r.strip_suffix(':')) {
            pools.push(Pool { id: id.parse().with_context(|| format!("bad cpupool line {t:?}"))?, ..Pool::default() });
            cpu = None;
            continue;
        }
        let Some(pool) = pools.last_mut() else { continue };
        if let Some(list) = t.strip_prefix("Cpus: ") {
            pool.cpus = cpu_list(list).with_context(|| format!("bad CPU list {t:?}"))?;
        } else if let Some(rest) = t.strip_prefix("Scheduler: ") {
            // `Scheduler: null Scheduler (null)`: the short name is in brackets.
            pool.scheduler = rest.rsplit_once('(').map_or(rest, |(_, n)| n.trim_end_matches(')')).to_string();
        } else if let Some(rest) = t.strip_prefix("CPU[") {
            let n = rest.split(']').next().unwrap_or_default();
            cpu = n.parse().ok();
            // `CPU[01] sibling={1}, core={1}, unit=d1v0` (null), `CPU[01] current=d1v0, …`.
            for key in ["unit=d", "current=d"] {
                if let (Some(c), Some(u)) = (cpu, rest.split(key).nth(1).and_then(|u| unit(u, 'v'))) {
                    push_unit(pool, (u.0, u.1, c));
                }
            }
        } else if let Some((_, rest)) = t.split_once('[') {
            // null's domain info and run lines: `1: [1.0] pcpu=1`, `run: [2.0] pcpu=2`; credit2's
            // `run: [1.0] flags=…` under the CPU line it belongs to.
            let Some(u) = unit(rest, '.') else { continue };
            let at = rest.split("pcpu=").nth(1).and_then(|c| c.trim().parse().ok());
            match (at, cpu) {
                (Some(c), _) => push_unit(pool, (u.0, u.1, c)),
                (None, Some(c)) if t.starts_with("run:") => push_unit(pool, (u.0, u.1, c)),
                _ => {}
            }
        }
    }
    ensure!(!pools.is_empty(), "the run-queue dump lists no cpupool");
    Ok(Placement { pools })
}

fn push_unit(pool: &mut Pool, u: (u32, u32, u32)) {
    if !pool.units.contains(&u) {
        pool.units.push(u);
    }
}

/// `1v0` after the `d` of `d1v0` (`sep` 'v'), or `1.0]` (`sep` '.'): domain and vCPU. The idle
/// domain (`d[IDLE]`, `32767`) is none.
fn unit(s: &str, sep: char) -> Option<(u32, u32)> {
    let (d, rest) = s.split_once(sep)?;
    let v: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((d.trim().parse().ok()?, v.parse().ok()?)).filter(|u: &(u32, u32)| u.0 < 32767)
}

/// Xen's CPU list: `0`, `1-3`, `0,2-3`.
fn cpu_list(s: &str) -> Result<Vec<u32>> {
    let mut v = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => v.extend(a.parse::<u32>()?..=b.parse::<u32>()?),
            None => v.push(part.parse()?),
        }
    }
    Ok(v)
}

impl Placement {
    /// Domains 1..=`domains` each alone on a CPU of its own: one vCPU, in a null-scheduler pool
    /// whose only CPU it runs on; and nothing of theirs anywhere else.
    pub fn check_pinned(&self, domains: usize) -> Result<()> {
        let mut used = Vec::new();
        for d in 1..=domains as u32 {
            let pools: Vec<&Pool> = self.pools.iter().filter(|p| p.units.iter().any(|u| u.0 == d)).collect();
            let [pool] = pools[..] else {
                bail!("Xen reports domain {d} in {} cpupools, not in one of its own: {self:?}", pools.len());
            };
            let units: Vec<_> = pool.units.iter().filter(|u| u.0 == d).collect();
            ensure!(
                pool.scheduler == "null" && pool.cpus.len() == 1 && units.len() == 1 && units[0].2 == pool.cpus[0],
                "Xen reports domain {d} in cpupool {} (scheduler {:?}, CPUs {:?}, vCPUs {units:?}), not alone on one CPU under the null scheduler",
                pool.id,
                pool.scheduler,
                pool.cpus
            );
            ensure!(pool.units.iter().all(|u| u.0 == d), "Xen reports domain {d} sharing cpupool {} with {:?}", pool.id, pool.units);
            ensure!(!used.contains(&pool.cpus[0]), "Xen reports two domains on CPU {}", pool.cpus[0]);
            used.push(pool.cpus[0]);
        }
        Ok(())
    }

    /// Where Xen says domain `d` is: `CPU 1 (pool 1, null)`, or that it names no CPU for it.
    pub fn describe_domain(&self, d: u32) -> String {
        let found: Vec<String> = self
            .pools
            .iter()
            .flat_map(|p| {
                p.units.iter().filter(move |u| u.0 == d).map(move |u| format!("v{} on CPU {} (pool {}, {})", u.1, u.2, p.id, p.scheduler))
            })
            .collect();
        if found.is_empty() {
            "not running on any CPU at the dump".to_string()
        } else {
            found.join(" and ")
        }
    }
}

/// The colours Xen reports (4.20+ with LLC colouring): `m` gives the number of colours and Xen's
/// own, `q` each domain's.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Colouring {
    pub colours: u32,
    pub xen: Vec<u32>,
    /// `(domain, its colours)`, in the order `q` lists them.
    pub domains: Vec<(u32, Vec<u32>)>,
}

/// Parses the last colour report (debug keys `m` then `q`) in Xen's console output.
pub fn colouring(console: &str) -> Result<Colouring> {
    let lines: Vec<&str> = console.lines().map(|l| l.trim_end_matches('\r').trim_start_matches("(XEN) ").trim()).collect();
    let Some(start) = lines.iter().rposition(|l| *l == "LLC coloring info:") else {
        bail!("no LLC colouring report in the console (debug key 'm' printed none: is colouring on?)");
    };
    let set = |l: &str| -> Result<Vec<u32>> {
        let inner = l.split_once('{').and_then(|(_, r)| r.split_once('}')).map(|(i, _)| i).unwrap_or_default();
        cpu_list(&inner.replace(' ', "")).with_context(|| format!("bad colour set in {l:?}"))
    };
    let mut c = Colouring::default();
    let mut domain = None;
    for l in &lines[start..] {
        if let Some(n) = l.strip_prefix("Number of LLC colors supported: ") {
            c.colours = n.parse().with_context(|| format!("bad colour count {l:?}"))?;
        } else if l.starts_with("Xen LLC colors") {
            c.xen = set(l)?;
        } else if let Some(d) = l.strip_prefix("General information for domain ").and_then(|d| d.strip_suffix(':')) {
            domain = d.parse().ok();
        } else if let (Some(d), true) = (domain, l.contains(" LLC colors: {")) {
            c.domains.push((d, set(l)?));
            domain = None;
        }
    }
    ensure!(c.colours > 0, "the colour report gives no number of colours");
    Ok(c)
}

/// A colour set as Xen writes it: `0-1`, `2-7,9`.
pub fn colour_ranges(colours: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < colours.len() {
        let mut j = i;
        while j + 1 < colours.len() && colours[j + 1] == colours[j] + 1 {
            j += 1;
        }
        out.push(if i == j { colours[i].to_string() } else { format!("{}-{}", colours[i], colours[j]) });
        i = j + 1;
    }
    out.join(",")
}

/// The ZynqMP as QEMU's ZCU102 model has it, for Xen: four Cortex-A53s started through PSCI
/// (SMC, answered by QEMU when the model is entered at EL2), the GIC-400 with its 64 KiB-aliased
/// CPU interface pages as the ZynqMP's own device tree gives them, the generic timer, 2 GiB of DDR
/// at 0 and the Cadence UART `uart0` as `serial0`. A board's own device tree takes its place on
/// hardware; the `/chosen` fragment merged into it is the board's generated `xen-chosen.dtsi`.
pub const ZYNQMP_DTS: &str = r#"/dts-v1/;
/ {
	compatible = "xlnx,zynqmp-zcu102", "xlnx,zynqmp";
	interrupt-parent = <&gic>;
	#address-cells = <2>;
	#size-cells = <2>;
	aliases { serial0 = &uart0; };
	cpus {
		#address-cells = <1>;
		#size-cells = <0>;
		cpu@0 { compatible = "arm,cortex-a53"; device_type = "cpu"; enable-method = "psci"; reg = <0>; };
		cpu@1 { compatible = "arm,cortex-a53"; device_type = "cpu"; enable-method = "psci"; reg = <1>; };
		cpu@2 { compatible = "arm,cortex-a53"; device_type = "cpu"; enable-method = "psci"; reg = <2>; };
		cpu@3 { compatible = "arm,cortex-a53"; device_type = "cpu"; enable-method = "psci"; reg = <3>; };
	};
	psci { compatible = "arm,psci-0.2"; method = "smc"; };
	memory@0 { device_type = "memory"; reg = <0x0 0x0 0x0 0x80000000>; };
	gic: interrupt-controller@f9010000 {
		compatible = "arm,gic-400";
		#interrupt-cells = <3>;
		#address-cells = <0>;
		interrupt-controller;
		reg = <0x0 0xf9010000 0x0 0x10000>, <0x0 0xf902f000 0x0 0x2000>, <0x0 0xf9040000 0x0 0x20000>, <0x0 0xf906f000 0x0 0x2000>;
		interrupts = <1 9 0xf04>;
	};
	timer {
		compatible = "arm,armv8-timer";
		interrupts = <1 13 0xf08>, <1 14 0xf08>, <1 11 0xf08>, <1 10 0xf08>;
	};
	uart0: serial@ff000000 {
		compatible = "cdns,uart-r1p12", "xlnx,xuartps";
		reg = <0x0 0xff000000 0x0 0x1000>;
		interrupts = <0 21 4>;
	};
};
"#;

/// Xen on QEMU's ZCU102 model, booted as a board's U-Boot would boot it: [`ZYNQMP_DTS`] with the
/// board's generated `/chosen` fragment (`chosen`, from `ivcbench config`), and each domU image at
/// the address the board's boot script loads it to (`modules`). Writes `<work>/xen.dtb`.
pub fn prepare_zynqmp(
    qemu: &str,
    xen: &Path,
    chosen: &str,
    modules: &[(PathBuf, u64)],
    work: &Path,
    icount: Option<u8>,
) -> Result<Command> {
    std::fs::create_dir_all(work)?;
    let xen_dts = work.join("xen.dts");
    std::fs::write(&xen_dts, format!("{ZYNQMP_DTS}\n{chosen}"))?;
    let xen_dtb = work.join("xen.dtb");
    run(Command::new("dtc").args(["-q", "-I", "dts", "-O", "dtb", "-o"]).arg(&xen_dtb).arg(&xen_dts), "dtc (dts to dtb)")?;
    let mut c = Command::new(qemu);
    c.args(["-machine", "xlnx-zcu102,virtualization=on", "-m", "2048", "-audio", "none", "-display", "none", "-monitor", "none"]);
    // uart0 is Xen's console; uart1 has nothing to say.
    c.args(["-serial", "stdio", "-serial", "null", "-no-reboot"]).arg("-kernel").arg(xen).arg("-dtb").arg(&xen_dtb);
    for (image, addr) in modules {
        ensure!(!image.to_string_lossy().contains(','), "{}: QEMU cannot take a path with a comma", image.display());
        c.args(["-device", &format!("loader,file={},addr={addr:#x},force-raw=on", image.display())]);
    }
    match icount {
        Some(n) => c.args(["-icount", &format!("shift={n},sleep=off")]),
        None => c.args(["-accel", "tcg,thread=multi"]),
    };
    Ok(c)
}

/// Load addresses: from [`LOAD_BASE`] on, one after the other, each on a [`LOAD_ALIGN`] boundary.
fn load_addresses(sizes: &[u64]) -> Vec<u64> {
    let mut next = LOAD_BASE;
    sizes
        .iter()
        .map(|s| {
            let a = next;
            next = (a + s).div_ceil(LOAD_ALIGN) * LOAD_ALIGN;
            a
        })
        .collect()
}

/// DTS text merged into QEMU's tree (a second `/ { … }` block adds to the first): the seeds go
/// (they change every run), the Xen command line and the domU nodes come in, in `domains` order
/// because Xen creates the domains, and so numbers them, in DT order. Pinned: CPU 0 alone in
/// pool 0 (Xen's boot CPU must be there), and domain i alone on CPU i+1 in a null-scheduler pool.
fn chosen_dts(domains: &[Domain], addrs: &[u64], sizes: &[u64], boot: &Boot) -> String {
    let cells = |v: u64| format!("{:#x} {:#x}", v >> 32, v & 0xffff_ffff);
    let mut s = String::from("\n/ {\n\tchosen {\n");
    s += "\t\t/delete-property/ rng-seed;\n\t\t/delete-property/ kaslr-seed;\n";
    s += "\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n";
    let mut args = BOOTARGS.to_string();
    for a in &boot.bootargs {
        args = args + " " + a;
    }
    let _ = writeln!(s, "\t\txen,xen-bootargs = \"{args}\";");
    if boot.pinned {
        s += "\t\tpool-xen {\n\t\t\tcompatible = \"xen,cpupool\";\n\t\t\tcpupool-cpus = <&{/cpus/cpu@0}>;\n\t\t};\n";
    }
    for (i, ((d, a), n)) in domains.iter().zip(addrs).zip(sizes).enumerate() {
        let role = d.role;
        if boot.pinned {
            let _ = write!(
                s,
                "\t\tpool_{role}: pool-{role} {{\n\t\t\tcompatible = \"xen,cpupool\";\n\
                 \t\t\tcpupool-cpus = <&{{/cpus/cpu@{cpu}}}>;\n\t\t\tcpupool-sched = \"null\";\n\t\t}};\n",
                cpu = i + 1
            );
        }
        let _ = write!(
            s,
            "\t\tdomU-{role} {{\n\t\t\tcompatible = \"xen,domain\";\n\t\t\t#address-cells = <2>;\n\t\t\t#size-cells = <2>;\n\
             \t\t\tcpus = <1>;\n\t\t\tmemory = <{mem}>; /* KiB */\n\t\t\tvpl011;\n",
            mem = cells(d.memory_mib * 1024),
        );
        if boot.pinned {
            let _ = writeln!(s, "\t\t\tdomain-cpupool = <&pool_{role}>;");
        }
        if let Some(c) = &d.colours {
            let _ = writeln!(s, "\t\t\tllc-colors = \"{c}\";");
        }
        let _ = write!(
            s,
            "\t\t\tmodule@{a:x} {{\n\t\t\t\tcompatible = \"multiboot,kernel\", \"multiboot,module\";\n\
             \t\t\t\treg = <{addr} {size}>;\n\t\t\t}};\n\t\t}};\n",
            addr = cells(*a),
            size = cells(*n),
        );
    }
    s + "\t};\n};\n"
}

/// Runs a tool to completion; its stdout, or an error with its stderr.
fn run(c: &mut Command, what: &str) -> Result<String> {
    let out = c.output().with_context(|| format!("cannot run {what} ({:?})", c.get_program()))?;
    if !out.status.success() {
        bail!("{what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doms() -> Vec<Domain> {
        ["tx", "rx", "interf"].map(|role| Domain { role, image: PathBuf::from(role), memory_mib: 16, colours: None }).into()
    }

    #[test]
    fn images_are_aligned_apart_and_clear_of_the_dtb() {
        let sizes = [368, 3 << 20, 1];
        let a = load_addresses(&sizes);
        assert_eq!(a, [0x5000_0000, 0x5020_0000, 0x5060_0000]);
        assert!(a.iter().all(|a| a % LOAD_ALIGN == 0 && *a > 0x4810_0000));
    }

    #[test]
    fn domains_in_order_with_module_nodes() {
        let d = doms();
        let s = chosen_dts(&d, &load_addresses(&[368, 368, 368]), &[368, 368, 368], &Boot::default());
        let (tx, rx, interf) = (s.find("domU-tx {").unwrap(), s.find("domU-rx {").unwrap(), s.find("domU-interf {").unwrap());
        assert!(tx < rx && rx < interf, "DT order is domid order");
        assert_eq!(s.matches("compatible = \"xen,domain\";").count(), 3);
        assert_eq!(s.matches("vpl011;").count(), 3);
        assert_eq!(s.matches("cpus = <1>;").count(), 3);
        assert!(s.contains("memory = <0x0 0x4000>; /* KiB */"));
        assert!(s.contains("module@50200000 {"));
        assert!(s.contains("reg = <0x0 0x50200000 0x0 0x170>;"));
        assert!(s.contains("/delete-property/ rng-seed;") && s.contains("/delete-property/ kaslr-seed;"));
        assert!(s.contains("xsm=dummy") && s.contains("dtuart=/pl011@9000000"));
    }

    /// Xen 4.17 (built by scripts/build-xen.sh) after a pinned notif+interf run, debug key `r`.
    const NULL_DUMP: &str = include_str!("../tests/data/xen-4.17-null-rdump.txt");

    #[test]
    fn run_queue_dump_shows_each_domain_alone_on_its_cpu() {
        let p = placement(&format!("(XEN) Freed 348kB init memory.\n{NULL_DUMP}")).unwrap();
        assert_eq!(p.pools.len(), 4);
        assert_eq!((p.pools[0].scheduler.as_str(), &p.pools[0].cpus[..], p.pools[0].units.len()), ("credit2", &[0][..], 0));
        for d in 1..=3 {
            assert_eq!(p.pools[d as usize].units, [(d, 0, d)], "pool {d}");
            assert_eq!(p.pools[d as usize].scheduler, "null");
        }
        p.check_pinned(3).unwrap();
        assert_eq!(p.describe_domain(2), "v0 on CPU 2 (pool 2, null)");
        assert!(p.check_pinned(4).unwrap_err().to_string().contains("domain 4 in 0 cpupools"));
    }

    #[test]
    fn placement_that_is_not_pinned_is_refused() {
        // Domain 1's pool given a second CPU.
        let wide = NULL_DUMP.replace("(XEN) Cpus: 1\n", "(XEN) Cpus: 1-2\n");
        let e = placement(&wide).unwrap().check_pinned(3).unwrap_err().to_string();
        assert!(e.contains("domain 1 in cpupool 1") && e.contains("not alone on one CPU"), "{e}");
        // Domain 1 with a second vCPU in domain 2's pool.
        let spread = NULL_DUMP.replace("[2.0] pcpu=2", "[1.1] pcpu=2");
        let e = placement(&spread).unwrap().check_pinned(3).unwrap_err().to_string();
        assert!(e.contains("domain 1 in 2 cpupools"), "{e}");
        // The same layout under credit2 (Debian's binary: one pool, vCPUs where they run).
        let credit2 = "(XEN) Online Cpus: 0-3\n(XEN) Cpupool 0:\n(XEN) Cpus: 0-3\n(XEN) Scheduler: SMP Credit Scheduler rev2 (credit2)\n\
                       (XEN) CPU[01] current=d1v0, curr=d1v0, prev=NULL\n(XEN) CPU[02] current=d[IDLE]v2, curr=d[IDLE]v2, prev=NULL\n\
                       (XEN) CPU[03] runq=0, sibling={3}, core={3}\n(XEN) \trun: [2.0] flags=0 cpu=3\n";
        let p = placement(credit2).unwrap();
        assert_eq!(p.pools[0].units, [(1, 0, 1), (2, 0, 3)]);
        assert!(p.check_pinned(2).unwrap_err().to_string().contains("not alone on one CPU"));
        assert!(placement("(XEN) Xen is booting\n").unwrap_err().to_string().contains("debug key 'r'"));
    }

    #[test]
    fn colours_as_xen_reports_them() {
        let out =
            "(XEN) 'm' pressed -> dumping memory info\r\n(XEN) LLC coloring info:\r\n(XEN)     Number of LLC colors supported: 16\r\n\
                   (XEN)     Xen LLC colors (2): { 0-1 }\r\n(XEN) 'q' pressed -> dumping domain info (now = 1)\r\n\
                   (XEN) General information for domain 1:\r\n(XEN)   4K mappings: 24586\r\n(XEN) 6 LLC colors: { 2-7 }\r\n\
                   (XEN) General information for domain 2:\r\n(XEN) 8 LLC colors: { 8-15 }\r\n";
        let c = colouring(out).unwrap();
        assert_eq!(c, Colouring { colours: 16, xen: vec![0, 1], domains: vec![(1, (2..=7).collect()), (2, (8..=15).collect())] });
        assert_eq!(colour_ranges(&c.domains[0].1), "2-7");
        assert_eq!(colour_ranges(&[0, 2, 3, 5]), "0,2-3,5");
        assert!(colouring("(XEN) nothing\n").unwrap_err().to_string().contains("debug key 'm'"));
    }

    #[test]
    fn features_come_from_the_image() {
        let mut img = b"\x00junk\x00xen,xen-4.20\x00null Scheduler\x00xen,cpupool\x00".to_vec();
        let f = features_of(&img);
        assert_eq!(f, Features { version: Some((4, 20)), null_scheduler: true, boot_cpupools: true, llc_colouring: false });
        assert!(f.can_pin() && f.input_skips_dom0());
        img.extend(b"xen-llc-colors\x00");
        assert!(features_of(&img).llc_colouring);
        // Debian's binary: credit2 only.
        let f = features_of(b"xen,xen-4.17\x00credit2\x00");
        assert!(!f.can_pin() && !f.input_skips_dom0() && f.version == Some((4, 17)));
    }

    #[test]
    fn pinned_domains_get_a_null_pool_each_and_colours() {
        let mut d = doms();
        d[2].colours = Some("8,9".into());
        let boot = Boot { pinned: true, bootargs: vec!["llc-coloring=on".into()] };
        let s = chosen_dts(&d, &load_addresses(&[368, 368, 368]), &[368, 368, 368], &boot);
        assert!(s.contains("pool-xen {\n\t\t\tcompatible = \"xen,cpupool\";\n\t\t\tcpupool-cpus = <&{/cpus/cpu@0}>;"));
        for (i, r) in ["tx", "rx", "interf"].iter().enumerate() {
            assert!(s.contains(&format!("pool_{r}: pool-{r} {{\n\t\t\tcompatible = \"xen,cpupool\";\n\t\t\tcpupool-cpus = <&{{/cpus/cpu@{}}}>;\n\t\t\tcpupool-sched = \"null\";", i + 1)));
            assert!(s.contains(&format!("domain-cpupool = <&pool_{r}>;")));
        }
        assert_eq!(s.matches("llc-colors = \"8,9\";").count(), 1);
        assert!(s.contains("conswitch=ax llc-coloring=on\";"));
        let unpinned = chosen_dts(&d, &load_addresses(&[368, 368, 368]), &[368, 368, 368], &Boot::default());
        assert!(!unpinned.contains("cpupool"));
    }

    #[test]
    fn input_reaches_dom1_and_focus_returns_to_xen() {
        // 4.17 passes through the absent dom0 on the way; 4.18+ skips it.
        let v417 = Features { version: Some((4, 17)), ..Features::default() };
        assert_eq!(input_to_dom1(b's', 3, &v417), b"\x01\x01\x01\x01\x01\x01s\x01\x01\x01\x01\x01\x01\x01\x01\x01");
        let v420 = Features { version: Some((4, 20)), ..Features::default() };
        assert_eq!(input_to_dom1(b's', 2, &v420), b"\x01\x01\x01s\x01\x01\x01\x01\x01\x01");
    }

    #[test]
    fn missing_xen_names_setup() {
        let e = find_xen(Path::new("/nonexistent")).unwrap_err().to_string();
        assert!(e.contains("scripts/setup.sh") && e.contains("/nonexistent/.cache/xen/boot/xen-4.17-arm64-static"));
    }
}
