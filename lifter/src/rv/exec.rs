//! RISC-V instruction semantics, written once for every backend.
//!
//! [`exec`] runs one decoded instruction against a [`Sem`] implementation: the
//! interpreter executes it on concrete values, the LLVM backend emits IR for it.
//! Each extension's meaning lives in its own module.

use super::insn::{Ext, Insn};
use crate::sem::Sem;

mod a;
mod base;
pub(crate) mod fp;

pub use fp::{is_quiet_compare, quiet_compare};
mod m;
mod zb;

/// Execute (or emit) one instruction at `s.pc()`.
#[inline]
pub fn exec<S: Sem>(s: &mut S, i: &Insn) {
    match i.op.ext() {
        Ext::I | Ext::Zicsr | Ext::Zifencei | Ext::Invalid => base::exec(s, i),
        Ext::M => m::exec(s, i),
        Ext::A => a::exec(s, i),
        Ext::F | Ext::D => fp::exec(s, i),
        Ext::Zba | Ext::Zbb | Ext::Zbs => zb::exec(s, i),
    }
}

/// `x[r] + imm`: the effective address of loads, stores and `jalr`.
fn addr<S: Sem>(s: &mut S, r: u8, imm: i64) -> S::I {
    let base = s.xreg(r);
    let off = s.imm(imm as u64);
    s.add(base, off)
}

/// Sign-extend the low 32 bits (the result of every `*w` instruction).
fn sext32<S: Sem>(s: &mut S, v: S::I) -> S::I {
    s.sext(v, 32)
}
