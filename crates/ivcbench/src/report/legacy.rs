//! The RTAS'23 artifact's capture tables, so that existing data can be reported with ivcbench.
//!
//! notif: tables that each start after a separator line (one character repeated, dashes in the
//! artifact): a header of column names whose first is the latency (`irqlat`), then PMU event
//! columns and `cycles`, then one row of integers per sample (printf `%20d`). transfer: blocks
//! `<- <mode>, <total>, <metric>`, a header of buffer sizes (`4K` … `16M`), one row of tick counts
//! per sample, and `->`.
//!
//! Every row must have exactly one integer per column: a garbled or short row, a table without
//! rows or a block without its end is an error naming the line, never shifted columns. These
//! files can be large (the benchmark reads 266 MB), so parsing works on bytes with no allocation
//! per row.

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

fn err(line: usize, message: impl Into<String>) -> LegacyError {
    LegacyError { line, message: message.into() }
}

/// Lines with their 1-based numbers, without line ends (LF or CR LF).
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    bytes.split(|&b| b == b'\n').enumerate().map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
}

fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty())
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// A line of one repeated punctuation character (`-----`): the artifact's table separator.
fn is_separator(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.len() >= 3 && t[0].is_ascii_punctuation() && t.iter().all(|&b| b == t[0])
}

fn parse_u64(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in t {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (b - b'0') as u64;
    }
    Some(v)
}

/// Reads one row of exactly `out.len()` integers into `out`.
fn row(line: &[u8], no: usize, out: &mut [u64], what: &dyn Fn() -> String) -> Result<(), LegacyError> {
    let mut n = 0;
    for t in tokens(line) {
        if n == out.len() {
            return Err(err(no, format!("row has more values than the {} columns ({})", out.len(), what())));
        }
        out[n] = parse_u64(t)
            .ok_or_else(|| err(no, format!("`{}` is not a non-negative integer (columns: {})", String::from_utf8_lossy(t), what())))?;
        n += 1;
    }
    if n != out.len() {
        return Err(err(no, format!("row has {n} values, the table has {} columns ({})", out.len(), what())));
    }
    Ok(())
}

/// Reports a problem: strict parsing stops, lenient parsing records it and goes on.
fn problem(problems: &mut Vec<LegacyError>, strict: bool, e: LegacyError) -> Result<(), LegacyError> {
    if strict {
        return Err(e);
    }
    problems.push(e);
    Ok(())
}

pub fn parse_notif(bytes: &[u8]) -> Result<NotifData, LegacyError> {
    let mut problems = Vec::new();
    notif(bytes, true, &mut problems)
}

pub fn parse_notif_lenient(bytes: &[u8]) -> (NotifData, Vec<LegacyError>) {
    let mut problems = Vec::new();
    let data = notif(bytes, false, &mut problems).unwrap_or_default();
    (data, problems)
}

enum State {
    /// Before the first separator: boot output, the start prompt.
    Preamble,
    /// After a separator: the next non-blank line is a header.
    Header,
    /// Inside a table: its columns (latency first) and the line of its header.
    Table { names: Vec<String>, summaries: Vec<usize>, header_line: usize, rows: usize },
}

