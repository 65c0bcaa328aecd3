//! Advanced SIMD (NEON): the integer operations compilers and glibc's string routines
//! use, lane moves, immediates, permutes, table lookups and their scalar forms.

use super::fp::{fbin_r, ffma_r, from_int_r, fsqrt_r};
use super::mem::vget;
use super::*;
use crate::arm::sem::{VBin, VShift, VUn};
use crate::sem::{FBin, FCmp, Round, FW};

type V<S> = [<S as crate::sem::Sem>::I; 2];

/// Element `i` of `esize` bits (zero-extended).
pub(super) fn lane<S: A64Sem>(s: &mut S, v: V<S>, esize: u32, i: u32) -> S::I {
    let bitpos = i * esize;
    let half = v[(bitpos / 64) as usize];
    let k = s.imm((bitpos % 64) as u64);
    let x = s.lshr(half, k);
    s.zext(x, esize)
}

/// `v` with element `i` replaced by the low `esize` bits of `x`.
pub(super) fn insert_lane<S: A64Sem>(s: &mut S, v: V<S>, esize: u32, i: u32, x: S::I) -> V<S> {
    let bitpos = i * esize;
    let h = (bitpos / 64) as usize;
    let sh = bitpos % 64;
    let keep = s.imm(!(ones(esize) << sh));
    let kept = s.and(v[h], keep);
    let x = s.zext(x, esize);
    let k = s.imm(sh as u64);
    let x = s.shl(x, k);
    let mut out = v;
    out[h] = s.or(kept, x);
    out
}

/// The low `esize` bits of `x` repeated across 64 bits.
pub(super) fn replicate<S: A64Sem>(s: &mut S, x: S::I, esize: u32) -> S::I {
    let x = s.zext(x, esize);
    let pattern = match esize {
        8 => 0x0101_0101_0101_0101,
        16 => 0x0001_0001_0001_0001,
        32 => 0x0000_0001_0000_0001,
        _ => 1,
    };
    let p = s.imm(pattern);
    s.mul(x, p)
}

/// Write a vector result: with `q` false the high half is zeroed.
fn vset<S: A64Sem>(s: &mut S, r: u8, v: V<S>, q: bool) {
    let hi = if q { v[1] } else { s.imm(0) };
    s.set_vreg(r, [v[0], hi]);
}

/// Write a 64-bit result to the low (`upper` false) or high half, keeping the other
/// half for the "2" forms (XTN2, SHRN2) and zeroing the high half otherwise.
fn set_half<S: A64Sem>(s: &mut S, r: u8, v: S::I, upper: bool) {
    if upper {
        let cur = vget(s, r);
        s.set_vreg(r, [cur[0], v]);
    } else {
        let z = s.imm(0);
        s.set_vreg(r, [v, z]);
    }
}

fn esize_of(size: u32) -> u32 {
    8 << size
}

pub(super) fn exec<S: A64Sem>(s: &mut S, op: Op, r: u32) {
    let ok = match op {
        Op::V3Same => three_same(s, r),
        Op::V3Diff => three_diff(s, r),
        Op::V2Misc => two_misc(s, r, false),
        Op::VAcross => across(s, r),
        Op::VCopy => copy(s, r, false),
        Op::VModImm => mod_imm(s, r),
        Op::VShiftImm => shift_imm(s, r, false),
        Op::VPermute => permute(s, r),
        Op::VExt => ext(s, r),
        Op::VTbl => tbl(s, r),
        Op::VScalarPair => scalar_pair(s, r),
        Op::VScalarShift => shift_imm(s, r, true),
        Op::VScalar3Same => scalar_three_same(s, r),
        Op::VScalar2Misc => two_misc(s, r, true),
        Op::VScalarCopy => copy(s, r, true),
        Op::VByElem => by_element(s, r),
        _ => false,
    };
    if !ok {
        s.trap(Trap::Illegal);
    }
}

