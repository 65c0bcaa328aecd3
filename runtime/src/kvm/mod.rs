//! Native x86-64 guests under KVM.
//!
//! The guest program runs in ring 3 of a one-vCPU virtual machine ([`vm`]) whose memory
//! is the runtime's guest region, so the loader, the mapping table and the whole syscall
//! layer are the ones translated guests use. Its `syscall` instruction enters a ring-0
//! stub that leaves the VM (`out`); the runtime reads the registers, maps the x86-64
//! number onto the generic table ([`crate::syscall::x86_64`]), runs it through
//! [`Kernel`], and resumes the stub, which returns with `sysretq`. CPU exceptions leave
//! the same way: page faults on mapped memory fill in the guest page tables, everything
//! else becomes the signal Linux would deliver (an x86-64 `rt_sigframe` for a guest
//! handler, or death by that signal).
//!
//! Where `/dev/kvm` is missing or unusable (or `VMX_NO_KVM` is set), [`run`] says so
//! once and runs the program as a plain host process instead.

mod vm;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use vmx_lifter::elf::GuestImage;

use crate::engine::{restartable, RunConfig, RunError, StatsFormat};
use crate::memory::{GuestMemory, Prot};
use crate::process::{load_image, setup_stack};
use crate::signal::{SigDetail, SigInfo};
use crate::sys::{
    block_forwardable_signals, die_with_signal, forwardable_mask, take_forwarded,
    unblock_forwardable_signals,
};
use crate::syscall::signal::{SIG_DFL, SIG_IGN};
use crate::syscall::x86_64::{to_generic, X86Call};
use crate::syscall::{nr, Kernel, KernelConfig, SysOutcome};
use crate::thread::{CloneArgs, CLONE_THREAD};
use vm::{Exit, UserRegs, Vm, R10, R11, R8, R9, RAX, RCX, RDI, RDX, RSI, RSP};

const EINTR: u64 = -4i64 as u64;
const EINVAL: u64 = -22i64 as u64;
const EFAULT: u64 = -14i64 as u64;
const EPERM: u64 = -1i64 as u64;
const ENOSYS: u64 = -38i64 as u64;
const EAGAIN: u64 = -11i64 as u64;
const SA_RESTART: u64 = 0x1000_0000;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESETHAND: u64 = 0x8000_0000;
const SA_RESTORER: u64 = 0x0400_0000;
const SS_DISABLE: i32 = 2;
/// End of the canonical lower half: user rip/rsp values the CPU can return to.
const USER_TOP: u64 = 1 << 47;

/// Size of the kernel's x86-64 `struct ucontext` and of the `rt_sigframe` (return
/// address, ucontext, siginfo).
const UCONTEXT_SIZE: u64 = 304;
const FRAME_SIZE: u64 = 8 + UCONTEXT_SIZE + 128;
/// `uc_mcontext` offset in the ucontext; `uc_sigmask` offset.
const UC_MCONTEXT: u64 = 40;
const UC_SIGMASK: u64 = UC_MCONTEXT + 256;
/// Size of the saved FPU state (KVM's XSAVE buffer).
const XSAVE_SIZE: u64 = 4096;

/// `sigcontext` order of the general registers: r8..r15, rdi, rsi, rbp, rbx, rdx,
/// rax, rcx, rsp (indices into [`UserRegs::gpr`]).
const SIGCONTEXT_GPRS: [usize; 16] = [8, 9, 10, 11, 12, 13, 14, 15, 5, 4, 6, 1, 3, 0, 2, 7];

/// Is KVM usable here? `Err` says why not (`VMX_NO_KVM` forces "no").
pub fn available() -> Result<(), String> {
    if std::env::var_os("VMX_NO_KVM").is_some_and(|v| !v.is_empty() && v != "0") {
        return Err("disabled by VMX_NO_KVM".into());
    }
    vm::probe().map_err(|e| e.to_string())
}