fn notif(bytes: &[u8], strict: bool, problems: &mut Vec<LegacyError>) -> Result<NotifData, LegacyError> {
    let mut data = NotifData::default();
    let mut state = State::Preamble;
    let mut latency_name: Option<String> = None;
    let mut values: Vec<u64> = Vec::new();
    let mut last = 0;
    let close = |state: &State, problems: &mut Vec<LegacyError>| -> Result<(), LegacyError> {
        if let State::Table { rows: 0, header_line, .. } = state {
            return problem(problems, strict, err(*header_line, "table has a header but no rows"));
        }
        Ok(())
    };
    for (no, line) in lines(bytes) {
        last = no;
        if is_separator(line) {
            close(&state, problems)?;
            state = State::Header;
            continue;
        }
        if is_blank(line) {
            continue;
        }
        match &mut state {
            State::Preamble => {}
            State::Header => {
                let names: Vec<String> = tokens(line).map(|t| String::from_utf8_lossy(t).into_owned()).collect();
                if names.iter().any(|n| parse_u64(n.as_bytes()).is_some()) {
                    problem(problems, strict, err(no, "expected a header of column names after the separator, found numbers"))?;
                    state = State::Preamble;
                    continue;
                }
                match &latency_name {
                    Some(l) if *l != names[0] => {
                        problem(problems, strict, err(no, format!("first column is `{}`, earlier tables had `{l}`", names[0])))?;
                        state = State::Preamble;
                        continue;
                    }
                    _ => latency_name = Some(names[0].clone()),
                }
                // Where each non-latency column's summary lives in data.pmu (same name, same summary).
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
            State::Table { names, summaries, rows, .. } => {
                let what = || names.join(" ");
                match row(line, no, &mut values, &what) {
                    Ok(()) => {
                        data.latency.push(values[0]);
                        for (&v, &s) in values[1..].iter().zip(summaries.iter()) {
                            data.pmu[s].add(v);
                        }
                        *rows += 1;
                    }
                    Err(e) => problem(problems, strict, e)?,
                }
            }
        }
    }
    close(&state, problems)?;
    if latency_name.is_none() {
        problem(problems, strict, err(last.max(1), "no table found (expected a separator line, then a header such as `irqlat ...`)"))?;
    }
    Ok(data)
}

pub fn parse_transfer(bytes: &[u8]) -> Result<Vec<TransferSeries>, LegacyError> {
    let mut problems = Vec::new();
    transfer(bytes, true, &mut problems)
}

pub fn parse_transfer_lenient(bytes: &[u8]) -> (Vec<TransferSeries>, Vec<LegacyError>) {
    let mut problems = Vec::new();
    let data = transfer(bytes, false, &mut problems).unwrap_or_default();
    (data, problems)
}

/// `4K`, `16M` (binary multiples), or a plain byte count.
fn parse_size(t: &[u8]) -> Option<u64> {
    match t.split_last()? {
        (b'K' | b'k', n) => parse_u64(n).map(|v| v << 10),
        (b'M' | b'm', n) => parse_u64(n).map(|v| v << 20),
        _ => parse_u64(t),
    }
}

struct Block {
    line: usize,
    mode: String,
    total: u64,
    /// Index in the output of this block's first series; `None` until the header is read.
    first: Option<usize>,
}

fn transfer(bytes: &[u8], strict: bool, problems: &mut Vec<LegacyError>) -> Result<Vec<TransferSeries>, LegacyError> {
    let mut out: Vec<TransferSeries> = Vec::new();
    let mut block: Option<Block> = None;
    let mut values: Vec<u64> = Vec::new();
    let mut last = 0;
    for (no, line) in lines(bytes) {
        last = no;
        let t = line.trim_ascii();
        if t.is_empty() {
            continue;
        }
        if let Some(rest) = t.strip_prefix(b"<-") {
            if let Some(b) = &block {
                problem(problems, strict, err(no, format!("block opened at line {} has no closing `->`", b.line)))?;
            }
            let parts: Vec<&[u8]> = rest.split(|&b| b == b',').map(<[u8]>::trim_ascii).collect();
            block = match parts.as_slice() {
                [mode, total, _metric] if parse_size(total).is_some() => Some(Block {
                    line: no,
                    mode: String::from_utf8_lossy(mode).into_owned(),
                    total: parse_size(total).unwrap_or(0),
                    first: None,
                }),
                _ => {
                    problem(problems, strict, err(no, "expected `<- <mode>, <transfer size>, <metric>`"))?;
                    None
                }
            };
            continue;
        }
        let Some(b) = block.as_mut() else { continue };
        if t == b"->" {
            if b.first.is_none() {
                problem(problems, strict, err(no, format!("block opened at line {} has no header", b.line)))?;
            } else if out[b.first.unwrap_or(0)].ticks.is_empty() {
                problem(problems, strict, err(no, format!("block opened at line {} has no rows", b.line)))?;
            }
            block = None;
            continue;
        }
        match b.first {
            None => {
                let sizes: Option<Vec<u64>> = tokens(line).map(parse_size).collect();
                match sizes {
                    Some(sizes) if !sizes.is_empty() && tokens(line).all(|t| !t[t.len() - 1].is_ascii_digit()) => {
                        b.first = Some(out.len());
                        values.resize(sizes.len(), 0);
                        for buf in sizes {
                            out.push(TransferSeries { mode: b.mode.clone(), buf, total: b.total, ..TransferSeries::default() });
                        }
                    }
                    _ => {
                        problem(problems, strict, err(no, "expected a header of buffer sizes (4K 32K ... 16M)"))?;
                        block = None;
                    }
                }
            }
            Some(first) => {
                let n = values.len();
                let what = || out[first..first + n].iter().map(|s| s.buf.to_string()).collect::<Vec<_>>().join(" ");
                match row(line, no, &mut values, &what) {
                    Ok(()) => {
                        for (s, &v) in out[first..first + n].iter_mut().zip(values.iter()) {
                            s.ticks.push(v);
                        }
                    }
                    Err(e) => problem(problems, strict, e)?,
                }
            }
        }
    }
    if let Some(b) = block {
        problem(problems, strict, err(last, format!("block opened at line {} has no closing `->` (file cut off?)", b.line)))?;
    }
    if out.is_empty() {
        problem(problems, strict, err(last.max(1), "no transfer block found (expected `<- polling, 16M, time`)"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Rows as the artifact's guest printed them: every value right-aligned in 20 columns.
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
        let names: Vec<&str> = d.pmu.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["l1$i_miss_el1", "cycles", "exceptions_el2"]);
        let cycles = &d.pmu[1];
        assert_eq!((cycles.n, cycles.min, cycles.max, cycles.sum), (3, 5000, 7000, 18000));
        assert_eq!((d.pmu[2].n, d.pmu[2].sum), (1, 2));
    }

    #[test]
    fn notif_damage_names_the_line() {
        let garbled = NOTIF.replace("                  80", "                  8O");
        assert_eq!(parse_notif(garbled.as_bytes()).unwrap_err().line, 5);
        let short = NOTIF.replace("                  80                   1", "                  80");
        let e = parse_notif(short.as_bytes()).unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.message.contains("has 2 values"), "{e}");
        let cut = &NOTIF[..NOTIF.len() - 8];
        assert_eq!(parse_notif(cut.as_bytes()).unwrap_err().line, 8);
        assert!(parse_notif(b"just a boot log\n").is_err());
        let (d, problems) = parse_notif_lenient(garbled.as_bytes());
        assert_eq!((d.latency.len(), problems.len()), (2, 1));
    }

    const TRANSFER: &str = concat!(
        "<- polling, 16M, time\n",
        "   4K   16M\n",
        "  300   100\n",
        "  310   110\n",
        "->\n",
        "junk between blocks\n",
        "<- interrupt, 1M, time\n",
        "  4K\n",
        "  900\n",
        "->\n",
    );

    #[test]
    fn transfer_blocks_give_one_series_per_mode_and_buffer() {
        let s = parse_transfer(TRANSFER.as_bytes()).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].mode.as_str(), s[0].buf, s[0].total, s[0].ticks.as_slice()), ("polling", 4096, 16 << 20, &[300, 310][..]));
        assert_eq!((s[1].buf, s[1].ticks.as_slice()), (16 << 20, &[100, 110][..]));
        assert_eq!((s[2].mode.as_str(), s[2].total, s[2].ticks.as_slice()), ("interrupt", 1 << 20, &[900][..]));
    }

    #[test]
    fn transfer_damage_names_the_line() {
        let e = parse_transfer(TRANSFER.replace("  310   110", "  310").as_bytes()).unwrap_err();
        assert_eq!(e.line, 4);
        let cut = &TRANSFER[..TRANSFER.rfind("->").unwrap()];
        let e = parse_transfer(cut.as_bytes()).unwrap_err();
        assert!(e.message.contains("no closing"), "{e}");
        let e = parse_transfer(TRANSFER.replace("  300", "  3e0").as_bytes()).unwrap_err();
        assert_eq!(e.line, 3);
    }
}
