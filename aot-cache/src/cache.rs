//! A content-addressed on-disk cache of `.aot` files.
//!
//! Entries live in `dir/ab/abcdef….aot` (two-character fan-out, like git's object store),
//! keyed by [`key`]: a BLAKE3 hash over the guest bytes, vmx and LLVM versions, translation
//! options and host CPU. Entries are written atomically (temporary file in the same
//! directory, fsync, rename), so a reader sees a complete file or none, and a crash
//! mid-write leaves at most a stale temporary file that `clean` removes. Every entry is
//! verified (header and payload hash) before it is handed out; a corrupt, truncated or
//! incompatible entry is a miss: it is reported once, removed and re-translated.
//!
//! [`Cache::get_or_translate`] is the whole protocol: local lookup; on a miss the per-key
//! lock (so two processes that want the same missing entry translate it once: the second
//! waits, then finds the entry); the remote tier ([`crate::remote`]) if there is one;
//! then translation, store, write-back and eviction. Counters ([`crate::stats`]) record
//! what happened.
//!
//! The modification time of an entry is its last use: a hit touches it, and eviction
//! ([`Cache::evict_to`]) removes least-recently-used entries first until the cache is
//! under its size limit.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::format::{verify, write_atomically, AotError};
use crate::limits::DEFAULT_MAX_SIZE;
use crate::remote::Remote;
use crate::stats::{self, Counters};

/// Temporary files older than this are left over from a crash and removed by cleaning.
const STALE_TMP_AGE: Duration = Duration::from_secs(3600);

/// Errors from cache operations. Lookups never fail: problems there are misses.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// No cache directory could be determined from the environment.
    #[error("cannot find a cache directory: set VMX_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    /// A file system operation on the cache failed.
    #[error("cache {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The bytes given to [`Cache::store`] are not a valid `.aot` file.
    #[error("refusing to cache an invalid .aot file: {0}")]
    InvalidEntry(#[from] AotError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Computes the cache key of a translation: lowercase BLAKE3 hex (64 characters) over the
/// `.aot` format version and all inputs, each length-prefixed so that no two different
/// input tuples hash the same bytes.
pub fn key(guest_bytes: &[u8], translator_version: &str, options: &str, host_cpu: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"vmx-aot-cache-key-v1");
    // Builds that write different container formats never share entries.
    hasher.update(&crate::format::FORMAT_VERSION.to_le_bytes());
    for part in [
        guest_bytes,
        translator_version.as_bytes(),
        options.as_bytes(),
        host_cpu.as_bytes(),
    ] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().to_hex().to_string()
}

/// Picks the cache directory: `$VMX_CACHE_DIR`, else `$XDG_CACHE_HOME/vmx`, else
/// `$HOME/.cache/vmx`. Empty values count as unset; per the XDG spec a relative
/// `XDG_CACHE_HOME` is ignored.
fn default_dir(
    vmx_cache_dir: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(vmx_cache_dir) {
        return Some(dir);
    }
    if let Some(xdg) = set(xdg_cache_home).filter(|p| p.is_absolute()) {
        return Some(xdg.join("vmx"));
    }
    set(home).map(|h| h.join(".cache").join("vmx"))
}

/// Keys are file names. Anything that is not a plain lowercase-hex string (as produced by
/// [`key`]) is hashed first, so no key can escape the cache directory.
fn normalize_key(key: &str) -> String {
    let ok = key.len() >= 3
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        key.to_string()
    } else {
        blake3::hash(key.as_bytes()).to_hex().to_string()
    }
}

/// Where an entry handed out by [`Cache::get_or_translate`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The local cache.
    Local,
    /// The local cache, after waiting for another process that was translating it.
    AfterWait,
    /// The remote tier (now copied into the local cache).
    Remote,
    /// Nobody had it: translated now.
    Translated,
}

/// What an entry's header must say to be used for a given lookup, beyond being intact:
/// guards against an entry stored under the wrong key (a mixed-up remote store, a bug),
/// which would otherwise run another guest's code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected {
    /// BLAKE3 of the guest ELF ([`crate::format::AotHeader::guest_hash`]).
    pub guest_hash: Option<[u8; 32]>,
    /// BLAKE3 of the canonical options ([`crate::format::AotHeader::options_hash`]).
    pub options_hash: Option<[u8; 32]>,
}

impl Expected {
    /// Verifies `bytes` (header and payload hash) and checks the header against `self`.
    fn check(&self, bytes: &[u8]) -> Result<(), String> {
        let header = verify(bytes).map_err(|e| e.to_string())?;
        if self.guest_hash.is_some_and(|h| h != header.guest_hash) {
            return Err("the entry is for another guest".into());
        }
        if self.options_hash.is_some_and(|h| h != header.options_hash) {
            return Err("the entry was made with other options".into());
        }
        Ok(())
    }
}

