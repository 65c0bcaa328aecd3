//! The A64 decoder: a table of encoding patterns, one line per instruction group,
//! first match wins (the ARM ARM's encoding index, restricted to what user-space
//! Linux programs built by GCC and glibc execute).
//!
//! Each pattern is 32 characters, most significant bit first: `0`/`1` must match,
//! anything else is a field. The decoder classifies; [`super::exec`] reads the fields
//! from the raw word and rejects unallocated sub-encodings (SIGILL). The classification
//! is cross-checked against `aarch64-linux-gnu-objdump` on real binaries
//! (`lifter/tests/a64_objdump.rs`).

use std::sync::OnceLock;

/// Instruction groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    // ---- data processing (immediate) ----
    Adr,
    AddSubImm,
    LogImm,
    MovWide,
    Bitfield,
    Extr,
    // ---- branches, exceptions, system ----
    BCond,
    Svc,
    Brk,
    Hint,
    Clrex,
    Barrier,
    Sys,
    Mrs,
    Msr,
    BrReg,
    B,
    Cbz,
    Tbz,
    // ---- loads and stores ----
    LdStExcl,
    Cas,
    Casp,
    LdLit,
    LdStPair,
    LdStImm9,
    LdStReg,
    LdStAtomic,
    LdStUImm,
    VLdStMulti,
    VLdStSingle,
    // ---- data processing (register) ----
    LogShifted,
    AddSubShifted,
    AddSubExt,
    AddSubCarry,
    CondCmp,
    CondSel,
    Dp2,
    Dp1,
    Dp3,
    // ---- scalar floating point ----
    FpDp1,
    FpCmp,
    FpImm,
    FpCondCmp,
    FpDp2,
    FpCondSel,
    FpDp3,
    FpInt,
    FpFixed,
    // ---- Advanced SIMD ----
    V3Same,
    V3Diff,
    V2Misc,
    VAcross,
    VCopy,
    VModImm,
    VShiftImm,
    VPermute,
    VExt,
    VTbl,
    VScalarPair,
    VScalarShift,
    VScalar3Same,
    VScalar2Misc,
    VScalarCopy,
    VByElem,
    /// No pattern matched.
    Illegal,
}

/// A decoded instruction: the raw word and its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub raw: u32,
    pub op: Op,
}

