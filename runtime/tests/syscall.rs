//! The syscall layer driven through `Kernel::handle` with hand-built guest states.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use vmx_lifter::state::RvState;
use vmx_runtime::memory::{GuestMemory, Prot, GUEST_SPACE, MMAP_TOP, PAGE_SIZE};
use vmx_runtime::syscall::{nr, Kernel, KernelConfig, SysOutcome};

const P: u64 = PAGE_SIZE;
/// Scratch buffer the tests put guest data in.
const S: u64 = 0x10000;
const BRK: u64 = 0x100000;
const AT_FDCWD: u64 = -100i64 as u64;

const EPERM: i64 = -1;
const EBADF: i64 = -9;
const EAGAIN: i64 = -11;
const EFAULT: i64 = -14;
const EEXIST: i64 = -17;
const EINVAL: i64 = -22;
const ENOTTY: i64 = -25;
const EDEADLK: i64 = -35;
const ENOSYS: i64 = -38;
const ENOENT: i64 = -2;
const ETIMEDOUT: i64 = -110;

struct T {
    k: Kernel,
    mem: Arc<GuestMemory>,
}

impl T {
    fn new() -> T {
        T::with_exe(PathBuf::from("/bin/true"))
    }

    fn with_exe(exe: PathBuf) -> T {
        let mem = Arc::new(GuestMemory::new().unwrap());
        mem.map_fixed(S, 16 * P, Prot::RW).unwrap();
        let k = Kernel::new(
            mem.clone(),
            KernelConfig {
                exe_path: exe,
                strace: false,
                brk_start: BRK,
            },
        );
        T { k, mem }
    }

    fn run(&self, n: u64, args: &[u64]) -> (i64, SysOutcome, RvState) {
        let mut st = RvState::default();
        st.x[17] = n;
        for (i, a) in args.iter().enumerate() {
            st.x[10 + i] = *a;
        }
        st.x[2] = 0x7fff_0000;
        let out = self.k.handle(&mut st);
        (st.x[10] as i64, out, st)
    }

    fn call(&self, n: u64, args: &[u64]) -> i64 {
        let (r, out, _) = self.run(n, args);
        assert_eq!(out, SysOutcome::Continue);
        r
    }

    fn put(&self, addr: u64, data: &[u8]) -> u64 {
        self.mem.write(addr, data).unwrap();
        addr
    }

    fn cstr(&self, addr: u64, s: &str) -> u64 {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.put(addr, &v)
    }

    fn get(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.mem.read(addr, &mut v).unwrap();
        v
    }

    fn u64(&self, addr: u64) -> u64 {
        self.mem.read_u64(addr).unwrap()
    }

    fn pipe(&self) -> (u64, u64) {
        assert_eq!(self.call(nr::PIPE2, &[S, 0]), 0);
        let fds = self.get(S, 8);
        (
            u64::from(u32::from_le_bytes(fds[..4].try_into().unwrap())),
            u64::from(u32::from_le_bytes(fds[4..].try_into().unwrap())),
        )
    }
}

fn temp_file(name: &str, data: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("vmx-sys-{}-{name}", std::process::id()));
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn pipe_write_read() {
    let t = T::new();
    let (r, w) = t.pipe();
    t.put(S + 0x100, b"hello, pipe");
    assert_eq!(t.call(nr::WRITE, &[w, S + 0x100, 11]), 11);
    // FIONREAD through ioctl.
    assert_eq!(t.call(nr::IOCTL, &[r, 0x541b, S + 0x200]), 0);
    assert_eq!(t.mem.read_u32(S + 0x200).unwrap(), 11);
    assert_eq!(t.call(nr::READ, &[r, S + 0x300, 64]), 11);
    assert_eq!(t.get(S + 0x300, 11), b"hello, pipe");
    // writev gathers.
    t.put(S + 0x400, b"abc");
    t.put(S + 0x500, b"defg");
    let mut iov = Vec::new();
    for (b, l) in [(S + 0x400, 3u64), (S + 0x500, 4)] {
        iov.extend_from_slice(&b.to_le_bytes());
        iov.extend_from_slice(&l.to_le_bytes());
    }
    t.put(S + 0x600, &iov);
    assert_eq!(t.call(nr::WRITEV, &[w, S + 0x600, 2]), 7);
    assert_eq!(t.call(nr::READ, &[r, S + 0x700, 64]), 7);
    assert_eq!(t.get(S + 0x700, 7), b"abcdefg");
    // Not a tty.
    assert_eq!(t.call(nr::IOCTL, &[r, 0x5401, S + 0x800]), ENOTTY);
    assert_eq!(t.call(nr::CLOSE, &[r]), 0);
    assert_eq!(t.call(nr::CLOSE, &[w]), 0);
    assert_eq!(t.call(nr::CLOSE, &[999_999]), EBADF);
}

