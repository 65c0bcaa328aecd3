//! The execution engine: runs a guest from its entry point to `exit`, mixing translated
//! code and the interpreter.
//!
//! Translated functions return to their caller with `st.pc` set to where the guest goes
//! next. Whatever cannot continue in translated code comes here: indirect calls and
//! jumps ([`vmx_rt_call`], [`vmx_rt_jump`]), system calls, traps. The run loop
//! ([`Engine::run_until`]) calls the translation of a pc when one exists and interprets
//! a block otherwise, until a stop condition says the guest is back where the caller
//! (translated code waiting for a return, or re-entering a function) can continue.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use vmx_aot_cache::format::{AotError, AotFile};
use vmx_lifter::elf::{ElfError, GuestImage, Isa};
use vmx_lifter::sem::{FOp, Round, Trap, FW};
use vmx_lifter::state::{RvState, NO_RESERVATION};

use crate::gdb::{Debugger, Rv64};
use crate::hostfp;
use crate::interp::{run_block_prefix, BlockCache, BlockExit, DecodedBlock};
use crate::link::{link, LinkError, LinkedCode};
use crate::memory::{page_align_down, GuestMemory, PAGE_SIZE};
use crate::process::{load_image, setup_stack};
use crate::signal::{SigDetail, SigInfo};
use crate::stats::{CacheUse, Phase, PhaseTimes, Report};
use crate::sys::{
    block_forwardable_signals, call_guest, die_with_signal, exit_now, fork, install_fault_handler,
    set_poll_flag, take_forwarded, wait_child, FaultAction, Fork, GuestFn,
};
use crate::syscall::signal::{SIG_DFL, SIG_IGN};

/// `-EINTR` as a guest register value.
const EINTR: u64 = (-4i64) as u64;
/// `sa_flags` bit: restart system calls interrupted by this handler.
const SA_RESTART: u64 = 0x1000_0000;

/// System calls Linux restarts after a handler with `SA_RESTART` (the others — sleeps,
/// waits for signals, poll/select — return EINTR regardless).
pub(crate) fn restartable(nr: u64) -> bool {
    use nr::*;
    matches!(
        nr,
        READ | WRITE
            | READV
            | WRITEV
            | PREAD64
            | PWRITE64
            | OPENAT
            | WAIT4
            | WAITID
            | FUTEX
            | ACCEPT
            | ACCEPT4
            | CONNECT
            | RECVFROM
            | SENDTO
            | RECVMSG
            | SENDMSG
            | FLOCK
            | FCNTL
            | IOCTL
            | SENDFILE
            | SPLICE
    )
}

/// Exit status of `vmx exec --engine=check` when the engines disagree.
pub const CHECK_DIVERGENCE_STATUS: i32 = 3;
use crate::syscall::{nr, Kernel, KernelConfig, SysOutcome};
use crate::thread::CloneArgs;

/// Which engine runs guest code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// Translated code, with the interpreter for what was not translated.
    Aot,
    /// The interpreter only.
    Interp,
    /// The interpreter drives; the first calls of every translated function are also run
    /// as translated code on a forked copy of the process, and the two results compared
    /// (registers and writable memory). Stops at the first divergence with a report.
    Check,
}

/// How `--stats` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsFormat {
    Text,
    Json,
}

/// Everything about one run that is not in the guest image.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub engine: EngineKind,
    pub strace: bool,
    pub stats: Option<StatsFormat>,
    /// The guest's argv, including argv[0].
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// What `/proc/self/exe` and AT_EXECFN name.
    pub exe_path: PathBuf,
    /// Where to append the pcs the interpreter ran (the miss profile), if anywhere.
    pub profile_out: Option<PathBuf>,
    /// Serve gdb on this port of 127.0.0.1 (0: any free port, printed); the guest waits
    /// for gdb before its first instruction.
    pub gdb: Option<u16>,
    /// Where `vmx run` found the translation (for `--stats`); `None` for `vmx exec`.
    pub cache: Option<CacheUse>,
    /// The command line that runs another guest program the way this one runs (e.g.
    /// `vmx run --strace`): a guest `execve` of a guest-ISA ELF becomes
    /// `<reexec…> --argv0 <argv[0]> -- <path> <argv[1..]>`. Empty: such an `execve` is
    /// left to the host kernel (binfmt_misc, if registered).
    pub reexec: Vec<std::ffi::OsString>,
    /// The same for an `.aot` (the guest re-executing itself when it runs from one):
    /// e.g. `vmx exec --strace`.
    pub reexec_aot: Vec<std::ffi::OsString>,
}

/// Blocks the signals a guest may handle in the calling thread, so that threads the
/// process starts before the guest (a cache's I/O threads, say) never receive them:
/// call first thing in `main`. Guest threads set their own masks.
pub fn keep_signals_for_guest() {
    block_forwardable_signals();
}

/// Makes `kernel` run guest `execve`s of guest-ISA programs through `reexec` (see
/// [`RunConfig::reexec`]).
pub(crate) fn install_exec_handler(kernel: &Kernel, cfg: &RunConfig) {
    if cfg.reexec.is_empty() || cfg.reexec_aot.is_empty() {
        return;
    }
    let (elf, aot) = (cfg.reexec.clone(), cfg.reexec_aot.clone());
    kernel.set_exec_handler(Box::new(move |path, argv, envp| {
        use std::io::Read as _;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::process::CommandExt;
        let os = |b: &[u8]| std::ffi::OsStr::from_bytes(b).to_os_string();
        let mut magic = [0u8; 8];
        let is_aot = std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
            && magic == vmx_aot_cache::format::MAGIC;
        let line = if is_aot { &aot } else { &elf };
        let mut cmd = std::process::Command::new(&line[0]);
        cmd.args(&line[1..]);
        if let Some(argv0) = argv.first() {
            cmd.arg("--argv0").arg(os(argv0));
        }
        cmd.arg("--").arg(path);
        cmd.args(argv.iter().skip(1).map(|a| os(a)));
        cmd.env_clear();
        for e in envp {
            if let Some(eq) = e.iter().position(|&c| c == b'=') {
                cmd.env(os(&e[..eq]), os(&e[eq + 1..]));
            }
        }
        let err = cmd.exec();
        crate::syscall::Errno(err.raw_os_error().unwrap_or(libc::ENOEXEC))
    }));
}

/// Why a guest could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Aot(#[from] AotError),
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error("the .aot holds a {0} guest; this vmx runs riscv64 guests")]
    UnsupportedIsa(String),
    #[error("the .aot was translated for {0}, which this machine is not; re-translate it here")]
    HostMismatch(String),
    #[error("the .aot was made by vmx {0}, whose translated code does not fit this runtime (it needs abi{1}); re-translate it")]
    AbiMismatch(String, u32),
    #[error("cannot link the translated code: {0}")]
    Link(#[from] LinkError),
    #[error("cannot set up guest memory: {0}")]
    Memory(String),
    #[error("cannot load the guest image: {0}")]
    Load(String),
    #[error("gdb: {0}")]
    Gdb(String),
}

/// A guest ready to run: its image and, for `.aot` files, the linked host code.
pub struct Loaded {
    image_bytes: Vec<u8>,
    image: GuestImage,
    code: Option<Translation>,
}

struct Translation {
    code: LinkedCode,
    funcs: HashMap<u64, GuestFn>,
    resume: HashMap<u64, Vec<u64>>,
    /// The guest code each function was translated from: (start, end, function pc).
    ranges: Vec<(u64, u64, u64)>,
    /// Function → the functions that call or jump to it directly.
    callers: HashMap<u64, Vec<u64>>,
}

