//! The benchmark suite (`benches/workloads/`): real C libraries that no one here wrote,
//! from the sources that Rust `-sys` crates bundle, plus classic kernels, each with a small
//! driver `benches/workloads/<name>/main.c` that takes a scale argument and prints a digest.
//!
//! The crates' sources come from cargo's registry: `benches/workloads/sources/Cargo.toml`
//! is a dependency-only manifest (never built), and `cargo metadata` on it fetches the
//! crates and says where they are. Every workload is built from the same sources with the
//! same flags (`-O2 -static -ffp-contract=off`, so that no ISA fuses a multiply-add the
//! others round twice) for x86-64, riscv64 and aarch64 with the GCC 12 cross compilers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::samples::{self, Arch, Job};
use crate::util::{self, root};

/// Where a workload's library sources are.
#[derive(Clone, Copy)]
pub enum Source {
    /// Only the driver (and `benches/workloads/common.h`).
    Kernel,
    /// A crate of `benches/workloads/sources/Cargo.toml`; paths are relative to its directory.
    Crate(&'static str),
    /// A file of the repository (the driver is this file itself).
    Repo(&'static str),
}

pub struct Workload {
    pub name: &'static str,
    pub what: &'static str,
    pub source: Source,
    /// Library C files, relative to the source (crates: a file ending in `/` stands for
    /// every `.c` file of that directory, except those whose name ends with a `skip` entry).
    pub files: &'static [&'static str],
    pub skip: &'static [&'static str],
    pub includes: &'static [&'static str],
    pub defines: &'static [&'static str],
    /// The driver's scale argument for `--quick` (the driver's default is the full size,
    /// 0.5-1.5 s natively on the reference machine).
    pub quick_scale: u32,
}

pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "zlib",
        what: "zlib 1.3 deflate levels 1/6/9 + inflate (libz-sys)",
        source: Source::Crate("libz-sys"),
        files: &[
            "src/zlib/adler32.c",
            "src/zlib/compress.c",
            "src/zlib/crc32.c",
            "src/zlib/deflate.c",
            "src/zlib/inffast.c",
            "src/zlib/inflate.c",
            "src/zlib/inftrees.c",
            "src/zlib/trees.c",
            "src/zlib/zutil.c",
            "src/zlib/uncompr.c",
        ],
        skip: &[],
        includes: &["src/zlib"],
        defines: &[],
        quick_scale: 1,
    },
    Workload {
        name: "lz4",
        what: "LZ4 1.10 fast + HC compression, decompression (lz4-sys)",
        source: Source::Crate("lz4-sys"),
        files: &["liblz4/lib/lz4.c", "liblz4/lib/lz4hc.c"],
        skip: &[],
        includes: &["liblz4/lib"],
        defines: &[],
        quick_scale: 1,
    },
    Workload {
        name: "bzip2",
        what: "bzip2 1.0.8 library compress + decompress (bzip2-sys)",
        source: Source::Crate("bzip2-sys"),
        files: &[
            "bzip2-1.0.8/blocksort.c",
            "bzip2-1.0.8/huffman.c",
            "bzip2-1.0.8/crctable.c",
            "bzip2-1.0.8/randtable.c",
            "bzip2-1.0.8/compress.c",
            "bzip2-1.0.8/decompress.c",
            "bzip2-1.0.8/bzlib.c",
        ],
        skip: &[],
        includes: &["bzip2-1.0.8"],
        defines: &["-D_FILE_OFFSET_BITS=64"],
        quick_scale: 1,
    },
    Workload {
        name: "xz",
        what: "liblzma (xz 5.2) presets 0 and 3 + decode (lzma-sys)",
        source: Source::Crate("lzma-sys"),
        files: &[
            "xz-5.2/src/liblzma/common/",
            "xz-5.2/src/liblzma/lzma/",
            "xz-5.2/src/liblzma/lz/",
            "xz-5.2/src/liblzma/check/",
            "xz-5.2/src/liblzma/delta/",
            "xz-5.2/src/liblzma/rangecoder/",
            "xz-5.2/src/liblzma/simple/",
            "xz-5.2/src/common/tuklib_physmem.c",
            "xz-5.2/src/common/tuklib_cpucores.c",
        ],
        // What lzma-sys's build script leaves out (the table generators have a main).
        skip: &["crc32_small.c", "crc64_small.c", "_tablegen.c"],
        includes: &[
            ".",
            "xz-5.2/src/liblzma/api",
            "xz-5.2/src/liblzma/common",
            "xz-5.2/src/liblzma/lzma",
            "xz-5.2/src/liblzma/lz",
            "xz-5.2/src/liblzma/check",
            "xz-5.2/src/liblzma/simple",
            "xz-5.2/src/liblzma/delta",
            "xz-5.2/src/liblzma/rangecoder",
            "xz-5.2/src/common",
        ],
        defines: &["-DHAVE_CONFIG_H=1", "-std=gnu99"],
        quick_scale: 1,
    },
    Workload {
        name: "matmul",
        what: "double matrix multiply 192x192",
        source: Source::Kernel,
        files: &[],
        skip: &[],
        includes: &[],
        defines: &[],
        quick_scale: 10,
    },
    Workload {
        name: "nbody",
        what: "n-body (Benchmarks Game), sqrt and double arithmetic",
        source: Source::Kernel,
        files: &[],
        skip: &[],
        includes: &[],
        defines: &[],
        quick_scale: 100_000,
    },
    Workload {
        name: "hashtable",
        what: "open-addressing hash table: insert/lookup/delete, growth",
        source: Source::Kernel,
        files: &[],
        skip: &[],
        includes: &[],
        defines: &[],
        quick_scale: 1,
    },
    Workload {
        name: "sort",
        what: "quicksort, merge sort, libc qsort with a callback",
        source: Source::Kernel,
        files: &[],
        skip: &[],
        includes: &[],
        defines: &[],
        quick_scale: 1,
    },
    Workload {
        name: "strsearch",
        what: "naive, Horspool, memmem, strstr over 4 MiB of text",
        source: Source::Kernel,
        files: &[],
        skip: &[],
        includes: &[],
        defines: &[],
        quick_scale: 1,
    },
    Workload {
        name: "cpu_bound",
        what: "samples/cpu_bound: integer + float kernels",
        source: Source::Repo("samples/cpu_bound.c"),
        files: &[],
        skip: &[],
        includes: &[],
        defines: &[],
        quick_scale: 10,
    },
];

