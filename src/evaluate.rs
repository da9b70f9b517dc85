//! Evaluates a run: its objectives, error budgets, alerts, hypothesis, stress steps and the verdict, decided
//! here and only here, into a [`Summary`] (the types are [`crate::model::summary`]; `report` renders it).

use crate::model::SCHEMA;
use crate::model::summary::*;

use crate::run::RunOutput;
use crate::scenario::{Indicator, Scenario, Slo, Target};
use crate::sim::{Ending, SimTime};

fn service_config(sc: &Scenario, s: &crate::scenario::Service) -> ServiceConfig {
    use crate::resilience::breaker::WindowKind;
    ServiceConfig {
        kind: match s.kind {
            crate::scenario::ServiceKind::Service => ServiceKind::Service,
            crate::scenario::ServiceKind::EventBus { .. } => ServiceKind::EventBus,
        },
        workers: s.workers,
        queue: s.queue,
        timeout_ms: s.timeout.map(|t| t.as_millis_f64()),
        calls: s.calls.iter().map(|c| sc.service(*c).name.clone()).collect(),
        optional: s.optional,
        breaker: s.breaker.as_ref().map(|b| {
            let (window, window_size) = match b.window {
                WindowKind::Count(n) => (BreakerWindow::Count, f64::from(n)),
                WindowKind::Time(d) => (BreakerWindow::Time, d.as_secs_f64()),
            };
            BreakerSummary {
                window,
                window_size,
                minimum_calls: b.minimum_calls,
                failure_rate_threshold: b.failure_rate_threshold,
            }
        }),
        retry_max_attempts: s.retry.as_ref().map(|r| r.max_attempts),
        retry_budget: s.retry.as_ref().is_some_and(|r| r.budget.is_some()),
        bulkhead_max_concurrent: s.bulkhead.as_ref().map(|b| b.max_concurrent),
        autoscale_workers: s.autoscale.as_ref().map(|a| [a.min_workers, a.max_workers]),
    }
}

fn buckets(lat: &crate::metrics::Latency) -> Vec<Bucket> {
    let counts = lat.buckets(&BUCKET_EDGES_MS);
    counts.into_iter().enumerate().map(|(i, count)| Bucket { le_ms: BUCKET_EDGES_MS.get(i).copied(), count }).collect()
}

fn stress_summary(sc: &Scenario, out: &RunOutput) -> Option<StressSummary> {
    let st = sc.load.stress.as_ref()?;
    let entry_slos: Vec<&Slo> = sc.slos.iter().filter(|s| s.target == Target::Service(sc.load.entry)).collect();
    // The load generator counts successes within each latency threshold of the entry's objectives, in
    // their order: the k-th latency objective is the k-th counter.
    let latency_rank: Vec<usize> = entry_slos
        .iter()
        .scan(0usize, |k, s| {
            let rank = *k;
            if matches!(s.indicator, Indicator::Latency { .. }) {
                *k += 1;
            }
            Some(rank)
        })
        .collect();
    let steps: Vec<StepSummary> = out
        .client
        .steps
        .iter()
        .map(|s| {
            let total = s.counts.requests;
            let bad = s.counts.failed + s.counts.timed_out + s.counts.rejected;
            let error_rate = if total > 0 { bad as f64 / total as f64 } else { 0.0 };
            let slos_met = entry_slos.iter().enumerate().all(|(i, slo)| {
                let good = match slo.indicator {
                    Indicator::Availability => s.counts.ok,
                    Indicator::Latency { .. } => s.within.get(latency_rank[i]).copied().unwrap_or(0),
                    _ => return true,
                };
                total > 0 && good as f64 / total as f64 >= slo.objective
            });
            StepSummary {
                rate_per_s: s.rate_per_s,
                requests: total,
                error_rate,
                p99_ms: s.latency.p99,
                met: total > 0 && slos_met && error_rate <= st.stop_error_rate,
            }
        })
        .collect();
    let breaking_point_per_s = steps.iter().take_while(|s| s.met).last().map(|s| s.rate_per_s);
    Some(StressSummary {
        steps,
        breaking_point_per_s,
        stopped_at_s: out.client.stress_stopped_at.map(|t| t.as_secs_f64()),
    })
}

