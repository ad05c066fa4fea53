//! Jailhouse on a board: one non-root cell per VM (tx, rx, and interf with `+interf`), created
//! from Linux in the root cell. Writes, per matrix cell:
//! - `tx.c`, `rx.c` (`interf.c`): the cell configurations, C sources that Jailhouse's build turns
//!   into `.cell` files (struct jailhouse_cell_desc and its arrays, config revision 14);
//! - `root-cell-regions.c`: the memory the root cell config must cover (the cells' RAM and the
//!   ivshmem region), to merge into the board's root cell config;
//! - `reserved-memory.dtsi`: the device-tree fragment that keeps the root Linux off that memory;
//! - `run.sh`: run on the root cell: creates, loads and starts the cells, interf and rx before tx.
//!
//! Each cell sees the view of ivc_proto::vm::jailhouse: its RAM at the board's `vm_ram`, the
//! communication region after it, and one ivshmem device (00:01.0) whose state table and
//! read/write section (the shared region) tx and rx map at the same addresses. Physically the cells
//! live in one pool of the board's DDR reserved from Linux ([`POOL`]); the placement is the same
//! for every matrix cell, so the root-cell part and the reservation are written once per board.

use super::{Region, System, Vm};
use anyhow::{bail, ensure, Result};
use ivc_proto::params::Role;
use ivc_proto::platform::{Gic, UartKind, PAGE};
use ivc_proto::vm::jailhouse as jh;
use std::fmt::Write;

/// The physical memory the cells take (tx, rx and interf RAM slots, then the ivshmem area),
/// reserved from Linux. 0x70000000 is below the ZynqMP boards' 2 GiB of low DDR on both boards.
pub const POOL: Region = Region { base: 0x7000_0000, size: 0x0E00_0000 };
/// What to reserve from the root Linux: the pool plus room for the hypervisor itself.
pub const RESERVED: Region = Region { base: 0x7000_0000, size: 0x1000_0000 };
/// Where ivcbench's documentation suggests the root cell config puts Jailhouse
/// (`hypervisor_memory`): inside the reservation, outside the pool.
pub const HYPERVISOR_MEMORY: Region = Region { base: 0x7FC0_0000, size: 0x0040_0000 };
/// Each VM's RAM slot in the pool.
const SLOT: u64 = 0x0400_0000;
/// The ECAM base of the virtual PCI host: the root cell config's `pci_mmconfig_base` on the
/// ZynqMP (mainline configs/arm64/zynqmp-zcu102.c), which the cells find in their communication
/// region. Only documented and checked against the cells' memory here.
pub const PCI_MMCONFIG_BASE: u64 = 0xFC00_0000;
/// Peers on the ivshmem link.
const PEERS: u8 = 2;

const RAM_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_EXECUTE", "JAILHOUSE_MEM_LOADABLE"];
const UART_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_IO", "JAILHOUSE_MEM_ROOTSHARED"];
const COMM_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_COMM_REGION"];
const STATE_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_ROOTSHARED"];
const RW_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_ROOTSHARED"];

/// One `struct jailhouse_memory` (a zero-size entry is an absent ivshmem section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mem {
    pub what: &'static str,
    pub phys: u64,
    pub virt: u64,
    pub size: u64,
    pub flags: &'static [&'static str],
}

/// The ivshmem device of a cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ivshmem {
    pub bdf: u16,
    pub regions_start: usize,
    pub dev_id: u16,
    pub peers: u8,
}

/// One non-root cell, as its C configuration describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub name: String,
    pub role: Role,
    pub cpus: u64,
    pub reset: u64,
    /// Console: UART address and Jailhouse console type.
    pub console: Option<(u64, &'static str)>,
    pub mems: Vec<Mem>,
    pub gicd: u64,
    /// SPIs the cell owns, as the irqchip's pin bitmap from INTID 32.
    pub pins: [u32; 4],
    pub vpci_irq_base: u32,
    pub ivshmem: Option<Ivshmem>,
}

impl Cell {
    /// The INTIDs the cell owns.
    pub fn irqs(&self) -> Vec<u32> {
        (0..128).filter(|i| self.pins[i / 32] >> (i % 32) & 1 == 1).map(|i| 32 + i as u32).collect()
    }
}

/// The ivshmem area of the pool: state table (one page) below the read/write section, placed
/// at the same offset in a 2 MiB block as in the cells' view.
pub fn ivshmem_phys() -> (Region, Region) {
    let area = POOL.base + 3 * SLOT;
    let rw = Region { base: area + (2 << 20), size: jh::RW_SIZE };
    (Region { base: rw.base - jh::STATE_TABLE_SIZE, size: jh::STATE_TABLE_SIZE }, rw)
}

