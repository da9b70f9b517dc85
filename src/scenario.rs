//! Scenario files: parse (serde, [`raw`]) then validate ([`validate`]) into the checked types here.
//!
//! Errors name the file and either the line and column (syntax, unknown keys, wrong types) or the TOML
//! path of the offending value (semantic problems), with a hint where one helps.

pub mod chaos;
pub mod device;
pub mod experiment;
pub mod raw;
pub mod validate;

use std::fmt;
use std::path::Path;

use crate::dist::Dist;
use crate::resilience::{AutoscaleConfig, BreakerConfig, BulkheadConfig, HealthConfig, RateLimitConfig, RetryConfig};
use crate::sim::{SimDuration, SimTime};
use crate::supervision::{RestartType, SupervisorSpec};

pub use crate::model::summary::FaultKind;
pub use raw::{Arrivals, RawScenario};

/// Index of a service in [`Scenario::services`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(pub u32);

impl ServiceId {
    /// The index as a `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file it was read from, as given (`"<inline>"`-like labels for text parsed from memory).
    pub file: String,
    /// Scenario name (default: file stem).
    pub name: String,
    /// Master seed.
    pub seed: u64,
    /// Length of the arrival process.
    pub duration: SimDuration,
    /// Metrics window.
    pub window: SimDuration,
    /// Time allowed after arrivals end for in-flight work.
    pub drain: SimDuration,
    /// The load generator.
    pub load: Load,
    /// Services, in file order; `ServiceId(i)` is `services[i]`.
    pub services: Vec<Service>,
    /// Objectives, in file order.
    pub slos: Vec<Slo>,
    /// Fault specifications, in file order (expanded into [`Fault`]s per run).
    pub chaos: Vec<chaos::FaultSpec>,
    /// Distributions of latency faults (`FaultEffect::Latency::dist` indexes them).
    pub fault_dists: Vec<Dist>,
    /// Supervision of the services subtree.
    pub services_supervisor: SupervisorSpec,
    /// Supervision of the whole tree (services and device subtrees).
    pub root_supervisor: SupervisorSpec,
    /// The audio path, if any.
    pub device: Option<device::Device>,
    /// Supervision of the device subtree.
    pub device_supervisor: SupervisorSpec,
    /// The steady-state hypothesis, if any probe is defined.
    pub experiment: Option<experiment::ExperimentSpec>,
    /// How `compare` judges a run of it as a candidate (`[gate]`).
    pub gate: crate::model::compare::Gate,
}

/// A validated service.
#[derive(Clone, Debug)]
pub struct Service {
    /// Its position in `services`.
    pub id: ServiceId,
    /// Unique name.
    pub name: String,
    /// Service or event bus.
    pub kind: ServiceKind,
    /// Workers (>= 1).
    pub workers: u32,
    /// Consumer group membership.
    pub consumes: Option<Consumes>,
    /// Maximum waiting requests.
    pub queue: u32,
    /// Own processing time.
    pub latency: Dist,
    /// Probability of failing a request after processing.
    pub error_rate: f64,
    /// Services called in order after processing.
    pub calls: Vec<ServiceId>,
    /// How long callers wait for this service (`None`: without limit).
    pub timeout: Option<SimDuration>,
    /// Downtime after a crash before the supervisor restarts it.
    pub restart_delay: SimDuration,
    /// Breaker applied by callers.
    pub breaker: Option<BreakerConfig>,
    /// Retry policy applied by callers.
    pub retry: Option<RetryConfig>,
    /// Bulkhead applied by callers.
    pub bulkhead: Option<BulkheadConfig>,
    /// Ingress rate limiter.
    pub rate_limit: Option<RateLimitConfig>,
    /// Restart type under the services supervisor.
    pub restart: RestartType,
    /// Callers fall back (carry on) when a call to this service fails.
    pub optional: bool,
    /// Health probes, at most one of each kind.
    pub health: Vec<HealthConfig>,
    /// Time from a (re)start to serving: requests are refused and probes unanswered until then.
    pub startup: SimDuration,
    /// Autoscaler.
    pub autoscale: Option<AutoscaleConfig>,
}

/// What a service is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// A request/response service.
    Service,
    /// A partitioned log.
    EventBus {
        /// Number of partitions of the log.
        partitions: u32,
    },
}

