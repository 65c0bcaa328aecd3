//! File and descriptor syscalls. Guest fds are host fds; most calls pass through with
//! their guest buffers checked and translated to host pointers.

use super::{host, Kernel, SysResult};
use crate::memory::{Errno, RegionKind};

/// Linux's `UIO_MAXIOV`.
const UIO_MAXIOV: u64 = 1024;

fn fd(v: u64) -> i32 {
    v as i32
}

pub(super) fn read(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (p, n) = k.out_buf(a[1], a[2])?;
    // SAFETY: `p` is a checked writable guest range of `n` bytes.
    unsafe { host::sys(libc::SYS_read, [a[0], p, n, 0, 0, 0]) }
}

pub(super) fn write(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (p, n) = k.in_buf(a[1], a[2])?;
    // SAFETY: `p` is a checked readable guest range of `n` bytes.
    unsafe { host::sys(libc::SYS_write, [a[0], p, n, 0, 0, 0]) }
}

pub(super) fn pread(k: &Kernel, a: &[u64; 6], is_write: bool) -> SysResult {
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let (p, n, nr) = if is_write {
        let (p, n) = k.in_buf(a[1], a[2])?;
        (p, n, libc::SYS_pwrite64)
    } else {
        let (p, n) = k.out_buf(a[1], a[2])?;
        (p, n, libc::SYS_pread64)
    };
    // SAFETY: `p` is a checked guest range of `n` bytes with the needed permission.
    unsafe { host::sys(nr, [a[0], p, n, a[3], 0, 0]) }
}

/// Translates a guest iovec array into host iovecs over checked guest ranges.
/// `to_guest`: the kernel writes the buffers (readv).
pub(super) fn iovecs(
    k: &Kernel,
    iov: u64,
    cnt: u64,
    to_guest: bool,
) -> Result<Vec<libc::iovec>, Errno> {
    if cnt > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; cnt as usize * 16];
    k.mem.read(iov, &mut raw)?;
    let mut out = Vec::with_capacity(cnt as usize);
    let mut total: u64 = 0;
    for e in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(e[..8].try_into().unwrap_or_default());
        let len = u64::from_le_bytes(e[8..].try_into().unwrap_or_default());
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        // Linux silently truncates the total to MAX_RW_COUNT.
        let len = len.min(super::MAX_RW_COUNT - total);
        total += len;
        let p = if to_guest {
            k.out_ptr(base, len)?
        } else {
            k.in_ptr(base, len)?
        };
        out.push(libc::iovec {
            iov_base: p as *mut libc::c_void,
            iov_len: len as usize,
        });
    }
    Ok(out)
}

pub(super) fn readv(k: &Kernel, a: &[u64; 6], is_write: bool) -> SysResult {
    let v = iovecs(k, a[1], a[2], !is_write)?;
    let nr = if is_write {
        libc::SYS_writev
    } else {
        libc::SYS_readv
    };
    // SAFETY: `v` is a live host array of iovecs, each over a checked guest range.
    unsafe { host::sys(nr, [a[0], v.as_ptr() as u64, v.len() as u64, 0, 0, 0]) }
}

pub(super) fn preadv(k: &Kernel, a: &[u64; 6], is_write: bool, v2: bool) -> SysResult {
    let v = iovecs(k, a[1], a[2], !is_write)?;
    let nr = match (is_write, v2) {
        (false, false) => libc::SYS_preadv,
        (true, false) => libc::SYS_pwritev,
        (false, true) => libc::SYS_preadv2,
        (true, true) => libc::SYS_pwritev2,
    };
    let flags = if v2 { a[5] } else { 0 };
    // SAFETY: `v` is a live host array of iovecs, each over a checked guest range.
    unsafe {
        host::sys(
            nr,
            [a[0], v.as_ptr() as u64, v.len() as u64, a[3], a[4], flags],
        )
    }
}

