//! AArch64 guests on the interpreter: the A64 semantics (`vmx_lifter::arm::exec`)
//! executed on concrete values, a decoded-block cache, the run loop, `svc #0` and the
//! arm64 initial process state.
//!
//! The translated (AOT) path does not handle A64 yet; [`crate::engine::run`] sends
//! AArch64 guests here.

use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use crate::stats::{CacheUse, Phase, PhaseTimes, Report};

use vmx_lifter::arm::decode::{flow, Flow};
use vmx_lifter::arm::exec::exec;
use vmx_lifter::arm::sem::{A64Sem, SysReg, VBin, VShift, VUn, Vec128};
use vmx_lifter::arm::state::{A64State, NO_EXCLUSIVE};
use vmx_lifter::arm::{decode, Insn};
use vmx_lifter::elf::GuestImage;
use vmx_lifter::sem::{Amo, Cmp, FBin, FCmp, FOp, Round, Sem, Trap, FW};
use vmx_lifter::state::GUEST_ADDR_MASK;

use crate::concrete;
use crate::engine::{RunConfig, RunError, StatsFormat};
use crate::gdb::{AArch64, Debugger};
use crate::memory::{GuestMemory, RawGuest};
use crate::process::{load_image, setup_stack};
use crate::sys::{die_with_signal, install_fault_handler};
use crate::syscall::{nr, Kernel, KernelConfig, SysOutcome};
use crate::thread::CloneArgs;

/// `AT_HWCAP` bits (arch/arm64/include/uapi/asm/hwcap.h) for exactly what vmx
/// implements: scalar FP, Advanced SIMD and the LSE atomics (CAS, CASP, LD<op>, ST<op>,
/// SWP in every size and ordering). glibc's ifuncs then pick the generic string
/// routines (no SVE, MTE, ...); libgcc's outline atomics use LSE.
pub const HWCAP_FP: u64 = 1 << 0;
pub const HWCAP_ASIMD: u64 = 1 << 1;
pub const HWCAP_ATOMICS: u64 = 1 << 8;
pub const HWCAP: u64 = HWCAP_FP | HWCAP_ASIMD | HWCAP_ATOMICS;

/// arm64's `renameat` (asm-generic `__ARCH_WANT_RENAMEAT`).
const RENAMEAT: u64 = 38;

/// arm64's `open` flags that differ from the asm-generic ones (riscv64's and the x86-64
/// host's): (arm64 bit, generic bit) for O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE.
const OPEN_FLAGS_TO_HOST: [(u64, u64); 4] = [
    (0o40000, 0o200000),
    (0o100000, 0o400000),
    (0o200000, 0o40000),
    (0o400000, 0o100000),
];
const OPEN_FLAGS_TO_GUEST: [(u64, u64); 4] = [
    (0o200000, 0o40000),
    (0o400000, 0o100000),
    (0o40000, 0o200000),
    (0o100000, 0o400000),
];

/// Re-map the four differing `open` flag bits (`map`: from bit, to bit).
fn open_flags(flags: u64, map: &[(u64, u64); 4]) -> u64 {
    let moved: u64 = map.iter().map(|(from, _)| from).sum();
    map.iter()
        .filter(|(from, _)| flags & from != 0)
        .fold(flags & !moved, |f, (_, to)| f | to)
}

/// Longest block decoded at once.
const MAX_BLOCK: usize = 64;

/// Decoded straight-line code ending at a control transfer.
struct Block {
    insns: Vec<(u64, Insn)>,
}

fn decode_block(mem: &GuestMemory, start: u64) -> Option<Block> {
    let mut insns = Vec::new();
    let mut pc = start;
    loop {
        let mut b = [0u8; 4];
        let fetched =
            mem.prot_at(pc).is_some_and(|p| p.executable()) && mem.read(pc, &mut b).is_ok();
        if !fetched {
            if insns.is_empty() {
                return None;
            }
            break;
        }
        let i = decode(u32::from_le_bytes(b));
        insns.push((pc, i));
        let ends = !matches!(flow(&i, pc), Flow::Next) || matches!(i.op, vmx_lifter::arm::Op::Sys);
        pc += 4;
        if ends || insns.len() >= MAX_BLOCK {
            break;
        }
    }
    Some(Block { insns })
}

