//! Jailhouse on the QEMU testbed, from artefacts the user built (Jailhouse is not shipped: its
//! driver, firmware and tool, the root cell's Linux and the compiled cells come by path).
//!
//! ivcbench makes the root cell's file system itself (an initramfs: Debian's static busybox, an
//! init that loads the driver, enables Jailhouse, creates the cells and loads each role's image
//! with the run's parameters patched in, then starts them) and boots it on
//! `-machine virt,virtualization=on` with four CPUs: Linux keeps CPU 0, tx, rx and the interferer
//! get CPUs 1, 2 and 3. tx owns uart0 alone (the capture); uart1 is the root Linux's and the
//! hypervisor's console and rx's, written raw beside the capture (`<capture>.rx`). When something
//! fails before tx speaks (driver refused, Jailhouse or a cell refused, an inmate silent) the
//! error quotes that console, where the init, the driver and Jailhouse say why.

use crate::build::{self, patch_params};
use crate::config::jailhouse::{self as gen, Cell};
use crate::config::System;
use crate::names::Hypervisor;
use crate::qemu::{self, Clock};
use crate::run::{rx_console_path, RunSpec};
use crate::testbed::{cell_params, run_dir, Boot};
use anyhow::{anyhow, bail, ensure, Context, Result};
use ivc_proto::capture::START_KEY;
use ivc_proto::params::{flag, Role};
use std::path::{Path, PathBuf};

/// What the user built, by path.
#[derive(Clone, Debug, Default)]
pub struct Paths {
    /// A built Jailhouse tree: `driver/jailhouse.ko`, `hypervisor/jailhouse.bin`, `tools/jailhouse`.
    pub tree: Option<PathBuf>,
    /// The root cell's Linux (an arm64 Image) that the driver was built against.
    pub kernel: Option<PathBuf>,
    /// The compiled cells of the run's configuration: `root.cell`, `tx.cell`, `rx.cell` and, with
    /// `+interf`, `interf.cell` (the `.c` files of `ivcbench config`, compiled).
    pub cells: Option<PathBuf>,
    /// Debian's static busybox for arm64 [default: .cache/busybox/bin/busybox, from scripts/setup.sh].
    pub busybox: Option<PathBuf>,
}

/// Where the `jailhouse` tool's loader and libraries come from when it is linked dynamically:
/// Debian's arm64 cross libc (libc6-arm64-cross, installed with gcc-aarch64-linux-gnu).
pub const SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// The markers the init prints on the root console; a failure line names the step.
pub const MARK: &str = "ivcbench-jailhouse:";
pub const FAILED: &str = "ivcbench-jailhouse: FAILED:";

/// What a run needs, read and checked.
pub struct Artefacts {
    pub kernel: PathBuf,
    pub module: Vec<u8>,
    pub firmware: Vec<u8>,
    pub tool: Vec<u8>,
    /// The tool's loader and libraries: (path in the root file system, bytes).
    pub libs: Vec<(String, Vec<u8>)>,
    pub busybox: Vec<u8>,
    /// (`root`, `tx`, ... , bytes of `<name>.cell`).
    pub cells: Vec<(String, Vec<u8>)>,
}

const HOW: &str = "docs/jailhouse.md says how to build them";

fn read(path: &Path, what: &str, flag: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{what} {} cannot be read (pass {flag}; {HOW})", path.display()))
}

/// Why this cell cannot run under Jailhouse on the QEMU testbed, if it cannot.
pub fn check_supported(spec: &RunSpec) -> Result<()> {
    if spec.platform.name != "qemu-virt" {
        bail!(
            "jailhouse runs on the qemu-virt testbed only; for {} generate the cells with `ivcbench config --hypervisor jailhouse \
             --platform {}` and capture the board with `--target serial`",
            spec.platform.name,
            spec.platform.name
        );
    }
    if spec.config.suffix.col {
        bail!(
            "{}: mainline Jailhouse has no cache colouring, so jailhouse{} would run uncoloured under a coloured name; the colouring \
             fork's cells come from `ivcbench config --hypervisor jailhouse --jailhouse-colouring` (docs/jailhouse.md)",
            spec.config,
            spec.config.suffix
        );
    }
    Ok(())
}

