//! The KVM virtual machine for native x86-64 guests: memory slots, the ring-0 stub,
//! descriptor tables, guest page tables and the vCPUs (one per guest thread, each with
//! its own TSS and stub stacks in the kernel area). All `unsafe` code of the KVM backend
//! is in this module.
//!
//! Guest-physical layout:
//!
//! ```text
//! [0, GUEST_SPACE)                 slot 0: the runtime's reserved guest region
//!                                  (guest-physical A = guest-virtual A = host base + A)
//! [KPHYS, KPHYS + KAREA_SIZE)      slot 1: the runtime-owned "kernel area": GDT, IDT,
//!                                  the stub's code, per vCPU a TSS and stacks, the
//!                                  page tables
//! ```
//!
//! Guest-virtual layout: user pages `[0, GUEST_SPACE)` map 1:1 to slot 0 with the
//! guest's protections (user, NX unless executable, read-only unless writable); they are
//! filled in lazily by page faults ([`Vm::populate`]) and removed by [`Vm::zap`]. The
//! kernel area is mapped at [`KVIRT`] with 2 MiB supervisor-only pages, so ring 3 can
//! neither read nor write it.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use kvm_bindings::{
    kvm_regs, kvm_segment, kvm_sregs, kvm_userspace_memory_region, kvm_xsave, KVM_MAX_CPUID_ENTRIES,
};
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};

use crate::memory::{GuestMemory, Prot, GUEST_SPACE, PAGE_SIZE};

/// Guest-physical address of the kernel area (just above the guest space).
pub const KPHYS: u64 = GUEST_SPACE;
/// Guest-virtual address of the kernel area (the top 512 GiB slot, supervisor only).
pub const KVIRT: u64 = 0xffff_ff80_0000_0000;
/// Size of the kernel area (lazily committed on the host).
const KAREA_SIZE: u64 = 256 << 20;

const GDT: u64 = 0x0000;
const IDT: u64 = 0x1000;
const STUB: u64 = 0x3000;
/// The page `syscall` enters (LSTAR), mapped user-executable at [`SYSCALL_PAGE`].
const SYSCALL_CODE: u64 = 0x9000;
/// The page-map level 4 (root of the page tables).
const PML4: u64 = 0x10000;
/// Per-vCPU blocks: the TSS at offset 0, the stub's stack below `KSTACK`, the
/// double-fault stack below `DFSTACK`.
const PERCPU: u64 = 0x10_0000;
const PERCPU_SIZE: u64 = 0x8000;
const KSTACK: u64 = 0x5000;
const DFSTACK: u64 = 0x6000;
/// Most vCPUs (guest threads) one VM runs.
pub const MAX_VCPUS: u64 = 64;
/// The page-table pool starts after the per-vCPU blocks.
const PT_POOL: u64 = PERCPU + MAX_VCPUS * PERCPU_SIZE;

/// Stub entry points (offsets in the stub page).
const RESUME_IRET: u64 = 0x010;
const RESUME_FLUSH: u64 = 0x020;
const EXC_COMMON: u64 = 0x040;
const EXC_VECTORS: u64 = 0x100;

/// The I/O ports the stub writes to leave the guest.
const PORT_SYSCALL: u16 = 0x10;
const PORT_EXCEPTION: u16 = 0x11;

/// Guest-virtual address of the `syscall` entry page: above the guest space (the guest
/// cannot map there), below the end of the canonical lower half.
pub const SYSCALL_PAGE: u64 = 0x7fff_ffff_f000;

/// Segment selectors, as Linux has them (`__USER_CS` = 0x33, `__USER_DS` = 0x2b).
const KERNEL_CS: u16 = 0x10;
const KERNEL_DS: u16 = 0x18;
const USER32_CS: u16 = 0x23;
pub const USER_DS: u16 = 0x2b;
pub const USER_CS: u16 = 0x33;
/// The TSS selector of vCPU 0; vCPU `i` uses `TSS_SEL + 16 * i`.
const TSS_SEL: u16 = 0x40;

const PTE_P: u64 = 1;
const PTE_W: u64 = 2;
const PTE_U: u64 = 4;
const PTE_PS: u64 = 0x80;
const PTE_NX: u64 = 1 << 63;
const PTE_ADDR: u64 = 0x000f_ffff_ffff_f000;

const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_CSTAR: u32 = 0xc000_0083;
const MSR_SFMASK: u32 = 0xc000_0084;

/// Exceptions that push an error code.
const ERROR_CODE_VECTORS: [u8; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];

/// Why the VM could not be created.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error("/dev/kvm: {0}")]
    Open(kvm_ioctls::Error),
    #[error("KVM: {0}: {1}")]
    Setup(&'static str, kvm_ioctls::Error),
    #[error("KVM: {0}")]
    Other(String),
}

/// The user-visible register state of the guest thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserRegs {
    /// rax rbx rcx rdx rsi rdi rbp rsp r8..r15, in this (kvm_regs) order.
    pub gpr: [u64; 16],
    pub rip: u64,
    pub rflags: u64,
}

pub const RAX: usize = 0;
pub const RCX: usize = 2;
pub const RDX: usize = 3;
pub const RSI: usize = 4;
pub const RDI: usize = 5;
pub const RSP: usize = 7;
pub const R8: usize = 8;
pub const R9: usize = 9;
pub const R10: usize = 10;
pub const R11: usize = 11;

fn regs_to_array(r: &kvm_regs) -> [u64; 16] {
    [
        r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12,
        r.r13, r.r14, r.r15,
    ]
}

fn array_to_regs(g: &[u64; 16], rip: u64, rflags: u64) -> kvm_regs {
    kvm_regs {
        rax: g[0],
        rbx: g[1],
        rcx: g[2],
        rdx: g[3],
        rsi: g[4],
        rdi: g[5],
        rbp: g[6],
        rsp: g[7],
        r8: g[8],
        r9: g[9],
        r10: g[10],
        r11: g[11],
        r12: g[12],
        r13: g[13],
        r14: g[14],
        r15: g[15],
        rip,
        rflags,
    }
}

