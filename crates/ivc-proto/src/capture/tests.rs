//! Round-trip and damage tests: whatever the encoder writes, the decoder reads back exactly, and
//! any damage to a record line is reported with its line, never absorbed.

use super::*;
use proptest::prelude::*;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

#[derive(Clone, Debug)]
enum S {
    Ok(Vec<u64>),
    Lost,
    Corrupt,
}

/// A synthetic run: `groups` of samples with `ncols` columns, encoded as a guest would.
fn encode_run(role: &'static str, ncols: usize, groups: &[Vec<S>], n: u64, out: &mut String) {
    let cols = ["rtt", "oneway", "c3", "c4"][..ncols].join(",");
    let mut e = Encoder::new(role, ncols, |l: &str| {
        out.push_str(l);
        out.push_str("\r\n");
    });
    e.header(&[("v", &1), ("exp", &"notif"), ("cfg", &"+interf"), ("hyp", &"baremetal")]);
    e.header(&[("plat", &"qemu-virt"), ("role", &role), ("freq", &62_500_000u64), ("n", &n)]);
    e.header(&[("warm", &10), ("gap_ns", &10_000_000u64), ("build", &"0.1.0-test"), ("cols", &cols)]);
    e.header(&[("common_counter", &"yes"), ("cpus", &"tx:0,rx:1")]);
    e.header_done();
    for (i, g) in groups.iter().enumerate() {
        if groups.len() > 1 {
            e.group(&[("mode", &"polling"), ("buf", &(4096u64 << i))]);
        }
        for s in g {
            match s {
                S::Ok(v) => e.sample(v),
                S::Lost => e.lost(),
                S::Corrupt => e.corrupt(),
            }
        }
    }
    e.note("run over");
    e.end(&[]);
}

fn sample(ncols: usize) -> impl Strategy<Value = S> {
    prop_oneof![
        8 => prop::collection::vec(prop_oneof![0u64..2000, any::<u64>()], ncols).prop_map(S::Ok),
        1 => Just(S::Lost),
        1 => Just(S::Corrupt),
    ]
}

fn run_strategy() -> impl Strategy<Value = (usize, Vec<Vec<S>>)> {
    (1usize..=4, 1u64..40, 1usize..4)
        .prop_flat_map(|(ncols, n, ng)| (Just(ncols), prop::collection::vec(prop::collection::vec(sample(ncols), n as usize), ng)))
}

fn check_round_trip(ncols: usize, groups: &[Vec<S>], capture: &Capture) {
    let run = capture.run("tx").expect("tx run");
    assert!(run.damage.is_empty(), "{:?}", run.damage);
    assert_eq!(run.header.columns.len(), ncols);
    assert_eq!(run.header.freq_hz, 62_500_000);
    assert_eq!(run.header.config, "+interf");
    assert_eq!(run.header.get("cpus"), Some("tx:0,rx:1"));
    assert_eq!(run.groups.len(), groups.len());
    for (g, want) in run.groups.iter().zip(groups) {
        assert_eq!(g.count as usize, want.len());
        let good: Vec<&Vec<u64>> = want.iter().filter_map(|s| if let S::Ok(v) = s { Some(v) } else { None }).collect();
        for c in 0..ncols {
            let col: Vec<u64> = good.iter().map(|v| v[c]).collect();
            assert_eq!(g.columns[c], col);
        }
        let lost: Vec<u64> = want.iter().enumerate().filter(|(_, s)| matches!(s, S::Lost)).map(|(i, _)| i as u64).collect();
        assert_eq!(g.lost_at, lost);
    }
    assert_eq!(run.notes, ["run over"]);
}

