//! Semantic checks: from [`RawScenario`] to [`Scenario`], collecting every problem with its TOML path.

use std::collections::BTreeMap;
use std::path::Path;

use super::raw::LoadModel;
use super::raw::{
    DeliveryName, RawDist, RawLoad, RawScenario, RawService, RawSlo, RawSupervisor, RestartName, ServiceKindName,
    SliKind, StrategyName,
};
use super::{
    Consumes, Indicator, Load, Problem, RateProfile, Scenario, Segment, Service, ServiceId, ServiceKind, Slo, Stress,
    Target,
};
use crate::dist::Dist;
use crate::sim::{SimDuration, SimTime};
use crate::supervision::{RestartBackoff, RestartType, Strategy, SupervisorSpec};

/// Default metrics window.
pub const DEFAULT_WINDOW: SimDuration = SimDuration::from_secs(5);
/// Default drain.
pub const DEFAULT_DRAIN: SimDuration = SimDuration::from_secs(30);
/// Default queue capacity.
pub const DEFAULT_QUEUE: u32 = 10_000;
/// Default restart delay.
pub const DEFAULT_RESTART_DELAY: SimDuration = SimDuration::from_secs(1);

mod chaos;
mod device;
mod resilience;

pub(super) struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    pub(super) fn err(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem { at: at.into(), message: message.into() });
    }

    pub(super) fn fraction(&mut self, at: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) {
            self.err(at, format!("{v} is not a probability: expected a number from 0 to 1"));
        }
    }

    pub(super) fn positive(&mut self, at: &str, d: SimDuration) -> bool {
        if d.is_zero() {
            self.err(at, "must be longer than zero");
            return false;
        }
        true
    }
}