/// Runs a static x86-64 guest under KVM, or as a host process where KVM is unusable.
/// Never returns on success: the process exits with the guest's status.
pub fn run(
    image: &GuestImage,
    image_bytes: &[u8],
    cfg: RunConfig,
) -> Result<std::convert::Infallible, RunError> {
    if let Err(why) = available() {
        eprintln!(
            "vmx: KVM is not usable ({why}): running the x86-64 program as a plain host process"
        );
        return Err(exec_natively(image_bytes, &cfg));
    }
    let mem = Arc::new(GuestMemory::new().map_err(|e| RunError::Memory(e.to_string()))?);
    let li = load_image(&mem, image, image_bytes).map_err(|e| RunError::Load(e.to_string()))?;
    let execfn = cfg.exe_path.as_os_str().as_encoded_bytes().to_vec();
    // AT_HWCAP on x86-64 is CPUID.1:EDX.
    let hwcap = u64::from(std::arch::x86_64::__cpuid(1).edx);
    let sp = setup_stack(&mem, &li, &cfg.argv, &cfg.envp, &execfn, hwcap)
        .map_err(|e| RunError::Load(e.to_string()))?;
    let kernel = Kernel::new(
        mem.clone(),
        KernelConfig {
            exe_path: cfg.exe_path.clone(),
            strace: cfg.strace,
            brk_start: li.brk,
        },
    );
    kernel.set_x86_64();
    crate::engine::install_exec_handler(&kernel, &cfg);
    mem.hint_huge_pages();
    let entry = li.entry;
    let stats = cfg.stats;
    // Forwardable signals stay blocked except inside KVM_RUN and while a system call
    // runs, so one arriving between two runs is never lost (KVM_RUN returns EINTR).
    block_forwardable_signals();
    let guest = std::thread::Builder::new()
        .name("guest".into())
        .spawn(move || {
            let mut vm = match Vm::new(&mem, entry, sp) {
                Ok(vm) => vm,
                Err(e) => {
                    eprintln!("vmx: cannot start the KVM guest: {e}");
                    std::process::exit(1);
                }
            };
            if let Err(e) = vm.set_run_signal_mask(forwardable_mask()) {
                eprintln!("vmx: cannot start the KVM guest: {e}");
                std::process::exit(1);
            }
            kernel.set_main_thread();
            let p = Arc::new(Process {
                mem,
                kernel,
                stats,
                start: Instant::now(),
                syscalls: AtomicU64::new(0),
                page_faults: AtomicU64::new(0),
                run_ns: AtomicU64::new(0),
                reported: Mutex::new(HashSet::new()),
            });
            let mut r = Runner {
                vm,
                p,
                last_fault: None,
                exited: false,
            };
            r.run();
            // The main thread exited while others run on: the process lives until the
            // last of them exits it.
            loop {
                std::thread::park();
            }
        })
        .map_err(|e| RunError::Memory(format!("cannot start the guest thread: {e}")))?;
    let _ = guest.join();
    // The guest thread only ends by exiting the process; reaching here means it panicked.
    die_with_signal(libc::SIGABRT)
}

/// Runs the program as a host process; returns only on failure.
fn exec_natively(bytes: &[u8], cfg: &RunConfig) -> RunError {
    RunError::Load(format!(
        "cannot run the program natively: {}",
        crate::sys::exec_bytes(bytes, &cfg.argv, &cfg.envp)
    ))
}

/// What the threads of a guest process share.
struct Process {
    mem: Arc<GuestMemory>,
    kernel: Kernel,
    stats: Option<StatsFormat>,
    start: Instant,
    syscalls: AtomicU64,
    page_faults: AtomicU64,
    /// Nanoseconds spent in KVM_RUN, all threads.
    run_ns: AtomicU64,
    reported: Mutex<HashSet<u64>>,
}

/// One guest thread: its vCPU and the loop that services it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Runner {
    vm: Vm,
    p: Arc<Process>,
    /// (rip, address) of the last page fault the runtime fixed, to catch one that keeps
    /// recurring.
    last_fault: Option<(u64, u64)>,
    /// The thread has exited (`exit` with other threads left).
    exited: bool,
}

/// A synchronous fault turned into a signal.
struct Fault {
    sig: i32,
    code: i32,
    addr: u64,
    trapno: u64,
    error: u64,
}

