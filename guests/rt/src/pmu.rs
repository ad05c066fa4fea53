//! This core's PMU (PMUv3): what it offers, event counters programmed through PMSELR_EL0 and
//! PMXEVTYPER_EL0/PMXEVCNTR_EL0, and the cycle counter.
//!
//! The indirect registers are used on purpose: Xen traps every PMU access of a domain without
//! vPMU and emulates the indirect ones (as reading zero) but injects an undefined instruction for
//! PMEVTYPER<n>_EL0/PMEVCNTR<n>_EL0, so only this way a guest learns there is nothing to count
//! instead of dying. Hypervisors may trap PMU access (Xen does unless vPMU is enabled), so nothing
//! calls this unless a run asks for PMU events (docs/pmu.md).

use core::arch::asm;
use ivc_proto::pmu::{Counter, El};

/// PMCR_EL0 bits: E enables, P resets the event counters, C the cycle counter.
const PMCR_E: u64 = 1 << 0;
const PMCR_P: u64 = 1 << 1;
const PMCR_C: u64 = 1 << 2;
/// PMSELR_EL0.SEL value that makes PMXEVTYPER_EL0 reach PMCCFILTR_EL0.
const SEL_CYCLES: u64 = 31;
/// The cycle counter's bit in PMCNTENSET/CLR_EL0.
const CYCLE_BIT: u64 = 1 << 31;

/// What this core's PMU says about itself, as the guest sees it.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    /// Event counters available (PMCR_EL0.N, which a hypervisor lowers with MDCR_EL2.HPMN or
    /// makes 0 by emulating PMCR as zero).
    pub counters: u32,
    /// Common events 0x00-0x3F implemented: PMCEID0_EL0[31:0], then PMCEID1_EL0[31:0] above.
    pub ceid: u64,
    /// Events 0x4000-0x403F (PMUv3p1): the upper halves of PMCEID0/1_EL0, the same way.
    pub ceid_hi: u64,
    /// Whether EL2 is implemented (ID_AA64PFR0_EL1.EL2): without it the NSH filter bit is RES0
    /// and an `_el2` counter counts nothing.
    pub el2: bool,
}

/// Reads what the PMU offers. Under Xen without vPMU every register here reads as zero.
pub fn info() -> Info {
    let (pmcr, c0, c1, pfr0): (u64, u64, u64, u64);
    // SAFETY: reads of this core's PMU identification registers and of ID_AA64PFR0_EL1; none has
    // side effects (a hypervisor that traps them emulates the read).
    unsafe {
        asm!(
            "mrs {pmcr}, pmcr_el0",
            "mrs {c0}, pmceid0_el0",
            "mrs {c1}, pmceid1_el0",
            "mrs {pfr0}, id_aa64pfr0_el1",
            pmcr = out(reg) pmcr,
            c0 = out(reg) c0,
            c1 = out(reg) c1,
            pfr0 = out(reg) pfr0,
            options(nomem, nostack)
        )
    };
    Info {
        counters: (pmcr >> 11 & 0x1f) as u32,
        ceid: (c0 & 0xffff_ffff) | (c1 << 32),
        ceid_hi: (c0 >> 32) | (c1 >> 32 << 32),
        el2: pfr0 >> 8 & 0xf != 0,
    }
}

/// Selects counter `sel` for the next PMXEVTYPER/PMXEVCNTR access.
#[inline(always)]
fn select(sel: u64) {
    // SAFETY: PMSELR_EL0 only chooses which counter the indirect registers reach.
    unsafe { asm!("msr pmselr_el0, {}", "isb", in(reg) sel, options(nomem, nostack)) };
}

