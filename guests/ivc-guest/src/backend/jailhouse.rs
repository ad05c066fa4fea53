//! Jailhouse: tx, rx and the interferer are non-root cells of their own, each on the core the
//! configuration gives it (`ivcbench config --hypervisor jailhouse`); Linux in the root cell keeps
//! core 0 and creates, loads and starts them.
//!
//! Shared memory and doorbell: an ivshmem device on the cell's virtual PCI bus (tx is peer 0, rx
//! peer 1). The guest finds it through the PCI configuration space whose ECAM base the
//! communication region names, programs its register BAR, and takes the shared region from the
//! device's read/write section, which the configuration places at the view's `shmem_base`. tx
//! rings rx by writing rx's peer id to the DOORBELL register; Jailhouse raises rx's INTx, the SPI
//! `32 + vpci_irq_base + pin - 1`. The parsing is ivc_proto::ivshmem's, tested on the host against
//! a model of the device. Console: tx the board's first UART, rx its second, the interferer none;
//! with `+interf` the interferer counts its passes in a status page the cells of tx and the
//! interferer share (a plain memory region of both cell configurations), as under Bao.

use super::Backend;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use ivc_proto::ivshmem::{self, reg, ConfigSpace};
use ivc_proto::layout::{interf_status_base, ControlBlock, InterfStatus};
use ivc_proto::params::Role;
use ivc_proto::platform::Gic;
use ivc_proto::vm::jailhouse::{self as jh, comm};
use ivc_rt::{gic, irq, PLATFORM};

pub struct Jailhouse;

/// The device's register region (BAR 0), once programmed.
static REGS: AtomicU64 = AtomicU64::new(0);
/// The peer tx rings.
static TARGET: AtomicU32 = AtomicU32::new(jh::RX_PEER as u32);

// The placement string below names these cores.
const _: () = assert!(
    jh::cell_core(PLATFORM.role_cores[0]) == 1 && jh::cell_core(PLATFORM.role_cores[1]) == 2 && jh::cell_core(PLATFORM.role_cores[2]) == 3
);

fn comm_read<T: Copy>(off: u64) -> T {
    let at = jh::comm_region(&PLATFORM) + off;
    // SAFETY: the communication region Jailhouse maps (normal memory, read/write) into every cell
    // at the page after its RAM, as ivcbench's cell configuration says; the fields read here are
    // written by the hypervisor before the cell starts and do not change. Offsets are within the
    // structure (ivc_proto::vm::jailhouse::comm) and naturally aligned for `T`.
    unsafe { (at as *const T).read_volatile() }
}

/// The configuration space Jailhouse emulates for the cell at the ECAM base.
struct Ecam(u64);

impl ConfigSpace for Ecam {
    fn read32(&self, off: u32) -> u32 {
        // SAFETY: a 32-bit aligned read in the ECAM window (device memory in the identity map);
        // every access traps into Jailhouse, which emulates the cell's virtual PCI bus. Reads
        // have no side effects.
        unsafe { ((self.0 + off as u64) as *const u32).read_volatile() }
    }
    fn write32(&mut self, off: u32, v: u32) {
        // SAFETY: as in read32; only this cell's ivshmem function is written (BAR 0, command),
        // and only here, before any interrupt of the device is enabled.
        unsafe { ((self.0 + off as u64) as *mut u32).write_volatile(v) }
    }
}

fn reg_write(off: u64, v: u32) {
    let base = REGS.load(Ordering::Acquire);
    // SAFETY: a register of the ivshmem register region, which `device()` programmed into BAR 0
    // at a device-mapped page no memory region covers; Jailhouse traps and emulates every access.
    // Only this cell's own device is written.
    unsafe { ((base + off) as *mut u32).write_volatile(v) }
}

fn reg_read(off: u64) -> u32 {
    let base = REGS.load(Ordering::Acquire);
    // SAFETY: as in reg_write; reads of ID, MAX_PEERS and INT_CONTROL have no side effects.
    unsafe { ((base + off) as *const u32).read_volatile() }
}

