//! The notification figures: latency violins per configuration, and the exceedance (tail) plot.

use super::svg::{self, num, Anchor, Scale, Svg, FONT_PX, GRID, INK};
use super::{configurations, hypervisors, legend_column, legend_row, rank, suffix_name, DrawKey, Key, KEY_W};
use crate::names::Suffix;
use crate::report::dataset::{Cell, CellData};
use std::collections::BTreeMap;

/// Latencies in ns, sorted, per (hypervisor, configuration); captures of the same pair are pooled.
fn distributions(cells: &[&Cell]) -> BTreeMap<(String, Suffix), Vec<f64>> {
    let mut m: BTreeMap<(String, Suffix), Vec<f64>> = BTreeMap::new();
    for c in cells {
        if let CellData::Notif(d) = &c.data {
            if !d.latency.is_empty() {
                let v = m.entry((c.hypervisor.clone(), c.suffix)).or_default();
                v.extend(d.latency.iter().map(|&t| c.ticks_to_ns(t)));
            }
        }
    }
    for v in m.values_mut() {
        crate::report::stats::sort(v);
    }
    m
}

/// Whether the violin figure needs a log axis: the slowest cell's p99 is 20 times the fastest
/// cell's median or more, so a linear axis would flatten the fast cells.
pub fn wants_log(dists: &BTreeMap<(String, Suffix), Vec<f64>>) -> bool {
    let fastest = dists.values().map(|v| rank(v, 0.5)).fold(f64::INFINITY, f64::min);
    let slowest = dists.values().map(|v| rank(v, 0.99)).fold(0.0, f64::max);
    fastest > 0.0 && slowest >= 20.0 * fastest
}

/// Whether [`notif_violin`] draws these cells on a log axis (for the caption).
pub fn violin_is_log(cells: &[&Cell]) -> bool {
    wants_log(&distributions(cells))
}

/// The notif metric's name on the axes (docs/report.md): ivcbench measures the round trip, the
/// artifact's tables hold its `irqlat`.
fn axis_name(cells: &[&Cell]) -> &'static str {
    use crate::report::dataset::Origin;
    let notif: Vec<&&Cell> = cells.iter().filter(|c| matches!(c.data, CellData::Notif(_))).collect();
    let legacy = notif.iter().filter(|c| c.origin == Origin::Legacy).count();
    match legacy {
        0 => "Round trip",
        n if n == notif.len() => "irqlat (artifact)",
        _ => "Round trip / irqlat (artifact)",
    }
}

/// ns, or µs when the numbers would get long; (divisor, unit).
/// What both notif figures start from: the pooled distributions (ns, ascending) by hypervisor and
/// configuration, both in figure order, the overall range and the display unit.
struct Series {
    dists: BTreeMap<(String, Suffix), Vec<f64>>,
    hyps: Vec<(String, &'static str)>,
    cfgs: Vec<Suffix>,
    lo: f64,
    hi: f64,
    div: f64,
    unit: &'static str,
}

/// `None` when no cell has a notif sample.
fn series(cells: &[&Cell]) -> Option<Series> {
    let dists = distributions(cells);
    if dists.is_empty() {
        return None;
    }
    let hyps = hypervisors(dists.keys().map(|(h, _)| h.as_str()));
    let cfgs = configurations(dists.keys().map(|(_, s)| *s).collect());
    let lo = dists.values().map(|v| v[0]).fold(f64::INFINITY, f64::min);
    let hi = dists.values().map(|v| v[v.len() - 1]).fold(0.0, f64::max);
    let (div, unit) = unit(hi);
    Some(Series { dists, hyps, cfgs, lo, hi, div, unit })
}

fn unit(max_ns: f64) -> (f64, &'static str) {
    if max_ns >= 10_000.0 {
        (1000.0, "µs")
    } else {
        (1.0, "ns")
    }
}

/// Gaussian kernel density of sorted `v` at the `grid` points. The samples are first binned
/// (512 bins) so that a million samples cost no more than a thousand.
fn density(v: &[f64], grid: &[f64]) -> Vec<f64> {
    let (lo, hi) = (v[0], v[v.len() - 1]);
    let span = hi - lo;
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    let iqr = rank(v, 0.75) - rank(v, 0.25);
    let spread = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    // Silverman's rule, but never below 1/200 of the range: counters tick in steps of several
    // ns and a narrower kernel would draw every step as a spike.
    let h = (1.06 * spread * n.powf(-0.2)).max(span / 200.0).max(f64::MIN_POSITIVE);
    const BINS: usize = 512;
    let mut bins = [0u32; BINS];
    for x in v {
        let i = if span > 0.0 { ((x - lo) / span * (BINS - 1) as f64).round() as usize } else { 0 };
        bins[i] += 1;
    }
    let centre = |i: usize| lo + span * i as f64 / (BINS - 1) as f64;
    grid.iter()
        .map(|g| {
            bins.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| *c as f64 * (-0.5 * ((g - centre(i)) / h).powi(2)).exp()).sum()
        })
        .collect()
}

