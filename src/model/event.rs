//! The event log: typed events with structured fields. `events.jsonl` has one [`EventRecord`] per line
//! (the fields); `events.csv` keeps `t_s,kind,target,detail` with `detail` rendered from the fields by
//! [`Event::detail`]. Tools and the report read fields, never the detail text.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::closed_set;
use super::summary::{FaultKind, ProbeKind, RebalanceCause, Severity, Status};
use crate::sim::{SimDuration, SimTime};

/// Seconds in files, nanoseconds in memory.
pub mod secs {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::sim::{SimDuration, SimTime};

    /// A duration as seconds.
    pub mod duration {
        use super::*;
        /// Writes seconds.
        pub fn serialize<S: Serializer>(d: &SimDuration, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_f64(d.as_secs_f64())
        }
        /// Reads seconds (rounded to the nanosecond).
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SimDuration, D::Error> {
            f64::deserialize(d).map(SimDuration::from_secs_f64)
        }
    }

    /// An instant as seconds since the start.
    pub mod time {
        use super::*;
        /// Writes seconds.
        pub fn serialize<S: Serializer>(t: &SimTime, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_f64(t.as_secs_f64())
        }
        /// Reads seconds (rounded to the nanosecond).
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SimTime, D::Error> {
            f64::deserialize(d).map(SimTime::from_secs_f64)
        }
    }
}

closed_set! {
    /// What an event is: the `kind` column of `events.csv` and the tag of `events.jsonl`.
    pub enum EventKind {
        /// A fault began.
        FaultStart = "fault_start",
        /// A fault ended.
        FaultEnd = "fault_end",
        /// An actor crashed (abnormal exit: a kill, a panic, a lost device).
        ActorCrash = "actor_crash",
        /// An actor stopped (normal exit, or shut down by its supervisor).
        ActorStop = "actor_stop",
        /// An exited actor is not restarted (its restart type).
        ActorLeftDown = "actor_left_down",
        /// An actor was restarted (a device: its stream reopened).
        ActorRestart = "actor_restart",
        /// A supervisor exceeded its restart intensity and escalated to its parent.
        SupervisorEscalate = "supervisor_escalate",
        /// The root supervisor restarted a subtree.
        SupervisorRestart = "supervisor_restart",
        /// A failed health check asked the supervisor for a restart.
        Remediation = "remediation",
        /// A health check failed.
        HealthFailed = "health_failed",
        /// A health check passed again (a startup probe: the service has started).
        HealthRecovered = "health_recovered",
        /// A failing readiness check took the service out of rotation: its requests are refused.
        NotReady = "not_ready",
        /// A passing readiness check put the service back in rotation.
        Ready = "ready",
        /// A consumer group of an event bus started a rebalance (the target: the bus).
        Rebalance = "rebalance",
        /// Live mode: the audio interface stopped delivering (a host error, or no callback).
        DeviceLost = "device_lost",
        /// Live mode: audio flows again after a loss.
        DeviceRestored = "device_restored",
        /// The overall health status changed.
        HealthStatus = "health_status",
        /// The autoscaler asked for more workers (they arrive after the provisioning delay).
        ScaleRequested = "scale_requested",
        /// The requested workers arrived.
        ScaleUp = "scale_up",
        /// The autoscaler removed workers.
        ScaleDown = "scale_down",
        /// A hypothesis probe stayed out of tolerance past its `abort_after`: the run stops.
        HypothesisAbort = "hypothesis_abort",
        /// A caller's circuit breaker opened.
        BreakerOpen = "breaker_open",
        /// A caller's circuit breaker let trial calls through.
        BreakerHalfOpen = "breaker_half_open",
        /// A caller's circuit breaker closed again.
        BreakerClosed = "breaker_closed",
        /// A stress test's rate stopped rising.
        StressStop = "stress_stop",
        /// A burn-rate alert fired.
        AlertFired = "alert_fired",
        /// A burn-rate alert resolved.
        AlertResolved = "alert_resolved",
    }
}

