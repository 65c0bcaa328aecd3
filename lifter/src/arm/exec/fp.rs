//! Scalar floating point (single and double precision).

use super::*;
use crate::arm::sem::SysReg;
use crate::rv::exec::fp::directed;
use crate::sem::{FBin, FCmp, Round, FW};

/// FPCR.RMode as the dynamic mode of the shared directed-rounding code (RISC-V `frm`
/// encoding): RN 0 -> 0, RP 1 -> 3 (up), RM 2 -> 2 (down), RZ 3 -> 1 (toward zero).
pub(super) fn frm_value<S: A64Sem>(s: &mut S) -> S::I {
    frm(s)
}

/// Double to single in the mode `frm` (from [`frm_value`]).
pub(super) fn narrow_r<S: A64Sem>(s: &mut S, frm: S::I, a: S::I) -> S::I {
    directed::narrow_d(s, frm, a)
}

fn frm<S: A64Sem>(s: &mut S) -> S::I {
    let fpcr = s.sysreg(SysReg::Fpcr);
    let k = s.imm(22);
    let m = s.lshr(fpcr, k);
    let m = s.zext(m, 2);
    let four = s.imm(4);
    let sh = s.mul(m, four);
    let table = s.imm(0x1230);
    let v = s.lshr(table, sh);
    s.zext(v, 4)
}

/// The default NaN (FPCR.DN semantics for invalid operations): positive, quiet.
fn default_nan(w: FW) -> u64 {
    w.canonical_nan()
}

/// A NaN result of an operation whose inputs are all numbers is an invalid operation:
/// A64 gives the default NaN (the host's would be negative). NaN inputs propagate as
/// the host propagates them (the first quiet NaN operand).
fn arm_nan<S: A64Sem>(s: &mut S, w: FW, r: S::I, inputs: &[S::I]) -> S::I {
    let r_nan = s.fcmp(FCmp::Uno, w, r, r);
    let mut any = s.fcmp(FCmp::Uno, w, inputs[0], inputs[0]);
    for &x in &inputs[1..] {
        let n = s.fcmp(FCmp::Uno, w, x, x);
        any = s.bool_or(any, n);
    }
    let dn = s.imm(default_nan(w));
    let nan = s.select(any, r, dn);
    s.select(r_nan, nan, r)
}

/// Arithmetic in the FPCR rounding mode.
pub(super) fn fbin_r<S: A64Sem>(s: &mut S, op: FBin, w: FW, a: S::I, b: S::I) -> S::I {
    let m = frm(s);
    let r = directed::bin(s, m, op, w, a, b);
    arm_nan(s, w, r, &[a, b])
}
pub(super) fn ffma_r<S: A64Sem>(s: &mut S, w: FW, a: S::I, b: S::I, c: S::I) -> S::I {
    let m = frm(s);
    let r = directed::fma(s, m, w, a, b, c);
    arm_nan(s, w, r, &[a, b, c])
}
pub(super) fn fsqrt_r<S: A64Sem>(s: &mut S, w: FW, a: S::I) -> S::I {
    let m = frm(s);
    let r = directed::sqrt(s, m, w, a);
    arm_nan(s, w, r, &[a])
}
pub(super) fn from_int_r<S: A64Sem>(s: &mut S, w: FW, a: S::I, bits: u32, signed: bool) -> S::I {
    let m = frm(s);
    directed::from_int(s, m, w, a, bits, signed)
}

/// The precision in `ftype` (bits 23:22); half precision is not implemented.
fn width(r: u32) -> Option<FW> {
    match bits(r, 22, 2) {
        0 => Some(FW::S),
        1 => Some(FW::D),
        _ => None,
    }
}

/// The low `w` bits of vector register `r`.
pub(super) fn fget<S: A64Sem>(s: &mut S, r: u8, w: FW) -> S::I {
    let v = s.vreg(r);
    if w == FW::D {
        v[0]
    } else {
        s.zext(v[0], 32)
    }
}

/// Write a scalar: the rest of the vector register is zeroed.
pub(super) fn fset<S: A64Sem>(s: &mut S, r: u8, v: S::I) {
    let z = s.imm(0);
    s.set_vreg(r, [v, z]);
}

