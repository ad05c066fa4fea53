//! transfer, tx side: move `total` bytes through the shared buffer chunk by chunk, waiting for rx
//! to verify and acknowledge each chunk; one sample is the time for the whole total.

use crate::apps::notif_tx::wait_ready;
use crate::backend::{control, Active, Backend};
use crate::out;
use core::sync::atomic::Ordering::{Acquire, Release};
use ivc_proto::layout::{pattern_word, ControlBlock, DATA_OFFSET, DATA_SIZE};
use ivc_proto::params::{flag, Fault, Params, BUFFER_SIZES};
use ivc_rt::{counter, cpu};

/// The two ways tx tells rx a chunk is ready.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A flag in shared memory that rx polls.
    Polling,
    /// The hypervisor's doorbell.
    Interrupt,
}

enum Outcome {
    Done(u64),
    Lost,
    Corrupt,
}

pub fn run(p: &Params) {
    let shared = Active::setup_tx();
    let ctl = control(shared);
    // SAFETY: the data buffer follows the control block in the shared region (DATA_OFFSET,
    // DATA_SIZE bytes), mapped by the backend; tx writes it only while rx is not reading it
    // (rx reads a chunk between tx's signal and its own acknowledgement).
    let data = unsafe { core::slice::from_raw_parts_mut(shared.add(DATA_OFFSET) as *mut u64, DATA_SIZE / 8) };
    wait_ready(ctl, p);
    let mut s = out::stream("tx", p, "ticks");
    let timeout = out::ticks(p.timeout_ns);
    let mut seq = 0u64;
    let mut gap = out::Gap::new(p);
    let modes = [(Mode::Polling, flag::MODE_POLLING, "polling"), (Mode::Interrupt, flag::MODE_INTERRUPT, "interrupt")];
    let sizes = BUFFER_SIZES.iter().enumerate().filter(|(i, _)| p.buffers & (1 << i) != 0).map(|(_, &b)| b);
    let mut first_group = true;
    for (mode, _, name) in modes.into_iter().filter(|m| p.has(m.1)) {
        for buf in sizes.clone() {
            s.group(&[("mode", &name), ("buf", &buf), ("total", &p.transfer_total)]);
            for k in 0..p.warmups + p.samples {
                let damage = first_group && p.fault == Fault::CorruptChunk && k == p.warmups + p.fault_at;
                let outcome = sample(ctl, data, mode, buf, p.transfer_total, timeout, &mut seq, damage);
                if k >= p.warmups {
                    match outcome {
                        Outcome::Done(t) => s.sample(&[t]),
                        Outcome::Lost => s.lost(),
                        Outcome::Corrupt => s.corrupt(),
                    }
                }
                gap.sleep();
            }
            first_group = false;
        }
    }
    ctl.tx.done.store(1, Release);
    let (verified, bad) = (ctl.rx.verified.load(Acquire), ctl.rx.bad.load(Acquire));
    s.end(&[("chunks", &seq), ("verified", &verified), ("bad", &bad)]);
}

/// One sample: `total` bytes in chunks of `buf`. `damage` injects `Fault::CorruptChunk` into its
/// first chunk.
#[allow(clippy::too_many_arguments)]
fn sample(ctl: &ControlBlock, data: &mut [u64], mode: Mode, buf: u64, total: u64, timeout: u64, seq: &mut u64, damage: bool) -> Outcome {
    let words = (buf / 8) as usize;
    let bad_before = ctl.rx.bad.load(Acquire);
    let t0 = counter::now();
    for c in 0..total / buf {
        *seq += 1;
        for (w, slot) in data[..words].iter_mut().enumerate() {
            *slot = pattern_word(*seq, w as u64);
        }
        if damage && c == 0 {
            data[words / 2] ^= 1;
        }
        ctl.tx.len.store(buf, Release);
        ctl.tx.seq.store(*seq, Release);
        match mode {
            Mode::Polling => ctl.tx.flag.store(*seq, Release),
            Mode::Interrupt => Active::ring(),
        }
        let sent = counter::now();
        while ctl.rx.ack.load(Acquire) != *seq {
            if counter::now().wrapping_sub(sent) > timeout {
                return Outcome::Lost;
            }
            cpu::relax();
        }
    }
    let t = counter::now() - t0;
    if ctl.rx.bad.load(Acquire) != bad_before {
        Outcome::Corrupt
    } else {
        Outcome::Done(t)
    }
}