/// Load an `.aot` file: validate it and link its code.
pub fn load_aot(bytes: &[u8]) -> Result<Loaded, RunError> {
    let aot = AotFile::from_bytes(bytes)?;
    if aot.header.guest_isa == Isa::X86_64.name() {
        // A "native" .aot: the x86-64 program itself, run under KVM.
        let image = GuestImage::parse(&aot.payload.guest_image)?;
        if image.isa != Isa::X86_64 || !aot.payload.objects.is_empty() {
            return Err(RunError::UnsupportedIsa(aot.header.guest_isa));
        }
        return Ok(Loaded {
            image_bytes: aot.payload.guest_image,
            image,
            code: None,
        });
    }
    if aot.header.guest_isa != Isa::Riscv64.name() {
        return Err(RunError::UnsupportedIsa(aot.header.guest_isa));
    }
    let abi = format!("+abi{}", vmx_lifter::state::STATE_ABI);
    if !aot.header.translator_version.ends_with(&abi) {
        return Err(RunError::AbiMismatch(
            aot.header.translator_version,
            vmx_lifter::state::STATE_ABI,
        ));
    }
    if aot.header.host_triple != "x86_64-unknown-linux-gnu" {
        return Err(RunError::HostMismatch(aot.header.host_triple));
    }
    if let Some(missing) = missing_host_feature(&aot.header.host_features) {
        return Err(RunError::HostMismatch(format!(
            "CPU {} (this CPU lacks {missing})",
            aot.header.host_cpu
        )));
    }
    let image = GuestImage::parse(&aot.payload.guest_image)?;
    let objects: Vec<&[u8]> = aot.payload.objects.iter().map(|o| o.as_slice()).collect();
    let t0 = Instant::now();
    let code = link(&objects, &resolve_runtime_symbol)?;
    tracing::debug!(
        functions = aot.payload.functions.len(),
        objects = objects.len(),
        "linked the translation in {:?}",
        t0.elapsed()
    );
    let mut funcs = HashMap::new();
    let mut resume = HashMap::new();
    let mut ranges = Vec::new();
    let mut callers: HashMap<u64, Vec<u64>> = HashMap::new();
    for f in &aot.payload.functions {
        ranges.extend(f.code_ranges.iter().map(|&(s, e)| (s, e, f.guest_pc)));
        for &c in &f.callees {
            callers.entry(c).or_default().push(f.guest_pc);
        }
        let Some(addr) = code.symbol(&f.symbol) else {
            return Err(RunError::Link(LinkError::Undefined(f.symbol.clone())));
        };
        // SAFETY: the symbol is a function the translator emitted with the `GuestFn`
        // signature; the .aot's payload hash was verified by `from_bytes`.
        let func: GuestFn = unsafe { std::mem::transmute::<usize, GuestFn>(addr) };
        funcs.insert(f.guest_pc, func);
        if !f.resume_points.is_empty() {
            resume.insert(f.guest_pc, f.resume_points.clone());
        }
    }
    Ok(Loaded {
        image_bytes: aot.payload.guest_image,
        image,
        code: Some(Translation {
            code,
            funcs,
            resume,
            ranges,
            callers,
        }),
    })
}

/// Load a guest ELF for the interpreter.
pub fn load_elf(bytes: Vec<u8>) -> Result<Loaded, RunError> {
    let image = GuestImage::parse(&bytes)?;
    if !matches!(image.isa, Isa::Riscv64 | Isa::Aarch64 | Isa::X86_64) {
        return Err(RunError::UnsupportedIsa(image.isa.name().into()));
    }
    Ok(Loaded {
        image_bytes: bytes,
        image,
        code: None,
    })
}

/// A `+feature` of the translation that this host does not have, if any.
fn missing_host_feature(features: &str) -> Option<String> {
    macro_rules! has {
        ($($llvm:literal => $rust:tt),* $(,)?) => {
            |name: &str| -> Option<bool> {
                match name {
                    $($llvm => Some(std::arch::is_x86_feature_detected!($rust)),)*
                    _ => None,
                }
            }
        };
    }
    let check = has!(
        "sse3" => "sse3", "ssse3" => "ssse3", "sse4.1" => "sse4.1", "sse4.2" => "sse4.2",
        "popcnt" => "popcnt", "avx" => "avx", "avx2" => "avx2", "fma" => "fma",
        "bmi" => "bmi1", "bmi2" => "bmi2", "lzcnt" => "lzcnt", "f16c" => "f16c",
        "movbe" => "movbe", "avx512f" => "avx512f", "avx512bw" => "avx512bw",
        "avx512dq" => "avx512dq", "avx512vl" => "avx512vl", "adx" => "adx",
    );
    features
        .split(',')
        .filter_map(|f| f.strip_prefix('+'))
        .find(|f| check(f) == Some(false))
        .map(str::to_string)
}

// ---- symbols the translated code may reference ----

/// `extern "C"` wrappers for the libm functions LLVM may call from translated code (when
/// the target CPU lacks an instruction), with exactly the exception flags of the guest
/// operation they stand for (`hostfp`): fused multiply-add raises its IEEE flags, the
/// roundings to integral values none.
macro_rules! host_math {
    ($($name:ident($($arg:ident),+): $ty:ty => $body:expr;)*) => {
        $(extern "C" fn $name($($arg: $ty),+) -> $ty {
            $body
        })*
    };
}

fn round_f64(a: f64, rm: Round) -> f64 {
    f64::from_bits(hostfp::fround(FW::D, a.to_bits(), rm))
}

fn round_f32(a: f32, rm: Round) -> f32 {
    f32::from_bits(hostfp::fround(FW::S, a.to_bits() as u64, rm) as u32)
}

host_math! {
    host_fma(a, b, c): f64 => f64::from_bits(hostfp::ffma(FW::D, a.to_bits(), b.to_bits(), c.to_bits()));
    host_fmaf(a, b, c): f32 => {
        let r = hostfp::ffma(FW::S, a.to_bits() as u64, b.to_bits() as u64, c.to_bits() as u64);
        f32::from_bits(r as u32)
    };
    host_roundeven(a): f64 => round_f64(a, Round::Rne);
    host_roundevenf(a): f32 => round_f32(a, Round::Rne);
    host_floor(a): f64 => round_f64(a, Round::Rdn);
    host_floorf(a): f32 => round_f32(a, Round::Rdn);
    host_ceil(a): f64 => round_f64(a, Round::Rup);
    host_ceilf(a): f32 => round_f32(a, Round::Rup);
    host_trunc(a): f64 => round_f64(a, Round::Rtz);
    host_truncf(a): f32 => round_f32(a, Round::Rtz);
    host_round(a): f64 => round_f64(a, Round::Rmm);
    host_roundf(a): f32 => round_f32(a, Round::Rmm);
}

/// The address of a runtime helper or host library function translated code may call.
pub fn resolve_runtime_symbol(name: &str) -> Option<usize> {
    Some(match name {
        "vmx_rt_syscall" => vmx_rt_syscall as *const () as usize,
        "vmx_rt_trap" => vmx_rt_trap as *const () as usize,
        "vmx_rt_call" => vmx_rt_call as *const () as usize,
        "vmx_rt_jump" => vmx_rt_jump as *const () as usize,
        "vmx_rt_fence_i" => vmx_rt_fence_i as *const () as usize,
        "vmx_rt_csr" => vmx_rt_csr as *const () as usize,
        "vmx_rt_poll" => vmx_rt_poll as *const () as usize,
        "vmx_rt_fflags" => vmx_rt_fflags as *const () as usize,
        "vmx_rt_fflags_take" => vmx_rt_fflags_take as *const () as usize,
        "vmx_rt_fraise" => vmx_rt_fraise as *const () as usize,
        "memcpy" => libc::memcpy as *const () as usize,
        "memmove" => libc::memmove as *const () as usize,
        "memset" => libc::memset as *const () as usize,
        "memcmp" => libc::memcmp as *const () as usize,
        "bcmp" => libc::memcmp as *const () as usize,
        "fma" => host_fma as *const () as usize,
        "fmaf" => host_fmaf as *const () as usize,
        "roundeven" => host_roundeven as *const () as usize,
        "roundevenf" => host_roundevenf as *const () as usize,
        "floor" => host_floor as *const () as usize,
        "floorf" => host_floorf as *const () as usize,
        "ceil" => host_ceil as *const () as usize,
        "ceilf" => host_ceilf as *const () as usize,
        "trunc" => host_trunc as *const () as usize,
        "truncf" => host_truncf as *const () as usize,
        "round" => host_round as *const () as usize,
        "roundf" => host_roundf as *const () as usize,
        _ => return None,
    })
}

