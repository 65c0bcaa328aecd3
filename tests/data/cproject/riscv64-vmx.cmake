# CMake toolchain file: cross-compile for riscv64 Linux, run the results through vmx.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(CMAKE_C_COMPILER riscv64-linux-gnu-gcc)
# vmx runs static executables. Debian bookworm's riscv64 ld crashes on -static, so link
# with LLVM's lld (package lld-19).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -B/usr/lib/llvm-19/bin -fuse-ld=lld")
# How ctest (and add_custom_command running a built tool) starts a riscv64 program:
# `vmx run <program> <args>`, translating through vmx's cache. With
# -DCMAKE_CROSSCOMPILING_EMULATOR= (empty) programs are started directly, which works
# once `vmx binfmt install` has registered vmx with the kernel.
if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR vmx run)
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
