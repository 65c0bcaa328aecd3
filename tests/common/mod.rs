//! Shared helpers for the end-to-end tests: finding the `vmx` binary and the sample builds,
//! running programs with a timeout, temporary directories, readable diffs.
//!
//! Environment knobs:
//! - `VMX_TEST_BIN`: run this binary instead of the `vmx` cargo just built (e.g. an installed
//!   vmx, or a stand-in used to check the harness itself).
//! - `VMX_TEST_TIMEOUT`: seconds one guest run may take (default 120).
//! - `VMX_TEST_TRANSLATE_TIMEOUT`: seconds one `vmx translate` may take (default 600: a
//!   statically linked glibc program is a lot of code).
//! - `VMX_TEST_NO_CACHE`: set to translate afresh every time instead of reusing
//!   translations made by the same vmx binary of the same ELF (see [`translate_cached`]).
//!
//! Guest binaries come from `samples/build/`, made by `cargo xtask build-samples` (and
//! `cargo xtask build-bzip2`). When they are missing the tests fail and say so, unless the
//! riscv64 cross compiler itself is absent: then they are skipped with a visible message.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod golden;
pub mod rng;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::hash::Hasher;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const RISCV_CC: &str = "riscv64-linux-gnu-gcc";
pub const QEMU_RISCV: &str = "qemu-riscv64";
/// Placeholder in `samples/<name>.args` for a per-run temporary directory.
pub const TMPDIR_PLACEHOLDER: &str = "@TMPDIR@";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn samples_dir() -> PathBuf {
    root().join("samples")
}

/// The vmx binary under test.
pub fn vmx() -> PathBuf {
    match std::env::var_os("VMX_TEST_BIN") {
        Some(bin) if !bin.is_empty() => PathBuf::from(bin),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_vmx")),
    }
}

pub fn vmx_cmd() -> Command {
    let mut cmd = Command::new(vmx());
    // A panic message must be visible as such, not hidden behind a backtrace.
    cmd.env("RUST_BACKTRACE", "0");
    cmd
}

