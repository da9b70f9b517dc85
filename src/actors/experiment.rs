//! The experiment monitor: while the run goes, checks every probe that has an `abort_after` at the end of
//! each metrics window, and stops the run when one has been out of tolerance for longer than its grace.

use super::audio::MonitorMsg;
use super::{Event, NodeMsg, SimLab, record};
use crate::model::event::Event as Ev;
use crate::scenario::experiment::{Metric, Probe};
use crate::scenario::{Scenario, Target};
use crate::sim::{Behavior, SimDuration, SimTime};

/// Messages to the experiment monitor.
#[derive(Debug)]
pub(crate) enum ExperimentMsg {
    /// A metrics window just ended.
    Tick,
    /// A probe's value in the window that just ended.
    Value {
        /// Index of the probe (among those with `abort_after`).
        probe: u32,
        /// The value (`None`: no data).
        value: Option<f64>,
    },
}

/// The behaviour of the experiment monitor.
pub(crate) struct ExperimentMonitor {
    probes: Vec<Probe>,
    window: SimDuration,
    breach_since: Vec<Option<SimTime>>,
}

impl ExperimentMonitor {
    /// A monitor of the probes of `sc` that have an `abort_after` (none: it does nothing).
    pub(crate) fn new(sc: &Scenario) -> Self {
        let probes: Vec<Probe> =
            sc.experiment.iter().flat_map(|e| e.probes.iter()).filter(|p| p.abort_after.is_some()).cloned().collect();
        let n = probes.len();
        ExperimentMonitor { probes, window: sc.window, breach_since: vec![None; n] }
    }

    /// Puts the first check on the calendar (checks do not keep a run alive).
    pub(crate) fn schedule(&self, lab: &SimLab) {
        if !self.probes.is_empty() {
            lab.schedule_daemon(SimTime::ZERO + self.window, Event::Experiment(ExperimentMsg::Tick));
        }
    }
}

impl Behavior for ExperimentMonitor {
    type Msg = ExperimentMsg;
    type Event = Event;
    type Report = ();

    fn handle(&mut self, msg: ExperimentMsg, lab: &SimLab) {
        let now = lab.now();
        match msg {
            ExperimentMsg::Tick => {
                for (i, p) in self.probes.iter().enumerate() {
                    let ask = (i as u32, p.metric);
                    match p.target {
                        Target::Service(id) => {
                            lab.send(Event::Node(id, NodeMsg::ReportWindow { probe: ask.0, metric: ask.1 }))
                        }
                        Target::Device => {
                            lab.send(Event::Monitor(MonitorMsg::ReportWindow { probe: ask.0, metric: ask.1 }))
                        }
                        Target::Load => {}
                    }
                }
                lab.schedule_daemon(now + self.window, Event::Experiment(ExperimentMsg::Tick));
            }
            ExperimentMsg::Value { probe, value } => {
                let p = &self.probes[probe as usize];
                let window_start = SimTime::from_nanos(now.as_nanos().saturating_sub(self.window.as_nanos()));
                match value {
                    Some(v) if !p.tolerates(v) => {
                        let since = *self.breach_since[probe as usize].get_or_insert(window_start);
                        let grace = p.abort_after.expect("invariant: monitored probes have a grace");
                        if now - since > grace {
                            let why = format!(
                                "hypothesis probe \"{}\" out of tolerance for {} (> abort_after {}): {} = {v}",
                                p.name,
                                now - since,
                                grace,
                                p.metric.name()
                            );
                            record(lab, &p.name, Ev::HypothesisAbort { reason: why.clone() });
                            lab.abort(why);
                        }
                    }
                    Some(_) => self.breach_since[probe as usize] = None,
                    None => {}
                }
            }
        }
    }

    fn finish(&mut self, _lab: &SimLab) {}
}

/// The value of `metric` in the last closed window of a meter, for probes.
pub(crate) fn window_value(metric: Metric, row: Option<&crate::metrics::WindowRow>, window_s: f64) -> Option<f64> {
    row.and_then(|r| metric.of_window(r, window_s))
}