/// How a block ended early.
enum Exit {
    Done,
    Trap(Trap),
    /// IC IVAU: drop decoded code.
    FlushCode,
}

/// Runs the first `limit` instructions of `block` (all of them if it is shorter).
fn run_block(st: &mut A64State, mem: RawGuest, block: &Block, limit: usize) -> Exit {
    let mut it = Interp {
        st,
        mem,
        pc: 0,
        next: 0,
        trap: None,
        flush: false,
    };
    for (pc, insn) in block.insns.iter().take(limit) {
        it.pc = *pc;
        it.next = pc + 4;
        exec(&mut it, insn);
        if let Some(t) = it.trap {
            it.st.pc = *pc;
            return Exit::Trap(t);
        }
        it.st.pc = it.next;
        it.st.interp_insns += 1;
        if it.flush {
            return Exit::FlushCode;
        }
    }
    Exit::Done
}

/// The interpreter's A64 semantics builder.
struct Interp<'a> {
    st: &'a mut A64State,
    mem: RawGuest,
    pc: u64,
    next: u64,
    trap: Option<Trap>,
    flush: bool,
}

impl Sem for Interp<'_> {
    type I = u64;
    type B = bool;

    fn imm(&mut self, v: u64) -> u64 {
        v
    }
    fn pc(&self) -> u64 {
        self.pc
    }
    fn xreg(&mut self, r: u8) -> u64 {
        self.st.x.get(r as usize).copied().unwrap_or(0)
    }
    fn set_xreg(&mut self, r: u8, v: u64) {
        if let Some(x) = self.st.x.get_mut(r as usize) {
            *x = v;
        }
    }
    fn freg(&mut self, r: u8) -> u64 {
        self.st.v[r as usize & 31][0]
    }
    fn set_freg(&mut self, r: u8, v: u64) {
        self.st.v[r as usize & 31] = [v, 0];
    }
    fn add(&mut self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }
    fn sub(&mut self, a: u64, b: u64) -> u64 {
        a.wrapping_sub(b)
    }
    fn mul(&mut self, a: u64, b: u64) -> u64 {
        a.wrapping_mul(b)
    }
    fn mulh(&mut self, a: u64, b: u64, a_signed: bool, b_signed: bool) -> u64 {
        concrete::mulh(a, b, a_signed, b_signed)
    }
    fn div(&mut self, a: u64, b: u64, signed: bool) -> u64 {
        if signed {
            (a as i64).wrapping_div(b as i64) as u64
        } else {
            a / b
        }
    }
    fn rem(&mut self, a: u64, b: u64, signed: bool) -> u64 {
        if signed {
            (a as i64).wrapping_rem(b as i64) as u64
        } else {
            a % b
        }
    }
    fn and(&mut self, a: u64, b: u64) -> u64 {
        a & b
    }
    fn or(&mut self, a: u64, b: u64) -> u64 {
        a | b
    }
    fn xor(&mut self, a: u64, b: u64) -> u64 {
        a ^ b
    }
    fn shl(&mut self, a: u64, b: u64) -> u64 {
        a << (b & 63)
    }
    fn lshr(&mut self, a: u64, b: u64) -> u64 {
        a >> (b & 63)
    }
    fn ashr(&mut self, a: u64, b: u64) -> u64 {
        ((a as i64) >> (b & 63)) as u64
    }
    fn sext(&mut self, a: u64, bits: u32) -> u64 {
        concrete::sext(a, bits)
    }
    fn zext(&mut self, a: u64, bits: u32) -> u64 {
        concrete::zext(a, bits)
    }
    fn clz(&mut self, a: u64, bits: u32) -> u64 {
        if bits == 32 {
            (a as u32).leading_zeros() as u64
        } else {
            a.leading_zeros() as u64
        }
    }
    fn ctz(&mut self, a: u64, bits: u32) -> u64 {
        if bits == 32 {
            (a as u32).trailing_zeros() as u64
        } else {
            a.trailing_zeros() as u64
        }
    }
    fn popcount(&mut self, a: u64) -> u64 {
        a.count_ones() as u64
    }
    fn bswap(&mut self, a: u64) -> u64 {
        a.swap_bytes()
    }
    fn cmp(&mut self, op: Cmp, a: u64, b: u64) -> bool {
        concrete::cmp(op, a, b)
    }
    fn select(&mut self, c: bool, a: u64, b: u64) -> u64 {
        if c {
            a
        } else {
            b
        }
    }
    fn bool_and(&mut self, a: bool, b: bool) -> bool {
        a && b
    }
    fn bool_or(&mut self, a: bool, b: bool) -> bool {
        a || b
    }
    fn bool_to_int(&mut self, c: bool) -> u64 {
        c as u64
    }
    fn if_else<C, H>(&mut self, c: bool, cold: C, hot: H) -> u64
    where
        C: FnOnce(&mut Self) -> u64,
        H: FnOnce(&mut Self) -> u64,
    {
        if c {
            cold(self)
        } else {
            hot(self)
        }
    }

    fn load(&mut self, addr: u64, size: u32) -> u64 {
        self.mem.load(addr, size)
    }
    fn store(&mut self, addr: u64, v: u64, size: u32) {
        self.mem.store(addr, v, size)
    }
    fn load_reserved(&mut self, addr: u64, size: u32, _aqrl: u8) -> u64 {
        let v = self.mem.rmw(addr, size, |_| None);
        self.st.excl_addr = addr & GUEST_ADDR_MASK;
        self.st.excl_val = v;
        v
    }
    fn store_conditional(&mut self, addr: u64, v: u64, size: u32, _aqrl: u8) -> u64 {
        let held = self.st.excl_addr == addr & GUEST_ADDR_MASK;
        let expected = self.st.excl_val;
        self.st.excl_addr = NO_EXCLUSIVE;
        if !held {
            return 1;
        }
        let old = self.cas(addr, expected, v, size);
        (old != expected) as u64
    }
    fn amo(&mut self, op: Amo, addr: u64, v: u64, size: u32, _aqrl: u8) -> u64 {
        self.mem
            .rmw(addr, size, |old| Some(concrete::amo(op, size, old, v)))
    }
    fn fence(&mut self) {
        std::sync::atomic::fence(Ordering::SeqCst);
    }
    fn fence_i(&mut self) {
        self.flush = true;
    }

    fn fbin(&mut self, op: FBin, w: FW, a: u64, b: u64) -> u64 {
        concrete::fbin(op, w, a, b)
    }
    fn fsqrt(&mut self, w: FW, a: u64) -> u64 {
        concrete::fsqrt(w, a)
    }
    fn ffma(&mut self, w: FW, a: u64, b: u64, c: u64) -> u64 {
        concrete::ffma(w, a, b, c)
    }
    fn fcmp(&mut self, op: FCmp, w: FW, a: u64, b: u64) -> bool {
        concrete::fcmp(op, w, a, b)
    }
    fn fround(&mut self, w: FW, a: u64, rm: Round) -> u64 {
        concrete::fround(w, a, rm)
    }
    fn fcvt_to_int(&mut self, w: FW, a: u64, bits: u32, signed: bool) -> u64 {
        concrete::fcvt_to_int(w, a, bits, signed)
    }
    fn fcvt_from_int(&mut self, w: FW, a: u64, bits: u32, signed: bool) -> u64 {
        concrete::fcvt_from_int(w, a, bits, signed)
    }
    fn fcvt_float(&mut self, from: FW, to: FW, a: u64) -> u64 {
        concrete::fcvt_float(from, to, a)
    }
    // FPSR's cumulative flags are not modelled yet: nothing reads the host's.
    fn host_fflags(&mut self, _clear: bool) -> u64 {
        0
    }
    fn fraise(&mut self, _op: FOp, _w: FW, _frm: u64, _args: [u64; 3], _keep: u64) {}
    fn csr_read(&mut self, n: u16) -> Option<u64> {
        (n == vmx_lifter::rv::insn::csr::TIME).then(crate::engine::counter_csr)
    }
    fn csr_write(&mut self, _n: u16, _v: u64) -> bool {
        false
    }
    fn jump(&mut self, target: u64) {
        self.next = target;
    }
    fn branch(&mut self, cond: bool, target: u64) {
        if cond {
            self.next = target;
        }
    }
    fn trap(&mut self, t: Trap) {
        self.trap = Some(t);
    }
    // No A64 semantics raise conditional traps (only RISC-V's reserved `frm` check does);
    // should one, it must call this before writing anything, as `Sem` requires.
    fn trap_if(&mut self, cond: bool, t: Trap) {
        if cond && self.trap.is_none() {
            self.trap = Some(t);
        }
    }
}

