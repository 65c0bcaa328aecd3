//! Confinement of riscv64 and aarch64 guests (issue 12): a guest that aims pointers, system
//! calls, mappings or jumps at memory it does not own (where the runtime lives: the vmx
//! binary, its libraries and stacks, the kernel half, huge offsets, wrap-around) gets what
//! Linux gives a process whose address space ends at 64 GiB — `-EFAULT`, `-ENOMEM`,
//! `-EINVAL`, death by SIGSEGV (status 139, as a shell reports it) — and the runtime
//! survives to report it.
//!
//! The probe is `tests/guest/confinement_probe.c`, built with the cross compilers. It runs
//! translated (`vmx translate` + `vmx exec`, riscv64), interpreted (`--engine=interp`, both
//! ISAs) and under qemu-user where qemu's answer is Linux's too (qemu's guest address space
//! is larger than vmx's 64 GiB, so mappings there succeed under qemu).
//!
//! x86-64 guests under KVM have their own probe: `tests/samples_kvm.rs::confinement`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{build_guest, have, run, skip, translate_cached, GuestArch, Outcome};

const PROBE: &str = include_str!("guest/confinement_probe.c");

/// Accesses and jumps Linux answers with SIGSEGV, and so must vmx on every engine.
const FAULTS: &[&str] = &[
    "load-null",
    "load-64gib",
    "store-1tib",
    "load-host-binary",
    "store-host-libraries",
    "load-kernel-half",
    "store-negative",
    "jump-1tib",
    "jump-host-binary",
    "jump-kernel-half",
    "jump-heap",
    "jump-code+64gib",
];

/// Data accesses beyond 64 GiB that Linux answers with SIGSEGV but vmx wraps into the
/// guest space (every access is `base + (addr & (2^36 - 1))`, DESIGN.md decision 2): they
/// reach the guest's own memory, never the runtime's. Jumps are checked exactly
/// (`jump-code+64gib` faults).
const ALIASED: &[&str] = &[
    "load-stack+64gib",
    "store-heap+64gib",
    "store-data+64gib",
    "load-stack+2^47",
    "store-host-stack",
    "load-wraps-around",
];

/// `probe syscalls` as Linux prints it for a process whose address space ends at 64 GiB.
const SYSCALLS: &str = "\
write(1 TiB): EFAULT
write(stack + 64 GiB): EFAULT
write(host libraries): EFAULT
write(wraps around): EFAULT
write(straddles 64 GiB): EFAULT
read(kernel half): EFAULT
read(host stack): EFAULT
read(two pages, huge length): *
stat(path at 1 TiB): EFAULT
stat(buffer at host binary): EFAULT
stat(buffer at stack + 64 GiB): EFAULT
clock_gettime(negative): EFAULT
getcwd(kernel half): EFAULT
pipe2(host binary): EFAULT
mmap FIXED at 1 TiB: ENOMEM
mmap FIXED at host libraries: ENOMEM
mmap FIXED straddling 64 GiB: ENOMEM
mmap FIXED_NOREPLACE at host binary: ENOMEM
mmap FIXED in the kernel half: ENOMEM
mmap FIXED wrapping around: ENOMEM
mmap 2^62 bytes: ENOMEM
mmap -4096 bytes: ENOMEM
mprotect host libraries: ENOMEM
mprotect kernel half: ENOMEM
mprotect wrapping around: ENOMEM
mprotect straddling 64 GiB: ENOMEM
munmap kernel half: EINVAL
munmap wrapping around: EINVAL
mremap to host libraries: EINVAL
mremap growing to 2^62 bytes: ENOMEM
page still there 1, heap intact 1, data intact 1
alive
";

/// Lines of [`SYSCALLS`] where qemu-user legitimately differs: its guest address space is
/// larger than 64 GiB, so it owns memory there.
const QEMU_LARGER_SPACE: &[&str] = &[
    "mmap FIXED at 1 TiB",
    "mmap FIXED at host libraries",
    "mmap FIXED straddling 64 GiB",
    "mmap FIXED_NOREPLACE at host binary",
    "mprotect host libraries",
    "mprotect straddling 64 GiB",
    "mremap to host libraries",
];

/// One way of running the probe.
struct Engine {
    label: String,
    program: PathBuf,
    prefix: Vec<PathBuf>,
}

impl Engine {
    fn run(&self, case: &str) -> Outcome {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.prefix).arg(case).env("RUST_BACKTRACE", "0");
        run(&mut cmd, None).unwrap_or_else(|e| panic!("[{}] {case}: {e}", self.label))
    }
}

/// The probe for `arch` and the vmx engines that run it.
fn setup(test: &str, arch: GuestArch) -> Option<(common::TempDir, PathBuf, Vec<Engine>)> {
    let (tmp, exe) = build_guest(test, arch, "confinement_probe", PROBE)?;
    let vmx = common::vmx();
    let mut engines = vec![Engine {
        label: format!("vmx exec --engine=interp ({})", arch.name()),
        program: vmx.clone(),
        prefix: vec!["exec".into(), "--engine=interp".into(), exe.clone()],
    }];
    if arch == GuestArch::Riscv64 {
        let aot = translate_cached(&exe).unwrap_or_else(|e| panic!("{e}"));
        engines.push(Engine {
            label: "vmx exec (translated riscv64)".into(),
            program: vmx,
            prefix: vec!["exec".into(), aot],
        });
    }
    Some((tmp, exe, engines))
}

