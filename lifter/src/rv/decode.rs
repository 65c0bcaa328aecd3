//! RISC-V instruction decoding (placeholder: being written).

use super::insn::{Insn, Op};

/// Length in bytes of the instruction whose first halfword is `half`.
pub fn insn_len(half: u16) -> u8 {
    if half & 3 == 3 {
        4
    } else {
        2
    }
}

/// Decode the instruction starting with `word` (little-endian; only the low 16 bits
/// matter for a compressed instruction). Never fails: invalid encodings decode to
/// [`Op::Illegal`] with the correct length.
pub fn decode(word: u32) -> Insn {
    Insn::new(Op::Illegal, insn_len(word as u16))
}