proptest! {
    #[test]
    fn round_trip_with_noise((ncols, groups) in run_strategy(), noise in "[ -~]{0,30}") {
        let n = groups[0].len() as u64;
        let mut text = String::new();
        encode_run("tx", ncols, &groups, n, &mut text);
        // Put console noise in front of every record and between them, as boot logs and a
        // hypervisor's prefixes do.
        let mixed: String = text.lines().map(|l| format!("(XEN) DOM1: {noise}{l}\r\nnoise {noise}\n")).collect();
        for input in [text.as_str(), mixed.as_str()] {
            let c = decode(input.as_bytes()).unwrap();
            check_round_trip(ncols, &groups, &c);
            for line in input.lines() {
                if let Some(at) = line.find(TAG) {
                    prop_assert!(line[at..].trim_end().len() <= MAX_LINE);
                }
            }
        }
    }

    #[test]
    fn any_changed_byte_in_a_record_is_reported((ncols, groups) in run_strategy(), pick in any::<prop::sample::Index>(), new in any::<u8>()) {
        let n = groups[0].len() as u64;
        let mut text = String::new();
        encode_run("tx", ncols, &groups, n, &mut text);
        let mut bytes = text.into_bytes();
        let i = pick.index(bytes.len());
        prop_assume!(bytes[i] != new && bytes[i] != b'\r');
        bytes[i] = new;
        let line = bytes[..i].iter().filter(|&&b| b == b'\n').count() + 1;
        let err = decode(&bytes).expect_err("damage must be reported");
        // The damaged line, or the record after it when the damage hid a whole record (one line
        // further when the new byte is a line break that split the damaged record in two).
        let slack = if new == b'\n' { 2 } else { 1 };
        prop_assert!(err.line >= line.saturating_sub(1) && err.line <= line + slack, "{} vs line {}", err, line);
    }
}

fn sample_capture() -> String {
    let groups = vec![(0..50).map(|i| S::Ok(vec![1000 + i % 7, 500 + i % 3])).collect::<Vec<_>>()];
    let mut text = String::from("boot log\r\nPress 's' to start\r\n");
    encode_run("tx", 2, &groups, 50, &mut text);
    text
}

#[test]
fn dropped_line_is_reported_with_its_line() {
    let text = sample_capture();
    let lines: Vec<&str> = text.split('\n').collect();
    let victim = lines.iter().position(|l| l.contains(" S ")).unwrap();
    let cut: String = lines.iter().enumerate().filter(|(i, _)| *i != victim).map(|(_, l)| format!("{l}\n")).collect();
    let err = decode(cut.as_bytes()).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Missing { .. }), "{err}");
    assert_eq!(err.line, victim + 1, "the line after the gap (1-based line of what followed)");
}

#[test]
fn cut_off_end_is_reported() {
    let text = sample_capture();
    let end = text.find(" E ").unwrap();
    let cut = &text[..text[..end].rfind('\n').unwrap() + 1];
    let err = decode(cut.as_bytes()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Truncated("tx".into()), "{err}");
    // A cut in the middle of the last line is damage on that line.
    let mid = &text[..end + 5];
    let err = decode(mid.as_bytes()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoChecksum, "{err}");
}

#[test]
fn flipped_byte_is_reported_with_its_line() {
    let text = sample_capture();
    let at = text.find(" S ").unwrap() + 5;
    let mut bytes = text.clone().into_bytes();
    bytes[at] ^= 0x01;
    let err = decode(&bytes).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Checksum);
    assert_eq!(err.line, text[..at].matches('\n').count() + 1);
}

#[test]
fn totals_must_agree() {
    // Re-sign an end record that claims one sample more than was sent: the checksum passes,
    // the totals do not.
    let text = sample_capture();
    let line = text.lines().find(|l| l.contains(" E ")).unwrap();
    let body = &line[..line.len() - 6].replace("samples=50", "samples=51");
    let forged = format!("{body} ~{:04x}", crc::crc16(body.as_bytes()));
    let err = decode(text.replace(line, &forged).as_bytes()).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Totals(_)), "{err}");
}

