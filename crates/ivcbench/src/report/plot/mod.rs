//! The report's figures, written as plain SVG (so they diff and embed in HTML as text) and rendered
//! to PNG with resvg. They replace the RTAS'23 artifact's seaborn plots.

mod notif;
mod stacked;
mod svg;
mod transfer;

pub use notif::{notif_tail, notif_violin, violin_is_log};
pub use stacked::{pathlen_bars, pmu_bars};
pub use transfer::transfer_grid;

use crate::names::{Hypervisor, Suffix};
use anyhow::{anyhow, Context, Result};
use resvg::{tiny_skia, usvg};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use svg::{Anchor, Svg};

/// Okabe–Ito colours (safe for the common colour-vision deficiencies), one fixed per known
/// hypervisor so that a hypervisor keeps its colour across figures and reports.
fn known_colour(h: &str) -> Option<&'static str> {
    Some(match h {
        "baremetal" => "#000000",
        "bao" => "#0072B2",
        "xen" => "#D55E00",
        "jailhouse" => "#009E73",
        "sel4" => "#CC79A7",
        _ => return None,
    })
}

/// The rest of the palette, for hypervisors the seed does not know, in order of appearance.
const OTHER_COLOURS: [&str; 3] = ["#E69F00", "#56B4E9", "#999999"];

/// Hypervisors in the seed's order, then unknown names alphabetically, each with its colour.
fn hypervisors<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(String, &'static str)> {
    let mut v: Vec<&str> = names.into_iter().collect();
    let rank = |h: &str| Hypervisor::from_name(h).map_or(usize::MAX, |x| x as usize);
    v.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    v.dedup();
    let mut others = OTHER_COLOURS.iter().cycle();
    v.into_iter().map(|h| (h.to_string(), known_colour(h).unwrap_or_else(|| others.next().unwrap()))).collect()
}

/// Configurations in the seed's order (`Suffix::ALL`), then any other in `Ord` order.
fn configurations(mut v: Vec<Suffix>) -> Vec<Suffix> {
    let rank = |s: &Suffix| Suffix::ALL.iter().position(|x| x == s).unwrap_or(usize::MAX);
    v.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    v.dedup();
    v
}

fn suffix_name(s: Suffix) -> String {
    if s == Suffix::default() {
        "base".to_string()
    } else {
        s.to_string()
    }
}

/// Quantile of sorted values, by the convention of `Stats` (numpy's linear interpolation).
fn rank(v: &[f64], p: f64) -> f64 {
    super::stats::quantile(v, p)
}

/// Draws a legend key in a 24×12 box whose left middle is (x, y).
type DrawKey = Box<dyn Fn(&mut Svg, f64, f64)>;

/// One legend entry: a name and its key.
struct Key {
    name: String,
    draw: DrawKey,
}

const KEY_W: f64 = 24.0;

/// A horizontal legend centred on `cx`, baseline `y`.
fn legend_row(s: &mut Svg, keys: &[Key], cx: f64, y: f64) {
    let widths: Vec<f64> = keys.iter().map(|k| KEY_W + 4.0 + svg::text_width(&k.name, svg::FONT_PX) + 14.0).collect();
    let mut x = cx - widths.iter().sum::<f64>() / 2.0;
    for (k, w) in keys.iter().zip(widths) {
        (k.draw)(s, x, y - 4.0);
        s.text(x + KEY_W + 4.0, y, &k.name, Anchor::Start, svg::FONT_PX, false);
        x += w;
    }
}

/// A vertical legend from (x, y) down, under an optional heading; returns the y below it.
fn legend_column(s: &mut Svg, heading: &str, keys: &[Key], x: f64, mut y: f64) -> f64 {
    if !heading.is_empty() {
        s.text(x, y, heading, Anchor::Start, svg::FONT_PX, false);
        y += 15.0;
    }
    for k in keys {
        (k.draw)(s, x, y - 4.0);
        s.text(x + KEY_W + 4.0, y, &k.name, Anchor::Start, svg::FONT_PX, false);
        y += 15.0;
    }
    y
}

