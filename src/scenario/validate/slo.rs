//! `[[slo]]` entries: their targets, indicators, objectives and alert rules.

use super::{Checker, DEVICE, Lookup};
use crate::scenario::raw::{RawSlo, SliKind};
use crate::scenario::{Indicator, Slo, Target};

/// Resolves an objective's or a probe's target: "device" is the audio device when there is one.
pub(super) fn target(c: &mut Checker, at: String, name: &str, has_device: bool, lookup: &Lookup<'_>) -> Option<Target> {
    if name == DEVICE && has_device {
        return Some(Target::Device);
    }
    if name == DEVICE {
        c.err(at, "the target \"device\" needs a [device] section");
        return None;
    }
    lookup(c, at, name).map(Target::Service)
}

pub(super) fn slo(c: &mut Checker, p: &str, s: &RawSlo, has_device: bool, lookup: &Lookup<'_>) -> Option<Slo> {
    let target = target(c, format!("{p}.service"), &s.service, has_device, lookup);
    let audio = matches!(s.sli, SliKind::AudioAvailability | SliKind::XrunsPerHour | SliKind::MaxDropout);
    match target {
        Some(Target::Device) if !audio => c.err(
            format!("{p}.sli"),
            "the device has audio indicators: audio-availability, xruns-per-hour, max-dropout",
        ),
        Some(Target::Service(_)) if audio => {
            c.err(format!("{p}.service"), "audio indicators are about the device: service = \"device\"")
        }
        _ => {}
    }
    let (indicator, objective) = indicator(c, p, s);
    let period = s.period.map(|d| d.0).unwrap_or(crate::slo::DEFAULT_PERIOD);
    c.positive(&format!("{p}.period"), period);
    let alerts = alerts(c, p, s, period);
    let history = match s.history {
        crate::scenario::raw::HistoryName::None => crate::slo::History::None,
        crate::scenario::raw::HistoryName::Good => crate::slo::History::Good,
    };
    Some(Slo {
        name: s.name.clone(),
        target: target?,
        indicator: indicator?,
        objective: objective?,
        period,
        alerts,
        history,
    })
}

/// What the objective measures and its objective, checked against what its indicator takes.
fn indicator(c: &mut Checker, p: &str, s: &RawSlo) -> (Option<Indicator>, Option<f64>) {
    let fraction = |c: &mut Checker| match s.objective {
        Some(o) if o > 0.0 && o <= 1.0 => Some(o),
        Some(o) => {
            c.err(
                format!("{p}.objective"),
                format!("{o} is not an objective: expected a fraction in (0, 1], e.g. 0.999"),
            );
            None
        }
        None => {
            c.err(format!("{p}.objective"), "missing: the fraction to achieve, e.g. objective = 0.999");
            None
        }
    };
    let no_threshold = |c: &mut Checker| {
        if s.threshold.is_some() {
            c.err(format!("{p}.threshold"), "only latency and max-dropout objectives take a threshold");
        }
    };
    let need_threshold = |c: &mut Checker, example: &str| match s.threshold {
        Some(t) => c.positive(&format!("{p}.threshold"), t.0).then_some(t.0),
        None => {
            c.err(
                format!("{p}.threshold"),
                format!("missing: this objective needs a threshold, e.g. threshold = \"{example}\""),
            );
            None
        }
    };
    match s.sli {
        SliKind::Availability => {
            no_threshold(c);
            (Some(Indicator::Availability), fraction(c))
        }
        SliKind::AudioAvailability => {
            no_threshold(c);
            (Some(Indicator::AudioAvailability), fraction(c))
        }
        SliKind::Latency => {
            let t = need_threshold(c, "200ms");
            (t.map(|threshold| Indicator::Latency { threshold }), fraction(c))
        }
        SliKind::XrunsPerHour => {
            no_threshold(c);
            let o = match s.objective {
                Some(o) if o >= 0.0 && o.is_finite() => Some(o),
                Some(o) => {
                    c.err(format!("{p}.objective"), format!("{o}: the most xruns per hour allowed, a number >= 0"));
                    None
                }
                None => {
                    c.err(format!("{p}.objective"), "missing: the most xruns per hour allowed, e.g. objective = 1");
                    None
                }
            };
            (Some(Indicator::XrunsPerHour), o)
        }
        SliKind::MaxDropout => {
            if s.objective.is_some() {
                c.err(
                    format!("{p}.objective"),
                    "max-dropout takes a `threshold` (the longest dropout allowed), not an objective",
                );
            }
            let t = need_threshold(c, "50ms");
            (t.map(|threshold| Indicator::MaxDropout { threshold }), Some(0.0))
        }
    }
}

/// The burn-rate alert rules: the SRE workbook's by default, for the objective's `period`.
fn alerts(c: &mut Checker, p: &str, s: &RawSlo, period: crate::sim::SimDuration) -> Vec<crate::slo::AlertRule> {
    match &s.alerts {
        None => crate::slo::default_rules(period),
        Some(v) => v
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let at = format!("{p}.alerts[{i}]");
                if a.short.0 > a.long.0 || a.short.0.is_zero() {
                    c.err(at.clone(), "expected 0 < short <= long");
                }
                let burn_rate = match (a.burn_rate, a.budget_share) {
                    (Some(b), None) => {
                        if !(b > 0.0 && b.is_finite()) {
                            c.err(format!("{at}.burn_rate"), format!("{b}: expected a number > 0"));
                        }
                        b
                    }
                    (None, Some(share)) => {
                        if !(share > 0.0 && share <= 1.0) {
                            c.err(
                                format!("{at}.budget_share"),
                                format!("{share}: expected a share of the budget in (0, 1], e.g. 0.02"),
                            );
                        }
                        if a.long.0.is_zero() { 0.0 } else { crate::slo::burn_rate_of_share(share, period, a.long.0) }
                    }
                    (Some(_), Some(_)) => {
                        c.err(at.clone(), "give either `burn_rate` or `budget_share`, not both");
                        0.0
                    }
                    (None, None) => {
                        c.err(
                            at.clone(),
                            "missing threshold: give `burn_rate` (e.g. 14.4) or `budget_share` (e.g. 0.02)",
                        );
                        0.0
                    }
                };
                crate::slo::AlertRule {
                    long: a.long.0,
                    short: a.short.0,
                    burn_rate,
                    severity: match a.severity {
                        Some(crate::scenario::raw::SeverityName::Ticket) => crate::slo::Severity::Ticket,
                        _ => crate::slo::Severity::Page,
                    },
                }
            })
            .collect(),
    }
}