#[test]
fn restarted_guest_keeps_both_runs() {
    let mut text = sample_capture();
    let first_end = text.find(" E ").unwrap();
    let cut = text[..text[..first_end].rfind('\n').unwrap() + 1].to_string();
    text = cut + &sample_capture();
    let c = decode_lenient(text.as_bytes());
    assert_eq!(c.runs.len(), 2);
    assert!(!c.runs[0].is_complete());
    assert!(c.runs[1].is_complete());
    assert_eq!(c.run("tx").unwrap().groups[0].count, 50);
}

#[test]
fn typical_latencies_cost_few_bytes() {
    // Hardware-like jitter: deltas of a few tens of ticks between samples.
    let groups = vec![(0..1000u64).map(|i| S::Ok(vec![700 + (i * 37) % 60, 350 + (i * 11) % 30])).collect::<Vec<_>>()];
    let mut text = String::new();
    encode_run("tx", 2, &groups, 1000, &mut text);
    let sample_bytes: usize = text.lines().filter(|l| l.contains(" S ")).map(|l| l.len() + 2).sum();
    assert!(sample_bytes < 1000 * 6, "{sample_bytes} bytes for 1000 two-column samples");
}

/// Folds `text`'s lines as Xen's console does: at most `width` characters of a domain's output per
/// console line, each behind `(XEN) DOMn: `, with another domain's line in between.
fn xen_fold(text: &str, dom: u32, width: usize) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let bytes = line.as_bytes();
        for (i, piece) in bytes.chunks(width).enumerate() {
            out.push_str(&format!("(XEN) DOM{dom}: {}\r\r\n", core::str::from_utf8(piece).unwrap()));
            if i == 0 {
                out.push_str("(XEN) DOM2: @ivc1 rx 0 H not-a-whole-record\r\r\n(XEN) DOM3: interference\r\n");
            }
        }
    }
    out
}

proptest! {
    #[test]
    fn records_folded_by_xen_are_joined((ncols, groups) in run_strategy(), width in 7usize..130) {
        let n = groups[0].len() as u64;
        let mut text = String::new();
        encode_run("tx", ncols, &groups, n, &mut text);
        let c = decode_lenient(xen_fold(&text, 1, width).as_bytes());
        check_round_trip(ncols, &groups, &c);
    }
}

#[test]
fn a_folded_record_whose_rest_never_comes_is_reported() {
    let text = sample_capture();
    let folded = xen_fold(&text, 1, 40);
    // Drop the last continuation line of DOM1: the end record stays cut.
    let lines: Vec<&str> = folded.lines().collect();
    let last = lines.iter().rposition(|l| l.starts_with("(XEN) DOM1: ")).unwrap();
    let cut: String = lines.iter().enumerate().filter(|(i, _)| *i != last).map(|(_, l)| format!("{l}\n")).collect();
    let err = decode(cut.as_bytes()).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::NoChecksum | ErrorKind::Truncated(_)), "{err}");
}

/// Histogram mode: a million samples' worth of buckets round-trips exactly, in a few lines.
#[test]
fn histograms_round_trip() {
    use crate::histogram::{bucket, BUCKETS};
    let mut counts = [vec![0u32; BUCKETS], vec![0u32; BUCKETS]];
    let mut x = 12345u64;
    for _ in 0..1_000_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let rtt = 300 + x % 200 + if x.is_multiple_of(1000) { x % 100_000 } else { 0 };
        counts[0][bucket(rtt)] += 1;
        counts[1][bucket(rtt / 3)] += 1;
    }
    let mut out = String::new();
    {
        let mut e = Encoder::new("tx", 2, |l: &str| {
            out.push_str(l);
            out.push_str("\r\n");
        });
        e.header(&[("v", &1), ("exp", &"notif"), ("cfg", &""), ("hyp", &"baremetal"), ("plat", &"qemu-virt"), ("role", &"tx")]);
        e.header(&[("freq", &62_500_000u64), ("n", &1_000_002), ("warm", &0), ("gap_ns", &0), ("build", &"t"), ("cols", &"rtt,oneway")]);
        e.header_done();
        e.histogram(0, &counts[0], 2, 300, 99_999);
        e.histogram(1, &counts[1], 0, 100, 33_333);
        e.end(&[]);
    }
    assert!(out.len() < 16_000, "{} bytes", out.len());
    let c = decode(out.as_bytes()).unwrap();
    let r = c.run("tx").unwrap();
    let h = &r.groups[0].histograms;
    assert_eq!((r.groups[0].count, r.lost()), (1_000_002, 2));
    assert_eq!((h[0].n, h[0].min, h[0].max), (1_000_000, 300, 99_999));
    for (col, hist) in h.iter().enumerate() {
        let want: Vec<(usize, u64)> = counts[col].iter().enumerate().filter(|(_, &c)| c != 0).map(|(i, &c)| (i, c as u64)).collect();
        assert_eq!(hist.buckets, want);
    }
    // A bucket count that does not add up to n is damage.
    let line = out.lines().find(|l| l.contains(" B ")).unwrap();
    let body = &line[..line.len() - 6];
    let last = body.as_bytes()[body.len() - 1];
    let other = if last == b'1' { '2' } else { '1' };
    let forged_body = format!("{}{other}", &body[..body.len() - 1]);
    let forged = format!("{forged_body} ~{:04x}", crc::crc16(forged_body.as_bytes()));
    assert!(decode(out.replace(line, &forged).as_bytes()).is_err());
}

