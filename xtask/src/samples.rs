//! `build-samples`, `build-bzip2` and `bless`: the guest programs under `samples/` and their
//! golden outputs.
//!
//! A sample is `samples/<name>.c` plus optional inputs `<name>.args` (one argument per line;
//! `@TMPDIR@` is replaced by a fresh temporary directory), `<name>.stdin`, `<name>.env`
//! (`KEY=VALUE` lines) and golden outputs `<name>.stdout`, `<name>.stderr` (absent = empty)
//! and `<name>.status` (absent = 0). A `<name>.riscv-only` file (its text says why) marks a
//! sample that has no native x86-64 build; a `<name>.no-aarch64` file one that has no AArch64
//! build (`samples/build/aarch64/`, run by `tests/samples_aarch64.rs`). A
//! `<name>.native-reference` file marks a sample qemu-riscv64 cannot run faithfully (its
//! text says why): its golden files come from the native x86-64 build.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::util::{self, capture, rel, root, stale, Captured, TempDir};

pub const RISCV_CC: &str = "riscv64-linux-gnu-gcc";
pub const NATIVE_CC: &str = "gcc";
/// AArch64 guests; Debian's aarch64 `ld` links `-static` fine.
pub const AARCH64_CC: &str = "aarch64-linux-gnu-gcc";
pub const QEMU_RISCV: &str = "qemu-riscv64";
/// Debian bookworm's riscv64 `ld` crashes on `-static`; LLVM's lld links these fine.
pub const RISCV_LINK_FLAGS: &[&str] = &["-B/usr/lib/llvm-19/bin", "-fuse-ld=lld"];
/// `-g`: debug information for `vmx exec -g` sessions (tests/gdb.rs); GCC's code
/// generation does not depend on it.
pub const CFLAGS: &[&str] = &["-O2", "-g", "-Wall", "-Werror"];

/// Placeholder in `.args` files for a per-run temporary directory.
pub const TMPDIR_PLACEHOLDER: &str = "@TMPDIR@";

/// The build flavours of the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Riscv64,
    /// RISC-V with the bit-manipulation extensions GCC can target
    /// (`-march=rv64gc_zba_zbb_zbs`), so the samples exercise them as compiled code.
    Riscv64Zb,
    X86_64,
    Aarch64,
}

impl Arch {
    pub fn dir_name(self) -> &'static str {
        match self {
            Arch::Riscv64 => "riscv64",
            Arch::Riscv64Zb => "riscv64-zb",
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The compiler command with the flags every build of this flavour uses.
    pub fn compiler(self) -> Command {
        match self {
            Arch::Riscv64 => {
                let mut cmd = Command::new(RISCV_CC);
                cmd.arg("-static").args(RISCV_LINK_FLAGS);
                cmd
            }
            Arch::Riscv64Zb => {
                let mut cmd = Arch::Riscv64.compiler();
                cmd.arg("-march=rv64gc_zba_zbb_zbs");
                cmd
            }
            Arch::X86_64 => {
                let mut cmd = Command::new(NATIVE_CC);
                cmd.arg("-static");
                cmd
            }
            Arch::Aarch64 => {
                let mut cmd = Command::new(AARCH64_CC);
                cmd.arg("-static");
                cmd
            }
        }
    }
}

pub fn samples_dir() -> PathBuf {
    root().join("samples")
}

pub fn build_dir(arch: Arch) -> PathBuf {
    samples_dir().join("build").join(arch.dir_name())
}

/// Where `build-samples` puts the one dynamically linked guest (used by the bad-input tests).
pub fn dynamic_hello() -> PathBuf {
    samples_dir()
        .join("build")
        .join("riscv64-dynamic")
        .join("hello")
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub source: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Option<Vec<u8>>,
    pub riscv_only: bool,
    /// `<name>.no-aarch64` exists (it says why): no AArch64 build.
    pub no_aarch64: bool,
    /// `<name>.native-reference` exists (it says why): blessed from the native build.
    pub native_reference: bool,
}

impl Sample {
    pub fn binary(&self, arch: Arch) -> PathBuf {
        build_dir(arch).join(&self.name)
    }

    fn file(&self, ext: &str) -> PathBuf {
        samples_dir().join(format!("{}.{ext}", self.name))
    }