/// Reads and checks every artefact, refusing with what to pass when one is missing or wrong.
pub fn artefacts(p: &Paths, root: &Path, cells: &[Cell]) -> Result<Artefacts> {
    let Some(tree) = &p.tree else {
        bail!("jailhouse runs with a Jailhouse you build: pass --jailhouse <tree> (a built Jailhouse source tree; {HOW})")
    };
    ensure!(tree.is_dir(), "--jailhouse {}: not a directory (expected a built Jailhouse source tree; {HOW})", tree.display());
    let Some(kernel) = &p.kernel else {
        bail!("jailhouse needs the root cell's Linux: pass --jailhouse-kernel <arm64 Image> (the kernel jailhouse.ko was built against; {HOW})")
    };
    let Some(cell_dir) = &p.cells else {
        bail!(
            "jailhouse needs the compiled cells: pass --jailhouse-cells <dir> holding root.cell, tx.cell, rx.cell (interf.cell) \
             compiled from `ivcbench config --hypervisor jailhouse --platform qemu-virt` ({HOW})"
        )
    };
    let image = read(kernel, "the root cell's kernel", "--jailhouse-kernel")?;
    let release = kernel_release(&image).with_context(|| format!("--jailhouse-kernel {}", kernel.display()))?;
    let module_path = tree.join("driver/jailhouse.ko");
    let module = read(&module_path, "the Jailhouse driver", "--jailhouse <built tree>")?;
    check_module(&module, &release).with_context(|| format!("{}", module_path.display()))?;
    let fw_path = tree.join("hypervisor/jailhouse.bin");
    let firmware = read(&fw_path, "the Jailhouse firmware", "--jailhouse <built tree>")?;
    ensure!(firmware.starts_with(b"JAILHOUS"), "{}: not a Jailhouse hypervisor image (no JAILHOUS signature)", fw_path.display());
    let tool_path = tree.join("tools/jailhouse");
    let tool = read(&tool_path, "the jailhouse tool", "--jailhouse <built tree>")?;
    let elf = Elf::parse(&tool).with_context(|| format!("{}", tool_path.display()))?;
    ensure!(elf.kind == ET_EXEC || elf.kind == ET_DYN, "{}: an aarch64 object, but not an executable", tool_path.display());
    let mut libs = Vec::new();
    if let Some(interp) = &elf.interp {
        let mut want: Vec<String> = vec![interp.clone()];
        want.extend(elf.needed.iter().map(|n| format!("/lib/{n}")));
        for path in want {
            let name = Path::new(&path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let from = Path::new(SYSROOT).join("lib").join(&name);
            let bytes = std::fs::read(&from).with_context(|| {
                format!(
                    "{} is linked dynamically and needs {name}, which is not in {SYSROOT}/lib: install Debian's libc6-arm64-cross \
                     (comes with gcc-aarch64-linux-gnu) or build the tool statically",
                    tool_path.display()
                )
            })?;
            libs.push((path, bytes));
        }
    }
    let bb_path = p.busybox.clone().unwrap_or_else(|| root.join(".cache/busybox/bin/busybox"));
    let busybox = std::fs::read(&bb_path).with_context(|| {
        format!("busybox {} cannot be read: run scripts/setup.sh (it unpacks Debian's busybox-static:arm64 there)", bb_path.display())
    })?;
    let bb = Elf::parse(&busybox).with_context(|| format!("{}", bb_path.display()))?;
    ensure!(bb.interp.is_none(), "{}: busybox must be linked statically (Debian's busybox-static)", bb_path.display());
    let mut files = Vec::new();
    let root_path = cell_dir.join("root.cell");
    let bytes = read(&root_path, "the root cell", "--jailhouse-cells")?;
    check_root_cell(&bytes, ivc_proto::platform::QEMU_VIRT.cores, cells).with_context(|| stale(&root_path))?;
    files.push(("root".to_string(), bytes));
    for c in cells {
        let path = cell_dir.join(format!("{}.cell", c.role.name()));
        let bytes = read(&path, "a cell", "--jailhouse-cells")?;
        check_cell(&bytes, c).with_context(|| stale(&path))?;
        files.push((c.role.name().to_string(), bytes));
    }
    Ok(Artefacts { kernel: kernel.clone(), module, firmware, tool, libs, busybox, cells: files })
}

fn stale(path: &Path) -> String {
    format!(
        "{} is not the cell ivcbench generates for this run: compile the .c files of `ivcbench config --hypervisor jailhouse \
         --platform qemu-virt --experiment <this cell>` again ({HOW})",
        path.display()
    )
}

/// The release an arm64 Linux Image was built as (from its `Linux version` banner).
pub fn kernel_release(image: &[u8]) -> Result<String> {
    ensure!(image.len() > 64 && &image[56..60] == b"ARM\x64", "not an arm64 Linux Image (no ARM\\x64 magic at offset 56)");
    let at = find(image, b"Linux version ").ok_or_else(|| anyhow!("no `Linux version` banner in the Image"))?;
    Ok(token(&image[at + 14..]))
}

/// The driver must be an aarch64 kernel module named jailhouse, built for `release`.
pub fn check_module(module: &[u8], release: &str) -> Result<()> {
    let elf = Elf::parse(module)?;
    ensure!(elf.kind == ET_REL, "not a kernel module (an aarch64 ELF, but not relocatable)");
    ensure!(find(module, b"name=jailhouse\0").is_some(), "not the Jailhouse driver (its .modinfo has no name=jailhouse)");
    let at = find(module, b"vermagic=").ok_or_else(|| anyhow!("no vermagic in its .modinfo"))?;
    let built_for = token(&module[at + 9..]);
    ensure!(
        built_for == release,
        "the driver was built for Linux {built_for}, but --jailhouse-kernel is {release}: build Jailhouse against the root cell's kernel tree (KDIR)"
    );
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn token(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == b' ' || c == 0 || c == b'\n').unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

const ET_REL: u16 = 1;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

/// What ivcbench needs of an aarch64 ELF file: its type, its interpreter and the libraries it
/// names (DT_NEEDED).
pub struct Elf {
    pub kind: u16,
    pub interp: Option<String>,
    pub needed: Vec<String>,
}

impl Elf {
    pub fn parse(b: &[u8]) -> Result<Elf> {
        let u16_at = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
        let u64_at = |o: usize| b.get(o..o + 8).map(|s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])));
        ensure!(b.len() >= 64 && &b[..4] == b"\x7fELF" && b[4] == 2 && b[5] == 1, "not a 64-bit little-endian ELF file");
        ensure!(u16_at(18) == Some(183), "not built for aarch64 (ELF machine {:?})", u16_at(18));
        let kind = u16_at(16).unwrap_or(0);
        let (phoff, phnum) = (u64_at(32).unwrap_or(0) as usize, u16_at(56).unwrap_or(0) as usize);
        let mut interp = None;
        let mut dynamic = None;
        let mut loads = Vec::new();
        for i in 0..phnum {
            let h = phoff + i * 56;
            let (Some(t), Some(off), Some(vaddr), Some(size)) = (b.get(h..h + 4), u64_at(h + 8), u64_at(h + 16), u64_at(h + 32)) else {
                bail!("program header {i} runs past the end of the file");
            };
            let (off, size) = (off as usize, size as usize);
            match u32::from_le_bytes(t.try_into().unwrap_or([0; 4])) {
                1 => loads.push((vaddr, off, size)),
                2 => dynamic = Some((off, size)),
                3 => {
                    let s = b.get(off..off + size).ok_or_else(|| anyhow!("PT_INTERP outside the file"))?;
                    interp = Some(token(s));
                }
                _ => {}
            }
        }
        let mut needed = Vec::new();
        if let Some((off, size)) = dynamic {
            let entries: Vec<(u64, u64)> =
                (0..size / 16).filter_map(|i| Some((u64_at(off + 16 * i)?, u64_at(off + 16 * i + 8)?))).take_while(|e| e.0 != 0).collect();
            let strtab = entries.iter().find(|e| e.0 == 5).map(|e| e.1);
            let file_off = |va: u64| loads.iter().find(|(v, _, s)| va >= *v && va < v + *s as u64).map(|(v, o, _)| o + (va - v) as usize);
            if let Some(str_off) = strtab.and_then(file_off) {
                for e in entries.iter().filter(|e| e.0 == 1) {
                    needed.push(token(b.get(str_off + e.1 as usize..).unwrap_or_default()));
                }
            }
        }
        Ok(Elf { kind, interp, needed })
    }
}

