//! `--strace` formatting, in the style of qemu-user's `-strace`, one line per call:
//! `pid name(arg,arg,...) = result`, with strings quoted, flags and constants symbolic
//! (open/mmap/mprotect flags, `AT_*`, socket families and types, clocks, fcntl and futex
//! commands, signals), pointers in hex (`NULL` for 0), and errors shown as
//! `-1 ENOENT (No such file or directory)`.

use super::{nr, Kernel};
use crate::memory::Errno;
use std::fmt::Write as _;

/// How one argument is shown.
#[derive(Clone, Copy)]
enum A {
    /// Signed decimal.
    D,
    /// Unsigned decimal.
    U,
    /// Hexadecimal (pointers, masks).
    X,
    /// File descriptor.
    Fd,
    /// Directory fd (`AT_FDCWD`).
    Dfd,
    /// NUL-terminated path.
    Path,
    /// Data buffer whose length is argument `n`.
    Buf(usize),
    OFlags,
    Mode,
    Prot,
    MFlags,
    AtFlags,
    Sig,
    /// A pointer: hex, `NULL` for 0.
    P,
    /// Socket address family (`AF_INET`).
    Fam,
    /// Socket type with its flags (`SOCK_STREAM|SOCK_CLOEXEC`).
    SockType,
    /// Clock id (`CLOCK_MONOTONIC`).
    Clock,
    /// fcntl command (`F_SETFD`).
    FcntlCmd,
    /// futex operation (`FUTEX_WAIT_PRIVATE`).
    FutexOp,
    /// sigprocmask `how` (`SIG_BLOCK`).
    How,
    /// lseek `whence` (`SEEK_SET`).
    Whence,
}

