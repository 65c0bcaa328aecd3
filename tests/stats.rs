//! `--stats=json` of `vmx exec`/`vmx run` and `vmx translate`, checked against the schema
//! in docs/stats.md: every documented field present with its type, and the relations
//! between them (times add up to at most the wall time, instruction counts agree across
//! engines, the cache reports a miss then a hit).
//!
//! Translations use `-O0` (about a second for glibc's `hello`); the statistics do not
//! depend on the optimisation level.

mod common;

use std::path::Path;

use common::{riscv_sample, run, vmx_cmd, Outcome, TempDir};
use serde_json::Value;

/// Fields of `vmx exec --stats=json` (docs/stats.md): name, and whether it is a count
/// (an unsigned integer) or seconds (a number).
const EXEC_COUNTS: &[&str] = &[
    "stats_version",
    "peak_guest_memory_bytes",
    "translated_insns",
    "interp_insns",
    "interp_blocks",
    "dispatch_hits",
    "dispatch_misses",
    "syscalls",
    "translated_functions",
];
const EXEC_SECONDS: &[&str] = &[
    "wall_seconds",
    "translated_seconds",
    "interp_seconds",
    "syscall_seconds",
    "other_seconds",
];
const TRANSLATE_COUNTS: &[&str] = &[
    "stats_version",
    "functions",
    "instructions",
    "units",
    "threads",
    "unresolved_jump_functions",
    "untranslated_symbols",
    "untranslated_symbol_bytes",
    "text_bytes",
    "translated_bytes",
];
const TRANSLATE_SECONDS: &[&str] = &[
    "wall_seconds",
    "discovery_seconds",
    "compile_seconds",
    "lifting_seconds",
    "optimisation_seconds",
    "codegen_seconds",
];

/// The JSON object on the last line of stderr that holds one.
fn stats_json(out: &Outcome) -> Value {
    let stderr = out.stderr_text();
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON stats on stderr:\n{stderr}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"))
}

fn count(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("{k} is not a count in {v}"))
}

fn secs(v: &Value, k: &str) -> f64 {
    let s = v[k]
        .as_f64()
        .unwrap_or_else(|| panic!("{k} is not a number in {v}"));
    assert!(s >= 0.0, "{k} is negative in {v}");
    s
}

/// Every documented field has its type; the time split covers the wall time.
fn check_exec_schema(v: &Value) {
    for k in EXEC_COUNTS {
        count(v, k);
    }
    for k in EXEC_SECONDS {
        secs(v, k);
    }
    assert_eq!(count(v, "stats_version"), 1);
    assert!(v["engine"].is_string(), "engine in {v}");
    assert!(
        v["cache"].is_null() || v["cache"].is_string(),
        "cache in {v}"
    );
    let wall = secs(v, "wall_seconds");
    let parts =
        secs(v, "translated_seconds") + secs(v, "interp_seconds") + secs(v, "syscall_seconds");
    // Each value is rounded to the microsecond.
    assert!(
        parts <= wall + 4e-6,
        "phases {parts} exceed the wall time in {v}"
    );
    let total = parts + secs(v, "other_seconds");
    assert!(
        (total - wall).abs() <= 6e-6,
        "phases + other = {total} != wall in {v}"
    );
    assert!(count(v, "translated_insns") + count(v, "interp_insns") > 0);
    assert!(count(v, "syscalls") > 0, "hello makes system calls: {v}");
    // At least the stack and the image are mapped.
    assert!(count(v, "peak_guest_memory_bytes") > 1 << 20, "{v}");
}

fn hello(test: &str) -> Option<std::path::PathBuf> {
    riscv_sample(test, "hello")
}

/// vmx with the environment of these runs (the guest sees it too: the same environment
/// makes the same program retire the same instructions).
fn vmx_with_env(cache: &Path) -> std::process::Command {
    let mut cmd = vmx_cmd();
    cmd.env("VMX_CACHE_DIR", cache)
        .env("VMX_OPT_LEVEL", "0")
        .env_remove("VMX_CACHE_REMOTE");
    cmd
}

fn vmx_run(cache: &Path, elf: &Path, extra: &[&str]) -> Outcome {
    let mut cmd = vmx_with_env(cache);
    cmd.args(["run", "--profile-out", "/dev/null"])
        .args(extra)
        .arg(elf);
    let out = run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status, 0, "vmx run: {}", out.stderr_text());
    out
}

