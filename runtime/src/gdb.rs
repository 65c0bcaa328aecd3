//! The GDB remote-protocol server (`vmx exec -g PORT`), built on the `gdbstub` crate.
//!
//! Two host threads cooperate. The *gdb thread* owns the TCP connection and runs
//! `gdbstub`'s blocking event loop; the *guest thread* runs the guest as usual. They
//! share a [`Debugger`]: breakpoints, watchpoints, the run mode, and — while the guest is
//! stopped — a copy of its registers. The guest thread stops by publishing an [`Event`]
//! with its registers and waiting on a condition variable until gdb resumes it; gdb's
//! register reads and writes go to that copy, which the guest takes back on resume.
//! Memory accesses go through [`GuestMemory`]'s checked accessors, so a bad address is
//! an error reply.
//!
//! While any breakpoint or watchpoint is set, a single step is pending, or gdb asked for
//! an interrupt, the engine runs the guest one interpreted instruction at a time and asks
//! [`Debugger::before_insn`] / [`Debugger::after_insn`] whether to stop; otherwise
//! translated code runs at full speed (an interrupt reaches it through the same
//! `signal_poll` flag host signals use).
//!
//! Only one guest thread exists today, but the target is `gdbstub`'s multi-threaded one
//! ([`GUEST_TID`]), so thread listing works and more threads only need more entries.

use std::collections::BTreeSet;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use gdbstub::arch::{Arch, Registers};
use gdbstub::common::{Signal, Tid};
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event as LoopEvent, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStub, MultiThreadStopReason};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint, SwBreakpointOps,
    WatchKind,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use vmx_lifter::arm::state::A64State;
use vmx_lifter::state::RvState;

use crate::memory::GuestMemory;

/// The gdb thread id of the (only) guest thread.
pub const GUEST_TID: Tid = match NonZeroUsize::new(1) {
    Some(t) => t,
    None => unreachable!(),
};

/// How often the gdb thread looks for incoming bytes (Ctrl-C) while the guest runs.
const POLL: Duration = Duration::from_millis(10);

// ---- guest architectures ----

/// A guest ISA the stub can serve: its gdb register description and how those registers
/// map to the guest thread's state.
pub trait GuestArch: Arch<Usize = u64, BreakpointKind = usize, Registers: Send> + 'static {
    /// The guest thread's state ([`RvState`], [`A64State`]).
    type State: Clone + Send + 'static;

    fn registers(s: &Self::State) -> Self::Registers;
    /// Writes gdb's registers back into the state (and nothing else).
    fn store(r: &Self::Registers, s: &mut Self::State);
    fn pc(s: &Self::State) -> u64;
    /// The guest resumes with breakpoints, watchpoints or a step: translated frames live
    /// on the host stack (when the stop was reached from a runtime call) must not run on
    /// past them.
    fn leave_translated_code(s: &mut Self::State);
    /// Before the registers are published: move the exception flags the host FPU
    /// accrued for the guest into the state (see `hostfp`).
    fn fold_fp_flags(_s: &mut Self::State) {}
}

// ---- the RISC-V 64 register description ----

/// RV64GC as gdb sees it: `gdbstub_arch::riscv::Riscv64` describes only the integer
/// registers, so this adds the FP registers and `fcsr` (gdb's `riscv-64bit-fpu` feature).
pub enum Rv64 {}

/// Registers in the order of [`RV64_XML`]: x0-x31, pc, f0-f31, fflags, frm, fcsr.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rv64Regs {
    pub x: [u64; 32],
    pub pc: u64,
    pub f: [u64; 32],
    pub fcsr: u64,
}

impl Rv64Regs {
    fn from_state(s: &RvState) -> Self {
        Rv64Regs {
            x: s.x,
            pc: s.pc,
            f: s.f,
            fcsr: s.fcsr,
        }
    }

    fn store(&self, s: &mut RvState) {
        s.x = self.x;
        s.x[0] = 0;
        s.pc = self.pc;
        s.f = self.f;
        s.fcsr = self.fcsr & 0xff;
    }
}

