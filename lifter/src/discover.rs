//! Static code discovery for RISC-V guests.
//!
//! Function starts come from the entry point, function symbols, `.eh_frame` FDEs,
//! direct call targets and (optionally) pcs an earlier run had to interpret. Each
//! function is explored from its entry along intra-procedural edges; jump tables are
//! recovered by a small symbolic evaluation of the block ending in the indirect jump.
//! What discovery misses is not fatal: the runtime interprets it and records it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::elf::GuestImage;
use crate::rv::insn::{Insn, Op};
use crate::rv::{decode, decode::insn_len};

/// Upper bound on instructions explored per function (guards against runaway decoding).
const MAX_FUNCTION_INSNS: usize = 200_000;
/// Upper bound on jump table entries.
const MAX_TABLE_ENTRIES: u64 = 4096;

/// Functions whose second return comes from `longjmp`: their return sites need re-entry.
const SETJMP_NAMES: &[&str] = &["setjmp", "_setjmp", "__sigsetjmp", "sigsetjmp", "__setjmp"];

/// How an instruction transfers control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Continues with the next instruction.
    Next,
    /// Conditional branch to `target`, else next.
    Branch(u64),
    /// Direct jump without link (intra-function or tail call).
    Jump(u64),
    /// Direct call (`jal ra`/`jal t0`); returns to the next instruction.
    Call(u64),
    /// `jalr x0, 0(ra)` (or `t0`): function return.
    Return,
    /// Indirect jump without link.
    IndirectJump,
    /// Indirect call.
    IndirectCall,
    /// `ecall`: continues with the next instruction after the runtime services it.
    Syscall,
    /// Ends the path: `ebreak`, illegal instruction, and `jal` with an unusual link register.
    Stop,
}

fn is_link(r: u8) -> bool {
    r == 1 || r == 5
}

/// Classify an instruction at `pc`.
pub fn flow(i: &Insn, pc: u64) -> Flow {
    let target = pc.wrapping_add(i.imm as u64);
    match i.op {
        Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => Flow::Branch(target),
        Op::Jal if i.rd == 0 => Flow::Jump(target),
        Op::Jal if is_link(i.rd) => Flow::Call(target),
        Op::Jal => Flow::Stop,
        Op::Jalr if i.rd == 0 && is_link(i.rs1) && i.imm == 0 => Flow::Return,
        Op::Jalr if i.rd == 0 => Flow::IndirectJump,
        Op::Jalr if is_link(i.rd) => Flow::IndirectCall,
        Op::Jalr => Flow::Stop,
        Op::Ecall => Flow::Syscall,
        Op::Ebreak | Op::Illegal => Flow::Stop,
        _ => Flow::Next,
    }
}

/// A basic block: straight-line instructions; only the last may transfer control.
#[derive(Clone, Debug)]
pub struct Block {
    pub start: u64,
    pub insns: Vec<(u64, Insn)>,
}

impl Block {
    /// Address just past the last instruction.
    pub fn end(&self) -> u64 {
        self.insns
            .last()
            .map_or(self.start, |(pc, i)| pc + i.len as u64)
    }
}

/// A guest function: the unit of translation.
#[derive(Clone, Debug)]
pub struct Function {
    pub entry: u64,
    pub name: Option<String>,
    /// Sorted by start address.
    pub blocks: Vec<Block>,
    /// Recovered jump tables: indirect-jump pc → possible targets (sorted, deduplicated).
    pub jump_tables: BTreeMap<u64, Vec<u64>>,
    /// Block starts the translated function can be re-entered at (after a `longjmp` or a
    /// miss handled by the runtime). Empty for most functions.
    pub resume_points: Vec<u64>,
    /// Whether some indirect jump's targets are unknown (the runtime resolves them).
    pub has_unresolved_jumps: bool,
}

impl Function {
    pub fn insn_count(&self) -> usize {
        self.blocks.iter().map(|b| b.insns.len()).sum()
    }

    /// The other functions of `program` this one transfers to directly (calls, tail
    /// calls, branches to another entry): the ones whose translation may be inlined into
    /// this one's. Sorted.
    pub fn direct_callees(&self, program: &Program) -> Vec<u64> {
        let mut out = BTreeSet::new();
        for b in &self.blocks {
            let Some((pc, last)) = b.insns.last() else {
                continue;
            };
            let target = match flow(last, *pc) {
                Flow::Call(t) | Flow::Jump(t) | Flow::Branch(t) => t,
                _ => continue,
            };
            if target != self.entry && program.function(target).is_some() {
                out.insert(target);
            }
        }
        out.into_iter().collect()
    }

