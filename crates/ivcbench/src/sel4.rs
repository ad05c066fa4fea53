//! seL4 (the CAmkES VMM) on the QEMU testbed, from a system image the user built (seL4, CAmkES
//! and the VMM are not part of ivcbench; docs/sel4.md says how): the capDL loader image
//! (`images/capdl-loader-image-arm-qemu-arm-virt` of a build of the application `ivcbench config
//! --hypervisor sel4 --platform qemu-virt` writes). It bundles the kernel, the capDL loader and
//! the components; the VMs' images sit in the file server's CPIO archive under their role names
//! (`tx`, `rx`, `interf`), stored as they are. ivcbench finds them there, checks that they are
//! this cell's seL4 guests, and patches the run's parameters into each in a copy of the image.
//!
//! The machine is the one seL4's build took its device tree from (QEMU `virt` with its default
//! GICv2, EL2 available, 2 GiB, four Cortex-A53s, two PL011s): seL4 compiles that device tree in,
//! so the command line must not differ. tx's console is the first PL011 (shared with seL4's own
//! boot messages), rx's the second, written raw beside the capture.

use crate::build;
use crate::qemu::{self, Clock};
use crate::run::{rx_console_path, RunSpec};
use crate::testbed::{cell_params, run_dir, Boot};
use anyhow::{bail, Context, Result};
use ivc_proto::capture::START_KEY;
use ivc_proto::params::{self, flag, Role};
use ivc_proto::platform::QEMU_VIRT;
use ivc_proto::vm::{view, Hyp};
use std::ops::Range;

/// QEMU's memory and cores for seL4's qemu-arm-virt build (the generated settings.cmake sets
/// QEMU_MEMORY 2048 and four nodes; seL4's device tree was dumped from this machine).
pub const QEMU_MEMORY_MIB: u32 = 2048;
pub const QEMU_CPUS: u32 = 4;
/// The default wait for tx's prompt: the capDL loader creates every object of the system (tens of
/// thousands of frames for three VMs and the dataport) before a VM starts, about 40 s of wall time
/// on an idle 2-core host under icount, several times that on a busy one.
pub const BOOT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// One file of a CPIO archive (newc format, the one seL4's build tools write) found in an image:
/// its name and where its data lies in the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub data: Range<usize>,
}

/// Every newc CPIO entry in `image`, nested archives included (the file server's archive lies
/// inside a component's ELF, inside the loader's archive): each `070701` header that parses.
pub fn cpio_entries(image: &[u8]) -> Vec<Entry> {
    const MAGIC: &[u8] = b"070701";
    const HEADER: usize = 110;
    let hex = |b: &[u8]| -> Option<usize> { usize::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok() };
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(off) = image[at..].windows(MAGIC.len()).position(|w| w == MAGIC) {
        let h = at + off;
        at = h + 1;
        let Some(header) = image.get(h..h + HEADER) else { break };
        // Fields: magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
        // rdevmajor, rdevminor, namesize, check (8 hex digits each after the magic).
        let field = |i: usize| hex(&header[6 + 8 * i..6 + 8 * (i + 1)]);
        let (Some(size), Some(namesize)) = (field(6), field(11)) else { continue };
        if namesize == 0 || namesize > 4096 {
            continue;
        }
        let name_end = h + HEADER + namesize;
        let Some(name) = image.get(h + HEADER..name_end - 1) else { continue };
        if image.get(name_end - 1) != Some(&0) {
            continue;
        }
        let Ok(name) = std::str::from_utf8(name) else { continue };
        // Name and data are padded to 4 bytes from the header (archives need not be aligned
        // in the image).
        let start = h + (HEADER + namesize).next_multiple_of(4);
        if start + size > image.len() {
            continue;
        }
        out.push(Entry { name: name.to_string(), data: start..start + size });
    }
    out
}

