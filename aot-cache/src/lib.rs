//! The `.aot` container format ([`format`]) and the translation cache ([`cache`]): local
//! entries with locking, statistics ([`stats`]) and LRU eviction under a size limit
//! ([`limits`]), plus an optional shared remote tier ([`remote`]).

pub mod cache;
pub mod format;
pub mod limits;
pub mod remote;
pub mod stats;
