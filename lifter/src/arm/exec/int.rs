//! Integer data processing: immediate and register forms, flags, bitfields,
//! conditional select/compare, multiply/divide.

use super::*;
use crate::sem::Cmp;

pub(super) fn exec<S: A64Sem>(s: &mut S, op: Op, r: u32) {
    let sf = bit(r, 31);
    match op {
        Op::Adr => {
            let imm = sx((bits(r, 5, 19) << 2) | bits(r, 29, 2), 21);
            let v = if bit(r, 31) {
                (s.pc() & !0xfff).wrapping_add((imm << 12) as u64)
            } else {
                s.pc().wrapping_add(imm as u64)
            };
            let v = s.imm(v);
            set_xr(s, rd(r), v, true);
        }
        Op::AddSubImm => {
            if bit(r, 23) {
                return s.trap(Trap::Illegal);
            }
            let imm = (bits(r, 10, 12) as u64) << if bit(r, 22) { 12 } else { 0 };
            let a = xr_sp(s, rn(r), sf);
            let b = s.imm(imm);
            add_sub(s, r, a, b, true);
        }
        Op::LogImm => {
            let w = if sf { 64 } else { 32 };
            if !sf && bit(r, 22) {
                return s.trap(Trap::Illegal);
            }
            let Some((imm, _)) =
                decode_bit_masks(bits(r, 22, 1), bits(r, 10, 6), bits(r, 16, 6), true, w)
            else {
                return s.trap(Trap::Illegal);
            };
            let a = xr(s, rn(r), sf);
            let b = s.imm(imm);
            logical(s, r, a, b, true);
        }
        Op::MovWide => {
            let hw = bits(r, 21, 2);
            if (!sf && hw >= 2) || bits(r, 29, 2) == 1 {
                return s.trap(Trap::Illegal);
            }
            let sh = hw * 16;
            let imm = (bits(r, 5, 16) as u64) << sh;
            let v = match bits(r, 29, 2) {
                0 => s.imm(!imm),
                2 => s.imm(imm),
                _ => {
                    let old = xr(s, rd(r), sf);
                    let keep = s.imm(!(0xffffu64 << sh));
                    let kept = s.and(old, keep);
                    let new = s.imm(imm);
                    s.or(kept, new)
                }
            };
            set_xr(s, rd(r), v, sf);
        }
        Op::Bitfield => bitfield(s, r),
        Op::Extr => {
            let lsb = bits(r, 10, 6);
            if bit(r, 22) != sf || (!sf && lsb >= 32) {
                return s.trap(Trap::Illegal);
            }
            let hi = xr(s, rn(r), sf);
            let lo = xr(s, rm(r), sf);
            let v = if sf {
                if lsb == 0 {
                    lo
                } else {
                    let a = s.imm(lsb as u64);
                    let b = s.imm(64 - lsb as u64);
                    let l = s.lshr(lo, a);
                    let h = s.shl(hi, b);
                    s.or(l, h)
                }
            } else {
                let k32 = s.imm(32);
                let h = s.shl(hi, k32);
                let cat = s.or(h, lo);
                let a = s.imm(lsb as u64);
                s.lshr(cat, a)
            };
            set_xr(s, rd(r), v, sf);
        }
        Op::LogShifted => {
            if !sf && bit(r, 15) {
                return s.trap(Trap::Illegal);
            }
            let a = xr(s, rn(r), sf);
            let b = shifted(s, r, sf, true);
            let b = if bit(r, 21) {
                let m = s.imm(ones(if sf { 64 } else { 32 }));
                s.xor(b, m)
            } else {
                b
            };
            logical(s, r, a, b, false);
        }
        Op::AddSubShifted => {
            if bits(r, 22, 2) == 3 || (!sf && bit(r, 15)) {
                return s.trap(Trap::Illegal);
            }
            let a = xr(s, rn(r), sf);
            let b = shifted(s, r, sf, false);
            add_sub(s, r, a, b, false);
        }
        Op::AddSubExt => {
            let amount = bits(r, 10, 3);
            if amount > 4 || bits(r, 22, 2) != 0 {
                return s.trap(Trap::Illegal);
            }
            let a = xr_sp(s, rn(r), sf);
            let m = xr(s, rm(r), true);
            let e = extend(s, m, bits(r, 13, 3));
            let k = s.imm(amount as u64);
            let b = s.shl(e, k);
            let b = if sf { b } else { s.zext(b, 32) };
            add_sub(s, r, a, b, true);
        }
        Op::AddSubCarry => {
            let a = xr(s, rn(r), sf);
            let b = xr(s, rm(r), sf);
            let b = if bit(r, 30) {
                let m = s.imm(ones(if sf { 64 } else { 32 }));
                s.xor(b, m)
            } else {
                b
            };
            let f = s.nzcv();
            let c = flag(s, f, 29);
            let (v, flags) = add_with_carry(s, a, b, c, sf);
            if bit(r, 29) {
                s.set_nzcv(flags);
            }
            set_xr(s, rd(r), v, sf);
        }
        Op::CondCmp => {
            let a = xr(s, rn(r), sf);
            let b = if bit(r, 11) {
                s.imm(bits(r, 16, 5) as u64)
            } else {
                xr(s, rm(r), sf)
            };
            let (b, carry) = if bit(r, 30) {
                let m = s.imm(ones(if sf { 64 } else { 32 }));
                (s.xor(b, m), s.imm(1))
            } else {
                (b, s.imm(0))
            };
            let (_, flags) = add_with_carry(s, a, b, carry, sf);
            let c = cond_holds(s, bits(r, 12, 4));
            let alt = s.imm((bits(r, 0, 4) as u64) << 28);
            let f = s.select(c, flags, alt);
            s.set_nzcv(f);
        }
        Op::CondSel => {
            let op2 = bits(r, 10, 2);
            let c = cond_holds(s, bits(r, 12, 4));
            let a = xr(s, rn(r), sf);
            let b = xr(s, rm(r), sf);
            let b = match (bit(r, 30), op2) {
                (false, 0) => b,
                (false, 1) => {
                    let one = s.imm(1);
                    s.add(b, one)
                }
                (true, 0) => {
                    let m = s.imm(u64::MAX);
                    s.xor(b, m)
                }
                (true, 1) => {
                    let z = s.imm(0);
                    s.sub(z, b)
                }
                _ => return s.trap(Trap::Illegal),
            };
            let v = s.select(c, a, b);
            set_xr(s, rd(r), v, sf);
        }
        Op::Dp2 => dp2(s, r, sf),
        Op::Dp1 => dp1(s, r, sf),
        Op::Dp3 => dp3(s, r, sf),
        _ => s.trap(Trap::Illegal),
    }
}

