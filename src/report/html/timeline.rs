//! The timeline (lanes of faults, breakers, restarts and alerts over the charts of one shared time
//! axis) and the latency spectrum.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts::{self, AMBER, Axis, GREEN, GREY, Lane, RED, Scale, Series, color, css};
use super::data::{RunData, ServiceWindow};
use super::{chart_box, f3, legend_of};
use crate::model::event::Event;
use crate::model::summary::Severity;

/// Keeps one mark per pixel column and colour (a 24-hour run can have thousands of restarts).
fn thin_marks(mut marks: Vec<(f64, charts::RGBColor)>, end: f64) -> Vec<(f64, charts::RGBColor)> {
    let px = end / charts::PLOT_W as f64;
    marks.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut seen = std::collections::BTreeSet::new();
    marks.retain(|(t, c)| seen.insert(((t / px) as i64, css(*c))));
    marks
}

/// A coloured interval of a lane: start, end [s], colour.
type Span = (f64, f64, charts::RGBColor);

/// Merges spans of one colour closer than a pixel.
fn coalesce(mut spans: Vec<Span>, end: f64) -> Vec<Span> {
    let px = end / charts::PLOT_W as f64;
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<Span> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(l) if l.2 == s.2 && s.0 - l.1 <= px => l.1 = l.1.max(s.1),
            _ => out.push(s),
        }
    }
    out
}

/// The timeline's lanes: faults (grouped by name), breakers (caller → callee), services down, alerts.
fn lanes(d: &RunData) -> Vec<Lane> {
    let s = &d.summary;
    let end = s.simulated_s;
    let mut lanes = Vec::new();
    // Faults: every occurrence and target of one `[[chaos]]` entry on one lane.
    let mut by_name: Vec<(String, Vec<Span>)> = Vec::new();
    for f in &s.faults {
        let Some(a) = f.start_s else { continue };
        let b = f.end_s.unwrap_or(end);
        let base = f.entry();
        match by_name.iter_mut().find(|(n, _)| n == base) {
            Some((_, v)) => v.push((a, b, RED)),
            None => by_name.push((base.to_string(), vec![(a, b, RED)])),
        }
    }
    for (name, spans) in by_name {
        lanes.push(Lane { name: format!("fault {name}"), spans: coalesce(spans, end), points: Vec::new() });
    }
    // Breakers: the state of each caller's breaker on each callee.
    let mut breakers: BTreeMap<String, Vec<(f64, Option<charts::RGBColor>)>> = BTreeMap::new();
    let mut down: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
    for e in &d.events {
        let t = e.t.as_secs_f64();
        let (caller, colour) = match &e.event {
            Event::BreakerOpen { caller, .. } => (caller, Some(RED)),
            Event::BreakerHalfOpen { caller } => (caller, Some(AMBER)),
            Event::BreakerClosed { caller, .. } => (caller, None),
            Event::ActorCrash { .. } | Event::ActorStop { .. } => {
                down.entry(e.target.clone()).or_default().push((t, true));
                continue;
            }
            Event::ActorRestart { .. } => {
                down.entry(e.target.clone()).or_default().push((t, false));
                continue;
            }
            _ => continue,
        };
        breakers.entry(format!("{caller}→{}", e.target)).or_default().push((t, colour));
    }
    for (name, changes) in breakers {
        let mut spans = Vec::new();
        for (i, (t, colour)) in changes.iter().enumerate() {
            let until = changes.get(i + 1).map(|c| c.0).unwrap_or(end);
            if let Some(colour) = colour {
                spans.push((*t, until, *colour));
            }
        }
        lanes.push(Lane { name: format!("breaker {name}"), spans: coalesce(spans, end), points: Vec::new() });
    }
    // Services: down from a crash or stop until the restart.
    let order: Vec<&str> = s.services.iter().map(|(n, _)| n.as_str()).chain(["device"]).collect();
    let mut down: Vec<(String, Vec<(f64, bool)>)> = down.into_iter().collect();
    down.sort_by_key(|(n, _)| order.iter().position(|o| o == n).unwrap_or(usize::MAX));
    for (name, changes) in down {
        let mut spans = Vec::new();
        let mut points = Vec::new();
        let mut since: Option<f64> = None;
        for (t, is_down) in changes {
            if is_down {
                since.get_or_insert(t);
                points.push((t, RED));
            } else if let Some(a) = since.take() {
                spans.push((a, t, GREY));
                points.push((t, GREEN));
            }
        }
        if let Some(a) = since {
            spans.push((a, end, GREY));
        }
        lanes.push(Lane { name: format!("{name} down"), spans: coalesce(spans, end), points: thin_marks(points, end) });
    }
    // Alerts.
    for o in &s.slos {
        if o.alerts.is_empty() {
            continue;
        }
        let spans = o
            .alerts
            .iter()
            .map(|a| {
                (a.fired_at_s, a.resolved_at_s.unwrap_or(end), if a.severity == Severity::Page { RED } else { GREY })
            })
            .collect();
        lanes.push(Lane { name: format!("alert {}", o.name), spans: coalesce(spans, end), points: Vec::new() });
    }
    lanes
}

