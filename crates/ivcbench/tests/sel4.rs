//! seL4 on the QEMU testbed (`run --hypervisor sel4 --sel4 IMAGE`): the image checks and the
//! parameter patching, on stand-in system images made of the real seL4 guest images that
//! `ivcbench config --hypervisor sel4 --platform qemu-virt` writes, packed the way seL4's build
//! packs them (newc CPIO archives inside an ELF, the file server's archive nested in the
//! loader's). seL4 itself is not in CI (it is built by hand, docs/sel4.md): that part is a stand-in,
//! the guest images inside are real. With `IVCBENCH_SEL4_IMAGE` set to a hand-built capDL loader
//! image of the notif cell, the last test runs it under seL4 on QEMU.

mod common;

use common::ivcbench;
use ivc_proto::params::{self, flag, Params, Role};
use ivcbench::names::{Configuration, Hypervisor};
use ivcbench::qemu::Clock;
use ivcbench::run::RunSpec;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One newc CPIO entry, as seL4's build tools write them.
fn newc(name: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
        1,
        0o100644,
        0,
        0,
        1,
        0,
        data.len(),
        0,
        0,
        0,
        0,
        name.len() + 1,
        0
    )
    .into_bytes();
    v.extend_from_slice(name.as_bytes());
    v.push(0);
    v.resize(v.len().next_multiple_of(4), 0);
    v.extend_from_slice(data);
    v.resize(v.len().next_multiple_of(4), 0);
    v
}

/// A stand-in system image holding `guests` (name, image) in a nested archive, as seL4's is.
fn system_image(guests: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut fs: Vec<u8> = guests.iter().flat_map(|(n, d)| newc(n, d)).collect();
    fs.extend(newc("TRAILER!!!", b""));
    let mut loader = b"component ELF with its archive: ".to_vec();
    loader.extend(fs);
    let mut img = b"\x7fELF\x02\x01\x01\0 elfloader ".to_vec();
    img.extend(newc("kernel.elf", b"\x7fELF seL4"));
    img.extend(newc("capdl-loader", &loader));
    img.extend(newc("TRAILER!!!", b""));
    img
}

