//! The Xen testbed: Debian's Xen 4.17 booting dom0less (no dom0) under QEMU `virt`.
//!
//! Xen takes its domUs from the device tree, so [`prepare`] dumps QEMU's own DT, adds under
//! `/chosen` the Xen command line and one `xen,domain` node per domU, and returns the QEMU command
//! that boots Xen with the domU images placed in RAM by `-device loader`. `dtc` does the DTB↔DTS
//! round trip. See docs/testbed-xen.md for what the console looks like and how input reaches a domU.

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
}

/// Xen's command line. `xsm=dummy`: the default XSM policy (SILO) forbids domU↔domU event
/// channels and grants. `guest_loglvl=all`: guest-tagged messages (a domU's console_io
/// hypercall, Xen's warnings about a domU) are otherwise rate-limited or dropped. vpl011 output
/// itself is printed at the default level, which is never rate-limited.
pub const BOOTARGS: &str = "console=dtuart dtuart=/pl011@9000000 xsm=dummy guest_loglvl=all";

/// Bytes that, written to QEMU's stdin once Xen has booted, put one `s` in DOM1's vpl011 receive
/// FIFO and give the input focus back to Xen. After boot the focus is on (the absent) DOM0; each
/// CTRL-a CTRL-a CTRL-a moves it on: DOM1, DOM2, …, DOMn, Xen. While a domU has the focus Xen
/// prints its output without the `(XEN) DOMn: ` prefix, so the focus must not stay there.
/// Assumes three domUs (the trailing switches go DOM1 → DOM2 → DOM3 → Xen).
pub const START_DOM1: &[u8] = b"\x01\x01\x01s\x01\x01\x01\x01\x01\x01\x01\x01\x01";

/// The bytes that send `byte` to DOM1 and then return the focus to Xen, for `domains` domUs.
pub fn input_to_dom1(byte: u8, domains: usize) -> Vec<u8> {
    let mut v = vec![1, 1, 1, byte];
    v.extend(std::iter::repeat_n(1, 3 * domains));
    v
}

/// Where the first domU image goes: well above Xen (loaded at 0x40200000) and QEMU's DTB
/// (0x48000000), inside the 2 GiB of RAM at 0x40000000.
const LOAD_BASE: u64 = 0x5000_0000;
/// Images are placed on 2 MiB boundaries, as a Linux Image prefers.
const LOAD_ALIGN: u64 = 2 << 20;

/// Path of Xen from Debian's package, unpacked by scripts/setup.sh.
pub fn find_xen(root: &Path) -> Result<PathBuf> {
    let xen = root.join(".cache/xen/boot/xen-4.17-arm64");
    ensure!(
        xen.is_file(),
        "{} not found: run scripts/setup.sh (it downloads and unpacks Debian's xen-hypervisor-4.17-arm64)",
        xen.display()
    );
    Ok(xen)
}

/// Writes `<work>/xen.dtb` and returns the QEMU command that boots Xen with `domains`.
/// `icount`: `Some(n)` for `-icount shift=n,sleep=off` (deterministic), `None` for real-time MTTCG.
pub fn prepare(qemu: &str, xen: &Path, domains: &[Domain], work: &Path, icount: Option<u8>) -> Result<Command> {
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
    std::fs::write(&xen_dts, dts + &chosen_dts(domains, &addrs, &sizes))?;
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
/// because Xen creates the domains, and so numbers them, in DT order.
fn chosen_dts(domains: &[Domain], addrs: &[u64], sizes: &[u64]) -> String {
    let cells = |v: u64| format!("{:#x} {:#x}", v >> 32, v & 0xffff_ffff);
    let mut s = String::from("\n/ {\n\tchosen {\n");
    s += "\t\t/delete-property/ rng-seed;\n\t\t/delete-property/ kaslr-seed;\n";
    s += "\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n";
    let _ = writeln!(s, "\t\txen,xen-bootargs = \"{BOOTARGS}\";");
    for ((d, a), n) in domains.iter().zip(addrs).zip(sizes) {
        let _ = write!(
            s,
            "\t\tdomU-{role} {{\n\t\t\tcompatible = \"xen,domain\";\n\t\t\t#address-cells = <2>;\n\t\t\t#size-cells = <2>;\n\
             \t\t\tcpus = <1>;\n\t\t\tmemory = <{mem}>; /* KiB */\n\t\t\tvpl011;\n\
             \t\t\tmodule@{a:x} {{\n\t\t\t\tcompatible = \"multiboot,kernel\", \"multiboot,module\";\n\
             \t\t\t\treg = <{addr} {size}>;\n\t\t\t}};\n\t\t}};\n",
            role = d.role,
            mem = cells(d.memory_mib * 1024),
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
        ["tx", "rx", "interf"].map(|role| Domain { role, image: PathBuf::from(role), memory_mib: 16 }).into()
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
        let s = chosen_dts(&d, &load_addresses(&[368, 368, 368]), &[368, 368, 368]);
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

    #[test]
    fn input_reaches_dom1_and_focus_returns_to_xen() {
        assert_eq!(input_to_dom1(b's', 3), START_DOM1);
    }

    #[test]
    fn missing_xen_names_setup() {
        let e = find_xen(Path::new("/nonexistent")).unwrap_err().to_string();
        assert!(e.contains("scripts/setup.sh") && e.contains("/nonexistent/.cache/xen/boot/xen-4.17-arm64"));
    }
}
