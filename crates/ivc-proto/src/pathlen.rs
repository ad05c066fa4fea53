//! Path lengths on the emulated testbed: the marker instructions the guests execute around the
//! notification path, and the file the path-length plugin writes (`<capture>.pathlen`).
//!
//! QEMU's PMU cannot count one core's instructions: its INST_RETIRED under icount is the machine's
//! one instruction count, so a neighbour's instructions show up in it (docs/pathlen.md). ivcbench
//! counts instead with a TCG plugin (crates/ivc-pathlen) that adds, before every instruction, one
//! to that vCPU's counter for the exception level the instruction runs at, and reads the counters
//! when a guest executes a marker.
//!
//! A marker is an unallocated `hint #imm` encoding, which the architecture executes as a NOP: on
//! hardware it costs one instruction slot and nothing else, so the same image runs on boards.
//!
//! Windows (all counts include the closing marker and exclude the opening one):
//! - tx: from [`Mark::Begin`] (just before the doorbell) to [`Mark::TxEnd`] (the doorbell call
//!   returned), every EL, on tx's vCPU;
//! - rx, EL1: from [`Mark::IrqEntry`] (the first instruction of the runtime's IRQ vector) to
//!   [`Mark::RxAck`] (just after the handler's acknowledgement), on the vCPU that acknowledged;
//! - rx, EL2 (and EL3, and EL0): from tx's [`Mark::Begin`] to [`Mark::RxAck`] on that vCPU:
//!   whatever the hypervisor runs there for the doorbell (taking the physical interrupt, injecting
//!   the virtual one, waking and scheduling rx's vCPU), at EL0 where its VMM is a user-level
//!   program (seL4's CAmkES VMM; the guests never enter EL0). rx's EL1 work before the interrupt
//!   arrives (rx dirtying its L1D) is not counted; neither is anything done on other cores.
//! - transfer, one window per chunk: tx from [`Mark::Begin`] (before writing the chunk) to
//!   [`Mark::TxEnd`] (the chunk handed over: flag raised or doorbell rung); rx, EL1 from
//!   [`Mark::RxStart`] (rx found the chunk) to [`Mark::RxAck`] (verified and acknowledged), EL2
//!   as for notif;
//! - calibrations: [`Mark::CalBegin`] to [`Mark::CalEnd`] on one vCPU, every EL, in the order of
//!   [`CALIBRATIONS`].

#[cfg(feature = "alloc")]
use alloc::{format, string::String, vec::Vec};

/// What tells a running core apart in the plugin: which register (2: TPIDR_EL2, with TTBR0_EL2
/// beside it; 1: TPIDR_EL1), its value, and TTBR0_EL2's (0 with TPIDR_EL1). docs/pathlen.md says
/// what each hypervisor keeps there.
pub type CoreKey = (usize, u64, u64);

/// The number a core is written under in the path-length file: its key's rank among the keys
/// seen (TPIDR_EL1 keys first, then TPIDR_EL2's by value and TTBR0_EL2), so that it does not
/// depend on which core ran first. A boot-time key (TPIDR_EL2 written, TTBR0_EL2 not yet, as in
/// Bao's boot code between the two writes) is left out of the ranking where the same TPIDR_EL2
/// later ran with a page table.
pub fn core_rank(keys: &[CoreKey], k: &CoreKey) -> u32 {
    let booting = |k: &CoreKey| k.0 == 2 && k.2 == 0 && keys.iter().any(|x| x.0 == 2 && x.1 == k.1 && x.2 != 0);
    keys.iter().filter(|x| *x < k && !booting(x)).count() as u32
}

/// The markers, by the immediate of their `hint` instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mark {
    /// tx, just before ringing the doorbell: a new sample (warm-ups included, in order).
    Begin = 0x70,
    /// tx, right after the doorbell call returned.
    TxEnd = 0x71,
    /// rx, right after the handler wrote its acknowledgement.
    RxAck = 0x72,
    /// The runtime's IRQ vector, first instruction.
    IrqEntry = 0x73,
    /// Opens a calibration window.
    CalBegin = 0x74,
    /// Closes it.
    CalEnd = 0x75,
    /// rx found a transfer chunk (polled or from the doorbell) and starts reading it.
    RxStart = 0x76,
}

impl Mark {
    pub const ALL: [Mark; 7] = [Mark::Begin, Mark::TxEnd, Mark::RxAck, Mark::IrqEntry, Mark::CalBegin, Mark::CalEnd, Mark::RxStart];

