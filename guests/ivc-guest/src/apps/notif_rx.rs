//! notif, rx side: acknowledge every doorbell from the interrupt handler, stamping its entry.

use crate::backend::{control, Active, Backend};
use core::sync::atomic::{
    AtomicPtr,
    Ordering::{Acquire, Relaxed, Release},
};
use ivc_proto::layout::{ControlBlock, RX_READY};
use ivc_proto::params::{flag, Fault, Params};
use ivc_rt::{cache, counter, cpu, probe};

static CTL: AtomicPtr<ControlBlock> = AtomicPtr::new(core::ptr::null_mut());
static INV_ICACHE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
/// The doorbell to ignore (`Fault::LoseNotification`), as tx's sequence number; 0 = none.
static IGNORE_SEQ: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Bytes rx writes over while it waits: a Cortex-A53/A57 L1D is 32 KiB.
const L1D_SIZE: usize = 32 << 10;
static mut DIRT: [u64; L1D_SIZE / 8] = [0; L1D_SIZE / 8];

fn on_doorbell(_intid: u32) {
    let entry = counter::now();
    if INV_ICACHE.load(Relaxed) {
        cache::invalidate_icache();
    }
    let ctl = CTL.load(Acquire);
    if let Some(ctl) = core::ptr::NonNull::new(ctl) {
        // SAFETY: CTL points to the control block in the mapped shared region (see control()).
        let ctl = unsafe { ctl.as_ref() };
        let seq = ctl.tx.seq.load(Acquire);
        if seq == IGNORE_SEQ.load(Relaxed) {
            return;
        }
        if seq != ctl.rx.ack.load(Relaxed) {
            ctl.rx.handled.fetch_add(1, Relaxed);
        }
        ctl.rx.handler_ts.store(entry, Relaxed);
        ctl.rx.ack.store(seq, Release);
        probe::rx_ack();
    }
}

pub fn run(p: &Params) -> ! {
    INV_ICACHE.store(p.has(flag::RX_INV_ICACHE), Relaxed);
    if p.fault == Fault::LoseNotification {
        // Sequence numbers start at 1 and count the warm-ups too.
        IGNORE_SEQ.store(p.warmups as u64 + p.fault_at as u64 + 1, Relaxed);
    }
    let shared = Active::setup_rx(on_doorbell);
    let ctl = control(shared);
    CTL.store(ctl as *const ControlBlock as *mut ControlBlock, Release);
    ctl.rx.ready.store(RX_READY, Release);
    let dirty = p.has(flag::RX_DIRTY_L1);
    let mut round = 0u64;
    loop {
        // Idle until the first doorbell, so nothing runs before the host starts the run.
        if dirty && ctl.rx.ack.load(Relaxed) != 0 {
            // Keep L1D full of rx's own dirty lines, so the handler meets a cold cache as it would
            // after real work (the artifact's rx did the same).
            round += 1;
            let base = core::ptr::addr_of_mut!(DIRT) as *mut u64;
            for i in (0..L1D_SIZE / 8).step_by(8) {
                // SAFETY: DIRT is rx's private static, only this loop touches it; i < its length.
                unsafe { base.add(i).write_volatile(round) };
                if i % 512 == 0 {
                    cpu::relax();
                }
            }
        } else {
            cpu::wait_for_interrupt();
        }
    }
}
