//! RV64GC + Zba/Zbb/Zbs conformance: every instruction as a real guest program, run
//! translated by vmx, interpreted by vmx and under qemu-riscv64, compared state by state.
//!
//! The cases (see `rv_harness`) are
//! - every operation of the decoder's golden file (up to [`PER_MNEMONIC`] encodings per
//!   mnemonic, compressed forms counted apart), each from [`STATES`] initial states with
//!   the corner values over-represented (zeros, all-ones, INT_MIN/MAX, shift amounts at
//!   and above XLEN, NaNs, infinities, subnormals, badly NaN-boxed singles, misaligned
//!   addresses, every rounding mode in `frm`);
//! - every control transfer form (branches both ways, `jal`/`jalr` with any link register,
//!   returns, compressed jumps);
//! - hand-written cases for what the golden file cannot express: system calls, the
//!   counter CSRs, LR/SC pairs, `c.nop`;
//! - trap programs: `ebreak`, illegal and reserved encodings, a reserved rounding mode,
//!   writes to read-only CSRs — the guest must die of the signal Linux delivers.
//!
//! The coverage table `docs/rv64-coverage.md` is generated from the cases; the test fails
//! when it is stale (rewrite it with `VMX_BLESS=1`) or when any mnemonic has no case.

mod common;
mod rv_harness;

use std::collections::BTreeMap;
use std::process::Command;

use vmx_lifter::discover::{flow, Flow};
use vmx_lifter::rv::disasm::{disasm, template};
use vmx_lifter::rv::insn::{csr, Ext, Op};
use vmx_lifter::rv::Insn;

use common::golden::{golden_entries, GoldenInsn};
use common::rng::Rng;
use common::{run, vmx_cmd, TempDir, QEMU_RISCV};
use rv_harness::{build, build_and_run, compare, translate, Addr, Case, Shape, State, DATA_LEN};

const PER_MNEMONIC: usize = 4;
const SIGILL: i32 = 4;
const SIGTRAP: i32 = 5;
const STATES: usize = 6;

/// Every RV64C mnemonic (the decoder expands them; coverage counts them apart).
const C_MNEMONICS: &[&str] = &[
    "c.addi4spn",
    "c.fld",
    "c.lw",
    "c.ld",
    "c.fsd",
    "c.sw",
    "c.sd",
    "c.nop",
    "c.addi",
    "c.addiw",
    "c.li",
    "c.addi16sp",
    "c.lui",
    "c.srli",
    "c.srai",
    "c.andi",
    "c.sub",
    "c.xor",
    "c.or",
    "c.and",
    "c.subw",
    "c.addw",
    "c.j",
    "c.beqz",
    "c.bnez",
    "c.slli",
    "c.fldsp",
    "c.lwsp",
    "c.ldsp",
    "c.jr",
    "c.mv",
    "c.ebreak",
    "c.jalr",
    "c.add",
    "c.fsdsp",
    "c.swsp",
    "c.sdsp",
];

fn accesses_memory(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu | Sb | Sh | Sw | Sd | Flw | Fld | Fsw | Fsd
    ) || op.ext() == Ext::A
}

fn is_fp(op: Op) -> bool {
    matches!(op.ext(), Ext::F | Ext::D)
}

/// The mnemonic coverage counts an encoding under.
fn mnemonic(g: &GoldenInsn) -> String {
    if g.insn.len == 2 {
        g.mnemonic.clone()
    } else {
        template(g.insn.op).0.to_string()
    }
}

/// The raw encoding as an assembler directive.
fn raw(i: &Insn, word: u32) -> String {
    if i.len == 2 {
        format!(".half {:#06x}", word & 0xffff)
    } else {
        format!(".word {word:#010x}")
    }
}

/// Registers an instruction may read or write, conservatively: for FP operations any
/// operand field may name an integer or an FP register.
fn operand_registers(case: &mut Case, i: &Insn) {
    if is_fp(i.op) {
        for r in [i.rd, i.rs1, i.rs2, i.rs3] {
            case.use_x(r);
            case.use_f(r);
        }
    } else {
        for r in [i.rd, i.rs1, i.rs2] {
            case.use_x(r);
        }
    }
}

fn uses_x31(i: &Insn) -> bool {
    [i.rd, i.rs1, i.rs2, i.rs3].contains(&31)
}

