//! Host-process plumbing that needs `unsafe`: calling into translated code, dying
//! from a guest signal the way a native process would, and the host fault handler.

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use vmx_lifter::state::{RvState, GUEST_SPACE};

/// A translated guest function: `void f(RvState *st, uint8_t *mem)`.
pub type GuestFn = unsafe extern "C" fn(*mut RvState, *mut u8);

// `vmx_call_checkpointed(f, st, mem, slot)`: calls `f(st, mem)` with a checkpoint: the
// callee-saved registers, the previous checkpoint and `slot` are pushed, and `*slot`
// (this thread's innermost checkpoint) points at them while `f` runs. Resuming at
// `vmx_checkpoint_escape` with `rsp` = that checkpoint unwinds everything `f` left on
// the stack and returns to our caller as if `f` had returned: the fault handler uses
// it to abandon guest code after a guest signal handler left with `siglongjmp`.
std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl vmx_call_checkpointed",
    ".type vmx_call_checkpointed,@function",
    "vmx_call_checkpointed:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "push qword ptr [rcx]",
    "push rcx",
    "mov [rcx], rsp",
    // Eight pushes after the return address: realign to 16 for the call.
    "sub rsp, 8",
    "mov rax, rdi",
    "mov rdi, rsi",
    "mov rsi, rdx",
    "call rax",
    "add rsp, 8",
    ".globl vmx_checkpoint_escape",
    "vmx_checkpoint_escape:",
    "pop rcx",
    "pop rax",
    "mov [rcx], rax",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".size vmx_call_checkpointed, . - vmx_call_checkpointed",
);

extern "C" {
    fn vmx_call_checkpointed(f: GuestFn, st: *mut RvState, mem: *mut u8, slot: *mut usize);
    fn vmx_checkpoint_escape();
}

thread_local! {
    /// Stack address of this thread's innermost checkpoint (0: none).
    static CHECKPOINT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Call translated code (or the interpreter's block runner, which has the same
/// signature) under a checkpoint the fault handler can escape to.
///
/// # Safety
/// `f` must come from a linked `.aot` whose code was generated for this runtime's state
/// layout (or be a runtime function of that signature), `st` must be valid and
/// exclusively used by this guest thread, and `mem` must be the base of the guest
/// memory reservation. Everything `f` runs must tolerate being abandoned without
/// unwinding (no destructors pending on the abandoned frames).
pub unsafe fn call_guest(f: GuestFn, st: *mut RvState, mem: *mut u8) {
    let slot = CHECKPOINT.with(|c| c.as_ptr());
    // SAFETY: guaranteed by the caller; `slot` is this thread's checkpoint cell, which
    // outlives the call.
    unsafe { vmx_call_checkpointed(f, st, mem, slot) }
}

/// What the fault handler does with a guest memory fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// The guest dies of the signal (no handler, or it cannot be delivered).
    Die,
    /// A guest handler ran and returned: retry the faulting access.
    Retry,
    /// A guest handler left (`siglongjmp`): abandon the guest code that faulted and
    /// return from the innermost [`call_guest`] (the guest state says where to go on).
    Escape,
}

/// The engine's decision for a guest fault: (signal, guest address, host pc).
pub type FaultHook = fn(i32, u64, usize) -> FaultAction;
static FAULT_HOOK: std::sync::OnceLock<FaultHook> = std::sync::OnceLock::new();

/// Registers the engine's handler of guest memory faults (the first one wins).
pub fn set_fault_hook(hook: FaultHook) {
    let _ = FAULT_HOOK.set(hook);
}

/// Terminate the process with `sig`, as the kernel would for a native process with the
/// default action (no core file: a 64 GiB reservation is not worth dumping).
pub fn die_with_signal(sig: i32) -> ! {
    // At most once, even if the hook itself ends up here.
    if let Some(hook) = DEATH_HOOK.get() {
        if !DEATH_HOOK_RAN.swap(true, Ordering::SeqCst) {
            hook(sig);
        }
    }
    // SAFETY: plain syscalls with valid arguments; async-signal-safe, so this may also
    // run inside the fault handler.
    unsafe {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
        libc::_exit(128 + sig)
    }
}

/// Called once before the process dies of a guest signal (the gdb stub reports it).
static DEATH_HOOK: std::sync::OnceLock<fn(i32)> = std::sync::OnceLock::new();
static DEATH_HOOK_RAN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Registers `hook` to run (once) before [`die_with_signal`] kills the process (the
/// first registration wins). It may run inside the host fault handler, on the guest
/// thread's alternate signal stack.
pub fn set_death_hook(hook: fn(i32)) {
    let _ = DEATH_HOOK.set(hook);
}

static GUEST_BASE: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() as usize };
    let base = GUEST_BASE.load(Ordering::Relaxed);
    let in_guest = addr >= base && addr < base + GUEST_SPACE as usize + (1 << 16);
    if !in_guest {
        let msg = b"vmx: internal error: host fault outside guest memory\n";
        // SAFETY: write(2) on stderr with a valid buffer; async-signal-safe.
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        die_with_signal(sig)
    }
    let uc = ctx.cast::<libc::ucontext_t>();
    // SAFETY: the kernel passes the interrupted context for SA_SIGINFO handlers.
    let host_pc = unsafe { (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] } as usize;
    // The guest may have a handler for it. The interrupted code is guest code (translated
    // or the interpreter's block runner), which holds no runtime locks, so the engine
    // may run the guest's handler right here.
    let action = FAULT_HOOK.get().map_or(FaultAction::Die, |hook| {
        hook(sig, (addr - base) as u64, host_pc)
    });
    match action {
        FaultAction::Retry => {}
        FaultAction::Escape => {
            let checkpoint = CHECKPOINT.with(|c| c.get());
            if checkpoint == 0 {
                die_with_signal(sig)
            }
            // SAFETY: as above; resuming at the escape path with the checkpoint's stack
            // pointer returns from the innermost `call_guest` (see
            // `vmx_call_checkpointed`), abandoning guest frames only.
            unsafe {
                let g = &mut (*uc).uc_mcontext.gregs;
                g[libc::REG_RSP as usize] = checkpoint as i64;
                g[libc::REG_RIP as usize] = vmx_checkpoint_escape as *const () as usize as i64;
            }
        }
        // A guest access to memory it does not own: the guest dies of the same signal.
        FaultAction::Die => die_with_signal(sig),
    }
}

