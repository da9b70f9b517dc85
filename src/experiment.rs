//! Steady-state hypotheses (Chaos Toolkit semantics): probes with tolerances, checked in a baseline window
//! before the first fault, during each fault and in a recovery window after the last; the experiment is
//! *completed* when every probe held in every phase, *deviated* otherwise, *aborted* when a probe's
//! `abort_after` grace ran out (k6 abortOnFail) or the run was stopped.
//!
//! A probe is checked on every metrics window of a phase (the windows inside it, or overlapping it when
//! it is shorter than a window); it holds when every window is within tolerance. Its reported value is the
//! worst window's.

use crate::actors::audio::AudioRow;
use crate::metrics::WindowRow;
pub(crate) use crate::model::summary::{Phase, PhaseCheck, PhaseName, ProbeMetric as Metric, ProbeResult};
pub(crate) use crate::scenario::experiment::{ExperimentSpec, Probe};
use crate::sim::SimTime;

impl Metric {
    /// Whether it is about the device.
    pub fn audio(self) -> bool {
        matches!(self, Metric::AudioAvailability | Metric::XrunsPerHour)
    }

    /// Its value in one service window (`None` when the window has no data for it).
    pub fn of_window(self, r: &WindowRow, window_s: f64) -> Option<f64> {
        let c = r.counts;
        let ratio = (c.requests > 0).then(|| c.ok as f64 / c.requests as f64);
        match self {
            Metric::Availability => ratio,
            Metric::ErrorRate => ratio.map(|a| 1.0 - a),
            Metric::P50Ms => r.p50_ms(),
            Metric::P99Ms => r.p99_ms(),
            Metric::MaxMs => r.max_ms(),
            Metric::ThroughputPerS => Some(c.requests as f64 / window_s),
            Metric::Utilization => Some(r.utilization),
            Metric::QueueDepth => Some(r.queue_depth),
            Metric::AudioAvailability | Metric::XrunsPerHour => None,
        }
    }

    /// Its value in one window of the device (first channel's row).
    pub fn of_audio_window(self, r: &AudioRow, window_s: f64) -> Option<f64> {
        let periods = r.meter.blocks + r.missing;
        match self {
            Metric::AudioAvailability => {
                (periods > 0).then(|| (r.meter.blocks.saturating_sub(r.xruns)) as f64 / periods as f64)
            }
            Metric::XrunsPerHour => Some(r.xruns as f64 * 3600.0 / window_s),
            _ => None,
        }
    }
}

/// The phases of a run with `faults` (name, start, end; in start order) ending at `end`.
pub(crate) fn phases(spec: &ExperimentSpec, faults: &[(String, SimTime, SimTime)], end: SimTime) -> Vec<Phase> {
    let s = |t: SimTime| t.as_secs_f64();
    if faults.is_empty() {
        return vec![Phase { name: PhaseName::Steady, start_s: 0.0, end_s: s(end) }];
    }
    let first = faults.iter().map(|f| f.1).min().expect("invariant: faults");
    let last = faults.iter().map(|f| f.2).max().expect("invariant: faults").min(end);
    let mut v = vec![Phase {
        name: PhaseName::Baseline,
        start_s: s(SimTime::ZERO.max(SimTime::from_nanos(first.as_nanos().saturating_sub(spec.baseline.as_nanos())))),
        end_s: s(first),
    }];
    for (name, at, until) in faults {
        v.push(Phase { name: PhaseName::Fault(name.clone()), start_s: s(*at), end_s: s((*until).min(end)) });
    }
    let from = (last + spec.settle).min(end);
    v.push(Phase { name: PhaseName::Recovery, start_s: s(from), end_s: s((from + spec.recovery).min(end)) });
    // A baseline or recovery of zero length is dropped (faults from t=0, or running to the end).
    v.retain(|p| p.end_s > p.start_s);
    v
}

/// Checks `probe` over `values` (one per window: start [s], value) in each of `phases`, with windows of
/// `window_s`.
pub(crate) fn check(probe: &Probe, values: &[(f64, Option<f64>)], window_s: f64, phases: &[Phase]) -> Vec<PhaseCheck> {
    phases
        .iter()
        .map(|ph| {
            let inside: Vec<f64> = values
                .iter()
                .filter(|(t, _)| *t >= ph.start_s - 1e-9 && t + window_s <= ph.end_s + 1e-9)
                .filter_map(|(_, v)| *v)
                .collect();
            let chosen: Vec<f64> = if inside.is_empty() {
                values
                    .iter()
                    .filter(|(t, _)| *t < ph.end_s && t + window_s > ph.start_s)
                    .filter_map(|(_, v)| *v)
                    .collect()
            } else {
                inside
            };
            let value = chosen.iter().copied().reduce(|a, b| probe.worse(a, b));
            PhaseCheck {
                phase: ph.name.clone(),
                value,
                windows: chosen.len(),
                ok: chosen.iter().all(|v| probe.tolerates(*v)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ServiceId, Target};
    use crate::sim::SimDuration;

    fn fault(at: u64, dur: u64) -> (String, SimTime, SimTime) {
        let t = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        ("f".into(), t(at), t(at + dur))
    }

    #[test]
    fn phases_around_the_faults() {
        let spec = ExperimentSpec {
            baseline: SimDuration::from_secs(60),
            recovery: SimDuration::from_secs(30),
            settle: SimDuration::ZERO,
            probes: vec![],
        };
        let end = SimTime::ZERO + SimDuration::from_secs(600);
        let p = phases(&spec, &[fault(100, 20), fault(200, 10)], end);
        let names: Vec<(String, f64, f64)> = p.iter().map(|x| (x.name.to_string(), x.start_s, x.end_s)).collect();
        assert_eq!(
            names,
            vec![
                ("baseline".to_string(), 40.0, 100.0),
                ("fault: f".to_string(), 100.0, 120.0),
                ("fault: f".to_string(), 200.0, 210.0),
                ("recovery".to_string(), 210.0, 240.0)
            ]
        );
        assert_eq!(phases(&spec, &[], end)[0].name, PhaseName::Steady);
    }

    #[test]
    fn a_probe_holds_only_if_every_window_does() {
        let probe = Probe {
            name: "p99".into(),
            target: Target::Service(ServiceId(0)),
            metric: Metric::P99Ms,
            min: None,
            max: Some(200.0),
            abort_after: None,
        };
        let values: Vec<(f64, Option<f64>)> =
            (0..12).map(|i| (i as f64 * 5.0, Some(if i == 7 { 350.0 } else { 100.0 }))).collect();
        let ph = vec![
            Phase { name: PhaseName::Baseline, start_s: 0.0, end_s: 30.0 },
            Phase { name: PhaseName::Fault("b".into()), start_s: 30.0, end_s: 60.0 },
            Phase { name: PhaseName::Recovery, start_s: 36.0, end_s: 37.0 },
        ];
        let r = check(&probe, &values, 5.0, &ph);
        assert!(r[0].ok && r[0].windows == 6 && r[0].value == Some(100.0));
        assert!(!r[1].ok && r[1].value == Some(350.0));
        assert!(!r[2].ok && r[2].windows == 1, "a phase shorter than a window uses the window overlapping it");
    }
}
