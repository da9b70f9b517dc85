//! `sweep.json`: one scenario over many seeds.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::closed_set;
use super::summary::LatencySummary;

closed_set! {
    /// Which way is better for a headline figure.
    pub enum Better {
        /// Higher is better (availability, an objective achieved).
        Higher = "higher",
        /// Lower is better (latency, failures, xruns).
        Lower = "lower",
        /// Neither: reported, never a regression (request counts, utilisation, loudness).
        Neutral = "neutral",
    }
}

closed_set! {
    /// What an aggregate file is.
    pub enum AggregateKind {
        /// `sweep.json`.
        Sweep = "sweep",
        /// `compare.json`.
        Compare = "compare",
    }
}

/// Statistics of one figure over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FigureStats {
    /// Which way is better.
    pub better: Better,
    /// Seeds with a value.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// 95% confidence interval of the mean (Student's t).
    pub ci95: [f64; 2],
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// One objective over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SloStats {
    /// Name.
    pub name: String,
    /// Seeds where it was met.
    pub met: usize,
    /// Seeds.
    pub runs: usize,
    /// Seeds where it failed.
    pub failed_seeds: Vec<u64>,
}

/// `sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepSummary {
    /// Schema version.
    pub schema: u32,
    /// Always `sweep`.
    pub kind: AggregateKind,
    /// Scenario name.
    pub scenario: String,
    /// Seeds, sorted.
    pub seeds: Vec<u64>,
    /// Runs that passed.
    pub passed: usize,
    /// Runs that failed.
    pub failed: usize,
    /// End-to-end latency over all seeds (merged histograms) [ms].
    pub latency_ms: LatencySummary,
    /// Every headline figure over the seeds, by name.
    pub figures: BTreeMap<String, FigureStats>,
    /// Objectives.
    pub slos: Vec<SloStats>,
    /// Present when the sweep stopped before every seed had run (the figures cover `seeds` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<Incomplete>,
}

closed_set! {
    /// Why a sweep, shrink or exploration stopped before the end of its work.
    pub enum StopReason {
        /// Ctrl-C or SIGTERM: what was finished is kept.
        Interrupted = "interrupted",
    }
}

/// What an incomplete sweep left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Incomplete {
    /// Why it stopped.
    pub reason: StopReason,
    /// The seeds asked for that did not finish (their runs are not kept).
    pub seeds_not_run: Vec<u64>,
}

/// A list of seeds as people write it: `1..=50` when it is a run of three or more, else `1, 2, 5`.
pub fn seed_list(seeds: &[u64]) -> String {
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if seeds.len() > 2 && b - a + 1 == seeds.len() as u64 => format!("{a}..={b}"),
        _ => seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
    }
}
