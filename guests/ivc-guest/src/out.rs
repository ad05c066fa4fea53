//! The guest's side of the capture: record streams on the console, the start prompt, units.

use crate::backend::{Active, Backend};
use core::fmt::Display;
use core::fmt::Write;
use ivc_proto::capture::{Encoder, PROMPT, RESULT_PREFIX, START_KEY, VERSION};
use ivc_proto::histogram::{bounds, bucket, BUCKETS};
use ivc_proto::params::{flag, Params};
use ivc_rt::{console, counter, timer, uart, PLATFORM};

/// A record stream whose lines go to the console, each under the console lock.
pub type Stream = Encoder<fn(&str)>;

fn emit(line: &str) {
    let mut c = console::lock();
    let _ = c.write_str(line);
    let _ = c.write_str("\r\n");
}

/// Starts `role`'s stream with the header every run carries (docs/capture-format.md).
pub fn stream(role: &'static str, p: &Params, cols: &'static str) -> Stream {
    stream_with(role, p, cols, |_| {})
}

/// [`stream`] with more header fields, written by `extra` before the header ends.
pub fn stream_with(role: &'static str, p: &Params, cols: &'static str, extra: impl FnOnce(&mut Stream)) -> Stream {
    let ncols = cols.split(',').filter(|c| !c.is_empty()).count();
    let mut s = Encoder::new(role, ncols, emit as fn(&str));
    let build = option_env!("IVC_BUILD_ID").unwrap_or("unknown");
    let common = if Active::COMMON_COUNTER { "yes" } else { "no" };
    s.header(&[("v", &VERSION), ("exp", &p.experiment.name()), ("cfg", &p.config_str()), ("hyp", &Active::NAME)]);
    s.header(&[("plat", &PLATFORM.name), ("role", &role), ("freq", &counter::freq()), ("n", &p.samples)]);
    s.header(&[("warm", &p.warmups), ("gap_ns", &p.gap_ns), ("gap_jitter_ns", &p.gap_jitter_ns), ("timeout_ns", &p.timeout_ns)]);
    s.header(&[("build", &build)]);
    s.header(&[("cols", &cols), ("common_counter", &common), ("cpus", &Active::placement())]);
    s.header(&[("rx_dirty_l1", &(p.has(flag::RX_DIRTY_L1) as u8)), ("rx_inv_icache", &(p.has(flag::RX_INV_ICACHE) as u8))]);
    s.header(&[("mode", &if p.has(flag::HISTOGRAM) { "histogram" } else { "raw" })]);
    s.header(&[("counter_read_ticks", &counter_read_ticks())]);
    extra(&mut s);
    s.header_done();
    s
}

/// What one read of the measurement counter costs, in its own ticks: the least difference of 16
/// back-to-back reads (each sample's figures include about one such read).
fn counter_read_ticks() -> u64 {
    (0..16)
        .map(|_| {
            let a = counter::now();
            counter::now().wrapping_sub(a)
        })
        .min()
        .unwrap_or(0)
}

/// One result as a single line that a board farm can match (LAVA's `monitors` action, see
/// docs/lava.md): `test_case_id` only in `[a-z0-9_]`, because LAVA turns anything else into `_`.
/// Printed before the end record, which farms and ivcbench take as the end of the run.
pub fn result(id: &dyn Display, measurement: &dyn Display, units: &str, pass: bool) {
    let verdict = if pass { "pass" } else { "fail" };
    let mut c = console::lock();
    let _ = write!(c, "{RESULT_PREFIX}test_case_id={id} measurement={measurement} units={units} result={verdict}\r\n");
}

/// A number with two decimals, from hundredths.
pub struct Centi(pub u64);

impl Display for Centi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Counter ticks as nanoseconds (rounded down).
pub fn ns(ticks: u64) -> u64 {
    (ticks as u128 * 1_000_000_000 / counter::freq().max(1) as u128) as u64
}

/// Counter ticks in `ns` nanoseconds.
pub fn ticks(ns: u64) -> u64 {
    (ns as u128 * counter::freq() as u128 / 1_000_000_000) as u64
}

/// Prints the seed's prompt and waits for the start key, as a person (or ivcbench) sends it.
pub fn wait_for_start() {
    emit(PROMPT);
    loop {
        match uart::getc() {
            Some(k) if k == START_KEY => return,
            _ => timer::sleep_ns(1_000_000),
        }
    }
}

