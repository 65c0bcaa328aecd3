//! The semantics-builder interface.
//!
//! Every guest instruction's meaning is written once, as a generic function over
//! [`Sem`] (see `rv/exec.rs`). Two implementations exist:
//! - the runtime's interpreter, where values are concrete `u64`s and `bool`s;
//! - the LLVM backend (`llvm` feature), where values are SSA values in a function
//!   being built.
//!
//! Integer values ([`Sem::I`]) are always 64 bits wide; narrower operations are
//! expressed with [`Sem::sext`]/[`Sem::zext`]. Floating-point values travel as their
//! raw IEEE bits in an integer value; `w` selects single (32) or double (64) precision.

/// Integer comparison predicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Ge,
    Ltu,
    Geu,
}

/// Floating-point width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FW {
    S,
    D,
}

impl FW {
    pub fn bits(self) -> u32 {
        match self {
            FW::S => 32,
            FW::D => 64,
        }
    }
    /// The canonical quiet NaN of this width (RISC-V: positive, only the quiet bit set).
    pub fn canonical_nan(self) -> u64 {
        match self {
            FW::S => 0x7fc0_0000,
            FW::D => 0x7ff8_0000_0000_0000,
        }
    }
    pub fn sign_bit(self) -> u64 {
        1 << (self.bits() - 1)
    }
}

/// Binary floating-point arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FBin {
    Add,
    Sub,
    Mul,
    Div,
}

/// Floating-point comparisons (all false when an operand is NaN, except `Uno`).
///
/// The quiet ones raise the invalid flag only for a signalling NaN operand; the
/// signalling ones (IEEE `compareSignaling*`, RISC-V `flt`/`fle`) for any NaN operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FCmp {
    Eq,
    Lt,
    Le,
    /// Unordered: true when either operand is NaN.
    Uno,
    /// `Lt`, signalling.
    SigLt,
    /// `Le`, signalling.
    SigLe,
}

/// The operations whose exception flags depend on the rounding mode (see
/// [`Sem::fraise`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FOp {
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    /// `a * b + c`.
    Fma,
    /// Double to single.
    Narrow,
    /// An integer of `bits` bits (32 or 64), signed or not, to the float width.
    FromInt {
        bits: u32,
        signed: bool,
    },
}

impl FOp {
    /// A compact code, for passing the operation to a runtime helper.
    pub fn code(self) -> u32 {
        match self {
            FOp::Add => 0,
            FOp::Sub => 1,
            FOp::Mul => 2,
            FOp::Div => 3,
            FOp::Sqrt => 4,
            FOp::Fma => 5,
            FOp::Narrow => 6,
            FOp::FromInt { bits, signed } => 8 | (bits == 64) as u32 | (signed as u32) << 1,
        }
    }
    pub fn from_code(c: u32) -> Option<FOp> {
        Some(match c {
            0 => FOp::Add,
            1 => FOp::Sub,
            2 => FOp::Mul,
            3 => FOp::Div,
            4 => FOp::Sqrt,
            5 => FOp::Fma,
            6 => FOp::Narrow,
            8..=11 => FOp::FromInt {
                bits: if c & 1 != 0 { 64 } else { 32 },
                signed: c & 2 != 0,
            },
            _ => return None,
        })
    }
}

/// The range of an integer of `bits` bits as floats, for conversions: `(lo, lo_inclusive,
/// hi)`; an integral value `r` fits when `lo <= r` (`lo < r` if not inclusive) and
/// `r < hi`. Powers of two (and -1), exact in both float widths.
pub fn int_range(bits: u32, signed: bool) -> (f64, bool, f64) {
    match (bits, signed) {
        (32, true) => (-(2f64.powi(31)), true, 2f64.powi(31)),
        (64, true) => (-(2f64.powi(63)), true, 2f64.powi(63)),
        (32, false) => (-1.0, false, 2f64.powi(32)),
        _ => (-1.0, false, 2f64.powi(64)),
    }
}

/// RISC-V `fflags` bits (the layout [`Sem::host_fflags`] reports in).
pub mod fflag {
    pub const NX: u64 = 1;
    pub const UF: u64 = 2;
    pub const OF: u64 = 4;
    pub const DZ: u64 = 8;
    pub const NV: u64 = 16;
}

/// Static rounding modes, as encoded in the `rm` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Round to nearest, ties to even.
    Rne,
    /// Toward zero.
    Rtz,
    /// Down (toward -inf).
    Rdn,
    /// Up (toward +inf).
    Rup,
    /// To nearest, ties away from zero.
    Rmm,
}

