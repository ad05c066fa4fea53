//! A QEMU TCG plugin that measures path lengths: instructions per vCPU and per exception level
//! between the guests' markers (ivc_proto::pathlen says which windows). Load it with
//! `-plugin <libivc_pathlen.so>,out=<file>` under icount (round-robin TCG, one thread runs every
//! vCPU, so a marker reads every vCPU's counters at one moment); `ivcbench run --pathlen` does.
//!
//! How it counts: at translation, every instruction of a block gets a callback that adds 1 to its
//! vCPU's counter for the block's exception level (a block never spans two: QEMU keys blocks by
//! EL, so the EL read from PSTATE while the block is translated holds each time it runs). An
//! instruction is counted when it is attempted: one that faults to a higher EL (a trapped MMIO
//! access) counts once, even though the hypervisor then emulates it. Marker instructions also get
//! a callback that reads the counters.
//!
//! The declarations below are QEMU's plugin API, version 4 (QEMU 9.2 and 10.0), written from its
//! documented ABI; its symbols and GLib's resolve against QEMU when it loads the plugin.

use ivc_proto::pathlen::{self, core_rank, Calibration, CoreKey as Key, Mark, PerEl, Sample, CALIBRATIONS};
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

#[repr(C)]
struct GArray {
    data: *mut c_char,
    len: c_uint,
}

#[repr(C)]
struct GByteArray {
    data: *mut u8,
    len: c_uint,
}

#[repr(C)]
struct RegDescriptor {
    handle: *mut c_void,
    name: *const c_char,
    feature: *const c_char,
}

const CB_NO_REGS: c_uint = 0;
const CB_R_REGS: c_uint = 1;

extern "C" {
    fn qemu_plugin_register_vcpu_init_cb(id: u64, cb: extern "C" fn(u64, c_uint));
    fn qemu_plugin_register_vcpu_tb_trans_cb(id: u64, cb: extern "C" fn(u64, *mut c_void));
    fn qemu_plugin_register_atexit_cb(id: u64, cb: extern "C" fn(u64, *mut c_void), userdata: *mut c_void);
    fn qemu_plugin_register_vcpu_tb_exec_cb(tb: *mut c_void, cb: extern "C" fn(c_uint, *mut c_void), flags: c_uint, userdata: *mut c_void);
    fn qemu_plugin_tb_n_insns(tb: *const c_void) -> usize;
    fn qemu_plugin_tb_get_insn(tb: *const c_void, idx: usize) -> *mut c_void;
    fn qemu_plugin_insn_vaddr(insn: *const c_void) -> u64;
    fn qemu_plugin_insn_data(insn: *const c_void, dest: *mut c_void, len: usize) -> usize;
    fn qemu_plugin_register_vcpu_insn_exec_cb(
        insn: *mut c_void,
        cb: extern "C" fn(c_uint, *mut c_void),
        flags: c_uint,
        userdata: *mut c_void,
    );
    fn qemu_plugin_get_registers() -> *mut GArray;
    fn qemu_plugin_read_register(handle: *mut c_void, buf: *mut GByteArray) -> c_int;
    fn qemu_plugin_num_vcpus() -> c_int;
    fn qemu_plugin_outs(s: *const c_char);
    fn g_byte_array_new() -> *mut GByteArray;
    fn g_byte_array_set_size(a: *mut GByteArray, len: c_uint) -> *mut GByteArray;
    fn g_array_free(a: *mut GArray, free_segment: c_int) -> *mut c_char;
}

/// The plugin API version this plugin was written against.
#[no_mangle]
pub static qemu_plugin_version: c_int = 4;

