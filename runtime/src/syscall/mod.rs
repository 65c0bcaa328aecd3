//! The Linux syscall layer for riscv64 guests (the generic syscall table).
//!
//! [`Kernel::handle`] takes the number from `a7` and the arguments from `a0..a5`, runs
//! the call against the host kernel and writes the result (or `-errno`) to `a0`.
//! Guest file descriptors are host file descriptors; guest pointers are checked through
//! [`GuestMemory`] so a bad pointer is `-EFAULT`, never a host crash. Every syscall that
//! is not implemented returns `-ENOSYS` and is reported once (stderr with `--strace`,
//! `tracing` otherwise).
//!
//! Guest ABI notes (riscv64 vs the x86-64 host), verified against both kernels' headers:
//! errno values, `open` flags, `mmap`/`mprotect`/`madvise` constants, `ioctl` numbers,
//! `struct termios` (the kernel's 36-byte one), `timespec`, `iovec`, `utsname`,
//! `rlimit`, `sysinfo`, `rusage`, `statfs`, `statx`, `flock`, `stack_t`, `siginfo` and
//! signal numbers are identical. Different: `struct stat` (riscv64 uses the 128-byte
//! generic layout, converted here) and `struct epoll_event` (packed 12 bytes on x86-64,
//! 16 bytes on riscv64, converted here). The guest `struct sigaction` has no restorer.

mod fs;
mod host;
mod mm;
mod net;
pub mod nr;
mod proc;
pub mod signal;
mod strace;
mod time;
pub mod x86_64;

use std::collections::HashSet;
use std::ffi::CString;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::memory::Errno;
use crate::memory::GuestMemory;
pub use signal::{AltStack, SigAction, ThreadSignals};
use vmx_lifter::state::RvState;

/// Result of one syscall handler: the value for `a0`, or an error (`-errno` in `a0`).
pub type SysResult = Result<u64, Errno>;

/// What the caller must do after a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysOutcome {
    /// Resume the guest (the result is in `a0`).
    Continue,
    /// `exit`/`exit_group`: flush and exit the process with this status (0..=255).
    Exit(i32),
    /// The guest sent itself a signal whose action is the default "terminate" (e.g.
    /// `abort()`): die by this host signal the same way.
    Killed(i32),
}

/// Internal result of a handler that may end the process.
enum Flow {
    Ret(u64),
    Exit(i32),
    Killed(i32),
}

/// How the kernel is set up.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// What `/proc/self/exe` means for the guest (the guest executable).
    pub exe_path: PathBuf,
    /// Print one line per syscall to stderr (qemu `-strace` style).
    pub strace: bool,
    /// Initial program break (page-aligned end of the image).
    pub brk_start: u64,
}

/// Runs a guest `execve` of a riscv64 executable: receives the host path of the
/// program, the guest's argv and envp, and replaces the process (typically by
/// executing vmx itself on the program). Returns only on failure, with the errno for
/// the guest.
pub type ExecHandler = Box<dyn Fn(&std::path::Path, &[Vec<u8>], &[Vec<u8>]) -> Errno + Send + Sync>;

/// The guest sysroot (`vmx exec -L DIR`, `VMX_LD_PREFIX`), set once before the guest runs.
static SYSROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes guest lookups of absolute paths (open, stat, access, readlink, execve) try
/// `dir` + path first, as qemu-user's `-L`/`QEMU_LD_PREFIX` does: a cross toolchain's
/// sysroot supplies the guest's `/etc`, `/usr/share` or `/lib` files. Paths under
/// `/proc` and `/dev` are never redirected. Call before the guest runs (later calls are
/// ignored).
pub fn set_sysroot(dir: PathBuf) {
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let _ = SYSROOT.set(dir);
}

