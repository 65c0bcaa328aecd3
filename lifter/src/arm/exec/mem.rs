//! Loads and stores: every addressing mode (offset, pre/post-index, register offset
//! with extend), pairs, literals, exclusives, acquire/release, LSE atomics and
//! Advanced SIMD structure loads/stores.

use super::int::extend;
use super::*;
use crate::sem::Amo;

/// Where a load/store goes and how the base register is updated.
struct Addr<I> {
    addr: I,
    /// New base register value (pre/post-index).
    writeback: Option<I>,
}

/// `Xn|SP + off` with the given indexing: 1 = post-index, 3 = pre-index, other = offset.
fn indexed<S: A64Sem>(s: &mut S, r: u32, off: i64, idx: u32) -> Addr<S::I> {
    let base = xr_sp(s, rn(r), true);
    let k = s.imm(off as u64);
    let moved = s.add(base, k);
    match idx {
        1 => Addr {
            addr: base,
            writeback: Some(moved),
        },
        3 => Addr {
            addr: moved,
            writeback: Some(moved),
        },
        _ => Addr {
            addr: moved,
            writeback: None,
        },
    }
}

fn writeback<S: A64Sem>(s: &mut S, r: u32, a: &Addr<S::I>) {
    if let Some(v) = a.writeback {
        set_xr_sp(s, rn(r), v, true);
    }
}

/// Vector register `r` as a 128-bit value.
pub(super) fn vget<S: A64Sem>(s: &mut S, r: u8) -> [S::I; 2] {
    s.vreg(r & 31)
}

/// Load `bytes` (1..16) into vector register `rt`, zeroing the rest.
fn load_v<S: A64Sem>(s: &mut S, rt: u8, addr: S::I, bytes: u32) {
    let v = if bytes == 16 {
        let lo = s.load(addr, 8);
        let k = s.imm(8);
        let a2 = s.add(addr, k);
        let hi = s.load(a2, 8);
        [lo, hi]
    } else {
        let lo = s.load(addr, bytes);
        [lo, s.imm(0)]
    };
    s.set_vreg(rt & 31, v);
}

fn store_v<S: A64Sem>(s: &mut S, rt: u8, addr: S::I, bytes: u32) {
    let v = vget(s, rt);
    if bytes == 16 {
        s.store(addr, v[0], 8);
        let k = s.imm(8);
        let a2 = s.add(addr, k);
        s.store(a2, v[1], 8);
    } else {
        s.store(addr, v[0], bytes);
    }
}

/// The single-register load/store classes sharing `size:V:opc`: returns the access
/// size in bytes, or `None` when unallocated.
fn access_size(r: u32) -> Option<u32> {
    let size = bits(r, 30, 2);
    let opc = bits(r, 22, 2);
    if bit(r, 26) {
        match (size, opc >> 1) {
            (0, 1) => Some(16),
            (_, 0) => Some(1 << size),
            _ => None,
        }
    } else {
        Some(1 << size)
    }
}

/// One LDR/STR-class access of register `rt` at `addr` (the encoding's `size:V:opc`).
fn access<S: A64Sem>(s: &mut S, r: u32, addr: S::I) -> bool {
    let Some(bytes) = access_size(r) else {
        return false;
    };
    let opc = bits(r, 22, 2);
    let rt = rd(r);
    if bit(r, 26) {
        if opc & 1 == 1 {
            load_v(s, rt, addr, bytes);
        } else {
            store_v(s, rt, addr, bytes);
        }
        return true;
    }
    match (opc, bytes) {
        (0, _) => {
            let v = xr(s, rt, true);
            s.store(addr, v, bytes);
        }
        (1, _) => {
            let v = s.load(addr, bytes);
            set_xr(s, rt, v, true);
        }
        // PRFM: a hint.
        (2, 8) => {}
        (2, _) => {
            let v = s.load(addr, bytes);
            let v = s.sext(v, bytes * 8);
            set_xr(s, rt, v, true);
        }
        (3, 1) | (3, 2) => {
            let v = s.load(addr, bytes);
            let v = s.sext(v, bytes * 8);
            set_xr(s, rt, v, false);
        }
        _ => return false,
    }
    true
}

