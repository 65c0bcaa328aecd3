//! A64 instructions, one at a time, under vmx's interpreter and qemu-aarch64: a generated
//! bare-metal program (no libc) loads each of several register states (X0-X15, V0-V7,
//! NZCV), runs one test sequence, and writes the resulting registers to stdout; the two
//! outputs must be identical. On a difference the report names the sequence, the input
//! state and the registers that differ.
//!
//! Needs `aarch64-linux-gnu-gcc` and `qemu-aarch64`; skipped without them unless
//! `VMX_REQUIRE_CROSS=1`.

mod common;

use std::fmt::Write as _;
use std::process::Command;

use common::{vmx_cmd, TempDir};

const GCC: &str = "aarch64-linux-gnu-gcc";
const QEMU: &str = "qemu-aarch64";

/// Test sequences (`;` separates instructions). X15 points at a 256-byte writable
/// buffer initialised from the state, X14 at a read-only table; other registers and
/// V0-V7 hold the state's values.
const CASES: &[&str] = &[
    // integer arithmetic and flags
    "add x0, x1, x2",
    "adds x0, x1, x2",
    "adds w0, w1, w2",
    "subs x0, x1, x2",
    "subs w0, w1, w2",
    "cmp x1, x2",
    "cmn w1, w2",
    "add x0, x1, #0xabc, lsl #12",
    "subs w0, w1, #4095",
    "add x0, x1, x2, lsl #7",
    "sub w0, w1, w2, asr #9",
    "adds x0, x1, x2, lsr #63",
    "add x0, x1, w2, sxtw #2",
    "sub x0, x1, w2, uxtb",
    "adds w0, w1, w2, sxth #1",
    "adc x0, x1, x2",
    "adcs w0, w1, w2",
    "sbc x0, x1, x2",
    "sbcs x0, x1, x2",
    "ngcs w0, w1",
    "neg x0, x1",
    "negs w0, w1",
    // logical
    "and x0, x1, #0xff00ff00ff00ff00",
    "orr w0, w1, #0x7ffffffe",
    "eor x0, x1, #0x5555555555555555",
    "ands x0, x1, x2",
    "ands w0, w1, #0xf0",
    "bic x0, x1, x2, ror #13",
    "bics w0, w1, w2, lsl #3",
    "orn x0, x1, x2",
    "eon w0, w1, w2, asr #31",
    "mvn x0, x1",
    "tst x1, #1",
    // moves
    "movz x0, #0x1234, lsl #32",
    "movn w0, #0x1234",
    "movk x1, #0xbeef, lsl #48; mov x0, x1",
    "sub sp, sp, #48; mov x3, sp; add sp, sp, #48; mov x4, sp; sub x0, x4, x3; mov x3, #0; mov x4, #0",
    // bitfields and shifts
    "ubfx x0, x1, #5, #17",
    "sbfx w0, w1, #3, #9",
    "ubfiz x0, x1, #11, #40",
    "sbfiz w0, w1, #30, #2",
    "bfi x1, x2, #8, #16; mov x0, x1",
    "bfxil w1, w2, #4, #12; mov x0, x1",
    "sxtb x0, w1",
    "sxth w0, w1",
    "sxtw x0, w1",
    "uxtb w0, w1",
    "lsl x0, x1, #61",
    "lsr w0, w1, #7",
    "asr x0, x1, #33",
    "ror w0, w1, #5",
    "extr x0, x1, x2, #19",
    "extr w0, w1, w2, #31",
    "lslv x0, x1, x2",
    "lsrv w0, w1, w2",
    "asrv x0, x1, x2",
    "rorv w0, w1, w2",
    // conditional
    "csel x0, x1, x2, lt",
    "csinc w0, w1, w2, hi",
    "csinv x0, x1, x2, vs",
    "csneg w0, w1, w2, ge",
    "cset x0, ls",
    "csetm w0, gt",
    "ccmp x1, x2, #5, ne",
    "ccmn w1, #17, #10, cc",
    "ccmp x1, #3, #0, le",
    // multiply, divide, bit ops
    "mul x0, x1, x2",
    "madd w0, w1, w2, w3",
    "msub x0, x1, x2, x3",
    "smaddl x0, w1, w2, x3",
    "umsubl x0, w1, w2, x3",
    "smulh x0, x1, x2",
    "umulh x0, x1, x2",
    "udiv x0, x1, x2",
    "sdiv w0, w1, w2",
    "sdiv x0, x1, x2",
    "udiv w0, w1, wzr",
    "rbit x0, x1",
    "rbit w0, w1",
    "rev x0, x1",
    "rev w0, w1",
    "rev16 x0, x1",
    "rev32 x0, x1",
    "clz x0, x1",
    "clz w0, w1",
    "cls x0, x1",
    "cls w0, w1",
    // branches (the flags and registers decide)
    "cbz x1, 1f; mov x0, #1; 1:",
    "cbnz w1, 1f; mov x0, #1; 1:",
    "tbz x1, #37, 1f; mov x0, #1; 1:",
    "tbnz w1, #3, 1f; mov x0, #1; 1:",
    "b.ge 1f; mov x0, #1; 1:",
    "b.hi 1f; mov x0, #1; 1:",
    "b.vc 1f; mov x0, #1; 1:",
    "adr x0, 1f; 1:; sub x0, x0, x14",
    "bl 1f; 1:; sub x0, x30, x14",
    // loads and stores (X15: scratch buffer, X14: table)
    "ldr x0, [x14, #8]",
    "ldrb w0, [x14, #3]",
    "ldrsb x0, [x14, #7]",
    "ldrsh w0, [x14, #14]",
    "ldrsw x0, [x14, #20]",
    "ldur x0, [x14, #3]",
    "and x2, x2, #7; ldr x0, [x14, x2, lsl #3]",
    "and w2, w2, #15; ldr w0, [x14, w2, uxtw #2]",
    "and x2, x2, #63; ldrb w0, [x14, x2]",
    "mov x2, #-8; add x3, x14, #64; ldrsw x0, [x3, w2, sxtw #0]",
    "ldp x0, x1, [x14, #16]",
    "ldpsw x0, x1, [x14, #24]",
    "mov x3, x14; ldr x0, [x3, #8]!; sub x1, x3, x14",
    "mov x3, x14; ldr x0, [x3], #24; sub x1, x3, x14",
    "str x1, [x15, #8]; ldr x0, [x15, #8]",
    "strh w1, [x15, #2]; ldr x0, [x15]",
    "stp w1, w2, [x15, #-8]!; ldp x0, x3, [x15]",
    "stur w1, [x15, #1]; ldr x0, [x15]",
    "str q1, [x15]; ldp x0, x3, [x15]",
    "ldr q0, [x14, #16]",
    "ldr d0, [x14, #8]",
    "ldr s0, [x14, #4]",
    "ldp q0, q1, [x14]",
    "ld1 {v0.16b}, [x14]",
    "ld1 {v0.2d, v1.2d}, [x14]",
    "ld1r {v0.4s}, [x14]",
    "ld1 {v0.s}[2], [x14]",
    "st1 {v1.8b}, [x15]; ldr x0, [x15]",
    "ldxr x0, [x14]",
    "ldaxr w0, [x14]",
    "ldxr x1, [x15]; add x1, x1, #1; stxr w2, x1, [x15]; ldr x0, [x15]",
    "stlr x1, [x15]; ldar x0, [x15]",
    "sub x3, x15, #45; ldaxrb w1, [x3]; add w1, w1, #200; stlxrb w2, w1, [x3]; ldr x0, [x15, #-48]; mov x3, #0",
    "ldxrh w1, [x15]; stxrh w2, w1, [x15]; mov x0, x1",
    "casb w1, w2, [x15]; ldr x0, [x15]",
    "casal x1, x2, [x15]; ldr x0, [x15]",
    "ldr x1, [x15]; cas x1, x2, [x15]; ldr x0, [x15]",
    "ldaddh w1, w0, [x15]; ldr x3, [x15]",
    "swpb w1, w0, [x15]; ldr x3, [x15]",
    "ldsmaxb w1, w0, [x15]; ldr x3, [x15]",
    "ldsminh w1, w0, [x15]; ldr x3, [x15]",
    "ldclral x1, x0, [x15]; ldr x3, [x15]",
    "ldeor w1, w0, [x15]; ldr x3, [x15]",
    "ldumin w1, w0, [x15]; ldr x3, [x15]",
    "stset x1, [x15]; ldr x0, [x15]",
    "ldxp x0, x1, [x15]; add x0, x0, #1; stxp w2, x0, x1, [x15]; ldp x3, x4, [x15]",
    "ldaxp w0, w1, [x15]; stlxp w2, w1, w0, [x15]; ldr x3, [x15]",
    "ldp x2, x3, [x15]; casp x2, x3, x4, x5, [x15]; ldp x0, x1, [x15]",
    "caspal x4, x5, x6, x7, [x15]; ldp x0, x1, [x15]",
    "ldr x2, [x15]; mov x3, x2; lsr x3, x3, #32; caspa w2, w3, w4, w5, [x15]; ldr x0, [x15]",
    "ld2 {v0.16b, v1.16b}, [x14]",
    "ld3 {v0.4h, v1.4h, v2.4h}, [x14]",
    "ld4 {v0.4s, v1.4s, v2.4s, v3.4s}, [x14]",
    "st2 {v1.8h, v2.8h}, [x15]; ldp q0, q3, [x15]",
    "mov x3, x14; ld2 {v0.2d, v1.2d}, [x3], #32; sub x0, x3, x14; mov x3, #0",
    // system registers
    "mrs x0, nzcv",
    "msr nzcv, x1; mrs x0, nzcv",
    "msr tpidr_el0, x1; mrs x0, tpidr_el0",
    // The block size is a CPU-model choice (qemu's max CPU differs); DZP must be clear.
    "mrs x0, dczid_el0; and x0, x0, #16",
    // scalar floating point
    "fadd d0, d1, d2",
    "fsub s0, s1, s2",
    "fmul d0, d1, d2",
    "fdiv s0, s1, s2",
    "fnmul d0, d1, d2",
    "fmax d0, d1, d2",
    "fminnm s0, s1, s2",
    "fmadd d0, d1, d2, d3",
    "fmsub s0, s1, s2, s3",
    "fnmadd d0, d1, d2, d3",
    "fnmsub s0, s1, s2, s3",
    "fsqrt d0, d1",
    "fabs s0, s1",
    "fneg d0, d1",
    "fcvt s0, d1",
    "fcvt d0, s1",
    "frintn d0, d1",
    "frintm s0, s1",
    "frintp d0, d1",
    "frintz s0, s1",
    "frinta d0, d1",
    "frintx d0, d1",
    "fcmp d1, d2",
    "fcmpe s1, #0.0",
    "fccmp d1, d2, #3, eq",
    "fcsel d0, d1, d2, mi",
    "fmov d0, #-1.25",
    "fmov s0, #31.0",
    "fmov x0, d1",
    "fmov w0, s1",
    "fmov d0, x1",
    "fmov x0, v1.d[1]",
    "scvtf d0, x1",
    "ucvtf s0, w1",
    "scvtf d0, w1, #7",
    "fcvtzs x0, d1",
    "fcvtzu w0, s1",
    "fcvtzs w0, d1, #3",
    "fcvtns x0, d1",
    "fcvtms w0, s1",
    "fcvtps x0, d1",
    "fcvtas x0, d1",
    "fcvtau w0, d1",
    // Advanced SIMD
    "add v0.16b, v1.16b, v2.16b",
    "sub v0.4s, v1.4s, v2.4s",
    "add d0, d1, d2",
    "mul v0.8h, v1.8h, v2.8h",
    "mla v0.4s, v1.4s, v2.4s",
    "and v0.16b, v1.16b, v2.16b",
    "orr v0.8b, v1.8b, v2.8b",
    "bic v0.16b, v1.16b, v2.16b",
    "orn v0.16b, v1.16b, v2.16b",
    "eor v0.16b, v1.16b, v2.16b",
    "bsl v0.16b, v1.16b, v2.16b",
    "bit v0.16b, v1.16b, v2.16b",
    "bif v0.8b, v1.8b, v2.8b",
    "cmeq v0.16b, v1.16b, v2.16b",
    "cmhs v0.8h, v1.8h, v2.8h",
    "cmhi v0.4s, v1.4s, v2.4s",
    "cmgt v0.2d, v1.2d, v2.2d",
    "cmge v0.16b, v1.16b, v2.16b",
    "cmtst v0.16b, v1.16b, v2.16b",
    "cmeq v0.16b, v1.16b, #0",
    "cmlt v0.8h, v1.8h, #0",
    "cmeq d0, d1, d2",
    "umax v0.16b, v1.16b, v2.16b",
    "smin v0.8h, v1.8h, v2.8h",
    "umaxp v0.16b, v1.16b, v2.16b",
    "uminp v0.4s, v1.4s, v2.4s",
    "addp v0.16b, v1.16b, v2.16b",
    "addp d0, v1.2d",
    "umaxv b0, v1.16b",
    "uminv h0, v1.8h",
    "addv b0, v1.16b",
    "addv s0, v1.4s",
    "cnt v0.16b, v1.16b",
    "not v0.16b, v1.16b",
    "rbit v0.8b, v1.8b",
    "rev64 v0.16b, v1.16b",
    "rev32 v0.8h, v1.8h",
    "rev16 v0.16b, v1.16b",
    "abs v0.4s, v1.4s",
    "neg v0.2d, v1.2d",
    "xtn v0.8b, v1.8h",
    "xtn2 v0.16b, v1.8h",
    "uaddlp v0.8h, v1.16b",
    "shrn v0.8b, v1.8h, #4",
    "shrn2 v0.8h, v1.4s, #9",
    "ushr v0.16b, v1.16b, #3",
    "sshr v0.4s, v1.4s, #31",
    "ushr d0, d1, #63",
    "shl v0.2d, v1.2d, #17",
    "usra v0.8h, v1.8h, #5",
    "uxtl v0.8h, v1.8b",
    "sxtl2 v0.2d, v1.4s",
    "ushll v0.4s, v1.4h, #3",
    "ushl v0.16b, v1.16b, v2.16b",
    "uaddw v0.8h, v1.8h, v2.8b",
    "uaddw2 v0.4s, v1.4s, v2.8h",
    "umull v0.2d, v1.2s, v2.2s",
    "smull2 v0.4s, v1.8h, v2.8h",
    "dup v0.16b, w1",
    "dup v0.2d, x1",
    "dup v0.4s, v1.s[3]",
    "mov b0, v1.b[9]",
    "umov w0, v1.h[5]",
    "umov x0, v1.d[1]",
    "smov x0, v1.b[15]",
    "ins v0.s[1], w1",
    "ins v0.b[13], v1.b[2]",
    "movi v0.16b, #0xa5",
    "movi v0.2d, #0xff00ff0000ffff00",
    "movi v0.4s, #0x3c, lsl #16",
    "mvni v0.8h, #0x12, lsl #8",
    "movi v0.4s, #0x7f, msl #8",
    "orr v0.4s, #0x11, lsl #24",
    "bic v0.8h, #0x80",
    "fmov v0.4s, #1.5",
    "ext v0.16b, v1.16b, v2.16b, #11",
    "ext v0.8b, v1.8b, v2.8b, #3",
    "uzp1 v0.16b, v1.16b, v2.16b",
    "uzp2 v0.8h, v1.8h, v2.8h",
    "zip1 v0.4s, v1.4s, v2.4s",
    "zip2 v0.16b, v1.16b, v2.16b",
    "trn1 v0.8h, v1.8h, v2.8h",
    "trn2 v0.2d, v1.2d, v2.2d",
    "tbl v0.16b, {v1.16b}, v2.16b",
    "tbl v0.8b, {v1.16b, v2.16b}, v3.8b",
    "tbx v0.16b, {v1.16b}, v2.16b",
    "fadd v0.2d, v1.2d, v2.2d",
    "fmul v0.4s, v1.4s, v2.4s",
    "fmla v0.2d, v1.2d, v2.d[1]",
    "fmul v0.4s, v1.4s, v2.s[2]",
    "faddp s0, v1.2s",
    "faddp v0.4s, v1.4s, v2.4s",
    "fcmge v0.2d, v1.2d, v2.2d",
    "scvtf v0.2d, v1.2d",
    "ucvtf s0, s1",
    "fcvtzs v0.4s, v1.4s",
    "fabs v0.2d, v1.2d",
    "mul v0.4s, v1.4s, v2.s[1]",
    "uqadd v0.16b, v1.16b, v2.16b",
    "sqadd v0.8h, v1.8h, v2.8h",
    "uqsub v0.4s, v1.4s, v2.4s",
    "sqsub v0.2d, v1.2d, v2.2d",
    "uhadd v0.16b, v1.16b, v2.16b",
    "srhadd v0.8h, v1.8h, v2.8h",
    "urhadd v0.4s, v1.4s, v2.4s",
    "uabd v0.16b, v1.16b, v2.16b",
    "sabd v0.8h, v1.8h, v2.8h",
    "uaba v0.4s, v1.4s, v2.4s",
    "clz v0.16b, v1.16b",
    "cls v0.4s, v1.4s",
    "clz v0.8h, v1.8h",
    "sqxtn v0.8b, v1.8h",
    "uqxtn2 v0.8h, v1.4s",
    "sqxtun v0.2s, v1.2d",
    "uaddlv h0, v1.16b",
    "saddlv s0, v1.8h",
    "umlal v0.8h, v1.8b, v2.8b",
    "smlsl2 v0.2d, v1.4s, v2.4s",
    "uabdl v0.4s, v1.4h, v2.4h",
    "sabal2 v0.8h, v1.16b, v2.16b",
    "fcvtl v0.2d, v1.2s",
    "fcvtl2 v0.2d, v1.4s",
    "fcvtn v0.2s, v1.2d",
    "fcvtn2 v0.4s, v1.2d",
    "frintn v0.2d, v1.2d",
    "frintm v0.4s, v1.4s",
    "frintp v0.2d, v1.2d",
    "frintz v0.4s, v1.4s",
    "frinta v0.2d, v1.2d",
    "frintx v0.4s, v1.4s",
    "fcmgt v0.2d, v1.2d, #0.0",
    "fcmge v0.4s, v1.4s, #0.0",
    "fcmeq v0.2d, v1.2d, #0.0",
    "fcmle v0.4s, v1.4s, #0.0",
    "fcmlt v0.2d, v1.2d, #0.0",
    "fmaxnm v0.2d, v1.2d, v2.2d",
    "fmin v0.4s, v1.4s, v2.4s",
    "fdiv v0.2d, v1.2d, v2.2d",
    "fsub v0.4s, v1.4s, v2.4s",
    "fmls v0.2d, v1.2d, v2.2d",
];

