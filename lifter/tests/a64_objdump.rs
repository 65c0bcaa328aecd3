//! The A64 decoder against GNU objdump on what compilers really emit: every instruction
//! in the `.text` of a static aarch64 glibc program (built from `data/rv_hello.c` with
//! `aarch64-linux-gnu-gcc -static -O2`), disassembled with `-M no-aliases`.
//!
//! The decoder classifies encodings into groups ([`Op`]); each objdump mnemonic maps to
//! the groups it may belong to (`groups_for`), and the decoded group must be one of them.
//! Mnemonics of extensions vmx does not implement (SVE, MTE, ...) must not be claimed
//! by a group that implements them; they are listed on stderr. Needs
//! `aarch64-linux-gnu-{gcc,objdump}`; skipped without them unless `VMX_REQUIRE_CROSS=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use vmx_lifter::arm::{decode, Op};

const GCC: &str = "aarch64-linux-gnu-gcc";
const OBJDUMP: &str = "aarch64-linux-gnu-objdump";

fn have_tools() -> bool {
    let ok = |t: &str| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let have = ok(GCC) && ok(OBJDUMP);
    if !have {
        assert!(
            std::env::var_os("VMX_REQUIRE_CROSS").is_none(),
            "aarch64 cross tools missing and VMX_REQUIRE_CROSS is set"
        );
        eprintln!("skipped: aarch64-linux-gnu gcc/binutils not installed");
    }
    have
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The groups an objdump (`-M no-aliases`) mnemonic may decode to; `None` for mnemonics
/// of extensions vmx does not implement.
fn groups_for(m: &str) -> Option<&'static [Op]> {
    use Op::*;
    const LDST: &[Op] = &[LdStUImm, LdStImm9, LdStReg, LdLit];
    Some(match m {
        "adr" | "adrp" => &[Adr],
        "add" | "adds" | "sub" | "subs" => {
            &[AddSubImm, AddSubShifted, AddSubExt, V3Same, VScalar3Same]
        }
        "and" | "orr" | "eor" => &[LogImm, LogShifted, V3Same, VModImm],
        "ands" | "bics" | "orn" | "eon" => &[LogImm, LogShifted, V3Same],
        "bic" => &[LogShifted, V3Same, VModImm],
        "movz" | "movn" | "movk" => &[MovWide],
        "sbfm" | "ubfm" | "bfm" => &[Bitfield],
        "extr" => &[Extr],
        "b" => &[B],
        "bl" => &[B],
        "cbz" | "cbnz" => &[Cbz],
        "tbz" | "tbnz" => &[Tbz],
        "br" | "blr" | "ret" => &[BrReg],
        "svc" => &[Svc],
        "brk" => &[Brk],
        "hint" | "nop" | "yield" | "bti" | "paciasp" | "autiasp" | "xpaclri" => &[Hint],
        "clrex" => &[Clrex],
        "dmb" | "dsb" | "isb" => &[Barrier],
        "sys" => &[Sys],
        "mrs" => &[Mrs],
        "msr" => &[Msr],
        "ldr" | "str" | "ldrb" | "strb" | "ldrh" | "strh" | "ldrsb" | "ldrsh" | "ldrsw"
        | "prfm" => LDST,
        "ldur" | "stur" | "ldurb" | "sturb" | "ldurh" | "sturh" | "ldursb" | "ldursh"
        | "ldursw" | "prfum" => &[LdStImm9],
        "ldp" | "stp" | "ldnp" | "stnp" | "ldpsw" => &[LdStPair],
        "casp" | "caspa" | "caspl" | "caspal" => &[Casp],
        "ldxr" | "ldaxr" | "stxr" | "stlxr" | "ldar" | "stlr" | "ldxrb" | "ldaxrb" | "stxrb"
        | "stlxrb" | "ldarb" | "stlrb" | "ldarh" | "stlrh" | "ldxp" | "stxp" | "ldaxp"
        | "stlxp" => &[LdStExcl],
        "cas" | "casa" | "casl" | "casal" | "casb" | "casab" | "caslb" | "casalb" | "cash"
        | "casah" | "caslh" | "casalh" => &[Cas],
        m if [
            "ldadd", "ldclr", "ldeor", "ldset", "ldsmax", "ldsmin", "ldumax", "ldumin", "swp",
        ]
        .iter()
        .any(|p| m.starts_with(p)) =>
        {
            &[LdStAtomic]
        }
        "ld1" | "st1" | "ld1r" | "ld2" | "st2" | "ld3" | "st3" | "ld4" | "st4" => {
            &[VLdStMulti, VLdStSingle]
        }
        "csel" | "csinc" | "csinv" | "csneg" => &[CondSel],
        "ccmp" | "ccmn" => &[CondCmp],
        "adc" | "adcs" | "sbc" | "sbcs" => &[AddSubCarry],
        "udiv" | "sdiv" | "lslv" | "lsrv" | "asrv" | "rorv" => &[Dp2],
        "rbit" | "rev" | "rev16" | "rev32" | "clz" | "cls" => &[Dp1, V2Misc],
        "madd" | "msub" | "smaddl" | "smsubl" | "umaddl" | "umsubl" | "smulh" | "umulh" => &[Dp3],
        "fmov" => &[FpDp1, FpImm, FpInt, VModImm],
        "fabs" | "fneg" | "fsqrt" | "fcvt" | "frintn" | "frintp" | "frintm" | "frintz"
        | "frinta" | "frintx" | "frinti" => &[FpDp1, V2Misc],
        "fcmp" | "fcmpe" => &[FpCmp],
        "fccmp" | "fccmpe" => &[FpCondCmp],
        "fadd" | "fsub" | "fdiv" | "fmax" | "fmin" | "fmaxnm" | "fminnm" | "fnmul" => {
            &[FpDp2, V3Same]
        }
        "fmul" => &[FpDp2, V3Same, VByElem],
        "fcsel" => &[FpCondSel],
        "fmadd" | "fmsub" | "fnmadd" | "fnmsub" => &[FpDp3],
        "scvtf" | "ucvtf" | "fcvtzs" | "fcvtzu" | "fcvtns" | "fcvtnu" | "fcvtas" | "fcvtau"
        | "fcvtps" | "fcvtpu" | "fcvtms" | "fcvtmu" => &[
            FpInt,
            FpFixed,
            V2Misc,
            VScalar2Misc,
            VShiftImm,
            VScalarShift,
        ],
        "fmla" | "fmls" => &[V3Same, VByElem],
        "faddp" | "fmaxp" | "fminp" => &[V3Same, VScalarPair],
        "cmeq" | "cmhs" | "cmhi" | "cmgt" | "cmge" | "cmtst" | "cmle" | "cmlt" => {
            &[V3Same, V2Misc, VScalar3Same, VScalar2Misc]
        }
        "umaxp" | "uminp" | "smaxp" | "sminp" | "umax" | "umin" | "smax" | "smin" | "ushl"
        | "sshl" | "bsl" | "bit" | "bif" => &[V3Same, VScalar3Same],
        "addp" => &[V3Same, VScalarPair],
        "umaxv" | "uminv" | "smaxv" | "sminv" | "addv" | "uaddlv" | "saddlv" => &[VAcross],
        "shrn" | "shrn2" | "ushr" | "sshr" | "shl" | "usra" | "ssra" | "ushll" | "ushll2"
        | "sshll" | "sshll2" | "sli" | "sri" => &[VShiftImm, VScalarShift],
        "xtn" | "xtn2" | "cnt" | "not" | "rev64" | "abs" | "neg" | "uaddlp" | "saddlp" => {
            &[V2Misc, VScalar2Misc]
        }
        "dup" => &[VCopy, VScalarCopy],
        "umov" | "smov" | "ins" => &[VCopy],
        "movi" | "mvni" => &[VModImm],
        "ext" => &[VExt],
        "tbl" | "tbx" => &[VTbl],
        "uzp1" | "uzp2" | "zip1" | "zip2" | "trn1" | "trn2" => &[VPermute],
        "uaddw" | "uaddw2" | "saddw" | "saddw2" | "uaddl" | "uaddl2" | "saddl" | "saddl2"
        | "usubl" | "usubl2" | "ssubl" | "ssubl2" | "usubw" | "usubw2" | "ssubw" | "ssubw2"
        | "umull" | "umull2" | "smull" | "smull2" => &[V3Diff],
        "mul" | "mla" | "mls" => &[V3Same, VByElem],
        _ => return None,
    })
}

