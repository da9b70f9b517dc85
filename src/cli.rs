//! The command line: parses arguments, calls the library, maps results to exit codes
//! (0 every objective held, 1 an objective failed, 2 bad input, usage or I/O).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::summary::{Mode, Sli};
use crate::report::{Bundle, Summary, Verdict};
use crate::run::simulate;
use crate::scenario::{RawScenario, Scenario};
use crate::sim::{SimDuration, SimTime};

/// Resilience lab for real-time audio systems and the services around them.
#[derive(Parser, Debug)]
#[command(name = "ag06-lab", version, about, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and write its reports; exit 0 if every objective held, 1 if one failed.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Seed (overrides the file's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Output directory [default: reports/<scenario name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar and no summary on stdout.
        #[arg(long, short)]
        quiet: bool,
        /// Write what the computer captured (the device's TO PC output) to this WAV file.
        #[arg(long, value_name = "FILE.wav")]
        record: Option<PathBuf>,
        /// Run in real time, the device backed by a real audio interface (builds with `--features live`).
        #[arg(long)]
        live: bool,
        /// With --live: the interface whose name or id contains this [default: the first AG06/AG03].
        #[arg(long, requires = "live")]
        device: Option<String>,
        /// With --live: serve Prometheus metrics at http://ADDR/metrics while the run lasts.
        #[arg(long, requires = "live", value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9464")]
        metrics: Option<std::net::SocketAddr>,
    },
    /// List the audio hosts, their devices and supported configurations; AG06/AG03 are marked (live builds).
    Devices,
    /// Check the interface before a show: the device, the rate, input that is not bit-exact zeros, no
    /// clipping, no xruns at the buffer size. Exit 0 when nothing failed, 1 otherwise (live builds).
    Preflight {
        /// The interface whose name or id contains this [default: the first AG06/AG03].
        #[arg(long)]
        device: Option<String>,
        /// Sample rate [Hz].
        #[arg(long, default_value_t = 48_000)]
        rate: u32,
        /// Frames per buffer.
        #[arg(long, default_value_t = 256)]
        frames: u32,
        /// How long to listen to the input for silence and clipping.
        #[arg(long, default_value = "3s", value_parser = parse_duration)]
        listen: SimDuration,
        /// How long to count xruns.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        xrun_window: SimDuration,
    },
    /// Run a scenario over many seeds (in parallel; a shard of them with --shard) and aggregate: mean and
    /// 95% confidence interval of every headline figure, merged latency histograms. Exit 1 if any seed
    /// failed.
    Sweep {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Seeds: 1..=50, 1..50, 7, or comma-separated pieces.
        #[arg(long, default_value = "1..=10", value_parser = crate::sweep::parse_seeds)]
        seeds: std::vec::Vec<u64>,
        /// Runs at a time [default: the number of CPUs].
        #[arg(long)]
        jobs: Option<usize>,
        /// Only shard I of N (0-based): every N-th seed from the I-th. Merge the shards with `merge`.
        #[arg(long, value_parser = crate::sweep::parse_shard, value_name = "I/N")]
        shard: Option<(usize, usize)>,
        /// Output directory [default: reports/<scenario name>-sweep].
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress on stderr and no summary on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Merge sweep directories (shards run anywhere) into one. Exit 1 if any seed failed.
    Merge {
        /// The sweep directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Compare a candidate with a baseline (two run directories or two sweep directories): the release
    /// gate. Exit 1 on any regression.
    Compare {
        /// The baseline directory.
        baseline: PathBuf,
        /// The candidate directory.
        candidate: PathBuf,
        /// Significance level.
        #[arg(long, default_value_t = 0.01)]
        alpha: f64,
        /// Statistical test.
        #[arg(long, value_enum, default_value_t = crate::compare::Test::Welch)]
        test: crate::compare::Test,
        /// Output directory for compare.json and junit.xml [default: reports/compare].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Render `report.html` again from the files of a run, sweep or comparison directory, without
    /// running anything.
    Report {
        /// The directory (it has summary.json, sweep.json or compare.json).
        dir: PathBuf,
    },
    /// Check scenario files without running them.
    Validate {
        /// The scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the scenario format, or with --output of an output file (for CI scripts
    /// that validate what they parse).
    Schema {
        /// The output file whose schema to print (default: the scenario format).
        #[arg(long, value_enum)]
        output: Option<crate::model::Output>,
    },
    /// Measure the engine on the reference workload W (or a scenario): wall time, simulated requests per
    /// second, peak memory.
    Bench {
        /// Scenario to measure [default: the built-in workload W].
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Runs to make; the median is reported.
        #[arg(long, default_value_t = 3)]
        repeat: u32,
        /// Override the scenario's duration (e.g. "5m" for a quick look).
        #[arg(long, value_parser = parse_duration)]
        duration: Option<SimDuration>,
    },
}

/// The reference workload W: three services in series under Poisson load for one simulated hour.
pub const WORKLOAD_W: &str = include_str!("../scenarios/workload-w.toml");

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging(cli.verbose);
    crate::sim::node::install_panic_hook();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

fn dispatch(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Run { scenario, seed, out, quiet, record, live: false, .. } => {
            run(&scenario, seed, out, quiet, record)
        }
        Command::Run { scenario, seed, out, quiet, record, live: true, device, metrics } => {
            if record.is_some() {
                anyhow::bail!("--record is not available with --live");
            }
            run_live(&scenario, seed, out, quiet, device, metrics)
        }
        Command::Devices => devices(),
        Command::Preflight { device, rate, frames, listen, xrun_window } => {
            preflight(device, rate, frames, listen, xrun_window)
        }
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Report { dir } => {
            let path = crate::report::html::rerender(&dir)?;
            write_stdout(&format!("{}\n", path.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { output } => {
            let schema = match output {
                None => schemars::schema_for!(RawScenario),
                Some(o) => o.schema(),
            };
            let text = serde_json::to_string_pretty(&schema).context("rendering the schema")?;
            write_stdout(&format!("{text}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { scenario, repeat, duration } => bench(scenario.as_deref(), repeat, duration),
        Command::Sweep { scenario, seeds, jobs, shard, out, quiet } => sweep(&scenario, seeds, jobs, shard, out, quiet),
        Command::Merge { dirs, out } => {
            let s = crate::sweep::merge(&dirs, &out)?;
            write_stdout(&sweep_text(&s, &out))?;
            Ok(if s.failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Compare { baseline, candidate, alpha, test, out } => compare(&baseline, &candidate, alpha, test, out),
    }
}

fn write_stdout(s: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn validate(paths: &[PathBuf]) -> Result<ExitCode> {
    let mut bad = 0;
    for p in paths {
        match Scenario::load(p) {
            Ok(sc) => write_stdout(&format!(
                "ok: {} (scenario \"{}\", {} services)\n",
                p.display(),
                sc.name,
                sc.services.len()
            ))?,
            Err(e) => {
                bad += 1;
                eprintln!("error: {e}");
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// Runs a scenario and writes its reports (and the recording, if asked). Returns the summary.
pub fn run_scenario(
    sc: &Scenario,
    seed: u64,
    out_dir: &Path,
    progress: bool,
    record: Option<&Path>,
) -> Result<Summary> {
    if record.is_some() && sc.device.is_none() {
        anyhow::bail!("--record needs a [device] section in the scenario: there is no audio to record");
    }
    let partial = record.map(|r| {
        let mut p = r.as_os_str().to_owned();
        p.push(".partial");
        PathBuf::from(p)
    });
    let started = Instant::now();
    tracing::info!(scenario = %sc.name, seed, services = sc.services.len(), faults = sc.chaos.len(), "simulating");
    let bar = progress.then(|| progress_bar(sc));
    let callback = bar.clone().map(|bar| -> Box<dyn FnMut(SimTime)> {
        Box::new(move |t: SimTime| {
            // Appear only on runs longer than about a second.
            if bar.is_hidden() && started.elapsed().as_secs_f64() > 1.0 {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.set_position((t.as_secs_f64() * 1000.0) as u64);
        })
    });
    let output = match crate::run::simulate_with(sc, seed, callback, partial.clone()) {
        Ok(o) => o,
        Err(e) => {
            if let Some(p) = &partial {
                let _ = std::fs::remove_file(p);
            }
            return Err(e.into());
        }
    };
    if let (Some(partial), Some(record)) = (&partial, record) {
        if let Some(err) = output.audio.as_ref().and_then(|a| a.record_error.clone()) {
            let _ = std::fs::remove_file(partial);
            anyhow::bail!("failed to record `{}`: {err}", record.display());
        }
        std::fs::rename(partial, record).with_context(|| format!("failed to write `{}`", record.display()))?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let wall_s = started.elapsed().as_secs_f64();
    tracing::info!(
        simulated_s = output.end.as_secs_f64(),
        wall_s,
        messages = output.engine.messages,
        instants = output.engine.instants,
        "run finished"
    );
    let summary = Summary::new(sc, &output, Mode::Simulated, wall_s);
    Bundle::of_run(sc, &output, &summary)?
        .write_to(out_dir)
        .with_context(|| format!("failed to write the reports of scenario \"{}\"", sc.name))?;
    tracing::info!(dir = %out_dir.display(), "reports written");
    Ok(summary)
}

fn progress_bar(sc: &Scenario) -> ProgressBar {
    let total_ms = ((sc.duration + sc.drain).as_secs_f64() * 1000.0) as u64;
    let bar = ProgressBar::with_draw_target(Some(total_ms), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{spinner} simulating {msg} [{bar:30}] {percent:>3}% (ETA {eta})")
            .expect("invariant: the template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(sc.name.clone());
    bar
}

fn run(path: &Path, seed: Option<u64>, out: Option<PathBuf>, quiet: bool, record: Option<PathBuf>) -> Result<ExitCode> {
    let sc = Scenario::load(path)?;
    let seed = seed.unwrap_or(sc.seed);
    let out_dir = out.unwrap_or_else(|| Path::new("reports").join(sc.dir_name()));
    let show_progress = !quiet && std::io::stderr().is_terminal();
    let summary = run_scenario(&sc, seed, &out_dir, show_progress, record.as_deref())?;
    if !quiet {
        write_stdout(&human_summary(&summary, &out_dir))?;
    }
    if summary.verdict == Verdict::Fail {
        eprintln!("note: rerun with `ag06-lab run {} --seed {}`", path.display(), seed);
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "live"))]
fn run_live(
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
fn devices() -> Result<ExitCode> {
    anyhow::bail!(crate::live::NOT_BUILT)
}

#[cfg(not(feature = "live"))]
fn preflight(_: Option<String>, _: u32, _: u32, _: SimDuration, _: SimDuration) -> Result<ExitCode> {
    anyhow::bail!(crate::live::NOT_BUILT)
}

#[cfg(feature = "live")]
fn devices() -> Result<ExitCode> {
    write_stdout(&crate::live::preflight::devices())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "live")]
fn preflight(
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
fn run_live(
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
    Bundle::of_run(&sc, &output, &summary)?
        .write_to(&out_dir)
        .with_context(|| format!("failed to write the reports of scenario \"{}\"", sc.name))?;
    if !quiet {
        write_stdout(&human_summary(&summary, &out_dir))?;
    }
    Ok(if summary.verdict == Verdict::Fail { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn human_summary(s: &Summary, dir: &Path) -> String {
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

fn sweep(
    path: &Path,
    seeds: Vec<u64>,
    jobs: Option<usize>,
    shard: Option<(usize, usize)>,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<ExitCode> {
    let sc = Scenario::load(path)?;
    let seeds = match shard {
        Some(s) => crate::sweep::shard(&seeds, s),
        None => seeds,
    };
    if seeds.is_empty() {
        anyhow::bail!("this shard has no seeds: use fewer shards than seeds");
    }
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let out = out.unwrap_or_else(|| Path::new("reports").join(format!("{}-sweep", sc.dir_name())));
    let total = seeds.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let progress = |seed: u64, verdict: Verdict| {
        let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if !quiet {
            eprintln!("[{k}/{total}] seed {seed}: {verdict}");
        }
    };
    let s = crate::sweep::run(&sc, &seeds, jobs, &out, &progress)?;
    if !quiet {
        write_stdout(&sweep_text(&s, &out))?;
    }
    Ok(if s.failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn sweep_text(s: &crate::sweep::SweepSummary, out: &Path) -> String {
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

fn compare(
    baseline: &Path,
    candidate: &Path,
    alpha: f64,
    test: crate::compare::Test,
    out: Option<PathBuf>,
) -> Result<ExitCode> {
    if !(alpha > 0.0 && alpha < 1.0) {
        anyhow::bail!("--alpha {alpha}: expected a significance level between 0 and 1, e.g. 0.01");
    }
    let c = crate::compare::compare(baseline, candidate, test, alpha)?;
    let out = out.unwrap_or_else(|| Path::new("reports").join("compare"));
    let mut json = serde_json::to_vec_pretty(&c).expect("invariant: the comparison serializes");
    json.push(b'\n');
    let junit = crate::report::junit::render("compare", &crate::compare::cases(&c));
    let mut files = vec![("compare.json", json), ("junit.xml", junit)];
    // The two latency histograms, so that the comparison's report can draw them side by side later.
    for (name, dir) in [("baseline.hdr", baseline), ("candidate.hdr", candidate)] {
        if let Ok(bytes) = std::fs::read(dir.join("latency.hdr")) {
            files.push((name, bytes));
        }
    }
    let html = crate::report::html::pages::compare_page(|n| files.iter().find(|f| f.0 == n).map(|f| f.1.as_slice()))
        .context("failed to render report.html")?;
    files.push(("report.html", html.into_bytes()));
    Bundle { files }.write_to_marked(&out, "compare.json").context("failed to write the comparison")?;
    let mut t =
        format!("{} vs {} ({} values, {:?} test, alpha {}):\n", c.baseline, c.candidate, c.samples, c.test, c.alpha);
    for f in &c.figures {
        if f.verdict != crate::compare::Verdict::NoSignificantChange {
            t.push_str(&format!(
                "  {:<12} {:<40} {:>14.6} -> {:<14.6} p {}\n",
                format!("{:?}", f.verdict).to_lowercase(),
                f.figure,
                f.baseline,
                f.candidate,
                f.p_value.map(|p| format!("{p:.2e}")).unwrap_or_else(|| "n/a".into())
            ));
        }
    }
    t.push_str(&format!(
        "  {} figures compared: {} regressions, {} improvements; comparison in {}\n",
        c.figures.len(),
        c.regressions,
        c.improvements,
        out.display()
    ));
    write_stdout(&t)?;
    Ok(if c.regressions == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    humantime::parse_duration(s).map(SimDuration::from).map_err(|e| format!("invalid duration \"{s}\": {e}"))
}

fn bench(path: Option<&Path>, repeat: u32, duration: Option<SimDuration>) -> Result<ExitCode> {
    let mut sc = match path {
        Some(p) => Scenario::load(p)?,
        None => Scenario::from_toml(WORKLOAD_W, "<built-in workload W>", "workload-w")?,
    };
    if let Some(d) = duration {
        sc.duration = d;
        sc.load.profile = sc.load.profile.cut(d);
    }
    let repeat = repeat.max(1);
    let mut walls = Vec::new();
    let mut last = None;
    for i in 0..repeat {
        let started = Instant::now();
        let out = simulate(&sc, sc.seed, None)?;
        let wall = started.elapsed().as_secs_f64();
        eprintln!(
            "run {}/{}: {:.3} s wall, {} requests, {} messages, {} instants",
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
    let out = last.expect("invariant: at least one run");
    walls.sort_by(f64::total_cmp);
    let median = walls[walls.len() / 2];
    let requests = out.client.counts.requests as f64;
    let lat = out.client.latency.summary();
    // The output files, and report.html again on its own: what a run adds after the simulation.
    let started = Instant::now();
    let summary = Summary::new(&sc, &out, Mode::Simulated, median);
    let files = Bundle::of_run(&sc, &out, &summary)?;
    let outputs_s = started.elapsed().as_secs_f64();
    let file = |name: &str| files.files.iter().find(|f| f.0 == name).map(|f| f.1.as_slice());
    let started = Instant::now();
    let html = crate::report::html::render_run(file).context("failed to render report.html")?;
    let report_s = started.elapsed().as_secs_f64();
    let rss = peak_rss_mb().map(|m| format!("{m:.1} MB")).unwrap_or_else(|| "n/a".into());
    write_stdout(&format!(
        "workload: {} ({} simulated s)\nwall (median of {}): {:.3} s\nsimulated requests/s: {:.0}\nmessages/s: {:.0}\nend-to-end latency ms: mean {:.3} p99 {:.3}\noutput files: {:.3} s (report.html alone: {:.3} s, {:.2} MB)\npeak RSS: {}\n",
        sc.name,
        out.end.as_secs_f64(),
        repeat,
        median,
        requests / median,
        out.engine.messages as f64 / median,
        lat.mean,
        lat.p99,
        outputs_s,
        report_s,
        html.len() as f64 / 1e6,
        rss
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Peak resident set size of this process [MB] (Linux: VmHWM).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
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
