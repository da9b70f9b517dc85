//! A simulated run checked against a live run of the same scenario: did the simulation predict what the
//! interface did? Live mode is the reference (its callbacks are the real ones); the simulation predicts it
//! when it lost as many periods, in the same windows.
//!
//! The verdict rests on the audio delivery: xruns, xruns + missing, and when they happened. Levels and the
//! DSP load are shown beside it, not judged: live plays the lab's mix of what is plugged into the
//! interface (the simulation mixes its modelled sources), and the simulated DSP load is the scenario's
//! `dsp_time` (`ag06-lab calibrate` measures the real one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::model::prediction::{
    PREDICTION_SCHEMA, Prediction, PredictionCheck, PredictionFigure, PredictionVerdict, PredictionWindow,
    ReportedFigure, WindowFigures,
};
use crate::model::rows::{AudioRow, from_csv};
use crate::model::summary::{Mode, Summary};
use crate::report::junit::Case;
use crate::sweep::read_summary;

/// How close the simulation must come.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Tolerances {
    /// Xruns over the run, relative to live's.
    pub xruns: f64,
    /// Xruns + missing over the run, relative to live's.
    pub lost: f64,
    /// The per-window overlap of the lost periods may fall short of 1 by this much.
    pub when: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances { xruns: 0.25, lost: 0.15, when: 0.15 }
    }
}

/// Below this many lost periods on both sides, where they fell is noise: the timing check holds.
pub const TIMING_FLOOR: u64 = 4;

/// When `a` and `b` are a simulated and a live run (in either order), the two directories as
/// (simulated, live); `None` when they are anything else (two sweeps, two simulated runs: the gate's).
pub fn pair(a: &Path, b: &Path) -> Result<Option<(PathBuf, PathBuf)>> {
    let mode = |d: &Path| -> Result<Option<Mode>> {
        if d.join("sweep.json").is_file() || !d.join("summary.json").is_file() {
            return Ok(None);
        }
        Ok(Some(read_summary(&d.join("summary.json"))?.mode))
    };
    Ok(match (mode(a)?, mode(b)?) {
        (Some(Mode::Simulated), Some(Mode::Live)) => Some((a.to_path_buf(), b.to_path_buf())),
        (Some(Mode::Live), Some(Mode::Simulated)) => Some((b.to_path_buf(), a.to_path_buf())),
        _ => None,
    })
}

/// One run's side: its summary and its windows' audio figures, by window number.
struct Side {
    summary: Summary,
    windows: BTreeMap<u64, WindowFigures>,
}

fn side(dir: &Path) -> Result<Side> {
    let summary = read_summary(&dir.join("summary.json"))?;
    if summary.audio.is_none() {
        bail!("`{}` has no audio figures: its scenario has no [device] to compare", dir.display());
    }
    let path = dir.join("audio.csv");
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let rows: Vec<AudioRow> = from_csv(&bytes).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
    let w = summary.window_s.max(1e-9);
    let mut windows: BTreeMap<u64, WindowFigures> = BTreeMap::new();
    for r in rows {
        // The period figures repeat on every channel's row of a window; the level is out_l's (what the lab
        // played, on both sides).
        let n = (r.t_s / w).round() as u64;
        let f = windows.entry(n).or_insert_with(|| WindowFigures {
            xruns: r.xruns,
            missing: r.missing,
            dsp_load: r.dsp_load,
            out_rms_dbfs: None,
        });
        if r.channel == "out_l" {
            f.out_rms_dbfs = r.rms_dbfs;
        }
    }
    Ok(Side { summary, windows })
}

/// A count checked against live's: `|simulated − live| ≤ max(tolerance × live, 2√live)`; 2√live (at
/// least 2) is a count's own Poisson noise, which decides for small counts.
pub fn count_check(figure: PredictionFigure, simulated: u64, live: u64, tolerance: f64) -> PredictionCheck {
    let (s, l) = (simulated as f64, live as f64);
    let noise = 2.0 * l.max(1.0).sqrt();
    let allowed = (tolerance * l).max(noise);
    PredictionCheck {
        figure,
        simulated: s,
        live: l,
        test: format!(
            "|simulated - live| <= max({:.0}% of live, 2 sqrt(live)) (2 sqrt(live): a count's Poisson noise)",
            tolerance * 100.0
        ),
        tolerance,
        allowed,
        holds: (s - l).abs() <= allowed,
    }
}

