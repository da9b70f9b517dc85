//! `explore.json`: what `ag06-lab explore` drew, what broke, and the minimal reproducers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shrink::{Failure, RunFigures};
use super::summary::FaultKind;

/// The schema version of `explore.json`.
pub const EXPLORE_SCHEMA: u32 = 1;

/// A fault as drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DrawnFault {
    /// Its name in the schedule's `[[chaos]]`.
    pub name: String,
    /// Its kind.
    pub fault: FaultKind,
    /// Its target selector.
    pub target: String,
    /// Start [s].
    pub at_s: f64,
    /// Duration [s] (null: the kind's default, e.g. a kill's restart delay).
    pub for_s: Option<f64>,
    /// Its intensity, as written (`rate = 0.3`, `add = "25ms"`), if the kind has one.
    pub intensity: Option<String>,
}

/// One drawn schedule and its run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExploredSchedule {
    /// Its number, from 0: the draws of schedule k come from the stream `explore/k` of the schedule seed.
    pub index: usize,
    /// Its faults.
    pub faults: Vec<DrawnFault>,
    /// The faults' durations added up [s].
    pub fault_time_s: f64,
    /// The run broke an objective or a probe.
    pub fails: bool,
    /// The run's figures.
    pub figures: RunFigures,
}

/// How often an objective or probe broke.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BrokenCount {
    /// The objective or probe.
    pub failure: Failure,
    /// Schedules that broke it.
    pub schedules: usize,
}

/// A failing schedule shrunk to a minimal reproducer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reproducer {
    /// The schedule.
    pub schedule: usize,
    /// What it breaks.
    pub breaks: Vec<Failure>,
    /// The faults the minimal reproducer keeps.
    pub kept: Vec<String>,
    /// The schedule as drawn, a scenario file in the output directory.
    pub schedule_file: String,
    /// The minimal reproducer, a scenario file in the output directory.
    pub minimal_file: String,
    /// Its shrink's steps (`shrink.json`), in the output directory.
    pub shrink_file: String,
}

/// `explore.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExploreReport {
    /// [`EXPLORE_SCHEMA`].
    pub schema_version: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file, as given.
    pub scenario_file: String,
    /// The seed every run used.
    pub seed: u64,
    /// The seed of the schedules' draws.
    pub schedule_seed: u64,
    /// Schedules asked for.
    pub budget: usize,
    /// What the budget covered, in a sentence.
    pub covered: String,
    /// Interrupted: fewer schedules ran than the budget.
    pub incomplete: bool,
    /// Schedules that broke something.
    pub failures: usize,
    /// What broke, how often (most often first).
    pub broken: Vec<BrokenCount>,
    /// The failing schedules, best first: fewest faults, then shortest total fault time.
    pub ranked: Vec<usize>,
    /// The best failing schedules (one per distinct set of failures, at most 3), shrunk.
    pub reproducers: Vec<Reproducer>,
    /// Every schedule run.
    pub schedules: Vec<ExploredSchedule>,
}
