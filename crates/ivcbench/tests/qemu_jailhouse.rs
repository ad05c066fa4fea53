//! Jailhouse on the QEMU testbed. The refusals run everywhere (CI included): what a user meets
//! without the artefacts, or with a cell Jailhouse cannot give. The live runs need a Jailhouse, a
//! root-cell kernel and compiled cells that you build (docs/jailhouse.md; none of it ships with
//! ivcbench), given by environment variables; without them they print a skip line:
//!   IVCBENCH_JAILHOUSE_TREE          a built Jailhouse tree
//!   IVCBENCH_JAILHOUSE_KERNEL        the root cell's Linux Image
//!   IVCBENCH_JAILHOUSE_CELLS         root/tx/rx.cell of `ivcbench config ... --experiment notif`
//!   IVCBENCH_JAILHOUSE_CELLS_INTERF  root/tx/rx/interf.cell of `... --experiment notif+interf`

mod common;

use common::{check_notif, check_transfer, ivcbench, run_ok, tx};

fn stderr_of(args: &[&str]) -> String {
    let o = ivcbench(args);
    assert!(!o.status.success(), "ivcbench {args:?} must fail");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn jailhouse_refusals_say_what_to_pass() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec!["run", "--hypervisor", "jailhouse", "--out", out];
        a.extend_from_slice(extra);
        stderr_of(&a)
    };
    let e = run(&["--experiment", "notif"]);
    assert!(e.contains("pass --jailhouse <tree>") && e.contains("docs/jailhouse.md"), "{e}");
    let e = run(&["--experiment", "notif", "--jailhouse", out]);
    assert!(e.contains("pass --jailhouse-kernel"), "{e}");
    let e = run(&["--experiment", "notif", "--jailhouse", out, "--jailhouse-kernel", out]);
    assert!(e.contains("pass --jailhouse-cells"), "{e}");
    let e = run(&["--experiment", "notif", "--jailhouse", out, "--jailhouse-kernel", "/nonexistent/Image", "--jailhouse-cells", out]);
    assert!(e.contains("the root cell's kernel /nonexistent/Image cannot be read (pass --jailhouse-kernel"), "{e}");
    let e = run(&["--experiment", "notif+interf+col"]);
    assert!(e.contains("mainline Jailhouse has no cache colouring"), "{e}");
    let e = run(&["--experiment", "notif", "--platform", "zcu104"]);
    assert!(e.contains("qemu-virt testbed only"), "{e}");
    // Nothing was captured for any of them.
    assert!(!d.path().join("notif").exists());
    // The configuration side: the coloured cells are the fork's, asked for by name.
    let e = stderr_of(&["config", "--hypervisor", "jailhouse", "--experiment", "notif+col", "--platform", "zcu104", "--out", out]);
    assert!(e.contains("pass --jailhouse-colouring"), "{e}");
}

/// The user's artefacts, or a skip line.
fn live(cells_var: &str) -> Option<Vec<String>> {
    let vars = ["IVCBENCH_JAILHOUSE_TREE", "IVCBENCH_JAILHOUSE_KERNEL", cells_var];
    let got: Vec<Option<String>> = vars.iter().map(|v| std::env::var(v).ok()).collect();
    if got.iter().any(|v| v.is_none()) {
        eprintln!("SKIP: live Jailhouse run: set {} (docs/jailhouse.md)", vars.join(", "));
        return None;
    }
    let g: Vec<String> = got.into_iter().flatten().collect();
    Some(vec!["--jailhouse".into(), g[0].clone(), "--jailhouse-kernel".into(), g[1].clone(), "--jailhouse-cells".into(), g[2].clone()])
}

#[test]
fn jailhouse_live_notif_and_transfer() {
    let Some(a) = live("IVCBENCH_JAILHOUSE_CELLS") else { return };
    let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
    let d = tempfile::tempdir().unwrap();
    let mut args = vec!["--experiment", "notif", "--samples", "50", "--gap", "1ms"];
    args.extend_from_slice(&a);
    let c = run_ok("jailhouse", d.path(), &args);
    let r = tx(&c);
    assert_eq!(r.header.get("cpus"), Some("tx:cell@cpu1,rx:cell@cpu2,interf:cell@cpu3"));
    check_notif(r, 50, 10);
    let mut args = vec!["--experiment", "transfer", "--samples", "2", "--warmups", "1", "--total", "256K", "--buffers", "4K,256K"];
    args.extend_from_slice(&a);
    check_transfer(tx(&run_ok("jailhouse", d.path(), &args)), 2, 1, 256 << 10, &[4 << 10, 256 << 10]);
}

#[test]
fn jailhouse_live_notif_with_the_interferer_on_record() {
    let Some(a) = live("IVCBENCH_JAILHOUSE_CELLS_INTERF") else { return };
    let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
    let d = tempfile::tempdir().unwrap();
    let mut args = vec!["--experiment", "notif+interf", "--samples", "50", "--gap", "1ms"];
    args.extend_from_slice(&a);
    let c = run_ok("jailhouse", d.path(), &args);
    let r = tx(&c);
    check_notif(r, 50, 10);
    // The interferer's passes reached tx's capture through the status page.
    let passes = r.progress.iter().rev().find_map(|p| p.iter().find(|(k, _)| k == "interf_passes").map(|(_, v)| v.clone()));
    assert!(passes.is_some_and(|p| p.parse::<u64>().unwrap() > 0), "{:?}", r.progress);
}
