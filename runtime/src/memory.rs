//! Guest memory: one reserved host region (DESIGN.md decision 2).
//!
//! [`GuestMemory::new`] reserves [`GUEST_SPACE`] bytes of host address space (plus a
//! [`GUARD_SIZE`] guard at the end) as `PROT_NONE`. Guest address `A` lives at host
//! address `base + A`. Everything the guest maps is mapped *inside* that reservation
//! with `MAP_FIXED`; unmapping puts the range back to the reserved `PROT_NONE` state, so
//! the reservation is never given back to the host allocator while the guest runs and
//! no host mapping outside `[base, base + GUEST_SPACE)` is ever touched.
//!
//! A mapping table mirrors what the guest has mapped, with the *guest's* protections.
//! The host mappings never carry `PROT_EXEC` (guest code never runs natively; W^X is
//! therefore trivially kept in the region), so a guest `PROT_WRITE|PROT_EXEC` mapping is
//! host read-write and the exec bit lives only in the table.
//!
//! Syscalls access guest memory only through the checked accessors here ([`read`],
//! [`write`], [`slice`], …): a bad guest pointer gives a [`Fault`] (`-EFAULT`), never a
//! host crash. All `unsafe` code of the guest-memory model is in this module.
//!
//! [`read`]: GuestMemory::read
//! [`write`]: GuestMemory::write
//! [`slice`]: GuestMemory::slice

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::{BitAnd, BitOr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

pub use vmx_lifter::state::GUEST_SPACE;

/// Guest (and host) page size.
pub const PAGE_SIZE: u64 = 4096;
/// Size of the `PROT_NONE` guard after the guest space: an access that starts just
/// below `GUEST_SPACE` and straddles its end hits the guard, not host memory.
pub const GUARD_SIZE: u64 = 64 * 1024;
/// Lowest address a guest `mmap` may use (Linux's usual `vm.mmap_min_addr`).
pub const MMAP_MIN_ADDR: u64 = 0x10000;
/// End (exclusive) of the initial stack; a few pages below the end of the guest space.
pub const STACK_TOP: u64 = GUEST_SPACE - 16 * PAGE_SIZE;
/// Size of the initial stack mapping (like `RLIMIT_STACK` = 8 MiB).
pub const STACK_SIZE: u64 = 8 << 20;
/// Lowest address of the initial stack mapping.
pub const STACK_BOTTOM: u64 = STACK_TOP - STACK_SIZE;
/// Gap kept free between the stack and the mmap area (Linux's `stack_guard_gap`).
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;
/// End (exclusive) of the area `mmap` allocates from, top-down.
pub const MMAP_TOP: u64 = STACK_BOTTOM - STACK_GUARD_GAP;

/// Linux errno values (asm-generic numbering, identical on riscv64, aarch64 and x86-64).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ESRCH: Errno = Errno(3);
    pub const EINTR: Errno = Errno(4);
    pub const EIO: Errno = Errno(5);
    pub const E2BIG: Errno = Errno(7);
    pub const EBADF: Errno = Errno(9);
    pub const ECHILD: Errno = Errno(10);
    pub const EAGAIN: Errno = Errno(11);
    pub const ENOMEM: Errno = Errno(12);
    pub const EACCES: Errno = Errno(13);
    pub const EFAULT: Errno = Errno(14);
    pub const EEXIST: Errno = Errno(17);
    pub const ENOTDIR: Errno = Errno(20);
    pub const EINVAL: Errno = Errno(22);
    pub const EMFILE: Errno = Errno(24);
    pub const ENOTTY: Errno = Errno(25);
    pub const ERANGE: Errno = Errno(34);
    pub const EDEADLK: Errno = Errno(35);
    pub const ENAMETOOLONG: Errno = Errno(36);
    pub const ENOSYS: Errno = Errno(38);
    pub const EOVERFLOW: Errno = Errno(75);
    pub const EOPNOTSUPP: Errno = Errno(95);
    pub const ETIMEDOUT: Errno = Errno(110);

    /// The errno of the last failed host libc call.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(5))
    }

    /// The value a syscall returns for this error (`-errno`), as a register value.
    pub fn to_ret(self) -> u64 {
        (-(self.0 as i64)) as u64
    }

    /// Human-readable description ("No such file or directory").
    pub fn describe(self) -> String {
        let s = std::io::Error::from_raw_os_error(self.0).to_string();
        match s.find(" (os error") {
            Some(i) => s[..i].to_string(),
            None => s,
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({} {})", self.0, self.describe())
    }
}

/// A guest access to memory that is not mapped with the needed protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The first guest address that could not be accessed.
    pub addr: u64,
}

impl From<Fault> for Errno {
    fn from(_: Fault) -> Errno {
        Errno::EFAULT
    }
}

/// Why guest memory could not be created.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// the host refused to reserve the guest address space
    #[error("cannot reserve {size:#x} bytes of host address space for guest memory: {source}")]
    Reserve {
        size: u64,
        #[source]
        source: std::io::Error,
    },
    /// `RLIMIT_AS` is below what the reservation needs and cannot be raised for vmx
    #[error(
        "the address-space limit (RLIMIT_AS, `ulimit -v`) is {limit} bytes and its hard limit \
         {hard} bytes; vmx reserves {size:#x} bytes of address space for a guest (and applies \
         the limit to the guest's own mappings): raise the hard limit"
    )]
    AddressSpaceLimit { limit: u64, hard: u64, size: u64 },
}

/// The host's `RLIMIT_AS` (soft, hard); `u64::MAX` is `RLIM_INFINITY`.
fn host_as_limit() -> (u64, u64) {
    let mut r = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: `r` is a live `struct rlimit`.
    unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) };
    (r.rlim_cur, r.rlim_max)
}