/// Register states: X0-X13 and V0-V7 values plus NZCV.
struct State {
    x: [u64; 14],
    v: [[u64; 2]; 8],
    nzcv: u64,
}

fn states() -> Vec<State> {
    let mut seed: u64 = 0x5eed_a64a_64a6_4a64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let fp = [
        1.5f64.to_bits(),
        (-0.1f64).to_bits(),
        f64::INFINITY.to_bits(),
        3.0e300f64.to_bits(),
        (2.5f32.to_bits() as u64) | (((-7.25f32).to_bits() as u64) << 32),
        ((1.0e-40f32).to_bits() as u64) | ((f32::MAX.to_bits() as u64) << 32),
        0x8000_0000_0000_0000,
        (1u64 << 53) + 1,
    ];
    let mut out = Vec::new();
    for k in 0..6 {
        let mut x = [0u64; 14];
        let mut v = [[0u64; 2]; 8];
        for (i, r) in x.iter_mut().enumerate() {
            *r = match (k, i % 4) {
                (0, _) => 0,
                (1, _) => u64::MAX,
                (2, 0) => 0x8000_0000_0000_0000,
                (2, 1) => 0x7fff_ffff_ffff_ffff,
                (2, 2) => 0x0000_0000_8000_0000,
                (3, 2) => next() & 7,
                (_, _) => next(),
            };
        }
        for (i, r) in v.iter_mut().enumerate() {
            *r = match k {
                0 => [0, 0],
                1 | 2 => [fp[i], fp[(i + k) % 8]],
                3 => [
                    ((next() % 200) as f64 - 100.0).to_bits(),
                    ((next() % 5000) as f32 / 7.0).to_bits() as u64 | (next() << 32),
                ],
                _ => [next(), next()],
            };
        }
        out.push(State {
            x,
            v,
            nzcv: ((k as u64 * 5) & 0xf) << 28,
        });
    }
    out
}

