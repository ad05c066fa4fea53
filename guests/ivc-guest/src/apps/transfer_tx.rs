//! transfer, tx side: move `total` bytes through the shared buffer chunk by chunk, waiting for rx
//! to verify and acknowledge each chunk; one sample is the time for the whole total.

use crate::apps::notif_tx::wait_ready;
use crate::backend::{control, Active, Backend};
use crate::out;
use core::sync::atomic::Ordering::{Acquire, Release};
use ivc_proto::layout::{pattern_word, ControlBlock, DATA_OFFSET, DATA_SIZE};
use ivc_proto::params::{flag, Fault, Params, BUFFER_SIZES};
use ivc_rt::{counter, cpu, probe};

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
    crate::apps::notif_tx::calibrate();
    let timeout = out::ticks(p.timeout_ns);
    let mut seq = 0u64;
    let mut gap = out::Gap::new(p);
    let modes = [(Mode::Polling, flag::MODE_POLLING, "polling"), (Mode::Interrupt, flag::MODE_INTERRUPT, "interrupt")];
    let sizes = BUFFER_SIZES.iter().enumerate().filter(|(i, _)| p.buffers & (1 << i) != 0).map(|(_, &b)| b);
    let mut first_group = true;
    let mut summaries = [("", 0, Tally::default()); 2 * BUFFER_SIZES.len()];
    let mut ngroups = 0;
    for (mode, _, name) in modes.into_iter().filter(|m| p.has(m.1)) {
        for buf in sizes.clone() {
            s.group(&[("mode", &name), ("buf", &buf), ("total", &p.transfer_total)]);
            let mut tally = Tally::default();
            for k in 0..p.warmups + p.samples {
                let damage = first_group && p.fault == Fault::CorruptChunk && k == p.warmups + p.fault_at;
                let outcome = sample(ctl, data, mode, buf, p.transfer_total, timeout, &mut seq, damage);
                if k >= p.warmups {
                    match outcome {
                        Outcome::Done(t) => {
                            s.sample(&[t]);
                            tally.good += 1;
                            tally.ticks += t;
                        }
                        Outcome::Lost => {
                            s.lost();
                            tally.bad += 1;
                        }
                        Outcome::Corrupt => {
                            s.corrupt();
                            tally.bad += 1;
                        }
                    }
                }
                gap.sleep();
            }
            first_group = false;
            summaries[ngroups] = (name, buf, tally);
            ngroups += 1;
        }
    }
    ctl.tx.done.store(1, Release);
    // The result lines for farms come after the last samples and before the end record.
    s.flush();
    for (mode, buf, t) in &summaries[..ngroups] {
        summary(mode, *buf, p.transfer_total, t);
    }
    out::interf_status(&mut s, p);
    let (verified, bad) = (ctl.rx.verified.load(Acquire), ctl.rx.bad.load(Acquire));
    s.end(&[("chunks", &seq), ("verified", &verified), ("bad", &bad)]);
}

/// One group's good samples and their time, and the samples lost or found corrupt.
#[derive(Clone, Copy, Default)]
struct Tally {
    good: u64,
    ticks: u64,
    bad: u64,
}

/// `transfer_<mode>_<buffer>`: MiB/s over the group's good samples (bytes moved / time taken),
/// failed when any sample was lost or corrupt.
fn summary(mode: &str, buf: u64, total: u64, t: &Tally) {
    let (size, unit) = if buf >= 1 << 20 { (buf >> 20, "m") } else { (buf >> 10, "k") };
    let id = format_args!("transfer_{mode}_{size}{unit}");
    // Hundredths of MiB/s: bytes * freq * 100 / (ticks * 2^20).
    let centi = (t.good as u128 * total as u128 * counter::freq() as u128 * 100).checked_div(t.ticks as u128 * (1 << 20)).unwrap_or(0);
    out::result(&id, &out::Centi(centi as u64), "MiB/s", t.bad == 0 && t.good > 0);
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
        hand_over(ctl, &mut data[..words], *seq, mode, damage && c == 0);
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

/// Writes chunk `seq` into `chunk` (one bit flipped when `damage`) and signals it, inside tx's
/// path-length window (`Begin` .. `TxEnd`). Not inlined, so that the window holds the chunk's
/// work only: inlined into `sample`, the compiler scheduled the caller's instructions (a reload of
/// `mode` from the stack, the pattern's shifted sequence number hoisted out) across the markers,
/// which are compiler barriers for memory accesses only.
#[inline(never)]
fn hand_over(ctl: &ControlBlock, chunk: &mut [u64], seq: u64, mode: Mode, damage: bool) {
    probe::begin();
    for (w, slot) in chunk.iter_mut().enumerate() {
        *slot = pattern_word(seq, w as u64);
    }
    if damage {
        chunk[chunk.len() / 2] ^= 1;
    }
    ctl.tx.len.store(chunk.len() as u64 * 8, Release);
    ctl.tx.seq.store(seq, Release);
    match mode {
        Mode::Polling => ctl.tx.flag.store(seq, Release),
        Mode::Interrupt => Active::ring(),
    }
    probe::tx_end();
}
