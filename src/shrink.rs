//! `ag06-lab shrink`: the smallest experiment that still fails.
//!
//! Delta debugging (ddmin, Zeller & Hildebrandt 2002) over the scenario's `[[chaos]]` entries finds a
//! 1-minimal subset that still fails the way the original did (removing any one kept fault makes it
//! pass); then each kept fault is made milder while the scenario still fails: a shorter `for`, a weaker
//! intensity (`rate`, `add`, `multiplier`, `factor`, `ppm`, `gain_db`), fewer occurrences of an `every`
//! schedule (`count`).
//!
//! Every candidate is a scenario file: the original text (comments kept, via toml_edit) without the
//! removed entries and with the changed keys, parsed and run exactly as `ag06-lab run` would, at the same
//! seed. So `minimal.toml` fails as written, and a candidate met twice is run once (the cache is keyed by
//! the text). Candidates are tried in batches of a fixed size, whatever `--jobs` is, and the first failing
//! one in batch order wins: the result does not depend on `--jobs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use toml_edit::{DocumentMut, Item};

use crate::model::shrink::{
    Failure, FailureKind, RunFigures, SHRINK_SCHEMA, ShrinkFault, ShrinkPhase, ShrinkReport, ShrinkStep, ShrunkKey,
    list,
};
use crate::model::summary::{Mode, Summary};
use crate::scenario::chaos::Schedule;
use crate::scenario::{FaultEffect, Scenario};
use crate::sim::{Ending, SimDuration};

/// What `shrink` holds on to and how it runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The seed (default: the scenario's).
    pub seed: Option<u64>,
    /// Runs at once.
    pub jobs: usize,
    /// The objectives or probes that must keep failing (default: every one that failed originally).
    pub objectives: Vec<String>,
}

/// Points tried per round of a parameter's search, and rounds: each round narrows the interval between
/// the mildest value known to pass and the mildest known to fail to a fifth.
const POINTS: usize = 4;
const ROUNDS: usize = 3;

/// A parameter of a fault that can be made milder, as a position `t` between its mildest value (`t = 0`,
/// excluded: the fault would do nothing) and its original (`t = 1`).
#[derive(Clone, Copy, Debug)]
enum Param {
    /// A duration key (`for`, `add`), down to 1 ms.
    Duration { key: &'static str, original: SimDuration },
    /// A number moved towards `mildest` (`rate` to 0, `multiplier`/`factor` to 1, `ppm`/`gain_db` to 0).
    Number { key: &'static str, original: f64, mildest: f64 },
    /// `count` of an `every` schedule, down to 1.
    Count { original: u32 },
}

impl Param {
    fn key(self) -> &'static str {
        match self {
            Param::Duration { key, .. } | Param::Number { key, .. } => key,
            Param::Count { .. } => "count",
        }
    }

    /// The value at position `t` in (0, 1], as TOML and as text; `None` when it rounds to the mildest.
    fn at(self, t: f64) -> Option<Value> {
        match self {
            Param::Duration { original, .. } => {
                // Two significant digits: 30 s, not 30.24 s (the value tried is the value written).
                let ms = sig(original.as_nanos() as f64 * t / 1e6, 2).round() as u64;
                (ms >= 1).then_some(Value::Duration(ms))
            }
            Param::Number { original, mildest, .. } => {
                let v = ((mildest + sig((original - mildest) * t, 2)) * 1e6).round() / 1e6;
                (v != mildest).then_some(Value::Number(v))
            }
            Param::Count { original } => {
                let n = (f64::from(original) * t).round() as u32;
                (n >= 1).then_some(Value::Count(n))
            }
        }
    }

    fn original(self) -> Value {
        match self {
            Param::Duration { original, .. } => Value::Duration((original.as_nanos() / 1_000_000).max(1)),
            Param::Number { original, .. } => Value::Number(original),
            Param::Count { original } => Value::Count(original),
        }
    }
}

/// A value written into a candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    /// Milliseconds.
    Duration(u64),
    Number(f64),
    Count(u32),
}

