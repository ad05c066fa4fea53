//! Xen (dom0less): tx, rx and the interferer are domUs 1, 2 and 3, in the order of the domain nodes
//! ivcbench writes into Xen's device tree.
//!
//! Shared memory: tx grants the pages of its region (control block + data) to rx through grant
//! table v1 entries; rx maps them with GNTTABOP_map_grant_ref at the same guest-physical address,
//! just above its own RAM. Doorbell: an interdomain event channel set up at run time: tx allocates
//! an unbound port for rx and publishes it in the control block; rx binds to it and only then says
//! it is ready, so no event can arrive before rx knows its port. rx takes events on the
//! event-channel PPI through `shared_info`.
//!
//! The interferer's status page (ivc_proto::layout::InterfStatus): a page of the interferer's own
//! RAM that it grants to tx, which maps it; the interferer counts its passes there instead of
//! printing them through Xen's console, where every line is a trap and a console-lock hold that
//! perturb tx and rx. tx waits, before its start prompt, until the interferer has begun
//! sweeping (its console lines are then all out): while ivcbench moves Xen's input focus through
//! the domains to start tx, a domain that prints would have its bytes mixed into other lines.

mod hypercall;

use super::Backend;
use core::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use hypercall as hc;
use ivc_proto::layout::{ControlBlock, InterfStatus, SHMEM_SIZE};
use ivc_proto::params::{flag, Params, Role};
use ivc_rt::{gic, irq, semihosting, timer, uart, PLATFORM};

/// The PPI Xen raises for pending events.
const EVTCHN_PPI: u32 = ivc_proto::vm::xen::EVTCHN_PPI;
/// Domain ids, by the order of the domain nodes.
const TX_DOMID: u16 = 1;
const RX_DOMID: u16 = 2;
const INTERF_DOMID: u16 = 3;
/// Guest-physical addresses for Xen's pages, above every domU's RAM and inside the normal-memory
/// GiB of the identity map.
const SHARED_INFO_GPA: u64 = 0x5000_0000;
const GNTTAB_GPA: u64 = 0x5010_0000;
/// Where tx maps the interferer's status page (clear of the grant-table frames above).
const STATUS_GPA: u64 = 0x5040_0000;
/// First grant reference used (0-7 are reserved by convention for toolstacks).
const FIRST_REF: u32 = 8;
/// Pages of the shared region, each one grant.
const PAGES: u32 = SHMEM_SIZE.div_ceil(4096) as u32;
/// grant_entry_v1 entries per 4 KiB grant-table frame.
const ENTRIES_PER_FRAME: u32 = 4096 / 8;
/// Marks the setup words once tx has granted every page and allocated the port.
const SETUP_READY: u64 = 0x5845_4E52_4541_4459; // "XENREADY"
/// Offsets in shared_info on arm64: one legacy vcpu_info of 48 bytes (upcall_pending at 0, the
/// arch part empty), then the pending and mask bitmaps of 64 words each.
const VCPU_PENDING_SEL: usize = 8;
const EVTCHN_PENDING: usize = 48;
const EVTCHN_MASK: usize = EVTCHN_PENDING + 64 * 8;

static TX_PORT: AtomicU32 = AtomicU32::new(0);
/// This domain's role (Role as u8), set by init.
static ROLE: AtomicU8 = AtomicU8::new(0);
/// Whether the status page is set up in this domain (granted by interf, mapped by tx).
static STATUS_READY: AtomicBool = AtomicBool::new(false);

/// The interferer's status page, alone in a page of its RAM (the page is what it grants).
#[repr(C, align(4096))]
struct StatusPage(InterfStatus);

static STATUS_PAGE: StatusPage =
    StatusPage(InterfStatus { passes: AtomicU64::new(0), t: AtomicU64::new(0), bytes: AtomicU64::new(0), t0: AtomicU64::new(0) });
static RX_PORT: AtomicU32 = AtomicU32::new(0);
/// rx's doorbell handler, as the address of an `fn(u32)`.
static ON_EVENT: AtomicUsize = AtomicUsize::new(0);

