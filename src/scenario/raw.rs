//! The scenario file as written (serde + JSON Schema). [`super::validate`] turns it into checked types.
//!
//! Every key here is part of the v1 contract: keys may be added, never renamed. Defaults are stated in the
//! doc comments, which also become the JSON Schema's descriptions (`ag06-lab schema`).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::sim::SimDuration;

pub mod chaos;
pub use chaos::{FaultKind, ModeName, RawChaos};

/// A duration written as a string: "250ms", "5s", "2m 30s", "1h" (humantime syntax).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dur(#[serde(serialize_with = "ser_dur")] pub SimDuration);

fn ser_dur<S: serde::Serializer>(d: &SimDuration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\", \"5s\" or \"2m 30s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                humantime::parse_duration(v).map(|d| Dur(d.into())).map_err(|e| {
                    E::custom(format!(
                        "invalid duration \"{v}\": {e} (write e.g. \"250ms\", \"5s\", \"2m 30s\", \"1h\")"
                    ))
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration: a number and a unit (ns, us, ms, s, m, h, d), several allowed, e.g. \"250ms\", \"5s\", \"2m 30s\", \"1h\".",
            "pattern": r"^\s*(\d+(\.\d+)?\s*[a-zA-Zµ]+\s*)+$",
            "examples": ["250ms", "5s", "2m 30s", "1h"]
        })
    }
}

/// A scenario file: topology, load, chaos and objectives.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ag06-lab scenario (format v1)")]
pub struct RawScenario {
    /// Name of the scenario, used for the report directory. Default: the file's stem.
    pub name: Option<String>,
    /// Master seed of every random stream. Default 0; `--seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    /// Simulated length of the arrival process, e.g. "1h". Default: the sum of the load stages'
    /// durations; required when there are no stages.
    pub duration: Option<Dur>,
    /// Metrics window (one timeseries row per window and service). Default "5s".
    pub window: Option<Dur>,
    /// Time allowed after arrivals stop for in-flight work to finish. Default "30s".
    pub drain: Option<Dur>,
    /// The load generator.
    pub load: Option<RawLoad>,
    /// The services, each an actor with a queue and workers.
    #[serde(default)]
    pub services: Vec<RawService>,
    /// Objectives; the run passes when every one is met.
    #[serde(default)]
    pub slo: Vec<RawSlo>,
    /// Faults to inject.
    #[serde(default)]
    pub chaos: Vec<RawChaos>,
    /// The supervision tree: the root and the services subtree.
    pub supervision: Option<RawSupervision>,
    /// The audio path: a Yamaha AG06/AG03 and its mixer. No section: no audio path.
    pub device: Option<RawDevice>,
    /// Phases of the steady-state hypothesis.
    pub experiment: Option<RawExperiment>,
    /// Steady-state probes (Chaos Toolkit), checked before, during and after the faults.
    #[serde(default)]
    pub hypothesis: Vec<RawProbe>,
}

/// The experiment's phases.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    /// Length of the baseline phase before the first fault. Default "1m".
    pub baseline: Option<Dur>,
    /// Length of the recovery phase after the last fault. Default "1m".
    pub recovery: Option<Dur>,
    /// Pause between the end of the last fault and the recovery phase (stragglers of the fault finish in
    /// it). Default "0s".
    pub settle: Option<Dur>,
}

/// A probe metric.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    /// ok / requests.
    Availability,
    /// 1 − availability.
    ErrorRate,
    /// Median latency [ms].
    P50Ms,
    /// 99th percentile latency [ms].
    P99Ms,
    /// Maximum latency [ms].
    MaxMs,
    /// Requests per second.
    ThroughputPerS,
    /// Busy worker share.
    Utilization,
    /// Mean waiting requests.
    QueueDepth,
    /// Device periods on time / periods (service = "device").
    AudioAvailability,
    /// Device xruns per hour (service = "device").
    XrunsPerHour,
}

/// A steady-state probe.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProbe {
    /// Name.
    pub name: String,
    /// The service (or "device").
    pub service: String,
    /// What to measure.
    pub metric: MetricName,
    /// Lowest tolerated value.
    pub min: Option<f64>,
    /// Highest tolerated value.
    pub max: Option<f64>,
    /// Stop the run when the probe has been out of tolerance for longer than this (k6 abortOnFail).
    pub abort_after: Option<Dur>,
}

pub use crate::model::summary::DeviceModel;

