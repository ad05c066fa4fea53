//! PMU events a notif run records on tx's core: the event table (number, Arm name, the column name
//! the RTAS'23 artifact's tables use), the exception-level filters, the `--pmu-events` syntax and
//! how the selection sits in the parameter block.
//!
//! A selection is a list of [`Counter`]s, each an event number and an [`El`] filter. tx programs
//! as many as its PMU has event counters (PMCR_EL0.N, at most [`MAX_GROUP`]) at a time, one group
//! of samples per set (docs/pmu.md); every group also records the cycle counter (`cycles`).

use core::fmt;

/// Most counters one selection holds (the artifact's default set has 20).
pub const MAX_EVENTS: usize = 40;
/// Most event counters one group programs at once: what one sample's record line has room for
/// next to the latency columns and `cycles` (ivc_proto::capture::MAX_COLS). Cortex-A53, A57 and
/// A72 have 6, as has QEMU's model.
pub const MAX_GROUP: usize = 6;

/// Which exception levels an event counter counts (PMEVTYPER<n>_EL0's P, U and NSH bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum El {
    /// EL1 and EL0, not EL2: the reset filter (P=U=NSH=0). Column suffix `_el1`.
    El1,
    /// EL2 only: P=1 and U=1 exclude EL1 and EL0, NSH=1 adds EL2. Column suffix `_el2`.
    El2,
    /// EL1, EL0 and EL2: NSH=1 alone. Column suffix `_el1+2`.
    El1And2,
}

impl El {
    pub const ALL: [El; 3] = [El::El1, El::El2, El::El1And2];

    /// The filter bits of PMEVTYPER<n>_EL0 (and PMXEVTYPER_EL0, PMCCFILTR_EL0).
    pub const fn typer_bits(self) -> u64 {
        const P: u64 = 1 << 31;
        const U: u64 = 1 << 30;
        const NSH: u64 = 1 << 27;
        match self {
            El::El1 => 0,
            El::El2 => P | U | NSH,
            El::El1And2 => NSH,
        }
    }

    /// As written in `--pmu-events` and in a capture's `G` record.
    pub const fn name(self) -> &'static str {
        match self {
            El::El1 => "el1",
            El::El2 => "el2",
            El::El1And2 => "el1+2",
        }
    }

    pub fn from_name(s: &str) -> Option<El> {
        El::ALL.into_iter().find(|e| e.name().eq_ignore_ascii_case(s))
    }

    /// Whether the filter counts at EL2 (so its figure depends on the hypervisor letting it).
    pub const fn counts_el2(self) -> bool {
        !matches!(self, El::El1)
    }

    const fn code(self) -> u8 {
        match self {
            El::El1 => 1,
            El::El2 => 2,
            El::El1And2 => 3,
        }
    }

    const fn from_code(c: u8) -> Option<El> {
        match c {
            1 => Some(El::El1),
            2 => Some(El::El2),
            3 => Some(El::El1And2),
            _ => None,
        }
    }
}

/// A known event: its number, Arm's name and, where the artifact's tables have one, its column name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub number: u16,
    pub arm: &'static str,
    pub artifact: Option<&'static str>,
}

const fn ev(number: u16, arm: &'static str, artifact: Option<&'static str>) -> Event {
    Event { number, arm, artifact }
}

