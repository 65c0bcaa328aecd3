//! The `.aot` container format ([`format`]) and the on-disk translation cache ([`cache`]).

pub mod cache;
pub mod format;
