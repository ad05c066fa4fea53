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

use super::{colour_count, Colours, Region, System, Vm};
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
/// The colouring fork's cells (`+col`, boards only): a coloured region takes only the pages of its
/// colours, so 64 MiB on 8 of 16 colours spans 128 MiB of DDR. Their pool is larger, and so is the
/// reservation (Linux keeps the first GiB: mem=1024M).
pub const COL_POOL: Region = Region { base: 0x4000_0000, size: 0x3E00_0000 };
pub const COL_RESERVED: Region = Region { base: 0x4000_0000, size: 0x4000_0000 };
const COL_SLOT: u64 = 0x0900_0000;
/// The colouring fork's flag on a memory region that takes the cell's colours.
const COL_FLAG: &str = "JAILHOUSE_MEM_COLORED";
const RAM_COL_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_EXECUTE", "JAILHOUSE_MEM_LOADABLE", COL_FLAG];
const STATE_COL_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_ROOTSHARED", COL_FLAG];
const RW_COL_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_ROOTSHARED", COL_FLAG];

/// Where the cells of one configuration live in physical memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub pool: Region,
    pub reserved: Region,
    slot: u64,
}

/// The layout of uncoloured (mainline) or coloured (the colouring fork's) cells.
pub fn layout(col: bool) -> Layout {
    match col {
        false => Layout { pool: POOL, reserved: RESERVED, slot: SLOT },
        true => Layout { pool: COL_POOL, reserved: COL_RESERVED, slot: COL_SLOT },
    }
}
/// The ECAM base of the virtual PCI host, the root cell config's `pci_mmconfig_base`, which the
/// cells find in their communication region: on the ZynqMP mainline's configs/arm64/zynqmp-zcu102.c
/// value (only documented for the board's root cell, and checked against the cells' memory); on
/// QEMU virt a free page range below the UARTs, in the root cell ivcbench writes.
pub fn pci_mmconfig_base(board: &ivc_proto::platform::Platform) -> u64 {
    if is_qemu(board) {
        0x08E0_0000
    } else {
        0xFC00_0000
    }
}

/// QEMU's `virt` testbed, where ivcbench writes the whole root cell (no stock one fits: mainline's
/// qemu-arm64.c wants 16 CPUs and links its own ivshmem-net device at 00:01.0).
fn is_qemu(board: &ivc_proto::platform::Platform) -> bool {
    board.name == "qemu-virt"
}

/// Peers on the ivshmem link.
const PEERS: u8 = 2;

const RAM_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_EXECUTE", "JAILHOUSE_MEM_LOADABLE"];
const UART_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_IO", "JAILHOUSE_MEM_ROOTSHARED"];
const COMM_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_COMM_REGION"];
const STATE_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_ROOTSHARED"];
const RW_FLAGS: &[&str] = &["JAILHOUSE_MEM_READ", "JAILHOUSE_MEM_WRITE", "JAILHOUSE_MEM_ROOTSHARED"];

/// The values of the memory-region flags the cells use (include/jailhouse/cell-config.h), for
/// checking compiled `.cell` files against the generated cells.
pub fn mem_flags(flags: &[&str]) -> Result<u64> {
    flags.iter().try_fold(0u64, |m, f| {
        let v = match *f {
            "JAILHOUSE_MEM_READ" => 0x0001,
            "JAILHOUSE_MEM_WRITE" => 0x0002,
            "JAILHOUSE_MEM_EXECUTE" => 0x0004,
            "JAILHOUSE_MEM_IO" => 0x0010,
            "JAILHOUSE_MEM_COMM_REGION" => 0x0020,
            "JAILHOUSE_MEM_LOADABLE" => 0x0040,
            "JAILHOUSE_MEM_ROOTSHARED" => 0x0080,
            "JAILHOUSE_MEM_COLORED" => 0x0200,
            other => bail!("no value known for the memory flag {other}"),
        };
        Ok(m | v)
    })
}

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
    /// The colouring fork's colours of the regions flagged JAILHOUSE_MEM_COLORED (`+col`).
    pub colours: Option<Colours>,
    /// Written for the colouring fork (its config revision 13 has no architecture field).
    pub fork: bool,
}

impl Cell {
    /// The physical bytes a region covers: a coloured one takes only its colours' pages, so it
    /// spans (colours / its colours) times its size, plus up to one colour period at the start.
    pub fn span(&self, m: &Mem, n: u64) -> u64 {
        match self.colours.filter(|_| m.flags.contains(&COL_FLAG)) {
            Some(c) => (m.size * n).div_ceil(c.count() as u64) + n * PAGE,
            None => m.size,
        }
    }

    /// The colour ranges of the fork's `cache_regions` (start, number of colours).
    pub fn colour_ranges(&self) -> Vec<(u32, u32)> {
        let Some(c) = self.colours else { return Vec::new() };
        let mut v: Vec<(u32, u32)> = Vec::new();
        for bit in (0..64).filter(|b| c.0 >> b & 1 == 1) {
            match v.last_mut() {
                Some((start, n)) if *start + *n == bit => *n += 1,
                _ => v.push((bit, 1)),
            }
        }
        v
    }

