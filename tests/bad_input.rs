//! Bad input to vmx: each case must end in a one-line error on stderr that names the file,
//! a non-zero exit status (not a crash by signal), no panic, and no output file left behind.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{vmx_cmd, TempDir};

/// ELF header offsets.
const EI_CLASS: usize = 4;
const E_MACHINE: usize = 18;
const EM_PPC64: u16 = 21;

/// Offset and value of the `.aot` format version (after the 8-byte magic `VMXAOT\r\n`).
const AOT_VERSION_AT: usize = 8;

/// Runs `cmd` (a vmx invocation) and checks it failed cleanly, mentioning `mention` (a file
/// name) and, case-insensitively, each of `also`. `dir`, if given, must hold exactly `keep`
/// afterwards (no output or temporary file left behind).
fn expect_clean_error(
    mut cmd: Command,
    mention: &str,
    also: &[&str],
    dir: Option<(&TempDir, &[&str])>,
) {
    let shown = common::show(&cmd);
    let out = common::run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"));
    let stderr = out.stderr_text();
    let context = format!(
        "`{shown}`\n  exit status: {}\n  stdout: {:?}\n  stderr: {:?}",
        out.status,
        out.stdout_text(),
        stderr
    );
    assert!(
        !stderr.contains("panicked") && !out.stdout_text().contains("panicked"),
        "vmx panicked instead of reporting an error:\n{context}"
    );
    assert_ne!(out.status, 0, "vmx accepted bad input:\n{context}");
    assert!(
        out.status < 128,
        "vmx died from a signal instead of reporting an error:\n{context}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "the error must be exactly one line on stderr:\n{context}"
    );
    assert!(
        lines[0].contains(mention),
        "the error must name the file `{mention}`:\n{context}"
    );
    for word in also {
        assert!(
            lines[0].to_lowercase().contains(&word.to_lowercase()),
            "the error should say `{word}`:\n{context}"
        );
    }
    if let Some((dir, keep)) = dir {
        let mut keep: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
        keep.sort();
        assert_eq!(
            dir.entries(),
            keep,
            "vmx left files behind in {}:\n{context}",
            dir.path().display()
        );
    }
}

fn translate(input: &Path, output: &Path) -> Command {
    let mut cmd = vmx_cmd();
    cmd.arg("translate").arg(input).arg("-o").arg(output);
    cmd
}

fn exec(file: &Path) -> Command {
    let mut cmd = vmx_cmd();
    cmd.arg("exec").arg(file);
    cmd
}

fn exec_interp(file: &Path) -> Command {
    let mut cmd = vmx_cmd();
    cmd.arg("exec").arg("--engine=interp").arg(file);
    cmd
}

/// `vmx run` with its cache in `cache` (so a bad input can never reach the user's cache).
fn run_cached(file: &Path, cache: &Path) -> Command {
    let mut cmd = vmx_cmd();
    cmd.arg("run").arg(file).env("VMX_CACHE_DIR", cache);
    cmd
}