/// Linux's `PATH_MAX`.
const PATH_MAX: usize = 4096;
/// Linux's `MAX_RW_COUNT`: the most one read/write transfers.
const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// The emulated Linux kernel of one guest process.
pub struct Kernel {
    mem: Arc<GuestMemory>,
    cfg: KernelConfig,
    /// Host (= guest) process id (changes in a forked child).
    pid: AtomicI32,
    /// Current program break (guest-visible value, not page-aligned).
    brk: Mutex<u64>,
    signals: Mutex<signal::SignalState>,
    /// The guest has a SIGSEGV or SIGBUS handler ([`Kernel::handles_faults`]).
    fault_handlers: AtomicBool,
    icache_flush: AtomicBool,
    /// Syscall numbers already reported as unimplemented.
    reported: Mutex<HashSet<u64>>,
    /// Runtime-owned host fds the guest may not close or replace.
    protected_fds: Mutex<Vec<i32>>,
    /// Guest-visible resource limits that are emulated rather than passed through.
    rlimits: Mutex<[Option<(u64, u64)>; 16]>,
    robust_list: Mutex<(u64, u64)>,
    /// Number of live guest threads (futex deadlock detection).
    threads: AtomicUsize,
    /// `personality` value.
    persona: AtomicU64,
    /// Runs a guest `execve` of a guest-ISA executable (set by the CLI).
    exec_handler: std::sync::OnceLock<ExecHandler>,
    /// Host tid of the guest's main thread, which the guest sees as tid == pid
    /// (0 until the first syscall).
    main_tid: AtomicI32,
    /// The guest is AArch64 ([`Kernel::set_aarch64`]).
    aarch64: AtomicBool,
    /// The guest is x86-64 ([`Kernel::set_x86_64`]).
    x86_64: AtomicBool,
}

/// The calling host thread's tid.
pub fn host_gettid() -> i32 {
    host::gettid()
}

