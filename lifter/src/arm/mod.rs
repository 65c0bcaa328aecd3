//! AArch64 (A64) guests.
//!
//! - [`state`]: the guest CPU state (`A64State`, `#[repr(C)]`);
//! - [`sem`]: [`sem::A64Sem`], what A64 semantics need beyond [`crate::sem::Sem`]
//!   (SP, NZCV, 128-bit vector registers, system registers, vector lane operations);
//! - [`decode`]: the table-driven decoder (one line per encoding group);
//! - [`exec`]: instruction semantics, written once, generic over [`sem::A64Sem`].

pub mod decode;
pub mod exec;
pub mod sem;
pub mod state;

pub use decode::{decode, Insn, Op};