impl A64Sem for Interp<'_> {
    fn sp(&mut self) -> u64 {
        self.st.sp
    }
    fn set_sp(&mut self, v: u64) {
        self.st.sp = v;
    }
    fn nzcv(&mut self) -> u64 {
        self.st.nzcv
    }
    fn set_nzcv(&mut self, v: u64) {
        self.st.nzcv = v;
    }
    fn vreg(&mut self, r: u8) -> Vec128<u64> {
        self.st.v[r as usize & 31]
    }
    fn set_vreg(&mut self, r: u8, v: Vec128<u64>) {
        self.st.v[r as usize & 31] = v;
    }
    fn sysreg(&mut self, r: SysReg) -> u64 {
        match r {
            SysReg::Tpidr => self.st.tpidr,
            SysReg::Fpcr => self.st.fpcr,
            SysReg::Fpsr => self.st.fpsr,
        }
    }
    fn set_sysreg(&mut self, r: SysReg, v: u64) {
        match r {
            SysReg::Tpidr => self.st.tpidr = v,
            // Only the architected, writable bits (AHP, DN, FZ, RMode, ...; no traps).
            SysReg::Fpcr => self.st.fpcr = v & 0x07ff_0000,
            SysReg::Fpsr => self.st.fpsr = v & 0xf800_009f,
        }
    }
    fn clear_exclusive(&mut self) {
        self.st.excl_addr = NO_EXCLUSIVE;
    }
    fn cas(&mut self, addr: u64, expected: u64, new: u64, size: u32) -> u64 {
        self.mem.cas(addr, expected, new, size)
    }
    fn load_exclusive_pair(&mut self, addr: u64) -> [u64; 2] {
        // A 128-bit atomic read: compare-and-swap 0 with 0.
        let v = self.mem.cas128(addr, 0, 0);
        self.st.excl_addr = addr & GUEST_ADDR_MASK;
        self.st.excl_val = v as u64;
        self.st.excl_hi = (v >> 64) as u64;
        [v as u64, (v >> 64) as u64]
    }
    fn store_exclusive_pair(&mut self, addr: u64, v: [u64; 2]) -> u64 {
        let held = self.st.excl_addr == addr & GUEST_ADDR_MASK;
        self.st.excl_addr = NO_EXCLUSIVE;
        if !held {
            return 1;
        }
        let expected = self.st.excl_val as u128 | (self.st.excl_hi as u128) << 64;
        let new = v[0] as u128 | (v[1] as u128) << 64;
        (self.mem.cas128(addr, expected, new) != expected) as u64
    }
    fn cas_pair(&mut self, addr: u64, expected: [u64; 2], new: [u64; 2]) -> [u64; 2] {
        let e = expected[0] as u128 | (expected[1] as u128) << 64;
        let n = new[0] as u128 | (new[1] as u128) << 64;
        let old = self.mem.cas128(addr, e, n);
        [old as u64, (old >> 64) as u64]
    }
    fn vbin(&mut self, op: VBin, es: u32, q: bool, a: Vec128<u64>, b: Vec128<u64>) -> Vec128<u64> {
        concrete::vbin(op, es, q, a, b)
    }
    fn vun(&mut self, op: VUn, es: u32, q: bool, a: Vec128<u64>) -> Vec128<u64> {
        concrete::vun(op, es, q, a)
    }
    fn vshift(&mut self, op: VShift, es: u32, q: bool, a: Vec128<u64>, n: u32) -> Vec128<u64> {
        concrete::vshift(op, es, q, a, n)
    }
    fn vtbl(
        &mut self,
        table: &[Vec128<u64>],
        idx: Vec128<u64>,
        fallback: Vec128<u64>,
        q: bool,
    ) -> Vec128<u64> {
        concrete::vtbl(table, idx, fallback, q)
    }
}

