//! The interrupt controller, GICv2 or GICv3, chosen at run time because a hypervisor may give a
//! VM another version or other addresses than the board has (Xen's domUs on QEMU see a GICv3 at
//! GICD 0x03001000, GICR 0x03020000).

mod v2;
mod v3;

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use ivc_proto::platform::Gic;

static VERSION: AtomicU8 = AtomicU8::new(0);
static BASE_D: AtomicU64 = AtomicU64::new(0);
static BASE_C_OR_R: AtomicU64 = AtomicU64::new(0);

fn cfg() -> Gic {
    let (d, x) = (BASE_D.load(Ordering::Relaxed), BASE_C_OR_R.load(Ordering::Relaxed));
    match VERSION.load(Ordering::Relaxed) {
        2 => Gic::V2 { gicd: d, gicc: x },
        _ => Gic::V3 { gicd: d, gicr: x },
    }
}

/// Sets up the distributor; once, on the first core, before [`init_cpu`] anywhere.
pub fn init_distributor(gic: Gic) {
    match gic {
        Gic::V2 { gicd, gicc } => {
            BASE_D.store(gicd, Ordering::Relaxed);
            BASE_C_OR_R.store(gicc, Ordering::Relaxed);
            VERSION.store(2, Ordering::Release);
            v2::init_distributor(gicd);
        }
        Gic::V3 { gicd, gicr } => {
            BASE_D.store(gicd, Ordering::Relaxed);
            BASE_C_OR_R.store(gicr, Ordering::Relaxed);
            VERSION.store(3, Ordering::Release);
            v3::init_distributor(gicd);
        }
    }
}

/// Sets up the calling core's CPU interface (and redistributor); on every core.
pub fn init_cpu() {
    match cfg() {
        Gic::V2 { gicd, gicc } => v2::init_cpu(gicd, gicc),
        Gic::V3 { gicr, .. } => v3::init_cpu(gicr),
    }
}

/// Enables `intid` at `priority` (lower is more urgent): an SGI or PPI on the calling core, an
/// SPI routed to the calling core.
pub fn enable(intid: u32, priority: u8) {
    match cfg() {
        Gic::V2 { gicd, .. } => v2::enable(gicd, intid, priority),
        Gic::V3 { gicd, gicr } => v3::enable(gicd, gicr, intid, priority),
    }
}

/// Sends SGI `intid` (0-15) to core `core` (MPIDR Aff0 = core, Aff1-3 = 0 on our platforms).
pub fn send_sgi(intid: u32, core: usize) {
    match cfg() {
        Gic::V2 { gicd, .. } => v2::send_sgi(gicd, intid, core),
        Gic::V3 { .. } => v3::send_sgi(intid, core),
    }
}

/// Acknowledges the highest-priority pending interrupt and returns the raw IAR value, whose low
/// 10 bits are the INTID (1020-1023: none).
pub(crate) fn ack() -> u32 {
    match cfg() {
        Gic::V2 { gicc, .. } => v2::ack(gicc),
        Gic::V3 { .. } => v3::ack(),
    }
}

/// Ends the handling of the interrupt `ack` returned (priority drop and deactivation together).
pub(crate) fn eoi(intid: u32) {
    match cfg() {
        Gic::V2 { gicc, .. } => v2::eoi(gicc, intid),
        Gic::V3 { .. } => v3::eoi(intid),
    }
}

/// 32-bit MMIO access to GIC registers. Every register used is 32 bits wide except GICD_IROUTER.
pub(crate) fn read32(addr: u64) -> u32 {
    // SAFETY: `addr` is a GIC register in the device-mapped MMIO window, computed from the base the
    // platform or backend gave to init_distributor; GIC registers have no read side effects
    // except the acknowledge registers, which only ack() reads.
    unsafe { (addr as *const u32).read_volatile() }
}

pub(crate) fn write32(addr: u64, v: u32) {
    // SAFETY: as in read32; the GIC is this guest's alone (or virtualised for it by the hypervisor).
    unsafe { (addr as *mut u32).write_volatile(v) }
}

pub(crate) fn write8(addr: u64, v: u8) {
    // SAFETY: as in write32; GICD/GICR_IPRIORITYR and GICD_ITARGETSR are byte-accessible.
    unsafe { (addr as *mut u8).write_volatile(v) }
}
