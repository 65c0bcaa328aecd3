//! Guest memory: the mapping table, checked access, and that nothing outside the
//! reserved region (and nothing executable) is ever mapped on the host.

use vmx_runtime::memory::{
    Backing, Errno, Fault, GuestMemory, Placement, Prot, RegionKind, GUARD_SIZE, GUEST_SPACE,
    MMAP_MIN_ADDR, MMAP_TOP, PAGE_SIZE,
};

const P: u64 = PAGE_SIZE;
const A: u64 = 0x10000;

fn mem() -> GuestMemory {
    GuestMemory::new().expect("reserve guest memory")
}

/// Host mappings overlapping `[lo, hi)`: (start, end, perms).
fn host_maps(lo: u64, hi: u64) -> Vec<(u64, u64, String)> {
    let text = std::fs::read_to_string("/proc/self/maps").unwrap();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let range = it.next()?;
            let perms = it.next()?.to_string();
            let (s, e) = range.split_once('-')?;
            let (s, e) = (
                u64::from_str_radix(s, 16).ok()?,
                u64::from_str_radix(e, 16).ok()?,
            );
            (s < hi && e > lo).then_some((s, e, perms))
        })
        .collect()
}

fn region_of(m: &GuestMemory) -> (u64, u64) {
    let base = m.base() as u64;
    (base, base + GUEST_SPACE + GUARD_SIZE)
}

#[test]
fn reservation_is_inaccessible_and_contiguous() {
    let m = mem();
    assert!(m.regions().is_empty());
    let mut b = [0u8; 4];
    assert_eq!(m.read(A, &mut b), Err(Fault { addr: A }));
    assert_eq!(m.read(0, &mut b), Err(Fault { addr: 0 }));
    let (lo, hi) = region_of(&m);
    let maps = host_maps(lo, hi);
    assert!(!maps.is_empty());
    assert!(
        maps.iter().all(|(_, _, p)| p.starts_with("---")),
        "{maps:?}"
    );
}

#[test]
fn map_read_write_roundtrip() {
    let m = mem();
    m.map_fixed(A, 3 * P, Prot::RW).unwrap();
    m.write(A + 10, b"hello").unwrap();
    let mut b = [0u8; 5];
    m.read(A + 10, &mut b).unwrap();
    assert_eq!(&b, b"hello");
    m.write_u64(A + 3 * P - 8, 0x1122_3344_5566_7788).unwrap();
    assert_eq!(m.read_u64(A + 3 * P - 8).unwrap(), 0x1122_3344_5566_7788);
    assert_eq!(m.read_u32(A + 3 * P - 8).unwrap(), 0x5566_7788);
    // Fresh anonymous memory is zero.
    assert_eq!(m.read_u64(A + P).unwrap(), 0);
    // One past the end faults at the first unmapped byte.
    let mut b = [0u8; 16];
    assert_eq!(
        m.read(A + 3 * P - 8, &mut b),
        Err(Fault { addr: A + 3 * P })
    );
    assert_eq!(m.regions().len(), 1);
    assert_eq!(m.regions()[0].0, A);
    assert_eq!(m.regions()[0].1.end, A + 3 * P);
    // The host pointer really is base + guest address.
    // SAFETY: A+10 is mapped readable (checked above) and inside the reservation.
    let host = unsafe { std::slice::from_raw_parts(m.base().add(A as usize + 10), 5) };
    assert_eq!(host, b"hello");
}

