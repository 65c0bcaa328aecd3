//! The in-process object linker: loads x86-64 ELF relocatable objects (as produced by
//! LLVM, PIC or static relocation model, small code model) into one anonymous mapping,
//! resolves symbols and applies relocations, without a system linker (DESIGN.md
//! decision 6).
//!
//! # Layout
//!
//! Everything goes into **one** mapping, so that PC-relative references between any two
//! parts of it always fit in ±2 GiB (the mapping is capped at 2 GiB):
//!
//! ```text
//! base ─► text      all SHF_EXECINSTR sections (.text, .text.*), gaps filled with int3
//!         stubs     16 bytes per far external callee: jmp *0(%rip); .quad target
//!         ───────── page boundary                                   ⇒ R|X
//!         GOT       8 bytes per symbol referenced through the GOT
//!         rodata    .rodata, .rodata.cst*, .rodata.str*, …
//!         relro     .data.rel.ro* (only written by relocation)
//!         ───────── page boundary                                   ⇒ R
//!         data      .data, .data.*
//!         bss       .bss, .bss.*, common symbols
//!         ───────── page boundary                                   ⇒ R|W
//! ```
//!
//! W^X: the mapping is created read-write, filled and relocated, then the text region is
//! switched to read+execute and the read-only region to read-only. No page is ever writable
//! and executable at the same time, and no page holds two regions.
//!
//! If any relocation needs an absolute 32-bit address (`R_X86_64_32`/`32S`, emitted by the
//! static relocation model), the mapping is placed in the low 2 GiB (`MAP_32BIT`).
//!
//! Skipped: non-allocated sections (symbol tables, `.comment`, debug info,
//! `.llvm_addrsig`, …), notes, and `.eh_frame` with its relocations.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io;
use std::ops::Range;

use object::elf;
use object::read::elf::{FileHeader, Rela, SectionHeader, SectionTable, Sym, SymbolTable};
use object::{LittleEndian, SectionIndex, SymbolIndex};

type Elf64 = elf::FileHeader64<LittleEndian>;

const PAGE: u64 = 4096;
/// Intra-mapping rel32 references must always fit; cap the image below 2 GiB.
const MAX_IMAGE: u64 = (1 << 31) - PAGE;
const STUB_SIZE: u64 = 16;
const GOT_ENTRY: u64 = 8;

/// Why a set of objects could not be linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// An input is not a well-formed x86-64 ELF relocatable object.
    #[error("object #{object}: {reason}")]
    BadObject {
        /// Index of the object in the input slice.
        object: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A symbol is referenced but defined nowhere and unknown to the runtime.
    #[error("undefined symbol `{0}`")]
    Undefined(String),
    /// Two objects define the same global symbol.
    #[error("duplicate definition of global symbol `{0}`")]
    Duplicate(String),
    /// A relocation type the linker does not implement.
    #[error("unsupported relocation {} (type {kind}) in section {section}", reloc_name(*kind))]
    UnsupportedRelocation {
        /// ELF `r_type`.
        kind: u32,
        /// Section the relocation applies to, as `object#index:name`.
        section: String,
    },
    /// An allocated section the linker cannot load.
    #[error("unsupported section {section}: {reason}")]
    UnsupportedSection {
        /// The section, as `object#index:name`.
        section: String,
        /// Why it is not supported.
        reason: &'static str,
    },
    /// A relocated value does not fit its field.
    #[error(
        "relocation {} against `{symbol}` at {section}+{offset:#x} does not fit: value {value:#x}",
        reloc_name(*kind)
    )]
    Overflow {
        /// ELF `r_type`.
        kind: u32,
        /// Section the relocation applies to.
        section: String,
        /// Offset of the field in that section.
        offset: u64,
        /// Target symbol name (or section name for section symbols).
        symbol: String,
        /// The value that did not fit.
        value: i128,
    },
    /// The linked image would exceed the 2 GiB that rel32 references can span.
    #[error("linked image too large ({0} bytes; the limit is 2 GiB)")]
    TooLarge(u64),
    /// mmap or mprotect failed.
    #[error("cannot map linked code: {0}")]
    Map(#[source] io::Error),
    /// [`LinkedCode::divert`] cannot patch this address.
    #[error("cannot divert {0:#x}: not a linked function in range of the diversion stub")]
    Divert(usize),
}

/// Name of an x86-64 relocation type, for messages.
fn reloc_name(kind: u32) -> &'static str {
    match kind {
        elf::R_X86_64_NONE => "R_X86_64_NONE",
        elf::R_X86_64_64 => "R_X86_64_64",
        elf::R_X86_64_PC32 => "R_X86_64_PC32",
        elf::R_X86_64_GOT32 => "R_X86_64_GOT32",
        elf::R_X86_64_PLT32 => "R_X86_64_PLT32",
        elf::R_X86_64_COPY => "R_X86_64_COPY",
        elf::R_X86_64_GLOB_DAT => "R_X86_64_GLOB_DAT",
        elf::R_X86_64_JUMP_SLOT => "R_X86_64_JUMP_SLOT",
        elf::R_X86_64_RELATIVE => "R_X86_64_RELATIVE",
        elf::R_X86_64_GOTPCREL => "R_X86_64_GOTPCREL",
        elf::R_X86_64_32 => "R_X86_64_32",
        elf::R_X86_64_32S => "R_X86_64_32S",
        elf::R_X86_64_16 => "R_X86_64_16",
        elf::R_X86_64_PC16 => "R_X86_64_PC16",
        elf::R_X86_64_8 => "R_X86_64_8",
        elf::R_X86_64_PC8 => "R_X86_64_PC8",
        elf::R_X86_64_DTPMOD64 => "R_X86_64_DTPMOD64",
        elf::R_X86_64_DTPOFF64 => "R_X86_64_DTPOFF64",
        elf::R_X86_64_TPOFF64 => "R_X86_64_TPOFF64",
        elf::R_X86_64_TLSGD => "R_X86_64_TLSGD",
        elf::R_X86_64_TLSLD => "R_X86_64_TLSLD",
        elf::R_X86_64_DTPOFF32 => "R_X86_64_DTPOFF32",
        elf::R_X86_64_GOTTPOFF => "R_X86_64_GOTTPOFF",
        elf::R_X86_64_TPOFF32 => "R_X86_64_TPOFF32",
        elf::R_X86_64_PC64 => "R_X86_64_PC64",
        elf::R_X86_64_GOTOFF64 => "R_X86_64_GOTOFF64",
        elf::R_X86_64_GOTPC32 => "R_X86_64_GOTPC32",
        elf::R_X86_64_GOT64 => "R_X86_64_GOT64",
        elf::R_X86_64_GOTPCREL64 => "R_X86_64_GOTPCREL64",
        elf::R_X86_64_GOTPC64 => "R_X86_64_GOTPC64",
        elf::R_X86_64_GOTPLT64 => "R_X86_64_GOTPLT64",
        elf::R_X86_64_PLTOFF64 => "R_X86_64_PLTOFF64",
        elf::R_X86_64_SIZE32 => "R_X86_64_SIZE32",
        elf::R_X86_64_SIZE64 => "R_X86_64_SIZE64",
        elf::R_X86_64_GOTPC32_TLSDESC => "R_X86_64_GOTPC32_TLSDESC",
        elf::R_X86_64_TLSDESC_CALL => "R_X86_64_TLSDESC_CALL",
        elf::R_X86_64_TLSDESC => "R_X86_64_TLSDESC",
        elf::R_X86_64_IRELATIVE => "R_X86_64_IRELATIVE",
        elf::R_X86_64_GOTPCRELX => "R_X86_64_GOTPCRELX",
        elf::R_X86_64_REX_GOTPCRELX => "R_X86_64_REX_GOTPCRELX",
        _ => "R_X86_64_<unknown>",
    }
}

/// Relocation types that need a GOT slot for their target.
fn uses_got_slot(kind: u32) -> bool {
    matches!(
        kind,
        elf::R_X86_64_GOT32
            | elf::R_X86_64_GOTPCREL
            | elf::R_X86_64_GOTPCRELX
            | elf::R_X86_64_REX_GOTPCRELX
            | elf::R_X86_64_GOT64
            | elf::R_X86_64_GOTPCREL64
    )
}

/// Field width in bytes of each supported relocation type; `None` if unsupported.
fn field_width(kind: u32) -> Option<u64> {
    Some(match kind {
        elf::R_X86_64_NONE => 0,
        elf::R_X86_64_8 | elf::R_X86_64_PC8 => 1,
        elf::R_X86_64_16 | elf::R_X86_64_PC16 => 2,
        elf::R_X86_64_PC32
        | elf::R_X86_64_PLT32
        | elf::R_X86_64_32
        | elf::R_X86_64_32S
        | elf::R_X86_64_GOT32
        | elf::R_X86_64_GOTPCREL
        | elf::R_X86_64_GOTPCRELX
        | elf::R_X86_64_REX_GOTPCRELX
        | elf::R_X86_64_GOTPC32
        | elf::R_X86_64_SIZE32 => 4,
        elf::R_X86_64_64
        | elf::R_X86_64_PC64
        | elf::R_X86_64_GOTOFF64
        | elf::R_X86_64_GOT64
        | elf::R_X86_64_GOTPCREL64
        | elf::R_X86_64_GOTPC64
        | elf::R_X86_64_SIZE64 => 8,
        _ => return None,
    })
}

