//! The boards (ZCU104, ZCU102): every backend's guest builds for them, and the baremetal guest runs
//! on QEMU's model of the ZynqMP (xlnx-zcu102: Cortex-A53s, GIC-400, Cadence UARTs), entered at
//! EL2 as U-Boot enters it. The hypervisors' board configurations are covered by the unit tests of
//! crate::config; no physical board is reachable from here.

mod common;

use common::{check_notif, check_transfer, ivcbench, tx};
use ivc_proto::platform;
use ivc_proto::vm::{view, Hyp};

/// arm64 Image header: text_offset at byte 8, magic "ARM\x64" at byte 56.
fn text_offset(image: &[u8]) -> u64 {
    assert_eq!(&image[56..60], b"ARM\x64", "an arm64 Image");
    u64::from_le_bytes(image[8..16].try_into().unwrap())
}

#[test]
fn every_backend_builds_for_both_boards() {
    for (hyp, h) in
        [("baremetal", Hyp::Baremetal), ("xen", Hyp::Xen), ("bao", Hyp::Bao), ("jailhouse", Hyp::Jailhouse), ("sel4", Hyp::Sel4)]
    {
        for board in ["zcu104", "zcu102"] {
            let o = ivcbench(&["build", "--hypervisor", hyp, "--platform", board]);
            assert!(o.status.success(), "{hyp} on {board}: {}", String::from_utf8_lossy(&o.stderr));
            let path = String::from_utf8_lossy(&o.stdout).trim().to_string();
            let image = std::fs::read(&path).unwrap();
            let v = view(h, *platform::by_name(board).unwrap());
            // Where the loader (U-Boot's booti, Xen, Bao, `jailhouse cell load`, the CAmkES VMM)
            // puts it: RAM base + text_offset.
            assert_eq!(text_offset(&image), v.load_addr - v.ram_base, "{hyp} on {board}");
            // The capture header's `plat=` comes from the platform the image is built for.
            assert!(image.windows(board.len()).any(|w| w == board.as_bytes()), "{path} names {board}");
        }
    }
}

#[test]
fn baremetal_notif_runs_on_the_zynqmp_model() {
    let d = tempfile::tempdir().unwrap();
    let c = common::run_ok("baremetal", d.path(), &["--experiment", "notif", "--platform", "zcu104", "--samples", "100", "--gap", "200us"]);
    let r = tx(&c);
    assert_eq!(r.header.platform, "zcu104");
    check_notif(r, 100, 10);
    let meta = std::fs::read_to_string(d.path().join("notif/baremetal.meta.json")).unwrap();
    assert!(meta.contains("xlnx-zcu102"), "the metadata names the model it ran on:\n{meta}");
}

#[test]
fn baremetal_transfer_with_interference_runs_on_the_zynqmp_model() {
    let d = tempfile::tempdir().unwrap();
    let args = [&["--experiment", "transfer+interf", "--platform", "zcu102"][..], &common::SHORT_TRANSFER].concat();
    let c = common::run_ok("baremetal", d.path(), &args);
    let r = tx(&c);
    assert_eq!(r.header.platform, "zcu102");
    check_transfer(r, 2, 1, 64 << 10, &[4 << 10, 32 << 10]);
}
