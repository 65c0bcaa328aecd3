//! Memory syscalls: brk, mmap and friends, on the guest mapping table.

use super::{Kernel, SysResult};
use crate::memory::{
    page_align_up, Backing, Errno, Placement, Prot, RegionKind, GUEST_SPACE, MMAP_MIN_ADDR,
    PAGE_SIZE,
};

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_TYPE: u64 = 0x0f;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;

const PROT_SEM: u64 = 0x8;
const PROT_GROWSDOWN: u64 = 0x0100_0000;
const PROT_GROWSUP: u64 = 0x0200_0000;

const MREMAP_MAYMOVE: u64 = 1;
const MREMAP_FIXED: u64 = 2;
const MREMAP_DONTUNMAP: u64 = 4;

/// Guest `PROT_*` bits of a syscall argument (`EINVAL` on unknown bits).
fn prot_arg(p: u64) -> Result<Prot, Errno> {
    let p = p & !(PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP);
    if p > 7 {
        return Err(Errno::EINVAL);
    }
    Ok(Prot::from_bits_truncate(p as u32))
}

/// `brk`: returns the new break, or the unchanged one on failure (never an error).
pub(super) fn brk(k: &Kernel, addr: u64) -> u64 {
    let mut cur = super::lock(&k.brk);
    let start = k.cfg.brk_start;
    if addr < start || addr >= GUEST_SPACE {
        return *cur;
    }
    let (Some(old_top), Some(new_top)) = (page_align_up(*cur), page_align_up(addr)) else {
        return *cur;
    };
    if new_top < old_top {
        if k.mem.unmap(new_top, old_top - new_top).is_err() {
            return *cur;
        }
    } else if new_top > old_top {
        // Like Linux, keep a guard page between the heap and the next mapping.
        let probe_end = (new_top + PAGE_SIZE).min(GUEST_SPACE);
        if k.mem.any_mapped(old_top, probe_end - old_top) {
            return *cur;
        }
        let mapped = k.mem.map(
            Placement::Fixed(old_top),
            new_top - old_top,
            Prot::RW,
            Backing::Anon(RegionKind::Heap),
        );
        if mapped.is_err() {
            return *cur;
        }
    }
    *cur = addr;
    addr
}

pub(super) fn mmap(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (addr, len, prot, flags, fd, off) = (a[0], a[1], a[2], a[3], a[4] as i32, a[5]);
    let prot = prot_arg(prot)?;
    if len == 0 || off & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let plen = page_align_up(len)
        .filter(|&l| l <= GUEST_SPACE)
        .ok_or(Errno::ENOMEM)?;
    let shared = match flags & MAP_TYPE {
        MAP_SHARED | MAP_SHARED_VALIDATE => true,
        MAP_PRIVATE => false,
        _ => return Err(Errno::EINVAL),
    };
    let placement = if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
        if addr & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        if addr.checked_add(plen).is_none_or(|e| e > GUEST_SPACE) {
            return Err(Errno::ENOMEM);
        }
        if addr < MMAP_MIN_ADDR {
            return Err(Errno::EPERM);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 {
            Placement::NoReplace(addr)
        } else {
            Placement::Fixed(addr)
        }
    } else {
        Placement::Hint(addr)
    };
    let backing = if flags & MAP_ANONYMOUS != 0 {
        Backing::Anon(RegionKind::Anon { shared })
    } else {
        if off.checked_add(plen).is_none_or(|e| e > i64::MAX as u64) {
            return Err(Errno::EOVERFLOW);
        }
        Backing::File {
            fd,
            offset: off,
            shared,
        }
    };
    k.mem.map(placement, plen, prot, backing)
}

pub(super) fn munmap(k: &Kernel, a: &[u64; 6]) -> SysResult {
    k.mem.unmap(a[0], a[1])?;
    Ok(0)
}

pub(super) fn mprotect(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let prot = prot_arg(a[2])?;
    if a[0] & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    if a[1] == 0 {
        return Ok(0);
    }
    k.mem.protect(a[0], a[1], prot)?;
    Ok(0)
}