/// `vmx run --stats=json` twice through a fresh cache: a miss, then a hit; translated
/// code runs; the instruction count equals the interpreter's for the same program.
#[test]
fn exec_stats_json() {
    let Some(elf) = hello("exec_stats_json") else {
        return;
    };
    let cache = TempDir::new("stats-cache");
    let first = stats_json(&vmx_run(cache.path(), &elf, &["--stats=json"]));
    let second = stats_json(&vmx_run(cache.path(), &elf, &["--stats=json"]));
    for v in [&first, &second] {
        check_exec_schema(v);
        assert_eq!(v["engine"], "aot");
        assert!(count(v, "translated_insns") > 0, "{v}");
        assert!(count(v, "translated_functions") > 0, "{v}");
        assert!(secs(v, "translated_seconds") > 0.0, "{v}");
    }
    assert_eq!(first["cache"], "miss", "first run: {first}");
    assert_eq!(second["cache"], "hit", "second run: {second}");

    let mut cmd = vmx_with_env(cache.path());
    cmd.args(["exec", "--engine=interp", "--stats=json"])
        .arg(&elf);
    let out = run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status, 0);
    let interp = stats_json(&out);
    check_exec_schema(&interp);
    assert_eq!(interp["engine"], "interp");
    assert!(
        interp["cache"].is_null(),
        "vmx exec uses no cache: {interp}"
    );
    assert_eq!(count(&interp, "translated_insns"), 0);
    assert_eq!(secs(&interp, "translated_seconds"), 0.0);
    assert!(secs(&interp, "interp_seconds") > 0.0);
    assert_eq!(
        count(&interp, "interp_insns"),
        count(&second, "translated_insns") + count(&second, "interp_insns"),
        "the same program retires the same instructions on both engines"
    );
    assert_eq!(count(&interp, "syscalls"), count(&second, "syscalls"));
}

/// The text form names the same fields.
#[test]
fn exec_stats_text() {
    let Some(elf) = hello("exec_stats_text") else {
        return;
    };
    let mut cmd = vmx_cmd();
    cmd.args(["exec", "--engine=interp", "--stats"]).arg(&elf);
    let out = run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"));
    let text = out.stderr_text();
    for k in EXEC_COUNTS
        .iter()
        .chain(EXEC_SECONDS)
        .filter(|k| **k != "stats_version")
    {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("vmx stats: {k} "))),
            "no {k} in:\n{text}"
        );
    }
}

/// `vmx translate --stats=json`: sizes, per-phase times, and what was left out.
#[test]
fn translate_stats_json() {
    let Some(elf) = hello("translate_stats_json") else {
        return;
    };
    let dir = TempDir::new("stats-translate");
    let aot = dir.path().join("hello.aot");
    let mut cmd = vmx_cmd();
    cmd.args(["translate", "-O0", "--stats=json"])
        .arg(&elf)
        .arg("-o")
        .arg(&aot);
    let out = common::run_translate(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status, 0, "{}", out.stderr_text());
    let v = stats_json(&out);
    for k in TRANSLATE_COUNTS {
        count(&v, k);
    }
    for k in TRANSLATE_SECONDS {
        secs(&v, k);
    }
    assert!(count(&v, "functions") > 100, "glibc's hello: {v}");
    assert!(count(&v, "instructions") > count(&v, "functions"));
    assert!(count(&v, "units") >= 1 && count(&v, "threads") >= 1);
    assert!(count(&v, "unresolved_jump_functions") <= count(&v, "functions"));
    let (text, done) = (count(&v, "text_bytes"), count(&v, "translated_bytes"));
    assert!(done > 0 && done <= text, "{v}");
    // Each RISC-V instruction is 2 or 4 bytes.
    assert!(done >= 2 * count(&v, "instructions") && done <= 4 * count(&v, "instructions"));
    assert!(count(&v, "untranslated_symbol_bytes") <= text);
    let wall = secs(&v, "wall_seconds");
    assert!(secs(&v, "discovery_seconds") + secs(&v, "compile_seconds") <= wall + 2e-6);
    assert!(secs(&v, "lifting_seconds") > 0.0 && secs(&v, "codegen_seconds") > 0.0);
    // -O0 runs no optimisation pipeline.
    assert!(secs(&v, "optimisation_seconds") < 0.01, "{v}");
    // Units run in parallel: their summed phases fit in threads x the compile time.
    let summed = secs(&v, "lifting_seconds")
        + secs(&v, "optimisation_seconds")
        + secs(&v, "codegen_seconds");
    assert!(
        summed <= secs(&v, "compile_seconds") * count(&v, "threads") as f64 + 0.01,
        "{v}"
    );

    let mut cmd = vmx_cmd();
    cmd.args(["translate", "-O0", "--stats"])
        .arg(&elf)
        .arg("-o")
        .arg(&aot);
    let out = common::run_translate(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
    let text = out.stderr_text();
    assert!(
        text.contains(&format!("{} functions,", count(&v, "functions"))),
        "{text}"
    );
    assert!(text.contains("left to the interpreter:"), "{text}");
}
