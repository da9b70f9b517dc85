//! `summary.json`: the verdict and headline figures of a run (schema 1).

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::actors::{BusReport, HealthReport};
use crate::metrics::{Counts, LatencySummary};
use crate::run::RunOutput;
use crate::scenario::{Indicator, Scenario, Slo, Target};
use crate::sim::{Ending, SimTime};

/// The schema version written in every summary.
pub const SCHEMA: u32 = 1;

/// Pass or fail.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every objective held.
    Pass,
    /// An objective failed or the run was aborted.
    Fail,
}

/// The summary of one run.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Schema version (1).
    pub schema: u32,
    /// Scenario name.
    pub scenario: String,
    /// The scenario file, as given on the command line (what `ag06-lab run` needs to reproduce the run).
    pub scenario_file: String,
    /// The metrics window [s] (rows of `timeseries.csv`, `client.csv`, `slo.csv`).
    pub window_s: f64,
    /// Seed used.
    pub seed: u64,
    /// The entry service (where the load goes).
    pub entry: String,
    /// "simulated" or "live".
    pub mode: &'static str,
    /// Simulated seconds covered by the run.
    pub simulated_s: f64,
    /// Wall-clock seconds the run took (the only field that differs between same-seed runs).
    pub wall_s: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// How the run ended: "drained" (all work done), "horizon" (stopped at arrivals end + drain with
    /// work pending) or "aborted: <reason>".
    pub ended: String,
    /// End-to-end outcomes seen by the load generator.
    pub requests: Requests,
    /// End-to-end latency of successful requests, from their scheduled arrival [ms].
    pub latency_ms: LatencySummary,
    /// Server-side figures per service, in scenario order.
    pub services: Ordered<ServiceSummary>,
    /// Objectives.
    pub slos: Vec<SloResult>,
    /// Injected faults.
    pub faults: Vec<FaultSummary>,
    /// Health checks (`status` is null when no service has a health check).
    pub health: HealthReport,
    /// Event buses by name: messages produced, and per consumer group consumed, redelivered, lost
    /// (must be 0) and pending.
    pub event_buses: Ordered<BusReport>,
    /// The audio path (absent without a device).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioSummary>,
    /// The steady-state hypothesis (absent without probes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypothesis: Option<HypothesisSummary>,
    /// The stress test (absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stress: Option<StressSummary>,
    /// Live mode: the real interface's figures (callbacks, xruns, jitter, DSP load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<crate::live::LiveReport>,
    /// Engine work: distinct instants visited and messages delivered.
    pub engine: EngineSummary,
}

/// End-to-end request counts.
#[derive(Debug, Serialize)]
pub struct Requests {
    /// Counts (`total = ok + failed + timed_out + rejected`).
    #[serde(flatten)]
    pub counts: Counts,
    /// Of `timed_out`: requests with no answer when the run ended.
    pub unfinished: u64,
    /// Arrivals that found no free virtual user (not counted in `total`).
    pub dropped: u64,
}

/// Server-side figures of one service.
#[derive(Debug, Serialize)]
pub struct ServiceSummary {
    /// Requests received whose outcome was decided.
    pub requests: u64,
    /// Answered successfully before the caller's deadline.
    pub ok: u64,
    /// Failed.
    pub failed: u64,
    /// Answered at or after the caller's deadline, or never.
    pub timed_out: u64,
    /// Refused (queue full).
    pub rejected: u64,
    /// Latency of successes, arrival at the service to answer [ms].
    pub latency_ms: LatencySummary,
    /// Successes by latency: one bucket per edge of [`BUCKET_EDGES_MS`] (latency up to and including the
    /// edge, above the previous one) and a last one above the highest edge (`le_ms` null).
    pub latency_buckets: Vec<Bucket>,
    /// Busy worker-seconds / worker-seconds.
    pub utilization: f64,
    /// Time-averaged queue length.
    pub queue_depth: f64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts by the supervisor.
    pub restarts: u64,
    /// Time spent down [s].
    pub downtime_s: f64,
    /// Mean time to recovery: downtime per restart [s] (`null` without restarts).
    pub mttr_s: Option<f64>,
    /// Times the breakers of this service's callers opened.
    pub breaker_opens: u64,
    /// Calls to this service its callers' breakers rejected (never sent).
    pub rejected_by_breaker: u64,
    /// Calls to this service its callers' bulkheads rejected (never sent).
    pub rejected_by_bulkhead: u64,
    /// Retries of calls to this service by its callers.
    pub retries: u64,
    /// Retries of calls to this service that the retry budget refused.
    pub retries_denied: u64,
    /// Failed calls to this service its callers carried on without (it is optional).
    pub fallbacks: u64,
    /// Requests refused by this service's rate limiter (included in `rejected`).
    pub rate_limited: u64,
    /// Autoscaler scale-ups that took effect.
    pub scale_ups: u64,
    /// Autoscaler scale-downs.
    pub scale_downs: u64,
    /// Workers at the end of the run.
    pub workers: f64,
    /// The service's configuration as the scenario set it (what the report's findings reason about).
    pub config: ServiceConfig,
}

