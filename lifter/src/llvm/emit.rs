//! The semantics builder that emits LLVM IR: `rv::exec` drives it one instruction at a
//! time. Integer values are `i64`, booleans `i1`; floating-point values travel as `i64`
//! bits and are bitcast to `float`/`double` around each operation.

use inkwell::types::{FloatType, IntType};
use inkwell::values::{BasicMetadataValueEnum, BasicValue, BasicValueEnum, FloatValue, IntValue};
use inkwell::{AtomicOrdering, AtomicRMWBinOp, IntPredicate};

use super::{helpers, FnBuilder, Pending};
use crate::rv::insn::csr;
use crate::sem::{Amo, Cmp, FBin, FCmp, FOp, Round, Sem, Trap, FW};
use crate::state::{offsets, GUEST_ADDR_MASK, NO_RESERVATION};

/// LLVM `memory(...)` attribute values (`MemoryEffects`: two ModRef bits, read = 1 and
/// write = 2, per location: argmem, inaccessiblemem, other): the FP environment is
/// inaccessible memory.
const FENV_READ: u64 = 1 << 2;
const FENV_READ_WRITE: u64 = 3 << 2;

/// Unwrap an LLVM builder result. Builder errors only arise from malformed IR, i.e.
/// bugs in this file, never from guest input.
fn ok<T>(r: Result<T, inkwell::builder::BuilderError>) -> T {
    r.expect("LLVM IR builder misuse")
}

