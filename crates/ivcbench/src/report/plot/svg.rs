//! A small SVG writer and the axis arithmetic the figures share: scales, tick choice, tick labels.
//! Every number goes through [`num`], so the same input always gives the same bytes.

use std::fmt::Write;

pub const FONT: &str = "DejaVu Sans, sans-serif";
/// Base font size in px; the figures are laid out at 96 px per inch, so 11 px is about 8 pt.
pub const FONT_PX: f64 = 11.0;
pub const INK: &str = "#222222";
pub const GRID: &str = "#e4e4e4";

/// Formats a coordinate with at most two decimals and no trailing zeros (`12.5`, `3`, `-0.25`).
pub fn num(x: f64) -> String {
    let x = if x.abs() < 0.005 { 0.0 } else { x };
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// Rough width of a text in DejaVu Sans: its digits and lower-case letters are about 0.62 em wide.
/// Used only to decide when tick labels would collide, so erring wide is fine.
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * 0.62 * size
}

#[derive(Clone, Copy)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// An SVG document being written, in px.
pub struct Svg {
    out: String,
}

impl Svg {
    /// A standalone document with a white background (PNGs would otherwise be transparent).
    pub fn new(w: f64, h: f64) -> Svg {
        let mut out = String::new();
        let (w, h) = (num(w), num(h));
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             font-family=\"{FONT}\" font-size=\"{}\" fill=\"{INK}\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n",
            num(FONT_PX)
        );
        Svg { out }
    }

    /// Appends an element written by the caller (attributes already escaped).
    pub fn raw(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = writeln!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            num(width)
        );
    }

    /// `extra` carries further attributes (fill-opacity, stroke, class).
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = writeln!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"{extra}/>",
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
    }

    /// A text at (x, y) (baseline); `rotate` turns it 90° anticlockwise about that point.
    pub fn text(&mut self, x: f64, y: f64, s: &str, anchor: Anchor, size: f64, rotate: bool) {
        self.text_markup(x, y, &escape(s), anchor, size, rotate);
    }

    /// As [`Svg::text`] with content that is already markup (superscript tspans).
    pub fn text_markup(&mut self, x: f64, y: f64, markup: &str, anchor: Anchor, size: f64, rotate: bool) {
        let (x, y) = (num(x), num(y));
        let rot = if rotate { format!(" transform=\"rotate(-90 {x} {y})\"") } else { String::new() };
        let size = if size == FONT_PX { String::new() } else { format!(" font-size=\"{}\"", num(size)) };
        let _ = writeln!(self.out, "<text x=\"{x}\" y=\"{y}\" text-anchor=\"{}\"{size}{rot}>{markup}</text>", anchor.name());
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

/// Path data through the points, one `M` then `L`s.
pub fn polyline(pts: &[(f64, f64)]) -> String {
    let mut d = String::new();
    for (i, (x, y)) in pts.iter().enumerate() {
        let _ = write!(d, "{}{} {}", if i == 0 { "M" } else { " L" }, num(*x), num(*y));
    }
    d
}

/// Maps data values to px, linearly or on log10.
#[derive(Clone, Copy)]
pub struct Scale {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
    pub log: bool,
}

impl Scale {
    pub fn px(&self, v: f64) -> f64 {
        let t = |v: f64| if self.log { v.max(f64::MIN_POSITIVE).log10() } else { v };
        let (a, b) = (t(self.d0), t(self.d1));
        let f = if b == a { 0.5 } else { (t(v) - a) / (b - a) };
        self.r0 + f * (self.r1 - self.r0)
    }
}

/// A 1, 2 or 5 times a power of ten step that gives at most `max` intervals over [lo, hi].
fn nice_step(lo: f64, hi: f64, max: usize) -> f64 {
    let raw = ((hi - lo) / max as f64).max(f64::MIN_POSITIVE);
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * p)
}

/// A linear range widened to whole ticks, and the ticks: (lo, hi, ticks).
pub fn nice_range(lo: f64, hi: f64, max: usize) -> (f64, f64, Vec<f64>) {
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 1.0_f64.max(lo.abs() * 0.1), hi + 1.0_f64.max(hi.abs() * 0.1)) };
    let step = nice_step(lo, hi, max);
    // The tolerance keeps a bound that is a tick already (0, say) from growing one more step.
    let (a, b) = ((lo / step + 1e-9).floor(), (hi / step - 1e-9).ceil());
    let ticks = (a as i64..=b as i64).map(|i| i as f64 * step).collect();
    (a * step, b * step, ticks)
}

