//! The rules of [`super::RULES`], one function each: what it looks at, and what it says when its
//! condition holds.

use super::{Found, Level, WindowRow, bad, during, ms, pct};
use crate::model::event::Event;
use crate::model::summary::{BreakerWindow, FaultKind, PhaseName, Severity};
use crate::report::html::data::RunData;
use crate::report::html::data::SATURATED;

/// `objective`: an objective missed, with the budget it burned and the alerts that paged.
pub(super) fn objective(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    let w = d.window_s();
    for slo in s.slos.iter().filter(|o| !o.met) {
        let achieved = slo.achieved.map(|a| format!("{a:.5}")).unwrap_or_else(|| "nothing (no requests)".into());
        let mut text = format!("\"{}\" missed: achieved {achieved} against {}", slo.name, slo.objective);
        if let Some(b) = &slo.budget
            && let Some(c) = b.consumed
        {
            text.push_str(&format!(
                "; {} bad events burned {:.2}× the error budget of the run's traffic ({} of a {:.0}-day budget)",
                b.bad,
                c,
                pct(b.consumed_of_period.unwrap_or(0.0)),
                b.period_days
            ));
        }
        let pages: Vec<String> = slo
            .alerts
            .iter()
            .filter(|a| a.severity == Severity::Page)
            .map(|a| format!("{:.0} s (burn rate {:.1})", a.fired_at_s, a.burn_rate_at_fire))
            .collect();
        if pages.len() > 5 {
            text.push_str(&format!(
                "; paged {} times, first at {} and last at {}",
                pages.len(),
                pages[..3].join(", "),
                pages[pages.len() - 1]
            ));
        } else if !pages.is_empty() {
            text.push_str(&format!("; paged at {}", pages.join(", ")));
        }
        // Where the budget went: the window that burned the most of it.
        let worst = d.slo_totals(&slo.name).and_then(|o| o.worst);
        let advice = match worst {
            Some(r) if r.total > r.good => format!(
                "the window at {:.0} s{} burned the most ({} bad of {}): look there in the timeline and at the findings on {}",
                r.t_s,
                during(d, r.t_s, r.t_s + w),
                r.total - r.good,
                r.total,
                slo.service
            ),
            _ => format!("no window stands out: look at the findings on {}", slo.service),
        };
        out.push(Found { level: Level::Critical, text, advice });
    }
    Ok(())
}

