//! The console: whole lines under one lock, so records from several cores never interleave.

use crate::uart;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

static LOCKED: AtomicBool = AtomicBool::new(false);

/// Exclusive use of the console until dropped. Never taken in interrupt handlers.
pub struct Console(());

pub fn lock() -> Console {
    while LOCKED.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        crate::cpu::relax();
    }
    Console(())
}

impl Drop for Console {
    fn drop(&mut self) {
        LOCKED.store(false, Ordering::Release);
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(uart::putc);
        Ok(())
    }
}

/// Prints a line without the lock: for the last words of a guest that is about to stop, when
/// the lock may be held by the code that failed.
pub fn emergency(args: fmt::Arguments) {
    struct Raw;
    impl Write for Raw {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            s.bytes().for_each(uart::putc);
            Ok(())
        }
    }
    let _ = Raw.write_str("\r\n");
    let _ = Raw.write_fmt(args);
    let _ = Raw.write_str("\r\n");
}

/// Writes `s` under the lock (no line end added).
pub fn write_str(s: &str) {
    let _ = lock().write_str(s);
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let _ = lock().write_fmt(args);
}

/// Prints to the console under its lock.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::_print(format_args!($($arg)*)) };
}

/// Prints a line (CR LF) to the console under its lock.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\r\n") };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\r\n", format_args!($($arg)*))) };
}
