//! The serial target end to end, with a pseudo-terminal pair standing in for a board's UART: the
//! test plays the guest on the master side (boot noise, the prompt, waiting for `s`, then a real
//! capture streamed in uneven pieces with pauses and more noise), the real `ivcbench` binary
//! opens the slave side as a serial port. The capture must come out byte for byte as streamed.
//!
//! The streamed captures are real guests' output: made at the start by the QEMU testbed
//! (baremetal, 50 notifications), as in tests/qemu_baremetal.rs.

mod common;

use common::ivcbench;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A real capture of `cell` (baremetal, 50 samples) from the QEMU testbed, made once per test binary.
fn real_capture(cell: &str) -> Vec<u8> {
    static NOTIF: OnceLock<Vec<u8>> = OnceLock::new();
    static INTERF: OnceLock<Vec<u8>> = OnceLock::new();
    let slot = if cell == "notif" { &NOTIF } else { &INTERF };
    slot.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        common::run_ok("baremetal", d.path(), &["--experiment", cell, "--samples", "50", "--gap", "200us", "--interf-report", "1ms"]);
        let (exp, suffix) = cell.split_at(cell.find('+').unwrap_or(cell.len()));
        let bytes = std::fs::read(d.path().join(exp).join(format!("baremetal{suffix}"))).unwrap();
        // The stream ends with tx's end record, as a board's does before it idles.
        let text = String::from_utf8_lossy(&bytes);
        let end = text.find("@ivc1 tx ").and_then(|_| {
            text.match_indices('\n').map(|(i, _)| i + 1).find(|&i| {
                let line_start = text[..i - 1].rfind('\n').map_or(0, |s| s + 1);
                let line = &text[line_start..i];
                line.contains("@ivc1 tx ") && line.contains(" E ")
            })
        });
        bytes[..end.expect("tx's end record in the capture")].to_vec()
    })
    .clone()
}

/// A pseudo-terminal pair: the master (the test's end) and the slave's path (ivcbench's port).
/// The slave stays open here too, so the master never sees a hang-up between ivcbench's opens.
struct Pty {
    master: File,
    path: PathBuf,
    _slave: OwnedFd,
}

fn pty() -> Pty {
    let (mut m, mut s) = (0, 0);
    // SAFETY: openpty writes two new descriptors into m and s; null name, termios and winsize
    // pointers are allowed.
    let r = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nothing else.
    let (master, slave) = unsafe { (File::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
    // Raw from the start: bytes that arrive before ivcbench opens the port must not be cooked
    // (CR to LF) by the line discipline.
    // SAFETY: tcgetattr/tcsetattr on the valid slave descriptor, with a termios we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
    }
    let path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd())).unwrap();
    Pty { master, path, _slave: slave }
}

/// Waits up to `limit` for a byte from ivcbench on the master side.
fn read_key(master: &mut File, limit: Duration) -> Option<u8> {
    let mut p = libc::pollfd { fd: master.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, limit.as_millis() as i32) };
    let mut b = [0u8];
    (n == 1 && master.read(&mut b).ok() == Some(1)).then_some(b[0])
}

/// Lines a board prints that are not the guest's: firmware, U-Boot, a stray byte.
const BOOT_NOISE: &[u8] =
    b"\r\nU-Boot 2023.01 (ZynqMP ZCU104)\r\nHit any key to stop autoboot:  0 \r\n## Starting application at 0x20080000 ...\r\n\xff\x00\r\n";