/// The TO PC switch.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ToPcName {
    /// CH1 left, CH2 right, dry.
    DryCh12,
    /// The mix of the inputs, with DSP, without the computer's playback. The default.
    #[default]
    InputMix,
    /// The inputs plus the computer's playback.
    Loopback,
}

/// The `[device]` section.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    /// "ag06", "ag06mk2" or "ag03". Default "ag06mk2".
    #[serde(default)]
    pub model: DeviceModel,
    /// 44100, 48000, 88200, 96000 or 192000. Default 48000.
    pub sample_rate_hz: Option<u32>,
    /// Frames per period (block). Default 256.
    pub buffer_frames: Option<u32>,
    /// "dry-ch12", "input-mix" or "loopback". Default "input-mix".
    #[serde(default)]
    pub to_pc: ToPcName,
    /// Modelled processing time of one block (a distribution). Default constant "200us".
    pub dsp_time: Option<RawDist>,
    /// The computer's playback (heard in loopback). Default silence.
    pub playback: Option<RawSource>,
    /// Lower the playback by this much while a voice is on CH1 [dB, negative]. Default: no ducking.
    pub ducking_db: Option<f64>,
    /// The input channels.
    #[serde(default)]
    pub inputs: RawInputs,
    /// The vocal chain on CH1 (the seed system's settings by default).
    pub vocal_chain: Option<RawChain>,
}

/// The input channels (`ch4`..`ch6` do not exist on the AG03).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInputs {
    /// CH1: mic/line (XLR combo, phantom power, PAD); the vocal chain runs on it.
    pub ch1: Option<RawInput>,
    /// CH2: mic/line (PAD, phantom power).
    pub ch2: Option<RawInput>,
    /// CH3: line (left of CH3/4).
    pub ch3: Option<RawInput>,
    /// CH4: line (right of CH3/4).
    pub ch4: Option<RawInput>,
    /// CH5: line (left of CH5/6).
    pub ch5: Option<RawInput>,
    /// CH6: line (right of CH5/6).
    pub ch6: Option<RawInput>,
}

/// One input channel.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    /// What is plugged in. Default silence.
    pub source: Option<RawSource>,
    /// Input gain [dB]. Default 0.
    pub gain_db: Option<f64>,
    /// PAD switch (-26 dB; CH1/CH2 only). Default false.
    pub pad: Option<bool>,
    /// +48 V phantom power (CH1/CH2 only; no effect on the modelled signal). Default false.
    pub phantom: Option<bool>,
    /// Muted. Default false.
    pub mute: Option<bool>,
    /// Pan -1 (left) .. 1 (right). Default: centre for CH1/CH2, left for CH3/CH5, right for CH4/CH6.
    pub pan: Option<f64>,
}

/// A signal source, tagged by `kind`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawSource {
    /// A sine; `level_dbfs` is its peak.
    Sine {
        /// Frequency [Hz].
        freq_hz: f64,
        /// Peak level [dBFS].
        level_dbfs: f64,
    },
    /// Seeded uniform white noise; `level_dbfs` is its peak.
    Noise {
        /// Peak level [dBFS].
        level_dbfs: f64,
    },
    /// Bit-exact zeros.
    Silence,
    /// A WAV file (first channel, looped). Its rate must be the device's: no silent resampling.
    Wav {
        /// Path, relative to the scenario file.
        path: String,
    },
}

/// The vocal chain; every stage defaults to the seed system's settings and has `bypass`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
    /// High-pass filter.
    pub hpf: Option<RawHpf>,
    /// Noise gate.
    pub gate: Option<RawGate>,
    /// Three-band EQ.
    pub eq: Option<RawEq>,
    /// Compressor.
    pub compressor: Option<RawCompressor>,
    /// Reverb.
    pub reverb: Option<RawReverb>,
    /// Limiter.
    pub limiter: Option<RawLimiter>,
}

/// High-pass filter settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHpf {
    /// Corner [Hz] (-3 dB). Default 80.
    pub freq_hz: Option<f64>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// Gate settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// Threshold [dBFS]. Default -45.
    pub threshold_db: Option<f64>,
    /// Opening time. Default "3ms".
    pub attack: Option<Dur>,
    /// Closing time. Default "180ms".
    pub release: Option<Dur>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// EQ settings: three peaking bands.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEq {
    /// Bands. Default 250 Hz -1.5 dB, 2.6 kHz +2 dB, 8 kHz +3 dB (Q 1).
    pub bands: Option<Vec<RawBand>>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// One EQ band.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBand {
    /// Centre [Hz].
    pub freq_hz: f64,
    /// Gain [dB].
    pub gain_db: f64,
    /// Quality. Default 1.
    pub q: Option<f64>,
}

