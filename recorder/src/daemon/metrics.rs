//! The daemon's metrics in Prometheus' text format.
//!
//! Labels stay few and bounded (engine, reason, slot state): never a pod,
//! a pid or a path, whose values grow with the cluster. Per-container
//! detail is in the API (`/v1/recordings`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::recordings::Unrecorded;

/// Counters and gauges the daemon keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Recordings started, by engine.
    pub recordings_total: BTreeMap<String, u64>,
    pub unrecorded_total: BTreeMap<Unrecorded, u64>,
    pub profiles_written_total: u64,
    pub profile_write_errors_total: u64,
    pub last_flush: Duration,
}

/// What the gauges show now.
pub struct Gauges {
    pub active: usize,
    pub slots_used: usize,
    pub slots_free: usize,
    /// Slots the kernel side holds for new cgroups not told yet.
    pub slots_triage: usize,
    /// Cgroups marked never to be recorded (not containers, or no slot).
    pub cgroups_ignored: usize,
    /// Profiles whose last write failed.
    pub pending_profiles: usize,
    /// The kernel's accounting of the attached program (`None` unless
    /// `kernel.bpf_stats_enabled` is 1).
    pub program: Option<crate::bpf::ProgramStats>,
}

impl Metrics {
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        family(
            "recorder_recordings_active",
            "gauge",
            "Containers being recorded now.",
            &[(String::new(), gauges.active.to_string())],
        );
        let by_engine: Vec<(String, String)> = self
            .recordings_total
            .iter()
            .map(|(engine, n)| (format!("{{engine=\"{engine}\"}}"), n.to_string()))
            .collect();
        family(
            "recorder_recordings_total",
            "counter",
            "Containers recorded since the daemon started, by engine.",
            &by_engine,
        );
        let by_reason: Vec<(String, String)> = Unrecorded::ALL
            .iter()
            .map(|reason| {
                let n = self.unrecorded_total.get(reason).copied().unwrap_or(0);
                (format!("{{reason=\"{}\"}}", reason.label()), n.to_string())
            })
            .collect();
        family(
            "recorder_containers_unrecorded_total",
            "counter",
            "Containers seen and not recorded, by reason.",
            &by_reason,
        );
        family(
            "recorder_slots",
            "gauge",
            "Recording slots (--max-recordings) used and free, and the slots kept apart that new cgroups hold until they are told (triage).",
            &[
                ("{state=\"used\"}".into(), gauges.slots_used.to_string()),
                ("{state=\"free\"}".into(), gauges.slots_free.to_string()),
                ("{state=\"triage\"}".into(), gauges.slots_triage.to_string()),
            ],
        );
        family(
            "recorder_cgroups_ignored",
            "gauge",
            "Cgroups found not to be containers (or without a slot), marked never to take a slot while they live.",
            &[(String::new(), gauges.cgroups_ignored.to_string())],
        );
        family(
            "recorder_profiles_written_total",
            "counter",
            "Profile writes (a profile and its meta file).",
            &[(String::new(), self.profiles_written_total.to_string())],
        );
        family(
            "recorder_profile_write_errors_total",
            "counter",
            "Profile writes that failed (kept in memory and tried again).",
            &[(String::new(), self.profile_write_errors_total.to_string())],
        );
        family(
            "recorder_profiles_pending",
            "gauge",
            "Profiles whose last write failed.",
            &[(String::new(), gauges.pending_profiles.to_string())],
        );
        if let Some(program) = gauges.program {
            family(
                "recorder_program_run_seconds_total",
                "counter",
                "Time the kernel ran the recorder's program (kernel.bpf_stats_enabled=1).",
                &[(
                    String::new(),
                    format!("{:.9}", program.run_time_ns as f64 / 1e9),
                )],
            );
            family(
                "recorder_program_runs_total",
                "counter",
                "Runs of the recorder's program: one per syscall (kernel.bpf_stats_enabled=1).",
                &[(String::new(), program.run_count.to_string())],
            );
        }
        family(
            "recorder_flush_duration_seconds",
            "gauge",
            "How long the last flush of every profile took.",
            &[(
                String::new(),
                format!("{:.6}", self.last_flush.as_secs_f64()),
            )],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let mut m = Metrics::default();
        m.recordings_total.insert("docker".into(), 2);
        m.recordings_total.insert("runc".into(), 1);
        m.unrecorded_total.insert(Unrecorded::NoSlot, 4);
        m.profiles_written_total = 7;
        m.last_flush = Duration::from_millis(12);
        let text = m.render(&Gauges {
            active: 3,
            slots_used: 3,
            slots_free: 1021,
            slots_triage: 0,
            cgroups_ignored: 5,
            pending_profiles: 0,
            program: Some(crate::bpf::ProgramStats {
                run_time_ns: 1_500_000_000,
                run_count: 42,
            }),
        });
        for line in [
            "# TYPE recorder_recordings_active gauge",
            "recorder_recordings_active 3",
            "recorder_recordings_total{engine=\"docker\"} 2",
            "recorder_recordings_total{engine=\"runc\"} 1",
            "recorder_containers_unrecorded_total{reason=\"no-slot\"} 4",
            "recorder_containers_unrecorded_total{reason=\"filtered\"} 0",
            "recorder_slots{state=\"used\"} 3",
            "recorder_slots{state=\"free\"} 1021",
            "recorder_profiles_written_total 7",
            "recorder_slots{state=\"triage\"} 0",
            "recorder_cgroups_ignored 5",
            "recorder_program_run_seconds_total 1.500000000",
            "recorder_program_runs_total 42",
            "recorder_profile_write_errors_total 0",
            "recorder_flush_duration_seconds 0.012000",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
        }
    }
}
