//! `cargo xtask <task>`: set-up, sample builds, the CI entry point and the benchmark driver.
//!
//! This crate deliberately depends on nothing in the workspace (and so not on LLVM): it must
//! build on a machine that cannot build vmx yet, because installing what vmx needs is its job.

mod bench;
mod fuzz;
mod fuzz_targets;
mod samples;
mod util;
mod workloads;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};

use crate::util::{cargo, fmt_duration, rel, run, run_shown, show};

#[derive(Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "vmx development tasks",
    version
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install the Debian packages vmx needs (LLVM 19, cross compilers, qemu-user); idempotent.
    Setup,
    /// Cross-compile samples/*.c to samples/build/riscv64/ and natively to samples/build/x86_64/.
    BuildSamples,
    /// Build the bzip2 1.0.8 command-line program (from the bzip2-sys crate's sources).
    BuildBzip2,
    /// Regenerate the samples' golden files from qemu-riscv64 (refused if native disagrees);
    /// `--check` only verifies them.
    Bless {
        /// Only these samples (default: all).
        names: Vec<String>,
        /// Write nothing: fail (listing the differences) if a golden file is not what
        /// bless would write.
        #[arg(long)]
        check: bool,
    },
    /// Set up, build vmx, and run it on a bundled sample.
    Demo,
    /// Everything CI checks, in order, failing fast.
    Ci {
        /// Leave out these steps (setup, fmt, clippy, build-samples, build-bzip2, build, man,
        /// test, fuzz-targets),
        /// e.g. to resume after fixing one.
        #[arg(long, value_name = "STEP")]
        skip: Vec<String>,
    },
    /// The benchmark suite (benches/workloads) natively, under `vmx exec` and under
    /// qemu-user, interleaved; the interpreter; start-up overheads; x86-64 under KVM.
    Bench(bench::BenchArgs),
    /// Long differential fuzzing: exhaustive decoder sweep, then random instruction
    /// sequences under vmx (both engines) and qemu-riscv64 with fresh seeds.
    Fuzz(fuzz::FuzzArgs),
    /// Run the libFuzzer targets of fuzz/ (ELF loader + discovery, .aot reader, cache entry
    /// reader, RISC-V and A64 decoders) for a bounded time each, on corpora seeded from
    /// real inputs (needs nightly + cargo-fuzz: `cargo xtask setup`).
    FuzzTargets(fuzz_targets::FuzzTargetsArgs),
    /// Build vmx and write its man pages (DIR/man/vmx*.1) and bash, zsh and fish
    /// completions (DIR/completions/) from its CLI definition.
    Man {
        /// Where to write them [default: cargo's target directory].
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Setup => setup(),
        Task::BuildSamples => samples::build_samples(),
        Task::BuildBzip2 => samples::build_bzip2(),
        Task::Bless { names, check } => samples::bless(&names, check),
        Task::Demo => demo(),
        Task::Ci { skip } => ci(&skip),
        Task::Bench(args) => bench::bench(&args),
        Task::Fuzz(args) => fuzz::fuzz(&args),
        Task::FuzzTargets(args) => fuzz_targets::fuzz_targets(&args),
        Task::Man { out } => man(out),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The Debian (bookworm) packages vmx's build, samples and tests need.
const PACKAGES: &[&str] = &[
    "llvm-19-dev",
    "libzstd-dev",
    "zlib1g-dev",
    "libpolly-19-dev",
    "clang-19",
    "lld-19",
    "gcc-riscv64-linux-gnu",
    "libc6-dev-riscv64-cross",
    "binutils-riscv64-linux-gnu",
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "qemu-user",
    "gcc",
    "libc6-dev",
    // The remote cache tier's tests start a real Redis on 127.0.0.1 (tests/cache.rs).
    "redis-server",
    // tests/gdb.rs drives it against `vmx exec -g`.
    "gdb-multiarch",
    // Build-system integration (tests/build_systems.rs, docs/build-systems.md).
    "make",
    // `file` is used by docs/running.md (every command in the docs runs: tests/docs.rs).
    "file",
    "cmake",
    "ninja-build",
    "meson",
];

fn is_root() -> bool {
    // /proc/self/status has "Uid:\t<real>\t<effective>\t…"
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// `apt-get …`, through sudo when we are not root.
fn apt_get(args: &[&str]) -> Command {
    let mut cmd = if is_root() {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

fn setup() -> Result<()> {
    static APT_UPDATED: AtomicBool = AtomicBool::new(false);
    if !util::have("dpkg") || !util::have("apt-get") {
        bail!(
            "`cargo xtask setup` needs a Debian machine (dpkg and apt-get); install {} by hand",
            PACKAGES.join(" ")
        );
    }
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg")
                .args(["-s", p])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if !missing.is_empty() {
        println!("setup: installing {}", missing.join(" "));
        if !APT_UPDATED.swap(true, Ordering::SeqCst) {
            run_shown(&mut apt_get(&["update", "-q"]))?;
        }
        let mut install = apt_get(&["install", "-y", "-q", "--no-install-recommends"]);
        install.args(&missing);
        run_shown(&mut install)?;
    }
    // rustfmt and clippy are needed by `cargo xtask ci`.
    for (component, sub) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        let present = cargo()
            .args([sub, "--version"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            if !util::have("rustup") {
                bail!("`cargo {sub}` is missing and there is no rustup to add {component}");
            }
            run_shown(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    // The fuzz targets (`cargo xtask fuzz-targets`, fuzz/) need nightly and cargo-fuzz.
    if util::have("rustup") {
        let nightly = Command::new("rustup")
            .args(["run", "nightly", "rustc", "--version"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !nightly {
            run_shown(Command::new("rustup").args([
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
            ]))?;
        }
        if !fuzz_targets::available() {
            run_shown(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
        }
    }
    // The Cargo runner test (tests/build_systems.rs) cross-builds a Rust program for
    // riscv64; without rustup it is skipped (visibly).
    if util::have("rustup") {
        let installed = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for target in RUST_TARGETS {
            if !installed.lines().any(|l| l.trim() == *target) {
                run_shown(Command::new("rustup").args(["target", "add", target]))?;
            }
        }
    }
    Ok(())
}

/// Rust standard libraries the tests cross-build with.
const RUST_TARGETS: &[&str] = &["riscv64gc-unknown-linux-gnu"];

fn demo() -> Result<()> {
    println!("== setting up");
    setup()?;
    println!("== building vmx");
    run_shown(cargo().args(["build", "--release"]))?;
    println!("== building the samples");
    samples::build_samples()?;
    let vmx = util::vmx_bin()?;
    let root = util::root();
    let hello = samples::build_dir(samples::Arch::Riscv64).join("hello");
    let demo_dir = util::target_dir()?.join("demo");
    std::fs::create_dir_all(&demo_dir)?;
    let aot = demo_dir.join("hello.aot");
    println!("== translating a RISC-V program once, then running the translation");
    let mut translate = Command::new(&vmx);
    translate
        .arg("translate")
        .arg(&hello)
        .arg("-o")
        .arg(&aot)
        .current_dir(&root);
    run_shown(&mut translate)?;
    let mut exec = Command::new(&vmx);
    exec.arg("exec").arg(&aot).current_dir(&root);
    run_shown(&mut exec)?;
    println!("== translate-through-the-cache and run in one step (a CPU-bound sample)");
    let cpu = samples::build_dir(samples::Arch::Riscv64).join("cpu_bound");
    let mut run_cmd = Command::new(&vmx);
    run_cmd.arg("run").arg(&cpu).current_dir(&root);
    let start = Instant::now();
    run_shown(&mut run_cmd)?;
    println!("(took {})", fmt_duration(start.elapsed()));
    println!("== demo done: see `cargo xtask bench` for timings against native and qemu-riscv64");
    Ok(())
}

/// `cargo xtask man`: vmx generates them itself (`vmx generate-docs`, hidden) from its clap
/// definition; xtask cannot link the vmx crate (it must build before LLVM is installed).
fn man(out: Option<std::path::PathBuf>) -> Result<()> {
    run_shown(cargo().args(["build", "--release", "--bin", "vmx"]))?;
    let out = match out {
        Some(dir) => dir,
        None => util::target_dir()?,
    };
    let mut generate = Command::new(util::vmx_bin()?);
    generate.arg("generate-docs").arg("--out").arg(&out);
    run_shown(&mut generate)?;
    println!(
        "man: try `man -l {}`; completions: source {} (bash), copy _vmx to a directory on $fpath (zsh), vmx.fish to ~/.config/fish/completions/",
        rel(&out.join("man").join("vmx.1")),
        rel(&out.join("completions").join("vmx.bash"))
    );
    Ok(())
}

struct Step {
    name: &'static str,
    action: Box<dyn Fn() -> Result<()>>,
    shows: String,
}

fn cargo_step(name: &'static str, args: &'static [&'static str]) -> Step {
    let shows = show(cargo().args(args));
    Step {
        name,
        shows,
        action: Box::new(move || run(cargo().args(args))),
    }
}

/// Seconds each fuzz target runs in `cargo xtask ci` (five targets: about two minutes).
const CI_FUZZ_SECONDS: u64 = 20;

fn ci(skip: &[String]) -> Result<()> {
    // Colour codes only clutter CI logs.
    if std::env::var_os("CI").is_some() && std::env::var_os("CARGO_TERM_COLOR").is_none() {
        std::env::set_var("CARGO_TERM_COLOR", "never");
    }
    let steps = [
        Step {
            name: "setup",
            shows: "cargo xtask setup".into(),
            action: Box::new(setup),
        },
        cargo_step("fmt", &["fmt", "--all", "--check"]),
        // One profile (release) for clippy, build and test, so nothing is compiled twice.
        cargo_step(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--release",
                "--",
                "-D",
                "warnings",
            ],
        ),
        Step {
            name: "build-samples",
            shows: "cargo xtask build-samples".into(),
            action: Box::new(samples::build_samples),
        },
        Step {
            name: "build-bzip2",
            shows: "cargo xtask build-bzip2".into(),
            action: Box::new(samples::build_bzip2),
        },
        cargo_step("build", &["build", "--release"]),
        Step {
            name: "man",
            shows: "cargo xtask man".into(),
            action: Box::new(|| man(None)),
        },
        // --no-fail-fast: one failing test binary should not hide the others' results.
        cargo_step(
            "test",
            &["test", "--workspace", "--release", "--no-fail-fast"],
        ),
        Step {
            name: "fuzz-targets",
            shows: format!("cargo xtask fuzz-targets --seconds {CI_FUZZ_SECONDS}"),
            action: Box::new(|| {
                if !fuzz_targets::available() && !util::have("rustup") {
                    println!("ci: SKIPPED fuzz-targets: no nightly toolchain with cargo-fuzz and no rustup to install one");
                    return Ok(());
                }
                fuzz_targets::fuzz_targets(&fuzz_targets::FuzzTargetsArgs::bounded(CI_FUZZ_SECONDS))
            }),
        },
    ];
    if let Some(unknown) = skip
        .iter()
        .find(|s| !steps.iter().any(|st| st.name == s.as_str()))
    {
        bail!("unknown ci step `{unknown}`");
    }
    let steps: Vec<Step> = steps
        .into_iter()
        .filter(|st| !skip.iter().any(|s| s == st.name))
        .collect();
    if !skip.is_empty() {
        println!("ci: skipping {}", skip.join(", "));
    }
    let total = Instant::now();
    let n = steps.len();
    for (i, step) in steps.iter().enumerate() {
        println!("==> ci [{}/{n}] {}: {}", i + 1, step.name, step.shows);
        let start = Instant::now();
        if let Err(e) = (step.action)() {
            eprintln!(
                "ci: FAILED at step {}/{n} `{}` after {} (total {}): {e:#}",
                i + 1,
                step.name,
                fmt_duration(start.elapsed()),
                fmt_duration(total.elapsed())
            );
            std::process::exit(1);
        }
        println!(
            "==> ci [{}/{n}] {}: ok ({})",
            i + 1,
            step.name,
            fmt_duration(start.elapsed())
        );
    }
    println!(
        "ci: OK, all {n} steps passed in {} (vmx: {})",
        fmt_duration(total.elapsed()),
        util::vmx_bin()
            .map(|p| rel(&p))
            .unwrap_or_else(|_| "?".into())
    );
    Ok(())
}
