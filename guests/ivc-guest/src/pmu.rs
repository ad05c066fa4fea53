//! tx's PMU plan for a notif run: what the PMU offers against what the run asked for
//! (ivc_proto::pmu, docs/pmu.md). The decision whether to record is the guest's, since only it
//! can read the PMU; the host reads the header fields written here to explain a refusal.

use crate::out::Stream;
use ivc_proto::params::{flag, Params};
use ivc_proto::pmu::{Counter, El, Selection};
use ivc_rt::pmu::{self, Info};

/// The cycle counter counts wherever the core runs for the sample (EL2 too where the hypervisor
/// lets the guest count it), like the round trip it sits next to.
pub const CYCLES_EL: El = El::El1And2;

/// The requested counters and what this core's PMU offers.
pub struct Plan {
    pub info: Info,
    pub sel: Selection,
}

impl Plan {
    /// `None` when the run asks for no PMU events: then nothing touches the PMU.
    pub fn new(p: &Params) -> Option<Plan> {
        (!p.pmu.is_empty()).then(|| Plan { info: pmu::info(), sel: p.pmu })
    }

    /// Counters programmed at once: the PMU's, at most what one record line holds.
    pub fn per_group(&self) -> usize {
        (self.info.counters as usize).min(ivc_proto::pmu::MAX_GROUP)
    }

    /// The counter sets, one group of samples each.
    pub fn groups(&self) -> impl Iterator<Item = &[Counter]> {
        self.sel.groups(self.per_group())
    }

    /// Header fields: what the PMU offers, in the PMU's own terms.
    pub fn header(&self, s: &mut Stream) {
        let groups = self.sel.as_slice().len().div_ceil(self.per_group().max(1));
        s.header(&[("pmu_n", &self.info.counters), ("pmceid", &Hex(self.info.ceid)), ("pmceid_hi", &Hex(self.info.ceid_hi))]);
        s.header(&[("pmu_el2", &(self.info.el2 as u8)), ("pmu_groups", &groups), ("pmu_cycles", &CYCLES_EL.name())]);
    }

    /// Whether the run cannot record what was asked, each reason as a note: no event counters, an
    /// event PMCEID says is not implemented, or histogram mode (whose buckets hold latencies only).
    pub fn refuse(&self, s: &mut Stream, p: &Params) -> bool {
        let mut refused = false;
        if p.has(flag::HISTOGRAM) {
            s.note("pmu: histogram mode records latencies only; refused");
            refused = true;
        }
        if self.info.counters == 0 {
            s.note("pmu: no event counters (PMCR_EL0.N = 0); refused");
            return true;
        }
        let strict = p.has(flag::PMU_PMCEID_ONLY);
        for (i, c) in self.sel.as_slice().iter().enumerate() {
            // One note per event, whatever its filters.
            if self.sel.as_slice()[..i].iter().any(|d| d.event == c.event) {
                continue;
            }
            let why = match c.implemented(self.info.ceid, self.info.ceid_hi) {
                Some(false) => "not implemented (PMCEID)",
                None if strict => "outside PMCEID (the run counts listed ones only)",
                _ => continue,
            };
            let mut line = ivc_proto::capture::LineBuf::new();
            let _ = core::fmt::write(&mut line, format_args!("pmu: event {:#x} {why}; refused", c.event));
            s.note(line.as_str());
            refused = true;
        }
        refused
    }
}

/// A number in hex with `0x`.
struct Hex(u64);

impl core::fmt::Display for Hex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}