/// Why the vCPU stopped.
#[derive(Debug)]
pub enum Exit {
    /// The guest ran `syscall`: registers as at the instruction, `rip` = the next one.
    Syscall(UserRegs),
    /// A CPU exception in ring 3.
    Exception {
        vector: u8,
        error: u64,
        /// CR2 (the faulting address of a page fault).
        cr2: u64,
        regs: UserRegs,
    },
    /// A host signal interrupted the vCPU (`KVM_RUN` returned `EINTR`).
    Interrupted,
    /// The guest touched guest-physical memory the host cannot provide (a file mapping
    /// past the end of its file): `SIGBUS`.
    HostFault,
    /// Anything else (a bug in the VM set-up): a description.
    Fatal(String),
}

/// The kernel area: host memory mapped as slot 1. It lives as long as the process (a
/// forked child's VM reuses its copy), so it is never unmapped.
struct KernelArea {
    ptr: *mut u8,
}

// SAFETY: the area is plain memory; the page tables in it are changed only under
// `Shared::pt`, and each per-vCPU block only by the thread running that vCPU.
unsafe impl Send for KernelArea {}
// SAFETY: as above.
unsafe impl Sync for KernelArea {}

/// The page-table page allocator (also the lock that orders page-table changes).
struct PtAlloc {
    /// Next never-used page-table page.
    next: u64,
    /// Page-table pages given back (a 2 MiB mapping replaced them).
    free: Vec<u64>,
}

impl KernelArea {
    fn new() -> Result<KernelArea, VmError> {
        // SAFETY: a fresh private anonymous mapping at an address of the kernel's choice.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                KAREA_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(VmError::Other(format!(
                "cannot map the kernel area: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(KernelArea { ptr: p.cast() })
    }

    fn u64_at(&self, off: u64) -> u64 {
        assert!(off.is_multiple_of(8) && off + 8 <= KAREA_SIZE);
        // SAFETY: aligned and inside the mapping (asserted). The guest writes the area
        // only through the stub (its own vCPU's stack), while the host thread of that
        // vCPU waits in KVM_RUN; page-table words are written under `Shared::pt`.
        unsafe { self.ptr.add(off as usize).cast::<u64>().read() }
    }

    fn set_u64(&self, off: u64, v: u64) {
        assert!(off.is_multiple_of(8) && off + 8 <= KAREA_SIZE);
        // SAFETY: as in `u64_at`.
        unsafe { self.ptr.add(off as usize).cast::<u64>().write(v) }
    }

    fn write(&self, off: u64, bytes: &[u8]) {
        assert!(off + bytes.len() as u64 <= KAREA_SIZE);
        // SAFETY: inside the mapping (asserted); no Rust reference into it exists.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.add(off as usize), bytes.len())
        }
    }

    /// A zeroed page-table page (its kernel-area offset).
    fn alloc_pt(&self, a: &mut PtAlloc) -> Option<u64> {
        if let Some(off) = a.free.pop() {
            for i in 0..PAGE_SIZE / 8 {
                self.set_u64(off + 8 * i, 0);
            }
            return Some(off);
        }
        if a.next + PAGE_SIZE > KAREA_SIZE {
            return None;
        }
        let off = a.next;
        a.next += PAGE_SIZE;
        Some(off)
    }
}

/// What the vCPUs of one VM share.
struct Shared {
    // Field order: the VM fd closes before anything else goes.
    vm: VmFd,
    kvm: Kvm,
    area: KernelArea,
    pt: Mutex<PtAlloc>,
    /// Bumped by every page-table removal: a vCPU that saw an older value flushes its
    /// TLB before it returns to the guest.
    epoch: AtomicU64,
    /// Per-vCPU blocks in use (bit per block).
    cpus: Mutex<u64>,
    /// The next KVM vCPU id (KVM never reuses one within a VM).
    next_id: AtomicU64,
}

