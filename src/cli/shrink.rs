//! `ag06-lab shrink`: the smallest experiment that still fails; `ag06-lab explore`: what else breaks it.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::write_stdout;
use crate::model::shrink::ShrinkReport;
use crate::model::summary::Mode;
use crate::report::{Bundle, Summary};
use crate::scenario::Scenario;

/// The scenario at `path` as shown, its text and its checked form, the output directory (default
/// `reports/<name>-<what>`) and the jobs (default: the CPUs).
fn prepare(
    path: &Path,
    out: Option<PathBuf>,
    what: &str,
    jobs: Option<usize>,
) -> Result<(String, String, Scenario, PathBuf, usize)> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{shown}`"))?;
    let sc = Scenario::load(path)?;
    let out = out.unwrap_or_else(|| Path::new("reports").join(format!("{}-{what}", sc.dir_name())));
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    Ok((shown, text, sc, out, jobs))
}

/// Runs `ag06-lab shrink`.
pub(super) fn shrink(
    path: &Path,
    seed: Option<u64>,
    jobs: Option<usize>,
    objectives: Vec<String>,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<ExitCode> {
    let (shown, text, sc, out, jobs) = prepare(path, out, "shrink", jobs)?;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    if !quiet && std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} shrinking {msg}: {pos} runs ({elapsed})")
                .expect("invariant: the template is valid"),
        );
        bar.set_message(sc.name.clone());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    let ticker = bar.clone();
    let opts = crate::shrink::Options { seed, jobs, objectives };
    let shrunk = crate::shrink::shrink(path, &text, &opts, Box::new(move |n| ticker.set_position(n as u64)));
    bar.finish_and_clear();
    let shrunk = shrunk?;
    let r = &shrunk.report;
    // The original and the minimal run in full, for the report's two sides (not once interrupted: the
    // step figures in shrink.json say what they did).
    let mut files: Vec<(String, crate::report::Contents)> = Vec::new();
    let mut summaries = Vec::new();
    let sides =
        if r.incomplete { Vec::new() } else { vec![("original", &shrunk.original), ("minimal", &shrunk.minimal)] };
    for (side, body) in sides {
        let stem = if side == "original" { sc.dir_name() } else { "minimal".to_string() };
        let scn = Scenario::from_toml(body, &shown, &stem)?;
        let started = std::time::Instant::now();
        let output = crate::run::simulate(&scn, r.seed, None)?;
        let summary = Summary::new(&scn, &output, Mode::Simulated, started.elapsed().as_secs_f64());
        let bundle = Bundle::of_run(&scn, output, &summary).context("failed to render a run's report")?;
        files.extend(bundle.files.into_iter().map(|(n, b)| (format!("{side}/{n}"), b)));
        summaries.push(summary);
    }
    let mut json = serde_json::to_vec_pretty(r).expect("invariant: the report serializes");
    json.push(b'\n');
    let html = crate::report::html::shrink::shrink_page(r, summaries.first().zip(summaries.get(1)));
    files.push(("shrink.json".into(), json.into()));
    files.push(("minimal.toml".into(), crate::shrink::minimal_file(r, &shrunk.minimal).into_bytes().into()));
    files.push(("report.html".into(), html.into_bytes().into()));
    let files = files.into_iter().map(|(n, b)| (n.into(), b)).collect();
    Bundle { files }.write_to_marked(&out, "shrink.json").context("failed to write the shrink")?;
    if !quiet {
        write_stdout(&text_of(r, &out))?;
    }
    if r.incomplete {
        eprintln!("interrupted: what was done is in {}", out.display());
    }
    Ok(if r.incomplete { ExitCode::from(crate::interrupt::EXIT_CODE) } else { ExitCode::SUCCESS })
}

fn text_of(r: &ShrinkReport, out: &Path) -> String {
    let kept = r.faults.iter().filter(|f| f.kept).count();
    let mut t = format!(
        "shrink {}: {} of {} faults still fail it at seed {} ({}){}\n",
        r.scenario,
        kept,
        r.faults.len(),
        r.seed,
        crate::model::shrink::list(&r.holds_on_to),
        if r.incomplete { " — interrupted: the smallest so far, not 1-minimal" } else { "" }
    );
    for f in &r.faults {
        let what = f.outcome();
        let _ = writeln!(t, "  {:<28} {:<18} {what}", f.name, f.fault);
    }
    let _ = writeln!(
        t,
        "  {} steps, {} runs ({} answered from the cache); minimal scenario in {}",
        r.steps.len(),
        r.runs,
        r.cached,
        out.join("minimal.toml").display()
    );
    t
}

/// Runs `ag06-lab explore`.
pub(super) fn explore(
    path: &Path,
    budget: usize,
    jobs: Option<usize>,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<ExitCode> {
    let (_, text, sc, out, jobs) = prepare(path, out, "explore", jobs)?;
    let bar = ProgressBar::with_draw_target(Some(budget as u64), ProgressDrawTarget::hidden());
    if !quiet && std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} exploring {msg} [{bar:30}] {pos}/{len} schedules (ETA {eta})")
                .expect("invariant: the template is valid")
                .progress_chars("=> "),
        );
        bar.set_message(sc.name.clone());
    }
    tracing::info!("exploring {}: {budget} schedules", sc.name);
    let ticker = bar.clone();
    let explored = crate::explore::explore(path, &text, budget, jobs, &move |n| ticker.set_position(n as u64));
    bar.finish_and_clear();
    let explored = explored?;
    let r = &explored.report;
    let mut json = serde_json::to_vec_pretty(r).expect("invariant: the report serializes");
    json.push(b'\n');
    let mut files = explored.files;
    files.push(("explore.json".into(), json));
    files.push(("report.html".into(), crate::report::html::explore::explore_page(r).into_bytes()));
    let files = files.into_iter().map(|(n, b)| (n.into(), b.into())).collect();
    Bundle { files }.write_to_marked(&out, "explore.json").context("failed to write the explore")?;
    if !quiet {
        let mut t = if r.failures > 0 {
            format!("explore {}: {} of {} schedules broke it\n", r.scenario, r.failures, r.schedules.len())
        } else {
            format!("explore {}: no schedule broke it\n", r.scenario)
        };
        let _ = writeln!(t, "  covered: {}", r.covered);
        for b in &r.broken {
            let _ = writeln!(t, "  {:<40} broken by {} schedules", b.failure, b.schedules);
        }
        for p in &r.reproducers {
            let _ = writeln!(
                t,
                "  reproducer of schedule {}: keeps {} -> {}",
                p.schedule,
                p.kept.join(", "),
                out.join(&p.minimal_file).display()
            );
        }
        let _ = writeln!(t, "  report in {}", out.display());
        write_stdout(&t)?;
    }
    if r.incomplete {
        eprintln!("interrupted: what was done is in {}", out.display());
        return Ok(ExitCode::from(crate::interrupt::EXIT_CODE));
    }
    Ok(if r.failures > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
