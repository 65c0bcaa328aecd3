//! Branches, exception generation, system instructions and system registers.

use super::*;
use crate::arm::sem::SysReg;
use crate::sem::Cmp;

/// `op0:op1:CRn:CRm:op2` of a system register as bits 19..5 of MRS/MSR.
const fn sysreg(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    ((op0 - 2) << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

const NZCV: u32 = sysreg(3, 3, 4, 2, 0);
const FPCR: u32 = sysreg(3, 3, 4, 4, 0);
const FPSR: u32 = sysreg(3, 3, 4, 4, 1);
const TPIDR_EL0: u32 = sysreg(3, 3, 13, 0, 2);
const TPIDRRO_EL0: u32 = sysreg(3, 3, 13, 0, 3);
const CTR_EL0: u32 = sysreg(3, 3, 0, 0, 1);
const DCZID_EL0: u32 = sysreg(3, 3, 0, 0, 7);
const CNTFRQ_EL0: u32 = sysreg(3, 3, 14, 0, 0);
const CNTVCT_EL0: u32 = sysreg(3, 3, 14, 0, 2);
const MIDR_EL1: u32 = sysreg(3, 0, 0, 0, 0);
const MPIDR_EL1: u32 = sysreg(3, 0, 0, 0, 5);

/// The cache geometry vmx reports (`CTR_EL0`): 64-byte I and D lines, PIPT I-cache,
/// as on Cortex-A72.
pub const CTR_EL0_VALUE: u64 = 0x8444_c004;
/// `DCZID_EL0`: `DC ZVA` allowed, 64-byte blocks (2^4 words).
pub const DCZID_EL0_VALUE: u64 = 4;
/// The bytes `DC ZVA` zeroes.
pub const ZVA_BYTES: u64 = 4 << DCZID_EL0_VALUE;
/// `MIDR_EL1` as Linux shows it to user space (Cortex-A72 r0p3).
pub const MIDR_EL1_VALUE: u64 = 0x410f_d083;
/// The generic timer frequency: the counter reads the runtime's 10 MHz timebase.
pub const CNTFRQ_VALUE: u64 = 10_000_000;

pub(super) fn exec<S: A64Sem>(s: &mut S, op: Op, r: u32) {
    let pc = s.pc();
    match op {
        Op::B => {
            let target = pc.wrapping_add((sx(bits(r, 0, 26), 26) * 4) as u64);
            if bit(r, 31) {
                let ret = s.imm(pc + 4);
                s.set_xreg(30, ret);
            }
            let t = s.imm(target);
            s.jump(t);
        }
        Op::BCond => {
            let target = pc.wrapping_add((sx(bits(r, 5, 19), 19) * 4) as u64);
            let c = cond_holds(s, bits(r, 0, 4));
            s.branch(c, target);
        }
        Op::Cbz => {
            let target = pc.wrapping_add((sx(bits(r, 5, 19), 19) * 4) as u64);
            let v = xr(s, rd(r), bit(r, 31));
            let zero = s.imm(0);
            let c = s.cmp(if bit(r, 24) { Cmp::Ne } else { Cmp::Eq }, v, zero);
            s.branch(c, target);
        }
        Op::Tbz => {
            let target = pc.wrapping_add((sx(bits(r, 5, 14), 14) * 4) as u64);
            let b = (bits(r, 31, 1) << 5) | bits(r, 19, 5);
            let v = xr(s, rd(r), true);
            let k = s.imm(b as u64);
            let t = s.lshr(v, k);
            let t = s.zext(t, 1);
            let zero = s.imm(0);
            let c = s.cmp(if bit(r, 24) { Cmp::Ne } else { Cmp::Eq }, t, zero);
            s.branch(c, target);
        }
        Op::BrReg => {
            let t = xr(s, rn(r), true);
            if bits(r, 21, 2) == 1 {
                let ret = s.imm(pc + 4);
                s.set_xreg(30, ret);
            }
            s.jump(t);
        }
        Op::Svc => s.trap(Trap::Syscall),
        Op::Brk => s.trap(Trap::Breakpoint),
        // NOP, YIELD, WFE/WFI/SEV, BTI, CSDB and the pointer-authentication hints: the
        // latter are NOPs on a CPU without FEAT_PAuth, which is what vmx reports.
        Op::Hint => {}
        Op::Clrex => s.clear_exclusive(),
        Op::Barrier => s.fence(),
        Op::Sys => sys(s, r),
        Op::Mrs => {
            let v = match bits(r, 5, 15) {
                NZCV => s.nzcv(),
                FPCR => s.sysreg(SysReg::Fpcr),
                FPSR => s.sysreg(SysReg::Fpsr),
                TPIDR_EL0 => s.sysreg(SysReg::Tpidr),
                TPIDRRO_EL0 => s.imm(0),
                CTR_EL0 => s.imm(CTR_EL0_VALUE),
                DCZID_EL0 => s.imm(DCZID_EL0_VALUE),
                CNTFRQ_EL0 => s.imm(CNTFRQ_VALUE),
                CNTVCT_EL0 => match s.csr_read(crate::rv::insn::csr::TIME) {
                    Some(v) => v,
                    None => return s.trap(Trap::Illegal),
                },
                MIDR_EL1 => s.imm(MIDR_EL1_VALUE),
                MPIDR_EL1 => s.imm(0x8000_0000),
                // The rest of the ID register space (op0=3, op1=0, CRn=0): Linux
                // emulates these for user space; features vmx does not implement read 0.
                k if k >> 7 == sysreg(3, 0, 0, 0, 0) >> 7 => s.imm(0),
                _ => return s.trap(Trap::Illegal),
            };
            set_xr(s, rd(r), v, true);
        }
        Op::Msr => {
            let v = xr(s, rd(r), true);
            match bits(r, 5, 15) {
                NZCV => {
                    let m = s.imm(0xf000_0000);
                    let v = s.and(v, m);
                    s.set_nzcv(v);
                }
                FPCR => s.set_sysreg(SysReg::Fpcr, v),
                FPSR => s.set_sysreg(SysReg::Fpsr, v),
                TPIDR_EL0 => s.set_sysreg(SysReg::Tpidr, v),
                _ => s.trap(Trap::Illegal),
            }
        }
        _ => s.trap(Trap::Illegal),
    }
}

/// SYS: the cache maintenance operations EL0 may use.
fn sys<S: A64Sem>(s: &mut S, r: u32) {
    let op1 = bits(r, 16, 3);
    let crn = bits(r, 12, 4);
    let crm = bits(r, 8, 4);
    let op2 = bits(r, 5, 3);
    match (op1, crn, crm, op2) {
        // DC ZVA: zero the naturally aligned block.
        (3, 7, 4, 1) => {
            let a = xr(s, rd(r), true);
            let m = s.imm(!(ZVA_BYTES - 1));
            let base = s.and(a, m);
            let zero = s.imm(0);
            for k in 0..ZVA_BYTES / 8 {
                let off = s.imm(k * 8);
                let p = s.add(base, off);
                s.store(p, zero, 8);
            }
        }
        // DC CVAU / CVAC / CVAP / CIVAC: memory is coherent here.
        (3, 7, 11, 1) | (3, 7, 10, 1) | (3, 7, 12, 1) | (3, 7, 14, 1) => s.fence(),
        // IC IVAU: code may have changed.
        (3, 7, 5, 1) => s.fence_i(),
        _ => s.trap(Trap::Illegal),
    }
}