/// Checks `raw`; `stem` is the default name.
pub fn validate(raw: RawScenario, stem: &str, base: &Path) -> Result<Scenario, Vec<Problem>> {
    let mut c = Checker { problems: Vec::new() };

    let name = raw.name.clone().unwrap_or_else(|| stem.to_string());
    if name.trim().is_empty() {
        c.err("name", "must not be empty");
    }

    // Services first: everything else refers to them by name.
    let mut ids: BTreeMap<&str, ServiceId> = BTreeMap::new();
    if raw.services.is_empty() {
        c.err("services", "no services: add at least one [[services]] table");
    }
    for (i, s) in raw.services.iter().enumerate() {
        if s.name.trim().is_empty() {
            c.err(format!("services[{i}].name"), "must not be empty");
        } else if ids.insert(s.name.as_str(), ServiceId(i as u32)).is_some() {
            c.err(format!("services[{i}].name"), format!("duplicate service name \"{}\"", s.name));
        }
    }
    let known = known_list(&raw.services);
    let lookup = |c: &mut Checker, at: String, name: &str| -> Option<ServiceId> {
        match ids.get(name) {
            Some(id) => Some(*id),
            None => {
                c.err(at, format!("unknown service \"{name}\" (known: {known})"));
                None
            }
        }
    };

    let mut services = Vec::with_capacity(raw.services.len());
    for (i, s) in raw.services.iter().enumerate() {
        let p = format!("services[{i}]");
        let calls: Vec<ServiceId> = s
            .calls
            .iter()
            .enumerate()
            .filter_map(|(j, callee)| {
                let at = format!("{p}.calls[{j}]");
                if callee == &s.name {
                    c.err(at, format!("\"{}\" calls itself: a synchronous self-call would deadlock", s.name));
                    return None;
                }
                lookup(&mut c, at, callee)
            })
            .collect();
        services.push(service(&mut c, &p, i, s, calls));
    }
    check_cycles(&mut c, &raw.services, &services);
    consumers(&mut c, &raw.services, &mut services, &lookup);

    let duration_raw = raw.duration.map(|d| d.0);
    let load = match &raw.load {
        None => {
            c.err("load", "missing [load] section (entry, arrivals, rate_per_s)");
            None
        }
        Some(l) => load(&mut c, l, &lookup),
    };
    let duration = match (duration_raw, &load) {
        (Some(d), _) => {
            c.positive("duration", d);
            d
        }
        (None, Some((_, stages_total))) if !stages_total.is_zero() => *stages_total,
        (None, _) => {
            if raw.load.is_some() {
                c.err(
                    "duration",
                    "missing: how long the arrival process runs, e.g. duration = \"1h\" (or give load.stages, or a stress max_per_s)",
                );
            }
            SimDuration::ZERO
        }
    };
    let window = raw.window.map(|d| d.0).unwrap_or(DEFAULT_WINDOW);
    c.positive("window", window);
    let drain = raw.drain.map(|d| d.0).unwrap_or(DEFAULT_DRAIN);

    let device = raw.device.as_ref().and_then(|d| device::device(&mut c, d, base));
    let has_device = raw.device.is_some();
    if has_device && ids.contains_key(DEVICE) {
        c.err("services", "a service is named \"device\", which faults and objectives use for the [device]: rename it");
    }

    let mut slos = Vec::new();
    let mut slo_names = BTreeMap::new();
    for (i, s) in raw.slo.iter().enumerate() {
        let p = format!("slo[{i}]");
        if slo_names.insert(s.name.as_str(), i).is_some() {
            c.err(format!("{p}.name"), format!("duplicate objective name \"{}\"", s.name));
        }
        if let Some(slo) = slo(&mut c, &p, s, has_device, &lookup) {
            slos.push(slo);
        }
    }

    let horizon = SimTime::ZERO + duration + drain;
    let mut chaos = Vec::new();
    let mut fault_dists = Vec::new();
    for (i, f) in raw.chaos.iter().enumerate() {
        let p = format!("chaos[{i}]");
        if let Some(fault) =
            chaos::fault(&mut c, &p, f, horizon, &raw.services, &services, has_device, &mut fault_dists)
        {
            chaos.push(fault);
        }
    }

    let experiment = experiment(&mut c, &raw, has_device, &lookup);
    let sup = raw.supervision.as_ref();
    let services_supervisor = supervisor(&mut c, "supervision.services", sup.and_then(|s| s.services.as_ref()));
    let root_supervisor = supervisor(&mut c, "supervision.root", sup.and_then(|s| s.root.as_ref()));
    let device_supervisor = supervisor(&mut c, "supervision.device", sup.and_then(|s| s.device.as_ref()));

    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    let (load, _) = load.expect("invariant: no problems means the load section was valid");
    let profile = profile(raw.load.as_ref().expect("invariant: load present"), &load, duration);
    Ok(Scenario {
        file: String::new(),
        name,
        seed: raw.seed,
        duration,
        window,
        drain,
        load: Load { profile, ..load },
        services: services.into_iter().map(|s| s.expect("invariant: valid services")).collect(),
        slos,
        chaos,
        fault_dists,
        services_supervisor,
        root_supervisor,
        device,
        device_supervisor,
        experiment,
    })
}