impl Runner {
    /// Runs the guest thread until it exits (the process's last thread exits the
    /// process instead).
    fn run(&mut self) {
        while !self.exited {
            // Only what the guest thread does not block may interrupt it (the host then
            // hands a process-directed signal to a thread that takes it).
            let unblocked = forwardable_mask() & !self.p.kernel.signal_mask();
            if let Err(e) = self.vm.ensure_run_signal_mask(unblocked) {
                self.internal_error(&e.to_string());
            }
            let t0 = Instant::now();
            let exit = self.vm.run();
            self.p
                .run_ns
                .fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
            match exit {
                Exit::Syscall(regs) => {
                    self.last_fault = None;
                    self.syscall(regs)
                }
                Exit::Exception {
                    vector,
                    error,
                    cr2,
                    regs,
                } => self.exception(vector, error, cr2, regs),
                Exit::Interrupted => {
                    tracing::trace!("KVM_RUN interrupted by a host signal");
                    // Let the pending host signal run its handler, then act on it.
                    unblock_forwardable_signals();
                    block_forwardable_signals();
                    if self.post_forwarded() {
                        let regs = self.user_regs();
                        self.deliver_pending(regs);
                    }
                }
                Exit::HostFault => self.die(libc::SIGBUS),
                Exit::Fatal(why) => self.internal_error(&why),
            }
        }
    }

    fn user_regs(&mut self) -> UserRegs {
        match self.vm.current_user_regs() {
            Ok(r) => r,
            Err(e) => self.internal_error(&e.to_string()),
        }
    }

    fn internal_error(&self, why: &str) -> ! {
        eprintln!("vmx: KVM guest: {why}");
        self.finish();
        die_with_signal(libc::SIGABRT)
    }

    fn finish(&self) {
        let p = &self.p;
        let Some(fmt) = p.stats else { return };
        let secs = p.start.elapsed().as_secs_f64();
        let run_s = p.run_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let (syscalls, page_faults) = (
            p.syscalls.load(Ordering::Relaxed),
            p.page_faults.load(Ordering::Relaxed),
        );
        match fmt {
            StatsFormat::Text => eprintln!(
                "vmx stats: engine kvm, {secs:.3} s ({run_s:.3} s in KVM_RUN), {syscalls} system calls, {page_faults} page faults"
            ),
            StatsFormat::Json => eprintln!(
                "{{\"engine\":\"kvm\",\"seconds\":{secs:.6},\"kvm_run_seconds\":{run_s:.6},\"syscalls\":{syscalls},\"page_faults\":{page_faults}}}"
            ),
        }
    }

    fn die(&self, sig: i32) -> ! {
        self.finish();
        die_with_signal(sig)
    }

    fn resume(&mut self, regs: &UserRegs) {
        if let Err(e) = self.vm.resume_full(regs) {
            self.internal_error(&e.to_string());
        }
    }

    // ---- system calls ----