/// A VM's RAM in the pool: slot 0, 1, 2 for tx, rx, interf.
pub fn ram_phys(vm: &Vm) -> Result<Region> {
    let slot = match vm.role {
        Role::Tx => 0,
        Role::Rx => 1,
        Role::Interf => 2,
        Role::All => bail!("Jailhouse cells run one role each"),
    };
    ensure!(vm.ram.size <= SLOT, "{}'s RAM ({:#x}) does not fit its {SLOT:#x} slot of the Jailhouse pool", vm.role.name(), vm.ram.size);
    Ok(Region { base: POOL.base + slot * SLOT, size: vm.ram.size })
}

/// The cells of `sys`, checked: refuses what this Jailhouse cannot do.
pub fn cells(sys: &System) -> Result<Vec<Cell>> {
    let board = sys.board;
    if board.name == "qemu-virt" {
        bail!(
            "Jailhouse cells are generated for the ZCU104 and ZCU102 only: Jailhouse needs a Linux root cell on the board, \
             which the qemu-virt testbed does not have (use --platform zcu104 or zcu102; docs/jailhouse.md)"
        );
    }
    if sys.config.suffix.col {
        bail!(
            "{}: mainline Jailhouse has no cache colouring (the artifact used a patched fork, ESRGv3/jailhouse-shedlight), \
             so jailhouse{} would run uncoloured under a coloured name; ivcbench generates jailhouse, jailhouse+interf and \
             the transfer cells",
            sys.config,
            sys.config.suffix
        );
    }
    let gicd = match sys.view.gic {
        Gic::V2 { gicd, .. } | Gic::V3 { gicd, .. } => gicd,
    };
    let (state, rw) = ivshmem_phys();
    let mut cells = Vec::new();
    for vm in &sys.vms {
        let mut mems = Vec::new();
        for d in &vm.devices {
            mems.push(Mem { what: d.name, phys: d.region.base, virt: d.region.base, size: d.region.size, flags: UART_FLAGS });
        }
        let ram = ram_phys(vm)?;
        mems.push(Mem { what: "RAM", phys: ram.base, virt: vm.ram.base, size: ram.size, flags: RAM_FLAGS });
        mems.push(Mem { what: "communication region", phys: 0, virt: jh::comm_region(&sys.view), size: PAGE, flags: COMM_FLAGS });
        let ivshmem = if vm.shmem {
            let start = mems.len();
            mems.push(Mem {
                what: "ivshmem state table",
                phys: state.base,
                virt: jh::state_table(&sys.view),
                size: state.size,
                flags: STATE_FLAGS,
            });
            mems.push(Mem { what: "ivshmem read/write section", phys: rw.base, virt: sys.shmem.base, size: rw.size, flags: RW_FLAGS });
            for p in 0..PEERS {
                let what = if p == 0 { "ivshmem output section of peer 0 (none)" } else { "ivshmem output section of peer 1 (none)" };
                mems.push(Mem { what, phys: 0, virt: 0, size: 0, flags: &[] });
            }
            let dev_id = if vm.role == Role::Tx { jh::TX_PEER } else { jh::RX_PEER };
            Some(Ivshmem { bdf: jh::IVSHMEM_BDF, regions_start: start, dev_id, peers: PEERS })
        } else {
            None
        };
        let mut pins = [0u32; 4];
        for irq in vm.doorbell_irq.iter().chain(vm.devices.iter().flat_map(|d| d.irqs.iter())) {
            ensure!((32..160).contains(irq), "INTID {irq} is not an SPI the cell's irqchip entry can give");
            pins[(*irq as usize - 32) / 32] |= 1 << ((irq - 32) % 32);
        }
        let console = vm.devices.first().map(|d| {
            let kind = match sys.view.uart_kind {
                UartKind::Cadence => "JAILHOUSE_CON_TYPE_XUARTPS",
                _ => "JAILHOUSE_CON_TYPE_PL011",
            };
            (d.region.base, kind)
        });
        cells.push(Cell {
            name: format!("ivc-{}", vm.role.name()),
            role: vm.role,
            cpus: 1 << jh::cell_core(vm.core),
            reset: vm.entry,
            console,
            mems,
            gicd,
            pins,
            vpci_irq_base: jh::VPCI_IRQ_BASE,
            ivshmem,
        });
    }
    check(sys, &cells)?;
    Ok(cells)
}