/// Splits a configuration name into lines at its `+` parts when it is wider than `width`.
pub(super) fn wrap(name: &str, width: f64) -> Vec<String> {
    if svg::text_width(name, FONT_PX) <= width || !name.contains('+') {
        return vec![name.to_string()];
    }
    name.split('+').filter(|p| !p.is_empty()).map(|p| format!("+{p}")).collect()
}

fn swatch(colour: &'static str) -> DrawKey {
    Box::new(move |s: &mut Svg, x: f64, y: f64| {
        s.rect(x + 6.0, y - 5.0, 12.0, 10.0, colour, &format!(" fill-opacity=\"0.45\" stroke=\"{colour}\""));
    })
}

/// The seed's notification figure: latency distribution per configuration (x: the configurations
/// present, in `Suffix::ALL` order), one colour per hypervisor side by side within a configuration:
/// a width-scaled violin (kernel density over the measured range), a box from p25 to p75, a
/// median dot and a whisker from min to max. Cells that are not notif are ignored.
pub fn notif_violin(cells: &[&Cell]) -> String {
    const W: f64 = 576.0;
    const H: f64 = 288.0;
    let Some(Series { dists, hyps, cfgs, lo, hi, div, unit }) = series(cells) else {
        return svg::no_data(W, H);
    };
    // One cell far slower than the others (a tail or a whole distribution 100x theirs) would
    // squash every other violin into a line: the axis is then log10 (violins drawn over log
    // values), chosen automatically and said in the axis title (and the caption).
    let log = wants_log(&dists);
    let (dists, lo, hi, div) = if log {
        let logged =
            dists.into_iter().map(|(k, v)| (k, v.iter().map(|x| (x / div).max(f64::MIN_POSITIVE).log10()).collect::<Vec<f64>>())).collect();
        (logged, (lo / div).max(f64::MIN_POSITIVE).log10(), (hi / div).max(f64::MIN_POSITIVE).log10(), 1.0)
    } else {
        (dists, lo, hi, div)
    };
    let (y_lo, y_hi, ticks, labels) = if log {
        let pad = 0.03 * (hi - lo).max(0.1);
        let ticks: Vec<f64> = svg::log_ticks(10f64.powf(lo - pad), 10f64.powf(hi + pad)).into_iter().map(f64::log10).collect();
        let labels = ticks.iter().map(|t| svg::tick_label(10f64.powf(*t), if *t < 0.0 { 0.01 } else { 1.0 })).collect();
        (lo - pad, hi + pad, ticks, labels)
    } else {
        // A few outliers far above every p99 would squash all violins into lines: the axis then
        // ends a little above the largest p99 and the whiskers that go further end in an arrow
        // and say their maximum.
        let p99 = dists.values().map(|v| rank(v, 0.99)).fold(0.0, f64::max);
        let top = if hi > 1.5 * p99 { 1.1 * p99 } else { hi };
        // Start at zero when the data come near it, so heights compare as ratios.
        let lo = if lo < 0.25 * top { 0.0 } else { lo - 0.05 * (top - lo) };
        let (y_lo, y_hi, ticks) = svg::nice_range(lo / div, top / div, 6);
        let step = ticks.get(1).map_or(1.0, |t| t - ticks[0]);
        let labels: Vec<String> = ticks.iter().map(|t| svg::tick_label(*t, step)).collect();
        (y_lo, y_hi, ticks, labels)
    };

    let label_w = labels.iter().map(|l| svg::text_width(l, FONT_PX)).fold(0.0, f64::max);
    let x0 = 20.0 + label_w + 8.0;
    let x1 = W - 10.0;
    let cat_w = (x1 - x0) / cfgs.len() as f64;
    let names: Vec<Vec<String>> = cfgs.iter().map(|c| wrap(&suffix_name(*c), cat_w - 6.0)).collect();
    let lines = names.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let (y0, y1) = (28.0, H - 10.0 - 13.0 * lines);
    let ys = Scale { d0: y_lo, d1: y_hi, r0: y1, r1: y0, log: false };

    let mut s = Svg::new(W, H);
    for (t, l) in ticks.iter().zip(&labels) {
        let y = ys.px(*t);
        s.line(x0, y, x1, y, GRID, 1.0);
        s.text(x0 - 5.0, y + 4.0, l, Anchor::End, FONT_PX, false);
    }
    let scale = if log { ", log scale" } else { "" };
    s.text(13.0, (y0 + y1) / 2.0, &format!("{} ({unit}{scale})", axis_name(cells)), Anchor::Middle, FONT_PX, true);
    s.line(x0, y1, x1, y1, INK, 1.0);
    s.line(x0, y0, x0, y1, INK, 1.0);

    let slot = cat_w * 0.84 / hyps.len() as f64;
    for (i, (cfg, name)) in cfgs.iter().zip(&names).enumerate() {
        let cx = x0 + cat_w * (i as f64 + 0.5);
        for (k, line) in name.iter().enumerate() {
            s.text(cx, y1 + 15.0 + 13.0 * k as f64, line, Anchor::Middle, FONT_PX, false);
        }
        for (j, (hyp, colour)) in hyps.iter().enumerate() {
            let Some(v) = dists.get(&(hyp.clone(), *cfg)) else { continue };
            let v: Vec<f64> = v.iter().map(|x| x / div).collect();
            let x = cx + (j as f64 - (hyps.len() as f64 - 1.0) / 2.0) * slot;
            // Narrow enough to read as a shape even when it is alone in its configuration.
            violin(&mut s, &v, x, (slot * 0.46).min(36.0), slot - 5.0, &ys, colour, log);
        }
    }
    let keys: Vec<Key> = hyps.iter().map(|(h, c)| Key { name: h.clone(), draw: swatch(c) }).collect();
    legend_row(&mut s, &keys, (x0 + x1) / 2.0, 15.0);
    s.finish()
}

