//! `vmx`: the command-line interface. Argument parsing and wiring only; the work is
//! done by `vmx-translator`, `vmx-runtime` and `vmx-aot-cache`.

mod binfmt;
mod cache_cmd;
mod docgen;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context as _, Result};
use clap::{Args, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use vmx_aot_cache::cache::Source;
use vmx_aot_cache::format::write_atomically;
use vmx_runtime::engine::{self, EngineKind, RunConfig, StatsFormat};
use vmx_runtime::stats::CacheUse;
use vmx_translator::{translate, Options, TranslateStats};

/// Run foreign-ISA Linux programs on x86-64: translate them ahead of time with LLVM,
/// then run the host code.
#[derive(Parser)]
#[command(name = "vmx", version, about, long_about = None, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The environment variables no option stands for, and where the guides are.
const AFTER_HELP: &str = "\
Every option can also be set by the VMX_* environment variable shown in the subcommand's
help. VMX_LOG=debug (or error, warn, info, trace; tracing filter syntax) sets what vmx
logs to stderr [default: warn]. Guides: docs/ in the vmx repository; `vmx help <command>`.";

#[derive(Subcommand)]
enum Command {
    /// Translate a guest ELF executable into an .aot file.
    Translate(TranslateArgs),
    /// Run an .aot file (or, with --engine=interp, a guest ELF).
    Exec(ExecArgs),
    /// Translate through the cache if needed, then run.
    Run(cache_cmd::RunArgs),
    /// Inspect and manage the translation cache.
    Cache(cache_cmd::CacheArgs),
    /// Register vmx with the kernel (binfmt_misc) so foreign ELF programs run directly.
    Binfmt(binfmt::BinfmtArgs),
}

/// The CLI definition. Environment variables are named in the help, their values never
/// shown: the help stays the same everywhere (docs/cli.md) and never prints secrets
/// such as a password in VMX_CACHE_REMOTE.
fn cli_command() -> clap::Command {
    fn hide_env_values(cmd: clap::Command) -> clap::Command {
        cmd.mut_args(|a| a.hide_env_values(true))
            .mut_subcommands(hide_env_values)
    }
    hide_env_values(<Cli as clap::CommandFactory>::command())
}

#[derive(Args)]
struct TranslateArgs {
    /// The guest executable (static riscv64 ELF).
    guest: PathBuf,
    /// Where to write the .aot file.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Also write a Make/Ninja depfile naming the inputs of the output.
    #[arg(long, value_name = "FILE", env = "VMX_DEPFILE")]
    depfile: Option<PathBuf>,
    #[command(flatten)]
    opts: TranslateOpts,
    /// Print discovery and compilation statistics to stderr (docs/stats.md).
    #[arg(long, value_enum, env = "VMX_TRANSLATE_STATS", num_args = 0..=1, require_equals = true, default_missing_value = "text")]
    stats: Option<StatsArg>,
}

#[derive(Args, Clone)]
struct TranslateOpts {
    /// LLVM optimisation level (0-3).
    #[arg(long = "opt-level", short = 'O', env = "VMX_OPT_LEVEL", value_name = "LEVEL", default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=3))]
    opt_level: u8,
    /// Host CPU to generate code for ("native" or an LLVM CPU name such as x86-64-v3).
    #[arg(long, env = "VMX_CPU", default_value = "native")]
    cpu: String,
    /// A miss profile written by `vmx exec --profile-out`: pcs to translate as well.
    #[arg(long, env = "VMX_PROFILE", value_name = "FILE")]
    profile: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    /// Translated code (default), falling back to the interpreter for untranslated code.
    Aot,
    /// The interpreter only.
    Interp,
    /// Interpreter and translated code side by side: the first calls of each translated
    /// function also run translated (on a forked copy) and must leave the same registers
    /// and memory; the first divergence is reported (exit status 3). VMX_CHECK_CALLS sets
    /// how many calls per function are checked (default 2).
    Check,
}

#[derive(Clone, Copy, ValueEnum)]
enum StatsArg {
    #[value(alias = "1", alias = "yes", alias = "true", alias = "on")]
    Text,
    Json,
}

#[derive(Args)]
struct ExecArgs {
    /// Execution engine.
    #[arg(long, value_enum, env = "VMX_ENGINE", default_value = "aot")]
    engine: EngineArg,
    /// Print each guest system call to stderr (like qemu-user's -strace).
    #[arg(long, env = "VMX_STRACE", value_parser = clap::builder::BoolishValueParser::new())]
    strace: bool,
    /// Print run statistics to stderr at exit.
    #[arg(long, value_enum, env = "VMX_STATS", num_args = 0..=1, require_equals = true, default_missing_value = "text")]
    stats: Option<StatsArg>,
    /// Append the pcs the interpreter had to run to this file (a miss profile).
    #[arg(long = "profile-out", env = "VMX_PROFILE_OUT", value_name = "FILE")]
    profile_out: Option<PathBuf>,
    /// Wait for gdb on 127.0.0.1:PORT before the first guest instruction (like
    /// qemu-user's -g; 0 picks a free port, printed on stderr).
    #[arg(short = 'g', long = "gdb", value_name = "PORT", env = "VMX_GDB")]
    gdb: Option<u16>,
    /// The guest's argv[0] (default: PROGRAM as given; like qemu-user's -0).
    #[arg(long = "argv0", value_name = "STRING", env = "VMX_ARGV0")]
    argv0: Option<OsString>,
    /// Look guest absolute paths up under DIR first (a sysroot, like qemu-user's -L):
    /// open, stat, access, readlink and execve of /x use DIR/x when it exists.
    #[arg(
        short = 'L',
        long = "ld-prefix",
        value_name = "DIR",
        env = "VMX_LD_PREFIX"
    )]
    ld_prefix: Option<PathBuf>,
    #[command(flatten)]
    translate: TranslateOpts,
    /// The program (an .aot file; a guest ELF for `vmx run` or --engine=interp) and its
    /// arguments.
    #[arg(value_name = "PROGRAM", required = true, trailing_var_arg = true)]
    command: Vec<OsString>,
}

