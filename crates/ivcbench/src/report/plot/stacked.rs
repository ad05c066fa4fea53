//! Stacked bars: one quantity split by exception level (EL1 at the bottom, EL2 on top) per
//! hypervisor and configuration, a panel per quantity: the path length of each side, and each PMU
//! event beside the latency.

use super::notif::wrap;
use super::svg::{self, Anchor, Scale, Svg, FONT_PX, GRID, INK};
use super::{configurations, hypervisors, legend_row, suffix_name, wrap_words, DrawKey, Key};
use crate::names::Suffix;
use crate::pathlen::Tables;
use crate::report::dataset::{Cell, CellData};
use crate::report::pmu;

/// A part of a bar: the level it counts (`EL1`, `EL2`, `EL1+2`, `not split`) and its value.
pub struct Segment {
    pub level: &'static str,
    pub value: f64,
}

/// One hypervisor in one configuration; `label` is written above the bar. `beside`: a value that
/// counted the same levels at once (a PMU event's `_el1+2` column next to its EL1 and EL2 ones),
/// drawn as a bar of its own right of the stacked one.
pub struct Bar {
    pub hyp: String,
    pub cfg: Suffix,
    pub segments: Vec<Segment>,
    pub beside: Option<Segment>,
    pub label: String,
}

pub struct Panel {
    /// What the panel is (`tx`, an event's name): the bars' `data-panel`.
    pub name: String,
    pub title: String,
    pub bars: Vec<Bar>,
}

/// How a level's segment is filled: EL1 light, EL2 dark, one counter for both in between and
/// dashed (so the levels stay apart in greyscale too).
fn style(level: &str, colour: &str) -> String {
    match level {
        "EL1" => format!(" fill-opacity=\"0.3\" stroke=\"{colour}\" stroke-width=\"1\""),
        "EL2" => " fill-opacity=\"0.95\"".to_string(),
        _ => format!(" fill-opacity=\"0.6\" stroke=\"{INK}\" stroke-width=\"1\" stroke-dasharray=\"3 2\""),
    }
}

fn key(level: &'static str) -> DrawKey {
    Box::new(move |s: &mut Svg, x: f64, y: f64| s.rect(x + 6.0, y - 5.0, 12.0, 10.0, "#666666", &style(level, "#666666")))
}

fn swatch(colour: &'static str) -> DrawKey {
    Box::new(move |s: &mut Svg, x: f64, y: f64| s.rect(x + 6.0, y - 5.0, 12.0, 10.0, colour, &style("EL2", colour)))
}

