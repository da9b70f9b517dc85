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

/// Header of `events.csv`.
pub const EVENTS_HEADER: [&str; 4] = ["t_s", "kind", "target", "detail"];

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
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
            let c = r.counts;
            w.write_record([
                r.t_s.to_string(),
                s.name.clone(),
                c.requests.to_string(),
                c.ok.to_string(),
                c.failed.to_string(),
                c.timed_out.to_string(),
                c.rejected.to_string(),
                opt(r.p50_ms),
                opt(r.p99_ms),
                opt(r.max_ms),
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