#[test]
fn protect_splits_regions_and_checks_access() {
    let m = mem();
    m.map_fixed(A, 3 * P, Prot::RW).unwrap();
    m.protect(A + P, P, Prot::READ).unwrap();
    let r = m.regions();
    assert_eq!(r.len(), 3);
    assert_eq!((r[0].0, r[0].1.end, r[0].1.prot), (A, A + P, Prot::RW));
    assert_eq!(
        (r[1].0, r[1].1.end, r[1].1.prot),
        (A + P, A + 2 * P, Prot::READ)
    );
    assert_eq!(
        (r[2].0, r[2].1.end, r[2].1.prot),
        (A + 2 * P, A + 3 * P, Prot::RW)
    );
    // Writing across into the read-only page faults at its first byte.
    assert_eq!(
        m.write(A + P - 2, &[1, 2, 3, 4]),
        Err(Fault { addr: A + P })
    );
    m.write(A + 2 * P, b"ok").unwrap();
    let mut b = [0u8; 8];
    m.read(A + P, &mut b).unwrap();
    assert_eq!(m.writable_len(A, 3 * P), P);
    assert_eq!(m.readable_len(A, 3 * P), 3 * P);
    // PROT_NONE: unreadable but still mapped.
    m.protect(A + P, P, Prot::NONE).unwrap();
    assert_eq!(m.read(A + P, &mut b), Err(Fault { addr: A + P }));
    assert_eq!(m.prot_at(A + P), Some(Prot::NONE));
    // Protecting a range with a hole fails with ENOMEM and changes nothing.
    assert_eq!(m.protect(A, 5 * P, Prot::READ), Err(Errno::ENOMEM));
    assert_eq!(m.prot_at(A), Some(Prot::RW));
    // Unaligned address.
    assert_eq!(m.protect(A + 1, P, Prot::READ), Err(Errno::EINVAL));
}

#[test]
fn unmap_punches_holes() {
    let m = mem();
    m.map_fixed(A, 4 * P, Prot::RW).unwrap();
    m.write(A + 3 * P, b"keep").unwrap();
    m.unmap(A + P, 2 * P).unwrap();
    let r = m.regions();
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].0, r[0].1.end), (A, A + P));
    assert_eq!((r[1].0, r[1].1.end), (A + 3 * P, A + 4 * P));
    assert_eq!(m.prot_at(A + P), None);
    let mut b = [0u8; 4];
    assert_eq!(m.read(A + 2 * P, &mut b), Err(Fault { addr: A + 2 * P }));
    m.read(A + 3 * P, &mut b).unwrap();
    assert_eq!(&b, b"keep");
    // Unmapping nothing is fine; bad arguments are EINVAL.
    m.unmap(A + P, P).unwrap();
    assert_eq!(m.unmap(A + 1, P), Err(Errno::EINVAL));
    assert_eq!(m.unmap(A, 0), Err(Errno::EINVAL));
    assert_eq!(m.unmap(GUEST_SPACE - P, 2 * P), Err(Errno::EINVAL));
    // Re-mapping gives fresh zeroed memory.
    m.map_fixed(A, 4 * P, Prot::RW).unwrap();
    assert_eq!(m.read_u32(A + 3 * P).unwrap(), 0);
    assert_eq!(m.regions().len(), 1);
    // The reservation has no holes on the host: every byte is still covered.
    let (lo, hi) = region_of(&m);
    let maps = host_maps(lo, hi);
    let mut cur = lo;
    for (s, e, _) in &maps {
        assert!(*s <= cur, "hole in the reservation at {cur:#x}: {maps:x?}");
        cur = cur.max(*e);
    }
    assert!(cur >= hi);
}

#[test]
fn out_of_range_requests() {
    let m = mem();
    assert_eq!(
        m.map_fixed(GUEST_SPACE - P, 2 * P, Prot::RW),
        Err(Errno::ENOMEM)
    );
    assert_eq!(m.map_fixed(GUEST_SPACE, P, Prot::RW), Err(Errno::ENOMEM));
    assert_eq!(m.map_fixed(A + 5, P, Prot::RW), Err(Errno::EINVAL));
    assert_eq!(m.map_fixed(A, 0, Prot::RW), Err(Errno::EINVAL));
    assert_eq!(m.map_fixed(!(P - 1), P, Prot::RW), Err(Errno::ENOMEM));
    // The last page of the guest space is usable; an access straddling the end is not.
    m.map_fixed(GUEST_SPACE - P, P, Prot::RW).unwrap();
    m.write_u32(GUEST_SPACE - 4, 7).unwrap();
    assert_eq!(
        m.read_u64(GUEST_SPACE - 4),
        Err(Fault { addr: GUEST_SPACE })
    );
    assert!(m.read_u64(u64::MAX - 3).is_err());
    assert!(m.write(u64::MAX, &[1]).is_err());
    assert!(m.slice(GUEST_SPACE, 1).is_err());
    assert!(m.host_ptr(GUEST_SPACE + 4096, 0, false).is_err());
}