/// Everything the callbacks share. QEMU calls them from its one round-robin thread under icount;
/// the lock keeps them sound should it ever not.
struct State {
    out: Option<std::fs::File>,
    header_done: bool,
    /// PSTATE's register handle (`cpsr` in QEMU's AArch64 register list).
    cpsr: *mut c_void,
    /// TPIDR_EL2's and TPIDR_EL1's handles (null where the CPU has no such register).
    tpidr: [*mut c_void; 2],
    /// TTBR0_EL2's handle: with TPIDR_EL2, the key of a hypervisor that maps its per-CPU data at
    /// one address on every core through per-CPU page tables (Bao).
    ttbr0_el2: *mut c_void,
    /// The identity keys seen, in order: a vCPU's number is its key's index.
    keys: Vec<Key>,
    buf: *mut GByteArray,
    /// Every vCPU's counts at the last [`Mark::Begin`].
    begin: Vec<PerEl>,
    /// Each vCPU's counts at its last [`Mark::IrqEntry`].
    irq_entry: Vec<PerEl>,
    /// The sample being assembled.
    pending: Option<Sample>,
    next_index: u64,
    cal_open: Option<(c_uint, PerEl)>,
    cal_done: usize,
    error: Option<String>,
    /// `trace=<window>`: the window whose instructions are listed (`T <vcpu> <el> <address>`
    /// lines after its `N` line), for reading a path against the code; slows every instruction.
    trace_window: Option<u64>,
    tracing: bool,
    trace: Vec<(c_uint, usize, u64)>,
}

// SAFETY: the raw pointers are QEMU's handles, used only under STATE's lock.
unsafe impl Send for State {}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// vCPUs counted; a vCPU beyond is counted with the last one (and said once).
const MAX_VCPUS: usize = 16;

/// Instructions per vCPU and EL. A callback per instruction rather than QEMU's inline scoreboard
/// add: with QEMU 10.0.2 under icount, inline per-vCPU adds crashed QEMU (SIGSEGV in generated
/// code) as soon as a second vCPU ran; a callback is slower but exact.
static COUNTS: [[AtomicU64; 4]; MAX_VCPUS] = [const { [const { AtomicU64::new(0) }; 4] }; MAX_VCPUS];

/// The vCPU running now, set at the start of every block (see `State::current_cpu`).
static CURRENT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_tb(_translated_by: c_uint, _: *mut c_void) {
    if let Some(s) = STATE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        CURRENT.store(s.current_cpu().min(MAX_VCPUS - 1), Relaxed);
    }
}

extern "C" fn on_insn(_translated_by: c_uint, el: *mut c_void) {
    COUNTS[CURRENT.load(Relaxed)][el as usize & 3].fetch_add(1, Relaxed);
}

/// With `trace=<window>`: an instruction's EL and address, for the traced callback.
struct Traced {
    el: usize,
    vaddr: u64,
}

/// Counts like [`on_insn`] and, while the traced window is open, logs the instruction.
extern "C" fn on_insn_traced(_translated_by: c_uint, t: *mut c_void) {
    // SAFETY: registered with a leaked `Box<Traced>`, which lives as long as the process.
    let t = unsafe { &*(t as *const Traced) };
    let vcpu = CURRENT.load(Relaxed) as c_uint;
    COUNTS[vcpu as usize][t.el].fetch_add(1, Relaxed);
    if let Some(s) = STATE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        if s.tracing {
            s.trace.push((vcpu, t.el, t.vaddr));
        }
    }
}

fn say(msg: &str) {
    let s = std::ffi::CString::new(format!("ivc-pathlen: {msg}\n")).unwrap_or_default();
    // SAFETY: a NUL-terminated string that lives across the call.
    unsafe { qemu_plugin_outs(s.as_ptr()) };
}

impl State {
    fn counts(&self, vcpu: c_uint) -> PerEl {
        let c = &COUNTS[(vcpu as usize).min(MAX_VCPUS - 1)];
        core::array::from_fn(|el| c[el].load(Relaxed))
    }

    fn all_counts(&self) -> Vec<PerEl> {
        (0..MAX_VCPUS as c_uint).map(|v| self.counts(v)).collect()
    }

    fn write(&mut self, line: &str) {
        let Some(out) = self.out.as_mut() else { return };
        let mut text = String::new();
        if !self.header_done {
            // SAFETY: no arguments.
            text += &pathlen::header_line(unsafe { qemu_plugin_num_vcpus() }.max(0) as u32);
            self.header_done = true;
        }
        text += line;
        // Written at once: QEMU may end by a semihosting exit or a guest power-off.
        if let Err(e) = out.write_all(text.as_bytes()) {
            self.error.get_or_insert(format!("writing the path-length file: {e}"));
            say(self.error.as_deref().unwrap_or(""));
            self.out = None;
        }
    }

