//! Checks of the resilience sections of a service: breaker, retry, bulkhead, rate limiter, health check,
//! autoscaler.

use super::Checker;
use crate::resilience::{
    AutoscaleConfig, Backoff, BreakerConfig, BudgetConfig, BulkheadConfig, HealthConfig, ProbeKind, RateLimitConfig,
    RetryConfig, ScaleMetric, WindowKind,
};
use crate::scenario::raw::{
    BackoffKind, ProbeName, Probes, RawAutoscale, RawBreaker, RawBulkhead, RawHealth, RawRateLimit, RawRetry, RetryOn,
    ScaleMetricName, WindowSize, WindowType,
};
use crate::sim::SimDuration;

fn percent(c: &mut Checker, at: String, v: f64) {
    if !(v > 0.0 && v <= 100.0) {
        c.err(at, format!("{v} is not a percentage: expected a number in (0, 100]"));
    }
}

fn at_least_one(c: &mut Checker, at: String, v: u32) {
    if v == 0 {
        c.err(at, "must be at least 1");
    }
}

pub(super) fn breaker(c: &mut Checker, p: &str, b: &RawBreaker) -> BreakerConfig {
    let d = BreakerConfig::default();
    let window = match (b.window, b.window_size) {
        (WindowType::Count, None) => d.window,
        (WindowType::Count, Some(WindowSize::Calls(n))) => {
            at_least_one(c, format!("{p}.window_size"), n);
            WindowKind::Count(n)
        }
        (WindowType::Time, None) => WindowKind::Time(SimDuration::from_secs(60)),
        (WindowType::Time, Some(WindowSize::Span(s))) => {
            c.positive(&format!("{p}.window_size"), s.0);
            WindowKind::Time(s.0)
        }
        (WindowType::Count, Some(WindowSize::Span(_))) => {
            c.err(
                format!("{p}.window_size"),
                "a count window takes a number of calls, e.g. window_size = 100 (or set window = \"time\")",
            );
            d.window
        }
        (WindowType::Time, Some(WindowSize::Calls(_))) => {
            c.err(
                format!("{p}.window_size"),
                "a time window takes a duration, e.g. window_size = \"30s\" (or set window = \"count\")",
            );
            d.window
        }
    };
    let cfg = BreakerConfig {
        window,
        minimum_calls: b.minimum_calls.unwrap_or(d.minimum_calls),
        failure_rate_threshold: b.failure_rate_threshold.unwrap_or(d.failure_rate_threshold),
        slow_call_duration: b.slow_call_duration.map(|x| x.0).unwrap_or(d.slow_call_duration),
        slow_call_rate_threshold: b.slow_call_rate_threshold.unwrap_or(d.slow_call_rate_threshold),
        wait_in_open: b.wait_in_open.map(|x| x.0).unwrap_or(d.wait_in_open),
        wait_multiplier: b.wait_multiplier.unwrap_or(d.wait_multiplier),
        max_wait_in_open: b.max_wait_in_open.map(|x| x.0),
        half_open_calls: b.half_open_calls.unwrap_or(d.half_open_calls),
        automatic_half_open: b.automatic_half_open.unwrap_or(d.automatic_half_open),
    };
    at_least_one(c, format!("{p}.minimum_calls"), cfg.minimum_calls);
    at_least_one(c, format!("{p}.half_open_calls"), cfg.half_open_calls);
    percent(c, format!("{p}.failure_rate_threshold"), cfg.failure_rate_threshold);
    percent(c, format!("{p}.slow_call_rate_threshold"), cfg.slow_call_rate_threshold);
    c.positive(&format!("{p}.wait_in_open"), cfg.wait_in_open);
    if !(cfg.wait_multiplier >= 1.0 && cfg.wait_multiplier.is_finite()) {
        c.err(format!("{p}.wait_multiplier"), format!("{} must be a number >= 1", cfg.wait_multiplier));
    }
    if let Some(max) = cfg.max_wait_in_open {
        if max < cfg.wait_in_open {
            c.err(format!("{p}.max_wait_in_open"), "must not be shorter than wait_in_open");
        }
    }
    cfg
}