/// The integer three-same operation for `U:opcode` (and size for the logical group).
fn three_same_op(u: bool, opcode: u32, size: u32) -> Option<VBin> {
    Some(match (u, opcode) {
        (false, 0b00011) => [VBin::And, VBin::Bic, VBin::Orr, VBin::Orn][size as usize],
        (true, 0b00011) if size == 0 => VBin::Eor,
        (false, 0b10000) => VBin::Add,
        (true, 0b10000) => VBin::Sub,
        (false, 0b10001) => VBin::CmTst,
        (true, 0b10001) => VBin::CmEq,
        (false, 0b00110) => VBin::CmGt,
        (true, 0b00110) => VBin::CmHi,
        (false, 0b00111) => VBin::CmGe,
        (true, 0b00111) => VBin::CmHs,
        (false, 0b01100) => VBin::SMax,
        (true, 0b01100) => VBin::UMax,
        (false, 0b01101) => VBin::SMin,
        (true, 0b01101) => VBin::UMin,
        (false, 0b10100) => VBin::SMaxP,
        (true, 0b10100) => VBin::UMaxP,
        (false, 0b10101) => VBin::SMinP,
        (true, 0b10101) => VBin::UMinP,
        (false, 0b10111) => VBin::AddP,
        (false, 0b10011) if size != 3 => VBin::Mul,
        (false, 0b01000) => VBin::SShl,
        (true, 0b01000) => VBin::UShl,
        (false, 0b00001) => VBin::SQAdd,
        (true, 0b00001) => VBin::UQAdd,
        (false, 0b00101) => VBin::SQSub,
        (true, 0b00101) => VBin::UQSub,
        (false, 0b00000) if size != 3 => VBin::SHAdd,
        (true, 0b00000) if size != 3 => VBin::UHAdd,
        (false, 0b00010) if size != 3 => VBin::SRHAdd,
        (true, 0b00010) if size != 3 => VBin::URHAdd,
        (false, 0b01110) if size != 3 => VBin::SAbd,
        (true, 0b01110) if size != 3 => VBin::UAbd,
        _ => return None,
    })
}

fn three_same<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let (q, u) = (bit(r, 30), bit(r, 29));
    let size = bits(r, 22, 2);
    let opcode = bits(r, 11, 5);
    if opcode >= 0b11000 {
        return fp_three_same(s, r);
    }
    let a = vget(s, rn(r));
    let b = vget(s, rm(r));
    let es = esize_of(size);
    if !q && size == 3 && opcode != 0b00011 {
        return false;
    }
    if u && opcode == 0b00011 && size != 0 {
        // BSL, BIT, BIF: bitwise selects involving the destination.
        let d = vget(s, rd(r));
        let mut out = d;
        for h in 0..2 {
            let (sel, x, y) = match size {
                1 => (d[h], a[h], b[h]), // BSL: d ? n : m
                2 => (b[h], a[h], d[h]), // BIT: m ? n : d
                _ => (b[h], d[h], a[h]), // BIF: m ? d : n
            };
            let t = s.xor(x, y);
            let t = s.and(t, sel);
            out[h] = s.xor(y, t);
        }
        vset(s, rd(r), out, q);
        return true;
    }
    if opcode == 0b01111 && size != 3 {
        // SABA / UABA: accumulate the absolute difference.
        let p = s.vbin(if u { VBin::UAbd } else { VBin::SAbd }, es, q, a, b);
        let d = vget(s, rd(r));
        let v = s.vbin(VBin::Add, es, q, d, p);
        vset(s, rd(r), v, q);
        return true;
    }
    if opcode == 0b10010 && size != 3 {
        // MLA / MLS
        let p = s.vbin(VBin::Mul, es, q, a, b);
        let d = vget(s, rd(r));
        let v = s.vbin(if u { VBin::Sub } else { VBin::Add }, es, q, d, p);
        vset(s, rd(r), v, q);
        return true;
    }
    let Some(op) = three_same_op(u, opcode, size) else {
        return false;
    };
    let v = s.vbin(op, es, q, a, b);
    vset(s, rd(r), v, q);
    true
}

fn scalar_three_same<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let u = bit(r, 29);
    let size = bits(r, 22, 2);
    let opcode = bits(r, 11, 5);
    if size != 3 {
        return false;
    }
    let Some(op) = three_same_op(u, opcode, size) else {
        return false;
    };
    if !matches!(
        op,
        VBin::Add
            | VBin::Sub
            | VBin::CmEq
            | VBin::CmTst
            | VBin::CmGt
            | VBin::CmGe
            | VBin::CmHi
            | VBin::CmHs
            | VBin::UShl
            | VBin::SShl
    ) {
        return false;
    }
    let a = vget(s, rn(r));
    let b = vget(s, rm(r));
    let v = s.vbin(op, 64, false, a, b);
    vset(s, rd(r), v, false);
    true
}