/// v2: a notif run whose samples carry PMU counters, rotated over groups of `sets`.
fn encode_pmu_run(sets: &[Vec<crate::pmu::Counter>], samples: &[Vec<Vec<u64>>], out: &mut String) {
    let mut e = Encoder::new("tx", 2, |l: &str| {
        out.push_str(l);
        out.push_str("\r\n");
    });
    let n = samples[0].len() as u64;
    e.header(&[("v", &VERSION), ("exp", &"notif"), ("cfg", &""), ("hyp", &"baremetal"), ("plat", &"qemu-virt"), ("role", &"tx")]);
    e.header(&[("freq", &62_500_000u64), ("n", &n), ("warm", &0), ("gap_ns", &0), ("build", &"t"), ("cols", &"rtt,oneway")]);
    e.header(&[("pmu_n", &6), ("pmceid", &"0x6000000000020101"), ("pmu_groups", &sets.len())]);
    e.header_done();
    for (set, group) in sets.iter().zip(samples) {
        e.pmu_group(set);
        for v in group {
            e.sample(v);
        }
    }
    e.end(&[]);
}

fn pmu_strategy() -> impl Strategy<Value = (Vec<Vec<crate::pmu::Counter>>, Vec<Vec<Vec<u64>>>)> {
    use crate::pmu::{Counter, El};
    let counter = (any::<u16>(), 0usize..3).prop_map(|(event, el)| Counter { event, el: El::ALL[el] });
    let set = prop::collection::vec(counter, 1..=crate::pmu::MAX_GROUP);
    (prop::collection::vec(set, 1..4), 1usize..30).prop_flat_map(|(sets, n)| {
        let groups: Vec<_> =
            sets.iter()
                .map(|s| {
                    // What tx records: latencies within a timeout, 32-bit event counters, a cycle count.
                    let row = (prop::collection::vec(0u64..1 << 32, 2), prop::collection::vec(0u64..1 << 32, s.len()), 0u64..1 << 40)
                        .prop_map(|(mut lat, ev, cyc)| {
                            lat.extend(ev);
                            lat.push(cyc);
                            lat
                        });
                    prop::collection::vec(row, n)
                })
                .collect();
        (Just(sets), groups)
    })
}

