//! Small helpers shared by the tasks: paths, running commands, timing, diffs.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The repository root (the workspace directory above `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `path` relative to the repository root when it is inside it, for display.
pub fn rel(path: &Path) -> String {
    let root = root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The cargo that runs us (cargo sets `CARGO` for `cargo run`), or `cargo` from `PATH`.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// `cargo metadata` as JSON; `deps` resolves (and fetches) dependencies too.
pub fn cargo_metadata(deps: bool) -> Result<serde_json::Value> {
    let mut cmd = cargo();
    cmd.args(["metadata", "--format-version", "1"]);
    if !deps {
        cmd.arg("--no-deps");
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("running `cargo metadata`")?;
    if !out.status.success() {
        bail!("`cargo metadata` failed ({})", out.status);
    }
    serde_json::from_slice(&out.stdout).context("parsing `cargo metadata` output")
}

/// The cargo target directory, as cargo itself resolves it (`CARGO_TARGET_DIR`, config, default).
pub fn target_dir() -> Result<PathBuf> {
    let meta = cargo_metadata(false)?;
    let dir = meta["target_directory"]
        .as_str()
        .context("`cargo metadata` has no target_directory")?;
    Ok(PathBuf::from(dir))
}

/// Where `cargo build --release` puts the `vmx` binary.
pub fn vmx_bin() -> Result<PathBuf> {
    Ok(target_dir()?.join("release").join("vmx"))
}

/// A command line as a user would type it (paths inside the repo shown relative to it).
pub fn show(cmd: &Command) -> String {
    let program = cmd.get_program();
    let is_cargo = Path::new(program).file_name() == Some(OsStr::new("cargo"));
    let mut parts = vec![if is_cargo {
        "cargo".to_string()
    } else {
        display_arg(program)
    }];
    parts.extend(cmd.get_args().map(display_arg));
    parts.join(" ")
}

fn display_arg(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    let root = root();
    let root = root.to_string_lossy();
    let s = match s.strip_prefix(&*root) {
        Some(rest) if rest.starts_with('/') => rest.trim_start_matches('/').to_string(),
        _ => s.into_owned(),
    };
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || "'\"$&|;<>()*?".contains(c)) {
        format!("'{}'", s.replace('\'', r"'\''"))
    } else {
        s
    }
}

/// Runs `cmd` with inherited stdio, failing with the command line if it does not succeed.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{}`", show(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({})", show(cmd), describe_status(status));
    }
    Ok(())
}

/// Like [`run`], but prints the command first (`$ …`).
pub fn run_shown(cmd: &mut Command) -> Result<()> {
    println!("$ {}", show(cmd));
    run(cmd)
}

pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// Shell-style status: the exit code, or 128 + N for a process killed by signal N.
pub fn shell_status(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Whether `program` can be found on `PATH` (or is an existing path).
pub fn have(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// What a finished child printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Shell-style: exit code or 128 + signal.
    pub status: i32,
    pub elapsed: Duration,
}

/// Runs `cmd` with piped stdio, feeding `stdin`, killing it after `timeout`.
pub fn capture(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Result<Captured> {
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
        .with_context(|| format!("could not start `{}`", show(cmd)))?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            // A broken pipe just means the program did not read all of its input.
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{}` timed out after {:?}", show(cmd), timeout);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Captured {
        stdout,
        stderr,
        status: shell_status(status),
        elapsed,
    })
}

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Result<TempDir> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("vmx-xtask-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The modification time of `path`, or `None` when it does not exist.
pub fn mtime(path: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// True when `output` is missing or older than any of `inputs`.
pub fn stale(output: &Path, inputs: &[PathBuf]) -> bool {
    let Some(out) = mtime(output) else {
        return true;
    };
    inputs.iter().any(|i| mtime(i).is_none_or(|t| t > out))
}

/// "1m02.3s" / "4.56s" for a duration.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        format!("{}m{:04.1}s", (secs / 60.0) as u64, secs % 60.0)
    } else {
        format!("{secs:.2}s")
    }
}

/// A readable line diff of two texts (`-` expected, `+` actual), with a little context.
pub fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    // LCS table; outputs here are small, and huge ones fall back to the first difference.
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        let i = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        out.push_str(&format!("first difference at line {}:\n", i + 1));
        out.push_str(&format!(
            "-{}\n+{}\n",
            a.get(i).unwrap_or(&"<end>"),
            b.get(i).unwrap_or(&"<end>")
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
    let mut ops = Vec::new(); // (tag, line)
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
    let mut last_printed: Option<usize> = None;
    for (k, op) in ops.iter().enumerate() {
        let near = changed
            .iter()
            .any(|&c| k + CONTEXT >= c && k <= c + CONTEXT);
        if !near {
            continue;
        }
        if last_printed.is_some_and(|l| k > l + 1) || (last_printed.is_none() && k > 0) {
            out.push_str("  ...\n");
        }
        out.push(op.0);
        out.push_str(op.1);
        out.push('\n');
        last_printed = Some(k);
    }
    if !expected.is_empty()
        && !actual.is_empty()
        && expected.ends_with('\n') != actual.ends_with('\n')
    {
        out.push_str(&format!(
            "(trailing newline: expected {}, actual {})\n",
            expected.ends_with('\n'),
            actual.ends_with('\n')
        ));
    }
    if out.is_empty() && expected != actual {
        out.push_str("(texts differ only in line endings)\n");
    }
    out
}

/// Writes `data` to `path` only when it differs; returns whether it changed.
pub fn write_if_changed(path: &Path, data: &[u8]) -> Result<bool> {
    if fs::read(path).ok().as_deref() == Some(data) {
        return Ok(false);
    }
    fs::write(path, data).with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}

/// Removes `path` if it exists; returns whether it did.
pub fn remove_if_exists(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines_with_context() {
        let d = diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n");
        assert_eq!(d, "  ...\n b\n c\n-d\n+D\n e\n f\n");
        assert_eq!(diff("same\n", "same\n"), "");
        assert!(diff("x\n", "x").contains("trailing newline"));
        assert_eq!(diff("", "new\n"), "+new\n");
    }

    #[test]
    fn shell_style_display() {
        let mut cmd = Command::new("echo");
        cmd.arg("two words").arg("plain").arg("");
        assert_eq!(show(&cmd), "echo 'two words' plain ''");
    }
}
