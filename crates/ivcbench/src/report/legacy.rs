//! The RTAS'23 artifact's capture tables, so that existing data can be reported with ivcbench.
//!
//! notif: tables of a header of column names whose first is the latency (`irqlat`), then PMU event
//! columns and `cycles`, then one row of integers per sample (printf `%20d`). Tables are separated
//! by a line of one repeated character (dashes in the artifact); the artifact's files start with a
//! line of guest output and put no separator before the first table, ours may have one.
//! transfer: blocks `<- <mode>, <total>, <metric>`, a header of buffer sizes (`4K` … `16M`), one row
//! of tick counts per sample, and `->`.
//!
//! Every row must have exactly one integer per column: a garbled or short row, a table without
//! rows, a file cut off mid-row or a block without its end is an error naming the line, never
//! shifted columns. These files are large (the report benchmark reads 275 MB in under a second
//! on 2 cores), so rows are read by one pass over the bytes that also finds the line end, with no
//! allocation; everything that is not a row (headers, separators, damage) takes a slower path.

use super::dataset::{ColumnSummary, NotifData, TransferSeries};
use std::fmt;

/// A problem in a legacy file, with its 1-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LegacyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LegacyError {}

fn err(line: usize, message: impl Into<String>) -> LegacyError {
    LegacyError { line, message: message.into() }
}

/// Strict parsing stops at the first problem; lenient parsing records it and goes on.
struct Problems {
    strict: bool,
    found: Vec<LegacyError>,
}

impl Problems {
    fn new(strict: bool) -> Self {
        Problems { strict, found: Vec::new() }
    }
    fn add(&mut self, e: LegacyError) -> Result<(), LegacyError> {
        if self.strict {
            return Err(e);
        }
        self.found.push(e);
        Ok(())
    }
}

/// Separators between values. `\r` is one so that CR LF rows need no special case.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0c')
}

fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| is_space(b)).filter(|t| !t.is_empty())
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| is_space(b))
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|&b| !is_space(b)).unwrap_or(line.len());
    let end = line.iter().rposition(|&b| !is_space(b)).map_or(start, |e| e + 1);
    &line[start..end]
}

/// A line of one repeated punctuation character (`-----`): the artifact's table separator.
fn is_separator(line: &[u8]) -> bool {
    let t = trim(line);
    t.len() >= 3 && t[0].is_ascii_punctuation() && t.iter().all(|&b| b == t[0])
}

/// A decimal u64; `None` for anything else (sign, other characters, overflow).
fn parse_u64(t: &[u8]) -> Option<u64> {
    if t.is_empty() {
        return None;
    }
    t.iter().try_fold(0u64, |v, &b| if b.is_ascii_digit() { v.checked_mul(10)?.checked_add((b - b'0') as u64) } else { None })
}

fn text(t: &[u8]) -> String {
    String::from_utf8_lossy(t).into_owned()
}

/// The line starting at `pos` (without its LF) and where the next one starts.
fn line_at(bytes: &[u8], pos: usize) -> (&[u8], usize) {
    match bytes[pos..].iter().position(|&b| b == b'\n') {
        Some(n) => (&bytes[pos..pos + n], pos + n + 1),
        None => (&bytes[pos..], bytes.len()),
    }
}

/// What the fast path made of a line.
enum Row {
    /// `n` integers (only the first `out.len()` are stored; 0: a blank line); `width` is where the
    /// last one ends, from the line start; `next` is where the next line starts, `bytes.len()` if
    /// this line had no LF (`terminated` false).
    Ints { n: usize, width: usize, next: usize, terminated: bool },
    /// Something else: a separator, a header, a block end or damage; the slow path looks.
    Other,
}

const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);

