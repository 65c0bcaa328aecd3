//! RISC-V RV64GC + Zba/Zbb/Zbs instruction decoding.
//!
//! [`decode`] is total: every `u32` decodes to an [`Insn`], invalid or reserved
//! encodings to [`Op::Illegal`] (all operand fields zero) with the right length.
//! Compressed instructions (the low two bits are not `11`) are decoded by
//! `decode_c.rs` and expanded to the 32-bit instruction they stand for, with `len == 2`.
//!
//! The 32-bit decoder is written in the style of QEMU's `insn32.decode`: the major
//! opcode selects a group, and within a group one match arm per encoding maps the
//! distinguishing fields to an `(Op, Fmt)` pair. `Fmt` then says which operand
//! fields to extract (the operand conventions are documented on each variant), so
//! field extraction is written once per format rather than once per instruction.
//!
//! Encodings longer than 32 bits (low bits `11111`) do not exist in RV64GC; they
//! decode as a 4-byte [`Op::Illegal`].

use super::insn::{Insn, Op};

#[path = "decode_c.rs"]
mod decode_c;

/// Length in bytes of the instruction whose first halfword is `half`: 2 for a
/// compressed instruction, otherwise 4.
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
    if word & 3 != 3 {
        return decode_c::decode(word as u16);
    }
    let (op, fmt) = classify(word);
    build(word, op, fmt)
}

/// Which operand fields an instruction has, i.e. how to fill in [`Insn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fmt {
    /// No operands (ecall, ebreak, fence.i — whose fields are reserved and ignored).
    NoArgs,
    /// `rd, rs1, rs2`.
    R,
    /// `rd, rs1` (unary ops whose `rs2` field is part of the opcode).
    R1,
    /// `rd, rs1, rs2, rm` (FP arithmetic; `rm` must be valid).
    Rrm,
    /// `rd, rs1, rm` (fsqrt, fcvt; `rm` must be valid).
    R1rm,
    /// `rd, rs1, rs2, rs3, rm` (fused multiply-add; `rm` must be valid).
    R4,
    /// `rd, rs1, imm` (I-type immediate, sign-extended).
    I,
    /// `rd, rs1, imm = shamt` (shift amount, 6 bits; W forms match bit 25 = 0).
    Shamt,
    /// `rs1 = base, rs2 = source, imm` (S-type).
    S,
    /// `rs1, rs2, imm = pc-relative offset` (B-type).
    B,
    /// `rd, imm = imm20 << 12` sign-extended (U-type).
    U,
    /// `rd, imm = pc-relative offset` (J-type).
    J,
    /// `rd, rs1, csr`.
    Csr,
    /// `rd, rs1 = uimm, imm = uimm, csr`.
    CsrI,
    /// `rd, rs1 = address, rs2 = source, rm = aq << 1 | rl`.
    Amo,
    /// `rm = pred << 4 | succ`, `imm = fm` (8 for fence.tso, else 0). `rd` and `rs1`
    /// are reserved and ignored.
    PredSucc,
}

const ILLEGAL: (Op, Fmt) = (Op::Illegal, Fmt::NoArgs);

// Major opcodes (bits 6:0).
const LOAD: u32 = 0b000_0011;
const LOAD_FP: u32 = 0b000_0111;
const MISC_MEM: u32 = 0b000_1111;
const OP_IMM: u32 = 0b001_0011;
const AUIPC: u32 = 0b001_0111;
const OP_IMM_32: u32 = 0b001_1011;
const STORE: u32 = 0b010_0011;
const STORE_FP: u32 = 0b010_0111;
const AMO: u32 = 0b010_1111;
const OP: u32 = 0b011_0011;
const LUI: u32 = 0b011_0111;
const OP_32: u32 = 0b011_1011;
const MADD: u32 = 0b100_0011;
const MSUB: u32 = 0b100_0111;
const NMSUB: u32 = 0b100_1011;
const NMADD: u32 = 0b100_1111;
const OP_FP: u32 = 0b101_0011;
const BRANCH: u32 = 0b110_0011;
const JALR: u32 = 0b110_0111;
const JAL: u32 = 0b110_1111;
const SYSTEM: u32 = 0b111_0011;

