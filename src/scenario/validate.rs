//! Semantic checks: from [`RawScenario`] to [`Scenario`], collecting every problem with its TOML path.

use std::collections::BTreeMap;
use std::path::Path;

use super::raw::{
    DeliveryName, RawDist, RawScenario, RawService, RawSlo, RawSupervisor, RestartName, ServiceKindName, StrategyName,
};
use super::{Consumes, Load, Problem, Scenario, Service, ServiceId, ServiceKind, Slo, Target};
use crate::dist::Dist;
use crate::model::summary::Assignor;
use crate::sim::{SimDuration, SimTime};
use crate::supervision::{RestartBackoff, RestartType, Strategy, SupervisorSpec};

/// Default metrics window.
pub const DEFAULT_WINDOW: SimDuration = SimDuration::from_secs(5);
/// Default drain: how long the run goes on after the last arrival, for answers still in flight.
pub const DEFAULT_DRAIN: SimDuration = SimDuration::from_secs(30);
/// Default queue capacity.
pub const DEFAULT_QUEUE: u32 = 10_000;
/// Default time a crashed service stays down before its supervisor restarts it: none, as in OTP (a
/// supervisor restarts a child at once).
pub const DEFAULT_RESTART_DELAY: SimDuration = SimDuration::ZERO;

mod chaos;
mod device;
mod empirical;
mod gate;
mod load;
mod resilience;
mod slo;

use load::{load, profile};
use slo::{slo, target};

pub(super) struct Checker {
    problems: Vec<Problem>,
    /// The scenario file's directory: the base of relative paths.
    base: std::path::PathBuf,
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
    let mut c = Checker { problems: Vec::new(), base: base.to_path_buf() };

    let name = raw.name.clone().unwrap_or_else(|| stem.to_string());
    if name.trim().is_empty() {
        c.err("name", "must not be empty");
    }

    // Services first: everything else refers to them by name.
    let ids = service_ids(&mut c, &raw.services);
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

    let services = graph(&mut c, &raw.services, &lookup);

    let load = match &raw.load {
        None => {
            c.err("load", "missing [load] section (entry, arrivals, rate_per_s)");
            None
        }
        Some(l) => load(&mut c, l, &lookup),
    };
    let duration = duration(&mut c, &raw, load.as_ref().map(|l| l.1));
    let window = raw.window.map(|d| d.0).unwrap_or(DEFAULT_WINDOW);
    c.positive("window", window);
    let drain = raw.drain.map(|d| d.0).unwrap_or(DEFAULT_DRAIN);

    let device = raw.device.as_ref().and_then(|d| device::device(&mut c, d, base));
    let has_device = raw.device.is_some();
    if has_device && ids.contains_key(DEVICE) {
        c.err("services", "a service is named \"device\", which faults and objectives use for the [device]: rename it");
    }

    let slos = slos(&mut c, &raw.slo, has_device, &lookup);

    let horizon = SimTime::ZERO + duration + drain;
    let mut fault_dists = Vec::new();
    let chaos: Vec<_> = raw
        .chaos
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            chaos::fault(
                &mut c,
                &format!("chaos[{i}]"),
                f,
                horizon,
                &raw.services,
                &services,
                has_device,
                &mut fault_dists,
            )
        })
        .collect();

    let experiment = experiment(&mut c, &raw, has_device, &lookup);
    let sup = raw.supervision.as_ref();
    let services_supervisor = supervisor(&mut c, "supervision.services", sup.and_then(|s| s.services.as_ref()));
    let root_supervisor = supervisor(&mut c, "supervision.root", sup.and_then(|s| s.root.as_ref()));
    let device_supervisor = supervisor(&mut c, "supervision.device", sup.and_then(|s| s.device.as_ref()));
    let gate = raw.gate.clone().unwrap_or_default();
    gate::check(&mut c, &gate);

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
        gate,
    })
}

/// The id of each service by name (its position); empty and duplicate names are problems.
fn service_ids<'a>(c: &mut Checker, raw: &'a [RawService]) -> BTreeMap<&'a str, ServiceId> {
    let mut ids: BTreeMap<&str, ServiceId> = BTreeMap::new();
    if raw.is_empty() {
        c.err("services", "no services: add at least one [[services]] table");
    }
    for (i, s) in raw.iter().enumerate() {
        if s.name.trim().is_empty() {
            c.err(format!("services[{i}].name"), "must not be empty");
        } else if ids.insert(s.name.as_str(), ServiceId(i as u32)).is_some() {
            c.err(format!("services[{i}].name"), format!("duplicate service name \"{}\"", s.name));
        }
    }
    ids
}

/// Every service with its calls, checked for cycles, and the consumers of each event bus.
fn graph(c: &mut Checker, raw: &[RawService], lookup: &Lookup<'_>) -> Vec<Option<Service>> {
    let mut services = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
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
                lookup(c, at, callee)
            })
            .collect();
        services.push(service(c, &p, i, s, calls));
    }
    check_cycles(c, raw, &services);
    consumers(c, raw, &mut services, lookup);

    services
}