impl Registers for Rv64Regs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.pc
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        let mut put = |bytes: &[u8]| bytes.iter().for_each(|b| write_byte(Some(*b)));
        self.x.iter().for_each(|r| put(&r.to_le_bytes()));
        put(&self.pc.to_le_bytes());
        self.f.iter().for_each(|r| put(&r.to_le_bytes()));
        put(&((self.fcsr & 0x1f) as u32).to_le_bytes());
        put(&((self.fcsr >> 5 & 7) as u32).to_le_bytes());
        put(&((self.fcsr & 0xff) as u32).to_le_bytes());
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() != 65 * 8 + 3 * 4 {
            return Err(());
        }
        let (words, csrs) = bytes.split_at(65 * 8);
        let mut words = words
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
        self.x
            .iter_mut()
            .for_each(|r| *r = words.next().unwrap_or(0));
        self.pc = words.next().unwrap_or(0);
        self.f
            .iter_mut()
            .for_each(|r| *r = words.next().unwrap_or(0));
        let csr =
            |i: usize| u32::from_le_bytes(csrs[i * 4..i * 4 + 4].try_into().expect("4")) as u64;
        let (fflags, frm, mut fcsr) = (csr(0), csr(1), csr(2) & 0xff);
        // All three arrive in a `G` packet; whichever of the views gdb changed wins.
        if fflags != fcsr & 0x1f {
            fcsr = fcsr & !0x1f | fflags & 0x1f;
        }
        if frm != fcsr >> 5 & 7 {
            fcsr = fcsr & !0xe0 | (frm & 7) << 5;
        }
        self.fcsr = fcsr;
        Ok(())
    }
}

impl GuestArch for Rv64 {
    type State = RvState;

    fn registers(s: &RvState) -> Rv64Regs {
        Rv64Regs::from_state(s)
    }

    fn store(r: &Rv64Regs, s: &mut RvState) {
        r.store(s);
    }

    fn fold_fp_flags(s: &mut RvState) {
        s.fcsr |= crate::hostfp::take_flags();
    }

    fn pc(s: &RvState) -> u64 {
        s.pc
    }

    fn leave_translated_code(s: &mut RvState) {
        // A new epoch makes live translated frames return to the run loop at their next
        // check (after a call), which then interprets.
        s.code_epoch += 1;
    }
}

impl Arch for Rv64 {
    type Usize = u64;
    type Registers = Rv64Regs;
    /// 2 or 4: the size of the instruction gdb would patch (ignored: breakpoints are
    /// kept in a set, guest code is never written).
    type BreakpointKind = usize;
    type RegId = ();

    fn target_description_xml() -> Option<&'static str> {
        Some(RV64_XML)
    }
}