#[test]
fn wx_never_executable_on_host() {
    let m = mem();
    m.map_fixed(A, 2 * P, Prot::RWX).unwrap();
    m.map_fixed(A + 4 * P, P, Prot::RX).unwrap();
    m.map_fixed(A + 6 * P, P, Prot::EXEC).unwrap();
    assert_eq!(m.prot_at(A), Some(Prot::RWX));
    assert_eq!(m.prot_at(A + 4 * P), Some(Prot::RX));
    let (lo, hi) = region_of(&m);
    let maps = host_maps(lo, hi);
    assert!(
        maps.iter().all(|(_, _, p)| p.as_bytes()[2] != b'x'),
        "{maps:?}"
    );
    let perms = |a: u64| {
        maps.iter()
            .find(|(s, e, _)| *s <= lo + a && lo + a < *e)
            .map(|(_, _, p)| p[..3].to_string())
            .unwrap()
    };
    assert_eq!(perms(A), "rw-");
    assert_eq!(perms(A + 4 * P), "r--");
    // Exec-only pages stay host-readable (the interpreter fetches from them), but a
    // syscall may not read them.
    assert_eq!(perms(A + 6 * P), "r--");
    let mut b = [0u8; 1];
    assert!(m.read(A + 6 * P, &mut b).is_err());
    m.protect(A + 4 * P, P, Prot::RWX).unwrap();
    let maps = host_maps(lo, hi);
    assert!(maps.iter().all(|(_, _, p)| p.as_bytes()[2] != b'x'));
}

#[test]
fn find_free_is_top_down_and_honours_hints() {
    let m = mem();
    let a = m.find_free(3 * P, 0).unwrap();
    assert_eq!(a, MMAP_TOP - 3 * P);
    let got = m
        .map(
            Placement::Hint(0),
            3 * P,
            Prot::RW,
            Backing::Anon(RegionKind::Anon { shared: false }),
        )
        .unwrap();
    assert_eq!(got, a);
    let b = m.find_free(P, 0).unwrap();
    assert_eq!(b, a - P);
    // A free hint is used as is (rounded up to a page).
    assert_eq!(m.find_free(P, 0x4000_0000), Some(0x4000_0000));
    assert_eq!(m.find_free(P, 0x4000_0001), Some(0x4000_1000));
    // An occupied hint falls back to top-down.
    assert_eq!(m.find_free(P, a + P), Some(b));
    // A hint below mmap_min_addr is ignored.
    assert_eq!(m.find_free(P, 0x1000), Some(b));
    assert!(m.find_free(P, 0).unwrap() >= MMAP_MIN_ADDR);
    // Gaps between mappings are found when large enough.
    m.map_fixed(a - 10 * P, P, Prot::RW).unwrap();
    assert_eq!(m.find_free(4 * P, 0), Some(a - 4 * P));
    assert_eq!(m.find_free(10 * P, 0), Some(a - 20 * P));
    assert_eq!(m.find_free(GUEST_SPACE, 0), None);
    assert_eq!(m.find_free(0, 0), None);
    // MAP_FIXED_NOREPLACE semantics.
    let anon = Backing::Anon(RegionKind::Anon { shared: false });
    assert_eq!(
        m.map(Placement::NoReplace(a), P, Prot::RW, anon),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        m.map(Placement::NoReplace(0x5000_0000), P, Prot::RW, anon),
        Ok(0x5000_0000)
    );
}