fn hypothesis(sc: &Scenario, out: &RunOutput) -> Option<HypothesisSummary> {
    let spec = sc.experiment.as_ref()?;
    let faults: Vec<(String, SimTime, SimTime)> =
        out.faults.iter().filter_map(|f| f.start.map(|s| (f.name.clone(), s, f.end.unwrap_or(out.end)))).collect();
    let phases = crate::experiment::phases(spec, &faults, out.end);
    let w = sc.window.as_secs_f64();
    let probes: Vec<crate::experiment::ProbeResult> = spec
        .probes
        .iter()
        .map(|p| {
            let values: Vec<(f64, Option<f64>)> = match p.target {
                Target::Service(id) => {
                    out.services[id.index()].rows.iter().map(|r| (r.t_s, p.metric.of_window(r, w))).collect()
                }
                _ => {
                    out.audio.iter().flat_map(|a| &a.windows).map(|r| (r.t_s, p.metric.of_audio_window(r, w))).collect()
                }
            };
            crate::experiment::ProbeResult {
                name: p.name.clone(),
                target: sc.target_name(p.target).to_string(),
                metric: p.metric,
                min: p.min,
                max: p.max,
                phases: crate::experiment::check(p, &values, w, &phases),
            }
        })
        .collect();
    let result = if matches!(out.ending, Ending::Aborted(_) | Ending::Interrupted) {
        HypothesisResult::Aborted
    } else if probes.iter().all(|p| p.phases.iter().all(|c| c.ok)) {
        HypothesisResult::Completed
    } else {
        HypothesisResult::Deviated
    };
    Some(HypothesisSummary { result, phases, probes })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn audio_summary(sc: &Scenario, out: &RunOutput) -> Option<AudioSummary> {
    let (d, a) = (sc.device.as_ref()?, out.audio.as_ref()?);
    let outputs = a.meters.len() - 2..a.meters.len();
    Some(AudioSummary {
        model: d.model,
        sample_rate_hz: d.rate_hz,
        buffer_frames: d.frames,
        period_ms: a.period_s * 1e3,
        periods: a.periods,
        xruns: a.xruns,
        missing: a.missing,
        dropouts: a.dropouts,
        max_dropout_ms: a.max_dropout_periods as f64 * a.period_s * 1e3,
        clipped_samples: a.meters.iter().map(|m| m.clipped).sum(),
        silent_output_periods: a.meters[outputs.start].zero_blocks.min(a.meters[outputs.start + 1].zero_blocks),
        output_lufs: a.output_lufs.map(round3),
        dsp_load_mean: a.dsp_load_mean,
        dsp_load_max: a.dsp_load_max,
        restarts: out.device_restarts.0,
        downtime_s: out.device_restarts.1.as_secs_f64(),
        channels: a
            .channels
            .iter()
            .zip(&a.meters)
            .map(|(name, m)| {
                (
                    name.clone(),
                    ChannelSummary {
                        peak_dbfs: m.peak_dbfs().map(round3),
                        rms_dbfs: m.rms_dbfs().map(round3),
                        clipped: m.clipped,
                        zero_blocks: m.zero_blocks,
                        quiet_blocks: m.quiet_blocks,
                    },
                )
            })
            .collect(),
    })
}

/// Evaluates one objective on a run.
fn slo_result(sc: &Scenario, out: &RunOutput, slo: &Slo) -> SloResult {
    let base = |sli, threshold_ms, good: u64, total: u64| {
        let achieved = (total > 0).then(|| good as f64 / total as f64);
        (sli, threshold_ms, good, total, achieved, achieved.is_some_and(|a| a >= slo.objective))
    };
    let (sli, threshold_ms, good, total, achieved, met) = match (slo.target, slo.indicator) {
        (Target::Service(id), Indicator::Availability) => {
            let m = &out.services[id.index()];
            base(Sli::Availability, None, m.counts.ok, m.counts.requests)
        }
        (Target::Service(id), Indicator::Latency { threshold }) => {
            let m = &out.services[id.index()];
            let good = m.within.iter().find(|(t, _)| *t == threshold).map(|(_, n)| *n).unwrap_or(0);
            base(Sli::Latency, Some(threshold.as_millis_f64()), good, m.counts.requests)
        }
        (_, indicator) => {
            let a = out.audio.as_ref().expect("invariant: audio objectives come with a device");
            let on_time = a.periods - a.xruns - a.missing;
            match indicator {
                Indicator::XrunsPerHour => {
                    let hours = out.end.as_secs_f64() / 3600.0;
                    let rate = if hours > 0.0 { a.xruns as f64 / hours } else { 0.0 };
                    (Sli::XrunsPerHour, None, on_time, a.periods, Some(rate), rate <= slo.objective)
                }
                Indicator::MaxDropout { threshold } => {
                    let longest = a.max_dropout_periods as f64 * a.period_s * 1e3;
                    let met = longest <= threshold.as_millis_f64() + 1e-9;
                    (Sli::MaxDropout, Some(threshold.as_millis_f64()), on_time, a.periods, Some(longest), met)
                }
                _ => base(Sli::AudioAvailability, None, on_time, a.periods),
            }
        }
    };
    let index = sc.slos.iter().position(|s| std::ptr::eq(s, slo)).expect("invariant: the objective is the scenario's");
    let horizon = out.end - SimTime::ZERO;
    let budget =
        crate::run::series_of(sc, out, slo).map(|s| crate::slo::budget(&s, slo.objective, slo.period, horizon));
    let alerts: Vec<AlertSummary> = out
        .alerts
        .get(index)
        .map(|spans| {
            spans
                .iter()
                .map(|a| {
                    let r = &slo.alerts[a.rule];
                    AlertSummary {
                        severity: r.severity,
                        long_s: r.long.as_secs_f64(),
                        short_s: r.short.as_secs_f64(),
                        burn_rate: r.burn_rate,
                        burn_rate_at_fire: (a.burn_rate * 1000.0).round() / 1000.0,
                        fired_at_s: a.fired.as_secs_f64(),
                        resolved_at_s: a.resolved.map(|t| t.as_secs_f64()),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let paged = alerts.iter().any(|a| a.severity == crate::slo::Severity::Page);
    SloResult {
        name: slo.name.clone(),
        service: sc.target_name(slo.target).to_string(),
        sli,
        threshold_ms,
        objective: slo.objective,
        achieved,
        good,
        total,
        met,
        budget,
        alerts,
        paged,
    }
}

impl Summary {
    /// Builds the summary of `out`, a run of `sc`.
    pub fn new(sc: &Scenario, out: &RunOutput, mode: Mode, wall_s: f64) -> Summary {
        let slos: Vec<SloResult> = sc.slos.iter().map(|slo| slo_result(sc, out, slo)).collect();
        let aborted = matches!(out.ending, Ending::Aborted(_) | Ending::Interrupted);
        let hypothesis = hypothesis(sc, out);
        let held = hypothesis.as_ref().is_none_or(|h| h.result == HypothesisResult::Completed);
        let verdict = if !aborted && held && slos.iter().all(|s| s.met) { Verdict::Pass } else { Verdict::Fail };
        let services = sc
            .services
            .iter()
            .zip(&out.services)
            .zip(&out.children)
            .enumerate()
            .map(|(i, ((s, m), c))| {
                let calls = &out.calls_to[i];
                (
                    s.name.clone(),
                    ServiceSummary {
                        requests: m.counts.requests,
                        ok: m.counts.ok,
                        failed: m.counts.failed,
                        timed_out: m.counts.timed_out,
                        rejected: m.counts.rejected,
                        latency_ms: m.latency.summary(),
                        queue_wait_ms: m.queue_wait.summary(),
                        latency_buckets: buckets(&m.latency),
                        utilization: m.utilization,
                        queue_depth: m.queue_depth,
                        crashes: c.crashes,
                        restarts: c.restarts,
                        downtime_s: c.downtime.as_secs_f64(),
                        mttr_s: (c.restarts > 0).then(|| c.downtime.as_secs_f64() / c.restarts as f64),
                        call_attempts: calls.attempts,
                        breaker_opens: calls.breaker_opens,
                        rejected_by_breaker: calls.rejected_by_breaker,
                        rejected_by_bulkhead: calls.rejected_by_bulkhead,
                        retries: calls.retries,
                        retries_denied: calls.retries_denied,
                        fallbacks: calls.fallbacks,
                        rate_limited: out.rate_limited[i],
                        scale_ups: out.scaling[i].scale_ups,
                        scale_downs: out.scaling[i].scale_downs,
                        workers: m.rows.last().map(|r| r.workers).unwrap_or(f64::from(s.workers)),
                        config: service_config(sc, s),
                    },
                )
            })
            .collect();
        Summary {
            schema: SCHEMA,
            scenario: sc.name.clone(),
            scenario_file: sc.file.clone(),
            window_s: sc.window.as_secs_f64(),
            seed: out.seed,
            entry: sc.service(sc.load.entry).name.clone(),
            mode,
            simulated_s: out.end.as_secs_f64(),
            wall_s,
            verdict,
            ended: match &out.ending {
                Ending::Drained => Ended::Drained,
                Ending::Horizon => Ended::Horizon,
                Ending::Aborted(why) => Ended::Aborted(why.clone()),
                Ending::Interrupted => Ended::Interrupted,
            },
            requests: Requests {
                counts: out.client.counts,
                unfinished: out.client.unfinished,
                dropped: out.client.dropped,
            },
            latency_ms: out.client.latency.summary(),
            services,
            slos,
            faults: out
                .faults
                .iter()
                .map(|f| FaultSummary {
                    name: f.name.clone(),
                    chaos: f.chaos.clone(),
                    kind: f.kind,
                    target: f.target.clone(),
                    detail: f.detail.clone(),
                    start_s: f.start.map(|t| t.as_secs_f64()),
                    end_s: f.end.map(|t| t.as_secs_f64()),
                    recovered_after_s: match (f.start, f.recovered) {
                        (Some(s), Some(r)) => Some((r - s).as_secs_f64()),
                        _ => None,
                    },
                })
                .collect(),
            health: out.health.clone(),
            event_buses: out.buses.iter().cloned().collect(),
            audio: audio_summary(sc, out),
            hypothesis,
            stress: stress_summary(sc, out),
            live: out.live.clone(),
            engine: EngineSummary { instants: out.engine.instants, messages: out.engine.messages },
            gate: sc.gate.clone(),
        }
    }
}