/// The timeline: the lanes and every chart over one shared time axis.
pub(super) fn timeline_section(d: &RunData) -> Result<String, String> {
    let end = d.summary.simulated_s;
    let mut marks = Vec::new();
    for e in &d.events {
        match e.event {
            Event::ActorCrash { .. } | Event::ActorStop { .. } => marks.push((e.t.as_secs_f64(), RED)),
            Event::ActorRestart { .. } => marks.push((e.t.as_secs_f64(), GREEN)),
            _ => {}
        }
    }
    let axis = Axis {
        end_s: end,
        faults: d.fault_spans().into_iter().map(|(a, b, _)| (a, b)).collect(),
        marks: thin_marks(marks, end),
    };
    let mut h = String::from(
        "<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"note\">One time axis for every chart. Shaded: fault windows. Lanes: faults (red), breakers (red open, amber half-open), services down (grey, red crash, green restart), burn-rate alerts (red page, grey ticket).</p>\n",
    );
    let lanes = lanes(d);
    if !lanes.is_empty() {
        h.push_str(&chart_box(
            "chart-lanes",
            "Faults, breakers, restarts and alerts",
            &charts::lanes_chart(&axis, &lanes)?,
            &[],
        ));
    }
    h.push_str(&client_charts(d, &axis)?);
    h.push_str(&service_charts(d, &axis)?);
    h.push_str(&budget_chart(d, &axis)?);
    if !d.audio.is_empty() {
        h.push_str(&audio_charts(d, &axis)?);
    }
    h.push_str("</section>\n");
    Ok(h)
}

/// One window of end-to-end figures: start [s], latency p50/p99/max [ms], ok/failed/timed out/rejected.
type ClientWindow = (f64, [Option<f64>; 3], [u64; 4]);

/// End-to-end latency and throughput, as the clients saw them.
fn client_charts(d: &RunData, axis: &Axis) -> Result<String, String> {
    let s = &d.summary;
    let (end, w) = (s.simulated_s, d.window_s());
    let mid = |t: f64| t + w / 2.0;
    // Drawn from the rows as each chart needs them, each chart's series let go once it is drawn: a day
    // of windows is tens of thousands of points a series.
    let client = || -> Box<dyn Iterator<Item = ClientWindow> + '_> {
        if d.client.is_empty() {
            // A run directory from before client.csv: the entry service's own figures.
            let rows = d.by_service.iter().find(|(n, _)| *n == s.entry).map(|(_, rows)| rows.as_slice());
            Box::new(rows.unwrap_or_default().iter().map(|r| {
                let c = r.counts;
                (r.t_s, [r.p50_ms(), r.p99_ms(), r.max_ms()], [c.ok, c.failed, c.timed_out, c.rejected])
            }))
        } else {
            Box::new(
                d.client
                    .iter()
                    .map(|r| (r.t_s, [r.p50_ms, r.p99_ms, r.max_ms], [r.ok, r.failed, r.timed_out, r.rejected])),
            )
        }
    };
    let mut h = {
        let lat: Vec<Series> = ["p50", "p99", "max"]
            .iter()
            .enumerate()
            .map(|(k, name)| Series {
                name: (*name).into(),
                color: color(k),
                points: client().map(|c| (mid(c.0), c.1[k])).collect(),
                dashed: k == 2,
            })
            .collect();
        chart_box(
            "chart-latency",
            "End-to-end latency per window (log scale)",
            &charts::time_chart(axis, "latency [ms]", Scale::Log, &lat, 220)?,
            &legend_of(&lat),
        )
    };
    let names = ["ok", "failed", "timed out", "rejected"];
    let colours = [GREEN, RED, AMBER, color(4)];
    let thr: Vec<Series> = (0..4)
        .filter(|k| *k == 0 || client().any(|c| c.2[*k] > 0))
        .map(|k| Series {
            name: names[k].into(),
            color: colours[k],
            // Per second of the window actually covered (the last window of a run may be partial).
            points: client().map(|c| (mid(c.0), Some(c.2[k] as f64 / w.min(end - c.0).max(1e-9)))).collect(),
            dashed: false,
        })
        .collect();
    h.push_str(&chart_box(
        "chart-throughput",
        "Throughput: end-to-end outcomes per second",
        &charts::time_chart(axis, "requests/s", Scale::Linear { min_top: 1.0 }, &thr, 200)?,
        &legend_of(&thr),
    ));
    Ok(h)
}