impl Shared {
    fn pt(&self) -> MutexGuard<'_, PtAlloc> {
        self.pt.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One vCPU (one guest thread) of a VM whose memory is a [`GuestMemory`].
pub struct Vm {
    // Field order: the vCPU fd closes before the shared VM may go.
    vcpu: VcpuFd,
    shared: Arc<Shared>,
    /// This vCPU's id (its per-vCPU block and TSS selector).
    cpu: u64,
    /// The last page-table epoch this vCPU's TLB is known to be clean for.
    seen_epoch: u64,
    /// The vCPU stopped in ring 3 (an interrupted `KVM_RUN`), with these segment
    /// registers: a full resume must first put it back in ring 0.
    in_user: Option<kvm_sregs>,
    /// The last `syscall` exit came from ring 3 (#GP at the entry page).
    syscall_in_ring3: bool,
    /// The signals let through during `KVM_RUN` ([`Vm::set_run_signal_mask`]).
    run_mask: Option<u64>,
}

impl Drop for Vm {
    fn drop(&mut self) {
        // The block is free for another thread's vCPU (the KVM vCPU id is not reused).
        let mut used = self.shared.cpus.lock().unwrap_or_else(|e| e.into_inner());
        *used &= !(1 << self.cpu);
    }
}

/// Can this host run x86-64 guests under KVM? `Err` says why not.
pub fn probe() -> Result<(), VmError> {
    let kvm = Kvm::new().map_err(VmError::Open)?;
    kvm.create_vm()
        .map_err(|e| VmError::Setup("create VM", e))?;
    Ok(())
}

fn seg(selector: u16, dpl: u8, code: bool) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector,
        type_: if code { 11 } else { 3 },
        present: 1,
        dpl,
        db: 0,
        s: 1,
        l: u8::from(code),
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

/// A 64-bit interrupt gate to `target` (kernel-virtual), callable from `dpl`.
fn idt_gate(target: u64, dpl: u64, ist: u64) -> [u64; 2] {
    let lo = (target & 0xffff)
        | (u64::from(KERNEL_CS) << 16)
        | (ist << 32)
        | (0xe << 40)
        | (dpl << 45)
        | (1 << 47)
        | ((target >> 16 & 0xffff) << 48);
    [lo, target >> 32]
}

/// The machine code of the ring-0 stub (one page).
fn stub_code() -> Vec<u8> {
    let mut c = vec![0xccu8; PAGE_SIZE as usize];
    let mut put = |off: u64, b: &[u8]| c[off as usize..off as usize + b.len()].copy_from_slice(b);
    // resume: iretq (the host wrote the frame at rsp and set every register)
    put(RESUME_IRET, &[0x48, 0xcf]);
    // resume with a TLB flush: mov rax, cr3; mov cr3, rax; mov rax, [rsp - 8] (the
    // host put the guest's rax below the frame); iretq
    put(
        RESUME_FLUSH,
        &[
            0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8, 0x48, 0x8b, 0x44, 0x24, 0xf8, 0x48, 0xcf,
        ],
    );
    // exceptions: out PORT_EXCEPTION, al; add rsp, 16 (vector, error code); iretq
    put(
        EXC_COMMON,
        &[
            0xe6,
            PORT_EXCEPTION as u8,
            0x48,
            0x83,
            0xc4,
            0x10,
            0x48,
            0xcf,
        ],
    );
    for v in 0u8..32 {
        let at = EXC_VECTORS + u64::from(v) * 16;
        let mut e = Vec::new();
        if !ERROR_CODE_VECTORS.contains(&v) {
            e.extend_from_slice(&[0x6a, 0x00]); // push 0
        }
        e.extend_from_slice(&[0x6a, v]); // push v
        let after = at + e.len() as u64 + 5;
        let rel = (EXC_COMMON as i64 - after as i64) as i32;
        e.push(0xe9); // jmp rel32
        e.extend_from_slice(&rel.to_le_bytes());
        put(at, &e);
    }
    c
}

impl Vm {
    /// Creates the VM over `mem`: slot 0 = the guest region, slot 1 = the kernel area,
    /// long mode, the stub, CPUID = what KVM supports on this host, the host's XCR0
    /// features (x87, SSE, AVX, AVX-512), and a vCPU about to `iretq` to `entry` in ring 3.
    pub fn new(mem: &GuestMemory, entry: u64, sp: u64) -> Result<Vm, VmError> {
        let area = KernelArea::new()?;
        let (kvm, vm) = create_vm(mem, &area)?;

        // Descriptor tables (a TSS descriptor per possible vCPU) and the stub.
        let mut gdt = vec![0u64; (TSS_SEL >> 3) as usize + 2 * MAX_VCPUS as usize];
        gdt[(KERNEL_CS >> 3) as usize] = 0x00af_9b00_0000_ffff;
        gdt[(KERNEL_DS >> 3) as usize] = 0x00cf_9300_0000_ffff;
        gdt[(USER32_CS >> 3) as usize] = 0x00cf_fb00_0000_ffff;
        gdt[(USER_DS >> 3) as usize] = 0x00cf_f300_0000_ffff;
        gdt[(USER_CS >> 3) as usize] = 0x00af_fb00_0000_ffff;
        for cpu in 0..MAX_VCPUS {
            let tss_base = KVIRT + PERCPU + cpu * PERCPU_SIZE;
            let i = (TSS_SEL >> 3) as usize + 2 * cpu as usize;
            gdt[i] = 0x67
                | ((tss_base & 0xff_ffff) << 16)
                | (0x89 << 40)
                | ((tss_base >> 24 & 0xff) << 56);
            gdt[i + 1] = tss_base >> 32;
        }
        for (i, d) in gdt.iter().enumerate() {
            area.set_u64(GDT + 8 * i as u64, *d);
        }
        for v in 0u64..32 {
            // int3 and into may be used from ring 3 (SIGTRAP, SIGSEGV as on Linux);
            // every other `int n` from ring 3 is a #GP (SIGSEGV). #DF uses IST 1.
            let dpl = if v == 3 || v == 4 { 3 } else { 0 };
            let ist = u64::from(v == 8);
            let gate = idt_gate(KVIRT + STUB + EXC_VECTORS + v * 16, dpl, ist);
            area.set_u64(IDT + v * 16, gate[0]);
            area.set_u64(IDT + v * 16 + 8, gate[1]);
        }
        area.write(STUB, &stub_code());
        // The syscall entry: `out PORT_SYSCALL, al; sysretq` in ring 0. Some nested AMD
        // hosts enter LSTAR without leaving ring 3; there the `out` raises #GP at this
        // page, which the runtime treats the same way (see `Vm::run`). The page is
        // user-executable and read-only, like a vDSO page.
        area.write(SYSCALL_CODE, &[0xe6, PORT_SYSCALL as u8, 0x48, 0x0f, 0x07]);

        let mut alloc = PtAlloc {
            next: PT_POOL,
            free: Vec::new(),
        };
        let mut pt = || {
            area.alloc_pt(&mut alloc)
                .ok_or(VmError::Other("page tables".into()))
        };
        // Page tables: PML4[511] maps the kernel area with 2 MiB supervisor pages; the
        // syscall entry page is the one user page outside the guest space.
        let (kpdpt, kpd, updpt, upd, upt) = (pt()?, pt()?, pt()?, pt()?, pt()?);
        area.set_u64(PML4 + 511 * 8, (KPHYS + kpdpt) | PTE_P | PTE_W);
        area.set_u64(kpdpt, (KPHYS + kpd) | PTE_P | PTE_W);
        for i in 0..KAREA_SIZE >> 21 {
            area.set_u64(kpd + i * 8, (KPHYS + (i << 21)) | PTE_P | PTE_W | PTE_PS);
        }
        let up = PTE_P | PTE_W | PTE_U;
        area.set_u64(
            PML4 + ((SYSCALL_PAGE >> 39) & 511) * 8,
            (KPHYS + updpt) | up,
        );
        area.set_u64(updpt + ((SYSCALL_PAGE >> 30) & 511) * 8, (KPHYS + upd) | up);
        area.set_u64(upd + ((SYSCALL_PAGE >> 21) & 511) * 8, (KPHYS + upt) | up);
        area.set_u64(
            upt + ((SYSCALL_PAGE >> 12) & 511) * 8,
            (KPHYS + SYSCALL_CODE) | PTE_P | PTE_U,
        );

        let shared = Arc::new(Shared {
            vm,
            kvm,
            area,
            pt: Mutex::new(alloc),
            epoch: AtomicU64::new(0),
            cpus: Mutex::new(0),
            next_id: AtomicU64::new(0),
        });
        let vcpu = Vm::add_vcpu(&shared)?;
        let mut sregs = vcpu
            .vcpu
            .get_sregs()
            .map_err(|e| VmError::Setup("get sregs", e))?;
        sregs.cs = seg(KERNEL_CS, 0, true);
        let kds = seg(KERNEL_DS, 0, false);
        (sregs.ds, sregs.es, sregs.ss) = (kds, kds, kds);
        // FS and GS hold user bases (arch_prctl); DPL 3 so `iretq` to ring 3 keeps them.
        sregs.fs = seg(0, 3, false);
        sregs.gs = sregs.fs;
        sregs.tr = vcpu.tr();
        sregs.gdt.base = KVIRT + GDT;
        sregs.gdt.limit = (gdt.len() * 8 - 1) as u16;
        sregs.idt.base = KVIRT + IDT;
        sregs.idt.limit = 32 * 16 - 1;
        // PE MP ET NE WP AM PG
        sregs.cr0 = 0x8005_0033;
        sregs.cr3 = KPHYS + PML4;
        // PAE OSFXSR OSXMMEXCPT OSXSAVE
        sregs.cr4 = 0x20 | 0x200 | 0x400 | 0x4_0000;
        // SCE LME LMA NXE
        sregs.efer = 0x1 | 0x100 | 0x400 | 0x800;
        vcpu.vcpu
            .set_sregs(&sregs)
            .map_err(|e| VmError::Setup("set sregs", e))?;
        let mut vm = vcpu;
        let mut gpr = [0u64; 16];
        gpr[RSP] = sp;
        vm.resume_full(&UserRegs {
            gpr,
            rip: entry,
            rflags: 0x202,
        })?;
        Ok(vm)
    }

