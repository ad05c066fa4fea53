//! PL011 (and the SBSA UART subset of it that hypervisors emulate, such as Xen's vpl011).
//! Registers from the PL011 TRM (DDI 0183): DR at 0x00, FR at 0x18.

use core::sync::atomic::{AtomicU64, Ordering};

const DR: u64 = 0x00;
const FR: u64 = 0x18;
const FR_TXFF: u32 = 1 << 5;
const FR_RXFE: u32 = 1 << 4;

static BASE: AtomicU64 = AtomicU64::new(crate::PLATFORM.uart_base);

/// Moves the console to another UART (a backend whose VM sees a virtual UART elsewhere).
pub fn set_base(base: u64) {
    BASE.store(base, Ordering::Relaxed);
}

fn reg(off: u64) -> *mut u32 {
    (BASE.load(Ordering::Relaxed) + off) as *mut u32
}

/// Writes one byte, waiting while the transmit FIFO is full.
pub fn putc(b: u8) {
    // SAFETY: FR and DR of the console UART, device-mapped; only the console (under its lock, or
    // the emergency path when the machine is about to stop) writes DR.
    unsafe {
        while reg(FR).read_volatile() & FR_TXFF != 0 {}
        reg(DR).write_volatile(b as u32);
    }
}

/// A received byte, or `None` while the receive FIFO is empty (RXFE set).
pub fn getc() -> Option<u8> {
    // SAFETY: FR and DR of the console UART; only the start-key wait reads DR.
    unsafe {
        if reg(FR).read_volatile() & FR_RXFE != 0 {
            None
        } else {
            Some(reg(DR).read_volatile() as u8)
        }
    }
}
