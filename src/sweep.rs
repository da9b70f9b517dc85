//! Sweeps: one scenario over many seeds, in parallel, in shards; and the merge of sweep directories.
//!
//! A sweep directory holds `seeds/<seed>/` (each a full run directory with its `latency.hdr`), and the
//! aggregate: `sweep.json` (mean, standard deviation and 95% confidence interval of every headline figure
//! over the seeds; the end-to-end latency of all seeds from the merged histograms), `latency.hdr` and
//! `junit.xml`. The aggregate is computed from the per-seed files only, sorted by seed, so merging shards
//! gives exactly the sweep of all their seeds.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::figures::{Better, mean_ci95, of_summary};
use crate::metrics::Latency;
use crate::model::summary::{Summary, Verdict};
use crate::model::sweep::AggregateKind;
use crate::report::junit::Case;
use crate::scenario::Scenario;

/// Parses a seed list: `1..=50`, `1..50`, `7`, or comma-separated pieces of those.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("invalid seeds \"{part}\": write e.g. 1..=50, 1..50, 7 or 1,2,5");
        if let Some((a, b)) = part.split_once("..=") {
            let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if a > b {
                return Err(bad());
            }
            out.extend(a..=b);
        } else if let Some((a, b)) = part.split_once("..") {
            let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if a >= b {
                return Err(bad());
            }
            out.extend(a..b);
        } else {
            out.push(part.parse().map_err(|_| bad())?);
        }
    }
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        return Err("no seeds".into());
    }
    Ok(out)
}

