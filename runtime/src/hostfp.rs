//! Host floating point with exact IEEE exception flags.
//!
//! The guest's accrued exception flags are computed by the host's FPU: every guest
//! floating-point operation runs as one SSE instruction, whose flags accrue in MXCSR,
//! and a guest read of `fflags` adds them to what `fcsr` holds (`Sem::host_fflags`).
//! x86 detects tininess after rounding, as RISC-V does, and raises underflow only for
//! inexact tiny results when underflow is masked (always, here), as IEEE's default does.
//!
//! Each operation is a separate `asm!` block without `pure`: the compiler can neither
//! constant-fold, speculate, duplicate nor delete it, which plain Rust arithmetic would
//! allow (an `a + b` computed on a path not taken would raise flags the guest never
//! caused). Translated code gets the same guarantees from LLVM's constrained intrinsics
//! and reaches [`take_flags`] and [`raise`] through runtime helpers.
//!
//! Conversions to integers and rounding to integral values compute no flags here: the
//! semantics derive invalid and inexact for them.

use std::arch::asm;
use std::sync::OnceLock;

use vmx_lifter::sem::{fflag, FOp, FW};

/// MXCSR's exception flag bits: IE DE ZE OE UE PE.
const MXCSR_FLAGS: u32 = 0x3f;
/// MXCSR's rounding control field.
const MXCSR_RC: u32 = 0x6000;

fn mxcsr() -> u32 {
    let mut m: u32 = 0;
    // SAFETY: stmxcsr stores the 4-byte MXCSR to the address of a live local.
    unsafe { asm!("stmxcsr [{}]", in(reg) &mut m, options(nostack, preserves_flags)) };
    m
}

fn set_mxcsr(m: u32) {
    // SAFETY: ldmxcsr loads MXCSR from a live local. Callers only change the exception
    // flags and the rounding field (restored before returning), never the masks, so no
    // floating-point exception can trap.
    unsafe { asm!("ldmxcsr [{}]", in(reg) &m, options(nostack, preserves_flags)) };
}

/// MXCSR flags as RISC-V `fflags` bits (the denormal-operand flag has no counterpart).
fn to_fflags(m: u32) -> u64 {
    const fn map(m: u32) -> u64 {
        let mut f = 0;
        if m & 1 != 0 {
            f |= fflag::NV;
        }
        if m & 4 != 0 {
            f |= fflag::DZ;
        }
        if m & 8 != 0 {
            f |= fflag::OF;
        }
        if m & 16 != 0 {
            f |= fflag::UF;
        }
        if m & 32 != 0 {
            f |= fflag::NX;
        }
        f
    }
    const TABLE: [u8; 64] = {
        let mut t = [0; 64];
        let mut m = 0;
        while m < 64 {
            t[m] = map(m as u32) as u8;
            m += 1;
        }
        t
    };
    TABLE[(m & MXCSR_FLAGS) as usize] as u64
}

/// The flags accrued since the last clear, as `fflags` bits; `clear` clears them.
pub fn flags(clear: bool) -> u64 {
    let m = mxcsr();
    if clear && m & MXCSR_FLAGS != 0 {
        set_mxcsr(m & !MXCSR_FLAGS);
    }
    to_fflags(m)
}

/// The accrued flags, cleared.
pub fn take_flags() -> u64 {
    flags(true)
}

macro_rules! binop {
    ($name:ident, $t:ty, $insn:literal) => {
        fn $name(a: $t, b: $t) -> $t {
            let mut x = a;
            // SAFETY: one SSE arithmetic instruction on registers.
            unsafe { asm!(concat!($insn, " {x}, {y}"), x = inout(xmm_reg) x, y = in(xmm_reg) b, options(nomem, nostack, preserves_flags)) };
            x
        }
    };
}
binop!(addsd, f64, "addsd");
binop!(subsd, f64, "subsd");
binop!(mulsd, f64, "mulsd");
binop!(divsd, f64, "divsd");
binop!(addss, f32, "addss");
binop!(subss, f32, "subss");
binop!(mulss, f32, "mulss");
binop!(divss, f32, "divss");

