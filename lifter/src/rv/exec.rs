//! RISC-V semantics (being written).