/// Adds lines under a figure (its provenance, and where it applies what the emulated clock does,
/// so that the image says what it shows wherever it is copied): the first line is the provenance,
/// the others notes, each wrapped to the figure's width; the document grows by as many lines.
pub fn with_footer(figure: &str, lines: &[&str]) -> String {
    // Svg::new writes `width="W" height="H" viewBox="0 0 W H"` then a background rect of W x H.
    let attr = |name: &str| -> Option<f64> {
        let at = figure.find(&format!(" {name}=\""))? + name.len() + 3;
        figure[at..].split('"').next()?.parse().ok()
    };
    let (Some(w), Some(h)) = (attr("width"), attr("height")) else { return figure.to_string() };
    let mut text: Vec<(&str, String)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let class = if i == 0 { "provenance" } else { "note" };
        for l in wrap_words(line, w - 12.0, 10.0) {
            text.push((class, l));
        }
    }
    const LINE: f64 = 13.0;
    let extra = 3.0 + LINE * text.len() as f64;
    let (old, new) = (svg::num(h), svg::num(h + extra));
    let wn = svg::num(w);
    let mut out = figure
        .replacen(&format!("height=\"{old}\" viewBox=\"0 0 {wn} {old}\""), &format!("height=\"{new}\" viewBox=\"0 0 {wn} {new}\""), 1)
        .replacen(&format!("<rect width=\"{wn}\" height=\"{old}\""), &format!("<rect width=\"{wn}\" height=\"{new}\""), 1);
    let Some(end) = out.rfind("</svg>") else { return figure.to_string() };
    let mut add = String::new();
    for (i, (class, l)) in text.iter().enumerate() {
        add.push_str(&format!(
            "<text class=\"{class}\" x=\"6\" y=\"{}\" font-size=\"10\" fill=\"#555555\">{}</text>\n",
            svg::num(h + LINE * (i + 1) as f64 - 2.0),
            svg::escape(l)
        ));
    }
    out.insert_str(end, &add);
    out
}

/// Splits a text at spaces into lines no wider than `width` px at `size` (a word wider than that
/// gets a line of its own).
pub(super) fn wrap_words(text: &str, width: f64, size: f64) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match out.last_mut() {
            Some(l) if svg::text_width(&format!("{l} {word}"), size) <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
    }
    out
}

/// System fonts, loaded once: the report renders several figures and the scan takes a while.
fn fontdb() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        Arc::new(db)
    })
    .clone()
}

fn parse(svg: &str) -> Result<usvg::Tree> {
    let opt = usvg::Options { fontdb: fontdb(), ..usvg::Options::default() };
    usvg::Tree::from_str(svg, &opt).context("figure SVG does not parse")
}

