//! Clocks, sleeps and timers. `timespec`, `timeval`, `itimerval` and `itimerspec` have
//! the same layout on riscv64 and x86-64, so guest buffers go straight to the host.

use super::{host, Kernel, SysResult};

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