pub(super) fn exec<S: A64Sem>(s: &mut S, op: Op, r: u32) {
    let ok = match op {
        Op::LdStUImm => access_size(r).is_some_and(|b| {
            let a = indexed(s, r, (bits(r, 10, 12) * b) as i64, 2);
            access(s, r, a.addr)
        }),
        Op::LdStImm9 => {
            let idx = bits(r, 10, 2);
            let a = indexed(s, r, sx(bits(r, 12, 9), 9), idx);
            let ok = access(s, r, a.addr);
            if ok {
                writeback(s, r, &a);
            }
            ok
        }
        Op::LdStReg => {
            let option = bits(r, 13, 3);
            match access_size(r) {
                Some(b) if option & 2 != 0 => {
                    let base = xr_sp(s, rn(r), true);
                    let m = xr(s, rm(r), true);
                    let e = extend(s, m, option);
                    let sh = if bit(r, 12) { b.trailing_zeros() } else { 0 };
                    let k = s.imm(sh as u64);
                    let off = s.shl(e, k);
                    let addr = s.add(base, off);
                    access(s, r, addr)
                }
                _ => false,
            }
        }
        Op::LdLit => {
            let target = s.pc().wrapping_add((sx(bits(r, 5, 19), 19) * 4) as u64);
            let addr = s.imm(target);
            let rt = rd(r);
            match (bit(r, 26), bits(r, 30, 2)) {
                (false, 0) | (false, 1) | (false, 2) => {
                    let bytes = if bits(r, 30, 2) == 1 { 8 } else { 4 };
                    let v = s.load(addr, bytes);
                    let v = if bits(r, 30, 2) == 2 {
                        s.sext(v, 32)
                    } else {
                        v
                    };
                    set_xr(s, rt, v, true);
                    true
                }
                (false, _) => true, // PRFM (literal)
                (true, o) if o < 3 => {
                    load_v(s, rt, addr, 4 << o);
                    true
                }
                _ => false,
            }
        }
        Op::LdStPair => pair(s, r),
        Op::LdStExcl => exclusive(s, r),
        Op::Cas => cas(s, r),
        Op::Casp => casp(s, r),
        Op::LdStAtomic => atomic(s, r),
        Op::VLdStMulti => multi(s, r),
        Op::VLdStSingle => single(s, r),
        _ => false,
    };
    if !ok {
        s.trap(Trap::Illegal);
    }
}

fn pair<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let opc = bits(r, 30, 2);
    let v = bit(r, 26);
    let load = bit(r, 22);
    let idx = bits(r, 23, 2);
    let (bytes, signed) = match (v, opc) {
        (false, 0) => (4, false),
        (false, 1) if load => (4, true),
        (false, 2) => (8, false),
        (true, 0) => (4, false),
        (true, 1) => (8, false),
        (true, 2) => (16, false),
        _ => return false,
    };
    let a = indexed(s, r, sx(bits(r, 15, 7), 7) * bytes as i64, idx);
    let (rt, rt2) = (rd(r), ra(r));
    let k = s.imm(bytes as u64);
    let a2 = s.add(a.addr, k);
    if v {
        if load {
            load_v(s, rt, a.addr, bytes);
            load_v(s, rt2, a2, bytes);
        } else {
            store_v(s, rt, a.addr, bytes);
            store_v(s, rt2, a2, bytes);
        }
    } else if load {
        let x1 = s.load(a.addr, bytes);
        let x2 = s.load(a2, bytes);
        let (x1, x2) = if signed {
            (s.sext(x1, 32), s.sext(x2, 32))
        } else {
            (x1, x2)
        };
        set_xr(s, rt, x1, true);
        set_xr(s, rt2, x2, true);
    } else {
        let x1 = xr(s, rt, true);
        let x2 = xr(s, rt2, true);
        s.store(a.addr, x1, bytes);
        s.store(a2, x2, bytes);
    }
    writeback(s, r, &a);
    true
}

/// LDXR/STXR (and acquire/release forms), LDAR/STLR.
fn exclusive<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let bytes = 1u32 << bits(r, 30, 2);
    let (o2, load, o1, o0) = (bit(r, 23), bit(r, 22), bit(r, 21), bit(r, 15));
    if o1 {
        return !o2 && exclusive_pair(s, r);
    }
    let addr = xr_sp(s, rn(r), true);
    let rt = rd(r);
    let aqrl = if o0 { 3 } else { 0 };
    match (o2, load) {
        (false, true) => {
            let v = s.load_reserved(addr, bytes, aqrl);
            set_xr(s, rt, v, true);
        }
        (false, false) => {
            let v = xr(s, rt, true);
            let v = s.zext(v, bytes * 8);
            let status = s.store_conditional(addr, v, bytes, aqrl);
            set_xr(s, rm(r), status, false);
        }
        (true, true) => {
            let v = s.load(addr, bytes);
            s.fence();
            set_xr(s, rt, v, true);
        }
        (true, false) => {
            let v = xr(s, rt, true);
            s.fence();
            s.store(addr, v, bytes);
        }
    }
    true
}