/// Renders an SVG string to a PNG file at `scale` (2.0 for print).
pub fn svg_to_png(svg: &str, path: &Path, scale: f32) -> Result<()> {
    let tree = parse(svg)?;
    let size = tree.size().to_int_size().scale_by(scale).ok_or_else(|| anyhow!("bad figure scale {scale}"))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| anyhow!("empty figure"))?;
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    // As tiny-skia's own save_png, but with fast compression: the default level spent as long
    // compressing as the report took to read 260 MB of tables.
    let (w, h) = (pixmap.width(), pixmap.height());
    let rgba = pixmap.take_demultiplied();
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    enc.write_header().and_then(|mut wr| wr.write_image_data(&rgba)).with_context(|| format!("encoding {}", path.display()))?;
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::dataset::{Cell, CellData, NotifData, Origin, Provenance, TransferSeries};
    use ivc_proto::params::Experiment;

    /// A deterministic pseudo-random stream (xorshift), so test data needs no crate.
    pub struct Rng(u64);
    impl Rng {
        pub fn new(seed: u64) -> Rng {
            Rng(seed | 1)
        }
        pub fn unit(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    pub fn cell(hyp: &str, suffix: &str, data: CellData) -> Cell {
        let experiment = if matches!(data, CellData::Notif(_)) { Experiment::Notif } else { Experiment::Transfer };
        Cell {
            experiment,
            hypervisor: hyp.to_string(),
            suffix: Suffix::parse(suffix).unwrap(),
            path: format!("{}/{hyp}{suffix}", experiment.name()).into(),
            origin: Origin::Legacy,
            provenance: Provenance::Unknown,
            freq_hz: 100_000_000,
            data,
            damage: vec![],
            notes: vec![],
            text: Default::default(),
            interference: None,
            pathlen: None,
        }
    }

    /// Latencies around `base_ns` with a right tail, as counter ticks at 100 MHz.
    pub fn notif(hyp: &str, suffix: &str, base_ns: f64, seed: u64) -> Cell {
        let mut r = Rng::new(seed);
        let latency = (0..2000)
            .map(|_| {
                let u = r.unit();
                let tail = if r.unit() < 0.02 { 3.0 * base_ns * r.unit() } else { 0.0 };
                ((base_ns * (0.9 + 0.3 * u * u) + tail) / 10.0) as u64
            })
            .collect();
        cell(hyp, suffix, CellData::Notif(NotifData { latency, ..Default::default() }))
    }

    /// Both modes, 4K..16M, throughput rising with the buffer size towards `peak` MiB/s.
    pub fn transfer(hyp: &str, suffix: &str, peak: f64, seed: u64) -> Cell {
        let mut r = Rng::new(seed);
        let mut series = vec![];
        for mode in ["polling", "interrupt"] {
            for k in 12..=24 {
                let buf = 1u64 << k;
                let total = 16u64 << 20;
                let eff = if mode == "polling" { 1.0 } else { 0.6 };
                let mibs = peak * eff * (buf as f64 / (buf as f64 + 65536.0));
                let ticks = (0..10).map(|_| ((total as f64 / (1 << 20) as f64) / (mibs * (0.95 + 0.1 * r.unit())) * 1e8) as u64).collect();
                series.push(TransferSeries { mode: mode.into(), buf, total, ticks, lost: 0, corrupt: 0 });
            }
        }
        cell(hyp, suffix, CellData::Transfer(series))
    }

    #[test]
    fn palette_and_order() {
        let h = hypervisors(["zz", "xen", "bao", "xen", "aa"]);
        let names: Vec<&str> = h.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["bao", "xen", "aa", "zz"]);
        assert_eq!(h[1].1, "#D55E00");
        let c = configurations(vec![Suffix::parse("+interf").unwrap(), Suffix::default()]);
        assert_eq!(c.iter().map(|s| suffix_name(*s)).collect::<Vec<_>>(), ["base", "+interf"]);
    }

    #[test]
    fn empty_input_says_no_data() {
        for s in [notif_violin(&[]), notif_tail(&[]), transfer_grid(&[])] {
            assert!(s.contains("no data"));
            parse(&s).unwrap();
        }
    }

    #[test]
    fn png_has_the_scaled_size() {
        let c = notif("xen", "", 5000.0, 1);
        let svg = notif_violin(&[&c]);
        let tree = parse(&svg).unwrap();
        let (w, h) = (tree.size().width(), tree.size().height());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.png");
        svg_to_png(&svg, &p, 2.0).unwrap();
        let png = std::fs::read(&p).unwrap();
        // The IHDR chunk: width and height big-endian at bytes 16..24.
        let pw = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let ph = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((pw, ph), ((w * 2.0).round() as u32, (h * 2.0).round() as u32));
    }

    /// Not a check: writes the figures of synthetic data to /tmp/ivcbench-plot to look at them.
    #[test]
    #[ignore]
    fn write_samples() {
        let dir = Path::new("/tmp/ivcbench-plot");
        std::fs::create_dir_all(dir).unwrap();
        let n = [
            notif("xen", "", 6000.0, 1),
            notif("bao", "", 2500.0, 2),
            notif("baremetal", "", 1500.0, 7),
            notif("xen", "+interf", 9000.0, 3),
            notif("bao", "+interf", 4000.0, 4),
            notif("bao", "+col", 2600.0, 5),
            notif("bao", "+interf+col+hypcol", 2900.0, 6),
            notif("xen", "+interf+col", 7000.0, 8),
            notif("baremetal", "+interf", 2000.0, 9),
        ];
        let n: Vec<&Cell> = n.iter().collect();
        let t = [
            transfer("xen", "", 900.0, 1),
            transfer("bao", "", 1400.0, 2),
            transfer("xen", "+interf", 600.0, 3),
            transfer("bao", "+interf", 1000.0, 4),
            transfer("baremetal", "", 1600.0, 5),
        ];
        let t: Vec<&Cell> = t.iter().collect();
        let small = [notif("bao", "", 900.0, 1), notif("bao", "+interf", 1100.0, 2)];
        let small: Vec<&Cell> = small.iter().collect();
        let many: Vec<Cell> = ["baremetal", "bao", "xen", "jailhouse", "sel4", "acrn"]
            .iter()
            .enumerate()
            .flat_map(|(i, h)| Suffix::ALL.iter().map(move |s| notif(h, &s.to_string(), 1500.0 + 700.0 * i as f64, i as u64)))
            .collect();
        let many: Vec<&Cell> = many.iter().collect();
        let one = transfer("sel4", "+interf", 300.0, 1);
        let figures = [
            ("violin", notif_violin(&n)),
            ("tail", notif_tail(&n)),
            ("transfer", transfer_grid(&t)),
            ("violin-small", notif_violin(&small)),
            ("tail-small", notif_tail(&small)),
            ("violin-many", notif_violin(&many)),
            ("tail-many", notif_tail(&many)),
            ("transfer-one", transfer_grid(&[&one])),
        ];
        for (name, svg) in figures {
            std::fs::write(dir.join(format!("{name}.svg")), &svg).unwrap();
            svg_to_png(&svg, &dir.join(format!("{name}.png")), 2.0).unwrap();
        }
    }
}