// ---- the engine ----

#[derive(Default)]
struct Stats {
    syscalls: AtomicU64,
    dispatch_hits: AtomicU64,
    dispatch_misses: AtomicU64,
    interp_blocks: AtomicU64,
    /// Translated functions dropped because the guest rewrote their code.
    rewritten_functions: AtomicU64,
    /// Instructions retired by translated code, collected from the guest threads'
    /// states at system calls and traps.
    translated_insns: AtomicU64,
}

struct Engine {
    mem: Arc<GuestMemory>,
    kernel: Kernel,
    funcs: HashMap<u64, GuestFn>,
    /// Translated code that is still what the guest would run (see [`Rewrites`]).
    rewrites: Option<Rewrites>,
    resume: HashMap<u64, Vec<u64>>,
    stats: Stats,
    stats_format: Option<StatsFormat>,
    start: Instant,
    /// Time per phase (only measured with `--stats`).
    times: PhaseTimes,
    /// Largest guest mapping total seen (bytes; only measured with `--stats`).
    peak_memory: AtomicU64,
    cache: Option<CacheUse>,
    kind: EngineKind,
    /// Block start pcs the interpreter ran, with counts (the miss profile).
    misses: Mutex<HashMap<u64, u64>>,
    profile_out: Option<PathBuf>,
    /// Instructions retired by the interpreter on the main guest thread.
    interp_insns: AtomicU64,
    /// Checking engine: translated functions to compare against the interpreter, and
    /// how many calls of each were checked so far.
    check: Option<Checker>,
    /// Guest address of the `rt_sigreturn` trampoline handlers return to.
    sigreturn_trampoline: u64,
    /// The gdb stub, when `-g` asked for one.
    debug: Option<Arc<Debugger<Rv64>>>,
}

/// Translated functions whose guest code the guest rewrote, and what is needed to find
/// them: checked at every `fence.i` (and `riscv_flush_icache`), for the code pages the
/// guest made writable or replaced since the last check ([`GuestMemory::watch_code`]).
struct Rewrites {
    code: LinkedCode,
    /// (start, end, function pc) of the translated guest code, sorted.
    ranges: Vec<(u64, u64, u64)>,
    /// The watched pages' bytes as translated.
    snapshot: HashMap<u64, Vec<u8>>,
    /// Host entry address → guest pc, for [`vmx_rt_rewritten`].
    entries: HashMap<usize, u64>,
    /// Function → its direct callers (whose translations may have inlined it).
    callers: HashMap<u64, Vec<u64>>,
    /// Functions no longer run translated.
    stale: Mutex<std::collections::HashSet<u64>>,
    /// Whether `stale` is non-empty (read on every dispatch).
    any: std::sync::atomic::AtomicBool,
}

struct Checker {
    funcs: HashMap<u64, GuestFn>,
    names: HashMap<u64, String>,
    checked: Mutex<HashMap<u64, u32>>,
    calls_per_function: u32,
    total: AtomicU64,
    /// `VMX_CHECK_INJECT=<pc>`: flip a bit of `a0` in the translated result of the
    /// function at `pc` (a self-test of the checker).
    inject: Option<u64>,
}

/// Set in a forked checking child: it must not perform side effects.
static IN_CHECK_CHILD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

static ENGINE: OnceLock<Engine> = OnceLock::new();

thread_local! {
    static BLOCKS: RefCell<BlockCache> = RefCell::new(BlockCache::default());
    /// Frame address of the last `rt_sigreturn` on this thread (ends a handler's run).
    static SIGRETURNED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Set when a handler's run ended by `rt_sigreturn` (rather than `siglongjmp`).
    static HANDLER_RETURNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// This guest thread's state, for the fault handler.
    static CURRENT: std::cell::Cell<*mut RvState> = const { std::cell::Cell::new(std::ptr::null_mut()) };
    /// The block the interpreter runs under a checkpoint ([`run_block_checkpointed`]):
    /// the block, the instruction limit, and how it ended (`None` while it runs).
    static BLOCK_CALL: std::cell::Cell<(*const DecodedBlock, usize, Option<BlockExit>)> =
        const { std::cell::Cell::new((std::ptr::null(), 0, None)) };
}

/// Runs (a prefix of) an interpreted block under a checkpoint, so a guest fault handler
/// that leaves with `siglongjmp` can abandon it. `None` if it was abandoned (the guest
/// state says where the guest goes on).
fn run_block_checkpointed(
    s: &mut RvState,
    base: *mut u8,
    block: &DecodedBlock,
    limit: usize,
) -> Option<BlockExit> {
    extern "C" fn shim(st: *mut RvState, mem: *mut u8) {
        let (block, limit, _) = BLOCK_CALL.with(|c| c.get());
        // SAFETY: `st` and `block` are the references `run_block_checkpointed` holds
        // for the duration of the call.
        let exit = run_block_prefix(unsafe { &mut *st }, mem, unsafe { &*block }, limit);
        BLOCK_CALL.with(|c| c.set((block, limit, Some(exit))));
    }
    BLOCK_CALL.with(|c| c.set((block, limit, None)));
    // SAFETY: `shim` has the translated-code signature and only runs the interpreter
    // on `s` (nothing with a destructor lives on its frames); `base` is the guest base.
    unsafe { call_guest(shim, s, base) };
    BLOCK_CALL
        .with(|c| c.replace((std::ptr::null(), 0, None)))
        .2
}

/// The interpreter is inside [`run_block_checkpointed`] on this thread.
fn in_interpreted_block() -> bool {
    BLOCK_CALL.with(|c| !c.get().0.is_null())
}

/// How far below the stack pointer a translated function had at its last call out a
/// fault's signal frame goes: the function may have grown its frame since then.
const STALE_SP_GAP: u64 = 128 << 10;

/// The host fault handler's question for a guest memory fault at `addr` (guest address)
/// with the host at `host_pc`: the guest's SIGSEGV/SIGBUS handler runs here, on the
/// host signal stack, if it has one and the fault is in guest code (translated or
/// interpreted). Registers that translated code keeps in host registers are seen as
/// of the function's last call out (the frame's `sp` is placed `STALE_SP_GAP` lower,
/// clear of the function's own frame). A handler that returns has the access retried
/// (with the state it interrupted: edits to its `ucontext` are not honoured); one that
/// leaves with `siglongjmp` abandons the faulting code.
fn guest_fault(sig: i32, addr: u64, host_pc: usize) -> FaultAction {
    let Some(e) = ENGINE.get() else {
        return FaultAction::Die;
    };
    let st = CURRENT.with(|c| c.get());
    if st.is_null() {
        return FaultAction::Die;
    }
    let interpreted = in_interpreted_block();
    let translated = e
        .rewrites
        .as_ref()
        .is_some_and(|rw| rw.code.code_range().contains(&host_pc));
    if !interpreted && !translated {
        return FaultAction::Die;
    }
    if !e.guest_takes(sig) {
        return FaultAction::Die;
    }
    // SAFETY: `st` is this thread's guest state; the code it interrupted (guest code)
    // does not hold a reference to it across the access that faulted.
    let s = unsafe { &mut *st };
    let interrupted = s.clone();
    let block = BLOCK_CALL.with(|c| c.replace((std::ptr::null(), 0, None)));
    if !interpreted {
        s.x[2] = s.x[2].saturating_sub(STALE_SP_GAP);
    }
    // SEGV_MAPERR / SEGV_ACCERR; BUS_ADRERR.
    let code = match (sig, e.mem.prot_at(addr)) {
        (libc::SIGBUS, _) => 2,
        (_, None) => 1,
        (_, Some(_)) => 2,
    };
    let info = SigInfo {
        signo: sig,
        code,
        detail: SigDetail::Addr(addr),
    };
    HANDLER_RETURNED.with(|c| c.set(false));
    e.run_handler(s, &info);
    if HANDLER_RETURNED.with(|c| c.replace(false)) {
        *s = interrupted;
        BLOCK_CALL.with(|c| c.set(block));
        FaultAction::Retry
    } else {
        FaultAction::Escape
    }
}

