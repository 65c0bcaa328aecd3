//! Process-level syscalls: identity, limits, accounting, scheduling, futex, wait.

use super::{host, lock, Kernel, SysResult};
use crate::memory::{Errno, STACK_SIZE};
use std::sync::atomic::Ordering;

pub(super) fn getres(k: &Kernel, nr: libc::c_long, a: &[u64; 6]) -> SysResult {
    let mut ids = [0u32; 3];
    let p = ids.as_mut_ptr();
    // SAFETY: three live host `uid_t`/`gid_t` slots.
    unsafe {
        host::sys(
            nr,
            [
                p as u64,
                p.wrapping_add(1) as u64,
                p.wrapping_add(2) as u64,
                0,
                0,
                0,
            ],
        )
    }?;
    for (i, id) in ids.iter().enumerate() {
        k.mem.write_u32(a[i], *id)?;
    }
    Ok(0)
}

pub(super) fn getgroups(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let size = a[0] as i32;
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let list = if size == 0 {
        0
    } else {
        k.out_ptr(a[1], size as u64 * 4)?
    };
    // SAFETY: NULL (size 0) or a checked guest `gid_t[size]`.
    unsafe { host::sys(libc::SYS_getgroups, [size as u64, list, 0, 0, 0, 0]) }
}

pub(super) fn set_robust_list(k: &Kernel, a: &[u64; 6]) -> SysResult {
    // sizeof(struct robust_list_head) on 64-bit.
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    *lock(&k.robust_list) = (a[0], a[1]);
    Ok(0)
}

pub(super) fn get_robust_list(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let pid = a[0] as i32;
    if pid != 0 && pid != k.pid() && pid != k.guest_tid() {
        return Err(Errno::EPERM);
    }
    let (head, len) = *lock(&k.robust_list);
    k.mem.write_u64(a[1], head)?;
    k.mem.write_u64(a[2], len)?;
    Ok(0)
}

/// The `struct utsname` the guest sees: the host's, with the guest's machine name.
pub fn guest_utsname(machine_name: &[u8]) -> Result<[u8; 390], Errno> {
    // SAFETY: `utsname` is a plain C struct of byte arrays; all-zero is valid.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a live host `struct utsname`.
    if unsafe { libc::uname(&mut u) } != 0 {
        return Err(Errno::last());
    }
    let mut out = [0u8; 390];
    let fields = [
        &u.sysname,
        &u.nodename,
        &u.release,
        &u.version,
        &u.machine,
        &u.domainname,
    ];
    for (i, f) in fields.iter().enumerate() {
        for (j, &c) in f.iter().take(65).enumerate() {
            out[i * 65 + j] = c as u8;
        }
    }
    let machine = &mut out[4 * 65..5 * 65];
    machine.fill(0);
    machine[..machine_name.len()].copy_from_slice(machine_name);
    Ok(out)
}

pub(super) fn uname(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let u = guest_utsname(if k.is_aarch64() {
        b"aarch64"
    } else if k.is_x86_64() {
        b"x86_64"
    } else {
        b"riscv64"
    })?;
    k.mem.write(a[0], &u)?;
    Ok(0)
}

pub(super) fn sysinfo(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let p = k.out_ptr(a[0], 112)?;
    // SAFETY: checked guest `struct sysinfo` (112 bytes, same layout on both).
    unsafe { host::sys(libc::SYS_sysinfo, [p, 0, 0, 0, 0, 0]) }
}

pub(super) fn getrusage(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let p = k.out_ptr(a[1], 144)?;
    // SAFETY: checked guest `struct rusage` (144 bytes, same layout on both).
    unsafe { host::sys(libc::SYS_getrusage, [a[0], p, 0, 0, 0, 0]) }
}

pub(super) fn times(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let p = k.opt_out_ptr(a[0], 32)?;
    // SAFETY: NULL or a checked guest `struct tms` (4 longs).
    unsafe { host::sys(libc::SYS_times, [p, 0, 0, 0, 0, 0]) }
}

/// Resources whose limits are emulated (changing the host's would constrain the
/// runtime itself, or the guest's value is defined by vmx).
fn emulated(res: u32) -> bool {
    matches!(
        res,
        libc::RLIMIT_STACK
            | libc::RLIMIT_AS
            | libc::RLIMIT_DATA
            | libc::RLIMIT_RSS
            | libc::RLIMIT_MEMLOCK
    )
}

