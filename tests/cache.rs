//! The translation cache end to end, through the `vmx` binary: hit/miss accounting, bad
//! entries, concurrent translators, eviction order, `vmx cache warm`, the Redis remote
//! tier (a real `redis-server` on 127.0.0.1), deterministic output, depfiles, bad input
//! and binfmt_misc registration.
//!
//! Translations here use `-O0` (VMX_OPT_LEVEL=0): about half a second for glibc's
//! `hello` instead of 15-30 s, and the cache treats every option alike. Runs pass
//! `--profile-out /dev/null` so that the miss profile does not change the key between
//! runs (`tests/miss_profile.rs` covers that loop).

mod common;

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    have, riscv_sample, run, run_translate, skip, translate_cached, vmx_cmd, Outcome, Sample,
    TempDir,
};

/// Counts the translations a run made (logged by `vmx run` at info level).
fn translations(out: &Outcome) -> usize {
    out.stderr_text().matches("cache miss: translating").count()
}

/// A `vmx` command using `cache` and nothing from the caller's environment's cache
/// settings.
fn vmx_with_cache(cache: &Path) -> Command {
    let mut cmd = vmx_cmd();
    cmd.env("VMX_CACHE_DIR", cache)
        .env("VMX_OPT_LEVEL", "0")
        .env("VMX_LOG", "vmx::cache_cmd=info,warn")
        .env_remove("VMX_CACHE_REMOTE")
        .env_remove("VMX_CACHE_REMOTE_READONLY")
        .env_remove("VMX_CACHE_MAXSIZE");
    cmd
}

fn run_guest(cmd: &mut Command, guest: &Path) -> Outcome {
    cmd.args(["run", "--profile-out", "/dev/null"]).arg(guest);
    let shown = common::show(cmd);
    let out = run(cmd, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !out.stderr_text().contains("panicked"),
        "`{shown}` panicked:\n{}",
        out.stderr_text()
    );
    out
}

/// `vmx run guest` through `cache`; checks that hello's output is right.
fn run_hello(cache: &Path, hello: &Path) -> Outcome {
    let out = run_guest(&mut vmx_with_cache(cache), hello);
    let expected = Sample::load("hello").expected;
    assert_eq!(
        (out.status, out.stdout_text()),
        (0, String::from_utf8_lossy(&expected.stdout).into_owned()),
        "stderr:\n{}",
        out.stderr_text()
    );
    out
}

/// `vmx cache <args>` on `cache`.
fn cache_cmd(cache: &Path, args: &[&str]) -> Outcome {
    let mut cmd = vmx_with_cache(cache);
    cmd.arg("cache").args(args);
    let out = run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status, 0, "vmx cache {args:?}:\n{}", out.stderr_text());
    out
}