    /// A new vCPU of the VM (its id, TSS and stub stacks), not yet set up to run.
    fn add_vcpu(shared: &Arc<Shared>) -> Result<Vm, VmError> {
        let cpu = {
            let mut used = shared.cpus.lock().unwrap_or_else(|e| e.into_inner());
            let Some(cpu) = (0..MAX_VCPUS).find(|c| *used & (1 << c) == 0) else {
                return Err(VmError::Other(format!("more than {MAX_VCPUS} threads")));
            };
            *used |= 1 << cpu;
            cpu
        };
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let vcpu = match setup_vcpu(&shared.kvm, &shared.vm, id) {
            Ok(v) => v,
            Err(e) => {
                let mut used = shared.cpus.lock().unwrap_or_else(|e| e.into_inner());
                *used &= !(1 << cpu);
                return Err(e);
            }
        };
        let vm = Vm {
            vcpu,
            shared: shared.clone(),
            cpu,
            seen_epoch: shared.epoch.load(Ordering::Acquire),
            in_user: None,
            syscall_in_ring3: false,
            run_mask: None,
        };
        let mut tss = [0u8; 104];
        tss[4..12].copy_from_slice(&(KVIRT + vm.percpu() + KSTACK).to_le_bytes()); // rsp0
        tss[36..44].copy_from_slice(&(KVIRT + vm.percpu() + DFSTACK).to_le_bytes()); // ist1
        tss[102..104].copy_from_slice(&104u16.to_le_bytes()); // no I/O bitmap
        shared.area.write(vm.percpu(), &tss);
        Ok(vm)
    }

    /// This vCPU's block in the kernel area.
    fn percpu(&self) -> u64 {
        PERCPU + self.cpu * PERCPU_SIZE
    }

    /// The task register for this vCPU's TSS.
    fn tr(&self) -> kvm_segment {
        kvm_segment {
            base: KVIRT + self.percpu(),
            limit: 0x67,
            selector: TSS_SEL + 16 * self.cpu as u16,
            type_: 11,
            present: 1,
            s: 0,
            ..Default::default()
        }
    }

    /// A vCPU for a new guest thread (`clone` with `CLONE_THREAD`), about to return
    /// from that `clone` with `regs` (and FS base `tls`, if given), with this vCPU's
    /// FPU state.
    pub fn new_thread(&self, regs: &UserRegs, tls: Option<u64>) -> Result<Vm, VmError> {
        let mut child = Vm::add_vcpu(&self.shared)?;
        let mut sregs = self
            .vcpu
            .get_sregs()
            .map_err(|e| VmError::Setup("get sregs", e))?;
        sregs.cs = seg(KERNEL_CS, 0, true);
        sregs.ss = seg(KERNEL_DS, 0, false);
        sregs.tr = child.tr();
        if let Some(base) = tls {
            sregs.fs.base = base;
        }
        child
            .vcpu
            .set_sregs(&sregs)
            .map_err(|e| VmError::Setup("set sregs", e))?;
        let xsave = self
            .vcpu
            .get_xsave()
            .map_err(|e| VmError::Setup("get XSAVE", e))?;
        // SAFETY: a buffer KVM itself filled by `get_xsave` on the same host.
        unsafe { child.vcpu.set_xsave(&xsave) }.map_err(|e| VmError::Setup("set XSAVE", e))?;
        if let Some(m) = self.run_mask {
            child.set_run_signal_mask(m)?;
        }
        child.resume_syscall(regs, 0)?;
        Ok(child)
    }

