//! The timeline (lanes of faults, breakers, restarts and alerts over the charts of one shared time
//! axis) and the latency spectrum.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts::{self, AMBER, Axis, GREEN, GREY, Lane, Line, RED, Scale, color, css};
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
    if !d.audio_channels.is_empty() {
        h.push_str(&audio_charts(d, &axis)?);
    }
    h.push_str("</section>\n");
    Ok(h)
}

/// A line of a chart.
fn line(name: impl Into<String>, color: charts::RGBColor, dashed: bool) -> Line {
    Line { name: name.into(), color, dashed }
}

/// End-to-end latency and throughput, as the clients saw them.
fn client_charts(d: &RunData, axis: &Axis) -> Result<String, String> {
    let s = &d.summary;
    let (end, w) = (s.simulated_s, d.window_s());
    let mid = |t: f64| t + w / 2.0;
    // Each chart reads the rows again as it is drawn: a day of windows is tens of thousands of rows.
    let lat: Vec<Line> =
        ["p50", "p99", "max"].iter().enumerate().map(|(k, name)| line(*name, color(k), k == 2)).collect();
    let mut h = chart_box(
        "chart-latency",
        "End-to-end latency per window (log scale)",
        &charts::streamed_chart(
            axis,
            "latency [ms]",
            Scale::Log,
            &lat,
            &|point| {
                d.each_client(|c| {
                    for (k, v) in c.1.into_iter().enumerate() {
                        point(k, mid(c.0), v);
                    }
                })
            },
            220,
        )?,
        &legend_of(&lat),
    );
    let names = ["ok", "failed", "timed out", "rejected"];
    let colours = [GREEN, RED, AMBER, color(4)];
    let mut shown = vec![0];
    for k in 1..4 {
        if d.has_client_outcome(k)? {
            shown.push(k);
        }
    }
    let thr: Vec<Line> = shown.iter().map(|k| line(names[*k], colours[*k], false)).collect();
    h.push_str(&chart_box(
        "chart-throughput",
        "Throughput: end-to-end outcomes per second",
        &charts::streamed_chart(
            axis,
            "requests/s",
            Scale::Linear { min_top: 1.0 },
            &thr,
            &|point| {
                d.each_client(|c| {
                    for (i, k) in shown.iter().enumerate() {
                        // Per second of the window actually covered (the last window of a run may be partial).
                        point(i, mid(c.0), Some(c.2[*k] as f64 / w.min(end - c.0).max(1e-9)));
                    }
                })
            },
            200,
        )?,
        &legend_of(&thr),
    ));
    Ok(h)
}

/// Utilisation, queue depth and (when they change) workers, one line per service.
fn service_charts(d: &RunData, axis: &Axis) -> Result<String, String> {
    let w = d.window_s();
    let mid = |t: f64| t + w / 2.0;
    let lines: Vec<Line> = d.services.iter().enumerate().map(|(i, f)| line(f.name.clone(), color(i), false)).collect();
    let chart =
        |id: &str, title: &str, y: &str, scale: Scale, height: u32, f: &dyn Fn(&ServiceWindow) -> Option<f64>| {
            let points =
                |point: &mut dyn FnMut(usize, f64, Option<f64>)| d.each_service(|i, r| point(i, mid(r.t_s), f(r)));
            Ok::<_, String>(chart_box(
                id,
                title,
                &charts::streamed_chart(axis, y, scale, &lines, &points, height)?,
                &legend_of(&lines),
            ))
        };
    let mut h = chart(
        "chart-utilization",
        "Utilisation per service",
        "busy workers [%]",
        Scale::Fixed(0.0, 100.0),
        200,
        &|r| (r.workers > 0.0).then_some(r.utilization * 100.0),
    )?;
    h.push_str(&chart(
        "chart-queue",
        "Queue depth per service (time-averaged waiting requests)",
        "waiting",
        Scale::Linear { min_top: 1.0 },
        200,
        &|r| Some(r.queue_depth),
    )?);
    let varies = d.services.iter().any(|f| f.workers_vary);
    if varies || d.summary.services.iter().any(|(_, v)| v.scale_ups + v.scale_downs > 0) {
        h.push_str(&chart(
            "chart-workers",
            "Workers per service (autoscaling)",
            "workers",
            Scale::Linear { min_top: 1.0 },
            180,
            &|r| Some(r.workers),
        )?);
    }
    Ok(h)
}