/// Utilisation, queue depth and (when they change) workers, one line per service.
fn service_charts(d: &RunData, axis: &Axis) -> Result<String, String> {
    let w = d.window_s();
    let mid = |t: f64| t + w / 2.0;
    let per_service = |f: &dyn Fn(&ServiceWindow) -> Option<f64>| -> Vec<Series> {
        d.by_service
            .iter()
            .enumerate()
            .map(|(i, (n, rows))| Series {
                name: n.clone(),
                color: color(i),
                points: rows.iter().map(|r| (mid(r.t_s), f(r))).collect(),
                dashed: false,
            })
            .collect()
    };
    // Each chart's series let go once it is drawn.
    let mut h = {
        let util = per_service(&|r| (r.workers > 0.0).then_some(r.utilization * 100.0));
        chart_box(
            "chart-utilization",
            "Utilisation per service",
            &charts::time_chart(axis, "busy workers [%]", Scale::Fixed(0.0, 100.0), &util, 200)?,
            &legend_of(&util),
        )
    };
    {
        let queue = per_service(&|r| Some(r.queue_depth));
        h.push_str(&chart_box(
            "chart-queue",
            "Queue depth per service (time-averaged waiting requests)",
            &charts::time_chart(axis, "waiting", Scale::Linear { min_top: 1.0 }, &queue, 200)?,
            &legend_of(&queue),
        ));
    }
    let varies =
        d.by_service.iter().any(|(_, rows)| rows.windows(2).any(|p| (p[0].workers - p[1].workers).abs() > 1e-9));
    if varies || d.summary.services.iter().any(|(_, v)| v.scale_ups + v.scale_downs > 0) {
        let workers = per_service(&|r| Some(r.workers));
        h.push_str(&chart_box(
            "chart-workers",
            "Workers per service (autoscaling)",
            &charts::time_chart(axis, "workers", Scale::Linear { min_top: 1.0 }, &workers, 180)?,
            &legend_of(&workers),
        ));
    }
    Ok(h)
}

/// Error budget burn-down: the share of the run's budget left after each window.
fn budget_chart(d: &RunData, axis: &Axis) -> Result<String, String> {
    let w = d.window_s();
    let mut burn = Vec::new();
    for (i, o) in d.summary.slos.iter().enumerate() {
        let rows = d.slo_windows(&o.name);
        let total: u64 = rows.iter().map(|r| r.total).sum();
        let allowed = (1.0 - o.objective) * total as f64;
        if rows.is_empty() || allowed <= 0.0 {
            continue;
        }
        let mut bad = 0u64;
        let points = rows
            .iter()
            .map(|r| {
                bad += r.total - r.good;
                (r.t_s + w, Some(100.0 * (1.0 - bad as f64 / allowed)))
            })
            .collect();
        burn.push(Series { name: o.name.clone(), color: color(i), points, dashed: false });
    }
    if burn.is_empty() {
        return Ok(String::new());
    }
    Ok(chart_box(
        "chart-budget",
        "Error budget remaining (of the run's budget: (1 − objective) × its events)",
        &charts::time_chart(axis, "budget left [%]", Scale::Linear { min_top: 100.0 }, &burn, 200)?,
        &legend_of(&burn),
    ))
}

