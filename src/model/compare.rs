//! `compare.json`: the release gate's comparison of a candidate with a baseline.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::closed_set;
use super::sweep::{AggregateKind, Better};

closed_set! {
    /// The statistical test.
    #[derive(clap::ValueEnum)]
    pub enum Test {
        /// Welch's unequal-variances t-test (the default).
        #[value(name = "welch")]
        Welch = "welch",
        /// Mann-Whitney U (normal approximation, tie-corrected).
        #[value(name = "mann-whitney")]
        MannWhitney = "mann-whitney",
    }
}

closed_set! {
    /// The verdict for one figure.
    pub enum FigureVerdict {
        /// Significantly worse.
        Regression = "regression",
        /// Significantly better.
        Improvement = "improvement",
        /// Significantly different, in a figure with no better direction.
        Changed = "changed",
        /// Not significant at alpha.
        NoSignificantChange = "no-significant-change",
        /// Too few values to test.
        NotEnoughData = "not-enough-data",
    }
}

closed_set! {
    /// What one value of a compared figure is.
    pub enum Samples {
        /// One value per seed (sweep directories).
        PerSeed = "per-seed",
        /// One value per metrics window (run directories; windows are autocorrelated).
        PerWindow = "per-window",
    }
}

/// One compared figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FigureComparison {
    /// Figure name.
    pub figure: String,
    /// Which way is better.
    pub better: Better,
    /// Baseline mean.
    pub baseline: f64,
    /// Candidate mean.
    pub candidate: f64,
    /// candidate - baseline.
    pub diff: f64,
    /// diff / |baseline| (null when the baseline is 0).
    pub rel_diff: Option<f64>,
    /// Two-sided p-value.
    pub p_value: Option<f64>,
    /// Values on each side.
    pub n: [usize; 2],
    /// The verdict.
    pub verdict: FigureVerdict,
}

/// `compare.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    /// Schema version.
    pub schema: u32,
    /// Always `compare`.
    pub kind: AggregateKind,
    /// The baseline directory.
    pub baseline: String,
    /// The candidate directory.
    pub candidate: String,
    /// What one value is.
    pub samples: Samples,
    /// The test.
    pub test: Test,
    /// Significance level.
    pub alpha: f64,
    /// Figures compared.
    pub figures: Vec<FigureComparison>,
    /// Regressions.
    pub regressions: usize,
    /// Improvements.
    pub improvements: usize,
}