/// A compiled cell (struct jailhouse_cell_desc and what follows it), as far as the checks read it.
#[derive(Debug, PartialEq, Eq)]
pub struct CellFile {
    pub name: String,
    pub cpus: u64,
    pub reset: u64,
    /// (phys, virt, size, flags) of each memory region.
    pub mems: Vec<(u64, u64, u64, u64)>,
    pub pci_devices: u32,
}

const CELL_HEADER: usize = 132;
const CONFIG_REVISION: u16 = 14;
const ARCH_ARM64: u8 = 2;

fn le(b: &[u8], o: usize, n: usize) -> Result<u64> {
    let s = b.get(o..o + n).ok_or_else(|| anyhow!("the file ends at byte {} inside its header or tables", b.len()))?;
    Ok(s.iter().rev().fold(0, |v, &x| v << 8 | x as u64))
}

/// Parses a non-root cell (`JHCLL`, config revision 14, arm64).
pub fn parse_cell(b: &[u8]) -> Result<CellFile> {
    ensure!(b.starts_with(b"JHCLL"), "not a Jailhouse cell (no JHCLL signature)");
    ensure!(b[5] == ARCH_ARM64, "a cell for architecture {}, not arm64", b[5]);
    let rev = le(b, 6, 2)? as u16;
    ensure!(rev == CONFIG_REVISION, "config revision {rev}; ivcbench writes revision {CONFIG_REVISION} (mainline Jailhouse)");
    parse_desc(b)
}

/// A struct jailhouse_cell_desc at the start of `b` and the CPU set and memory regions after it.
fn parse_desc(b: &[u8]) -> Result<CellFile> {
    ensure!(b.len() >= CELL_HEADER, "the file ends inside its cell description");
    let name = token(&b[8..40]);
    let cpu_set = le(b, 48, 4)? as usize;
    let n_mem = le(b, 52, 4)? as usize;
    let pci_devices = le(b, 68, 4)? as u32;
    let reset = le(b, 84, 8)?;
    let cpus = le(b, CELL_HEADER, cpu_set.min(8))?;
    let mut mems = Vec::new();
    for i in 0..n_mem {
        let o = CELL_HEADER + cpu_set + 32 * i;
        mems.push((le(b, o, 8)?, le(b, o + 8, 8)?, le(b, o + 16, 8)?, le(b, o + 24, 8)?));
    }
    Ok(CellFile { name, cpus, reset, mems, pci_devices })
}

/// A compiled cell must be the one the generator describes now.
pub fn check_cell(b: &[u8], want: &Cell) -> Result<()> {
    let got = parse_cell(b)?;
    let mut mems = Vec::new();
    for m in &want.mems {
        mems.push((m.phys, m.virt, m.size, gen::mem_flags(m.flags)?));
    }
    let want_file =
        CellFile { name: want.name.clone(), cpus: want.cpus, reset: want.reset, mems, pci_devices: want.ivshmem.is_some() as u32 };
    if got != want_file {
        let what = if got.name != want_file.name {
            format!("it is cell {:?}, expected {:?}", got.name, want_file.name)
        } else if got.cpus != want_file.cpus {
            format!("CPU set {:#b}, expected {:#b}", got.cpus, want_file.cpus)
        } else if got.mems.len() != want_file.mems.len() {
            format!("{} memory regions, expected {}", got.mems.len(), want_file.mems.len())
        } else if let Some((i, (g, w))) = got.mems.iter().zip(&want_file.mems).enumerate().find(|(_, (g, w))| g != w) {
            format!("memory region {i} ({}) is {g:#x?}, expected {w:#x?}", want.mems[i].what)
        } else {
            format!("{got:#x?}, expected {want_file:#x?}")
        };
        bail!("{what}");
    }
    Ok(())
}

/// The root cell must be a system configuration of this revision with ivcbench's root cell name,
/// Jailhouse's memory where the cells' pool expects it, every CPU of the machine (found live: with
/// fewer, `jailhouse enable` hangs the root Linux) and RAM covering the cells' memory (found live:
/// without it, loading a cell's image faults the root cell in Jailhouse).
pub fn check_root_cell(b: &[u8], cores: usize, cells: &[Cell]) -> Result<()> {
    ensure!(b.starts_with(b"JHSYS"), "not a Jailhouse system (root cell) configuration (no JHSYS signature)");
    ensure!(b[5] == ARCH_ARM64, "a root cell for architecture {}, not arm64", b[5]);
    let rev = le(b, 6, 2)? as u16;
    ensure!(rev == CONFIG_REVISION, "config revision {rev}; ivcbench writes revision {CONFIG_REVISION} (mainline Jailhouse)");
    let (phys, size) = (le(b, 12, 8)?, le(b, 28, 8)?);
    let want = gen::HYPERVISOR_MEMORY;
    ensure!((phys, size) == (want.base, want.size), "hypervisor memory {phys:#x}+{size:#x}, expected {:#x}+{:#x}", want.base, want.size);
    let mut name = gen::ROOT_CELL_NAME.as_bytes().to_vec();
    name.push(0);
    let at = find(b, &name).ok_or_else(|| anyhow!("no root cell named {:?} in it", gen::ROOT_CELL_NAME))?;
    // The root cell's description ends the system configuration; its name is at offset 8.
    let root = parse_desc(b.get(at.saturating_sub(8)..).unwrap_or_default())?;
    let all = (1u64 << cores) - 1;
    ensure!(
        root.cpus == all,
        "the root cell has CPU set {:#b}, but the machine has {cores} CPUs ({all:#b}): Jailhouse enables only with every online CPU",
        root.cpus
    );
    const IO: u64 = 0x10;
    for c in cells {
        for m in c.mems.iter().filter(|m| m.size > 0 && m.phys != 0 && !m.flags.contains(&"JAILHOUSE_MEM_IO")) {
            let covered = root.mems.iter().any(|r| r.3 & IO == 0 && r.0 <= m.phys && m.phys + m.size <= r.0 + r.2);
            ensure!(
                covered,
                "no RAM region of the root cell covers {}'s {} {:#x}+{:#x}: Jailhouse maps a cell's memory into the root cell to load it",
                c.name,
                m.what,
                m.phys,
                m.size
            );
        }
    }
    Ok(())
}