    /// The A64 encoding of `hint #imm` (HINT: 0xd503201f with CRm:op2 = imm at bit 5).
    pub const fn encoding(self) -> u32 {
        0xd503_201f | ((self as u32) << 5)
    }

    /// The marker an instruction word is, if any.
    pub fn from_encoding(word: u32) -> Option<Mark> {
        Mark::ALL.into_iter().find(|m| m.encoding() == word)
    }
}

/// What tx measures between [`Mark::CalBegin`] and [`Mark::CalEnd`], in this order, at the start
/// of a notif run: nothing (the probe itself), one read of the measurement counter, one read of
/// the PMU counters (only when PMU events are recorded).
pub const CALIBRATIONS: [&str; 3] = ["probe", "counter_read", "pmu_read"];

/// First line of a path-length file; the digit is its version.
pub const MAGIC: &str = "ivc-pathlen v1";

/// Instructions per exception level, EL0..EL3.
pub type PerEl = [u64; 4];

/// One notification (or one chunk): instructions on tx's and rx's vCPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Index of the sample among the run's [`Mark::Begin`]s, from 0 (warm-ups included).
    pub index: u64,
    /// tx's vCPU and its counts, `None` if tx's window never closed.
    pub tx: Option<(u32, PerEl)>,
    /// rx's vCPU and its counts, `None` if rx never acknowledged.
    pub rx: Option<(u32, PerEl)>,
}

/// A calibration window.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calibration {
    pub name: String,
    pub cpu: u32,
    pub counts: PerEl,
}

/// A decoded path-length file.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathLengths {
    pub vcpus: u32,
    pub samples: Vec<Sample>,
    pub calibrations: Vec<Calibration>,
}

#[cfg(feature = "alloc")]
fn side(s: &Option<(u32, PerEl)>) -> String {
    match s {
        None => String::from("-"),
        Some((cpu, c)) => format!("{cpu}:{},{},{},{}", c[0], c[1], c[2], c[3]),
    }
}

/// The header line.
#[cfg(feature = "alloc")]
pub fn header_line(vcpus: u32) -> String {
    format!("{MAGIC} vcpus={vcpus}\n")
}

/// A sample's line: `N <index> <tx> <rx>`, each side `<cpu>:<el0>,<el1>,<el2>,<el3>` or `-`.
#[cfg(feature = "alloc")]
pub fn sample_line(s: &Sample) -> String {
    format!("N {} {} {}\n", s.index, side(&s.tx), side(&s.rx))
}

/// A calibration's line: `C <name> <cpu>:<el0>,<el1>,<el2>,<el3>`.
#[cfg(feature = "alloc")]
pub fn calibration_line(c: &Calibration) -> String {
    format!("C {} {}\n", c.name, side(&Some((c.cpu, c.counts))))
}

#[cfg(feature = "alloc")]
fn parse_side(s: &str) -> Result<Option<(u32, PerEl)>, &'static str> {
    if s == "-" {
        return Ok(None);
    }
    let (cpu, counts) = s.split_once(':').ok_or("a side is `-` or `<cpu>:<el0>,<el1>,<el2>,<el3>`")?;
    let cpu = cpu.parse().map_err(|_| "bad vCPU number")?;
    let mut c = [0u64; 4];
    let mut it = counts.split(',');
    for v in c.iter_mut() {
        *v = it.next().ok_or("four counts, EL0 to EL3")?.parse().map_err(|_| "bad count")?;
    }
    if it.next().is_some() {
        return Err("four counts, EL0 to EL3");
    }
    Ok(Some((cpu, c)))
}

