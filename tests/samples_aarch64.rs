//! The samples built for AArch64 (`aarch64-linux-gnu-gcc -static -O2`, by
//! `cargo xtask build-samples` into `samples/build/aarch64/`), run by the interpreter
//! (`vmx exec --engine=interp`) and by qemu-aarch64, and compared with the golden files
//! (which hold for every ISA: they were blessed from riscv64 and agree with native x86-64).
//!
//! Samples marked `<name>.no-aarch64` have no AArch64 build. The translated engine does
//! not handle A64 yet.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::{compare, samples_dir, skip, strip_qemu_noise, vmx, Sample};

const QEMU_AARCH64: &str = "qemu-aarch64";

fn aarch64_sample(test: &str, name: &str) -> Option<PathBuf> {
    common::artefact(
        test,
        &samples_dir().join("build/aarch64").join(name),
        &[samples_dir().join(format!("{name}.c"))],
        "build-samples",
    )
}

fn check_sample(name: &str) {
    let test = format!("samples_aarch64::{name}");
    let sample = Sample::load(name);
    let Some(elf) = aarch64_sample(&test, name) else {
        return;
    };
    let mut failures = Vec::new();
    if samples_dir()
        .join(format!("{name}.native-reference"))
        .exists()
    {
        skip(
            &test,
            "qemu-aarch64 cannot run this sample faithfully (see its .native-reference); compared with the native build's golden files only",
        );
    } else if common::have(QEMU_AARCH64) {
        match sample.run(Path::new(QEMU_AARCH64), &[elf.as_os_str()]) {
            Ok(mut out) => {
                out.stderr = strip_qemu_noise(&out.stderr);
                if let Some(r) = compare("golden", &sample.expected, "qemu-aarch64", &out) {
                    failures.push(format!(
                        "[qemu-aarch64] disagrees with the golden files:\n{r}"
                    ));
                }
            }
            Err(e) => failures.push(format!("[qemu-aarch64] {e}")),
        }
    } else {
        skip(
            &test,
            "qemu-aarch64 is not installed; no check against qemu",
        );
    }
    let args = [
        OsStr::new("exec"),
        OsStr::new("--engine=interp"),
        elf.as_os_str(),
    ];
    match sample.run(&vmx(), &args) {
        Err(e) => failures.push(format!("[vmx exec --engine=interp] {e}")),
        Ok(out) => {
            if let Some(r) = compare("golden", &sample.expected, "vmx", &out) {
                failures.push(format!(
                    "[vmx exec --engine=interp] differs from samples/{name}.*:\n{r}"
                ));
            }
        }
    }
    if !failures.is_empty() {
        panic!(
            "sample `{name}` (aarch64): {} problem(s)\n\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

macro_rules! sample_tests {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                check_sample(stringify!($name));
            }
        )*

        const REGISTERED: &[&str] = &[$(stringify!($name)),*];
    };
}

sample_tests!(
    args_env,
    big_switch,
    computed_jumps,
    cpu_bound,
    exec_self,
    exit_status,
    file_io,
    float_printf,
    fp_kernels,
    fp_rounding,
    hello,
    malloc_heavy,
    qsort_fnptr,
    recursion,
    segfault,
    setjmp_longjmp,
    sockets,
    strings,
    threads,
);

#[test]
fn every_sample_is_registered_or_marked() {
    let mut expected: Vec<String> = Sample::all_names()
        .into_iter()
        .filter(|n| !samples_dir().join(format!("{n}.no-aarch64")).exists())
        .collect();
    expected.sort();
    let mut registered: Vec<String> = REGISTERED.iter().map(|s| s.to_string()).collect();
    registered.sort();
    assert_eq!(
        expected, registered,
        "every sample without a .no-aarch64 file must be in tests/samples_aarch64.rs"
    );
}

/// An unimplemented encoding is SIGILL in the guest, reported with its pc and encoding
/// (here: glibc's `abort` reaches no such thing, so use a raw `udf`).
#[test]
fn unimplemented_instruction_is_sigill() {
    let test = "samples_aarch64::unimplemented_instruction_is_sigill";
    let Some(hello) = aarch64_sample(test, "hello") else {
        return;
    };
    // Patch the entry point of a copy of `hello` with `udf #0`.
    let bytes = std::fs::read(&hello).expect("read hello");
    let entry = u64::from_le_bytes(bytes[24..32].try_into().expect("8 bytes")) as usize;
    // Static ELF: the first PT_LOAD maps file offset 0 at its p_vaddr.
    let phoff = u64::from_le_bytes(bytes[32..40].try_into().expect("8 bytes")) as usize;
    let vaddr = u64::from_le_bytes(bytes[phoff + 16..phoff + 24].try_into().expect("8")) as usize;
    let off = entry - vaddr;
    let mut patched = bytes.clone();
    patched[off..off + 4].copy_from_slice(&0u32.to_le_bytes());
    let dir = common::TempDir::new("a64_sigill");
    let path = dir.join("udf");
    std::fs::write(&path, &patched).expect("write");
    let out = common::run(
        common::vmx_cmd()
            .args(["exec", "--engine=interp"])
            .arg(&path),
        None,
    )
    .expect("run vmx");
    assert_eq!(out.status, 128 + 4, "{}", out.stderr_text());
    let err = out.stderr_text();
    assert!(
        err.contains(&format!("pc {entry:#x}")) && err.contains("0x00000000"),
        "stderr names neither pc nor encoding: {err}"
    );
}

/// `vmx run` picks the ISA from the ELF: an AArch64 guest (no translation yet) runs on
/// the interpreter; `vmx translate` refuses it with one line and status 1.
#[test]
fn run_interprets_and_translate_refuses() {
    let test = "samples_aarch64::run_interprets_and_translate_refuses";
    let Some(hello) = aarch64_sample(test, "hello") else {
        return;
    };
    let sample = Sample::load("hello");
    let cache = common::TempDir::new("a64_run_cache");
    let out = common::run(
        common::vmx_cmd()
            .arg("run")
            .arg(&hello)
            .env("VMX_CACHE_DIR", cache.path()),
        None,
    )
    .expect("vmx run");
    assert!(
        compare("golden", &sample.expected, "vmx run", &out).is_none(),
        "vmx run: {}",
        out.stderr_text()
    );
    let dir = common::TempDir::new("a64_translate");
    let out = common::run(
        common::vmx_cmd()
            .arg("translate")
            .arg(&hello)
            .arg("-o")
            .arg(dir.join("x.aot")),
        None,
    )
    .expect("vmx translate");
    assert_eq!(out.status, 1);
    let err = out.stderr_text();
    assert!(
        err.starts_with("vmx: ") && err.trim_end().lines().count() == 1,
        "{err}"
    );
}
