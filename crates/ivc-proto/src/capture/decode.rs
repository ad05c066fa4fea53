//! Host side: finds records in a console stream, checks them and rebuilds the runs.
//!
//! Damage is never absorbed: a record with a bad checksum, a gap in a stream's sequence numbers,
//! a run without its end record or totals that disagree with what was decoded each become a
//! [`DecodeError`] naming the line. [`decode`] stops at the first; [`decode_lenient`] keeps going
//! and attaches each error to the run it belongs to, so a report can mark that cell damaged.

use super::crc::crc16;
use super::{kind, CORRUPT, DIGITS, LOST, TAG, VERSIONS_READ};
use crate::pmu::{self, Counter};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// `key=value` fields in the order they came.
pub type Fields = Vec<(String, String)>;

fn get<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// What a run's header says: everything needed to interpret its samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Header {
    pub version: u32,
    pub experiment: String,
    /// Configuration suffix (`""` for the base configuration, `+interf`, ...).
    pub config: String,
    pub hypervisor: String,
    pub platform: String,
    pub role: String,
    /// Counter frequency the guest read from CNTFRQ_EL0.
    pub freq_hz: u64,
    /// Samples per group.
    pub samples: u64,
    pub warmups: u64,
    pub gap_ns: u64,
    pub build: String,
    /// Names of the sample columns (`rtt`, `oneway`, `ticks`, ...).
    pub columns: Vec<String>,
    /// Every field, the ones above included, as written.
    pub fields: Fields,
}

impl Header {
    /// A field by name, for the optional ones (`common_counter`, `cpus`, ...).
    pub fn get(&self, key: &str) -> Option<&str> {
        get(&self.fields, key)
    }

    fn parse(fields: Fields, line: usize) -> Result<Header, DecodeError> {
        let need =
            |k: &str| get(&fields, k).map(str::to_string).ok_or_else(|| DecodeError::new(line, ErrorKind::MissingField(k.to_string())));
        let num = |k: &str| -> Result<u64, DecodeError> {
            let v = need(k)?;
            v.parse().map_err(|_| DecodeError::new(line, ErrorKind::BadField(k.to_string(), v)))
        };
        let version = num("v")? as u32;
        if !VERSIONS_READ.contains(&version) {
            return Err(DecodeError::new(line, ErrorKind::Version(version)));
        }
        let columns: Vec<String> = need("cols")?.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect();
        if columns.len() > super::encode::MAX_HEADER_COLS {
            return Err(DecodeError::new(line, ErrorKind::BadField("cols".into(), columns.join(","))));
        }
        Ok(Header {
            version,
            experiment: need("exp")?,
            config: need("cfg")?,
            hypervisor: need("hyp")?,
            platform: need("plat")?,
            role: need("role")?,
            freq_hz: num("freq")?,
            samples: num("n")?,
            warmups: num("warm")?,
            gap_ns: num("gap_ns")?,
            build: need("build")?,
            columns,
            fields,
        })
    }
}

/// Samples taken under one set of conditions (for transfer: one mode and buffer size).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    /// The `G` record's fields (empty for notif, which has one implicit group).
    pub fields: Fields,
    /// One vector per header column, holding the good samples only, in order.
    pub columns: Vec<Vec<u64>>,
    /// Indices (within the group) of lost samples.
    pub lost_at: Vec<u64>,
    /// Indices of samples rx found corrupt.
    pub corrupt_at: Vec<u64>,
    /// Samples of every kind.
    pub count: u64,
    /// Histogram mode: one per column, instead of `columns`.
    pub histograms: Vec<Histogram>,
    /// v2 notif with PMU events: the counters of this group (`G ev=`), whose columns follow the
    /// header's in `columns`, then the cycle counter's.
    pub pmu: Vec<Counter>,
}