/// Whether `program` is on `PATH`.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Prints a line that shows up in `cargo test` output even when the test passes.
pub fn skip(test: &str, why: &str) {
    // Written to stderr unbuffered; cargo's capture swallows println! of passing tests,
    // so go around it.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

pub fn timeout() -> Duration {
    let secs = std::env::var("VMX_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    Duration::from_secs(secs)
}

pub fn translate_timeout() -> Duration {
    let secs = std::env::var("VMX_TEST_TRANSLATE_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    Duration::from_secs(secs)
}

/// Runs a `vmx translate …` command with [`translate_timeout`].
pub fn run_translate(cmd: &mut Command) -> Result<Outcome, String> {
    run_with_timeout(cmd, None, translate_timeout())
}

/// FNV-1a, enough to key a cache of test artefacts.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// `vmx translate <elf> -o <somewhere>`, reusing an earlier translation of the same ELF
/// bytes by the same vmx binary (same path, size and modification time). Translations are
/// kept under cargo's `CARGO_TARGET_TMPDIR`, so the test binaries share them and a rerun of
/// the tests with an unchanged vmx does not translate again. Returns the `.aot` path.
pub fn translate_cached(elf: &Path) -> Result<PathBuf, String> {
    let elf_bytes = fs::read(elf).map_err(|e| format!("reading {}: {e}", elf.display()))?;
    let vmx = vmx();
    let meta = fs::metadata(&vmx).map_err(|e| format!("{}: {e}", vmx.display()))?;
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(vmx.as_os_str().as_encoded_bytes());
    h.write_u64(meta.len());
    if let Ok(t) = meta.modified() {
        if let Ok(d) = t.duration_since(std::time::UNIX_EPOCH) {
            h.write_u128(d.as_nanos());
        }
    }
    h.write(&elf_bytes);
    let key = h.finish();
    let name = elf
        .file_name()
        .map_or_else(|| "guest".to_string(), |n| n.to_string_lossy().into_owned());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vmx-test-translations");
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let cached = dir.join(format!("{name}-{key:016x}.aot"));
    let no_cache = std::env::var_os("VMX_TEST_NO_CACHE").is_some_and(|v| !v.is_empty());

    // One translation at a time per key within this process; others wait and reuse it.
    static LOCKS: OnceLock<Mutex<HashMap<u64, Arc<Mutex<()>>>>> = OnceLock::new();
    let lock = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .clone();
    let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
    if cached.is_file() && !no_cache {
        return Ok(cached);
    }
    let partial = dir.join(format!("{name}-{key:016x}.{}.partial", std::process::id()));
    let mut cmd = vmx_cmd();
    cmd.arg("translate").arg(elf).arg("-o").arg(&partial);
    let out = run_translate(&mut cmd)?;
    if out.status != 0 || !partial.is_file() {
        let _ = fs::remove_file(&partial);
        return Err(format!(
            "`{}` failed with status {}{}:\n{}",
            show(&cmd),
            out.status,
            if partial.is_file() {
                ""
            } else {
                " and wrote no .aot"
            },
            indent(&out.stderr_text(), "    ")
        ));
    }
    fs::rename(&partial, &cached).map_err(|e| format!("renaming to {}: {e}", cached.display()))?;
    // Translations of this program by earlier vmx builds are of no further use.
    if let Ok(entries) = fs::read_dir(&dir) {
        let prefix = format!("{name}-");
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let key_part = file
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".aot"));
            if key_part.is_some_and(|k| k.len() == 16) && entry.path() != cached {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    Ok(cached)
}

fn mtime(path: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A build artefact of `cargo xtask <task>`: `Some(path)` when it exists and is newer than
/// `sources`; `None` (test skipped, with a message) when the cross compiler is not installed;
/// a test failure telling what to run otherwise.
pub fn artefact(test: &str, path: &Path, sources: &[PathBuf], task: &str) -> Option<PathBuf> {
    let shown = path.strip_prefix(root()).unwrap_or(path).display();
    if !path.is_file() {
        if !have(RISCV_CC) {
            skip(
                test,
                &format!("{shown} is missing and {RISCV_CC} is not installed (run `cargo xtask setup`, then `cargo xtask {task}`)"),
            );
            return None;
        }
        panic!("{shown} is missing: run `cargo xtask {task}` first");
    }
    if let Some(built) = mtime(path) {
        if let Some(src) = sources.iter().find(|s| mtime(s).is_some_and(|t| t > built)) {
            panic!(
                "{shown} is older than {}: run `cargo xtask {task}` first",
                src.strip_prefix(root()).unwrap_or(src).display()
            );
        }
    }
    Some(path.to_path_buf())
}

/// A riscv64 sample binary made by `cargo xtask build-samples`.
pub fn riscv_sample(test: &str, name: &str) -> Option<PathBuf> {
    artefact(
        test,
        &samples_dir().join("build/riscv64").join(name),
        &[samples_dir().join(format!("{name}.c"))],
        "build-samples",
    )
}

/// The same sample built with `-march=rv64gc_zba_zbb_zbs` (`samples/build/riscv64-zb/`).
pub fn riscv_zb_sample(test: &str, name: &str) -> Option<PathBuf> {
    artefact(
        test,
        &samples_dir().join("build/riscv64-zb").join(name),
        &[samples_dir().join(format!("{name}.c"))],
        "build-samples",
    )
}

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("vmx-test-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }

    /// Names of the entries in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// How a finished program ended and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Shell-style status: the exit code, or 128 + N when killed by signal N.
    pub status: i32,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A command line for messages.
pub fn show(cmd: &Command) -> String {
    let quote = |s: &OsStr| {
        let s = s.to_string_lossy();
        if s.is_empty() || s.contains(|c: char| c.is_whitespace() || "'\"$&|;<>()".contains(c)) {
            format!("'{}'", s.replace('\'', r"'\''"))
        } else {
            s.into_owned()
        }
    };
    std::iter::once(quote(cmd.get_program()))
        .chain(cmd.get_args().map(quote))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion with `stdin` fed to it, killing it after [`timeout`].
/// `Err` describes a failure to start or a timeout.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Result<Outcome, String> {
    run_with_timeout(cmd, stdin, timeout())
}

pub fn run_with_timeout(
    cmd: &mut Command,
    stdin: Option<&[u8]>,
    limit: Duration,
) -> Result<Outcome, String> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start `{}`: {e}", show(cmd)))?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            // EPIPE only means the program did not read all of its input.
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for `{}`: {e}", show(cmd))),
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "`{}` did not finish within {}s (VMX_TEST_TIMEOUT)",
                show(cmd),
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(Outcome {
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        status: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        elapsed,
    })
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

/// A readable line diff (`-` expected, `+` actual) with two lines of context.
pub fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        let i = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        out.push_str(&format!(
            "first difference at line {}:\n-{}\n+{}\n",
            i + 1,
            a.get(i).unwrap_or(&"<end of text>"),
            b.get(i).unwrap_or(&"<end of text>")
        ));
        return out;
    }
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 2;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut last: Option<usize> = None;
    for (k, (tag, line)) in ops.iter().enumerate() {
        if !changed
            .iter()
            .any(|&c| k + CONTEXT >= c && k <= c + CONTEXT)
        {
            continue;
        }
        if last.map_or(k > 0, |l| k > l + 1) {
            out.push_str("  ...\n");
        }
        out.push(*tag);
        out.push_str(line);
        out.push('\n');
        last = Some(k);
    }
    if !expected.is_empty()
        && !actual.is_empty()
        && expected.ends_with('\n') != actual.ends_with('\n')
    {
        out.push_str(&format!(
            "(final newline: expected {}, actual {})\n",
            if expected.ends_with('\n') {
                "yes"
            } else {
                "no"
            },
            if actual.ends_with('\n') { "yes" } else { "no" }
        ));
    }
    if out.is_empty() && expected != actual {
        out.push_str("(the texts differ only in line endings or invalid UTF-8)\n");
    }
    out
}

pub fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

/// A sample as described by `samples/<name>.*` (see `cargo xtask bless`).
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Option<Vec<u8>>,
    pub expected: Outcome,
}

impl Sample {
    pub fn load(name: &str) -> Sample {
        let dir = samples_dir();
        let read = |ext: &str| -> Option<Vec<u8>> {
            let path = dir.join(format!("{name}.{ext}"));
            match fs::read(&path) {
                Ok(data) => Some(data),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => panic!("reading {}: {e}", path.display()),
            }
        };
        let lines = |ext: &str| -> Vec<String> {
            read(ext)
                .map(|d| {
                    String::from_utf8(d)
                        .unwrap_or_else(|_| panic!("samples/{name}.{ext} is not UTF-8"))
                        .lines()
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        assert!(
            dir.join(format!("{name}.c")).is_file(),
            "there is no samples/{name}.c"
        );
        let stdout = read("stdout").unwrap_or_else(|| {
            panic!("samples/{name}.stdout is missing: run `cargo xtask bless {name}`")
        });
        let status = match read("status") {
            None => 0,
            Some(s) => String::from_utf8_lossy(&s)
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("samples/{name}.status is not a number")),
        };
        let env = lines("env")
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (k, v) = l
                    .split_once('=')
                    .unwrap_or_else(|| panic!("samples/{name}.env: `{l}` is not KEY=VALUE"));
                (k.to_string(), v.to_string())
            })
            .collect();
        Sample {
            name: name.to_string(),
            args: lines("args"),
            env,
            stdin: read("stdin"),
            expected: Outcome {
                stdout,
                stderr: read("stderr").unwrap_or_default(),
                status,
                elapsed: Duration::ZERO,
            },
        }
    }

    /// The names of all samples (`samples/*.c`), sorted.
    pub fn all_names() -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(samples_dir())
            .expect("reading samples/")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("c"))
            .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
            .collect();
        names.sort();
        names
    }

    /// Runs `program prefix… <args>` the way the sample's golden files were made: its
    /// arguments (with `@TMPDIR@` filled in), environment and stdin, in a fresh working dir.
    pub fn run(&self, program: &Path, prefix: &[&OsStr]) -> Result<Outcome, String> {
        let tmp = TempDir::new(&self.name);
        let mut cmd = Command::new(program);
        cmd.args(prefix)
            .args(
                self.args
                    .iter()
                    .map(|a| a.replace(TMPDIR_PLACEHOLDER, &tmp.path().to_string_lossy())),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_BACKTRACE", "0")
            .current_dir(tmp.path());
        run(&mut cmd, self.stdin.as_deref())
    }
}

/// Describes how `actual` differs from `expected` (stdout, stderr, status), or `None`.
pub fn compare(
    expected_label: &str,
    expected: &Outcome,
    actual_label: &str,
    actual: &Outcome,
) -> Option<String> {
    let mut report = String::new();
    for (what, e, a) in [
        ("stdout", &expected.stdout, &actual.stdout),
        ("stderr", &expected.stderr, &actual.stderr),
    ] {
        if e != a {
            report.push_str(&format!(
                "  {what} differs (-{expected_label} +{actual_label}):\n{}",
                indent(
                    &diff(&String::from_utf8_lossy(e), &String::from_utf8_lossy(a)),
                    "    "
                )
            ));
        }
    }
    if expected.status != actual.status {
        report.push_str(&format!(
            "  exit status differs: {expected_label} {}, {actual_label} {}\n",
            expected.status, actual.status
        ));
    }
    (!report.is_empty()).then_some(report)
}

/// A numeric field of the `--stats=json` line vmx prints on stderr.
pub fn stats_field(stderr: &[u8], name: &str) -> u64 {
    let text = String::from_utf8_lossy(stderr);
    let key = format!("\"{name}\":");
    let v = text
        .split(&key)
        .nth(1)
        .unwrap_or_else(|| panic!("no {name} in stats:\n{text}"));
    v.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or_default()
        .parse()
        .expect("number")
}

/// A scratch directory where programs run as a user would run them: `vmx` (the binary
/// under test) first on `PATH`, a private translation cache, `-O0` translations (half
/// a second for glibc's `hello` instead of 15-30 s) and none of the caller's `VMX_*`
/// settings. Used by the build-system and documentation tests.
pub struct Sandbox {
    pub dir: TempDir,
    path: std::ffi::OsString,
}

impl Sandbox {
    pub fn new(label: &str) -> Sandbox {
        let dir = TempDir::new(label);
        let bin = dir.join(".bin");
        fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(vmx(), bin.join("vmx")).unwrap();
        let mut paths = vec![bin];
        if let Some(p) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&p));
        }
        let path = std::env::join_paths(paths).unwrap();
        Sandbox { dir, path }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `program` run in the sandbox directory with the sandbox's environment.
    pub fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("VMX_") {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(self.path())
            .env("PATH", &self.path)
            .env("VMX_CACHE_DIR", self.dir.join(".cache/vmx"))
            .env("VMX_OPT_LEVEL", "0")
            .env("RUST_BACKTRACE", "0");
        cmd
    }

    /// Runs `program args…` in the sandbox; panics unless it exits with `status`.
    pub fn expect(&self, status: i32, program: &str, args: &[&str]) -> Outcome {
        let mut cmd = self.cmd(program);
        cmd.args(args);
        let shown = show(&cmd);
        let out =
            run_with_timeout(&mut cmd, None, translate_timeout()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out.status,
            status,
            "`{shown}` exited with {} (expected {status}):\n{}{}",
            out.status,
            out.stdout_text(),
            out.stderr_text()
        );
        out
    }
}

