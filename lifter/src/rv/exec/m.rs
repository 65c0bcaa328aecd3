//! M: multiplication and division.
//!
//! Division by zero and signed overflow have defined results in RISC-V (no trap); the
//! backends' `div`/`rem` must never see those operands, so they are selected around.

use super::sext32;
use crate::rv::insn::{Insn, Op};
use crate::sem::{Cmp, Sem};

pub(super) fn exec<S: Sem>(s: &mut S, i: &Insn) {
    use Op::*;
    let a = s.xreg(i.rs1);
    let b = s.xreg(i.rs2);
    let v = match i.op {
        Mul => s.mul(a, b),
        Mulh => s.mulh(a, b, true, true),
        Mulhsu => s.mulh(a, b, true, false),
        Mulhu => s.mulh(a, b, false, false),
        Div => divide(s, a, b, true, false),
        Divu => divide(s, a, b, false, false),
        Rem => divide(s, a, b, true, true),
        Remu => divide(s, a, b, false, true),
        Mulw => {
            let v = s.mul(a, b);
            sext32(s, v)
        }
        // The word forms divide the 32-bit operands extended to 64 bits, where the
        // 32-bit overflow case (-2^31 / -1) cannot overflow; the result is then
        // truncated and sign-extended, which gives exactly the 32-bit answer.
        Divw | Remw => {
            let a = s.sext(a, 32);
            let b = s.sext(b, 32);
            let v = divide(s, a, b, true, i.op == Remw);
            sext32(s, v)
        }
        _ => {
            let a = s.zext(a, 32);
            let b = s.zext(b, 32);
            let v = divide(s, a, b, false, i.op == Remuw);
            sext32(s, v)
        }
    };
    s.set_xreg(i.rd, v);
}

/// RISC-V division: x/0 = all ones, x%0 = x, MIN/-1 = MIN, MIN%-1 = 0.
fn divide<S: Sem>(s: &mut S, a: S::I, b: S::I, signed: bool, rem: bool) -> S::I {
    let zero = s.imm(0);
    let one = s.imm(1);
    let by_zero = s.cmp(Cmp::Eq, b, zero);
    let mut bad = by_zero;
    let mut overflow = None;
    if signed {
        let min = s.imm(i64::MIN as u64);
        let minus1 = s.imm(u64::MAX);
        let a_min = s.cmp(Cmp::Eq, a, min);
        let b_m1 = s.cmp(Cmp::Eq, b, minus1);
        let ovf = s.bool_and(a_min, b_m1);
        overflow = Some(ovf);
        bad = s.bool_or(bad, ovf);
    }
    let safe_b = s.select(bad, one, b);
    let mut v = if rem {
        s.rem(a, safe_b, signed)
    } else {
        s.div(a, safe_b, signed)
    };
    if let Some(ovf) = overflow {
        let r = if rem { zero } else { a };
        v = s.select(ovf, r, v);
    }
    let r = if rem { a } else { s.imm(u64::MAX) };
    s.select(by_zero, r, v)
}
