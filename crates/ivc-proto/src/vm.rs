//! What a VM sees under each hypervisor: its address map, devices and doorbell numbers.
//!
//! A guest image is linked for one [`view`] of one board, and the host writes hypervisor
//! configurations that give the VM exactly that view, so both sides take it from here.

use crate::layout::SHMEM_SIZE;
use crate::platform::{Gic, Platform, UartKind, PAGE};

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
/// - Jailhouse: the board's addresses for RAM, UARTs and GIC (the cell configuration maps them at
///   the same guest-physical addresses), with the communication region in the page after the VM's
///   RAM and the ivshmem shared memory 2 MiB above it ([`jailhouse`]).
/// - seL4 (the CAmkES VMM of the artifact's tree, ESRGv3/sel4-camkes-vmm): the board's addresses
///   for RAM and UARTs (each VM's RAM at the same guest-physical range, backed by memory the VMM
///   allocates), the image entered at the start of that RAM (the VMM loads a raw image there), a
///   virtual GICv2 at the board's distributor ([`sel4::vgic`]), and the cross-VM connector's event
///   page in the page below its dataport (the shared region) ([`sel4`]).
pub const fn view(hyp: Hyp, board: Platform) -> Platform {
    match hyp {
        Hyp::Jailhouse => Platform { shmem_base: jailhouse::shmem_base(&board), ..board },
        Hyp::Sel4 => Platform { shmem_base: sel4::dataport(&board), load_addr: board.vm_ram.0, gic: sel4::vgic(board.gic), ..board },
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
    /// SMCCC fast call, SMC32 convention, owner 6 (vendor hypervisor), function 1 (HC_IPC).
    pub const HC_IPC: u64 = 0x8600_0001;
    /// The one IPC object: tx's and rx's index of it.
    pub const IPC_ID: u64 = 0;
    /// The shared-memory object behind it in the configuration's shmem list.
    pub const SHMEM_ID: u64 = 0;
    /// The interferer's status page (ivc_proto::layout::InterfStatus), shared by tx and the
    /// interferer through an IPC of their own without interrupts.
    pub const STATUS_SHMEM_ID: u64 = 1;
    /// The event tx raises: the first interrupt of rx's IPC.
    pub const EVENT: u64 = 0;
    /// The virtual interrupt rx's IPC raises (an SPI no passed-through device uses on any
    /// supported board).
    pub const IPC_IRQ: u32 = 52;
}

/// Jailhouse (mainline, config revision 14) as ivcbench's cell configurations set it up for a
/// non-root cell (an "inmate"), and the parts of its ABI the guest reads.
///
/// The cell sees its RAM at the board's [`Platform::vm_ram`], the communication region in the page
/// right after it, and one virtual PCI device: an ivshmem v2 device (see [`crate::ivshmem`]) at
/// [`IVSHMEM_BDF`] on bus 0 of the virtual PCI host whose ECAM base the communication region names.
/// Its shared memory is a one-page state table followed by the read/write section, which is the
/// shared region ([`crate::layout`]); there are no output sections.
pub mod jailhouse {
    use super::{Platform, PAGE, SHMEM_SIZE};

    /// Where the communication region is mapped: the page after the VM's RAM.
    pub const fn comm_region(board: &Platform) -> u64 {
        board.vm_ram.0 + board.vm_ram.1
    }
    /// The shared region (ivshmem's read/write section): 2 MiB above the communication region,
    /// so that it can start on a 2 MiB boundary and the state table fits in the page below it.
    pub const fn shmem_base(board: &Platform) -> u64 {
        comm_region(board) + (2 << 20)
    }
    /// ivshmem's state table: the page below the read/write section (the base address the
    /// device's vendor capability reports).
    pub const fn state_table(board: &Platform) -> u64 {
        shmem_base(board) - STATE_TABLE_SIZE
    }
    /// Size of the state table (one page: room for 1024 peers, we have 2).
    pub const STATE_TABLE_SIZE: u64 = PAGE;
    /// Size of the read/write section: the shared region, in whole pages.
    pub const RW_SIZE: u64 = (SHMEM_SIZE as u64).div_ceil(PAGE) * PAGE;

    /// `struct jailhouse_comm_region` (include/jailhouse/hypercall.h and the arm-common
    /// jailhouse_hypercall.h): byte offsets of the fields the guest reads.
    pub mod comm {
        /// "JHCOMM".
        pub const SIGNATURE: u64 = 0x00;
        pub const REVISION: u64 = 0x06;
        pub const CELL_STATE: u64 = 0x08;
        pub const FLAGS: u64 = 0x14;
        pub const PCI_MMCONFIG_BASE: u64 = 0x38;
        pub const GIC_VERSION: u64 = 0x40;
        pub const GICD_BASE: u64 = 0x48;
        pub const GICC_BASE: u64 = 0x50;
        pub const GICR_BASE: u64 = 0x58;
        pub const VPCI_IRQ_BASE: u64 = 0x60;
        /// The size of the arm64 structure (packed).
        pub const SIZE: u64 = 0x64;
        /// COMM_REGION_MAGIC.
        pub const MAGIC: [u8; 6] = *b"JHCOMM";
        /// COMM_REGION_ABI_REVISION.
        pub const ABI_REVISION: u16 = 2;
    }

    /// The ivshmem device's bus/device/function on the cell's virtual PCI bus 0: 00:01.0.
    pub const IVSHMEM_BDF: u16 = 1 << 3;
    /// Peer ids (the cell configurations' `shmem_dev_id`): tx 0, rx 1.
    pub const TX_PEER: u16 = 0;
    pub const RX_PEER: u16 = 1;
    /// The cells' `vpci_irq_base`: INTx of the device at [`IVSHMEM_BDF`] (pin B) then arrives on
    /// INTID 32 + 108 + 1 = 141, a PL-to-PS interrupt line that nothing drives on the ZynqMP
    /// boards without a PL design (mainline Jailhouse's ZCU102 demo cells use the same lines).
    pub const VPCI_IRQ_BASE: u32 = 140 - 32;
    /// The interrupt rx's doorbell arrives on.
    pub const DOORBELL_IRQ: u32 = crate::ivshmem::intx_intid(VPCI_IRQ_BASE, crate::ivshmem::intx_pin(IVSHMEM_BDF));
    /// The doorbell vector (INTx has one).
    pub const VECTOR: u16 = 0;
    /// Where the guest programs the device's register BAR (BAR 0, 4 KiB): a page in a
    /// device-mapped window that no cell memory region covers (ZynqMP: the low PCIe window at
    /// 0xE0000000, unused by the cells; QEMU virt: its PCIe MMIO window at 0x10000000).
    pub const fn ivshmem_bar0(board: &Platform) -> u64 {
        if board.mmio.0 >= 0xC000_0000 {
            0xE000_0000
        } else {
            0x1000_0000
        }
    }
    /// The core a role's cell runs on: the board's role core + 1, so that the root cell (Linux)
    /// keeps core 0.
    pub const fn cell_core(role_core: usize) -> usize {
        role_core + 1
    }
}

/// seL4's CAmkES VMM cross-VM connector (seL4_projects_libs' cross_vm_connection.c, as in the
/// artifact's tree ESRGv3/sel4-camkes-vmm) as ivcbench's CAmkES configurations set it up: one
/// connection between tx and rx.
///
/// The VMM maps, at the connection's base address, an "event page": a read-only page whose writes
/// trap into the VMM, and the dataport in the pages right after it. A 32-bit write to [`EMIT`]
/// emits the connection's event (a seL4 notification to the peer's VMM), which injects the
/// connector's interrupt ([`CROSSVM_IRQ`]) into the peer and increments the peer's
/// [`CONSUME_COUNT`]; the VMM writes the connection's name at [`NAME`].
pub mod sel4 {
    use super::{Gic, Platform, PAGE, SHMEM_SIZE};

    /// Emit register (write any value).
    pub const EMIT: u64 = 0x0;
    /// Consumed-event counter (incremented by the VMM, writable by the guest).
    pub const CONSUME_COUNT: u64 = 0x4;
    /// The connection's name, NUL-padded.
    pub const NAME: u64 = 0x8;
    pub const NAME_LEN: usize = 48;
    /// The name ivcbench's configuration gives the connection.
    pub const CONNECTION_NAME: &str = "ivcbench_shmem";
    /// The value tx writes to [`EMIT`] (the VMM ignores it; the artifact wrote 1 as well).
    pub const EMIT_VALUE: u32 = 1;
    /// The dataport's size: the shared region in whole pages. Not a multiple of 2 MiB on
    /// purpose: CAmkES backs a dataport with the largest frames that divide its size, and the
    /// tree's connector maps the dataport page by page, indexing its frames as 4 KiB ones (with
    /// 2 MiB frames the second page fails with seL4_AlignmentError; found running it). The
    /// connector also describes the dataport as a PCI BAR of log2(size) bits, which ivcbench's
    /// guests do not use.
    pub const DATAPORT_SIZE: u64 = (SHMEM_SIZE as u64).div_ceil(PAGE) * PAGE;
    const _: () = assert!(!DATAPORT_SIZE.is_multiple_of(2 << 20));
    /// The dataport (the shared region): 32 MiB above the end of the VM's RAM (2 MiB-aligned,
    /// with the event page in the page below it, clear of the RAM).
    pub const fn dataport(board: &Platform) -> u64 {
        board.vm_ram.0 + board.vm_ram.1 + (32 << 20)
    }
    /// The connection's base address (its event page): the page below the dataport.
    pub const fn event_page(board: &Platform) -> u64 {
        dataport(board) - PAGE
    }
    /// Event page and dataport of connection `index` from `base`: the connector lays connections
    /// out back to back, each an event page followed by its dataport.
    pub const fn connection(base: u64, index: u64) -> (u64, u64) {
        let event = base + index * (PAGE + DATAPORT_SIZE);
        (event, event + PAGE)
    }
    /// The GIC a VM sees: the VMM emulates a GICv2 distributor at the board's and maps one page
    /// of the physical virtual CPU interface ([`gicv`]) where libsel4vm's GIC_CPU_PADDR says
    /// (libsel4vm/src/arch/arm/vgic/gicv2.h in the artifact's tree): on QEMU `virt` (a GICv3 in
    /// ivcbench's other runs) seL4 runs the machine's GICv2, CPU interface at distributor +
    /// 0x10000; on the ZynqMP's GIC-400 the tree uses the 4 KiB-aligned alias at distributor +
    /// 0x1f000 (its commit "change gicc address on zynqmp to alias"), not the board's 0xF9020000.
    pub const fn vgic(board: Gic) -> Gic {
        match board {
            Gic::V3 { gicd, .. } => Gic::V2 { gicd, gicc: gicd + 0x1_0000 },
            Gic::V2 { gicd, .. } => Gic::V2 { gicd, gicc: gicd + 0x1_f000 },
        }
    }
    /// The physical GIC virtual CPU interface (GICV) the VMM maps at the VM's CPU interface
    /// (GIC_VCPU_PADDR): QEMU `virt`'s GICv2 and the ZynqMP's GIC-400.
    pub const fn gicv(board: &Platform) -> u64 {
        match board.gic {
            Gic::V3 { gicd, .. } => gicd + 0x4_0000,
            Gic::V2 { gicd, .. } => gicd + 0x5_0000,
        }
    }
    /// The interrupt the connector injects into rx (a virtual interrupt of rx's vGIC). The VMM's
    /// own cross_vm_connections_init() takes its platform's `free_plat_interrupts[0]` (82 on
    /// qemu-arm-virt, 96 on zynqmp in the artifact's tree; none in mainline's zynqmp port):
    /// ivcbench's generated connector code passes this one on every board instead, INTID 141
    /// (a PL-to-PS line nothing drives on the ZynqMP; no device of QEMU `virt` uses it).
    pub const CROSSVM_IRQ: u32 = 141;

    /// The name field as the VMM writes it: the name, NUL-padded (cut at NAME_LEN).
    pub fn encode_name(name: &str) -> [u8; NAME_LEN] {
        let mut b = [0u8; NAME_LEN];
        let n = name.len().min(NAME_LEN);
        b[..n].copy_from_slice(&name.as_bytes()[..n]);
        b
    }
    /// The name in an event page's name field (up to the first NUL), if it is ASCII.
    pub fn decode_name(field: &[u8; NAME_LEN]) -> Option<&str> {
        let end = field.iter().position(|&c| c == 0).unwrap_or(NAME_LEN);
        let s = core::str::from_utf8(&field[..end]).ok()?;
        s.is_ascii().then_some(s)
    }
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
    fn jailhouse_view_puts_comm_region_state_table_and_shmem_after_the_vm_ram() {
        let v = view(Hyp::Jailhouse, ZCU104);
        assert_eq!(jailhouse::comm_region(&v), 0x2400_0000);
        assert_eq!(v.shmem_base, 0x2420_0000);
        assert_eq!(jailhouse::state_table(&v), 0x241F_F000);
        assert_eq!(jailhouse::RW_SIZE, SHMEM_SIZE as u64);
        // Board addresses otherwise, and everything inside the board's RAM and clear of the VM's.
        assert_eq!(Platform { shmem_base: ZCU104.shmem_base, ..v }, ZCU104);
        assert!(v.shmem_base + jailhouse::RW_SIZE <= v.ram_base + v.ram_size);
        assert!(jailhouse::comm_region(&v) >= v.vm_ram.0 + v.vm_ram.1);
        assert_eq!(jailhouse::DOORBELL_IRQ, 141);
        assert_eq!(jailhouse::ivshmem_bar0(&ZCU104), 0xE000_0000);
        assert_eq!(jailhouse::ivshmem_bar0(&QEMU_VIRT), 0x1000_0000);
        for p in crate::platform::ALL {
            let bar = jailhouse::ivshmem_bar0(&p);
            assert!(bar + PAGE <= p.ram_base || bar >= p.ram_base + p.ram_size, "BAR0 outside RAM on {}", p.name);
        }
    }

    #[test]
    fn jailhouse_comm_region_offsets_follow_the_packed_structure() {
        use jailhouse::comm::*;
        // signature[6], revision u16, cell_state, msg_to_cell, reply_from_cell, flags (u32 each),
        // struct jailhouse_console (32 bytes), pci_mmconfig_base u64, then the arm part.
        assert_eq!(REVISION, 6);
        assert_eq!(CELL_STATE, 8);
        assert_eq!(FLAGS, 8 + 3 * 4);
        assert_eq!(PCI_MMCONFIG_BASE, FLAGS + 4 + 32);
        assert_eq!(GIC_VERSION, PCI_MMCONFIG_BASE + 8);
        assert_eq!(GICD_BASE, GIC_VERSION + 8);
        assert_eq!((GICC_BASE, GICR_BASE, VPCI_IRQ_BASE), (GICD_BASE + 8, GICD_BASE + 16, GICD_BASE + 24));
        assert_eq!(SIZE, VPCI_IRQ_BASE + 4);
    }

    #[test]
    fn sel4_connector_layout_and_name() {
        let v = view(Hyp::Sel4, ZCU104);
        // The fork's cross_vm_connection.c: event page, then the dataport in the next page.
        assert_eq!(sel4::DATAPORT_SIZE, (16 << 20) + PAGE);
        assert_eq!(v.shmem_base, 0x2600_0000);
        assert_eq!(sel4::event_page(&v), 0x25FF_F000);
        assert_eq!(sel4::connection(sel4::event_page(&v), 0), (0x25FF_F000, 0x2600_0000));
        assert_eq!(sel4::connection(0x1000_0000, 1), (0x1000_0000 + 2 * PAGE + (16 << 20), 0x1000_0000 + 3 * PAGE + (16 << 20)));
        assert!(sel4::event_page(&v) >= v.vm_ram.0 + v.vm_ram.1);
        assert!(v.shmem_base + SHMEM_SIZE as u64 <= v.ram_base + v.ram_size);
        // The VMM enters a raw image at the start of the VM's RAM.
        assert_eq!(v.load_addr, v.vm_ram.0);
        assert_eq!(v.gic, Gic::V2 { gicd: 0xF901_0000, gicc: 0xF902_F000 });
        assert_eq!(sel4::gicv(&ZCU104), 0xF906_0000);
        let q = view(Hyp::Sel4, QEMU_VIRT);
        assert_eq!(q.gic, Gic::V2 { gicd: 0x0800_0000, gicc: 0x0801_0000 });
        assert_eq!(sel4::gicv(&QEMU_VIRT), 0x0804_0000);
        assert_eq!((q.load_addr, q.shmem_base, sel4::event_page(&q)), (0x4000_0000, 0x4600_0000, 0x45FF_F000));
        let f = sel4::encode_name(sel4::CONNECTION_NAME);
        assert_eq!(sel4::decode_name(&f), Some(sel4::CONNECTION_NAME));
        assert_eq!(&f[..4], b"ivcb");
        assert!(f[sel4::CONNECTION_NAME.len()..].iter().all(|&b| b == 0));
        assert_eq!(sel4::decode_name(&[0xff; sel4::NAME_LEN]), None);
        assert_eq!(sel4::decode_name(&sel4::encode_name(&"x".repeat(60))).unwrap().len(), sel4::NAME_LEN);
        assert_eq!((sel4::EMIT, sel4::CONSUME_COUNT, sel4::NAME), (0, 4, 8));
    }

    #[test]
    fn bao_and_baremetal_see_the_board() {
        assert_eq!(view(Hyp::Bao, ZCU104), ZCU104);
        assert_eq!(view(Hyp::Baremetal, QEMU_VIRT), QEMU_VIRT);
    }
}