fn experiment(
    c: &mut Checker,
    raw: &RawScenario,
    has_device: bool,
    lookup: &Lookup<'_>,
) -> Option<crate::scenario::experiment::ExperimentSpec> {
    use crate::scenario::experiment::{ExperimentSpec, Metric, Probe};
    use crate::scenario::raw::MetricName as M;
    if raw.hypothesis.is_empty() {
        if raw.experiment.is_some() {
            c.err(
                "experiment",
                "an [experiment] without [[hypothesis]] probes checks nothing: add probes or remove it",
            );
        }
        return None;
    }
    let mut probes = Vec::new();
    let mut names = BTreeMap::new();
    for (i, h) in raw.hypothesis.iter().enumerate() {
        let p = format!("hypothesis[{i}]");
        if names.insert(h.name.as_str(), i).is_some() {
            c.err(format!("{p}.name"), format!("duplicate probe name \"{}\"", h.name));
        }
        let metric = match h.metric {
            M::Availability => Metric::Availability,
            M::ErrorRate => Metric::ErrorRate,
            M::P50Ms => Metric::P50Ms,
            M::P99Ms => Metric::P99Ms,
            M::MaxMs => Metric::MaxMs,
            M::ThroughputPerS => Metric::ThroughputPerS,
            M::Utilization => Metric::Utilization,
            M::QueueDepth => Metric::QueueDepth,
            M::AudioAvailability => Metric::AudioAvailability,
            M::XrunsPerHour => Metric::XrunsPerHour,
        };
        let t = target(c, format!("{p}.service"), &h.service, has_device, lookup);
        match t {
            Some(Target::Device) if !metric.audio() => {
                c.err(format!("{p}.metric"), "the device's metrics: audio_availability, xruns_per_hour")
            }
            Some(Target::Service(_)) if metric.audio() => {
                c.err(format!("{p}.service"), "audio metrics are about the device: service = \"device\"")
            }
            _ => {}
        }
        if h.min.is_none() && h.max.is_none() {
            c.err(format!("{p}.max"), "a probe needs a tolerance: min and/or max, e.g. max = 200.0");
        }
        for (k, v) in [("min", h.min), ("max", h.max)] {
            if v.is_some_and(|x| !x.is_finite()) {
                c.err(format!("{p}.{k}"), "must be a finite number");
            }
        }
        if let (Some(lo), Some(hi)) = (h.min, h.max) {
            if lo > hi {
                c.err(format!("{p}.min"), format!("min ({lo}) is above max ({hi}): nothing would be tolerated"));
            }
        }
        if let Some(a) = h.abort_after {
            c.positive(&format!("{p}.abort_after"), a.0);
        }
        if let Some(target) = t {
            probes.push(Probe {
                name: h.name.clone(),
                target,
                metric,
                min: h.min,
                max: h.max,
                abort_after: h.abort_after.map(|a| a.0),
            });
        }
    }
    let e = raw.experiment.as_ref();
    Some(ExperimentSpec {
        baseline: e.and_then(|e| e.baseline).map(|d| d.0).unwrap_or(SimDuration::from_secs(60)),
        recovery: e.and_then(|e| e.recovery).map(|d| d.0).unwrap_or(SimDuration::from_secs(60)),
        settle: e.and_then(|e| e.settle).map(|d| d.0).unwrap_or(SimDuration::ZERO),
        probes,
    })
}

fn supervisor(c: &mut Checker, p: &str, s: Option<&RawSupervisor>) -> SupervisorSpec {
    let d = SupervisorSpec::default();
    let Some(s) = s else { return d };
    let backoff = s.backoff.as_ref().map(|b| {
        let jitter = b.jitter.unwrap_or(0.0);
        c.fraction(&format!("{p}.backoff.jitter"), jitter);
        c.positive(&format!("{p}.backoff.min"), b.min.0);
        if b.max.0 < b.min.0 {
            c.err(format!("{p}.backoff.max"), "must not be shorter than `min`");
        }
        RestartBackoff { min: b.min.0, max: b.max.0, jitter }
    });
    let period = s.period.map(|x| x.0).unwrap_or(d.period);
    c.positive(&format!("{p}.period"), period);
    SupervisorSpec {
        strategy: match s.strategy {
            None | Some(StrategyName::OneForOne) => Strategy::OneForOne,
            Some(StrategyName::OneForAll) => Strategy::OneForAll,
            Some(StrategyName::RestForOne) => Strategy::RestForOne,
        },
        intensity: s.intensity.unwrap_or(d.intensity),
        period,
        backoff,
    }
}

/// Resolves `consumes`: the bus must be an event bus, and group names unique per bus.
fn consumers(c: &mut Checker, raw: &[RawService], services: &mut [Option<Service>], lookup: &Lookup<'_>) {
    let mut groups: BTreeMap<(ServiceId, String), usize> = BTreeMap::new();
    for (i, s) in raw.iter().enumerate() {
        let Some(cons) = &s.consumes else { continue };
        let p = format!("services[{i}].consumes");
        let Some(bus) = lookup(c, format!("{p}.bus"), &cons.bus) else { continue };
        if raw[bus.index()].kind != ServiceKindName::EventBus {
            c.err(format!("{p}.bus"), format!("\"{}\" is not an event bus (kind = \"event-bus\")", cons.bus));
            continue;
        }
        let group = cons.group.clone().unwrap_or_else(|| s.name.clone());
        if let Some(j) = groups.insert((bus, group.clone()), i) {
            c.err(
                format!("{p}.group"),
                format!(
                    "group \"{group}\" of \"{}\" already has a consumer (services[{j}]): one consumer per group",
                    cons.bus
                ),
            );
        }
        let commit_interval = cons.commit_interval.map(|d| d.0).unwrap_or(SimDuration::from_secs(5));
        c.positive(&format!("{p}.commit_interval"), commit_interval);
        if let Some(Some(svc)) = services.get_mut(i) {
            let at_most_once = cons.delivery == Some(DeliveryName::AtMostOnce);
            svc.consumes = Some(Consumes { bus, group, commit_interval, at_most_once });
        }
    }
}

