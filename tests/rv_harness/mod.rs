//! The guest-program harness for RISC-V instruction tests.
//!
//! A list of [`Case`]s (instruction sequences with registers to load and compare, and the
//! initial states to run them from) becomes one static, libc-free riscv64 program. For
//! each state the program loads the registers, `fcsr` and a 256-byte memory area from a
//! table, runs the case, stores the registers, `fcsr`, which way control went, and leaves
//! the memory area in place; at the end it writes the whole table to stdout. That program
//! is run three ways — translated by vmx, interpreted by vmx, and under qemu-riscv64 —
//! and the three dumps are compared field by field.
//!
//! `VMX_HARNESS_KEEP=DIR` keeps each generated program (source and ELF) in `DIR`.
//!
//! Register `t6` (x31) holds the table pointer and `t0` (x5) is clobbered by the harness
//! between cases, so cases never use `t6`; `t0` may be used (it is reloaded per case).

// Each test binary uses a different subset of the harness.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use vmx_lifter::rv::Insn;

use crate::common::{have, run, run_translate, skip, vmx_cmd, Outcome, QEMU_RISCV, RISCV_CC};

// Layout of one state's slot in the table (bytes).
const X_IN: usize = 0;
const F_IN: usize = 256;
const FCSR_IN: usize = 512;
const SP_SAVE: usize = 520;
const X_OUT: usize = 528;
const F_OUT: usize = 784;
const FCSR_OUT: usize = 1040;
const PATH: usize = 1048;
/// The memory area memory-accessing cases point their base registers into.
pub const DATA: usize = 1056;
pub const DATA_LEN: usize = 256;
const SLOT: usize = DATA + DATA_LEN;

/// An initial register value that is an address, resolved by the assembler.
#[derive(Clone, Debug)]
pub enum Addr {
    /// This state's memory area plus an offset.
    Data(i64),
    /// The case's branch/jump target label plus an offset.
    Target(i64),
}

/// One initial state of a case.
#[derive(Clone, Debug)]
pub struct State {
    pub x: [u64; 32],
    /// Registers whose initial value is an address (overrides `x`).
    pub addr: Vec<(u8, Addr)>,
    pub f: [u64; 32],
    pub fcsr: u64,
    pub data: [u8; DATA_LEN],
}

impl State {
    /// Random registers (corner values over-represented), a valid dynamic rounding mode
    /// with random accrued flags, and random memory.
    pub fn random(rng: &mut crate::common::rng::Rng) -> State {
        let mut st = State::default();
        for r in 1..32 {
            st.x[r] = rng.int();
        }
        for r in 0..32 {
            st.f[r] = rng.freg();
        }
        st.fcsr = rng.below(5) << 5 | rng.next() & 0x1f;
        for b in st.data.iter_mut() {
            *b = rng.next() as u8;
        }
        st
    }
}

impl Default for State {
    fn default() -> Self {
        State {
            x: [0; 32],
            addr: Vec::new(),
            f: [0; 32],
            fcsr: 0,
            data: [0; DATA_LEN],
        }
    }
}

/// What the case's code does with control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Falls through to the next instruction.
    Straight,
    /// Branches or jumps to the label `{T}` (written in the code), or falls through;
    /// the harness records which.
    Branch,
}

/// A test case: assembler lines plus what to load and compare.
#[derive(Clone, Debug)]
pub struct Case {
    /// Shown in reports (normally the disassembly).
    pub title: String,
    /// The mnemonics this case exercises (for the coverage table).
    pub mnemonics: Vec<String>,
    /// The instruction under test, when the case is about one.
    pub insn: Option<Insn>,
    /// Assembler lines; `{T}` stands for the case's target label.
    pub code: Vec<String>,
    pub shape: Shape,
    /// Integer registers loaded from the state and compared afterwards (no x0, x31).
    pub x: Vec<u8>,
    /// FP registers loaded and compared.
    pub f: Vec<u8>,
    pub states: Vec<State>,
}

