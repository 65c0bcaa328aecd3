//! `vmx exec -L DIR` and `VMX_LD_PREFIX=DIR` (qemu-user's `-L`/`QEMU_LD_PREFIX`): the
//! guest's lookups of absolute paths try DIR first. A riscv64 guest reads
//! `/etc/vmx-sysroot-probe` (which exists only inside the sysroot), stats it, checks
//! `access` and `readlink` of a link there, and reads a host file that is not in the
//! sysroot (the lookup falls back to the real path).

mod common;

use std::process::Command;

use common::{have, run, skip, vmx_cmd, TempDir};

const PROGRAM: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    char buf[64];
    int fd = open("/etc/vmx-sysroot-probe", O_RDONLY);
    if (fd < 0) { perror("open /etc/vmx-sysroot-probe"); } else {
        ssize_t n = read(fd, buf, sizeof buf);
        printf("read: %.*s", (int)n, buf);
        close(fd);
    }
    struct stat st;
    printf("stat: %s\n", stat("/etc/vmx-sysroot-probe", &st) == 0 ? "ok" : "ENOENT");
    printf("access: %s\n", access("/etc/vmx-sysroot-probe", R_OK) == 0 ? "ok" : "ENOENT");
    ssize_t n = readlink("/etc/vmx-sysroot-link", buf, sizeof buf);
    printf("readlink: %.*s\n", n < 0 ? 1 : (int)n, n < 0 ? "-" : buf);
    printf("host file: %s\n", access("/bin/sh", F_OK) == 0 ? "ok" : "missing");
    return 0;
}
"#;

#[test]
fn sysroot_lookups() {
    let test = "sysroot::sysroot_lookups";
    let cc = "riscv64-linux-gnu-gcc";
    if !have(cc) {
        skip(test, "riscv64-linux-gnu-gcc is not installed");
        return;
    }
    let tmp = TempDir::new("sysroot");
    let src = tmp.join("probe.c");
    std::fs::write(&src, PROGRAM).unwrap();
    let exe = tmp.join("probe");
    let built = Command::new(cc)
        .args([
            "-static",
            "-B/usr/lib/llvm-19/bin",
            "-fuse-ld=lld",
            "-O2",
            "-o",
        ])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("running the compiler");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let root = tmp.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/vmx-sysroot-probe"), "from the sysroot\n").unwrap();
    std::os::unix::fs::symlink("target-in-sysroot", root.join("etc/vmx-sysroot-link")).unwrap();

    let run_with = |args: &[&str], env: Option<&std::path::Path>| {
        let mut cmd = vmx_cmd();
        cmd.arg("exec").arg("--engine=interp").args(args).arg(&exe);
        cmd.env_remove("VMX_LD_PREFIX");
        if let Some(e) = env {
            cmd.env("VMX_LD_PREFIX", e);
        }
        let out = run(&mut cmd, None).expect("running vmx");
        assert_eq!(out.status, 0, "{}", out.stderr_text());
        out.stdout_text()
    };
    let with = "read: from the sysroot\nstat: ok\naccess: ok\nreadlink: target-in-sysroot\nhost file: ok\n";
    let root_s = root.to_str().expect("UTF-8 temp path");
    assert_eq!(run_with(&["-L", root_s], None), with, "-L DIR");
    assert_eq!(run_with(&[], Some(&root)), with, "VMX_LD_PREFIX");
    let without = run_with(&[], None);
    assert!(
        without.contains("stat: ENOENT") && without.contains("readlink: -"),
        "without a sysroot the probe must not be found:\n{without}"
    );
    // A sysroot that is not a directory is a one-line error.
    let mut cmd = vmx_cmd();
    cmd.args(["exec", "--engine=interp", "-L", "/nonexistent-sysroot"])
        .arg(&exe);
    let out = run(&mut cmd, None).expect("running vmx");
    assert_ne!(out.status, 0);
    assert!(
        out.stderr_text().contains("not a directory") && out.stderr_text().lines().count() == 1,
        "{}",
        out.stderr_text()
    );
}