fn host_rlimit(res: u32) -> Result<(u64, u64), Errno> {
    let mut r = [0u64; 2];
    // SAFETY: `r` is a live host `struct rlimit64`.
    unsafe {
        host::sys(
            libc::SYS_prlimit64,
            [0, u64::from(res), 0, r.as_mut_ptr() as u64, 0, 0],
        )
    }?;
    Ok((r[0], r[1]))
}

pub(super) fn prlimit64(k: &Kernel, pid: u64, res: u64, new: u64, old: u64) -> SysResult {
    let pid = pid as i32;
    if pid != 0 && pid != k.pid() {
        let newp = k.opt_in_ptr(new, 16)?;
        let oldp = k.opt_out_ptr(old, 16)?;
        // SAFETY: NULL or checked guest `struct rlimit64`s (same layout).
        return unsafe { host::sys(libc::SYS_prlimit64, [pid as u64, res, newp, oldp, 0, 0]) };
    }
    if res >= 16 {
        return Err(Errno::EINVAL);
    }
    let res = res as u32;
    let new_val = if new != 0 {
        let cur = k.mem.read_u64(new)?;
        let max = k.mem.read_u64(new + 8)?;
        if cur > max {
            return Err(Errno::EINVAL);
        }
        Some((cur, max))
    } else {
        None
    };
    let mut table = lock(&k.rlimits);
    let old_val = match table[res as usize] {
        Some(v) => v,
        None if res == libc::RLIMIT_STACK => (STACK_SIZE, host_rlimit(res)?.1),
        // The runtime lifted the host limit to reserve the guest space; the guest's own
        // limit is kept (and enforced) by the guest memory.
        None if res == libc::RLIMIT_AS => (k.mem.as_limit(), host_rlimit(res)?.1),
        None => host_rlimit(res)?,
    };
    if let Some(n) = new_val {
        if res == libc::RLIMIT_AS {
            k.mem.set_as_limit(n.0);
        }
        if emulated(res) {
            table[res as usize] = Some(n);
        } else {
            let r = [n.0, n.1];
            // SAFETY: `r` is a live host `struct rlimit64`.
            unsafe {
                host::sys(
                    libc::SYS_prlimit64,
                    [0, u64::from(res), r.as_ptr() as u64, 0, 0, 0],
                )
            }?;
        }
    }
    drop(table);
    if old != 0 {
        k.mem.write_u64(old, old_val.0)?;
        k.mem.write_u64(old + 8, old_val.1)?;
    }
    Ok(0)
}

pub(super) fn sched_getaffinity(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let len = a[1].min(1 << 16);
    let p = k.out_ptr(a[2], len)?;
    // SAFETY: checked writable guest cpu mask of `len` bytes.
    unsafe { host::sys(libc::SYS_sched_getaffinity, [a[0], len, p, 0, 0, 0]) }
}

pub(super) fn sched_setaffinity(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let len = a[1].min(1 << 16);
    let p = k.in_ptr(a[2], len)?;
    // SAFETY: checked readable guest cpu mask of `len` bytes.
    unsafe { host::sys(libc::SYS_sched_setaffinity, [a[0], len, p, 0, 0, 0]) }
}

pub(super) fn sched_getparam(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let p = k.out_ptr(a[1], 4)?;
    // SAFETY: checked guest `struct sched_param` (one int).
    unsafe { host::sys(libc::SYS_sched_getparam, [a[0], p, 0, 0, 0, 0]) }
}

pub(super) fn getcpu(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let cpu = k.opt_out_ptr(a[0], 4)?;
    let node = k.opt_out_ptr(a[1], 4)?;
    // SAFETY: NULL or checked guest `unsigned int`s; the cache argument is unused (NULL).
    unsafe { host::sys(libc::SYS_getcpu, [cpu, node, 0, 0, 0, 0]) }
}