/// A column recorded in histogram mode (see `ivc_proto::histogram` for the buckets).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// Good samples.
    pub n: u64,
    pub lost: u64,
    /// Exact extremes (the buckets only bound the values in between).
    pub min: u64,
    pub max: u64,
    pub sub_bits: u32,
    /// Non-empty buckets: (bucket index, samples), ascending.
    pub buckets: Vec<(usize, u64)>,
}

impl Group {
    pub fn get(&self, key: &str) -> Option<&str> {
        get(&self.fields, key)
    }
    /// A column's good samples by name (a PMU group's too: `inst_ret_el1`, `cycles`).
    pub fn column(&self, header: &Header, name: &str) -> Option<&[u64]> {
        let i = self.names(header).iter().position(|c| c == name)?;
        self.columns.get(i).map(Vec::as_slice)
    }
    /// The names of this group's columns: the header's, then a PMU group's counters
    /// (`ivc_proto::pmu::Counter::column`) and `cycles`.
    pub fn names(&self, header: &Header) -> Vec<String> {
        let mut names = header.columns.clone();
        if !self.pmu.is_empty() {
            names.extend(self.pmu.iter().map(|c| c.column().to_string()));
            names.push(CYCLES.to_string());
        }
        names
    }
}

/// The cycle counter's column in a PMU group, as the artifact's tables name it.
pub const CYCLES: &str = "cycles";

/// One run of one role: from its header to its end record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Run {
    pub header: Header,
    pub groups: Vec<Group>,
    /// `P` records (the interferer's progress), as fields.
    pub progress: Vec<Fields>,
    pub notes: Vec<String>,
    /// The `E` record's fields; `None` when the run was cut off.
    pub end: Option<Fields>,
    /// Lines (1-based) of the first and the last record.
    pub first_line: usize,
    pub last_line: usize,
    /// What was wrong with this run (empty for a whole, consistent run).
    pub damage: Vec<DecodeError>,
}

impl Run {
    pub fn is_complete(&self) -> bool {
        self.damage.is_empty() && (self.end.is_some() || self.header.role == "interf")
    }
    pub fn lost(&self) -> u64 {
        self.groups.iter().map(|g| g.lost_at.len() as u64 + g.histograms.first().map_or(0, |h| h.lost)).sum()
    }
    pub fn corrupt(&self) -> u64 {
        self.groups.iter().map(|g| g.corrupt_at.len() as u64).sum()
    }
}

/// Everything found in a capture.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capture {
    /// Runs in the order their headers appear.
    pub runs: Vec<Run>,
    /// Damage that belongs to no run (a record whose checksum fails, so its role is unknown).
    pub damage: Vec<DecodeError>,
    /// Lines in the input.
    pub lines: usize,
}

