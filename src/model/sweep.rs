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
}
