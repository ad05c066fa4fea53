//! ivcbench host side, laid out as the workflow goes: [`build`] the guest images; [`names`] and
//! the generated hypervisor [`config`]urations of each cell; [`run`] them on a target, the QEMU
//! [`testbed`] ([`qemu`], [`xen`], [`bao`], [`jailhouse`], [`sel4`]) or a board's [`serial`] console, cell by cell through the
//! [`matrix`] or on a [`lava`] farm, capturing the console; and [`report`] on the captures. The
//! [`demo`] does all of it on the QEMU testbed.

pub mod bao;
pub mod build;
pub mod cli;
pub mod config;
pub mod demo;
pub mod jailhouse;
pub mod keep;
pub mod lava;
pub mod matrix;
pub mod names;
pub mod pathlen;
pub mod pmu;
pub mod qemu;
pub mod report;
pub mod run;
pub mod sel4;
pub mod serial;
pub mod testbed;
pub mod xen;
