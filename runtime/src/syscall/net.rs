//! Socket syscalls. `sockaddr`s, socket options, `msghdr` and control messages have
//! the same layout on riscv64 and x86-64 (LP64); only pointers need translating.

use super::{fs, host, Kernel, SysResult};
use crate::memory::Errno;

pub(super) fn socketpair(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let mut sv = [0i32; 2];
    // SAFETY: `sv` is a live host `int[2]`.
    unsafe {
        host::sys(
            libc::SYS_socketpair,
            [a[0], a[1], a[2], sv.as_mut_ptr() as u64, 0, 0],
        )
    }?;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&sv[0].to_le_bytes());
    b[4..].copy_from_slice(&sv[1].to_le_bytes());
    if let Err(f) = k.mem.write(a[3], &b) {
        let _ = host::int3(libc::SYS_close, sv[0] as u64, 0, 0);
        let _ = host::int3(libc::SYS_close, sv[1] as u64, 0, 0);
        return Err(f.into());
    }
    Ok(0)
}

/// `(fd, const struct sockaddr *, socklen_t)`: bind, connect.
pub(super) fn sockaddr_in(k: &Kernel, nr: libc::c_long, a: &[u64; 6]) -> SysResult {
    let len = u64::from(a[2] as u32);
    let addr = k.opt_in_ptr(a[1], len)?;
    // SAFETY: NULL or a checked readable guest sockaddr of `len` bytes.
    unsafe { host::sys(nr, [a[0], addr, len, 0, 0, 0]) }
}

