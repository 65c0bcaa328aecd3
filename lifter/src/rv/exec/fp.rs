//! F and D: single and double precision floating point.
//!
//! Values live in the 64-bit `f` registers as raw bits; a single-precision value is
//! NaN-boxed (upper 32 bits all ones) and an improperly boxed input reads as the
//! canonical NaN. Every arithmetic result that is a NaN becomes the canonical NaN.
//!
//! Not modelled yet: accrued exception flags (`fflags` reads what software wrote) and
//! static/dynamic rounding modes other than round-to-nearest-even for arithmetic
//! (conversions to integer honour every rounding mode).

use super::{addr, base::read_csr, sext32};
use crate::rv::insn::{csr, Insn, Op, RM_DYN};
use crate::sem::{Cmp, FBin, FCmp, Round, Sem, Trap, FW};

const BOX: u64 = 0xffff_ffff_0000_0000;

pub(super) fn exec<S: Sem>(s: &mut S, i: &Insn) {
    use Op::*;
    let w = width(i.op);
    match i.op {
        Flw | Fld => {
            let a = addr(s, i.rs1, i.imm);
            let v = s.load(a, w.bits() / 8);
            write_f(s, i.rd, w, v);
        }
        Fsw | Fsd => {
            let a = addr(s, i.rs1, i.imm);
            let v = s.freg(i.rs2);
            s.store(a, v, w.bits() / 8);
        }
        FaddS | FaddD | FsubS | FsubD | FmulS | FmulD | FdivS | FdivD => {
            let op = match i.op {
                FaddS | FaddD => FBin::Add,
                FsubS | FsubD => FBin::Sub,
                FmulS | FmulD => FBin::Mul,
                _ => FBin::Div,
            };
            let a = read_f(s, i.rs1, w);
            let b = read_f(s, i.rs2, w);
            let v = s.fbin(op, w, a, b);
            let v = canonicalize(s, w, v);
            write_f(s, i.rd, w, v);
        }
        FsqrtS | FsqrtD => {
            let a = read_f(s, i.rs1, w);
            let v = s.fsqrt(w, a);
            let v = canonicalize(s, w, v);
            write_f(s, i.rd, w, v);
        }
        FmaddS | FmaddD | FmsubS | FmsubD | FnmsubS | FnmsubD | FnmaddS | FnmaddD => {
            let mut a = read_f(s, i.rs1, w);
            let b = read_f(s, i.rs2, w);
            let mut c = read_f(s, i.rs3, w);
            // fmsub: a*b-c; fnmsub: -(a*b)+c; fnmadd: -(a*b)-c.
            if matches!(i.op, FnmsubS | FnmsubD | FnmaddS | FnmaddD) {
                a = negate(s, w, a);
            }
            if matches!(i.op, FmsubS | FmsubD | FnmaddS | FnmaddD) {
                c = negate(s, w, c);
            }
            let v = s.ffma(w, a, b, c);
            let v = canonicalize(s, w, v);
            write_f(s, i.rd, w, v);
        }
        FsgnjS | FsgnjD | FsgnjnS | FsgnjnD | FsgnjxS | FsgnjxD => {
            let a = read_f(s, i.rs1, w);
            let b = read_f(s, i.rs2, w);
            let sign = s.imm(w.sign_bit());
            let magnitude_mask = s.imm(!w.sign_bit() & mask(w));
            let v = match i.op {
                FsgnjxS | FsgnjxD => {
                    let bs = s.and(b, sign);
                    s.xor(a, bs)
                }
                _ => {
                    let mag = s.and(a, magnitude_mask);
                    let b = if matches!(i.op, FsgnjnS | FsgnjnD) {
                        let all = s.imm(u64::MAX);
                        s.xor(b, all)
                    } else {
                        b
                    };
                    let bs = s.and(b, sign);
                    s.or(mag, bs)
                }
            };
            write_f(s, i.rd, w, v);
        }
        FminS | FminD | FmaxS | FmaxD => {
            let a = read_f(s, i.rs1, w);
            let b = read_f(s, i.rs2, w);
            let v = min_max(s, w, a, b, matches!(i.op, FmaxS | FmaxD));
            write_f(s, i.rd, w, v);
        }
        FeqS | FeqD | FltS | FltD | FleS | FleD => {
            let op = match i.op {
                FeqS | FeqD => FCmp::Eq,
                FltS | FltD => FCmp::Lt,
                _ => FCmp::Le,
            };
            let a = read_f(s, i.rs1, w);
            let b = read_f(s, i.rs2, w);
            let c = s.fcmp(op, w, a, b);
            let v = s.bool_to_int(c);
            s.set_xreg(i.rd, v);
        }
        FclassS | FclassD => {
            let a = read_f(s, i.rs1, w);
            let v = classify(s, w, a);
            s.set_xreg(i.rd, v);
        }
        FcvtWS | FcvtWD | FcvtWuS | FcvtWuD | FcvtLS | FcvtLD | FcvtLuS | FcvtLuD => {
            let (bits, signed) = match i.op {
                FcvtWS | FcvtWD => (32, true),
                FcvtWuS | FcvtWuD => (32, false),
                FcvtLS | FcvtLD => (64, true),
                _ => (64, false),
            };
            let a = read_f(s, i.rs1, w);
            let Some(r) = round_to_integral(s, w, a, i.rm) else {
                return s.trap(Trap::Illegal);
            };
            let v = s.fcvt_to_int(w, r, bits, signed);
            // NaN converts to the largest value of the destination type.
            let max = match (bits, signed) {
                (32, true) => i32::MAX as u64,
                (32, false) => u32::MAX as u64,
                (_, true) => i64::MAX as u64,
                _ => u64::MAX,
            };
            let is_nan = s.fcmp(FCmp::Uno, w, a, a);
            let max = s.imm(max);
            let v = s.select(is_nan, max, v);
            // 32-bit results, signed or not, are sign-extended into the register.
            let v = if bits == 32 { sext32(s, v) } else { v };
            s.set_xreg(i.rd, v);
        }
        FcvtSW | FcvtDW | FcvtSWu | FcvtDWu | FcvtSL | FcvtDL | FcvtSLu | FcvtDLu => {
            let (bits, signed) = match i.op {
                FcvtSW | FcvtDW => (32, true),
                FcvtSWu | FcvtDWu => (32, false),
                FcvtSL | FcvtDL => (64, true),
                _ => (64, false),
            };
            let a = s.xreg(i.rs1);
            let v = s.fcvt_from_int(w, a, bits, signed);
            write_f(s, i.rd, w, v);
        }
        FcvtSD => {
            let a = read_f(s, i.rs1, FW::D);
            let v = s.fcvt_float(FW::D, FW::S, a);
            let v = canonicalize(s, FW::S, v);
            write_f(s, i.rd, FW::S, v);
        }
        FcvtDS => {
            let a = read_f(s, i.rs1, FW::S);
            let v = s.fcvt_float(FW::S, FW::D, a);
            let v = canonicalize(s, FW::D, v);
            write_f(s, i.rd, FW::D, v);
        }
        FmvXW => {
            let v = s.freg(i.rs1);
            let v = sext32(s, v);
            s.set_xreg(i.rd, v);
        }
        FmvXD => {
            let v = s.freg(i.rs1);
            s.set_xreg(i.rd, v);
        }
        FmvWX => {
            let v = s.xreg(i.rs1);
            write_f(s, i.rd, FW::S, v);
        }
        FmvDX => {
            let v = s.xreg(i.rs1);
            s.set_freg(i.rd, v);
        }
        _ => s.trap(Trap::Illegal),
    }
}