    /// Arguments with `@TMPDIR@` replaced by `tmp`.
    pub fn args_in(&self, tmp: &Path) -> Vec<String> {
        self.args
            .iter()
            .map(|a| a.replace(TMPDIR_PLACEHOLDER, &tmp.to_string_lossy()))
            .collect()
    }
}

/// All samples (`samples/*.c`), sorted by name.
pub fn load_samples() -> Result<Vec<Sample>> {
    let dir = samples_dir();
    let mut samples = Vec::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("c") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("sample file name is not UTF-8")?
            .to_string();
        let read_opt = |ext: &str| -> Result<Option<Vec<u8>>> {
            let p = dir.join(format!("{name}.{ext}"));
            match fs::read(&p) {
                Ok(data) => Ok(Some(data)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
            }
        };
        let text_lines = |data: Option<Vec<u8>>, ext: &str| -> Result<Vec<String>> {
            match data {
                None => Ok(Vec::new()),
                Some(d) => Ok(String::from_utf8(d)
                    .with_context(|| format!("samples/{name}.{ext} is not UTF-8"))?
                    .lines()
                    .map(str::to_string)
                    .collect()),
            }
        };
        let args = text_lines(read_opt("args")?, "args")?;
        let mut env = Vec::new();
        for line in text_lines(read_opt("env")?, "env")? {
            if line.trim().is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .with_context(|| format!("samples/{name}.env: `{line}` is not KEY=VALUE"))?;
            env.push((k.to_string(), v.to_string()));
        }
        samples.push(Sample {
            stdin: read_opt("stdin")?,
            riscv_only: dir.join(format!("{name}.riscv-only")).exists(),
            no_aarch64: dir.join(format!("{name}.no-aarch64")).exists(),
            native_reference: dir.join(format!("{name}.native-reference")).exists(),
            name,
            source: path,
            args,
            env,
        });
    }
    samples.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(samples)
}

/// One compiler invocation that `build-samples` may need to run.
pub struct Job {
    pub what: String,
    pub output: PathBuf,
    pub inputs: Vec<PathBuf>,
    pub cmd: Command,
}

fn check_tools(tools: &[&str]) -> Result<()> {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !util::have(t)).collect();
    if !missing.is_empty() {
        bail!(
            "missing {}: run `cargo xtask setup` first",
            missing.join(", ")
        );
    }
    Ok(())
}

/// Where the command line an output was built with is kept (a hidden file beside it):
/// a changed compiler flag makes the output stale like a changed input does.
fn command_stamp(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    output.with_file_name(format!(".{name}.cmd"))
}

fn built_with_other_command(job: &Job) -> bool {
    fs::read_to_string(command_stamp(&job.output)).ok() != Some(util::show(&job.cmd))
}

/// Runs the stale jobs, a few at a time, and reports what it did.
pub fn run_jobs(label: &str, jobs: Vec<Job>) -> Result<()> {
    let total = jobs.len();
    let todo: Vec<Job> = jobs
        .into_iter()
        .filter(|j| stale(&j.output, &j.inputs) || built_with_other_command(j))
        .collect();
    if todo.is_empty() {
        println!("{label}: all {total} builds up to date");
        return Ok(());
    }
    for job in &todo {
        if let Some(parent) = job.output.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
    }
    let count = todo.len();
    let queue = Mutex::new(todo);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let Some(mut job) = queue.lock().unwrap().pop() else {
                    break;
                };
                let result = job.cmd.output();
                let failed = match result {
                    Ok(out) if out.status.success() => {
                        // Warnings are errors (-Werror), but other output is still shown.
                        let stderr = String::from_utf8_lossy(&out.stderr);
                        if !stderr.trim().is_empty() {
                            eprintln!("{}:\n{stderr}", job.what);
                        }
                        fs::write(command_stamp(&job.output), util::show(&job.cmd))
                            .err()
                            .map(|e| format!("{}: cannot write its command stamp: {e}", job.what))
                    }
                    Ok(out) => Some(format!(
                        "{} failed ({}):\n$ {}\n{}",
                        job.what,
                        util::describe_status(out.status),
                        util::show(&job.cmd),
                        String::from_utf8_lossy(&out.stderr)
                    )),
                    Err(e) => Some(format!(
                        "{}: could not run {}: {e}",
                        job.what,
                        util::show(&job.cmd)
                    )),
                };
                if let Some(f) = failed {
                    // Never leave a half-written binary that looks up to date.
                    let _ = fs::remove_file(&job.output);
                    failures.lock().unwrap().push(f);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("{f}");
        }
        bail!("{label}: {} of {count} builds failed", failures.len());
    }
    println!(
        "{label}: built {count}, {} already up to date",
        total - count
    );
    Ok(())
}

