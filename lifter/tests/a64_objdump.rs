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