/// The encoding table (see the module documentation for the pattern syntax).
const TABLE: &[(&str, Op)] = &[
    // data processing, immediate
    ("xxx10000xxxxxxxxxxxxxxxxxxxxxxxx", Op::Adr),
    ("xxx100010xxxxxxxxxxxxxxxxxxxxxxx", Op::AddSubImm),
    ("xxx100100xxxxxxxxxxxxxxxxxxxxxxx", Op::LogImm),
    ("xxx100101xxxxxxxxxxxxxxxxxxxxxxx", Op::MovWide),
    ("xxx100110xxxxxxxxxxxxxxxxxxxxxxx", Op::Bitfield),
    ("x00100111x0xxxxxxxxxxxxxxxxxxxxx", Op::Extr),
    // branches, exception generation, system
    ("01010100xxxxxxxxxxxxxxxxxxx0xxxx", Op::BCond),
    ("11010100000xxxxxxxxxxxxxxxx00001", Op::Svc),
    ("11010100001xxxxxxxxxxxxxxxx00000", Op::Brk),
    ("11010101000000110010xxxxxxx11111", Op::Hint),
    ("11010101000000110011xxxx01011111", Op::Clrex),
    ("11010101000000110011xxxx1xx11111", Op::Barrier),
    ("1101010100001xxxxxxxxxxxxxxxxxxx", Op::Sys),
    ("1101010100111xxxxxxxxxxxxxxxxxxx", Op::Mrs),
    ("1101010100011xxxxxxxxxxxxxxxxxxx", Op::Msr),
    ("1101011000011111000000xxxxx00000", Op::BrReg),
    ("1101011000111111000000xxxxx00000", Op::BrReg),
    ("1101011001011111000000xxxxx00000", Op::BrReg),
    ("x00101xxxxxxxxxxxxxxxxxxxxxxxxxx", Op::B),
    ("x011010xxxxxxxxxxxxxxxxxxxxxxxxx", Op::Cbz),
    ("x011011xxxxxxxxxxxxxxxxxxxxxxxxx", Op::Tbz),
    // loads and stores
    ("xx0010001x1xxxxxx11111xxxxxxxxxx", Op::Cas),
    ("0x0010000x1xxxxxx11111xxxxxxxxxx", Op::Casp),
    ("xx001000xxxxxxxxxxxxxxxxxxxxxxxx", Op::LdStExcl),
    ("xx011x00xxxxxxxxxxxxxxxxxxxxxxxx", Op::LdLit),
    ("xx101x0xxxxxxxxxxxxxxxxxxxxxxxxx", Op::LdStPair),
    ("xx111x00xx0xxxxxxxxxxxxxxxxxxxxx", Op::LdStImm9),
    ("xx111x00xx1xxxxxxxxx10xxxxxxxxxx", Op::LdStReg),
    ("xx111x00xx1xxxxxxxxx00xxxxxxxxxx", Op::LdStAtomic),
    ("xx111x01xxxxxxxxxxxxxxxxxxxxxxxx", Op::LdStUImm),
    ("0x0011000x000000xxxxxxxxxxxxxxxx", Op::VLdStMulti),
    ("0x0011001x0xxxxxxxxxxxxxxxxxxxxx", Op::VLdStMulti),
    ("0x0011010xx00000xxxxxxxxxxxxxxxx", Op::VLdStSingle),
    ("0x0011011xxxxxxxxxxxxxxxxxxxxxxx", Op::VLdStSingle),
    // data processing, register
    ("xxx01010xxxxxxxxxxxxxxxxxxxxxxxx", Op::LogShifted),
    ("xxx01011xx0xxxxxxxxxxxxxxxxxxxxx", Op::AddSubShifted),
    ("xxx01011001xxxxxxxxxxxxxxxxxxxxx", Op::AddSubExt),
    ("xxx11010000xxxxx000000xxxxxxxxxx", Op::AddSubCarry),
    ("xx111010010xxxxxxxxxx0xxxxx0xxxx", Op::CondCmp),
    ("xx011010100xxxxxxxxx0xxxxxxxxxxx", Op::CondSel),
    ("x0011010110xxxxxxxxxxxxxxxxxxxxx", Op::Dp2),
    ("x101101011000000xxxxxxxxxxxxxxxx", Op::Dp1),
    ("xxx11011xxxxxxxxxxxxxxxxxxxxxxxx", Op::Dp3),
    // scalar floating point
    ("00011110xx1xxxxxx10000xxxxxxxxxx", Op::FpDp1),
    ("00011110xx1xxxxxxx1000xxxxxxxxxx", Op::FpCmp),
    ("00011110xx1xxxxxxxx100xxxxxxxxxx", Op::FpImm),
    ("00011110xx1xxxxxxxxx01xxxxxxxxxx", Op::FpCondCmp),
    ("00011110xx1xxxxxxxxx10xxxxxxxxxx", Op::FpDp2),
    ("00011110xx1xxxxxxxxx11xxxxxxxxxx", Op::FpCondSel),
    ("00011111xxxxxxxxxxxxxxxxxxxxxxxx", Op::FpDp3),
    ("x0011110xx1xxxxx000000xxxxxxxxxx", Op::FpInt),
    ("x0011110xx0xxxxxxxxxxxxxxxxxxxxx", Op::FpFixed),
    // Advanced SIMD
    ("0xx01110xx1xxxxxxxxxx1xxxxxxxxxx", Op::V3Same),
    ("0xx01110xx1xxxxxxxxx00xxxxxxxxxx", Op::V3Diff),
    ("0xx01110xx10000xxxxx10xxxxxxxxxx", Op::V2Misc),
    ("0xx01110xx11000xxxxx10xxxxxxxxxx", Op::VAcross),
    ("0xx01110000xxxxx0xxxx1xxxxxxxxxx", Op::VCopy),
    ("0xx0111100000xxxxxxxx1xxxxxxxxxx", Op::VModImm),
    ("0xx011110xxxxxxxxxxxx1xxxxxxxxxx", Op::VShiftImm),
    ("0x001110xx0xxxxx0xxx10xxxxxxxxxx", Op::VPermute),
    ("0x101110000xxxxx0xxxx0xxxxxxxxxx", Op::VExt),
    ("0x001110000xxxxx0xxx00xxxxxxxxxx", Op::VTbl),
    ("01x11110xx11000xxxxx10xxxxxxxxxx", Op::VScalarPair),
    ("01x111110xxxxxxxxxxxx1xxxxxxxxxx", Op::VScalarShift),
    ("01x11110xx1xxxxxxxxxx1xxxxxxxxxx", Op::VScalar3Same),
    ("01x11110xx10000xxxxx10xxxxxxxxxx", Op::VScalar2Misc),
    ("01x11110000xxxxx0xxxx1xxxxxxxxxx", Op::VScalarCopy),
    ("0xx01111xxxxxxxxxxxxx0xxxxxxxxxx", Op::VByElem),
];