/// Install the fault handler for guest memory faults and give this thread an
/// alternate signal stack.
pub fn install_fault_handler(guest_base: *mut u8) {
    GUEST_BASE.store(guest_base as usize, Ordering::Relaxed);
    install_altstack();
    for sig in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: a zeroed sigaction with a valid handler and flags is well-formed.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            // SA_NODEFER: a guest handler run from the fault handler may fault again.
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Give the calling thread an alternate signal stack (leaked: it lives as long as the
/// thread, which is as long as the guest).
pub fn install_altstack() {
    // Guest signal handlers for faults run on it (translated code, so it is deep);
    // committed only as it is touched.
    const SIZE: usize = 64 << 20;
    // SAFETY: a fresh private anonymous mapping; the result is checked.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return;
    }
    let ss = libc::stack_t {
        ss_sp: p,
        ss_flags: 0,
        ss_size: SIZE,
    };
    // SAFETY: `ss` describes a valid, never-unmapped region.
    unsafe { libc::sigaltstack(&ss, std::ptr::null_mut()) };
}

/// The two sides of a `fork`.
pub enum Fork {
    Child,
    Parent(libc::pid_t),
}

/// Fork the process (used by the checking engine to run translated code on a copy of the
/// guest). Only the calling thread exists in the child.
pub fn fork() -> std::io::Result<Fork> {
    // SAFETY: fork(2) has no memory-safety preconditions; the child only runs the guest
    // thread's code, which holds no locks at the call site, then `_exit`s.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid)),
    }
}

/// Wait for a child; returns the raw wait status.
pub fn wait_child(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: valid out-pointer; `pid` is our child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1
        && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
    {}
    status
}

/// Leave the process immediately, without running exit handlers (forked children).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

// ---- host signals forwarded to the guest ----

/// Signals the runtime never forwards: uncatchable, the synchronous faults it handles
/// itself, and the two real-time signals the host C library keeps for its threads.
const NOT_FORWARDED: [i32; 9] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGTRAP,
    32,
    33,
];

/// Signals that arrived for the guest (bit `n-1` = signal `n`), not yet taken.
static FORWARDED: AtomicU64 = AtomicU64::new(0);
/// Per signal: the sender's `si_code` and `si_pid` of its latest arrival.
static FORWARDED_CODE: [AtomicI32; 65] = [const { AtomicI32::new(0) }; 65];
static FORWARDED_PID: [AtomicI32; 65] = [const { AtomicI32::new(0) }; 65];
/// `RvState::signal_poll` of the main guest thread (the first to register; null until it
/// runs): the fallback for signals that reach another host thread, and `request_poll`.
static POLL_FLAG: AtomicPtr<u64> = AtomicPtr::new(std::ptr::null_mut());

