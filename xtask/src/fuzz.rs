//! `cargo xtask fuzz`: the long differential fuzzing campaign (CI runs a short one as part
//! of the test suite).
//!
//! 1. The exhaustive decoder sweep: every 32-bit word decodes without panicking.
//! 2. `rounds` runs of `tests/rv_fuzz.rs`, each with a fresh seed and `cases` random
//!    instruction sequences, comparing vmx translated, vmx interpreted and qemu-riscv64.
//!    A failing round prints its seed; rerun it alone with
//!    `cargo xtask fuzz --no-decoder --rounds 1 --seed <seed> --cases <cases>` (or
//!    `VMX_FUZZ_SEED=<seed> VMX_FUZZ_CASES=<cases> cargo test --release --test rv_fuzz`).
//!
//! `--no-decoder --rounds 1 --cases 20 --seed N` is the bounded form the docs show (and
//! `tests/docs.rs` runs): one short round, seconds.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;

use crate::util::{cargo, fmt_duration, run_shown};

#[derive(Args)]
pub struct FuzzArgs {
    /// Random instruction sequences per round.
    #[arg(long, default_value_t = 2000)]
    cases: u32,
    /// Rounds, each with a new seed.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Skip the exhaustive decoder sweep.
    #[arg(long)]
    no_decoder: bool,
    /// The first round's seed (round k uses a seed derived from it), to repeat a campaign;
    /// default: fresh seeds from the clock.
    #[arg(long)]
    seed: Option<u64>,
}

pub fn fuzz(args: &FuzzArgs) -> Result<()> {
    let start = Instant::now();
    if !args.no_decoder {
        println!("== decoder: every 32-bit word");
        run_shown(cargo().args([
            "test",
            "--release",
            "-p",
            "vmx-lifter",
            "--test",
            "rv_decode_total",
            "--",
            "--ignored",
            "--nocapture",
        ]))
        .context("decoder sweep")?;
    }
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    for round in 0..args.rounds {
        let seed = match args.seed {
            Some(first) => round_seed(first, round),
            None => {
                base.wrapping_add(round as u64)
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    | 1
            }
        };
        println!(
            "== round {}/{}: seed {seed}, {} sequences",
            round + 1,
            args.rounds,
            args.cases
        );
        run_shown(
            cargo()
                // --workspace: the features CI's `cargo test --workspace --release`
                // resolves, so that nothing is rebuilt when CI runs this (tests/docs.rs).
                .args([
                    "test",
                    "--release",
                    "--workspace",
                    "--test",
                    "rv_fuzz",
                    "--",
                    "--nocapture",
                ])
                .env("VMX_FUZZ_SEED", seed.to_string())
                .env("VMX_FUZZ_CASES", args.cases.to_string()),
        )
        .with_context(|| format!("fuzz round with seed {seed}"))?;
    }
    println!("== fuzz: no divergence ({})", fmt_duration(start.elapsed()));
    Ok(())
}

/// Round `round`'s seed in a campaign started with `--seed first`: the first round uses
/// `first` itself, so `--seed S --rounds 1` reruns the round a failure reported as seed S.
fn round_seed(first: u64, round: u32) -> u64 {
    first.wrapping_add((round as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

#[cfg(test)]
mod tests {
    use super::round_seed;

    #[test]
    fn the_first_round_uses_the_given_seed() {
        assert_eq!(round_seed(42, 0), 42);
        assert_ne!(round_seed(42, 1), round_seed(42, 0));
        assert_ne!(round_seed(42, 1), round_seed(43, 1));
    }
}