/// Map a 32-bit encoding to its operation and operand format.
fn classify(w: u32) -> (Op, Fmt) {
    use Fmt::*;
    use Op::*;
    let f3 = funct3(w);
    let f7 = w >> 25;
    let f6 = w >> 26;
    let imm12 = w >> 20;
    let rs2 = rs2(w) as u32;
    match w & 0x7f {
        LUI => (Lui, U),
        AUIPC => (Auipc, U),
        JAL => (Jal, J),
        JALR if f3 == 0 => (Jalr, I),

        BRANCH => match f3 {
            0b000 => (Beq, B),
            0b001 => (Bne, B),
            0b100 => (Blt, B),
            0b101 => (Bge, B),
            0b110 => (Bltu, B),
            0b111 => (Bgeu, B),
            _ => ILLEGAL,
        },

        LOAD => match f3 {
            0b000 => (Lb, I),
            0b001 => (Lh, I),
            0b010 => (Lw, I),
            0b011 => (Ld, I),
            0b100 => (Lbu, I),
            0b101 => (Lhu, I),
            0b110 => (Lwu, I),
            _ => ILLEGAL,
        },

        STORE => match f3 {
            0b000 => (Sb, S),
            0b001 => (Sh, S),
            0b010 => (Sw, S),
            0b011 => (Sd, S),
            _ => ILLEGAL,
        },

        // (funct3, imm[11:6], imm[11:0])
        OP_IMM => match (f3, f6, imm12) {
            (0b000, _, _) => (Addi, I),
            (0b010, _, _) => (Slti, I),
            (0b011, _, _) => (Sltiu, I),
            (0b100, _, _) => (Xori, I),
            (0b110, _, _) => (Ori, I),
            (0b111, _, _) => (Andi, I),
            (0b001, 0b000000, _) => (Slli, Shamt),
            (0b101, 0b000000, _) => (Srli, Shamt),
            (0b101, 0b010000, _) => (Srai, Shamt),
            // Zbb
            (0b001, _, 0x600) => (Clz, R1),
            (0b001, _, 0x601) => (Ctz, R1),
            (0b001, _, 0x602) => (Cpop, R1),
            (0b001, _, 0x604) => (SextB, R1),
            (0b001, _, 0x605) => (SextH, R1),
            (0b101, 0b011000, _) => (Rori, Shamt),
            (0b101, _, 0x287) => (OrcB, R1),
            (0b101, _, 0x6b8) => (Rev8, R1),
            // Zbs
            (0b001, 0b010010, _) => (Bclri, Shamt),
            (0b101, 0b010010, _) => (Bexti, Shamt),
            (0b001, 0b011010, _) => (Binvi, Shamt),
            (0b001, 0b001010, _) => (Bseti, Shamt),
            _ => ILLEGAL,
        },

        // (funct3, funct7, imm[11:0]); 32-bit shifts need bit 25 (shamt[5]) clear.
        OP_IMM_32 => match (f3, f7, imm12) {
            (0b000, _, _) => (Addiw, I),
            (0b001, 0b0000000, _) => (Slliw, Shamt),
            (0b101, 0b0000000, _) => (Srliw, Shamt),
            (0b101, 0b0100000, _) => (Sraiw, Shamt),
            // Zba: slli.uw has a 6-bit shamt (funct6 000010).
            (0b001, 0b0000100 | 0b0000101, _) => (SlliUw, Shamt),
            // Zbb
            (0b001, _, 0x600) => (Clzw, R1),
            (0b001, _, 0x601) => (Ctzw, R1),
            (0b001, _, 0x602) => (Cpopw, R1),
            (0b101, 0b0110000, _) => (Roriw, Shamt),
            _ => ILLEGAL,
        },

        // (funct7, funct3)
        OP => match (f7, f3) {
            (0b0000000, 0b000) => (Add, R),
            (0b0100000, 0b000) => (Sub, R),
            (0b0000000, 0b001) => (Sll, R),
            (0b0000000, 0b010) => (Slt, R),
            (0b0000000, 0b011) => (Sltu, R),
            (0b0000000, 0b100) => (Xor, R),
            (0b0000000, 0b101) => (Srl, R),
            (0b0100000, 0b101) => (Sra, R),
            (0b0000000, 0b110) => (Or, R),
            (0b0000000, 0b111) => (And, R),
            // M
            (0b0000001, 0b000) => (Mul, R),
            (0b0000001, 0b001) => (Mulh, R),
            (0b0000001, 0b010) => (Mulhsu, R),
            (0b0000001, 0b011) => (Mulhu, R),
            (0b0000001, 0b100) => (Div, R),
            (0b0000001, 0b101) => (Divu, R),
            (0b0000001, 0b110) => (Rem, R),
            (0b0000001, 0b111) => (Remu, R),
            // Zba
            (0b0010000, 0b010) => (Sh1add, R),
            (0b0010000, 0b100) => (Sh2add, R),
            (0b0010000, 0b110) => (Sh3add, R),
            // Zbb
            (0b0100000, 0b111) => (Andn, R),
            (0b0100000, 0b110) => (Orn, R),
            (0b0100000, 0b100) => (Xnor, R),
            (0b0000101, 0b110) => (Max, R),
            (0b0000101, 0b111) => (Maxu, R),
            (0b0000101, 0b100) => (Min, R),
            (0b0000101, 0b101) => (Minu, R),
            (0b0110000, 0b001) => (Rol, R),
            (0b0110000, 0b101) => (Ror, R),
            // Zbs
            (0b0100100, 0b001) => (Bclr, R),
            (0b0100100, 0b101) => (Bext, R),
            (0b0110100, 0b001) => (Binv, R),
            (0b0010100, 0b001) => (Bset, R),
            _ => ILLEGAL,
        },

        // (funct7, funct3, rs2)
        OP_32 => match (f7, f3, rs2) {
            (0b0000000, 0b000, _) => (Addw, R),
            (0b0100000, 0b000, _) => (Subw, R),
            (0b0000000, 0b001, _) => (Sllw, R),
            (0b0000000, 0b101, _) => (Srlw, R),
            (0b0100000, 0b101, _) => (Sraw, R),
            // M
            (0b0000001, 0b000, _) => (Mulw, R),
            (0b0000001, 0b100, _) => (Divw, R),
            (0b0000001, 0b101, _) => (Divuw, R),
            (0b0000001, 0b110, _) => (Remw, R),
            (0b0000001, 0b111, _) => (Remuw, R),
            // Zba
            (0b0000100, 0b000, _) => (AddUw, R),
            (0b0010000, 0b010, _) => (Sh1addUw, R),
            (0b0010000, 0b100, _) => (Sh2addUw, R),
            (0b0010000, 0b110, _) => (Sh3addUw, R),
            // Zbb (zext.h is `pack rd, rs1, x0` of Zbkb on RV64)
            (0b0000100, 0b100, 0) => (ZextH, R1),
            (0b0110000, 0b001, _) => (Rolw, R),
            (0b0110000, 0b101, _) => (Rorw, R),
            _ => ILLEGAL,
        },

        // FENCE's fm/rd/rs1 and FENCE.I's imm/rs1/rd are reserved for finer-grained
        // fences; the spec says to ignore them (as QEMU does).
        MISC_MEM => match f3 {
            0b000 => (Fence, PredSucc),
            0b001 => (FenceI, NoArgs),
            _ => ILLEGAL,
        },

        // (funct3, inst[31:7]): ecall and ebreak need rd = rs1 = 0.
        SYSTEM => match (f3, w >> 7) {
            (0b000, 0x0000) => (Ecall, NoArgs),
            (0b000, 0x2000) => (Ebreak, NoArgs),
            (0b001, _) => (Csrrw, Csr),
            (0b010, _) => (Csrrs, Csr),
            (0b011, _) => (Csrrc, Csr),
            (0b101, _) => (Csrrwi, CsrI),
            (0b110, _) => (Csrrsi, CsrI),
            (0b111, _) => (Csrrci, CsrI),
            _ => ILLEGAL,
        },

        // (funct5, funct3 = width, rs2); lr needs rs2 = 0.
        AMO => match (f7 >> 2, f3, rs2) {
            (0b00010, 0b010, 0) => (LrW, Amo),
            (0b00011, 0b010, _) => (ScW, Amo),
            (0b00001, 0b010, _) => (AmoswapW, Amo),
            (0b00000, 0b010, _) => (AmoaddW, Amo),
            (0b00100, 0b010, _) => (AmoxorW, Amo),
            (0b01100, 0b010, _) => (AmoandW, Amo),
            (0b01000, 0b010, _) => (AmoorW, Amo),
            (0b10000, 0b010, _) => (AmominW, Amo),
            (0b10100, 0b010, _) => (AmomaxW, Amo),
            (0b11000, 0b010, _) => (AmominuW, Amo),
            (0b11100, 0b010, _) => (AmomaxuW, Amo),
            (0b00010, 0b011, 0) => (LrD, Amo),
            (0b00011, 0b011, _) => (ScD, Amo),
            (0b00001, 0b011, _) => (AmoswapD, Amo),
            (0b00000, 0b011, _) => (AmoaddD, Amo),
            (0b00100, 0b011, _) => (AmoxorD, Amo),
            (0b01100, 0b011, _) => (AmoandD, Amo),
            (0b01000, 0b011, _) => (AmoorD, Amo),
            (0b10000, 0b011, _) => (AmominD, Amo),
            (0b10100, 0b011, _) => (AmomaxD, Amo),
            (0b11000, 0b011, _) => (AmominuD, Amo),
            (0b11100, 0b011, _) => (AmomaxuD, Amo),
            _ => ILLEGAL,
        },

        LOAD_FP => match f3 {
            0b010 => (Flw, I),
            0b011 => (Fld, I),
            _ => ILLEGAL,
        },

        STORE_FP => match f3 {
            0b010 => (Fsw, S),
            0b011 => (Fsd, S),
            _ => ILLEGAL,
        },

        // (major opcode, fmt = bits 26:25)
        MADD | MSUB | NMSUB | NMADD => match (w & 0x7f, (w >> 25) & 3) {
            (MADD, 0b00) => (FmaddS, R4),
            (MSUB, 0b00) => (FmsubS, R4),
            (NMSUB, 0b00) => (FnmsubS, R4),
            (NMADD, 0b00) => (FnmaddS, R4),
            (MADD, 0b01) => (FmaddD, R4),
            (MSUB, 0b01) => (FmsubD, R4),
            (NMSUB, 0b01) => (FnmsubD, R4),
            (NMADD, 0b01) => (FnmaddD, R4),
            _ => ILLEGAL,
        },

        // (funct7, funct3 = rm or sub-operation, rs2 = sub-operation)
        OP_FP => match (f7, f3, rs2) {
            // F
            (0b0000000, _, _) => (FaddS, Rrm),
            (0b0000100, _, _) => (FsubS, Rrm),
            (0b0001000, _, _) => (FmulS, Rrm),
            (0b0001100, _, _) => (FdivS, Rrm),
            (0b0101100, _, 0) => (FsqrtS, R1rm),
            (0b0010000, 0b000, _) => (FsgnjS, R),
            (0b0010000, 0b001, _) => (FsgnjnS, R),
            (0b0010000, 0b010, _) => (FsgnjxS, R),
            (0b0010100, 0b000, _) => (FminS, R),
            (0b0010100, 0b001, _) => (FmaxS, R),
            (0b1100000, _, 0) => (FcvtWS, R1rm),
            (0b1100000, _, 1) => (FcvtWuS, R1rm),
            (0b1100000, _, 2) => (FcvtLS, R1rm),
            (0b1100000, _, 3) => (FcvtLuS, R1rm),
            (0b1110000, 0b000, 0) => (FmvXW, R1),
            (0b1010000, 0b010, _) => (FeqS, R),
            (0b1010000, 0b001, _) => (FltS, R),
            (0b1010000, 0b000, _) => (FleS, R),
            (0b1110000, 0b001, 0) => (FclassS, R1),
            (0b1101000, _, 0) => (FcvtSW, R1rm),
            (0b1101000, _, 1) => (FcvtSWu, R1rm),
            (0b1101000, _, 2) => (FcvtSL, R1rm),
            (0b1101000, _, 3) => (FcvtSLu, R1rm),
            (0b1111000, 0b000, 0) => (FmvWX, R1),
            // D
            (0b0000001, _, _) => (FaddD, Rrm),
            (0b0000101, _, _) => (FsubD, Rrm),
            (0b0001001, _, _) => (FmulD, Rrm),
            (0b0001101, _, _) => (FdivD, Rrm),
            (0b0101101, _, 0) => (FsqrtD, R1rm),
            (0b0010001, 0b000, _) => (FsgnjD, R),
            (0b0010001, 0b001, _) => (FsgnjnD, R),
            (0b0010001, 0b010, _) => (FsgnjxD, R),
            (0b0010101, 0b000, _) => (FminD, R),
            (0b0010101, 0b001, _) => (FmaxD, R),
            (0b0100000, _, 1) => (FcvtSD, R1rm),
            (0b0100001, _, 0) => (FcvtDS, R1rm),
            (0b1100001, _, 0) => (FcvtWD, R1rm),
            (0b1100001, _, 1) => (FcvtWuD, R1rm),
            (0b1100001, _, 2) => (FcvtLD, R1rm),
            (0b1100001, _, 3) => (FcvtLuD, R1rm),
            (0b1110001, 0b000, 0) => (FmvXD, R1),
            (0b1010001, 0b010, _) => (FeqD, R),
            (0b1010001, 0b001, _) => (FltD, R),
            (0b1010001, 0b000, _) => (FleD, R),
            (0b1110001, 0b001, 0) => (FclassD, R1),
            (0b1101001, _, 0) => (FcvtDW, R1rm),
            (0b1101001, _, 1) => (FcvtDWu, R1rm),
            (0b1101001, _, 2) => (FcvtDL, R1rm),
            (0b1101001, _, 3) => (FcvtDLu, R1rm),
            (0b1111001, 0b000, 0) => (FmvDX, R1),
            _ => ILLEGAL,
        },

        _ => ILLEGAL,
    }
}