/// Reads the line starting at `start` as a row of integers into `out`, finding its end on the way.
/// This is where the time goes: a `%20d` row is mostly padding, skipped 8 bytes at a time.
fn read_row(bytes: &[u8], start: usize, out: &mut [u64]) -> Row {
    let mut i = start;
    let mut n = 0;
    let mut width = 0;
    loop {
        while let Some(w) = bytes.get(i..i + 8) {
            if u64::from_ne_bytes(w.try_into().expect("8 bytes")) != SPACES {
                break;
            }
            i += 8;
        }
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            return Row::Ints { n, width, next: i, terminated: false };
        }
        if bytes[i] == b'\n' {
            return Row::Ints { n, width, next: i + 1, terminated: true };
        }
        let first = i;
        let mut v: u64 = 0;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            v = v.wrapping_mul(10).wrapping_add((bytes[i] - b'0') as u64);
            i += 1;
        }
        if i == first || (i < bytes.len() && bytes[i] != b'\n' && !is_space(bytes[i])) {
            return Row::Other;
        }
        // 20 digits may overflow: check those exactly (never in practice, values are 32-bit).
        if i - first > 19 {
            match parse_u64(&bytes[first..i]) {
                Some(exact) => v = exact,
                None => return Row::Other,
            }
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = v;
        }
        n += 1;
        width = i - start;
    }
}

/// The problem with a row the fast path could not read (a token that is not an integer).
fn bad_row(line: &[u8], no: usize, columns: &str) -> LegacyError {
    let bad = tokens(line).find(|t| parse_u64(t).is_none()).unwrap_or(b"");
    err(no, format!("`{}` is not a non-negative integer (columns: {columns})", text(bad)))
}

fn count_error(no: usize, n: usize, columns: &[String]) -> LegacyError {
    err(no, format!("row has {n} values, the table has {} columns ({})", columns.len(), columns.join(" ")))
}

/// Notices a last row cut off inside a number: it still has all its columns, but no line end, and
/// it is narrower than the rows before (the artifact prints every value `%20d`). Only while every
/// row of the file so far had the same width per column, so other layouts are not misjudged.
#[derive(Default)]
struct Widths {
    per_column: Option<usize>,
    fixed: bool,
}

impl Widths {
    /// A row of `n` (> 0) values ending `width` bytes after its line start.
    fn cut_off(&mut self, width: usize, n: usize, terminated: bool) -> bool {
        let Some(w) = self.per_column else {
            self.per_column = Some(width / n);
            self.fixed = width.is_multiple_of(n);
            return false;
        };
        let fits = width == w * n;
        if terminated {
            self.fixed &= fits;
            return false;
        }
        self.fixed && !fits
    }
}

/// Strict: the first problem is an error.
pub fn parse_notif(bytes: &[u8]) -> Result<NotifData, LegacyError> {
    notif(bytes, &mut Problems::new(true))
}

/// Lenient: what could be read (damaged rows left out, never shifted), and every problem.
pub fn parse_notif_lenient(bytes: &[u8]) -> (NotifData, Vec<LegacyError>) {
    let mut problems = Problems::new(false);
    let data = notif(bytes, &mut problems).unwrap_or_default();
    (data, problems.found)
}

enum State {
    /// Before the first table (the start prompt, boot output): a header is a line of names
    /// followed by a row of integers.
    Preamble,
    /// After a separator once a table was read: the next line is a header.
    Header,
    /// Lenient recovery from a bad header: ignore lines up to the next separator.
    Skip,
    /// Inside a table: its column names (latency first), where each other column's summary is in
    /// `pmu`, the header's line and the rows read so far.
    Table { names: Vec<String>, summaries: Vec<usize>, header_line: usize, rows: usize },
}

/// Is `line` a header before the first table? Names only, and either the artifact's latency name
/// first or the next non-blank line starting like a row (a digit): guest output before the table is
/// text followed by text. Only the start of the next line is looked at, so damage later in the
/// first row is reported as such instead of hiding the whole table.
fn preamble_header(bytes: &[u8], line: &[u8], next: usize) -> bool {
    if tokens(line).any(|t| parse_u64(t).is_some()) {
        return false;
    }
    if tokens(line).next() == Some(b"irqlat") {
        return true;
    }
    let mut pos = next;
    while pos < bytes.len() {
        let (l, after) = line_at(bytes, pos);
        if let Some(t) = tokens(l).next() {
            return t[0].is_ascii_digit();
        }
        pos = after;
    }
    false
}

