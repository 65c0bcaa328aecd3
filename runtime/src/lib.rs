//! The vmx runtime. It never links LLVM: it uses `vmx-lifter` without the `llvm` feature.
//!
//! - [`engine`]: loads a translation, runs the guest, dispatches between translated code
//!   and the interpreter;
//! - [`gdb`]: the GDB remote-protocol server (`vmx exec -g PORT`);
//! - [`interp`]: the interpreter (the shared semantics on concrete values);
//! - [`kvm`]: native x86-64 guests in a KVM virtual machine;
//! - [`link`]: the in-process linker for the translated host objects;
//! - [`memory`]: the guest address space (one reserved host region);
//! - [`process`]: the initial process image (segments, stack, auxv);
//! - [`stats`]: `--stats` time split and report;
//! - [`syscall`]: the Linux system call layer;
//! - `sys`: unsafe host plumbing (calling translated code, signals);
//! - [`thread`]: guest threads (`clone` of a thread, a thread's `exit`).

pub mod a64;
pub mod concrete;
pub mod engine;
pub mod gdb;
pub mod hostfp;
pub mod interp;
pub mod kvm;
pub mod link;
pub mod memory;
pub mod process;
pub mod signal;
pub mod stats;
mod sys;
pub mod syscall;
pub mod thread;
