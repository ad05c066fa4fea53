//! What a report is made of: one cell per capture file, whatever wrote it (ivcbench's own format or
//! the RTAS'23 artifact's tables), in counter ticks with the frequency to convert them.

use crate::names::Suffix;
use ivc_proto::params::Experiment;
use std::path::PathBuf;

/// Who wrote a capture.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// ivcbench's capture format: the guests' build and the platform they were built for.
    Ivcbench { build: String, platform: String },
    /// The artifact's tables; the counter frequency is an assumption given on the command line.
    Legacy,
}

/// What a capture's figures were measured on: one of three values, carried by every output.
#[derive(Clone, Debug, PartialEq)]
pub enum Provenance {
    /// On the QEMU testbed: `testbed` is the metadata's sentence (machine, how time was kept).
    Emulated { testbed: String },
    /// On a board, because the metadata says so (`how`: a serial target run or an imported LAVA
    /// job) or the user did for artifact tables (`--origin hardware`).
    Hardware { how: String },
    /// Nothing says: an ivcbench capture without its metadata, or artifact tables without
    /// `--origin hardware`.
    Unknown,
}

impl Provenance {
    /// `emulated`, `hardware` or `unknown`: the word every table, figure and export uses.
    pub fn name(&self) -> &'static str {
        match self {
            Provenance::Emulated { .. } => "emulated",
            Provenance::Hardware { .. } => "hardware",
            Provenance::Unknown => "unknown",
        }
    }

    /// The word and what it rests on, for captions and the page's list of captures.
    pub fn describe(&self) -> String {
        match self {
            Provenance::Emulated { testbed } => testbed.clone(),
            Provenance::Hardware { how } => format!("hardware ({how})"),
            Provenance::Unknown => "unknown (nothing records what it was measured on)".into(),
        }
    }
}

/// A streaming summary of a column that is reported but not plotted (PMU event counts).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnSummary {
    pub name: String,
    pub n: u64,
    pub min: u64,
    pub max: u64,
    pub sum: u128,
}

impl ColumnSummary {
    pub fn new(name: &str) -> Self {
        ColumnSummary { name: name.to_string(), n: 0, min: u64::MAX, max: 0, sum: 0 }
    }
    pub fn add(&mut self, v: u64) {
        self.n += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v as u128;
    }
    /// Folds another summary of the same column in (the artifact repeats `cycles` in every table).
    pub fn merge(&mut self, o: &ColumnSummary) {
        self.n += o.n;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
    }
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum as f64 / self.n as f64)
    }
}

/// Console text outside the tables (prompts, banners, boot output): how many lines, and the
/// first one's number (1-based; 0 when there is none).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TextLines {
    pub count: usize,
    pub first: usize,
}

impl TextLines {
    pub fn add(&mut self, no: usize) {
        if self.count == 0 {
            self.first = no;
        }
        self.count += 1;
    }
}

impl std::fmt::Display for TextLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} line(s) of console text outside the tables (first at line {}), not samples", self.count, self.first)
    }
}

/// notif: latencies in counter ticks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NotifData {
    /// ivcbench: round trip (`rtt`); artifact: its `irqlat` column.
    pub latency: Vec<u64>,
    /// ivcbench, where tx and rx share a counter: doorbell to rx's handler entry.
    pub oneway: Option<Vec<u64>>,
    pub lost: u64,
    /// Other columns (the artifact's PMU events and cycles), summarised.
    pub pmu: Vec<ColumnSummary>,
    /// Histogram mode: the bound on the relative error of every value but min and max.
    pub rel_error: Option<f64>,
    /// Artifact tables: console text around them.
    pub text: TextLines,
}

/// transfer: one mode and buffer size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransferSeries {
    /// `polling` or `interrupt`.
    pub mode: String,
    /// Buffer size in bytes.
    pub buf: u64,
    /// Bytes moved per sample.
    pub total: u64,
    /// Time per sample in counter ticks (good samples only).
    pub ticks: Vec<u64>,
    pub lost: u64,
    pub corrupt: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CellData {
    Notif(NotifData),
    Transfer(Vec<TransferSeries>),
}

/// One capture: `<experiment>/<hypervisor><suffix>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub experiment: Experiment,
    /// As in the file name (`xen`, `bao`, ...).
    pub hypervisor: String,
    pub suffix: Suffix,
    pub path: PathBuf,
    pub origin: Origin,
    pub provenance: Provenance,
    /// Counter frequency the ticks are in.
    pub freq_hz: u64,
    pub data: CellData,
    /// Problems found in lenient mode (the cell is then marked damaged); empty when whole.
    pub damage: Vec<String>,
    /// What is worth knowing but does not make the cell damaged (an earlier run of a guest that
    /// restarted, left aside for the complete one).
    pub notes: Vec<String>,
    /// Console text around the samples (prompts, banners, boot output): counted, never damage.
    pub text: TextLines,
    /// The interference applied, as `report::interference` states it (ivcbench captures with an
    /// interferer).
    pub interference: Option<String>,
    /// Path lengths from `<capture>.pathlen` (`run --pathlen`): `None` when there is no such file,
    /// an error (naming file and line, also in `notes`) when it cannot be read or lined up with
    /// the capture.
    pub pathlen: Option<Result<PathLen, String>>,
}

/// A capture's path lengths, summarised as `run` prints them (crate::pathlen).
#[derive(Clone, Debug, PartialEq)]
pub struct PathLen {
    /// The `.pathlen` file.
    pub file: PathBuf,
    pub tables: crate::pathlen::Tables,
    /// The instrument's own cost, per exception level (docs/pathlen.md).
    pub calibrations: Vec<ivc_proto::pathlen::Calibration>,
}

impl Cell {
    pub fn ticks_to_ns(&self, ticks: u64) -> f64 {
        ticks as f64 * 1e9 / self.freq_hz as f64
    }
}
