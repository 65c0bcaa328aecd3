//! Semantic primitives on concrete values, for interpreters: integer helpers, IEEE
//! floating point on raw bits, atomics' update functions and the A64 vector lane
//! operations, shared by the RISC-V and A64 interpreters.

use vmx_lifter::arm::sem::{VBin, VShift, VUn, Vec128};
use vmx_lifter::sem::{Amo, Cmp};

pub fn sext(a: u64, bits: u32) -> u64 {
    if bits >= 64 {
        return a;
    }
    let sh = 64 - bits;
    (((a << sh) as i64) >> sh) as u64
}

pub fn zext(a: u64, bits: u32) -> u64 {
    if bits >= 64 {
        a
    } else {
        a & ((1u64 << bits) - 1)
    }
}

pub fn mulh(a: u64, b: u64, a_signed: bool, b_signed: bool) -> u64 {
    let a = if a_signed {
        a as i64 as i128
    } else {
        a as i128
    };
    let b = if b_signed {
        b as i64 as i128
    } else {
        b as i128
    };
    (a.wrapping_mul(b) >> 64) as u64
}

pub fn cmp(op: Cmp, a: u64, b: u64) -> bool {
    match op {
        Cmp::Eq => a == b,
        Cmp::Ne => a != b,
        Cmp::Lt => (a as i64) < (b as i64),
        Cmp::Ge => (a as i64) >= (b as i64),
        Cmp::Ltu => a < b,
        Cmp::Geu => a >= b,
    }
}

/// The new value of an atomic read-modify-write of `size` bytes.
pub fn amo(op: Amo, size: u32, old: u64, v: u64) -> u64 {
    if size < 4 {
        // Sub-word (A64 LSE on bytes and halfwords): signed orders on the sign-extended
        // values; the result is truncated to the size by the caller.
        let bits = size * 8;
        let (so, sv) = (sext(old, bits) as i64, sext(v, bits) as i64);
        return match op {
            Amo::Min => so.min(sv) as u64,
            Amo::Max => so.max(sv) as u64,
            Amo::Minu => old.min(v),
            Amo::Maxu => old.max(v),
            _ => amo(op, 8, old, v),
        } & zext(u64::MAX, bits);
    }
    match (op, size) {
        (Amo::Swap, _) => v,
        (Amo::Add, _) => old.wrapping_add(v),
        (Amo::Xor, _) => old ^ v,
        (Amo::And, _) => old & v,
        (Amo::Or, _) => old | v,
        (Amo::Min, 4) => (old as i32).min(v as i32) as u32 as u64,
        (Amo::Max, 4) => (old as i32).max(v as i32) as u32 as u64,
        (Amo::Minu, 4) => (old as u32).min(v as u32) as u64,
        (Amo::Maxu, 4) => (old as u32).max(v as u32) as u64,
        (Amo::Min, _) => (old as i64).min(v as i64) as u64,
        (Amo::Max, _) => (old as i64).max(v as i64) as u64,
        (Amo::Minu, _) => old.min(v),
        (Amo::Maxu, _) => old.max(v),
    }
}

// ---- scalar floating point: the host's, with exact exception flags (`hostfp`) ----

pub use crate::hostfp::{fbin, fcmp, fcvt_float, fcvt_from_int, fcvt_to_int, ffma, fround, fsqrt};

// ---- vector lanes ----

/// The `es`-bit lanes of the low 64 (`q` false) or all 128 bits.
fn lanes(v: Vec128<u64>, es: u32, q: bool) -> Vec<u64> {
    let x = v[0] as u128 | (v[1] as u128) << 64;
    let n = if q { 128 / es } else { 64 / es };
    (0..n)
        .map(|i| ((x >> (i * es)) as u64) & mask(es))
        .collect()
}

fn pack(l: &[u64], es: u32) -> Vec128<u64> {
    let mut x = 0u128;
    for (i, &e) in l.iter().enumerate() {
        x |= ((e & mask(es)) as u128) << (i as u32 * es);
    }
    [x as u64, (x >> 64) as u64]
}

fn mask(es: u32) -> u64 {
    zext(u64::MAX, es)
}

fn sx(v: u64, es: u32) -> i64 {
    sext(v, es) as i64
}

/// Saturate a signed value to `es` bits.
fn sat(v: i128, es: u32) -> u64 {
    let max = (1i128 << (es - 1)) - 1;
    v.clamp(-max - 1, max) as u64
}

fn all(c: bool) -> u64 {
    if c {
        u64::MAX
    } else {
        0
    }
}

