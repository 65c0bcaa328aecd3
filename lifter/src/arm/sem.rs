//! What A64 semantics need beyond [`Sem`].
//!
//! [`Sem`] carries integer arithmetic, memory, exclusives (`load_reserved` /
//! `store_conditional` are LDXR/STXR), LSE atomics (`amo`) and scalar floating point.
//! `Sem::xreg`/`set_xreg` address X0..X30 only: the semantics decide whether register
//! number 31 means XZR or SP. A64 adds the stack pointer, the NZCV flags, 128-bit
//! vector registers, the user-visible system registers and lane-wise vector operations.
//!
//! Vector values travel as `[low, high]` 64-bit halves. The lane operations are builder
//! primitives (like [`Sem::fbin`]): the interpreter loops over lanes, an IR backend can
//! map them to vector instructions.

use crate::sem::Sem;

/// A 128-bit vector value as `[low 64 bits, high 64 bits]`.
pub type Vec128<I> = [I; 2];

/// User-visible system registers held in the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysReg {
    Tpidr,
    Fpcr,
    Fpsr,
}

/// Lane-wise binary vector operations (element size given separately).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VBin {
    Add,
    Sub,
    Mul,
    And,
    Orr,
    Eor,
    Bic,
    Orn,
    /// All-ones where equal, else zero (also CMHI/CMHS/CMGT/CMGE/CMTST below).
    CmEq,
    CmHi,
    CmHs,
    CmGt,
    CmGe,
    CmTst,
    UMax,
    UMin,
    SMax,
    SMin,
    /// Pairwise: adjacent element pairs of the concatenation `b:a`.
    AddP,
    UMaxP,
    UMinP,
    SMaxP,
    SMinP,
    Uzp1,
    Uzp2,
    Zip1,
    Zip2,
    Trn1,
    Trn2,
    /// Shift each element of `a` left by the signed low byte of `b` (negative: right).
    UShl,
    SShl,
    /// Saturating add/subtract (unsigned, signed).
    UQAdd,
    SQAdd,
    UQSub,
    SQSub,
    /// Halving add (`(a + b) >> 1` without overflow), rounding halving add.
    UHAdd,
    SHAdd,
    URHAdd,
    SRHAdd,
    /// Absolute difference.
    UAbd,
    SAbd,
}

/// Lane-wise unary vector operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VUn {
    Not,
    Cnt,
    Rbit,
    /// Reverse elements within each 16/32/64-bit container (the operand).
    Rev(u32),
    Abs,
    Neg,
    CmEq0,
    CmGt0,
    CmGe0,
    CmLe0,
    CmLt0,
    /// Across lanes: the result is in element 0, the rest zero.
    AddV,
    UMaxV,
    UMinV,
    SMaxV,
    SMinV,
    /// Narrow: each element to half its size, results packed in the low 64 bits.
    Xtn,
    /// Widen the elements of the low (`false`) or high (`true`) 64 bits to twice the
    /// size, zero- or sign-extending (`signed`).
    Widen {
        high: bool,
        signed: bool,
    },
    /// Pairwise add adjacent elements into elements of twice the size.
    AddLP {
        signed: bool,
    },
    Clz,
    Cls,
    /// Across lanes, widening: the sum in an element of twice the size.
    AddLV {
        signed: bool,
    },
    /// Saturating narrow to half-size elements in the low 64 bits: signed to signed,
    /// unsigned to unsigned, signed to unsigned.
    SQXtn,
    UQXtn,
    SQXtun,
}

/// Lane-wise shifts by an immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VShift {
    Shl,
    UShr,
    SShr,
    /// Shift right then narrow to half-size elements in the low 64 bits.
    Shrn,
}

/// The operations A64 semantics use besides [`Sem`].
pub trait A64Sem: Sem {
    fn sp(&mut self) -> Self::I;
    fn set_sp(&mut self, v: Self::I);
    /// NZCV in bits 31..28.
    fn nzcv(&mut self) -> Self::I;
    fn set_nzcv(&mut self, v: Self::I);
    fn vreg(&mut self, r: u8) -> Vec128<Self::I>;
    fn set_vreg(&mut self, r: u8, v: Vec128<Self::I>);
    fn sysreg(&mut self, r: SysReg) -> Self::I;
    fn set_sysreg(&mut self, r: SysReg, v: Self::I);
    /// CLREX: disarm the exclusive monitor.
    fn clear_exclusive(&mut self);
    /// CAS: atomically replace `expected` by `new` at `addr` (`size` bytes); returns the
    /// old value (zero-extended).
    fn cas(&mut self, addr: Self::I, expected: Self::I, new: Self::I, size: u32) -> Self::I;
    /// LDXP of two 64-bit words: a 128-bit single-copy-atomic load that arms the
    /// exclusive monitor.
    fn load_exclusive_pair(&mut self, addr: Self::I) -> [Self::I; 2];
    /// STXP of two 64-bit words: 0 on success, 1 on failure; disarms the monitor.
    fn store_exclusive_pair(&mut self, addr: Self::I, v: [Self::I; 2]) -> Self::I;
    /// CASP of two 64-bit words: returns the old pair.
    fn cas_pair(
        &mut self,
        addr: Self::I,
        expected: [Self::I; 2],
        new: [Self::I; 2],
    ) -> [Self::I; 2];

    /// `op` on `esize`-bit lanes (8, 16, 32, 64) of `a` and `b`; `q` false: 64-bit
    /// vectors (only low halves are read; the high half of the result is zero).
    fn vbin(
        &mut self,
        op: VBin,
        esize: u32,
        q: bool,
        a: Vec128<Self::I>,
        b: Vec128<Self::I>,
    ) -> Vec128<Self::I>;
    fn vun(&mut self, op: VUn, esize: u32, q: bool, a: Vec128<Self::I>) -> Vec128<Self::I>;
    fn vshift(
        &mut self,
        op: VShift,
        esize: u32,
        q: bool,
        a: Vec128<Self::I>,
        amount: u32,
    ) -> Vec128<Self::I>;
    /// TBL/TBX: bytes of `idx` index the concatenated `table` registers; out-of-range
    /// indices give the byte of `fallback` (zero for TBL, the destination for TBX).
    fn vtbl(
        &mut self,
        table: &[Vec128<Self::I>],
        idx: Vec128<Self::I>,
        fallback: Vec128<Self::I>,
        q: bool,
    ) -> Vec128<Self::I>;
}
