//! RV64C: compressed (16-bit) instruction decoding.
//!
//! Each compressed instruction is expanded to the 32-bit instruction it stands for:
//! the result is exactly what [`super::decode`] returns for that 32-bit encoding,
//! except that `len == 2`. Reserved encodings decode to [`Op::Illegal`]; HINTs (for
//! example `c.li x0, imm`, `c.slli` with a zero shift, `c.mv x0, rs2`) decode to their
//! expansion, which has no architectural effect beyond that of the expanded form.
//!
//! The match is organised like the instruction listing of the spec: quadrant
//! (`inst[1:0]`) and `funct3` (`inst[15:13]`), then the distinguishing fields.

use crate::rv::insn::{Insn, Op};

/// Decode a 16-bit instruction (`h & 3 != 3`).
pub(super) fn decode(h: u16) -> Insn {
    use Op::*;
    let h = u32::from(h);
    // Full register fields and the 3-bit "prime" register fields (x8..x15).
    let rd = bits(h, 11, 7) as u8;
    let rs2 = bits(h, 6, 2) as u8;
    let rd_p = 8 + bits(h, 4, 2) as u8; // rd' / rs2' in CIW, CL, CS
    let rs1_p = 8 + bits(h, 9, 7) as u8; // rs1' / rd' in CL, CS, CA, CB
    const SP: u8 = 2;
    const RA: u8 = 1;
    match (h & 3, bits(h, 15, 13)) {
        // Quadrant 0
        // c.addi4spn
        (0b00, 0b000) => match imm_addi4spn(h) {
            0 => illegal(), // includes the all-zero halfword
            imm => i(Addi, rd_p, SP, imm),
        },
        (0b00, 0b001) => i(Fld, rd_p, rs1_p, uimm_d(h)), // c.fld
        (0b00, 0b010) => i(Lw, rd_p, rs1_p, uimm_w(h)),  // c.lw
        (0b00, 0b011) => i(Ld, rd_p, rs1_p, uimm_d(h)),  // c.ld
        (0b00, 0b101) => s(Fsd, rs1_p, rd_p, uimm_d(h)), // c.fsd
        (0b00, 0b110) => s(Sw, rs1_p, rd_p, uimm_w(h)),  // c.sw
        (0b00, 0b111) => s(Sd, rs1_p, rd_p, uimm_d(h)),  // c.sd

        // Quadrant 1
        (0b01, 0b000) => i(Addi, rd, rd, imm_ci(h)), // c.nop, c.addi
        (0b01, 0b001) if rd != 0 => i(Addiw, rd, rd, imm_ci(h)), // c.addiw
        (0b01, 0b010) => i(Addi, rd, 0, imm_ci(h)),  // c.li
        // c.addi16sp, c.lui
        (0b01, 0b011) if rd == SP => match imm_addi16sp(h) {
            0 => illegal(),
            imm => i(Addi, SP, SP, imm),
        },
        (0b01, 0b011) => match imm_lui(h) {
            0 => illegal(),
            imm => u(Lui, rd, imm),
        },
        (0b01, 0b100) => match (bits(h, 11, 10), bits(h, 12, 12), bits(h, 6, 5)) {
            (0b00, _, _) => sh(Srli, rs1_p, shamt(h)),        // c.srli
            (0b01, _, _) => sh(Srai, rs1_p, shamt(h)),        // c.srai
            (0b10, _, _) => i(Andi, rs1_p, rs1_p, imm_ci(h)), // c.andi
            (0b11, 0, 0b00) => r(Sub, rs1_p, rs1_p, rd_p),    // c.sub, c.xor, …
            (0b11, 0, 0b01) => r(Xor, rs1_p, rs1_p, rd_p),
            (0b11, 0, 0b10) => r(Or, rs1_p, rs1_p, rd_p),
            (0b11, 0, 0b11) => r(And, rs1_p, rs1_p, rd_p),
            (0b11, 1, 0b00) => r(Subw, rs1_p, rs1_p, rd_p),
            (0b11, 1, 0b01) => r(Addw, rs1_p, rs1_p, rd_p),
            _ => illegal(),
        },
        (0b01, 0b101) => j(Jal, 0, imm_cj(h)),        // c.j
        (0b01, 0b110) => b(Beq, rs1_p, 0, imm_cb(h)), // c.beqz
        (0b01, 0b111) => b(Bne, rs1_p, 0, imm_cb(h)), // c.bnez

        // Quadrant 2
        (0b10, 0b000) => sh(Slli, rd, shamt(h)), // c.slli
        (0b10, 0b001) => i(Fld, rd, SP, uimm_ldsp(h)), // c.fldsp
        (0b10, 0b010) if rd != 0 => i(Lw, rd, SP, uimm_lwsp(h)), // c.lwsp
        (0b10, 0b011) if rd != 0 => i(Ld, rd, SP, uimm_ldsp(h)), // c.ldsp
        (0b10, 0b100) => match (bits(h, 12, 12), rd, rs2) {
            (0, 0, 0) => illegal(),            // c.jr x0 is reserved
            (0, _, 0) => i(Jalr, 0, rd, 0),    // c.jr
            (0, _, _) => r(Add, rd, 0, rs2),   // c.mv
            (1, 0, 0) => Insn::new(Ebreak, 2), // c.ebreak
            (1, _, 0) => i(Jalr, RA, rd, 0),   // c.jalr
            (_, _, _) => r(Add, rd, rd, rs2),  // c.add
        },
        (0b10, 0b101) => s(Fsd, SP, rs2, uimm_sdsp(h)), // c.fsdsp
        (0b10, 0b110) => s(Sw, SP, rs2, uimm_swsp(h)),  // c.swsp
        (0b10, 0b111) => s(Sd, SP, rs2, uimm_sdsp(h)),  // c.sdsp

        // Quadrant 0 funct3 100 (reserved), and c.addiw/c.lwsp/c.ldsp with rd = x0.
        _ => illegal(),
    }
}

