//! `ag06-lab bench`: the engine benchmark (workload W, or a scenario).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use super::{WORKLOAD_W, write_stdout};
use crate::model::summary::Mode;
use crate::report::{Bundle, Summary};
use crate::run::simulate;
use crate::scenario::Scenario;
use crate::sim::SimDuration;

pub(super) fn bench(
    path: Option<&Path>,
    repeat: u32,
    duration: Option<SimDuration>,
    reference: bool,
    no_device: bool,
) -> Result<ExitCode> {
    let mut sc = match path {
        Some(p) => Scenario::load(p)?,
        None => Scenario::from_toml(WORKLOAD_W, "<built-in workload W>", "workload-w")?,
    };
    // The same scenario without its audio path, read and checked before anything runs.
    let bare = match path {
        Some(p) if no_device => {
            if sc.device.is_none() {
                return Err(crate::scenario::ScenarioError::Invalid {
                    path: p.display().to_string(),
                    problems: vec![crate::scenario::Problem {
                        at: "device".into(),
                        message: "`bench --no-device` needs a scenario with a [device] section".into(),
                    }],
                }
                .into());
            }
            Some(without_device(p)?)
        }
        _ => None,
    };
    let cut = |sc: &mut Scenario| {
        if let Some(d) = duration {
            sc.duration = d;
            sc.load.profile = sc.load.profile.cut(d);
        }
    };
    cut(&mut sc);
    let repeat = repeat.max(1);
    let (median, out) = measure(&sc, repeat, "")?;
    report(&sc, out, median, repeat)?;
    if let Some(mut bare) = bare {
        cut(&mut bare);
        let (wall, _) = measure(&bare, repeat, " without [device]")?;
        write_stdout(&format!(
            "without [device]: {wall:.3} s wall (median of {repeat})\nwith / without [device]: {:.1}x\n",
            median / wall.max(1e-9)
        ))?;
    }
    if reference {
        // After the RSS above: the loop's memory is not the lab's.
        let mut walls = Vec::new();
        let mut last = None;
        for _ in 0..repeat {
            let started = Instant::now();
            let r = crate::reference::workload_w(sc.duration.as_secs_f64(), sc.seed);
            walls.push(started.elapsed().as_secs_f64());
            last = Some(r);
        }
        walls.sort_by(f64::total_cmp);
        let wall = walls[walls.len() / 2];
        let r = last.expect("invariant: at least one run");
        write_stdout(&format!(
            "reference (W as a plain event loop: binary heap, no actors): {:.3} s wall (median of {repeat}), {} requests, {} events, latency ms: mean {:.3} p99 {:.3}\nlab / reference: {:.1}x\n",
            wall,
            r.requests,
            r.events,
            r.mean_ms,
            r.p99_ms,
            median / wall.max(1e-9)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The scenario at `path` without its audio path: no `[device]` (nor its supervisor), and none of the
/// faults, objectives or probes aimed at the device; everything else as written.
fn without_device(path: &Path) -> Result<Scenario> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{shown}`"))?;
    let mut doc: toml_edit::DocumentMut = text.parse().with_context(|| format!("cannot parse `{shown}`"))?;
    doc.remove("device");
    doc.remove("explore");
    if let Some(sup) = doc.get_mut("supervision").and_then(|s| s.as_table_like_mut()) {
        sup.remove("device");
    }
    for (array, key) in [("chaos", "target"), ("slo", "service"), ("hypothesis", "service")] {
        if let Some(entries) = doc.get_mut(array).and_then(|a| a.as_array_of_tables_mut()) {
            entries.retain(|t| t.get(key).and_then(|v| v.as_str()) != Some(crate::scenario::validate::DEVICE));
        }
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
    Ok(Scenario::from_toml(&doc.to_string(), &format!("{shown} (without [device])"), &stem)?)
}

/// Runs `sc` `repeat` times; the median wall time [s] and the last run.
fn measure(sc: &Scenario, repeat: u32, label: &str) -> Result<(f64, crate::run::RunOutput)> {
    let mut walls = Vec::new();
    let mut last = None;
    for i in 0..repeat {
        // One run's output alive at a time: the peak RSS is that of one run.
        drop(last.take());
        let started = Instant::now();
        let cpu0 = cpu_s();
        let out = simulate(sc, sc.seed, None)?;
        let wall = started.elapsed().as_secs_f64();
        // The run's threads together (the audio lane runs beside the lab's): more than the wall time.
        let cpu = match (cpu0, cpu_s()) {
            (Some(a), Some(b)) => format!(" ({:.2} s CPU)", b - a),
            _ => String::new(),
        };
        eprintln!(
            "run {}/{}{label}: {:.3} s wall{cpu}, {} requests, {} messages, {} instants",
            i + 1,
            repeat,
            wall,
            out.client.counts.requests,
            out.engine.messages,
            out.engine.instants
        );
        walls.push(wall);
        last = Some(out);
    }
    walls.sort_by(f64::total_cmp);
    Ok((walls[walls.len() / 2], last.expect("invariant: at least one run")))
}

/// Prints the figures of the measured run `out` of `sc`.
fn report(sc: &Scenario, out: crate::run::RunOutput, median: f64, repeat: u32) -> Result<()> {
    let requests = out.client.counts.requests as f64;
    let lat = out.client.latency.summary();
    let (end_s, messages) = (out.end.as_secs_f64(), out.engine.messages);
    // The output files, and report.html again on its own: what a run adds after the simulation.
    let started = Instant::now();
    let summary = Summary::new(sc, &out, Mode::Simulated, median);
    let files = Bundle::of_run(sc, out, &summary)?;
    let outputs_s = started.elapsed().as_secs_f64();
    let file = |name: &str| files.file(name);
    let started = Instant::now();
    let html = crate::report::html::render_run(file).context("failed to render report.html")?;
    let report_s = started.elapsed().as_secs_f64();
    let rss = peak_rss_mb().map(|m| format!("{m:.1} MB")).unwrap_or_else(|| "n/a".into());
    write_stdout(&format!(
        "workload: {} ({} simulated s)\nwall (median of {}): {:.3} s\nsimulated requests/s: {:.0}\nmessages/s: {:.0}\nend-to-end latency ms: mean {:.3} p99 {:.3}\noutput files: {:.3} s (report.html alone: {:.3} s, {:.2} MB)\npeak RSS: {}\n",
        sc.name,
        end_s,
        repeat,
        median,
        requests / median,
        messages as f64 / median,
        lat.mean,
        lat.p99,
        outputs_s,
        report_s,
        html.len() as f64 / 1e6,
        rss
    ))?;
    Ok(())
}

/// The CPU time this process's threads have taken so far, user and system [s] (Linux: /proc/self/stat,
/// in the kernel's clock ticks of 1/100 s, the USER_HZ of every Linux ABI).
fn cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command name (in parentheses, which may hold spaces): field 3 (state) on; utime and
    // stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Peak resident set size of this process [MB] (Linux: VmHWM).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
