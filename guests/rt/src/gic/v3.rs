//! GICv3: distributor and redistributors in MMIO, CPU interface in system registers.
//! Offsets and bits from the GICv3/v4 architecture specification (IHI 0069).

use super::{read32, write32, write8};
use core::arch::asm;

// Distributor.
const GICD_CTLR: u64 = 0x0000;
const GICD_IGROUPR: u64 = 0x0080;
const GICD_ISENABLER: u64 = 0x0100;
const GICD_IPRIORITYR: u64 = 0x0400;
const GICD_IROUTER: u64 = 0x6000;
/// GICD_CTLR: ARE (affinity routing; the only mode of a non-secure or single-security view),
/// EnableGrp1 (EnableGrp1NS / EnableGrp1A, bit 1) and, for a single-security GIC, EnableGrp0.
const CTLR_ARE: u32 = 1 << 4;
const CTLR_ENABLE_G1: u32 = 1 << 1;
const CTLR_RWP: u32 = 1 << 31;

// Redistributor: RD_base frame, then the SGI_base frame 64 KiB above it.
const GICR_TYPER: u64 = 0x0008;
const GICR_WAKER: u64 = 0x0014;
const SGI_BASE: u64 = 0x1_0000;
const GICR_IGROUPR0: u64 = SGI_BASE + 0x0080;
const GICR_ISENABLER0: u64 = SGI_BASE + 0x0100;
const GICR_IPRIORITYR: u64 = SGI_BASE + 0x0400;
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
const TYPER_LAST: u64 = 1 << 4;
const TYPER_VLPIS: u64 = 1 << 1;

pub fn init_distributor(gicd: u64) {
    write32(gicd + GICD_CTLR, CTLR_ARE | CTLR_ENABLE_G1);
    while read32(gicd + GICD_CTLR) & CTLR_RWP != 0 {}
}

fn mpidr() -> u64 {
    let v: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) v, options(nomem, nostack)) };
    v
}

/// The calling core's redistributor: the frame whose GICR_TYPER affinity matches MPIDR (a
/// hypervisor need not lay frames out by core number).
fn my_rd(gicr: u64) -> u64 {
    let me = mpidr();
    let aff = (me & 0xff_ffff) | ((me >> 32 & 0xff) << 24);
    let mut rd = gicr;
    loop {
        let typer = read32(rd + GICR_TYPER) as u64 | (read32(rd + GICR_TYPER + 4) as u64) << 32;
        if typer >> 32 == aff {
            return rd;
        }
        if typer & TYPER_LAST != 0 {
            crate::console::emergency(format_args!("ivc-guest panic: no GICv3 redistributor for MPIDR {me:#x}"));
            crate::psci::power_off();
        }
        rd += if typer & TYPER_VLPIS != 0 { 0x4_0000 } else { 0x2_0000 };
    }
}

pub fn init_cpu(gicr: u64) {
    let rd = my_rd(gicr);
    write32(rd + GICR_WAKER, read32(rd + GICR_WAKER) & !WAKER_PROCESSOR_SLEEP);
    while read32(rd + GICR_WAKER) & WAKER_CHILDREN_ASLEEP != 0 {}
    write32(rd + GICR_IGROUPR0, !0);
    // SAFETY: ICC_SRE_EL1.SRE selects the system-register interface (EL2 allowed it at boot, or
    // the hypervisor provides it); PMR = 0xff lets every priority through; IGRPEN1 enables group 1,
    // the group every interrupt here belongs to. These registers are this core's own.
    unsafe {
        asm!(
            "mrs {t}, S3_0_C12_C12_5",
            "orr {t}, {t}, #1",
            "msr S3_0_C12_C12_5, {t}",
            "isb",
            "msr S3_0_C4_C6_0, {pmr}",
            "msr S3_0_C12_C12_3, xzr",
            "msr S3_0_C12_C12_7, {one}",
            "isb",
            t = out(reg) _,
            pmr = in(reg) 0xffu64,
            one = in(reg) 1u64,
            options(nostack)
        )
    };
}

pub fn enable(gicd: u64, gicr: u64, intid: u32, priority: u8) {
    let bit = 1 << (intid % 32);
    if intid < 32 {
        let rd = my_rd(gicr);
        write8(rd + GICR_IPRIORITYR + intid as u64, priority);
        write32(rd + GICR_ISENABLER0, bit);
    } else {
        let word = (intid / 32) as u64 * 4;
        write32(gicd + GICD_IGROUPR + word, read32(gicd + GICD_IGROUPR + word) | bit);
        write8(gicd + GICD_IPRIORITYR + intid as u64, priority);
        let route = mpidr() & 0xff_00ff_ffff;
        let r = gicd + GICD_IROUTER + intid as u64 * 8;
        write32(r, route as u32);
        write32(r + 4, (route >> 32) as u32);
        write32(gicd + GICD_ISENABLER + word, bit);
    }
}

pub fn send_sgi(intid: u32, core: usize) {
    // ICC_SGI1R_EL1: INTID in [27:24], target list (Aff0 bit mask) in [15:0], Aff1-3 = 0.
    let v = ((intid as u64 & 0xf) << 24) | (1u64 << (core & 0xf));
    // SAFETY: writing ICC_SGI1R_EL1 only raises an SGI; the dsb makes the shared-memory writes that
    // precede the doorbell visible before the interrupt can be taken.
    unsafe { asm!("dsb ishst", "msr S3_0_C12_C11_5, {}", "isb", in(reg) v, options(nostack)) };
}

pub fn ack() -> u32 {
    let v: u64;
    // SAFETY: reading ICC_IAR1_EL1 acknowledges the interrupt the dispatcher is about to handle.
    unsafe { asm!("mrs {}, S3_0_C12_C12_0", out(reg) v, options(nostack)) };
    v as u32 & 0xff_ffff
}

pub fn eoi(intid: u32) {
    // SAFETY: writing ICC_EOIR1_EL1 with the acknowledged INTID ends its handling (EOImode 0).
    unsafe { asm!("msr S3_0_C12_C12_1, {}", "isb", in(reg) intid as u64, options(nostack)) };
}
