//! Disassembly: GNU objdump syntax (`objdump -d -M no-aliases`), ABI register names.
//!
//! `Display` for [`Insn`] prints the canonical (non-alias) form, e.g. `addi a0,a0,1`,
//! `ld ra,8(sp)`, `fadd.d fa0,fa1,fa2,rtz`, with a single space where objdump puts a
//! tab. Compressed instructions print as the 32-bit instruction they expand to.
//! Branch and jump targets print relative to the instruction (`beq a0,a1,.+8`);
//! [`disasm`] prints them as absolute hex addresses like objdump (`beq a0,a1,10078`).
//!
//! Like binutils' opcode table, each [`Op`] maps to a mnemonic and an operand
//! template (see [`template`]), so the printing code is written once.
//!
//! Deliberate differences from binutils 2.40: `pause` (printed `fence w,unknown` by
//! binutils without Zihintpause) prints as `pause`; the widening conversions
//! `fcvt.d.s`/`fcvt.d.w`/`fcvt.d.wu` print a non-zero rounding mode (binutils 2.40
//! rejects those encodings; later versions print them the same way); an illegal
//! instruction prints as `illegal`, since [`Insn`] does not keep the raw bits.

use core::fmt;

use super::insn::{Insn, Op, RM_DYN};

/// ABI names of the integer registers.
pub const XREG: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// ABI names of the floating-point registers.
pub const FREG: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// Names of the static rounding modes (index = `rm`); 5 and 6 are reserved.
const RM_NAMES: [&str; 8] = [
    "rne", "rtz", "rdn", "rup", "rmm", "unknown", "unknown", "dyn",
];

impl fmt::Display for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_insn(f, self, None)
    }
}

/// Disassemble `insn`, located at `pc`: like `Display`, but branch and jump targets
/// are printed as absolute addresses (lowercase hex without `0x`, as objdump does).
pub fn disasm(insn: &Insn, pc: u64) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_insn(&mut s, insn, Some(pc));
    s
}

