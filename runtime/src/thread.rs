//! Guest threads for the RISC-V engine and the AArch64 interpreter: `clone` with
//! `CLONE_VM|CLONE_THREAD` starts a new host thread that runs the same engine on a copy
//! of the caller's registers, and a thread's `exit` ends its host thread. (KVM guests
//! make one vCPU per thread in `kvm/`.)
//!
//! Everything a thread shares with the others (guest memory, the kernel's file table,
//! signal actions, translated code) is already process-wide; what is per thread lives
//! in the host thread: the guest registers (on its stack), the signal mask and
//! alternate stack and the `clear_child_tid` address (thread-locals of the syscall
//! layer), the decoded-block cache and the host signal stack.

use crate::memory::{Errno, GuestMemory};
use crate::syscall::{Kernel, ThreadSignals};

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FS: u64 = 0x200;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_THREAD: u64 = 0x1_0000;
pub const CLONE_SYSVSEM: u64 = 0x4_0000;
pub const CLONE_SETTLS: u64 = 0x8_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x10_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x100_0000;

/// Host stack of a secondary guest thread. Translated code turns guest recursion into
/// host recursion, so this is generous; it is only committed as it is touched.
const THREAD_STACK: usize = 256 << 20;

/// The arguments of a `clone` system call.
#[derive(Clone, Copy, Debug)]
pub struct CloneArgs {
    pub flags: u64,
    /// The new thread's stack pointer (0: the caller's).
    pub stack: u64,
    pub parent_tid: u64,
    pub tls: u64,
    pub child_tid: u64,
}

impl CloneArgs {
    /// The generic Linux argument order, which riscv64 and arm64 use: flags, stack,
    /// parent_tid, tls, child_tid.
    pub fn generic(a: [u64; 6]) -> CloneArgs {
        CloneArgs {
            flags: a[0],
            stack: a[1],
            parent_tid: a[2],
            tls: a[3],
            child_tid: a[4],
        }
    }

    /// Whether this `clone` makes a thread (shares the address space and is not a
    /// `vfork`), rather than a process.
    pub fn is_thread(&self) -> bool {
        self.flags & CLONE_THREAD != 0
            || (self.flags & CLONE_VM != 0 && self.flags & CLONE_VFORK == 0)
    }

    /// The thread pointer the new thread starts with, if `CLONE_SETTLS` gives one.
    pub fn tls(&self) -> Option<u64> {
        (self.flags & CLONE_SETTLS != 0).then_some(self.tls)
    }
}

/// The `clone` flags of a thread vmx can make: Linux's rule (CLONE_THREAD needs
/// CLONE_SIGHAND, which needs CLONE_VM) plus what threads share here anyway; a
/// CLONE_VM process that is not a thread (another thread group sharing memory) cannot
/// be had. EINVAL otherwise.
pub fn check_thread_flags(flags: u64) -> Result<(), Errno> {
    let needed = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
    let known = needed
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_CHILD_SETTID;
    if flags & needed != needed || flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// What a new guest thread installs before it runs guest code ([`ThreadStart::enter`]).
pub struct ThreadStart {
    signals: ThreadSignals,
    clear_child_tid: u64,
}

impl ThreadStart {
    /// Makes the calling host thread the new guest thread: its signal mask, its
    /// `clear_child_tid`, a host stack for the fault handler.
    pub fn enter(self, kernel: &Kernel) {
        kernel.adopt_thread_signals(self.signals);
        kernel.set_clear_child_tid(self.clear_child_tid);
        crate::sys::install_altstack();
    }
}

/// Starts a guest thread for `clone(args)`: `body` runs on a new host thread once the
/// tids are written (as Linux writes them before the child runs) and must call
/// [`ThreadStart::enter`] first. Returns the new thread's tid for the caller's result
/// register.
pub fn spawn(
    kernel: &Kernel,
    mem: &GuestMemory,
    args: &CloneArgs,
    body: impl FnOnce(ThreadStart) + Send + 'static,
) -> Result<u64, Errno> {
    check_thread_flags(args.flags)?;
    if args.flags & CLONE_PARENT_SETTID != 0 {
        mem.read_u32(args.parent_tid)?;
    }
    let start = ThreadStart {
        signals: kernel.thread_signals_for_clone(),
        clear_child_tid: if args.flags & CLONE_CHILD_CLEARTID != 0 {
            args.child_tid
        } else {
            0
        },
    };
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<bool>();
    kernel.thread_started();
    let spawned = std::thread::Builder::new()
        .name("guest".into())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let _ = tid_tx.send(crate::syscall::host_gettid());
            if go_rx.recv() == Ok(true) {
                body(start);
            }
        });
    let tid = match spawned.ok().and_then(|_| tid_rx.recv().ok()) {
        Some(tid) => tid,
        None => {
            kernel.thread_failed();
            return Err(Errno::EAGAIN);
        }
    };
    let mut ok = true;
    if args.flags & CLONE_PARENT_SETTID != 0 {
        ok &= mem.write_u32(args.parent_tid, tid as u32).is_ok();
    }
    if args.flags & CLONE_CHILD_SETTID != 0 {
        ok &= mem.write_u32(args.child_tid, tid as u32).is_ok();
    }
    if !ok {
        let _ = go_tx.send(false);
        kernel.thread_failed();
        return Err(Errno::EFAULT);
    }
    let _ = go_tx.send(true);
    Ok(tid as u64)
}

/// A guest thread's `exit` while other threads live on: `clear_child_tid` is zeroed
/// and its waiter woken, then the host thread ends. Returns (does nothing) if the
/// caller is the last thread: the process exits instead.
pub fn exit_if_not_last(kernel: &Kernel, args: [u64; 6]) {
    if !kernel.end_thread() {
        return;
    }
    kernel.trace_no_return(crate::syscall::nr::EXIT, args);
    // The host thread cannot return through the translated frames below (they have no
    // unwind information), so it leaves without unwinding; its host stack stays
    // reserved (lazily committed) for the rest of the process.
    // SAFETY: exit(2) of the calling thread only; nothing on this thread's stack is
    // referenced by other threads (guest state lives here and dies with the thread).
    unsafe { libc::syscall(libc::SYS_exit, 0) };
    unreachable!("exit(2) returned");
}

/// Runs `body` (a guest thread's whole life) and dies with SIGABRT if it panics, as
/// the process would if the runtime aborted: a guest thread never returns normally.
pub fn guard(body: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
        crate::sys::die_with_signal(libc::SIGABRT);
    }
}

/// The host main thread's part once the guest's main thread is started: the process
/// ends when the guest exits or dies (from whichever guest thread), so this waits for
/// ever. (The guest's main thread may also end alone, `exit` while others live on.)
pub fn wait_for_exit() -> ! {
    loop {
        std::thread::park();
    }
}