/// Where the periods were lost: the overlap of the two runs' lost periods (xruns + missing) per window,
/// `Σ min(s_w, l_w) / max(Σ s_w, Σ l_w)` (1 when every window lost as many on both sides, 0 when they
/// never lost in the same window), at least `1 − tolerance`.
pub fn timing_check(pairs: &[(u64, u64)], tolerance: f64) -> PredictionCheck {
    let (s, l): (u64, u64) = pairs.iter().fold((0, 0), |(a, b), &(x, y)| (a + x, b + y));
    let common: u64 = pairs.iter().map(|&(x, y)| x.min(y)).sum();
    let floor = s.max(l) <= TIMING_FLOOR;
    let overlap = if floor { 1.0 } else { common as f64 / s.max(l) as f64 };
    let allowed = 1.0 - tolerance;
    PredictionCheck {
        figure: PredictionFigure::LostWhen,
        simulated: overlap,
        live: 1.0,
        test: format!(
            "overlap of the lost periods per window, sum(min(sim, live)) / max(sum sim, sum live), >= {allowed:.2} (1 when both runs lost at most {TIMING_FLOOR} periods)"
        ),
        tolerance,
        allowed,
        holds: overlap >= allowed,
    }
}

/// Compares the simulated run in `sim` with the live run in `live`.
pub fn predict(sim: &Path, live: &Path, tol: Tolerances) -> Result<Prediction> {
    let (s, l) = (side(sim)?, side(live)?);
    if s.summary.scenario != l.summary.scenario {
        bail!(
            "`{}` ran scenario `{}` and `{}` ran `{}`: compare two runs of the same scenario",
            sim.display(),
            s.summary.scenario,
            live.display(),
            l.summary.scenario
        );
    }
    if (s.summary.window_s - l.summary.window_s).abs() > 1e-9 {
        bail!(
            "the runs' windows differ ({} s and {} s): run both with the same scenario file",
            s.summary.window_s,
            l.summary.window_s
        );
    }
    let (sa, la) = (s.summary.audio.as_ref().expect("checked"), l.summary.audio.as_ref().expect("checked"));
    let numbers: std::collections::BTreeSet<u64> = s.windows.keys().chain(l.windows.keys()).copied().collect();
    let windows: Vec<PredictionWindow> = numbers
        .into_iter()
        .map(|n| PredictionWindow {
            t_s: n as f64 * s.summary.window_s,
            simulated: s.windows.get(&n).cloned().unwrap_or_default(),
            live: l.windows.get(&n).cloned().unwrap_or_default(),
        })
        .collect();
    let lost: Vec<(u64, u64)> =
        windows.iter().map(|w| (w.simulated.xruns + w.simulated.missing, w.live.xruns + w.live.missing)).collect();
    let checks = vec![
        count_check(PredictionFigure::Xruns, sa.xruns, la.xruns, tol.xruns),
        count_check(PredictionFigure::Lost, sa.xruns + sa.missing, la.xruns + la.missing, tol.lost),
        timing_check(&lost, tol.when),
    ];
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.holds)
        .map(|c| format!("{} {} simulated vs {} live", c.figure.name(), fmt(c.simulated), fmt(c.live)))
        .collect();
    let (verdict, reason) = if failed.is_empty() {
        (
            PredictionVerdict::Predicted,
            format!(
                "the simulation predicted the live run: xruns {} vs {}, xruns + missing {} vs {}, in the same windows",
                sa.xruns,
                la.xruns,
                sa.xruns + sa.missing,
                la.xruns + la.missing
            ),
        )
    } else {
        (PredictionVerdict::NotPredicted, format!("the simulation missed the live run: {}", failed.join("; ")))
    };
    let level_note = "not judged: live plays the lab's mix of what is plugged into the interface, the simulation mixes its modelled sources";
    let mut reported = vec![
        ReportedFigure {
            figure: "periods".into(),
            simulated: Some(sa.periods as f64),
            live: Some(la.periods as f64),
            note: "the run's length in periods".into(),
        },
        ReportedFigure {
            figure: "dsp_load_mean".into(),
            simulated: Some(sa.dsp_load_mean),
            live: Some(la.dsp_load_mean),
            note: "not judged: the simulated load is the scenario's dsp_time; `ag06-lab calibrate` (or the live run's dsp_time.hdr) gives the real one".into(),
        },
        ReportedFigure {
            figure: "dsp_load_max".into(),
            simulated: Some(sa.dsp_load_max),
            live: Some(la.dsp_load_max),
            note: "not judged (see dsp_load_mean)".into(),
        },
        ReportedFigure {
            figure: "output_lufs".into(),
            simulated: sa.output_lufs,
            live: la.output_lufs,
            note: level_note.into(),
        },
    ];
    for ch in ["out_l", "out_r"] {
        reported.push(ReportedFigure {
            figure: format!("{ch}.rms_dbfs"),
            simulated: sa.channels.get(ch).and_then(|c| c.rms_dbfs),
            live: la.channels.get(ch).and_then(|c| c.rms_dbfs),
            note: level_note.into(),
        });
    }
    Ok(Prediction {
        schema_version: PREDICTION_SCHEMA,
        scenario: s.summary.scenario.clone(),
        simulated: sim.display().to_string(),
        live: live.display().to_string(),
        window_s: s.summary.window_s,
        periods: [sa.periods, la.periods],
        verdict,
        reason,
        checks,
        reported,
        windows,
    })
}

