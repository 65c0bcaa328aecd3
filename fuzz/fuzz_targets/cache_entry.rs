//! The cache's entry reader on arbitrary bytes: an entry file with these contents is
//! handed out by `Cache::lookup` exactly when `format::verify` accepts it (and removed
//! otherwise), and by `get_if_present` only when its header also names the expected guest.
//! The stats file parser takes any text.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vmx_aot_cache::cache::{Cache, Expected};
use vmx_aot_cache::format::verify;
use vmx_aot_cache::stats::Counters;

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// One scratch cache for the whole run, under the fuzz crate's (ignored) target directory,
/// so that runs do not leave directories behind.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/cache_entry-scratch");
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("creating the fuzz cache directory");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let cache = Cache::open(dir()).expect("opening the cache");
    let path = cache.path_for(KEY);
    std::fs::create_dir_all(path.parent().expect("entry has a parent")).expect("mkdir");
    std::fs::write(&path, data).expect("writing the entry");
    let good = verify(data);
    let wrong_guest = Expected {
        guest_hash: Some(match &good {
            Ok(h) => {
                let mut g = h.guest_hash;
                g[0] ^= 1;
                g
            }
            Err(_) => [0; 32],
        }),
        options_hash: None,
    };
    assert!(cache.get_if_present(KEY, &wrong_guest).is_none());
    match cache.lookup(KEY) {
        Some(bytes) => {
            assert!(
                good.is_ok(),
                "the cache handed out an entry that does not verify"
            );
            assert_eq!(bytes, data);
        }
        None => {
            assert!(good.is_err(), "the cache refused an intact entry");
            assert!(!path.exists(), "a bad entry was left in the cache");
        }
    }
    let text = String::from_utf8_lossy(data);
    let c = Counters::parse(&text);
    assert_eq!(Counters::parse(&c.render()), c);
});
