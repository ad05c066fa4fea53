//! seL4 with the CAmkES VMM: tx, rx and the interferer are VMs of their own, one VMM component
//! each, each pinned to the core the configuration gives it (`ivcbench config --hypervisor sel4`).
//!
//! Shared memory and doorbell: the CAmkES cross-VM connector. Its dataport (the shared region) is
//! mapped into tx and rx at the view's `shmem_base`; the connection's event page lies one dataport
//! size below it. tx rings by writing to the event page's emit register: the write traps into
//! tx's VMM, which emits a seL4 notification to rx's VMM, which injects the connector's interrupt
//! into rx (the artifact rang the same way). The layout is ivc_proto::vm::sel4's, tested on the
//! host. Console: tx the board's first UART, rx its second, the interferer none.

use super::Backend;
use ivc_proto::layout::ControlBlock;
use ivc_proto::params::Role;
use ivc_proto::vm::sel4;
use ivc_rt::{gic, irq, PLATFORM};

pub struct Sel4;

// The placement string below names these cores.
const _: () = assert!(PLATFORM.role_cores[0] == 0 && PLATFORM.role_cores[1] == 1 && PLATFORM.role_cores[2] == 2);

fn event(off: u64) -> *mut u32 {
    (sel4::event_page(&PLATFORM) + off) as *mut u32
}

/// Checks that the connector the VMM set up is ivcbench's: its name is in the event page.
fn check_connection() {
    let mut name = [0u8; sel4::NAME_LEN];
    for (i, b) in name.iter_mut().enumerate() {
        // SAFETY: the connection's event page, which the VMM maps read-only into this VM (normal
        // memory, after this VM's RAM, as the configuration places it); the VMM wrote the name
        // before the VM started and never changes it.
        *b = unsafe { ((sel4::event_page(&PLATFORM) + sel4::NAME + i as u64) as *const u8).read_volatile() };
    }
    match sel4::decode_name(&name) {
        Some(n) if n == sel4::CONNECTION_NAME => {}
        other => panic!(
            "sel4: no ivcbench cross-VM connection at {:#x} (found {:?}): run this image in a VM of `ivcbench config --hypervisor sel4`",
            sel4::event_page(&PLATFORM),
            other
        ),
    }
}

/// rx's handler: clear the consumed-event counter, then run the app's.
static ON_EVENT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

fn on_crossvm_irq(intid: u32) {
    // SAFETY: the consumed-event counter of the event page; the write traps into this VM's VMM,
    // which stores the value (the VMM increments it per event; only this handler writes it).
    unsafe { event(sel4::CONSUME_COUNT).write_volatile(0) };
    let f = ON_EVENT.load(core::sync::atomic::Ordering::Acquire);
    if f != 0 {
        // SAFETY: ON_EVENT only ever holds 0 or an `fn(u32)` stored by setup_rx.
        let handler: fn(u32) = unsafe { core::mem::transmute::<usize, fn(u32)>(f) };
        handler(intid);
    }
}

impl Backend for Sel4 {
    const NAME: &'static str = "sel4";
    // With KernelArmVtimerUpdateVOffset off (the generated settings.cmake), seL4 leaves the
    // virtual offset at zero for every vCPU: the virtual counters are one.
    const COMMON_COUNTER: bool = true;

    fn init(role: Role) {
        // The VMM's virtual GIC sits at the board's distributor and CPU-interface addresses.
        super::init_vm(role);
    }

    fn setup_tx() -> *mut u8 {
        check_connection();
        // rx owns the control block's reset (setup_rx).
        PLATFORM.shmem_base as *mut u8
    }

    fn setup_rx(on_doorbell: fn(u32)) -> *mut u8 {
        check_connection();
        // A fresh control block: a dataport is not cleared between runs of the system image
        // (a warm reset keeps RAM), and a stale `ready` would let tx ring too early.
        // SAFETY: the control block at the start of the dataport, which the VMM maps read/write
        // into this VM at shmem_base (normal memory); tx reads it only after `ready`.
        unsafe { core::ptr::write_bytes(PLATFORM.shmem_base as *mut u8, 0, core::mem::size_of::<ControlBlock>()) };
        ON_EVENT.store(on_doorbell as usize, core::sync::atomic::Ordering::Release);
        irq::register(sel4::CROSSVM_IRQ, on_crossvm_irq);
        gic::enable(sel4::CROSSVM_IRQ, 0x80);
        PLATFORM.shmem_base as *mut u8
    }

    fn ring() {
        // SAFETY: the emit register of the connection's event page: the store traps into tx's
        // VMM, which emits the event to rx's; it touches no memory of ours. The dsb makes tx's
        // writes to the dataport visible before the store that rings.
        unsafe {
            core::arch::asm!("dsb ish", options(nostack));
            event(sel4::EMIT).write_volatile(sel4::EMIT_VALUE);
        }
    }

    fn placement() -> &'static str {
        "tx:vm0@cpu0,rx:vm1@cpu1,interf:vm2@cpu2"
    }
}