/// gdb's `riscv-64bit-cpu` and `riscv-64bit-fpu` features.
const RV64_XML: &str = r#"<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
  <architecture>riscv:rv64</architecture>
  <osabi>GNU/Linux</osabi>
  <feature name="org.gnu.gdb.riscv.cpu">
    <reg name="zero" bitsize="64" type="int" regnum="0"/>
    <reg name="ra" bitsize="64" type="code_ptr"/>
    <reg name="sp" bitsize="64" type="data_ptr"/>
    <reg name="gp" bitsize="64" type="data_ptr"/>
    <reg name="tp" bitsize="64" type="data_ptr"/>
    <reg name="t0" bitsize="64" type="int"/>
    <reg name="t1" bitsize="64" type="int"/>
    <reg name="t2" bitsize="64" type="int"/>
    <reg name="fp" bitsize="64" type="data_ptr"/>
    <reg name="s1" bitsize="64" type="int"/>
    <reg name="a0" bitsize="64" type="int"/>
    <reg name="a1" bitsize="64" type="int"/>
    <reg name="a2" bitsize="64" type="int"/>
    <reg name="a3" bitsize="64" type="int"/>
    <reg name="a4" bitsize="64" type="int"/>
    <reg name="a5" bitsize="64" type="int"/>
    <reg name="a6" bitsize="64" type="int"/>
    <reg name="a7" bitsize="64" type="int"/>
    <reg name="s2" bitsize="64" type="int"/>
    <reg name="s3" bitsize="64" type="int"/>
    <reg name="s4" bitsize="64" type="int"/>
    <reg name="s5" bitsize="64" type="int"/>
    <reg name="s6" bitsize="64" type="int"/>
    <reg name="s7" bitsize="64" type="int"/>
    <reg name="s8" bitsize="64" type="int"/>
    <reg name="s9" bitsize="64" type="int"/>
    <reg name="s10" bitsize="64" type="int"/>
    <reg name="s11" bitsize="64" type="int"/>
    <reg name="t3" bitsize="64" type="int"/>
    <reg name="t4" bitsize="64" type="int"/>
    <reg name="t5" bitsize="64" type="int"/>
    <reg name="t6" bitsize="64" type="int"/>
    <reg name="pc" bitsize="64" type="code_ptr"/>
  </feature>
  <feature name="org.gnu.gdb.riscv.fpu">
    <union id="riscv_double">
      <field name="float" type="ieee_single"/>
      <field name="double" type="ieee_double"/>
    </union>
    <reg name="ft0" bitsize="64" type="riscv_double" regnum="33"/>
    <reg name="ft1" bitsize="64" type="riscv_double"/>
    <reg name="ft2" bitsize="64" type="riscv_double"/>
    <reg name="ft3" bitsize="64" type="riscv_double"/>
    <reg name="ft4" bitsize="64" type="riscv_double"/>
    <reg name="ft5" bitsize="64" type="riscv_double"/>
    <reg name="ft6" bitsize="64" type="riscv_double"/>
    <reg name="ft7" bitsize="64" type="riscv_double"/>
    <reg name="fs0" bitsize="64" type="riscv_double"/>
    <reg name="fs1" bitsize="64" type="riscv_double"/>
    <reg name="fa0" bitsize="64" type="riscv_double"/>
    <reg name="fa1" bitsize="64" type="riscv_double"/>
    <reg name="fa2" bitsize="64" type="riscv_double"/>
    <reg name="fa3" bitsize="64" type="riscv_double"/>
    <reg name="fa4" bitsize="64" type="riscv_double"/>
    <reg name="fa5" bitsize="64" type="riscv_double"/>
    <reg name="fa6" bitsize="64" type="riscv_double"/>
    <reg name="fa7" bitsize="64" type="riscv_double"/>
    <reg name="fs2" bitsize="64" type="riscv_double"/>
    <reg name="fs3" bitsize="64" type="riscv_double"/>
    <reg name="fs4" bitsize="64" type="riscv_double"/>
    <reg name="fs5" bitsize="64" type="riscv_double"/>
    <reg name="fs6" bitsize="64" type="riscv_double"/>
    <reg name="fs7" bitsize="64" type="riscv_double"/>
    <reg name="fs8" bitsize="64" type="riscv_double"/>
    <reg name="fs9" bitsize="64" type="riscv_double"/>
    <reg name="fs10" bitsize="64" type="riscv_double"/>
    <reg name="fs11" bitsize="64" type="riscv_double"/>
    <reg name="ft8" bitsize="64" type="riscv_double"/>
    <reg name="ft9" bitsize="64" type="riscv_double"/>
    <reg name="ft10" bitsize="64" type="riscv_double"/>
    <reg name="ft11" bitsize="64" type="riscv_double"/>
    <reg name="fflags" bitsize="32" type="int" regnum="66"/>
    <reg name="frm" bitsize="32" type="int" regnum="67"/>
    <reg name="fcsr" bitsize="32" type="int" regnum="68"/>
  </feature>
</target>
"#;

// ---- AArch64 ----

use gdbstub_arch::aarch64::reg::AArch64CoreRegs;
/// AArch64 as gdb sees it: `gdbstub_arch`'s description (core, FP/SIMD, system registers;
/// the system registers are not served).
pub use gdbstub_arch::aarch64::AArch64;

impl GuestArch for AArch64 {
    type State = A64State;