fn signature(n: u64) -> Option<&'static [A]> {
    use nr::*;
    use A::*;
    Some(match n {
        READ => &[Fd, P, U],
        WRITE => &[Fd, Buf(2), U],
        READV | WRITEV => &[Fd, P, U],
        PREAD64 | PWRITE64 => &[Fd, P, U, D],
        PREADV | PWRITEV => &[Fd, P, U, D, D],
        PREADV2 | PWRITEV2 => &[Fd, P, U, D, D, X],
        OPENAT => &[Dfd, Path, OFlags, Mode],
        CLOSE | DUP | FSYNC | FDATASYNC | FCHDIR | SYNCFS => &[Fd],
        CLOSE_RANGE => &[Fd, Fd, X],
        LSEEK => &[Fd, D, Whence],
        FSTAT | FSTATFS => &[Fd, P],
        NEWFSTATAT => &[Dfd, Path, P, AtFlags],
        STATX => &[Dfd, Path, AtFlags, X, P],
        STATFS => &[Path, P],
        FACCESSAT => &[Dfd, Path, D],
        FACCESSAT2 => &[Dfd, Path, D, AtFlags],
        READLINKAT => &[Dfd, Path, P, U],
        GETCWD => &[P, U],
        CHDIR | CHROOT => &[Path],
        MKDIRAT | FCHMODAT => &[Dfd, Path, Mode],
        MKNODAT => &[Dfd, Path, Mode, X],
        UNLINKAT => &[Dfd, Path, AtFlags],
        RENAMEAT2 => &[Dfd, Path, Dfd, Path, X],
        LINKAT => &[Dfd, Path, Dfd, Path, AtFlags],
        SYMLINKAT => &[Path, Dfd, Path],
        FCHOWNAT => &[Dfd, Path, D, D, AtFlags],
        FCHMOD => &[Fd, Mode],
        FCHOWN => &[Fd, D, D],
        TRUNCATE => &[Path, D],
        FTRUNCATE => &[Fd, D],
        FALLOCATE => &[Fd, X, D, D],
        FADVISE64 => &[Fd, D, D, D],
        FLOCK => &[Fd, X],
        UTIMENSAT => &[Dfd, Path, P, AtFlags],
        GETDENTS64 => &[Fd, P, U],
        DUP3 => &[Fd, Fd, OFlags],
        FCNTL => &[Fd, FcntlCmd, X],
        IOCTL => &[Fd, X, X],
        PIPE2 => &[P, OFlags],
        UMASK => &[Mode],
        SENDFILE => &[Fd, Fd, P, U],
        COPY_FILE_RANGE => &[Fd, P, Fd, P, U, X],
        SPLICE => &[Fd, P, Fd, P, U, X],
        MEMFD_CREATE => &[Path, X],
        BRK => &[P],
        MMAP => &[P, U, Prot, MFlags, Fd, X],
        MUNMAP => &[P, U],
        MPROTECT => &[P, U, Prot],
        MADVISE => &[P, U, D],
        MREMAP => &[P, U, U, X, P],
        MSYNC => &[P, U, X],
        MINCORE => &[P, U, P],
        MLOCK | MUNLOCK => &[P, U],
        EXIT | EXIT_GROUP => &[D],
        GETPID | GETPPID | GETTID | GETUID | GETEUID | GETGID | GETEGID | SCHED_YIELD | SETSID
        | SYNC | RT_SIGRETURN => &[],
        SET_TID_ADDRESS | UNAME | SYSINFO | TIMES => &[P],
        SET_ROBUST_LIST => &[P, U],
        KILL => &[D, Sig],
        TKILL => &[D, Sig],
        TGKILL => &[D, D, Sig],
        RT_SIGACTION => &[Sig, P, P, U],
        RT_SIGPROCMASK => &[How, P, P, U],
        RT_SIGSUSPEND => &[P, U],
        RT_SIGTIMEDWAIT => &[P, P, P, U],
        SIGALTSTACK | RT_SIGPENDING => &[P, P],
        EPOLL_CREATE1 | EVENTFD2 | INOTIFY_INIT1 => &[X, X],
        EPOLL_CTL => &[Fd, D, Fd, P],
        EPOLL_PWAIT => &[Fd, P, D, D, P, U],
        EPOLL_PWAIT2 => &[Fd, P, D, P, P, U],
        INOTIFY_ADD_WATCH => &[Fd, Path, X],
        INOTIFY_RM_WATCH => &[Fd, D],
        PPOLL => &[P, U, P, P, U],
        PSELECT6 => &[D, P, P, P, P, P],
        SCHED_GETSCHEDULER | GETPGID | GETSID => &[D],
        SETPGID => &[D, D],
        CLOCK_GETTIME | CLOCK_GETRES | CLOCK_SETTIME => &[Clock, P],
        GETTIMEOFDAY | NANOSLEEP => &[P, P],
        CLOCK_NANOSLEEP => &[Clock, X, P, P],
        GETITIMER => &[D, P],
        SETITIMER => &[D, P, P],
        TIMERFD_CREATE => &[Clock, X],
        TIMERFD_SETTIME => &[Fd, X, P, P],
        TIMERFD_GETTIME => &[Fd, P],
        TIMER_CREATE => &[Clock, P, P],
        TIMER_SETTIME => &[D, X, P, P],
        TIMER_GETTIME => &[D, P],
        TIMER_GETOVERRUN | TIMER_DELETE => &[D],
        FUTEX => &[P, FutexOp, U, P, P, U],
        GETRANDOM => &[P, U, X],
        PRLIMIT64 => &[D, D, P, P],
        GETRLIMIT | SETRLIMIT => &[D, P],
        GETRUSAGE => &[D, P],
        SCHED_GETAFFINITY | SCHED_SETAFFINITY => &[D, U, P],
        PRCTL => &[D, X, X, X, X],
        WAIT4 => &[D, P, X, P],
        WAITID => &[D, D, P, X, P],
        SOCKET => &[Fam, SockType, D],
        SOCKETPAIR => &[Fam, SockType, D, P],
        CONNECT | BIND => &[Fd, P, U],
        LISTEN => &[Fd, D],
        ACCEPT => &[Fd, P, P],
        ACCEPT4 => &[Fd, P, P, X],
        GETSOCKNAME | GETPEERNAME => &[Fd, P, P],
        SENDTO => &[Fd, Buf(2), U, X, P, U],
        RECVFROM => &[Fd, P, U, X, P, P],
        SETSOCKOPT => &[Fd, D, D, P, U],
        GETSOCKOPT => &[Fd, D, D, P, P],
        SHUTDOWN => &[Fd, D],
        SENDMSG | RECVMSG => &[Fd, P, X],
        SENDMMSG => &[Fd, P, U, X],
        RECVMMSG => &[Fd, P, U, X, P],
        RISCV_FLUSH_ICACHE => &[P, P, X],
        CLONE => &[X, P, P, P, P],
        EXECVE => &[Path, P, P],
        _ => return None,
    })
}

