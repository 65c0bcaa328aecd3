//! `--strace` formatting, in the style of qemu-user's `-strace`:
//! `pid name(arg,arg,...) = result`, with paths and flags decoded and errors shown as
//! `-1 errno=2 (No such file or directory)`.

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
}

fn signature(n: u64) -> Option<&'static [A]> {
    use nr::*;
    use A::*;
    Some(match n {
        READ => &[Fd, X, U],
        WRITE => &[Fd, Buf(2), U],
        READV | WRITEV => &[Fd, X, U],
        PREAD64 | PWRITE64 => &[Fd, X, U, D],
        OPENAT => &[Dfd, Path, OFlags, Mode],
        CLOSE | DUP | FSYNC | FDATASYNC | FCHDIR => &[Fd],
        CLOSE_RANGE => &[Fd, Fd, X],
        LSEEK => &[Fd, D, D],
        FSTAT | FSTATFS => &[Fd, X],
        NEWFSTATAT => &[Dfd, Path, X, AtFlags],
        STATX => &[Dfd, Path, AtFlags, X, X],
        STATFS => &[Path, X],
        FACCESSAT => &[Dfd, Path, D],
        FACCESSAT2 => &[Dfd, Path, D, AtFlags],
        READLINKAT => &[Dfd, Path, X, U],
        GETCWD => &[X, U],
        CHDIR | CHROOT => &[Path],
        MKDIRAT | FCHMODAT => &[Dfd, Path, Mode],
        MKNODAT => &[Dfd, Path, Mode, X],
        UNLINKAT => &[Dfd, Path, AtFlags],
        RENAMEAT2 => &[Dfd, Path, Dfd, Path, X],
        LINKAT => &[Dfd, Path, Dfd, Path, AtFlags],
        SYMLINKAT => &[Path, Dfd, Path],
        FCHOWNAT => &[Dfd, Path, D, D, AtFlags],
        TRUNCATE => &[Path, D],
        FTRUNCATE => &[Fd, D],
        UTIMENSAT => &[Dfd, Path, X, AtFlags],
        GETDENTS64 => &[Fd, X, U],
        DUP3 => &[Fd, Fd, OFlags],
        FCNTL => &[Fd, D, X],
        IOCTL => &[Fd, X, X],
        PIPE2 => &[X, OFlags],
        UMASK => &[Mode],
        BRK => &[X],
        MMAP => &[X, U, Prot, MFlags, Fd, X],
        MUNMAP => &[X, U],
        MPROTECT => &[X, U, Prot],
        MADVISE => &[X, U, D],
        MREMAP => &[X, U, U, X, X],
        EXIT | EXIT_GROUP => &[D],
        GETPID | GETPPID | GETTID | GETUID | GETEUID | GETGID | GETEGID | SCHED_YIELD | SETSID
        | SYNC => &[],
        SET_TID_ADDRESS | UNAME | SYSINFO | TIMES => &[X],
        SET_ROBUST_LIST => &[X, U],
        KILL => &[D, Sig],
        TKILL => &[D, Sig],
        TGKILL => &[D, D, Sig],
        RT_SIGACTION => &[Sig, X, X, U],
        RT_SIGPROCMASK => &[D, X, X, U],
        SIGALTSTACK | RT_SIGPENDING => &[X, X],
        MEMFD_CREATE => &[Path, X],
        EPOLL_CREATE1 | EVENTFD2 => &[X, X],
        EPOLL_CTL => &[Fd, D, Fd, X],
        EPOLL_PWAIT => &[Fd, X, D, D, X, U],
        SENDTO | RECVFROM => &[Fd, X, U, X, X, U],
        MSYNC => &[X, U, X],
        SCHED_GETSCHEDULER | GETPGID | GETSID => &[D],
        CLOCK_GETTIME | CLOCK_GETRES => &[D, X],
        GETTIMEOFDAY | NANOSLEEP => &[X, X],
        CLOCK_NANOSLEEP => &[D, D, X, X],
        FUTEX => &[X, D, U, X, X, U],
        GETRANDOM => &[X, U, X],
        PRLIMIT64 => &[D, D, X, X],
        GETRLIMIT | SETRLIMIT => &[D, X],
        GETRUSAGE => &[D, X],
        SCHED_GETAFFINITY => &[D, U, X],
        PRCTL => &[D, X, X, X, X],
        PPOLL => &[X, U, X, X, U],
        WAIT4 => &[D, X, X, X],
        SOCKET => &[D, D, D],
        CONNECT | BIND => &[Fd, X, U],
        RISCV_FLUSH_ICACHE => &[X, X, X],
        CLONE => &[X, X, X, X, X],
        EXECVE => &[Path, X, X],
        _ => return None,
    })
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
/// `-1 errno=N (description)`.
pub(super) fn format_ret(n: u64, ret: u64) -> String {
    let v = ret as i64;
    if (-4095..0).contains(&v) {
        let e = Errno(-v as i32);
        return format!("-1 errno={} ({})", -v, e.describe());
    }
    match n {
        nr::MMAP | nr::BRK | nr::MREMAP => format!("{ret:#x}"),
        _ => format!("{v}"),
    }
}
