//! Shared code of the RISC-V decoder tests: GNU objdump listings (parsing, the
//! compressed → 32-bit text mapping, the comparison rule), golden files, and running
//! the cross tools when they are installed.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use vmx_lifter::rv::disasm::disasm;
use vmx_lifter::rv::{decode, Insn, Op};

pub const AS: &str = "riscv64-linux-gnu-as";
pub const OBJDUMP: &str = "riscv64-linux-gnu-objdump";
pub const GCC: &str = "riscv64-linux-gnu-gcc";
pub const MARCH: &str = "-march=rv64gc_zba_zbb_zbs";

/// Start of every generated assembly file. binutils names CSRs according to the
/// object's privileged-spec attribute; pin it to 1.11, what GCC records (see
/// `CSR_NAMES` in disasm.rs).
pub const PRELUDE: &str = "\t.attribute priv_spec, 1\n\t.attribute priv_spec_minor, 11\n\
                           \t.option arch, +zba, +zbb, +zbs\n\t.option norelax\n";

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// One instruction of an objdump listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Section it came from (`.text`, `.text.illegal`, …).
    pub section: String,
    pub pc: u64,
    /// The encoding (a halfword for compressed instructions).
    pub word: u32,
    /// Length in bytes, 2 or 4.
    pub len: u8,
    /// objdump's text, normalized (see [`normalize`]).
    pub text: String,
    /// For a valid compressed instruction: the 32-bit encoding of its expansion and
    /// the expansion's text (targets absolute, as at `pc`).
    pub expanded: Option<(u32, String)>,
}

/// objdump's text with the tab after the mnemonic turned into a space, and the
/// `<symbol>` and `# comment` annotations dropped.
pub fn normalize(text: &str) -> String {
    let mut t = text.trim().replacen('\t', " ", 1);
    if let Some(k) = t.find(" #") {
        t.truncate(k);
    }
    if let Some(k) = t.find(" <") {
        t.truncate(k);
    }
    t.trim_end().to_string()
}

/// Whether objdump printed the bytes as data rather than an instruction.
pub fn objdump_invalid(text: &str) -> bool {
    text.starts_with('.')
}

