//! What the terminal shows after a run and a sweep.

use std::path::Path;

use crate::model::summary::Sli;
use crate::report::{Summary, Verdict};

pub(super) fn human_summary(s: &Summary, dir: &Path) -> String {
    let r = &s.requests.counts;
    let mut t = format!(
        "{}: {} (seed {}, {:.0} simulated s in {:.2} s, ended {})\n  requests {} ok {} failed {} timed_out {} rejected {}\n  latency ms: mean {:.3} p50 {:.3} p99 {:.3} max {:.3}\n",
        s.scenario,
        match s.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        },
        s.seed,
        s.simulated_s,
        s.wall_s,
        s.ended,
        r.requests,
        r.ok,
        r.failed,
        r.timed_out,
        r.rejected,
        s.latency_ms.mean,
        s.latency_ms.p50,
        s.latency_ms.p99,
        s.latency_ms.max,
    );
    if let Some(a) = &s.audio {
        t.push_str(&format!(
            "  audio: {} periods, {} xruns, {} missing, {} dropouts (longest {:.1} ms), {} clipped samples, output {} LUFS\n",
            a.periods,
            a.xruns,
            a.missing,
            a.dropouts,
            a.max_dropout_ms,
            a.clipped_samples,
            a.output_lufs.map(|l| format!("{l:.1}")).unwrap_or_else(|| "n/a".into())
        ));
    }
    if let Some(l) = &s.live {
        t.push_str(&format!(
            "  live: {} on {}: {} callbacks ({:.1}/s), {} xruns, {} underruns, jitter p99 {:.3} ms, DSP load p99 {:.2}%\n",
            l.info.device,
            l.info.host,
            l.callbacks,
            l.callbacks_per_s,
            l.xruns,
            l.input_underruns,
            l.jitter_ms.p99,
            l.dsp_load.p99 * 100.0
        ));
    }
    for slo in &s.slos {
        let (goal, achieved) = match slo.sli {
            Sli::XrunsPerHour => (format!("at most {}/h", slo.objective), slo.achieved.map(|a| format!("{a:.1}/h"))),
            Sli::MaxDropout => {
                (format!("at most {} ms", slo.threshold_ms.unwrap_or(0.0)), slo.achieved.map(|a| format!("{a:.1} ms")))
            }
            _ => (format!("objective {}", slo.objective), slo.achieved.map(|a| format!("{a:.5}"))),
        };
        t.push_str(&format!(
            "  slo {:<24} {} {} achieved {}\n",
            slo.name,
            if slo.met { "met   " } else { "MISSED" },
            goal,
            achieved.unwrap_or_else(|| "n/a (no requests)".into())
        ));
        if slo.paged {
            t.push_str(&format!("      paged: {}\n", alert_list(&slo.alerts)));
        }
    }
    if let Some(h) = &s.hypothesis {
        let deviations: Vec<String> = h
            .probes
            .iter()
            .flat_map(|p| p.phases.iter().filter(|ph| !ph.ok).map(move |ph| format!("\"{}\" in {}", p.name, ph.phase)))
            .collect();
        t.push_str(&format!("  hypothesis {} ({} probes, {} phases)", h.result, h.probes.len(), h.phases.len()));
        if deviations.is_empty() {
            t.push('\n');
        } else {
            t.push_str(&format!(": out of tolerance {}\n", deviations.join(", ")));
        }
    }
    if let Some(st) = &s.stress {
        t.push_str(&format!(
            "  stress: {} steps, breaking point {}\n",
            st.steps.len(),
            st.breaking_point_per_s
                .map(|r| format!("{r} requests/s"))
                .unwrap_or_else(|| "none (the first step failed)".into())
        ));
    }
    t.push_str(&format!("  reports in {}\n", dir.display()));
    t
}

pub(super) fn sweep_text(s: &crate::sweep::SweepSummary, out: &Path) -> String {
    let mut t = format!(
        "{}: {} seeds, {} passed, {} failed\n  latency ms (all seeds): mean {:.3} p50 {:.3} p99 {:.3} max {:.3}\n",
        s.scenario,
        s.seeds.len(),
        s.passed,
        s.failed,
        s.latency_ms.mean,
        s.latency_ms.p50,
        s.latency_ms.p99,
        s.latency_ms.max
    );
    if let Some(i) = &s.incomplete {
        t.push_str(&format!(
            "  INCOMPLETE ({}): {} seed(s) did not run ({}); the figures cover the seeds above only\n",
            i.reason,
            i.seeds_not_run.len(),
            crate::model::sweep::seed_list(&i.seeds_not_run)
        ));
    }
    for name in ["availability", "latency_ms.mean", "latency_ms.p99"] {
        if let Some(f) = s.figures.get(name) {
            t.push_str(&format!("  {name}: mean {:.6} (95% CI {:.6} .. {:.6})\n", f.mean, f.ci95[0], f.ci95[1]));
        }
    }
    for o in &s.slos {
        t.push_str(&format!("  slo {:<24} met in {}/{} seeds\n", o.name, o.met, o.runs));
    }
    t.push_str(&format!("  sweep in {}\n", out.display()));
    t
}

fn alert_list(alerts: &[crate::model::summary::AlertSummary]) -> String {
    alerts
        .iter()
        .filter(|a| a.severity == crate::slo::Severity::Page)
        .map(|a| {
            format!(
                "{}/{} burn > {} at {:.0} s",
                humantime::format_duration(std::time::Duration::from_secs_f64(a.long_s)),
                humantime::format_duration(std::time::Duration::from_secs_f64(a.short_s)),
                a.burn_rate,
                a.fired_at_s
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
