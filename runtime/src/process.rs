//! The initial process image, built the way Linux's `load_elf_binary` and
//! `create_elf_tables` build it for riscv64: PT_LOAD segments mapped with their
//! protections, an 8 MiB stack near the top of the guest space holding the strings,
//! argc/argv/envp and the auxiliary vector.

use crate::memory::{
    page_align_down, page_align_up, Backing, Errno, Fault, GuestMemory, Placement, Prot,
    RegionKind, GUEST_SPACE, PAGE_SIZE, STACK_BOTTOM, STACK_SIZE, STACK_TOP,
};
use vmx_lifter::elf::GuestImage;

pub use crate::memory::{MMAP_TOP, STACK_TOP as INITIAL_STACK_TOP};

/// Auxiliary vector keys (`include/uapi/linux/auxvec.h`).
pub mod auxv {
    pub const AT_NULL: u64 = 0;
    pub const AT_IGNORE: u64 = 1;
    pub const AT_EXECFD: u64 = 2;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_NOTELF: u64 = 10;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_PLATFORM: u64 = 15;
    pub const AT_HWCAP: u64 = 16;
    pub const AT_CLKTCK: u64 = 17;
    pub const AT_SECURE: u64 = 23;
    pub const AT_BASE_PLATFORM: u64 = 24;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_HWCAP2: u64 = 26;
    pub const AT_EXECFN: u64 = 31;
    pub const AT_SYSINFO_EHDR: u64 = 33;
    pub const AT_MINSIGSTKSZ: u64 = 51;
}

/// `AT_HWCAP` for an RV64IMAFDC ("RV64GC") machine: one bit per single-letter
/// extension, bit `letter - 'A'`, as Linux reports it.
pub const HWCAP_RV64GC: u64 = {
    let mut v = 0u64;
    let letters = *b"IMAFDC";
    let mut i = 0;
    while i < letters.len() {
        v |= 1 << (letters[i] - b'A');
        i += 1;
    }
    v
};

/// Linux's limit on one argument or environment string (`MAX_ARG_STRLEN`).
pub const MAX_ARG_STRLEN: usize = 32 * PAGE_SIZE as usize;

/// Why the process image could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// a segment lies outside the usable guest space
    #[error("segment at {vaddr:#x} (size {memsz:#x}) does not fit below the guest stack")]
    SegmentRange { vaddr: u64, memsz: u64 },
    /// a segment's file bytes are not in the file
    #[error(
        "segment at {vaddr:#x}: file bytes {offset:#x}+{filesz:#x} are past the end of the file"
    )]
    Truncated {
        vaddr: u64,
        offset: u64,
        filesz: u64,
    },
    /// mapping guest memory failed
    #[error("cannot map guest memory at {addr:#x}: {errno:?}")]
    Map { addr: u64, errno: Errno },
    /// writing guest memory failed (a bug: the range was just mapped)
    #[error("cannot write guest memory at {:#x}", .0.addr)]
    Write(Fault),
    /// argv/envp do not fit (Linux: E2BIG)
    #[error("argument list too long")]
    ArgsTooLarge,
    /// no randomness for AT_RANDOM
    #[error("getrandom failed: {0:?}")]
    Random(Errno),
}

impl From<Fault> for LoadError {
    fn from(f: Fault) -> LoadError {
        LoadError::Write(f)
    }
}

/// What the loader learned while mapping the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedImage {
    /// Entry point (`e_entry`).
    pub entry: u64,
    /// Guest address of the program headers (`AT_PHDR`).
    pub phdr: u64,
    /// Size of one program header (`AT_PHENT`).
    pub phent: u64,
    /// Number of program headers (`AT_PHNUM`).
    pub phnum: u64,
    /// Lowest mapped address of the image.
    pub start: u64,
    /// Initial program break: page-aligned end of the highest segment.
    pub brk: u64,
}

