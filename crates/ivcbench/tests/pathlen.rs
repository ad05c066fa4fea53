//! Path lengths on the emulated testbed (`run --pathlen`): the real guests on real QEMU with the
//! real path-length plugin (built from crates/ivc-pathlen by ivcbench), baremetal and Xen.

mod common;

use common::{run_ok, tx, SHORT_TRANSFER};
use ivc_proto::pathlen::{Mark, PathLengths};
use ivcbench::pathlen::{load, sidecar, table};
use std::path::Path;

/// One run's path lengths and their table. An `+interf` cell's gap is long enough for the
/// interferer to finish passes over its buffer while the samples run (checked).
fn pathlen(out: &Path, hyp: &str, cell: &str, samples: &str) -> (PathLengths, String) {
    let gap = if cell.contains("+interf") { "2ms" } else { "200us" };
    let c = run_ok(hyp, out, &["--experiment", cell, "--samples", samples, "--gap", gap, "--pathlen"]);
    if cell.contains("+interf") {
        let line = ivcbench::report::interference(&c).unwrap_or_default();
        assert!(line.contains(" passes over "), "the interferer must have swept its buffer during the samples: {line:?}");
    }
    let warm = tx(&c).header.warmups as usize;
    let (e, suffix) = cell.split_at(cell.find('+').unwrap_or(cell.len()));
    let p = load(&sidecar(&out.join(e).join(format!("{hyp}{suffix}")))).unwrap();
    assert_eq!(p.samples.len(), warm + samples.parse::<usize>().unwrap(), "one window per doorbell, warm-ups included");
    let text = ivcbench::pathlen::format_table(&table(&p, warm));
    (p, text)
}

/// Each side's vCPU and counts of the recorded samples (after the 10 warm-ups).
fn windows(p: &PathLengths) -> Vec<String> {
    p.samples.iter().skip(10).map(|s| format!("{:?} {:?}", s.tx, s.rx)).collect()
}

#[test]
fn baremetal_path_lengths_repeat_and_ignore_the_interferer() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, text) = pathlen(a.path(), "baremetal", "notif", "40");
    let (second, _) = pathlen(b.path(), "baremetal", "notif", "40");
    let (interf, _) = pathlen(c.path(), "baremetal", "notif+interf", "40");
    // One build, icount: the same count for every window, run after run, and the interferer on
    // core 2 changes nothing on cores 0 and 1 (no hypervisor does work for it).
    assert_eq!(first, second);
    assert_eq!(windows(&first), windows(&interf));
    let t = table(&first, 10);
    for side in &t.el {
        assert_eq!(side[0].as_ref().unwrap().off_median, 0, "{text}");
        assert_eq!(side[1].as_ref().unwrap().median, 0, "no EL2 without a hypervisor: {text}");
    }
    assert_eq!((t.tx_cpus.as_slice(), t.rx_cpus.as_slice()), (&[0][..], &[1][..]));
    // The instrument: an empty window holds its closing marker only (its own function, so the
    // compiler has nothing of a caller to put between the markers); the image says so too.
    assert_eq!(empty_window_in_image(), 1);
    assert_eq!(t.calibrations[0], ("probe".to_string(), 0, 1));
    assert!(t.calibrations[1].2 > 1, "{:?}", t.calibrations);
    // The hand count of the SGI doorbell from the image (below) is what the plugin measured.
    let tx_el1 = t.el[0][0].as_ref().unwrap().median;
    assert_eq!(hand_count_sgi_doorbell(), tx_el1, "{text}");
}

/// The baremetal image's code: (its start address, the .text bytes) and the address of the
/// function whose symbol contains `name`.
fn image_and_function(name: &str) -> (u64, Vec<u8>, u64) {
    use object::{Object, ObjectSection, ObjectSymbol};
    let elf = ivcbench::build::project_root().join("target/guests/baremetal-qemu-virt/aarch64-unknown-none/release/ivc-guest");
    let bytes = std::fs::read(&elf).unwrap();
    let obj = object::File::parse(&*bytes).unwrap();
    let text = obj.section_by_name(".text").unwrap();
    let f = obj.symbols().find(|s| s.name().is_ok_and(|n| n.contains(name))).unwrap_or_else(|| panic!("no function {name} in the image"));
    (text.address(), text.data().unwrap().to_vec(), f.address())
}