pub(super) fn madvise(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (addr, len, advice) = (a[0], a[1], a[2] as i32);
    if addr & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let plen = page_align_up(len).ok_or(Errno::EINVAL)?;
    if len != 0 && plen == 0 {
        return Err(Errno::EINVAL);
    }
    if !(0..=25).contains(&advice) || (5..=7).contains(&advice) {
        return Err(Errno::EINVAL);
    }
    if plen == 0 {
        return Ok(0);
    }
    if addr.checked_add(plen).is_none_or(|e| e > GUEST_SPACE) {
        return Err(Errno::ENOMEM);
    }
    // The advice numbers are the asm-generic ones on both sides; the host mappings are
    // the real ones, so e.g. MADV_DONTNEED zeroes anonymous memory exactly like Linux.
    k.mem.advise(addr, plen, advice)?;
    Ok(0)
}

pub(super) fn mremap(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (old, old_len, new_len, flags, new_addr) = (a[0], a[1], a[2], a[3], a[4]);
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 && flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_DONTUNMAP != 0 {
        k.report_variant(super::nr::MREMAP, MREMAP_DONTUNMAP, "flag");
        return Err(Errno::EINVAL);
    }
    let fixed = (flags & MREMAP_FIXED != 0).then_some(new_addr);
    k.mem
        .remap(old, old_len, new_len, flags & MREMAP_MAYMOVE != 0, fixed)
}

pub(super) fn msync(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let flags = a[2];
    // MS_ASYNC 1, MS_INVALIDATE 2, MS_SYNC 4; ASYNC and SYNC are exclusive.
    if flags & !7 != 0 || flags & 5 == 5 {
        return Err(Errno::EINVAL);
    }
    k.mem.sync(a[0], a[1], flags as i32)?;
    Ok(0)
}

pub(super) fn mincore(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (addr, len, vec) = (a[0], a[1], a[2]);
    if addr & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let plen = page_align_up(len).ok_or(Errno::ENOMEM)?;
    if addr.checked_add(plen).is_none_or(|e| e > GUEST_SPACE) {
        return Err(Errno::ENOMEM);
    }
    let pages = plen / PAGE_SIZE;
    if pages == 0 {
        return Ok(0);
    }
    if !fully_mapped(k, addr, plen) {
        return Err(Errno::ENOMEM);
    }
    // Residency is not tracked; report every mapped page as resident (the host's
    // answer would describe host pages, which is the same information).
    k.mem.write(vec, &vec![1u8; pages as usize])?;
    Ok(0)
}

fn fully_mapped(k: &Kernel, addr: u64, len: u64) -> bool {
    let regions = k.mem.regions();
    let mut cur = addr;
    for (s, r) in regions {
        if r.end <= cur {
            continue;
        }
        if s > cur {
            return false;
        }
        cur = r.end;
        if cur >= addr + len {
            return true;
        }
    }
    false
}

/// `mlock`/`munlock`/`mlock2`: nothing to lock in an emulator, but the range must be
/// mapped like on Linux.
pub(super) fn mlock(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let start = a[0] & !(PAGE_SIZE - 1);
    let end = page_align_up(a[0].saturating_add(a[1])).ok_or(Errno::ENOMEM)?;
    if end <= start {
        return Ok(0);
    }
    if end > GUEST_SPACE || !fully_mapped(k, start, end - start) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

/// `mlock2(addr, len, flags)`: `MLOCK_ONFAULT` (1) is the only flag.
pub(super) fn mlock2(k: &Kernel, a: &[u64; 6]) -> SysResult {
    if a[2] & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    mlock(k, a)
}

/// `mlockall(flags)`: nothing to lock, but the flags are checked as Linux does
/// (`MCL_CURRENT` 1, `MCL_FUTURE` 2, `MCL_ONFAULT` 4, not `MCL_ONFAULT` alone).
pub(super) fn mlockall(a: &[u64; 6]) -> SysResult {
    let flags = a[0];
    if flags == 0 || flags & !7 != 0 || flags == 4 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
