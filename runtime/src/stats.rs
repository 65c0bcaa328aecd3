//! Run statistics (`vmx exec --stats[=json]`): where the time went, and the report.
//! The JSON schema is documented in `docs/stats.md`; keep the two in step.

use std::cell::Cell;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::engine::StatsFormat;

/// Version of the `--stats=json` object (`"stats_version"`); bump it when a field
/// changes meaning or disappears (adding fields does not need a bump).
pub const STATS_VERSION: u32 = 1;

/// What a guest thread is doing, for the time split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The runtime itself: start-up, the run loop between engines, the debugger.
    Other = 0,
    /// Translated code, including the dispatcher's fast path it calls.
    Translated = 1,
    /// The interpreter (decoding and running blocks).
    Interp = 2,
    /// Servicing a system call (the host call and its bookkeeping).
    Syscall = 3,
}

thread_local! {
    /// The calling thread's phase and since when (unset until the first switch).
    static CURRENT: Cell<(Phase, Option<Instant>)> = const { Cell::new((Phase::Other, None)) };
}

/// Nanoseconds spent per [`Phase`], summed over guest threads. Switching costs a clock
/// read, so the engine only switches when `--stats` asked for the split.
#[derive(Default)]
pub struct PhaseTimes {
    ns: [AtomicU64; 4],
}

impl PhaseTimes {
    /// Makes `p` the calling thread's phase; returns the phase it was in. Switching to
    /// the current phase costs nothing.
    pub fn enter(&self, p: Phase) -> Phase {
        CURRENT.with(|c| {
            let (cur, since) = c.get();
            if cur == p && since.is_some() {
                return cur;
            }
            let now = Instant::now();
            if let Some(t) = since {
                self.add(cur, now - t);
            }
            c.set((p, Some(now)));
            cur
        })
    }

    /// Accounts the calling thread's time up to now (before a report).
    pub fn flush(&self) {
        CURRENT.with(|c| {
            let (cur, since) = c.get();
            let now = Instant::now();
            if let Some(t) = since {
                self.add(cur, now - t);
            }
            c.set((cur, Some(now)));
        })
    }

    fn add(&self, p: Phase, d: std::time::Duration) {
        self.ns[p as usize].fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    pub fn seconds(&self, p: Phase) -> f64 {
        self.ns[p as usize].load(Ordering::Relaxed) as f64 * 1e-9
    }
}

/// Where `vmx run` found the translation it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// The local cache had it.
    Hit,
    /// The remote tier had it.
    RemoteHit,
    /// Nobody had it: translated for this run.
    Miss,
}

impl CacheUse {
    pub fn name(self) -> &'static str {
        match self {
            CacheUse::Hit => "hit",
            CacheUse::RemoteHit => "remote_hit",
            CacheUse::Miss => "miss",
        }
    }
}

/// One value of the report.
pub enum Value {
    Count(u64),
    Seconds(f64),
    Str(Option<&'static str>),
}

/// The statistics of one run, in report order.
pub struct Report {
    pub fields: Vec<(&'static str, Value)>,
}

impl Report {
    /// Starts a report with the fields every engine has: version, engine, wall time and
    /// its split (`other` is what the phases do not cover), peak guest memory, cache use.
    pub fn new(
        engine: &'static str,
        wall: f64,
        times: &PhaseTimes,
        peak_guest_memory: u64,
        cache: Option<CacheUse>,
    ) -> Report {
        let (tr, it, sc) = (
            times.seconds(Phase::Translated),
            times.seconds(Phase::Interp),
            times.seconds(Phase::Syscall),
        );
        Report {
            fields: vec![
                ("stats_version", Value::Count(STATS_VERSION.into())),
                ("engine", Value::Str(Some(engine))),
                ("wall_seconds", Value::Seconds(wall)),
                ("translated_seconds", Value::Seconds(tr)),
                ("interp_seconds", Value::Seconds(it)),
                ("syscall_seconds", Value::Seconds(sc)),
                (
                    "other_seconds",
                    Value::Seconds((wall - tr - it - sc).max(0.0)),
                ),
                ("peak_guest_memory_bytes", Value::Count(peak_guest_memory)),
                ("cache", Value::Str(cache.map(CacheUse::name))),
            ],
        }
    }

    pub fn count(&mut self, name: &'static str, v: u64) {
        self.fields.push((name, Value::Count(v)));
    }

    pub fn render(&self, fmt: StatsFormat) -> String {
        match fmt {
            StatsFormat::Json => {
                let body: Vec<String> = self
                    .fields
                    .iter()
                    .map(|(k, v)| match v {
                        Value::Count(n) => format!("\"{k}\":{n}"),
                        Value::Seconds(s) => format!("\"{k}\":{s:.6}"),
                        // Names are fixed identifiers: nothing to escape.
                        Value::Str(Some(s)) => format!("\"{k}\":\"{s}\""),
                        Value::Str(None) => format!("\"{k}\":null"),
                    })
                    .collect();
                format!("{{{}}}\n", body.join(","))
            }
            StatsFormat::Text => self
                .fields
                .iter()
                .filter(|(k, _)| *k != "stats_version")
                .map(|(k, v)| match v {
                    Value::Count(n) => format!("vmx stats: {k:<24} {n}\n"),
                    Value::Seconds(s) => format!("vmx stats: {k:<24} {s:.3}\n"),
                    Value::Str(s) => format!("vmx stats: {k:<24} {}\n", s.unwrap_or("-")),
                })
                .collect(),
        }
    }

    /// Writes the report to stderr.
    pub fn print(&self, fmt: StatsFormat) {
        let _ = std::io::stderr().write_all(self.render(fmt).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_split_time_and_report_renders() {
        let t = PhaseTimes::default();
        t.enter(Phase::Interp);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(t.enter(Phase::Syscall), Phase::Interp);
        t.flush();
        assert!(t.seconds(Phase::Interp) >= 0.004);
        assert_eq!(t.seconds(Phase::Translated), 0.0);
        let mut r = Report::new("interp", 1.0, &t, 4096, Some(CacheUse::Miss));
        r.count("syscalls", 3);
        let json = r.render(StatsFormat::Json);
        assert!(json
            .starts_with("{\"stats_version\":1,\"engine\":\"interp\",\"wall_seconds\":1.000000,"));
        assert!(json.contains("\"cache\":\"miss\""));
        assert!(json.ends_with("\"syscalls\":3}\n"));
        let text = r.render(StatsFormat::Text);
        assert!(
            text.contains("vmx stats: peak_guest_memory_bytes  4096\n"),
            "{text}"
        );
    }
}
