//! The gdb stub (`vmx exec -g PORT`), driven by a real `gdb-multiarch` in batch mode.
//!
//! vmx is started with `-g 0`: it binds a free port on 127.0.0.1 and names it on stderr
//! (`vmx: gdb: waiting for a connection on 127.0.0.1:PORT`), so concurrent tests never
//! race for a port. Without `gdb-multiarch` the sessions are skipped with a visible
//! message; the bad-port cases need no gdb and always run.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{have, riscv_sample, skip, translate_cached, vmx_cmd};

const GDB: &str = "gdb-multiarch";

/// A vmx waiting for gdb, and what it prints. Dropping it (a failed test) kills vmx.
struct Session {
    child: Option<Child>,
    port: u16,
    /// stderr lines after the "waiting" line.
    stderr: mpsc::Receiver<String>,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `vmx exec -g 0 <args> <program>` and waits for the port it listens on.
fn start_vmx(args: &[&str], program: &Path) -> Session {
    start_vmx_args(args, program, &[])
}

/// As [`start_vmx`], with arguments for the guest.
fn start_vmx_args(args: &[&str], program: &Path, guest_args: &[&str]) -> Session {
    let mut cmd = vmx_cmd();
    cmd.arg("exec")
        .args(["-g", "0"])
        .args(args)
        .arg(program)
        .args(guest_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning vmx");
    let mut stdout = child.stdout.take().expect("piped");
    let stdout = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|e| {
            let _ = child.kill();
            panic!("vmx -g 0 printed no port: {e}")
        });
    let port = first
        .strip_prefix("vmx: gdb: waiting for a connection on 127.0.0.1:")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("unexpected first stderr line of vmx -g 0: {first:?}")
        });
    Session {
        child: Some(child),
        port,
        stderr: rx,
        stdout: Some(stdout),
    }
}

/// Runs gdb-multiarch in batch mode against `port` with `commands`; returns its output
/// (stdout and stderr).
fn run_gdb(elf: &Path, port: u16, commands: &[&str]) -> String {
    run_gdb_arch("riscv:rv64", elf, port, commands)
}

fn run_gdb_arch(arch: &str, elf: &Path, port: u16, commands: &[&str]) -> String {
    let mut cmd = Command::new(GDB);
    cmd.args(["-nx", "-batch"])
        .arg("-ex")
        .arg(format!("set architecture {arch}"))
        .args(["-ex", "set pagination off"])
        .arg("-ex")
        .arg(format!("file {}", elf.display()))
        .arg("-ex")
        .arg(format!("target remote 127.0.0.1:{port}"));
    for c in commands {
        cmd.args(["-ex", c]);
    }
    let out = common::run(&mut cmd, None).unwrap_or_else(|e| panic!("{GDB}: {e}"));
    format!("{}{}", out.stdout_text(), out.stderr_text())
}

/// Waits for vmx to end; returns (status, stdout, stderr after the port line).
fn finish(mut s: Session) -> (i32, String, String) {
    let mut child = s.child.take().expect("running");
    let deadline = std::time::Instant::now() + common::timeout();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("vmx did not end after the gdb session");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    use std::os::unix::process::ExitStatusExt;
    let status = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    let stdout = s.stdout.take().expect("stdout reader");
    let out = String::from_utf8_lossy(&stdout.join().expect("stdout reader")).into_owned();
    let err: Vec<String> = s.stderr.try_iter().collect();
    (status, out, err.join("\n"))
}

/// Checks that `output` holds each of `expected`, in this order.
fn assert_in_order(output: &str, expected: &[&str]) {
    let mut rest = output;
    for e in expected {
        match rest.find(e) {
            Some(i) => rest = &rest[i + e.len()..],
            None => panic!(
                "gdb output lacks {e:?} (after the previous expectations):\n{}",
                common::indent(output, "  | ")
            ),
        }
    }
}

fn gdb_available(test: &str) -> bool {
    if have(GDB) {
        return true;
    }
    skip(
        test,
        "skipped: gdb-multiarch not installed (cargo xtask setup)",
    );
    false
}

