//! The health checker: probes every service that has a `[services.health]` section, fails and recovers
//! its check by the consecutive thresholds, asks the supervisor to restart a failed service (remediation),
//! and tracks the overall status by the share of passing checks.

use super::{Event, NodeMsg, SimLab, SupervisorMsg, record};
use crate::model::event::Event as Ev;
pub(crate) use crate::model::summary::HealthReport;
use crate::resilience::{Check, CheckChange, ProbeKind, Status, overall};
use crate::scenario::{Scenario, ServiceId};
use crate::sim::{Behavior, SimTime, TimerId};

/// Messages to the health checker.
#[derive(Debug)]
pub(crate) enum HealthMsg {
    /// Time to probe component `i`.
    Probe(u32),
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
}

struct Component {
    service: ServiceId,
    name: String,
    check: Check,
    seq: u64,
    timer: Option<TimerId>,
}

/// The behaviour of the health checker.
pub(crate) struct HealthChecker {
    components: Vec<Component>,
    status: Status,
    since: SimTime,
    report: HealthReport,
}

impl HealthChecker {
    /// A checker of every service of `sc` with a health section.
    pub(crate) fn new(sc: &Scenario) -> Self {
        let components: Vec<Component> = sc
            .services
            .iter()
            .filter_map(|s| {
                s.health.clone().map(|h| Component {
                    service: s.id,
                    name: s.name.clone(),
                    check: Check::new(h),
                    seq: 0,
                    timer: None,
                })
            })
            .collect();
        let report = HealthReport { components: components.len(), ..HealthReport::default() };
        HealthChecker { components, status: Status::Healthy, since: SimTime::ZERO, report }
    }

    /// Puts the first probe of every component on the calendar (probes do not keep a run alive).
    pub(crate) fn schedule(&self, lab: &SimLab) {
        for (i, c) in self.components.iter().enumerate() {
            lab.schedule_daemon(SimTime::ZERO + c.check.config().interval, Event::Health(HealthMsg::Probe(i as u32)));
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

    fn on_result(&mut self, i: usize, ok: bool, lab: &SimLab) {
        let c = &mut self.components[i];
        if !ok {
            self.report.failed_probes += 1;
        }
        let change = c.check.on_probe(ok);
        match change {
            Some(CheckChange::Failed) => {
                self.report.checks_failed += 1;
                let cfg = c.check.config();
                record(lab, &c.name, Ev::HealthFailed { probes: cfg.failure_threshold });
                if cfg.remediate {
                    self.report.remediations += 1;
                    let reason = format!("health check failed ({} consecutive probes)", cfg.failure_threshold);
                    lab.send(Event::Supervisor(SupervisorMsg::Remediate { service: c.service, reason: reason.into() }));
                }
            }
            Some(CheckChange::Recovered) => {
                record(lab, &c.name, Ev::HealthRecovered { probes: c.check.config().success_threshold })
            }
            None => {}
        }
        if change.is_some() {
            let passing = self.components.iter().filter(|c| c.check.passing()).count();
            let status = overall(passing, self.components.len());
            if status != self.status {
                self.account(lab.now());
                self.status = status;
                record(lab, "system", Ev::HealthStatus { status, passing, checks: self.components.len() });
            }
        }
    }
}

impl Behavior for HealthChecker {
    type Msg = HealthMsg;
    type Event = Event;
    type Report = HealthReport;

    fn handle(&mut self, msg: HealthMsg, lab: &SimLab) {
        let now = lab.now();
        match msg {
            HealthMsg::Probe(i) => {
                let c = &mut self.components[i as usize];
                c.seq += 1;
                self.report.probes += 1;
                let cfg = c.check.config().clone();
                c.timer = Some(lab.timer(now + cfg.timeout, Event::Health(HealthMsg::ProbeTimeout { i, seq: c.seq })));
                let readiness = cfg.probe == ProbeKind::Readiness;
                let token = u64::from(i) << 32 | c.seq;
                lab.send(Event::Node(c.service, NodeMsg::Probe { token, readiness }));
                lab.schedule_daemon(now + cfg.interval, Event::Health(HealthMsg::Probe(i)));
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
        }
    }

    fn finish(&mut self, lab: &SimLab) -> HealthReport {
        self.account(lab.now());
        let mut r = std::mem::take(&mut self.report);
        r.status = (!self.components.is_empty()).then_some(self.status);
        r
    }
}
