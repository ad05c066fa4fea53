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

use ivc_proto::pathlen::{self, Calibration, Mark, PerEl, Sample, CALIBRATIONS};
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
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

extern "C" {
    fn qemu_plugin_register_vcpu_init_cb(id: u64, cb: extern "C" fn(u64, c_uint));
    fn qemu_plugin_register_vcpu_tb_trans_cb(id: u64, cb: extern "C" fn(u64, *mut c_void));
    fn qemu_plugin_register_atexit_cb(id: u64, cb: extern "C" fn(u64, *mut c_void), userdata: *mut c_void);
    fn qemu_plugin_tb_n_insns(tb: *const c_void) -> usize;
    fn qemu_plugin_tb_get_insn(tb: *const c_void, idx: usize) -> *mut c_void;
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

extern "C" fn on_insn(vcpu: c_uint, el: *mut c_void) {
    COUNTS[(vcpu as usize).min(MAX_VCPUS - 1)][el as usize & 3].fetch_add(1, Relaxed);
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
        // SAFETY: no arguments; called in a vCPU callback.
        let n = unsafe { qemu_plugin_num_vcpus() }.max(0) as c_uint;
        (0..n).map(|v| self.counts(v)).collect()
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
    }

    fn mark(&mut self, vcpu: c_uint, m: Mark) {
        let now = self.counts(vcpu);
        let since = |then: &PerEl| -> PerEl { core::array::from_fn(|i| now[i].wrapping_sub(then[i])) };
        match m {
            Mark::Begin => {
                self.flush_pending();
                self.begin = self.all_counts();
                self.pending = Some(Sample { index: self.next_index, tx: None, rx: None });
                self.next_index += 1;
            }
            Mark::TxEnd => {
                let begin = self.begin.get(vcpu as usize).copied().unwrap_or(now);
                if let Some(p) = self.pending.as_mut().filter(|p| p.tx.is_none()) {
                    p.tx = Some((vcpu, since(&begin)));
                }
            }
            Mark::IrqEntry => {
                if self.irq_entry.len() <= vcpu as usize {
                    self.irq_entry.resize(vcpu as usize + 1, [0; 4]);
                }
                self.irq_entry[vcpu as usize] = now;
            }
            Mark::RxAck => {
                let begin = self.begin.get(vcpu as usize).copied().unwrap_or(now);
                let irq = self.irq_entry.get(vcpu as usize).copied().unwrap_or(begin);
                let (b, i) = (since(&begin), since(&irq));
                if let Some(p) = self.pending.as_mut().filter(|p| p.rx.is_none()) {
                    // EL0/EL1 from the guest's IRQ vector, EL2/EL3 from tx's doorbell.
                    p.rx = Some((vcpu, [i[0], i[1], b[2], b[3]]));
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
                    let c = Calibration { name: name.into(), cpu: v, counts: since(&then) };
                    self.write(&pathlen::calibration_line(&c));
                }
            }
        }
    }

    /// The exception level of the vCPU translating now (PSTATE.EL, bits 3:2).
    fn current_el(&mut self) -> Option<usize> {
        // SAFETY: `buf` is our own GByteArray; `cpsr` a handle from qemu_plugin_get_registers;
        // called from the translation callback, in the translating vCPU's context.
        unsafe {
            g_byte_array_set_size(self.buf, 0);
            let n = qemu_plugin_read_register(self.cpsr, self.buf);
            if n < 4 || (*self.buf).len < 4 {
                return None;
            }
            let b = std::slice::from_raw_parts((*self.buf).data, 4);
            Some(((u32::from_le_bytes([b[0], b[1], b[2], b[3]]) >> 2) & 3) as usize)
        }
    }
}

extern "C" fn on_marker(vcpu: c_uint, userdata: *mut c_void) {
    let Some(m) = Mark::ALL.into_iter().find(|m| *m as usize == userdata as usize) else { return };
    if let Some(s) = STATE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        s.mark(vcpu, m);
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
        if let Some(r) = d.iter().find(|r| !r.name.is_null() && CStr::from_ptr(r.name).to_bytes() == b"cpsr") {
            s.cpsr = r.handle;
        }
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
    // SAFETY: `tb` is the block being translated, valid during this callback, as are its
    // instruction handles; each instruction's data is at most 4 bytes on AArch64.
    unsafe {
        for i in 0..qemu_plugin_tb_n_insns(tb) {
            let insn = qemu_plugin_tb_get_insn(tb, i);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, CB_NO_REGS, el as *mut c_void);
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

/// QEMU's entry: `out=<file>` names the path-length file (created, truncated).
///
/// # Safety
/// Called by QEMU with `argv` holding `argc` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn qemu_plugin_install(id: u64, _info: *const c_void, argc: c_int, argv: *const *const c_char) -> c_int {
    let mut out = None;
    for i in 0..argc.max(0) as usize {
        // SAFETY: QEMU passes argc valid C strings.
        let arg = unsafe { CStr::from_ptr(*argv.add(i)) }.to_string_lossy().into_owned();
        match arg.strip_prefix("out=") {
            Some(path) => match std::fs::File::create(path) {
                Ok(f) => out = Some(f),
                Err(e) => {
                    say(&format!("cannot create {path}: {e}"));
                    return -1;
                }
            },
            None => {
                say(&format!("unknown argument `{arg}` (known: out=<file>)"));
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
            buf,
            begin: Vec::new(),
            irq_entry: Vec::new(),
            pending: None,
            next_index: 0,
            cal_open: None,
            cal_done: 0,
            error: None,
        });
        qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
        qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
        qemu_plugin_register_atexit_cb(id, on_exit, std::ptr::null_mut());
    }
    0
}
