//! `compare.json`: the release gate's comparison of a candidate with a baseline; the `[gate]` section of a
//! scenario that configures it (carried in `summary.json`); and the seed planner's answer.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::closed_set;
use super::sweep::{AggregateKind, Better};

/// The schema version of `compare.json` (2: margins, the family correction and the gate's verdict).
pub const COMPARE_SCHEMA: u32 = 2;

closed_set! {
    /// The statistical test.
    #[derive(clap::ValueEnum)]
    pub enum Test {
        /// Welch's unequal-variances t-test and interval of the difference of the means (the default).
        #[value(name = "welch")]
        Welch = "welch",
        /// Mann-Whitney U (normal approximation, tie-corrected) and the Hodges-Lehmann interval of the shift.
        #[value(name = "mann-whitney")]
        MannWhitney = "mann-whitney",
    }
}

closed_set! {
    /// The verdict for one figure.
    pub enum FigureVerdict {
        /// Worse beyond its margin: the interval of the change lies entirely beyond the margin, and the
        /// one-sided test survives the family correction.
        Regression = "regression",
        /// Better beyond its margin: the interval lies entirely beyond the margin on the better side.
        Improvement = "improvement",
        /// The interval lies within ± the margin: no change that matters.
        WithinMargin = "within-margin",
        /// The interval reaches beyond the margin but not entirely: more seeds would tell.
        Inconclusive = "inconclusive",
        /// Significantly different at alpha, in a figure that cannot fail the gate.
        Changed = "changed",
        /// Not significantly different at alpha, in a figure that cannot fail the gate.
        NoSignificantChange = "no-significant-change",
        /// Fewer than 2 values a side.
        NotEnoughData = "not-enough-data",
    }
}

closed_set! {
    /// The gate's verdict.
    pub enum GateVerdict {
        /// No figure regressed beyond its margin.
        Pass = "pass",
        /// A figure that is not critical regressed (or a critical one had too few values), and the score
        /// stayed at or above `fail_score`: exit 0 with a warning, unless `--fail-on marginal`.
        Marginal = "marginal",
        /// A critical figure regressed, or the score fell below `fail_score`: exit 1.
        Fail = "fail",
    }
}

closed_set! {
    /// What a figure can do to the gate.
    pub enum Role {
        /// Fails the gate on its own when it regresses.
        Critical = "critical",
        /// In the corrected family: a regression makes the gate marginal and lowers the score.
        Gated = "gated",
        /// Reported only (no better direction, or not in `[gate] figures`).
        Reported = "reported",
    }
}

closed_set! {
    /// What a figure measures, which sets its default margin.
    pub enum FigureKind {
        /// A latency or a duration [ms]: default margin 2% of the baseline.
        Latency = "latency",
        /// A share from 0 to 1 (availability, an objective achieved): default margin 0.0005 (0.05
        /// percentage points).
        Ratio = "ratio",
        /// A count of events per run: default margin 10% of the baseline, and at least 1.
        Count = "count",
        /// A load from 0 to 1 (utilisation, DSP load): default margin 2% of the baseline.
        Load = "load",
        /// A level [LUFS]: default margin 0.5 LU.
        Level = "level",
    }
}

impl FigureKind {
    /// The margin a figure of this kind gets when `[gate]` and `--margin` say nothing.
    pub fn default_margin(self) -> Margin {
        match self {
            FigureKind::Latency | FigureKind::Load => Margin::Relative(2.0),
            FigureKind::Ratio => Margin::Absolute(0.0005),
            FigureKind::Count => Margin::Relative(10.0),
            FigureKind::Level => Margin::Absolute(0.5),
        }
    }

    /// The least a relative margin can resolve to (a count may always move by one event).
    pub fn margin_floor(self) -> f64 {
        match self {
            FigureKind::Count => 1.0,
            _ => 0.0,
        }
    }
}

/// How far a figure may move in its worse direction before it counts as a regression: `"2%"` (of the
/// baseline's mean) or a number in the figure's own units (`0.0005` of availability, `3` milliseconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Margin {
    /// Percent of the baseline's mean (`"2%"` is `Relative(2.0)`).
    Relative(f64),
    /// In the figure's units.
    Absolute(f64),
}