/// `hypothesis`: a probe of the steady-state hypothesis out of tolerance, by phase.
pub(super) fn hypothesis(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    if let Some(h) = &s.hypothesis {
        for p in &h.probes {
            let failed: Vec<_> = p.phases.iter().filter(|ph| !ph.ok).collect();
            if failed.is_empty() {
                continue;
            }
            let tol = match (p.min, p.max) {
                (Some(a), Some(b)) => format!("within [{a}, {b}]"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => "defined".into(),
            };
            // The worst value: the furthest outside the tolerance.
            let distance =
                |v: f64| p.min.map(|m| m - v).unwrap_or(f64::MIN).max(p.max.map(|m| v - m).unwrap_or(f64::MIN));
            let worst = failed
                .iter()
                .filter_map(|ph| ph.value.map(|v| (ph, v)))
                .max_by(|a, b| distance(a.1).total_cmp(&distance(b.1)));
            let names: Vec<String> = failed.iter().map(|ph| format!("\"{}\"", ph.phase)).collect();
            let listed = if names.len() > 4 {
                format!("{} and {} more", names[..3].join(", "), names.len() - 3)
            } else {
                names.join(", ")
            };
            let mut text = format!(
                "probe \"{}\" ({} {}, expected {tol}) was out of tolerance in {} of {} phases: {listed}",
                p.name,
                p.target,
                p.metric,
                failed.len(),
                p.phases.len()
            );
            if let Some((ph, v)) = worst {
                text.push_str(&format!("; worst window {v:.4} in \"{}\"", ph.phase));
            }
            let faults_only = failed.iter().all(|ph| matches!(ph.phase, PhaseName::Fault(_)));
            out.push(Found {
                level: Level::Critical,
                text,
                advice: if faults_only {
                    "the steady state broke under these faults and came back: the resilience of their targets is what to improve".into()
                } else {
                    "the steady state did not hold outside the faults either: fix the baseline (capacity, objectives) first".into()
                },
            });
        }
    }
    Ok(())
}

/// `saturation`: a service at or above 90% utilisation, with the share of queueing in its p99.
pub(super) fn saturation(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    let w = d.window_s();
    for ((name, svc), facts) in s.services.iter().zip(&d.services) {
        let hot = &facts.hot;
        let Some(peak) = hot.iter().max_by(|a, b| a.utilization.total_cmp(&b.utilization)) else { continue };
        let (first, last) = (hot[0].t_s, hot[hot.len() - 1].t_s + w);
        let mut text = format!(
            "{name} at {} utilisation at {:.0} s{} ({} windows of {w:.0} s at or above {}, between {:.0} s and {:.0} s)",
            pct(peak.utilization),
            peak.t_s,
            during(d, peak.t_s, peak.t_s + w),
            hot.len(),
            pct(SATURATED),
            first,
            last
        );
        // Measured, not inferred: the p99 of the queue wait of the requests that started in the window
        // against the p99 of their time in the service (queue wait plus processing).
        if let (Some(wait), Some(p99)) = (peak.wait_p99_ms(), peak.p99_ms())
            && p99 > 0.0
        {
            text.push_str(&format!(
                "; there the p99 of its queue wait was {}, {} of the p99 of its time in service ({})",
                ms(wait),
                pct(wait / p99),
                ms(p99)
            ));
        }
        let cfg = Some(&svc.config);
        // A worker waiting for a dependency counts as busy: when a callee was saturated in the same
        // windows, the bottleneck is downstream.
        let mine: Vec<f64> = hot.iter().map(|r| r.t_s).collect();
        let downstream: Vec<(&str, usize)> = cfg
            .map(|c| c.calls.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|callee| {
                let theirs = &d.services.iter().find(|f| f.name == *callee)?.hot;
                let both = theirs.iter().filter(|r| mine.contains(&r.t_s)).count();
                (both > 0).then_some((callee.as_str(), both))
            })
            .collect();
        let advice = if let Some((callee, both)) = downstream.iter().max_by_key(|x| x.1) {
            text.push_str(&format!(
                "; {callee}, which it calls, was saturated in {both} of these windows: {name}'s workers were waiting on it"
            ));
            format!(
                "fix {callee} first; a timeout on {callee}, or a bulkhead in {name} around its calls, keeps {name}'s workers free meanwhile"
            )
        } else {
            let mut advice = format!("add workers to {name} (it had {:.0} there)", peak.workers);
            if cfg.is_some_and(|c| c.autoscale_workers.is_none()) {
                advice.push_str(", autoscale it");
            }
            advice.push_str(", or shed load before it (a rate limit or a bulkhead in its callers)");
            advice
        };
        out.push(Found { level: Level::Warning, text, advice });
    }
    Ok(())
}

/// `breaker-silent`: a breaker that never opened although calls failed above its threshold.
pub(super) fn breaker_silent(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    let w = d.window_s();
    for (i, (name, svc)) in s.services.iter().enumerate() {
        let Some(b) = Some(&svc.config).and_then(|c| c.breaker.as_ref()) else { continue };
        if svc.breaker_opens > 0 {
            continue;
        }
        // Read again for this service alone: the stretch around its worst window is looked at row by row.
        let rows = d.service_rows(i)?;
        let threshold = b.failure_rate_threshold / 100.0;
        let failing = |r: &WindowRow| r.counts.requests > 0 && bad(r) as f64 / r.counts.requests as f64 >= threshold;
        let ratio = |r: &WindowRow| if r.counts.requests > 0 { bad(r) as f64 / r.counts.requests as f64 } else { 0.0 };
        let Some(k) =
            (0..rows.len()).filter(|k| failing(&rows[*k])).max_by(|a, b| ratio(&rows[*a]).total_cmp(&ratio(&rows[*b])))
        else {
            continue;
        };
        // The run of failing windows around the worst one.
        let (mut i, mut j) = (k, k);
        while i > 0 && failing(&rows[i - 1]) {
            i -= 1;
        }
        while j + 1 < rows.len() && failing(&rows[j + 1]) {
            j += 1;
        }
        let run = &rows[i..=j];
        let calls: u64 = run.iter().map(|r| r.counts.requests).sum();
        let failed: u64 = run.iter().map(bad).sum();
        let seen: u64 = rows[..=j].iter().map(|r| r.counts.requests).sum();
        let span = run.len() as f64 * w;
        // What kept it closed, stated only where the figures show it; otherwise what the breaker's rule
        // itself implies (it never opened although it evaluated): no window reached the threshold.
        let threshold_pct = b.failure_rate_threshold;
        let never = format!(
            "its sliding window never held {threshold_pct}% failures at once: the failures were spread among successes"
        );
        let why = if b.window == BreakerWindow::Count {
            let size = b.window_size as u64;
            if seen < u64::from(b.minimum_calls) {
                format!("its minimum_calls ({}) is higher than the {seen} calls it had seen by then", b.minimum_calls)
            } else if calls < size && seen >= size {
                // A full window ending in the stretch holds some of its calls and at most `size` calls
                // before it: at most the stretch's failures plus those of the rows covering `size` calls
                // before it.
                let mut before = (0u64, 0u64);
                for r in rows[..i].iter().rev() {
                    if before.0 >= size {
                        break;
                    }
                    before = (before.0 + r.counts.requests, before.1 + bad(r));
                }
                format!(
                    "its window of the last {size} calls is longer than the {calls} calls of the failure: a window ending in it held at most {} failures",
                    pct((failed + before.1) as f64 / size as f64)
                )
            } else {
                never
            }
        } else {
            let held = calls as f64 / span * b.window_size;
            if held < f64::from(b.minimum_calls) {
                format!(
                    "its minimum_calls ({}) is higher than the ~{held:.0} calls its {:.0} s window holds at this rate",
                    b.minimum_calls, b.window_size
                )
            } else if b.window_size > span {
                format!(
                    "its {:.0} s window is longer than the {span:.0} s of the failure, so the failures shared it with successes",
                    b.window_size
                )
            } else {
                never
            }
        };
        out.push(Found {
            level: Level::Warning,
            text: format!(
                "the breaker on {name} never opened although {} of its calls failed in the window at {:.0} s{} ({failed} of {calls} calls failed in {} windows from {:.0} s; threshold {}%): {why}",
                pct(ratio(&rows[k])),
                rows[k].t_s,
                during(d, rows[k].t_s, rows[k].t_s + w),
                run.len(),
                run[0].t_s,
                b.failure_rate_threshold
            ),
            advice: "lower minimum_calls, or use a shorter (or time-based) sliding window, so that the breaker sees a failure of this size".into(),
        });
    }
    Ok(())
}

/// `breaker-opened`: breakers that opened, and the calls they spared their dependency.
pub(super) fn breaker_opened(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    for (name, svc) in &s.services {
        if svc.breaker_opens == 0 {
            continue;
        }
        let opens: Vec<f64> = d
            .events
            .iter()
            .filter(|e| matches!(e.event, Event::BreakerOpen { .. }) && e.target == *name)
            .map(|e| e.t.as_secs_f64())
            .collect();
        let (first, last) = (opens.first().copied().unwrap_or(0.0), opens.last().copied().unwrap_or(0.0));
        // Every attempt of its callers: sent, or rejected by a breaker or a bulkhead.
        let calls = svc.call_attempts + svc.rejected_by_breaker + svc.rejected_by_bulkhead;
        out.push(Found {
            level: Level::Info,
            text: format!(
                "the breakers on {name} opened {} times between {first:.0} s and {last:.0} s{} and rejected {} calls ({} of the attempts its callers made) without sending them",
                svc.breaker_opens,
                during(d, first, last.max(first + 1e-9)),
                svc.rejected_by_breaker,
                pct(if calls > 0 { svc.rejected_by_breaker as f64 / calls as f64 } else { 0.0 })
            ),
            advice: "fast failures instead of waiting on a failing dependency: check in the timeline that the callers' latency stayed bounded meanwhile".into(),
        });
    }
    Ok(())
}

/// `no-timeout`: calls to a slow or hung dependency without a timeout.
pub(super) fn no_timeout(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    let w = d.window_s();
    for ((name, svc), facts) in s.services.iter().zip(&d.services) {
        let Some(cfg) = Some(&svc.config) else { continue };
        let callers: Vec<&str> = s
            .services
            .iter()
            .filter(|(_, c)| c.config.calls.iter().any(|x| x == name))
            .map(|(n, _)| n.as_str())
            .collect();
        if callers.is_empty() || cfg.timeout_ms.is_some() {
            continue;
        }
        let hung =
            s.faults.iter().find(|f| matches!(f.kind, FaultKind::Hang | FaultKind::Partition) && f.target == *name);
        let slow = facts.slowest;
        let typical = svc.latency_ms.p50;
        let text = match (hung, slow) {
            (Some(f), _) => Some(format!(
                "{name} stopped answering in fault \"{}\" ({}) and its callers ({}) have no timeout: they held their workers for as long as it lasted",
                f.name,
                f.kind,
                callers.join(", ")
            )),
            (None, Some((t, p99))) if typical > 0.0 && p99 > 10.0 * typical && p99 > 1000.0 => Some(format!(
                "{name}'s p99 reached {} at {t:.0} s{}, {:.0}× its median of {}, and its callers ({}) have no timeout",
                ms(p99),
                during(d, t, t + w),
                p99 / typical,
                ms(typical),
                callers.join(", ")
            )),
            _ => None,
        };
        if let Some(text) = text {
            out.push(Found {
                level: Level::Warning,
                text,
                advice: format!(
                    "set `timeout` on {name} a little above its healthy p99 ({}), so that callers give up and free their workers",
                    ms(svc.latency_ms.p99)
                ),
            });
        }
    }
    Ok(())
}

/// `retry-storm`: retries adding more than 10% to a dependency's calls without a retry budget.
pub(super) fn retry_storm(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    for (name, svc) in &s.services {
        let Some(cfg) = Some(&svc.config) else { continue };
        // Every attempt its callers made was sent or rejected by their breaker or bulkhead; the first
        // attempts are the calls, the rest are retries.
        let tried = svc.call_attempts + svc.rejected_by_breaker + svc.rejected_by_bulkhead;
        let calls = tried.saturating_sub(svc.retries);
        if svc.retries == 0 || cfg.retry_budget || calls == 0 {
            continue;
        }
        let share = svc.retries as f64 / calls as f64;
        if share > 0.10 {
            out.push(Found {
                level: Level::Warning,
                text: format!(
                    "retries added {} to the calls made to {name} ({} retries on top of {calls} calls), with up to {} attempts each and no retry budget",
                    pct(share),
                    svc.retries,
                    cfg.retry_max_attempts.unwrap_or(0)
                ),
                advice: format!("give the retries of {name} a budget so that a failing dependency is not hit harder"),
            });
        }
    }
    Ok(())
}

/// `rejections`: a service refusing more than 1% of its requests.
pub(super) fn rejections(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    for (name, svc) in &s.services {
        if svc.requests == 0 {
            continue;
        }
        let refused = svc.rejected;
        let share = refused as f64 / svc.requests as f64;
        if share > 0.01 {
            let cfg = Some(&svc.config);
            let mut text = format!("{name} refused {refused} requests ({} of its {})", pct(share), svc.requests);
            if svc.rate_limited > 0 {
                text.push_str(&format!(", {} of them by its rate limiter", svc.rate_limited));
            }
            if let Some(c) = cfg {
                text.push_str(&format!("; its queue holds {} with {} workers", c.queue, c.workers));
            }
            out.push(Found {
                level: Level::Warning,
                text,
                advice: "more workers or a longer queue if the load is legitimate; otherwise a rate limit at the edge sheds it more cheaply".into(),
            });
        }
    }
    Ok(())
}

/// `slow-recovery`: a fault whose target took much longer than the fault to answer again, or never did.
pub(super) fn slow_recovery(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    for f in &s.faults {
        let (Some(a), Some(b)) = (f.start_s, f.end_s) else { continue };
        if f.target == "load" {
            continue;
        }
        let lasted = b - a;
        match f.recovered_after_s {
            Some(r) if r > lasted + (2.0 * lasted).max(10.0) => out.push(Found {
                level: Level::Warning,
                text: format!(
                    "{} took {:.1} s to answer successfully again after fault \"{}\" ({}, {:.1} s long): {:.1} s after the fault ended",
                    f.target,
                    r,
                    f.name,
                    f.kind,
                    lasted,
                    r - lasted
                ),
                advice: "a backlog or an open breaker outlived the fault: look at the queue depth and breaker lanes after it; shorter queues, timeouts or a shorter wait in open recover faster".into(),
            }),
            None if f.target != "device" || s.audio.is_some() => out.push(Found {
                level: Level::Critical,
                text: format!(
                    "{} never answered successfully again after fault \"{}\" ({}, from {a:.0} s)",
                    f.target, f.name, f.kind
                ),
                advice: "check its restart type and supervisor intensity in the events: it may have been left down".into(),
            }),
            _ => {}
        }
    }
    Ok(())
}

/// `autoscale-ceiling`: an autoscaled service saturated at its maximum, or lagging behind the load.
pub(super) fn autoscale_ceiling(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    let w = d.window_s();
    for ((name, svc), facts) in s.services.iter().zip(&d.services) {
        let Some([_, max]) = Some(&svc.config).and_then(|c| c.autoscale_workers) else { continue };
        let hot = &facts.hot;
        if hot.is_empty() {
            continue;
        }
        let at_max = hot.iter().filter(|r| r.workers >= f64::from(max) - 1e-9).count();
        let mean_workers = hot.iter().map(|r| r.workers).sum::<f64>() / hot.len() as f64;
        let first = hot[0].t_s;
        if at_max > 0 {
            out.push(Found {
                level: Level::Warning,
                text: format!(
                    "{name} reached its max_workers ({max}) and stayed at or above {} utilisation there for {at_max} windows (the first saturated window at {first:.0} s)",
                    pct(SATURATED)
                ),
                advice: format!("raise max_workers of {name} or cut its per-request cost"),
            });
        } else {
            out.push(Found {
                level: Level::Warning,
                text: format!(
                    "the autoscaler of {name} lagged: it ran {mean_workers:.1} workers on average (max_workers {max}) in the {} windows it was saturated, from {first:.0} s{}; {} scale-ups in the run",
                    hot.len(),
                    during(d, first, first + w),
                    svc.scale_ups
                ),
                advice: format!(
                    "raise min_workers of {name}, or shorten its provisioning_delay and cooldown, so that capacity arrives before the load does"
                ),
            });
        }
    }
    Ok(())
}

/// `audio`: xruns, missing periods or clipping on the audio path, with the DSP load.
pub(super) fn audio(d: &RunData, out: &mut Vec<Found>) -> Result<(), String> {
    let s = &d.summary;
    if let Some(a) = &s.audio
        && (a.xruns > 0 || a.missing > 0 || a.clipped_samples > 0)
    {
        let mut text = format!(
            "the audio path had {} xruns and {} missing periods of {} ({:.3} ms periods at {} frames / {} Hz); DSP load mean {} and peak {} of the period",
            a.xruns,
            a.missing,
            a.periods,
            a.period_ms,
            a.buffer_frames,
            a.sample_rate_hz,
            pct(a.dsp_load_mean),
            pct(a.dsp_load_max)
        );
        if a.clipped_samples > 0 {
            text.push_str(&format!("; {} samples clipped", a.clipped_samples));
        }
        if a.restarts > 0 {
            text.push_str(&format!("; the device was reopened {} times, gone {:.1} s", a.restarts, a.downtime_s));
        }
        let advice = if a.dsp_load_max >= 0.9 {
            "the processing came close to the period: raise buffer_frames (more latency) or lighten the vocal chain"
        } else if a.clipped_samples > 0 {
            "lower the input gain or engage PAD on the hot channel"
        } else {
            "the DSP had headroom: the xruns came from the device or injected faults (see the timeline)"
        };
        out.push(Found {
            level: if a.missing > 0 { Level::Critical } else { Level::Warning },
            text,
            advice: advice.into(),
        });
    }
    Ok(())
}
