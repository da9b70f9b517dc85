//! The health checker: Kubernetes' prober for every service with `[services.health]` probes. Each probe
//! runs every `interval` from `initial_delay` after the service's (re)start and changes its check after
//! the consecutive thresholds; a failed liveness or startup check asks the supervisor to restart the service
//! (remediation) and holds the probe until the restart; a readiness check takes the service out of rotation
//! while it fails (it refuses requests) and never restarts it; a startup probe holds the service's other
//! probes off until it has passed once after each (re)start. The overall status is the share of passing
//! checks.

use super::{Event, NodeMsg, SimLab, SupervisorMsg, record};
use crate::model::event::Event as Ev;
pub(crate) use crate::model::summary::HealthReport;
use crate::resilience::{Check, CheckChange, ProbeKind, Status, overall};
use crate::scenario::{Scenario, ServiceId};
use crate::sim::{Behavior, SimTime, TimerId};

/// Messages to the health checker.
#[derive(Debug)]
pub(crate) enum HealthMsg {
    /// Time to probe component `i`, if its schedule is still generation `generation`.
    Probe {
        /// Component index.
        i: u32,
        /// The schedule it belongs to (a restart starts a new one).
        generation: u32,
    },
    /// A probe was answered.
    ProbeReply {
        /// The probe: component index × 2^32 + sequence number.
        token: u64,
        /// Whether it passed.
        ok: bool,
    },
    /// A probe was not answered in time.
    ProbeTimeout {
        /// Component index.
        i: u32,
        /// The probe.
        seq: u64,
    },
    /// The supervisor restarted a service: its probes start afresh.
    Restarted {
        /// The service.
        service: ServiceId,
    },
}

struct Component {
    service: ServiceId,
    name: String,
    check: Check,
    seq: u64,
    timer: Option<TimerId>,
    generation: u32,
    /// A liveness or startup failure asked for a restart; a passed startup probe is done: no probing
    /// until the service restarts (the kubelet's `onHold`).
    on_hold: bool,
}

/// The behaviour of the health checker.
pub(crate) struct HealthChecker {
    components: Vec<Component>,
    status: Status,
    since: SimTime,
    report: HealthReport,
}

impl HealthChecker {
    /// A checker of every probe of every service of `sc`.
    pub(crate) fn new(sc: &Scenario) -> Self {
        let components: Vec<Component> = sc
            .services
            .iter()
            .flat_map(|s| {
                s.health.iter().map(|h| Component {
                    service: s.id,
                    name: s.name.clone(),
                    check: Check::new(h.clone()),
                    seq: 0,
                    timer: None,
                    generation: 0,
                    on_hold: false,
                })
            })
            .collect();
        let report = HealthReport { components: components.len(), ..HealthReport::default() };
        HealthChecker { components, status: Status::Healthy, since: SimTime::ZERO, report }
    }

    /// Puts the first probe of every component on the calendar (probes do not keep a run alive).
    pub(crate) fn schedule(&self, lab: &SimLab) {
        for (i, c) in self.components.iter().enumerate() {
            let first = SimTime::ZERO + c.check.config().initial_delay;
            lab.schedule_daemon(first, Event::Health(HealthMsg::Probe { i: i as u32, generation: 0 }));
        }
    }

    fn account(&mut self, now: SimTime) {
        let secs = (now - self.since).as_secs_f64();
        match self.status {
            Status::Healthy => {}
            Status::Degraded => self.report.degraded_s += secs,
            Status::Unhealthy => self.report.unhealthy_s += secs,
            Status::Critical => self.report.critical_s += secs,
        }
        self.since = now;
    }

    /// Whether the service of component `i` has a startup probe that has not passed since its (re)start.
    fn starting(&self, i: usize) -> bool {
        let service = self.components[i].service;
        self.components
            .iter()
            .any(|c| c.service == service && c.check.config().probe == ProbeKind::Startup && !c.check.passing())
    }

    fn probe(&mut self, i: usize, lab: &SimLab) {
        let now = lab.now();
        let held = self.components[i].on_hold
            || (self.components[i].check.config().probe != ProbeKind::Startup && self.starting(i));
        let c = &mut self.components[i];
        let cfg = c.check.config().clone();
        lab.schedule_daemon(
            now + cfg.interval,
            Event::Health(HealthMsg::Probe { i: i as u32, generation: c.generation }),
        );
        if held {
            return;
        }
        c.seq += 1;
        self.report.probes += 1;
        if let Some(t) = c.timer.take() {
            lab.cancel(t);
        }
        c.timer =
            Some(lab.timer(now + cfg.timeout, Event::Health(HealthMsg::ProbeTimeout { i: i as u32, seq: c.seq })));
        let token = (i as u64) << 32 | c.seq;
        lab.send(Event::Node(c.service, NodeMsg::Probe { token, probe: cfg.probe }));
    }