    fn flush_pending(&mut self) {
        if let Some(s) = self.pending.take() {
            self.write(&pathlen::sample_line(&s));
        }
        if self.tracing {
            self.tracing = false;
            let trace = std::mem::take(&mut self.trace);
            let lines: String = trace.iter().map(|(v, el, a)| format!("T {} {el} {a:#x}\n", self.label(*v))).collect();
            self.write(&lines);
        }
    }

    fn mark(&mut self, vcpu: c_uint, m: Mark) {
        let now = self.counts(vcpu);
        let since = |then: &PerEl| -> PerEl { core::array::from_fn(|i| now[i].wrapping_sub(then[i])) };
        match m {
            Mark::Begin => {
                self.flush_pending();
                self.begin = self.all_counts();
                self.pending = Some(Sample { index: self.next_index, tx: None, rx: None });
                self.tracing = self.trace_window == Some(self.next_index);
                self.next_index += 1;
            }
            Mark::TxEnd => {
                let begin = self.begin.get(vcpu as usize).copied().unwrap_or(now);
                let label = self.label(vcpu);
                if let Some(p) = self.pending.as_mut().filter(|p| p.tx.is_none()) {
                    p.tx = Some((label, since(&begin)));
                }
            }
            // Both open rx's EL1 window: the later one counts (a transfer chunk taken in the
            // interrupt handler is counted from RxStart).
            Mark::IrqEntry | Mark::RxStart => {
                if self.irq_entry.len() <= vcpu as usize {
                    self.irq_entry.resize(vcpu as usize + 1, [0; 4]);
                }
                self.irq_entry[vcpu as usize] = now;
            }
            Mark::RxAck => {
                let begin = self.begin.get(vcpu as usize).copied().unwrap_or(now);
                let irq = self.irq_entry.get(vcpu as usize).copied().unwrap_or(begin);
                let (b, i) = (since(&begin), since(&irq));
                let label = self.label(vcpu);
                if let Some(p) = self.pending.as_mut().filter(|p| p.rx.is_none()) {
                    // The guest's EL1 from its IRQ vector; the hypervisor's levels from tx's
                    // doorbell: EL2, and EL0 where its VMM runs at user level (seL4's CAmkES
                    // VMM; ivc-rt's guests never enter EL0).
                    p.rx = Some((label, [b[0], i[1], b[2], b[3]]));
                }
                if self.pending.as_ref().is_some_and(|p| p.tx.is_some() && p.rx.is_some()) {
                    self.flush_pending();
                }
            }
            Mark::CalBegin => self.cal_open = Some((vcpu, now)),
            Mark::CalEnd => {
                if let Some((v, then)) = self.cal_open.take().filter(|(v, _)| *v == vcpu) {
                    let name = CALIBRATIONS.get(self.cal_done).copied().unwrap_or("extra");
                    self.cal_done += 1;
                    let c = Calibration { name: name.into(), cpu: self.label(v), counts: since(&then) };
                    self.write(&pathlen::calibration_line(&c));
                }
            }
        }
    }

    /// A register of the vCPU running (or translating) now, little-endian, up to 8 bytes.
    fn read(&mut self, handle: *mut c_void) -> Option<u64> {
        if handle.is_null() {
            return None;
        }
        // SAFETY: `buf` is our own GByteArray; `handle` one from qemu_plugin_get_registers;
        // called from a translation callback or a callback registered to read registers.
        unsafe {
            g_byte_array_set_size(self.buf, 0);
            let n = qemu_plugin_read_register(handle, self.buf);
            if n < 4 || (*self.buf).len < n as c_uint {
                return None;
            }
            let mut v = [0u8; 8];
            let len = (n as usize).min(8);
            v[..len].copy_from_slice(std::slice::from_raw_parts((*self.buf).data, len));
            Some(u64::from_le_bytes(v))
        }
    }

    /// The exception level of the vCPU translating now (PSTATE.EL, bits 3:2).
    fn current_el(&mut self) -> Option<usize> {
        self.read(self.cpsr).map(|v| ((v >> 2) & 3) as usize)
    }

