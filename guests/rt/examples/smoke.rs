//! Smoke test of the runtime on QEMU virt: console, a key from the UART, SGIs between cores, timer
//! sleeps, PSCI CPU_ON and SYSTEM_OFF, and, on request, the fatal paths.
//!
//! Keys: any byte runs the test; `f` ends it with a translation fault instead, `p` with a panic.
//!
//! ```text
//! cd guests && cargo build --release -p ivc-rt --example smoke
//! aarch64-linux-gnu-objcopy -O binary target/aarch64-unknown-none/release/examples/smoke smoke.bin
//! printf s | qemu-system-aarch64 -M virt,gic-version=3 -cpu cortex-a57 -smp 3 -m 1G -nographic \
//!     -icount shift=4,sleep=off -kernel smoke.bin
//! ```
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use ivc_proto::platform::Gic;
use ivc_rt::{boot, cache, console, counter, cpu, gic, irq, pmu, println, psci, timer, uart, PLATFORM};

ivc_rt::entry!(main);

/// Counter value core 1 read in its SGI handler.
static STAMP: AtomicU64 = AtomicU64::new(0);
/// Set by core 1's SGI handler, cleared by core 0 before each round.
static SEEN: AtomicBool = AtomicBool::new(false);
/// Set by a secondary core when it is ready.
static READY: AtomicBool = AtomicBool::new(false);

/// QEMU virt with gic-version=2 has no GICv3 system registers (ID_AA64PFR0_EL1.GIC = 0) and puts
/// the GICv2 CPU interface 64 KiB above the distributor; a real guest learns this from its DTB.
fn gic_of_this_machine() -> Gic {
    let pfr0: u64;
    // SAFETY: reading ID_AA64PFR0_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, id_aa64pfr0_el1", out(reg) pfr0, options(nomem, nostack)) };
    match PLATFORM.gic {
        Gic::V3 { gicd, .. } if (pfr0 >> 24) & 0xf == 0 => Gic::V2 { gicd, gicc: gicd + 0x1_0000 },
        g => g,
    }
}

fn on_sgi(_: u32) {
    STAMP.store(counter::now(), Ordering::Relaxed);
    SEEN.store(true, Ordering::Release);
}

fn core1(core: usize) -> ! {
    irq::register(1, on_sgi);
    gic::enable(1, 0x80);
    println!("core {core} ready");
    READY.store(true, Ordering::Release);
    loop {
        cpu::wait_for_interrupt();
    }
}

fn core2(core: usize) -> ! {
    println!("core {} says hello (asked to run as {core})", cpu::id());
    READY.store(true, Ordering::Release);
    loop {
        cpu::wait_for_interrupt();
    }
}

/// Waits for `flag` at most 100 ms, yielding to the other vCPUs meanwhile.
fn wait(flag: &AtomicBool) -> bool {
    let end = timer::deadline(100_000_000);
    while !flag.load(Ordering::Acquire) {
        if timer::passed(end) {
            return false;
        }
        cpu::relax();
    }
    true
}

fn main(dtb: usize) -> ! {
    let g = gic_of_this_machine();
    gic::init_distributor(g);
    gic::init_cpu();
    irq::enable();
    println!("hello from core 0 at EL{}, CNTFRQ={} (dtb {dtb:#x}, {g:x?})", boot::entry_el(), counter::freq());
    println!("press a key");
    let key = loop {
        match uart::getc() {
            Some(b) => break b,
            None => timer::sleep_ns(1_000_000),
        }
    };
    println!("got {:?}", key as char);
    match key {
        // GiB 2 is not mapped on qemu-virt.
        // SAFETY: deliberately faulting read, to see the exception report; nothing is written.
        b'f' => unsafe { (0x8000_0000 as *const u32).read_volatile() },
        b'p' => panic!("as requested by key {:?}", key as char),
        _ => 0,
    };

    cpu::start(1, core1);
    assert!(wait(&READY), "core 1 did not come up");
    pmu::enable_cycle_counter();
    for round in 0..10 {
        SEEN.store(false, Ordering::Relaxed);
        let (c0, t0) = (pmu::cycles(), counter::now());
        gic::send_sgi(1, 1);
        assert!(wait(&SEEN), "no SGI answer in round {round}");
        let (t1, c1) = (counter::now(), pmu::cycles());
        let mut c = console::lock();
        let _ = write!(c, "round {round}: one-way {} ticks, round trip {} ticks", STAMP.load(Ordering::Relaxed) - t0, t1 - t0);
        let _ = write!(c, " ({} cycles)\r\n", c1 - c0);
        drop(c);
        let before = counter::now();
        timer::sleep_ns(10_000_000);
        let slept = counter::now() - before;
        assert!(slept >= timer::ticks(10_000_000), "woke after {slept} ticks");
    }
    cache::clean_invalidate_range(STAMP.as_ptr() as *const u8, 8);
    cache::invalidate_icache();

    READY.store(false, Ordering::Relaxed);
    cpu::start(2, core2);
    assert!(wait(&READY), "core 2 did not come up");
    console::write_str("smoke test done, powering off\r\n");
    psci::power_off()
}
