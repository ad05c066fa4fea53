//! `run --hypervisor bao` without Bao (which CI cannot build: it is not shipped): a stand-in
//! bao.bin made of what Bao's build puts in one, the VM images `ivcbench config` writes (Bao
//! includes them verbatim with `.incbin`), behind code that prints nothing, as a Bao stopped before
//! its console does. Real images, real QEMU; only Bao itself is missing. Runs with Bao are by hand
//! (docs/bao.md).

mod common;

use common::ivcbench;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A stand-in bao.bin for `cell`: a page of zeros (undefined instructions: nothing is printed),
/// then the cell's VM images as `ivcbench config` wrote them.
fn stand_in(dir: &Path, cell: &str) -> PathBuf {
    let out = dir.join("cells").join(cell);
    let o = ivcbench(&["config", "--hypervisor", "bao", "--experiment", cell, "--platform", "qemu-virt", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut bin = vec![0u8; 4096];
    for role in ["tx", "rx"] {
        bin.extend(std::fs::read(out.join("images").join(format!("{role}.bin"))).unwrap());
    }
    let path = dir.join(format!("bao-{cell}.bin"));
    std::fs::write(&path, bin).unwrap();
    path
}

#[test]
fn a_bao_bin_for_another_cell_is_refused_and_a_failed_run_leaves_no_work_directory() {
    let d = tempfile::tempdir().unwrap();
    let bao = stand_in(d.path(), "transfer");
    let root = d.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let run = |cell: &str| {
        Command::new(env!("CARGO_BIN_EXE_ivcbench"))
            .args(["run", "--hypervisor", "bao", "--bao", bao.to_str().unwrap(), "--experiment", cell])
            .args(["--samples", "1", "--boot-timeout", "2s", "--out", d.path().join("exp").to_str().unwrap()])
            // The run's work directory goes under this root's target/ivcbench/run.
            .env("IVCBENCH_ROOT", &root)
            .output()
            .unwrap()
    };

    // transfer's images (the same guest, patched for transfer) in a bao.bin given for notif.
    let o = run("notif");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("was built for transfer") && err.contains("not for notif"), "{err}");

    // The right cell boots, prints nothing, and fails; its work directory goes with it.
    let o = run("transfer");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("nothing at all came out within 2 s"), "{err}");
    let work = root.join("target/ivcbench/run");
    let left: Vec<_> = std::fs::read_dir(&work).map(|r| r.map(|e| e.unwrap().file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "a failed run left {left:?} in {}", work.display());
}