/// Widening ops: xADDL, xADDW, xSUBL, xSUBW, xMULL (and their "2" forms).
fn three_diff<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let (q, u) = (bit(r, 30), bit(r, 29));
    let size = bits(r, 22, 2);
    if size == 3 {
        return false;
    }
    let es = esize_of(size);
    let opcode = bits(r, 12, 4);
    let widen = VUn::Widen {
        high: q,
        signed: !u,
    };
    let a = vget(s, rn(r));
    let b = vget(s, rm(r));
    let wb = s.vun(widen, es, true, b);
    let (wa, op) = match opcode {
        0b0000 | 0b0010 => (s.vun(widen, es, true, a), opcode == 0),
        0b0001 | 0b0011 => (a, opcode == 1),
        0b1100 | 0b1000 | 0b1010 => {
            // xMULL, xMLAL, xMLSL
            let wa = s.vun(widen, es, true, a);
            let p = s.vbin(VBin::Mul, es * 2, true, wa, wb);
            let v = match opcode {
                0b1100 => p,
                _ => {
                    let d = vget(s, rd(r));
                    let op = if opcode == 0b1000 {
                        VBin::Add
                    } else {
                        VBin::Sub
                    };
                    s.vbin(op, es * 2, true, d, p)
                }
            };
            s.set_vreg(rd(r), v);
            return true;
        }
        0b0111 | 0b0101 => {
            // xABDL, xABAL: the widened operands' difference is exact.
            let wa = s.vun(widen, es, true, a);
            let abd = if u { VBin::UAbd } else { VBin::SAbd };
            let p = s.vbin(abd, es * 2, true, wa, wb);
            let v = if opcode == 0b0101 {
                let d = vget(s, rd(r));
                s.vbin(VBin::Add, es * 2, true, d, p)
            } else {
                p
            };
            s.set_vreg(rd(r), v);
            return true;
        }
        _ => return false,
    };
    let v = s.vbin(if op { VBin::Add } else { VBin::Sub }, es * 2, true, wa, wb);
    s.set_vreg(rd(r), v);
    true
}

fn two_misc<S: A64Sem>(s: &mut S, r: u32, scalar: bool) -> bool {
    let (q, u) = (bit(r, 30) && !scalar, bit(r, 29));
    let size = bits(r, 22, 2);
    let opcode = bits(r, 12, 5);
    if opcode >= 0b01100 && !matches!(opcode, 0b10010 | 0b10100) {
        return fp_two_misc(s, r, scalar);
    }
    let es = esize_of(size);
    let a = vget(s, rn(r));
    let op = match (u, opcode) {
        (false, 0b00000) if size < 3 => VUn::Rev(64),
        (true, 0b00000) if size < 2 => VUn::Rev(32),
        (false, 0b00001) if size == 0 => VUn::Rev(16),
        (false, 0b00101) if size == 0 => VUn::Cnt,
        (true, 0b00101) if size == 0 => VUn::Not,
        (true, 0b00101) if size == 1 => VUn::Rbit,
        (_, 0b00010) if size < 3 => VUn::AddLP { signed: !u },
        (false, 0b01000) => VUn::CmGt0,
        (true, 0b01000) => VUn::CmGe0,
        (false, 0b01001) => VUn::CmEq0,
        (true, 0b01001) => VUn::CmLe0,
        (false, 0b01010) => VUn::CmLt0,
        (false, 0b01011) => VUn::Abs,
        (true, 0b01011) => VUn::Neg,
        (false, 0b00100) if size < 3 => VUn::Cls,
        (true, 0b00100) if size < 3 => VUn::Clz,
        (_, 0b10010) | (_, 0b10100) if size < 3 && !scalar => {
            // XTN, SQXTUN, SQXTN, UQXTN (and the "2" forms): elements of twice `es`.
            let op = match (u, opcode) {
                (false, 0b10010) => VUn::Xtn,
                (true, 0b10010) => VUn::SQXtun,
                (false, _) => VUn::SQXtn,
                (true, _) => VUn::UQXtn,
            };
            let v = s.vun(op, es * 2, true, a);
            set_half(s, rd(r), v[0], bit(r, 30));
            return true;
        }
        _ => return false,
    };
    if scalar && size != 3 {
        return false;
    }
    // Bit operations ignore the element size; Rbit/Not use bytes.
    let es = if matches!(op, VUn::Not | VUn::Rbit) {
        8
    } else {
        es
    };
    if !q && es == 64 && !scalar {
        return false;
    }
    let v = s.vun(op, es, q, a);
    vset(s, rd(r), v, q);
    true
}