/// Names of `errno` values (Linux's generic numbering, shared by every port vmx runs).
pub(super) fn errno_name(e: i32) -> Option<&'static str> {
    const NAMES: [&str; 134] = [
        "0",
        "EPERM",
        "ENOENT",
        "ESRCH",
        "EINTR",
        "EIO",
        "ENXIO",
        "E2BIG",
        "ENOEXEC",
        "EBADF",
        "ECHILD",
        "EAGAIN",
        "ENOMEM",
        "EACCES",
        "EFAULT",
        "ENOTBLK",
        "EBUSY",
        "EEXIST",
        "EXDEV",
        "ENODEV",
        "ENOTDIR",
        "EISDIR",
        "EINVAL",
        "ENFILE",
        "EMFILE",
        "ENOTTY",
        "ETXTBSY",
        "EFBIG",
        "ENOSPC",
        "ESPIPE",
        "EROFS",
        "EMLINK",
        "EPIPE",
        "EDOM",
        "ERANGE",
        "EDEADLK",
        "ENAMETOOLONG",
        "ENOLCK",
        "ENOSYS",
        "ENOTEMPTY",
        "ELOOP",
        "41",
        "ENOMSG",
        "EIDRM",
        "ECHRNG",
        "EL2NSYNC",
        "EL3HLT",
        "EL3RST",
        "ELNRNG",
        "EUNATCH",
        "ENOCSI",
        "EL2HLT",
        "EBADE",
        "EBADR",
        "EXFULL",
        "ENOANO",
        "EBADRQC",
        "EBADSLT",
        "58",
        "EBFONT",
        "ENOSTR",
        "ENODATA",
        "ETIME",
        "ENOSR",
        "ENONET",
        "ENOPKG",
        "EREMOTE",
        "ENOLINK",
        "EADV",
        "ESRMNT",
        "ECOMM",
        "EPROTO",
        "EMULTIHOP",
        "EDOTDOT",
        "EBADMSG",
        "EOVERFLOW",
        "ENOTUNIQ",
        "EBADFD",
        "EREMCHG",
        "ELIBACC",
        "ELIBBAD",
        "ELIBSCN",
        "ELIBMAX",
        "ELIBEXEC",
        "EILSEQ",
        "ERESTART",
        "ESTRPIPE",
        "EUSERS",
        "ENOTSOCK",
        "EDESTADDRREQ",
        "EMSGSIZE",
        "EPROTOTYPE",
        "ENOPROTOOPT",
        "EPROTONOSUPPORT",
        "ESOCKTNOSUPPORT",
        "EOPNOTSUPP",
        "EPFNOSUPPORT",
        "EAFNOSUPPORT",
        "EADDRINUSE",
        "EADDRNOTAVAIL",
        "ENETDOWN",
        "ENETUNREACH",
        "ENETRESET",
        "ECONNABORTED",
        "ECONNRESET",
        "ENOBUFS",
        "EISCONN",
        "ENOTCONN",
        "ESHUTDOWN",
        "ETOOMANYREFS",
        "ETIMEDOUT",
        "ECONNREFUSED",
        "EHOSTDOWN",
        "EHOSTUNREACH",
        "EALREADY",
        "EINPROGRESS",
        "ESTALE",
        "EUCLEAN",
        "ENOTNAM",
        "ENAVAIL",
        "EISNAM",
        "EREMOTEIO",
        "EDQUOT",
        "ENOMEDIUM",
        "EMEDIUMTYPE",
        "ECANCELED",
        "ENOKEY",
        "EKEYEXPIRED",
        "EKEYREVOKED",
        "EKEYREJECTED",
        "EOWNERDEAD",
        "ENOTRECOVERABLE",
        "ERFKILL",
        "EHWPOISON",
    ];
    match e {
        1..=133 if !NAMES[e as usize].starts_with(|c: char| c.is_ascii_digit()) => {
            Some(NAMES[e as usize])
        }
        512 => Some("ERESTARTSYS"),
        _ => None,
    }
}

