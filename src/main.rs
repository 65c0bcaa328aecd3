//! `vmx`: the command-line interface. Argument parsing and wiring only; the work is
//! done by `vmx-translator`, `vmx-runtime` and `vmx-aot-cache`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use vmx_aot_cache::cache::{self, Cache};
use vmx_aot_cache::format::write_atomically;
use vmx_runtime::engine::{self, EngineKind, RunConfig, StatsFormat};
use vmx_translator::{translate, Options};

/// Run foreign-ISA Linux programs on x86-64: translate them ahead of time with LLVM,
/// then run the host code.
#[derive(Parser)]
#[command(name = "vmx", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Translate a guest ELF executable into an .aot file.
    Translate(TranslateArgs),
    /// Run an .aot file (or, with --engine=interp, a guest ELF).
    Exec(ExecArgs),
    /// Translate through the cache if needed, then run.
    Run(ExecArgs),
}

#[derive(Args)]
struct TranslateArgs {
    /// The guest executable (static riscv64 ELF).
    guest: PathBuf,
    /// Where to write the .aot file.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    opts: TranslateOpts,
    /// Print discovery and compilation statistics.
    #[arg(long)]
    stats: bool,
}

#[derive(Args, Clone)]
struct TranslateOpts {
    /// LLVM optimisation level (0-3).
    #[arg(long = "opt-level", short = 'O', default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=3))]
    opt_level: u8,
    /// Host CPU to generate code for ("native" or an LLVM CPU name such as x86-64-v3).
    #[arg(long, default_value = "native")]
    cpu: String,
    /// A miss profile written by `vmx exec --profile-out`: pcs to translate as well.
    #[arg(long)]
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
    Text,
    Json,
}

#[derive(Args)]
struct ExecArgs {
    /// Execution engine.
    #[arg(long, value_enum, default_value = "aot")]
    engine: EngineArg,
    /// Print each guest system call to stderr (like qemu-user's -strace).
    #[arg(long, env = "VMX_STRACE")]
    strace: bool,
    /// Print run statistics to stderr at exit.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text")]
    stats: Option<StatsArg>,
    /// Append the pcs the interpreter had to run to this file (a miss profile).
    #[arg(long = "profile-out")]
    profile_out: Option<PathBuf>,
    #[command(flatten)]
    translate: TranslateOpts,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

fn main() -> ExitCode {
    let filter = std::env::var("VMX_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Translate(a) => cmd_translate(a),
        Command::Exec(a) => cmd_exec(a, false),
        Command::Run(a) => cmd_exec(a, true),
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
    let elf = read_file(&a.guest)?;
    check_writable(&a.output)?;
    let opts = translate_opts(&a.opts, load_profile(&a.opts.profile)?);
    let (aot, stats) = translate(&elf, &opts).with_context(|| format!("{}", a.guest.display()))?;
    write_atomically(&a.output, &aot.to_bytes())
        .with_context(|| format!("{}: cannot write the output file", a.output.display()))?;
    if a.stats {
        eprintln!(
            "vmx translate: {} functions, {} instructions ({} functions with unresolved \
             indirect jumps), {} compilation units; discovery {:.3} s, lift+optimise+codegen {:.3} s",
            stats.functions,
            stats.instructions,
            stats.unresolved_jump_functions,
            stats.chunks,
            stats.discovery.as_secs_f64(),
            stats.compile.as_secs_f64()
        );
    }
    Ok(())
}

fn cmd_exec(a: ExecArgs, through_cache: bool) -> Result<()> {
    let program = PathBuf::from(&a.command[0]);
    let bytes = read_file(&program)?;
    let is_aot = bytes.starts_with(&vmx_aot_cache::format::MAGIC);
    let mut profile_out = a.profile_out.clone();
    // AArch64 has no translation yet: `vmx run` interprets it.
    let a64_run = through_cache && matches!(a.engine, EngineArg::Aot) && is_aarch64_elf(&bytes);
    if a64_run {
        tracing::info!("AArch64 guest: no translation yet, running it on the interpreter");
    }
    let loaded = match (a.engine, is_aot, through_cache) {
        (EngineArg::Interp, false, _) => engine::load_elf(bytes),
        (_, false, true) if a64_run => engine::load_elf(bytes),
        (_, true, _) => engine::load_aot(&bytes),
        (EngineArg::Aot | EngineArg::Check, false, true) => {
            let (aot, profile) = cached_translation(&bytes, &a.translate)
                .with_context(|| format!("{}", program.display()))?;
            profile_out.get_or_insert(profile);
            engine::load_aot(&aot)
        }
        (EngineArg::Aot | EngineArg::Check, false, false) => {
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
            .command
            .iter()
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
    };
    engine::run(loaded, cfg).with_context(|| format!("{}", program.display()))?;
    Ok(())
}

/// An ELF for AArch64 (`e_machine` 183)?
fn is_aarch64_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF") && bytes.get(18..20) == Some(&183u16.to_le_bytes()[..])
}

/// The translation of `elf` from the cache, translating and storing it on a miss.
///
/// Each guest has a miss profile in the cache (`<key>.profile`, keyed without the
/// profile): the run appends the pcs it had to interpret, and the next `vmx run`
/// translates with them, so code is interpreted at most once. Returns the `.aot` bytes
/// and the profile path the run should append to.
fn cached_translation(elf: &[u8], o: &TranslateOpts) -> Result<(Vec<u8>, PathBuf)> {
    let cache = Cache::open_default().context("cache")?;
    let base_opts = translate_opts(o, Vec::new());
    let (cpu, _) = vmx_translator::host_cpu(&base_opts.cpu);
    let base_key = cache::key(elf, vmx_translator::VERSION, &base_opts.canonical(), &cpu);
    let profile_path = cache.dir().join(format!("{base_key}.profile"));
    let mut profile = load_profile(&o.profile)?;
    if let Ok(text) = std::fs::read_to_string(&profile_path) {
        // A damaged profile only costs speed: ignore it.
        profile.extend(parse_profile(&text).unwrap_or_default());
    }
    let opts = translate_opts(o, profile);
    let key = cache::key(elf, vmx_translator::VERSION, &opts.canonical(), &cpu);
    if let Some(bytes) = cache.lookup(&key) {
        tracing::debug!(key, "cache hit");
        return Ok((bytes, profile_path));
    }
    let _lock = cache.lock(&key).context("cache lock")?;
    if let Some(bytes) = cache.lookup(&key) {
        return Ok((bytes, profile_path));
    }
    tracing::debug!(
        key,
        profile_pcs = opts.profile.len(),
        "cache miss: translating"
    );
    let (aot, _) = translate(elf, &opts)?;
    let bytes = aot.to_bytes();
    cache.store(&key, &bytes).context("cache store")?;
    Ok((bytes, profile_path))
}
