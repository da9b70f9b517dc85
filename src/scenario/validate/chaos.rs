//! Checks of `[[chaos]]`: targets (name, glob, tag, "device", "load"), mode, probability, schedule, and
//! each fault kind's parameters.

use super::{Checker, DEVICE};
use crate::dist::Dist;
use crate::scenario::chaos::{FaultSpec, Mode, Schedule};
use crate::scenario::raw::chaos::Common;
use crate::scenario::raw::{Dur, FaultKind, ModeName, RawChaos, RawService};
use crate::scenario::{FaultEffect, Service, ServiceId, Target};
use crate::sim::{SimDuration, SimTime};

/// The name by which faults refer to the load generator.
pub(super) const LOAD: &str = "load";

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

/// Checks one `[[chaos]]` entry at TOML path `p` and builds its spec.
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
    let common = f.common();
    let targets = targets(c, p, f.kind(), common.target, raw, has_device);
    let mode = mode(c, p, &common);
    let probability = common.probability.unwrap_or(1.0);
    c.fraction(&format!("{p}.probability"), probability);
    let schedule = schedule(c, p, &common, horizon);
    let duration = duration(c, p, f.kind(), &common, &targets, services);
    let effect = effect(c, p, f, &targets, raw, dists);
    if let (Some(FaultEffect::Partition { to }), [Target::Service(from)]) = (effect, targets.as_slice()) {
        if *from == to {
            c.err(format!("{p}.to"), "a service cannot be partitioned from itself");
        }
    }
    let name = common.name.map(str::to_string).unwrap_or_else(|| format!("{}:{}", f.kind(), common.target));
    if targets.is_empty() {
        return None;
    }
    Some(FaultSpec { name, targets, mode, probability, schedule, duration: duration?, effect: effect? })
}

/// What the entry's `target` selects, and whether the kind can act on it.
fn targets(
    c: &mut Checker,
    p: &str,
    kind: FaultKind,
    target: &str,
    raw: &[RawService],
    has_device: bool,
) -> Vec<Target> {
    let tat = format!("{p}.target");
    if target == DEVICE {
        if !has_device {
            c.err(tat, "the target \"device\" needs a [device] section");
        }
        if !kind.device_only() && kind != FaultKind::CpuStall {
            let audio: Vec<&str> = FaultKind::ALL
                .iter()
                .filter(|k| k.device_only() || **k == FaultKind::CpuStall)
                .map(|k| k.name())
                .collect();
            c.err(format!("{p}.fault"), format!("the device takes audio faults: {}", audio.join(", ")));
        }
        return vec![Target::Device];
    }
    if target == LOAD {
        if kind != FaultKind::LoadSpike {
            c.err(format!("{p}.fault"), "the load generator takes load-spike faults only");
        }
        return vec![Target::Load];
    }
    if kind.device_only() {
        c.err(tat.clone(), format!("{kind} is an audio fault: target = \"device\""));
    }
    if kind == FaultKind::LoadSpike {
        c.err(tat.clone(), "a load-spike targets the load generator: target = \"load\"");
    }
    select(c, &tat, target, raw).into_iter().map(Target::Service).collect()
}

/// How many of the matched targets.
fn mode(c: &mut Checker, p: &str, f: &Common) -> Mode {
    match (f.mode, f.percent) {
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
    }
}

