//! Identity map, built at compile time from the platform's memory map.
//!
//! 4 KiB granule, 32-bit virtual address space (T0SZ = 32), so the walk starts at level 1 with four
//! 1 GiB entries. A GiB that RAM covers entirely is one normal-memory block; a GiB without RAM but
//! with MMIO is one device block (all of it: hypervisors put their virtual devices next to the
//! board's, e.g. Xen's vGIC at 0x03001000 and vpl011 at 0x22000000 on QEMU virt); a GiB that RAM
//! covers only in part gets a level-2 table of 2 MiB blocks. The tables are constants in the image,
//! so no Rust code has to run before the MMU is on.

use crate::PLATFORM;
use core::arch::global_asm;
use ivc_proto::platform::Platform;

const GIB: u64 = 1 << 30;
const BLOCK_2M: u64 = 2 << 20;
/// MAIR_EL1: attr0 = Device-nGnRE, attr1 = Normal, inner/outer write-back read/write-allocate.
pub const MAIR: u64 = 0xFF_04;
/// TCR_EL1: T0SZ = 32; walks inner/outer write-back write-allocate, inner shareable; 4K granule;
/// TTBR1 walks disabled (EPD1); 40-bit physical addresses (IPS = 0b010).
pub const TCR: u64 = 32 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (2 << 32);
/// SCTLR_EL1: the RES1 bits of Armv8.0, plus M (MMU), C (data cache) and I (instruction cache).
/// Alignment checking stays off: Rust code for this target may make unaligned normal accesses.
pub const SCTLR: u64 = 0x30D0_0800 | 1 | (1 << 2) | (1 << 12);

// Descriptor bits (Arm ARM D8.3, VMSAv8-64 translation table format).
const BLOCK: u64 = 0b01;
const TABLE: u64 = 0b11;
const AF: u64 = 1 << 10;
const INNER_SHAREABLE: u64 = 3 << 8;
const ATTR_DEVICE: u64 = 0 << 2;
const ATTR_NORMAL: u64 = 1 << 2;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const NORMAL: u64 = BLOCK | AF | INNER_SHAREABLE | ATTR_NORMAL;
const DEVICE: u64 = BLOCK | AF | ATTR_DEVICE | PXN | UXN;

/// Whether `[a, a + a_len)` and `[b, b + b_len)` intersect.
const fn overlaps(a: u64, a_len: u64, b: u64, b_len: u64) -> bool {
    a < b + b_len && b < a + a_len
}

/// Whether RAM covers all of `[base, base + len)`.
const fn in_ram(p: &Platform, base: u64, len: u64) -> bool {
    p.ram_base <= base && base + len <= p.ram_base + p.ram_size
}

/// A GiB that needs a level-2 table: RAM covers part of it.
const fn mixed(p: &Platform, gib: u64) -> bool {
    overlaps(gib, GIB, p.ram_base, p.ram_size) && !in_ram(p, gib, GIB)
}

/// The block descriptor for `[base, base + len)`, a 1 GiB or 2 MiB block that is not mixed.
const fn block(p: &Platform, base: u64, len: u64, device_gib: bool) -> u64 {
    if in_ram(p, base, len) {
        base | NORMAL
    } else if device_gib {
        base | DEVICE
    } else {
        0
    }
}

const fn l2_count(p: &Platform) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < 4 {
        n += mixed(p, i * GIB) as usize;
        i += 1;
    }
    n
}

// The map can only be right if the platform's RAM and MMIO are apart and RAM starts and ends on
// 2 MiB boundaries, and if everything lies below 4 GiB.
const _: () = {
    let p = &PLATFORM;
    assert!(!overlaps(p.ram_base, p.ram_size, p.mmio.0, p.mmio.1), "RAM and MMIO overlap");
    assert!((p.ram_base | p.ram_size) & (BLOCK_2M - 1) == 0, "RAM not 2 MiB aligned");
    assert!(p.ram_base + p.ram_size <= 4 * GIB && p.mmio.0 + p.mmio.1 <= 4 * GIB, "beyond 4 GiB");
};

const N_L2: usize = l2_count(&PLATFORM);

#[repr(C, align(4096))]
struct L2Table([u64; 512]);

/// A level-1 entry: a block descriptor, or the address of a level-2 table plus the table bits.
/// The address is a pointer so the linker fills it in; its bits could not be computed in a const.
#[derive(Clone, Copy)]
#[repr(C)]
union L1Entry {
    bits: u64,
    table: *const u8,
}

#[repr(C, align(4096))]
struct L1Table([L1Entry; 512]);

// SAFETY: the tables are immutable statics read only by the table walker; the raw pointers in them
// are never dereferenced by code.
unsafe impl Sync for L1Table {}

const fn l2_tables(p: &Platform) -> [L2Table; N_L2] {
    let mut tables = [const { L2Table([0; 512]) }; N_L2];
    let (mut gib, mut k) = (0, 0);
    while gib < 4 {
        let base = gib * GIB;
        if mixed(p, base) {
            let device = overlaps(base, GIB, p.mmio.0, p.mmio.1);
            let mut i = 0;
            while i < 512 {
                tables[k].0[i] = block(p, base + i as u64 * BLOCK_2M, BLOCK_2M, device);
                i += 1;
            }
            k += 1;
        }
        gib += 1;
    }
    tables
}

const fn l1_table(p: &Platform, l2: &'static [L2Table; N_L2]) -> L1Table {
    let mut t = [L1Entry { bits: 0 }; 512];
    let (mut gib, mut k) = (0, 0);
    while gib < 4 {
        let base = gib as u64 * GIB;
        t[gib] = if mixed(p, base) {
            k += 1;
            // The tables are 4 KiB aligned, so adding the table bits sets bits [1:0].
            L1Entry { table: (&raw const l2[k - 1]).cast::<u8>().wrapping_add(TABLE as usize) }
        } else {
            L1Entry { bits: block(p, base, GIB, overlaps(base, GIB, p.mmio.0, p.mmio.1)) }
        };
        gib += 1;
    }
    L1Table(t)
}

/// Read by the table walkers only; nothing writes them after the image is loaded.
static IVC_RT_L2: [L2Table; N_L2] = l2_tables(&PLATFORM);
static IVC_RT_L1: L1Table = l1_table(&PLATFORM, &IVC_RT_L2);

// Turns the MMU and caches on for the calling core. The tables' lines are invalidated first so the
// walker (whose walks are cacheable) cannot see stale cache contents left by the boot loader.
// Clobbers x0-x3.
global_asm!(
    ".section .text.boot, \"ax\"",
    ".global ivc_rt_mmu_on",
    "ivc_rt_mmu_on:",
    "    mrs    x2, ctr_el0",
    "    ubfx   x2, x2, #16, #4",
    "    mov    x3, #4",
    "    lsl    x2, x3, x2",
    "    ldr    x0, ={l1}",
    "    dc     ivac, x0",
    "    ldr    x0, ={l2}",
    "    ldr    x1, ={l2} + {l2_size}",
    "1:  cmp    x0, x1",
    "    b.hs   2f",
    "    dc     ivac, x0",
    "    add    x0, x0, x2",
    "    b      1b",
    "2:  dsb    sy",
    "    ldr    x0, ={mair}",
    "    msr    mair_el1, x0",
    "    ldr    x0, ={tcr}",
    "    msr    tcr_el1, x0",
    "    ldr    x0, ={l1}",
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
    l2 = sym IVC_RT_L2,
    l2_size = const N_L2 * 4096,
);

extern "C" {
    pub fn ivc_rt_mmu_on();
}
