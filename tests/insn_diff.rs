//! Per-instruction differential test of the two engines.
//!
//! Every instruction encoding in the decoder's golden file (`lifter/tests/data/rv_decode.txt`,
//! which covers every operation with many operand combinations) is executed from the
//! same random guest states by
//! - the interpreter (`vmx_runtime::interp::run_block`), and
//! - LLVM-compiled code (the instruction followed by `ret`, lifted, optimised, compiled and
//!   linked in-process exactly like a real translation),
//!
//! and the resulting integer, floating-point and CSR state and guest memory must be
//! identical. Both engines use the one semantics in `lifter/src/rv/exec/`, so a difference
//! means a backend implements a `Sem` primitive differently.

mod common;

use std::collections::BTreeMap;

use vmx_lifter::discover::{flow, Block, Flow, Function, Program};
use vmx_lifter::rv::insn::{csr, Op};
use vmx_lifter::rv::{decode, Insn};
use vmx_lifter::state::RvState;
use vmx_runtime::interp::{run_block, BlockExit, DecodedBlock};
use vmx_runtime::link::{link, LinkedCode};
use vmx_runtime::memory::{GuestMemory, Prot};
use vmx_translator::{compile_program, Options};

use common::golden::golden_insns;
use common::rng::Rng;

/// Guest page the memory-accessing instructions use.
const DATA: u64 = 0x20000;
const DATA_LEN: u64 = 0x4000;
/// Where the test functions live (each 16 bytes apart).
const CODE: u64 = 0x100000;
/// Encodings kept per operation (the golden file has many more for some ops).
const PER_OP: usize = 6;
/// Random states per encoding.
const STATES: usize = 6;

type GuestFn = unsafe extern "C" fn(*mut RvState, *mut u8);

/// Encodings from the golden file's main section, at most [`PER_OP`] per operation.
fn encodings() -> Vec<Insn> {
    let mut per_op: BTreeMap<Op, Vec<Insn>> = BTreeMap::new();
    for insn in golden_insns(&["[.text]"]) {
        let v = per_op.entry(insn.op).or_default();
        if v.len() < PER_OP && !v.contains(&insn) {
            v.push(insn);
        }
    }
    per_op.into_values().flatten().filter(testable).collect()
}

/// A guest function made of `blocks`, entered at `pc`.
fn function(pc: u64, blocks: Vec<Block>) -> Function {
    Function {
        entry: pc,
        name: None,
        blocks,
        jump_tables: BTreeMap::new(),
        resume_points: Vec::new(),
        has_unresolved_jumps: false,
    }
}

/// Lift, optimise, compile and link `functions` exactly as a real translation would.
fn compile_and_link(functions: Vec<Function>) -> LinkedCode {
    let program = Program { functions };
    let (objects, _) = compile_program(&program, &Options::default()).expect("compile");
    let objs: Vec<&[u8]> = objects.iter().map(|o| o.as_slice()).collect();
    link(&objs, &vmx_runtime::engine::resolve_runtime_symbol).expect("link")
}

/// The translated function for guest `pc`.
fn guest_fn(code: &LinkedCode, pc: u64) -> GuestFn {
    let sym = vmx_lifter::llvm::symbol_name(pc);
    let addr = code
        .symbol(&sym)
        .unwrap_or_else(|| panic!("{sym} not linked"));
    // SAFETY: every symbol the translator emits is a function with the `GuestFn` signature.
    unsafe { std::mem::transmute::<usize, GuestFn>(addr) }
}

/// Instructions whose effect is a pure function of registers and memory.
fn testable(i: &Insn) -> bool {
    if flow(i, 0) != Flow::Next {
        return false; // control flow, ecall, ebreak, illegal
    }
    if accesses_memory(i.op) && i.rs1 == 0 {
        return false; // absolute address near 0: unmapped in any real process
    }
    match i.op {
        Op::FenceI => false,
        Op::Csrrw | Op::Csrrs | Op::Csrrc | Op::Csrrwi | Op::Csrrsi | Op::Csrrci => {
            matches!(i.csr, csr::FFLAGS | csr::FRM | csr::FCSR)
        }
        _ => true,
    }
}

fn accesses_memory(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu | Sb | Sh | Sw | Sd | Flw | Fld | Fsw | Fsd
    ) || op.ext() == vmx_lifter::rv::insn::Ext::A
}

