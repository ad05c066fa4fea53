//! The transfer figure: throughput against buffer size, per mode and with/without interference.

use super::svg::{self, num, Anchor, Scale, Svg, FONT_PX, GRID, INK};
use super::{hypervisors, legend_row, rank, Key, KEY_W};
use crate::names::Suffix;
use crate::report::dataset::{Cell, CellData};
use crate::report::mib_per_s;
use std::collections::BTreeMap;

const MODES: [&str; 2] = ["polling", "interrupt"];

/// Throughputs in MiB/s per (mode, with interference, hypervisor) and buffer size; the seed's
/// transfer configurations are the base setup and `+interf`, anything else is left out.
type Series = BTreeMap<(usize, bool, String), BTreeMap<u64, Vec<f64>>>;

fn series(cells: &[&Cell]) -> Series {
    let interf = Suffix { interf: true, ..Suffix::default() };
    let mut m = Series::new();
    for c in cells {
        let CellData::Transfer(ts) = &c.data else { continue };
        if c.suffix != Suffix::default() && c.suffix != interf {
            continue;
        }
        for t in ts {
            let Some(mode) = MODES.iter().position(|m| *m == t.mode) else { continue };
            let v: Vec<f64> = t.ticks.iter().filter(|&&x| x > 0).map(|&x| mib_per_s(t.total, x, c.freq_hz)).collect();
            if !v.is_empty() {
                m.entry((mode, c.suffix.interf, c.hypervisor.clone())).or_default().entry(t.buf).or_default().extend(v);
            }
        }
    }
    m
}

/// `4K`, `16M`: K is KiB and M is MiB (the artifact's figures called bytes MiB).
fn size_label(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{}M", b >> 20)
    } else if b >= 1 << 10 {
        format!("{}K", b >> 10)
    } else {
        b.to_string()
    }
}

/// Marker shapes, one per hypervisor in legend order, so the figure survives greyscale printing.
fn marker(s: &mut Svg, shape: usize, x: f64, y: f64, colour: &str) {
    let r = 3.6;
    let style = format!("fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"0.7\"");
    let poly = |pts: &[(f64, f64)]| format!("<path d=\"{} Z\" {style}/>", svg::polyline(pts));
    let el = match shape % 5 {
        0 => format!("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {style}/>", num(x), num(y), num(r)),
        1 => poly(&[(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)]),
        2 => poly(&[(x, y - r * 1.25), (x + r * 1.15, y + r * 0.85), (x - r * 1.15, y + r * 0.85)]),
        3 => poly(&[(x, y - r * 1.3), (x + r * 1.1, y), (x, y + r * 1.3), (x - r * 1.1, y)]),
        _ => poly(&[(x, y + r * 1.25), (x + r * 1.15, y - r * 0.85), (x - r * 1.15, y - r * 0.85)]),
    };
    s.raw(&el);
}