fn shift_lane(a: u64, by: u64, es: u32, signed: bool) -> u64 {
    let sh = by as u8 as i8 as i32;
    if sh >= 0 {
        if sh as u32 >= es {
            0
        } else {
            a << sh
        }
    } else {
        let r = (-sh) as u32;
        if signed {
            (sx(a, es) >> r.min(63)) as u64
        } else if r >= es {
            0
        } else {
            a >> r
        }
    }
}

pub fn vbin(op: VBin, es: u32, q: bool, a: Vec128<u64>, b: Vec128<u64>) -> Vec128<u64> {
    let (la, lb) = (lanes(a, es, q), lanes(b, es, q));
    let n = la.len();
    let cat: Vec<u64> = la.iter().chain(&lb).copied().collect();
    let pair = |f: fn(u64, u64, u32) -> u64| -> Vec<u64> {
        (0..n).map(|i| f(cat[2 * i], cat[2 * i + 1], es)).collect()
    };
    let out: Vec<u64> = match op {
        VBin::AddP => pair(|x, y, _| x.wrapping_add(y)),
        VBin::UMaxP => pair(|x, y, _| x.max(y)),
        VBin::UMinP => pair(|x, y, _| x.min(y)),
        VBin::SMaxP => pair(|x, y, e| if sx(x, e) >= sx(y, e) { x } else { y }),
        VBin::SMinP => pair(|x, y, e| if sx(x, e) <= sx(y, e) { x } else { y }),
        VBin::Uzp1 => (0..n).map(|i| cat[2 * i]).collect(),
        VBin::Uzp2 => (0..n).map(|i| cat[2 * i + 1]).collect(),
        VBin::Zip1 | VBin::Zip2 => {
            let off = if op == VBin::Zip2 { n / 2 } else { 0 };
            (0..n)
                .map(|i| {
                    if i % 2 == 0 {
                        la[off + i / 2]
                    } else {
                        lb[off + i / 2]
                    }
                })
                .collect()
        }
        VBin::Trn1 | VBin::Trn2 => {
            let off = (op == VBin::Trn2) as usize;
            (0..n)
                .map(|i| {
                    let k = (i & !1) + off;
                    if i % 2 == 0 {
                        la[k]
                    } else {
                        lb[k]
                    }
                })
                .collect()
        }
        _ => la
            .iter()
            .zip(&lb)
            .map(|(&x, &y)| match op {
                VBin::Add => x.wrapping_add(y),
                VBin::Sub => x.wrapping_sub(y),
                VBin::Mul => x.wrapping_mul(y),
                VBin::And => x & y,
                VBin::Orr => x | y,
                VBin::Eor => x ^ y,
                VBin::Bic => x & !y,
                VBin::Orn => x | !y,
                VBin::CmEq => all(x == y),
                VBin::CmHi => all(x > y),
                VBin::CmHs => all(x >= y),
                VBin::CmGt => all(sx(x, es) > sx(y, es)),
                VBin::CmGe => all(sx(x, es) >= sx(y, es)),
                VBin::CmTst => all(x & y != 0),
                VBin::UMax => x.max(y),
                VBin::UMin => x.min(y),
                VBin::SMax => sx(x, es).max(sx(y, es)) as u64,
                VBin::SMin => sx(x, es).min(sx(y, es)) as u64,
                VBin::UShl => shift_lane(x, y, es, false),
                VBin::SShl => shift_lane(x, y, es, true),
                VBin::UQAdd => (x + y).min(mask(es)),
                VBin::UQSub => x.saturating_sub(y),
                VBin::SQAdd => sat(sx(x, es) as i128 + sx(y, es) as i128, es),
                VBin::SQSub => sat(sx(x, es) as i128 - sx(y, es) as i128, es),
                VBin::UHAdd => ((x as u128 + y as u128) >> 1) as u64,
                VBin::URHAdd => ((x as u128 + y as u128 + 1) >> 1) as u64,
                VBin::SHAdd => ((sx(x, es) as i128 + sx(y, es) as i128) >> 1) as u64,
                VBin::SRHAdd => ((sx(x, es) as i128 + sx(y, es) as i128 + 1) >> 1) as u64,
                VBin::UAbd => x.abs_diff(y),
                VBin::SAbd => sx(x, es).abs_diff(sx(y, es)),
                _ => 0,
            })
            .collect(),
    };
    pack(&out, es)
}