pub(super) fn prctl(k: &Kernel, a: &[u64; 6]) -> SysResult {
    const PR_GET_SECCOMP: i32 = 21;
    const PR_MCE_KILL: i32 = 33;
    const PR_MCE_KILL_GET: i32 = 34;
    const PR_GET_TID_ADDRESS: i32 = 40;
    const PR_CAP_AMBIENT: i32 = 47;
    const PR_GET_SPECULATION_CTRL: i32 = 52;
    const PR_SET_PTRACER: i32 = 0x5961_6d61;
    let opt = a[0] as i32;
    match opt {
        libc::PR_SET_NAME => {
            let mut name = [0u8; 16];
            let s = match k.mem.read_cstr_checked(a[1], 15)? {
                Some(v) => v,
                None => {
                    let mut v = vec![0u8; 15];
                    k.mem.read(a[1], &mut v)?;
                    v
                }
            };
            name[..s.len()].copy_from_slice(&s);
            // SAFETY: `name` is a live NUL-terminated 16-byte host buffer.
            unsafe { host::sys(libc::SYS_prctl, [a[0], name.as_ptr() as u64, 0, 0, 0, 0]) }
        }
        libc::PR_GET_NAME => {
            let mut name = [0u8; 16];
            // SAFETY: `name` is a live 16-byte host buffer.
            unsafe {
                host::sys(
                    libc::SYS_prctl,
                    [a[0], name.as_mut_ptr() as u64, 0, 0, 0, 0],
                )
            }?;
            k.mem.write(a[1], &name)?;
            Ok(0)
        }
        libc::PR_GET_PDEATHSIG | libc::PR_GET_CHILD_SUBREAPER => {
            let p = k.out_ptr(a[1], 4)?;
            // SAFETY: checked guest `int`.
            unsafe { host::sys(libc::SYS_prctl, [a[0], p, 0, 0, 0, 0]) }
        }
        libc::PR_SET_PDEATHSIG
        | libc::PR_GET_DUMPABLE
        | libc::PR_SET_DUMPABLE
        | libc::PR_SET_CHILD_SUBREAPER
        | libc::PR_SET_NO_NEW_PRIVS
        | libc::PR_GET_NO_NEW_PRIVS
        | libc::PR_SET_TIMERSLACK
        | libc::PR_GET_TIMERSLACK
        | libc::PR_SET_THP_DISABLE
        | libc::PR_GET_THP_DISABLE
        | libc::PR_CAPBSET_READ
        | libc::PR_GET_KEEPCAPS
        | libc::PR_SET_KEEPCAPS
        | PR_GET_SECCOMP
        | PR_CAP_AMBIENT
        | PR_MCE_KILL
        | PR_MCE_KILL_GET
        | PR_GET_SPECULATION_CTRL
        | PR_SET_PTRACER => {
            // SAFETY: these options take only integer arguments.
            unsafe { host::sys(libc::SYS_prctl, [a[0], a[1], a[2], a[3], a[4], 0]) }
        }
        PR_GET_TID_ADDRESS => {
            k.mem.write_u64(a[1], k.clear_child_tid())?;
            Ok(0)
        }
        // A seccomp filter would judge the runtime's own system calls (with the
        // host's numbers), not the guest's: refused, as by a kernel without seccomp.
        _ => {
            k.report_variant(super::nr::PRCTL, a[0], "option");
            Err(Errno::EINVAL)
        }
    }
}

pub(super) fn personality(k: &Kernel, p: u64) -> SysResult {
    let old = k.persona.load(Ordering::Relaxed);
    if p as u32 != 0xffff_ffff {
        k.persona.store(p & 0xffff_ffff, Ordering::Relaxed);
    }
    Ok(old)
}

pub(super) fn getrandom(k: &Kernel, a: &[u64; 6]) -> SysResult {
    // GRND_NONBLOCK 1, GRND_RANDOM 2, GRND_INSECURE 4.
    if a[2] & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let (p, n) = k.out_buf(a[0], a[1])?;
    // SAFETY: checked writable guest range of `n` bytes.
    unsafe { host::sys(libc::SYS_getrandom, [p, n, a[2], 0, 0, 0]) }
}

