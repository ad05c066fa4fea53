//! How tx and rx reach each other under a given hypervisor: where the shared region is, how tx
//! rings rx's doorbell and how rx takes it. Everything else in the apps is the same everywhere.

#[cfg(feature = "baremetal")]
mod baremetal;
#[cfg(feature = "baremetal")]
pub use baremetal::Baremetal as Active;
#[cfg(feature = "bao")]
mod bao;
#[cfg(feature = "bao")]
pub use bao::Bao as Active;
#[cfg(feature = "xen")]
mod xen;
#[cfg(feature = "xen")]
pub use xen::Xen as Active;
#[cfg(feature = "jailhouse")]
mod jailhouse;
#[cfg(feature = "jailhouse")]
pub use jailhouse::Jailhouse as Active;
#[cfg(feature = "sel4")]
mod sel4;
#[cfg(feature = "sel4")]
pub use sel4::Sel4 as Active;

use ivc_proto::layout::{ControlBlock, InterfStatus};
use ivc_proto::params::{Params, Role};
#[cfg(any(feature = "bao", feature = "jailhouse", feature = "sel4"))]
use ivc_rt::{uart, PLATFORM};

/// A hypervisor's inter-VM mechanism, as the apps use it.
pub trait Backend {
    /// The name written in captures (`baremetal`, `xen`, ...).
    const NAME: &'static str;
    /// Whether tx and rx read one counter, so rx's handler timestamp gives a one-way figure.
    const COMMON_COUNTER: bool;

    /// Brings up what `role` needs on the first core: interrupt controller, console.
    fn init(role: Role);
    /// With the all-in-one image (`Role::All`), starts rx and the interferer on their cores. A
    /// backend with one VM per role has no all-in-one image.
    fn start_peers(_p: &Params) {
        panic!("the {} image runs one role per VM; the host must patch role tx, rx or interf", Self::NAME);
    }
    /// Ends the run after tx's end record: power off (the QEMU testbed) or idle. By default it
    /// idles: a VM cannot stop the board or the other VMs, and the host stops at the end record.
    fn finish(_p: &Params) -> ! {
        loop {
            ivc_rt::cpu::wait_for_interrupt();
        }
    }
    /// Sets up tx's side (mapping, doorbell) and returns the shared region's start.
    fn setup_tx() -> *mut u8;
    /// Sets up rx's side; `on_doorbell` runs in rx's interrupt handler for every doorbell (its argument
    /// is the interrupt that carried it).
    fn setup_rx(on_doorbell: fn(u32)) -> *mut u8;
    /// Rings rx's doorbell once.
    fn ring();
    /// Where each VM runs, for the capture header (`tx:0,rx:1,interf:2`).
    fn placement() -> &'static str;
    /// The interferer's status page, where its console is missing, shared or trapped and it shares this page with tx
    /// (see ivc_proto::layout::InterfStatus); `None` where the interferer prints its own reports.
    fn interf_status() -> Option<&'static InterfStatus> {
        None
    }
}

/// Rings rx's doorbell once inside tx's path-length window (`Begin` .. `TxEnd`, docs/pathlen.md).
/// Not inlined: the markers are compiler barriers for memory accesses only, so inlined into the
/// caller's loop they let the compiler schedule the caller's register arithmetic (address
/// computations for the next load, loop counters) between them, and the window's count moved
/// with unrelated code. In a function of its own the window holds the doorbell's instructions
/// and the closing marker; the call, the prologue and the return lie outside it.
#[inline(never)]
pub fn ring_in_window() {
    ivc_rt::probe::begin();
    Active::ring();
    ivc_rt::probe::tx_end();
}

/// The control block at the start of a shared region returned by `setup_tx`/`setup_rx`.
pub fn control(shared: *mut u8) -> &'static ControlBlock {
    // SAFETY: `shared` is the start of the shared region, which the backend has mapped (normal
    // cacheable, inner shareable) for the life of the guest and which is at least SHMEM_SIZE
    // long; the control block is only ever accessed through its atomics, by tx and rx.
    unsafe { &*(shared as *const ControlBlock) }
}

/// The console of a VM that owns one of the board's UARTs: tx the first, rx the second, the
/// interferer none (two VMs on one UART would break each other's record lines). Nothing may touch
/// a UART before this: under a hypervisor the VM owns only its own.
#[cfg(any(feature = "bao", feature = "jailhouse", feature = "sel4"))]
pub fn console_per_vm(role: Role) {
    match role {
        Role::Rx => uart::set_base(PLATFORM.uart2_base.unwrap_or(PLATFORM.uart_base)),
        Role::Interf => uart::set_base(0),
        Role::Tx | Role::All => uart::init(),
    }
}

/// The interrupt controller of the platform's view (the board's, or the hypervisor's virtual one
/// at its addresses), ready on this core, with IRQs unmasked. (Jailhouse's cells read theirs from
/// the communication region instead.)
#[cfg(not(feature = "jailhouse"))]
pub fn init_gic() {
    ivc_rt::gic::init_distributor(ivc_rt::PLATFORM.gic);
    ivc_rt::gic::init_cpu();
    ivc_rt::irq::enable();
}

/// What a VM that owns a UART and sees its virtual GIC at the view's addresses needs first.
#[cfg(any(feature = "bao", feature = "sel4"))]
pub fn init_vm(role: Role) {
    console_per_vm(role);
    init_gic();
}
