//! `run --live`, `devices` and `preflight`: live mode's commands (without the `live` feature, each says
//! how to build it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::sim::SimDuration;
#[cfg(feature = "live")]
use {
    super::{human_summary, progress_bar, write_stdout},
    crate::model::summary::Mode,
    crate::report::{Bundle, Summary, Verdict},
    crate::scenario::Scenario,
    crate::sim::SimTime,
    anyhow::Context,
    indicatif::ProgressDrawTarget,
    std::io::IsTerminal,
    std::time::Instant,
};

#[cfg(not(feature = "live"))]
pub(super) fn run_live(
    _: &Path,
    _: Option<u64>,
    _: Option<PathBuf>,
    _: bool,
    _: Option<String>,
    _: Option<std::net::SocketAddr>,
) -> Result<ExitCode> {
    anyhow::bail!(crate::live::NOT_BUILT)
}

#[cfg(not(feature = "live"))]
pub(super) fn devices() -> Result<ExitCode> {
    anyhow::bail!(crate::live::NOT_BUILT)
}

#[cfg(not(feature = "live"))]
pub(super) fn preflight(_: Option<String>, _: u32, _: u32, _: SimDuration, _: SimDuration) -> Result<ExitCode> {
    anyhow::bail!(crate::live::NOT_BUILT)
}

#[cfg(feature = "live")]
pub(super) fn devices() -> Result<ExitCode> {
    write_stdout(&crate::live::preflight::devices())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "live")]
pub(super) fn preflight(
    device: Option<String>,
    rate: u32,
    frames: u32,
    listen: SimDuration,
    xrun: SimDuration,
) -> Result<ExitCode> {
    use crate::live::preflight::{Options, Status, run, table};
    if rate == 0 || frames == 0 {
        anyhow::bail!("--rate and --frames must be positive");
    }
    let opts = Options { device, rate_hz: rate, frames, listen_s: listen.as_secs_f64(), xrun_s: xrun.as_secs_f64() };
    let checks = run(&opts);
    write_stdout(&table(&checks))?;
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        eprintln!("preflight: {failed} check(s) failed");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "live")]
pub(super) fn run_live(
    path: &Path,
    seed: Option<u64>,
    out: Option<PathBuf>,
    quiet: bool,
    device: Option<String>,
    metrics: Option<std::net::SocketAddr>,
) -> Result<ExitCode> {
    let sc = Scenario::load(path)?;
    let problems = crate::live::unsupported_faults(&sc);
    if !problems.is_empty() {
        anyhow::bail!("{}: {}", path.display(), problems.join("\n  "));
    }
    let seed = seed.unwrap_or(sc.seed);
    let out_dir = out.unwrap_or_else(|| Path::new("reports").join(sc.dir_name()));
    crate::report::check_writable(&out_dir)?;
    let ignored = crate::live::ignored_live(&sc);
    if !ignored.is_empty() {
        eprintln!(
            "warning: in live mode these have no effect (the interface's knobs and inputs, set them on the hardware): {}; the captured channels are the interface's TO PC stream, to_pc_l and to_pc_r",
            ignored.join(", ")
        );
    }
    let show_progress = !quiet && std::io::stderr().is_terminal();
    let mut setup = crate::live::setup(&sc, seed, device.as_deref())?;
    if let Some(addr) = metrics {
        let gauges = std::sync::Arc::new(crate::live::metrics::Gauges::default());
        let bound = crate::live::metrics::serve(addr, gauges.clone())
            .with_context(|| format!("cannot serve metrics at {addr}"))?;
        eprintln!("live: metrics at http://{bound}/metrics");
        setup.gauges = Some(gauges);
    }
    if !quiet {
        eprintln!(
            "live: {} for {} in real time{}",
            sc.name,
            humantime::format_duration((sc.duration + sc.drain).into()),
            setup.backend.as_ref().map(|b| format!(" on {}", b.info().device)).unwrap_or_default()
        );
    }
    let bar = show_progress.then(|| progress_bar(&sc));
    let progress: Option<crate::run::Progress> = bar.clone().map(|b| {
        b.set_draw_target(ProgressDrawTarget::stderr());
        Box::new(move |t: SimTime| b.set_position((t.as_secs_f64() * 1000.0) as u64)) as crate::run::Progress
    });
    let started = Instant::now();
    let output = crate::run::run_live(&sc, seed, progress, setup)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = Summary::new(&sc, &output, Mode::Live, started.elapsed().as_secs_f64());
    Bundle::of_run(&sc, output, &summary)?
        .write_to(&out_dir)
        .with_context(|| format!("failed to write the reports of scenario \"{}\"", sc.name))?;
    if !quiet {
        write_stdout(&human_summary(&summary, &out_dir))?;
    }
    if summary.ended == crate::model::summary::Ended::Interrupted {
        return Ok(ExitCode::from(crate::interrupt::EXIT_CODE));
    }
    Ok(if summary.verdict == Verdict::Fail { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
