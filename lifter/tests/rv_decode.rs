//! RISC-V decoder and disassembler against GNU objdump (binutils 2.40), through
//! committed golden files, so these tests need no cross tools:
//!
//! - `data/rv_decode.txt`: objdump's `-M no-aliases` listing of `data/rv_decode.s`
//!   (every instruction, every compressed form, HINTs, encodings that must be
//!   illegal) plus a deterministic sample of random encodings;
//! - `data/rv_glibc.txt`: a sample of the instructions of a static glibc program
//!   built from `data/rv_hello.c` (`tests/rv_objdump.rs` checks all of them when the
//!   cross tools are installed).
//!
//! Regenerate both with
//!     VMX_BLESS=1 cargo test -p vmx-lifter --test rv_decode -- --ignored bless
//! (needs `riscv64-linux-gnu-{as,objdump,gcc}` and `lld-19`).

mod rv_support;

use std::collections::{BTreeMap, BTreeSet};

use rv_support::*;
use vmx_lifter::rv::disasm::disasm;
use vmx_lifter::rv::{decode, Insn, Op};

fn golden(name: &str) -> Vec<Line> {
    let path = data_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (regenerate with VMX_BLESS=1)", path.display()));
    read_golden(&text)
}

#[test]
fn decode_matches_objdump() {
    let lines = golden("rv_decode.txt");
    assert!(lines.len() > 3000, "golden file looks truncated");
    check_all(&lines, "rv_decode.txt");
}

#[test]
fn every_op_is_covered() {
    let lines = golden("rv_decode.txt");
    let seen: BTreeSet<Op> = lines
        .iter()
        .filter(|l| l.section == ".text")
        .map(|l| decode(l.word).op)
        .collect();
    let missing: Vec<Op> = Op::ALL
        .iter()
        .copied()
        .filter(|&op| op != Op::Illegal && !seen.contains(&op))
        .collect();
    assert!(
        missing.is_empty(),
        "not covered by rv_decode.s: {missing:?}"
    );

    // Every compressed form, by objdump's mnemonic.
    let c: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l.section == ".text" && l.len == 2)
        .map(|l| l.text.split(' ').next().unwrap_or(""))
        .collect();
    let forms = "c.addi4spn c.fld c.lw c.ld c.fsd c.sw c.sd c.addi c.addiw c.li c.addi16sp c.lui \
                 c.srli c.srai c.andi c.sub c.xor c.or c.and c.subw c.addw c.j c.beqz c.bnez \
                 c.slli c.fldsp c.lwsp c.ldsp c.jr c.mv c.ebreak c.jalr c.add c.fsdsp c.swsp \
                 c.sdsp c.slli64 c.srli64 c.srai64";
    for m in forms.split_whitespace() {
        assert!(c.contains(m), "no {m} in rv_decode.s");
    }
}

#[test]
fn illegal_encodings() {
    let lines = golden("rv_decode.txt");
    let illegal: Vec<&Line> = lines
        .iter()
        .filter(|l| l.section == ".text.illegal")
        .collect();
    assert!(illegal.len() > 50);
    for l in illegal {
        let i = decode(l.word);
        assert_eq!(i, Insn::new(Op::Illegal, l.len), "{:x}: {}", l.word, l.text);
    }
}

#[test]
fn glibc_sample_matches_objdump() {
    let lines = golden("rv_glibc.txt");
    assert!(lines.len() > 1000, "golden file looks truncated");
    check_all(&lines, "rv_glibc.txt");
}

/// Where we deliberately differ from binutils 2.40 (see `objdump_disagreement`),
/// pin down what we print.
#[test]
fn deliberate_differences() {
    for (w, pc, text) in [
        (0x0100_000fu32, 0, "pause"),
        (0x0330_800f, 0, "fence rw,rw"),
        (0x4330_000f, 0, "fence rw,rw"),
        (0x8ff0_000f, 0, "fence iorw,iorw"),
        (0x8330_000f, 0, "fence.tso"),
        (0x0000_900f, 0, "fence.i"),
        (0xd205_f553, 0, "fcvt.d.w fa0,a1,dyn"),
        (0xd215_c553, 0, "fcvt.d.wu fa0,a1,rmm"),
        (0x4205_9553, 0, "fcvt.d.s fa0,fa1,rtz"),
        (0x4205_0553, 0, "fcvt.d.s fa0,fa0"),
        (0x6101, 0, "illegal"),
        (0x0000, 0, "illegal"),
        (0x3020_0073, 0, "illegal"),
    ] {
        assert_eq!(disasm(&decode(w), pc), text, "{w:08x}");
    }
}

