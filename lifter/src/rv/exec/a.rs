//! A: load-reserved/store-conditional and atomic memory operations.

use super::sext32;
use crate::rv::insn::{Insn, Op};
use crate::sem::{Amo, Sem};

pub(super) fn exec<S: Sem>(s: &mut S, i: &Insn) {
    use Op::*;
    let size = match i.op {
        LrW | ScW | AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW | AmominW | AmomaxW
        | AmominuW | AmomaxuW => 4,
        _ => 8,
    };
    let addr = s.xreg(i.rs1);
    let v = match i.op {
        LrW | LrD => s.load_reserved(addr, size, i.rm),
        ScW | ScD => {
            let src = s.xreg(i.rs2);
            s.store_conditional(addr, src, size, i.rm)
        }
        _ => {
            let op = match i.op {
                AmoswapW | AmoswapD => Amo::Swap,
                AmoaddW | AmoaddD => Amo::Add,
                AmoxorW | AmoxorD => Amo::Xor,
                AmoandW | AmoandD => Amo::And,
                AmoorW | AmoorD => Amo::Or,
                AmominW | AmominD => Amo::Min,
                AmomaxW | AmomaxD => Amo::Max,
                AmominuW | AmominuD => Amo::Minu,
                _ => Amo::Maxu,
            };
            let src = s.xreg(i.rs2);
            s.amo(op, addr, src, size, i.rm)
        }
    };
    // Word results are sign-extended (sc's 0/1 is unaffected).
    let v = if size == 4 { sext32(s, v) } else { v };
    s.set_xreg(i.rd, v);
}
