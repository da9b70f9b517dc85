//! The autoscaler: evaluates every autoscaled service each `interval` from the utilisation it measured
//! since the last evaluation, and resizes its worker pool (scale-ups take effect after the provisioning
//! delay).

use super::{Event, ServiceMsg, SimLab, record};
use crate::model::event::Event as Ev;
use crate::resilience::{Autoscaler as Hpa, Scale};
use crate::scenario::{Scenario, ServiceId};
use crate::sim::Behavior;

/// Messages to the autoscaler.
#[derive(Debug)]
pub(crate) enum AutoscaleMsg {
    /// Time to evaluate component `i`.
    Tick(u32),
    /// A service's utilisation since the last evaluation.
    Load {
        service: ServiceId,
        /// Busy worker-seconds / worker-seconds.
        utilization: f64,
        /// Its workers now.
        workers: u32,
    },
    /// New workers of component `i` are up.
    Provisioned {
        /// Component index.
        i: u32,
        /// The new number of workers.
        to: u32,
        /// The number before.
        from: u32,
        /// The utilisation that triggered it.
        utilization: f64,
    },
}

struct Component {
    service: ServiceId,
    name: String,
    hpa: Hpa,
}

/// Scaling figures at the end of a run, per autoscaled service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScaleStats {
    /// Scale-ups that took effect.
    pub scale_ups: u64,
    /// Scale-downs.
    pub scale_downs: u64,
}

/// The behaviour of the autoscaler.
pub(crate) struct Autoscaler {
    components: Vec<Component>,
    stats: Vec<ScaleStats>,
}

impl Autoscaler {
    /// An autoscaler of every service of `sc` with an autoscale section.
    pub(crate) fn new(sc: &Scenario) -> Self {
        let components = sc
            .services
            .iter()
            .filter_map(|s| {
                s.autoscale.clone().map(|a| Component { service: s.id, name: s.name.clone(), hpa: Hpa::new(a) })
            })
            .collect();
        Autoscaler { components, stats: vec![ScaleStats::default(); sc.services.len()] }
    }

    /// Puts the first evaluation of every component on the calendar.
    pub(crate) fn schedule(&self, lab: &SimLab) {
        for (i, c) in self.components.iter().enumerate() {
            lab.schedule_daemon(lab.now() + c.hpa.config().interval, Event::Autoscale(AutoscaleMsg::Tick(i as u32)));
        }
    }
}

impl Behavior for Autoscaler {
    type Msg = AutoscaleMsg;
    type Event = Event;
    type Report = Vec<ScaleStats>;

    fn handle(&mut self, msg: AutoscaleMsg, lab: &SimLab) {
        let now = lab.now();
        match msg {
            AutoscaleMsg::Tick(i) => {
                let c = &self.components[i as usize];
                lab.send(Event::Service(c.service, ServiceMsg::LoadReport));
                lab.schedule_daemon(now + c.hpa.config().interval, Event::Autoscale(AutoscaleMsg::Tick(i)));
            }
            AutoscaleMsg::Load { service, utilization, workers } => {
                let Some(i) = self.components.iter().position(|c| c.service == service) else {
                    return;
                };
                let c = &mut self.components[i];
                let target = c.hpa.config().target_utilization;
                match c.hpa.evaluate(now, workers, utilization) {
                    Scale::Hold => {}
                    Scale::Up { to } => {
                        let msg = AutoscaleMsg::Provisioned { i: i as u32, to, from: workers, utilization };
                        lab.schedule_daemon(now + c.hpa.config().provisioning_delay, Event::Autoscale(msg));
                        let ev = Ev::ScaleRequested { from: workers, to, utilization, target_utilization: target };
                        record(lab, &c.name, ev);
                    }
                    Scale::Down { to } => {
                        self.stats[service.index()].scale_downs += 1;
                        lab.send(Event::Service(service, ServiceMsg::SetWorkers { workers: to }));
                        let ev = Ev::ScaleDown { from: workers, to, utilization, target_utilization: target };
                        record(lab, &c.name, ev);
                    }
                }
            }
            AutoscaleMsg::Provisioned { i, to, from, utilization } => {
                let c = &mut self.components[i as usize];
                c.hpa.provisioned();
                self.stats[c.service.index()].scale_ups += 1;
                lab.send(Event::Service(c.service, ServiceMsg::SetWorkers { workers: to }));
                record(lab, &c.name, Ev::ScaleUp { from, to, utilization });
            }
        }
    }

    fn finish(&mut self, _lab: &SimLab) -> Vec<ScaleStats> {
        std::mem::take(&mut self.stats)
    }
}