/// Parse `objdump -d` output. Only 2- and 4-byte instructions are kept.
pub fn parse_objdump(listing: &str) -> Vec<Line> {
    let mut section = String::new();
    let mut out = Vec::new();
    for l in listing.lines() {
        if let Some(s) = l.strip_prefix("Disassembly of section ") {
            section = s.trim_end_matches(':').to_string();
            continue;
        }
        let mut parts = l.splitn(3, '\t');
        let (Some(addr), Some(bytes), Some(text)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Some(addr) = addr.trim().strip_suffix(':') else {
            continue;
        };
        let bytes = bytes.trim();
        let (Ok(pc), Ok(word)) = (
            u64::from_str_radix(addr, 16),
            u32::from_str_radix(bytes, 16),
        ) else {
            continue;
        };
        let len = match bytes.len() {
            4 => 2,
            8 => 4,
            _ => continue,
        };
        out.push(Line {
            section: section.clone(),
            pc,
            word,
            len,
            text: normalize(text),
            expanded: None,
        });
    }
    out
}

/// Split `text` into mnemonic and operands.
fn split(text: &str) -> (&str, Vec<&str>) {
    match text.split_once(' ') {
        Some((m, ops)) => (m, ops.split(',').collect()),
        None => (text, Vec::new()),
    }
}

/// The text of the 32-bit instruction a compressed instruction (as objdump prints it)
/// expands to, per the RVC expansion table of the ISA manual. `None` for `c.unimp`
/// and for mnemonics this table does not know.
pub fn expand_c(text: &str) -> Option<String> {
    let (m, a) = split(text);
    let arg = |k: usize| a.get(k).copied().unwrap_or("?");
    let base = m.strip_prefix("c.")?;
    Some(match base {
        "nop" => "addi zero,zero,0".to_string(),
        "addi" | "addiw" | "andi" | "slli" | "srli" | "srai" => {
            format!("{base} {0},{0},{1}", arg(0), arg(1))
        }
        "slli64" | "srli64" | "srai64" => format!("{} {1},{1},0x0", &base[..4], arg(0)),
        "li" => format!("addi {},zero,{}", arg(0), arg(1)),
        "lui" => format!("lui {},{}", arg(0), arg(1)),
        "addi16sp" => format!("addi sp,sp,{}", arg(1)),
        "addi4spn" => format!("addi {},sp,{}", arg(0), arg(2)),
        "mv" => format!("add {},zero,{}", arg(0), arg(1)),
        "add" | "sub" | "xor" | "or" | "and" | "addw" | "subw" => {
            format!("{base} {0},{0},{1}", arg(0), arg(1))
        }
        "jr" => format!("jalr zero,0({})", arg(0)),
        "jalr" => format!("jalr ra,0({})", arg(0)),
        "ebreak" => "ebreak".to_string(),
        "j" => format!("jal zero,{}", arg(0)),
        "beqz" => format!("beq {},zero,{}", arg(0), arg(1)),
        "bnez" => format!("bne {},zero,{}", arg(0), arg(1)),
        "lw" | "ld" | "sw" | "sd" | "fld" | "fsd" => format!("{base} {}", a.join(",")),
        "lwsp" | "ldsp" | "swsp" | "sdsp" | "fldsp" | "fsdsp" => {
            format!("{} {}", &base[..base.len() - 2], a.join(","))
        }
        _ => return None,
    })
}

const TARGET_MNEMONICS: &[&str] = &["jal", "beq", "bne", "blt", "bge", "bltu", "bgeu"];

/// Rewrite an absolute branch/jump target (the last operand, hex) as `.+off`/`.-off`
/// relative to `pc`, so that texts from different addresses can be compared.
pub fn relativize(text: &str, pc: u64) -> String {
    let (m, a) = split(text);
    if !TARGET_MNEMONICS.contains(&m) || a.is_empty() {
        return text.to_string();
    }
    let last = a[a.len() - 1];
    let Ok(target) = u64::from_str_radix(last, 16) else {
        return text.to_string();
    };
    let off = target.wrapping_sub(pc) as i64;
    let rel = if off < 0 {
        format!(".{off}")
    } else {
        format!(".+{off}")
    };
    let mut ops = a[..a.len() - 1].to_vec();
    ops.push(&rel);
    format!("{m} {}", ops.join(","))
}

/// What our decoder must produce for an encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Illegal,
    /// `disasm(insn, pc)` must equal this text.
    Text(String),
    /// A valid instruction with this op and rm (for encodings binutils 2.40 rejects
    /// although the ISA manual allows them; see [`objdump_disagreement`]).
    Op(Op, u8),
}

/// Encodings where binutils 2.40 and the ISA manual (which the decoder follows)
/// disagree. Every entry says why.
pub fn objdump_disagreement(word: u32, len: u8, objdump_text: &str) -> Option<Expect> {
    let invalid = objdump_invalid(objdump_text);
    if len == 2 {
        return match word {
            // c.addi16sp with nzimm = 0 is reserved; binutils prints `c.addi16sp sp,0`.
            0x6101 => Some(Expect::Illegal),
            // The all-zero halfword is defined illegal; binutils calls it `c.unimp`.
            0x0000 => Some(Expect::Illegal),
            _ => None,
        };
    }
    let opcode = word & 0x7f;
    let funct3 = (word >> 12) & 7;
    let rm = funct3 as u8;
    match (opcode, funct3) {
        // FENCE: fm, rd and rs1 are reserved for future finer-grained fences and must
        // be ignored (ISA manual, "Memory Ordering Instructions"); binutils rejects
        // non-zero values. pause (`fence w,0`) prints as `pause` (binutils 2.40 without
        // Zihintpause prints `fence w,unknown`).
        (0x0f, 0)
            if (word >> 20) & 0xff == 0x10 && (invalid || objdump_text.contains("unknown")) =>
        {
            Some(Expect::Text("pause".into()))
        }
        (0x0f, 0) if invalid => Some(Expect::Op(Op::Fence, ((word >> 20) & 0xff) as u8)),
        // binutils accepts the reserved rounding modes 5 and 6 (printed `unknown`);
        // the ISA manual makes them illegal.
        (0x43 | 0x47 | 0x4b | 0x4f | 0x53, 5 | 6) if objdump_text.ends_with(",unknown") => {
            Some(Expect::Illegal)
        }
        // FENCE.I: imm, rs1 and rd are reserved and ignored, as for FENCE.
        (0x0f, 1) if invalid => Some(Expect::Op(Op::FenceI, 0)),
        // Privileged SYSTEM instructions (mret, wfi, sfence.vma, …) are not user-mode
        // instructions: illegal for vmx.
        (0x73, 0) if word != 0x73 && word != 0x0010_0073 => Some(Expect::Illegal),
        // fcvt.d.s, fcvt.d.w, fcvt.d.wu are exact, but still have an rm field that may
        // hold any valid rounding mode; binutils 2.40 only accepts rne.
        (0x53, _) if invalid && rm != 5 && rm != 6 => {
            let op = match (word >> 25, (word >> 20) & 31) {
                (0b0100001, 0) => Op::FcvtDS,
                (0b1101001, 0) => Op::FcvtDW,
                (0b1101001, 1) => Op::FcvtDWu,
                _ => return None,
            };
            Some(Expect::Op(op, rm))
        }
        _ => None,
    }
}