impl Case {
    /// Adds `r` to the loaded integer registers (x0 and the harness register excluded).
    pub fn use_x(&mut self, r: u8) {
        if r != 0 && r != 31 && !self.x.contains(&r) {
            self.x.push(r);
        }
    }

    pub fn use_f(&mut self, r: u8) {
        if !self.f.contains(&r) {
            self.f.push(r);
        }
    }
}

/// The harness program for `cases`, as assembler source.
pub fn assembly(cases: &[Case]) -> String {
    const CASES_PER_FUNCTION: usize = 16;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "    .option norvc\n    .text\n    .globl _start\n    .type _start, @function\n_start:"
    );
    let chunks = cases.len().div_ceil(CASES_PER_FUNCTION);
    for n in 0..chunks {
        let _ = writeln!(s, "    call chunk{n}");
    }
    s.push_str(
        "    la s0, slots_begin
    la s1, slots_end
1:  bgeu s0, s1, 2f
    li a7, 64
    li a0, 1
    mv a1, s0
    sub a2, s1, s0
    ecall
    blez a0, 3f
    add s0, s0, a0
    j 1b
2:  li a7, 93
    li a0, 0
    ecall
3:  li a7, 93
    li a0, 3
    ecall
    .size _start, .-_start
",
    );
    for (n, group) in cases.chunks(CASES_PER_FUNCTION).enumerate() {
        let _ = writeln!(
            s,
            "    .type chunk{n}, @function\nchunk{n}:\n    addi sp, sp, -16\n    sd ra, 8(sp)"
        );
        for (j, case) in group.iter().enumerate() {
            case_code(&mut s, n * CASES_PER_FUNCTION + j, case);
        }
        let _ = writeln!(
            s,
            "    ld ra, 8(sp)\n    addi sp, sp, 16\n    ret\n    .size chunk{n}, .-chunk{n}"
        );
    }
    s.push_str("    .data\n    .balign 16\nslots_begin:\n");
    for (k, case) in cases.iter().enumerate() {
        let _ = writeln!(s, "c{k}_s:");
        for (n, st) in case.states.iter().enumerate() {
            state_data(&mut s, k, n, st);
        }
        let _ = writeln!(s, "c{k}_e:");
    }
    s.push_str("slots_end:\n");
    s
}

fn case_code(s: &mut String, k: usize, case: &Case) {
    let _ = writeln!(s, "    # case {k}: {}", case.title.replace('\n', "; "));
    let _ = writeln!(
        s,
        "    la t6, c{k}_s\nc{k}_l:\n    sd sp, {SP_SAVE}(t6)\n    ld t0, {FCSR_IN}(t6)\n    csrw fcsr, t0"
    );
    for &r in &case.f {
        let _ = writeln!(s, "    fld f{r}, {}(t6)", F_IN + 8 * r as usize);
    }
    for &r in &case.x {
        let _ = writeln!(s, "    ld x{r}, {}(t6)", X_IN + 8 * r as usize);
    }
    let target = format!("c{k}_t");
    for line in &case.code {
        let _ = writeln!(s, "    {}", line.replace("{T}", &target));
    }
    let store = |s: &mut String| {
        for &r in &case.x {
            let _ = writeln!(s, "    sd x{r}, {}(t6)", X_OUT + 8 * r as usize);
        }
        for &r in &case.f {
            let _ = writeln!(s, "    fsd f{r}, {}(t6)", F_OUT + 8 * r as usize);
        }
        let _ = writeln!(s, "    csrr t0, fcsr\n    sd t0, {FCSR_OUT}(t6)");
    };
    match case.shape {
        Shape::Straight => store(s),
        Shape::Branch => {
            store(s);
            let _ = writeln!(
                s,
                "    li t0, 1\n    sd t0, {PATH}(t6)\n    j c{k}_j\n{target}:"
            );
            store(s);
            let _ = writeln!(s, "    li t0, 2\n    sd t0, {PATH}(t6)\nc{k}_j:");
        }
    }
    let _ = writeln!(
        s,
        "    ld sp, {SP_SAVE}(t6)\n    addi t6, t6, {SLOT}\n    la t0, c{k}_e\n    bltu t6, t0, c{k}_l"
    );
}

