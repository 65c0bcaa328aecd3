# Decoder test cases: every RV64GC + Zba/Zbb/Zbs instruction, every compressed form,
# HINT encodings, and (in .text.illegal) encodings that must decode to Op::Illegal.
#
# The expected output, rv_decode.txt, is GNU objdump's disassembly of this file:
# regenerate it with
#     VMX_BLESS=1 cargo test -p vmx-lifter --test rv_decode -- --ignored bless
# (needs riscv64-linux-gnu-as and -objdump). Raw encodings use `.insn`, so that
# objdump treats them as instructions (a `.word` would be marked as data).

	.attribute priv_spec, 1		# CSR names as for GCC output (priv spec 1.11)
	.attribute priv_spec_minor, 11
	.option arch, +zba, +zbb, +zbs
	.option norelax

	.text
	.option norvc

# ---------------------------------------------------------------- RV64I
	.irp r, zero, ra, sp, gp, tp, t0, t1, t2, s0, s1, a0, a1, a2, a3, a4, a5, a6, a7, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, t3, t4, t5, t6
	add \r, a1, a2
	add a0, \r, a2
	add a0, a1, \r
	.endr

	.irp imm, 0x0, 0x1, 0x80, 0x7ffff, 0x80000, 0xfffff, 0x12345
	lui a0, \imm
	auipc t1, \imm
	.endr

	.irp off, -1048576, -524288, -2048, -4, 0, 2, 4, 2046, 2048, 4096, 65536, 1048574
	jal ra, .+\off
	jal zero, .+\off
	.endr

	.irp imm, -2048, -1, 0, 1, 8, 2047
	jalr ra, \imm(a0)
	jalr zero, \imm(ra)
	.endr

	.irp off, -4096, -2048, -2, 0, 2, 4, 32, 2046, 2048, 4094
	beq a0, a1, .+\off
	bne zero, t6, .+\off
	blt s0, s1, .+\off
	bge a2, a3, .+\off
	bltu t0, t1, .+\off
	bgeu a4, zero, .+\off
	.endr

	.irp imm, -2048, -1, 0, 1, 8, 2047
	lb a0, \imm(sp)
	lh a1, \imm(s0)
	lw a2, \imm(t6)
	ld ra, \imm(sp)
	lbu zero, \imm(a0)
	lhu t3, \imm(a5)
	lwu s11, \imm(zero)
	sb a0, \imm(sp)
	sh zero, \imm(s0)
	sw t6, \imm(a1)
	sd ra, \imm(sp)
	.endr

	.irp imm, -2048, -1024, -1, 0, 1, 5, 1023, 2047
	addi a0, a1, \imm
	slti t0, a1, \imm
	sltiu a0, t2, \imm
	xori s1, a1, \imm
	ori a0, a1, \imm
	andi a0, zero, \imm
	addiw sp, sp, \imm
	.endr

	.irp sh, 0, 1, 17, 31, 32, 63
	slli a0, a1, \sh
	srli s0, t0, \sh
	srai a0, a1, \sh
	.endr
	.irp sh, 0, 1, 17, 31
	slliw a0, a1, \sh
	srliw a2, a3, \sh
	sraiw a4, a5, \sh
	.endr

	sub a0, a1, a2
	sll a0, a1, a2
	slt a0, a1, a2
	sltu a0, a1, a2
	xor a0, a1, a2
	srl a0, a1, a2
	sra a0, a1, a2
	or a0, a1, a2
	and a0, a1, a2
	addw a0, a1, a2
	subw a0, a1, a2
	sllw a0, a1, a2
	srlw a0, a1, a2
	sraw a0, a1, a2

	fence
	fence rw, rw
	fence r, r
	fence w, w
	fence iorw, ow
	fence io, ir
	fence.tso
	.insn 0x0000000f	# fence 0,0 (empty sets)
	ecall
	ebreak

# ---------------------------------------------------------------- Zifencei, Zicsr
	fence.i

	.irp c, fflags, frm, fcsr, cycle, time, instret, 0x7c0, 0xfff, 0x000
	csrrw a0, \c, a1
	csrrs zero, \c, t0
	csrrc a0, \c, zero
	csrrwi a0, \c, 0
	csrrsi t6, \c, 31
	csrrci zero, \c, 17
	.endr