impl Margin {
    /// The margin in the figure's units, for a baseline mean and a figure kind.
    pub fn resolve(self, baseline_mean: f64, kind: FigureKind) -> f64 {
        match self {
            Margin::Relative(pct) => (pct / 100.0 * baseline_mean.abs()).max(kind.margin_floor()),
            Margin::Absolute(v) => v,
        }
    }
}

impl fmt::Display for Margin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Margin::Relative(pct) => write!(f, "{pct}%"),
            Margin::Absolute(v) => write!(f, "{v}"),
        }
    }
}

impl FromStr for Margin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let (num, relative) = match t.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (t, false),
        };
        let v: f64 = num.parse().map_err(|_| {
            format!("invalid margin \"{s}\": write a share of the baseline such as \"2%\", or a number in the figure's units such as 0.0005")
        })?;
        if !v.is_finite() || v < 0.0 {
            return Err(format!("invalid margin \"{s}\": must be a finite number of at least 0"));
        }
        Ok(if relative { Margin::Relative(v) } else { Margin::Absolute(v) })
    }
}

impl Serialize for Margin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Margin::Relative(_) => s.serialize_str(&self.to_string()),
            Margin::Absolute(v) => s.serialize_f64(*v),
        }
    }
}

impl<'de> Deserialize<'de> for Margin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Margin;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a margin: a share of the baseline such as \"2%\", or a number in the figure's units")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Margin, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Margin, E> {
                format!("{v}").parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Margin, E> {
                format!("{v}").parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Margin, E> {
                Ok(Margin::Absolute(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Margin {
    fn schema_name() -> Cow<'static, str> {
        "Margin".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A margin: a share of the baseline's mean such as \"2%\", or a number of at least 0 in the figure's units.",
            "anyOf": [
                { "type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$" },
                { "type": "number", "minimum": 0 }
            ],
            "examples": ["2%", 0.0005]
        })
    }
}

/// The `[gate]` section of a scenario: how `compare` judges a candidate run of it. Figure names are glob
/// patterns (`*`, `?`, `[...]`), matched against the names in `compare.json` such as `latency_ms.p99`,
/// `services.vocal-ai.availability` or `slo.gateway availability.achieved`; where several patterns
/// match a figure, the one with the most literal characters wins.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// The figures that can fail the gate. Default: every figure with a better direction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<String>,
    /// The figures that fail the gate on their own when they regress. Default: the scenario's
    /// objectives, `["slo.*"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<Vec<String>>,
    /// Margins by figure, e.g. `{ "latency_ms.*" = "5%", "availability" = 0.001 }`. Default by kind:
    /// latency and load 2% of the baseline, ratios 0.0005, counts 10% (at least 1), levels 0.5 LU.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub margin: BTreeMap<String, Margin>,
    /// Weights of the figures in the score, e.g. `{ "services.*" = 0.5 }`. Default 1.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weight: BTreeMap<String, f64>,
    /// Which way is better, e.g. `{ "services.*.utilization" = "lower" }`; "neutral" figures are
    /// reported and never fail the gate.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub direction: BTreeMap<String, Better>,
    /// The score (weighted percentage of the gated figures that did not regress) below which the gate
    /// fails even with no critical regression. Default 75.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_score: Option<f64>,
}

impl Gate {
    /// The default `fail_score`.
    pub const FAIL_SCORE: f64 = 75.0;

    /// Whether nothing is set (the section is left out of `summary.json`).
    pub fn is_default(&self) -> bool {
        *self == Gate::default()
    }
}

/// An interval of the change (candidate − baseline).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Two-sided confidence: for a gated figure 1 − 2 × the level Holm's procedure tested it at, so
    /// that its worse end lies beyond the margin exactly when the one-sided test rejects; 1 − alpha
    /// otherwise.
    pub confidence: f64,
}