fn qemu(test: &str, arch: GuestArch, exe: &Path) -> Option<Engine> {
    if !have(arch.qemu()) {
        skip(
            test,
            &format!("{} is not installed; no check against qemu", arch.qemu()),
        );
        return None;
    }
    Some(Engine {
        label: arch.qemu().into(),
        program: arch.qemu().into(),
        prefix: vec![exe.to_path_buf()],
    })
}

/// The runtime itself must never be the one that failed.
fn runtime_survived(label: &str, case: &str, out: &Outcome) {
    let stderr = out.stderr_text();
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "[{label}] {case}: the runtime failed:\n{stderr}"
    );
}

fn faults(arch: GuestArch) {
    let test = format!("confinement::faults_{}", arch.name());
    let Some((_tmp, exe, mut engines)) = setup(&test, arch) else {
        return;
    };
    engines.extend(qemu(&test, arch, &exe));
    let mut failures = Vec::new();
    for case in FAULTS {
        for e in &engines {
            let out = e.run(case);
            runtime_survived(&e.label, case, &out);
            if out.status != 139 || out.stdout_text() != format!("{case}\n") {
                failures.push(format!(
                    "[{}] {case}: expected death by SIGSEGV (139) right after the access, got status {} and stdout {:?}, stderr {:?}",
                    e.label,
                    out.status,
                    out.stdout_text(),
                    out.stderr_text()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn faults_riscv64() {
    faults(GuestArch::Riscv64);
}

#[test]
fn faults_aarch64() {
    faults(GuestArch::Aarch64);
}

/// The known divergence (see [`ALIASED`]): qemu faults; vmx either faults or reaches the
/// guest's own memory and goes on; it never crashes or reaches its own memory.
fn aliased(arch: GuestArch) {
    let test = format!("confinement::aliased_{}", arch.name());
    let Some((_tmp, exe, engines)) = setup(&test, arch) else {
        return;
    };
    let qemu = qemu(&test, arch, &exe);
    for case in ALIASED {
        if let Some(q) = &qemu {
            let out = q.run(case);
            assert_eq!(out.status, 139, "[{}] {case} should fault", q.label);
        }
        for e in &engines {
            let out = e.run(case);
            runtime_survived(&e.label, case, &out);
            let text = out.stdout_text();
            let faulted = out.status == 139 && text == format!("{case}\n");
            let wrapped = out.status == 0 && text.starts_with(&format!("{case}\n"));
            assert!(
                faulted || wrapped,
                "[{}] {case}: neither a fault nor an access to the guest's own memory: status {}, stdout {text:?}",
                e.label,
                out.status
            );
        }
    }
}

#[test]
fn aliased_riscv64() {
    aliased(GuestArch::Riscv64);
}

#[test]
fn aliased_aarch64() {
    aliased(GuestArch::Aarch64);
}

/// Compares `probe syscalls` output with [`SYSCALLS`]; `*` stands for "short" or EFAULT
/// (Linux fills what is mapped and returns the count; qemu checks the range first).
fn syscall_lines_differ(label: &str, actual: &str, skip_lines: &[&str]) -> Option<String> {
    let expected: Vec<&str> = SYSCALLS.lines().collect();
    let actual: Vec<&str> = actual.lines().collect();
    let mut report = String::new();
    if expected.len() != actual.len() {
        report.push_str(&format!(
            "  {} lines, expected {}\n",
            actual.len(),
            expected.len()
        ));
    }
    for (e, a) in expected.iter().zip(&actual) {
        let (name, want) = e.rsplit_once(": ").unwrap_or((e, ""));
        if skip_lines.contains(&name) {
            continue;
        }
        let ok = match want {
            "*" => *a == format!("{name}: short") || *a == format!("{name}: EFAULT"),
            _ => a == e,
        };
        if !ok {
            report.push_str(&format!("  expected `{e}`, got `{a}`\n"));
        }
    }
    (!report.is_empty()).then(|| format!("[{label}] `probe syscalls`:\n{report}"))
}

fn syscalls(arch: GuestArch) {
    let test = format!("confinement::syscalls_{}", arch.name());
    let Some((_tmp, exe, engines)) = setup(&test, arch) else {
        return;
    };
    let mut failures = Vec::new();
    for e in &engines {
        let out = e.run("syscalls");
        runtime_survived(&e.label, "syscalls", &out);
        if out.status != 0 {
            failures.push(format!("[{}] exit status {}", e.label, out.status));
        }
        failures.extend(syscall_lines_differ(&e.label, &out.stdout_text(), &[]));
    }
    if let Some(q) = qemu(&test, arch, &exe) {
        let out = q.run("syscalls");
        failures.extend(syscall_lines_differ(
            &q.label,
            &out.stdout_text(),
            QEMU_LARGER_SPACE,
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn syscalls_riscv64() {
    syscalls(GuestArch::Riscv64);
}

#[test]
fn syscalls_aarch64() {
    syscalls(GuestArch::Aarch64);
}
