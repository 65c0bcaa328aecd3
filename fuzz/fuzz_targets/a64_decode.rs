//! The A64 decoder and control-flow classifier on arbitrary instruction words: total,
//! deterministic, no panics (also for branch targets that wrap around).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmx_lifter::arm::decode::{decode, flow};

fuzz_target!(|data: &[u8]| {
    for (k, c) in data.chunks_exact(4).enumerate() {
        let raw = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let insn = decode(raw);
        assert_eq!(insn.raw, raw);
        assert_eq!(decode(raw).op, insn.op);
        let pc = 0x40_0000u64 + 4 * k as u64;
        let _ = flow(&insn, pc);
        let _ = flow(&insn, 0);
        let _ = flow(&insn, u64::MAX - 3);
    }
});