/// What a local lookup found.
enum Found {
    Entry(Vec<u8>),
    Missing,
    Bad(String),
}

/// What kind of file a cache directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A translation (`<key>.aot`).
    Entry,
    /// A miss profile (`<key>.profile`), fed to the next translation by `vmx run`.
    Profile,
    /// A temporary file of a write in progress, or left over from a crash.
    Temporary,
}

/// One file in the cache (lock files and the stats file are not listed).
#[derive(Debug, Clone)]
pub struct CacheFile {
    /// Where it is.
    pub path: PathBuf,
    /// What it is.
    pub kind: FileKind,
    /// Its size in bytes.
    pub size: u64,
    /// Its last use (modification time).
    pub used: SystemTime,
}

/// Entry counts and sizes of a cache directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Number of translations.
    pub entries: u64,
    /// Number of miss profiles.
    pub profiles: u64,
    /// Bytes taken by translations, profiles and temporary files.
    pub bytes: u64,
}

/// What an eviction removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    /// Files removed (translations and profiles; stale temporary files are not counted).
    pub files: u64,
    /// Bytes freed.
    pub bytes: u64,
}

/// The on-disk translation cache, optionally backed by a remote tier.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    max_size: u64,
    remote: Option<Arc<Remote>>,
}

/// The directory the cache uses when none is given: see [`Cache::open_default`].
pub fn default_dir_from_env() -> Result<PathBuf, CacheError> {
    default_dir(
        std::env::var_os("VMX_CACHE_DIR"),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
    .ok_or(CacheError::NoCacheDir)
}

impl Cache {
    /// Opens the cache in the default directory (`$VMX_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/vmx`, else `~/.cache/vmx`), creating it if needed.
    pub fn open_default() -> Result<Cache, CacheError> {
        Cache::open(default_dir_from_env()?)
    }

    /// Opens (creating if needed) a cache rooted at `dir`, with the default size limit and
    /// no remote tier. Fails if the directory cannot be created or is not a directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Cache, CacheError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let meta = fs::metadata(&dir).map_err(io_err(&dir))?;
        if !meta.is_dir() {
            return Err(io_err(&dir)(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        Ok(Cache {
            dir,
            max_size: DEFAULT_MAX_SIZE,
            remote: None,
        })
    }

    /// Sets the size limit that [`Cache::get_or_translate`] and [`Cache::clean`] keep the
    /// cache under.
    pub fn with_max_size(mut self, bytes: u64) -> Cache {
        self.max_size = bytes;
        self
    }

    /// Adds a remote tier: read through on local misses, written back after translations
    /// (unless it is read-only).
    pub fn with_remote(mut self, remote: Remote) -> Cache {
        self.remote = Some(Arc::new(remote));
        self
    }

    /// The size limit.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// The remote tier, if any.
    pub fn remote(&self) -> Option<&Remote> {
        self.remote.as_deref()
    }

    /// The cache's root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `key` lives (whether or not it exists).
    pub fn path_for(&self, key: &str) -> PathBuf {
        self.file_for(key, "aot")
    }

    /// Where the miss profile for `key` lives (whether or not it exists).
    pub fn profile_path(&self, key: &str) -> PathBuf {
        self.file_for(key, "profile")
    }

    fn lock_path_for(&self, key: &str) -> PathBuf {
        self.file_for(key, "lock")
    }

    fn file_for(&self, key: &str, ext: &str) -> PathBuf {
        let key = normalize_key(key);
        self.dir.join(&key[..2]).join(format!("{key}.{ext}"))
    }

    fn stats_path(&self) -> PathBuf {
        self.dir.join("stats")
    }

    /// Reads and verifies the entry at `path`.
    fn find(&self, path: &Path, expected: &Expected) -> Found {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Found::Missing,
            Err(e) => return Found::Bad(format!("cannot read it: {e}")),
        };
        match expected.check(&bytes) {
            Ok(()) => Found::Entry(bytes),
            Err(why) => Found::Bad(why),
        }
    }

    /// Marks an entry as just used (its modification time is the LRU clock).
    fn touch(path: &Path) {
        if let Ok(f) = File::open(path) {
            let _ = f.set_modified(SystemTime::now());
        }
    }

    /// The local entry for `key` if it is there, intact and as `expected`, counted as a
    /// hit. Anything else returns `None` and changes nothing (no miss is counted: the
    /// caller goes on to [`Cache::get_or_translate_expecting`], which does that).
    pub fn get_if_present(&self, key: &str, expected: &Expected) -> Option<Vec<u8>> {
        let path = self.path_for(key);
        let Found::Entry(bytes) = self.find(&path, expected) else {
            return None;
        };
        Self::touch(&path);
        self.count(&Counters {
            hits: 1,
            ..Counters::default()
        });
        Some(bytes)
    }

    /// Returns the entry for `key` if it exists and verifies (header and payload hash). A
    /// bad entry is a miss: it is reported and removed. Does not count in the statistics;
    /// [`Cache::get_or_translate`] does.
    pub fn lookup(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.path_for(key);
        match self.find(&path, &Expected::default()) {
            Found::Entry(bytes) => {
                Self::touch(&path);
                Some(bytes)
            }
            Found::Missing => None,
            Found::Bad(why) => {
                self.remove_bad(&path, &why);
                None
            }
        }
    }

    fn remove_bad(&self, path: &Path, why: &str) {
        tracing::warn!(path = %path.display(), "bad cache entry ({why}); removed, translating again");
        if let Err(e) = fs::remove_file(path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove bad cache entry");
            }
        }
    }

    /// Stores `bytes` (which must be a valid `.aot` file) as the entry for `key`,
    /// atomically replacing any existing entry. Returns the entry's path. Neither evicts
    /// nor writes back; [`Cache::get_or_translate`] does.
    pub fn store(&self, key: &str, bytes: &[u8]) -> Result<PathBuf, CacheError> {
        verify(bytes)?;
        let path = self.path_for(key);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        write_atomically(&path, bytes).map_err(io_err(&path))?;
        Ok(path)
    }

    /// The entry for `key`: from the local cache, else (under the per-key lock, so
    /// concurrent callers translate once) from the remote tier, else from `translate`,
    /// which is then stored, written back to the remote tier and followed by eviction
    /// down to the size limit. Counts what happened in the statistics.
    ///
    /// Remote failures are reported and otherwise ignored; local storage failures are
    /// errors.
    pub fn get_or_translate<E: From<CacheError>>(
        &self,
        key: &str,
        translate: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<(Vec<u8>, Source), E> {
        self.get_or_translate_expecting(key, &Expected::default(), translate)
    }

    /// [`Cache::get_or_translate`], where entries whose header does not match `expected`
    /// count as bad.
    pub fn get_or_translate_expecting<E: From<CacheError>>(
        &self,
        key: &str,
        expected: &Expected,
        translate: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<(Vec<u8>, Source), E> {
        let path = self.path_for(key);
        let mut delta = Counters::default();
        if let Found::Entry(bytes) = self.find(&path, expected) {
            tracing::debug!(key, "cache hit");
            Self::touch(&path);
            delta.hits += 1;
            self.count(&delta);
            return Ok((bytes, Source::Local));
        }
        tracing::debug!(key, "not in the local cache; taking the entry's lock");
        let _lock = self.lock(key)?;
        let result = self.get_locked(key, &path, expected, translate, &mut delta);
        self.count(&delta);
        result
    }

    fn get_locked<E: From<CacheError>>(
        &self,
        key: &str,
        path: &Path,
        expected: &Expected,
        translate: impl FnOnce() -> Result<Vec<u8>, E>,
        delta: &mut Counters,
    ) -> Result<(Vec<u8>, Source), E> {
        match self.find(path, expected) {
            Found::Entry(bytes) => {
                tracing::debug!(key, "cache hit after waiting for another translator");
                Self::touch(path);
                delta.hits += 1;
                return Ok((bytes, Source::AfterWait));
            }
            Found::Missing => {}
            Found::Bad(why) => {
                self.remove_bad(path, &why);
                delta.corrupt += 1;
            }
        }
        if let Some(remote) = &self.remote {
            match remote.get(key) {
                Ok(Some(bytes)) => match expected.check(&bytes) {
                    Ok(()) => {
                        tracing::debug!(key, remote = remote.url(), "remote cache hit");
                        self.store(key, &bytes)?;
                        delta.remote_hits += 1;
                        self.evict_after_store(delta);
                        return Ok((bytes, Source::Remote));
                    }
                    Err(e) => {
                        tracing::warn!(
                            remote = remote.url(),
                            key,
                            "bad remote cache entry ({e}); ignored"
                        );
                        delta.remote_errors += 1;
                    }
                },
                Ok(None) => tracing::debug!(key, remote = remote.url(), "remote cache miss"),
                Err(e) => {
                    tracing::warn!("{e}; carrying on without it");
                    delta.remote_errors += 1;
                }
            }
        }
        let bytes = translate()?;
        self.store(key, &bytes)?;
        delta.misses += 1;
        // A remote that failed to answer the read is not asked to take the write (one
        // report per run is enough).
        let remote_up = delta.remote_errors == 0;
        if let Some(remote) = self.remote.as_ref().filter(|r| !r.read_only() && remote_up) {
            match remote.put(key, &bytes) {
                Ok(()) => {
                    tracing::debug!(
                        key,
                        remote = remote.url(),
                        "written back to the remote cache"
                    );
                    delta.remote_writes += 1
                }
                Err(e) => {
                    tracing::warn!("{e}; entry kept locally only");
                    delta.remote_errors += 1;
                }
            }
        }
        self.evict_after_store(delta);
        Ok((bytes, Source::Translated))
    }

    fn evict_after_store(&self, delta: &mut Counters) {
        match self.evict_to(self.max_size) {
            Ok(ev) => delta.evictions += ev.files,
            Err(e) => tracing::warn!("cache eviction: {e}"),
        }
    }

    /// Adds `delta` to the statistics. Failures only cost counts: logged, not returned.
    fn count(&self, delta: &Counters) {
        if *delta == Counters::default() {
            return;
        }
        if let Err(e) = self.update_stats(|c| c.add(delta)) {
            tracing::debug!(error = %e, "cannot update cache statistics");
        }
    }

    fn update_stats(&self, f: impl FnOnce(&mut Counters)) -> Result<Counters, CacheError> {
        let _lock = self.named_lock("stats.lock", true)?;
        let path = self.stats_path();
        let mut c = stats::read(&path).map_err(io_err(&path))?;
        f(&mut c);
        stats::write(&path, &c).map_err(io_err(&path))?;
        Ok(c)
    }

    /// The counters since the last [`Cache::zero_stats`].
    pub fn stats(&self) -> Result<Counters, CacheError> {
        let _lock = self.named_lock("stats.lock", true)?;
        let path = self.stats_path();
        stats::read(&path).map_err(io_err(&path))
    }

    /// Resets all counters to zero.
    pub fn zero_stats(&self) -> Result<(), CacheError> {
        self.update_stats(|c| *c = Counters::default()).map(|_| ())
    }

    /// Every translation, profile and temporary file in the cache.
    pub fn files(&self) -> Result<Vec<CacheFile>, CacheError> {
        let mut out = Vec::new();
        let top = fs::read_dir(&self.dir).map_err(io_err(&self.dir))?;
        for sub in top.flatten() {
            let name = sub.file_name();
            let name = name.to_string_lossy();
            if name.len() != 2 || !sub.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let sub = sub.path();
            let Ok(files) = fs::read_dir(&sub) else {
                continue;
            };
            for f in files.flatten() {
                let file_name = f.file_name();
                let file_name = file_name.to_string_lossy();
                let kind = if file_name.starts_with('.') && file_name.ends_with(".tmp") {
                    FileKind::Temporary
                } else if file_name.ends_with(".aot") {
                    FileKind::Entry
                } else if file_name.ends_with(".profile") {
                    FileKind::Profile
                } else {
                    continue;
                };
                // The file may vanish under us (another process evicting): skip it.
                let Ok(meta) = f.metadata() else { continue };
                out.push(CacheFile {
                    path: f.path(),
                    kind,
                    size: meta.len(),
                    used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
        Ok(out)
    }

    /// Counts and sizes of what the cache holds.
    pub fn usage(&self) -> Result<Usage, CacheError> {
        let mut u = Usage::default();
        for f in self.files()? {
            match f.kind {
                FileKind::Entry => u.entries += 1,
                FileKind::Profile => u.profiles += 1,
                FileKind::Temporary => {}
            }
            u.bytes += f.size;
        }
        Ok(u)
    }

    /// Removes `f` (an entry under its key lock, so a translator holding the lock is
    /// never disturbed; skipped if the lock is busy). Returns whether it was removed.
    fn remove_file(&self, f: &CacheFile) -> bool {
        let key = f
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lock = match f.kind {
            FileKind::Entry => match self.try_lock(&key) {
                Ok(Some(lock)) => Some(lock),
                _ => return false,
            },
            _ => None,
        };
        let removed = match fs::remove_file(&f.path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => {
                tracing::warn!(path = %f.path.display(), error = %e, "cannot remove cache file");
                false
            }
        };
        if let Some(lock) = lock {
            // Nobody can be waiting for an entry that is being evicted without also
            // re-checking the lock file's identity (see `lock_impl`), so the lock file can
            // go too.
            let _ = fs::remove_file(lock.path());
        }
        removed
    }

    /// Removes least-recently-used translations and profiles until the cache holds at
    /// most `limit` bytes; stale temporary files (a crash mid-write) go first.
    pub fn evict_to(&self, limit: u64) -> Result<Evicted, CacheError> {
        let Some(_guard) = self.named_lock("evict.lock", false)? else {
            return Ok(Evicted::default()); // someone else is evicting right now
        };
        let now = SystemTime::now();
        let mut files = self.files()?;
        let mut total: u64 = files.iter().map(|f| f.size).sum();
        let mut ev = Evicted::default();
        files.retain(|f| {
            let stale = f.kind == FileKind::Temporary
                && now.duration_since(f.used).unwrap_or_default() > STALE_TMP_AGE;
            if stale && fs::remove_file(&f.path).is_ok() {
                total = total.saturating_sub(f.size);
            }
            f.kind != FileKind::Temporary
        });
        if total <= limit {
            return Ok(ev);
        }
        // Oldest first; ties broken by path so the order is deterministic.
        files.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.path.cmp(&b.path)));
        for f in &files {
            if total <= limit {
                break;
            }
            if self.remove_file(f) {
                total = total.saturating_sub(f.size);
                ev.files += 1;
                ev.bytes += f.size;
                tracing::debug!(path = %f.path.display(), "evicted");
            }
        }
        Ok(ev)
    }

    /// [`Cache::evict_to`] the configured limit, counting evictions in the statistics.
    pub fn clean(&self) -> Result<Evicted, CacheError> {
        let ev = self.evict_to(self.max_size)?;
        self.count(&Counters {
            evictions: ev.files,
            ..Counters::default()
        });
        Ok(ev)
    }

    /// Removes translations and profiles not used for longer than `age`, counting them as
    /// evictions.
    pub fn evict_older_than(&self, age: Duration) -> Result<Evicted, CacheError> {
        let cutoff = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut ev = Evicted::default();
        for f in self.files()? {
            if f.kind != FileKind::Temporary && f.used < cutoff && self.remove_file(&f) {
                ev.files += 1;
                ev.bytes += f.size;
            }
        }
        self.count(&Counters {
            evictions: ev.files,
            ..Counters::default()
        });
        Ok(ev)
    }

    /// Removes every translation, profile and temporary file (the statistics stay).
    pub fn clear(&self) -> Result<Evicted, CacheError> {
        let mut ev = Evicted::default();
        for f in self.files()? {
            if self.remove_file(&f) {
                ev.files += 1;
                ev.bytes += f.size;
            }
        }
        Ok(ev)
    }

    /// Takes the exclusive per-key lock, blocking until it is available. The lock is held
    /// until the returned guard is dropped (or the process exits).
    pub fn lock(&self, key: &str) -> Result<CacheLock, CacheError> {
        lock_file(self.lock_path_for(key), true)
    }

    /// Takes the per-key lock if nobody holds it; `Ok(None)` if another holder has it.
    pub fn try_lock(&self, key: &str) -> Result<Option<CacheLock>, CacheError> {
        match lock_file(self.lock_path_for(key), false) {
            Ok(lock) => Ok(Some(lock)),
            Err(CacheError::Io { source, .. }) if source.kind() == io::ErrorKind::WouldBlock => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// A lock on a file directly in the cache directory; `None` if `block` is false and
    /// it is busy.
    fn named_lock(&self, name: &str, block: bool) -> Result<Option<CacheLock>, CacheError> {
        match lock_file(self.dir.join(name), block) {
            Ok(lock) => Ok(Some(lock)),
            Err(CacheError::Io { source, .. })
                if !block && source.kind() == io::ErrorKind::WouldBlock =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Opens (creating) `path` and `flock`s it. Lock files of evicted entries are deleted
/// (under their lock), so after locking, the file must still be the one at `path`;
/// otherwise someone deleted it while we waited, and we lock the new one instead.
fn lock_file(path: PathBuf, block: bool) -> Result<CacheLock, CacheError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let op = if block {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        // SAFETY: `file` is an open file we own for the duration of the call; flock
        // only operates on the descriptor and touches no memory of ours.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(io_err(&path)(e));
        }
        let same = match (file.metadata(), fs::metadata(&path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        if same {
            return Ok(CacheLock { file, path });
        }
    }
}

/// An exclusive per-key cache lock (`flock`), released when dropped.
///
/// Lock files are left in place: deleting them would let a third process lock a fresh
/// file while a second still holds the lock on the unlinked one.
#[derive(Debug)]
pub struct CacheLock {
    file: File,
    path: PathBuf,
}

impl CacheLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock too; unlocking explicitly makes the
        // release immediate even if the descriptor were ever duplicated.
        // SAFETY: the descriptor is still open (the File is dropped after this).
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{read_header, AotFile, AotHeader, AotPayload};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "vmx-cache-test-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn entry(tag: u8) -> Vec<u8> {
        AotFile {
            header: AotHeader {
                guest_isa: "riscv64".into(),
                host_triple: "x86_64-unknown-linux-gnu".into(),
                host_cpu: "x86-64".into(),
                host_features: String::new(),
                translator_version: "0.1.0".into(),
                guest_hash: [tag; 32],
                options_hash: [0; 32],
                payload_len: 0,
                payload_hash: [0; 32],
            },
            payload: AotPayload {
                guest_image: vec![tag; 100],
                ..AotPayload::default()
            },
        }
        .to_bytes()
    }

    #[test]
    fn key_is_hex_and_length_prefixed() {
        let k = key(b"guest", "1.0", "-O2", "x86-64-v3");
        assert_eq!(k.len(), 64);
        assert!(k
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(k, key(b"guest", "1.0", "-O2", "x86-64-v3"));
        // Moving bytes between fields changes the key.
        assert_ne!(k, key(b"guest1", ".0", "-O2", "x86-64-v3"));
        assert_ne!(key(b"", "ab", "", "x"), key(b"", "a", "b", "x"));
        assert_ne!(k, key(b"guest", "1.0", "-O2", "x86-64-v4"));
    }

    #[test]
    fn default_dir_precedence() {
        let s = |v: &str| Some(OsString::from(v));
        assert_eq!(
            default_dir(s("/v"), s("/x"), s("/h")),
            Some(PathBuf::from("/v"))
        );
        assert_eq!(
            default_dir(None, s("/x"), s("/h")),
            Some(PathBuf::from("/x/vmx"))
        );
        assert_eq!(
            default_dir(s(""), s(""), s("/h")),
            Some(PathBuf::from("/h/.cache/vmx"))
        );
        assert_eq!(
            default_dir(None, s("relative"), s("/h")),
            Some(PathBuf::from("/h/.cache/vmx"))
        );
        assert_eq!(default_dir(None, None, None), None);
    }

    #[test]
    fn store_then_lookup() {
        let tmp = TempDir::new("store");
        let cache = Cache::open(&tmp.0).unwrap();
        let k = key(b"guest", "1", "", "cpu");
        assert_eq!(cache.lookup(&k), None);
        let bytes = entry(1);
        let path = cache.store(&k, &bytes).unwrap();
        assert_eq!(path, cache.path_for(&k));
        assert_eq!(
            path,
            tmp.0.join(&k[..2]).join(format!("{k}.aot")),
            "fan-out layout"
        );
        assert_eq!(cache.lookup(&k), Some(bytes));
        // Replacing an entry works.
        let bytes2 = entry(2);
        cache.store(&k, &bytes2).unwrap();
        assert_eq!(cache.lookup(&k), Some(bytes2));
    }

    #[test]
    fn store_refuses_invalid_entries() {
        let tmp = TempDir::new("invalid");
        let cache = Cache::open(&tmp.0).unwrap();
        let k = key(b"g", "1", "", "cpu");
        assert!(matches!(
            cache.store(&k, b"garbage"),
            Err(CacheError::InvalidEntry(AotError::NotAot))
        ));
        assert!(!cache.path_for(&k).exists());
    }

    #[test]
    fn corrupt_entry_is_a_miss_and_removed() {
        let tmp = TempDir::new("corrupt");
        let cache = Cache::open(&tmp.0).unwrap();
        let k = key(b"guest", "1", "", "cpu");
        let bytes = entry(3);
        let path = cache.store(&k, &bytes).unwrap();
        // Truncate it behind the cache's back.
        fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        assert_eq!(cache.lookup(&k), None);
        assert!(!path.exists());
        // Garbage too.
        fs::write(&path, b"not an aot").unwrap();
        assert_eq!(cache.lookup(&k), None);
        assert!(!path.exists());
    }

    #[test]
    fn odd_keys_stay_inside_the_cache() {
        let tmp = TempDir::new("keys");
        let cache = Cache::open(&tmp.0).unwrap();
        for k in ["../../etc/passwd", "", "a", "/abs", "ABCDEF", "zz/../.."] {
            let p = cache.path_for(k);
            assert!(p.starts_with(&tmp.0), "{k:?} → {}", p.display());
            assert_eq!(p.parent().unwrap().parent().unwrap(), tmp.0);
            cache.store(k, &entry(4)).unwrap();
            assert!(cache.lookup(k).is_some());
            drop(cache.lock(k).unwrap());
        }
    }

    #[test]
    fn lock_excludes_and_releases() {
        let tmp = TempDir::new("lock");
        let cache = Cache::open(&tmp.0).unwrap();
        let k = key(b"guest", "1", "", "cpu");
        let held = cache.lock(&k).unwrap();
        assert!(held.path().exists());
        // flock locks belong to the open file description, so a second open in the same
        // process conflicts just like another process would.
        assert!(cache.try_lock(&k).unwrap().is_none());
        // A different key is independent.
        let other = cache.try_lock(&key(b"other", "1", "", "cpu")).unwrap();
        assert!(other.is_some());
        drop(held);
        assert!(cache.try_lock(&k).unwrap().is_some());
    }

    #[test]
    fn concurrent_translators_translate_once() {
        let tmp = TempDir::new("once");
        let cache = Cache::open(&tmp.0).unwrap();
        let k = key(b"guest", "1", "", "cpu");
        let translations = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                let k = k.clone();
                let translations = translations.clone();
                std::thread::spawn(move || {
                    cache
                        .get_or_translate::<CacheError>(&k, || {
                            translations.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            Ok(entry(5))
                        })
                        .unwrap()
                })
            })
            .collect();
        let mut sources = Vec::new();
        for t in threads {
            let (bytes, source) = t.join().unwrap();
            assert_eq!(bytes, entry(5));
            sources.push(source);
        }
        assert_eq!(translations.load(Ordering::SeqCst), 1);
        assert_eq!(
            sources.iter().filter(|s| **s == Source::Translated).count(),
            1
        );
        let c = cache.stats().unwrap();
        assert_eq!((c.misses, c.hits), (1, 7), "{c:?}");
    }

    fn translate_as(tag: u8) -> impl FnOnce() -> Result<Vec<u8>, CacheError> {
        move || Ok(entry(tag))
    }

    #[test]
    fn hits_misses_and_bad_entries_are_counted() {
        let tmp = TempDir::new("stats");
        let cache = Cache::open(&tmp.0).unwrap();
        let k = key(b"guest", "1", "", "cpu");
        let (_, s) = cache.get_or_translate(&k, translate_as(1)).unwrap();
        assert_eq!(s, Source::Translated);
        let (_, s) = cache.get_or_translate(&k, translate_as(2)).unwrap();
        assert_eq!(s, Source::Local);
        // One flipped payload byte: the header still parses, the payload hash does not match.
        let path = cache.path_for(&k);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(read_header(&bytes).is_ok());
        let (got, s) = cache.get_or_translate(&k, translate_as(3)).unwrap();
        assert_eq!((s, got), (Source::Translated, entry(3)), "re-translated");
        // Truncated.
        fs::write(&path, &entry(3)[..50]).unwrap();
        let (got, s) = cache.get_or_translate(&k, translate_as(4)).unwrap();
        assert_eq!((s, got), (Source::Translated, entry(4)));
        let c = cache.stats().unwrap();
        assert_eq!((c.hits, c.misses, c.corrupt), (1, 3, 2), "{c:?}");
        assert_eq!(c.hit_rate(), Some(0.25));
        cache.zero_stats().unwrap();
        assert_eq!(cache.stats().unwrap(), Counters::default());
        // A failing translation stores nothing.
        let k2 = key(b"other", "1", "", "cpu");
        let r = cache.get_or_translate(&k2, || Err(CacheError::NoCacheDir));
        assert!(r.is_err());
        assert!(!cache.path_for(&k2).exists());
    }

    #[test]
    fn entries_for_another_guest_are_bad() {
        let tmp = TempDir::new("expected");
        let cache = Cache::open(&tmp.0).unwrap();
        let k = key(b"guest", "1", "", "cpu");
        // entry(1) has guest_hash [1; 32].
        cache.get_or_translate(&k, translate_as(1)).unwrap();
        let want = |tag: u8| Expected {
            guest_hash: Some([tag; 32]),
            options_hash: Some([0; 32]),
        };
        let (_, s) = cache
            .get_or_translate_expecting(&k, &want(1), translate_as(9))
            .unwrap();
        assert_eq!(s, Source::Local);
        let (got, s) = cache
            .get_or_translate_expecting(&k, &want(2), translate_as(2))
            .unwrap();
        assert_eq!((s, got), (Source::Translated, entry(2)));
        assert_eq!(cache.stats().unwrap().corrupt, 1);
    }

    #[test]
    fn get_if_present_counts_hits_only() {
        let tmp = TempDir::new("present");
        let cache = Cache::open(&tmp.0).unwrap();
        let k = key(b"guest", "1", "", "cpu");
        let any = Expected::default();
        assert_eq!(cache.get_if_present(&k, &any), None);
        assert_eq!(cache.stats().unwrap(), Counters::default());
        cache.get_or_translate(&k, translate_as(1)).unwrap();
        assert_eq!(cache.get_if_present(&k, &any), Some(entry(1)));
        let other = Expected {
            guest_hash: Some([2; 32]),
            options_hash: None,
        };
        assert_eq!(cache.get_if_present(&k, &other), None);
        assert!(
            cache.path_for(&k).exists(),
            "left for the locked path to judge"
        );
        let c = cache.stats().unwrap();
        assert_eq!((c.hits, c.misses), (1, 1));
    }

    fn age(path: &Path, secs_ago: u64) {
        let f = File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
            .unwrap();
    }

    #[test]
    fn eviction_is_least_recently_used_first() {
        let tmp = TempDir::new("evict");
        let cache = Cache::open(&tmp.0).unwrap();
        let keys: Vec<String> = (0..4u8).map(|i| key(&[i], "1", "", "cpu")).collect();
        for (i, k) in keys.iter().enumerate() {
            cache.get_or_translate(k, translate_as(i as u8)).unwrap();
            // Stored in order 0..4, oldest first.
            age(&cache.path_for(k), 1000 - 100 * i as u64);
        }
        // Using entry 0 makes it the most recent.
        assert_eq!(
            cache.get_or_translate(&keys[0], translate_as(9)).unwrap().1,
            Source::Local
        );
        let one = fs::metadata(cache.path_for(&keys[0])).unwrap().len();
        let u = cache.usage().unwrap();
        assert_eq!((u.entries, u.bytes), (4, 4 * one));
        // Room for two: the two least recently used (1 and 2) go.
        let ev = cache.evict_to(2 * one).unwrap();
        assert_eq!((ev.files, ev.bytes), (2, 2 * one));
        let alive: Vec<bool> = keys.iter().map(|k| cache.path_for(k).exists()).collect();
        assert_eq!(alive, [true, false, false, true]);
        // Lock files of evicted entries go too.
        assert!(!cache.lock_path_for(&keys[1]).exists());
        // A store over the limit evicts by itself.
        let small = cache.clone().with_max_size(one);
        small.get_or_translate(&keys[1], translate_as(1)).unwrap();
        let alive: Vec<bool> = keys.iter().map(|k| cache.path_for(k).exists()).collect();
        assert_eq!(alive, [false, true, false, false]);
        assert_eq!(small.stats().unwrap().evictions, 2);
    }

    #[test]
    fn evict_older_than_clear_and_stale_temporaries() {
        let tmp = TempDir::new("older");
        let cache = Cache::open(&tmp.0).unwrap();
        let (old, new) = (key(b"old", "1", "", "c"), key(b"new", "1", "", "c"));
        cache.get_or_translate(&old, translate_as(1)).unwrap();
        cache.get_or_translate(&new, translate_as(2)).unwrap();
        age(&cache.path_for(&old), 8 * 86400);
        let ev = cache
            .evict_older_than(Duration::from_secs(7 * 86400))
            .unwrap();
        assert_eq!(ev.files, 1);
        assert!(!cache.path_for(&old).exists() && cache.path_for(&new).exists());
        // A crash mid-write leaves a temporary file: never read, removed by cleaning once
        // it is old enough to be certainly dead.
        let stale = cache.path_for(&new).with_file_name(".x.aot.1.0.tmp");
        fs::write(&stale, b"VMXAOT\r\npartial").unwrap();
        age(&stale, 2 * 3600);
        let fresh = cache.path_for(&new).with_file_name(".y.aot.1.0.tmp");
        fs::write(&fresh, b"VMXAOT\r\npartial").unwrap();
        cache.clean().unwrap();
        assert!(!stale.exists() && fresh.exists());
        let ev = cache.clear().unwrap();
        assert_eq!(ev.files, 2, "the entry and the fresh temporary file");
        assert_eq!(cache.usage().unwrap(), Usage::default());
    }

    #[test]
    fn open_refuses_a_file() {
        let tmp = TempDir::new("file");
        fs::create_dir_all(&tmp.0).unwrap();
        let f = tmp.0.join("f");
        fs::write(&f, b"").unwrap();
        assert!(Cache::open(&f).is_err());
        assert!(Cache::open(f.join("sub")).is_err());
    }

    #[test]
    fn open_default_uses_some_directory() {
        // Only checks that the environment-driven path resolves; the precedence rules are
        // covered by `default_dir_precedence` without mutating the process environment.
        if let Some(dir) = default_dir(
            std::env::var_os("VMX_CACHE_DIR"),
            std::env::var_os("XDG_CACHE_HOME"),
            std::env::var_os("HOME"),
        ) {
            assert!(!dir.as_os_str().is_empty());
        }
    }
}
