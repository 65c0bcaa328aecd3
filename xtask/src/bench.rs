//! `cargo xtask bench`: the cpu_bound sample natively, under `vmx exec` and under
//! qemu-riscv64, interleaved in one run; medians and the ratios vmx/native and vmx/qemu,
//! plus the interpreter's speed, and the start-up overhead of `vmx run` on a cached guest
//! over `vmx exec` on the same `.aot`; and native x86-64 programs under KVM against the
//! same programs run natively (compute-bound speed, system-call round trip). Results also
//! go to `<target>/bench/latest.json`.

use std::io::IsTerminal;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;

use crate::samples::{self, Arch, QEMU_RISCV};
use crate::util::{self, capture, cargo, fmt_duration, rel, run_shown, Captured};

#[derive(Args)]
pub struct BenchArgs {
    /// Runs of each of native / vmx / qemu (interleaved).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// cpu_bound iterations for the native / vmx / qemu runs (the sample's default is 200,
    /// about 1 s natively).
    #[arg(long, default_value_t = 200)]
    iters: u32,
    /// cpu_bound iterations for the interpreter runs.
    #[arg(long, default_value_t = 4)]
    interp_iters: u32,
    /// Runs of the interpreter (0 skips it).
    #[arg(long, default_value_t = 3)]
    interp_runs: usize,
    /// Do not run `cargo build --release` first (use the vmx binary as it is).
    #[arg(long)]
    no_build: bool,
    /// Runs of each of `vmx run` (cache hit) and `vmx exec` on the hello sample, for the
    /// cache's start-up overhead (0 skips it).
    #[arg(long, default_value_t = 21)]
    startup_runs: usize,
    /// Only measure the start-up overhead.
    #[arg(long)]
    startup_only: bool,
    /// Runs of each of native / KVM for the x86-64 comparison (0 skips it).
    #[arg(long, default_value_t = 5)]
    kvm_runs: usize,
    /// System calls per run of the round-trip measurement.
    #[arg(long, default_value_t = 20_000)]
    syscalls: u32,
    /// Only measure x86-64 under KVM against native.
    #[arg(long)]
    kvm_only: bool,
}

const TIMEOUT: Duration = Duration::from_secs(600);

fn median(times: &[Duration]) -> f64 {
    let mut secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    let n = secs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        secs[n / 2]
    } else {
        (secs[n / 2 - 1] + secs[n / 2]) / 2.0
    }
}

