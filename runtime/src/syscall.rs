//! Linux syscalls (being written).