pub struct Xen;

fn shared_info_u64(off: usize) -> &'static AtomicU64 {
    // SAFETY: shared_info is mapped at SHARED_INFO_GPA (normal memory) by setup_rx before the
    // event PPI is enabled, and stays mapped; Xen and this vCPU update it with atomic operations.
    unsafe { AtomicU64::from_ptr((SHARED_INFO_GPA as usize + off) as *mut u64) }
}

fn fail(what: &str, rc: i64) -> ! {
    panic!("xen: {what} failed ({rc})")
}

/// The event-channel upcall: clear the vCPU's pending flag, then take every pending, unmasked port.
fn upcall(_ppi: u32) {
    // SAFETY: byte 0 of shared_info is this vCPU's evtchn_upcall_pending, mapped as above.
    unsafe { AtomicU8::from_ptr(SHARED_INFO_GPA as *mut u8).store(0, Ordering::Release) };
    let sel = shared_info_u64(VCPU_PENDING_SEL).swap(0, Ordering::AcqRel);
    let mut words = sel;
    while words != 0 {
        let w = words.trailing_zeros() as usize;
        words &= words - 1;
        let pending = shared_info_u64(EVTCHN_PENDING + w * 8);
        let mut ports = pending.load(Ordering::Acquire) & !shared_info_u64(EVTCHN_MASK + w * 8).load(Ordering::Relaxed);
        while ports != 0 {
            let b = ports.trailing_zeros();
            ports &= ports - 1;
            pending.fetch_and(!(1 << b), Ordering::AcqRel);
            let port = w as u32 * 64 + b;
            if port == RX_PORT.load(Ordering::Relaxed) {
                let f = ON_EVENT.load(Ordering::Acquire);
                if f != 0 {
                    // SAFETY: ON_EVENT only ever holds 0 or an `fn(u32)` stored by setup_rx.
                    let handler: fn(u32) = unsafe { core::mem::transmute::<usize, fn(u32)>(f) };
                    handler(port);
                }
            }
        }
    }
}

impl Backend for Xen {
    const NAME: &'static str = "xen";
    const COMMON_COUNTER: bool = true;

    fn init(role: Role) {
        // PLATFORM is Xen's guest view (ivc_proto::vm::view): every domU has its own vpl011, and
        // the vGIC is at Xen's addresses.
        ROLE.store(role as u8, Ordering::Relaxed);
        uart::init();
        super::init_gic();
        if role == Role::Tx && crate::params().has(flag::INTERF) {
            // Before the start prompt: the interferer has printed all it prints once it sweeps.
            let st = Self::interf_status().expect("tx maps the status page");
            while st.passes.load(Ordering::Acquire) == 0 {
                timer::sleep_ns(1_000_000);
            }
        }
    }