/// The events this tool names: Arm's common architectural events (ARMv8-A, 0x00-0x3F in part),
/// the Cortex-A53 implementation-defined ones the artifact's table names, and their column names
/// as the artifact's tables print them.
pub const EVENTS: &[Event] = &[
    ev(0x00, "SW_INCR", None),
    ev(0x01, "L1I_CACHE_REFILL", Some("l1$i_miss")),
    ev(0x02, "L1I_TLB_REFILL", Some("tlb_il1_miss")),
    ev(0x03, "L1D_CACHE_REFILL", Some("l1$d_miss")),
    ev(0x04, "L1D_CACHE", Some("l1$d_acc")),
    ev(0x05, "L1D_TLB_REFILL", Some("tlb_dl1_miss")),
    ev(0x06, "LD_RETIRED", None),
    ev(0x07, "ST_RETIRED", None),
    ev(0x08, "INST_RETIRED", Some("inst_ret")),
    ev(0x09, "EXC_TAKEN", Some("exceptions")),
    ev(0x0a, "EXC_RETURN", None),
    ev(0x0b, "CID_WRITE_RETIRED", None),
    ev(0x0c, "PC_WRITE_RETIRED", None),
    ev(0x0d, "BR_IMMED_RETIRED", None),
    ev(0x0e, "BR_RETURN_RETIRED", None),
    ev(0x0f, "UNALIGNED_LDST_RETIRED", None),
    ev(0x10, "BR_MIS_PRED", None),
    ev(0x11, "CPU_CYCLES", None),
    ev(0x12, "BR_PRED", None),
    ev(0x13, "MEM_ACCESS", Some("mem_acc")),
    ev(0x14, "L1I_CACHE", None),
    ev(0x15, "L1D_CACHE_WB", Some("l1$d_wb")),
    ev(0x16, "L2D_CACHE", Some("l2$d_accs")),
    ev(0x17, "L2D_CACHE_REFILL", Some("l2$d_miss")),
    ev(0x18, "L2D_CACHE_WB", Some("l2$d_wbs")),
    ev(0x19, "BUS_ACCESS", Some("bus_acc")),
    ev(0x1a, "MEMORY_ERROR", None),
    ev(0x1b, "INST_SPEC", None),
    ev(0x1c, "TTBR_WRITE_RETIRED", None),
    ev(0x1d, "BUS_CYCLES", None),
    ev(0x1e, "CHAIN", None),
    ev(0x1f, "L1D_CACHE_ALLOCATE", Some("l1$d_all")),
    ev(0x20, "L2D_CACHE_ALLOCATE", Some("l2$d_all")),
    ev(0x21, "BR_RETIRED", None),
    ev(0x22, "BR_MIS_PRED_RETIRED", None),
    ev(0x23, "STALL_FRONTEND", None),
    ev(0x24, "STALL_BACKEND", None),
    ev(0x25, "L1D_TLB", None),
    ev(0x26, "L1I_TLB", None),
    ev(0x32, "LL_CACHE", Some("llc_accs")),
    ev(0x33, "LL_CACHE_MISS", Some("llc_miss")),
    ev(0x3c, "STALL", None),
    ev(0x86, "EXC_IRQ", Some("irqs")),
    ev(0x87, "EXC_FIQ", Some("fiqs")),
    ev(0xc2, "LINEFILL_PREFETCH", Some("pref_fill")),
];

/// The known event `number`, if this tool names it.
pub fn event(number: u16) -> Option<&'static Event> {
    EVENTS.iter().find(|e| e.number == number)
}

/// The artifact's notif events, in its order: ten events, each counted at EL1 and at EL2.
pub const ARTIFACT_EVENTS: [u16; 10] = [0x01, 0x03, 0x17, 0x02, 0x05, 0x13, 0x19, 0x09, 0x86, 0x08];

/// One event counter: an event and its filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Counter {
    pub event: u16,
    pub el: El,
}

impl Counter {
    /// What PMXEVTYPER_EL0 gets for this counter.
    pub const fn typer(self) -> u64 {
        self.el.typer_bits() | self.event as u64
    }

    /// Whether PMCEID0/1_EL0 can say if the event is implemented: the common events 0x00-0x3F
    /// and, from PMUv3p1, 0x4000-0x403F (their upper halves). Others are implementation defined.
    pub const fn in_pmceid(self) -> bool {
        self.event < 0x40 || (self.event >= 0x4000 && self.event < 0x4040)
    }

    /// Whether the PMCEID bits (`ceid`: PMCEID0 in bits 0-31 for 0x00-0x1F, PMCEID1 in 32-63 for
    /// 0x20-0x3F; `ceid_hi` the same for 0x4000-0x403F) say the event is implemented. `None` for
    /// events PMCEID does not cover.
    pub const fn implemented(self, ceid: u64, ceid_hi: u64) -> Option<bool> {
        if self.event < 0x40 {
            Some(ceid >> self.event & 1 == 1)
        } else if self.event >= 0x4000 && self.event < 0x4040 {
            Some(ceid_hi >> (self.event - 0x4000) & 1 == 1)
        } else {
            None
        }
    }

    /// The column's base name, before the filter's suffix.
    pub fn base_name(self) -> ColumnName {
        ColumnName(self, false)
    }

