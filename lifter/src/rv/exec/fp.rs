//! F and D: single and double precision floating point.
//!
//! Values live in the 64-bit `f` registers as raw bits; a single-precision value is
//! NaN-boxed (upper 32 bits all ones) and an improperly boxed input reads as the
//! canonical NaN. Every arithmetic result that is a NaN becomes the canonical NaN.
//!
//! # Rounding modes
//!
//! Every operation honours its rounding mode: the static `rm` field or, for `rm` = DYN,
//! `frm` in `fcsr`. The backends only provide round-to-nearest-even primitives (the
//! host's), so the other modes are derived here, once, for both engines:
//!
//! 1. describe the exact result `x` relative to a nearby representable `r` (an
//!    [`Exact`]): `x - r = e + t` with error terms that are themselves computed exactly
//!    with host RNE operations: TwoSum for sums, `fma(a, b, -p)` for products, the
//!    remainder `fma(-q, b, a)` for quotients, `fma(-r, r, a)` for square roots, and for
//!    single precision the operation carried out in double precision (exact for
//!    products and conversions, with an exact error term otherwise) then narrowed;
//! 2. [`locate`] where `x` lies: above or below `r`, exactly halfway to the
//!    neighbour, or beyond halfway (only possible after a double rounding);
//! 3. [`pick`] `r` or its neighbour one ulp away (integer steps on the bits, so ±0,
//!    subnormals, max-finite and infinities fall out) for the mode.
//!
//! Results that underflow are handled by scaling the operands by a power of two into
//! the range where the error terms are exact, and measuring the error on the scaled
//! subnormal grid. Overflow rounds to infinity or to max-finite as the mode says.
//!
//! Round-to-nearest-even costs nothing extra: a static RNE operation is the host
//! operation alone, and a dynamic one is `frm == 0 ? host op : exact path` with the
//! exact path laid out as cold code ([`Sem::if_else`]).
//!
//! Known gaps:
//! - Double-precision FMA results in or near the subnormal range rely on ErrFma staying
//!   exact on the 2^-1074 grid after scaling; this is checked by randomized tests
//!   against an exact model (`runtime/tests/fp_rounding.rs`), not proven.
//! - `frm` values 5..7 are reserved: a dynamic-rounding instruction traps as illegal
//!   before any of this runs.
//!
//! Conversions to integer honour every rounding mode through [`Sem::fround`].
//!
//! # Exception flags
//!
//! The accrued flags are the host FPU's (see [`Sem::host_fflags`]): the primitives an
//! instruction is made of raise exactly its IEEE flags when rounding to nearest-even, so
//! nothing is computed for them on the hot path. Three cases are patched up here:
//! - the directed roundings, whose exact-path arithmetic raises flags of its own: they
//!   are dropped and the operation is repeated on the host in the instruction's mode
//!   for its flags ([`Sem::fraise`]; overflow and tininess depend on the mode);
//! - conversions to integers: invalid when the rounded value does not fit (NaN
//!   included), inexact otherwise when rounding changed the value;
//! - `flt`/`fle` are signalling comparisons, `feq`, `fmin`/`fmax` quiet ones.

use super::{addr, base::read_csr, sext32};
use crate::rv::insn::{csr, Insn, Op, RM_DYN};
use crate::sem::{fflag, Cmp, FBin, FCmp, FOp, Round, Sem, Trap, FW};

const BOX: u64 = 0xffff_ffff_0000_0000;