/// CAS, CASA, CASL, CASAL.
fn cas<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let bytes = 1u32 << bits(r, 30, 2);
    let addr = xr_sp(s, rn(r), true);
    let expected = xr(s, rm(r), true);
    let expected = s.zext(expected, bytes * 8);
    let new = xr(s, rd(r), true);
    let new = s.zext(new, bytes * 8);
    let old = s.cas(addr, expected, new, bytes);
    set_xr(s, rm(r), old, true);
    true
}

/// LSE: LDADD, LDCLR, LDEOR, LDSET, LD{S,U}{MAX,MIN}, SWP (all ordering variants).
fn atomic<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let bytes = 1u32 << bits(r, 30, 2);
    if bit(r, 26) {
        return false;
    }
    let (o3, opc) = (bit(r, 15), bits(r, 12, 3));
    let addr = xr_sp(s, rn(r), true);
    let v = xr(s, rm(r), true);
    let mut v = s.zext(v, bytes * 8);
    let op = match (o3, opc) {
        (false, 0) => Amo::Add,
        (false, 1) => {
            let m = s.imm(ones(bytes * 8));
            v = s.xor(v, m);
            Amo::And
        }
        (false, 2) => Amo::Xor,
        (false, 3) => Amo::Or,
        (false, 4) => Amo::Max,
        (false, 5) => Amo::Min,
        (false, 6) => Amo::Maxu,
        (false, 7) => Amo::Minu,
        (true, 0) => Amo::Swap,
        _ => return false,
    };
    let aqrl = bits(r, 22, 2) as u8;
    let old = s.amo(op, addr, v, bytes, aqrl);
    set_xr(s, rd(r), old, true);
    true
}

/// LD1/ST1 (multiple structures, 1-4 registers), with optional post-index.
fn multi<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let q = bit(r, 30);
    let load = bit(r, 22);
    let nregs = match bits(r, 12, 4) {
        0b0111 => 1,
        0b1010 => 2,
        0b0110 => 3,
        0b0010 => 4,
        0b1000 => return interleaved(s, r, 2),
        0b0100 => return interleaved(s, r, 3),
        0b0000 => return interleaved(s, r, 4),
        _ => return false,
    };
    let bytes = if q { 16 } else { 8 };
    let base = xr_sp(s, rn(r), true);
    for k in 0..nregs {
        let off = s.imm(k as u64 * bytes as u64);
        let addr = s.add(base, off);
        let rt = (rd(r) + k) & 31;
        if load {
            load_v(s, rt, addr, bytes);
        } else {
            store_v(s, rt, addr, bytes);
        }
    }
    post_index(s, r, base, nregs as u64 * bytes as u64);
    true
}

/// Post-index of the structure loads/stores: by `total` (Rm = 31) or by Rm.
fn post_index<S: A64Sem>(s: &mut S, r: u32, base: S::I, total: u64) {
    if !bit(r, 23) {
        return;
    }
    let inc = if rm(r) == 31 {
        s.imm(total)
    } else {
        xr(s, rm(r), true)
    };
    let v = s.add(base, inc);
    set_xr_sp(s, rn(r), v, true);
}

/// LD1/ST1 (single structure, one lane) and LD1R.
fn single<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let q = bit(r, 30);
    let load = bit(r, 22);
    if bit(r, 21) || bit(r, 13) {
        return false; // LD2..LD4 forms
    }
    let opcode = bits(r, 13, 3);
    let (sbit, size) = (bits(r, 12, 1), bits(r, 10, 2));
    let qi = bits(r, 30, 1);
    let base = xr_sp(s, rn(r), true);
    let rt = rd(r);
    let (esize, index) = match opcode {
        0 => (8, (qi << 3) | (sbit << 2) | size),
        2 if size & 1 == 0 => (16, (qi << 2) | (sbit << 1) | (size >> 1)),
        4 if size == 0 => (32, (qi << 1) | sbit),
        4 if size == 1 && sbit == 0 => (64, qi),
        6 if load && sbit == 0 => {
            // LD1R: replicate one element to all lanes.
            let es = 8u32 << size;
            let v = s.load(base, es / 8);
            let rep = super::simd::replicate(s, v, es);
            let hi = if q { rep } else { s.imm(0) };
            s.set_vreg(rt, [rep, hi]);
            post_index(s, r, base, es as u64 / 8);
            return true;
        }
        _ => return false,
    };
    let cur = vget(s, rt);
    if load {
        let v = s.load(base, esize / 8);
        let out = super::simd::insert_lane(s, cur, esize, index, v);
        s.set_vreg(rt, out);
    } else {
        let v = super::simd::lane(s, cur, esize, index);
        s.store(base, v, esize / 8);
    }
    post_index(s, r, base, esize as u64 / 8);
    true
}