/// The assembly program: for every case and state, load the state, run the case,
/// write X0-X15, NZCV and V0-V7 (272 bytes) to stdout.
fn program(states: &[State]) -> String {
    let mut s = String::from(".arch armv8.1-a\n.text\n.global _start\n_start:\n");
    for (c, case) in CASES.iter().enumerate() {
        for j in 0..states.len() {
            let _ = writeln!(s, "// case {c}: {case}, state {j}");
            let _ = writeln!(s, "\tadr x28, state{j}\n\tadr x15, scratch\n\tmov x16, #0");
            // Scratch buffer: fill from the state's X values (deterministic contents).
            for k in 0..14 {
                let _ = writeln!(
                    s,
                    "\tldr x17, [x28, #{}]\n\tstr x17, [x15, #{}]",
                    k * 8,
                    k * 8 + 16
                );
            }
            let _ = writeln!(s, "\tldr x16, [x28, #112]\n\tmsr nzcv, x16");
            for k in 0..4 {
                let _ = writeln!(
                    s,
                    "\tldp q{}, q{}, [x28, #{}]",
                    2 * k,
                    2 * k + 1,
                    128 + 32 * k
                );
            }
            for k in 0..7 {
                let _ = writeln!(s, "\tldp x{}, x{}, [x28, #{}]", 2 * k, 2 * k + 1, 16 * k);
            }
            let _ = writeln!(s, "\tadr x14, table\n\tadd x15, x15, #64");
            for insn in case.split(';') {
                let _ = writeln!(s, "\t{}", insn.trim());
            }
            let _ = writeln!(s, "\tadr x28, outbuf");
            for k in 0..8 {
                let _ = writeln!(s, "\tstp x{}, x{}, [x28, #{}]", 2 * k, 2 * k + 1, 16 * k);
            }
            let _ = writeln!(s, "\tmrs x16, nzcv\n\tstp x16, xzr, [x28, #128]");
            for k in 0..4 {
                let _ = writeln!(
                    s,
                    "\tstp q{}, q{}, [x28, #{}]",
                    2 * k,
                    2 * k + 1,
                    144 + 32 * k
                );
            }
            let _ = writeln!(
                s,
                "\tmov x0, #1\n\tmov x1, x28\n\tmov x2, #272\n\tmov x8, #64\n\tsvc #0"
            );
        }
    }
    s.push_str("\tmov x0, #0\n\tmov x8, #93\n\tsvc #0\n");
    s.push_str(".data\n.balign 16\ntable:\n");
    for i in 0..8u64 {
        let _ = writeln!(
            s,
            "\t.quad {:#x}, {:#x}",
            i.wrapping_mul(0x0123_4567_89ab_cdef) ^ 0x8070_6050_4030_2010,
            0xfedc_ba98_7654_3210u64.rotate_left(i as u32 * 8)
        );
    }
    for (j, st) in states.iter().enumerate() {
        let _ = writeln!(s, ".balign 16\nstate{j}:");
        for x in st.x {
            let _ = writeln!(s, "\t.quad {x:#x}");
        }
        let _ = writeln!(s, "\t.quad {:#x}, 0", st.nzcv);
        for v in st.v {
            let _ = writeln!(s, "\t.quad {:#x}, {:#x}", v[0], v[1]);
        }
    }
    s.push_str(".balign 16\nscratch:\n\t.skip 512\noutbuf:\n\t.skip 272\n");
    s
}

