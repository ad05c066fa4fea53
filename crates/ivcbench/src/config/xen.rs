//! Xen on a board, dom0less: the `/chosen` fragment with one `xen,domain` node per VM (to be
//! merged into the board's device tree) and the U-Boot script that loads Xen, that tree and the
//! domU images and boots. The QEMU testbed (crate::xen) writes the same domain nodes for itself.

use super::{System, Vm};
use anyhow::{bail, Result};
use ivc_proto::params::Role;
use std::fmt::Write;

/// Where U-Boot loads things on the ZynqMP boards: clear of ATF/U-Boot at the top of the low 2 GiB
/// and of the guests' own addresses (Xen copies each domU image into the domain's memory).
const DTB_ADDR: u64 = 0x0300_0000;
const XEN_ADDR: u64 = 0x0320_0000;
/// Where the U-Boot script loads the first domU image (the others follow, [`DOMU_SLOT`] apart).
pub const DOMU_BASE: u64 = 0x0400_0000;
/// Each domU image gets a slot this big in the boot modules (ivcbench's images are far smaller;
/// `ivcbench config` checks that the built ones fit).
pub const DOMU_SLOT: u64 = 0x0020_0000;

/// A domain's memory in MiB. tx's domain holds the shared region in its own RAM, above the
/// image (it grants those pages to rx); rx maps them just above its RAM, so rx's must end there.
pub fn memory_mib(sys: &System, vm: &Vm) -> u64 {
    const MIB: u64 = 1 << 20;
    match vm.role {
        Role::Tx | Role::All => (sys.shmem.end() - vm.ram.base).div_ceil(32 * MIB) * 32,
        _ => vm.ram.size / MIB,
    }
}

/// Xen's command line on a board: the console is the board's `serial0` (the DT alias),
/// `xsm=dummy` lifts the default policy's ban on domU↔domU event channels and grants, and
/// `conswitch=ax` keeps the console input on Xen after boot (crate::xen::BOOTARGS).
fn bootargs(colouring: Option<&str>) -> String {
    let mut a = String::from("console=dtuart dtuart=serial0 xsm=dummy guest_loglvl=all conswitch=ax");
    if let Some(c) = colouring {
        a.push(' ');
        a.push_str(c);
    }
    a
}

/// Xen's form of a colour set: `0,1,2`.
pub fn colour_list(c: super::Colours) -> String {
    (0..64).filter(|b| c.0 >> b & 1 == 1).map(|b| b.to_string()).collect::<Vec<_>>().join(",")
}

/// Xen's colouring options for a `+col` cell: the LLC geometry given explicitly (Xen would
/// otherwise probe it, and QEMU models no cache), and with `+hypcol` Xen's own colours (without
/// them Xen keeps colour 0 only).
pub fn colouring_bootargs(sys: &System) -> String {
    // Xen reads a size without a unit as KiB (llc-size=0x100000 would be 1 GiB: 128 colours).
    let ways = format!("llc-coloring=on llc-size={}K llc-nr-ways={}", sys.board.llc.size >> 10, sys.board.llc.ways);
    match sys.hyp_colours {
        Some(h) => format!("{ways} xen-llc-colors={}", colour_list(h)),
        None => ways,
    }
}

/// The files of one cell: `xen-chosen.dtsi` and `boot.cmd`.
pub fn files(sys: &System, colouring_build: bool) -> Result<Vec<(&'static str, String)>> {
    if sys.board.name == "qemu-virt" {
        bail!("Xen on qemu-virt needs no generated files: `ivcbench run --hypervisor xen` writes its device tree itself");
    }
    if sys.config.suffix.col && !colouring_build {
        bail!(
            "{}: Xen needs a build with LLC colouring (upstream 4.20+, CONFIG_LLC_COLORING) for {}; Debian's 4.17 has none. \
             Pass --xen-colouring if yours has it",
            sys.config,
            sys.config.suffix
        );
    }
    let colouring = sys.config.suffix.col.then(|| colouring_bootargs(sys));
    let mut dts = String::new();
    let d = &mut dts;
    let _ =
        writeln!(d, "/* ivcbench cell {} on {}: Xen dom0less domains, in domid order (tx 1, rx 2, interf 3).", sys.config, sys.board.name);
    let _ = writeln!(d, " * Append to the board's DTS and compile: see docs/configs.md. Generated; regenerate rather than edit. */");
    let _ = writeln!(d, "/ {{\n\tchosen {{\n\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;");
    let _ = writeln!(d, "\t\txen,xen-bootargs = \"{}\";", bootargs(colouring.as_deref()));
    let _ = writeln!(d, "\t\txen,dom0-bootargs = \"\";");
    let cells = |v: u64| format!("{:#x} {:#x}", v >> 32, v & 0xffff_ffff);
    let mut script = String::new();
    let s = &mut script;
    let _ = writeln!(s, "# U-Boot script for the ivcbench cell {} on {} under Xen (dom0less).", sys.config, sys.board.name);
    let _ = writeln!(s, "# mkimage -A arm64 -T script -C none -d boot.cmd boot.scr; files from the SD card's first partition.");
    let _ = writeln!(s, "fatload mmc 0 {DTB_ADDR:#x} xen.dtb");
    let _ = writeln!(s, "fatload mmc 0 {XEN_ADDR:#x} xen");
    for (i, vm) in sys.vms.iter().enumerate() {
        let addr = DOMU_BASE + i as u64 * DOMU_SLOT;
        let r = vm.role.name();
        // The SD card holds out/'s tree: images/ next to the script.
        let _ = writeln!(s, "fatload mmc 0 {addr:#x} images/{r}.bin");
        // Pinned as the seed's Xen: the domain alone on its core, in a null-scheduler cpupool
        // (boot-time cpupools; the pool holding core 0 becomes Xen's Pool-0). A Xen without
        // BOOT_TIME_CPUPOOLS ignores the pools.
        let _ = writeln!(d, "\t\tpool_{r}: pool-{r} {{ /* core {} alone */", vm.core);
        let _ = writeln!(d, "\t\t\tcompatible = \"xen,cpupool\";\n\t\t\tcpupool-cpus = <&{{/cpus/cpu@{}}}>;", vm.core);
        let _ = writeln!(d, "\t\t\tcpupool-sched = \"null\";\n\t\t}};");
        let _ = writeln!(d, "\t\tdomU-{r} {{");
        let _ = writeln!(d, "\t\t\tcompatible = \"xen,domain\";\n\t\t\t#address-cells = <2>;\n\t\t\t#size-cells = <2>;");
        let _ = writeln!(d, "\t\t\tcpus = <1>;\n\t\t\tmemory = <{}>; /* KiB */\n\t\t\tvpl011;", cells(memory_mib(sys, vm) * 1024));
        let _ = writeln!(d, "\t\t\tdomain-cpupool = <&pool_{r}>;");
        if let Some(c) = vm.colours {
            let _ = writeln!(d, "\t\t\tllc-colors = \"{}\";", colour_list(c));
        }
        let _ = writeln!(d, "\t\t\tmodule@{addr:x} {{\n\t\t\t\tcompatible = \"multiboot,kernel\", \"multiboot,module\";");
        let _ = writeln!(d, "\t\t\t\treg = <{} {}>;\n\t\t\t}};\n\t\t}};", cells(addr), cells(DOMU_SLOT));
    }
    let _ = writeln!(d, "\t}};\n}};");
    let _ = writeln!(s, "booti {XEN_ADDR:#x} - {DTB_ADDR:#x}");
    Ok(vec![("xen-chosen.dtsi", dts), ("boot.cmd", script)])
}

