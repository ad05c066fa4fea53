//! ivcbench's guest. One image per backend and platform; the parameter block the host patches in
//! says which experiment and role this copy runs (see ivc_proto::params).
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod apps;
mod backend;
mod out;
mod pmu;

use backend::{Active, Backend};
use ivc_proto::params::{self, flag, Experiment, Params, Role};

/// The run's parameters, patched into the image by `ivcbench run` (found by their magic).
#[used]
#[link_section = ".rodata.ivc_params"]
static PARAMS: [u8; params::SIZE] = Params::DEFAULT.encode();

fn params() -> Params {
    // SAFETY: PARAMS is our own immutable static; the volatile read makes the compiler read the
    // bytes the host patched into the image instead of folding in the initialiser.
    let bytes = unsafe { core::ptr::read_volatile(&raw const PARAMS) };
    match Params::decode(&bytes) {
        Ok(p) => p,
        Err(e) => panic!("bad parameter block: {e}"),
    }
}

ivc_rt::entry!(main);

fn main(_dtb: usize) -> ! {
    let p = params();
    Active::init(p.role);
    match p.role {
        Role::All | Role::Tx => {
            // The run starts when the host (or a person) says so. rx and the interferer of the
            // all-in-one image start only then, so that under QEMU's icount the state at the start
            // does not depend on when the key arrived, and two runs give the same samples.
            out::wait_for_start();
            if p.role == Role::All {
                Active::start_peers(&p);
            }
            tx(&p)
        }
        Role::Rx => rx(&p),
        Role::Interf => apps::interf::run(&p),
    }
    Active::finish(&p)
}

fn tx(p: &Params) {
    match p.experiment {
        Experiment::Notif => apps::notif_tx::run(p),
        Experiment::Transfer => apps::transfer_tx::run(p),
    }
}

/// rx's entry, also used by backends that start rx on another core.
pub fn rx(p: &Params) -> ! {
    match p.experiment {
        Experiment::Notif => apps::notif_rx::run(p),
        Experiment::Transfer => apps::transfer_rx::run(p),
    }
}

/// Whether the run ends by turning the machine off (the QEMU testbed) or stays up (a board).
pub fn power_off_at_end(p: &Params) -> bool {
    p.has(flag::POWER_OFF)
}
