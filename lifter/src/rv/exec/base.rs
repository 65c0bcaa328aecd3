//! RV64I, Zicsr and Zifencei.

use super::{addr, sext32};
use crate::rv::insn::{csr, Insn, Op};
use crate::sem::{Cmp, Sem, Trap};

pub(super) fn exec<S: Sem>(s: &mut S, i: &Insn) {
    use Op::*;
    let pc = s.pc();
    let next = pc.wrapping_add(i.len as u64);
    match i.op {
        Lui => {
            let v = s.imm(i.imm as u64);
            s.set_xreg(i.rd, v);
        }
        Auipc => {
            let v = s.imm(pc.wrapping_add(i.imm as u64));
            s.set_xreg(i.rd, v);
        }
        Jal => {
            let link = s.imm(next);
            let target = s.imm(pc.wrapping_add(i.imm as u64));
            s.set_xreg(i.rd, link);
            s.jump(target);
        }
        Jalr => {
            // Compute the target before writing rd: rd may equal rs1.
            let t = addr(s, i.rs1, i.imm);
            let mask = s.imm(!1);
            let target = s.and(t, mask);
            let link = s.imm(next);
            s.set_xreg(i.rd, link);
            s.jump(target);
        }
        Beq | Bne | Blt | Bge | Bltu | Bgeu => {
            let op = match i.op {
                Beq => Cmp::Eq,
                Bne => Cmp::Ne,
                Blt => Cmp::Lt,
                Bge => Cmp::Ge,
                Bltu => Cmp::Ltu,
                _ => Cmp::Geu,
            };
            let a = s.xreg(i.rs1);
            let b = s.xreg(i.rs2);
            let c = s.cmp(op, a, b);
            s.branch(c, pc.wrapping_add(i.imm as u64));
        }
        Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => {
            let (size, signed) = match i.op {
                Lb => (1, true),
                Lh => (2, true),
                Lw => (4, true),
                Ld => (8, false),
                Lbu => (1, false),
                Lhu => (2, false),
                _ => (4, false),
            };
            let a = addr(s, i.rs1, i.imm);
            let mut v = s.load(a, size);
            if signed {
                v = s.sext(v, size * 8);
            }
            s.set_xreg(i.rd, v);
        }
        Sb | Sh | Sw | Sd => {
            let size = match i.op {
                Sb => 1,
                Sh => 2,
                Sw => 4,
                _ => 8,
            };
            let a = addr(s, i.rs1, i.imm);
            let v = s.xreg(i.rs2);
            s.store(a, v, size);
        }
        Addi | Slti | Sltiu | Xori | Ori | Andi => {
            let a = s.xreg(i.rs1);
            let b = s.imm(i.imm as u64);
            let v = alu(s, i.op, a, b);
            s.set_xreg(i.rd, v);
        }
        Add | Sub | Slt | Sltu | Xor | Or | And => {
            let a = s.xreg(i.rs1);
            let b = s.xreg(i.rs2);
            let v = alu(s, i.op, a, b);
            s.set_xreg(i.rd, v);
        }
        Slli | Srli | Srai => {
            let a = s.xreg(i.rs1);
            let sh = s.imm(i.imm as u64 & 63);
            let v = shift(s, i.op, a, sh);
            s.set_xreg(i.rd, v);
        }
        Sll | Srl | Sra => {
            let a = s.xreg(i.rs1);
            let b = s.xreg(i.rs2);
            let m = s.imm(63);
            let sh = s.and(b, m);
            let v = shift(s, i.op, a, sh);
            s.set_xreg(i.rd, v);
        }
        Addiw => {
            let a = s.xreg(i.rs1);
            let b = s.imm(i.imm as u64);
            let v = s.add(a, b);
            let v = sext32(s, v);
            s.set_xreg(i.rd, v);
        }
        Addw | Subw => {
            let a = s.xreg(i.rs1);
            let b = s.xreg(i.rs2);
            let v = if i.op == Addw {
                s.add(a, b)
            } else {
                s.sub(a, b)
            };
            let v = sext32(s, v);
            s.set_xreg(i.rd, v);
        }
        Slliw | Srliw | Sraiw => {
            let a = s.xreg(i.rs1);
            let sh = s.imm(i.imm as u64 & 31);
            let v = shift_w(s, i.op, a, sh);
            s.set_xreg(i.rd, v);
        }
        Sllw | Srlw | Sraw => {
            let a = s.xreg(i.rs1);
            let b = s.xreg(i.rs2);
            let m = s.imm(31);
            let sh = s.and(b, m);
            let v = shift_w(s, i.op, a, sh);
            s.set_xreg(i.rd, v);
        }
        Fence => s.fence(),
        FenceI => s.fence_i(),
        Ecall => s.trap(Trap::Syscall),
        Ebreak => s.trap(Trap::Breakpoint),
        Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci => csr_op(s, i),
        _ => s.trap(Trap::Illegal),
    }
}