/// The mnemonic and operand template of `op`.
///
/// Template characters (after binutils' `riscv-opc.c`):
/// - `d` `s` `t`: integer `rd`, `rs1`, `rs2`; `D` `S` `T` `R`: FP `rd`, `rs1`, `rs2`, `rs3`;
/// - `j`: `imm` in decimal; `>`: `imm` in hex (shift amounts); `u`: `imm >> 12` in hex
///   (lui/auipc); `p`: the pc-relative target `pc + imm`;
/// - `E`: the CSR (by name when it has one); `Z`: the CSR uimm (decimal);
/// - `P` `Q`: fence predecessor and successor sets;
/// - `m`: `,rm` unless the rounding mode is dynamic; `M`: `,rm` unless it is `rne`
///   (widening conversions, which are exact);
/// - anything else (`,` `(` `)`) is printed as is.
///
/// Atomics also get an `.aq`/`.rl`/`.aqrl` suffix from `rm`.
pub fn template(op: Op) -> (&'static str, &'static str) {
    use Op::*;
    match op {
        Illegal => ("illegal", ""),
        Lui => ("lui", "d,u"),
        Auipc => ("auipc", "d,u"),
        Jal => ("jal", "d,p"),
        Jalr => ("jalr", "d,j(s)"),
        Beq => ("beq", "s,t,p"),
        Bne => ("bne", "s,t,p"),
        Blt => ("blt", "s,t,p"),
        Bge => ("bge", "s,t,p"),
        Bltu => ("bltu", "s,t,p"),
        Bgeu => ("bgeu", "s,t,p"),
        Lb => ("lb", "d,j(s)"),
        Lh => ("lh", "d,j(s)"),
        Lw => ("lw", "d,j(s)"),
        Ld => ("ld", "d,j(s)"),
        Lbu => ("lbu", "d,j(s)"),
        Lhu => ("lhu", "d,j(s)"),
        Lwu => ("lwu", "d,j(s)"),
        Sb => ("sb", "t,j(s)"),
        Sh => ("sh", "t,j(s)"),
        Sw => ("sw", "t,j(s)"),
        Sd => ("sd", "t,j(s)"),
        Addi => ("addi", "d,s,j"),
        Slti => ("slti", "d,s,j"),
        Sltiu => ("sltiu", "d,s,j"),
        Xori => ("xori", "d,s,j"),
        Ori => ("ori", "d,s,j"),
        Andi => ("andi", "d,s,j"),
        Slli => ("slli", "d,s,>"),
        Srli => ("srli", "d,s,>"),
        Srai => ("srai", "d,s,>"),
        Add => ("add", "d,s,t"),
        Sub => ("sub", "d,s,t"),
        Sll => ("sll", "d,s,t"),
        Slt => ("slt", "d,s,t"),
        Sltu => ("sltu", "d,s,t"),
        Xor => ("xor", "d,s,t"),
        Srl => ("srl", "d,s,t"),
        Sra => ("sra", "d,s,t"),
        Or => ("or", "d,s,t"),
        And => ("and", "d,s,t"),
        Addiw => ("addiw", "d,s,j"),
        Slliw => ("slliw", "d,s,>"),
        Srliw => ("srliw", "d,s,>"),
        Sraiw => ("sraiw", "d,s,>"),
        Addw => ("addw", "d,s,t"),
        Subw => ("subw", "d,s,t"),
        Sllw => ("sllw", "d,s,t"),
        Srlw => ("srlw", "d,s,t"),
        Sraw => ("sraw", "d,s,t"),
        Fence => ("fence", "P,Q"),
        Ecall => ("ecall", ""),
        Ebreak => ("ebreak", ""),
        FenceI => ("fence.i", ""),
        Csrrw => ("csrrw", "d,E,s"),
        Csrrs => ("csrrs", "d,E,s"),
        Csrrc => ("csrrc", "d,E,s"),
        Csrrwi => ("csrrwi", "d,E,Z"),
        Csrrsi => ("csrrsi", "d,E,Z"),
        Csrrci => ("csrrci", "d,E,Z"),
        Mul => ("mul", "d,s,t"),
        Mulh => ("mulh", "d,s,t"),
        Mulhsu => ("mulhsu", "d,s,t"),
        Mulhu => ("mulhu", "d,s,t"),
        Div => ("div", "d,s,t"),
        Divu => ("divu", "d,s,t"),
        Rem => ("rem", "d,s,t"),
        Remu => ("remu", "d,s,t"),
        Mulw => ("mulw", "d,s,t"),
        Divw => ("divw", "d,s,t"),
        Divuw => ("divuw", "d,s,t"),
        Remw => ("remw", "d,s,t"),
        Remuw => ("remuw", "d,s,t"),
        LrW => ("lr.w", "d,(s)"),
        ScW => ("sc.w", "d,t,(s)"),
        AmoswapW => ("amoswap.w", "d,t,(s)"),
        AmoaddW => ("amoadd.w", "d,t,(s)"),
        AmoxorW => ("amoxor.w", "d,t,(s)"),
        AmoandW => ("amoand.w", "d,t,(s)"),
        AmoorW => ("amoor.w", "d,t,(s)"),
        AmominW => ("amomin.w", "d,t,(s)"),
        AmomaxW => ("amomax.w", "d,t,(s)"),
        AmominuW => ("amominu.w", "d,t,(s)"),
        AmomaxuW => ("amomaxu.w", "d,t,(s)"),
        LrD => ("lr.d", "d,(s)"),
        ScD => ("sc.d", "d,t,(s)"),
        AmoswapD => ("amoswap.d", "d,t,(s)"),
        AmoaddD => ("amoadd.d", "d,t,(s)"),
        AmoxorD => ("amoxor.d", "d,t,(s)"),
        AmoandD => ("amoand.d", "d,t,(s)"),
        AmoorD => ("amoor.d", "d,t,(s)"),
        AmominD => ("amomin.d", "d,t,(s)"),
        AmomaxD => ("amomax.d", "d,t,(s)"),
        AmominuD => ("amominu.d", "d,t,(s)"),
        AmomaxuD => ("amomaxu.d", "d,t,(s)"),
        Flw => ("flw", "D,j(s)"),
        Fsw => ("fsw", "T,j(s)"),
        FmaddS => ("fmadd.s", "D,S,T,Rm"),
        FmsubS => ("fmsub.s", "D,S,T,Rm"),
        FnmsubS => ("fnmsub.s", "D,S,T,Rm"),
        FnmaddS => ("fnmadd.s", "D,S,T,Rm"),
        FaddS => ("fadd.s", "D,S,Tm"),
        FsubS => ("fsub.s", "D,S,Tm"),
        FmulS => ("fmul.s", "D,S,Tm"),
        FdivS => ("fdiv.s", "D,S,Tm"),
        FsqrtS => ("fsqrt.s", "D,Sm"),
        FsgnjS => ("fsgnj.s", "D,S,T"),
        FsgnjnS => ("fsgnjn.s", "D,S,T"),
        FsgnjxS => ("fsgnjx.s", "D,S,T"),
        FminS => ("fmin.s", "D,S,T"),
        FmaxS => ("fmax.s", "D,S,T"),
        FcvtWS => ("fcvt.w.s", "d,Sm"),
        FcvtWuS => ("fcvt.wu.s", "d,Sm"),
        FcvtLS => ("fcvt.l.s", "d,Sm"),
        FcvtLuS => ("fcvt.lu.s", "d,Sm"),
        FmvXW => ("fmv.x.w", "d,S"),
        FeqS => ("feq.s", "d,S,T"),
        FltS => ("flt.s", "d,S,T"),
        FleS => ("fle.s", "d,S,T"),
        FclassS => ("fclass.s", "d,S"),
        FcvtSW => ("fcvt.s.w", "D,sm"),
        FcvtSWu => ("fcvt.s.wu", "D,sm"),
        FcvtSL => ("fcvt.s.l", "D,sm"),
        FcvtSLu => ("fcvt.s.lu", "D,sm"),
        FmvWX => ("fmv.w.x", "D,s"),
        Fld => ("fld", "D,j(s)"),
        Fsd => ("fsd", "T,j(s)"),
        FmaddD => ("fmadd.d", "D,S,T,Rm"),
        FmsubD => ("fmsub.d", "D,S,T,Rm"),
        FnmsubD => ("fnmsub.d", "D,S,T,Rm"),
        FnmaddD => ("fnmadd.d", "D,S,T,Rm"),
        FaddD => ("fadd.d", "D,S,Tm"),
        FsubD => ("fsub.d", "D,S,Tm"),
        FmulD => ("fmul.d", "D,S,Tm"),
        FdivD => ("fdiv.d", "D,S,Tm"),
        FsqrtD => ("fsqrt.d", "D,Sm"),
        FsgnjD => ("fsgnj.d", "D,S,T"),
        FsgnjnD => ("fsgnjn.d", "D,S,T"),
        FsgnjxD => ("fsgnjx.d", "D,S,T"),
        FminD => ("fmin.d", "D,S,T"),
        FmaxD => ("fmax.d", "D,S,T"),
        FcvtSD => ("fcvt.s.d", "D,Sm"),
        FcvtDS => ("fcvt.d.s", "D,SM"),
        FcvtWD => ("fcvt.w.d", "d,Sm"),
        FcvtWuD => ("fcvt.wu.d", "d,Sm"),
        FcvtLD => ("fcvt.l.d", "d,Sm"),
        FcvtLuD => ("fcvt.lu.d", "d,Sm"),
        FmvXD => ("fmv.x.d", "d,S"),
        FeqD => ("feq.d", "d,S,T"),
        FltD => ("flt.d", "d,S,T"),
        FleD => ("fle.d", "d,S,T"),
        FclassD => ("fclass.d", "d,S"),
        FcvtDW => ("fcvt.d.w", "D,sM"),
        FcvtDWu => ("fcvt.d.wu", "D,sM"),
        FcvtDL => ("fcvt.d.l", "D,sm"),
        FcvtDLu => ("fcvt.d.lu", "D,sm"),
        FmvDX => ("fmv.d.x", "D,s"),
        AddUw => ("add.uw", "d,s,t"),
        Sh1add => ("sh1add", "d,s,t"),
        Sh2add => ("sh2add", "d,s,t"),
        Sh3add => ("sh3add", "d,s,t"),
        Sh1addUw => ("sh1add.uw", "d,s,t"),
        Sh2addUw => ("sh2add.uw", "d,s,t"),
        Sh3addUw => ("sh3add.uw", "d,s,t"),
        SlliUw => ("slli.uw", "d,s,>"),
        Andn => ("andn", "d,s,t"),
        Orn => ("orn", "d,s,t"),
        Xnor => ("xnor", "d,s,t"),
        Max => ("max", "d,s,t"),
        Maxu => ("maxu", "d,s,t"),
        Min => ("min", "d,s,t"),
        Minu => ("minu", "d,s,t"),
        Rol => ("rol", "d,s,t"),
        Rolw => ("rolw", "d,s,t"),
        Ror => ("ror", "d,s,t"),
        Rorw => ("rorw", "d,s,t"),
        Clz => ("clz", "d,s"),
        Clzw => ("clzw", "d,s"),
        Ctz => ("ctz", "d,s"),
        Ctzw => ("ctzw", "d,s"),
        Cpop => ("cpop", "d,s"),
        Cpopw => ("cpopw", "d,s"),
        SextB => ("sext.b", "d,s"),
        SextH => ("sext.h", "d,s"),
        ZextH => ("zext.h", "d,s"),
        OrcB => ("orc.b", "d,s"),
        Rev8 => ("rev8", "d,s"),
        Rori => ("rori", "d,s,>"),
        Roriw => ("roriw", "d,s,>"),
        Bclr => ("bclr", "d,s,t"),
        Bclri => ("bclri", "d,s,>"),
        Bext => ("bext", "d,s,t"),
        Bexti => ("bexti", "d,s,>"),
        Binv => ("binv", "d,s,t"),
        Binvi => ("binvi", "d,s,>"),
        Bset => ("bset", "d,s,t"),
        Bseti => ("bseti", "d,s,>"),
    }
}

