//! The tables of services, resilience, the audio path and stress steps.

use std::fmt::Write as _;

use super::data::RunData;
use super::{esc, f3};
use crate::model::summary::Summary;

/// The services table and, where they apply, the response-time buckets, the resilience figures and the
/// audio path.
pub(super) fn services_section(d: &RunData) -> String {
    let s = &d.summary;
    let mut h = String::from(
        "<section id=\"services\">\n<h2>Services</h2>\n<table id=\"services-table\">\n<tr><th class=\"l\">service</th><th>requests</th><th>OK</th><th>KO</th><th>KO %</th><th>min</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>utilisation</th><th>queue</th><th>crashes</th><th>restarts</th></tr>\n",
    );
    for (name, v) in &s.services {
        let ko = v.failed + v.timed_out + v.rejected;
        let l = &v.latency_ms;
        let _ = writeln!(
            h,
            "<tr data-name=\"{}\"><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(name),
            v.requests,
            v.ok,
            ko,
            if v.requests > 0 { format!("{:.2}%", 100.0 * ko as f64 / v.requests as f64) } else { "–".into() },
            f3(l.min),
            f3(l.mean),
            f3(l.p50),
            f3(l.p90),
            f3(l.p99),
            f3(l.max),
            v.utilization * 100.0,
            v.queue_depth,
            v.crashes,
            v.restarts
        );
    }
    h.push_str("</table>\n<p class=\"note\">Server side: latency [ms] from arrival at the service to its answer, successes only. KO = failed + timed out + rejected.</p>\n");
    h.push_str(&buckets_table(s));
    h.push_str(&resilience_table(s));
    h.push_str(&audio_tables(s));
    h.push_str("</section>\n");
    h
}

/// The steps of a stress test and its breaking point.
pub(super) fn stress_section(d: &RunData) -> String {
    let Some(st) = &d.summary.stress else { return String::new() };
    let mut h = format!(
        "<section id=\"stress\">\n<h2>Stress test: breaking point {}</h2>\n<table id=\"stress-table\">\n<tr><th>rate [1/s]</th><th>requests</th><th>error rate</th><th>p99 [ms]</th><th>objectives</th></tr>\n",
        st.breaking_point_per_s.map(|r| format!("{r} requests/s")).unwrap_or_else(|| "none".into())
    );
    for step in &st.steps {
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{:.2}%</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            if step.met { "" } else { "bad" },
            step.rate_per_s,
            step.requests,
            step.error_rate * 100.0,
            f3(step.p99_ms),
            if step.met { "ok" } else { "ko" },
            if step.met { "met" } else { "missed" }
        );
    }
    h.push_str("</table>\n</section>\n");
    h
}

/// Response-time buckets per service (Gatling's distribution).
fn buckets_table(s: &Summary) -> String {
    let mut h = String::new();
    if let Some((_, first)) = s.services.iter().find(|(_, v)| !v.latency_buckets.is_empty()) {
        h.push_str(
            "<h3>Response-time distribution</h3>\n<table id=\"buckets-table\">\n<tr><th class=\"l\">service</th>",
        );
        let mut prev: Option<f64> = None;
        for b in &first.latency_buckets {
            let label = match (prev, b.le_ms) {
                (None, Some(e)) => format!("≤ {e} ms"),
                (Some(p), Some(e)) => format!("{p}–{e} ms"),
                (Some(p), None) => format!("&gt; {p} ms"),
                (None, None) => "all".into(),
            };
            let _ = write!(h, "<th>{label}</th>");
            prev = b.le_ms;
        }
        h.push_str("<th>KO</th></tr>\n");
        for (name, v) in &s.services {
            let _ = write!(h, "<tr data-name=\"{}\"><td class=\"l\">{}</td>", esc(name), esc(name));
            for b in &v.latency_buckets {
                let share = if v.requests > 0 { 100.0 * b.count as f64 / v.requests as f64 } else { 0.0 };
                let _ = write!(h, "<td>{} <span class=\"note\">({share:.1}%)</span></td>", b.count);
            }
            let _ = writeln!(h, "<td>{}</td></tr>", v.failed + v.timed_out + v.rejected);
        }
        h.push_str("</table>\n");
    }
    h
}