fn engine() -> &'static Engine {
    ENGINE.get().expect("engine not started")
}

/// Why the run loop stops (besides the guest exiting).
#[derive(Clone, Copy)]
enum Stop {
    Never,
    /// The frame with stack pointer `sp` returned to `pc` (or was unwound past).
    Return {
        pc: u64,
        sp: u64,
    },
    /// As `Return`, or control reached a resume point of function `func`.
    Reenter {
        func: u64,
        pc: u64,
        sp: u64,
    },
    /// A signal handler whose frame is at `frame` returned through `rt_sigreturn`, or
    /// left (`siglongjmp`) to a frame above `sp`, the stack pointer the signal arrived
    /// at (an alternate stack the handler runs on, `alt`, does not count as leaving).
    Handler {
        frame: u64,
        sp: u64,
        alt: Option<(u64, u64)>,
    },
}

/// How much of a block [`Engine::interpret`] runs.
#[derive(Clone, Copy)]
enum Limit<'a> {
    Block,
    One,
    /// Up to (not including) the next instruction with a breakpoint.
    Breakpoint(&'a Debugger<Rv64>),
}

impl Engine {
    /// Switches the calling thread's [`Phase`] when `--stats` measures time; returns the
    /// previous phase.
    fn phase(&self, p: Phase) -> Phase {
        if self.stats_format.is_some() {
            self.times.enter(p)
        } else {
            p
        }
    }

    /// Notes the guest's current mapping total for the peak (with `--stats`).
    fn note_memory(&self) {
        if self.stats_format.is_some() {
            self.peak_memory
                .fetch_max(self.mem.mapped_bytes(), Ordering::Relaxed);
        }
    }

    /// Runs guest code until `stop` (see [`Stop`]).
    fn run_until(&self, st: *mut RvState, stop: Stop) {
        let outer = self.phase(Phase::Other);
        self.run_loop(st, stop);
        self.phase(outer);
    }

    fn run_loop(&self, st: *mut RvState, stop: Stop) {
        let base = self.mem.base();
        loop {
            // SAFETY: `st` is this guest thread's state; no other reference is live while
            // the engine runs (translated code only uses it during `call_guest`).
            let s = unsafe { &mut *st };
            if s.signal_poll != 0 {
                self.poll_signals(s);
            }
            let pc = s.pc;
            let sp = s.x[2];
            match stop {
                Stop::Never => {}
                Stop::Return { pc: rp, sp: rsp } => {
                    if (pc == rp && sp == rsp) || sp > rsp {
                        return;
                    }
                }
                Stop::Reenter {
                    func,
                    pc: rp,
                    sp: rsp,
                } => {
                    if (pc == rp && sp == rsp) || sp > rsp || self.is_resume_point(func, pc) {
                        return;
                    }
                }
                Stop::Handler {
                    frame,
                    sp: ssp,
                    alt,
                } => {
                    if SIGRETURNED.with(|c| c.get()) == frame {
                        SIGRETURNED.with(|c| c.set(0));
                        HANDLER_RETURNED.with(|c| c.set(true));
                        return;
                    }
                    let on_alt = alt.is_some_and(|(lo, hi)| (lo..hi).contains(&sp));
                    if sp > ssp && !on_alt {
                        return;
                    }
                }
            }
            if let Some(d) = &self.debug {
                if d.checking() {
                    // Under gdb with breakpoints, watchpoints or a step: interpret up to
                    // the next breakpoint (or one instruction for a step or watchpoints).
                    // Time stopped in the debugger is not the interpreter's.
                    self.phase(Phase::Other);
                    if !d.before_insn(s) {
                        let limit = if d.per_insn() {
                            Limit::One
                        } else {
                            Limit::Breakpoint(d)
                        };
                        self.interpret(s, limit);
                        self.phase(Phase::Other);
                        d.after_insn(s);
                    }
                    continue;
                }
            }
            if let Some(f) = self.translated(pc) {
                let prev = self.phase(Phase::Translated);
                // SAFETY: `f` comes from the linked translation; see `call_guest`.
                unsafe { call_guest(f, st, base) };
                self.phase(prev);
                continue;
            }
            if self.check.is_some() && self.check_call(st) {
                continue;
            }
            self.interpret(s, Limit::Block);
        }
    }

