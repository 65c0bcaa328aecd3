//! `vmx run`'s trip through the translation cache, and the `vmx cache …` commands. The
//! cache itself (entries, locking, stats, eviction, remote tier) is `vmx-aot-cache`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use vmx_aot_cache::cache::{self, Cache, Expected, Source};
use vmx_aot_cache::limits::{format_size, parse_age, parse_size};
use vmx_aot_cache::remote::Remote;
use vmx_translator::translate;

use crate::{load_profile, parse_profile, translate_opts, ExecArgs, TranslateOpts};

/// Where the cache is and how it behaves; every option has an environment variable.
#[derive(Args, Clone, Debug)]
pub(crate) struct CacheOpts {
    /// Cache directory [default: $XDG_CACHE_HOME/vmx, else ~/.cache/vmx].
    #[arg(long = "cache-dir", env = "VMX_CACHE_DIR", value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Size limit of the cache: least-recently-used entries are evicted beyond it
    /// (K, M, G, T suffixes, powers of 1024).
    #[arg(long = "cache-maxsize", env = "VMX_CACHE_MAXSIZE", value_name = "SIZE",
          default_value = "5G", value_parser = size_arg)]
    max_size: u64,
    /// A shared remote tier, read through on misses and written back after translations:
    /// redis://host:port[/db][/prefix], rediss://…, or http(s)://host/path (WebDAV).
    #[arg(long = "cache-remote", env = "VMX_CACHE_REMOTE", value_name = "URL")]
    remote: Option<String>,
    /// Only read from the remote tier, never write to it (for untrusted jobs).
    #[arg(long = "cache-remote-read-only", env = "VMX_CACHE_REMOTE_READONLY",
          value_parser = clap::builder::BoolishValueParser::new())]
    remote_read_only: bool,
}

fn size_arg(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}

fn age_arg(s: &str) -> Result<Duration, String> {
    parse_age(s).map_err(|e| e.to_string())
}

impl CacheOpts {
    /// Opens the cache these options describe.
    pub(crate) fn open(&self) -> Result<Cache> {
        let dir = match self.dir.as_ref().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.clone(),
            None => cache::default_dir_from_env()?,
        };
        let mut cache = Cache::open(dir)?.with_max_size(self.max_size);
        if let Some(url) = self.remote.as_deref().filter(|u| !u.is_empty()) {
            cache = cache.with_remote(Remote::open(url, self.remote_read_only)?);
        }
        Ok(cache)
    }
}

/// `vmx run`: the cache options, then everything `vmx exec` takes.
#[derive(Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) cache: CacheOpts,
    #[command(flatten)]
    pub(crate) exec: ExecArgs,
}

/// The cache key of translating `elf` with `opts`: the guest bytes, the vmx, translator
/// and LLVM versions, the options (with the host CPU and features they resolve to).
///
/// Takes the guest's BLAKE3 hash rather than its bytes, so that the two keys `vmx run`
/// computes (with and without the miss profile) hash a large guest once.
pub(crate) fn key(guest_hash: &blake3::Hash, opts: &vmx_translator::Options) -> String {
    let (cpu, _) = vmx_translator::host_cpu(&opts.cpu);
    let versions = format!(
        "vmx {}; translator {}; llvm {}",
        env!("CARGO_PKG_VERSION"),
        vmx_translator::VERSION,
        vmx_translator::llvm_version()
    );
    cache::key(guest_hash.as_bytes(), &versions, &opts.canonical(), &cpu)
}

/// What `vmx run` looks up for a guest: the key, what the entry's header must say, the
/// options to translate with on a miss, and the miss profile the run appends to.
struct Plan {
    key: String,
    expected: Expected,
    opts: vmx_translator::Options,
    profile_path: PathBuf,
}