    fn registers(s: &A64State) -> AArch64CoreRegs {
        AArch64CoreRegs {
            x: s.x,
            sp: s.sp,
            pc: s.pc,
            cpsr: s.nzcv as u32,
            v: s.v.map(|[lo, hi]| u128::from(lo) | u128::from(hi) << 64),
            fpcr: s.fpcr as u32,
            fpsr: s.fpsr as u32,
        }
    }

    fn store(r: &AArch64CoreRegs, s: &mut A64State) {
        s.x = r.x;
        s.sp = r.sp;
        s.pc = r.pc;
        // Only the flags are PSTATE state a user-mode guest has.
        s.nzcv = u64::from(r.cpsr) & 0xf000_0000;
        s.v = r.v.map(|v| [v as u64, (v >> 64) as u64]);
        s.fpcr = r.fpcr.into();
        s.fpsr = r.fpsr.into();
    }

    fn pc(s: &A64State) -> u64 {
        s.pc
    }

    /// AArch64 guests only run on the interpreter.
    fn leave_translated_code(_: &mut A64State) {}
}

// ---- state shared by the two threads ----

/// Why the guest thread stopped (what gdb is told).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Breakpoint,
    Step,
    /// A write watchpoint at this address saw its bytes change.
    Watch(u64),
    /// Stopped by a signal: gdb's Ctrl-C (SIGINT) or a fatal guest signal.
    Signal(i32),
    /// The guest exited with this status (final).
    Exited(i32),
    /// The guest was killed by this signal (final).
    Killed(i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resume {
    Continue,
    Step,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Session {
    /// Listening; the guest waits before its first instruction.
    Waiting,
    Attached,
    /// gdb detached or the connection ended: the guest runs undisturbed.
    Gone,
}

struct Watchpoint {
    addr: u64,
    len: u64,
    /// The watched bytes as last seen.
    seen: Vec<u8>,
}

struct Shared<A: GuestArch> {
    session: Session,
    breakpoints: BTreeSet<u64>,
    watchpoints: Vec<Watchpoint>,
    /// The guest thread's registers while it is stopped.
    regs: Option<A::Registers>,
    /// A stop not yet reported to gdb.
    event: Option<Event>,
    /// Set by gdb to let the stopped guest thread go.
    resume: Option<Resume>,
    /// The run mode since the last resume.
    mode: Resume,
    /// The resume action gdb is assembling (`vCont`).
    pending: Resume,
}

/// What the guest thread consults while it runs: a copy of [`Shared`]'s breakpoints
/// and watchpoints taken when gdb resumed it.
#[derive(Default)]
struct View {
    breakpoints: std::collections::HashSet<u64>,
    watchpoints: Vec<Watchpoint>,
    step: bool,
}

thread_local! {
    static VIEW: std::cell::RefCell<View> = std::cell::RefCell::new(View::default());
}

/// The debugger's view of the guest, shared by the gdb thread and the guest thread.
pub struct Debugger<A: GuestArch> {
    mem: Arc<GuestMemory>,
    shared: Mutex<Shared<A>>,
    wake: Condvar,
    /// Whether the engine must run instruction by instruction and consult
    /// [`Debugger::before_insn`] / [`Debugger::after_insn`] (breakpoints, watchpoints,
    /// a step or an interrupt pending). Read on every run-loop iteration.
    checking: AtomicBool,
    /// gdb sent Ctrl-C.
    interrupt: AtomicBool,
    /// The guest thread's state, for the fatal-signal hook (which runs where no
    /// reference to it can be passed, e.g. in the host fault handler).
    guest_state: AtomicPtr<A::State>,
}

/// What the fatal-signal hook reaches (the one debugger of the process).
trait OnDeath: Send + Sync {
    fn on_death(&self, sig: i32);
}

static DEBUGGER: OnceLock<Arc<dyn OnDeath>> = OnceLock::new();

/// Binds the gdb server's socket on 127.0.0.1 (port 0: any free port).
pub fn listen(port: u16) -> io::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
}

impl<A: GuestArch> Debugger<A> {
    /// Starts the gdb thread on `listener`: it waits for gdb to connect, then serves it.
    /// The guest must call [`Debugger::initial_stop`] before its first instruction.
    pub fn start(listener: TcpListener, mem: Arc<GuestMemory>) -> io::Result<Arc<Self>> {
        let addr = listener.local_addr()?;
        let dbg = Arc::new(Debugger {
            mem,
            shared: Mutex::new(Shared {
                session: Session::Waiting,
                breakpoints: BTreeSet::new(),
                watchpoints: Vec::new(),
                regs: None,
                event: None,
                resume: None,
                mode: Resume::Continue,
                pending: Resume::Continue,
            }),
            wake: Condvar::new(),
            checking: AtomicBool::new(false),
            interrupt: AtomicBool::new(false),
            guest_state: AtomicPtr::new(std::ptr::null_mut()),
        });
        if DEBUGGER.set(dbg.clone() as Arc<dyn OnDeath>).is_err() {
            return Err(io::Error::other("a gdb server is already running"));
        }
        crate::sys::set_death_hook(on_guest_death);
        eprintln!("vmx: gdb: waiting for a connection on {addr}");
        let d = dbg.clone();
        std::thread::Builder::new()
            .name("gdb".into())
            .spawn(move || d.serve(listener))?;
        Ok(dbg)
    }

    fn lock(&self) -> MutexGuard<'_, Shared<A>> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The gdb thread: one session, then the guest is on its own.
    fn serve(self: Arc<Self>, listener: TcpListener) {
        let result = listener.accept().and_then(|(conn, peer)| {
            conn.set_nodelay(true)?;
            tracing::debug!(%peer, "gdb connected");
            Ok(conn)
        });
        drop(listener);
        let reason = match result {
            Err(e) => Err(format!("accept: {e}")),
            Ok(conn) => {
                self.lock().session = Session::Attached;
                let mut target = GdbTarget { dbg: self.clone() };
                GdbStub::new(conn)
                    .run_blocking::<EventLoop<A>>(&mut target)
                    .map_err(|e| e.to_string())
            }
        };
        tracing::debug!(?reason, "gdb session ended");
        {
            let mut sh = self.lock();
            sh.session = Session::Gone;
            sh.breakpoints.clear();
            sh.watchpoints.clear();
            self.interrupt.store(false, Ordering::Release);
            sh.mode = Resume::Continue;
            if sh.resume.is_none() {
                sh.resume = Some(Resume::Continue);
            }
            self.checking.store(false, Ordering::Release);
        }
        self.wake.notify_all();
        match reason {
            Ok(DisconnectReason::Kill) => {
                // `kill` in gdb: the guest dies as a killed process would.
                crate::sys::die_with_signal(libc::SIGKILL)
            }
            Ok(_) => {}
            Err(e) => eprintln!("vmx: gdb: {e}; the guest continues without the debugger"),
        }
    }

    /// Recomputes [`Debugger::checking`] after a change (with the lock held).
    fn update_checking(&self, sh: &Shared<A>) {
        let on = sh.session == Session::Attached
            && (!sh.breakpoints.is_empty()
                || !sh.watchpoints.is_empty()
                || sh.mode == Resume::Step
                || self.interrupt.load(Ordering::Acquire));
        self.checking.store(on, Ordering::Release);
    }

    // ---- the guest thread's side ----

    /// Whether the engine must run instruction by instruction and call
    /// [`Debugger::before_insn`] / [`Debugger::after_insn`].
    pub fn checking(&self) -> bool {
        self.checking.load(Ordering::Acquire)
    }

    /// Registers the guest thread's state and waits for gdb to connect and resume it.
    pub fn initial_stop(&self, s: &mut A::State) {
        self.guest_state.store(s, Ordering::Release);
        self.stop(s, None);
    }

    /// Before the instruction at `s.pc`: stops there for a breakpoint or an interrupt.
    /// Returns whether it stopped (the state may have changed; re-examine it).
    pub fn before_insn(&self, s: &mut A::State) -> bool {
        let ev = if self.interrupt.swap(false, Ordering::AcqRel) {
            Some(Event::Signal(libc::SIGINT))
        } else if self.is_breakpoint(A::pc(s)) {
            Some(Event::Breakpoint)
        } else {
            None
        };
        match ev {
            Some(ev) => {
                self.stop(s, Some(ev));
                true
            }
            None => false,
        }
    }

    /// Whether a breakpoint is set at `pc`.
    pub fn is_breakpoint(&self, pc: u64) -> bool {
        VIEW.with_borrow(|v| v.breakpoints.contains(&pc))
    }

    /// Whether every instruction must be followed by [`Debugger::after_insn`] (a single
    /// step or watchpoints); otherwise whole blocks may run up to the next breakpoint.
    pub fn per_insn(&self) -> bool {
        VIEW.with_borrow(|v| v.step || !v.watchpoints.is_empty())
    }

    /// After an instruction (or a run of them, see [`Debugger::per_insn`]): stops if it
    /// completed a single step or changed a watched location.
    pub fn after_insn(&self, s: &mut A::State) {
        let ev = VIEW.with_borrow_mut(|v| {
            let mut ev = None;
            for w in &mut v.watchpoints {
                let mut now = vec![0; w.len as usize];
                if self.mem.read(w.addr, &mut now).is_ok() && now != w.seen {
                    w.seen = now;
                    ev.get_or_insert(Event::Watch(w.addr));
                }
            }
            ev.or(v.step.then_some(Event::Step))
        });
        if let Some(ev) = ev {
            self.stop(s, Some(ev));
        }
    }

    /// A guest running translated code saw `signal_poll`: stop there if gdb asked for
    /// an interrupt.
    pub fn poll_interrupt(&self, s: &mut A::State) {
        if self.interrupt.swap(false, Ordering::AcqRel) {
            self.stop(s, Some(Event::Signal(libc::SIGINT)));
        }
    }

    /// The guest exits with `status`: tell gdb, and wait until it has been told.
    pub fn exited(&self, status: i32) {
        self.finish(Event::Exited(status));
    }

    /// Publishes a final event and waits until the session is over.
    fn finish(&self, ev: Event) {
        let mut sh = self.lock();
        if sh.session != Session::Attached {
            return;
        }
        sh.event = Some(ev);
        self.wake.notify_all();
        while sh.session == Session::Attached {
            sh = self.wake.wait(sh).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Stops the guest thread: publishes its registers and `ev` (none for the initial
    /// stop, which gdb asks about with `?`) and waits until gdb resumes it.
    fn stop(&self, s: &mut A::State, ev: Option<Event>) {
        let mut sh = self.lock();
        if sh.session == Session::Gone {
            return;
        }
        A::fold_fp_flags(s);
        sh.regs = Some(A::registers(s));
        sh.event = ev;
        sh.resume = None;
        self.wake.notify_all();
        let resume = loop {
            if let Some(r) = sh.resume.take() {
                break r;
            }
            sh = self.wake.wait(sh).unwrap_or_else(|e| e.into_inner());
        };
        if let Some(regs) = sh.regs.take() {
            A::store(&regs, s);
        }
        sh.mode = resume;
        self.update_checking(&sh);
        // gdb changes breakpoints only while the guest is stopped (all-stop mode), so
        // the guest thread runs on a copy it can consult without locking.
        VIEW.with_borrow_mut(|v| {
            v.breakpoints = sh.breakpoints.iter().copied().collect();
            v.step = resume == Resume::Step;
            v.watchpoints = sh
                .watchpoints
                .iter()
                .map(|w| {
                    let mut seen = vec![0; w.len as usize];
                    let _ = self.mem.read(w.addr, &mut seen);
                    Watchpoint {
                        addr: w.addr,
                        len: w.len,
                        seen,
                    }
                })
                .collect();
        });
        if self.checking() {
            A::leave_translated_code(s);
        }
    }

    // ---- the gdb thread's side ----

    fn regs(&self) -> Result<A::Registers, TargetError<&'static str>> {
        self.lock().regs.clone().ok_or(TargetError::NonFatal)
    }
}

/// Called (through `sys::die_with_signal`) when the guest is about to die of `sig`:
/// gdb sees the signal stop with the guest's registers, then the death.
fn on_guest_death(sig: i32) {
    if let Some(d) = DEBUGGER.get() {
        d.on_death(sig);
    }
}

impl<A: GuestArch> OnDeath for Debugger<A> {
    fn on_death(&self, sig: i32) {
        if self.lock().session != Session::Attached {
            return;
        }
        let ptr = self.guest_state.load(Ordering::Acquire);
        if ptr.is_null() {
            return;
        }
        // SAFETY: `ptr` is the guest thread's state, registered by `initial_stop` and
        // alive until the process exits. This runs on the guest thread, which is dying:
        // the frames that hold `&mut` to the state never run again, so reading a copy
        // cannot race with or be invalidated by a write.
        let mut s = unsafe { (*ptr).clone() };
        self.stop(&mut s, Some(Event::Signal(sig)));
        self.finish(Event::Killed(sig));
    }
}

/// `gdbstub`'s view of the guest.
struct GdbTarget<A: GuestArch> {
    dbg: Arc<Debugger<A>>,
}

/// A gdb signal number from a Linux one (they agree for the classic signals).
fn gdb_signal(sig: i32) -> Signal {
    Signal(u8::try_from(sig).unwrap_or(0))
}

impl<A: GuestArch> Target for GdbTarget<A> {
    type Arch = A;
    type Error = &'static str;

    fn base_ops(&mut self) -> BaseOps<'_, A, &'static str> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
}

impl<A: GuestArch> MultiThreadBase for GdbTarget<A> {
    fn read_registers(&mut self, regs: &mut A::Registers, _tid: Tid) -> TargetResult<(), Self> {
        *regs = self.dbg.regs()?;
        Ok(())
    }

    fn write_registers(&mut self, regs: &A::Registers, _tid: Tid) -> TargetResult<(), Self> {
        let mut sh = self.dbg.lock();
        let r = sh.regs.as_mut().ok_or(TargetError::NonFatal)?;
        *r = regs.clone();
        Ok(())
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], _tid: Tid) -> TargetResult<usize, Self> {
        let mem = &self.dbg.mem;
        let n = mem.readable_len(start, data.len() as u64) as usize;
        if n == 0 {
            return Err(TargetError::Errno(libc::EFAULT as u8));
        }
        mem.read(start, &mut data[..n])
            .map_err(|_| TargetError::Errno(libc::EFAULT as u8))?;
        Ok(n)
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], _tid: Tid) -> TargetResult<(), Self> {
        self.dbg
            .mem
            .write(start, data)
            .map_err(|_| TargetError::Errno(libc::EFAULT as u8))
    }

    fn list_active_threads(
        &mut self,
        thread_is_active: &mut dyn FnMut(Tid),
    ) -> Result<(), &'static str> {
        thread_is_active(GUEST_TID);
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl<A: GuestArch> MultiThreadResume for GdbTarget<A> {
    fn resume(&mut self) -> Result<(), &'static str> {
        let mut sh = self.dbg.lock();
        sh.resume = Some(sh.pending);
        self.dbg.wake.notify_all();
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), &'static str> {
        self.dbg.lock().pending = Resume::Continue;
        Ok(())
    }

    fn set_resume_action_continue(
        &mut self,
        _tid: Tid,
        _signal: Option<Signal>,
    ) -> Result<(), &'static str> {
        self.dbg.lock().pending = Resume::Continue;
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

/// gdb steps one thread and leaves the others where they are (`vCont;s:1` alone).
/// With a single guest thread there is nothing else to hold back.
impl<A: GuestArch> MultiThreadSchedulerLocking for GdbTarget<A> {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), &'static str> {
        Ok(())
    }
}

