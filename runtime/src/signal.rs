//! Running guest signal handlers: the riscv64 Linux signal frame and `rt_sigreturn`.
//!
//! The frame is laid out as the Linux kernel builds it (`arch/riscv/kernel/signal.c`), so
//! handlers that inspect or edit their `ucontext_t` (to skip a faulting instruction, for
//! instance) see what they would on Linux:
//!
//! ```text
//! frame + 0     siginfo_t (128 bytes): si_signo, si_errno, si_code, then si_pid/si_uid
//!               or si_addr at +16
//! frame + 128   ucontext_t: uc_flags +0, uc_link +8, uc_stack +16 (ss_sp, ss_flags,
//!               ss_size), uc_sigmask +40 (128 bytes), uc_mcontext +176:
//!                 sc_regs: pc, x1..x31 (32 × u64)
//!                 fp state: f0..f31 (32 × u64), fcsr (u32), padding to 528 bytes
//! ```
//!
//! The handler runs with `a0` = signal, `a1` = &siginfo, `a2` = &ucontext, `sp` = frame
//! and `ra` = a two-instruction trampoline (`li a7, 139; ecall`) in a page the runtime maps
//! for it, like the kernel's vDSO `__vdso_rt_sigreturn`.

use vmx_lifter::state::RvState;

use crate::memory::{Fault, GuestMemory, Placement, Prot, PAGE_SIZE};
use crate::syscall::Kernel;

const SIGINFO_SIZE: u64 = 128;
const UC_STACK: u64 = 16;
const UC_SIGMASK: u64 = 40;
const UC_MCONTEXT: u64 = 176;
const FP_STATE: u64 = UC_MCONTEXT + 32 * 8;
const FP_STATE_SIZE: u64 = 528;
/// Size of the whole frame (a multiple of 16).
pub const FRAME_SIZE: u64 = SIGINFO_SIZE + FP_STATE + FP_STATE_SIZE;

const SA_ONSTACK: u64 = 0x0800_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESETHAND: u64 = 0x8000_0000;
const SS_DISABLE: i32 = 2;

/// `si_code` values for synchronous traps.
pub const ILL_ILLOPC: i32 = 1;
pub const TRAP_BRKPT: i32 = 1;

/// What the handler is told about the signal.
#[derive(Clone, Copy, Debug)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    /// `si_addr` for faults and traps; `si_pid`/`si_uid` for signals sent by a process.
    pub detail: SigDetail,
}

#[derive(Clone, Copy, Debug)]
pub enum SigDetail {
    Addr(u64),
    Sender { pid: u32, uid: u32 },
}

/// Moves the signals that arrived through the host since the last look (the guest's
/// own `kill`s of signals it handles take that way too) into `kernel`'s pending set.
/// Returns `Killed` if one of them terminates the process by default.
pub fn take_arrived(kernel: &Kernel) -> crate::syscall::SysOutcome {
    for (sig, code, pid) in crate::sys::take_forwarded() {
        if let out @ crate::syscall::SysOutcome::Killed(_) = kernel.post_signal_from(sig, code, pid)
        {
            return out;
        }
    }
    crate::syscall::SysOutcome::Continue
}

/// The next pending, unblocked signal that has a guest handler (signals pending with
/// the default or ignore disposition are dropped on the way), as its handler sees it.
pub fn next_handled_signal(kernel: &Kernel) -> Option<SigInfo> {
    use crate::syscall::signal::{SIG_DFL, SIG_IGN};
    while let Some((sig, code, pid)) = kernel.take_pending_signal() {
        let handler = kernel.sigaction(sig).map_or(0, |a| a.handler);
        if handler == SIG_DFL || handler == SIG_IGN {
            continue;
        }
        return Some(SigInfo {
            signo: sig,
            code,
            detail: SigDetail::Sender {
                pid: pid as u32,
                // SAFETY: getuid has no preconditions.
                uid: unsafe { libc::getuid() },
            },
        });
    }
    None
}

/// Maps the page holding the `rt_sigreturn` trampoline; returns its guest address.
pub fn map_trampoline(mem: &GuestMemory) -> Result<u64, String> {
    let at = mem
        .map(
            Placement::Hint(0),
            PAGE_SIZE,
            Prot::RW,
            crate::memory::Backing::Anon(crate::memory::RegionKind::Anon { shared: false }),
        )
        .map_err(|e| format!("cannot map the signal trampoline: {}", e.describe()))?;
    let code: [u32; 2] = [0x08b0_0893, 0x0000_0073]; // li a7, 139; ecall
    let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.write(at, &bytes)
        .map_err(|_| "cannot write the signal trampoline".to_string())?;
    mem.protect(at, PAGE_SIZE, Prot::RX)
        .map_err(|e| format!("cannot protect the signal trampoline: {}", e.describe()))?;
    Ok(at)
}

