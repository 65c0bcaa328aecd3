//! The interpreter: the shared RISC-V semantics (`vmx_lifter::rv::exec`) executed on
//! concrete values, over the same guest state and guest memory as translated code.
//!
//! Decoded blocks are cached by pc; the cache is dropped on `fence.i` and whenever the
//! guest changes its mappings, so code written at run time is always re-read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use vmx_lifter::discover::{flow, Flow};
use vmx_lifter::rv::exec::exec;
use vmx_lifter::rv::insn::csr;
use vmx_lifter::rv::{decode, decode::insn_len, Insn};
use vmx_lifter::sem::{Amo, Cmp, FBin, FCmp, FOp, Round, Sem, Trap, FW};
use vmx_lifter::state::{RvState, GUEST_ADDR_MASK, NO_RESERVATION};

use crate::memory::GuestMemory;
use crate::{concrete, hostfp};

/// Longest block the interpreter decodes at once.
const MAX_BLOCK: usize = 64;

/// A straight-line run of decoded instructions ending at a control transfer.
pub struct DecodedBlock {
    pub insns: Vec<(u64, Insn)>,
}

/// Why [`run_block`] stopped before the end of the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockExit {
    /// The block ran to completion; `st.pc` is the next pc.
    Done,
    /// A trap at `st.pc` (the trapping instruction has not completed).
    Trap(Trap),
    /// `fence.i` executed: decoded code must be discarded.
    FenceI,
}

/// Decoded-block cache (per guest thread).
#[derive(Default)]
pub struct BlockCache {
    blocks: HashMap<u64, std::rc::Rc<DecodedBlock>>,
    /// [`CODE_GENERATION`] when the blocks were decoded.
    generation: u64,
}

/// Bumped whenever guest code may have changed for every thread (mappings changed,
/// an instruction-cache flush): each thread's cache drops its blocks on its next look.
static CODE_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl BlockCache {
    /// Drops the decoded blocks of every guest thread's cache.
    pub fn invalidate_all() {
        CODE_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// The block at `pc`, decoding it if needed. `None` when `pc` is not executable
    /// guest memory (the caller raises SIGSEGV).
    pub fn get(&mut self, mem: &GuestMemory, pc: u64) -> Option<std::rc::Rc<DecodedBlock>> {
        let generation = CODE_GENERATION.load(std::sync::atomic::Ordering::Acquire);
        if generation != self.generation {
            self.blocks.clear();
            self.generation = generation;
        }
        if let Some(b) = self.blocks.get(&pc) {
            return Some(b.clone());
        }
        let b = std::rc::Rc::new(decode_block(mem, pc)?);
        self.blocks.insert(pc, b.clone());
        Some(b)
    }
}

/// Read instruction bytes: the guest page must be mapped executable.
fn fetch_bytes(mem: &GuestMemory, addr: u64, buf: &mut [u8]) -> Option<()> {
    if !mem.prot_at(addr)?.executable() {
        return None;
    }
    mem.read(addr, buf).ok()
}

fn fetch(mem: &GuestMemory, pc: u64) -> Option<Insn> {
    let mut lo = [0u8; 2];
    fetch_bytes(mem, pc, &mut lo)?;
    let half = u16::from_le_bytes(lo);
    if insn_len(half) == 2 {
        return Some(decode(half as u32));
    }
    let mut hi = [0u8; 2];
    fetch_bytes(mem, pc + 2, &mut hi)?;
    Some(decode(half as u32 | (u16::from_le_bytes(hi) as u32) << 16))
}

fn decode_block(mem: &GuestMemory, start: u64) -> Option<DecodedBlock> {
    let mut insns = Vec::new();
    let mut pc = start;
    loop {
        let Some(i) = fetch(mem, pc) else {
            if insns.is_empty() {
                return None;
            }
            break;
        };
        insns.push((pc, i));
        pc += i.len as u64;
        let ends = !matches!(flow(&i, pc - i.len as u64), Flow::Next)
            || i.op == vmx_lifter::rv::Op::FenceI;
        if ends || insns.len() >= MAX_BLOCK {
            break;
        }
    }
    Some(DecodedBlock { insns })
}

/// Execute a decoded block. Returns how it ended; counts retired instructions in
/// `st.interp_insns`.
pub fn run_block(st: &mut RvState, base: *mut u8, block: &DecodedBlock) -> BlockExit {
    run_block_prefix(st, base, block, usize::MAX)
}

/// Execute at most the first `limit` instructions of a decoded block (the debugger runs
/// one at a time), like [`run_block`].
pub fn run_block_prefix(
    st: &mut RvState,
    base: *mut u8,
    block: &DecodedBlock,
    limit: usize,
) -> BlockExit {
    let mut it = Interp {
        st,
        base,
        pc: 0,
        next: 0,
        trap: None,
        fence_i: false,
    };
    for (pc, insn) in block.insns.iter().take(limit) {
        it.pc = *pc;
        it.next = pc + insn.len as u64;
        exec(&mut it, insn);
        if let Some(t) = it.trap {
            it.st.pc = *pc;
            // Counted like translated code counts it: executed, whatever happens next.
            it.st.interp_insns += 1;
            return BlockExit::Trap(t);
        }
        it.st.pc = it.next;
        it.st.interp_insns += 1;
        if it.fence_i {
            return BlockExit::FenceI;
        }
    }
    BlockExit::Done
}

/// The interpreter's semantics builder: concrete values.
struct Interp<'a> {
    st: &'a mut RvState,
    base: *mut u8,
    pc: u64,
    next: u64,
    trap: Option<Trap>,
    fence_i: bool,
}