/// The seed's transfer figure: 2×2 panels (rows polling / interrupt, columns without / with
/// interference), throughput in MiB/s (total bytes / time) against buffer size on a log2 axis:
/// median line with markers and a min–max band per hypervisor, one shared y scale, one legend.
pub fn transfer_grid(cells: &[&Cell]) -> String {
    const W: f64 = 768.0;
    const H: f64 = 576.0;
    let data = series(cells);
    if data.is_empty() {
        return svg::no_data(W, H);
    }
    let hyps = hypervisors(data.keys().map(|(_, _, h)| h.as_str()));
    let bufs: Vec<u64> = data.values().flat_map(|m| m.keys().copied()).collect();
    let (b_lo, b_hi) = (*bufs.iter().min().unwrap_or(&1) as f64, *bufs.iter().max().unwrap_or(&1) as f64);
    let t_max = data.values().flat_map(|m| m.values().flatten()).copied().fold(0.0, f64::max);
    let (y_lo, y_hi, y_ticks) = svg::nice_range(0.0, t_max.max(f64::MIN_POSITIVE), 6);
    let step = y_ticks.get(1).map_or(1.0, |t| t - y_ticks[0]);
    let y_labels: Vec<String> = y_ticks.iter().map(|t| svg::tick_label(*t, step)).collect();

    let label_w = y_labels.iter().map(|l| svg::text_width(l, FONT_PX)).fold(0.0, f64::max);
    let left = 22.0 + label_w + 8.0;
    let (right, top, bottom, gap) = (W - 24.0, 50.0, H - 46.0, 18.0);
    let pw = (right - left - gap) / 2.0;
    let ph = (bottom - top - gap) / 2.0;
    // Half a step of padding each side of the log2 axis keeps the end markers off the frame.
    let pad = 2f64.powf(0.4);
    // Ticks at the buffer sizes measured, not at every power of two between them.
    let mut x_ticks = bufs.clone();
    x_ticks.sort_unstable();
    x_ticks.dedup();

    let mut s = Svg::new(W, H);
    for (col, head) in ["without interference", "with interference (+interf)"].iter().enumerate() {
        s.text(left + col as f64 * (pw + gap) + pw / 2.0, top - 8.0, head, Anchor::Middle, FONT_PX, false);
    }
    for (row, mode) in MODES.iter().enumerate() {
        let y0 = top + row as f64 * (ph + gap);
        let ys = Scale { d0: y_lo, d1: y_hi, r0: y0 + ph, r1: y0, log: false };
        s.text(W - 8.0, y0 + ph / 2.0, mode, Anchor::Middle, FONT_PX, true);
        for col in 0..2 {
            let x0 = left + col as f64 * (pw + gap);
            let xs = Scale { d0: b_lo / pad, d1: b_hi * pad, r0: x0, r1: x0 + pw, log: true };
            for (t, l) in y_ticks.iter().zip(&y_labels) {
                let y = ys.px(*t);
                s.line(x0, y, x0 + pw, y, GRID, 1.0);
                if col == 0 {
                    s.text(x0 - 5.0, y + 4.0, l, Anchor::End, FONT_PX, false);
                }
            }
            let tx: Vec<f64> = x_ticks.iter().map(|b| xs.px(*b as f64)).collect();
            let mut labels: Vec<String> = x_ticks.iter().map(|b| size_label(*b)).collect();
            svg::thin_labels_keep_ends(&tx, &mut labels, FONT_PX);
            for (x, l) in tx.iter().zip(&labels) {
                s.line(*x, y0 + ph, *x, y0 + ph + (if l.is_empty() { 2.5 } else { 4.0 }), INK, 1.0);
                if row == 1 && !l.is_empty() {
                    s.text(*x, y0 + ph + 16.0, l, Anchor::Middle, FONT_PX, false);
                }
            }
            s.rect(x0, y0, pw, ph, "none", &format!(" stroke=\"{INK}\" stroke-width=\"1\""));
            let mut any = false;
            for (shape, (hyp, colour)) in hyps.iter().enumerate() {
                let Some(m) = data.get(&(row, col == 1, hyp.clone())) else { continue };
                any = true;
                panel_series(&mut s, m, &xs, &ys, colour, shape);
            }
            if !any {
                // On a white patch, so the grid line under it does not strike it through.
                s.rect(x0 + pw / 2.0 - 30.0, y0 + ph / 2.0 - 12.0, 60.0, 18.0, "#ffffff", "");
                s.text(x0 + pw / 2.0, y0 + ph / 2.0, "no data", Anchor::Middle, FONT_PX, false);
            }
        }
    }
    s.text(13.0, top + ph + gap / 2.0, "Throughput (MiB/s)", Anchor::Middle, FONT_PX, true);
    s.text(left + pw + gap / 2.0, H - 8.0, "Buffer size (K = KiB, M = MiB)", Anchor::Middle, FONT_PX, false);

    let keys: Vec<Key> = hyps
        .iter()
        .enumerate()
        .map(|(shape, (h, c))| {
            let c: &'static str = c;
            Key {
                name: h.clone(),
                draw: Box::new(move |s: &mut Svg, x: f64, y: f64| {
                    s.line(x, y, x + KEY_W, y, c, 1.5);
                    marker(s, shape, x + KEY_W / 2.0, y, c);
                }),
            }
        })
        .collect();
    legend_row(&mut s, &keys, left + pw + gap / 2.0, 18.0);
    s.finish()
}

