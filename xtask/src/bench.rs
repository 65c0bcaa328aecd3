//! `cargo xtask bench`: the benchmark suite (`benches/workloads/`, see
//! `xtask/src/workloads.rs`) natively, under `vmx exec` of a translation and under
//! qemu-user, interleaved in one run; per workload the medians and the ratios vmx/native,
//! qemu/native and vmx/qemu, their geometric means, and the translation time and `.aot`
//! size. Then the interpreter's speed, `vmx exec`'s start-up overhead over native start
//! and `vmx run`'s over `vmx exec` (a trivial guest), and native x86-64 programs under
//! KVM against the same programs run natively. Results also go to `<target>/bench.json`.
//!
//! `--quick` is a check that all of it works (CI runs it through `tests/docs.rs`), not a
//! measurement: small sizes, one repetition, `-O0` translations.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::samples::{self, Arch, QEMU_RISCV};
use crate::util::{self, capture, cargo, fmt_duration, rel, run_shown, Captured};
use crate::workloads::{self, Workload};

const QEMU_AARCH64: &str = "qemu-aarch64";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Isa {
    /// Translated with LLVM, run with `vmx exec` of the `.aot`.
    Riscv64,
    /// Interpreter only (vmx translates no AArch64 yet): `vmx exec --engine=interp`, at the
    /// `--quick` sizes unless `--full-size`.
    Aarch64,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Repetitions of each workload under each of native / vmx / qemu (interleaved).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Only these workloads (comma-separated; default: all of benches/workloads).
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    workloads: Vec<String>,
    /// Check that the suite works, quickly (not a measurement): each workload at a small
    /// size, once, translated at -O0; 3 start-up runs; no interpreter or KVM part.
    #[arg(long)]
    quick: bool,
    /// The guest ISA.
    #[arg(long, value_enum, default_value = "riscv64")]
    isa: Isa,
    /// With `--isa aarch64`: the full sizes (the interpreter takes minutes per workload).
    #[arg(long)]
    full_size: bool,
    /// Translate again even where the `.aot` is up to date.
    #[arg(long)]
    retranslate: bool,
    /// Translate without a miss profile. By default each translation covers the code an
    /// earlier run interpreted (a profile from a short run, as `vmx run` gathers by itself).
    #[arg(long)]
    no_profile: bool,
    /// cpu_bound iterations for the KVM comparison (the sample's default is 200, about 1 s
    /// natively).
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
    /// Runs of each of native, `vmx exec` and `vmx run` (cache hit) on the hello sample,
    /// for the start-up overheads (0 skips it).
    #[arg(long, default_value_t = 21)]
    startup_runs: usize,
    /// Only measure the start-up overheads.
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

const TIMEOUT: Duration = Duration::from_secs(900);

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

/// Geometric mean of positive ratios (NaN for none).
fn geomean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp()
}

/// `/proc/loadavg`'s three averages, for the record (the machine may be shared).
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The `-O` level of the bench's translations: 0 for `--quick`, else `VMX_OPT_LEVEL` or 2.
fn opt_level(args: &BenchArgs) -> String {
    if args.quick {
        "0".into()
    } else {
        std::env::var("VMX_OPT_LEVEL").unwrap_or_else(|_| "2".into())
    }
}

/// A workload's translation: where it is, how long it took (now or when it was made),
/// and `vmx translate --stats=json`'s counts.
struct Translation {
    aot: PathBuf,
    secs: f64,
    cached: bool,
    bytes: u64,
    /// Guest instructions lifted, and the CPU time lifting them to LLVM IR took (summed
    /// over compilation units; the same at every -O level).
    instructions: Option<u64>,
    lifting_s: Option<f64>,
}

impl Translation {
    /// Guest instructions lifted per second of lifting CPU time.
    fn lift_rate(&self) -> Option<f64> {
        Some(self.instructions? as f64 / self.lifting_s?)
    }
}

/// The JSON object `vmx translate --stats=json` prints on stderr.
fn translate_stats(stderr: &[u8]) -> Option<serde_json::Value> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .find(|v| v.get("instructions").is_some())
}