#[test]
fn display_is_relative_disasm_is_absolute() {
    // beq a0,a1,.-4096 ; jal ra,.+4094 ; c.j .-2
    let beq = decode(0x80b5_0063);
    assert_eq!(beq.to_string(), "beq a0,a1,.-4096");
    assert_eq!(disasm(&beq, 0x11000), "beq a0,a1,10000");
    let jal = decode(0x7ff0_00ef);
    assert_eq!(jal.to_string(), "jal ra,.+4094");
    assert_eq!(disasm(&jal, 0x10000), "jal ra,10ffe");
    let cj = decode(0xbffd);
    assert_eq!(cj.to_string(), "jal zero,.-2");
    assert_eq!(disasm(&cj, 0), "jal zero,fffffffffffffffe");
    // Non-branches print the same either way.
    let ld = decode(0x0081_3083);
    assert_eq!(ld.to_string(), "ld ra,8(sp)");
    assert_eq!(disasm(&ld, 0x1234), ld.to_string());
}

/// Decoding and printing never panic: every halfword, and many random words.
#[test]
fn total_and_panic_free() {
    let mut rng = Rng(42);
    let words = (0..=0xffffu32).chain((0..300_000).map(|_| rng.next_u32() | 3));
    for w in words {
        let i = decode(w);
        assert_eq!(i.len, if w & 3 == 3 { 4 } else { 2 });
        assert!(!i.to_string().is_empty());
        assert!(!disasm(&i, u64::from(w) << 32).is_empty());
    }
}

/// Regenerate the golden files (see the module comment).
#[test]
#[ignore = "regenerates golden files; run with VMX_BLESS=1 and the cross tools"]
fn bless() {
    assert!(
        std::env::var_os("VMX_BLESS").is_some(),
        "set VMX_BLESS=1 to regenerate the golden files"
    );
    assert!(have_tools(true), "bless needs the riscv64 cross tools");
    let dir = scratch("rv_decode_bless");

    // rv_decode.s plus random encodings.
    let mut src = std::fs::read_to_string(data_dir().join("rv_decode.s")).expect("rv_decode.s");
    let mut rng = Rng(0x5eed_0f7e_5700);
    src.push_str("\n\t.section .text.random, \"ax\", @progbits\n\t.option rvc\n");
    src.push_str(&insn_directives((0..1500).map(|_| random_word(&mut rng))));
    src.push_str(&insn_directives(
        (0..1500)
            .map(|_| rng.next_u32() & 0xffff)
            .filter(|h| h & 3 != 3),
    ));
    let mut lines = assemble(&dir, "rv_decode", &src);
    expand_compressed(&dir, &mut lines);
    check_all(&lines, "rv_decode.s (before writing)");
    let header = "GNU objdump -d -M no-aliases of rv_decode.s (plus random encodings).\n\
                  Generated by `VMX_BLESS=1 cargo test -p vmx-lifter --test rv_decode -- --ignored bless`.\n\
                  pc, encoding, length, objdump's text [, 32-bit expansion and its text]";
    std::fs::write(
        data_dir().join("rv_decode.txt"),
        write_golden(header, &lines),
    )
    .expect("write rv_decode.txt");

    // A sample of a static glibc program: up to 24 distinct encodings per mnemonic.
    let exe = build_static_program(&dir);
    let all: Vec<Line> = objdump(&exe)
        .into_iter()
        .filter(|l| l.section == ".text")
        .collect();
    let mut by_mnemonic: BTreeMap<String, Vec<&Line>> = BTreeMap::new();
    for l in &all {
        let m = l.text.split(' ').next().unwrap_or("").to_string();
        by_mnemonic.entry(m).or_default().push(l);
    }
    let mut keep: Vec<Line> = Vec::new();
    for group in by_mnemonic.values_mut() {
        group.sort_by_key(|l| (l.word.wrapping_mul(0x9e37_79b9), l.pc));
        group.dedup_by_key(|l| l.word);
        keep.extend(group.iter().take(24).map(|&l| l.clone()));
    }
    keep.sort_by_key(|l| l.pc);
    expand_compressed(&dir, &mut keep);
    check_all(&keep, "rv_glibc sample (before writing)");
    let header = format!(
        "A sample of GNU objdump -d -M no-aliases of a static riscv64 glibc program built\n\
         from rv_hello.c ({} of its {} instructions: up to 24 distinct encodings per mnemonic).\n\
         Generated by `VMX_BLESS=1 cargo test -p vmx-lifter --test rv_decode -- --ignored bless`.",
        keep.len(),
        all.len()
    );
    std::fs::write(
        data_dir().join("rv_glibc.txt"),
        write_golden(&header, &keep),
    )
    .expect("write rv_glibc.txt");
}
