//! `vmx binfmt install|uninstall|status`: registering vmx with the kernel's binfmt_misc
//! so that `./guest` runs a riscv64 or aarch64 ELF through `vmx run` transparently.
//!
//! Entries are registered with the `F` flag (the kernel opens vmx at registration time,
//! so it works inside containers and chroots too) and never for the host's own ISA. The
//! kernel then starts `vmx <guest path> <args…>`; [`rewrite_args`] turns that into
//! `vmx run -- <guest path> <args…>`. Options come from the environment (`VMX_*`).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};

const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

#[derive(Args)]
pub(crate) struct BinfmtArgs {
    #[command(subcommand)]
    cmd: BinfmtCmd,
    /// binfmt_misc entries are named <PREFIX>-riscv64 and <PREFIX>-aarch64.
    #[arg(long, global = true, env = "VMX_BINFMT_PREFIX", default_value = "vmx")]
    prefix: String,
}

#[derive(Subcommand)]
enum BinfmtCmd {
    /// Register vmx for riscv64 and aarch64 ELF executables (replacing earlier entries).
    Install {
        /// The vmx binary the kernel should start [default: this one].
        #[arg(long, value_name = "PATH")]
        interpreter: Option<PathBuf>,
    },
    /// Remove vmx's entries.
    Uninstall,
    /// Show vmx's entries.
    Status,
}

/// A guest ISA binfmt_misc can recognise by the ELF header.
struct Guest {
    isa: &'static str,
    /// First 20 bytes of the ELF header: class 64, little-endian, version 1, e_type, e_machine.
    magic: [u8; 20],
}

/// Bytes 7 (OS ABI) and 8-15 (padding) are ignored; e_type 2 or 3 (EXEC or DYN).
const MASK: [u8; 20] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xfe, 0xff, 0xff, 0xff,
];

const fn elf_magic(machine: u8) -> [u8; 20] {
    [
        0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, machine, 0,
    ]
}

const GUESTS: [Guest; 2] = [
    Guest {
        isa: "riscv64",
        magic: elf_magic(243),
    },
    Guest {
        isa: "aarch64",
        magic: elf_magic(183),
    },
];

/// The guests to register on this host: never its own ISA.
fn guests() -> impl Iterator<Item = &'static Guest> {
    GUESTS.iter().filter(|g| g.isa != std::env::consts::ARCH)
}

fn hex_escaped(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02x}")).collect()
}

/// The line written to `register` for `guest`.
fn register_line(name: &str, guest: &Guest, interpreter: &Path) -> Result<String> {
    let interp = interpreter.to_str().context("the vmx path is not UTF-8")?;
    if interp.contains(':') || interp.contains('\n') {
        bail!("{interp}: binfmt_misc cannot register a path containing ':' or a newline");
    }
    Ok(format!(
        ":{name}:M::{}:{}:{interp}:F",
        hex_escaped(&guest.magic),
        hex_escaped(&MASK)
    ))
}

/// The binfmt_misc directory, mounting the filesystem if needed.
fn binfmt_dir() -> Result<PathBuf> {
    let dir = PathBuf::from(BINFMT_DIR);
    if dir.join("register").exists() {
        return Ok(dir);
    }
    let status = Command::new("mount")
        .args(["-t", "binfmt_misc", "binfmt_misc", BINFMT_DIR])
        .status();
    if !status.is_ok_and(|s| s.success()) || !dir.join("register").exists() {
        bail!("{BINFMT_DIR} is not mounted and cannot be mounted (needs root, and a kernel with binfmt_misc)");
    }
    Ok(dir)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: writing {text:?}", path.display()))
}

