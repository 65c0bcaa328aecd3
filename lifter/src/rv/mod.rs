//! RISC-V 64 (RV64GC + Zba/Zbb/Zbs).
//!
//! - [`insn`]: the decoded instruction type;
//! - [`decode`]: 32-bit and compressed (16-bit) decoding;
//! - [`exec`]: instruction semantics, one generic function over [`crate::sem::Sem`].

pub mod decode;
pub mod disasm;
pub mod exec;
pub mod insn;

pub use decode::decode;
pub use insn::{Insn, Op};