/// ADD/ADDS/SUB/SUBS with operands already formed; `sp_dest`: Rd 31 is SP unless
/// flags are set (immediate and extended-register forms).
fn add_sub<S: A64Sem>(s: &mut S, r: u32, a: S::I, b: S::I, sp_dest: bool) {
    let sf = bit(r, 31);
    let sub = bit(r, 30);
    let set = bit(r, 29);
    let (b, carry) = if sub {
        let m = s.imm(ones(if sf { 64 } else { 32 }));
        (s.xor(b, m), s.imm(1))
    } else {
        (b, s.imm(0))
    };
    if set {
        let (v, f) = add_with_carry(s, a, b, carry, sf);
        s.set_nzcv(f);
        set_xr(s, rd(r), v, sf);
    } else {
        let t = s.add(a, b);
        let v = s.add(t, carry);
        if sp_dest {
            set_xr_sp(s, rd(r), v, sf);
        } else {
            set_xr(s, rd(r), v, sf);
        }
    }
}

/// AND/ORR/EOR/ANDS (opc in bits 30:29) of formed operands; the immediate form's
/// destination 31 is SP (except ANDS).
fn logical<S: A64Sem>(s: &mut S, r: u32, a: S::I, b: S::I, imm_form: bool) {
    let sf = bit(r, 31);
    let opc = bits(r, 29, 2);
    let v = match opc {
        0 | 3 => s.and(a, b),
        1 => s.or(a, b),
        _ => s.xor(a, b),
    };
    if opc == 3 {
        let f = logic_flags(s, v, sf);
        s.set_nzcv(f);
        set_xr(s, rd(r), v, sf);
    } else if imm_form {
        set_xr_sp(s, rd(r), v, sf);
    } else {
        set_xr(s, rd(r), v, sf);
    }
}