fn across<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let (q, u) = (bit(r, 30), bit(r, 29));
    let size = bits(r, 22, 2);
    if size == 3 || (size == 2 && !q) {
        return false;
    }
    let op = match (u, bits(r, 12, 5)) {
        (false, 0b11011) => VUn::AddV,
        (false, 0b01010) => VUn::SMaxV,
        (true, 0b01010) => VUn::UMaxV,
        (false, 0b11010) => VUn::SMinV,
        (true, 0b11010) => VUn::UMinV,
        (_, 0b00011) => VUn::AddLV { signed: !u },
        _ => return false,
    };
    let a = vget(s, rn(r));
    let v = s.vun(op, esize_of(size), q, a);
    vset(s, rd(r), v, false);
    true
}

/// Element size and index from `imm5` of the copy group.
fn copy_index(imm5: u32) -> Option<(u32, u32)> {
    let size = imm5.trailing_zeros();
    if size > 3 {
        return None;
    }
    Some((8 << size, imm5 >> (size + 1)))
}

fn copy<S: A64Sem>(s: &mut S, r: u32, scalar: bool) -> bool {
    let (q, op) = (bit(r, 30), bit(r, 29));
    let imm4 = bits(r, 11, 4);
    let Some((es, idx)) = copy_index(bits(r, 16, 5)) else {
        return false;
    };
    let src = vget(s, rn(r));
    if scalar {
        // DUP (element), scalar form: `mov s0, v1.s[1]`.
        if op || imm4 != 0 {
            return false;
        }
        let x = lane(s, src, es, idx);
        let z = s.imm(0);
        s.set_vreg(rd(r), [x, z]);
        return true;
    }
    match (op, imm4) {
        (false, 0b0000) | (false, 0b0001) => {
            if es == 64 && !q {
                return false;
            }
            let x = if imm4 == 0 {
                lane(s, src, es, idx)
            } else {
                xr(s, rn(r), true)
            };
            let rep = replicate(s, x, es);
            vset(s, rd(r), [rep, rep], q);
        }
        (false, 0b0101) | (false, 0b0111) => {
            // SMOV / UMOV
            let x = lane(s, src, es, idx);
            if imm4 == 0b0101 {
                let x = s.sext(x, es);
                set_xr(s, rd(r), x, q);
            } else {
                set_xr(s, rd(r), x, true);
            }
        }
        (false, 0b0011) if q => {
            let x = xr(s, rn(r), true);
            let d = vget(s, rd(r));
            let v = insert_lane(s, d, es, idx, x);
            s.set_vreg(rd(r), v);
        }
        (true, _) if q => {
            let src_idx = imm4 >> es.trailing_zeros().saturating_sub(3);
            let x = lane(s, src, es, src_idx);
            let d = vget(s, rd(r));
            let v = insert_lane(s, d, es, idx, x);
            s.set_vreg(rd(r), v);
        }
        _ => return false,
    }
    true
}

