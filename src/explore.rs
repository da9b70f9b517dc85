//! `ag06-lab explore`: random fault schedules drawn from the scenario's `[explore]` fault space (swarm
//! testing, as FoundationDB's simulation does), each a seeded, reproducible scenario file; the ones that
//! break an objective or a probe are ranked (fewest faults, then shortest total fault time) and the best
//! are shrunk with [`crate::shrink`].
//!
//! A schedule replaces the scenario's own `[[chaos]]` entries: explore asks what else could break it.
//! Schedule k draws from the stream `explore/k` of the schedule seed, so it is the same whatever the budget
//! and `--jobs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use rand::RngExt;
use rayon::prelude::*;
use toml_edit::{DocumentMut, Item, Table};

use crate::model::explore::{BrokenCount, DrawnFault, EXPLORE_SCHEMA, ExploreReport, ExploredSchedule, Reproducer};
use crate::model::shrink::{Failure, ShrinkReport};
use crate::scenario::Scenario;
use crate::scenario::raw::explore::{RawExplore, RawExploreFault};
use crate::scenario::raw::{FaultKind, ModeName, RawScenario};
use crate::shrink::{dur_text, sig};
use crate::sim::{SimDuration, stream};

/// At most this many failing schedules are shrunk: the best of each distinct set of failures.
pub const REPRODUCERS: usize = 3;

/// What `explore` found.
pub struct Explored {
    /// `explore.json`.
    pub report: ExploreReport,
    /// Files for the output directory: each reproducer's drawn schedule, minimal scenario and shrink.
    pub files: Vec<(String, Vec<u8>)>,
    /// The shrinks of the reproducers.
    pub shrinks: Vec<ShrinkReport>,
}

/// The key and range of a kind's intensity.
enum Intensity<'a> {
    Duration(&'static str, &'a [crate::scenario::raw::Dur; 2]),
    Number(&'static str, &'a [f64; 2]),
}

fn intensity(f: &RawExploreFault) -> Option<Intensity<'_>> {
    use FaultKind as K;
    match f.fault {
        K::Errors | K::XrunStorm => f.rate.as_ref().map(|r| Intensity::Number("rate", r)),
        K::Latency => f.add.as_ref().map(|r| Intensity::Duration("add", r)),
        K::LoadSpike => f.multiplier.as_ref().map(|r| Intensity::Number("multiplier", r)),
        K::CpuStall => match (&f.add, &f.factor) {
            (Some(r), _) => Some(Intensity::Duration("add", r)),
            (None, Some(r)) => Some(Intensity::Number("factor", r)),
            _ => None,
        },
        K::ClockDrift => f.ppm.as_ref().map(|r| Intensity::Number("ppm", r)),
        K::Clipping => f.gain_db.as_ref().map(|r| Intensity::Number("gain_db", r)),
        _ => None,
    }
}

/// The intensity key a kind needs, if any.
fn needs(kind: FaultKind) -> Option<&'static str> {
    use FaultKind as K;
    match kind {
        K::Errors | K::XrunStorm => Some("rate"),
        K::Latency => Some("add"),
        K::LoadSpike => Some("multiplier"),
        K::CpuStall => Some("add` or `factor"),
        K::ClockDrift => Some("ppm"),
        K::Clipping => Some("gain_db"),
        _ => None,
    }
}

