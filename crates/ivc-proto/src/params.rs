//! Run parameters: a fixed block inside every guest image that the host patches before a run.
//!
//! One image per backend and platform serves every experiment and configuration: `ivcbench run`
//! finds [`MAGIC`] in a copy of the image and overwrites the block with [`Params::encode`]. The
//! guest reads its own block (volatile, so the compiler cannot fold in the defaults) and decodes
//! it. The same works on a board: the patched image is what goes on the SD card.

/// Start of the block; unique enough that the host finds exactly one in an image.
pub const MAGIC: [u8; 8] = *b"IVCPRM\x00\x02";
/// Size of the encoded block in bytes.
pub const SIZE: usize = 256;
/// Where the PMU selection ([`crate::pmu::Selection::encode`]) starts in the block.
const PMU_AT: usize = 128;
use crate::pmu::Selection;

/// Transfer buffer sizes, in the order of [`Params::buffers`]' bits.
pub const BUFFER_SIZES: [u64; 8] = [4 << 10, 32 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 16 << 20];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Experiment {
    Notif = 0,
    Transfer = 1,
}

impl Experiment {
    pub const fn name(self) -> &'static str {
        match self {
            Experiment::Notif => "notif",
            Experiment::Transfer => "transfer",
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "notif" => Some(Experiment::Notif),
            "transfer" => Some(Experiment::Transfer),
            _ => None,
        }
    }
}

/// Which part an image plays. `All` is the baremetal single image: tx on core 0, rx on core 1 and
/// (with `+interf`) the interferer on core 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    All = 0,
    Tx = 1,
    Rx = 2,
    Interf = 3,
}

impl Role {
    pub const fn name(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Tx => "tx",
            Role::Rx => "rx",
            Role::Interf => "interf",
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        [Role::All, Role::Tx, Role::Rx, Role::Interf].into_iter().find(|r| r.name() == s)
    }
}

/// `flags` bits.
pub mod flag {
    /// An interference guest runs next to tx and rx (`+interf`).
    pub const INTERF: u16 = 1 << 0;
    /// rx writes over a buffer the size of its L1D while it waits, so its handler starts cold.
    pub const RX_DIRTY_L1: u16 = 1 << 1;
    /// rx invalidates its I-cache in the handler, as the artifact did.
    pub const RX_INV_ICACHE: u16 = 1 << 2;
    /// transfer: run the polling mode (chunk-ready flag in shared memory).
    pub const MODE_POLLING: u16 = 1 << 3;
    /// transfer: run the interrupt mode (doorbell per chunk).
    pub const MODE_INTERRUPT: u16 = 1 << 4;
    /// Power the machine off when the run is over (ends QEMU; boards stay up without it).
    pub const POWER_OFF: u16 = 1 << 5;
    /// notif: record samples into log-linear histograms (ivc_proto::histogram), printed at the end,
    /// instead of one by one.
    pub const HISTOGRAM: u16 = 1 << 6;
    /// notif with PMU events: tx also refuses events PMCEID does not cover (implementation
    /// defined ones), which the host asks for where it knows the core implements none (QEMU).
    pub const PMU_PMCEID_ONLY: u16 = 1 << 7;
}

/// A fault injected on purpose, to test that ivcbench handles it as it says (tests and
/// `ivcbench run --inject-fault`); never set in a measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    None = 0,
    /// rx's handler ignores the doorbell of recorded notif sample `at` (0-based), which tx then
    /// records as lost.
    LoseNotification = 1,
    /// tx damages one word of recorded transfer sample `at`'s first chunk after writing it, which rx
    /// must catch.
    CorruptChunk = 2,
    /// tx resets the machine before recorded notif sample `at`, once (a mark in RAM that survives
    /// the reset says it already did): the capture then holds a cut run and a whole one.
    ResetGuest = 3,
}

/// Everything a guest needs to know about the run it is part of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub experiment: Experiment,
    pub role: Role,
    pub flags: u16,
    /// Samples to record (notif: per run; transfer: per mode and buffer size).
    pub samples: u32,
    /// Samples run and thrown away before recording.
    pub warmups: u32,
    /// Pause between samples, in nanoseconds.
    pub gap_ns: u64,
    /// Up to this much more pause, drawn anew for each sample, so that samples do not phase-lock
    /// with periodic activity (a scheduler tick, the interferer's pass).
    pub gap_jitter_ns: u64,
    /// A notification or chunk not acknowledged within this is counted as lost.
    pub timeout_ns: u64,
    /// Bytes moved per transfer sample.
    pub transfer_total: u64,
    /// Bit i set: run buffer size `BUFFER_SIZES[i]`.
    pub buffers: u8,
    /// Interference buffer size in bytes.
    pub interf_size: u64,
    /// Interval between the interferer's pass-rate records, in milliseconds (0 = never).
    pub interf_report_ms: u32,
    /// Configuration suffix, as in the capture file name (`+interf`), NUL-padded.
    pub config: [u8; 24],
    /// A fault to inject, and the recorded sample it hits.
    pub fault: Fault,
    pub fault_at: u32,
    /// notif: PMU events tx counts per sample, in groups of as many as its PMU has counters
    /// (docs/pmu.md); empty for none.
    pub pmu: Selection,
}