/// Maps every PT_LOAD segment of `image` (whose bytes are `file`) into `mem`.
pub fn load_image(
    mem: &GuestMemory,
    image: &GuestImage,
    file: &[u8],
) -> Result<LoadedImage, LoadError> {
    let segs: Vec<_> = image.segments.iter().filter(|s| s.memsz > 0).collect();
    // Validate and compute the page range of each segment.
    let mut ranges = Vec::new();
    for s in &segs {
        let bad = || LoadError::SegmentRange {
            vaddr: s.vaddr,
            memsz: s.memsz,
        };
        let end = s.vaddr.checked_add(s.memsz).ok_or_else(bad)?;
        let pend = page_align_up(end).ok_or_else(bad)?;
        if pend > STACK_BOTTOM || s.filesz > s.memsz {
            return Err(bad());
        }
        let in_file = s
            .offset
            .checked_add(s.filesz)
            .is_some_and(|e| e <= file.len() as u64);
        if !in_file {
            return Err(LoadError::Truncated {
                vaddr: s.vaddr,
                offset: s.offset,
                filesz: s.filesz,
            });
        }
        let prot = Prot::from_bits_truncate(
            u32::from(s.readable) | (u32::from(s.writable) << 1) | (u32::from(s.executable) << 2),
        );
        ranges.push((page_align_down(s.vaddr), pend, prot));
    }
    // Map the union of the page ranges read-write (segments may share a page).
    let mut union: Vec<(u64, u64)> = ranges.iter().map(|&(a, b, _)| (a, b)).collect();
    union.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (a, b) in union {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    for &(a, b) in &merged {
        mem.map(
            Placement::Fixed(a),
            b - a,
            Prot::RW,
            Backing::Anon(RegionKind::Image),
        )
        .map_err(|errno| LoadError::Map { addr: a, errno })?;
    }
    // Copy file bytes; zero the tail of the last file page (Linux's padzero) in case an
    // earlier segment's bytes landed there.
    for s in &segs {
        let data = &file[s.offset as usize..(s.offset + s.filesz) as usize];
        mem.write_force(s.vaddr, data)?;
        let bss = s.vaddr + s.filesz;
        let tail_end = page_align_up(bss).unwrap_or(bss).min(s.vaddr + s.memsz);
        if tail_end > bss && s.filesz > 0 {
            mem.write_force(bss, &vec![0; (tail_end - bss) as usize])?;
        }
    }
    // Final protections: each page gets the union of the protections of the segments
    // that cover it.
    let mut cuts: Vec<u64> = ranges.iter().flat_map(|&(a, b, _)| [a, b]).collect();
    cuts.sort_unstable();
    cuts.dedup();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let prot = ranges
            .iter()
            .filter(|&&(s, e, _)| s <= a && b <= e)
            .fold(None, |acc: Option<Prot>, &(_, _, p)| {
                Some(acc.unwrap_or(Prot::NONE) | p)
            });
        if let Some(p) = prot {
            mem.protect(a, b - a, p)
                .map_err(|errno| LoadError::Map { addr: a, errno })?;
        }
    }
    let start = merged.first().map_or(0, |r| r.0);
    let brk = merged.last().map_or(0, |r| r.1);
    let phdr = image.phdr_addr().unwrap_or_else(|| {
        // Like older kernels: the first segment's load bias plus e_phoff.
        segs.first()
            .and_then(|s| s.vaddr.checked_sub(s.offset))
            .and_then(|bias| bias.checked_add(image.phoff))
            .unwrap_or(0)
    });
    Ok(LoadedImage {
        entry: image.entry,
        phdr,
        phent: u64::from(image.phentsize),
        phnum: u64::from(image.phnum),
        start,
        brk,
    })
}

/// Host credentials for the auxiliary vector.
fn host_ids() -> [u64; 4] {
    // SAFETY: these libc calls take no arguments and cannot fail.
    unsafe {
        [
            u64::from(libc::getuid()),
            u64::from(libc::geteuid()),
            u64::from(libc::getgid()),
            u64::from(libc::getegid()),
        ]
    }
}

