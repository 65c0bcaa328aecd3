//! `VMX_LOG` / `RUST_LOG`: quiet by default; on request, events from discovery, lifting,
//! compilation, linking, the cache and the dispatcher.

mod common;

use common::{riscv_sample, run, vmx_cmd, TempDir};

#[test]
fn quiet_by_default_verbose_on_request() {
    let Some(elf) = riscv_sample("quiet_by_default_verbose_on_request", "hello") else {
        return;
    };
    let dir = TempDir::new("logging");
    let aot = dir.path().join("hello.aot");
    let translate = |log: Option<&str>| {
        let mut cmd = vmx_cmd();
        cmd.env_remove("VMX_LOG").env_remove("RUST_LOG");
        if let Some(l) = log {
            cmd.env("VMX_LOG", l);
        }
        cmd.args(["translate", "-O0"]).arg(&elf).arg("-o").arg(&aot);
        let out = common::run_translate(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.status, 0, "{}", out.stderr_text());
        out.stderr_text()
    };
    assert_eq!(translate(None), "", "vmx translate is quiet by default");
    let log = translate(Some("vmx_lifter=trace,vmx_translator=trace"));
    for what in [
        "discovery: entry",
        "discovered function",
        "unresolved indirect jump",
        "lifting",
        "compiled: lifting",
    ] {
        assert!(log.contains(what), "no {what:?} in the translator's log");
    }
    assert!(
        !log.contains('\x1b'),
        "no colours when stderr is not a terminal"
    );

    let exec = |log: Option<&str>| {
        let mut cmd = vmx_cmd();
        cmd.env_remove("VMX_LOG").env_remove("RUST_LOG");
        if let Some(l) = log {
            cmd.env("VMX_LOG", l);
        }
        cmd.arg("exec").arg(&aot);
        let out = run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.status, 0, "{}", out.stderr_text());
        out.stderr_text()
    };
    assert_eq!(exec(None), "", "vmx exec is quiet by default");
    let log = exec(Some("vmx_runtime=trace"));
    for what in ["linked the translation", "dispatcher miss"] {
        assert!(
            log.contains(what),
            "no {what:?} in the runtime's log:\n{log}"
        );
    }

    // The cache's decisions: a miss (translating), then a hit.
    let cache = TempDir::new("logging-cache");
    let cached_run = || {
        let mut cmd = vmx_cmd();
        cmd.env("VMX_LOG", "vmx_aot_cache=debug,vmx=debug")
            .env("VMX_CACHE_DIR", cache.path())
            .env("VMX_OPT_LEVEL", "0")
            .env_remove("VMX_CACHE_REMOTE")
            .args(["run", "--profile-out", "/dev/null"])
            .arg(&elf);
        let out = run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.status, 0, "{}", out.stderr_text());
        out.stderr_text()
    };
    let first = cached_run();
    assert!(first.contains("not in the local cache"), "{first}");
    assert!(first.contains("cache miss: translating"), "{first}");
    let second = cached_run();
    assert!(second.contains("cache hit"), "{second}");
    assert!(!second.contains("translating"), "{second}");
}