/// Picks workloads by name (all if `names` is empty).
pub fn select(names: &[String]) -> Result<Vec<&'static Workload>> {
    if let Some(unknown) = names
        .iter()
        .find(|n| !WORKLOADS.iter().any(|w| w.name == n.as_str()))
    {
        bail!(
            "no workload named `{unknown}` (there are: {})",
            WORKLOADS
                .iter()
                .map(|w| w.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(WORKLOADS
        .iter()
        .filter(|w| names.is_empty() || names.iter().any(|n| n == w.name))
        .collect())
}

pub fn workloads_dir() -> PathBuf {
    root().join("benches").join("workloads")
}

pub fn build_dir(arch: Arch) -> Result<PathBuf> {
    Ok(util::target_dir()?
        .join("bench")
        .join("build")
        .join(arch.dir_name()))
}

/// Directories of the `-sys` crates of `benches/workloads/sources/Cargo.toml`, by name
/// (`cargo metadata` fetches them into cargo's registry if they are not there yet).
fn crate_dirs() -> Result<HashMap<String, PathBuf>> {
    let manifest = workloads_dir().join("sources").join("Cargo.toml");
    let out = util::cargo()
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running `cargo metadata` for the benchmark sources")?;
    if !out.status.success() {
        bail!(
            "`cargo metadata --manifest-path {}` failed ({}): the -sys crates could not be fetched",
            util::rel(&manifest),
            out.status
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing `cargo metadata` output")?;
    let mut dirs = HashMap::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        if let (Some(name), Some(manifest)) = (p["name"].as_str(), p["manifest_path"].as_str()) {
            if let Some(dir) = Path::new(manifest).parent() {
                dirs.insert(name.to_string(), dir.to_path_buf());
            }
        }
    }
    Ok(dirs)
}

/// The C files of a directory, sorted, without `skip`.
fn c_files(dir: &Path, skip: &[&str]) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| skip.iter().any(|s| n.to_string_lossy().ends_with(s)))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The compiler job building `w` for `arch`.
fn job(w: &Workload, arch: Arch, crates: &HashMap<String, PathBuf>) -> Result<Job> {
    let output = build_dir(arch)?.join(w.name);
    let mut cmd = arch.compiler();
    cmd.args(["-O2", "-ffp-contract=off"]);
    let mut inputs = vec![workloads_dir().join("common.h")];
    match w.source {
        Source::Kernel => {
            // Our own code: warnings are errors, as for the samples.
            let driver = workloads_dir().join(w.name).join("main.c");
            cmd.args(["-Wall", "-Werror", "-o"])
                .arg(&output)
                .arg(&driver);
            inputs.push(driver);
        }
        Source::Repo(file) => {
            let src = root().join(file);
            cmd.args(["-Wall", "-Werror", "-o"]).arg(&output).arg(&src);
            inputs.push(src);
        }
        Source::Crate(name) => {
            let dir = crates.get(name).with_context(|| {
                format!("the {name} crate is not in benches/workloads/sources/Cargo.toml")
            })?;
            // Upstream code: not ours to fix warnings in.
            cmd.arg("-w").args(w.defines);
            for inc in w.includes {
                cmd.arg(format!("-I{}", dir.join(inc).display()));
            }
            let driver = workloads_dir().join(w.name).join("main.c");
            cmd.arg("-o").arg(&output).arg(&driver);
            inputs.push(driver);
            for f in w.files {
                let path = dir.join(f);
                if f.ends_with('/') {
                    let files = c_files(&path, w.skip)?;
                    if files.is_empty() {
                        bail!("{} has no C files", path.display());
                    }
                    cmd.args(&files);
                    inputs.extend(files);
                } else {
                    if !path.is_file() {
                        bail!(
                            "{} is missing (is the {name} crate's layout the expected one?)",
                            path.display()
                        );
                    }
                    cmd.arg(&path);
                    inputs.push(path);
                }
            }
        }
    }
    cmd.arg("-lm");
    Ok(Job {
        what: format!("{} ({})", w.name, arch.dir_name()),
        output,
        inputs,
        cmd,
    })
}

/// Builds what is missing or stale of `workloads` for `archs`.
pub fn build(workloads: &[&Workload], archs: &[Arch]) -> Result<()> {
    let crates = if workloads
        .iter()
        .any(|w| matches!(w.source, Source::Crate(_)))
    {
        crate_dirs()?
    } else {
        HashMap::new()
    };
    let mut jobs = Vec::new();
    for w in workloads {
        for &arch in archs {
            jobs.push(job(w, arch, &crates)?);
        }
    }
    samples::run_jobs("bench: build workloads", jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_eight_workloads_each_with_a_driver() {
        assert!(WORKLOADS.len() >= 8);
        for w in WORKLOADS {
            let driver = match w.source {
                Source::Repo(f) => root().join(f),
                _ => workloads_dir().join(w.name).join("main.c"),
            };
            assert!(driver.is_file(), "{}: no {}", w.name, driver.display());
            assert!(w.quick_scale > 0);
        }
        let mut names: Vec<_> = WORKLOADS.iter().map(|w| w.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), WORKLOADS.len(), "duplicate workload names");
    }

    #[test]
    fn selecting_an_unknown_workload_is_an_error() {
        assert_eq!(select(&[]).unwrap().len(), WORKLOADS.len());
        assert_eq!(select(&["nbody".into()]).unwrap()[0].name, "nbody");
        let e = select(&["nope".into()]).err().unwrap().to_string();
        assert!(e.contains("no workload named `nope`"), "{e}");
    }
}
