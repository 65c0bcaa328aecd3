//! The x86-64 system call table, as a translation onto the generic table the rest of the
//! syscall layer implements.
//!
//! x86-64 keeps many pre-`*at` calls (`open`, `stat`, `pipe`, `dup2`, `fork`, …) that the
//! asm-generic table dropped; each becomes the generic call Linux itself implements it
//! with (`open(p, f, m)` = `openat(AT_FDCWD, p, f, m)`, …). The few calls that need the
//! CPU state (`arch_prctl`, `rt_sigreturn`) are left to the caller. The numbers are the
//! host's own (`libc::SYS_*`): vmx runs on x86-64.
//!
//! The struct layouts that differ between the tables (`struct stat`, `epoll_event`,
//! `sigaction`) are selected by [`Kernel::set_x86_64`](super::Kernel::set_x86_64).

use super::nr;

const AT_FDCWD: u64 = -100i64 as u64;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const SIGCHLD: u64 = 17;
const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;

/// What an x86-64 system call is in terms of the generic table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum X86Call {
    /// Run generic call `nr` with these arguments.
    Generic(u64, [u64; 6]),
    /// `arch_prctl(code, addr)`: needs the vCPU's FS/GS base.
    ArchPrctl,
    /// `rt_sigreturn`: needs the vCPU registers.
    SigReturn,
    /// `alarm(seconds)`: no generic counterpart; `setitimer` with the old value.
    Alarm,
    /// `pause()`, `time(t)`, `dup2(a, b)`: small emulations the caller runs.
    Pause,
    Time,
    Dup2,
    /// Not a call vmx implements (reported once, `-ENOSYS`).
    Unknown,
}