/// Where the frame of a signal delivered now goes, and the alternate stack's range if the
/// handler runs on it.
fn frame_address(k: &Kernel, st: &RvState, flags: u64) -> (u64, Option<(u64, u64)>) {
    let sp = st.x[2];
    let alt = k.altstack();
    let usable = flags & SA_ONSTACK != 0 && alt.flags & SS_DISABLE == 0 && alt.size != 0;
    let on_alt = usable && sp > alt.sp && sp - alt.sp <= alt.size;
    let (top, range) = if usable && !on_alt {
        (alt.sp + alt.size, Some((alt.sp, alt.sp + alt.size)))
    } else {
        (sp, None)
    };
    ((top - FRAME_SIZE) & !15, range)
}

/// Writes the signal frame for `info` and points `st` at the guest handler for it:
/// the caller then runs the guest until the handler returns through `rt_sigreturn`.
/// Returns the frame address and the alternate stack range the handler runs on, if any.
pub fn enter_handler(
    k: &Kernel,
    mem: &GuestMemory,
    st: &mut RvState,
    info: &SigInfo,
    trampoline: u64,
) -> Result<(u64, Option<(u64, u64)>), Fault> {
    let sig = info.signo;
    let act = k.sigaction(sig).unwrap_or_default();
    let (frame, alt) = frame_address(k, st, act.flags);
    let mut f = vec![0u8; FRAME_SIZE as usize];
    let put32 = |f: &mut Vec<u8>, off: u64, v: u32| {
        f[off as usize..off as usize + 4].copy_from_slice(&v.to_le_bytes())
    };
    let put64 = |f: &mut Vec<u8>, off: u64, v: u64| {
        f[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes())
    };
    put32(&mut f, 0, sig as u32);
    put32(&mut f, 8, info.code as u32);
    match info.detail {
        SigDetail::Addr(a) => put64(&mut f, 16, a),
        SigDetail::Sender { pid, uid } => {
            put32(&mut f, 16, pid);
            put32(&mut f, 20, uid);
        }
    }
    let uc = SIGINFO_SIZE;
    let cur_alt = k.altstack();
    put64(&mut f, uc + UC_STACK, cur_alt.sp);
    put32(&mut f, uc + UC_STACK + 8, cur_alt.flags as u32);
    put64(&mut f, uc + UC_STACK + 16, cur_alt.size);
    let cur_mask = k.signal_mask();
    put64(&mut f, uc + UC_SIGMASK, k.take_frame_mask());
    put64(&mut f, uc + UC_MCONTEXT, st.pc);
    for r in 1..32 {
        put64(&mut f, uc + UC_MCONTEXT + 8 * r as u64, st.x[r]);
    }
    for r in 0..32 {
        put64(&mut f, uc + FP_STATE + 8 * r as u64, st.f[r]);
    }
    put32(&mut f, uc + FP_STATE + 256, st.fcsr as u32);
    mem.write(frame, &f)?;

    let mut mask = cur_mask | act.mask;
    if act.flags & SA_NODEFER == 0 {
        mask |= 1 << (sig - 1);
    }
    k.set_signal_mask(mask);
    if act.flags & SA_RESETHAND != 0 {
        k.set_sigaction(sig, Default::default());
    }
    st.x[10] = sig as u64;
    st.x[11] = frame;
    st.x[12] = frame + uc;
    st.x[1] = trampoline;
    st.x[2] = frame;
    st.pc = act.handler;
    Ok((frame, alt))
}

/// `rt_sigreturn`: restores the state saved in the frame at `sp` (registers, `pc`, FP
/// state, signal mask). Returns the frame address.
pub fn sigreturn(k: &Kernel, mem: &GuestMemory, st: &mut RvState) -> Result<u64, Fault> {
    let frame = st.x[2];
    let mut f = vec![0u8; FRAME_SIZE as usize];
    mem.read(frame, &mut f)?;
    let get64 = |off: u64| {
        let o = off as usize;
        u64::from_le_bytes(f[o..o + 8].try_into().expect("8 bytes"))
    };
    let uc = SIGINFO_SIZE;
    st.pc = get64(uc + UC_MCONTEXT);
    for r in 1..32 {
        st.x[r] = get64(uc + UC_MCONTEXT + 8 * r as u64);
    }
    for r in 0..32 {
        st.f[r] = get64(uc + FP_STATE + 8 * r as u64);
    }
    st.fcsr = get64(uc + FP_STATE + 256) & 0xff;
    k.set_signal_mask(get64(uc + UC_SIGMASK));
    Ok(frame)
}