fn audio_charts(d: &RunData, axis: &Axis) -> Result<String, String> {
    let w = d.window_s();
    let mut h = String::new();
    let mut levels = Vec::new();
    for (i, (ch, rows)) in d
        .audio
        .channels
        .iter()
        .filter(|(c, _)| ["ch1", "ch2", "to_pc_l", "to_pc_r", "out_l", "out_r"].contains(&c.as_str()))
        .enumerate()
    {
        levels.push(Series {
            name: format!("{ch} RMS"),
            color: color(i),
            points: rows.iter().map(|r| (r.t_s + w / 2.0, r.rms_dbfs())).collect(),
            dashed: false,
        });
        if ch.starts_with("out") {
            levels.push(Series {
                name: format!("{ch} peak"),
                color: color(i),
                points: rows.iter().map(|r| (r.t_s + w / 2.0, r.peak_dbfs())).collect(),
                dashed: true,
            });
        }
    }
    h.push_str(&chart_box(
        "chart-audio-levels",
        "Audio levels per window (gaps: bit-exact silence)",
        &charts::time_chart(axis, "dBFS", Scale::Fixed(-90.0, 3.0), &levels, 200)?,
        &legend_of(&levels),
    ));
    drop(levels);
    let dev = &d.audio.device;
    let xr = vec![
        Series {
            name: "xruns".into(),
            color: RED,
            points: dev.iter().map(|r| (r.t_s + w / 2.0, Some(r.xruns as f64))).collect(),
            dashed: false,
        },
        Series {
            name: "missing periods".into(),
            color: GREY,
            points: dev.iter().map(|r| (r.t_s + w / 2.0, Some(r.missing as f64))).collect(),
            dashed: false,
        },
    ];
    h.push_str(&chart_box(
        "chart-xruns",
        "Xruns and missing periods per window",
        &charts::time_chart(axis, "periods", Scale::Linear { min_top: 1.0 }, &xr, 160)?,
        &legend_of(&xr),
    ));
    let load = vec![Series {
        name: "DSP load (mean per window)".into(),
        color: color(4),
        points: dev.iter().map(|r| (r.t_s + w / 2.0, r.dsp_load.map(|l| l * 100.0))).collect(),
        dashed: false,
    }];
    h.push_str(&chart_box(
        "chart-dsp-load",
        "DSP load: processing time / period",
        &charts::time_chart(axis, "of the period [%]", Scale::Linear { min_top: 100.0 }, &load, 160)?,
        &legend_of(&load),
    ));
    Ok(h)
}

/// The end-to-end latency by percentile.
pub(super) fn spectrum_section(d: &RunData) -> Result<String, String> {
    let Some(hist) = &d.latency else { return Ok(String::new()) };
    if hist.is_empty() {
        return Ok(String::new());
    }
    let svg = charts::spectrum(&[("end-to-end".into(), color(0), hist)])?;
    let mut h = String::from("<section id=\"spectrum\">\n<h2>Latency percentile spectrum</h2>\n");
    h.push_str(&chart_box("chart-spectrum", "End-to-end latency by percentile (successes, HdrHistogram)", &svg, &[]));
    h.push_str("<table id=\"percentiles\">\n<tr>");
    let qs = [0.5, 0.9, 0.99, 0.999, 0.9999];
    for q in qs {
        let _ = write!(h, "<th>p{}</th>", q * 100.0);
    }
    h.push_str("<th>max</th></tr>\n<tr>");
    for q in qs {
        let _ = write!(h, "<td>{}</td>", f3(hist.value_at_quantile(q) as f64 / 1e6));
    }
    let _ = write!(h, "<td>{}</td></tr>\n</table>\n</section>\n", f3(d.summary.latency_ms.max));
    Ok(h)
}
