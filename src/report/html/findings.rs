//! Findings: rule-based recommendations computed from a run. Each rule looks at the run's figures and,
//! when its condition holds, says what it saw (with the figures) and what to try. Nothing is canned: a rule
//! whose condition is false says nothing.

mod rules;

use super::data::RunData;
use super::data::ServiceWindow as WindowRow;

/// How serious a finding is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// An objective or the hypothesis failed because of it, or work was lost.
    Critical,
    /// Worth fixing before the next release.
    Warning,
    /// Worth knowing.
    Info,
}

impl Level {
    /// CSS class and label.
    pub fn label(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The rule that fired (stable id, e.g. `saturation`).
    pub rule: &'static str,
    /// Severity.
    pub level: Level,
    /// What was seen, with its figures.
    pub text: String,
    /// What to try.
    pub advice: String,
}

/// A rule: its stable id, what it looks for, and the check that reports what it found.
pub struct Rule {
    /// Stable id, e.g. `saturation`.
    pub id: &'static str,
    /// What it looks for, in words (listed in the report when no rule fired).
    pub what: &'static str,
    check: fn(&RunData, &mut Vec<Found>) -> Result<(), String>,
}

/// What a rule found (the driver adds the rule's id).
struct Found {
    level: Level,
    text: String,
    advice: String,
}

/// The rules, in the order they are checked.
pub const RULES: [Rule; 11] = [
    Rule {
        id: "objective",
        what: "an objective missed, with the budget it burned and the alerts that paged",
        check: rules::objective,
    },
    Rule {
        id: "hypothesis",
        what: "a probe of the steady-state hypothesis out of tolerance, by phase",
        check: rules::hypothesis,
    },
    Rule {
        id: "saturation",
        what: "a service at or above 90% utilisation, with the p99 of its queue wait against the p99 of its time in service",
        check: rules::saturation,
    },
    Rule {
        id: "breaker-silent",
        what: "a breaker that never opened although calls failed above its threshold",
        check: rules::breaker_silent,
    },
    Rule {
        id: "breaker-opened",
        what: "breakers that opened, and the calls they spared their dependency",
        check: rules::breaker_opened,
    },
    Rule { id: "no-timeout", what: "calls to a slow or hung dependency without a timeout", check: rules::no_timeout },
    Rule {
        id: "retry-storm",
        what: "retries adding more than 10% to the calls made to a dependency, without a retry budget",
        check: rules::retry_storm,
    },
    Rule { id: "rejections", what: "a service refusing more than 1% of its requests", check: rules::rejections },
    Rule {
        id: "slow-recovery",
        what: "a fault whose target took much longer than the fault to answer again, or never did",
        check: rules::slow_recovery,
    },
    Rule {
        id: "autoscale-ceiling",
        what: "an autoscaled service saturated at its maximum, or lagging behind the load",
        check: rules::autoscale_ceiling,
    },
    Rule {
        id: "audio",
        what: "xruns, missing periods or clipping on the audio path, with the DSP load",
        check: rules::audio,
    },
];

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn ms(x: f64) -> String {
    if x >= 1000.0 { format!("{:.2} s", x / 1000.0) } else { format!("{x:.1} ms") }
}

fn during(d: &RunData, a: f64, b: f64) -> String {
    let f = d.faults_during(a, b);
    if f.is_empty() {
        String::new()
    } else {
        format!(" during {}", f.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "))
    }
}

fn bad(r: &WindowRow) -> u64 {
    r.counts.failed + r.counts.timed_out + r.counts.rejected
}

/// Every finding of the run, most serious first (stable within a level: rule order, then scenario order).
pub fn findings(d: &RunData) -> Result<Vec<Finding>, String> {
    let mut out = Vec::new();
    for rule in &RULES {
        let mut found = Vec::new();
        (rule.check)(d, &mut found)?;
        out.extend(found.into_iter().map(|f| Finding {
            rule: rule.id,
            level: f.level,
            text: f.text,
            advice: f.advice,
        }));
    }
    out.sort_by_key(|f| f.level);
    Ok(out)
}