pub(super) fn futex(k: &Kernel, a: &[u64; 6]) -> SysResult {
    const FUTEX_WAIT: u64 = 0;
    const FUTEX_WAKE: u64 = 1;
    const FUTEX_REQUEUE: u64 = 3;
    const FUTEX_CMP_REQUEUE: u64 = 4;
    const FUTEX_WAKE_OP: u64 = 5;
    const FUTEX_WAIT_BITSET: u64 = 9;
    const FUTEX_WAKE_BITSET: u64 = 10;
    let (uaddr, op, val, val3) = (a[0], a[1], a[2] as u32, a[5]);
    let cmd = op & !(128 | 256); // FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME
    if uaddr & 3 != 0 {
        return Err(Errno::EINVAL);
    }
    // Guest futexes are host futexes on the same bytes: private futex keys are the
    // host addresses, identical for every guest thread, and host wakeups just work.
    let (arg3, uaddr2) = match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if cmd == FUTEX_WAIT_BITSET && val3 as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            let cur = k.mem.read_u32(uaddr)?;
            if cur != val {
                return Err(Errno::EAGAIN);
            }
            if a[3] == 0 && k.threads.load(Ordering::Relaxed) <= 1 {
                // Nobody can ever wake this thread: Linux would hang forever.
                eprintln!(
                    "vmx: single-threaded guest waits forever on futex {uaddr:#x} (deadlock); failing with EDEADLK"
                );
                return Err(Errno::EDEADLK);
            }
            (k.opt_in_ptr(a[3], 16)?, 0)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            if cmd == FUTEX_WAKE_BITSET && val3 as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            (0, 0)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE | FUTEX_WAKE_OP => {
            if a[4] & 3 != 0 {
                return Err(Errno::EINVAL);
            }
            // `a[3]` is an integer (val2) for these.
            (a[3], k.out_ptr(a[4], 4)?)
        }
        _ => {
            k.report_variant(super::nr::FUTEX, cmd, "operation");
            return Err(Errno::ENOSYS);
        }
    };
    let host_uaddr = k.in_ptr(uaddr, 4)?;
    // SAFETY: `host_uaddr`/`uaddr2` are checked guest words, `arg3` is NULL, a checked
    // guest timespec or an integer, as the operation requires.
    unsafe {
        host::sys(
            libc::SYS_futex,
            [host_uaddr, op, u64::from(val), arg3, uaddr2, val3],
        )
    }
}

pub(super) fn wait4(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let status = k.opt_out_ptr(a[1], 4)?;
    let ru = k.opt_out_ptr(a[3], 144)?;
    // SAFETY: NULL or checked guest `int` and `struct rusage`.
    unsafe { host::sys(libc::SYS_wait4, [a[0], status, a[2], ru, 0, 0]) }
}

pub(super) fn waitid(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let info = k.opt_out_ptr(a[2], 128)?;
    let ru = k.opt_out_ptr(a[4], 144)?;
    // SAFETY: NULL or checked guest `siginfo_t` (128 bytes, same layout) and `rusage`.
    unsafe { host::sys(libc::SYS_waitid, [a[0], a[1], info, a[3], ru, 0]) }
}