/// One hypervisor in one panel: the min–max band, the median line and its markers.
fn panel_series(s: &mut Svg, m: &BTreeMap<u64, Vec<f64>>, xs: &Scale, ys: &Scale, colour: &str, shape: usize) {
    let mut pts = vec![];
    for (b, v) in m {
        let mut v = v.clone();
        crate::report::stats::sort(&mut v);
        pts.push((xs.px(*b as f64), ys.px(rank(&v, 0.5)), ys.px(v[0]), ys.px(v[v.len() - 1])));
    }
    let band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).chain(pts.iter().rev().map(|p| (p.0, p.2))).collect();
    if pts.len() > 1 {
        s.raw(&format!("<path class=\"band\" d=\"{} Z\" fill=\"{colour}\" fill-opacity=\"0.18\"/>", svg::polyline(&band)));
    } else {
        // A single buffer size has no band to fill: an error bar instead.
        s.line(pts[0].0, pts[0].2, pts[0].0, pts[0].3, colour, 1.0);
    }
    let line: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1)).collect();
    s.raw(&format!("<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"/>", svg::polyline(&line)));
    for (x, y) in line {
        marker(s, shape, x, y, colour);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{notif, transfer};
    use super::*;

    #[test]
    fn grid_has_panels_ticks_and_labels() {
        let cells = [
            transfer("xen", "", 900.0, 1),
            transfer("bao", "", 1400.0, 2),
            transfer("xen", "+interf", 600.0, 3),
            transfer("bao", "+interf", 1000.0, 4),
            notif("xen", "", 5000.0, 5),
        ];
        let refs: Vec<&Cell> = cells.iter().collect();
        let svg = transfer_grid(&refs);
        super::super::parse(&svg).unwrap();
        for l in ["4K", "16K", "1M", "16M"] {
            assert!(svg.contains(&format!(">{l}<")), "{l}");
        }
        assert!(svg.contains("Throughput (MiB/s)") && svg.contains("Buffer size"));
        assert!(svg.contains(">polling<") && svg.contains(">interrupt<"));
        // 2 hypervisors × 2 modes × 2 configurations.
        assert_eq!(svg.matches("class=\"band\"").count(), 8);
        assert!(!svg.contains("no data"));
        assert_eq!(size_label(512 << 10), "512K");
        assert_eq!(size_label(16 << 20), "16M");
        // Only measured sizes get a tick: the artifact's 4K, 32K, 256K ... have no 8K.
        let c = [transfer_at("xen", &[4 << 10, 32 << 10, 256 << 10, 16 << 20])];
        let svg = transfer_grid(&c.iter().collect::<Vec<_>>());
        assert!(svg.contains(">32K<") && svg.contains(">256K<") && !svg.contains(">8K<") && !svg.contains(">64K<"), "{svg}");
    }

    fn transfer_at(hyp: &str, bufs: &[u64]) -> Cell {
        let series = bufs
            .iter()
            .map(|&buf| crate::report::dataset::TransferSeries {
                mode: "polling".into(),
                buf,
                total: 16 << 20,
                ticks: vec![1_000_000, 1_100_000],
                lost: 0,
                corrupt: 0,
            })
            .collect();
        super::super::tests::cell(hyp, "", CellData::Transfer(series))
    }

    #[test]
    fn missing_panels_say_so() {
        let c = transfer("xen", "", 900.0, 1);
        let svg = transfer_grid(&[&c]);
        super::super::parse(&svg).unwrap();
        assert_eq!(svg.matches("no data").count(), 2);
    }
}
