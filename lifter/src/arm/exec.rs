//! A64 instruction semantics, written once for every backend.
//!
//! [`exec`] runs one decoded instruction against an [`A64Sem`] implementation. Fields
//! are read from the raw word here; sub-encodings that are unallocated (or not
//! implemented yet) raise [`Trap::Illegal`], which the runtime turns into SIGILL
//! naming the pc and the encoding.

use super::decode::{Insn, Op};
use super::sem::A64Sem;
use crate::sem::{Cmp, Trap};

mod branch;
mod fp;
mod int;
mod mem;
mod simd;

/// Execute (or emit) one instruction at `s.pc()`.
pub fn exec<S: A64Sem>(s: &mut S, i: &Insn) {
    let r = i.raw;
    match i.op {
        Op::Adr
        | Op::AddSubImm
        | Op::LogImm
        | Op::MovWide
        | Op::Bitfield
        | Op::Extr
        | Op::LogShifted
        | Op::AddSubShifted
        | Op::AddSubExt
        | Op::AddSubCarry
        | Op::CondCmp
        | Op::CondSel
        | Op::Dp1
        | Op::Dp2
        | Op::Dp3 => int::exec(s, i.op, r),
        Op::BCond
        | Op::Svc
        | Op::Brk
        | Op::Hint
        | Op::Clrex
        | Op::Barrier
        | Op::Sys
        | Op::Mrs
        | Op::Msr
        | Op::BrReg
        | Op::B
        | Op::Cbz
        | Op::Tbz => branch::exec(s, i.op, r),
        Op::LdStExcl
        | Op::Cas
        | Op::Casp
        | Op::LdLit
        | Op::LdStPair
        | Op::LdStImm9
        | Op::LdStReg
        | Op::LdStAtomic
        | Op::LdStUImm
        | Op::VLdStMulti
        | Op::VLdStSingle => mem::exec(s, i.op, r),
        Op::FpDp1
        | Op::FpCmp
        | Op::FpImm
        | Op::FpCondCmp
        | Op::FpDp2
        | Op::FpCondSel
        | Op::FpDp3
        | Op::FpInt
        | Op::FpFixed => fp::exec(s, i.op, r),
        Op::V3Same
        | Op::V3Diff
        | Op::V2Misc
        | Op::VAcross
        | Op::VCopy
        | Op::VModImm
        | Op::VShiftImm
        | Op::VPermute
        | Op::VExt
        | Op::VTbl
        | Op::VScalarPair
        | Op::VScalarShift
        | Op::VScalar3Same
        | Op::VScalar2Misc
        | Op::VScalarCopy
        | Op::VByElem => simd::exec(s, i.op, r),
        Op::Illegal => s.trap(Trap::Illegal),
    }
}

// ---- field access ----

/// `n` bits of `raw` starting at bit `lo`.
fn bits(raw: u32, lo: u32, n: u32) -> u32 {
    (raw >> lo) & ((1u32 << n) - 1)
}
fn bit(raw: u32, b: u32) -> bool {
    (raw >> b) & 1 != 0
}
fn rd(raw: u32) -> u8 {
    bits(raw, 0, 5) as u8
}
fn rn(raw: u32) -> u8 {
    bits(raw, 5, 5) as u8
}
fn rm(raw: u32) -> u8 {
    bits(raw, 16, 5) as u8
}
fn ra(raw: u32) -> u8 {
    bits(raw, 10, 5) as u8
}
/// Sign-extend the low `n` bits of `v`.
fn sx(v: u32, n: u32) -> i64 {
    ((v as i64) << (64 - n)) >> (64 - n)
}