// ---- the run loop ----

struct Runner {
    mem: Arc<GuestMemory>,
    kernel: Arc<Kernel>,
    blocks: HashMap<u64, Rc<Block>>,
    stats: Option<StatsFormat>,
    start: Instant,
    interp_blocks: u64,
    syscalls: u64,
    /// Interpreter and system-call time (only measured with `--stats`).
    times: PhaseTimes,
    peak_memory: u64,
    cache: Option<CacheUse>,
    /// The gdb stub, when `-g` asked for one.
    debug: Option<Arc<Debugger<AArch64>>>,
}

impl Runner {
    /// A runner for one guest thread, its interpreter clock started (with `--stats`).
    fn new(
        mem: Arc<GuestMemory>,
        kernel: Arc<Kernel>,
        stats: Option<StatsFormat>,
        start: Instant,
        cache: Option<CacheUse>,
        debug: Option<Arc<Debugger<AArch64>>>,
    ) -> Runner {
        let r = Runner {
            mem,
            kernel,
            blocks: HashMap::new(),
            stats,
            start,
            interp_blocks: 0,
            syscalls: 0,
            times: PhaseTimes::default(),
            peak_memory: 0,
            cache,
            debug,
        };
        if r.stats.is_some() {
            r.times.enter(Phase::Interp);
        }
        r
    }

