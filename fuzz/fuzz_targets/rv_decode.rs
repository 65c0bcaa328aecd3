//! The RISC-V decoder, disassembler and control-flow classifier on arbitrary instruction
//! streams: total, lengths agree with the first halfword, no panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmx_lifter::discover::flow;
use vmx_lifter::rv::decode::{decode, insn_len};
use vmx_lifter::rv::disasm::disasm;

fuzz_target!(|data: &[u8]| {
    let mut off = 0usize;
    let pc0 = 0x1_0000u64;
    while off + 2 <= data.len() {
        let half = u16::from_le_bytes([data[off], data[off + 1]]);
        let len = insn_len(half) as usize;
        let mut w = [0u8; 4];
        let avail = (data.len() - off).min(4);
        w[..avail].copy_from_slice(&data[off..off + avail]);
        let word = u32::from_le_bytes(w);
        let insn = decode(word);
        assert_eq!(insn.len as usize, len, "length disagrees for {word:#010x}");
        let pc = pc0.wrapping_add(off as u64);
        let _ = flow(&insn, pc);
        let _ = flow(&insn, u64::MAX - 1);
        let text = disasm(&insn, pc);
        assert!(!text.is_empty());
        off += len;
    }
});
