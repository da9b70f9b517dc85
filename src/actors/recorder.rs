//! The recorder: the run's event log (faults, crashes, restarts, ...), in time order.

use super::{Event, SimLab};
use crate::sim::{Behavior, SimTime};

/// One row of events.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// When.
    pub t: SimTime,
    /// What: fault_start, fault_end, actor_crash, actor_restart, ...
    pub kind: &'static str,
    /// Which actor or service it is about.
    pub target: String,
    /// Free text with the figures.
    pub detail: String,
}

/// Messages to the recorder.
pub enum RecorderMsg {
    /// Append an event.
    Event(Box<EventRow>),
}

/// Keeps the event log.
#[derive(Default)]
pub struct Recorder {
    events: Vec<EventRow>,
}

impl Behavior for Recorder {
    type Msg = RecorderMsg;
    type Event = Event;
    type Report = Vec<EventRow>;

    fn handle(&mut self, msg: RecorderMsg, _lab: &SimLab) {
        match msg {
            RecorderMsg::Event(e) => {
                tracing::debug!(t_s = e.t.as_secs_f64(), kind = e.kind, target = %e.target, "{}", e.detail);
                self.events.push(*e);
            }
        }
    }

    fn finish(&mut self, _lab: &SimLab) -> Vec<EventRow> {
        let mut events = std::mem::take(&mut self.events);
        // Messages arrive in time order already; a stable sort keeps same-instant events in arrival order.
        events.sort_by_key(|e| e.t);
        events
    }
}
