//! Bao: tx, rx and the interferer are VMs of their own, each on the core the configuration gives
//! it (`ivcbench config --hypervisor bao`).
//!
//! Shared memory: Bao's IPC object maps one shared-memory object into tx and rx at the same
//! guest-physical address, the platform's `shmem_base`. Doorbell: tx's IPC hypercall raises the
//! IPC's virtual interrupt in rx. Console: each VM owns a UART passed through by the configuration
//! (tx the board's first, rx its second); the interferer has none, so that no two VMs write one
//! UART and break each other's record lines.

use super::Backend;
use core::arch::asm;
use ivc_proto::layout::{interf_status_base, ControlBlock, InterfStatus};
use ivc_proto::params::Role;
use ivc_proto::vm::bao::{EVENT, HC_IPC, IPC_ID, IPC_IRQ};
use ivc_rt::{gic, irq, PLATFORM};

pub struct Bao;

// The placement string below names these cores.
const _: () = assert!(PLATFORM.role_cores[0] == 0 && PLATFORM.role_cores[1] == 1 && PLATFORM.role_cores[2] == 2);

impl Backend for Bao {
    const NAME: &'static str = "bao";
    // Bao leaves CNTVOFF_EL2 at zero for every VM, so the virtual counters of tx and rx are one.
    const COMMON_COUNTER: bool = true;

    fn init(role: Role) {
        super::init_vm(role);
    }

    fn setup_tx() -> *mut u8 {
        // rx owns the control block's reset (setup_rx): tx starts later, after the start key, and
        // reads nothing before rx's `ready`.
        PLATFORM.shmem_base as *mut u8
    }

    fn setup_rx(on_doorbell: fn(u32)) -> *mut u8 {
        // A fresh control block: Bao does not clear the shared-memory object, and a board's warm
        // reset keeps the last run's `ready`, which would let tx ring before this handler exists.
        // SAFETY: the control block at the start of the IPC's shared memory, which Bao maps into
        // this VM (normal memory) at shmem_base; tx reads it only after `ready`, set after this.
        unsafe { core::ptr::write_bytes(PLATFORM.shmem_base as *mut u8, 0, core::mem::size_of::<ControlBlock>()) };
        irq::register(IPC_IRQ, on_doorbell);
        gic::enable(IPC_IRQ, 0x80);
        PLATFORM.shmem_base as *mut u8
    }

    fn ring() {
        let rc: u64;
        // SAFETY: Bao's HC_IPC hypercall reads x0-x2 and writes its status to x0; it touches no
        // guest memory. x1-x3 are declared clobbered as well, so a hypervisor that uses them for
        // more results cannot corrupt values the compiler keeps there. The dsb makes tx's writes
        // to the shared region visible before rx can be interrupted.
        unsafe {
            asm!(
                "dsb ish",
                "hvc #0",
                inout("x0") HC_IPC => rc,
                inout("x1") IPC_ID => _,
                inout("x2") EVENT => _,
                lateout("x3") _,
                options(nostack)
            )
        };
        if rc != 0 {
            panic!("bao: HC_IPC failed ({rc:#x}): is IPC {IPC_ID} in this VM's configuration?");
        }
    }

    fn interf_status() -> Option<&'static InterfStatus> {
        // SAFETY: the page after the shared region, where the configuration maps shared-memory
        // object 1 into tx and the interferer only (normal memory, for the life of the VM); it is
        // only accessed through InterfStatus's atomics.
        Some(unsafe { &*(interf_status_base(PLATFORM.shmem_base) as *const InterfStatus) })
    }

    fn placement() -> &'static str {
        "tx:vm0@cpu0,rx:vm1@cpu1,interf:vm2@cpu2"
    }
}