    /// The guest bytes the function's blocks occupy, as sorted, merged `[start, end)`
    /// ranges.
    pub fn code_ranges(&self) -> Vec<(u64, u64)> {
        let mut r: Vec<(u64, u64)> = self.blocks.iter().map(|b| (b.start, b.end())).collect();
        r.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(r.len());
        for (s, e) in r {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        out
    }
}

/// The discovered code of a guest image.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// Sorted by entry.
    pub functions: Vec<Function>,
}

impl Program {
    pub fn function(&self, entry: u64) -> Option<&Function> {
        self.functions
            .binary_search_by_key(&entry, |f| f.entry)
            .ok()
            .map(|i| &self.functions[i])
    }
}

/// Read-only view of the guest's executable bytes.
struct Code<'a> {
    image: &'a GuestImage,
    data: &'a [u8],
}

impl Code<'_> {
    fn fetch(&self, pc: u64) -> Option<Insn> {
        if pc & 1 != 0 || !self.image.is_code(pc) {
            return None;
        }
        let lo = self.image.bytes_at(self.data, pc, 2)?;
        let half = u16::from_le_bytes([lo[0], lo[1]]);
        if insn_len(half) == 2 {
            return Some(decode(half as u32));
        }
        let b = self.image.bytes_at(self.data, pc, 4)?;
        Some(decode(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    }

    fn read(&self, addr: u64, size: u64) -> Option<u64> {
        let b = self.image.bytes_at(self.data, addr, size)?;
        let mut v = [0u8; 8];
        v[..size as usize].copy_from_slice(b);
        Some(u64::from_le_bytes(v))
    }
}

/// Discover the functions of `image` (`data` is the ELF file). `extra_entries` are
/// additional pcs known to be executed (e.g. from a miss profile).
pub fn discover(image: &GuestImage, data: &[u8], extra_entries: &[u64]) -> Program {
    let code = Code { image, data };
    let symbols: HashMap<u64, (&str, u64)> = image
        .functions
        .iter()
        .filter(|f| image.is_code(f.addr))
        .map(|f| (f.addr, (f.name.as_str(), f.size)))
        .collect();
    let setjmps: BTreeSet<u64> = image
        .functions
        .iter()
        .filter(|f| SETJMP_NAMES.contains(&f.name.as_str()))
        .map(|f| f.addr)
        .collect();

    // Every address known to start a function: symbols, FDEs, the entry point. These
    // bound functions during exploration; only the reachable ones are translated.
    let mut starts: BTreeSet<u64> = BTreeSet::new();
    starts.insert(image.entry);
    starts.extend(symbols.keys().copied());
    starts.extend(
        image
            .fde_starts
            .iter()
            .copied()
            .filter(|a| image.is_code(*a)),
    );

    // Roots: the entry point, functions whose address is stored in data (function
    // pointers, vtables, init arrays), and pcs a previous run had to interpret.
    let mut roots: Vec<u64> = vec![image.entry];
    roots.extend(pointers_in_data(image, data, &starts));

    // Profile pcs inside a known symbol's range become resume points of that function;
    // others become function starts.
    let mut extra_points: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for &pc in extra_entries {
        match containing_symbol(image, pc) {
            Some(f) if f != pc => {
                roots.push(f);
                extra_points.entry(f).or_default().insert(pc);
            }
            _ => {
                if image.is_code(pc) {
                    starts.insert(pc);
                    roots.push(pc);
                }
            }
        }
    }

    tracing::debug!(
        roots = roots.len(),
        profile_pcs = extra_entries.len(),
        known_starts = starts.len(),
        "discovery: entry, function pointers in data and profile pcs as roots"
    );
    let mut done: BTreeMap<u64, Function> = BTreeMap::new();
    let mut work: Vec<u64> = roots;
    work.sort_unstable();
    work.dedup();
    work.reverse();
    while let Some(entry) = work.pop() {
        if done.contains_key(&entry) || code.fetch(entry).is_none() {
            continue;
        }
        let bound = symbols
            .get(&entry)
            .map(|&(_, size)| entry..entry.saturating_add(size.max(2)));
        let extra = extra_points.get(&entry).cloned().unwrap_or_default();
        let f = explore(&code, entry, bound, &starts, &setjmps, &extra);
        for b in &f.blocks {
            if let Some((pc, last)) = b.insns.last() {
                if let Flow::Call(t) | Flow::Jump(t) = flow(last, *pc) {
                    let is_tail = matches!(flow(last, *pc), Flow::Jump(_))
                        && f.blocks.binary_search_by_key(&t, |b| b.start).is_ok();
                    if !is_tail && !done.contains_key(&t) && code.fetch(t).is_some() {
                        starts.insert(t);
                        work.push(t);
                    }
                }
            }
        }
        // Functions whose address the code computes (`auipc`/`lui` + `addi`).
        for t in code_address_refs(&f, &starts) {
            if !done.contains_key(&t) {
                work.push(t);
            }
        }
        let mut f = f;
        f.name = symbols.get(&entry).map(|&(n, _)| n.to_string());
        tracing::trace!(
            entry = format_args!("{entry:#x}"),
            name = f.name.as_deref().unwrap_or("?"),
            blocks = f.blocks.len(),
            insns = f.insn_count(),
            jump_tables = f.jump_tables.len(),
            unresolved_jumps = f.has_unresolved_jumps,
            "discovered function"
        );
        done.insert(entry, f);
    }
    Program {
        functions: done.into_values().collect(),
    }
}

/// The function symbol whose range contains `pc`.
fn containing_symbol(image: &GuestImage, pc: u64) -> Option<u64> {
    let i = image.functions.partition_point(|f| f.addr <= pc);
    let f = image.functions.get(i.checked_sub(1)?)?;
    (pc < f.addr.saturating_add(f.size.max(1))).then_some(f.addr)
}

/// Explore one function from `entry`.
fn explore(
    code: &Code,
    entry: u64,
    bound: Option<std::ops::Range<u64>>,
    starts: &BTreeSet<u64>,
    setjmps: &BTreeSet<u64>,
    extra_points: &BTreeSet<u64>,
) -> Function {
    let inside = |t: u64| match &bound {
        Some(r) => r.contains(&t),
        None => !starts.contains(&t) || t == entry,
    };
    // Pass 1: find block leaders by following edges.
    let mut leaders: BTreeSet<u64> = BTreeSet::new();
    let mut visited: BTreeSet<u64> = BTreeSet::new();
    let mut jump_tables = BTreeMap::new();
    let mut resume = BTreeSet::new();
    let mut unresolved = false;
    // `jalr`s whose target an `auipc` right before them fixes, with that target.
    let mut resolved: BTreeMap<u64, u64> = BTreeMap::new();
    let mut work = vec![entry];
    leaders.insert(entry);
    for &p in extra_points {
        if code.fetch(p).is_some() {
            leaders.insert(p);
            work.push(p);
            resume.insert(p);
        }
    }
    let mut budget = MAX_FUNCTION_INSNS;
    while let Some(start) = work.pop() {
        let mut pc = start;
        let mut path: Vec<(u64, Insn)> = Vec::new();
        loop {
            if !visited.insert(pc) || budget == 0 {
                break;
            }
            budget -= 1;
            let Some(i) = code.fetch(pc) else { break };
            path.push((pc, i));
            let next = pc + i.len as u64;
            let add = |t: u64, leaders: &mut BTreeSet<u64>, work: &mut Vec<u64>| {
                if code.fetch(t).is_some() {
                    leaders.insert(t);
                    work.push(t);
                }
            };
            let mut fl = flow(&i, pc);
            if let Some(t) = auipc_jalr_target(&path) {
                // `call`/`tail` through `auipc`+`jalr`: a direct transfer.
                fl = match fl {
                    Flow::IndirectCall => Flow::Call(t),
                    _ => Flow::Jump(t),
                };
                resolved.insert(pc, t);
            }
            match fl {
                Flow::Next | Flow::Syscall => {
                    if pc != start && starts.contains(&next) && next != entry && bound.is_none() {
                        break;
                    }
                    pc = next;
                    continue;
                }
                Flow::Branch(t) => {
                    add(t, &mut leaders, &mut work);
                    add(next, &mut leaders, &mut work);
                }
                Flow::Jump(t) => {
                    if inside(t) {
                        add(t, &mut leaders, &mut work);
                    }
                }
                Flow::Call(t) => {
                    if setjmps.contains(&t) {
                        resume.insert(next);
                    }
                    // The return site starts a block, unless it is another function
                    // (the call never returns: the lifter turns that edge into a tail call).
                    if inside(next) || !starts.contains(&next) {
                        add(next, &mut leaders, &mut work);
                    }
                }
                Flow::IndirectCall => {
                    if inside(next) || !starts.contains(&next) {
                        add(next, &mut leaders, &mut work);
                    }
                }
                Flow::IndirectJump => match jump_table(code, &path, &inside) {
                    Some(targets) => {
                        for &t in &targets {
                            add(t, &mut leaders, &mut work);
                        }
                        jump_tables.insert(pc, targets);
                    }
                    None => {
                        tracing::debug!(
                            func = format_args!("{entry:#x}"),
                            pc = format_args!("{pc:#x}"),
                            "unresolved indirect jump"
                        );
                        unresolved = true
                    }
                },
                Flow::Return | Flow::Stop => {}
            }
            break;
        }
    }

    // A resolved `jalr` that other paths reach directly (a leader) keeps its register
    // target; the others become the equivalent `jal` (same length, same link value).
    resolved.retain(|pc, _| !leaders.contains(pc));

    // Pass 2: cut blocks at leaders.
    let mut blocks = Vec::new();
    for &start in &leaders {
        let mut insns = Vec::new();
        let mut pc = start;
        while let Some(mut i) = code.fetch(pc) {
            if let Some(&t) = resolved.get(&pc) {
                i = Insn {
                    op: Op::Jal,
                    rd: i.rd,
                    imm: t.wrapping_sub(pc) as i64,
                    len: i.len,
                    ..Insn::new(Op::Jal, i.len)
                };
            }
            insns.push((pc, i));
            let next = pc + i.len as u64;
            if flow(&i, pc) != Flow::Next && flow(&i, pc) != Flow::Syscall {
                break;
            }
            if leaders.contains(&next) || (starts.contains(&next) && !inside(next)) {
                break;
            }
            if insns.len() > MAX_FUNCTION_INSNS {
                break;
            }
            pc = next;
        }
        if !insns.is_empty() {
            blocks.push(Block { start, insns });
        }
    }
    // An unresolved indirect jump is most often a tail call through a function pointer.
    // The runtime runs its target until this frame returns; if the target turns out to
    // be inside this function, the interpreter runs the rest of the frame and the miss
    // profile makes that pc a resume point of the next translation.
    resume.remove(&entry);
    Function {
        entry,
        name: None,
        blocks,
        jump_tables,
        resume_points: resume.into_iter().collect(),
        has_unresolved_jumps: unresolved,
    }
}

/// The target of a `jalr` (last in `path`) whose base register the instruction right
/// before it set with `auipc` (the `call`/`tail` sequences of far calls), if its flow is
/// a call or a jump.
fn auipc_jalr_target(path: &[(u64, Insn)]) -> Option<u64> {
    let [.., (apc, a), (pc, j)] = path else {
        return None;
    };
    if j.op != Op::Jalr || a.op != Op::Auipc || a.rd != j.rs1 || j.rs1 == 0 || *apc + 4 != *pc {
        return None;
    }
    if !matches!(flow(j, *pc), Flow::IndirectCall | Flow::IndirectJump) {
        return None;
    }
    Some(apc.wrapping_add(a.imm as u64).wrapping_add(j.imm as u64) & !1)
}

/// Symbolic register values for jump-table recovery.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Val {
    Unknown,
    Const(u64),
    /// `table + index * scale`, index unknown.
    Slot(u64),
    /// A table entry loaded from `table` (entry `size` bytes, sign-extended or not),
    /// plus a constant.
    Entry {
        table: u64,
        size: u64,
        signed: bool,
        plus: u64,
    },
}

