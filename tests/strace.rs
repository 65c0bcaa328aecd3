//! `vmx exec --strace` is readable: one line per call, the call's name, its arguments
//! decoded (strings quoted, flags and constants symbolic, pointers in hex or `NULL`) and
//! the result, or `-1 ENOENT (No such file or directory)` for an error. A small riscv64
//! guest makes known calls between two markers; the lines between them (without the
//! pid, pointers masked) must be exactly [`GOLDEN`].

mod common;

use std::process::Command;

use common::{have, run, skip, vmx_cmd, TempDir};

const PROGRAM: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    struct timespec ts;
    syscall(SYS_close, 1000); /* begin marker */
    syscall(SYS_openat, AT_FDCWD, "/nonexistent/\"quoted\"\n", O_RDONLY | O_CLOEXEC, 0);
    syscall(SYS_openat, AT_FDCWD, "/tmp/vmx-strace-test", O_WRONLY | O_CREAT | O_TRUNC, 0640);
    syscall(SYS_write, 1, "hello\n", 6);
    syscall(SYS_mmap, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    syscall(SYS_socket, 12345, SOCK_DGRAM, 0);
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    syscall(SYS_fcntl, 1, F_GETFD, 0);
    syscall(SYS_lseek, 1000, 0, SEEK_END);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, NULL, 8);
    syscall(SYS_unlinkat, AT_FDCWD, "/tmp/vmx-strace-test", 0);
    syscall(SYS_close, 1001); /* end marker */
    return 0;
}
"#;

const GOLDEN: &str = r#"openat(AT_FDCWD,"/nonexistent/\"quoted\"\n",O_RDONLY|O_CLOEXEC,0) = -1 ENOENT (No such file or directory)
openat(AT_FDCWD,"/tmp/vmx-strace-test",O_WRONLY|O_CREAT|O_TRUNC,0640) = FD
write(1,"hello\n",6) = 6
mmap(NULL,8192,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0x0) = PTR
socket(AF_INET,SOCK_STREAM|SOCK_CLOEXEC,0) = FD
socket(12345,SOCK_DGRAM,0) = -1 EAFNOSUPPORT (Address family not supported by protocol)
clock_gettime(CLOCK_MONOTONIC,PTR) = 0
fcntl(1,F_GETFD,0x0) = 0
lseek(1000,0,SEEK_END) = -1 EBADF (Bad file descriptor)
rt_sigprocmask(SIG_BLOCK,NULL,NULL,8) = 0
unlinkat(AT_FDCWD,"/tmp/vmx-strace-test",0) = 0
"#;

/// Drops the pid, masks pointers (`0x…` of 6+ hex digits) and fds returned by calls.
fn normalise(line: &str) -> String {
    let line = line.split_once(' ').map_or(line, |(_, rest)| rest);
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        let hex: String = rest[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        if hex.len() >= 5 {
            out.push_str("PTR");
        } else {
            out.push_str(&rest[i..i + 2 + hex.len()]);
        }
        rest = &rest[i + 2 + hex.len()..];
    }
    out.push_str(rest);
    let fd_calls = ["openat(", "socket("];
    if fd_calls.iter().any(|c| out.starts_with(c)) {
        if let Some((call, ret)) = out.rsplit_once(" = ") {
            if ret.parse::<u32>().is_ok() {
                return format!("{call} = FD");
            }
        }
    }
    out
}

#[test]
fn strace_lines_are_readable() {
    let test = "strace::strace_lines_are_readable";
    let cc = "riscv64-linux-gnu-gcc";
    if !have(cc) {
        skip(test, "riscv64-linux-gnu-gcc is not installed");
        return;
    }
    let tmp = TempDir::new("strace");
    let src = tmp.join("st.c");
    std::fs::write(&src, PROGRAM).expect("writing the program");
    let exe = tmp.join("st");
    let built = Command::new(cc)
        .args([
            "-static",
            "-B/usr/lib/llvm-19/bin",
            "-fuse-ld=lld",
            "-O2",
            "-o",
        ])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("running the compiler");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut cmd = vmx_cmd();
    cmd.args(["exec", "--engine=interp", "--strace"]).arg(&exe);
    let out = run(&mut cmd, None).expect("running vmx");
    assert_eq!(out.status, 0, "{}", out.stderr_text());
    assert_eq!(out.stdout_text(), "hello\n");
    let err = out.stderr_text();
    let lines: Vec<&str> = err.lines().collect();
    let begin = lines
        .iter()
        .position(|l| l.contains(" close(1000) = -1 EBADF (Bad file descriptor)"))
        .unwrap_or_else(|| panic!("no begin marker in:\n{err}"));
    let end = lines
        .iter()
        .position(|l| l.contains(" close(1001) = -1 EBADF"))
        .unwrap_or_else(|| panic!("no end marker in:\n{err}"));
    let got: String = lines[begin + 1..end]
        .iter()
        .map(|l| normalise(l) + "\n")
        .collect();
    assert_eq!(got, GOLDEN, "strace lines differ; full stderr:\n{err}");
    // Every line of the whole trace is one call: `pid name(...) = result` (or `= ?` for
    // the final exit_group).
    for l in &lines {
        let (pid, rest) = l.split_once(' ').unwrap_or(("", l));
        assert!(
            pid.parse::<u32>().is_ok() && rest.contains('(') && rest.contains(") = "),
            "not a one-call line: {l:?}"
        );
    }
}