fn state_data(s: &mut String, k: usize, n: usize, st: &State) {
    let mut words: Vec<String> = st.x.iter().map(|v| format!("{v:#x}")).collect();
    for (r, a) in &st.addr {
        words[*r as usize] = match a {
            Addr::Data(off) => format!("c{k}_s + {}", (n * SLOT + DATA) as i64 + off),
            Addr::Target(off) => format!("c{k}_t + ({off})"),
        };
    }
    words.extend(st.f.iter().map(|v| format!("{v:#x}")));
    words.push(format!("{:#x}", st.fcsr));
    // sp save, then the outputs (zero until written).
    words.extend((SP_SAVE..DATA).step_by(8).map(|_| "0".to_string()));
    for chunk in words.chunks(8) {
        let _ = writeln!(s, "    .dword {}", chunk.join(", "));
    }
    for chunk in st.data.chunks(8) {
        let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let _ = writeln!(s, "    .dword {v:#x}");
    }
}

/// The three executions of a harness program.
pub struct Runs {
    pub qemu: Vec<u8>,
    pub aot: Vec<u8>,
    pub interp: Vec<u8>,
}

/// Builds the program for `cases` in `dir` (named `name`), translates it with vmx and runs
/// it three ways. `None` (with a visible skip message) when the riscv64 toolchain or qemu
/// is not installed.
pub fn build_and_run(test: &str, dir: &Path, name: &str, cases: &[Case]) -> Option<Runs> {
    let elf = build(test, dir, name, &assembly(cases))?;
    let aot = translate(&elf);
    let ok = |what: &str, o: Outcome| -> Vec<u8> {
        assert!(
            o.status == 0,
            "{what} of {} failed ({:?}):\n{}",
            elf.display(),
            o.status,
            o.stderr_text()
        );
        o.stdout
    };
    let qemu = ok(
        "qemu-riscv64",
        run(Command::new(QEMU_RISCV).arg(&elf), None).expect("qemu"),
    );
    let aot_out = ok(
        "vmx exec --engine=aot",
        run(vmx_cmd().arg("exec").arg(&aot), None).expect("vmx exec"),
    );
    let interp = ok(
        "vmx exec --engine=interp",
        run(vmx_cmd().args(["exec", "--engine=interp"]).arg(&elf), None).expect("vmx exec"),
    );
    Some(Runs {
        qemu,
        aot: aot_out,
        interp,
    })
}

/// Assembles and links `source` into a static riscv64 ELF at `dir/name`.
pub fn build(test: &str, dir: &Path, name: &str, source: &str) -> Option<PathBuf> {
    for tool in [RISCV_CC, QEMU_RISCV] {
        if !have(tool) {
            skip(
                test,
                &format!("{tool} is not installed (run `cargo xtask setup`)"),
            );
            return None;
        }
    }
    let src = dir.join(format!("{name}.S"));
    let elf = dir.join(name);
    fs::write(&src, source).expect("write assembler source");
    let out = run(
        Command::new(RISCV_CC)
            .args([
                "-nostdlib",
                "-static",
                "-march=rv64gc_zba_zbb_zbs",
                "-Wl,--no-relax",
                "-o",
            ])
            .arg(&elf)
            .arg(&src),
        None,
    )
    .expect("run the cross assembler");
    assert!(
        out.status == 0,
        "assembling {} failed:\n{}",
        src.display(),
        out.stderr_text()
    );
    if let Some(keep) = std::env::var_os("VMX_HARNESS_KEEP") {
        // Keep the program for a closer look (e.g. `vmx exec --stats`, objdump).
        let keep = PathBuf::from(keep);
        let _ = fs::create_dir_all(&keep);
        let _ = fs::copy(&src, keep.join(format!("{name}.S")));
        let _ = fs::copy(&elf, keep.join(name));
    }
    Some(elf)
}