/// `cargo xtask build-samples`
pub fn build_samples() -> Result<()> {
    check_tools(&[RISCV_CC, NATIVE_CC, AARCH64_CC])?;
    let samples = load_samples()?;
    let mut jobs = Vec::new();
    for sample in &samples {
        let mut archs = vec![Arch::Riscv64, Arch::Riscv64Zb];
        if !sample.riscv_only {
            archs.push(Arch::X86_64);
        }
        if !sample.no_aarch64 {
            archs.push(Arch::Aarch64);
        }
        for arch in archs {
            let output = sample.binary(arch);
            let mut cmd = arch.compiler();
            cmd.args(CFLAGS)
                .arg("-o")
                .arg(&output)
                .arg(&sample.source)
                .arg("-lm");
            jobs.push(Job {
                what: format!("{} ({})", sample.name, arch.dir_name()),
                output,
                inputs: vec![sample.source.clone()],
                cmd,
            });
        }
    }
    // One dynamically linked riscv64 program, for the "dynamic ELF is rejected" test.
    let hello = samples_dir().join("hello.c");
    let output = dynamic_hello();
    let mut cmd = Command::new(RISCV_CC);
    cmd.args(CFLAGS).arg("-o").arg(&output).arg(&hello);
    jobs.push(Job {
        what: "hello (riscv64, dynamically linked)".into(),
        output,
        inputs: vec![hello],
        cmd,
    });
    run_jobs("build-samples", jobs)
}

/// The bzip2 1.0.8 sources shipped inside the `bzip2-sys` crate (a dependency of xtask).
fn bzip2_source_dir() -> Result<PathBuf> {
    let meta = util::cargo_metadata(true)?;
    let packages = meta["packages"]
        .as_array()
        .context("`cargo metadata` has no packages")?;
    let manifest = packages
        .iter()
        .find(|p| p["name"] == "bzip2-sys")
        .and_then(|p| p["manifest_path"].as_str())
        .context("the bzip2-sys crate is not in `cargo metadata` (it is a dependency of xtask)")?;
    let dir = Path::new(manifest)
        .parent()
        .context("bzip2-sys manifest has no parent")?
        .join("bzip2-1.0.8");
    if !dir.join("bzip2.c").is_file() {
        bail!("{} has no bzip2.c", dir.display());
    }
    Ok(dir)
}

/// `cargo xtask build-bzip2`
pub fn build_bzip2() -> Result<()> {
    check_tools(&[RISCV_CC, NATIVE_CC, AARCH64_CC])?;
    let src = bzip2_source_dir()?;
    let files: Vec<PathBuf> = [
        "blocksort.c",
        "huffman.c",
        "crctable.c",
        "randtable.c",
        "compress.c",
        "decompress.c",
        "bzlib.c",
        "bzip2.c",
    ]
    .iter()
    .map(|f| src.join(f))
    .collect();
    let mut jobs = Vec::new();
    for arch in [Arch::Riscv64, Arch::X86_64, Arch::Aarch64] {
        let output = build_dir(arch).join("bzip2");
        let mut cmd = arch.compiler();
        // Upstream's own flags (its Makefile), minus -Wall: this is not our code to fix.
        cmd.args(["-O2", "-D_FILE_OFFSET_BITS=64", "-w", "-o"])
            .arg(&output)
            .args(&files);
        let mut inputs = files.clone();
        inputs.push(src.join("bzlib.h"));
        inputs.push(src.join("bzlib_private.h"));
        jobs.push(Job {
            what: format!("bzip2 ({})", arch.dir_name()),
            output,
            inputs,
            cmd,
        });
    }
    run_jobs("build-bzip2", jobs)
}

/// Runs a sample binary under `runner` (e.g. `qemu-riscv64`, or nothing for native) with its
/// arguments, environment and stdin, in a fresh temporary working directory.
pub fn run_sample(sample: &Sample, runner: &[&str], binary: &Path) -> Result<Captured> {
    let tmp = TempDir::new(&sample.name)?;
    let mut cmd = match runner.split_first() {
        Some((prog, rest)) => {
            let mut c = Command::new(prog);
            c.args(rest).arg(binary);
            c
        }
        None => Command::new(binary),
    };
    cmd.args(sample.args_in(tmp.path()))
        .envs(sample.env.iter().map(|(k, v)| (k, v)))
        .current_dir(tmp.path());
    let mut out = capture(&mut cmd, sample.stdin.as_deref(), Duration::from_secs(300))?;
    out.stderr = strip_qemu_noise(&out.stderr);
    Ok(out)
}

/// qemu-user reports a guest's fatal signal on stderr itself; that line is not the guest's.
pub fn strip_qemu_noise(stderr: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(stderr);
    if !text.contains("qemu: uncaught target signal") {
        return stderr.to_vec();
    }
    text.split_inclusive('\n')
        .filter(|l| !l.starts_with("qemu: uncaught target signal"))
        .collect::<String>()
        .into_bytes()
}