/// One event's fields, tagged by its kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A fault began.
    FaultStart {
        /// The fault occurrence's name (`summary.json` `faults[].name`).
        fault: String,
        /// The `[[chaos]]` entry it comes from.
        chaos: String,
        /// Its kind.
        fault_kind: FaultKind,
        /// Its parameters, in words.
        params: String,
        /// How long it lasts [s].
        #[serde(rename = "for_s", with = "secs::duration")]
        #[schemars(with = "f64")]
        duration: SimDuration,
    },
    /// A fault ended.
    FaultEnd {
        /// The fault occurrence's name.
        fault: String,
    },
    /// An actor crashed.
    ActorCrash {
        /// Why.
        reason: String,
    },
    /// An actor stopped.
    ActorStop {
        /// Why.
        reason: String,
    },
    /// An exited actor is not restarted (its restart type).
    ActorLeftDown,
    /// An actor was restarted.
    ActorRestart {
        /// How long it was down [s].
        #[serde(rename = "downtime_s", with = "secs::duration")]
        #[schemars(with = "f64")]
        downtime: SimDuration,
        /// The device: its stream was reopened.
        stream_reopened: bool,
    },
    /// A supervisor escalated to its parent.
    SupervisorEscalate {
        /// Why.
        reason: String,
    },
    /// The root supervisor restarted a subtree (the target).
    SupervisorRestart,
    /// A failed health check asked the supervisor for a restart.
    Remediation {
        /// Why.
        reason: String,
        /// The service was already down: nothing was restarted.
        already_down: bool,
    },
    /// A health check failed.
    HealthFailed {
        /// The probe.
        probe: ProbeKind,
        /// Consecutive failed probes (the failure threshold).
        probes: u32,
    },
    /// A health check passed again.
    HealthRecovered {
        /// The probe.
        probe: ProbeKind,
        /// Consecutive passed probes (the success threshold).
        probes: u32,
    },
    /// The service was taken out of rotation.
    NotReady,
    /// The service was put back in rotation.
    Ready,
    /// The audio interface was lost.
    DeviceLost {
        /// What showed it: the host's error, or how long no callback came.
        cause: String,
    },
    /// Audio flows again.
    DeviceRestored {
        /// Since the loss.
        #[serde(rename = "downtime_s", with = "secs::duration")]
        #[schemars(with = "f64")]
        downtime: SimDuration,
    },
    /// A consumer group started a rebalance: its partitions are reassigned when it completes.
    Rebalance {
        /// The group.
        group: String,
        /// The member whose change caused it.
        member: String,
        /// What happened to it.
        cause: RebalanceCause,
        /// Live members after the change.
        members: u32,
    },
    /// The overall health status changed.
    HealthStatus {
        /// The new status.
        status: Status,
        /// Checks passing.
        passing: usize,
        /// Checks in all.
        checks: usize,
    },
    /// The autoscaler asked for more workers.
    ScaleRequested {
        /// Workers before.
        from: u32,
        /// Workers asked for.
        to: u32,
        /// The utilization it saw.
        utilization: f64,
        /// Its target utilization.
        target_utilization: f64,
    },
    /// The requested workers arrived.
    ScaleUp {
        /// Workers before.
        from: u32,
        /// Workers now.
        to: u32,
        /// The utilization when they were requested.
        utilization: f64,
    },
    /// The autoscaler removed workers.
    ScaleDown {
        /// Workers before.
        from: u32,
        /// Workers now.
        to: u32,
        /// The utilization it saw.
        utilization: f64,
        /// Its target utilization.
        target_utilization: f64,
    },
    /// A hypothesis probe aborted the run.
    HypothesisAbort {
        /// Why.
        reason: String,
    },
    /// A caller's circuit breaker opened on the target.
    BreakerOpen {
        /// The calling service.
        caller: String,
        /// Failure rate over the window [%].
        failure_rate: f64,
        /// Slow-call rate over the window [%].
        slow_rate: f64,
        /// Calls in the window.
        calls: u32,
        /// How long it stays open [s].
        #[serde(rename = "open_for_s", with = "secs::duration")]
        #[schemars(with = "f64")]
        open_for: SimDuration,
    },
    /// A caller's circuit breaker let trial calls through.
    BreakerHalfOpen {
        /// The calling service.
        caller: String,
    },
    /// A caller's circuit breaker closed again.
    BreakerClosed {
        /// The calling service.
        caller: String,
        /// Failure rate of the trial calls [%].
        failure_rate: f64,
    },
    /// A stress test's rate stopped rising.
    StressStop {
        /// The step's arrival rate [1/s].
        step_rate_per_s: f64,
        /// Its error ratio.
        error_rate: f64,
        /// The ratio that stops the test.
        stop_error_rate: f64,
    },
    /// A burn-rate alert of the target objective fired.
    AlertFired {
        /// The rule.
        #[serde(flatten)]
        rule: AlertRuleFields,
        /// The long-window burn rate when it fired.
        burn_rate_at_fire: f64,
    },
    /// A burn-rate alert of the target objective resolved.
    AlertResolved {
        /// The rule.
        #[serde(flatten)]
        rule: AlertRuleFields,
    },
}