fn random_state(rng: &mut Rng, i: &Insn) -> RvState {
    let mut st = RvState::default();
    for r in 1..32 {
        st.x[r] = rng.int();
        st.f[r] = rng.freg();
    }
    st.f[0] = rng.freg();
    // Valid rounding modes only (a reserved frm makes dynamic-rm instructions illegal).
    st.fcsr = (rng.next() % 5) << 5 | rng.next() & 0x1f;
    if accesses_memory(i.op) && i.rs1 != 0 {
        // Point the base register into the data page, aligned for atomics.
        let off = (rng.next() % 0x800) & !7;
        st.x[i.rs1 as usize] = (DATA + 0x1000 + off).wrapping_sub(i.imm as u64);
        if i.op.ext() == vmx_lifter::rv::insn::Ext::A && rng.next().is_multiple_of(2) {
            // Exercise successful SC: hold the reservation on that address.
            st.res_addr = DATA + 0x1000 + off;
        }
    }
    st
}

fn fill_memory(mem: &GuestMemory, seed: u64) {
    let mut rng = Rng(seed | 1);
    let bytes: Vec<u8> = (0..DATA_LEN).map(|_| rng.next() as u8).collect();
    mem.write(DATA, &bytes).expect("data page");
}

fn snapshot(mem: &GuestMemory) -> Vec<u8> {
    let mut b = vec![0; DATA_LEN as usize];
    mem.read(DATA, &mut b).expect("data page");
    b
}