/// Checks the `[explore]` section of `shown`: errors name the TOML path.
fn check(shown: &str, e: &RawExplore) -> Result<()> {
    let mut errs = Vec::new();
    if e.max_faults == Some(0) {
        errs.push("explore.max_faults: 0: expected at least 1".to_string());
    }
    if e.faults.is_empty() {
        errs.push("explore.faults: empty: declare at least one kind of fault to draw".to_string());
    }
    for (i, f) in e.faults.iter().enumerate() {
        let p = format!("explore.faults[{i}]");
        let ordered = |key: &str, lo: f64, hi: f64, errs: &mut Vec<String>| {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                errs.push(format!("{p}.{key}: [{lo}, {hi}]: expected [min, max] with min <= max"));
            }
        };
        ordered("start", f.start[0].0.as_secs_f64(), f.start[1].0.as_secs_f64(), &mut errs);
        if let Some(r) = &f.for_ {
            ordered("for", r[0].0.as_secs_f64(), r[1].0.as_secs_f64(), &mut errs);
        } else if !matches!(f.fault, FaultKind::Kill | FaultKind::Stop | FaultKind::Panic) {
            errs.push(format!("{p}.for: missing: a {} fault needs a range, e.g. for = [\"10s\", \"1m\"]", f.fault));
        }
        match (intensity(f), needs(f.fault)) {
            (Some(Intensity::Duration(k, r)), _) => ordered(k, r[0].0.as_secs_f64(), r[1].0.as_secs_f64(), &mut errs),
            (Some(Intensity::Number(k, r)), _) => ordered(k, r[0], r[1], &mut errs),
            (None, Some(k)) => errs.push(format!("{p}: a {} fault needs a range of `{k}`", f.fault)),
            (None, None) => {}
        }
        if f.fault == FaultKind::SampleRateMismatch {
            errs.push(format!("{p}.fault: explore does not draw sample-rate-mismatch (it has no range to draw)"));
        }
    }
    if errs.is_empty() {
        return Ok(());
    }
    bail!("{shown}: {}", errs.join("\n"))
}

/// The `[[chaos]]` table of fault `j` of a schedule: `f` with its draws.
fn table(j: usize, f: &RawExploreFault, rng: &mut crate::sim::SimRng) -> (Table, DrawnFault) {
    let mut u = || rng.random::<f64>();
    let lerp_ms = |r: &[crate::scenario::raw::Dur; 2], u: f64| -> u64 {
        let (a, b) = (r[0].0.as_nanos() as f64 / 1e6, r[1].0.as_nanos() as f64 / 1e6);
        sig(a + (b - a) * u, 2).round().max(0.0) as u64
    };
    let name = format!("{} {} #{}", f.fault, f.target, j + 1);
    let mut t = Table::new();
    t.insert("name", toml_edit::value(name.clone()));
    t.insert("fault", toml_edit::value(f.fault.name()));
    t.insert("target", toml_edit::value(f.target.clone()));
    // A glob or a tag may match several services: each fault hits one of them unless asked for all.
    let several = f.target.starts_with("tag:") || f.target.contains(['*', '?', '[']);
    if several && f.mode.unwrap_or(ModeName::One) == ModeName::One {
        t.insert("mode", toml_edit::value("one"));
    }
    let at = lerp_ms(&f.start, u());
    t.insert("at", toml_edit::value(dur_text(at)));
    let for_ms = f.for_.as_ref().map(|r| lerp_ms(r, u()).max(1));
    if let Some(ms) = for_ms {
        t.insert("for", toml_edit::value(dur_text(ms)));
    }
    let drawn = match intensity(f) {
        Some(Intensity::Duration(k, r)) => {
            let ms = lerp_ms(r, u()).max(1);
            t.insert(k, toml_edit::value(dur_text(ms)));
            Some(format!("{k} = \"{}\"", dur_text(ms)))
        }
        Some(Intensity::Number(k, r)) => {
            let v = ((r[0] + sig((r[1] - r[0]) * u(), 2)) * 1e6).round() / 1e6;
            t.insert(k, toml_edit::value(v));
            Some(format!("{k} = {v}"))
        }
        None => None,
    };
    if let Some(to) = &f.to {
        t.insert("to", toml_edit::value(to.clone()));
    }
    let d = DrawnFault {
        name,
        fault: f.fault,
        target: f.target.clone(),
        at_s: at as f64 / 1e3,
        for_s: for_ms.map(|ms| ms as f64 / 1e3),
        intensity: drawn,
    };
    (t, d)
}

/// Schedule `k`: its text and its faults.
fn schedule(base: &DocumentMut, e: &RawExplore, seed: u64, k: usize) -> (String, Vec<DrawnFault>) {
    let mut rng = stream(seed, &format!("explore/{k}"));
    let max = e.max_faults.unwrap_or(3).max(1) as usize;
    let n = 1 + ((rng.random::<f64>() * max as f64) as usize).min(max - 1);
    let mut tables = toml_edit::ArrayOfTables::new();
    let mut drawn = Vec::new();
    for j in 0..n {
        let i = ((rng.random::<f64>() * e.faults.len() as f64) as usize).min(e.faults.len() - 1);
        let (t, d) = table(j, &e.faults[i], &mut rng);
        tables.push(t);
        drawn.push(d);
    }
    let mut doc = base.clone();
    doc.insert("chaos", Item::ArrayOfTables(tables));
    let header = format!("# Fault schedule {k} drawn by `ag06-lab explore` (schedule seed {seed}).\n");
    (header + &doc.to_string(), drawn)
}

