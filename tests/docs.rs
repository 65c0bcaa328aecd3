//! Every command shown in README.md and docs/*.md runs, and prints what the page says.
//!
//! The pages are read as a user would read them, top to bottom, one page per test. Each
//! page's commands run in order in a fresh scratch directory (a [`Sandbox`]: the `vmx`
//! under test first on `PATH`, a private cache, `VMX_OPT_LEVEL=0` so that a translation
//! takes a second instead of half a minute) holding links to the repository's
//! `samples/` and `tests/`, so that paths like `samples/build/riscv64/hello` work as
//! they do in a checkout. Each command is its own `bash -c` (no `cd` between commands).
//! A command starting with `cargo ` (`cargo xtask bench --quick`, …) is one a contributor
//! types at the top of a checkout: it runs there, in the repository root, with the
//! sandbox's environment otherwise. Those shown must therefore be bounded (seconds to a
//! minute, nothing written into the repository): long or repository-rewriting forms are
//! shown `unchecked`, next to a bounded form that runs.
//!
//! What is a command:
//! - in a ```` ```console ```` block, a line starting with `$ ` (lines starting with `> `
//!   continue it, as in a shell). The lines up to the next `$ ` are its expected output
//!   (stdout and stderr together), compared with a tolerant matcher: any number matches
//!   any number (timings, counts, pids, `0x…` addresses), `[..]` matches any text within
//!   a line, a line `...` matches any number of lines, trailing blanks are ignored. A last
//!   line `[exit status N]` says the command fails with status N; otherwise it must
//!   succeed. With no expected lines, only the status is checked.
//! - in a ```` ```sh ````/```` ```shell ````/```` ```bash ```` block, every line that is not
//!   blank or a comment; it must succeed.
//!
//! Other blocks (```` ```text ````, ```` ```toml ````, …) are not commands. A command whose
//! line carries a comment `# unchecked: <reason>`, or every command of a block preceded by
//! `<!-- unchecked: <reason> -->`, is not run: the reason is shown on the page, and the
//! test prints the list. Use it only for what cannot run here (root, the CI driver
//! itself, tens of minutes) and cover it by another test.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{root, Sandbox};

/// One command of a page, with what the page says it prints.
#[derive(Debug)]
struct Snippet {
    /// 1-based line of the command in the page.
    line: usize,
    command: String,
    /// `None`: output not shown (only the status is checked).
    expected: Option<Vec<String>>,
    status: i32,
    /// `Some(reason)`: not run.
    unchecked: Option<String>,
}

fn unchecked_reason(text: &str) -> Option<String> {
    let at = text.find("unchecked:")?;
    let reason = text[at + "unchecked:".len()..]
        .trim()
        .trim_end_matches("-->")
        .trim();
    assert!(!reason.is_empty(), "`unchecked:` needs a reason: {text}");
    Some(reason.to_string())
}

/// The commands of a Markdown page.
fn snippets(page: &str) -> Vec<Snippet> {
    let lines: Vec<&str> = page.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let lang = info.split_whitespace().next().unwrap_or("").to_string();
        let block_unchecked = (i > 0 && lines[i - 1].trim_start().starts_with("<!--"))
            .then(|| unchecked_reason(lines[i - 1]))
            .flatten();
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].trim_start().starts_with("```") {
            end += 1;
        }
        let body = &lines[start..end];
        match lang.as_str() {
            "console" => console_snippets(body, start, &block_unchecked, &mut out),
            "sh" | "shell" | "bash" => {
                for (n, l) in body.iter().enumerate() {
                    let t = l.trim();
                    if t.is_empty() || t.starts_with('#') {
                        continue;
                    }
                    out.push(Snippet {
                        line: start + n + 1,
                        command: t.to_string(),
                        expected: None,
                        status: 0,
                        unchecked: block_unchecked.clone().or_else(|| unchecked_reason(t)),
                    });
                }
            }
            _ => {}
        }
        i = end + 1;
    }
    out
}

fn console_snippets(body: &[&str], start: usize, block: &Option<String>, out: &mut Vec<Snippet>) {
    let mut n = 0;
    while n < body.len() {
        let Some(cmd) = body[n].strip_prefix("$ ") else {
            panic!(
                "line {}: a console block must start with a `$ ` command line: {:?}",
                start + n + 1,
                body[n]
            );
        };
        let line = start + n + 1;
        let mut command = cmd.to_string();
        n += 1;
        while n < body.len() && (body[n].starts_with("> ") || body[n] == ">") {
            command.push('\n');
            command.push_str(body[n].strip_prefix('>').unwrap().trim_start_matches(' '));
            n += 1;
        }
        let mut expected: Vec<String> = Vec::new();
        while n < body.len() && !body[n].starts_with("$ ") {
            expected.push(body[n].trim_end().to_string());
            n += 1;
        }
        while expected.last().is_some_and(|l| l.is_empty()) {
            expected.pop();
        }
        let mut status = 0;
        if let Some(last) = expected.last() {
            if let Some(s) = last
                .strip_prefix("[exit status ")
                .and_then(|r| r.strip_suffix(']'))
            {
                status = s.parse().expect("[exit status N]");
                expected.pop();
            }
        }
        let unchecked = block.clone().or_else(|| unchecked_reason(&command));
        out.push(Snippet {
            line,
            command,
            expected: (!expected.is_empty()).then_some(expected),
            status,
            unchecked,
        });
    }
}