/// All-ones in the low `n` bits (`n` <= 64).
fn ones(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

// ---- registers ----

/// General register `r` (31 = XZR), truncated to 32 bits unless `sf`.
fn xr<S: A64Sem>(s: &mut S, r: u8, sf: bool) -> S::I {
    if r == 31 {
        return s.imm(0);
    }
    let v = s.xreg(r);
    if sf {
        v
    } else {
        s.zext(v, 32)
    }
}

/// General register `r` (31 = SP), truncated to 32 bits unless `sf`.
fn xr_sp<S: A64Sem>(s: &mut S, r: u8, sf: bool) -> S::I {
    let v = if r == 31 { s.sp() } else { s.xreg(r) };
    if sf {
        v
    } else {
        s.zext(v, 32)
    }
}

/// Write general register `r` (31 = XZR: discarded); 32-bit results are zero-extended.
fn set_xr<S: A64Sem>(s: &mut S, r: u8, v: S::I, sf: bool) {
    if r == 31 {
        return;
    }
    let v = if sf { v } else { s.zext(v, 32) };
    s.set_xreg(r, v);
}

/// Write general register `r` (31 = SP).
fn set_xr_sp<S: A64Sem>(s: &mut S, r: u8, v: S::I, sf: bool) {
    let v = if sf { v } else { s.zext(v, 32) };
    if r == 31 {
        s.set_sp(v);
    } else {
        s.set_xreg(r, v);
    }
}

// ---- flags ----

/// Pack N, Z, C, V (each 0 or 1) into the NZCV register format.
fn pack_nzcv<S: A64Sem>(s: &mut S, n: S::I, z: S::I, c: S::I, v: S::I) -> S::I {
    let (k31, k30, k29, k28) = (s.imm(31), s.imm(30), s.imm(29), s.imm(28));
    let n = s.shl(n, k31);
    let z = s.shl(z, k30);
    let c = s.shl(c, k29);
    let v = s.shl(v, k28);
    let nz = s.or(n, z);
    let cv = s.or(c, v);
    s.or(nz, cv)
}

/// `a + b + carry` in 32 (`!sf`) or 64 bits, returning the result and the NZCV it
/// produces (`a`, `b` already truncated to the width; `carry` is 0 or 1).
fn add_with_carry<S: A64Sem>(s: &mut S, a: S::I, b: S::I, carry: S::I, sf: bool) -> (S::I, S::I) {
    let w = if sf { 64 } else { 32 };
    let t = s.add(a, b);
    let sum = s.add(t, carry);
    let (r, c) = if sf {
        let c1 = s.cmp(Cmp::Ltu, t, a);
        let c2 = s.cmp(Cmp::Ltu, sum, t);
        let c = s.bool_or(c1, c2);
        (sum, s.bool_to_int(c))
    } else {
        let k32 = s.imm(32);
        let c = s.lshr(sum, k32);
        (s.zext(sum, 32), c)
    };
    let kw = s.imm(w as u64 - 1);
    let n = s.lshr(r, kw);
    let zero = s.imm(0);
    let z = s.cmp(Cmp::Eq, r, zero);
    let z = s.bool_to_int(z);
    let ar = s.xor(a, r);
    let br = s.xor(b, r);
    let ov = s.and(ar, br);
    let v = s.lshr(ov, kw);
    let v = s.zext(v, 1);
    let f = pack_nzcv(s, n, z, c, v);
    (r, f)
}

/// Flags of a logical result (N, Z; C and V cleared).
fn logic_flags<S: A64Sem>(s: &mut S, r: S::I, sf: bool) -> S::I {
    let kw = s.imm(if sf { 63 } else { 31 });
    let n = s.lshr(r, kw);
    let n = s.zext(n, 1);
    let zero = s.imm(0);
    let z = s.cmp(Cmp::Eq, r, zero);
    let z = s.bool_to_int(z);
    pack_nzcv(s, n, z, zero, zero)
}

/// The NZCV flag `b` (31 = N .. 28 = V) as 0/1.
fn flag<S: A64Sem>(s: &mut S, f: S::I, b: u64) -> S::I {
    let k = s.imm(b);
    let v = s.lshr(f, k);
    s.zext(v, 1)
}

/// Evaluate condition code `cond` against the current flags.
fn cond_holds<S: A64Sem>(s: &mut S, cond: u32) -> S::B {
    let f = s.nzcv();
    let one = s.imm(1);
    let zero = s.imm(0);
    let v = match cond >> 1 {
        0 => flag(s, f, 30),
        1 => flag(s, f, 29),
        2 => flag(s, f, 31),
        3 => flag(s, f, 28),
        4 => {
            let c = flag(s, f, 29);
            let z = flag(s, f, 30);
            let nz = s.xor(z, one);
            s.and(c, nz)
        }
        5 | 6 => {
            let n = flag(s, f, 31);
            let v = flag(s, f, 28);
            let ne = s.xor(n, v);
            let ge = s.xor(ne, one);
            if cond >> 1 == 5 {
                ge
            } else {
                let z = flag(s, f, 30);
                let nz = s.xor(z, one);
                s.and(ge, nz)
            }
        }
        _ => one,
    };
    if cond & 1 == 1 && cond != 15 {
        s.cmp(Cmp::Eq, v, zero)
    } else {
        s.cmp(Cmp::Ne, v, zero)
    }
}

/// `DecodeBitMasks` (ARM ARM): the (wmask, tmask) of a logical immediate or bitfield
/// instruction, or `None` for a reserved encoding.
fn decode_bit_masks(n: u32, imms: u32, immr: u32, imm: bool, width: u32) -> Option<(u64, u64)> {
    let combined = (n << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros();
    if len < 1 || (1 << len) > width {
        return None;
    }
    let levels = (1u32 << len) - 1;
    if imm && (imms & levels) == levels {
        return None;
    }
    let s = imms & levels;
    let r = immr & levels;
    let diff = s.wrapping_sub(r) & levels;
    let esize = 1u32 << len;
    let d = diff & levels;
    let welem = ones(s + 1);
    let telem = ones(d + 1);
    let ror = |v: u64, sh: u32| -> u64 {
        if sh == 0 {
            v
        } else {
            ((v >> sh) | (v << (esize - sh))) & ones(esize)
        }
    };
    let rep = |e: u64| -> u64 {
        let mut out = 0u64;
        let mut i = 0;
        while i < width {
            out |= e << i;
            i += esize;
        }
        out & ones(width)
    };
    Some((rep(ror(welem, r)), rep(telem)))
}

/// The bits of an 8-bit floating-point immediate (VFPExpandImm).
fn fp_imm_bits(imm8: u32, w: crate::sem::FW) -> u64 {
    fp::expand_imm(imm8, w)
}