impl Params {
    /// The artifact's defaults: 10 warm-ups, 10 ms between samples, rx dirtying L1D and
    /// invalidating its I-cache, 16 MiB per transfer sample over every buffer size.
    pub const DEFAULT: Params = Params {
        experiment: Experiment::Notif,
        role: Role::All,
        flags: flag::RX_DIRTY_L1 | flag::RX_INV_ICACHE | flag::MODE_POLLING | flag::MODE_INTERRUPT,
        samples: 200,
        warmups: 10,
        gap_ns: 10_000_000,
        gap_jitter_ns: 0,
        timeout_ns: 1_000_000_000,
        transfer_total: 16 << 20,
        buffers: 0xff,
        interf_size: 2 << 20,
        interf_report_ms: 100,
        config: [0; 24],
        fault: Fault::None,
        fault_at: 0,
        pmu: Selection::NONE,
    };

    pub const fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// The configuration suffix as text (`""` for the base configuration).
    pub fn config_str(&self) -> &str {
        let end = self.config.iter().position(|&b| b == 0).unwrap_or(self.config.len());
        core::str::from_utf8(&self.config[..end]).unwrap_or("?")
    }

    /// Sets the configuration suffix; `None` when it does not fit.
    pub fn with_config(mut self, suffix: &str) -> Option<Self> {
        if suffix.len() > self.config.len() {
            return None;
        }
        self.config = [0; 24];
        self.config[..suffix.len()].copy_from_slice(suffix.as_bytes());
        Some(self)
    }

    /// Little-endian, fixed offsets; `const` so the guest's default block is built at compile time.
    pub const fn encode(&self) -> [u8; SIZE] {
        let mut b = [0u8; SIZE];
        b = put(b, 0, &MAGIC);
        b[8] = self.experiment as u8;
        b[9] = self.role as u8;
        b = put(b, 10, &self.flags.to_le_bytes());
        b = put(b, 12, &self.samples.to_le_bytes());
        b = put(b, 16, &self.warmups.to_le_bytes());
        b = put(b, 20, &self.interf_report_ms.to_le_bytes());
        b = put(b, 24, &self.gap_ns.to_le_bytes());
        b = put(b, 32, &self.timeout_ns.to_le_bytes());
        b = put(b, 40, &self.transfer_total.to_le_bytes());
        b = put(b, 48, &self.interf_size.to_le_bytes());
        b[56] = self.buffers;
        b[57] = self.fault as u8;
        b = put(b, 58, &self.fault_at.to_le_bytes());
        b = put(b, 64, &self.config);
        b = put(b, 88, &self.gap_jitter_ns.to_le_bytes());
        b = put(b, PMU_AT, &self.pmu.encode());
        b
    }

    pub fn decode(b: &[u8; SIZE]) -> Result<Params, ParamsError> {
        if b[..8] != MAGIC {
            return Err(ParamsError::Magic);
        }
        let experiment = match b[8] {
            0 => Experiment::Notif,
            1 => Experiment::Transfer,
            _ => return Err(ParamsError::Field("experiment")),
        };
        let role = match b[9] {
            0 => Role::All,
            1 => Role::Tx,
            2 => Role::Rx,
            3 => Role::Interf,
            _ => return Err(ParamsError::Field("role")),
        };
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(w)
        };
        let fault = match b[57] {
            0 => Fault::None,
            1 => Fault::LoseNotification,
            2 => Fault::CorruptChunk,
            3 => Fault::ResetGuest,
            _ => return Err(ParamsError::Field("fault")),
        };
        let mut config = [0u8; 24];
        config.copy_from_slice(&b[64..88]);
        let p = Params {
            experiment,
            role,
            flags: u16_at(10),
            samples: u32_at(12),
            warmups: u32_at(16),
            interf_report_ms: u32_at(20),
            gap_ns: u64_at(24),
            gap_jitter_ns: u64_at(88),
            timeout_ns: u64_at(32),
            transfer_total: u64_at(40),
            interf_size: u64_at(48),
            buffers: b[56],
            config,
            fault,
            fault_at: u32_at(58),
            pmu: Selection::decode(&b[PMU_AT..PMU_AT + crate::pmu::ENCODED]).ok_or(ParamsError::Field("pmu"))?,
        };
        if p.samples == 0 {
            return Err(ParamsError::Field("samples"));
        }
        Ok(p)
    }
}

const fn put<const N: usize>(mut b: [u8; SIZE], at: usize, v: &[u8; N]) -> [u8; SIZE] {
    let mut i = 0;
    while i < N {
        b[at + i] = v[i];
        i += 1;
    }
    b
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsError {
    /// The block does not start with [`MAGIC`].
    Magic,
    /// A field holds a value no guest understands.
    Field(&'static str),
}

impl core::fmt::Display for ParamsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParamsError::Magic => write!(f, "parameter block magic not found"),
            ParamsError::Field(name) => write!(f, "parameter block field `{name}` is invalid"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = Params {
            experiment: Experiment::Transfer,
            role: Role::Rx,
            samples: 7,
            fault: Fault::CorruptChunk,
            fault_at: 3,
            gap_jitter_ns: 7,
            pmu: Selection::artifact(),
            ..Params::DEFAULT
        }
        .with_config("+interf")
        .unwrap();
        let d = Params::decode(&p.encode()).unwrap();
        assert_eq!(d, p);
        assert_eq!(d.config_str(), "+interf");
    }

    #[test]
    fn rejects_garbage() {
        let mut b = Params::DEFAULT.encode();
        b[9] = 9;
        assert_eq!(Params::decode(&b), Err(ParamsError::Field("role")));
        b[0] = 0;
        assert_eq!(Params::decode(&b), Err(ParamsError::Magic));
    }
}
