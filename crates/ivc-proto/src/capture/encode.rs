//! Guest side: builds record lines in a fixed buffer (no heap) and hands each finished line to a
//! sink, which prints it under the console lock.

use super::crc::crc16;
use super::{kind, CORRUPT, DIGITS, LOST, MAX_LINE, TAG};
use core::fmt::{self, Display, Write};

/// Most columns a run's header may name.
pub const MAX_HEADER_COLS: usize = 4;
/// Most columns a sample may have: the header's, then a PMU group's event counters and `cycles`.
pub const MAX_COLS: usize = MAX_HEADER_COLS + crate::pmu::MAX_GROUP + 1;
/// Room kept at the end of a line for ` ~xxxx`.
const TRAILER: usize = 6;
/// Longest encoding of one 64-bit value (64 bits at 5 bits a character).
const MAX_VALUE_CHARS: usize = 13;

/// One record line under construction.
pub struct LineBuf {
    buf: [u8; MAX_LINE],
    len: usize,
}

impl LineBuf {
    pub const fn new() -> Self {
        LineBuf { buf: [0; MAX_LINE], len: 0 }
    }
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written (push_bytes rejects nothing, but every caller writes ASCII
        // text or digits); fall back to an empty line rather than panic on a guest.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn room(&self) -> usize {
        MAX_LINE - TRAILER - self.len
    }
    /// Appends what fits; returns whether all of it did.
    fn push_bytes(&mut self, s: &[u8]) -> bool {
        let n = s.len().min(MAX_LINE - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
        n == s.len()
    }
    fn seal(&mut self) {
        let crc = crc16(&self.buf[..self.len]);
        let hex = b"0123456789abcdef";
        let t = [
            b' ',
            b'~',
            hex[(crc >> 12) as usize & 15],
            hex[(crc >> 8) as usize & 15],
            hex[(crc >> 4) as usize & 15],
            hex[crc as usize & 15],
        ];
        self.push_bytes(&t);
    }
}

impl Default for LineBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.push_bytes(s.as_bytes()) {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

/// Formats `key=value` into a scratch line to learn its length before committing it.
fn field(key: &str, value: &dyn Display) -> LineBuf {
    let mut f = LineBuf::new();
    let _ = write!(f, "{key}={value}");
    f
}

/// Writes `z` 5 bits a character, least significant first; returns the characters written.
fn varint(mut z: u64, out: &mut [u8]) -> usize {
    let mut n = 0;
    loop {
        let low = (z & 31) as usize;
        z >>= 5;
        out[n] = DIGITS[if z != 0 { low | 32 } else { low }];
        n += 1;
        if z == 0 {
            return n;
        }
    }
}

/// Writes one role's record stream. `emit` gets every finished line, without a line ending.
pub struct Encoder<F: FnMut(&str)> {
    role: &'static str,
    /// Columns of the header, and of the current group's samples (more in a PMU group).
    header_cols: usize,
    ncols: usize,
    emit: F,
    seq: u32,
    line: LineBuf,
    /// Kind of the line in `line`, 0 when none is open.
    open: u8,
    prev: [u64; MAX_COLS],
    index: u64,
    samples: u64,
    lost: u64,
    corrupt: u64,
    groups: u64,
    /// Samples whose encoding did not fit an empty record line, recorded as lost (`wide=` in the
    /// end record); the values tx records are bounded so that this does not happen.
    wide: u64,
}

impl<F: FnMut(&str)> Encoder<F> {
    /// A stream for `role` whose samples have `ncols` columns (at most [`MAX_COLS`]).
    pub fn new(role: &'static str, ncols: usize, emit: F) -> Self {
        let ncols = ncols.min(MAX_HEADER_COLS);
        Encoder {
            role,
            header_cols: ncols,
            ncols,
            emit,
            seq: 0,
            line: LineBuf::new(),
            open: 0,
            prev: [0; MAX_COLS],
            index: 0,
            samples: 0,
            lost: 0,
            corrupt: 0,
            groups: 0,
            wide: 0,
        }
    }

    fn start(&mut self, k: u8) {
        self.line = LineBuf::new();
        let _ = write!(self.line, "{TAG}{} {} {}", self.role, self.seq, k as char);
        self.seq += 1;
        self.open = k;
    }

    /// Seals and emits the open line, if any.
    pub fn flush(&mut self) {
        if self.open != 0 {
            self.line.seal();
            (self.emit)(self.line.as_str());
            self.open = 0;
        }
    }

    /// Appends ` key=value` fields to lines of kind `k`, opening further lines when one is full.
    fn fields(&mut self, k: u8, fields: &[(&str, &dyn Display)]) {
        for (key, value) in fields {
            let f = field(key, *value);
            if self.open != k || self.line.room() < f.len() + 1 {
                self.flush();
                self.start(k);
            }
            self.line.push_bytes(b" ");
            self.line.push_bytes(&f.buf[..f.len]);
        }
    }

    /// Header fields. Call as often as needed, then [`Encoder::header_done`]. The decoder requires
    /// `v exp cfg hyp plat role freq n warm gap_ns build cols` (docs/capture-format.md).
    pub fn header(&mut self, fields: &[(&str, &dyn Display)]) {
        self.fields(kind::HEADER, fields);
    }

    pub fn header_done(&mut self) {
        self.flush();
    }