/// `vmx translate elf -o elf.aot`.
pub fn translate(elf: &Path) -> PathBuf {
    let aot = elf.with_extension("aot");
    let out = run_translate(vmx_cmd().arg("translate").arg(elf).arg("-o").arg(&aot))
        .expect("vmx translate");
    assert!(
        out.status == 0,
        "vmx translate {} failed:\n{}",
        elf.display(),
        out.stderr_text()
    );
    aot
}

/// What qemu-riscv64 is known to get wrong: for a case, state and field (`x10`, `fcsr`,
/// …), the value the specification gives, which replaces qemu's in the comparison.
pub type QemuErrata<'a> = &'a dyn Fn(&Case, &State, &str) -> Option<u64>;

fn word(dump: &[u8], off: usize) -> u64 {
    dump.get(off..off + 8).map_or(u64::MAX, |b| {
        u64::from_le_bytes(b.try_into().expect("8 bytes"))
    })
}

/// Compares the three dumps case by case; returns one line per disagreeing state.
/// Every field is compared, `fcsr` (with the accrued exception flags) included.
pub fn compare(cases: &[Case], runs: &Runs, errata: QemuErrata) -> Vec<String> {
    let total: usize = cases.iter().map(|c| c.states.len()).sum::<usize>() * SLOT;
    let mut out = Vec::new();
    for (name, dump) in [
        ("qemu", &runs.qemu),
        ("aot", &runs.aot),
        ("interp", &runs.interp),
    ] {
        if dump.len() != total {
            out.push(format!(
                "{name} wrote {} bytes, expected {total}",
                dump.len()
            ));
        }
    }
    if !out.is_empty() {
        return out;
    }
    let mut base = 0;
    for (k, case) in cases.iter().enumerate() {
        for n in 0..case.states.len() {
            let mut fields: Vec<(String, usize, u64)> = Vec::new();
            for &r in &case.x {
                fields.push((format!("x{r}"), X_OUT + 8 * r as usize, u64::MAX));
            }
            for &r in &case.f {
                fields.push((format!("f{r}"), F_OUT + 8 * r as usize, u64::MAX));
            }
            fields.push(("fcsr".into(), FCSR_OUT, u64::MAX));
            if case.shape == Shape::Branch {
                fields.push(("path (1 fell through, 2 jumped)".into(), PATH, u64::MAX));
            }
            for w in 0..DATA_LEN / 8 {
                fields.push((format!("memory +{}", w * 8), DATA + 8 * w, u64::MAX));
            }
            let mut diffs = Vec::new();
            for (field, off, _) in &fields {
                let st = &case.states[n];
                let q = errata(case, st, field).unwrap_or_else(|| word(&runs.qemu, base + off));
                let a = word(&runs.aot, base + off);
                let i = word(&runs.interp, base + off);
                if a != i || q != a {
                    diffs.push(format!("{field}: qemu {q:#x}, aot {a:#x}, interp {i:#x}"));
                }
            }
            if !diffs.is_empty() {
                out.push(format!(
                    "case {k}: {} (state {n}: {}): {}",
                    case.title,
                    describe_inputs(case, &case.states[n]),
                    diffs.join("; ")
                ));
            }
            base += SLOT;
        }
    }
    out
}

fn describe_inputs(case: &Case, st: &State) -> String {
    let mut parts = Vec::new();
    for &r in &case.x {
        match st.addr.iter().find(|(a, _)| *a == r) {
            Some((_, a)) => parts.push(format!("x{r}={a:?}")),
            None => parts.push(format!("x{r}={:#x}", st.x[r as usize])),
        }
    }
    for &r in &case.f {
        parts.push(format!("f{r}={:#x}", st.f[r as usize]));
    }
    parts.push(format!("fcsr={:#x}", st.fcsr));
    parts.join(" ")
}

/// Number of cases per mnemonic, for the coverage table.
pub fn mnemonic_counts(cases: &[Case]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in cases {
        for mn in &c.mnemonics {
            *m.entry(mn.clone()).or_default() += 1;
        }
    }
    m
}