fn f32_of(v: u64) -> f32 {
    f32::from_bits(v as u32)
}
fn f64_of(v: u64) -> f64 {
    f64::from_bits(v)
}

/// `a op b`, rounded to nearest-even, raising its flags.
pub fn fbin(op: vmx_lifter::sem::FBin, w: FW, a: u64, b: u64) -> u64 {
    use vmx_lifter::sem::FBin::*;
    match w {
        FW::S => {
            let (a, b) = (f32_of(a), f32_of(b));
            let r = match op {
                Add => addss(a, b),
                Sub => subss(a, b),
                Mul => mulss(a, b),
                Div => divss(a, b),
            };
            r.to_bits() as u64
        }
        FW::D => {
            let (a, b) = (f64_of(a), f64_of(b));
            let r = match op {
                Add => addsd(a, b),
                Sub => subsd(a, b),
                Mul => mulsd(a, b),
                Div => divsd(a, b),
            };
            r.to_bits()
        }
    }
}

pub fn fsqrt(w: FW, a: u64) -> u64 {
    match w {
        FW::S => {
            let mut x = f32_of(a);
            // SAFETY: one SSE instruction on registers.
            unsafe {
                asm!("sqrtss {x}, {x}", x = inout(xmm_reg) x, options(nomem, nostack, preserves_flags))
            };
            x.to_bits() as u64
        }
        FW::D => {
            let mut x = f64_of(a);
            // SAFETY: one SSE instruction on registers.
            unsafe {
                asm!("sqrtsd {x}, {x}", x = inout(xmm_reg) x, options(nomem, nostack, preserves_flags))
            };
            x.to_bits()
        }
    }
}

fn have_fma() -> bool {
    static FMA: OnceLock<bool> = OnceLock::new();
    *FMA.get_or_init(|| std::arch::is_x86_feature_detected!("fma"))
}

/// `a * b + c` with one rounding.
pub fn ffma(w: FW, a: u64, b: u64, c: u64) -> u64 {
    if !have_fma() {
        // glibc's software fma computes the flags of the fused operation.
        return match w {
            FW::S => f32_of(a).mul_add(f32_of(b), f32_of(c)).to_bits() as u64,
            FW::D => f64_of(a).mul_add(f64_of(b), f64_of(c)).to_bits(),
        };
    }
    match w {
        FW::S => {
            let mut x = f32_of(a);
            // SAFETY: one FMA3 instruction on registers; the CPU has FMA (checked above).
            unsafe {
                asm!("vfmadd213ss {x}, {y}, {z}", x = inout(xmm_reg) x, y = in(xmm_reg) f32_of(b), z = in(xmm_reg) f32_of(c), options(nomem, nostack, preserves_flags))
            };
            x.to_bits() as u64
        }
        FW::D => {
            let mut x = f64_of(a);
            // SAFETY: as above.
            unsafe {
                asm!("vfmadd213sd {x}, {y}, {z}", x = inout(xmm_reg) x, y = in(xmm_reg) f64_of(b), z = in(xmm_reg) f64_of(c), options(nomem, nostack, preserves_flags))
            };
            x.to_bits()
        }
    }
}