/// The instructions of the empty calibration window in the baremetal image (the function
/// `empty_window`, straight-line code), counted like the plugin counts: up to and including
/// CalEnd.
fn empty_window_in_image() -> u64 {
    let (base, code, f) = image_and_function("empty_window");
    let words: Vec<u32> = code[(f - base) as usize..].chunks_exact(4).take(16).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    let begin = words.iter().position(|&w| w == Mark::CalBegin.encoding()).expect("a CalBegin marker");
    let end = words[begin..].iter().position(|&w| w == Mark::CalEnd.encoding()).expect("its CalEnd");
    end as u64
}

/// The instructions from tx's Begin marker (excluded) to its TxEnd marker (included) along the
/// path that writes ICC_SGI1R_EL1 (QEMU virt's GICv3), read from the baremetal image's code the
/// way one counts by hand in `aarch64-linux-gnu-objdump -d` (docs/pathlen.md): every path
/// through the conditional branches between the markers is followed, from the Begin in
/// `ring_in_window` (guests/ivc-guest/src/backend/mod.rs), the one function notif's doorbell
/// window lives in. Every instruction on every path must belong to the doorbell: the loads of
/// ivc-rt's GIC description and the check of which GIC it is, the SGI's value (mov/movk), the
/// barriers, the write that sends it (MSR ICC_SGI1R_EL1, or the store to GICD_SGIR on a GICv2),
/// the branches, and the closing marker. Anything else (an address computation or a loop counter
/// of the caller, as when the window was inlined into notif_tx's loop) fails the test.
fn hand_count_sgi_doorbell() -> u64 {
    let (base, code, f) = image_and_function("ring_in_window");
    let word = |a: u64| u32::from_le_bytes(code[(a - base) as usize..][..4].try_into().unwrap());
    let begin = (0..16).map(|i| f + 4 * i).find(|&a| word(a) == Mark::Begin.encoding()).expect("ring_in_window opens with Begin");
    // MSR ICC_SGI1R_EL1, Xt (S3_0_C12_C11_5).
    let is_sgi1r = |w: u32| w & !0x1f == 0xd518_cba0;
    let doorbell = |w: u32| {
        w & 0x3b00_0000 == 0x3900_0000 // LDR/STR (unsigned immediate): the GIC description, GICD_SGIR
            || w & 0x3b20_0c00 == 0x3800_0000 // LDUR/STUR
            || w & 0x7f80_001f == 0x7100_001f // CMP (immediate): which GIC
            || matches!(w & 0x7f80_0000, 0x5280_0000 | 0x7280_0000) // MOVZ/MOVK: the SGI's value
            || w & 0xffff_f0ff == 0xd503_309f // DSB
            || w & 0xffff_f0ff == 0xd503_30df // ISB
            || is_sgi1r(w)
            || w & 0xff00_0010 == 0x5400_0000 // B.cond
            || w & 0xfc00_0000 == 0x1400_0000 // B
    };
    let sext = |v: u32, bits: u32| ((v << (32 - bits)) as i32 >> (32 - bits)) as i64 * 4;
    // Every path from Begin to TxEnd: (instructions, whether it writes ICC_SGI1R_EL1).
    let mut found = Vec::new();
    let mut todo = vec![(begin + 4, 0u64, false)];
    while let Some((mut pc, mut n, mut sgi)) = todo.pop() {
        loop {
            let w = word(pc);
            n += 1;
            assert!(n < 64, "no TxEnd within 64 instructions of Begin at {begin:#x}");
            if w == Mark::TxEnd.encoding() {
                found.push((n, sgi));
                break;
            }
            assert!(doorbell(w), "{w:08x} at {pc:#x}, between Begin and TxEnd, is not part of the SGI doorbell");
            sgi |= is_sgi1r(w);
            let target = |off: i64| (pc as i64 + off) as u64;
            if w & 0xfc00_0000 == 0x1400_0000 {
                pc = target(sext(w & 0x3ff_ffff, 26));
                continue;
            }
            if w & 0xff00_0010 == 0x5400_0000 {
                todo.push((target(sext((w >> 5) & 0x7ffff, 19)), n, sgi));
            }
            pc += 4;
        }
    }
    let sgi: Vec<u64> = found.iter().filter(|p| p.1).map(|p| p.0).collect();
    assert_eq!(sgi.len(), 1, "one path writes ICC_SGI1R_EL1: {found:?}");
    sgi[0]
}