pub(super) fn retry(c: &mut Checker, p: &str, r: &RawRetry) -> RetryConfig {
    let d = RetryConfig::default();
    let max_attempts = r.max_attempts.unwrap_or(d.max_attempts);
    at_least_one(c, format!("{p}.max_attempts"), max_attempts);
    let backoff = match r.backoff {
        BackoffKind::Fixed => {
            for (k, present) in
                [("initial", r.initial.is_some()), ("multiplier", r.multiplier.is_some()), ("max", r.max.is_some())]
            {
                if present {
                    c.err(format!("{p}.{k}"), "only an exponential backoff takes this (set backoff = \"exponential\")");
                }
            }
            Backoff::Fixed(r.wait.map(|w| w.0).unwrap_or(SimDuration::from_millis(500)))
        }
        BackoffKind::Exponential => {
            if r.wait.is_some() {
                c.err(format!("{p}.wait"), "an exponential backoff starts at `initial`, not `wait`");
            }
            let multiplier = r.multiplier.unwrap_or(1.5);
            if !(multiplier >= 1.0 && multiplier.is_finite()) {
                c.err(format!("{p}.multiplier"), format!("{multiplier} must be a number >= 1"));
            }
            let initial = r.initial.map(|x| x.0).unwrap_or(SimDuration::from_millis(500));
            let max = r.max.map(|x| x.0).unwrap_or(SimDuration::from_secs(30));
            if max < initial {
                c.err(format!("{p}.max"), "must not be shorter than `initial`");
            }
            Backoff::Exponential { initial, multiplier, max }
        }
    };
    let jitter = r.jitter.unwrap_or(0.0);
    c.fraction(&format!("{p}.jitter"), jitter);
    let on = r.on.clone().unwrap_or_else(|| vec![RetryOn::Errors, RetryOn::Timeouts, RetryOn::Rejected]);
    if on.is_empty() {
        c.err(
            format!("{p}.on"),
            "retries nothing: list some of \"errors\", \"timeouts\", \"rejected\" (or remove the retry section)",
        );
    }
    let budget = r.budget.as_ref().map(|b| {
        let bd = BudgetConfig::default();
        let cfg = BudgetConfig {
            ratio: b.ratio.unwrap_or(bd.ratio),
            min_per_s: b.min_per_s.unwrap_or(bd.min_per_s),
            ttl: b.ttl.map(|x| x.0).unwrap_or(bd.ttl),
        };
        if !(cfg.ratio >= 0.0 && cfg.ratio.is_finite()) {
            c.err(format!("{p}.budget.ratio"), format!("{} must be a number >= 0", cfg.ratio));
        }
        if !(cfg.min_per_s >= 0.0 && cfg.min_per_s.is_finite()) {
            c.err(format!("{p}.budget.min_per_s"), format!("{} must be a number >= 0", cfg.min_per_s));
        }
        c.positive(&format!("{p}.budget.ttl"), cfg.ttl);
        cfg
    });
    RetryConfig {
        max_attempts,
        backoff,
        jitter,
        on_errors: on.contains(&RetryOn::Errors),
        on_timeouts: on.contains(&RetryOn::Timeouts),
        on_rejected: on.contains(&RetryOn::Rejected),
        budget,
    }
}

pub(super) fn bulkhead(c: &mut Checker, p: &str, b: &RawBulkhead) -> BulkheadConfig {
    let d = BulkheadConfig::default();
    let cfg = BulkheadConfig {
        max_concurrent: b.max_concurrent.unwrap_or(d.max_concurrent),
        max_wait: b.max_wait.map(|x| x.0).unwrap_or(d.max_wait),
    };
    at_least_one(c, format!("{p}.max_concurrent"), cfg.max_concurrent);
    cfg
}

pub(super) fn rate_limit(c: &mut Checker, p: &str, r: &RawRateLimit) -> RateLimitConfig {
    let d = RateLimitConfig::default();
    let cfg = RateLimitConfig { limit: r.limit.unwrap_or(d.limit), period: r.period.map(|x| x.0).unwrap_or(d.period) };
    at_least_one(c, format!("{p}.limit"), cfg.limit);
    c.positive(&format!("{p}.period"), cfg.period);
    cfg
}

