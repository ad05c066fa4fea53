//! Entry: the arm64 Image header, the drop from EL2 to EL1, stacks, BSS, MMU, then Rust.
//!
//! Everything here runs with the MMU off, so it is assembly: Rust code might make unaligned or
//! exclusive accesses that Device-nGnRnE memory (all memory, with the MMU off) does not allow.

use crate::mmu;
use core::arch::global_asm;
use core::sync::atomic::{AtomicU8, Ordering};

/// Cores the runtime provides stacks for.
pub const MAX_CORES: usize = 4;
/// Stack per core.
pub const STACK_SIZE: usize = 32 << 10;

// Image header (Linux Documentation/arch/arm64/booting.rst, fields as facts): code0 branches to
// the entry, text_offset and image_size come from the linker script, flags = 0b0010 (little
// endian, 4K pages, 2 MiB-aligned base as close to RAM start as possible), magic "ARM\x64" at 56.
// Xen loads dom0less kernels only in this format; QEMU's -kernel loads it at RAM base +
// text_offset and enters at EL1 or EL2 with x0 = the DTB.
global_asm!(
    ".section .text.head, \"ax\"",
    ".global _start",
    "_start:",
    "    b      {primary}",
    "    .long  0",
    "    .quad  __text_offset",
    "    .quad  __image_size",
    "    .quad  0x2",
    "    .quad  0, 0, 0",
    "    .ascii \"ARM\\x64\"",
    "    .long  0",
    primary = sym primary_entry,
);

// Shared by the primary and the secondary entries: drop from EL2 to EL1 if entered at EL2, then
// set up this core's stack (from MPIDR Aff0), the vector table, FP/SIMD access and the MMU.
// Clobbers x0-x12; keeps x19-x28.
global_asm!(
    ".section .text.boot, \"ax\"",
    ".global ivc_rt_core_setup",
    "ivc_rt_core_setup:",
    "    mov    x12, x30",
    "    mrs    x9, CurrentEL",
    "    lsr    x9, x9, #2",
    "    cmp    x9, #2",
    "    b.ne   1f",
    // EL2: EL1 is AArch64 (HCR_EL2.RW) and traps nothing else to us; EL1 may read the physical
    // counter (CNTHCTL_EL2.EL1PCTEN|EL1PCEN); the virtual counter equals the physical one
    // (CNTVOFF_EL2 = 0), so every core and every role reads the same time.
    "    mov    x9, #(1 << 31)",
    "    msr    hcr_el2, x9",
    "    mrs    x9, cnthctl_el2",
    "    orr    x9, x9, #3",
    "    msr    cnthctl_el2, x9",
    "    msr    cntvoff_el2, xzr",
    "    mrs    x9, midr_el1",
    "    msr    vpidr_el2, x9",
    "    mrs    x9, mpidr_el1",
    "    msr    vmpidr_el2, x9",
    // Core n (Aff0) + 1 in TPIDR_EL2, like the EL1 copy below: the path-length plugin tells cores
    // apart by it (crate::probe).
    "    and    x9, x9, #0xff",
    "    add    x9, x9, #1",
    "    msr    tpidr_el2, x9",
    "    mov    x9, #0x33ff",
    "    msr    cptr_el2, x9",
    // GICv3 system registers for EL1 (ICC_SRE_EL2.SRE|Enable), only where the core has a GICv3
    // CPU interface (ID_AA64PFR0_EL1.GIC != 0): on a GICv2 board the register does not exist.
    "    mrs    x9, id_aa64pfr0_el1",
    "    ubfx   x9, x9, #24, #4",
    "    cbz    x9, 2f",
    "    mrs    x9, S3_4_C12_C9_5",
    "    mov    x10, #0x9",
    "    orr    x9, x9, x10",
    "    msr    S3_4_C12_C9_5, x9",
    "2:  msr    sctlr_el1, xzr",
    "    mov    x9, #0x3c5",
    "    msr    spsr_el2, x9",
    "    adr    x9, 1f",
    "    msr    elr_el2, x9",
    "    isb",
    "    eret",
    // A core without a stack of its own parks here rather than overwrite another core's.
    "1:  mrs    x9, mpidr_el1",
    "    and    x9, x9, #0xff",
    // Core n (Aff0) + 1 in TPIDR_EL1, which nothing else uses: the path-length plugin tells
    // cores apart by it where no hypervisor owns TPIDR_EL2 (crate::probe).
    "    add    x11, x9, #1",
    "    msr    tpidr_el1, x11",
    "    cmp    x9, #{max_cores}",
    "    b.lo   3f",
    "2:  wfe",
    "    b      2b",
    "3:  ldr    x10, ={stacks} + {stacks_size}",
    "    mov    x11, #{stack_size}",
    "    msub   x10, x9, x11, x10",
    "    mov    sp, x10",
    "    ldr    x9, ={vectors}",
    "    msr    vbar_el1, x9",
    "    mov    x9, #(3 << 20)",
    "    msr    cpacr_el1, x9",
    "    isb",
    "    bl     {mmu_on}",
    "    mov    x30, x12",
    "    ret",
    stacks = sym IVC_RT_STACKS,
    stacks_size = const MAX_CORES * STACK_SIZE,
    max_cores = const MAX_CORES,
    stack_size = const STACK_SIZE,
    vectors = sym crate::exceptions::ivc_rt_vectors,
    mmu_on = sym mmu::ivc_rt_mmu_on,
);

