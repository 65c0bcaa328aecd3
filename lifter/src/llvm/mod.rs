//! Lifting guest functions to LLVM IR (feature `llvm`).
//!
//! One guest function becomes one LLVM function `void @vmx_rv_<pc>(ptr noalias %st,
//! ptr noalias %mem)`. Guest registers the function touches live in allocas (promoted
//! to SSA by LLVM), loaded from `%st` on entry and after anything that may change them
//! (calls, system calls), and stored back before calls and exits. `%mem` is the host
//! base of the guest address space; every access is `mem + (addr & GUEST_ADDR_MASK)`.
//!
//! Control leaves a translated function by returning with `st.pc` set to where the guest
//! continues. After every call the caller checks `st.pc` against the return address it
//! expects: equal is the fast path; anything else (a `longjmp`, a miss handled by the
//! runtime) either re-enters this function at a known resume point or returns further.
//!
//! The instruction semantics themselves are the shared ones (`rv::exec`), driven through
//! this module's [`crate::sem::Sem`] implementation in `emit.rs`.

mod emit;

use std::collections::HashMap;

use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::IntType;
use inkwell::values::{FunctionValue, IntValue, PointerValue};
use inkwell::{AddressSpace, IntPredicate};

use crate::discover::{flow, Flow, Function, Program};
use crate::rv::exec::{exec, is_quiet_compare, quiet_compare};
use crate::sem::Trap;
use crate::state::offsets;

/// Runtime entry points translated code calls. The runtime's linker resolves them.
pub mod helpers {
    /// `void (ptr st)`: service the system call in `st`; sets `st.pc` to where to go on.
    pub const SYSCALL: &str = "vmx_rt_syscall";
    /// `void (ptr st, i32 kind)`: ebreak (1) or illegal instruction (2) at `st.pc`.
    pub const TRAP: &str = "vmx_rt_trap";
    /// `void (ptr st, ptr mem, i64 target)`: run guest code at `target` until it returns
    /// to `st.x[1]` with the current stack pointer (indirect calls, unknown targets).
    pub const CALL: &str = "vmx_rt_call";
    /// `i64 (ptr st, ptr mem, i64 target, i64 func, i64 ret_pc, i64 ret_sp)`: run guest
    /// code at `target` until it reaches a resume point of `func` or the frame returns;
    /// returns the pc reached (also stored in `st.pc`).
    pub const JUMP: &str = "vmx_rt_jump";
    /// `void (ptr st)`: `fence.i`.
    pub const FENCE_I: &str = "vmx_rt_fence_i";
    /// `i64 (ptr st, i32 csr)`: read a counter CSR (cycle, time, instret).
    pub const CSR: &str = "vmx_rt_csr";
    /// `u64 (RvState*)`: a signal arrived (`RvState::signal_poll` set) — run handlers;
    /// non-zero if they changed the guest state (the caller must leave, not continue).
    pub const POLL: &str = "vmx_rt_poll";
    /// `i64 ()`: the host's accrued floating-point exception flags as RISC-V `fflags`
    /// bits.
    pub const FFLAGS: &str = "vmx_rt_fflags";
    /// `i64 ()`: the same, and clear them.
    pub const FFLAGS_TAKE: &str = "vmx_rt_fflags_take";
    /// `void (i32 op, i32 width, i64 frm, i64 a, i64 b, i64 c, i64 keep)`: set the host's
    /// accrued flags to `keep` plus those of `op` (`sem::FOp::code`) on floats of `width`
    /// bits rounded in mode `frm`.
    pub const FRAISE: &str = "vmx_rt_fraise";
}

/// The host symbol of the translated function for guest `pc`.
pub fn symbol_name(pc: u64) -> String {
    format!("vmx_rv_{pc:x}")
}

/// Errors while building IR (these indicate bugs, not bad input).
#[derive(Debug, thiserror::Error)]
pub enum LiftError {
    #[error("LLVM builder error in function {func:#x}: {msg}")]
    Builder { func: u64, msg: String },
    #[error("LLVM verifier rejected function {func:#x}: {msg}")]
    Verify { func: u64, msg: String },
}