/// A service's membership of a consumer group.
#[derive(Clone, Debug, PartialEq)]
pub struct Consumes {
    /// The event bus it consumes from.
    pub bus: ServiceId,
    /// Group name.
    pub group: String,
    /// How often the consumer commits its positions.
    pub commit_interval: SimDuration,
    /// At most once (advance on receipt) rather than at least once (advance after processing).
    pub at_most_once: bool,
    /// How the group divides its partitions (the same for every member).
    pub assignor: crate::model::summary::Assignor,
    /// A member that stops heartbeating is removed after this (the same for every member).
    pub session_timeout: SimDuration,
    /// Failures of one message after which it goes to `dead_letter` (`None`: retried forever).
    pub max_attempts: Option<u32>,
    /// The dead-letter bus.
    pub dead_letter: Option<ServiceId>,
}

/// A validated load generator.
#[derive(Clone, Debug)]
pub struct Load {
    /// The entry service (the first of the mix).
    pub entry: ServiceId,
    /// The request mix: entries and their weights (one entry of weight 1 without a mix).
    pub mix: Vec<(ServiceId, f64)>,
    /// Arrival process.
    pub arrivals: Arrivals,
    /// Rate over time (open model).
    pub profile: RateProfile,
    /// Virtual users (closed model population, or the open model's pool).
    pub users: Option<u32>,
    /// Think time between an answer and the next request of a user.
    pub think_time: Option<Dist>,
    /// Closed model.
    pub closed: bool,
    /// Stress test.
    pub stress: Option<Stress>,
}

/// A validated stress test: constant steps of rising rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Stress {
    /// First step's rate [1/s].
    pub start_per_s: f64,
    /// Increment [1/s].
    pub step_per_s: f64,
    /// Step length.
    pub step: SimDuration,
    /// Highest rate.
    pub max_per_s: Option<f64>,
    /// Stop threshold of a step's error ratio.
    pub stop_error_rate: f64,
}

impl Stress {
    /// The rate of step `k`.
    pub fn rate(&self, k: usize) -> f64 {
        self.start_per_s + self.step_per_s * k as f64
    }

    /// The number of steps within `duration` (and `max_per_s`).
    pub fn steps(&self, duration: SimDuration) -> usize {
        let by_time = (duration.as_nanos() / self.step.as_nanos().max(1)) as usize;
        match self.max_per_s {
            Some(m) if self.step_per_s > 0.0 => {
                by_time.min(((m - self.start_per_s) / self.step_per_s).floor() as usize + 1)
            }
            _ => by_time,
        }
    }
}

/// A piecewise-linear arrival rate over `[0, duration)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RateProfile {
    /// Segments in time order, contiguous, covering `[0, duration)`.
    pub segments: Vec<Segment>,
}

/// A stretch of time over which the rate moves linearly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// Start [s].
    pub start_s: f64,
    /// End [s].
    pub end_s: f64,
    /// Rate at the start [1/s].
    pub from_per_s: f64,
    /// Rate at the end [1/s].
    pub to_per_s: f64,
}

impl RateProfile {
    /// The rate at `t_s` seconds [1/s] (0 outside the profile).
    pub fn rate_at(&self, t_s: f64) -> f64 {
        self.segments
            .iter()
            .find(|s| t_s >= s.start_s && t_s < s.end_s)
            .map(|s| s.from_per_s + (s.to_per_s - s.from_per_s) * (t_s - s.start_s) / (s.end_s - s.start_s))
            .unwrap_or(0.0)
    }

    /// The profile over `[0, duration)`: cut short (the rate at the cut interpolated), or extended at the
    /// last rate.
    pub fn cut(&self, duration: SimDuration) -> RateProfile {
        let end = duration.as_secs_f64();
        let mut segments: Vec<Segment> = Vec::new();
        for s in &self.segments {
            if s.start_s >= end {
                break;
            }
            let mut s = *s;
            if s.end_s > end {
                s.to_per_s = s.from_per_s + (s.to_per_s - s.from_per_s) * (end - s.start_s) / (s.end_s - s.start_s);
                s.end_s = end;
            }
            segments.push(s);
        }
        let reached = segments.last().map(|s| (s.end_s, s.to_per_s));
        match reached {
            Some((t, r)) if t < end => segments.push(Segment { start_s: t, end_s: end, from_per_s: r, to_per_s: r }),
            _ => {}
        }
        RateProfile { segments }
    }

    /// Expected number of arrivals over the whole profile.
    pub fn expected_arrivals(&self) -> f64 {
        self.segments.iter().map(|s| (s.from_per_s + s.to_per_s) / 2.0 * (s.end_s - s.start_s)).sum()
    }
}

/// A validated objective.
#[derive(Clone, Debug)]
pub struct Slo {
    /// The objective's name (unique in the scenario).
    pub name: String,
    /// What it is about.
    pub target: Target,
    /// What is measured.
    pub indicator: Indicator,
    /// Fraction to achieve (0..1); for xruns-per-hour the maximum rate; unused for max-dropout.
    pub objective: f64,
    /// The error budget's period.
    pub period: SimDuration,
    /// Burn-rate alert rules.
    pub alerts: Vec<crate::slo::AlertRule>,
    /// What the alert windows see of the time before the run.
    pub history: crate::slo::History,
}

