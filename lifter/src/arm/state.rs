//! The A64 guest CPU state shared by the interpreter and the runtime.
//!
//! One definition of the layout; code generators address fields by the offsets below.

use core::mem::offset_of;

/// No exclusive monitor is armed (LDXR/STXR).
pub const NO_EXCLUSIVE: u64 = u64::MAX;

/// AArch64 user-mode state of one guest thread.
#[repr(C)]
#[derive(Clone, Debug)]
pub struct A64State {
    /// X0..X30 (register number 31 is SP or XZR depending on the instruction).
    pub x: [u64; 31],
    /// The stack pointer.
    pub sp: u64,
    /// Where execution continues when control returns to the runtime.
    pub pc: u64,
    /// The flags in their PSTATE/`mrs nzcv` position: N bit 31, Z 30, C 29, V 28.
    pub nzcv: u64,
    /// V0..V31, 128 bits each as `[low, high]` 64-bit halves.
    pub v: [[u64; 2]; 32],
    pub fpcr: u64,
    pub fpsr: u64,
    /// `TPIDR_EL0`, the thread pointer.
    pub tpidr: u64,
    /// Address armed by the last load-exclusive, or [`NO_EXCLUSIVE`].
    pub excl_addr: u64,
    /// Value that load-exclusive read (the low word of a 128-bit LDXP).
    pub excl_val: u64,
    /// The high word a 128-bit LDXP read.
    pub excl_hi: u64,
    /// Guest instructions retired by the interpreter (statistics).
    pub interp_insns: u64,
}

impl Default for A64State {
    fn default() -> Self {
        A64State {
            x: [0; 31],
            sp: 0,
            pc: 0,
            nzcv: 0,
            v: [[0; 2]; 32],
            fpcr: 0,
            fpsr: 0,
            tpidr: 0,
            excl_addr: NO_EXCLUSIVE,
            excl_val: 0,
            excl_hi: 0,
            interp_insns: 0,
        }
    }
}

/// Byte offsets of [`A64State`] fields, for code generators.
pub mod offsets {
    use super::*;
    pub const X: usize = offset_of!(A64State, x);
    pub const SP: usize = offset_of!(A64State, sp);
    pub const PC: usize = offset_of!(A64State, pc);
    pub const NZCV: usize = offset_of!(A64State, nzcv);
    pub const V: usize = offset_of!(A64State, v);
    pub const FPCR: usize = offset_of!(A64State, fpcr);
    pub const FPSR: usize = offset_of!(A64State, fpsr);
    pub const TPIDR: usize = offset_of!(A64State, tpidr);
    pub const EXCL_ADDR: usize = offset_of!(A64State, excl_addr);
    pub const EXCL_VAL: usize = offset_of!(A64State, excl_val);
    pub const EXCL_HI: usize = offset_of!(A64State, excl_hi);
}
