//! ivc-proto: the one definition of every format ivcbench's guests and host share.
//!
//! - [`layout`]: the shared region between tx and rx (control block, data buffer, data pattern);
//! - [`params`]: the run-parameter block the host patches into a guest image;
//! - [`platform`]: memory maps and devices of the supported boards;
//! - [`vm`]: what a VM sees of a board under each hypervisor, and the doorbell numbers;
//! - [`ivshmem`]: Jailhouse's ivshmem device: configuration-space walk, BARs, registers;
//! - [`capture`]: the capture format that guests print and the host decodes;
//! - [`histogram`]: the log-linear buckets of histogram mode;
//! - [`pmu`]: PMU events (table, filters, `--pmu-events` syntax, their place in the parameters);
//! - [`pathlen`]: path-length markers and the path-length plugin's file.
//!
//! `no_std`; the decoder needs the `alloc` feature. See docs/capture-format.md for the format.
#![no_std]
#![deny(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod capture;
pub mod histogram;
pub mod ivshmem;
pub mod layout;
pub mod params;
pub mod pathlen;
pub mod platform;
pub mod pmu;
pub mod vm;