    fn on_result(&mut self, i: usize, ok: bool, lab: &SimLab) {
        let c = &mut self.components[i];
        if !ok {
            self.report.failed_probes += 1;
        }
        let change = c.check.on_probe(ok);
        let cfg = c.check.config().clone();
        match change {
            Some(CheckChange::Failed) => {
                self.report.checks_failed += 1;
                record(lab, &c.name, Ev::HealthFailed { probe: cfg.probe, probes: cfg.failure_threshold });
                match cfg.probe {
                    ProbeKind::Readiness => {
                        record(lab, &c.name, Ev::NotReady);
                        lab.send(Event::Node(c.service, NodeMsg::SetReady { ready: false }));
                    }
                    ProbeKind::Liveness | ProbeKind::Startup => {
                        // The kubelet stops probing a container it is going to restart.
                        c.on_hold = cfg.remediate;
                        if cfg.remediate {
                            self.report.remediations += 1;
                            let reason =
                                format!("{} probe failed ({} consecutive probes)", cfg.probe, cfg.failure_threshold);
                            let service = c.service;
                            lab.send(Event::Supervisor(SupervisorMsg::Remediate { service, reason: reason.into() }));
                        }
                    }
                }
            }
            Some(CheckChange::Recovered) => {
                record(lab, &c.name, Ev::HealthRecovered { probe: cfg.probe, probes: cfg.success_threshold });
                match cfg.probe {
                    ProbeKind::Readiness => {
                        record(lab, &c.name, Ev::Ready);
                        lab.send(Event::Node(c.service, NodeMsg::SetReady { ready: true }));
                    }
                    // Started: this probe is done until the next restart; the others begin now.
                    ProbeKind::Startup => c.on_hold = true,
                    ProbeKind::Liveness => {}
                }
            }
            None => {}
        }
        if change.is_some() {
            self.update_status(lab);
        }
    }

    fn update_status(&mut self, lab: &SimLab) {
        let passing = self.components.iter().filter(|c| c.check.passing()).count();
        let status = overall(passing, self.components.len());
        if status != self.status {
            self.account(lab.now());
            self.status = status;
            record(lab, "system", Ev::HealthStatus { status, passing, checks: self.components.len() });
        }
    }

    /// A restarted service: every probe of it starts afresh, `initial_delay` from now.
    fn restarted(&mut self, service: ServiceId, lab: &SimLab) {
        let now = lab.now();
        let mut any = false;
        for (i, c) in self.components.iter_mut().enumerate().filter(|(_, c)| c.service == service) {
            any = true;
            c.check.reset();
            c.on_hold = false;
            c.generation += 1;
            if let Some(t) = c.timer.take() {
                lab.cancel(t);
            }
            let first = now + c.check.config().initial_delay;
            lab.schedule_daemon(first, Event::Health(HealthMsg::Probe { i: i as u32, generation: c.generation }));
        }
        if any {
            self.update_status(lab);
        }
    }
}

impl Behavior for HealthChecker {
    type Msg = HealthMsg;
    type Event = Event;
    type Report = HealthReport;

    fn handle(&mut self, msg: HealthMsg, lab: &SimLab) {
        match msg {
            HealthMsg::Probe { i, generation } => {
                if self.components[i as usize].generation == generation {
                    self.probe(i as usize, lab);
                }
            }
            HealthMsg::ProbeReply { token, ok } => {
                let (i, seq) = ((token >> 32) as usize, token & 0xffff_ffff);
                let c = &mut self.components[i];
                if c.seq == seq {
                    if let Some(t) = c.timer.take() {
                        lab.cancel(t);
                        self.on_result(i, ok, lab);
                    }
                }
            }
            HealthMsg::ProbeTimeout { i, seq } => {
                let c = &mut self.components[i as usize];
                if c.seq == seq && c.timer.take().is_some() {
                    self.on_result(i as usize, false, lab);
                }
            }
            HealthMsg::Restarted { service } => self.restarted(service, lab),
        }
    }

    fn finish(&mut self, lab: &SimLab) -> HealthReport {
        self.account(lab.now());
        let mut r = std::mem::take(&mut self.report);
        r.status = (!self.components.is_empty()).then_some(self.status);
        r
    }
}