impl Capture {
    /// Every error, in line order.
    pub fn errors(&self) -> Vec<&DecodeError> {
        let mut all: Vec<&DecodeError> = self.damage.iter().chain(self.runs.iter().flat_map(|r| r.damage.iter())).collect();
        all.sort_by_key(|e| e.line);
        all
    }
    /// The last run of `role` (a capture may hold a run that was restarted).
    pub fn run(&self, role: &str) -> Option<&Run> {
        self.runs.iter().rev().find(|r| r.header.role == role)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ErrorKind {
    /// The record's checksum does not match its contents.
    Checksum,
    /// The record line does not end in ` ~xxxx`: it was cut or joined with something else.
    NoChecksum,
    /// The record does not have the form the format defines.
    Malformed(String),
    /// Records of `role` are missing: expected sequence number `expected`, found `found`.
    Missing {
        role: String,
        expected: u64,
        found: u64,
    },
    /// A record came for a role whose header has not been seen.
    NoHeader(String),
    /// The run of `role` has no end record: the capture was cut off or the guest stopped.
    Truncated(String),
    MissingField(String),
    BadField(String, String),
    Version(u32),
    /// The end record's totals disagree with what was decoded.
    Totals(String),
}

/// A problem found at a line (1-based) of the capture.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError {
    pub line: usize,
    pub kind: ErrorKind,
}

impl DecodeError {
    fn new(line: usize, kind: ErrorKind) -> Self {
        DecodeError { line, kind }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            ErrorKind::Checksum => write!(f, "record damaged (checksum mismatch)"),
            ErrorKind::NoChecksum => write!(f, "record cut off or garbled (no checksum at its end)"),
            ErrorKind::Malformed(m) => write!(f, "malformed record: {m}"),
            ErrorKind::Missing { role, expected, found } => {
                write!(f, "{} record(s) of {role} missing (expected #{expected}, found #{found})", found.saturating_sub(*expected))
            }
            ErrorKind::NoHeader(role) => write!(f, "record of {role} before its header"),
            ErrorKind::Truncated(role) => {
                write!(f, "run of {role} has no end record (capture cut off, or the guest stopped)")
            }
            ErrorKind::MissingField(k) => write!(f, "header lacks `{k}`"),
            ErrorKind::BadField(k, v) => write!(f, "field `{k}` has a bad value `{v}`"),
            ErrorKind::Version(v) => write!(f, "capture format version {v} is not supported (this decoder reads 1 and 2)"),
            ErrorKind::Totals(m) => write!(f, "end record disagrees with the samples: {m}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

struct Stream {
    run: usize,
    next_seq: u64,
    /// Header fields gathered until the first non-header record.
    pending_header: Option<Fields>,
    ended: bool,
}

/// Decodes a capture, stopping at the first damage.
pub fn decode(bytes: &[u8]) -> Result<Capture, DecodeError> {
    let c = decode_lenient(bytes);
    match c.errors().first() {
        Some(e) => Err((*e).clone()),
        None => Ok(c),
    }
}

/// Decodes a capture, recording damage instead of stopping at it.
pub fn decode_lenient(bytes: &[u8]) -> Capture {
    let mut d = Decoder::default();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        d.line(i + 1, line);
    }
    d.finish()
}

/// Incremental decoder: feed it lines as they arrive, then [`Decoder::finish`].
#[derive(Default)]
pub struct Decoder {
    capture: Capture,
    streams: BTreeMap<String, Stream>,
    /// Records that Xen's console folded, by source prefix (`(XEN) DOM1: `): the line they began
    /// on and the text so far.
    folded: BTreeMap<Vec<u8>, (usize, Vec<u8>)>,
}

/// `(XEN) DOM<n>: `: how Xen prefixes a domU's console output. Returns the prefix and the rest.
fn xen_source(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = line.strip_prefix(b"(XEN) DOM")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || !rest[digits..].starts_with(b": ") {
        return None;
    }
    let n = b"(XEN) DOM".len() + digits + 2;
    Some((&line[..n], &line[n..]))
}

/// Whether a record ends in ` ~` and four lower-case hex digits (trailing white space aside).
fn sealed(rec: &[u8]) -> bool {
    let rec = rec.trim_ascii_end();
    let n = rec.len();
    n >= 6 && &rec[n - 6..n - 4] == b" ~" && rec[n - 4..].iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

impl Decoder {
    /// Takes one console line (1-based number `no`), with or without its `\r`.
    ///
    /// Xen prints a domU's output in pieces of at most 126 characters, each behind the domain's
    /// prefix, and other domains' lines may come in between: a record without its checksum that
    /// comes from a Xen domain waits for that domain's next line, which continues it unless it
    /// starts a record of its own.
    pub fn line(&mut self, no: usize, line: &[u8]) {
        self.capture.lines = no;
        let mut line = line;
        while let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let Some((source, body)) = xen_source(line) else {
            self.take(no, line);
            return;
        };
        if let Some((first, mut text)) = self.folded.remove(source) {
            if find(body, TAG.as_bytes()).is_none() {
                text.extend_from_slice(body);
                self.fold_or_take(source, first, text);
                return;
            }
            self.take(first, &text);
        }
        if let Some(at) = find(body, TAG.as_bytes()) {
            self.fold_or_take(source, no, body[at..].to_vec());
        }
    }

    /// Decodes `text` if it is a whole record, else keeps it for the source's next line (up to
    /// twice the longest record: past that it is damage, not folding).
    fn fold_or_take(&mut self, source: &[u8], first: usize, text: Vec<u8>) {
        if sealed(&text) || text.len() > 2 * super::MAX_LINE {
            self.take(first, &text);
        } else {
            self.folded.insert(source.to_vec(), (first, text));
        }
    }

    fn take(&mut self, no: usize, line: &[u8]) {
        let Some(at) = find(line, TAG.as_bytes()) else { return };
        let mut rec = &line[at..];
        while let [rest @ .., b'\r' | b' ' | b'\t' | 0] = rec {
            rec = rest;
        }
        if let Err(e) = self.record(no, rec) {
            let role = e.1;
            let err = e.0;
            match role.and_then(|r| self.streams.get(&r)) {
                Some(s) => self.capture.runs[s.run].damage.push(err),
                None => self.capture.damage.push(err),
            }
        }
    }

    fn record(&mut self, no: usize, rec: &[u8]) -> Result<(), (DecodeError, Option<String>)> {
        let bad = |k: ErrorKind| (DecodeError::new(no, k), None);
        let n = rec.len();
        if n < 6 || rec[n - 6] != b' ' || rec[n - 5] != b'~' {
            return Err(bad(ErrorKind::NoChecksum));
        }
        let body = &rec[..n - 6];
        // Exactly four lower-case hex digits, as the encoder writes them: any other byte there is
        // damage too, even one that would parse to the same number.
        let hex = &rec[n - 4..];
        if !hex.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad(ErrorKind::NoChecksum));
        }
        let crc = hex.iter().fold(0u16, |acc, &c| acc << 4 | (c as char).to_digit(16).unwrap_or(0) as u16);
        if crc16(body) != crc {
            return Err(bad(ErrorKind::Checksum));
        }
        let text = core::str::from_utf8(&body[TAG.len()..]).map_err(|_| bad(ErrorKind::Malformed("not ASCII".into())))?;
        let mut parts = text.splitn(4, ' ');
        let role = parts.next().unwrap_or("").to_string();
        let seq: u64 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| bad(ErrorKind::Malformed("no sequence number".into())))?;
        let k = match parts.next().map(str::as_bytes) {
            Some([k]) => *k,
            _ => return Err(bad(ErrorKind::Malformed("no record kind".into()))),
        };
        let rest = parts.next().unwrap_or("");
        let with_role = |e: DecodeError| (e, Some(role.clone()));

        if seq == 0 && k == kind::HEADER {
            self.close(&role, no);
            self.capture.runs.push(Run { first_line: no, last_line: no, ..Run::default() });
            let run = self.capture.runs.len() - 1;
            self.streams.insert(role.clone(), Stream { run, next_seq: 0, pending_header: Some(Vec::new()), ended: false });
        }
        let Some(s) = self.streams.get_mut(&role) else {
            return Err(bad(ErrorKind::NoHeader(role)));
        };
        if seq != s.next_seq {
            let e = DecodeError::new(no, ErrorKind::Missing { role: role.clone(), expected: s.next_seq, found: seq });
            s.next_seq = seq + 1;
            return Err(with_role(e));
        }
        s.next_seq += 1;
        let run = &mut self.capture.runs[s.run];
        run.last_line = no;
        if s.ended {
            return Err(with_role(DecodeError::new(no, ErrorKind::Malformed("record after the end record".into()))));
        }
        if k == kind::HEADER {
            let Some(h) = s.pending_header.as_mut() else {
                return Err(with_role(DecodeError::new(no, ErrorKind::Malformed("header after samples".into()))));
            };
            h.extend(fields(rest).map_err(|m| with_role(DecodeError::new(no, m)))?);
            return Ok(());
        }
        if let Some(h) = s.pending_header.take() {
            run.header = Header::parse(h, no).map_err(with_role)?;
        }
        let ncols = run.header.columns.len();
        match k {
            kind::GROUP => {
                let f = fields(rest).map_err(|m| with_role(DecodeError::new(no, m)))?;
                let counters = match get(&f, "ev") {
                    Some(ev) if run.header.version >= 2 => pmu_group(ev).map_err(|m| with_role(DecodeError::new(no, m)))?,
                    _ => Vec::new(),
                };
                let width = ncols + if counters.is_empty() { 0 } else { counters.len() + 1 };
                run.groups.push(Group { fields: f, columns: alloc::vec![Vec::new(); width], pmu: counters, ..Group::default() });
            }
            kind::SAMPLES => {
                if run.groups.is_empty() {
                    run.groups.push(Group { columns: alloc::vec![Vec::new(); ncols], ..Group::default() });
                }
                let g = run.groups.last_mut().expect("a group was just ensured");
                samples(g, rest).map_err(|m| with_role(DecodeError::new(no, m)))?;
            }
            kind::HISTOGRAM => {
                if run.groups.is_empty() {
                    run.groups.push(Group { columns: alloc::vec![Vec::new(); ncols], ..Group::default() });
                }
                let g = run.groups.last_mut().expect("a group was just ensured");
                let f = fields(rest).map_err(|m| with_role(DecodeError::new(no, m)))?;
                let h = histogram(&f, g.histograms.len(), ncols).map_err(|m| with_role(DecodeError::new(no, m)))?;
                if g.histograms.is_empty() {
                    g.count += h.n + h.lost;
                }
                g.histograms.push(h);
            }
            kind::BUCKETS => {
                let g = run.groups.last_mut();
                buckets(g, rest).map_err(|m| with_role(DecodeError::new(no, m)))?;
            }
            kind::PROGRESS => {
                let f = fields(rest).map_err(|m| with_role(DecodeError::new(no, m)))?;
                run.progress.push(f);
            }
            kind::NOTE => run.notes.push(rest.to_string()),
            kind::END => {
                let f = fields(rest).map_err(|m| with_role(DecodeError::new(no, m)))?;
                s.ended = true;
                let check = totals(run, &f);
                run.end = Some(f);
                check.map_err(|m| with_role(DecodeError::new(no, ErrorKind::Totals(m))))?;
            }
            other => return Err(with_role(DecodeError::new(no, ErrorKind::Malformed(format!("unknown kind `{}`", other as char))))),
        }
        Ok(())
    }