pub(super) fn exec<S: Sem>(s: &mut S, i: &Insn) {
    use Op::*;
    let w = width(i.op);
    if i.rm == RM_DYN && has_rm_field(i.op) {
        // A dynamic rounding mode while `frm` holds a reserved value (5..7) makes the
        // instruction illegal.
        let Some(frm) = read_csr(s, csr::FRM) else {
            return s.trap(Trap::Illegal);
        };
        let five = s.imm(5);
        let reserved = s.cmp(Cmp::Geu, frm, five);
        s.trap_if(reserved, Trap::Illegal);
    }
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
            let rne = move |s: &mut S| s.fbin(op, w, a, b);
            let exact = move |s: &mut S| exact_bin(s, op, w, a, b);
            let raise = (fop(op), w, [a, b, a]);
            let Some(v) = rounded(s, i.rm, rne, exact, raise) else {
                return s.trap(Trap::Illegal);
            };
            let v = canonicalize(s, w, v);
            write_f(s, i.rd, w, v);
        }
        FsqrtS | FsqrtD => {
            let a = read_f(s, i.rs1, w);
            let rne = move |s: &mut S| s.fsqrt(w, a);
            let exact = move |s: &mut S| exact_sqrt(s, w, a);
            let Some(v) = rounded(s, i.rm, rne, exact, (FOp::Sqrt, w, [a, a, a])) else {
                return s.trap(Trap::Illegal);
            };
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
            let rne = move |s: &mut S| s.ffma(w, a, b, c);
            let exact = move |s: &mut S| exact_fma(s, w, a, b, c);
            let Some(v) = rounded(s, i.rm, rne, exact, (FOp::Fma, w, [a, b, c])) else {
                return s.trap(Trap::Illegal);
            };
            fma_invalid_product(s, w, a, b, c);
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
            // feq is a quiet comparison, flt and fle signalling ones.
            let op = match i.op {
                FeqS | FeqD => FCmp::Eq,
                FltS | FltD => FCmp::SigLt,
                _ => FCmp::SigLe,
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
            let (bits, signed) = int_type(i.op);
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
            // Invalid when the rounded value does not fit (NaN included), else inexact
            // when rounding changed it; never both.
            let fits = fits_int(s, w, r, bits, signed);
            let same = s.fcmp(FCmp::Eq, w, r, a);
            let nv = s.imm(fflag::NV);
            let nx = s.imm(fflag::NX);
            let zero = s.imm(0);
            let inexact = s.select(same, zero, nx);
            let flags = s.select(fits, inexact, nv);
            accrue(s, flags);
            // 32-bit results, signed or not, are sign-extended into the register.
            let v = if bits == 32 { sext32(s, v) } else { v };
            s.set_xreg(i.rd, v);
        }
        FcvtSW | FcvtDW | FcvtSWu | FcvtDWu | FcvtSL | FcvtDL | FcvtSLu | FcvtDLu => {
            let (bits, signed) = int_type(i.op);
            let a = s.xreg(i.rs1);
            let rne = move |s: &mut S| s.fcvt_from_int(w, a, bits, signed);
            let v = if w == FW::D && bits == 32 {
                // Every 32-bit integer is a double: no rounding.
                rne(s)
            } else {
                let exact = move |s: &mut S| exact_from_int(s, w, a, bits, signed);
                let raise = (FOp::FromInt { bits, signed }, w, [a, a, a]);
                let Some(v) = rounded(s, i.rm, rne, exact, raise) else {
                    return s.trap(Trap::Illegal);
                };
                v
            };
            write_f(s, i.rd, w, v);
        }
        FcvtSD => {
            let a = read_f(s, i.rs1, FW::D);
            let rne = move |s: &mut S| s.fcvt_float(FW::D, FW::S, a);
            let exact = move |s: &mut S| narrow(s, a, None, None);
            let Some(v) = rounded(s, i.rm, rne, exact, (FOp::Narrow, FW::S, [a, a, a])) else {
                return s.trap(Trap::Illegal);
            };
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

/// The integer side of a float<->integer conversion: (width in bits, signed).
fn int_type(op: Op) -> (u32, bool) {
    use Op::*;
    match op {
        FcvtWS | FcvtWD | FcvtSW | FcvtDW => (32, true),
        FcvtWuS | FcvtWuD | FcvtSWu | FcvtDWu => (32, false),
        FcvtLS | FcvtLD | FcvtSL | FcvtDL => (64, true),
        _ => (64, false),
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

/// GCC's quiet comparison (`isless`, `islessequal`, and the NaN checks before `sqrt`)
/// under its default `-ftrapping-math`: `frflags t; flt/fle r, a, b; fsflags t`. The
/// flags end as they began, so a backend may run the three as one ([`quiet_compare`])
/// instead of reading, raising and restoring the host's flags.
pub fn is_quiet_compare(read: &Insn, cmp: &Insn, restore: &Insn) -> bool {
    let t = read.rd;
    read.op == Op::Csrrs
        && read.csr == csr::FFLAGS
        && read.rs1 == 0
        && t != 0
        && matches!(cmp.op, Op::FltS | Op::FltD | Op::FleS | Op::FleD)
        && cmp.rd != t
        && restore.op == Op::Csrrw
        && restore.csr == csr::FFLAGS
        && restore.rs1 == t
        && restore.rd == 0
}

/// The effect of an [`is_quiet_compare`] sequence: `t` gets the flags, `r` the ordered
/// comparison, computed on the bits without touching the flags.
pub fn quiet_compare<S: Sem>(s: &mut S, read: &Insn, cmp: &Insn) {
    let Some(flags) = read_csr(s, csr::FFLAGS) else {
        return s.trap(Trap::Illegal);
    };
    s.set_xreg(read.rd, flags);
    let w = width(cmp.op);
    let a = read_f(s, cmp.rs1, w);
    let b = read_f(s, cmp.rs2, w);
    let or_equal = matches!(cmp.op, Op::FleS | Op::FleD);
    let v = silent_less(s, w, a, b, or_equal);
    let v = s.bool_to_int(v);
    s.set_xreg(cmp.rd, v);
}

/// `a < b` (or `a <= b`), false for NaNs, from the bits alone: no flags raised.
fn silent_less<S: Sem>(s: &mut S, w: FW, a: S::I, b: S::I, or_equal: bool) -> S::B {
    let inf = match w {
        FW::S => 0x7f80_0000,
        FW::D => 0x7ff0_0000_0000_0000,
    };
    let ma = magnitude(s, w, a);
    let mb = magnitude(s, w, b);
    let inf = s.imm(inf);
    let a_nan = s.cmp(Cmp::Ltu, inf, ma);
    let b_nan = s.cmp(Cmp::Ltu, inf, mb);
    let nan = s.bool_or(a_nan, b_nan);
    // Order-preserving keys: negative values get their magnitude bits flipped, then the
    // keys compare as signed integers (-0 just below +0: zeros are handled apart).
    let key = |s: &mut S, v: S::I, m: S::I| {
        let v = s.sext(v, w.bits());
        let neg = s.cmp(Cmp::Ne, v, m);
        let magnitude_bits = s.imm(!w.sign_bit() & mask(w));
        let flipped = s.xor(v, magnitude_bits);
        s.select(neg, flipped, v)
    };
    let ka = key(s, a, ma);
    let kb = key(s, b, mb);
    let less = s.cmp(Cmp::Lt, ka, kb);
    let both = s.or(ma, mb);
    let zero = s.imm(0);
    let zeros = s.cmp(Cmp::Eq, both, zero);
    let result = if or_equal {
        let eq = s.cmp(Cmp::Eq, ka, kb);
        let le = s.bool_or(less, eq);
        s.bool_or(le, zeros)
    } else {
        // Two zeros are equal, not less.
        let z = s.bool_to_int(zeros);
        let not_zeros = s.cmp(Cmp::Eq, z, zero);
        s.bool_and(less, not_zeros)
    };
    let r = s.bool_to_int(result);
    let n = s.bool_to_int(nan);
    let ordered = s.cmp(Cmp::Eq, n, zero);
    let r1 = s.cmp(Cmp::Ne, r, zero);
    s.bool_and(r1, ordered)
}

/// RISC-V raises invalid for `inf * 0 + c` even when `c` is a quiet NaN (IEEE leaves
/// that case open; x86 does not raise it): add the flag then.
fn fma_invalid_product<S: Sem>(s: &mut S, w: FW, a: S::I, b: S::I, c: S::I) {
    let c_nan = s.fcmp(FCmp::Uno, w, c, c);
    let cold = move |s: &mut S| {
        let inf_bits = match w {
            FW::S => 0x7f80_0000,
            FW::D => 0x7ff0_0000_0000_0000,
        };
        let ma = magnitude(s, w, a);
        let mb = magnitude(s, w, b);
        let inf = s.imm(inf_bits);
        let zero = s.imm(0);
        let a_inf = s.cmp(Cmp::Eq, ma, inf);
        let b_inf = s.cmp(Cmp::Eq, mb, inf);
        let a_zero = s.cmp(Cmp::Eq, ma, zero);
        let b_zero = s.cmp(Cmp::Eq, mb, zero);
        let ab = s.bool_and(a_inf, b_zero);
        let ba = s.bool_and(b_inf, a_zero);
        let invalid = s.bool_or(ab, ba);
        let nv = s.imm(fflag::NV);
        let flags = s.select(invalid, nv, zero);
        accrue(s, flags);
        zero
    };
    s.if_else(c_nan, cold, |s| s.imm(0));
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

/// Whether the integral value `r` (or NaN) fits an integer of `bits` bits: false for
/// NaN. The bounds are powers of two, exact in both widths.
fn fits_int<S: Sem>(s: &mut S, w: FW, r: S::I, bits: u32, signed: bool) -> S::B {
    let (lo, lo_inclusive, hi) = crate::sem::int_range(bits, signed);
    let bits_of = |v: f64| match w {
        FW::S => (v as f32).to_bits() as u64,
        FW::D => v.to_bits(),
    };
    let lo = s.imm(bits_of(lo));
    let hi = s.imm(bits_of(hi));
    let above_lo = if lo_inclusive {
        s.fcmp(FCmp::Le, w, lo, r)
    } else {
        s.fcmp(FCmp::Lt, w, lo, r)
    };
    let below_hi = s.fcmp(FCmp::Lt, w, r, hi);
    s.bool_and(above_lo, below_hi)
}

/// Whether the encoding of `op` has a rounding-mode field (else `rm` holds other bits).
fn has_rm_field(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        FaddS
            | FaddD
            | FsubS
            | FsubD
            | FmulS
            | FmulD
            | FdivS
            | FdivD
            | FsqrtS
            | FsqrtD
            | FmaddS
            | FmaddD
            | FmsubS
            | FmsubD
            | FnmsubS
            | FnmsubD
            | FnmaddS
            | FnmaddD
            | FcvtWS
            | FcvtWD
            | FcvtWuS
            | FcvtWuD
            | FcvtLS
            | FcvtLD
            | FcvtLuS
            | FcvtLuD
            | FcvtSW
            | FcvtDW
            | FcvtSWu
            | FcvtDWu
            | FcvtSL
            | FcvtDL
            | FcvtSLu
            | FcvtDLu
            | FcvtSD
            | FcvtDS
    )
}

// ---- rounding modes other than round-to-nearest-even (see the module doc) ----

/// The operation [`Sem::fraise`] repeats for the exception flags of a directed rounding.
type Raise<I> = (FOp, FW, [I; 3]);

fn fop(op: FBin) -> FOp {
    match op {
        FBin::Add => FOp::Add,
        FBin::Sub => FOp::Sub,
        FBin::Mul => FOp::Mul,
        FBin::Div => FOp::Div,
    }
}

/// Add `flags` to the accrued exception flags (backends without `fcsr` ignore them).
fn accrue<S: Sem>(s: &mut S, flags: S::I) {
    if let Some(fcsr) = s.csr_read(csr::FCSR) {
        let v = s.or(fcsr, flags);
        s.csr_write(csr::FCSR, v);
    }
}

/// Round with the instruction's mode: `rne` is the host operation (round to nearest,
/// ties to even); `exact` describes the exact result for the other modes, whose flags
/// `raise` repeats on the host. `None` for a reserved static mode.
fn rounded<S, R, X>(s: &mut S, rm: u8, rne: R, exact: X, raise: Raise<S::I>) -> Option<S::I>
where
    S: Sem,
    R: Fn(&mut S) -> S::I + Copy,
    X: Fn(&mut S) -> Exact<S::I> + Copy,
{
    if rm != RM_DYN {
        let mode = Round::from_bits(rm as u64)?;
        if mode == Round::Rne {
            return Some(rne(s));
        }
        let frm = s.imm(rm as u64);
        return Some(with_mode_flags(s, frm, raise, |s| {
            let x = exact(s);
            let c = locate(s, &x);
            pick(s, &x, &c, mode, x.r)
        }));
    }
    let frm = read_csr(s, csr::FRM)?;
    Some(rounded_dyn(s, frm, rne, exact, raise))
}

/// [`rounded`] in the dynamic mode `frm` (a value: 0 RNE, 1 RTZ, 2 RDN, 3 RUP, 4 RMM).
fn rounded_dyn<S, R, X>(s: &mut S, frm: S::I, rne: R, exact: X, raise: Raise<S::I>) -> S::I
where
    S: Sem,
    R: Fn(&mut S) -> S::I + Copy,
    X: Fn(&mut S) -> Exact<S::I> + Copy,
{
    let zero = s.imm(0);
    let not_rne = s.cmp(Cmp::Ne, frm, zero);
    let cold = move |s: &mut S| {
        with_mode_flags(s, frm, raise, |s| {
            let x = exact(s);
            let c = locate(s, &x);
            // (frm 5..7 trapped in `exec`.)
            let mut v = rne(s);
            for (n, mode) in Round::ALL.iter().enumerate().skip(1) {
                let r = pick(s, &x, &c, *mode, v);
                let k = s.imm(n as u64);
                let is = s.cmp(Cmp::Eq, frm, k);
                v = s.select(is, r, v);
            }
            v
        })
    };
    s.if_else(not_rne, cold, rne)
}

/// Compute a directed rounding with `body` (whose many host operations raise flags that
/// are not the instruction's), then give the instruction exactly the flags of `raise`
/// in mode `frm`: they differ from round-to-nearest's near overflow and underflow.
fn with_mode_flags<S: Sem>(
    s: &mut S,
    frm: S::I,
    (op, w, args): Raise<S::I>,
    body: impl FnOnce(&mut S) -> S::I,
) -> S::I {
    let before = s.host_fflags(true);
    let v = body(s);
    s.fraise(op, w, frm, args, before);
    v
}

/// The exact result `x` of an operation, described relative to `r`, a value of
/// precision `w` within one ulp of it: `x - r == (e + t) / scale`, where `e` and `t`
/// are doubles and `t` matters only by its sign (and by being zero) unless `e` is zero.
/// A NaN `e` or `t` means "exact" (NaN and infinite results need no rounding).
struct Exact<I> {
    w: FW,
    r: I,
    e: I,
    t: I,
    /// The power of two the errors are scaled by, when not 1.
    scale: Option<I>,
    /// Sums (add, sub, fma): the sign bit an exact zero result takes when rounding
    /// down; every other mode gives +0 there, like RNE (IEEE 754 §6.3).
    zero_sign: Option<I>,
}

/// Where the exact result lies relative to `r`.
struct Class<B, I> {
    /// `x > r` / `x < r`.
    above: B,
    below: B,
    /// `|x| < |r|` / `|x| > |r|`.
    toward: B,
    away: B,
    /// `x` is exactly halfway between `r` and `n`.
    tie: B,
    /// `x` is closer to `n` than to `r` (`r` came from a double rounding).
    beyond: B,
    /// `r`'s neighbour on `x`'s side.
    n: I,
}

fn locate<S: Sem>(s: &mut S, x: &Exact<S::I>) -> Class<S::B, S::I> {
    let d = FW::D;
    let zero = s.imm(0);
    let (e, t) = (x.e, x.t);
    let e_pos = s.fcmp(FCmp::Lt, d, zero, e);
    let e_neg = s.fcmp(FCmp::Lt, d, e, zero);
    let e_zero = s.fcmp(FCmp::Eq, d, e, zero);
    let t_pos = s.fcmp(FCmp::Lt, d, zero, t);
    let t_neg = s.fcmp(FCmp::Lt, d, t, zero);
    let t_zero = s.fcmp(FCmp::Eq, d, t, zero);
    let up_t = s.bool_and(e_zero, t_pos);
    let above = s.bool_or(e_pos, up_t);
    let down_t = s.bool_and(e_zero, t_neg);
    let below = s.bool_or(e_neg, down_t);

    // The sign of r is x's whenever x != r (a rounded result keeps the exact sign).
    let sign = s.imm(x.w.sign_bit());
    let rs = s.and(x.r, sign);
    let neg = s.cmp(Cmp::Ne, rs, zero);
    let pos = s.cmp(Cmp::Eq, rs, zero);
    let up_pos = s.bool_and(above, pos);
    let down_neg = s.bool_and(below, neg);
    let away = s.bool_or(up_pos, down_neg);
    let down_pos = s.bool_and(below, pos);
    let up_neg = s.bool_and(above, neg);
    let toward = s.bool_or(down_pos, up_neg);
    // One ulp further from / closer to zero: integer steps on the bits (0 -> min
    // subnormal, max-finite -> inf, inf -> max-finite).
    let one = s.imm(1);
    let inc = s.add(x.r, one);
    let dec = s.sub(x.r, one);
    let n = s.select(away, inc, dec);

    // Halfway: 2e == n - r (exact: neighbours' difference and 2e are doubles).
    let rw = widen(s, x.w, x.r, true);
    let nw = widen(s, x.w, n, false);
    let mut gap = s.fbin(FBin::Sub, d, nw, rw);
    if let Some(k) = x.scale {
        gap = s.fbin(FBin::Mul, d, gap, k);
    }
    let twice = s.fbin(FBin::Add, d, e, e);
    let at_half = s.fcmp(FCmp::Eq, d, twice, gap);
    let finite = is_finite(s, d, twice);
    let at_half = s.bool_and(at_half, finite);
    let tie = s.bool_and(at_half, t_zero);
    let same_up = s.bool_and(e_pos, t_pos);
    let same_down = s.bool_and(e_neg, t_neg);
    let same = s.bool_or(same_up, same_down);
    let beyond = s.bool_and(at_half, same);
    Class {
        above,
        below,
        toward,
        away,
        tie,
        beyond,
        n,
    }
}

/// The result in `mode` (`rne`: the value for round-to-nearest-even).
fn pick<S: Sem>(s: &mut S, x: &Exact<S::I>, c: &Class<S::B, S::I>, mode: Round, rne: S::I) -> S::I {
    match mode {
        Round::Rne => rne,
        Round::Rtz => s.select(c.toward, c.n, x.r),
        Round::Rup => s.select(c.above, c.n, x.r),
        Round::Rmm => {
            let tie_away = s.bool_and(c.tie, c.away);
            let go = s.bool_or(tie_away, c.beyond);
            s.select(go, c.n, x.r)
        }
        Round::Rdn => {
            let v = s.select(c.below, c.n, x.r);
            let Some(zs) = x.zero_sign else {
                return v;
            };
            let zero = s.imm(0);
            let is_zero = is_zero(s, x.w, x.r);
            let inexact = s.bool_or(c.above, c.below);
            let inexact = s.bool_to_int(inexact);
            let exact = s.cmp(Cmp::Eq, inexact, zero);
            let exact_zero = s.bool_and(is_zero, exact);
            let z = s.or(x.r, zs);
            s.select(exact_zero, z, v)
        }
    }
}

/// Operands scaled by 2^SCALE bring results below [`TINY`] into the range where
/// product and quotient errors are exact.
const SCALE: i32 = 110;
/// 2^-968, as bits: below this a double product's or quotient's error may underflow.
const TINY: u64 = ((1023 - 968) as u64) << 52;

/// 2^e as a double (normal range).
fn pow2(e: i32) -> f64 {
    f64::from_bits(((1023 + e) as u64) << 52)
}

fn fconst<S: Sem>(s: &mut S, v: f64) -> S::I {
    s.imm(v.to_bits())
}

fn magnitude<S: Sem>(s: &mut S, w: FW, v: S::I) -> S::I {
    let m = s.imm(!w.sign_bit() & mask(w));
    s.and(v, m)
}

/// `|v| < limit` (`limit`: the bits of a positive value).
fn below_bits<S: Sem>(s: &mut S, w: FW, v: S::I, limit: u64) -> S::B {
    let m = magnitude(s, w, v);
    let l = s.imm(limit);
    s.cmp(Cmp::Ltu, m, l)
}

fn is_zero<S: Sem>(s: &mut S, w: FW, v: S::I) -> S::B {
    let m = magnitude(s, w, v);
    let zero = s.imm(0);
    s.cmp(Cmp::Eq, m, zero)
}

fn is_finite<S: Sem>(s: &mut S, w: FW, v: S::I) -> S::B {
    let inf = match w {
        FW::S => 0x7f80_0000,
        FW::D => 0x7ff0_0000_0000_0000,
    };
    below_bits(s, w, v, inf)
}

/// A value of width `w` as a double; with `inf_next`, infinities become ±2^128 for
/// singles (the value after max-finite, so an overflowed single's error is finite).
fn widen<S: Sem>(s: &mut S, w: FW, v: S::I, inf_next: bool) -> S::I {
    match w {
        FW::D => v,
        FW::S => {
            let d = s.fcvt_float(FW::S, FW::D, v);
            if !inf_next {
                return d;
            }
            let finite = is_finite(s, FW::S, v);
            let sign = s.imm(FW::S.sign_bit());
            let sg = s.and(v, sign);
            let sh = s.imm(32);
            let sg = s.shl(sg, sh);
            let next = fconst(s, pow2(128));
            let next = s.or(next, sg);
            s.select(finite, d, next)
        }
    }
}

/// The error `e` of a double result `r`, unless `r` overflowed (`finite`: the exact
/// result is finite): then the exact result lies toward zero from `r`, not halfway.
fn overflowed<S: Sem>(s: &mut S, r: S::I, e: S::I, finite: S::B) -> S::I {
    let d = FW::D;
    let r_finite = is_finite(s, d, r);
    let r_finite = s.bool_to_int(r_finite);
    let zero = s.imm(0);
    let r_inf = s.cmp(Cmp::Eq, r_finite, zero);
    let ovf = s.bool_and(finite, r_inf);
    let sign = s.imm(d.sign_bit());
    let rs = s.and(r, sign);
    let rs = s.xor(rs, sign);
    let one = fconst(s, 1.0);
    let inward = s.or(one, rs);
    s.select(ovf, inward, e)
}

/// The error of `sum == RN(a + b)` (TwoSum; doubles).
fn two_sum_err<S: Sem>(s: &mut S, a: S::I, b: S::I, sum: S::I) -> S::I {
    let d = FW::D;
    let a1 = s.fbin(FBin::Sub, d, sum, b);
    let b1 = s.fbin(FBin::Sub, d, sum, a1);
    let da = s.fbin(FBin::Sub, d, a, a1);
    let db = s.fbin(FBin::Sub, d, b, b1);
    s.fbin(FBin::Add, d, da, db)
}

/// A single-precision result from the double `y` (exact result `y + t`, `t` only by
/// its sign): `r` is `y` narrowed by the host.
fn narrow<S: Sem>(s: &mut S, y: S::I, t: Option<S::I>, zero_sign: Option<S::I>) -> Exact<S::I> {
    let d = FW::D;
    let r = s.fcvt_float(d, FW::S, y);
    let rw = widen(s, FW::S, r, true);
    let e = s.fbin(FBin::Sub, d, y, rw);
    // Overflow: measured from ±2^128 (the value after max-finite), so that x just
    // below the midpoint max + ulp/2 is seen as such; x at or beyond 2^128 is simply
    // "toward zero from inf, not halfway".
    let r_finite = is_finite(s, FW::S, r);
    let r_fin = s.bool_to_int(r_finite);
    let zero = s.imm(0);
    let r_inf = s.cmp(Cmp::Eq, r_fin, zero);
    let sign = s.imm(d.sign_bit());
    let r_sign = s.and(rw, sign);
    let e_rel = s.xor(e, r_sign);
    let toward = s.fcmp(FCmp::Lt, d, e_rel, zero);
    let toward = s.bool_to_int(toward);
    let not_toward = s.cmp(Cmp::Eq, toward, zero);
    let far = s.bool_and(r_inf, not_toward);
    let one = fconst(s, 1.0);
    let r_sign = s.xor(r_sign, sign);
    let inward = s.or(one, r_sign);
    let e = s.select(far, inward, e);
    // An infinite y is exact.
    let y_finite = is_finite(s, d, y);
    let e = s.select(y_finite, e, zero);
    let t = t.unwrap_or(zero);
    Exact {
        w: FW::S,
        r,
        e,
        t,
        scale: None,
        zero_sign,
    }
}

/// Sign bits of an exact zero sum `a + b` rounded down: -0 unless both are +0.
fn sum_zero_sign<S: Sem>(s: &mut S, w: FW, a: S::I, b: S::I) -> Option<S::I> {
    let o = s.or(a, b);
    let sign = s.imm(w.sign_bit());
    Some(s.and(o, sign))
}

fn exact_bin<S: Sem>(s: &mut S, op: FBin, w: FW, a: S::I, b: S::I) -> Exact<S::I> {
    let d = FW::D;
    let zero = s.imm(0);
    match (op, w) {
        (FBin::Add | FBin::Sub, _) => {
            let b = if op == FBin::Sub { negate(s, w, b) } else { b };
            let zero_sign = sum_zero_sign(s, w, a, b);
            if w == FW::S {
                let ad = widen(s, w, a, false);
                let bd = widen(s, w, b, false);
                let y = s.fbin(FBin::Add, d, ad, bd);
                let t = two_sum_err(s, ad, bd, y);
                return narrow(s, y, Some(t), zero_sign);
            }
            let r = s.fbin(FBin::Add, d, a, b);
            let e = two_sum_err(s, a, b, r);
            let fa = is_finite(s, d, a);
            let fb = is_finite(s, d, b);
            let finite = s.bool_and(fa, fb);
            let e = overflowed(s, r, e, finite);
            Exact {
                w,
                r,
                e,
                t: zero,
                scale: None,
                zero_sign,
            }
        }
        (FBin::Mul, FW::S) => {
            // A product of singles is exact in double precision.
            let ad = widen(s, w, a, false);
            let bd = widen(s, w, b, false);
            let y = s.fbin(FBin::Mul, d, ad, bd);
            narrow(s, y, None, None)
        }
        (FBin::Mul, FW::D) => {
            let r = s.fbin(FBin::Mul, d, a, b);
            // x * k = y + ep exactly (TwoProduct), k scaling tiny products up.
            let tiny = below_bits(s, d, r, TINY);
            let big = fconst(s, pow2(SCALE));
            let one = fconst(s, 1.0);
            let k = s.select(tiny, big, one);
            let a2 = s.fbin(FBin::Mul, d, a, k);
            let y = s.fbin(FBin::Mul, d, a2, b);
            let ny = negate(s, d, y);
            let ep = s.ffma(d, a2, b, ny);
            let rk = s.fbin(FBin::Mul, d, r, k);
            let dy = s.fbin(FBin::Sub, d, y, rk);
            let e = s.fbin(FBin::Add, d, dy, ep);
            let t = two_sum_err(s, dy, ep, e);
            let fa = is_finite(s, d, a);
            let fb = is_finite(s, d, b);
            let finite = s.bool_and(fa, fb);
            let e = overflowed(s, r, e, finite);
            // A product too small even once scaled (y == 0) is still not zero.
            let y_zero = is_zero(s, d, y);
            let a_zero = is_zero(s, d, a);
            let b_zero = is_zero(s, d, b);
            let ab_zero = s.bool_or(a_zero, b_zero);
            let ab_zero = s.bool_to_int(ab_zero);
            let ab_nonzero = s.cmp(Cmp::Eq, ab_zero, zero);
            let lost = s.bool_and(y_zero, ab_nonzero);
            let sab = s.xor(a, b);
            let sign = s.imm(d.sign_bit());
            let sab = s.and(sab, sign);
            let one_bit = s.imm(1);
            let tiny_t = s.or(sab, one_bit);
            let t = s.select(lost, tiny_t, t);
            Exact {
                w,
                r,
                e,
                t,
                scale: Some(k),
                zero_sign: None,
            }
        }
        (FBin::Div, FW::S) => {
            let ad = widen(s, w, a, false);
            let bd = widen(s, w, b, false);
            let y = s.fbin(FBin::Div, d, ad, bd);
            let t = div_sticky(s, y, ad, bd);
            narrow(s, y, Some(t), None)
        }
        (FBin::Div, FW::D) => {
            let r = s.fbin(FBin::Div, d, a, b);
            // Scale the dividend when the quotient or the dividend is tiny, so that
            // the remainder is exact; the scaled quotient y is then measured on r's
            // (scaled) grid.
            let r_tiny = below_bits(s, d, r, TINY);
            let a_tiny = below_bits(s, d, a, TINY);
            let tiny = s.bool_or(r_tiny, a_tiny);
            let big = fconst(s, pow2(SCALE));
            let one = fconst(s, 1.0);
            let k = s.select(tiny, big, one);
            let a2 = s.fbin(FBin::Mul, d, a, k);
            let y = s.fbin(FBin::Div, d, a2, b);
            let t = div_sticky(s, y, a2, b);
            let rk = s.fbin(FBin::Mul, d, r, k);
            let e = s.fbin(FBin::Sub, d, y, rk);
            let fa = is_finite(s, d, a);
            let fb = is_finite(s, d, b);
            let b_zero = is_zero(s, d, b);
            let b_zero = s.bool_to_int(b_zero);
            let b_nonzero = s.cmp(Cmp::Eq, b_zero, zero);
            let finite = s.bool_and(fa, fb);
            let finite = s.bool_and(finite, b_nonzero);
            let e = overflowed(s, r, e, finite);
            Exact {
                w,
                r,
                e,
                t,
                scale: Some(k),
                zero_sign: None,
            }
        }
    }
}

/// A value with the sign of `a / b - y` (zero when `y` is exact): the remainder
/// `a - y * b` (exact for a correctly rounded `y` without underflow), times sign(b).
fn div_sticky<S: Sem>(s: &mut S, y: S::I, a: S::I, b: S::I) -> S::I {
    let d = FW::D;
    let ny = negate(s, d, y);
    let rem = s.ffma(d, ny, b, a);
    let sign = s.imm(d.sign_bit());
    let sb = s.and(b, sign);
    s.xor(rem, sb)
}

fn exact_sqrt<S: Sem>(s: &mut S, w: FW, a: S::I) -> Exact<S::I> {
    let d = FW::D;
    if w == FW::S {
        let ad = widen(s, w, a, false);
        let y = s.fsqrt(d, ad);
        let ny = negate(s, d, y);
        let t = s.ffma(d, ny, y, ad);
        return narrow(s, y, Some(t), None);
    }
    let r = s.fsqrt(d, a);
    // The remainder a - r^2 has the sign of sqrt(a) - r; scale tiny inputs by 2^110 (and
    // r by 2^55) so that it is exact. A square root is never halfway: e = 0.
    let tiny = below_bits(s, d, a, TINY);
    let one = fconst(s, 1.0);
    let big = fconst(s, pow2(SCALE));
    let half = fconst(s, pow2(SCALE / 2));
    let ka = s.select(tiny, big, one);
    let kr = s.select(tiny, half, one);
    let a2 = s.fbin(FBin::Mul, d, a, ka);
    let r2 = s.fbin(FBin::Mul, d, r, kr);
    let nr2 = negate(s, d, r2);
    let t = s.ffma(d, nr2, r2, a2);
    let zero = s.imm(0);
    Exact {
        w,
        r,
        e: zero,
        t,
        scale: None,
        zero_sign: None,
    }
}

fn exact_fma<S: Sem>(s: &mut S, w: FW, a: S::I, b: S::I, c: S::I) -> Exact<S::I> {
    let d = FW::D;
    let ab = s.xor(a, b);
    let zero_sign = sum_zero_sign(s, w, ab, c);
    if w == FW::S {
        // The product of singles is exact in double; TwoSum gives the sum's error.
        let ad = widen(s, w, a, false);
        let bd = widen(s, w, b, false);
        let cd = widen(s, w, c, false);
        let p = s.fbin(FBin::Mul, d, ad, bd);
        let y = s.fbin(FBin::Add, d, p, cd);
        let t = two_sum_err(s, p, cd, y);
        return narrow(s, y, Some(t), zero_sign);
    }
    let r = s.ffma(d, a, b, c);
    let zero = s.imm(0);
    let fa = is_finite(s, d, a);
    let fb = is_finite(s, d, b);
    let fc = is_finite(s, d, c);
    let finite = s.bool_and(fa, fb);
    let finite = s.bool_and(finite, fc);
    // ErrFma needs an exact product error, i.e. |a*b| >= 2^-968. Otherwise:
    // - with c small too, scale a and c up by 2^110 and measure on the scaled grid;
    // - with |c| >= 2^-850, a*b is far below half an ulp of c: r == c, and x - r has
    //   the product's sign.
    // A product that overflows while the sum does not: scale a and c down by 2^110 (the
    // sum is then far above the subnormal range).
    let p = s.fbin(FBin::Mul, d, a, b);
    let p_finite = is_finite(s, d, p);
    let p_tiny = below_bits(s, d, p, TINY);
    let c_small = below_bits(s, d, c, pow2(-850).to_bits());
    let scale_up = s.bool_and(p_tiny, c_small);
    let one = fconst(s, 1.0);
    let small = fconst(s, 1.0 / pow2(SCALE));
    let big = fconst(s, pow2(SCALE));
    let k = s.select(p_finite, one, small);
    let k = s.select(scale_up, big, k);
    let ak = s.fbin(FBin::Mul, d, a, k);
    let ck = s.fbin(FBin::Mul, d, c, k);
    let yk = s.ffma(d, ak, b, ck);
    // ErrFma (Boldo & Muller): ak*b + ck == yk + e1 + t1 exactly.
    let u1 = s.fbin(FBin::Mul, d, ak, b);
    let nu1 = negate(s, d, u1);
    let u2 = s.ffma(d, ak, b, nu1);
    let alpha1 = s.fbin(FBin::Add, d, ck, u2);
    let alpha2 = two_sum_err(s, ck, u2, alpha1);
    let beta1 = s.fbin(FBin::Add, d, u1, alpha1);
    let beta2 = two_sum_err(s, u1, alpha1, beta1);
    let g = s.fbin(FBin::Sub, d, beta1, yk);
    let gamma = s.fbin(FBin::Add, d, g, beta2);
    let e1 = s.fbin(FBin::Add, d, gamma, alpha2);
    let t1 = two_sum_err(s, gamma, alpha2, e1);
    // Relative to r (scaled): x*k - r*k == (yk - r*k) + e1 + t1, yk - r*k exact.
    let rk = s.fbin(FBin::Mul, d, r, k);
    let dy = s.fbin(FBin::Sub, d, yk, rk);
    let e = s.fbin(FBin::Add, d, dy, e1);
    let t2 = two_sum_err(s, dy, e1, e);
    let t = s.fbin(FBin::Add, d, t2, t1);
    // A nonzero product lost entirely (below the scaled range) is still a sticky bit.
    let a_zero = is_zero(s, d, a);
    let b_zero = is_zero(s, d, b);
    let ab_zero = s.bool_or(a_zero, b_zero);
    let ab_zero = s.bool_to_int(ab_zero);
    let ab_nonzero = s.cmp(Cmp::Eq, ab_zero, zero);
    let sign = s.imm(d.sign_bit());
    let sab = s.and(ab, sign);
    let one_bit = s.imm(1);
    let sticky = s.or(sab, one_bit);
    let u1_zero = is_zero(s, d, u1);
    let lost = s.bool_and(u1_zero, ab_nonzero);
    let product = s.select(lost, sticky, u1);
    let e_zero = is_zero(s, d, e);
    let t_zero = is_zero(s, d, t);
    let none = s.bool_and(e_zero, t_zero);
    let lost = s.bool_and(lost, none);
    let t = s.select(lost, sticky, t);
    // A finite c dominates a tiny product (an infinite one makes the result exact).
    let c_rules = s.bool_to_int(c_small);
    let c_rules = s.cmp(Cmp::Eq, c_rules, zero);
    let c_rules = s.bool_and(p_tiny, c_rules);
    let c_rules = s.bool_and(c_rules, fc);
    let e = s.select(c_rules, zero, e);
    let t = s.select(c_rules, product, t);
    let e = overflowed(s, r, e, finite);
    Exact {
        w,
        r,
        e,
        t,
        scale: Some(k),
        zero_sign,
    }
}

/// Integer to float: the integer as `y + t` in doubles (exact), then rounded.
fn exact_from_int<S: Sem>(s: &mut S, w: FW, a: S::I, bits: u32, signed: bool) -> Exact<S::I> {
    let d = FW::D;
    let zero = s.imm(0);
    let (y, t) = if bits == 32 {
        (s.fcvt_from_int(d, a, 32, signed), zero)
    } else {
        let sh = s.imm(32);
        let hi = if signed { s.ashr(a, sh) } else { s.lshr(a, sh) };
        let lo = s.zext(a, 32);
        let hd = s.fcvt_from_int(d, hi, 32, signed);
        let p32 = fconst(s, pow2(32));
        let hd = s.fbin(FBin::Mul, d, hd, p32);
        let ld = s.fcvt_from_int(d, lo, 32, false);
        let y = s.fbin(FBin::Add, d, hd, ld);
        (y, two_sum_err(s, hd, ld, y))
    };
    match w {
        FW::S => narrow(s, y, Some(t), None),
        FW::D => Exact {
            w,
            r: y,
            e: t,
            t: zero,
            scale: None,
            zero_sign: None,
        },
    }
}

/// Directed rounding for other front ends (AArch64's FPCR.RMode): each operation rounded
/// in the dynamic mode `frm`, given as a value in RISC-V's encoding (0 RNE, 1 RTZ,
/// 2 RDN, 3 RUP, 4 RMM). Results are not NaN-canonicalised.
pub(crate) mod directed {
    use super::*;

    pub(crate) fn bin<S: Sem>(s: &mut S, frm: S::I, op: FBin, w: FW, a: S::I, b: S::I) -> S::I {
        let rne = move |s: &mut S| s.fbin(op, w, a, b);
        let exact = move |s: &mut S| exact_bin(s, op, w, a, b);
        rounded_dyn(s, frm, rne, exact, (fop(op), w, [a, b, a]))
    }

    pub(crate) fn sqrt<S: Sem>(s: &mut S, frm: S::I, w: FW, a: S::I) -> S::I {
        let rne = move |s: &mut S| s.fsqrt(w, a);
        let exact = move |s: &mut S| exact_sqrt(s, w, a);
        rounded_dyn(s, frm, rne, exact, (FOp::Sqrt, w, [a, a, a]))
    }

    /// `a * b + c` with one rounding.
    pub(crate) fn fma<S: Sem>(s: &mut S, frm: S::I, w: FW, a: S::I, b: S::I, c: S::I) -> S::I {
        let rne = move |s: &mut S| s.ffma(w, a, b, c);
        let exact = move |s: &mut S| exact_fma(s, w, a, b, c);
        rounded_dyn(s, frm, rne, exact, (FOp::Fma, w, [a, b, c]))
    }

    pub(crate) fn from_int<S: Sem>(
        s: &mut S,
        frm: S::I,
        w: FW,
        a: S::I,
        bits: u32,
        signed: bool,
    ) -> S::I {
        let rne = move |s: &mut S| s.fcvt_from_int(w, a, bits, signed);
        if w == FW::D && bits == 32 {
            return rne(s);
        }
        let exact = move |s: &mut S| exact_from_int(s, w, a, bits, signed);
        let raise = (FOp::FromInt { bits, signed }, w, [a, a, a]);
        rounded_dyn(s, frm, rne, exact, raise)
    }

    /// Double to single.
    pub(crate) fn narrow_d<S: Sem>(s: &mut S, frm: S::I, a: S::I) -> S::I {
        let rne = move |s: &mut S| s.fcvt_float(FW::D, FW::S, a);
        let exact = move |s: &mut S| narrow(s, a, None, None);
        rounded_dyn(s, frm, rne, exact, (FOp::Narrow, FW::S, [a, a, a]))
    }
}
