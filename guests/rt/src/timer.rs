//! The Arm generic timer: the counter every measurement reads, and sleeps.

use crate::gic;
use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};

/// The EL1 virtual timer's PPI.
pub const VIRTUAL_TIMER_PPI: u32 = 27;

/// Counter ticks now, for measurements: CNTVCT_EL0, or CNTPCT_EL0 with the `physical-counter`
/// feature. The isb keeps the read from being hoisted above the code it is meant to time.
#[inline(always)]
pub fn now() -> u64 {
    let v: u64;
    #[cfg(feature = "physical-counter")]
    // SAFETY: reading CNTPCT_EL0 has no side effects; the hypervisor lets EL1 read it
    // (CNTHCTL_EL2.EL1PCTEN).
    unsafe {
        asm!("isb", "mrs {}, cntpct_el0", out(reg) v, options(nomem, nostack))
    };
    #[cfg(not(feature = "physical-counter"))]
    // SAFETY: reading CNTVCT_EL0 has no side effects; EL1 access is always allowed.
    unsafe {
        asm!("isb", "mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack))
    };
    v
}

/// The virtual counter, which the virtual timer compares against.
fn virtual_now() -> u64 {
    let v: u64;
    // SAFETY: reading CNTVCT_EL0 has no side effects; EL1 access is always allowed.
    unsafe { asm!("isb", "mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Counter frequency in Hz (CNTFRQ_EL0, set by firmware; 62.5 MHz on QEMU virt, 100 MHz on the
/// ZCU boards). Carried in every capture so nobody has to assume it.
pub fn freq() -> u64 {
    let v: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { asm!("mrs {}, cntfrq_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Counter ticks in `ns` nanoseconds.
pub fn ticks(ns: u64) -> u64 {
    (ns as u128 * freq() as u128 / 1_000_000_000) as u64
}

/// The [`now`] value `ns` nanoseconds from now, for bounded spin-waits with [`passed`].
pub fn deadline(ns: u64) -> u64 {
    now() + ticks(ns)
}

/// Whether [`now`] has reached `deadline`.
pub fn passed(deadline: u64) -> bool {
    now() >= deadline
}

fn set_ctl(v: u64) {
    // SAFETY: CNTV_CTL_EL0 is this core's own virtual timer, used only by sleep_ns.
    unsafe { asm!("msr cntv_ctl_el0, {}", "isb", in(reg) v, options(nomem, nostack)) };
}

static HANDLER_SET: AtomicBool = AtomicBool::new(false);

/// Masks the timer so its level interrupt drops; the sleeping loop sees the deadline passed.
fn on_timer(_: u32) {
    set_ctl(0b10);
}

/// Sleeps at least `ns` nanoseconds in `wfi`. Needs the GIC set up on this core
/// ([`gic::init_distributor`], [`gic::init_cpu`]); leaves IRQs masked or not as it found them.
///
/// The core waits with IRQs masked: a pending interrupt still ends `wfi`, and no wake-up can slip
/// in between the deadline check and the `wfi`. Interrupts other than the timer's are taken when
/// the sleep ends (if IRQs were unmasked). Under QEMU's icount a sleeping core lets virtual time
/// jump ahead, so sleeps cost no emulation time; a spin would.
pub fn sleep_ns(ns: u64) {
    if ns == 0 {
        return;
    }
    if !HANDLER_SET.swap(true, Ordering::AcqRel) {
        crate::irq::register(VIRTUAL_TIMER_PPI, on_timer);
    }
    gic::enable(VIRTUAL_TIMER_PPI, 0xa0);
    let deadline = virtual_now() + ticks(ns);
    let was_enabled = crate::irq::enabled();
    crate::irq::disable();
    // SAFETY: CNTV_CVAL_EL0 is this core's own compare register.
    unsafe { asm!("msr cntv_cval_el0, {}", in(reg) deadline, options(nomem, nostack)) };
    set_ctl(1);
    while virtual_now() < deadline {
        // SAFETY: wfi only waits; the timer (enabled above) or any other interrupt ends it.
        unsafe { asm!("wfi", options(nomem, nostack)) };
    }
    set_ctl(0b10);
    if was_enabled {
        crate::irq::enable();
    }
}