/// The pause between samples: the gap plus a fresh draw of up to `gap_jitter_ns` (xorshift64 with a
/// fixed seed, so runs repeat).
pub struct Gap {
    gap_ns: u64,
    jitter_ns: u64,
    state: u64,
}

impl Gap {
    pub fn new(p: &Params) -> Self {
        Gap { gap_ns: p.gap_ns, jitter_ns: p.gap_jitter_ns, state: 0x9E37_79B9_7F4A_7C15 }
    }

    pub fn sleep(&mut self) {
        let mut extra = 0;
        if self.jitter_ns != 0 {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            extra = self.state % (self.jitter_ns + 1);
        }
        timer::sleep_ns(self.gap_ns + extra);
    }
}

/// Histogram mode: tx's two columns (round trip, one-way) counted per bucket, with exact extremes.
pub struct Histograms {
    counts: &'static mut [[u32; BUCKETS]; 2],
    min: [u64; 2],
    max: [u64; 2],
    sum: [u64; 2],
    n: u64,
    pub lost: u64,
}

/// 2 x 3776 buckets: 30 KiB, in BSS rather than on tx's 32 KiB stack.
static mut COUNTS: [[u32; BUCKETS]; 2] = [[0; BUCKETS]; 2];

impl Histograms {
    /// The counters, zeroed. Called once, by tx.
    pub fn take() -> Self {
        // SAFETY: COUNTS is touched only here and through the returned value, and tx (the one
        // caller, once per run, on one core) is the only code that records samples.
        let counts = unsafe { &mut *core::ptr::addr_of_mut!(COUNTS) };
        for c in counts.iter_mut() {
            c.fill(0);
        }
        Histograms { counts, min: [u64::MAX; 2], max: [0; 2], sum: [0; 2], n: 0, lost: 0 }
    }

    pub fn add(&mut self, cols: &[u64; 2]) {
        for (c, &v) in cols.iter().enumerate() {
            self.counts[c][bucket(v)] += 1;
            self.min[c] = self.min[c].min(v);
            self.max[c] = self.max[c].max(v);
            self.sum[c] = self.sum[c].wrapping_add(v);
        }
        self.n += 1;
    }

    /// Column `c`'s summary in nanoseconds: min, a bound on the median, mean, max (each rounded
    /// down); `None` without samples. The samples are not kept, so the median is known only to its
    /// histogram bucket: the bound is the bucket's largest value (or the max, if smaller), never
    /// below the exact (nearest-rank) median and at most 1/64 above it.
    pub fn summary(&self, c: usize) -> Option<[u64; 4]> {
        if self.n == 0 {
            return None;
        }
        let half = self.n.div_ceil(2);
        let mut seen = 0u64;
        let mut median = self.max[c];
        for (i, &k) in self.counts[c].iter().enumerate() {
            seen += k as u64;
            if seen >= half {
                let (low, width) = bounds(i);
                median = (low + width - 1).min(self.max[c]);
                break;
            }
        }
        let mean = (self.sum[c] as u128 * 1_000_000_000 / (counter::freq().max(1) as u128 * self.n as u128)) as u64;
        Some([ns(self.min[c]), ns(median), mean, ns(self.max[c])])
    }

    /// The `Y` and `B` records of both columns.
    pub fn emit(self, s: &mut Stream) {
        for c in 0..2 {
            let min = if self.min[c] == u64::MAX { 0 } else { self.min[c] };
            s.histogram(c, &self.counts[c], if c == 0 { self.lost } else { 0 }, min, self.max[c]);
        }
    }
}

/// Where the interferer has no console (its VM shares a status page with tx instead), tx puts
/// the interferer's count of passes on record in its own stream before its end record.
pub fn interf_status(s: &mut Stream, p: &Params) {
    if !p.has(flag::INTERF) {
        return;
    }
    if let Some(st) = Active::interf_status() {
        let passes = st.passes.load(core::sync::atomic::Ordering::Acquire);
        let t = st.t.load(core::sync::atomic::Ordering::Relaxed);
        let bytes = st.bytes.load(core::sync::atomic::Ordering::Relaxed);
        let t0 = st.t0.load(core::sync::atomic::Ordering::Relaxed);
        s.progress(&[("interf_t0", &t0), ("interf_t", &t), ("interf_passes", &passes), ("interf_bytes", &bytes)]);
    }
}