/// `deep(n, acc)` in samples/recursion.c keeps `volatile uint64_t pad[4]` on its stack:
/// a breakpoint on it, arguments in registers, the local in memory, steps, a register
/// written and read back, a write watchpoint, then the run to its normal end — on the
/// translated program (the debugger interprets while breakpoints are set).
#[test]
fn breakpoint_registers_memory_step_watch() {
    const T: &str = "breakpoint_registers_memory_step_watch";
    if !gdb_available(T) {
        return;
    }
    let Some(elf) = riscv_sample(T, "recursion") else {
        return;
    };
    let aot = translate_cached(&elf).unwrap_or_else(|e| panic!("{e}"));
    let s = start_vmx(&[], &aot);
    let out = run_gdb(
        &elf,
        s.port,
        &[
            "info threads",
            "break deep",
            "continue",
            "p $a0",
            "p $a1",
            "next",
            "next",
            "p/x pad[0]",
            "x/2gx &pad",
            "set var $t6 = 0x1234",
            "stepi",
            "p/x $t6",
            "p $pc == deep",
            "watch pad[3]",
            "continue",
            "delete 2",
            "continue",
            "p $a0",
            "delete",
            "continue",
        ],
    );
    let (status, stdout, stderr) = finish(s);
    // 1 ^ 100000 and 1 + 100000.
    assert_in_order(
        &out,
        &[
            "* 1    Thread 1.1",
            "Breakpoint 1 at ",
            "Breakpoint 1, deep (n=n@entry=100000, acc=acc@entry=1) at ",
            "$1 = 100000",
            "$2 = 1",
            "pad[1] = acc + n;",
            "pad[2] = acc * 3;",
            "$3 = 0x186a1",
            ":\t0x00000000000186a1\t0x00000000000186a1",
            "$4 = 0x1234",
            "$5 = 0",
            "Hardware watchpoint 2: pad[3]",
            "New value = 100000",
            "Breakpoint 1, deep (n=n@entry=99999, ",
            "$6 = 99999",
            "exited normally",
        ],
    );
    let golden = std::fs::read_to_string(common::samples_dir().join("recursion.stdout"))
        .expect("golden output");
    assert_eq!(status, 0, "vmx status; stderr:\n{stderr}");
    assert_eq!(stdout, golden, "guest output under gdb");
}

/// A guest killed by SIGSEGV: gdb sees the signal at the faulting instruction (the
/// interpreter's state is precise), then the death; vmx dies of the same signal.
#[test]
fn fatal_signal_stops_then_terminates() {
    const T: &str = "fatal_signal_stops_then_terminates";
    if !gdb_available(T) {
        return;
    }
    let Some(elf) = riscv_sample(T, "segfault") else {
        return;
    };
    let s = start_vmx(&["--engine=interp"], &elf);
    let out = run_gdb(&elf, s.port, &["continue", "bt 1", "continue"]);
    let (status, _, stderr) = finish(s);
    assert_in_order(
        &out,
        &[
            "Program received signal SIGSEGV",
            "in main () at ",
            "segfault.c:",
            "Program terminated with signal SIGSEGV",
        ],
    );
    assert_eq!(status, 128 + 11, "vmx status; stderr:\n{stderr}");
}

/// gdb detaching lets the guest run to its end undisturbed.
#[test]
fn detach_runs_to_the_end() {
    const T: &str = "detach_runs_to_the_end";
    if !gdb_available(T) {
        return;
    }
    let Some(elf) = riscv_sample(T, "hello") else {
        return;
    };
    let s = start_vmx(&["--engine=interp"], &elf);
    let out = run_gdb(&elf, s.port, &["break main", "continue", "detach"]);
    let (status, stdout, stderr) = finish(s);
    assert_in_order(&out, &["Breakpoint 1, main ", "(process 1) detached]"]);
    assert_eq!(status, 0, "vmx status; stderr:\n{stderr}");
    let golden = std::fs::read_to_string(common::samples_dir().join("hello.stdout")).unwrap();
    assert_eq!(stdout, golden);
}

/// A port that is taken, or not a port: one line, non-zero status, no panic.
#[test]
fn bad_ports_are_clean_errors() {
    let Some(elf) = riscv_sample("bad_ports_are_clean_errors", "hello") else {
        return;
    };
    let taken = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = taken.local_addr().unwrap().port().to_string();
    for (flag, status, mention) in [
        (port.as_str(), 1, "cannot listen on 127.0.0.1:"),
        ("70000", 2, "70000"),
        ("x", 2, "invalid value"),
    ] {
        let mut cmd = vmx_cmd();
        cmd.args(["exec", "--engine=interp", "-g", flag]).arg(&elf);
        let out = common::run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"));
        let stderr = out.stderr_text();
        assert_eq!(out.status, status, "-g {flag}: stderr {stderr:?}");
        assert!(stderr.contains(mention), "-g {flag}: stderr {stderr:?}");
        assert!(!stderr.contains("panicked"), "-g {flag}: {stderr:?}");
        if status == 1 {
            assert_eq!(stderr.lines().count(), 1, "-g {flag}: {stderr:?}");
        }
        assert!(out.stdout.is_empty(), "the guest must not have run");
    }
}

