//! Platforms as data: the memory map and devices that guests and the host agree on.
//!
//! Guests take their device addresses from here at compile time; the host reads the same
//! constants to generate hypervisor configurations and QEMU command lines.

/// Which interrupt controller a platform has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gic {
    /// GICv2: distributor and CPU interface are both MMIO.
    V2 { gicd: u64, gicc: u64 },
    /// GICv3: distributor MMIO, one redistributor frame pair (128 KiB) per core.
    V3 { gicd: u64, gicr: u64 },
}

/// The console UART's register interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartKind {
    /// Arm PL011 (QEMU `virt`, and the SBSA subset that Xen's vpl011 emulates).
    Pl011,
    /// Cadence UART (Zynq UltraScale+ MPSoC `uart0`/`uart1`).
    Cadence,
    /// No UART: the VM's console is off (a VM that must not share the board's two UARTs).
    None,
}

/// The last-level cache, whose geometry decides how many page colours there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Llc {
    pub size: u64,
    pub ways: u64,
    pub line: u64,
    /// Way size of the L1 data cache: a colouring that must not split an L1 way between colours
    /// (Bao's) takes this as its granule instead of a page.
    pub l1d_way: u64,
}

/// Page size that colouring works in.
pub const PAGE: u64 = 4096;

impl Llc {
    /// Page colours: pages whose lines map to disjoint cache sets (way size / page size).
    pub const fn colours(&self) -> u64 {
        self.size / self.ways / PAGE
    }

    /// Colours when each colour is a granule of `granule` bytes (at least a page) per way.
    pub const fn colours_of(&self, granule: u64) -> u64 {
        self.size / self.ways / if granule > PAGE { granule } else { PAGE }
    }
}

/// Index of each role in per-role tables: tx, rx, interf.
pub const ROLES: [&str; 3] = ["tx", "rx", "interf"];

/// A board (or emulated machine) as the guests see it without a hypervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    /// Name used on the command line and in captures (`qemu-virt`, `zcu104`, `zcu102`).
    pub name: &'static str,
    /// Start and size of the RAM the guests may use.
    pub ram_base: u64,
    pub ram_size: u64,
    /// Where the image is loaded (RAM base + the Image header's text_offset).
    pub load_addr: u64,
    /// Console UART (PL011 on QEMU, Cadence UART on the Zynq MPSoC boards).
    pub uart_kind: UartKind,
    pub uart_base: u64,
    /// Second UART, where the board has one (the artifact put rx on it).
    pub uart2_base: Option<u64>,
    /// The UARTs' interrupts (INTIDs), for hypervisor configurations that pass them through.
    pub uart_irqs: [u32; 2],
    pub gic: Gic,
    /// The whole MMIO window that is mapped as device memory (base, size).
    pub mmio: (u64, u64),
    /// Cores the platform has.
    pub cores: usize,
    /// Shared region (control block + data buffer) for tx and rx.
    pub shmem_base: u64,
    /// Base of the interference guest's buffer (the seed's MEM_BASE).
    pub interf_base: u64,
    /// The last-level cache (the interferer's buffer defaults to twice its size).
    pub llc: Llc,
    /// The generic counter's frequency the board is set up with (guests read CNTFRQ_EL0 anyway;
    /// this is what a capture's `freq` is checked against).
    pub counter_hz: u64,
    /// The core each role runs on: tx, rx, interf (one role per core).
    pub role_cores: [usize; 3],
    /// The RAM each VM gets (base, size), under a hypervisor that gives every VM its own
    /// guest-physical space: the image, its stacks and (for interf) its buffer. The shared region
    /// lies outside it, so that it can be mapped into both tx and rx.
    pub vm_ram: (u64, u64),
}

/// QEMU `virt` (qemu-system-aarch64 -M virt), the emulated testbed.
pub const QEMU_VIRT: Platform = Platform {
    name: "qemu-virt",
    ram_base: 0x4000_0000,
    ram_size: 0x4000_0000,
    load_addr: 0x4008_0000,
    uart_kind: UartKind::Pl011,
    uart_base: 0x0900_0000,
    uart2_base: Some(0x0904_0000),
    // SPI 1 and SPI 8 in QEMU's DT.
    uart_irqs: [33, 40],
    gic: Gic::V3 { gicd: 0x0800_0000, gicr: 0x080A_0000 },
    mmio: (0x0800_0000, 0x0200_0000),
    cores: 4,
    shmem_base: 0x4400_0000,
    interf_base: 0x4200_0000,
    // QEMU models no cache; the geometry is the ZynqMP's, so that configurations match the boards'.
    llc: Llc { size: 1 << 20, ways: 16, line: 64, l1d_way: 8 << 10 },
    counter_hz: 62_500_000,
    role_cores: [0, 1, 2],
    vm_ram: (0x4000_0000, 0x0400_0000),
};

/// Xilinx ZCU104 (Zynq UltraScale+ MPSoC, 4x Cortex-A53, 1 MiB L2, GIC-400).
pub const ZCU104: Platform = Platform {
    name: "zcu104",
    ram_base: 0x0,
    ram_size: 0x8000_0000,
    load_addr: 0x2008_0000,
    uart_kind: UartKind::Cadence,
    uart_base: 0xFF00_0000,
    uart2_base: Some(0xFF01_0000),
    // uart0 and uart1: SPI 21 and 22 (Zynq UltraScale+ TRM, interrupt table).
    uart_irqs: [53, 54],
    gic: Gic::V2 { gicd: 0xF901_0000, gicc: 0xF902_0000 },
    mmio: (0xF800_0000, 0x0800_0000),
    cores: 4,
    shmem_base: 0x2400_0000,
    interf_base: 0x2200_0000,
    llc: Llc { size: 1 << 20, ways: 16, line: 64, l1d_way: 8 << 10 },
    counter_hz: 100_000_000,
    role_cores: [0, 1, 2],
    vm_ram: (0x2000_0000, 0x0400_0000),
};

/// Xilinx ZCU102: same MPSoC as the ZCU104, more DDR.
pub const ZCU102: Platform = Platform { name: "zcu102", ..ZCU104 };

/// Every platform ivcbench knows.
pub const ALL: [Platform; 3] = [QEMU_VIRT, ZCU104, ZCU102];

/// Looks a platform up by its name.
pub fn by_name(name: &str) -> Option<&'static Platform> {
    ALL.iter().find(|p| p.name == name)
}