/// Parses a shard `I/N` (0-based I < N).
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("invalid shard \"{s}\": write I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The seeds of shard `i` of `n`: every n-th seed starting at the i-th.
pub fn shard(seeds: &[u64], (i, n): (usize, usize)) -> Vec<u64> {
    seeds.iter().enumerate().filter(|(k, _)| k % n == i).map(|(_, s)| *s).collect()
}

/// Runs `sc` once per seed with up to `jobs` runs at a time, writing `out/seeds/<seed>/`, then the
/// aggregate. `on_done` is told each finished seed (for progress).
pub fn run(
    sc: &Scenario,
    seeds: &[u64],
    jobs: usize,
    out: &Path,
    on_done: &(dyn Fn(u64, Verdict) + Sync),
) -> Result<SweepSummary> {
    let tmp = staging(out)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.clamp(1, seeds.len().max(1)))
        .build()
        .context("cannot start the sweep's worker threads")?;
    // Seeds run in any order and the first error stops the rest; the aggregate sorts by seed. Once
    // interrupted, no seed starts and the runs under way stop without writing anything.
    let ran = pool.install(|| {
        seeds.par_iter().try_for_each(|&seed| {
            if crate::interrupt::requested() {
                return Ok(());
            }
            let verdict = run_seed(sc, seed, &tmp.join("seeds").join(seed.to_string()))?;
            if let Some(v) = verdict {
                on_done(seed, v);
            }
            Ok(())
        })
    });
    if let Err(e) = ran {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let incomplete = crate::interrupt::requested().then(|| Incomplete {
        reason: StopReason::Interrupted,
        seeds_not_run: seeds.iter().copied().filter(|s| !tmp.join("seeds").join(s.to_string()).is_dir()).collect(),
    });
    if incomplete.as_ref().is_some_and(|i| i.seeds_not_run.len() == seeds.len()) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(crate::interrupt::Interrupted("any seed of the sweep finished").into());
    }
    let summary = aggregate_into(std::slice::from_ref(&tmp), &tmp, incomplete);
    match summary {
        Ok(s) => {
            swap(&tmp, out)?;
            Ok(s)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// Runs one seed into `dir`; `None` (and nothing written) when it was interrupted.
fn run_seed(sc: &Scenario, seed: u64, dir: &Path) -> Result<Option<Verdict>> {
    let started = std::time::Instant::now();
    let output = crate::run::simulate(sc, seed, None)?;
    if output.ending == crate::sim::Ending::Interrupted {
        return Ok(None);
    }
    let summary = crate::report::Summary::new(
        sc,
        &output,
        crate::model::summary::Mode::Simulated,
        started.elapsed().as_secs_f64(),
    );
    crate::report::Bundle::of_run(sc, output, &summary)?.write_to(dir)?;
    Ok(Some(summary.verdict))
}

/// A fresh staging directory next to `out` (refusing an `out` that is not a sweep directory).
fn staging(out: &Path) -> Result<PathBuf> {
    if out.exists() {
        let empty = fs::read_dir(out).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty && !out.join("sweep.json").is_file() {
            bail!(
                "output directory `{}` exists and is not a sweep directory (no sweep.json): choose another --out",
                out.display()
            );
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "sweep".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(tmp.join("seeds")).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    Ok(tmp)
}

fn swap(tmp: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("cannot replace `{}`", out.display()))?;
    }
    fs::rename(tmp, out).with_context(|| format!("cannot write `{}`", out.display()))
}

pub use crate::model::sweep::{FigureStats, Incomplete, SloStats, StopReason, SweepSummary};

/// The per-seed run directories of sweep directories, by seed (an identical duplicate is dropped; the
/// same seed with different results is an error).
pub fn seed_dirs(inputs: &[PathBuf]) -> Result<BTreeMap<u64, PathBuf>> {
    let mut map: BTreeMap<u64, PathBuf> = BTreeMap::new();
    for input in inputs {
        let seeds = input.join("seeds");
        let entries = fs::read_dir(&seeds)
            .with_context(|| format!("`{}` is not a sweep directory (no seeds/ in it)", input.display()))?;
        for e in entries {
            let e = e?;
            let Some(seed) = e.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) else { continue };
            let dir = e.path();
            if !dir.join("summary.json").is_file() {
                bail!("`{}` has no summary.json: an unfinished shard?", dir.display());
            }
            if let Some(prev) = map.get(&seed) {
                if comparable(prev)? != comparable(&dir)? {
                    bail!("seed {seed} is in `{}` and `{}` with different results", prev.display(), dir.display());
                }
                continue;
            }
            map.insert(seed, dir);
        }
    }
    if map.is_empty() {
        bail!(
            "no seed runs found in {}",
            inputs.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(map)
}

/// A summary without its wall time (the one field that differs between identical runs).
fn comparable(dir: &Path) -> Result<Summary> {
    let mut s = read_summary(&dir.join("summary.json"))?;
    s.wall_s = 0.0;
    Ok(s)
}

/// Reads a JSON file of the output model.
pub fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T> {
    let text = fs::read_to_string(p).with_context(|| format!("cannot read `{}`", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("`{}` is not a valid {}", p.display(), file_kind(p)))
}

fn file_kind(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into())
}

/// Reads a run's `summary.json`.
pub fn read_summary(p: &Path) -> Result<Summary> {
    read_json(p)
}

/// Aggregates the seeds of `inputs` into `out` (copying the per-seed runs there when `out` is not one of
/// the inputs) and writes `sweep.json`, `latency.hdr` and `junit.xml`.
pub fn aggregate(inputs: &[PathBuf], out: &Path) -> Result<SweepSummary> {
    aggregate_into(inputs, out, None)
}

/// [`aggregate`], marking the sweep incomplete when it is: when `incomplete` says so, or when an input is an
/// incomplete sweep whose missing seeds no other input has.
fn aggregate_into(inputs: &[PathBuf], out: &Path, incomplete: Option<Incomplete>) -> Result<SweepSummary> {
    let dirs = seed_dirs(inputs)?;
    let incomplete = incomplete.or_else(|| inherited_incompleteness(inputs, &dirs));
    let mut summaries = Vec::new();
    let mut merged = Latency::default();
    for (seed, dir) in &dirs {
        let s = read_summary(&dir.join("summary.json"))?;
        let hdr = fs::read(dir.join("latency.hdr"))
            .with_context(|| format!("cannot read `{}`", dir.join("latency.hdr").display()))?;
        let h = crate::report::read_latency_hdr(&hdr)
            .map_err(|e| anyhow::anyhow!("`{}`: {e}", dir.join("latency.hdr").display()))?;
        merged.merge(&Latency::from_histogram(h, &s.latency_ms));
        summaries.push((*seed, s));
    }
    let scenario = summaries[0].1.scenario.clone();
    if let Some((seed, other)) = summaries.iter().find(|(_, s)| s.scenario != scenario) {
        bail!("seed {seed} ran scenario \"{}\", not \"{scenario}\": merge sweeps of one scenario", other.scenario);
    }
    let mut values: BTreeMap<String, (Better, Vec<f64>)> = BTreeMap::new();
    for (_, s) in &summaries {
        for (name, f) in of_summary(s) {
            values.entry(name).or_insert((f.better, Vec::new())).1.push(f.value);
        }
    }
    let figures = values
        .into_iter()
        .map(|(name, (better, xs))| {
            let (mean, sd, h) = mean_ci95(&xs);
            let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (name, FigureStats { better, n: xs.len(), mean, sd, ci95: [mean - h, mean + h], min, max })
        })
        .collect();
    let mut slos: Vec<SloStats> = Vec::new();
    for (seed, s) in &summaries {
        for slo in &s.slos {
            let entry = match slos.iter_mut().position(|x| x.name == slo.name) {
                Some(i) => &mut slos[i],
                None => {
                    slos.push(SloStats { name: slo.name.clone(), met: 0, runs: 0, failed_seeds: Vec::new() });
                    slos.last_mut().expect("invariant: just pushed")
                }
            };
            entry.runs += 1;
            if slo.met {
                entry.met += 1;
            } else {
                entry.failed_seeds.push(*seed);
            }
        }
    }
    let passed = summaries.iter().filter(|(_, s)| s.verdict == Verdict::Pass).count();
    let summary = SweepSummary {
        schema: crate::model::SCHEMA,
        kind: AggregateKind::Sweep,
        scenario,
        seeds: dirs.keys().copied().collect(),
        passed,
        failed: summaries.len() - passed,
        latency_ms: merged.summary(),
        figures,
        slos,
        incomplete,
    };
    // Copy the per-seed runs into `out` when merging elsewhere.
    for (seed, dir) in &dirs {
        let target = out.join("seeds").join(seed.to_string());
        if target != *dir {
            copy_dir(dir, &target)?;
        }
    }
    let mut json = serde_json::to_vec_pretty(&summary).expect("invariant: the sweep summary serializes");
    json.push(b'\n');
    fs::write(out.join("sweep.json"), json).with_context(|| format!("cannot write `{}`", out.display()))?;
    fs::write(out.join("latency.hdr"), crate::report::latency_hdr(merged.histogram()))?;
    fs::write(
        out.join("junit.xml"),
        crate::report::junit::render(&format!("{} (sweep)", summary.scenario), &sweep_cases(&summary)),
    )?;
    let html = crate::report::html::pages::sweep_page(out)?;
    fs::write(out.join("report.html"), html).with_context(|| format!("cannot write `{}`", out.display()))?;
    Ok(summary)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create `{}`", to.display()))?;
    for e in fs::read_dir(from)? {
        let e = e?;
        fs::copy(e.path(), to.join(e.file_name())).with_context(|| format!("cannot copy `{}`", e.path().display()))?;
    }
    Ok(())
}

/// A sweep's test cases: one per objective (failing if any seed missed it) and one for the verdicts.
pub fn sweep_cases(s: &SweepSummary) -> Vec<Case> {
    let mut v: Vec<Case> = s
        .slos
        .iter()
        .map(|o| Case {
            class: "slo".into(),
            name: o.name.clone(),
            failure: (o.met < o.runs)
                .then(|| format!("met in {} of {} seeds; failed with seeds {:?}", o.met, o.runs, o.failed_seeds)),
            output: None,
        })
        .collect();
    v.push(Case {
        class: "sweep".into(),
        name: "every seed passes".into(),
        failure: (s.failed > 0).then(|| format!("{} of {} seeds failed", s.failed, s.passed + s.failed)),
        output: None,
    });
    v
}

/// The seeds that inputs which are incomplete sweeps did not run, and that no input has: a merge of an
/// interrupted shard stays marked incomplete.
fn inherited_incompleteness(inputs: &[PathBuf], dirs: &BTreeMap<u64, PathBuf>) -> Option<Incomplete> {
    let mut missing = std::collections::BTreeSet::new();
    let mut reason = None;
    for input in inputs {
        let Ok(bytes) = fs::read(input.join("sweep.json")) else { continue };
        let Ok(s) = serde_json::from_slice::<SweepSummary>(&bytes) else { continue };
        if let Some(i) = s.incomplete {
            reason = Some(i.reason);
            missing.extend(i.seeds_not_run.into_iter().filter(|seed| !dirs.contains_key(seed)));
        }
    }
    match reason {
        Some(reason) if !missing.is_empty() => {
            Some(Incomplete { reason, seeds_not_run: missing.into_iter().collect() })
        }
        _ => None,
    }
}

/// Merges sweep directories (shards) into `out`.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<SweepSummary> {
    let tmp = staging(out)?;
    match aggregate(inputs, &tmp) {
        Ok(s) => {
            swap(&tmp, out)?;
            Ok(s)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lists_and_shards() {
        assert_eq!(parse_seeds("1..=5").unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(parse_seeds("1..4, 9,2").unwrap(), vec![1, 2, 3, 9]);
        assert!(parse_seeds("5..=1").is_err());
        assert!(parse_seeds("x").is_err());
        assert_eq!(parse_shard("1/3").unwrap(), (1, 3));
        assert!(parse_shard("3/3").is_err());
        let all: Vec<u64> = (1..=10).collect();
        let mut back: Vec<u64> = (0..3).flat_map(|i| shard(&all, (i, 3))).collect();
        back.sort_unstable();
        assert_eq!(back, all, "the shards cover the seeds exactly once");
    }
}