    fn run(&mut self, st: &mut A64State) -> ! {
        let raw = self.mem.raw();
        if let Some(d) = &self.debug {
            d.initial_stop(st);
        }
        loop {
            let mut limit = usize::MAX;
            if let Some(d) = self.debug.clone().filter(|d| d.checking()) {
                // Under gdb with breakpoints, watchpoints or a step: up to the next
                // breakpoint, or one instruction.
                if self.stats.is_some() {
                    self.times.enter(Phase::Other);
                }
                if d.before_insn(st) {
                    continue;
                }
                limit = if d.per_insn() {
                    1
                } else {
                    self.block_at(st)
                        .insns
                        .iter()
                        .skip(1)
                        .position(|&(pc, _)| d.is_breakpoint(pc))
                        .map_or(usize::MAX, |i| i + 1)
                };
                if self.stats.is_some() {
                    self.times.enter(Phase::Interp);
                }
            }
            self.run_insns(st, raw, limit);
            if let Some(d) = self.debug.clone().filter(|d| d.checking()) {
                d.after_insn(st);
            }
        }
    }

    /// The decoded block at `st.pc`; SIGSEGV if that is not executable guest memory.
    fn block_at(&mut self, st: &A64State) -> Rc<Block> {
        let pc = st.pc;
        match self.blocks.get(&pc) {
            Some(b) => b.clone(),
            None => {
                let Some(b) = decode_block(&self.mem, pc) else {
                    self.finish(st);
                    die_with_signal(libc::SIGSEGV);
                };
                let b = Rc::new(b);
                self.blocks.insert(pc, b.clone());
                b
            }
        }
    }