/// AdvSIMDExpandImm, and MOVI/MVNI/ORR/BIC/FMOV (vector, immediate).
fn mod_imm<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let (q, op) = (bit(r, 30), bit(r, 29));
    let cmode = bits(r, 12, 4);
    let imm8 = ((bits(r, 16, 3) << 5) | bits(r, 5, 5)) as u64;
    if bit(r, 11) {
        return false;
    }
    let rep32 = |x: u64| x | (x << 32);
    let rep16 = |x: u64| rep32(x | (x << 16));
    let imm = match cmode >> 1 {
        0..=3 => rep32(imm8 << (8 * (cmode >> 1))),
        4 | 5 => rep16(imm8 << (8 * ((cmode >> 1) & 1))),
        6 => rep32(if cmode & 1 == 0 {
            (imm8 << 8) | 0xff
        } else {
            (imm8 << 16) | 0xffff
        }),
        _ => match (cmode & 1, op) {
            (0, false) => rep16(imm8 | (imm8 << 8)),
            (0, true) => (0..8).fold(0u64, |acc, i| {
                acc | if imm8 >> i & 1 != 0 {
                    0xff << (8 * i)
                } else {
                    0
                }
            }),
            (_, false) => rep32(super::fp_imm_bits(imm8 as u32, crate::sem::FW::S)),
            (_, true) if q => super::fp_imm_bits(imm8 as u32, crate::sem::FW::D),
            _ => return false,
        },
    };
    // ORR/BIC (immediate): cmode 0xx1 and 10x1.
    let is_orr_bic = cmode < 12 && cmode & 1 == 1;
    let v = if is_orr_bic {
        let d = vget(s, rd(r));
        let mut out = d;
        for h in 0..2 {
            let m = s.imm(if op { !imm } else { imm });
            out[h] = if op { s.and(d[h], m) } else { s.or(d[h], m) };
        }
        out
    } else {
        // MVNI: op set for the shifted 32/16-bit and MSL forms.
        let inv = op && cmode < 14;
        let x = s.imm(if inv { !imm } else { imm });
        [x, x]
    };
    vset(s, rd(r), v, q);
    true
}

fn shift_imm<S: A64Sem>(s: &mut S, r: u32, scalar: bool) -> bool {
    let (q, u) = (bit(r, 30) || scalar, bit(r, 29));
    let immh = bits(r, 19, 4);
    let immhb = bits(r, 16, 7);
    if immh == 0 {
        return false;
    }
    let es = 8 << (31 - immh.leading_zeros());
    let (shr, shl) = (2 * es - immhb, immhb - es);
    let opcode = bits(r, 11, 5);
    if scalar && es != 64 {
        return false;
    }
    if !q && es == 64 {
        return false;
    }
    let a = vget(s, rn(r));
    let qv = q && !scalar;
    let v = match (u, opcode) {
        (_, 0b00000) => s.vshift(if u { VShift::UShr } else { VShift::SShr }, es, qv, a, shr),
        (_, 0b00010) => {
            let t = s.vshift(if u { VShift::UShr } else { VShift::SShr }, es, qv, a, shr);
            let d = vget(s, rd(r));
            s.vbin(VBin::Add, es, qv, d, t)
        }
        (false, 0b01010) => s.vshift(VShift::Shl, es, qv, a, shl),
        (false, 0b10000) if !scalar && es < 64 => {
            // SHRN/SHRN2: `es` is the narrow size; shift the double-size elements.
            let v = s.vshift(VShift::Shrn, es * 2, true, a, shr);
            set_half(s, rd(r), v[0], bit(r, 30));
            return true;
        }
        (_, 0b10100) if !scalar && es < 64 => {
            // SSHLL/USHLL (SXTL/UXTL when the shift is 0).
            let w = s.vun(
                VUn::Widen {
                    high: bit(r, 30),
                    signed: !u,
                },
                es,
                true,
                a,
            );
            let v = s.vshift(VShift::Shl, es * 2, true, w, shl);
            s.set_vreg(rd(r), v);
            return true;
        }
        _ => return false,
    };
    vset(s, rd(r), v, qv);
    true
}

fn permute<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let q = bit(r, 30);
    let size = bits(r, 22, 2);
    if size == 3 && !q {
        return false;
    }
    let op = match bits(r, 12, 3) {
        1 => VBin::Uzp1,
        2 => VBin::Trn1,
        3 => VBin::Zip1,
        5 => VBin::Uzp2,
        6 => VBin::Trn2,
        7 => VBin::Zip2,
        _ => return false,
    };
    let a = vget(s, rn(r));
    let b = vget(s, rm(r));
    let v = s.vbin(op, esize_of(size), q, a, b);
    vset(s, rd(r), v, q);
    true
}