/// Each guest has a miss profile in the cache (`<key>.profile`, keyed without the
/// profile): the run appends the pcs it had to interpret, and the next `vmx run`
/// translates with them (a new key), so code is interpreted at most once.
fn plan(cache: &Cache, guest_hash: &blake3::Hash, o: &TranslateOpts) -> Result<Plan> {
    let base_key = key(guest_hash, &translate_opts(o, Vec::new()));
    let profile_path = cache.profile_path(&base_key);
    let mut profile = load_profile(&o.profile)?;
    if let Ok(text) = std::fs::read_to_string(&profile_path) {
        // A damaged profile only costs speed: ignore it.
        profile.extend(parse_profile(&text).unwrap_or_default());
    }
    if let Some(dir) = profile_path.parent() {
        // The run appends to the profile: its directory must exist.
        std::fs::create_dir_all(dir).with_context(|| format!("cache {}", dir.display()))?;
    }
    let opts = translate_opts(o, profile);
    let key = key(guest_hash, &opts);
    // What the translator records in the header (see vmx_translator::translate).
    let expected = Expected {
        guest_hash: Some(*guest_hash.as_bytes()),
        options_hash: Some(*blake3::hash(opts.canonical().as_bytes()).as_bytes()),
    };
    Ok(Plan {
        key,
        expected,
        opts,
        profile_path,
    })
}

/// The translation of `elf` through the cache (see [`Cache::get_or_translate`]). Returns
/// the `.aot` bytes, where they came from and the profile path the run should append to.
pub(crate) fn cached_translation(
    cache: &Cache,
    elf: &[u8],
    o: &TranslateOpts,
) -> Result<(Vec<u8>, Source, PathBuf)> {
    let guest_hash = blake3::hash(elf);
    remember_guest_hash(cache, &guest_hash);
    let plan = plan(cache, &guest_hash, o)?;
    let (key, opts) = (&plan.key, &plan.opts);
    let (bytes, source) =
        cache.get_or_translate_expecting(key, &plan.expected, || -> Result<Vec<u8>> {
            tracing::info!(
                key,
                profile_pcs = opts.profile.len(),
                "cache miss: translating"
            );
            Ok(translate(elf, opts)?.0.to_bytes())
        })?;
    tracing::debug!(key, ?source, "cache");
    Ok((bytes, source, plan.profile_path))
}

// ---- Knowing a guest's hash without reading it (ccache's "direct mode") ----
//
// Reading and hashing a guest on every `vmx run` is most of what a cache hit costs (a
// static glibc program is several MB). `<cache>/guests/<hash of the canonical path>`
// remembers the guest's BLAKE3 with the file's identity and change times (device, inode,
// size, mtime, ctime, to the nanosecond). When they all still match, the hash is known
// without opening the file. Racy-git protection: the memo is only written for a file
// whose ctime is at least RACY_MARGIN older than the moment vmx first looked at it, and
// only if its stamp did not change while vmx read and hashed it; a change to a file
// always moves its ctime to the present (users cannot set ctime).

/// How old a guest's last change must be before its hash is remembered.
const RACY_MARGIN: Duration = Duration::from_secs(2);

/// A file's identity and change times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::metadata(path).ok()?;
        m.is_file().then(|| Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }

    fn render(&self, hash: &blake3::Hash) -> String {
        format!(
            "{} {} {} {} {} {} {} {}\n",
            self.dev,
            self.ino,
            self.size,
            self.mtime.0,
            self.mtime.1,
            self.ctime.0,
            self.ctime.1,
            hash.to_hex()
        )
    }

    fn parse(text: &str) -> Option<(Stamp, blake3::Hash)> {
        let w: Vec<&str> = text.split_whitespace().collect();
        let [dev, ino, size, ms, mns, cs, cns, hash] = w[..] else {
            return None;
        };
        let stamp = Stamp {
            dev: dev.parse().ok()?,
            ino: ino.parse().ok()?,
            size: size.parse().ok()?,
            mtime: (ms.parse().ok()?, mns.parse().ok()?),
            ctime: (cs.parse().ok()?, cns.parse().ok()?),
        };
        Some((stamp, blake3::Hash::from_hex(hash).ok()?))
    }

    /// Whether the last change is at least RACY_MARGIN older than `t`.
    fn settled_before(&self, t: std::time::SystemTime) -> bool {
        let Ok(t) = t.duration_since(std::time::UNIX_EPOCH) else {
            return false;
        };
        let (secs, nanos) = self.ctime;
        let Ok(secs) = u64::try_from(secs) else {
            return false;
        };
        let ctime = Duration::new(secs, u32::try_from(nanos).unwrap_or(0));
        ctime + RACY_MARGIN < t
    }
}

