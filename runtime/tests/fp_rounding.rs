//! F/D rounding modes in the interpreter (the shared semantics of `rv::exec::fp` on
//! concrete values): every rounding arithmetic operation × every static mode and every
//! dynamic `frm`, against two references:
//!
//! - the host: x86-64 honours RNE/RTZ/RDN/RUP (`fesetround` + the host operation);
//! - a small exact software model in this file (exact integer arithmetic, then one
//!   rounding), which also gives RMM; it is itself checked against the host.
//!
//! Inputs: hand-picked edge cases (ties, halfway subnormals, overflow to inf or max,
//! exact results, negative values, zero results and their sign) plus many pseudo-random
//! operands biased toward those regions.

use std::hint::black_box;

use vmx_lifter::rv::decode;
use vmx_lifter::sem::Round;
use vmx_lifter::state::RvState;
use vmx_runtime::interp::{run_block, BlockExit, DecodedBlock};

// ---- running one instruction in the interpreter ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fmt {
    S,
    D,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    /// fmadd, fmsub, fnmsub, fnmadd.
    Fma(u8),
    /// fcvt.s.d
    CvtSD,
    /// fcvt.{s,d}.{w,wu,l,lu}: (64-bit source, signed)
    FromInt(bool, bool),
}

/// A static or dynamic rounding: `rm` field and `frm`.
#[derive(Clone, Copy, Debug)]
struct Rm {
    rm: u8,
    frm: u8,
}

impl Rm {
    fn mode(self) -> Round {
        let m = if self.rm == 7 { self.frm } else { self.rm };
        Round::from_bits(m as u64).unwrap()
    }
}

fn all_rms() -> Vec<Rm> {
    let mut v: Vec<Rm> = (0..5).map(|rm| Rm { rm, frm: 0 }).collect();
    v.extend((0..5).map(|frm| Rm { rm: 7, frm }));
    // A static mode ignores frm.
    v.push(Rm { rm: 1, frm: 3 });
    v
}

fn encode(op: Op, f: Fmt, rm: u8) -> u32 {
    let fmt = (f == Fmt::D) as u32;
    let (rd, rs1, rs2, rs3) = (4u32, 1u32, 2u32, 3u32);
    let rm = rm as u32;
    let opfp = |funct7: u32, rs2: u32, rs1: u32| {
        funct7 << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | 0x53
    };
    match op {
        Op::Add => opfp(fmt, rs2, rs1),
        Op::Sub => opfp(0b0000100 | fmt, rs2, rs1),
        Op::Mul => opfp(0b0001000 | fmt, rs2, rs1),
        Op::Div => opfp(0b0001100 | fmt, rs2, rs1),
        Op::Sqrt => opfp(0b0101100 | fmt, 0, rs1),
        Op::CvtSD => opfp(0b0100000, 1, rs1),
        Op::FromInt(wide, signed) => {
            let kind = (wide as u32) << 1 | (!signed) as u32;
            opfp(0b1101000 | fmt, kind, 5)
        }
        Op::Fma(k) => {
            let opcode = [0x43, 0x47, 0x4b, 0x4f][k as usize];
            rs3 << 27 | fmt << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | opcode
        }
    }
}

const BOX: u64 = 0xffff_ffff_0000_0000;

/// Run `op` in the interpreter on raw operand bits (`x` for integer sources).
fn interp(op: Op, f: Fmt, rm: Rm, a: u64, b: u64, c: u64) -> u64 {
    let insn = decode(encode(op, f, rm.rm));
    assert_ne!(insn.op, vmx_lifter::rv::Op::Illegal, "{op:?} {f:?} {rm:?}");
    let mut st = RvState::default();
    let src = if op == Op::CvtSD { Fmt::D } else { f };
    let boxed = |v: u64| match src {
        Fmt::S => BOX | v,
        Fmt::D => v,
    };
    st.f[1] = boxed(a);
    st.f[2] = boxed(b);
    st.f[3] = boxed(c);
    st.x[5] = a;
    st.fcsr = (rm.frm as u64) << 5;
    let block = DecodedBlock {
        insns: vec![(0x1000, insn)],
    };
    let mut dummy = [0u8; 16];
    let exit = run_block(&mut st, dummy.as_mut_ptr(), &block);
    assert_eq!(exit, BlockExit::Done);
    match f {
        Fmt::S => {
            assert_eq!(st.f[4] & BOX, BOX, "single result not NaN-boxed");
            st.f[4] & 0xffff_ffff
        }
        Fmt::D => st.f[4],
    }
}