/// Compressor settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCompressor {
    /// Threshold [dBFS RMS]. Default -22.
    pub threshold_db: Option<f64>,
    /// Ratio >= 1. Default 3.5.
    pub ratio: Option<f64>,
    /// Default "8ms".
    pub attack: Option<Dur>,
    /// Default "140ms".
    pub release: Option<Dur>,
    /// Make-up gain [dB]. Default 5.
    pub makeup_db: Option<f64>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// Reverb settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReverb {
    /// Wet mix 0..1. Default 0.28.
    pub mix: Option<f64>,
    /// Room size 0..1. Default 0.5.
    pub room_size: Option<f64>,
    /// Damping 0..1. Default 0.5.
    pub damping: Option<f64>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// Limiter settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimiter {
    /// Ceiling [dBFS]. Default -1.
    pub ceiling_dbfs: Option<f64>,
    /// Default "50ms".
    pub release: Option<Dur>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// Supervision settings per subtree.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSupervision {
    /// The supervisor of every service.
    pub services: Option<RawSupervisor>,
    /// The root supervisor (its children are the subtrees).
    pub root: Option<RawSupervisor>,
    /// The supervisor of the audio device (it reopens the stream after a disconnect).
    pub device: Option<RawSupervisor>,
}

/// A supervisor (Erlang/OTP semantics; defaults are OTP's).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSupervisor {
    /// "one-for-one", "one-for-all" or "rest-for-one". Default "one-for-one".
    pub strategy: Option<StrategyName>,
    /// Restarts allowed within `period`; one more and the supervisor gives up and escalates. Default 1.
    pub intensity: Option<u32>,
    /// Default "5s".
    pub period: Option<Dur>,
    /// Restart delay growing with the restarts in the period (Akka-style). Default: none.
    pub backoff: Option<RawRestartBackoff>,
}

/// Supervision strategy.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    /// Restart only the child that exited.
    OneForOne,
    /// Restart every child.
    OneForAll,
    /// Restart the child that exited and those started after it.
    RestForOne,
}

/// Restart backoff.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRestartBackoff {
    /// Delay of the first restart in a period.
    pub min: Dur,
    /// Longest delay (it doubles with each restart in the period).
    pub max: Dur,
    /// Randomisation factor 0..1. Default 0.
    pub jitter: Option<f64>,
}

/// Child restart type.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestartName {
    /// Always restarted. The default.
    #[default]
    Permanent,
    /// Restarted after a crash, not after a normal stop.
    Transient,
    /// Never restarted.
    Temporary,
}

/// How requests arrive.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Arrivals {
    /// A Poisson process (exponential gaps): an open model. The default.
    #[default]
    Poisson,
    /// Evenly spaced arrivals at the current rate.
    Constant,
}

/// The open-model load generator (k6's constant- and ramping-arrival-rate).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    /// The service that receives the requests (or give `mix`).
    pub entry: Option<String>,
    /// Arrival process. Default "poisson".
    #[serde(default)]
    pub arrivals: Arrivals,
    /// Arrival rate [requests/s]; with `stages`, the starting rate (may then be 0). Not with
    /// model = "closed" or `stress`.
    pub rate_per_s: Option<f64>,
    /// "open" (arrivals at a rate, the default) or "closed" (`users` each sending a request, waiting for
    /// the answer, thinking, and again).
    #[serde(default)]
    pub model: LoadModel,
    /// Virtual users: the population of a closed model, or the pool an open model's arrivals need (an
    /// arrival finding no free user is dropped, as in k6's arrival-rate executors).
    pub users: Option<u32>,
    /// Think time of a user between an answer and its next request. Default: none.
    pub think_time: Option<RawDist>,
    /// A weighted request mix: each request goes to one of these entries (instead of `entry`).
    #[serde(default)]
    pub mix: Vec<RawMix>,
    /// Stress test: raise the rate step by step until the error ratio of a step exceeds the stop
    /// threshold; the summary reports the breaking point (instead of `rate_per_s` and `stages`).
    pub stress: Option<RawStress>,
    /// Ramping arrival rate: each stage moves linearly from the previous rate to its target over its
    /// duration. After the last stage the last target holds until `duration`.
    #[serde(default)]
    pub stages: Vec<RawStage>,
}