/// Takes `RLIMIT_AS` off the runtime so that the guest space can be reserved: the soft
/// limit goes up to the hard one. Returns the soft limit the guest is to have (`u64::MAX`
/// for none). Fails when even the hard limit is too small for the reservation (plus room
/// for the runtime itself).
fn lift_as_limit(size: u64) -> Result<u64, MemoryError> {
    let (soft, hard) = host_as_limit();
    if soft == libc::RLIM_INFINITY {
        return Ok(u64::MAX);
    }
    // The reservation, and a few GiB for vmx's own code, heap, stacks and translations.
    let needed = size.saturating_add(4 << 30);
    if hard != libc::RLIM_INFINITY && hard < needed {
        return Err(MemoryError::AddressSpaceLimit {
            limit: soft,
            hard,
            size,
        });
    }
    let r = libc::rlimit {
        rlim_cur: hard,
        rlim_max: hard,
    };
    // SAFETY: `r` is a live `struct rlimit`; raising the soft limit up to the hard one
    // needs no privilege.
    unsafe { libc::setrlimit(libc::RLIMIT_AS, &r) };
    Ok(soft)
}

/// Guest page protections (`PROT_READ`=1, `PROT_WRITE`=2, `PROT_EXEC`=4, as in Linux).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prot(u32);

impl Prot {
    pub const NONE: Prot = Prot(0);
    pub const READ: Prot = Prot(1);
    pub const WRITE: Prot = Prot(2);
    pub const EXEC: Prot = Prot(4);
    pub const RW: Prot = Prot(3);
    pub const RX: Prot = Prot(5);
    pub const RWX: Prot = Prot(7);

    /// From Linux `PROT_*` bits; `None` if other bits are set.
    pub fn from_bits(bits: u32) -> Option<Prot> {
        (bits & !7 == 0).then_some(Prot(bits))
    }
    /// Keeps only the `PROT_READ|PROT_WRITE|PROT_EXEC` bits.
    pub fn from_bits_truncate(bits: u32) -> Prot {
        Prot(bits & 7)
    }
    pub fn bits(self) -> u32 {
        self.0
    }
    pub fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }
    /// Can syscalls read through this protection? (Write implies read, as on RISC-V.)
    pub fn readable(self) -> bool {
        self.0 & 3 != 0
    }
    pub fn writable(self) -> bool {
        self.0 & 2 != 0
    }
    pub fn executable(self) -> bool {
        self.0 & 4 != 0
    }
    /// The host protection for this guest protection: never `PROT_EXEC`; exec-only
    /// guest pages are host-readable so the interpreter can fetch instructions.
    fn host(self) -> i32 {
        let mut p = libc::PROT_NONE;
        if self.0 & 5 != 0 {
            p |= libc::PROT_READ;
        }
        if self.0 & 2 != 0 {
            p |= libc::PROT_WRITE;
        }
        p
    }
}

impl BitOr for Prot {
    type Output = Prot;
    fn bitor(self, rhs: Prot) -> Prot {
        Prot(self.0 | rhs.0)
    }
}

impl BitAnd for Prot {
    type Output = Prot;
    fn bitand(self, rhs: Prot) -> Prot {
        Prot(self.0 & rhs.0)
    }
}

impl fmt::Debug for Prot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |b: u32, ch: char| if self.0 & b != 0 { ch } else { '-' };
        write!(f, "{}{}{}", c(1, 'r'), c(2, 'w'), c(4, 'x'))
    }
}

/// What backs a guest mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Anonymous memory (`shared`: `MAP_SHARED|MAP_ANONYMOUS`).
    Anon { shared: bool },
    /// A file mapping; `offset` is the file offset of the region's first byte.
    File { shared: bool, offset: u64 },
    /// The program break area (`brk`).
    Heap,
    /// The initial thread's stack.
    Stack,
    /// A segment of the guest executable.
    Image,
}

impl RegionKind {
    fn is_shared(self) -> bool {
        matches!(
            self,
            RegionKind::Anon { shared: true } | RegionKind::File { shared: true, .. }
        )
    }
    /// The kind of the part of a region that starts `delta` bytes further in.
    fn advanced(self, delta: u64) -> RegionKind {
        match self {
            RegionKind::File { shared, offset } => RegionKind::File {
                shared,
                offset: offset + delta,
            },
            k => k,
        }
    }
}

/// One entry of the mapping table: `[start, end)` with the key as start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub end: u64,
    pub prot: Prot,
    pub kind: RegionKind,
}

/// Where a new mapping goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Exactly here, replacing what was mapped (`MAP_FIXED`).
    Fixed(u64),
    /// Exactly here, failing with `EEXIST` if anything is mapped (`MAP_FIXED_NOREPLACE`).
    NoReplace(u64),
    /// Anywhere; at the hint if that range is free (0 = no hint).
    Hint(u64),
}

/// What a new mapping contains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Zeroed anonymous memory; `kind` is recorded in the table (Anon, Heap, Stack, Image).
    Anon(RegionKind),
    /// `len` bytes of the open host file `fd` from `offset`.
    File { fd: i32, offset: u64, shared: bool },
}

type Table = BTreeMap<u64, Region>;

/// The guest's memory: a reserved host region plus the guest mapping table.
pub struct GuestMemory {
    /// Host address of guest address 0 (kept as an integer: it is only ever offset by
    /// checked guest addresses inside this module).
    base: usize,
    table: Mutex<Table>,
    /// Guest code that has translations, and which of its pages may have been rewritten
    /// (made writable or replaced) since the runtime last looked.
    code_watch: Mutex<CodeWatch>,
    /// The guest's `RLIMIT_AS` soft limit in bytes (`u64::MAX`: none): new mappings that
    /// would take the guest's mapped total past it fail with `ENOMEM`, as on Linux. The
    /// host limit cannot do this job: vmx reserves the whole guest space up front.
    as_limit: AtomicU64,
}

#[derive(Default)]
struct CodeWatch {
    pages: BTreeSet<u64>,
    touched: BTreeSet<u64>,
}

fn page_up(x: u64) -> Option<u64> {
    x.checked_add(PAGE_SIZE - 1).map(|v| v & !(PAGE_SIZE - 1))
}

fn page_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

/// Checks a page-aligned, non-empty `[addr, addr+len)` inside the guest space.
fn check_range(addr: u64, len: u64) -> Result<(u64, u64), Errno> {
    if addr & (PAGE_SIZE - 1) != 0 || len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    match addr.checked_add(len) {
        Some(end) if end <= GUEST_SPACE => Ok((addr, end)),
        _ => Err(Errno::ENOMEM),
    }
}