const REG_NAMES: [&str; 34] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "nzcv", "-", "v0.lo", "v0.hi", "v1.lo", "v1.hi", "v2.lo", "v2.hi", "v3.lo", "v3.hi",
    "v4.lo", "v4.hi", "v5.lo", "v5.hi", "v6.lo", "v6.hi", "v7.lo", "v7.hi",
];

#[test]
fn interpreter_agrees_with_qemu_on_every_case() {
    let ok = |t: &str| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ok(GCC) || !ok(QEMU) {
        assert!(
            std::env::var_os("VMX_REQUIRE_CROSS").is_none(),
            "aarch64-linux-gnu-gcc or qemu-aarch64 missing and VMX_REQUIRE_CROSS is set"
        );
        eprintln!("skipped: aarch64-linux-gnu-gcc or qemu-aarch64 not installed");
        return;
    }
    let st = states();
    let dir = TempDir::new("insn_diff_aarch64");
    let src = dir.join("cases.S");
    let exe = dir.join("cases");
    std::fs::write(&src, program(&st)).expect("write source");
    let out = Command::new(GCC)
        .args(["-nostdlib", "-static", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "assembling failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let qemu = common::run(Command::new(QEMU).arg(&exe), None).expect("qemu-aarch64");
    let vmx =
        common::run(vmx_cmd().args(["exec", "--engine=interp"]).arg(&exe), None).expect("vmx");
    assert_eq!(qemu.status, 0, "qemu-aarch64: {}", qemu.stderr_text());
    assert_eq!(vmx.status, 0, "vmx: {}", vmx.stderr_text());
    let rec = 272;
    assert_eq!(qemu.stdout.len(), CASES.len() * st.len() * rec);
    let mut diffs = Vec::new();
    for (n, (q, v)) in qemu
        .stdout
        .chunks(rec)
        .zip(vmx.stdout.chunks(rec).chain(std::iter::repeat(&[][..])))
        .enumerate()
    {
        if q == v {
            continue;
        }
        let (case, state) = (n / st.len(), n % st.len());
        let word = |b: &[u8], i: usize| {
            b.get(i * 8..i * 8 + 8)
                .map(|w| u64::from_le_bytes(w.try_into().expect("8")))
        };
        let regs: Vec<String> = (0..34)
            .filter(|&i| word(q, i) != word(v, i))
            .map(|i| {
                format!(
                    "{} qemu {:#x} vmx {}",
                    REG_NAMES[i],
                    word(q, i).unwrap_or(0),
                    word(v, i).map_or("-".into(), |w| format!("{w:#x}"))
                )
            })
            .collect();
        diffs.push(format!(
            "`{}` state {state}: {}",
            CASES[case],
            regs.join(", ")
        ));
    }
    eprintln!(
        "{} cases x {} states: {} differ",
        CASES.len(),
        st.len(),
        diffs.len()
    );
    assert!(
        diffs.is_empty(),
        "{} of {} runs differ from qemu-aarch64:\n{}",
        diffs.len(),
        CASES.len() * st.len(),
        diffs[..diffs.len().min(40)].join("\n")
    );
}