/// The control effect the semantics of the current instruction requested.
#[derive(Clone, Copy)]
enum Pending<'ctx> {
    Jump(IntValue<'ctx>),
    Branch(IntValue<'ctx>, u64),
    Trap(Trap),
    /// `fence.i`: the runtime may retire translations (including this one).
    FenceI,
}

/// Builds one LLVM function from one guest function.
pub struct FnBuilder<'ctx, 'm> {
    ctx: &'ctx Context,
    module: &'m Module<'ctx>,
    b: Builder<'ctx>,
    func: FunctionValue<'ctx>,
    st: PointerValue<'ctx>,
    mem: PointerValue<'ctx>,
    i64t: IntType<'ctx>,
    x: [Option<PointerValue<'ctx>>; 32],
    f: [Option<PointerValue<'ctx>>; 32],
    x_written: [bool; 32],
    f_written: [bool; 32],
    /// Guest instructions run since the last flush to `RvState::tr_insns`.
    retired: Option<PointerValue<'ctx>>,
    pc: u64,
    pending: Option<Pending<'ctx>>,
    blocks: HashMap<u64, BasicBlock<'ctx>>,
    /// Backward edges go through a block that polls for signals first (per target).
    polls: HashMap<u64, BasicBlock<'ctx>>,

    reenter: Option<BasicBlock<'ctx>>,
    entry_ra: IntValue<'ctx>,
    entry_sp: IntValue<'ctx>,
    /// `RvState::code_epoch` on entry: if it changes, this frame's code may be stale.
    entry_epoch: IntValue<'ctx>,
    guest: &'m Function,
    program: &'m Program,
}

/// Declare (once) and return the LLVM function for guest function `pc`.
pub fn declare_guest_fn<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    pc: u64,
) -> FunctionValue<'ctx> {
    let name = symbol_name(pc);
    if let Some(f) = module.get_function(&name) {
        return f;
    }
    let ptr = ctx.ptr_type(AddressSpace::default());
    let ty = ctx.void_type().fn_type(&[ptr.into(), ptr.into()], false);
    let f = module.add_function(&name, ty, Some(Linkage::External));
    let noalias = ctx.create_enum_attribute(
        inkwell::attributes::Attribute::get_named_enum_kind_id("noalias"),
        0,
    );
    let nounwind = ctx.create_enum_attribute(
        inkwell::attributes::Attribute::get_named_enum_kind_id("nounwind"),
        0,
    );
    f.add_attribute(inkwell::attributes::AttributeLoc::Param(0), noalias);
    f.add_attribute(inkwell::attributes::AttributeLoc::Param(1), noalias);
    f.add_attribute(inkwell::attributes::AttributeLoc::Function, nounwind);
    // Floating point goes through constrained intrinsics: the exception flags the host
    // accrues are the guest's.
    let strictfp = ctx.create_enum_attribute(
        inkwell::attributes::Attribute::get_named_enum_kind_id("strictfp"),
        0,
    );
    f.add_attribute(inkwell::attributes::AttributeLoc::Function, strictfp);
    f
}

/// Lift `guest` into `module` (which may already hold other functions of `program`).
pub fn lift_function<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    program: &Program,
    guest: &Function,
) -> Result<(), LiftError> {
    let func = declare_guest_fn(ctx, module, guest.entry);
    let b = ctx.create_builder();
    let entry_bb = ctx.append_basic_block(func, "entry");
    b.position_at_end(entry_bb);
    let i64t = ctx.i64_type();
    let st = func.get_nth_param(0).expect("param").into_pointer_value();
    let mem = func.get_nth_param(1).expect("param").into_pointer_value();
    let mut fb = FnBuilder {
        ctx,
        module,
        b,
        func,
        st,
        mem,
        i64t,
        x: [None; 32],
        f: [None; 32],
        x_written: [false; 32],
        f_written: [false; 32],
        retired: None,
        pc: guest.entry,
        pending: None,
        blocks: HashMap::new(),
        polls: HashMap::new(),

        reenter: None,
        entry_ra: i64t.const_zero(),
        entry_sp: i64t.const_zero(),
        entry_epoch: i64t.const_zero(),
        guest,
        program,
    };
    fb.build().map_err(|e| LiftError::Builder {
        func: guest.entry,
        msg: e.to_string(),
    })?;
    if !func.verify(false) {
        return Err(LiftError::Verify {
            func: guest.entry,
            msg: "invalid IR (run with VMX_DUMP_IR=1)".into(),
        });
    }
    Ok(())
}