/// Open or closed load model.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LoadModel {
    /// Arrivals at a rate, whatever the system does. The default.
    #[default]
    Open,
    /// A fixed population of users, each waiting for its answer before thinking and asking again.
    Closed,
}

/// One entry of a request mix.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMix {
    /// The service.
    pub entry: String,
    /// Relative weight (> 0).
    pub weight: f64,
}

/// A stress (step) test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStress {
    /// Rate of the first step [requests/s].
    pub start_per_s: f64,
    /// Added at every step [requests/s].
    pub step_per_s: f64,
    /// Length of a step.
    pub step_duration: Dur,
    /// Highest rate tried. Default: no limit but the scenario's duration.
    pub max_per_s: Option<f64>,
    /// Stop raising once a step's error ratio (failed, timed out or rejected) exceeds this. Default 0.5.
    pub stop_error_rate: Option<f64>,
}

/// One stage of a ramping arrival rate.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// Length of the stage.
    pub duration: Dur,
    /// Rate at the end of the stage [requests/s].
    pub target_per_s: f64,
}

/// A service: a FIFO queue in front of `workers` identical workers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Unique name.
    pub name: String,
    /// "service" (the default) or "event-bus" (a partitioned log; see `partitions`).
    #[serde(default)]
    pub kind: ServiceKindName,
    /// Number of workers (concurrent requests in processing), at least 1. Required for a service; an
    /// event bus appends without a worker limit.
    pub workers: Option<u32>,
    /// Partitions of an event bus (required for kind = "event-bus").
    pub partitions: Option<u32>,
    /// Makes this service a consumer (group member) of an event bus: every message of every partition is
    /// processed as a request of this service, in order per partition.
    pub consumes: Option<RawConsumes>,
    /// Maximum number of waiting requests; an arrival finding the queue full is rejected. Default 10000.
    pub queue: Option<u32>,
    /// The service's own processing time per request.
    pub latency: RawDist,
    /// Probability that a request fails after its processing (0..1). Default 0.
    pub error_rate: Option<f64>,
    /// Services called synchronously, in order, after the service's own processing. The worker stays held
    /// while it waits; a failed call fails the request.
    #[serde(default)]
    pub calls: Vec<String>,
    /// How long a caller (or the load generator, for the entry service) waits for this service before
    /// giving up. The work goes on and keeps its worker busy. Default: callers wait without limit.
    pub timeout: Option<Dur>,
    /// How long the service stays down after a crash before its supervisor restarts it. Default "1s".
    pub restart_delay: Option<Dur>,
    /// Circuit breaker applied by every caller of this service (one breaker per caller).
    pub breaker: Option<RawBreaker>,
    /// Retry policy applied by every caller of this service.
    pub retry: Option<RawRetry>,
    /// Bulkhead applied by every caller of this service (one per caller).
    pub bulkhead: Option<RawBulkhead>,
    /// Rate limiter on this service's ingress.
    pub rate_limit: Option<RawRateLimit>,
    /// Tags, for targeting faults by tag (`target = "tag:db"`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Restart type under its supervisor: "permanent", "transient" or "temporary". Default "permanent".
    #[serde(default)]
    pub restart: RestartName,
    /// Callers carry on without this service when a call to it fails (after retries, or rejected by a
    /// breaker or bulkhead): a fallback, the request goes on degraded instead of failing. Default false.
    pub optional: Option<bool>,
    /// Health check of this service (probed by the health checker).
    pub health: Option<RawHealth>,
    /// Autoscaling of this service's workers (Kubernetes HPA semantics).
    pub autoscale: Option<RawAutoscale>,
}

/// What a health probe checks.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeName {
    /// The service is up and answers.
    Liveness,
    /// The service is up and its queue is not full.
    Readiness,
}

/// Health check settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    /// Time between probes. Default "10s".
    pub interval: Option<Dur>,
    /// A probe not answered within this fails. Default "1s".
    pub timeout: Option<Dur>,
    /// Consecutive failed probes that fail the check. Default 3.
    pub failure_threshold: Option<u32>,
    /// Consecutive passed probes that pass it again. Default 1.
    pub success_threshold: Option<u32>,
    /// "liveness" or "readiness". Default "liveness".
    pub probe: Option<ProbeName>,
    /// Ask the supervisor to restart the service when its check fails. Default true.
    pub remediate: Option<bool>,
}

