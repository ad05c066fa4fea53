//! No hypervisor: tx, rx and the interferer are cores of one image. The shared region is plain
//! RAM that every core maps alike, and the doorbell is a software-generated interrupt (SGI) from
//! tx's core to rx's — the cheapest inter-core notification the hardware has, hence the floor.

use super::Backend;
use core::sync::atomic::AtomicU64;
use ivc_proto::layout::{ControlBlock, InterfStatus};
use ivc_proto::params::{flag, Params, Role};
use ivc_rt::{cpu, gic, irq, psci, uart, PLATFORM};

/// SGI used as the doorbell.
const DOORBELL_SGI: u32 = 1;
/// The core rx runs on.
pub const RX_CORE: usize = 1;
/// The core the interferer runs on.
pub const INTERF_CORE: usize = 2;

/// The interferer's status page. The one image's cores share one UART, tx's capture: a report
/// line from the interferer would take the console's lock and the UART while tx measures, so it
/// counts its passes here (a static every core maps alike) and tx reports them, as under the
/// hypervisors.
static STATUS: InterfStatus =
    InterfStatus { passes: AtomicU64::new(0), t: AtomicU64::new(0), bytes: AtomicU64::new(0), t0: AtomicU64::new(0) };

pub struct Baremetal;

impl Backend for Baremetal {
    const NAME: &'static str = "baremetal";
    const COMMON_COUNTER: bool = true;

    fn init(_role: Role) {
        // One image, one console: the board's first UART.
        uart::init();
        super::init_gic();
    }

    fn start_peers(p: &Params) {
        // A fresh control block: RAM keeps the last run's (a reset, a board's warm boot), and a
        // stale `ready` would let tx ring before rx has its handler.
        // SAFETY: the control block at shmem_base, mapped normal memory; rx and the interferer are
        // not running yet, so nobody else touches it.
        unsafe { core::ptr::write_bytes(PLATFORM.shmem_base as *mut u8, 0, core::mem::size_of::<ControlBlock>()) };
        cpu::start(RX_CORE, |_| crate::rx(&crate::params()));
        if p.has(flag::INTERF) {
            cpu::start(INTERF_CORE, |_| crate::apps::interf::run(&crate::params()));
        }
    }

    fn finish(p: &Params) -> ! {
        if crate::power_off_at_end(p) {
            psci::power_off();
        }
        loop {
            cpu::wait_for_interrupt();
        }
    }

    fn setup_tx() -> *mut u8 {
        PLATFORM.shmem_base as *mut u8
    }

    fn setup_rx(on_doorbell: fn(u32)) -> *mut u8 {
        irq::register(DOORBELL_SGI, on_doorbell);
        gic::enable(DOORBELL_SGI, 0x80);
        PLATFORM.shmem_base as *mut u8
    }

    fn ring() {
        gic::send_sgi(DOORBELL_SGI, RX_CORE);
    }

    fn placement() -> &'static str {
        "tx:0,rx:1,interf:2"
    }

    fn interf_status() -> Option<&'static InterfStatus> {
        Some(&STATUS)
    }
}