/// Extract the operand fields `fmt` names from `w`.
fn build(w: u32, op: Op, fmt: Fmt) -> Insn {
    let mut i = Insn::new(op, 4);
    match fmt {
        Fmt::NoArgs => {}
        Fmt::R | Fmt::Rrm | Fmt::R4 => {
            i.rd = rd(w);
            i.rs1 = rs1(w);
            i.rs2 = rs2(w);
        }
        Fmt::R1 | Fmt::R1rm => {
            i.rd = rd(w);
            i.rs1 = rs1(w);
        }
        Fmt::I => {
            i.rd = rd(w);
            i.rs1 = rs1(w);
            i.imm = imm_i(w);
        }
        Fmt::Shamt => {
            i.rd = rd(w);
            i.rs1 = rs1(w);
            i.imm = i64::from((w >> 20) & 0x3f);
        }
        Fmt::S => {
            i.rs1 = rs1(w);
            i.rs2 = rs2(w);
            i.imm = imm_s(w);
        }
        Fmt::B => {
            i.rs1 = rs1(w);
            i.rs2 = rs2(w);
            i.imm = imm_b(w);
        }
        Fmt::U => {
            i.rd = rd(w);
            i.imm = imm_u(w);
        }
        Fmt::J => {
            i.rd = rd(w);
            i.imm = imm_j(w);
        }
        Fmt::Csr => {
            i.rd = rd(w);
            i.rs1 = rs1(w);
            i.csr = (w >> 20) as u16;
        }
        Fmt::CsrI => {
            i.rd = rd(w);
            i.rs1 = rs1(w);
            i.imm = i64::from(rs1(w));
            i.csr = (w >> 20) as u16;
        }
        Fmt::Amo => {
            i.rd = rd(w);
            i.rs1 = rs1(w);
            i.rs2 = rs2(w);
            i.rm = ((w >> 25) & 3) as u8;
        }
        Fmt::PredSucc => {
            i.rm = ((w >> 20) & 0xff) as u8;
            // fm = 1000 with pred = succ = rw is fence.tso; every other fm, and TSO
            // with other sets, is reserved and means a normal fence (fm = 0000).
            if w >> 28 == 0b1000 && i.rm == 0x33 {
                i.imm = 0b1000;
            }
        }
    }
    if matches!(fmt, Fmt::Rrm | Fmt::R1rm | Fmt::R4) {
        let rm = funct3(w) as u8;
        // 5 and 6 are reserved rounding modes: the encoding is illegal.
        if rm == 5 || rm == 6 {
            return Insn::new(Op::Illegal, 4);
        }
        i.rm = rm;
    }
    if fmt == Fmt::R4 {
        i.rs3 = (w >> 27) as u8;
    }
    i
}

