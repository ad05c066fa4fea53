//! transfer, rx side: read every chunk, check it word by word against the pattern tx wrote, and
//! acknowledge it. A chunk that does not match is counted bad, so no figure comes from data that
//! did not arrive.

use crate::backend::{control, Active, Backend};
use core::sync::atomic::{
    AtomicPtr,
    Ordering::{Acquire, Relaxed, Release},
};
use ivc_proto::layout::{pattern_word, ControlBlock, DATA_OFFSET, DATA_WORDS, RX_READY};
use ivc_proto::params::Params;

static SHARED: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());

/// Verifies and acknowledges chunk `seq`: rx's path-length window (`RxStart` .. `RxAck`). Not
/// inlined: one copy serves polling and the handler, so both modes count the same check, and
/// the caller's instructions cannot be scheduled between the markers.
#[inline(never)]
fn take(shared: *mut u8, seq: u64) {
    ivc_rt::probe::rx_start();
    let ctl = control(shared);
    let words = ((ctl.tx.len.load(Acquire) / 8) as usize).min(DATA_WORDS);
    // SAFETY: the data buffer follows the control block in the mapped shared region; tx does not
    // write it again until rx acknowledges `seq` below.
    let data = unsafe { core::slice::from_raw_parts(shared.add(DATA_OFFSET) as *const u64, words) };
    let ok = data.iter().enumerate().all(|(w, &v)| v == pattern_word(seq, w as u64));
    if ok {
        ctl.rx.verified.fetch_add(1, Relaxed);
    } else {
        ctl.rx.bad.fetch_add(1, Relaxed);
    }
    ctl.rx.ack.store(seq, Release);
    ivc_rt::probe::rx_ack();
}

/// Interrupt mode: the doorbell says chunk `tx.seq` is ready.
fn on_doorbell(_intid: u32) {
    let shared = SHARED.load(Acquire);
    if !shared.is_null() {
        take(shared, control(shared).tx.seq.load(Acquire));
    }
}

pub fn run(_p: &Params) -> ! {
    let shared = Active::setup_rx(on_doorbell);
    SHARED.store(shared, Release);
    let ctl: &ControlBlock = control(shared);
    ctl.rx.ready.store(RX_READY, Release);
    // Polling mode: tx raises `flag` to the chunk's sequence number. rx polls whatever the mode,
    // and interrupt-mode chunks arrive through the handler meanwhile.
    let mut last = 0;
    loop {
        let f = ctl.tx.flag.load(Acquire);
        if f != last {
            last = f;
            take(shared, f);
        }
        ivc_rt::cpu::relax();
    }
}
