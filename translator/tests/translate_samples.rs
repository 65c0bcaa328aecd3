//! Translating real glibc static binaries: discovery finds the code, every function
//! lifts and verifies, LLVM compiles it, and the result is deterministic.

use std::path::PathBuf;

use vmx_aot_cache::format::AotFile;
use vmx_translator::{translate, Options};

fn sample(name: &str) -> Option<Vec<u8>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/build/riscv64")
        .join(name);
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!(
                "skipping: {} not built (run `cargo xtask build-samples`)",
                p.display()
            );
            None
        }
    }
}

#[test]
fn hello_translates_deterministically() {
    let Some(elf) = sample("hello") else { return };
    let opts = Options::default();
    let (a, stats) = translate(&elf, &opts).expect("translate");
    assert!(
        stats.functions > 100,
        "glibc has many functions, found {}",
        stats.functions
    );
    assert!(a.payload.objects.iter().all(|o| o.starts_with(b"\x7fELF")));
    let bytes = a.to_bytes();
    let (b, _) = translate(&elf, &opts).expect("translate again");
    assert_eq!(
        bytes,
        b.to_bytes(),
        "same input and options must give identical output"
    );
    let back = AotFile::from_bytes(&bytes).expect("reads back");
    assert_eq!(back.payload.functions.len(), stats.functions);
}