/// Maps x86-64 system call `n` with arguments `a` onto the generic table.
pub fn to_generic(n: u64, a: [u64; 6]) -> X86Call {
    use X86Call::*;
    let Ok(n) = i64::try_from(n) else {
        return Unknown;
    };
    let g = |nr: u64, args: [u64; 6]| Generic(nr, args);
    macro_rules! same {
        ($($x:ident),* $(,)?) => {
            $(if n == libc_nr::$x { return Generic(nr::$x, a); })*
        };
    }
    same!(
        READ, WRITE, CLOSE, FSTAT, LSEEK, MMAP, MPROTECT, MUNMAP, BRK, RT_SIGACTION,
        RT_SIGPROCMASK, IOCTL, PREAD64, PWRITE64, READV, WRITEV, SCHED_YIELD, MREMAP,
        MSYNC, MINCORE, MADVISE, DUP, NANOSLEEP, GETITIMER, SETITIMER, GETPID, SENDFILE,
        SOCKET, CONNECT, ACCEPT, SENDTO, RECVFROM, SENDMSG, RECVMSG, SHUTDOWN, BIND, LISTEN,
        GETSOCKNAME, GETPEERNAME, SOCKETPAIR, SETSOCKOPT, GETSOCKOPT, EXECVE, EXIT, WAIT4,
        KILL, UNAME, FCNTL, FLOCK, FSYNC, FDATASYNC, TRUNCATE, FTRUNCATE, GETCWD, CHDIR,
        FCHDIR, FCHMOD, FCHOWN, UMASK, GETTIMEOFDAY, GETRLIMIT, GETRUSAGE, SYSINFO, TIMES,
        GETUID, GETGID, SETUID, SETGID, GETEUID, GETEGID, SETPGID, GETPPID, SETSID,
        SETREUID, SETREGID, GETGROUPS, SETRESUID, GETRESUID, SETRESGID, GETRESGID, GETPGID,
        SETFSUID, SETFSGID, GETSID, RT_SIGPENDING, SIGALTSTACK, PERSONALITY, STATFS,
        FSTATFS, GETPRIORITY, SETPRIORITY, SCHED_GETPARAM, SCHED_GETSCHEDULER,
        SCHED_GET_PRIORITY_MAX, SCHED_GET_PRIORITY_MIN, MLOCK, MUNLOCK, MLOCKALL,
        MUNLOCKALL, PRCTL, SETRLIMIT, CHROOT, SYNC, GETTID, READAHEAD, TKILL, FUTEX,
        SCHED_SETAFFINITY, SCHED_GETAFFINITY, GETDENTS64, SET_TID_ADDRESS, FADVISE64,
        CLOCK_SETTIME, CLOCK_GETTIME, CLOCK_GETRES, CLOCK_NANOSLEEP, EXIT_GROUP, TGKILL,
        WAITID, OPENAT, MKDIRAT, MKNODAT, FCHOWNAT, NEWFSTATAT, UNLINKAT, LINKAT,
        SYMLINKAT, READLINKAT, FCHMODAT, FACCESSAT, PSELECT6, PPOLL, SET_ROBUST_LIST,
        GET_ROBUST_LIST, SPLICE, TEE, SYNC_FILE_RANGE, UTIMENSAT, EPOLL_PWAIT, TIMERFD_CREATE,
        FALLOCATE, TIMERFD_SETTIME, TIMERFD_GETTIME, ACCEPT4, EVENTFD2, EPOLL_CREATE1, DUP3,
        PIPE2, INOTIFY_INIT1, PREADV, PWRITEV, PRLIMIT64, SYNCFS, GETCPU, RENAMEAT2,
        GETRANDOM, MEMFD_CREATE, MLOCK2, COPY_FILE_RANGE, PREADV2, PWRITEV2, STATX, RSEQ,
        CLOSE_RANGE, FACCESSAT2, EPOLL_PWAIT2, MEMBARRIER, INOTIFY_ADD_WATCH,
        INOTIFY_RM_WATCH,
    );
    let z = 0;
    match n {
        libc::SYS_open => g(nr::OPENAT, [AT_FDCWD, a[0], a[1], a[2], z, z]),
        libc::SYS_creat => g(nr::OPENAT, [AT_FDCWD, a[0], 0o1101, a[1], z, z]),
        libc::SYS_stat => g(nr::NEWFSTATAT, [AT_FDCWD, a[0], a[1], 0, z, z]),
        libc::SYS_lstat => g(
            nr::NEWFSTATAT,
            [AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW, z, z],
        ),
        libc::SYS_access => g(nr::FACCESSAT, [AT_FDCWD, a[0], a[1], z, z, z]),
        libc::SYS_pipe => g(nr::PIPE2, [a[0], 0, z, z, z, z]),
        libc::SYS_select => g(nr::PSELECT6, [a[0], a[1], a[2], a[3], a[4], 0]),
        libc::SYS_readlink => g(nr::READLINKAT, [AT_FDCWD, a[0], a[1], a[2], z, z]),
        libc::SYS_unlink => g(nr::UNLINKAT, [AT_FDCWD, a[0], 0, z, z, z]),
        libc::SYS_rmdir => g(nr::UNLINKAT, [AT_FDCWD, a[0], AT_REMOVEDIR, z, z, z]),
        libc::SYS_mkdir => g(nr::MKDIRAT, [AT_FDCWD, a[0], a[1], z, z, z]),
        libc::SYS_mknod => g(nr::MKNODAT, [AT_FDCWD, a[0], a[1], a[2], z, z]),
        libc::SYS_rename => g(nr::RENAMEAT2, [AT_FDCWD, a[0], AT_FDCWD, a[1], 0, z]),
        libc::SYS_renameat => g(nr::RENAMEAT2, [a[0], a[1], a[2], a[3], 0, z]),
        libc::SYS_link => g(nr::LINKAT, [AT_FDCWD, a[0], AT_FDCWD, a[1], 0, z]),
        libc::SYS_symlink => g(nr::SYMLINKAT, [a[0], AT_FDCWD, a[1], z, z, z]),
        libc::SYS_chmod => g(nr::FCHMODAT, [AT_FDCWD, a[0], a[1], z, z, z]),
        libc::SYS_chown => g(nr::FCHOWNAT, [AT_FDCWD, a[0], a[1], a[2], 0, z]),
        libc::SYS_lchown => g(
            nr::FCHOWNAT,
            [AT_FDCWD, a[0], a[1], a[2], AT_SYMLINK_NOFOLLOW, z],
        ),
        // x86-64 passes (flags, stack, ptid, ctid, tls); the generic order the
        // syscall layer takes is (flags, stack, ptid, tls, ctid).
        libc::SYS_clone => g(nr::CLONE, [a[0], a[1], a[2], a[4], a[3], z]),
        libc::SYS_fork => g(nr::CLONE, [SIGCHLD, 0, 0, 0, 0, z]),
        libc::SYS_vfork => g(nr::CLONE, [CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0, z]),
        libc::SYS_getpgrp => g(nr::GETPGID, [0, z, z, z, z, z]),
        libc::SYS_epoll_create => g(nr::EPOLL_CREATE1, [0, z, z, z, z, z]),
        libc::SYS_epoll_wait => g(nr::EPOLL_PWAIT, [a[0], a[1], a[2], a[3], 0, 8]),
        libc::SYS_eventfd => g(nr::EVENTFD2, [a[0], 0, z, z, z, z]),
        libc::SYS_inotify_init => g(nr::INOTIFY_INIT1, [0, z, z, z, z, z]),
        libc::SYS_signalfd4 | libc::SYS_signalfd => Unknown,
        libc::SYS_utimes | libc::SYS_futimesat | libc::SYS_utime => Unknown,
        libc::SYS_arch_prctl => ArchPrctl,
        libc::SYS_rt_sigreturn => SigReturn,
        libc::SYS_alarm => Alarm,
        libc::SYS_pause => Pause,
        libc::SYS_time => Time,
        libc::SYS_dup2 => Dup2,
        _ => Unknown,
    }
}