/// What the cells promise on top of System::check: physical memory inside the pool and apart,
/// cores apart and none the root keeps (0), the ivshmem regions identical in tx and rx, the
/// doorbell interrupt owned by rx alone, the register BAR and the ECAM clear of every mapping.
fn check(sys: &System, cells: &[Cell]) -> Result<()> {
    let board = sys.board;
    let fail = |what: String| -> Result<()> { bail!("jailhouse {} on {}: {what}", sys.config, board.name) };
    let board_ram = Region { base: board.ram_base, size: board.ram_size };
    if !board_ram.contains(&RESERVED) || !RESERVED.contains(&POOL) || !RESERVED.contains(&HYPERVISOR_MEMORY) {
        fail(format!(
            "the reservation {RESERVED} must hold the pool {POOL} and Jailhouse {HYPERVISOR_MEMORY} inside {}'s RAM",
            board.name
        ))?;
    }
    if POOL.overlaps(&HYPERVISOR_MEMORY) {
        fail(format!("the pool {POOL} overlaps Jailhouse's own memory {HYPERVISOR_MEMORY}"))?;
    }
    let mut owned: Vec<(String, Region)> = Vec::new();
    for c in cells {
        if c.cpus & 1 != 0 || c.cpus.count_ones() != 1 || c.cpus >> board.cores != 0 {
            fail(format!("{} has CPU set {:#b}: one core of {}, not core 0 (the root cell's)", c.name, c.cpus, board.cores))?;
        }
        if let Some(o) = cells.iter().take_while(|o| o.name != c.name).find(|o| o.cpus & c.cpus != 0) {
            fail(format!("{} and {} share CPU set {:#b}", o.name, c.name, c.cpus))?;
        }
        for m in c.mems.iter().filter(|m| m.size > 0) {
            let p = Region { base: m.phys, size: m.size };
            let v = Region { base: m.virt, size: m.size };
            if (m.phys | m.virt | m.size) % PAGE != 0 {
                fail(format!("{}'s {} is not page aligned", c.name, m.what))?;
            }
            if m.flags.contains(&"JAILHOUSE_MEM_COMM_REGION") {
                continue;
            }
            let shared = m.flags.contains(&"JAILHOUSE_MEM_ROOTSHARED");
            if !m.flags.contains(&"JAILHOUSE_MEM_IO") && !POOL.contains(&p) {
                fail(format!("{}'s {} {p} is outside the pool {POOL}", c.name, m.what))?;
            }
            if !shared {
                if let Some((who, r)) = owned.iter().find(|(_, r)| r.overlaps(&p)) {
                    fail(format!("{}'s {} {p} overlaps {who} {r}", c.name, m.what))?;
                }
                owned.push((format!("{}'s {}", c.name, m.what), p));
            }
            let bar = Region { base: jh::ivshmem_bar0(&sys.view), size: PAGE };
            let ecam = Region { base: PCI_MMCONFIG_BASE, size: 1 << 20 };
            for (name, r) in [("the ivshmem register BAR", bar), ("the PCI configuration space", ecam)] {
                if v.overlaps(&r) {
                    fail(format!("{}'s {} {v} covers {name} {r}", c.name, m.what))?;
                }
            }
            if let Some(o) =
                c.mems.iter().filter(|o| o.size > 0 && !std::ptr::eq(*o, m)).find(|o| Region { base: o.virt, size: o.size }.overlaps(&v))
            {
                fail(format!("{}'s {} and {} overlap at {v}", c.name, m.what, o.what))?;
            }
        }
    }
    let (state, rw) = ivshmem_phys();
    for r in [state, rw] {
        if let Some((who, o)) = owned.iter().find(|(_, o)| o.overlaps(&r)) {
            fail(format!("{who} {o} overlaps the ivshmem region {r}"))?;
        }
    }
    let shm: Vec<(&Cell, &[Mem])> = cells
        .iter()
        .filter_map(|c| c.ivshmem.as_ref().map(|i| (c, &c.mems[i.regions_start..i.regions_start + 2 + i.peers as usize])))
        .collect();
    if shm.len() != 2 || shm[0].1 != shm[1].1 {
        fail("tx and rx must both have the ivshmem device with identical shared-memory regions".into())?;
    }
    let doorbell = jh::DOORBELL_IRQ;
    for c in cells {
        let owns = c.irqs().contains(&doorbell);
        if owns != (c.role == Role::Rx) {
            fail(format!("INTID {doorbell} (the ivshmem doorbell) must belong to rx alone, not {}", c.name))?;
        }
    }
    Ok(())
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// The C configuration of one cell.
pub fn cell_c(sys: &System, c: &Cell) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "/* Jailhouse cell `{}` of the ivcbench cell {} on {}.", c.name, sys.config, sys.board.name);
    let _ = writeln!(w, " * Generated by `ivcbench config --hypervisor jailhouse`; regenerate rather than edit.");
    let _ = writeln!(w, " * Build it with Jailhouse (config revision 14) into {}.cell: see docs/jailhouse.md. */\n", c.role.name());
    let _ = writeln!(w, "#include <jailhouse/types.h>\n#include <jailhouse/cell-config.h>\n");
    let _ = writeln!(w, "struct {{");
    let _ = writeln!(w, "\tstruct jailhouse_cell_desc cell;");
    let _ = writeln!(w, "\t__u64 cpus[1];");
    let _ = writeln!(w, "\tstruct jailhouse_memory mem_regions[{}];", c.mems.len());
    let _ = writeln!(w, "\tstruct jailhouse_irqchip irqchips[1];");
    if c.ivshmem.is_some() {
        let _ = writeln!(w, "\tstruct jailhouse_pci_device pci_devices[1];");
    }
    let _ = writeln!(w, "}} __attribute__((packed)) config = {{");
    let _ = writeln!(w, "\t.cell = {{");
    let _ = writeln!(w, "\t\t.signature = JAILHOUSE_CELL_DESC_SIGNATURE,");
    let _ = writeln!(w, "\t\t.revision = JAILHOUSE_CONFIG_REVISION,");
    let _ = writeln!(w, "\t\t.architecture = JAILHOUSE_ARM64,");
    let _ = writeln!(w, "\t\t.name = \"{}\",", c.name);
    let _ = writeln!(w, "\t\t.flags = JAILHOUSE_CELL_PASSIVE_COMMREG,");
    let _ = writeln!(w, "\t\t.cpu_set_size = sizeof(config.cpus),");
    let _ = writeln!(w, "\t\t.num_memory_regions = ARRAY_SIZE(config.mem_regions),");
    let _ = writeln!(w, "\t\t.num_irqchips = ARRAY_SIZE(config.irqchips),");
    if c.ivshmem.is_some() {
        let _ = writeln!(w, "\t\t.num_pci_devices = ARRAY_SIZE(config.pci_devices),");
    }
    let _ = writeln!(w, "\t\t/* INTx of 00:01.0 (pin B) arrives on INTID 32 + {} + 1 = {}. */", c.vpci_irq_base, jh::DOORBELL_IRQ);
    let _ = writeln!(w, "\t\t.vpci_irq_base = {},", c.vpci_irq_base);
    let _ = writeln!(w, "\t\t.cpu_reset_address = {},", hex(c.reset));
    if let Some((addr, kind)) = c.console {
        let _ = writeln!(w, "\t\t.console = {{");
        let _ = writeln!(w, "\t\t\t.address = {},", hex(addr));
        let _ = writeln!(w, "\t\t\t.type = {kind},");
        let _ = writeln!(w, "\t\t\t.flags = JAILHOUSE_CON_ACCESS_MMIO | JAILHOUSE_CON_REGDIST_4,");
        let _ = writeln!(w, "\t\t}},");
    }
    let _ = writeln!(w, "\t}},\n");
    let _ = writeln!(w, "\t.cpus = {{ {:#b} }},\n", c.cpus);
    let _ = writeln!(w, "\t.mem_regions = {{");
    for m in &c.mems {
        if m.size == 0 {
            let _ = writeln!(w, "\t\t/* {} */ {{ 0 }},", m.what);
            continue;
        }
        let _ = writeln!(w, "\t\t/* {} */ {{", m.what);
        if !m.flags.contains(&"JAILHOUSE_MEM_COMM_REGION") {
            let _ = writeln!(w, "\t\t\t.phys_start = {},", hex(m.phys));
        }
        let _ = writeln!(w, "\t\t\t.virt_start = {},", hex(m.virt));
        let _ = writeln!(w, "\t\t\t.size = {},", hex(m.size));
        let _ = writeln!(w, "\t\t\t.flags = {},", m.flags.join(" | "));
        let _ = writeln!(w, "\t\t}},");
    }
    let _ = writeln!(w, "\t}},\n");
    let _ = writeln!(w, "\t.irqchips = {{");
    let _ = writeln!(w, "\t\t/* GIC */ {{");
    let _ = writeln!(w, "\t\t\t.address = {},", hex(c.gicd));
    let _ = writeln!(w, "\t\t\t.pin_base = 32,");
    let pins: Vec<String> = c.pins.iter().map(|p| format!("{p:#010x}")).collect();
    let irqs: Vec<String> = c.irqs().iter().map(|i| i.to_string()).collect();
    let _ = writeln!(w, "\t\t\t/* INTIDs: {} */", if irqs.is_empty() { "none".to_string() } else { irqs.join(", ") });
    let _ = writeln!(w, "\t\t\t.pin_bitmap = {{ {} }},", pins.join(", "));
    let _ = writeln!(w, "\t\t}},");
    let _ = writeln!(w, "\t}},");
    if let Some(i) = &c.ivshmem {
        let _ = writeln!(w, "\n\t.pci_devices = {{");
        let _ = writeln!(w, "\t\t/* 00:{:02x}.{} */ {{", i.bdf >> 3, i.bdf & 7);
        let _ = writeln!(w, "\t\t\t.type = JAILHOUSE_PCI_TYPE_IVSHMEM,");
        let _ = writeln!(w, "\t\t\t.bdf = {:#x},", i.bdf);
        let _ = writeln!(w, "\t\t\t.bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_INTX,");
        let _ = writeln!(w, "\t\t\t.shmem_regions_start = {},", i.regions_start);
        let _ = writeln!(w, "\t\t\t.shmem_dev_id = {},", i.dev_id);
        let _ = writeln!(w, "\t\t\t.shmem_peers = {},", i.peers);
        let _ = writeln!(w, "\t\t\t.shmem_protocol = JAILHOUSE_SHMEM_PROTO_UNDEFINED,");
        let _ = writeln!(w, "\t\t}},");
        let _ = writeln!(w, "\t}},");
    }
    let _ = writeln!(w, "}};");
    s
}