// ---- the host reference (RNE, RTZ, RDN, RUP) ----

extern "C" {
    fn fesetround(mode: i32) -> i32;
}

fn host_mode(m: Round) -> Option<i32> {
    Some(match m {
        Round::Rne => 0,
        Round::Rdn => 0x400,
        Round::Rup => 0x800,
        Round::Rtz => 0xc00,
        Round::Rmm => return None,
    })
}

/// `op` computed by the host in mode `m` (not RMM).
fn host(op: Op, f: Fmt, m: Round, a: u64, b: u64, c: u64) -> u64 {
    let mode = host_mode(m).expect("x86 has no RMM");
    // SAFETY: fesetround only changes this thread's floating-point environment; it is
    // restored below. black_box keeps the operation between the two calls.
    assert_eq!(unsafe { fesetround(mode) }, 0);
    let (a, b, c) = (black_box(a), black_box(b), black_box(c));
    let r = match f {
        Fmt::S => {
            let (x, y, z) = (
                f32::from_bits(a as u32),
                f32::from_bits(b as u32),
                f32::from_bits(c as u32),
            );
            let r = match op {
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::Mul => x * y,
                Op::Div => x / y,
                Op::Sqrt => x.sqrt(),
                Op::Fma(k) => {
                    let (x, z) = (
                        if k >= 2 { -x } else { x },
                        if k == 1 || k == 3 { -z } else { z },
                    );
                    x.mul_add(y, z)
                }
                Op::CvtSD => f64::from_bits(a) as f32,
                Op::FromInt(false, true) => a as i32 as f32,
                Op::FromInt(false, false) => a as u32 as f32,
                Op::FromInt(true, true) => a as i64 as f32,
                // LLVM's u64 conversion gives -0.0 for 0 when rounding down.
                Op::FromInt(true, false) => u64_to(a, |v| v as f32, |x| x + x),
            };
            black_box(r).to_bits() as u64
        }
        Fmt::D => {
            let (x, y, z) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
            let r = match op {
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::Mul => x * y,
                Op::Div => x / y,
                Op::Sqrt => x.sqrt(),
                Op::Fma(k) => {
                    let (x, z) = (
                        if k >= 2 { -x } else { x },
                        if k == 1 || k == 3 { -z } else { z },
                    );
                    x.mul_add(y, z)
                }
                Op::CvtSD => unreachable!(),
                Op::FromInt(false, true) => a as i32 as f64,
                Op::FromInt(false, false) => a as u32 as f64,
                Op::FromInt(true, true) => a as i64 as f64,
                Op::FromInt(true, false) => u64_to(a, |v| v as f64, |x| x + x),
            };
            black_box(r).to_bits()
        }
    };
    // SAFETY: as above.
    unsafe { fesetround(0) };
    r
}

/// u64 to float through the signed conversion (cvtsi2s*), halving with a sticky bit
/// above 2^63: one rounding, in the current mode.
fn u64_to<F>(a: u64, cvt: impl Fn(i64) -> F, double: impl Fn(F) -> F) -> F {
    if (a as i64) >= 0 {
        cvt(a as i64)
    } else {
        double(cvt((a >> 1 | a & 1) as i64))
    }
}

// ---- the exact software reference (all five modes) ----

impl Fmt {
    fn p(self) -> i32 {
        match self {
            Fmt::S => 24,
            Fmt::D => 53,
        }
    }
    /// Exponent of the least significant bit of the smallest subnormal.
    fn emin_lsb(self) -> i32 {
        match self {
            Fmt::S => -149,
            Fmt::D => -1074,
        }
    }
    fn exp_max(self) -> u64 {
        match self {
            Fmt::S => 0xff,
            Fmt::D => 0x7ff,
        }
    }
    fn sign(self) -> u64 {
        match self {
            Fmt::S => 1 << 31,
            Fmt::D => 1 << 63,
        }
    }
    fn is_nan(self, v: u64) -> bool {
        match self {
            Fmt::S => f32::from_bits(v as u32).is_nan(),
            Fmt::D => f64::from_bits(v).is_nan(),
        }
    }
}

/// `(-1)^neg * m * 2^e`, exact, or "jammed": an odd `m` standing for a value strictly
/// between `m - 1` and `m + 1` that no rounding boundary separates from `m`.
#[derive(Clone, Copy, Debug)]
struct Val {
    neg: bool,
    m: u128,
    e: i32,
}

