//! `ag06-lab compare`: the release gate, and its seed planner.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::write_stdout;
use crate::compare::{Comparison, GateVerdict, Margin, MarginOverride, Options, Plan, Role, Test, Verdict};
use crate::report::Bundle;

/// What makes `compare` exit 1.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A fail verdict (the default): a critical figure regressed, or the score fell below fail_score.
    Fail,
    /// A marginal verdict too: any figure that can fail the gate regressed.
    Marginal,
}

/// The arguments of `ag06-lab compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline directory (the last release's sweep).
    #[arg(required_unless_present = "plan")]
    baseline: Option<PathBuf>,
    /// The candidate directory (this release's sweep; its scenario's [gate] is the one applied).
    #[arg(required_unless_present = "plan")]
    candidate: Option<PathBuf>,
    /// Family-wise significance level: the chance that the gate flags a regression when no figure moved
    /// beyond its margin is at most this.
    #[arg(long, default_value_t = 0.01)]
    alpha: f64,
    /// Statistical test.
    #[arg(long, value_enum, default_value_t = Test::Welch)]
    test: Test,
    /// A margin for the figures matching PATTERN (all figures without one), stronger than the
    /// scenario's [gate]: "latency_ms.*=5%", "availability=0.001", "3%". Repeatable.
    #[arg(long = "margin", value_name = "[PATTERN=]MARGIN")]
    margins: Vec<MarginOverride>,
    /// The verdict from which on compare exits 1.
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    fail_on: FailOn,
    /// Output directory for compare.json, junit.xml and report.html [default: reports/compare].
    #[arg(long, conflicts_with = "plan")]
    out: Option<PathBuf>,
    /// Plan instead: how many seeds a side catch a worse change of --detect in each gated figure, from
    /// the spread of this baseline sweep.
    #[arg(long, value_name = "BASELINE_SWEEP", conflicts_with_all = ["baseline", "candidate"])]
    plan: Option<PathBuf>,
    /// With --plan: the worse change to catch, a share of the baseline ("5%") or in the figures' units.
    #[arg(long, requires = "plan", default_value = "5%")]
    detect: Margin,
    /// With --plan: the chance of catching it.
    #[arg(long, requires = "plan", default_value_t = 0.9)]
    power: f64,
    /// With --plan: print the plan as JSON.
    #[arg(long, requires = "plan")]
    json: bool,
    /// A simulated and a live run: the simulation's xruns may differ from live's by this share (or by
    /// 2 sqrt(live), a count's Poisson noise, if larger).
    #[arg(long, default_value_t = 0.25, value_name = "SHARE")]
    xruns_tolerance: f64,
    /// A simulated and a live run: likewise for xruns + missing, and the per-window overlap of the lost
    /// periods may fall short of 1 by this much.
    #[arg(long, default_value_t = 0.15, value_name = "SHARE")]
    lost_tolerance: f64,
}

