//! Writes the report benchmark's input: capture tables in the RTAS'23 artifact's format, at the
//! size of a full campaign. `cargo run --release -p ivcbench --example gen_legacy -- DIR`
//!
//! - DIR/notif/{bao,xen,jailhouse,sel4}{,+col,+interf,+interf+col,+interf+col+hypcol}: 20 files,
//!   each 4 tables × 20,000 rows of irqlat, 5 PMU event columns and cycles (printf `%20d`);
//! - DIR/transfer/{bao,xen,jailhouse,sel4}{,+interf}: 8 files, each a polling and an interrupt block
//!   × 20,000 rows × 8 buffer sizes.
//!
//! Values come from a fixed-seed generator, so every run writes the same bytes.

use std::io::{BufWriter, Write};
use std::path::Path;

const HYPS: [&str; 4] = ["bao", "xen", "jailhouse", "sel4"];
const ROWS: usize = 20_000;

/// xorshift64*: plenty for plausible numbers, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Around `base`, with a long tail now and then.
    fn latency(&mut self, base: u64) -> u64 {
        let r = self.next();
        base + r % (base / 4 + 1) + if r.is_multiple_of(97) { r % (base * 3) } else { 0 }
    }
}

fn notif(path: &Path, rng: &mut Rng, base: u64) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let groups = [
        ["l1$i_miss_el1", "l1$i_miss_el2", "l1$d_miss_el1", "l1$d_miss_el2", "l2$d_miss_el1"],
        ["exceptions_el1", "exceptions_el2", "irqs_el1", "irqs_el2", "l2$d_miss_el2"],
        ["tlb_il1_miss_el1", "tlb_il1_miss_el2", "tlb_dl1_miss_el1", "tlb_dl1_miss_el2", "bus_acc_el1"],
        ["bus_acc_el2", "inst_retired_el1", "inst_retired_el2", "br_mis_pred_el1", "br_mis_pred_el2"],
    ];
    writeln!(w, "Press 's' to start...")?;
    for names in groups {
        writeln!(w, "{}", "-".repeat(140))?;
        write!(w, "{:>20}", "irqlat")?;
        for n in names {
            write!(w, "{n:>20}")?;
        }
        writeln!(w, "{:>20}", "cycles")?;
        for _ in 0..ROWS {
            let lat = rng.latency(base);
            write!(w, "{lat:>20}")?;
            for _ in 0..5 {
                write!(w, "{:>20}", rng.next() % 200)?;
            }
            writeln!(w, "{:>20}", lat * 12 + rng.next() % 50)?;
        }
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn transfer(path: &Path, rng: &mut Rng) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let bufs = ["4K", "32K", "256K", "512K", "1M", "2M", "4M", "16M"];
    for mode in ["polling", "interrupt"] {
        writeln!(w, "<- {mode}, 16M, time")?;
        for b in bufs {
            write!(w, "{b:>19}")?;
        }
        writeln!(w)?;
        for _ in 0..ROWS {
            for (i, _) in bufs.iter().enumerate() {
                // 16 MiB in roughly 10-40 ms at 100 MHz, slower for small buffers.
                write!(w, "{:>19}", rng.latency(1_000_000 + 2_000_000 / (i as u64 + 1)))?;
            }
            writeln!(w)?;
        }
        writeln!(w, "->")?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: gen_legacy DIR");
        std::process::exit(2);
    };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir.join("notif"))?;
    std::fs::create_dir_all(dir.join("transfer"))?;
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let (mut notif_bytes, mut transfer_bytes) = (0, 0);
    for (i, hyp) in HYPS.iter().enumerate() {
        for suffix in ["", "+col", "+interf", "+interf+col", "+interf+col+hypcol"] {
            notif_bytes += notif(&dir.join("notif").join(format!("{hyp}{suffix}")), &mut rng, 400 + 150 * i as u64)?;
        }
        for suffix in ["", "+interf"] {
            transfer_bytes += transfer(&dir.join("transfer").join(format!("{hyp}{suffix}")), &mut rng)?;
        }
    }
    println!(
        "wrote 20 notif files ({:.0} MB) and 8 transfer files ({:.0} MB) under {}: {:.0} MB in all",
        notif_bytes as f64 / 1e6,
        transfer_bytes as f64 / 1e6,
        dir.display(),
        (notif_bytes + transfer_bytes) as f64 / 1e6
    );
    Ok(())
}
