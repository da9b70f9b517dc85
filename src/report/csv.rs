//! The tidy CSV files of a run, rendered from the run through the row types of [`crate::model::rows`]:
//! `timeseries.csv`, `client.csv`, `slo.csv`, `events.csv` and `audio.csv`; and `events.jsonl`.

use crate::model::event::EventRecord;
use crate::model::rows::{ClientRow, SloRow, TimeseriesRow, to_csv};
use crate::run::RunOutput;
use crate::scenario::Scenario;

/// Renders `timeseries.csv`: windows in time order, services in scenario order within a window.
pub fn timeseries(sc: &Scenario, out: &RunOutput) -> Vec<u8> {
    to_csv(timeseries_rows(sc, out))
}

/// The rows of `timeseries.csv`.
pub fn timeseries_rows<'a>(sc: &'a Scenario, out: &'a RunOutput) -> impl Iterator<Item = TimeseriesRow> + 'a {
    let windows = out.services.iter().map(|s| s.rows.len()).max().unwrap_or(0);
    (0..windows).flat_map(move |i| {
        sc.services.iter().zip(&out.services).filter_map(move |(s, m)| {
            let r = m.rows.get(i)?;
            let c = r.counts;
            Some(TimeseriesRow {
                t_s: r.t_s,
                service: s.name.clone(),
                requests: c.requests,
                ok: c.ok,
                failed: c.failed,
                timed_out: c.timed_out,
                rejected: c.rejected,
                p50_ms: r.p50_ms(),
                p99_ms: r.p99_ms(),
                max_ms: r.max_ms(),
                wait_p99_ms: r.wait_p99_ms(),
                utilization: r.utilization,
                queue_depth: r.queue_depth,
                workers: r.workers,
            })
        })
    })
}

/// Renders `events.csv`, in time order.
pub fn events(events: &[EventRecord]) -> Vec<u8> {
    to_csv(events.iter().map(EventRecord::row))
}

/// The rows of `client.csv`: the end-to-end outcomes and latency seen by the load generator, one row per window.
pub fn client_rows(out: &RunOutput) -> impl Iterator<Item = ClientRow> + '_ {
    out.client.rows.iter().map(|r| {
        let c = r.counts;
        ClientRow {
            t_s: r.t_s,
            requests: c.requests,
            ok: c.ok,
            failed: c.failed,
            timed_out: c.timed_out,
            rejected: c.rejected,
            p50_ms: r.p50_ms(),
            p99_ms: r.p99_ms(),
            max_ms: r.max_ms(),
        }
    })
}

/// Each objective of `sc` with its good and total events per window in `out` (`None`: an objective
/// without a per-window SLI).
pub fn slo_series<'a>(
    sc: &'a Scenario,
    out: &RunOutput,
) -> Vec<(&'a crate::scenario::Slo, Option<crate::slo::Series>)> {
    sc.slos.iter().map(|s| (s, crate::run::series_of(sc, out, s))).collect()
}

/// The rows of `slo.csv` from [`slo_series`]: per window (in time order) and objective (scenario order),
/// the good and total events of its SLI, what its error budget and burn rates are computed from.
/// Objectives without a per-window SLI (xruns per hour, max dropout) have no rows.
pub fn slo_rows<'a>(
    sc: &Scenario,
    series: &'a [(&'a crate::scenario::Slo, Option<crate::slo::Series>)],
) -> impl Iterator<Item = SloRow> + 'a {
    let windows = series.iter().filter_map(|(_, s)| s.as_ref().map(|s| s.total.len())).max().unwrap_or(0);
    let window_s = sc.window.as_secs_f64();
    (0..windows).flat_map(move |i| {
        series.iter().filter_map(move |(slo, s)| {
            let s = s.as_ref()?;
            Some(SloRow {
                t_s: i as f64 * window_s,
                slo: slo.name.clone(),
                good: *s.good.get(i)?,
                total: *s.total.get(i)?,
            })
        })
    })
}