/// The memory regions the root cell config must cover, as C initialisers to merge in.
pub fn root_regions(sys: &System) -> String {
    let (state, rw) = ivshmem_phys();
    let cells = Region { base: POOL.base, size: 3 * SLOT };
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "/* ivcbench: the memory of its Jailhouse cells on {}, for the root cell config's mem_regions.", sys.board.name);
    let _ = writeln!(w, " * Jailhouse hands a cell's memory back to the root cell when the cell is destroyed and while");
    let _ = writeln!(w, " * images are loaded into it, so the root cell config must cover it. If the root config's RAM region");
    let _ = writeln!(w, " * already covers {POOL} (mainline zynqmp-zcu102.c's 0x0..0x80000000 does), add nothing;");
    let _ = writeln!(w, " * otherwise add these two. Either way Linux must not use it: see reserved-memory.dtsi.");
    let _ = writeln!(w, " * The root config also needs pci_mmconfig_base = {PCI_MMCONFIG_BASE:#x} and pci_is_virtual = 1 (the cells'");
    let _ = writeln!(w, " * ivshmem device lives on that virtual PCI host), and hypervisor_memory outside this pool, e.g.");
    let _ = writeln!(
        w,
        " * {{ .phys_start = {:#x}, .size = {:#x} }}. Identical for every ivcbench cell on this board. */",
        HYPERVISOR_MEMORY.base, HYPERVISOR_MEMORY.size
    );
    let _ = writeln!(w, "\t\t/* ivcbench cells' RAM (tx, rx, interf) */ {{");
    let _ = writeln!(w, "\t\t\t.phys_start = {0:#x},\n\t\t\t.virt_start = {0:#x},\n\t\t\t.size = {1:#x},", cells.base, cells.size);
    let _ = writeln!(w, "\t\t\t.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE | JAILHOUSE_MEM_EXECUTE,\n\t\t}},");
    let area = Region { base: state.base, size: rw.end() - state.base };
    let _ = writeln!(w, "\t\t/* ivcbench ivshmem region (state table {state}, read/write section {rw}) */ {{");
    let _ = writeln!(w, "\t\t\t.phys_start = {0:#x},\n\t\t\t.virt_start = {0:#x},\n\t\t\t.size = {1:#x},", area.base, area.size);
    let _ = writeln!(w, "\t\t\t.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,\n\t\t}},");
    s
}

