//! Arm semihosting exit: ends the whole emulation with a status when QEMU runs with
//! `-semihosting-config enable=on,target=native` (a domU under Xen can end the testbed so).

/// SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit and `code`.
pub fn exit(code: u32) -> ! {
    let block: [u64; 2] = [0x20026, code as u64];
    // SAFETY: `hlt #0xf000` is the AArch64 semihosting trap; w0 = 0x20 (SYS_EXIT_EXTENDED), x1 =
    // the parameter block, which lives on this stack for the duration of the call. Without
    // semihosting enabled the instruction is undefined and ends in the fatal-exception path.
    unsafe {
        core::arch::asm!("hlt #0xf000", in("x0") 0x20u64, in("x1") block.as_ptr(), options(nostack));
    }
    crate::psci::power_off()
}