/// A `(struct sockaddr *, socklen_t *)` output pair; NULL pointers stay NULL.
fn addr_out(k: &Kernel, addr: u64, lenp: u64) -> Result<(u64, u64), Errno> {
    if addr == 0 || lenp == 0 {
        return Ok((0, 0));
    }
    let len = k.mem.read_u32(lenp)?;
    if (len as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((k.out_ptr(addr, u64::from(len))?, k.out_ptr(lenp, 4)?))
}

pub(super) fn accept(k: &Kernel, a: &[u64; 6], with_flags: bool) -> SysResult {
    let (addr, lenp) = addr_out(k, a[1], a[2])?;
    let flags = if with_flags { a[3] } else { 0 };
    // SAFETY: NULL or a checked guest sockaddr buffer and its checked length word.
    unsafe { host::sys(libc::SYS_accept4, [a[0], addr, lenp, flags, 0, 0]) }
}

/// getsockname, getpeername.
pub(super) fn sockaddr_out(k: &Kernel, nr: libc::c_long, a: &[u64; 6]) -> SysResult {
    let (addr, lenp) = addr_out(k, a[1], a[2])?;
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    // SAFETY: a checked guest sockaddr buffer and its checked length word.
    unsafe { host::sys(nr, [a[0], addr, lenp, 0, 0, 0]) }
}

pub(super) fn sendto(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (buf, n) = k.in_buf(a[1], a[2])?;
    let alen = u64::from(a[5] as u32);
    let dest = k.opt_in_ptr(a[4], alen)?;
    // SAFETY: checked readable guest data and NULL or a checked guest sockaddr.
    unsafe { host::sys(libc::SYS_sendto, [a[0], buf, n, a[3], dest, alen]) }
}

pub(super) fn recvfrom(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (buf, n) = k.out_buf(a[1], a[2])?;
    let (src, lenp) = addr_out(k, a[4], a[5])?;
    // SAFETY: checked writable guest data and NULL or a checked sockaddr + length.
    unsafe { host::sys(libc::SYS_recvfrom, [a[0], buf, n, a[3], src, lenp]) }
}

pub(super) fn setsockopt(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let len = u64::from(a[4] as u32);
    let val = k.opt_in_ptr(a[3], len)?;
    // SAFETY: NULL or a checked readable guest option value of `len` bytes.
    unsafe { host::sys(libc::SYS_setsockopt, [a[0], a[1], a[2], val, len, 0]) }
}

pub(super) fn getsockopt(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let len = k.mem.read_u32(a[4])?;
    if (len as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let val = k.opt_out_ptr(a[3], u64::from(len))?;
    let lenp = k.out_ptr(a[4], 4)?;
    // SAFETY: NULL or a checked guest buffer of `len` bytes, and its checked length.
    unsafe { host::sys(libc::SYS_getsockopt, [a[0], a[1], a[2], val, lenp, 0]) }
}

/// A guest `struct msghdr` (56 bytes) rebuilt for the host: the host header and the
/// buffers it points to (the iovec array), alive as long as it is.
struct HostMsg {
    h: libc::msghdr,
    _iovs: Vec<libc::iovec>,
}

/// Reads the guest `struct msghdr` at `addr` and points a host one at the checked guest
/// buffers (`send`: the kernel reads them; otherwise it writes them).
fn host_msg(k: &Kernel, addr: u64, send: bool) -> Result<HostMsg, Errno> {
    let mut g = [0u8; 56];
    k.mem.read(addr, &mut g)?;
    let w = |o: usize| u64::from_le_bytes(g[o..o + 8].try_into().unwrap_or_default());
    let (name, namelen) = (
        w(0),
        u64::from(u32::from_le_bytes([g[8], g[9], g[10], g[11]])),
    );
    let (iov, iovlen, control, controllen) = (w(16), w(24), w(32), w(40));
    // Linux: more than UIO_MAXIOV buffers is EMSGSIZE here (EINVAL for readv).
    if iovlen > 1024 {
        return Err(Errno(libc::EMSGSIZE));
    }
    let iovs = fs::iovecs(k, iov, iovlen, !send)?;
    let name_p = if send {
        k.opt_in_ptr(name, namelen)?
    } else {
        k.opt_out_ptr(name, namelen)?
    };
    let control_p = if send {
        k.opt_in_ptr(control, controllen)?
    } else {
        k.opt_out_ptr(control, controllen)?
    };
    // SAFETY: `libc::msghdr` is a plain C struct; all-zero is a valid value.
    let mut h: libc::msghdr = unsafe { std::mem::zeroed() };
    h.msg_name = name_p as *mut libc::c_void;
    h.msg_namelen = if name_p == 0 { 0 } else { namelen as u32 };
    h.msg_iov = iovs.as_ptr() as *mut libc::iovec;
    h.msg_iovlen = iovs.len();
    h.msg_control = control_p as *mut libc::c_void;
    h.msg_controllen = if control_p == 0 {
        0
    } else {
        controllen as usize
    };
    Ok(HostMsg { h, _iovs: iovs })
}

/// After recvmsg: the lengths and flags the kernel updated go back to the guest header.
fn msg_back(k: &Kernel, addr: u64, h: &libc::msghdr) -> Result<(), Errno> {
    k.mem.write_u32(addr + 8, h.msg_namelen)?;
    k.mem.write_u64(addr + 40, h.msg_controllen as u64)?;
    k.mem.write_u32(addr + 48, h.msg_flags as u32)?;
    Ok(())
}

/// sendmsg / recvmsg: the guest `struct msghdr` is rebuilt with host pointers; after
/// recvmsg the lengths and flags the kernel updated are copied back. `msghdr` and
/// `cmsghdr` (and so SCM_RIGHTS fd arrays) have the same layout on every 64-bit port.
pub(super) fn msg(k: &Kernel, a: &[u64; 6], send: bool) -> SysResult {
    let mut m = host_msg(k, a[1], send)?;
    let nr = if send {
        libc::SYS_sendmsg
    } else {
        libc::SYS_recvmsg
    };
    // SAFETY: `m.h` is a live host msghdr whose buffers are checked guest ranges and a
    // live host iovec array.
    let n = unsafe {
        host::sys(
            nr,
            [a[0], &mut m.h as *mut libc::msghdr as u64, a[2], 0, 0, 0],
        )
    }?;
    if !send {
        msg_back(k, a[1], &m.h)?;
    }
    Ok(n)
}

/// sendmmsg / recvmmsg: `struct mmsghdr` is a guest msghdr (56 bytes) plus `msg_len`
/// (4, padded to 64). Each header is converted; `msg_len` of the ones transferred is
/// written back. recvmmsg's timeout is a checked guest timespec.
pub(super) fn mmsg(k: &Kernel, a: &[u64; 6], send: bool) -> SysResult {
    const UIO_MAXIOV: u64 = 1024;
    let (vec, vlen, flags) = (a[1], a[2] as u32, a[3]);
    let vlen = u64::from(vlen).min(UIO_MAXIOV);
    let tmo = if send { 0 } else { k.opt_out_ptr(a[4], 16)? };
    let mut msgs = Vec::with_capacity(vlen as usize);
    for i in 0..vlen {
        match host_msg(k, vec + i * 64, send) {
            Ok(m) => msgs.push(m),
            // Like Linux, a bad header after the first ends the batch there.
            Err(e) if msgs.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    let mut hv: Vec<libc::mmsghdr> = msgs
        .iter()
        .map(|m| libc::mmsghdr {
            msg_hdr: m.h,
            msg_len: 0,
        })
        .collect();
    if hv.is_empty() {
        // vlen 0: the host still checks the fd.
        // SAFETY: a zero-length vector is never dereferenced.
        return unsafe {
            host::sys(
                if send {
                    libc::SYS_sendmmsg
                } else {
                    libc::SYS_recvmmsg
                },
                [a[0], hv.as_mut_ptr() as u64, 0, flags, tmo, 0],
            )
        };
    }
    let nr = if send {
        libc::SYS_sendmmsg
    } else {
        libc::SYS_recvmmsg
    };
    // SAFETY: `hv` is a live host array of msghdrs over checked guest buffers and live
    // host iovec arrays (owned by `msgs`); `tmo` is NULL or a checked guest timespec.
    let n = unsafe {
        host::sys(
            nr,
            [a[0], hv.as_mut_ptr() as u64, hv.len() as u64, flags, tmo, 0],
        )
    }?;
    for (i, m) in hv.iter().take(n as usize).enumerate() {
        let g = vec + i as u64 * 64;
        if !send {
            msg_back(k, g, &m.msg_hdr)?;
        }
        k.mem.write_u32(g + 56, m.msg_len)?;
    }
    Ok(n)
}