/// The precision an F/D operation works in (the destination's, for conversions).
fn width(op: Op) -> FW {
    use Op::*;
    match op {
        Flw | Fsw | FmaddS | FmsubS | FnmsubS | FnmaddS | FaddS | FsubS | FmulS | FdivS
        | FsqrtS | FsgnjS | FsgnjnS | FsgnjxS | FminS | FmaxS | FcvtWS | FcvtWuS | FcvtLS
        | FcvtLuS | FmvXW | FeqS | FltS | FleS | FclassS | FcvtSW | FcvtSWu | FcvtSL | FcvtSLu
        | FmvWX | FcvtSD => FW::S,
        _ => FW::D,
    }
}

fn mask(w: FW) -> u64 {
    match w {
        FW::S => 0xffff_ffff,
        FW::D => u64::MAX,
    }
}

/// Read an f register as a value of width `w` (unboxing singles).
fn read_f<S: Sem>(s: &mut S, r: u8, w: FW) -> S::I {
    let v = s.freg(r);
    match w {
        FW::D => v,
        FW::S => {
            let box_bits = s.imm(BOX);
            let hi = s.and(v, box_bits);
            let boxed = s.cmp(Cmp::Eq, hi, box_bits);
            let lo = s.zext(v, 32);
            let nan = s.imm(FW::S.canonical_nan());
            s.select(boxed, lo, nan)
        }
    }
}

/// Write a value of width `w` to an f register (NaN-boxing singles).
fn write_f<S: Sem>(s: &mut S, r: u8, w: FW, v: S::I) {
    let v = match w {
        FW::D => v,
        FW::S => {
            let lo = s.zext(v, 32);
            let box_bits = s.imm(BOX);
            s.or(lo, box_bits)
        }
    };
    s.set_freg(r, v);
}

