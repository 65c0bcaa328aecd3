//! Guest signal bookkeeping: actions, mask, pending set, alternate stack, and the
//! syscalls that manage them. Delivery (building frames, `rt_sigreturn`) belongs to the
//! runtime's signal module, which reads this state through the `Kernel` accessors.

use super::{host, lock, Flow, Kernel, SysOutcome, SysResult};
use crate::memory::Errno;
use std::cell::Cell;

pub const SIGKILL: i32 = 9;
pub const SIGSTOP: i32 = 19;
/// `SIG_DFL` handler value.
pub const SIG_DFL: u64 = 0;
/// `SIG_IGN` handler value.
pub const SIG_IGN: u64 = 1;
const SS_ONSTACK: i32 = 1;
const SS_DISABLE: i32 = 2;
const SS_AUTODISARM: i32 = 1 << 31;
const MINSIGSTKSZ: u64 = 2048;
/// `si_code`: sent by `kill`.
pub const SI_USER: i32 = 0;
/// `si_code`: sent by `tkill`/`tgkill`.
pub const SI_TKILL: i32 = -6;

/// A guest `struct sigaction` (riscv64: handler, flags, mask — no restorer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub mask: u64,
    /// `sa_restorer` (arm64 and x86-64 layouts; 0 on riscv64).
    pub restorer: u64,
}

/// A guest `stack_t` (from `sigaltstack`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub flags: i32,
    pub size: u64,
}

/// The process-wide part: actions and the pending set (signals are delivered to
/// whichever guest thread does not block them, as for process-directed signals on Linux).
pub(super) struct SignalState {
    actions: [SigAction; 65],
    pending: u64,
    /// `si_code` and sending pid of each pending signal (`SI_USER` for `kill`,
    /// `SI_TKILL` for `tgkill`, others for signals from outside).
    codes: [(i32, i32); 65],
}

impl SignalState {
    pub(super) fn new() -> SignalState {
        SignalState {
            actions: [SigAction::default(); 65],
            pending: 0,
            codes: [(SI_USER, 0); 65],
        }
    }
}

/// The per-thread part of a guest thread's signal state: its blocked mask and its
/// alternate stack. Each guest thread runs on its own host thread, so it lives in a
/// thread-local; a new thread starts from [`Kernel::thread_signals_for_clone`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadSignals {
    mask: u64,
    altstack: AltStack,
}

const NO_ALTSTACK: AltStack = AltStack {
    sp: 0,
    flags: SS_DISABLE,
    size: 0,
};

thread_local! {
    /// The guest `sp` of the syscall being handled on this thread (for `sigaltstack`).
    pub(super) static CURRENT_SP: Cell<u64> = const { Cell::new(0) };
    /// This guest thread's mask and alternate stack.
    static THREAD: Cell<ThreadSignals> = const {
        Cell::new(ThreadSignals { mask: 0, altstack: NO_ALTSTACK })
    };
}

fn thread_mask() -> u64 {
    THREAD.with(|t| t.get().mask)
}

fn set_thread_mask(mask: u64) {
    THREAD.with(|t| t.set(ThreadSignals { mask, ..t.get() }));
    crate::sys::sync_host_mask(mask);
}

thread_local! {
    /// The mask to restore once the signals a `rt_sigsuspend` (or a system call with a
    /// temporary mask) let in are delivered: Linux's `saved_sigmask`.
    static SAVED_MASK: Cell<Option<u64>> = const { Cell::new(None) };
}

fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

/// What the default action of `sig` is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Default {
    Terminate,
    Ignore,
    Stop,
}

fn default_action(sig: i32) -> Default {
    match sig {
        17 | 18 | 23 | 28 => Default::Ignore, // SIGCHLD SIGCONT SIGURG SIGWINCH
        19..=22 => Default::Stop,             // SIGSTOP SIGTSTP SIGTTIN SIGTTOU
        _ => Default::Terminate,
    }
}

/// The conventional name of a signal number.
pub fn name(sig: i32) -> &'static str {
    const NAMES: [&str; 32] = [
        "0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match sig {
        0..=31 => NAMES[sig as usize],
        32..=64 => "SIGRT",
        _ => "?",
    }
}