/// Host code linked from one or more objects, in a mapping owned by this value.
///
/// Addresses returned by [`LinkedCode::symbol`] are valid only while the `LinkedCode`
/// is alive; the mapping is unmapped on drop.
pub struct LinkedCode {
    base: usize,
    len: usize,
    code: Range<usize>,
    symbols: HashMap<String, usize>,
    stats: LinkStats,
    /// The page holding the diversion stub (see [`LinkedCode::divert`]), once made.
    divert_stub: std::sync::Mutex<Option<usize>>,
}

/// Numbers about a link, for logging and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Size of the mapping in bytes.
    pub bytes: usize,
    /// Relocations applied.
    pub relocations: usize,
    /// GOT slots created.
    pub got_entries: usize,
    /// `mov foo@GOTPCREL(%rip)` instructions relaxed to `lea foo(%rip)`.
    pub relaxed: usize,
    /// Stubs created for external callees.
    pub stubs: usize,
    /// Calls and jumps routed through a stub because the callee was out of rel32 range.
    pub stub_calls: usize,
    /// Whether the mapping was placed in the low 2 GiB for 32-bit absolute relocations.
    pub low: bool,
}

impl LinkedCode {
    /// Address of the global symbol `name` defined by one of the linked objects.
    pub fn symbol(&self, name: &str) -> Option<usize> {
        self.symbols.get(name).copied()
    }

    /// Address range of the executable part (text and stubs).
    pub fn code_range(&self) -> Range<usize> {
        self.code.clone()
    }

    /// Address range of the whole mapping (code, read-only data, writable data).
    pub fn mapping_range(&self) -> Range<usize> {
        self.base..self.base + self.len
    }

    /// Numbers about the link.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// All global symbols defined by the linked objects, in no particular order.
    pub fn symbols(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.symbols.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

impl std::fmt::Debug for LinkedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkedCode")
            .field(
                "mapping",
                &format_args!("{:#x}..{:#x}", self.base, self.base + self.len),
            )
            .field(
                "code",
                &format_args!("{:#x}..{:#x}", self.code.start, self.code.end),
            )
            .field("symbols", &self.symbols.len())
            .finish()
    }
}

/// Size of the page holding the diversion stub.
const STUB_PAGE: usize = 4096;

impl LinkedCode {
    /// Redirects the functions starting at `entries` (addresses of linked functions, at
    /// least 5 bytes long) to `handler`, for good: each entry is overwritten with a call
    /// to a stub that pops that call's return address (entry + 5) into the third argument
    /// register and jumps to `handler`. So `handler` runs with the function's own first
    /// two arguments and the diverted entry + 5, on the function's stack frame, and what
    /// it returns is what the function returns.
    ///
    /// The caller must ensure no thread is executing the first 5 bytes of an entry while
    /// it is rewritten (the runtime diverts on the guest thread itself, at `fence.i`).
    pub fn divert(&self, entries: &[usize], handler: usize) -> Result<(), LinkError> {
        let stub = self.divert_stub(handler)?;
        for &entry in entries {
            if !self.code.contains(&entry) || !self.code.contains(&(entry + 4)) {
                return Err(LinkError::Divert(entry));
            }
            let rel = i32::try_from(stub as i64 - (entry as i64 + 5))
                .map_err(|_| LinkError::Divert(entry))?;
            let mut patch = [0xE8u8, 0, 0, 0, 0]; // call rel32
            patch[1..].copy_from_slice(&rel.to_le_bytes());
            let first = entry & !(STUB_PAGE - 1);
            let last = (entry + 4) & !(STUB_PAGE - 1);
            let len = last + STUB_PAGE - first;
            protect_raw(first, len, libc::PROT_READ | libc::PROT_WRITE)?;
            // SAFETY: `entry..entry+5` is inside our code mapping, which was just made
            // writable; the caller guarantees no thread executes those bytes meanwhile.
            unsafe { std::ptr::copy_nonoverlapping(patch.as_ptr(), entry as *mut u8, 5) };
            protect_raw(first, len, libc::PROT_READ | libc::PROT_EXEC)?;
        }
        Ok(())
    }

    /// The diversion stub (made on first use, within rel32 range of the code):
    /// `pop rdx; movabs rax, handler; jmp rax`.
    fn divert_stub(&self, handler: usize) -> Result<usize, LinkError> {
        let mut slot = self.divert_stub.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = *slot {
            return Ok(p);
        }
        // Right after the mapping, else right before it: always within 2 GiB of the code.
        let candidates = [self.base + self.len, self.base.saturating_sub(STUB_PAGE)];
        let mut page = None;
        for at in candidates {
            // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; the new
            // anonymous page cannot alias any Rust object.
            let p = unsafe {
                libc::mmap(
                    at as *mut libc::c_void,
                    STUB_PAGE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED && p as usize == at {
                page = Some(at);
                break;
            }
            if p != libc::MAP_FAILED {
                // An old kernel treated the flag as a hint and put the page elsewhere.
                // SAFETY: `p` is the page just mapped, referenced by nothing.
                unsafe { libc::munmap(p, STUB_PAGE) };
            }
        }
        let page = page.ok_or_else(|| {
            LinkError::Map(io::Error::other(
                "no room next to the code for the diversion stub",
            ))
        })?;
        let mut code = vec![0x5Au8, 0x48, 0xB8]; // pop rdx; movabs rax, imm64
        code.extend_from_slice(&(handler as u64).to_le_bytes());
        code.extend_from_slice(&[0xFF, 0xE0]); // jmp rax
                                               // SAFETY: `page` is our fresh, writable page; `code` is shorter than a page.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), page as *mut u8, code.len()) };
        protect_raw(page, STUB_PAGE, libc::PROT_READ | libc::PROT_EXEC)?;
        *slot = Some(page);
        Ok(page)
    }
}

/// `mprotect` on part of a mapping this module owns.
fn protect_raw(addr: usize, len: usize, prot: libc::c_int) -> Result<(), LinkError> {
    // SAFETY: callers pass page-aligned ranges inside mappings owned by a `LinkedCode`;
    // changing their protection affects no Rust object.
    let rc = unsafe { libc::mprotect(addr as *mut libc::c_void, len, prot) };
    if rc != 0 {
        return Err(LinkError::Map(io::Error::last_os_error()));
    }
    Ok(())
}

impl Drop for LinkedCode {
    fn drop(&mut self) {
        if let Some(p) = *self
            .divert_stub
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
        {
            // SAFETY: the stub page is owned by this value; nothing runs it after drop.
            unsafe { libc::munmap(p as *mut libc::c_void, STUB_PAGE) };
        }
        // SAFETY: `base..base+len` is a mapping created by `Mapping::new` and owned
        // exclusively by this value; nothing in this crate keeps references into it.
        // Code pointers handed out earlier must not be used after drop (documented).
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

/// Where a relocation target lives, before the mapping's base address is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Loc {
    /// `value` bytes into section `sec` of object `obj`.
    Sec { obj: usize, sec: usize, value: u64 },
    /// A common symbol allocated in bss (index into `Linker::globals`).
    Common(usize),
    /// An absolute address outside the mapping (runtime-supplied or `SHN_ABS`).
    Abs(u64),
    /// The start of the GOT (`_GLOBAL_OFFSET_TABLE_`, used by the large code model).
    Got,
}

impl Loc {
    fn is_mapped(self) -> bool {
        !matches!(self, Loc::Abs(_))
    }
}

/// A global definition.
#[derive(Debug, Clone, Copy)]
enum Def {
    Sec {
        obj: usize,
        sec: usize,
        value: u64,
        size: u64,
    },
    Abs {
        value: u64,
        size: u64,
    },
    Common {
        size: u64,
        align: u64,
    },
}

/// Binding strength: a strong definition beats a common one beats a weak one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    Weak,
    Common,
    Strong,
}

struct Global {
    name: String,
    def: Def,
    strength: Strength,
}

/// Section classes, in layout order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Text,
    RoData,
    Relro,
    Data,
    Bss,
}

struct Input<'a> {
    data: &'a [u8],
    endian: LittleEndian,
    sections: SectionTable<'a, Elf64>,
    symbols: SymbolTable<'a, Elf64>,
    /// Per section index: its class, if the section is loaded.
    class: Vec<Option<Class>>,
    /// Per section index: offset in the mapping, once laid out.
    offset: Vec<Option<u64>>,
}