/// A miss profile for `guest` (`vmx exec --profile-out`): the pcs where a translation
/// without one falls back to the interpreter, on a run at the `--quick` size. This is
/// what `vmx run` gathers by itself over its first runs; discovery does not depend on
/// the -O level, so an -O0 translation finds the same misses in seconds.
fn miss_profile(vmx: &Path, w: &Workload, guest: &Path, dir: &Path) -> Result<PathBuf> {
    let base = dir.join(format!("{}.noprofile.O0.aot", w.name));
    let profile = dir.join(format!("{}.profile", w.name));
    let inputs = [guest.to_path_buf(), vmx.to_path_buf()];
    if !util::stale(&profile, &inputs) {
        return Ok(profile);
    }
    if util::stale(&base, &inputs) {
        timed(
            &format!("vmx translate -O0 ({}, for its miss profile)", w.name),
            Command::new(vmx)
                .args(["translate", "--opt-level=0"])
                .arg(guest)
                .arg("-o")
                .arg(&base),
        )?;
    }
    let _ = std::fs::remove_file(&profile);
    timed(
        &format!("vmx exec --profile-out ({})", w.name),
        Command::new(vmx)
            .arg("exec")
            .arg("--profile-out")
            .arg(&profile)
            .arg(&base)
            .arg(w.quick_scale.to_string()),
    )?;
    if !profile.exists() {
        // No misses: an empty profile, so that the next bench need not ask again.
        std::fs::write(&profile, "")?;
    }
    Ok(profile)
}