    /// Checking engine: if `st.pc` enters a translated function that still needs checking,
    /// run it translated in a forked child and interpreted here, and compare. Returns
    /// whether the function was run (its return is in `st`).
    fn check_call(&self, st: *mut RvState) -> bool {
        let Some(ck) = &self.check else { return false };
        if IN_CHECK_CHILD.load(Ordering::Relaxed) {
            return false;
        }
        // SAFETY: see `run_until`.
        let s = unsafe { &mut *st };
        let Some(&f) = ck.funcs.get(&s.pc) else {
            return false;
        };
        {
            let mut checked = ck.checked.lock().unwrap_or_else(|e| e.into_inner());
            let n = checked.entry(s.pc).or_default();
            if *n >= ck.calls_per_function {
                return false;
            }
            *n += 1;
        }
        let before = s.clone();
        let Ok((mut rd, wr)) = std::io::pipe() else {
            return false;
        };
        let Ok(side) = fork() else { return false };
        let Fork::Parent(pid) = side else {
            // Child: run the translation, report the state and a memory digest.
            drop(rd);
            IN_CHECK_CHILD.store(true, Ordering::Relaxed);
            // SAFETY: see `call_guest`.
            unsafe { call_guest(f, st, self.mem.base()) };
            // SAFETY: as above.
            let s = unsafe { &mut *st };
            fold_host_fflags(s);
            if ck.inject == Some(before.pc) {
                // Fault injection, to test the checker itself: corrupt the result.
                s.x[10] ^= 1;
            }
            let mut msg = state_words(s);
            msg.push(self.memory_digest(before.x[2]));
            let bytes: Vec<u8> = msg.iter().flat_map(|w| w.to_le_bytes()).collect();
            let mut wr = wr;
            let _ = wr.write_all(&bytes);
            exit_now(0);
        };
        drop(wr);
        // The reference run; checks nest (calls inside it are checked in turn).
        self.run_until(
            st,
            Stop::Return {
                pc: before.x[1],
                sp: before.x[2],
            },
        );
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut rd, &mut bytes);
        let status = wait_child(pid);
        ck.total.fetch_add(1, Ordering::Relaxed);
        // SAFETY: see `run_until`.
        let s = unsafe { &mut *st };
        fold_host_fflags(s);
        let name = ck.names.get(&before.pc).map(String::as_str).unwrap_or("?");
        let words: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8")))
            .collect();
        let expected = state_words(s);
        if s.pc != before.x[1] || s.x[2] != before.x[2] {
            // The frame did not return normally (longjmp, exit): nothing comparable.
            return true;
        }
        if words.len() != expected.len() + 1 {
            // No report: the child stopped at a system call or trap (side effects are
            // the parent's alone), or died.
            if libc::WIFSIGNALED(status) {
                let sig = libc::WTERMSIG(status);
                self.divergence(
                    &before,
                    name,
                    &[format!("translated code died of signal {sig}")],
                );
            }
            return true;
        }
        let mut diffs = Vec::new();
        for (k, (t, i)) in words.iter().zip(&expected).enumerate() {
            if t != i {
                diffs.push(format!(
                    "{}: interpreter {i:#x}, translated {t:#x}",
                    STATE_WORD_NAMES.get(k).copied().unwrap_or("?")
                ));
            }
        }
        if words[expected.len()] != self.memory_digest(before.x[2]) {
            diffs.push("writable guest memory differs".into());
        }
        if !diffs.is_empty() {
            self.divergence(&before, name, &diffs);
        }
        true
    }

    /// Digest of the guest's writable memory: every writable region, except that only
    /// the top of the stack (from 64 KiB below `sp` up) is included.
    fn memory_digest(&self, sp: u64) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (start, r) in self.mem.regions() {
            if !r.prot.writable() {
                continue;
            }
            let lo = match r.kind {
                crate::memory::RegionKind::Stack => start.max(sp.saturating_sub(64 << 10) & !7),
                _ => start,
            };
            let Ok(bytes) = self.mem.slice(lo, (r.end - lo) as usize) else {
                continue;
            };
            for w in bytes.chunks(8) {
                let mut v = [0u8; 8];
                v[..w.len()].copy_from_slice(w);
                h = (h ^ u64::from_le_bytes(v))
                    .wrapping_mul(0x0000_0100_0000_01b3)
                    .rotate_left(5);
            }
        }
        h
    }

    fn divergence(&self, before: &RvState, name: &str, diffs: &[String]) -> ! {
        let mut msg = format!(
            "vmx: check: translated code and interpreter disagree after the call of {:#x} <{name}> \
             (ra {:#x}, sp {:#x}):\n",
            before.pc, before.x[1], before.x[2]
        );
        for d in diffs {
            msg.push_str(&format!("vmx: check:   {d}\n"));
        }
        let _ = std::io::stderr().write_all(msg.as_bytes());
        self.finish();
        std::process::exit(CHECK_DIVERGENCE_STATUS)
    }

    /// The translation of the function at `pc`, unless there is none or the guest has
    /// rewritten its code.
    fn translated(&self, pc: u64) -> Option<GuestFn> {
        let f = *self.funcs.get(&pc)?;
        if let Some(rw) = &self.rewrites {
            if rw.any.load(Ordering::Acquire)
                && rw
                    .stale
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(&pc)
            {
                return None;
            }
        }
        Some(f)
    }

    /// `fence.i`: drop the interpreter's decoded blocks, and the translations of any
    /// function whose guest code was rewritten since the last look — and of the
    /// functions that call it directly, whose translations may have inlined it. Live
    /// frames of translated code see `code_epoch` change and finish interpreted.
    fn fence_i(&self, s: &mut RvState) {
        BlockCache::invalidate_all();
        let Some(rw) = &self.rewrites else { return };
        let pages = self.mem.take_rewritable_code_pages();
        if pages.is_empty() {
            return;
        }
        let mut changed: Vec<(u64, u64)> = Vec::new();
        for p in pages {
            let Some(old) = rw.snapshot.get(&p) else {
                continue;
            };
            match self.mem.slice(p, old.len()) {
                Ok(now) => {
                    let first = old.iter().zip(now).position(|(a, b)| a != b);
                    let last = old.iter().zip(now).rposition(|(a, b)| a != b);
                    if let (Some(f), Some(l)) = (first, last) {
                        changed.push((p + f as u64, p + l as u64 + 1));
                    }
                }
                // Unmapped or unreadable now: nothing translated there may run.
                Err(_) => changed.push((p, p + old.len() as u64)),
            }
        }
        let mut stale = rw.stale.lock().unwrap_or_else(|e| e.into_inner());
        let mut newly = Vec::new();
        let mut work: Vec<u64> = rw
            .ranges
            .iter()
            .filter(|&&(start, end, _)| changed.iter().any(|&(a, b)| a < end && start < b))
            .map(|&(_, _, pc)| pc)
            .collect();
        while let Some(pc) = work.pop() {
            if stale.insert(pc) {
                newly.push(pc);
                work.extend(rw.callers.get(&pc).into_iter().flatten());
            }
        }
        if newly.is_empty() {
            return;
        }
        rw.any.store(true, Ordering::Release);
        s.code_epoch += 1;
        self.stats
            .rewritten_functions
            .fetch_add(newly.len() as u64, Ordering::Relaxed);
        // Direct calls from other translated functions still reach the old entries:
        // divert those to the runtime, which interprets the new code.
        let hosts: Vec<usize> = newly
            .iter()
            .filter_map(|pc| self.funcs.get(pc).map(|f| *f as usize))
            .collect();
        if let Err(e) = rw
            .code
            .divert(&hosts, vmx_rt_rewritten as *const () as usize)
        {
            eprintln!("vmx: cannot retire rewritten translated code: {e}");
            self.finish();
            die_with_signal(libc::SIGABRT);
        }
        tracing::debug!(functions = ?newly, "guest rewrote translated code");
    }

    fn is_resume_point(&self, func: u64, pc: u64) -> bool {
        self.resume
            .get(&func)
            .is_some_and(|r| r.binary_search(&pc).is_ok())
    }

    /// Interprets the block at `s.pc`, or the part of it `limit` allows.
    fn interpret(&self, s: &mut RvState, limit: Limit) {
        // No switch back: consecutive blocks stay in this phase; `run_until` restores.
        self.phase(Phase::Interp);
        let pc = s.pc;
        let block = BLOCKS.with(|c| c.borrow_mut().get(&self.mem, pc));
        let Some(block) = block else {
            // Executing memory that is not mapped executable.
            self.finish();
            die_with_signal(libc::SIGSEGV);
        };
        self.stats.interp_blocks.fetch_add(1, Ordering::Relaxed);
        if self.profile_out.is_some() || self.stats_format.is_some() {
            *self
                .misses
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(pc)
                .or_default() += 1;
        }
        let limit = match limit {
            Limit::Block => usize::MAX,
            Limit::One => 1,
            Limit::Breakpoint(d) => block
                .insns
                .iter()
                .skip(1)
                .position(|&(pc, _)| d.is_breakpoint(pc))
                .map_or(usize::MAX, |i| i + 1),
        };
        let before = s.interp_insns;
        let exit = if self.kernel.handles_faults() {
            run_block_checkpointed(s, self.mem.base(), &block, limit)
        } else {
            Some(run_block_prefix(s, self.mem.base(), &block, limit))
        };
        let Some(exit) = exit else {
            // A guest fault handler left the block with `siglongjmp`.
            self.interp_insns
                .fetch_add(s.interp_insns - before, Ordering::Relaxed);
            return;
        };
        self.interp_insns
            .fetch_add(s.interp_insns - before, Ordering::Relaxed);
        match exit {
            BlockExit::Done => {}
            BlockExit::FenceI => self.fence_i(s),
            BlockExit::Trap(Trap::Syscall) => self.syscall(s),
            BlockExit::Trap(t) => self.trap_signal(s, t),
        }
    }

    fn syscall(&self, s: &mut RvState) {
        if IN_CHECK_CHILD.load(Ordering::Relaxed) {
            // A checking child stops before any side effect; the parent reports nothing.
            exit_now(0);
        }
        self.stats.syscalls.fetch_add(1, Ordering::Relaxed);
        self.collect_counts(s);
        fold_host_fflags(s);
        let nr = s.x[17];
        let pc = s.pc;
        let a0 = s.x[10];
        if nr == nr::RT_SIGRETURN {
            // fcsr comes back from the frame: whatever the handler raised is dropped.
            hostfp::take_flags();
            match crate::signal::sigreturn(&self.kernel, &self.mem, s) {
                Ok(frame) => SIGRETURNED.with(|c| c.set(frame)),
                // A bad frame: Linux kills the process with SIGSEGV.
                Err(_) => {
                    self.finish();
                    die_with_signal(libc::SIGSEGV);
                }
            }
            return;
        }
        let prev = self.phase(Phase::Syscall);
        let args = CloneArgs::generic([s.x[10], s.x[11], s.x[12], s.x[13], s.x[14], s.x[15]]);
        let raw = [s.x[10], s.x[11], s.x[12], s.x[13], s.x[14], s.x[15]];
        let outcome = if nr == nr::CLONE && args.is_thread() {
            s.x[10] = self.kernel.traced(nr, raw, || self.clone_thread(s, &args));
            SysOutcome::Continue
        } else {
            if nr == nr::EXIT {
                // Another thread lives on: only this one ends (here, if so).
                crate::thread::exit_if_not_last(&self.kernel, raw);
            }
            self.kernel.handle(s)
        };
        match outcome {
            SysOutcome::Continue => {}
            SysOutcome::Exit(code) => self.exit(code),
            SysOutcome::Killed(sig) => {
                self.finish();
                die_with_signal(sig)
            }
        }
        if matches!(nr, nr::BRK | nr::MMAP | nr::MREMAP) {
            self.note_memory();
        }
        self.phase(prev);
        // Whatever the runtime's own floating point raised is not the guest's.
        hostfp::take_flags();
        // Guest code may have changed: drop decoded blocks (and, for an explicit
        // instruction-cache flush, stale translations).
        if nr == nr::RISCV_FLUSH_ICACHE {
            self.fence_i(s);
        } else if matches!(nr, nr::MMAP | nr::MUNMAP | nr::MPROTECT | nr::MREMAP) {
            BlockCache::invalidate_all();
        }
        s.pc = pc + 4;
        if s.x[10] == EINTR && restartable(nr) && self.next_signal_restarts() {
            // Interrupted by a signal whose handler asked for SA_RESTART: the handler
            // returns to the `ecall`, which runs again with its original arguments.
            s.x[10] = a0;
            s.pc = pc;
        }
        self.poll_signals(s);
        // A temporary mask (rt_sigsuspend) that no handler frame took ends here.
        self.kernel.restore_saved_mask();
    }

    /// `clone` of a thread: a copy of the caller's registers continues after the
    /// `ecall` on a new host thread, with `a0` = 0, the given stack and thread pointer.
    /// Returns the caller's `a0`: the new tid or `-errno`.
    fn clone_thread(&self, s: &RvState, args: &CloneArgs) -> u64 {
        let mut child = RvState {
            pc: s.pc + 4,
            res_addr: NO_RESERVATION,
            tr_insns: 0,
            interp_insns: 0,
            signal_poll: 0,
            ..s.clone()
        };
        child.x[10] = 0;
        if args.stack != 0 {
            child.x[2] = args.stack;
        }
        if let Some(tp) = args.tls() {
            child.x[4] = tp;
        }
        let spawned = crate::thread::spawn(&self.kernel, &self.mem, args, move |start| {
            let e = engine();
            crate::thread::guard(move || {
                start.enter(&e.kernel);
                let mut st = child;
                set_poll_flag(std::ptr::addr_of_mut!(st.signal_poll));
                CURRENT.with(|c| c.set(std::ptr::addr_of_mut!(st)));
                e.run_until(&mut st, Stop::Never);
            })
        });
        match spawned {
            Ok(tid) => tid,
            Err(e) => (-(e.0 as i64)) as u64,
        }
    }

    /// Whether the next signal to deliver has a handler with `SA_RESTART`.
    fn next_signal_restarts(&self) -> bool {
        for (sig, code, pid) in take_forwarded() {
            self.post_forwarded(sig, code, pid);
        }
        self.kernel
            .next_deliverable_flags()
            .is_some_and(|f| f & SA_RESTART != 0)
    }

    fn post_forwarded(&self, sig: i32, code: i32, pid: i32) {
        if let SysOutcome::Killed(k) = self.kernel.post_signal_from(sig, code, pid) {
            self.finish();
            die_with_signal(k);
        }
    }

    /// Hands signals that arrived from outside to the guest and runs the handlers of
    /// everything pending and unblocked.
    fn poll_signals(&self, s: &mut RvState) {
        s.signal_poll = 0;
        if let Some(d) = &self.debug {
            d.poll_interrupt(s);
        }
        for (sig, code, pid) in take_forwarded() {
            self.post_forwarded(sig, code, pid);
        }
        self.deliver_pending(s);
    }

    /// Runs the guest handlers of pending, unblocked signals (at a system call's end).
    fn deliver_pending(&self, s: &mut RvState) {
        while let Some(info) = crate::signal::next_handled_signal(&self.kernel) {
            self.run_handler(s, &info);
        }
    }

    /// Runs the guest's handler for `info` to completion: builds the frame, runs guest
    /// code until the handler returns through `rt_sigreturn` (which restores `s`) or
    /// leaves with `siglongjmp` (then `s` is wherever that went).
    fn run_handler(&self, s: &mut RvState, info: &SigInfo) {
        // The frame saves fcsr, with every flag accrued so far.
        fold_host_fflags(s);
        let sp = s.x[2];
        match crate::signal::enter_handler(
            &self.kernel,
            &self.mem,
            s,
            info,
            self.sigreturn_trampoline,
        ) {
            Ok((frame, alt)) => self.run_until(s, Stop::Handler { frame, sp, alt }),
            // No room for the frame: Linux kills the process with SIGSEGV.
            Err(_) => {
                self.finish();
                die_with_signal(libc::SIGSEGV);
            }
        }
    }

    /// Whether a synchronous signal goes to a guest handler: the guest has one, does not
    /// block the signal, and this is not a checking child (which must not run it).
    fn guest_takes(&self, sig: i32) -> bool {
        let handler = self.kernel.sigaction(sig).map_or(SIG_DFL, |a| a.handler);
        let blocked = self.kernel.signal_mask() & (1 << (sig - 1)) != 0;
        handler != SIG_DFL
            && handler != SIG_IGN
            && !blocked
            && !IN_CHECK_CHILD.load(Ordering::Relaxed)
    }

    /// A synchronous trap: the guest's handler runs if it has one and the signal is not
    /// blocked; otherwise the guest dies of the signal, as on Linux.
    fn trap_signal(&self, s: &mut RvState, t: Trap) {
        let (sig, code) = match t {
            Trap::Breakpoint => (libc::SIGTRAP, crate::signal::TRAP_BRKPT),
            _ => (libc::SIGILL, crate::signal::ILL_ILLOPC),
        };
        if !self.guest_takes(sig) {
            self.trap(s, t);
        }
        let info = SigInfo {
            signo: sig,
            code,
            detail: SigDetail::Addr(s.pc),
        };
        self.run_handler(s, &info);
    }

    /// Moves the thread's translated-instruction count into the statistics.
    fn collect_counts(&self, s: &mut RvState) {
        let n = std::mem::take(&mut s.tr_insns);
        self.stats.translated_insns.fetch_add(n, Ordering::Relaxed);
    }

    fn trap(&self, s: &mut RvState, t: Trap) -> ! {
        if IN_CHECK_CHILD.load(Ordering::Relaxed) {
            exit_now(0);
        }
        self.collect_counts(s);
        self.finish();
        die_with_signal(match t {
            Trap::Breakpoint => libc::SIGTRAP,
            _ => libc::SIGILL,
        })
    }

    fn exit(&self, code: i32) -> ! {
        if let Some(d) = &self.debug {
            d.exited(code);
        }
        self.finish();
        std::process::exit(code)
    }

    /// Report statistics and write the miss profile.
    fn finish(&self) {
        let misses = self.misses.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(path) = &self.profile_out {
            if !misses.is_empty() {
                let mut pcs: Vec<_> = misses.iter().collect();
                pcs.sort();
                let text: String = pcs.iter().map(|(pc, n)| format!("{pc:#x} {n}\n")).collect();
                let _ = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .and_then(|mut f| f.write_all(text.as_bytes()));
            }
        }
        let Some(fmt) = self.stats_format else { return };
        self.times.flush();
        let wall = self.start.elapsed().as_secs_f64();
        let st = &self.stats;
        let engine = match self.kind {
            EngineKind::Aot => "aot",
            EngineKind::Interp => "interp",
            EngineKind::Check => "check",
        };
        let mut r = Report::new(
            engine,
            wall,
            &self.times,
            self.peak_memory.load(Ordering::Relaxed),
            self.cache,
        );
        r.count(
            "translated_insns",
            st.translated_insns.load(Ordering::Relaxed),
        );
        r.count("interp_insns", self.interp_insns.load(Ordering::Relaxed));
        r.count("interp_blocks", st.interp_blocks.load(Ordering::Relaxed));
        r.count("interp_block_pcs", misses.len() as u64);
        r.count("dispatch_hits", st.dispatch_hits.load(Ordering::Relaxed));
        r.count(
            "dispatch_misses",
            st.dispatch_misses.load(Ordering::Relaxed),
        );
        r.count("syscalls", st.syscalls.load(Ordering::Relaxed));
        r.count("translated_functions", self.funcs.len() as u64);
        r.count(
            "rewritten_functions",
            st.rewritten_functions.load(Ordering::Relaxed),
        );
        r.count(
            "checked_calls",
            self.check
                .as_ref()
                .map_or(0, |c| c.total.load(Ordering::Relaxed)),
        );
        r.print(fmt);
    }
}

