//! Zba (address generation), Zbb (basic bit manipulation), Zbs (single-bit operations).

use super::sext32;
use crate::rv::insn::{Insn, Op};
use crate::sem::{Cmp, Sem};

pub(super) fn exec<S: Sem>(s: &mut S, i: &Insn) {
    use Op::*;
    let a = s.xreg(i.rs1);
    let b = match i.op {
        Rori | Roriw | Bclri | Bexti | Binvi | Bseti | SlliUw => s.imm(i.imm as u64),
        _ => s.xreg(i.rs2),
    };
    let v = match i.op {
        AddUw => {
            let a = s.zext(a, 32);
            s.add(a, b)
        }
        Sh1add | Sh2add | Sh3add | Sh1addUw | Sh2addUw | Sh3addUw => {
            let n = match i.op {
                Sh1add | Sh1addUw => 1,
                Sh2add | Sh2addUw => 2,
                _ => 3,
            };
            let a = if matches!(i.op, Sh1addUw | Sh2addUw | Sh3addUw) {
                s.zext(a, 32)
            } else {
                a
            };
            let n = s.imm(n);
            let sh = s.shl(a, n);
            s.add(sh, b)
        }
        SlliUw => {
            let a = s.zext(a, 32);
            s.shl(a, b)
        }
        Andn | Orn | Xnor => {
            let all = s.imm(u64::MAX);
            let nb = s.xor(b, all);
            match i.op {
                Andn => s.and(a, nb),
                Orn => s.or(a, nb),
                _ => s.xor(a, nb),
            }
        }
        Clz => s.clz(a, 64),
        Clzw => s.clz(a, 32),
        Ctz => s.ctz(a, 64),
        Ctzw => s.ctz(a, 32),
        Cpop => s.popcount(a),
        Cpopw => {
            let a = s.zext(a, 32);
            s.popcount(a)
        }
        Max | Maxu | Min | Minu => {
            let op = if matches!(i.op, Max | Min) {
                Cmp::Lt
            } else {
                Cmp::Ltu
            };
            let lt = s.cmp(op, a, b);
            if matches!(i.op, Min | Minu) {
                s.select(lt, a, b)
            } else {
                s.select(lt, b, a)
            }
        }
        SextB => s.sext(a, 8),
        SextH => s.sext(a, 16),
        ZextH => s.zext(a, 16),
        Rol | Ror | Rori => {
            let m = s.imm(63);
            let sh = s.and(b, m);
            let zero = s.imm(0);
            let neg = s.sub(zero, sh);
            let back = s.and(neg, m);
            if i.op == Rol {
                let l = s.shl(a, sh);
                let r = s.lshr(a, back);
                s.or(l, r)
            } else {
                let r = s.lshr(a, sh);
                let l = s.shl(a, back);
                s.or(l, r)
            }
        }
        Rolw | Rorw | Roriw => {
            let x = s.zext(a, 32);
            let m = s.imm(31);
            let sh = s.and(b, m);
            let zero = s.imm(0);
            let neg = s.sub(zero, sh);
            let back = s.and(neg, m);
            let (l, r) = if i.op == Rolw {
                (s.shl(x, sh), s.lshr(x, back))
            } else {
                (s.shl(x, back), s.lshr(x, sh))
            };
            let v = s.or(l, r);
            sext32(s, v)
        }
        OrcB => {
            let zero = s.imm(0);
            let mut v = s.imm(0);
            for k in 0..8u64 {
                let sh = s.imm(8 * k);
                let byte = s.lshr(a, sh);
                let byte = s.zext(byte, 8);
                let nz = s.cmp(Cmp::Ne, byte, zero);
                let ones = s.imm(0xff << (8 * k));
                let part = s.select(nz, ones, zero);
                v = s.or(v, part);
            }
            v
        }
        Rev8 => s.bswap(a),
        Bclr | Bclri | Bext | Bexti | Binv | Binvi | Bset | Bseti => {
            let m = s.imm(63);
            let sh = s.and(b, m);
            match i.op {
                Bext | Bexti => {
                    let v = s.lshr(a, sh);
                    let one = s.imm(1);
                    s.and(v, one)
                }
                _ => {
                    let one = s.imm(1);
                    let bit = s.shl(one, sh);
                    match i.op {
                        Bclr | Bclri => {
                            let all = s.imm(u64::MAX);
                            let nbit = s.xor(bit, all);
                            s.and(a, nbit)
                        }
                        Binv | Binvi => s.xor(a, bit),
                        _ => s.or(a, bit),
                    }
                }
            }
        }
        _ => unreachable_op(s, i),
    };
    s.set_xreg(i.rd, v);
}

/// Only reachable if the extension table and this match disagree; behave as SIGILL.
fn unreachable_op<S: Sem>(s: &mut S, _i: &Insn) -> S::I {
    s.trap(crate::sem::Trap::Illegal);
    s.imm(0)
}