/// The golden file uses register 31 a lot, which the harness reserves, and some memory
/// operations address through x0 (near address 0: unmapped in any process): re-encode
/// such a 32-bit instruction with register 30 instead of 31 and base register 12 instead
/// of x0 (checked by decoding it again).
fn usable(g: &GoldenInsn) -> Option<(Insn, u32)> {
    let i = g.insn;
    let zero_base = accesses_memory(i.op) && i.rs1 == 0;
    if !uses_x31(&i) && !zero_base {
        return Some((i, g.word));
    }
    if i.len != 4 {
        return None;
    }
    let mut word = g.word;
    let mut want = i;
    let mut patch = |reg: &mut u8, shift: u32, from: u8, to: u8| {
        if *reg == from && (word >> shift) & 31 == from as u32 {
            word = word & !(31 << shift) | (to as u32) << shift;
            *reg = to;
        }
    };
    patch(&mut want.rd, 7, 31, 30);
    patch(&mut want.rs1, 15, 31, 30);
    patch(&mut want.rs2, 20, 31, 30);
    patch(&mut want.rs3, 27, 31, 30);
    if zero_base {
        patch(&mut want.rs1, 15, 0, 12);
    }
    let again = vmx_lifter::rv::decode(word);
    (again == want && !uses_x31(&again)).then_some((again, word))
}

/// Straight-line cases: every non-control-flow operation of the golden file.
fn straight_cases(golden: &[GoldenInsn], rng: &mut Rng) -> Vec<Case> {
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    let mut cases = Vec::new();
    for g in golden {
        let Some((insn, word)) = usable(g) else {
            continue;
        };
        let i = &insn;
        if flow(i, 0) != Flow::Next || i.op == Op::Illegal {
            continue;
        }
        if matches!(
            i.op,
            Op::Csrrw | Op::Csrrs | Op::Csrrc | Op::Csrrwi | Op::Csrrsi | Op::Csrrci
        ) && !matches!(i.csr, csr::FFLAGS | csr::FRM | csr::FCSR)
        {
            continue; // counters: see `counter_cases`; others trap
        }
        let mn = mnemonic(g);
        let n = per.entry(mn.clone()).or_default();
        if *n >= PER_MNEMONIC {
            continue;
        }
        *n += 1;
        let mut case = Case {
            title: disasm(i, 0),
            mnemonics: vec![mn],
            insn: Some(*i),
            code: vec![raw(i, word)],
            shape: Shape::Straight,
            x: Vec::new(),
            f: Vec::new(),
            states: Vec::new(),
        };
        operand_registers(&mut case, i);
        for s in 0..STATES {
            let mut st = State::random(rng);
            if accesses_memory(i.op) {
                let atomic = i.op.ext() == Ext::A;
                // Every other state of a plain load/store is misaligned.
                let skew = if atomic || s % 2 == 0 {
                    0
                } else {
                    1 + rng.below(7) as i64
                };
                let off = (DATA_LEN / 2) as i64 + skew - i.imm;
                st.addr.push((i.rs1, Addr::Data(off)));
            }
            case.states.push(st);
        }
        cases.push(case);
    }
    cases
}

/// The assembler text of a control transfer whose target is the case label `{T}`.
fn transfer_text(i: &Insn) -> Vec<String> {
    let text = match (i.op, i.len) {
        (Op::Jal, 4) => format!("jal x{}, {{T}}", i.rd),
        (Op::Jal, _) => "c.j {T}".to_string(),
        (Op::Jalr, 4) => format!("jalr x{}, {}(x{})", i.rd, i.imm, i.rs1),
        (Op::Jalr, _) if i.rd == 0 => format!("c.jr x{}", i.rs1),
        (Op::Jalr, _) => format!("c.jalr x{}", i.rs1),
        (op, 4) => format!("{} x{}, x{}, {{T}}", template(op).0, i.rs1, i.rs2),
        (Op::Beq, _) => format!("c.beqz x{}, {{T}}", i.rs1),
        (_, _) => format!("c.bnez x{}, {{T}}", i.rs1),
    };
    if i.len == 2 {
        vec![".option rvc".into(), text, ".option norvc".into()]
    } else {
        vec![text]
    }
}

