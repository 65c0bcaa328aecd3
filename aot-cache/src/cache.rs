//! A content-addressed on-disk cache of `.aot` files.
//!
//! Entries live in `dir/ab/abcdef….aot` (two-character fan-out, like git's object store),
//! keyed by [`key`]: a BLAKE3 hash over the guest bytes, translator version, translation
//! options and host CPU. Entries are written atomically ([`write_atomically`]), so a reader
//! sees a complete file or none; a corrupt or truncated entry is treated as a miss and
//! removed.
//!
//! Two processes that want the same missing entry translate it once:
//!
//! ```no_run
//! # use vmx_aot_cache::cache::{Cache, CacheError};
//! # fn translate() -> Vec<u8> { unimplemented!() }
//! # fn main() -> Result<(), CacheError> {
//! let cache = Cache::open_default()?;
//! let key = vmx_aot_cache::cache::key(b"guest elf", "0.1.0", "-O2", "x86-64-v3");
//! let bytes = match cache.lookup(&key) {
//!     Some(bytes) => bytes,
//!     None => {
//!         let _lock = cache.lock(&key)?; // held until the end of this block
//!         match cache.lookup(&key) {
//!             Some(bytes) => bytes, // someone else translated it while we waited
//!             None => {
//!                 let bytes = translate();
//!                 cache.store(&key, &bytes)?;
//!                 bytes
//!             }
//!         }
//!     }
//! };
//! # let _ = bytes; Ok(()) }
//! ```

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::format::{read_header, write_atomically, AotError};

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

/// The on-disk translation cache.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Opens the cache in the default directory (see the module docs), creating it if
    /// needed.
    pub fn open_default() -> Result<Cache, CacheError> {
        let dir = default_dir(
            std::env::var_os("VMX_CACHE_DIR"),
            std::env::var_os("XDG_CACHE_HOME"),
            std::env::var_os("HOME"),
        )
        .ok_or(CacheError::NoCacheDir)?;
        Cache::open(dir)
    }

    /// Opens (creating if needed) a cache rooted at `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Cache, CacheError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(Cache { dir })
    }

    /// The cache's root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `key` lives (whether or not it exists).
    pub fn path_for(&self, key: &str) -> PathBuf {
        let key = normalize_key(key);
        self.dir.join(&key[..2]).join(format!("{key}.aot"))
    }

    fn lock_path_for(&self, key: &str) -> PathBuf {
        let key = normalize_key(key);
        self.dir.join(&key[..2]).join(format!("{key}.lock"))
    }

    /// Returns the entry for `key` if it exists and its header is valid. A corrupt,
    /// truncated or incompatible entry is a miss: it is logged and removed.
    pub fn lookup(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.path_for(key);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::debug!(path = %path.display(), "cache miss");
                return None;
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read cache entry; treating as a miss");
                return None;
            }
        };
        match read_header(&bytes) {
            Ok(_) => {
                tracing::debug!(path = %path.display(), "cache hit");
                Some(bytes)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "removing bad cache entry");
                if let Err(e) = fs::remove_file(&path) {
                    if e.kind() != io::ErrorKind::NotFound {
                        tracing::warn!(path = %path.display(), error = %e, "cannot remove bad cache entry");
                    }
                }
                None
            }
        }
    }

    /// Stores `bytes` (which must be a valid `.aot` file) as the entry for `key`,
    /// atomically replacing any existing entry. Returns the entry's path.
    pub fn store(&self, key: &str, bytes: &[u8]) -> Result<PathBuf, CacheError> {
        read_header(bytes)?;
        let path = self.path_for(key);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        write_atomically(&path, bytes).map_err(io_err(&path))?;
        Ok(path)
    }

    /// Takes the exclusive per-key lock, blocking until it is available. The lock is held
    /// until the returned guard is dropped (or the process exits).
    pub fn lock(&self, key: &str) -> Result<CacheLock, CacheError> {
        self.lock_impl(key, true)
    }

    /// Takes the per-key lock if nobody holds it; `Ok(None)` if another holder has it.
    pub fn try_lock(&self, key: &str) -> Result<Option<CacheLock>, CacheError> {
        match self.lock_impl(key, false) {
            Ok(lock) => Ok(Some(lock)),
            Err(CacheError::Io { source, .. }) if source.kind() == io::ErrorKind::WouldBlock => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn lock_impl(&self, key: &str, block: bool) -> Result<CacheLock, CacheError> {
        let path = self.lock_path_for(key);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        let op = if block {
            libc::LOCK_EX
        } else {
            libc::LOCK_EX | libc::LOCK_NB
        };
        loop {
            // SAFETY: `file` is an open file we own for the duration of the call; flock
            // only operates on the descriptor and touches no memory of ours.
            let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
            if rc == 0 {
                return Ok(CacheLock { file, path });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(io_err(&path)(e));
            }
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
    use crate::format::{AotFile, AotHeader, AotPayload};
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
                    if let Some(bytes) = cache.lookup(&k) {
                        return bytes;
                    }
                    let _lock = cache.lock(&k).unwrap();
                    if let Some(bytes) = cache.lookup(&k) {
                        return bytes;
                    }
                    translations.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    let bytes = entry(5);
                    cache.store(&k, &bytes).unwrap();
                    bytes
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), entry(5));
        }
        assert_eq!(translations.load(Ordering::SeqCst), 1);
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
