//! Interrupt handlers by INTID, and the dispatcher the IRQ vector calls.

use crate::gic;
use core::sync::atomic::{AtomicUsize, Ordering};

/// INTIDs with a handler slot: SGIs, PPIs and the SPIs our platforms use.
pub const MAX_INTID: usize = 256;

/// A handler, stored as the address of an `fn(u32)`; 0 = none.
static HANDLERS: [AtomicUsize; MAX_INTID] = [const { AtomicUsize::new(0) }; MAX_INTID];

/// Runs `handler(intid)` for every `intid` interrupt taken on any core. Register before enabling.
pub fn register(intid: u32, handler: fn(u32)) {
    HANDLERS[intid as usize].store(handler as usize, Ordering::Release);
}

/// Called from the IRQ vector with every caller-saved register saved.
pub(crate) extern "C" fn rt_irq() {
    // GICv2's IAR also names the source core of an SGI, and EOIR wants it back unchanged.
    let raw = gic::ack();
    let intid = raw & 0x3ff;
    if intid >= 1020 {
        return; // Spurious: nothing to acknowledge.
    }
    if let Some(slot) = HANDLERS.get(intid as usize) {
        let f = slot.load(Ordering::Acquire);
        if f != 0 {
            // SAFETY: HANDLERS only ever holds 0 or the address of an `fn(u32)`, stored by
            // `register` from a value of exactly that type.
            let handler: fn(u32) = unsafe { core::mem::transmute::<usize, fn(u32)>(f) };
            handler(intid);
        }
    }
    gic::eoi(raw);
}

/// Unmasks IRQs on this core (PSTATE.I).
pub fn enable() {
    // SAFETY: clearing DAIF.I only lets interrupts be taken; the vector table is installed by
    // boot before any Rust code runs.
    unsafe { core::arch::asm!("msr daifclr, #2", options(nomem, nostack)) };
}

/// Whether IRQs are unmasked on this core.
pub fn enabled() -> bool {
    let daif: u64;
    // SAFETY: reading DAIF has no side effects.
    unsafe { core::arch::asm!("mrs {}, daif", out(reg) daif, options(nomem, nostack)) };
    daif & (1 << 7) == 0
}

/// Masks IRQs on this core.
pub fn disable() {
    // SAFETY: setting DAIF.I only defers interrupts.
    unsafe { core::arch::asm!("msr daifset, #2", options(nomem, nostack)) };
}
