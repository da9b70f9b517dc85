//! The autoscaler: evaluates every autoscaled service each `interval` from the utilisation it measured
//! since the last evaluation (CPU or concurrency), whatever is still provisioning, and resizes its worker
//! pool: scale-ups take effect after the provisioning delay, scale-downs remove workers not yet up first.

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
        /// CPU or concurrency, as its autoscaler measures it, over its running workers.
        utilization: f64,
        /// Its workers running now.
        workers: u32,
    },
    /// A batch of new workers of component `i` is up.
    Provisioned {
        /// Component index.
        i: u32,
        /// The batch.
        batch: u32,
    },
}

/// Workers asked for by one scale-up, not up yet.
struct Pending {
    batch: u32,
    workers: u32,
    /// The utilisation that asked for them.
    utilization: f64,
}

struct Component {
    service: ServiceId,
    name: String,
    hpa: Hpa,
    /// Workers running (what the service has).
    running: u32,
    /// Scale-ups still provisioning, oldest first.
    pending: Vec<Pending>,
    next_batch: u32,
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
                s.autoscale.clone().map(|a| Component {
                    service: s.id,
                    name: s.name.clone(),
                    hpa: Hpa::new(a, s.workers),
                    running: s.workers,
                    pending: Vec::new(),
                    next_batch: 0,
                })
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

    fn evaluate(&mut self, service: ServiceId, utilization: f64, workers: u32, lab: &SimLab) {
        let now = lab.now();
        let Some(i) = self.components.iter().position(|c| c.service == service) else {
            return;
        };
        let c = &mut self.components[i];
        let target = c.hpa.config().target_utilization;
        let asked = c.hpa.replicas();
        match c.hpa.evaluate(now, workers, utilization) {
            Scale::Hold => {}
            Scale::Up { to } => {
                let batch = c.next_batch;
                c.next_batch += 1;
                c.pending.push(Pending { batch, workers: to - asked, utilization });
                let msg = AutoscaleMsg::Provisioned { i: i as u32, batch };
                lab.schedule_daemon(now + c.hpa.config().provisioning_delay, Event::Autoscale(msg));
                let ev = Ev::ScaleRequested { from: asked, to, utilization, target_utilization: target };
                record(lab, &c.name, ev);
            }
            Scale::Down { to } => {
                // As the ReplicaSet controller, remove workers that are not up yet first (newest first).
                let mut remove = asked - to;
                while remove > 0 {
                    let Some(p) = c.pending.last_mut() else { break };
                    let n = p.workers.min(remove);
                    p.workers -= n;
                    remove -= n;
                    if p.workers == 0 {
                        c.pending.pop();
                    }
                }
                self.stats[service.index()].scale_downs += 1;
                if remove > 0 {
                    c.running -= remove;
                    lab.send(Event::Service(service, ServiceMsg::SetWorkers { workers: c.running }));
                }
                let ev = Ev::ScaleDown { from: asked, to, utilization, target_utilization: target };
                record(lab, &c.name, ev);
            }
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
            AutoscaleMsg::Load { service, utilization, workers } => self.evaluate(service, utilization, workers, lab),
            AutoscaleMsg::Provisioned { i, batch } => {
                let c = &mut self.components[i as usize];
                // A batch a scale-down cancelled is gone.
                let Some(k) = c.pending.iter().position(|p| p.batch == batch) else { return };
                let p = c.pending.remove(k);
                let from = c.running;
                c.running += p.workers;
                self.stats[c.service.index()].scale_ups += 1;
                lab.send(Event::Service(c.service, ServiceMsg::SetWorkers { workers: c.running }));
                record(lab, &c.name, Ev::ScaleUp { from, to: c.running, utilization: p.utilization });
            }
        }
    }

    fn finish(&mut self, _lab: &SimLab) -> Vec<ScaleStats> {
        std::mem::take(&mut self.stats)
    }
}