#[cfg(test)]
mod tests {
    use super::super::{matrix, System};
    use super::*;
    use crate::names::{Configuration, Hypervisor};
    use ivc_proto::platform::{QEMU_VIRT, ZCU102, ZCU104};
    use std::path::Path;

    #[test]
    fn domains_match_the_modules_the_script_loads() {
        for p in [&ZCU104, &ZCU102] {
            for cell in matrix() {
                let sys = System::new(Hypervisor::Xen, p, cell, Path::new("images")).unwrap();
                let files = match files(&sys, false) {
                    Ok(f) => f,
                    Err(e) => {
                        assert!(cell.suffix.col, "{cell}: {e}");
                        assert!(e.to_string().contains("--xen-colouring"));
                        files(&sys, true).unwrap()
                    }
                };
                let (dts, cmd) = (&files[0].1, &files[1].1);
                assert_eq!(dts.matches("compatible = \"xen,domain\";").count(), sys.vms.len());
                for (i, vm) in sys.vms.iter().enumerate() {
                    let addr = DOMU_BASE + i as u64 * DOMU_SLOT;
                    assert!(cmd.contains(&format!("fatload mmc 0 {addr:#x} images/{}.bin", vm.role.name())));
                    assert!(dts.contains(&format!("module@{addr:x} {{")));
                }
                assert_eq!(dts.matches("\tllc-colors = ").count(), if cell.suffix.col { sys.vms.len() } else { 0 });
                assert_eq!(dts.contains("xen-llc-colors=0,1\""), cell.suffix.hypcol, "{dts}");
                // 1 MiB, 16 ways: 16 colours of 64 KiB (Xen's default unit is KiB).
                assert_eq!(dts.contains("llc-coloring=on llc-size=1024K llc-nr-ways=16"), cell.suffix.col, "{dts}");
                assert!(cmd.trim_end().ends_with("booti 0x3200000 - 0x3000000"));
                // Each domain alone on its core in a null-scheduler pool.
                for vm in &sys.vms {
                    let r = vm.role.name();
                    assert!(
                        dts.contains(&format!("cpupool-cpus = <&{{/cpus/cpu@{}}}>;\n\t\t\tcpupool-sched = \"null\";", vm.core)),
                        "{dts}"
                    );
                    assert!(dts.contains(&format!("pool_{r}: pool-{r} {{")) && dts.contains(&format!("domain-cpupool = <&pool_{r}>;")));
                }
                assert_eq!(dts.matches("xen,cpupool").count(), sys.vms.len());
                assert!(dts.contains("conswitch=ax"));
                assert_eq!(dts.matches('{').count(), dts.matches('}').count());
            }
        }
    }

    #[test]
    fn tx_holds_the_shared_region_and_rx_ends_below_it() {
        let sys = System::new(Hypervisor::Xen, &ZCU104, Configuration::parse("notif").unwrap(), Path::new("i")).unwrap();
        let (tx, rx) = (&sys.vms[0], &sys.vms[1]);
        assert!(tx.ram.base + memory_mib(&sys, tx) * (1 << 20) >= sys.shmem.end());
        assert!(rx.ram.base + memory_mib(&sys, rx) * (1 << 20) <= sys.shmem.base);
    }

    #[test]
    fn qemu_virt_is_the_testbeds_own() {
        let sys = System::new(Hypervisor::Xen, &QEMU_VIRT, Configuration::parse("notif").unwrap(), Path::new("i")).unwrap();
        assert!(files(&sys, false).unwrap_err().to_string().contains("ivcbench run --hypervisor xen"));
    }
}
