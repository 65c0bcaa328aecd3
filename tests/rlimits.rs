//! Resource limits (issue 12): a guest that allocates, opens files or forks without end
//! meets the limit a native process would — `ENOMEM` when its address space is used up
//! (the 64 GiB guest space, or `RLIMIT_AS`), `EMFILE` at `RLIMIT_NOFILE`, `EAGAIN` at
//! `RLIMIT_NPROC` — and goes on to report it: vmx is never the one that dies first.
//!
//! The guest is `tests/guest/rlimits.c`; it runs translated (riscv64) and interpreted
//! (riscv64, aarch64) under `prlimit`, and under qemu-user where qemu's answer is the
//! same.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{build_guest, have, run, skip, translate_cached, GuestArch, Outcome};

const SOURCE: &str = include_str!("guest/rlimits.c");

/// The ways of running the guest for `arch`: (label, program, arguments before the case).
fn engines(arch: GuestArch, exe: &Path) -> Vec<(String, PathBuf, Vec<OsString>)> {
    let vmx = common::vmx();
    let mut v = vec![(
        format!("vmx exec --engine=interp ({})", arch.name()),
        vmx.clone(),
        vec!["exec".into(), "--engine=interp".into(), exe.into()],
    )];
    if arch == GuestArch::Riscv64 {
        let aot = translate_cached(exe).unwrap_or_else(|e| panic!("{e}"));
        v.push((
            "vmx exec (translated riscv64)".into(),
            vmx,
            vec!["exec".into(), aot.into()],
        ));
    }
    v
}

/// Runs `prefix… program args… case` (the prefix sets limits), as a shell would.
fn run_limited(prefix: &[&str], program: &Path, args: &[OsString], case: &str) -> Outcome {
    let mut cmd = Command::new(prefix[0]);
    cmd.args(&prefix[1..])
        .arg(program)
        .args(args)
        .arg(case)
        .env("RUST_BACKTRACE", "0");
    let shown = common::show(&cmd);
    run(&mut cmd, None).unwrap_or_else(|e| panic!("`{shown}`: {e}"))
}

fn survived(label: &str, case: &str, out: &Outcome) {
    assert_eq!(
        out.status,
        0,
        "[{label}] {case}: exit status {} (stdout {:?}, stderr {:?})",
        out.status,
        out.stdout_text(),
        out.stderr_text()
    );
    assert!(
        !out.stderr_text().contains("panicked"),
        "[{label}] {case}: {}",
        out.stderr_text()
    );
}

fn setup(test: &str, arch: GuestArch) -> Option<(common::TempDir, PathBuf)> {
    if !have("prlimit") {
        skip(test, "prlimit (util-linux) is not installed");
        return None;
    }
    build_guest(test, arch, "rlimits", SOURCE)
}