fn notif(bytes: &[u8], problems: &mut Problems) -> Result<NotifData, LegacyError> {
    let mut data = NotifData::default();
    let mut state = State::Preamble;
    let mut latency_name: Option<String> = None;
    let mut values: Vec<u64> = Vec::new();
    let mut widths = Widths::default();
    let (mut pos, mut no) = (0, 1);
    // A table ends at a separator or at the end of the file; one without rows is damage.
    let close = |state: &State, problems: &mut Problems| match state {
        State::Table { rows: 0, header_line, .. } => problems.add(err(*header_line, "table has a header but no rows")),
        _ => Ok(()),
    };
    while pos < bytes.len() {
        if let State::Table { names, summaries, rows, .. } = &mut state {
            if let Row::Ints { n, width, next, terminated } = read_row(bytes, pos, &mut values) {
                if n == values.len() && !widths.cut_off(width, n, terminated) {
                    data.latency.push(values[0]);
                    for (&v, &s) in values[1..].iter().zip(summaries.iter()) {
                        data.pmu[s].add(v);
                    }
                    *rows += 1;
                } else if n == values.len() {
                    problems.add(err(no, "last row is narrower than the others and has no line end: file cut off mid-row?"))?;
                } else if n != 0 {
                    problems.add(count_error(no, n, names))?;
                }
                (pos, no) = (next, no + 1);
                continue;
            }
        }
        let (line, next) = line_at(bytes, pos);
        if is_separator(line) {
            close(&state, problems)?;
            state = if latency_name.is_some() { State::Header } else { State::Preamble };
        } else if !is_blank(line) {
            match &state {
                State::Skip => {}
                State::Preamble if !preamble_header(bytes, line, next) => {}
                State::Table { names, .. } => problems.add(bad_row(line, no, &names.join(" ")))?,
                State::Header if tokens(line).next().map(text) != latency_name => {
                    let first = tokens(line).next().map(text).unwrap_or_default();
                    let want = latency_name.as_deref().unwrap_or_default();
                    problems.add(err(no, format!("expected a table header starting with `{want}`, found `{first}`")))?;
                    state = State::Skip;
                }
                State::Header if tokens(line).any(|t| parse_u64(t).is_some()) => {
                    problems.add(err(no, "expected a header of column names after the separator, found numbers"))?;
                    state = State::Skip;
                }
                // A header: before the first table (checked above) or after a separator.
                _ => {
                    let names: Vec<String> = tokens(line).map(text).collect();
                    latency_name.get_or_insert_with(|| names[0].clone());
                    // Where each other column's summary lives in data.pmu: one per name, first-seen
                    // order, so `cycles` in every table adds up in one summary.
                    let summaries = names[1..]
                        .iter()
                        .map(|n| match data.pmu.iter().position(|s| s.name == *n) {
                            Some(i) => i,
                            None => {
                                data.pmu.push(ColumnSummary::new(n));
                                data.pmu.len() - 1
                            }
                        })
                        .collect();
                    values.resize(names.len(), 0);
                    state = State::Table { names, summaries, header_line: no, rows: 0 };
                }
            }
        }
        (pos, no) = (next, no + 1);
    }
    close(&state, problems)?;
    // Up to half of a doubling Vec is spare: give it back, 28 files are held at once.
    data.latency.shrink_to_fit();
    if latency_name.is_none() {
        // The line count, for want of a better line: the whole file was looked at.
        problems.add(err(no.max(2) - 1, "no table found (expected a header such as `irqlat ...` and rows of integers)"))?;
    }
    Ok(data)
}

/// Strict: the first problem is an error.
pub fn parse_transfer(bytes: &[u8]) -> Result<Vec<TransferSeries>, LegacyError> {
    transfer(bytes, &mut Problems::new(true))
}

/// Lenient: what could be read (damaged rows left out, never shifted), and every problem.
pub fn parse_transfer_lenient(bytes: &[u8]) -> (Vec<TransferSeries>, Vec<LegacyError>) {
    let mut problems = Problems::new(false);
    let data = transfer(bytes, &mut problems).unwrap_or_default();
    (data, problems.found)
}

