//! The console UART: PL011 (and the SBSA subset of it that hypervisors emulate, such as Xen's
//! vpl011) or the Cadence UART of the Zynq UltraScale+ MPSoC. Both are left set up by the firmware
//! (QEMU, U-Boot, the hypervisor); the guest only moves bytes.
//!
//! - PL011 (TRM DDI 0183): DR at 0x00; FR at 0x18 with TXFF (bit 5) and RXFE (bit 4).
//! - Cadence (ZynqMP TRM UG1087, UART): TX_RX_FIFO at 0x30; Channel_sts at 0x2C with TFUL (bit 4)
//!   and REMPTY (bit 1); Control at 0x00 with RXEN (bit 2) and TXEN (bit 4).

use crate::PLATFORM;
use core::sync::atomic::{AtomicU64, Ordering};
use ivc_proto::platform::UartKind;

/// Data register, status register, "transmit FIFO full" bit, "receive FIFO empty" bit.
struct Regs {
    data: u64,
    status: u64,
    tx_full: u32,
    rx_empty: u32,
}

const REGS: Regs = match PLATFORM.uart_kind {
    UartKind::Cadence => Regs { data: 0x30, status: 0x2C, tx_full: 1 << 4, rx_empty: 1 << 1 },
    UartKind::Pl011 | UartKind::None => Regs { data: 0x00, status: 0x18, tx_full: 1 << 5, rx_empty: 1 << 4 },
};

/// The console's base address; 0 while the console is off.
static BASE: AtomicU64 = AtomicU64::new(match PLATFORM.uart_kind {
    UartKind::None => 0,
    _ => PLATFORM.uart_base,
});

/// Makes sure the console can move bytes. The Cadence UART comes out of reset with its
/// transmitter and receiver disabled (QEMU's model does, and a board without U-Boot's console
/// would); writing RXEN | TXEN enables both and leaves the line settings alone. A PL011 is left as
/// the firmware set it.
pub fn init() {
    let base = BASE.load(Ordering::Relaxed);
    if base != 0 && PLATFORM.uart_kind == UartKind::Cadence {
        // SAFETY: the Control register of the console UART (device memory); writing only the
        // enable bits issues no reset and no break. Called before any output on this UART.
        unsafe { reg(base, 0x00).write_volatile((1 << 2) | (1 << 4)) };
    }
}

/// Moves the console to another UART of the same kind (the board's second UART, for a VM that
/// has that one), or turns it off with 0 (a VM that has no UART of its own: writes are dropped).
pub fn set_base(base: u64) {
    BASE.store(base, Ordering::Relaxed);
    init();
}

fn reg(base: u64, off: u64) -> *mut u32 {
    (base + off) as *mut u32
}

/// Writes one byte, waiting while the transmit FIFO is full.
pub fn putc(b: u8) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: the status and data registers of the console UART, which the platform's view maps as
    // device memory; only the console (under its lock, or the emergency path when the machine is
    // about to stop) writes the data register.
    unsafe {
        while reg(base, REGS.status).read_volatile() & REGS.tx_full != 0 {}
        reg(base, REGS.data).write_volatile(b as u32);
    }
}

/// A received byte, or `None` while the receive FIFO is empty (or the console is off).
pub fn getc() -> Option<u8> {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return None;
    }
    // SAFETY: the status and data registers of the console UART, as above; only the start-key
    // wait reads the data register.
    unsafe {
        if reg(base, REGS.status).read_volatile() & REGS.rx_empty != 0 {
            None
        } else {
            Some(reg(base, REGS.data).read_volatile() as u8)
        }
    }
}