fn write_insn(out: &mut impl fmt::Write, i: &Insn, pc: Option<u64>) -> fmt::Result {
    let (name, args) = match (i.op, i.imm, i.rm) {
        // fence with fm = TSO and rw,rw; pause is `fence w,0`.
        (Op::Fence, 8, 0x33) => ("fence.tso", ""),
        (Op::Fence, 0, 0x10) => ("pause", ""),
        (op, _, _) => template(op),
    };
    out.write_str(name)?;
    if is_atomic(i.op) {
        out.write_str(match i.rm & 3 {
            1 => ".rl",
            2 => ".aq",
            3 => ".aqrl",
            _ => "",
        })?;
    }
    if !args.is_empty() {
        out.write_char(' ')?;
    }
    let x = |r: u8| XREG[usize::from(r & 31)];
    let f = |r: u8| FREG[usize::from(r & 31)];
    for c in args.chars() {
        match c {
            'd' => out.write_str(x(i.rd))?,
            's' => out.write_str(x(i.rs1))?,
            't' => out.write_str(x(i.rs2))?,
            'D' => out.write_str(f(i.rd))?,
            'S' => out.write_str(f(i.rs1))?,
            'T' => out.write_str(f(i.rs2))?,
            'R' => out.write_str(f(i.rs3))?,
            'j' | 'Z' => write!(out, "{}", i.imm)?,
            '>' => write!(out, "{:#x}", i.imm)?,
            'u' => write!(out, "{:#x}", (i.imm >> 12) & 0xf_ffff)?,
            'p' => match pc {
                Some(pc) => write!(out, "{:x}", pc.wrapping_add(i.imm as u64))?,
                None if i.imm < 0 => write!(out, ".{}", i.imm)?,
                None => write!(out, ".+{}", i.imm)?,
            },
            'E' => match csr_name(i.csr) {
                Some(n) => out.write_str(n)?,
                None => write!(out, "{:#x}", i.csr)?,
            },
            'P' => write_fence_set(out, i.rm >> 4)?,
            'Q' => write_fence_set(out, i.rm & 15)?,
            'm' | 'M' => {
                let omit = if c == 'm' { RM_DYN } else { 0 };
                if i.rm != omit {
                    write!(out, ",{}", RM_NAMES[usize::from(i.rm & 7)])?;
                }
            }
            _ => out.write_char(c)?,
        }
    }
    Ok(())
}