/// A finite value's parts; `None` for infinities and NaNs.
fn parts(f: Fmt, bits: u64) -> Option<Val> {
    let p = f.p() as u32;
    let frac = bits & ((1u64 << (p - 1)) - 1);
    let exp = (bits >> (p - 1)) & f.exp_max();
    let neg = bits & f.sign() != 0;
    if exp == f.exp_max() {
        return None;
    }
    Some(if exp == 0 {
        Val {
            neg,
            m: frac as u128,
            e: f.emin_lsb(),
        }
    } else {
        Val {
            neg,
            m: (frac | 1 << (p - 1)) as u128,
            e: exp as i32 - 1 + f.emin_lsb(),
        }
    })
}

/// Shift `v` so that its top bit is bit `top` (m != 0).
fn norm(v: Val, top: i32) -> Val {
    let nb = 128 - v.m.leading_zeros() as i32;
    let sh = top + 1 - nb;
    assert!(sh >= 0);
    Val {
        neg: v.neg,
        m: v.m << sh,
        e: v.e - sh,
    }
}

/// Round a nonzero value to format `f` in mode `mode`.
fn round(f: Fmt, v: Val, mode: Round) -> u64 {
    let p = f.p();
    let nb = 128 - v.m.leading_zeros() as i32;
    let top = v.e + nb - 1;
    let mut lsb = (top - (p - 1)).max(f.emin_lsb());
    let sh = lsb - v.e;
    let (mut q, rem, half) = if sh <= 0 {
        (v.m << -sh, 0u128, 1u128)
    } else if sh >= 128 {
        (0, v.m, u128::MAX) // far below half
    } else {
        (v.m >> sh, v.m & ((1u128 << sh) - 1), 1u128 << (sh - 1))
    };
    let up = match mode {
        Round::Rne => rem > half || (rem == half && q & 1 == 1),
        Round::Rmm => rem >= half,
        Round::Rtz => false,
        Round::Rup => rem != 0 && !v.neg,
        Round::Rdn => rem != 0 && v.neg,
    };
    q += up as u128;
    if q == 1u128 << p {
        q >>= 1;
        lsb += 1;
    }
    let sign = if v.neg { f.sign() } else { 0 };
    let pm = (p - 1) as u32;
    if q >= 1u128 << pm {
        let e = (lsb - f.emin_lsb() + 1) as u64;
        if e >= f.exp_max() {
            let to_inf = match mode {
                Round::Rne | Round::Rmm => true,
                Round::Rtz => false,
                Round::Rup => !v.neg,
                Round::Rdn => v.neg,
            };
            let inf = f.exp_max() << pm;
            return sign | if to_inf { inf } else { inf - 1 };
        }
        sign | e << pm | (q as u64 & ((1u64 << pm) - 1))
    } else {
        sign | q as u64
    }
}

/// Exact sum; `None` when it is zero.
fn add(a: Val, b: Val) -> Option<Val> {
    if a.m == 0 {
        return (b.m != 0).then_some(b);
    }
    if b.m == 0 {
        return Some(a);
    }
    let (a, b) = (norm(a, 120), norm(b, 120));
    let (a, b) = if a.e >= b.e { (a, b) } else { (b, a) };
    let d = a.e - b.e;
    let bm = if d >= 128 {
        1
    } else {
        (b.m >> d) | ((b.m & ((1u128 << d) - 1)) != 0) as u128
    };
    let (neg, m) = if a.neg == b.neg {
        (a.neg, a.m + bm)
    } else if a.m >= bm {
        (a.neg, a.m - bm)
    } else {
        (b.neg, bm - a.m)
    };
    (m != 0).then_some(Val { neg, m, e: a.e })
}

fn mul(a: Val, b: Val) -> Val {
    Val {
        neg: a.neg != b.neg,
        m: a.m * b.m,
        e: a.e + b.e,
    }
}

fn div(a: Val, b: Val) -> Val {
    let a = norm(a, 63);
    let num = a.m << 64;
    let (q, rem) = (num / b.m, num % b.m);
    Val {
        neg: a.neg != b.neg,
        m: q | (rem != 0) as u128,
        e: a.e - 64 - b.e,
    }
}

