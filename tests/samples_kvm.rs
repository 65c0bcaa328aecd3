//! Native x86-64 guests under KVM (issue 8).
//!
//! Every sample built with the host's `gcc -static -O2` (`cargo xtask build-samples`, into
//! `samples/build/x86_64/`) runs natively and under `vmx exec` (KVM); both must match the
//! golden files. Samples marked `<name>.no-x86_64` (the file says why) are left out.
//!
//! Where KVM is not usable, vmx says so and runs the program as a host process; the KVM
//! tests then print a visible SKIPPED line instead of passing silently. The fallback itself
//! is tested everywhere with `VMX_NO_KVM=1`.

mod common;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use common::{compare, run, samples_dir, skip, vmx, vmx_cmd, Outcome, Sample, TempDir};

/// The first line vmx prints when it cannot use KVM.
const NO_KVM: &str = "vmx: KVM is not usable";

fn x86_sample(test: &str, name: &str) -> Option<PathBuf> {
    common::artefact(
        test,
        &samples_dir().join("build/x86_64").join(name),
        &[samples_dir().join(format!("{name}.c"))],
        "build-samples",
    )
}

/// Did this run fall back to a host process? Then the test is skipped, visibly.
fn fell_back(test: &str, out: &Outcome) -> bool {
    let stderr = String::from_utf8_lossy(&out.stderr);
    match stderr.lines().find(|l| l.starts_with(NO_KVM)) {
        Some(line) => {
            skip(test, &format!("KVM is not usable here ({line})"));
            true
        }
        None => false,
    }
}

fn check_sample(name: &str) {
    let test = format!("samples_kvm::{name}");
    let sample = Sample::load(name);
    let Some(elf) = x86_sample(&test, name) else {
        return;
    };
    let mut failures = Vec::new();
    match sample.run(&elf, &[]) {
        Err(e) => failures.push(format!("[native] {e}")),
        Ok(out) => {
            if let Some(r) = compare("golden", &sample.expected, "native", &out) {
                failures.push(format!("[native] differs from samples/{name}.*:\n{r}"));
            }
        }
    }
    match sample.run(&vmx(), &[OsStr::new("exec"), elf.as_os_str()]) {
        Err(e) => failures.push(format!("[vmx exec (KVM)] {e}")),
        Ok(out) => {
            if fell_back(&test, &out) {
                return;
            }
            if let Some(r) = compare("golden", &sample.expected, "vmx", &out) {
                failures.push(format!(
                    "[vmx exec (KVM)] differs from samples/{name}.*:\n{r}"
                ));
            }
        }
    }
    if !failures.is_empty() {
        panic!(
            "sample `{name}` (x86-64 under KVM): {} problem(s)\n\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

macro_rules! sample_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_sample(stringify!($name));
            }
        )*

        const REGISTERED: &[&str] = &[$(stringify!($name)),*];
    };
}

sample_tests!(
    args_env,
    big_switch,
    computed_jumps,
    cpu_bound,
    exec_self,
    exit_status,
    file_io,
    float_printf,
    fp_kernels,
    fp_rounding,
    hello,
    jit_fencei,
    malloc_heavy,
    qsort_fnptr,
    recursion,
    segfault,
    setjmp_longjmp,
    signal_timer,
    signals,
    sigsegv,
    sockets,
    strings,
    text_patch,
    thread_signals,
    threads,
);

#[test]
fn every_sample_is_registered_or_marked() {
    let mut expected: Vec<String> = Sample::all_names()
        .into_iter()
        .filter(|n| !samples_dir().join(format!("{n}.no-x86_64")).exists())
        .collect();
    expected.sort();
    let mut registered: Vec<String> = REGISTERED.iter().map(|s| s.to_string()).collect();
    registered.sort();
    assert_eq!(
        expected, registered,
        "every sample without a .no-x86_64 file must be in tests/samples_kvm.rs"
    );
}

