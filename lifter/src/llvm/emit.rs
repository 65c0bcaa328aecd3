//! The semantics builder that emits LLVM IR: `rv::exec` drives it one instruction at a
//! time. Integer values are `i64`, booleans `i1`; floating-point values travel as `i64`
//! bits and are bitcast to `float`/`double` around each operation.

use inkwell::types::{FloatType, IntType};
use inkwell::values::{BasicMetadataValueEnum, BasicValue, BasicValueEnum, FloatValue, IntValue};
use inkwell::{AtomicOrdering, AtomicRMWBinOp, FloatPredicate, IntPredicate};

use super::{helpers, FnBuilder, Pending};
use crate::rv::insn::csr;
use crate::sem::{Amo, Cmp, FBin, FCmp, Round, Sem, Trap, FW};
use crate::state::{offsets, GUEST_ADDR_MASK, NO_RESERVATION};

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
        let r = match op {
            FBin::Add => ok(self.b.build_float_add(a, b, "")),
            FBin::Sub => ok(self.b.build_float_sub(a, b, "")),
            FBin::Mul => ok(self.b.build_float_mul(a, b, "")),
            FBin::Div => ok(self.b.build_float_div(a, b, "")),
        };
        self.bits_of_float(w, r)
    }
    fn fsqrt(&mut self, w: FW, a: Self::I) -> Self::I {
        let a = self.to_float(w, a);
        let r = self
            .intrinsic("llvm.sqrt", &[self.float_ty(w).into()], &[a.into()])
            .into_float_value();
        self.bits_of_float(w, r)
    }
    fn ffma(&mut self, w: FW, a: Self::I, b: Self::I, c: Self::I) -> Self::I {
        let (a, b, c) = (
            self.to_float(w, a),
            self.to_float(w, b),
            self.to_float(w, c),
        );
        let r = self
            .intrinsic(
                "llvm.fma",
                &[self.float_ty(w).into()],
                &[a.into(), b.into(), c.into()],
            )
            .into_float_value();
        self.bits_of_float(w, r)
    }
    fn fcmp(&mut self, op: FCmp, w: FW, a: Self::I, b: Self::I) -> Self::B {
        let (a, b) = (self.to_float(w, a), self.to_float(w, b));
        let p = match op {
            FCmp::Eq => FloatPredicate::OEQ,
            FCmp::Lt => FloatPredicate::OLT,
            FCmp::Le => FloatPredicate::OLE,
            FCmp::Uno => FloatPredicate::UNO,
        };
        ok(self.b.build_float_compare(p, a, b, ""))
    }
    fn fround(&mut self, w: FW, a: Self::I, rm: Round) -> Self::I {
        let a = self.to_float(w, a);
        let name = match rm {
            Round::Rne => "llvm.roundeven",
            Round::Rtz => "llvm.trunc",
            Round::Rdn => "llvm.floor",
            Round::Rup => "llvm.ceil",
            Round::Rmm => "llvm.round",
        };
        let r = self
            .intrinsic(name, &[self.float_ty(w).into()], &[a.into()])
            .into_float_value();
        self.bits_of_float(w, r)
    }
    fn fcvt_to_int(&mut self, w: FW, a: Self::I, bits: u32, signed: bool) -> Self::I {
        let a = self.to_float(w, a);
        let t = self.int_ty(bits);
        let name = if signed {
            "llvm.fptosi.sat"
        } else {
            "llvm.fptoui.sat"
        };
        let r = self
            .intrinsic(name, &[t.into(), self.float_ty(w).into()], &[a.into()])
            .into_int_value();
        if bits == 64 {
            r
        } else if signed {
            ok(self.b.build_int_s_extend(r, self.i64t, ""))
        } else {
            ok(self.b.build_int_z_extend(r, self.i64t, ""))
        }
    }
    fn fcvt_from_int(&mut self, w: FW, a: Self::I, bits: u32, signed: bool) -> Self::I {
        let v = if bits < 64 {
            ok(self.b.build_int_truncate(a, self.int_ty(bits), ""))
        } else {
            a
        };
        let r = if signed {
            ok(self.b.build_signed_int_to_float(v, self.float_ty(w), ""))
        } else {
            ok(self.b.build_unsigned_int_to_float(v, self.float_ty(w), ""))
        };
        self.bits_of_float(w, r)
    }
    fn fcvt_float(&mut self, from: FW, to: FW, a: Self::I) -> Self::I {
        let a = self.to_float(from, a);
        let r = match (from, to) {
            (FW::D, FW::S) => ok(self.b.build_float_trunc(a, self.float_ty(to), "")),
            (FW::S, FW::D) => ok(self.b.build_float_ext(a, self.float_ty(to), "")),
            _ => a,
        };
        self.bits_of_float(to, r)
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
