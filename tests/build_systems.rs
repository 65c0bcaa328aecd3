//! vmx in the places cross-compiled projects run their programs: CMake's
//! `CMAKE_CROSSCOMPILING_EMULATOR` (ctest), Meson's `exe_wrapper` (`meson test`), and
//! `vmx translate --depfile` under Make and Ninja. The projects are in `tests/data/`;
//! `docs/build-systems.md` shows the same commands (and `tests/docs.rs` runs them).

mod common;

use std::fs;
use std::path::Path;

use common::{have, riscv_sample, root, skip, Sandbox, RISCV_CC};

/// Whether `tools` and the riscv64 cross compiler are installed; a visible skip if not.
fn tools(test: &str, tools: &[&str]) -> bool {
    for tool in tools.iter().copied().chain([RISCV_CC]) {
        if !have(tool) {
            skip(
                test,
                &format!("{tool} is not installed (cargo xtask setup)"),
            );
            return false;
        }
    }
    true
}

fn project() -> String {
    root().join("tests/data/cproject").display().to_string()
}

#[test]
fn cmake_ctest_runs_tests_through_vmx() {
    if !tools(
        "build_systems::cmake_ctest_runs_tests_through_vmx",
        &["cmake", "ctest"],
    ) {
        return;
    }
    let sb = Sandbox::new("cmake");
    let src = project();
    let toolchain = format!("-DCMAKE_TOOLCHAIN_FILE={src}/riscv64-vmx.cmake");
    sb.expect(0, "cmake", &["-S", &src, "-B", "build", &toolchain]);
    sb.expect(0, "cmake", &["--build", "build"]);
    let out = sb.expect(0, "ctest", &["--test-dir", "build", "--output-on-failure"]);
    let text = out.stdout_text();
    assert!(
        text.contains("100% tests passed, 0 tests failed out of 2"),
        "{text}"
    );
    // Really riscv64 code, run by vmx: the cache holds its translation.
    let stats = sb
        .expect(0, "vmx", &["cache", "stats", "--json"])
        .stdout_text();
    assert!(!stats.contains("\"entries\": 0,"), "{stats}");

    // A failing guest is a failing test, and so is a crashing one.
    sb.expect(
        0,
        "cmake",
        &["-S", &src, "-B", "build", "-DMATHX_FAILING_TESTS=ON"],
    );
    sb.expect(0, "cmake", &["--build", "build"]);
    let out = sb.expect(8, "ctest", &["--test-dir", "build", "--output-on-failure"]);
    let text = out.stdout_text();
    assert!(
        text.contains("50% tests passed, 2 tests failed out of 4"),
        "{text}"
    );
    assert!(text.contains("deliberately_failing (Failed)"), "{text}");
    assert!(
        text.contains("deliberately_crashing (Subprocess aborted)"),
        "{text}"
    );
    assert!(
        text.contains("mathx_gcd(12, 18) = 6, expected 7"),
        "the guest's stderr: {text}"
    );
}

#[test]
fn meson_test_runs_tests_through_vmx() {
    if !tools(
        "build_systems::meson_test_runs_tests_through_vmx",
        &["meson", "ninja"],
    ) {
        return;
    }
    let sb = Sandbox::new("meson");
    let src = project();
    let cross = format!("{src}/riscv64-vmx.ini");
    sb.expect(
        0,
        "meson",
        &["setup", "build", &src, "--cross-file", &cross],
    );
    let out = sb.expect(0, "meson", &["test", "-C", "build"]);
    let text = out.stdout_text();
    assert!(text.contains("Ok:                 2"), "{text}");
    sb.expect(0, "meson", &["configure", "build", "-Dfailing_tests=true"]);
    let out = sb.expect(1, "meson", &["test", "-C", "build"]);
    let text = out.stdout_text();
    assert!(text.contains("deliberately_failing FAIL"), "{text}");
    assert!(text.contains("Fail:               1"), "{text}");
}

/// Copies the hello sample and `tests/data/depfile/<file>` into a fresh sandbox.
fn depfile_sandbox(label: &str, file: &str, hello: &Path) -> Sandbox {
    let sb = Sandbox::new(label);
    fs::copy(hello, sb.dir.join("hello")).unwrap();
    fs::copy(
        root().join("tests/data/depfile").join(file),
        sb.dir.join(file),
    )
    .unwrap();
    sb
}