/// A value for a label: integers as they are, large ones in k/M, small means with decimals.
pub fn compact(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e5 {
        format!("{:.0}k", v / 1e3)
    } else if v.fract() == 0.0 || v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Panels in a grid of `columns`, each with its own y axis from zero titled `y_title`; x is the
/// configurations present, in `Suffix::ALL` order, and within one the hypervisors side by side
/// (colour), as in the notif figure. `None` when no panel has a bar.
pub fn stacked_panels(panels: &[Panel], columns: usize, y_title: &str, panel_h: f64) -> Option<String> {
    const W: f64 = 768.0;
    const TOP: f64 = 40.0;
    let bars = || panels.iter().flat_map(|p| p.bars.iter());
    bars().next()?;
    let hyps = hypervisors(bars().map(|b| b.hyp.as_str()));
    let cfgs = configurations(bars().map(|b| b.cfg).collect());
    let cols = columns.clamp(1, panels.len());
    let rows = panels.len().div_ceil(cols);
    let pw = (W - 8.0) / cols as f64;
    let mut s = Svg::new(W, TOP + rows as f64 * panel_h + 4.0);

    let hkeys: Vec<Key> = hyps.iter().map(|(h, c)| Key { name: h.clone(), draw: swatch(c) }).collect();
    legend_row(&mut s, &hkeys, W / 2.0, 14.0);
    let mut levels: Vec<&'static str> = Vec::new();
    for seg in bars().flat_map(|b| b.segments.iter().chain(&b.beside)) {
        if !levels.contains(&seg.level) {
            levels.push(seg.level);
        }
    }
    levels.sort_by_key(|l| ["EL1", "EL2", "EL1+2", "not split"].iter().position(|x| x == l));
    let lkeys: Vec<Key> = levels
        .iter()
        .map(|&l| Key {
            name: match l {
                "EL1" => "EL1 (light, bottom)".to_string(),
                "EL2" => "EL2 (dark, on top)".to_string(),
                other => format!("{other} (dashed)"),
            },
            draw: key(l),
        })
        .collect();
    legend_row(&mut s, &lkeys, W / 2.0, 31.0);

    for (i, p) in panels.iter().enumerate() {
        let (px, py) = (4.0 + (i % cols) as f64 * pw, TOP + (i / cols) as f64 * panel_h);
        // The configurations under the lowest panel of each column and the axis title left of
        // each row: the panels share both (and every text costs the PNG renderer).
        let labels = Labels { x: i + cols >= panels.len(), y: i % cols == 0 };
        panel(&mut s, p, (px, py, pw, panel_h), &hyps, &cfgs, y_title, labels);
    }
    Some(s.finish())
}

/// Which axis labels a panel writes.
struct Labels {
    x: bool,
    y: bool,
}

fn panel(
    s: &mut Svg,
    p: &Panel,
    (px, py, pw, ph): (f64, f64, f64, f64),
    hyps: &[(String, &'static str)],
    cfgs: &[Suffix],
    y_title: &str,
    labels_shown: Labels,
) {
    // The title over at most two lines (a longer one runs on in the second).
    let mut title = wrap_words(&p.title, pw - 8.0, FONT_PX);
    if title.len() > 2 {
        title = vec![title[0].clone(), title[1..].join(" ")];
    }
    for (k, line) in title.iter().enumerate() {
        s.text(px + pw / 2.0, py + 13.0 + 13.0 * k as f64, line, Anchor::Middle, FONT_PX, false);
    }
    let top = p
        .bars
        .iter()
        .map(|b| b.segments.iter().map(|g| g.value).sum::<f64>().max(b.beside.as_ref().map_or(0.0, |g| g.value)))
        .fold(0.0, f64::max);
    let (lo, hi, ticks) = svg::nice_range(0.0, top.max(1.0), 3);
    let step = ticks.get(1).map_or(1.0, |t| t - ticks[0]);
    let labels: Vec<String> = ticks.iter().map(|&t| if hi >= 1e5 { compact(t) } else { svg::tick_label(t, step) }).collect();
    let label_w = labels.iter().map(|l| svg::text_width(l, FONT_PX)).fold(0.0, f64::max);
    let (x0, x1) = (px + 22.0 + label_w + 6.0, px + pw - 10.0);
    let cat_w = (x1 - x0) / cfgs.len() as f64;
    let names: Vec<Vec<String>> = cfgs.iter().map(|c| wrap(&suffix_name(*c), cat_w - 4.0)).collect();
    let lines = names.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let (y0, y1) = (py + 21.0 + 13.0 * title.len() as f64, py + ph - 10.0 - 13.0 * lines);
    let ys = Scale { d0: lo, d1: hi, r0: y1, r1: y0, log: false };
    for (t, l) in ticks.iter().zip(&labels) {
        s.line(x0, ys.px(*t), x1, ys.px(*t), GRID, 1.0);
        s.text(x0 - 5.0, ys.px(*t) + 4.0, l, Anchor::End, FONT_PX, false);
    }
    if labels_shown.y {
        s.text(px + 12.0, (y0 + y1) / 2.0, y_title, Anchor::Middle, 10.0, true);
    }
    s.line(x0, y1, x1, y1, INK, 1.0);
    s.line(x0, y0, x0, y1, INK, 1.0);
    let slot = cat_w * 0.86 / hyps.len() as f64;
    let bw = (slot * 0.8).min(34.0);
    for (i, (cfg, name)) in cfgs.iter().zip(&names).enumerate() {
        let cx = x0 + cat_w * (i as f64 + 0.5);
        for (k, line) in name.iter().enumerate().filter(|_| labels_shown.x) {
            s.text(cx, y1 + 14.0 + 13.0 * k as f64, line, Anchor::Middle, FONT_PX, false);
        }
        for (j, (hyp, colour)) in hyps.iter().enumerate() {
            let Some(bar) = p.bars.iter().find(|b| b.hyp == *hyp && b.cfg == *cfg) else { continue };
            let x = cx + (j as f64 - (hyps.len() as f64 - 1.0) / 2.0) * slot;
            // With a bar beside it, the stacked bar takes the left half of the width.
            let (sx, sw) = if bar.beside.is_some() { (x - bw / 4.0, bw / 2.0) } else { (x, bw) };
            let rect = |s: &mut Svg, g: &Segment, x: f64, w: f64, base: f64| {
                let (ya, yb) = (ys.px(base), ys.px(base + g.value));
                let data = format!(
                    " class=\"bar\" data-panel=\"{}\" data-hyp=\"{}\" data-cfg=\"{}\" data-el=\"{}\" data-value=\"{}\"{}",
                    svg::escape(&p.name),
                    svg::escape(hyp),
                    svg::escape(&suffix_name(*cfg)),
                    g.level,
                    g.value,
                    style(g.level, colour)
                );
                s.rect(x - w / 2.0, yb, w, ya - yb, colour, &data);
            };
            let mut base = 0.0;
            for g in &bar.segments {
                rect(s, g, sx, sw, base);
                base += g.value;
            }
            if let Some(g) = &bar.beside {
                rect(s, g, x + bw / 4.0, bw / 2.0, 0.0);
                base = base.max(g.value);
            }
            // The value above the bar where it fits across the bar's slot; else the tables have
            // it (turned upright it would run into the title, and every text costs the PNG
            // renderer more than a bar).
            if svg::text_width(&bar.label, 8.0) <= slot {
                s.text(x, ys.px(base) - 3.0, &bar.label, Anchor::Middle, 8.0, false);
            }
        }
    }
}

/// The path-length figure: a panel for tx and one for rx, each bar the median instructions per
/// notification at EL1 with EL2 on top. `None` without notif path lengths.
pub fn pathlen_bars(cells: &[&Cell]) -> Option<String> {
    let mut panels = [
        Panel { name: "tx".into(), title: "tx: from the doorbell until it returns".into(), bars: Vec::new() },
        Panel { name: "rx".into(), title: "rx: from the interrupt to its acknowledgement".into(), bars: Vec::new() },
    ];
    for c in cells {
        let Some(Ok(p)) = &c.pathlen else { continue };
        let Tables::Notif(t) = &p.tables else { continue };
        for (side, panel) in panels.iter_mut().enumerate() {
            let segments: Vec<Segment> = ["EL1", "EL2"]
                .iter()
                .zip(&t.el[side])
                .filter_map(|(level, st)| st.as_ref().map(|st| Segment { level, value: st.median as f64 }))
                .collect();
            if segments.is_empty() {
                continue;
            }
            let label = match segments.as_slice() {
                [a, b] if b.value > 0.0 => format!("{}+{}", a.value, b.value),
                _ => compact(segments.iter().map(|g| g.value).sum()),
            };
            panel.bars.push(Bar { hyp: c.hypervisor.clone(), cfg: c.suffix, segments, beside: None, label });
        }
    }
    stacked_panels(&panels, 2, "instructions per notification (median)", 230.0)
}

/// The PMU figure: a panel per event present, each bar the mean count per sample, EL1 with EL2 on
/// top; an event counted at one level only, or by one counter for both, is drawn alone and its
/// panel's title says so. `None` without PMU columns.
pub fn pmu_bars(cells: &[&Cell]) -> Option<String> {
    let notif: Vec<&Cell> = cells.iter().copied().filter(|c| matches!(c.data, CellData::Notif(_))).collect();
    let names = pmu::event_names(&notif);
    let mut panels = Vec::new();
    for name in &names {
        let mut title = format!("{name}: {}", pmu::levels_shown(&notif, name));
        // In a panel that stacks both levels, the title names the bars with one of them.
        let stacked = title.contains("EL1 + EL2 stacked");
        let mut single: Vec<String> = Vec::new();
        let mut bars = Vec::new();
        for c in &notif {
            let CellData::Notif(d) = &c.data else { continue };
            let Some(e) = pmu::events(&d.pmu).into_iter().find(|e| e.name == name) else { continue };
            let mean = |c: &crate::report::dataset::ColumnSummary| c.mean().unwrap_or(0.0);
            let mut segments = Vec::new();
            if let Some(x) = e.el1 {
                segments.push(Segment { level: "EL1", value: mean(x) });
            }
            if let Some(x) = e.el2 {
                segments.push(Segment { level: "EL2", value: mean(x) });
            }
            let mut beside = None;
            if let Some((x, level)) = e.together {
                let g = Segment { level: level.name(), value: mean(x) };
                if segments.is_empty() {
                    segments.push(g);
                } else {
                    beside = Some(g);
                }
            }
            let mut label = compact(segments.iter().map(|g| g.value).sum());
            if let (true, [only]) = (stacked, segments.as_slice()) {
                single.push(format!("{} {} {} only", c.hypervisor, suffix_name(c.suffix), only.level));
            }
            if let Some(g) = &beside {
                label = format!("{label} | {}", compact(g.value));
            }
            bars.push(Bar { hyp: c.hypervisor.clone(), cfg: c.suffix, segments, beside, label });
        }
        match single.len() {
            0 => {}
            1 | 2 => title = format!("{title} ({})", single.join(", ")),
            n => title = format!("{title} ({n} bars of one level: see the table)"),
        }
        panels.push(Panel { name: name.clone(), title, bars });
    }
    let cols = if panels.len() >= 3 { 3 } else { panels.len() };
    stacked_panels(&panels, cols, "events per sample (mean)", 170.0)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{cell, notif};
    use super::*;
    use crate::report::dataset::{ColumnSummary, NotifData};

    fn with_pmu(hyp: &str, suffix: &str, cols: &[(&str, &[u64])]) -> Cell {
        let mut c = notif(hyp, suffix, 1000.0, 1);
        if let CellData::Notif(d) = &mut c.data {
            d.pmu = cols
                .iter()
                .map(|(n, v)| {
                    let mut s = ColumnSummary::new(n);
                    v.iter().for_each(|&x| s.add(x));
                    s
                })
                .collect();
        }
        c
    }

    #[test]
    fn pmu_events_stack_el1_under_el2_or_stand_alone() {
        let a =
            with_pmu("xen", "", &[("l1$i_miss_el1", &[2, 4]), ("l1$i_miss_el2", &[10, 30]), ("exceptions_el2", &[5]), ("cycles", &[7])]);
        let b = with_pmu("bao", "+interf", &[("l1$i_miss_el1", &[1]), ("l1$i_miss_el2", &[3])]);
        let svg = pmu_bars(&[&a, &b]).unwrap();
        super::super::parse(&svg).unwrap();
        // xen base: EL1 mean 3 from 0, EL2 mean 20 on top; bao +interf 1 and 3.
        for (hyp, cfg, el, v) in
            [("xen", "base", "EL1", "3"), ("xen", "base", "EL2", "20"), ("bao", "+interf", "EL1", "1"), ("bao", "+interf", "EL2", "3")]
        {
            let want = format!("data-panel=\"l1$i_miss\" data-hyp=\"{hyp}\" data-cfg=\"{cfg}\" data-el=\"{el}\" data-value=\"{v}\"");
            assert!(svg.contains(&want), "{want}\n{svg}");
        }
        assert!(svg.contains(">l1$i_miss: EL1 + EL2 stacked<"), "{svg}");
        assert!(svg.contains(">exceptions: EL2 only: no EL1 column<"), "{svg}");
        assert!(svg.contains(">cycles: not split by EL<") && svg.contains("data-el=\"not split\""), "{svg}");
        assert!(svg.contains("events per sample (mean)"));
        // The EL2 segment sits on the EL1 one: its bottom edge is the EL1 segment's top.
        let rect = |el: &str| {
            let at = svg.find(&format!("data-panel=\"l1$i_miss\" data-hyp=\"xen\" data-cfg=\"base\" data-el=\"{el}\"")).unwrap();
            let start = svg[..at].rfind("<rect").unwrap();
            let attr = |n: &str| -> f64 {
                let i = svg[start..].find(&format!(" {n}=\"")).unwrap() + start + n.len() + 3;
                svg[i..].split('"').next().unwrap().parse().unwrap()
            };
            (attr("y"), attr("height"))
        };
        let ((y1, _), (y2, h2)) = (rect("EL1"), rect("EL2"));
        assert!((y2 + h2 - y1).abs() < 0.02, "EL2 on top of EL1: {y1} vs {y2}+{h2}");
        assert!(pmu_bars(&[&notif("xen", "", 1000.0, 1)]).is_none());
        // One counter for both levels beside the two: its own dashed bar, right of the stack.
        let c = with_pmu("bao", "", &[("inst_ret_el1", &[400]), ("inst_ret_el2", &[0]), ("inst_ret_el1+2", &[434])]);
        let svg = pmu_bars(&[&c]).unwrap();
        assert!(svg.contains("data-el=\"EL1+2\" data-value=\"434\""), "{svg}");
        assert!(svg.contains(">400 | 434<") && svg.contains("EL1+2 in one counter (dashed, right)"), "{svg}");
        let empty = cell("sel4", "", CellData::Notif(NotifData::default()));
        assert!(pathlen_bars(&[&empty]).is_none());
    }

    #[test]
    fn labels() {
        assert_eq!(compact(1419.0), "1419");
        assert_eq!(compact(3.5), "3.50");
        assert_eq!(compact(12.25), "12.2");
        assert_eq!(compact(327702.0), "328k");
        assert_eq!(compact(2.5e6), "2.5M");
    }
}