/// One EL's counts of the recorded windows, both sides (the cores' numbers left out: Xen's
/// depend on how many CPUs the machine has).
fn at_el(p: &PathLengths, el: usize) -> Vec<(Option<u64>, Option<u64>)> {
    p.samples.iter().skip(10).map(|s| (s.tx.map(|t| t.1[el]), s.rx.map(|r| r.1[el]))).collect()
}

#[test]
fn xen_path_lengths_split_by_exception_level_repeat_and_ignore_the_interferer() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, text) = pathlen(a.path(), "xen", "notif", "30");
    let (second, _) = pathlen(b.path(), "xen", "notif", "30");
    let (interf, text_i) = pathlen(c.path(), "xen", "notif+interf", "30");
    // With the null scheduler Xen runs no timer of its own on the domains' CPUs: one build gives
    // the same windows, run after run (only the first warm-up differs: first-use paths).
    assert_eq!(windows(&first), windows(&second), "{text}");
    let (t, ti) = (table(&first, 10), table(&interf, 10));
    for side in 0..2 {
        // The guests' own instructions repeat exactly; Xen's (EL2) are there on both sides.
        assert_eq!(t.el[side][0].as_ref().unwrap().off_median, 0, "{text}");
        assert_eq!(t.el[side][1].as_ref().unwrap().off_median, 0, "{text}");
        assert!(t.el[side][1].as_ref().unwrap().median > 100, "Xen's work at EL2: {text}");
        assert_eq!(ti.el[side][1].as_ref().unwrap().off_median, 0, "{text_i}");
    }
    assert_eq!(t.other, 0, "{text}");
    assert_ne!(t.tx_cpus, t.rx_cpus, "{text}");
    // The interferer's domain changes nothing the guests run, nor Xen's work on rx's CPU.
    assert_eq!(at_el(&first, 1), at_el(&interf, 1), "{text}\n{text_i}");
    let el2 = |t: &ivcbench::pathlen::Table, side: usize| t.el[side][1].as_ref().unwrap().median;
    assert_eq!(el2(&t, 1), el2(&ti, 1), "{text}\n{text_i}");
    // On tx's CPU Xen walks the kicked CPU mask up to the machine's CPU count (its cell has one
    // CPU more, the interferer's): in gicv3_send_sgi_list, the search for a CPU after rx's scans
    // a word instead of stopping at once (docs/pathlen.md). One word's scan, not the interferer's
    // activity.
    let extra = el2(&ti, 0) as i64 - el2(&t, 0) as i64;
    assert!((0..=32).contains(&extra), "tx's EL2 {extra} more with the interferer:\n{text}\n{text_i}");
}

#[test]
fn xen_transfer_path_lengths_per_chunk() {
    let d = tempfile::tempdir().unwrap();
    let args = [&["--experiment", "transfer"][..], &SHORT_TRANSFER, &["--pathlen"]].concat();
    let c = run_ok("xen", d.path(), &args);
    let file = sidecar(&d.path().join("transfer/xen"));
    let p = load(&file).unwrap();
    let tables = ivcbench::pathlen::transfer_tables(&file, &p, tx(&c)).unwrap();
    let groups: Vec<(&str, u64)> = tables.iter().map(|(m, b, _)| (m.as_str(), *b)).collect();
    assert_eq!(groups, [("polling", 4096), ("polling", 32768), ("interrupt", 4096), ("interrupt", 32768)]);
    let median = |i: usize, side: usize, el: usize| tables[i].2.el[side][el].as_ref().unwrap().median;
    for (i, (mode, buf, t)) in tables.iter().enumerate() {
        assert_eq!(t.samples, 2 * (64 << 10) / *buf as usize, "{mode} {buf}");
        for side in 0..2 {
            // The guests' own work is the same for every chunk of a group.
            assert_eq!(t.el[side][0].as_ref().unwrap().off_median, 0, "{mode} {buf}");
            if *mode == "polling" {
                assert_eq!(median(i, side, 1), 0, "polling needs no Xen: {mode} {buf}");
            } else {
                assert!(median(i, side, 1) > 100, "an event channel per chunk: {mode} {buf}");
            }
        }
    }
    // The event channel's EL2 cost does not depend on the chunk's size; the guests' EL1 work
    // (writing and checking the chunk) grows with it, as on baremetal.
    for side in 0..2 {
        assert_eq!(median(2, side, 1), median(3, side, 1), "{groups:?}");
        for pair in [(0, 1), (2, 3)] {
            let (small, big) = (median(pair.0, side, 0), median(pair.1, side, 0));
            assert!(big > 7 * small && big < 9 * small, "{small} {big}");
        }
    }
}