/// The ISAs a test can build a guest C program for with [`build_guest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestArch {
    Riscv64,
    Aarch64,
}

impl GuestArch {
    pub fn name(self) -> &'static str {
        match self {
            GuestArch::Riscv64 => "riscv64",
            GuestArch::Aarch64 => "aarch64",
        }
    }

    /// The cross compiler.
    pub fn cc(self) -> &'static str {
        match self {
            GuestArch::Riscv64 => RISCV_CC,
            GuestArch::Aarch64 => "aarch64-linux-gnu-gcc",
        }
    }

    /// qemu-user for this ISA.
    pub fn qemu(self) -> &'static str {
        match self {
            GuestArch::Riscv64 => QEMU_RISCV,
            GuestArch::Aarch64 => "qemu-aarch64",
        }
    }
}

/// Compiles `source` for `arch` the way `cargo xtask build-samples` builds the samples
/// (`-static -O2`; lld for riscv64, whose bookworm `ld` crashes on `-static`) into a
/// temporary directory. `None` (the test skipped, visibly) when the cross compiler is not
/// installed. The same source always gives the same binary.
pub fn build_guest(
    test: &str,
    arch: GuestArch,
    name: &str,
    source: &str,
) -> Option<(TempDir, PathBuf)> {
    if !have(arch.cc()) {
        skip(test, &format!("{} is not installed", arch.cc()));
        return None;
    }
    let tmp = TempDir::new(name);
    let src = tmp.path().join(format!("{name}.c"));
    fs::write(&src, source).expect("writing the guest program");
    let exe = tmp.path().join(name);
    let mut cmd = Command::new(arch.cc());
    cmd.args(["-static", "-O2", "-Wall", "-Werror"]);
    if arch == GuestArch::Riscv64 {
        cmd.args(["-B/usr/lib/llvm-19/bin", "-fuse-ld=lld"]);
    }
    // Relative names, so that the binary (its file symbol) does not depend on the
    // temporary directory and `translate_cached` can reuse its translation.
    let built = cmd
        .args(["-o", name, &format!("{name}.c")])
        .current_dir(tmp.path())
        .output()
        .expect("running the cross compiler");
    assert!(
        built.status.success(),
        "{} failed on {name}.c:\n{}",
        arch.cc(),
        String::from_utf8_lossy(&built.stderr)
    );
    Some((tmp, exe))
}