/// `/proc/self/maps` as the guest sees it, in a memfd.
fn maps_fd(k: &Kernel, flags: u64) -> SysResult {
    use std::fmt::Write as _;
    let mut text = String::new();
    let exe = k.cfg.exe_path.display().to_string();
    for (start, r) in k.mem.regions() {
        let (shared, offset) = match r.kind {
            RegionKind::Anon { shared } => (shared, 0),
            RegionKind::File { shared, offset } => (shared, offset),
            _ => (false, 0),
        };
        let name = match r.kind {
            RegionKind::Heap => "[heap]",
            RegionKind::Stack => "[stack]",
            RegionKind::Image => exe.as_str(),
            _ => "",
        };
        let p = r.prot;
        let _ = writeln!(
            text,
            "{start:08x}-{:08x} {}{}{}{} {offset:08x} 00:00 0{}{name}",
            r.end,
            if p.readable() { 'r' } else { '-' },
            if p.writable() { 'w' } else { '-' },
            if p.executable() { 'x' } else { '-' },
            if shared { 's' } else { 'p' },
            if name.is_empty() { "" } else { "          " },
        );
    }
    let cloexec = if flags & libc::O_CLOEXEC as u64 != 0 {
        libc::MFD_CLOEXEC
    } else {
        0
    };
    let name = c"vmx-maps";
    // SAFETY: `name` is a NUL-terminated host string.
    let mfd = unsafe {
        host::sys(
            libc::SYS_memfd_create,
            [name.as_ptr() as u64, u64::from(cloexec), 0, 0, 0, 0],
        )
    }?;
    let bytes = text.as_bytes();
    let mut done = 0;
    while done < bytes.len() {
        let rest = &bytes[done..];
        // SAFETY: `rest` is a live host buffer.
        let n = unsafe {
            host::sys(
                libc::SYS_write,
                [mfd, rest.as_ptr() as u64, rest.len() as u64, 0, 0, 0],
            )
        };
        match n {
            Ok(n) => done += n as usize,
            Err(e) => {
                let _ = host::int3(libc::SYS_close, mfd, 0, 0);
                return Err(e);
            }
        }
    }
    host::int3(libc::SYS_lseek, mfd, 0, libc::SEEK_SET as u64)?;
    Ok(mfd)
}

pub(super) fn openat(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let p = k.path(a[1])?;
    if k.is_proc_self(p.as_bytes(), b"maps") {
        return maps_fd(k, a[2]);
    }
    let p = k.host_path(p);
    // SAFETY: `p` is a live NUL-terminated host string.
    unsafe {
        host::sys(
            libc::SYS_openat,
            [a[0], p.as_ptr() as u64, a[2], a[3], 0, 0],
        )
    }
}

pub(super) fn close(k: &Kernel, a: &[u64; 6]) -> SysResult {
    if k.is_protected(fd(a[0])) {
        return Err(Errno::EBADF);
    }
    host::int3(libc::SYS_close, a[0], 0, 0)
}

pub(super) fn close_range(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (first, last) = (a[0] as u32, a[1] as u32);
    if first > last {
        return Err(Errno::EINVAL);
    }
    let mut prot: Vec<u32> = super::lock(&k.protected_fds)
        .iter()
        .map(|&f| f as u32)
        .filter(|&f| f >= first && f <= last)
        .collect();
    prot.sort_unstable();
    let mut lo = first;
    for p in prot {
        if p > lo {
            host::int3(libc::SYS_close_range, u64::from(lo), u64::from(p - 1), a[2])?;
        }
        lo = match p.checked_add(1) {
            Some(v) => v,
            None => return Ok(0),
        };
    }
    if lo <= last {
        host::int3(libc::SYS_close_range, u64::from(lo), u64::from(last), a[2])?;
    }
    Ok(0)
}

/// The riscv64 (generic) `struct stat`, 128 bytes.
/// The guest's `struct stat` for host `st`: x86-64's is the host's own (144 bytes),
/// the others the generic one.
fn stat_bytes(k: &Kernel, st: &libc::stat) -> Result<Vec<u8>, Errno> {
    if k.is_x86_64() {
        // SAFETY: `libc::stat` is a plain C struct; viewing it as bytes reads only
        // initialised memory (it was zeroed before the host filled it).
        let b = unsafe {
            std::slice::from_raw_parts(
                (st as *const libc::stat).cast::<u8>(),
                std::mem::size_of::<libc::stat>(),
            )
        };
        return Ok(b.to_vec());
    }
    Ok(guest_stat(st)?.to_vec())
}