#[test]
fn static_glibc_program() {
    if !have_tools() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("a64_objdump");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let exe = dir.join("hello");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rv_hello.c");
    run(Command::new(GCC)
        .args(["-static", "-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .arg("-lm"));
    let text = run(Command::new(OBJDUMP)
        .args(["-d", "-M", "no-aliases", "-j", ".text"])
        .arg(&exe));
    let mut total = 0usize;
    let mut wrong: Vec<String> = Vec::new();
    let mut unsupported: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
    let mut groups: BTreeSet<String> = BTreeSet::new();
    for line in text.lines() {
        // "  400120:\td503201f \thint\t#0x22"
        let mut f = line.split('\t');
        let (Some(addr), Some(word), Some(mnem)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(raw) = u32::from_str_radix(word.trim(), 16) else {
            continue;
        };
        if !addr.trim_end().ends_with(':') || word.trim().len() != 8 {
            continue;
        }
        total += 1;
        let mnem = mnem.trim();
        let base = if mnem.starts_with("b.") {
            "b.cond"
        } else {
            mnem
        };
        let op = decode(raw).op;
        groups.insert(format!("{op:?}"));
        let operands = f.next().unwrap_or("");
        // SVE (z and p registers) is not implemented, whatever the mnemonic.
        let sve = operands
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| {
                w.len() > 1
                    && (w.starts_with('z') || w.starts_with('p'))
                    && w[1..].bytes().all(|b| b.is_ascii_digit())
            });
        let allowed: Option<&[Op]> = if sve {
            None
        } else if base == "b.cond" {
            Some(&[Op::BCond])
        } else {
            groups_for(base)
        };
        match allowed {
            Some(ops) if !ops.contains(&op) => wrong.push(format!(
                "{} {raw:08x} {mnem} {operands}: decoded as {op:?}, objdump says one of {ops:?}",
                addr.trim(),
            )),
            Some(_) => {}
            None => {
                let key = if sve {
                    format!("{base} (SVE)")
                } else {
                    base.to_string()
                };
                let e = unsupported.entry(key).or_default();
                e.0 += 1;
                e.1.insert(format!("{op:?}"));
            }
        }
    }
    assert!(total > 50_000, "only {total} instructions in .text");
    for (m, (n, ops)) in &unsupported {
        eprintln!("not implemented: {m} x{n} (decoded as {ops:?})");
    }
    eprintln!(
        "{total} instructions, {} groups seen, {} mismatches",
        groups.len(),
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{} of {total} instructions decode to a group objdump disagrees with, e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(30)].join("\n")
    );
}

/// A semantics builder that only records whether an instruction traps as illegal (all
/// values are 0): which encodings the semantics reject does not depend on values.
#[derive(Default)]
struct Probe {
    illegal: bool,
}

mod probe {
    use super::Probe;
    use vmx_lifter::arm::sem::{A64Sem, SysReg, VBin, VShift, VUn, Vec128};
    use vmx_lifter::sem::{Amo, Cmp, FBin, FCmp, FOp, Round, Sem, Trap, FW};

    impl Sem for Probe {
        type I = u64;
        type B = bool;
        fn imm(&mut self, v: u64) -> u64 {
            v
        }
        fn pc(&self) -> u64 {
            0x1000
        }
        fn xreg(&mut self, _: u8) -> u64 {
            0
        }
        fn set_xreg(&mut self, _: u8, _: u64) {}
        fn freg(&mut self, _: u8) -> u64 {
            0
        }
        fn set_freg(&mut self, _: u8, _: u64) {}
        fn add(&mut self, _: u64, _: u64) -> u64 {
            0
        }
        fn sub(&mut self, _: u64, _: u64) -> u64 {
            0
        }
        fn mul(&mut self, _: u64, _: u64) -> u64 {
            0
        }
        fn mulh(&mut self, _: u64, _: u64, _: bool, _: bool) -> u64 {
            0
        }
        fn div(&mut self, _: u64, _: u64, _: bool) -> u64 {
            0
        }
        fn rem(&mut self, _: u64, _: u64, _: bool) -> u64 {
            0
        }
        fn and(&mut self, _: u64, _: u64) -> u64 {
            0
        }
        fn or(&mut self, _: u64, _: u64) -> u64 {
            0
        }
        fn xor(&mut self, _: u64, _: u64) -> u64 {
            0
        }
        fn shl(&mut self, _: u64, _: u64) -> u64 {
            0
        }
        fn lshr(&mut self, _: u64, _: u64) -> u64 {
            0
        }
        fn ashr(&mut self, _: u64, _: u64) -> u64 {
            0
        }
        fn sext(&mut self, _: u64, _: u32) -> u64 {
            0
        }
        fn zext(&mut self, _: u64, _: u32) -> u64 {
            0
        }
        fn clz(&mut self, _: u64, _: u32) -> u64 {
            0
        }
        fn ctz(&mut self, _: u64, _: u32) -> u64 {
            0
        }
        fn popcount(&mut self, _: u64) -> u64 {
            0
        }
        fn bswap(&mut self, _: u64) -> u64 {
            0
        }
        fn cmp(&mut self, _: Cmp, _: u64, _: u64) -> bool {
            false
        }
        fn select(&mut self, _: bool, a: u64, _: u64) -> u64 {
            a
        }
        fn bool_and(&mut self, _: bool, _: bool) -> bool {
            false
        }
        fn bool_or(&mut self, _: bool, _: bool) -> bool {
            false
        }
        fn bool_to_int(&mut self, _: bool) -> u64 {
            0
        }
        fn if_else<C, H>(&mut self, _: bool, _: C, hot: H) -> u64
        where
            C: FnOnce(&mut Self) -> u64,
            H: FnOnce(&mut Self) -> u64,
        {
            hot(self)
        }
        fn load(&mut self, _: u64, _: u32) -> u64 {
            0
        }
        fn store(&mut self, _: u64, _: u64, _: u32) {}
        fn load_reserved(&mut self, _: u64, _: u32, _: u8) -> u64 {
            0
        }
        fn store_conditional(&mut self, _: u64, _: u64, _: u32, _: u8) -> u64 {
            0
        }
        fn amo(&mut self, _: Amo, _: u64, _: u64, _: u32, _: u8) -> u64 {
            0
        }
        fn fence(&mut self) {}
        fn fence_i(&mut self) {}
        fn fbin(&mut self, _: FBin, _: FW, _: u64, _: u64) -> u64 {
            0
        }
        fn fsqrt(&mut self, _: FW, _: u64) -> u64 {
            0
        }
        fn ffma(&mut self, _: FW, _: u64, _: u64, _: u64) -> u64 {
            0
        }
        fn fcmp(&mut self, _: FCmp, _: FW, _: u64, _: u64) -> bool {
            false
        }
        fn fround(&mut self, _: FW, _: u64, _: Round) -> u64 {
            0
        }
        fn fcvt_to_int(&mut self, _: FW, _: u64, _: u32, _: bool) -> u64 {
            0
        }
        fn fcvt_from_int(&mut self, _: FW, _: u64, _: u32, _: bool) -> u64 {
            0
        }
        fn fcvt_float(&mut self, _: FW, _: FW, _: u64) -> u64 {
            0
        }
        fn host_fflags(&mut self, _: bool) -> u64 {
            0
        }
        fn fraise(&mut self, _: FOp, _: FW, _: u64, _: [u64; 3], _: u64) {}
        fn csr_read(&mut self, _: u16) -> Option<u64> {
            Some(0)
        }
        fn csr_write(&mut self, _: u16, _: u64) -> bool {
            true
        }
        fn jump(&mut self, _: u64) {}
        fn branch(&mut self, _: bool, _: u64) {}
        fn trap(&mut self, t: Trap) {
            if t == Trap::Illegal {
                self.illegal = true;
            }
        }
        fn trap_if(&mut self, _cond: bool, _t: Trap) {
            // A conditional trap depends on run-time state: the encoding itself is valid.
        }
    }

    impl A64Sem for Probe {
        fn sp(&mut self) -> u64 {
            0
        }
        fn set_sp(&mut self, _: u64) {}
        fn nzcv(&mut self) -> u64 {
            0
        }
        fn set_nzcv(&mut self, _: u64) {}
        fn vreg(&mut self, _: u8) -> Vec128<u64> {
            [0, 0]
        }
        fn set_vreg(&mut self, _: u8, _: Vec128<u64>) {}
        fn sysreg(&mut self, _: SysReg) -> u64 {
            0
        }
        fn set_sysreg(&mut self, _: SysReg, _: u64) {}
        fn clear_exclusive(&mut self) {}
        fn cas(&mut self, _: u64, _: u64, _: u64, _: u32) -> u64 {
            0
        }
        fn load_exclusive_pair(&mut self, _: u64) -> [u64; 2] {
            [0, 0]
        }
        fn store_exclusive_pair(&mut self, _: u64, _: [u64; 2]) -> u64 {
            0
        }
        fn cas_pair(&mut self, _: u64, e: [u64; 2], _: [u64; 2]) -> [u64; 2] {
            e
        }
        fn vbin(
            &mut self,
            _: VBin,
            _: u32,
            _: bool,
            a: Vec128<u64>,
            _: Vec128<u64>,
        ) -> Vec128<u64> {
            a
        }
        fn vun(&mut self, _: VUn, _: u32, _: bool, a: Vec128<u64>) -> Vec128<u64> {
            a
        }
        fn vshift(&mut self, _: VShift, _: u32, _: bool, a: Vec128<u64>, _: u32) -> Vec128<u64> {
            a
        }
        fn vtbl(
            &mut self,
            _: &[Vec128<u64>],
            i: Vec128<u64>,
            _: Vec128<u64>,
            _: bool,
        ) -> Vec128<u64> {
            i
        }
    }
}

/// Which instructions of the static glibc program the semantics reject (SIGILL at run
/// time if reached), by mnemonic. Reported on stderr; only groups with no
/// implementation at all (SVE, MTE, ...) are expected here.
#[test]
fn semantics_coverage_of_static_glibc() {
    if !have_tools() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("a64_coverage");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let exe = dir.join("hello");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rv_hello.c");
    run(Command::new(GCC)
        .args(["-static", "-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .arg("-lm"));
    let text = run(Command::new(OBJDUMP).args(["-d", "-j", ".text"]).arg(&exe));
    let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for line in text.lines() {
        let mut f = line.split('\t');
        let (Some(_), Some(word), Some(mnem)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(raw) = u32::from_str_radix(word.trim(), 16) else {
            continue;
        };
        total += 1;
        let mut p = Probe::default();
        vmx_lifter::arm::exec::exec(&mut p, &decode(raw));
        if p.illegal {
            let ops = f.next().unwrap_or("");
            *rejected
                .entry(format!(
                    "{} {}",
                    mnem.trim(),
                    ops.split(',').next().unwrap_or("")
                ))
                .or_default() += 1;
        }
    }
    let n: usize = rejected.values().sum();
    for (k, v) in &rejected {
        eprintln!("rejected: {k} x{v}");
    }
    eprintln!("{n} of {total} instructions rejected by the semantics");
    assert!(total > 50_000);
    // Only extensions vmx does not advertise (SVE, MTE) may be rejected.
    let unexpected: Vec<&String> = rejected
        .keys()
        .filter(|k| {
            let sve = k.contains(" z") || k.contains(" p") || k.contains("{z");
            let other = [
                "cntb ", "cntd ", "dc gva", "dc gzva", "gmi ", "irg ", "ldg ", "stg ", "st2g ",
                "stzg ", "stz2g ",
            ]
            .iter()
            .any(|p| k.starts_with(p));
            !sve && !other
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "the semantics reject instructions of implemented groups: {unexpected:?}"
    );
}
