//! The errno table (`tests/data/errno_table.c`): about 420 system calls with bad
//! arguments — bad fds, bad pointers (the first page and the kernel half), bad flags,
//! missing paths, the wrong file type, bad sizes — across files, memory, processes,
//! signals, time, events and sockets. The same C program is built for x86-64 (native),
//! riscv64 and aarch64 (static) and must print the same table:
//!
//! - natively on x86-64: the reference (the host kernel's own answers);
//! - riscv64 under vmx, translated and `--engine=interp`;
//! - aarch64 under vmx (`--engine=interp`, the only AArch64 engine);
//! - x86-64 under vmx (a KVM guest, or the host-process fallback without KVM);
//! - riscv64 and aarch64 under qemu-user, except the cases listed in
//!   [`QEMU_DEVIATIONS`] where qemu itself gets the kernel's answer wrong.
//!
//! A bad pointer must give `EFAULT` and never take the runtime down: every run must
//! exit 0 after printing the whole table.
//!
//! `abi_calls` does the same for the success paths (`tests/data/abi_calls.c`): files,
//! memory, timers, events, processes and sockets, output identical everywhere.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{have, indent, run, skip, vmx, vmx_cmd, Outcome, TempDir};

/// Cases where vmx does not give the kernel's answer yet: `signalfd4` is not
/// implemented. vmx answers `ENOSYS` there; either that or the native answer is
/// accepted.
const VMX_PENDING: &[&str] = &["signalfd4("];

/// Cases where qemu-user (8.x/9.x) differs from the Linux kernel: unimplemented calls
/// (preadv2/pwritev2, mlock2, set/get_robust_list, epoll_pwait2), arguments it does not
/// check (MAP_FIXED_NOREPLACE, madvise, signalfd4's size, socket type flags,
/// sendmmsg/recvmmsg), pointers it checks where the kernel does not look
/// (clock_getres, epoll_pwait with no events ready) and a different order of checks
/// (nanosleep, socket). vmx follows the kernel there.
const QEMU_DEVIATIONS: &[&str] = &[
    "preadv2(bad flags)",
    "pwritev2(iov=1)",
    "mmap(MAP_FIXED_NOREPLACE taken)",
    "madvise(bad advice)",
    "madvise(hole)",
    "mlock2(bad flags)",
    "set_robust_list(bad len)",
    "get_robust_list(ptr=1)",
    "signalfd4(sigsetsize 4)",
    "clock_getres(res=1)",
    "nanosleep(req=kernel)",
    "epoll_pwait(events=1)",
    "epoll_pwait2(bad timeout)",
    "socket(bad type)",
    "socket(bad flags)",
    "sendmmsg(bad fd)",
    "recvmmsg(bad fd)",
    "recvmmsg(nonblocking empty)",
];

fn case_name(line: &str) -> &str {
    line.rsplit_once(": ").map_or(line, |(n, _)| n)
}

/// Compares `got` with the native table line by line. Lines whose case starts with one
/// of `lenient` may instead say `ENOSYS` (`allow_enosys`) or anything (`!allow_enosys`).
fn differences(native: &str, got: &str, lenient: &[&str], allow_enosys: bool) -> Vec<String> {
    let want: Vec<&str> = native.lines().collect();
    let have: Vec<&str> = got.lines().collect();
    let mut out = Vec::new();
    if want.len() != have.len() {
        out.push(format!(
            "{} lines instead of {} (the run stopped early or printed extra lines)",
            have.len(),
            want.len()
        ));
    }
    for (w, h) in want.iter().zip(&have) {
        if w == h {
            continue;
        }
        let name = case_name(w);
        if case_name(h) == name
            && lenient.iter().any(|p| name.starts_with(p))
            && (!allow_enosys || h.ends_with(": ENOSYS"))
        {
            continue;
        }
        out.push(format!("native `{w}`, got `{h}`"));
    }
    out
}