/// Comparisons: `ucomis*` (quiet) or `comis*` (signalling) of `b` with `a`, read from
/// EFLAGS: `a < b` is "b above a" (CF = ZF = 0; unordered sets all three flags), `a <= b`
/// is CF = 0, equality is ZF = 1 and PF = 0, unordered is PF = 1.
pub fn fcmp(op: vmx_lifter::sem::FCmp, w: FW, a: u64, b: u64) -> bool {
    use vmx_lifter::sem::FCmp::*;
    let (above, above_eq, eq, uno): (u8, u8, u8, u8);
    macro_rules! compare {
        ($insn:literal, $x:expr, $y:expr) => {
            // SAFETY: one SSE compare on registers, then setcc on its EFLAGS.
            unsafe {
                asm!(
                    concat!($insn, " {x}, {y}"),
                    "seta {above}",
                    "setae {above_eq}",
                    "sete {eq}",
                    "setp {uno}",
                    x = in(xmm_reg) $x,
                    y = in(xmm_reg) $y,
                    above = out(reg_byte) above,
                    above_eq = out(reg_byte) above_eq,
                    eq = out(reg_byte) eq,
                    uno = out(reg_byte) uno,
                    options(nomem, nostack),
                )
            }
        };
    }
    let signalling = matches!(op, SigLt | SigLe);
    match (w, signalling) {
        (FW::S, false) => compare!("ucomiss", f32_of(b), f32_of(a)),
        (FW::S, true) => compare!("comiss", f32_of(b), f32_of(a)),
        (FW::D, false) => compare!("ucomisd", f64_of(b), f64_of(a)),
        (FW::D, true) => compare!("comisd", f64_of(b), f64_of(a)),
    }
    // `{insn} x, y` (Intel syntax) compares x with y: here x = b, y = a, so "above"
    // means b > a.
    match op {
        Lt | SigLt => above != 0,
        Le | SigLe => above_eq != 0 && uno == 0,
        Eq => eq != 0 && uno == 0,
        Uno => uno != 0,
    }
}

/// Integer to float, rounding to nearest-even, raising inexact when it rounds.
pub fn fcvt_from_int(w: FW, a: u64, bits: u32, signed: bool) -> u64 {
    // Every 32-bit integer, signed or not, is an exact i64.
    let (v, unsigned64) = match (bits, signed) {
        (32, true) => (a as i32 as i64, false),
        (32, false) => (a as u32 as i64, false),
        (_, true) => (a as i64, false),
        _ => (a as i64, a >> 63 != 0),
    };
    if unsigned64 {
        // 2^63 <= a: convert a/2 with the lost bit kept sticky (the rounding, and with
        // it the inexact flag, is unchanged), then double exactly.
        let half = ((a >> 1) | (a & 1)) as i64;
        return match w {
            FW::S => {
                let h = cvtsi2ss(half);
                addss(h, h).to_bits() as u64
            }
            FW::D => {
                let h = cvtsi2sd(half);
                addsd(h, h).to_bits()
            }
        };
    }
    match w {
        FW::S => cvtsi2ss(v).to_bits() as u64,
        FW::D => cvtsi2sd(v).to_bits(),
    }
}

fn cvtsi2sd(v: i64) -> f64 {
    let r: f64;
    // SAFETY: one SSE conversion on registers.
    unsafe {
        asm!("cvtsi2sd {r}, {v}", r = lateout(xmm_reg) r, v = in(reg) v, options(nomem, nostack, preserves_flags))
    };
    r
}

fn cvtsi2ss(v: i64) -> f32 {
    let r: f32;
    // SAFETY: one SSE conversion on registers.
    unsafe {
        asm!("cvtsi2ss {r}, {v}", r = lateout(xmm_reg) r, v = in(reg) v, options(nomem, nostack, preserves_flags))
    };
    r
}

/// Between widths (narrowing rounds to nearest-even).
pub fn fcvt_float(from: FW, to: FW, a: u64) -> u64 {
    match (from, to) {
        (FW::D, FW::S) => {
            let r: f32;
            // SAFETY: one SSE conversion on registers.
            unsafe {
                asm!("cvtsd2ss {r}, {x}", r = lateout(xmm_reg) r, x = in(xmm_reg) f64_of(a), options(nomem, nostack, preserves_flags))
            };
            r.to_bits() as u64
        }
        (FW::S, FW::D) => {
            let r: f64;
            // SAFETY: one SSE conversion on registers.
            unsafe {
                asm!("cvtss2sd {r}, {x}", r = lateout(xmm_reg) r, x = in(xmm_reg) f32_of(a), options(nomem, nostack, preserves_flags))
            };
            r.to_bits()
        }
        _ => a,
    }
}

