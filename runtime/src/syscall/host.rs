//! The only places the syscall layer calls into the host kernel with raw arguments.

use crate::memory::Errno;

/// Converts a libc-style return value (`-1` + `errno`) into a result.
pub(super) fn cvt(r: libc::c_long) -> Result<u64, Errno> {
    if r == -1 {
        Err(Errno::last())
    } else {
        Ok(r as u64)
    }
}

/// Performs host syscall `nr` with raw register arguments.
///
/// # Safety
/// Every argument the host kernel dereferences must be valid for that access: a
/// pointer to a live host buffer of the right size, or a host pointer obtained from
/// [`GuestMemory::host_ptr`](crate::memory::GuestMemory::host_ptr) for a checked guest
/// range (the kernel then only touches guest memory inside the reservation).
pub(super) unsafe fn sys(nr: libc::c_long, a: [u64; 6]) -> Result<u64, Errno> {
    // SAFETY: forwarded to the caller (see above).
    cvt(unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) })
}

/// Host syscalls that take only integer arguments, which [`int`] may call.
const INT_ONLY: &[libc::c_long] = &[
    libc::SYS_close,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_lseek,
    libc::SYS_fsync,
    libc::SYS_fdatasync,
    libc::SYS_sync,
    libc::SYS_syncfs,
    libc::SYS_ftruncate,
    libc::SYS_fchdir,
    libc::SYS_fchmod,
    libc::SYS_fchown,
    libc::SYS_flock,
    libc::SYS_fallocate,
    libc::SYS_fadvise64,
    libc::SYS_umask,
    libc::SYS_getpid,
    libc::SYS_getppid,
    libc::SYS_gettid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getpgid,
    libc::SYS_setpgid,
    libc::SYS_getsid,
    libc::SYS_setsid,
    libc::SYS_setuid,
    libc::SYS_setgid,
    libc::SYS_setreuid,
    libc::SYS_setregid,
    libc::SYS_setresuid,
    libc::SYS_setresgid,
    libc::SYS_setfsuid,
    libc::SYS_setfsgid,
    libc::SYS_getpriority,
    libc::SYS_setpriority,
    libc::SYS_sched_yield,
    libc::SYS_sched_getscheduler,
    libc::SYS_sched_get_priority_max,
    libc::SYS_sched_get_priority_min,
    libc::SYS_kill,
    libc::SYS_tgkill,
    libc::SYS_tkill,
    libc::SYS_epoll_create1,
    libc::SYS_eventfd2,
    libc::SYS_timerfd_create,
    libc::SYS_inotify_init1,
    libc::SYS_inotify_rm_watch,
    libc::SYS_socket,
    libc::SYS_listen,
    libc::SYS_shutdown,
    libc::SYS_close_range,
    libc::SYS_readahead,
    libc::SYS_sync_file_range,
    libc::SYS_tee,
    libc::SYS_ioprio_get,
    libc::SYS_ioprio_set,
    libc::SYS_pidfd_open,
    libc::SYS_timer_getoverrun,
    libc::SYS_timer_delete,
];

/// Performs a host syscall that takes only integer arguments (listed in `INT_ONLY`;
/// anything else is refused with `ENOSYS`).
pub(super) fn int(nr: libc::c_long, a: [u64; 6]) -> Result<u64, Errno> {
    if !INT_ONLY.contains(&nr) {
        debug_assert!(false, "host::int used for syscall {nr}");
        return Err(Errno::ENOSYS);
    }
    // SAFETY: the syscalls in INT_ONLY dereference none of their arguments.
    unsafe { sys(nr, a) }
}

/// Host syscall with a few integer arguments (the rest zero).
pub(super) fn int3(nr: libc::c_long, a0: u64, a1: u64, a2: u64) -> Result<u64, Errno> {
    int(nr, [a0, a1, a2, 0, 0, 0])
}

/// The host process id (also the guest's).
pub(super) fn getpid() -> i32 {
    int3(libc::SYS_getpid, 0, 0, 0).unwrap_or(0) as i32
}

/// The calling host thread id.
pub(super) fn gettid() -> i32 {
    int3(libc::SYS_gettid, 0, 0, 0).unwrap_or(0) as i32
}