/// The init of the root file system: mounts, loads the driver, enables Jailhouse, creates the
/// cells, loads and starts them, then idles. Each step is announced on the console; a failing one
/// is named and the init exits, which panics the kernel and (panic=-1, -no-reboot) stops QEMU.
pub fn init_script(cells: &[Cell]) -> String {
    let mut s = String::from(
        "#!/bin/sh\n\
         # The root cell's init for an ivcbench run under Jailhouse (written by ivcbench for this run).\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev\n",
    );
    s += &format!("step() {{ echo \"{MARK} $*\"; }}\n");
    s += &format!(
        "fail() {{\n\techo \"{FAILED} $*\"\n\t[ -n \"$enabled\" ] && jailhouse disable\n\t# init exits: the kernel panics and QEMU stops.\n\texit 1\n}}\n"
    );
    let steps: Vec<(String, String)> = [
        ("loading the driver".to_string(), "insmod /lib/modules/jailhouse.ko".to_string()),
        ("enabling Jailhouse".to_string(), "jailhouse enable /cells/root.cell".to_string()),
    ]
    .into_iter()
    .chain(gen::cell_commands(cells, "/cells", "/images").into_iter().map(|c| (c.clone(), c)))
    .collect();
    for (i, (what, cmd)) in steps.iter().enumerate() {
        s += &format!("step \"{what}\"\n{cmd} || fail \"{cmd}\"\n");
        if i == 1 {
            s += "enabled=1\n";
        }
    }
    s += "step \"cells started\"\nwhile :; do sleep 3600; done\n";
    s
}

/// The root file system: busybox with its applets, the init, the driver, firmware and tool (and
/// its loader and libraries), the cells and the role images.
pub fn rootfs(a: &Artefacts, init: &str, images: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut c = Cpio::default();
    for d in ["bin", "dev", "proc", "sys", "lib", "lib/modules", "lib/firmware", "cells", "images", "tmp"] {
        c.dir(d);
    }
    // The kernel opens /dev/console before the init mounts devtmpfs.
    c.node("dev/console", 0o020600, 5, 1);
    c.file("bin/busybox", 0o755, &a.busybox);
    for applet in ["sh", "mount", "insmod", "sleep", "echo", "cat", "dmesg"] {
        c.symlink(&format!("bin/{applet}"), "busybox");
    }
    c.file("init", 0o755, init.as_bytes());
    c.file("lib/modules/jailhouse.ko", 0o644, &a.module);
    c.file("lib/firmware/jailhouse.bin", 0o644, &a.firmware);
    c.file("bin/jailhouse", 0o755, &a.tool);
    for (path, bytes) in &a.libs {
        let path = path.trim_start_matches('/');
        let mut dir = String::new();
        for part in Path::new(path).parent().into_iter().flat_map(|p| p.iter()) {
            dir = if dir.is_empty() { part.to_string_lossy().into_owned() } else { format!("{dir}/{}", part.to_string_lossy()) };
            c.dir(&dir);
        }
        c.file(path, 0o755, bytes);
    }
    for (name, bytes) in &a.cells {
        c.file(&format!("cells/{name}.cell"), 0o644, bytes);
    }
    for (name, bytes) in images {
        c.file(&format!("images/{name}.bin"), 0o644, bytes);
    }
    c.finish()
}

/// A newc (SVR4, no CRC) cpio archive, the format the kernel unpacks an initramfs from.
#[derive(Default)]
pub struct Cpio {
    out: Vec<u8>,
    ino: u32,
    dirs: Vec<String>,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        self.ino += 1;
        let fields = [self.ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, rdev.0, rdev.1, name.len() as u32 + 1, 0];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }
    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }
    pub fn dir(&mut self, name: &str) {
        if !self.dirs.iter().any(|d| d == name) {
            self.dirs.push(name.to_string());
            self.entry(name, 0o040755, &[], (0, 0));
        }
    }
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, 0o100000 | perm, data, (0, 0));
    }
    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120777, target.as_bytes(), (0, 0));
    }
    pub fn node(&mut self, name: &str, mode: u32, major: u32, minor: u32) {
        self.entry(name, mode, &[], (major, minor));
    }
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[], (0, 0));
        self.out
    }
}

/// One entry of a newc archive, read back (for tests and for checking what was written).
#[derive(Debug)]
pub struct CpioEntry {
    pub name: String,
    pub mode: u32,
    pub data: Vec<u8>,
    pub rdev: (u32, u32),
}

/// Reads a newc archive up to its trailer.
pub fn read_cpio(b: &[u8]) -> Result<Vec<CpioEntry>> {
    let mut at = 0;
    let mut out = Vec::new();
    let align = |x: usize| x.div_ceil(4) * 4;
    loop {
        let h = b.get(at..at + 110).ok_or_else(|| anyhow!("cpio: truncated header at {at}"))?;
        ensure!(&h[..6] == b"070701", "cpio: no newc magic at {at}");
        let field = |i: usize| u32::from_str_radix(std::str::from_utf8(&h[6 + 8 * i..14 + 8 * i]).unwrap_or("x"), 16);
        let f: Vec<u32> = (0..13).map(field).collect::<Result<_, _>>().map_err(|_| anyhow!("cpio: bad header field at {at}"))?;
        let name_len = f[11] as usize;
        let name_bytes = b.get(at + 110..at + 110 + name_len).ok_or_else(|| anyhow!("cpio: truncated name at {at}"))?;
        let name = String::from_utf8_lossy(&name_bytes[..name_len.saturating_sub(1)]).into_owned();
        let data_at = align(at + 110 + name_len);
        let data = b.get(data_at..data_at + f[6] as usize).ok_or_else(|| anyhow!("cpio: truncated data of {name}"))?.to_vec();
        at = align(data_at + f[6] as usize);
        if name == "TRAILER!!!" {
            return Ok(out);
        }
        out.push(CpioEntry { name, mode: f[1], data, rdev: (f[9], f[10]) });
    }
}