/// Fills `buf` with random bytes from the host kernel.
pub fn host_random(buf: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: writes at most `rest.len()` bytes into the `rest` buffer.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = Errno::last();
            if e == Errno::EINTR {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}

/// Maps the initial stack and lays out the strings, argc, argv, envp and the auxiliary
/// vector exactly like Linux's `create_elf_tables`. Returns the initial `sp`.
///
/// Layout from the top down: an 8-byte zero end marker, `execfn`, the environment
/// strings, the argument strings (so `argv[0]`'s bytes are lowest), alignment to 16,
/// 16 `AT_RANDOM` bytes, then (after 16-byte alignment of the final `sp`) argc, the argv
/// pointers, NULL, the envp pointers, NULL and the auxv pairs ending with `AT_NULL`.
pub fn setup_stack(
    mem: &GuestMemory,
    loaded: &LoadedImage,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &[u8],
    hwcap: u64,
) -> Result<u64, LoadError> {
    if argv
        .iter()
        .chain(envp)
        .chain(std::iter::once(&execfn.to_vec()))
        .any(|s| s.len() + 1 > MAX_ARG_STRLEN)
    {
        return Err(LoadError::ArgsTooLarge);
    }
    let strings: usize =
        argv.iter().chain(envp).map(|s| s.len() + 1).sum::<usize>() + execfn.len() + 1;
    let words = 1 + argv.len() + 1 + envp.len() + 1 + 2 * 17 + 2;
    // Linux allows argv+envp up to a quarter of the stack limit.
    if strings as u64 + words as u64 * 8 + 64 > STACK_SIZE / 4 {
        return Err(LoadError::ArgsTooLarge);
    }

    mem.map(
        Placement::Fixed(STACK_BOTTOM),
        STACK_SIZE,
        Prot::RW,
        Backing::Anon(RegionKind::Stack),
    )
    .map_err(|errno| LoadError::Map {
        addr: STACK_BOTTOM,
        errno,
    })?;

    // Strings, growing down from just below the 8-byte end marker.
    let mut p = STACK_TOP - 8;
    let mut put_str = |s: &[u8]| -> Result<u64, LoadError> {
        p -= s.len() as u64 + 1;
        let mut bytes = s.to_vec();
        bytes.push(0);
        mem.write(p, &bytes)?;
        Ok(p)
    };
    let execfn_addr = put_str(execfn)?;
    let mut env_addrs = vec![0u64; envp.len()];
    for (i, e) in envp.iter().enumerate().rev() {
        env_addrs[i] = put_str(e)?;
    }
    let mut arg_addrs = vec![0u64; argv.len()];
    for (i, a) in argv.iter().enumerate().rev() {
        arg_addrs[i] = put_str(a)?;
    }
    p &= !15; // arch_align_stack without randomization

    let mut rand = [0u8; 16];
    host_random(&mut rand).map_err(LoadError::Random)?;
    p -= 16;
    let rand_addr = p;
    mem.write(rand_addr, &rand)?;

    use auxv::*;
    let [uid, euid, gid, egid] = host_ids();
    let aux: Vec<(u64, u64)> = vec![
        (AT_HWCAP, hwcap),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_CLKTCK, 100),
        (AT_PHDR, loaded.phdr),
        (AT_PHENT, loaded.phent),
        (AT_PHNUM, loaded.phnum),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, loaded.entry),
        (AT_UID, uid),
        (AT_EUID, euid),
        (AT_GID, gid),
        (AT_EGID, egid),
        (AT_SECURE, 0),
        (AT_RANDOM, rand_addr),
        (AT_EXECFN, execfn_addr),
        (AT_NULL, 0),
    ];
    // STACK_ADD(p, ei_index) then STACK_ROUND(sp, items).
    let sp = p - aux.len() as u64 * 16;
    let items = (argv.len() + 1) + (envp.len() + 1) + 1;
    let sp = (sp - items as u64 * 8) & !15;

    let mut table: Vec<u64> = Vec::with_capacity(items + aux.len() * 2);
    table.push(argv.len() as u64);
    table.extend(&arg_addrs);
    table.push(0);
    table.extend(&env_addrs);
    table.push(0);
    for (k, v) in aux {
        table.push(k);
        table.push(v);
    }
    let bytes: Vec<u8> = table.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.write(sp, &bytes)?;
    debug_assert!(sp + bytes.len() as u64 <= rand_addr && sp < GUEST_SPACE);
    Ok(sp)
}

/// The initial stack read back from guest memory (for tests and diagnostics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    pub argc: u64,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// Auxiliary vector pairs, without the final `AT_NULL`.
    pub auxv: Vec<(u64, u64)>,
    /// Guest addresses of the argv strings.
    pub argv_addrs: Vec<u64>,
    /// Guest addresses of the envp strings.
    pub envp_addrs: Vec<u64>,
}

impl InitialStack {
    /// The value of auxv entry `key`, if present.
    pub fn aux(&self, key: u64) -> Option<u64> {
        self.auxv.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }
}

/// Parses the initial stack at `sp` the way a C runtime's `_start` does.
pub fn read_initial_stack(mem: &GuestMemory, sp: u64) -> Result<InitialStack, Fault> {
    const LIMIT: usize = 1 << 20;
    let argc = mem.read_u64(sp)?;
    let mut at = sp + 8;
    let mut argv_addrs = Vec::new();
    for _ in 0..argc.min(LIMIT as u64) {
        argv_addrs.push(mem.read_u64(at)?);
        at += 8;
    }
    if mem.read_u64(at)? != 0 {
        return Err(Fault { addr: at });
    }
    at += 8;
    let mut envp_addrs = Vec::new();
    loop {
        let v = mem.read_u64(at)?;
        at += 8;
        if v == 0 {
            break;
        }
        envp_addrs.push(v);
        if envp_addrs.len() > LIMIT {
            return Err(Fault { addr: at });
        }
    }
    let mut auxv = Vec::new();
    loop {
        let k = mem.read_u64(at)?;
        let v = mem.read_u64(at + 8)?;
        at += 16;
        if k == auxv::AT_NULL {
            break;
        }
        auxv.push((k, v));
        if auxv.len() > 1024 {
            return Err(Fault { addr: at });
        }
    }
    let strs = |addrs: &[u64]| -> Result<Vec<Vec<u8>>, Fault> {
        addrs
            .iter()
            .map(|&a| mem.read_cstr(a, MAX_ARG_STRLEN))
            .collect()
    };
    Ok(InitialStack {
        argc,
        argv: strs(&argv_addrs)?,
        envp: strs(&envp_addrs)?,
        auxv,
        argv_addrs,
        envp_addrs,
    })
}