/// Changes `file`'s modification time to now, later than anything written so far
/// (sleeping past one-second timestamp granularity; a time in the future would make
/// the rebuilt output older than its input).
fn touch_later(sb: &Sandbox, file: &str) {
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sb.expect(0, "touch", &[file]);
}

#[test]
fn make_retranslates_only_when_the_guest_changes() {
    let test = "build_systems::make_retranslates_only_when_the_guest_changes";
    let Some(hello) = riscv_sample(test, "hello") else {
        return;
    };
    if !tools(test, &["make"]) {
        return;
    }
    let sb = depfile_sandbox("make", "Makefile", &hello);
    let out = sb.expect(0, "make", &[]);
    assert!(out
        .stdout_text()
        .contains("vmx translate hello -o hello.aot --depfile hello.aot.d"));
    assert_eq!(
        fs::read_to_string(sb.dir.join("hello.aot.d")).unwrap(),
        "hello.aot: hello\n"
    );
    let out = sb.expect(0, "make", &[]);
    assert!(
        out.stdout_text().contains("Nothing to be done"),
        "{}",
        out.stdout_text()
    );
    sb.expect(0, "make", &["-q"]);
    touch_later(&sb, "hello");
    sb.expect(1, "make", &["-q"]);
    let out = sb.expect(0, "make", &[]);
    assert!(
        out.stdout_text().contains("vmx translate hello"),
        "{}",
        out.stdout_text()
    );
    sb.expect(0, "make", &["-q"]);

    // An input the rule does not show (VMX_PROFILE) is in the depfile, so make sees it.
    fs::write(sb.dir.join("hello.profile"), "").unwrap();
    let mut cmd = sb.cmd("make");
    cmd.args(["-B"]).env("VMX_PROFILE", "hello.profile");
    let out = common::run_with_timeout(&mut cmd, None, common::translate_timeout()).unwrap();
    assert_eq!(out.status, 0, "{}", out.stderr_text());
    assert_eq!(
        fs::read_to_string(sb.dir.join("hello.aot.d")).unwrap(),
        "hello.aot: hello hello.profile\n"
    );
    sb.expect(0, "make", &["-q"]);
    touch_later(&sb, "hello.profile");
    sb.expect(1, "make", &["-q"]);
    // The .aot runs.
    let out = sb.expect(0, "vmx", &["exec", "hello.aot"]);
    assert_eq!(
        out.stdout_text(),
        "Hello from vmx!\nstdout and stdio buffering work\n"
    );
}

#[test]
fn ninja_retranslates_only_when_the_guest_changes() {
    let test = "build_systems::ninja_retranslates_only_when_the_guest_changes";
    let Some(hello) = riscv_sample(test, "hello") else {
        return;
    };
    if !tools(test, &["ninja"]) {
        return;
    }
    let sb = depfile_sandbox("ninja", "build.ninja", &hello);
    let out = sb.expect(0, "ninja", &[]);
    assert!(
        out.stdout_text().contains("vmx translate hello"),
        "{}",
        out.stdout_text()
    );
    let out = sb.expect(0, "ninja", &[]);
    assert!(
        out.stdout_text().contains("no work to do"),
        "{}",
        out.stdout_text()
    );
    // Ninja moved the depfile into its own log (deps = gcc).
    let deps = sb.expect(0, "ninja", &["-t", "deps"]).stdout_text();
    assert!(
        deps.contains("hello.aot: #deps 1,") && deps.contains("    hello"),
        "{deps}"
    );
    touch_later(&sb, "hello");
    let out = sb.expect(0, "ninja", &[]);
    assert!(
        out.stdout_text().contains("vmx translate hello"),
        "{}",
        out.stdout_text()
    );
    let out = sb.expect(0, "ninja", &[]);
    assert!(
        out.stdout_text().contains("no work to do"),
        "{}",
        out.stdout_text()
    );
}

