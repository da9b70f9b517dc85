//! Tidy CSV outputs: `timeseries.csv` (one row per window per service) and `events.csv`.

use crate::actors::recorder::EventRow;
use crate::run::RunOutput;
use crate::scenario::Scenario;

/// Header of `timeseries.csv` (contract: extend, don't rename).
pub const TIMESERIES_HEADER: [&str; 13] = [
    "t_s",
    "service",
    "requests",
    "ok",
    "failed",
    "timed_out",
    "rejected",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "utilization",
    "queue_depth",
    "workers",
];

/// Header of `audio.csv` (contract: extend, don't rename).
pub const AUDIO_HEADER: [&str; 9] =
    ["t_s", "channel", "peak_dbfs", "rms_dbfs", "clipped", "xruns", "dsp_load", "missing", "zero_blocks"];

/// Renders `audio.csv`: one row per window per channel (ch1.., out_l, out_r); `xruns`, `dsp_load` and
/// `missing` are the device's, repeated on each channel's row; levels are empty for silence.
pub fn audio(report: &crate::actors::audio::AudioReport) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(AUDIO_HEADER).expect("invariant: writing to memory");
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    for r in &report.rows {
        w.write_record([
            r.t_s.to_string(),
            report.channels[r.channel].clone(),
            opt(r.meter.peak_dbfs().map(round)),
            opt(r.meter.rms_dbfs().map(round)),
            r.meter.clipped.to_string(),
            r.xruns.to_string(),
            r.dsp_load.map(|l| format!("{l:.6}")).unwrap_or_default(),
            r.missing.to_string(),
            r.meter.zero_blocks.to_string(),
        ])
        .expect("invariant: writing to memory");
    }
    w.into_inner().expect("invariant: writing to memory")
}

/// Header of `events.csv`.
pub const EVENTS_HEADER: [&str; 4] = ["t_s", "kind", "target", "detail"];

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// A window's outcome counts and latencies: requests, ok, failed, timed_out, rejected, p50, p99, max.
fn outcomes(r: &crate::metrics::WindowRow) -> [String; 8] {
    let c = r.counts;
    [
        c.requests.to_string(),
        c.ok.to_string(),
        c.failed.to_string(),
        c.timed_out.to_string(),
        c.rejected.to_string(),
        opt(r.p50_ms),
        opt(r.p99_ms),
        opt(r.max_ms),
    ]
}

/// Renders `timeseries.csv`: windows in time order, services in scenario order within a window. Latency
/// columns are empty in a window without successes.
pub fn timeseries(sc: &Scenario, out: &RunOutput) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(TIMESERIES_HEADER).expect("invariant: writing to memory");
    let windows = out.services.iter().map(|s| s.rows.len()).max().unwrap_or(0);
    for i in 0..windows {
        for (s, m) in sc.services.iter().zip(&out.services) {
            let Some(r) = m.rows.get(i) else { continue };
            let [requests, ok, failed, timed_out, rejected, p50, p99, max] = outcomes(r);
            w.write_record([
                r.t_s.to_string(),
                s.name.clone(),
                requests,
                ok,
                failed,
                timed_out,
                rejected,
                p50,
                p99,
                max,
                format!("{:.6}", r.utilization),
                format!("{:.6}", r.queue_depth),
                format!("{:.6}", r.workers),
            ])
            .expect("invariant: writing to memory");
        }
    }
    w.into_inner().expect("invariant: writing to memory")
}

/// Renders `events.csv`, in time order.
pub fn events(events: &[EventRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(EVENTS_HEADER).expect("invariant: writing to memory");
    for e in events {
        w.write_record([format!("{:.9}", e.t.as_secs_f64()), e.kind.to_string(), e.target.clone(), e.detail.clone()])
            .expect("invariant: writing to memory");
    }
    w.into_inner().expect("invariant: writing to memory")
}

/// Header of `client.csv` (contract: extend, don't rename).
pub const CLIENT_HEADER: [&str; 9] =
    ["t_s", "requests", "ok", "failed", "timed_out", "rejected", "p50_ms", "p99_ms", "max_ms"];

/// Renders `client.csv`: the end-to-end outcomes and latency seen by the load generator, one row per
/// window (latencies empty in a window without successes). The rows add up to `summary.json` `requests`.
pub fn client(out: &RunOutput) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CLIENT_HEADER).expect("invariant: writing to memory");
    for r in &out.client.rows {
        let mut record = vec![r.t_s.to_string()];
        record.extend(outcomes(r));
        w.write_record(record).expect("invariant: writing to memory");
    }
    w.into_inner().expect("invariant: writing to memory")
}

/// Header of `slo.csv` (contract: extend, don't rename).
pub const SLO_HEADER: [&str; 4] = ["t_s", "slo", "good", "total"];

/// Renders `slo.csv`: per window and objective (scenario order), the good and total events of its SLI,
/// what its error budget and burn rates are computed from. Objectives without a per-window SLI (xruns per
/// hour, max dropout) have no rows.
pub fn slo(sc: &Scenario, out: &RunOutput) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(SLO_HEADER).expect("invariant: writing to memory");
    let series: Vec<_> = sc.slos.iter().map(|s| (s, crate::slo::series_of(sc, out, s))).collect();
    let windows = series.iter().filter_map(|(_, s)| s.as_ref().map(|s| s.total.len())).max().unwrap_or(0);
    let window_s = sc.window.as_secs_f64();
    for i in 0..windows {
        for (slo, s) in &series {
            let Some(s) = s else { continue };
            let (Some(g), Some(t)) = (s.good.get(i), s.total.get(i)) else { continue };
            w.write_record([(i as f64 * window_s).to_string(), slo.name.clone(), g.to_string(), t.to_string()])
                .expect("invariant: writing to memory");
        }
    }
    w.into_inner().expect("invariant: writing to memory")
}