/// Move the exception flags the host accrued for the guest into `fcsr` (where the runtime
/// reads or saves it: signal frames, the checking engine, system calls).
fn fold_host_fflags(s: &mut RvState) {
    s.fcsr |= hostfp::take_flags();
}

/// Names of the words [`state_words`] returns, for divergence reports.
const STATE_WORD_NAMES: [&str; 66] = [
    "x0", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5",
    "t6", "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1",
    "fa2", "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8",
    "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11", "pc", "fcsr",
];

/// The architectural state compared by the checking engine.
fn state_words(s: &RvState) -> Vec<u64> {
    let mut v = Vec::with_capacity(66);
    v.extend_from_slice(&s.x);
    v.extend_from_slice(&s.f);
    v.push(s.pc);
    v.push(s.fcsr);
    v
}

/// Value of the counter CSRs (`cycle`, `time`, `instret`): all three read a 10 MHz
/// timebase, as Linux lets user space see them.
pub fn counter_csr() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
    ns / 100
}

// ---- entry points for translated code ----

/// Translated code executed `ecall`.
extern "C" fn vmx_rt_syscall(st: *mut RvState) {
    // SAFETY: translated code passes its own state pointer, valid for the call.
    let s = unsafe { &mut *st };
    engine().syscall(s);
}