    /// The INTIDs the cell owns.
    pub fn irqs(&self) -> Vec<u32> {
        (0..128).filter(|i| self.pins[i / 32] >> (i % 32) & 1 == 1).map(|i| 32 + i as u32).collect()
    }
}

/// The ivshmem area of the pool: state table (one page) below the read/write section, placed
/// at the same offset in a 2 MiB block as in the cells' view.
pub fn ivshmem_phys() -> (Region, Region) {
    ivshmem_phys_in(&layout(false))
}

/// The same in `l`.
fn ivshmem_phys_in(l: &Layout) -> (Region, Region) {
    let area = l.pool.base + 3 * l.slot;
    let rw = Region { base: area + (2 << 20), size: jh::RW_SIZE };
    (Region { base: rw.base - jh::STATE_TABLE_SIZE, size: jh::STATE_TABLE_SIZE }, rw)
}

/// The interferer's status page in the pool (`+interf`): the page after the ivshmem read/write
/// section, mapped into tx and the interferer at ivc_proto::layout::interf_status_base.
pub fn status_phys() -> Region {
    status_phys_in(&layout(false))
}

/// The same in `l`: with colours, past the span of the coloured read/write section.
fn status_phys_in(l: &Layout) -> Region {
    let (_, rw) = ivshmem_phys_in(l);
    let span = if l.slot == SLOT { rw.size } else { 2 * rw.size + (64 << 10) };
    Region { base: (rw.base + span).next_multiple_of(PAGE), size: PAGE }
}

/// A VM's RAM in the pool: slot 0, 1, 2 for tx, rx, interf.
pub fn ram_phys(vm: &Vm) -> Result<Region> {
    ram_phys_in(&layout(false), vm)
}

fn ram_phys_in(l: &Layout, vm: &Vm) -> Result<Region> {
    let slot = match vm.role {
        Role::Tx => 0,
        Role::Rx => 1,
        Role::Interf => 2,
        Role::All => bail!("Jailhouse cells run one role each"),
    };
    ensure!(
        vm.ram.size <= l.slot,
        "{}'s RAM ({:#x}) does not fit its {:#x} slot of the Jailhouse pool",
        vm.role.name(),
        vm.ram.size,
        l.slot
    );
    Ok(Region { base: l.pool.base + slot * l.slot, size: vm.ram.size })
}

/// The cells of `sys` for mainline Jailhouse, checked: refuses what it cannot do.
pub fn cells(sys: &System) -> Result<Vec<Cell>> {
    cells_for(sys, false)
}