/// A service level indicator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Indicator {
    /// ok / total.
    Availability,
    /// (ok within threshold) / total.
    Latency {
        /// A success counts as good when it answered within this.
        threshold: SimDuration,
    },
    /// Audio periods delivered on time / periods.
    AudioAvailability,
    /// Xruns per simulated hour, at most the objective.
    XrunsPerHour,
    /// The longest dropout, at most the threshold.
    MaxDropout {
        /// The longest dropout allowed.
        threshold: SimDuration,
    },
}

/// What a fault or an objective is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A service.
    Service(ServiceId),
    /// The audio device (`"device"` in scenario files).
    Device,
    /// The load generator (`"load"`, for load spikes).
    Load,
}

/// One occurrence of a fault in a run (expanded from a [`chaos::FaultSpec`]).
#[derive(Clone, Debug)]
pub struct Fault {
    /// Label for reports: the `[[chaos]]` entry's name, with ` #N` for the N-th occurrence of a repeated fault.
    pub name: String,
    /// The `[[chaos]]` entry's name.
    pub chaos: String,
    /// What it hits (one of the entry's matched targets).
    pub target: Target,
    /// Start.
    pub at: SimTime,
    /// How long it lasts (for kill: how long the target stays down).
    pub duration: SimDuration,
    /// What it does.
    pub effect: FaultEffect,
}

/// What a fault does to its target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultEffect {
    /// Crash the service.
    Kill,
    /// Stop the service normally.
    Stop,
    /// Make the service's next request handler panic.
    Panic,
    /// Unplug the device.
    DeviceDisconnect,
    /// Random xruns.
    XrunStorm {
        /// Probability per period.
        rate: f64,
    },
    /// Longer block processing.
    CpuStall {
        /// Added processing time per block.
        add: SimDuration,
    },
    /// Host and device at different rates.
    SampleRateMismatch {
        /// The host's rate [Hz].
        host_rate_hz: u32,
    },
    /// Device clock error.
    ClockDrift {
        /// Parts per million (positive: fast).
        ppm: f64,
    },
    /// The computer captures zeros.
    Silence,
    /// Extra input gain.
    Clipping {
        /// Gain [dB].
        gain_db: f64,
    },
    /// Add latency to processing.
    Latency {
        /// Added time per request (constant part).
        add: SimDuration,
        /// Index into [`Scenario::fault_dists`] of a distribution drawn per request, if any.
        dist: Option<u32>,
        /// Uniform random extra in [0, jitter] per request.
        jitter: SimDuration,
    },
    /// Stop answering until the fault ends.
    Hang,
    /// Calls from the target to `to` are lost.
    Partition {
        /// The other side.
        to: ServiceId,
    },
    /// Slower workers (service cpu-stall).
    Slowdown {
        /// Processing time multiplier.
        factor: f64,
    },
    /// More arrivals.
    LoadSpike {
        /// Rate multiplier.
        multiplier: f64,
    },
    /// Fail requests with this probability.
    Errors {
        /// Probability 0..1.
        rate: f64,
    },
}

impl FaultEffect {
    /// The kind, as in scenario files and events.
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultEffect::Kill => FaultKind::Kill,
            FaultEffect::Stop => FaultKind::Stop,
            FaultEffect::Panic => FaultKind::Panic,
            FaultEffect::DeviceDisconnect => FaultKind::DeviceDisconnect,
            FaultEffect::XrunStorm { .. } => FaultKind::XrunStorm,
            FaultEffect::CpuStall { .. } => FaultKind::CpuStall,
            FaultEffect::SampleRateMismatch { .. } => FaultKind::SampleRateMismatch,
            FaultEffect::ClockDrift { .. } => FaultKind::ClockDrift,
            FaultEffect::Silence => FaultKind::Silence,
            FaultEffect::Clipping { .. } => FaultKind::Clipping,
            FaultEffect::Latency { .. } => FaultKind::Latency,
            FaultEffect::Hang => FaultKind::Hang,
            FaultEffect::Partition { .. } => FaultKind::Partition,
            FaultEffect::Slowdown { .. } => FaultKind::CpuStall,
            FaultEffect::LoadSpike { .. } => FaultKind::LoadSpike,
            FaultEffect::Errors { .. } => FaultKind::Errors,
        }
    }

    /// A short human description of the parameters.
    pub fn describe(&self) -> String {
        match self {
            FaultEffect::Kill => "kill".to_string(),
            FaultEffect::Stop => "stop".to_string(),
            FaultEffect::Panic => "panic".to_string(),
            FaultEffect::DeviceDisconnect => "device disconnected".to_string(),
            FaultEffect::XrunStorm { rate } => format!("xrun storm, rate {rate}"),
            FaultEffect::CpuStall { add } => format!("cpu stall +{add} per block"),
            FaultEffect::SampleRateMismatch { host_rate_hz } => format!("host at {host_rate_hz} Hz"),
            FaultEffect::ClockDrift { ppm } => format!("clock drift {ppm} ppm"),
            FaultEffect::Silence => "captured silence".to_string(),
            FaultEffect::Clipping { gain_db } => format!("input gain +{gain_db} dB"),
            FaultEffect::Latency { add, dist, jitter } => {
                let mut s = format!("latency +{add}");
                if dist.is_some() {
                    s.push_str(" + a drawn delay");
                }
                if !jitter.is_zero() {
                    s.push_str(&format!(" + up to {jitter} jitter"));
                }
                s
            }
            FaultEffect::Hang => "hang".to_string(),
            FaultEffect::Partition { to } => format!("partition towards service #{}", to.0),
            FaultEffect::Slowdown { factor } => format!("workers {factor}x slower"),
            FaultEffect::LoadSpike { multiplier } => format!("arrivals x{multiplier}"),
            FaultEffect::Errors { rate } => format!("errors rate {rate}"),
        }
    }
}