    /// Starts a group of samples (a transfer mode and buffer size); sample indices restart at 0.
    pub fn group(&mut self, fields: &[(&str, &dyn Display)]) {
        self.flush();
        self.fields(kind::GROUP, fields);
        self.flush();
        self.index = 0;
        self.groups += 1;
    }

    /// Starts a group of notif samples that carry PMU counters (format v2): each sample is the
    /// header's columns, then one value per counter, then the cycle counter. `G ev=<spec list>`.
    pub fn pmu_group(&mut self, counters: &[crate::pmu::Counter]) {
        let counters = &counters[..counters.len().min(crate::pmu::MAX_GROUP)];
        self.group(&[("ev", &crate::pmu::GroupList(counters))]);
        self.ncols = self.header_cols + counters.len() + 1;
    }

    /// The interferer's progress: passes done by counter time `t`.
    pub fn progress(&mut self, fields: &[(&str, &dyn Display)]) {
        self.flush();
        self.fields(kind::PROGRESS, fields);
        self.flush();
    }

    /// A free-text line for people reading the console; cut to fit one record.
    pub fn note(&mut self, text: &str) {
        self.flush();
        self.start(kind::NOTE);
        self.line.push_bytes(b" ");
        let n = text.len().min(self.line.room());
        self.line.push_bytes(&text.as_bytes()[..n]);
        self.flush();
    }

    /// Records one sample; `cols` must hold the group's number of columns.
    pub fn sample(&mut self, cols: &[u64]) {
        let mut enc = [0u8; MAX_COLS * MAX_VALUE_CHARS];
        let mut n = self.encode_values(cols, &mut enc);
        if self.open != kind::SAMPLES || self.line.room() < n {
            self.open_samples();
            n = self.encode_values(cols, &mut enc);
        }
        if self.line.room() < n {
            // Only values far beyond what a sample measures get here; part of a sample must never
            // stand in a record, so it counts as lost and the end record says why.
            self.wide += 1;
            self.lost();
            return;
        }
        self.line.push_bytes(&enc[..n]);
        self.prev[..self.ncols].copy_from_slice(&cols[..self.ncols]);
        self.index += 1;
        self.samples += 1;
    }

    /// Records a sample that was lost (no acknowledgement within the timeout).
    pub fn lost(&mut self) {
        self.marker(LOST);
        self.lost += 1;
    }

    /// Records a transfer sample in which rx found a damaged chunk.
    pub fn corrupt(&mut self) {
        self.marker(CORRUPT);
        self.corrupt += 1;
    }

    fn marker(&mut self, m: u8) {
        if self.open != kind::SAMPLES || self.line.room() < 1 {
            self.open_samples();
        }
        self.line.push_bytes(&[m]);
        self.index += 1;
    }

    /// A new `S` line: its first value is absolute, so every line decodes on its own.
    fn open_samples(&mut self) {
        self.flush();
        self.start(kind::SAMPLES);
        let _ = write!(self.line, " {} ", self.index);
        self.prev = [0; MAX_COLS];
    }

    fn encode_values(&self, cols: &[u64], out: &mut [u8]) -> usize {
        let mut n = 0;
        for (c, &v) in cols.iter().take(self.ncols).enumerate() {
            let delta = v.wrapping_sub(self.prev[c]) as i64;
            n += varint(((delta << 1) ^ (delta >> 63)) as u64, &mut out[n..]);
        }
        n
    }

    /// Histogram mode: column `col` as `counts` per bucket (ivc_proto::histogram), with the exact
    /// `min` and `max` and the samples `lost` (counted once, on column 0).
    pub fn histogram(&mut self, col: usize, counts: &[u32], lost: u64, min: u64, max: u64) {
        let n: u64 = counts.iter().map(|&c| c as u64).sum();
        let sub = crate::histogram::SUB_BITS;
        self.flush();
        self.fields(kind::HISTOGRAM, &[("c", &col), ("n", &n), ("lost", &lost), ("min", &min), ("max", &max), ("sub_bits", &sub)]);
        self.flush();
        let mut prev = 0usize;
        for (i, &c) in counts.iter().enumerate().filter(|(_, &c)| c != 0) {
            let mut enc = [0u8; 2 * MAX_VALUE_CHARS];
            if self.open != kind::BUCKETS || self.line.room() < 2 * MAX_VALUE_CHARS {
                self.flush();
                self.start(kind::BUCKETS);
                let _ = write!(self.line, " {col} {i} ");
                prev = i;
            }
            let k = varint((i - prev) as u64, &mut enc);
            let k = k + varint(c as u64, &mut enc[k..]);
            self.line.push_bytes(&enc[..k]);
            prev = i;
        }
        self.flush();
        if col == 0 {
            self.samples += n;
            self.lost += lost;
        }
    }

    /// Ends the run with its totals (plus `extra` fields) and flushes everything.
    pub fn end(&mut self, extra: &[(&str, &dyn Display)]) {
        self.flush();
        let (s, l, c, g, w) = (self.samples, self.lost, self.corrupt, self.groups, self.wide);
        self.fields(kind::END, &[("samples", &s), ("lost", &l), ("corrupt", &c), ("groups", &g)]);
        if w != 0 {
            self.fields(kind::END, &[("wide", &w)]);
        }
        self.fields(kind::END, extra);
        self.flush();
    }

    /// Records written so far (the next record's sequence number).
    pub fn records(&self) -> u32 {
        self.seq
    }
}