#[test]
fn cstr_and_slices() {
    let m = mem();
    m.map_fixed(A, P, Prot::RW).unwrap();
    m.write(A, b"path/to\0rest").unwrap();
    assert_eq!(m.read_cstr(A, 100).unwrap(), b"path/to");
    assert_eq!(m.read_cstr_checked(A, 3).unwrap(), None);
    assert!(m.read_cstr(A, 3).is_err());
    // A string running into an unmapped page faults.
    m.write(A + P - 3, b"abc").unwrap();
    assert_eq!(m.read_cstr(A + P - 3, 100), Err(Fault { addr: A + P }));
    assert_eq!(
        m.read_cstr(0x9999_0000, 10),
        Err(Fault { addr: 0x9999_0000 })
    );
    // Zero-copy views.
    m.slice_mut(A + 100, 4).unwrap().copy_from_slice(b"WXYZ");
    assert_eq!(m.slice(A + 100, 4).unwrap(), b"WXYZ");
    assert!(m.slice(A + P - 2, 4).is_err());
    assert_eq!(m.slice(0xdead_0000, 0).unwrap(), b"");
    m.protect(A, P, Prot::READ).unwrap();
    assert!(m.slice_mut(A, 1).is_err());
    assert_eq!(Errno::from(Fault { addr: 1 }), Errno::EFAULT);
}

#[test]
fn write_force_ignores_guest_protection() {
    let m = mem();
    m.map_fixed(A, 2 * P, Prot::RX).unwrap();
    m.write_force(A + P - 2, b"code").unwrap();
    assert_eq!(m.read_cstr_checked(A + P - 2, 3).unwrap(), None);
    let mut b = [0u8; 4];
    m.read(A + P - 2, &mut b).unwrap();
    assert_eq!(&b, b"code");
    // Still read-only for the guest, and on the host.
    assert!(m.write(A, b"x").is_err());
    let (lo, hi) = region_of(&m);
    let maps = host_maps(lo + A, lo + A + 2 * P);
    assert!(
        maps.iter().all(|(_, _, p)| p.starts_with("r--")),
        "{maps:?}"
    );
    let _ = hi;
    // Unmapped: refused.
    assert!(m.write_force(A + 2 * P, b"x").is_err());
}

#[test]
fn madvise_dontneed_zeroes_anonymous_memory() {
    let m = mem();
    m.map_fixed(A, 2 * P, Prot::RW).unwrap();
    m.write(A, &[0xaa; 64]).unwrap();
    m.write(A + P, &[0xbb; 64]).unwrap();
    m.advise(A, P, libc::MADV_DONTNEED).unwrap();
    assert_eq!(m.read_u64(A).unwrap(), 0);
    assert_eq!(m.read_u64(A + P).unwrap(), 0xbbbb_bbbb_bbbb_bbbb);
    assert_eq!(m.advise(A, 4 * P, libc::MADV_DONTNEED), Err(Errno::ENOMEM));
}

#[test]
fn remap_grows_shrinks_and_moves() {
    let m = mem();
    m.map_fixed(A, 2 * P, Prot::RW).unwrap();
    m.write(A, b"first").unwrap();
    // Grow in place (free space after it).
    assert_eq!(m.remap(A, 2 * P, 4 * P, false, None), Ok(A));
    m.write(A + 3 * P, b"x").unwrap();
    // Shrink.
    assert_eq!(m.remap(A, 4 * P, P, false, None), Ok(A));
    assert!(m.read_u32(A + P).is_err());
    // Blocked growth without MAYMOVE fails; with it, the data moves.
    m.map_fixed(A + P, P, Prot::READ).unwrap();
    assert_eq!(m.remap(A, P, 3 * P, false, None), Err(Errno::ENOMEM));
    let to = m.remap(A, P, 3 * P, true, None).unwrap();
    assert_ne!(to, A);
    assert_eq!(m.read_cstr(to, 10).unwrap(), b"first");
    assert_eq!(m.prot_at(to + 2 * P), Some(Prot::RW));
    assert_eq!(m.prot_at(A), None);
    // MREMAP_FIXED.
    let dst = 0x7000_0000;
    assert_eq!(m.remap(to, 3 * P, 3 * P, true, Some(dst)), Ok(dst));
    assert_eq!(m.read_cstr(dst, 10).unwrap(), b"first");
    assert_eq!(m.prot_at(to), None);
    // Not mapped: EFAULT.
    assert_eq!(
        m.remap(0x6000_0000, P, 2 * P, true, None),
        Err(Errno::EFAULT)
    );
}

