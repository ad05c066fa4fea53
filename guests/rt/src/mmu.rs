//! Identity map, built at compile time from the platform's memory map.
//!
//! 4 KiB granule, 32-bit virtual address space (T0SZ = 32), so the walk starts at level 1 with four
//! 1 GiB entries. Every supported platform separates RAM from MMIO at a 1 GiB boundary, so four
//! block descriptors describe the whole machine and no Rust code has to run before the MMU is on.

use crate::PLATFORM;
use core::arch::global_asm;
use ivc_proto::platform::Platform;

const GIB: u64 = 1 << 30;
/// MAIR_EL1: attr0 = Device-nGnRE, attr1 = Normal, inner/outer write-back read/write-allocate.
pub const MAIR: u64 = 0xFF_04;
/// TCR_EL1: T0SZ = 32; walks inner/outer write-back write-allocate, inner shareable; 4K granule;
/// TTBR1 walks disabled (EPD1); 40-bit physical addresses (IPS = 0b010).
pub const TCR: u64 = 32 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (2 << 32);
/// SCTLR_EL1: the RES1 bits of Armv8.0, plus M (MMU), C (data cache) and I (instruction cache).
/// Alignment checking stays off: Rust code for this target may make unaligned normal accesses.
pub const SCTLR: u64 = 0x30D0_0800 | 1 | (1 << 2) | (1 << 12);

const VALID_BLOCK: u64 = 0b01;
const AF: u64 = 1 << 10;
const INNER_SHAREABLE: u64 = 3 << 8;
const ATTR_DEVICE: u64 = 0 << 2;
const ATTR_NORMAL: u64 = 1 << 2;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;

/// The level-1 descriptor for the GiB at `base`: normal memory where the platform has RAM,
/// device memory (never executable) where it has MMIO, nothing elsewhere.
const fn descriptor(p: &Platform, base: u64) -> u64 {
    if overlaps(base, p.ram_base, p.ram_size) {
        base | VALID_BLOCK | AF | INNER_SHAREABLE | ATTR_NORMAL
    } else if overlaps(base, p.mmio.0, p.mmio.1) {
        base | VALID_BLOCK | AF | ATTR_DEVICE | PXN | UXN
    } else {
        0
    }
}

/// Whether `[start, start + size)` touches the GiB at `base`.
const fn overlaps(base: u64, start: u64, size: u64) -> bool {
    start < base + GIB && start + size > base
}

#[repr(C, align(4096))]
pub struct Table([u64; 512]);

const fn table(p: &Platform) -> Table {
    let mut t = [0u64; 512];
    let mut i = 0;
    while i < 4 {
        t[i] = descriptor(p, i as u64 * GIB);
        i += 1;
    }
    Table(t)
}

/// Read by the table walker only; nothing writes it after the image is loaded.
#[no_mangle]
pub static IVC_RT_L1: Table = table(&PLATFORM);

// Turns the MMU and caches on for the calling core. The table's line is invalidated first so the
// walker cannot see stale cache contents left by the boot loader.
global_asm!(
    ".section .text.boot, \"ax\"",
    ".global ivc_rt_mmu_on",
    "ivc_rt_mmu_on:",
    "    ldr    x0, ={mair}",
    "    msr    mair_el1, x0",
    "    ldr    x0, ={tcr}",
    "    msr    tcr_el1, x0",
    "    ldr    x0, ={l1}",
    "    dc     ivac, x0",
    "    dsb    sy",
    "    msr    ttbr0_el1, x0",
    "    isb",
    "    tlbi   vmalle1",
    "    ic     iallu",
    "    dsb    nsh",
    "    isb",
    "    ldr    x0, ={sctlr}",
    "    msr    sctlr_el1, x0",
    "    isb",
    "    ret",
    mair = const MAIR,
    tcr = const TCR,
    sctlr = const SCTLR,
    l1 = sym IVC_RT_L1,
);

extern "C" {
    pub fn ivc_rt_mmu_on();
}