# ---------------------------------------------------------------- M
	.irp op, mul, mulh, mulhsu, mulhu, div, divu, rem, remu, mulw, divw, divuw, remw, remuw
	\op a0, a1, a2
	\op t6, zero, s11
	.endr

# ---------------------------------------------------------------- A
	.irp sfx, , .aq, .rl, .aqrl
	lr.w\sfx a0, (a1)
	lr.d\sfx t0, (sp)
	sc.w\sfx a0, a1, (a2)
	sc.d\sfx zero, t6, (s0)
	amoswap.w\sfx a0, a1, (a2)
	amoadd.w\sfx a0, a1, (a2)
	amoxor.w\sfx a0, a1, (a2)
	amoand.w\sfx a0, a1, (a2)
	amoor.w\sfx a0, a1, (a2)
	amomin.w\sfx a0, a1, (a2)
	amomax.w\sfx a0, a1, (a2)
	amominu.w\sfx a0, a1, (a2)
	amomaxu.w\sfx a0, a1, (a2)
	amoswap.d\sfx a0, a1, (a2)
	amoadd.d\sfx a0, a1, (a2)
	amoxor.d\sfx a0, a1, (a2)
	amoand.d\sfx a0, a1, (a2)
	amoor.d\sfx a0, a1, (a2)
	amomin.d\sfx a0, a1, (a2)
	amomax.d\sfx a0, a1, (a2)
	amominu.d\sfx s1, s2, (s3)
	amomaxu.d\sfx zero, zero, (zero)
	.endr

# ---------------------------------------------------------------- F, D
	.irp imm, -2048, -8, 0, 8, 2047
	flw fa0, \imm(sp)
	fld ft11, \imm(a0)
	fsw fs0, \imm(s0)
	fsd ft0, \imm(t6)
	.endr

	.irp p, s, d
	.irp rm, rne, rtz, rdn, rup, rmm, dyn
	fmadd.\p fa0, fa1, fa2, fa3, \rm
	fmsub.\p ft0, ft1, ft2, ft3, \rm
	fnmsub.\p fs0, fs1, fs2, fs3, \rm
	fnmadd.\p ft8, ft9, ft10, ft11, \rm
	fadd.\p fa0, fa1, fa2, \rm
	fsub.\p fa0, fa1, fa2, \rm
	fmul.\p fa0, fa1, fa2, \rm
	fdiv.\p fa0, fa1, fa2, \rm
	fsqrt.\p fa0, fa1, \rm
	fcvt.w.\p a0, fa1, \rm
	fcvt.wu.\p a0, fa1, \rm
	fcvt.l.\p a0, fa1, \rm
	fcvt.lu.\p a0, fa1, \rm
	fcvt.\p\().l fa0, a1, \rm
	fcvt.\p\().lu fa0, a1, \rm
	.endr
	fsgnj.\p fa0, fa1, fa2
	fsgnjn.\p fa0, fa1, fa2
	fsgnjx.\p fs11, ft0, ft11
	fmin.\p fa0, fa1, fa2
	fmax.\p fa0, fa1, fa2
	feq.\p a0, fa1, fa2
	flt.\p t0, ft1, ft2
	fle.\p zero, fs0, fs1
	fclass.\p a0, fa1
	.endr

	.irp rm, rne, rtz, rdn, rup, rmm, dyn
	fcvt.s.w fa0, a1, \rm
	fcvt.s.wu fa0, a1, \rm
	fcvt.s.d fa0, fa1, \rm
	.endr
	# Exact conversions: binutils 2.40 only accepts rm = rne (0) for these.
	fcvt.d.w fa0, a1
	fcvt.d.wu ft0, zero
	fcvt.d.s fa0, fa1
	fmv.x.w a0, fa0
	fmv.w.x fa0, a0
	fmv.x.d t6, ft11
	fmv.d.x ft11, t6