/// One compared figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FigureComparison {
    /// Figure name.
    pub figure: String,
    /// What it measures.
    pub kind: FigureKind,
    /// Which way is better.
    pub better: Better,
    /// What it can do to the gate.
    pub role: Role,
    /// Weight in the score (0 for reported figures).
    pub weight: f64,
    /// Baseline mean.
    pub baseline: f64,
    /// Candidate mean.
    pub candidate: f64,
    /// candidate − baseline.
    pub diff: f64,
    /// diff / |baseline| (null when the baseline is 0).
    pub rel_diff: Option<f64>,
    /// Values on each side.
    pub n: [usize; 2],
    /// The margin as configured (null for reported figures).
    pub margin: Option<Margin>,
    /// The margin in the figure's units.
    pub margin_abs: Option<f64>,
    /// The interval of the change (candidate − baseline); its estimate is `diff` for Welch's test, the
    /// Hodges-Lehmann shift for Mann-Whitney.
    pub interval: Option<Interval>,
    /// The point estimate of the change the interval is centred on.
    pub estimate: Option<f64>,
    /// Gated figures: one-sided p-value of "worse by more than the margin". Reported figures: two-sided
    /// p-value of "different".
    pub p_value: Option<f64>,
    /// Holm-adjusted `p_value` over the family of gated figures (null for reported figures).
    pub p_adjusted: Option<f64>,
    /// The smallest worse change, in the figure's units, that the comparison detects with 80%
    /// probability at its margin, its seeds and its spread (the first step of Holm's procedure, alpha
    /// over the family; null for reported figures).
    pub mde: Option<f64>,
    /// The verdict.
    pub verdict: FigureVerdict,
    /// Why, in words.
    pub reason: String,
}

/// `compare.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    /// Schema version of compare.json (2).
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
    /// The family-wise significance level: the chance that the gate flags a regression when no figure
    /// moved beyond its margin is at most alpha.
    pub alpha: f64,
    /// The gate's verdict.
    pub gate: GateVerdict,
    /// Why, in words.
    pub reason: String,
    /// The figures that decided the verdict: critical regressions, then the other regressions.
    pub decided_by: Vec<String>,
    /// Weighted percentage of the gated figures (with enough data) that did not regress.
    pub score: f64,
    /// The score below which the gate fails.
    pub fail_score: f64,
    /// Size of the corrected family (gated figures with enough data).
    pub family: usize,
    /// Figures compared: critical first, then gated, then reported; by name within each.
    pub figures: Vec<FigureComparison>,
    /// Regressions.
    pub regressions: usize,
    /// Regressions of critical figures.
    pub critical_regressions: usize,
    /// Improvements.
    pub improvements: usize,
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

/// One figure of a seed plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanFigure {
    /// Figure name.
    pub figure: String,
    /// What it can do to the gate (critical or gated).
    pub role: Role,
    /// Baseline mean.
    pub mean: f64,
    /// Baseline standard deviation over the seeds.
    pub sd: f64,
    /// The standard deviation planned with: the 80% upper confidence bound of `sd` (Browne 1995).
    pub sd_planned: f64,
    /// Its margin in the figure's units.
    pub margin_abs: f64,
    /// The worse change to catch, in the figure's units.
    pub change: f64,
    /// Seeds a side that catch it with the planned power (null: never, see `reason`).
    pub seeds: Option<usize>,
    /// Why, when there is no seed count.
    pub reason: Option<String>,
}

/// `ag06-lab compare --plan`: how many seeds a side catch a given change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// The baseline sweep.
    pub baseline: String,
    /// Seeds in it.
    pub baseline_seeds: usize,
    /// The change to catch, in the worse direction of each figure.
    pub detect: Margin,
    /// Family-wise alpha of the gate.
    pub alpha: f64,
    /// The chance of catching the change.
    pub power: f64,
    /// Size of the corrected family; each figure is planned at alpha / family (Holm's first step).
    pub family: usize,
    /// Gated figures, critical first.
    pub figures: Vec<PlanFigure>,
    /// Seeds a side that catch the change in every critical figure that has a seed count (null: none has).
    pub seeds_critical: Option<usize>,
    /// Seeds a side that catch the change in every gated figure that has a seed count (null: none has).
    pub seeds_all: Option<usize>,
}