/// Tick label for a linear axis with ticks `step` apart: as many decimals as the step needs.
pub fn tick_label(v: f64, step: f64) -> String {
    let dec = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
    let s = format!("{v:.dec$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

/// Ticks of a log axis over [lo, hi] (both > 0): 1-2-5 per decade when it spans few decades,
/// powers of ten otherwise.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mults: &[f64] = if b - a <= 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    let mut t = Vec::new();
    for e in a..=b {
        for m in mults {
            let v = m * 10f64.powi(e);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                t.push(v);
            }
        }
    }
    t
}

/// Keeps every k-th label (k ≥ 1, smallest that fits) so that labels centred at `xs` do not
/// overlap; the others become empty strings (their ticks stay).
pub fn thin_labels(xs: &[f64], labels: &mut [String], size: f64) {
    let gap = 0.6 * size;
    for k in 1..=labels.len().max(1) {
        let kept: Vec<usize> = (0..labels.len()).filter(|i| i % k == 0).collect();
        let fits = kept.windows(2).all(|w| {
            let need = (text_width(&labels[w[0]], size) + text_width(&labels[w[1]], size)) / 2.0 + gap;
            (xs[w[1]] - xs[w[0]]).abs() >= need
        });
        if fits {
            for (i, l) in labels.iter_mut().enumerate() {
                if i % k != 0 {
                    l.clear();
                }
            }
            return;
        }
    }
}

/// For irregularly spaced ticks (the buffer sizes measured): keeps the first and the last label
/// and, left to right, every label that does not overlap the one kept before it.
pub fn thin_labels_keep_ends(xs: &[f64], labels: &mut [String], size: f64) {
    let n = labels.len();
    let gap = 0.6 * size;
    let fits = |labels: &[String], a: usize, b: usize| {
        (xs[b] - xs[a]).abs() >= (text_width(&labels[a], size) + text_width(&labels[b], size)) / 2.0 + gap
    };
    let mut kept: Vec<usize> = Vec::new();
    for i in 0..n {
        if kept.last().is_none_or(|&k| fits(labels, k, i)) {
            kept.push(i);
        }
    }
    if n > 1 && kept.last() != Some(&(n - 1)) {
        while kept.len() > 1 && !fits(labels, kept[kept.len() - 1], n - 1) {
            kept.pop();
        }
        kept.push(n - 1);
    }
    for (i, l) in labels.iter_mut().enumerate() {
        if !kept.contains(&i) {
            l.clear();
        }
    }
}

/// A figure that says there is nothing to draw.
pub fn no_data(w: f64, h: f64) -> String {
    let mut s = Svg::new(w, h);
    s.text(w / 2.0, h / 2.0, "no data", Anchor::Middle, 14.0, false);
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_ticks() {
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(-0.001), "0");
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        let (lo, hi, t) = nice_range(3.0, 97.0, 5);
        assert_eq!((lo, hi), (0.0, 100.0));
        assert_eq!(t.len(), 6);
        assert_eq!(nice_range(0.0, 36.7, 6).0, 0.0);
        assert_eq!(tick_label(0.5, 0.5), "0.5");
        assert_eq!(log_ticks(3.0, 40.0), vec![5.0, 10.0, 20.0]);
        let mut l: Vec<String> = ["4K", "8K", "16K", "32K", "64K"].map(String::from).to_vec();
        thin_labels(&[0.0, 15.0, 30.0, 45.0, 60.0], &mut l, 11.0);
        assert_eq!(l, ["4K", "", "16K", "", "64K"]);
        // The artifact's buffer sizes on a log2 axis, 20 px per doubling: ends kept.
        let sizes = ["4K", "32K", "256K", "512K", "1M", "2M", "4M", "16M"];
        let xs = [0.0, 60.0, 120.0, 140.0, 160.0, 180.0, 200.0, 240.0];
        let mut l: Vec<String> = sizes.map(String::from).to_vec();
        thin_labels_keep_ends(&xs, &mut l, 11.0);
        assert_eq!(l, ["4K", "32K", "256K", "", "1M", "", "4M", "16M"]);
    }
}