/// Autoscaler settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscale {
    /// Busy workers / workers to aim for, in (0, 1].
    pub target_utilization: f64,
    /// Fewest workers. Default 1.
    pub min_workers: Option<u32>,
    /// Most workers.
    pub max_workers: u32,
    /// Evaluation period. Default "15s".
    pub interval: Option<Dur>,
    /// No change while |utilisation / target - 1| <= tolerance. Default 0.1.
    pub tolerance: Option<f64>,
    /// Scale-down stabilisation window: scale down to the highest recommendation within it. Default "5m".
    pub scale_down_stabilization: Option<Dur>,
    /// Quiet time after any change. Default "0s".
    pub cooldown: Option<Dur>,
    /// Time for new workers to come up. Default "30s".
    pub provisioning_delay: Option<Dur>,
}

/// What a `[[services]]` entry is.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKindName {
    /// A request/response service with a queue and workers. The default.
    #[default]
    Service,
    /// A partitioned, durable log (Kafka-like): a call produces a message, consumer groups read it.
    EventBus,
}

/// Consumer group membership.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConsumes {
    /// The event bus (a service with kind = "event-bus").
    pub bus: String,
    /// Consumer group name. Default: this service's name.
    pub group: Option<String>,
    /// How often the consumer commits its positions. Default "5s" (Kafka's auto.commit.interval.ms).
    pub commit_interval: Option<Dur>,
    /// "at-least-once" (a message's position advances once it was processed; failures are retried; a
    /// crash replays from the last commit) or "at-most-once" (the position is committed as soon as the
    /// message is received: a crash or a failure loses it). Default "at-least-once".
    pub delivery: Option<DeliveryName>,
}

/// Delivery semantics of a consumer.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryName {
    /// Advance after processing.
    AtLeastOnce,
    /// Advance on receipt.
    AtMostOnce,
}

/// Kind of sliding window of a circuit breaker.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum WindowType {
    /// The last `window_size` calls. The default.
    #[default]
    Count,
    /// The calls of the last `window_size` of time.
    Time,
}

/// A window size: a number of calls, or a duration string.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum WindowSize {
    /// Calls.
    Calls(u32),
    /// Time.
    Span(Dur),
}

impl<'de> Deserialize<'de> for WindowSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = WindowSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of calls (window = \"count\") or a duration string (window = \"time\")")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WindowSize, E> {
                u32::try_from(v)
                    .map(WindowSize::Calls)
                    .map_err(|_| E::custom(format!("{v} is not a number of calls: expected 1 to 4294967295")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WindowSize, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WindowSize, E> {
                Dur::deserialize(de::value::StrDeserializer::<E>::new(v)).map(WindowSize::Span)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for WindowSize {
    fn schema_name() -> Cow<'static, str> {
        "WindowSize".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let dur = g.subschema_for::<Dur>();
        json_schema!({
            "description": "A number of calls (count window) or a duration (time window).",
            "anyOf": [{ "type": "integer", "minimum": 1 }, dur]
        })
    }
}

/// Circuit breaker settings (resilience4j's names and defaults).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// "count" or "time". Default "count".
    #[serde(default)]
    pub window: WindowType,
    /// Calls (count window, default 100) or a duration (time window, default "60s").
    pub window_size: Option<WindowSize>,
    /// Outcomes needed before rates are evaluated. Default 100.
    pub minimum_calls: Option<u32>,
    /// Failure rate that opens the breaker [percent, 0..100]. Default 50.
    pub failure_rate_threshold: Option<f64>,
    /// A call lasting longer than this is slow. Default "60s".
    pub slow_call_duration: Option<Dur>,
    /// Slow-call rate that opens the breaker [percent, 0..100]. Default 100.
    pub slow_call_rate_threshold: Option<f64>,
    /// Time spent open before trying half-open. Default "60s".
    pub wait_in_open: Option<Dur>,
    /// Growth of the open wait with each consecutive opening (>= 1). Default 1 (constant).
    pub wait_multiplier: Option<f64>,
    /// Upper bound of the grown wait. Default: none.
    pub max_wait_in_open: Option<Dur>,
    /// Trial calls admitted while half-open. Default 10.
    pub half_open_calls: Option<u32>,
    /// Move to half-open when the wait is over, without waiting for a call. Default false.
    pub automatic_half_open: Option<bool>,
}

/// Backoff shape of a retry policy.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BackoffKind {
    /// The same `wait` every time. The default.
    #[default]
    Fixed,
    /// `initial`, then times `multiplier`, up to `max`.
    Exponential,
}

/// What a retry policy retries.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RetryOn {
    /// Failed calls (errors, rejections, bulkhead full).
    Errors,
    /// Calls that timed out.
    Timeouts,
}