    fn syscall(&mut self, mut regs: UserRegs) {
        self.p.syscalls.fetch_add(1, Ordering::Relaxed);
        let n = regs.gpr[RAX];
        tracing::trace!("syscall {n} at {:#x} rsp {:#x}", regs.rip, regs.gpr[RSP]);
        let args = [
            regs.gpr[RDI],
            regs.gpr[RSI],
            regs.gpr[RDX],
            regs.gpr[R10],
            regs.gpr[R8],
            regs.gpr[R9],
        ];
        let call = to_generic(n, args);
        // `exit` while other threads live on ends only this one (clear_child_tid and its
        // futex wake included); the thread's host thread then returns from `run`.
        if matches!(call, X86Call::Generic(nr::EXIT, _)) && self.p.kernel.end_thread() {
            self.exited = true;
            return;
        }
        let (ret, generic) = match call {
            X86Call::Generic(nr::CLONE, a) if a[0] & CLONE_THREAD != 0 => {
                (self.clone_thread(&regs, args), None)
            }
            X86Call::Generic(g, a) => (self.generic(g, a, regs.gpr[RSP]), Some(g)),
            X86Call::SigReturn => {
                match self.sigreturn(regs.gpr[RSP]) {
                    Some(r) => self.resume(&r),
                    None => self.force_fault(
                        &regs,
                        &Fault {
                            sig: libc::SIGSEGV,
                            code: 0x80,
                            addr: 0,
                            trapno: 13,
                            error: 0,
                        },
                    ),
                }
                return;
            }
            X86Call::ArchPrctl => (self.arch_prctl(args[0], args[1]), None),
            X86Call::Alarm => (u64::from(crate::sys::alarm(args[0] as u32)), None),
            X86Call::Pause => {
                // Sleeps until a signal: ppoll with no descriptors and no timeout.
                let r = self.generic(nr::PPOLL, [0; 6], regs.gpr[RSP]);
                (r, Some(nr::PPOLL))
            }
            X86Call::Time => (self.time(args[0]), None),
            X86Call::Poll => (self.poll(&regs, args), Some(nr::PPOLL)),
            X86Call::Select => (self.select(&regs, args), Some(nr::PSELECT6)),
            X86Call::Dup2 => {
                if args[0] == args[1] {
                    // dup2(fd, fd) is fd if fd is open (EBADF otherwise).
                    let r = self.generic(nr::FCNTL, [args[0], libc::F_GETFD as u64, 0, 0, 0, 0], 0);
                    ((r as i64) < 0)
                        .then_some(r)
                        .map_or((args[1], None), |e| (e, None))
                } else {
                    let a = [args[0], args[1], 0, 0, 0, 0];
                    (self.generic(nr::DUP3, a, regs.gpr[RSP]), Some(nr::DUP3))
                }
            }
            X86Call::Quiet => (ENOSYS, None),
            X86Call::Unknown => {
                if lock(&self.p.reported).insert(n) {
                    tracing::warn!("unimplemented x86-64 syscall {n}");
                    if self.p.kernel.config().strace {
                        eprintln!("vmx: unimplemented x86-64 syscall {n} -> ENOSYS");
                    }
                }
                (ENOSYS, None)
            }
        };
        regs.gpr[RAX] = ret;
        // Linux clobbers rcx and r11 on `syscall` (return address and flags).
        regs.gpr[RCX] = regs.rip;
        regs.gpr[R11] = regs.rflags;
        let mut restart = false;
        if self.post_forwarded() || self.p.kernel.has_deliverable_signal() {
            if ret == EINTR
                && generic.is_some_and(restartable)
                && self
                    .p
                    .kernel
                    .next_deliverable_flags()
                    .is_some_and(|f| f & SA_RESTART != 0)
            {
                // The handler returns to the `syscall` instruction, which runs again.
                regs.gpr[RAX] = n;
                regs.rip -= 2;
                restart = true;
            }
            if self.deliver_pending(regs) {
                return;
            }
            // A temporary mask (rt_sigsuspend) that no handler frame took ends here.
            self.p.kernel.restore_saved_mask();
            if restart {
                regs.gpr[RAX] = ret;
                regs.rip += 2;
            }
        }
        if let Err(e) = self.vm.resume_syscall(&regs, ret) {
            self.internal_error(&e.to_string());
        }
    }

    /// `clone` of a thread: a new vCPU on a new host thread (`thread::spawn`), returning
    /// 0 there; the new thread's tid here. x86-64 argument order: flags, stack, ptid,
    /// ctid, tls.
    fn clone_thread(&mut self, regs: &UserRegs, a: [u64; 6]) -> u64 {
        let args = CloneArgs {
            flags: a[0],
            stack: a[1],
            parent_tid: a[2],
            child_tid: a[3],
            tls: a[4],
        };
        if crate::thread::check_thread_flags(args.flags).is_err() {
            return EINVAL;
        }
        let mut child_regs = *regs;
        if args.stack != 0 {
            child_regs.gpr[RSP] = args.stack;
        }
        let tls = args.tls();
        if tls.is_some_and(|t| t >= USER_TOP) {
            return EPERM;
        }
        let vm = match self.vm.new_thread(&child_regs, tls) {
            Ok(vm) => vm,
            Err(e) => {
                tracing::warn!("cannot create a vCPU for a guest thread: {e}");
                return EAGAIN;
            }
        };
        let p = self.p.clone();
        let spawned = crate::thread::spawn(&self.p.kernel, &self.p.mem, &args, move |start| {
            start.enter(&p.kernel);
            // Host signals stay blocked outside KVM_RUN and system calls, as on every
            // vCPU thread.
            block_forwardable_signals();
            let mut r = Runner {
                vm,
                p,
                last_fault: None,
                exited: false,
            };
            r.run();
        });
        match spawned {
            Ok(tid) => tid,
            Err(e) => (-(e.0 as i64)) as u64,
        }
    }

