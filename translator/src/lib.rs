//! The translation pipeline: guest ELF → discovery → LLVM IR → optimised host objects
//! → `.aot`.
//!
//! Functions are partitioned into chunks by a rule that depends only on the program
//! (never on the number of threads), each chunk is lifted into its own LLVM module and
//! compiled on the rayon pool, and the objects are stored in chunk order: the same input
//! and options always give a byte-identical `.aot`.

use std::sync::Once;
use std::time::{Duration, Instant};

use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::OptimizationLevel;
use rayon::prelude::*;
use vmx_aot_cache::format::{AotFile, AotFunction, AotHeader, AotPayload};
use vmx_lifter::discover::{discover, Function, Program};
use vmx_lifter::elf::{ElfError, GuestImage, Isa};
use vmx_lifter::llvm::{declare_guest_fn, lift_function, symbol_name, LiftError};

/// The translator's version, recorded in every `.aot` and part of every cache key. The
/// `abiN` part is [`vmx_lifter::state::STATE_ABI`] (a test keeps them equal).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+llvm19+abi2");

/// The exact version of the LLVM linked in (e.g. `"19.1.7"`): part of every cache key, so
/// builds against different LLVM releases never share translations.
pub fn llvm_version() -> String {
    let (major, minor, patch) = inkwell::support::get_llvm_version();
    format!("{major}.{minor}.{patch}")
}

/// Target size of one compilation unit, in guest instructions.
const CHUNK_INSNS: usize = 6000;

/// What the user can choose about a translation.
#[derive(Clone, Debug)]
pub struct Options {
    /// LLVM optimisation level for the IR pipeline (0..=3).
    pub opt_level: u8,
    /// Host CPU to generate code for: `"native"` (this machine) or an LLVM CPU name.
    pub cpu: String,
    /// Guest pcs known to be executed (from an interpreter miss profile).
    pub profile: Vec<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            opt_level: 2,
            cpu: "native".into(),
            profile: Vec::new(),
        }
    }
}

impl Options {
    /// A canonical description of everything that changes the output (for cache keys).
    pub fn canonical(&self) -> String {
        let (cpu, features) = host_cpu(&self.cpu);
        let mut profile = self.profile.clone();
        profile.sort_unstable();
        profile.dedup();
        format!(
            "O{};cpu={cpu};features={features};profile={profile:x?}",
            self.opt_level
        )
    }
}

/// Why a translation failed.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error("{0} guests are not supported yet (vmx translates riscv64)")]
    UnsupportedIsa(&'static str),
    #[error("internal translator error: {0}")]
    Lift(#[from] LiftError),
    #[error("LLVM: {0}")]
    Llvm(String),
}

/// Time spent per phase and sizes, for `--stats`.
#[derive(Clone, Debug, Default)]
pub struct TranslateStats {
    /// Functions discovered (and translated).
    pub functions: usize,
    /// Guest instructions lifted.
    pub instructions: usize,
    /// Functions with an indirect jump the translation could not resolve: its targets
    /// run through the dispatcher, interpreted unless they are translated entries.
    pub unresolved_jump_functions: usize,
    /// Compilation units.
    pub chunks: usize,
    /// Bytes of executable segments, and how many of them discovery found to be code
    /// (the rest is padding, data in text, or code only the interpreter will run).
    pub text_bytes: u64,
    pub translated_bytes: u64,
    /// Function symbols none of whose bytes were translated, and their total size: code
    /// left to the interpreter if it ever runs (or dead code discovery rightly skipped).
    pub untranslated_symbols: usize,
    pub untranslated_symbol_bytes: u64,
    /// Wall time of discovery (single-threaded).
    pub discovery: Duration,
    /// Per-phase time of the compilation units, summed over units: they run in
    /// parallel on the rayon pool, so these are CPU times and may exceed `compile`.
    pub lifting: Duration,
    pub optimisation: Duration,
    pub codegen: Duration,
    /// Wall time of lifting, optimisation and code generation together.
    pub compile: Duration,
    /// Threads of the pool the units were compiled on.
    pub threads: usize,
}

/// Time one compilation unit spent per phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct UnitTimes {
    pub lifting: Duration,
    pub optimisation: Duration,
    pub codegen: Duration,
}

fn init_llvm() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        Target::initialize_x86(&InitializationConfig::default());
    });
}

/// The CPU name and feature string for `cpu` (`"native"` → this host).
pub fn host_cpu(cpu: &str) -> (String, String) {
    // No target initialisation needed: these are llvm::sys queries (cpuid), and `vmx run`
    // computes cache keys with them on every start.
    if cpu == "native" {
        (
            TargetMachine::get_host_cpu_name().to_string(),
            TargetMachine::get_host_cpu_features().to_string(),
        )
    } else {
        (cpu.to_string(), String::new())
    }
}

