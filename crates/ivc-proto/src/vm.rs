//! What a VM sees under each hypervisor: its address map, devices and doorbell numbers.
//!
//! A guest image is linked for one [`view`] of one board, and the host writes hypervisor
//! configurations that give the VM exactly that view, so both sides take it from here.

use crate::platform::{Gic, Platform, UartKind};

/// The hypervisors whose VMs see something other than the board itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hyp {
    Baremetal,
    Bao,
    Xen,
    Jailhouse,
    Sel4,
}

/// The machine a guest built for `hyp` on `board` runs on.
///
/// - baremetal: the board.
/// - Bao: the board's own addresses. Bao's configuration places each VM's RAM at the board's
///   [`Platform::vm_ram`] (guest-physical), passes the UART through and puts the virtual GIC where
///   the physical one is, so a guest linked for the board runs unchanged.
/// - Xen (dom0less, 4.17): Xen's fixed guest layout on every board: RAM at 0x40000000, the vGIC
///   at 0x03001000 (v2 or v3 as the board's GIC), the vpl011 at 0x22000000.
/// - Jailhouse and seL4: the board's addresses, as their configurations give them.
pub const fn view(hyp: Hyp, board: Platform) -> Platform {
    match hyp {
        Hyp::Xen => Platform {
            ram_base: xen::RAM_BASE,
            ram_size: 0x4000_0000,
            load_addr: xen::RAM_BASE + 0x8_0000,
            uart_kind: UartKind::Pl011,
            uart_base: xen::VPL011,
            uart2_base: None,
            uart_irqs: [xen::VPL011_IRQ, xen::VPL011_IRQ],
            gic: match board.gic {
                Gic::V2 { .. } => Gic::V2 { gicd: xen::GICD, gicc: xen::GICC },
                Gic::V3 { .. } => Gic::V3 { gicd: xen::GICD, gicr: xen::GICR },
            },
            mmio: (xen::GICD, xen::VPL011 + 0x1000 - xen::GICD),
            vm_ram: (xen::RAM_BASE, 0x0400_0000),
            interf_base: xen::RAM_BASE + 0x0200_0000,
            shmem_base: xen::RAM_BASE + 0x0400_0000,
            ..board
        },
        _ => board,
    }
}

/// Xen's dom0less guest layout (xen/include/public/arch-arm.h: GUEST_RAM0_BASE, GUEST_GICD_BASE,
/// GUEST_GICC_BASE, GUEST_GICV3_GICR0_BASE, GUEST_PL011_BASE, GUEST_VPL011_SPI).
pub mod xen {
    pub const RAM_BASE: u64 = 0x4000_0000;
    pub const GICD: u64 = 0x0300_1000;
    pub const GICC: u64 = 0x0300_2000;
    pub const GICR: u64 = 0x0302_0000;
    pub const VPL011: u64 = 0x2200_0000;
    pub const VPL011_IRQ: u32 = 32;
    /// The PPI that Xen raises for pending events (the DT's hypervisor node says so to Linux).
    pub const EVTCHN_PPI: u32 = 31;
}

/// Bao's inter-VM communication (IPC) object, as ivcbench's Bao configurations set it up.
///
/// Bao's hypercall ABI: `hvc #0` with x0 = the SMCCC function id of the vendor-hypervisor service
/// call HC_IPC, x1 = the caller's IPC object index, x2 = the event (an index into the receiver's
/// list of IPC interrupts); x0 returns 0 on success.
pub mod bao {
    /// SMCCC fast call, 64-bit, owner 6 (vendor hypervisor), function 1 (HC_IPC).
    pub const HC_IPC: u64 = 0x8600_0001;
    /// The one IPC object: tx's and rx's index of it.
    pub const IPC_ID: u64 = 0;
    /// The shared-memory object behind it in the configuration's shmem list.
    pub const SHMEM_ID: u64 = 0;
    /// The event tx raises: the first interrupt of rx's IPC.
    pub const EVENT: u64 = 0;
    /// The virtual interrupt rx's IPC raises (an SPI no passed-through device uses on any
    /// supported board).
    pub const IPC_IRQ: u32 = 52;
}

/// The virtual timer's PPI (the guests sleep on it) on every platform.
pub const VTIMER_PPI: u32 = 27;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{QEMU_VIRT, ZCU104};

    #[test]
    fn xen_view_keeps_the_board_but_takes_xens_layout() {
        let v = view(Hyp::Xen, ZCU104);
        assert_eq!(v.name, "zcu104");
        assert_eq!(v.load_addr, 0x4008_0000);
        assert_eq!(v.gic, Gic::V2 { gicd: 0x0300_1000, gicc: 0x0300_2000 });
        assert_eq!(v.uart_kind, UartKind::Pl011);
        assert_eq!(v.counter_hz, 100_000_000);
        assert_eq!(view(Hyp::Xen, QEMU_VIRT).gic, Gic::V3 { gicd: 0x0300_1000, gicr: 0x0302_0000 });
    }

    #[test]
    fn bao_and_baremetal_see_the_board() {
        assert_eq!(view(Hyp::Bao, ZCU104), ZCU104);
        assert_eq!(view(Hyp::Baremetal, QEMU_VIRT), QEMU_VIRT);
    }
}
