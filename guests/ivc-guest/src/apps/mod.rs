//! The protocol logic of each role, one short file each; the backend hides the hypervisor.

pub mod interf;
pub mod notif_rx;
pub mod notif_tx;
pub mod transfer_rx;
pub mod transfer_tx;