impl<A: GuestArch> MultiThreadSingleStep for GdbTarget<A> {
    fn set_resume_action_step(
        &mut self,
        _tid: Tid,
        _signal: Option<Signal>,
    ) -> Result<(), &'static str> {
        self.dbg.lock().pending = Resume::Step;
        Ok(())
    }
}

impl<A: GuestArch> Breakpoints for GdbTarget<A> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl<A: GuestArch> SwBreakpoint for GdbTarget<A> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        let mut sh = self.dbg.lock();
        sh.breakpoints.insert(addr);
        self.dbg.update_checking(&sh);
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        let mut sh = self.dbg.lock();
        let had = sh.breakpoints.remove(&addr);
        self.dbg.update_checking(&sh);
        Ok(had)
    }
}

/// Write watchpoints, checked by comparing the watched bytes after every instruction
/// while any is set. Read and access watchpoints are refused (gdb says so).
impl<A: GuestArch> HwWatchpoint for GdbTarget<A> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        if kind != WatchKind::Write || len == 0 || len > 4096 {
            return Ok(false);
        }
        let mut seen = vec![0; len as usize];
        if self.dbg.mem.read(addr, &mut seen).is_err() {
            return Ok(false);
        }
        let mut sh = self.dbg.lock();
        sh.watchpoints.push(Watchpoint { addr, len, seen });
        self.dbg.update_checking(&sh);
        Ok(true)
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        if kind != WatchKind::Write {
            return Ok(false);
        }
        let mut sh = self.dbg.lock();
        let before = sh.watchpoints.len();
        if let Some(i) = sh
            .watchpoints
            .iter()
            .position(|w| w.addr == addr && w.len == len)
        {
            sh.watchpoints.remove(i);
        }
        let removed = sh.watchpoints.len() != before;
        self.dbg.update_checking(&sh);
        Ok(removed)
    }
}