fn known_list(services: &[RawService]) -> String {
    if services.is_empty() {
        return "none".to_string();
    }
    services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn service(c: &mut Checker, p: &str, i: usize, s: &RawService, calls: Vec<ServiceId>) -> Option<Service> {
    let kind = match (s.kind, s.partitions) {
        (ServiceKindName::Service, None) => ServiceKind::Service,
        (ServiceKindName::Service, Some(_)) => {
            c.err(format!("{p}.partitions"), "only an event bus has partitions (set kind = \"event-bus\")");
            ServiceKind::Service
        }
        (ServiceKindName::EventBus, Some(n)) => {
            if n == 0 {
                c.err(format!("{p}.partitions"), "must be at least 1");
            }
            ServiceKind::EventBus { partitions: n }
        }
        (ServiceKindName::EventBus, None) => {
            c.err(format!("{p}.partitions"), "missing: an event bus needs partitions, e.g. partitions = 8");
            ServiceKind::EventBus { partitions: 1 }
        }
    };
    let workers = match (kind, s.workers) {
        (ServiceKind::Service, Some(0)) => {
            c.err(format!("{p}.workers"), "must be at least 1");
            1
        }
        (ServiceKind::Service, Some(w)) => w,
        (ServiceKind::Service, None) => {
            c.err(format!("{p}.workers"), "missing: how many requests the service processes at once, e.g. workers = 8");
            1
        }
        (ServiceKind::EventBus { .. }, Some(_)) => {
            c.err(format!("{p}.workers"), "an event bus appends without a worker limit: remove `workers`");
            1
        }
        (ServiceKind::EventBus { .. }, None) => 1,
    };
    if let ServiceKind::EventBus { .. } = kind {
        for (key, present) in [
            ("calls", !s.calls.is_empty()),
            ("consumes", s.consumes.is_some()),
            ("autoscale", s.autoscale.is_some()),
            ("rate_limit", s.rate_limit.is_some()),
            ("error_rate", s.error_rate.is_some()),
        ] {
            if present {
                c.err(format!("{p}.{key}"), "an event bus does not take this");
            }
        }
    }
    let error_rate = s.error_rate.unwrap_or(0.0);
    c.fraction(&format!("{p}.error_rate"), error_rate);
    if let Some(t) = s.timeout {
        c.positive(&format!("{p}.timeout"), t.0);
    }
    let latency = dist(c, &format!("{p}.latency"), &s.latency);
    let breaker = s.breaker.as_ref().map(|b| resilience::breaker(c, &format!("{p}.breaker"), b));
    let retry = s.retry.as_ref().map(|r| resilience::retry(c, &format!("{p}.retry"), r));
    let bulkhead = s.bulkhead.as_ref().map(|b| resilience::bulkhead(c, &format!("{p}.bulkhead"), b));
    let rate_limit = s.rate_limit.as_ref().map(|r| resilience::rate_limit(c, &format!("{p}.rate_limit"), r));
    let health = s.health.as_ref().map(|h| resilience::health(c, &format!("{p}.health"), h));
    let autoscale = s.autoscale.as_ref().map(|a| resilience::autoscale(c, &format!("{p}.autoscale"), a, workers));
    Some(Service {
        id: ServiceId(i as u32),
        name: s.name.clone(),
        kind,
        workers,
        consumes: None,
        queue: s.queue.unwrap_or(DEFAULT_QUEUE),
        latency: latency?,
        error_rate,
        calls,
        timeout: s.timeout.map(|d| d.0),
        restart_delay: s.restart_delay.map(|d| d.0).unwrap_or(DEFAULT_RESTART_DELAY),
        breaker,
        retry,
        bulkhead,
        rate_limit,
        restart: match s.restart {
            RestartName::Permanent => RestartType::Permanent,
            RestartName::Transient => RestartType::Transient,
            RestartName::Temporary => RestartType::Temporary,
        },
        optional: s.optional.unwrap_or(false),
        health,
        autoscale,
    })
}

/// Validates a distribution at TOML path `p`.
pub(super) fn dist(c: &mut Checker, p: &str, d: &RawDist) -> Option<Dist> {
    let r = match d {
        RawDist::Constant { value } => Ok(Dist::constant(value.0)),
        RawDist::Uniform { min, max } => Dist::uniform(min.0, max.0),
        RawDist::Exponential { mean } => Dist::exponential(mean.0),
        RawDist::Lognormal { median, p99 } => Dist::lognormal(median.0, p99.0),
        RawDist::Normal { mean, stddev } => Ok(Dist::normal(mean.0, stddev.0)),
    };
    r.map_err(|e| c.err(p, e.to_string())).ok()
}

fn check_cycles(c: &mut Checker, raw: &[RawService], services: &[Option<Service>]) {
    // Depth-first search over `calls`; report each cycle once, by its lowest-index member.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let n = raw.len();
    let mut mark = vec![Mark::New; n];
    let calls = |i: usize| -> Vec<usize> {
        services
            .get(i)
            .and_then(|s| s.as_ref())
            .map(|s| s.calls.iter().map(|x| x.index()).collect())
            .unwrap_or_default()
    };
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let out = calls(node);
            if *next < out.len() {
                let child = out[*next];
                *next += 1;
                match mark[child] {
                    Mark::New => {
                        mark[child] = Mark::Active;
                        stack.push((child, 0));
                    }
                    Mark::Active => {
                        let from =
                            stack.iter().position(|(x, _)| *x == child).expect("invariant: active node on stack");
                        let mut path: Vec<&str> = stack[from..].iter().map(|(x, _)| raw[*x].name.as_str()).collect();
                        path.push(raw[child].name.as_str());
                        c.err(
                            format!("services[{node}].calls"),
                            format!(
                                "cycle in calls: {} (synchronous calls must form a tree or DAG)",
                                path.join(" -> ")
                            ),
                        );
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
}

type Lookup<'a> = dyn Fn(&mut Checker, String, &str) -> Option<ServiceId> + 'a;

/// Checks the load section; returns it (profile still empty) and the length its stages or stress steps
/// imply (zero when none).
fn load(c: &mut Checker, l: &RawLoad, lookup: &Lookup<'_>) -> Option<(Load, SimDuration)> {
    let mix: Vec<(ServiceId, f64)> = if l.mix.is_empty() {
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
    };
    let closed = l.model == LoadModel::Closed;
    if let Some(0) = l.users {
        c.err("load.users", "must be at least 1");
    }
    if closed && l.users.is_none() {
        c.err("load.users", "missing: a closed model is a number of users, e.g. users = 50");
    }
    let think_time = l.think_time.as_ref().and_then(|d| dist(c, "load.think_time", d));
    let mut implied = SimDuration::ZERO;
    let stress = match &l.stress {
        Some(st) => {
            for (key, present) in [("rate_per_s", l.rate_per_s.is_some()), ("stages", !l.stages.is_empty())] {
                if present {
                    c.err(
                        format!("load.{key}"),
                        "a stress test sets its own rates (start_per_s, step_per_s): remove it",
                    );
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
                implied = SimDuration::from_nanos(stress.step.as_nanos().saturating_mul(steps as u64));
            }
            Some(stress)
        }
        None if closed => {
            for (key, present) in [("rate_per_s", l.rate_per_s.is_some()), ("stages", !l.stages.is_empty())] {
                if present {
                    c.err(format!("load.{key}"), "a closed model has no arrival rate: its users set the pace");
                }
            }
            None
        }
        None => {
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
            None
        }
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

/// Builds the rate profile over `[0, duration)` from a checked load section.
fn profile(l: &RawLoad, load: &Load, duration: SimDuration) -> RateProfile {
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

/// Resolves an objective's or a probe's target: "device" is the audio device when there is one.
fn target(c: &mut Checker, at: String, name: &str, has_device: bool, lookup: &Lookup<'_>) -> Option<Target> {
    if name == DEVICE && has_device {
        return Some(Target::Device);
    }
    if name == DEVICE {
        c.err(at, "the target \"device\" needs a [device] section");
        return None;
    }
    lookup(c, at, name).map(Target::Service)
}

/// The name by which faults and objectives refer to the audio device.
pub const DEVICE: &str = "device";

fn slo(c: &mut Checker, p: &str, s: &RawSlo, has_device: bool, lookup: &Lookup<'_>) -> Option<Slo> {
    let target = target(c, format!("{p}.service"), &s.service, has_device, lookup);
    let audio = matches!(s.sli, SliKind::AudioAvailability | SliKind::XrunsPerHour | SliKind::MaxDropout);
    match target {
        Some(Target::Device) if !audio => c.err(
            format!("{p}.sli"),
            "the device has audio indicators: audio-availability, xruns-per-hour, max-dropout",
        ),
        Some(Target::Service(_)) if audio => {
            c.err(format!("{p}.service"), "audio indicators are about the device: service = \"device\"")
        }
        _ => {}
    }
    let fraction = |c: &mut Checker| match s.objective {
        Some(o) if o > 0.0 && o <= 1.0 => Some(o),
        Some(o) => {
            c.err(
                format!("{p}.objective"),
                format!("{o} is not an objective: expected a fraction in (0, 1], e.g. 0.999"),
            );
            None
        }
        None => {
            c.err(format!("{p}.objective"), "missing: the fraction to achieve, e.g. objective = 0.999");
            None
        }
    };
    let no_threshold = |c: &mut Checker| {
        if s.threshold.is_some() {
            c.err(format!("{p}.threshold"), "only latency and max-dropout objectives take a threshold");
        }
    };
    let need_threshold = |c: &mut Checker, example: &str| match s.threshold {
        Some(t) => c.positive(&format!("{p}.threshold"), t.0).then_some(t.0),
        None => {
            c.err(
                format!("{p}.threshold"),
                format!("missing: this objective needs a threshold, e.g. threshold = \"{example}\""),
            );
            None
        }
    };
    let (indicator, objective) = match s.sli {
        SliKind::Availability => {
            no_threshold(c);
            (Some(Indicator::Availability), fraction(c))
        }
        SliKind::AudioAvailability => {
            no_threshold(c);
            (Some(Indicator::AudioAvailability), fraction(c))
        }
        SliKind::Latency => {
            let t = need_threshold(c, "200ms");
            (t.map(|threshold| Indicator::Latency { threshold }), fraction(c))
        }
        SliKind::XrunsPerHour => {
            no_threshold(c);
            let o = match s.objective {
                Some(o) if o >= 0.0 && o.is_finite() => Some(o),
                Some(o) => {
                    c.err(format!("{p}.objective"), format!("{o}: the most xruns per hour allowed, a number >= 0"));
                    None
                }
                None => {
                    c.err(format!("{p}.objective"), "missing: the most xruns per hour allowed, e.g. objective = 1");
                    None
                }
            };
            (Some(Indicator::XrunsPerHour), o)
        }
        SliKind::MaxDropout => {
            if s.objective.is_some() {
                c.err(
                    format!("{p}.objective"),
                    "max-dropout takes a `threshold` (the longest dropout allowed), not an objective",
                );
            }
            let t = need_threshold(c, "50ms");
            (t.map(|threshold| Indicator::MaxDropout { threshold }), Some(0.0))
        }
    };
    let period = s.period.map(|d| d.0).unwrap_or(crate::slo::DEFAULT_PERIOD);
    c.positive(&format!("{p}.period"), period);
    let alerts = match &s.alerts {
        None => crate::slo::default_rules(),
        Some(v) => v
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let at = format!("{p}.alerts[{i}]");
                if a.short.0 > a.long.0 || a.short.0.is_zero() {
                    c.err(at.clone(), "expected 0 < short <= long");
                }
                if !(a.burn_rate > 0.0 && a.burn_rate.is_finite()) {
                    c.err(format!("{at}.burn_rate"), format!("{}: expected a number > 0", a.burn_rate));
                }
                crate::slo::AlertRule {
                    long: a.long.0,
                    short: a.short.0,
                    burn_rate: a.burn_rate,
                    severity: match a.severity {
                        Some(crate::scenario::raw::SeverityName::Ticket) => crate::slo::Severity::Ticket,
                        _ => crate::slo::Severity::Page,
                    },
                }
            })
            .collect(),
    };
    Some(Slo { name: s.name.clone(), target: target?, indicator: indicator?, objective: objective?, period, alerts })
}

#[cfg(test)]
mod tests {
    use super::*;

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
                .map(|(d, t)| super::super::raw::RawStage {
                    duration: super::super::raw::Dur(SimDuration::from_secs(*d)),
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