/// Retry settings (resilience4j's names and defaults).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    /// Attempts in all, the first included (>= 1). Default 3.
    pub max_attempts: Option<u32>,
    /// "fixed" or "exponential". Default "fixed".
    #[serde(default)]
    pub backoff: BackoffKind,
    /// Wait between attempts (fixed). Default "500ms".
    pub wait: Option<Dur>,
    /// First wait (exponential). Default "500ms".
    pub initial: Option<Dur>,
    /// Growth per retry (exponential, >= 1). Default 1.5.
    pub multiplier: Option<f64>,
    /// Longest wait (exponential). Default "30s".
    pub max: Option<Dur>,
    /// Randomisation factor 0..1: waits are drawn from wait × [1 - jitter, 1 + jitter]. Default 0.
    pub jitter: Option<f64>,
    /// What to retry. Default ["errors", "timeouts"].
    pub on: Option<Vec<RetryOn>>,
    /// Retry budget: retries may add at most `ratio` of the requests of the last `ttl`, plus `min_per_s`.
    pub budget: Option<RawBudget>,
}

/// Retry budget settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// Retries allowed per request (0.2 = 20% extra load). Default 0.2.
    pub ratio: Option<f64>,
    /// Retries always allowed per second. Default 10.
    pub min_per_s: Option<f64>,
    /// How long a request counts towards the budget. Default "10s".
    pub ttl: Option<Dur>,
}

/// Bulkhead settings (per caller of this service).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBulkhead {
    /// Calls in flight at most. Default 25.
    pub max_concurrent: Option<u32>,
    /// How long a call may wait for a slot. Default "0s" (reject at once).
    pub max_wait: Option<Dur>,
}

/// Rate limiter on a service's ingress.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// Requests admitted per period. Default 50.
    pub limit: Option<u32>,
    /// Refresh period. Default "1s".
    pub period: Option<Dur>,
}

/// A distribution of durations, tagged by `dist`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawDist {
    /// Always `value`.
    Constant {
        /// The duration.
        value: Dur,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Lower bound.
        min: Dur,
        /// Upper bound.
        max: Dur,
    },
    /// Exponential with mean `mean`.
    Exponential {
        /// The mean.
        mean: Dur,
    },
    /// Lognormal with the given median and 99th percentile.
    Lognormal {
        /// The median.
        median: Dur,
        /// The 99th percentile (greater than the median).
        p99: Dur,
    },
    /// Normal with `mean` and `stddev`, truncated at zero (negative draws are redrawn).
    Normal {
        /// Mean of the untruncated normal.
        mean: Dur,
        /// Standard deviation of the untruncated normal.
        stddev: Dur,
    },
}

/// Which service level indicator an objective is about.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SliKind {
    /// Successful requests / all requests.
    Availability,
    /// Requests that succeeded within `threshold` / all requests.
    Latency,
    /// Audio periods delivered on time / all periods (service = "device").
    AudioAvailability,
    /// Xruns per simulated hour; `objective` is the maximum (service = "device").
    XrunsPerHour,
    /// The longest dropout must not exceed `threshold` (service = "device").
    MaxDropout,
}

/// A service level objective.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    /// Name, unique among objectives.
    pub name: String,
    /// The service it is about ("device" for the audio indicators).
    pub service: String,
    /// The indicator.
    pub sli: SliKind,
    /// The fraction that must be achieved (0..1), e.g. 0.999; for xruns-per-hour the maximum rate; not
    /// used by max-dropout.
    pub objective: Option<f64>,
    /// Latency threshold (latency), or longest allowed dropout (max-dropout).
    pub threshold: Option<Dur>,
    /// The SLO period of the error budget. Default "30d".
    pub period: Option<Dur>,
    /// Burn-rate alert rules. Default: the SRE workbook's (1h/5m > 14.4 page, 6h/30m > 6 page, 3d/6h > 1
    /// ticket); `alerts = []` turns them off.
    pub alerts: Option<Vec<RawAlert>>,
}

/// A multi-window burn-rate alert rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    /// Long window, e.g. "1h".
    pub long: Dur,
    /// Short window, e.g. "5m".
    pub short: Dur,
    /// Burn-rate threshold, e.g. 14.4.
    pub burn_rate: f64,
    /// "page" or "ticket". Default "page".
    pub severity: Option<SeverityName>,
}

/// Alert severity.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SeverityName {
    /// Wake someone up.
    Page,
    /// Look at it tomorrow.
    Ticket,
}
