//! The decoder is total: every 16-bit and every 32-bit word decodes (to an instruction or
//! to `Illegal`) and disassembles without panicking, with the length its low bits give.
//!
//! Every 16-bit word and a deterministic sample of 32-bit words run by default; the
//! exhaustive 2^32 sweep is `#[ignore]`d (a few minutes; `cargo xtask fuzz` runs it).

use vmx_lifter::rv::decode::insn_len;
use vmx_lifter::rv::disasm::disasm;
use vmx_lifter::rv::{decode, Op};

fn check(word: u32, with_text: bool) {
    let i = decode(word);
    assert_eq!(
        i.len,
        insn_len(word as u16),
        "{word:#010x}: decoded length {}",
        i.len
    );
    if i.op != Op::Illegal && with_text {
        assert!(!disasm(&i, 0x1000).is_empty(), "{word:#010x}: empty text");
    }
}

#[test]
fn every_16_bit_word_decodes() {
    for half in 0..=u16::MAX {
        if half & 3 != 3 {
            // Whatever the next halfword holds, a compressed encoding ignores it.
            check(half as u32, true);
            check(0xffff_0000 | half as u32, false);
        }
    }
}

#[test]
fn sampled_32_bit_words_decode() {
    // Every major opcode and funct3/funct7 combination many times over (xorshift).
    let mut x: u64 = 0x243f_6a88_85a3_08d3;
    for _ in 0..(1 << 22) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check(x as u32 | 3, x.is_multiple_of(64));
    }
}

#[test]
#[ignore = "exhaustive: run by `cargo xtask fuzz`"]
fn every_32_bit_word_decodes() {
    std::thread::scope(|s| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
        for t in 0..threads {
            s.spawn(move || {
                let mut hi = t;
                while hi < 1 << 30 {
                    check(hi << 2 | 3, false);
                    hi += threads;
                }
            });
        }
    });
}