fn run_vmx(args: &[&OsStr], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = vmx_cmd();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd, None).unwrap_or_else(|e| panic!("vmx {args:?}: {e}"))
}

/// `--stats` names the engine: the run really was a KVM guest.
#[test]
fn runs_in_a_kvm_guest() {
    let test = "samples_kvm::runs_in_a_kvm_guest";
    let Some(elf) = x86_sample(test, "hello") else {
        return;
    };
    let out = run_vmx(
        &[OsStr::new("exec"), OsStr::new("--stats"), elf.as_os_str()],
        &[],
    );
    if fell_back(test, &out) {
        return;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status, 0, "{stderr}");
    assert!(
        stderr.contains("engine kvm") && stderr.contains("system calls"),
        "no KVM statistics in: {stderr}"
    );
}

/// Without KVM, vmx says so once and runs the program as a host process.
#[test]
fn falls_back_to_a_host_process_without_kvm() {
    let test = "samples_kvm::falls_back_to_a_host_process_without_kvm";
    let Some(elf) = x86_sample(test, "exit_status") else {
        return;
    };
    let sample = Sample::load("exit_status");
    let out = run_vmx(
        &[OsStr::new("exec"), elf.as_os_str()],
        &[("VMX_NO_KVM", "1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let notes = stderr.lines().filter(|l| l.starts_with(NO_KVM)).count();
    assert_eq!(notes, 1, "expected one fallback note in: {stderr}");
    let rest: String = stderr
        .lines()
        .filter(|l| !l.starts_with(NO_KVM))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(out.stdout, sample.expected.stdout);
    assert_eq!(rest.as_bytes(), &sample.expected.stderr[..]);
    assert_eq!(out.status, sample.expected.status);
}

/// `vmx translate` of an x86-64 program makes a "native" .aot that `vmx exec` runs; `vmx
/// run` goes through the cache the same way.
#[test]
fn translate_exec_and_run_a_native_aot() {
    let test = "samples_kvm::translate_exec_and_run_a_native_aot";
    let Some(elf) = x86_sample(test, "hello") else {
        return;
    };
    let expected = Sample::load("hello").expected;
    let tmp = TempDir::new("kvm-aot");
    let aot = tmp.path().join("hello.aot");
    let out = run_vmx(
        &[
            OsStr::new("translate"),
            elf.as_os_str(),
            OsStr::new("-o"),
            aot.as_os_str(),
        ],
        &[],
    );
    assert_eq!(out.status, 0, "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&aot).expect("reading the .aot");
    assert!(bytes.starts_with(b"VMXAOT\r\n"));
    let out = run_vmx(&[OsStr::new("exec"), aot.as_os_str()], &[]);
    if fell_back(test, &out) {
        return;
    }
    assert_eq!(
        out.stdout,
        expected.stdout,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status, 0);
    let cache = tmp.path().join("cache");
    let out = run_vmx(
        &[OsStr::new("run"), elf.as_os_str()],
        &[("VMX_CACHE_DIR", cache.to_str().expect("UTF-8 temp path"))],
    );
    assert_eq!(
        out.stdout,
        expected.stdout,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status, 0);
}

/// A guest touching memory outside its mappings gets SIGSEGV with the address Linux
/// reports, and nothing of the runtime is reachable: not through loads and stores
/// (host-typical addresses, the runtime's kernel area), not through system calls. The
/// probe prints the same lines natively and under KVM.
#[test]
fn confinement() {
    let test = "samples_kvm::confinement";
    let Some((_tmp, exe)) = build_c(test, "probe", PROBE) else {
        return;
    };
    let native = run(&mut Command::new(&exe), None).expect("running the probe natively");
    assert_eq!(
        native.status,
        0,
        "{}",
        String::from_utf8_lossy(&native.stderr)
    );
    let out = run_vmx(&[OsStr::new("exec"), exe.as_os_str()], &[]);
    if fell_back(test, &out) {
        return;
    }
    if let Some(r) = compare("native", &native, "vmx", &out) {
        panic!("the probe differs under KVM:\n{r}");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    for probe in [
        "unmapped",
        "munmapped",
        "beyond the guest space",
        "kernel half",
        "host binary",
        "host libraries",
        "read-only",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(probe) && l.contains("SIGSEGV")),
            "no SIGSEGV line for `{probe}` in:\n{text}"
        );
    }
    assert!(text.contains("write(host address): EFAULT"), "{text}");
}

/// Guest-controlled state the CPU cannot return to (a signal handler or a sigreturn frame
/// outside the canonical user half) kills the guest with SIGSEGV, as on Linux; it never
/// takes the runtime down.
#[test]
fn bad_signal_state_is_the_guests_sigsegv() {
    let test = "samples_kvm::bad_signal_state_is_the_guests_sigsegv";
    let Some((_tmp, exe)) = build_c(test, "badsig", BAD_SIGNAL_STATE) else {
        return;
    };
    for case in ["handler", "sigreturn"] {
        let native = run(Command::new(&exe).arg(case), None).expect("running natively");
        assert_eq!(native.status, 139, "natively, case {case}");
        let out = run_vmx(
            &[OsStr::new("exec"), exe.as_os_str(), OsStr::new(case)],
            &[],
        );
        if fell_back(test, &out) {
            return;
        }
        if let Some(r) = compare("native", &native, "vmx", &out) {
            panic!("case {case} differs under KVM:\n{r}");
        }
    }
}

/// Builds `source` with `gcc -static -O2 -pthread` into a temporary directory.
fn build_c(test: &str, name: &str, source: &str) -> Option<(TempDir, PathBuf)> {
    if !common::have("gcc") {
        skip(test, "gcc is not installed");
        return None;
    }
    let tmp = TempDir::new(name);
    let src = tmp.path().join(format!("{name}.c"));
    std::fs::write(&src, source).expect("writing the program");
    let exe = tmp.path().join(name);
    let built = Command::new("gcc")
        .args(["-static", "-O2", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("running gcc");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    Some((tmp, exe))
}

/// Guest threads, one vCPU each: eight pthreads with thread-local storage, a mutex, a
/// condition variable, their own heap memory and `pthread_join` (CLONE_CHILD_CLEARTID and
/// futex wake-ups), several times over; the output must be the native one.
#[test]
fn threads_repeated() {
    let test = "samples_kvm::threads_repeated";
    let Some((_tmp, exe)) = build_c(test, "threads", THREADS) else {
        return;
    };
    let native = run(&mut Command::new(&exe), None).expect("running natively");
    assert_eq!(native.status, 0);
    for _ in 0..5 {
        let out = run_vmx(&[OsStr::new("exec"), exe.as_os_str()], &[]);
        if fell_back(test, &out) {
            return;
        }
        if let Some(r) = compare("native", &native, "vmx", &out) {
            panic!("threads differ under KVM:\n{r}");
        }
    }
}

/// The x86-64 layouts the shared syscall layer must use for these guests (packed
/// `epoll_event`, `struct stat`, `sigaction` with `sa_restorer`), `uname`, `arch_prctl`
/// and `time`: the same answers as natively.
#[test]
fn x86_64_abi() {
    let test = "samples_kvm::x86_64_abi";
    let Some((_tmp, exe)) = build_c(test, "abi", ABI) else {
        return;
    };
    let native = run(&mut Command::new(&exe), None).expect("running natively");
    assert_eq!(native.status, 0);
    let text = String::from_utf8_lossy(&native.stdout);
    assert!(
        text.contains("data 0x1122334455667788") && text.contains("machine x86_64"),
        "unexpected native output:\n{text}"
    );
    let out = run_vmx(&[OsStr::new("exec"), exe.as_os_str()], &[]);
    if fell_back(test, &out) {
        return;
    }
    if let Some(r) = compare("native", &native, "vmx", &out) {
        panic!("the ABI probe differs under KVM:\n{r}");
    }
}

/// `poll` (a timeout in milliseconds) and `select` (a `timeval`, updated with the time
/// left), which x86-64 has and the generic table does not: the same answers as natively.
#[test]
fn poll_and_select() {
    let test = "samples_kvm::poll_and_select";
    let Some((_tmp, exe)) = build_c(test, "poll", POLL) else {
        return;
    };
    let native = run(&mut Command::new(&exe), None).expect("running natively");
    assert_eq!(native.status, 0);
    let out = run_vmx(&[OsStr::new("exec"), exe.as_os_str()], &[]);
    if fell_back(test, &out) {
        return;
    }
    if let Some(r) = compare("native", &native, "vmx", &out) {
        panic!("poll/select differ under KVM:\n{r}");
    }
}

const POLL: &str = r#"#include <poll.h>
#include <stdio.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>
int main(void){
  int p[2]; if (pipe(p)) return 1;
  struct pollfd f = {p[0], POLLIN, 0};
  struct timespec a,b; clock_gettime(CLOCK_MONOTONIC,&a);
  int r = poll(&f, 1, 150);
  clock_gettime(CLOCK_MONOTONIC,&b);
  long ms = (b.tv_sec-a.tv_sec)*1000 + (b.tv_nsec-a.tv_nsec)/1000000;
  printf("poll timeout %d, waited >= 140ms %d\n", r, ms >= 140);
  if (write(p[1], "x", 1) != 1) return 1;
  r = poll(&f, 1, -1);
  printf("poll ready %d revents %#x\n", r, f.revents);
  fd_set rd; FD_ZERO(&rd); FD_SET(p[0], &rd);
  struct timeval tv = {1, 500000};
  r = select(p[0]+1, &rd, NULL, NULL, &tv);
  printf("select %d isset %d time left <= 1.5 s %d\n", r, FD_ISSET(p[0], &rd), tv.tv_sec*1000000+tv.tv_usec <= 1500000);
  char c; if (read(p[0], &c, 1) != 1) return 1;
  FD_ZERO(&rd); FD_SET(p[0], &rd); tv.tv_sec = 0; tv.tv_usec = 100000;
  clock_gettime(CLOCK_MONOTONIC,&a);
  r = select(p[0]+1, &rd, NULL, NULL, &tv);
  clock_gettime(CLOCK_MONOTONIC,&b);
  ms = (b.tv_sec-a.tv_sec)*1000 + (b.tv_nsec-a.tv_nsec)/1000000;
  printf("select timeout %d waited >= 90ms %d left %ld\n", r, ms >= 90, (long)tv.tv_usec);
  return 0;
}
"#;

const ABI: &str = r#"#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>

static void on_usr1(int sig) { (void)sig; }

int main(void)
{
    /* epoll_event is packed on x86-64: the 64-bit data right after the events word. */
    int p[2];
    if (pipe(p) != 0)
        return 1;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ull};
    printf("epoll_ctl %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    if (write(p[1], "x", 1) != 1)
        return 1;
    struct epoll_event out[2];
    memset(out, 0, sizeof out);
    int n = epoll_wait(ep, out, 2, 1000);
    printf("epoll_wait %d events %#x data %#llx\n", n, out[0].events,
           (unsigned long long)out[0].data.u64);
    /* struct stat: the x86-64 layout. */
    struct stat st;
    int r = stat("/", &st);
    printf("stat / %d: directory %d, inode set %d, links >= 2 %d, blksize set %d\n", r,
           S_ISDIR(st.st_mode), st.st_ino != 0, st.st_nlink >= 2, st.st_blksize > 0);
    struct stat st2;
    int fd = open("/", 0);
    printf("fstat agrees %d\n", fstat(fd, &st2) == 0 && st2.st_ino == st.st_ino &&
           st2.st_dev == st.st_dev && st2.st_mtim.tv_sec == st.st_mtim.tv_sec);
    /* sigaction round trip keeps sa_restorer and the mask. */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR1, NULL, &old);
    printf("sigaction handler ok %d mask has USR2 %d restorer set %d\n",
           old.sa_handler == on_usr1, sigismember(&old.sa_mask, SIGUSR2),
           old.sa_restorer != NULL);
    struct utsname u;
    uname(&u);
    printf("machine %s\n", u.machine);
    unsigned long fs = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
    printf("fs base is the thread pointer %d\n", fs == (unsigned long)__builtin_thread_pointer());
    printf("time agrees %d\n", labs(time(NULL) - (long)syscall(SYS_time, NULL)) <= 1);
    return 0;
}
"#;

const THREADS: &str = r#"#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static __thread long tls_counter;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long total;
static int arrived;

static void *worker(void *arg)
{
    long id = (long)arg;
    for (long i = 0; i < 100000; i++)
        tls_counter += id;
    char *buf = malloc(1 << 20);
    memset(buf, (int)id, 1 << 20);
    long sum = 0;
    for (int i = 0; i < (1 << 20); i += 4096)
        sum += buf[i];
    free(buf);
    pthread_mutex_lock(&mu);
    total += tls_counter + sum;
    arrived++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return (void *)(tls_counter / 100000);
}

int main(void)
{
    pthread_t t[8];
    tls_counter = 7;
    for (long i = 0; i < 8; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(i + 1)) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    pthread_mutex_lock(&mu);
    while (arrived < 8)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    long r = 0;
    for (int i = 0; i < 8; i++) {
        void *v;
        pthread_join(t[i], &v);
        r += (long)v;
    }
    printf("total %ld, joined sum %ld, main tls %ld\n", total, r, tls_counter);
    return 0;
}
"#;

const BAD_SIGNAL_STATE: &str = r#"
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    printf("case %s\n", argv[1]);
    fflush(stdout);
    if (strcmp(argv[1], "handler") == 0) {
        /* A handler address the CPU cannot jump to. */
        struct {
            unsigned long handler, flags, restorer, mask;
        } sa = {0xffff800000001000ul, 0x04000000, 0x401000, 0};
        syscall(SYS_rt_sigaction, SIGUSR1, &sa, NULL, 8);
        raise(SIGUSR1);
    } else {
        /* A signal frame full of non-canonical values. */
        unsigned long frame[128];
        for (int i = 0; i < 128; i++)
            frame[i] = 0x8000000000000000ul | i;
        __asm__ volatile("mov %0, %%rsp; mov $15, %%eax; syscall" : : "r"(frame + 1) : "memory");
    }
    printf("survived\n");
    return 0;
}
"#;

const PROBE: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile uintptr_t fault_addr;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    fault_addr = (uintptr_t)si->si_addr;
    fault_code = si->si_code;
    siglongjmp(back, 1);
}

static void probe(const char *what, uintptr_t addr, int write)
{
    if (sigsetjmp(back, 1) == 0) {
        if (write)
            *(volatile char *)addr = 1;
        else
            (void)*(volatile char *)addr;
        printf("%s: no fault\n", what);
    } else {
        printf("%s: SIGSEGV code %d, si_addr %s\n", what, fault_code,
               fault_addr == addr ? "= the address" : "differs");
    }
}

static const char rodata[4096] __attribute__((aligned(4096))) = "constant";

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);

    probe("unmapped", 0x10, 0);
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 1;
    munmap(p, 8192);
    probe("munmapped", (uintptr_t)p, 1);
    probe("beyond the guest space", (uintptr_t)1 << 40, 0);
    probe("kernel half", 0xffffff8000000000ul, 0);
    probe("kernel half", 0xffffff8000003000ul, 1);
    probe("host binary", 0x555555554000ul, 0);
    probe("host libraries", 0x7f0000000000ul, 1);
    probe("read-only", (uintptr_t)rodata, 1);
    errno = 0;
    long n = write(1, (void *)0x7f0000001000ul, 16);
    printf("write(host address): %s\n", n < 0 && errno == EFAULT ? "EFAULT" : "leaked");
    return 0;
}
"#;