    /// The number a vCPU is reported under: its key's rank among the keys seen (TPIDR_EL1 keys
    /// first, then TPIDR_EL2's by value and TTBR0_EL2), so that it does not depend on which core
    /// happened to run first. ivc-rt's keys are core + 1, so a core's number is its own; Xen's
    /// TPIDR_EL2 is its per-CPU offset, 0 on the boot CPU (which the TPIDR_EL1 fallback then
    /// names, as the lowest); Bao's is one address on every core, told apart by each core's page
    /// table (in core order). A boot-time key (TPIDR_EL2 set, TTBR0_EL2 not yet: Bao's boot code
    /// between the two writes) is left out of the ranking where the same TPIDR_EL2 later ran with
    /// a page table.
    fn label(&self, vcpu: c_uint) -> u32 {
        match self.keys.get(vcpu as usize) {
            Some(k) => core_rank(&self.keys, k),
            None => vcpu,
        }
    }

    /// Which vCPU runs now. QEMU 10.0's plugin callbacks are given the index of the vCPU that
    /// translated the block, not of the one running it, whenever TCG is not multi-threaded (and
    /// icount never is): blocks are shared between vCPUs. So each block's execution reads a
    /// per-CPU register instead: TPIDR_EL2 where a hypervisor keeps its per-CPU pointer there
    /// (Xen: a per-CPU offset; Bao: one address, mapped per core by per-CPU page tables, hence
    /// TTBR0_EL2 beside it), else TPIDR_EL1, which ivc-rt sets to the core number + 1 (and
    /// TPIDR_EL2 likewise when a board enters it at EL2). A vCPU's index is the order in which
    /// its key first ran; [`State::label`] numbers them.
    fn current_cpu(&mut self) -> usize {
        let key: Key = match self.read(self.tpidr[0]) {
            Some(v) if v != 0 => (2, v, self.read(self.ttbr0_el2).unwrap_or(0)),
            _ => (1, self.read(self.tpidr[1]).unwrap_or(0), 0),
        };
        // Before a key is set (boot code), the vCPU cannot be told: its instructions go to the
        // last slot, which no window uses.
        if key.1 == 0 {
            return MAX_VCPUS - 1;
        }
        match self.keys.iter().position(|k| *k == key) {
            Some(i) => i.min(MAX_VCPUS - 2),
            None => {
                self.keys.push(key);
                say(&format!("vCPU {} is the one with TPIDR_EL{}={:#x} (TTBR0_EL2={:#x})", self.keys.len() - 1, key.0, key.1, key.2));
                (self.keys.len() - 1).min(MAX_VCPUS - 2)
            }
        }
    }
}

extern "C" fn on_marker(_translated_by: c_uint, userdata: *mut c_void) {
    let Some(m) = Mark::ALL.into_iter().find(|m| *m as usize == userdata as usize) else { return };
    if let Some(s) = STATE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        s.mark(CURRENT.load(Relaxed) as c_uint, m);
    }
}

extern "C" fn on_vcpu_init(_id: u64, _vcpu: c_uint) {
    let mut g = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = g.as_mut() else { return };
    if !s.cpsr.is_null() {
        return;
    }
    // SAFETY: called in the vCPU's context, as qemu_plugin_get_registers wants; the array holds
    // RegDescriptors whose names are static strings; we free the array, not the strings.
    unsafe {
        let regs = qemu_plugin_get_registers();
        if regs.is_null() {
            return;
        }
        let d = std::slice::from_raw_parts((*regs).data as *const RegDescriptor, (*regs).len as usize);
        let find = |name: &[u8]| d.iter().find(|r| !r.name.is_null() && CStr::from_ptr(r.name).to_bytes() == name).map(|r| r.handle);
        s.cpsr = find(b"cpsr").unwrap_or(std::ptr::null_mut());
        s.tpidr = [find(b"TPIDR_EL2").unwrap_or(std::ptr::null_mut()), find(b"TPIDR_EL1").unwrap_or(std::ptr::null_mut())];
        s.ttbr0_el2 = find(b"TTBR0_EL2").unwrap_or(std::ptr::null_mut());
        g_array_free(regs, 1);
    }
    if s.cpsr.is_null() {
        say("no `cpsr` register on this target: cannot tell exception levels apart (an AArch64 guest is needed)");
    }
}

