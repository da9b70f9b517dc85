//! The `[load]` section: entry services, the arrival model, stages and stress steps, and the rate
//! profile they make.

use super::{Checker, Lookup, dist};
use crate::scenario::raw::{LoadModel, RawLoad, RawStress};
use crate::scenario::{Load, RateProfile, Segment, ServiceId, Stress};
use crate::sim::SimDuration;

/// Checks the load section; returns it (profile still empty) and the length its stages or stress steps
/// imply (zero when none).
pub(super) fn load(c: &mut Checker, l: &RawLoad, lookup: &Lookup<'_>) -> Option<(Load, SimDuration)> {
    let mix = mix(c, l, lookup);
    let closed = l.model == LoadModel::Closed;
    if let Some(0) = l.users {
        c.err("load.users", "must be at least 1");
    }
    if closed && l.users.is_none() {
        c.err("load.users", "missing: a closed model is a number of users, e.g. users = 50");
    }
    let think_time = l.think_time.as_ref().and_then(|d| dist(c, "load.think_time", d));
    let (stress, implied) = match &l.stress {
        Some(st) => {
            let (stress, implied) = stress(c, l, st, closed);
            (Some(stress), implied)
        }
        None if closed => {
            for (key, present) in [("rate_per_s", l.rate_per_s.is_some()), ("stages", !l.stages.is_empty())] {
                if present {
                    c.err(format!("load.{key}"), "a closed model has no arrival rate: its users set the pace");
                }
            }
            (None, SimDuration::ZERO)
        }
        None => (None, open_rates(c, l)),
    };
    let entry = mix.first()?.0;
    Some((
        Load {
            entry,
            mix,
            arrivals: l.arrivals,
            profile: RateProfile { segments: Vec::new() },
            users: l.users,
            think_time,
            closed,
            stress,
        },
        implied,
    ))
}

/// The entry services and their weights: `entry`, or a `mix`.
fn mix(c: &mut Checker, l: &RawLoad, lookup: &Lookup<'_>) -> Vec<(ServiceId, f64)> {
    if l.mix.is_empty() {
        match &l.entry {
            Some(e) => lookup(c, "load.entry".into(), e).map(|id| vec![(id, 1.0)]).unwrap_or_default(),
            None => {
                c.err(
                    "load.entry",
                    "missing: the service that receives the requests, e.g. entry = \"gateway\" (or a mix)",
                );
                Vec::new()
            }
        }
    } else {
        if l.entry.is_some() {
            c.err("load.entry", "give either `entry` or a `mix`, not both");
        }
        l.mix
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                if !(m.weight > 0.0 && m.weight.is_finite()) {
                    c.err(format!("load.mix[{i}].weight"), format!("{}: expected a weight > 0", m.weight));
                }
                lookup(c, format!("load.mix[{i}].entry"), &m.entry).map(|id| (id, m.weight))
            })
            .collect()
    }
}

/// A stress test's steps; returns them and the length they imply when `max_per_s` ends them (zero
/// otherwise).
fn stress(c: &mut Checker, l: &RawLoad, st: &RawStress, closed: bool) -> (Stress, SimDuration) {
    for (key, present) in [("rate_per_s", l.rate_per_s.is_some()), ("stages", !l.stages.is_empty())] {
        if present {
            c.err(format!("load.{key}"), "a stress test sets its own rates (start_per_s, step_per_s): remove it");
        }
    }
    if closed {
        c.err("load.model", "a stress test raises an arrival rate: it needs the open model");
    }
    if !(st.start_per_s > 0.0 && st.start_per_s.is_finite()) {
        c.err("load.stress.start_per_s", format!("{}: expected a rate > 0", st.start_per_s));
    }
    if !(st.step_per_s > 0.0 && st.step_per_s.is_finite()) {
        c.err("load.stress.step_per_s", format!("{}: expected a rate > 0", st.step_per_s));
    }
    c.positive("load.stress.step_duration", st.step_duration.0);
    if let Some(m) = st.max_per_s {
        if m < st.start_per_s || m.is_nan() {
            c.err("load.stress.max_per_s", "must not be below start_per_s");
        }
    }
    let stop = st.stop_error_rate.unwrap_or(0.5);
    c.fraction("load.stress.stop_error_rate", stop);
    let stress = Stress {
        start_per_s: st.start_per_s,
        step_per_s: st.step_per_s,
        step: st.step_duration.0,
        max_per_s: st.max_per_s,
        stop_error_rate: stop,
    };
    if st.max_per_s.is_some() && st.step_per_s > 0.0 {
        let steps = stress.steps(SimDuration::MAX);
        let implied = SimDuration::from_nanos(stress.step.as_nanos().saturating_mul(steps as u64));
        return (stress, implied);
    }
    (stress, SimDuration::ZERO)
}

