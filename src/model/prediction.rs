//! `prediction.json`: a simulated run of a scenario checked against a live run of the same scenario
//! (`ag06-lab compare <simulated run> <live run>`): did the simulation predict what the interface did?

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::closed_set;

/// The schema version of `prediction.json`.
pub const PREDICTION_SCHEMA: u32 = 1;

closed_set! {
    /// The verdict of a prediction.
    pub enum PredictionVerdict {
        /// Every check held: the simulation predicted the live run.
        Predicted = "predicted",
        /// A check failed.
        NotPredicted = "not-predicted",
    }
}

closed_set! {
    /// What a check compares.
    pub enum PredictionFigure {
        /// Late periods over the run.
        Xruns = "xruns",
        /// Periods lost to the listener: late or missing, over the run.
        Lost = "xruns+missing",
        /// When the periods were lost: the overlap of the two runs' lost periods per window.
        LostWhen = "lost-per-window",
    }
}

/// One check of the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PredictionCheck {
    /// What it compares.
    pub figure: PredictionFigure,
    /// The simulated value.
    pub simulated: f64,
    /// The live value.
    pub live: f64,
    /// The test: how the two are compared and what passes.
    pub test: String,
    /// The relative tolerance.
    pub tolerance: f64,
    /// What is allowed: the larger of the tolerance's share and the counting-noise allowance (totals), or
    /// the smallest overlap that passes (per window).
    pub allowed: f64,
    /// The check held.
    pub holds: bool,
}

/// One side's audio figures in one window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WindowFigures {
    /// Late periods.
    pub xruns: u64,
    /// Missing periods.
    pub missing: u64,
    /// DSP load (processing time / period), the window's mean.
    pub dsp_load: Option<f64>,
    /// RMS of what the lab played (out_l) [dBFS].
    pub out_rms_dbfs: Option<f64>,
}

/// One window of both runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PredictionWindow {
    /// Window start [s].
    pub t_s: f64,
    /// The simulated run.
    pub simulated: WindowFigures,
    /// The live run.
    pub live: WindowFigures,
}

/// A figure reported beside the verdict, not part of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportedFigure {
    /// Its name.
    pub figure: String,
    /// The simulated value.
    pub simulated: Option<f64>,
    /// The live value.
    pub live: Option<f64>,
    /// Why it does not decide the verdict.
    pub note: String,
}

/// `prediction.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Prediction {
    /// [`PREDICTION_SCHEMA`].
    pub schema_version: u32,
    /// The scenario both runs ran.
    pub scenario: String,
    /// The simulated run's directory.
    pub simulated: String,
    /// The live run's directory.
    pub live: String,
    /// The windows' length [s].
    pub window_s: f64,
    /// Periods of each run.
    pub periods: [u64; 2],
    /// The verdict.
    pub verdict: PredictionVerdict,
    /// Why, in a sentence.
    pub reason: String,
    /// The checks that decide it.
    pub checks: Vec<PredictionCheck>,
    /// Figures shown beside it.
    pub reported: Vec<ReportedFigure>,
    /// Every window of both runs.
    pub windows: Vec<PredictionWindow>,
}