    /// The column name as the artifact's tables print it: `inst_ret_el1`, `l1$d_miss_el2`; an
    /// event with no artifact name uses Arm's in lower case (`cpu_cycles_el1`), an unknown one
    /// its number (`0x4004_el1`).
    pub fn column(self) -> ColumnName {
        ColumnName(self, true)
    }
}

/// A PMU column's name split into its event and filter, as [`Counter::column`] joins them:
/// `l1$i_miss_el2` → (`l1$i_miss`, `Some(El2)`); a column without a filter suffix (`cycles`) →
/// (`cycles`, `None`).
pub fn split_column(column: &str) -> (&str, Option<El>) {
    for el in El::ALL {
        let base = column.strip_suffix(el.name()).and_then(|c| c.strip_suffix('_'));
        if let Some(base) = base.filter(|b| !b.is_empty()) {
            return (base, Some(el));
        }
    }
    (column, None)
}

/// Displays a counter's column name without allocating (the guest prints it too).
#[derive(Clone, Copy, Debug)]
pub struct ColumnName(Counter, bool);

impl fmt::Display for ColumnName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        match event(c.event) {
            Some(Event { artifact: Some(a), .. }) => f.write_str(a)?,
            Some(e) => {
                for ch in e.arm.chars() {
                    write!(f, "{}", ch.to_ascii_lowercase())?;
                }
            }
            None => write!(f, "{:#x}", c.event)?,
        }
        if self.1 {
            write!(f, "_{}", c.el.name())?;
        }
        Ok(())
    }
}

/// The spec form of a counter, `0x08:el1`: what `--pmu-events` takes and a `G` record carries.
impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#04x}:{}", self.event, self.el.name())
    }
}

/// A `G` record's `ev=` value: the group's counters, comma-separated, each as the event number in
/// hex without `0x` and the filter (`8:el1,11:el1+2`), so that six of the longest fit one record.
#[derive(Clone, Copy, Debug)]
pub struct GroupList<'a>(pub &'a [Counter]);

impl fmt::Display for GroupList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{:x}:{}", c.event, c.el.name())?;
        }
        Ok(())
    }
}

/// Parses one item of a [`GroupList`] (`8:el1`).
pub fn parse_group_item(item: &str) -> Option<Counter> {
    let (hex, f) = item.split_once(':')?;
    if hex.is_empty() || hex.len() > 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return None;
    }
    Some(Counter { event: u16::from_str_radix(hex, 16).ok()?, el: El::from_name(f).filter(|e| e.name() == f)? })
}

/// A selection of counters, in the order they are programmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection {
    counters: [Counter; MAX_EVENTS],
    len: u8,
}

impl Default for Selection {
    fn default() -> Self {
        Selection::NONE
    }
}

impl Selection {
    pub const NONE: Selection = Selection { counters: [Counter { event: 0, el: El::El1 }; MAX_EVENTS], len: 0 };

    /// The artifact's set: each of [`ARTIFACT_EVENTS`] at EL1, then at EL2, as its tables order them.
    pub const fn artifact() -> Selection {
        let mut s = Selection::NONE;
        let mut i = 0;
        while i < ARTIFACT_EVENTS.len() {
            s.counters[2 * i] = Counter { event: ARTIFACT_EVENTS[i], el: El::El1 };
            s.counters[2 * i + 1] = Counter { event: ARTIFACT_EVENTS[i], el: El::El2 };
            i += 1;
        }
        s.len = 2 * ARTIFACT_EVENTS.len() as u8;
        s
    }

