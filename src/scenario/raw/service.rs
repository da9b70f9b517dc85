//! `[[services]]` entries as written: queue, workers, dependencies and the resilience around them.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::{Dur, RawDist, RestartName};

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
    /// How long the service stays down after a crash before its supervisor restarts it. Default "0s": at
    /// once, as an OTP supervisor does (a delay is our addition, for a slow restart).
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
    /// Health probes of this service (Kubernetes' container probes): one table `[services.health]`, or an
    /// array `[[services.health]]` with at most one probe of each kind (liveness, readiness, startup).
    pub health: Option<Probes>,
    /// How long the service takes to start, at the start of the run and after every restart: until then it
    /// refuses requests (connection refused: counted as rejected) and answers no probe. Default "0s".
    pub startup: Option<Dur>,
    /// Autoscaling of this service's workers (Kubernetes HPA semantics).
    pub autoscale: Option<RawAutoscale>,
}

/// What a health probe checks.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeName {
    /// The service is up and answers (the process itself answers); failing restarts it.
    Liveness,
    /// The service would serve a request (the probe waits in its queue); failing takes it out of
    /// rotation, its requests are refused until it passes again; never restarts it.
    Readiness,
    /// The service has started; holds the other probes off until it has passed once after each
    /// (re)start; failing restarts it.
    Startup,
}

/// The health probes of a service: a table (one probe) or an array of tables.
#[derive(Debug)]
pub struct Probes {
    /// The probes, in file order.
    pub list: Vec<RawHealth>,
    /// Written as an array of tables (TOML paths then carry an index).
    pub array: bool,
}

impl<'de> Deserialize<'de> for Probes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Probes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a probe table ([services.health]) or an array of them ([[services.health]])")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Probes, A::Error> {
                RawHealth::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|h| Probes { list: vec![h], array: false })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Probes, A::Error> {
                Vec::<RawHealth>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(|list| Probes { list, array: true })
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Probes {
    fn schema_name() -> Cow<'static, str> {
        "Probes".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let one = g.subschema_for::<RawHealth>();
        json_schema!({
            "description": "One probe ([services.health]) or several ([[services.health]]), at most one of each kind.",
            "anyOf": [one, { "type": "array", "items": one }]
        })
    }
}

/// Health check settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    /// Time between probes (Kubernetes' periodSeconds). Default "10s".
    pub interval: Option<Dur>,
    /// Time from a (re)start of the service to its first probe (initialDelaySeconds). Default "0s".
    pub initial_delay: Option<Dur>,
    /// A probe not answered within this fails. Default "1s".
    pub timeout: Option<Dur>,
    /// Consecutive failed probes that fail the check. Default 3.
    pub failure_threshold: Option<u32>,
    /// Consecutive passed probes that pass it again (1 for liveness and startup). Default 1.
    pub success_threshold: Option<u32>,
    /// "liveness", "readiness" or "startup". Default "liveness".
    pub probe: Option<ProbeName>,
    /// Liveness and startup: ask the supervisor to restart the service when the check fails (false: only
    /// report it). Not for readiness, which never restarts. Default true.
    pub remediate: Option<bool>,
}

/// Autoscaler settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscale {
    /// Utilisation of the ready workers to aim for, in (0, 1].
    pub target_utilization: f64,
    /// What utilisation measures: "cpu" (the workers' own processing time, Kubernetes' CPU utilisation: a
    /// worker waiting for a dependency uses none) or "concurrency" (workers held by a request, waiting
    /// included). Default "cpu".
    pub metric: Option<ScaleMetricName>,
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

/// What an autoscaler's utilisation measures.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleMetricName {
    /// Own processing time / worker time.
    Cpu,
    /// Held workers / workers.
    Concurrency,
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
    /// How the group divides the bus's partitions among its live members: "range" (Kafka's default),
    /// "round-robin" (both rebalance eagerly: every member pauses) or "cooperative-sticky" (only the
    /// partitions that move pause). Every member of a group must say the same. Default "range".
    pub assignment: Option<crate::model::summary::Assignor>,
    /// A member that stops heartbeating (every 3 s) is removed from the group after this, and its
    /// partitions move (Kafka's session.timeout.ms). Every member of a group must say the same. Default
    /// "45s".
    pub session_timeout: Option<Dur>,
    /// Failures of one message after which it is sent to `dead_letter` instead of blocking its partition.
    /// Default: retried forever (the partition waits, as a Kafka consumer without a dead-letter topic).
    pub max_attempts: Option<u32>,
    /// The event bus that takes the messages that failed `max_attempts` times (a dead-letter topic).
    pub dead_letter: Option<String>,
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
    /// Failed calls: the callee answered with an error or refused the call (queue full, not ready, rate
    /// limited).
    Errors,
    /// Calls that timed out.
    Timeouts,
    /// Calls the caller's own breaker (open) or bulkhead (full) rejected before they left.
    Rejected,
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
    /// What to retry. Default ["errors", "timeouts", "rejected"]: everything, as resilience4j's Retry.
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
