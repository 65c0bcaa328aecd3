//! Every sample under `samples/`, run three ways and compared with its golden files:
//!
//! 1. translated: `vmx translate <elf> -o <x>.aot` (shared by the tests through a cache keyed
//!    by the vmx binary and the ELF, see `common::translate_cached`), then
//!    `vmx exec <x>.aot <args>`;
//! 2. interpreted: `vmx exec --engine=interp <elf> <args>`;
//! 3. qemu-riscv64 on the same ELF (the reference the golden files were blessed from),
//!    skipped with a message when qemu is not installed;
//! 4. the build with `-march=rv64gc_zba_zbb_zbs`, translated and under qemu-riscv64.
//!
//! One test per sample; each collects every mismatch of that sample before failing, so one
//! run shows all of what is wrong. Build the guests first with `cargo xtask build-samples`;
//! regenerate golden files with `cargo xtask bless`.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{compare, indent, skip, strip_qemu_noise, vmx, vmx_cmd, Outcome, Sample, TempDir};

/// Runs one sample every way and panics with a report of all mismatches.
fn check_sample(name: &str) {
    let test = format!("samples::{name}");
    let sample = Sample::load(name);
    let Some(elf) = common::riscv_sample(&test, name) else {
        return;
    };
    let mut failures: Vec<String> = Vec::new();

    // The reference: qemu-user on the very same binary (unless it cannot run it
    // faithfully: then the golden files come from the native build).
    let native_reference = common::samples_dir()
        .join(format!("{name}.native-reference"))
        .exists();
    let qemu = if native_reference {
        skip(
            &test,
            "qemu-riscv64 cannot run this sample faithfully (see its .native-reference); compared with the native build's golden files only",
        );
        None
    } else if common::have(common::QEMU_RISCV) {
        match sample.run(Path::new(common::QEMU_RISCV), &[elf.as_os_str()]) {
            Ok(mut out) => {
                out.stderr = strip_qemu_noise(&out.stderr);
                if let Some(report) = compare("golden", &sample.expected, "qemu", &out) {
                    failures.push(format!(
                        "[qemu-riscv64] disagrees with the golden files (stale? run `cargo xtask bless {name}`):\n{report}"
                    ));
                }
                Some(out)
            }
            Err(e) => {
                failures.push(format!("[qemu-riscv64] {e}"));
                None
            }
        }
    } else {
        skip(
            &test,
            "qemu-riscv64 is not installed; no differential check against qemu",
        );
        None
    };

    let mut check = |label: &str, result: Result<Outcome, String>| match result {
        Err(e) => failures.push(format!("[{label}] {e}")),
        Ok(out) => {
            if let Some(report) = compare("golden", &sample.expected, "vmx", &out) {
                let mut msg = format!("[{label}] differs from samples/{name}.*:\n{report}");
                // Only worth saying separately when qemu itself is off the golden files.
                if let Some(q) = qemu
                    .as_ref()
                    .filter(|q| compare("golden", &sample.expected, "qemu", q).is_some())
                {
                    if let Some(r) = compare("qemu", q, "vmx", &out) {
                        msg.push_str(&format!("  and from qemu-riscv64:\n{}", indent(&r, "  ")));
                    }
                }
                failures.push(msg);
            }
        }
    };

    // 1. translate + exec
    match common::translate_cached(&elf) {
        Err(e) => check("vmx translate", Err(e)),
        Ok(aot) => {
            let result = sample.run(&vmx(), &[OsStr::new("exec"), aot.as_os_str()]);
            check("vmx exec (translated)", result);
        }
    }

    // 2. interpreter only
    let result = sample.run(
        &vmx(),
        &[
            OsStr::new("exec"),
            OsStr::new("--engine=interp"),
            elf.as_os_str(),
        ],
    );
    check("vmx exec --engine=interp", result);

    // 3. the build with Zba/Zbb/Zbs, translated, and under qemu-riscv64
    if let Some(zb) = common::riscv_zb_sample(&test, name) {
        match common::translate_cached(&zb) {
            Err(e) => check("vmx translate (zb build)", Err(e)),
            Ok(aot) => {
                let result = sample.run(&vmx(), &[OsStr::new("exec"), aot.as_os_str()]);
                check("vmx exec (zb build, translated)", result);
            }
        }
        if common::have(common::QEMU_RISCV) && !native_reference {
            let result = sample
                .run(Path::new(common::QEMU_RISCV), &[zb.as_os_str()])
                .map(|mut out| {
                    out.stderr = strip_qemu_noise(&out.stderr);
                    out
                });
            check("qemu-riscv64 (zb build)", result);
        }
    }

    if !failures.is_empty() {
        panic!(
            "sample `{name}`: {} problem(s)\n\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

macro_rules! sample_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
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
    jit_fencei,
    malloc_heavy,
    qsort_fnptr,
    recursion,
    segfault,
    setjmp_longjmp,
    signal_timer,
    signals,
    sigsegv,
    sockets,
    strings,
    text_patch,
    thread_signals,
    threads,
);

#[test]
fn every_sample_has_a_test() {
    let mut registered: Vec<String> = REGISTERED.iter().map(|s| s.to_string()).collect();
    registered.sort();
    assert_eq!(
        Sample::all_names(),
        registered,
        "samples/*.c and the sample_tests! list in tests/samples.rs must name the same samples"
    );
}

/// Translating the same ELF twice (to different output paths) gives identical bytes.
#[test]
fn translation_is_deterministic() {
    // Translation is dominated by the statically linked libc, so one program covers a lot.
    let name = "computed_jumps";
    let Some(elf) = common::riscv_sample("translation_is_deterministic", name) else {
        return;
    };
    // The first translation may come from the shared cache (made by the same vmx binary)…
    let first = common::translate_cached(&elf).unwrap_or_else(|e| panic!("{e}"));
    // …the second is always fresh.
    let tmp = TempDir::new("determinism");
    let second = tmp.join("other-name.aot");
    let mut cmd = vmx_cmd();
    cmd.arg("translate").arg(&elf).arg("-o").arg(&second);
    let res = common::run_translate(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        res.status == 0 && second.is_file(),
        "`{}` failed with status {}:\n{}",
        common::show(&cmd),
        res.status,
        res.stderr_text()
    );
    let bytes_a = std::fs::read(&first).unwrap();
    let bytes_b = std::fs::read(&second).unwrap();
    if bytes_a != bytes_b {
        let first_diff = bytes_a
            .iter()
            .zip(&bytes_b)
            .position(|(x, y)| x != y)
            .unwrap_or(bytes_a.len().min(bytes_b.len()));
        panic!(
            "translating samples/build/riscv64/{name} twice gave different .aot files: \
             {} vs {} bytes, first difference at offset {first_diff:#x}",
            bytes_a.len(),
            bytes_b.len()
        );
    }
}