/// The guest's stamp and the time, taken by [`known_translation`] before `vmx run` reads
/// the guest; [`remember_guest_hash`] uses it once the bytes are hashed.
static BEFORE_READ: Mutex<Option<(PathBuf, Stamp, std::time::SystemTime)>> = Mutex::new(None);

fn memo_path(cache: &Cache, program: &Path) -> Option<PathBuf> {
    let canonical = std::fs::canonicalize(program).ok()?;
    let name = blake3::hash(canonical.as_os_str().as_encoded_bytes()).to_hex();
    Some(cache.dir().join("guests").join(name.as_str()))
}

/// `vmx run`'s fast path, called before the guest is read: the cached translation of
/// `program` if its hash is remembered (see above) and the entry is in the local cache.
/// `None` means: read the guest and go through [`cached_translation`].
pub(crate) fn known_translation(
    opts: &CacheOpts,
    program: &Path,
    o: &TranslateOpts,
) -> Result<Option<(Vec<u8>, PathBuf)>> {
    let Some(stamp) = Stamp::of(program) else {
        return Ok(None);
    };
    let now = std::time::SystemTime::now();
    *BEFORE_READ.lock().unwrap_or_else(|e| e.into_inner()) =
        Some((program.to_path_buf(), stamp, now));
    let cache = opts.open()?;
    let Some(memo) = memo_path(&cache, program) else {
        return Ok(None);
    };
    let Some((known, hash)) = std::fs::read_to_string(&memo)
        .ok()
        .and_then(|t| Stamp::parse(&t))
    else {
        return Ok(None);
    };
    if known != stamp || !stamp.settled_before(now) {
        return Ok(None);
    }
    let plan = plan(&cache, &hash, o)?;
    let found = cache.get_if_present(&plan.key, &plan.expected);
    if found.is_some() {
        tracing::debug!(
            key = plan.key,
            "cache hit (guest unchanged since its hash was remembered: not read)"
        );
    } else {
        tracing::debug!(key = plan.key, "guest unchanged, but no cache entry for it");
    }
    Ok(found.map(|bytes| (bytes, plan.profile_path)))
}

/// Remembers the hash of the guest [`known_translation`] looked at, if it did not change
/// while `vmx run` read it and had settled before. Best effort.
fn remember_guest_hash(cache: &Cache, hash: &blake3::Hash) {
    let Some((program, before, t0)) = BEFORE_READ.lock().unwrap_or_else(|e| e.into_inner()).take()
    else {
        return;
    };
    if Stamp::of(&program) != Some(before) || !before.settled_before(t0) {
        return;
    }
    let Some(memo) = memo_path(cache, &program) else {
        return;
    };
    if let Some(dir) = memo.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = vmx_aot_cache::format::write_atomically(&memo, before.render(hash).as_bytes()) {
        tracing::debug!(error = %e, "cannot remember the guest's hash");
    }
}

#[derive(Args)]
pub(crate) struct CacheArgs {
    #[command(flatten)]
    opts: CacheOpts,
    #[command(subcommand)]
    cmd: CacheCmd,
}

