//! The guest CPU state shared by translated code, the interpreter and the runtime.
//!
//! This is the one definition of the layout: the LLVM backend addresses fields by the
//! byte offsets exported below (computed from this struct), so the two cannot drift apart.

use core::mem::offset_of;

/// Revision of the contract between translated code and the runtime: the [`RvState`]
/// layout, the helper functions and what translated code does at calls and exits. Bump
/// it with any such change; the translator records it in its version string and the
/// runtime refuses translations made for another revision.
pub const STATE_ABI: u32 = 2;

/// No reservation is held (LR/SC).
pub const NO_RESERVATION: u64 = u64::MAX;

/// RISC-V 64 user-mode state of one guest thread.
#[repr(C)]
#[derive(Clone, Debug)]
pub struct RvState {
    /// Integer registers; `x[0]` is always zero.
    pub x: [u64; 32],
    /// Floating-point registers as raw bits (single values NaN-boxed).
    pub f: [u64; 32],
    /// The guest pc: where execution continues when translated code returns to the runtime.
    pub pc: u64,
    /// `fcsr`: bits 0..5 accrued exception flags, bits 5..8 the dynamic rounding mode.
    pub fcsr: u64,
    /// Address of the LR reservation, or [`NO_RESERVATION`].
    pub res_addr: u64,
    /// Value loaded by the LR that made the reservation.
    pub res_val: u64,
    /// Guest instructions retired by the interpreter (statistics).
    pub interp_insns: u64,
    /// Guest instructions retired by translated code since the runtime last collected
    /// them (statistics; translated code adds its count before every call out).
    pub tr_insns: u64,
    /// Bumped by the runtime when the guest rewrote translated code: live translated
    /// frames notice it after their next call out and finish in the interpreter.
    pub code_epoch: u64,
    /// Set (asynchronously, by the runtime's host signal handler) when a signal for the
    /// guest arrived; translated loops poll it on backward edges.
    pub signal_poll: u64,
}

impl Default for RvState {
    fn default() -> Self {
        RvState {
            x: [0; 32],
            f: [0; 32],
            pc: 0,
            fcsr: 0,
            res_addr: NO_RESERVATION,
            res_val: 0,
            interp_insns: 0,
            tr_insns: 0,
            code_epoch: 0,
            signal_poll: 0,
        }
    }
}

/// Byte offsets of [`RvState`] fields, for code generators.
pub mod offsets {
    use super::*;
    pub const X: usize = offset_of!(RvState, x);
    pub const F: usize = offset_of!(RvState, f);
    pub const PC: usize = offset_of!(RvState, pc);
    pub const FCSR: usize = offset_of!(RvState, fcsr);
    pub const RES_ADDR: usize = offset_of!(RvState, res_addr);
    pub const RES_VAL: usize = offset_of!(RvState, res_val);
    pub const TR_INSNS: usize = offset_of!(RvState, tr_insns);
    pub const CODE_EPOCH: usize = offset_of!(RvState, code_epoch);
    pub const SIGNAL_POLL: usize = offset_of!(RvState, signal_poll);
}

/// Guest addresses are confined to `[0, GUEST_SPACE)`: every access computes
/// `base + (addr & GUEST_ADDR_MASK)`, so no guest address reaches runtime memory.
pub const GUEST_ADDR_BITS: u32 = 36;
/// Size of the guest address space (64 GiB).
pub const GUEST_SPACE: u64 = 1 << GUEST_ADDR_BITS;
/// Mask applied to every guest address.
pub const GUEST_ADDR_MASK: u64 = GUEST_SPACE - 1;