/// Describes how two runs differ, or `None` if they agree.
pub fn compare(
    expected_label: &str,
    expected: &Captured,
    actual_label: &str,
    actual: &Captured,
) -> Option<String> {
    let mut report = String::new();
    for (what, e, a) in [
        ("stdout", &expected.stdout, &actual.stdout),
        ("stderr", &expected.stderr, &actual.stderr),
    ] {
        if e != a {
            report.push_str(&format!(
                "  {what} differs (-{expected_label} +{actual_label}):\n{}",
                indent(&util::diff(
                    &String::from_utf8_lossy(e),
                    &String::from_utf8_lossy(a)
                ))
            ));
        }
    }
    if expected.status != actual.status {
        report.push_str(&format!(
            "  status differs: {expected_label} {} vs {actual_label} {}\n",
            expected.status, actual.status
        ));
    }
    (!report.is_empty()).then_some(report)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// `cargo xtask bless`: regenerate golden files from qemu-riscv64, refusing if the native
/// build disagrees with it. With `check`, write nothing: fail if a golden file differs from
/// what bless would write.
pub fn bless(only: &[String], check: bool) -> Result<()> {
    check_tools(&[QEMU_RISCV])?;
    build_samples()?;
    let samples: Vec<Sample> = load_samples()?
        .into_iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .collect();
    if let Some(unknown) = only.iter().find(|n| !samples.iter().any(|s| &s.name == *n)) {
        bail!("no sample named `{unknown}` (samples/{unknown}.c)");
    }
    let mut results = Vec::new();
    let mut disagreements = Vec::new();
    for sample in &samples {
        if sample.native_reference {
            let native = run_sample(sample, &[], &sample.binary(Arch::X86_64))
                .with_context(|| format!("running {} natively", sample.name))?;
            results.push((sample, native));
            continue;
        }
        let qemu = run_sample(sample, &[QEMU_RISCV], &sample.binary(Arch::Riscv64))
            .with_context(|| format!("running {} under qemu-riscv64", sample.name))?;
        if !sample.riscv_only {
            let native = run_sample(sample, &[], &sample.binary(Arch::X86_64))
                .with_context(|| format!("running {} natively", sample.name))?;
            if let Some(report) = compare("native", &native, "qemu", &qemu) {
                disagreements.push(format!("sample `{}`:\n{report}", sample.name));
            }
        }
        results.push((sample, qemu));
    }
    if !disagreements.is_empty() {
        for d in &disagreements {
            eprintln!("{d}");
        }
        bail!(
            "bless refused: the native x86-64 build and qemu-riscv64 disagree on {} sample(s); \
             make the sample deterministic (or mark it <name>.riscv-only) — no golden file was written",
            disagreements.len()
        );
    }
    // What each golden file should hold (`None`: absent).
    let mut goldens: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
    for (sample, out) in &results {
        goldens.push((sample.file("stdout"), Some(out.stdout.clone())));
        goldens.push((
            sample.file("stderr"),
            (!out.stderr.is_empty()).then(|| out.stderr.clone()),
        ));
        goldens.push((
            sample.file("status"),
            (out.status != 0).then(|| format!("{}\n", out.status).into_bytes()),
        ));
    }
    if check {
        let stale: Vec<String> = goldens
            .iter()
            .filter(|(path, want)| fs::read(path).ok() != *want)
            .map(|(path, want)| match (want, path.exists()) {
                (None, _) => format!("  {} (should not exist)", rel(path)),
                (Some(_), false) => format!("  {} (missing)", rel(path)),
                (Some(want), true) => format!(
                    "  {}:\n{}",
                    rel(path),
                    indent(&util::diff(
                        &String::from_utf8_lossy(&fs::read(path).unwrap_or_default()),
                        &String::from_utf8_lossy(want)
                    ))
                ),
            })
            .collect();
        if !stale.is_empty() {
            bail!(
                "bless --check: {} golden file(s) differ from what qemu-riscv64 prints \
                 (-golden +qemu); `cargo xtask bless` rewrites them:\n{}",
                stale.len(),
                stale.join("\n")
            );
        }
        println!(
            "bless --check: {} samples agree between native and qemu-riscv64, and all {} golden files are up to date",
            results.len(),
            goldens.len()
        );
        return Ok(());
    }
    let mut changed = Vec::new();
    for (path, want) in &goldens {
        match want {
            Some(data) => {
                if util::write_if_changed(path, data)? {
                    changed.push(rel(path));
                }
            }
            None => {
                if util::remove_if_exists(path)? {
                    changed.push(format!("{} (removed)", rel(path)));
                }
            }
        }
    }
    println!(
        "bless: {} samples agree between native and qemu-riscv64; {} golden file(s) changed",
        results.len(),
        changed.len()
    );
    for c in changed {
        println!("  {c}");
    }
    Ok(())
}