/// Recover the targets of the indirect jump ending `path` (the instructions leading to
/// it, in order), or `None`.
fn jump_table(code: &Code, path: &[(u64, Insn)], inside: &dyn Fn(u64) -> bool) -> Option<Vec<u64>> {
    let mut regs = [Val::Unknown; 32];
    regs[0] = Val::Const(0);
    let (&(_, jr), body) = path.split_last()?;
    for &(pc, i) in body {
        use Op::*;
        let a = regs[i.rs1 as usize];
        let b = regs[i.rs2 as usize];
        let v = match i.op {
            Lui => Val::Const(i.imm as u64),
            Auipc => Val::Const(pc.wrapping_add(i.imm as u64)),
            Addi => match a {
                Val::Const(c) => Val::Const(c.wrapping_add(i.imm as u64)),
                Val::Entry {
                    table,
                    size,
                    signed,
                    plus,
                } => Val::Entry {
                    table,
                    size,
                    signed,
                    plus: plus.wrapping_add(i.imm as u64),
                },
                _ => Val::Unknown,
            },
            Add | Sh1add | Sh2add | Sh3add => match (i.op, a, b) {
                (Add, Val::Const(x), Val::Const(y)) => Val::Const(x.wrapping_add(y)),
                (_, Val::Const(c), Val::Unknown) | (_, Val::Unknown, Val::Const(c)) => Val::Slot(c),
                (
                    Add,
                    Val::Entry {
                        table,
                        size,
                        signed,
                        plus,
                    },
                    Val::Const(c),
                )
                | (
                    Add,
                    Val::Const(c),
                    Val::Entry {
                        table,
                        size,
                        signed,
                        plus,
                    },
                ) => Val::Entry {
                    table,
                    size,
                    signed,
                    plus: plus.wrapping_add(c),
                },
                _ => Val::Unknown,
            },
            Lw | Lwu | Ld if i.imm == 0 => match a {
                Val::Slot(table) => Val::Entry {
                    table,
                    size: if i.op == Ld { 8 } else { 4 },
                    signed: i.op == Lw,
                    plus: 0,
                },
                _ => Val::Unknown,
            },
            _ => Val::Unknown,
        };
        if i.rd != 0
            && !matches!(
                i.op,
                Sb | Sh | Sw | Sd | Beq | Bne | Blt | Bge | Bltu | Bgeu
            )
        {
            regs[i.rd as usize] = v;
        }
    }
    let Val::Entry {
        table,
        size,
        signed,
        plus,
    } = regs[jr.rs1 as usize]
    else {
        return None;
    };
    let mut targets = Vec::new();
    for k in 0..MAX_TABLE_ENTRIES {
        let Some(raw) = code.read(table + k * size, size) else {
            break;
        };
        let e = if signed && size == 4 {
            raw as u32 as i32 as i64 as u64
        } else {
            raw
        };
        let t = e.wrapping_add(plus).wrapping_add(jr.imm as u64) & !1;
        if !inside(t) || code.fetch(t).is_none() {
            break;
        }
        targets.push(t);
    }
    if targets.is_empty() {
        return None;
    }
    targets.sort_unstable();
    targets.dedup();
    Some(targets)
}