    /// Runs the block at `st.pc`, or its first `limit` instructions.
    fn run_insns(&mut self, st: &mut A64State, raw: RawGuest, limit: usize) {
        let block = self.block_at(st);
        self.interp_blocks += 1;
        match run_block(st, raw, &block, limit) {
            Exit::Done => {}
            Exit::FlushCode => self.blocks.clear(),
            Exit::Trap(Trap::Syscall) => self.syscall(st),
            Exit::Trap(t) => {
                let raw = block
                    .insns
                    .iter()
                    .find(|(p, _)| *p == st.pc)
                    .map_or(0, |(_, i)| i.raw);
                if t == Trap::Illegal {
                    let _ = writeln!(
                        std::io::stderr(),
                        "vmx: SIGILL: illegal or unimplemented A64 instruction {raw:#010x} at pc {:#x}",
                        st.pc
                    );
                }
                self.finish(st);
                die_with_signal(if t == Trap::Breakpoint {
                    libc::SIGTRAP
                } else {
                    libc::SIGILL
                });
            }
        }
    }

    /// `svc #0`: number in `x8`, arguments in `x0..x5`, result in `x0`.
    fn syscall(&mut self, st: &mut A64State) {
        self.syscalls += 1;
        if self.stats.is_some() {
            self.times.enter(Phase::Syscall);
        }
        let mut n = st.x[8];
        let mut args = [st.x[0], st.x[1], st.x[2], st.x[3], st.x[4], st.x[5]];
        if n == RENAMEAT {
            // arm64 keeps the generic table's `renameat`, which riscv64 lacks.
            (n, args[4]) = (nr::RENAMEAT2, 0);
        }
        let getfl = n == nr::FCNTL && args[1] == libc::F_GETFL as u64;
        if n == nr::OPENAT || (n == nr::FCNTL && args[1] == libc::F_SETFL as u64) {
            // openat(dirfd, path, flags, mode) and fcntl(fd, F_SETFL, flags).
            args[2] = open_flags(args[2], &OPEN_FLAGS_TO_HOST);
        }
        let clone = CloneArgs::generic(args);
        if n == nr::CLONE && clone.is_thread() {
            st.x[0] = self
                .kernel
                .traced(n, args, || self.clone_thread(st, &clone));
            st.pc += 4;
            return;
        }
        if n == nr::EXIT {
            // Another thread lives on: only this one ends (here, if so).
            crate::thread::exit_if_not_last(&self.kernel, args);
        }
        let (mut ret, out, child_sp) = self.kernel.handle_args(n, args, st.sp);
        if getfl && (ret as i64) >= 0 {
            ret = open_flags(ret, &OPEN_FLAGS_TO_GUEST);
        }
        match out {
            SysOutcome::Continue => st.x[0] = ret,
            SysOutcome::Exit(code) => {
                if let Some(d) = &self.debug {
                    d.exited(code);
                }
                self.finish(st);
                std::process::exit(code)
            }
            SysOutcome::Killed(sig) => {
                self.finish(st);
                die_with_signal(sig)
            }
        }
        if let Some(sp) = child_sp {
            st.sp = sp;
        }
        if matches!(n, nr::MMAP | nr::MUNMAP | nr::MPROTECT | nr::MREMAP) {
            self.blocks.clear();
        }
        if self.stats.is_some() {
            if matches!(n, nr::BRK | nr::MMAP | nr::MREMAP) {
                self.peak_memory = self.peak_memory.max(self.mem.mapped_bytes());
            }
            self.times.enter(Phase::Interp);
        }
        st.pc += 4;
    }

    /// `clone` of a thread: a copy of the caller's registers continues after the `svc`
    /// on a new host thread with its own runner, `x0` = 0, the given stack and
    /// `TPIDR_EL0`. Returns the caller's `x0`: the new tid or `-errno`.
    fn clone_thread(&self, st: &A64State, args: &CloneArgs) -> u64 {
        let mut child = A64State {
            pc: st.pc + 4,
            excl_addr: NO_EXCLUSIVE,
            interp_insns: 0,
            ..st.clone()
        };
        child.x[0] = 0;
        if args.stack != 0 {
            child.sp = args.stack;
        }
        if let Some(tp) = args.tls() {
            child.tpidr = tp;
        }
        let (mem, kernel) = (self.mem.clone(), self.kernel.clone());
        let (stats, start, peak_memory, cache) =
            (self.stats, self.start, self.peak_memory, self.cache);
        let spawned = crate::thread::spawn(&self.kernel, &self.mem, args, move |go| {
            crate::thread::guard(move || {
                go.enter(&kernel);
                // The gdb stub follows the main thread only.
                let mut runner = Runner::new(mem, kernel, stats, start, cache, None);
                runner.peak_memory = peak_memory;
                let mut st = child;
                runner.run(&mut st)
            })
        });
        match spawned {
            Ok(tid) => tid,
            Err(e) => (-(e.0 as i64)) as u64,
        }
    }