/// `4K`, `16M`: binary multiples, as the artifact's script reads them.
fn parse_size(t: &[u8]) -> Option<u64> {
    let (unit, n) = t.split_last()?;
    let shift = match unit {
        b'K' | b'k' => 10,
        b'M' | b'm' => 20,
        _ => return None,
    };
    parse_u64(n).and_then(|v| v.checked_mul(1 << shift))
}

enum Block {
    Outside,
    /// After `<-` (opened at `line`): the next line is the header of buffer sizes.
    Header {
        line: usize,
        mode: String,
        total: u64,
    },
    /// Rows: their series are `out[first..first + values.len()]`.
    Rows {
        line: usize,
        first: usize,
        rows: usize,
    },
}

/// `<- polling, 16M, time` (after the `<-`): mode and bytes per sample.
fn block_head(rest: &[u8], no: usize) -> Result<(String, u64), LegacyError> {
    let parts: Vec<&[u8]> = rest.split(|&b| b == b',').map(trim).collect();
    let [mode, total, metric] = parts.as_slice() else {
        return Err(err(no, "expected `<- <mode>, <transfer size>, <metric>` (e.g. `<- polling, 16M, time`)"));
    };
    let Some(total) = parse_size(total) else {
        return Err(err(no, format!("transfer size `{}` is not a size such as 16M", text(total))));
    };
    // Anything but time per sample would be read as ticks and reported as throughput.
    if *metric != b"time" || mode.is_empty() {
        return Err(err(no, format!("expected a mode and the metric `time`, found `{}`", text(trim(rest)))));
    }
    Ok((text(mode), total))
}