/// `(lo >> sh) | (hi << (64 - sh))` for a bit shift `sh` in 0..64.
fn funnel<S: A64Sem>(s: &mut S, lo: S::I, hi: S::I, sh: u32) -> S::I {
    if sh == 0 {
        return lo;
    }
    let a = s.imm(sh as u64);
    let b = s.imm(64 - sh as u64);
    let l = s.lshr(lo, a);
    let h = s.shl(hi, b);
    s.or(l, h)
}

fn ext<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let q = bit(r, 30);
    let imm4 = bits(r, 11, 4);
    if !q && imm4 >= 8 {
        return false;
    }
    let n = vget(s, rn(r));
    let m = vget(s, rm(r));
    let v = if q {
        let words = [n[0], n[1], m[0], m[1]];
        let start = (imm4 / 8) as usize;
        let sh = (imm4 % 8) * 8;
        let w3 = if start + 2 < 4 {
            words[start + 2]
        } else {
            s.imm(0)
        };
        let lo = funnel(s, words[start], words[start + 1], sh);
        let hi = funnel(s, words[start + 1], w3, sh);
        [lo, hi]
    } else {
        let lo = funnel(s, n[0], m[0], imm4 * 8);
        [lo, lo]
    };
    vset(s, rd(r), v, q);
    true
}

fn tbl<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let q = bit(r, 30);
    let len = bits(r, 13, 2) as u8 + 1;
    let tbx = bit(r, 12);
    let table: Vec<V<S>> = (0..len).map(|k| vget(s, (rn(r) + k) & 31)).collect();
    let idx = vget(s, rm(r));
    let fallback = if tbx {
        vget(s, rd(r))
    } else {
        let z = s.imm(0);
        [z, z]
    };
    let v = s.vtbl(&table, idx, fallback, q);
    vset(s, rd(r), v, q);
    true
}

fn scalar_pair<S: A64Sem>(s: &mut S, r: u32) -> bool {
    if bit(r, 29) && bits(r, 12, 5) == 0b01101 && !bit(r, 23) {
        // FADDP (scalar): the two elements of Vn.2S / Vn.2D.
        let w = if bit(r, 22) { FW::D } else { FW::S };
        let a = vget(s, rn(r));
        let x = lane(s, a, w.bits(), 0);
        let y = lane(s, a, w.bits(), 1);
        let v = fbin_r(s, FBin::Add, w, x, y);
        let z = s.imm(0);
        s.set_vreg(rd(r), [v, z]);
        return true;
    }
    // ADDP (scalar): Dd = Vn.D[0] + Vn.D[1].
    if bit(r, 29) || bits(r, 22, 2) != 3 || bits(r, 12, 5) != 0b11011 {
        return false;
    }
    let a = vget(s, rn(r));
    let v = s.add(a[0], a[1]);
    let z = s.imm(0);
    s.set_vreg(rd(r), [v, z]);
    true
}

// ---- floating-point vector operations (lane by lane through the scalar primitives) ----

/// The float lanes of a vector: 2 or 4 singles, 1 or 2 doubles.
fn flanes<S: A64Sem>(s: &mut S, v: V<S>, w: FW, q: bool) -> Vec<S::I> {
    let n = if q { 128 } else { 64 } / w.bits();
    (0..n).map(|i| lane(s, v, w.bits(), i)).collect()
}

fn fpack<S: A64Sem>(s: &mut S, l: &[S::I], w: FW) -> V<S> {
    let z = s.imm(0);
    let mut out = [z, z];
    for (i, &x) in l.iter().enumerate() {
        out = insert_lane(s, out, w.bits(), i as u32, x);
    }
    out
}