/// `name` from `table` for `v`, else `v` in decimal.
fn named(out: &mut String, v: i64, table: &[(i64, &str)]) {
    match table.iter().find(|(k, _)| *k == v) {
        Some((_, n)) => out.push_str(n),
        None => {
            let _ = write!(out, "{v}");
        }
    }
}

fn escape(out: &mut String, bytes: &[u8], max: usize) {
    out.push('"');
    for &b in bytes.iter().take(max) {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:o}");
            }
        }
    }
    out.push('"');
    if bytes.len() > max {
        out.push_str("...");
    }
}

fn flags(out: &mut String, mut v: u64, names: &[(u64, &str)]) {
    let mut first = true;
    for &(bit, name) in names {
        if v & bit == bit && bit != 0 {
            if !first {
                out.push('|');
            }
            out.push_str(name);
            first = false;
            v &= !bit;
        }
    }
    if v != 0 || first {
        if !first {
            out.push('|');
        }
        let _ = write!(out, "{v:#x}");
    }
}

fn oflags(out: &mut String, v: u64) {
    out.push_str(match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    });
    let rest = v & !3;
    if rest != 0 {
        out.push('|');
        flags(
            out,
            rest,
            &[
                (0o20200000, "O_TMPFILE"),
                (0o4010000, "O_SYNC"),
                (0o100, "O_CREAT"),
                (0o200, "O_EXCL"),
                (0o400, "O_NOCTTY"),
                (0o1000, "O_TRUNC"),
                (0o2000, "O_APPEND"),
                (0o4000, "O_NONBLOCK"),
                (0o10000, "O_DSYNC"),
                (0o20000, "O_ASYNC"),
                (0o40000, "O_DIRECT"),
                (0o100000, "O_LARGEFILE"),
                (0o200000, "O_DIRECTORY"),
                (0o400000, "O_NOFOLLOW"),
                (0o1000000, "O_NOATIME"),
                (0o2000000, "O_CLOEXEC"),
                (0o10000000, "O_PATH"),
            ],
        );
    }
}