impl Round {
    pub fn from_bits(rm: u64) -> Option<Round> {
        Some(match rm {
            0 => Round::Rne,
            1 => Round::Rtz,
            2 => Round::Rdn,
            3 => Round::Rup,
            4 => Round::Rmm,
            _ => return None,
        })
    }
    pub const ALL: [Round; 5] = [Round::Rne, Round::Rtz, Round::Rdn, Round::Rup, Round::Rmm];
}

/// Atomic read-modify-write operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Amo {
    Swap,
    Add,
    Xor,
    And,
    Or,
    Min,
    Max,
    Minu,
    Maxu,
}

/// Why execution leaves the normal instruction stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    /// `ecall`: a system call.
    Syscall,
    /// `ebreak`: SIGTRAP.
    Breakpoint,
    /// An illegal or unsupported encoding: SIGILL.
    Illegal,
}

/// The operations instruction semantics are written in.
pub trait Sem {
    /// A 64-bit integer value.
    type I: Copy;
    /// A boolean value.
    type B: Copy;

    // ---- values ----
    fn imm(&mut self, v: u64) -> Self::I;
    /// The address of the instruction being executed.
    fn pc(&self) -> u64;

    // ---- registers ----
    fn xreg(&mut self, r: u8) -> Self::I;
    /// Writes to `x0` are discarded by the implementation.
    fn set_xreg(&mut self, r: u8, v: Self::I);
    fn freg(&mut self, r: u8) -> Self::I;
    fn set_freg(&mut self, r: u8, v: Self::I);

    // ---- integer arithmetic (64-bit, wrapping) ----
    fn add(&mut self, a: Self::I, b: Self::I) -> Self::I;
    fn sub(&mut self, a: Self::I, b: Self::I) -> Self::I;
    fn mul(&mut self, a: Self::I, b: Self::I) -> Self::I;
    /// High 64 bits of the 128-bit product; `a_signed`/`b_signed` select operand extension.
    fn mulh(&mut self, a: Self::I, b: Self::I, a_signed: bool, b_signed: bool) -> Self::I;
    /// Quotient. The caller guarantees `b != 0` and, when signed, not `MIN / -1`.
    fn div(&mut self, a: Self::I, b: Self::I, signed: bool) -> Self::I;
    /// Remainder, with the same preconditions as [`Sem::div`].
    fn rem(&mut self, a: Self::I, b: Self::I, signed: bool) -> Self::I;
    fn and(&mut self, a: Self::I, b: Self::I) -> Self::I;
    fn or(&mut self, a: Self::I, b: Self::I) -> Self::I;
    fn xor(&mut self, a: Self::I, b: Self::I) -> Self::I;
    /// Shifts; the caller guarantees `b < 64`.
    fn shl(&mut self, a: Self::I, b: Self::I) -> Self::I;
    fn lshr(&mut self, a: Self::I, b: Self::I) -> Self::I;
    fn ashr(&mut self, a: Self::I, b: Self::I) -> Self::I;
    /// Keep the low `bits` bits and sign-extend them to 64.
    fn sext(&mut self, a: Self::I, bits: u32) -> Self::I;
    /// Keep the low `bits` bits and zero-extend them to 64.
    fn zext(&mut self, a: Self::I, bits: u32) -> Self::I;
    /// Leading zeros / trailing zeros / set bits of the low `bits` bits (32 or 64).
    fn clz(&mut self, a: Self::I, bits: u32) -> Self::I;
    fn ctz(&mut self, a: Self::I, bits: u32) -> Self::I;
    fn popcount(&mut self, a: Self::I) -> Self::I;
    fn bswap(&mut self, a: Self::I) -> Self::I;

    fn cmp(&mut self, op: Cmp, a: Self::I, b: Self::I) -> Self::B;
    fn select(&mut self, c: Self::B, a: Self::I, b: Self::I) -> Self::I;
    fn bool_and(&mut self, a: Self::B, b: Self::B) -> Self::B;
    fn bool_or(&mut self, a: Self::B, b: Self::B) -> Self::B;
    /// 1 for true, 0 for false.
    fn bool_to_int(&mut self, c: Self::B) -> Self::I;
    /// Structured conditional: the value of `cold(self)` when `c` holds, else of
    /// `hot(self)`; only the side taken runs. `c` is expected to be rarely true: the
    /// LLVM backend lays `cold` out as unlikely code (a branch with weights and a phi),
    /// the interpreter evaluates one closure. The closures compute values only: they
    /// must not request control effects ([`Sem::jump`], [`Sem::branch`], [`Sem::trap`])
    /// or write registers; they may accrue exception flags (`fcsr`, [`Sem::fraise`]).
    fn if_else<C, H>(&mut self, c: Self::B, cold: C, hot: H) -> Self::I
    where
        C: FnOnce(&mut Self) -> Self::I,
        H: FnOnce(&mut Self) -> Self::I;