/// Rm shifted by imm6 (shift type in bits 23:22; ROR only for logical ops).
fn shifted<S: A64Sem>(s: &mut S, r: u32, sf: bool, allow_ror: bool) -> S::I {
    let v = xr(s, rm(r), sf);
    let amount = bits(r, 10, 6) as u64;
    shift_by(s, v, bits(r, 22, 2), amount, sf, allow_ror)
}

fn shift_by<S: A64Sem>(s: &mut S, v: S::I, ty: u32, amount: u64, sf: bool, ror: bool) -> S::I {
    if amount == 0 {
        return v;
    }
    let k = s.imm(amount);
    let w = if sf { 64 } else { 32 };
    let out = match ty {
        0 => s.shl(v, k),
        1 => s.lshr(v, k),
        2 => {
            let x = if sf { v } else { s.sext(v, 32) };
            s.ashr(x, k)
        }
        _ if ror => {
            let l = s.lshr(v, k);
            let kk = s.imm(w - amount);
            let h = s.shl(v, kk);
            s.or(l, h)
        }
        _ => v,
    };
    if sf {
        out
    } else {
        s.zext(out, 32)
    }
}

/// UXTB..SXTX of a 64-bit register value.
pub(super) fn extend<S: A64Sem>(s: &mut S, v: S::I, option: u32) -> S::I {
    let bits = 8 << (option & 3);
    if option & 4 != 0 {
        s.sext(v, bits)
    } else {
        s.zext(v, bits)
    }
}

/// SBFM/BFM/UBFM (and their aliases: asr/lsl/lsr immediate, sxt*/uxt*, bfi, bfxil,
/// ubfx, sbfx, ubfiz, sbfiz).
fn bitfield<S: A64Sem>(s: &mut S, r: u32) {
    let sf = bit(r, 31);
    let opc = bits(r, 29, 2);
    let (immr, imms) = (bits(r, 16, 6), bits(r, 10, 6));
    let w = if sf { 64 } else { 32 };
    if opc == 3 || bit(r, 22) != sf || (!sf && (immr >= 32 || imms >= 32)) {
        return s.trap(Trap::Illegal);
    }
    let src = xr(s, rn(r), sf);
    // `field`: the bits of the result that come from the source, in place; `mask`: which.
    let (field, mask, width, pos) = if imms >= immr {
        let width = imms - immr + 1;
        let k = s.imm(immr as u64);
        let v = s.lshr(src, k);
        (v, ones(width), width, 0)
    } else {
        let width = imms + 1;
        let pos = w - immr;
        let kp = s.imm(pos as u64);
        let v = s.shl(src, kp);
        (v, ones(width) << pos, width, pos)
    };
    let m = s.imm(mask & ones(w));
    let field = s.and(field, m);
    let v = match opc {
        // SBFM: sign-extend from the top bit of the field.
        0 => {
            let top = width + pos;
            let x = s.sext(field, top);
            s.zext(x, w)
        }
        1 => {
            let old = xr(s, rd(r), sf);
            let keep = s.imm(!mask & ones(w));
            let kept = s.and(old, keep);
            s.or(kept, field)
        }
        _ => field,
    };
    set_xr(s, rd(r), v, sf);
}

fn dp2<S: A64Sem>(s: &mut S, r: u32, sf: bool) {
    let opcode = bits(r, 10, 6);
    let a = xr(s, rn(r), sf);
    let b = xr(s, rm(r), sf);
    let w = if sf { 64 } else { 32 };
    let zero = s.imm(0);
    let v = match opcode {
        2 | 3 => {
            let signed = opcode == 3;
            let (a, b) = if signed && !sf {
                (s.sext(a, 32), s.sext(b, 32))
            } else {
                (a, b)
            };
            let bz = s.cmp(Cmp::Eq, b, zero);
            let one = s.imm(1);
            let mut d = s.select(bz, one, b);
            if signed && sf {
                // INT64_MIN / -1 wraps to INT64_MIN: divide by 1 instead.
                let min = s.imm(1 << 63);
                let m1 = s.imm(u64::MAX);
                let amin = s.cmp(Cmp::Eq, a, min);
                let bm1 = s.cmp(Cmp::Eq, b, m1);
                let ovf = s.bool_and(amin, bm1);
                d = s.select(ovf, one, d);
            }
            let q = s.div(a, d, signed);
            s.select(bz, zero, q)
        }
        8..=11 => {
            let mask = s.imm(w - 1);
            let amount = s.and(b, mask);
            match opcode {
                8 => s.shl(a, amount),
                9 => s.lshr(a, amount),
                10 => {
                    let x = if sf { a } else { s.sext(a, 32) };
                    s.ashr(x, amount)
                }
                _ => {
                    let l = s.lshr(a, amount);
                    let kw = s.imm(w);
                    let inv = s.sub(kw, amount);
                    let inv = s.and(inv, mask);
                    let h = s.shl(a, inv);
                    s.or(l, h)
                }
            }
        }
        _ => return s.trap(Trap::Illegal),
    };
    set_xr(s, rd(r), v, sf);
}