    fn finish(&self, st: &A64State) {
        let Some(fmt) = self.stats else { return };
        self.times.flush();
        let wall = self.start.elapsed().as_secs_f64();
        let mut r = Report::new("interp", wall, &self.times, self.peak_memory, self.cache);
        r.count("translated_insns", 0);
        r.count("interp_insns", st.interp_insns);
        r.count("interp_blocks", self.interp_blocks);
        r.count("dispatch_hits", 0);
        r.count("dispatch_misses", 0);
        r.count("syscalls", self.syscalls);
        r.count("translated_functions", 0);
        r.print(fmt);
    }
}

/// Run an AArch64 guest on the interpreter. Never returns on success.
pub fn run(
    image: &GuestImage,
    image_bytes: &[u8],
    cfg: RunConfig,
) -> Result<std::convert::Infallible, RunError> {
    let listener = crate::engine::gdb_listener(&cfg)?;
    let mem = Arc::new(GuestMemory::new().map_err(|e| RunError::Memory(e.to_string()))?);
    let li = load_image(&mem, image, image_bytes).map_err(|e| RunError::Load(e.to_string()))?;
    let execfn = cfg.exe_path.as_os_str().as_encoded_bytes().to_vec();
    let sp = setup_stack(&mem, &li, &cfg.argv, &cfg.envp, &execfn, HWCAP)
        .map_err(|e| RunError::Load(e.to_string()))?;
    let kernel = Kernel::new(
        mem.clone(),
        KernelConfig {
            exe_path: cfg.exe_path.clone(),
            strace: cfg.strace,
            brk_start: li.brk,
        },
    );
    kernel.set_aarch64();
    crate::engine::install_exec_handler(&kernel, &cfg);
    let kernel = Arc::new(kernel);
    let entry = li.entry;
    let stats = cfg.stats;
    let cache = cfg.cache;
    let debug = match listener {
        Some(l) => Some(Debugger::start(l, mem.clone()).map_err(|e| RunError::Gdb(e.to_string()))?),
        None => None,
    };
    let guest = std::thread::Builder::new()
        .name("guest".into())
        .stack_size(64 << 20)
        .spawn(move || {
            crate::thread::guard(move || {
                install_fault_handler(mem.base());
                // The host main thread blocked them before any other thread started.
                crate::sys::sync_host_mask(kernel.signal_mask());
                let mut st = A64State {
                    pc: entry,
                    sp,
                    ..A64State::default()
                };
                let mut r = Runner::new(mem, kernel, stats, Instant::now(), cache, debug);
                if r.stats.is_some() {
                    r.peak_memory = r.mem.mapped_bytes();
                }
                r.run(&mut st)
            })
        })
        .map_err(|e| RunError::Memory(format!("cannot start the guest thread: {e}")))?;
    let _detached = guest;
    crate::thread::wait_for_exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_round_trip() {
        // O_RDONLY|O_DIRECTORY|O_CLOEXEC as arm64 glibc passes it for opendir.
        let guest = 0o40000 | libc::O_CLOEXEC as u64;
        let host = open_flags(guest, &OPEN_FLAGS_TO_HOST);
        assert_eq!(host, (libc::O_DIRECTORY | libc::O_CLOEXEC) as u64);
        for bits in 0..16u64 {
            let g = (bits << 14) | 0o2101;
            assert_eq!(
                open_flags(open_flags(g, &OPEN_FLAGS_TO_HOST), &OPEN_FLAGS_TO_GUEST),
                g
            );
        }
        let h = open_flags(0o200000 | 0o400000, &OPEN_FLAGS_TO_GUEST);
        assert_eq!(h, 0o40000 | 0o100000);
    }
}
