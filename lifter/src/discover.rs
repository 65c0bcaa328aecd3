//! Static code discovery (being written).
