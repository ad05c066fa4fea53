//! Does QEMU's PMU instruction counter measure one core's instructions at one exception level?
//! An experiment, kept so it can be rerun (docs/pathlen.md gives the result).
//!
//! Core 0 programs event 0x08 (INST_RETIRED) on two event counters, one filtered to EL1 only and
//! one to EL0 only (this code never runs at EL0), then runs a loop of a known length twice: once
//! while core 1 sleeps in `wfi`, once while core 1 spins. A per-core, EL-filtered counter reads
//! the same in both rounds and 0 on the EL0 counter.
//!
//! ```text
//! cd guests && cargo build --release -p ivc-rt --example pmu_icount
//! aarch64-linux-gnu-objcopy -O binary target/aarch64-unknown-none/release/examples/pmu_icount p.bin
//! printf s | qemu-system-aarch64 -M virt,gic-version=3 -cpu cortex-a57 -smp 2 -m 1G -nographic \
//!     -icount shift=4,sleep=off -kernel p.bin
//! ```
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]

use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};
use ivc_rt::{cpu, gic, irq, println, psci, timer, uart};

ivc_rt::entry!(main);

/// Core 1 spins while set.
static SPIN: AtomicBool = AtomicBool::new(false);

fn core1(_: usize) -> ! {
    loop {
        while SPIN.load(Ordering::Acquire) {
            cpu::relax();
        }
        timer::sleep_ns(1_000_000);
    }
}

/// Sets up event counters 0 (INST_RETIRED, EL1 only) and 1 (INST_RETIRED, EL0 only), resets them.
fn program() {
    // PMEVTYPER<n>_EL0: bit 31 P (exclude EL1), bit 30 U (exclude EL0), bit 27 NSH (count EL2).
    let el1_only = (1u64 << 30) | 0x08;
    let el0_only = (1u64 << 31) | 0x08;
    // SAFETY: this core's own PMU registers; nothing else uses them in this example.
    unsafe {
        asm!(
            "msr pmevtyper0_el0, {a}",
            "msr pmevtyper1_el0, {b}",
            "mrs {t}, pmcr_el0",
            "orr {t}, {t}, #3", // E, P (reset event counters)
            "msr pmcr_el0, {t}",
            "msr pmcntenset_el0, {en}",
            "isb",
            a = in(reg) el1_only,
            b = in(reg) el0_only,
            en = in(reg) 0b11u64,
            t = out(reg) _,
            options(nostack)
        )
    };
}

fn read() -> (u64, u64) {
    let (a, b): (u64, u64);
    // SAFETY: reading this core's event counters has no side effects.
    unsafe { asm!("isb", "mrs {}, pmevcntr0_el0", "mrs {}, pmevcntr1_el0", out(reg) a, out(reg) b, options(nomem, nostack)) };
    (a, b)
}

/// 4 instructions per iteration (yield, sub, cmp-and-branch counted as one: subs + b.ne), so
/// 3 * n + a few.
#[inline(never)]
fn work(n: u64) {
    // SAFETY: a register-only loop.
    unsafe { asm!("1:", "yield", "subs {n}, {n}, #1", "b.ne 1b", n = inout(reg) n => _, options(nomem, nostack)) };
}

fn main(_dtb: usize) -> ! {
    gic::init_distributor(ivc_rt::PLATFORM.gic);
    gic::init_cpu();
    irq::enable();
    let ceid0: u64;
    // SAFETY: reading PMCEID0_EL0 has no side effects.
    unsafe { asm!("mrs {}, pmceid0_el0", out(reg) ceid0, options(nomem, nostack)) };
    println!("pmu_icount: PMCEID0_EL0={ceid0:#x} (INST_RETIRED implemented: {})", ceid0 >> 8 & 1);
    while uart::getc().is_none() {
        timer::sleep_ns(1_000_000);
    }
    cpu::start(1, core1);
    timer::sleep_ns(1_000_000);
    const N: u64 = 10_000;
    for (round, spin) in [(0, false), (1, true), (2, false), (3, true)] {
        SPIN.store(spin, Ordering::Release);
        program();
        let (a0, b0) = read();
        work(N);
        // Core 0 sleeps 1 ms in wfi: it executes a few dozen instructions, a spinning core 1
        // about 62 500 (16 ns each at shift=4).
        timer::sleep_ns(1_000_000);
        let (a1, b1) = read();
        println!(
            "pmu_icount: round {round} core 1 {}: EL1-only {} EL0-only {} (loop: {} instructions, then 1 ms asleep)",
            if spin { "spins" } else { "sleeps" },
            a1 - a0,
            b1 - b0,
            3 * N
        );
        SPIN.store(false, Ordering::Release);
        timer::sleep_ns(1_000_000);
    }
    psci::power_off()
}