#[test]
fn ctest_runs_tests_through_binfmt_misc() {
    let test = "build_systems::ctest_runs_tests_through_binfmt_misc";
    if !tools(test, &["cmake", "ctest"]) {
        return;
    }
    let sb = Sandbox::new("cmake-binfmt");
    let prefix = format!("vmx-test-ctest-{}", std::process::id());
    let status = sb
        .cmd("vmx")
        .args(["binfmt", "status", "--prefix", &prefix])
        .output()
        .unwrap();
    if !status.status.success() {
        skip(
            test,
            &format!(
                "binfmt_misc is not available here (needs root): {}",
                String::from_utf8_lossy(&status.stderr).trim()
            ),
        );
        return;
    }
    struct Uninstall<'a>(&'a Sandbox, String);
    impl Drop for Uninstall<'_> {
        fn drop(&mut self) {
            let _ = self
                .0
                .cmd("vmx")
                .args(["binfmt", "uninstall", "--prefix", &self.1])
                .output();
        }
    }
    let install = sb
        .cmd("vmx")
        .args(["binfmt", "install", "--prefix", &prefix])
        .output()
        .unwrap();
    if !install.status.success() {
        skip(
            test,
            &format!(
                "vmx binfmt install is refused here: {}",
                String::from_utf8_lossy(&install.stderr).trim()
            ),
        );
        return;
    }
    let _guard = Uninstall(&sb, prefix);
    // No emulator: ctest starts the riscv64 programs itself and the kernel hands them to
    // vmx (the VMX_* settings come through the environment).
    let src = project();
    let toolchain = format!("-DCMAKE_TOOLCHAIN_FILE={src}/riscv64-vmx.cmake");
    sb.expect(
        0,
        "cmake",
        &[
            "-S",
            &src,
            "-B",
            "build",
            &toolchain,
            "-DCMAKE_CROSSCOMPILING_EMULATOR=",
        ],
    );
    sb.expect(0, "cmake", &["--build", "build"]);
    let ctest = fs::read_to_string(sb.dir.join("build/CTestTestfile.cmake")).unwrap();
    assert!(
        !ctest.contains("\"vmx\" \"run\""),
        "ctest must start the guests directly:\n{ctest}"
    );
    let out = sb.expect(0, "ctest", &["--test-dir", "build", "--output-on-failure"]);
    let text = out.stdout_text();
    assert!(
        text.contains("100% tests passed, 0 tests failed out of 2"),
        "{text}"
    );
    let stats = sb
        .expect(0, "vmx", &["cache", "stats", "--json"])
        .stdout_text();
    assert!(!stats.contains("\"entries\": 0,"), "vmx ran them: {stats}");
}
/// Whether rustup installed the standard library for `target`.
fn have_rust_target(target: &str) -> bool {
    let Ok(out) = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
    else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir()
}

#[test]
fn cargo_runner_runs_binaries_through_vmx() {
    let test = "build_systems::cargo_runner_runs_binaries_through_vmx";
    const TARGET: &str = "riscv64gc-unknown-linux-gnu";
    if !tools(test, &["cargo"]) {
        return;
    }
    if !have_rust_target(TARGET) {
        skip(
            test,
            &format!("the {TARGET} standard library is not installed (cargo xtask setup adds it with rustup)"),
        );
        return;
    }
    let sb = Sandbox::new("cargo-runner");
    let krate = sb.dir.join("rvdemo");
    for file in ["Cargo.toml", ".cargo/config.toml", "src/main.rs"] {
        let to = krate.join(file);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(root().join("tests/data/cargo").join(file), &to).unwrap();
    }
    let manifest = krate.join("Cargo.toml").display().to_string();
    let run = |sub: &str, guest_args: &[&str]| {
        let mut cmd = sb.cmd("cargo");
        // Cargo reads .cargo/config.toml from the directory it runs in.
        cmd.current_dir(&krate)
            .arg(sub)
            .args(["--quiet", "--offline", "--manifest-path", &manifest])
            .args(["--target", TARGET, "--"])
            .args(guest_args)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET");
        common::run_with_timeout(&mut cmd, None, common::translate_timeout())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = run("run", &["a", "--b"]);
    assert_eq!(
        (out.status, out.stdout_text().as_str()),
        (
            0,
            "hello from riscv64, args [\"a\", \"--b\"], gcd(12, 18) = 6\n"
        ),
        "{}",
        out.stderr_text()
    );
    // libtest runs each test on a thread of its own: guest threads.
    let out = run("test", &[]);
    assert_eq!(out.status, 0, "{}", out.stderr_text());
    assert!(
        out.stdout_text().contains("test result: ok. 1 passed"),
        "{}",
        out.stdout_text()
    );
}