type BResult<T> = Result<T, inkwell::builder::BuilderError>;

impl<'ctx> FnBuilder<'ctx, '_> {
    fn build(&mut self) -> BResult<()> {
        let (used_x, used_f) = self.scan_registers();
        // Allocas for the registers the function touches, loaded from the state.
        for r in 0..32 {
            if r != 0 && used_x[r] {
                self.x[r] = Some(self.b.build_alloca(self.i64t, &format!("x{r}"))?);
            }
            if used_f[r] {
                self.f[r] = Some(self.b.build_alloca(self.i64t, &format!("f{r}"))?);
            }
        }
        let retired = self.b.build_alloca(self.i64t, "retired")?;
        self.b.build_store(retired, self.i64t.const_zero())?;
        self.retired = Some(retired);
        self.reload_all()?;
        self.entry_ra = self.load_state(offsets::X + 8)?;
        self.entry_sp = self.load_state(offsets::X + 16)?;
        self.entry_epoch = self.load_state(offsets::CODE_EPOCH)?;

        for blk in &self.guest.blocks {
            let bb = self
                .ctx
                .append_basic_block(self.func, &format!("b{:x}", blk.start));
            self.blocks.insert(blk.start, bb);
        }
        if !self.guest.resume_points.is_empty() {
            self.reenter = Some(self.ctx.append_basic_block(self.func, "reenter"));
        }
        let first = self.blocks[&self.guest.entry];
        self.b.build_unconditional_branch(first)?;

        let guest = self.guest;
        for blk in &guest.blocks {
            self.b.position_at_end(self.blocks[&blk.start]);
            let mut terminated = false;
            let mut fused = 0;
            for (k, &(pc, insn)) in blk.insns.iter().enumerate() {
                self.pc = pc;
                self.pending = None;
                self.count_retired()?;
                if fused > 0 {
                    // Part of a fused sequence already emitted.
                    fused -= 1;
                    continue;
                }
                if let [_, (_, cmp), (_, restore), ..] = blk.insns[k..] {
                    if is_quiet_compare(&insn, &cmp, &restore) {
                        quiet_compare(self, &insn, &cmp);
                        fused = 2;
                        continue;
                    }
                }
                exec(self, &insn);
                let next = pc + insn.len as u64;
                terminated = self.finish_insn(flow(&insn, pc), pc, next)?;
                if terminated {
                    break;
                }
            }
            if !terminated {
                self.goto_pc(blk.end())?;
            }
        }
        if let Some(re) = self.reenter {
            self.b.position_at_end(re);
            // Never resume in a frame whose code the guest may have rewritten.
            let epoch = self.load_state(offsets::CODE_EPOCH)?;
            let same = self
                .b
                .build_int_compare(IntPredicate::EQ, epoch, self.entry_epoch, "")?;
            let resume = self.ctx.append_basic_block(self.func, "reenter_ok");
            let stale = self.ctx.append_basic_block(self.func, "reenter_stale");
            self.b.build_conditional_branch(same, resume, stale)?;
            self.b.position_at_end(stale);
            self.b.build_return(None)?;
            self.b.position_at_end(resume);
            self.reload_all()?;
            let pc = self.load_state(offsets::PC)?;
            let ret = self.ctx.append_basic_block(self.func, "reenter_miss");
            let cases: Vec<_> = guest
                .resume_points
                .iter()
                .filter_map(|p| Some((self.i64t.const_int(*p, false), *self.blocks.get(p)?)))
                .collect();
            self.b.build_switch(pc, ret, &cases)?;
            self.b.position_at_end(ret);
            self.b.build_return(None)?;
        }
        Ok(())
    }

    /// Which integer and FP registers does the function use? Also records, in
    /// `x_written`/`f_written`, which ones it may change.
    fn scan_registers(&mut self) -> ([bool; 32], [bool; 32]) {
        use crate::rv::insn::Op;
        let mut used_x = [false; 32];
        let mut used_f = [false; 32];
        for blk in &self.guest.blocks {
            for (_, i) in &blk.insns {
                let is_fp = matches!(
                    i.op.ext(),
                    crate::rv::insn::Ext::F | crate::rv::insn::Ext::D
                );
                if is_fp {
                    // Conservatively: any operand field may name an f or x register.
                    for r in [i.rd, i.rs1, i.rs2, i.rs3] {
                        used_f[r as usize] = true;
                        used_x[r as usize] = true;
                    }
                    self.f_written[i.rd as usize] = true;
                    self.x_written[i.rd as usize] = true;
                } else {
                    for r in [i.rd, i.rs1, i.rs2] {
                        used_x[r as usize] = true;
                    }
                    if !matches!(
                        i.op,
                        Op::Sb
                            | Op::Sh
                            | Op::Sw
                            | Op::Sd
                            | Op::Beq
                            | Op::Bne
                            | Op::Blt
                            | Op::Bge
                            | Op::Bltu
                            | Op::Bgeu
                            | Op::Fence
                            | Op::FenceI
                            | Op::Ecall
                            | Op::Ebreak
                    ) {
                        self.x_written[i.rd as usize] = true;
                    }
                    if i.op == Op::Ecall {
                        // The syscall result lands in a0.
                        used_x[10] = true;
                        self.x_written[10] = true;
                    }
                }
            }
        }
        // The entry ra/sp are needed for the dispatcher's stop condition.
        used_x[1] = true;
        used_x[2] = true;
        self.x_written[0] = false;
        (used_x, used_f)
    }

    fn state_ptr(&self, off: usize) -> BResult<PointerValue<'ctx>> {
        let idx = self.i64t.const_int(off as u64, false);
        // SAFETY: a byte offset inside the `RvState` the function receives; LLVM's GEP
        // is "unsafe" in inkwell only because malformed indices make invalid IR.
        unsafe {
            self.b
                .build_in_bounds_gep(self.ctx.i8_type(), self.st, &[idx], "")
        }
    }

    fn load_state(&self, off: usize) -> BResult<IntValue<'ctx>> {
        let p = self.state_ptr(off)?;
        Ok(self.b.build_load(self.i64t, p, "")?.into_int_value())
    }

    fn store_state(&self, off: usize, v: IntValue<'ctx>) -> BResult<()> {
        let p = self.state_ptr(off)?;
        self.b.build_store(p, v)?;
        Ok(())
    }

    /// Load every cached register from the state (entry, after calls).
    fn reload_all(&self) -> BResult<()> {
        for r in 0..32 {
            if let Some(a) = self.x[r] {
                let v = self.load_state(offsets::X + 8 * r)?;
                self.b.build_store(a, v)?;
            }
            if let Some(a) = self.f[r] {
                let v = self.load_state(offsets::F + 8 * r)?;
                self.b.build_store(a, v)?;
            }
        }
        Ok(())
    }

    /// One more guest instruction (LLVM folds a block's increments into one add).
    fn count_retired(&self) -> BResult<()> {
        if let Some(a) = self.retired {
            let n = self.b.build_load(self.i64t, a, "")?.into_int_value();
            let n = self.b.build_int_add(n, self.i64t.const_int(1, false), "")?;
            self.b.build_store(a, n)?;
        }
        Ok(())
    }

    /// Store every register the function may have changed, and the retired-instruction
    /// count (before calls, at exits).
    fn store_written(&self) -> BResult<()> {
        if let Some(a) = self.retired {
            let n = self.b.build_load(self.i64t, a, "")?.into_int_value();
            let total = self.load_state(offsets::TR_INSNS)?;
            let total = self.b.build_int_add(total, n, "")?;
            self.store_state(offsets::TR_INSNS, total)?;
            self.b.build_store(a, self.i64t.const_zero())?;
        }
        for r in 0..32 {
            if let (Some(a), true) = (self.x[r], self.x_written[r]) {
                let v = self.b.build_load(self.i64t, a, "")?.into_int_value();
                self.store_state(offsets::X + 8 * r, v)?;
            }
            if let (Some(a), true) = (self.f[r], self.f_written[r]) {
                let v = self.b.build_load(self.i64t, a, "")?.into_int_value();
                self.store_state(offsets::F + 8 * r, v)?;
            }
        }
        Ok(())
    }

    /// Leave the function: the guest continues at `pc`.
    fn exit_to(&self, pc: IntValue<'ctx>) -> BResult<()> {
        self.store_written()?;
        self.store_state(offsets::PC, pc)?;
        self.b.build_return(None)?;
        Ok(())
    }

    fn helper(
        &self,
        name: &str,
        ret: Option<IntType<'ctx>>,
        params: &[inkwell::types::BasicMetadataTypeEnum<'ctx>],
    ) -> FunctionValue<'ctx> {
        if let Some(f) = self.module.get_function(name) {
            return f;
        }
        let ty = match ret {
            Some(r) => r.fn_type(params, false),
            None => self.ctx.void_type().fn_type(params, false),
        };
        self.module.add_function(name, ty, Some(Linkage::External))
    }

    /// Continue at a statically known `pc`: a block of this function, else a tail call.
    fn goto_pc(&mut self, pc: u64) -> BResult<()> {
        if self.blocks.contains_key(&pc) {
            let bb = self.edge_to(pc)?;
            self.b.build_unconditional_branch(bb)?;
        } else {
            self.tail_call(pc)?;
        }
        Ok(())
    }

    /// The block to branch to for block `target` from the current instruction: the block
    /// itself for forward edges; for backward edges (loops), a block that first checks
    /// `RvState::signal_poll` (one load; the runtime sets it when a signal arrives) and,
    /// if it is set, lets the runtime run the guest's handlers with the state as it is on
    /// the edge, so a loop without calls still sees signals promptly. The slow path is
    /// per target (one shared block would merge the loops into one irreducible region).
    fn edge_to(&mut self, target: u64) -> BResult<BasicBlock<'ctx>> {
        let bb = self.blocks[&target];
        if target > self.pc {
            return Ok(bb);
        }
        if let Some(p) = self.polls.get(&target) {
            return Ok(*p);
        }
        let here = self.b.get_insert_block();
        let poll = self
            .ctx
            .append_basic_block(self.func, &format!("poll{target:x}"));
        let slow = self
            .ctx
            .append_basic_block(self.func, &format!("signal{target:x}"));
        self.b.position_at_end(poll);
        let flag = self.state_ptr(offsets::SIGNAL_POLL)?;
        let v = self.b.build_load(self.i64t, flag, "")?;
        if let Some(inst) = inkwell::values::BasicValue::as_instruction_value(&v) {
            let _ = inst.set_volatile(true);
        }
        let set = self.b.build_int_compare(
            IntPredicate::NE,
            v.into_int_value(),
            self.i64t.const_zero(),
            "",
        )?;
        let br = self.b.build_conditional_branch(set, slow, bb)?;
        self.mark_unlikely(br);
        self.b.position_at_end(slow);
        self.store_written()?;
        self.store_state(offsets::PC, self.i64t.const_int(target, false))?;
        let ptr = self.ctx.ptr_type(AddressSpace::default());
        let h = self.helper(helpers::POLL, Some(self.i64t), &[ptr.into()]);
        let changed = self
            .b
            .build_call(h, &[self.st.into()], "")?
            .try_as_basic_value()
            .expect_basic("vmx_rt_poll returns u64")
            .into_int_value();
        // Handlers normally leave the interrupted state as it was (registers are still
        // in their allocas); if one changed it, or left with siglongjmp, leave.
        let same =
            self.b
                .build_int_compare(IntPredicate::EQ, changed, self.i64t.const_zero(), "")?;
        let leave = self
            .ctx
            .append_basic_block(self.func, &format!("signal_leave{target:x}"));
        self.b.build_conditional_branch(same, bb, leave)?;
        self.b.position_at_end(leave);
        self.b.build_return(None)?;
        if let Some(h) = here {
            self.b.position_at_end(h);
        }
        self.polls.insert(target, poll);
        Ok(poll)
    }

    /// `!prof` branch weights: the true side of `br` is (almost) never taken.
    fn mark_unlikely(&self, br: inkwell::values::InstructionValue<'ctx>) {
        let i32t = self.ctx.i32_type();
        let weights = self.ctx.metadata_node(&[
            self.ctx.metadata_string("branch_weights").into(),
            i32t.const_int(1, false).into(),
            i32t.const_int(1 << 20, false).into(),
        ]);
        let _ = br.set_metadata(weights, self.ctx.get_kind_id("prof"));
    }

    /// Transfer to guest code at `pc` outside this function, keeping the return address:
    /// whatever runs there returns to our caller, so we return right after.
    fn tail_call(&self, pc: u64) -> BResult<()> {
        self.store_written()?;
        let target = self.i64t.const_int(pc, false);
        if self.program.function(pc).is_some() {
            let f = declare_guest_fn(self.ctx, self.module, pc);
            let call = self
                .b
                .build_call(f, &[self.st.into(), self.mem.into()], "")?;
            call.set_tail_call(true);
        } else {
            let ptr = self.ctx.ptr_type(AddressSpace::default());
            let h = self.helper(
                helpers::CALL,
                None,
                &[ptr.into(), ptr.into(), self.i64t.into()],
            );
            self.b
                .build_call(h, &[self.st.into(), self.mem.into(), target.into()], "")?;
        }
        self.b.build_return(None)?;
        Ok(())
    }

    /// Raise trap `t` (not a system call) at the instruction at `pc`: the runtime gets the
    /// state as it was before the instruction.
    fn emit_trap(&self, pc: u64, t: Trap) -> BResult<()> {
        let ptr = self.ctx.ptr_type(AddressSpace::default());
        self.store_written()?;
        self.store_state(offsets::PC, self.i64t.const_int(pc, false))?;
        let kind = match t {
            Trap::Breakpoint => 1,
            _ => 2,
        };
        let h = self.helper(
            helpers::TRAP,
            None,
            &[ptr.into(), self.ctx.i32_type().into()],
        );
        self.b.build_call(
            h,
            &[
                self.st.into(),
                self.ctx.i32_type().const_int(kind, false).into(),
            ],
            "",
        )?;
        self.b.build_return(None)?;
        Ok(())
    }

    /// After a call or system call: continue at `next` if that is where the guest went.
    fn check_return(&mut self, next: u64) -> BResult<()> {
        let cont = self.check_return_common(next)?;
        self.b.position_at_end(cont);
        self.goto_pc(next)
    }

    /// Reloads registers and branches to the returned block if the guest is at `next`
    /// (and no code was rewritten meanwhile), else leaves or re-enters.
    fn check_return_common(&self, next: u64) -> BResult<BasicBlock<'ctx>> {
        self.reload_all()?;
        let pc = self.load_state(offsets::PC)?;
        let want = self.i64t.const_int(next, false);
        let ok = self.b.build_int_compare(IntPredicate::EQ, pc, want, "")?;
        // The code of a live frame may have been rewritten meanwhile: then leave.
        let epoch = self.load_state(offsets::CODE_EPOCH)?;
        let fresh = self
            .b
            .build_int_compare(IntPredicate::EQ, epoch, self.entry_epoch, "")?;
        let ok = self.b.build_and(ok, fresh, "")?;
        let cont = self.ctx.append_basic_block(self.func, "ret_ok");
        let miss = match self.reenter {
            Some(re) => re,
            None => {
                let m = self.ctx.append_basic_block(self.func, "ret_miss");
                let here = self.b.get_insert_block();
                self.b.position_at_end(m);
                self.b.build_return(None)?;
                if let Some(h) = here {
                    self.b.position_at_end(h);
                }
                m
            }
        };
        self.b.build_conditional_branch(ok, cont, miss)?;
        Ok(cont)
    }

    /// Emit the control transfer of the instruction just executed. Returns whether the
    /// block is terminated.
    fn finish_insn(&mut self, fl: Flow, pc: u64, next: u64) -> BResult<bool> {
        let ptr = self.ctx.ptr_type(AddressSpace::default());
        let Some(p) = self.pending.take() else {
            return Ok(false);
        };
        match p {
            Pending::Branch(cond, target) => {
                let t = self.block_or_exit(target)?;
                let n = self.block_or_exit(next)?;
                self.b.build_conditional_branch(cond, t, n)?;
            }
            Pending::Trap(Trap::Syscall) => {
                self.store_written()?;
                self.store_state(offsets::PC, self.i64t.const_int(pc, false))?;
                let h = self.helper(helpers::SYSCALL, None, &[ptr.into()]);
                self.b.build_call(h, &[self.st.into()], "")?;
                self.check_return(next)?;
            }
            Pending::Trap(t) => self.emit_trap(pc, t)?,
            Pending::FenceI => {
                self.store_written()?;
                self.store_state(offsets::PC, self.i64t.const_int(next, false))?;
                let h = self.helper(helpers::FENCE_I, None, &[ptr.into()]);
                self.b.build_call(h, &[self.st.into()], "")?;
                self.check_return(next)?;
            }
            Pending::Jump(target) => match fl {
                Flow::Jump(t) => self.goto_pc(t)?,
                Flow::Return => self.exit_to(target)?,
                Flow::Call(t) => {
                    self.store_written()?;
                    if self.program.function(t).is_some() {
                        let f = declare_guest_fn(self.ctx, self.module, t);
                        self.b
                            .build_call(f, &[self.st.into(), self.mem.into()], "")?;
                    } else {
                        let h = self.helper(
                            helpers::CALL,
                            None,
                            &[ptr.into(), ptr.into(), self.i64t.into()],
                        );
                        self.b.build_call(
                            h,
                            &[self.st.into(), self.mem.into(), target.into()],
                            "",
                        )?;
                    }
                    self.check_return(next)?;
                }
                Flow::IndirectCall => {
                    self.store_written()?;
                    let h = self.helper(
                        helpers::CALL,
                        None,
                        &[ptr.into(), ptr.into(), self.i64t.into()],
                    );
                    self.b
                        .build_call(h, &[self.st.into(), self.mem.into(), target.into()], "")?;
                    self.check_return(next)?;
                }
                _ => {
                    // Indirect jump (or a jump with an unusual link register).
                    let slow = self.ctx.append_basic_block(self.func, "ijump_slow");
                    // Known targets: the recovered jump table, else the function's
                    // resume points (e.g. targets a previous run recorded).
                    let targets = match self.guest.jump_tables.get(&pc) {
                        Some(t) => t.as_slice(),
                        None => self.guest.resume_points.as_slice(),
                    };
                    let cases: Vec<_> = targets
                        .iter()
                        .filter_map(|t| {
                            Some((self.i64t.const_int(*t, false), *self.blocks.get(t)?))
                        })
                        .collect();
                    if cases.is_empty() {
                        self.b.build_unconditional_branch(slow)?;
                    } else {
                        self.b.build_switch(target, slow, &cases)?;
                    }
                    self.b.position_at_end(slow);
                    self.store_written()?;
                    let h = self.helper(
                        helpers::JUMP,
                        Some(self.i64t),
                        &[
                            ptr.into(),
                            ptr.into(),
                            self.i64t.into(),
                            self.i64t.into(),
                            self.i64t.into(),
                            self.i64t.into(),
                        ],
                    );
                    let func = self.i64t.const_int(self.guest.entry, false);
                    self.b.build_call(
                        h,
                        &[
                            self.st.into(),
                            self.mem.into(),
                            target.into(),
                            func.into(),
                            self.entry_ra.into(),
                            self.entry_sp.into(),
                        ],
                        "",
                    )?;
                    match self.reenter {
                        Some(re) => {
                            self.b.build_unconditional_branch(re)?;
                        }
                        None => {
                            self.b.build_return(None)?;
                        }
                    }
                }
            },
        }
        Ok(true)
    }

    /// The block for `pc` (through a signal poll for backward edges), or a new block
    /// that leaves the function for `pc`.
    fn block_or_exit(&mut self, pc: u64) -> BResult<BasicBlock<'ctx>> {
        if self.blocks.contains_key(&pc) {
            return self.edge_to(pc);
        }
        let here = self.b.get_insert_block();
        let bb = self
            .ctx
            .append_basic_block(self.func, &format!("out{pc:x}"));
        self.b.position_at_end(bb);
        self.tail_call(pc)?;
        if let Some(h) = here {
            self.b.position_at_end(h);
        }
        Ok(bb)
    }
}
