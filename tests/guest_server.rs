//! A guest server answers a host client: `samples/sockets.c serve` listens on
//! 127.0.0.1 (port 0, printed), and this test connects from Rust, sends lines and reads
//! each back reversed, then closes; the guest must report every line served and exit
//! 0. Run for the riscv64 build (interpreted and translated), the aarch64 build and the
//! x86-64 build (a KVM guest). Build the guests with `cargo xtask build-samples`.

mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{skip, vmx_cmd};

const LINES: &[&str] = &["hello guest", "a second line", "", "x"];

/// Kills the guest if the test fails half-way.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_and_talk(label: &str, mut cmd: Command) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = Guard(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("[{label}] spawning vmx: {e}")),
    );
    let stdout = guard.0.stdout.take().expect("piped stdout");
    let mut out = BufReader::new(stdout);
    let mut first = String::new();
    out.read_line(&mut first)
        .unwrap_or_else(|e| panic!("[{label}] reading the port: {e}"));
    let port: u16 = first
        .trim()
        .strip_prefix("port ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            let mut err = String::new();
            if let Some(mut e) = guard.0.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("[{label}] expected `port N`, got {first:?}; stderr:\n{err}")
        });
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("[{label}] connecting to the guest on port {port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    let mut replies = BufReader::new(s.try_clone().expect("clone the stream"));
    for line in LINES {
        s.write_all(format!("{line}\n").as_bytes())
            .unwrap_or_else(|e| panic!("[{label}] sending: {e}"));
        let mut reply = String::new();
        replies
            .read_line(&mut reply)
            .unwrap_or_else(|e| panic!("[{label}] reading the reply to {line:?}: {e}"));
        let want: String = line.chars().rev().collect();
        assert_eq!(reply, format!("{want}\n"), "[{label}] reply to {line:?}");
    }
    s.shutdown(Shutdown::Write).expect("shutdown");
    let mut rest = String::new();
    out.read_to_string(&mut rest)
        .unwrap_or_else(|e| panic!("[{label}] reading the guest's output: {e}"));
    let status = guard.0.wait().expect("waiting for vmx");
    assert_eq!(
        rest,
        format!("served {} lines\n", LINES.len()),
        "[{label}] guest output"
    );
    assert!(status.success(), "[{label}] vmx exited with {status}");
}

fn sample(test: &str, arch: &str) -> Option<PathBuf> {
    let p = common::samples_dir()
        .join("build")
        .join(arch)
        .join("sockets");
    if !p.is_file() {
        skip(
            test,
            &format!("{} is missing (cargo xtask build-samples)", p.display()),
        );
        return None;
    }
    Some(p)
}

#[test]
fn riscv64_guest_serves_a_host_client() {
    let test = "guest_server::riscv64_guest_serves_a_host_client";
    let Some(elf) = common::riscv_sample(test, "sockets") else {
        return;
    };
    let mut cmd = vmx_cmd();
    cmd.args([OsStr::new("exec"), OsStr::new("--engine=interp")])
        .arg(&elf)
        .arg("serve");
    serve_and_talk("riscv64, interpreted", cmd);
    let aot = common::translate_cached(&elf).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = vmx_cmd();
    cmd.arg("exec").arg(&aot).arg("serve");
    serve_and_talk("riscv64, translated", cmd);
}

#[test]
fn aarch64_guest_serves_a_host_client() {
    let Some(elf) = sample(
        "guest_server::aarch64_guest_serves_a_host_client",
        "aarch64",
    ) else {
        return;
    };
    let mut cmd = vmx_cmd();
    cmd.args([OsStr::new("exec"), OsStr::new("--engine=interp")])
        .arg(&elf)
        .arg("serve");
    serve_and_talk("aarch64", cmd);
}

#[test]
fn x86_64_guest_serves_a_host_client() {
    let Some(elf) = sample("guest_server::x86_64_guest_serves_a_host_client", "x86_64") else {
        return;
    };
    let mut cmd = vmx_cmd();
    cmd.arg("exec").arg(&elf).arg("serve");
    serve_and_talk("x86-64", cmd);
}
