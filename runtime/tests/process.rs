//! The initial process image: segments and the Linux-exact initial stack.

use vmx_lifter::elf::{GuestImage, Isa, Segment};
use vmx_runtime::memory::{GuestMemory, Prot, RegionKind, PAGE_SIZE, STACK_BOTTOM, STACK_TOP};
use vmx_runtime::process::{
    auxv::*, load_image, read_initial_stack, setup_stack, LoadError, LoadedImage, HWCAP_RV64GC,
};

const P: u64 = PAGE_SIZE;

fn seg(vaddr: u64, offset: u64, filesz: u64, memsz: u64, rwx: &str) -> Segment {
    Segment {
        vaddr,
        memsz,
        offset,
        filesz,
        readable: rwx.contains('r'),
        writable: rwx.contains('w'),
        executable: rwx.contains('x'),
    }
}

/// A synthetic static executable: text at 0x10000 (with the ELF and program headers at
/// its start, as linkers lay them out) and data+bss at 0x12800.
fn image() -> (GuestImage, Vec<u8>) {
    let file: Vec<u8> = (0..3 * P as usize).map(|i| (i % 251) as u8 + 1).collect();
    let img = GuestImage {
        isa: Isa::Riscv64,
        entry: 0x10100,
        segments: vec![
            seg(0x10000, 0, 0x1800, 0x1800, "rx"),
            seg(0x12800, 0x1800, 0x400, 0x3000, "rw"),
        ],
        phoff: 64,
        phentsize: 56,
        phnum: 2,
        functions: vec![],
        fde_starts: vec![],
        tls: None,
    };
    (img, file)
}

#[test]
fn load_maps_segments_with_protections() {
    let (img, file) = image();
    let mem = GuestMemory::new().unwrap();
    let li = load_image(&mem, &img, &file).unwrap();
    assert_eq!(
        li,
        LoadedImage {
            entry: 0x10100,
            phdr: 0x10040,
            phent: 56,
            phnum: 2,
            start: 0x10000,
            brk: 0x16000,
        }
    );
    // File bytes are where the segments say.
    let mut b = vec![0u8; 0x1800];
    mem.read(0x10000, &mut b).unwrap();
    assert_eq!(b, file[..0x1800]);
    let mut d = vec![0u8; 0x400];
    mem.read(0x12800, &mut d).unwrap();
    assert_eq!(d, file[0x1800..0x1c00]);
    // bss (and the tail of the last file page) is zero.
    let mut z = vec![0u8; 0x3000 - 0x400];
    mem.read(0x12c00, &mut z).unwrap();
    assert!(z.iter().all(|&x| x == 0));
    // Protections: text r-x, data rw-; the text tail page past 0x11800 is still text's.
    assert_eq!(mem.prot_at(0x10000), Some(Prot::RX));
    assert_eq!(mem.prot_at(0x11fff), Some(Prot::RX));
    assert_eq!(mem.prot_at(0x12000), Some(Prot::RW));
    assert_eq!(mem.prot_at(0x15fff), Some(Prot::RW));
    assert_eq!(mem.prot_at(0x16000), None);
    assert!(mem.write(0x10000, b"x").is_err());
    assert!(mem
        .regions()
        .iter()
        .all(|(_, r)| r.kind == RegionKind::Image));
}

#[test]
fn segments_sharing_a_page_get_both_protections() {
    let file = vec![7u8; 0x2000];
    let img = GuestImage {
        segments: vec![
            seg(0x10000, 0, 0x1100, 0x1100, "rx"),
            seg(0x11100, 0x1100, 0x100, 0x200, "rw"),
        ],
        ..image().0
    };
    let mem = GuestMemory::new().unwrap();
    let li = load_image(&mem, &img, &file).unwrap();
    assert_eq!(li.brk, 0x12000);
    assert_eq!(mem.prot_at(0x10000), Some(Prot::RX));
    assert_eq!(mem.prot_at(0x11000), Some(Prot::RWX));
    assert_eq!(mem.read_u32(0x110fc).unwrap(), 0x0707_0707);
    assert_eq!(mem.read_u32(0x11200).unwrap(), 0);
}

#[test]
fn bad_segments_are_errors() {
    let (mut img, file) = image();
    img.segments[1].filesz = 0x10_0000;
    img.segments[1].memsz = 0x10_0000;
    let mem = GuestMemory::new().unwrap();
    assert!(matches!(
        load_image(&mem, &img, &file),
        Err(LoadError::Truncated { .. })
    ));
    let (mut img, file) = image();
    img.segments[0].vaddr = STACK_BOTTOM - P;
    assert!(matches!(
        load_image(&mem, &img, &file),
        Err(LoadError::SegmentRange { .. })
    ));
}

