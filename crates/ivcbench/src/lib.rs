//! ivcbench host side, laid out as the workflow goes: [`build`] the guest images, [`names`] and
//! configuration parameters, the generated hypervisor [`config`]urations, [`run`] them on a target ([`qemu`]) capturing the console, and
//! [`report`] on the captures.

pub mod build;
pub mod cli;
pub mod config;
pub mod names;
pub mod qemu;
pub mod report;
pub mod run;
pub mod xen;