#[derive(Subcommand)]
enum CacheCmd {
    /// Hits, misses, entries, size and hit rate since the last zero-stats.
    Stats {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Reset the counters to zero.
    ZeroStats,
    /// Evict least-recently-used entries until the cache is under its size limit.
    Clean,
    /// Remove every entry (the counters stay).
    Clear,
    /// Remove entries not used for a while.
    Evict {
        /// Age, e.g. 7d, 12h, 30m.
        #[arg(long, value_name = "AGE", value_parser = age_arg)]
        older_than: Duration,
    },
    /// Translate every guest ELF found under PATHS into the cache, in parallel (the CI
    /// prewarming step).
    Warm {
        /// Guest executables, or directories searched recursively.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Guests translated at once [default: number of CPUs].
        #[arg(short, long, env = "VMX_JOBS")]
        jobs: Option<usize>,
        #[command(flatten)]
        translate: TranslateOpts,
    },
}

pub(crate) fn cmd_cache(a: CacheArgs) -> Result<()> {
    let cache = a.opts.open()?;
    match a.cmd {
        CacheCmd::Stats { json } => stats(&cache, json),
        CacheCmd::ZeroStats => {
            cache.zero_stats()?;
            eprintln!("vmx cache: statistics zeroed");
            Ok(())
        }
        CacheCmd::Clean => {
            let ev = cache.clean()?;
            let usage = cache.usage()?;
            eprintln!(
                "vmx cache clean: evicted {} files ({}); {} of {} used",
                ev.files,
                format_size(ev.bytes),
                format_size(usage.bytes),
                format_size(cache.max_size())
            );
            Ok(())
        }
        CacheCmd::Clear => {
            let ev = cache.clear()?;
            eprintln!(
                "vmx cache clear: removed {} files ({})",
                ev.files,
                format_size(ev.bytes)
            );
            Ok(())
        }
        CacheCmd::Evict { older_than } => {
            let ev = cache.evict_older_than(older_than)?;
            eprintln!(
                "vmx cache evict: removed {} files ({}) unused for more than {}",
                ev.files,
                format_size(ev.bytes),
                humantime(older_than)
            );
            Ok(())
        }
        CacheCmd::Warm {
            paths,
            jobs,
            translate,
        } => warm(&cache, &paths, jobs, &translate),
    }
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 86400 && s.is_multiple_of(86400) => format!("{}d", s / 86400),
        s if s >= 3600 && s.is_multiple_of(3600) => format!("{}h", s / 3600),
        s if s >= 60 && s.is_multiple_of(60) => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn stats(cache: &Cache, json: bool) -> Result<()> {
    let c = cache.stats()?;
    let u = cache.usage()?;
    let dir = cache.dir().display().to_string();
    let remote = cache.remote().map(|r| (r.url().to_string(), r.read_only()));
    if json {
        let mut fields = vec![
            ("dir".to_string(), json_str(&dir)),
            ("entries".into(), u.entries.to_string()),
            ("profiles".into(), u.profiles.to_string()),
            ("bytes".into(), u.bytes.to_string()),
            ("max_size".into(), cache.max_size().to_string()),
        ];
        fields.extend(
            c.fields()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string())),
        );
        fields.push((
            "hit_rate".into(),
            c.hit_rate().map_or("null".into(), |r| format!("{r:.4}")),
        ));
        fields.push((
            "remote".into(),
            remote.as_ref().map_or("null".into(), |(u, _)| json_str(u)),
        ));
        fields.push((
            "remote_read_only".into(),
            remote.as_ref().is_some_and(|r| r.1).to_string(),
        ));
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}: {v}", json_str(k)))
            .collect();
        println!("{{{}}}", body.join(", "));
        return Ok(());
    }
    let rate = c
        .hit_rate()
        .map_or("-".into(), |r| format!("{:.1} %", r * 100.0));
    println!("cache directory   {dir}");
    println!(
        "entries           {} (+{} miss profiles)",
        u.entries, u.profiles
    );
    println!(
        "size              {} of {}",
        format_size(u.bytes),
        format_size(cache.max_size())
    );
    println!(
        "hits              {} (local {}, remote {})",
        c.hits + c.remote_hits,
        c.hits,
        c.remote_hits
    );
    println!("misses            {} (translations)", c.misses);
    println!("hit rate          {rate}");
    println!("bad entries       {} (replaced)", c.corrupt);
    println!("evictions         {}", c.evictions);
    match remote {
        Some((url, ro)) => {
            println!(
                "remote            {url}{}",
                if ro { " (read-only)" } else { "" }
            );
            println!("remote writes     {}", c.remote_writes);
            println!("remote errors     {}", c.remote_errors);
        }
        None => println!("remote            none (set VMX_CACHE_REMOTE)"),
    }
    Ok(())
}

/// ELF machine numbers of the guest ISAs vmx handles.
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;

/// Whether `path` is a 64-bit little-endian riscv64 or aarch64 ELF (reads 20 bytes).
pub(crate) fn is_guest_elf(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 20];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if f.read_exact(&mut head).is_err() {
        return false;
    }
    let machine = u16::from_le_bytes([head[18], head[19]]);
    head.starts_with(b"\x7fELF\x02\x01") && matches!(machine, EM_RISCV | EM_AARCH64)
}