fn fmt(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.3}") }
}

/// The checks as JUnit cases.
pub fn cases(p: &Prediction) -> Vec<Case> {
    p.checks
        .iter()
        .map(|c| {
            let figures =
                format!("simulated {} live {} allowed {} ({})", fmt(c.simulated), fmt(c.live), fmt(c.allowed), c.test);
            Case {
                class: "prediction".into(),
                name: c.figure.name().into(),
                failure: (!c.holds).then(|| figures.clone()),
                output: c.holds.then_some(figures),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_judged_by_its_share_or_by_its_poisson_noise() {
        // 375 live xruns at 25%: 93.75 allowed (2 sqrt(375) = 38.7 is less).
        let c = count_check(PredictionFigure::Xruns, 300, 375, 0.25);
        assert!((c.allowed - 93.75).abs() < 1e-9 && c.holds);
        assert!(!count_check(PredictionFigure::Xruns, 281, 375, 0.25).holds);
        // 4 live xruns: 25% is 1, the noise 2 sqrt(4) = 4 decides; 0 live allows 2.
        let c = count_check(PredictionFigure::Xruns, 8, 4, 0.25);
        assert!((c.allowed - 4.0).abs() < 1e-9 && c.holds);
        assert!(!count_check(PredictionFigure::Xruns, 9, 4, 0.25).holds);
        assert!(count_check(PredictionFigure::Xruns, 2, 0, 0.25).holds);
        assert!(!count_check(PredictionFigure::Xruns, 3, 0, 0.25).holds);
    }

    #[test]
    fn the_overlap_measures_where_the_periods_were_lost() {
        // The same loss in the same window: 1. In the neighbouring window: 0.
        assert_eq!(timing_check(&[(0, 0), (100, 100), (0, 0)], 0.15).simulated, 1.0);
        assert_eq!(timing_check(&[(0, 100), (100, 0), (0, 0)], 0.15).simulated, 0.0);
        // 90 of 100 in the right window, 10 one later: 0.9, holds at 15%, not at 5%.
        let c = timing_check(&[(100, 90), (0, 10)], 0.15);
        assert!((c.simulated - 0.9).abs() < 1e-12 && c.holds);
        assert!(!timing_check(&[(100, 90), (0, 10)], 0.05).holds);
        // A handful of periods: where they fell is noise.
        assert!(timing_check(&[(2, 0), (0, 2)], 0.15).holds);
        assert!(!timing_check(&[(5, 0), (0, 5)], 0.15).holds);
    }
}