impl GuestMemory {
    /// Reserves the guest address space (`PROT_NONE`, nothing mapped for the guest yet).
    ///
    /// A finite `RLIMIT_AS` is taken off the runtime (it would refuse the reservation) and
    /// applied to the guest's mappings instead ([`GuestMemory::set_as_limit`]).
    pub fn new() -> Result<GuestMemory, MemoryError> {
        let size = GUEST_SPACE + GUARD_SIZE;
        let as_limit = lift_as_limit(size)?;
        // SAFETY: a fresh anonymous PROT_NONE mapping at an address of the kernel's
        // choice; it cannot alias any existing Rust object.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(MemoryError::Reserve {
                size,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(GuestMemory {
            base: p as usize,
            table: Mutex::new(BTreeMap::new()),
            code_watch: Mutex::new(CodeWatch::default()),
            as_limit: AtomicU64::new(as_limit),
        })
    }

    /// The guest's address-space limit (`RLIMIT_AS` soft limit; `u64::MAX`: none).
    pub fn as_limit(&self) -> u64 {
        self.as_limit.load(Ordering::Relaxed)
    }

    /// Sets the guest's address-space limit (`setrlimit(RLIMIT_AS)`). Existing mappings
    /// stay; new ones that would exceed it fail with `ENOMEM`.
    pub fn set_as_limit(&self, bytes: u64) {
        self.as_limit.store(bytes, Ordering::Relaxed);
    }