/// Whether a command is a contributor's (`cargo …`), run at the top of the checkout.
fn runs_in_checkout(command: &str) -> bool {
    command.starts_with("cargo ")
}

/// A piece of an expected line.
#[derive(Debug, PartialEq)]
enum Piece {
    Lit(char),
    /// Any number: decimal digits (with a fraction), or `0x` and hex digits.
    Num,
    /// `[..]`: any text.
    Any,
}

fn pieces(expected: &str) -> Vec<Piece> {
    let chars: Vec<char> = expected.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i..].starts_with(&['[', '.', '.', ']']) {
            out.push(Piece::Any);
            i += 4;
        } else if chars[i] == '0' && chars.get(i + 1) == Some(&'x') {
            out.push(Piece::Num);
            i += 2;
            while i < chars.len() && chars[i].is_ascii_hexdigit() {
                i += 1;
            }
        } else if chars[i].is_ascii_digit() {
            out.push(Piece::Num);
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
        } else {
            out.push(Piece::Lit(chars[i]));
            i += 1;
        }
    }
    out
}

/// Lengths of the number at the start of `s` (all candidates, longest first).
fn number_lengths(s: &[char]) -> Vec<usize> {
    let mut ends = Vec::new();
    if s.starts_with(&['0', 'x']) {
        let mut i = 2;
        while i < s.len() && s[i].is_ascii_hexdigit() {
            i += 1;
            ends.push(i);
        }
    } else {
        let mut i = 0;
        while i < s.len()
            && (s[i].is_ascii_digit()
                || (s[i] == '.' && i > 0 && s.get(i + 1).is_some_and(char::is_ascii_digit)))
        {
            i += 1;
            if s[i - 1].is_ascii_digit() {
                ends.push(i);
            }
        }
    }
    ends.reverse();
    ends
}

fn line_matches(p: &[Piece], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(Piece::Lit(c)) => s.first() == Some(c) && line_matches(&p[1..], &s[1..]),
        Some(Piece::Any) => (0..=s.len()).any(|k| line_matches(&p[1..], &s[k..])),
        Some(Piece::Num) => number_lengths(s)
            .into_iter()
            .any(|k| line_matches(&p[1..], &s[k..])),
    }
}

fn lines_match(expected: &[String], actual: &[String]) -> bool {
    match expected.first() {
        None => actual.is_empty(),
        Some(e) if e == "..." => {
            (0..=actual.len()).any(|k| lines_match(&expected[1..], &actual[k..]))
        }
        Some(e) => {
            actual
                .first()
                .is_some_and(|a| line_matches(&pieces(e), &a.chars().collect::<Vec<_>>()))
                && lines_match(&expected[1..], &actual[1..])
        }
    }
}

/// Runs the commands of `page` (relative to the repository root).
fn check_page(page: &str) {
    let path = root().join(page);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{page}: {e}"));
    let snippets = snippets(&text);
    assert!(!snippets.is_empty(), "{page} shows no commands");
    let sb = Sandbox::new(&format!("docs-{}", page.replace('/', "-")));
    for dir in ["samples", "tests"] {
        std::os::unix::fs::symlink(root().join(dir), sb.dir.join(dir)).unwrap();
    }
    let mut failures = Vec::new();
    let mut unchecked = Vec::new();
    let mut ran = 0;
    for s in &snippets {
        if let Some(reason) = &s.unchecked {
            unchecked.push(format!("{page}:{}: `{}` ({reason})", s.line, s.command));
            continue;
        }
        ran += 1;
        let mut cmd = sb.cmd("bash");
        cmd.arg("-c").arg(format!("exec 2>&1\n{}", s.command));
        if runs_in_checkout(&s.command) {
            cmd.current_dir(root());
        }
        let out = common::run_with_timeout(&mut cmd, None, common::translate_timeout())
            .unwrap_or_else(|e| panic!("{page}:{}: {e}", s.line));
        let actual: Vec<String> = out
            .stdout_text()
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        let mut actual = actual;
        while actual.last().is_some_and(|l| l.is_empty()) {
            actual.pop();
        }
        let output_ok = s.expected.as_ref().is_none_or(|e| lines_match(e, &actual));
        if out.status != s.status || !output_ok {
            failures.push(format!(
                "{page}:{}: `{}`\n  exit status {} (the page says {})\n  the page shows:\n{}\n  it printed:\n{}",
                s.line,
                s.command,
                out.status,
                s.status,
                common::indent(&s.expected.as_ref().map_or("(nothing checked)".to_string(), |e| e.join("\n")), "    | "),
                common::indent(&actual.join("\n"), "    | "),
            ));
            // Later commands usually depend on this one.
            break;
        }
    }
    for u in &unchecked {
        common::skip("docs", &format!("not run: {u}"));
    }
    assert!(
        failures.is_empty(),
        "{page}: a command shown does not do what the page says (fix the page or the code):\n{}",
        failures.join("\n")
    );
    eprintln!(
        "docs: {page}: {ran} commands ran as shown, {} unchecked",
        unchecked.len()
    );
}

