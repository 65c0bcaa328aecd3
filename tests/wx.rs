//! W^X (issue 12): while vmx runs a guest, no mapping of the vmx process is writable and
//! executable at once. The test reads `/proc/<vmx pid>/maps` from outside, as fast as it
//! can, from the moment vmx starts until it exits, and fails on any mapping with both `w`
//! and `x`, naming it. Covered: translated riscv64 code (the in-process linker maps the
//! code writable, then executable), the `jit_fencei` sample (a guest that writes code into
//! RWX and W^X pages, which the interpreter runs and whose translations are dropped), the
//! AArch64 interpreter, `vmx run` (translation in-process, then the cache), and x86-64
//! guests under KVM (whose guest memory is host memory).

mod common;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{riscv_sample, samples_dir, skip, translate_cached, vmx};

/// What sampling one run found.
struct Sampled {
    snapshots: usize,
    status: std::process::ExitStatus,
    stderr: String,
}

/// Runs vmx with `args`, reading its maps until it exits; panics on a W+X mapping.
fn watch(label: &str, args: &[OsString]) -> Sampled {
    watch_env(label, args, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// [`watch`] with extra environment variables; `Err` describes a W+X mapping.
fn watch_env(label: &str, args: &[OsString], env: &[(&str, &str)]) -> Result<Sampled, String> {
    let mut child = Command::new(vmx())
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("[{label}] starting vmx: {e}"));
    let maps = PathBuf::from(format!("/proc/{}/maps", child.id()));
    let deadline = Instant::now() + common::timeout();
    let mut snapshots = 0;
    let status = loop {
        // Read before checking for exit: a zombie's maps are empty, which is harmless.
        if let Ok(text) = std::fs::read_to_string(&maps) {
            // A snapshot counts if it parsed: vmx's own code is always mapped r-x.
            let mut executable = false;
            for line in text.lines() {
                let perms = line.split_whitespace().nth(1).unwrap_or("");
                executable |= perms.contains('x');
                if perms.contains('w') && perms.contains('x') {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "[{label}] vmx has a writable and executable mapping (snapshot {snapshots}):\n  {line}\nall mappings:\n{text}"
                    ));
                }
            }
            if executable {
                snapshots += 1;
            }
        }
        if let Some(status) = child.try_wait().expect("waiting for vmx") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("[{label}] vmx did not finish in {:?}", common::timeout());
        }
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(
        snapshots > 0,
        "[{label}] vmx exited before its maps could be read once"
    );
    Ok(Sampled {
        snapshots,
        status,
        stderr,
    })
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn with(mut args: Vec<OsString>, path: PathBuf) -> Vec<OsString> {
    args.push(path.into_os_string());
    args
}

/// Several runs of a translated riscv64 sample, `vmx exec` of its `.aot`.
fn translated(name: &str, runs: usize, extra: &[&str]) {
    let test = format!("wx::translated_{name}");
    let Some(elf) = riscv_sample(&test, name) else {
        return;
    };
    let aot = translate_cached(&elf).unwrap_or_else(|e| panic!("{e}"));
    let mut total = 0;
    for _ in 0..runs {
        let mut args = with(os(&["exec"]), aot.clone());
        args.extend(extra.iter().map(OsString::from));
        let s = watch(&format!("vmx exec {name}.aot"), &args);
        assert!(s.status.success(), "{name}: {}", s.stderr);
        total += s.snapshots;
    }
    eprintln!("wx: {name} (translated): {total} snapshots of the maps, no W+X mapping");
}

#[test]
fn translated_cpu_bound() {
    translated("cpu_bound", 1, &["20"]);
}

/// Generated code: written by the guest into RWX and W^X pages, run by the interpreter.
#[test]
fn translated_jit_fencei() {
    translated("jit_fencei", 5, &[]);
}

/// `vmx run`: translation by LLVM in the vmx process, the cache, then the run: still no
/// W+X mapping at any time.
#[test]
fn translate_and_run_through_the_cache() {
    let test = "wx::translate_and_run_through_the_cache";
    let Some(elf) = riscv_sample(test, "hello") else {
        return;
    };
    let tmp = common::TempDir::new("wx-cache");
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().expect("UTF-8 temporary path");
    let args = with(os(&["run"]), elf);
    let s = watch_env(
        "vmx run hello",
        &args,
        &[("VMX_CACHE_DIR", cache), ("VMX_OPT_LEVEL", "0")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(s.status.success(), "{}", s.stderr);
    eprintln!(
        "wx: vmx run (translation + cache + run): {} snapshots of the maps, no W+X mapping",
        s.snapshots
    );
}

#[test]
fn interpreted_aarch64() {
    let test = "wx::interpreted_aarch64";
    let Some(elf) = common::artefact(
        test,
        &samples_dir().join("build/aarch64/cpu_bound"),
        &[samples_dir().join("cpu_bound.c")],
        "build-samples",
    ) else {
        return;
    };
    let args = with(os(&["exec", "--engine=interp"]), elf);
    let mut args = args;
    args.push("3".into());
    let s = watch("vmx exec --engine=interp (aarch64 cpu_bound)", &args);
    assert!(s.status.success(), "{}", s.stderr);
    eprintln!(
        "wx: aarch64 interpreter: {} snapshots of the maps, no W+X mapping",
        s.snapshots
    );
}

/// x86-64 guests under KVM: `jit_fencei` (RWX guest pages) and `cpu_bound`.
#[test]
fn kvm() {
    let test = "wx::kvm";
    for (name, extra) in [("jit_fencei", None), ("cpu_bound", Some("20"))] {
        let Some(elf) = common::artefact(
            test,
            &samples_dir().join("build/x86_64").join(name),
            &[samples_dir().join(format!("{name}.c"))],
            "build-samples",
        ) else {
            return;
        };
        let mut args = with(os(&["exec"]), elf);
        args.extend(extra.map(OsString::from));
        let s = watch(&format!("vmx exec (KVM) {name}"), &args);
        if s.stderr.contains("vmx: KVM is not usable") {
            skip(test, "KVM is not usable here");
            return;
        }
        assert!(s.status.success(), "{name}: {}", s.stderr);
        eprintln!(
            "wx: {name} under KVM: {} snapshots of the maps, no W+X mapping",
            s.snapshots
        );
    }
}

/// The watcher finds a W+X mapping when there is one: with `VMX_NO_KVM=1`, `vmx exec` of
/// an x86-64 program becomes that program (same pid), and this one keeps an RWX page for
/// a while.
#[test]
fn the_watcher_sees_an_rwx_mapping() {
    let test = "wx::the_watcher_sees_an_rwx_mapping";
    if !common::have("gcc") {
        skip(test, "gcc is not installed");
        return;
    }
    let tmp = common::TempDir::new("wx-rwx");
    let src = tmp.path().join("rwx.c");
    std::fs::write(
        &src,
        "#include <sys/mman.h>\n#include <unistd.h>\nint main(void){\n  char *p = mmap(0, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);\n  if (p == MAP_FAILED) return 1;\n  p[0] = 1; usleep(500000); return 0;\n}\n",
    )
    .expect("writing rwx.c");
    let exe = tmp.path().join("rwx");
    let built = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("running gcc");
    assert!(built.success());
    let args = with(os(&["exec"]), exe);
    match watch_env("an RWX host program", &args, &[("VMX_NO_KVM", "1")]) {
        Err(e) => assert!(e.contains("rwx"), "{e}"),
        Ok(s) => panic!(
            "the watcher missed the RWX page ({} snapshots; stderr {})",
            s.snapshots, s.stderr
        ),
    }
}