/// `fflags` bits as MXCSR flags.
fn to_mxcsr(f: u64) -> u32 {
    [
        (fflag::NV, 0),
        (fflag::DZ, 2),
        (fflag::OF, 3),
        (fflag::UF, 4),
        (fflag::NX, 5),
    ]
    .into_iter()
    .filter(|&(flag, _)| f & flag != 0)
    .fold(0, |m, (_, bit)| m | 1 << bit)
}

/// Set the accrued flags to `keep` plus those `op` raises on `args` rounded in mode
/// `frm` (RISC-V encoding: 0 RNE, 1 RTZ, 2 RDN, 3 RUP, 4 RMM). Ties-away rounding has
/// round-to-nearest-even's flags: the two differ only on exact ties, and at the range
/// limits (max-finite, whose significand is odd, and the smallest normal, whose
/// significand is even) ties go away from zero in both.
pub fn raise(op: FOp, w: FW, frm: u64, [a, b, c]: [u64; 3], keep: u64) {
    let rc = match frm {
        1 => 3, // toward zero
        2 => 1, // down
        3 => 2, // up
        _ => 0,
    };
    let control = mxcsr() & !MXCSR_FLAGS;
    set_mxcsr((control & !MXCSR_RC) | rc << 13);
    match op {
        FOp::Add => drop(fbin(vmx_lifter::sem::FBin::Add, w, a, b)),
        FOp::Sub => drop(fbin(vmx_lifter::sem::FBin::Sub, w, a, b)),
        FOp::Mul => drop(fbin(vmx_lifter::sem::FBin::Mul, w, a, b)),
        FOp::Div => drop(fbin(vmx_lifter::sem::FBin::Div, w, a, b)),
        FOp::Sqrt => drop(fsqrt(w, a)),
        FOp::Fma => drop(ffma(w, a, b, c)),
        FOp::Narrow => drop(fcvt_float(FW::D, FW::S, a)),
        FOp::FromInt { bits, signed } => drop(fcvt_from_int(w, a, bits, signed)),
    }
    let raised = mxcsr() & MXCSR_FLAGS;
    set_mxcsr(control | to_mxcsr(keep) | raised);
}

// ---- rounding to integral values and conversions to integers: exact, no flags ----

/// (sign, biased exponent, fraction) of a float of width `w`.
fn fields(w: FW, a: u64) -> (bool, i32, u64) {
    match w {
        FW::S => (a >> 31 & 1 != 0, (a >> 23 & 0xff) as i32, a & 0x7f_ffff),
        FW::D => (
            a >> 63 != 0,
            (a >> 52 & 0x7ff) as i32,
            a & 0xf_ffff_ffff_ffff,
        ),
    }
}

fn geometry(w: FW) -> (i32, i32, u64) {
    // (fraction bits, bias, quiet bit)
    match w {
        FW::S => (23, 127, 1 << 22),
        FW::D => (52, 1023, 1 << 51),
    }
}