/// The x86-64 numbers of the calls that have the same meaning and arguments in both
/// tables, under their generic names.
mod libc_nr {
    macro_rules! nums {
        ($($x:ident = $sys:ident),* $(,)?) => { $(pub const $x: i64 = libc::$sys;)* };
    }
    nums!(
        READ = SYS_read, WRITE = SYS_write, CLOSE = SYS_close, FSTAT = SYS_fstat,
        LSEEK = SYS_lseek, MMAP = SYS_mmap, MPROTECT = SYS_mprotect, MUNMAP = SYS_munmap,
        BRK = SYS_brk, RT_SIGACTION = SYS_rt_sigaction, RT_SIGPROCMASK = SYS_rt_sigprocmask,
        IOCTL = SYS_ioctl, PREAD64 = SYS_pread64, PWRITE64 = SYS_pwrite64, READV = SYS_readv,
        WRITEV = SYS_writev, SCHED_YIELD = SYS_sched_yield, MREMAP = SYS_mremap,
        MSYNC = SYS_msync, MINCORE = SYS_mincore, MADVISE = SYS_madvise, DUP = SYS_dup,
        NANOSLEEP = SYS_nanosleep, GETITIMER = SYS_getitimer, SETITIMER = SYS_setitimer,
        GETPID = SYS_getpid, SENDFILE = SYS_sendfile, SOCKET = SYS_socket,
        CONNECT = SYS_connect, ACCEPT = SYS_accept, SENDTO = SYS_sendto,
        RECVFROM = SYS_recvfrom, SENDMSG = SYS_sendmsg, RECVMSG = SYS_recvmsg,
        SHUTDOWN = SYS_shutdown, BIND = SYS_bind, LISTEN = SYS_listen,
        GETSOCKNAME = SYS_getsockname, GETPEERNAME = SYS_getpeername,
        SOCKETPAIR = SYS_socketpair, SETSOCKOPT = SYS_setsockopt, GETSOCKOPT = SYS_getsockopt,
        EXECVE = SYS_execve, EXIT = SYS_exit, WAIT4 = SYS_wait4,
        KILL = SYS_kill, UNAME = SYS_uname, FCNTL = SYS_fcntl, FLOCK = SYS_flock,
        FSYNC = SYS_fsync, FDATASYNC = SYS_fdatasync, TRUNCATE = SYS_truncate,
        FTRUNCATE = SYS_ftruncate, GETCWD = SYS_getcwd, CHDIR = SYS_chdir,
        FCHDIR = SYS_fchdir, FCHMOD = SYS_fchmod, FCHOWN = SYS_fchown, UMASK = SYS_umask,
        GETTIMEOFDAY = SYS_gettimeofday, GETRLIMIT = SYS_getrlimit, GETRUSAGE = SYS_getrusage,
        SYSINFO = SYS_sysinfo, TIMES = SYS_times, GETUID = SYS_getuid, GETGID = SYS_getgid,
        SETUID = SYS_setuid, SETGID = SYS_setgid, GETEUID = SYS_geteuid,
        GETEGID = SYS_getegid, SETPGID = SYS_setpgid, GETPPID = SYS_getppid,
        SETSID = SYS_setsid, SETREUID = SYS_setreuid, SETREGID = SYS_setregid,
        GETGROUPS = SYS_getgroups, SETRESUID = SYS_setresuid, GETRESUID = SYS_getresuid,
        SETRESGID = SYS_setresgid, GETRESGID = SYS_getresgid, GETPGID = SYS_getpgid,
        SETFSUID = SYS_setfsuid, SETFSGID = SYS_setfsgid, GETSID = SYS_getsid,
        RT_SIGPENDING = SYS_rt_sigpending, SIGALTSTACK = SYS_sigaltstack,
        PERSONALITY = SYS_personality, STATFS = SYS_statfs, FSTATFS = SYS_fstatfs,
        GETPRIORITY = SYS_getpriority, SETPRIORITY = SYS_setpriority,
        SCHED_GETPARAM = SYS_sched_getparam, SCHED_GETSCHEDULER = SYS_sched_getscheduler,
        SCHED_GET_PRIORITY_MAX = SYS_sched_get_priority_max,
        SCHED_GET_PRIORITY_MIN = SYS_sched_get_priority_min, MLOCK = SYS_mlock,
        MUNLOCK = SYS_munlock, MLOCKALL = SYS_mlockall, MUNLOCKALL = SYS_munlockall,
        PRCTL = SYS_prctl, SETRLIMIT = SYS_setrlimit, CHROOT = SYS_chroot, SYNC = SYS_sync,
        GETTID = SYS_gettid, READAHEAD = SYS_readahead, TKILL = SYS_tkill, FUTEX = SYS_futex,
        SCHED_SETAFFINITY = SYS_sched_setaffinity, SCHED_GETAFFINITY = SYS_sched_getaffinity,
        GETDENTS64 = SYS_getdents64, SET_TID_ADDRESS = SYS_set_tid_address,
        FADVISE64 = SYS_fadvise64, CLOCK_SETTIME = SYS_clock_settime,
        CLOCK_GETTIME = SYS_clock_gettime, CLOCK_GETRES = SYS_clock_getres,
        CLOCK_NANOSLEEP = SYS_clock_nanosleep, EXIT_GROUP = SYS_exit_group,
        TGKILL = SYS_tgkill, WAITID = SYS_waitid, OPENAT = SYS_openat, MKDIRAT = SYS_mkdirat,
        MKNODAT = SYS_mknodat, FCHOWNAT = SYS_fchownat, NEWFSTATAT = SYS_newfstatat,
        UNLINKAT = SYS_unlinkat, LINKAT = SYS_linkat, SYMLINKAT = SYS_symlinkat,
        READLINKAT = SYS_readlinkat, FCHMODAT = SYS_fchmodat, FACCESSAT = SYS_faccessat,
        PSELECT6 = SYS_pselect6, PPOLL = SYS_ppoll, SET_ROBUST_LIST = SYS_set_robust_list,
        GET_ROBUST_LIST = SYS_get_robust_list, SPLICE = SYS_splice, TEE = SYS_tee,
        SYNC_FILE_RANGE = SYS_sync_file_range, UTIMENSAT = SYS_utimensat,
        EPOLL_PWAIT = SYS_epoll_pwait, TIMERFD_CREATE = SYS_timerfd_create,
        FALLOCATE = SYS_fallocate, TIMERFD_SETTIME = SYS_timerfd_settime,
        TIMERFD_GETTIME = SYS_timerfd_gettime, ACCEPT4 = SYS_accept4, EVENTFD2 = SYS_eventfd2,
        EPOLL_CREATE1 = SYS_epoll_create1, DUP3 = SYS_dup3, PIPE2 = SYS_pipe2,
        INOTIFY_INIT1 = SYS_inotify_init1, PREADV = SYS_preadv, PWRITEV = SYS_pwritev,
        PRLIMIT64 = SYS_prlimit64, SYNCFS = SYS_syncfs, GETCPU = SYS_getcpu,
        RENAMEAT2 = SYS_renameat2, GETRANDOM = SYS_getrandom, MEMFD_CREATE = SYS_memfd_create,
        MLOCK2 = SYS_mlock2, COPY_FILE_RANGE = SYS_copy_file_range, PREADV2 = SYS_preadv2,
        PWRITEV2 = SYS_pwritev2, STATX = SYS_statx, RSEQ = SYS_rseq,
        CLOSE_RANGE = SYS_close_range, FACCESSAT2 = SYS_faccessat2,
        EPOLL_PWAIT2 = SYS_epoll_pwait2, MEMBARRIER = SYS_membarrier,
        INOTIFY_ADD_WATCH = SYS_inotify_add_watch, INOTIFY_RM_WATCH = SYS_inotify_rm_watch,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_calls_become_at_calls() {
        let p = 0x1000;
        assert_eq!(
            to_generic(libc::SYS_open as u64, [p, 2, 0o644, 0, 0, 0]),
            X86Call::Generic(nr::OPENAT, [AT_FDCWD, p, 2, 0o644, 0, 0])
        );
        assert_eq!(
            to_generic(libc::SYS_write as u64, [1, p, 3, 0, 0, 0]),
            X86Call::Generic(nr::WRITE, [1, p, 3, 0, 0, 0])
        );
        assert_eq!(
            to_generic(libc::SYS_arch_prctl as u64, [0; 6]),
            X86Call::ArchPrctl
        );
        assert_eq!(to_generic(1 << 40, [0; 6]), X86Call::Unknown);
        // x86-64's `clone` has ctid and tls the other way round.
        assert_eq!(
            to_generic(libc::SYS_clone as u64, [1, 2, 3, 4, 5, 0]),
            X86Call::Generic(nr::CLONE, [1, 2, 3, 5, 4, 0])
        );
    }
}