fn timed(what: &str, cmd: &mut Command) -> Result<Captured> {
    let out = capture(cmd, None, TIMEOUT).with_context(|| format!("running {what}"))?;
    if out.status != 0 {
        bail!(
            "{what} failed with status {}: `{}`\n{}",
            out.status,
            util::show(cmd),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// Looks for `"interp_insns": N` in a JSON object printed by `vmx exec --stats=json`.
fn find_interp_insns(text: &str) -> Option<u64> {
    text.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .chain(serde_json::from_str::<serde_json::Value>(text.trim()).ok())
        .find_map(|v| v.get("interp_insns").and_then(serde_json::Value::as_u64))
}

struct Row {
    name: &'static str,
    times: Vec<Duration>,
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if !util::have(QEMU_RISCV) && !args.startup_only && !args.kvm_only {
        bail!("{QEMU_RISCV} is missing: run `cargo xtask setup` first");
    }
    if !args.no_build {
        run_shown(cargo().args(["build", "--release"]))?;
    }
    samples::build_samples()?;
    let vmx = util::vmx_bin()?;
    if !vmx.is_file() {
        bail!(
            "{} does not exist: run `cargo build --release`",
            vmx.display()
        );
    }
    if args.kvm_only {
        let kvm = bench_kvm(args, &vmx)?;
        let path = util::target_dir()?.join("bench").join("kvm.json");
        std::fs::create_dir_all(path.parent().context("bench dir")?)?;
        std::fs::write(&path, serde_json::to_string_pretty(&kvm)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nwrote {}", rel(&path));
        return Ok(());
    }
    if args.startup_only {
        let startup = bench_startup(args, &vmx)?;
        let path = util::target_dir()?.join("bench").join("startup.json");
        std::fs::write(&path, serde_json::to_string_pretty(&startup)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nwrote {}", rel(&path));
        return Ok(());
    }
    let guest = samples::build_dir(Arch::Riscv64).join("cpu_bound");
    let native = samples::build_dir(Arch::X86_64).join("cpu_bound");
    let out_dir = util::target_dir()?.join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let aot = out_dir.join("cpu_bound.aot");

    let mut translate = Command::new(&vmx);
    translate.arg("translate").arg(&guest).arg("-o").arg(&aot);
    println!("$ {}", util::show(&translate));
    let t = timed("vmx translate", &mut translate)?;
    let translate_secs = t.elapsed.as_secs_f64();
    println!("translated in {}", fmt_duration(t.elapsed));

    let iters = args.iters.to_string();
    let cmd_native = || {
        let mut c = Command::new(&native);
        c.arg(&iters);
        c
    };
    let cmd_vmx = || {
        let mut c = Command::new(&vmx);
        c.arg("exec").arg(&aot).arg(&iters);
        c
    };
    let cmd_qemu = || {
        let mut c = Command::new(QEMU_RISCV);
        c.arg(&guest).arg(&iters);
        c
    };

    let mut rows = [
        Row {
            name: "native",
            times: Vec::new(),
        },
        Row {
            name: "vmx exec",
            times: Vec::new(),
        },
        Row {
            name: "qemu-riscv64",
            times: Vec::new(),
        },
    ];
    let mut reference: Option<Vec<u8>> = None;
    println!(
        "running cpu_bound {} iterations, {} runs each of native / vmx exec / qemu-riscv64, interleaved",
        args.iters, args.runs
    );
    for run in 0..args.runs {
        for (i, make) in [&cmd_native as &dyn Fn() -> Command, &cmd_vmx, &cmd_qemu]
            .into_iter()
            .enumerate()
        {
            let name = rows[i].name;
            let out = timed(name, &mut make())?;
            match &reference {
                None => reference = Some(out.stdout.clone()),
                Some(r) if *r != out.stdout => bail!(
                    "{name} printed something else than native (run {}):\n{}",
                    run + 1,
                    util::diff(
                        &String::from_utf8_lossy(r),
                        &String::from_utf8_lossy(&out.stdout)
                    )
                ),
                Some(_) => {}
            }
            rows[i].times.push(out.elapsed);
        }
        if std::io::stderr().is_terminal() {
            eprint!("\r  run {}/{} done", run + 1, args.runs);
        }
    }
    if std::io::stderr().is_terminal() {
        eprintln!();
    }

    let med: Vec<f64> = rows.iter().map(|r| median(&r.times)).collect();
    let (native_s, vmx_s, qemu_s) = (med[0], med[1], med[2]);
    println!();
    println!(
        "{:<14} {:>10} {:>10} {:>10}",
        "runner", "median", "min", "max"
    );
    for (row, m) in rows.iter().zip(&med) {
        let min = row
            .times
            .iter()
            .min()
            .map_or(f64::NAN, Duration::as_secs_f64);
        let max = row
            .times
            .iter()
            .max()
            .map_or(f64::NAN, Duration::as_secs_f64);
        println!("{:<14} {:>9.3}s {:>9.3}s {:>9.3}s", row.name, m, min, max);
    }
    println!();
    println!("vmx / native   {:>6.2}x", vmx_s / native_s);
    println!("vmx / qemu     {:>6.2}x", vmx_s / qemu_s);
    println!("qemu / native  {:>6.2}x", qemu_s / native_s);

    let interp = if args.interp_runs > 0 {
        Some(bench_interp(args, &vmx, &guest, &native)?)
    } else {
        None
    };

    let startup = if args.startup_runs > 0 {
        Some(bench_startup(args, &vmx)?)
    } else {
        None
    };

    let kvm = if args.kvm_runs > 0 {
        Some(bench_kvm(args, &vmx)?)
    } else {
        None
    };

    let report = json!({
        "workload": "samples/cpu_bound",
        "iterations": args.iters,
        "runs": args.runs,
        "translate_s": translate_secs,
        "median_s": { "native": native_s, "vmx": vmx_s, "qemu": qemu_s },
        "times_s": {
            "native": rows[0].times.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
            "vmx": rows[1].times.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
            "qemu": rows[2].times.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
        },
        "ratio": {
            "vmx_over_native": vmx_s / native_s,
            "vmx_over_qemu": vmx_s / qemu_s,
            "qemu_over_native": qemu_s / native_s,
        },
        "interp": interp,
        "startup": startup,
        "kvm": kvm,
        "git_commit": git_commit(),
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
    });
    let path = out_dir.join("latest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("\nwrote {}", rel(&path));
    Ok(())
}

/// The interpreter on a shorter run of the same workload, against native at that length.
fn bench_interp(
    args: &BenchArgs,
    vmx: &Path,
    guest: &Path,
    native: &Path,
) -> Result<serde_json::Value> {
    let iters = args.interp_iters.to_string();
    println!();
    println!(
        "interpreter: cpu_bound {} iterations, {} runs (`vmx exec --engine=interp`)",
        args.interp_iters, args.interp_runs
    );
    let mut interp_times = Vec::new();
    let mut native_times = Vec::new();
    let mut reference = None;
    for _ in 0..args.interp_runs {
        let n = timed("native", Command::new(native).arg(&iters))?;
        let i = timed(
            "vmx exec --engine=interp",
            Command::new(vmx)
                .args(["exec", "--engine=interp"])
                .arg(guest)
                .arg(&iters),
        )?;
        let r = reference.get_or_insert_with(|| n.stdout.clone());
        if *r != i.stdout {
            bail!(
                "the interpreter printed something else than native:\n{}",
                util::diff(
                    &String::from_utf8_lossy(r),
                    &String::from_utf8_lossy(&i.stdout)
                )
            );
        }
        native_times.push(n.elapsed);
        interp_times.push(i.elapsed);
    }
    let interp_s = median(&interp_times);
    let native_s = median(&native_times);

    // Instruction counts, if this vmx can report them.
    let stats = capture(
        Command::new(vmx)
            .args(["exec", "--engine=interp", "--stats=json"])
            .arg(guest)
            .arg(&iters),
        None,
        TIMEOUT,
    )
    .ok()
    .filter(|c| c.status == 0)
    .and_then(|c| {
        find_interp_insns(&String::from_utf8_lossy(&c.stderr))
            .or_else(|| find_interp_insns(&String::from_utf8_lossy(&c.stdout)))
    });
    println!(
        "interpreter median {interp_s:.3}s, native {native_s:.3}s: {:.1}x native",
        interp_s / native_s
    );
    let insns_per_s = stats.map(|insns| insns as f64 / interp_s);
    match (stats, insns_per_s) {
        (Some(insns), Some(rate)) => println!(
            "interpreter: {insns} guest instructions, {:.1} M guest instructions/s",
            rate / 1e6
        ),
        _ => println!(
            "interpreter: no instruction count (`vmx exec --stats=json` gave no interp_insns)"
        ),
    }
    Ok(json!({
        "iterations": args.interp_iters,
        "runs": args.interp_runs,
        "median_s": interp_s,
        "native_median_s": native_s,
        "interp_over_native": interp_s / native_s,
        "interp_insns": stats,
        "guest_insns_per_s": insns_per_s,
    }))
}

/// `vmx run` on a guest whose translation is cached against `vmx exec` on the same
/// `.aot`: what the cache adds to start-up (key hashing, lookup, verification, stats).
/// Both write their miss profile to /dev/null, so the cache key stays the same.
fn bench_startup(args: &BenchArgs, vmx: &Path) -> Result<serde_json::Value> {
    let runs = args.startup_runs.max(1);
    let guest = samples::build_dir(Arch::Riscv64).join("hello");
    let cache = util::target_dir()?.join("bench").join("startup-cache");
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir_all(&cache)?;
    let cmd_run = || {
        let mut c = Command::new(vmx);
        c.env("VMX_CACHE_DIR", &cache)
            .env_remove("VMX_CACHE_REMOTE")
            .args(["run", "--profile-out", "/dev/null"])
            .arg(&guest);
        c
    };
    println!();
    println!("start-up: `vmx run` (cache hit) vs `vmx exec` on samples/hello, {runs} runs each, interleaved");
    let first = timed("vmx run (translating into the cache)", &mut cmd_run())?;
    println!(
        "translated into the cache in {}",
        fmt_duration(first.elapsed)
    );
    // The entry the run uses is the only one in the cache.
    let aot = walk_files(&cache)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "aot"))
        .context("vmx run left no .aot in its cache")?;
    let mut run_times = Vec::new();
    let mut exec_times = Vec::new();
    // CPU time (user + system) of the children too: on a shared machine wall time is
    // noisy, CPU time much less so.
    let (mut run_cpu, mut exec_cpu) = (0u64, 0u64);
    for _ in 0..runs {
        let before = children_cpu_ticks();
        let r = timed("vmx run", &mut cmd_run())?;
        let mid = children_cpu_ticks();
        let e = timed(
            "vmx exec",
            Command::new(vmx)
                .args(["exec", "--profile-out", "/dev/null"])
                .arg(&aot),
        )?;
        let after = children_cpu_ticks();
        if r.stdout != e.stdout {
            bail!("vmx run and vmx exec printed different things");
        }
        run_times.push(r.elapsed);
        exec_times.push(e.elapsed);
        run_cpu += mid.saturating_sub(before);
        exec_cpu += after.saturating_sub(mid);
    }
    let (run_s, exec_s) = (median(&run_times), median(&exec_times));
    // Clock ticks are 10 ms (USER_HZ = 100); averaged over the runs.
    let per_run_ms = |ticks: u64| ticks as f64 * 10.0 / runs as f64;
    let (run_cpu_ms, exec_cpu_ms) = (per_run_ms(run_cpu), per_run_ms(exec_cpu));
    println!(
        "wall: vmx run median {:.1} ms, vmx exec median {:.1} ms: the cache adds {:.1} ms",
        run_s * 1e3,
        exec_s * 1e3,
        (run_s - exec_s) * 1e3
    );
    println!(
        "CPU:  vmx run mean {run_cpu_ms:.1} ms, vmx exec mean {exec_cpu_ms:.1} ms: the cache adds {:.1} ms",
        run_cpu_ms - exec_cpu_ms
    );
    Ok(json!({
        "guest": "samples/hello",
        "runs": runs,
        "run_median_s": run_s,
        "exec_median_s": exec_s,
        "overhead_ms": (run_s - exec_s) * 1e3,
        "run_cpu_mean_ms": run_cpu_ms,
        "exec_cpu_mean_ms": exec_cpu_ms,
        "overhead_cpu_ms": run_cpu_ms - exec_cpu_ms,
    }))
}

/// A static x86-64 program making `n` trivial system calls (`getppid`, through
/// `syscall(2)` so no C library caching gets in the way) and printing the time per call.
const SYSCALL_LOOP_C: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("%.1f\n", ns / n);
    return 0;
}
"#;

/// x86-64 programs under KVM (`vmx exec` of the static ELF) against the same programs
/// natively: the cpu_bound sample (ratio of medians; target: KVM at least 0.97x native
/// speed), and the round trip of a trivial system call (target: at most 2 µs).
fn bench_kvm(args: &BenchArgs, vmx: &Path) -> Result<serde_json::Value> {
    let runs = args.kvm_runs.max(1);
    let out_dir = util::target_dir()?.join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let cpu_bound = samples::build_dir(Arch::X86_64).join("cpu_bound");
    let src = out_dir.join("syscall_loop.c");
    let looper = out_dir.join("syscall_loop");
    std::fs::write(&src, SYSCALL_LOOP_C)?;
    run_shown(
        Command::new(samples::NATIVE_CC)
            .args(["-static", "-O2", "-o"])
            .arg(&looper)
            .arg(&src),
    )?;
    println!();
    let probe = capture(
        Command::new(vmx).arg("exec").arg(&looper).arg("1"),
        None,
        TIMEOUT,
    )?;
    let probe_err = String::from_utf8_lossy(&probe.stderr);
    if let Some(line) = probe_err.lines().find(|l| l.contains("KVM is not usable")) {
        println!("x86-64 under KVM: skipped ({line})");
        return Ok(json!({ "skipped": line }));
    }
    println!(
        "x86-64 under KVM: cpu_bound {} iterations and {} getppid calls, {runs} runs each of native / vmx exec, interleaved",
        args.iters, args.syscalls
    );
    let iters = args.iters.to_string();
    let calls = args.syscalls.to_string();
    let (mut native_t, mut kvm_t) = (Vec::new(), Vec::new());
    let (mut native_ns, mut kvm_ns) = (Vec::new(), Vec::new());
    let per_call = |out: &Captured| -> Result<f64> {
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .context("syscall_loop printed no time")
    };
    for _ in 0..runs {
        let n = timed("native cpu_bound", Command::new(&cpu_bound).arg(&iters))?;
        let k = timed(
            "vmx exec cpu_bound (KVM)",
            Command::new(vmx).arg("exec").arg(&cpu_bound).arg(&iters),
        )?;
        if n.stdout != k.stdout {
            bail!("cpu_bound printed something else under KVM than natively");
        }
        native_t.push(n.elapsed);
        kvm_t.push(k.elapsed);
        let n = timed("native syscall_loop", Command::new(&looper).arg(&calls))?;
        let k = timed(
            "vmx exec syscall_loop (KVM)",
            Command::new(vmx).arg("exec").arg(&looper).arg(&calls),
        )?;
        native_ns.push(per_call(&n)?);
        kvm_ns.push(per_call(&k)?);
    }
    let (native_s, kvm_s) = (median(&native_t), median(&kvm_t));
    let med_f = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (n_ns, k_ns) = (med_f(&mut native_ns), med_f(&mut kvm_ns));
    let speed = native_s / kvm_s;
    println!(
        "cpu_bound: native median {native_s:.3}s, KVM median {kvm_s:.3}s: KVM runs at {speed:.3}x native speed (target >= 0.97x)"
    );
    println!(
        "getppid round trip: native {n_ns:.0} ns, KVM {k_ns:.0} ns ({:.2} us; target <= 2 us)",
        k_ns / 1e3
    );
    Ok(json!({
        "runs": runs,
        "cpu_bound": {
            "iterations": args.iters,
            "median_s": { "native": native_s, "kvm": kvm_s },
            "speed_vs_native": speed,
        },
        "syscall_round_trip_ns": { "native": n_ns, "kvm": k_ns, "calls": args.syscalls },
    }))
}

/// User + system time of this process's waited-for children, in clock ticks
/// (`cutime` + `cstime` of /proc/self/stat); 0 where that cannot be read.
fn children_cpu_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // Fields after the command name (which may contain spaces) start at field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    field(16).unwrap_or(0) + field(17).unwrap_or(0)
}

/// Files under `dir`, recursively.
fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(util::root())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let d = |ms| Duration::from_millis(ms);
        assert_eq!(median(&[d(300), d(100), d(200)]), 0.2);
        assert_eq!(median(&[d(400), d(100), d(200), d(300)]), 0.25);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn interp_insns_found_in_json_lines_or_whole_text() {
        assert_eq!(
            find_interp_insns("guest output\n{\"interp_insns\": 1234, \"x\": 1}\n"),
            Some(1234)
        );
        assert_eq!(
            find_interp_insns("{\n  \"interp_insns\": 77\n}\n"),
            Some(77)
        );
        assert_eq!(find_interp_insns("{\"translated_calls\": 5}"), None);
        assert_eq!(find_interp_insns("no json here"), None);
    }
}