/// One violin centred on `x`, at most `half` wide on each side, for sorted `v`; `room` is the
/// width right of it free for the maximum of a clipped whisker.
#[allow(clippy::too_many_arguments)]
fn violin(s: &mut Svg, v: &[f64], x: f64, half: f64, room: f64, ys: &Scale, colour: &str, log: bool) {
    let (lo, max) = (v[0], v[v.len() - 1]);
    let hi = max.min(ys.d1);
    let style = format!("class=\"violin\" fill=\"{colour}\" fill-opacity=\"0.45\" stroke=\"{colour}\" stroke-width=\"1\"");
    if hi <= lo {
        // A single value: a flat violin is a line.
        let y = num(ys.px(lo));
        s.raw(&format!("<path {style} d=\"M{} {y} L{} {y}\"/>", num(x - half), num(x + half)));
    } else {
        const STEPS: usize = 96;
        let grid: Vec<f64> = (0..=STEPS).map(|i| lo + (hi - lo) * i as f64 / STEPS as f64).collect();
        let d = density(v, &grid);
        let top = d.iter().copied().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
        let right = grid.iter().zip(&d).map(|(g, w)| (x + half * w / top, ys.px(*g)));
        let left = grid.iter().zip(&d).rev().map(|(g, w)| (x - half * w / top, ys.px(*g)));
        let pts: Vec<(f64, f64)> = right.chain(left).collect();
        s.raw(&format!("<path {style} d=\"{} Z\"/>", svg::polyline(&pts)));
    }
    // The box plot inside: whisker min–max, box p25–p75, white median dot.
    s.line(x, ys.px(lo), x, ys.px(hi), INK, 1.0);
    if max > hi {
        let (y, tip) = (ys.px(hi), ys.px(hi) - 5.0);
        s.raw(&format!(
            "<path d=\"M{} {} L{} {} L{} {} Z\" fill=\"{INK}\"/>",
            num(x - 3.0),
            num(y),
            num(x),
            num(tip),
            num(x + 3.0),
            num(y)
        ));
        let max = if log { 10f64.powf(max) } else { max };
        let label = svg::tick_label(max, if max >= 100.0 { 1.0 } else { 0.1 });
        // Only where it cannot run into the next violin's label; the arrow alone still says "more".
        if svg::text_width(&label, 8.0) + 3.0 <= room {
            s.text(x + 3.0, tip + 3.0, &label, Anchor::Start, 8.0, false);
        }
    }
    let (q1, q3) = (ys.px(rank(v, 0.25)), ys.px(rank(v, 0.75)));
    let bw = (half * 0.22).clamp(3.0, 7.0);
    s.rect(x - bw / 2.0, q3, bw, (q1 - q3).max(1.0), INK, "");
    s.raw(&format!(
        "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"#ffffff\" stroke=\"{INK}\" stroke-width=\"0.6\"/>",
        num(x),
        num(ys.px(rank(v, 0.5))),
        num((bw * 0.4).max(1.6))
    ));
}