/// Atomics, whose mnemonic carries the `aq`/`rl` bits.
fn is_atomic(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        LrW | ScW
            | AmoswapW
            | AmoaddW
            | AmoxorW
            | AmoandW
            | AmoorW
            | AmominW
            | AmomaxW
            | AmominuW
            | AmomaxuW
            | LrD
            | ScD
            | AmoswapD
            | AmoaddD
            | AmoxorD
            | AmoandD
            | AmoorD
            | AmominD
            | AmomaxD
            | AmominuD
            | AmomaxuD
    )
}

/// A fence predecessor/successor set, `iorw` order; objdump prints the empty set as
/// `unknown`.
fn write_fence_set(out: &mut impl fmt::Write, set: u8) -> fmt::Result {
    if set == 0 {
        return out.write_str("unknown");
    }
    for (bit, c) in [(8, 'i'), (4, 'o'), (2, 'r'), (1, 'w')] {
        if set & bit != 0 {
            out.write_char(c)?;
        }
    }
    Ok(())
}

/// The name binutils gives CSR `csr`, if any.
pub fn csr_name(csr: u16) -> Option<&'static str> {
    CSR_NAMES
        .binary_search_by_key(&csr, |&(n, _)| n)
        .ok()
        .map(|k| CSR_NAMES[k].1)
}