/// How long the arrival process runs: `duration`, or what the stages or stress steps imply.
fn duration(c: &mut Checker, raw: &RawScenario, implied: Option<SimDuration>) -> SimDuration {
    match (raw.duration.map(|d| d.0), implied) {
        (Some(d), _) => {
            c.positive("duration", d);
            d
        }
        (None, Some(implied)) if !implied.is_zero() => implied,
        (None, _) => {
            if raw.load.is_some() {
                c.err(
                    "duration",
                    "missing: how long the arrival process runs, e.g. duration = \"1h\" (or give load.stages, or a stress max_per_s)",
                );
            }
            SimDuration::ZERO
        }
    }
}

/// The objectives; their names are unique.
fn slos(c: &mut Checker, raw: &[RawSlo], has_device: bool, lookup: &Lookup<'_>) -> Vec<Slo> {
    let mut slos = Vec::new();
    let mut slo_names = BTreeMap::new();
    for (i, s) in raw.iter().enumerate() {
        let p = format!("slo[{i}]");
        if slo_names.insert(s.name.as_str(), i).is_some() {
            c.err(format!("{p}.name"), format!("duplicate objective name \"{}\"", s.name));
        }
        if let Some(slo) = slo(c, &p, s, has_device, lookup) {
            slos.push(slo);
        }
    }

    slos
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

/// Resolves `consumes`: the bus must be an event bus; several services may share a group, and then they
/// must agree on its assignment and session timeout.
fn consumers(c: &mut Checker, raw: &[RawService], services: &mut [Option<Service>], lookup: &Lookup<'_>) {
    // The first member of each group, and its group settings.
    let mut groups: BTreeMap<(ServiceId, String), (usize, Assignor, SimDuration)> = BTreeMap::new();
    for (i, s) in raw.iter().enumerate() {
        let Some(cons) = &s.consumes else { continue };
        let p = format!("services[{i}].consumes");
        let Some(bus) = lookup(c, format!("{p}.bus"), &cons.bus) else { continue };
        if raw[bus.index()].kind != ServiceKindName::EventBus {
            c.err(format!("{p}.bus"), format!("\"{}\" is not an event bus (kind = \"event-bus\")", cons.bus));
            continue;
        }
        let group = cons.group.clone().unwrap_or_else(|| s.name.clone());
        let assignor = cons.assignment.unwrap_or_default();
        let session_timeout = cons.session_timeout.map(|d| d.0).unwrap_or(SimDuration::from_secs(45));
        c.positive(&format!("{p}.session_timeout"), session_timeout);
        match groups.get(&(bus, group.clone())) {
            Some(&(j, a, t)) => {
                if a != assignor {
                    c.err(
                        format!("{p}.assignment"),
                        format!("\"{assignor}\", but services[{j}] of the same group \"{group}\" says \"{a}\": a group has one assignment"),
                    );
                }
                if t != session_timeout {
                    c.err(
                        format!("{p}.session_timeout"),
                        format!("differs from services[{j}]'s in the same group \"{group}\": a group has one session timeout"),
                    );
                }
            }
            None => {
                groups.insert((bus, group.clone()), (i, assignor, session_timeout));
            }
        }
        let commit_interval = cons.commit_interval.map(|d| d.0).unwrap_or(SimDuration::from_secs(5));
        c.positive(&format!("{p}.commit_interval"), commit_interval);
        if cons.max_attempts == Some(0) {
            c.err(format!("{p}.max_attempts"), "must be at least 1");
        }
        let dead_letter = cons.dead_letter.as_ref().and_then(|name| {
            let dlq = lookup(c, format!("{p}.dead_letter"), name)?;
            if raw[dlq.index()].kind != ServiceKindName::EventBus {
                c.err(format!("{p}.dead_letter"), format!("\"{name}\" is not an event bus (kind = \"event-bus\")"));
                return None;
            }
            if dlq == bus {
                c.err(format!("{p}.dead_letter"), "the bus it consumes from: a message would come back to fail again");
                return None;
            }
            Some(dlq)
        });
        if dead_letter.is_some() && cons.max_attempts.is_none() {
            c.err(
                format!("{p}.max_attempts"),
                "missing: how many failures send a message to the dead-letter bus, e.g. max_attempts = 5",
            );
        }
        if let Some(Some(svc)) = services.get_mut(i) {
            let at_most_once = cons.delivery == Some(DeliveryName::AtMostOnce);
            svc.consumes = Some(Consumes {
                bus,
                group,
                commit_interval,
                at_most_once,
                assignor,
                session_timeout,
                max_attempts: cons.max_attempts,
                dead_letter,
            });
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
            ("startup", s.startup.is_some()),
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
    let health = s.health.as_ref().map(|h| resilience::probes(c, &format!("{p}.health"), h)).unwrap_or_default();
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
        startup: s.startup.map(|d| d.0).unwrap_or(SimDuration::ZERO),
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
        RawDist::Empirical { file, column, unit } => {
            return match empirical::load(&c.base, file, column.as_deref(), *unit) {
                Ok(e) => Some(Dist::Empirical(std::sync::Arc::new(e))),
                Err(why) => {
                    c.err(format!("{p}.file"), why);
                    None
                }
            };
        }
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

/// The name by which faults and objectives refer to the audio device.
pub const DEVICE: &str = "device";
