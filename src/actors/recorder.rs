//! The recorder: the run's event log (faults, crashes, restarts, ...), in time order.

use super::{Event, SimLab};
use crate::sim::Behavior;

pub(crate) use crate::model::event::EventRecord;

/// Messages to the recorder.
pub(crate) enum RecorderMsg {
    /// Append an event.
    Event(Box<EventRecord>),
}

/// Keeps the event log.
#[derive(Default)]
pub(crate) struct Recorder {
    events: Vec<EventRecord>,
}

impl Behavior for Recorder {
    type Msg = RecorderMsg;
    type Event = Event;
    type Report = Vec<EventRecord>;

    fn handle(&mut self, msg: RecorderMsg, _lab: &SimLab) {
        match msg {
            RecorderMsg::Event(e) => {
                tracing::debug!(t_s = e.t.as_secs_f64(), kind = %e.event.kind(), target = %e.target, "{}", e.event.detail(&e.target));
                self.events.push(*e);
            }
        }
    }

    fn finish(&mut self, _lab: &SimLab) -> Vec<EventRecord> {
        let mut events = std::mem::take(&mut self.events);
        // Messages arrive in time order already; a stable sort keeps same-instant events in arrival order.
        events.sort_by_key(|e| e.t);
        events
    }
}