/// The open model's rate and stages; returns the length the stages imply.
fn open_rates(c: &mut Checker, l: &RawLoad) -> SimDuration {
    let mut implied = SimDuration::ZERO;
    let rate = match l.rate_per_s {
        Some(r) => r,
        None => {
            c.err("load.rate_per_s", "missing: the arrival rate, e.g. rate_per_s = 100.0");
            1.0
        }
    };
    let rate_ok = if !rate.is_finite() || rate < 0.0 {
        c.err("load.rate_per_s", format!("{rate} is not a rate: expected a number of requests per second > 0"));
        false
    } else if rate == 0.0 && l.stages.is_empty() {
        c.err("load.rate_per_s", "must be greater than 0 (only a ramp with `stages` may start from 0)");
        false
    } else {
        true
    };
    let mut any_positive = rate > 0.0;
    for (i, s) in l.stages.iter().enumerate() {
        c.positive(&format!("load.stages[{i}].duration"), s.duration.0);
        implied = implied + s.duration.0;
        if !s.target_per_s.is_finite() || s.target_per_s < 0.0 {
            c.err(
                format!("load.stages[{i}].target_per_s"),
                format!("{} is not a rate: expected a number >= 0", s.target_per_s),
            );
        }
        any_positive |= s.target_per_s > 0.0;
    }
    if rate_ok && !any_positive {
        c.err("load.stages", "every rate is 0: no request would ever arrive");
    }
    implied
}

/// Builds the rate profile over `[0, duration)` from a checked load section.
pub(super) fn profile(l: &RawLoad, load: &Load, duration: SimDuration) -> RateProfile {
    let end = duration.as_secs_f64();
    if load.closed {
        return RateProfile { segments: Vec::new() };
    }
    if let Some(st) = &load.stress {
        let step = st.step.as_secs_f64();
        let segments = (0..st.steps(duration))
            .map(|k| {
                let r = st.rate(k);
                Segment {
                    start_s: k as f64 * step,
                    end_s: ((k + 1) as f64 * step).min(end),
                    from_per_s: r,
                    to_per_s: r,
                }
            })
            .collect();
        return RateProfile { segments };
    }
    let mut segments = Vec::new();
    let mut t = 0.0;
    let mut rate = l.rate_per_s.unwrap_or(0.0);
    for s in &l.stages {
        if t >= end {
            break;
        }
        let len = s.duration.0.as_secs_f64();
        let seg_end = (t + len).min(end);
        // Cut a stage at `duration`: the rate at the cut is interpolated.
        let to = rate + (s.target_per_s - rate) * (seg_end - t) / len;
        segments.push(Segment { start_s: t, end_s: seg_end, from_per_s: rate, to_per_s: to });
        t = seg_end;
        rate = s.target_per_s;
    }
    if t < end {
        segments.push(Segment { start_s: t, end_s: end, from_per_s: rate, to_per_s: rate });
    }
    RateProfile { segments }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Load;

    fn profile_of(rate: f64, stages: &[(u64, f64)], duration_s: u64) -> RateProfile {
        let l = RawLoad {
            entry: Some("a".into()),
            arrivals: Default::default(),
            rate_per_s: Some(rate),
            model: LoadModel::Open,
            users: None,
            think_time: None,
            mix: Vec::new(),
            stress: None,
            stages: stages
                .iter()
                .map(|(d, t)| crate::scenario::raw::RawStage {
                    duration: crate::scenario::raw::Dur(SimDuration::from_secs(*d)),
                    target_per_s: *t,
                })
                .collect(),
        };
        let load = Load {
            entry: ServiceId(0),
            mix: vec![(ServiceId(0), 1.0)],
            arrivals: Default::default(),
            profile: RateProfile { segments: Vec::new() },
            users: None,
            think_time: None,
            closed: false,
            stress: None,
        };
        profile(&l, &load, SimDuration::from_secs(duration_s))
    }

    #[test]
    fn stages_ramp_linearly_hold_the_last_target_and_are_cut_at_duration() {
        let p = profile_of(100.0, &[(60, 200.0), (60, 200.0)], 180);
        assert_eq!(p.rate_at(0.0), 100.0);
        assert_eq!(p.rate_at(30.0), 150.0);
        assert_eq!(p.rate_at(90.0), 200.0);
        assert_eq!(p.rate_at(170.0), 200.0);
        assert_eq!(p.expected_arrivals(), 150.0 * 60.0 + 200.0 * 120.0);
        let cut = profile_of(0.0, &[(100, 100.0)], 50);
        assert_eq!(cut.segments.len(), 1);
        assert_eq!(cut.segments[0].to_per_s, 50.0);
        assert_eq!(cut.expected_arrivals(), 25.0 * 50.0);
    }
}
