//! The shared region between tx and rx: a control block, then the data buffer.
//!
//! Fields that two sides write never share a cache line: tx's fields sit on one 64-byte line,
//! rx's on another, so a poll by one side never pulls the other's writes into a false-sharing
//! ping-pong that would be measured as communication cost.

use core::sync::atomic::AtomicU64;

/// Cache line size on every supported core (Cortex-A53/A57/A72).
pub const CACHE_LINE: usize = 64;
/// Bytes reserved for the control block at the start of the region.
pub const CONTROL_SIZE: usize = 4096;
/// Offset of the data buffer from the start of the region (as in the artifact: base + 4 KiB).
pub const DATA_OFFSET: usize = CONTROL_SIZE;
/// Size of the data buffer: the largest transfer buffer.
pub const DATA_SIZE: usize = 16 << 20;
/// The whole shared region.
pub const SHMEM_SIZE: usize = CONTROL_SIZE + DATA_SIZE;

/// Offset in the control page of the word that `Fault::ResetGuest` sets before resetting, so
/// that the restarted guest does not reset again (RAM survives a reset; the image is reloaded).
pub const RESET_MARK_OFFSET: usize = CONTROL_SIZE - 8;
/// The value of that word once the guest has reset itself.
pub const RESET_MARK: u64 = 0x5245_5345_5444_4f4e; // "RESETDON"

/// Written by rx once it is ready to take notifications; tx waits for it before the first sample.
pub const RX_READY: u64 = 0x5258_5245_4144_5921; // "RXREADY!"

/// Fields only tx writes.
#[repr(C, align(64))]
#[derive(Default)]
pub struct TxLine {
    /// notif: sequence number of the notification in flight (1-based; 0 = none yet).
    /// transfer: sequence number of the chunk just written.
    pub seq: AtomicU64,
    /// transfer: length of that chunk in bytes.
    pub len: AtomicU64,
    /// transfer (polling): set to `seq` when the chunk is ready; rx polls it.
    pub flag: AtomicU64,
    /// Set to 1 when tx has finished the run and rx may stop.
    pub done: AtomicU64,
}

/// Words of the shared data buffer, as `u64`s (rx checks each against [`pattern_word`]).
pub const DATA_WORDS: usize = DATA_SIZE / 8;

/// Fields only rx writes.
#[repr(C, align(64))]
#[derive(Default)]
pub struct RxLine {
    /// [`RX_READY`] once rx's handler is installed.
    pub ready: AtomicU64,
    /// Sequence number of the last notification or chunk rx has handled.
    pub ack: AtomicU64,
    /// notif: counter value at the entry of rx's handler for `ack`.
    pub handler_ts: AtomicU64,
    /// transfer: chunks whose contents matched the expected pattern.
    pub verified: AtomicU64,
    /// transfer: chunks whose contents did not (never turned into a throughput figure).
    pub bad: AtomicU64,
    /// notif: doorbells rx's handler took that carried a new sequence number.
    pub handled: AtomicU64,
}

/// Fields a backend uses to set up its doorbell and mapping (event-channel ports, grant
/// references); written by one side before the run, read by the other.
#[repr(C, align(64))]
#[derive(Default)]
pub struct SetupLine {
    pub words: [AtomicU64; 8],
}

/// The control block at the start of the shared region.
#[repr(C)]
#[derive(Default)]
pub struct ControlBlock {
    pub tx: TxLine,
    pub rx: RxLine,
    pub setup_tx: SetupLine,
    pub setup_rx: SetupLine,
}

const _: () = assert!(core::mem::size_of::<ControlBlock>() <= RESET_MARK_OFFSET);
const _: () = assert!(core::mem::size_of::<TxLine>() == CACHE_LINE);
const _: () = assert!(core::mem::size_of::<RxLine>() == CACHE_LINE);

/// The interferer's status page, for hypervisors whose interferer VM has no console of its own
/// (one UART each for tx and rx): the interferer counts its passes here and tx reports them
/// before its end record, so the interference applied is on record there too. Shared by tx and
/// the interferer only, at [`interf_status_base`].
#[repr(C, align(64))]
#[derive(Default)]
pub struct InterfStatus {
    /// Passes over the buffer so far.
    pub passes: AtomicU64,
    /// The counter at the last pass.
    pub t: AtomicU64,
    /// The buffer's size in bytes.
    pub bytes: AtomicU64,
    /// The counter when the interferer started.
    pub t0: AtomicU64,
}

/// Size of the status page's region.
pub const INTERF_STATUS_SIZE: usize = 4096;

/// Where the status page is in a VM's view: the page right after the shared region.
pub const fn interf_status_base(shmem_base: u64) -> u64 {
    shmem_base + SHMEM_SIZE as u64
}

const _: () = assert!(SHMEM_SIZE.is_multiple_of(4096), "the status page must start on a page");

/// The word rx expects at `index` (in 8-byte words) of chunk `seq`. tx writes it, rx checks it:
/// a chunk whose every word matches was really delivered, so a figure never comes from data that
/// did not arrive. Cheap enough to generate at memory speed (a multiply and two xors per word).
#[inline(always)]
pub const fn pattern_word(seq: u64, index: u64) -> u64 {
    (seq << 40) ^ (index.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 8) ^ index
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn writers_never_share_a_line() {
        assert_eq!(offset_of!(ControlBlock, tx), 0);
        assert_eq!(offset_of!(ControlBlock, rx), CACHE_LINE);
        assert_eq!(offset_of!(ControlBlock, setup_tx), 2 * CACHE_LINE);
        assert_eq!(offset_of!(ControlBlock, setup_rx), 3 * CACHE_LINE);
    }

    #[test]
    fn pattern_differs_between_chunks_and_words() {
        assert_ne!(pattern_word(1, 0), pattern_word(2, 0));
        assert_ne!(pattern_word(1, 0), pattern_word(1, 1));
        assert_ne!(pattern_word(1, 5), pattern_word(1, 6));
    }
}
