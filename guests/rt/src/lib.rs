//! ivc-rt: the bare-metal runtime of ivcbench's guests.
//!
//! Boots from an arm64 Image header at EL2 or EL1 (dropping to EL1), turns on the MMU with an
//! identity map of the platform (RAM normal cacheable, MMIO device), installs exception vectors and
//! hands over to the app's `main`. Drivers, one module each: GICv2/v3, generic timer, PL011 console,
//! PSCI (via `smccc`), cache and PMU helpers.
//!
//! Platform constants come from `ivc_proto::platform`, chosen by a cargo feature (`qemu-virt`, the
//! default, `zcu104` or `zcu102`).
//!
//! An app declares its `fn main(dtb: usize) -> !` with [`entry!`] and links with the script this
//! crate's build.rs writes: its own build.rs prints `cargo:rustc-link-arg=-Tivc-rt.ld`. The ELF
//! turned into a flat file (`objcopy -O binary`, or ivcbench's own converter) is an arm64 Image
//! that QEMU's `-kernel` and Xen load at the platform's `load_addr`. See examples/smoke.rs.
#![no_std]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod boot;
pub mod cache;
pub mod console;
pub mod cpu;
pub mod exceptions;
pub mod gic;
pub mod irq;
pub mod mmu;
pub mod pmu;
pub mod probe;
pub mod psci;
pub mod semihosting;
pub mod timer;
pub mod uart;

pub use timer as counter;

use ivc_proto::platform::Platform;
use ivc_proto::vm::Hyp;

#[cfg(all(feature = "zcu104", feature = "zcu102"))]
compile_error!("ivc-rt: choose one board feature, zcu104 or zcu102");

/// The board the image is built for (cargo features `qemu-virt` (default), `zcu104`, `zcu102`).
#[cfg(feature = "zcu104")]
pub const BOARD: Platform = ivc_proto::platform::ZCU104;
#[cfg(all(feature = "zcu102", not(feature = "zcu104")))]
pub const BOARD: Platform = ivc_proto::platform::ZCU102;
#[cfg(not(any(feature = "zcu104", feature = "zcu102")))]
pub const BOARD: Platform = ivc_proto::platform::QEMU_VIRT;

/// The hypervisor whose VM the image runs in (features `hyp-bao`, `hyp-xen`, `hyp-jailhouse`,
/// `hyp-sel4`; none: bare metal).
pub const HYP: Hyp = if cfg!(feature = "hyp-xen") {
    Hyp::Xen
} else if cfg!(feature = "hyp-bao") {
    Hyp::Bao
} else if cfg!(feature = "hyp-jailhouse") {
    Hyp::Jailhouse
} else if cfg!(feature = "hyp-sel4") {
    Hyp::Sel4
} else {
    Hyp::Baremetal
};

/// The machine as this image sees it: the board, or the VM a hypervisor makes of it.
pub const PLATFORM: Platform = ivc_proto::vm::view(HYP, BOARD);

extern "Rust" {
    /// The app's entry, defined by [`entry!`].
    fn ivc_main(dtb: usize) -> !;
}

/// Core 0, from boot with the MMU on and BSS zeroed. `el` is the exception level we were entered
/// at: from EL2 the firmware's PSCI answers SMC, from EL1 (bare QEMU or a hypervisor) HVC.
pub(crate) extern "C" fn rt_primary_main(dtb: usize, el: u64) -> ! {
    boot::set_entry_el(el as u8);
    psci::set_conduit(if el == 2 { psci::Conduit::Smc } else { psci::Conduit::Hvc });
    // SAFETY: `ivc_main` is defined exactly once by the app through `entry!`, with this signature.
    unsafe { ivc_main(dtb) }
}

/// Declares the app's `fn main(dtb: usize) -> !`, run on core 0 with IRQs masked and the GIC not
/// yet initialised (the backend knows where the GIC is).
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[export_name = "ivc_main"]
        fn __ivc_main(dtb: usize) -> ! {
            $main(dtb)
        }
    };
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    console::emergency(format_args!("ivc-guest panic: {info}"));
    psci::power_off()
}