pub fn vun(op: VUn, es: u32, q: bool, a: Vec128<u64>) -> Vec128<u64> {
    let la = lanes(a, es, q);
    let n = la.len();
    let map = |f: &dyn Fn(u64) -> u64| -> Vec128<u64> {
        pack(&la.iter().map(|&x| f(x)).collect::<Vec<_>>(), es)
    };
    let scalar = |v: u64| pack(&[v], es);
    match op {
        VUn::Not => map(&|x| !x),
        VUn::Cnt => map(&|x| x.count_ones() as u64),
        VUn::Rbit => map(&|x| (x as u8).reverse_bits() as u64),
        VUn::Abs => map(&|x| sx(x, es).unsigned_abs()),
        VUn::Neg => map(&|x| x.wrapping_neg()),
        VUn::CmEq0 => map(&|x| all(x == 0)),
        VUn::CmGt0 => map(&|x| all(sx(x, es) > 0)),
        VUn::CmGe0 => map(&|x| all(sx(x, es) >= 0)),
        VUn::CmLe0 => map(&|x| all(sx(x, es) <= 0)),
        VUn::CmLt0 => map(&|x| all(sx(x, es) < 0)),
        VUn::AddV => scalar(la.iter().fold(0u64, |s, &x| s.wrapping_add(x))),
        VUn::UMaxV => scalar(la.iter().copied().max().unwrap_or(0)),
        VUn::UMinV => scalar(la.iter().copied().min().unwrap_or(0)),
        VUn::SMaxV => scalar(la.iter().map(|&x| sx(x, es)).max().unwrap_or(0) as u64),
        VUn::SMinV => scalar(la.iter().map(|&x| sx(x, es)).min().unwrap_or(0) as u64),
        VUn::Rev(container) => {
            let k = (container / es) as usize;
            let mut out = la.clone();
            for (i, o) in out.iter_mut().enumerate() {
                let base = i / k * k;
                *o = la[base + (k - 1 - i % k)];
            }
            pack(&out, es)
        }
        VUn::Xtn => pack(&la, es / 2),
        VUn::SQXtn => pack(
            &la.iter()
                .map(|&x| sat(sx(x, es) as i128, es / 2))
                .collect::<Vec<_>>(),
            es / 2,
        ),
        VUn::UQXtn => pack(
            &la.iter().map(|&x| x.min(mask(es / 2))).collect::<Vec<_>>(),
            es / 2,
        ),
        VUn::SQXtun => pack(
            &la.iter()
                .map(|&x| sx(x, es).clamp(0, mask(es / 2) as i64) as u64)
                .collect::<Vec<_>>(),
            es / 2,
        ),
        VUn::Clz => map(&|x| (x.leading_zeros() - (64 - es)) as u64),
        VUn::Cls => map(&|x| {
            let v = sx(x, es);
            ((v ^ (v >> 1)).leading_zeros() - (64 - es)) as u64 - 1
        }),
        VUn::AddLV { signed } => {
            let sum = la.iter().fold(0u64, |s, &x| {
                s.wrapping_add(if signed { sext(x, es) } else { x })
            });
            pack(&[sum], es * 2)
        }
        VUn::Widen { high, signed } => {
            let src = lanes(a, es, true);
            let half = &src[if high { n / 2 } else { 0 }..][..64 / es as usize];
            let out: Vec<u64> = half
                .iter()
                .map(|&x| if signed { sext(x, es) } else { x })
                .collect();
            pack(&out, es * 2)
        }
        VUn::AddLP { signed } => {
            let ext = |x: u64| if signed { sext(x, es) } else { x };
            let out: Vec<u64> = (0..n / 2)
                .map(|i| ext(la[2 * i]).wrapping_add(ext(la[2 * i + 1])))
                .collect();
            pack(&out, es * 2)
        }
    }
}

pub fn vshift(op: VShift, es: u32, q: bool, a: Vec128<u64>, amount: u32) -> Vec128<u64> {
    let la = lanes(a, es, q);
    let out: Vec<u64> = la
        .iter()
        .map(|&x| match op {
            VShift::Shl => {
                if amount >= es {
                    0
                } else {
                    x << amount
                }
            }
            VShift::UShr | VShift::Shrn => {
                if amount >= es {
                    0
                } else {
                    x >> amount
                }
            }
            VShift::SShr => (sx(x, es) >> amount.min(63)) as u64,
        })
        .collect();
    if op == VShift::Shrn {
        pack(&out, es / 2)
    } else {
        pack(&out, es)
    }
}

pub fn vtbl(
    table: &[Vec128<u64>],
    idx: Vec128<u64>,
    fallback: Vec128<u64>,
    q: bool,
) -> Vec128<u64> {
    let bytes: Vec<u64> = table.iter().flat_map(|t| lanes(*t, 8, true)).collect();
    let li = lanes(idx, 8, q);
    let lf = lanes(fallback, 8, q);
    let out: Vec<u64> = li
        .iter()
        .zip(&lf)
        .map(|(&i, &f)| bytes.get(i as usize).copied().unwrap_or(f))
        .collect();
    pack(&out, 8)
}