/// Translated code executed `ebreak` (1) or an illegal instruction (2).
extern "C" fn vmx_rt_trap(st: *mut RvState, kind: u32) {
    // SAFETY: translated code passes its own state pointer, valid for the call.
    let s = unsafe { &mut *st };
    engine().trap_signal(
        s,
        if kind == 1 {
            Trap::Breakpoint
        } else {
            Trap::Illegal
        },
    );
}

/// Indirect call (or a call to code that was not translated): run `target` until it
/// returns to the return address in `ra`.
extern "C" fn vmx_rt_call(st: *mut RvState, mem: *mut u8, target: u64) {
    let e = engine();
    // SAFETY: translated code passes its own state pointer, valid for the call.
    let s = unsafe { &mut *st };
    s.pc = target;
    if let Some(f) = e.translated(target) {
        e.stats.dispatch_hits.fetch_add(1, Ordering::Relaxed);
        // SAFETY: see `call_guest`.
        unsafe { call_guest(f, st, mem) };
        return;
    }
    e.stats.dispatch_misses.fetch_add(1, Ordering::Relaxed);
    tracing::trace!(
        target = format_args!("{target:#x}"),
        "dispatcher miss (call): interpreting"
    );
    let stop = Stop::Return {
        pc: s.x[1],
        sp: s.x[2],
    };
    e.run_until(st, stop);
}

/// An indirect jump whose target the translation could not resolve: run guest code
/// until control reaches a resume point of `func` or the frame (`ret_pc`, `ret_sp`)
/// returns. Returns the pc reached, also left in `st.pc`.
extern "C" fn vmx_rt_jump(
    st: *mut RvState,
    _mem: *mut u8,
    target: u64,
    func: u64,
    ret_pc: u64,
    ret_sp: u64,
) -> u64 {
    let e = engine();
    // SAFETY: translated code passes its own state pointer, valid for the call.
    unsafe { (*st).pc = target };
    e.stats.dispatch_misses.fetch_add(1, Ordering::Relaxed);
    tracing::trace!(
        target = format_args!("{target:#x}"),
        func = format_args!("{func:#x}"),
        "dispatcher miss (unresolved jump): interpreting"
    );
    e.run_until(
        st,
        Stop::Reenter {
            func,
            pc: ret_pc,
            sp: ret_sp,
        },
    );
    // SAFETY: as above.
    unsafe { (*st).pc }
}

/// A translated loop saw `RvState::signal_poll` set: run the handlers now. Returns 1 if
/// the guest state is not what it was (a handler edited its context or left with
/// `siglongjmp`, or code was rewritten): the loop must not continue from its registers.
extern "C" fn vmx_rt_poll(st: *mut RvState) -> u64 {
    // SAFETY: translated code passes its own state pointer, valid for the call.
    let s = unsafe { &mut *st };
    let (x, f, pc, fcsr, epoch) = (s.x, s.f, s.pc, s.fcsr, s.code_epoch);
    engine().poll_signals(s);
    u64::from(s.x != x || s.f != f || s.pc != pc || s.fcsr != fcsr || s.code_epoch != epoch)
}

/// `fence.i` in translated code.
extern "C" fn vmx_rt_fence_i(st: *mut RvState) {
    // SAFETY: translated code passes its own state pointer, valid for the call.
    engine().fence_i(unsafe { &mut *st });
}

/// A translated function whose guest code was rewritten was entered directly (its entry
/// is diverted here, see [`LinkedCode::divert`]): run the guest code as it is now, like
/// a call through the dispatcher.
extern "C" fn vmx_rt_rewritten(st: *mut RvState, mem: *mut u8, entry_plus_5: usize) {
    let e = engine();
    let pc = e
        .rewrites
        .as_ref()
        .and_then(|rw| rw.entries.get(&(entry_plus_5 - 5)).copied());
    let Some(pc) = pc else {
        eprintln!("vmx: diverted entry {entry_plus_5:#x} is not a translated function");
        die_with_signal(libc::SIGABRT);
    };
    vmx_rt_call(st, mem, pc);
}

extern "C" fn vmx_rt_csr(_st: *mut RvState, _csr: u32) -> u64 {
    counter_csr()
}

/// The host's accrued exception flags (`Sem::host_fflags`).
extern "C" fn vmx_rt_fflags() -> u64 {
    hostfp::flags(false)
}