    /// Runs the vCPU until the guest needs the runtime.
    pub fn run(&mut self) -> Exit {
        self.in_user = None;
        self.syscall_in_ring3 = false;
        let port = match self.vcpu.run() {
            Ok(VcpuExit::IoOut(port, _)) => port,
            Ok(other) => return Exit::Fatal(format!("unexpected VM exit {other:?}")),
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                return Exit::Interrupted
            }
            Err(e) if e.errno() == libc::EFAULT => return Exit::HostFault,
            Err(e) => return Exit::Fatal(format!("KVM_RUN: {e}")),
        };
        let r = match self.vcpu.get_regs() {
            Ok(r) => r,
            Err(e) => return Exit::Fatal(format!("get registers: {e}")),
        };
        match port {
            // `syscall` left the user rip in rcx and rflags in r11.
            PORT_SYSCALL if r.rip == SYSCALL_PAGE + 2 => Exit::Syscall(UserRegs {
                gpr: regs_to_array(&r),
                rip: r.rcx,
                rflags: r.r11,
            }),
            PORT_EXCEPTION => {
                let Some(off) = r
                    .rsp
                    .checked_sub(KVIRT)
                    .filter(|&o| o >= self.percpu() + 0x1000 && o + 56 <= self.percpu() + DFSTACK)
                else {
                    return Exit::Fatal(format!("stub stack pointer {:#x}", r.rsp));
                };
                let w = |i: u64| self.shared.area.u64_at(off + 8 * i);
                let (vector, error, rip, cs, rflags, rsp) = (w(0), w(1), w(2), w(3), w(4), w(5));
                if cs & 3 != 3 {
                    return Exit::Fatal(format!(
                        "exception {vector} in the ring-0 stub at {rip:#x} (error {error:#x})"
                    ));
                }
                let mut gpr = regs_to_array(&r);
                gpr[RSP] = rsp;
                if vector == 13 && rip == SYSCALL_PAGE {
                    // `syscall` that stayed in ring 3 (see `Vm::new`).
                    self.syscall_in_ring3 = true;
                    return Exit::Syscall(UserRegs {
                        gpr,
                        rip: r.rcx,
                        rflags: r.r11,
                    });
                }
                // CR2 matters only for page faults (one more ioctl).
                let cr2 = if vector == 14 {
                    match self.vcpu.get_sregs() {
                        Ok(s) => s.cr2,
                        Err(e) => return Exit::Fatal(format!("get sregs: {e}")),
                    }
                } else {
                    0
                };
                Exit::Exception {
                    vector: vector as u8,
                    error,
                    cr2,
                    regs: UserRegs { gpr, rip, rflags },
                }
            }
            p => Exit::Fatal(format!("write to I/O port {p:#x}")),
        }
    }

    /// What [`Vm::reborn`] needs, taken before a `fork`.
    pub fn snapshot(&self) -> Result<Snapshot, VmError> {
        Ok(Snapshot {
            sregs: self
                .vcpu
                .get_sregs()
                .map_err(|e| VmError::Setup("get sregs", e))?,
            xsave: self
                .vcpu
                .get_xsave()
                .map_err(|e| VmError::Setup("get XSAVE", e))?,
        })
    }

    /// In a forked child, where the parent's VM is unusable (KVM ties a VM to the
    /// address space that created it): a new VM over the child's copies of the guest
    /// memory and the kernel area, with the vCPU state of `snap`.
    pub fn reborn(&mut self, mem: &GuestMemory, snap: &Snapshot) -> Result<(), VmError> {
        let area = KernelArea {
            ptr: self.shared.area.ptr,
        };
        let (kvm, vm) = create_vm(mem, &area)?;
        let vcpu = setup_vcpu(&kvm, &vm, 0)?;
        vcpu.set_sregs(&snap.sregs)
            .map_err(|e| VmError::Setup("set sregs", e))?;
        // SAFETY: a buffer KVM itself filled by `get_xsave` on the same host.
        unsafe { vcpu.set_xsave(&snap.xsave) }.map_err(|e| VmError::Setup("set XSAVE", e))?;
        // Only this thread exists in the child: it alone holds its vCPU block.
        let alloc = {
            let a = self
                .shared
                .pt
                .try_lock()
                .map_err(|_| VmError::Other("page tables locked at fork".into()))?;
            PtAlloc {
                next: a.next,
                free: a.free.clone(),
            }
        };
        let mask = self.run_mask;
        self.vcpu = vcpu;
        self.shared = Arc::new(Shared {
            vm,
            kvm,
            area,
            pt: Mutex::new(alloc),
            epoch: AtomicU64::new(0),
            cpus: Mutex::new(1 << self.cpu),
            next_id: AtomicU64::new(1),
        });
        self.seen_epoch = 0;
        if let Some(m) = mask {
            self.set_run_signal_mask(m)?;
        }
        Ok(())
    }

