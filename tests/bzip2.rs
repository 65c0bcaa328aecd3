//! A real program: bzip2 1.0.8 (built for riscv64 by `cargo xtask build-bzip2`) compresses
//! and decompresses ~8 MiB under `vmx run`. The compressed bytes must equal those of the
//! native x86-64 build of the same source, and decompression must give the input back.
//! The AArch64 build does the same (on 2 MiB) under the interpreter.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{vmx_cmd, Outcome, TempDir};

const SIZE: usize = 8 << 20;

/// Deterministic test data that compresses, but not trivially: text made of words drawn
/// with a skewed distribution, interleaved with runs of one byte (bzip2's initial RLE) and
/// blocks of incompressible noise.
fn test_data() -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "translation",
        "guest",
        "host",
        "register",
        "memory",
        "instruction",
        "block",
        "function",
        "vmx",
        "riscv",
        "compile",
        "cache",
        "syscall",
        "signal",
        "interpreter",
        "dispatcher",
        "lift",
        "optimise",
        "verify",
        "deterministic",
        "bzip2",
        "burrows",
        "wheeler",
        "huffman",
        "entropy",
        "0x1f",
        "42",
        "1969",
        "π",
        "naïve",
        "über",
        "—",
    ];
    let mut state: u64 = 0x0123_4567_89ab_cdef;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(SIZE + 4096);
    while out.len() < SIZE {
        let r = next();
        match r % 100 {
            0 => {
                // noise
                let n = 64 + (r >> 8) as usize % 512;
                for _ in 0..n / 8 {
                    out.extend_from_slice(&next().to_le_bytes());
                }
            }
            1..=2 => {
                // a run
                let n = 4 + (r >> 8) as usize % 600;
                let byte = (r >> 24) as u8;
                out.extend(std::iter::repeat_n(byte, n));
            }
            _ => {
                // a line of words; low indices are much more likely
                let words = 3 + (r >> 8) as usize % 14;
                for w in 0..words {
                    let x = next();
                    let idx = ((x % WORDS.len() as u64) * (x >> 60)) as usize / 16;
                    if w > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(WORDS[idx.min(WORDS.len() - 1)].as_bytes());
                    if x >> 59 == 0 {
                        out.extend_from_slice(format!(" {}", x % 100_000).as_bytes());
                    }
                }
                out.extend_from_slice(if r >> 62 == 0 { b".\n\n" } else { b"\n" });
            }
        }
    }
    out.truncate(SIZE);
    out
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("first difference at byte {i} of {} vs {}", a.len(), b.len()),
        None => format!(
            "one is a prefix of the other: {} vs {} bytes",
            a.len(),
            b.len()
        ),
    }
}

fn run_ok(what: &str, cmd: &mut std::process::Command, stdin: &[u8]) -> Outcome {
    // Translating all of a static glibc program can take a while on the first run.
    let limit = common::timeout().max(Duration::from_secs(900));
    let shown = common::show(cmd);
    let out =
        common::run_with_timeout(cmd, Some(stdin), limit).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status == 0,
        "{what}: `{shown}` exited with status {}\nstderr:\n{}",
        out.status,
        out.stderr_text()
    );
    out
}

#[test]
fn bzip2_round_trip_matches_native() {
    let test = "bzip2_round_trip_matches_native";
    let build = common::samples_dir().join("build");
    let Some(guest) = common::artefact(test, &build.join("riscv64/bzip2"), &[], "build-bzip2")
    else {
        return;
    };
    let Some(native) = common::artefact(test, &build.join("x86_64/bzip2"), &[], "build-bzip2")
    else {
        return;
    };

    let input = test_data();
    let expected = run_ok(
        "native bzip2 -c",
        std::process::Command::new(&native).arg("-c"),
        &input,
    )
    .stdout;
    assert!(
        expected.len() < input.len() / 2 && expected.len() > input.len() / 50,
        "test data should compress, but not trivially: {} -> {} bytes",
        input.len(),
        expected.len()
    );

    let cache = TempDir::new("bzip2-cache");
    let vmx_run = |args: &[&str]| {
        let mut cmd = vmx_cmd();
        cmd.arg("run")
            .arg(&guest)
            .args(args)
            .env("VMX_CACHE_DIR", cache.path());
        cmd
    };

    let compressed = run_ok("vmx run bzip2 -c", &mut vmx_run(&["-c"]), &input);
    assert!(
        compressed.stdout == expected,
        "bzip2 under vmx compressed differently from native bzip2 ({})",
        first_difference(&expected, &compressed.stdout)
    );

    let decompressed = run_ok(
        "vmx run bzip2 -d -c",
        &mut vmx_run(&["-d", "-c"]),
        &compressed.stdout,
    );
    assert!(
        decompressed.stdout == input,
        "bzip2 -d under vmx did not give the input back ({})",
        first_difference(&input, &decompressed.stdout)
    );

    assert!(
        dir_has_files(cache.path()),
        "vmx run left nothing in VMX_CACHE_DIR={}",
        cache.path().display()
    );
}

fn dir_has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut rd| rd.next().is_some())
}

/// The AArch64 build (interpreter only: `vmx translate` does not take A64 yet) on the
/// first 2 MiB of the same data: same compressed bytes as native, and back.
#[test]
fn bzip2_aarch64_interpreted_matches_native() {
    let test = "bzip2_aarch64_interpreted_matches_native";
    let build = common::samples_dir().join("build");
    let Some(guest) = common::artefact(test, &build.join("aarch64/bzip2"), &[], "build-bzip2")
    else {
        return;
    };
    let Some(native) = common::artefact(test, &build.join("x86_64/bzip2"), &[], "build-bzip2")
    else {
        return;
    };
    let mut input = test_data();
    input.truncate(2 << 20);
    let expected = run_ok(
        "native bzip2 -c",
        std::process::Command::new(&native).arg("-c"),
        &input,
    )
    .stdout;
    let interp = |args: &[&str]| {
        let mut cmd = vmx_cmd();
        cmd.args(["exec", "--engine=interp"]).arg(&guest).args(args);
        cmd
    };
    let compressed = run_ok(
        "vmx exec --engine=interp bzip2 -c",
        &mut interp(&["-c"]),
        &input,
    );
    assert!(
        compressed.stdout == expected,
        "aarch64 bzip2 under vmx compressed differently from native bzip2 ({})",
        first_difference(&expected, &compressed.stdout)
    );
    let decompressed = run_ok(
        "vmx exec --engine=interp bzip2 -d -c",
        &mut interp(&["-d", "-c"]),
        &compressed.stdout,
    );
    assert!(
        decompressed.stdout == input,
        "aarch64 bzip2 -d under vmx did not give the input back ({})",
        first_difference(&input, &decompressed.stdout)
    );
}
