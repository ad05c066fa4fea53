//! Xen hypercalls on arm64: `hvc #0xEA1` with the number in x16, arguments in x0-x4, the result in
//! x0. Xen may clobber x1-x4 and x16 (debug builds poison unused argument registers), so all of
//! them are declared clobbered: a hypercall wrapper that forgets a clobber works until the
//! compiler keeps a value there.
//!
//! Numbers and structure layouts are facts of Xen's public ABI (xen/include/public/*.h).

use core::arch::asm;

pub const MEMORY_OP: u64 = 12;
pub const GRANT_TABLE_OP: u64 = 20;
pub const EVENT_CHANNEL_OP: u64 = 32;

pub const XENMEM_ADD_TO_PHYSMAP: u64 = 7;
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
pub const DOMID_SELF: u16 = 0x7FF0;

pub const EVTCHNOP_BIND_INTERDOMAIN: u64 = 0;
pub const EVTCHNOP_SEND: u64 = 4;
pub const EVTCHNOP_ALLOC_UNBOUND: u64 = 6;
pub const EVTCHNOP_UNMASK: u64 = 9;

pub const GNTTABOP_MAP_GRANT_REF: u64 = 0;
/// grant_entry_v1.flags: the peer may map this frame.
pub const GTF_PERMIT_ACCESS: u16 = 1;
/// gnttab_map_grant_ref.flags: map for access by the CPU at host_addr.
pub const GNTMAP_HOST_MAP: u32 = 1 << 1;

/// `op(cmd, arg, count)`: the calling convention of memory_op, grant_table_op and
/// event_channel_op. Returns Xen's result (0 or a negative errno).
///
/// # Safety
/// `arg` must point to the structure Xen expects for `op`/`cmd`, valid for reads and writes for
/// the duration of the call.
pub unsafe fn call(op: u64, cmd: u64, arg: *mut u8, count: u64) -> i64 {
    let ret: i64;
    // SAFETY: the caller guarantees `arg`; the hypercall touches no other guest memory; every
    // register Xen may change is an output or clobber here.
    unsafe {
        asm!(
            "hvc #0xEA1",
            inout("x0") cmd => ret,
            inout("x1") arg => _,
            inout("x2") count => _,
            lateout("x3") _,
            lateout("x4") _,
            inout("x16") op => _,
            options(nostack)
        )
    };
    ret
}

/// struct xen_add_to_physmap.
#[repr(C)]
pub struct AddToPhysmap {
    pub domid: u16,
    pub size: u16,
    pub space: u32,
    pub idx: u64,
    pub gpfn: u64,
}

/// struct evtchn_alloc_unbound: `port` is an output.
#[repr(C)]
pub struct AllocUnbound {
    pub dom: u16,
    pub remote_dom: u16,
    pub port: u32,
}

/// struct evtchn_bind_interdomain: `local_port` is an output.
#[repr(C)]
pub struct BindInterdomain {
    pub remote_dom: u16,
    pub _pad: u16,
    pub remote_port: u32,
    pub local_port: u32,
}

/// struct gnttab_map_grant_ref: `status`, `handle` and `dev_bus_addr` are outputs.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct MapGrantRef {
    pub host_addr: u64,
    pub flags: u32,
    pub gref: u32,
    pub dom: u16,
    pub status: i16,
    pub handle: u32,
    pub dev_bus_addr: u64,
}

const _: () = assert!(core::mem::size_of::<AddToPhysmap>() == 24);
const _: () = assert!(core::mem::size_of::<AllocUnbound>() == 8);
const _: () = assert!(core::mem::size_of::<BindInterdomain>() == 12);
const _: () = assert!(core::mem::size_of::<MapGrantRef>() == 32);

/// Runs a hypercall on one structure.
pub fn op<T>(op: u64, cmd: u64, arg: &mut T) -> i64 {
    // SAFETY: `arg` is a live, exclusively borrowed structure of the type Xen expects for this
    // op/cmd (each caller passes the matching repr(C) struct above).
    unsafe { call(op, cmd, arg as *mut T as *mut u8, 1) }
}

/// XENMEM_add_to_physmap of `space`/`idx` at guest-physical `gpa` of this domain.
pub fn add_to_physmap(space: u32, idx: u64, gpa: u64) -> i64 {
    let mut a = AddToPhysmap { domid: DOMID_SELF, size: 0, space, idx, gpfn: gpa >> 12 };
    op(MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, &mut a)
}

/// EVTCHNOP_send on `port`.
pub fn send(port: u32) -> i64 {
    let mut p = port;
    op(EVENT_CHANNEL_OP, EVTCHNOP_SEND, &mut p)
}
