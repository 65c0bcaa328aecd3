//! The decoded form of a RISC-V instruction.
//!
//! The decoder ([`super::decode`]) turns 16- and 32-bit encodings into [`Insn`];
//! compressed instructions are expanded to the 32-bit instruction they stand for
//! (with `len == 2`). Semantics ([`super::exec`]) match on [`Op`].

/// One decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    pub op: Op,
    pub rd: u8,
    pub rs1: u8,
    pub rs2: u8,
    pub rs3: u8,
    /// Sign-extended immediate (I/S/B/U/J forms), shift amount for shift-immediates,
    /// zero-extended `uimm` for `csrr*i` (also kept in `rs1`).
    pub imm: i64,
    /// CSR number for Zicsr instructions.
    pub csr: u16,
    /// FP: the `rm` field (0..=4 static, 7 dynamic). Atomics: `aq << 1 | rl`.
    /// Fence: `pred << 4 | succ`.
    pub rm: u8,
    /// Encoded length in bytes: 2 (compressed) or 4.
    pub len: u8,
}

impl Insn {
    /// An instruction with all operand fields zero.
    pub const fn new(op: Op, len: u8) -> Self {
        Insn {
            op,
            rd: 0,
            rs1: 0,
            rs2: 0,
            rs3: 0,
            imm: 0,
            csr: 0,
            rm: 0,
            len,
        }
    }
}

/// Dynamic rounding mode encoding in the `rm` field.
pub const RM_DYN: u8 = 7;

/// Well-known CSR numbers visible to user mode.
pub mod csr {
    pub const FFLAGS: u16 = 0x001;
    pub const FRM: u16 = 0x002;
    pub const FCSR: u16 = 0x003;
    pub const CYCLE: u16 = 0xC00;
    pub const TIME: u16 = 0xC01;
    pub const INSTRET: u16 = 0xC02;
}

macro_rules! ops {
    ($( $(#[$m:meta])* $ext:ident : [ $($op:ident),* $(,)? ] )*) => {
        /// Every operation vmx knows, grouped by extension.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Op {
            $( $($op,)* )*
        }

        impl Op {
            /// Every operation, in declaration order (for coverage tests).
            pub const ALL: &'static [Op] = &[ $( $(Op::$op,)* )* ];

            /// The extension an operation belongs to.
            pub fn ext(self) -> Ext {
                match self {
                    $( $(Op::$op)|* => Ext::$ext, )*
                }
            }
        }

        /// Instruction-set extensions (and `Invalid` for [`Op::Illegal`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Ext {
            $( $ext, )*
        }
    };
}

ops! {
    /// Not a valid instruction (raises SIGILL when executed).
    Invalid: [Illegal]
    I: [
        Lui, Auipc, Jal, Jalr, Beq, Bne, Blt, Bge, Bltu, Bgeu,
        Lb, Lh, Lw, Ld, Lbu, Lhu, Lwu, Sb, Sh, Sw, Sd,
        Addi, Slti, Sltiu, Xori, Ori, Andi, Slli, Srli, Srai,
        Add, Sub, Sll, Slt, Sltu, Xor, Srl, Sra, Or, And,
        Addiw, Slliw, Srliw, Sraiw, Addw, Subw, Sllw, Srlw, Sraw,
        Fence, Ecall, Ebreak,
    ]
    Zifencei: [FenceI]
    Zicsr: [Csrrw, Csrrs, Csrrc, Csrrwi, Csrrsi, Csrrci]
    M: [
        Mul, Mulh, Mulhsu, Mulhu, Div, Divu, Rem, Remu,
        Mulw, Divw, Divuw, Remw, Remuw,
    ]
    A: [
        LrW, ScW, AmoswapW, AmoaddW, AmoxorW, AmoandW, AmoorW,
        AmominW, AmomaxW, AmominuW, AmomaxuW,
        LrD, ScD, AmoswapD, AmoaddD, AmoxorD, AmoandD, AmoorD,
        AmominD, AmomaxD, AmominuD, AmomaxuD,
    ]
    F: [
        Flw, Fsw, FmaddS, FmsubS, FnmsubS, FnmaddS,
        FaddS, FsubS, FmulS, FdivS, FsqrtS, FsgnjS, FsgnjnS, FsgnjxS, FminS, FmaxS,
        FcvtWS, FcvtWuS, FcvtLS, FcvtLuS, FmvXW, FeqS, FltS, FleS, FclassS,
        FcvtSW, FcvtSWu, FcvtSL, FcvtSLu, FmvWX,
    ]
    D: [
        Fld, Fsd, FmaddD, FmsubD, FnmsubD, FnmaddD,
        FaddD, FsubD, FmulD, FdivD, FsqrtD, FsgnjD, FsgnjnD, FsgnjxD, FminD, FmaxD,
        FcvtSD, FcvtDS,
        FcvtWD, FcvtWuD, FcvtLD, FcvtLuD, FmvXD, FeqD, FltD, FleD, FclassD,
        FcvtDW, FcvtDWu, FcvtDL, FcvtDLu, FmvDX,
    ]
    Zba: [AddUw, Sh1add, Sh2add, Sh3add, Sh1addUw, Sh2addUw, Sh3addUw, SlliUw]
    Zbb: [
        Andn, Orn, Xnor, Clz, Clzw, Ctz, Ctzw, Cpop, Cpopw,
        Max, Maxu, Min, Minu, SextB, SextH, ZextH,
        Rol, Rolw, Ror, Rori, Roriw, Rorw, OrcB, Rev8,
    ]
    Zbs: [Bclr, Bclri, Bext, Bexti, Binv, Binvi, Bset, Bseti]
}