fn strs(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn initial_stack_matches_linux_layout() {
    let (img, file) = image();
    let mem = GuestMemory::new().unwrap();
    let li = load_image(&mem, &img, &file).unwrap();
    let argv = strs(&["/bin/prog", "a b", ""]);
    let envp = strs(&["X=1", "LONGER_NAME=value"]);
    let execfn = b"/usr/bin/prog";
    let sp = setup_stack(&mem, &li, &argv, &envp, execfn, HWCAP_RV64GC).unwrap();
    assert_eq!(sp % 16, 0);
    assert!(sp > STACK_BOTTOM && sp < STACK_TOP);
    assert_eq!(mem.prot_at(STACK_BOTTOM), Some(Prot::RW));
    assert_eq!(mem.prot_at(STACK_TOP - 1), Some(Prot::RW));
    assert_eq!(mem.prot_at(STACK_TOP), None);

    // Raw words: argc, argv[], NULL, envp[], NULL, auxv.
    let w = |i: u64| mem.read_u64(sp + 8 * i).unwrap();
    assert_eq!(w(0), 3);
    assert_eq!(w(4), 0);
    assert_eq!(w(7), 0);
    let st = read_initial_stack(&mem, sp).unwrap();
    assert_eq!(st.argc, 3);
    assert_eq!(st.argv, argv);
    assert_eq!(st.envp, envp);

    // String area: argv strings lowest, then envp, then execfn, then an 8-byte NULL.
    let execfn_addr = STACK_TOP - 8 - execfn.len() as u64 - 1;
    assert_eq!(mem.read_u64(STACK_TOP - 8).unwrap(), 0);
    assert_eq!(mem.read_cstr(execfn_addr, 100).unwrap(), execfn);
    let mut expect = execfn_addr;
    for (a, s) in st.envp_addrs.iter().zip(&envp).rev() {
        expect -= s.len() as u64 + 1;
        assert_eq!(*a, expect);
    }
    for (a, s) in st.argv_addrs.iter().zip(&argv).rev() {
        expect -= s.len() as u64 + 1;
        assert_eq!(*a, expect);
    }
    let strings_start = expect;

    // The auxiliary vector, in create_elf_tables order.
    let ids = host_ids();
    let random = st.aux(AT_RANDOM).unwrap();
    let keys: Vec<u64> = st.auxv.iter().map(|&(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE, AT_FLAGS,
            AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_RANDOM, AT_EXECFN
        ]
    );
    let expect_aux = [
        (AT_HWCAP, HWCAP_RV64GC),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, 0x10040),
        (AT_PHENT, 56),
        (AT_PHNUM, 2),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, 0x10100),
        (AT_UID, ids[0]),
        (AT_EUID, ids[1]),
        (AT_GID, ids[2]),
        (AT_EGID, ids[3]),
        (AT_SECURE, 0),
        (AT_RANDOM, random),
        (AT_EXECFN, execfn_addr),
    ];
    assert_eq!(st.auxv, expect_aux);
    assert!(st.aux(AT_SYSINFO_EHDR).is_none());
    // AT_RANDOM: 16 bytes just below the 16-aligned start of the strings.
    assert_eq!(random, (strings_start & !15) - 16);
    let auxv_end = sp + 8 * (1 + 3 + 1 + 2 + 1) + 16 * (expect_aux.len() as u64 + 1);
    assert!(auxv_end <= random);
    assert!(
        random - auxv_end < 16,
        "only alignment padding between auxv and random"
    );
    let mut r = [0u8; 16];
    mem.read(random, &mut r).unwrap();
    assert_ne!(r, [0u8; 16]);
    // AT_NULL terminates.
    assert_eq!(mem.read_u64(auxv_end - 16).unwrap(), AT_NULL);
    // RV64GC: I M A F D C.
    assert_eq!(
        HWCAP_RV64GC,
        (1 << 8) | (1 << 12) | 1 | (1 << 5) | (1 << 3) | (1 << 2)
    );
}

fn host_ids() -> [u64; 4] {
    use std::os::unix::fs::MetadataExt;
    // The euid/egid of this process own the files it creates; uid/gid equal them here.
    let p = std::env::temp_dir().join(format!("vmx-ids-{}", std::process::id()));
    std::fs::write(&p, b"").unwrap();
    let md = std::fs::metadata(&p).unwrap();
    std::fs::remove_file(&p).unwrap();
    [
        u64::from(md.uid()),
        u64::from(md.uid()),
        u64::from(md.gid()),
        u64::from(md.gid()),
    ]
}

#[test]
fn stack_alignment_for_every_argument_count() {
    let (img, file) = image();
    for n in 0..6 {
        for e in 0..3 {
            let mem = GuestMemory::new().unwrap();
            let li = load_image(&mem, &img, &file).unwrap();
            let argv: Vec<Vec<u8>> = (0..n).map(|i| vec![b'a'; i * 3 + 1]).collect();
            let envp: Vec<Vec<u8>> = (0..e).map(|i| vec![b'e'; i + 2]).collect();
            let sp = setup_stack(&mem, &li, &argv, &envp, b"x", 0).unwrap();
            assert_eq!(sp % 16, 0);
            let st = read_initial_stack(&mem, sp).unwrap();
            assert_eq!((st.argv, st.envp), (argv, envp));
        }
    }
}

#[test]
fn oversized_arguments_are_rejected() {
    let (img, file) = image();
    let mem = GuestMemory::new().unwrap();
    let li = load_image(&mem, &img, &file).unwrap();
    let big = vec![vec![b'x'; 200_000]];
    assert!(matches!(
        setup_stack(&mem, &li, &big, &[], b"x", 0),
        Err(LoadError::ArgsTooLarge)
    ));
    let many: Vec<Vec<u8>> = (0..40).map(|_| vec![b'y'; 100_000]).collect();
    assert!(matches!(
        setup_stack(&mem, &li, &many, &[], b"x", 0),
        Err(LoadError::ArgsTooLarge)
    ));
}