/// Programs event counters 0.. with `counters` (at most [`Info::counters`] of them) and the cycle
/// counter with `cycles_el`, enables exactly those, and starts counting.
pub fn program(counters: &[Counter], cycles_el: El) {
    for (i, c) in counters.iter().enumerate() {
        select(i as u64);
        // SAFETY: PMXEVTYPER_EL0 sets the event and filter of the counter selected above, one of
        // this core's; nothing else on this core uses the PMU while a run records.
        unsafe { asm!("msr pmxevtyper_el0, {}", in(reg) c.typer(), options(nomem, nostack)) };
    }
    select(SEL_CYCLES);
    let enable = ((1u64 << counters.len()) - 1) | CYCLE_BIT;
    // SAFETY: PMCCFILTR_EL0 (through PMXEVTYPER with SEL=31) filters the cycle counter;
    // PMINTENCLR masks every overflow interrupt (none is wanted: a sample is far shorter than a
    // 32-bit wrap); PMCNTENCLR/SET enable exactly the programmed counters; PMCR.E starts them.
    unsafe {
        asm!(
            "msr pmxevtyper_el0, {filter}",
            "msr pmintenclr_el1, {all}",
            "msr pmcntenclr_el0, {all}",
            "msr pmcntenset_el0, {enable}",
            "mrs {t}, pmcr_el0",
            "orr {t}, {t}, {e}",
            "msr pmcr_el0, {t}",
            "isb",
            filter = in(reg) cycles_el.typer_bits(),
            all = in(reg) u64::MAX >> 32,
            enable = in(reg) enable,
            e = in(reg) PMCR_E,
            t = out(reg) _,
            options(nomem, nostack)
        )
    };
}

/// Resets every event counter and the cycle counter to 0 (they keep counting).
#[inline(always)]
pub fn reset() {
    // SAFETY: PMCR_EL0.P and .C are write-one-to-reset actions on this core's counters; E stays.
    unsafe {
        asm!(
            "mrs {t}, pmcr_el0",
            "orr {t}, {t}, {pc}",
            "msr pmcr_el0, {t}",
            "isb",
            t = out(reg) _,
            pc = in(reg) PMCR_P | PMCR_C,
            // Not `nomem`: the reset must stay before the doorbell's memory accesses.
            options(nostack)
        )
    };
}

/// Reads event counters 0..`out.len() - 1` into `out` and the cycle counter into its last slot.
/// Event counters are 32 bits wide (PMUv3 before p5), so only their low half is kept.
#[inline(always)]
pub fn read(out: &mut [u64]) {
    let Some((cycles, events)) = out.split_last_mut() else { return };
    // SAFETY: reading PMCCNTR_EL0 has no side effects; the isb orders it after what came before
    // (and without `nomem` the compiler keeps it after the acknowledgement's load).
    unsafe { asm!("isb", "mrs {}, pmccntr_el0", out(reg) * cycles, options(nostack)) };
    for (i, v) in events.iter_mut().enumerate() {
        select(i as u64);
        let x: u64;
        // SAFETY: reading the counter selected above has no side effects.
        unsafe { asm!("mrs {}, pmxevcntr_el0", out(reg) x, options(nomem, nostack)) };
        *v = x & 0xffff_ffff;
    }
}

/// Stops every counter (PMCR_EL0.E = 0), so that what follows a run does not count.
pub fn stop() {
    // SAFETY: clearing PMCR_EL0.E stops this core's counters; nothing else uses them.
    unsafe {
        asm!(
            "mrs {t}, pmcr_el0",
            "bic {t}, {t}, {e}",
            "msr pmcr_el0, {t}",
            "isb",
            t = out(reg) _,
            e = in(reg) PMCR_E,
            options(nomem, nostack)
        )
    };
}

/// Enables and resets PMCCNTR_EL0 on this core.
pub fn enable_cycle_counter() {
    // SAFETY: PMCR_EL0.E|C enables the counters and resets the cycle counter; PMCNTENSET_EL0
    // bit 31 enables the cycle counter. These are this core's own registers.
    unsafe {
        asm!(
            "mrs {t}, pmcr_el0",
            "orr {t}, {t}, {ec}",
            "msr pmcr_el0, {t}",
            "msr pmcntenset_el0, {c}",
            "isb",
            t = out(reg) _,
            ec = in(reg) PMCR_E | PMCR_C,
            c = in(reg) CYCLE_BIT,
            options(nostack)
        )
    };
}

/// Cycles counted since [`enable_cycle_counter`].
#[inline(always)]
pub fn cycles() -> u64 {
    let v: u64;
    // SAFETY: reading PMCCNTR_EL0 has no side effects.
    unsafe { asm!("isb", "mrs {}, pmccntr_el0", out(reg) v, options(nomem, nostack)) };
    v
}