struct Compiled {
    /// (mask, value, op) in table order, except that more specific patterns (more fixed
    /// bits) come first so that a group never shadows a sub-group.
    rows: Vec<(u32, u32, Op)>,
}

fn compiled() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| {
        let mut rows: Vec<(u32, u32, Op)> = TABLE
            .iter()
            .map(|(pat, op)| {
                debug_assert_eq!(pat.len(), 32, "{pat}");
                let (mut mask, mut val) = (0u32, 0u32);
                for (i, c) in pat.bytes().enumerate() {
                    let bit = 1u32 << (31 - i);
                    match c {
                        b'0' => mask |= bit,
                        b'1' => {
                            mask |= bit;
                            val |= bit
                        }
                        _ => {}
                    }
                }
                (mask, val, *op)
            })
            .collect();
        // Stable: equally specific rows keep table order.
        rows.sort_by_key(|(m, _, _)| std::cmp::Reverse(m.count_ones()));
        Compiled { rows }
    })
}

/// Classify one instruction word.
pub fn decode(raw: u32) -> Insn {
    let op = compiled()
        .rows
        .iter()
        .find(|(m, v, _)| raw & m == *v)
        .map_or(Op::Illegal, |r| r.2);
    Insn { raw, op }
}

/// How an instruction affects control flow (for block formation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Next,
    /// Conditional branch (`b.cond`, `cbz`, `tbz`, ...) to `target`.
    Branch(u64),
    /// `b`.
    Jump(u64),
    /// `bl`.
    Call(u64),
    /// `ret`.
    Return,
    /// `br`.
    IndirectJump,
    /// `blr`.
    IndirectCall,
    /// `svc #0`.
    Syscall,
    /// `brk`, `udf`, unallocated encodings.
    Stop,
}

fn sext(v: u32, bits: u32) -> i64 {
    ((v as i64) << (64 - bits)) >> (64 - bits)
}

/// The control-flow class of `i` at `pc`.
pub fn flow(i: &Insn, pc: u64) -> Flow {
    let r = i.raw;
    let rel = |off: i64| pc.wrapping_add((off * 4) as u64);
    match i.op {
        Op::BCond => Flow::Branch(rel(sext((r >> 5) & 0x7ffff, 19))),
        Op::Cbz => Flow::Branch(rel(sext((r >> 5) & 0x7ffff, 19))),
        Op::Tbz => Flow::Branch(rel(sext((r >> 5) & 0x3fff, 14))),
        Op::B if r >> 31 == 0 => Flow::Jump(rel(sext(r & 0x3ff_ffff, 26))),
        Op::B => Flow::Call(rel(sext(r & 0x3ff_ffff, 26))),
        Op::BrReg => match (r >> 21) & 3 {
            0 => Flow::IndirectJump,
            1 => Flow::IndirectCall,
            _ => Flow::Return,
        },
        Op::Svc => Flow::Syscall,
        Op::Brk | Op::Illegal => Flow::Stop,
        _ => Flow::Next,
    }
}
