//! Path-length markers (ivc_proto::pathlen): `hint` instructions the architecture executes as
//! NOPs. The path-length plugin on the QEMU testbed counts the instructions between them; on a
//! board they cost one instruction slot each.

pub use ivc_proto::pathlen::Mark;

/// Executes the marker `M` (a `Mark` as its `hint` immediate).
#[inline(always)]
pub fn mark<const M: u8>() {
    // Not `nomem`: the compiler must not move memory accesses across a marker, or a window would
    // lose (or gain) the work it brackets, such as a transfer chunk's writes.
    // SAFETY: an unallocated hint, executed as a NOP; it touches no register or memory.
    unsafe { core::arch::asm!("hint #{m}", m = const M, options(nostack, preserves_flags)) };
}

/// Opens the notification window (tx, just before the doorbell).
#[inline(always)]
pub fn begin() {
    mark::<{ Mark::Begin as u8 }>()
}

/// Closes tx's window (the doorbell call returned).
#[inline(always)]
pub fn tx_end() {
    mark::<{ Mark::TxEnd as u8 }>()
}

/// Closes rx's window (the acknowledgement is written).
#[inline(always)]
pub fn rx_ack() {
    mark::<{ Mark::RxAck as u8 }>()
}

/// Opens rx's window for a transfer chunk (rx found it).
#[inline(always)]
pub fn rx_start() {
    mark::<{ Mark::RxStart as u8 }>()
}

/// Opens a calibration window.
#[inline(always)]
pub fn cal_begin() {
    mark::<{ Mark::CalBegin as u8 }>()
}

/// Closes it.
#[inline(always)]
pub fn cal_end() {
    mark::<{ Mark::CalEnd as u8 }>()
}