/// The pages checked; [`every_page_is_checked`] makes sure a new page is added here.
const PAGES: &[&str] = &[
    "README.md",
    "docs/running.md",
    "docs/cache.md",
    "docs/build-systems.md",
    "docs/debugging.md",
    "docs/performance.md",
    "docs/contributing.md",
    "docs/cli.md",
];

macro_rules! page_tests {
    ($($name:ident => $page:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check_page($page);
            }
        )*
        const TESTED: &[&str] = &[$($page),*];
    };
}

page_tests! {
    readme => "README.md",
    running => "docs/running.md",
    cache => "docs/cache.md",
    build_systems => "docs/build-systems.md",
    debugging => "docs/debugging.md",
    performance => "docs/performance.md",
    contributing => "docs/contributing.md",
    cli => "docs/cli.md",
}

#[test]
fn every_page_is_checked() {
    assert_eq!(PAGES, TESTED);
    let mut pages: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.extend([root().join("README.md"), root().join("ARCHITECTURE.md")]);
    for page in pages {
        let rel = page.strip_prefix(root()).unwrap().display().to_string();
        let text = fs::read_to_string(&page).unwrap();
        if PAGES.contains(&rel.as_str()) {
            continue;
        }
        // Pages without commands (the architecture, generated tables) need no test.
        let commands = snippets(&text);
        assert!(
            commands.is_empty(),
            "{rel} shows commands but tests/docs.rs does not run it: add it to PAGES"
        );
    }
}

#[test]
fn the_matcher_is_tolerant_only_where_it_says() {
    let m = |e: &str, a: &str| line_matches(&pieces(e), &a.chars().collect::<Vec<_>>());
    assert!(m("vmx stats: wall 0.002 s", "vmx stats: wall 1.250 s"));
    assert!(m("3501 brk(0x0) = 0x7f000", "77 brk(0x0) = 0x1a2000"));
    assert!(m(
        "riscv64: [..] (flag F)",
        "riscv64: anything at all (flag F)"
    ));
    assert!(!m("Hello from vmx!", "Hello from qemu!"));
    assert!(!m("took 12 s", "took s"));
    assert!(!m("a 1.5 b", "a x b"));
    let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(lines_match(
        &lines(&["a", "...", "z"]),
        &lines(&["a", "b", "c", "z"])
    ));
    assert!(lines_match(&lines(&["a", "...", "z"]), &lines(&["a", "z"])));
    assert!(!lines_match(&lines(&["a", "z"]), &lines(&["a", "b", "z"])));
    let s = snippets(
        "```console\n$ echo hi\nhi\n$ false\n[exit status 1]\n$ cat <<EOF\n> x\n> EOF\nx\n```\n\
         <!-- unchecked: needs root -->\n```sh\nsudo thing\n```\n```sh\nls # unchecked: why not\n```\n",
    );
    assert_eq!(s.len(), 5, "{s:?}");
    assert_eq!((s[1].status, s[1].expected.is_none()), (1, true));
    assert_eq!(s[2].command, "cat <<EOF\nx\nEOF");
    assert_eq!(s[3].unchecked.as_deref(), Some("needs root"));
    assert_eq!(s[4].unchecked.as_deref(), Some("why not"));
    assert!(runs_in_checkout("cargo xtask bench --quick"));
    assert!(!runs_in_checkout("vmx run samples/build/riscv64/hello"));
}

/// GitHub's anchor for a heading: lower case, punctuation other than `-` and `_`
/// dropped, spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn links_between_pages_resolve() {
    let mut broken = Vec::new();
    for page in PAGES.iter().chain(&["ARCHITECTURE.md"]) {
        let path = root().join(page);
        let text = fs::read_to_string(&path).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let link = &rest[..end];
            if link.contains("://") || link.starts_with("mailto:") || link.contains(' ') {
                continue;
            }
            let (file, frag) = link.split_once('#').unwrap_or((link, ""));
            let target = if file.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap().join(file)
            };
            if !target.exists() {
                broken.push(format!("{page}: {link}: no such file"));
                continue;
            }
            if !frag.is_empty() && target.extension().is_some_and(|e| e == "md") {
                let target_text = fs::read_to_string(&target).unwrap();
                let found = target_text
                    .lines()
                    .filter_map(|l| l.strip_prefix('#'))
                    .map(|h| anchor(h.trim_start_matches('#')))
                    .any(|a| a == frag);
                if !found {
                    broken.push(format!("{page}: {link}: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