    fn interf_status() -> Option<&'static InterfStatus> {
        let role = ROLE.load(Ordering::Relaxed);
        if role != Role::Tx as u8 && role != Role::Interf as u8 {
            return None;
        }
        if STATUS_READY.load(Ordering::Acquire) {
            // Set up already.
        } else if role == Role::Interf as u8 {
            grant_status_page();
        } else {
            // The interferer boots alongside: retry until it has granted the page.
            let mut tries = 0;
            loop {
                match map_one(STATUS_GPA, INTERF_DOMID, FIRST_REF) {
                    0 => break,
                    rc if tries == 1000 => fail("mapping the interferer's status page (is it domain 3?)", rc),
                    _ => tries += 1,
                }
                timer::sleep_ns(10_000_000);
            }
        }
        STATUS_READY.store(true, Ordering::Release);
        if role == Role::Interf as u8 {
            Some(&STATUS_PAGE.0)
        } else {
            // SAFETY: the interferer's granted page, mapped at STATUS_GPA (normal memory) above and
            // never unmapped; it is only accessed through InterfStatus's atomics.
            Some(unsafe { &*(STATUS_GPA as *const InterfStatus) })
        }
    }

    fn finish(p: &Params) -> ! {
        if p.has(flag::POWER_OFF) {
            // Turning one domU off leaves Xen and the other domUs running: end the emulation.
            semihosting::exit(0);
        }
        loop {
            ivc_rt::cpu::wait_for_interrupt();
        }
    }

    fn setup_tx() -> *mut u8 {
        let base = PLATFORM.shmem_base;
        // SAFETY: the shared region is tx's own RAM (its domain has enough memory for it); nobody
        // else can see it until the grants below exist, so zeroing the control block is private.
        unsafe { core::ptr::write_bytes(base as *mut u8, 0, core::mem::size_of::<ControlBlock>()) };
        let frames = (FIRST_REF + PAGES).div_ceil(ENTRIES_PER_FRAME);
        for f in 0..frames {
            let rc = hc::add_to_physmap(hc::XENMAPSPACE_GRANT_TABLE, f as u64, GNTTAB_GPA + f as u64 * 4096);
            if rc != 0 {
                fail("mapping grant-table frame", rc);
            }
        }
        for page in 0..PAGES {
            let entry = GNTTAB_GPA as usize + (FIRST_REF + page) as usize * 8;
            // SAFETY: grant_entry_v1 {flags: u16, domid: u16, frame: u32} in our own grant table,
            // mapped above; Xen reads it when rx maps. domid and frame are written before flags
            // (release), so Xen never sees a permitted entry with a stale frame.
            unsafe {
                AtomicU16::from_ptr((entry + 2) as *mut u16).store(RX_DOMID, Ordering::Relaxed);
                AtomicU32::from_ptr((entry + 4) as *mut u32).store(((base >> 12) + page as u64) as u32, Ordering::Relaxed);
                AtomicU16::from_ptr(entry as *mut u16).store(hc::GTF_PERMIT_ACCESS, Ordering::Release);
            }
        }
        let mut a = hc::AllocUnbound { dom: hc::DOMID_SELF, remote_dom: RX_DOMID, port: 0 };
        let rc = hc::op(hc::EVENT_CHANNEL_OP, hc::EVTCHNOP_ALLOC_UNBOUND, &mut a);
        if rc != 0 {
            fail("EVTCHNOP_alloc_unbound", rc);
        }
        TX_PORT.store(a.port, Ordering::Relaxed);
        let ctl = super::control(base as *mut u8);
        ctl.setup_tx.words[0].store(a.port as u64, Ordering::Relaxed);
        ctl.setup_tx.words[1].store(SETUP_READY, Ordering::Release);
        base as *mut u8
    }

    fn setup_rx(on_doorbell: fn(u32)) -> *mut u8 {
        let base = PLATFORM.shmem_base;
        let rc = hc::add_to_physmap(hc::XENMAPSPACE_SHARED_INFO, 0, SHARED_INFO_GPA);
        if rc != 0 {
            fail("mapping shared_info", rc);
        }
        ON_EVENT.store(on_doorbell as usize, Ordering::Release);
        irq::register(EVTCHN_PPI, upcall);
        gic::enable(EVTCHN_PPI, 0x80);
        // The control block's page first, retried until tx has granted it (the domains boot
        // independently), then the rest once tx says every page is granted.
        while map(base, 0, 1) != 0 {
            timer::sleep_ns(10_000_000);
        }
        let ctl = super::control(base as *mut u8);
        while ctl.setup_tx.words[1].load(Ordering::Acquire) != SETUP_READY {
            timer::sleep_ns(1_000_000);
        }
        let mut page = 1;
        while page < PAGES {
            let n = (PAGES - page).min(64);
            let rc = map(base, page, n);
            if rc != 0 {
                fail("GNTTABOP_map_grant_ref", rc);
            }
            page += n;
        }
        let mut b = hc::BindInterdomain {
            remote_dom: TX_DOMID,
            _pad: 0,
            remote_port: ctl.setup_tx.words[0].load(Ordering::Relaxed) as u32,
            local_port: 0,
        };
        let rc = hc::op(hc::EVENT_CHANNEL_OP, hc::EVTCHNOP_BIND_INTERDOMAIN, &mut b);
        if rc != 0 {
            fail("EVTCHNOP_bind_interdomain", rc);
        }
        RX_PORT.store(b.local_port, Ordering::Relaxed);
        let word = EVTCHN_MASK + (b.local_port / 64) as usize * 8;
        shared_info_u64(word).fetch_and(!(1 << (b.local_port % 64)), Ordering::AcqRel);
        let mut port = b.local_port;
        let rc = hc::op(hc::EVENT_CHANNEL_OP, hc::EVTCHNOP_UNMASK, &mut port);
        if rc != 0 {
            fail("EVTCHNOP_unmask", rc);
        }
        base as *mut u8
    }

    fn ring() {
        let rc = hc::send(TX_PORT.load(Ordering::Relaxed));
        if rc != 0 {
            fail("EVTCHNOP_send", rc);
        }
    }

    fn placement() -> &'static str {
        "tx:dom1,rx:dom2,interf:dom3"
    }
}