fn fp_three_same<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let (q, u) = (bit(r, 30), bit(r, 29));
    let w = if bit(r, 22) { FW::D } else { FW::S };
    if w == FW::D && !q {
        return false;
    }
    let (a_bit, opcode) = (bit(r, 23), bits(r, 11, 5));
    let a = vget(s, rn(r));
    let b = vget(s, rm(r));
    let la = flanes(s, a, w, q);
    let lb = flanes(s, b, w, q);
    let d = vget(s, rd(r));
    let ld = flanes(s, d, w, q);
    let mut out = Vec::with_capacity(la.len());
    let cmpmask = |s: &mut S, c: S::B| {
        let m = s.imm(ones(w.bits()));
        let z = s.imm(0);
        s.select(c, m, z)
    };
    if (u, a_bit, opcode) == (true, false, 0b11010) {
        // FADDP: pairs of the concatenation Vm:Vn.
        let cat: Vec<S::I> = la.iter().chain(&lb).copied().collect();
        for i in 0..la.len() {
            out.push(fbin_r(s, FBin::Add, w, cat[2 * i], cat[2 * i + 1]));
        }
    } else {
        for i in 0..la.len() {
            let (x, y) = (la[i], lb[i]);
            let v = match (u, a_bit, opcode) {
                (false, false, 0b11010) => fbin_r(s, FBin::Add, w, x, y),
                (false, true, 0b11010) => fbin_r(s, FBin::Sub, w, x, y),
                (true, false, 0b11011) => fbin_r(s, FBin::Mul, w, x, y),
                (true, false, 0b11111) => fbin_r(s, FBin::Div, w, x, y),
                (false, _, 0b11001) => {
                    let x = if a_bit { super::fp::neg(s, w, x) } else { x };
                    ffma_r(s, w, x, y, ld[i])
                }
                (false, false, 0b11110) => super::fp::minmax(s, w, x, y, true, false),
                (false, true, 0b11110) => super::fp::minmax(s, w, x, y, false, false),
                (false, false, 0b11000) => super::fp::minmax(s, w, x, y, true, true),
                (false, true, 0b11000) => super::fp::minmax(s, w, x, y, false, true),
                (false, false, 0b11100) => {
                    let c = s.fcmp(FCmp::Eq, w, x, y);
                    cmpmask(s, c)
                }
                (true, false, 0b11100) => {
                    let c = s.fcmp(FCmp::Le, w, y, x);
                    cmpmask(s, c)
                }
                (true, true, 0b11100) => {
                    let c = s.fcmp(FCmp::Lt, w, y, x);
                    cmpmask(s, c)
                }
                (true, true, 0b11010) => {
                    let t = fbin_r(s, FBin::Sub, w, x, y);
                    let m = s.imm(w.sign_bit() - 1);
                    s.and(t, m)
                }
                _ => return false,
            };
            out.push(v);
        }
    }
    let v = fpack(s, &out, w);
    vset(s, rd(r), v, q);
    true
}

/// FP two-register misc: conversions, FABS/FNEG/FSQRT (vector and scalar forms).
fn fp_two_misc<S: A64Sem>(s: &mut S, r: u32, scalar: bool) -> bool {
    let (q, u) = (bit(r, 30) && !scalar, bit(r, 29));
    let w = if bit(r, 22) { FW::D } else { FW::S };
    let (a_bit, opcode) = (bit(r, 23), bits(r, 12, 5));
    let a = vget(s, rn(r));
    if !scalar && !u && !a_bit && matches!(opcode, 0b10110 | 0b10111) {
        // FCVTN(2): 2D -> 2S into the low/high half; FCVTL(2): 2S of the low/high
        // half -> 2D. (The half-precision forms are not implemented.)
        if !bit(r, 22) {
            return false;
        }
        let upper = bit(r, 30);
        if opcode == 0b10110 {
            let m = super::fp::frm_value(s);
            let lo = super::fp::narrow_r(s, m, a[0]);
            let hi = super::fp::narrow_r(s, m, a[1]);
            let k = s.imm(32);
            let hi = s.shl(hi, k);
            let v = s.or(lo, hi);
            set_half(s, rd(r), v, upper);
        } else {
            let src = if upper { a[1] } else { a[0] };
            let lo = s.zext(src, 32);
            let k = s.imm(32);
            let hi = s.lshr(src, k);
            let lo = s.fcvt_float(FW::S, FW::D, lo);
            let hi = s.fcvt_float(FW::S, FW::D, hi);
            s.set_vreg(rd(r), [lo, hi]);
        }
        return true;
    }
    if w == FW::D && !q && !scalar {
        return false;
    }
    let la = if scalar {
        vec![lane(s, a, w.bits(), 0)]
    } else {
        flanes(s, a, w, q)
    };
    let mut out = Vec::with_capacity(la.len());
    for &x in &la {
        let v = match (u, a_bit, opcode) {
            (_, false, 0b11101) => from_int_r(s, w, x, w.bits(), !u),
            (_, true, 0b11011) => super::fp::to_int_rtz(s, w, x, w.bits(), !u),
            (false, true, 0b01111) => {
                let m = s.imm(w.sign_bit() - 1);
                s.and(x, m)
            }
            (true, true, 0b01111) => super::fp::neg(s, w, x),
            (true, true, 0b11111) => fsqrt_r(s, w, x),
            (false, false, 0b11000) => s.fround(w, x, Round::Rne),
            (false, false, 0b11001) => s.fround(w, x, Round::Rdn),
            (false, true, 0b11000) => s.fround(w, x, Round::Rup),
            (false, true, 0b11001) => s.fround(w, x, Round::Rtz),
            (true, false, 0b11000) => s.fround(w, x, Round::Rmm),
            (true, false, 0b11001) | (true, true, 0b11001) => super::fp::fpcr_round(s, w, x),
            (_, true, 0b01100) | (_, true, 0b01101) | (false, true, 0b01110) => {
                let z = s.imm(0);
                let c = match (u, opcode) {
                    (false, 0b01100) => s.fcmp(FCmp::Lt, w, z, x),
                    (true, 0b01100) => s.fcmp(FCmp::Le, w, z, x),
                    (false, 0b01101) => s.fcmp(FCmp::Eq, w, x, z),
                    (true, 0b01101) => s.fcmp(FCmp::Le, w, x, z),
                    _ => s.fcmp(FCmp::Lt, w, x, z),
                };
                let m = s.imm(ones(w.bits()));
                s.select(c, m, z)
            }
            _ => return false,
        };
        out.push(v);
    }
    let v = fpack(s, &out, w);
    vset(s, rd(r), v, q);
    true
}