    /// The user state the vCPU holds or is about to return to (after an interrupted
    /// `KVM_RUN`: it may be in ring 3 or at one of the stub's return points).
    pub fn current_user_regs(&mut self) -> Result<UserRegs, VmError> {
        let r = self
            .vcpu
            .get_regs()
            .map_err(|e| VmError::Setup("get registers", e))?;
        let s = self
            .vcpu
            .get_sregs()
            .map_err(|e| VmError::Setup("get sregs", e))?;
        let mut gpr = regs_to_array(&r);
        if s.cs.selector & 3 == 3 {
            self.in_user = Some(s);
            return Ok(UserRegs {
                gpr,
                rip: r.rip,
                rflags: r.rflags,
            });
        }
        let at = r.rip.wrapping_sub(KVIRT + STUB);
        let frame = |skip: u64| -> Result<(u64, u64, u64), VmError> {
            let off = r
                .rsp
                .checked_sub(KVIRT)
                .map(|o| o + skip)
                .filter(|&o| o + 40 <= self.percpu() + KSTACK)
                .ok_or_else(|| VmError::Other(format!("stub stack pointer {:#x}", r.rsp)))?;
            let w = |i: u64| self.shared.area.u64_at(off + 8 * i);
            Ok((w(0), w(2), w(3)))
        };
        if r.rip == SYSCALL_PAGE + 2 {
            gpr[RSP] = r.rsp;
            return Ok(UserRegs {
                gpr,
                rip: r.rcx,
                rflags: r.r11,
            });
        }
        let mut refresh = false;
        let (rip, rflags, rsp) = match at {
            RESUME_IRET => frame(0)?,
            RESUME_FLUSH => {
                // The flush did not happen: make the next resume do it.
                gpr[RAX] = self.shared.area.u64_at(r.rsp - KVIRT - 8);
                refresh = true;
                frame(0)?
            }
            a if a == EXC_COMMON + 2 => frame(16)?,
            _ => {
                return Err(VmError::Other(format!(
                    "vCPU interrupted in the stub at {:#x}",
                    r.rip
                )))
            }
        };
        if refresh {
            self.seen_epoch = self.seen_epoch.wrapping_sub(1);
        }
        gpr[RSP] = rsp;
        Ok(UserRegs { gpr, rip, rflags })
    }

    /// Returns from a `syscall` to `regs.rip` with `rax` = `ret`; rcx and r11 get the
    /// return address and flags, as the instruction leaves them.
    pub fn resume_syscall(&mut self, regs: &UserRegs, ret: u64) -> Result<(), VmError> {
        let mut r = *regs;
        r.gpr[RAX] = ret;
        r.gpr[RCX] = r.rip;
        r.gpr[R11] = user_rflags(r.rflags);
        if self.needs_flush() || self.syscall_in_ring3 {
            return self.resume_full(&r);
        }
        // In ring 0 at the entry page's `sysretq`.
        self.vcpu
            .set_regs(&array_to_regs(&r.gpr, SYSCALL_PAGE + 2, 0x2))
            .map_err(|e| VmError::Setup("set registers", e))
    }

    /// Resumes ring 3 with exactly `regs` (through `iretq` from the stub's stack).
    pub fn resume_full(&mut self, regs: &UserRegs) -> Result<(), VmError> {
        if let Some(mut s) = self.in_user.take() {
            s.cs = seg(KERNEL_CS, 0, true);
            s.ss = seg(KERNEL_DS, 0, false);
            self.vcpu
                .set_sregs(&s)
                .map_err(|e| VmError::Setup("set sregs", e))?;
        }
        let rflags = user_rflags(regs.rflags);
        let frame = self.percpu() + KSTACK - 40;
        for (i, v) in [
            regs.rip,
            u64::from(USER_CS),
            rflags,
            regs.gpr[RSP],
            u64::from(USER_DS),
        ]
        .into_iter()
        .enumerate()
        {
            self.shared.area.set_u64(frame + 8 * i as u64, v);
        }
        let mut gpr = regs.gpr;
        gpr[RSP] = KVIRT + frame;
        let entry = if self.needs_flush() {
            self.shared.area.set_u64(frame - 8, regs.gpr[RAX]);
            self.seen_epoch = self.shared.epoch.load(Ordering::Acquire);
            RESUME_FLUSH
        } else {
            RESUME_IRET
        };
        self.vcpu
            .set_regs(&array_to_regs(&gpr, KVIRT + STUB + entry, 0x2))
            .map_err(|e| VmError::Setup("set registers", e))
    }

    /// Continues after an exception the runtime fixed (a page fault it populated):
    /// the stub pops the vector and error code and returns with `iretq`.
    pub fn resume_exception(&mut self, regs: &UserRegs) -> Result<(), VmError> {
        // The stub's own return path does not flush; a pending flush needs the full one.
        if self.needs_flush() {
            return self.resume_full(regs);
        }
        Ok(())
    }

    /// The FS and GS base registers.
    pub fn fs_gs_base(&self) -> Result<(u64, u64), VmError> {
        let s = self
            .vcpu
            .get_sregs()
            .map_err(|e| VmError::Setup("get sregs", e))?;
        Ok((s.fs.base, s.gs.base))
    }

    /// Sets the FS (`gs == false`) or GS base register (`arch_prctl`).
    pub fn set_seg_base(&mut self, gs: bool, base: u64) -> Result<(), VmError> {
        let mut s: kvm_sregs = self
            .vcpu
            .get_sregs()
            .map_err(|e| VmError::Setup("get sregs", e))?;
        let seg = if gs { &mut s.gs } else { &mut s.fs };
        seg.base = base;
        self.vcpu
            .set_sregs(&s)
            .map_err(|e| VmError::Setup("set sregs", e))
    }

    /// The vCPU's FPU/SSE/AVX state in XSAVE format (4096 bytes).
    pub fn xsave(&self) -> Result<Vec<u8>, VmError> {
        let x = self
            .vcpu
            .get_xsave()
            .map_err(|e| VmError::Setup("get XSAVE", e))?;
        Ok(x.region.iter().flat_map(|w| w.to_le_bytes()).collect())
    }

    /// Restores state saved by [`Vm::xsave`] (possibly edited by the guest).
    pub fn set_xsave(&mut self, bytes: &[u8]) -> Result<(), VmError> {
        let mut x = kvm_xsave::default();
        for (w, c) in x.region.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        // SAFETY: `kvm_xsave` is the legacy 4 KiB buffer; KVM validates its contents
        // (header, enabled features) and rejects a bad one with EINVAL.
        unsafe { self.vcpu.set_xsave(&x) }.map_err(|e| VmError::Setup("set XSAVE", e))
    }