thread_local! {
    /// The calling guest thread's `clear_child_tid` address.
    static CLEAR_CHILD_TID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Kernel {
    /// A kernel for the guest whose memory is `mem`.
    pub fn new(mem: Arc<GuestMemory>, mut cfg: KernelConfig) -> Kernel {
        if let Ok(p) = std::fs::canonicalize(&cfg.exe_path) {
            cfg.exe_path = p;
        }
        let brk = cfg.brk_start;
        Kernel {
            mem,
            cfg,
            pid: AtomicI32::new(host::getpid()),
            brk: Mutex::new(brk),
            signals: Mutex::new(signal::SignalState::new()),
            fault_handlers: AtomicBool::new(false),
            icache_flush: AtomicBool::new(false),
            reported: Mutex::new(HashSet::new()),
            protected_fds: Mutex::new(Vec::new()),
            rlimits: Mutex::new([None; 16]),
            robust_list: Mutex::new((0, 0)),
            threads: AtomicUsize::new(1),
            persona: AtomicU64::new(0),
            main_tid: AtomicI32::new(0),
            aarch64: AtomicBool::new(false),
            x86_64: AtomicBool::new(false),
            exec_handler: std::sync::OnceLock::new(),
        }
    }

    /// The guest memory this kernel serves.
    pub fn mem(&self) -> &Arc<GuestMemory> {
        &self.mem
    }

    pub fn config(&self) -> &KernelConfig {
        &self.cfg
    }

    /// Runs the syscall in `st` (number in `a7`, arguments in `a0..a5`) and stores the
    /// result in `a0`.
    pub fn handle(&self, st: &mut RvState) -> SysOutcome {
        let nr = st.x[17];
        let args = [st.x[10], st.x[11], st.x[12], st.x[13], st.x[14], st.x[15]];
        signal::CURRENT_SP.with(|c| c.set(st.x[2]));
        let (ret, out) = self.syscall(nr, args);
        if !matches!(out, SysOutcome::Exit(_)) {
            st.x[10] = ret;
        }
        // A forked child (clone with a new stack) continues on that stack.
        if let Some(sp) = proc::CHILD_SP.with(|c| c.take()) {
            st.x[2] = sp;
        }
        out
    }

    /// [`Kernel::handle`] for guests whose registers are not an `RvState` (AArch64:
    /// number in `x8`, arguments in `x0..x5`): `sp` is the guest stack pointer. Returns
    /// the result-register value, what to do, and the stack pointer a forked child
    /// continues on (clone with a new stack), if any.
    pub fn handle_args(&self, nr: u64, args: [u64; 6], sp: u64) -> (u64, SysOutcome, Option<u64>) {
        signal::CURRENT_SP.with(|c| c.set(sp));
        let (ret, out) = self.syscall(nr, args);
        (ret, out, proc::CHILD_SP.with(|c| c.take()))
    }

    /// Selects the AArch64 variants of the few ABI details that differ from riscv64
    /// (`uname` machine, `struct sigaction` with `sa_restorer`). Call before the guest
    /// runs.
    pub fn set_aarch64(&self) {
        self.aarch64.store(true, Ordering::Relaxed);
    }

    /// Selects the x86-64 variants of the ABI details that differ from riscv64
    /// (`uname` machine, `struct stat`, packed `struct epoll_event`, `struct sigaction`
    /// with `sa_restorer`); numbers come through [`x86_64::to_generic`]. Call before
    /// the guest runs.
    pub fn set_x86_64(&self) {
        self.x86_64.store(true, Ordering::Relaxed);
    }

    /// Is the guest x86-64 (see [`Kernel::set_x86_64`])?
    pub fn is_x86_64(&self) -> bool {
        self.x86_64.load(Ordering::Relaxed)
    }

    /// Is the guest AArch64 (see [`Kernel::set_aarch64`])?
    pub fn is_aarch64(&self) -> bool {
        self.aarch64.load(Ordering::Relaxed)
    }

    /// Runs generic-table syscall `nr` with `args`; returns the `a0` value and what to do.
    /// (ISA-neutral: an AArch64 front end uses the same table with `x8`/`x0..x5`.)
    pub fn syscall(&self, nr: u64, args: [u64; 6]) -> (u64, SysOutcome) {
        let pre = self
            .cfg
            .strace
            .then(|| strace::format_call(self, nr, &args));
        let res = self.dispatch(nr, &args);
        let (ret, out) = match res {
            Ok(Flow::Ret(v)) => (v, SysOutcome::Continue),
            Ok(Flow::Exit(c)) => (0, SysOutcome::Exit(c)),
            Ok(Flow::Killed(s)) => (0, SysOutcome::Killed(s)),
            Err(e) => (e.to_ret(), SysOutcome::Continue),
        };
        if let Some(pre) = pre {
            let line = match out {
                SysOutcome::Exit(_) => format!("{} {pre} = ?\n", self.pid()),
                SysOutcome::Killed(s) => format!(
                    "{} {pre} = 0\n--- killed by signal {s} ({}) ---\n",
                    self.pid(),
                    signal::name(s)
                ),
                SysOutcome::Continue => {
                    format!("{} {pre} = {}\n", self.pid(), strace::format_ret(nr, ret))
                }
            };
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        (ret, out)
    }

    /// Runs `f` as syscall `nr` for a call an engine services itself (`clone` of a
    /// thread), printing its `--strace` line; `f` returns the result register.
    pub fn traced(&self, nr: u64, args: [u64; 6], f: impl FnOnce() -> u64) -> u64 {
        let pre = self
            .cfg
            .strace
            .then(|| strace::format_call(self, nr, &args));
        let ret = f();
        if let Some(pre) = pre {
            let line = format!("{} {pre} = {}\n", self.pid(), strace::format_ret(nr, ret));
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        ret
    }

    /// Prints the `--strace` line of a call that does not return (a thread's `exit`).
    pub fn trace_no_return(&self, nr: u64, args: [u64; 6]) {
        if self.cfg.strace {
            let line = format!("{} {}\n", self.pid(), strace::format_call(self, nr, &args));
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }

    /// Has the guest asked for an instruction-cache flush (`riscv_flush_icache`) since
    /// the last call? The interpreter / dispatcher then drops stale decoded code.
    pub fn take_icache_flush(&self) -> bool {
        self.icache_flush.swap(false, Ordering::AcqRel)
    }

    /// The guest's process id (the host's).
    pub fn pid(&self) -> i32 {
        self.pid.load(Ordering::Relaxed)
    }

    /// Installs the handler for guest `execve` of riscv64 programs (once). Without
    /// one, such an `execve` goes to the host kernel like any other (which runs it
    /// only if a binfmt_misc handler is registered) — the same as qemu-user.
    pub fn set_exec_handler(&self, h: ExecHandler) {
        let _ = self.exec_handler.set(h);
    }

    /// The current program break.
    pub fn brk(&self) -> u64 {
        *lock(&self.brk)
    }

    /// Marks a runtime-owned host fd the guest must not close or replace.
    pub fn protect_fd(&self, fd: i32) {
        let mut p = lock(&self.protected_fds);
        if !p.contains(&fd) {
            p.push(fd);
        }
    }

    fn is_protected(&self, fd: i32) -> bool {
        lock(&self.protected_fds).contains(&fd)
    }

    /// The calling thread's `clear_child_tid` address (from `set_tid_address` or
    /// `CLONE_CHILD_CLEARTID`; 0 if none).
    pub fn clear_child_tid(&self) -> u64 {
        CLEAR_CHILD_TID.with(|c| c.get())
    }

    /// Sets the calling thread's `clear_child_tid` address.
    pub fn set_clear_child_tid(&self, addr: u64) {
        CLEAR_CHILD_TID.with(|c| c.set(addr));
    }

    /// A guest thread's `exit`: unless it is the last thread (then `false`: the
    /// process exits), zero its `clear_child_tid` word and wake a `pthread_join`er, as
    /// Linux does, count it out and return `true`; the caller ends the host thread.
    pub fn end_thread(&self) -> bool {
        let mut n = self.threads.load(Ordering::Acquire);
        loop {
            if n <= 1 {
                return false;
            }
            match self
                .threads
                .compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => n = now,
            }
        }
        let clear = self.clear_child_tid();
        if clear != 0 && self.mem.write_u32(clear, 0).is_ok() {
            if let Ok(p) = self.in_ptr(clear, 4) {
                // SAFETY: a checked guest word; FUTEX_WAKE reads nothing else.
                let _ = unsafe { host::sys(libc::SYS_futex, [p, 1, 1, 0, 0, 0]) };
            }
        }
        true
    }

    /// A guest thread was created (for futex deadlock detection and `exit`).
    pub fn thread_started(&self) {
        self.threads.fetch_add(1, Ordering::AcqRel);
    }

    /// Undoes [`thread_started`](Self::thread_started) for a thread that never ran.
    pub fn thread_failed(&self) {
        self.threads.fetch_sub(1, Ordering::AcqRel);
    }

    /// The calling thread's guest tid. The guest's main thread (the first to make a
    /// syscall, or the one named by [`set_main_thread`](Self::set_main_thread)) has
    /// tid == pid, as on Linux, even though the runtime runs it on another host thread.
    pub fn guest_tid(&self) -> i32 {
        let host = host::gettid();
        let main =
            match self
                .main_tid
                .compare_exchange(0, host, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => host,
                Err(m) => m,
            };
        if host == main {
            self.pid()
        } else {
            host
        }
    }

    /// Declares the calling host thread to be the guest's main thread.
    pub fn set_main_thread(&self) {
        self.main_tid.store(host::gettid(), Ordering::Release);
    }

    /// The host tid for a guest tid.
    fn host_tid(&self, guest_tid: i32) -> i32 {
        match self.main_tid.load(Ordering::Acquire) {
            m if guest_tid == self.pid() && m != 0 => m,
            _ => guest_tid,
        }
    }

    /// Reports an unimplemented syscall (once per number) and returns `ENOSYS`.
    fn enosys(&self, nr: u64) -> Result<Flow, Errno> {
        self.report_once(nr, "unimplemented syscall");
        Err(Errno::ENOSYS)
    }

    fn report_once(&self, key: u64, what: &str) {
        if lock(&self.reported).insert(key) {
            let name = nr::name(key & 0xffff).unwrap_or("?");
            tracing::warn!("{what} {name} ({})", key & 0xffff);
            if self.cfg.strace {
                eprintln!("vmx: {what} {name} ({}) -> ENOSYS", key & 0xffff);
            }
        }
    }

    /// Reports an unsupported variant (e.g. an ioctl request) once.
    fn report_variant(&self, nr: u64, variant: u64, what: &str) {
        if lock(&self.reported).insert((variant << 16) | nr | (1 << 63)) {
            let name = nr::name(nr).unwrap_or("?");
            tracing::warn!("unsupported {name} {what} {variant:#x}");
            if self.cfg.strace {
                eprintln!("vmx: unsupported {name} {what} {variant:#x}");
            }
        }
    }

    // ---- guest argument helpers ----

    /// A guest path argument (`ENAMETOOLONG` past `PATH_MAX`, `EFAULT` on bad pointers).
    fn path(&self, addr: u64) -> Result<CString, Errno> {
        match self.mem.read_cstr_checked(addr, PATH_MAX - 1)? {
            Some(v) => CString::new(v).map_err(|_| Errno::EINVAL),
            None => Err(Errno::ENAMETOOLONG),
        }
    }

    /// Is `p` one of the names of the guest's own executable in /proc?
    fn is_proc_self(&self, p: &[u8], leaf: &[u8]) -> bool {
        let Some(rest) = p.strip_prefix(b"/proc/") else {
            return false;
        };
        let Some(slash) = rest.iter().position(|&c| c == b'/') else {
            return false;
        };
        let (who, tail) = (&rest[..slash], &rest[slash + 1..]);
        tail == leaf
            && (who == b"self" || who == b"thread-self" || who == self.pid().to_string().as_bytes())
    }

    /// The path the host should see for a guest path that only looks up (open, stat,
    /// access, readlink, execve): `/proc/self/exe` becomes the guest executable, and
    /// with a sysroot ([`set_sysroot`]) an absolute path that exists under it is taken
    /// from there (qemu-user's `-L`).
    fn host_path(&self, p: CString) -> CString {
        use std::os::unix::ffi::OsStrExt;
        if self.is_proc_self(p.as_bytes(), b"exe") {
            if let Ok(c) = CString::new(self.cfg.exe_path.as_os_str().as_bytes()) {
                return c;
            }
        }
        if let Some(root) = SYSROOT.get() {
            let b = p.as_bytes();
            if b.starts_with(b"/") && !b.starts_with(b"/proc/") && !b.starts_with(b"/dev/") {
                let mut joined = root.as_os_str().as_bytes().to_vec();
                joined.extend_from_slice(b);
                if let Ok(c) = CString::new(joined) {
                    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
                    // SAFETY: `c` is a NUL-terminated host string and `st` a host
                    // `struct stat` the call fills.
                    if unsafe { libc::lstat(c.as_ptr(), st.as_mut_ptr()) } == 0 {
                        return c;
                    }
                }
            }
        }
        p
    }

    /// Host pointer to `len` guest bytes the kernel will write (strict check).
    fn out_ptr(&self, addr: u64, len: u64) -> Result<u64, Errno> {
        if len == 0 {
            return Ok(self.mem.base() as u64);
        }
        Ok(self.mem.host_ptr(addr, len, true)? as u64)
    }

    /// Host pointer to `len` guest bytes the kernel will read (strict check).
    fn in_ptr(&self, addr: u64, len: u64) -> Result<u64, Errno> {
        if len == 0 {
            return Ok(self.mem.base() as u64);
        }
        Ok(self.mem.host_ptr(addr, len, false)? as u64)
    }

    /// Like [`out_ptr`](Self::out_ptr) but a NULL guest pointer stays NULL.
    fn opt_out_ptr(&self, addr: u64, len: u64) -> Result<u64, Errno> {
        if addr == 0 {
            Ok(0)
        } else {
            self.out_ptr(addr, len)
        }
    }

    /// Like [`in_ptr`](Self::in_ptr) but a NULL guest pointer stays NULL.
    fn opt_in_ptr(&self, addr: u64, len: u64) -> Result<u64, Errno> {
        if addr == 0 {
            Ok(0)
        } else {
            self.in_ptr(addr, len)
        }
    }

    /// A data buffer for read-like calls: the writable prefix of `[addr, addr+len)`
    /// (Linux transfers up to the first bad byte). `EFAULT` if none of it is writable.
    fn out_buf(&self, addr: u64, len: u64) -> Result<(u64, u64), Errno> {
        let len = len.min(MAX_RW_COUNT);
        if len == 0 {
            return self.empty_buf(addr);
        }
        let n = self.mem.writable_len(addr, len);
        if n == 0 {
            return Err(Errno::EFAULT);
        }
        Ok((self.mem.host_ptr(addr, n, true)? as u64, n))
    }

    /// A zero-length buffer: like Linux's `access_ok`, the address must still lie in the
    /// user address space (here: the guest space), though nothing is accessed.
    fn empty_buf(&self, addr: u64) -> Result<(u64, u64), Errno> {
        if addr > vmx_lifter::state::GUEST_SPACE {
            return Err(Errno::EFAULT);
        }
        Ok((self.mem.base() as u64, 0))
    }

    /// A data buffer for write-like calls: the readable prefix of `[addr, addr+len)`.
    fn in_buf(&self, addr: u64, len: u64) -> Result<(u64, u64), Errno> {
        let len = len.min(MAX_RW_COUNT);
        if len == 0 {
            return self.empty_buf(addr);
        }
        let n = self.mem.readable_len(addr, len);
        if n == 0 {
            return Err(Errno::EFAULT);
        }
        Ok((self.mem.host_ptr(addr, n, false)? as u64, n))
    }

    fn dispatch(&self, nr: u64, a: &[u64; 6]) -> Result<Flow, Errno> {
        use self::nr::*;
        let r = match nr {
            // files
            READ => fs::read(self, a),
            WRITE => fs::write(self, a),
            READV => fs::readv(self, a, false),
            WRITEV => fs::readv(self, a, true),
            PREAD64 => fs::pread(self, a, false),
            PWRITE64 => fs::pread(self, a, true),
            PREADV => fs::preadv(self, a, false, false),
            PWRITEV => fs::preadv(self, a, true, false),
            PREADV2 => fs::preadv(self, a, false, true),
            PWRITEV2 => fs::preadv(self, a, true, true),
            OPENAT => fs::openat(self, a),
            CLOSE => fs::close(self, a),
            CLOSE_RANGE => fs::close_range(self, a),
            LSEEK => host::int3(libc::SYS_lseek, a[0], a[1], a[2]),
            FSTAT => fs::fstat(self, a),
            NEWFSTATAT => fs::newfstatat(self, a),
            STATX => fs::statx(self, a),
            STATFS => fs::statfs(self, a),
            FSTATFS => fs::fstatfs(self, a),
            FACCESSAT => fs::faccessat(self, a, false),
            FACCESSAT2 => fs::faccessat(self, a, true),
            GETDENTS64 => fs::getdents64(self, a),
            READLINKAT => fs::readlinkat(self, a),
            GETCWD => fs::getcwd(self, a),
            CHDIR => fs::path1(self, libc::SYS_chdir, a[0]),
            FCHDIR => host::int3(libc::SYS_fchdir, a[0], 0, 0),
            CHROOT => fs::path1(self, libc::SYS_chroot, a[0]),
            MKDIRAT => fs::dirfd_path(self, libc::SYS_mkdirat, a),
            MKNODAT => fs::dirfd_path(self, libc::SYS_mknodat, a),
            UNLINKAT => fs::dirfd_path(self, libc::SYS_unlinkat, a),
            FCHMODAT => fs::dirfd_path(self, libc::SYS_fchmodat, a),
            FCHOWNAT => fs::dirfd_path(self, libc::SYS_fchownat, a),
            SYMLINKAT => fs::symlinkat(self, a),
            LINKAT => fs::two_paths(self, libc::SYS_linkat, a),
            RENAMEAT2 => fs::two_paths(self, libc::SYS_renameat2, a),
            TRUNCATE => fs::path1_int(self, libc::SYS_truncate, a),
            FTRUNCATE => host::int3(libc::SYS_ftruncate, a[0], a[1], 0),
            FALLOCATE => host::int(libc::SYS_fallocate, *a),
            FADVISE64 => host::int(libc::SYS_fadvise64, *a),
            READAHEAD => host::int3(libc::SYS_readahead, a[0], a[1], a[2]),
            SYNC_FILE_RANGE => host::int(libc::SYS_sync_file_range, *a),
            FSYNC => host::int3(libc::SYS_fsync, a[0], 0, 0),
            FDATASYNC => host::int3(libc::SYS_fdatasync, a[0], 0, 0),
            SYNC => host::int3(libc::SYS_sync, 0, 0, 0),
            SYNCFS => host::int3(libc::SYS_syncfs, a[0], 0, 0),
            FCHMOD => host::int3(libc::SYS_fchmod, a[0], a[1], 0),
            FCHOWN => host::int3(libc::SYS_fchown, a[0], a[1], a[2]),
            FLOCK => host::int3(libc::SYS_flock, a[0], a[1], 0),
            UTIMENSAT => fs::utimensat(self, a),
            UMASK => host::int3(libc::SYS_umask, a[0], 0, 0),
            DUP => host::int3(libc::SYS_dup, a[0], 0, 0),
            DUP3 => fs::dup3(self, a),
            FCNTL => fs::fcntl(self, a),
            PIPE2 => fs::pipe2(self, a),
            IOCTL => fs::ioctl(self, a),
            SENDFILE => fs::sendfile(self, a),
            COPY_FILE_RANGE => fs::copy_file_range(self, a),
            SPLICE => fs::splice(self, a),
            TEE => host::int(libc::SYS_tee, *a),
            MEMFD_CREATE => fs::memfd_create(self, a),
            EVENTFD2 => host::int3(libc::SYS_eventfd2, a[0], a[1], 0),
            PPOLL => fs::ppoll(self, a),
            PSELECT6 => fs::pselect6(self, a),
            EPOLL_CREATE1 => host::int3(libc::SYS_epoll_create1, a[0], 0, 0),
            EPOLL_CTL => fs::epoll_ctl(self, a),
            EPOLL_PWAIT => fs::epoll_pwait(self, a, false),
            EPOLL_PWAIT2 => fs::epoll_pwait(self, a, true),
            INOTIFY_INIT1 => host::int3(libc::SYS_inotify_init1, a[0], 0, 0),
            INOTIFY_ADD_WATCH => fs::inotify_add_watch(self, a),
            INOTIFY_RM_WATCH => host::int3(libc::SYS_inotify_rm_watch, a[0], a[1], 0),
            TIMERFD_CREATE => host::int3(libc::SYS_timerfd_create, a[0], a[1], 0),
            TIMERFD_SETTIME => time::timerfd_settime(self, a),
            TIMERFD_GETTIME => time::timerfd_gettime(self, a),
            // memory
            BRK => Ok(mm::brk(self, a[0])),
            MMAP => mm::mmap(self, a),
            MUNMAP => mm::munmap(self, a),
            MPROTECT => mm::mprotect(self, a),
            MADVISE => mm::madvise(self, a),
            MREMAP => mm::mremap(self, a),
            MSYNC => mm::msync(self, a),
            MINCORE => mm::mincore(self, a),
            MLOCK | MUNLOCK => mm::mlock(self, a),
            MLOCK2 => mm::mlock2(self, a),
            MLOCKALL => mm::mlockall(a),
            MUNLOCKALL => Ok(0),
            MEMBARRIER => return self.enosys(nr),
            RISCV_HWPROBE => return self.enosys(nr),
            RISCV_FLUSH_ICACHE => {
                if a[2] & !1 != 0 {
                    Err(Errno::EINVAL)
                } else {
                    self.icache_flush.store(true, Ordering::Release);
                    Ok(0)
                }
            }
            // process
            EXIT | EXIT_GROUP => return Ok(Flow::Exit((a[0] & 0xff) as i32)),
            GETPID => Ok(self.pid() as u64),
            GETPPID => host::int3(libc::SYS_getppid, 0, 0, 0),
            GETTID => Ok(self.guest_tid() as u64),
            GETUID => host::int3(libc::SYS_getuid, 0, 0, 0),
            GETEUID => host::int3(libc::SYS_geteuid, 0, 0, 0),
            GETGID => host::int3(libc::SYS_getgid, 0, 0, 0),
            GETEGID => host::int3(libc::SYS_getegid, 0, 0, 0),
            GETRESUID => proc::getres(self, libc::SYS_getresuid, a),
            GETRESGID => proc::getres(self, libc::SYS_getresgid, a),
            GETGROUPS => proc::getgroups(self, a),
            SETUID => host::int3(libc::SYS_setuid, a[0], 0, 0),
            SETGID => host::int3(libc::SYS_setgid, a[0], 0, 0),
            SETREUID => host::int3(libc::SYS_setreuid, a[0], a[1], 0),
            SETREGID => host::int3(libc::SYS_setregid, a[0], a[1], 0),
            SETRESUID => host::int3(libc::SYS_setresuid, a[0], a[1], a[2]),
            SETRESGID => host::int3(libc::SYS_setresgid, a[0], a[1], a[2]),
            SETFSUID => host::int3(libc::SYS_setfsuid, a[0], 0, 0),
            SETFSGID => host::int3(libc::SYS_setfsgid, a[0], 0, 0),
            GETPGID => host::int3(libc::SYS_getpgid, a[0], 0, 0),
            SETPGID => host::int3(libc::SYS_setpgid, a[0], a[1], 0),
            GETSID => host::int3(libc::SYS_getsid, a[0], 0, 0),
            SETSID => host::int3(libc::SYS_setsid, 0, 0, 0),
            GETPRIORITY => host::int3(libc::SYS_getpriority, a[0], a[1], 0),
            SETPRIORITY => host::int3(libc::SYS_setpriority, a[0], a[1], a[2]),
            SET_TID_ADDRESS => {
                self.set_clear_child_tid(a[0]);
                Ok(self.guest_tid() as u64)
            }
            SET_ROBUST_LIST => proc::set_robust_list(self, a),
            GET_ROBUST_LIST => proc::get_robust_list(self, a),
            // As on a kernel built without CONFIG_RSEQ: glibc (2.35+, e.g. arm64's
            // start-up) registers rseq and quietly carries on without it.
            RSEQ => return Err(Errno::ENOSYS),
            UNAME => proc::uname(self, a),
            SYSINFO => proc::sysinfo(self, a),
            GETRUSAGE => proc::getrusage(self, a),
            TIMES => proc::times(self, a),
            PRLIMIT64 => proc::prlimit64(self, a[0], a[1], a[2], a[3]),
            GETRLIMIT => proc::prlimit64(self, 0, a[0], 0, a[1]),
            SETRLIMIT => proc::prlimit64(self, 0, a[0], a[1], 0),
            SCHED_GETAFFINITY => proc::sched_getaffinity(self, a),
            SCHED_SETAFFINITY => proc::sched_setaffinity(self, a),
            SCHED_YIELD => host::int3(libc::SYS_sched_yield, 0, 0, 0),
            SCHED_GETSCHEDULER => host::int3(libc::SYS_sched_getscheduler, a[0], 0, 0),
            SCHED_GETPARAM => proc::sched_getparam(self, a),
            SCHED_GET_PRIORITY_MAX => host::int3(libc::SYS_sched_get_priority_max, a[0], 0, 0),
            SCHED_GET_PRIORITY_MIN => host::int3(libc::SYS_sched_get_priority_min, a[0], 0, 0),
            GETCPU => proc::getcpu(self, a),
            PRCTL => proc::prctl(self, a),
            PERSONALITY => proc::personality(self, a[0]),
            GETRANDOM => proc::getrandom(self, a),
            FUTEX => proc::futex(self, a),
            WAIT4 => proc::wait4(self, a),
            CLONE => proc::clone(self, a),
            EXECVE => proc::execve(self, a),
            WAITID => proc::waitid(self, a),
            // signals
            RT_SIGACTION => signal::rt_sigaction(self, a),
            RT_SIGPROCMASK => return signal::rt_sigprocmask(self, a),
            RT_SIGPENDING => signal::rt_sigpending(self, a),
            RT_SIGSUSPEND => return signal::rt_sigsuspend(self, a),
            RT_SIGTIMEDWAIT => signal::rt_sigtimedwait(self, a),
            SIGALTSTACK => signal::sigaltstack(self, a),
            KILL => return signal::kill(self, a),
            TKILL => return signal::tkill(self, a[0], a[1]),
            TGKILL => return signal::tgkill(self, a),
            // time
            CLOCK_GETTIME => time::clock_gettime(self, a),
            CLOCK_GETRES => time::clock_getres(self, a),
            CLOCK_SETTIME => time::clock_settime(self, a),
            GETTIMEOFDAY => time::gettimeofday(self, a),
            NANOSLEEP => time::nanosleep(self, a),
            CLOCK_NANOSLEEP => time::clock_nanosleep(self, a),
            GETITIMER => time::getitimer(self, a),
            SETITIMER => time::setitimer(self, a),
            TIMER_CREATE => time::timer_create(self, a),
            TIMER_SETTIME => time::timer_settime(self, a),
            TIMER_GETTIME => time::timer_gettime(self, a),
            TIMER_GETOVERRUN => host::int3(libc::SYS_timer_getoverrun, a[0], 0, 0),
            TIMER_DELETE => host::int3(libc::SYS_timer_delete, a[0], 0, 0),
            // sockets
            SOCKET => host::int3(libc::SYS_socket, a[0], a[1], a[2]),
            SOCKETPAIR => net::socketpair(self, a),
            BIND => net::sockaddr_in(self, libc::SYS_bind, a),
            CONNECT => net::sockaddr_in(self, libc::SYS_connect, a),
            LISTEN => host::int3(libc::SYS_listen, a[0], a[1], 0),
            ACCEPT => net::accept(self, a, false),
            ACCEPT4 => net::accept(self, a, true),
            GETSOCKNAME => net::sockaddr_out(self, libc::SYS_getsockname, a),
            GETPEERNAME => net::sockaddr_out(self, libc::SYS_getpeername, a),
            SENDTO => net::sendto(self, a),
            RECVFROM => net::recvfrom(self, a),
            SETSOCKOPT => net::setsockopt(self, a),
            GETSOCKOPT => net::getsockopt(self, a),
            SHUTDOWN => host::int3(libc::SYS_shutdown, a[0], a[1], 0),
            SENDMSG => net::msg(self, a, true),
            RECVMSG => net::msg(self, a, false),
            SENDMMSG => net::mmsg(self, a, true),
            RECVMMSG => net::mmsg(self, a, false),
            _ => return self.enosys(nr),
        };
        r.map(Flow::Ret)
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("pid", &self.pid())
            .field("brk", &self.brk())
            .field("cfg", &self.cfg)
            .finish()
    }
}