pub(super) fn guest_stat(st: &libc::stat) -> Result<[u8; 128], Errno> {
    let mut b = [0u8; 128];
    let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
    let nlink = u32::try_from(st.st_nlink).map_err(|_| Errno::EOVERFLOW)?;
    put(0, &st.st_dev.to_le_bytes());
    put(8, &st.st_ino.to_le_bytes());
    put(16, &st.st_mode.to_le_bytes());
    put(20, &nlink.to_le_bytes());
    put(24, &st.st_uid.to_le_bytes());
    put(28, &st.st_gid.to_le_bytes());
    put(32, &st.st_rdev.to_le_bytes());
    put(48, &st.st_size.to_le_bytes());
    put(56, &(st.st_blksize as i32).to_le_bytes());
    put(64, &st.st_blocks.to_le_bytes());
    put(72, &st.st_atime.to_le_bytes());
    put(80, &st.st_atime_nsec.to_le_bytes());
    put(88, &st.st_mtime.to_le_bytes());
    put(96, &st.st_mtime_nsec.to_le_bytes());
    put(104, &st.st_ctime.to_le_bytes());
    put(112, &st.st_ctime_nsec.to_le_bytes());
    Ok(b)
}

fn zeroed_stat() -> libc::stat {
    // SAFETY: `libc::stat` is a plain C struct of integers; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

pub(super) fn fstat(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let mut st = zeroed_stat();
    // SAFETY: `st` is a live host `struct stat`.
    unsafe {
        host::sys(
            libc::SYS_fstat,
            [a[0], &mut st as *mut libc::stat as u64, 0, 0, 0, 0],
        )
    }?;
    k.mem.write(a[1], &stat_bytes(k, &st)?)?;
    Ok(0)
}

pub(super) fn newfstatat(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let p = k.host_path(k.path(a[1])?);
    let mut st = zeroed_stat();
    // SAFETY: `p` is a host C string, `st` a live host `struct stat`.
    unsafe {
        host::sys(
            libc::SYS_newfstatat,
            [
                a[0],
                p.as_ptr() as u64,
                &mut st as *mut libc::stat as u64,
                a[3],
                0,
                0,
            ],
        )
    }?;
    k.mem.write(a[2], &stat_bytes(k, &st)?)?;
    Ok(0)
}

pub(super) fn statx(k: &Kernel, a: &[u64; 6]) -> SysResult {
    // `struct statx` is the same on every architecture: 256 bytes.
    let buf = k.out_ptr(a[4], 256)?;
    let p = if a[1] == 0 {
        None
    } else {
        Some(k.host_path(k.path(a[1])?))
    };
    let pp = p.as_ref().map_or(0, |c| c.as_ptr() as u64);
    // SAFETY: `pp` is NULL or a host C string; `buf` a checked writable guest range.
    unsafe { host::sys(libc::SYS_statx, [a[0], pp, a[2], a[3], buf, 0]) }
}

pub(super) fn statfs(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let p = k.host_path(k.path(a[0])?);
    let buf = k.out_ptr(a[1], 120)?;
    // SAFETY: host C string and a checked guest `struct statfs` (same layout).
    unsafe { host::sys(libc::SYS_statfs, [p.as_ptr() as u64, buf, 0, 0, 0, 0]) }
}

pub(super) fn fstatfs(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let buf = k.out_ptr(a[1], 120)?;
    // SAFETY: a checked guest `struct statfs` (same layout on both).
    unsafe { host::sys(libc::SYS_fstatfs, [a[0], buf, 0, 0, 0, 0]) }
}

pub(super) fn faccessat(k: &Kernel, a: &[u64; 6], v2: bool) -> SysResult {
    let p = k.host_path(k.path(a[1])?);
    let (nr, flags) = if v2 {
        (libc::SYS_faccessat2, a[3])
    } else {
        (libc::SYS_faccessat, 0)
    };
    // SAFETY: `p` is a host C string.
    unsafe { host::sys(nr, [a[0], p.as_ptr() as u64, a[2], flags, 0, 0]) }
}

pub(super) fn getdents64(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (p, n) = k.out_buf(a[1], a[2])?;
    // SAFETY: checked writable guest range; `struct linux_dirent64` is arch-neutral.
    unsafe { host::sys(libc::SYS_getdents64, [a[0], p, n, 0, 0, 0]) }
}

pub(super) fn readlinkat(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let size = a[3] as i32;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = k.path(a[1])?;
    if k.is_proc_self(p.as_bytes(), b"exe") {
        use std::os::unix::ffi::OsStrExt;
        let exe = k.cfg.exe_path.as_os_str().as_bytes();
        let n = exe.len().min(size as usize);
        k.mem.write(a[2], &exe[..n])?;
        return Ok(n as u64);
    }
    let p = k.host_path(p);
    let (buf, n) = k.out_buf(a[2], size as u64)?;
    // SAFETY: host C string and a checked writable guest range of `n` bytes.
    unsafe {
        host::sys(
            libc::SYS_readlinkat,
            [a[0], p.as_ptr() as u64, buf, n, 0, 0],
        )
    }
}

pub(super) fn getcwd(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let mut buf = vec![0u8; super::PATH_MAX];
    // SAFETY: `buf` is a live host buffer of the size passed.
    let n = unsafe {
        host::sys(
            libc::SYS_getcwd,
            [buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0, 0],
        )
    }?;
    if n > a[1] {
        return Err(Errno::ERANGE);
    }
    k.mem.write(a[0], &buf[..n as usize])?;
    Ok(n)
}

/// A syscall whose only argument is a path.
pub(super) fn path1(k: &Kernel, nr: libc::c_long, path: u64) -> SysResult {
    let p = k.path(path)?;
    // SAFETY: `p` is a host C string.
    unsafe { host::sys(nr, [p.as_ptr() as u64, 0, 0, 0, 0, 0]) }
}

/// A syscall `(path, integer)` such as `truncate`.
pub(super) fn path1_int(k: &Kernel, nr: libc::c_long, a: &[u64; 6]) -> SysResult {
    let p = k.path(a[0])?;
    // SAFETY: `p` is a host C string; the other argument is an integer.
    unsafe { host::sys(nr, [p.as_ptr() as u64, a[1], 0, 0, 0, 0]) }
}

/// A syscall `(dirfd, path, integers...)` such as `mkdirat`, `unlinkat`, `fchownat`.
pub(super) fn dirfd_path(k: &Kernel, nr: libc::c_long, a: &[u64; 6]) -> SysResult {
    let p = k.path(a[1])?;
    // SAFETY: `p` is a host C string; the remaining arguments are integers.
    unsafe { host::sys(nr, [a[0], p.as_ptr() as u64, a[2], a[3], a[4], 0]) }
}

/// `(olddirfd, oldpath, newdirfd, newpath, flags)`: `linkat`, `renameat2`.
pub(super) fn two_paths(k: &Kernel, nr: libc::c_long, a: &[u64; 6]) -> SysResult {
    let p1 = k.path(a[1])?;
    let p2 = k.path(a[3])?;
    // SAFETY: `p1` and `p2` are host C strings.
    unsafe {
        host::sys(
            nr,
            [a[0], p1.as_ptr() as u64, a[2], p2.as_ptr() as u64, a[4], 0],
        )
    }
}

pub(super) fn symlinkat(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let target = k.path(a[0])?;
    let link = k.path(a[2])?;
    // SAFETY: host C strings.
    unsafe {
        host::sys(
            libc::SYS_symlinkat,
            [target.as_ptr() as u64, a[1], link.as_ptr() as u64, 0, 0, 0],
        )
    }
}

pub(super) fn utimensat(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let p = if a[1] == 0 { None } else { Some(k.path(a[1])?) };
    let pp = p.as_ref().map_or(0, |c| c.as_ptr() as u64);
    let times = k.opt_in_ptr(a[2], 32)?;
    // SAFETY: NULL or a host C string; NULL or a checked guest `timespec[2]`.
    unsafe { host::sys(libc::SYS_utimensat, [a[0], pp, times, a[3], 0, 0]) }
}

pub(super) fn dup3(k: &Kernel, a: &[u64; 6]) -> SysResult {
    if k.is_protected(fd(a[1])) {
        return Err(Errno::EBADF);
    }
    host::int3(libc::SYS_dup3, a[0], a[1], a[2])
}

pub(super) fn fcntl(k: &Kernel, a: &[u64; 6]) -> SysResult {
    const F_GETOWN_EX: i32 = 16;
    const F_SETOWN_EX: i32 = 15;
    const F_SETSIG: i32 = 10;
    const F_GETSIG: i32 = 11;
    let cmd = a[1] as i32;
    let arg = match cmd {
        libc::F_DUPFD
        | libc::F_DUPFD_CLOEXEC
        | libc::F_GETFD
        | libc::F_SETFD
        | libc::F_GETFL
        | libc::F_SETFL
        | libc::F_SETOWN
        | libc::F_GETOWN
        | F_SETSIG
        | F_GETSIG
        | libc::F_SETLEASE
        | libc::F_GETLEASE
        | libc::F_NOTIFY
        | libc::F_SETPIPE_SZ
        | libc::F_GETPIPE_SZ
        | libc::F_ADD_SEALS
        | libc::F_GET_SEALS => a[2],
        // `struct flock` is 32 bytes with the same layout on both.
        libc::F_GETLK
        | libc::F_SETLK
        | libc::F_SETLKW
        | libc::F_OFD_GETLK
        | libc::F_OFD_SETLK
        | libc::F_OFD_SETLKW => k.out_ptr(a[2], 32)?,
        F_GETOWN_EX | F_SETOWN_EX => k.out_ptr(a[2], 8)?,
        _ => {
            k.report_variant(super::nr::FCNTL, a[1], "command");
            return Err(Errno::EINVAL);
        }
    };
    // SAFETY: `arg` is an integer or a checked guest struct of the size the command uses.
    unsafe { host::sys(libc::SYS_fcntl, [a[0], a[1], arg, 0, 0, 0]) }
}

pub(super) fn pipe2(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a live host `int[2]`.
    unsafe { host::sys(libc::SYS_pipe2, [fds.as_mut_ptr() as u64, a[1], 0, 0, 0, 0]) }?;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&fds[0].to_le_bytes());
    b[4..].copy_from_slice(&fds[1].to_le_bytes());
    if let Err(f) = k.mem.write(a[0], &b) {
        let _ = host::int3(libc::SYS_close, fds[0] as u64, 0, 0);
        let _ = host::int3(libc::SYS_close, fds[1] as u64, 0, 0);
        return Err(f.into());
    }
    Ok(0)
}