    // ---- guest page tables ----

    /// Must this vCPU flush its TLB (page-table entries were removed since it last did)?
    fn needs_flush(&self) -> bool {
        self.shared.epoch.load(Ordering::Acquire) != self.seen_epoch
    }

    /// The page-directory entry covering `addr` (its kernel-area offset), creating the
    /// upper levels when `alloc` is given.
    fn pde_for(&self, addr: u64, alloc: Option<&mut PtAlloc>) -> Option<u64> {
        let area = &self.shared.area;
        let mut alloc = alloc;
        let mut table = PML4;
        for shift in [39u64, 30] {
            let slot = table + ((addr >> shift) & 511) * 8;
            let e = area.u64_at(slot);
            table = if e & PTE_P != 0 {
                (e & PTE_ADDR) - KPHYS
            } else if let Some(a) = alloc.as_deref_mut() {
                let t = area.alloc_pt(a)?;
                area.set_u64(slot, (KPHYS + t) | PTE_P | PTE_W | PTE_U);
                t
            } else {
                return None;
            };
        }
        Some(table + ((addr >> 21) & 511) * 8)
    }

    /// The page-table page under the page-directory entry `pde`, if it has one.
    fn pt_of(&self, pde: u64) -> Option<u64> {
        let e = self.shared.area.u64_at(pde);
        (e & PTE_P != 0 && e & PTE_PS == 0).then(|| (e & PTE_ADDR) - KPHYS)
    }

    /// Maps the guest pages of the 2 MiB window around `addr` with the protections of
    /// `mem`'s mapping table (lazily, from a page fault): one 2 MiB page when a single
    /// region covers the window, 4 KiB pages otherwise. False if the page-table pool is
    /// exhausted.
    pub fn populate(&mut self, mem: &GuestMemory, addr: u64) -> bool {
        const HUGE: u64 = 1 << 21;
        let shared = self.shared.clone();
        let area = &shared.area;
        // Held while the mapping table is read and the entries written, so a concurrent
        // `zap` (after a mapping change) cannot be overtaken by stale entries.
        let mut alloc = shared.pt();
        let win = addr & !(HUGE - 1);
        let end = (win + HUGE).min(GUEST_SPACE);
        let Some(pde) = self.pde_for(win, Some(&mut alloc)) else {
            return false;
        };
        let regions = mem.regions_in(win, end);
        let old_pt = self.pt_of(pde);
        if let [(start, r)] = regions[..] {
            let flags = pte_flags(r.prot);
            if start <= win && r.end >= win + HUGE && flags != 0 {
                area.set_u64(pde, win | flags | PTE_PS);
                alloc.free.extend(old_pt);
                return true;
            }
        }
        let pt = match old_pt {
            Some(pt) => pt,
            None => {
                let Some(pt) = area.alloc_pt(&mut alloc) else {
                    return false;
                };
                area.set_u64(pde, (KPHYS + pt) | PTE_P | PTE_W | PTE_U);
                pt
            }
        };
        for (start, r) in regions {
            let (s, e) = (start.max(win), r.end.min(end));
            let flags = pte_flags(r.prot);
            let mut p = s;
            while p < e {
                let v = if flags == 0 { 0 } else { p | flags };
                area.set_u64(pt + ((p >> 12) & 511) * 8, v);
                p += PAGE_SIZE;
            }
        }
        true
    }

