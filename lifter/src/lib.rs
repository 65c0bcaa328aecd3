//! vmx's knowledge of guest instruction sets.
//!
//! - [`elf`]: the guest image model (segments, symbols, `.eh_frame` function starts);
//! - [`sem`]: the semantics-builder trait every instruction meaning is written against;
//! - [`rv`]: RISC-V 64: instruction type, decoder, semantics;
//! - [`discover`]: static code discovery (functions, blocks, jump tables);
//! - `llvm` (feature): the semantics builder that emits LLVM IR, and whole-function lifting.

pub mod arm;
pub mod discover;
pub mod elf;
pub mod rv;
pub mod sem;
pub mod state;

#[cfg(feature = "llvm")]
pub mod llvm;