thread_local! {
    /// This guest thread's `RvState::signal_poll` (null on other host threads).
    static THREAD_POLL_FLAG: std::cell::Cell<*mut u64> =
        const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// What the host does with a signal the guest set a disposition for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostDisposition {
    Default,
    Ignore,
    /// Catch it and hand it to the guest at the next poll.
    Forward,
}

extern "C" fn on_forwarded(sig: i32, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    if (1..=64).contains(&sig) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let (code, pid) = unsafe { ((*info).si_code, (*info).si_pid()) };
        FORWARDED_CODE[sig as usize].store(code, Ordering::Relaxed);
        FORWARDED_PID[sig as usize].store(pid, Ordering::Relaxed);
        FORWARDED.fetch_or(1 << (sig - 1), Ordering::SeqCst);
    }
    // The guest thread the host signal interrupted looks at it (and any other guest
    // thread that does not block it may take it from the kernel's pending set).
    let own = THREAD_POLL_FLAG.with(|f| f.get());
    poke(if own.is_null() {
        POLL_FLAG.load(Ordering::SeqCst)
    } else {
        own
    });
}

/// Sets a guest thread's `RvState::signal_poll`.
fn poke(flag: *mut u64) {
    if !flag.is_null() {
        // SAFETY: `flag` points into a guest thread's `RvState`, which lives as long as
        // its thread, and the main guest thread's (the fallback) until the process
        // exits; an atomic store is async-signal-safe.
        unsafe { AtomicU64::from_ptr(flag) }.store(1, Ordering::SeqCst);
    }
}

/// Makes the host handle `sig` as the guest asked (a no-op for signals never forwarded).
pub fn set_host_disposition(sig: i32, d: HostDisposition) {
    if !(1..=64).contains(&sig) || NOT_FORWARDED.contains(&sig) {
        return;
    }
    // SAFETY: a zeroed sigaction with a valid handler (or SIG_DFL/SIG_IGN) and flags is
    // well-formed. No SA_RESTART: a blocking host call returns EINTR, so the runtime can
    // run the guest's handler and restart the call itself if the guest asked for that.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = match d {
            HostDisposition::Default => libc::SIG_DFL,
            HostDisposition::Ignore => libc::SIG_IGN,
            HostDisposition::Forward => on_forwarded as *const () as usize,
        };
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// Registers the calling guest thread's `RvState::signal_poll` for the forwarding handler.
pub fn set_poll_flag(flag: *mut u64) {
    THREAD_POLL_FLAG.with(|f| f.set(flag));
    let _ = POLL_FLAG.compare_exchange(
        std::ptr::null_mut(),
        flag,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
}

/// Makes the guest thread look at its pending events soon, as a forwarded signal does
/// (translated loops poll `RvState::signal_poll`).
pub fn request_poll() {
    poke(POLL_FLAG.load(Ordering::SeqCst));
}

/// Takes the signals that arrived since the last call: (signal, si_code, si_pid).
pub fn take_forwarded() -> Vec<(i32, i32, i32)> {
    let bits = FORWARDED.swap(0, Ordering::SeqCst);
    (1..=64)
        .filter(|s| bits & (1 << (s - 1)) != 0)
        .map(|s| {
            let code = FORWARDED_CODE[s as usize].load(Ordering::Relaxed);
            let pid = FORWARDED_PID[s as usize].load(Ordering::Relaxed);
            (s, code, pid)
        })
        .collect()
}

/// Blocks every forwardable signal in the calling thread, so they interrupt the guest
/// thread (whose blocking system calls must see EINTR) rather than this one.
pub fn block_forwardable_signals() {
    mask_forwardable_signals(libc::SIG_BLOCK);
}

/// `pthread_sigmask(how, forwardable signals)` on the calling thread.
fn mask_forwardable_signals(how: libc::c_int) {
    let set = sigset(forwardable_mask());
    // SAFETY: pthread_sigmask on the calling thread with a valid set.
    unsafe { libc::pthread_sigmask(how, &set, std::ptr::null_mut()) };
}

/// A host `sigset_t` holding the signals of `mask` (bit `n-1` = signal `n`).
pub fn sigset(mask: u64) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset on a local set, with signal numbers 1..=64.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in 1..=64 {
            if mask & (1 << (sig - 1)) != 0 {
                libc::sigaddset(&mut set, sig);
            }
        }
        set
    }
}