    /// Runs generic syscall `g`; keeps the guest page tables in step with the mappings.
    fn generic(&mut self, g: u64, a: [u64; 6], sp: u64) -> u64 {
        let old_brk = (g == nr::BRK).then(|| self.p.kernel.brk());
        // A fork's child needs a VM of its own, made from the parent's vCPU state.
        let snapshot = match g {
            nr::CLONE => match self.vm.snapshot() {
                Ok(s) => Some(s),
                Err(e) => self.internal_error(&e.to_string()),
            },
            _ => None,
        };
        let pid = snapshot.as_ref().map(|_| std::process::id());
        // While the call runs, what the guest thread blocks stays blocked on the host (a
        // signal it blocks must not interrupt it with EINTR).
        crate::sys::sync_host_mask(self.p.kernel.signal_mask());
        let (ret, out, _child_sp) = self.p.kernel.handle_args(g, a, sp);
        block_forwardable_signals();
        if let Some(snap) = snapshot.filter(|_| Some(std::process::id()) != pid) {
            if let Err(e) = self.vm.reborn(&self.p.mem, &snap) {
                self.internal_error(&format!("in the forked child: {e}"));
            }
        }
        match out {
            SysOutcome::Continue => {}
            SysOutcome::Exit(code) => {
                self.finish();
                std::process::exit(code)
            }
            SysOutcome::Killed(sig) => self.die(sig),
        }
        let ok = (ret as i64) >= 0 || (ret as i64) < -4095;
        if ok && matches!(g, nr::MMAP | nr::MREMAP | nr::BRK) {
            self.p.mem.hint_huge_pages();
        }
        match g {
            nr::MMAP if ok => self.vm.zap(ret, ret.saturating_add(a[1])),
            nr::MUNMAP | nr::MPROTECT => self.vm.zap(a[0], a[0].saturating_add(a[1])),
            nr::MREMAP => {
                self.vm.zap(a[0], a[0].saturating_add(a[1]));
                if ok {
                    self.vm.zap(ret, ret.saturating_add(a[2]));
                }
            }
            nr::BRK => {
                let (old, new) = (old_brk.unwrap_or(0), self.p.kernel.brk());
                if old != new {
                    self.vm.zap(old.min(new), old.max(new).saturating_add(4095));
                }
            }
            _ => {}
        }
        ret
    }

    fn arch_prctl(&mut self, code: u64, addr: u64) -> u64 {
        const ARCH_SET_GS: u64 = 0x1001;
        const ARCH_SET_FS: u64 = 0x1002;
        const ARCH_GET_FS: u64 = 0x1003;
        const ARCH_GET_GS: u64 = 0x1004;
        let r = match code {
            ARCH_SET_FS | ARCH_SET_GS => {
                if addr >= USER_TOP {
                    return EPERM;
                }
                self.vm.set_seg_base(code == ARCH_SET_GS, addr)
            }
            ARCH_GET_FS | ARCH_GET_GS => match self.vm.fs_gs_base() {
                Ok((fs, gs)) => {
                    let v = if code == ARCH_GET_FS { fs } else { gs };
                    return match self.p.mem.write_u64(addr, v) {
                        Ok(()) => 0,
                        Err(_) => EFAULT,
                    };
                }
                Err(e) => Err(e),
            },
            _ => return EINVAL,
        };
        match r {
            Ok(()) => 0,
            Err(e) => self.internal_error(&e.to_string()),
        }
    }

    /// Guest memory for a timespec the runtime passes to a generic call on the guest's
    /// behalf: below the stack's red zone, where a signal frame could go anyway.
    fn scratch(regs: &UserRegs) -> u64 {
        (regs.gpr[RSP].wrapping_sub(128 + 64)) & !15
    }

    /// `poll(fds, n, timeout_ms)` = `ppoll` with the timeout as a timespec (none if
    /// negative).
    fn poll(&mut self, regs: &UserRegs, a: [u64; 6]) -> u64 {
        let ms = a[2] as i32;
        let ts = if ms < 0 {
            0
        } else {
            let at = Self::scratch(regs);
            let (sec, nsec) = (
                u64::from(ms as u32) / 1000,
                u64::from(ms as u32) % 1000 * 1_000_000,
            );
            if self.p.mem.write_u64(at, sec).is_err() || self.p.mem.write_u64(at + 8, nsec).is_err()
            {
                return EFAULT;
            }
            at
        };
        self.generic(nr::PPOLL, [a[0], a[1], ts, 0, 8, 0], regs.gpr[RSP])
    }

