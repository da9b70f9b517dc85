//! Checks of `[[chaos]]`: targets (name, glob, tag, "device", "load"), mode, probability, schedule, and
//! each fault kind's parameters.

use super::{Checker, DEVICE};
use crate::dist::Dist;
use crate::scenario::chaos::{FaultSpec, Mode, Schedule};
use crate::scenario::raw::{FaultKind, ModeName, RawChaos, RawService};
use crate::scenario::{FaultEffect, Service, ServiceId, Target};
use crate::sim::{SimDuration, SimTime};

/// The name by which faults refer to the load generator.
pub const LOAD: &str = "load";

/// The services a selector matches: `tag:x`, a glob with `*`/`?`/`[`, or a name.
fn select(c: &mut Checker, at: &str, sel: &str, raw: &[RawService]) -> Vec<ServiceId> {
    let known = || raw.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    if let Some(tag) = sel.strip_prefix("tag:") {
        let v: Vec<ServiceId> = raw
            .iter()
            .enumerate()
            .filter(|(_, s)| s.tags.iter().any(|t| t == tag))
            .map(|(i, _)| ServiceId(i as u32))
            .collect();
        if v.is_empty() {
            c.err(at, format!("no service has the tag \"{tag}\""));
        }
        return v;
    }
    if sel.contains(['*', '?', '[']) {
        return match glob::Pattern::new(sel) {
            Ok(pat) => {
                let v: Vec<ServiceId> = raw
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| pat.matches(&s.name))
                    .map(|(i, _)| ServiceId(i as u32))
                    .collect();
                if v.is_empty() {
                    c.err(at, format!("the pattern \"{sel}\" matches no service (known: {})", known()));
                }
                v
            }
            Err(e) => {
                c.err(at, format!("invalid pattern \"{sel}\": {e}"));
                Vec::new()
            }
        };
    }
    match raw.iter().position(|s| s.name == sel) {
        Some(i) => vec![ServiceId(i as u32)],
        None => {
            c.err(
                at,
                format!("unknown service \"{sel}\" (known: {}; or \"device\", \"load\", a pattern, tag:name)", known()),
            );
            Vec::new()
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn fault(
    c: &mut Checker,
    p: &str,
    f: &RawChaos,
    horizon: SimTime,
    raw: &[RawService],
    services: &[Option<Service>],
    has_device: bool,
    dists: &mut Vec<Dist>,
) -> Option<FaultSpec> {
    let kind = f.fault.name();
    let tat = format!("{p}.target");
    // Targets.
    let targets: Vec<Target> = if f.target == DEVICE {
        if !has_device {
            c.err(tat.clone(), "the target \"device\" needs a [device] section");
        }
        if !f.fault.device_only() && f.fault != FaultKind::CpuStall {
            c.err(format!("{p}.fault"), "the device takes audio faults: device-disconnect, xrun-storm, cpu-stall, sample-rate-mismatch, clock-drift, silence, clipping");
        }
        vec![Target::Device]
    } else if f.target == LOAD {
        if f.fault != FaultKind::LoadSpike {
            c.err(format!("{p}.fault"), "the load generator takes load-spike faults only");
        }
        vec![Target::Load]
    } else {
        if f.fault.device_only() {
            c.err(tat.clone(), format!("{kind} is an audio fault: target = \"device\""));
        }
        if f.fault == FaultKind::LoadSpike {
            c.err(tat.clone(), "a load-spike targets the load generator: target = \"load\"");
        }
        select(c, &tat, &f.target, raw).into_iter().map(Target::Service).collect()
    };
    // Mode and probability.
    let mode = match (f.mode, f.percent) {
        (None | Some(ModeName::All), None) => Mode::All,
        (Some(ModeName::One), None) => Mode::One,
        (Some(ModeName::FixedPercent), Some(pc)) => {
            if !(pc > 0.0 && pc <= 100.0) {
                c.err(format!("{p}.percent"), format!("{pc}: expected a percentage in (0, 100]"));
            }
            Mode::Percent(pc)
        }
        (Some(ModeName::FixedPercent), None) => {
            c.err(format!("{p}.percent"), "missing: mode = \"fixed-percent\" needs percent, e.g. percent = 50.0");
            Mode::All
        }
        (_, Some(_)) => {
            c.err(format!("{p}.percent"), "only mode = \"fixed-percent\" takes a percent");
            Mode::All
        }
    };
    let probability = f.probability.unwrap_or(1.0);
    c.fraction(&format!("{p}.probability"), probability);
    // Schedule.
    let schedule = match (f.at, f.every) {
        (Some(at), None) => {
            if f.jitter.is_some() {
                c.err(format!("{p}.jitter"), "only a repeated fault (`every`) takes a jitter");
            }
            Schedule::Once { at: SimTime::ZERO + at.0 }
        }
        (at, Some(every)) => {
            c.positive(&format!("{p}.every"), every.0);
            let jitter = f.jitter.map(|j| j.0).unwrap_or(SimDuration::ZERO);
            Schedule::Every { first: SimTime::ZERO + at.map(|a| a.0).unwrap_or(every.0), every: every.0, jitter }
        }
        (None, None) => {
            c.err(
                format!("{p}.at"),
                "missing: when the fault starts, e.g. at = \"10m\" (or every = \"5m\" to repeat it)",
            );
            Schedule::Once { at: SimTime::ZERO }
        }
    };
    let first = match schedule {
        Schedule::Once { at } => at,
        Schedule::Every { first, .. } => first,
    };
    if first >= horizon {
        c.err(
            format!("{p}.at"),
            format!(
                "{} is after the end of the run ({} = duration + drain): the fault would never start",
                first - SimTime::ZERO,
                horizon - SimTime::ZERO
            ),
        );
    }
    // Parameters.
    let params = [
        ("add", f.add.is_some()),
        ("latency", f.latency.is_some()),
        ("latency_jitter", f.latency_jitter.is_some()),
        ("rate", f.rate.is_some()),
        ("host_rate_hz", f.host_rate_hz.is_some()),
        ("ppm", f.ppm.is_some()),
        ("gain_db", f.gain_db.is_some()),
        ("factor", f.factor.is_some()),
        ("multiplier", f.multiplier.is_some()),
        ("to", f.to.is_some()),
    ];
    let device_target = targets == [Target::Device];
    let allowed: &[&str] = match f.fault {
        FaultKind::Latency => &["add", "latency", "latency_jitter"],
        FaultKind::CpuStall if device_target => &["add"],
        FaultKind::CpuStall => &["factor"],
        FaultKind::Errors | FaultKind::XrunStorm => &["rate"],
        FaultKind::SampleRateMismatch => &["host_rate_hz"],
        FaultKind::ClockDrift => &["ppm"],
        FaultKind::Clipping => &["gain_db"],
        FaultKind::LoadSpike => &["multiplier"],
        FaultKind::Partition => &["to"],
        _ => &[],
    };
    for (key, present) in params {
        if present && !allowed.contains(&key) {
            c.err(format!("{p}.{key}"), format!("`{key}` does not apply to a {kind} fault"));
        }
    }
    let missing = |c: &mut Checker, key: &str, example: &str| {
        c.err(format!("{p}.{key}"), format!("missing: a {kind} fault needs {key}, e.g. {key} = {example}"));
    };
    let duration = match (f.fault, f.for_) {
        (_, Some(d)) => c.positive(&format!("{p}.for"), d.0).then_some(d.0),
        (FaultKind::Kill | FaultKind::Stop | FaultKind::Panic, None) => {
            // Down for the service's restart delay; the pick happens per occurrence, take the first.
            let delay = targets.iter().find_map(|t| match t {
                Target::Service(id) => services.get(id.index()).and_then(|s| s.as_ref()).map(|s| s.restart_delay),
                _ => None,
            });
            Some(delay.unwrap_or(SimDuration::ZERO))
        }
        (_, None) => {
            missing(c, "for", "\"30s\"");
            None
        }
    };
    let positive_f64 = |c: &mut Checker, key: &str, v: Option<f64>, example: &str, min: f64| match v {
        Some(x) if x.is_finite() && x > min => Some(x),
        Some(x) => {
            c.err(format!("{p}.{key}"), format!("{x}: expected a number > {min}"));
            None
        }
        None => {
            missing(c, key, example);
            None
        }
    };
    let rate = |c: &mut Checker| match f.rate {
        Some(r) => {
            c.fraction(&format!("{p}.rate"), r);
            Some(r)
        }
        None => {
            missing(c, "rate", "0.3");
            None
        }
    };
    let effect = match f.fault {
        FaultKind::Kill => Some(FaultEffect::Kill),
        FaultKind::Stop => Some(FaultEffect::Stop),
        FaultKind::Panic => Some(FaultEffect::Panic),
        FaultKind::Hang => Some(FaultEffect::Hang),
        FaultKind::Latency => {
            let jitter = f.latency_jitter.map(|j| j.0).unwrap_or(SimDuration::ZERO);
            match (f.add, &f.latency) {
                (Some(a), None) => c.positive(&format!("{p}.add"), a.0).then_some(FaultEffect::Latency {
                    add: a.0,
                    dist: None,
                    jitter,
                }),
                (add, Some(d)) => super::dist(c, &format!("{p}.latency"), d).map(|d| {
                    dists.push(d);
                    FaultEffect::Latency {
                        add: add.map(|a| a.0).unwrap_or(SimDuration::ZERO),
                        dist: Some((dists.len() - 1) as u32),
                        jitter,
                    }
                }),
                (None, None) => {
                    missing(c, "add", "\"200ms\" (or latency = { dist = ... })");
                    None
                }
            }
        }
        FaultKind::Errors => rate(c).map(|rate| FaultEffect::Errors { rate }),
        FaultKind::Partition => {
            let to = match &f.to {
                Some(sel) => select(c, &format!("{p}.to"), sel, raw),
                None => {
                    missing(c, "to", "\"storage\"");
                    Vec::new()
                }
            };
            if to.len() > 1 {
                c.err(format!("{p}.to"), "a partition cuts one link: name one service (use several faults for more)");
            }
            to.first().map(|to| FaultEffect::Partition { to: *to })
        }
        FaultKind::CpuStall if device_target => match f.add {
            Some(a) => c.positive(&format!("{p}.add"), a.0).then_some(FaultEffect::CpuStall { add: a.0 }),
            None => {
                missing(c, "add", "\"6ms\"");
                None
            }
        },
        FaultKind::CpuStall => {
            positive_f64(c, "factor", f.factor, "3.0", 0.0).map(|factor| FaultEffect::Slowdown { factor })
        }
        FaultKind::LoadSpike => positive_f64(c, "multiplier", f.multiplier, "5.0", 0.0)
            .map(|multiplier| FaultEffect::LoadSpike { multiplier }),
        FaultKind::DeviceDisconnect => Some(FaultEffect::DeviceDisconnect),
        FaultKind::XrunStorm => rate(c).map(|rate| FaultEffect::XrunStorm { rate }),
        FaultKind::SampleRateMismatch => match f.host_rate_hz {
            Some(r) if r > 0 => Some(FaultEffect::SampleRateMismatch { host_rate_hz: r }),
            Some(_) => {
                c.err(format!("{p}.host_rate_hz"), "must be a rate in Hz, e.g. 44100");
                None
            }
            None => {
                missing(c, "host_rate_hz", "44100");
                None
            }
        },
        FaultKind::ClockDrift => match f.ppm {
            Some(v) if v.is_finite() && v.abs() < 100_000.0 => Some(FaultEffect::ClockDrift { ppm: v }),
            Some(v) => {
                c.err(format!("{p}.ppm"), format!("{v} ppm is not a clock error: expected |ppm| < 100000"));
                None
            }
            None => {
                missing(c, "ppm", "50.0");
                None
            }
        },
        FaultKind::Silence => Some(FaultEffect::Silence),
        FaultKind::Clipping => {
            positive_f64(c, "gain_db", f.gain_db, "12.0", 0.0).map(|gain_db| FaultEffect::Clipping { gain_db })
        }
    };
    if let (Some(FaultEffect::Partition { to }), true) = (effect, targets.len() == 1) {
        if targets[0] == Target::Service(to) {
            c.err(format!("{p}.to"), "a service cannot be partitioned from itself");
        }
    }
    let name = f.name.clone().unwrap_or_else(|| format!("{kind}:{}", f.target));
    if targets.is_empty() {
        return None;
    }
    Some(FaultSpec { name, targets, mode, probability, schedule, duration: duration?, effect: effect? })
}
