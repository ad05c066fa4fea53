//! EL1 exception vectors. IRQs from the current EL go to the registered handlers (see [`irq`]);
//! everything else is a bug in a guest, reported on the console before the machine is turned off.
//!
//! [`irq`]: crate::irq

use core::arch::global_asm;

// The IRQ path saves every caller-saved register, the FP/SIMD ones included: the target enables
// NEON, so compiled code anywhere (the interrupted loop, the handler) may use q0-q7 and q16-q31.
// ELR/SPSR are saved too, so a handler could re-enable interrupts without losing the return.
global_asm!(
    ".macro IVC_SAVE",
    "    sub    sp, sp, #(208 + 24 * 16)",
    "    stp    x0, x1, [sp, #0]",
    "    stp    x2, x3, [sp, #16]",
    "    stp    x4, x5, [sp, #32]",
    "    stp    x6, x7, [sp, #48]",
    "    stp    x8, x9, [sp, #64]",
    "    stp    x10, x11, [sp, #80]",
    "    stp    x12, x13, [sp, #96]",
    "    stp    x14, x15, [sp, #112]",
    "    stp    x16, x17, [sp, #128]",
    "    stp    x18, x29, [sp, #144]",
    "    mrs    x0, elr_el1",
    "    mrs    x1, spsr_el1",
    "    stp    x30, x0, [sp, #160]",
    "    mrs    x2, fpsr",
    "    mrs    x3, fpcr",
    "    stp    x1, x2, [sp, #176]",
    "    str    x3, [sp, #192]",
    "    add    x0, sp, #208",
    "    stp    q0, q1, [x0, #0]",
    "    stp    q2, q3, [x0, #32]",
    "    stp    q4, q5, [x0, #64]",
    "    stp    q6, q7, [x0, #96]",
    "    stp    q16, q17, [x0, #128]",
    "    stp    q18, q19, [x0, #160]",
    "    stp    q20, q21, [x0, #192]",
    "    stp    q22, q23, [x0, #224]",
    "    stp    q24, q25, [x0, #256]",
    "    stp    q26, q27, [x0, #288]",
    "    stp    q28, q29, [x0, #320]",
    "    stp    q30, q31, [x0, #352]",
    ".endm",
    ".macro IVC_RESTORE",
    "    add    x0, sp, #208",
    "    ldp    q0, q1, [x0, #0]",
    "    ldp    q2, q3, [x0, #32]",
    "    ldp    q4, q5, [x0, #64]",
    "    ldp    q6, q7, [x0, #96]",
    "    ldp    q16, q17, [x0, #128]",
    "    ldp    q18, q19, [x0, #160]",
    "    ldp    q20, q21, [x0, #192]",
    "    ldp    q22, q23, [x0, #224]",
    "    ldp    q24, q25, [x0, #256]",
    "    ldp    q26, q27, [x0, #288]",
    "    ldp    q28, q29, [x0, #320]",
    "    ldp    q30, q31, [x0, #352]",
    "    ldp    x1, x2, [sp, #176]",
    "    ldr    x3, [sp, #192]",
    "    msr    spsr_el1, x1",
    "    msr    fpsr, x2",
    "    msr    fpcr, x3",
    "    ldp    x30, x0, [sp, #160]",
    "    msr    elr_el1, x0",
    "    ldp    x0, x1, [sp, #0]",
    "    ldp    x2, x3, [sp, #16]",
    "    ldp    x4, x5, [sp, #32]",
    "    ldp    x6, x7, [sp, #48]",
    "    ldp    x8, x9, [sp, #64]",
    "    ldp    x10, x11, [sp, #80]",
    "    ldp    x12, x13, [sp, #96]",
    "    ldp    x14, x15, [sp, #112]",
    "    ldp    x16, x17, [sp, #128]",
    "    ldp    x18, x29, [sp, #144]",
    "    add    sp, sp, #(208 + 24 * 16)",
    ".endm",
    ".macro IVC_FATAL kind",
    "    mov    x0, #\\kind",
    "    mrs    x1, esr_el1",
    "    mrs    x2, elr_el1",
    "    mrs    x3, far_el1",
    "    b      {fatal}",
    ".endm",
    ".section .text.vectors, \"ax\"",
    ".balign 2048",
    ".global ivc_rt_vectors",
    "ivc_rt_vectors:",
    // Current EL with SP_EL0: never used.
    ".balign 128", "IVC_FATAL 0",
    ".balign 128", "IVC_FATAL 1",
    ".balign 128", "IVC_FATAL 2",
    ".balign 128", "IVC_FATAL 3",
    // Current EL with SP_ELx: where the guest runs.
    ".balign 128", "IVC_FATAL 4",
    // The IRQ path is longer than a vector's 32 instructions: it branches out of the table, so
    // that the vectors after it stay at their architectural offsets.
    ".balign 128",
    // The path-length plugin's IRQ-entry marker (crate::probe), a NOP everywhere else.
    "    hint   #{irq_mark}",
    "    b      ivc_rt_irq_path",
    ".balign 128", "IVC_FATAL 6",
    ".balign 128", "IVC_FATAL 7",
    // Lower EL: there is none.
    ".balign 128", "IVC_FATAL 8",
    ".balign 128", "IVC_FATAL 9",
    ".balign 128", "IVC_FATAL 10",
    ".balign 128", "IVC_FATAL 11",
    ".balign 128", "IVC_FATAL 12",
    ".balign 128", "IVC_FATAL 13",
    ".balign 128", "IVC_FATAL 14",
    ".balign 128", "IVC_FATAL 15",
    "ivc_rt_irq_path:",
    "    IVC_SAVE",
    "    bl     {irq}",
    "    IVC_RESTORE",
    "    eret",
    irq = sym crate::irq::rt_irq,
    irq_mark = const ivc_proto::pathlen::Mark::IrqEntry as u8,
    fatal = sym fatal,
);

extern "C" {
    pub fn ivc_rt_vectors();
}

const KINDS: [&str; 4] = ["synchronous", "IRQ", "FIQ", "SError"];

extern "C" fn fatal(kind: u64, esr: u64, elr: u64, far: u64) -> ! {
    let origin = ["EL1 with SP0", "EL1", "lower EL (AArch64)", "lower EL (AArch32)"][(kind / 4) as usize & 3];
    crate::console::emergency(format_args!(
        "ivc-guest exception: {} from {} on core {}: ESR_EL1={:#x} ELR_EL1={:#x} FAR_EL1={:#x}",
        KINDS[(kind % 4) as usize],
        origin,
        crate::cpu::id(),
        esr,
        elr,
        far
    ));
    crate::psci::power_off()
}