pub(super) fn ioctl(k: &Kernel, a: &[u64; 6]) -> SysResult {
    // Request numbers and structures are the asm-generic ones on both sides.
    let req = a[1] as u32;
    enum Arg {
        None,
        Int,
        Out(u64),
        In(u64),
    }
    let kind = match req {
        0x5401 => Arg::Out(36),                   // TCGETS (kernel struct termios)
        0x5402..=0x5404 => Arg::In(36),           // TCSETS, TCSETSW, TCSETSF
        0x802c_542a => Arg::Out(44),              // TCGETS2
        0x402c_542b..=0x402c_542d => Arg::In(44), // TCSETS2, TCSETSW2, TCSETSF2
        0x5413 => Arg::Out(8),                    // TIOCGWINSZ
        0x5414 => Arg::In(8),                     // TIOCSWINSZ
        0x541b | 0x5411 | 0x540f | 0x5429 => Arg::Out(4), // FIONREAD TIOCOUTQ TIOCGPGRP TIOCGSID
        0x5410 | 0x5421 | 0x5452 => Arg::In(4),   // TIOCSPGRP FIONBIO FIOASYNC
        0x8004_5430 => Arg::Out(4),               // TIOCGPTN
        0x4004_5431 => Arg::In(4),                // TIOCSPTLCK
        0x5409 | 0x540a | 0x540b | 0x540e | 0x5441 => Arg::Int, // TCSBRK TCXONC TCFLSH TIOCSCTTY TIOCGPTPEER
        0x5450 | 0x5451 | 0x5422 => Arg::None,                  // FIONCLEX FIOCLEX TIOCNOTTY
        _ => {
            k.report_variant(super::nr::IOCTL, u64::from(req), "request");
            return Err(Errno::ENOTTY);
        }
    };
    let arg = match kind {
        Arg::None => 0,
        Arg::Int => a[2],
        Arg::Out(n) => k.out_ptr(a[2], n)?,
        Arg::In(n) => k.in_ptr(a[2], n)?,
    };
    // SAFETY: `arg` is an integer or a checked guest buffer of the request's size.
    unsafe { host::sys(libc::SYS_ioctl, [a[0], u64::from(req), arg, 0, 0, 0]) }
}