impl Interp<'_> {
    fn host(&self, addr: u64) -> *mut u8 {
        // The mask keeps every guest address inside the reserved region (plus guard).
        self.base.wrapping_add((addr & GUEST_ADDR_MASK) as usize)
    }
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
        self.st.x[r as usize]
    }
    fn set_xreg(&mut self, r: u8, v: u64) {
        if r != 0 && self.trap.is_none() {
            self.st.x[r as usize] = v;
        }
    }
    fn freg(&mut self, r: u8) -> u64 {
        self.st.f[r as usize]
    }
    fn set_freg(&mut self, r: u8, v: u64) {
        if self.trap.is_none() {
            self.st.f[r as usize] = v;
        }
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
        let a = if a_signed {
            a as i64 as i128
        } else {
            a as i128
        };
        let b = if b_signed {
            b as i64 as i128
        } else {
            b as i128
        };
        (a.wrapping_mul(b) >> 64) as u64
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
        if bits >= 64 {
            return a;
        }
        let sh = 64 - bits;
        (((a << sh) as i64) >> sh) as u64
    }
    fn zext(&mut self, a: u64, bits: u32) -> u64 {
        if bits >= 64 {
            a
        } else {
            a & ((1u64 << bits) - 1)
        }
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
        match op {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => (a as i64) < (b as i64),
            Cmp::Ge => (a as i64) >= (b as i64),
            Cmp::Ltu => a < b,
            Cmp::Geu => a >= b,
        }
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
        let p = self.host(addr);
        // SAFETY: `p` is inside the guest reservation (masked address + at most 8 bytes,
        // covered by the guard). Unmapped or protected guest pages fault; the runtime's
        // SIGSEGV handler turns that into the guest's SIGSEGV.
        unsafe {
            match size {
                1 => p.read() as u64,
                2 => (p as *const u16).read_unaligned() as u64,
                4 => (p as *const u32).read_unaligned() as u64,
                _ => (p as *const u64).read_unaligned(),
            }
        }
    }
    fn store(&mut self, addr: u64, v: u64, size: u32) {
        if self.trap.is_some() {
            return;
        }
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
    fn load_reserved(&mut self, addr: u64, size: u32, _aqrl: u8) -> u64 {
        let v = self.atomic(addr, size, |_| None);
        self.st.res_addr = addr & GUEST_ADDR_MASK;
        self.st.res_val = v;
        v
    }
    fn store_conditional(&mut self, addr: u64, v: u64, size: u32, _aqrl: u8) -> u64 {
        let a = addr & GUEST_ADDR_MASK;
        let held = self.st.res_addr == a;
        let expected = self.st.res_val;
        self.st.res_addr = NO_RESERVATION;
        if !held {
            return 1;
        }
        let p = self.host(addr);
        let ok = if size == 4 {
            // SAFETY: address inside the guest region; LR/SC on misaligned addresses
            // faults on real hardware, here it is still within the reservation.
            let at = unsafe { &*(p as *const AtomicU32) };
            at.compare_exchange(
                expected as u32,
                v as u32,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        } else {
            // SAFETY: as above.
            let at = unsafe { &*(p as *const AtomicU64) };
            at.compare_exchange(expected, v, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        };
        (!ok) as u64
    }
    fn amo(&mut self, op: Amo, addr: u64, v: u64, size: u32, _aqrl: u8) -> u64 {
        self.atomic(addr, size, |old| {
            Some(match (op, size) {
                (Amo::Swap, _) => v,
                (Amo::Add, _) => old.wrapping_add(v),
                (Amo::Xor, _) => old ^ v,
                (Amo::And, _) => old & v,
                (Amo::Or, _) => old | v,
                (Amo::Min, 4) => (old as i32).min(v as i32) as u32 as u64,
                (Amo::Max, 4) => (old as i32).max(v as i32) as u32 as u64,
                (Amo::Minu, 4) => (old as u32).min(v as u32) as u64,
                (Amo::Maxu, 4) => (old as u32).max(v as u32) as u64,
                (Amo::Min, _) => (old as i64).min(v as i64) as u64,
                (Amo::Max, _) => (old as i64).max(v as i64) as u64,
                (Amo::Minu, _) => old.min(v),
                (Amo::Maxu, _) => old.max(v),
            })
        })
    }
    fn fence(&mut self) {
        std::sync::atomic::fence(Ordering::SeqCst);
    }
    fn fence_i(&mut self) {
        self.fence_i = true;
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
    fn host_fflags(&mut self, clear: bool) -> u64 {
        hostfp::flags(clear)
    }
    fn fraise(&mut self, op: FOp, w: FW, frm: u64, args: [u64; 3], keep: u64) {
        hostfp::raise(op, w, frm, args, keep)
    }

    fn csr_read(&mut self, n: u16) -> Option<u64> {
        match n {
            csr::FCSR => Some(self.st.fcsr),
            csr::CYCLE | csr::TIME | csr::INSTRET => Some(crate::engine::counter_csr()),
            _ => None,
        }
    }
    fn csr_write(&mut self, n: u16, v: u64) -> bool {
        if n == csr::FCSR {
            if self.trap.is_none() {
                self.st.fcsr = v;
            }
            true
        } else {
            false
        }
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

    fn trap_if(&mut self, cond: bool, t: Trap) {
        if cond && self.trap.is_none() {
            self.trap = Some(t);
        }
    }
}

impl Interp<'_> {
    /// Atomic read-modify-write of `size` bytes at `addr`; `f` maps the old value to the
    /// new one (`None`: read only). Returns the old value.
    fn atomic(&mut self, addr: u64, size: u32, f: impl Fn(u64) -> Option<u64>) -> u64 {
        let p = self.host(addr);
        if size == 4 {
            // SAFETY: inside the guest region (masked); host atomics on guest memory are
            // how guest atomics stay atomic with respect to other guest threads.
            let at = unsafe { &*(p as *const AtomicU32) };
            let mut old = at.load(Ordering::SeqCst);
            while let Some(new) = f(old as u64) {
                match at.compare_exchange(old, new as u32, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(_) => break,
                    Err(cur) => old = cur,
                }
            }
            old as u64
        } else {
            // SAFETY: as above.
            let at = unsafe { &*(p as *const AtomicU64) };
            let mut old = at.load(Ordering::SeqCst);
            while let Some(new) = f(old) {
                match at.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(_) => break,
                    Err(cur) => old = cur,
                }
            }
            old
        }
    }
}
