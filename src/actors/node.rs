//! What a node of the service graph (a request/response service or an event bus) takes from the rest
//! of the run. Each kind of node also has messages of its own: [`super::ServiceMsg`],
//! [`super::BusMsg`], [`super::ConsumerMsg`].

use super::Caller;
use crate::scenario::FaultEffect;
use crate::sim::{SimDuration, SimTime};

/// Messages every node of the service graph takes, a service or an event bus: requests, faults, the
/// supervisor's lifecycle, probes.
#[derive(Debug)]
pub(crate) enum NodeMsg {
    /// A request.
    Call {
        /// Who to answer.
        from: Caller,
        /// The caller's token, echoed in the reply.
        token: u64,
        /// The caller's tag, echoed in the reply.
        tag: u32,
        /// When the caller gives up (`SimTime::MAX`: never).
        deadline: SimTime,
    },
    /// A latency or error fault starts.
    FaultOn {
        /// Index of the fault in the scenario.
        fault: u32,
        effect: FaultEffect,
    },
    /// A fault ends.
    FaultOff {
        /// Index of the fault in the scenario.
        fault: u32,
    },
    /// Crash now; stay down for at least `down_for`.
    Kill {
        /// Why (shown in the event log).
        reason: Box<str>,
        /// Minimum downtime.
        down_for: SimDuration,
    },
    /// Stop normally now; if restarted, stay down for at least `down_for`.
    Stop {
        /// Why (shown in the event log).
        reason: Box<str>,
        /// Minimum downtime.
        down_for: SimDuration,
    },
    /// The next request started makes the handler panic (an injected bug).
    ArmPanic {
        /// The fault's name.
        fault: Box<str>,
    },
    /// The supervisor shuts the service down (a sibling crashed, or it gave up); it does not report back.
    Shutdown,
    /// The supervisor restarts the service.
    Restart,
    /// A health probe.
    Probe {
        /// The probe's token, echoed in the answer.
        token: u64,
        /// What it checks.
        probe: crate::resilience::ProbeKind,
    },
    /// The health checker takes the service out of rotation (a failing readiness check) or puts it back:
    /// while not ready it refuses every request at once.
    SetReady {
        /// In rotation.
        ready: bool,
    },
    /// The experiment monitor asks for a probe's value in the window that just ended.
    ReportWindow {
        /// Probe index (echoed).
        probe: u32,
        /// What to measure.
        metric: crate::model::summary::ProbeMetric,
    },
    /// Tell the chaos injector when the service next answers a request successfully (fault `fault` ended).
    WatchRecovery { fault: u32 },
}

impl NodeMsg {
    /// Whether a hung node still reacts to it (the chaos injector's and the supervisor's messages, the
    /// experiment monitor's questions): everything else waits until the hang ends.
    pub(crate) fn is_control(&self) -> bool {
        !matches!(self, NodeMsg::Call { .. } | NodeMsg::Probe { .. })
    }
}