pub(super) fn sendfile(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let off = k.opt_out_ptr(a[2], 8)?;
    // SAFETY: `off` is NULL or a checked guest `loff_t`.
    unsafe { host::sys(libc::SYS_sendfile, [a[0], a[1], off, a[3], 0, 0]) }
}

pub(super) fn copy_file_range(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let off_in = k.opt_out_ptr(a[1], 8)?;
    let off_out = k.opt_out_ptr(a[3], 8)?;
    // SAFETY: NULL or checked guest `loff_t`s.
    unsafe {
        host::sys(
            libc::SYS_copy_file_range,
            [a[0], off_in, a[2], off_out, a[4], a[5]],
        )
    }
}

pub(super) fn splice(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let off_in = k.opt_out_ptr(a[1], 8)?;
    let off_out = k.opt_out_ptr(a[3], 8)?;
    // SAFETY: NULL or checked guest `loff_t`s.
    unsafe { host::sys(libc::SYS_splice, [a[0], off_in, a[2], off_out, a[4], a[5]]) }
}

pub(super) fn memfd_create(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let name = match k.mem.read_cstr_checked(a[0], 249)? {
        Some(v) => std::ffi::CString::new(v).map_err(|_| Errno::EINVAL)?,
        None => return Err(Errno::EINVAL),
    };
    // SAFETY: `name` is a host C string.
    unsafe {
        host::sys(
            libc::SYS_memfd_create,
            [name.as_ptr() as u64, a[1], 0, 0, 0, 0],
        )
    }
}

