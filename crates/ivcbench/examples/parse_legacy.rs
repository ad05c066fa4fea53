//! Throughput of the artifact-table parsers alone, on a directory written by `gen_legacy`:
//! `cargo run --release -p ivcbench --example parse_legacy -- DIR`
//!
//! Files are read first (so the figure is parsing, not the disk), then parsed by 2 threads, as
//! `ivcbench report` does; prints MB/s overall and for one thread on one file of each kind.

use ivcbench::report::legacy::{parse_notif, parse_transfer};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn read_dir(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    names.sort();
    names.iter().map(std::fs::read).collect()
}

fn mb_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: parse_legacy DIR   (a directory written by gen_legacy)");
        std::process::exit(2);
    };
    let dir = Path::new(&dir);
    let notif = read_dir(&dir.join("notif"))?;
    let transfer = read_dir(&dir.join("transfer"))?;
    let (notif_bytes, transfer_bytes) = (notif.iter().map(Vec::len).sum::<usize>(), transfer.iter().map(Vec::len).sum::<usize>());

    // One thread, one file of each kind: the per-core speed, best of 3 (the first run also pays
    // for the allocator's first page faults).
    for (kind, file) in [("notif", &notif[0]), ("transfer", &transfer[0])] {
        let (mut ok, mut s) = (true, f64::MAX);
        for _ in 0..3 {
            let t = Instant::now();
            ok &= if kind == "notif" { parse_notif(file).is_ok() } else { parse_transfer(file).is_ok() };
            s = s.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{kind:<8} 1 file,  1 thread : {:>6.1} MB in {:>6.3} s = {:>6.0} MB/s (ok: {ok})",
            file.len() as f64 / 1e6,
            s,
            mb_s(file.len(), s)
        );
    }

    // Everything, 2 threads taking the next file as they finish (as the report's loader does).
    let jobs: Vec<(bool, &[u8])> =
        notif.iter().map(|f| (true, f.as_slice())).chain(transfer.iter().map(|f| (false, f.as_slice()))).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(&(is_notif, bytes)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let ok = if is_notif { parse_notif(bytes).is_ok() } else { parse_transfer(bytes).is_ok() };
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let s = t.elapsed().as_secs_f64();
    let total = notif_bytes + transfer_bytes;
    println!(
        "all      {} files, 2 threads: {:>6.1} MB in {:>6.3} s = {:>6.0} MB/s ({} failed)",
        jobs.len(),
        total as f64 / 1e6,
        s,
        mb_s(total, s),
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}