/// CSR names as binutils 2.40 prints them for objects built for privileged spec 1.11
/// (what GCC records in its output): all privilege levels and extensions, sorted by
/// number. (For objects without a priv-spec attribute binutils uses 1.12, which
/// renames a few supervisor/machine CSRs; the user-level ones are the same.)
const CSR_NAMES: &[(u16, &str)] = &[
    (0x000, "ustatus"),
    (0x001, "fflags"),
    (0x002, "frm"),
    (0x003, "fcsr"),
    (0x004, "uie"),
    (0x005, "utvec"),
    (0x008, "vstart"),
    (0x009, "vxsat"),
    (0x00a, "vxrm"),
    (0x00f, "vcsr"),
    (0x015, "seed"),
    (0x040, "uscratch"),
    (0x041, "uepc"),
    (0x042, "ucause"),
    (0x043, "utval"),
    (0x044, "uip"),
    (0x100, "sstatus"),
    (0x102, "sedeleg"),
    (0x103, "sideleg"),
    (0x104, "sie"),
    (0x105, "stvec"),
    (0x106, "scounteren"),
    (0x10c, "sstateen0"),
    (0x10d, "sstateen1"),
    (0x10e, "sstateen2"),
    (0x10f, "sstateen3"),
    (0x114, "sieh"),
    (0x140, "sscratch"),
    (0x141, "sepc"),
    (0x142, "scause"),
    (0x143, "stval"),
    (0x144, "sip"),
    (0x14d, "stimecmp"),
    (0x150, "siselect"),
    (0x151, "sireg"),
    (0x154, "siph"),
    (0x15c, "stopei"),
    (0x15d, "stimecmph"),
    (0x180, "satp"),
    (0x200, "vsstatus"),
    (0x204, "vsie"),
    (0x205, "vstvec"),
    (0x214, "vsieh"),
    (0x240, "vsscratch"),
    (0x241, "vsepc"),
    (0x242, "vscause"),
    (0x243, "vstval"),
    (0x244, "vsip"),
    (0x24d, "vstimecmp"),
    (0x250, "vsiselect"),
    (0x251, "vsireg"),
    (0x254, "vsiph"),
    (0x25c, "vstopei"),
    (0x25d, "vstimecmph"),
    (0x280, "vsatp"),
    (0x300, "mstatus"),
    (0x301, "misa"),
    (0x302, "medeleg"),
    (0x303, "mideleg"),
    (0x304, "mie"),
    (0x305, "mtvec"),
    (0x306, "mcounteren"),
    (0x308, "mvien"),
    (0x309, "mvip"),
    (0x30c, "mstateen0"),
    (0x30d, "mstateen1"),
    (0x30e, "mstateen2"),
    (0x30f, "mstateen3"),
    (0x313, "midelegh"),
    (0x314, "mieh"),
    (0x318, "mvienh"),
    (0x319, "mviph"),
    (0x31c, "mstateen0h"),
    (0x31d, "mstateen1h"),
    (0x31e, "mstateen2h"),
    (0x31f, "mstateen3h"),
    (0x320, "mcountinhibit"),
    (0x323, "mhpmevent3"),
    (0x324, "mhpmevent4"),
    (0x325, "mhpmevent5"),
    (0x326, "mhpmevent6"),
    (0x327, "mhpmevent7"),
    (0x328, "mhpmevent8"),
    (0x329, "mhpmevent9"),
    (0x32a, "mhpmevent10"),
    (0x32b, "mhpmevent11"),
    (0x32c, "mhpmevent12"),
    (0x32d, "mhpmevent13"),
    (0x32e, "mhpmevent14"),
    (0x32f, "mhpmevent15"),
    (0x330, "mhpmevent16"),
    (0x331, "mhpmevent17"),
    (0x332, "mhpmevent18"),
    (0x333, "mhpmevent19"),
    (0x334, "mhpmevent20"),
    (0x335, "mhpmevent21"),
    (0x336, "mhpmevent22"),
    (0x337, "mhpmevent23"),
    (0x338, "mhpmevent24"),
    (0x339, "mhpmevent25"),
    (0x33a, "mhpmevent26"),
    (0x33b, "mhpmevent27"),
    (0x33c, "mhpmevent28"),
    (0x33d, "mhpmevent29"),
    (0x33e, "mhpmevent30"),
    (0x33f, "mhpmevent31"),
    (0x340, "mscratch"),
    (0x341, "mepc"),
    (0x342, "mcause"),
    (0x343, "mtval"),
    (0x344, "mip"),
    (0x350, "miselect"),
    (0x351, "mireg"),
    (0x354, "miph"),
    (0x35c, "mtopei"),
    (0x3a0, "pmpcfg0"),
    (0x3a1, "pmpcfg1"),
    (0x3a2, "pmpcfg2"),
    (0x3a3, "pmpcfg3"),
    (0x3b0, "pmpaddr0"),
    (0x3b1, "pmpaddr1"),
    (0x3b2, "pmpaddr2"),
    (0x3b3, "pmpaddr3"),
    (0x3b4, "pmpaddr4"),
    (0x3b5, "pmpaddr5"),
    (0x3b6, "pmpaddr6"),
    (0x3b7, "pmpaddr7"),
    (0x3b8, "pmpaddr8"),
    (0x3b9, "pmpaddr9"),
    (0x3ba, "pmpaddr10"),
    (0x3bb, "pmpaddr11"),
    (0x3bc, "pmpaddr12"),
    (0x3bd, "pmpaddr13"),
    (0x3be, "pmpaddr14"),
    (0x3bf, "pmpaddr15"),
    (0x5a8, "scontext"),
    (0x600, "hstatus"),
    (0x602, "hedeleg"),
    (0x603, "hideleg"),
    (0x604, "hie"),
    (0x605, "htimedelta"),
    (0x606, "hcounteren"),
    (0x607, "hgeie"),
    (0x608, "hvien"),
    (0x609, "hvictl"),
    (0x60a, "henvcfg"),
    (0x60c, "hstateen0"),
    (0x60d, "hstateen1"),
    (0x60e, "hstateen2"),
    (0x60f, "hstateen3"),
    (0x613, "hidelegh"),
    (0x615, "htimedeltah"),
    (0x618, "hvienh"),
    (0x61a, "henvcfgh"),
    (0x61c, "hstateen0h"),
    (0x61d, "hstateen1h"),
    (0x61e, "hstateen2h"),
    (0x61f, "hstateen3h"),
    (0x643, "htval"),
    (0x644, "hip"),
    (0x645, "hvip"),
    (0x646, "hviprio1"),
    (0x647, "hviprio2"),
    (0x64a, "htinst"),
    (0x655, "hviph"),
    (0x656, "hviprio1h"),
    (0x657, "hviprio2h"),
    (0x680, "hgatp"),
    (0x6a8, "hcontext"),
    (0x723, "mhpmevent3h"),
    (0x724, "mhpmevent4h"),
    (0x725, "mhpmevent5h"),
    (0x726, "mhpmevent6h"),
    (0x727, "mhpmevent7h"),
    (0x728, "mhpmevent8h"),
    (0x729, "mhpmevent9h"),
    (0x72a, "mhpmevent10h"),
    (0x72b, "mhpmevent11h"),
    (0x72c, "mhpmevent12h"),
    (0x72d, "mhpmevent13h"),
    (0x72e, "mhpmevent14h"),
    (0x72f, "mhpmevent15h"),
    (0x730, "mhpmevent16h"),
    (0x731, "mhpmevent17h"),
    (0x732, "mhpmevent18h"),
    (0x733, "mhpmevent19h"),
    (0x734, "mhpmevent20h"),
    (0x735, "mhpmevent21h"),
    (0x736, "mhpmevent22h"),
    (0x737, "mhpmevent23h"),
    (0x738, "mhpmevent24h"),
    (0x739, "mhpmevent25h"),
    (0x73a, "mhpmevent26h"),
    (0x73b, "mhpmevent27h"),
    (0x73c, "mhpmevent28h"),
    (0x73d, "mhpmevent29h"),
    (0x73e, "mhpmevent30h"),
    (0x73f, "mhpmevent31h"),
    (0x7a0, "tselect"),
    (0x7a1, "tdata1"),
    (0x7a2, "tdata2"),
    (0x7a3, "tdata3"),
    (0x7a4, "tinfo"),
    (0x7a5, "tcontrol"),
    (0x7a8, "mcontext"),
    (0x7aa, "mscontext"),
    (0x7b0, "dcsr"),
    (0x7b1, "dpc"),
    (0x7b2, "dscratch0"),
    (0x7b3, "dscratch1"),
    (0xb00, "mcycle"),
    (0xb02, "minstret"),
    (0xb03, "mhpmcounter3"),
    (0xb04, "mhpmcounter4"),
    (0xb05, "mhpmcounter5"),
    (0xb06, "mhpmcounter6"),
    (0xb07, "mhpmcounter7"),
    (0xb08, "mhpmcounter8"),
    (0xb09, "mhpmcounter9"),
    (0xb0a, "mhpmcounter10"),
    (0xb0b, "mhpmcounter11"),
    (0xb0c, "mhpmcounter12"),
    (0xb0d, "mhpmcounter13"),
    (0xb0e, "mhpmcounter14"),
    (0xb0f, "mhpmcounter15"),
    (0xb10, "mhpmcounter16"),
    (0xb11, "mhpmcounter17"),
    (0xb12, "mhpmcounter18"),
    (0xb13, "mhpmcounter19"),
    (0xb14, "mhpmcounter20"),
    (0xb15, "mhpmcounter21"),
    (0xb16, "mhpmcounter22"),
    (0xb17, "mhpmcounter23"),
    (0xb18, "mhpmcounter24"),
    (0xb19, "mhpmcounter25"),
    (0xb1a, "mhpmcounter26"),
    (0xb1b, "mhpmcounter27"),
    (0xb1c, "mhpmcounter28"),
    (0xb1d, "mhpmcounter29"),
    (0xb1e, "mhpmcounter30"),
    (0xb1f, "mhpmcounter31"),
    (0xb80, "mcycleh"),
    (0xb82, "minstreth"),
    (0xb83, "mhpmcounter3h"),
    (0xb84, "mhpmcounter4h"),
    (0xb85, "mhpmcounter5h"),
    (0xb86, "mhpmcounter6h"),
    (0xb87, "mhpmcounter7h"),
    (0xb88, "mhpmcounter8h"),
    (0xb89, "mhpmcounter9h"),
    (0xb8a, "mhpmcounter10h"),
    (0xb8b, "mhpmcounter11h"),
    (0xb8c, "mhpmcounter12h"),
    (0xb8d, "mhpmcounter13h"),
    (0xb8e, "mhpmcounter14h"),
    (0xb8f, "mhpmcounter15h"),
    (0xb90, "mhpmcounter16h"),
    (0xb91, "mhpmcounter17h"),
    (0xb92, "mhpmcounter18h"),
    (0xb93, "mhpmcounter19h"),
    (0xb94, "mhpmcounter20h"),
    (0xb95, "mhpmcounter21h"),
    (0xb96, "mhpmcounter22h"),
    (0xb97, "mhpmcounter23h"),
    (0xb98, "mhpmcounter24h"),
    (0xb99, "mhpmcounter25h"),
    (0xb9a, "mhpmcounter26h"),
    (0xb9b, "mhpmcounter27h"),
    (0xb9c, "mhpmcounter28h"),
    (0xb9d, "mhpmcounter29h"),
    (0xb9e, "mhpmcounter30h"),
    (0xb9f, "mhpmcounter31h"),
    (0xc00, "cycle"),
    (0xc01, "time"),
    (0xc02, "instret"),
    (0xc03, "hpmcounter3"),
    (0xc04, "hpmcounter4"),
    (0xc05, "hpmcounter5"),
    (0xc06, "hpmcounter6"),
    (0xc07, "hpmcounter7"),
    (0xc08, "hpmcounter8"),
    (0xc09, "hpmcounter9"),
    (0xc0a, "hpmcounter10"),
    (0xc0b, "hpmcounter11"),
    (0xc0c, "hpmcounter12"),
    (0xc0d, "hpmcounter13"),
    (0xc0e, "hpmcounter14"),
    (0xc0f, "hpmcounter15"),
    (0xc10, "hpmcounter16"),
    (0xc11, "hpmcounter17"),
    (0xc12, "hpmcounter18"),
    (0xc13, "hpmcounter19"),
    (0xc14, "hpmcounter20"),
    (0xc15, "hpmcounter21"),
    (0xc16, "hpmcounter22"),
    (0xc17, "hpmcounter23"),
    (0xc18, "hpmcounter24"),
    (0xc19, "hpmcounter25"),
    (0xc1a, "hpmcounter26"),
    (0xc1b, "hpmcounter27"),
    (0xc1c, "hpmcounter28"),
    (0xc1d, "hpmcounter29"),
    (0xc1e, "hpmcounter30"),
    (0xc1f, "hpmcounter31"),
    (0xc20, "vl"),
    (0xc21, "vtype"),
    (0xc22, "vlenb"),
    (0xc80, "cycleh"),
    (0xc81, "timeh"),
    (0xc82, "instreth"),
    (0xc83, "hpmcounter3h"),
    (0xc84, "hpmcounter4h"),
    (0xc85, "hpmcounter5h"),
    (0xc86, "hpmcounter6h"),
    (0xc87, "hpmcounter7h"),
    (0xc88, "hpmcounter8h"),
    (0xc89, "hpmcounter9h"),
    (0xc8a, "hpmcounter10h"),
    (0xc8b, "hpmcounter11h"),
    (0xc8c, "hpmcounter12h"),
    (0xc8d, "hpmcounter13h"),
    (0xc8e, "hpmcounter14h"),
    (0xc8f, "hpmcounter15h"),
    (0xc90, "hpmcounter16h"),
    (0xc91, "hpmcounter17h"),
    (0xc92, "hpmcounter18h"),
    (0xc93, "hpmcounter19h"),
    (0xc94, "hpmcounter20h"),
    (0xc95, "hpmcounter21h"),
    (0xc96, "hpmcounter22h"),
    (0xc97, "hpmcounter23h"),
    (0xc98, "hpmcounter24h"),
    (0xc99, "hpmcounter25h"),
    (0xc9a, "hpmcounter26h"),
    (0xc9b, "hpmcounter27h"),
    (0xc9c, "hpmcounter28h"),
    (0xc9d, "hpmcounter29h"),
    (0xc9e, "hpmcounter30h"),
    (0xc9f, "hpmcounter31h"),
    (0xda0, "scountovf"),
    (0xdb0, "stopi"),
    (0xe12, "hgeip"),
    (0xeb0, "vstopi"),
    (0xf11, "mvendorid"),
    (0xf12, "marchid"),
    (0xf13, "mimpid"),
    (0xf14, "mhartid"),
    (0xfb0, "mtopi"),
];