#[test]
fn file_mappings_and_offsets() {
    let path = std::env::temp_dir().join(format!("vmx-mem-test-{}", std::process::id()));
    let data: Vec<u8> = (0..4 * P).map(|i| (i / P) as u8 + b'a').collect();
    std::fs::write(&path, &data).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    use std::os::fd::AsRawFd;
    let m = mem();
    m.map_file_fixed(A, 4 * P, Prot::READ, f.as_raw_fd(), 0, false)
        .unwrap();
    assert_eq!(
        m.read_u32(A + 2 * P).unwrap(),
        u32::from_le_bytes([b'c'; 4])
    );
    m.unmap(A + P, P).unwrap();
    let r = m.regions();
    assert_eq!(r.len(), 2);
    assert_eq!(
        r[1].1.kind,
        RegionKind::File {
            shared: false,
            offset: 2 * P
        }
    );
    // A private writable file mapping is copy-on-write.
    m.map_file_fixed(A + 8 * P, P, Prot::RW, f.as_raw_fd(), P, false)
        .unwrap();
    m.write(A + 8 * P, b"zz").unwrap();
    assert_eq!(std::fs::read(&path).unwrap()[P as usize], b'b');
    // A shared writable mapping of a read-only fd is refused by the host (EACCES).
    assert_eq!(
        m.map_file_fixed(A + 10 * P, P, Prot::RW, f.as_raw_fd(), 0, true),
        Err(Errno::EACCES)
    );
    assert_eq!(m.prot_at(A + 10 * P), None);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn guest_memory_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<GuestMemory>();
    let m = std::sync::Arc::new(mem());
    m.map_fixed(A, P, Prot::RW).unwrap();
    let m2 = m.clone();
    std::thread::spawn(move || m2.write_u32(A, 42).unwrap())
        .join()
        .unwrap();
    assert_eq!(m.read_u32(A).unwrap(), 42);
}

/// The guest's address-space limit (`RLIMIT_AS`): new mappings past it fail with ENOMEM,
/// replacing mapped pages does not count twice, `mremap` growth counts, and lifting the
/// limit lets the mapping through.
#[test]
fn address_space_limit_applies_to_guest_mappings() {
    let m = mem();
    let anon = Backing::Anon(RegionKind::Anon { shared: false });
    let rw = Prot::READ | Prot::WRITE;
    m.set_as_limit(16 * P);
    assert_eq!(m.as_limit(), 16 * P);
    let a = m
        .map(Placement::Hint(0), 8 * P, rw, anon)
        .expect("8 pages fit");
    assert_eq!(
        m.map(Placement::Hint(0), 9 * P, rw, anon),
        Err(Errno::ENOMEM)
    );
    // Replacing 4 mapped pages and adding 4 new ones: 12 pages in all, within the limit.
    m.map(Placement::Fixed(a + 4 * P), 8 * P, rw, anon)
        .expect("MAP_FIXED over mapped pages counts only what is new");
    assert_eq!(m.mapped_bytes(), 12 * P);
    // Growing by 8 pages would make 20.
    assert_eq!(m.remap(a, 12 * P, 20 * P, true, None), Err(Errno::ENOMEM));
    m.set_as_limit(u64::MAX);
    m.remap(a, 12 * P, 20 * P, true, None)
        .expect("no limit, no ENOMEM");
}