/// The cells of `sys`; `fork`: for the colouring fork (ESRGv3/jailhouse-shedlight), which also
/// gives `+col` its colours.
pub fn cells_for(sys: &System, fork: bool) -> Result<Vec<Cell>> {
    let col = sys.config.suffix.col;
    if col && !fork {
        bail!(
            "{}: mainline Jailhouse has no cache colouring (the artifact used a patched fork, ESRGv3/jailhouse-shedlight), \
             so jailhouse{} would run uncoloured under a coloured name; mainline runs jailhouse, jailhouse+interf and \
             the transfer cells (for the colouring fork's format pass --jailhouse-colouring)",
            sys.config,
            sys.config.suffix
        );
    }
    if col && sys.config.suffix.hypcol {
        bail!("{}: the colouring fork colours the cells, not Jailhouse itself, so +hypcol has no Jailhouse cell", sys.config);
    }
    if col && is_qemu(sys.board) {
        bail!(
            "{}: coloured cells are generated for the ZCU104 and ZCU102 (each 64 MiB cell on half the colours spans 128 MiB, more \
             than the QEMU testbed's pool, and QEMU models no cache)",
            sys.config
        );
    }
    let l = layout(col);
    let gicd = match sys.view.gic {
        Gic::V2 { gicd, .. } | Gic::V3 { gicd, .. } => gicd,
    };
    let (state, rw) = ivshmem_phys_in(&l);
    let mut cells = Vec::new();
    for vm in &sys.vms {
        let colours = vm.colours.filter(|_| col);
        let coloured = |plain: &'static [&'static str], with: &'static [&'static str]| if colours.is_some() { with } else { plain };
        let mut mems = Vec::new();
        for d in &vm.devices {
            mems.push(Mem { what: d.name, phys: d.region.base, virt: d.region.base, size: d.region.size, flags: UART_FLAGS });
        }
        let ram = ram_phys_in(&l, vm)?;
        mems.push(Mem { what: "RAM", phys: ram.base, virt: vm.ram.base, size: ram.size, flags: coloured(RAM_FLAGS, RAM_COL_FLAGS) });
        mems.push(Mem { what: "communication region", phys: 0, virt: jh::comm_region(&sys.view), size: PAGE, flags: COMM_FLAGS });
        let ivshmem = if vm.shmem {
            let start = mems.len();
            mems.push(Mem {
                what: "ivshmem state table",
                phys: state.base,
                virt: jh::state_table(&sys.view),
                size: state.size,
                flags: coloured(STATE_FLAGS, STATE_COL_FLAGS),
            });
            let flags = coloured(RW_FLAGS, RW_COL_FLAGS);
            mems.push(Mem { what: "ivshmem read/write section", phys: rw.base, virt: sys.shmem.base, size: rw.size, flags });
            for p in 0..PEERS {
                let what = if p == 0 { "ivshmem output section of peer 0 (none)" } else { "ivshmem output section of peer 1 (none)" };
                mems.push(Mem { what, phys: 0, virt: 0, size: 0, flags: &[] });
            }
            let dev_id = if vm.role == Role::Tx { jh::TX_PEER } else { jh::RX_PEER };
            Some(Ivshmem { bdf: jh::IVSHMEM_BDF, regions_start: start, dev_id, peers: PEERS })
        } else {
            None
        };
        if let Some(st) = sys.interf_status.filter(|_| matches!(vm.role, Role::Tx | Role::Interf)) {
            // Shared by tx and the interferer only; ROOTSHARED so that both cells may map it. Never
            // coloured: tx and the interferer have different colours, which would make it two pages.
            let phys = status_phys_in(&l);
            ensure!(st.size <= phys.size, "the interferer's status page {st} is larger than its slot {phys}");
            mems.push(Mem { what: "interferer status page", phys: phys.base, virt: st.base, size: phys.size, flags: RW_FLAGS });
        }
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
            colours,
            fork,
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
    let Layout { pool, reserved, .. } = layout(sys.config.suffix.col);
    let n = colour_count(sys.hypervisor, board) as u64;
    if !board_ram.contains(&reserved) || !reserved.contains(&pool) || !reserved.contains(&HYPERVISOR_MEMORY) {
        fail(format!(
            "the reservation {reserved} must hold the pool {pool} and Jailhouse {HYPERVISOR_MEMORY} inside {}'s RAM",
            board.name
        ))?;
    }
    if pool.overlaps(&HYPERVISOR_MEMORY) {
        fail(format!("the pool {pool} overlaps Jailhouse's own memory {HYPERVISOR_MEMORY}"))?;
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
            // Physically, a coloured region covers more than its size.
            let p = Region { base: m.phys, size: c.span(m, n) };
            let v = Region { base: m.virt, size: m.size };
            if (m.phys | m.virt | m.size) % PAGE != 0 {
                fail(format!("{}'s {} is not page aligned", c.name, m.what))?;
            }
            if m.flags.contains(&"JAILHOUSE_MEM_COMM_REGION") {
                continue;
            }
            let shared = m.flags.contains(&"JAILHOUSE_MEM_ROOTSHARED");
            if !m.flags.contains(&"JAILHOUSE_MEM_IO") && !pool.contains(&p) {
                fail(format!("{}'s {} {p} is outside the pool {pool}", c.name, m.what))?;
            }
            if !shared {
                if let Some((who, r)) = owned.iter().find(|(_, r)| r.overlaps(&p)) {
                    fail(format!("{}'s {} {p} overlaps {who} {r}", c.name, m.what))?;
                }
                owned.push((format!("{}'s {}", c.name, m.what), p));
            }
            let bar = Region { base: jh::ivshmem_bar0(&sys.view), size: PAGE };
            let ecam = Region { base: pci_mmconfig_base(board), size: 1 << 20 };
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
    let l = layout(sys.config.suffix.col);
    let (state, _) = ivshmem_phys_in(&l);
    let status = status_phys_in(&l);
    for r in [Region { base: state.base, size: status.base - state.base }, status] {
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
    let status: Vec<(&str, &Mem)> =
        cells.iter().flat_map(|c| c.mems.iter().filter(|m| m.what == "interferer status page").map(|m| (c.name.as_str(), m))).collect();
    let want = if sys.interf_status.is_some() { 2 } else { 0 };
    if status.len() != want || status.windows(2).any(|w| w[0].1 != w[1].1) {
        fail(format!(
            "the interferer's status page must be mapped identically into tx and interf (and nowhere else), found it in {:?}",
            status.iter().map(|s| s.0).collect::<Vec<_>>()
        ))?;
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
    let jailhouse = if c.fork {
        "the colouring fork of Jailhouse (ESRGv3/jailhouse-shedlight, its config revision 13)"
    } else {
        "Jailhouse (config revision 14)"
    };
    let _ = writeln!(w, " * Build it with {jailhouse} into {}.cell: see docs/jailhouse.md. */\n", c.role.name());
    let _ = writeln!(w, "#include <jailhouse/types.h>\n#include <jailhouse/cell-config.h>\n");
    let _ = writeln!(w, "struct {{");
    let _ = writeln!(w, "\tstruct jailhouse_cell_desc cell;");
    let _ = writeln!(w, "\t__u64 cpus[1];");
    let _ = writeln!(w, "\tstruct jailhouse_memory mem_regions[{}];", c.mems.len());
    let ranges = c.colour_ranges();
    if !ranges.is_empty() {
        let _ = writeln!(w, "\tstruct jailhouse_cache cache_regions[{}];", ranges.len());
    }
    let _ = writeln!(w, "\tstruct jailhouse_irqchip irqchips[1];");
    if c.ivshmem.is_some() {
        let _ = writeln!(w, "\tstruct jailhouse_pci_device pci_devices[1];");
    }
    let _ = writeln!(w, "}} __attribute__((packed)) config = {{");
    let _ = writeln!(w, "\t.cell = {{");
    let _ = writeln!(w, "\t\t.signature = JAILHOUSE_CELL_DESC_SIGNATURE,");
    let _ = writeln!(w, "\t\t.revision = JAILHOUSE_CONFIG_REVISION,");
    if !c.fork {
        let _ = writeln!(w, "\t\t.architecture = JAILHOUSE_ARM64,");
    }
    let _ = writeln!(w, "\t\t.name = \"{}\",", c.name);
    let _ = writeln!(w, "\t\t.flags = JAILHOUSE_CELL_PASSIVE_COMMREG,");
    let _ = writeln!(w, "\t\t.cpu_set_size = sizeof(config.cpus),");
    let _ = writeln!(w, "\t\t.num_memory_regions = ARRAY_SIZE(config.mem_regions),");
    let _ = writeln!(w, "\t\t.num_irqchips = ARRAY_SIZE(config.irqchips),");
    if !ranges.is_empty() {
        let _ = writeln!(w, "\t\t.num_cache_regions = ARRAY_SIZE(config.cache_regions),");
    }
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
    if !ranges.is_empty() {
        // The fork applies these colours to every region flagged JAILHOUSE_MEM_COLORED.
        let _ = writeln!(w, "\t.cache_regions = {{");
        for (start, n) in &ranges {
            let _ = writeln!(w, "\t\t/* colours {start}-{} */ {{", start + n - 1);
            let _ = writeln!(w, "\t\t\t.start = {start},\n\t\t\t.size = {n},\n\t\t}},");
        }
        let _ = writeln!(w, "\t}},\n");
    }
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
    let l = layout(sys.config.suffix.col);
    let (state, rw) = ivshmem_phys_in(&l);
    let status = status_phys_in(&l);
    let cells = Region { base: l.pool.base, size: 3 * l.slot };
    let pool = l.pool;
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "/* ivcbench: the memory of its Jailhouse cells on {}, for the root cell config's mem_regions.", sys.board.name);
    let _ = writeln!(w, " * Jailhouse hands a cell's memory back to the root cell when the cell is destroyed and while");
    let _ = writeln!(w, " * images are loaded into it, so the root cell config must cover it. If the root config's RAM region");
    let _ = writeln!(w, " * already covers {pool} (mainline zynqmp-zcu102.c's 0x0..0x80000000 does), add nothing;");
    let _ = writeln!(w, " * otherwise add these two. Either way Linux must not use it: see reserved-memory.dtsi.");
    let _ = writeln!(
        w,
        " * The root config also needs pci_mmconfig_base = {:#x} and pci_is_virtual = 1 (the cells'",
        pci_mmconfig_base(sys.board)
    );
    let _ = writeln!(w, " * ivshmem device lives on that virtual PCI host), and hypervisor_memory outside this pool, e.g.");
    let _ = writeln!(
        w,
        " * {{ .phys_start = {:#x}, .size = {:#x} }}. Identical for every ivcbench cell on this board. */",
        HYPERVISOR_MEMORY.base, HYPERVISOR_MEMORY.size
    );
    let _ = writeln!(w, "\t\t/* ivcbench cells' RAM (tx, rx, interf) */ {{");
    let _ = writeln!(w, "\t\t\t.phys_start = {0:#x},\n\t\t\t.virt_start = {0:#x},\n\t\t\t.size = {1:#x},", cells.base, cells.size);
    let _ = writeln!(w, "\t\t\t.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE | JAILHOUSE_MEM_EXECUTE,\n\t\t}},");
    let area = Region { base: state.base, size: status.end() - state.base };
    let _ = writeln!(
        w,
        "\t\t/* ivcbench ivshmem region (state table {state}, read/write section from {:#x}) and the interferer's status page {status} */ {{",
        rw.base
    );
    let _ = writeln!(w, "\t\t\t.phys_start = {0:#x},\n\t\t\t.virt_start = {0:#x},\n\t\t\t.size = {1:#x},", area.base, area.size);
    let _ = writeln!(w, "\t\t\t.flags = JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE,\n\t\t}},");
    s
}

/// The root Linux's device-tree fragment that reserves the pool and Jailhouse's memory.
pub fn reserved_memory(sys: &System) -> String {
    let Layout { pool, reserved, .. } = layout(sys.config.suffix.col);
    format!(
        "/* ivcbench: keep the root cell's Linux off the memory of Jailhouse ({HYPERVISOR_MEMORY}) and of the cells ({pool}) on {}.\n \
         * Merge into the board's device tree (or boot Linux with mem={}M, which also works on the ZCU104's 2 GiB). */\n\
         / {{\n\treserved-memory {{\n\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n\t\tranges;\n\n\
         \t\tjailhouse@{:x} {{\n\t\t\treg = <0x0 {:#x} 0x0 {:#x}>;\n\t\t\tno-map;\n\t\t}};\n\t}};\n}};\n",
        sys.board.name,
        reserved.base >> 20,
        reserved.base,
        reserved.base,
        reserved.size
    )
}

/// The memory the root Linux may use: everything below the reservation (passed as `mem=`).
pub fn root_linux_mem(board: &ivc_proto::platform::Platform) -> u64 {
    RESERVED.base - board.ram_base
}

/// The name of the root cell ivcbench writes for the QEMU testbed.
pub const ROOT_CELL_NAME: &str = "ivc-root";

/// The whole root cell config of the QEMU testbed (`root.c`): the four cores, Linux's RAM below
/// the reservation plus the cells' pool (Jailhouse hands a cell's memory back to the root cell
/// and maps it there while images are loaded), QEMU's devices, Jailhouse's own memory at the top
/// of RAM, the hypervisor's console on uart1 (the root Linux's console too; uart0 is tx's alone),
/// and no ivshmem device of its own (Jailhouse links ivshmem peers by BDF, so one at the cells'
/// 00:01.0 would join their link).
pub fn root_cell_c(sys: &System) -> Result<String> {
    let b = sys.board;
    ensure!(is_qemu(b), "ivcbench writes the whole root cell for qemu-virt only; on {} merge root-cell-regions.c into the board's", b.name);
    let Gic::V3 { gicd, gicr } = b.gic else { bail!("{}: the QEMU testbed's root cell expects GICv3", b.name) };
    let Some(uart1) = b.uart2_base else { bail!("{}: the root Linux's console needs a second UART", b.name) };
    let ram = Region { base: b.ram_base, size: HYPERVISOR_MEMORY.base - b.ram_base };
    let mmio = Region { base: b.uart_base, size: b.ram_base - b.uart_base };
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "/* Jailhouse root cell `{ROOT_CELL_NAME}` for ivcbench's cells on QEMU virt");
    let _ = writeln!(w, " * (-machine virt,gic-version=3,virtualization=on,its=off -cpu cortex-a57 -smp {} -m 1G).", b.cores);
    let _ = writeln!(w, " * Generated by `ivcbench config --hypervisor jailhouse --platform qemu-virt`; regenerate rather than edit.");
    let _ = writeln!(
        w,
        " * Linux boots with mem={}M (below the cells' pool {POOL} and Jailhouse {HYPERVISOR_MEMORY})",
        root_linux_mem(b) >> 20
    );
    let _ = writeln!(w, " * and console=ttyAMA1: uart1 is the root's and the hypervisor's console, uart0 is tx's. */\n");
    let _ = writeln!(w, "#include <jailhouse/types.h>\n#include <jailhouse/cell-config.h>\n");
    let _ = writeln!(w, "struct {{\n\tstruct jailhouse_system header;\n\t__u64 cpus[1];");
    let _ = writeln!(w, "\tstruct jailhouse_memory mem_regions[3];\n\tstruct jailhouse_irqchip irqchips[1];");
    let _ = writeln!(w, "}} __attribute__((packed)) config = {{");
    let _ = writeln!(w, "\t.header = {{");
    let _ = writeln!(w, "\t\t.signature = JAILHOUSE_SYSTEM_SIGNATURE,");
    let _ = writeln!(w, "\t\t.revision = JAILHOUSE_CONFIG_REVISION,");
    let _ = writeln!(w, "\t\t.architecture = JAILHOUSE_ARM64,");
    let _ = writeln!(w, "\t\t.hypervisor_memory = {{");
    let _ = writeln!(w, "\t\t\t.phys_start = {},\n\t\t\t.size = {},", hex(HYPERVISOR_MEMORY.base), hex(HYPERVISOR_MEMORY.size));
    let _ = writeln!(w, "\t\t}},");
    let _ = writeln!(w, "\t\t.debug_console = {{");
    let _ = writeln!(w, "\t\t\t.address = {},\n\t\t\t.size = {},", hex(uart1), hex(PAGE));
    let _ = writeln!(w, "\t\t\t.type = JAILHOUSE_CON_TYPE_PL011,");
    let _ = writeln!(w, "\t\t\t.flags = JAILHOUSE_CON_ACCESS_MMIO | JAILHOUSE_CON_REGDIST_4,");
    let _ = writeln!(w, "\t\t}},");
    let _ = writeln!(w, "\t\t.platform_info = {{");
    let _ = writeln!(w, "\t\t\t.pci_mmconfig_base = {},", hex(pci_mmconfig_base(b)));
    let _ = writeln!(w, "\t\t\t.pci_mmconfig_end_bus = 0,\n\t\t\t.pci_is_virtual = 1,\n\t\t\t.pci_domain = 1,");
    let _ = writeln!(w, "\t\t\t.arm = {{");
    let _ = writeln!(w, "\t\t\t\t.gic_version = 3,\n\t\t\t\t.gicd_base = {},\n\t\t\t\t.gicr_base = {},", hex(gicd), hex(gicr));
    let _ = writeln!(w, "\t\t\t\t.maintenance_irq = 25,");
    let _ = writeln!(w, "\t\t\t}},");
    let _ = writeln!(w, "\t\t}},");
    let _ = writeln!(w, "\t\t.root_cell = {{");
    let _ = writeln!(w, "\t\t\t.name = \"{ROOT_CELL_NAME}\",");
    let _ = writeln!(w, "\t\t\t.cpu_set_size = sizeof(config.cpus),");
    let _ = writeln!(w, "\t\t\t.num_memory_regions = ARRAY_SIZE(config.mem_regions),");
    let _ = writeln!(w, "\t\t\t.num_irqchips = ARRAY_SIZE(config.irqchips),");
    let _ = writeln!(w, "\t\t\t.vpci_irq_base = 128 - 32,");
    let _ = writeln!(w, "\t\t}},");
    let _ = writeln!(w, "\t}},\n");
    let _ = writeln!(w, "\t.cpus = {{ {:#b} }},\n", (1u64 << b.cores) - 1);
    let _ = writeln!(w, "\t.mem_regions = {{");
    let regions: [(&str, Region, &str); 3] = [
        (
            "QEMU's devices from uart0 up to RAM (UARTs, RTC, fw_cfg, GPIO, virtio, PCIe windows)",
            mmio,
            "JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE | JAILHOUSE_MEM_IO",
        ),
        (
            "RAM: Linux's, the cells' pool, the ivshmem area (all but Jailhouse's own)",
            ram,
            "JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE | JAILHOUSE_MEM_EXECUTE",
        ),
        (
            "PCIe ECAM (high)",
            Region { base: 0x40_1000_0000, size: 0x1000_0000 },
            "JAILHOUSE_MEM_READ | JAILHOUSE_MEM_WRITE | JAILHOUSE_MEM_IO",
        ),
    ];
    for (what, r, flags) in regions {
        let _ = writeln!(w, "\t\t/* {what} */ {{");
        let _ = writeln!(w, "\t\t\t.phys_start = {0},\n\t\t\t.virt_start = {0},\n\t\t\t.size = {1},", hex(r.base), hex(r.size));
        let _ = writeln!(w, "\t\t\t.flags = {flags},\n\t\t}},");
    }
    let _ = writeln!(w, "\t}},\n");
    let _ = writeln!(w, "\t.irqchips = {{");
    let _ = writeln!(w, "\t\t/* GIC: every SPI the bitmap reaches starts with the root */ {{");
    let _ = writeln!(w, "\t\t\t.address = {},\n\t\t\t.pin_base = 32,", hex(gicd));
    let _ = writeln!(w, "\t\t\t.pin_bitmap = {{ 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }},");
    let _ = writeln!(w, "\t\t}},\n\t}},\n}};");
    Ok(s)
}

