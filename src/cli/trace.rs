//! `FLEETOPS_TRACE=1`: the library's timing events as lines on stderr,
//! `fleetops: {phase}: {secs:.3}s`, and the counts its other events carry. A subscriber of a few lines rather than
//! a formatting crate: nothing else is shown.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Installs the subscriber for the whole process when `FLEETOPS_TRACE` is set.
pub fn install_from_env() {
    if std::env::var_os("FLEETOPS_TRACE").is_some() {
        // Only fails when one is installed already, which then stays.
        let _ = tracing::subscriber::set_global_default(PhaseTimes);
    }
}

/// Prints events of fleetops that carry a `phase` and its `secs`.
struct PhaseTimes;

#[derive(Default)]
struct Phase {
    phase: Option<String>,
    secs: Option<f64>,
    /// Counts an event carries (bytes spilled, partitions...).
    counts: Vec<(&'static str, u64)>,
}

impl Visit for Phase {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "phase" {
            self.phase = Some(value.to_string());
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "secs" {
            self.secs = Some(value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.counts.push((field.name(), value));
    }

    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

impl Subscriber for PhaseTimes {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Events of fleetops only: DataFusion and its dependencies trace too.
        metadata.is_event() && metadata.target().starts_with("fleetops")
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut p = Phase::default();
        event.record(&mut p);
        if let (Some(phase), Some(secs)) = (p.phase, p.secs) {
            eprintln!("fleetops: {phase}: {secs:.3}s");
        } else if !p.counts.is_empty() {
            let counts: Vec<String> = p.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            eprintln!("fleetops: {}", counts.join(", "));
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// With `FLEETOPS_TRACE` set, prints the process's peak resident memory
/// (`VmHWM`), the figure the memory budget is about.
pub fn peak_memory() {
    if std::env::var_os("FLEETOPS_TRACE").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kb) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        eprintln!("fleetops: peak memory: {kb} kB");
    }
}