fn stop_self(k: &Kernel) {
    let _ = host::int3(libc::SYS_kill, k.pid() as u64, SIGSTOP as u64, 0);
}

impl Kernel {
    /// The guest's action for `sig` (1..=64).
    pub fn sigaction(&self, sig: i32) -> Option<SigAction> {
        (1..=64)
            .contains(&sig)
            .then(|| lock(&self.signals).actions[sig as usize])
    }

    /// Replaces the guest's action for `sig` (e.g. `SA_RESETHAND` on delivery).
    pub fn set_sigaction(&self, sig: i32, act: SigAction) {
        if (1..=64).contains(&sig) {
            let mut s = lock(&self.signals);
            s.actions[sig as usize] = act;
            self.note_fault_handlers(&s);
        }
    }

    /// Whether the guest has a handler for SIGSEGV or SIGBUS (then the engine runs
    /// guest code so that a fault can be handed to it; see `engine::guest_fault`).
    pub fn handles_faults(&self) -> bool {
        self.fault_handlers
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn note_fault_handlers(&self, s: &SignalState) {
        let handled = |sig: i32| !matches!(s.actions[sig as usize].handler, SIG_DFL | SIG_IGN);
        self.fault_handlers.store(
            handled(libc::SIGSEGV) || handled(libc::SIGBUS),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The calling guest thread's blocked-signal mask (bit `n-1` = signal `n`).
    pub fn signal_mask(&self) -> u64 {
        thread_mask()
    }

    /// Sets the calling thread's blocked-signal mask (SIGKILL and SIGSTOP cannot be
    /// blocked).
    pub fn set_signal_mask(&self, mask: u64) {
        set_thread_mask(mask & !UNBLOCKABLE);
    }

    /// The calling thread's alternate signal stack.
    pub fn altstack(&self) -> AltStack {
        THREAD.with(|t| t.get().altstack)
    }

    /// Sets a temporary mask for a system call that waits with one (`rt_sigsuspend`):
    /// the current mask is saved, to be restored by
    /// [`restore_saved_mask`](Self::restore_saved_mask) after delivery.
    pub fn set_temporary_mask(&self, mask: u64) {
        let cur = thread_mask();
        SAVED_MASK.with(|s| {
            if s.get().is_none() {
                s.set(Some(cur));
            }
        });
        set_thread_mask(mask & !UNBLOCKABLE);
    }

    /// The mask a signal frame saves for `rt_sigreturn` to restore: the one saved by a
    /// temporary mask (taken: only the first frame restores it), else the current one.
    pub fn take_frame_mask(&self) -> u64 {
        SAVED_MASK.with(|s| s.take()).unwrap_or_else(thread_mask)
    }

    /// Ends a temporary mask no handler frame took: call after delivering signals at
    /// the end of a system call.
    pub fn restore_saved_mask(&self) {
        if let Some(m) = SAVED_MASK.with(|s| s.take()) {
            set_thread_mask(m);
        }
    }

    /// What a thread made by `clone(CLONE_VM|CLONE_THREAD…)` from the calling thread
    /// starts with: the same mask, no alternate stack (Linux clears it for `CLONE_VM`).
    pub fn thread_signals_for_clone(&self) -> ThreadSignals {
        ThreadSignals {
            mask: thread_mask(),
            altstack: NO_ALTSTACK,
        }
    }

    /// Makes `t` the calling thread's signal state (the first thing a new guest thread
    /// does).
    pub fn adopt_thread_signals(&self, t: ThreadSignals) {
        THREAD.with(|c| c.set(t));
        crate::sys::sync_host_mask(t.mask);
    }

    /// `sa_flags` of the handler of the signal [`take_pending_signal`](Self::take_pending_signal)
    /// would return next, if any.
    pub fn next_deliverable_flags(&self) -> Option<u64> {
        let s = lock(&self.signals);
        let ready = s.pending & !thread_mask();
        if ready == 0 {
            return None;
        }
        let sig = ready.trailing_zeros() as usize + 1;
        Some(s.actions[sig].flags)
    }

    /// Are there pending signals that are not blocked?
    pub fn has_deliverable_signal(&self) -> bool {
        let s = lock(&self.signals);
        s.pending & !thread_mask() != 0
    }

    /// Takes the lowest pending, unblocked signal that has a guest handler, for the
    /// signal module to deliver: the signal, its `si_code` and the sender's pid.
    pub fn take_pending_signal(&self) -> Option<(i32, i32, i32)> {
        let mut s = lock(&self.signals);
        let ready = s.pending & !thread_mask();
        if ready == 0 {
            return None;
        }
        let sig = ready.trailing_zeros() as i32 + 1;
        s.pending &= !bit(sig);
        let (code, pid) = s.codes[sig as usize];
        Some((sig, code, pid))
    }

    /// A signal arrived for the guest process (from itself or from outside): applies
    /// the guest's disposition. Returns `Killed` when the default action terminates the
    /// process; otherwise the signal is ignored, stops the process, or is left pending
    /// for [`take_pending_signal`](Self::take_pending_signal).
    pub fn post_signal(&self, sig: i32) -> SysOutcome {
        self.post_signal_from(sig, SI_USER, self.pid())
    }

    /// As [`post_signal`](Self::post_signal), for a signal with this `si_code` sent by
    /// process `pid` (a host signal forwarded to the guest).
    pub fn post_signal_from(&self, sig: i32, code: i32, pid: i32) -> SysOutcome {
        match self.post(sig, code, pid) {
            Flow::Killed(s) => SysOutcome::Killed(s),
            _ => SysOutcome::Continue,
        }
    }

    fn post(&self, sig: i32, code: i32, pid: i32) -> Flow {
        if sig == SIGKILL {
            return Flow::Killed(SIGKILL);
        }
        if sig == SIGSTOP {
            stop_self(self);
            return Flow::Ret(0);
        }
        let mut s = lock(&self.signals);
        let act = s.actions[sig as usize];
        if act.handler == SIG_IGN
            || (act.handler == SIG_DFL && default_action(sig) == Default::Ignore)
        {
            return Flow::Ret(0);
        }
        if thread_mask() & bit(sig) != 0
            && act.handler != SIG_DFL
            && crate::sys::forwardable_mask() & bit(sig) != 0
        {
            // This thread blocks it, another may not: the host kernel holds it for the
            // process and hands it to a thread that takes it (whose host handler then
            // forwards it back to us), or keeps it pending until one does.
            drop(s);
            let _ = host::int3(libc::SYS_kill, host::getpid() as u64, sig as u64, 0);
            return Flow::Ret(0);
        }
        s.pending |= bit(sig);
        s.codes[sig as usize] = (code, pid);
        if thread_mask() & bit(sig) != 0 || act.handler != SIG_DFL {
            return Flow::Ret(0);
        }
        s.pending &= !bit(sig);
        drop(s);
        match default_action(sig) {
            Default::Stop => {
                stop_self(self);
                Flow::Ret(0)
            }
            _ => Flow::Killed(sig),
        }
    }

    /// After the mask changed: acts on pending signals that just became unblocked and
    /// have a default or ignore disposition.
    fn recheck_pending(&self) -> Flow {
        let mut s = lock(&self.signals);
        let mut ready = s.pending & !thread_mask();
        while ready != 0 {
            let sig = ready.trailing_zeros() as i32 + 1;
            ready &= !bit(sig);
            let act = s.actions[sig as usize];
            if act.handler == SIG_IGN {
                s.pending &= !bit(sig);
            } else if act.handler == SIG_DFL {
                s.pending &= !bit(sig);
                match default_action(sig) {
                    Default::Ignore => {}
                    Default::Stop => stop_self(self),
                    Default::Terminate => return Flow::Killed(sig),
                }
            }
        }
        Flow::Ret(0)
    }
}

fn read_sigset(k: &Kernel, addr: u64) -> Result<u64, Errno> {
    Ok(k.mem.read_u64(addr)?)
}

pub(super) fn rt_sigaction(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (sig, act, oact, size) = (a[0] as i32, a[1], a[2], a[3]);
    if size != 8 || !(1..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if act != 0 && (sig == SIGKILL || sig == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    // arm64's `struct sigaction` has `sa_restorer` before the mask; riscv64's has none.
    // x86-64's is laid out like arm64's.
    let (len, mask_word) = if k.is_aarch64() || k.is_x86_64() {
        (32, 3)
    } else {
        (24, 2)
    };
    let new = if act != 0 {
        let mut b = [0u8; 32];
        k.mem.read(act, &mut b[..len])?;
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        Some(SigAction {
            handler: w(0),
            flags: w(1),
            mask: w(mask_word) & !UNBLOCKABLE,
            restorer: if len == 32 { w(2) } else { 0 },
        })
    } else {
        None
    };
    let old = {
        let mut s = lock(&k.signals);
        let old = s.actions[sig as usize];
        if let Some(n) = new {
            s.actions[sig as usize] = n;
            k.note_fault_handlers(&s);
            crate::sys::set_host_disposition(
                sig,
                match n.handler {
                    SIG_DFL => crate::sys::HostDisposition::Default,
                    SIG_IGN => crate::sys::HostDisposition::Ignore,
                    _ => crate::sys::HostDisposition::Forward,
                },
            );
            // POSIX: setting a pending signal to be ignored discards it.
            if n.handler == SIG_IGN
                || (n.handler == SIG_DFL && default_action(sig) == Default::Ignore)
            {
                s.pending &= !bit(sig);
            }
        }
        old
    };
    if oact != 0 {
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&old.handler.to_le_bytes());
        b[8..16].copy_from_slice(&old.flags.to_le_bytes());
        if len == 32 {
            b[16..24].copy_from_slice(&old.restorer.to_le_bytes());
        }
        b[mask_word * 8..mask_word * 8 + 8].copy_from_slice(&old.mask.to_le_bytes());
        k.mem.write(oact, &b[..len])?;
    }
    Ok(0)
}

pub(super) fn rt_sigprocmask(k: &Kernel, a: &[u64; 6]) -> Result<Flow, Errno> {
    let (how, set, oset, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let new = if set != 0 {
        Some(read_sigset(k, set)?)
    } else {
        None
    };
    let old = thread_mask();
    if let Some(n) = new {
        let mask = match how {
            0 => old | n,  // SIG_BLOCK
            1 => old & !n, // SIG_UNBLOCK
            2 => n,        // SIG_SETMASK
            _ => return Err(Errno::EINVAL),
        };
        set_thread_mask(mask & !UNBLOCKABLE);
    }
    if oset != 0 {
        k.mem.write_u64(oset, old)?;
    }
    Ok(k.recheck_pending())
}

/// `rt_sigsuspend(mask, size)`: waits with `mask` until a signal with a handler (or a
/// fatal one) arrives; always fails with EINTR. The handlers run at the end of the
/// call, then the original mask comes back (through their frames or
/// [`Kernel::restore_saved_mask`]).
pub(super) fn rt_sigsuspend(k: &Kernel, a: &[u64; 6]) -> Result<Flow, Errno> {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = read_sigset(k, a[0])?;
    k.set_temporary_mask(mask);
    loop {
        if let Flow::Killed(s) = k.recheck_pending() {
            return Ok(Flow::Killed(s));
        }
        if k.has_deliverable_signal() {
            return Err(Errno::EINTR);
        }
        // Signals from outside arrive through the host handler; take them into the
        // pending set (and act on default dispositions) before looking again.
        crate::sys::suspend_until_forwarded(thread_mask());
        for (sig, code, pid) in crate::sys::take_forwarded() {
            if let SysOutcome::Killed(s) = k.post_signal_from(sig, code, pid) {
                return Ok(Flow::Killed(s));
            }
        }
    }
}

/// `rt_sigtimedwait(set, info, timeout, size)`: takes a pending signal of `set` (which
/// the caller normally blocks) without running its handler; waits up to `timeout`
/// (NULL: for ever). EAGAIN on timeout, EINTR if a handled signal outside `set` came.
pub(super) fn rt_sigtimedwait(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (set, info, timeout) = (a[0], a[1], a[2]);
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let want = read_sigset(k, set)? & !UNBLOCKABLE;
    let ts = if timeout != 0 {
        let mut b = [0u8; 16];
        k.mem.read(timeout, &mut b)?;
        let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or_default());
        let nsec = i64::from_le_bytes(b[8..].try_into().unwrap_or_default());
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        Some(libc::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        })
    } else {
        None
    };
    if info != 0 {
        k.mem.write(info, &[0u8; 128])?;
    }
    // Already pending for the process (posted by the runtime)?
    let taken = {
        let mut s = lock(&k.signals);
        let ready = s.pending & want;
        (ready != 0).then(|| {
            let sig = ready.trailing_zeros() as i32 + 1;
            s.pending &= !bit(sig);
            let (code, pid) = s.codes[sig as usize];
            (sig, code, pid)
        })
    };
    if let Some((sig, code, pid)) = taken {
        if info != 0 {
            let mut b = [0u8; 128];
            b[..4].copy_from_slice(&sig.to_le_bytes());
            b[8..12].copy_from_slice(&code.to_le_bytes());
            b[16..20].copy_from_slice(&pid.to_le_bytes());
            // SAFETY: getuid has no preconditions.
            let uid = unsafe { libc::getuid() };
            b[20..24].copy_from_slice(&uid.to_le_bytes());
            k.mem.write(info, &b)?;
        }
        return Ok(sig as u64);
    }
    // Otherwise the host holds it (the guest blocks it, so its host thread does too):
    // the host's sigtimedwait takes it, with the same siginfo layout.
    let host_set = want & crate::sys::forwardable_mask();
    let mut hinfo = [0u8; 128];
    let hs = crate::sys::sigset(host_set);
    // SAFETY: a local sigset and siginfo buffer, and NULL or a local timespec.
    let r = unsafe {
        host::sys(
            libc::SYS_rt_sigtimedwait,
            [
                &hs as *const _ as u64,
                hinfo.as_mut_ptr() as u64,
                ts.as_ref().map_or(0, |t| t as *const _ as u64),
                8,
                0,
                0,
            ],
        )
    }?;
    if info != 0 {
        k.mem.write(info, &hinfo)?;
    }
    Ok(r)
}

pub(super) fn rt_sigpending(k: &Kernel, a: &[u64; 6]) -> SysResult {
    if a[1] > 8 {
        return Err(Errno::EINVAL);
    }
    // Pending here, or still pending in the host kernel (blocked forwardable ones).
    let p = {
        let s = lock(&k.signals);
        (s.pending | crate::sys::host_pending()) & thread_mask()
    };
    k.mem.write(a[0], &p.to_le_bytes()[..a[1] as usize])?;
    Ok(0)
}

pub(super) fn sigaltstack(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (ss, old_ss) = (a[0], a[1]);
    let sp = CURRENT_SP.with(|c| c.get());
    let new = if ss != 0 {
        let mut b = [0u8; 24];
        k.mem.read(ss, &mut b)?;
        let sp = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
        let flags = i32::from_le_bytes(b[8..12].try_into().unwrap_or_default());
        let size = u64::from_le_bytes(b[16..].try_into().unwrap_or_default());
        Some((sp, flags, size))
    } else {
        None
    };
    let cur = k.altstack();
    let on_stack = cur.flags & SS_DISABLE == 0 && sp > cur.sp && sp - cur.sp <= cur.size;
    if let Some((nsp, nflags, nsize)) = new {
        if on_stack {
            return Err(Errno::EPERM);
        }
        let mode = nflags & !SS_AUTODISARM;
        let alt = match mode {
            SS_DISABLE => AltStack {
                sp: 0,
                flags: SS_DISABLE,
                size: 0,
            },
            0 | SS_ONSTACK => {
                if nsize < MINSIGSTKSZ {
                    return Err(Errno::ENOMEM);
                }
                AltStack {
                    sp: nsp,
                    flags: nflags & SS_AUTODISARM,
                    size: nsize,
                }
            }
            _ => return Err(Errno::EINVAL),
        };
        THREAD.with(|t| {
            t.set(ThreadSignals {
                altstack: alt,
                ..t.get()
            })
        });
    }
    if old_ss != 0 {
        let flags = if on_stack { SS_ONSTACK } else { cur.flags };
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&cur.sp.to_le_bytes());
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..].copy_from_slice(&cur.size.to_le_bytes());
        k.mem.write(old_ss, &b)?;
    }
    Ok(0)
}

fn check_sig(sig: u64) -> Result<i32, Errno> {
    let sig = sig as i32;
    if !(0..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    Ok(sig)
}

/// A signal from the guest to itself: to the process, or (`tid`: a guest tid) to one
/// of its threads. One the guest has a handler for goes through the host kernel (its
/// host handler forwards it back), so the host picks the thread that does not block it
/// and wakes it from a blocking call, as Linux does; the rest is decided here.
fn to_self(k: &Kernel, sig: i32, code: i32, tid: Option<i32>) -> Result<Flow, Errno> {
    if sig == 0 {
        return Ok(Flow::Ret(0));
    }
    let handled = k
        .sigaction(sig)
        .is_some_and(|a| !matches!(a.handler, SIG_DFL | SIG_IGN));
    if handled && crate::sys::forwardable_mask() & bit(sig) != 0 {
        let pid = host::getpid() as u64;
        // Linux hands a process-directed signal to the sender when it does not block
        // it (so its handler runs before `kill` returns); otherwise to any thread.
        let target = match tid {
            Some(t) => Some(k.host_tid(t) as u64),
            None if thread_mask() & bit(sig) == 0 => Some(host::gettid() as u64),
            None => None,
        };
        return match (target, tid) {
            (None, _) => host::int3(libc::SYS_kill, pid, sig as u64, 0),
            (Some(t), Some(_)) => host::int3(libc::SYS_tgkill, pid, t, sig as u64),
            // A `kill` the sender takes itself: still SI_USER, as `kill` reports it.
            (Some(t), None) => {
                let mut info = [0u32; 32];
                info[0] = sig as u32;
                info[2] = SI_USER as u32;
                info[4] = pid as u32;
                // SAFETY: getuid has no preconditions.
                info[5] = unsafe { libc::getuid() };
                // SAFETY: a live, fully initialised 128-byte siginfo; a signal to this
                // very thread, which the kernel lets carry SI_USER.
                unsafe {
                    host::sys(
                        libc::SYS_rt_tgsigqueueinfo,
                        [pid, t, sig as u64, info.as_ptr() as u64, 0, 0],
                    )
                }
            }
        }
        .map(Flow::Ret);
    }
    Ok(k.post(sig, code, k.pid()))
}

pub(super) fn kill(k: &Kernel, a: &[u64; 6]) -> Result<Flow, Errno> {
    let (pid, sig) = (a[0] as i32, check_sig(a[1])?);
    if pid == k.pid() {
        return to_self(k, sig, SI_USER, None);
    }
    host::int3(libc::SYS_kill, pid as u64, sig as u64, 0).map(Flow::Ret)
}

pub(super) fn tkill(k: &Kernel, tid: u64, sig: u64) -> Result<Flow, Errno> {
    let (tid, sig) = (tid as i32, check_sig(sig)?);
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tid == k.guest_tid() {
        return to_self(k, sig, SI_TKILL, Some(tid));
    }
    host::int3(libc::SYS_tkill, k.host_tid(tid) as u64, sig as u64, 0).map(Flow::Ret)
}

pub(super) fn tgkill(k: &Kernel, a: &[u64; 6]) -> Result<Flow, Errno> {
    let (tgid, tid, sig) = (a[0] as i32, a[1] as i32, check_sig(a[2])?);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tgid == k.pid() && tid == k.guest_tid() {
        return to_self(k, sig, SI_TKILL, Some(tid));
    }
    let htid = if tgid == k.pid() {
        k.host_tid(tid)
    } else {
        tid
    };
    host::int3(libc::SYS_tgkill, tgid as u64, htid as u64, sig as u64).map(Flow::Ret)
}

impl Kernel {
    /// Drops every pending signal (a forked child starts with none).
    pub(super) fn clear_pending_signals(&self) {
        lock(&self.signals).pending = 0;
    }
}
