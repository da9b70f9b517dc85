//! The actors of a simulated run and the messages between them.
//!
//! ```text
//!             RootSupervisor ◀── ChildCrashed ── Service ◀── Kill / FaultOn / FaultOff ── ChaosInjector
//!                   │  Restart                      ▲ │
//!                   └──────────────────────────────▶│ │ Call / Reply (callee services, callers)
//!   LoadGenerator ── Call (scheduled arrivals) ──────┘ │
//!        ▲─────────────────── Reply ───────────────────┘
//!   Recorder ◀── EventRecord (fault_start, actor_crash, ...) from the chaos injector and the supervisor
//! ```
//! Every actor is an actix actor ([`crate::sim::Node`]) around a behaviour defined in a submodule.

pub(crate) mod audio;
pub(crate) mod autoscaler;
pub(crate) mod bus;
pub(crate) mod chaos;
pub(crate) mod experiment;
pub(crate) mod gauges;
pub(crate) mod health;
pub(crate) mod load;
pub(crate) mod node;
pub(crate) mod recorder;
pub(crate) mod service;
pub(crate) mod supervisor;

use slotmap::{DefaultKey, Key, KeyData};

use crate::scenario::{FaultEffect, ServiceId};
use crate::sim::Lab;
use crate::sim::SimDuration;

pub(crate) use autoscaler::{AutoscaleMsg, Autoscaler, ScaleStats};
pub(crate) use bus::{BusMsg, BusReport, EventBus};
pub(crate) use chaos::{ChaosInjector, ChaosMsg, FaultRecord};
pub(crate) use health::{HealthChecker, HealthMsg, HealthReport};
pub(crate) use load::{LoadGenerator, LoadMsg};
pub(crate) use node::NodeMsg;
pub(crate) use recorder::{EventRecord, Recorder, RecorderMsg};
pub(crate) use service::{ConsumerMsg, ServiceActor, ServiceMsg, ServiceReport};
pub(crate) use supervisor::{RootMsg, RootSupervisor, ServiceSupervisor, SupervisorMsg};

/// Every message of a simulated run, addressed to its actor.
pub(crate) enum Event {
    /// To a node of the service graph (a service or an event bus).
    Node(ServiceId, NodeMsg),
    /// To a request/response service.
    Service(ServiceId, ServiceMsg),
    /// To a service as an event-bus consumer.
    Consumer(ServiceId, ConsumerMsg),
    /// To an event bus.
    Bus(ServiceId, BusMsg),
    /// To the load generator.
    Load(LoadMsg),
    /// To the chaos injector.
    Chaos(ChaosMsg),
    /// To the services supervisor.
    Supervisor(SupervisorMsg),
    /// To the root supervisor.
    Root(RootMsg),
    /// To the recorder.
    Recorder(RecorderMsg),
    /// To the health checker.
    Health(HealthMsg),
    /// To the autoscaler.
    Autoscale(AutoscaleMsg),
    /// To the audio device.
    Device(audio::DeviceMsg),
    /// To the mixer.
    Mixer(audio::MixerMsg),
    /// To the audio monitor.
    Monitor(audio::MonitorMsg),
    /// To the device's supervisor.
    DeviceSup(audio::DeviceSupMsg),
    /// To the experiment monitor.
    Experiment(experiment::ExperimentMsg),
}

/// The lab of a simulated run.
pub(crate) type SimLab = Lab<Event>;

/// Who is waiting for a call's answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The load generator (a client request to the entry service).
    Load,
    /// A service calling one of its dependencies.
    Service(ServiceId),
    /// The health checker's readiness probe.
    Health,
    /// An event-bus consumer processing a message (the service itself).
    Consumer(ServiceId),
}

/// The answer to a call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum CallResult {
    /// Done.
    Ok,
    /// Failed (error, failed dependency, crash, down).
    Failed,
    /// Refused: queue full.
    Rejected,
}

impl Caller {
    /// The reply event to this caller.
    pub(crate) fn reply(self, token: u64, tag: u32, result: CallResult) -> Event {
        match self {
            Caller::Load => Event::Load(LoadMsg::Reply { token, result }),
            Caller::Service(id) => Event::Service(id, ServiceMsg::Reply { token, tag, result }),
            Caller::Health => Event::Health(HealthMsg::ProbeReply { token, ok: result == CallResult::Ok }),
            Caller::Consumer(id) => Event::Consumer(id, ConsumerMsg::Consumed { token, tag, result }),
        }
    }
}