    /// Unmaps `[start, end)` from the guest page tables (mappings changed there; a 2 MiB
    /// page is dropped whole and its other pages fault in again). Every vCPU flushes its
    /// TLB before it next returns to the guest (one running meanwhile keeps its stale
    /// entries until its next exit).
    pub fn zap(&mut self, start: u64, end: u64) {
        const HUGE: u64 = 1 << 21;
        let shared = self.shared.clone();
        let area = &shared.area;
        let _order = shared.pt();
        let end = end.min(GUEST_SPACE);
        let mut win = start & !(HUGE - 1);
        while win < end {
            if let Some(pde) = self.pde_for(win, None) {
                let e = area.u64_at(pde);
                if e & PTE_PS != 0 {
                    area.set_u64(pde, 0);
                } else if let Some(pt) = self.pt_of(pde) {
                    let s = start.max(win);
                    let e = end.min(win + HUGE);
                    let mut p = s & !(PAGE_SIZE - 1);
                    while p < e {
                        area.set_u64(pt + ((p >> 12) & 511) * 8, 0);
                        p += PAGE_SIZE;
                    }
                }
            }
            win += HUGE;
        }
        shared.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Raw fd of the vCPU (for `KVM_SET_SIGNAL_MASK`).
    fn vcpu_fd(&self) -> i32 {
        self.vcpu.as_raw_fd()
    }

    /// [`set_run_signal_mask`](Self::set_run_signal_mask) unless that is the mask already.
    pub fn ensure_run_signal_mask(&mut self, unblocked: u64) -> Result<(), VmError> {
        if self.run_mask == Some(unblocked) {
            return Ok(());
        }
        self.set_run_signal_mask(unblocked)
    }

    /// Lets host signals in `unblocked` (bit `n-1` = signal `n`) interrupt `KVM_RUN` even
    /// while the thread blocks them elsewhere.
    pub fn set_run_signal_mask(&mut self, unblocked: u64) -> Result<(), VmError> {
        self.run_mask = Some(unblocked);
        // `struct kvm_signal_mask { __u32 len; __u8 sigset[]; }`: the set follows `len`
        // directly.
        #[repr(C, packed)]
        struct SigMask {
            len: u32,
            set: u64,
        }
        let m = SigMask {
            len: 8,
            set: !unblocked,
        };
        // KVM_SET_SIGNAL_MASK = _IOW(KVMIO, 0x8b, struct kvm_signal_mask)
        const KVM_SET_SIGNAL_MASK: libc::c_ulong = 0x4004_ae8b;
        // SAFETY: the ioctl reads `len` and then `len` bytes of sigset from `m`, which is
        // live and large enough.
        let r = unsafe { libc::ioctl(self.vcpu_fd(), KVM_SET_SIGNAL_MASK, &m) };
        if r != 0 {
            return Err(VmError::Other(format!(
                "KVM_SET_SIGNAL_MASK: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(())
    }
}

/// Only the flags user code may hold (CF PF AF ZF SF TF DF OF RF AC ID); IF stays set,
/// as on Linux.
fn user_rflags(f: u64) -> u64 {
    (f & 0x25_0dd5) | 0x202
}

fn pte_flags(prot: Prot) -> u64 {
    if prot.bits() == 0 {
        return 0;
    }
    let mut f = PTE_P | PTE_U;
    if prot.writable() {
        f |= PTE_W;
    }
    if !prot.executable() {
        f |= PTE_NX;
    }
    f
}

/// A VM over `mem` (slot 0) and the kernel area (slot 1).
fn create_vm(mem: &GuestMemory, area: &KernelArea) -> Result<(Kvm, VmFd), VmError> {
    let kvm = Kvm::new().map_err(VmError::Open)?;
    let vm = kvm
        .create_vm()
        .map_err(|e| VmError::Setup("create VM", e))?;
    let slots = [
        (0, 0, GUEST_SPACE, mem.base() as u64),
        (1, KPHYS, KAREA_SIZE, area.ptr as u64),
    ];
    for (slot, gpa, size, host) in slots {
        let region = kvm_userspace_memory_region {
            slot,
            flags: 0,
            guest_phys_addr: gpa,
            memory_size: size,
            userspace_addr: host,
        };
        // SAFETY: both host ranges are mappings this process owns for as long as the VM
        // lives (the guest region outlives every `Vm`, which callers keep next to the
        // `GuestMemory`; the kernel area is never unmapped). They do not overlap.
        unsafe { vm.set_user_memory_region(region) }
            .map_err(|e| VmError::Setup("register guest memory", e))?;
    }
    Ok((kvm, vm))
}

/// A vCPU of `vm` with KVM id `id`: CPUID, XCR0 and the system-call MSRs (the segment
/// and control registers are the caller's).
fn setup_vcpu(kvm: &Kvm, vm: &VmFd, id: u64) -> Result<VcpuFd, VmError> {
    let vcpu = vm
        .create_vcpu(id)
        .map_err(|e| VmError::Setup("create vCPU", e))?;

    // CPUID: what KVM can virtualise here, minus what vmx cannot support.
    let mut cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(|e| VmError::Setup("get CPUID", e))?;
    for e in cpuid.as_mut_slice() {
        match (e.function, e.index) {
            // MONITOR/MWAIT (ring 0 only anyway), no x2APIC, no TSC deadline timer.
            (1, _) => e.ecx &= !((1 << 3) | (1 << 21) | (1 << 24)),
            // No PKU/OSPKE (vmx does not enable protection keys), no WAITPKG, no AMX
            // (needs arch_prctl(ARCH_REQ_XCOMP_PERM), which vmx does not offer).
            (7, 0) => {
                e.ecx &= !((1 << 3) | (1 << 4) | (1 << 5));
                e.edx &= !((1 << 22) | (1 << 24) | (1 << 25));
            }
            _ => {}
        }
    }
    vcpu.set_cpuid2(&cpuid)
        .map_err(|e| VmError::Setup("set CPUID", e))?;

    // XCR0: x87, SSE, AVX and AVX-512 state, as far as this CPU has them.
    let mut xcrs = vcpu.get_xcrs().map_err(|e| VmError::Setup("get XCRs", e))?;
    xcrs.nr_xcrs = 1;
    xcrs.xcrs[0].xcr = 0;
    xcrs.xcrs[0].value = xgetbv0() & 0xe7;
    vcpu.set_xcrs(&xcrs)
        .map_err(|e| VmError::Setup("set XCR0", e))?;

    let msrs = kvm_bindings::Msrs::from_entries(&[
        msr(
            MSR_STAR,
            (u64::from(USER32_CS) << 48) | (u64::from(KERNEL_CS) << 32),
        ),
        msr(MSR_LSTAR, SYSCALL_PAGE),
        msr(MSR_CSTAR, SYSCALL_PAGE),
        // TF DF IF IOPL AC NT cleared on entry, as Linux does.
        msr(MSR_SFMASK, 0x4_7700),
    ])
    .map_err(|e| VmError::Other(format!("MSR list: {e:?}")))?;
    let n = vcpu
        .set_msrs(&msrs)
        .map_err(|e| VmError::Setup("set MSRs", e))?;
    if n != msrs.as_slice().len() {
        return Err(VmError::Other("KVM refused a system MSR".into()));
    }

    Ok(vcpu)
}

/// The vCPU state a forked child needs to rebuild its VM ([`Vm::reborn`]).
pub struct Snapshot {
    sregs: kvm_sregs,
    xsave: kvm_xsave,
}

fn msr(index: u32, data: u64) -> kvm_bindings::kvm_msr_entry {
    kvm_bindings::kvm_msr_entry {
        index,
        data,
        ..Default::default()
    }
}

/// The host's XCR0 (which state components the host OS enabled).
fn xgetbv0() -> u64 {
    let has_osxsave = std::arch::x86_64::__cpuid(1).ecx & (1 << 27) != 0;
    if !has_osxsave {
        return 3;
    }
    // SAFETY: XGETBV(0) is valid when CPUID says OSXSAVE (checked above).
    unsafe { std::arch::x86_64::_xgetbv(0) }
}
