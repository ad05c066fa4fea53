//! notif, tx side: ring rx's doorbell and time the round trip until rx's handler acknowledges.

use crate::backend::{control, ring_in_window, Active, Backend};
use crate::out;
use crate::pmu::{Plan, CYCLES_EL};
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use ivc_proto::capture::encode::MAX_COLS;
use ivc_proto::layout::{ControlBlock, RESET_MARK, RESET_MARK_OFFSET, RX_READY};
use ivc_proto::params::{flag, Fault, Params};
use ivc_rt::{counter, cpu, probe, timer};

pub fn run(p: &Params) {
    let ctl = control(Active::setup_tx());
    wait_ready(ctl, p);
    // PMU events (docs/pmu.md): the counters of one set reset before the doorbell and read after
    // the acknowledgement, one group of samples per set.
    let plan = Plan::new(p);
    let mut s = out::stream_with("tx", p, "rtt,oneway", |s| plan.iter().for_each(|pl| pl.header(s)));
    calibrate();
    if let Some(pl) = &plan {
        if pl.refuse(&mut s, p) {
            ctl.tx.done.store(1, Release);
            s.end(&[("pmu", &"refused")]);
            return;
        }
    }
    // Counted in every mode: the summary lines for farms come from it; histogram mode prints it.
    let mut hist = out::Histograms::take();
    let mut seq = 0;
    match &plan {
        None => samples(ctl, p, &mut s, &mut hist, &mut seq, None),
        Some(pl) => {
            for (i, set) in pl.groups().enumerate() {
                s.pmu_group(set);
                ivc_rt::pmu::program(set, CYCLES_EL);
                if i == 0 {
                    pmu_read_window(set.len());
                }
                samples(ctl, p, &mut s, &mut hist, &mut seq, Some(set.len()));
            }
            ivc_rt::pmu::stop();
        }
    }
    ctl.tx.done.store(1, Release);
    // Every sample, warm-ups included, rang once; rx counts the ones it acknowledged.
    s.flush();
    summary(&hist);
    if p.has(flag::HISTOGRAM) {
        hist.emit(&mut s);
    }
    out::interf_status(&mut s, p);
    s.end(&[("sent", &seq), ("acked", &ctl.rx.handled.load(Acquire))]);
}

/// One group: warm-ups, then the recorded samples; with `events` PMU counters programmed, each
/// sample also carries them and the cycle counter.
fn samples(ctl: &ControlBlock, p: &Params, s: &mut out::Stream, hist: &mut out::Histograms, seq: &mut u64, events: Option<usize>) {
    let timeout = out::ticks(p.timeout_ns);
    let mut gap = out::Gap::new(p);
    let histogram_mode = p.has(flag::HISTOGRAM);
    for i in 0..p.warmups as u64 + p.samples as u64 {
        if p.fault == Fault::ResetGuest && i == p.warmups as u64 + p.fault_at as u64 {
            reset_once();
        }
        *seq += 1;
        ctl.tx.seq.store(*seq, Release);
        if events.is_some() {
            ivc_rt::pmu::reset();
        }
        let t0 = counter::now();
        ring_in_window();
        let mut acked = true;
        while ctl.rx.ack.load(Acquire) != *seq {
            if counter::now().wrapping_sub(t0) > timeout {
                acked = false;
                break;
            }
            cpu::relax();
        }
        let t1 = counter::now();
        let mut cols = [0u64; MAX_COLS];
        let width = events.map_or(2, |n| {
            ivc_rt::pmu::read(&mut cols[2..2 + n + 1]);
            2 + n + 1
        });
        if i >= p.warmups as u64 {
            if acked {
                // handler_ts was stored before ack (release), so it belongs to this sample.
                let entry = ctl.rx.handler_ts.load(Relaxed);
                cols[..2].copy_from_slice(&[t1 - t0, entry.wrapping_sub(t0)]);
                hist.add(&[cols[0], cols[1]]);
                if !histogram_mode {
                    s.sample(&cols[..width]);
                }
            } else {
                hist.lost += 1;
                if !histogram_mode {
                    s.lost();
                }
            }
        }
        gap.sleep();
    }
}

/// The instrument's own cost, for the path-length plugin (ivc_proto::pathlen::CALIBRATIONS): an
/// empty window (the probe), then one read of the measurement counter.
pub fn calibrate() {
    empty_window();
    counter_read_window();
}

/// The empty calibration window: its closing marker only. Not inlined, for the reason
/// `ring_in_window` is not: inlined, the caller's register arithmetic could land between the
/// markers.
#[inline(never)]
fn empty_window() {
    probe::cal_begin();
    probe::cal_end();
}

/// The third calibration (ivc_proto::pathlen::CALIBRATIONS), with PMU events only: one read of
/// `n` event counters and the cycle counter, as each sample ends with (not inlined: see
/// `empty_window`).
#[inline(never)]
fn pmu_read_window(n: usize) {
    let mut v = [0u64; MAX_COLS];
    probe::cal_begin();
    ivc_rt::pmu::read(&mut v[..n + 1]);
    probe::cal_end();
    core::hint::black_box(&v);
}

/// One read of the measurement counter between the markers (not inlined: see `empty_window`).
#[inline(never)]
fn counter_read_window() {
    probe::cal_begin();
    core::hint::black_box(counter::now());
    probe::cal_end();
}

/// The result lines for farms: round trip (and one-way, where tx and rx read one counter) min,
/// an upper bound of the median (`_median_le`: the median is at most this, and within 1/64 of it),
/// mean and max in ns, and the lost count, which fails the run when not 0.
fn summary(h: &out::Histograms) {
    let cols: &[(usize, &str)] = if Active::COMMON_COUNTER { &[(0, "rtt"), (1, "oneway")] } else { &[(0, "rtt")] };
    for &(c, name) in cols {
        if let Some(v) = h.summary(c) {
            for (stat, x) in ["min", "median_le", "mean", "max"].iter().zip(v) {
                out::result(&format_args!("notif_{name}_{stat}"), &x, "ns", true);
            }
        }
    }
    out::result(&"notif_lost", &h.lost, "samples", h.lost == 0);
}

/// `Fault::ResetGuest`: reset the machine, unless the mark says this guest already did.
fn reset_once() {
    let mark = (ivc_rt::PLATFORM.shmem_base as usize + RESET_MARK_OFFSET) as *mut u64;
    // SAFETY: the last word of the control page, which no field of the control block covers and
    // only this function uses; it is RAM mapped normal cacheable, and the cache maintenance below
    // pushes the write to memory before the reset.
    unsafe {
        if mark.read_volatile() == RESET_MARK {
            return;
        }
        mark.write_volatile(RESET_MARK);
    }
    ivc_rt::cache::clean_invalidate_range(mark as *const u8, 8);
    ivc_rt::psci::reset();
}

/// rx must have its handler in place before the first doorbell; a run with no rx ends with a
/// note rather than waiting forever.
pub fn wait_ready(ctl: &ControlBlock, p: &Params) {
    let t0 = counter::now();
    let limit = out::ticks(p.timeout_ns.max(1_000_000_000)) * 5;
    while ctl.rx.ready.load(Acquire) != RX_READY {
        if counter::now().wrapping_sub(t0) > limit {
            ivc_rt::println!("ivc-guest panic: rx never became ready");
            ivc_rt::psci::power_off();
        }
        timer::sleep_ns(100_000);
    }
}
