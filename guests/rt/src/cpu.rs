//! Cores: who am I, and starting the others through PSCI.

use core::arch::asm;
use core::sync::atomic::{AtomicUsize, Ordering};

/// This core's index (MPIDR_EL1 Aff0; every supported platform numbers its cores 0-3 there).
pub fn id() -> usize {
    let v: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) v, options(nomem, nostack)) };
    (v & 0xff) as usize
}

/// Entry functions of the secondary cores, as `fn(usize) -> !` addresses.
static ENTRIES: [AtomicUsize; crate::boot::MAX_CORES] = [const { AtomicUsize::new(0) }; crate::boot::MAX_CORES];

/// Starts `core`, which runs `entry(core)` with the MMU, caches, vectors and its GIC CPU interface
/// set up and IRQs unmasked.
pub fn start(core: usize, entry: fn(usize) -> !) {
    assert!(core < crate::boot::MAX_CORES, "core {core} has no stack");
    ENTRIES[core].store(entry as usize, Ordering::Release);
    let pc = crate::boot::secondary_entry as *const () as u64;
    if let Err(e) = crate::psci::cpu_on(core as u64, pc, core as u64) {
        crate::console::emergency(format_args!("ivc-guest panic: PSCI CPU_ON of core {core} failed: {e:?}"));
        crate::psci::power_off();
    }
}

pub(crate) extern "C" fn rt_secondary_main(core: usize) -> ! {
    crate::gic::init_cpu();
    crate::irq::enable();
    let f = ENTRIES[core].load(Ordering::Acquire);
    // SAFETY: ENTRIES[core] was set by `start` from an `fn(usize) -> !` before CPU_ON, and the
    // Release/Acquire pair makes it visible here.
    let entry: fn(usize) -> ! = unsafe { core::mem::transmute::<usize, fn(usize) -> !>(f) };
    entry(core)
}

/// Waits for an interrupt (taken, if IRQs are unmasked, before this returns).
pub fn wait_for_interrupt() {
    // SAFETY: wfi only waits.
    unsafe { asm!("wfi", options(nomem, nostack)) };
}

/// The body of every spin-wait. On hardware `yield` is a hint that costs next to nothing; under
/// QEMU's round-robin TCG (icount mode) it is where the emulator moves on to the next vCPU.
/// Without it a spinning vCPU keeps the whole emulated machine until its time slice ends (up to
/// 100 ms of virtual time), and every emulated latency would measure that slice instead.
#[inline(always)]
pub fn relax() {
    // SAFETY: `yield` is a hint with no architectural effect.
    unsafe { asm!("yield", options(nomem, nostack, preserves_flags)) };
}