/// Translates `guest` into `<target>/bench/aot/`, unless an up-to-date `.aot` made with
/// the same command (and `VMX_CPU`) is there: newer than the guest and the vmx binary.
fn translate(
    args: &BenchArgs,
    vmx: &Path,
    w: &Workload,
    guest: &Path,
    level: &str,
) -> Result<Translation> {
    let dir = util::target_dir()?.join("bench").join("aot");
    std::fs::create_dir_all(&dir)?;
    let aot = dir.join(format!("{}.O{level}.aot", w.name));
    let stamp_path = dir.join(format!("{}.O{level}.json", w.name));
    let profile = if args.quick || args.no_profile {
        None
    } else {
        Some(miss_profile(vmx, w, guest, &dir)?)
    };
    let mut cmd = Command::new(vmx);
    cmd.arg("translate").arg(format!("--opt-level={level}"));
    if let Some(p) = &profile {
        cmd.arg("--profile").arg(p);
    }
    cmd.arg(guest).arg("-o").arg(&aot);
    let mut inputs = vec![guest.to_path_buf(), vmx.to_path_buf()];
    inputs.extend(profile.clone());
    let key = format!(
        "{} (VMX_CPU={})",
        util::show(&cmd),
        std::env::var("VMX_CPU").unwrap_or_default()
    );
    let stamp: Option<serde_json::Value> = std::fs::read_to_string(&stamp_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let fresh = !args.retranslate
        && !util::stale(&aot, &inputs)
        && stamp.as_ref().and_then(|s| s["command"].as_str()) == Some(key.as_str());
    let (secs, cached, mut stats) = match (
        fresh,
        stamp.as_ref().and_then(|s| s["translate_s"].as_f64()),
    ) {
        (true, Some(secs)) => (secs, true, stamp.as_ref().map(|s| s["stats"].clone())),
        _ => {
            cmd.arg("--stats=json");
            println!("$ {}", util::show(&cmd));
            let t = timed(&format!("vmx translate ({})", w.name), &mut cmd)?;
            (t.elapsed.as_secs_f64(), false, translate_stats(&t.stderr))
        }
    };
    if stats.as_ref().is_none_or(|s| s.is_null()) {
        // An .aot made before the bench asked for statistics: the counts (not the time)
        // from a quick -O0 translation, which lifts the same instructions.
        let tmp = dir.join(format!("{}.stats.aot", w.name));
        let t = timed(
            &format!("vmx translate --stats ({})", w.name),
            Command::new(vmx)
                .args(["translate", "--opt-level=0", "--stats=json"])
                .arg(guest)
                .arg("-o")
                .arg(&tmp),
        )?;
        let _ = std::fs::remove_file(&tmp);
        stats = translate_stats(&t.stderr);
    }
    let bytes = std::fs::metadata(&aot)
        .with_context(|| format!("vmx translate wrote no {}", aot.display()))?
        .len();
    if !cached {
        println!(
            "  {}: translated in {:.1}s, {} KiB",
            w.name,
            secs,
            bytes / 1024
        );
    }
    std::fs::write(
        &stamp_path,
        serde_json::to_string_pretty(
            &json!({ "command": key, "translate_s": secs, "stats": stats }),
        )? + "\n",
    )?;
    let stat = |k: &str| stats.as_ref().and_then(|s| s.get(k)).cloned();
    Ok(Translation {
        aot,
        secs,
        cached,
        bytes,
        instructions: stat("instructions").and_then(|v| v.as_u64()),
        lifting_s: stat("lifting_seconds").and_then(|v| v.as_f64()),
    })
}

/// One workload's results.
struct Measured {
    w: &'static Workload,
    scale: Option<u32>,
    translation: Option<Translation>,
    /// native, vmx, qemu
    times: [Vec<Duration>; 3],
    digest: String,
}

impl Measured {
    fn medians(&self) -> [f64; 3] {
        [
            median(&self.times[0]),
            median(&self.times[1]),
            median(&self.times[2]),
        ]
    }
}

const RUNNERS: [&str; 3] = ["native", "vmx", "qemu"];

pub fn bench(args: &BenchArgs) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let qemu = match args.isa {
        Isa::Riscv64 => QEMU_RISCV,
        Isa::Aarch64 => QEMU_AARCH64,
    };
    let suite = !args.startup_only && !args.kvm_only;
    if suite && !util::have(qemu) {
        bail!("{qemu} is missing: run `cargo xtask setup` first");
    }
    let selected = workloads::select(&args.workloads)?;
    let target = util::target_dir()?;
    std::fs::create_dir_all(target.join("bench"))?;
    // One bench at a time: two would share target/bench/ (builds, translations, the
    // start-up cache) and slow each other down (the docs tests run two at once).
    let lock = std::fs::File::create(target.join("bench").join("lock"))?;
    if lock.try_lock().is_err() {
        println!("bench: waiting for another `cargo xtask bench` to finish");
        lock.lock().context("locking target/bench/lock")?;
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
        let path = target.join("bench").join("kvm.json");
        std::fs::write(&path, serde_json::to_string_pretty(&kvm)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nwrote {}", rel(&path));
        return Ok(());
    }
    if args.startup_only {
        let startup = bench_startup(args, &vmx)?;
        let path = target.join("bench").join("startup.json");
        std::fs::write(&path, serde_json::to_string_pretty(&startup)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nwrote {}", rel(&path));
        return Ok(());
    }

    let guest_arch = match args.isa {
        Isa::Riscv64 => Arch::Riscv64,
        Isa::Aarch64 => Arch::Aarch64,
    };
    workloads::build(&selected, &[Arch::X86_64, guest_arch])?;
    let load_before = load_average();
    let small = args.quick || (args.isa == Isa::Aarch64 && !args.full_size);
    let runs = if args.quick { 1 } else { args.runs };
    let level = opt_level(args);

    let mut measured = Vec::new();
    for &w in &selected {
        let guest = workloads::build_dir(guest_arch)?.join(w.name);
        let translation = match args.isa {
            Isa::Riscv64 => Some(translate(args, &vmx, w, &guest, &level)?),
            Isa::Aarch64 => None,
        };
        measured.push(Measured {
            w,
            scale: small.then_some(w.quick_scale),
            translation,
            times: Default::default(),
            digest: String::new(),
        });
    }
    match args.isa {
        Isa::Riscv64 => println!(
            "running {} workloads, {runs} run(s) each of native / vmx exec (-O{level}) / {qemu}, interleaved{}",
            measured.len(),
            if small { ", small sizes" } else { "" }
        ),
        Isa::Aarch64 => println!(
            "running {} workloads, {runs} run(s) each of native / vmx exec --engine=interp (AArch64 is interpreted only) / {qemu}, interleaved{}",
            measured.len(),
            if small { ", at the --quick sizes (--full-size for the full ones)" } else { "" }
        ),
    }
    let native_dir = workloads::build_dir(Arch::X86_64)?;
    let guest_dir = workloads::build_dir(guest_arch)?;
    for run in 0..runs {
        for m in &mut measured {
            let scale = m.scale.map(|s| s.to_string());
            let native = native_dir.join(m.w.name);
            let guest = guest_dir.join(m.w.name);
            let mut cmds = [
                Command::new(&native),
                Command::new(&vmx),
                Command::new(qemu),
            ];
            match &m.translation {
                Some(t) => cmds[1].arg("exec").arg(&t.aot),
                None => cmds[1].args(["exec", "--engine=interp"]).arg(&guest),
            };
            cmds[2].arg(&guest);
            let mut reference: Option<Vec<u8>> = None;
            for (i, cmd) in cmds.iter_mut().enumerate() {
                cmd.args(&scale);
                let out = timed(&format!("{} under {}", m.w.name, RUNNERS[i]), cmd)?;
                match &reference {
                    None => reference = Some(out.stdout.clone()),
                    Some(r) if *r != out.stdout => bail!(
                        "{}: {} printed another digest than native (run {}):\n{}",
                        m.w.name,
                        RUNNERS[i],
                        run + 1,
                        util::diff(
                            &String::from_utf8_lossy(r),
                            &String::from_utf8_lossy(&out.stdout)
                        )
                    ),
                    Some(_) => {}
                }
                m.times[i].push(out.elapsed);
            }
            m.digest = String::from_utf8_lossy(reference.as_deref().unwrap_or_default())
                .lines()
                .last()
                .unwrap_or_default()
                .to_string();
        }
        if std::io::stderr().is_terminal() {
            eprint!("\r  run {}/{runs} done", run + 1);
        }
    }
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    let load_after = load_average();

    // The table.
    println!();
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>8} {:>8} {:>9}",
        "workload",
        "native s",
        "vmx s",
        "qemu s",
        "vmx/nat",
        "qemu/nat",
        "vmx/qemu",
        "translate s",
        "aot KiB",
        "insns",
        "lift i/s"
    );
    let mut ratios: [Vec<f64>; 3] = Default::default();
    let mut rows = Vec::new();
    for m in &measured {
        let [n, v, q] = m.medians();
        let r = [v / n, q / n, v / q];
        for k in 0..3 {
            ratios[k].push(r[k]);
        }
        let dash = || "-".to_string();
        let t = m.translation.as_ref();
        let tr = t.map_or_else(dash, |t| {
            format!("{:.1}{}", t.secs, if t.cached { "*" } else { "" })
        });
        let kib = t.map_or_else(dash, |t| format!("{}", t.bytes / 1024));
        let insns = t
            .and_then(|t| t.instructions)
            .map_or_else(dash, |i| format!("{}k", i / 1000));
        let rate = t
            .and_then(Translation::lift_rate)
            .map_or_else(dash, |r| format!("{:.2}M", r / 1e6));
        println!(
            "{:<10} {n:>9.3} {v:>9.3} {q:>9.3} {:>8.2}x {:>8.2}x {:>8.2}x {tr:>11} {kib:>8} {insns:>8} {rate:>9}",
            m.w.name, r[0], r[1], r[2]
        );
        rows.push(json!({
            "name": m.w.name,
            "what": m.w.what,
            "scale": m.scale,
            "digest": m.digest,
            "median_s": { "native": n, "vmx": v, "qemu": q },
            "times_s": {
                "native": m.times[0].iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
                "vmx": m.times[1].iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
                "qemu": m.times[2].iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
            },
            "ratio": { "vmx_over_native": r[0], "qemu_over_native": r[1], "vmx_over_qemu": r[2] },
            "translate_s": m.translation.as_ref().map(|t| t.secs),
            "translate_cached": m.translation.as_ref().map(|t| t.cached),
            "aot_bytes": m.translation.as_ref().map(|t| t.bytes),
            "instructions_lifted": t.and_then(|t| t.instructions),
            "lifting_cpu_s": t.and_then(|t| t.lifting_s),
            "lifted_insns_per_s": t.and_then(Translation::lift_rate),
        }));
    }
    let g = [
        geomean(&ratios[0]),
        geomean(&ratios[1]),
        geomean(&ratios[2]),
    ];
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>8.2}x {:>8.2}x {:>8.2}x",
        "geomean", "", "", "", g[0], g[1], g[2]
    );
    if measured
        .iter()
        .any(|m| m.translation.as_ref().is_some_and(|t| t.cached))
    {
        println!(
            "(* translation time from when the up-to-date .aot was made; --retranslate redoes it)"
        );
    }
    if measured.iter().any(|m| m.translation.is_some()) {
        println!("(insns: guest instructions lifted; lift i/s: per second of lifting CPU time, LLVM optimisation and code generation not included)");
    }
    let slower: Vec<&str> = measured
        .iter()
        .filter(|m| {
            let [_, v, q] = m.medians();
            v > q
        })
        .map(|m| m.w.name)
        .collect();
    if !slower.is_empty() {
        println!("slower under vmx than under {qemu}: {}", slower.join(", "));
    }
    println!(
        "load average: {} before, {} after",
        load_before.as_deref().unwrap_or("?"),
        load_after.as_deref().unwrap_or("?")
    );

    let interp = if args.interp_runs > 0 && args.isa == Isa::Riscv64 {
        Some(bench_interp(args, &vmx)?)
    } else {
        None
    };
    let startup = if args.startup_runs > 0 {
        Some(bench_startup(args, &vmx)?)
    } else {
        None
    };
    let syscall = if args.isa == Isa::Riscv64 {
        Some(bench_syscall(args, &vmx)?)
    } else {
        None
    };
    let kvm = if args.kvm_runs > 0 && !args.quick {
        Some(bench_kvm(args, &vmx)?)
    } else {
        None
    };

    let report = json!({
        "isa": match args.isa { Isa::Riscv64 => "riscv64", Isa::Aarch64 => "aarch64" },
        "vmx_engine": match args.isa { Isa::Riscv64 => "aot", Isa::Aarch64 => "interp" },
        "quick": args.quick,
        "small_sizes": small,
        "runs": runs,
        "opt_level": level,
        "workloads": rows,
        "geomean": { "vmx_over_native": g[0], "qemu_over_native": g[1], "vmx_over_qemu": g[2] },
        "load_average": { "before": load_before, "after": load_after },
        "interp": interp,
        "startup": startup,
        "syscall_round_trip": syscall,
        "kvm": kvm,
        "git_commit": git_commit(),
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
    });
    let path = target.join("bench.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("\nwrote {}", rel(&path));
    Ok(())
}