/// Decodes a path-length file; errors name the line (1-based).
#[cfg(feature = "alloc")]
pub fn decode(text: &str) -> Result<PathLengths, (usize, &'static str)> {
    let mut lines = text.lines().enumerate();
    let Some((_, first)) = lines.next() else { return Err((1, "empty file")) };
    let vcpus = first
        .strip_prefix(MAGIC)
        .and_then(|r| r.trim().strip_prefix("vcpus="))
        .ok_or((1, "not an ivc-pathlen v1 file"))?
        .parse()
        .map_err(|_| (1, "bad vcpus="))?;
    let mut out = PathLengths { vcpus, ..Default::default() };
    for (i, line) in lines {
        let n = i + 1;
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        match f.as_slice() {
            // Blank lines, and the plugin's diagnostic listing of a traced window (`T <vcpu> <el>
            // <address>`), carry no figures.
            [] | ["T", ..] => {}
            ["N", index, tx, rx] => {
                let index = index.parse().map_err(|_| (n, "bad sample index"))?;
                if index != out.samples.len() as u64 {
                    return Err((n, "sample out of order (a line is missing)"));
                }
                let s = Sample { index, tx: parse_side(tx).map_err(|e| (n, e))?, rx: parse_side(rx).map_err(|e| (n, e))? };
                out.samples.push(s);
            }
            ["C", name, side] => {
                let (cpu, counts) = parse_side(side).map_err(|e| (n, e))?.ok_or((n, "a calibration has counts"))?;
                out.calibrations.push(Calibration { name: String::from(*name), cpu, counts });
            }
            _ => return Err((n, "unknown line")),
        }
    }
    Ok(out)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn cores_are_numbered_by_their_keys() {
        let ranks = |keys: &[CoreKey]| keys.iter().map(|k| core_rank(keys, k)).collect::<std::vec::Vec<_>>();
        // ivc-rt alone: TPIDR_EL1 = core + 1, whichever core ran first.
        assert_eq!(ranks(&[(1, 2, 0), (1, 1, 0), (1, 3, 0)]), [1, 0, 2]);
        // Bao: one TPIDR_EL2 on every core, told apart by TTBR0_EL2 (in core order). The boot
        // code's key (TPIDR_EL2 written, TTBR0_EL2 not yet) is left out of the numbering: core 0
        // stays 0 (the boot key shares its number; no window uses it).
        let base = 0xfd80_0000_0000;
        assert_eq!(ranks(&[(2, base, 0), (2, base, 0x4020_1000), (2, base, 0x4020_9000)]), [0, 0, 1]);
        // Xen: per-CPU offsets on the secondary CPUs, one page table; the boot CPU (TPIDR_EL2 = 0)
        // by TPIDR_EL1.
        assert_eq!(ranks(&[(1, 7, 0), (2, 0x30000, 0x4000), (2, 0x20000, 0x4000)]), [0, 2, 1]);
        // A hypervisor whose TPIDR_EL2 is set with TTBR0_EL2 still 0 everywhere (a board entering
        // ivc-rt at EL2 without a page table there) keeps every key.
        assert_eq!(ranks(&[(2, 2, 0), (2, 1, 0)]), [1, 0]);
    }

    #[test]
    fn markers_are_hints_that_binutils_knows_as_such() {
        // `hint #0x70` as aarch64-linux-gnu-as assembles it.
        assert_eq!(Mark::Begin.encoding(), 0xd503_2e1f);
        for m in Mark::ALL {
            assert_eq!(Mark::from_encoding(m.encoding()), Some(m));
        }
        // nop and yield are no markers.
        assert_eq!(Mark::from_encoding(0xd503_201f), None);
        assert_eq!(Mark::from_encoding(0xd503_203f), None);
    }

    #[test]
    fn round_trip_and_errors() {
        let s0 = Sample { index: 0, tx: Some((0, [0, 120, 0, 0])), rx: Some((1, [0, 200, 0, 0])) };
        let s1 = Sample { index: 1, tx: Some((2, [0, 130, 4000, 0])), rx: None };
        let c = Calibration { name: "probe".into(), cpu: 0, counts: [0, 1, 0, 0] };
        let text = header_line(3) + &sample_line(&s0) + &calibration_line(&c) + &sample_line(&s1);
        let d = decode(&text).unwrap();
        assert_eq!(d, PathLengths { vcpus: 3, samples: vec![s0, s1.clone()], calibrations: vec![c] });
        assert_eq!(decode("").unwrap_err().0, 1);
        assert_eq!(decode("hello\n").unwrap_err(), (1, "not an ivc-pathlen v1 file"));
        let skip = header_line(2) + &sample_line(&s1);
        assert_eq!(decode(&skip).unwrap_err(), (2, "sample out of order (a line is missing)"));
        assert_eq!(decode(&(header_line(2) + "N 0 0:1,2,3 -\n")).unwrap_err(), (2, "four counts, EL0 to EL3"));
        assert_eq!(decode(&(header_line(2) + "X\n")).unwrap_err(), (2, "unknown line"));
    }
}
