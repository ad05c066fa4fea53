//! PSCI through the smccc crate: the conduit is SMC when we were entered at EL2 (QEMU's built-in
//! firmware then answers SMC), HVC when entered at EL1 under a hypervisor or bare QEMU.

use core::sync::atomic::{AtomicBool, Ordering};
use smccc::{psci, Hvc, Smc};

/// How PSCI calls reach the firmware or hypervisor that implements them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    Hvc,
    Smc,
}

static USE_SMC: AtomicBool = AtomicBool::new(false);

/// Chooses the conduit; boot sets it from the EL it was entered at, a backend may override it.
pub fn set_conduit(conduit: Conduit) {
    USE_SMC.store(conduit == Conduit::Smc, Ordering::Relaxed);
}

/// The conduit PSCI calls use.
pub fn conduit() -> Conduit {
    if USE_SMC.load(Ordering::Relaxed) {
        Conduit::Smc
    } else {
        Conduit::Hvc
    }
}

/// Starts core `mpidr` at `entry` with x0 = `context`.
pub fn cpu_on(mpidr: u64, entry: u64, context: u64) -> Result<(), psci::error::Error> {
    if USE_SMC.load(Ordering::Relaxed) {
        psci::cpu_on::<Smc>(mpidr, entry, context)
    } else {
        psci::cpu_on::<Hvc>(mpidr, entry, context)
    }
}

/// Turns the machine (or, under a hypervisor, this VM) off; spins if that fails.
pub fn power_off() -> ! {
    let _ = if USE_SMC.load(Ordering::Relaxed) { psci::system_off::<Smc>() } else { psci::system_off::<Hvc>() };
    loop {
        core::hint::spin_loop();
    }
}

/// Resets the machine (or, under a hypervisor, this VM); spins if that fails.
pub fn reset() -> ! {
    let _ = if USE_SMC.load(Ordering::Relaxed) { psci::system_reset::<Smc>() } else { psci::system_reset::<Hvc>() };
    loop {
        core::hint::spin_loop();
    }
}