/// NZCV of an FP comparison: unordered 0011, equal 0110, less 1000, greater 0010.
fn compare<S: A64Sem>(s: &mut S, w: FW, a: S::I, b: S::I) -> S::I {
    let uno = s.fcmp(FCmp::Uno, w, a, b);
    let eq = s.fcmp(FCmp::Eq, w, a, b);
    let lt = s.fcmp(FCmp::Lt, w, a, b);
    let f_uno = s.imm(0x3 << 28);
    let f_eq = s.imm(0x6 << 28);
    let f_lt = s.imm(0x8 << 28);
    let f_gt = s.imm(0x2 << 28);
    let v = s.select(lt, f_lt, f_gt);
    let v = s.select(eq, f_eq, v);
    s.select(uno, f_uno, v)
}

/// The rounding mode FPCR.RMode selects (for FRINTX/FRINTI).
pub(super) fn fpcr_round<S: A64Sem>(s: &mut S, w: FW, a: S::I) -> S::I {
    let fpcr = s.sysreg(SysReg::Fpcr);
    let k = s.imm(22);
    let m = s.lshr(fpcr, k);
    let m = s.zext(m, 2);
    let rn = s.fround(w, a, Round::Rne);
    let rp = s.fround(w, a, Round::Rup);
    let rm = s.fround(w, a, Round::Rdn);
    let rz = s.fround(w, a, Round::Rtz);
    let one = s.imm(1);
    let two = s.imm(2);
    let is1 = s.cmp(Cmp::Eq, m, one);
    let is2 = s.cmp(Cmp::Eq, m, two);
    let zero = s.imm(0);
    let is0 = s.cmp(Cmp::Eq, m, zero);
    let v = s.select(is2, rm, rz);
    let v = s.select(is1, rp, v);
    s.select(is0, rn, v)
}

pub(super) fn neg<S: A64Sem>(s: &mut S, w: FW, a: S::I) -> S::I {
    let m = s.imm(w.sign_bit());
    s.xor(a, m)
}

/// VFPExpandImm.
pub(super) fn expand_imm(imm8: u32, w: FW) -> u64 {
    let sign = (imm8 >> 7) as u64;
    let b6 = ((imm8 >> 6) & 1) as u64;
    let e54 = ((imm8 >> 4) & 3) as u64;
    let frac = (imm8 & 0xf) as u64;
    match w {
        FW::S => {
            let exp = ((b6 ^ 1) << 7) | (if b6 == 1 { 0x1f << 2 } else { 0 }) | e54;
            (sign << 31) | (exp << 23) | (frac << 19)
        }
        FW::D => {
            let exp = ((b6 ^ 1) << 10) | (if b6 == 1 { 0xff << 2 } else { 0 }) | e54;
            (sign << 63) | (exp << 52) | (frac << 48)
        }
    }
}

/// FMAX/FMIN (`nm`: FMAXNM/FMINNM, a quiet NaN operand loses).
pub(super) fn minmax<S: A64Sem>(s: &mut S, w: FW, a: S::I, b: S::I, max: bool, nm: bool) -> S::I {
    let lt = s.fcmp(FCmp::Lt, w, a, b);
    let gt = s.fcmp(FCmp::Lt, w, b, a);
    // Equal: +0 beats -0 for max (AND of the bits), -0 beats +0 for min (OR).
    let eq = if max { s.and(a, b) } else { s.or(a, b) };
    let (first, second) = if max { (b, a) } else { (a, b) };
    let v = s.select(gt, second, eq);
    let v = s.select(lt, first, v);
    // NaNs: propagate (quieted) through an arithmetic operation.
    let nan = s.fbin(FBin::Add, w, a, b);
    let uno = s.fcmp(FCmp::Uno, w, a, b);
    let v = s.select(uno, nan, v);
    if nm {
        let a_nan = s.fcmp(FCmp::Uno, w, a, a);
        let b_nan = s.fcmp(FCmp::Uno, w, b, b);
        let v = s.select(b_nan, a, v);
        let v = s.select(a_nan, b, v);
        let both = s.bool_and(a_nan, b_nan);
        s.select(both, nan, v)
    } else {
        v
    }
}