# ---------------------------------------------------------------- Zba
	.irp op, add.uw, sh1add, sh2add, sh3add, sh1add.uw, sh2add.uw, sh3add.uw
	\op a0, a1, a2
	\op t6, zero, s0
	.endr
	.irp sh, 0, 1, 31, 32, 63
	slli.uw a0, a1, \sh
	.endr

# ---------------------------------------------------------------- Zbb
	.irp op, andn, orn, xnor, max, maxu, min, minu, rol, rolw, ror, rorw
	\op a0, a1, a2
	\op zero, t6, s1
	.endr
	.irp op, clz, clzw, ctz, ctzw, cpop, cpopw, sext.b, sext.h, zext.h, orc.b, rev8
	\op a0, a1
	\op t6, zero
	.endr
	.irp sh, 0, 1, 31, 32, 63
	rori a0, a1, \sh
	.endr
	.irp sh, 0, 1, 17, 31
	roriw a0, a1, \sh
	.endr

# ---------------------------------------------------------------- Zbs
	.irp op, bclr, bext, binv, bset
	\op a0, a1, a2
	\op s1, zero, t6
	.endr
	.irp op, bclri, bexti, binvi, bseti
	.irp sh, 0, 1, 31, 32, 63
	\op a0, a1, \sh
	.endr
	.endr

# ------------------------------------------- encodings objdump 2.40 rejects but the spec allows
	.insn 0x0330800f	# fence rw,rw with rs1 = x1 (reserved field, ignored)
	.insn 0x03300f8f	# fence rw,rw with rd = x31
	.insn 0x4330000f	# fence rw,rw with a reserved fm (treated as fm = 0)
	.insn 0x8ff0000f	# fm = TSO with sets other than rw,rw: a normal fence
	.insn 0x0100000f	# pause (fence w,0)
	.insn 0x0000900f	# fence.i with rs1 = x1
	.insn 0x0010108f	# fence.i with imm and rd set
	.insn 0xd205f553	# fcvt.d.w fa0,a1,dyn
	.insn 0xd215c553	# fcvt.d.wu fa0,a1,rmm
	.insn 0x42059553	# fcvt.d.s fa0,fa1,rtz
	.insn 0x4205f553	# fcvt.d.s fa0,fa1,dyn

# ---------------------------------------------------------------- C (RV64C)
	.option rvc

	.irp imm, 4, 8, 16, 32, 64, 128, 256, 512, 1020
	c.addi4spn a0, sp, \imm
	c.addi4spn s0, sp, \imm
	.endr
	.irp imm, 0, 8, 16, 32, 64, 128, 248
	c.fld fa0, \imm(a5)
	c.ld s1, \imm(a0)
	c.fsd fs0, \imm(s1)
	c.sd a5, \imm(s0)
	.endr
	.irp imm, 0, 4, 8, 16, 32, 64, 124
	c.lw a4, \imm(a3)
	c.sw a2, \imm(a1)
	.endr

	c.nop
	.irp imm, -32, -16, -1, 1, 2, 4, 8, 16, 31
	c.addi a0, \imm
	c.addi sp, \imm
	c.addiw t6, \imm
	c.addiw ra, \imm
	c.li a0, \imm
	c.li s11, \imm
	c.andi s0, \imm
	c.andi a5, \imm
	.endr
	c.li a0, 0
	c.andi a0, 0
	c.addiw a0, 0
	.irp imm, -512, -256, -16, 16, 32, 64, 128, 256, 496
	c.addi16sp sp, \imm
	.endr
	.irp imm, 0x1, 0x2, 0x4, 0x8, 0x10, 0x1f, 0xfffe0, 0xfffff, 0xffff0
	c.lui a0, \imm
	c.lui t6, \imm
	.endr
	.irp sh, 1, 2, 4, 8, 16, 31, 32, 63
	c.srli a0, \sh
	c.srai s1, \sh
	c.slli a0, \sh
	c.slli t6, \sh
	.endr
	c.sub a0, a1
	c.xor s0, s1
	c.or a4, a5
	c.and a2, a3
	c.subw a0, s0
	c.addw a5, a1

	.irp off, -2048, -1024, -512, -256, -128, -64, -32, -16, -8, -4, -2, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2046
	c.j .+\off
	.endr
	.irp off, -256, -128, -64, -32, -16, -8, -4, -2, 0, 2, 4, 8, 16, 32, 64, 128, 254
	c.beqz a0, .+\off
	c.bnez s1, .+\off
	.endr

	.irp imm, 0, 8, 16, 32, 64, 128, 256, 504
	c.fldsp fa0, \imm(sp)
	c.fldsp ft0, \imm(sp)
	c.ldsp ra, \imm(sp)
	c.ldsp t6, \imm(sp)
	c.fsdsp fs0, \imm(sp)
	c.sdsp ra, \imm(sp)
	c.sdsp zero, \imm(sp)
	.endr
	.irp imm, 0, 4, 8, 16, 32, 64, 128, 252
	c.lwsp a0, \imm(sp)
	c.swsp s11, \imm(sp)
	.endr

	c.jr ra
	c.jr t6
	c.jalr a0
	c.jalr ra
	c.mv a0, a1
	c.mv sp, t6
	c.add a0, a1
	c.add sp, s0
	c.ebreak

	# HINTs: legal encodings that expand to an instruction without effect.
	.insn 0x0005	# c.nop with imm = 1
	.insn 0x1001	# c.nop with imm = -32
	.insn 0x0501	# c.addi a0,0
	.insn 0x4001	# c.li zero,0
	.insn 0x407d	# c.li zero,31
	.insn 0x6005	# c.lui zero,0x1
	.insn 0x8006	# c.mv zero,ra
	.insn 0x9006	# c.add zero,ra
	.insn 0x0002	# c.slli zero,0 (c.slli64)
	.insn 0x0502	# c.slli a0,0 (c.slli64)
	.insn 0x1082	# c.slli ra,32 (rd = x1)
	.insn 0x0006	# c.slli zero,1
	.insn 0x8001	# c.srli s0,0 (c.srli64)
	.insn 0x8401	# c.srai s0,0 (c.srai64)

	.insn 0x6101	# c.addi16sp sp,0: reserved, but objdump 2.40 accepts it

