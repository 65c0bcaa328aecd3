//! The `.aot` reader on arbitrary bytes: `read_header`, `verify` and `AotFile::from_bytes`
//! never panic, agree with each other, and whatever decodes re-encodes to the same bytes
//! (the encoding is canonical, so nothing unverified can hide in a file that reads).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmx_aot_cache::format::{read_header, verify, AotFile};

fuzz_target!(|data: &[u8]| {
    let header = read_header(data);
    let verified = verify(data);
    let file = AotFile::from_bytes(data);
    if verified.is_ok() {
        assert!(header.is_ok(), "verify accepted what read_header rejects");
    }
    if let Ok(file) = file {
        assert_eq!(verified.as_ref().ok(), Some(&file.header));
        assert_eq!(
            file.to_bytes(),
            data,
            "an accepted .aot does not re-encode to itself"
        );
    }
});