// Expanded-instruction constructors (operand conventions as in decode.rs).

fn illegal() -> Insn {
    Insn::new(Op::Illegal, 2)
}

fn r(op: Op, rd: u8, rs1: u8, rs2: u8) -> Insn {
    Insn {
        rd,
        rs1,
        rs2,
        ..Insn::new(op, 2)
    }
}

fn i(op: Op, rd: u8, rs1: u8, imm: i64) -> Insn {
    Insn {
        rd,
        rs1,
        imm,
        ..Insn::new(op, 2)
    }
}

/// Shift by immediate, in place: `op rd, rd, shamt`.
fn sh(op: Op, rd: u8, shamt: i64) -> Insn {
    i(op, rd, rd, shamt)
}

fn s(op: Op, rs1: u8, rs2: u8, imm: i64) -> Insn {
    Insn {
        rs1,
        rs2,
        imm,
        ..Insn::new(op, 2)
    }
}

fn b(op: Op, rs1: u8, rs2: u8, imm: i64) -> Insn {
    s(op, rs1, rs2, imm)
}

fn u(op: Op, rd: u8, imm: i64) -> Insn {
    Insn {
        rd,
        imm,
        ..Insn::new(op, 2)
    }
}

fn j(op: Op, rd: u8, imm: i64) -> Insn {
    u(op, rd, imm)
}

// Field extraction. Each immediate is documented with the spec's scatter notation:
// which immediate bits sit in which instruction bits.

/// `inst[hi:lo]`, right-aligned.
fn bits(h: u32, hi: u32, lo: u32) -> u32 {
    (h >> lo) & ((1 << (hi - lo + 1)) - 1)
}

/// Sign-extend the low `n` bits of `v`.
fn sext(v: u32, n: u32) -> i64 {
    let shift = 32 - n;
    i64::from(((v << shift) as i32) >> shift)
}

/// CI: imm[5|4:0] = inst[12|6:2], sign-extended (c.addi, c.addiw, c.li, c.andi).
fn imm_ci(h: u32) -> i64 {
    sext((bits(h, 12, 12) << 5) | bits(h, 6, 2), 6)
}

