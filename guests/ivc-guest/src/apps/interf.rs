//! interf: thrash the shared cache by writing one word per 64-byte line over a buffer twice the
//! last-level cache, forever, and say now and then how many passes it made, so the interference
//! actually applied is on record: in a status page shared with tx where the backend has one
//! (tx reports it), otherwise on the interferer's console.

use crate::backend::{Active, Backend};
use crate::out;
use core::sync::atomic::Ordering::{Relaxed, Release};
use ivc_proto::layout::CACHE_LINE;
use ivc_proto::params::Params;
use ivc_rt::{counter, cpu, PLATFORM};

pub fn run(p: &Params) -> ! {
    let mut s = out::stream("interf", p, "");
    let base = PLATFORM.interf_base as *mut u64;
    let lines = p.interf_size as usize / CACHE_LINE;
    let every = out::ticks(p.interf_report_ms as u64 * 1_000_000);
    let step = CACHE_LINE / 8;
    let mut passes = 0u64;
    let mut last = counter::now();
    // Where the interferer has no console, tx reports what it counts here.
    let status = Active::interf_status();
    if let Some(st) = status {
        st.bytes.store(p.interf_size, Relaxed);
        st.passes.store(0, Relaxed);
        st.t0.store(last, Relaxed);
        st.t.store(last, Relaxed);
    }
    s.progress(&[("t", &last), ("passes", &passes), ("bytes", &p.interf_size)]);
    // With a status page the console stays quiet from here on: a console line is a hypervisor
    // trap (Xen) that would perturb the measurement, and the page carries the count instead.
    let every = if status.is_some() { 0 } else { every };
    loop {
        for l in 0..lines {
            // SAFETY: [interf_base, interf_base + interf_size) is RAM reserved for the
            // interferer in the platform's memory map (mapped normal cacheable); nobody else uses it.
            unsafe { base.add(l * step).write_volatile(passes) };
            if l % 16 == 0 {
                cpu::relax();
            }
        }
        passes += 1;
        let now = counter::now();
        if let Some(st) = status {
            st.t.store(now, Relaxed);
            st.passes.store(passes, Release);
        }
        if every != 0 && now.wrapping_sub(last) >= every {
            last = now;
            s.progress(&[("t", &now), ("passes", &passes), ("bytes", &p.interf_size)]);
        }
    }
}
