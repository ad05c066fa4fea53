//! PMU events in the report: the columns beside the latency (the artifact's tables, ivcbench's own
//! captures), named `<event>_el1`, `<event>_el2`, `<event>_el1+2` or without a level (`cycles`),
//! grouped per event so that one event's EL1 and EL2 stand side by side (tables) and stacked
//! (figure).

use super::dataset::{Cell, CellData, ColumnSummary};
use super::export::{configuration_name, csv_field, origin_short, PmuRow};
use std::fmt::Write;

/// Which exception levels a column counted, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    El1,
    El2,
    /// `_el1+2`: both levels in one counter.
    Both,
    /// No level in the name (`cycles`).
    Unsplit,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::El1 => "EL1",
            Level::El2 => "EL2",
            Level::Both => "EL1+2",
            Level::Unsplit => "not split",
        }
    }
}

/// `l1$i_miss_el2` → (`l1$i_miss`, EL2), by the names ivc_proto::pmu gives columns.
pub fn split(column: &str) -> (&str, Level) {
    use ivc_proto::pmu::{split_column, El};
    let (event, el) = split_column(column);
    let level = match el {
        Some(El::El1) => Level::El1,
        Some(El::El2) => Level::El2,
        Some(El::El1And2) => Level::Both,
        None => Level::Unsplit,
    };
    (event, level)
}

/// One event of one capture: its columns by level.
#[derive(Clone, Debug, Default)]
pub struct Event<'a> {
    pub name: &'a str,
    pub el1: Option<&'a ColumnSummary>,
    pub el2: Option<&'a ColumnSummary>,
    /// `_el1+2`, or a column without a level: one value for both levels.
    pub together: Option<(&'a ColumnSummary, Level)>,
}

/// A capture's events, in the order their first column appears.
pub fn events(pmu: &[ColumnSummary]) -> Vec<Event<'_>> {
    let mut out: Vec<Event> = Vec::new();
    for col in pmu.iter().filter(|c| c.n > 0) {
        let (name, level) = split(&col.name);
        let i = out.iter().position(|e| e.name == name).unwrap_or_else(|| {
            out.push(Event { name, ..Event::default() });
            out.len() - 1
        });
        match level {
            Level::El1 => out[i].el1 = Some(col),
            Level::El2 => out[i].el2 = Some(col),
            Level::Both | Level::Unsplit => out[i].together = Some((col, level)),
        }
    }
    out
}

/// The events of every notif capture, in the order first seen: the figure's panels.
pub fn event_names(cells: &[&Cell]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for c in cells {
        if let CellData::Notif(d) = &c.data {
            for e in events(&d.pmu) {
                if !names.iter().any(|n| n == e.name) {
                    names.push(e.name.to_string());
                }
            }
        }
    }
    names
}

/// What a panel of the event shows, over the captures that have it: both levels stacked, one
/// level alone (the other was not counted), or one counter for both.
pub fn levels_shown(cells: &[&Cell], event: &str) -> String {
    let (mut el1, mut el2, mut together) = (false, false, Vec::new());
    for c in cells {
        let CellData::Notif(d) = &c.data else { continue };
        for e in events(&d.pmu).into_iter().filter(|e| e.name == event) {
            el1 |= e.el1.is_some();
            el2 |= e.el2.is_some();
            if let Some((_, l)) = e.together {
                if !together.contains(&l.name()) {
                    together.push(l.name());
                }
            }
        }
    }
    let mut parts = Vec::new();
    match (el1, el2) {
        (true, true) => parts.push("EL1 + EL2 stacked".to_string()),
        (true, false) => parts.push("EL1 only: no EL2 column".to_string()),
        (false, true) => parts.push("EL2 only: no EL1 column".to_string()),
        (false, false) => {}
    }
    let beside = if el1 || el2 { " (dashed, right)" } else { "" };
    for t in together {
        parts.push(if t == "EL1+2" { format!("EL1+2 in one counter{beside}") } else { format!("not split by EL{beside}") });
    }
    parts.join("; ")
}

pub const CSV_HEADER: &str = "hypervisor,configuration,event,level,column,n,min,mean,max,provenance,origin,source";

pub fn to_csv(rows: &[PmuRow]) -> String {
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{:.3},{},{},{},{}",
            csv_field(&r.hypervisor),
            csv_field(&r.configuration),
            csv_field(&r.event),
            r.level,
            csv_field(&r.column),
            r.n,
            r.min,
            r.mean,
            r.max,
            r.provenance,
            csv_field(&r.origin),
            csv_field(&r.source)
        );
    }
    s
}

fn md_value(c: Option<&ColumnSummary>) -> String {
    match c {
        Some(c) if c.n > 0 => format!("{:.1} ({}–{}, n {})", c.mean().unwrap_or(0.0), c.min, c.max, c.n),
        _ => "-".into(),
    }
}

/// One row per capture and event: EL1, EL2, and the column that counted both or has no level.
pub fn to_markdown(cells: &[Cell]) -> String {
    let mut s = String::new();
    for c in cells {
        let CellData::Notif(d) = &c.data else { continue };
        for e in events(&d.pmu) {
            if s.is_empty() {
                s.push_str("### PMU events per sample (mean (min–max, samples)), EL1 and EL2 of one event side by side\n\n");
                s.push_str(
                    "| hypervisor | configuration | event | EL1 | EL2 | EL1+2 or not split | origin |\n|---|---|---|--:|--:|--:|---|\n",
                );
            }
            let together = e.together.map_or("-".to_string(), |(col, l)| format!("{} [{}]", md_value(Some(col)), l.name()));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {together} | {} |",
                c.hypervisor,
                configuration_name(c),
                e.name.replace('|', "\\|"),
                md_value(e.el1),
                md_value(e.el2),
                origin_short(c)
            );
        }
    }
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_event_and_level() {
        assert_eq!(split("l1$i_miss_el1"), ("l1$i_miss", Level::El1));
        assert_eq!(split("exceptions_el2"), ("exceptions", Level::El2));
        assert_eq!(split("inst_retired_el1+2"), ("inst_retired", Level::Both));
        assert_eq!(split("cycles"), ("cycles", Level::Unsplit));
        assert_eq!(split("_el1"), ("_el1", Level::Unsplit));
        let col = |n: &str, v: u64| {
            let mut c = ColumnSummary::new(n);
            c.add(v);
            c
        };
        let pmu = [col("a_el1", 1), col("cycles", 5), col("a_el2", 2), col("b_el2", 3), ColumnSummary::new("empty_el1")];
        let e = events(&pmu);
        let names: Vec<&str> = e.iter().map(|e| e.name).collect();
        assert_eq!(names, ["a", "cycles", "b"]);
        assert_eq!((e[0].el1.unwrap().sum, e[0].el2.unwrap().sum), (1, 2));
        assert_eq!(e[1].together.map(|(c, l)| (c.sum, l)), Some((5, Level::Unsplit)));
        assert!(e[2].el1.is_none() && e[2].el2.is_some());
    }
}