/// Upper edges [ms] of the response-time buckets of every service.
pub const BUCKET_EDGES_MS: [f64; 6] = [10.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// One response-time bucket.
#[derive(Debug, Serialize)]
pub struct Bucket {
    /// Upper edge [ms] (`null`: above the highest edge).
    pub le_ms: Option<f64>,
    /// Successes in the bucket.
    pub count: u64,
}

/// The configuration of one service, as run.
#[derive(Debug, Serialize)]
pub struct ServiceConfig {
    /// `"service"` or `"event-bus"`.
    pub kind: &'static str,
    /// Workers at the start.
    pub workers: u32,
    /// Maximum waiting requests.
    pub queue: u32,
    /// How long callers wait [ms] (`null`: forever).
    pub timeout_ms: Option<f64>,
    /// Dependencies, in call order.
    pub calls: Vec<String>,
    /// Callers carry on without it.
    pub optional: bool,
    /// The callers' circuit breaker.
    pub breaker: Option<BreakerSummary>,
    /// The callers' retry policy: attempts in all (`null`: no retries).
    pub retry_max_attempts: Option<u32>,
    /// Whether the retries have a budget.
    pub retry_budget: bool,
    /// The callers' bulkhead: concurrent calls (`null`: none).
    pub bulkhead_max_concurrent: Option<u32>,
    /// Autoscaler bounds `[min, max]` workers (`null`: not autoscaled).
    pub autoscale_workers: Option<[u32; 2]>,
}

/// A breaker's configuration.
#[derive(Debug, Serialize)]
pub struct BreakerSummary {
    /// `"count"` or `"time"`.
    pub window: &'static str,
    /// Calls (count window) or seconds (time window).
    pub window_size: f64,
    /// Outcomes needed before rates are evaluated.
    pub minimum_calls: u32,
    /// Failure rate [%] that opens it.
    pub failure_rate_threshold: f64,
}

fn service_config(sc: &Scenario, s: &crate::scenario::Service) -> ServiceConfig {
    use crate::resilience::breaker::WindowKind;
    ServiceConfig {
        kind: match s.kind {
            crate::scenario::ServiceKind::Service => "service",
            crate::scenario::ServiceKind::EventBus { .. } => "event-bus",
        },
        workers: s.workers,
        queue: s.queue,
        timeout_ms: s.timeout.map(|t| t.as_millis_f64()),
        calls: s.calls.iter().map(|c| sc.service(*c).name.clone()).collect(),
        optional: s.optional,
        breaker: s.breaker.as_ref().map(|b| {
            let (window, window_size) = match b.window {
                WindowKind::Count(n) => ("count", f64::from(n)),
                WindowKind::Time(d) => ("time", d.as_secs_f64()),
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

/// A name-keyed map that keeps insertion order when serialized.
#[derive(Debug)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The result of one objective.
#[derive(Debug, Serialize)]
pub struct SloResult {
    /// Name.
    pub name: String,
    /// Service.
    pub service: String,
    /// "availability" or "latency".
    pub sli: &'static str,
    /// Latency threshold [ms] (latency objectives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_ms: Option<f64>,
    /// Target fraction.
    pub objective: f64,
    /// Achieved fraction (`null` when the service saw no requests); for xruns-per-hour the rate, for
    /// max-dropout the longest dropout [ms].
    pub achieved: Option<f64>,
    /// Good events (successes, or successes within the threshold).
    pub good: u64,
    /// All requests.
    pub total: u64,
    /// Whether `achieved >= objective` (xruns-per-hour: `achieved <= objective`; max-dropout:
    /// `achieved <= threshold_ms`).
    pub met: bool,
    /// Error budget over the SLO period (not for xruns-per-hour and max-dropout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::slo::Budget>,
    /// Burn-rate alerts that fired.
    pub alerts: Vec<AlertSummary>,
    /// Whether a page-severity alert fired.
    pub paged: bool,
}

/// A burn-rate alert that fired.
#[derive(Debug, Serialize)]
pub struct AlertSummary {
    /// Severity.
    pub severity: crate::slo::Severity,
    /// Long window [s].
    pub long_s: f64,
    /// Short window [s].
    pub short_s: f64,
    /// Threshold.
    pub burn_rate: f64,
    /// Long-window burn rate when it fired.
    pub burn_rate_at_fire: f64,
    /// When it fired [s].
    pub fired_at_s: f64,
    /// When it resolved [s] (`null`: still firing at the end).
    pub resolved_at_s: Option<f64>,
}

/// One injected fault.
#[derive(Debug, Serialize)]
pub struct FaultSummary {
    /// Label.
    pub name: String,
    /// Kind.
    pub kind: &'static str,
    /// Target.
    pub target: String,
    /// Parameters in words.
    pub detail: String,
    /// Start [s] (`null`: the run ended first).
    pub start_s: Option<f64>,
    /// End [s] (`null`: still active at the end).
    pub end_s: Option<f64>,
    /// From the fault's start until its target next answered a request successfully after the fault
    /// ended (for a kill: after the restart) [s]; `null` if it never did.
    pub recovered_after_s: Option<f64>,
}

/// A stress test's steps and breaking point.
#[derive(Debug, Serialize)]
pub struct StressSummary {
    /// Per step, in order.
    pub steps: Vec<StepSummary>,
    /// The highest rate of the steps that met the entry's objectives from the first step on (`null`: not
    /// even the first did).
    pub breaking_point_per_s: Option<f64>,
    /// When the rate stopped rising (`null`: it reached the last step).
    pub stopped_at_s: Option<f64>,
}

/// One step of a stress test.
#[derive(Debug, Serialize)]
pub struct StepSummary {
    /// Arrival rate [1/s].
    pub rate_per_s: f64,
    /// Requests that arrived in the step.
    pub requests: u64,
    /// Their error ratio (failed, timed out, rejected).
    pub error_rate: f64,
    /// Their p99 latency [ms].
    pub p99_ms: f64,
    /// Whether the step met every objective of the entry service and the stop threshold.
    pub met: bool,
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

/// The steady-state hypothesis' verdicts.
#[derive(Debug, Serialize)]
pub struct HypothesisSummary {
    /// "completed" (every probe held in every phase), "deviated" or "aborted".
    pub result: &'static str,
    /// The phases.
    pub phases: Vec<crate::experiment::Phase>,
    /// Per probe, per phase.
    pub probes: Vec<crate::experiment::ProbeResult>,
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
                _ => out
                    .audio
                    .iter()
                    .flat_map(|a| a.rows.iter().filter(|r| r.channel == 0))
                    .map(|r| (r.t_s, p.metric.of_audio_window(r, w)))
                    .collect(),
            };
            crate::experiment::ProbeResult {
                name: p.name.clone(),
                target: sc.target_name(p.target).to_string(),
                metric: p.metric.name(),
                min: p.min,
                max: p.max,
                phases: crate::experiment::check(p, &values, w, &phases),
            }
        })
        .collect();
    let result = if matches!(out.ending, Ending::Aborted(_)) {
        "aborted"
    } else if probes.iter().all(|p| p.phases.iter().all(|c| c.ok)) {
        "completed"
    } else {
        "deviated"
    };
    Some(HypothesisSummary { result, phases, probes })
}

/// The audio path's figures.
#[derive(Debug, Serialize)]
pub struct AudioSummary {
    /// Device model.
    pub model: String,
    /// Sample rate [Hz].
    pub sample_rate_hz: u32,
    /// Frames per period.
    pub buffer_frames: u32,
    /// Period [ms].
    pub period_ms: f64,
    /// Periods that elapsed.
    pub periods: u64,
    /// Periods delivered late.
    pub xruns: u64,
    /// Periods missing (device gone).
    pub missing: u64,
    /// Runs of consecutive late or missing periods.
    pub dropouts: u64,
    /// The longest such run [ms].
    pub max_dropout_ms: f64,
    /// Samples at or above full scale, all channels.
    pub clipped_samples: u64,
    /// Delivered output periods of bit-exact zeros (what a denied permission looks like).
    pub silent_output_periods: u64,
    /// Integrated loudness (EBU R128) of what the computer captured [LUFS]; null if too short or silent.
    pub output_lufs: Option<f64>,
    /// Mean modelled DSP load (processing time / period).
    pub dsp_load_mean: f64,
    /// Highest modelled DSP load.
    pub dsp_load_max: f64,
    /// Times the stream was reopened.
    pub restarts: u64,
    /// Time the stream was gone [s].
    pub downtime_s: f64,
    /// Per channel: ch1.., out_l, out_r.
    pub channels: Ordered<ChannelSummary>,
}

/// One channel's levels over the run.
#[derive(Debug, Serialize)]
pub struct ChannelSummary {
    /// Peak [dBFS] (null for silence).
    pub peak_dbfs: Option<f64>,
    /// RMS [dBFS] (null for silence).
    pub rms_dbfs: Option<f64>,
    /// Samples at or above full scale.
    pub clipped: u64,
    /// Blocks of bit-exact zeros.
    pub zero_blocks: u64,
    /// Blocks below -60 dBFS RMS.
    pub quiet_blocks: u64,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn audio_summary(sc: &Scenario, out: &RunOutput) -> Option<AudioSummary> {
    let (d, a) = (sc.device.as_ref()?, out.audio.as_ref()?);
    let outputs = a.meters.len() - 2..a.meters.len();
    Some(AudioSummary {
        model: format!("{:?}", d.model).to_lowercase(),
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
        channels: Ordered(
            a.channels
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
        ),
    })
}

/// Engine work counters.
#[derive(Debug, Serialize)]
pub struct EngineSummary {
    /// Distinct instants visited.
    pub instants: u64,
    /// Messages delivered.
    pub messages: u64,
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
            base("availability", None, m.counts.ok, m.counts.requests)
        }
        (Target::Service(id), Indicator::Latency { threshold }) => {
            let m = &out.services[id.index()];
            let good = m.within.iter().find(|(t, _)| *t == threshold).map(|(_, n)| *n).unwrap_or(0);
            base("latency", Some(threshold.as_millis_f64()), good, m.counts.requests)
        }
        (_, indicator) => {
            let a = out.audio.as_ref().expect("invariant: audio objectives come with a device");
            let on_time = a.periods - a.xruns - a.missing;
            match indicator {
                Indicator::XrunsPerHour => {
                    let hours = out.end.as_secs_f64() / 3600.0;
                    let rate = if hours > 0.0 { a.xruns as f64 / hours } else { 0.0 };
                    ("xruns-per-hour", None, on_time, a.periods, Some(rate), rate <= slo.objective)
                }
                Indicator::MaxDropout { threshold } => {
                    let longest = a.max_dropout_periods as f64 * a.period_s * 1e3;
                    let met = longest <= threshold.as_millis_f64() + 1e-9;
                    ("max-dropout", Some(threshold.as_millis_f64()), on_time, a.periods, Some(longest), met)
                }
                _ => base("audio-availability", None, on_time, a.periods),
            }
        }
    };
    let index = sc.slos.iter().position(|s| std::ptr::eq(s, slo)).expect("invariant: the objective is the scenario's");
    let horizon = out.end - SimTime::ZERO;
    let budget =
        crate::slo::series_of(sc, out, slo).map(|s| crate::slo::budget(&s, slo.objective, slo.period, horizon));
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
    pub fn new(sc: &Scenario, out: &RunOutput, mode: &'static str, wall_s: f64) -> Summary {
        let slos: Vec<SloResult> = sc.slos.iter().map(|slo| slo_result(sc, out, slo)).collect();
        let aborted = matches!(out.ending, Ending::Aborted(_));
        let hypothesis = hypothesis(sc, out);
        let held = hypothesis.as_ref().is_none_or(|h| h.result == "completed");
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
                        latency_buckets: buckets(&m.latency),
                        utilization: m.utilization,
                        queue_depth: m.queue_depth,
                        crashes: c.crashes,
                        restarts: c.restarts,
                        downtime_s: c.downtime.as_secs_f64(),
                        mttr_s: (c.restarts > 0).then(|| c.downtime.as_secs_f64() / c.restarts as f64),
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
                Ending::Drained => "drained".to_string(),
                Ending::Horizon => "horizon".to_string(),
                Ending::Aborted(why) => format!("aborted: {why}"),
            },
            requests: Requests {
                counts: out.client.counts,
                unfinished: out.client.unfinished,
                dropped: out.client.dropped,
            },
            latency_ms: out.client.latency.summary(),
            services: Ordered(services),
            slos,
            faults: out
                .faults
                .iter()
                .map(|f| FaultSummary {
                    name: f.name.clone(),
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
            event_buses: Ordered(out.buses.clone()),
            audio: audio_summary(sc, out),
            hypothesis,
            stress: stress_summary(sc, out),
            live: out.live.clone(),
            engine: EngineSummary { instants: out.engine.instants, messages: out.engine.messages },
        }
    }

    /// The JSON text (pretty, with a final newline).
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("invariant: the summary serializes");
        v.push(b'\n');
        v
    }
}