/// Guest ELFs under `paths` (files as given; directories walked recursively, in sorted
/// order, not following symlinked directories).
fn find_guests(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).with_context(|| format!("{}", p.display()))?;
        if meta.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&p)
                .with_context(|| format!("{}", p.display()))?
                .flatten()
                .filter(|e| {
                    e.file_type()
                        .is_ok_and(|t| t.is_file() || t.is_dir() || t.is_symlink())
                })
                .filter(|e| !(e.file_type().is_ok_and(|t| t.is_symlink()) && e.path().is_dir()))
                .map(|e| e.path())
                .collect();
            children.sort();
            stack.extend(children.into_iter().rev());
        } else if meta.is_file() && is_guest_elf(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

#[derive(Default)]
struct WarmTally {
    translated: usize,
    cached: usize,
    remote: usize,
    failed: Vec<String>,
}

fn warm(cache: &Cache, paths: &[PathBuf], jobs: Option<usize>, o: &TranslateOpts) -> Result<()> {
    let start = Instant::now();
    let guests = find_guests(paths)?;
    if guests.is_empty() {
        bail!("no riscv64 or aarch64 ELF executables found");
    }
    let jobs = jobs
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .clamp(1, guests.len());
    let n = guests.len();
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        ProgressBar::new(n as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{wide_bar}] {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let tally = Mutex::new(WarmTally::default());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(guest) = guests.get(i) else { break };
                bar.set_message(guest.display().to_string());
                let t = Instant::now();
                let result = std::fs::read(guest)
                    .with_context(|| format!("{}", guest.display()))
                    .and_then(|elf| cached_translation(cache, &elf, o));
                let k = done.fetch_add(1, Ordering::SeqCst) + 1;
                let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
                let what = match result {
                    Ok((_, Source::Translated, _)) => {
                        tally.translated += 1;
                        "translated"
                    }
                    Ok((_, Source::Remote, _)) => {
                        tally.remote += 1;
                        "fetched from the remote cache"
                    }
                    Ok((_, Source::Local | Source::AfterWait, _)) => {
                        tally.cached += 1;
                        "already cached"
                    }
                    Err(e) => {
                        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                        tally
                            .failed
                            .push(format!("{}: {}", guest.display(), msg.join(": ")));
                        "FAILED"
                    }
                };
                drop(tally);
                let line = format!(
                    "vmx cache warm: [{k}/{n}] {what} {} ({:.1} s)",
                    guest.display(),
                    t.elapsed().as_secs_f64()
                );
                if tty {
                    bar.println(line);
                } else {
                    eprintln!("{line}");
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    let usage = cache.usage()?;
    eprintln!(
        "vmx cache warm: {n} guests in {:.1} s with {jobs} jobs: {} translated, {} already cached, {} from the remote cache, {} failed; cache now {} entries, {}",
        start.elapsed().as_secs_f64(),
        tally.translated,
        tally.cached,
        tally.remote,
        tally.failed.len(),
        usage.entries,
        format_size(usage.bytes)
    );
    for f in &tally.failed {
        eprintln!("vmx cache warm: failed: {f}");
    }
    if !tally.failed.is_empty() {
        bail!(
            "{} of {n} guests could not be translated",
            tally.failed.len()
        );
    }
    Ok(())
}

/// Writes a Make/Ninja depfile: `target: prerequisites…`, with spaces, `#` and `$`
/// escaped the way both read them.
pub(crate) fn write_depfile(depfile: &Path, target: &Path, inputs: &[&Path]) -> Result<()> {
    fn esc(p: &Path) -> String {
        let mut out = String::new();
        for c in p.to_string_lossy().chars() {
            match c {
                ' ' | '#' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                '$' => out.push_str("$$"),
                c => out.push(c),
            }
        }
        out
    }
    let mut text = format!("{}:", esc(target));
    for i in inputs {
        text.push(' ');
        text.push_str(&esc(i));
    }
    text.push('\n');
    vmx_aot_cache::format::write_atomically(depfile, text.as_bytes())
        .with_context(|| format!("{}: cannot write the depfile", depfile.display()))
}