# ---------------------------------------------------------------- must be illegal
	.section .text.illegal, "ax", @progbits
	.option rvc		# (objdump only decodes RVC where it is enabled)
	.insn 0x00000000	# all-zero halfword (c.unimp)
	.insn 0x0004		# c.addi4spn with imm = 0
	.insn 0x6501		# c.lui a0,0
	.insn 0x6001		# c.lui zero,0
	.insn 0x2001		# c.addiw zero (reserved)
	.insn 0x2005		# c.addiw zero,1 (reserved)
	.insn 0x9c41		# CA reserved (bit 12 = 1, funct2 = 10)
	.insn 0x9c61		# CA reserved (bit 12 = 1, funct2 = 11)
	.insn 0x8000		# quadrant 0, funct3 = 100 (reserved)
	.insn 0x9000		# quadrant 0, funct3 = 100 (reserved)
	.insn 0x8002		# c.jr zero
	.insn 0x4002		# c.lwsp zero,0(sp)
	.insn 0x4022		# c.lwsp zero,8(sp)
	.insn 0x6002		# c.ldsp zero,0(sp)
	.insn 0x7002		# c.ldsp zero,32(sp)
	.insn 0x0000002f	# AMO funct3 = 000
	.insn 0x1015a52f	# lr.w with rs2 != 0
	.insn 0x1415b52f	# lr.d.aq with rs2 != 0
	.insn 0x2805a52f	# AMO funct5 = 01010
	.insn 0x02a5d553	# fadd.d rm = 5
	.insn 0x02a5e553	# fadd.d rm = 6
	.insn 0x00a5d553	# fadd.s rm = 5
	.insn 0x5a05d553	# fsqrt.d rm = 5
	.insn 0x5a15f553	# fsqrt.d with rs2 != 0
	.insn 0xc205e553	# fcvt.w.d rm = 6
	.insn 0xc245f553	# fcvt.?.d rs2 = 4
	.insn 0xd205d553	# fcvt.d.w rm = 5
	.insn 0x4205d553	# fcvt.d.s rm = 5
	.insn 0x4000f553	# fcvt.s.d-like with rs2 = 0 (fcvt.s.s does not exist)
	.insn 0x6ac5d543	# fmadd.d rm = 5
	.insn 0x6cc5f543	# fmadd.h (fmt = 10, no Zfh)
	.insn 0x6ec5f543	# fmadd.q (fmt = 11, no Q)
	.insn 0x22b5b553	# fsgnj.d funct3 = 011
	.insn 0x2ab5a553	# fmin.d funct3 = 010
	.insn 0xa2b5b553	# feq.d funct3 = 011
	.insn 0xe2150553	# fmv.x.d with rs2 = 1
	.insn 0xe2052553	# fmv.x.d with funct3 = 010
	.insn 0xf2051553	# fmv.d.x with funct3 = 001
	.insn 0x04b50553	# fadd.h (fmt = 10)
	.insn 0x06b50553	# fadd.q (fmt = 11)
	.insn 0x0000c507	# flh / vector load width (funct3 = 100)
	.insn 0x0000c527	# fsq width (funct3 = 100)
	.insn 0x00a5f507	# fl? funct3 = 111
	.insn 0x00000007	# flb-width (funct3 = 000): vector / reserved
	.insn 0x0405951b	# slliw shamt = 32+ (bit 25 set)
	.insn 0x0205951b	# slliw shamt = 32
	.insn 0x0205d51b	# srliw shamt = 32
	.insn 0x4205d51b	# sraiw shamt = 32
	.insn 0x6205d51b	# roriw shamt = 32
	.insn 0x0405d513	# srli with imm[11:6] = 000001
	.insn 0x8005d513	# srli with imm[11:6] = 100000
	.insn 0x60659513	# clz-like unary with rs2 = 6 (reserved)
	.insn 0x60359513	# clz-like unary with rs2 = 3 (reserved)
	.insn 0x6075951b	# clzw-like with rs2 = 7
	.insn 0x2885d513	# orc.b neighbour (imm12 = 0x288)
	.insn 0x6b95d513	# rev8 neighbour (imm12 = 0x6b9)
	.insn 0x6985d513	# rev8.w (RV32 encoding, imm12 = 0x698)
	.insn 0x0805c533	# zext.h in OP (RV32 encoding)
	.insn 0x0815c53b	# zext.h-like with rs2 = 1 (pack, Zbkb)
	.insn 0x08b5c53b	# pack-like with rs2 = a1
	.insn 0x40b51533	# sll with funct7 = 0100000
	.insn 0x40b52533	# slt with funct7 = 0100000
	.insn 0x80b50533	# add with funct7 = 1000000
	.insn 0x02b5153b	# mulw-like funct3 = 001 (reserved)
	.insn 0x02b5253b	# funct7 = 0000001, funct3 = 010 in OP-32 (reserved)
	.insn 0x40b5153b	# sllw with funct7 = 0100000
	.insn 0x40b5453b	# OP-32 funct7 = 0100000 funct3 = 100
	.insn 0x08b5153b	# OP-32 funct7 = 0000100, funct3 = 001
	.insn 0x0000a063	# branch funct3 = 010
	.insn 0x0000b063	# branch funct3 = 011
	.insn 0x00001067	# jalr funct3 = 001
	.insn 0x00007503	# load funct3 = 111 (ldu, RV128)
	.insn 0x00a54023	# store funct3 = 100 (sq, RV128)
	.insn 0x0000200f	# MISC-MEM funct3 = 010 (cbo.*, not supported)
	.insn 0x00100173	# ebreak with rd != 0
	.insn 0x00108073	# ebreak with rs1 != 0
	.insn 0x00000873	# ecall with rs1 != 0... rd = x16
	.insn 0x00200073	# uret / reserved funct12
	.insn 0x30200073	# mret
	.insn 0x10200073	# sret
	.insn 0x10500073	# wfi
	.insn 0x12000073	# sfence.vma
	.insn 0x00004073	# SYSTEM funct3 = 100 (hypervisor)
	.insn 0x0000007b	# custom-3
	.insn 0x0000000b	# custom-0
	.insn 0x0000002b	# custom-1
	.insn 0x00000057	# OP-V
	.insn 0x00000077	# OP-P / reserved