/// Dash patterns per configuration, in `Suffix::ALL` order (solid for the base setup).
const DASHES: [&str; 6] = ["", "7 3", "2 2", "7 2 2 2", "10 2 2 2 2 2", "4 4"];

fn dash_attr(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{d}\"")
    }
}

fn key_line(colour: &'static str, dash: &'static str) -> DrawKey {
    Box::new(move |s: &mut Svg, x: f64, y: f64| {
        s.raw(&format!(
            "<path d=\"M{} {y} L{} {y}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"{}/>",
            num(x),
            num(x + KEY_W),
            dash_attr(dash),
            y = num(y)
        ));
    })
}

/// `10⁻³` as SVG text markup (a raised, smaller exponent).
fn power_label(e: i32) -> String {
    if e == 0 {
        "1".to_string()
    } else {
        let exp = if e < 0 { format!("\u{2212}{}", -e) } else { e.to_string() };
        format!("10<tspan dy=\"-4\" font-size=\"8\">{exp}</tspan>")
    }
}

/// Tail figure: exceedance (fraction of samples ≥ x) on a log y axis (1 down to 1/n) against x (log
/// when it spans more than a decade), one line per hypervisor × configuration: colour is the
/// hypervisor, dash pattern the configuration. The legend sits outside, on the right.
pub fn notif_tail(cells: &[&Cell]) -> String {
    const W: f64 = 576.0;
    const H: f64 = 288.0;
    let Some(Series { dists, hyps, cfgs, lo, hi, div, unit }) = series(cells) else {
        return svg::no_data(W, H);
    };
    let (lo, hi) = (lo / div, hi / div);
    let n_max = dists.values().map(Vec::len).max().unwrap_or(1) as f64;

    // Legend on the right, as wide as its longest entry.
    let cfg_names: Vec<String> = cfgs.iter().map(|c| suffix_name(*c)).collect();
    let longest = hyps.iter().map(|(h, _)| h.as_str()).chain(cfg_names.iter().map(String::as_str)).chain(["configuration"]);
    let legend_w = longest.map(|n| svg::text_width(n, FONT_PX)).fold(0.0, f64::max) + KEY_W + 8.0;
    let legend_x = W - legend_w - 4.0;

    let (y0, y1) = (12.0, H - 40.0);
    let x0 = 58.0;
    let x1 = legend_x - 18.0;
    // Exceedance from 1 down to 1/n, with a little room below so the last steps stay visible.
    let e_lo = 1.0 / n_max / 1.6;
    let ys = Scale { d0: e_lo, d1: 1.0, r0: y1, r1: y0, log: true };
    let log_x = lo > 0.0 && hi / lo > 10.0;
    let (xs, x_ticks) = if log_x {
        let pad = (hi / lo).powf(0.03);
        let (a, b) = (lo / pad, hi * pad);
        (Scale { d0: a, d1: b, r0: x0, r1: x1, log: true }, svg::log_ticks(a, b))
    } else {
        let (a, b, t) = svg::nice_range(lo, hi, 6);
        (Scale { d0: a, d1: b, r0: x0, r1: x1, log: false }, t)
    };

    let mut s = Svg::new(W, H);
    for e in (e_lo.log10().ceil() as i32)..=0 {
        let y = ys.px(10f64.powi(e));
        s.line(x0, y, x1, y, GRID, 1.0);
        s.text_markup(x0 - 5.0, y + 4.0, &power_label(e), Anchor::End, FONT_PX, false);
    }
    let tx: Vec<f64> = x_ticks.iter().map(|t| xs.px(*t)).collect();
    let step = if log_x { 0.0 } else { x_ticks.get(1).map_or(1.0, |t| t - x_ticks[0]) };
    let mut labels: Vec<String> = x_ticks.iter().map(|t| svg::tick_label(*t, if log_x { *t } else { step })).collect();
    svg::thin_labels(&tx, &mut labels, FONT_PX);
    for (x, l) in tx.iter().zip(&labels) {
        s.line(*x, y0, *x, y1, GRID, 1.0);
        s.line(*x, y1, *x, y1 + 4.0, INK, 1.0);
        s.text(*x, y1 + 16.0, l, Anchor::Middle, FONT_PX, false);
    }
    s.line(x0, y1, x1, y1, INK, 1.0);
    s.line(x0, y0, x0, y1, INK, 1.0);
    s.text(
        (x0 + x1) / 2.0,
        H - 8.0,
        &format!("{} ({unit}){}", axis_name(cells), if log_x { ", log scale" } else { "" }),
        Anchor::Middle,
        FONT_PX,
        false,
    );
    s.text(13.0, (y0 + y1) / 2.0, "Exceedance: fraction of samples \u{2265} x", Anchor::Middle, FONT_PX, true);

    let dash_of = |c: &Suffix| {
        let i = Suffix::ALL.iter().position(|x| x == c).unwrap_or_else(|| cfgs.iter().position(|x| x == c).unwrap_or(0));
        DASHES[i % DASHES.len()]
    };
    for cfg in &cfgs {
        for (hyp, colour) in &hyps {
            let Some(v) = dists.get(&(hyp.clone(), *cfg)) else { continue };
            let pts = steps(v, div).into_iter().map(|(x, e)| (xs.px(x), ys.px(e))).collect::<Vec<_>>();
            s.raw(&format!(
                "<path class=\"tail\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.4\"{}/>",
                svg::polyline(&thin(&pts)),
                dash_attr(dash_of(cfg))
            ));
        }
    }

    let hkeys: Vec<Key> = hyps.iter().map(|(h, c)| Key { name: h.clone(), draw: key_line(c, "") }).collect();
    let ckeys: Vec<Key> = cfgs.iter().zip(cfg_names).map(|(c, n)| Key { name: n, draw: key_line("#444444", dash_of(c)) }).collect();
    let y = legend_column(&mut s, "hypervisor", &hkeys, legend_x, y0 + 10.0);
    legend_column(&mut s, "configuration", &ckeys, legend_x, y + 8.0);
    s.finish()
}

