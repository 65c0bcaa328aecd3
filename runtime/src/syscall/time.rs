//! Clocks, sleeps and timers. `timespec`, `timeval`, `itimerval` and `itimerspec` have
//! the same layout on riscv64 and x86-64, so guest buffers go straight to the host.

use super::{host, Kernel, SysResult};
use crate::memory::Errno;

pub(super) fn clock_gettime(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let tp = k.out_ptr(a[1], 16)?;
    // SAFETY: checked writable guest timespec.
    unsafe { host::sys(libc::SYS_clock_gettime, [a[0], tp, 0, 0, 0, 0]) }
}

pub(super) fn clock_getres(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let tp = k.opt_out_ptr(a[1], 16)?;
    // SAFETY: NULL or a checked writable guest timespec.
    unsafe { host::sys(libc::SYS_clock_getres, [a[0], tp, 0, 0, 0, 0]) }
}

pub(super) fn clock_settime(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let tp = k.in_ptr(a[1], 16)?;
    // SAFETY: checked readable guest timespec.
    unsafe { host::sys(libc::SYS_clock_settime, [a[0], tp, 0, 0, 0, 0]) }
}

pub(super) fn gettimeofday(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let tv = k.opt_out_ptr(a[0], 16)?;
    let tz = k.opt_out_ptr(a[1], 8)?;
    // SAFETY: NULL or checked guest timeval / timezone.
    unsafe { host::sys(libc::SYS_gettimeofday, [tv, tz, 0, 0, 0, 0]) }
}

pub(super) fn nanosleep(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let req = k.in_ptr(a[0], 16)?;
    let rem = k.opt_out_ptr(a[1], 16)?;
    // SAFETY: checked guest timespecs (rem may be NULL).
    unsafe { host::sys(libc::SYS_nanosleep, [req, rem, 0, 0, 0, 0]) }
}

pub(super) fn clock_nanosleep(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let req = k.in_ptr(a[2], 16)?;
    let rem = k.opt_out_ptr(a[3], 16)?;
    // SAFETY: checked guest timespecs (rem may be NULL).
    unsafe { host::sys(libc::SYS_clock_nanosleep, [a[0], a[1], req, rem, 0, 0]) }
}

pub(super) fn getitimer(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let v = k.out_ptr(a[1], 32)?;
    // SAFETY: checked guest itimerval.
    unsafe { host::sys(libc::SYS_getitimer, [a[0], v, 0, 0, 0, 0]) }
}

pub(super) fn setitimer(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let new = k.opt_in_ptr(a[1], 32)?;
    let old = k.opt_out_ptr(a[2], 32)?;
    // SAFETY: NULL or checked guest itimervals.
    unsafe { host::sys(libc::SYS_setitimer, [a[0], new, old, 0, 0, 0]) }
}

pub(super) fn timerfd_settime(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let new = k.in_ptr(a[2], 32)?;
    let old = k.opt_out_ptr(a[3], 32)?;
    // SAFETY: checked guest itimerspecs (old may be NULL).
    unsafe { host::sys(libc::SYS_timerfd_settime, [a[0], a[1], new, old, 0, 0]) }
}

pub(super) fn timerfd_gettime(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let cur = k.out_ptr(a[1], 32)?;
    // SAFETY: checked guest itimerspec.
    unsafe { host::sys(libc::SYS_timerfd_gettime, [a[0], cur, 0, 0, 0, 0]) }
}

/// `SIGEV_THREAD_ID`: the signal goes to the thread named in `sigev_notify_thread_id`.
const SIGEV_THREAD_ID: i32 = 4;

/// `timer_create(clock, sevp, timerid)`. `struct sigevent` (64 bytes: value, signo,
/// notify, then the thread id) is the same on every 64-bit port; a thread id is a guest
/// tid and becomes the host's. The timer's signal reaches the guest like any other host
/// signal (forwarded if the guest handles it).
pub(super) fn timer_create(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let mut ev = [0u8; 64];
    let evp = if a[1] == 0 {
        0
    } else {
        k.mem.read(a[1], &mut ev)?;
        let notify = i32::from_le_bytes([ev[12], ev[13], ev[14], ev[15]]);
        if notify == SIGEV_THREAD_ID {
            let tid = i32::from_le_bytes([ev[16], ev[17], ev[18], ev[19]]);
            ev[16..20].copy_from_slice(&k.host_tid(tid).to_le_bytes());
        }
        ev.as_ptr() as u64
    };
    let id = k.out_ptr(a[2], 4)?;
    // SAFETY: `evp` is NULL or a live host `struct sigevent`; `id` a checked guest int.
    unsafe { host::sys(libc::SYS_timer_create, [a[0], evp, id, 0, 0, 0]) }
}

pub(super) fn timer_settime(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let new = k.in_ptr(a[2], 32)?;
    let old = k.opt_out_ptr(a[3], 32)?;
    // SAFETY: checked guest itimerspecs (old may be NULL).
    unsafe { host::sys(libc::SYS_timer_settime, [a[0], a[1], new, old, 0, 0]) }
}

pub(super) fn timer_gettime(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let cur = k.out_ptr(a[1], 32)?;
    // SAFETY: checked guest itimerspec.
    unsafe { host::sys(libc::SYS_timer_gettime, [a[0], cur, 0, 0, 0, 0]) }
}

/// Checks a `(sigset_t *, sigsetsize)` pair the way Linux's `set_user_sigmask` does
/// (size first, then the pointer). The guest's mask is emulated, so the host call runs
/// with the runtime's own mask; a signal arriving during the wait is delivered when the
/// call returns.
pub(super) fn check_sigmask(k: &Kernel, set: u64, size: u64) -> Result<(), Errno> {
    if set == 0 {
        return Ok(());
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    k.mem.read_u64(set)?;
    Ok(())
}