/// Compiles the table with `cc` and `flags` into `dir`; `None` (with a message) when the
/// compiler is absent.
fn build(
    test: &str,
    dir: &Path,
    cc: &str,
    flags: &[&str],
    source: &str,
    name: &str,
) -> Option<PathBuf> {
    if !have(cc) {
        skip(test, &format!("{cc} is not installed; no {name} build"));
        return None;
    }
    let out = dir.join(name);
    let built = Command::new(cc)
        .args(flags)
        .args(["-O2", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(common::root().join(source))
        .output()
        .expect("running the compiler");
    assert!(
        built.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    Some(out)
}

fn check_run(
    label: &str,
    out: Outcome,
    native: &str,
    lenient: &[&str],
    enosys: bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    let text = out.stdout_text();
    if out.status != 0 {
        failures.push(format!(
            "[{label}] exit status {} (a crash?), stderr:\n{}",
            out.status,
            indent(&out.stderr_text(), "    ")
        ));
    }
    let d = differences(native, &text, lenient, enosys);
    if !d.is_empty() {
        failures.push(format!(
            "[{label}] {} difference(s) from the native table:\n{}",
            d.len(),
            indent(&d.join("\n"), "    ")
        ));
    }
    failures
}

/// Builds `source` for x86-64, riscv64 and aarch64 and runs it natively, under vmx
/// (every engine) and qemu-user; every output must be the native one, except the
/// cases named in `vmx_pending` (may be ENOSYS under vmx) and `qemu_deviations`.
/// Returns the native output.
fn everywhere(
    test: &str,
    source: &str,
    vmx_pending: &[&str],
    qemu_deviations: &[&str],
) -> Option<String> {
    let tmp = TempDir::new(test);
    let x86 = build(test, tmp.path(), "gcc", &["-static"], source, "x86_64")?;
    let native = run(&mut Command::new(&x86), None).expect("running natively");
    assert_eq!(
        native.status,
        0,
        "{}{}",
        native.stdout_text(),
        native.stderr_text()
    );
    let native = native.stdout_text();
    let rv = build(
        test,
        tmp.path(),
        "riscv64-linux-gnu-gcc",
        &["-static", "-B/usr/lib/llvm-19/bin", "-fuse-ld=lld"],
        source,
        "riscv64",
    );
    let a64 = build(
        test,
        tmp.path(),
        "aarch64-linux-gnu-gcc",
        &["-static"],
        source,
        "aarch64",
    );

    let mut failures = Vec::new();
    let vmx_run = |args: &[&std::ffi::OsStr]| {
        let mut cmd = vmx_cmd();
        cmd.args(args);
        run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"))
    };
    let interp = std::ffi::OsStr::new("--engine=interp");
    let exec = std::ffi::OsStr::new("exec");
    if let Some(rv) = &rv {
        let out = vmx_run(&[exec, interp, rv.as_os_str()]);
        failures.extend(check_run(
            "riscv64, vmx --engine=interp",
            out,
            &native,
            vmx_pending,
            true,
        ));
        match common::translate_cached(rv) {
            Ok(aot) => {
                let out = vmx_run(&[exec, aot.as_os_str()]);
                failures.extend(check_run(
                    "riscv64, vmx translated",
                    out,
                    &native,
                    vmx_pending,
                    true,
                ));
            }
            Err(e) => failures.push(format!("[vmx translate] {e}")),
        }
        if have("qemu-riscv64") {
            let out = run(Command::new("qemu-riscv64").arg(rv), None).expect("qemu-riscv64");
            failures.extend(check_run(
                "qemu-riscv64",
                out,
                &native,
                qemu_deviations,
                false,
            ));
        } else {
            skip(test, "qemu-riscv64 is not installed");
        }
    }
    if let Some(a64) = &a64 {
        let out = vmx_run(&[exec, interp, a64.as_os_str()]);
        failures.extend(check_run(
            "aarch64, vmx --engine=interp",
            out,
            &native,
            vmx_pending,
            true,
        ));
        if have("qemu-aarch64") {
            let out = run(Command::new("qemu-aarch64").arg(a64), None).expect("qemu-aarch64");
            failures.extend(check_run(
                "qemu-aarch64",
                out,
                &native,
                qemu_deviations,
                false,
            ));
        } else {
            skip(test, "qemu-aarch64 is not installed");
        }
    }
    // x86-64 under vmx: a KVM guest (or, without KVM, the host-process fallback).
    let out = vmx_run(&[exec, x86.as_os_str()]);
    failures.extend(check_run(
        "x86-64, vmx exec",
        out,
        &native,
        vmx_pending,
        true,
    ));

    assert!(
        failures.is_empty(),
        "{source} under {}:\n{}",
        vmx().display(),
        failures.join("\n")
    );
    Some(native)
}

#[test]
fn errno_table() {
    let Some(native) = everywhere(
        "errno_table",
        "tests/data/errno_table.c",
        VMX_PENDING,
        QEMU_DEVIATIONS,
    ) else {
        return;
    };
    let cases: usize = native
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("== "))
        .and_then(|l| l.strip_suffix(" cases"))
        .and_then(|n| n.parse().ok())
        .expect("the table ends with its case count");
    assert!(cases >= 400, "only {cases} cases");
}

#[test]
fn abi_calls() {
    // qemu-user (8.x/9.x) implements neither PR_GET_TID_ADDRESS nor PR_GET_SECCOMP.
    let qemu = &["prctl tid address", "prctl seccomp"];
    let Some(native) = everywhere("abi_calls", "tests/data/abi_calls.c", &[], qemu) else {
        return;
    };
    assert!(native.ends_with("done\n"), "{native}");
}

#[test]
fn comparison_flags_real_differences() {
    let native = "a(x): EFAULT\nsignalfd4(y): EINVAL\n== 2 cases\n";
    assert!(differences(native, native, VMX_PENDING, true).is_empty());
    let pending = "a(x): EFAULT\nsignalfd4(y): ENOSYS\n== 2 cases\n";
    assert!(differences(native, pending, VMX_PENDING, true).is_empty());
    let wrong = "a(x): EINVAL\nsignalfd4(y): EFAULT\n== 2 cases\n";
    assert_eq!(differences(native, wrong, VMX_PENDING, true).len(), 2);
    let short = "a(x): EFAULT\n";
    assert_eq!(differences(native, short, VMX_PENDING, true).len(), 1);
}
