//! `ivcbench config` end to end: the files a cell is made of, the role images with the cell's
//! parameters patched in, and the refusals a user meets. The generators' structure and consistency
//! are unit-tested in crates/ivcbench/src/config/.

mod common;

use common::ivcbench;
use ivc_proto::params::{self, flag, Params, Role};
use std::path::Path;

/// The parameter block inside an image.
fn params_of(image: &Path) -> Params {
    let bytes = std::fs::read(image).unwrap();
    let at = bytes.windows(params::MAGIC.len()).position(|w| w == params::MAGIC).expect("a parameter block");
    Params::decode(bytes[at..at + params::SIZE].try_into().unwrap()).unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_bao_cell_is_its_config_and_one_patched_image_per_role() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("cell");
    let args = ["config", "--hypervisor", "bao", "--experiment", "notif+interf", "--platform", "zcu104", "--out", out.to_str().unwrap()];
    let o = ivcbench(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = std::fs::read_to_string(out.join("config.c")).unwrap();
    for role in [Role::Tx, Role::Rx, Role::Interf] {
        let image = out.canonicalize().unwrap().join(format!("images/{}.bin", role.name()));
        // Bao's build includes the image by the path config.c names.
        assert!(config.contains(&format!("VM_IMAGE({}_image, \"{}\")", role.name(), image.display())), "{config}");
        let p = params_of(&image);
        assert_eq!((p.role, p.experiment.name(), p.config_str()), (role, "notif", "+interf"));
        assert!(p.has(flag::INTERF), "the cell has an interferer");
        assert!(!p.has(flag::POWER_OFF), "a board keeps running after the end record");
    }
    // A cell directory is never overwritten by accident.
    let again = ivcbench(&args);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("is not empty: pass --force"), "{}", stderr(&again));
}

#[test]
fn a_baremetal_board_cell_is_one_image_and_its_boot_script() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("cell");
    let o = ivcbench(&[
        "config",
        "--hypervisor",
        "baremetal",
        "--experiment",
        "transfer",
        "--platform",
        "zcu102",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = params_of(&out.join("images/baremetal.bin"));
    assert_eq!((p.role, p.experiment.name(), p.config_str()), (Role::All, "transfer", ""));
    let script = std::fs::read_to_string(out.join("boot.cmd")).unwrap();
    assert!(script.contains("fatload mmc 0 0x20080000 images/baremetal.bin"), "{script}");
}

#[test]
fn refusals_say_why() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("x");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--hypervisor", "xen", "--experiment", "notif+col", "--platform", "zcu104"], "--xen-colouring"),
        (&["--hypervisor", "jailhouse", "--experiment", "notif+col", "--platform", "zcu104"], "colour"),
        (&["--hypervisor", "baremetal", "--experiment", "notif+col", "--platform", "zcu104"], "no hypervisor to colour memory"),
        (
            &["--hypervisor", "bao", "--experiment", "notif", "--platform", "zcu106"],
            "unknown platform `zcu106` (known: qemu-virt, zcu104, zcu102)",
        ),
        (&["--hypervisor", "bao", "--experiment", "transfer+col", "--platform", "zcu104"], "`transfer` and `transfer+interf` only"),
    ];
    for (args, why) in cases {
        let mut all = vec!["config", "--no-images", "--out", o];
        all.extend_from_slice(args);
        let r = ivcbench(&all);
        assert!(!r.status.success(), "{all:?} was accepted");
        assert!(stderr(&r).contains(why), "{all:?}: {}", stderr(&r));
    }
}

/// Boards and farms boot the images `config` writes, so that is where their PMU events come from:
/// tx's image carries them (rx's none), transfer refuses them before writing anything.
#[test]
fn pmu_events_go_into_txs_image_for_boards() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("cell");
    let o = ivcbench(&[
        "config",
        "--hypervisor",
        "bao",
        "--experiment",
        "notif",
        "--platform",
        "zcu104",
        "--out",
        out.to_str().unwrap(),
        "--pmu-events",
        "artifact",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tx = params_of(&out.join("images/tx.bin"));
    assert_eq!(tx.pmu, ivc_proto::pmu::Selection::artifact());
    assert!(!tx.has(flag::PMU_PMCEID_ONLY), "a board's core counts implementation-defined events such as EXC_IRQ");
    assert!(params_of(&out.join("images/rx.bin")).pmu.is_empty());
    let t = d.path().join("transfer");
    let o = ivcbench(&[
        "config",
        "--hypervisor",
        "bao",
        "--experiment",
        "transfer",
        "--platform",
        "zcu104",
        "--out",
        t.to_str().unwrap(),
        "--pmu-events",
        "inst_ret",
    ]);
    assert!(!o.status.success() && stderr(&o).contains("--pmu-events is for notif"), "{}", stderr(&o));
    assert!(!t.exists() || std::fs::read_dir(&t).unwrap().next().is_none(), "nothing written");
}