/// Plays a guest on `master`: boot noise, then `stream` up to its prompt; waits for `s`; then the
/// rest in pieces of 1 to 97 bytes with pauses, a noise line after every 7th line, and stops after
/// `stop_at` bytes of the stream (all of it by default). Returns everything written.
fn play(
    mut master: File,
    stream: Vec<u8>,
    stop_at: Option<usize>,
    before: impl FnOnce() + Send + 'static,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        before();
        let prompt = b"Press 's' to start";
        let at = stream.windows(prompt.len()).position(|w| w == prompt).expect("the capture holds the prompt");
        let after_prompt = at + stream[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
        let mut sent = BOOT_NOISE.to_vec();
        sent.extend_from_slice(&stream[..after_prompt]);
        master.write_all(&sent).unwrap();
        assert_eq!(read_key(&mut master, Duration::from_secs(30)), Some(b's'), "ivcbench answers the prompt with `s`");
        let rest = &stream[after_prompt..stop_at.unwrap_or(stream.len())];
        // Deterministic piece sizes and pauses (xorshift), so a failure repeats.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % m
        };
        let mut lines = 0;
        let mut i = 0;
        while i < rest.len() {
            let n = (1 + next(97) as usize).min(rest.len() - i);
            let piece = &rest[i..i + n];
            let mut out = Vec::new();
            for &b in piece {
                out.push(b);
                if b == b'\n' {
                    lines += 1;
                    // Another source on the console, between two of the guest's lines.
                    if lines % 7 == 0 && i + n < rest.len() {
                        out.extend_from_slice(format!("[{lines:>5}.000] noise from elsewhere\r\n").as_bytes());
                    }
                }
            }
            master.write_all(&out).unwrap();
            sent.extend_from_slice(&out);
            i += n;
            std::thread::sleep(Duration::from_micros(next(3000)));
        }
        // Hold the line open (a silent board) until ivcbench has finished with it.
        std::thread::sleep(Duration::from_millis(200));
        sent
    })
}

fn meta(capture: &Path) -> serde_json::Value {
    let mut p = capture.as_os_str().to_owned();
    p.push(".meta.json");
    serde_json::from_slice(&std::fs::read(PathBuf::from(p)).unwrap()).unwrap()
}

