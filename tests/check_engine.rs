//! `vmx exec --engine=check`: the interpreter runs the program while the first calls of
//! every translated function also run translated on a forked copy; registers and
//! writable memory must agree. Clean samples pass with identical output; an injected
//! fault in one function's translated result is reported, naming the function.

mod common;

use common::{riscv_sample, run, stats_field, translate_cached, vmx_cmd, Sample};

#[test]
fn samples_agree_under_the_checking_engine() {
    for name in [
        "hello",
        "qsort_fnptr",
        "setjmp_longjmp",
        "float_printf",
        "computed_jumps",
    ] {
        let Some(elf) = riscv_sample("check_engine", name) else {
            return;
        };
        let aot = translate_cached(&elf).expect("translate");
        let expected = Sample::load(name).expected;
        let out = run(
            vmx_cmd()
                .args(["exec", "--engine=check", "--stats=json"])
                .arg(&aot),
            None,
        )
        .expect("vmx exec --engine=check");
        assert_eq!(
            out.status,
            expected.status,
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.stdout, expected.stdout,
            "{name}: output differs under --engine=check"
        );
        assert!(
            stats_field(&out.stderr, "checked_calls") > 50,
            "{name}: too few calls were checked"
        );
    }
}

#[test]
fn an_injected_divergence_is_reported() {
    let Some(elf) = riscv_sample("check_engine", "qsort_fnptr") else {
        return;
    };
    let bytes = std::fs::read(&elf).expect("read");
    let image = vmx_lifter::elf::GuestImage::parse(&bytes).expect("parse");
    let cmp = image
        .functions
        .iter()
        .find(|f| f.name == "cmp_int")
        .expect("cmp_int symbol");
    let aot = translate_cached(&elf).expect("translate");
    let out = run(
        vmx_cmd()
            .env("VMX_CHECK_INJECT", format!("{:x}", cmp.addr))
            .args(["exec", "--engine=check"])
            .arg(&aot),
        None,
    )
    .expect("vmx exec --engine=check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status, 3,
        "a divergence exits with status 3; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("<cmp_int>"),
        "the report names the function:\n{stderr}"
    );
    assert!(
        stderr.contains("a0: interpreter"),
        "the report names the register:\n{stderr}"
    );
}