    /// `select(n, r, w, e, timeval)` = `pselect6` with the timeout as a timespec; the
    /// time left is written back to the timeval, as Linux does.
    fn select(&mut self, regs: &UserRegs, a: [u64; 6]) -> u64 {
        let tv = a[4];
        let ts = if tv == 0 {
            0
        } else {
            let (Ok(sec), Ok(usec)) = (self.p.mem.read_u64(tv), self.p.mem.read_u64(tv + 8)) else {
                return EFAULT;
            };
            if (sec as i64) < 0 || usec >= 1_000_000 {
                return EINVAL;
            }
            let at = Self::scratch(regs);
            if self.p.mem.write_u64(at, sec).is_err()
                || self.p.mem.write_u64(at + 8, usec * 1000).is_err()
            {
                return EFAULT;
            }
            at
        };
        let r = self.generic(nr::PSELECT6, [a[0], a[1], a[2], a[3], ts, 0], regs.gpr[RSP]);
        if ts != 0 {
            if let (Ok(sec), Ok(nsec)) = (self.p.mem.read_u64(ts), self.p.mem.read_u64(ts + 8)) {
                let _ = self.p.mem.write_u64(tv, sec);
                let _ = self.p.mem.write_u64(tv + 8, nsec / 1000);
            }
        }
        r
    }