/// `gdbstub`'s blocking event loop: wait for the guest to stop, or for a byte from gdb.
struct EventLoop<A>(std::marker::PhantomData<A>);

impl<A: GuestArch> BlockingEventLoop for EventLoop<A> {
    type Target = GdbTarget<A>;
    type Connection = TcpStream;
    type StopReason = MultiThreadStopReason<u64>;

    fn wait_for_stop_reason(
        target: &mut GdbTarget<A>,
        conn: &mut TcpStream,
    ) -> Result<LoopEvent<Self::StopReason>, WaitForStopReasonError<&'static str, io::Error>> {
        let dbg = &target.dbg;
        loop {
            {
                let mut sh = dbg.lock();
                if let Some(ev) = sh.event.take() {
                    return Ok(LoopEvent::TargetStopped(stop_reason(ev)));
                }
                let (_sh, _) = dbg
                    .wake
                    .wait_timeout(sh, POLL)
                    .unwrap_or_else(|e| e.into_inner());
            }
            if conn
                .peek()
                .map_err(WaitForStopReasonError::Connection)?
                .is_some()
            {
                let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                return Ok(LoopEvent::IncomingData(byte));
            }
        }
    }

    fn on_interrupt(target: &mut GdbTarget<A>) -> Result<Option<Self::StopReason>, &'static str> {
        let dbg = &target.dbg;
        let sh = dbg.lock();
        dbg.interrupt.store(true, Ordering::Release);
        dbg.update_checking(&sh);
        // Translated code does not look at `checking`; its loops poll this flag.
        crate::sys::request_poll();
        Ok(None)
    }
}

fn stop_reason(ev: Event) -> MultiThreadStopReason<u64> {
    match ev {
        Event::Breakpoint => MultiThreadStopReason::SwBreak(GUEST_TID),
        Event::Step => MultiThreadStopReason::DoneStep,
        Event::Watch(addr) => MultiThreadStopReason::Watch {
            tid: GUEST_TID,
            kind: WatchKind::Write,
            addr,
        },
        Event::Signal(sig) => MultiThreadStopReason::SignalWithThread {
            tid: GUEST_TID,
            signal: gdb_signal(sig),
        },
        Event::Exited(status) => MultiThreadStopReason::Exited(status as u8),
        Event::Killed(sig) => MultiThreadStopReason::Terminated(gdb_signal(sig)),
    }
}