/// LD2/LD3/LD4 and ST2/ST3/ST4 (multiple structures): element `i` of register `k` is
/// structure `i`'s member `k`.
fn interleaved<S: A64Sem>(s: &mut S, r: u32, selem: u8) -> bool {
    let q = bit(r, 30);
    let load = bit(r, 22);
    let es = 8u32 << bits(r, 10, 2);
    if es == 64 && !q {
        return false;
    }
    let elems = if q { 128 } else { 64 } / es;
    let base = xr_sp(s, rn(r), true);
    let z = s.imm(0);
    let mut regs: Vec<[S::I; 2]> = (0..selem)
        .map(|k| if load { [z, z] } else { vget(s, rd(r) + k) })
        .collect();
    for i in 0..elems {
        for (k, reg) in regs.iter_mut().enumerate() {
            let off = s.imm(((i * selem as u32 + k as u32) * es / 8) as u64);
            let addr = s.add(base, off);
            if load {
                let v = s.load(addr, es / 8);
                *reg = super::simd::insert_lane(s, *reg, es, i, v);
            } else {
                let v = super::simd::lane(s, *reg, es, i);
                s.store(addr, v, es / 8);
            }
        }
    }
    if load {
        for (k, reg) in regs.into_iter().enumerate() {
            s.set_vreg((rd(r) + k as u8) & 31, reg);
        }
    }
    post_index(s, r, base, (elems * selem as u32 * es / 8) as u64);
    true
}

/// LDXP/LDAXP/STXP/STLXP: two 32-bit registers are one 64-bit exclusive access, two
/// 64-bit registers one 128-bit access.
fn exclusive_pair<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let wide = bit(r, 30);
    if !bit(r, 31) {
        return false; // size 0x with o1: CASP (decoded separately) or unallocated
    }
    let load = bit(r, 22);
    let aqrl = if bit(r, 15) { 3 } else { 0 };
    let addr = xr_sp(s, rn(r), true);
    let (rt, rt2) = (rd(r), ra(r));
    let k32 = s.imm(32);
    match (load, wide) {
        (true, false) => {
            let v = s.load_reserved(addr, 8, aqrl);
            let hi = s.lshr(v, k32);
            set_xr(s, rt, v, false);
            set_xr(s, rt2, hi, false);
        }
        (true, true) => {
            let v = s.load_exclusive_pair(addr);
            set_xr(s, rt, v[0], true);
            set_xr(s, rt2, v[1], true);
        }
        (false, false) => {
            let lo = xr(s, rt, false);
            let hi = xr(s, rt2, false);
            let hi = s.shl(hi, k32);
            let v = s.or(lo, hi);
            let status = s.store_conditional(addr, v, 8, aqrl);
            set_xr(s, rm(r), status, false);
        }
        (false, true) => {
            let lo = xr(s, rt, true);
            let hi = xr(s, rt2, true);
            let status = s.store_exclusive_pair(addr, [lo, hi]);
            set_xr(s, rm(r), status, false);
        }
    }
    true
}

/// CASP, CASPA, CASPL, CASPAL: register pairs (even-numbered first registers).
fn casp<S: A64Sem>(s: &mut S, r: u32) -> bool {
    let wide = bit(r, 30);
    let (rs, rt) = (rm(r), rd(r));
    if rs % 2 == 1 || rt % 2 == 1 {
        return false;
    }
    let addr = xr_sp(s, rn(r), true);
    if wide {
        let e = [xr(s, rs, true), xr(s, rs + 1, true)];
        let n = [xr(s, rt, true), xr(s, rt + 1, true)];
        let old = s.cas_pair(addr, e, n);
        set_xr(s, rs, old[0], true);
        set_xr(s, rs + 1, old[1], true);
    } else {
        let k32 = s.imm(32);
        let pack = |s: &mut S, a: u8| {
            let lo = xr(s, a, false);
            let hi = xr(s, a + 1, false);
            let hi = s.shl(hi, k32);
            s.or(lo, hi)
        };
        let e = pack(s, rs);
        let n = pack(s, rt);
        let old = s.cas(addr, e, n, 8);
        let hi = s.lshr(old, k32);
        set_xr(s, rs, old, false);
        set_xr(s, rs + 1, hi, false);
    }
    true
}