fn main() -> ExitCode {
    // Before any thread starts: only guest threads may take the guest's signals.
    engine::keep_signals_for_guest();
    let filter = std::env::var("VMX_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
    let args: Vec<OsString> = std::env::args_os().collect();
    // Hidden, and kept out of the CLI definition it documents (and its completions).
    if args.get(1).is_some_and(|a| a == "generate-docs") {
        return docgen::main(&args[1..], cli_command());
    }
    // Started by the kernel for a registered guest ELF (`vmx binfmt`): `vmx <guest> args…`.
    let args = binfmt::rewrite_args(args, |a: &str| {
        <Cli as clap::CommandFactory>::command()
            .find_subcommand(a)
            .is_some()
    });
    let matches = cli_command().get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Translate(a) => cmd_translate(a),
        Command::Exec(a) => cmd_exec(a, None),
        Command::Run(a) => cmd_exec(a.exec, Some(&a.cache)),
        Command::Cache(a) => cache_cmd::cmd_cache(a),
        Command::Binfmt(a) => binfmt::cmd_binfmt(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the context chain joined.
            let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("vmx: {}", msg.join(": ").replace('\n', " "));
            ExitCode::from(1)
        }
    }
}

/// How a guest `execve` of another guest program runs it: `vmx run` (through the
/// cache) for an ELF, `vmx exec` for an .aot (the guest re-executing itself), with
/// this run's engine, tracing and sysroot.
fn reexec_command(
    a: &ExecArgs,
    subcommand: &str,
    cache: Option<&cache_cmd::CacheOpts>,
) -> Vec<OsString> {
    let Ok(vmx) = std::env::current_exe() else {
        return Vec::new();
    };
    let mut cmd = vec![vmx.into_os_string(), subcommand.into()];
    if subcommand == "run" {
        // The child gets the guest's environment, which need not say where the cache is.
        let dir = match cache.and_then(|c| c.dir.clone()) {
            Some(d) if !d.as_os_str().is_empty() => Some(d),
            _ => vmx_aot_cache::cache::default_dir_from_env().ok(),
        };
        if let Some(dir) = dir {
            cmd.push("--cache-dir".into());
            cmd.push(dir.into_os_string());
        }
    }
    match a.engine {
        EngineArg::Aot => {}
        EngineArg::Interp => cmd.push("--engine=interp".into()),
        EngineArg::Check => cmd.push("--engine=check".into()),
    }
    if a.strace {
        cmd.push("--strace".into());
    }
    if let Some(dir) = &a.ld_prefix {
        cmd.push("-L".into());
        cmd.push(dir.clone().into_os_string());
    }
    cmd
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}", path.display()))
}

fn load_profile(path: &Option<PathBuf>) -> Result<Vec<u64>> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    parse_profile(&text).with_context(|| format!("{}: not a vmx miss profile", path.display()))
}