/// The `jailhouse` commands that create, load and start the cells, for a shell on the root cell:
/// cell configs in `cells/`, images in `images/` (relative to where it runs). Every cell is
/// created before any is loaded (on the QEMU testbed without icount, creating a cell while
/// another ran hung now and then), then loaded and started: interf first (the interference is on
/// before anything is measured), rx before tx (rx's handler should exist before tx can ring).
pub fn cell_commands(cells: &[Cell], cell_dir: &str, image_dir: &str) -> Vec<String> {
    let order = [Role::Interf, Role::Rx, Role::Tx];
    let ordered: Vec<&Cell> = order.iter().filter_map(|r| cells.iter().find(|c| c.role == *r)).collect();
    let mut v: Vec<String> = ordered.iter().map(|c| format!("jailhouse cell create {cell_dir}/{}.cell", c.role.name())).collect();
    for c in &ordered {
        v.push(format!("jailhouse cell load {} {image_dir}/{}.bin -a {}", c.name, c.role.name(), hex(c.reset)));
        v.push(format!("jailhouse cell start {}", c.name));
    }
    v
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
    for line in cell_commands(cells, ".", "images") {
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(
        w,
        "echo \"ivcbench: cells started; tx waits for 's' on its UART ({})\"",
        cells.iter().find(|c| c.role == Role::Tx).and_then(|c| c.console).map_or("none".into(), |c| hex(c.0))
    );
    s
}

/// Every file of one cell; `fork`: for the colouring fork (ESRGv3/jailhouse-shedlight).
pub fn files(sys: &System, fork: bool) -> Result<Vec<(&'static str, String)>> {
    let cells = cells_for(sys, fork)?;
    let mut out = Vec::new();
    for c in &cells {
        let name = match c.role {
            Role::Tx => "tx.c",
            Role::Rx => "rx.c",
            _ => "interf.c",
        };
        out.push((name, cell_c(sys, c)));
    }
    if is_qemu(sys.board) {
        out.push(("root.c", root_cell_c(sys)?));
    } else {
        out.push(("root-cell-regions.c", root_regions(sys)));
        out.push(("reserved-memory.dtsi", reserved_memory(sys)));
    }
    out.push(("run.sh", run_sh(sys, &cells)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{matrix, System};
    use super::*;
    use crate::names::{Configuration, Hypervisor};
    use ivc_proto::platform::{Platform, QEMU_VIRT, ZCU102, ZCU104};
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
        for p in [&ZCU104, &ZCU102, &QEMU_VIRT] {
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
                let files = files(&s, false).unwrap();
                let names: Vec<&str> = files.iter().map(|f| f.0).collect();
                let mut want = vec!["tx.c", "rx.c"];
                if n == 3 {
                    want.push("interf.c");
                }
                if p.name == "qemu-virt" {
                    want.extend(["root.c", "run.sh"]);
                } else {
                    want.extend(["root-cell-regions.c", "reserved-memory.dtsi", "run.sh"]);
                }
                // The interferer's status page: the same page in tx and interf, nowhere else.
                let status: Vec<(Role, &Mem)> =
                    cells.iter().flat_map(|c| c.mems.iter().filter(|m| m.what == "interferer status page").map(|m| (c.role, m))).collect();
                if n == 3 {
                    assert_eq!((status.len(), status[0].0, status[1].0), (2, Role::Tx, Role::Interf));
                    assert_eq!(status[0].1, status[1].1);
                    assert_eq!(status[0].1.virt, ivc_proto::layout::interf_status_base(s.view.shmem_base));
                    assert_eq!((status[0].1.phys, status[0].1.phys), (status_phys().base, rw.phys + rw.size));
                } else {
                    assert!(status.is_empty());
                }
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
                assert!(run.contains(&format!("jailhouse cell load ivc-tx images/tx.bin -a {:#x}", p.load_addr)), "{run}");
                // Every cell is created before any is loaded.
                assert!(run.rfind("jailhouse cell create").unwrap() < run.find("jailhouse cell load").unwrap(), "{run}");
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
        // State table, read/write section and the interferer's status page.
        assert!(root.contains(".phys_start = 0x7c1ff000,\n\t\t\t.virt_start = 0x7c1ff000,\n\t\t\t.size = 0x1003000,"), "{root}");
        assert!(reserved_memory(&s).contains("reg = <0x0 0x70000000 0x0 0x10000000>;"));
    }

    #[test]
    fn refused_cells_say_why() {
        for c in ["notif+col", "notif+interf+col", "notif+interf+col+hypcol"] {
            let e = cells(&sys(&ZCU104, c)).unwrap_err().to_string();
            assert!(e.contains("mainline Jailhouse has no cache colouring"), "{e}");
        }
    }

    #[test]
    fn the_qemu_root_cell_holds_the_cells_and_keeps_linux_below_them() {
        let s = sys(&QEMU_VIRT, "notif+interf");
        let root = root_cell_c(&s).unwrap();
        assert!(root.contains("\t.cpus = { 0b1111 },"), "{root}");
        assert!(root.contains(".hypervisor_memory = {\n\t\t\t.phys_start = 0x7fc00000,\n\t\t\t.size = 0x400000,"), "{root}");
        assert!(root.contains(".debug_console = {\n\t\t\t.address = 0x9040000,"), "{root}");
        assert!(root.contains(".pci_mmconfig_base = 0x8e00000,"), "{root}");
        assert!(root.contains(".gicd_base = 0x8000000,\n\t\t\t\t.gicr_base = 0x80a0000,"), "{root}");
        assert!(root.contains(&format!(".name = \"{ROOT_CELL_NAME}\",")));
        // No ivshmem device of the root's own: it would join the cells' link at 00:01.0.
        assert!(!root.contains("pci_devices"), "{root}");
        assert_eq!(root.matches('{').count(), root.matches('}').count());
        // The RAM region covers every cell's memory; Linux (mem=) ends where the pool starts.
        let ram = root.split("/* RAM").nth(1).unwrap();
        assert!(ram.contains(".phys_start = 0x40000000,\n\t\t\t.virt_start = 0x40000000,\n\t\t\t.size = 0x3fc00000,"), "{ram}");
        let ram = Region { base: 0x4000_0000, size: 0x3fc0_0000 };
        for c in cells(&s).unwrap() {
            for m in c.mems.iter().filter(|m| m.size > 0 && !m.flags.contains(&"JAILHOUSE_MEM_IO") && m.phys != 0) {
                assert!(ram.contains(&Region { base: m.phys, size: m.size }), "{} {}", c.name, m.what);
            }
        }
        assert_eq!(QEMU_VIRT.ram_base + root_linux_mem(&QEMU_VIRT), POOL.base);
        assert_eq!(root_linux_mem(&QEMU_VIRT), 768 << 20);
        // The cells take PL011 consoles there, and the ECAM is clear of their memory.
        let tx = cell_c(&s, &cells(&s).unwrap()[0]);
        assert!(tx.contains(".type = JAILHOUSE_CON_TYPE_PL011,") && tx.contains("/* uart0 */ {\n\t\t\t.phys_start = 0x9000000,"), "{tx}");
        assert!(root_cell_c(&sys(&ZCU104, "notif")).unwrap_err().to_string().contains("merge root-cell-regions.c"));
    }

    #[test]
    fn coloured_cells_take_the_forks_format_and_disjoint_physical_spans() {
        for p in [&ZCU104, &ZCU102] {
            for config in ["notif+col", "notif+interf+col"] {
                let s = sys(p, config);
                let c = cells_for(&s, true).unwrap_or_else(|e| panic!("{e:#}"));
                let (tx, rx) = (&c[0], &c[1]);
                assert_eq!((tx.colour_ranges(), rx.colour_ranges()), (vec![(0, 8)], vec![(0, 8)]));
                let coloured = |c: &Cell, what: &str| c.mems.iter().find(|m| m.what == what).unwrap().flags.contains(&COL_FLAG);
                for cell in [tx, rx] {
                    assert!(coloured(cell, "RAM") && coloured(cell, "ivshmem read/write section") && coloured(cell, "ivshmem state table"));
                }
                // 64 MiB on 8 of 16 colours spans 128 MiB (and a colour period): the slots hold it.
                let ram = tx.mems.iter().find(|m| m.what == "RAM").unwrap();
                assert_eq!(tx.span(ram, 16), (128 << 20) + 16 * PAGE);
                assert!(tx.span(ram, 16) <= COL_SLOT + 16 * PAGE);
                let text = cell_c(&s, tx);
                assert!(!text.contains(".architecture"), "the fork's revision 13 has no architecture field:\n{text}");
                assert!(text.contains("\tstruct jailhouse_cache cache_regions[1];\n\tstruct jailhouse_irqchip irqchips[1];"), "{text}");
                assert!(text.contains(".num_cache_regions = ARRAY_SIZE(config.cache_regions),"), "{text}");
                assert!(text.contains("/* colours 0-7 */ {\n\t\t\t.start = 0,\n\t\t\t.size = 8,"), "{text}");
                assert!(text.contains("| JAILHOUSE_MEM_LOADABLE | JAILHOUSE_MEM_COLORED,"), "{text}");
                assert!(text.contains("colouring fork of Jailhouse"), "{text}");
                if c.len() == 3 {
                    let interf = &c[2];
                    assert_eq!(interf.colour_ranges(), vec![(8, 8)]);
                    // The status page is one page for tx and the interferer: never coloured.
                    assert!(!coloured(tx, "interferer status page") && !coloured(interf, "interferer status page"));
                }
                let root = root_regions(&s);
                assert!(root.contains(&format!(".phys_start = {:#x},", COL_POOL.base)), "{root}");
                assert!(reserved_memory(&s).contains("reg = <0x0 0x40000000 0x0 0x40000000>;"));
            }
            // The fork's format for the uncoloured cells too, without colours.
            let s = sys(p, "notif");
            let c = cells_for(&s, true).unwrap();
            assert!(c.iter().all(|c| c.fork && c.colours.is_none() && c.colour_ranges().is_empty()));
            assert!(!cell_c(&s, &c[0]).contains(".architecture") && !cell_c(&s, &c[0]).contains("cache_regions"));
        }
        let e = cells_for(&sys(&ZCU104, "notif+interf+col+hypcol"), true).unwrap_err().to_string();
        assert!(e.contains("colours the cells, not Jailhouse itself"), "{e}");
        let e = cells_for(&sys(&QEMU_VIRT, "notif+col"), true).unwrap_err().to_string();
        assert!(e.contains("ZCU104 and ZCU102"), "{e}");
        let e = cells(&sys(&ZCU104, "notif+col")).unwrap_err().to_string();
        assert!(e.contains("pass --jailhouse-colouring"), "{e}");
    }

    #[test]
    fn mem_flags_have_jailhouse_values() {
        assert_eq!(mem_flags(RAM_FLAGS).unwrap(), 0x47);
        assert_eq!(mem_flags(UART_FLAGS).unwrap(), 0x93);
        assert_eq!(mem_flags(COMM_FLAGS).unwrap(), 0x23);
        assert!(mem_flags(&["JAILHOUSE_MEM_DMA"]).is_err());
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
