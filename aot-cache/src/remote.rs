//! The shared remote tier: a store many machines read through and write back to, on an
//! existing engine reached through [`opendal`] (no server of our own).
//!
//! `VMX_CACHE_REMOTE` is a URL:
//!
//! | URL | store |
//! |---|---|
//! | `redis://[:password@]host[:port][/db][/prefix]` | Redis (`rediss://` for TLS) |
//! | `http://host[:port]/path`, `https://…` | WebDAV (nginx `dav_methods`, Apache `mod_dav`, …) |
//!
//! Entries are stored under `<prefix>/vmx/<key>.aot` as the same bytes as the local
//! entry. What comes back from the remote is verified like a local entry before use
//! (format, payload hash, the guest and options the key stands for), so a damaged or
//! mixed-up store costs a translation, never runs the wrong code. There is no
//! signature: anyone who can write to the store can make entries that pass, i.e. run
//! code on every machine reading it, so writers must be trusted (docs/cache.md). In
//! read-only mode (for untrusted jobs) nothing is ever written.
//!
//! opendal is asynchronous; a small current-thread tokio runtime, created on first use,
//! drives it and every operation is bounded by a timeout, so a remote that is down
//! delays a run by at most that much and then the cache carries on locally.

use std::time::Duration;

/// How long one remote operation may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why the remote tier cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// `VMX_CACHE_REMOTE` is not a URL we understand.
    #[error("bad remote cache URL {url:?}: {why} (expected redis://host:port[/db], rediss://…, http://host/path or https://host/path)")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The store reported an error (or could not be reached).
    #[error("remote cache {url}: {source}")]
    Store {
        /// The URL with any password removed.
        url: String,
        /// The store's error.
        #[source]
        source: opendal::Error,
    },
    /// An operation did not finish in time.
    #[error("remote cache {url}: no answer within {} s", TIMEOUT.as_secs())]
    Timeout {
        /// The URL with any password removed.
        url: String,
    },
    /// The async runtime could not be created.
    #[error("remote cache: cannot start the I/O runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A write was attempted in read-only mode.
    #[error("remote cache {url} is read-only")]
    ReadOnly {
        /// The URL with any password removed.
        url: String,
    },
}

/// A connection (lazily established) to a remote store.
pub struct Remote {
    op: opendal::Operator,
    rt: tokio::runtime::Runtime,
    read_only: bool,
    shown: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.shown)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// `scheme://authority/path` split into its parts; `None` if it has no `://`.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    Some((scheme, authority, path.trim_matches('/')))
}

/// The URL without a password, for messages.
fn redact(url: &str) -> String {
    match split_url(url) {
        Some((scheme, authority, path)) if authority.contains('@') => {
            let host = authority.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://***@{host}/{path}")
        }
        _ => url.to_string(),
    }
}

/// An opendal service name and its configuration.
type ServiceConfig = (&'static str, Vec<(String, String)>);

/// The opendal scheme and configuration for `url`.
fn config_for(url: &str) -> Result<ServiceConfig, RemoteError> {
    let bad = |why: &str| RemoteError::BadUrl {
        url: redact(url),
        why: why.to_string(),
    };
    let (scheme, authority, path) = split_url(url).ok_or_else(|| bad("no scheme"))?;
    if authority.is_empty() || authority.ends_with(':') || authority.ends_with('@') {
        return Err(bad("no host"));
    }
    if let Some(port) = authority
        .rsplit('@')
        .next()
        .and_then(|h| h.rsplit_once(':'))
    {
        if port.1.parse::<u16>().is_err() {
            return Err(bad("bad port"));
        }
    }
    let mut cfg = Vec::new();
    let service = match scheme {
        "redis" | "rediss" => {
            cfg.push(("endpoint".into(), format!("{scheme}://{authority}")));
            let (first, rest) = path.split_once('/').unwrap_or((path, ""));
            let root = match first.parse::<u8>() {
                Ok(db) => {
                    cfg.push(("db".into(), db.to_string()));
                    rest
                }
                Err(_) => path,
            };
            cfg.push(("root".into(), format!("/{root}")));
            "redis"
        }
        "http" | "https" => {
            cfg.push(("endpoint".into(), format!("{scheme}://{authority}")));
            cfg.push(("root".into(), format!("/{path}")));
            "webdav"
        }
        _ => return Err(bad(&format!("unsupported scheme {scheme:?}"))),
    };
    Ok((service, cfg))
}

impl Remote {
    /// Prepares the remote store at `url` (see the module docs). Only the URL is checked
    /// here; the store itself is contacted on first use.
    pub fn open(url: &str, read_only: bool) -> Result<Remote, RemoteError> {
        let (service, cfg) = config_for(url)?;
        let shown = redact(url);
        opendal::install_default();
        let op =
            opendal::Operator::via_iter(service, cfg).map_err(|source| RemoteError::BadUrl {
                url: shown.clone(),
                why: source.to_string(),
            })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RemoteError::Runtime)?;
        Ok(Remote {
            op,
            rt,
            read_only,
            shown,
        })
    }

    /// Whether writes are refused.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The URL, without any password.
    pub fn url(&self) -> &str {
        &self.shown
    }

    fn path(key: &str) -> String {
        format!("vmx/{key}.aot")
    }

    fn run<T>(
        &self,
        fut: impl std::future::Future<Output = opendal::Result<T>>,
    ) -> Result<T, RemoteError> {
        match self
            .rt
            .block_on(async { tokio::time::timeout(TIMEOUT, fut).await })
        {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(source)) => Err(RemoteError::Store {
                url: self.shown.clone(),
                source,
            }),
            Err(_) => Err(RemoteError::Timeout {
                url: self.shown.clone(),
            }),
        }
    }

    /// The bytes stored under `key`, `None` if there are none. Not verified: the cache
    /// does that.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let path = Self::path(key);
        let result = self.run(async {
            match self.op.read(&path).await {
                Ok(buf) => Ok(Some(buf.to_vec())),
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        });
        result
    }

    /// Stores `bytes` under `key`; refused in read-only mode.
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), RemoteError> {
        if self.read_only {
            return Err(RemoteError::ReadOnly {
                url: self.shown.clone(),
            });
        }
        let path = Self::path(key);
        let bytes = bytes.to_vec();
        self.run(async { self.op.write(&path, bytes).await.map(|_| ()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let (svc, cfg) = config_for("redis://127.0.0.1:6379/2/team").unwrap();
        assert_eq!(svc, "redis");
        assert!(cfg.contains(&("endpoint".into(), "redis://127.0.0.1:6379".into())));
        assert!(cfg.contains(&("db".into(), "2".into())));
        assert!(cfg.contains(&("root".into(), "/team".into())));
        let (svc, cfg) = config_for("https://dav.example.com/cache/vmx/").unwrap();
        assert_eq!(svc, "webdav");
        assert!(cfg.contains(&("root".into(), "/cache/vmx".into())));
        for bad in [
            "",
            "localhost:6379",
            "ftp://host/x",
            "redis://",
            "redis://host:",
            "redis://host:port",
            "http:///path",
        ] {
            assert!(config_for(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            redact("redis://:secret@host:1/0"),
            "redis://***@host:1/0".to_string()
        );
    }

    #[test]
    fn open_checks_the_url_only() {
        // Nothing listens there; opening must not try to connect.
        let r = Remote::open("redis://127.0.0.1:1", true).unwrap();
        assert!(r.read_only());
        assert!(matches!(
            r.put("k", b"x"),
            Err(RemoteError::ReadOnly { .. })
        ));
        assert!(Remote::open("nonsense", false).is_err());
    }
}