/// Explores `path` (its text `text`) with `budget` schedules, `jobs` runs at a time; `on_run` hears the
/// runs made so far.
pub fn explore(
    path: &Path,
    text: &str,
    budget: usize,
    jobs: usize,
    on_run: &(dyn Fn(usize) + Sync),
) -> Result<Explored> {
    let shown = path.display().to_string();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
    let sc = Scenario::from_toml(text, &shown, &stem)?;
    let raw: RawScenario = toml::from_str(text).with_context(|| format!("cannot parse `{shown}`"))?;
    let Some(e) = raw.explore else {
        bail!(
            "{shown} has no [explore] section: declare the fault space to draw from, e.g.\n[explore]\nmax_faults = 2\n[[explore.faults]]\nfault = \"latency\"\ntarget = \"api\"\nstart = [\"30s\", \"5m\"]\nfor = [\"10s\", \"1m\"]\nadd = [\"5ms\", \"50ms\"]"
        );
    };
    check(&shown, &e)?;
    if budget == 0 {
        bail!("--budget 0: expected at least 1 schedule");
    }
    let mut base: DocumentMut = text.parse().with_context(|| format!("cannot parse `{shown}` as TOML"))?;
    base.remove("chaos");
    base.remove("explore");
    let schedule_seed = e.seed.unwrap_or(sc.seed);
    let seed = sc.seed;
    // Every kind of the space once at its ranges' lower ends, once at their upper ends: the targets,
    // starts and values are checked as `[[chaos]]` would check them, the errors named by their place in
    // [explore]. (Every draw lies between the two.)
    for end in [0, 1] {
        let mut probe = base.clone();
        let mut tables = toml_edit::ArrayOfTables::new();
        for (j, f) in e.faults.iter().enumerate() {
            let pin = |r: [crate::scenario::raw::Dur; 2]| [r[end], r[end]];
            let pin_n = |r: [f64; 2]| [r[end], r[end]];
            let mut at_end = f.clone();
            at_end.start = pin(f.start);
            at_end.for_ = f.for_.map(pin);
            at_end.add = f.add.map(pin);
            at_end.rate = f.rate.map(pin_n);
            at_end.multiplier = f.multiplier.map(pin_n);
            at_end.factor = f.factor.map(pin_n);
            at_end.ppm = f.ppm.map(pin_n);
            at_end.gain_db = f.gain_db.map(pin_n);
            let mut rng = stream(0, "explore/probe");
            tables.push(table(j, &at_end, &mut rng).0);
        }
        probe.insert("chaos", Item::ArrayOfTables(tables));
        if let Err(err) = Scenario::from_toml(&probe.to_string(), &shown, &stem) {
            let mut msg = err.to_string();
            for j in 0..e.faults.len() {
                msg = msg.replace(&format!("chaos[{j}]"), &format!("explore.faults[{j}]"));
            }
            let which = if end == 0 { "lower" } else { "upper" };
            bail!("{msg}\n(checked at the {which} ends of the ranges in [explore])");
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .context("cannot start the explore's worker threads")?;
    let drawn: Vec<(String, Vec<DrawnFault>)> = (0..budget).map(|k| schedule(&base, &e, schedule_seed, k)).collect();
    let done = AtomicUsize::new(0);
    let results: Vec<Result<Option<crate::model::shrink::RunFigures>>> = pool.install(|| {
        drawn
            .par_iter()
            .map(|(text, _)| {
                if crate::interrupt::requested() {
                    return Ok(None);
                }
                let (figures, interrupted) = crate::shrink::run_text(text, &shown, &stem, seed)?;
                if interrupted {
                    return Ok(None);
                }
                on_run(done.fetch_add(1, Ordering::Relaxed) + 1);
                Ok(Some(figures))
            })
            .collect()
    });
    let mut schedules = Vec::new();
    let mut incomplete = false;
    for (k, (r, (_, faults))) in results.into_iter().zip(&drawn).enumerate() {
        match r? {
            Some(figures) => schedules.push(ExploredSchedule {
                index: k,
                fault_time_s: faults.iter().filter_map(|f| f.for_s).sum(),
                faults: faults.clone(),
                fails: !figures.failed.is_empty(),
                figures,
            }),
            None => incomplete = true,
        }
    }
    let mut ranked: Vec<&ExploredSchedule> = schedules.iter().filter(|s| s.fails).collect();
    ranked.sort_by(|a, b| {
        (a.faults.len(), a.fault_time_s, a.index)
            .partial_cmp(&(b.faults.len(), b.fault_time_s, b.index))
            .expect("finite")
    });
    let mut broken: BTreeMap<&Failure, usize> = BTreeMap::new();
    for s in &ranked {
        for f in &s.figures.failed {
            *broken.entry(f).or_default() += 1;
        }
    }
    let mut broken: Vec<BrokenCount> =
        broken.into_iter().map(|(failure, n)| BrokenCount { failure: failure.clone(), schedules: n }).collect();
    broken.sort_by(|a, b| b.schedules.cmp(&a.schedules).then(a.failure.cmp(&b.failure)));
    // The best schedule of each distinct set of failures, shrunk.
    let mut reproducers = Vec::new();
    let mut files = Vec::new();
    let mut shrinks = Vec::new();
    let mut seen: Vec<&Vec<Failure>> = Vec::new();
    for s in &ranked {
        if reproducers.len() == REPRODUCERS || incomplete || crate::interrupt::requested() {
            break;
        }
        if seen.contains(&&s.figures.failed) {
            continue;
        }
        seen.push(&s.figures.failed);
        let text = &drawn[s.index].0;
        let opts = crate::shrink::Options { seed: Some(seed), jobs, objectives: Vec::new() };
        let shrunk = crate::shrink::shrink(path, text, &opts, Box::new(|_| {}))?;
        if shrunk.report.incomplete {
            incomplete = true;
        }
        let n = reproducers.len() + 1;
        let (sf, mf, jf) = (
            format!("reproducers/{n}-schedule.toml"),
            format!("reproducers/{n}-minimal.toml"),
            format!("reproducers/{n}-shrink.json"),
        );
        files.push((sf.clone(), text.clone().into_bytes()));
        files.push((mf.clone(), crate::shrink::minimal_file(&shrunk.report, &shrunk.minimal).into_bytes()));
        let mut json = serde_json::to_vec_pretty(&shrunk.report).expect("invariant: the report serializes");
        json.push(b'\n');
        files.push((jf.clone(), json));
        reproducers.push(Reproducer {
            schedule: s.index,
            breaks: s.figures.failed.clone(),
            kept: shrunk.report.faults.iter().filter(|f| f.kept).map(|f| f.name.clone()).collect(),
            schedule_file: sf,
            minimal_file: mf,
            shrink_file: jf,
        });
        shrinks.push(shrunk.report);
    }
    let kinds: Vec<String> = e.faults.iter().map(|f| format!("{} on {}", f.fault, f.target)).collect();
    let starts = e.faults.iter().map(|f| f.start[0].0).min().unwrap_or(SimDuration::ZERO);
    let ends = e.faults.iter().map(|f| f.start[1].0).max().unwrap_or(SimDuration::ZERO);
    let covered = format!(
        "{} of {budget} schedules of 1 to {} faults drawn from {} kinds ({}), starting between {starts} and {ends}, schedule seed {schedule_seed}, run seed {seed}",
        schedules.len(),
        e.max_faults.unwrap_or(3).max(1),
        e.faults.len(),
        kinds.join(", ")
    );
    let report = ExploreReport {
        schema_version: EXPLORE_SCHEMA,
        scenario: sc.name.clone(),
        scenario_file: shown,
        seed,
        schedule_seed,
        budget,
        covered,
        incomplete,
        failures: ranked.len(),
        broken,
        ranked: ranked.iter().map(|s| s.index).collect(),
        reproducers,
        schedules: schedules.clone(),
    };
    Ok(Explored { report, files, shrinks })
}