/// The cores' stacks, core n's top at the end of the n-th slice. Only the stack pointers set by
/// `ivc_rt_core_setup` refer to it; the linker script keeps it out of BSS and out of the file.
#[link_section = ".ivc_rt_stacks"]
static mut IVC_RT_STACKS: [u8; MAX_CORES * STACK_SIZE] = [0; MAX_CORES * STACK_SIZE];

extern "C" {
    static __bss_start: u8;
    static __bss_end: u8;
    fn ivc_rt_core_setup();
}

static ENTRY_EL: AtomicU8 = AtomicU8::new(0);

pub(crate) fn set_entry_el(el: u8) {
    ENTRY_EL.store(el, Ordering::Relaxed);
}

/// The exception level core 0 was entered at (2: dropped to EL1 by the runtime; 1: entered at EL1
/// by QEMU or a hypervisor). The app itself always runs at EL1.
pub fn entry_el() -> u8 {
    ENTRY_EL.load(Ordering::Relaxed)
}

/// Core 0's entry from the boot loader (x0 = DTB).
#[unsafe(naked)]
unsafe extern "C" fn primary_entry() -> ! {
    core::arch::naked_asm!(
        "mov    x19, x0",
        "mrs    x20, CurrentEL",
        "lsr    x20, x20, #2",
        "bl     {setup}",
        // Zero BSS (core 0 only, before anything else runs; stacks are outside BSS).
        "ldr    x9, ={bss_start}",
        "ldr    x10, ={bss_end}",
        "3:     cmp x9, x10",
        "b.hs   4f",
        "str    xzr, [x9], #8",
        "b      3b",
        "4:     mov x0, x19",
        "mov    x1, x20",
        "bl     {main}",
        "5:     wfe",
        "b      5b",
        setup = sym ivc_rt_core_setup,
        bss_start = sym __bss_start,
        bss_end = sym __bss_end,
        main = sym crate::rt_primary_main,
    )
}

/// Where PSCI CPU_ON starts the other cores (x0 = context id = core index).
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn secondary_entry() -> ! {
    core::arch::naked_asm!(
        "mov    x19, x0",
        "bl     {setup}",
        "mov    x0, x19",
        "bl     {main}",
        "5:     wfe",
        "b      5b",
        setup = sym ivc_rt_core_setup,
        main = sym crate::cpu::rt_secondary_main,
    )
}