/// The root Linux's device-tree fragment that reserves the pool and Jailhouse's memory.
pub fn reserved_memory(sys: &System) -> String {
    format!(
        "/* ivcbench: keep the root cell's Linux off the memory of Jailhouse ({HYPERVISOR_MEMORY}) and of the cells ({POOL}) on {}.\n \
         * Merge into the board's device tree (or boot Linux with mem={}M, which also works on the ZCU104's 2 GiB). */\n\
         / {{\n\treserved-memory {{\n\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n\t\tranges;\n\n\
         \t\tjailhouse@{:x} {{\n\t\t\treg = <0x0 {:#x} 0x0 {:#x}>;\n\t\t\tno-map;\n\t\t}};\n\t}};\n}};\n",
        sys.board.name,
        RESERVED.base >> 20,
        RESERVED.base,
        RESERVED.base,
        RESERVED.size
    )
}

/// The script the user runs on the root cell, in the generated directory.
pub fn run_sh(sys: &System, cells: &[Cell]) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "#!/bin/sh");
    let _ = writeln!(
        w,
        "# ivcbench cell {} on {} under Jailhouse. Run on the root cell (Linux), in this directory,",
        sys.config, sys.board.name
    );
    let _ = writeln!(w, "# after `jailhouse enable <root cell>.cell`, with the .cell files built from the .c files here and");
    let _ = writeln!(w, "# the images in images/ (docs/jailhouse.md). Generated; regenerate rather than edit.");
    let _ = writeln!(w, "set -e\ncd \"$(dirname \"$0\")\"");
    let _ = writeln!(w, "# Cells left from an earlier run go first (their names are ivcbench's).");
    let names: Vec<&str> = cells.iter().map(|c| c.name.as_str()).collect();
    let _ = writeln!(w, "for c in {}; do jailhouse cell destroy \"$c\" 2>/dev/null || true; done", names.join(" "));
    // interf first (the interference is on before anything is measured), rx before tx (tx waits for
    // rx's `ready` anyway, but rx's handler should exist before tx can ring).
    let order = [Role::Interf, Role::Rx, Role::Tx];
    for role in order {
        let Some(c) = cells.iter().find(|c| c.role == role) else { continue };
        let r = role.name();
        let _ = writeln!(w, "jailhouse cell create {r}.cell");
        let _ = writeln!(w, "jailhouse cell load {} images/{r}.bin -a {}", c.name, hex(c.reset));
        let _ = writeln!(w, "jailhouse cell start {}", c.name);
    }
    let _ = writeln!(
        w,
        "echo \"ivcbench: cells started; tx waits for 's' on its UART ({})\"",
        cells.iter().find(|c| c.role == Role::Tx).and_then(|c| c.console).map_or("none".into(), |c| hex(c.0))
    );
    s
}