/// The interpreter on a short run of the cpu_bound sample, against native at that length.
fn bench_interp(args: &BenchArgs, vmx: &Path) -> Result<serde_json::Value> {
    let guest = samples::build_dir(Arch::Riscv64).join("cpu_bound");
    let native = samples::build_dir(Arch::X86_64).join("cpu_bound");
    let (guest, native) = (guest.as_path(), native.as_path());
    let (interp_iters, interp_runs) = if args.quick {
        (1, 1)
    } else {
        (args.interp_iters, args.interp_runs)
    };
    let iters = interp_iters.to_string();
    println!();
    println!(
        "interpreter: cpu_bound {interp_iters} iterations, {interp_runs} runs (`vmx exec --engine=interp`)"
    );
    let mut interp_times = Vec::new();
    let mut native_times = Vec::new();
    let mut reference = None;
    for _ in 0..interp_runs {
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
        "iterations": interp_iters,
        "runs": interp_runs,
        "median_s": interp_s,
        "native_median_s": native_s,
        "interp_over_native": interp_s / native_s,
        "interp_insns": stats,
        "guest_insns_per_s": insns_per_s,
    }))
}

/// Start-up overheads on a trivial guest (the hello sample): `vmx exec` of its `.aot`
/// against the same program built natively (what vmx adds to a process start: loading,
/// verifying and linking the translation, mapping the guest), and `vmx run` on the cached
/// guest against `vmx exec` (what the cache adds: key hashing, lookup, verification,
/// stats). Both vmx commands write their miss profile to /dev/null, so the cache key
/// stays the same.
fn bench_startup(args: &BenchArgs, vmx: &Path) -> Result<serde_json::Value> {
    let runs = if args.quick {
        args.startup_runs.clamp(1, 3)
    } else {
        args.startup_runs.max(1)
    };
    let guest = samples::build_dir(Arch::Riscv64).join("hello");
    let native = samples::build_dir(Arch::X86_64).join("hello");
    let cache = util::target_dir()?.join("bench").join("startup-cache");
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir_all(&cache)?;
    let cmd_run = || {
        let mut c = Command::new(vmx);
        c.env("VMX_CACHE_DIR", &cache)
            .env_remove("VMX_CACHE_REMOTE")
            .envs(args.quick.then_some(("VMX_OPT_LEVEL", "0")))
            .args(["run", "--profile-out", "/dev/null"])
            .arg(&guest);
        c
    };
    println!();
    println!("start-up: native vs `vmx exec` vs `vmx run` (cache hit) on samples/hello, {runs} runs each, interleaved");
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
    let mut native_times = Vec::new();
    let mut run_times = Vec::new();
    let mut exec_times = Vec::new();
    // CPU time (user + system) of the children too: on a shared machine wall time is
    // noisy, CPU time much less so.
    let (mut native_cpu, mut run_cpu, mut exec_cpu) = (0u64, 0u64, 0u64);
    for _ in 0..runs {
        let t0 = children_cpu_ticks();
        let n = timed("native hello", &mut Command::new(&native))?;
        let t1 = children_cpu_ticks();
        let r = timed("vmx run", &mut cmd_run())?;
        let t2 = children_cpu_ticks();
        let e = timed(
            "vmx exec",
            Command::new(vmx)
                .args(["exec", "--profile-out", "/dev/null"])
                .arg(&aot),
        )?;
        let t3 = children_cpu_ticks();
        if r.stdout != e.stdout || n.stdout != e.stdout {
            bail!("native, vmx run and vmx exec printed different things");
        }
        native_times.push(n.elapsed);
        run_times.push(r.elapsed);
        exec_times.push(e.elapsed);
        native_cpu += t1.saturating_sub(t0);
        run_cpu += t2.saturating_sub(t1);
        exec_cpu += t3.saturating_sub(t2);
    }
    let (native_s, run_s, exec_s) = (
        median(&native_times),
        median(&run_times),
        median(&exec_times),
    );
    // Clock ticks are 10 ms (USER_HZ = 100); averaged over the runs.
    let per_run_ms = |ticks: u64| ticks as f64 * 10.0 / runs as f64;
    let (native_cpu_ms, run_cpu_ms, exec_cpu_ms) = (
        per_run_ms(native_cpu),
        per_run_ms(run_cpu),
        per_run_ms(exec_cpu),
    );
    println!(
        "wall: native median {:.1} ms, vmx exec median {:.1} ms: vmx exec adds {:.1} ms to start-up",
        native_s * 1e3,
        exec_s * 1e3,
        (exec_s - native_s) * 1e3
    );
    println!(
        "wall: vmx run median {:.1} ms: the cache adds {:.1} ms over vmx exec",
        run_s * 1e3,
        (run_s - exec_s) * 1e3
    );
    println!(
        "CPU:  native mean {native_cpu_ms:.1} ms, vmx exec mean {exec_cpu_ms:.1} ms, vmx run mean {run_cpu_ms:.1} ms"
    );
    Ok(json!({
        "guest": "samples/hello",
        "runs": runs,
        "native_median_s": native_s,
        "exec_median_s": exec_s,
        "run_median_s": run_s,
        "exec_overhead_ms": (exec_s - native_s) * 1e3,
        "overhead_ms": (run_s - exec_s) * 1e3,
        "native_cpu_mean_ms": native_cpu_ms,
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

/// The round trip of a trivial system call (`getppid`) from a riscv64 guest under `vmx
/// exec`, against the same program natively: `SYSCALL_LOOP_C` built for both (its loop
/// is translated at -O0: the time is the system call's, not the loop's).
fn bench_syscall(args: &BenchArgs, vmx: &Path) -> Result<serde_json::Value> {
    let runs = if args.quick { 1 } else { args.runs.max(3) };
    let calls = if args.quick { 2_000 } else { args.syscalls };
    let dir = util::target_dir()?.join("bench");
    let src = dir.join("syscall_loop.c");
    std::fs::write(&src, SYSCALL_LOOP_C)?;
    let mut jobs = Vec::new();
    for arch in [Arch::X86_64, Arch::Riscv64] {
        let output = workloads::build_dir(arch)?.join("syscall_loop");
        let mut cmd = arch.compiler();
        cmd.args(["-O2", "-o"]).arg(&output).arg(&src);
        jobs.push(samples::Job {
            what: format!("syscall_loop ({})", arch.dir_name()),
            output,
            inputs: vec![src.clone()],
            cmd,
        });
    }
    samples::run_jobs("bench: build syscall_loop", jobs)?;
    let native = workloads::build_dir(Arch::X86_64)?.join("syscall_loop");
    let guest = workloads::build_dir(Arch::Riscv64)?.join("syscall_loop");
    let aot = dir.join("aot").join("syscall_loop.O0.aot");
    std::fs::create_dir_all(dir.join("aot"))?;
    if util::stale(&aot, &[guest.clone(), vmx.to_path_buf()]) {
        timed(
            "vmx translate syscall_loop",
            Command::new(vmx)
                .args(["translate", "--opt-level=0"])
                .arg(&guest)
                .arg("-o")
                .arg(&aot),
        )?;
    }
    println!();
    println!("system call round trip: {calls} getppid calls, {runs} runs each of native / vmx exec (riscv64 guest), interleaved");
    let per_call = |out: &Captured| -> Result<f64> {
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .context("syscall_loop printed no time")
    };
    let calls_s = calls.to_string();
    let (mut native_ns, mut vmx_ns) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        native_ns.push(per_call(&timed(
            "native syscall_loop",
            Command::new(&native).arg(&calls_s),
        )?)?);
        vmx_ns.push(per_call(&timed(
            "vmx exec syscall_loop",
            Command::new(vmx).arg("exec").arg(&aot).arg(&calls_s),
        )?)?);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (n, v) = (med(&mut native_ns), med(&mut vmx_ns));
    println!(
        "getppid round trip: native {n:.0} ns, vmx exec {v:.0} ns ({:.1}x)",
        v / n
    );
    Ok(json!({ "runs": runs, "calls": calls, "native_ns": n, "vmx_ns": v }))
}

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
    fn translate_stats_are_found_among_other_stderr_lines() {
        let err = b"warning: something\n{\"stats_version\":1,\"instructions\":77630,\"lifting_seconds\":1.5}\n";
        let v = translate_stats(err).unwrap();
        assert_eq!(v["instructions"].as_u64(), Some(77630));
        assert!(translate_stats(b"{\"other\": 1}\nno json\n").is_none());
        let t = Translation {
            aot: PathBuf::new(),
            secs: 1.0,
            cached: false,
            bytes: 0,
            instructions: Some(3000),
            lifting_s: Some(1.5),
        };
        assert_eq!(t.lift_rate(), Some(2000.0));
    }

    #[test]
    fn geometric_mean() {
        assert!((geomean(&[2.0, 8.0]) - 4.0).abs() < 1e-12);
        assert!((geomean(&[1.5]) - 1.5).abs() < 1e-12);
        assert!(geomean(&[]).is_nan());
    }

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
