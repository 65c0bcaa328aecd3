//! Hostile arguments never crash the runtime: pointer-taking syscalls called with
//! random mixes of NULL, unmapped, straddling, out-of-space and valid pointers return
//! `-errno` or a value, never panic or fault, and the guest region stays confined
//! (contiguous reservation, nothing executable).
//!
//! Only syscalls that cannot block or change the test process's state outside the
//! guest are exercised (no writes to fds, no kill, no set*id, no path creation).

use std::sync::Arc;
use vmx_lifter::state::RvState;
use vmx_runtime::memory::{GuestMemory, Prot, GUARD_SIZE, GUEST_SPACE, PAGE_SIZE};
use vmx_runtime::syscall::{nr, Kernel, KernelConfig, SysOutcome};

const S: u64 = 0x10000;

const SAFE: &[u64] = &[
    nr::FSTAT,
    nr::NEWFSTATAT,
    nr::STATX,
    nr::STATFS,
    nr::FSTATFS,
    nr::FACCESSAT,
    nr::FACCESSAT2,
    nr::GETDENTS64,
    nr::READLINKAT,
    nr::GETCWD,
    nr::OPENAT,
    nr::BRK,
    nr::MMAP,
    nr::MUNMAP,
    nr::MPROTECT,
    nr::MADVISE,
    nr::MREMAP,
    nr::MSYNC,
    nr::MINCORE,
    nr::MLOCK,
    nr::MUNLOCK,
    nr::UNAME,
    nr::SYSINFO,
    nr::GETRUSAGE,
    nr::TIMES,
    nr::GETRLIMIT,
    nr::SCHED_GETAFFINITY,
    nr::SCHED_GETPARAM,
    nr::GETCPU,
    nr::GETRANDOM,
    nr::CLOCK_GETTIME,
    nr::CLOCK_GETRES,
    nr::GETTIMEOFDAY,
    nr::GETITIMER,
    nr::RT_SIGACTION,
    nr::RT_SIGPROCMASK,
    nr::RT_SIGPENDING,
    nr::SIGALTSTACK,
    nr::SET_TID_ADDRESS,
    nr::SET_ROBUST_LIST,
    nr::GET_ROBUST_LIST,
    nr::GETRESUID,
    nr::GETRESGID,
    nr::GETGROUPS,
    nr::EPOLL_CTL,
    nr::GETSOCKNAME,
    nr::GETPEERNAME,
    nr::GETSOCKOPT,
    nr::RISCV_FLUSH_ICACHE,
    nr::MEMBARRIER,
    nr::RSEQ,
    nr::RISCV_HWPROBE,
    nr::GETPID,
    nr::GETTID,
    nr::SCHED_YIELD,
];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn host_region_ok(mem: &GuestMemory) {
    let lo = mem.base() as u64;
    let hi = lo + GUEST_SPACE + GUARD_SIZE;
    let text = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut cur = lo;
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let (range, perms) = (it.next().unwrap(), it.next().unwrap());
        let (s, e) = range.split_once('-').unwrap();
        let (s, e) = (
            u64::from_str_radix(s, 16).unwrap(),
            u64::from_str_radix(e, 16).unwrap(),
        );
        if e <= lo || s >= hi {
            continue;
        }
        assert!(s <= cur, "hole in the guest reservation at {cur:#x}");
        assert_ne!(
            perms.as_bytes()[2],
            b'x',
            "executable host mapping in the guest region"
        );
        cur = cur.max(e);
    }
    assert!(cur >= hi, "reservation ends early at {cur:#x}");
}

#[test]
fn hostile_arguments_never_crash() {
    let mem = Arc::new(GuestMemory::new().unwrap());
    mem.map_fixed(S, 4 * PAGE_SIZE, Prot::RW).unwrap();
    // No NUL anywhere: no path argument can name a real file.
    mem.write(S, &vec![b'A'; 4 * PAGE_SIZE as usize]).unwrap();
    mem.map_fixed(S + 8 * PAGE_SIZE, PAGE_SIZE, Prot::READ)
        .unwrap();
    let k = Kernel::new(
        mem.clone(),
        KernelConfig {
            exe_path: "/bin/true".into(),
            strace: false,
            brk_start: 0x100_0000,
        },
    );
    let values = [
        0,
        1,
        8,
        24,
        0x41,
        4096,
        S,
        S + 8,
        S + 4 * PAGE_SIZE - 3,
        S + 8 * PAGE_SIZE,
        0xdead_0000,
        GUEST_SPACE - 1,
        GUEST_SPACE + 8,
        u64::MAX - 7,
        u64::MAX,
        -100i64 as u64,
        0x7fff_ffff,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut calls = 0;
    for &n in SAFE {
        for _ in 0..400 {
            let mut st = RvState::default();
            st.x[17] = n;
            for i in 0..6 {
                st.x[10 + i] = values[(rng.next() % values.len() as u64) as usize];
            }
            let out = k.handle(&mut st);
            assert!(
                matches!(out, SysOutcome::Continue | SysOutcome::Killed(_)),
                "{n}: {out:?}"
            );
            calls += 1;
        }
    }
    // Every number riscv64 Linux does not define is ENOSYS.
    for n in (0..600).filter(|&n| nr::name(n).is_none()) {
        let mut st = RvState::default();
        st.x[17] = n;
        assert_eq!(k.handle(&mut st), SysOutcome::Continue);
        assert_eq!(st.x[10] as i64, -38, "{n}");
    }
    assert!(calls > 10_000);
    host_region_ok(&mem);
}