/// Control-flow cases: every branch and jump form of the golden file.
fn control_cases(golden: &[GoldenInsn], rng: &mut Rng) -> Vec<Case> {
    let mut per: BTreeMap<(String, u8), usize> = BTreeMap::new();
    let mut cases = Vec::new();
    for g in golden {
        let Some((insn, _)) = usable(g) else {
            continue;
        };
        let i = &insn;
        if !matches!(
            i.op,
            Op::Jal | Op::Jalr | Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
        ) {
            continue;
        }
        let mn = mnemonic(g);
        // Link registers matter (ra/t0 are calls to discovery, others are not): keep
        // encodings with different `rd` apart.
        let n = per.entry((mn.clone(), i.rd.min(2))).or_default();
        if *n >= PER_MNEMONIC {
            continue;
        }
        *n += 1;
        let mut case = Case {
            title: format!("{} (target {{T}})", disasm(i, 0)),
            mnemonics: vec![mn],
            insn: Some(*i),
            code: transfer_text(i),
            shape: Shape::Branch,
            x: Vec::new(),
            f: Vec::new(),
            states: Vec::new(),
        };
        operand_registers(&mut case, i);
        for s in 0..STATES {
            let mut st = State::random(rng);
            if i.op == Op::Jalr {
                st.addr.push((i.rs1, Addr::Target(-i.imm)));
            } else if s % 2 == 1 {
                st.x[i.rs2 as usize] = st.x[i.rs1 as usize]; // equal operands
            }
            st.x[0] = 0;
            case.states.push(st);
        }
        cases.push(case);
    }
    cases
}

fn hand_case(title: &str, mnemonics: &[&str], code: &[&str], x: &[u8], states: Vec<State>) -> Case {
    let mut case = Case {
        title: title.into(),
        mnemonics: mnemonics.iter().map(|m| m.to_string()).collect(),
        insn: None,
        code: code.iter().map(|c| c.to_string()).collect(),
        shape: Shape::Straight,
        x: Vec::new(),
        f: Vec::new(),
        states,
    };
    for &r in x {
        case.use_x(r);
    }
    case
}

fn state_with(rng: &mut Rng, regs: &[(u8, u64)]) -> State {
    let mut st = State::random(rng);
    for &(r, v) in regs {
        st.x[r as usize] = v;
    }
    st
}

/// What the golden file cannot express: system calls with deterministic results, the
/// counter CSRs (values differ between runs: compared by their order), LR/SC pairs.
fn hand_cases(rng: &mut Rng) -> Vec<Case> {
    let mut cases = Vec::new();
    let enosys = vec![
        state_with(rng, &[(17, 9999)]),                 // unknown: -ENOSYS
        state_with(rng, &[(17, 57), (10, u64::MAX)]),   // close(-1): -EBADF
        state_with(rng, &[(17, 64), (10, 1), (12, 0)]), // write(1, _, 0): 0
        state_with(rng, &[(17, 63), (10, u64::MAX)]),   // read(-1, ..): -EBADF
    ];
    cases.push(hand_case(
        "ecall",
        &["ecall"],
        &["ecall"],
        &[10, 11, 12, 13, 14, 15, 16, 17],
        enosys,
    ));

    for (name, number) in [
        ("cycle", csr::CYCLE),
        ("time", csr::TIME),
        ("instret", csr::INSTRET),
    ] {
        for form in [
            "csrrs {r}, {c}, x0",
            "csrrc {r}, {c}, x0",
            "csrrsi {r}, {c}, 0",
            "csrrci {r}, {c}, 0",
        ] {
            let read = |r: &str| {
                form.replace("{r}", r)
                    .replace("{c}", &format!("{number:#x}"))
            };
            let mn = form.split_whitespace().next().unwrap_or("");
            let code = [
                read("a0"),
                read("a1"),
                "sltu a2, a1, a0".into(), // the counter never goes backwards
                "snez a3, a0".into(),     // and is running
                "li a0, 0".into(),
                "li a1, 0".into(),
            ];
            let code: Vec<&str> = code.iter().map(String::as_str).collect();
            let title = format!("{mn} reading {name} twice");
            let states = (0..2).map(|_| State::random(rng)).collect();
            cases.push(hand_case(&title, &[mn], &code, &[10, 11, 12, 13], states));
        }
    }

    for (w, size) in [("w", 4), ("d", 8)] {
        let pair = [format!("lr.{w} a0, (a1)"), format!("sc.{w} a2, a3, (a1)")];
        let other = [format!("lr.{w} a0, (a1)"), format!("sc.{w} a2, a3, (a4)")];
        for (title, code) in [
            (format!("lr.{w}/sc.{w} same address (succeeds)"), pair),
            (format!("lr.{w}/sc.{w} other address (fails)"), other),
        ] {
            let code: Vec<&str> = code.iter().map(String::as_str).collect();
            let states = (0..3)
                .map(|_| {
                    let mut st = State::random(rng);
                    st.addr.push((11, Addr::Data(64)));
                    st.addr.push((14, Addr::Data(64 + size)));
                    st
                })
                .collect();
            let mns = [format!("lr.{w}"), format!("sc.{w}")];
            let mns: Vec<&str> = mns.iter().map(String::as_str).collect();
            cases.push(hand_case(
                &title,
                &mns,
                &code,
                &[10, 11, 12, 13, 14],
                states,
            ));
        }
    }

    let states = (0..2).map(|_| State::random(rng)).collect();
    cases.push(hand_case(
        "c.nop",
        &["c.nop"],
        &[".half 0x0001"],
        &[],
        states,
    ));
    cases
}

