//! `cargo xtask fuzz-targets`: the libFuzzer targets of `fuzz/` (issue 12), each run for a
//! bounded time on a corpus seeded from real inputs.
//!
//! cargo-fuzz builds them optimised with debug assertions and overflow checks, under
//! AddressSanitizer. The targets need a nightly toolchain and cargo-fuzz (`cargo xtask setup` installs both
//! when rustup is there). Corpora live in `fuzz/corpus/<target>/` and grow from run to run;
//! a crash stops the run with the input saved in `fuzz/artifacts/<target>/`, which
//! `cargo +nightly fuzz run <target> <file>` (in `fuzz/`) replays. Every crash found
//! becomes a unit test with the crashing input next to the code it crashed.
//!
//! Seeds: a tiny libc-free program (`fuzz/seeds/tiny.c`) built for riscv64, aarch64 and
//! x86-64, the `hello` sample of each ISA, the riscv64 tiny program translated by vmx (a
//! real `.aot`), and instruction words from the samples' code.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::samples::{self, Arch, AARCH64_CC, NATIVE_CC, RISCV_CC, RISCV_LINK_FLAGS};
use crate::util::{cargo, fmt_duration, rel, root, run, show};

/// The targets, in the order they run, and the longest input each takes.
pub const TARGETS: &[(&str, usize)] = &[
    ("elf", 1 << 20),
    ("aot", 1 << 16),
    ("cache_entry", 1 << 16),
    ("rv_decode", 4096),
    ("a64_decode", 4096),
];

#[derive(Args)]
pub struct FuzzTargetsArgs {
    /// Seconds of fuzzing per target.
    #[arg(long, default_value_t = 25)]
    seconds: u64,
    /// Only these targets (default: all of elf, aot, cache_entry, rv_decode, a64_decode).
    targets: Vec<String>,
}

/// Whether `cargo +nightly fuzz` works here.
impl FuzzTargetsArgs {
    /// Every target for `seconds` each.
    pub fn bounded(seconds: u64) -> FuzzTargetsArgs {
        FuzzTargetsArgs {
            seconds,
            targets: Vec::new(),
        }
    }
}