fn target_machine(cpu: &str, features: &str, opt: u8) -> Result<TargetMachine, TranslateError> {
    init_llvm();
    let triple = TargetTriple::create("x86_64-unknown-linux-gnu");
    let target = Target::from_triple(&triple).map_err(|e| TranslateError::Llvm(e.to_string()))?;
    let level = match opt {
        0 => OptimizationLevel::None,
        1 => OptimizationLevel::Less,
        2 => OptimizationLevel::Default,
        _ => OptimizationLevel::Aggressive,
    };
    target
        .create_target_machine(
            &triple,
            cpu,
            features,
            level,
            RelocMode::PIC,
            CodeModel::Small,
        )
        .ok_or_else(|| {
            TranslateError::Llvm(format!("cannot create a target machine for CPU {cpu}"))
        })
}

/// Split functions into compilation units of roughly [`CHUNK_INSNS`] instructions.
fn chunks(program: &Program) -> Vec<Vec<&Function>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut size = 0;
    for f in &program.functions {
        size += f.insn_count();
        cur.push(f);
        if size >= CHUNK_INSNS {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Lift, optimise and compile one chunk to an object file.
fn compile_chunk(
    program: &Program,
    funcs: &[&Function],
    index: usize,
    cpu: &str,
    features: &str,
    opt: u8,
) -> Result<(Vec<u8>, UnitTimes), TranslateError> {
    let t0 = Instant::now();
    let ctx = Context::create();
    let module: Module = ctx.create_module(&format!("chunk{index}"));
    let tm = target_machine(cpu, features, opt)?;
    module.set_triple(&tm.get_triple());
    module.set_data_layout(&tm.get_target_data().get_data_layout());
    for f in funcs {
        declare_guest_fn(&ctx, &module, f.entry);
    }
    for f in funcs {
        tracing::trace!(
            unit = index,
            entry = format_args!("{:#x}", f.entry),
            name = f.name.as_deref().unwrap_or("?"),
            insns = f.insn_count(),
            "lifting"
        );
        lift_function(&ctx, &module, program, f)?;
    }
    if std::env::var_os("VMX_DUMP_IR").is_some() {
        let _ = module.print_to_file(format!("vmx-chunk{index}.ll"));
    }
    let t_lift = Instant::now();
    if opt > 0 {
        module
            .run_passes(
                &format!("default<O{}>", opt.min(3)),
                &tm,
                PassBuilderOptions::create(),
            )
            .map_err(|e| TranslateError::Llvm(e.to_string()))?;
    }
    let t_opt = Instant::now();
    let buf = tm
        .write_to_memory_buffer(&module, FileType::Object)
        .map_err(|e| TranslateError::Llvm(e.to_string()))?;
    let times = UnitTimes {
        lifting: t_lift - t0,
        optimisation: t_opt - t_lift,
        codegen: t_opt.elapsed(),
    };
    tracing::debug!(
        unit = index,
        functions = funcs.len(),
        instructions = funcs.iter().map(|f| f.insn_count()).sum::<usize>(),
        object_bytes = buf.get_size(),
        "compiled: lifting {:?}, optimisation {:?}, code generation {:?}",
        times.lifting,
        times.optimisation,
        times.codegen
    );
    Ok((buf.as_slice().to_vec(), times))
}

/// Compile every function of `program` to host objects (one per compilation unit, in a
/// deterministic order). Returns the objects and each unit's phase times.
pub fn compile_program(
    program: &Program,
    opts: &Options,
) -> Result<(Vec<Vec<u8>>, Vec<UnitTimes>), TranslateError> {
    let (cpu, features) = host_cpu(&opts.cpu);
    let units = chunks(program);
    tracing::debug!(
        units = units.len(),
        "compiling on {} threads",
        rayon::current_num_threads()
    );
    let compiled: Vec<(Vec<u8>, UnitTimes)> = units
        .par_iter()
        .enumerate()
        .map(|(i, funcs)| compile_chunk(program, funcs, i, &cpu, &features, opts.opt_level))
        .collect::<Result<_, _>>()?;
    Ok(compiled.into_iter().unzip())
}

/// Sizes of the code discovery did and did not find (see [`TranslateStats`]).
fn coverage(image: &GuestImage, program: &Program, stats: &mut TranslateStats) {
    let mut ranges: Vec<(u64, u64)> = program
        .functions
        .iter()
        .flat_map(|f| f.code_ranges())
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    stats.translated_bytes = merged.iter().map(|(s, e)| e - s).sum();
    stats.text_bytes = image
        .segments
        .iter()
        .filter(|s| s.executable)
        .map(|s| s.filesz)
        .sum();
    let overlaps = |a: u64, b: u64| {
        let i = merged.partition_point(|&(_, e)| e <= a);
        merged.get(i).is_some_and(|&(s, _)| s < b)
    };
    for f in image.functions.iter().filter(|f| f.size > 0) {
        if !overlaps(f.addr, f.addr + f.size) {
            stats.untranslated_symbols += 1;
            stats.untranslated_symbol_bytes += f.size;
            tracing::trace!(name = %f.name, addr = format_args!("{:#x}", f.addr), "function symbol not translated");
        }
    }
}

/// The `.aot` of an x86-64 program: nothing to translate, the runtime runs it natively
/// under KVM. It records guest ISA "x86_64" and carries the program and no objects.
fn native_aot(elf: &[u8], opts: &Options) -> AotFile {
    let (cpu, features) = host_cpu(&opts.cpu);
    AotFile {
        header: AotHeader {
            guest_isa: Isa::X86_64.name().to_string(),
            host_triple: "x86_64-unknown-linux-gnu".into(),
            host_cpu: cpu,
            host_features: features,
            translator_version: VERSION.to_string(),
            guest_hash: *blake3::hash(elf).as_bytes(),
            options_hash: *blake3::hash(opts.canonical().as_bytes()).as_bytes(),
            payload_len: 0,
            payload_hash: [0; 32],
        },
        payload: AotPayload {
            guest_image: elf.to_vec(),
            ..AotPayload::default()
        },
    }
}

/// Translate a guest executable into an `.aot` file.
pub fn translate(elf: &[u8], opts: &Options) -> Result<(AotFile, TranslateStats), TranslateError> {
    let image = GuestImage::parse(elf)?;
    match image.isa {
        Isa::Riscv64 => {}
        Isa::X86_64 => return Ok((native_aot(elf, opts), TranslateStats::default())),
        other => return Err(TranslateError::UnsupportedIsa(other.name())),
    }
    let mut stats = TranslateStats::default();
    let t0 = Instant::now();
    let program = discover(&image, elf, &opts.profile);
    stats.discovery = t0.elapsed();
    stats.functions = program.functions.len();
    stats.instructions = program.functions.iter().map(|f| f.insn_count()).sum();
    stats.unresolved_jump_functions = program
        .functions
        .iter()
        .filter(|f| f.has_unresolved_jumps)
        .count();
    tracing::info!(
        functions = stats.functions,
        instructions = stats.instructions,
        "discovered code in {:?}",
        stats.discovery
    );

    coverage(&image, &program, &mut stats);

    let t1 = Instant::now();
    let (objects, units) = compile_program(&program, opts)?;
    stats.chunks = units.len();
    for u in &units {
        stats.lifting += u.lifting;
        stats.optimisation += u.optimisation;
        stats.codegen += u.codegen;
    }
    stats.compile = t1.elapsed();
    stats.threads = rayon::current_num_threads();
    tracing::info!(
        units = stats.chunks,
        "compiled in {:?} (lifting {:?}, optimisation {:?}, code generation {:?}, summed over units)",
        stats.compile,
        stats.lifting,
        stats.optimisation,
        stats.codegen
    );

    let functions = program
        .functions
        .iter()
        .map(|f| AotFunction {
            guest_pc: f.entry,
            symbol: symbol_name(f.entry),
            resume_points: f.resume_points.clone(),
            code_ranges: f.code_ranges(),
            callees: f.direct_callees(&program),
        })
        .collect();
    let mut profile = opts.profile.clone();
    profile.sort_unstable();
    profile.dedup();
    let (cpu, features) = host_cpu(&opts.cpu);
    let header = AotHeader {
        guest_isa: image.isa.name().to_string(),
        host_triple: "x86_64-unknown-linux-gnu".into(),
        host_cpu: cpu,
        host_features: features,
        translator_version: VERSION.to_string(),
        guest_hash: *blake3::hash(elf).as_bytes(),
        options_hash: *blake3::hash(opts.canonical().as_bytes()).as_bytes(),
        payload_len: 0,
        payload_hash: [0; 32],
    };
    let payload = AotPayload {
        guest_image: elf.to_vec(),
        objects,
        functions,
        profile_pcs: profile,
    };
    Ok((AotFile { header, payload }, stats))
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_names_the_state_abi() {
        let abi = format!("+abi{}", vmx_lifter::state::STATE_ABI);
        assert!(
            super::VERSION.ends_with(&abi),
            "{} vs {abi}",
            super::VERSION
        );
    }
}
