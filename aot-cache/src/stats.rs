//! Cache counters, kept in `<cache dir>/stats` (one `name value` line per counter), read
//! and updated under an exclusive `flock` on `<cache dir>/stats.lock`, like ccache's.

use std::fs;
use std::io;
use std::path::Path;

/// Event counters of one cache directory since the last `vmx cache zero-stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Lookups answered by the local cache (including after waiting for another process
    /// that was translating the same guest).
    pub hits: u64,
    /// Lookups answered by the remote tier (the entry is then copied into the local cache).
    pub remote_hits: u64,
    /// Lookups answered by nobody: the guest was translated.
    pub misses: u64,
    /// Bad entries (corrupt, truncated, from another format version) found, removed and
    /// re-translated.
    pub corrupt: u64,
    /// Entries removed to stay under the size limit or by `vmx cache evict`.
    pub evictions: u64,
    /// Entries written back to the remote tier.
    pub remote_writes: u64,
    /// Failed remote reads or writes (the cache then carries on locally).
    pub remote_errors: u64,
}

/// A counter's name and accessor.
type Field = (&'static str, fn(&mut Counters) -> &mut u64);

impl Counters {
    /// Counter names, in file order, with accessors.
    const FIELDS: [Field; 7] = [
        ("hits", |c| &mut c.hits),
        ("remote_hits", |c| &mut c.remote_hits),
        ("misses", |c| &mut c.misses),
        ("corrupt", |c| &mut c.corrupt),
        ("evictions", |c| &mut c.evictions),
        ("remote_writes", |c| &mut c.remote_writes),
        ("remote_errors", |c| &mut c.remote_errors),
    ];

    /// `(name, value)` for every counter, in a fixed order.
    pub fn fields(&self) -> Vec<(&'static str, u64)> {
        let mut copy = *self;
        Self::FIELDS
            .iter()
            .map(|(name, get)| (*name, *get(&mut copy)))
            .collect()
    }

    /// Hits (local or remote) over all lookups, or `None` before the first lookup.
    pub fn hit_rate(&self) -> Option<f64> {
        let hits = self.hits + self.remote_hits;
        let total = hits + self.misses;
        (total > 0).then(|| hits as f64 / total as f64)
    }

    /// Adds `other` to `self`, counter by counter.
    pub fn add(&mut self, other: &Counters) {
        let mut other = *other;
        for (_, get) in Self::FIELDS {
            let add = *get(&mut other);
            let mine = get(self);
            *mine = mine.saturating_add(add);
        }
    }

    /// Parses the stats file; unknown lines and bad numbers are ignored (a damaged stats
    /// file only costs counts).
    pub fn parse(text: &str) -> Counters {
        let mut c = Counters::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            let (Some(name), Some(value)) = (words.next(), words.next()) else {
                continue;
            };
            if let (Some((_, get)), Ok(v)) = (
                Self::FIELDS.iter().find(|(n, _)| *n == name),
                value.parse::<u64>(),
            ) {
                *get(&mut c) = v;
            }
        }
        c
    }

    /// The stats file's text.
    pub fn render(&self) -> String {
        self.fields()
            .iter()
            .map(|(name, value)| format!("{name} {value}\n"))
            .collect()
    }
}

/// Reads the counters in `path` (all zero when it does not exist).
pub(crate) fn read(path: &Path) -> io::Result<Counters> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Counters::parse(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Counters::default()),
        Err(e) => Err(e),
    }
}

/// Replaces the counters in `path`; the caller holds the stats lock, and so must readers
/// that need a consistent view. Rewritten in place, not through a temporary file and a
/// rename, and never truncated to zero: on ext4 both of those start writeback of the file
/// (auto_da_alloc), which costs about half a millisecond on every run. Not fsynced either:
/// losing a few counts in a crash is acceptable, slowing every run is not.
pub(crate) fn write(path: &Path, counters: &Counters) -> io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    let text = counters.render();
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    file.write_all_at(text.as_bytes(), 0)?;
    file.set_len(text.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_parse_round_trip() {
        let c = Counters {
            hits: 1,
            remote_hits: 2,
            misses: 3,
            corrupt: 4,
            evictions: 5,
            remote_writes: 6,
            remote_errors: 7,
        };
        assert_eq!(Counters::parse(&c.render()), c);
        assert_eq!(Counters::parse("hits x\nbogus 3\nmisses 2\n\n").misses, 2);
        assert_eq!(Counters::parse("").hit_rate(), None);
        assert_eq!(c.hit_rate(), Some(0.5));
        let mut d = c;
        d.add(&c);
        assert_eq!(d.evictions, 10);
    }
}