proptest! {
    #[test]
    fn pmu_groups_round_trip((sets, samples) in pmu_strategy(), width in 7usize..130) {
        let mut text = String::new();
        encode_pmu_run(&sets, &samples, &mut text);
        for input in [text.clone(), xen_fold(&text, 1, width)] {
            // Lenient: the folding test puts a broken rx record in between.
            let c = decode_lenient(input.as_bytes());
            let r = c.run("tx").unwrap();
            prop_assert!(r.damage.is_empty(), "{:?}", r.damage);
            prop_assert_eq!(r.header.version, 2);
            prop_assert_eq!(r.groups.len(), sets.len());
            prop_assert_eq!(r.lost(), 0);
            for ((g, set), want) in r.groups.iter().zip(&sets).zip(&samples) {
                prop_assert_eq!(&g.pmu, set);
                let names = g.names(&r.header);
                prop_assert_eq!(names.len(), 2 + set.len() + 1);
                prop_assert_eq!(names.last().map(String::as_str), Some("cycles"));
                for (i, name) in names.iter().enumerate() {
                    let col: Vec<u64> = want.iter().map(|v| v[i]).collect();
                    prop_assert_eq!(g.column(&r.header, name), Some(col.as_slice()), "{}", name);
                }
            }
        }
        for line in text.lines() {
            prop_assert!(line.len() <= MAX_LINE, "{}", line);
        }
    }
}

fn pmu_capture() -> String {
    use crate::pmu::{Counter, El};
    let c = |event, el| Counter { event, el };
    let sets = vec![vec![c(0x08, El::El1), c(0x11, El::El1And2)], vec![c(0x4004, El::El2)]];
    let samples =
        vec![(0..20).map(|i| vec![900 + i, 400, 1000 + i, 16_000 + i, 20_000]).collect(), (0..20).map(|i| vec![900, 401, i, 7]).collect()];
    let mut text = String::new();
    encode_pmu_run(&sets, &samples, &mut text);
    text
}

/// Re-signs the first record line containing `from` with it replaced by `to`.
fn forge(text: &str, from: &str, to: &str) -> String {
    let line = text.lines().find(|l| l.contains(from)).unwrap();
    let body = line[..line.len() - 6].replace(from, to);
    text.replace(line, &format!("{body} ~{:04x}", crc::crc16(body.as_bytes())))
}

#[test]
fn pmu_group_damage_is_reported() {
    let text = pmu_capture();
    let c = decode(text.as_bytes()).unwrap();
    assert_eq!(c.run("tx").unwrap().groups[0].column(&c.run("tx").unwrap().header, "inst_ret_el1").unwrap()[19], 1019);
    // A group that names one counter more than its samples carry: the samples no longer decode.
    let err = decode(forge(&text, "ev=8:el1,11:el1+2", "ev=8:el1,11:el1+2,3:el1").as_bytes()).unwrap_err();
    assert!(matches!(&err.kind, ErrorKind::Malformed(m) if m.contains("cut off")), "{err}");
    // One fewer: the values shift into extra samples, and the group's count disagrees.
    assert!(decode(forge(&text, "ev=8:el1,11:el1+2", "ev=8:el1").as_bytes()).is_err());
    // An item that is not <hex>:<filter>, and too many counters for one group.
    let err = decode(forge(&text, "ev=4004:el2", "ev=4004:el3").as_bytes()).unwrap_err();
    assert!(err.to_string().contains("`4004:el3`"), "{err}");
    let err = decode(forge(&text, "ev=4004:el2", "ev=1:el1,2:el1,3:el1,4:el1,5:el1,6:el1,7:el1").as_bytes()).unwrap_err();
    assert!(err.to_string().contains("7 counters"), "{err}");
    // A missing group: the header's pmu_groups says how many sets the run rotates over.
    let err = decode(forge(&text, "pmu_groups=2", "pmu_groups=3").as_bytes()).unwrap_err();
    assert!(err.to_string().contains("pmu_groups=3"), "{err}");
}

