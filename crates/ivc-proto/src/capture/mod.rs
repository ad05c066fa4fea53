//! Capture format v2 (reads v1 too): what a guest prints and the host parses.
//!
//! Every record is one line, `@ivc1 <role> <seq> <kind> <body> ~<crc>`, that can sit anywhere in a
//! console line (after a boot log, behind Xen's `(XEN) DOM1: ` prefix, between another VM's
//! output). `seq` counts the records of one role's stream from 0 (the first header line), so a
//! lost line shows as a gap; `crc` is CRC-16/CCITT-FALSE over everything from `@` to the byte
//! before ` ~`, in four lower-case hex digits, so a damaged line never decodes. A run ends with an
//! `E` record holding its totals, so a cut-off run is told from a finished one.
//!
//! Kinds: `H` header (`key=value` fields, over as many lines as needed), `G` group (one transfer
//! mode and buffer size; from v2 also one set of notif PMU counters, `ev=`), `S` samples, `P` progress (the interferer's pass rate), `L` a note for
//! people, `E` end; in histogram mode `Y` (a column's count, lost, exact min and max) and `B`
//! (its non-empty buckets). Samples are varint-coded deltas; see [`encode`] and
//! docs/capture-format.md.

pub mod crc;
#[cfg(feature = "alloc")]
pub mod decode;
pub mod encode;

#[cfg(feature = "alloc")]
pub use decode::{decode, decode_lenient, Capture, DecodeError, Decoder, ErrorKind, Group, Header, Histogram, Run, CYCLES};
pub use encode::{Encoder, LineBuf};

/// Marks a record line. The digit is the version of the record framing (tag, role, sequence
/// number, kind, checksum), which v2 kept: the header's `v=` says how to read the records.
pub const TAG: &str = "@ivc1 ";
/// The format version written in every header (`v=`). v2 added PMU groups (`G ev=`) to notif.
pub const VERSION: u32 = 2;
/// Versions this decoder reads.
pub const VERSIONS_READ: [u32; 2] = [1, 2];
/// Printed by tx when it waits for the host; the host answers with [`START_KEY`].
pub const PROMPT: &str = "Press 's' to start";
/// The key that starts a run, as in the seed.
pub const START_KEY: u8 = b's';
/// Starts tx's one-line summary of each result, printed before its end record for board farms
/// (LAVA's `monitors` test action): `ivcbench-result: test_case_id=<id> measurement=<number>
/// units=<unit> result=pass|fail`. Untagged, so the decoder passes over it like console noise.
pub const RESULT_PREFIX: &str = "ivcbench-result: ";
/// No record line is longer than this (tag to CRC), so that consoles which fold long lines
/// (Xen folds guest output at about 120 characters) leave records whole.
pub const MAX_LINE: usize = 100;

/// Alphabet of the sample encoding: 6 bits per character, bit 5 = another character follows.
pub(crate) const DIGITS: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
/// A sample whose notification was never acknowledged within the timeout.
pub(crate) const LOST: u8 = b'!';
/// A transfer sample in which rx found a chunk that did not match the pattern.
pub(crate) const CORRUPT: u8 = b'?';

/// Record kinds.
pub mod kind {
    pub const HEADER: u8 = b'H';
    pub const GROUP: u8 = b'G';
    pub const SAMPLES: u8 = b'S';
    pub const PROGRESS: u8 = b'P';
    pub const NOTE: u8 = b'L';
    pub const END: u8 = b'E';
    /// Histogram mode: one column's summary (`c n lost min max sub_bits`).
    pub const HISTOGRAM: u8 = b'Y';
    /// Histogram mode: buckets of a column (`<col> <start> <delta,count pairs>`).
    pub const BUCKETS: u8 = b'B';
}

#[cfg(all(test, feature = "std"))]
mod tests;