/// Known function starts stored as 8-byte little-endian words in the file-backed part of
/// any segment.
fn pointers_in_data(image: &GuestImage, data: &[u8], starts: &BTreeSet<u64>) -> Vec<u64> {
    let mut found = BTreeSet::new();
    for seg in &image.segments {
        let Some(bytes) = data.get(seg.offset as usize..(seg.offset + seg.filesz) as usize) else {
            continue;
        };
        // Align to the guest address, not the file offset.
        let skip = ((8 - (seg.vaddr % 8)) % 8) as usize;
        for w in bytes.get(skip..).unwrap_or_default().chunks_exact(8) {
            let v = u64::from_le_bytes(w.try_into().expect("8 bytes"));
            if starts.contains(&v) {
                found.insert(v);
            }
        }
    }
    found.into_iter().collect()
}

/// Known function starts that `f` materialises in a register (`lui`/`auipc` + `addi`).
fn code_address_refs(f: &Function, starts: &BTreeSet<u64>) -> Vec<u64> {
    let mut out = Vec::new();
    for b in &f.blocks {
        let mut regs: [Option<u64>; 32] = [None; 32];
        for &(pc, i) in &b.insns {
            let v = match i.op {
                Op::Lui => Some(i.imm as u64),
                Op::Auipc => Some(pc.wrapping_add(i.imm as u64)),
                Op::Addi => regs[i.rs1 as usize].map(|c| c.wrapping_add(i.imm as u64)),
                _ => None,
            };
            if i.rd != 0 {
                if let Some(c) = v {
                    if starts.contains(&c) {
                        out.push(c);
                    }
                }
                regs[i.rd as usize] = v;
            }
        }
    }
    out
}