pub(super) fn exec<S: A64Sem>(s: &mut S, op: Op, r: u32) {
    if op == Op::FpInt && bits(r, 22, 2) == 2 && bit(r, 31) && bits(r, 19, 2) == 1 {
        // FMOV Xd, Vn.D[1] / FMOV Vd.D[1], Xn.
        match bits(r, 16, 3) {
            6 => {
                let v = s.vreg(rn(r));
                set_xr(s, rd(r), v[1], true);
            }
            7 => {
                let x = xr(s, rn(r), true);
                let v = s.vreg(rd(r));
                s.set_vreg(rd(r), [v[0], x]);
            }
            _ => s.trap(Trap::Illegal),
        }
        return;
    }
    let Some(w) = width(r) else {
        return s.trap(Trap::Illegal);
    };
    match op {
        Op::FpDp1 => {
            let a = fget(s, rn(r), w);
            let v = match bits(r, 15, 6) {
                0 => a,
                1 => {
                    let m = s.imm(w.sign_bit() - 1);
                    s.and(a, m)
                }
                2 => neg(s, w, a),
                3 => fsqrt_r(s, w, a),
                4 if w == FW::D => {
                    let m = frm(s);
                    directed::narrow_d(s, m, a)
                }
                5 if w == FW::S => s.fcvt_float(w, FW::D, a),
                8 => s.fround(w, a, Round::Rne),
                9 => s.fround(w, a, Round::Rup),
                10 => s.fround(w, a, Round::Rdn),
                11 => s.fround(w, a, Round::Rtz),
                12 => s.fround(w, a, Round::Rmm),
                14 | 15 => fpcr_round(s, w, a),
                _ => return s.trap(Trap::Illegal),
            };
            fset(s, rd(r), v);
        }
        Op::FpCmp => {
            let a = fget(s, rn(r), w);
            let b = if bit(r, 3) {
                s.imm(0)
            } else {
                fget(s, rm(r), w)
            };
            if bits(r, 0, 3) != 0 || bits(r, 14, 2) != 0 {
                return s.trap(Trap::Illegal);
            }
            let f = compare(s, w, a, b);
            s.set_nzcv(f);
        }
        Op::FpImm => {
            if bits(r, 5, 5) != 0 {
                return s.trap(Trap::Illegal);
            }
            let v = s.imm(expand_imm(bits(r, 13, 8), w));
            fset(s, rd(r), v);
        }
        Op::FpCondCmp => {
            let a = fget(s, rn(r), w);
            let b = fget(s, rm(r), w);
            let f = compare(s, w, a, b);
            let c = cond_holds(s, bits(r, 12, 4));
            let alt = s.imm((bits(r, 0, 4) as u64) << 28);
            let f = s.select(c, f, alt);
            s.set_nzcv(f);
        }
        Op::FpDp2 => {
            let a = fget(s, rn(r), w);
            let b = fget(s, rm(r), w);
            let v = match bits(r, 12, 4) {
                0 => fbin_r(s, FBin::Mul, w, a, b),
                1 => fbin_r(s, FBin::Div, w, a, b),
                2 => fbin_r(s, FBin::Add, w, a, b),
                3 => fbin_r(s, FBin::Sub, w, a, b),
                4 => minmax(s, w, a, b, true, false),
                5 => minmax(s, w, a, b, false, false),
                6 => minmax(s, w, a, b, true, true),
                7 => minmax(s, w, a, b, false, true),
                8 => {
                    // -(a*b) rounded: the product of -a and b.
                    let na = neg(s, w, a);
                    fbin_r(s, FBin::Mul, w, na, b)
                }
                _ => return s.trap(Trap::Illegal),
            };
            fset(s, rd(r), v);
        }
        Op::FpCondSel => {
            let a = fget(s, rn(r), w);
            let b = fget(s, rm(r), w);
            let c = cond_holds(s, bits(r, 12, 4));
            let v = s.select(c, a, b);
            fset(s, rd(r), v);
        }
        Op::FpDp3 => {
            let a = fget(s, rn(r), w);
            let b = fget(s, rm(r), w);
            let c = fget(s, ra(r), w);
            let (o1, o0) = (bit(r, 21), bit(r, 15));
            let a = if o0 != o1 { neg(s, w, a) } else { a };
            let c = if o1 { neg(s, w, c) } else { c };
            let v = ffma_r(s, w, a, b, c);
            fset(s, rd(r), v);
        }
        Op::FpInt => fp_int(s, r, w),
        Op::FpFixed => fp_fixed(s, r, w),
        _ => s.trap(Trap::Illegal),
    }
}