    /// `ENOMEM` if mapping `[start, end)` (replacing whatever is mapped there) would take
    /// the guest past its address-space limit.
    fn check_as_limit(&self, t: &Table, start: u64, end: u64) -> Result<(), Errno> {
        let limit = self.as_limit();
        if limit == u64::MAX {
            return Ok(());
        }
        let mapped: u64 = t.iter().map(|(&s, r)| r.end - s).sum();
        let replaced: u64 = t
            .range(..end)
            .map(|(&s, r)| r.end.min(end).saturating_sub(s.max(start)))
            .sum();
        if mapped - replaced + (end - start) > limit {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Host address of guest address 0.
    pub fn base(&self) -> *mut u8 {
        self.base as *mut u8
    }

    /// Host pointer for a guest address already checked to be `< GUEST_SPACE`.
    fn host(&self, addr: u64) -> *mut u8 {
        debug_assert!(addr <= GUEST_SPACE);
        (self.base + addr as usize) as *mut u8
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock leaves the table consistent (every update is
        // a few map operations), so a poisoned lock is still usable.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- host mapping primitives (the only places that call mmap & co.) ----

    /// Puts `[start, end)` back to the reserved `PROT_NONE` state.
    fn host_reserve(&self, start: u64, end: u64) -> Result<(), Errno> {
        assert!(start < end && end <= GUEST_SPACE);
        // SAFETY: the range lies inside our reservation (asserted above); replacing it
        // with PROT_NONE only affects guest memory, which no Rust reference outlives
        // a syscall on (see `slice`).
        let p = unsafe {
            libc::mmap(
                self.host(start).cast(),
                (end - start) as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(())
    }

    fn host_map(&self, start: u64, end: u64, prot: Prot, backing: Backing) -> Result<(), Errno> {
        assert!(start < end && end <= GUEST_SPACE);
        let (flags, fd, off) = match backing {
            Backing::Anon(kind) => {
                let share = if kind.is_shared() {
                    libc::MAP_SHARED
                } else {
                    libc::MAP_PRIVATE
                };
                (share | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE, -1, 0)
            }
            Backing::File { fd, offset, shared } => {
                let share = if shared {
                    libc::MAP_SHARED
                } else {
                    libc::MAP_PRIVATE
                };
                let off = libc::off_t::try_from(offset).map_err(|_| Errno::EOVERFLOW)?;
                (share, fd, off)
            }
        };
        // SAFETY: MAP_FIXED inside our reservation (asserted above), never PROT_EXEC;
        // only guest memory is replaced.
        let p = unsafe {
            libc::mmap(
                self.host(start).cast(),
                (end - start) as usize,
                prot.host(),
                flags | libc::MAP_FIXED,
                fd,
                off,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(())
    }

    fn host_protect(&self, start: u64, end: u64, host_prot: i32) -> Result<(), Errno> {
        assert!(start < end && end <= GUEST_SPACE);
        debug_assert!(host_prot & libc::PROT_EXEC == 0);
        // SAFETY: changes protections inside our reservation only, never adding PROT_EXEC.
        let r =
            unsafe { libc::mprotect(self.host(start).cast(), (end - start) as usize, host_prot) };
        if r != 0 {
            return Err(Errno::last());
        }
        Ok(())
    }

    fn host_madvise(&self, start: u64, end: u64, advice: i32) -> Result<(), Errno> {
        assert!(start < end && end <= GUEST_SPACE);
        // SAFETY: advice on a range inside our reservation; MADV_DONTNEED & co. only
        // change guest-visible contents.
        let r = unsafe { libc::madvise(self.host(start).cast(), (end - start) as usize, advice) };
        if r != 0 {
            return Err(Errno::last());
        }
        Ok(())
    }

    // ---- table helpers ----

    /// Removes `[start, end)` from the table, splitting regions that straddle the ends.
    /// Returns the removed pieces.
    fn carve(t: &mut Table, start: u64, end: u64) -> Vec<(u64, Region)> {
        // A region that starts before `start` and reaches into the range: split it.
        if let Some((&s, &r)) = t.range(..start).next_back() {
            if r.end > start {
                t.insert(s, Region { end: start, ..r });
                t.insert(
                    start,
                    Region {
                        kind: r.kind.advanced(start - s),
                        ..r
                    },
                );
            }
        }
        // A region that starts inside and reaches past `end`: split it.
        if let Some((&s, &r)) = t.range(start..end).next_back() {
            if r.end > end {
                t.insert(s, Region { end, ..r });
                t.insert(
                    end,
                    Region {
                        kind: r.kind.advanced(end - s),
                        ..r
                    },
                );
            }
        }
        let keys: Vec<u64> = t.range(start..end).map(|(&k, _)| k).collect();
        keys.into_iter()
            .filter_map(|k| t.remove(&k).map(|r| (k, r)))
            .collect()
    }

    fn overlaps(t: &Table, start: u64, end: u64) -> bool {
        if let Some((_, r)) = t.range(..start).next_back() {
            if r.end > start {
                return true;
            }
        }
        t.range(start..end).next().is_some()
    }

    /// The regions covering `[start, end)` in order, or `None` if there is a hole.
    fn covering(t: &Table, start: u64, end: u64) -> Option<Vec<(u64, Region)>> {
        let mut out = Vec::new();
        let mut cur = start;
        let first = t.range(..=start).next_back()?;
        if first.1.end <= start {
            return None;
        }
        out.push((*first.0, *first.1));
        cur = cur.max(first.1.end);
        for (&s, r) in t.range(start + 1..end) {
            if s != cur {
                return None;
            }
            out.push((s, *r));
            cur = r.end;
        }
        (cur >= end).then_some(out)
    }

    fn find_free_in(t: &Table, len: u64, hint: u64) -> Option<u64> {
        let len = page_up(len)?;
        if len == 0 || len > GUEST_SPACE {
            return None;
        }
        let hint = page_up(hint)?;
        if hint >= MMAP_MIN_ADDR
            && hint.checked_add(len).is_some_and(|e| e <= GUEST_SPACE)
            && !Self::overlaps(t, hint, hint + len)
        {
            return Some(hint);
        }
        // Top-down below MMAP_TOP, like Linux's default mmap layout.
        let mut cursor = MMAP_TOP;
        for (&s, r) in t.range(..MMAP_TOP).rev() {
            if r.end <= cursor && cursor - r.end >= len {
                return Some(cursor - len);
            }
            cursor = cursor.min(s);
            if cursor < MMAP_MIN_ADDR + len {
                break;
            }
        }
        if cursor >= MMAP_MIN_ADDR + len {
            return Some(cursor - len);
        }
        None
    }

    // ---- mapping API ----

    /// Maps a new region; returns its address. Lengths are rounded up to pages.
    pub fn map(
        &self,
        placement: Placement,
        len: u64,
        prot: Prot,
        backing: Backing,
    ) -> Result<u64, Errno> {
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let mut t = self.lock();
        let addr = match placement {
            Placement::Fixed(a) => a,
            Placement::NoReplace(a) => {
                let (s, e) = check_range(a, len)?;
                if Self::overlaps(&t, s, e) {
                    return Err(Errno::EEXIST);
                }
                a
            }
            Placement::Hint(h) => Self::find_free_in(&t, len, h).ok_or(Errno::ENOMEM)?,
        };
        let (start, end) = check_range(addr, len)?;
        self.check_as_limit(&t, start, end)?;
        if let Err(e) = self.host_map(start, end, prot, backing) {
            // Argument errors (EBADF, EACCES, ENODEV, ...) leave the old mapping alone,
            // but a MAP_FIXED that fails for lack of memory may already have removed it
            // on the host, leaving a hole in the reservation that the host allocator
            // could reuse. Re-reserve the range (the guest mapping is gone, which Linux
            // also allows) so guest addresses can never reach host memory.
            if e == Errno::ENOMEM && matches!(placement, Placement::Fixed(_)) {
                if self.host_reserve(start, end).is_err() {
                    eprintln!("vmx: cannot restore the guest address space reservation");
                    std::process::abort();
                }
                Self::carve(&mut t, start, end);
            }
            return Err(e);
        }
        Self::carve(&mut t, start, end);
        let kind = match backing {
            Backing::Anon(k) => k,
            Backing::File { offset, shared, .. } => RegionKind::File { shared, offset },
        };
        t.insert(start, Region { end, prot, kind });
        drop(t);
        if matches!(placement, Placement::Fixed(_)) {
            self.note_code_change(start, end);
        }
        Ok(start)
    }

    /// Maps zeroed anonymous memory at `addr`, replacing what was there (`MAP_FIXED`).
    /// Watches the pages of `ranges` (translated guest code) for rewrites: see
    /// [`GuestMemory::take_rewritable_code_pages`].
    pub fn watch_code(&self, ranges: &[(u64, u64)]) {
        let mut w = self.code_watch.lock().unwrap_or_else(|e| e.into_inner());
        for &(start, end) in ranges {
            let mut p = page_align_down(start);
            while p < end {
                w.pages.insert(p);
                p += PAGE_SIZE;
            }
        }
    }

    /// Records that `[start, end)` was made writable or replaced.
    fn note_code_change(&self, start: u64, end: u64) {
        let mut w = self.code_watch.lock().unwrap_or_else(|e| e.into_inner());
        if w.pages.is_empty() {
            return;
        }
        let hit: Vec<u64> = w
            .pages
            .range(page_align_down(start)..end)
            .copied()
            .collect();
        w.touched.extend(hit);
    }

    /// Watched code pages that were made writable or replaced since the last call: their
    /// contents may differ from what was translated. Pages that are still writable stay
    /// on the list (they may be written again).
    pub fn take_rewritable_code_pages(&self) -> Vec<u64> {
        let mut w = self.code_watch.lock().unwrap_or_else(|e| e.into_inner());
        let pages: Vec<u64> = std::mem::take(&mut w.touched).into_iter().collect();
        for &p in &pages {
            if self.prot_at(p).is_some_and(|pr| pr.writable()) {
                w.touched.insert(p);
            }
        }
        pages
    }

    pub fn map_fixed(&self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        self.map(
            Placement::Fixed(addr),
            len,
            prot,
            Backing::Anon(RegionKind::Anon { shared: false }),
        )
        .map(|_| ())
    }

    /// Maps `len` bytes of host file `host_fd` from `offset` at `addr` (`MAP_FIXED`).
    pub fn map_file_fixed(
        &self,
        addr: u64,
        len: u64,
        prot: Prot,
        host_fd: i32,
        offset: u64,
        shared: bool,
    ) -> Result<(), Errno> {
        self.map(
            Placement::Fixed(addr),
            len,
            prot,
            Backing::File {
                fd: host_fd,
                offset,
                shared,
            },
        )
        .map(|_| ())
    }

    /// A free, page-aligned range of `len` bytes: at `hint` if that is free, else the
    /// highest free range below [`MMAP_TOP`] (top-down, above [`MMAP_MIN_ADDR`]).
    pub fn find_free(&self, len: u64, hint: u64) -> Option<u64> {
        Self::find_free_in(&self.lock(), len, hint)
    }

    /// Unmaps `[addr, addr+len)` (`munmap`): the range goes back to reserved `PROT_NONE`.
    /// Unmapping unmapped pages is not an error, as in Linux.
    pub fn unmap(&self, addr: u64, len: u64) -> Result<(), Errno> {
        let (start, end) = check_range(addr, len).map_err(|_| Errno::EINVAL)?;
        let mut t = self.lock();
        if !Self::overlaps(&t, start, end) {
            return Ok(());
        }
        self.host_reserve(start, end)?;
        Self::carve(&mut t, start, end);
        drop(t);
        self.note_code_change(start, end);
        Ok(())
    }

    /// Changes the guest protection of `[addr, addr+len)` (`mprotect`). Fails with
    /// `ENOMEM` (changing nothing) if part of the range is unmapped.
    pub fn protect(&self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        let (start, end) = check_range(addr, len)?;
        let mut t = self.lock();
        Self::covering(&t, start, end).ok_or(Errno::ENOMEM)?;
        // The host decides e.g. whether a shared file mapping may become writable.
        self.host_protect(start, end, prot.host())?;
        let removed = Self::carve(&mut t, start, end);
        for (s, r) in removed {
            t.insert(s, Region { prot, ..r });
        }
        drop(t);
        if prot.writable() {
            self.note_code_change(start, end);
        }
        Ok(())
    }

    /// Applies host `madvise(advice)` to the mapped parts of `[addr, addr+len)`;
    /// `ENOMEM` if part of the range is unmapped (after advising the mapped parts, as
    /// Linux does). `MADV_DONTNEED` zeroes anonymous memory and re-reads private file
    /// mappings, exactly as on Linux, because the host mappings are the real ones.
    pub fn advise(&self, addr: u64, len: u64, advice: i32) -> Result<(), Errno> {
        let (start, end) = check_range(addr, len)?;
        let t = self.lock();
        let mut covered = 0;
        let first = t
            .range(..start)
            .next_back()
            .filter(|(_, r)| r.end > start)
            .map(|(&s, &r)| (s, r));
        for (s, r) in first
            .into_iter()
            .chain(t.range(start..end).map(|(&s, &r)| (s, r)))
        {
            let (a, b) = (s.max(start), r.end.min(end));
            self.host_madvise(a, b, advice)?;
            covered += b - a;
        }
        if covered != end - start {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Host `msync` over a fully mapped range (`ENOMEM` if part is unmapped).
    pub fn sync(&self, addr: u64, len: u64, flags: i32) -> Result<(), Errno> {
        if addr & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let (start, end) = check_range(addr, len)?;
        let t = self.lock();
        Self::covering(&t, start, end).ok_or(Errno::ENOMEM)?;
        // SAFETY: msync on a range inside our reservation; it only writes back pages.
        let r = unsafe { libc::msync(self.host(start).cast(), (end - start) as usize, flags) };
        if r != 0 {
            return Err(Errno::last());
        }
        Ok(())
    }

    /// `mremap`: resizes (and with `may_move`, possibly moves) the mapping at `old`.
    /// `fixed` is the `MREMAP_FIXED` destination. Returns the new address.
    pub fn remap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        if old & (PAGE_SIZE - 1) != 0 || new_len == 0 || old_len == 0 {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::EINVAL)?;
        let old_end = old
            .checked_add(old_len)
            .filter(|&e| e <= GUEST_SPACE)
            .ok_or(Errno::EFAULT)?;
        let mut t = self.lock();
        let pieces = Self::covering(&t, old, old_end).ok_or(Errno::EFAULT)?;
        if new_len > old_len {
            // Growing by `new_len - old_len` (a move frees the old range).
            let limit = self.as_limit();
            let mapped: u64 = t.iter().map(|(&s, r)| r.end - s).sum();
            if limit != u64::MAX && mapped + (new_len - old_len) > limit {
                return Err(Errno::ENOMEM);
            }
        }
        let (_, first) = pieces[0];
        let first_start = pieces[0].0;
        let kind = first.kind.advanced(old - first_start);
        let prot = first.prot;
        // The old range must look like one Linux VMA: same protection and backing.
        for (s, r) in &pieces[1..] {
            if r.prot != prot || r.kind != first.kind.advanced(s - first_start) {
                return Err(Errno::EFAULT);
            }
        }
        if let Some(dst) = fixed {
            if dst & (PAGE_SIZE - 1) != 0 {
                return Err(Errno::EINVAL);
            }
            let dst_end = dst
                .checked_add(new_len)
                .filter(|&e| e <= GUEST_SPACE)
                .ok_or(Errno::EINVAL)?;
            if dst < old_end && old < dst_end {
                return Err(Errno::EINVAL);
            }
            if dst < MMAP_MIN_ADDR {
                return Err(Errno::EPERM);
            }
            if Self::overlaps(&t, dst, dst_end) {
                self.host_reserve(dst, dst_end)?;
                Self::carve(&mut t, dst, dst_end);
            }
            if new_len < old_len {
                self.host_reserve(old + new_len, old_end)?;
                Self::carve(&mut t, old + new_len, old_end);
            }
            self.move_region(&mut t, old, old_len.min(new_len), dst, new_len, prot, kind)?;
            return Ok(dst);
        }
        if new_len <= old_len {
            if new_len < old_len {
                self.host_reserve(old + new_len, old_end)?;
                Self::carve(&mut t, old + new_len, old_end);
            }
            return Ok(old);
        }
        // Grow in place if the pages after the mapping are free.
        let grow_end = old.checked_add(new_len).filter(|&e| e <= GUEST_SPACE);
        if let Some(ge) = grow_end {
            // File mappings cannot be extended without the file; they move instead.
            let growable = !matches!(kind, RegionKind::File { .. });
            if growable && !Self::overlaps(&t, old_end, ge) {
                self.host_map(old_end, ge, prot, Backing::Anon(kind))?;
                t.insert(
                    old_end,
                    Region {
                        end: ge,
                        prot,
                        kind,
                    },
                );
                return Ok(old);
            }
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let dst = Self::find_free_in(&t, new_len, 0).ok_or(Errno::ENOMEM)?;
        self.move_region(&mut t, old, old_len, dst, new_len, prot, kind)?;
        Ok(dst)
    }

    /// Moves `[old, old+len)` to `[dst, dst+len)` (which must be unmapped) and extends the
    /// destination with fresh anonymous pages up to `dst+new_len`. The old range becomes
    /// reserved again.
    #[allow(clippy::too_many_arguments)]
    fn move_region(
        &self,
        t: &mut Table,
        old: u64,
        len: u64,
        dst: u64,
        new_len: u64,
        prot: Prot,
        kind: RegionKind,
    ) -> Result<(), Errno> {
        // First choice: let the host move the pages (no copy), keeping the old range
        // mapped (MREMAP_DONTUNMAP) so the reservation never has a hole.
        // SAFETY: both ranges lie inside our reservation; the destination is replaced
        // (MREMAP_FIXED) and only guest memory is affected.
        let r = unsafe {
            libc::mremap(
                self.host(old).cast(),
                len as usize,
                len as usize,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | libc::MREMAP_DONTUNMAP,
                self.host(dst),
            )
        };
        if r == libc::MAP_FAILED {
            // Fallback: copy. Sharing cannot be preserved by copying.
            if kind.is_shared() {
                return Err(Errno::ENOMEM);
            }
            self.host_map(
                dst,
                dst + len,
                Prot::RW,
                Backing::Anon(RegionKind::Anon { shared: false }),
            )?;
            if !prot.readable() {
                self.host_protect(old, old + len, libc::PROT_READ)?;
            }
            // SAFETY: source and destination are distinct mapped ranges of `len` bytes
            // inside the reservation (source made readable, destination read-write above).
            unsafe { std::ptr::copy_nonoverlapping(self.host(old), self.host(dst), len as usize) };
            self.host_protect(dst, dst + len, prot.host())?;
        }
        self.host_reserve(old, old + len)?;
        Self::carve(t, old, old + len);
        let new_kind = match kind {
            RegionKind::File { shared: false, .. } if r == libc::MAP_FAILED => {
                RegionKind::Anon { shared: false }
            }
            k => k,
        };
        t.insert(
            dst,
            Region {
                end: dst + len,
                prot,
                kind: new_kind,
            },
        );
        if new_len > len {
            let ext_kind = match new_kind {
                RegionKind::File { .. } => RegionKind::Anon { shared: false },
                k => k,
            };
            self.host_map(dst + len, dst + new_len, prot, Backing::Anon(ext_kind))?;
            t.insert(
                dst + len,
                Region {
                    end: dst + new_len,
                    prot,
                    kind: ext_kind,
                },
            );
        }
        Ok(())
    }

    // ---- inspection ----

    /// A snapshot of the mapping table: `(start, region)` in address order.
    pub fn regions(&self) -> Vec<(u64, Region)> {
        self.lock().iter().map(|(&s, &r)| (s, r)).collect()
    }

    /// Bytes the guest has mapped (every region of the table).
    pub fn mapped_bytes(&self) -> u64 {
        self.lock().iter().map(|(&s, r)| r.end - s).sum()
    }

    /// Asks the host to back the guest's anonymous memory with transparent huge pages
    /// where it can (`MADV_HUGEPAGE` over the whole reservation; KVM guests then get
    /// 2 MiB nested-paging entries). Mappings made later need the hint again.
    pub fn hint_huge_pages(&self) {
        let _ = self.host_madvise(0, GUEST_SPACE, libc::MADV_HUGEPAGE);
    }

    /// The regions that overlap `[start, end)`, in address order.
    pub fn regions_in(&self, start: u64, end: u64) -> Vec<(u64, Region)> {
        let t = self.lock();
        let first = t
            .range(..=start)
            .next_back()
            .filter(|(_, r)| r.end > start)
            .map(|(&s, &r)| (s, r));
        first
            .into_iter()
            .chain(t.range(start.saturating_add(1)..end).map(|(&s, &r)| (s, r)))
            .collect()
    }

    /// The guest protection at `addr`, or `None` if unmapped.
    pub fn prot_at(&self, addr: u64) -> Option<Prot> {
        let t = self.lock();
        t.range(..=addr)
            .next_back()
            .filter(|(_, r)| r.end > addr)
            .map(|(_, r)| r.prot)
    }

    /// Is any page of `[addr, addr+len)` mapped?
    pub fn any_mapped(&self, addr: u64, len: u64) -> bool {
        let end = addr.saturating_add(len).min(GUEST_SPACE);
        addr < end && Self::overlaps(&self.lock(), addr, end)
    }

    // ---- checked access ----

    /// How many bytes from `addr` (up to `len`) are accessible with `need`.
    fn accessible(t: &Table, addr: u64, len: u64, need_write: bool) -> u64 {
        if addr >= GUEST_SPACE {
            return 0;
        }
        let end = addr.saturating_add(len).min(GUEST_SPACE);
        let ok = |p: Prot| {
            if need_write {
                p.writable()
            } else {
                p.readable()
            }
        };
        let mut cur = match t.range(..=addr).next_back() {
            Some((_, r)) if r.end > addr && ok(r.prot) => r.end,
            _ => return 0,
        };
        if cur < end {
            for (&s, r) in t.range(addr + 1..end) {
                if s != cur || !ok(r.prot) {
                    break;
                }
                cur = r.end;
                if cur >= end {
                    break;
                }
            }
        }
        cur.min(end) - addr
    }

    fn check(t: &Table, addr: u64, len: u64, need_write: bool) -> Result<(), Fault> {
        if len == 0 {
            return Ok(());
        }
        let n = Self::accessible(t, addr, len, need_write);
        if n < len {
            return Err(Fault {
                addr: addr.saturating_add(n),
            });
        }
        Ok(())
    }

    /// The length of the readable prefix of `[addr, addr+len)` (0 if `addr` is bad).
    pub fn readable_len(&self, addr: u64, len: u64) -> u64 {
        Self::accessible(&self.lock(), addr, len, false)
    }

    /// The length of the writable prefix of `[addr, addr+len)` (0 if `addr` is bad).
    pub fn writable_len(&self, addr: u64, len: u64) -> u64 {
        Self::accessible(&self.lock(), addr, len, true)
    }

    /// Copies guest memory at `addr` into `buf` (needs guest read permission).
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        let t = self.lock();
        Self::check(&t, addr, buf.len() as u64, false)?;
        if !buf.is_empty() {
            // SAFETY: the guest range is mapped readable (checked under the table lock,
            // which also keeps it mapped during the copy); `buf` is a distinct host
            // buffer outside the reservation.
            unsafe { std::ptr::copy_nonoverlapping(self.host(addr), buf.as_mut_ptr(), buf.len()) };
        }
        Ok(())
    }

    /// Copies `data` to guest memory at `addr` (needs guest write permission).
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        let t = self.lock();
        Self::check(&t, addr, data.len() as u64, true)?;
        if !data.is_empty() {
            // SAFETY: the guest range is mapped writable on the host too (host prot
            // mirrors guest prot), checked and kept mapped under the table lock.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.host(addr), data.len()) };
        }
        Ok(())
    }

    /// Loader-only write: ignores guest write protection but requires the range to be
    /// mapped. Read-only pages are made host-writable for the copy and restored.
    pub fn write_force(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        if data.is_empty() {
            return Ok(());
        }
        let t = self.lock();
        let end = addr
            .checked_add(data.len() as u64)
            .filter(|&e| e <= GUEST_SPACE);
        let end = end.ok_or(Fault { addr })?;
        let pieces = Self::covering(&t, addr, end).ok_or_else(|| Fault {
            addr: addr + Self::mapped_prefix(&t, addr, end),
        })?;
        let (ps, pe) = (page_down(addr), page_up(end).unwrap_or(GUEST_SPACE));
        let needs_unprotect = pieces.iter().any(|(_, r)| !r.prot.writable());
        if needs_unprotect {
            self.host_protect(ps, pe, libc::PROT_READ | libc::PROT_WRITE)
                .map_err(|_| Fault { addr })?;
        }
        // SAFETY: the range is mapped (checked under the lock) and host-writable now.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.host(addr), data.len()) };
        if needs_unprotect {
            for (s, r) in pieces {
                let (a, b) = (s.max(ps), r.end.min(pe));
                // Restoring a protection that was in place a moment ago cannot fail
                // for a reason we could handle; ignore the result.
                let _ = self.host_protect(a, b, r.prot.host());
            }
        }
        Ok(())
    }

    fn mapped_prefix(t: &Table, addr: u64, end: u64) -> u64 {
        let mut cur = addr;
        if let Some((_, r)) = t.range(..=addr).next_back() {
            if r.end > addr {
                cur = r.end;
                for (&s, r) in t.range(addr + 1..end) {
                    if s != cur {
                        break;
                    }
                    cur = r.end;
                }
            }
        }
        cur.min(end) - addr
    }

    pub fn read_u32(&self, addr: u64) -> Result<u32, Fault> {
        let mut b = [0; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn read_u64(&self, addr: u64) -> Result<u64, Fault> {
        let mut b = [0; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn write_u32(&self, addr: u64, v: u32) -> Result<(), Fault> {
        self.write(addr, &v.to_le_bytes())
    }

    pub fn write_u64(&self, addr: u64, v: u64) -> Result<(), Fault> {
        self.write(addr, &v.to_le_bytes())
    }

    /// Reads a NUL-terminated string of at most `max_len` bytes (without the NUL).
    /// A string that is not terminated within `max_len` bytes is a `Fault` at the
    /// first byte past the limit; callers turn that into `ENAMETOOLONG` if they wish
    /// (see [`GuestMemory::read_cstr_checked`]).
    pub fn read_cstr(&self, addr: u64, max_len: usize) -> Result<Vec<u8>, Fault> {
        match self.read_cstr_checked(addr, max_len)? {
            Some(s) => Ok(s),
            None => Err(Fault {
                addr: addr.saturating_add(max_len as u64),
            }),
        }
    }

    /// Like [`read_cstr`](Self::read_cstr) but `Ok(None)` when no NUL occurs within
    /// `max_len` readable bytes.
    pub fn read_cstr_checked(&self, addr: u64, max_len: usize) -> Result<Option<Vec<u8>>, Fault> {
        let t = self.lock();
        let avail = Self::accessible(&t, addr, max_len as u64 + 1, false) as usize;
        if avail == 0 {
            return Err(Fault { addr });
        }
        // SAFETY: `avail` bytes from `addr` are mapped readable (checked under the lock,
        // which we hold for the lifetime of this borrow).
        let bytes = unsafe { std::slice::from_raw_parts(self.host(addr), avail) };
        match bytes.iter().position(|&b| b == 0) {
            Some(n) => Ok(Some(bytes[..n].to_vec())),
            None if avail > max_len => Ok(None),
            None => Err(Fault {
                addr: addr + avail as u64,
            }),
        }
    }

    /// Zero-copy read view of guest memory (needs guest read permission).
    ///
    /// Aliasing caveat: the bytes may change while the slice is alive (other guest
    /// threads, or the guest mapping being changed by another thread's `munmap`, in
    /// which case the pages read as zeros or the access faults like on Linux). It is
    /// plain bytes, so the only consequence is reading torn data, which is what the guest
    /// would get from a real kernel too. Keep such slices for the duration of one syscall.
    pub fn slice(&self, addr: u64, len: usize) -> Result<&[u8], Fault> {
        let t = self.lock();
        Self::check(&t, addr, len as u64, false)?;
        if len == 0 {
            return Ok(&[]);
        }
        // SAFETY: the range is mapped readable and lies inside the reservation, which
        // lives as long as `self`. See the aliasing caveat above.
        Ok(unsafe { std::slice::from_raw_parts(self.host(addr), len) })
    }

    /// Zero-copy write view of guest memory (needs guest write permission). Same
    /// aliasing caveat as [`slice`](Self::slice); do not hold two overlapping views.
    #[allow(clippy::mut_from_ref)]
    pub fn slice_mut(&self, addr: u64, len: usize) -> Result<&mut [u8], Fault> {
        let t = self.lock();
        Self::check(&t, addr, len as u64, true)?;
        if len == 0 {
            return Ok(&mut []);
        }
        // SAFETY: the range is mapped writable and lies inside the reservation, which
        // lives as long as `self`. See the aliasing caveat on `slice`.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.host(addr), len) })
    }

    /// Host pointer to a checked guest range, for passing straight to a host syscall
    /// (the host kernel then reads or writes the guest's bytes itself).
    pub fn host_ptr(&self, addr: u64, len: u64, write: bool) -> Result<*mut u8, Fault> {
        let t = self.lock();
        Self::check(&t, addr, len, write)?;
        if addr > GUEST_SPACE {
            return Err(Fault { addr });
        }
        Ok(self.host(addr))
    }
}

impl Drop for GuestMemory {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the reservation made in `new`; nothing borrows guest
        // memory beyond `self`'s lifetime (slices are tied to `&self`).
        unsafe {
            libc::munmap(
                self.base as *mut libc::c_void,
                (GUEST_SPACE + GUARD_SIZE) as usize,
            );
        }
    }
}

impl fmt::Debug for GuestMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestMemory")
            .field("base", &format_args!("{:#x}", self.base))
            .field("regions", &self.lock().len())
            .finish()
    }
}

/// Rounds up to a page; `None` on overflow.
pub fn page_align_up(x: u64) -> Option<u64> {
    page_up(x)
}

/// Rounds down to a page.
pub fn page_align_down(x: u64) -> u64 {
    page_down(x)
}

/// Direct access to guest memory for interpreters executing guest loads, stores and
/// atomics: `base + (addr & GUEST_ADDR_MASK)`, like translated code. Not checked
/// against the mapping table: an unmapped or protected page faults on the host and the
/// runtime's fault handler turns that into the guest's SIGSEGV. Made only by
/// [`GuestMemory::raw`], so the base is always a live reservation.
#[derive(Clone, Copy)]
pub struct RawGuest {
    base: *mut u8,
}

impl GuestMemory {
    /// The interpreter's view of this memory (see [`RawGuest`]).
    pub fn raw(&self) -> RawGuest {
        RawGuest { base: self.base() }
    }
}

impl RawGuest {
    fn host(self, addr: u64) -> *mut u8 {
        // The mask keeps every guest address inside the reservation (plus guard).
        self.base
            .wrapping_add((addr & vmx_lifter::state::GUEST_ADDR_MASK) as usize)
    }

    /// Load `size` (1, 2, 4, 8) bytes, zero-extended.
    pub fn load(self, addr: u64, size: u32) -> u64 {
        let p = self.host(addr);
        // SAFETY: `p` is inside the reservation (masked address + at most 8 bytes, covered
        // by the guard); faults are handled as described on [`RawGuest`].
        unsafe {
            match size {
                1 => p.read() as u64,
                2 => (p as *const u16).read_unaligned() as u64,
                4 => (p as *const u32).read_unaligned() as u64,
                _ => (p as *const u64).read_unaligned(),
            }
        }
    }

    /// Store the low `size` bytes of `v`.
    pub fn store(self, addr: u64, v: u64, size: u32) {
        let p = self.host(addr);
        // SAFETY: as in `load`.
        unsafe {
            match size {
                1 => p.write(v as u8),
                2 => (p as *mut u16).write_unaligned(v as u16),
                4 => (p as *mut u32).write_unaligned(v as u32),
                _ => (p as *mut u64).write_unaligned(v),
            }
        }
    }

    /// Atomic read-modify-write of 1, 2, 4 or 8 bytes: `f` maps the old value to the new
    /// one (`None`: leave it). Returns the old value. Bytes and halfwords go through a
    /// compare-and-swap of their aligned 4-byte word.
    pub fn rmw(self, addr: u64, size: u32, f: impl Fn(u64) -> Option<u64>) -> u64 {
        use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
        if size == 8 {
            // SAFETY: inside the reservation; host atomics on guest memory keep guest
            // atomics atomic with respect to each other.
            let at = unsafe { &*(self.host(addr) as *const AtomicU64) };
            let mut old = at.load(SeqCst);
            while let Some(new) = f(old) {
                match at.compare_exchange(old, new, SeqCst, SeqCst) {
                    Ok(_) => break,
                    Err(cur) => old = cur,
                }
            }
            return old;
        }
        let (word, shift, mask) = match size {
            4 => (addr, 0, u32::MAX),
            _ => (
                addr & !3,
                ((addr & 3) * 8) as u32,
                if size == 1 { 0xff } else { 0xffff },
            ),
        };
        // SAFETY: as above (aligned down to 4 bytes for sub-word accesses).
        let at = unsafe { &*(self.host(word) as *const AtomicU32) };
        let mut cur = at.load(SeqCst);
        loop {
            let old = ((cur >> shift) & mask) as u64;
            let Some(new) = f(old) else { return old };
            let next = (cur & !(mask << shift)) | ((new as u32 & mask) << shift);
            match at.compare_exchange(cur, next, SeqCst, SeqCst) {
                Ok(_) => return old,
                Err(c) => cur = c,
            }
        }
    }

    /// Compare-and-swap of `size` bytes; returns the old value.
    pub fn cas(self, addr: u64, expected: u64, new: u64, size: u32) -> u64 {
        self.rmw(addr, size, |old| (old == expected).then_some(new))
    }

    /// 128-bit compare-and-swap (16-byte aligned; a misaligned address faults, as it
    /// does on AArch64); returns the old value.
    pub fn cas128(self, addr: u64, expected: u128, new: u128) -> u128 {
        let p = self.host(addr) as *mut u128;
        if std::arch::is_x86_feature_detected!("cmpxchg16b") {
            let (old_lo, old_hi): (u64, u64);
            // SAFETY: `p` is inside the reservation and the CPU has CMPXCHG16B (checked).
            // RBX cannot be an asm operand (LLVM reserves it): the new value's low half
            // is swapped into it and restored afterwards.
            unsafe {
                std::arch::asm!(
                    "xchg {tmp}, rbx",
                    "lock cmpxchg16b xmmword ptr [{p}]",
                    "mov rbx, {tmp}",
                    p = in(reg) p,
                    tmp = inout(reg) new as u64 => _,
                    inout("rax") expected as u64 => old_lo,
                    inout("rdx") (expected >> 64) as u64 => old_hi,
                    in("rcx") (new >> 64) as u64,
                    options(nostack),
                );
            }
            old_lo as u128 | (old_hi as u128) << 64
        } else {
            // Not atomic against other host threads, which is enough while guests are
            // single-threaded.
            // SAFETY: as above.
            unsafe {
                let old = p.read_unaligned();
                if old == expected {
                    p.write_unaligned(new);
                }
                old
            }
        }
    }
}