/// A burn-rate rule, as events carry it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertRuleFields {
    /// Severity.
    pub severity: Severity,
    /// Long window [s].
    #[serde(rename = "long_s", with = "secs::duration")]
    #[schemars(with = "f64")]
    pub long: SimDuration,
    /// Short window [s].
    #[serde(rename = "short_s", with = "secs::duration")]
    #[schemars(with = "f64")]
    pub short: SimDuration,
    /// Burn-rate threshold.
    pub burn_rate: f64,
}

impl std::fmt::Display for AlertRuleFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{} burn rate > {}", self.severity, self.long, self.short, self.burn_rate)
    }
}

impl Event {
    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::FaultStart { .. } => EventKind::FaultStart,
            Event::FaultEnd { .. } => EventKind::FaultEnd,
            Event::ActorCrash { .. } => EventKind::ActorCrash,
            Event::ActorStop { .. } => EventKind::ActorStop,
            Event::ActorLeftDown => EventKind::ActorLeftDown,
            Event::ActorRestart { .. } => EventKind::ActorRestart,
            Event::SupervisorEscalate { .. } => EventKind::SupervisorEscalate,
            Event::SupervisorRestart => EventKind::SupervisorRestart,
            Event::Remediation { .. } => EventKind::Remediation,
            Event::HealthFailed { .. } => EventKind::HealthFailed,
            Event::HealthRecovered { .. } => EventKind::HealthRecovered,
            Event::NotReady => EventKind::NotReady,
            Event::Ready => EventKind::Ready,
            Event::Rebalance { .. } => EventKind::Rebalance,
            Event::DeviceLost { .. } => EventKind::DeviceLost,
            Event::DeviceRestored { .. } => EventKind::DeviceRestored,
            Event::HealthStatus { .. } => EventKind::HealthStatus,
            Event::ScaleRequested { .. } => EventKind::ScaleRequested,
            Event::ScaleUp { .. } => EventKind::ScaleUp,
            Event::ScaleDown { .. } => EventKind::ScaleDown,
            Event::HypothesisAbort { .. } => EventKind::HypothesisAbort,
            Event::BreakerOpen { .. } => EventKind::BreakerOpen,
            Event::BreakerHalfOpen { .. } => EventKind::BreakerHalfOpen,
            Event::BreakerClosed { .. } => EventKind::BreakerClosed,
            Event::StressStop { .. } => EventKind::StressStop,
            Event::AlertFired { .. } => EventKind::AlertFired,
            Event::AlertResolved { .. } => EventKind::AlertResolved,
        }
    }

    /// The `detail` column of `events.csv`, rendered from the fields (`target`: the event's target).
    pub fn detail(&self, target: &str) -> String {
        match self {
            Event::FaultStart { fault, params, duration, .. } => format!("{fault} ({params}) for {duration}"),
            Event::FaultEnd { fault } => fault.clone(),
            Event::ActorCrash { reason }
            | Event::ActorStop { reason }
            | Event::SupervisorEscalate { reason }
            | Event::HypothesisAbort { reason } => reason.clone(),
            Event::ActorLeftDown => "not restarted (restart type)".to_string(),
            Event::ActorRestart { downtime, stream_reopened: false } => format!("downtime {downtime}"),
            Event::ActorRestart { downtime, stream_reopened: true } => format!("stream reopened; downtime {downtime}"),
            Event::SupervisorRestart => format!("the root restarts the {target} subtree"),
            Event::Remediation { already_down: true, .. } => "already down, restart pending".to_string(),
            Event::Remediation { reason, already_down: false } => format!("restart requested: {reason}"),
            Event::HealthFailed { probe, probes } => format!("{probe}: {probes} consecutive probes failed"),
            Event::HealthRecovered { probe, probes } => format!("{probe}: {probes} consecutive probes passed"),
            Event::NotReady => "out of rotation: its requests are refused".to_string(),
            Event::Ready => "back in rotation".to_string(),
            Event::DeviceLost { cause } => format!("audio lost: {cause}"),
            Event::DeviceRestored { downtime } => format!("audio flows again after {downtime}"),
            Event::Rebalance { group, member, cause, members } => {
                format!("group {group}: {member} {cause}, {members} member(s) left to share the partitions")
            }
            Event::HealthStatus { status, passing, checks } => format!("{status} ({passing}/{checks} checks passing)"),
            Event::ScaleRequested { from, to, utilization, target_utilization }
            | Event::ScaleDown { from, to, utilization, target_utilization } => {
                format!("{from} -> {to} workers (utilization {utilization:.3}, target {target_utilization})")
            }
            Event::ScaleUp { from, to, utilization } => {
                format!("{from} -> {to} workers (utilization {utilization:.3} when requested)")
            }
            Event::BreakerOpen { caller, failure_rate, slow_rate, calls, open_for } => format!(
                "caller {caller}: failure rate {failure_rate:.1}%, slow-call rate {slow_rate:.1}% over {calls} calls; open for {open_for}"
            ),
            Event::BreakerHalfOpen { caller } => format!("caller {caller}"),
            Event::BreakerClosed { caller, failure_rate } => {
                format!("caller {caller}: failure rate {failure_rate:.1}% in the trial calls")
            }
            Event::StressStop { step_rate_per_s, error_rate, stop_error_rate } => format!(
                "step at {step_rate_per_s:.1}/s had an error ratio of {error_rate:.3} > {stop_error_rate}: the rate stops rising"
            ),
            Event::AlertFired { rule, burn_rate_at_fire } => {
                format!("{rule} (long-window burn rate {burn_rate_at_fire:.1})")
            }
            Event::AlertResolved { rule } => rule.to_string(),
        }
    }
}

