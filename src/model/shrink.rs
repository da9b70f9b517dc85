//! `shrink.json`: how `ag06-lab shrink` took a failing scenario to a minimal one, step by step.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::closed_set;
use super::summary::FaultKind;

/// The schema version of `shrink.json`.
pub const SHRINK_SCHEMA: u32 = 1;

closed_set! {
    /// What a step tried.
    pub enum ShrinkPhase {
        /// The original scenario, as given.
        Original = "original",
        /// No fault at all: does the scenario fail without its faults?
        NoFaults = "no-faults",
        /// Delta debugging over the faults: a subset, or the complement of one.
        Ddmin = "ddmin",
        /// A kept fault made milder: shorter, weaker, fewer occurrences.
        Milder = "milder",
    }
}

closed_set! {
    /// What kind of check a run failed.
    pub enum FailureKind {
        /// An objective (`[[slo]]`) was not met.
        Objective = "objective",
        /// A hypothesis probe deviated.
        Probe = "probe",
    }
}

/// A check a run failed: an objective or a probe, by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Failure {
    /// Objective or probe.
    pub kind: FailureKind,
    /// Its name in the scenario.
    pub name: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.name(), self.name)
    }
}

/// `failures` as a comma-separated list ("nothing" when empty).
pub fn list(failures: &[Failure]) -> String {
    if failures.is_empty() {
        return "nothing".into();
    }
    failures.iter().map(Failure::to_string).collect::<Vec<_>>().join(", ")
}

/// A run's key figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunFigures {
    /// The objectives and probes that failed.
    pub failed: Vec<Failure>,
    /// End-to-end availability (ok / requests; null without requests).
    pub availability: Option<f64>,
    /// End-to-end p99 latency [ms] (null without successes).
    pub p99_ms: Option<f64>,
    /// Audio periods lost to the listener: xruns + missing (null without a device).
    pub audio_lost: Option<u64>,
}

/// One run of the search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShrinkStep {
    /// Its number, from 1, in the order the search decided on them.
    pub step: usize,
    /// What it tried.
    pub phase: ShrinkPhase,
    /// The faults the candidate kept (`[[chaos]]` names), in scenario order.
    pub faults: Vec<String>,
    /// The change tried on a kept fault (`<fault>.<key>: <from> -> <to>`), for milder steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// It still failed the way the original did.
    pub fails: bool,
    /// An earlier step had run the same scenario: this one is its cached result.
    pub cached: bool,
    /// Its figures.
    pub figures: RunFigures,
}

/// A parameter of a kept fault, before and after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShrunkKey {
    /// The key (`for`, `rate`, `add`, `multiplier`, `factor`, `ppm`, `gain_db`, `count`).
    pub key: String,
    /// As the original had it.
    pub from: String,
    /// In the minimal scenario.
    pub to: String,
}

/// A fault of the original scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShrinkFault {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub fault: FaultKind,
    /// Kept in the minimal scenario.
    pub kept: bool,
    /// What was made milder.
    pub changes: Vec<ShrunkKey>,
}

impl ShrinkFault {
    /// What became of it: "removed", "kept as it was", or "kept, milder: for 60s -> 30s".
    pub fn outcome(&self) -> String {
        if !self.kept {
            return "removed".into();
        }
        if self.changes.is_empty() {
            return "kept as it was".into();
        }
        let c: Vec<String> = self.changes.iter().map(|c| format!("{} {} -> {}", c.key, c.from, c.to)).collect();
        format!("kept, milder: {}", c.join(", "))
    }
}

/// `shrink.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShrinkReport {
    /// [`SHRINK_SCHEMA`].
    pub schema_version: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file, as given.
    pub scenario_file: String,
    /// The seed every run used.
    pub seed: u64,
    /// The failures every candidate had to keep.
    pub holds_on_to: Vec<Failure>,
    /// Every fault of the original, kept or not.
    pub faults: Vec<ShrinkFault>,
    /// The original run's figures.
    pub original: RunFigures,
    /// The minimal run's figures.
    pub minimal: RunFigures,
    /// Distinct scenarios run.
    pub runs: usize,
    /// Steps answered from the cache.
    pub cached: usize,
    /// Interrupted: the minimal scenario is the smallest failing one found so far, not 1-minimal.
    pub incomplete: bool,
    /// Every step.
    pub steps: Vec<ShrinkStep>,
}