/// A relocation to apply, with its target resolved symbolically.
struct Reloc {
    obj: usize,
    sec: usize,
    offset: u64,
    kind: u32,
    addend: i64,
    target: Loc,
    size: u64,
    sym: usize,
}

fn bad(object: usize, reason: impl Into<String>) -> LinkError {
    LinkError::BadObject {
        object,
        reason: reason.into(),
    }
}

fn align_up(value: u64, align: u64) -> Option<u64> {
    // `align` is a power of two.
    value.checked_add(align - 1).map(|v| v & !(align - 1))
}

impl<'a> Input<'a> {
    fn parse(index: usize, data: &'a [u8]) -> Result<Self, LinkError> {
        let err = |e: object::read::Error| bad(index, e.to_string());
        let header = Elf64::parse(data).map_err(err)?;
        let endian = header.endian().map_err(err)?;
        if header.e_machine(endian) != elf::EM_X86_64 {
            return Err(bad(
                index,
                format!(
                    "not an x86-64 object (e_machine {})",
                    header.e_machine(endian)
                ),
            ));
        }
        if header.e_type(endian) != elf::ET_REL {
            return Err(bad(index, "not a relocatable object (ET_REL)"));
        }
        let sections = header.sections(endian, data).map_err(err)?;
        let symbols = sections
            .symbols(endian, data, elf::SHT_SYMTAB)
            .map_err(err)?;
        let n = sections.len();
        Ok(Input {
            data,
            endian,
            sections,
            symbols,
            class: vec![None; n],
            offset: vec![None; n],
        })
    }

    fn section(&self, sec: usize) -> Option<&'a elf::SectionHeader64<LittleEndian>> {
        self.sections.section(SectionIndex(sec)).ok()
    }

    fn section_name(&self, sec: usize) -> String {
        self.section(sec)
            .and_then(|h| self.sections.section_name(self.endian, h).ok())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_else(|| format!("<section {sec}>"))
    }

    fn symbol_name(&self, sym: usize) -> String {
        let Ok(s) = self.symbols.symbol(SymbolIndex(sym)) else {
            return format!("<symbol {sym}>");
        };
        if s.st_type() == elf::STT_SECTION {
            if let Ok(Some(sec)) = self
                .symbols
                .symbol_section(self.endian, s, SymbolIndex(sym))
            {
                return self.section_name(sec.0);
            }
        }
        match self.symbols.symbol_name(self.endian, s) {
            Ok(n) if !n.is_empty() => String::from_utf8_lossy(n).into_owned(),
            _ => format!("<symbol {sym}>"),
        }
    }

    /// Decides whether and where section `sec` is loaded.
    fn classify(&self, obj: usize, sec: usize) -> Result<Option<Class>, LinkError> {
        let Some(h) = self.section(sec) else {
            return Ok(None);
        };
        let e = self.endian;
        let flags = h.sh_flags(e);
        if flags & u64::from(elf::SHF_ALLOC) == 0 {
            return Ok(None);
        }
        let unsupported = |reason| LinkError::UnsupportedSection {
            section: format!("object#{obj}:{}", self.section_name(sec)),
            reason,
        };
        let sh_type = h.sh_type(e);
        let name = self
            .sections
            .section_name(e, h)
            .map_err(|err| bad(obj, err.to_string()))?;
        if sh_type == elf::SHT_X86_64_UNWIND || name == b".eh_frame" || sh_type == elf::SHT_NOTE {
            return Ok(None);
        }
        if flags & u64::from(elf::SHF_TLS) != 0 {
            return Err(unsupported("thread-local storage is not supported"));
        }
        let exec = flags & u64::from(elf::SHF_EXECINSTR) != 0;
        let write = flags & u64::from(elf::SHF_WRITE) != 0;
        if exec && write {
            return Err(unsupported("section is both writable and executable (W^X)"));
        }
        let class = match sh_type {
            elf::SHT_PROGBITS if exec => Class::Text,
            elf::SHT_PROGBITS if write && name.starts_with(b".data.rel.ro") => Class::Relro,
            elf::SHT_PROGBITS if write => Class::Data,
            elf::SHT_PROGBITS => Class::RoData,
            elf::SHT_NOBITS if exec => {
                return Err(unsupported("executable NOBITS section"));
            }
            elf::SHT_NOBITS => Class::Bss,
            elf::SHT_INIT_ARRAY | elf::SHT_FINI_ARRAY | elf::SHT_PREINIT_ARRAY => {
                return Err(unsupported("constructors and destructors are not run"));
            }
            _ => return Err(unsupported("unknown allocated section type")),
        };
        Ok(Some(class))
    }

    /// Alignment of section `sec` (a power of two, at most a page).
    fn align(&self, obj: usize, sec: usize) -> Result<u64, LinkError> {
        let a = self
            .section(sec)
            .map_or(1, |h| h.sh_addralign(self.endian))
            .max(1);
        if !a.is_power_of_two() {
            return Err(bad(
                obj,
                format!(
                    "section {} alignment {a} is not a power of two",
                    self.section_name(sec)
                ),
            ));
        }
        if a > PAGE {
            return Err(LinkError::UnsupportedSection {
                section: format!("object#{obj}:{}", self.section_name(sec)),
                reason: "alignment larger than a page",
            });
        }
        Ok(a)
    }

    fn size(&self, sec: usize) -> u64 {
        self.section(sec).map_or(0, |h| h.sh_size(self.endian))
    }
}

struct Linker<'a, 'r> {
    inputs: Vec<Input<'a>>,
    globals: Vec<Global>,
    global_index: HashMap<String, usize>,
    resolve: &'r dyn Fn(&str) -> Option<usize>,
    external: HashMap<String, Option<usize>>,
    /// Bss offset of each common global (by index into `globals`).
    common_offset: HashMap<usize, u64>,
    /// Offset of the GOT in the mapping, once laid out.
    got_offset: u64,
}

