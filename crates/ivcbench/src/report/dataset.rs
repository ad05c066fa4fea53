//! What a report is made of: one cell per capture file, whatever wrote it (ivcbench's own format or
//! the RTAS'23 artifact's tables), in counter ticks with the frequency to convert them.

use crate::names::Suffix;
use ivc_proto::params::Experiment;
use std::path::PathBuf;

/// Who wrote a capture, and on what it was measured.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// ivcbench's capture format; `testbed` says emulated or hardware (from the metadata file).
    Ivcbench { testbed: String, build: String, platform: String },
    /// The artifact's tables; the counter frequency is an assumption given on the command line.
    Legacy,
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
    /// Counter frequency the ticks are in.
    pub freq_hz: u64,
    pub data: CellData,
    /// Problems found in lenient mode (the cell is then marked damaged); empty when whole.
    pub damage: Vec<String>,
    /// What is worth knowing but does not make the cell damaged (an earlier run of a guest that
    /// restarted, left aside for the complete one).
    pub notes: Vec<String>,
}

impl Cell {
    pub fn ticks_to_ns(&self, ticks: u64) -> f64 {
        ticks as f64 * 1e9 / self.freq_hz as f64
    }
}