/// Finds and programs the ivshmem device; returns the shared region and the INTID of its INTx.
fn device(expect_id: u16) -> (*mut u8, u32) {
    let ecam = comm_read::<u64>(comm::PCI_MMCONFIG_BASE);
    if ecam == 0 {
        panic!("jailhouse: the cell has no PCI configuration space (pci_mmconfig_base is 0 in the root cell config)");
    }
    let mut cs = Ecam(ecam);
    let bdf = ivshmem::find(&cs).unwrap_or_else(|e| panic!("jailhouse: {e} (is the ivshmem device in this cell's config?)"));
    let bar0 = jh::ivshmem_bar0(&PLATFORM);
    let d =
        ivshmem::probe(&mut cs, bdf, ivshmem::PROTO_UNDEFINED, bar0).unwrap_or_else(|e| panic!("jailhouse: ivshmem at {bdf:#06x}: {e}"));
    REGS.store(d.regs, Ordering::Release);
    let id = reg_read(reg::ID);
    if id != expect_id as u32 {
        panic!("jailhouse: this cell is ivshmem peer {id}, expected {expect_id} (tx 0, rx 1: check shmem_dev_id)");
    }
    let peers = reg_read(reg::MAX_PEERS);
    if peers < 2 {
        panic!("jailhouse: ivshmem reports {peers} peers");
    }
    let s = d.sections;
    if s.rw != PLATFORM.shmem_base || s.rw_size < ivc_proto::layout::SHMEM_SIZE as u64 {
        panic!(
            "jailhouse: the ivshmem read/write section is {:#x}+{:#x}, the image expects {:#x}+{:#x}: regenerate the cell configs",
            s.rw,
            s.rw_size,
            PLATFORM.shmem_base,
            ivc_proto::layout::SHMEM_SIZE
        );
    }
    let vpci_irq_base: u32 = comm_read(comm::VPCI_IRQ_BASE);
    (s.rw as *mut u8, ivshmem::intx_intid(vpci_irq_base, d.intx_pin))
}

impl Backend for Jailhouse {
    const NAME: &'static str = "jailhouse";
    // Jailhouse leaves CNTVOFF_EL2 at zero for every cell: the virtual counters are one.
    const COMMON_COUNTER: bool = true;

    fn init(role: Role) {
        super::console_per_vm(role);
        let magic: [u8; 6] = comm_read(comm::SIGNATURE);
        if magic != comm::MAGIC {
            panic!(
                "jailhouse: no communication region at {:#x}: run this image in a cell made by `ivcbench config --hypervisor jailhouse`",
                jh::comm_region(&PLATFORM)
            );
        }
        let rev: u16 = comm_read(comm::REVISION);
        if rev != comm::ABI_REVISION {
            panic!("jailhouse: communication region ABI revision {rev}, this image speaks {}", comm::ABI_REVISION);
        }
        // The GIC as Jailhouse presents it to cells (on the ZynqMP its GICC alias, not the board's).
        let gicd: u64 = comm_read(comm::GICD_BASE);
        let gic = match comm_read::<u8>(comm::GIC_VERSION) {
            2 => Gic::V2 { gicd, gicc: comm_read(comm::GICC_BASE) },
            3 => Gic::V3 { gicd, gicr: comm_read(comm::GICR_BASE) },
            v => panic!("jailhouse: unknown GIC version {v} in the communication region"),
        };
        gic::init_distributor(gic);
        gic::init_cpu();
        irq::enable();
    }

    fn setup_tx() -> *mut u8 {
        let (shared, _) = device(jh::TX_PEER);
        TARGET.store(jh::RX_PEER as u32, Ordering::Relaxed);
        // rx owns the control block's reset (setup_rx), as under Bao.
        shared
    }

    fn setup_rx(on_doorbell: fn(u32)) -> *mut u8 {
        let (shared, intid) = device(jh::RX_PEER);
        // A fresh control block: the shared memory keeps the last run's `ready` across cell
        // restarts, which would let tx ring before this handler exists.
        // SAFETY: the control block at the start of the ivshmem read/write section, mapped
        // read/write into this cell (normal memory); tx reads it only after `ready`, set after this.
        unsafe { core::ptr::write_bytes(shared, 0, core::mem::size_of::<ControlBlock>()) };
        irq::register(intid, on_doorbell);
        gic::enable(intid, 0x80);
        reg_write(reg::INT_CONTROL, reg::INT_ENABLE);
        shared
    }

    fn ring() {
        // SAFETY: a barrier only: tx's writes to the shared region are visible before the
        // doorbell write reaches the device (Jailhouse adds its own before raising the IRQ).
        unsafe { core::arch::asm!("dsb ish", options(nostack)) };
        reg_write(reg::DOORBELL, ivshmem::doorbell(TARGET.load(Ordering::Relaxed) as u16, jh::VECTOR));
    }

    fn interf_status() -> Option<&'static InterfStatus> {
        // SAFETY: the page after the shared region, where the cell configuration maps the
        // interferer's status page into tx and the interferer only (normal memory, for the life
        // of the cell; `+interf` only, and only then is it read or written); it is only accessed
        // through InterfStatus's atomics.
        Some(unsafe { &*(interf_status_base(PLATFORM.shmem_base) as *const InterfStatus) })
    }

    fn placement() -> &'static str {
        "tx:cell@cpu1,rx:cell@cpu2,interf:cell@cpu3"
    }
}