extern "C" fn on_translate(_id: u64, tb: *mut c_void) {
    let mut g = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = g.as_mut() else { return };
    // Without PSTATE every instruction counts as EL1's.
    let el = if s.cpsr.is_null() { 1 } else { s.current_el().unwrap_or(1) };
    let traced = s.trace_window.is_some();
    // SAFETY: `tb` is the block being translated; the callback reads registers, as it says.
    unsafe { qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb, CB_R_REGS, std::ptr::null_mut()) };
    // SAFETY: `tb` is the block being translated, valid during this callback, as are its
    // instruction handles; each instruction's data is at most 4 bytes on AArch64.
    unsafe {
        for i in 0..qemu_plugin_tb_n_insns(tb) {
            let insn = qemu_plugin_tb_get_insn(tb, i);
            if traced {
                let t = Box::into_raw(Box::new(Traced { el, vaddr: qemu_plugin_insn_vaddr(insn) }));
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn_traced, CB_NO_REGS, t as *mut c_void);
            } else {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, CB_NO_REGS, el as *mut c_void);
            }
            let mut word = [0u8; 4];
            if qemu_plugin_insn_data(insn, word.as_mut_ptr() as *mut c_void, 4) == 4 {
                if let Some(m) = Mark::from_encoding(u32::from_le_bytes(word)) {
                    // Registered after the count, so the marker's own instruction is included.
                    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, CB_NO_REGS, m as usize as *mut c_void);
                }
            }
        }
    }
}

extern "C" fn on_exit(_id: u64, _userdata: *mut c_void) {
    if let Some(s) = STATE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        s.flush_pending();
        if let Some(out) = s.out.as_mut() {
            let _ = out.flush();
        }
    }
}

/// QEMU's entry: `out=<file>` names the path-length file (created, truncated); `trace=<window>`
/// also lists that window's instructions (a diagnostic: ivcbench does not read them).
///
/// # Safety
/// Called by QEMU with `argv` holding `argc` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn qemu_plugin_install(id: u64, _info: *const c_void, argc: c_int, argv: *const *const c_char) -> c_int {
    let mut out = None;
    let mut trace_window = None;
    for i in 0..argc.max(0) as usize {
        // SAFETY: QEMU passes argc valid C strings.
        let arg = unsafe { CStr::from_ptr(*argv.add(i)) }.to_string_lossy().into_owned();
        if let Some(n) = arg.strip_prefix("trace=") {
            match n.parse() {
                Ok(n) => trace_window = Some(n),
                Err(_) => {
                    say(&format!("trace={n}: give a window number"));
                    return -1;
                }
            }
            continue;
        }
        match arg.strip_prefix("out=") {
            Some(path) => match std::fs::File::create(path) {
                Ok(f) => out = Some(f),
                Err(e) => {
                    say(&format!("cannot create {path}: {e}"));
                    return -1;
                }
            },
            None => {
                say(&format!("unknown argument `{arg}` (known: out=<file>, trace=<window>)"));
                return -1;
            }
        }
    }
    if out.is_none() {
        say("give out=<file> for the path lengths");
        return -1;
    }
    // SAFETY: plain API calls with our own callbacks, which live as long as the library.
    unsafe {
        let buf = g_byte_array_new();
        *STATE.lock().unwrap_or_else(|e| e.into_inner()) = Some(State {
            out,
            header_done: false,
            cpsr: std::ptr::null_mut(),
            tpidr: [std::ptr::null_mut(); 2],
            ttbr0_el2: std::ptr::null_mut(),
            keys: Vec::new(),
            buf,
            begin: Vec::new(),
            irq_entry: Vec::new(),
            pending: None,
            next_index: 0,
            cal_open: None,
            cal_done: 0,
            error: None,
            trace_window,
            tracing: false,
            trace: Vec::new(),
        });
        qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
        qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
        qemu_plugin_register_atexit_cb(id, on_exit, std::ptr::null_mut());
    }
    0
}