/// Writes `bytes` as `dir/name` and returns the path.
fn put(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// Checks a bad guest ELF through every entry point that reads ELF files: `translate` (which
/// must not leave its output behind), `exec --engine=interp` and `run`.
fn check_bad_elf(dir: &TempDir, name: &str, also: &[&str]) {
    let input = dir.join(name);
    let before = dir.entries();
    let keep: Vec<&str> = before.iter().map(String::as_str).collect();
    let out = dir.join("out.aot");
    expect_clean_error(translate(&input, &out), name, also, Some((dir, &keep)));
    expect_clean_error(exec_interp(&input), name, also, Some((dir, &keep)));
    let cache = TempDir::new("bad-input-cache");
    expect_clean_error(
        run_cached(&input, cache.path()),
        name,
        also,
        Some((dir, &keep)),
    );
}

/// The riscv64 `hello` sample's bytes, or `None` (skipped) without a cross compiler.
fn hello_bytes(test: &str) -> Option<Vec<u8>> {
    common::riscv_sample(test, "hello").map(|p| fs::read(p).unwrap())
}

/// The bytes of a real `.aot` of the hello sample, made by `vmx translate` (shared with
/// the other tests through [`common::translate_cached`]).
fn real_aot(test: &str) -> Option<Vec<u8>> {
    let elf = common::riscv_sample(test, "hello")?;
    let aot = common::translate_cached(&elf)
        .unwrap_or_else(|e| panic!("could not make a valid .aot to damage: {e}"));
    Some(fs::read(aot).unwrap())
}

#[test]
fn text_file_is_not_an_elf() {
    let dir = TempDir::new("not-elf");
    put(
        &dir,
        "notes.txt",
        b"This is a text file.\nIt is not an ELF executable.\n",
    );
    check_bad_elf(&dir, "notes.txt", &[]);
}

#[test]
fn empty_file_is_not_an_elf() {
    let dir = TempDir::new("empty");
    put(&dir, "empty.elf", b"");
    check_bad_elf(&dir, "empty.elf", &[]);
}

#[test]
fn truncated_elf() {
    let Some(hello) = hello_bytes("truncated_elf") else {
        return;
    };
    let dir = TempDir::new("truncated-elf");
    put(&dir, "truncated.elf", &hello[..100]);
    check_bad_elf(&dir, "truncated.elf", &[]);
}

#[test]
fn elf_with_segments_cut_off() {
    let Some(hello) = hello_bytes("elf_with_segments_cut_off") else {
        return;
    };
    // The ELF header and program headers are intact; the segments they describe are not.
    let dir = TempDir::new("cut-elf");
    put(&dir, "cut.elf", &hello[..4096]);
    check_bad_elf(&dir, "cut.elf", &[]);
}

#[test]
fn elf32_is_rejected() {
    let Some(mut hello) = hello_bytes("elf32_is_rejected") else {
        return;
    };
    hello[EI_CLASS] = 1; // ELFCLASS32
    let dir = TempDir::new("elf32");
    put(&dir, "class32.elf", &hello);
    check_bad_elf(&dir, "class32.elf", &[]);
}

#[test]
fn unsupported_isa_is_rejected() {
    let Some(mut hello) = hello_bytes("unsupported_isa_is_rejected") else {
        return;
    };
    hello[E_MACHINE..E_MACHINE + 2].copy_from_slice(&EM_PPC64.to_le_bytes());
    let dir = TempDir::new("ppc64");
    put(&dir, "ppc64.elf", &hello);
    check_bad_elf(&dir, "ppc64.elf", &[]);
}

#[test]
fn dynamically_linked_elf_is_rejected() {
    let Some(path) = common::artefact(
        "dynamically_linked_elf_is_rejected",
        &common::samples_dir().join("build/riscv64-dynamic/hello"),
        &[common::samples_dir().join("hello.c")],
        "build-samples",
    ) else {
        return;
    };
    let dir = TempDir::new("dynamic");
    put(&dir, "dynamic.elf", &fs::read(path).unwrap());
    check_bad_elf(&dir, "dynamic.elf", &[]);
}

#[test]
fn missing_input_file() {
    let dir = TempDir::new("missing");
    let missing = dir.join("does-not-exist.elf");
    check_bad_elf(&dir, "does-not-exist.elf", &[]);
    let aot = dir.join("does-not-exist.aot");
    expect_clean_error(exec(&aot), "does-not-exist.aot", &[], Some((&dir, &[])));
    assert!(!missing.exists());
}

#[test]
fn directory_as_input() {
    let dir = TempDir::new("dir-input");
    fs::create_dir(dir.join("a-directory.elf")).unwrap();
    check_bad_elf(&dir, "a-directory.elf", &[]);
    expect_clean_error(
        exec(&dir.join("a-directory.elf")),
        "a-directory.elf",
        &[],
        Some((&dir, &["a-directory.elf"])),
    );
}

#[test]
fn unwritable_output_path() {
    let Some(elf) = common::riscv_sample("unwritable_output_path", "hello") else {
        return;
    };
    // /proc refuses new files whoever we are (root ignores permission bits elsewhere).
    let target = Path::new("/proc/nonexistent-vmx-dir/unwritable.aot");
    expect_clean_error(translate(&elf, target), "unwritable.aot", &[], None);
    assert!(!target.exists());

    // An existing directory as the output.
    let dir = TempDir::new("out-is-dir");
    fs::create_dir(dir.join("taken.aot")).unwrap();
    expect_clean_error(
        translate(&elf, &dir.join("taken.aot")),
        "taken.aot",
        &[],
        Some((&dir, &["taken.aot"])),
    );
}

#[test]
fn text_file_is_not_an_aot() {
    let dir = TempDir::new("not-aot");
    let path = put(&dir, "plain.aot", b"hello, I am not an .aot file\n");
    expect_clean_error(exec(&path), "plain.aot", &[], Some((&dir, &["plain.aot"])));
}

#[test]
fn elf_given_to_exec_without_interp_is_not_an_aot() {
    // `vmx exec` runs .aot files; an ELF there must be a clean error (or, if vmx chooses to
    // accept it, a successful run) — never a crash.
    let Some(elf) = common::riscv_sample("elf_given_to_exec_without_interp_is_not_an_aot", "hello")
    else {
        return;
    };
    let mut cmd = exec(&elf);
    let out = common::run_translate(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !out.stderr_text().contains("panicked") && out.status < 128,
        "`{}` crashed: status {}, stderr {:?}",
        common::show(&cmd),
        out.status,
        out.stderr_text()
    );
    if out.status != 0 {
        assert_eq!(
            out.stderr_text()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count(),
            1,
            "the error must be one line: {:?}",
            out.stderr_text()
        );
        assert!(
            out.stderr_text().contains("hello"),
            "the error must name the file"
        );
    }
}

#[test]
fn corrupt_aot_payload() {
    let dir = TempDir::new("corrupt-aot");
    let Some(good) = real_aot("corrupt_aot_payload") else {
        return;
    };
    let len = good.len();
    assert!(len > 256, "suspiciously small .aot ({len} bytes)");
    // Several kinds of damage, each well past the header: one bit near the end, one byte in
    // the middle, and a run of bytes spread over the second half.
    let mut one_bit = good.clone();
    one_bit[len - 7] ^= 0x01;
    let mut one_byte = good.clone();
    one_byte[len / 2] ^= 0xff;
    let mut many = good.clone();
    for k in 0..64 {
        let at = len / 2 + k * (len / 2 - 1) / 64;
        many[at] = many[at].wrapping_add(0x5a);
    }
    for (name, bytes) in [
        ("bitflip.aot", one_bit),
        ("byteflip.aot", one_byte),
        ("scrambled.aot", many),
    ] {
        let path = put(&dir, name, &bytes);
        expect_clean_error(exec(&path), name, &[], Some((&dir, &[name])));
        // The interpreter reads .aot files too.
        expect_clean_error(exec_interp(&path), name, &[], Some((&dir, &[name])));
        fs::remove_file(path).unwrap();
    }
}

#[test]
fn truncated_aot() {
    let dir = TempDir::new("truncated-aot");
    let Some(good) = real_aot("truncated_aot") else {
        return;
    };
    for (name, keep) in [
        ("half.aot", good.len() / 2),
        ("header-only.aot", 20),
        ("magic-only.aot", 8),
        ("almost.aot", good.len() - 1),
    ] {
        let path = put(&dir, name, &good[..keep]);
        expect_clean_error(exec(&path), name, &[], Some((&dir, &[name])));
        fs::remove_file(path).unwrap();
    }
}

#[test]
fn aot_with_trailing_garbage() {
    let dir = TempDir::new("trailing-aot");
    let Some(mut bytes) = real_aot("aot_with_trailing_garbage") else {
        return;
    };
    bytes.extend_from_slice(b"trailing garbage");
    let path = put(&dir, "trailing.aot", &bytes);
    expect_clean_error(
        exec(&path),
        "trailing.aot",
        &[],
        Some((&dir, &["trailing.aot"])),
    );
}

#[test]
fn aot_from_another_format_version() {
    let dir = TempDir::new("version-aot");
    let Some(mut bytes) = real_aot("aot_from_another_format_version") else {
        return;
    };
    assert_eq!(&bytes[..8], b"VMXAOT\r\n", "unexpected .aot magic");
    bytes[AOT_VERSION_AT..AOT_VERSION_AT + 4].copy_from_slice(&999u32.to_le_bytes());
    let path = put(&dir, "future.aot", &bytes);
    expect_clean_error(
        exec(&path),
        "future.aot",
        &["version"],
        Some((&dir, &["future.aot"])),
    );
}