/// Makes the calling guest thread's host mask block exactly the forwardable signals
/// the guest thread blocks (`guest_mask`, bit `n-1` = signal `n`), so the host kernel
/// keeps a blocked signal pending — or hands a process-directed one to a thread that
/// takes it — instead of interrupting this thread's system calls.
pub fn sync_host_mask(guest_mask: u64) {
    let block = sigset(guest_mask & forwardable_mask());
    let unblock = sigset(!guest_mask & forwardable_mask());
    // SAFETY: pthread_sigmask on the calling thread with valid sets.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, std::ptr::null_mut());
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &unblock, std::ptr::null_mut());
    }
}

/// Waits, as `rt_sigsuspend` does, until a forwardable signal outside `guest_mask`
/// arrives (its host handler runs) — unless one has arrived already. The check and the
/// wait are atomic: the signals are blocked while the runtime looks.
pub fn suspend_until_forwarded(guest_mask: u64) {
    let all = sigset(forwardable_mask());
    // SAFETY: pthread_sigmask and sigsuspend on the calling thread with valid sets
    // (sigsuspend restores the mask it replaced).
    unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        if FORWARDED.load(Ordering::SeqCst) & !guest_mask == 0 {
            let mut wait = old;
            for sig in 1..=64 {
                if forwardable_mask() & (1 << (sig - 1)) != 0 {
                    if guest_mask & (1 << (sig - 1)) != 0 {
                        libc::sigaddset(&mut wait, sig);
                    } else {
                        libc::sigdelset(&mut wait, sig);
                    }
                }
            }
            libc::sigsuspend(&wait);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}

/// The forwardable signals pending for the calling thread or the process in the host
/// kernel (blocked there because the guest blocks them).
pub fn host_pending() -> u64 {
    // SAFETY: sigpending into a local set; sigismember on it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut set);
        (1..=64)
            .filter(|&s| forwardable_mask() & (1 << (s - 1)) != 0)
            .filter(|&s| libc::sigismember(&set, s) == 1)
            .fold(0, |m, s| m | 1 << (s - 1))
    }
}

/// The forwardable signals as a mask (bit `n-1` = signal `n`).
pub fn forwardable_mask() -> u64 {
    (1..=64)
        .filter(|s| !NOT_FORWARDED.contains(s))
        .fold(0, |m, s| m | 1 << (s - 1))
}

/// Unblocks every forwardable signal in the calling thread (undoes
/// [`block_forwardable_signals`]); pending ones run their host handler now.
pub fn unblock_forwardable_signals() {
    mask_forwardable_signals(libc::SIG_UNBLOCK);
}

/// `alarm(2)` on the host (x86-64 guests have the call; the generic table does not).
pub fn alarm(seconds: u32) -> u32 {
    // SAFETY: alarm has no memory arguments and cannot fail.
    unsafe { libc::alarm(seconds) }
}

/// Replaces the process with the program whose ELF bytes are `bytes` (`fexecve` of a
/// memfd holding them), with `argv` and `envp`. Returns only on failure, with why.
pub fn exec_bytes(bytes: &[u8], argv: &[Vec<u8>], envp: &[Vec<u8>]) -> String {
    use std::ffi::CString;
    use std::io::Write as _;
    use std::os::fd::{AsRawFd, FromRawFd};
    let cstrs = |v: &[Vec<u8>]| -> Option<Vec<CString>> {
        v.iter().map(|s| CString::new(s.clone()).ok()).collect()
    };
    let (Some(argv), Some(envp)) = (cstrs(argv), cstrs(envp)) else {
        return "an argument or environment string contains NUL".into();
    };
    // SAFETY: memfd_create with a valid C string name; the result is checked.
    let fd = unsafe { libc::memfd_create(c"vmx-native".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return format!("memfd_create: {}", std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    if let Err(e) = file.write_all(bytes) {
        return format!("cannot stage the program: {e}");
    }
    let ptrs = |v: &[CString]| -> Vec<*const libc::c_char> {
        v.iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    };
    let (argp, envpp) = (ptrs(&argv), ptrs(&envp));
    // SAFETY: NULL-terminated arrays of live C strings; fexecve returns only on error.
    unsafe { libc::fexecve(file.as_raw_fd(), argp.as_ptr(), envpp.as_ptr()) };
    std::io::Error::last_os_error().to_string()
}
