//! The command line: parses arguments, calls the library, maps results to exit codes
//! (0 every objective held, 1 an objective failed, 2 bad input, usage or I/O).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::summary::Mode;
use crate::report::{Bundle, Summary, Verdict};

use crate::scenario::{RawScenario, Scenario};
use crate::sim::{SimDuration, SimTime};

mod bench;
pub mod compare;
mod live;
mod shrink;
mod text;

use bench::bench;
pub use bench::peak_rss_mb;
use live::{devices, preflight, run_live};
use text::{human_summary, sweep_text};

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
    /// Shrink a failing scenario to the smallest experiment that still fails: a 1-minimal subset of its
    /// [[chaos]] entries (ddmin), each kept fault made milder (shorter, weaker, fewer occurrences).
    /// Writes minimal.toml, shrink.json and a report with the original and minimal runs side by side.
    /// Exit 0 when shrunk, 2 when the scenario does not fail at the seed.
    Shrink {
        /// The scenario file (TOML); it must fail at the seed.
        scenario: PathBuf,
        /// The seed [default: the scenario's].
        #[arg(long)]
        seed: Option<u64>,
        /// Runs at a time [default: the number of CPUs]; the result does not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
        /// The objective or hypothesis probe that must keep failing [default: every one that failed].
        /// Repeatable.
        #[arg(long = "objective", value_name = "NAME")]
        objectives: Vec<String>,
        /// Output directory [default: reports/<scenario name>-shrink].
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress on stderr and no summary on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Draw random fault schedules from the scenario's [explore] fault space, run each (seeded,
    /// reproducible), rank the ones that break an objective or a probe and shrink the best. Writes
    /// explore.json, the reproducers and a report. Exit 1 when a schedule broke it, 0 when none did.
    Explore {
        /// The scenario file (TOML) with an [explore] section.
        scenario: PathBuf,
        /// How many schedules to draw and run.
        #[arg(long)]
        budget: usize,
        /// Runs at a time [default: the number of CPUs]; the result does not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
        /// Output directory [default: reports/<scenario name>-explore].
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
    /// The release gate: compare a candidate with a baseline (two sweep directories, or two run
    /// directories), each figure against its margin, Holm-corrected over the figures that can fail the
    /// gate. Exit 0 on pass, 0 with a warning on marginal, 1 on fail (see --fail-on). With --plan: how many
    /// seeds a side catch a given change.
    Compare(compare::CompareArgs),
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
        /// Also run workload W as a plain event loop (no actors; the same model) in this process, and
        /// print the lab's wall time over the loop's: how far the engine is from the floor.
        #[arg(long, conflicts_with = "scenario")]
        reference: bool,
        /// Also run the scenario without its [device] (and the faults, objectives and probes aimed at
        /// it), and print the wall time with the audio path over the time without it.
        #[arg(long, requires = "scenario")]
        no_device: bool,
    },
    /// Measure the live audio callback with the scenario's own mixer and vocal chain on this machine (no
    /// hardware needed) and write every callback's time as an HdrHistogram, for the simulation's
    /// `dsp_time = { dist = "empirical", file = ... }`.
    Calibrate {
        /// The scenario (it needs a [device] section).
        scenario: PathBuf,
        /// Frames per callback [default: the scenario's buffer_frames].
        #[arg(long)]
        frames: Option<u32>,
        /// Sample rate [default: the scenario's sample_rate_hz].
        #[arg(long)]
        rate: Option<u32>,
        /// Callbacks to measure.
        #[arg(long, default_value_t = 20_000)]
        callbacks: u64,
        /// Where to write the histogram.
        #[arg(long, default_value = "dsp_time.hdr")]
        out: PathBuf,
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
    // Only the commands that keep what is done on Ctrl-C take the signal; the others end at once.
    if matches!(cmd, Command::Run { .. } | Command::Sweep { .. } | Command::Shrink { .. } | Command::Explore { .. }) {
        crate::interrupt::install();
    }
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
        Command::Bench { scenario, repeat, duration, reference, no_device } => {
            bench(scenario.as_deref(), repeat, duration, reference, no_device)
        }
        Command::Calibrate { scenario, frames, rate, callbacks, out } => {
            calibrate(&scenario, frames, rate, callbacks, &out)
        }
        Command::Sweep { scenario, seeds, jobs, shard, out, quiet } => sweep(&scenario, seeds, jobs, shard, out, quiet),
        Command::Shrink { scenario, seed, jobs, objectives, out, quiet } => {
            shrink::shrink(&scenario, seed, jobs, objectives, out, quiet)
        }
        Command::Explore { scenario, budget, jobs, out, quiet } => shrink::explore(&scenario, budget, jobs, out, quiet),
        Command::Merge { dirs, out } => {
            let s = crate::sweep::merge(&dirs, &out)?;
            write_stdout(&sweep_text(&s, &out))?;
            // Seeds an interrupted shard did not run did not pass either.
            Ok(if s.failed == 0 && s.incomplete.is_none() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Compare(args) => compare::compare(args),
    }
}

fn calibrate(path: &Path, frames: Option<u32>, rate: Option<u32>, callbacks: u64, out: &Path) -> Result<ExitCode> {
    let sc = Scenario::load(path)?;
    let Some(d) = sc.device.as_ref() else {
        anyhow::bail!("{}: calibrate measures the audio path: the scenario has no [device] section", path.display());
    };
    let (frames, rate) = (frames.unwrap_or(d.frames), rate.unwrap_or(d.rate_hz));
    if frames == 0 || rate == 0 || callbacks == 0 {
        anyhow::bail!("--frames, --rate and --callbacks must be positive");
    }
    let c = crate::live::calibrate::calibrate(&sc, sc.seed, frames, rate, callbacks)
        .expect("invariant: the scenario has a device");
    std::fs::write(out, crate::report::latency_hdr(&c.histogram))
        .with_context(|| format!("cannot write `{}`", out.display()))?;
    let h = &c.histogram;
    let us = |v: u64| v as f64 / 1e3;
    write_stdout(&format!(
        "calibrated {}: {} callbacks of {} frames at {} Hz (period {:.3} ms)\n  time per callback µs: mean {:.1} p50 {:.1} p99 {:.1} max {:.1}; DSP load p99 {:.2}% of the period\n  wrote {}: use it with dsp_time = {{ dist = \"empirical\", file = \"{}\" }}\n",
        sc.name,
        h.len(),
        frames,
        rate,
        c.period_ns as f64 / 1e6,
        h.mean() / 1e3,
        us(h.value_at_quantile(0.5)),
        us(h.value_at_quantile(0.99)),
        us(h.max()),
        h.value_at_quantile(0.99) as f64 / c.period_ns as f64 * 100.0,
        out.display(),
        out.display()
    ))?;
    Ok(ExitCode::SUCCESS)
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
    Bundle::of_run(sc, output, &summary)?
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
    if summary.ended == crate::model::summary::Ended::Interrupted {
        eprintln!(
            "interrupted at {:.1} simulated s: the reports in `{}` cover the run up to then",
            summary.simulated_s,
            out_dir.display()
        );
        return Ok(ExitCode::from(crate::interrupt::EXIT_CODE));
    }
    if summary.verdict == Verdict::Fail {
        eprintln!("note: rerun with `ag06-lab run {} --seed {}`", path.display(), seed);
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
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
    if s.incomplete.is_some() {
        return Ok(ExitCode::from(crate::interrupt::EXIT_CODE));
    }
    Ok(if s.failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    humantime::parse_duration(s).map(SimDuration::from).map_err(|e| format!("invalid duration \"{s}\": {e}"))
}