/// Round to an integral value in `rm`, on the bits (no flags; NaNs come back quiet).
pub fn fround(w: FW, a: u64, rm: vmx_lifter::sem::Round) -> u64 {
    use vmx_lifter::sem::Round;
    let (neg, exp, frac) = fields(w, a);
    let (fbits, bias, quiet) = geometry(w);
    let max_exp = (1 << (w.bits() - 1 - fbits as u32)) - 1;
    if exp == max_exp {
        return if frac != 0 { a | quiet } else { a };
    }
    let e = exp - bias;
    if e >= fbits {
        return a; // already integral
    }
    let sign = a & w.sign_bit();
    let one = ((bias as u64) << fbits) | sign;
    if exp == 0 && frac == 0 {
        return a;
    }
    if e < 0 {
        // 0 < |a| < 1: the result is ±0 or ±1.
        let half_or_more = e == -1;
        let more_than_half = e == -1 && frac != 0;
        let up = match rm {
            Round::Rne => more_than_half,
            Round::Rmm => half_or_more,
            Round::Rtz => false,
            Round::Rdn => neg,
            Round::Rup => !neg,
        };
        return if up { one } else { sign };
    }
    // 0 <= e < fbits: the low (fbits - e) fraction bits are the fractional part.
    let drop = (fbits - e) as u32;
    let mask = (1u64 << drop) - 1;
    let mag = a & !w.sign_bit();
    let rest = mag & mask;
    let trunc = mag & !mask;
    if rest == 0 {
        return a;
    }
    let half = 1u64 << (drop - 1);
    let odd = trunc & (1 << drop) != 0;
    let up = match rm {
        Round::Rne => rest > half || (rest == half && odd),
        Round::Rmm => rest >= half,
        Round::Rtz => false,
        Round::Rdn => neg,
        Round::Rup => !neg,
    };
    // Adding one unit in the last integral place carries into the exponent correctly.
    let mag = if up { trunc + (1 << drop) } else { trunc };
    mag | sign
}