fn negate<S: Sem>(s: &mut S, w: FW, v: S::I) -> S::I {
    let sign = s.imm(w.sign_bit());
    s.xor(v, sign)
}

/// Replace any NaN by the canonical NaN.
fn canonicalize<S: Sem>(s: &mut S, w: FW, v: S::I) -> S::I {
    let is_nan = s.fcmp(FCmp::Uno, w, v, v);
    let nan = s.imm(w.canonical_nan());
    s.select(is_nan, nan, v)
}

/// fmin/fmax (RISC-V 2.2+): a NaN operand yields the other operand, two NaNs the
/// canonical NaN, and -0 is smaller than +0.
fn min_max<S: Sem>(s: &mut S, w: FW, a: S::I, b: S::I, max: bool) -> S::I {
    let a_nan = s.fcmp(FCmp::Uno, w, a, a);
    let b_nan = s.fcmp(FCmp::Uno, w, b, b);
    let pick_a = if max {
        s.fcmp(FCmp::Lt, w, b, a)
    } else {
        s.fcmp(FCmp::Lt, w, a, b)
    };
    let mut v = s.select(pick_a, a, b);
    // Both zeros (of any sign): min ORs the sign bits, max ANDs them.
    let either = s.or(a, b);
    let magnitude = s.imm(!w.sign_bit() & mask(w));
    let mag = s.and(either, magnitude);
    let zero = s.imm(0);
    let both_zero = s.cmp(Cmp::Eq, mag, zero);
    let zeros = if max { s.and(a, b) } else { either };
    v = s.select(both_zero, zeros, v);
    v = s.select(b_nan, a, v);
    v = s.select(a_nan, b, v);
    let both_nan = s.bool_and(a_nan, b_nan);
    let nan = s.imm(w.canonical_nan());
    s.select(both_nan, nan, v)
}

/// fclass: a one-hot mask of the operand's class.
fn classify<S: Sem>(s: &mut S, w: FW, v: S::I) -> S::I {
    let (mant_bits, exp_mask) = match w {
        FW::S => (23u64, 0xffu64),
        FW::D => (52, 0x7ff),
    };
    let sh = s.imm(mant_bits);
    let e = s.lshr(v, sh);
    let em = s.imm(exp_mask);
    let exp = s.and(e, em);
    let mm = s.imm((1u64 << mant_bits) - 1);
    let mant = s.and(v, mm);
    let sign_bit = s.imm(w.sign_bit());
    let sign = s.and(v, sign_bit);
    let zero = s.imm(0);
    let neg = s.cmp(Cmp::Ne, sign, zero);
    let exp_zero = s.cmp(Cmp::Eq, exp, zero);
    let exp_max = s.cmp(Cmp::Eq, exp, em);
    let mant_zero = s.cmp(Cmp::Eq, mant, zero);
    let quiet_bit = s.imm(1u64 << (mant_bits - 1));
    let q = s.and(mant, quiet_bit);
    let quiet = s.cmp(Cmp::Ne, q, zero);

    // class index: 0 -inf, 1 -normal, 2 -subnormal, 3 -0, 4 +0, 5 +subnormal,
    // 6 +normal, 7 +inf, 8 sNaN, 9 qNaN. Start from "normal" and override.
    let pos_neg = |s: &mut S, pos: u64, negv: u64| {
        let p = s.imm(1 << pos);
        let n = s.imm(1 << negv);
        s.select(neg, n, p)
    };
    let normal = pos_neg(s, 6, 1);
    let sub = pos_neg(s, 5, 2);
    let zer = pos_neg(s, 4, 3);
    let inf = pos_neg(s, 7, 0);
    let qnan = s.imm(1 << 9);
    let snan = s.imm(1 << 8);
    let nan = s.select(quiet, qnan, snan);
    let at_zero_exp = s.select(mant_zero, zer, sub);
    let at_max_exp = s.select(mant_zero, inf, nan);
    let v = s.select(exp_zero, at_zero_exp, normal);
    s.select(exp_max, at_max_exp, v)
}

/// Round to an integral value in the instruction's rounding mode (`rm`), reading
/// `frm` for the dynamic mode. `None` for a reserved static mode.
fn round_to_integral<S: Sem>(s: &mut S, w: FW, a: S::I, rm: u8) -> Option<S::I> {
    if rm != RM_DYN {
        let mode = Round::from_bits(rm as u64)?;
        return Some(s.fround(w, a, mode));
    }
    let frm = read_csr(s, csr::FRM)?;
    let mut v = s.fround(w, a, Round::Rne);
    for (n, mode) in Round::ALL.iter().enumerate().skip(1) {
        let r = s.fround(w, a, *mode);
        let k = s.imm(n as u64);
        let is = s.cmp(Cmp::Eq, frm, k);
        v = s.select(is, r, v);
    }
    Some(v)
}