#[test]
fn openat_fstat_layout_matches_host() {
    let t = T::new();
    let path = temp_file("stat", &[5u8; 12345]);
    let pa = t.cstr(S, path.to_str().unwrap());
    let fd = t.call(nr::OPENAT, &[AT_FDCWD, pa, libc::O_RDONLY as u64, 0]);
    assert!(fd >= 0, "openat: {fd}");
    let md = std::fs::metadata(&path).unwrap();
    for (which, buf) in [("fstat", S + 0x1000), ("newfstatat", S + 0x2000)] {
        let r = if which == "fstat" {
            t.call(nr::FSTAT, &[fd as u64, buf])
        } else {
            t.call(nr::NEWFSTATAT, &[AT_FDCWD, pa, buf, 0])
        };
        assert_eq!(r, 0, "{which}");
        let b = t.get(buf, 128);
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        assert_eq!(u64_at(0), md.dev(), "st_dev");
        assert_eq!(u64_at(8), md.ino(), "st_ino");
        assert_eq!(u32_at(16), md.mode(), "st_mode");
        assert_eq!(u64::from(u32_at(20)), md.nlink(), "st_nlink");
        assert_eq!(u32_at(24), md.uid(), "st_uid");
        assert_eq!(u32_at(28), md.gid(), "st_gid");
        assert_eq!(u64_at(32), md.rdev(), "st_rdev");
        assert_eq!(u64_at(40), 0, "__pad1");
        assert_eq!(u64_at(48), md.size(), "st_size");
        assert_eq!(u64::from(u32_at(56)), md.blksize(), "st_blksize");
        assert_eq!(u32_at(60), 0, "__pad2");
        assert_eq!(u64_at(64), md.blocks(), "st_blocks");
        assert_eq!(u64_at(72) as i64, md.atime(), "st_atime");
        assert_eq!(u64_at(80) as i64, md.atime_nsec(), "st_atime_nsec");
        assert_eq!(u64_at(88) as i64, md.mtime(), "st_mtime");
        assert_eq!(u64_at(96) as i64, md.mtime_nsec(), "st_mtime_nsec");
        assert_eq!(u64_at(104) as i64, md.ctime(), "st_ctime");
        assert_eq!(u64_at(112) as i64, md.ctime_nsec(), "st_ctime_nsec");
        assert_eq!(u64_at(120), 0, "__unused");
    }
    // statx: same everywhere; check size and the mask.
    assert_eq!(t.call(nr::STATX, &[AT_FDCWD, pa, 0, 0x7ff, S + 0x3000]), 0);
    let sx = t.get(S + 0x3000, 256);
    assert_eq!(u64::from_le_bytes(sx[40..48].try_into().unwrap()), 12345);
    // read + lseek.
    assert_eq!(t.call(nr::LSEEK, &[fd as u64, 12340, 0]), 12340);
    assert_eq!(t.call(nr::READ, &[fd as u64, S + 0x4000, 100]), 5);
    assert_eq!(t.call(nr::PREAD64, &[fd as u64, S + 0x4000, 3, 0]), 3);
    assert_eq!(t.call(nr::CLOSE, &[fd as u64]), 0);
    // Missing file.
    let missing = t.cstr(S + 0x5000, "/nonexistent/vmx/file");
    assert_eq!(t.call(nr::OPENAT, &[AT_FDCWD, missing, 0, 0]), ENOENT);
    assert_eq!(t.call(nr::NEWFSTATAT, &[AT_FDCWD, missing, S, 0]), ENOENT);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn uname_is_riscv64() {
    let t = T::new();
    assert_eq!(t.call(nr::UNAME, &[S]), 0);
    let u = t.get(S, 390);
    let field = |i: usize| {
        let f = &u[i * 65..(i + 1) * 65];
        String::from_utf8_lossy(&f[..f.iter().position(|&c| c == 0).unwrap()]).into_owned()
    };
    assert_eq!(field(0), "Linux");
    assert_eq!(field(4), "riscv64");
    assert!(!field(2).is_empty());
    assert_eq!(t.call(nr::UNAME, &[0]), EFAULT);
}

#[test]
fn brk_grows_and_shrinks() {
    let t = T::new();
    assert_eq!(t.call(nr::BRK, &[0]) as u64, BRK);
    assert_eq!(t.k.brk(), BRK);
    let top = BRK + 3 * P + 0x123;
    assert_eq!(t.call(nr::BRK, &[top]) as u64, top);
    t.mem.write_u64(BRK, 1).unwrap();
    t.mem.write_u64(BRK + 3 * P + 8, 2).unwrap();
    assert!(t.mem.write_u64(BRK + 4 * P, 2).is_err());
    assert_eq!(t.call(nr::BRK, &[0]) as u64, top);
    // Shrink: the pages above are gone.
    assert_eq!(t.call(nr::BRK, &[BRK + 0x10]) as u64, BRK + 0x10);
    assert!(t.mem.read_u64(BRK + P).is_err());
    assert_eq!(t.mem.read_u64(BRK).unwrap(), 1);
    // Below the start: unchanged.
    assert_eq!(t.call(nr::BRK, &[BRK - P]) as u64, BRK + 0x10);
    // Into an existing mapping: refused, unchanged.
    t.mem.map_fixed(BRK + 8 * P, P, Prot::RW).unwrap();
    assert_eq!(t.call(nr::BRK, &[BRK + 9 * P]) as u64, BRK + 0x10);
    assert_eq!(t.call(nr::BRK, &[GUEST_SPACE + 5]) as u64, BRK + 0x10);
}

#[test]
fn mmap_munmap_mprotect() {
    let t = T::new();
    const RW: u64 = 3;
    const PRIV_ANON: u64 = 0x22;
    let a = t.call(nr::MMAP, &[0, 3 * P, RW, PRIV_ANON, u64::MAX, 0]);
    assert!(
        a > 0 && (a as u64) & (P - 1) == 0 && (a as u64) + 3 * P <= MMAP_TOP,
        "{a:#x}"
    );
    let a = a as u64;
    t.mem.write(a + 2 * P, b"data").unwrap();
    // mprotect read-only: a read() into it fails with EFAULT.
    assert_eq!(t.call(nr::MPROTECT, &[a, P, 1]), 0);
    let (r, w) = t.pipe();
    t.put(S + 0x100, b"xyz");
    assert_eq!(t.call(nr::WRITE, &[w, S + 0x100, 3]), 3);
    assert_eq!(t.call(nr::READ, &[r, a, 3]), EFAULT);
    assert_eq!(t.call(nr::READ, &[r, a + P, 3]), 3);
    assert_eq!(t.get(a + P, 3), b"xyz");
    // munmap then access faults.
    assert_eq!(t.call(nr::MUNMAP, &[a, 3 * P]), 0);
    assert!(t.mem.read_u32(a + 2 * P).is_err());
    // Argument checks like Linux.
    assert_eq!(
        t.call(nr::MMAP, &[0, 0, RW, PRIV_ANON, u64::MAX, 0]),
        EINVAL
    );
    assert_eq!(t.call(nr::MMAP, &[0, P, RW, 0x20, u64::MAX, 0]), EINVAL);
    assert_eq!(
        t.call(nr::MMAP, &[0, P, RW, PRIV_ANON, u64::MAX, 5]),
        EINVAL
    );
    assert_eq!(
        t.call(
            nr::MMAP,
            &[0x1234_5001, P, RW, PRIV_ANON | 0x10, u64::MAX, 0]
        ),
        EINVAL
    );
    assert_eq!(
        t.call(nr::MMAP, &[0x1000, P, RW, PRIV_ANON | 0x10, u64::MAX, 0]),
        EPERM
    );
    assert_eq!(
        t.call(nr::MMAP, &[0, P, 0x40, PRIV_ANON, u64::MAX, 0]),
        EINVAL
    );
    assert_eq!(
        t.call(nr::MMAP, &[0, GUEST_SPACE * 2, RW, PRIV_ANON, u64::MAX, 0]),
        -12
    );
    assert_eq!(t.call(nr::MUNMAP, &[a + 1, P]), EINVAL);
    assert_eq!(t.call(nr::MPROTECT, &[a + 1, P, 1]), EINVAL);
    assert_eq!(t.call(nr::MPROTECT, &[0x5000_0000, P, 1]), -12);
    // MAP_FIXED replaces, MAP_FIXED_NOREPLACE refuses.
    let f = 0x4000_0000u64;
    assert_eq!(
        t.call(nr::MMAP, &[f, P, RW, PRIV_ANON | 0x10, u64::MAX, 0]) as u64,
        f
    );
    t.mem.write_u32(f, 9).unwrap();
    assert_eq!(
        t.call(nr::MMAP, &[f, P, RW, PRIV_ANON | 0x10_0000, u64::MAX, 0]),
        EEXIST
    );
    assert_eq!(
        t.call(nr::MMAP, &[f, P, RW, PRIV_ANON | 0x10, u64::MAX, 0]) as u64,
        f
    );
    assert_eq!(t.mem.read_u32(f).unwrap(), 0);
    // A free hint is honoured.
    let h = 0x5000_0000u64;
    assert_eq!(
        t.call(nr::MMAP, &[h, P, RW, PRIV_ANON, u64::MAX, 0]) as u64,
        h
    );
    // madvise(MADV_DONTNEED) zeroes.
    t.mem.write_u32(h, 7).unwrap();
    assert_eq!(t.call(nr::MADVISE, &[h, P, 4]), 0);
    assert_eq!(t.mem.read_u32(h).unwrap(), 0);
    assert_eq!(t.call(nr::MADVISE, &[h, P, 999]), EINVAL);
    // mremap with MREMAP_MAYMOVE keeps the data.
    t.mem.write_u32(h, 0xabcd).unwrap();
    t.mem.map_fixed(h + P, P, Prot::READ).unwrap();
    let m = t.call(nr::MREMAP, &[h, P, 4 * P, 1, 0]);
    assert!(m > 0 && m as u64 != h);
    assert_eq!(t.mem.read_u32(m as u64).unwrap(), 0xabcd);
    assert_eq!(
        t.call(nr::MREMAP, &[m as u64, 4 * P, 8 * P, 0, 0]) as u64,
        m as u64
    );
}

#[test]
fn mmap_file_backed() {
    let t = T::new();
    let path = temp_file("mmap", b"file contents here");
    let pa = t.cstr(S, path.to_str().unwrap());
    let fd = t.call(nr::OPENAT, &[AT_FDCWD, pa, 0, 0]) as u64;
    let a = t.call(nr::MMAP, &[0, 100, 1, 2, fd, 0]);
    assert!(a > 0);
    assert_eq!(t.get(a as u64, 18), b"file contents here");
    assert!(t.mem.write(a as u64, b"x").is_err());
    assert_eq!(t.call(nr::MMAP, &[0, 100, 1, 2, 999, 0]), EBADF);
    t.call(nr::CLOSE, &[fd]);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn bad_pointers_are_efault() {
    let t = T::new();
    let bad = 0xdead_0000u64;
    let (r, w) = t.pipe();
    assert_eq!(t.call(nr::WRITE, &[w, bad, 10]), EFAULT);
    assert_eq!(t.call(nr::WRITE, &[w, GUEST_SPACE + 0x1000, 10]), EFAULT);
    assert_eq!(t.call(nr::WRITE, &[w, u64::MAX - 4, 10]), EFAULT);
    assert_eq!(t.call(nr::OPENAT, &[AT_FDCWD, bad, 0, 0]), EFAULT);
    assert_eq!(t.call(nr::FSTAT, &[r, bad]), EFAULT);
    assert_eq!(t.call(nr::CLOCK_GETTIME, &[1, bad]), EFAULT);
    assert_eq!(t.call(nr::PIPE2, &[bad, 0]), EFAULT);
    assert_eq!(t.call(nr::READV, &[r, bad, 1]), EFAULT);
    assert_eq!(t.call(nr::RT_SIGACTION, &[10, bad, 0, 8]), EFAULT);
    assert_eq!(t.call(nr::GETRANDOM, &[bad, 16, 0]), EFAULT);
    assert_eq!(t.call(nr::NANOSLEEP, &[bad, 0]), EFAULT);
    assert_eq!(t.call(nr::FUTEX, &[bad, 0, 0, 0, 0, 0]), EFAULT);
    assert_eq!(t.call(nr::GETCWD, &[bad, 4096]), EFAULT);
    // A read-only buffer is not writable for read().
    t.mem.map_fixed(0x3000_0000, P, Prot::READ).unwrap();
    t.put(S, b"q");
    assert_eq!(t.call(nr::WRITE, &[w, S, 1]), 1);
    assert_eq!(t.call(nr::READ, &[r, 0x3000_0000, 1]), EFAULT);
    // Partially valid buffers transfer the valid prefix, like Linux.
    t.put(S + 16 * P - 4, b"tail");
    assert_eq!(t.call(nr::WRITE, &[w, S + 16 * P - 4, 100]), 4);
}

#[test]
fn unknown_syscalls_are_enosys() {
    let t = T::new();
    assert_eq!(t.call(9999, &[]), ENOSYS);
    assert_eq!(t.call(244, &[1, 2, 3]), ENOSYS);
    // renameat is not in the riscv64 table.
    assert_eq!(t.call(38, &[]), ENOSYS);
    assert_eq!(t.call(nr::RSEQ, &[0, 0, 0, 0]), ENOSYS);
    assert_eq!(t.call(nr::RISCV_HWPROBE, &[0, 0, 0, 0, 0]), ENOSYS);
    assert_eq!(nr::name(nr::OPENAT), Some("openat"));
    assert_eq!(nr::name(259), Some("riscv_flush_icache"));
    assert_eq!(nr::name(38), None);
}

#[test]
fn exit_and_exit_group() {
    let t = T::new();
    let (_, out, st) = t.run(nr::EXIT_GROUP, &[3]);
    assert_eq!(out, SysOutcome::Exit(3));
    assert_eq!(st.x[10], 3, "a0 untouched");
    let (_, out, _) = t.run(nr::EXIT, &[0x1ff]);
    assert_eq!(out, SysOutcome::Exit(0xff));
}

#[test]
fn signals_to_self() {
    let t = T::new();
    let pid = t.call(nr::GETPID, &[]) as u64;
    assert_eq!(pid, u64::from(std::process::id()));
    // Default action of SIGABRT: the caller must die by it.
    let (r, out, _) = t.run(nr::KILL, &[pid, 6]);
    assert_eq!((r, out), (0, SysOutcome::Killed(6)));
    let tid = t.call(nr::GETTID, &[]) as u64;
    let (_, out, _) = t.run(nr::TGKILL, &[pid, tid, 15]);
    assert_eq!(out, SysOutcome::Killed(15));
    // Ignored by default.
    assert_eq!(t.call(nr::KILL, &[pid, 17]), 0);
    assert_eq!(t.call(nr::KILL, &[pid, 0]), 0);
    assert_eq!(t.call(nr::KILL, &[pid, 65]), EINVAL);
    // Install a handler: the old action comes back, the signal becomes pending.
    let act = [0x1_2340u64, 0x0400_0000 | 0x1000_0000, 1 << 1];
    let bytes: Vec<u8> = act.iter().flat_map(|w| w.to_le_bytes()).collect();
    t.put(S, &bytes);
    assert_eq!(t.call(nr::RT_SIGACTION, &[10, S, S + 0x100, 8]), 0);
    assert_eq!(t.get(S + 0x100, 24), vec![0; 24]);
    assert_eq!(t.call(nr::RT_SIGACTION, &[10, 0, S + 0x200, 8]), 0);
    assert_eq!(t.get(S + 0x200, 24), bytes);
    assert_eq!(t.k.sigaction(10).unwrap().handler, 0x1_2340);
    assert_eq!(t.call(nr::KILL, &[pid, 10]), 0);
    // A handled signal goes through the host (to this thread, which does not block it)
    // and comes back through the forwarding handler: SIGUSR1, SI_USER, from this process.
    assert_eq!(
        vmx_runtime::signal::take_arrived(&t.k),
        SysOutcome::Continue
    );
    assert_eq!(t.k.take_pending_signal(), Some((10, 0, pid as i32)));
    assert_eq!(t.k.take_pending_signal(), None);
    // Errors.
    assert_eq!(t.call(nr::RT_SIGACTION, &[9, S, 0, 8]), EINVAL);
    assert_eq!(t.call(nr::RT_SIGACTION, &[10, S, 0, 4]), EINVAL);
    assert_eq!(t.call(nr::RT_SIGACTION, &[0, S, 0, 8]), EINVAL);
    // SIG_IGN.
    t.put(S, &[1u64.to_le_bytes(), [0; 8], [0; 8]].concat());
    assert_eq!(t.call(nr::RT_SIGACTION, &[15, S, 0, 8]), 0);
    assert_eq!(t.call(nr::KILL, &[pid, 15]), 0);
}

#[test]
fn blocked_fatal_signal_kills_when_unblocked() {
    let t = T::new();
    let pid = t.call(nr::GETPID, &[]) as u64;
    let term = 1u64 << (15 - 1);
    t.put(S, &term.to_le_bytes());
    assert_eq!(t.call(nr::RT_SIGPROCMASK, &[0, S, S + 8, 8]), 0);
    assert_eq!(t.u64(S + 8), 0);
    assert_eq!(t.k.signal_mask(), term);
    assert_eq!(t.call(nr::KILL, &[pid, 15]), 0);
    assert_eq!(t.call(nr::RT_SIGPENDING, &[S + 16, 8]), 0);
    assert_eq!(t.u64(S + 16), term);
    let (_, out, _) = t.run(nr::RT_SIGPROCMASK, &[1, S, S + 8, 8]);
    assert_eq!(out, SysOutcome::Killed(15));
    assert_eq!(t.u64(S + 8), term);
    // SIGKILL/SIGSTOP cannot be blocked.
    t.put(S, &u64::MAX.to_le_bytes());
    assert_eq!(t.call(nr::RT_SIGPROCMASK, &[2, S, 0, 8]), 0);
    assert_eq!(t.k.signal_mask(), !((1 << 8) | (1 << 18)));
    assert_eq!(t.call(nr::RT_SIGPROCMASK, &[7, S, 0, 8]), EINVAL);
}

#[test]
fn sigaltstack_roundtrip() {
    let t = T::new();
    assert_eq!(t.call(nr::SIGALTSTACK, &[0, S]), 0);
    assert_eq!(t.mem.read_u32(S + 8).unwrap(), 2, "SS_DISABLE initially");
    let ss = [0x2000_0000u64, 0, 0x4000];
    t.put(
        S,
        &ss.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<_>>(),
    );
    assert_eq!(t.call(nr::SIGALTSTACK, &[S, 0]), 0);
    assert_eq!(t.call(nr::SIGALTSTACK, &[0, S + 0x100]), 0);
    assert_eq!(t.u64(S + 0x100), 0x2000_0000);
    assert_eq!(t.u64(S + 0x110), 0x4000);
    assert_eq!(t.k.altstack().size, 0x4000);
    // Too small.
    t.put(S + 16, &100u64.to_le_bytes());
    assert_eq!(t.call(nr::SIGALTSTACK, &[S, 0]), -12);
}

#[test]
fn proc_self_exe() {
    let exe = std::env::current_exe().unwrap();
    let t = T::with_exe(exe.clone());
    let p = t.cstr(S, "/proc/self/exe");
    let n = t.call(nr::READLINKAT, &[AT_FDCWD, p, S + 0x100, 4096]);
    let want = std::fs::canonicalize(&exe).unwrap();
    assert_eq!(n as usize, want.as_os_str().len());
    assert_eq!(
        t.get(S + 0x100, n as usize),
        want.as_os_str().as_encoded_bytes()
    );
    // Truncated like readlink.
    assert_eq!(t.call(nr::READLINKAT, &[AT_FDCWD, p, S + 0x100, 3]), 3);
    assert_eq!(t.call(nr::READLINKAT, &[AT_FDCWD, p, S + 0x100, 0]), EINVAL);
    // open("/proc/self/exe") opens the guest executable.
    let fd = t.call(nr::OPENAT, &[AT_FDCWD, p, 0, 0]);
    assert!(fd >= 0);
    assert_eq!(t.call(nr::FSTAT, &[fd as u64, S + 0x1000]), 0);
    let ino = t.u64(S + 0x1008);
    assert_eq!(ino, std::fs::metadata(&exe).unwrap().ino());
    t.call(nr::CLOSE, &[fd as u64]);
    let pid = std::process::id();
    let p2 = t.cstr(S + 0x2000, &format!("/proc/{pid}/exe"));
    assert!(t.call(nr::READLINKAT, &[AT_FDCWD, p2, S + 0x100, 4096]) > 0);
}

#[test]
fn proc_self_maps_shows_guest_mappings() {
    let t = T::new();
    let p = t.cstr(S, "/proc/self/maps");
    let fd = t.call(nr::OPENAT, &[AT_FDCWD, p, 0, 0]);
    assert!(fd >= 0);
    let n = t.call(nr::READ, &[fd as u64, S + 0x100, 4000]);
    assert!(n > 0);
    let text = String::from_utf8(t.get(S + 0x100, n as usize)).unwrap();
    assert!(
        text.starts_with("00010000-00020000 rw-p 00000000 00:00 0"),
        "{text}"
    );
    t.call(nr::CLOSE, &[fd as u64]);
}

#[test]
fn cwd_time_random_limits() {
    let t = T::new();
    let n = t.call(nr::GETCWD, &[S, 4096]);
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(n as usize, cwd.as_os_str().len() + 1);
    assert_eq!(t.get(S, n as usize - 1), cwd.as_os_str().as_encoded_bytes());
    assert_eq!(t.call(nr::GETCWD, &[S, 2]), -34);
    assert_eq!(t.call(nr::CLOCK_GETTIME, &[1, S]), 0);
    assert!(t.u64(S) > 0 || t.u64(S + 8) > 0);
    assert_eq!(t.call(nr::CLOCK_GETTIME, &[0, S]), 0);
    assert!(t.u64(S) > 1_600_000_000);
    assert_eq!(t.call(nr::GETTIMEOFDAY, &[S, 0]), 0);
    t.put(S, &[0u8; 8]);
    t.put(S + 8, &1000u64.to_le_bytes());
    assert_eq!(t.call(nr::NANOSLEEP, &[S, 0]), 0);
    assert_eq!(t.call(nr::GETRANDOM, &[S + 0x100, 32, 0]), 32);
    assert_eq!(t.call(nr::GETRANDOM, &[S + 0x100, 32, 8]), EINVAL);
    assert_eq!(t.call(nr::PRLIMIT64, &[0, 3, 0, S]), 0);
    assert_eq!(t.u64(S), 8 << 20, "RLIMIT_STACK cur = the guest stack size");
    assert_eq!(t.call(nr::GETRLIMIT, &[7, S]), 0);
    assert!(t.u64(S) > 0, "RLIMIT_NOFILE from the host");
    // Emulated limits remember what the guest sets.
    t.put(
        S,
        &[(1u64 << 20).to_le_bytes(), (2u64 << 20).to_le_bytes()].concat(),
    );
    assert_eq!(t.call(nr::SETRLIMIT, &[3, S]), 0);
    assert_eq!(t.call(nr::GETRLIMIT, &[3, S + 16]), 0);
    assert_eq!(t.u64(S + 16), 1 << 20);
    assert_eq!(t.call(nr::SYSINFO, &[S]), 0);
    assert!(t.u64(S) > 0, "uptime");
    assert!(t.call(nr::SCHED_GETAFFINITY, &[0, 128, S]) > 0);
    assert_eq!(t.call(nr::SET_ROBUST_LIST, &[S, 24]), 0);
    assert_eq!(t.call(nr::SET_ROBUST_LIST, &[S, 23]), EINVAL);
    assert_eq!(t.call(nr::SET_TID_ADDRESS, &[S]), t.call(nr::GETTID, &[]));
    assert_eq!(t.k.clear_child_tid(), S);
}

#[test]
fn futex_single_threaded() {
    let t = T::new();
    t.mem.write_u32(S, 5).unwrap();
    assert_eq!(t.call(nr::FUTEX, &[S, 128, 4, 0, 0, 0]), EAGAIN);
    assert_eq!(t.call(nr::FUTEX, &[S, 128, 5, 0, 0, 0]), EDEADLK);
    // 1 ms timeout.
    t.put(
        S + 16,
        &[0u64.to_le_bytes(), 1_000_000u64.to_le_bytes()].concat(),
    );
    assert_eq!(t.call(nr::FUTEX, &[S, 128, 5, S + 16, 0, 0]), ETIMEDOUT);
    assert_eq!(t.call(nr::FUTEX, &[S, 129, 1, 0, 0, 0]), 0);
    assert_eq!(t.call(nr::FUTEX, &[S + 1, 129, 1, 0, 0, 0]), EINVAL);
}

#[test]
fn icache_flush_flag() {
    let t = T::new();
    assert!(!t.k.take_icache_flush());
    assert_eq!(t.call(nr::RISCV_FLUSH_ICACHE, &[0, 0, 0]), 0);
    assert!(t.k.take_icache_flush());
    assert!(!t.k.take_icache_flush());
    assert_eq!(t.call(nr::RISCV_FLUSH_ICACHE, &[0, 0, 2]), EINVAL);
}

#[test]
fn epoll_event_layout_is_converted() {
    let t = T::new();
    let (r, w) = t.pipe();
    let ep = t.call(nr::EPOLL_CREATE1, &[0]);
    assert!(ep >= 0);
    let mut ev = Vec::new();
    ev.extend_from_slice(&1u32.to_le_bytes()); // EPOLLIN
    ev.extend_from_slice(&[0; 4]);
    ev.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    t.put(S, &ev);
    assert_eq!(t.call(nr::EPOLL_CTL, &[ep as u64, 1, r, S]), 0);
    t.put(S + 0x40, b"!");
    assert_eq!(t.call(nr::WRITE, &[w, S + 0x40, 1]), 1);
    assert_eq!(
        t.call(nr::EPOLL_PWAIT, &[ep as u64, S + 0x100, 4, 0, 0, 8]),
        1
    );
    assert_eq!(t.mem.read_u32(S + 0x100).unwrap(), 1);
    assert_eq!(t.u64(S + 0x108), 0x1122_3344_5566_7788);
}

#[test]
fn fd_protection_and_fcntl() {
    let t = T::new();
    let (r, w) = t.pipe();
    t.k.protect_fd(r as i32);
    assert_eq!(t.call(nr::CLOSE, &[r]), EBADF);
    assert_eq!(t.call(nr::DUP3, &[w, r, 0]), EBADF);
    assert_eq!(t.call(nr::FCNTL, &[r, 1, 0]), 0, "F_GETFD");
    assert_eq!(t.call(nr::FCNTL, &[r, 2, 1]), 0, "F_SETFD");
    assert_eq!(t.call(nr::FCNTL, &[r, 1, 0]), 1);
    // F_DUPFD_CLOEXEC far above what other tests use, so close_range below only
    // touches this test's descriptors.
    let d1 = t.call(nr::FCNTL, &[w, 1030, 700]);
    assert!(d1 >= 700, "F_DUPFD_CLOEXEC");
    let d2 = t.call(nr::FCNTL, &[w, 1030, d1 as u64 + 1]) as u64;
    let d3 = t.call(nr::FCNTL, &[w, 1030, d2 + 1]) as u64;
    t.k.protect_fd(d2 as i32);
    // close_range skips protected fds.
    assert_eq!(t.call(nr::CLOSE_RANGE, &[d1 as u64, d3, 0]), 0);
    assert_eq!(t.call(nr::FCNTL, &[d2, 1, 0]), 1, "protected fd still open");
    assert_eq!(t.call(nr::FCNTL, &[d1 as u64, 1, 0]), EBADF);
    assert_eq!(t.call(nr::FCNTL, &[d3, 1, 0]), EBADF);
    assert_eq!(t.call(nr::CLOSE_RANGE, &[5, 4, 0]), EINVAL);
    assert_eq!(t.call(nr::FCNTL, &[r, 9999, 0]), EINVAL);
}

#[test]
fn directories() {
    let t = T::new();
    let dir = std::env::temp_dir().join(format!("vmx-sys-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = t.cstr(S, dir.to_str().unwrap());
    assert_eq!(t.call(nr::MKDIRAT, &[AT_FDCWD, d, 0o755]), 0);
    assert_eq!(t.call(nr::MKDIRAT, &[AT_FDCWD, d, 0o755]), EEXIST);
    std::fs::write(dir.join("f1"), b"x").unwrap();
    let fd = t.call(nr::OPENAT, &[AT_FDCWD, d, 0o200000, 0]) as u64;
    let n = t.call(nr::GETDENTS64, &[fd, S + 0x1000, 4096]);
    assert!(n > 0);
    let buf = t.get(S + 0x1000, n as usize);
    let mut names = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
        let name = &buf[off + 19..off + reclen];
        names.push(
            String::from_utf8_lossy(&name[..name.iter().position(|&c| c == 0).unwrap()])
                .into_owned(),
        );
        off += reclen;
    }
    names.sort();
    assert_eq!(names, [".", "..", "f1"]);
    let f1 = t.cstr(S + 0x100, "f1");
    let f2 = t.cstr(S + 0x200, "f2");
    assert_eq!(t.call(nr::RENAMEAT2, &[fd, f1, fd, f2, 0]), 0);
    assert_eq!(t.call(nr::FACCESSAT, &[fd, f2, 4]), 0);
    assert_eq!(t.call(nr::FACCESSAT, &[fd, f1, 0]), ENOENT);
    assert_eq!(t.call(nr::UNLINKAT, &[fd, f2, 0]), 0);
    t.call(nr::CLOSE, &[fd]);
    assert_eq!(t.call(nr::UNLINKAT, &[AT_FDCWD, d, 0x200]), 0);
    assert!(!dir.exists());
}

#[test]
fn strace_does_not_disturb_results() {
    let mem = Arc::new(GuestMemory::new().unwrap());
    mem.map_fixed(S, P, Prot::RW).unwrap();
    let k = Kernel::new(
        mem.clone(),
        KernelConfig {
            exe_path: "/bin/true".into(),
            strace: true,
            brk_start: BRK,
        },
    );
    mem.write(S, b"/nonexistent\0").unwrap();
    let mut st = RvState::default();
    st.x[17] = nr::OPENAT;
    st.x[10] = AT_FDCWD;
    st.x[11] = S;
    st.x[12] = 0o2000000;
    assert_eq!(k.handle(&mut st), SysOutcome::Continue);
    assert_eq!(st.x[10] as i64, ENOENT);
    st.x[17] = 4321;
    k.handle(&mut st);
    assert_eq!(st.x[10] as i64, ENOSYS);
}

#[test]
fn main_thread_tid_is_pid() {
    let t = Arc::new(T::new());
    let pid = t.call(nr::GETPID, &[]);
    assert_eq!(t.call(nr::GETTID, &[]), pid);
    let t2 = t.clone();
    let other = std::thread::spawn(move || t2.call(nr::GETTID, &[]))
        .join()
        .unwrap();
    assert_ne!(other, pid);
    assert!(other > 0);
}

#[test]
fn clone_forks_and_wait4_reaps() {
    let t = T::new();
    // CLONE_VM without CLONE_VFORK would be a thread: not supported here.
    assert_eq!(t.call(nr::CLONE, &[0x100 | 17, 0, 0, 0, 0]), ENOSYS);
    // fork with CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD.
    let flags = 0x10_0000 | 0x100_0000 | 17;
    let (r, out, st) = t.run(nr::CLONE, &[flags, 0, S, 0, S + 8]);
    assert_eq!(out, SysOutcome::Continue);
    if r == 0 {
        // The child: its guest tid is its pid, written to the child tid slot.
        let ok = t.call(nr::GETPID, &[]) == t.call(nr::GETTID, &[])
            && t.mem.read_u32(S + 8).unwrap() as i64 == t.call(nr::GETPID, &[])
            && st.x[2] == 0x7fff_0000;
        let (_, out, _) = t.run(nr::EXIT_GROUP, &[if ok { 42 } else { 1 }]);
        let SysOutcome::Exit(code) = out else {
            unreachable!()
        };
        // SAFETY: leaving the forked child without running the test harness's code.
        unsafe { libc::_exit(code) };
    }
    assert!(r > 0);
    assert_eq!(t.mem.read_u32(S).unwrap() as i64, r, "CLONE_PARENT_SETTID");
    assert_eq!(t.call(nr::WAIT4, &[r as u64, S + 16, 0, 0]), r);
    let status = t.mem.read_u32(S + 16).unwrap();
    assert_eq!(
        (status >> 8) & 0xff,
        42,
        "child checks passed (status {status:#x})"
    );
}