/// Every file of one cell.
pub fn files(sys: &System) -> Result<Vec<(&'static str, String)>> {
    let cells = cells(sys)?;
    let mut out = Vec::new();
    for c in &cells {
        let name = match c.role {
            Role::Tx => "tx.c",
            Role::Rx => "rx.c",
            _ => "interf.c",
        };
        out.push((name, cell_c(sys, c)));
    }
    out.push(("root-cell-regions.c", root_regions(sys)));
    out.push(("reserved-memory.dtsi", reserved_memory(sys)));
    out.push(("run.sh", run_sh(sys, &cells)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{matrix, System};
    use super::*;
    use crate::names::{Configuration, Hypervisor};
    use ivc_proto::platform::{Platform, ZCU102, ZCU104};
    use std::path::Path;

    fn sys(p: &'static Platform, c: &str) -> System {
        let s = System::new(Hypervisor::Jailhouse, p, Configuration::parse(c).unwrap(), Path::new("images")).unwrap();
        s.check().unwrap();
        s
    }

    /// `field = value` assignments in C text, in order.
    fn fields<'a>(c: &'a str, field: &str) -> Vec<&'a str> {
        let key = format!("{field} = ");
        c.match_indices(&key).map(|(i, _)| c[i + key.len()..].split([',', '\n']).next().unwrap().trim()).collect()
    }

    #[test]
    fn every_uncoloured_cell_is_generated_and_consistent_on_both_boards() {
        for p in [&ZCU104, &ZCU102] {
            for cell in matrix().into_iter().filter(|c| !c.suffix.col) {
                let s = sys(p, &cell.to_string());
                let cells = cells(&s).unwrap_or_else(|e| panic!("{e:#}"));
                let n = if cell.suffix.interf { 3 } else { 2 };
                assert_eq!(cells.len(), n, "{cell}");
                // Cores: one each, disjoint, never the root's core 0.
                let all = cells.iter().fold(0u64, |m, c| {
                    assert_eq!(m & c.cpus, 0);
                    m | c.cpus
                });
                assert_eq!(all, if n == 3 { 0b1110 } else { 0b0110 });
                // Physical RAM disjoint and inside the pool; ivshmem identical in tx and rx.
                let rams: Vec<Region> = cells
                    .iter()
                    .map(|c| c.mems.iter().find(|m| m.what == "RAM").map(|m| Region { base: m.phys, size: m.size }).unwrap())
                    .collect();
                for (i, a) in rams.iter().enumerate() {
                    assert!(POOL.contains(a));
                    assert!(rams[i + 1..].iter().all(|b| !a.overlaps(b)));
                }
                let tx = &cells[0];
                let rx = &cells[1];
                let (ti, ri) = (tx.ivshmem.as_ref().unwrap(), rx.ivshmem.as_ref().unwrap());
                assert_eq!((ti.dev_id, ri.dev_id), (0, 1));
                assert_eq!(tx.mems[ti.regions_start..ti.regions_start + 4], rx.mems[ri.regions_start..ri.regions_start + 4]);
                // The state table sits right below the shared region the guest expects.
                let st = &tx.mems[ti.regions_start];
                let rw = &tx.mems[ti.regions_start + 1];
                assert_eq!((st.virt + st.size, rw.virt, st.phys + st.size), (s.view.shmem_base, s.view.shmem_base, rw.phys));
                assert!(rw.size >= ivc_proto::layout::SHMEM_SIZE as u64);
                // Interrupts: rx owns the doorbell the guest enables, nobody else owns any SPI.
                assert_eq!(rx.irqs(), [jh::DOORBELL_IRQ]);
                assert!(cells.iter().filter(|c| c.role != Role::Rx).all(|c| c.irqs().is_empty()));
                assert_eq!(ivc_proto::ivshmem::intx_intid(rx.vpci_irq_base, ivc_proto::ivshmem::intx_pin(ri.bdf)), jh::DOORBELL_IRQ);
                // The generated text says the same.
                let files = files(&s).unwrap();
                let names: Vec<&str> = files.iter().map(|f| f.0).collect();
                let mut want = vec!["tx.c", "rx.c"];
                if n == 3 {
                    want.push("interf.c");
                }
                want.extend(["root-cell-regions.c", "reserved-memory.dtsi", "run.sh"]);
                assert_eq!(names, want);
                for ((name, text), c) in files.iter().zip(&cells) {
                    assert_eq!(text.matches('{').count(), text.matches('}').count(), "{name}: braces");
                    assert_eq!(fields(text, ".name"), [format!("\"{}\"", c.name).as_str()]);
                    assert_eq!(fields(text, ".revision"), ["JAILHOUSE_CONFIG_REVISION"]);
                    assert!(text.contains(&format!("struct jailhouse_memory mem_regions[{}];", c.mems.len())));
                    // One initialiser per declared region.
                    let regions = text.split("\t.mem_regions = {\n").nth(1).unwrap().split("\n\t},\n").next().unwrap();
                    assert_eq!(regions.lines().filter(|l| l.starts_with("\t\t/* ")).count(), c.mems.len(), "{name}:\n{text}");
                    assert_eq!(fields(text, ".cpu_reset_address"), [hex(s.view.load_addr).as_str()]);
                    assert_eq!(fields(text, ".shmem_dev_id").len(), c.ivshmem.is_some() as usize);
                    assert_eq!(fields(text, ".vpci_irq_base"), ["108"]);
                }
                let run = &files.last().unwrap().1;
                let start = |r: &str| run.find(&format!("jailhouse cell start ivc-{r}")).unwrap();
                assert!(start("rx") < start("tx"));
                if n == 3 {
                    assert!(start("interf") < start("rx"));
                }
                assert!(run.contains("jailhouse cell load ivc-tx images/tx.bin -a 0x20080000"));
            }
        }
    }

    #[test]
    fn the_c_text_of_rx_on_the_zcu104() {
        let s = sys(&ZCU104, "notif");
        let c = cells(&s).unwrap();
        let rx = cell_c(&s, &c[1]);
        assert!(rx.contains("\t\t.architecture = JAILHOUSE_ARM64,\n"), "{rx}");
        assert!(rx.contains("\t.cpus = { 0b100 },"));
        assert!(rx.contains("/* uart1 */ {\n\t\t\t.phys_start = 0xff010000,\n\t\t\t.virt_start = 0xff010000,"), "{rx}");
        assert!(
            rx.contains("/* RAM */ {\n\t\t\t.phys_start = 0x74000000,\n\t\t\t.virt_start = 0x20000000,\n\t\t\t.size = 0x4000000,"),
            "{rx}"
        );
        assert!(rx.contains("/* communication region */ {\n\t\t\t.virt_start = 0x24000000,\n\t\t\t.size = 0x1000,"));
        assert!(rx.contains("/* ivshmem state table */ {\n\t\t\t.phys_start = 0x7c1ff000,\n\t\t\t.virt_start = 0x241ff000,"));
        assert!(rx.contains("/* ivshmem read/write section */ {\n\t\t\t.phys_start = 0x7c200000,\n\t\t\t.virt_start = 0x24200000,\n\t\t\t.size = 0x1001000,"));
        assert!(rx.contains(".type = JAILHOUSE_CON_TYPE_XUARTPS,"));
        assert!(rx.contains("/* INTIDs: 141 */\n\t\t\t.pin_bitmap = { 0x00000000, 0x00000000, 0x00000000, 0x00002000 },"), "{rx}");
        assert!(rx.contains(".bar_mask = JAILHOUSE_IVSHMEM_BAR_MASK_INTX,\n\t\t\t.shmem_regions_start = 3,\n\t\t\t.shmem_dev_id = 1,\n\t\t\t.shmem_peers = 2,"));
        let root = root_regions(&s);
        assert!(root.contains(".phys_start = 0x70000000,\n\t\t\t.virt_start = 0x70000000,\n\t\t\t.size = 0xc000000,"), "{root}");
        assert!(root.contains(".phys_start = 0x7c1ff000,\n\t\t\t.virt_start = 0x7c1ff000,\n\t\t\t.size = 0x1002000,"), "{root}");
        assert!(reserved_memory(&s).contains("reg = <0x0 0x70000000 0x0 0x10000000>;"));
    }

    #[test]
    fn refused_cells_say_why() {
        for c in ["notif+col", "notif+interf+col", "notif+interf+col+hypcol"] {
            let e = cells(&sys(&ZCU104, c)).unwrap_err().to_string();
            assert!(e.contains("mainline Jailhouse has no cache colouring"), "{e}");
        }
        let s = System::new(Hypervisor::Jailhouse, &ivc_proto::platform::QEMU_VIRT, Configuration::parse("notif").unwrap(), Path::new("i"))
            .unwrap();
        assert!(cells(&s).unwrap_err().to_string().contains("Linux root cell"));
    }

    #[test]
    fn an_overlapping_description_is_rejected() {
        // A VM whose RAM does not fit its slot would run into the next cell's memory.
        static BIG: Platform = Platform { vm_ram: (0x2000_0000, 0x0600_0000), ..ZCU104 };
        let s = System::new(Hypervisor::Jailhouse, &BIG, Configuration::parse("notif").unwrap(), Path::new("i")).unwrap();
        assert!(cells(&s).unwrap_err().to_string().contains("does not fit its 0x4000000 slot"));
        // Two cells given the same core, and rx's doorbell taken by tx as well.
        let s = sys(&ZCU104, "notif+interf");
        let mut c = cells(&s).unwrap();
        c[2].cpus = c[1].cpus;
        assert!(check(&s, &c).unwrap_err().to_string().contains("ivc-rx and ivc-interf share CPU set 0b100"));
        let mut c = cells(&s).unwrap();
        c[0].pins = c[1].pins;
        assert!(check(&s, &c).unwrap_err().to_string().contains("must belong to rx alone, not ivc-tx"));
        // tx's RAM moved onto rx's, and the shared regions differing between tx and rx.
        let mut c = cells(&s).unwrap();
        let rx_ram = c[1].mems.iter().find(|m| m.what == "RAM").unwrap().phys;
        c[0].mems.iter_mut().find(|m| m.what == "RAM").unwrap().phys = rx_ram;
        let e = check(&s, &c).unwrap_err().to_string();
        assert!(e.contains("ivc-rx's RAM 0x74000000..0x78000000 overlaps ivc-tx's RAM"), "{e}");
        let mut c = cells(&s).unwrap();
        c[1].mems[4].phys += PAGE;
        assert!(check(&s, &c).unwrap_err().to_string().contains("identical shared-memory regions"));
        // Core 0 belongs to the root cell.
        let mut c = cells(&s).unwrap();
        c[0].cpus = 1;
        assert!(check(&s, &c).unwrap_err().to_string().contains("not core 0"));
    }
}