/// The machine: Linux (root cell) with the initramfs ivcbench makes for this run.
pub(crate) fn boot(spec: &RunSpec, root: &Path, capture: &Path) -> Result<Boot> {
    check_supported(spec)?;
    let board = spec.platform;
    let sys = System::new(Hypervisor::Jailhouse, board, spec.config, Path::new("images"))?;
    sys.check()?;
    let cells = gen::cells(&sys)?;
    let a = artefacts(&spec.jailhouse, root, &cells)?;
    let image_path = build::build_image(root, Hypervisor::Jailhouse, board.name)?;
    let image = std::fs::read(&image_path).with_context(|| format!("reading {}", image_path.display()))?;
    let mut images = Vec::new();
    for c in &cells {
        let mut p = cell_params(spec, c.role)?;
        // A cell cannot turn the machine off; ivcbench stops QEMU at tx's end record.
        p.flags &= !flag::POWER_OFF;
        let mut bytes = image.clone();
        patch_params(&mut bytes, &p)?;
        images.push((c.role.name().to_string(), bytes));
    }
    let dir = run_dir(spec, root);
    std::fs::create_dir_all(&dir)?;
    let initrd = dir.join("initramfs.cpio");
    std::fs::write(&initrd, rootfs(&a, &init_script(&cells), &images)).with_context(|| format!("writing {}", initrd.display()))?;
    let rx_console = rx_console_path(capture);
    let mut c = std::process::Command::new(qemu::binary());
    let cpus = format!("{}", board.cores);
    let mem = format!("{}M", board.ram_size >> 20);
    c.args(["-machine", "virt,gic-version=3,virtualization=on,its=off", "-cpu", "cortex-a57", "-smp", &cpus, "-m", &mem]);
    c.args(["-display", "none", "-monitor", "none", "-serial", "stdio", "-serial"]).arg(format!("file:{}", rx_console.display()));
    c.arg("-kernel").arg(&a.kernel).arg("-initrd").arg(&initrd);
    // Linux stays below the cells' pool and Jailhouse; its console is uart1 (uart0 is tx's).
    c.args(["-append", &format!("console=ttyAMA1 mem={}M panic=-1", gen::root_linux_mem(board) >> 20), "-no-reboot"]);
    match spec.clock {
        Clock::Icount(n) => c.args(["-icount", &format!("shift={n},sleep=off")]),
        Clock::RealTime => c.args(["-accel", "tcg,thread=multi"]),
    };
    let role_cpu = |r: Role| cells.iter().find(|c| c.role == r).map(|c| c.cpus.trailing_zeros());
    Ok(Boot {
        cmd: c,
        start: vec![START_KEY],
        placement: format!(
            "Jailhouse ({}), Linux root cell ({}) on CPU 0; one cell per role: tx CPU {:?}, rx CPU {:?}{}; \
             root, hypervisor and rx console (uart1) in {}",
            spec.jailhouse.tree.as_deref().unwrap_or(Path::new("?")).display(),
            a.kernel.display(),
            role_cpu(Role::Tx).unwrap_or(0),
            role_cpu(Role::Rx).unwrap_or(0),
            role_cpu(Role::Interf).map(|c| format!(", interf CPU {c}")).unwrap_or_default(),
            rx_console.display()
        ),
        stays_up: true,
        after_end: Vec::new(),
        verify: None,
    })
}

/// A failed Jailhouse run's error, with what the root console (uart1) said: the init's steps and
/// the last lines of the driver, Jailhouse and rx. Other hypervisors' errors pass unchanged.
pub fn explain(spec: &RunSpec, capture: &Path, r: Result<()>) -> Result<()> {
    let Err(e) = r else { return Ok(()) };
    if spec.hypervisor != Hypervisor::Jailhouse {
        return Err(e);
    }
    let console = std::fs::read(rx_console_path(capture)).unwrap_or_default();
    // uart0 is tx's alone: silence there says tx never spoke, not that nothing booted.
    let silent = std::fs::metadata(capture).map(|m| m.len() == 0).unwrap_or(true);
    let tx = if silent { "\ntx's console (uart0) stayed silent: the root cell booted, but tx never started or never spoke" } else { "" };
    match root_console_summary(&String::from_utf8_lossy(&console)) {
        Some(s) => Err(anyhow!("{e:#}{tx}\n{s}")),
        None => Err(e.context(format!("the root console {} is empty", rx_console_path(capture).display()))),
    }
}