// Field extraction (32-bit encodings).

fn funct3(w: u32) -> u32 {
    (w >> 12) & 7
}

fn rd(w: u32) -> u8 {
    ((w >> 7) & 31) as u8
}

fn rs1(w: u32) -> u8 {
    ((w >> 15) & 31) as u8
}

fn rs2(w: u32) -> u8 {
    ((w >> 20) & 31) as u8
}

/// I-type: imm[11:0] = inst[31:20].
fn imm_i(w: u32) -> i64 {
    i64::from(w as i32 >> 20)
}

/// S-type: imm[11:5|4:0] = inst[31:25|11:7].
fn imm_s(w: u32) -> i64 {
    i64::from(((w as i32 >> 25) << 5) | ((w >> 7) & 0x1f) as i32)
}

/// B-type: imm[12|10:5|4:1|11] = inst[31|30:25|11:8|7].
fn imm_b(w: u32) -> i64 {
    let hi = (w as i32 >> 31) << 12;
    let lo = (((w >> 7) & 1) << 11) | (((w >> 25) & 0x3f) << 5) | (((w >> 8) & 0xf) << 1);
    i64::from(hi | lo as i32)
}

/// U-type: imm[31:12] = inst[31:12], low 12 bits zero.
fn imm_u(w: u32) -> i64 {
    i64::from((w & 0xffff_f000) as i32)
}