/// The role images `ivcbench config` writes for `hyp`'s `cell` on qemu-virt.
fn role_images(dir: &Path, hyp: &str, cell: &str) -> Vec<(Role, Vec<u8>)> {
    let out = dir.join(format!("{hyp}-{cell}"));
    let o = ivcbench(&["config", "--hypervisor", hyp, "--experiment", cell, "--platform", "qemu-virt", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut roles = vec![Role::Tx, Role::Rx];
    if cell.contains("+interf") {
        roles.push(Role::Interf);
    }
    roles.into_iter().map(|r| (r, std::fs::read(out.join(format!("images/{}.bin", r.name()))).unwrap())).collect()
}

fn named(images: &[(Role, Vec<u8>)]) -> Vec<(&'static str, Vec<u8>)> {
    images.iter().map(|(r, d)| (r.name(), d.clone())).collect()
}

fn spec(cell: &str, image: Option<PathBuf>) -> RunSpec {
    RunSpec {
        hypervisor: Hypervisor::Sel4,
        config: Configuration::parse(cell).unwrap(),
        platform: &ivc_proto::platform::QEMU_VIRT,
        params: Params { samples: 33, warmups: 3, ..Params::DEFAULT },
        out_root: PathBuf::from("unused"),
        force: false,
        clock: Clock::Icount(4),
        boot_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        progress: false,
        xen: None,
        bao: None,
        jailhouse: Default::default(),
        pathlen: false,
        sel4: image,
    }
}

/// Every parameter block in `image`, in order.
fn blocks(image: &[u8]) -> Vec<Params> {
    let hits: Vec<usize> = image.windows(params::MAGIC.len()).enumerate().filter(|(_, w)| *w == params::MAGIC).map(|(i, _)| i).collect();
    hits.iter().map(|&at| Params::decode(image[at..at + params::SIZE].try_into().unwrap()).unwrap()).collect()
}

#[test]
fn the_runs_parameters_are_patched_into_each_vm_image_keeping_its_role() {
    let d = tempfile::tempdir().unwrap();
    let guests = role_images(d.path(), "sel4", "notif+interf");
    let mut img = system_image(&named(&guests));
    let before = img.clone();
    let roles = ivcbench::sel4::patch_image(&mut img, &spec("notif+interf", None)).unwrap();
    assert_eq!(roles, [Role::Tx, Role::Rx, Role::Interf]);
    let got = blocks(&img);
    assert_eq!(got.iter().map(|p| p.role).collect::<Vec<_>>(), [Role::Tx, Role::Rx, Role::Interf]);
    for p in &got {
        assert_eq!((p.samples, p.warmups, p.experiment.name(), p.config_str()), (33, 3, "notif", "+interf"));
        assert!(p.has(flag::INTERF));
        assert!(!p.has(flag::POWER_OFF), "a VM cannot turn the machine off; ivcbench stops QEMU");
    }
    // Only the parameter blocks changed, and the image kept its size.
    assert_eq!(img.len(), before.len());
    let changed = img.iter().zip(&before).filter(|(a, b)| a != b).count();
    assert!(changed > 0 && changed <= 3 * params::SIZE, "{changed} bytes changed");
}

#[test]
fn an_image_built_for_another_cell_or_hypervisor_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let three = role_images(d.path(), "sel4", "notif+interf");
    let two: Vec<(Role, Vec<u8>)> = three[..2].to_vec();
    let refuse = |img: Vec<u8>, cell: &str| -> String {
        let mut img = img;
        let before = img.clone();
        let e = format!("{:#}", ivcbench::sel4::patch_image(&mut img, &spec(cell, None)).unwrap_err());
        assert_eq!(img, before, "nothing is patched in a refused image");
        e
    };
    let e = refuse(system_image(&named(&three)), "notif");
    assert!(e.contains("holds VMs [\"tx\", \"rx\", \"interf\"], but notif needs tx, rx and no interf"), "{e}");
    let e = refuse(system_image(&named(&two)), "transfer+interf");
    assert!(e.contains("but transfer+interf needs tx, rx and interf"), "{e}");
    // Bao's qemu-virt images are linked 512 KiB above the start of RAM; seL4's VMM enters there.
    let bao = role_images(d.path(), "bao", "notif");
    let e = refuse(system_image(&named(&bao)), "notif");
    assert!(e.contains("`tx` inside was not built for seL4 on qemu-virt"), "{e}");
    // A VM image under another role's name.
    let swapped = vec![("tx", two[1].1.clone()), ("rx", two[0].1.clone())];
    let e = refuse(system_image(&swapped), "notif");
    assert!(e.contains("`tx` inside is a rx image"), "{e}");
    // Not a seL4 image at all.
    let e = refuse(two[0].1.clone(), "notif");
    assert!(e.contains("not a seL4 system image: no ELF header"), "{e}");
    let mut no_kernel = b"\x7fELF".to_vec();
    no_kernel.extend(newc("tx", &two[0].1));
    let e = refuse(no_kernel, "notif");
    assert!(e.contains("no seL4 kernel (kernel.elf)"), "{e}");
}

#[test]
fn run_refuses_clearly_before_qemu_starts() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let run = |extra: &[&str]| -> String {
        let mut a = vec!["run", "--hypervisor", "sel4", "--experiment", "notif", "--samples", "5", "--out", out.to_str().unwrap()];
        a.extend_from_slice(extra);
        let o = ivcbench(&a);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = run(&[]);
    assert!(e.contains("pass --sel4 PATH") && e.contains("docs/sel4.md"), "{e}");
    let missing = d.path().join("no-such-image");
    let e = run(&["--sel4", missing.to_str().unwrap()]);
    assert!(e.contains("reading the seL4 image") && e.contains("no-such-image"), "{e}");
    let img = d.path().join("capdl-loader-image");
    std::fs::write(&img, system_image(&named(&role_images(d.path(), "sel4", "notif+interf")))).unwrap();
    let e = run(&["--sel4", img.to_str().unwrap()]);
    assert!(e.contains("patching the VM images inside it") && e.contains("but notif needs tx, rx and no interf"), "{e}");
    // No capture is left behind by a run that never started.
    assert!(!out.join("notif/sel4").exists());
    // Colour is refused under the CAmkES VMM, and boards run through their serial console.
    let o = ivcbench(&["run", "--hypervisor", "sel4", "--experiment", "notif+col", "--out", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no cache colouring"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ivcbench(&["run", "--hypervisor", "sel4", "--experiment", "notif", "--platform", "zcu104", "--out", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("qemu-virt testbed only"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Live: a hand-built seL4 image of the notif cell (docs/sel4.md) under seL4 on QEMU.
#[test]
fn notif_runs_under_sel4_when_an_image_is_given() {
    let Ok(image) = std::env::var("IVCBENCH_SEL4_IMAGE") else {
        eprintln!("skipped: set IVCBENCH_SEL4_IMAGE to a capDL loader image of the sel4 notif cell (docs/sel4.md) to run it");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let c = common::run_ok("sel4", d.path(), &["--experiment", "notif", "--samples", "20", "--sel4", &image]);
    let tx = common::tx(&c);
    assert_eq!(tx.header.get("hyp"), Some("sel4"));
    common::check_notif(tx, 20, 10);
}

/// Live: transfer in interrupt mode with 4 KiB chunks, where tx rings again as soon as rx has
/// acknowledged: the tree's vGIC dropped such a doorbell before the generated VMM module kept it
/// for rx's EOI. Same image as the notif cell (the base cells share one).
#[test]
fn back_to_back_doorbells_are_not_lost_under_sel4_when_an_image_is_given() {
    let Ok(image) = std::env::var("IVCBENCH_SEL4_IMAGE") else {
        eprintln!("skipped: set IVCBENCH_SEL4_IMAGE to a capDL loader image of the sel4 notif cell (docs/sel4.md) to run it");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let args =
        ["--experiment", "transfer", "--samples", "2", "--warmups", "1", "--total", "256K", "--buffers", "4K", "--idle-timeout", "600s"];
    let c = common::run_ok("sel4", d.path(), &[&args[..], &["--sel4", &image]].concat());
    common::check_transfer(common::tx(&c), 2, 1, 256 << 10, &[4 << 10]);
}
