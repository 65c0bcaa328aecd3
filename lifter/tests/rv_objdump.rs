//! RISC-V decoder against a live GNU objdump, on inputs too large to commit:
//!
//! - every instruction in the `.text` of a static riscv64 glibc program (built from
//!   `data/rv_hello.c`): what compilers really emit;
//! - every 16-bit encoding (all of RVC, valid or not);
//! - 200 000 random 32-bit encodings.
//!
//! The comparison rule is `rv_support::check`. These tests need
//! `riscv64-linux-gnu-{as,objdump,gcc}` and `lld-19`; without them they are skipped
//! (with a message), or fail if `VMX_REQUIRE_CROSS=1`.

mod rv_support;

use std::collections::BTreeSet;

use rv_support::*;
use vmx_lifter::rv::Op;

#[test]
fn whole_static_glibc_program() {
    if !have_tools(true) {
        return;
    }
    let dir = scratch("rv_objdump_glibc");
    let exe = build_static_program(&dir);
    let mut lines: Vec<Line> = objdump(&exe)
        .into_iter()
        .filter(|l| l.section == ".text")
        .collect();
    assert!(
        lines.len() > 50_000,
        "only {} instructions in .text",
        lines.len()
    );
    expand_compressed(&dir, &mut lines);
    let decoded = check_all(&lines, "static glibc program");
    let ops: BTreeSet<Op> = decoded.iter().map(|i| i.op).collect();
    eprintln!(
        "{} instructions ({} compressed), {} distinct ops, all equal to objdump",
        lines.len(),
        lines.iter().filter(|l| l.len == 2).count(),
        ops.len()
    );
    // Compiler output is valid code.
    assert!(!ops.contains(&Op::Illegal));
}

#[test]
fn every_compressed_encoding() {
    if !have_tools(false) {
        return;
    }
    let dir = scratch("rv_objdump_rvc");
    let src = format!(
        "{PRELUDE}\t.option rvc\n{}",
        insn_directives((0..=0xffffu32).filter(|h| h & 3 != 3))
    );
    let mut lines = assemble(&dir, "rvc", &src);
    assert_eq!(lines.len(), 3 * 16384);
    expand_compressed(&dir, &mut lines);
    let decoded = check_all(&lines, "all 16-bit encodings");
    let illegal = decoded.iter().filter(|i| i.op == Op::Illegal).count();
    eprintln!("{} compressed encodings, {illegal} illegal", lines.len());
}

#[test]
fn random_32bit_encodings() {
    if !have_tools(false) {
        return;
    }
    let dir = scratch("rv_objdump_random");
    let mut rng = Rng(0x0bad_cafe_f00d_1234);
    let words: Vec<u32> = (0..200_000).map(|_| random_word(&mut rng)).collect();
    let src = format!("{PRELUDE}\t.option norvc\n{}", insn_directives(words));
    let lines = assemble(&dir, "random", &src);
    assert_eq!(lines.len(), 200_000);
    let decoded = check_all(&lines, "random 32-bit encodings");
    let valid: BTreeSet<Op> = decoded.iter().map(|i| i.op).collect();
    eprintln!(
        "{} random encodings, {} distinct ops",
        lines.len(),
        valid.len()
    );
}