/// The interferer grants its status page to tx (reference FIRST_REF in its own grant table).
fn grant_status_page() {
    let rc = hc::add_to_physmap(hc::XENMAPSPACE_GRANT_TABLE, 0, GNTTAB_GPA);
    if rc != 0 {
        fail("mapping grant-table frame", rc);
    }
    let frame = (&raw const STATUS_PAGE as u64) >> 12;
    let entry = GNTTAB_GPA as usize + FIRST_REF as usize * 8;
    // SAFETY: grant_entry_v1 FIRST_REF of our own grant table, mapped above; domid and frame
    // before flags (release), as in setup_tx. The page is STATUS_PAGE (identity-mapped RAM).
    unsafe {
        AtomicU16::from_ptr((entry + 2) as *mut u16).store(TX_DOMID, Ordering::Relaxed);
        AtomicU32::from_ptr((entry + 4) as *mut u32).store(frame as u32, Ordering::Relaxed);
        AtomicU16::from_ptr(entry as *mut u16).store(hc::GTF_PERMIT_ACCESS, Ordering::Release);
    }
}

/// Maps grant `gref` of domain `dom` at `addr`. Returns 0, or the failing status.
fn map_one(addr: u64, dom: u16, gref: u32) -> i64 {
    let mut op = hc::MapGrantRef { host_addr: addr, flags: hc::GNTMAP_HOST_MAP, gref, dom, ..Default::default() };
    // SAFETY: `op` is one gnttab_map_grant_ref structure, live for the call.
    let rc = unsafe { hc::call(hc::GRANT_TABLE_OP, hc::GNTTABOP_MAP_GRANT_REF, (&raw mut op) as *mut u8, 1) };
    if rc != 0 {
        return rc;
    }
    op.status as i64
}

/// Maps `count` of tx's granted pages, starting at `first`, at the same addresses in rx.
/// Returns 0, or the first failing status.
fn map(base: u64, first: u32, count: u32) -> i64 {
    let mut ops = [hc::MapGrantRef::default(); 64];
    let n = count.min(64) as usize;
    for (i, op) in ops[..n].iter_mut().enumerate() {
        let page = first + i as u32;
        *op = hc::MapGrantRef {
            host_addr: base + page as u64 * 4096,
            flags: hc::GNTMAP_HOST_MAP,
            gref: FIRST_REF + page,
            dom: TX_DOMID,
            ..Default::default()
        };
    }
    // SAFETY: `ops` holds `n` gnttab_map_grant_ref structures, live for the call.
    let rc = unsafe { hc::call(hc::GRANT_TABLE_OP, hc::GNTTABOP_MAP_GRANT_REF, ops.as_mut_ptr() as *mut u8, n as u64) };
    if rc != 0 {
        return rc;
    }
    ops[..n].iter().find(|o| o.status != 0).map_or(0, |o| o.status as i64)
}