/// Address space without end: the guest space (64 GiB) runs out, the guest gets `ENOMEM`,
/// and can still allocate what is left.
fn alloc(arch: GuestArch) {
    let test = format!("rlimits::alloc_{}", arch.name());
    let Some((_tmp, exe)) = setup(&test, arch) else {
        return;
    };
    for (label, program, args) in engines(arch, &exe) {
        let out = run_limited(&["env"], &program, &args, "alloc");
        survived(&label, "alloc", &out);
        let text = out.stdout_text();
        let gib: u64 = text
            .strip_prefix("mmap failed: ENOMEM after ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("[{label}] unexpected output:\n{text}"));
        assert!(
            (60..64).contains(&gib),
            "[{label}] the 64 GiB guest space gave out after {gib} GiB:\n{text}"
        );
        assert!(
            text.ends_with("malloc(100) after that: ok\n"),
            "[{label}]\n{text}"
        );
    }
}

#[test]
fn alloc_riscv64() {
    alloc(GuestArch::Riscv64);
}

#[test]
fn alloc_aarch64() {
    alloc(GuestArch::Aarch64);
}

/// `RLIMIT_AS` (a soft limit of 1 GiB, as `ulimit -Sv` sets): vmx lifts it off itself to
/// reserve the guest space and applies it to the guest, whose allocations fail below it,
/// as natively and under qemu; the guest reads its own limit back.
fn as_limit(arch: GuestArch) {
    let test = format!("rlimits::as_limit_{}", arch.name());
    let Some((_tmp, exe)) = setup(&test, arch) else {
        return;
    };
    let limit = ["prlimit", "--as=1073741824:unlimited", "--"];
    let expected =
        "RLIMIT_AS soft 1024 MiB\nmalloc failed: below the limit\nmalloc(100) after that: ok\n";
    for (label, program, args) in engines(arch, &exe) {
        let out = run_limited(&limit, &program, &args, "aslimit");
        survived(&label, "aslimit", &out);
        assert_eq!(out.stdout_text(), expected, "[{label}]");
    }
    if have(arch.qemu()) {
        let out = run_limited(&limit, Path::new(arch.qemu()), &[exe.into()], "aslimit");
        assert_eq!(out.stdout_text(), expected, "[{}] disagrees", arch.qemu());
    }
}

#[test]
fn as_limit_riscv64() {
    as_limit(GuestArch::Riscv64);
}

#[test]
fn as_limit_aarch64() {
    as_limit(GuestArch::Aarch64);
}

/// A hard `RLIMIT_AS` below the guest space: vmx cannot run the guest and says why in
/// one line (exit status 1), instead of failing obscurely.
#[test]
fn hard_as_limit_is_a_clear_error() {
    let test = "rlimits::hard_as_limit_is_a_clear_error";
    let Some((_tmp, exe)) = setup(test, GuestArch::Riscv64) else {
        return;
    };
    let out = run_limited(
        &["prlimit", "--as=1073741824", "--"],
        &common::vmx(),
        &["exec".into(), "--engine=interp".into(), exe.into()],
        "aslimit",
    );
    let stderr = out.stderr_text();
    assert_eq!(out.status, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("RLIMIT_AS") && stderr.contains("raise the hard limit"),
        "{stderr}"
    );
}

/// Files without end at `RLIMIT_NOFILE` = 64: `EMFILE` after as many files as natively
/// (vmx keeps no descriptors of its own in the guest's way), then closing them helps.
fn files(arch: GuestArch) {
    let test = format!("rlimits::files_{}", arch.name());
    let Some((_tmp, exe)) = setup(&test, arch) else {
        return;
    };
    let limit = ["prlimit", "--nofile=64", "--"];
    for (label, program, args) in engines(arch, &exe) {
        let out = run_limited(&limit, &program, &args, "files");
        survived(&label, "files", &out);
        let text = out.stdout_text();
        assert!(
            text.starts_with("open failed: EMFILE after ")
                && text.contains("(limit 64)")
                && text.ends_with("pipe after closing them: 0\n"),
            "[{label}]\n{text}"
        );
        if have(arch.qemu()) {
            let q = run_limited(
                &limit,
                Path::new(arch.qemu()),
                &[exe.clone().into()],
                "files",
            );
            assert_eq!(
                text,
                q.stdout_text(),
                "[{label}] differs from {}",
                arch.qemu()
            );
        }
    }
}

#[test]
fn files_riscv64() {
    files(GuestArch::Riscv64);
}

#[test]
fn files_aarch64() {
    files(GuestArch::Aarch64);
}

/// Processes without end at `RLIMIT_NPROC` = 20. The limit does not apply to root, so the
/// guest runs as `nobody` (`setpriv`), which needs root to start with.
fn fork(arch: GuestArch) {
    let test = format!("rlimits::fork_{}", arch.name());
    let is_root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|r| r.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !is_root || !have("setpriv") {
        skip(
            &test,
            "RLIMIT_NPROC is tested as user nobody, which needs root and setpriv",
        );
        return;
    }
    let Some((tmp, exe)) = setup(&test, arch) else {
        return;
    };
    // nobody must be able to read the guest and its translation.
    for p in [tmp.path().to_path_buf(), exe.clone()] {
        let _ = Command::new("chmod").arg("a+rX").arg(&p).status();
    }
    let limit = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "prlimit",
        "--nproc=20",
        "--",
    ];
    let expected = "fork failed: EAGAIN after some children\nfork after reaping them: ok\n";
    for (label, program, args) in engines(arch, &exe) {
        let out = run_limited(&limit, &program, &args, "fork");
        survived(&label, "fork", &out);
        assert_eq!(out.stdout_text(), expected, "[{label}]");
    }
    if have(arch.qemu()) {
        // qemu's children may trip over an internal assertion when they are killed
        // ("Bail out! ERROR:…cpu_exec…"); that is qemu's, not the guest's.
        let out = run_limited(&limit, Path::new(arch.qemu()), &[exe.into()], "fork");
        let text: String = out
            .stdout_text()
            .lines()
            .filter(|l| !l.starts_with("Bail out! "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(text, expected, "[{}]", arch.qemu());
    }
}

#[test]
fn fork_riscv64() {
    fork(GuestArch::Riscv64);
}

#[test]
fn fork_aarch64() {
    fork(GuestArch::Aarch64);
}
