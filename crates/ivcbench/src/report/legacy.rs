//! The RTAS'23 artifact's capture tables, so that existing data can be reported with ivcbench.
//!
//! notif: tables of a header of column names whose first is the latency (`irqlat`), then PMU event
//! columns and `cycles`, then one row of integers per sample (printf `%20d`). Tables are separated
//! by a line of one repeated character (dashes in the artifact); the artifact's files start with a
//! line of guest output and put no separator before the first table, ours may have one.
//! transfer: blocks `<- <mode>, <total>, <metric>`, a header of buffer sizes (`4K` … `16M`), one row
//! of tick counts per sample, and `->`.
//!
//! A real serial capture holds more than tables: the guest's prompt before and after them (the
//! seed's users close minicom's log after the guest prompts again), boot output, a first line cut
//! where the log was opened, CR LF line ends. Such console text is counted ([`TextLines`]: how
//! many lines, the first one's number) and never counts as damage. A line is console text when
//! fewer than half of its words are integers; a line that looks like a row (half its words or
//! more are integers) is a row, and must be a whole one.
//!
//! Every row must have exactly one integer per column: a garbled or short row, a row outside any
//! table, a table without rows, a file cut off mid-row or a block without its end is an error
//! naming the line, never shifted columns. Bytes quoted in errors are escaped (`\x00`), never raw.
//! These files are large (the report benchmark reads 266 MB), so rows are read by one pass over the
//! bytes that also finds the line end, with no allocation; everything that is not a row
//! (headers, separators, console text, damage) takes a slower path.

use super::dataset::{ColumnSummary, NotifData, TextLines, TransferSeries};
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

/// The artifact's transfer tables read: one series per mode and buffer size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transfer {
    pub series: Vec<TransferSeries>,
    pub text: TextLines,
}

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

/// Bytes for a message: printable ASCII as is, anything else escaped (`\x1b`, `\xff`).
fn text(t: &[u8]) -> String {
    t.escape_ascii().to_string()
}

/// Whether a line that is not a clean row is meant as one: half its words or more are integers
/// (a garbled row) rather than console text that happens to hold a number (`DRAM:  2 GiB`,
/// `7667720 bytes read in 514 ms`).
fn row_like(line: &[u8]) -> bool {
    let (mut ints, mut all) = (0, 0);
    for t in tokens(line) {
        all += 1;
        ints += parse_u64(t).is_some() as usize;
    }
    all > 0 && ints * 2 >= all
}

/// The start of a file that holds no table, escaped, for the error: a binary file or garbage is
/// shown for what it is.
pub fn file_start(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(48)];
    let more = if bytes.len() > head.len() { "..." } else { "" };
    format!("the file starts with \"{}{more}\"", text(head))
}