impl<'ctx> FnBuilder<'ctx, '_> {
    fn int_ty(&self, bits: u32) -> IntType<'ctx> {
        match bits {
            1 => self.ctx.bool_type(),
            8 => self.ctx.i8_type(),
            16 => self.ctx.i16_type(),
            32 => self.ctx.i32_type(),
            64 => self.ctx.i64_type(),
            _ => self.ctx.i128_type(),
        }
    }

    fn float_ty(&self, w: FW) -> FloatType<'ctx> {
        match w {
            FW::S => self.ctx.f32_type(),
            FW::D => self.ctx.f64_type(),
        }
    }

    fn to_float(&self, w: FW, v: IntValue<'ctx>) -> FloatValue<'ctx> {
        let v = match w {
            FW::S => ok(self.b.build_int_truncate(v, self.ctx.i32_type(), "")),
            FW::D => v,
        };
        ok(self.b.build_bit_cast(v, self.float_ty(w), "")).into_float_value()
    }

    fn bits_of_float(&self, w: FW, v: FloatValue<'ctx>) -> IntValue<'ctx> {
        let bits = ok(self.b.build_bit_cast(v, self.int_ty(w.bits()), "")).into_int_value();
        match w {
            FW::S => ok(self.b.build_int_z_extend(bits, self.i64t, "")),
            FW::D => bits,
        }
    }

    fn intrinsic(
        &self,
        name: &str,
        types: &[inkwell::types::BasicTypeEnum<'ctx>],
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> BasicValueEnum<'ctx> {
        let f = inkwell::intrinsics::Intrinsic::find(name)
            .and_then(|i| i.get_declaration(self.module, types))
            .unwrap_or_else(|| panic!("LLVM intrinsic {name} missing"));
        ok(self.b.build_call(f, args, ""))
            .try_as_basic_value()
            .expect_basic("intrinsic value")
    }

    /// A call to the constrained (strict exception semantics) floating-point intrinsic
    /// `name`: the backend may not fold, speculate, duplicate or drop it, so the host's
    /// exception flags are exactly the guest's (see `rv::exec::fp`). `rounding` adds
    /// the rounding-mode argument the rounding operations take.
    fn constrained(
        &self,
        name: &str,
        types: &[inkwell::types::BasicTypeEnum<'ctx>],
        args: &[BasicMetadataValueEnum<'ctx>],
        rounding: bool,
    ) -> BasicValueEnum<'ctx> {
        let mut all = args.to_vec();
        if rounding {
            all.push(self.ctx.metadata_string("round.tonearest").into());
        }
        all.push(self.ctx.metadata_string("fpexcept.strict").into());
        self.intrinsic(name, types, &all)
    }

    fn constrained_fcmp(
        &self,
        op: FCmp,
        a: FloatValue<'ctx>,
        b: FloatValue<'ctx>,
    ) -> IntValue<'ctx> {
        let (name, pred) = match op {
            FCmp::Eq => ("fcmp", "oeq"),
            FCmp::Lt => ("fcmp", "olt"),
            FCmp::Le => ("fcmp", "ole"),
            FCmp::Uno => ("fcmp", "uno"),
            FCmp::SigLt => ("fcmps", "olt"),
            FCmp::SigLe => ("fcmps", "ole"),
        };
        let name = format!("llvm.experimental.constrained.{name}");
        let pred = self.ctx.metadata_string(pred).into();
        let except = self.ctx.metadata_string("fpexcept.strict").into();
        self.intrinsic(
            &name,
            &[a.get_type().into()],
            &[a.into(), b.into(), pred, except],
        )
        .into_int_value()
    }

    /// A runtime helper that only touches the floating-point environment: declared
    /// `memory(inaccessiblemem: …)` (where LLVM keeps the FP environment), so calls to it
    /// order with the constrained operations but leave the guest state in registers.
    fn fenv_helper(
        &self,
        name: &str,
        ret: Option<IntType<'ctx>>,
        params: &[inkwell::types::BasicMetadataTypeEnum<'ctx>],
        effects: u64,
    ) -> inkwell::values::FunctionValue<'ctx> {
        use inkwell::attributes::{Attribute, AttributeLoc};
        if let Some(f) = self.module.get_function(name) {
            return f;
        }
        let f = self.helper(name, ret, params);
        let memory = self
            .ctx
            .create_enum_attribute(Attribute::get_named_enum_kind_id("memory"), effects);
        f.add_attribute(AttributeLoc::Function, memory);
        for name in ["nounwind", "willreturn", "nosync", "nofree"] {
            let a = self
                .ctx
                .create_enum_attribute(Attribute::get_named_enum_kind_id(name), 0);
            f.add_attribute(AttributeLoc::Function, a);
        }
        f
    }

    /// Host pointer for a guest address: `mem + (addr & mask)`.
    fn guest_ptr(&self, addr: IntValue<'ctx>) -> inkwell::values::PointerValue<'ctx> {
        let mask = self.i64t.const_int(GUEST_ADDR_MASK, false);
        let off = ok(self.b.build_and(addr, mask, ""));
        // SAFETY: byte GEP into the guest region; the mask keeps it inside the
        // reservation (plus guard). inkwell marks GEP unsafe only for IR validity.
        ok(unsafe { self.b.build_gep(self.ctx.i8_type(), self.mem, &[off], "") })
    }

    fn ordering(aqrl: u8) -> AtomicOrdering {
        match aqrl & 3 {
            0 => AtomicOrdering::Monotonic,
            2 => AtomicOrdering::Acquire,
            1 => AtomicOrdering::Release,
            _ => AtomicOrdering::SequentiallyConsistent,
        }
    }

    /// `llvm.ctlz`/`llvm.cttz` on the low `bits` bits (zero input defined), as an i64.
    fn count_bits(&self, intrinsic: &str, a: IntValue<'ctx>, bits: u32) -> IntValue<'ctx> {
        if bits >= 64 {
            let f = self.ctx.bool_type().const_zero();
            return self
                .intrinsic(intrinsic, &[self.i64t.into()], &[a.into(), f.into()])
                .into_int_value();
        }
        let t = self.int_ty(bits);
        let v = ok(self.b.build_int_truncate(a, t, ""));
        let f = self.ctx.bool_type().const_zero();
        let r = self
            .intrinsic(intrinsic, &[t.into()], &[v.into(), f.into()])
            .into_int_value();
        ok(self.b.build_int_z_extend(r, self.i64t, ""))
    }

    fn reg_slot(&self, f: bool, r: u8) -> inkwell::values::PointerValue<'ctx> {
        let slot = if f {
            self.f[r as usize]
        } else {
            self.x[r as usize]
        };
        slot.expect("register not scanned")
    }
}

impl<'ctx> Sem for FnBuilder<'ctx, '_> {
    type I = IntValue<'ctx>;
    type B = IntValue<'ctx>;

    fn imm(&mut self, v: u64) -> Self::I {
        self.i64t.const_int(v, false)
    }
    fn pc(&self) -> u64 {
        self.pc
    }

    fn xreg(&mut self, r: u8) -> Self::I {
        if r == 0 {
            return self.i64t.const_zero();
        }
        let p = self.reg_slot(false, r);
        ok(self.b.build_load(self.i64t, p, "")).into_int_value()
    }
    fn set_xreg(&mut self, r: u8, v: Self::I) {
        if r != 0 {
            let p = self.reg_slot(false, r);
            ok(self.b.build_store(p, v));
        }
    }
    fn freg(&mut self, r: u8) -> Self::I {
        let p = self.reg_slot(true, r);
        ok(self.b.build_load(self.i64t, p, "")).into_int_value()
    }
    fn set_freg(&mut self, r: u8, v: Self::I) {
        let p = self.reg_slot(true, r);
        ok(self.b.build_store(p, v));
    }

    fn add(&mut self, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_int_add(a, b, ""))
    }
    fn sub(&mut self, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_int_sub(a, b, ""))
    }
    fn mul(&mut self, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_int_mul(a, b, ""))
    }
    fn mulh(&mut self, a: Self::I, b: Self::I, a_signed: bool, b_signed: bool) -> Self::I {
        let i128t = self.ctx.i128_type();
        let ext = |s: &Self, v, signed| {
            if signed {
                ok(s.b.build_int_s_extend(v, i128t, ""))
            } else {
                ok(s.b.build_int_z_extend(v, i128t, ""))
            }
        };
        let a = ext(self, a, a_signed);
        let b = ext(self, b, b_signed);
        let p = ok(self.b.build_int_mul(a, b, ""));
        let hi = ok(self
            .b
            .build_right_shift(p, i128t.const_int(64, false), false, ""));
        ok(self.b.build_int_truncate(hi, self.i64t, ""))
    }
    fn div(&mut self, a: Self::I, b: Self::I, signed: bool) -> Self::I {
        if signed {
            ok(self.b.build_int_signed_div(a, b, ""))
        } else {
            ok(self.b.build_int_unsigned_div(a, b, ""))
        }
    }
    fn rem(&mut self, a: Self::I, b: Self::I, signed: bool) -> Self::I {
        if signed {
            ok(self.b.build_int_signed_rem(a, b, ""))
        } else {
            ok(self.b.build_int_unsigned_rem(a, b, ""))
        }
    }
    fn and(&mut self, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_and(a, b, ""))
    }
    fn or(&mut self, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_or(a, b, ""))
    }
    fn xor(&mut self, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_xor(a, b, ""))
    }
    fn shl(&mut self, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_left_shift(a, b, ""))
    }
    fn lshr(&mut self, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_right_shift(a, b, false, ""))
    }
    fn ashr(&mut self, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_right_shift(a, b, true, ""))
    }
    fn sext(&mut self, a: Self::I, bits: u32) -> Self::I {
        if bits >= 64 {
            return a;
        }
        let t = ok(self.b.build_int_truncate(a, self.int_ty(bits), ""));
        ok(self.b.build_int_s_extend(t, self.i64t, ""))
    }
    fn zext(&mut self, a: Self::I, bits: u32) -> Self::I {
        if bits >= 64 {
            return a;
        }
        let t = ok(self.b.build_int_truncate(a, self.int_ty(bits), ""));
        ok(self.b.build_int_z_extend(t, self.i64t, ""))
    }
    fn clz(&mut self, a: Self::I, bits: u32) -> Self::I {
        self.count_bits("llvm.ctlz", a, bits)
    }
    fn ctz(&mut self, a: Self::I, bits: u32) -> Self::I {
        self.count_bits("llvm.cttz", a, bits)
    }
    fn popcount(&mut self, a: Self::I) -> Self::I {
        self.intrinsic("llvm.ctpop", &[self.i64t.into()], &[a.into()])
            .into_int_value()
    }
    fn bswap(&mut self, a: Self::I) -> Self::I {
        self.intrinsic("llvm.bswap", &[self.i64t.into()], &[a.into()])
            .into_int_value()
    }

    fn cmp(&mut self, op: Cmp, a: Self::I, b: Self::I) -> Self::B {
        let p = match op {
            Cmp::Eq => IntPredicate::EQ,
            Cmp::Ne => IntPredicate::NE,
            Cmp::Lt => IntPredicate::SLT,
            Cmp::Ge => IntPredicate::SGE,
            Cmp::Ltu => IntPredicate::ULT,
            Cmp::Geu => IntPredicate::UGE,
        };
        ok(self.b.build_int_compare(p, a, b, ""))
    }
    fn select(&mut self, c: Self::B, a: Self::I, b: Self::I) -> Self::I {
        ok(self.b.build_select(c, a, b, "")).into_int_value()
    }
    fn bool_and(&mut self, a: Self::B, b: Self::B) -> Self::B {
        ok(self.b.build_and(a, b, ""))
    }
    fn bool_or(&mut self, a: Self::B, b: Self::B) -> Self::B {
        ok(self.b.build_or(a, b, ""))
    }
    fn bool_to_int(&mut self, c: Self::B) -> Self::I {
        ok(self.b.build_int_z_extend(c, self.i64t, ""))
    }
    fn if_else<C, H>(&mut self, c: Self::B, cold: C, hot: H) -> Self::I
    where
        C: FnOnce(&mut Self) -> Self::I,
        H: FnOnce(&mut Self) -> Self::I,
    {
        let cold_bb = self.ctx.append_basic_block(self.func, "cold");
        let hot_bb = self.ctx.append_basic_block(self.func, "hot");
        let join = self.ctx.append_basic_block(self.func, "join");
        let br = ok(self.b.build_conditional_branch(c, cold_bb, hot_bb));
        self.mark_unlikely(br);
        self.b.position_at_end(cold_bb);
        let cv = cold(self);
        let cold_end = self.b.get_insert_block().expect("positioned");
        ok(self.b.build_unconditional_branch(join));
        self.b.position_at_end(hot_bb);
        let hv = hot(self);
        let hot_end = self.b.get_insert_block().expect("positioned");
        ok(self.b.build_unconditional_branch(join));
        self.b.position_at_end(join);
        let phi = ok(self.b.build_phi(self.i64t, ""));
        phi.add_incoming(&[(&cv, cold_end), (&hv, hot_end)]);
        phi.as_basic_value().into_int_value()
    }

    fn load(&mut self, addr: Self::I, size: u32) -> Self::I {
        let p = self.guest_ptr(addr);
        let t = self.int_ty(size * 8);
        let v = ok(self.b.build_load(t, p, ""));
        if let Some(inst) = v.as_instruction_value() {
            let _ = inst.set_alignment(1);
        }
        let v = v.into_int_value();
        if size < 8 {
            ok(self.b.build_int_z_extend(v, self.i64t, ""))
        } else {
            v
        }
    }
    fn store(&mut self, addr: Self::I, v: Self::I, size: u32) {
        let p = self.guest_ptr(addr);
        let v = if size < 8 {
            ok(self.b.build_int_truncate(v, self.int_ty(size * 8), ""))
        } else {
            v
        };
        let inst = ok(self.b.build_store(p, v));
        let _ = inst.set_alignment(1);
    }
    fn load_reserved(&mut self, addr: Self::I, size: u32, aqrl: u8) -> Self::I {
        let p = self.guest_ptr(addr);
        let t = self.int_ty(size * 8);
        let v = ok(self.b.build_load(t, p, ""));
        if let Some(inst) = v.as_instruction_value() {
            let _ = inst.set_alignment(size);
            let _ = inst.set_atomic_ordering(match aqrl & 2 {
                0 => AtomicOrdering::Monotonic,
                _ => AtomicOrdering::Acquire,
            });
        }
        let v = ok(self
            .b
            .build_int_z_extend_or_bit_cast(v.into_int_value(), self.i64t, ""));
        let a = ok(self
            .b
            .build_and(addr, self.i64t.const_int(GUEST_ADDR_MASK, false), ""));
        self.store_state(offsets::RES_ADDR, a).expect("store");
        self.store_state(offsets::RES_VAL, v).expect("store");
        v
    }
    fn store_conditional(&mut self, addr: Self::I, v: Self::I, size: u32, aqrl: u8) -> Self::I {
        let a = ok(self
            .b
            .build_and(addr, self.i64t.const_int(GUEST_ADDR_MASK, false), ""));
        let res = self.load_state(offsets::RES_ADDR).expect("load");
        let same = ok(self.b.build_int_compare(IntPredicate::EQ, res, a, ""));
        let try_bb = self.ctx.append_basic_block(self.func, "sc_try");
        let done = self.ctx.append_basic_block(self.func, "sc_done");
        let from = self.b.get_insert_block().expect("positioned");
        ok(self.b.build_conditional_branch(same, try_bb, done));
        self.b.position_at_end(try_bb);
        let t = self.int_ty(size * 8);
        let expected = self.load_state(offsets::RES_VAL).expect("load");
        let expected = ok(self.b.build_int_truncate_or_bit_cast(expected, t, ""));
        let new = ok(self.b.build_int_truncate_or_bit_cast(v, t, ""));
        let p = self.guest_ptr(a);
        let ord = match Self::ordering(aqrl) {
            AtomicOrdering::Monotonic => AtomicOrdering::Monotonic,
            AtomicOrdering::Acquire => AtomicOrdering::Acquire,
            AtomicOrdering::Release => AtomicOrdering::Release,
            _ => AtomicOrdering::SequentiallyConsistent,
        };
        let fail_ord = match ord {
            AtomicOrdering::SequentiallyConsistent => AtomicOrdering::SequentiallyConsistent,
            AtomicOrdering::Acquire => AtomicOrdering::Acquire,
            _ => AtomicOrdering::Monotonic,
        };
        let pair = ok(self.b.build_cmpxchg(p, expected, new, ord, fail_ord));
        let success = ok(self.b.build_extract_value(pair, 1, "")).into_int_value();
        let code = ok(self.b.build_select(
            success,
            self.i64t.const_zero(),
            self.i64t.const_int(1, false),
            "",
        ))
        .into_int_value();
        let try_end = self.b.get_insert_block().expect("positioned");
        ok(self.b.build_unconditional_branch(done));
        self.b.position_at_end(done);
        let phi = ok(self.b.build_phi(self.i64t, ""));
        let one = self.i64t.const_int(1, false);
        phi.add_incoming(&[(&one, from), (&code, try_end)]);
        self.store_state(
            offsets::RES_ADDR,
            self.i64t.const_int(NO_RESERVATION, false),
        )
        .expect("store");
        phi.as_basic_value().into_int_value()
    }
    fn amo(&mut self, op: Amo, addr: Self::I, v: Self::I, size: u32, aqrl: u8) -> Self::I {
        let p = self.guest_ptr(addr);
        let t = self.int_ty(size * 8);
        let v = ok(self.b.build_int_truncate_or_bit_cast(v, t, ""));
        let op = match op {
            Amo::Swap => AtomicRMWBinOp::Xchg,
            Amo::Add => AtomicRMWBinOp::Add,
            Amo::Xor => AtomicRMWBinOp::Xor,
            Amo::And => AtomicRMWBinOp::And,
            Amo::Or => AtomicRMWBinOp::Or,
            Amo::Min => AtomicRMWBinOp::Min,
            Amo::Max => AtomicRMWBinOp::Max,
            Amo::Minu => AtomicRMWBinOp::UMin,
            Amo::Maxu => AtomicRMWBinOp::UMax,
        };
        let old = ok(self.b.build_atomicrmw(op, p, v, Self::ordering(aqrl)));
        ok(self.b.build_int_z_extend_or_bit_cast(old, self.i64t, ""))
    }
    fn fence(&mut self) {
        ok(self
            .b
            .build_fence(AtomicOrdering::SequentiallyConsistent, false, ""));
    }
    fn fence_i(&mut self) {
        self.pending = Some(Pending::FenceI);
    }

    fn fbin(&mut self, op: FBin, w: FW, a: Self::I, b: Self::I) -> Self::I {
        let a = self.to_float(w, a);
        let b = self.to_float(w, b);
        let name = match op {
            FBin::Add => "llvm.experimental.constrained.fadd",
            FBin::Sub => "llvm.experimental.constrained.fsub",
            FBin::Mul => "llvm.experimental.constrained.fmul",
            FBin::Div => "llvm.experimental.constrained.fdiv",
        };
        let r = self.constrained(
            name,
            &[self.float_ty(w).into()],
            &[a.into(), b.into()],
            true,
        );
        self.bits_of_float(w, r.into_float_value())
    }
    fn fsqrt(&mut self, w: FW, a: Self::I) -> Self::I {
        let a = self.to_float(w, a);
        let r = self.constrained(
            "llvm.experimental.constrained.sqrt",
            &[self.float_ty(w).into()],
            &[a.into()],
            true,
        );
        self.bits_of_float(w, r.into_float_value())
    }
    fn ffma(&mut self, w: FW, a: Self::I, b: Self::I, c: Self::I) -> Self::I {
        let (a, b, c) = (
            self.to_float(w, a),
            self.to_float(w, b),
            self.to_float(w, c),
        );
        let r = self.constrained(
            "llvm.experimental.constrained.fma",
            &[self.float_ty(w).into()],
            &[a.into(), b.into(), c.into()],
            true,
        );
        self.bits_of_float(w, r.into_float_value())
    }
    fn fcmp(&mut self, op: FCmp, w: FW, a: Self::I, b: Self::I) -> Self::B {
        let (a, b) = (self.to_float(w, a), self.to_float(w, b));
        self.constrained_fcmp(op, a, b)
    }
    fn fround(&mut self, w: FW, a: Self::I, rm: Round) -> Self::I {
        let a = self.to_float(w, a);
        // These never raise inexact (x86: roundsd with the precision exception
        // suppressed; ties-away has no instruction and becomes a call to libm's `round`).
        let name = match rm {
            Round::Rne => "llvm.experimental.constrained.roundeven",
            Round::Rtz => "llvm.experimental.constrained.trunc",
            Round::Rdn => "llvm.experimental.constrained.floor",
            Round::Rup => "llvm.experimental.constrained.ceil",
            Round::Rmm => "llvm.experimental.constrained.round",
        };
        let r = self.constrained(name, &[self.float_ty(w).into()], &[a.into()], false);
        self.bits_of_float(w, r.into_float_value())
    }
    fn fcvt_to_int(&mut self, w: FW, a: Self::I, bits: u32, signed: bool) -> Self::I {
        // Saturate without ever converting an out-of-range value (which would raise
        // invalid): convert 0 instead and pick the bound.
        let ft = self.float_ty(w);
        let f = self.to_float(w, a);
        let (lo, lo_inclusive, hi) = crate::sem::int_range(bits, signed);
        let lo_c = ft.const_float(lo);
        let hi_c = ft.const_float(hi);
        let above_lo = if lo_inclusive {
            self.constrained_fcmp(FCmp::Le, lo_c, f)
        } else {
            self.constrained_fcmp(FCmp::Lt, lo_c, f)
        };
        let below_hi = self.constrained_fcmp(FCmp::Lt, f, hi_c);
        let fits = ok(self.b.build_and(above_lo, below_hi, ""));
        let safe = ok(self.b.build_select(fits, f, ft.const_zero(), "")).into_float_value();
        let t = self.int_ty(bits);
        let name = if signed {
            "llvm.experimental.constrained.fptosi"
        } else {
            "llvm.experimental.constrained.fptoui"
        };
        let v = self
            .constrained(name, &[t.into(), ft.into()], &[safe.into()], false)
            .into_int_value();
        let v = if bits == 64 {
            v
        } else if signed {
            ok(self.b.build_int_s_extend(v, self.i64t, ""))
        } else {
            ok(self.b.build_int_z_extend(v, self.i64t, ""))
        };
        let (min, max) = match (bits, signed) {
            (32, true) => (i32::MIN as i64 as u64, i32::MAX as u64),
            (32, false) => (0, u32::MAX as u64),
            (_, true) => (i64::MIN as u64, i64::MAX as u64),
            _ => (0, u64::MAX),
        };
        let negative = self.constrained_fcmp(FCmp::Lt, f, ft.const_zero());
        let (min, max) = (
            self.i64t.const_int(min, false),
            self.i64t.const_int(max, false),
        );
        let bound = ok(self.b.build_select(negative, min, max, "")).into_int_value();
        let nan = self.constrained_fcmp(FCmp::Uno, f, f);
        let bound =
            ok(self.b.build_select(nan, self.i64t.const_zero(), bound, "")).into_int_value();
        ok(self.b.build_select(fits, v, bound, "")).into_int_value()
    }
    fn fcvt_from_int(&mut self, w: FW, a: Self::I, bits: u32, signed: bool) -> Self::I {
        let v = if bits < 64 {
            ok(self.b.build_int_truncate(a, self.int_ty(bits), ""))
        } else {
            a
        };
        let name = if signed {
            "llvm.experimental.constrained.sitofp"
        } else {
            "llvm.experimental.constrained.uitofp"
        };
        let r = self.constrained(
            name,
            &[self.float_ty(w).into(), v.get_type().into()],
            &[v.into()],
            true,
        );
        self.bits_of_float(w, r.into_float_value())
    }
    fn fcvt_float(&mut self, from: FW, to: FW, a: Self::I) -> Self::I {
        let a = self.to_float(from, a);
        let types = [self.float_ty(to).into(), self.float_ty(from).into()];
        let r = match (from, to) {
            (FW::D, FW::S) => self
                .constrained(
                    "llvm.experimental.constrained.fptrunc",
                    &types,
                    &[a.into()],
                    true,
                )
                .into_float_value(),
            (FW::S, FW::D) => self
                .constrained(
                    "llvm.experimental.constrained.fpext",
                    &types,
                    &[a.into()],
                    false,
                )
                .into_float_value(),
            _ => a,
        };
        self.bits_of_float(to, r)
    }
    fn host_fflags(&mut self, clear: bool) -> Self::I {
        // Reading only: LLVM may drop or merge reads no operation separates.
        let (name, effects) = if clear {
            (helpers::FFLAGS_TAKE, FENV_READ_WRITE)
        } else {
            (helpers::FFLAGS, FENV_READ)
        };
        let h = self.fenv_helper(name, Some(self.i64t), &[], effects);
        ok(self.b.build_call(h, &[], ""))
            .try_as_basic_value()
            .expect_basic("value")
            .into_int_value()
    }
    fn fraise(&mut self, op: FOp, w: FW, frm: Self::I, args: [Self::I; 3], keep: Self::I) {
        let i32t = self.ctx.i32_type();
        let h = self.fenv_helper(
            helpers::FRAISE,
            None,
            &[
                i32t.into(),
                i32t.into(),
                self.i64t.into(),
                self.i64t.into(),
                self.i64t.into(),
                self.i64t.into(),
                self.i64t.into(),
            ],
            FENV_READ_WRITE,
        );
        let op = i32t.const_int(op.code() as u64, false);
        let w = i32t.const_int(w.bits() as u64, false);
        let [a, b, c] = args;
        ok(self.b.build_call(
            h,
            &[
                op.into(),
                w.into(),
                frm.into(),
                a.into(),
                b.into(),
                c.into(),
                keep.into(),
            ],
            "",
        ));
    }

    fn csr_read(&mut self, n: u16) -> Option<Self::I> {
        match n {
            csr::FCSR => Some(self.load_state(offsets::FCSR).expect("load")),
            csr::CYCLE | csr::TIME | csr::INSTRET => {
                let ptr = self.ctx.ptr_type(inkwell::AddressSpace::default());
                let h = self.helper(
                    helpers::CSR,
                    Some(self.i64t),
                    &[ptr.into(), self.ctx.i32_type().into()],
                );
                let c = self.ctx.i32_type().const_int(n as u64, false);
                let v = ok(self.b.build_call(h, &[self.st.into(), c.into()], ""));
                Some(
                    v.try_as_basic_value()
                        .expect_basic("value")
                        .into_int_value(),
                )
            }
            _ => None,
        }
    }
    fn csr_write(&mut self, n: u16, v: Self::I) -> bool {
        if n != csr::FCSR {
            return false;
        }
        self.store_state(offsets::FCSR, v).expect("store");
        true
    }

    fn jump(&mut self, target: Self::I) {
        self.pending = Some(Pending::Jump(target));
    }
    fn branch(&mut self, cond: Self::B, target: u64) {
        self.pending = Some(Pending::Branch(cond, target));
    }
    fn trap(&mut self, t: Trap) {
        self.pending = Some(Pending::Trap(t));
    }

    fn trap_if(&mut self, cond: Self::B, t: Trap) {
        let raise = self.ctx.append_basic_block(self.func, "trap");
        let cont = self.ctx.append_basic_block(self.func, "no_trap");
        ok(self.b.build_conditional_branch(cond, raise, cont));
        self.b.position_at_end(raise);
        ok(self.emit_trap(self.pc, t));
        self.b.position_at_end(cont);
    }
}
