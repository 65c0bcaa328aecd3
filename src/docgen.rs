//! `vmx generate-docs` (hidden): the man pages, shell completions and Markdown CLI
//! reference (`docs/cli.md`), all generated from the clap definition in `main.rs`, so
//! that they cannot drift from what `vmx --help` says. `cargo xtask man` runs it (xtask
//! must not depend on this crate: it builds before LLVM is installed);
//! `tests/cli_docs.rs` checks `docs/cli.md` against it and against the real `--help`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Command, Parser};
use clap_complete::Shell;

/// Generate vmx's man pages, shell completions or Markdown CLI reference.
#[derive(Parser)]
#[command(name = "vmx generate-docs")]
struct GenerateDocsArgs {
    /// Write man pages (one per subcommand) to DIR/man and bash, zsh and fish
    /// completions to DIR/completions.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the Markdown CLI reference (docs/cli.md) to stdout.
    #[arg(long)]
    markdown: bool,
}

/// `vmx generate-docs ARGS`: `args` starts with `generate-docs`; `cli` is the CLI
/// definition.
pub(crate) fn main(args: &[OsString], cli: Command) -> ExitCode {
    match generate_docs(GenerateDocsArgs::parse_from(args), cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmx generate-docs: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn generate_docs(a: GenerateDocsArgs, cli: Command) -> Result<()> {
    if a.out.is_none() && !a.markdown {
        bail!("nothing to do: give --out DIR and/or --markdown");
    }
    if let Some(out) = &a.out {
        write_man_and_completions(cli.clone(), out)?;
    }
    if a.markdown {
        print!("{}", markdown(cli));
    }
    Ok(())
}

fn write_man_and_completions(cli: Command, out: &Path) -> Result<()> {
    let man = out.join("man");
    let completions = out.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    }
    clap_mangen::generate_to(cli.clone(), &man).with_context(|| format!("{}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = cli.clone();
        clap_complete::generate_to(shell, &mut cmd, "vmx", &completions)
            .with_context(|| format!("{}", completions.display()))?;
    }
    eprintln!(
        "vmx generate-docs: man pages in {}, completions in {}",
        man.display(),
        completions.display()
    );
    Ok(())
}

/// The visible commands, depth first: `["vmx", "cache", "stats"]`.
fn commands(cmd: &Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    path.push(cmd.get_name().to_string());
    out.push(path.clone());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() != "help" {
            commands(sub, path, out);
        }
    }
    path.pop();
}

/// `docs/cli.md`: every command's `--help`, exactly as vmx prints it.
fn markdown(mut cli: Command) -> String {
    cli.build();
    let mut all = Vec::new();
    commands(&cli, &mut Vec::new(), &mut all);
    let mut md = String::new();
    md.push_str(
        "# vmx command-line reference\n\n\
         <!-- Generated from the CLI definition by `vmx generate-docs --markdown`: do not edit.\n     \
         tests/cli_docs.rs fails when it is stale; regenerate with\n     \
         VMX_BLESS=1 cargo test --release --test cli_docs -->\n\n\
         Every command's `--help`, as vmx prints it (`vmx help <command>` prints the same).\n\
         Every option can also be set through the environment variable shown with it.\n\
         `cargo xtask man` writes the same text as man pages (`target/man/vmx*.1`) and\n\
         shell completions for bash, zsh and fish (`target/completions/`).\n\n",
    );
    for path in &all {
        let name = path.join(" ");
        let anchor = path.join("-");
        let _ = writeln!(md, "- [`{name}`](#{anchor})");
    }
    for path in all {
        let name = path.join(" ");
        // Exactly what `vmx … --help` prints (clap picks the layout).
        let mut argv = path.clone();
        argv.push("--help".into());
        let help = match cli.clone().try_get_matches_from(&argv) {
            Err(e) => e.render().to_string(),
            Ok(_) => format!("`{name} --help` printed no help"),
        };
        let _ = write!(
            md,
            "\n## `{name}`\n\n```console\n$ {name} --help\n{}\n```\n",
            help.trim_end()
        );
    }
    md
}