thread_local! {
    /// Set in a forked child that must continue on a new stack (`clone` with a stack).
    pub(super) static CHILD_SP: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_PARENT_SETTID: u64 = 0x10_0000;
const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
const CLONE_CHILD_SETTID: u64 = 0x100_0000;

/// `clone` for new processes (fork, vfork, posix_spawn): a host fork. Threads
/// (`CLONE_VM` without `CLONE_VFORK`, `CLONE_THREAD`) are not supported here.
///
/// `CLONE_VM|CLONE_VFORK` (vfork, posix_spawn) is emulated by a plain fork: the child
/// runs on the given stack in a copy of the parent's memory, and the parent does not
/// wait for the child's exec. Errors the child stores in shared memory before failing
/// to exec are therefore not seen by the parent (it sees the child exit with 127).
pub(super) fn clone(k: &Kernel, a: &[u64; 6]) -> SysResult {
    let (flags, newsp, ptid, ctid) = (a[0], a[1], a[2], a[4]);
    if flags & CLONE_THREAD != 0 || (flags & CLONE_VM != 0 && flags & CLONE_VFORK == 0) {
        k.report_variant(super::nr::CLONE, flags, "thread creation, flags");
        return Err(Errno::ENOSYS);
    }
    let known = 0xff
        | CLONE_VM
        | CLONE_VFORK
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_SETTID
        | CLONE_CHILD_CLEARTID;
    if flags & !known != 0 {
        // CLONE_FILES/FS/SIGHAND sharing and namespaces cannot be had with a fork.
        k.report_variant(super::nr::CLONE, flags, "flags");
        return Err(Errno::EINVAL);
    }
    let exit_signal = flags & 0xff;
    let pid = if exit_signal == libc::SIGCHLD as u64 {
        // glibc's fork runs its atfork handlers (malloc & stdio locks) for the host.
        // SAFETY: fork has no memory-safety preconditions; the child only continues
        // this thread, which holds no runtime locks here.
        let r = unsafe { libc::fork() };
        if r < 0 {
            return Err(Errno::last());
        }
        r
    } else {
        // SAFETY: a fork-style clone (no CLONE_VM, no new stack, no pointers): the
        // child gets a copy of the address space and continues this thread.
        unsafe { host::sys(libc::SYS_clone, [exit_signal, 0, 0, 0, 0, 0]) }? as i32
    };
    if pid == 0 {
        k.after_fork();
        let me = k.pid() as u32;
        if flags & CLONE_CHILD_SETTID != 0 {
            let _ = k.mem.write_u32(ctid, me);
        }
        if flags & CLONE_CHILD_CLEARTID != 0 {
            k.set_clear_child_tid(ctid);
        }
        if newsp != 0 {
            CHILD_SP.with(|c| c.set(Some(newsp)));
        }
        return Ok(0);
    }
    if flags & CLONE_PARENT_SETTID != 0 {
        k.mem.write_u32(ptid, pid as u32)?;
    }
    Ok(pid as u64)
}

impl Kernel {
    /// In a forked child: the process id changed and the calling thread is the only
    /// (and so the main) thread.
    fn after_fork(&self) {
        self.pid.store(host::getpid(), Ordering::Relaxed);
        self.main_tid.store(host::gettid(), Ordering::Release);
        self.threads.store(1, Ordering::Relaxed);
        self.clear_pending_signals();
    }
}

/// Reads a NULL-terminated guest array of string pointers (argv, envp).
fn string_array(k: &Kernel, addr: u64) -> Result<Vec<Vec<u8>>, Errno> {
    const MAX_STRINGS: usize = 0x10_0000;
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    for i in 0..MAX_STRINGS as u64 {
        let p = k
            .mem
            .read_u64(addr.checked_add(i * 8).ok_or(Errno::EFAULT)?)?;
        if p == 0 {
            return Ok(out);
        }
        let s = k
            .mem
            .read_cstr_checked(p, crate::process::MAX_ARG_STRLEN)?
            .ok_or(Errno::E2BIG)?;
        total += s.len() + 1 + 8;
        if total > (STACK_SIZE / 4) as usize {
            return Err(Errno::E2BIG);
        }
        out.push(s);
    }
    Err(Errno::E2BIG)
}

/// Whether `path` is an ELF file for a guest ISA vmx translates (riscv64, aarch64).
fn is_guest_elf(path: &std::path::Path) -> bool {
    use std::io::Read;
    const EM_AARCH64: u16 = 183;
    const EM_RISCV: u16 = 243;
    let mut h = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut h))
        .is_ok()
        && h[..4] == *b"\x7fELF"
        && matches!(u16::from_le_bytes([h[18], h[19]]), EM_AARCH64 | EM_RISCV)
}

/// `execve`: a riscv64 or aarch64 program goes to the exec handler (vmx runs it);
/// anything else (host programs, scripts) is executed by the host kernel, as qemu-user
/// does.
pub(super) fn execve(k: &Kernel, a: &[u64; 6]) -> SysResult {
    use std::os::unix::ffi::OsStrExt;
    let path = k.host_path(k.path(a[0])?);
    let argv = string_array(k, a[1])?;
    let envp = string_array(k, a[2])?;
    let host_path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.as_bytes()));
    if let Some(h) = k.exec_handler.get() {
        // The program itself (`/proc/self/exe`) may be the .aot it runs from.
        if is_guest_elf(host_path) || host_path == k.cfg.exe_path {
            return Err(h(host_path, &argv, &envp));
        }
    }
    let to_c = |v: &[Vec<u8>]| -> Result<Vec<std::ffi::CString>, Errno> {
        v.iter()
            .map(|s| std::ffi::CString::new(s.clone()).map_err(|_| Errno::EINVAL))
            .collect()
    };
    let (cargv, cenvp) = (to_c(&argv)?, to_c(&envp)?);
    let ptrs = |v: &[std::ffi::CString]| -> Vec<*const libc::c_char> {
        v.iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    };
    let (pargv, penvp) = (ptrs(&cargv), ptrs(&cenvp));
    // SAFETY: NUL-terminated host strings and NULL-terminated arrays of them, all
    // alive across the call (which only returns on failure).
    unsafe {
        host::sys(
            libc::SYS_execve,
            [
                path.as_ptr() as u64,
                pargv.as_ptr() as u64,
                penvp.as_ptr() as u64,
                0,
                0,
                0,
            ],
        )
    }
}