/// What the image holds for each role: the entry's data range. Checks that the image is a seL4
/// system image (an ELF with seL4's kernel in its archive) whose VM images are ivcbench's seL4
/// guests for QEMU `virt`, one per role, each with one parameter block of its own role.
pub fn guest_images(image: &[u8]) -> Result<Vec<(Role, Range<usize>)>> {
    if image.get(..4) != Some(b"\x7fELF".as_slice()) {
        bail!("not a seL4 system image: no ELF header (pass images/capdl-loader-image-arm-qemu-arm-virt of your build)");
    }
    let entries = cpio_entries(image);
    if !entries.iter().any(|e| e.name == "kernel.elf") {
        bail!("not a seL4 system image: no seL4 kernel (kernel.elf) in its archive (pass images/capdl-loader-image-arm-qemu-arm-virt)");
    }
    let sel4_view = view(Hyp::Sel4, QEMU_VIRT);
    let text_offset = sel4_view.load_addr - sel4_view.ram_base;
    let mut out: Vec<(Role, Range<usize>)> = Vec::new();
    for e in entries.iter().filter(|e| ["tx", "rx", "interf"].contains(&e.name.as_str())) {
        let data = &image[e.data.clone()];
        if data.get(56..60) != Some(b"ARM\x64".as_slice()) {
            bail!("the VM image `{}` inside is not an ivcbench guest (no arm64 Image header)", e.name);
        }
        // The header's text_offset is where the image expects to sit above the start of RAM;
        // seL4's VMM loads and enters it at the start, where only the seL4 build is linked.
        let off = u64::from_le_bytes(data[8..16].try_into().expect("8 bytes"));
        if off != text_offset {
            bail!(
                "the VM image `{}` inside was not built for seL4 on qemu-virt (it is linked {off:#x} above the start of RAM, \
                 seL4's VMM enters it at the start): rebuild the seL4 image with the images of \
                 `ivcbench config --hypervisor sel4 --platform qemu-virt`",
                e.name
            );
        }
        let blocks: Vec<usize> =
            data.windows(params::MAGIC.len()).enumerate().filter(|(_, w)| *w == params::MAGIC).map(|(i, _)| i).collect();
        let [at] = blocks.as_slice() else {
            bail!("the VM image `{}` inside has {} parameter blocks; an ivcbench guest has one", e.name, blocks.len())
        };
        let block: [u8; params::SIZE] = data.get(*at..*at + params::SIZE).and_then(|b| b.try_into().ok()).context("cut-off block")?;
        let p = params::Params::decode(&block).map_err(|err| anyhow::anyhow!("the VM image `{}` inside: {err}", e.name))?;
        if p.role.name() != e.name {
            bail!("the VM image `{}` inside is a {} image", e.name, p.role.name());
        }
        if out.iter().any(|(r, _)| *r == p.role) {
            bail!("the image holds two VM images named `{}`", e.name);
        }
        out.push((p.role, e.data.clone()));
    }
    Ok(out)
}

/// Patches `spec`'s parameters into each VM image of `image` (a copy of the user's seL4 image);
/// refuses an image built for another cell (its VMs are not tx, rx and, with `+interf` only,
/// interf).
pub fn patch_image(image: &mut [u8], spec: &RunSpec) -> Result<Vec<Role>> {
    let guests = guest_images(image)?;
    let mut roles: Vec<Role> = guests.iter().map(|(r, _)| *r).collect();
    // The application's order: vm0 tx, vm1 rx, vm2 interf.
    roles.sort_by_key(|r| *r as u8);
    let has = |r: Role| roles.contains(&r);
    if !has(Role::Tx) || !has(Role::Rx) || has(Role::Interf) != spec.config.suffix.interf {
        bail!(
            "it holds VMs {:?}, but {} needs tx, rx{}: build it from `ivcbench config --hypervisor sel4 --platform qemu-virt --experiment {}`",
            roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
            spec.config,
            if spec.config.suffix.interf { " and interf" } else { " and no interf" },
            spec.config
        );
    }
    for (role, range) in guests {
        let mut p = cell_params(spec, role)?;
        // A VM cannot turn the machine off; ivcbench stops QEMU at tx's end record.
        p.flags &= !flag::POWER_OFF;
        build::patch_params(&mut image[range], &p)?;
    }
    Ok(roles)
}

