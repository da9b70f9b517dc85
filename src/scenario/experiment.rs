//! The steady-state hypothesis as the scenario sets it (`[experiment]` and `[[hypothesis]]`, validated):
//! what [`crate::experiment`] checks a run against.

pub use crate::model::summary::ProbeMetric as Metric;

use super::Target;
use crate::sim::SimDuration;

/// A steady-state probe.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// The probe's name (unique in the experiment).
    pub name: String,
    /// What it looks at.
    pub target: Target,
    /// What it measures.
    pub metric: Metric,
    /// Lowest tolerated value.
    pub min: Option<f64>,
    /// Highest tolerated value.
    pub max: Option<f64>,
    /// Stop the run when the probe has been out of tolerance for longer than this.
    pub abort_after: Option<SimDuration>,
}

impl Probe {
    /// Whether `v` is within tolerance.
    pub fn tolerates(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }

    /// The worse of two values for this probe.
    pub(crate) fn worse(&self, a: f64, b: f64) -> f64 {
        if self.max.is_some() { a.max(b) } else { a.min(b) }
    }
}

/// The experiment's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentSpec {
    /// Length of the baseline phase before the first fault.
    pub baseline: SimDuration,
    /// Length of the recovery phase after the last fault.
    pub recovery: SimDuration,
    /// Pause between the end of the last fault and the recovery phase (Chaos Toolkit's `pauses.after`).
    pub settle: SimDuration,
    /// What the hypothesis checks in every phase.
    pub probes: Vec<Probe>,
}