pub(crate) fn cmd_binfmt(a: BinfmtArgs) -> Result<()> {
    if a.prefix.is_empty() || a.prefix.contains(['/', ':', '\n']) || a.prefix.starts_with('.') {
        bail!("bad binfmt entry prefix {:?}", a.prefix);
    }
    let dir = binfmt_dir()?;
    match a.cmd {
        BinfmtCmd::Install { interpreter } => {
            let exe = match interpreter {
                Some(p) => p,
                None => std::env::current_exe().context("cannot find the vmx binary")?,
            };
            let exe = std::fs::canonicalize(&exe).with_context(|| format!("{}", exe.display()))?;
            for g in guests() {
                let name = format!("{}-{}", a.prefix, g.isa);
                let line = register_line(&name, g, &exe)?;
                if dir.join(&name).exists() {
                    write(&dir.join(&name), "-1")?;
                }
                write(&dir.join("register"), &line)?;
                eprintln!(
                    "vmx binfmt: registered {name}: {} ELF executables run through {} (flag F)",
                    g.isa,
                    exe.display()
                );
            }
        }
        BinfmtCmd::Uninstall => {
            for g in guests() {
                let name = format!("{}-{}", a.prefix, g.isa);
                if dir.join(&name).exists() {
                    write(&dir.join(&name), "-1")?;
                    eprintln!("vmx binfmt: removed {name}");
                } else {
                    eprintln!("vmx binfmt: {name} was not registered");
                }
            }
        }
        BinfmtCmd::Status => {
            for g in guests() {
                let name = format!("{}-{}", a.prefix, g.isa);
                match std::fs::read_to_string(dir.join(&name)) {
                    Ok(text) => {
                        let field = |key: &str| {
                            text.lines()
                                .find_map(|l| l.strip_prefix(key))
                                .map(str::trim)
                                .unwrap_or("?")
                                .to_string()
                        };
                        let state = text.lines().next().unwrap_or("?");
                        println!(
                            "{name}: {state}, interpreter {}, flags {}",
                            field("interpreter"),
                            field("flags:")
                        );
                    }
                    Err(_) => println!("{name}: not registered"),
                }
            }
        }
    }
    Ok(())
}

/// When the kernel starts vmx for a registered guest, `args` is `[vmx, guest, args…]`:
/// returns `[vmx, run, --, guest, args…]`. Anything else is returned unchanged (a first
/// argument that is an option or a subcommand, or not a guest ELF).
pub(crate) fn rewrite_args(
    args: Vec<OsString>,
    is_subcommand: impl Fn(&str) -> bool,
) -> Vec<OsString> {
    let Some(first) = args.get(1) else {
        return args;
    };
    let text = first.to_string_lossy();
    if text.starts_with('-')
        || is_subcommand(&text)
        || !crate::cache_cmd::is_guest_elf(Path::new(first))
    {
        return args;
    }
    let mut out = Vec::with_capacity(args.len() + 2);
    out.push(args[0].clone());
    out.push(OsStr::new("run").to_os_string());
    out.push(OsStr::new("--").to_os_string());
    out.extend(args.into_iter().skip(1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_line_format() {
        let line = register_line("vmx-riscv64", &GUESTS[0], Path::new("/usr/bin/vmx")).unwrap();
        assert!(line.starts_with(":vmx-riscv64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00"));
        assert!(line.contains("\\x02\\x00\\xf3\\x00:"));
        assert!(line.ends_with(":/usr/bin/vmx:F"));
        assert!(register_line("x", &GUESTS[0], Path::new("/a:b")).is_err());
        // Never the host's own ISA.
        assert!(guests().all(|g| g.isa != std::env::consts::ARCH));
    }

    #[test]
    fn args_are_rewritten_only_for_guests() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let same = os(&["vmx", "run", "x"]);
        assert_eq!(rewrite_args(same.clone(), |s| s == "run"), same);
        let flag = os(&["vmx", "--help"]);
        assert_eq!(rewrite_args(flag.clone(), |_| false), flag);
        let missing = os(&["vmx", "/nonexistent/guest"]);
        assert_eq!(rewrite_args(missing.clone(), |_| false), missing);
    }
}