/// CI shifts: shamt[5|4:0] = inst[12|6:2].
fn shamt(h: u32) -> i64 {
    i64::from((bits(h, 12, 12) << 5) | bits(h, 6, 2))
}

/// c.lui: nzimm[17|16:12] = inst[12|6:2], sign-extended.
fn imm_lui(h: u32) -> i64 {
    sext((bits(h, 12, 12) << 17) | (bits(h, 6, 2) << 12), 18)
}

/// c.addi16sp: nzimm[9|4|6|8:7|5] = inst[12|6|5|4:3|2], sign-extended.
fn imm_addi16sp(h: u32) -> i64 {
    let v = (bits(h, 12, 12) << 9)
        | (bits(h, 6, 6) << 4)
        | (bits(h, 5, 5) << 6)
        | (bits(h, 4, 3) << 7)
        | (bits(h, 2, 2) << 5);
    sext(v, 10)
}

/// c.addi4spn: nzuimm[5:4|9:6|2|3] = inst[12:11|10:7|6|5].
fn imm_addi4spn(h: u32) -> i64 {
    let v = (bits(h, 12, 11) << 4)
        | (bits(h, 10, 7) << 6)
        | (bits(h, 6, 6) << 2)
        | (bits(h, 5, 5) << 3);
    i64::from(v)
}

/// c.lw/c.sw: uimm[5:3|2|6] = inst[12:10|6|5].
fn uimm_w(h: u32) -> i64 {
    i64::from((bits(h, 12, 10) << 3) | (bits(h, 6, 6) << 2) | (bits(h, 5, 5) << 6))
}

/// c.ld/c.sd/c.fld/c.fsd: uimm[5:3|7:6] = inst[12:10|6:5].
fn uimm_d(h: u32) -> i64 {
    i64::from((bits(h, 12, 10) << 3) | (bits(h, 6, 5) << 6))
}

/// c.lwsp: uimm[5|4:2|7:6] = inst[12|6:4|3:2].
fn uimm_lwsp(h: u32) -> i64 {
    i64::from((bits(h, 12, 12) << 5) | (bits(h, 6, 4) << 2) | (bits(h, 3, 2) << 6))
}

/// c.ldsp/c.fldsp: uimm[5|4:3|8:6] = inst[12|6:5|4:2].
fn uimm_ldsp(h: u32) -> i64 {
    i64::from((bits(h, 12, 12) << 5) | (bits(h, 6, 5) << 3) | (bits(h, 4, 2) << 6))
}

/// c.swsp: uimm[5:2|7:6] = inst[12:9|8:7].
fn uimm_swsp(h: u32) -> i64 {
    i64::from((bits(h, 12, 9) << 2) | (bits(h, 8, 7) << 6))
}

/// c.sdsp/c.fsdsp: uimm[5:3|8:6] = inst[12:10|9:7].
fn uimm_sdsp(h: u32) -> i64 {
    i64::from((bits(h, 12, 10) << 3) | (bits(h, 9, 7) << 6))
}

/// c.j: offset[11|4|9:8|10|6|7|3:1|5] = inst[12|11|10:9|8|7|6|5:3|2], sign-extended.
fn imm_cj(h: u32) -> i64 {
    let v = (bits(h, 12, 12) << 11)
        | (bits(h, 11, 11) << 4)
        | (bits(h, 10, 9) << 8)
        | (bits(h, 8, 8) << 10)
        | (bits(h, 7, 7) << 6)
        | (bits(h, 6, 6) << 7)
        | (bits(h, 5, 3) << 1)
        | (bits(h, 2, 2) << 5);
    sext(v, 12)
}

/// c.beqz/c.bnez: offset[8|4:3|7:6|2:1|5] = inst[12|11:10|6:5|4:3|2], sign-extended.
fn imm_cb(h: u32) -> i64 {
    let v = (bits(h, 12, 12) << 8)
        | (bits(h, 11, 10) << 3)
        | (bits(h, 6, 5) << 6)
        | (bits(h, 4, 3) << 1)
        | (bits(h, 2, 2) << 5);
    sext(v, 9)
}