#[test]
fn interpreter_and_compiled_code_agree_on_every_instruction() {
    let insns = encodings();
    assert!(
        insns.len() > 300,
        "expected many encodings, got {}",
        insns.len()
    );
    let ret = decode(0x0000_8067); // jalr x0, 0(ra)
    let functions: Vec<Function> = insns
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let pc = CODE + 16 * k as u64;
            let insns = vec![(pc, *i), (pc + i.len as u64, ret)];
            function(pc, vec![Block { start: pc, insns }])
        })
        .collect();
    let code = compile_and_link(functions);

    let mem = GuestMemory::new().expect("guest memory");
    mem.map_fixed(DATA, DATA_LEN, Prot::RW).expect("map data");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut failures = Vec::new();
    for (k, insn) in insns.iter().enumerate() {
        let pc = CODE + 16 * k as u64;
        let f = guest_fn(&code, pc);
        for n in 0..STATES {
            let init = random_state(&mut rng, insn);
            let seed = rng.next();

            fill_memory(&mem, seed);
            let mut a = RvState { pc, ..init.clone() };
            let block = DecodedBlock {
                insns: vec![(pc, *insn)],
            };
            let exit = run_block(&mut a, mem.base(), &block);
            let mem_a = snapshot(&mem);

            fill_memory(&mem, seed);
            let mut b = RvState { pc, ..init.clone() };
            // SAFETY: `f` is linked translated code; `b` is a valid state and `mem` the
            // guest region the code was generated for.
            unsafe { f(&mut b, mem.base()) };
            let mem_b = snapshot(&mem);

            let text = vmx_lifter::rv::disasm::disasm(insn, pc);
            if exit != BlockExit::Done {
                failures.push(format!("{text}: interpreter trapped ({exit:?})"));
                break;
            }
            let mut diffs = Vec::new();
            for r in 0..32 {
                if a.x[r] != b.x[r] {
                    diffs.push(format!("x{r}: interp {:#x} compiled {:#x}", a.x[r], b.x[r]));
                }
                if a.f[r] != b.f[r] {
                    diffs.push(format!("f{r}: interp {:#x} compiled {:#x}", a.f[r], b.f[r]));
                }
            }
            if a.fcsr != b.fcsr {
                diffs.push(format!("fcsr: interp {:#x} compiled {:#x}", a.fcsr, b.fcsr));
            }
            if a.res_addr != b.res_addr {
                diffs.push(format!(
                    "reservation: interp {:#x} compiled {:#x}",
                    a.res_addr, b.res_addr
                ));
            }
            if mem_a != mem_b {
                diffs.push("guest memory differs".into());
            }
            if !diffs.is_empty() {
                let inputs: Vec<String> = [insn.rs1, insn.rs2, insn.rs3]
                    .iter()
                    .map(|&r| {
                        format!(
                            "x{r}={:#x} f{r}={:#x}",
                            init.x[r as usize], init.f[r as usize]
                        )
                    })
                    .collect();
                failures.push(format!(
                    "{text} (state {n}; {}; fcsr={:#x}): {}",
                    inputs.join(", "),
                    init.fcsr,
                    diffs.join("; ")
                ));
                break;
            }
        }
    }
    eprintln!("{} encodings x {STATES} states compared", insns.len());
    assert!(
        failures.is_empty(),
        "{} instructions disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Control flow: every conditional branch (32-bit and compressed forms from the golden
/// file, with their registers), direct jumps and returns, each lifted as a tiny CFG whose
/// taken and fall-through paths leave a marker in `t6`; the pc the interpreter computes
/// must be the path the compiled code took, and every other register must agree.
#[test]
fn interpreter_and_compiled_code_agree_on_control_flow() {
    const SPACING: u64 = 64;
    const TAKEN: i64 = 16;
    let marker = |v: i64| Insn {
        rd: 31,
        imm: v,
        ..Insn::new(Op::Addi, 4)
    };
    let ret = decode(0x0000_8067); // jalr x0, 0(ra)
    let mut cases: Vec<Insn> = Vec::new();
    for mut i in golden_insns(&["[.text]", "[.text.illegal]", "[.text.random]"]) {
        match flow(&i, 0) {
            Flow::Branch(_) | Flow::Jump(_) => i.imm = TAKEN,
            Flow::Return => {}
            _ => continue,
        }
        if i.rs1 == 31 || i.rs2 == 31 || cases.contains(&i) || cases.len() > 400 {
            continue;
        }
        cases.push(i);
    }
    assert!(
        cases.iter().any(|i| i.len == 2) && cases.len() > 50,
        "{} cases",
        cases.len()
    );

    let functions: Vec<Function> = cases
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let pc = CODE + SPACING * k as u64;
            let mut blocks = vec![Block {
                start: pc,
                insns: vec![(pc, *i)],
            }];
            if flow(i, pc) != Flow::Return {
                let n = pc + i.len as u64;
                let t = pc + TAKEN as u64;
                blocks.push(Block {
                    start: n,
                    insns: vec![(n, marker(2)), (n + 4, ret)],
                });
                blocks.push(Block {
                    start: t,
                    insns: vec![(t, marker(1)), (t + 4, ret)],
                });
            }
            function(pc, blocks)
        })
        .collect();
    let code = compile_and_link(functions);
    let mem = GuestMemory::new().expect("guest memory");

    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut failures = Vec::new();
    for (k, insn) in cases.iter().enumerate() {
        let pc = CODE + SPACING * k as u64;
        let f = guest_fn(&code, pc);
        for _ in 0..STATES {
            let mut init = random_state(&mut rng, insn);
            if rng.next().is_multiple_of(2) {
                // Make equality-style branches go both ways.
                init.x[insn.rs2 as usize] = init.x[insn.rs1 as usize];
            }
            init.x[0] = 0;
            let mut a = RvState { pc, ..init.clone() };
            let exit = run_block(
                &mut a,
                mem.base(),
                &DecodedBlock {
                    insns: vec![(pc, *insn)],
                },
            );
            let mut b = RvState { pc, ..init.clone() };
            // SAFETY: linked translated code, valid state; it touches no guest memory.
            unsafe { f(&mut b, mem.base()) };
            let text = vmx_lifter::rv::disasm::disasm(insn, pc);
            // Where did the compiled code go? The marker says; a return leaves st.pc.
            let went = match b.x[31] {
                _ if flow(insn, pc) == Flow::Return => b.pc,
                1 => pc + TAKEN as u64,
                2 => pc + insn.len as u64,
                _ => u64::MAX,
            };
            let mut diffs = Vec::new();
            if exit != BlockExit::Done {
                diffs.push(format!("interpreter stopped: {exit:?}"));
            }
            if a.pc != went {
                diffs.push(format!(
                    "next pc: interpreter {:#x}, compiled {went:#x}",
                    a.pc
                ));
            }
            for r in 0..31 {
                // The marker paths end in `ret`, which leaves ra alone.
                if a.x[r] != b.x[r] {
                    diffs.push(format!(
                        "x{r}: interpreter {:#x}, compiled {:#x}",
                        a.x[r], b.x[r]
                    ));
                }
            }
            if !diffs.is_empty() {
                failures.push(format!("{text}: {}", diffs.join("; ")));
                break;
            }
        }
    }
    eprintln!(
        "{} control-flow encodings x {STATES} states compared",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