pub(super) fn inotify_add_watch(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let p = k.path(a[1])?;
    // SAFETY: `p` is a host C string.
    unsafe {
        host::sys(
            libc::SYS_inotify_add_watch,
            [a[0], p.as_ptr() as u64, a[2], 0, 0, 0],
        )
    }
}

pub(super) fn ppoll(k: &Kernel, a: &[u64; 6]) -> SysResult {
    // `struct pollfd` (8 bytes) and `timespec` are identical; the kernel updates both.
    let nfds = a[1];
    if nfds > 1 << 20 {
        return Err(Errno::EINVAL);
    }
    let fds = k.out_ptr(a[0], nfds * 8)?;
    let tmo = k.opt_out_ptr(a[2], 16)?;
    super::time::check_sigmask(k, a[3], a[4])?;
    // The guest signal mask is emulated; the host mask stays the runtime's.
    // SAFETY: checked guest pollfd array and NULL or a checked guest timespec.
    unsafe { host::sys(libc::SYS_ppoll, [fds, nfds, tmo, 0, 8, 0]) }
}

pub(super) fn pselect6(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let n = a[0] as i32;
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = (n as u64).div_ceil(64) * 8;
    let r = k.opt_out_ptr(a[1], bytes)?;
    let w = k.opt_out_ptr(a[2], bytes)?;
    let e = k.opt_out_ptr(a[3], bytes)?;
    let tmo = k.opt_out_ptr(a[4], 16)?;
    // The sixth argument points to `{ const sigset_t *ss; size_t ss_len; }`.
    if a[5] != 0 {
        let ss = k.mem.read_u64(a[5])?;
        let len = k.mem.read_u64(a[5] + 8)?;
        super::time::check_sigmask(k, ss, len)?;
    }
    // SAFETY: NULL or checked guest fd_sets (same bitmap layout) and timespec.
    unsafe { host::sys(libc::SYS_pselect6, [a[0], r, w, e, tmo, 0]) }
}

