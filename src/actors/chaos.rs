//! The chaos injector: starts and ends each fault of the scenario at its instant.

use super::audio::DeviceMsg;
use super::{Event, NodeMsg, SimLab, record};
use crate::model::event::Event as Ev;
use crate::scenario::{Fault, FaultEffect, Target};
use crate::sim::{Behavior, SimTime};

/// Messages to the chaos injector.
#[derive(Debug)]
pub(crate) enum ChaosMsg {
    /// Fault `i` starts.
    Start(u32),
    /// Fault `i` ends.
    End(u32),
    /// The target of fault `fault` answered successfully after the fault ended.
    Recovered { fault: u32 },
}

/// What happened to one fault.
#[derive(Clone, Debug)]
pub struct FaultRecord {
    /// Its label.
    pub name: String,
    /// The `[[chaos]]` entry it comes from.
    pub chaos: String,
    pub kind: crate::model::summary::FaultKind,
    /// The target's name.
    pub target: String,
    /// Parameters, in words.
    pub detail: String,
    /// When it started (`None`: the run ended first).
    pub start: Option<SimTime>,
    /// When it ended (`None`: it was still active when the run ended).
    pub end: Option<SimTime>,
    /// When the target first answered a request successfully after the fault ended (`None`: never).
    pub recovered: Option<SimTime>,
}

/// The behaviour of the chaos injector.
pub(crate) struct ChaosInjector {
    faults: Vec<Fault>,
    targets: Vec<String>,
    records: Vec<FaultRecord>,
}

impl ChaosInjector {
    /// An injector for `faults`; `targets[i]` is the name of fault i's target.
    pub(crate) fn new(faults: Vec<Fault>, sc: &crate::scenario::Scenario) -> Self {
        let targets: Vec<String> = faults.iter().map(|f| sc.target_name(f.target).to_string()).collect();
        let records = faults
            .iter()
            .zip(&targets)
            .map(|(f, t)| FaultRecord {
                name: f.name.clone(),
                chaos: f.chaos.clone(),
                kind: f.effect.kind(),
                target: t.clone(),
                detail: match f.effect {
                    FaultEffect::Partition { to } => format!("calls to {} are lost", sc.service(to).name),
                    e => e.describe(),
                },
                start: None,
                end: None,
                recovered: None,
            })
            .collect();
        ChaosInjector { faults, targets, records }
    }

    /// Puts every start and end on the lab's calendar. Fault events do not keep a finished run alive.
    pub(crate) fn schedule(&self, lab: &SimLab) {
        for (i, f) in self.faults.iter().enumerate() {
            lab.schedule_daemon(f.at, Event::Chaos(ChaosMsg::Start(i as u32)));
            lab.schedule_daemon(f.at + f.duration, Event::Chaos(ChaosMsg::End(i as u32)));
        }
    }
}

impl Behavior for ChaosInjector {
    type Msg = ChaosMsg;
    type Event = Event;
    type Report = Vec<FaultRecord>;

    fn handle(&mut self, msg: ChaosMsg, lab: &SimLab) {
        match msg {
            ChaosMsg::Start(i) => {
                let f = &self.faults[i as usize];
                let target = &self.targets[i as usize];
                self.records[i as usize].start = Some(lab.now());
                let detail = &self.records[i as usize].detail;
                let ev = Ev::FaultStart {
                    fault: f.name.clone(),
                    chaos: f.chaos.clone(),
                    fault_kind: f.effect.kind(),
                    params: detail.clone(),
                    duration: f.duration,
                };
                record(lab, target, ev);
                let msg = match f.effect {
                    FaultEffect::Panic => NodeMsg::ArmPanic { fault: f.name.clone().into() },
                    FaultEffect::Stop => {
                        NodeMsg::Stop { reason: format!("stopped by fault {}", f.name).into(), down_for: f.duration }
                    }
                    FaultEffect::Kill => {
                        NodeMsg::Kill { reason: format!("killed by fault {}", f.name).into(), down_for: f.duration }
                    }
                    effect => NodeMsg::FaultOn { fault: i, effect },
                };
                match f.target {
                    // Load spikes are part of the arrival profile, applied when the run starts.
                    Target::Load => {}
                    Target::Service(id) => lab.send(Event::Node(id, msg)),
                    Target::Device => lab.send(Event::Device(match f.effect {
                        FaultEffect::DeviceDisconnect => DeviceMsg::Disconnect { down_for: f.duration },
                        effect => DeviceMsg::FaultOn { fault: i, effect },
                    })),
                }
            }
            ChaosMsg::End(i) => {
                let f = &self.faults[i as usize];
                self.records[i as usize].end = Some(lab.now());
                record(lab, &self.targets[i as usize], Ev::FaultEnd { fault: f.name.clone() });
                let windowed = !matches!(
                    f.effect,
                    FaultEffect::Kill | FaultEffect::Stop | FaultEffect::Panic | FaultEffect::DeviceDisconnect
                );
                match f.target {
                    Target::Load => {}
                    Target::Service(id) => {
                        if windowed {
                            lab.send(Event::Node(id, NodeMsg::FaultOff { fault: i }));
                        }
                        lab.send(Event::Node(id, NodeMsg::WatchRecovery { fault: i }));
                    }
                    Target::Device => {
                        if windowed {
                            lab.send(Event::Device(DeviceMsg::FaultOff { fault: i }));
                        }
                        lab.send(Event::Device(DeviceMsg::WatchRecovery { fault: i }));
                    }
                }
            }
            ChaosMsg::Recovered { fault } => {
                let r = &mut self.records[fault as usize];
                if r.recovered.is_none() {
                    r.recovered = Some(lab.now());
                }
            }
        }
    }

    fn finish(&mut self, _lab: &SimLab) -> Vec<FaultRecord> {
        std::mem::take(&mut self.records)
    }
}
