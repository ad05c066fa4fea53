//! Cache maintenance by virtual address and for the instruction cache.

use core::arch::asm;

/// Smallest data cache line of the cores (CTR_EL0.DminLine).
fn dline() -> usize {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    4 << ((ctr >> 16) & 0xf)
}

/// Cleans and invalidates `[addr, addr + len)` to the point of coherency.
pub fn clean_invalidate_range(addr: *const u8, len: usize) {
    let line = dline();
    let mut a = addr as usize & !(line - 1);
    while a < addr as usize + len {
        // SAFETY: dc civac on a mapped address only writes back and drops cache lines; the data
        // stays the same for every observer.
        unsafe { asm!("dc civac, {}", in(reg) a, options(nostack)) };
        a += line;
    }
    // SAFETY: a barrier has no effect on memory contents.
    unsafe { asm!("dsb sy", options(nostack)) };
}

/// Invalidates this core's instruction cache (the artifact's rx did so in its handler, so each
/// notification is handled from a cold I-cache).
pub fn invalidate_icache() {
    // SAFETY: invalidating the I-cache only costs refetches.
    unsafe { asm!("ic iallu", "dsb nsh", "isb", options(nostack)) };
}