/// The QEMU command line for `image` (already patched), rx's console going to `rx_console`.
pub fn qemu_command(image: &std::path::Path, rx_console: &std::path::Path, clock: Clock) -> std::process::Command {
    let mut c = std::process::Command::new(qemu::binary());
    c.args(["-machine", "virt,virtualization=on,highmem=off,secure=off,gic-version=2", "-cpu", "cortex-a53"])
        .args(["-smp", &QEMU_CPUS.to_string(), "-m", &QEMU_MEMORY_MIB.to_string()])
        .args(["-display", "none", "-monitor", "none", "-serial", "stdio", "-serial"])
        .arg(format!("file:{}", rx_console.display()))
        .arg("-kernel")
        .arg(image)
        .arg("-no-reboot");
    match clock {
        Clock::Icount(n) => c.args(["-icount", &format!("shift={n},sleep=off")]),
        Clock::RealTime => c.args(["-accel", "tcg,thread=multi"]),
    };
    c
}

/// The machine for a seL4 run: the user's image patched for the cell, on QEMU `virt`.
pub(crate) fn boot(spec: &RunSpec, root: &std::path::Path, capture: &std::path::Path) -> Result<Boot> {
    let Some(path) = &spec.sel4 else {
        bail!(
            "sel4 runs from a seL4 system image you build: pass --sel4 PATH (the capDL loader image of the application \
             `ivcbench config --hypervisor sel4 --platform qemu-virt` writes; docs/sel4.md)"
        )
    };
    let mut image = std::fs::read(path).with_context(|| format!("reading the seL4 image {}", path.display()))?;
    let roles = patch_image(&mut image, spec).with_context(|| format!("{}: patching the VM images inside it", path.display()))?;
    let dir = run_dir(spec, root);
    std::fs::create_dir_all(&dir)?;
    let img = dir.join("capdl-loader-image");
    std::fs::write(&img, &image)?;
    let rx_console = rx_console_path(capture);
    Ok(Boot {
        cmd: qemu_command(&img, &rx_console, spec.clock),
        start: vec![START_KEY],
        placement: format!(
            "seL4 CAmkES VMM ({}), one VM per role, each one vCPU pinned to its core: {}; rx's console in {}",
            path.display(),
            roles
                .iter()
                .enumerate()
                .map(|(i, r)| format!("{} vm{i} core {}", r.name(), QEMU_VIRT.role_cores[i]))
                .collect::<Vec<_>>()
                .join(", "),
            rx_console.display()
        ),
        stays_up: true,
        after_end: Vec::new(),
        verify: None,
    })
}

/// A console line that says why a seL4 run failed (the VMM's fatal log lines and fault reports,
/// the kernel's fault reports), if this is one.
pub fn failure(line: &str) -> Option<&str> {
    const SIGNS: [&str; 6] = ["FATAL", "Unhandled", "vm fault", "Failed to", "Caught cap fault", "halting"];
    SIGNS.iter().any(|s| line.contains(s)).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A newc entry as seL4's tools write it.
    pub(crate) fn newc(name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = format!("070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}", 1, 0o100644, 0, 0, 1, 0);
        h += &format!("{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}", data.len(), 0, 0, 0, 0, name.len() + 1, 0);
        let mut v = h.into_bytes();
        v.extend_from_slice(name.as_bytes());
        v.push(0);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v.extend_from_slice(data);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn cpio_entries_are_found_nested() {
        let inner = [newc("tx", b"hello"), newc("TRAILER!!!", b"")].concat();
        let outer = [b"\x7fELF junk 070701 not a header ".to_vec(), newc("capdl-loader", &inner), newc("kernel.elf", b"k")].concat();
        let e = cpio_entries(&outer);
        let names: Vec<&str> = e.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["capdl-loader", "tx", "TRAILER!!!", "kernel.elf"]);
        assert_eq!(&outer[e[1].data.clone()], b"hello");
        assert_eq!(&outer[e[3].data.clone()], b"k");
    }

    #[test]
    fn failure_lines_are_recognised() {
        assert!(failure("vm0: FATAL: ivcbench: cannot set up the cross-VM connection").is_some());
        assert!(failure("ivcbench-result: tx notif median 1").is_none());
    }
}