/// riscv64 `struct epoll_event` is 16 bytes (u32 events, 4 padding, u64 data); the
/// x86-64 one is packed into 12.
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
struct HostEpollEvent {
    events: u32,
    data: u64,
}

pub(super) fn epoll_ctl(k: &Kernel, a: &[u64; 6]) -> SysResult {
    if k.is_x86_64() {
        // The guest's 12-byte packed event is the host's.
        let p = k.opt_in_ptr(a[3], 12)?;
        // SAFETY: `p` is NULL or a checked readable guest epoll_event.
        return unsafe { host::sys(libc::SYS_epoll_ctl, [a[0], a[1], a[2], p, 0, 0]) };
    }
    let mut ev = HostEpollEvent::default();
    let p = if a[3] == 0 {
        0
    } else {
        let mut b = [0u8; 16];
        k.mem.read(a[3], &mut b)?;
        ev.events = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        ev.data = u64::from_le_bytes(b[8..16].try_into().unwrap_or_default());
        &mut ev as *mut HostEpollEvent as u64
    };
    // SAFETY: `p` is NULL or a live host epoll_event.
    unsafe { host::sys(libc::SYS_epoll_ctl, [a[0], a[1], a[2], p, 0, 0]) }
}

pub(super) fn epoll_pwait(k: &Kernel, a: &[u64; 6], v2: bool) -> SysResult {
    // Linux's order: the timeout (epoll_pwait2), the signal mask, then maxevents, the
    // events buffer (only `access_ok`: nothing is written when no event is ready) and
    // the fd. Events are collected in a host array and copied out in the guest layout
    // (12 packed bytes on x86-64, 16 on the others).
    let tmo = if v2 {
        let t = k.opt_in_ptr(a[3], 16)?;
        if t != 0 {
            let mut b = [0u8; 16];
            k.mem.read(a[3], &mut b)?;
            let nsec = i64::from_le_bytes(b[8..].try_into().unwrap_or_default());
            let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or_default());
            if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
        }
        t
    } else {
        a[3]
    };
    super::time::check_sigmask(k, a[4], a[5])?;
    let max = a[2] as i32;
    let size = if k.is_x86_64() { 12 } else { 16 };
    if max <= 0 || max as u64 > (i32::MAX as u64) / size {
        return Err(Errno::EINVAL);
    }
    if a[1]
        .checked_add(max as u64 * size)
        .is_none_or(|e| e > vmx_lifter::state::GUEST_SPACE)
    {
        return Err(Errno::EFAULT);
    }
    let max = (max as usize).min(1024);
    let mut evs = vec![HostEpollEvent::default(); max];
    let nr = if v2 {
        libc::SYS_epoll_pwait2
    } else {
        libc::SYS_epoll_pwait
    };
    // SAFETY: `evs` is a live host array of `max` events; `tmo` is an integer
    // (epoll_pwait) or NULL / a checked guest timespec (epoll_pwait2).
    let n = unsafe { host::sys(nr, [a[0], evs.as_mut_ptr() as u64, max as u64, tmo, 0, 8]) }?;
    let mut out = Vec::with_capacity(n as usize * size as usize);
    for e in &evs[..n as usize] {
        let (events, data) = (e.events, e.data);
        out.extend_from_slice(&events.to_le_bytes());
        if size == 16 {
            out.extend_from_slice(&[0; 4]);
        }
        out.extend_from_slice(&data.to_le_bytes());
    }
    k.mem.write(a[1], &out)?;
    Ok(n)
}