/// Runs `ag06-lab compare`.
pub(crate) fn compare(args: CompareArgs) -> Result<ExitCode> {
    if !(args.alpha > 0.0 && args.alpha < 0.5) {
        bail!("--alpha {}: expected a significance level above 0 and below 0.5, e.g. 0.01", args.alpha);
    }
    let options = Options { test: args.test, alpha: args.alpha, margins: args.margins.clone() };
    if let Some(base) = &args.plan {
        if !(args.power > 0.0 && args.power < 1.0) {
            bail!("--power {}: expected a probability above 0 and below 1, e.g. 0.9", args.power);
        }
        let p = crate::compare::plan(base, args.detect, args.power, &options)?;
        let text = if args.json {
            format!("{}\n", serde_json::to_string_pretty(&p).expect("invariant: the plan serializes"))
        } else {
            plan_text(&p)
        };
        write_stdout(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(baseline), Some(candidate)) = (&args.baseline, &args.candidate) else {
        bail!("compare needs a baseline and a candidate directory (or --plan BASELINE_SWEEP)");
    };
    if let Some((sim, live)) = crate::compare::prediction::pair(baseline, candidate)? {
        return predict(&args, &sim, &live);
    }
    let c = crate::compare::compare(baseline, candidate, &options)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("reports").join("compare"));
    write(&c, baseline, candidate, &out)?;
    write_stdout(&text(&c, &out))?;
    let fails = match args.fail_on {
        FailOn::Fail => c.gate == GateVerdict::Fail,
        FailOn::Marginal => c.gate != GateVerdict::Pass,
    };
    if c.gate == GateVerdict::Marginal && !fails {
        eprintln!("warning: the gate is marginal: {} (exit 0; --fail-on marginal makes it exit 1)", c.reason);
    }
    Ok(if fails { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// A simulated run against a live run of the same scenario: did the simulation predict it? Exit 0 when
/// it did, 1 when not.
fn predict(args: &CompareArgs, sim: &Path, live: &Path) -> Result<ExitCode> {
    use crate::compare::prediction::{Tolerances, cases, predict};
    use crate::model::prediction::PredictionVerdict;
    for (name, v) in [("--xruns-tolerance", args.xruns_tolerance), ("--lost-tolerance", args.lost_tolerance)] {
        if !(v > 0.0 && v < 1.0) {
            bail!("{name} {v}: expected a share above 0 and below 1, e.g. 0.25");
        }
    }
    let tol = Tolerances { xruns: args.xruns_tolerance, lost: args.lost_tolerance, when: args.lost_tolerance };
    let p = predict(sim, live, tol)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("reports").join("prediction"));
    let mut json = serde_json::to_vec_pretty(&p).expect("invariant: the prediction serializes");
    json.push(b'\n');
    let junit = crate::report::junit::render("prediction", &cases(&p));
    let html = crate::report::html::prediction::prediction_page(Some(&json)).context("failed to render report.html")?;
    let files = vec![("prediction.json", json), ("junit.xml", junit), ("report.html", html.into_bytes())];
    Bundle::of(files).write_to_marked(&out, "prediction.json").context("failed to write the comparison")?;
    let mut t = format!("prediction: {} — {}\n", p.verdict.name().to_uppercase(), p.reason);
    for c in &p.checks {
        let _ = writeln!(
            t,
            "  {:<16} simulated {:>10} live {:>10} allowed {:>10}  {}  {}",
            c.figure.name(),
            sig(c.simulated),
            sig(c.live),
            sig(c.allowed),
            if c.holds { "holds" } else { "FAILS" },
            c.test
        );
    }
    let _ = writeln!(t, "  {} windows compared; report in {}", p.windows.len(), out.display());
    write_stdout(&t)?;
    Ok(if p.verdict == PredictionVerdict::Predicted { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn sig(x: f64) -> String {
    crate::compare::stats_fmt(x)
}

fn write(c: &Comparison, baseline: &Path, candidate: &Path, out: &Path) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(c).expect("invariant: the comparison serializes");
    json.push(b'\n');
    let junit = crate::report::junit::render("compare", &crate::compare::cases(c));
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
    Bundle::of(files).write_to_marked(out, "compare.json").context("failed to write the comparison")?;
    Ok(())
}

/// The terminal summary: the verdict first, then the figures that moved.
fn text(c: &Comparison, out: &Path) -> String {
    use crate::compare::stats_fmt as sig;
    let mut t = format!("gate: {} — {}\n", c.gate.name().to_uppercase(), c.reason);
    let _ = writeln!(
        t,
        "  {} vs {} ({} values, {} test, family-wise alpha {}, {} gated figures, score {:.1}, fails below {})",
        c.baseline, c.candidate, c.samples, c.test, c.alpha, c.family, c.score, c.fail_score
    );
    for f in &c.figures {
        if !matches!(f.verdict, Verdict::Regression | Verdict::Improvement | Verdict::Changed) {
            continue;
        }
        let change = f.rel_diff.map(|r| format!("{:+.2}%", r * 100.0)).unwrap_or_else(|| sig(f.diff));
        let _ = writeln!(
            t,
            "  {:<12} {:<9} {:<44} {:>12} -> {:<12} {change:>9}  {}",
            f.verdict.name(),
            f.role.name(),
            f.figure,
            sig(f.baseline),
            sig(f.candidate),
            f.reason
        );
    }
    let count = |v: Verdict| c.figures.iter().filter(|f| f.verdict == v).count();
    let _ = writeln!(
        t,
        "  {} figures: {} regressions ({} critical), {} improvements, {} within their margins, {} inconclusive, {} reported only; comparison in {}",
        c.figures.len(),
        c.regressions,
        c.critical_regressions,
        c.improvements,
        count(Verdict::WithinMargin),
        count(Verdict::Inconclusive),
        c.figures.iter().filter(|f| f.role == Role::Reported).count(),
        out.display()
    );
    t
}

fn plan_text(p: &Plan) -> String {
    use crate::compare::stats_fmt as sig;
    let mut t = format!(
        "plan from {} ({} seeds): catch a worse change of {} in each gated figure with {:.0}% probability, family-wise alpha {} over {} figures\n",
        p.baseline,
        p.baseline_seeds,
        p.detect,
        p.power * 100.0,
        p.alpha,
        p.family
    );
    let _ = writeln!(
        t,
        "  {:<9} {:<44} {:>12} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "role", "figure", "mean", "sd", "sd planned", "margin", "change", "seeds"
    );
    for f in &p.figures {
        let seeds = f.seeds.map(|n| n.to_string()).unwrap_or_else(|| "never".into());
        let _ = write!(
            t,
            "  {:<9} {:<44} {:>12} {:>12} {:>12} {:>12} {:>12} {seeds:>8}",
            f.role.name(),
            f.figure,
            sig(f.mean),
            sig(f.sd),
            sig(f.sd_planned),
            sig(f.margin_abs),
            sig(f.change)
        );
        if let Some(r) = &f.reason {
            let _ = write!(t, "  ({r})");
        }
        t.push('\n');
    }
    let never = p.figures.iter().filter(|f| f.seeds.is_none()).count();
    let n = |s: Option<usize>| s.map(|n| n.to_string()).unwrap_or_else(|| "no seed count".into());
    let _ = writeln!(
        t,
        "  seeds a side: {} to catch it in every critical figure, {} in every gated figure{}",
        n(p.seeds_critical),
        n(p.seeds_all),
        if never > 0 { format!(" ({never} figures never: see above)") } else { String::new() }
    );
    t
}