/// J-type: imm[20|10:1|11|19:12] = inst[31|30:21|20|19:12].
fn imm_j(w: u32) -> i64 {
    let hi = (w as i32 >> 31) << 20;
    let lo = (w & 0x000f_f000) | (((w >> 20) & 1) << 11) | (((w >> 21) & 0x3ff) << 1);
    i64::from(hi | lo as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(insn_len(0x0000), 2);
        assert_eq!(insn_len(0x0001), 2);
        assert_eq!(insn_len(0x0002), 2);
        assert_eq!(insn_len(0x0513), 4);
    }

    #[test]
    fn basic() {
        // addi a0,a0,1
        let i = decode(0x0015_0513);
        assert_eq!((i.op, i.rd, i.rs1, i.imm, i.len), (Op::Addi, 10, 10, 1, 4));
        // c.addi a0,1 expands to the same instruction
        assert_eq!(decode(0x0505), Insn { len: 2, ..i });
        // ld ra,8(sp)
        let i = decode(0x0081_3083);
        assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Ld, 1, 2, 8));
        // beq a0,a1,.-4096
        let i = decode(0x80b5_0063);
        assert_eq!((i.op, i.rs1, i.rs2, i.imm), (Op::Beq, 10, 11, -4096));
        // jal ra,.-1048576
        assert_eq!(decode(0x8000_00ef).imm, -1_048_576);
        // lui a0,0xfffff
        assert_eq!(decode(0xffff_f537).imm, -4096);
        // sd ra,-8(sp)
        let i = decode(0xfe11_3c23);
        assert_eq!((i.op, i.rs1, i.rs2, i.imm), (Op::Sd, 2, 1, -8));
    }

    #[test]
    fn illegal() {
        for w in [
            0x0000_0000u32, // c.unimp (all-zero halfword)
            0xffff_ffff,    // longer than 32 bits
            0x02a5_d553,    // fadd.d rm = 5
            0x02a5_e553,    // fadd.d rm = 6
            0x0205_951b,    // slliw shamt = 32
            0x1015_a52f,    // lr.w with rs2 != 0
            0x3020_0073,    // mret
        ] {
            assert_eq!(decode(w).op, Op::Illegal, "{w:#010x}");
        }
    }

    #[test]
    fn total_over_samples() {
        // Decoding never panics; a cheap sweep over a structured sample of all words.
        let mut x: u32 = 0x1234_5678;
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let i = decode(x);
            assert_eq!(i.len, insn_len(x as u16));
        }
    }
}