/// A semantic problem in a scenario, located by its TOML path.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// TOML path of the offending value, e.g. `services[1].calls[0]`.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Why a scenario file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario `{path}`: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Syntax error, unknown key or wrong type.
    #[error("{path}:{line}:{column}: {message}\n{snippet}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// The parser's message.
        message: String,
        /// The offending line with a caret.
        snippet: String,
    },
    /// Valid TOML, invalid scenario.
    #[error("{path}: {}", format_problems(.problems))]
    Invalid {
        /// The file.
        path: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn format_problems(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut s = format!("{} problems", many.len());
            for p in many {
                s.push_str("\n  ");
                s.push_str(&p.to_string());
            }
            s
        }
    }
}

impl Scenario {
    /// The instant a run of this scenario stops: its duration and the drain after it.
    pub fn stop_at(&self) -> SimTime {
        SimTime::ZERO + self.duration + self.drain
    }

    /// Reads, parses and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| ScenarioError::Read { path: shown.clone(), source })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
        Scenario::from_toml(&text, &shown, &stem)
    }

    /// Parses and validates scenario text; `path` names it in messages and is the base of relative paths
    /// (WAV files); `stem` is the default name.
    pub fn from_toml(text: &str, path: &str, stem: &str) -> Result<Scenario, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| parse_error(text, path, &e))?;
        let base = Path::new(path).parent().unwrap_or(Path::new("."));
        let mut sc = validate::validate(raw, stem, base)
            .map_err(|problems| ScenarioError::Invalid { path: path.to_string(), problems })?;
        sc.file = path.to_string();
        Ok(sc)
    }

    /// The name of a target ("device" for the device).
    pub fn target_name(&self, t: Target) -> &str {
        match t {
            Target::Service(id) => &self.service(id).name,
            Target::Device => "device",
            Target::Load => "load",
        }
    }

    /// The service with this id.
    pub fn service(&self, id: ServiceId) -> &Service {
        &self.services[id.index()]
    }

    /// The report directory name: the scenario name with anything but `[A-Za-z0-9._-]` replaced by `_`.
    pub fn dir_name(&self) -> String {
        let s: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
            .collect();
        match s.trim_matches('.') {
            "" => "scenario".to_string(),
            t => t.to_string(),
        }
    }
}

fn parse_error(text: &str, path: &str, e: &toml::de::Error) -> ScenarioError {
    let message = e.message().trim_end().to_string();
    let start = e.span().map(|s| s.start).unwrap_or(0).min(text.len());
    let end = e.span().map(|s| s.end).unwrap_or(start).clamp(start, text.len());
    let line_start = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_no = text[..start].matches('\n').count() + 1;
    let line_end = text[start..].find('\n').map(|i| start + i).unwrap_or(text.len());
    let line_text = text[line_start..line_end].trim_end_matches('\r');
    let column = text[line_start..start].chars().count() + 1;
    let width = text[start..end.min(line_end)].chars().count().max(1);
    let gutter = " ".repeat(line_no.to_string().len());
    let snippet =
        format!("{gutter} |\n{line_no} | {line_text}\n{gutter} | {}{}", " ".repeat(column - 1), "^".repeat(width));
    ScenarioError::Parse { path: path.to_string(), line: line_no, column, message, snippet }
}