impl Value {
    fn item(self) -> Item {
        match self {
            Value::Duration(ms) => toml_edit::value(dur_text(ms)),
            Value::Number(v) => toml_edit::value(v),
            Value::Count(n) => toml_edit::value(i64::from(n)),
        }
    }

    fn text(self) -> String {
        match self {
            Value::Duration(ms) => dur_text(ms),
            Value::Number(v) => format!("{v}"),
            Value::Count(n) => n.to_string(),
        }
    }
}

/// `x` rounded to `digits` significant digits.
pub(crate) fn sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// Milliseconds as a humantime duration: whole seconds as `"90s"`, otherwise `"1500ms"`.
pub(crate) fn dur_text(ms: u64) -> String {
    if ms % 1000 == 0 { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

/// A candidate: which entries of `[[chaos]]` it keeps (indices, ascending) and what it changed in them.
#[derive(Clone, Debug, Default)]
struct Candidate {
    keep: Vec<usize>,
    edits: BTreeMap<usize, BTreeMap<&'static str, Value>>,
}

/// A run's result as the search sees it.
#[derive(Clone, Debug)]
struct Outcome {
    figures: RunFigures,
    interrupted: bool,
}

/// What a step of the search tried.
struct Try {
    phase: ShrinkPhase,
    cand: Candidate,
    change: Option<String>,
}

struct Shrinker {
    path: String,
    stem: String,
    doc: DocumentMut,
    names: Vec<String>,
    seed: u64,
    holds: Vec<Failure>,
    pool: rayon::ThreadPool,
    cache: Mutex<HashMap<String, Outcome>>,
    steps: Vec<ShrinkStep>,
    on_run: Box<dyn Fn(usize) + Sync>,
    runs: std::sync::atomic::AtomicUsize,
    interrupted: bool,
}

/// The figures and failures of `summary`.
pub fn figures(summary: &Summary) -> RunFigures {
    let failure = |kind, name: &str| Failure { kind, name: name.to_string() };
    let mut failed: Vec<Failure> =
        summary.slos.iter().filter(|s| !s.met).map(|s| failure(FailureKind::Objective, &s.name)).collect();
    if let Some(h) = &summary.hypothesis {
        let deviated = h.probes.iter().filter(|p| p.phases.iter().any(|c| !c.ok));
        failed.extend(deviated.map(|p| failure(FailureKind::Probe, &p.name)));
    }
    let r = &summary.requests.counts;
    RunFigures {
        failed,
        availability: (r.requests > 0).then(|| r.ok as f64 / r.requests as f64),
        p99_ms: (r.ok > 0).then_some(summary.latency_ms.p99),
        audio_lost: summary.audio.as_ref().map(|a| a.xruns + a.missing),
    }
}

/// Runs the scenario `text` (read as if it were the file `path`, with `stem`) at `seed`: its figures, and
/// whether it was interrupted.
pub fn run_text(text: &str, path: &str, stem: &str, seed: u64) -> Result<(RunFigures, bool)> {
    let sc = Scenario::from_toml(text, path, stem)
        .map_err(|e| anyhow::anyhow!("a generated scenario is not valid (a bug: please report it): {e}"))?;
    let started = std::time::Instant::now();
    let output = crate::run::simulate(&sc, seed, None)?;
    let summary = Summary::new(&sc, &output, Mode::Simulated, started.elapsed().as_secs_f64());
    Ok((figures(&summary), output.ending == Ending::Interrupted))
}

impl Shrinker {
    /// The text of `cand`: the original without the removed entries, with its changes.
    fn render(&self, cand: &Candidate) -> String {
        let mut doc = self.doc.clone();
        if let Some(Item::ArrayOfTables(all)) = doc.get("chaos").cloned() {
            let mut kept = toml_edit::ArrayOfTables::new();
            for (i, t) in all.iter().enumerate() {
                if cand.keep.binary_search(&i).is_ok() {
                    let mut t = t.clone();
                    for (key, v) in cand.edits.get(&i).into_iter().flatten() {
                        t.insert(key, v.item());
                    }
                    kept.push(t);
                }
            }
            if kept.is_empty() {
                doc.remove("chaos");
            } else {
                doc.insert("chaos", Item::ArrayOfTables(kept));
            }
        }
        doc.to_string()
    }

    /// Runs `text` (or finds it in the cache): its figures, and whether it was cached.
    fn run(&self, text: &str) -> Result<(Outcome, bool)> {
        if let Some(o) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(text) {
            return Ok((o.clone(), true));
        }
        let (figures, interrupted) = run_text(text, &self.path, &self.stem, self.seed)?;
        let o = Outcome { figures, interrupted };
        if !o.interrupted {
            self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(text.to_string(), o.clone());
            let n = self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            (self.on_run)(n);
        }
        Ok((o, false))
    }

    fn fails(&self, f: &RunFigures) -> bool {
        self.holds.iter().all(|h| f.failed.contains(h))
    }

    /// Runs the tries in parallel, records them as steps in order, and returns which failed (the way the
    /// original did). Interrupted: records nothing and returns `None`.
    fn batch(&mut self, tries: Vec<Try>) -> Result<Option<Vec<bool>>> {
        if self.interrupted || crate::interrupt::requested() {
            self.interrupted = true;
            return Ok(None);
        }
        tracing::info!("shrink: trying {} candidates ({})", tries.len(), tries[0].phase.name());
        let texts: Vec<String> = tries.iter().map(|t| self.render(&t.cand)).collect();
        let this = &*self;
        let outcomes: Vec<Result<(Outcome, bool)>> =
            self.pool.install(|| texts.par_iter().map(|t| this.run(t)).collect());
        let mut done = Vec::with_capacity(tries.len());
        for o in outcomes {
            done.push(o?);
        }
        if done.iter().any(|(o, _)| o.interrupted) {
            self.interrupted = true;
            return Ok(None);
        }
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut verdicts = Vec::with_capacity(tries.len());
        for ((t, (o, cached)), text) in tries.into_iter().zip(done).zip(&texts) {
            // Within a batch, a repeated text is the cached one.
            let cached = cached || !seen.insert(text.as_str());
            let fails = self.fails(&o.figures);
            verdicts.push(fails);
            self.steps.push(ShrinkStep {
                step: self.steps.len() + 1,
                phase: t.phase,
                faults: t.cand.keep.iter().map(|&i| self.names[i].clone()).collect(),
                change: t.change,
                fails,
                cached,
                figures: o.figures,
            });
        }
        Ok(Some(verdicts))
    }

    /// ddmin over the faults of `start`: a 1-minimal subset that still fails (or the best so far when
    /// interrupted).
    fn ddmin(&mut self, start: Vec<usize>) -> Result<Vec<usize>> {
        let mut c = start;
        let mut n = 2usize;
        while c.len() >= 2 {
            let n_ = n.min(c.len());
            let chunks: Vec<Vec<usize>> = (0..n_)
                .map(|k| c[k * c.len() / n_..(k + 1) * c.len() / n_].to_vec())
                .filter(|ch| !ch.is_empty())
                .collect();
            let complements: Vec<Vec<usize>> =
                chunks.iter().map(|ch| c.iter().copied().filter(|i| !ch.contains(i)).collect()).collect();
            // Subsets first, then complements (with two chunks, each is the other's complement).
            let mut cands: Vec<Vec<usize>> = chunks.clone();
            if n_ > 2 {
                cands.extend(complements.iter().cloned());
            }
            let tries = cands
                .iter()
                .map(|keep| Try {
                    phase: ShrinkPhase::Ddmin,
                    cand: Candidate { keep: keep.clone(), edits: BTreeMap::new() },
                    change: None,
                })
                .collect();
            let Some(v) = self.batch(tries)? else { return Ok(c) };
            if let Some(k) = v.iter().position(|&f| f) {
                if k < chunks.len() {
                    c = chunks[k].clone();
                    n = 2;
                } else {
                    c = complements[k - chunks.len()].clone();
                    n = (n_ - 1).max(2);
                }
                continue;
            }
            if n_ >= c.len() {
                break;
            }
            n = (2 * n_).min(c.len());
        }
        Ok(c)
    }

    /// Makes each kept fault of `cand` milder, parameter by parameter, while it still fails.
    fn milder(&mut self, mut cand: Candidate, params: &BTreeMap<usize, Vec<Param>>) -> Result<Candidate> {
        for &i in &cand.keep.clone() {
            for &param in params.get(&i).into_iter().flatten() {
                // The mildest position known to pass (0: the fault off) and to fail (1: as it is).
                let (mut lo, mut hi) = (0.0f64, 1.0f64);
                for _ in 0..ROUNDS {
                    let mut points: Vec<(f64, Value)> = Vec::new();
                    for k in 1..=POINTS {
                        let t = lo + (hi - lo) * k as f64 / (POINTS + 1) as f64;
                        if let Some(v) = param.at(t) {
                            let current = cand.edits.get(&i).and_then(|e| e.get(param.key())).copied();
                            if Some(v) != current && v != param.original() && !points.iter().any(|p| p.1 == v) {
                                points.push((t, v));
                            }
                        }
                    }
                    if points.is_empty() {
                        break;
                    }
                    let tries = points
                        .iter()
                        .map(|&(_, v)| {
                            let mut c = cand.clone();
                            c.edits.entry(i).or_default().insert(param.key(), v);
                            let from = cand
                                .edits
                                .get(&i)
                                .and_then(|e| e.get(param.key()))
                                .copied()
                                .unwrap_or(param.original());
                            Try {
                                phase: ShrinkPhase::Milder,
                                cand: c,
                                change: Some(format!(
                                    "{}.{}: {} -> {}",
                                    self.names[i],
                                    param.key(),
                                    from.text(),
                                    v.text()
                                )),
                            }
                        })
                        .collect();
                    let Some(v) = self.batch(tries)? else { return Ok(cand) };
                    // The mildest failing point; the interval narrows to (the point below it, it].
                    match v.iter().position(|&f| f) {
                        Some(k) => {
                            let below = if k == 0 { lo } else { points[k - 1].0 };
                            hi = points[k].0;
                            lo = below;
                            cand.edits.entry(i).or_default().insert(param.key(), points[k].1);
                        }
                        None => lo = points.last().map(|p| p.0).unwrap_or(lo),
                    }
                }
            }
        }
        Ok(cand)
    }
}

/// The parameters of fault `i` that can be made milder.
fn params_of(sc: &Scenario, i: usize, table: &toml_edit::Table) -> Vec<Param> {
    let f = &sc.chaos[i];
    let mut v = Vec::new();
    if table.contains_key("for") {
        v.push(Param::Duration { key: "for", original: f.duration });
    }
    match f.effect {
        FaultEffect::Errors { rate } | FaultEffect::XrunStorm { rate } => {
            v.push(Param::Number { key: "rate", original: rate, mildest: 0.0 })
        }
        FaultEffect::Latency { add, dist: None, .. } | FaultEffect::CpuStall { add } => {
            v.push(Param::Duration { key: "add", original: add })
        }
        FaultEffect::Slowdown { factor } => v.push(Param::Number { key: "factor", original: factor, mildest: 1.0 }),
        FaultEffect::LoadSpike { multiplier } => {
            v.push(Param::Number { key: "multiplier", original: multiplier, mildest: 1.0 })
        }
        FaultEffect::ClockDrift { ppm } => v.push(Param::Number { key: "ppm", original: ppm, mildest: 0.0 }),
        FaultEffect::Clipping { gain_db } => v.push(Param::Number { key: "gain_db", original: gain_db, mildest: 0.0 }),
        _ => {}
    }
    if let Schedule::Every { first, every, count, .. } = f.schedule {
        let horizon = sc.stop_at();
        let until_end =
            if first >= horizon { 1 } else { ((horizon - first).as_nanos() / every.as_nanos().max(1)) as u32 + 1 };
        let n = count.unwrap_or(until_end).min(until_end);
        if n > 1 {
            v.push(Param::Count { original: n });
        }
    }
    v
}

/// The result of `shrink`: the report, the minimal scenario's text, and the original and minimal
/// scenarios' texts to run for the side-by-side report.
pub struct Shrunk {
    /// `shrink.json`.
    pub report: ShrinkReport,
    /// The original text.
    pub original: String,
    /// `minimal.toml` (without its header comment).
    pub minimal: String,
}

/// Why `shrink` cannot start: the scenario passes (or does not fail the way asked) at the seed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NothingToShrink(pub String);

/// Shrinks the scenario in `path` (its text `text`): see the module's documentation. `on_run` hears the
/// number of distinct runs made so far.
pub fn shrink(path: &Path, text: &str, opts: &Options, on_run: Box<dyn Fn(usize) + Sync>) -> Result<Shrunk> {
    let shown = path.display().to_string();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
    let sc = Scenario::from_toml(text, &shown, &stem)?;
    let doc: DocumentMut = text.parse().with_context(|| format!("cannot parse `{shown}` as TOML"))?;
    let tables: Vec<toml_edit::Table> = match doc.get("chaos") {
        Some(Item::ArrayOfTables(a)) => a.iter().cloned().collect(),
        Some(_) => bail!("{shown}: shrink needs the faults as [[chaos]] tables (not an inline array)"),
        None => Vec::new(),
    };
    if tables.is_empty() {
        return Err(NothingToShrink(format!("{shown} has no [[chaos]] entries: there is no fault to shrink")).into());
    }
    if tables.len() != sc.chaos.len() {
        bail!("{shown}: {} [[chaos]] tables but {} faults (a bug: please report it)", tables.len(), sc.chaos.len());
    }
    let seed = opts.seed.unwrap_or(sc.seed);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .context("cannot start the shrink's worker threads")?;
    let mut s = Shrinker {
        path: shown.clone(),
        stem,
        doc,
        names: sc.chaos.iter().map(|f| f.name.clone()).collect(),
        seed,
        holds: Vec::new(),
        pool,
        cache: Mutex::new(HashMap::new()),
        steps: Vec::new(),
        on_run,
        runs: std::sync::atomic::AtomicUsize::new(0),
        interrupted: false,
    };
    let all: Vec<usize> = (0..tables.len()).collect();
    let original = Candidate { keep: all.clone(), edits: BTreeMap::new() };
    tracing::info!("shrinking {}: running the original at seed {seed}", sc.name);
    let (o, _) = s.run(&s.render(&original))?;
    if o.interrupted {
        s.interrupted = true;
    }
    let failed = o.figures.failed.clone();
    s.holds = if opts.objectives.is_empty() {
        failed.clone()
    } else {
        let mut holds = Vec::new();
        for name in &opts.objectives {
            let found = failed.iter().find(|f| f.name == *name);
            match found {
                Some(f) => holds.push(f.clone()),
                None => {
                    return Err(NothingToShrink(format!(
                        "{shown}: \"{name}\" did not fail at seed {seed} (failed: {})",
                        list(&failed)
                    ))
                    .into());
                }
            }
        }
        holds
    };
    if !s.interrupted && s.holds.is_empty() {
        return Err(NothingToShrink(format!(
            "{shown} passes at seed {seed}: every objective and probe held, there is no failure to shrink"
        ))
        .into());
    }
    s.steps.push(ShrinkStep {
        step: 1,
        phase: ShrinkPhase::Original,
        faults: s.names.clone(),
        change: None,
        fails: true,
        cached: false,
        figures: o.figures.clone(),
    });
    let mut best = original.clone();
    if let Some(v) = s.batch(vec![Try { phase: ShrinkPhase::NoFaults, cand: Candidate::default(), change: None }])? {
        if v[0] {
            return Err(NothingToShrink(format!(
                "{shown} fails at seed {seed} without any of its faults ({}): the faults are not the cause, there is nothing to shrink",
                list(&s.holds)
            ))
            .into());
        }
        best.keep = s.ddmin(all)?;
        if !s.interrupted {
            let params: BTreeMap<usize, Vec<Param>> =
                best.keep.iter().map(|&i| (i, params_of(&sc, i, &tables[i]))).collect();
            best = s.milder(best, &params)?;
        }
    }
    let minimal_text = s.render(&best);
    let (m, _) = s.run(&minimal_text)?;
    let faults = (0..tables.len())
        .map(|i| {
            let kept = best.keep.contains(&i);
            let params = params_of(&sc, i, &tables[i]);
            let changes = best
                .edits
                .get(&i)
                .into_iter()
                .flatten()
                .map(|(key, v)| ShrunkKey {
                    key: (*key).to_string(),
                    from: params.iter().find(|p| p.key() == *key).map(|p| p.original().text()).unwrap_or_default(),
                    to: v.text(),
                })
                .collect();
            ShrinkFault { name: s.names[i].clone(), fault: sc.chaos[i].effect.kind(), kept, changes }
        })
        .collect();
    let cached = s.steps.iter().filter(|st| st.cached).count();
    let report = ShrinkReport {
        schema_version: SHRINK_SCHEMA,
        scenario: sc.name.clone(),
        scenario_file: shown,
        seed,
        holds_on_to: s.holds.clone(),
        faults,
        original: o.figures,
        minimal: m.figures,
        runs: s.runs.load(std::sync::atomic::Ordering::Relaxed),
        cached,
        incomplete: s.interrupted,
        steps: std::mem::take(&mut s.steps),
    };
    Ok(Shrunk { report, original: text.to_string(), minimal: minimal_text })
}

/// `minimal.toml`: a header that says where it comes from and what it keeps, then the scenario.
pub fn minimal_file(r: &ShrinkReport, text: &str) -> String {
    let mut h = format!(
        "# Shrunk by `ag06-lab shrink {} --seed {}`{}: the smallest experiment found that still fails\n# ({}).\n",
        r.scenario_file,
        r.seed,
        if r.incomplete { " (interrupted: smallest so far, not 1-minimal)" } else { "" },
        list(&r.holds_on_to)
    );
    for f in &r.faults {
        let what = f.outcome();
        h.push_str(&format!("#   fault \"{}\" ({}): {what}\n", f.name, f.fault));
    }
    h.push_str(&format!("# Run it: ag06-lab run minimal.toml --seed {}\n\n", r.seed));
    h + text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_move_towards_their_mildest_value_and_round() {
        let d = Param::Duration { key: "for", original: SimDuration::from_secs(60) };
        assert_eq!(d.at(0.5), Some(Value::Duration(30_000)));
        assert_eq!(d.at(0.504), Some(Value::Duration(30_000)), "two significant digits");
        assert_eq!(d.at(0.16), Some(Value::Duration(9_600)));
        assert_eq!(d.at(0.000_001), None, "below half a millisecond the fault would do nothing");
        let m = Param::Number { key: "multiplier", original: 3.0, mildest: 1.0 };
        assert_eq!(m.at(0.5), Some(Value::Number(2.0)));
        let c = Param::Count { original: 10 };
        assert_eq!(c.at(0.2), Some(Value::Count(2)));
        assert_eq!(c.at(0.01), None);
        assert_eq!(dur_text(90_000), "90s");
        assert_eq!(dur_text(1500), "1500ms");
    }
}