pub fn available() -> bool {
    Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn fuzz_dir() -> PathBuf {
    root().join("fuzz")
}

fn corpus(target: &str) -> PathBuf {
    fuzz_dir().join("corpus").join(target)
}

/// Puts `bytes` into the corpus of `target` as `name` (if not there yet).
fn seed(target: &str, name: &str, bytes: &[u8]) -> Result<()> {
    let dir = corpus(target);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("seed-{name}"));
    if !path.exists() {
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Builds `fuzz/seeds/tiny.c` with `cc` and extra flags into `out`; `None` when the
/// compiler is not installed.
fn build_tiny(cc: &str, flags: &[&str], out: &Path) -> Result<Option<Vec<u8>>> {
    if !crate::util::have(cc) {
        println!("fuzz-targets: {cc} is not installed; no {} seed", rel(out));
        return Ok(None);
    }
    let mut cmd = Command::new(cc);
    cmd.args([
        "-static",
        "-nostdlib",
        "-O2",
        "-Wl,--build-id=none",
        "-Wl,-z,max-page-size=4096",
    ])
    .args(flags)
    .arg("-o")
    .arg(out)
    .arg(fuzz_dir().join("seeds/tiny.c"));
    run(&mut cmd)?;
    Ok(Some(std::fs::read(out)?))
}

/// The bytes of the first executable PT_LOAD of a little-endian ELF64 file (enough
/// parsing for seeds; anything odd gives `None`).
fn code_of(elf: &[u8]) -> Option<&[u8]> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(elf.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(elf.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(elf.get(o..o + 8)?.try_into().ok()?));
    let phoff = u64_at(0x20)? as usize;
    let phentsize = u16_at(0x36)? as usize;
    for i in 0..u16_at(0x38)? as usize {
        let ph = phoff + i * phentsize;
        if u32_at(ph)? == 1 && u32_at(ph + 4)? & 1 != 0 {
            let off = u64_at(ph + 8)? as usize;
            let size = u64_at(ph + 32)? as usize;
            return elf.get(off..off.checked_add(size)?);
        }
    }
    None
}

fn seed_corpora(tmp: &Path) -> Result<()> {
    let rv = build_tiny(RISCV_CC, RISCV_LINK_FLAGS, &tmp.join("tiny-riscv64"))?;
    let a64 = build_tiny(AARCH64_CC, &[], &tmp.join("tiny-aarch64"))?;
    let x86 = build_tiny(NATIVE_CC, &[], &tmp.join("tiny-x86_64"))?;
    for (name, bytes) in [
        ("tiny-riscv64", &rv),
        ("tiny-aarch64", &a64),
        ("tiny-x86_64", &x86),
    ] {
        if let Some(b) = bytes {
            seed("elf", name, b)?;
        }
    }
    for arch in [Arch::Riscv64, Arch::Aarch64, Arch::X86_64] {
        let hello = samples::build_dir(arch).join("hello");
        let Ok(bytes) = std::fs::read(&hello) else {
            println!(
                "fuzz-targets: {} is missing (cargo xtask build-samples); not a seed",
                rel(&hello)
            );
            continue;
        };
        seed("elf", &format!("hello-{}", arch.dir_name()), &bytes)?;
        let target = match arch {
            Arch::Riscv64 => "rv_decode",
            Arch::Aarch64 => "a64_decode",
            _ => continue,
        };
        if let Some(code) = code_of(&bytes) {
            // A few 4 KiB windows spread over the code.
            for k in 0..8 {
                let at = (code.len() / 8 * k) & !3;
                let end = (at + 4096).min(code.len());
                seed(target, &format!("hello-{k}"), &code[at..end])?;
            }
        }
    }
    if let Some(rv) = &rv {
        if let Some(code) = code_of(rv) {
            seed("rv_decode", "tiny", code)?;
        }
        // A real .aot, made by the vmx of this tree.
        run(cargo().args(["build", "--release", "--bin", "vmx"]))?;
        let aot = tmp.join("tiny.aot");
        run(Command::new(crate::util::vmx_bin()?)
            .arg("translate")
            .arg(tmp.join("tiny-riscv64"))
            .arg("-o")
            .arg(&aot))?;
        let bytes = std::fs::read(&aot)?;
        seed("aot", "tiny", &bytes)?;
        seed("cache_entry", "tiny", &bytes)?;
        seed("cache_entry", "stats", b"hits 3\nmisses 1\nbogus 7\n")?;
    }
    if let Some(code) = a64.as_deref().and_then(code_of) {
        seed("a64_decode", "tiny", code)?;
    }
    Ok(())
}

/// libFuzzer's closing line, `Done N runs in S second(s)`: the number of runs.
fn runs_done(stderr: &str) -> Option<u64> {
    stderr.lines().rev().find_map(|l| {
        l.strip_prefix("Done ")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// The `cov:` of libFuzzer's last status line (edges covered).
fn coverage(stderr: &str) -> Option<u64> {
    stderr.lines().rev().find_map(|l| {
        let rest = &l[l.find(" cov: ")? + 6..];
        rest.split_whitespace().next()?.parse().ok()
    })
}

pub fn fuzz_targets(args: &FuzzTargetsArgs) -> Result<()> {
    if !available() {
        bail!(
            "fuzzing needs a nightly toolchain and cargo-fuzz: run `cargo xtask setup` (it installs both with rustup)"
        );
    }
    let targets: Vec<(&str, usize)> = if args.targets.is_empty() {
        TARGETS.to_vec()
    } else {
        args.targets
            .iter()
            .map(|t| {
                TARGETS
                    .iter()
                    .copied()
                    .find(|(n, _)| n == t)
                    .with_context(|| {
                        format!(
                            "unknown fuzz target `{t}` (there are: {})",
                            TARGETS.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
                        )
                    })
            })
            .collect::<Result<_>>()?
    };
    let tmp = crate::util::TempDir::new("fuzz-seeds")?;
    seed_corpora(tmp.path())?;
    let mut build = Command::new("cargo");
    build
        .args(["+nightly", "fuzz", "build"])
        .current_dir(fuzz_dir());
    println!("fuzz-targets: {}", show(&build));
    run(&mut build)?;
    let mut summary = Vec::new();
    for (target, max_len) in targets {
        let mut cmd = Command::new("cargo");
        cmd.args(["+nightly", "fuzz", "run", target])
            .arg(corpus(target))
            .args([
                "--".to_string(),
                format!("-max_total_time={}", args.seconds),
                format!("-max_len={max_len}"),
                "-rss_limit_mb=2048".to_string(),
                "-timeout=20".to_string(),
                "-print_final_stats=1".to_string(),
            ])
            .current_dir(fuzz_dir())
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped());
        println!("fuzz-targets: {target}: {}", show(&cmd));
        let start = Instant::now();
        let out = cmd
            .spawn()
            .and_then(|c| c.wait_with_output())
            .with_context(|| format!("running the {target} fuzz target"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            // What went wrong (a panic, a sanitizer report, libFuzzer's own verdict), not
            // the input's Debug dump that cargo-fuzz prints after it.
            let why: Vec<&str> = stderr
                .lines()
                .filter(|l| {
                    l.contains("panicked at")
                        || l.starts_with("==") && l.contains("ERROR")
                        || l.contains("ERROR: libFuzzer")
                        || l.starts_with("SUMMARY:")
                        || l.contains("artifact_prefix")
                        || l.contains("Test unit written to")
                })
                .collect();
            let i = stderr.find("panicked at").unwrap_or(stderr.len());
            let message = stderr[i..].lines().nth(1).unwrap_or("");
            bail!(
                "fuzz target `{target}` failed (a crash, leak or timeout; the input is in {}):\n{}\n{message}",
                rel(&fuzz_dir().join("artifacts").join(target)),
                why.join("\n")
            );
        }
        let runs = runs_done(&stderr);
        let line = format!(
            "{target:<12} {:>12} runs in {}, {} edges covered, corpus {} inputs",
            runs.map_or("?".to_string(), |r| r.to_string()),
            fmt_duration(start.elapsed()),
            coverage(&stderr).map_or("?".to_string(), |c| c.to_string()),
            std::fs::read_dir(corpus(target)).map_or(0, |d| d.count())
        );
        println!("fuzz-targets: {line}");
        summary.push(line);
    }
    println!("fuzz-targets: no crashes\n  {}", summary.join("\n  "));
    Ok(())
}