/// When it happens: once at `at`, or `every` (from `at`) with a jitter; it must start before `horizon`.
fn schedule(c: &mut Checker, p: &str, f: &Common, horizon: SimTime) -> Schedule {
    let schedule = match (f.at, f.every) {
        (Some(at), None) => {
            if f.jitter.is_some() {
                c.err(format!("{p}.jitter"), "only a repeated fault (`every`) takes a jitter");
            }
            if f.count.is_some() {
                c.err(format!("{p}.count"), "only a repeated fault (`every`) takes a count");
            }
            Schedule::Once { at: SimTime::ZERO + at.0 }
        }
        (at, Some(every)) => {
            c.positive(&format!("{p}.every"), every.0);
            let jitter = f.jitter.map(|j| j.0).unwrap_or(SimDuration::ZERO);
            if f.count == Some(0) {
                c.err(
                    format!("{p}.count"),
                    "0: expected at least 1 occurrence (leave count out to repeat until the end)",
                );
            }
            let first = SimTime::ZERO + at.map(|a| a.0).unwrap_or(every.0);
            Schedule::Every { first, every: every.0, jitter, count: f.count }
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
    schedule
}

fn missing(c: &mut Checker, p: &str, kind: FaultKind, key: &str, example: &str) {
    c.err(format!("{p}.{key}"), format!("missing: a {kind} fault needs {key}, e.g. {key} = {example}"));
}

/// How long each occurrence lasts (kill, stop and panic: down for the service's restart delay by default).
fn duration(
    c: &mut Checker,
    p: &str,
    kind: FaultKind,
    f: &Common,
    targets: &[Target],
    services: &[Option<Service>],
) -> Option<SimDuration> {
    match (kind, f.for_) {
        (_, Some(d)) => c.positive(&format!("{p}.for"), d.0).then_some(d.0),
        (FaultKind::Kill | FaultKind::Stop | FaultKind::Panic, None) => {
            // The pick happens per occurrence: take the first target's delay.
            let delay = targets.iter().find_map(|t| match t {
                Target::Service(id) => services.get(id.index()).and_then(|s| s.as_ref()).map(|s| s.restart_delay),
                _ => None,
            });
            Some(delay.unwrap_or(SimDuration::ZERO))
        }
        (_, None) => {
            missing(c, p, kind, "for", "\"30s\"");
            None
        }
    }
}

/// A required number above `min`.
fn above(c: &mut Checker, p: &str, kind: FaultKind, key: &str, v: Option<f64>, example: &str, min: f64) -> Option<f64> {
    match v {
        Some(x) if x.is_finite() && x > min => Some(x),
        Some(x) => {
            c.err(format!("{p}.{key}"), format!("{x}: expected a number > {min}"));
            None
        }
        None => {
            missing(c, p, kind, key, example);
            None
        }
    }
}

/// A required probability.
fn rate(c: &mut Checker, p: &str, kind: FaultKind, rate: Option<f64>) -> Option<f64> {
    match rate {
        Some(r) => {
            c.fraction(&format!("{p}.rate"), r);
            Some(r)
        }
        None => {
            missing(c, p, kind, "rate", "0.3");
            None
        }
    }
}

/// A required positive duration.
fn positive(
    c: &mut Checker,
    p: &str,
    kind: FaultKind,
    key: &str,
    d: Option<Dur>,
    example: &str,
) -> Option<SimDuration> {
    match d {
        Some(d) => c.positive(&format!("{p}.{key}"), d.0).then_some(d.0),
        None => {
            missing(c, p, kind, key, example);
            None
        }
    }
}

/// What the fault does, from its kind's own keys.
fn effect(
    c: &mut Checker,
    p: &str,
    f: &RawChaos,
    targets: &[Target],
    raw: &[RawService],
    dists: &mut Vec<Dist>,
) -> Option<FaultEffect> {
    let kind = f.kind();
    match f {
        RawChaos::Kill(_) => Some(FaultEffect::Kill),
        RawChaos::Stop(_) => Some(FaultEffect::Stop),
        RawChaos::Panic(_) => Some(FaultEffect::Panic),
        RawChaos::Hang(_) => Some(FaultEffect::Hang),
        RawChaos::DeviceDisconnect(_) => Some(FaultEffect::DeviceDisconnect),
        RawChaos::Silence(_) => Some(FaultEffect::Silence),
        RawChaos::Latency(k) => {
            let jitter = k.latency_jitter.map(|j| j.0).unwrap_or(SimDuration::ZERO);
            match (k.add, &k.latency) {
                (Some(_), None) => {
                    positive(c, p, kind, "add", k.add, "").map(|add| FaultEffect::Latency { add, dist: None, jitter })
                }
                (add, Some(d)) => super::dist(c, &format!("{p}.latency"), d).map(|d| {
                    dists.push(d);
                    FaultEffect::Latency {
                        add: add.map(|a| a.0).unwrap_or(SimDuration::ZERO),
                        dist: Some((dists.len() - 1) as u32),
                        jitter,
                    }
                }),
                (None, None) => {
                    missing(c, p, kind, "add", "\"200ms\" (or latency = { dist = ... })");
                    None
                }
            }
        }
        RawChaos::Errors(k) => rate(c, p, kind, k.rate).map(|rate| FaultEffect::Errors { rate }),
        RawChaos::XrunStorm(k) => rate(c, p, kind, k.rate).map(|rate| FaultEffect::XrunStorm { rate }),
        RawChaos::Partition(k) => {
            let to = match &k.to {
                Some(sel) => select(c, &format!("{p}.to"), sel, raw),
                None => {
                    missing(c, p, kind, "to", "\"storage\"");
                    Vec::new()
                }
            };
            if to.len() > 1 {
                c.err(format!("{p}.to"), "a partition cuts one link: name one service (use several faults for more)");
            }
            to.first().map(|to| FaultEffect::Partition { to: *to })
        }
        // One kind, two forms: the device's block time (`add`), a service's processing time (`factor`).
        RawChaos::CpuStall(k) if targets == [Target::Device] => {
            if k.factor.is_some() {
                c.err(format!("{p}.factor"), "`factor` does not apply to a cpu-stall on the device: use `add`");
            }
            positive(c, p, kind, "add", k.add, "\"6ms\"").map(|add| FaultEffect::CpuStall { add })
        }
        RawChaos::CpuStall(k) => {
            if k.add.is_some() {
                c.err(format!("{p}.add"), "`add` does not apply to a cpu-stall on a service: use `factor`");
            }
            above(c, p, kind, "factor", k.factor, "3.0", 0.0).map(|factor| FaultEffect::Slowdown { factor })
        }
        RawChaos::LoadSpike(k) => above(c, p, kind, "multiplier", k.multiplier, "5.0", 0.0)
            .map(|multiplier| FaultEffect::LoadSpike { multiplier }),
        RawChaos::SampleRateMismatch(k) => match k.host_rate_hz {
            Some(r) if r > 0 => Some(FaultEffect::SampleRateMismatch { host_rate_hz: r }),
            Some(_) => {
                c.err(format!("{p}.host_rate_hz"), "must be a rate in Hz, e.g. 44100");
                None
            }
            None => {
                missing(c, p, kind, "host_rate_hz", "44100");
                None
            }
        },
        RawChaos::ClockDrift(k) => match k.ppm {
            Some(v) if v.is_finite() && v.abs() < 100_000.0 => Some(FaultEffect::ClockDrift { ppm: v }),
            Some(v) => {
                c.err(format!("{p}.ppm"), format!("{v} ppm is not a clock error: expected |ppm| < 100000"));
                None
            }
            None => {
                missing(c, p, kind, "ppm", "50.0");
                None
            }
        },
        RawChaos::Clipping(k) => {
            above(c, p, kind, "gain_db", k.gain_db, "12.0", 0.0).map(|gain_db| FaultEffect::Clipping { gain_db })
        }
    }
}