/// The exceedance staircase of sorted `v` (scaled by 1/div): P(X ≥ x) is 1 at the minimum and
/// drops right after each distinct value to the share of samples above it; it ends at the max.
fn steps(v: &[f64], div: f64) -> Vec<(f64, f64)> {
    let n = v.len() as f64;
    let mut pts = vec![(v[0] / div, 1.0)];
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        if j < v.len() {
            let e = (v.len() - j) as f64 / n;
            pts.push((v[i] / div, e));
            pts.push((v[j] / div, e));
        }
        i = j;
    }
    pts
}

/// Drops points closer than half a pixel to the last one kept: a hundred thousand samples would
/// otherwise write a hundred thousand path points onto a few hundred pixels.
fn thin(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (i, p) in pts.iter().enumerate() {
        let last = i + 1 == pts.len();
        match out.last() {
            Some(q) if !last && (p.0 - q.0).abs() < 0.5 && (p.1 - q.1).abs() < 0.5 => {}
            _ => out.push(*p),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{notif, transfer};
    use super::*;

    fn sample() -> Vec<Cell> {
        vec![
            notif("xen", "", 6000.0, 1),
            notif("bao", "", 2500.0, 2),
            notif("xen", "+interf", 9000.0, 3),
            notif("bao", "+interf", 4000.0, 4),
            transfer("xen", "", 900.0, 5),
        ]
    }

    #[test]
    fn violin_has_one_violin_per_pair_and_labels() {
        let cells = sample();
        let refs: Vec<&Cell> = cells.iter().collect();
        let svg = notif_violin(&refs);
        super::super::parse(&svg).unwrap();
        assert_eq!(svg.matches("class=\"violin\"").count(), 4);
        assert!(svg.contains("irqlat (artifact) (µs)"), "{svg}");
        assert!(svg.contains(">base<") && svg.contains(">+interf<"));
        assert!(svg.contains(">bao<") && svg.contains(">xen<"));
        assert!(svg.find(">bao<").unwrap() > 0);
        assert_eq!(svg, notif_violin(&refs), "deterministic");
    }

    #[test]
    fn violin_turns_log_when_one_cell_is_a_hundred_times_slower() {
        let mut cells = sample();
        assert!(!violin_is_log(&cells.iter().collect::<Vec<_>>()));
        cells.push(notif("sel4", "+interf", 600_000.0, 9));
        let refs: Vec<&Cell> = cells.iter().collect();
        assert!(violin_is_log(&refs));
        let svg = notif_violin(&refs);
        super::super::parse(&svg).unwrap();
        assert!(svg.contains("(µs, log scale)"), "{svg}");
        // Decade ticks label the axis: 1, 10, 100, 1000 µs around 2.5..600+ µs.
        for t in [">10<", ">100<", ">1000<"] {
            assert!(svg.contains(t), "{t}");
        }
        // The fast cells keep a height: each violin spans more than a few px.
        assert_eq!(svg.matches("class=\"violin\"").count(), 5);
    }

    #[test]
    fn tail_has_one_line_per_pair() {
        let cells = sample();
        let refs: Vec<&Cell> = cells.iter().collect();
        let svg = notif_tail(&refs);
        super::super::parse(&svg).unwrap();
        assert_eq!(svg.matches("class=\"tail\"").count(), 4);
        assert!(svg.contains("Exceedance"));
        assert!(svg.contains("irqlat (artifact) (µs)"), "{svg}");
    }

    #[test]
    fn staircase_goes_from_one_to_one_over_n() {
        let p = steps(&[1.0, 2.0, 2.0, 3.0], 1.0);
        assert_eq!(p, vec![(1.0, 1.0), (1.0, 0.75), (2.0, 0.75), (2.0, 0.25), (3.0, 0.25)]);
        assert_eq!(wrap("+interf+col+hypcol", 40.0), ["+interf", "+col", "+hypcol"]);
        assert_eq!(wrap("base", 10.0), ["base"]);
        // A single sample still gives a (flat) violin.
        let c = super::super::tests::cell(
            "sel4",
            "",
            CellData::Notif(crate::report::dataset::NotifData { latency: vec![500], ..Default::default() }),
        );
        let svg = notif_violin(&[&c]);
        assert_eq!(svg.matches("class=\"violin\"").count(), 1);
        super::super::parse(&svg).unwrap();
        // Names are text: escaped, and the document still parses.
        let c = notif("a<b&c", "", 1000.0, 1);
        for svg in [notif_violin(&[&c]), notif_tail(&[&c])] {
            assert!(svg.contains(">a&lt;b&amp;c<"));
            super::super::parse(&svg).unwrap();
        }
    }
}