fn parse_profile(text: &str) -> Result<Vec<u64>> {
    let mut pcs = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let pc = line.split_whitespace().next().unwrap_or_default();
        let pc = pc.strip_prefix("0x").unwrap_or(pc);
        pcs.push(u64::from_str_radix(pc, 16).map_err(|_| anyhow!("bad line {line:?}"))?);
    }
    pcs.sort_unstable();
    pcs.dedup();
    Ok(pcs)
}

fn translate_opts(o: &TranslateOpts, profile: Vec<u64>) -> Options {
    Options {
        opt_level: o.opt_level,
        cpu: o.cpu.clone(),
        profile,
    }
}

/// Fail early (before a long translation) if `path` cannot be written.
fn check_writable(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let probe = dir.join(format!(".vmx-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("{}: cannot write the output file", path.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn cmd_translate(a: TranslateArgs) -> Result<()> {
    let t0 = std::time::Instant::now();
    let elf = read_file(&a.guest)?;
    check_writable(&a.output)?;
    let opts = translate_opts(&a.opts, load_profile(&a.opts.profile)?);
    let (aot, stats) = translate(&elf, &opts).with_context(|| format!("{}", a.guest.display()))?;
    write_atomically(&a.output, &aot.to_bytes())
        .with_context(|| format!("{}: cannot write the output file", a.output.display()))?;
    if let Some(depfile) = &a.depfile {
        let mut inputs = vec![a.guest.as_path()];
        inputs.extend(a.opts.profile.as_deref());
        cache_cmd::write_depfile(depfile, &a.output, &inputs)?;
    }
    if let Some(fmt) = a.stats {
        eprint!("{}", translate_report(&stats, t0.elapsed(), fmt));
    }
    Ok(())
}

/// `vmx translate --stats`: the text or JSON report (schema in docs/stats.md).
fn translate_report(s: &TranslateStats, wall: std::time::Duration, fmt: StatsArg) -> String {
    let pct = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    };
    match fmt {
        StatsArg::Json => {
            let counts = [
                ("functions", s.functions as u64),
                ("instructions", s.instructions as u64),
                ("units", s.chunks as u64),
                ("threads", s.threads as u64),
                (
                    "unresolved_jump_functions",
                    s.unresolved_jump_functions as u64,
                ),
                ("untranslated_symbols", s.untranslated_symbols as u64),
                ("untranslated_symbol_bytes", s.untranslated_symbol_bytes),
                ("text_bytes", s.text_bytes),
                ("translated_bytes", s.translated_bytes),
            ];
            let times = [
                ("wall_seconds", wall),
                ("discovery_seconds", s.discovery),
                ("compile_seconds", s.compile),
                ("lifting_seconds", s.lifting),
                ("optimisation_seconds", s.optimisation),
                ("codegen_seconds", s.codegen),
            ];
            let fields: Vec<String> = std::iter::once(format!(
                "\"stats_version\":{}",
                vmx_runtime::stats::STATS_VERSION
            ))
            .chain(counts.iter().map(|(k, v)| format!("\"{k}\":{v}")))
            .chain(
                times
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{:.6}", v.as_secs_f64())),
            )
            .collect();
            format!("{{{}}}\n", fields.join(","))
        }
        StatsArg::Text => format!(
            "vmx translate: {} functions, {} instructions lifted, {} compilation units\n\
             vmx translate: time {:.3} s: discovery {:.3} s, compilation {:.3} s on {} threads \
             (summed over units: lifting {:.3} s, optimisation {:.3} s, code generation {:.3} s)\n\
             vmx translate: left to the interpreter: {} functions with unresolved indirect jumps \
             (their targets go through the dispatcher); {} function symbols ({} bytes) not \
             discovered; {:.1}% of {} bytes of executable segments translated\n",
            s.functions,
            s.instructions,
            s.chunks,
            wall.as_secs_f64(),
            s.discovery.as_secs_f64(),
            s.compile.as_secs_f64(),
            s.threads,
            s.lifting.as_secs_f64(),
            s.optimisation.as_secs_f64(),
            s.codegen.as_secs_f64(),
            s.unresolved_jump_functions,
            s.untranslated_symbols,
            s.untranslated_symbol_bytes,
            pct(s.translated_bytes, s.text_bytes),
            s.text_bytes,
        ),
    }
}

fn cmd_exec(a: ExecArgs, through_cache: Option<&cache_cmd::CacheOpts>) -> Result<()> {
    let program = PathBuf::from(&a.command[0]);
    if let Some(dir) = &a.ld_prefix {
        if !dir.is_dir() {
            return Err(anyhow!("-L {}: not a directory", dir.display()));
        }
        vmx_runtime::syscall::set_sysroot(dir.clone());
    }
    // `vmx run` of a guest whose translation is cached need not read the guest at all.
    let known = match (through_cache, a.engine) {
        (Some(cache), EngineArg::Aot | EngineArg::Check) => {
            cache_cmd::known_translation(cache, &program, &a.translate)?
        }
        _ => None,
    };
    let bytes = match known {
        Some(_) => Vec::new(),
        None => read_file(&program)?,
    };
    let is_aot = bytes.starts_with(&vmx_aot_cache::format::MAGIC);
    let mut profile_out = a.profile_out.clone();
    let mut cache_use = None;
    // AArch64 has no translation yet: `vmx run` interprets it.
    let a64_run =
        through_cache.is_some() && matches!(a.engine, EngineArg::Aot) && is_aarch64_elf(&bytes);
    if a64_run {
        tracing::info!("AArch64 guest: no translation yet, running it on the interpreter");
    }
    let loaded = match (a.engine, is_aot, through_cache) {
        (EngineArg::Interp, false, _) => engine::load_elf(bytes),
        (_, false, Some(_)) if a64_run => engine::load_elf(bytes),
        (_, true, _) => engine::load_aot(&bytes),
        (EngineArg::Aot | EngineArg::Check, false, Some(cache)) => {
            let (aot, profile) = match known {
                Some(known) => {
                    cache_use = Some(CacheUse::Hit);
                    known
                }
                None => {
                    let (aot, source, profile) =
                        cache_cmd::cached_translation(&cache.open()?, &bytes, &a.translate)
                            .with_context(|| format!("{}", program.display()))?;
                    cache_use = Some(match source {
                        Source::Local | Source::AfterWait => CacheUse::Hit,
                        Source::Remote => CacheUse::RemoteHit,
                        Source::Translated => CacheUse::Miss,
                    });
                    (aot, profile)
                }
            };
            profile_out.get_or_insert(profile);
            engine::load_aot(&aot)
        }
        // x86-64 programs need no translation: they run natively under KVM.
        (_, false, _) if is_x86_64_elf(&bytes) => engine::load_elf(bytes),
        (EngineArg::Aot | EngineArg::Check, false, None) => {
            if bytes.starts_with(b"\x7fELF") {
                return Err(anyhow!(
                    "{}: is an ELF file, not an .aot; translate it first (vmx translate), \
                     or use `vmx run` or --engine=interp",
                    program.display()
                ));
            }
            engine::load_aot(&bytes)
        }
    }
    .with_context(|| format!("{}", program.display()))?;
    let cfg = RunConfig {
        engine: match a.engine {
            EngineArg::Aot if a64_run => EngineKind::Interp,
            EngineArg::Aot => EngineKind::Aot,
            EngineArg::Interp => EngineKind::Interp,
            EngineArg::Check => EngineKind::Check,
        },
        strace: a.strace,
        stats: a.stats.map(|s| match s {
            StatsArg::Text => StatsFormat::Text,
            StatsArg::Json => StatsFormat::Json,
        }),
        argv: a
            .argv0
            .iter()
            .chain(a.command.iter().skip(usize::from(a.argv0.is_some())))
            .map(|s| s.as_encoded_bytes().to_vec())
            .collect(),
        envp: std::env::vars_os()
            .map(|(k, v)| {
                let mut e = k.as_encoded_bytes().to_vec();
                e.push(b'=');
                e.extend_from_slice(v.as_encoded_bytes());
                e
            })
            .collect(),
        exe_path: std::fs::canonicalize(&program).unwrap_or(program.clone()),
        profile_out,
        gdb: a.gdb,
        cache: cache_use,
        reexec: reexec_command(&a, "run", through_cache),
        reexec_aot: reexec_command(&a, "exec", None),
    };
    engine::run(loaded, cfg).with_context(|| format!("{}", program.display()))?;
    Ok(())
}

/// An ELF for x86-64 (`e_machine` 62)?
fn is_x86_64_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF") && bytes.get(18..20) == Some(&62u16.to_le_bytes()[..])
}

/// An ELF for AArch64 (`e_machine` 183)?
fn is_aarch64_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF") && bytes.get(18..20) == Some(&183u16.to_le_bytes()[..])
}
