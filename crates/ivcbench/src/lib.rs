//! ivcbench host side, laid out as the workflow goes: [`build`] the guest images, [`names`] and
//! configuration parameters, the generated hypervisor [`config`]urations, [`run`] them on a target ([`qemu`], or a board's
//! [`serial`] console) capturing the console, cell by cell through the [`matrix`], or on a [`lava`] farm, and
//! [`report`] on the captures.

pub mod build;
pub mod cli;
pub mod config;
pub mod lava;
pub mod matrix;
pub mod names;
pub mod qemu;
pub mod report;
pub mod run;
pub mod testbed;
pub mod serial;
pub mod xen;