/// The probes of a service at `p` (`services[i].health`): at most one of each kind, with Kubernetes'
/// constraints (success_threshold 1 for liveness and startup; readiness never restarts).
pub(super) fn probes(c: &mut Checker, p: &str, probes: &Probes) -> Vec<HealthConfig> {
    let mut out: Vec<HealthConfig> = Vec::new();
    for (i, h) in probes.list.iter().enumerate() {
        let at = if probes.array { format!("{p}[{i}]") } else { p.to_string() };
        let cfg = health(c, &at, h);
        if out.iter().any(|o| o.probe == cfg.probe) {
            c.err(
                format!("{at}.probe"),
                format!("a second {} probe: a service has at most one of each kind", cfg.probe),
            );
        }
        out.push(cfg);
    }
    out
}

fn health(c: &mut Checker, p: &str, h: &RawHealth) -> HealthConfig {
    let d = HealthConfig::default();
    let probe = match h.probe {
        None | Some(ProbeName::Liveness) => ProbeKind::Liveness,
        Some(ProbeName::Readiness) => ProbeKind::Readiness,
        Some(ProbeName::Startup) => ProbeKind::Startup,
    };
    let cfg = HealthConfig {
        interval: h.interval.map(|x| x.0).unwrap_or(d.interval),
        initial_delay: h.initial_delay.map(|x| x.0).unwrap_or(d.initial_delay),
        timeout: h.timeout.map(|x| x.0).unwrap_or(d.timeout),
        failure_threshold: h.failure_threshold.unwrap_or(d.failure_threshold),
        success_threshold: h.success_threshold.unwrap_or(d.success_threshold),
        probe,
        remediate: h.remediate.unwrap_or(probe != ProbeKind::Readiness),
    };
    c.positive(&format!("{p}.interval"), cfg.interval);
    c.positive(&format!("{p}.timeout"), cfg.timeout);
    at_least_one(c, format!("{p}.failure_threshold"), cfg.failure_threshold);
    at_least_one(c, format!("{p}.success_threshold"), cfg.success_threshold);
    if probe != ProbeKind::Readiness && cfg.success_threshold > 1 {
        c.err(
            format!("{p}.success_threshold"),
            format!("must be 1 for a {probe} probe (as in Kubernetes): one success shows the service is alive"),
        );
    }
    if probe == ProbeKind::Readiness && h.remediate == Some(true) {
        c.err(
            format!("{p}.remediate"),
            "a readiness probe never restarts the service, it takes it out of rotation: add a liveness probe to restart it",
        );
    }
    cfg
}

pub(super) fn autoscale(c: &mut Checker, p: &str, a: &RawAutoscale, workers: u32) -> AutoscaleConfig {
    let cfg = AutoscaleConfig {
        target_utilization: a.target_utilization,
        metric: match a.metric {
            None | Some(ScaleMetricName::Cpu) => ScaleMetric::Cpu,
            Some(ScaleMetricName::Concurrency) => ScaleMetric::Concurrency,
        },
        min_workers: a.min_workers.unwrap_or(1),
        max_workers: a.max_workers,
        interval: a.interval.map(|x| x.0).unwrap_or(SimDuration::from_secs(15)),
        tolerance: a.tolerance.unwrap_or(0.1),
        scale_down_stabilization: a.scale_down_stabilization.map(|x| x.0).unwrap_or(SimDuration::from_secs(300)),
        cooldown: a.cooldown.map(|x| x.0).unwrap_or(SimDuration::ZERO),
        provisioning_delay: a.provisioning_delay.map(|x| x.0).unwrap_or(SimDuration::from_secs(30)),
    };
    if !(cfg.target_utilization > 0.0 && cfg.target_utilization <= 1.0) {
        c.err(format!("{p}.target_utilization"), format!("{} must be in (0, 1]", cfg.target_utilization));
    }
    at_least_one(c, format!("{p}.min_workers"), cfg.min_workers);
    if cfg.max_workers < cfg.min_workers {
        c.err(format!("{p}.max_workers"), "must not be below min_workers");
    } else if !(cfg.min_workers..=cfg.max_workers).contains(&workers) {
        c.err(
            format!("{p}.max_workers"),
            format!(
                "the service starts with {workers} workers, outside [min_workers, max_workers] = [{}, {}]",
                cfg.min_workers, cfg.max_workers
            ),
        );
    }
    c.positive(&format!("{p}.interval"), cfg.interval);
    c.fraction(&format!("{p}.tolerance"), cfg.tolerance);
    cfg
}