/// Error budget burn-down: the share of the run's budget left after each window.
fn budget_chart(d: &RunData, axis: &Axis) -> Result<String, String> {
    let w = d.window_s();
    // For each objective of slo.csv, its line and its allowed bad events.
    let mut of_file: Vec<Option<(usize, f64)>> = vec![None; d.slos().len()];
    let mut burn = Vec::new();
    for (i, o) in d.summary.slos.iter().enumerate() {
        let Some(k) = d.slos().iter().position(|t| t.name == o.name) else { continue };
        let allowed = (1.0 - o.objective) * d.slos()[k].total as f64;
        if allowed <= 0.0 || of_file[k].is_some() {
            continue;
        }
        of_file[k] = Some((burn.len(), allowed));
        burn.push(line(o.name.clone(), color(i), false));
    }
    if burn.is_empty() {
        return Ok(String::new());
    }
    let points = |point: &mut dyn FnMut(usize, f64, Option<f64>)| {
        let mut bad = vec![0u64; of_file.len()];
        d.each_slo(|k, r| {
            if let Some((line, allowed)) = of_file[k] {
                bad[k] += r.total - r.good;
                point(line, r.t_s + w, Some(100.0 * (1.0 - bad[k] as f64 / allowed)));
            }
        })
    };
    Ok(chart_box(
        "chart-budget",
        "Error budget remaining (of the run's budget: (1 − objective) × its events)",
        &charts::streamed_chart(axis, "budget left [%]", Scale::Linear { min_top: 100.0 }, &burn, &points, 200)?,
        &legend_of(&burn),
    ))
}

fn audio_charts(d: &RunData, axis: &Axis) -> Result<String, String> {
    let w = d.window_s();
    let mid = |t: f64| t + w / 2.0;
    let mut h = String::new();
    // For each channel of audio.csv, the lines of its RMS and peak.
    let mut of_channel: Vec<[Option<usize>; 2]> = vec![[None; 2]; d.audio_channels.len()];
    let mut levels = Vec::new();
    let shown = d
        .audio_channels
        .iter()
        .enumerate()
        .filter(|(_, c)| ["ch1", "ch2", "to_pc_l", "to_pc_r", "out_l", "out_r"].contains(&c.as_str()));
    for (i, (k, ch)) in shown.enumerate() {
        of_channel[k][0] = Some(levels.len());
        levels.push(line(format!("{ch} RMS"), color(i), false));
        if ch.starts_with("out") {
            of_channel[k][1] = Some(levels.len());
            levels.push(line(format!("{ch} peak"), color(i), true));
        }
    }
    let points = |point: &mut dyn FnMut(usize, f64, Option<f64>)| {
        d.each_audio(|k, r| {
            for (line, v) in of_channel[k].iter().zip([r.rms_dbfs, r.peak_dbfs]) {
                if let Some(line) = line {
                    point(*line, mid(r.t_s), v);
                }
            }
        })
    };
    h.push_str(&chart_box(
        "chart-audio-levels",
        "Audio levels per window (gaps: bit-exact silence)",
        &charts::streamed_chart(axis, "dBFS", Scale::Fixed(-90.0, 3.0), &levels, &points, 200)?,
        &legend_of(&levels),
    ));
    // The device's figures, which audio.csv repeats on every channel's row: the first channel's.
    let xr = [line("xruns", RED, false), line("missing periods", GREY, false)];
    let points = |point: &mut dyn FnMut(usize, f64, Option<f64>)| {
        d.each_audio(|k, r| {
            if k == 0 {
                point(0, mid(r.t_s), Some(r.xruns as f64));
                point(1, mid(r.t_s), Some(r.missing as f64));
            }
        })
    };
    h.push_str(&chart_box(
        "chart-xruns",
        "Xruns and missing periods per window",
        &charts::streamed_chart(axis, "periods", Scale::Linear { min_top: 1.0 }, &xr, &points, 160)?,
        &legend_of(&xr),
    ));
    let load = [line("DSP load (mean per window)", color(4), false)];
    let points = |point: &mut dyn FnMut(usize, f64, Option<f64>)| {
        d.each_audio(|k, r| {
            if k == 0 {
                point(0, mid(r.t_s), r.dsp_load.map(|l| l * 100.0));
            }
        })
    };
    h.push_str(&chart_box(
        "chart-dsp-load",
        "DSP load: processing time / period",
        &charts::streamed_chart(axis, "of the period [%]", Scale::Linear { min_top: 100.0 }, &load, &points, 160)?,
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