/// What the decoder must produce for `line` (see the rule in [`check`]).
pub fn expectation(line: &Line) -> Expect {
    if let Some(e) = objdump_disagreement(line.word, line.len, &line.text) {
        return e;
    }
    if objdump_invalid(&line.text) {
        return Expect::Illegal;
    }
    if line.len == 2 {
        return match &line.expanded {
            Some((_, t)) => Expect::Text(t.clone()),
            None => match expand_c(&line.text) {
                Some(t) => Expect::Text(t),
                None => Expect::Illegal,
            },
        };
    }
    Expect::Text(line.text.clone())
}

/// Check our decoder against one objdump line. The rule: the length must match;
/// an encoding objdump prints as data must be [`Op::Illegal`]; otherwise
/// `disasm(decode(word), pc)` must equal objdump's text (for a compressed instruction:
/// the text of its expansion), `Display` must print the same (but for branch targets,
/// which it prints relative to the instruction), and a compressed instruction must
/// decode exactly
/// like the 32-bit encoding of its expansion. Known disagreements between binutils
/// and the ISA manual are listed in [`objdump_disagreement`]. Lines of a section
/// named `.text.illegal` must decode to `Op::Illegal` whatever objdump says.
pub fn check(line: &Line) -> Result<Insn, String> {
    let insn = decode(line.word);
    let ours = disasm(&insn, line.pc);
    let ctx = || {
        format!(
            "{:x}: {:0w$x} objdump `{}`, ours `{}` ({:?})",
            line.pc,
            line.word,
            line.text,
            ours,
            insn,
            w = usize::from(line.len) * 2
        )
    };
    if insn.len != line.len {
        return Err(format!("length {} != {}: {}", insn.len, line.len, ctx()));
    }
    let expect = if line.section == ".text.illegal" {
        Expect::Illegal
    } else {
        expectation(line)
    };
    match expect {
        Expect::Illegal if insn.op != Op::Illegal => {
            return Err(format!("should be illegal: {}", ctx()))
        }
        Expect::Illegal => {}
        Expect::Text(t) if t != ours => return Err(format!("text differs: want `{t}`: {}", ctx())),
        Expect::Text(_) => {}
        Expect::Op(op, rm) if insn.op != op || insn.rm != rm => {
            return Err(format!("want {op:?} rm={rm}: {}", ctx()))
        }
        Expect::Op(..) => {}
    }
    // `Display` is `disasm` without a pc: identical except for branch targets.
    let pc_relative = matches!(
        insn.op,
        Op::Jal | Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
    );
    if !pc_relative && insn.to_string() != ours {
        return Err(format!("Display `{insn}` differs from disasm: {}", ctx()));
    }
    if let Some((ew, _)) = line.expanded {
        let e = decode(ew);
        if (Insn { len: 2, ..e }) != insn {
            return Err(format!("expansion {ew:08x} decodes to {e:?}: {}", ctx()));
        }
    }
    Ok(insn)
}

