//! Inputs the fuzz targets (`fuzz/`, `cargo xtask fuzz-targets`) once crashed on, replayed
//! through the same checks as the target: `data/fuzz/<target>/*`. Add every new crash
//! here (with a name saying what it was) when fixing it. The tests run in the release
//! profile, without the fuzz build's overflow checks: each crash also gets a test of the
//! property whose violation crashed.

use std::path::PathBuf;

use vmx_lifter::discover::discover;
use vmx_lifter::elf::{GuestImage, Isa};
use vmx_lifter::state::GUEST_SPACE;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(target);
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| {
            let p = e.path();
            (p.display().to_string(), std::fs::read(&p).expect("reading"))
        })
        .collect();
    v.sort();
    v
}

/// `fuzz/fuzz_targets/elf.rs`, once per input.
#[test]
fn elf() {
    let inputs = inputs("elf");
    assert!(!inputs.is_empty());
    for (name, data) in inputs {
        let Ok(image) = GuestImage::parse(&data) else {
            continue;
        };
        for f in &image.functions {
            assert!(
                f.addr
                    .checked_add(f.size)
                    .is_some_and(|end| end <= GUEST_SPACE),
                "{name}: symbol {} at {:#x} size {:#x}",
                f.name,
                f.addr,
                f.size
            );
        }
        if image.isa != Isa::Riscv64 {
            continue;
        }
        let extra: Vec<u64> = image
            .segments
            .iter()
            .map(|s| s.vaddr + s.memsz / 2)
            .collect();
        let program = discover(&image, &data, &extra);
        for f in &program.functions {
            for b in &f.blocks {
                for (pc, _) in &b.insns {
                    assert!(
                        image.is_code(*pc),
                        "{name}: instruction outside code at {pc:#x}"
                    );
                }
            }
        }
    }
}

/// The first crash: a text symbol of size 2^64 - 1 made discovery compute `entry + size`
/// with overflow. Its size is now clamped to the guest space when the ELF is parsed.
#[test]
fn symbol_sizes_are_clamped_to_the_guest_space() {
    let data = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz/elf/symbol-size-overflow.bin"),
    )
    .expect("reading the input");
    let image = GuestImage::parse(&data).expect("the input is a valid riscv64 ELF");
    let big = image
        .functions
        .iter()
        .find(|f| f.addr == 0x1_11ac)
        .expect("the symbol of size 2^64 - 1");
    assert_eq!(big.size, GUEST_SPACE - 0x1_11ac);
}
