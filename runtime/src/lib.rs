//! The vmx runtime. It never links LLVM: it uses `vmx-lifter` without the `llvm` feature.

pub mod link;
pub mod memory;
pub mod process;
pub mod syscall;