/// Programs that must die of a signal, with the signal and the mnemonics they cover.
fn trap_programs() -> Vec<(&'static str, Vec<&'static str>, &'static str, i32)> {
    vec![
        ("ebreak", vec![".word 0x00100073"], "ebreak", SIGTRAP),
        ("c_ebreak", vec![".half 0x9002"], "c.ebreak", SIGTRAP),
        ("zero_word", vec![".word 0"], "illegal", SIGILL),
        ("ones_word", vec![".word 0xffffffff"], "illegal", SIGILL),
        ("c_unimp", vec![".half 0", ".half 0"], "c.unimp", SIGILL),
        ("csrw_cycle", vec!["csrrw x0, cycle, a0"], "csrrw", SIGILL),
        (
            "csrrs_time_write",
            vec!["li a1, 1", "csrrs a0, time, a1"],
            "csrrs",
            SIGILL,
        ),
        ("unknown_csr", vec!["csrrs a0, 0x7c0, x0"], "csrrs", SIGILL),
        (
            "frm_5_dynamic",
            vec!["li a0, 5", "csrw frm, a0", "fadd.d fa0, fa1, fa2, dyn"],
            "fadd.d",
            SIGILL,
        ),
        (
            "frm_7_dynamic",
            vec!["li a0, 7", "csrw frm, a0", "fmul.s fa0, fa1, fa2, dyn"],
            "fmul.s",
            SIGILL,
        ),
        // fadd.d fa0, fa1, fa2 with the reserved static rounding mode 5.
        ("rm_5_static", vec![".word 0x02c5d553"], "fadd.d", SIGILL),
    ]
}

fn all_cases() -> Vec<Case> {
    let golden = golden_entries(&["[.text]"]);
    let mut rng = Rng(0x5eed_c0de_1234_5678);
    let mut cases = straight_cases(&golden, &mut rng);
    cases.extend(control_cases(&golden, &mut rng));
    cases.extend(hand_cases(&mut rng));
    cases
}

/// qemu 7.2 (Debian bookworm) gets `ctzw` wrong when the low word is zero and bit 63 is
/// set (63 instead of 32; the specification says 32 whenever the low word is zero).
fn qemu_errata(case: &Case, st: &State, field: &str) -> Option<u64> {
    let i = case.insn?;
    if i.op == Op::Ctzw && field == format!("x{}", i.rd) && st.x[i.rs1 as usize] as u32 == 0 {
        return Some(32);
    }
    None
}

