//! The ELF loader and code discovery on arbitrary bytes: `GuestImage::parse` either
//! rejects the file or gives an image whose segments fit the file and the guest space;
//! discovery of a riscv64 image then terminates without panicking, and every block it
//! returns lies in executable guest code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmx_lifter::discover::discover;
use vmx_lifter::elf::{GuestImage, Isa};
use vmx_lifter::state::GUEST_SPACE;

fuzz_target!(|data: &[u8]| {
    let Ok(image) = GuestImage::parse(data) else {
        return;
    };
    for s in &image.segments {
        assert!(s.offset + s.filesz <= data.len() as u64);
        assert!(s.filesz <= s.memsz && s.vaddr + s.memsz <= GUEST_SPACE);
    }
    let _ = image.phdr_addr();
    // `vmx translate` discovers riscv64 code only (aarch64 is interpreted, x86-64 runs
    // under KVM).
    if image.isa != Isa::Riscv64 {
        return;
    }
    // A profile pc in the middle of the code, as a miss profile may hold.
    let extra: Vec<u64> = image
        .segments
        .iter()
        .map(|s| s.vaddr + s.memsz / 2)
        .collect();
    let program = discover(&image, data, &extra);
    for f in &program.functions {
        for b in &f.blocks {
            for (pc, _) in &b.insns {
                assert!(
                    image.is_code(*pc),
                    "discovered an instruction outside code at {pc:#x}"
                );
            }
        }
        let _ = f.code_ranges();
        let _ = f.direct_callees(&program);
    }
});