/// Resilience figures, for the services that have any.
fn resilience_table(s: &Summary) -> String {
    let mut h = String::new();
    let rows: Vec<_> = s
        .services
        .iter()
        .filter(|(_, v)| {
            v.breaker_opens
                + v.rejected_by_breaker
                + v.rejected_by_bulkhead
                + v.retries
                + v.fallbacks
                + v.rate_limited
                + v.scale_ups
                + v.scale_downs
                > 0
                || v.downtime_s > 0.0
        })
        .collect();
    if !rows.is_empty() {
        h.push_str("<h3>Resilience (calls to each service, summed over its callers)</h3>\n<table id=\"resilience-table\">\n<tr><th class=\"l\">service</th><th>breaker opens</th><th>rejected by breaker</th><th>rejected by bulkhead</th><th>retries</th><th>retries denied</th><th>fallbacks</th><th>rate limited</th><th>downtime [s]</th><th>scale ups / downs</th><th>workers at end</th></tr>\n");
        for (name, v) in rows {
            let _ = writeln!(
                h,
                "<tr data-name=\"{}\"><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{} / {}</td><td>{:.1}</td></tr>",
                esc(name),
                esc(name),
                v.breaker_opens,
                v.rejected_by_breaker,
                v.rejected_by_bulkhead,
                v.retries,
                v.retries_denied,
                v.fallbacks,
                v.rate_limited,
                v.downtime_s,
                v.scale_ups,
                v.scale_downs,
                v.workers
            );
        }
        h.push_str("</table>\n");
    }
    h
}

/// The audio path and, in live mode, the interface.
fn audio_tables(s: &Summary) -> String {
    let mut h = String::new();
    if let Some(a) = &s.audio {
        let _ = writeln!(
            h,
            "<h3>Audio path</h3>\n<table id=\"audio-table\">\n<tr><th class=\"l\">device</th><th>rate</th><th>period</th><th>periods</th><th>xruns</th><th>missing</th><th>dropouts</th><th>longest dropout</th><th>clipped samples</th><th>output loudness</th><th>DSP load mean / max</th></tr>\n<tr><td class=\"l\">{}</td><td>{} Hz</td><td>{} frames, {:.3} ms</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} ms</td><td>{}</td><td>{}</td><td>{:.1}% / {:.1}%</td></tr>\n</table>",
            esc(&a.model),
            a.sample_rate_hz,
            a.buffer_frames,
            a.period_ms,
            a.periods,
            a.xruns,
            a.missing,
            a.dropouts,
            a.max_dropout_ms,
            a.clipped_samples,
            a.output_lufs.map(|l| format!("{l:.1} LUFS")).unwrap_or_else(|| "–".into()),
            a.dsp_load_mean * 100.0,
            a.dsp_load_max * 100.0
        );
    }
    if let Some(l) = &s.live {
        let _ = writeln!(
            h,
            "<h3>Live interface</h3>\n<table id=\"live-table\">\n<tr><th class=\"l\">device</th><th>callbacks</th><th>xruns</th><th>input underruns</th><th>stream errors</th><th>interval p50 / p99 / max [ms]</th><th>jitter p50 / p99 / max [ms]</th><th>DSP load p50 / p99 / max</th></tr>\n<tr><td class=\"l\">{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td><td>{} / {} / {}</td><td>{:.2}% / {:.2}% / {:.2}%</td></tr>\n</table>",
            esc(&l.info.device),
            esc(&l.info.host),
            l.callbacks,
            l.xruns,
            l.input_underruns,
            l.info.stream_errors,
            f3(l.callback_interval_ms.p50),
            f3(l.callback_interval_ms.p99),
            f3(l.callback_interval_ms.max),
            f3(l.jitter_ms.p50),
            f3(l.jitter_ms.p99),
            f3(l.jitter_ms.max),
            l.dsp_load.p50 * 100.0,
            l.dsp_load.p99 * 100.0,
            l.dsp_load.max * 100.0
        );
    }
    h
}