#[test]
fn every_instruction_agrees_with_qemu_in_both_engines() {
    let test = "every_instruction_agrees_with_qemu_in_both_engines";
    let cases = all_cases();
    let dir = TempDir::new("rv-conformance");
    let Some(runs) = build_and_run(test, dir.path(), "conformance", &cases) else {
        return;
    };
    let states: usize = cases.iter().map(|c| c.states.len()).sum();
    let div = compare(&cases, &runs, &qemu_errata);
    eprintln!(
        "{} cases, {states} states: {} divergences",
        cases.len(),
        div.len()
    );
    assert!(
        div.is_empty(),
        "{} states disagree (first 40):\n{}",
        div.len(),
        div.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn traps_kill_the_guest_with_the_linux_signal() {
    let test = "traps_kill_the_guest_with_the_linux_signal";
    let dir = TempDir::new("rv-traps");
    let mut failures = Vec::new();
    for (name, code, _, signal) in trap_programs() {
        let mut src = String::from("    .text\n    .globl _start\n_start:\n");
        for line in &code {
            src.push_str(&format!("    {line}\n"));
        }
        src.push_str("    li a7, 93\n    li a0, 0\n    ecall\n");
        let Some(elf) = build(test, dir.path(), name, &src) else {
            return;
        };
        let aot = translate(&elf);
        let runs = [
            ("qemu", run(Command::new(QEMU_RISCV).arg(&elf), None)),
            ("aot", run(vmx_cmd().arg("exec").arg(&aot), None)),
            (
                "interp",
                run(vmx_cmd().args(["exec", "--engine=interp"]).arg(&elf), None),
            ),
        ];
        for (engine, out) in runs {
            let out = out.expect("run");
            if out.status != 128 + signal {
                failures.push(format!(
                    "{name} ({}) under {engine}: expected death by signal {signal} (status {}), got {}; stderr: {}",
                    code.join("; "),
                    128 + signal,
                    out.status,
                    out.stderr_text().trim()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The generated coverage table.
fn coverage_table() -> (String, Vec<String>) {
    let cases = all_cases();
    let counts = rv_harness::mnemonic_counts(&cases);
    let mut traps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, _, mn, _) in trap_programs() {
        traps.entry(mn).or_default().push(name);
    }
    let mut rows: Vec<(String, &'static str)> = Vec::new();
    for &op in Op::ALL {
        if op != Op::Illegal {
            rows.push((template(op).0.to_string(), ext_name(op.ext())));
        }
    }
    rows.extend(C_MNEMONICS.iter().map(|m| (m.to_string(), "C")));
    let mut untested = Vec::new();
    let mut t = String::from(
        "# RV64GC + Zba/Zbb/Zbs instruction coverage\n\n\
         Generated by `tests/rv_conformance.rs` (rewrite with\n\
         `VMX_BLESS=1 cargo test --release --test rv_conformance coverage`); do not edit.\n\n\
         *conformance* counts the cases of `rv_conformance` (each run from several initial\n\
         states as one guest program translated by vmx, interpreted by vmx and run by\n\
         qemu-riscv64, compared); *traps* names the programs that must die of SIGILL or\n\
         SIGTRAP. Every 32-bit operation is also checked in-process, interpreter against\n\
         compiled code from random states, by `insn_diff`, and the non-control-flow ones by\n\
         the differential fuzzer `rv_fuzz`.\n\n\
         | mnemonic | extension | conformance cases | traps |\n|---|---|---|---|\n",
    );
    for (mn, ext) in rows {
        let n = counts.get(&mn).copied().unwrap_or(0);
        let tr = traps
            .get(mn.as_str())
            .map(|v| v.join(", "))
            .unwrap_or_default();
        if n == 0 && tr.is_empty() {
            untested.push(mn.clone());
        }
        t.push_str(&format!("| `{mn}` | {ext} | {n} | {tr} |\n"));
    }
    (t, untested)
}

fn ext_name(e: Ext) -> &'static str {
    match e {
        Ext::Invalid => "-",
        Ext::I => "I",
        Ext::Zifencei => "Zifencei",
        Ext::Zicsr => "Zicsr",
        Ext::M => "M",
        Ext::A => "A",
        Ext::F => "F",
        Ext::D => "D",
        Ext::Zba => "Zba",
        Ext::Zbb => "Zbb",
        Ext::Zbs => "Zbs",
    }
}

#[test]
fn coverage_table_is_complete_and_current() {
    let (table, untested) = coverage_table();
    assert!(
        untested.is_empty(),
        "mnemonics without any test: {untested:?}"
    );
    let path = common::root().join("docs/rv64-coverage.md");
    if std::env::var_os("VMX_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("docs dir")).expect("mkdir docs");
        std::fs::write(&path, &table).expect("write coverage table");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == table,
        "{} is stale: run `VMX_BLESS=1 cargo test --release --test rv_conformance coverage`\n{}",
        path.display(),
        common::diff(&current, &table)
    );
}