/// The host's accrued exception flags, cleared.
extern "C" fn vmx_rt_fflags_take() -> u64 {
    hostfp::flags(true)
}

/// The exception flags of an operation in a directed rounding mode (`Sem::fraise`).
extern "C" fn vmx_rt_fraise(op: u32, width: u32, frm: u64, a: u64, b: u64, c: u64, keep: u64) {
    let w = if width == 32 { FW::S } else { FW::D };
    if let Some(op) = FOp::from_code(op) {
        hostfp::raise(op, w, frm, [a, b, c], keep);
    }
}

/// Starts watching the guest code behind translation `t` for rewrites.
fn watch_translated_code(mem: &GuestMemory, t: Translation) -> Rewrites {
    let mut ranges = t.ranges;
    ranges.sort_unstable();
    let spans: Vec<(u64, u64)> = ranges.iter().map(|&(s, e, _)| (s, e)).collect();
    mem.watch_code(&spans);
    let mut snapshot = HashMap::new();
    for &(start, end) in &spans {
        let mut p = page_align_down(start);
        while p < end {
            if let std::collections::hash_map::Entry::Vacant(v) = snapshot.entry(p) {
                if let Ok(bytes) = mem.slice(p, PAGE_SIZE as usize) {
                    v.insert(bytes.to_vec());
                }
            }
            p += PAGE_SIZE;
        }
    }
    let entries = t.funcs.iter().map(|(pc, f)| (*f as usize, *pc)).collect();
    Rewrites {
        code: t.code,
        ranges,
        snapshot,
        entries,
        callers: t.callers,
        stale: Mutex::new(std::collections::HashSet::new()),
        any: std::sync::atomic::AtomicBool::new(false),
    }
}

/// The gdb server's socket when `-g` asked for one (bound before the guest is loaded,
/// so a taken port is an error before anything runs).
pub(crate) fn gdb_listener(cfg: &RunConfig) -> Result<Option<std::net::TcpListener>, RunError> {
    let Some(port) = cfg.gdb else {
        return Ok(None);
    };
    if cfg.engine == EngineKind::Check {
        return Err(RunError::Gdb(
            "the gdb stub does not work with --engine=check".into(),
        ));
    }
    crate::gdb::listen(port)
        .map(Some)
        .map_err(|e| RunError::Gdb(format!("cannot listen on 127.0.0.1:{port}: {e}")))
}

/// Run a loaded guest to completion. Never returns on success: the process exits with
/// the guest's status (or dies of the guest's fatal signal).
pub fn run(loaded: Loaded, cfg: RunConfig) -> Result<std::convert::Infallible, RunError> {
    if loaded.image.isa == Isa::Aarch64 {
        return crate::a64::run(&loaded.image, &loaded.image_bytes, cfg);
    }
    if loaded.image.isa == Isa::X86_64 {
        if cfg.gdb.is_some() {
            return Err(RunError::Gdb(
                "the gdb stub does not serve x86-64 guests under KVM yet".into(),
            ));
        }
        return crate::kvm::run(&loaded.image, &loaded.image_bytes, cfg);
    }
    let listener = gdb_listener(&cfg)?;
    let mem = Arc::new(GuestMemory::new().map_err(|e| RunError::Memory(e.to_string()))?);
    let li = load_image(&mem, &loaded.image, &loaded.image_bytes)
        .map_err(|e| RunError::Load(e.to_string()))?;
    let execfn = cfg.exe_path.as_os_str().as_encoded_bytes().to_vec();
    // AT_HWCAP: the single-letter extensions I, M, A, F, D, C.
    let hwcap = [b'I', b'M', b'A', b'F', b'D', b'C']
        .iter()
        .fold(0u64, |h, c| h | 1 << (c - b'A'));
    let sp = setup_stack(&mem, &li, &cfg.argv, &cfg.envp, &execfn, hwcap)
        .map_err(|e| RunError::Load(e.to_string()))?;
    let kernel = Kernel::new(
        mem.clone(),
        KernelConfig {
            exe_path: cfg.exe_path.clone(),
            strace: cfg.strace,
            brk_start: li.brk,
        },
    );
    install_exec_handler(&kernel, &cfg);
    let (funcs, resume) = match (cfg.engine, &loaded.code) {
        (EngineKind::Aot, Some(t)) => (t.funcs.clone(), t.resume.clone()),
        _ => (HashMap::new(), HashMap::new()),
    };
    let check = match (cfg.engine, &loaded.code) {
        (EngineKind::Check, Some(t)) => Some(Checker {
            funcs: t.funcs.clone(),
            names: loaded
                .image
                .functions
                .iter()
                .map(|f| (f.addr, f.name.clone()))
                .collect(),
            checked: Mutex::new(HashMap::new()),
            calls_per_function: std::env::var("VMX_CHECK_CALLS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2),
            total: AtomicU64::new(0),
            inject: std::env::var("VMX_CHECK_INJECT")
                .ok()
                .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()),
        }),
        (EngineKind::Check, None) => {
            return Err(RunError::Load(
                "--engine=check needs a translation (.aot)".into(),
            ))
        }
        _ => None,
    };
    // The translated engine owns the linked code from here on; the checking engine's
    // copies of the function pointers need it to stay mapped in `loaded`.
    let mut loaded = loaded;
    let rewrites = match cfg.engine {
        EngineKind::Aot => loaded.code.take().map(|t| watch_translated_code(&mem, t)),
        _ => None,
    };
    let sigreturn_trampoline = crate::signal::map_trampoline(&mem).map_err(RunError::Memory)?;
    crate::sys::set_fault_hook(guest_fault);
    let base = mem.base() as usize;
    let debug = match listener {
        Some(l) => Some(Debugger::start(l, mem.clone()).map_err(|e| RunError::Gdb(e.to_string()))?),
        None => None,
    };
    let state = Engine {
        mem,
        kernel,
        funcs,
        rewrites,
        resume,
        stats: Stats::default(),
        stats_format: cfg.stats,
        start: Instant::now(),
        times: PhaseTimes::default(),
        peak_memory: AtomicU64::new(0),
        cache: cfg.cache,
        kind: cfg.engine,
        misses: Mutex::new(HashMap::new()),
        profile_out: cfg.profile_out.clone(),
        interp_insns: AtomicU64::new(0),
        check,
        sigreturn_trampoline,
        debug,
    };
    state.note_memory();
    if ENGINE.set(state).is_err() {
        return Err(RunError::Memory(
            "a guest is already running in this process".into(),
        ));
    }
    let entry = li.entry;
    // Deep guest recursion becomes deep host recursion in translated code: give the
    // guest thread a large (lazily committed) host stack.
    let guest = std::thread::Builder::new()
        .name("guest".into())
        .stack_size(4 << 30)
        .spawn(move || {
            crate::thread::guard(move || {
                install_fault_handler(base as *mut u8);
                // The host main thread blocked them before any other thread started.
                crate::sys::sync_host_mask(engine().kernel.signal_mask());
                let mut st = RvState {
                    pc: entry,
                    ..RvState::default()
                };
                st.x[2] = sp;
                set_poll_flag(std::ptr::addr_of_mut!(st.signal_poll));
                CURRENT.with(|c| c.set(std::ptr::addr_of_mut!(st)));
                if let Some(d) = &engine().debug {
                    d.initial_stop(&mut st);
                }
                engine().run_until(&mut st, Stop::Never);
                unreachable!("the run loop only ends by exiting");
            })
        })
        .map_err(|e| RunError::Memory(format!("cannot start the guest thread: {e}")))?;
    // Signals for the guest must interrupt the guest threads, not this one.
    block_forwardable_signals();
    let _detached = guest;
    crate::thread::wait_for_exit()
}