    pub fn as_slice(&self) -> &[Counter] {
        &self.counters[..self.len as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a counter; `false` when the selection is full.
    pub fn push(&mut self, c: Counter) -> bool {
        if self.len as usize == MAX_EVENTS {
            return false;
        }
        self.counters[self.len as usize] = c;
        self.len += 1;
        true
    }

    /// The counter sets tx programs one after the other, `per` at a time (its PMCR_EL0.N, at most
    /// [`MAX_GROUP`]): one group of samples each.
    pub fn groups(&self, per: usize) -> impl Iterator<Item = &[Counter]> {
        self.as_slice().chunks(per.clamp(1, MAX_GROUP))
    }

    /// Parses a `--pmu-events` spec: `artifact` (the artifact's set), or a comma list of
    /// `<event>[:<filter>]`, where the event is a number (`0x11`, `17`), an Arm name
    /// (`L1D_CACHE_REFILL`) or an artifact column name (`l1$d_miss`), and the filter `el1`
    /// (the default), `el2` or `el1+2`.
    pub fn parse(spec: &str) -> Result<Selection, SpecError<'_>> {
        if spec.trim() == "artifact" {
            return Ok(Selection::artifact());
        }
        let mut s = Selection::NONE;
        for item in spec.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(SpecError::Empty);
            }
            let (name, el) = match item.split_once(':') {
                Some((n, f)) => (n, El::from_name(f).ok_or(SpecError::Filter(item))?),
                None => (item, El::El1),
            };
            let event = parse_event(name).ok_or(SpecError::Event(item))?;
            let c = Counter { event, el };
            if s.as_slice().contains(&c) {
                return Err(SpecError::Repeated(item));
            }
            if !s.push(c) {
                return Err(SpecError::TooMany);
            }
        }
        Ok(s)
    }
}

fn parse_event(name: &str) -> Option<u16> {
    let number = match name.strip_prefix("0x").or_else(|| name.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16).ok(),
        None => name.parse::<u16>().ok(),
    };
    // PMUv3 event numbers have 16 bits (10 before PMUv3p1).
    number.or_else(|| EVENTS.iter().find(|e| e.arm.eq_ignore_ascii_case(name) || e.artifact == Some(name)).map(|e| e.number))
}

/// A `--pmu-events` spec that does not parse; each names the item at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecError<'a> {
    Empty,
    Event(&'a str),
    Filter(&'a str),
    Repeated(&'a str),
    TooMany,
}

impl fmt::Display for SpecError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Empty => write!(f, "an empty item (two commas, or a comma at an end)"),
            SpecError::Event(i) => write!(
                f,
                "`{i}`: unknown event (give a number such as 0x08, an Arm name such as INST_RETIRED, or an artifact column name such as inst_ret)"
            ),
            SpecError::Filter(i) => write!(f, "`{i}`: unknown filter after `:` (el1, el2 or el1+2)"),
            SpecError::Repeated(i) => write!(f, "`{i}` is given twice"),
            SpecError::TooMany => write!(f, "more than {MAX_EVENTS} counters"),
        }
    }
}

/// Bytes a selection takes in the parameter block: a count, then 3 bytes a counter (event number
/// little-endian, filter code 1 el1, 2 el2, 3 el1+2).
pub const ENCODED: usize = 1 + 3 * MAX_EVENTS;

impl Selection {
    pub const fn encode(&self) -> [u8; ENCODED] {
        let mut b = [0u8; ENCODED];
        b[0] = self.len;
        let mut i = 0;
        while i < self.len as usize {
            let c = self.counters[i];
            b[1 + 3 * i] = c.event as u8;
            b[2 + 3 * i] = (c.event >> 8) as u8;
            b[3 + 3 * i] = c.el.code();
            i += 1;
        }
        b
    }