/// Convert an integral-valued float to an integer of `bits` bits, saturating (NaN: 0),
/// sign- or zero-extended to 64 bits. No flags.
pub fn fcvt_to_int(w: FW, a: u64, bits: u32, signed: bool) -> u64 {
    let (neg, exp, frac) = fields(w, a);
    let (fbits, bias, _) = geometry(w);
    let max_exp = (1 << (w.bits() - 1 - fbits as u32)) - 1;
    if exp == max_exp && frac != 0 {
        return 0;
    }
    let (min, max): (i128, i128) = match (bits, signed) {
        (32, true) => (i32::MIN as i128, i32::MAX as i128),
        (32, false) => (0, u32::MAX as i128),
        (_, true) => (i64::MIN as i128, i64::MAX as i128),
        _ => (0, u64::MAX as i128),
    };
    let e = exp - bias;
    let mag: i128 = if exp == max_exp || e >= 100 {
        i128::MAX
    } else if e < 0 {
        0
    } else {
        let m = (frac | 1 << fbits) as i128;
        if e >= fbits {
            m << (e - fbits)
        } else {
            m >> (fbits - e)
        }
    };
    let v = if neg { -mag } else { mag };
    let v = v.clamp(min, max);
    if bits == 32 && signed {
        v as i32 as i64 as u64
    } else {
        v as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmx_lifter::sem::{FBin, FCmp, Round};

    #[test]
    fn flags_of_basic_operations() {
        take_flags();
        fbin(FBin::Add, FW::D, 1f64.to_bits(), 2f64.to_bits());
        assert_eq!(take_flags(), 0);
        fbin(FBin::Div, FW::D, 1f64.to_bits(), 3f64.to_bits());
        assert_eq!(take_flags(), fflag::NX);
        fbin(FBin::Div, FW::D, 1f64.to_bits(), 0f64.to_bits());
        assert_eq!(take_flags(), fflag::DZ);
        fbin(FBin::Mul, FW::D, f64::MAX.to_bits(), 2f64.to_bits());
        assert_eq!(take_flags(), fflag::OF | fflag::NX);
        fbin(
            FBin::Mul,
            FW::D,
            f64::MIN_POSITIVE.to_bits(),
            0.3f64.to_bits(),
        );
        assert_eq!(take_flags(), fflag::UF | fflag::NX);
        fsqrt(FW::S, (-1f32).to_bits() as u64);
        assert_eq!(take_flags(), fflag::NV);
        let qnan = f64::NAN.to_bits();
        assert!(!fcmp(FCmp::Lt, FW::D, qnan, 0));
        assert_eq!(take_flags(), 0);
        assert!(!fcmp(FCmp::SigLe, FW::D, qnan, 0));
        assert_eq!(take_flags(), fflag::NV);
        assert!(fcmp(FCmp::Le, FW::D, 0, 0) && !fcmp(FCmp::Lt, FW::D, 0, 0));
        assert!(fcmp(FCmp::Lt, FW::D, (-1f64).to_bits(), 0));
        assert!(fcmp(FCmp::Eq, FW::S, 0x8000_0000, 0) && fcmp(FCmp::Uno, FW::S, 0x7fc0_0000, 0));
    }

    #[test]
    fn directed_flags_differ_at_the_range_limits() {
        take_flags();
        // max + max/2^54 is below max + ulp/2: not an overflow to nearest, but one upward.
        let tiny_more = f64::MAX / 2f64.powi(60);
        let args = [f64::MAX.to_bits(), tiny_more.to_bits(), 0];
        raise(FOp::Add, FW::D, 0, args, 0);
        assert_eq!(take_flags(), fflag::NX);
        raise(FOp::Add, FW::D, 3, args, fflag::DZ);
        assert_eq!(take_flags(), fflag::OF | fflag::NX | fflag::DZ);
        for f in 0..32 {
            assert_eq!(to_fflags(to_mxcsr(f)), f);
        }
        // The rounding mode is restored.
        assert_eq!(mxcsr() & MXCSR_RC, 0);
    }

    #[test]
    fn unsigned_conversion_rounds_once() {
        take_flags();
        let r = fcvt_from_int(FW::D, u64::MAX, 64, false);
        assert_eq!(f64::from_bits(r), 18446744073709551616.0);
        assert_eq!(take_flags(), fflag::NX);
        let r = fcvt_from_int(FW::D, 1 << 63, 64, false);
        assert_eq!(f64::from_bits(r), 9223372036854775808.0);
        assert_eq!(take_flags(), 0);
    }

    #[test]
    fn rounding_on_bits_matches_the_host() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for i in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly values with a fractional part, some halves, some huge or tiny.
            let v = match i % 4 {
                0 => (x as i64 as f64) / 4096.0,
                1 => ((x % 64) as f64 - 32.0) * 0.5,
                2 => f64::from_bits(x),
                _ => (x as i32 as f64) / 3.0,
            };
            for (rm, host) in [
                (Round::Rne, v.round_ties_even()),
                (Round::Rtz, v.trunc()),
                (Round::Rdn, v.floor()),
                (Round::Rup, v.ceil()),
                (Round::Rmm, v.round()),
            ] {
                let got = f64::from_bits(fround(FW::D, v.to_bits(), rm));
                assert!(
                    got.to_bits() == host.to_bits() || (got.is_nan() && host.is_nan()),
                    "{rm:?} {v:e}: {got:e} vs {host:e}"
                );
                let s = v as f32;
                let host32 = match rm {
                    Round::Rne => s.round_ties_even(),
                    Round::Rtz => s.trunc(),
                    Round::Rdn => s.floor(),
                    Round::Rup => s.ceil(),
                    Round::Rmm => s.round(),
                };
                let got32 = f32::from_bits(fround(FW::S, s.to_bits() as u64, rm) as u32);
                assert!(got32.to_bits() == host32.to_bits() || (got32.is_nan() && host32.is_nan()));
            }
            let r = v.trunc();
            for (bits, signed, host) in [
                (32, true, r as i32 as i64 as u64),
                (32, false, r as u32 as u64),
                (64, true, r as i64 as u64),
                (64, false, r as u64),
            ] {
                assert_eq!(
                    fcvt_to_int(FW::D, r.to_bits(), bits, signed),
                    host,
                    "{r:e} {bits} {signed}"
                );
            }
        }
    }
}