/// Check every line; panic with the first `max` failures.
pub fn check_all(lines: &[Line], what: &str) -> Vec<Insn> {
    let mut fails = Vec::new();
    let mut decoded = Vec::new();
    for l in lines {
        match check(l) {
            Ok(i) => decoded.push(i),
            Err(e) => fails.push(e),
        }
    }
    if !fails.is_empty() {
        let n = fails.len();
        fails.truncate(40);
        panic!(
            "{what}: {n} of {} instructions differ:\n{}",
            lines.len(),
            fails.join("\n")
        );
    }
    decoded
}

// Golden files: one line per instruction,
//   pc <TAB> encoding <TAB> length <TAB> objdump text [<TAB> expansion <TAB> its text]
// with `[section]` lines, and `#` comments.

pub fn write_golden(header: &str, lines: &[Line]) -> String {
    let mut s = String::new();
    for h in header.lines() {
        let _ = writeln!(s, "# {h}");
    }
    let mut section = "";
    for l in lines {
        if l.section != section {
            section = &l.section;
            let _ = writeln!(s, "[{section}]");
        }
        let w = usize::from(l.len) * 2;
        let _ = write!(s, "{:x}\t{:0w$x}\t{}\t{}", l.pc, l.word, l.len, l.text);
        if let Some((ew, et)) = &l.expanded {
            let _ = write!(s, "\t{ew:08x}\t{et}");
        }
        s.push('\n');
    }
    s
}

pub fn read_golden(text: &str) -> Vec<Line> {
    let mut section = String::new();
    let mut out = Vec::new();
    for (n, l) in text.lines().enumerate() {
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(s) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.to_string();
            continue;
        }
        let f: Vec<&str> = l.split('\t').collect();
        let parsed = (|| {
            if f.len() != 4 && f.len() != 6 {
                return None;
            }
            let pc = u64::from_str_radix(f[0], 16).ok()?;
            let word = u32::from_str_radix(f[1], 16).ok()?;
            let len = f[2].parse().ok()?;
            let expanded = match f.len() {
                6 => Some((u32::from_str_radix(f[4], 16).ok()?, f[5].to_string())),
                _ => None,
            };
            Some((pc, word, len, expanded))
        })();
        let Some((pc, word, len, expanded)) = parsed else {
            panic!("golden line {}: `{l}`", n + 1);
        };
        out.push(Line {
            section: section.clone(),
            pc,
            word,
            len,
            text: f[3].to_string(),
            expanded,
        });
    }
    out
}

// Cross tools.