fn isqrt(n: u128) -> u128 {
    let mut x = (n as f64).sqrt() as u128;
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

fn sqrt(a: Val) -> Val {
    let mut a = norm(a, 120);
    if a.e % 2 != 0 {
        a.m <<= 1;
        a.e -= 1;
    }
    let s = isqrt(a.m);
    Val {
        neg: false,
        m: s | (s * s != a.m) as u128,
        e: a.e / 2,
    }
}

/// The exactly rounded result; `None` when the operation involves infinities or NaNs,
/// divides by zero or takes the square root of a negative number (the host decides).
fn reference(op: Op, f: Fmt, mode: Round, a: u64, b: u64, c: u64) -> Option<u64> {
    let rdn = mode == Round::Rdn;
    // Sign of an exact zero sum (IEEE 754 6.3).
    let zero_sum = |sa: bool, sb: bool| if rdn { sa || sb } else { sa && sb };
    let zero = |neg: bool| if neg { f.sign() } else { 0 };
    let src = if op == Op::CvtSD { Fmt::D } else { f };
    let (va, vb, vc) = match op {
        Op::FromInt(..) => (None, None, None),
        _ => (Some(parts(src, a)?), parts(src, b), parts(src, c)),
    };
    let x = match op {
        Op::Add | Op::Sub => {
            let (va, mut vb) = (va?, vb?);
            vb.neg ^= op == Op::Sub;
            match add(va, vb) {
                Some(x) => x,
                None => return Some(zero(zero_sum(va.neg, vb.neg))),
            }
        }
        Op::Mul => {
            let x = mul(va?, vb?);
            if x.m == 0 {
                return Some(zero(x.neg));
            }
            x
        }
        Op::Div => {
            let (va, vb) = (va?, vb?);
            if vb.m == 0 {
                return None;
            }
            if va.m == 0 {
                return Some(zero(va.neg != vb.neg));
            }
            div(va, vb)
        }
        Op::Sqrt => {
            let va = va?;
            if va.m == 0 {
                return Some(zero(va.neg));
            }
            if va.neg {
                return None;
            }
            sqrt(va)
        }
        Op::Fma(k) => {
            let (mut va, vb, mut vc) = (va?, vb?, vc?);
            va.neg ^= k >= 2;
            vc.neg ^= k == 1 || k == 3;
            let p = mul(va, vb);
            match add(p, vc) {
                Some(x) => x,
                None => return Some(zero(zero_sum(p.neg, vc.neg))),
            }
        }
        Op::CvtSD => {
            let va = va?;
            if va.m == 0 {
                return Some(zero(va.neg));
            }
            va
        }
        Op::FromInt(wide, signed) => {
            let v = match (wide, signed) {
                (false, true) => a as i32 as i128,
                (false, false) => a as u32 as i128,
                (true, true) => a as i64 as i128,
                (true, false) => a as i128,
            };
            if v == 0 {
                return Some(0);
            }
            Val {
                neg: v < 0,
                m: v.unsigned_abs(),
                e: 0,
            }
        }
    };
    Some(round(f, x, mode))
}

// ---- checking ----

/// What `op` must give in mode `m`: the exact reference, checked against the host for
/// the modes the host has; the host (RNE) where the reference declines.
fn expected(op: Op, f: Fmt, m: Round, a: u64, b: u64, c: u64) -> u64 {
    match reference(op, f, m, a, b, c) {
        Some(r) => {
            if m != Round::Rmm {
                let h = host(op, f, m, a, b, c);
                assert!(
                    h == r || (f.is_nan(h) && f.is_nan(r)),
                    "reference model disagrees with the host: {op:?} {f:?} {m:?} \
                     a={a:#x} b={b:#x} c={c:#x}: model {r:#x}, host {h:#x}"
                );
            }
            r
        }
        None => {
            let h = host(op, f, Round::Rne, a, b, c);
            for other in [Round::Rtz, Round::Rdn, Round::Rup] {
                let o = host(op, f, other, a, b, c);
                assert!(o == h || (f.is_nan(o) && f.is_nan(h)));
            }
            h
        }
    }
}

fn check(op: Op, f: Fmt, a: u64, b: u64, c: u64, failures: &mut Vec<String>) {
    for rm in all_rms() {
        let want = expected(op, f, rm.mode(), a, b, c);
        let want = if f.is_nan(want) {
            match f {
                Fmt::S => 0x7fc0_0000,
                Fmt::D => 0x7ff8_0000_0000_0000,
            }
        } else {
            want
        };
        let got = interp(op, f, rm, a, b, c);
        if got != want && failures.len() < 40 {
            failures.push(format!(
                "{op:?} {f:?} rm={} frm={} ({:?}) a={a:#x} b={b:#x} c={c:#x}: got {got:#x}, want {want:#x}",
                rm.rm,
                rm.frm,
                rm.mode()
            ));
        }
    }
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// xorshift64*: deterministic pseudo-random operands.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// An operand of format `f`: uniform bits, values near 1, short mantissas (ties),
    /// subnormals, values near max-finite, small integers, zeros.
    fn operand(&mut self, f: Fmt) -> u64 {
        let (p, bits) = (f.p() as u64, if f == Fmt::S { 32 } else { 64 });
        let exp_bias = f.exp_max() >> 1;
        let sign = if self.next() & 1 == 1 { f.sign() } else { 0 };
        let mant_mask = (1u64 << (p - 1)) - 1;
        let r = self.next();
        let v = match self.below(8) {
            0 => r & (u64::MAX >> (64 - bits)) & !f.sign(),
            1 => (exp_bias + self.below(5) - 2) << (p - 1) | (r & mant_mask),
            // Few significant bits: sums and products land on ties.
            2 => {
                let e = exp_bias + self.below(60) - 30;
                e << (p - 1) | (r & mant_mask & !(mant_mask >> self.below(6)))
            }
            3 => r & mant_mask >> self.below(p),
            4 => (f.exp_max() - 1 - self.below(3)) << (p - 1) | (r & mant_mask),
            5 => (1 + self.below(3)) << (p - 1) | (r & mant_mask),
            6 => match f {
                Fmt::S => ((self.below(2000) as f32) / 8.0).to_bits() as u64,
                Fmt::D => ((self.below(2000) as f64) / 8.0).to_bits(),
            },
            _ => [0, 1, mant_mask, 1 << (p - 1), exp_bias << (p - 1)][self.below(5) as usize],
        };
        sign | v
    }
}

const ARITH: [Op; 5] = [Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Sqrt];

fn f64b(x: f64) -> u64 {
    x.to_bits()
}
fn f32b(x: f32) -> u64 {
    x.to_bits() as u64
}

#[test]
fn edge_cases_double() {
    let mut failures = Vec::new();
    let max = f64::MAX;
    let min_sub = f64::from_bits(1);
    let min_norm = f64::MIN_POSITIVE;
    let eps = f64::EPSILON;
    let cases: &[(Op, f64, f64, f64)] = &[
        // Ties in addition: 1 + 2^-53 (even: down), (1 + 2^-52) + 2^-53 (odd: up).
        (Op::Add, 1.0, eps / 2.0, 0.0),
        (Op::Add, 1.0 + eps, eps / 2.0, 0.0),
        (Op::Add, -1.0, -eps / 2.0, 0.0),
        (Op::Sub, 1.0, eps / 4.0, 0.0),
        (Op::Sub, 1.0, eps / 8.0, 0.0),
        // Exact results.
        (Op::Add, 1.5, 2.25, 0.0),
        (Op::Mul, 3.0, -7.0, 0.0),
        (Op::Div, 1.0, 8.0, 0.0),
        (Op::Sqrt, 16.0, 0.0, 0.0),
        // Zero results with sign.
        (Op::Add, 1.0, -1.0, 0.0),
        (Op::Sub, 0.1, 0.1, 0.0),
        (Op::Add, -0.0, 0.0, 0.0),
        (Op::Add, -0.0, -0.0, 0.0),
        (Op::Sub, 0.0, 0.0, 0.0),
        (Op::Mul, -0.0, 5.0, 0.0),
        (Op::Sqrt, -0.0, 0.0, 0.0),
        // Overflow: to inf or max-finite by mode.
        (Op::Add, max, max, 0.0),
        (Op::Add, -max, -max, 0.0),
        (Op::Add, max, max * eps / 4.0, 0.0),
        (Op::Add, max, max * eps / 2.0, 0.0),
        (Op::Mul, max, 1.5, 0.0),
        (Op::Mul, -max, 1.0 + eps, 0.0),
        (Op::Div, max, 0.5, 0.0),
        (Op::Div, -max, 0.75, 0.0),
        // Underflow: halfway subnormals and results below the smallest subnormal.
        (Op::Mul, min_sub, 0.5, 0.0),
        (Op::Mul, min_sub, -0.5, 0.0),
        (Op::Mul, 3.0 * min_sub, 0.5, 0.0),
        (Op::Mul, min_sub, 0.25, 0.0),
        (Op::Mul, min_sub, 0.75, 0.0),
        (Op::Mul, 1e-300, 1e-300, 0.0),
        (Op::Mul, -1e-300, 1e-300, 0.0),
        (Op::Mul, min_norm, 1.0 - eps / 2.0, 0.0),
        (Op::Mul, min_norm, -(1.0 - eps / 2.0), 0.0),
        (Op::Div, min_sub, 2.0, 0.0),
        (Op::Div, 3.0 * min_sub, 2.0, 0.0),
        (Op::Div, -min_sub, 3.0, 0.0),
        (Op::Div, min_sub, 1e300, 0.0),
        (Op::Div, min_norm, 3.0, 0.0),
        (Op::Div, 1e-310, 1e-10, 0.0),
        (Op::Sqrt, min_sub, 0.0, 0.0),
        (Op::Sqrt, 3.0 * min_sub, 0.0, 0.0),
        (Op::Sqrt, 2.0, 0.0, 0.0),
        (Op::Sqrt, max, 0.0, 0.0),
        // The dynamic-mode results of samples/float_printf.
        (Op::Div, 1.0, 3.0, 0.0),
        (Op::Div, -1.0, 3.0, 0.0),
        // Specials: no rounding.
        (Op::Add, f64::INFINITY, -1.0, 0.0),
        (Op::Sub, f64::INFINITY, f64::INFINITY, 0.0),
        (Op::Mul, f64::INFINITY, 0.0, 0.0),
        (Op::Div, 1.0, 0.0, 0.0),
        (Op::Div, -1.0, 0.0, 0.0),
        (Op::Div, 0.0, 0.0, 0.0),
        (Op::Sqrt, -1.0, 0.0, 0.0),
        (Op::Sqrt, f64::INFINITY, 0.0, 0.0),
        (Op::Add, f64::NAN, 1.0, 0.0),
        // FMA: ties, exact zeros, overflow.
        (Op::Fma(0), 1.0, 1.0, eps / 2.0),
        (Op::Fma(0), 1.0 + eps, 1.0 - eps, 0.0),
        (Op::Fma(0), 0.1, 10.0, -1.0),
        (Op::Fma(0), 2.0, 3.0, -6.0),
        (Op::Fma(1), 2.0, 3.0, 6.0),
        (Op::Fma(2), 2.0, 3.0, 6.0),
        (Op::Fma(3), 2.0, 3.0, -6.0),
        (Op::Fma(0), 0.0, -1.0, 0.0),
        (Op::Fma(0), max, 2.0, -max),
        (Op::Fma(0), max, 1.5, 0.0),
        (Op::Fma(2), max, 1.5, 0.0),
        (Op::Fma(0), f64::INFINITY, 1.0, -1.0),
        // A tiny product and an infinite addend: exactly infinite (found by rv_fuzz).
        (Op::Fma(0), min_sub, 1.46e7, f64::NEG_INFINITY),
        (Op::Fma(1), min_sub, 1.46e7, f64::INFINITY),
        (Op::Fma(0), -min_sub, 3.0, f64::INFINITY),
    ];
    for &(op, a, b, c) in cases {
        check(op, Fmt::D, f64b(a), f64b(b), f64b(c), &mut failures);
    }
    // Integer sources: ties (2^53 + 1, 2^54 + 2, ...), the top of each range.
    let ints: &[u64] = &[
        0,
        1,
        u64::MAX,
        i64::MIN as u64,
        i64::MAX as u64,
        (1 << 53) + 1,
        (1 << 53) + 3,
        (1 << 54) + 2,
        (1 << 54) + 6,
        (1 << 54) + 1,
        (-(1i64 << 53) - 1) as u64,
        (-(1i64 << 53) - 3) as u64,
        u64::MAX - 1023,
        u64::MAX - 1024,
        u64::MAX - 2047,
        0x8000_0000_0000_0400,
        0x8000_0000_0000_0401,
        123456789012345678,
    ];
    for &v in ints {
        for wide in [false, true] {
            for signed in [false, true] {
                check(Op::FromInt(wide, signed), Fmt::D, v, 0, 0, &mut failures);
            }
        }
    }
    report(failures);
}

#[test]
fn edge_cases_single() {
    let mut failures = Vec::new();
    let max = f32::MAX;
    let min_sub = f32::from_bits(1);
    let eps = f32::EPSILON;
    let cases: &[(Op, f32, f32, f32)] = &[
        (Op::Add, 1.0, eps / 2.0, 0.0),
        (Op::Add, 1.0 + eps, eps / 2.0, 0.0),
        (Op::Add, -1.0, -eps / 2.0, 0.0),
        (Op::Sub, 1.0, eps / 4.0, 0.0),
        (Op::Add, 1.0, -1.0, 0.0),
        (Op::Add, -0.0, 0.0, 0.0),
        (Op::Add, -0.0, -0.0, 0.0),
        (Op::Add, max, max, 0.0),
        (Op::Add, max, max * eps / 2.0, 0.0),
        (Op::Mul, max, -1.5, 0.0),
        (Op::Mul, min_sub, 0.5, 0.0),
        (Op::Mul, 3.0 * min_sub, 0.5, 0.0),
        (Op::Mul, min_sub, -0.25, 0.0),
        (Op::Mul, 1e-30, 1e-30, 0.0),
        (Op::Div, 1.0, 3.0, 0.0),
        (Op::Div, -1.0, 3.0, 0.0),
        (Op::Div, min_sub, 2.0, 0.0),
        (Op::Div, 3.0 * min_sub, -2.0, 0.0),
        (Op::Div, max, 0.5, 0.0),
        (Op::Div, 1.0, 0.0, 0.0),
        (Op::Sqrt, 2.0, 0.0, 0.0),
        (Op::Sqrt, min_sub, 0.0, 0.0),
        (Op::Sqrt, -0.0, 0.0, 0.0),
        (Op::Sqrt, -2.0, 0.0, 0.0),
        (Op::Fma(0), 1.0, 1.0, eps / 2.0),
        (Op::Fma(0), 1.1, 1.1, -1.21),
        (Op::Fma(0), 2.0, 3.0, -6.0),
        (Op::Fma(3), 2.0, 3.0, -6.0),
        (Op::Fma(0), max, 2.0, -max),
        (Op::Fma(0), max, 1.0, max),
        (Op::Fma(0), min_sub, 0.5, 0.0),
        (Op::Fma(0), f32::INFINITY, 0.0, 1.0),
    ];
    for &(op, a, b, c) in cases {
        check(op, Fmt::S, f32b(a), f32b(b), f32b(c), &mut failures);
    }
    // Double rounding in fma.s: the double sum lands exactly on a single midpoint while
    // the exact value does not (1 + 2^-24 + 2^-80).
    let a = f32b(1.0 + eps);
    let b = f32b(1.0 + 2.0f32.powi(-40));
    let c = f32b(-(eps + 2.0f32.powi(-40)) + 2.0f32.powi(-24));
    check(Op::Fma(0), Fmt::S, a, b, c, &mut failures);
    // fcvt.s.d: ties, overflow, subnormals, exact.
    let doubles: &[f64] = &[
        0.1,
        -0.1,
        1.0 + (f32::EPSILON as f64) / 2.0,
        1.0 + (f32::EPSILON as f64) * 1.5,
        -(1.0 + (f32::EPSILON as f64) / 2.0),
        1.0 + (f32::EPSILON as f64) / 2.0 + f64::EPSILON,
        f32::MAX as f64,
        f32::MAX as f64 * (1.0 + f64::EPSILON),
        f32::MAX as f64 * (1.0 + (f32::EPSILON as f64) / 2.0),
        f32::MAX as f64 * (1.0 + (f32::EPSILON as f64) / 4.0),
        -1e39,
        1e300,
        min_sub as f64 / 2.0,
        min_sub as f64 * 1.5,
        min_sub as f64 / 4.0,
        -(min_sub as f64) / 2.0,
        1e-300,
        -0.0,
        0.0,
        f64::INFINITY,
        f64::NAN,
        1.5,
    ];
    for &v in doubles {
        check(Op::CvtSD, Fmt::S, f64b(v), 0, 0, &mut failures);
    }
    let ints: &[u64] = &[
        0,
        1,
        u64::MAX,
        u32::MAX as u64,
        i32::MIN as u64,
        (1 << 24) + 1,
        (1 << 24) + 3,
        (1 << 25) + 2,
        (-(1i64 << 24) - 1) as u64,
        16777217,
        (i64::MAX as u64) - (1 << 39),
        (i64::MAX as u64) - (1 << 39) + 1,
        0x8000_0080_0000_0000,
        0x8000_0080_0000_0001,
        u64::MAX - (1 << 39),
        123456789012345678,
    ];
    for &v in ints {
        for wide in [false, true] {
            for signed in [false, true] {
                check(Op::FromInt(wide, signed), Fmt::S, v, 0, 0, &mut failures);
            }
        }
    }
    report(failures);
}

fn random(f: Fmt, ops: &[Op], n: usize, seed: u64) {
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    for _ in 0..n {
        for &op in ops {
            let (a, b, c) = (rng.operand(f), rng.operand(f), rng.operand(f));
            // Products near the subnormal range and sums that nearly cancel.
            let c = match rng.below(4) {
                0 => {
                    let m = rng.operand(f);
                    (m ^ f.sign()) & !(rng.next() & 0xf)
                }
                _ => c,
            };
            check(op, f, a, b, c, &mut failures);
        }
    }
    report(failures);
}

#[test]
fn random_double_arith() {
    random(Fmt::D, &ARITH, 20_000, 0x1234_5678_9abc_def1);
}

#[test]
fn random_single_arith() {
    random(Fmt::S, &ARITH, 20_000, 0x0fed_cba9_8765_4321);
}

#[test]
fn random_single_fma() {
    let ops = [Op::Fma(0), Op::Fma(1), Op::Fma(2), Op::Fma(3)];
    random(Fmt::S, &ops, 10_000, 0x5555_aaaa_1234_4321);
}

#[test]
fn random_double_fma() {
    let mut rng = Rng(0x9999_1111_2222_3333);
    let mut failures = Vec::new();
    for _ in 0..40_000 {
        let k = rng.below(4) as u8;
        let (a, b) = (rng.operand(Fmt::D), rng.operand(Fmt::D));
        let p = f64::from_bits(a) * f64::from_bits(b);
        // c near -a*b (cancellation), near a*b/2^k (ties), tiny, or anything.
        let c = match rng.below(4) {
            0 => f64b(-p) ^ (rng.next() & 0xff),
            1 => f64b(p * 2.0f64.powi(-(rng.below(60) as i32))),
            2 => rng.next() & 0x800f_ffff_ffff_ffff >> rng.below(52),
            _ => rng.operand(Fmt::D),
        };
        check(Op::Fma(k), Fmt::D, a, b, c, &mut failures);
    }
    // Products in and below the subnormal range, with small addends.
    for _ in 0..40_000 {
        let k = rng.below(4) as u8;
        let ea = rng.below(1100) as i32 - 1074;
        let eb = rng.below(200) as i32 - 1100 - ea.min(0);
        let a = f64::from_bits(rng.operand(Fmt::D) & 0x800f_ffff_ffff_ffff | 0x3ff0_0000_0000_0000);
        let b = f64::from_bits(rng.operand(Fmt::D) & 0x800f_ffff_ffff_ffff | 0x3ff0_0000_0000_0000);
        let (a, b) = (
            a * 2.0f64.powi(ea.max(-1022)),
            b * 2.0f64.powi(eb.clamp(-1022, 1023)),
        );
        let c = match rng.below(3) {
            0 => rng.next() & 0x800f_ffff_ffff_ffff >> rng.below(52),
            1 => f64b(-(a * b)) ^ (rng.next() & 0x3),
            _ => rng.operand(Fmt::D),
        };
        check(Op::Fma(k), Fmt::D, f64b(a), f64b(b), c, &mut failures);
    }
    report(failures);
}

#[test]
fn random_conversions() {
    let mut rng = Rng(0x7777_3333_5555_1111);
    let mut failures = Vec::new();
    for _ in 0..20_000 {
        let v = match rng.below(4) {
            0 => rng.next(),
            1 => rng.next() >> rng.below(64),
            2 => (rng.next() >> rng.below(64)).wrapping_neg(),
            _ => (rng.next() >> rng.below(64)) & !((1u64 << rng.below(40)) - 1),
        };
        for f in [Fmt::S, Fmt::D] {
            for wide in [false, true] {
                for signed in [false, true] {
                    check(Op::FromInt(wide, signed), f, v, 0, 0, &mut failures);
                }
            }
        }
        let d = rng.operand(Fmt::D);
        // Doubles near single precision's grid, range and subnormals.
        let d = match rng.below(3) {
            0 => d,
            1 => (f64::from_bits(d & 0x800f_ffff_ffff_ffff | 0x3ff0_0000_0000_0000)
                * 2.0f64.powi(rng.below(300) as i32 - 150))
            .to_bits(),
            _ => {
                let s = f32::from_bits(rng.operand(Fmt::S) as u32) as f64;
                f64b(s + s * 2.0f64.powi(-24) * (rng.below(5) as f64 - 2.0) / 2.0)
            }
        };
        check(Op::CvtSD, Fmt::S, d, 0, 0, &mut failures);
    }
    report(failures);
}