fn serial_run(port: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args =
        vec!["run", "--hypervisor", "baremetal", "--target", "serial", "--port", port.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    ivcbench(&args)
}

#[test]
fn capture_is_byte_identical_to_the_stream() {
    let real = real_capture("notif");
    let p = pty();
    let player = play(p.master.try_clone().unwrap(), real.clone(), None, || {});
    let d = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let o = serial_run(&p.path, d.path(), &["--experiment", "notif", "--baud", "115200"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let sent = player.join().unwrap();
    let path = d.path().join("notif/baremetal");
    let got = std::fs::read(&path).unwrap();
    assert!(got == sent, "capture ({} bytes) differs from the stream ({} bytes)", got.len(), sent.len());
    // Noise and all, it decodes to the same samples as the capture that was streamed.
    let want = ivc_proto::capture::decode(&real).unwrap();
    let decoded = ivc_proto::capture::decode(&got).unwrap();
    assert_eq!(decoded.run("tx").unwrap().groups, want.run("tx").unwrap().groups);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("samples 50, lost 0") && stdout.contains("hardware"), "{stdout}");
    let m = meta(&path);
    assert_eq!(m["complete"], true);
    assert_eq!(m["target"], format!("serial {}", p.path.display()));
    assert_eq!(m["testbed"], "hardware");
    assert_eq!(m["emulated"], false);
    eprintln!("serial capture of {} bytes in {:.1} s", got.len(), t.elapsed().as_secs_f64());
}

#[test]
fn two_ports_each_go_raw_to_their_own_file() {
    // tx's lines on one UART, the interferer's on the other: real output of one run, split as
    // two consoles would carry it.
    let real = real_capture("notif+interf");
    let text = String::from_utf8_lossy(&real).into_owned();
    let (mut tx_stream, mut rx_stream) = (Vec::new(), Vec::new());
    for line in text.split_inclusive('\n') {
        if line.contains("@ivc1 interf ") { &mut rx_stream } else { &mut tx_stream }.extend_from_slice(line.as_bytes());
    }
    assert!(!rx_stream.is_empty());
    let (tx, rx) = (pty(), pty());
    let mut rx_master = rx.master.try_clone().unwrap();
    let rx_sent = rx_stream.clone();
    // The second console speaks as soon as ivcbench has started the run on the first.
    let player = play(tx.master.try_clone().unwrap(), tx_stream, None, move || {
        let rx_writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            for piece in rx_sent.chunks(40) {
                rx_master.write_all(piece).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        std::mem::drop(rx_writer);
    });
    let d = tempfile::tempdir().unwrap();
    let o = serial_run(&tx.path, d.path(), &["--experiment", "notif+interf", "--rx-port", rx.path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sent = player.join().unwrap();
    let path = d.path().join("notif/baremetal+interf");
    assert!(std::fs::read(&path).unwrap() == sent, "tx's capture differs from its stream");
    let rx_got = std::fs::read(d.path().join("notif/baremetal+interf.rx")).unwrap();
    assert!(rx_got == rx_stream, "rx's console ({} bytes) differs from its stream ({} bytes)", rx_got.len(), rx_stream.len());
    assert_eq!(meta(&path)["serial"]["rx_port"], rx.path.to_str().unwrap());
}

#[test]
fn a_stream_that_stops_mid_run_times_out_and_keeps_the_partial_capture() {
    let real = real_capture("notif");
    let half = real.len() * 2 / 3;
    let p = pty();
    let player = play(p.master.try_clone().unwrap(), real, Some(half), || {});
    let d = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let o = serial_run(&p.path, d.path(), &["--experiment", "notif", "--idle-timeout", "1s"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "a silent guest must fail the run");
    assert!(stderr.contains("stopped answering") && stderr.contains("of 50 samples"), "{stderr}");
    assert!(t.elapsed() < Duration::from_secs(20), "the idle timeout ends the run");
    let sent = player.join().unwrap();
    let path = d.path().join("notif/baremetal");
    assert!(std::fs::read(&path).unwrap() == sent, "the partial capture is kept as it arrived");
    let m = meta(&path);
    assert_eq!(m["complete"], false);
    assert!(m["error"].as_str().unwrap().contains("stopped answering"), "{m}");
}

#[test]
fn a_board_running_another_cell_is_refused_and_a_missing_port_named() {
    let p = pty();
    let player = play(p.master.try_clone().unwrap(), real_capture("notif"), None, || {});
    let d = tempfile::tempdir().unwrap();
    let o = ivcbench(&[
        "run",
        "--hypervisor",
        "xen",
        "--experiment",
        "notif",
        "--target",
        "serial",
        "--port",
        p.path.to_str().unwrap(),
        "--out",
        d.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && stderr.contains("the guest runs baremetal/notif, but this run captures xen/notif"), "{stderr}");
    player.join().unwrap();

    let o = serial_run(Path::new("/dev/ivcbench-no-such-port"), d.path(), &["--experiment", "notif"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && stderr.contains("opening the serial port /dev/ivcbench-no-such-port"), "{stderr}");
}

#[test]
fn the_matrix_runs_missing_cells_through_the_power_command_and_resumes() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("comm");
    // notif is done already; notif+interf was interrupted earlier (its metadata says so).
    std::fs::create_dir_all(out.join("notif")).unwrap();
    std::fs::write(out.join("notif/baremetal"), real_capture("notif")).unwrap();
    let partial = b"U-Boot\r\nPress 's' to start\r\n@ivc1 tx 0 H v=1 exp=notif ~0000\r\n";
    std::fs::write(out.join("notif/baremetal+interf"), partial).unwrap();
    std::fs::write(out.join("notif/baremetal+interf.meta.json"), r#"{"complete": false, "error": "interrupted"}"#).unwrap();

    let p = pty();
    let flag = d.path().join("booted-notif+interf");
    let wait_for = flag.clone();
    // The board boots only when the power command says so.
    let player = play(p.master.try_clone().unwrap(), real_capture("notif+interf"), None, move || {
        let t = Instant::now();
        while !wait_for.exists() {
            assert!(t.elapsed() < Duration::from_secs(30), "the power command never ran");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let power = format!("touch {}/booted-{{experiment}}", d.path().display());
    let args = ["--matrix", "--experiment", "notif", "--power-cmd", power.as_str()];
    let o = serial_run(&p.path, &out, &args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sent = player.join().unwrap();
    assert!(std::fs::read(out.join("notif/baremetal+interf")).unwrap() == sent);
    assert_eq!(std::fs::read(out.join("notif/baremetal+interf.partial")).unwrap(), partial, "the partial capture is kept aside");
    assert_eq!(std::fs::read(out.join("notif/baremetal")).unwrap(), real_capture("notif"), "a done cell is not run again");
    for want in ["baremetal  notif ", "done before", "baremetal  notif+interf ", "ran (", "skipped: notif+col: baremetal has no hypervisor"]
    {
        assert!(stdout.contains(want), "`{want}` in:\n{stdout}");
    }
    // Run again: nothing is missing, nothing runs (the port is not even needed).
    let o = serial_run(Path::new("/dev/ivcbench-no-such-port"), &out, &args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && stderr.contains("0 cell(s) to run"), "{stderr}");
}