/// Vector by indexed element: FMLA/FMLS/FMUL and MUL/MLA/MLS.
fn by_element<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let (q, u) = (bit(r, 30), bit(r, 29));
    let size = bits(r, 22, 2);
    let (l, m, h) = (bits(r, 21, 1), bits(r, 20, 1), bits(r, 11, 1));
    let opcode = bits(r, 12, 4);
    let a = vget(s, rn(r));
    let d = vget(s, rd(r));
    if !u && matches!(opcode, 0b0001 | 0b0101 | 0b1001) && size >= 2 {
        let w = if size == 3 { FW::D } else { FW::S };
        let (idx, rmi) = if w == FW::D {
            if l == 1 || !q {
                return false;
            }
            (h, rm(r))
        } else {
            ((h << 1) | l, rm(r))
        };
        let b = vget(s, rmi);
        let e = lane(s, b, w.bits(), idx);
        let la = flanes(s, a, w, q);
        let ld = flanes(s, d, w, q);
        let mut out = Vec::with_capacity(la.len());
        for i in 0..la.len() {
            out.push(match opcode {
                0b1001 => fbin_r(s, FBin::Mul, w, la[i], e),
                _ => {
                    let x = if opcode == 0b0101 {
                        super::fp::neg(s, w, la[i])
                    } else {
                        la[i]
                    };
                    ffma_r(s, w, x, e, ld[i])
                }
            });
        }
        let v = fpack(s, &out, w);
        vset(s, rd(r), v, q);
        return true;
    }
    // Integer MUL (U=0, 1000), MLA (U=1, 0000), MLS (U=1, 0100).
    let (es, idx, rmi) = match size {
        1 => (16, (h << 2) | (l << 1) | m, bits(r, 16, 4) as u8),
        2 => (32, (h << 1) | l, rm(r)),
        _ => return false,
    };
    let b = vget(s, rmi);
    let e = lane(s, b, es, idx);
    let rep = replicate(s, e, es);
    let p = s.vbin(VBin::Mul, es, q, a, [rep, rep]);
    let v = match (u, opcode) {
        (false, 0b1000) => p,
        (true, 0b0000) => s.vbin(VBin::Add, es, q, d, p),
        (true, 0b0100) => s.vbin(VBin::Sub, es, q, d, p),
        _ => return false,
    };
    vset(s, rd(r), v, q);
    true
}