    fn time(&mut self, out: u64) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if out != 0 && self.p.mem.write_u64(out, now).is_err() {
            return EFAULT;
        }
        now
    }

    // ---- faults ----

    fn exception(&mut self, vector: u8, error: u64, cr2: u64, regs: UserRegs) {
        let fault = |sig, code, addr| Fault {
            sig,
            code,
            addr,
            trapno: u64::from(vector),
            error,
        };
        let f = match vector {
            14 => {
                let Some(f) = self.page_fault(error, cr2, &regs) else {
                    if let Err(e) = self.vm.resume_exception(&regs) {
                        self.internal_error(&e.to_string());
                    }
                    return;
                };
                f
            }
            // #DE: FPE_INTDIV at the instruction.
            0 => fault(libc::SIGFPE, 1, regs.rip),
            // #DB, #BP: SIGTRAP (TRAP_BRKPT / SI_KERNEL as Linux reports int3).
            1 => fault(libc::SIGTRAP, 4, regs.rip),
            3 => fault(libc::SIGTRAP, 0x80, 0),
            // #UD: ILL_ILLOPN at the instruction.
            6 => fault(libc::SIGILL, 2, regs.rip),
            // x87 / SIMD floating-point exceptions.
            16 | 19 => fault(libc::SIGFPE, 0, regs.rip),
            // #NP, #SS: SIGBUS; #AC: BUS_ADRALN.
            11 | 12 => fault(libc::SIGBUS, 0x80, 0),
            17 => fault(libc::SIGBUS, 1, regs.rip),
            // #GP and the rest: SIGSEGV with SI_KERNEL and no address, as Linux.
            _ => fault(libc::SIGSEGV, 0x80, 0),
        };
        self.force_fault(&regs, &f);
    }

    /// A page fault: `None` if it was only a missing guest page-table entry (filled in),
    /// otherwise the SIGSEGV to deliver.
    fn page_fault(&mut self, error: u64, addr: u64, regs: &UserRegs) -> Option<Fault> {
        const SEGV_MAPERR: i32 = 1;
        const SEGV_ACCERR: i32 = 2;
        let segv = |code| Fault {
            sig: libc::SIGSEGV,
            code,
            addr,
            trapno: 14,
            error: error | 4,
        };
        let Some(prot) = self.p.mem.prot_at(addr) else {
            return Some(segv(SEGV_MAPERR));
        };
        let allowed = if error & 16 != 0 {
            prot.executable()
        } else if error & 2 != 0 {
            prot.writable()
        } else {
            prot != Prot::NONE
        };
        if !allowed {
            return Some(segv(SEGV_ACCERR));
        }
        // Allowed by the mapping table: the page-table entry is missing or stale.
        if self.last_fault == Some((regs.rip, addr)) {
            // Filled in and faulting again: the host cannot provide the access.
            return Some(segv(SEGV_ACCERR));
        }
        self.p.page_faults.fetch_add(1, Ordering::Relaxed);
        if !self.vm.populate(&self.p.mem, addr) {
            self.internal_error("out of guest page-table memory");
        }
        self.last_fault = Some((regs.rip, addr));
        None
    }

    /// Delivers a synchronous fault: to the guest handler if there is one and the signal
    /// is not blocked; otherwise the process dies of it (as Linux's `force_sig_fault`).
    fn force_fault(&mut self, regs: &UserRegs, f: &Fault) {
        tracing::debug!(
            "guest fault: trap {} error {:#x} at rip {:#x} (address {:#x}): signal {}",
            f.trapno,
            f.error,
            regs.rip,
            f.addr,
            f.sig
        );
        self.last_fault = None;
        let act = self.p.kernel.sigaction(f.sig).unwrap_or_default();
        let blocked = self.p.kernel.signal_mask() & (1 << (f.sig - 1)) != 0;
        if act.handler == SIG_DFL || act.handler == SIG_IGN || blocked {
            self.die(f.sig);
        }
        let info = SigInfo {
            signo: f.sig,
            code: f.code,
            detail: SigDetail::Addr(f.addr),
        };
        match self.enter_handler(regs, &info, (f.trapno, f.error, f.addr)) {
            Some(r) => self.resume(&r),
            None => self.die(libc::SIGSEGV),
        }
    }

    // ---- signals ----

    /// Hands host signals that arrived to the guest's disposition; true if there is a
    /// signal to deliver now.
    fn post_forwarded(&mut self) -> bool {
        for (sig, code, pid) in take_forwarded() {
            tracing::trace!("host signal {sig} for the guest");
            if let SysOutcome::Killed(k) = self.p.kernel.post_signal_from(sig, code, pid) {
                self.die(k);
            }
        }
        self.p.kernel.has_deliverable_signal()
    }

    /// Runs the handlers of pending, unblocked signals by building their frames on top
    /// of `regs`; true if the vCPU now resumes in a handler.
    fn deliver_pending(&mut self, mut regs: UserRegs) -> bool {
        let mut entered = false;
        while let Some(info) = crate::signal::next_handled_signal(&self.p.kernel) {
            tracing::trace!(
                "entering the handler of signal {} at {:#x}",
                info.signo,
                regs.rip
            );
            match self.enter_handler(&regs, &info, (0, 0, 0)) {
                Some(r) => {
                    regs = r;
                    entered = true;
                }
                None => self.die(libc::SIGSEGV),
            }
        }
        if entered {
            self.resume(&regs);
        }
        entered
    }

    /// Writes the x86-64 `rt_sigframe` for `info` below `regs`' stack (or on the
    /// alternate stack) and returns the registers that enter the handler. `None` if the
    /// frame cannot be written (the guest then dies of SIGSEGV, as on Linux).
    fn enter_handler(
        &mut self,
        regs: &UserRegs,
        info: &SigInfo,
        (trapno, error, cr2): (u64, u64, u64),
    ) -> Option<UserRegs> {
        let sig = info.signo;
        let act = self.p.kernel.sigaction(sig).unwrap_or_default();
        // x86-64 handlers return through sa_restorer (glibc always sets it). A handler
        // outside the canonical user half could not be entered (`iretq` would fault in
        // the stub): the guest dies of SIGSEGV, as it would on Linux at that address.
        if act.flags & SA_RESTORER == 0 || act.restorer == 0 || act.handler >= USER_TOP {
            return None;
        }
        let alt = self.p.kernel.altstack();
        let rsp = regs.gpr[RSP];
        let usable = act.flags & SA_ONSTACK != 0 && alt.flags & SS_DISABLE == 0 && alt.size != 0;
        let on_alt = alt.size != 0 && rsp > alt.sp && rsp - alt.sp <= alt.size;
        let top = if usable && !on_alt {
            alt.sp + alt.size
        } else {
            rsp.checked_sub(128)? // the red zone
        };
        let fpstate = top.checked_sub(XSAVE_SIZE)? & !63;
        let frame = (fpstate.checked_sub(FRAME_SIZE)? & !15) - 8;

        let mut f = vec![0u8; FRAME_SIZE as usize];
        let put = |f: &mut Vec<u8>, off: u64, v: &[u8]| {
            f[off as usize..off as usize + v.len()].copy_from_slice(v)
        };
        put(&mut f, 0, &act.restorer.to_le_bytes());
        let uc = 8;
        put(&mut f, uc + 16, &alt.sp.to_le_bytes());
        put(&mut f, uc + 24, &alt.flags.to_le_bytes());
        put(&mut f, uc + 32, &alt.size.to_le_bytes());
        let mc = uc + UC_MCONTEXT;
        for (i, &r) in SIGCONTEXT_GPRS.iter().enumerate() {
            put(&mut f, mc + 8 * i as u64, &regs.gpr[r].to_le_bytes());
        }
        put(&mut f, mc + 128, &regs.rip.to_le_bytes());
        put(&mut f, mc + 136, &regs.rflags.to_le_bytes());
        put(&mut f, mc + 144, &u64::from(vm::USER_CS).to_le_bytes());
        put(&mut f, mc + 150, &vm::USER_DS.to_le_bytes());
        put(&mut f, mc + 152, &error.to_le_bytes());
        put(&mut f, mc + 160, &trapno.to_le_bytes());
        let cur_mask = self.p.kernel.signal_mask();
        let old_mask = self.p.kernel.take_frame_mask();
        put(&mut f, mc + 168, &old_mask.to_le_bytes());
        put(&mut f, mc + 176, &cr2.to_le_bytes());
        put(&mut f, mc + 184, &fpstate.to_le_bytes());
        put(&mut f, uc + UC_SIGMASK, &old_mask.to_le_bytes());
        let si = 8 + UCONTEXT_SIZE;
        put(&mut f, si, &sig.to_le_bytes());
        put(&mut f, si + 8, &info.code.to_le_bytes());
        match info.detail {
            SigDetail::Addr(a) => put(&mut f, si + 16, &a.to_le_bytes()),
            SigDetail::Sender { pid, uid } => {
                put(&mut f, si + 16, &pid.to_le_bytes());
                put(&mut f, si + 20, &uid.to_le_bytes());
            }
        }
        let xsave = match self.vm.xsave() {
            Ok(x) => x,
            Err(e) => self.internal_error(&e.to_string()),
        };
        self.p.mem.write(fpstate, &xsave).ok()?;
        self.p.mem.write(frame, &f).ok()?;

        let mut mask = cur_mask | act.mask;
        if act.flags & SA_NODEFER == 0 {
            mask |= 1 << (sig - 1);
        }
        self.p.kernel.set_signal_mask(mask);
        if act.flags & SA_RESETHAND != 0 {
            self.p.kernel.set_sigaction(sig, Default::default());
        }
        let mut r = *regs;
        r.gpr[RDI] = sig as u64;
        r.gpr[RSI] = frame + si;
        r.gpr[RDX] = frame + uc;
        r.gpr[RAX] = 0;
        r.gpr[RSP] = frame;
        r.rip = act.handler;
        // DF and TF cleared for the handler, as Linux does.
        r.rflags &= !((1 << 10) | (1 << 8));
        Some(r)
    }

    /// `rt_sigreturn` with `rsp` just past the frame's return address: the saved
    /// registers, or `None` if the frame is unreadable or invalid.
    fn sigreturn(&mut self, rsp: u64) -> Option<UserRegs> {
        let frame = rsp.checked_sub(8)?;
        let mut f = vec![0u8; FRAME_SIZE as usize];
        self.p.mem.read(frame, &mut f).ok()?;
        let get = |off: u64| {
            let o = off as usize;
            u64::from_le_bytes(f[o..o + 8].try_into().unwrap_or_default())
        };
        let mc = 8 + UC_MCONTEXT;
        let mut r = UserRegs::default();
        for (i, &reg) in SIGCONTEXT_GPRS.iter().enumerate() {
            r.gpr[reg] = get(mc + 8 * i as u64);
        }
        r.rip = get(mc + 128);
        r.rflags = get(mc + 136);
        // Non-canonical rip or rsp would make the return (`iretq`) fault in the stub.
        if r.rip >= USER_TOP || r.gpr[RSP] >= USER_TOP {
            return None;
        }
        let fpstate = get(mc + 184);
        if fpstate != 0 {
            let mut x = vec![0u8; XSAVE_SIZE as usize];
            self.p.mem.read(fpstate, &mut x).ok()?;
            self.vm.set_xsave(&x).ok()?;
        }
        self.p.kernel.set_signal_mask(get(8 + UC_SIGMASK));
        Some(r)
    }
}