fn transfer(bytes: &[u8], problems: &mut Problems) -> Result<Vec<TransferSeries>, LegacyError> {
    let mut out: Vec<TransferSeries> = Vec::new();
    let mut block = Block::Outside;
    let mut values: Vec<u64> = Vec::new();
    let mut widths = Widths::default();
    let (mut pos, mut no) = (0, 1);
    let columns = |out: &[TransferSeries], first: usize| -> Vec<String> { out[first..].iter().map(|s| super::size_name(s.buf)).collect() };
    while pos < bytes.len() {
        if let Block::Rows { first, rows, .. } = &mut block {
            if let Row::Ints { n, width, next, terminated } = read_row(bytes, pos, &mut values) {
                if n == values.len() && !widths.cut_off(width, n, terminated) {
                    for (s, &v) in out[*first..].iter_mut().zip(values.iter()) {
                        s.ticks.push(v);
                    }
                    *rows += 1;
                } else if n == values.len() {
                    problems.add(err(no, "last row is narrower than the others and has no line end: file cut off mid-row?"))?;
                } else if n != 0 {
                    problems.add(count_error(no, n, &columns(&out, *first)))?;
                }
                (pos, no) = (next, no + 1);
                continue;
            }
        }
        let (line, next) = line_at(bytes, pos);
        let t = trim(line);
        if let Some(rest) = t.strip_prefix(b"<-") {
            if let Block::Header { line, .. } | Block::Rows { line, .. } = block {
                problems.add(err(no, format!("block opened at line {line} has no closing `->`")))?;
            }
            block = match block_head(rest, no) {
                Ok((mode, total)) => Block::Header { line: no, mode, total },
                Err(e) => {
                    problems.add(e)?;
                    Block::Outside
                }
            };
        } else if t == b"->" {
            match block {
                Block::Header { line, .. } => problems.add(err(no, format!("block opened at line {line} has no header")))?,
                Block::Rows { line, first, rows: 0, .. } => {
                    out.truncate(first);
                    problems.add(err(no, format!("block opened at line {line} has no rows")))?;
                }
                _ => {}
            }
            block = Block::Outside;
        } else if !t.is_empty() {
            match &block {
                // Text outside blocks: the guest's other output.
                Block::Outside => {}
                Block::Header { line, mode, total } => {
                    let sizes: Option<Vec<u64>> = tokens(t).map(parse_size).collect();
                    block = match sizes {
                        Some(sizes) => {
                            let first = out.len();
                            values.resize(sizes.len(), 0);
                            for buf in sizes {
                                out.push(TransferSeries { mode: mode.clone(), buf, total: *total, ..TransferSeries::default() });
                            }
                            Block::Rows { line: *line, first, rows: 0 }
                        }
                        None => {
                            problems.add(err(no, "expected a header of buffer sizes (4K 32K ... 16M)"))?;
                            Block::Outside
                        }
                    };
                }
                Block::Rows { first, .. } => problems.add(bad_row(line, no, &columns(&out, *first).join(" ")))?,
            }
        }
        (pos, no) = (next, no + 1);
    }
    let last = no.max(2) - 1;
    if let Block::Header { line, .. } | Block::Rows { line, .. } = block {
        problems.add(err(last, format!("block opened at line {line} has no closing `->` (file cut off?)")))?;
    }
    out.iter_mut().for_each(|s| s.ticks.shrink_to_fit());
    if out.is_empty() {
        problems.add(err(last, "no transfer block found (expected `<- polling, 16M, time`)"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(d: &NotifData, name: &str) -> (u64, u64, u64, u128) {
        let s = d.pmu.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no column {name}"));
        (s.n, s.min, s.max, s.sum)
    }

    // As the artifact's guest printed them: every value right-aligned in 20 columns, CR LF.
    const NOTIF: &str = concat!(
        "Press 's' to start...\r\n",
        "--------------------\r\n",
        "              irqlat       l1$i_miss_el1              cycles\r\n",
        "                 120                   3                5000\r\n",
        "                  80                   1                7000\r\n",
        "--------------------\r\n",
        "              irqlat      exceptions_el2              cycles\r\n",
        "                  95                   2                6000\r\n",
    );

    #[test]
    fn notif_tables_concatenate_latency_and_summarise_the_rest() {
        let d = parse_notif(NOTIF.as_bytes()).unwrap();
        assert_eq!(d.latency, [120, 80, 95]);
        assert_eq!((d.oneway.as_ref(), d.lost), (None, 0));
        let names: Vec<&str> = d.pmu.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["l1$i_miss_el1", "cycles", "exceptions_el2"]);
        assert_eq!(summary(&d, "l1$i_miss_el1"), (2, 1, 3, 4));
        // cycles is in both tables: one summary of all three rows.
        assert_eq!(summary(&d, "cycles"), (3, 5000, 7000, 18000));
        assert_eq!(summary(&d, "exceptions_el2"), (1, 2, 2, 2));
    }

    #[test]
    fn lf_and_trailing_blank_lines_read_the_same() {
        let lf = NOTIF.replace("\r\n", "\n") + "\n\n";
        assert_eq!(parse_notif(lf.as_bytes()).unwrap(), parse_notif(NOTIF.as_bytes()).unwrap());
        let crlf_blank = NOTIF.to_string() + "\r\n   \r\n";
        assert_eq!(parse_notif(crlf_blank.as_bytes()).unwrap().latency, [120, 80, 95]);
    }

    #[test]
    fn artifact_layout_without_a_first_separator() {
        // The artifact skips its file's first line and reads a table straight after it.
        let s = concat!(
            "Press 's' to start...\n",
            "irqlat cycles\n",
            "  10  100\n",
            "  20  200\n",
            "=====\n",
            "irqlat cycles\n",
            "  30  300\n",
        );
        let d = parse_notif(s.as_bytes()).unwrap();
        assert_eq!(d.latency, [10, 20, 30]);
        assert_eq!(summary(&d, "cycles"), (3, 100, 300, 600));
        // Boot output with a dashes line of its own is not a table.
        let d = parse_notif(b"(XEN) boot\n-----\n(XEN) Xen 4.16\nPress 's'\n-----\nlat cycles\n 1 2\n").unwrap();
        assert_eq!((d.latency, d.pmu[0].name.as_str()), (vec![1], "cycles"));
        // Damage in the first row of the first table is reported, not taken for more boot output.
        let e = parse_notif(b"Press 's'\nirqlat cycles\nx1 2\n3 4\n").unwrap_err();
        assert_eq!(e.to_string(), "line 3: `x1` is not a non-negative integer (columns: irqlat cycles)");
        // A table whose only column is the latency: no PMU summaries.
        let d = parse_notif(b"boot\n----\nirqlat\n7\n9\n").unwrap();
        assert_eq!((d.latency, d.pmu.len()), (vec![7, 9], 0));
    }

    #[test]
    fn notif_garbled_short_and_long_rows_name_their_line() {
        let garbled = NOTIF.replace("                  80", "                  8O");
        let e = parse_notif(garbled.as_bytes()).unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.to_string().starts_with("line 5: `8O` is not"), "{e}");
        let short = NOTIF.replace("                  80                   1", "                  80");
        let e = parse_notif(short.as_bytes()).unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.message.contains("row has 2 values, the table has 3 columns"), "{e}");
        let long = NOTIF.replace("                6000", "                6000   4");
        let e = parse_notif(long.as_bytes()).unwrap_err();
        assert_eq!((e.line, e.message.contains("row has 4 values")), (8, true), "{e}");
        let negative = NOTIF.replace("                   2", "                  -2");
        assert_eq!(parse_notif(negative.as_bytes()).unwrap_err().line, 8);
        let overflow = NOTIF.replace("                5000", " 18446744073709551616");
        assert_eq!(parse_notif(overflow.as_bytes()).unwrap_err().line, 4);
        let max = NOTIF.replace("                5000", " 18446744073709551615");
        assert_eq!(summary(&parse_notif(max.as_bytes()).unwrap(), "cycles").2, u64::MAX);
    }

    #[test]
    fn notif_cut_off_mid_row_is_an_error() {
        // A column missing.
        let cut = &NOTIF[..NOTIF.len() - 8];
        assert_eq!(parse_notif(cut.as_bytes()).unwrap_err().line, 8);
        // Inside the last number: all columns there, but `60` instead of `6000`.
        let cut = &NOTIF[..NOTIF.len() - 4];
        let e = parse_notif(cut.as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("line 8: last row is narrower"), "{e}");
        // After the header.
        let cut = &NOTIF[..NOTIF.rfind("    95").unwrap()];
        let e = parse_notif(cut.as_bytes()).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (7, "table has a header but no rows"));
        // A whole last row without its line end is fine.
        let d = parse_notif(&NOTIF.as_bytes()[..NOTIF.len() - 2]).unwrap();
        assert_eq!(d.latency, [120, 80, 95]);
    }

    #[test]
    fn notif_without_tables_or_with_a_wrong_header() {
        let e = parse_notif(b"just a boot log\nand more\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("no table found"), "{e}");
        assert_eq!(parse_notif(b"").unwrap_err().line, 1);
        let other = NOTIF.replace("              irqlat      exceptions_el2", "                 lat      exceptions_el2");
        let e = parse_notif(other.as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "line 7: expected a table header starting with `irqlat`, found `lat`");
    }

    #[test]
    fn lenient_notif_keeps_good_rows_and_lists_every_problem() {
        let damaged = NOTIF.replace("                  80", "                  8O").replace("                   2", "");
        let (d, problems) = parse_notif_lenient(damaged.as_bytes());
        assert_eq!(d.latency, [120]);
        assert_eq!(summary(&d, "cycles"), (1, 5000, 5000, 5000));
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        // Line 8 was the second table's only row: that table is then empty (its header, line 7).
        assert_eq!(lines, [5, 8, 7]);
        // A bad header: its table is skipped, the next is read.
        let s = "----\nlat x\n1 2\n----\nfoo x\n3 4\n----\nlat x\n5 6\n";
        let (d, problems) = parse_notif_lenient(s.as_bytes());
        assert_eq!((d.latency, problems.len(), problems[0].line), (vec![1, 5], 1, 5));
    }

    const TRANSFER: &str = concat!(
        "<- polling, 16M, time\n",
        "   4K   16M\n",
        "  300   100\n",
        "  310   110\n",
        "->\n",
        "junk between blocks\n",
        "<- interrupt, 1M, time\r\n",
        "  32K  256K  512K  1M  2M  4M\r\n",
        "  900   901   902 903 904 905\r\n",
        "->\r\n",
        "\n",
    );

    #[test]
    fn transfer_blocks_give_one_series_per_mode_and_buffer() {
        let s = parse_transfer(TRANSFER.as_bytes()).unwrap();
        let got: Vec<(&str, u64, u64, &[u64])> = s.iter().map(|s| (s.mode.as_str(), s.buf, s.total, s.ticks.as_slice())).collect();
        assert_eq!(
            got,
            [
                ("polling", 4096, 16_777_216, &[300, 310][..]),
                ("polling", 16_777_216, 16_777_216, &[100, 110][..]),
                ("interrupt", 32_768, 1_048_576, &[900][..]),
                ("interrupt", 262_144, 1_048_576, &[901][..]),
                ("interrupt", 524_288, 1_048_576, &[902][..]),
                ("interrupt", 1_048_576, 1_048_576, &[903][..]),
                ("interrupt", 2_097_152, 1_048_576, &[904][..]),
                ("interrupt", 4_194_304, 1_048_576, &[905][..]),
            ]
        );
        assert!(s.iter().all(|s| s.lost == 0 && s.corrupt == 0));
    }

    #[test]
    fn transfer_damage_names_the_line() {
        let e = parse_transfer(TRANSFER.replace("  310   110", "  310").as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "line 4: row has 1 values, the table has 2 columns (4K 16M)");
        let e = parse_transfer(TRANSFER.replace("  300", "  3e0").as_bytes()).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.starts_with("`3e0` is not"), "{e}");
        let e = parse_transfer(TRANSFER.replace(" 905", " 905 906").as_bytes()).unwrap_err();
        assert_eq!(e.line, 9);
        // Cut off before the last `->`.
        let cut = &TRANSFER[..TRANSFER.rfind("->").unwrap()];
        let e = parse_transfer(cut.as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "line 9: block opened at line 7 has no closing `->` (file cut off?)");
        // A block running into the next one.
        let e = parse_transfer(TRANSFER.replacen("->\n", "", 1).as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "line 5: `junk` is not a non-negative integer (columns: 4K 16M)");
        let e = parse_transfer(TRANSFER.replacen("->\njunk between blocks\n", "", 1).as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "line 5: block opened at line 1 has no closing `->`");
        let e = parse_transfer(TRANSFER.replace("  4K", "  4X").as_bytes()).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse_transfer(TRANSFER.replace("16M, time", "16M, energy").as_bytes()).unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_transfer(b"nothing here\n").unwrap_err();
        assert_eq!((e.line, e.message.starts_with("no transfer block")), (1, true));
    }

    #[test]
    fn lenient_transfer_keeps_what_it_can() {
        let damaged = TRANSFER.replace("  300   100", "  300").replace("->\r\n", "");
        let (s, problems) = parse_transfer_lenient(damaged.as_bytes());
        assert_eq!((s.len(), s[0].ticks.as_slice(), s[1].ticks.as_slice(), s[7].ticks.as_slice()), (8, &[310][..], &[110][..], &[905][..]));
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 10]);
    }

    /// Damaged copies of the examples (bytes replaced, removed, the file cut): no panic, and what
    /// the strict reader accepts reads the same leniently, with no problem.
    #[test]
    fn damaged_copies_never_panic_and_strict_agrees_with_lenient() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b" \t\r\n-0123456789xKM<>,";
        for base in [NOTIF, TRANSFER] {
            for _ in 0..3000 {
                let mut b = base.as_bytes().to_vec();
                for _ in 0..1 + next() % 3 {
                    let at = (next() % b.len() as u64) as usize;
                    match next() % 3 {
                        0 => b[at] = alphabet[(next() % alphabet.len() as u64) as usize],
                        1 => drop(b.remove(at)),
                        _ => b.truncate(at),
                    }
                    if b.is_empty() {
                        break;
                    }
                }
                let (notif, problems) = parse_notif_lenient(&b);
                if let Ok(strict) = parse_notif(&b) {
                    assert_eq!((&strict, problems.len()), (&notif, 0), "{}", String::from_utf8_lossy(&b));
                }
                let (transfer, problems) = parse_transfer_lenient(&b);
                if let Ok(strict) = parse_transfer(&b) {
                    assert_eq!((&strict, problems.len()), (&transfer, 0), "{}", String::from_utf8_lossy(&b));
                }
            }
        }
    }
}