#[test]
fn a_refused_pmu_run_has_no_groups() {
    let mut out = String::new();
    let mut e = Encoder::new("tx", 2, |l: &str| {
        out.push_str(l);
        out.push_str("\r\n");
    });
    e.header(&[("v", &2), ("exp", &"notif"), ("cfg", &""), ("hyp", &"xen"), ("plat", &"qemu-virt"), ("role", &"tx"), ("freq", &1)]);
    e.header(&[("n", &5), ("warm", &0), ("gap_ns", &0), ("build", &"t"), ("cols", &"rtt,oneway"), ("pmu_n", &0), ("pmu_groups", &4)]);
    e.header_done();
    e.note("pmu: no event counters (PMCR_EL0.N = 0)");
    e.end(&[("pmu", &"refused")]);
    let c = decode(out.as_bytes()).unwrap();
    assert!(c.run("tx").unwrap().groups.is_empty());
    assert!(decode(out.replace("pmu=refused", "pmu=ok").as_bytes()).is_err(), "the checksum, then the group count");
}

#[test]
fn v1_captures_read_as_before() {
    // v1 had no PMU groups: a transfer group field named `ev` is only a field there.
    let mut out = String::new();
    let mut e = Encoder::new("tx", 1, |l: &str| {
        out.push_str(l);
        out.push_str("\r\n");
    });
    e.header(&[("v", &1), ("exp", &"transfer"), ("cfg", &""), ("hyp", &"xen"), ("plat", &"qemu-virt"), ("role", &"tx"), ("freq", &1)]);
    e.header(&[("n", &2), ("warm", &0), ("gap_ns", &0), ("build", &"t"), ("cols", &"ticks")]);
    e.header_done();
    e.group(&[("mode", &"polling"), ("ev", &"whatever")]);
    e.sample(&[5]);
    e.sample(&[6]);
    e.end(&[]);
    let c = decode(out.as_bytes()).unwrap();
    let g = &c.run("tx").unwrap().groups[0];
    assert_eq!((g.pmu.len(), g.columns.len(), g.get("ev")), (0, 1, Some("whatever")));
    let err = decode(forge(&out, "v=1", "v=3").as_bytes()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Version(3));
}

#[test]
fn a_sample_too_wide_for_a_record_is_lost_not_cut() {
    use crate::pmu::{Counter, El};
    let set: Vec<Counter> = (1..=6).map(|e| Counter { event: e, el: El::El1And2 }).collect();
    let mut out = String::new();
    let mut e = Encoder::new("tx", 2, |l: &str| {
        out.push_str(l);
        out.push_str("\r\n");
    });
    e.header(&[("v", &2), ("exp", &"notif"), ("cfg", &""), ("hyp", &"x"), ("plat", &"p"), ("role", &"tx"), ("freq", &1), ("n", &2)]);
    e.header(&[("warm", &0), ("gap_ns", &0), ("build", &"t"), ("cols", &"rtt,oneway"), ("pmu_groups", &1)]);
    e.header_done();
    e.pmu_group(&set);
    e.sample(&[u64::MAX / 3; 9]);
    e.sample(&[1; 9]);
    e.end(&[]);
    let c = decode(out.as_bytes()).unwrap();
    let r = c.run("tx").unwrap();
    assert_eq!((r.lost(), r.groups[0].columns[8].as_slice()), (1, &[1u64][..]));
    assert!(out.contains(" wide=1 "));
}

/// Captures the v1 guests printed (baremetal and Xen, raw and histogram, notif and transfer; kept
/// in tests/data/v1) decode as they did: v2 changed nothing a v1 capture holds.
#[test]
fn real_v1_captures_still_decode() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1");
    for (file, samples, groups) in [
        ("baremetal-notif", 50, 1),
        ("baremetal-notif-histogram", 100_000, 1),
        ("baremetal-transfer-interf", 8, 4),
        ("xen-notif-interf", 30, 1),
    ] {
        let c = decode(&std::fs::read(dir.join(file)).unwrap()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let r = c.run("tx").unwrap();
        assert_eq!(r.header.version, 1, "{file}");
        assert_eq!(r.groups.len(), groups, "{file}");
        assert!(r.groups.iter().all(|g| g.pmu.is_empty() && g.names(&r.header) == r.header.columns), "{file}");
        let good: u64 = r.groups.iter().map(|g| g.columns[0].len() as u64 + g.histograms.first().map_or(0, |h| h.n)).sum();
        assert_eq!(good, samples, "{file}");
    }
}