#[test]
fn pathlen_is_refused_where_it_cannot_count() {
    let d = tempfile::tempdir().unwrap();
    let o = common::ivcbench(&[
        "run",
        "--hypervisor",
        "baremetal",
        "--experiment",
        "notif",
        "--pathlen",
        "--realtime",
        "--out",
        d.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--pathlen needs icount mode"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = common::ivcbench(&[
        "run",
        "--hypervisor",
        "baremetal",
        "--experiment",
        "notif",
        "--pathlen",
        "--target",
        "serial",
        "--port",
        "/dev/null",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("it is for --target qemu"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn baremetal_transfer_path_lengths_per_chunk() {
    let d = tempfile::tempdir().unwrap();
    let args = [&["--experiment", "transfer"][..], &SHORT_TRANSFER, &["--pathlen"]].concat();
    let c = run_ok("baremetal", d.path(), &args);
    let file = sidecar(&d.path().join("transfer/baremetal"));
    let tables = ivcbench::pathlen::transfer_tables(&file, &load(&file).unwrap(), tx(&c)).unwrap();
    let groups: Vec<(&str, u64)> = tables.iter().map(|(m, b, _)| (m.as_str(), *b)).collect();
    assert_eq!(groups, [("polling", 4096), ("polling", 32768), ("interrupt", 4096), ("interrupt", 32768)]);
    for (mode, buf, t) in &tables {
        // 2 recorded samples of 64K in chunks of `buf`, every chunk the same work.
        assert_eq!(t.samples, 2 * (64 << 10) / *buf as usize, "{mode} {buf}");
        for side in &t.el {
            assert_eq!(side[0].as_ref().unwrap().off_median, 0, "{mode} {buf}");
            assert_eq!(side[1].as_ref().unwrap().median, 0, "{mode} {buf}");
        }
    }
    // rx's window is one function (`take`) in both modes: the same check, the same count.
    let rx_el1 = |i: usize| tables[i].2.el[1][0].as_ref().unwrap().median;
    assert_eq!((rx_el1(0), rx_el1(1)), (rx_el1(2), rx_el1(3)), "rx's check, polling against interrupt");
    // Writing and checking a chunk is most of it: 8 times the buffer, 7 to 9 times the work.
    for pair in tables.chunks(2) {
        for side in 0..2 {
            let (small, big) = (pair[0].2.el[side][0].as_ref().unwrap().median, pair[1].2.el[side][0].as_ref().unwrap().median);
            assert!(big > 7 * small && big < 9 * small, "{small} {big}");
        }
    }
}

/// Guest images without markers (a hand-built hypervisor image from before them) leave the
/// plugin's file empty: the summary says so and what to do, instead of "empty file". Made here
/// by emptying a real run's file (the hand-built images that met it cannot run in CI).
#[test]
fn an_empty_path_length_file_is_explained() {
    let d = tempfile::tempdir().unwrap();
    let c = run_ok("baremetal", d.path(), &["--experiment", "notif", "--samples", "5", "--gap", "200us", "--pathlen"]);
    let capture = d.path().join("notif/baremetal");
    assert!(ivcbench::pathlen::summary(&capture, tx(&c)).unwrap().is_some());
    std::fs::write(sidecar(&capture), "").unwrap();
    let e = ivcbench::pathlen::summary(&capture, tx(&c)).unwrap_err().to_string();
    assert!(e.contains("no path-length marker ran") && e.contains("ivcbench config"), "{e}");
}