fn arg(out: &mut String, k: &Kernel, kind: A, v: u64, args: &[u64; 6]) {
    match kind {
        A::D => {
            let _ = write!(out, "{}", v as i64);
        }
        A::U => {
            let _ = write!(out, "{v}");
        }
        A::X => {
            let _ = write!(out, "{v:#x}");
        }
        A::Fd => {
            let _ = write!(out, "{}", v as i32);
        }
        A::Dfd => {
            if v as i32 == -100 {
                out.push_str("AT_FDCWD");
            } else {
                let _ = write!(out, "{}", v as i32);
            }
        }
        A::Path => match k.mem.read_cstr_checked(v, 4095) {
            Ok(Some(s)) => escape(out, &s, 256),
            _ => {
                let _ = write!(out, "{v:#x}");
            }
        },
        A::Buf(len_arg) => {
            let len = args[len_arg].min(32);
            let mut b = vec![0u8; len as usize];
            if k.mem.read(v, &mut b).is_ok() {
                escape(out, &b, 32);
                if args[len_arg] > 32 {
                    out.push_str("...");
                }
            } else {
                let _ = write!(out, "{v:#x}");
            }
        }
        A::OFlags => oflags(out, v),
        A::Mode => {
            if v as u32 == 0 {
                out.push('0');
            } else {
                let _ = write!(out, "0{:o}", v as u32);
            }
        }
        A::Prot => {
            if v == 0 {
                out.push_str("PROT_NONE");
            } else {
                flags(
                    out,
                    v,
                    &[(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")],
                );
            }
        }
        A::MFlags => {
            out.push_str(match v & 0xf {
                1 => "MAP_SHARED",
                2 => "MAP_PRIVATE",
                3 => "MAP_SHARED_VALIDATE",
                _ => "MAP_?",
            });
            let rest = v & !0xf;
            if rest != 0 {
                out.push('|');
                flags(
                    out,
                    rest,
                    &[
                        (0x10, "MAP_FIXED"),
                        (0x20, "MAP_ANONYMOUS"),
                        (0x100, "MAP_GROWSDOWN"),
                        (0x800, "MAP_DENYWRITE"),
                        (0x1000, "MAP_EXECUTABLE"),
                        (0x2000, "MAP_LOCKED"),
                        (0x4000, "MAP_NORESERVE"),
                        (0x8000, "MAP_POPULATE"),
                        (0x10000, "MAP_NONBLOCK"),
                        (0x20000, "MAP_STACK"),
                        (0x40000, "MAP_HUGETLB"),
                        (0x100000, "MAP_FIXED_NOREPLACE"),
                    ],
                );
            }
        }
        A::AtFlags => {
            if v == 0 {
                out.push('0');
            } else {
                flags(
                    out,
                    v,
                    &[
                        (0x100, "AT_SYMLINK_NOFOLLOW"),
                        (0x200, "AT_REMOVEDIR"),
                        (0x400, "AT_SYMLINK_FOLLOW"),
                        (0x800, "AT_NO_AUTOMOUNT"),
                        (0x1000, "AT_EMPTY_PATH"),
                    ],
                );
            }
        }
        A::P => {
            if v == 0 {
                out.push_str("NULL");
            } else {
                let _ = write!(out, "{v:#x}");
            }
        }
        A::Fam => named(
            out,
            v as i32 as i64,
            &[
                (0, "AF_UNSPEC"),
                (1, "AF_UNIX"),
                (2, "AF_INET"),
                (10, "AF_INET6"),
                (16, "AF_NETLINK"),
                (17, "AF_PACKET"),
            ],
        ),
        A::SockType => {
            named(
                out,
                (v & 0xf) as i64,
                &[
                    (1, "SOCK_STREAM"),
                    (2, "SOCK_DGRAM"),
                    (3, "SOCK_RAW"),
                    (5, "SOCK_SEQPACKET"),
                ],
            );
            let rest = v & !0xf & 0xffff_ffff;
            if rest != 0 {
                out.push('|');
                flags(
                    out,
                    rest,
                    &[(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")],
                );
            }
        }
        A::Clock => named(
            out,
            v as i32 as i64,
            &[
                (0, "CLOCK_REALTIME"),
                (1, "CLOCK_MONOTONIC"),
                (2, "CLOCK_PROCESS_CPUTIME_ID"),
                (3, "CLOCK_THREAD_CPUTIME_ID"),
                (4, "CLOCK_MONOTONIC_RAW"),
                (5, "CLOCK_REALTIME_COARSE"),
                (6, "CLOCK_MONOTONIC_COARSE"),
                (7, "CLOCK_BOOTTIME"),
            ],
        ),
        A::FcntlCmd => named(
            out,
            v as i32 as i64,
            &[
                (0, "F_DUPFD"),
                (1, "F_GETFD"),
                (2, "F_SETFD"),
                (3, "F_GETFL"),
                (4, "F_SETFL"),
                (5, "F_GETLK"),
                (6, "F_SETLK"),
                (7, "F_SETLKW"),
                (8, "F_SETOWN"),
                (9, "F_GETOWN"),
                (36, "F_OFD_GETLK"),
                (37, "F_OFD_SETLK"),
                (38, "F_OFD_SETLKW"),
                (1024, "F_SETLEASE"),
                (1025, "F_GETLEASE"),
                (1030, "F_DUPFD_CLOEXEC"),
                (1031, "F_SETPIPE_SZ"),
                (1032, "F_GETPIPE_SZ"),
                (1033, "F_ADD_SEALS"),
                (1034, "F_GET_SEALS"),
            ],
        ),
        A::FutexOp => {
            let op = v as i32;
            named(
                out,
                i64::from(op & 0x7f),
                &[
                    (0, "FUTEX_WAIT"),
                    (1, "FUTEX_WAKE"),
                    (3, "FUTEX_REQUEUE"),
                    (4, "FUTEX_CMP_REQUEUE"),
                    (5, "FUTEX_WAKE_OP"),
                    (6, "FUTEX_LOCK_PI"),
                    (7, "FUTEX_UNLOCK_PI"),
                    (9, "FUTEX_WAIT_BITSET"),
                    (10, "FUTEX_WAKE_BITSET"),
                ],
            );
            if op & 128 != 0 {
                out.push_str("_PRIVATE");
            }
            if op & 256 != 0 {
                out.push_str("|FUTEX_CLOCK_REALTIME");
            }
        }
        A::How => named(
            out,
            v as i64,
            &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")],
        ),
        A::Whence => named(
            out,
            v as i32 as i64,
            &[
                (0, "SEEK_SET"),
                (1, "SEEK_CUR"),
                (2, "SEEK_END"),
                (3, "SEEK_DATA"),
                (4, "SEEK_HOLE"),
            ],
        ),
        A::Sig => {
            let s = v as i32;
            let name = super::signal::name(s);
            if (1..=31).contains(&s) {
                out.push_str(name);
            } else {
                let _ = write!(out, "{s}");
            }
        }
    }
}

/// `name(args)` for syscall `n`, read before the call runs.
pub(super) fn format_call(k: &Kernel, n: u64, args: &[u64; 6]) -> String {
    let mut out = String::new();
    match nr::name(n) {
        Some(name) => out.push_str(name),
        None => {
            let _ = write!(out, "syscall_{n}");
        }
    }
    out.push('(');
    const UNKNOWN: [A; 6] = [A::X; 6];
    let sig = signature(n).unwrap_or(&UNKNOWN);
    for (i, &kind) in sig.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        arg(&mut out, k, kind, args[i], args);
    }
    out.push(')');
    out
}

/// The result as qemu shows it: a number (hex for addresses) or
/// `-1 ENOENT (No such file or directory)`.
pub(super) fn format_ret(n: u64, ret: u64) -> String {
    let v = ret as i64;
    if (-4095..0).contains(&v) {
        let e = Errno(-v as i32);
        return match errno_name(e.0) {
            Some(name) => format!("-1 {name} ({})", e.describe()),
            None => format!("-1 errno={} ({})", e.0, e.describe()),
        };
    }
    match n {
        nr::MMAP | nr::BRK | nr::MREMAP => format!("{ret:#x}"),
        _ => format!("{v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_named() {
        assert_eq!(
            format_ret(nr::OPENAT, (-2i64) as u64),
            "-1 ENOENT (No such file or directory)"
        );
        assert_eq!(
            format_ret(nr::CLOSE, (-9i64) as u64),
            "-1 EBADF (Bad file descriptor)"
        );
        assert_eq!(errno_name(111), Some("ECONNREFUSED"));
        assert_eq!(errno_name(41), None);
        assert_eq!(format_ret(nr::MMAP, 0x1000), "0x1000");
        assert_eq!(format_ret(nr::READ, 5), "5");
    }

    #[test]
    fn constants_are_symbolic() {
        let mut s = String::new();
        named(&mut s, 1, &[(1, "CLOCK_MONOTONIC")]);
        assert_eq!(s, "CLOCK_MONOTONIC");
        let mut s = String::new();
        flags(
            &mut s,
            0o2004000,
            &[(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")],
        );
        assert_eq!(s, "SOCK_CLOEXEC|SOCK_NONBLOCK");
        let mut s = String::new();
        oflags(&mut s, 0o2000101);
        assert_eq!(s, "O_WRONLY|O_CREAT|O_CLOEXEC");
    }
}