    // ---- memory (little-endian; `size` in bytes: 1, 2, 4 or 8) ----
    fn load(&mut self, addr: Self::I, size: u32) -> Self::I;
    fn store(&mut self, addr: Self::I, v: Self::I, size: u32);
    /// Load-reserved: loads and records a reservation (`aqrl`: acquire/release bits).
    fn load_reserved(&mut self, addr: Self::I, size: u32, aqrl: u8) -> Self::I;
    /// Store-conditional: returns 0 on success, 1 on failure; always clears the reservation.
    fn store_conditional(&mut self, addr: Self::I, v: Self::I, size: u32, aqrl: u8) -> Self::I;
    /// Atomic read-modify-write; returns the old value (zero-extended to 64 bits).
    fn amo(&mut self, op: Amo, addr: Self::I, v: Self::I, size: u32, aqrl: u8) -> Self::I;
    fn fence(&mut self);
    /// `fence.i`: code in guest memory may have changed.
    fn fence_i(&mut self);

    // ---- floating point (raw bits; results are not NaN-canonicalised here) ----
    //
    // Exception flags: `fbin`, `fsqrt`, `ffma`, `fcvt_from_int` and `fcvt_float` raise
    // exactly the IEEE 754 flags of the operation rounded to nearest-even into the host's
    // accrued flags (read with `host_fflags`); `fcmp` raises invalid as its quiet or
    // signalling kind says; `fround` and `fcvt_to_int` raise nothing (invalid, at most,
    // for a signalling NaN). Implementations must not fold, speculate, duplicate or drop these
    // operations (the LLVM backend uses constrained intrinsics, the interpreter one host
    // instruction each).
    fn fbin(&mut self, op: FBin, w: FW, a: Self::I, b: Self::I) -> Self::I;
    fn fsqrt(&mut self, w: FW, a: Self::I) -> Self::I;
    /// Fused `a * b + c` with a single rounding.
    fn ffma(&mut self, w: FW, a: Self::I, b: Self::I, c: Self::I) -> Self::I;
    fn fcmp(&mut self, op: FCmp, w: FW, a: Self::I, b: Self::I) -> Self::B;
    /// Round a floating value to an integral floating value in the given mode.
    fn fround(&mut self, w: FW, a: Self::I, rm: Round) -> Self::I;
    /// Convert an integral-valued float to an integer of `bits` bits, saturating; NaN
    /// inputs are handled by the caller (the result for them is unspecified). Result is
    /// sign-/zero-extended to 64 bits.
    fn fcvt_to_int(&mut self, w: FW, a: Self::I, bits: u32, signed: bool) -> Self::I;
    /// Convert the low `bits` bits of `a` (signed or not) to a float, rounding to nearest.
    fn fcvt_from_int(&mut self, w: FW, a: Self::I, bits: u32, signed: bool) -> Self::I;
    /// Convert between float widths (round to nearest on narrowing).
    fn fcvt_float(&mut self, from: FW, to: FW, a: Self::I) -> Self::I;

    /// The exception flags the host has accrued (as [`fflag`] bits) since they were last
    /// cleared; `clear` clears them. The guest's `fflags` are `fcsr`'s plus these.
    fn host_fflags(&mut self, clear: bool) -> Self::I;
    /// Set the host's accrued flags to `keep` (as [`fflag`] bits) plus the flags `op`
    /// raises in rounding mode `frm` (a value in RISC-V's encoding, 0..=4), discarding
    /// its result. For the modes whose flags can differ from round-to-nearest's
    /// (overflow and tininess near the range limits).
    fn fraise(&mut self, op: FOp, w: FW, frm: Self::I, args: [Self::I; 3], keep: Self::I);

    // ---- CSRs and control ----
    /// Read a CSR the backend holds: `FCSR` (the raw field; `fflags`/`frm` are derived
    /// from it by the semantics), `CYCLE`, `TIME`, `INSTRET`. `None` for anything else.
    fn csr_read(&mut self, csr: u16) -> Option<Self::I>;
    /// Write `FCSR` (the only writable user CSR); `false` for anything else.
    fn csr_write(&mut self, csr: u16, v: Self::I) -> bool;

    /// Continue at a computed address.
    fn jump(&mut self, target: Self::I);
    /// Continue at `target` when `cond` holds, otherwise at the next instruction.
    fn branch(&mut self, cond: Self::B, target: u64);
    /// Leave the instruction stream (system call, breakpoint, illegal instruction).
    fn trap(&mut self, t: Trap);
    /// Raise `t` when `cond` holds, before the instruction has any effect: semantics call
    /// this before writing anything, and nothing written after a raised trap is kept.
    fn trap_if(&mut self, cond: Self::B, t: Trap);
}