/// The lines of the root console that say how far the start got and why it stopped: the last
/// step the init announced, a failure line, and the last lines printed.
pub fn root_console_summary(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return None;
    }
    let mut s = String::new();
    let last_step = lines.iter().rposition(|l| l.contains(MARK));
    match last_step.map(|i| lines[i]) {
        Some(l) if l.contains(FAILED) => {
            s += &format!("the root cell's init failed: {}\n", l[l.find(FAILED).unwrap_or(0) + FAILED.len()..].trim())
        }
        Some(l) => s += &format!("the root cell's init got as far as: {}\n", l[l.find(MARK).unwrap_or(0) + MARK.len()..].trim()),
        None => s += "the root cell's init never started (the kernel did not get that far)\n",
    }
    // What Jailhouse or the kernel reported as a fault, wherever it is: a root cell stuck after
    // it prints stall reports for ever, which would push it out of the last lines.
    let fault = ["FATAL:", "Unhandled ", "Kernel panic", "Internal error", "Unable to handle"];
    if let Some(l) = lines.iter().find(|l| fault.iter().any(|f| l.contains(f))) {
        s += &format!("first fault reported: {}\n", l.trim());
    }
    // The lines right after the last step (what the driver and Jailhouse said about it), then the
    // last lines printed.
    s += "root console (uart1):\n";
    // A failed step's own output lies between its announcement and the failure line.
    let from = match last_step {
        Some(i) if lines[i].contains(FAILED) => lines[..i].iter().rposition(|l| l.contains(MARK)).unwrap_or(i),
        Some(i) => i,
        None => 0,
    };
    let window = (from + 16).min(lines.len());
    let tail = lines.len().saturating_sub(8).max(window);
    for l in &lines[from..window] {
        s += &format!("  | {l}\n");
    }
    if tail > window {
        s += "  | …\n";
    }
    for l in &lines[tail..] {
        s += &format!("  | {l}\n");
    }
    Some(s.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_round_trips_files_links_and_nodes() {
        let mut c = Cpio::default();
        c.dir("bin");
        c.dir("bin");
        c.file("bin/busybox", 0o755, b"abc");
        c.symlink("bin/sh", "busybox");
        c.node("dev/console", 0o020600, 5, 1);
        let b = c.finish();
        assert_eq!(b.len() % 4, 0);
        let e = read_cpio(&b).unwrap();
        let names: Vec<&str> = e.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["bin", "bin/busybox", "bin/sh", "dev/console"]);
        assert_eq!((e[1].mode, e[1].data.as_slice()), (0o100755, b"abc".as_slice()));
        assert_eq!((e[2].mode, e[2].data.as_slice()), (0o120777, b"busybox".as_slice()));
        assert_eq!((e[3].mode, e[3].rdev), (0o020600, (5, 1)));
        assert!(read_cpio(&b[..b.len() - 8]).is_err());
    }

    use crate::names::Configuration;
    use ivc_proto::platform::QEMU_VIRT;

    fn cells_of(config: &str) -> Vec<Cell> {
        let sys = System::new(Hypervisor::Jailhouse, &QEMU_VIRT, Configuration::parse(config).unwrap(), Path::new("images")).unwrap();
        gen::cells(&sys).unwrap()
    }

    /// A compiled cell as Jailhouse's headers lay it out (struct jailhouse_cell_desc, the CPU set,
    /// the memory regions; what follows them is not read). Jailhouse's compiler is not here.
    fn encode(c: &Cell) -> Vec<u8> {
        let mems: Vec<[u64; 4]> = c.mems.iter().map(|m| [m.phys, m.virt, m.size, gen::mem_flags(m.flags).unwrap()]).collect();
        encode_desc(&c.name, c.cpus, c.reset, c.ivshmem.is_some() as u32, &mems)
    }

    fn encode_desc(name: &str, cpus: u64, reset: u64, pci: u32, mems: &[[u64; 4]]) -> Vec<u8> {
        let mut b = vec![0u8; CELL_HEADER];
        b[..5].copy_from_slice(b"JHCLL");
        b[5] = ARCH_ARM64;
        b[6..8].copy_from_slice(&CONFIG_REVISION.to_le_bytes());
        b[8..8 + name.len()].copy_from_slice(name.as_bytes());
        b[48..52].copy_from_slice(&8u32.to_le_bytes());
        b[52..56].copy_from_slice(&(mems.len() as u32).to_le_bytes());
        b[68..72].copy_from_slice(&pci.to_le_bytes());
        b[84..92].copy_from_slice(&reset.to_le_bytes());
        b.extend(cpus.to_le_bytes());
        for m in mems {
            m.iter().for_each(|v| b.extend(v.to_le_bytes()));
        }
        b
    }

    /// A system configuration: the header fields checked, then the root cell's description.
    fn encode_root(cpus: u64, ram: [u64; 4]) -> Vec<u8> {
        let mut root = b"JHSYS\x02".to_vec();
        root.extend(CONFIG_REVISION.to_le_bytes());
        root.extend([0u8; 4]);
        root.extend(gen::HYPERVISOR_MEMORY.base.to_le_bytes());
        root.extend([0u8; 8]);
        root.extend(gen::HYPERVISOR_MEMORY.size.to_le_bytes());
        root.extend([0u8; 100]);
        root.extend(encode_desc(gen::ROOT_CELL_NAME, cpus, 0, 0, &[[0x0900_0000, 0x0900_0000, 0x3700_0000, 0x13], ram]));
        root
    }

    fn elf(kind: u16, extra: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[16..18].copy_from_slice(&kind.to_le_bytes());
        b[18..20].copy_from_slice(&183u16.to_le_bytes());
        b.extend_from_slice(extra);
        b
    }

    fn image(release: &str) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[56..60].copy_from_slice(b"ARM\x64");
        b.extend_from_slice(format!("Linux version {release} (gcc) #1 SMP").as_bytes());
        b
    }

    /// A tree, a kernel and compiled cells as a user would pass them, the busybox beside.
    fn fake_artefacts(dir: &Path, config: &str) -> Paths {
        let tree = dir.join("jailhouse");
        for d in ["driver", "hypervisor", "tools", "cells", "bb"] {
            std::fs::create_dir_all(tree.join(d)).unwrap();
        }
        std::fs::write(tree.join("driver/jailhouse.ko"), elf(ET_REL, b"vermagic=6.1.192 SMP mod_unload aarch64\0name=jailhouse\0"))
            .unwrap();
        std::fs::write(tree.join("hypervisor/jailhouse.bin"), b"JAILHOUS rest").unwrap();
        std::fs::write(tree.join("tools/jailhouse"), elf(ET_EXEC, b"")).unwrap();
        std::fs::write(tree.join("bb/busybox"), elf(ET_EXEC, b"")).unwrap();
        std::fs::write(dir.join("Image"), image("6.1.192")).unwrap();
        std::fs::write(tree.join("cells/root.cell"), encode_root(0xf, ROOT_RAM)).unwrap();
        for c in cells_of(config) {
            std::fs::write(tree.join(format!("cells/{}.cell", c.role.name())), encode(&c)).unwrap();
        }
        Paths {
            tree: Some(tree.clone()),
            kernel: Some(dir.join("Image")),
            cells: Some(tree.join("cells")),
            busybox: Some(tree.join("bb/busybox")),
        }
    }

    /// The generated root cell's RAM region: 0x40000000 up to Jailhouse's memory.
    const ROOT_RAM: [u64; 4] = [0x4000_0000, 0x4000_0000, 0x3fc0_0000, 0x7];

    fn refusal(p: &Paths, config: &str) -> String {
        match artefacts(p, Path::new("."), &cells_of(config)) {
            Ok(_) => panic!("accepted"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn artefacts_are_read_and_checked_and_each_wrong_one_is_named() {
        let d = tempfile::tempdir().unwrap();
        let p = fake_artefacts(d.path(), "notif+interf");
        let a = artefacts(&p, Path::new("."), &cells_of("notif+interf")).unwrap();
        let names: Vec<&str> = a.cells.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["root", "tx", "rx", "interf"]);
        assert!(a.libs.is_empty(), "a static tool needs no loader");
        // Nothing given, then each path in turn.
        let e = refusal(&Paths::default(), "notif");
        assert!(e.contains("pass --jailhouse <tree>"), "{e}");
        let e = refusal(&Paths { kernel: None, ..p.clone() }, "notif");
        assert!(e.contains("pass --jailhouse-kernel"), "{e}");
        let e = refusal(&Paths { cells: None, ..p.clone() }, "notif");
        assert!(e.contains("pass --jailhouse-cells"), "{e}");
        let e = refusal(&Paths { tree: Some(d.path().join("nowhere")), ..p.clone() }, "notif");
        assert!(e.contains("not a directory"), "{e}");
        // A kernel that is not an Image, a driver for another kernel, a tool for another machine.
        std::fs::write(d.path().join("Image"), b"not a kernel").unwrap();
        assert!(refusal(&p, "notif").contains("not an arm64 Linux Image"));
        std::fs::write(d.path().join("Image"), image("6.1.193")).unwrap();
        let e = refusal(&p, "notif");
        assert!(e.contains("the driver was built for Linux 6.1.192, but --jailhouse-kernel is 6.1.193"), "{e}");
        std::fs::write(d.path().join("Image"), image("6.1.192")).unwrap();
        let tree = p.tree.clone().unwrap();
        let mut x86 = elf(ET_EXEC, b"");
        x86[18] = 62;
        std::fs::write(tree.join("tools/jailhouse"), x86).unwrap();
        assert!(refusal(&p, "notif").contains("not built for aarch64"));
        std::fs::write(tree.join("tools/jailhouse"), elf(ET_EXEC, b"")).unwrap();
        std::fs::remove_file(tree.join("hypervisor/jailhouse.bin")).unwrap();
        let e = refusal(&p, "notif");
        assert!(e.contains("the Jailhouse firmware") && e.contains("pass --jailhouse <built tree>"), "{e}");
        std::fs::write(tree.join("hypervisor/jailhouse.bin"), b"JAILHOUS").unwrap();
        // Cells of another configuration: notif's tx has no status page, notif+interf's has.
        let e = refusal(&p, "notif");
        assert!(e.contains("tx.cell is not the cell ivcbench generates") && e.contains("8 memory regions, expected 7"), "{e}");
        let q = fake_artefacts(d.path(), "notif");
        let e = refusal(&q, "notif+interf");
        assert!(e.contains("interf.cell") || e.contains("7 memory regions, expected 8"), "{e}");
        // Found live: a root cell without every CPU (enable hangs), and one whose RAM stops short
        // of the cells' pool (loading an image faults the root cell).
        let cells = q.cells.clone().unwrap();
        std::fs::write(cells.join("root.cell"), encode_root(0b11, ROOT_RAM)).unwrap();
        let e = refusal(&q, "notif");
        assert!(e.contains("root.cell") && e.contains("CPU set 0b11, but the machine has 4 CPUs"), "{e}");
        std::fs::write(cells.join("root.cell"), encode_root(0xf, [0x4000_0000, 0x4000_0000, 0x3000_0000, 0x7])).unwrap();
        let e = refusal(&q, "notif");
        assert!(e.contains("no RAM region of the root cell covers ivc-tx's RAM 0x70000000+0x4000000"), "{e}");
        std::fs::write(cells.join("root.cell"), encode_root(0xf, ROOT_RAM)).unwrap();
        // One region moved.
        let mut c = cells_of("notif");
        c[1].mems[1].phys += 0x1000;
        std::fs::write(q.cells.clone().unwrap().join("rx.cell"), encode(&c[1])).unwrap();
        let e = refusal(&q, "notif");
        assert!(e.contains("rx.cell") && e.contains("memory region 1 (RAM)"), "{e}");
    }

    #[test]
    fn the_rootfs_holds_busybox_the_jailhouse_parts_the_cells_and_the_patched_images() {
        let d = tempfile::tempdir().unwrap();
        let p = fake_artefacts(d.path(), "notif+interf");
        let mut a = artefacts(&p, Path::new("."), &cells_of("notif+interf")).unwrap();
        a.libs = vec![("/lib/ld-linux-aarch64.so.1".into(), b"ld".to_vec()), ("/lib/libc.so.6".into(), b"libc".to_vec())];
        let cells = cells_of("notif+interf");
        let images: Vec<(String, Vec<u8>)> = cells.iter().map(|c| (c.role.name().to_string(), c.role.name().as_bytes().to_vec())).collect();
        let init = init_script(&cells);
        let entries = read_cpio(&rootfs(&a, &init, &images)).unwrap();
        let get = |n: &str| entries.iter().find(|e| e.name == n).unwrap_or_else(|| panic!("{n} missing"));
        assert_eq!(get("init").data, init.as_bytes());
        assert_eq!(get("init").mode, 0o100755);
        assert_eq!((get("dev/console").mode, get("dev/console").rdev), (0o020600, (5, 1)));
        assert_eq!(get("bin/sh").data, b"busybox");
        assert_eq!(get("lib/modules/jailhouse.ko").data, a.module);
        assert_eq!(get("lib/firmware/jailhouse.bin").data, a.firmware);
        assert_eq!(get("bin/jailhouse").mode, 0o100755);
        assert_eq!(get("lib/ld-linux-aarch64.so.1").data, b"ld");
        for r in ["root", "tx", "rx", "interf"] {
            assert!(!get(&format!("cells/{r}.cell")).data.is_empty());
        }
        for r in ["tx", "rx", "interf"] {
            assert_eq!(get(&format!("images/{r}.bin")).data, r.as_bytes());
        }
        // Every directory comes before what is in it.
        for (i, e) in entries.iter().enumerate() {
            if let Some(parent) = Path::new(&e.name).parent().filter(|p| !p.as_os_str().is_empty()) {
                let at = entries.iter().position(|d| Path::new(&d.name) == parent).unwrap_or_else(|| panic!("{}: no parent", e.name));
                assert!(at < i && entries[at].mode == 0o040755, "{}", e.name);
            }
        }
    }

    #[test]
    fn the_init_enables_jailhouse_creates_every_cell_then_loads_and_starts_them_and_names_a_failure() {
        let init = init_script(&cells_of("transfer+interf"));
        let lines: Vec<&str> = init.lines().collect();
        let at = |cmd: &str| lines.iter().position(|l| l.starts_with(cmd)).unwrap_or_else(|| panic!("{cmd}:\n{init}"));
        let order = [
            "mount -t devtmpfs devtmpfs /dev",
            "insmod /lib/modules/jailhouse.ko || fail",
            "jailhouse enable /cells/root.cell || fail",
            "enabled=1",
            "jailhouse cell create /cells/interf.cell || fail",
            "jailhouse cell create /cells/rx.cell || fail",
            "jailhouse cell create /cells/tx.cell || fail",
            "jailhouse cell load ivc-interf /images/interf.bin -a 0x40080000 || fail",
            "jailhouse cell start ivc-interf || fail",
            "jailhouse cell load ivc-rx /images/rx.bin -a 0x40080000 || fail",
            "jailhouse cell start ivc-rx || fail",
            "jailhouse cell load ivc-tx /images/tx.bin -a 0x40080000 || fail",
            "jailhouse cell start ivc-tx || fail",
            "step \"cells started\"",
            "while :; do sleep 3600; done",
        ];
        let pos: Vec<usize> = order.iter().map(|c| at(c)).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{init}");
        // Each step is announced before it runs, and a failure names it and leaves Jailhouse.
        assert_eq!(lines[at("jailhouse cell start ivc-tx") - 1], "step \"jailhouse cell start ivc-tx\"");
        assert!(init.contains(&format!("echo \"{FAILED} $*\"\n\t[ -n \"$enabled\" ] && jailhouse disable\n")), "{init}");
        assert!(init.starts_with("#!/bin/sh\n"));
        let init = init_script(&cells_of("notif"));
        assert!(!init.contains("interf"), "{init}");
    }

    #[test]
    fn elf_interpreter_and_needed_libraries_are_read() {
        // One PT_LOAD (file = memory), a PT_INTERP and a PT_DYNAMIC naming libc.so.6.
        let mut b = elf(ET_DYN, &[]);
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[56..58].copy_from_slice(&3u16.to_le_bytes());
        let strtab = 64 + 3 * 56;
        let strs = b"\0libc.so.6\0/lib/ld-linux-aarch64.so.1\0";
        let dynamic = strtab + strs.len() + (8 - strs.len() % 8) % 8;
        let ph = |t: u32, off: usize, size: usize| {
            let mut h = vec![0u8; 56];
            h[..4].copy_from_slice(&t.to_le_bytes());
            h[8..16].copy_from_slice(&(off as u64).to_le_bytes());
            h[16..24].copy_from_slice(&(off as u64).to_le_bytes());
            h[32..40].copy_from_slice(&(size as u64).to_le_bytes());
            h
        };
        b.extend(ph(1, 0, 4096));
        b.extend(ph(3, strtab + 11, 28));
        b.extend(ph(2, dynamic, 48));
        b.extend_from_slice(strs);
        b.resize(dynamic, 0);
        for v in [1u64, 1, 5, strtab as u64, 0, 0] {
            b.extend(v.to_le_bytes());
        }
        let e = Elf::parse(&b).unwrap();
        assert_eq!((e.kind, e.interp.as_deref(), e.needed), (ET_DYN, Some("/lib/ld-linux-aarch64.so.1"), vec!["libc.so.6".to_string()]));
        assert!(Elf::parse(b"#!/bin/sh\n").is_err());
    }

    #[test]
    fn root_console_summary_names_the_failed_step() {
        let text = "Booting Linux\r\nivcbench-jailhouse: loading the driver\r\nivcbench-jailhouse: enabling Jailhouse\r\n\
                    JAILHOUSE_ENABLE: Invalid argument\r\nivcbench-jailhouse: FAILED: jailhouse enable /cells/root.cell\r\n";
        let s = root_console_summary(text).unwrap();
        assert!(s.starts_with("the root cell's init failed: jailhouse enable /cells/root.cell\n"), "{s}");
        assert!(s.contains("  | JAILHOUSE_ENABLE: Invalid argument\n"), "{s}");
        let s = root_console_summary("[ 0.0] Booting Linux\n").unwrap();
        assert!(s.contains("never started"), "{s}");
        let s = root_console_summary("ivcbench-jailhouse: cells started\nUnhandled data read at 0x9000018\n").unwrap();
        assert!(s.starts_with("the root cell's init got as far as: cells started\n"), "{s}");
        assert!(s.ends_with("  | Unhandled data read at 0x9000018"), "{s}");
        assert!(root_console_summary("\r\n\n").is_none());
        // Found live: a root cell that faults in Jailhouse then prints RCU stall reports for ever;
        // the fault right after the step must stay in view, not only the last lines.
        let mut text = String::from("boot\nivcbench-jailhouse: jailhouse cell load ivc-rx /images/rx.bin -a 0x40080000\n");
        text += "Cell \"ivc-rx\" can be loaded\nUnhandled data write at 0x74080000(1)\n\nFATAL: unhandled trap (exception class 0x24)\n";
        for i in 0..200 {
            text += &format!("[ {i}.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n");
        }
        let s = root_console_summary(&text).unwrap();
        assert!(s.contains("first fault reported: Unhandled data write at 0x74080000(1)\n"), "{s}");
        assert!(s.contains("  | Unhandled data write at 0x74080000(1)\n  | FATAL: unhandled trap (exception class 0x24)\n"), "{s}");
        assert!(s.contains("  | …\n") && s.ends_with("  | [ 199.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"), "{s}");
        assert!(s.lines().count() < 30, "{s}");
    }
}