/// Whether the riscv64 cross binutils (and, with `needs_gcc`, gcc and lld-19) are
/// installed. When they are not, tests that
/// need them are skipped, unless `VMX_REQUIRE_CROSS=1` (then they fail).
pub fn have_tools(needs_gcc: bool) -> bool {
    let ok = |t: &str| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    // Debian bookworm's riscv64 ld crashes on -static: programs are linked with lld-19.
    let lld = Path::new("/usr/lib/llvm-19/bin/ld.lld").exists();
    let have = ok(AS) && ok(OBJDUMP) && (!needs_gcc || (ok(GCC) && lld));
    if !have {
        assert!(
            std::env::var_os("VMX_REQUIRE_CROSS").is_none(),
            "riscv64 cross tools missing and VMX_REQUIRE_CROSS is set"
        );
        eprintln!("skipped: riscv64-linux-gnu binutils/gcc or lld-19 not installed");
    }
    have
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// `objdump -d -M no-aliases` of an object or executable, parsed.
pub fn objdump(file: &Path) -> Vec<Line> {
    parse_objdump(&run(Command::new(OBJDUMP)
        .args(["-d", "-M", "no-aliases"])
        .arg(file)))
}

/// Assemble `src` (in `dir`) and disassemble it.
pub fn assemble(dir: &Path, name: &str, src: &str) -> Vec<Line> {
    let s = dir.join(format!("{name}.s"));
    let o = dir.join(format!("{name}.o"));
    std::fs::write(&s, src).expect("write .s");
    run(Command::new(AS).arg(MARCH).arg(&s).arg("-o").arg(&o));
    objdump(&o)
}

/// Fill in `expanded` for every compressed line objdump decoded: map its text to the
/// 32-bit instruction it stands for, assemble those (without RVC) and disassemble
/// them again — a second, independent objdump pass that checks the mapping and gives
/// the expansion's 32-bit encoding.
pub fn expand_compressed(dir: &Path, lines: &mut [Line]) {
    let mut idx = Vec::new();
    let mut src = format!("{PRELUDE}\t.option norvc\n");
    for (k, l) in lines.iter().enumerate() {
        if l.len != 2 || objdump_invalid(&l.text) {
            continue;
        }
        if objdump_disagreement(l.word, 2, &l.text).is_some() {
            continue;
        }
        let Some(e) = expand_c(&l.text) else {
            assert_eq!(l.text, "c.unimp", "no expansion known for `{}`", l.text);
            continue;
        };
        let _ = writeln!(src, "\t{}", relativize(&e, l.pc));
        idx.push((k, e));
    }
    let out = assemble(dir, "expanded", &src);
    assert_eq!(out.len(), idx.len(), "expansion pass: instruction count");
    for ((k, e), x) in idx.into_iter().zip(out) {
        let l = &mut lines[k];
        assert_eq!(x.len, 4, "expansion of `{}` assembled compressed", l.text);
        assert_eq!(
            relativize(&x.text, x.pc),
            relativize(&e, l.pc),
            "expansion of `{}` does not round-trip through the assembler",
            l.text
        );
        l.expanded = Some((x.word, e));
    }
}

/// Build the riscv64 test program (static, glibc) from `rv_hello.c`.
pub fn build_static_program(dir: &Path) -> PathBuf {
    let exe = dir.join("rv_hello");
    run(Command::new(GCC)
        .args(["-O2", "-static", "-B/usr/lib/llvm-19/bin", "-fuse-ld=lld"])
        .arg(data_dir().join("rv_hello.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-lm"));
    exe
}

/// A small deterministic pseudo-random generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

/// Major opcodes of RV64GC (and a few it does not use), for random encodings.
const OPCODES: &[u32] = &[
    0x03, 0x07, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x27, 0x2f, 0x33, 0x37, 0x3b, 0x43, 0x47, 0x4b, 0x4f,
    0x53, 0x63, 0x67, 0x6f, 0x73, 0x0b, 0x2b, 0x57, 0x5b, 0x6b, 0x77, 0x7b,
];

/// funct7 values in use, to make random OP/OP-32/OP-FP/OP-IMM encodings likelier to
/// be valid.
const FUNCT7: &[u32] = &[
    0x00, 0x01, 0x04, 0x05, 0x10, 0x14, 0x20, 0x24, 0x30, 0x34, 0x08, 0x09, 0x0c, 0x0d, 0x2c, 0x2d,
    0x11, 0x15, 0x60, 0x61, 0x70, 0x71, 0x50, 0x51, 0x68, 0x69, 0x78, 0x79, 0x21,
];

/// A random 32-bit encoding with a (mostly) RV64GC major opcode.
pub fn random_word(rng: &mut Rng) -> u32 {
    let r = rng.next_u32();
    let op = OPCODES[(r % OPCODES.len() as u32) as usize];
    let mut w = (rng.next_u32() & !0x7f) | op;
    if r & 0x100 != 0 {
        let f7 = FUNCT7[((r >> 9) % FUNCT7.len() as u32) as usize];
        w = (w & 0x01ff_ffff) | (f7 << 25);
    }
    if r & 0x200 != 0 && (op == 0x13 || op == 0x1b) {
        // Unary Zbb ops have small rs2 values.
        w = (w & !(0x1f << 20)) | ((r >> 16 & 7) << 20);
    }
    w
}

/// `.insn` lines for `words` (compressed when the low bits are not `11`).
pub fn insn_directives(words: impl IntoIterator<Item = u32>) -> String {
    let mut s = String::new();
    for w in words {
        if w & 3 == 3 {
            let _ = writeln!(s, "\t.insn 0x{w:08x}");
        } else {
            let _ = writeln!(s, "\t.insn 0x{:04x}", w & 0xffff);
        }
    }
    s
}