/// One event of the run: when, about what, and what happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventRecord {
    /// When [s].
    #[serde(rename = "t_s", with = "secs::time")]
    #[schemars(with = "f64")]
    pub t: SimTime,
    /// Which actor, service, subtree or objective it is about.
    pub target: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

impl EventRecord {
    /// Its `events.csv` row.
    pub fn row(&self) -> super::rows::EventRow {
        super::rows::EventRow {
            t_s: self.t.as_secs_f64(),
            kind: self.event.kind(),
            target: self.target.clone(),
            detail: self.event.detail(&self.target),
        }
    }
}

/// Renders `events.jsonl`: one record per line.
pub fn to_jsonl(events: &[EventRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        serde_json::to_writer(&mut out, e).expect("invariant: an event serializes");
        out.push(b'\n');
    }
    out
}

/// Reads `events.jsonl`; the error names the line.
pub fn from_jsonl(bytes: &[u8]) -> Result<Vec<EventRecord>, String> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| serde_json::from_slice(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_the_kind() {
        // events.jsonl's `kind` (serde's tag) and events.csv's `kind` (EventKind) must be one name.
        let d = SimDuration::from_millis(1500);
        let rule = AlertRuleFields { severity: Severity::Page, long: d, short: d, burn_rate: 14.4 };
        let all = [
            Event::FaultStart {
                fault: "f".into(),
                chaos: "f".into(),
                fault_kind: FaultKind::Kill,
                params: "kill".into(),
                duration: d,
            },
            Event::FaultEnd { fault: "f".into() },
            Event::ActorCrash { reason: "r".into() },
            Event::ActorStop { reason: "r".into() },
            Event::ActorLeftDown,
            Event::ActorRestart { downtime: d, stream_reopened: true },
            Event::SupervisorEscalate { reason: "r".into() },
            Event::SupervisorRestart,
            Event::Remediation { reason: "r".into(), already_down: false },
            Event::HealthFailed { probe: ProbeKind::Readiness, probes: 3 },
            Event::HealthRecovered { probe: ProbeKind::Startup, probes: 1 },
            Event::NotReady,
            Event::Ready,
            Event::DeviceLost { cause: "c".into() },
            Event::DeviceRestored { downtime: d },
            Event::Rebalance {
                group: "g".into(),
                member: "m".into(),
                cause: RebalanceCause::SessionTimeout,
                members: 1,
            },
            Event::HealthStatus { status: Status::Degraded, passing: 1, checks: 2 },
            Event::ScaleRequested { from: 1, to: 2, utilization: 0.9, target_utilization: 0.5 },
            Event::ScaleUp { from: 1, to: 2, utilization: 0.9 },
            Event::ScaleDown { from: 2, to: 1, utilization: 0.1, target_utilization: 0.5 },
            Event::HypothesisAbort { reason: "r".into() },
            Event::BreakerOpen { caller: "a".into(), failure_rate: 60.0, slow_rate: 0.0, calls: 10, open_for: d },
            Event::BreakerHalfOpen { caller: "a".into() },
            Event::BreakerClosed { caller: "a".into(), failure_rate: 0.0 },
            Event::StressStop { step_rate_per_s: 100.0, error_rate: 0.2, stop_error_rate: 0.1 },
            Event::AlertFired { rule: rule.clone(), burn_rate_at_fire: 20.0 },
            Event::AlertResolved { rule },
        ];
        assert_eq!(all.len(), EventKind::ALL.len(), "one example per kind");
        for e in all {
            let rec = EventRecord { t: SimTime::from_nanos(1_500_000_001), target: "x".into(), event: e };
            let v = serde_json::to_value(&rec).unwrap();
            assert_eq!(v["kind"], rec.event.kind().name(), "{rec:?}");
            let back: EventRecord = serde_json::from_value(v).unwrap();
            assert_eq!(back, rec, "round trip");
        }
    }

    #[test]
    fn details_read_as_before() {
        let d = SimDuration::from_millis(2500);
        let open =
            Event::BreakerOpen { caller: "gw".into(), failure_rate: 62.5, slow_rate: 0.0, calls: 8, open_for: d };
        assert_eq!(
            open.detail("db"),
            "caller gw: failure rate 62.5%, slow-call rate 0.0% over 8 calls; open for 2s 500ms"
        );
        let rule = AlertRuleFields {
            severity: Severity::Page,
            long: SimDuration::from_secs(3600),
            short: SimDuration::from_secs(300),
            burn_rate: 14.4,
        };
        assert_eq!(Event::AlertResolved { rule }.detail("avail"), "page 1h/5m burn rate > 14.4");
        let status = Event::HealthStatus { status: Status::Degraded, passing: 2, checks: 3 };
        assert_eq!(status.detail("system"), "degraded (2/3 checks passing)");
    }
}