/// Reverse the bits of a 64-bit value.
fn rbit64<S: A64Sem>(s: &mut S, v: S::I) -> S::I {
    let mut v = s.bswap(v);
    for (sh, m) in [
        (4u64, 0x0f0f_0f0f_0f0f_0f0fu64),
        (2, 0x3333_3333_3333_3333),
        (1, 0x5555_5555_5555_5555),
    ] {
        let k = s.imm(sh);
        let mk = s.imm(m);
        let lo = s.and(v, mk);
        let lo = s.shl(lo, k);
        let hi = s.lshr(v, k);
        let hi = s.and(hi, mk);
        v = s.or(lo, hi);
    }
    v
}

fn dp1<S: A64Sem>(s: &mut S, r: u32, sf: bool) {
    let opcode = bits(r, 10, 6);
    if bits(r, 16, 5) != 0 {
        return s.trap(Trap::Illegal);
    }
    let a = xr(s, rn(r), sf);
    let k32 = s.imm(32);
    let v = match (opcode, sf) {
        (0, _) => {
            let x = rbit64(s, a);
            if sf {
                x
            } else {
                s.lshr(x, k32)
            }
        }
        (1, _) => {
            let m = s.imm(0x00ff_00ff_00ff_00ff);
            let k8 = s.imm(8);
            let lo = s.and(a, m);
            let lo = s.shl(lo, k8);
            let hi = s.lshr(a, k8);
            let hi = s.and(hi, m);
            s.or(lo, hi)
        }
        (2, false) | (3, true) => {
            let x = s.bswap(a);
            if sf {
                x
            } else {
                s.lshr(x, k32)
            }
        }
        (2, true) => {
            // REV32: byte-reverse each word.
            let x = s.bswap(a);
            let l = s.lshr(x, k32);
            let h = s.shl(x, k32);
            s.or(l, h)
        }
        (4, _) => s.clz(a, if sf { 64 } else { 32 }),
        (5, _) => {
            let x = if sf { a } else { s.sext(a, 32) };
            let one = s.imm(1);
            let y = s.ashr(x, one);
            let t = s.xor(x, y);
            let c = s.clz(t, if sf { 64 } else { 32 });
            s.sub(c, one)
        }
        _ => return s.trap(Trap::Illegal),
    };
    set_xr(s, rd(r), v, sf);
}

fn dp3<S: A64Sem>(s: &mut S, r: u32, sf: bool) {
    let op31 = bits(r, 21, 3);
    let o0 = bit(r, 15);
    if bits(r, 29, 2) != 0 || (!sf && op31 != 0) {
        return s.trap(Trap::Illegal);
    }
    let a = xr(s, rn(r), sf);
    let b = xr(s, rm(r), sf);
    let acc = xr(s, ra(r), sf);
    let v = match (op31, o0) {
        (0, _) => {
            let p = s.mul(a, b);
            if o0 {
                s.sub(acc, p)
            } else {
                s.add(acc, p)
            }
        }
        (1, _) | (5, _) => {
            let signed = op31 == 1;
            let (a, b) = if signed {
                (s.sext(a, 32), s.sext(b, 32))
            } else {
                (s.zext(a, 32), s.zext(b, 32))
            };
            let p = s.mul(a, b);
            if o0 {
                s.sub(acc, p)
            } else {
                s.add(acc, p)
            }
        }
        (2, false) => s.mulh(a, b, true, true),
        (6, false) => s.mulh(a, b, false, false),
        _ => return s.trap(Trap::Illegal),
    };
    set_xr(s, rd(r), v, sf);
}