/// The request-level faults active on a service or an event bus (latency, errors, slowdown, hang,
/// partitions), and what they add up to.
#[derive(Debug, Default)]
pub(crate) struct RequestFaults {
    active: Vec<(u32, FaultEffect)>,
    base_error: f64,
    /// Distributions of latency faults (the scenario's `fault_dists`).
    dists: std::sync::Arc<[crate::dist::Dist]>,
    /// Constant time added to every request's processing.
    pub extra_latency: SimDuration,
    /// Probability that a request fails: own error rate and every active error fault.
    pub fail_prob: f64,
    /// Processing time multiplier (cpu-stall on a service).
    pub slowdown: f64,
    /// The service is hung.
    pub hung: bool,
    /// Whether any latency fault draws per request.
    drawn: bool,
}

impl RequestFaults {
    /// No fault yet, over an own error rate; `dists` are the scenario's fault distributions.
    pub(crate) fn new(base_error: f64, dists: std::sync::Arc<[crate::dist::Dist]>) -> Self {
        RequestFaults {
            active: Vec::new(),
            base_error,
            dists,
            extra_latency: SimDuration::ZERO,
            fail_prob: base_error,
            slowdown: 1.0,
            hung: false,
            drawn: false,
        }
    }

    /// A request's processing time under the active faults, given its own processing time.
    #[inline]
    pub(crate) fn processing(&self, own: SimDuration, rng: &mut crate::sim::SimRng) -> SimDuration {
        let mut t = own;
        if self.slowdown != 1.0 {
            t = SimDuration::from_secs_f64(own.as_secs_f64() * self.slowdown);
        }
        t = t + self.extra_latency;
        if self.drawn {
            use rand::RngExt;
            for (_, e) in &self.active {
                if let FaultEffect::Latency { dist, jitter, .. } = e {
                    if let Some(d) = dist {
                        t = t + self.dists[*d as usize].sample(rng);
                    }
                    if !jitter.is_zero() {
                        t = t + SimDuration::from_secs_f64(rng.random::<f64>() * jitter.as_secs_f64());
                    }
                }
            }
        }
        t
    }

    /// Whether calls to `callee` are lost (a partition is active towards it).
    pub(crate) fn partitioned(&self, callee: ServiceId) -> bool {
        self.active.iter().any(|(_, e)| matches!(e, FaultEffect::Partition { to } if *to == callee))
    }

    /// Fault `fault` starts.
    pub(crate) fn on(&mut self, fault: u32, effect: FaultEffect) {
        self.active.push((fault, effect));
        self.recompute();
    }

    /// Fault `fault` ends.
    pub(crate) fn off(&mut self, fault: u32) {
        self.active.retain(|(f, _)| *f != fault);
        self.recompute();
    }

    fn recompute(&mut self) {
        let mut extra = SimDuration::ZERO;
        let mut ok = 1.0 - self.base_error;
        self.slowdown = 1.0;
        self.hung = false;
        self.drawn = false;
        for (_, e) in &self.active {
            match e {
                FaultEffect::Latency { add, dist, jitter } => {
                    extra = extra + *add;
                    self.drawn |= dist.is_some() || !jitter.is_zero();
                }
                FaultEffect::Errors { rate } => ok *= 1.0 - rate,
                FaultEffect::Slowdown { factor } => self.slowdown *= factor,
                FaultEffect::Hang => self.hung = true,
                _ => {}
            }
        }
        self.extra_latency = extra;
        self.fail_prob = 1.0 - ok;
    }
}

/// A slot-map key as a token carried in messages.
pub(crate) fn token(key: DefaultKey) -> u64 {
    key.data().as_ffi()
}

/// The slot-map key of a token.
pub(crate) fn key(token: u64) -> DefaultKey {
    KeyData::from_ffi(token).into()
}

/// Records an event through the recorder actor.
pub(crate) fn record(lab: &SimLab, target: &str, event: crate::model::event::Event) {
    lab.send(Event::Recorder(RecorderMsg::Event(Box::new(EventRecord {
        t: lab.now(),
        target: target.to_string(),
        event,
    }))));
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_stay_small() {
        // Events live in the event queue and in actix envelopes: keep them to a few words.
        assert!(std::mem::size_of::<super::Event>() <= 40, "{}", std::mem::size_of::<super::Event>());
    }
}