impl<'a> Linker<'a, '_> {
    /// Collects defined global symbols of all inputs.
    fn collect_globals(&mut self) -> Result<(), LinkError> {
        for obj in 0..self.inputs.len() {
            let input = &self.inputs[obj];
            let e = input.endian;
            for (index, sym) in input.symbols.enumerate() {
                let bind = sym.st_bind();
                if bind == elf::STB_LOCAL || sym.is_undefined(e) {
                    continue;
                }
                let name = input
                    .symbols
                    .symbol_name(e, sym)
                    .map_err(|err| bad(obj, err.to_string()))?;
                let name = std::str::from_utf8(name)
                    .map_err(|_| bad(obj, "symbol name is not UTF-8"))?
                    .to_string();
                if sym.st_type() == elf::STT_GNU_IFUNC {
                    return Err(bad(
                        obj,
                        format!("symbol `{name}`: ifuncs are not supported"),
                    ));
                }
                let (def, strength) = if sym.is_common(e) {
                    let align = sym.st_value(e).max(1);
                    if !align.is_power_of_two() || align > PAGE {
                        return Err(bad(
                            obj,
                            format!("common symbol `{name}` has bad alignment {align}"),
                        ));
                    }
                    (
                        Def::Common {
                            size: sym.st_size(e),
                            align,
                        },
                        Strength::Common,
                    )
                } else {
                    let def = if sym.is_absolute(e) {
                        Def::Abs {
                            value: sym.st_value(e),
                            size: sym.st_size(e),
                        }
                    } else {
                        let sec = input
                            .symbols
                            .symbol_section(e, sym, index)
                            .map_err(|err| bad(obj, err.to_string()))?
                            .ok_or_else(|| {
                                bad(obj, format!("symbol `{name}` has an invalid section"))
                            })?;
                        if sec.0 >= input.sections.len() {
                            return Err(bad(
                                obj,
                                format!("symbol `{name}` has an invalid section"),
                            ));
                        }
                        Def::Sec {
                            obj,
                            sec: sec.0,
                            value: sym.st_value(e),
                            size: sym.st_size(e),
                        }
                    };
                    let strength = if bind == elf::STB_WEAK {
                        Strength::Weak
                    } else {
                        Strength::Strong
                    };
                    (def, strength)
                };
                match self.global_index.get(&name) {
                    None => {
                        self.global_index.insert(name.clone(), self.globals.len());
                        self.globals.push(Global {
                            name,
                            def,
                            strength,
                        });
                    }
                    Some(&i) => {
                        let old = &mut self.globals[i];
                        match (old.strength, strength) {
                            (Strength::Strong, Strength::Strong) => {
                                return Err(LinkError::Duplicate(name));
                            }
                            (Strength::Common, Strength::Common) => {
                                if let (
                                    Def::Common { size, align },
                                    Def::Common {
                                        size: s2,
                                        align: a2,
                                    },
                                ) = (&mut old.def, def)
                                {
                                    *size = (*size).max(s2);
                                    *align = (*align).max(a2);
                                }
                            }
                            (o, n) if n > o => {
                                old.def = def;
                                old.strength = strength;
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Resolves symbol `sym` of object `obj` to a location and a size.
    fn resolve_symbol(&mut self, obj: usize, sym: usize) -> Result<(Loc, u64), LinkError> {
        if sym == 0 {
            return Ok((Loc::Abs(0), 0));
        }
        let input = &self.inputs[obj];
        let e = input.endian;
        let s = input
            .symbols
            .symbol(SymbolIndex(sym))
            .map_err(|err| bad(obj, err.to_string()))?;
        if s.st_bind() == elf::STB_LOCAL {
            if s.is_absolute(e) {
                return Ok((Loc::Abs(s.st_value(e)), s.st_size(e)));
            }
            if s.is_undefined(e) || s.is_common(e) {
                return Err(bad(
                    obj,
                    format!(
                        "local symbol `{}` has no definition",
                        input.symbol_name(sym)
                    ),
                ));
            }
            let sec = input
                .symbols
                .symbol_section(e, s, SymbolIndex(sym))
                .map_err(|err| bad(obj, err.to_string()))?
                .ok_or_else(|| {
                    bad(
                        obj,
                        format!("symbol `{}` has an invalid section", input.symbol_name(sym)),
                    )
                })?;
            let loc = self.section_loc(obj, sec.0, s.st_value(e), || input.symbol_name(sym))?;
            return Ok((loc, s.st_size(e)));
        }
        let weak = s.st_bind() == elf::STB_WEAK;
        let name_bytes = input
            .symbols
            .symbol_name(e, s)
            .map_err(|err| bad(obj, err.to_string()))?;
        let name =
            std::str::from_utf8(name_bytes).map_err(|_| bad(obj, "symbol name is not UTF-8"))?;
        if name == "_GLOBAL_OFFSET_TABLE_" && !self.global_index.contains_key(name) {
            return Ok((Loc::Got, 0));
        }
        if let Some(&g) = self.global_index.get(name) {
            let global = &self.globals[g];
            return Ok(match global.def {
                Def::Sec {
                    obj,
                    sec,
                    value,
                    size,
                } => (
                    self.section_loc(obj, sec, value, || name.to_string())?,
                    size,
                ),
                Def::Abs { value, size } => (Loc::Abs(value), size),
                Def::Common { size, .. } => (Loc::Common(g), size),
            });
        }
        let addr = match self.external.get(name) {
            Some(a) => *a,
            None => {
                let a = (self.resolve)(name);
                self.external.insert(name.to_string(), a);
                a
            }
        };
        match addr {
            Some(a) => Ok((Loc::Abs(a as u64), 0)),
            // An undefined weak symbol that nobody defines is null.
            None if weak => Ok((Loc::Abs(0), 0)),
            None => Err(LinkError::Undefined(name.to_string())),
        }
    }

    /// The location `value` bytes into section `sec` of `obj`, which must be loaded.
    fn section_loc(
        &self,
        obj: usize,
        sec: usize,
        value: u64,
        what: impl FnOnce() -> String,
    ) -> Result<Loc, LinkError> {
        let input = &self.inputs[obj];
        match input.class.get(sec) {
            Some(Some(_)) => Ok(Loc::Sec { obj, sec, value }),
            Some(None) => Err(bad(
                obj,
                format!(
                    "`{}` refers to section {} which is not loaded",
                    what(),
                    input.section_name(sec)
                ),
            )),
            None => Err(bad(
                obj,
                format!("`{}` refers to an invalid section", what()),
            )),
        }
    }

    /// Address of `loc` once the mapping is at `base`.
    fn address(&self, base: u64, loc: Loc) -> u64 {
        match loc {
            Loc::Sec { obj, sec, value } => {
                let off = self.inputs[obj].offset[sec].unwrap_or(0);
                base.wrapping_add(off).wrapping_add(value)
            }
            Loc::Common(g) => base.wrapping_add(self.common_offset.get(&g).copied().unwrap_or(0)),
            Loc::Abs(a) => a,
            Loc::Got => base.wrapping_add(self.got_offset),
        }
    }
}

/// The anonymous mapping while it is being filled. Unmapped on drop unless handed over
/// to a [`LinkedCode`].
struct Mapping {
    base: usize,
    len: usize,
}

impl Mapping {
    fn new(len: u64, low: bool) -> Result<Mapping, LinkError> {
        let len = usize::try_from(len).map_err(|_| LinkError::TooLarge(len))?;
        let mut flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        if low {
            flags |= libc::MAP_32BIT;
        }
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing
        // cannot alias any existing Rust object.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(LinkError::Map(io::Error::last_os_error()));
        }
        Ok(Mapping {
            base: ptr as usize,
            len,
        })
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `base..base+len` is a live read-write mapping owned by `self` (it is
        // only made read-only/executable in `protect`, which consumes `self`), and the
        // returned borrow is tied to `&mut self`, so it is the only reference into it.
        unsafe { std::slice::from_raw_parts_mut(self.base as *mut u8, self.len) }
    }

    fn protect(&self, range: Range<u64>, prot: libc::c_int) -> Result<(), LinkError> {
        if range.is_empty() {
            return Ok(());
        }
        // SAFETY: the range is page-aligned and inside our own mapping; no Rust
        // reference into the mapping is alive (callers no longer hold `bytes()`).
        let rc = unsafe {
            libc::mprotect(
                (self.base + range.start as usize) as *mut libc::c_void,
                (range.end - range.start) as usize,
                prot,
            )
        };
        if rc != 0 {
            return Err(LinkError::Map(io::Error::last_os_error()));
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: the mapping is owned by `self` and no reference into it survives.
            unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
        }
    }
}

/// Allocation cursor for the layout; keeps the image below [`MAX_IMAGE`].
struct Cursor(u64);

impl Cursor {
    /// Aligns the cursor and returns the new position.
    fn align(&mut self, align: u64) -> Result<u64, LinkError> {
        self.place(0, align)
    }

    /// Reserves `size` bytes at the next `align`ed position and returns that position.
    fn place(&mut self, size: u64, align: u64) -> Result<u64, LinkError> {
        let at = align_up(self.0, align).ok_or(LinkError::TooLarge(u64::MAX))?;
        let end = at.checked_add(size).ok_or(LinkError::TooLarge(u64::MAX))?;
        if end > MAX_IMAGE {
            return Err(LinkError::TooLarge(end));
        }
        self.0 = end;
        Ok(at)
    }
}

/// Is the rel32 at `offset` of `data` the displacement of a direct call/jmp/jcc?
fn is_branch_rel32(data: &[u8], offset: u64) -> bool {
    let Ok(off) = usize::try_from(offset) else {
        return false;
    };
    let byte = |back: usize| off.checked_sub(back).and_then(|i| data.get(i)).copied();
    matches!(byte(1), Some(0xE8 | 0xE9))
        || (byte(2) == Some(0x0F) && matches!(byte(1), Some(0x80..=0x8F)))
}

/// Links `objects` into one executable mapping.
///
/// Undefined symbols are looked up first among the globals of all objects, then through
/// `resolve` (the runtime's helpers, libc functions…). Fails on undefined or duplicate
/// symbols, unsupported sections or relocations, and any relocation overflow.
pub fn link(
    objects: &[&[u8]],
    resolve: &dyn Fn(&str) -> Option<usize>,
) -> Result<LinkedCode, LinkError> {
    let mut linker = Linker {
        inputs: objects
            .iter()
            .enumerate()
            .map(|(i, data)| Input::parse(i, data))
            .collect::<Result<_, _>>()?,
        globals: Vec::new(),
        global_index: HashMap::new(),
        resolve,
        external: HashMap::new(),
        common_offset: HashMap::new(),
        got_offset: 0,
    };

    // 1. Which sections are loaded.
    let mut placements: Vec<(Class, usize, usize)> = Vec::new();
    for (obj, input) in linker.inputs.iter_mut().enumerate() {
        for sec in 0..input.sections.len() {
            let class = input.classify(obj, sec)?;
            input.class[sec] = class;
            if let Some(class) = class {
                placements.push((class, obj, sec));
            }
        }
    }

    // 2. Global symbols.
    linker.collect_globals()?;

    // 3. Relocations: resolve targets, find GOT slots and stubs.
    let mut relocs = Vec::new();
    let mut got: HashMap<Loc, u64> = HashMap::new();
    let mut got_order: Vec<Loc> = Vec::new();
    let mut stubs: HashMap<u64, u64> = HashMap::new();
    let mut stub_order: Vec<u64> = Vec::new();
    let mut need_low = false;
    for obj in 0..linker.inputs.len() {
        let input = &linker.inputs[obj];
        let e = input.endian;
        let symtab = input.symbols.section();
        let mut rela_sections = Vec::new();
        for (index, h) in input.sections.enumerate() {
            let sh_type = h.sh_type(e);
            if sh_type != elf::SHT_RELA && sh_type != elf::SHT_REL {
                continue;
            }
            let target = h.sh_info(e) as usize;
            if !matches!(input.class.get(target), Some(Some(_))) {
                continue; // relocations for .eh_frame, debug sections, …
            }
            if sh_type == elf::SHT_REL {
                return Err(bad(obj, "SHT_REL relocations are not used on x86-64"));
            }
            if h.link(e) != symtab {
                return Err(bad(
                    obj,
                    format!("relocation section {index:?} uses another symbol table"),
                ));
            }
            let (relas, _) = h
                .rela(e, input.data)
                .map_err(|err| bad(obj, err.to_string()))?
                .ok_or_else(|| bad(obj, "bad relocation section"))?;
            rela_sections.push((target, relas));
        }
        for (sec, relas) in rela_sections {
            let input = &linker.inputs[obj];
            let sec_size = input.size(sec);
            let is_text = input.class[sec] == Some(Class::Text);
            let sec_data = input
                .section(sec)
                .and_then(|h| h.data(e, input.data).ok())
                .unwrap_or(&[]);
            let is_nobits = input
                .section(sec)
                .is_some_and(|h| h.sh_type(e) == elf::SHT_NOBITS);
            for rela in relas {
                let kind = rela.r_type(e, false);
                let offset = rela.r_offset(e);
                let addend = rela.r_addend(e);
                let sym = rela.r_sym(e, false) as usize;
                let section_desc =
                    || format!("object#{obj}:{}", linker.inputs[obj].section_name(sec));
                let Some(width) = field_width(kind) else {
                    return Err(LinkError::UnsupportedRelocation {
                        kind,
                        section: section_desc(),
                    });
                };
                if kind == elf::R_X86_64_NONE {
                    continue;
                }
                if is_nobits || offset.checked_add(width).is_none_or(|end| end > sec_size) {
                    return Err(bad(
                        obj,
                        format!(
                            "relocation at {}+{offset:#x} is outside the section",
                            section_desc()
                        ),
                    ));
                }
                let (target, size) = linker.resolve_symbol(obj, sym)?;
                if uses_got_slot(kind) {
                    if let Entry::Vacant(v) = got.entry(target) {
                        v.insert(got_order.len() as u64);
                        got_order.push(target);
                    }
                }
                let branch = kind == elf::R_X86_64_PLT32
                    || (kind == elf::R_X86_64_PC32 && is_text && is_branch_rel32(sec_data, offset));
                if let (true, Loc::Abs(addr)) = (branch, target) {
                    if let Entry::Vacant(v) = stubs.entry(addr) {
                        v.insert(stub_order.len() as u64);
                        stub_order.push(addr);
                    }
                }
                if matches!(
                    kind,
                    elf::R_X86_64_32 | elf::R_X86_64_32S | elf::R_X86_64_16 | elf::R_X86_64_8
                ) && target.is_mapped()
                {
                    need_low = true;
                }
                if matches!(kind, elf::R_X86_64_SIZE32 | elf::R_X86_64_SIZE64)
                    && !target.is_mapped()
                    && sym != 0
                {
                    return Err(bad(
                        obj,
                        format!(
                            "size of external symbol `{}` is unknown",
                            linker.inputs[obj].symbol_name(sym)
                        ),
                    ));
                }
                relocs.push(Reloc {
                    obj,
                    sec,
                    offset,
                    kind,
                    addend,
                    target,
                    size,
                    sym,
                });
            }
        }
    }

    // 4. Layout.
    placements.sort_by_key(|&(class, obj, sec)| (class, obj, sec));
    let mut cur = Cursor(0);
    let layout_class = |linker: &mut Linker, cur: &mut Cursor, want: Class| {
        for &(_, obj, sec) in placements.iter().filter(|p| p.0 == want) {
            let input = &linker.inputs[obj];
            let at = cur.place(input.size(sec), input.align(obj, sec)?)?;
            linker.inputs[obj].offset[sec] = Some(at);
        }
        Ok::<(), LinkError>(())
    };
    layout_class(&mut linker, &mut cur, Class::Text)?;
    let stubs_off = cur.place(stub_order.len() as u64 * STUB_SIZE, STUB_SIZE)?;
    let text_end = cur.0;
    let ro_start = cur.align(PAGE)?;
    let got_off = cur.place(got_order.len() as u64 * GOT_ENTRY, GOT_ENTRY)?;
    linker.got_offset = got_off;
    layout_class(&mut linker, &mut cur, Class::RoData)?;
    layout_class(&mut linker, &mut cur, Class::Relro)?;
    let rw_start = cur.align(PAGE)?;
    layout_class(&mut linker, &mut cur, Class::Data)?;
    layout_class(&mut linker, &mut cur, Class::Bss)?;
    for g in 0..linker.globals.len() {
        if let Def::Common { size, align } = linker.globals[g].def {
            let at = cur.place(size, align)?;
            linker.common_offset.insert(g, at);
        }
    }
    let total = cur.align(PAGE)?.max(PAGE);

    // 5. Map, copy, build stubs and GOT.
    let mut stats = LinkStats {
        bytes: total as usize,
        relocations: relocs.len(),
        got_entries: got_order.len(),
        stubs: stub_order.len(),
        low: need_low,
        ..LinkStats::default()
    };
    let mut map = Mapping::new(total, need_low)?;
    let base = map.base as u64;
    {
        let mem = map.bytes();
        mem[..ro_start as usize].fill(0xCC);
        for &(_, obj, sec) in &placements {
            let input = &linker.inputs[obj];
            let Some(h) = input.section(sec) else {
                continue;
            };
            if h.sh_type(input.endian) == elf::SHT_NOBITS {
                continue; // already zero
            }
            let data = h
                .data(input.endian, input.data)
                .map_err(|err| bad(obj, err.to_string()))?;
            let at = input.offset[sec].unwrap_or(0) as usize;
            let dst = mem
                .get_mut(at..at + data.len())
                .ok_or_else(|| bad(obj, "section data larger than its size"))?;
            dst.copy_from_slice(data);
        }
        for (i, &addr) in stub_order.iter().enumerate() {
            let at = (stubs_off + i as u64 * STUB_SIZE) as usize;
            let stub = &mut mem[at..at + STUB_SIZE as usize];
            stub[..6].copy_from_slice(&[0xFF, 0x25, 0, 0, 0, 0]); // jmp *0(%rip)
            stub[6..14].copy_from_slice(&addr.to_le_bytes());
            stub[14..].copy_from_slice(&[0xCC, 0xCC]);
        }
        for (i, &loc) in got_order.iter().enumerate() {
            let at = (got_off + i as u64 * GOT_ENTRY) as usize;
            mem[at..at + 8].copy_from_slice(&linker.address(base, loc).to_le_bytes());
        }

        // 6. Apply relocations.
        let got_base = base + got_off;
        for r in &relocs {
            apply(
                &linker, mem, base, got_base, stubs_off, &stubs, &got, r, &mut stats,
            )?;
        }
    }

    // 7. W^X: text+stubs R|X, GOT+rodata+relro R, data+bss stay R|W.
    map.protect(0..ro_start, libc::PROT_READ | libc::PROT_EXEC)?;
    map.protect(ro_start..rw_start, libc::PROT_READ)?;

    let mut symbols = HashMap::new();
    for (g, global) in linker.globals.iter().enumerate() {
        let loc = match global.def {
            Def::Sec {
                obj, sec, value, ..
            } => match linker.inputs[obj].class.get(sec) {
                Some(Some(_)) => Loc::Sec { obj, sec, value },
                _ => continue,
            },
            Def::Abs { value, .. } => Loc::Abs(value),
            Def::Common { .. } => Loc::Common(g),
        };
        symbols.insert(global.name.clone(), linker.address(base, loc) as usize);
    }
    tracing::debug!(objects = objects.len(), ?stats, "linked host code");

    let code = map.base..map.base + text_end as usize;
    let linked = LinkedCode {
        base: map.base,
        len: map.len,
        code,
        symbols,
        stats,
        divert_stub: std::sync::Mutex::new(None),
    };
    // Ownership of the mapping moves to `linked`.
    std::mem::forget(map);
    Ok(linked)
}

/// Applies one relocation.
#[allow(clippy::too_many_arguments)]
fn apply(
    linker: &Linker,
    mem: &mut [u8],
    base: u64,
    got_base: u64,
    stubs_off: u64,
    stubs: &HashMap<u64, u64>,
    got: &HashMap<Loc, u64>,
    r: &Reloc,
    stats: &mut LinkStats,
) -> Result<(), LinkError> {
    let input = &linker.inputs[r.obj];
    let sec_off = input.offset[r.sec].unwrap_or(0);
    let field = (sec_off + r.offset) as usize;
    let p = i128::from(base + sec_off + r.offset);
    let s = i128::from(linker.address(base, r.target));
    let a = i128::from(r.addend);
    let z = i128::from(r.size);
    let g = || i128::from(got.get(&r.target).copied().unwrap_or(0) * GOT_ENTRY);
    let got_addr = i128::from(got_base);
    let stub = |addr: u64| {
        stubs
            .get(&addr)
            .map(|i| i128::from(base + stubs_off + i * STUB_SIZE))
    };
    let fits_i32 = |v: i128| i32::try_from(v).is_ok();

    let overflow = |value: i128| LinkError::Overflow {
        kind: r.kind,
        section: format!("object#{}:{}", r.obj, input.section_name(r.sec)),
        offset: r.offset,
        symbol: input.symbol_name(r.sym),
        value,
    };

    // (value, width, signed-check?) — checks: Signed: fits iN; Unsigned: fits uN;
    // Either: fits iN or uN (bitfield); Wrap: no check (64-bit fields).
    enum Check {
        Signed,
        Unsigned,
        Either,
        Wrap,
    }
    let (value, width, check) = match r.kind {
        elf::R_X86_64_64 => (s + a, 8, Check::Wrap),
        elf::R_X86_64_PC32 | elf::R_X86_64_PLT32 => {
            let direct = s + a - p;
            let v = match (fits_i32(direct), r.target, stub(s as u64)) {
                (true, _, _) => direct,
                (false, Loc::Abs(_), Some(stub)) => {
                    stats.stub_calls += 1;
                    stub + a - p
                }
                _ => direct,
            };
            (v, 4, Check::Signed)
        }
        elf::R_X86_64_REX_GOTPCRELX if r.target.is_mapped() => {
            // Relax `mov foo@GOTPCREL(%rip), %r64` (REX.W 8B /r) to `lea foo(%rip), %r64`
            // (REX.W 8D /r): same register, no memory load, no GOT slot needed.
            let direct = s + a - p;
            let rex_w = field
                .checked_sub(3)
                .and_then(|i| mem.get(i))
                .is_some_and(|b| b & 0xF8 == 0x48);
            match field.checked_sub(2) {
                Some(i) if rex_w && mem.get(i) == Some(&0x8B) && fits_i32(direct) => {
                    mem[i] = 0x8D;
                    stats.relaxed += 1;
                    (direct, 4, Check::Signed)
                }
                _ => (got_addr + g() + a - p, 4, Check::Signed),
            }
        }
        elf::R_X86_64_GOTPCREL | elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX => {
            (got_addr + g() + a - p, 4, Check::Signed)
        }
        elf::R_X86_64_GOT32 => (g() + a, 4, Check::Signed),
        elf::R_X86_64_32 => (s + a, 4, Check::Unsigned),
        elf::R_X86_64_32S => (s + a, 4, Check::Signed),
        elf::R_X86_64_16 => (s + a, 2, Check::Either),
        elf::R_X86_64_PC16 => (s + a - p, 2, Check::Signed),
        elf::R_X86_64_8 => (s + a, 1, Check::Either),
        elf::R_X86_64_PC8 => (s + a - p, 1, Check::Signed),
        elf::R_X86_64_PC64 => (s + a - p, 8, Check::Wrap),
        elf::R_X86_64_GOTOFF64 => (s + a - got_addr, 8, Check::Wrap),
        elf::R_X86_64_GOTPC32 => (got_addr + a - p, 4, Check::Signed),
        elf::R_X86_64_GOT64 => (g() + a, 8, Check::Wrap),
        elf::R_X86_64_GOTPCREL64 => (got_addr + g() + a - p, 8, Check::Wrap),
        elf::R_X86_64_GOTPC64 => (got_addr + a - p, 8, Check::Wrap),
        elf::R_X86_64_SIZE32 => (z + a, 4, Check::Unsigned),
        elf::R_X86_64_SIZE64 => (z + a, 8, Check::Wrap),
        kind => {
            return Err(LinkError::UnsupportedRelocation {
                kind,
                section: format!("object#{}:{}", r.obj, input.section_name(r.sec)),
            })
        }
    };
    let bits = width * 8;
    let ok = match check {
        Check::Wrap => true,
        Check::Signed => value >= -(1i128 << (bits - 1)) && value < (1i128 << (bits - 1)),
        Check::Unsigned => value >= 0 && value < (1i128 << bits),
        Check::Either => value >= -(1i128 << (bits - 1)) && value < (1i128 << bits),
    };
    if !ok {
        return Err(overflow(value));
    }
    let bytes = (value as u64).to_le_bytes();
    let dst = mem
        .get_mut(field..field + width)
        .ok_or_else(|| bad(r.obj, "relocation outside the mapping"))?;
    dst.copy_from_slice(&bytes[..width]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A scratch directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "vmx-link-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn find_tool(candidates: &[&str]) -> Option<String> {
        candidates
            .iter()
            .find(|c| {
                Command::new(c)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .map(|c| c.to_string())
    }

    fn clang() -> Option<String> {
        let tool = find_tool(&["/usr/lib/llvm-19/bin/clang", "clang-19"]);
        if tool.is_none() {
            eprintln!("skipping: clang-19 not found (apt-get install clang-19)");
        }
        tool
    }

    fn llc() -> Option<String> {
        let tool = find_tool(&["/usr/lib/llvm-19/bin/llc", "llc-19"]);
        if tool.is_none() {
            eprintln!("skipping: llc-19 not found (apt-get install llvm-19)");
        }
        tool
    }

    fn run(tool: &str, args: &[&str], dir: &Path) -> Vec<u8> {
        let out = Command::new(tool)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(dir.join("out.o")).unwrap()
    }

    /// Compiles C source to an object with `clang -c -O2` and the given flags.
    fn cc(src: &str, flags: &[&str]) -> Option<Vec<u8>> {
        let clang = clang()?;
        let dir = TempDir::new();
        std::fs::write(dir.0.join("in.c"), src).unwrap();
        let mut args = vec!["-c", "-O2", "in.c", "-o", "out.o"];
        args.extend_from_slice(flags);
        Some(run(&clang, &args, &dir.0))
    }

    /// Compiles LLVM IR with `llc -filetype=obj -relocation-model=<model>`.
    fn llc_obj(ir: &str, model: &str) -> Option<Vec<u8>> {
        let llc = llc()?;
        let dir = TempDir::new();
        std::fs::write(dir.0.join("in.ll"), ir).unwrap();
        let model = format!("-relocation-model={model}");
        Some(run(
            &llc,
            &["-O2", "-filetype=obj", &model, "in.ll", "-o", "out.o"],
            &dir.0,
        ))
    }

    const PIC: &[&str] = &["-fPIC"];
    const STATIC: &[&str] = &["-fno-pic", "-mcmodel=small"];
    /// Other code models and options: medium/large models use GOTOFF64, GOTPC64, GOT64,
    /// PC64 and `_GLOBAL_OFFSET_TABLE_`; -fno-plt calls through GOTPCRELX.
    const OTHER_MODELS: &[&[&str]] = &[
        &["-fPIC", "-mcmodel=medium"],
        &["-fPIC", "-mcmodel=large"],
        &["-fno-pic", "-mcmodel=medium"],
        &["-fno-pic", "-mcmodel=large"],
        &["-fPIC", "-fno-plt"],
    ];

    fn no_externals(_: &str) -> Option<usize> {
        None
    }

    /// Looks up `name` and casts it to the function pointer type `F`.
    ///
    /// # Safety
    /// `F` must be the `extern "C"` signature of the linked function, and the result must
    /// not be called after `code` is dropped.
    unsafe fn func<F: Copy>(code: &LinkedCode, name: &str) -> F {
        assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<usize>());
        let addr = code
            .symbol(name)
            .unwrap_or_else(|| panic!("no symbol {name}"));
        assert!(code.code_range().contains(&addr), "{name} not in code");
        // SAFETY: guaranteed by the caller; F is pointer-sized (checked above).
        unsafe { std::mem::transmute_copy::<usize, F>(&addr) }
    }

    /// Asserts that no mapping overlapping the linked code is both writable and
    /// executable, and that code is executable and not writable.
    fn check_wx(code: &LinkedCode) {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let range = code.mapping_range();
        let mut seen_exec = false;
        for line in maps.lines() {
            let mut parts = line.split_whitespace();
            let (Some(addrs), Some(perms)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Some((lo, hi)) = addrs.split_once('-') else {
                continue;
            };
            let lo = usize::from_str_radix(lo, 16).unwrap();
            let hi = usize::from_str_radix(hi, 16).unwrap();
            if hi <= range.start || lo >= range.end {
                continue;
            }
            let (w, x) = (perms.contains('w'), perms.contains('x'));
            assert!(!(w && x), "W+X mapping {line}");
            if lo <= code.code_range().start && code.code_range().start < hi {
                assert!(x && !w, "code mapping is {perms}: {line}");
                seen_exec = true;
            }
        }
        assert!(seen_exec, "linked code not found in /proc/self/maps");
    }

    const MUTUAL_A: &str = r#"
        int b_fn(int);
        int a_fn(int x) { return x <= 0 ? 1 : b_fn(x - 1) * 2; }
    "#;
    const MUTUAL_B: &str = r#"
        int a_fn(int);
        int b_fn(int x) { return x <= 0 ? 3 : a_fn(x - 1) + 5; }
    "#;

    fn expect_mutual(x: i32) -> i32 {
        fn a(x: i32) -> i32 {
            if x <= 0 {
                1
            } else {
                b(x - 1) * 2
            }
        }
        fn b(x: i32) -> i32 {
            if x <= 0 {
                3
            } else {
                a(x - 1) + 5
            }
        }
        a(x)
    }

    fn mutual_calls(flags: &[&str]) {
        let (Some(a), Some(b)) = (cc(MUTUAL_A, flags), cc(MUTUAL_B, flags)) else {
            return;
        };
        let code = link(&[&a, &b], &no_externals).unwrap();
        // Calls only: no absolute 32-bit relocations, so no need for low memory.
        assert!(!code.stats().low);
        // SAFETY: a_fn is `int a_fn(int)`; `code` outlives the calls.
        let a_fn: extern "C" fn(i32) -> i32 = unsafe { func(&code, "a_fn") };
        for x in 0..12 {
            assert_eq!(a_fn(x), expect_mutual(x), "a_fn({x})");
        }
        check_wx(&code);
    }

    #[test]
    fn link_mutual_calls_pic() {
        mutual_calls(PIC);
    }

    #[test]
    fn link_mutual_calls_static() {
        mutual_calls(STATIC);
    }

    extern "C" fn host_add(a: i64, b: i64) -> i64 {
        a * 1000 + b
    }

    const EXTERNAL: &str = r#"
        #include <string.h>
        long host_add(long, long);
        long call_host(long x) { return host_add(x, 7) * 2; }
        /* Copies through memcpy with a runtime length, so it stays a libc call. */
        long copy_sum(const char *s, unsigned long n) {
            char buf[64];
            if (n > sizeof buf) n = sizeof buf;
            memcpy(buf, s, n);
            long sum = 0;
            for (unsigned long i = 0; i < n; i++) sum += buf[i];
            return sum;
        }
        /* Tail call to the external. */
        long tail_host(long x) { return host_add(x, x); }
    "#;

    fn resolve_host(name: &str) -> Option<usize> {
        match name {
            "host_add" => Some(host_add as *const () as usize),
            "memcpy" => Some(libc::memcpy as *const () as usize),
            _ => None,
        }
    }

    fn external_calls(flags: &[&str]) {
        let Some(obj) = cc(EXTERNAL, flags) else {
            return;
        };
        let code = link(&[&obj], &resolve_host).unwrap();
        // SAFETY: signatures match the C source; `code` outlives the calls.
        let (call_host, copy_sum, tail_host) = unsafe {
            (
                func::<extern "C" fn(i64) -> i64>(&code, "call_host"),
                func::<extern "C" fn(*const u8, u64) -> i64>(&code, "copy_sum"),
                func::<extern "C" fn(i64) -> i64>(&code, "tail_host"),
            )
        };
        // The host function lives in the test executable, far from an mmap'ed region
        // (or, in the static model, the low 2 GiB), so calls go through stubs.
        if flags == PIC || flags == STATIC {
            let stats = code.stats();
            assert_eq!(stats.stubs, 2, "{stats:?}");
            assert!(stats.stub_calls >= 2, "{stats:?}");
        }
        assert_eq!(call_host(5), (5 * 1000 + 7) * 2);
        assert_eq!(tail_host(3), 3003);
        let text = b"hello, linker";
        let expected: i64 = text.iter().map(|&b| i64::from(b)).sum();
        assert_eq!(copy_sum(text.as_ptr(), text.len() as u64), expected);
        check_wx(&code);
    }

    #[test]
    fn link_external_host_function_pic() {
        external_calls(PIC);
    }

    #[test]
    fn link_external_host_function_static() {
        external_calls(STATIC);
    }

    const SWITCH: &str = r#"
        int sw(int k, int x) {
            switch (k) {
            case 0: return x * 3;
            case 1: return x + 7;
            case 2: return x ^ 0x55;
            case 3: return x << 2;
            case 4: return x - 9;
            case 5: return x * x;
            case 6: return x / 3;
            case 7: return ~x;
            case 8: return x | 0x100;
            default: return -1;
            }
        }
    "#;

    fn expect_switch(k: i32, x: i32) -> i32 {
        match k {
            0 => x * 3,
            1 => x + 7,
            2 => x ^ 0x55,
            3 => x << 2,
            4 => x - 9,
            5 => x * x,
            6 => x / 3,
            7 => !x,
            8 => x | 0x100,
            _ => -1,
        }
    }

    /// Does the object have relocations from a rodata section (the jump table)?
    fn has_rodata_relocs(obj: &[u8]) -> bool {
        let header = Elf64::parse(obj).unwrap();
        let e = header.endian().unwrap();
        let sections = header.sections(e, obj).unwrap();
        sections.iter().any(|h| {
            h.sh_type(e) == elf::SHT_RELA && {
                let target = sections
                    .section(SectionIndex(h.sh_info(e) as usize))
                    .unwrap();
                sections
                    .section_name(e, target)
                    .unwrap()
                    .starts_with(b".rodata")
            }
        })
    }

    fn switch_table(flags: &[&str]) {
        let Some(obj) = cc(SWITCH, flags) else {
            return;
        };
        assert!(has_rodata_relocs(&obj), "expected a jump table in .rodata");
        let code = link(&[&obj], &no_externals).unwrap();
        // The static model's jump table is indexed with an absolute 32-bit address
        // (R_X86_64_32S), so the mapping must sit in the low 2 GiB.
        let low = code.stats().low;
        if flags == PIC || flags == STATIC {
            assert_eq!(low, flags == STATIC);
        }
        if low {
            assert!(code.mapping_range().end <= 1 << 31, "{code:?}");
        }
        // SAFETY: `int sw(int, int)`; `code` outlives the calls.
        let sw: extern "C" fn(i32, i32) -> i32 = unsafe { func(&code, "sw") };
        for k in -2..12 {
            for x in [0, 1, 5, -7, 1000] {
                assert_eq!(sw(k, x), expect_switch(k, x), "sw({k}, {x})");
            }
        }
        check_wx(&code);
    }

    #[test]
    fn link_switch_jump_table_pic() {
        switch_table(PIC);
    }

    #[test]
    fn link_switch_jump_table_static() {
        switch_table(STATIC);
    }

    const GLOBALS: &str = r#"
        int counter;                 /* bss */
        int initialized = 42;        /* data */
        static int hist[100];        /* local bss */
        static const char *const names[] = { "zero", "one", "two" }; /* relro / rodata */
        int twice(int x) { return 2 * x; }
        int (*fp)(int) = twice;      /* data with an absolute pointer */
        int bump(void) {
            counter += initialized;
            hist[counter % 100]++;
            return counter;
        }
        int hist_at(int i) { return hist[i]; }
        int call_fp(int x) { return fp(x); }
        const char *name(int i) { return names[i]; }
    "#;

    fn globals(flags: &[&str]) {
        let Some(obj) = cc(GLOBALS, flags) else {
            return;
        };
        let code = link(&[&obj], &no_externals).unwrap();
        // SAFETY: signatures match the C source; `code` outlives the calls.
        let (bump, hist_at, call_fp, name) = unsafe {
            (
                func::<extern "C" fn() -> i32>(&code, "bump"),
                func::<extern "C" fn(i32) -> i32>(&code, "hist_at"),
                func::<extern "C" fn(i32) -> i32>(&code, "call_fp"),
                func::<extern "C" fn(i32) -> *const std::ffi::c_char>(&code, "name"),
            )
        };
        if flags == PIC {
            // `counter`/`initialized`/`fp` are preemptible under -fPIC, so they are
            // accessed through the GOT, and the loads get relaxed to `lea`.
            let stats = code.stats();
            assert!(stats.got_entries >= 2 && stats.relaxed >= 2, "{stats:?}");
        }
        assert_eq!(bump(), 42);
        assert_eq!(bump(), 84);
        assert_eq!(hist_at(42), 1);
        assert_eq!(hist_at(84), 1);
        assert_eq!(hist_at(0), 0);
        assert_eq!(call_fp(21), 42);
        for (i, n) in ["zero", "one", "two"].iter().enumerate() {
            // SAFETY: `name` returns a pointer to a NUL-terminated string literal in
            // the linked rodata, alive as long as `code`.
            let s = unsafe { std::ffi::CStr::from_ptr(name(i as i32)) };
            assert_eq!(s.to_str().unwrap(), *n);
        }
        // The exported data symbols point at the live variables.
        let counter = code.symbol("counter").unwrap();
        let initialized = code.symbol("initialized").unwrap();
        assert!(!code.code_range().contains(&counter));
        // SAFETY: both are aligned `int` variables in the writable part of the mapping.
        unsafe {
            assert_eq!(*(counter as *const i32), 84);
            *(initialized as *mut i32) = 1;
        }
        assert_eq!(bump(), 85);
        check_wx(&code);
    }

    #[test]
    fn link_globals_data_bss_pic() {
        globals(PIC);
    }

    #[test]
    fn link_globals_data_bss_static() {
        globals(STATIC);
    }

    const FLOATS: &str = r#"
        double poly(double x) { return x * 1.2345 + 6.789; }
        float polyf(float x) { return x * 3.5f + 0.25f; }
        void scale(float *a) { for (int i = 0; i < 16; i++) a[i] = a[i] * 1.5f + 0.5f; }
    "#;

    fn floats(flags: &[&str]) {
        let Some(obj) = cc(FLOATS, flags) else {
            return;
        };
        let code = link(&[&obj], &no_externals).unwrap();
        // SAFETY: signatures match the C source; `code` outlives the calls.
        let (poly, polyf, scale) = unsafe {
            (
                func::<extern "C" fn(f64) -> f64>(&code, "poly"),
                func::<extern "C" fn(f32) -> f32>(&code, "polyf"),
                func::<extern "C" fn(*mut f32)>(&code, "scale"),
            )
        };
        assert_eq!(poly(2.0), 2.0 * 1.2345 + 6.789);
        assert_eq!(polyf(2.0), 2.0 * 3.5 + 0.25);
        let mut a: Vec<f32> = (0..16).map(|i| i as f32).collect();
        scale(a.as_mut_ptr());
        for (i, v) in a.iter().enumerate() {
            assert_eq!(*v, i as f32 * 1.5 + 0.5);
        }
        check_wx(&code);
    }

    #[test]
    fn link_float_constant_pool_pic() {
        floats(PIC);
    }

    #[test]
    fn link_float_constant_pool_static() {
        floats(STATIC);
    }

    #[test]
    fn link_other_code_models() {
        for &flags in OTHER_MODELS {
            eprintln!("code model {flags:?}");
            mutual_calls(flags);
            external_calls(flags);
            switch_table(flags);
            globals(flags);
            floats(flags);
        }
    }

    #[test]
    fn link_llc_objects() {
        // Shaped like translator output: guest state pointer in, helper calls, a switch
        // and a module-level constant table.
        let ir = r#"
            target triple = "x86_64-unknown-linux-gnu"
            @table = internal constant [4 x i64] [i64 11, i64 22, i64 33, i64 44]
            @hits = global i64 0
            declare i64 @vmx_helper(ptr, i64)
            define i64 @block(ptr %state, i64 %k) {
            entry:
              %h = load i64, ptr @hits
              %h1 = add i64 %h, 1
              store i64 %h1, ptr @hits
              switch i64 %k, label %def [
                i64 0, label %c0
                i64 1, label %c1
                i64 2, label %c2
                i64 3, label %c3
                i64 4, label %c4
                i64 5, label %c5
              ]
            c0:
              %r0 = call i64 @vmx_helper(ptr %state, i64 100)
              ret i64 %r0
            c1:
              %p = getelementptr [4 x i64], ptr @table, i64 0, i64 %k
              %v = load i64, ptr %p
              ret i64 %v
            c2:
              %m = mul i64 %k, 77
              ret i64 %m
            c3:
              %s = shl i64 %k, 9
              ret i64 %s
            c4:
              %r4 = call i64 @vmx_helper(ptr %state, i64 %k)
              %r4b = add i64 %r4, 1
              ret i64 %r4b
            c5:
              %x = xor i64 %k, 12345
              ret i64 %x
            def:
              ret i64 -1
            }
        "#;
        extern "C" fn vmx_helper(state: *mut u64, v: i64) -> i64 {
            // SAFETY: the test passes a valid pointer to a u64.
            unsafe { *state += 1 };
            v * 10
        }
        let resolve =
            |name: &str| (name == "vmx_helper").then_some(vmx_helper as *const () as usize);
        for model in ["pic", "static"] {
            let Some(obj) = llc_obj(ir, model) else {
                return;
            };
            let code = link(&[&obj], &resolve).unwrap();
            // SAFETY: matches `i64 @block(ptr, i64)`; `code` outlives the calls.
            let block: extern "C" fn(*mut u64, i64) -> i64 = unsafe { func(&code, "block") };
            let mut state = 0u64;
            assert_eq!(block(&mut state, 0), 1000);
            assert_eq!(block(&mut state, 1), 22);
            assert_eq!(block(&mut state, 2), 154);
            assert_eq!(block(&mut state, 3), 3 << 9);
            assert_eq!(block(&mut state, 4), 41);
            assert_eq!(block(&mut state, 5), 5 ^ 12345);
            assert_eq!(block(&mut state, 9), -1);
            assert_eq!(state, 2);
            let hits = code.symbol("hits").unwrap();
            // SAFETY: `hits` is an aligned i64 global in the writable data region.
            assert_eq!(unsafe { *(hits as *const i64) }, 7);
            check_wx(&code);
        }
    }

    #[test]
    fn link_weak_and_common_symbols() {
        let a = cc(
            r#"
            extern int maybe(void) __attribute__((weak));
            int has_maybe(void) { return maybe != 0; }
            int over(void) __attribute__((weak));
            int over(void) { return 1; }
            int call_over(void) { return over(); }
            int shared;
            int bump_shared(void) { return ++shared; }
            "#,
            &["-fPIC", "-fcommon"],
        );
        let b = cc(
            r#"
            int over(void) { return 2; }
            int shared;
            int get_shared(void) { return shared; }
            "#,
            &["-fPIC", "-fcommon"],
        );
        let (Some(a), Some(b)) = (a, b) else {
            return;
        };
        let code = link(&[&a, &b], &no_externals).unwrap();
        // SAFETY: signatures match the C source; `code` outlives the calls.
        unsafe {
            assert_eq!(func::<extern "C" fn() -> i32>(&code, "has_maybe")(), 0);
            assert_eq!(func::<extern "C" fn() -> i32>(&code, "call_over")(), 2);
            func::<extern "C" fn() -> i32>(&code, "bump_shared")();
            func::<extern "C" fn() -> i32>(&code, "bump_shared")();
            assert_eq!(func::<extern "C" fn() -> i32>(&code, "get_shared")(), 2);
        }
    }

    #[test]
    fn link_errors() {
        let Some(a) = cc(MUTUAL_A, PIC) else {
            return;
        };
        match link(&[&a], &no_externals) {
            Err(LinkError::Undefined(name)) => assert_eq!(name, "b_fn"),
            other => panic!("expected Undefined, got {other:?}"),
        }
        match link(&[&a, &a], &|_| Some(0x1000)) {
            Err(LinkError::Duplicate(name)) => assert_eq!(name, "a_fn"),
            other => panic!("expected Duplicate, got {other:?}"),
        }
        assert!(matches!(
            link(&[b"not an object"], &no_externals),
            Err(LinkError::BadObject { object: 0, .. })
        ));
        // Thread-locals are refused with a clear error.
        if let Some(tls) = cc("__thread int t; int get(void) { return t; }", PIC) {
            let err = link(&[&tls], &no_externals).unwrap_err();
            assert!(
                matches!(
                    err,
                    LinkError::UnsupportedSection { .. } | LinkError::UnsupportedRelocation { .. }
                ),
                "{err}"
            );
        }
        // Other architectures are refused.
        if let Some(arm) = cc(
            "int f(int x) { return x + 1; }",
            &["--target=aarch64-linux-gnu"],
        ) {
            let err = link(&[&arm], &no_externals).unwrap_err();
            assert!(err.to_string().contains("not an x86-64 object"), "{err}");
        }
        // Nothing to link is fine.
        let empty = link(&[], &no_externals).unwrap();
        assert!(empty.code_range().is_empty());
    }

    #[test]
    fn link_static_far_absolute_data_overflows() {
        // The static model takes `&host_var` as a 32-bit immediate; a host address above
        // 4 GiB cannot be encoded and must be an error, not a truncated address.
        let Some(obj) = cc(
            "extern int host_var; int *addr(void) { return &host_var; }",
            STATIC,
        ) else {
            return;
        };
        let err = link(&[&obj], &|_| Some(0x7fff_0000_1000)).unwrap_err();
        assert!(matches!(err, LinkError::Overflow { .. }), "{err}");
        assert!(err.to_string().contains("host_var"), "{err}");
    }

    #[test]
    fn link_corrupt_objects_never_panic() {
        let Some(obj) = cc(EXTERNAL, PIC) else {
            return;
        };
        let resolve = |name: &str| resolve_host(name).or(Some(0x1000));
        for n in 0..obj.len() {
            let _ = link(&[&obj[..n]], &resolve);
        }
        let mut copy = obj.clone();
        for i in 0..obj.len() {
            for bit in 0..8 {
                copy[i] ^= 1 << bit;
                let _ = link(&[&copy], &resolve);
                copy[i] ^= 1 << bit;
            }
        }
    }
}