/// The line starting at `pos` (without its LF) and where the next one starts.
fn line_at(bytes: &[u8], pos: usize) -> (&[u8], usize) {
    match memchr::memchr(b'\n', &bytes[pos..]) {
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

const SPACES: u64 = u64::from_le_bytes([b' '; 8]);

/// Reads the line starting at `start` as a row of integers into `out`, finding its end on the way.
/// This is where the time goes: a `%20d` row is mostly padding, skipped 8 bytes at a time.
fn read_row(bytes: &[u8], start: usize, out: &mut [u64]) -> Row {
    let mut i = start;
    let mut n = 0;
    let mut width = 0;
    loop {
        // Eight bytes at a time; the first that is not a space is found by its bit position.
        while let Some(w) = bytes.get(i..i + 8) {
            let diff = u64::from_le_bytes(w.try_into().expect("8 bytes")) ^ SPACES;
            if diff != 0 {
                i += (diff.trailing_zeros() / 8) as usize;
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
    /// Outside the tables: before the first (prompt, boot output), after a separator or after
    /// console text that ended a table. A header is a line of names: before the first table,
    /// followed by a row; after it, starting with the first table's latency name.
    Outside,
    /// After a row outside any table (its header missing or garbled): further rows belong to that
    /// lost table and are not reported again.
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
    let mut state = State::Outside;
    let mut latency_name: Option<Vec<u8>> = None;
    let mut values: Vec<u64> = Vec::new();
    let mut widths = Widths::default();
    // The last console text line, for the error of a row outside a table.
    let mut last_text: Option<(usize, String)> = None;
    let (mut pos, mut no) = (0, 1);
    // A table ends at a separator, console text or the end of the file; one without rows is damage.
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
            state = State::Outside;
        } else if !is_blank(line) {
            let first = tokens(line).next().unwrap_or_default();
            let header = !row_like(line)
                && match &latency_name {
                    Some(name) => first == name.as_slice(),
                    None => preamble_header(bytes, line, next),
                };
            if header {
                close(&state, problems)?;
                let names: Vec<String> = tokens(line).map(text).collect();
                latency_name.get_or_insert_with(|| first.to_vec());
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
            } else if row_like(line) || (matches!(state, State::Table { .. }) && parse_u64(first).is_some()) {
                // Inside a table, a line starting with a number is a row too: the last one, cut
                // and run into the prompt that followed.
                match &state {
                    State::Table { names, .. } => problems.add(bad_row(line, no, &names.join(" ")))?,
                    State::Skip => {}
                    // The first line may be the end of a line cut where the log was opened.
                    State::Outside if no == 1 => data.text.add(no),
                    State::Outside => {
                        let want = latency_name
                            .as_deref()
                            .map_or("a header of column names".into(), |n| format!("a header starting with `{}`", text(n)));
                        let before = last_text
                            .as_ref()
                            .map(|(l, t)| format!("; the last text before it, line {l} `{t}`, is not {want}"))
                            .unwrap_or_else(|| format!("; {want} must come first"));
                        problems.add(err(no, format!("row outside any table{before}")))?;
                        state = State::Skip;
                    }
                }
            } else {
                // Console text: the prompt after the tables, a banner, boot output.
                close(&state, problems)?;
                data.text.add(no);
                let words: Vec<String> = tokens(line).take(8).map(text).collect();
                last_text = Some((no, words.join(" ")));
                state = State::Outside;
            }
        }
        (pos, no) = (next, no + 1);
    }
    close(&state, problems)?;
    // Up to half of a doubling Vec is spare: give it back, 28 files are held at once.
    data.latency.shrink_to_fit();
    if latency_name.is_none() {
        // The line count, for want of a better line: the whole file was looked at.
        let last = no.max(2) - 1;
        problems.add(err(
            last,
            format!("no table found (expected a header such as `irqlat ...` and rows of integers); {}", file_start(bytes)),
        ))?;
    }
    Ok(data)
}

/// Strict: the first problem is an error.
pub fn parse_transfer(bytes: &[u8]) -> Result<Transfer, LegacyError> {
    transfer(bytes, &mut Problems::new(true))
}

/// Lenient: what could be read (damaged rows left out, never shifted), and every problem.
pub fn parse_transfer_lenient(bytes: &[u8]) -> (Transfer, Vec<LegacyError>) {
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

fn transfer(bytes: &[u8], problems: &mut Problems) -> Result<Transfer, LegacyError> {
    let mut out: Vec<TransferSeries> = Vec::new();
    let mut other = TextLines::default();
    // After a row outside any block: its block's head is lost, its rows are not reported again.
    let mut skipping = false;
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
            skipping = false;
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
                // Rows whose block head is missing or garbled: damage, once per lost block.
                Block::Outside if row_like(t) && no > 1 => {
                    if !skipping {
                        problems.add(err(
                            no,
                            "row outside any block (expected `<- <mode>, <transfer size>, time` and a header of buffer sizes before it)",
                        ))?;
                    }
                    skipping = true;
                }
                // Console text outside blocks: the prompt, banners, boot output.
                Block::Outside => {
                    skipping = false;
                    other.add(no);
                }
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
                Block::Rows { first, .. } if row_like(t) || tokens(t).next().is_some_and(|w| parse_u64(w).is_some()) => {
                    problems.add(bad_row(line, no, &columns(&out, *first).join(" ")))?
                }
                // Console text inside a block (a message of another VM): counted; the block still
                // needs its `->`.
                Block::Rows { .. } => other.add(no),
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
        problems.add(err(last, format!("no transfer block found (expected `<- polling, 16M, time`); {}", file_start(bytes))))?;
    }
    Ok(Transfer { series: out, text: other })
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
        // The garbled header is console text; the row after it is outside any table.
        assert_eq!(
            e.to_string(),
            "line 8: row outside any table; the last text before it, line 7 `lat exceptions_el2 cycles`, is not a header starting with `irqlat`"
        );
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
        assert_eq!((d.latency, problems.len(), problems[0].line), (vec![1, 5], 1, 6));
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
        assert_eq!(s.text, TextLines { count: 1, first: 6 });
        let s = s.series;
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
        assert_eq!(e.to_string(), "line 6: block opened at line 1 has no closing `->`");
        let e = parse_transfer(TRANSFER.replacen("  310   110", "  310   1l0", 1).as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "line 4: `1l0` is not a non-negative integer (columns: 4K 16M)");
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
        let s = s.series;
        assert_eq!((s.len(), s[0].ticks.as_slice(), s[1].ticks.as_slice(), s[7].ticks.as_slice()), (8, &[310][..], &[110][..], &[905][..]));
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 10]);
    }

    /// A notif capture as minicom saves it on a board: a cut first line, boot output, the prompt,
    /// a banner between tables, the prompt again after the last table, CR LF.
    fn minicom(clean: &str) -> String {
        let body = clean.replace("Press 's' to start...\r\n", "");
        format!(
            "0000] CPU1: Booting secondary processor\r\n\
             U-Boot 2020.01 (Jan 01 2020 - 00:00:00 +0000)\r\n\
             DRAM:  2 GiB\r\n\
             7667720 bytes read in 514 ms (14.2 MiB/s)\r\n\
             \x1b[0m(XEN) Xen version 4.16.1\r\n\
             Press 's' to start...\r\n{}\
             [guest] table 2 of 2\r\n{}\
             Press 's' to start...\r\n",
            &body[..body.find("--------------------\r\n              irqlat      exceptions").unwrap()],
            &body[body.find("--------------------\r\n              irqlat      exceptions").unwrap()..],
        )
    }

    #[test]
    fn a_whole_serial_capture_reads_as_its_tables() {
        let clean = parse_notif(NOTIF.as_bytes()).unwrap();
        let real = minicom(NOTIF);
        let d = parse_notif(real.as_bytes()).unwrap();
        assert_eq!((&d.latency, &d.pmu), (&clean.latency, &clean.pmu));
        // Line 1 (cut), 4 lines of boot output, the prompt, the banner, the prompt again.
        assert_eq!(d.text, TextLines { count: 8, first: 1 });
        assert!(parse_notif_lenient(real.as_bytes()).1.is_empty());
        // Real damage still is: a garbled row, a short row, a row cut before the prompt.
        let garbled = real.replace("                  80", "                  8O");
        assert!(parse_notif(garbled.as_bytes()).unwrap_err().message.starts_with("`8O` is not"));
        let short = real.replace("                  95                   2", "                  95");
        assert!(parse_notif(short.as_bytes()).unwrap_err().message.contains("row has 2 values"));
        let cut = real.replace("                6000\r\nPress", "Press");
        let e = parse_notif(cut.as_bytes()).unwrap_err();
        assert_eq!((e.line, e.message.starts_with("`2Press` is not a non-negative integer")), (14, true), "{e}");

        let transfer = format!("ress 's' to start...\r\nboot: 2 CPUs\r\n{}Press 's' to start...\r\n", TRANSFER);
        let t = parse_transfer(transfer.as_bytes()).unwrap();
        assert_eq!(t.series, parse_transfer(TRANSFER.as_bytes()).unwrap().series);
        assert_eq!(t.text, TextLines { count: 4, first: 1 });
    }

    #[test]
    fn binary_and_garbage_are_errors_with_escaped_bytes() {
        let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\xb7\x00\n\xff\xfe";
        for e in [parse_notif(elf).unwrap_err(), parse_transfer(elf).unwrap_err()] {
            let m = e.to_string();
            assert!(m.contains(r"\x7fELF\x02\x01\x01\x00"), "{m}");
            assert!(m.is_ascii() && !m.contains('\0'), "{m}");
        }
        // A garbled byte inside a row is named escaped.
        let e = parse_notif(NOTIF.replace("                  80", "                 \x1b80").as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), r"line 5: `\x1b80` is not a non-negative integer (columns: irqlat l1$i_miss_el1 cycles)");
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
