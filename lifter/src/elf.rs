//! The guest image model: what vmx needs to know about a guest ELF file.
//!
//! Parsing is strict: every way a file can be unusable is a distinct [`ElfError`],
//! so the CLI can say exactly what is wrong with the input.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, SymbolKind};

/// Guest instruction set architectures vmx knows about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    Riscv64,
    Aarch64,
    X86_64,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Riscv64 => "riscv64",
            Isa::Aarch64 => "aarch64",
            Isa::X86_64 => "x86_64",
        }
    }
}

/// Why a file cannot be used as a guest program.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    /// not an ELF file (bad magic)
    #[error("not an ELF file")]
    NotElf,
    /// 32-bit ELF
    #[error("32-bit ELF files are not supported (vmx runs 64-bit guests)")]
    Elf32,
    /// big-endian ELF
    #[error("big-endian ELF files are not supported")]
    BigEndian,
    #[error("truncated or malformed ELF: {0}")]
    Malformed(String),
    #[error("ELF is for machine {0} ({1}); vmx translates riscv64 and runs x86_64 natively")]
    UnsupportedMachine(u16, &'static str),
    #[error("not an executable (ELF type {0}); vmx runs programs, not objects or libraries")]
    NotExecutable(u16),
    #[error("dynamically linked (interpreter {0}); only static executables are supported so far")]
    Dynamic(String),
    #[error("position-independent executables are not supported yet; link with -static -no-pie")]
    Pie,
    #[error("ELF has no loadable segments")]
    NoSegments,
}

/// One PT_LOAD segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub readable: bool,
    pub writable: bool,
    pub executable: bool,
}

/// A function symbol from the symbol table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncSymbol {
    pub name: String,
    pub addr: u64,
    pub size: u64,
}

/// A parsed guest executable. Borrowing nothing: cheap to keep around.
#[derive(Clone, Debug)]
pub struct GuestImage {
    pub isa: Isa,
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// File offset, entry size and count of the program headers (for AT_PHDR & co).
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
    /// Function symbols, sorted by address (deduplicated).
    pub functions: Vec<FuncSymbol>,
    /// Function starts from `.eh_frame` FDEs, sorted.
    pub fde_starts: Vec<u64>,
    /// PT_TLS segment (vaddr, filesz, memsz, align), if any.
    pub tls: Option<(u64, u64, u64, u64)>,
}

fn machine_name(m: u16) -> &'static str {
    match m {
        elf::EM_386 => "i386",
        elf::EM_ARM => "arm",
        elf::EM_X86_64 => "x86_64",
        elf::EM_AARCH64 => "aarch64",
        elf::EM_RISCV => "riscv",
        elf::EM_PPC64 => "ppc64",
        elf::EM_S390 => "s390",
        elf::EM_MIPS => "mips",
        _ => "unknown",
    }
}