/// The same session on the AArch64 build, which runs on the A64 interpreter: x0/x1, the
/// local in memory, steps, a register written and read back, a write watchpoint.
#[test]
fn aarch64_breakpoint_registers_memory_step_watch() {
    const T: &str = "aarch64_breakpoint_registers_memory_step_watch";
    if !gdb_available(T) {
        return;
    }
    let Some(elf) = common::artefact(
        T,
        &common::samples_dir().join("build/aarch64/recursion"),
        &[common::samples_dir().join("recursion.c")],
        "build-samples",
    ) else {
        return;
    };
    let s = start_vmx(&["--engine=interp"], &elf);
    let out = run_gdb_arch(
        "aarch64",
        &elf,
        s.port,
        &[
            "info threads",
            "break deep",
            "continue",
            "p $x0",
            "p $x1",
            "next",
            "next",
            "p/x pad[0]",
            "x/2gx &pad",
            "set var $x9 = 0x1234",
            "stepi",
            "p/x $x9",
            "watch pad[3]",
            "continue",
            "delete 2",
            "continue",
            "p $x0",
            "delete",
            "continue",
        ],
    );
    let (status, stdout, stderr) = finish(s);
    assert_in_order(
        &out,
        &[
            "* 1    Thread 1.1",
            "Breakpoint 1, deep (n=100000, acc=acc@entry=1) at ",
            "$1 = 100000",
            "$2 = 1",
            "pad[1] = acc + n;",
            "pad[2] = acc * 3;",
            "$3 = 0x186a1",
            ":\t0x00000000000186a1\t0x00000000000186a1",
            "$4 = 0x1234",
            "Hardware watchpoint 2: pad[3]",
            "New value = 100000",
            "Breakpoint 1, deep (n=99999, ",
            "$5 = 99999",
            "exited normally",
        ],
    );
    let golden = std::fs::read_to_string(common::samples_dir().join("recursion.stdout"))
        .expect("golden output");
    assert_eq!(status, 0, "vmx status; stderr:\n{stderr}");
    assert_eq!(stdout, golden, "guest output under gdb");
}

/// Sends one remote-protocol packet.
fn rsp_send(conn: &mut std::net::TcpStream, data: &str) {
    use std::io::Write;
    let sum = data.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    write!(conn, "${data}#{sum:02x}").expect("send");
}

/// Reads one remote-protocol packet (skipping acks) and acknowledges it.
fn rsp_recv(conn: &mut std::net::TcpStream) -> String {
    use std::io::Write;
    let mut byte = [0u8];
    let mut read = |conn: &mut std::net::TcpStream| {
        conn.read_exact(&mut byte).expect("read from vmx");
        byte[0]
    };
    while read(conn) != b'$' {}
    let mut data = Vec::new();
    loop {
        match read(conn) {
            b'#' => break,
            b => data.push(b),
        }
    }
    read(conn);
    read(conn);
    conn.write_all(b"+").expect("ack");
    String::from_utf8_lossy(&data).into_owned()
}

/// gdb's Ctrl-C (a raw 0x03 byte; gdb's batch mode cannot send one) stops a running
/// guest with SIGINT; a bad address is an error reply; `k` kills the guest.
#[test]
fn interrupt_stops_a_running_guest() {
    let Some(elf) = riscv_sample("interrupt_stops_a_running_guest", "cpu_bound") else {
        return;
    };
    // Far more iterations than the interpreter gets through before the interrupt.
    let s = start_vmx_args(&["--engine=interp"], &elf, &["1000000000"]);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    rsp_send(&mut conn, "?");
    assert!(rsp_recv(&mut conn).starts_with("T05"), "initial stop");
    rsp_send(&mut conn, "vCont;c");
    std::thread::sleep(Duration::from_millis(300));
    std::io::Write::write_all(&mut conn, b"\x03").unwrap();
    let stop = rsp_recv(&mut conn);
    assert!(stop.starts_with("T02"), "SIGINT stop, got {stop:?}");
    rsp_send(&mut conn, "m0,8");
    assert_eq!(rsp_recv(&mut conn), "E0e", "reading address 0 is EFAULT");
    rsp_send(&mut conn, "k");
    let (status, _, stderr) = finish(s);
    assert_eq!(status, 128 + 9, "killed from gdb; stderr:\n{stderr}");
}