    /// `None` when the count or a filter code is out of range.
    pub fn decode(b: &[u8]) -> Option<Selection> {
        let len = *b.first()? as usize;
        if len > MAX_EVENTS || b.len() < 1 + 3 * len {
            return None;
        }
        let mut s = Selection::NONE;
        for i in 0..len {
            let event = u16::from_le_bytes([b[1 + 3 * i], b[2 + 3 * i]]);
            s.push(Counter { event, el: El::from_code(b[3 + 3 * i])? });
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;
    use std::string::ToString;
    use std::vec::Vec;

    #[test]
    fn artifact_set_and_columns() {
        let s = Selection::parse("artifact").unwrap();
        assert_eq!(s.as_slice().len(), 20);
        let names: Vec<_> = s.as_slice().iter().map(|c| c.column().to_string()).collect();
        assert_eq!(&names[..4], ["l1$i_miss_el1", "l1$i_miss_el2", "l1$d_miss_el1", "l1$d_miss_el2"]);
        assert_eq!(names[16], "irqs_el1");
        assert_eq!(names[19], "inst_ret_el2");
        // Cortex-A53 has 6 counters: the artifact's four tables of 6, 6, 6 and 2 events.
        let sizes: Vec<usize> = s.groups(6).map(<[Counter]>::len).collect();
        assert_eq!(sizes, [6, 6, 6, 2]);
        assert_eq!(s.as_slice()[1].typer(), 0xc800_0001);
    }

    #[test]
    fn spec_forms() {
        let s = Selection::parse("inst_ret:el1, INST_RETIRED:el2,0x11:el1+2,l1$d_miss,17:el2,0x4004:el1").unwrap();
        let got: Vec<_> = s.as_slice().iter().map(|c| c.to_string()).collect();
        assert_eq!(got, ["0x08:el1", "0x08:el2", "0x11:el1+2", "0x03:el1", "0x11:el2", "0x4004:el1"]);
        let cols: Vec<_> = s.as_slice().iter().map(|c| c.column().to_string()).collect();
        assert_eq!(cols[2], "cpu_cycles_el1+2");
        assert_eq!(cols[5], "0x4004_el1");
        let g = GroupList(s.as_slice()).to_string();
        assert_eq!(g, "8:el1,8:el2,11:el1+2,3:el1,11:el2,4004:el1");
        let back: Vec<_> = g.split(',').map(|i| parse_group_item(i).unwrap()).collect();
        assert_eq!(back, s.as_slice());
        for bad in ["0x8:el1", "8:EL1", "8", ":el1", "12345:el1", "A:el1"] {
            assert_eq!(parse_group_item(bad), None, "{bad}");
        }
        assert_eq!(El::El1And2.typer_bits(), 1 << 27);
        // Every column name splits back into its base name and filter.
        for c in s.as_slice() {
            let (col, base) = (c.column().to_string(), c.base_name().to_string());
            assert_eq!(split_column(&col), (base.as_str(), Some(c.el)), "{col}");
        }
        assert_eq!(split_column("cycles"), ("cycles", None));
        assert_eq!(split_column("_el1"), ("_el1", None));
    }

    #[test]
    fn spec_errors_name_the_item() {
        assert_eq!(Selection::parse("inst_ret,bogus:el1"), Err(SpecError::Event("bogus:el1")));
        assert_eq!(Selection::parse("inst_ret:el3"), Err(SpecError::Filter("inst_ret:el3")));
        assert_eq!(Selection::parse("0x08,inst_ret:el1"), Err(SpecError::Repeated("inst_ret:el1")));
        assert_eq!(Selection::parse("0x08,"), Err(SpecError::Empty));
        assert_eq!(Selection::parse("0x10000"), Err(SpecError::Event("0x10000")));
        let long: Vec<_> = (0..41).map(|i| format!("{i}")).collect();
        assert_eq!(Selection::parse(&long.join(",")), Err(SpecError::TooMany));
        assert!(SpecError::Event("x").to_string().contains("`x`"));
    }

    #[test]
    fn encoding_round_trip() {
        let s = Selection::artifact();
        assert_eq!(Selection::decode(&s.encode()), Some(s));
        assert_eq!(Selection::decode(&Selection::NONE.encode()), Some(Selection::NONE));
        let mut b = s.encode();
        b[3] = 9;
        assert_eq!(Selection::decode(&b), None);
        b[0] = MAX_EVENTS as u8 + 1;
        assert_eq!(Selection::decode(&b), None);
    }

    #[test]
    fn pmceid_coverage() {
        let c = |e| Counter { event: e, el: El::El1 };
        // QEMU 10's PMCEID0 (SW_INCR, INST_RETIRED, CPU_CYCLES) and PMCEID1 (STALL_*).
        let ceid: u64 = 1 | 1 << 8 | 1 << 0x11 | 1 << (0x23 - 0x20 + 32) | 1 << (0x24 - 0x20 + 32) | 1 << (0x3c - 0x20 + 32);
        assert_eq!(c(0x08).implemented(ceid, 0), Some(true));
        assert_eq!(c(0x01).implemented(ceid, 0), Some(false));
        assert_eq!(c(0x3c).implemented(ceid, 0), Some(true));
        assert_eq!(c(0x86).implemented(ceid, 0), None);
        assert_eq!(c(0x4004).implemented(ceid, 1 << 4), Some(true));
    }
}
