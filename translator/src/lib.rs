//! The translation pipeline (being written).
