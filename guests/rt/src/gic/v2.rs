//! GICv2 (GIC-400 on the Zynq UltraScale+ boards): distributor and CPU interface in MMIO.
//! Offsets and bits from the GICv2 architecture specification (IHI 0048).

use super::{read32, write32, write8};

const GICD_CTLR: u64 = 0x000;
const GICD_ISENABLER: u64 = 0x100;
const GICD_IPRIORITYR: u64 = 0x400;
const GICD_ITARGETSR: u64 = 0x800;
const GICD_SGIR: u64 = 0xF00;
const GICC_CTLR: u64 = 0x00;
const GICC_PMR: u64 = 0x04;
const GICC_IAR: u64 = 0x0C;
const GICC_EOIR: u64 = 0x10;

pub fn init_distributor(gicd: u64) {
    write32(gicd + GICD_CTLR, 1);
}

pub fn init_cpu(_gicd: u64, gicc: u64) {
    write32(gicc + GICC_PMR, 0xff);
    write32(gicc + GICC_CTLR, 1);
}

pub fn enable(gicd: u64, intid: u32, priority: u8) {
    write8(gicd + GICD_IPRIORITYR + intid as u64, priority);
    if intid >= 32 {
        // ITARGETSR of SGIs/PPIs is read-only; SPIs go to the calling core.
        write8(gicd + GICD_ITARGETSR + intid as u64, 1 << crate::cpu::id());
    }
    write32(gicd + GICD_ISENABLER + (intid / 32) as u64 * 4, 1 << (intid % 32));
}

pub fn send_sgi(gicd: u64, intid: u32, core: usize) {
    // SAFETY: dsb orders the shared-memory writes before the doorbell.
    unsafe { core::arch::asm!("dsb ishst", options(nostack)) };
    // Target list filter 0 (use the list), CPU target list in [23:16], INTID in [3:0].
    write32(gicd + GICD_SGIR, (1 << (16 + core)) | (intid & 0xf));
}

pub fn ack(gicc: u64) -> u32 {
    read32(gicc + GICC_IAR)
}

pub fn eoi(gicc: u64, intid: u32) {
    write32(gicc + GICC_EOIR, intid);
}