fn alu<S: Sem>(s: &mut S, op: Op, a: S::I, b: S::I) -> S::I {
    use Op::*;
    match op {
        Addi | Add => s.add(a, b),
        Sub => s.sub(a, b),
        Slti | Slt => {
            let c = s.cmp(Cmp::Lt, a, b);
            s.bool_to_int(c)
        }
        Sltiu | Sltu => {
            let c = s.cmp(Cmp::Ltu, a, b);
            s.bool_to_int(c)
        }
        Xori | Xor => s.xor(a, b),
        Ori | Or => s.or(a, b),
        _ => s.and(a, b),
    }
}

fn shift<S: Sem>(s: &mut S, op: Op, a: S::I, sh: S::I) -> S::I {
    match op {
        Op::Slli | Op::Sll => s.shl(a, sh),
        Op::Srli | Op::Srl => s.lshr(a, sh),
        _ => s.ashr(a, sh),
    }
}

/// 32-bit shifts: operate on the low word, sign-extend the result.
fn shift_w<S: Sem>(s: &mut S, op: Op, a: S::I, sh: S::I) -> S::I {
    let v = match op {
        Op::Slliw | Op::Sllw => s.shl(a, sh),
        Op::Srliw | Op::Srlw => {
            let a = s.zext(a, 32);
            s.lshr(a, sh)
        }
        _ => {
            let a = s.sext(a, 32);
            s.ashr(a, sh)
        }
    };
    sext32(s, v)
}

/// Read a user CSR, deriving `fflags` and `frm` from `fcsr`.
pub(crate) fn read_csr<S: Sem>(s: &mut S, n: u16) -> Option<S::I> {
    match n {
        csr::FFLAGS | csr::FRM | csr::FCSR => {
            let fcsr = s.csr_read(csr::FCSR)?;
            // The accrued flags: what fcsr holds plus what the host raised since.
            let fcsr = if n == csr::FRM {
                fcsr
            } else {
                let host = s.host_fflags(false);
                s.or(fcsr, host)
            };
            Some(match n {
                csr::FFLAGS => {
                    let m = s.imm(0x1f);
                    s.and(fcsr, m)
                }
                csr::FRM => {
                    let five = s.imm(5);
                    let v = s.lshr(fcsr, five);
                    let m = s.imm(7);
                    s.and(v, m)
                }
                _ => {
                    let m = s.imm(0xff);
                    s.and(fcsr, m)
                }
            })
        }
        _ => s.csr_read(n),
    }
}

fn write_csr<S: Sem>(s: &mut S, n: u16, v: S::I) -> bool {
    let (mask, shift) = match n {
        csr::FFLAGS => (0x1f, 0),
        csr::FRM => (0xe0, 5),
        csr::FCSR => (0xff, 0),
        _ => return false,
    };
    let Some(old) = s.csr_read(csr::FCSR) else {
        return false;
    };
    if n != csr::FRM {
        // The flags are replaced: drop the ones the host accrued.
        s.host_fflags(true);
    }
    let keep = s.imm(!mask & 0xff);
    let old = s.and(old, keep);
    let sh = s.imm(shift);
    let v = s.shl(v, sh);
    let m = s.imm(mask);
    let v = s.and(v, m);
    let new = s.or(old, v);
    s.csr_write(csr::FCSR, new)
}

fn csr_op<S: Sem>(s: &mut S, i: &Insn) {
    use Op::*;
    let src = match i.op {
        Csrrw | Csrrs | Csrrc => s.xreg(i.rs1),
        _ => s.imm(i.rs1 as u64),
    };
    // csrrs/csrrc with rs1 = x0 (or uimm 0) only read; csrrw with rd = x0 only writes.
    let writes = matches!(i.op, Csrrw | Csrrwi) || i.rs1 != 0;
    let Some(old) = read_csr(s, i.csr) else {
        return s.trap(Trap::Illegal);
    };
    if writes {
        let new = match i.op {
            Csrrw | Csrrwi => src,
            Csrrs | Csrrsi => s.or(old, src),
            _ => {
                let all = s.imm(u64::MAX);
                let inv = s.xor(src, all);
                s.and(old, inv)
            }
        };
        if !write_csr(s, i.csr, new) {
            return s.trap(Trap::Illegal);
        }
    }
    s.set_xreg(i.rd, old);
}