impl GuestImage {
    /// Parse and validate a guest executable.
    pub fn parse(data: &[u8]) -> Result<GuestImage, ElfError> {
        if data.len() < 4 || &data[..4] != b"\x7fELF" {
            return Err(ElfError::NotElf);
        }
        if data.len() < 6 {
            return Err(ElfError::Malformed(
                "file ends inside the ELF identification".into(),
            ));
        }
        match data[4] {
            elf::ELFCLASS64 => {}
            elf::ELFCLASS32 => return Err(ElfError::Elf32),
            c => return Err(ElfError::Malformed(format!("unknown ELF class {c}"))),
        }
        if data[5] == elf::ELFDATA2MSB {
            return Err(ElfError::BigEndian);
        }
        let file =
            ElfFile64::<Endianness>::parse(data).map_err(|e| ElfError::Malformed(e.to_string()))?;
        let hdr = file.elf_header();
        let endian = file.endian();
        let machine = hdr.e_machine(endian);
        let isa = match machine {
            elf::EM_RISCV => Isa::Riscv64,
            elf::EM_AARCH64 => Isa::Aarch64,
            elf::EM_X86_64 => Isa::X86_64,
            m => return Err(ElfError::UnsupportedMachine(m, machine_name(m))),
        };
        let etype = hdr.e_type(endian);
        let phdrs = hdr
            .program_headers(endian, data)
            .map_err(|e| ElfError::Malformed(e.to_string()))?;
        for ph in phdrs {
            if ph.p_type(endian) == elf::PT_INTERP {
                let interp = ph
                    .data(endian, data)
                    .ok()
                    .map(|d| {
                        String::from_utf8_lossy(d)
                            .trim_end_matches('\0')
                            .to_string()
                    })
                    .unwrap_or_default();
                return Err(ElfError::Dynamic(interp));
            }
        }
        match etype {
            elf::ET_EXEC => {}
            elf::ET_DYN => return Err(ElfError::Pie),
            t => return Err(ElfError::NotExecutable(t)),
        }
        let mut segments = Vec::new();
        let mut tls = None;
        for ph in phdrs {
            let p_type = ph.p_type(endian);
            if p_type == elf::PT_TLS {
                tls = Some((
                    ph.p_vaddr(endian),
                    ph.p_filesz(endian),
                    ph.p_memsz(endian),
                    ph.p_align(endian),
                ));
            }
            if p_type != elf::PT_LOAD {
                continue;
            }
            let flags = ph.p_flags(endian);
            let seg = Segment {
                vaddr: ph.p_vaddr(endian),
                memsz: ph.p_memsz(endian),
                offset: ph.p_offset(endian),
                filesz: ph.p_filesz(endian),
                readable: flags & elf::PF_R != 0,
                writable: flags & elf::PF_W != 0,
                executable: flags & elf::PF_X != 0,
            };
            let file_end = seg.offset.checked_add(seg.filesz);
            if file_end.is_none_or(|e| e > data.len() as u64) {
                return Err(ElfError::Malformed(format!(
                    "segment at {:#x} extends past the end of the file",
                    seg.vaddr
                )));
            }
            let mem_end = seg.vaddr.checked_add(seg.memsz);
            if seg.filesz > seg.memsz || mem_end.is_none_or(|e| e > crate::state::GUEST_SPACE) {
                return Err(ElfError::Malformed(format!(
                    "segment at {:#x} (size {:#x}) does not fit the guest address space",
                    seg.vaddr, seg.memsz
                )));
            }
            segments.push(seg);
        }
        if segments.is_empty() {
            return Err(ElfError::NoSegments);
        }
        let mut functions: Vec<FuncSymbol> = file
            .symbols()
            // Only symbols inside the guest space can name code; a size is clamped to
            // the end of the space, so `addr + size` never overflows (a fuzzed symbol of
            // size 2^64 - 1 once did, in discovery).
            .filter(|s| {
                s.kind() == SymbolKind::Text
                    && s.address() != 0
                    && s.address() < crate::state::GUEST_SPACE
            })
            .filter_map(|s| {
                Some(FuncSymbol {
                    name: s.name().ok()?.to_string(),
                    addr: s.address(),
                    size: s.size().min(crate::state::GUEST_SPACE - s.address()),
                })
            })
            .collect();
        functions.sort_by(|a, b| (a.addr, &a.name).cmp(&(b.addr, &b.name)));
        functions.dedup_by_key(|f| f.addr);
        let fde_starts = file
            .section_by_name(".eh_frame")
            .and_then(|s| Some((s.address(), s.data().ok()?)))
            .map(|(addr, bytes)| eh_frame_starts(addr, bytes))
            .unwrap_or_default();
        Ok(GuestImage {
            isa,
            entry: hdr.e_entry(endian),
            segments,
            phoff: hdr.e_phoff(endian),
            phentsize: hdr.e_phentsize(endian),
            phnum: hdr.e_phnum(endian),
            functions,
            fde_starts,
            tls,
        })
    }

    /// The segment containing `addr`, if any.
    pub fn segment_of(&self, addr: u64) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| addr >= s.vaddr && addr - s.vaddr < s.memsz)
    }

    /// Is `addr` inside an executable segment?
    pub fn is_code(&self, addr: u64) -> bool {
        self.segment_of(addr).is_some_and(|s| s.executable)
    }

    /// Bytes of the file backing `[addr, addr+len)`, if fully file-backed.
    pub fn bytes_at<'a>(&self, data: &'a [u8], addr: u64, len: u64) -> Option<&'a [u8]> {
        let s = self.segment_of(addr)?;
        let off = addr - s.vaddr;
        if off.checked_add(len)? > s.filesz {
            return None;
        }
        let start = (s.offset + off) as usize;
        data.get(start..start + len as usize)
    }

    /// The guest address at which the program headers are mapped (AT_PHDR).
    pub fn phdr_addr(&self) -> Option<u64> {
        self.segments.iter().find_map(|s| {
            (self.phoff >= s.offset && self.phoff < s.offset + s.filesz)
                .then(|| s.vaddr + (self.phoff - s.offset))
        })
    }
}

/// Function start addresses from the FDEs of an `.eh_frame` section.
fn eh_frame_starts(section_addr: u64, bytes: &[u8]) -> Vec<u64> {
    use gimli::{BaseAddresses, CieOrFde, EhFrame, LittleEndian, UnwindSection};
    let eh = EhFrame::new(bytes, LittleEndian);
    let bases = BaseAddresses::default().set_eh_frame(section_addr);
    let mut starts = Vec::new();
    let mut entries = eh.entries(&bases);
    while let Ok(Some(entry)) = entries.next() {
        if let CieOrFde::Fde(partial) = entry {
            if let Ok(fde) = partial.parse(|_, bases, o| eh.cie_from_offset(bases, o)) {
                if fde.initial_address() != 0 {
                    starts.push(fde.initial_address());
                }
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}