/// A number from `vmx cache stats --json`.
fn stat(json: &str, name: &str) -> u64 {
    let pat = format!("\"{name}\": ");
    let at = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        + pat.len();
    json[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not a number in {json}"))
}

fn stats(cache: &Path) -> String {
    cache_cmd(cache, &["stats", "--json"]).stdout_text()
}

/// The cache's translations (`ab/<key>.aot`).
fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in fs::read_dir(cache).into_iter().flatten().flatten() {
        if sub.file_name().len() == 2 {
            for f in fs::read_dir(sub.path()).into_iter().flatten().flatten() {
                if f.path().extension().is_some_and(|e| e == "aot") {
                    out.push(f.path());
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn hits_and_misses_are_counted() {
    let Some(hello) = riscv_sample("cache", "hello") else {
        return;
    };
    let cache = TempDir::new("cache-stats");
    assert_eq!(translations(&run_hello(cache.path(), &hello)), 1);
    for _ in 0..2 {
        assert_eq!(translations(&run_hello(cache.path(), &hello)), 0);
    }
    let s = stats(cache.path());
    assert_eq!((stat(&s, "hits"), stat(&s, "misses")), (2, 1), "{s}");
    assert_eq!(stat(&s, "entries"), 1, "{s}");
    assert!(stat(&s, "bytes") > 0);
    assert!(s.contains("\"hit_rate\": 0.6667"), "{s}");
    let text = cache_cmd(cache.path(), &["stats"]).stdout_text();
    assert!(text.contains("hit rate          66.7 %"), "{text}");
    cache_cmd(cache.path(), &["zero-stats"]);
    let s = stats(cache.path());
    assert_eq!((stat(&s, "hits"), stat(&s, "misses")), (0, 0), "{s}");
    assert!(s.contains("\"hit_rate\": null"), "{s}");
    assert_eq!(stat(&s, "entries"), 1, "zero-stats keeps the entries");
}

#[test]
fn bad_entries_are_replaced_not_run() {
    let Some(hello) = riscv_sample("cache", "hello") else {
        return;
    };
    let cache = TempDir::new("cache-bad");
    run_hello(cache.path(), &hello);
    let found = entries(cache.path());
    assert_eq!(found.len(), 1, "one entry expected: {found:?}");
    let entry = found[0].clone();
    let good = fs::read(&entry).unwrap();

    // One flipped bit in the payload: only the payload hash can tell.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x10;
    fs::write(&entry, &bad).unwrap();
    let out = run_hello(cache.path(), &hello);
    assert_eq!(
        translations(&out),
        1,
        "re-translated:\n{}",
        out.stderr_text()
    );
    assert_eq!(
        out.stderr_text().matches("bad cache entry").count(),
        1,
        "reported once:\n{}",
        out.stderr_text()
    );
    assert_eq!(fs::read(&entry).unwrap(), good, "replaced by a good entry");
    let out = run_hello(cache.path(), &hello);
    assert_eq!(translations(&out), 0);
    assert!(!out.stderr_text().contains("bad cache entry"));

    // Truncated (as a crash would leave it if writes were not atomic).
    fs::write(&entry, &good[..good.len() / 3]).unwrap();
    let out = run_hello(cache.path(), &hello);
    assert_eq!(translations(&out), 1);
    assert!(
        out.stderr_text().contains("truncated"),
        "{}",
        out.stderr_text()
    );
    // An empty file, and a file that is not an .aot at all.
    for junk in [&b""[..], b"\x7fELF not an aot"] {
        fs::write(&entry, junk).unwrap();
        assert_eq!(translations(&run_hello(cache.path(), &hello)), 1);
    }
    let s = stats(cache.path());
    assert_eq!(stat(&s, "corrupt"), 4, "{s}");
    assert_eq!(fs::read(&entry).unwrap(), good);
}

#[test]
fn concurrent_runs_translate_once() {
    let Some(hello) = riscv_sample("cache", "hello") else {
        return;
    };
    let cache = TempDir::new("cache-concurrent");
    let children: Vec<Child> = (0..3)
        .map(|_| {
            vmx_with_cache(cache.path())
                .args(["run", "--profile-out", "/dev/null"])
                .arg(&hello)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn vmx")
        })
        .collect();
    let mut total = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait for vmx");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("Hello from vmx!"));
        total += stderr.matches("cache miss: translating").count();
    }
    assert_eq!(total, 1, "exactly one of the three translates");
    let s = stats(cache.path());
    assert_eq!((stat(&s, "misses"), stat(&s, "hits")), (1, 2), "{s}");
    assert_eq!(stat(&s, "entries"), 1);
}

/// Copies riscv64 samples into a fresh directory as `<prefix>_<name>`, plus things
/// `warm` must skip: a text file and the native x86-64 build.
fn guest_dir(names: &[&str]) -> Option<TempDir> {
    let dir = TempDir::new("cache-guests");
    for (i, name) in names.iter().enumerate() {
        let elf = riscv_sample("cache", name)?;
        let sub = dir.join(if i % 2 == 0 { "." } else { "sub" });
        fs::create_dir_all(&sub).unwrap();
        fs::copy(
            &elf,
            sub.join(format!("{}_{name}", (b'a' + i as u8) as char)),
        )
        .unwrap();
    }
    fs::write(dir.join("README"), "not a guest\n").unwrap();
    let native = common::samples_dir().join("build/x86_64/hello");
    if native.is_file() {
        fs::copy(native, dir.join("native_hello")).unwrap();
    }
    Some(dir)
}

#[test]
fn warm_then_evict_least_recently_used() {
    let names = ["hello", "big_switch", "strings"];
    let Some(guests) = guest_dir(&names) else {
        return;
    };
    let cache = TempDir::new("cache-warm");
    let mut cmd = vmx_with_cache(cache.path());
    cmd.args(["cache", "warm", "--jobs", "1"])
        .arg(guests.path());
    let out = run(&mut cmd, None).expect("vmx cache warm");
    let err = out.stderr_text();
    assert_eq!(out.status, 0, "{err}");
    // Directories are walked in sorted order: a_hello, c_strings, then sub/b_big_switch
    // (README and the native build are not guests).
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("/3] ")).collect();
    assert_eq!(lines.len(), 3, "{err}");
    for (line, (k, name)) in
        lines
            .iter()
            .zip([(1, "a_hello"), (2, "c_strings"), (3, "b_big_switch")])
    {
        assert!(
            line.contains(&format!("[{k}/3] translated ")) && line.contains(name),
            "progress line {k} for {name}:\n{err}"
        );
    }
    assert!(
        err.contains("3 guests in") && err.contains("3 translated, 0 already cached"),
        "summary:\n{err}"
    );
    let again = run(&mut cmd, None).expect("vmx cache warm");
    assert!(
        again
            .stderr_text()
            .contains("0 translated, 3 already cached"),
        "{}",
        again.stderr_text()
    );

    // Last use: warm order (hello, strings, big_switch), then hello is used again. Every
    // entry has a distinct time: translations take a while.
    std::thread::sleep(Duration::from_millis(20));
    let hello = guests.join("a_hello");
    assert_eq!(translations(&run_hello(cache.path(), &hello)), 0);
    // One byte over the limit: exactly the least recently used entry (strings) goes.
    let total = stat(&stats(cache.path()), "bytes");
    let mut clean = vmx_with_cache(cache.path());
    clean
        .env("VMX_CACHE_MAXSIZE", (total - 1).to_string())
        .args(["cache", "clean"]);
    let out = run(&mut clean, None).expect("vmx cache clean");
    assert!(
        out.stderr_text().contains("evicted 1 files"),
        "{}",
        out.stderr_text()
    );
    let s = stats(cache.path());
    assert_eq!((stat(&s, "entries"), stat(&s, "evictions")), (2, 1), "{s}");
    let misses: Vec<usize> = ["a_hello", "sub/b_big_switch", "c_strings"]
        .iter()
        .map(|g| {
            translations(&run_guest(
                &mut vmx_with_cache(cache.path()),
                &guests.join(g),
            ))
        })
        .collect();
    assert_eq!(misses, [0, 0, 1], "only strings was evicted");

    // By age.
    let out = cache_cmd(cache.path(), &["evict", "--older-than", "1h"]);
    assert!(
        out.stderr_text().contains("removed 0 files"),
        "{}",
        out.stderr_text()
    );
    cache_cmd(cache.path(), &["evict", "--older-than", "0s"]);
    assert_eq!(stat(&stats(cache.path()), "entries"), 0);
    run_hello(cache.path(), &hello);
    cache_cmd(cache.path(), &["clear"]);
    assert_eq!(stat(&stats(cache.path()), "entries"), 0);
}

/// A `redis-server` on a free port of 127.0.0.1, killed when dropped.
struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    fn start() -> Option<Redis> {
        if !have("redis-server") {
            skip(
                "cache::redis_remote_tier",
                "redis-server is not installed (`cargo xtask setup` installs it)",
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn redis_remote_tier() {
    let (Some(hello), Some(strings)) = (
        riscv_sample("cache", "hello"),
        riscv_sample("cache", "strings"),
    ) else {
        return;
    };
    let Some(redis) = Redis::start() else {
        return;
    };
    let with_remote = |cache: &TempDir, read_only: bool| {
        let mut cmd = vmx_with_cache(cache.path());
        cmd.env("VMX_CACHE_REMOTE", &redis.url);
        if read_only {
            cmd.env("VMX_CACHE_REMOTE_READONLY", "1");
        }
        cmd
    };

    // A translation is written back ...
    let first = TempDir::new("cache-redis-1");
    let out = run_guest(&mut with_remote(&first, false), &hello);
    assert_eq!(translations(&out), 1, "{}", out.stderr_text());
    assert_eq!(stat(&stats(first.path()), "remote_writes"), 1);

    // ... so a second, empty local cache gets it from Redis without translating.
    let second = TempDir::new("cache-redis-2");
    let out = run_guest(&mut with_remote(&second, false), &hello);
    assert_eq!(translations(&out), 0, "{}", out.stderr_text());
    assert_eq!(
        out.stdout_text(),
        "Hello from vmx!\nstdout and stdio buffering work\n"
    );
    let s = stats(second.path());
    assert_eq!((stat(&s, "remote_hits"), stat(&s, "misses")), (1, 0), "{s}");
    assert_eq!(stat(&s, "entries"), 1, "copied into the local cache: {s}");
    // And now it is a local hit.
    let out = run_guest(&mut with_remote(&second, false), &hello);
    assert_eq!(translations(&out), 0);
    assert_eq!(stat(&stats(second.path()), "hits"), 1);

    // Read-only: reads work ...
    let third = TempDir::new("cache-redis-3");
    let out = run_guest(&mut with_remote(&third, true), &hello);
    assert_eq!(translations(&out), 0, "{}", out.stderr_text());
    assert_eq!(stat(&stats(third.path()), "remote_hits"), 1);
    // ... but a translation is not written back: a fresh cache still misses.
    let out = run_guest(&mut with_remote(&third, true), &strings);
    assert_eq!(translations(&out), 1);
    assert_eq!(stat(&stats(third.path()), "remote_writes"), 0);
    let fourth = TempDir::new("cache-redis-4");
    let out = run_guest(&mut with_remote(&fourth, true), &strings);
    assert_eq!(
        translations(&out),
        1,
        "nothing was written by the read-only job"
    );

    // Through redis-cli (when it is there): what comes back from the store is checked.
    if have("redis-cli") {
        let port = redis.url.rsplit(':').next().unwrap_or_default().to_string();
        let cli = |args: &[&str], stdin: Option<&[u8]>| {
            let mut cmd = Command::new("redis-cli");
            cmd.args(["-p", &port]).args(args);
            let out = run(&mut cmd, stdin).expect("redis-cli");
            assert_eq!(out.status, 0, "redis-cli {args:?}: {}", out.stderr_text());
            out.stdout_text()
        };
        let stored: Vec<String> = cli(&["--raw", "keys", "*"], None)
            .lines()
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect();
        assert_eq!(stored.len(), 1, "only hello was written back: {stored:?}");
        // An intact entry stored under another guest's key (a mixed-up store) is not run:
        // put hello's translation where strings' would be.
        let strings_key = entries(third.path())
            .iter()
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .find(|k| !stored[0].contains(k.as_str()))
            .expect("strings' entry in the third cache");
        let hello_entry = fs::read(&entries(second.path())[0]).unwrap();
        cli(
            &["-x", "set", &format!("vmx/{strings_key}.aot")],
            Some(&hello_entry),
        );
        let fifth = TempDir::new("cache-redis-5");
        let out = run_guest(&mut with_remote(&fifth, true), &strings);
        assert_eq!(translations(&out), 1, "{}", out.stderr_text());
        assert!(
            out.stderr_text().contains("for another guest"),
            "{}",
            out.stderr_text()
        );
        assert_eq!(out.stdout, Sample::load("strings").expected.stdout);
        // Junk is not used either.
        cli(&["set", &stored[0], "VMXAOT\r\njunk"], None);
        let sixth = TempDir::new("cache-redis-6");
        let out = run_guest(&mut with_remote(&sixth, true), &hello);
        assert_eq!(translations(&out), 1, "{}", out.stderr_text());
        assert!(out.stderr_text().contains("bad remote cache entry"));
    }

    // A remote that is down costs a warning, not the run.
    drop(redis);
    let seventh = TempDir::new("cache-redis-7");
    let mut cmd = vmx_with_cache(seventh.path());
    cmd.env("VMX_CACHE_REMOTE", "redis://127.0.0.1:1");
    let out = run_guest(&mut cmd, &hello);
    assert_eq!(out.status, 0);
    assert_eq!(translations(&out), 1);
    assert_eq!(
        out.stderr_text().matches("remote cache").count(),
        1,
        "reported once:\n{}",
        out.stderr_text()
    );
}

#[test]
fn translation_is_deterministic_and_writes_a_depfile() {
    let Some(hello) = riscv_sample("cache", "hello") else {
        return;
    };
    // The default options (-O2, this host's CPU): what users cache and ship.
    let earlier = translate_cached(&hello).unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new("cache-determinism");
    let aot = dir.join("hello.aot");
    let dep = dir.join("hello.d");
    let mut cmd = vmx_cmd();
    cmd.arg("translate")
        .arg(&hello)
        .arg("-o")
        .arg(&aot)
        .arg("--depfile")
        .arg(&dep);
    let out = run_translate(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status, 0, "{}", out.stderr_text());
    assert!(
        fs::read(&earlier).unwrap() == fs::read(&aot).unwrap(),
        "two translations of the same input differ"
    );
    assert_eq!(
        fs::read_to_string(&dep).unwrap(),
        format!("{}: {}\n", aot.display(), hello.display())
    );

    // A profile is an input too; spaces are escaped.
    let profile = dir.join("miss profile.txt");
    fs::write(&profile, "0x10000 1\n").unwrap();
    let spaced = dir.join("out dir");
    fs::create_dir_all(&spaced).unwrap();
    let mut cmd = vmx_cmd();
    cmd.args(["translate", "-O", "0", "--profile"])
        .arg(&profile)
        .arg(&hello)
        .arg("-o")
        .arg(spaced.join("h.aot"))
        .arg("--depfile")
        .arg(&dep);
    let out = run_translate(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status, 0, "{}", out.stderr_text());
    let esc = |p: &Path| p.display().to_string().replace(' ', "\\ ");
    assert_eq!(
        fs::read_to_string(&dep).unwrap(),
        format!(
            "{}: {} {}\n",
            esc(&spaced.join("h.aot")),
            esc(&hello),
            esc(&profile)
        )
    );
}

#[test]
fn bad_cache_settings_are_one_line_errors() {
    let dir = TempDir::new("cache-bad-input");
    let file = dir.join("a-file");
    fs::write(&file, b"").unwrap();
    let guest = dir.join("guest");
    // Not a real guest: the cache must be refused before the guest is even looked at.
    fs::write(&guest, b"\x7fELF\x02\x01\x01").unwrap();
    /// Environment, arguments, expected status, expected text on stderr.
    type Case<'a> = (Vec<(&'a str, &'a Path)>, Vec<&'a str>, i32, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("VMX_CACHE_DIR", &file)],
            vec!["cache", "stats"],
            1,
            "a-file",
        ),
        (vec![("VMX_CACHE_DIR", &file)], vec!["run"], 1, "a-file"),
        (
            vec![],
            vec!["cache", "--cache-maxsize", "lots", "stats"],
            2,
            "bad size",
        ),
        (
            vec![],
            vec!["cache", "--cache-remote", "ftp://x/y", "stats"],
            1,
            "bad remote cache URL",
        ),
        (
            vec![],
            vec!["cache", "--cache-remote", "redis://host:port", "stats"],
            1,
            "bad port",
        ),
        (
            vec![],
            vec!["cache", "evict", "--older-than", "soon"],
            2,
            "bad age",
        ),
        (
            vec![],
            vec!["cache", "frobnicate"],
            2,
            "unrecognized subcommand",
        ),
        (
            vec![],
            vec!["cache", "warm", "/nonexistent/dir"],
            1,
            "/nonexistent/dir",
        ),
    ];
    for (env, args, status, needle) in cases {
        let mut cmd = vmx_with_cache(&dir.join("cache"));
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.args(&args);
        if args == ["run"] {
            cmd.arg(&guest);
        }
        let out = run(&mut cmd, None).unwrap_or_else(|e| panic!("{e}"));
        let err = out.stderr_text();
        assert_eq!(out.status, status, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        if status == 1 {
            assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
            assert!(err.starts_with("vmx: "), "{err}");
        }
    }
}

#[test]
fn binfmt_runs_guests_directly() {
    let Some(hello) = riscv_sample("cache", "hello") else {
        return;
    };
    let prefix = format!("vmx-test-{}", std::process::id());
    let status = run(
        vmx_cmd().args(["binfmt", "status", "--prefix", &prefix]),
        None,
    )
    .expect("vmx binfmt status");
    if status.status != 0 {
        skip(
            "cache::binfmt_runs_guests_directly",
            &format!(
                "binfmt_misc is not available: {}",
                status.stderr_text().trim()
            ),
        );
        return;
    }
    assert!(status.stdout_text().contains("not registered"));
    struct Uninstall(String);
    impl Drop for Uninstall {
        fn drop(&mut self) {
            let _ = vmx_cmd()
                .args(["binfmt", "uninstall", "--prefix", &self.0])
                .output();
        }
    }
    let out = run(
        vmx_cmd().args(["binfmt", "install", "--prefix", &prefix]),
        None,
    )
    .expect("vmx binfmt install");
    assert_eq!(out.status, 0, "{}", out.stderr_text());
    let _guard = Uninstall(prefix.clone());
    let st = run(
        vmx_cmd().args(["binfmt", "status", "--prefix", &prefix]),
        None,
    )
    .expect("status");
    assert!(
        st.stdout_text()
            .contains(&format!("{prefix}-riscv64: enabled")),
        "{}",
        st.stdout_text()
    );
    assert!(st.stdout_text().contains("flags F"));
    assert!(!st.stdout_text().contains("x86_64"), "never the host's ISA");

    // The guest runs as a program of its own, options from the environment.
    let dir = TempDir::new("cache-binfmt");
    let guest = dir.join("hello");
    fs::copy(&hello, &guest).unwrap();
    let mut cmd = Command::new(&guest);
    cmd.env("VMX_CACHE_DIR", dir.join("cache"))
        .env("VMX_OPT_LEVEL", "0")
        .env_remove("VMX_CACHE_REMOTE");
    let out = run(&mut cmd, None).expect("run the guest directly");
    assert_eq!(
        (out.status, out.stdout_text().as_str()),
        (0, "Hello from vmx!\nstdout and stdio buffering work\n"),
        "{}",
        out.stderr_text()
    );

    let out = run(
        vmx_cmd().args(["binfmt", "uninstall", "--prefix", &prefix]),
        None,
    )
    .expect("uninstall");
    assert_eq!(out.status, 0);
    let st = run(
        vmx_cmd().args(["binfmt", "status", "--prefix", &prefix]),
        None,
    )
    .expect("status");
    assert!(
        !st.stdout_text().contains("enabled"),
        "{}",
        st.stdout_text()
    );
}

#[test]
fn a_changed_guest_is_never_mistaken_for_the_cached_one() {
    let (Some(hello), Some(strings)) = (
        riscv_sample("cache", "hello"),
        riscv_sample("cache", "strings"),
    ) else {
        return;
    };
    let cache = TempDir::new("cache-stamp");
    let dir = TempDir::new("cache-stamp-guest");
    let guest = dir.join("guest");
    fs::copy(&hello, &guest).unwrap();
    // vmx remembers a guest's hash by its file stamp only once the file has not changed
    // for 2 s (racy-git protection).
    std::thread::sleep(Duration::from_millis(2100));
    for expected in [1, 0, 0] {
        let out = run_hello(cache.path(), &guest);
        assert_eq!(translations(&out), expected, "{}", out.stderr_text());
    }
    assert!(
        cache
            .join("guests")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some()),
        "the guest's hash is remembered"
    );
    // Replaced in place by another program: same path, new contents.
    fs::write(&guest, fs::read(&strings).unwrap()).unwrap();
    let out = run_guest(&mut vmx_with_cache(cache.path()), &guest);
    assert_eq!(translations(&out), 1, "{}", out.stderr_text());
    assert_eq!(out.stdout, Sample::load("strings").expected.stdout);
    // And back: hello's entry is still cached.
    fs::write(&guest, fs::read(&hello).unwrap()).unwrap();
    assert_eq!(translations(&run_hello(cache.path(), &guest)), 0);
}