    /// Closes the open run of `role` (a new header came, or the input ended).
    fn close(&mut self, role: &str, no: usize) {
        let Some(s) = self.streams.remove(role) else { return };
        let run = &mut self.capture.runs[s.run];
        if let Some(h) = s.pending_header {
            match Header::parse(h, run.last_line) {
                Ok(h) => run.header = h,
                Err(e) => run.damage.push(e),
            }
        }
        if !s.ended && role != "interf" {
            run.damage.push(DecodeError::new(no, ErrorKind::Truncated(role.to_string())));
        }
    }

    /// What has been decoded so far, open runs included (headers appear once a run's first
    /// record after them has come): for progress shown while a capture arrives.
    pub fn capture(&self) -> &Capture {
        &self.capture
    }

    pub fn finish(mut self) -> Capture {
        // Records still waiting for their continuation were cut off.
        let folded = core::mem::take(&mut self.folded);
        let mut folded: Vec<(usize, Vec<u8>)> = folded.into_values().collect();
        folded.sort_by_key(|(no, _)| *no);
        for (no, text) in folded {
            self.take(no, &text);
        }
        let roles: Vec<String> = self.streams.keys().cloned().collect();
        let last = self.capture.lines;
        for r in roles {
            self.close(&r, last);
        }
        self.capture
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn fields(s: &str) -> Result<Fields, ErrorKind> {
    s.split_ascii_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(ErrorKind::Malformed(format!("`{kv}` is not key=value"))),
        })
        .collect()
}

fn digit(c: u8) -> Option<u64> {
    DIGITS.iter().position(|&d| d == c).map(|p| p as u64)
}

/// A v2 `G` record's `ev=`: 1 to `pmu::MAX_GROUP` counters.
fn pmu_group(ev: &str) -> Result<Vec<Counter>, ErrorKind> {
    let counters = ev
        .split(',')
        .map(|i| {
            pmu::parse_group_item(i).ok_or_else(|| ErrorKind::Malformed(format!("PMU group item `{i}` is not <hex event>:<el1|el2|el1+2>")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if counters.len() > pmu::MAX_GROUP {
        return Err(ErrorKind::Malformed(format!("PMU group of {} counters (at most {})", counters.len(), pmu::MAX_GROUP)));
    }
    Ok(counters)
}

fn samples(g: &mut Group, s: &str) -> Result<(), ErrorKind> {
    let ncols = g.columns.len();
    let (index, data) = s.split_once(' ').unwrap_or((s, ""));
    let index: u64 = index.parse().map_err(|_| ErrorKind::Malformed(format!("bad sample index `{index}`")))?;
    if index != g.count {
        return Err(ErrorKind::Malformed(format!("samples start at #{index}, expected #{}", g.count)));
    }
    if ncols == 0 {
        return Err(ErrorKind::Malformed("samples in a run with no columns".into()));
    }
    let mut prev = [0u64; super::encode::MAX_COLS];
    let mut bytes = data.bytes().peekable();
    while let Some(&c) = bytes.peek() {
        match c {
            LOST | CORRUPT => {
                bytes.next();
                if c == LOST { &mut g.lost_at } else { &mut g.corrupt_at }.push(g.count);
            }
            _ => {
                for (col, p) in prev.iter_mut().enumerate().take(ncols) {
                    let mut z: u64 = 0;
                    let mut shift = 0u32;
                    loop {
                        let ch = bytes.next().ok_or_else(|| ErrorKind::Malformed("sample cut off".into()))?;
                        let d = digit(ch).ok_or_else(|| ErrorKind::Malformed(format!("bad sample character `{}`", ch as char)))?;
                        if shift >= 64 {
                            return Err(ErrorKind::Malformed("sample value too long".into()));
                        }
                        z |= (d & 31) << shift;
                        shift += 5;
                        if d & 32 == 0 {
                            break;
                        }
                    }
                    let delta = ((z >> 1) as i64) ^ -((z & 1) as i64);
                    *p = p.wrapping_add(delta as u64);
                    g.columns[col].push(*p);
                }
            }
        }
        g.count += 1;
    }
    Ok(())
}

/// A `Y` record: column `c` (the next one expected) of the current group.
fn histogram(f: &Fields, expected: usize, ncols: usize) -> Result<Histogram, ErrorKind> {
    let num = |k: &str| -> Result<u64, ErrorKind> {
        get(f, k).and_then(|v| v.parse().ok()).ok_or_else(|| ErrorKind::Malformed(format!("histogram without a numeric `{k}`")))
    };
    let c = num("c")? as usize;
    if c != expected || c >= ncols {
        return Err(ErrorKind::Malformed(format!("histogram of column {c}, expected column {expected}")));
    }
    let sub_bits = num("sub_bits")? as u32;
    if sub_bits != crate::histogram::SUB_BITS {
        return Err(ErrorKind::Malformed(format!(
            "histogram with {sub_bits} sub-bucket bits; this decoder reads {}",
            crate::histogram::SUB_BITS
        )));
    }
    Ok(Histogram { n: num("n")?, lost: num("lost")?, min: num("min")?, max: num("max")?, sub_bits, buckets: Vec::new() })
}

/// A `B` record: `<col> <start> <pairs>`, pairs of (bucket delta, count) varints.
fn buckets(g: Option<&mut Group>, s: &str) -> Result<(), ErrorKind> {
    let bad = |m: &str| ErrorKind::Malformed(format!("bucket record: {m}"));
    let mut parts = s.splitn(3, ' ');
    let col: usize = parts.next().and_then(|c| c.parse().ok()).ok_or_else(|| bad("no column"))?;
    let mut bucket: usize = parts.next().and_then(|c| c.parse().ok()).ok_or_else(|| bad("no start bucket"))?;
    let h = g.and_then(|g| g.histograms.get_mut(col)).ok_or_else(|| bad("before its histogram record"))?;
    let mut bytes = parts.next().unwrap_or("").bytes();
    let next = |bytes: &mut core::str::Bytes| -> Result<Option<u64>, ErrorKind> {
        let mut z = 0u64;
        let mut shift = 0u32;
        loop {
            let Some(ch) = bytes.next() else {
                return if shift == 0 { Ok(None) } else { Err(bad("value cut off")) };
            };
            let d = digit(ch).ok_or_else(|| bad("bad character"))?;
            if shift >= 64 {
                return Err(bad("value too long"));
            }
            z |= (d & 31) << shift;
            shift += 5;
            if d & 32 == 0 {
                return Ok(Some(z));
            }
        }
    };
    while let Some(delta) = next(&mut bytes)? {
        let count = next(&mut bytes)?.ok_or_else(|| bad("bucket without a count"))?;
        bucket += delta as usize;
        if bucket >= crate::histogram::BUCKETS || h.buckets.last().is_some_and(|&(b, _)| b >= bucket) {
            return Err(bad("buckets out of order"));
        }
        h.buckets.push((bucket, count));
    }
    Ok(())
}

fn totals(run: &Run, end: &Fields) -> Result<(), String> {
    let field = |k: &str| get(end, k).and_then(|v| v.parse::<u64>().ok());
    for g in &run.groups {
        for (c, h) in g.histograms.iter().enumerate() {
            let sum: u64 = h.buckets.iter().map(|&(_, n)| n).sum();
            if sum != h.n {
                return Err(format!("histogram of column {c} holds {sum} samples, its record says n={}", h.n));
            }
        }
    }
    let good: u64 =
        run.groups.iter().map(|g| g.columns.first().map_or(0, |c| c.len() as u64) + g.histograms.first().map_or(0, |h| h.n)).sum();
    // A v2 notif run with PMU events says how many counter sets it rotates over; a run that
    // refused them (`pmu=refused`: no counters, or events the PMU does not implement) has none.
    if let Some(sets) = run.header.get("pmu_groups") {
        let have = run.groups.iter().filter(|g| !g.pmu.is_empty()).count();
        let want = if get(end, "pmu") == Some("refused") { Some(0) } else { sets.parse::<usize>().ok() };
        if want != Some(have) {
            return Err(format!("{have} PMU group(s) decoded, header says pmu_groups={sets}"));
        }
    }
    let checks = [
        ("samples", good),
        ("lost", run.lost()),
        ("corrupt", run.corrupt()),
        ("groups", run.groups.iter().filter(|g| !g.fields.is_empty()).count() as u64),
    ];
    for (k, have) in checks {
        match field(k) {
            Some(v) if v == have => {}
            Some(v) => return Err(format!("{k}={v} but {have} decoded")),
            None => return Err(format!("no `{k}` total")),
        }
    }
    for (i, g) in run.groups.iter().enumerate() {
        if g.count != run.header.samples {
            return Err(format!("group {} has {} samples, header says n={}", i + 1, g.count, run.header.samples));
        }
    }
    Ok(())
}
