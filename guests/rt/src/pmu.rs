//! The PMU cycle counter, an optional extra column next to the generic counter. Hypervisors may
//! trap PMU access from guests (Xen does unless vPMU is enabled), so nothing calls this by default.

use core::arch::asm;

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
            ec = in(reg) 0b101u64,
            c = in(reg) 1u64 << 31,
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