/// Conversions between floating point and integers, and FMOV to/from general registers.
fn fp_int<S: A64Sem>(s: &mut S, r: u32, w: FW) {
    let sf = bit(r, 31);
    let ibits = if sf { 64 } else { 32 };
    let (rmode, opcode) = (bits(r, 19, 2), bits(r, 16, 3));
    match (rmode, opcode) {
        (0, 2) | (0, 3) => {
            let a = xr(s, rn(r), sf);
            let v = from_int_r(s, w, a, ibits, opcode == 2);
            fset(s, rd(r), v);
        }
        (_, 0) | (_, 1) | (0, 4) | (0, 5) => {
            let rm = match (rmode, opcode) {
                (_, 4) | (_, 5) => Round::Rmm,
                (0, _) => Round::Rne,
                (1, _) => Round::Rup,
                (2, _) => Round::Rdn,
                _ => Round::Rtz,
            };
            let signed = opcode & 1 == 0;
            let a = fget(s, rn(r), w);
            let i = s.fround(w, a, rm);
            let v = s.fcvt_to_int(w, i, ibits, signed);
            let nan = s.fcmp(FCmp::Uno, w, a, a);
            let zero = s.imm(0);
            let v = s.select(nan, zero, v);
            set_xr(s, rd(r), v, sf);
        }
        (0, 6) if (w == FW::D) == sf => {
            let v = fget(s, rn(r), w);
            set_xr(s, rd(r), v, sf);
        }
        (0, 7) if (w == FW::D) == sf => {
            let v = xr(s, rn(r), sf);
            fset(s, rd(r), v);
        }
        _ => s.trap(Trap::Illegal),
    }
}

/// `2^e` as a float of width `w` (|e| <= 64).
fn pow2(w: FW, e: i32) -> u64 {
    match w {
        FW::S => 2f32.powi(e).to_bits() as u64,
        FW::D => 2f64.powi(e).to_bits(),
    }
}

/// Float to integer, rounding toward zero (FCVTZS/FCVTZU); NaN gives 0.
pub(super) fn to_int_rtz<S: A64Sem>(s: &mut S, w: FW, a: S::I, ibits: u32, signed: bool) -> S::I {
    let i = s.fround(w, a, Round::Rtz);
    let v = s.fcvt_to_int(w, i, ibits, signed);
    let nan = s.fcmp(FCmp::Uno, w, a, a);
    let zero = s.imm(0);
    let v = s.select(nan, zero, v);
    if ibits == 64 {
        v
    } else {
        s.zext(v, ibits)
    }
}

/// Conversions between floating point and fixed point (`scale` = 64 - fraction bits).
fn fp_fixed<S: A64Sem>(s: &mut S, r: u32, w: FW) {
    let sf = bit(r, 31);
    let ibits = if sf { 64 } else { 32 };
    let fbits = 64 - bits(r, 10, 6) as i32;
    if !sf && fbits > 32 {
        return s.trap(Trap::Illegal);
    }
    match (bits(r, 19, 2), bits(r, 16, 3)) {
        (0, 2) | (0, 3) => {
            let a = xr(s, rn(r), sf);
            let v = from_int_r(s, w, a, ibits, bits(r, 16, 3) == 2);
            let k = s.imm(pow2(w, -fbits));
            let v = s.fbin(FBin::Mul, w, v, k);
            fset(s, rd(r), v);
        }
        (3, 0) | (3, 1) => {
            let a = fget(s, rn(r), w);
            let k = s.imm(pow2(w, fbits));
            let a = s.fbin(FBin::Mul, w, a, k);
            let v = to_int_rtz(s, w, a, ibits, bits(r, 16, 3) == 0);
            set_xr(s, rd(r), v, sf);
        }
        _ => s.trap(Trap::Illegal),
    }
}
