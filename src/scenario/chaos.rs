//! Fault specifications (targets, mode, probability, schedule) and their expansion into concrete fault
//! instances for one run, with the fault's own seeded stream.

use rand::RngExt;

use super::{Fault, FaultEffect, RateProfile, Segment, Target};
use crate::sim::{SimDuration, SimTime, stream};

/// Which of the matched targets a fault hits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// One, picked at random (seeded).
    One,
    /// Every one.
    All,
    /// This share of them [percent], rounded up, picked at random (seeded).
    Percent(f64),
}

/// When a fault happens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// Once, at this instant.
    Once {
        /// Start.
        at: SimTime,
    },
    /// Repeatedly: at `first`, then every `every`, each occurrence shifted by up to ±`jitter`.
    Every {
        /// First occurrence.
        first: SimTime,
        /// Period.
        every: SimDuration,
        /// Random shift bound.
        jitter: SimDuration,
        /// At most this many occurrences (`None`: until the run ends).
        count: Option<u32>,
    },
}

/// A validated `[[chaos]]` entry.
#[derive(Clone, Debug)]
pub struct FaultSpec {
    /// Label.
    pub name: String,
    /// Every target the selector matched, in scenario order.
    pub targets: Vec<Target>,
    /// How many of them.
    pub mode: Mode,
    /// Probability of each occurrence.
    pub probability: f64,
    /// When.
    pub schedule: Schedule,
    /// How long each occurrence lasts.
    pub duration: SimDuration,
    /// What it does.
    pub effect: FaultEffect,
}

impl FaultSpec {
    /// The occurrences of this fault in a run ending at `horizon`, drawn from the stream of fault `index`
    /// of `seed`: the same seed gives the same faults.
    pub fn expand(&self, index: usize, seed: u64, horizon: SimTime) -> Vec<Fault> {
        let mut rng = stream(seed, &format!("chaos/{index}"));
        let starts: Vec<SimTime> = match self.schedule {
            Schedule::Once { at } => vec![at],
            Schedule::Every { first, every, jitter, count } => {
                let mut v = Vec::new();
                let mut t = first;
                let mut left = count.unwrap_or(u32::MAX);
                while t < horizon && left > 0 {
                    left -= 1;
                    let shift =
                        if jitter.is_zero() { 0.0 } else { (rng.random::<f64>() * 2.0 - 1.0) * jitter.as_secs_f64() };
                    let at = SimTime::from_secs_f64((t.as_secs_f64() + shift).max(0.0));
                    if at < horizon {
                        v.push(at);
                    }
                    t += every;
                }
                v
            }
        };
        let mut out = Vec::new();
        for (k, at) in starts.into_iter().enumerate() {
            // Draw the occurrence's fate and targets even when it does not happen, so that each occurrence
            // consumes the same draws whatever the probability.
            let happens = rng.random::<f64>() < self.probability;
            let targets = self.pick(&mut rng);
            if !happens {
                continue;
            }
            let name = if matches!(self.schedule, Schedule::Once { .. }) {
                self.name.clone()
            } else {
                format!("{} #{}", self.name, k + 1)
            };
            for target in targets {
                out.push(Fault {
                    name: name.clone(),
                    chaos: self.name.clone(),
                    target,
                    at,
                    duration: self.duration,
                    effect: self.effect,
                });
            }
        }
        out
    }

    fn pick(&self, rng: &mut crate::sim::SimRng) -> Vec<Target> {
        let n = self.targets.len();
        let count = match self.mode {
            Mode::All => n,
            Mode::One => 1.min(n),
            Mode::Percent(p) => ((n as f64 * p / 100.0).ceil() as usize).min(n),
        };
        if count == n {
            return self.targets.clone();
        }
        // A seeded partial Fisher-Yates shuffle, then scenario order.
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..count {
            let j = i + (rng.random::<f64>() * (n - i) as f64) as usize;
            idx.swap(i, j.min(n - 1));
        }
        let mut chosen: Vec<usize> = idx[..count].to_vec();
        chosen.sort_unstable();
        chosen.into_iter().map(|i| self.targets[i]).collect()
    }
}

/// Expands every fault of a scenario for one run, in start order (ties in scenario order).
pub fn expand_all(specs: &[FaultSpec], seed: u64, horizon: SimTime) -> Vec<Fault> {
    let mut all: Vec<(SimTime, usize, Fault)> = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        for f in s.expand(i, seed, horizon) {
            all.push((f.at, i, f));
        }
    }
    all.sort_by_key(|(at, i, _)| (*at, *i));
    all.into_iter().map(|(_, _, f)| f).collect()
}

/// The arrival profile with every load-spike instance applied (rate × multiplier over its window).
pub fn with_spikes(profile: &RateProfile, faults: &[Fault]) -> RateProfile {
    let mut p = profile.clone();
    for f in faults {
        if let FaultEffect::LoadSpike { multiplier } = f.effect {
            let (a, b) = (f.at.as_secs_f64(), (f.at + f.duration).as_secs_f64());
            p = p.split_at(a).split_at(b);
            for s in &mut p.segments {
                if s.start_s >= a && s.end_s <= b {
                    s.from_per_s *= multiplier;
                    s.to_per_s *= multiplier;
                }
            }
        }
    }
    p
}

impl RateProfile {
    /// The same profile with a segment boundary at `t_s` (if it falls inside a segment).
    pub fn split_at(&self, t_s: f64) -> RateProfile {
        let mut segments = Vec::with_capacity(self.segments.len() + 1);
        for s in &self.segments {
            if t_s > s.start_s && t_s < s.end_s {
                let mid = s.from_per_s + (s.to_per_s - s.from_per_s) * (t_s - s.start_s) / (s.end_s - s.start_s);
                segments.push(Segment { start_s: s.start_s, end_s: t_s, from_per_s: s.from_per_s, to_per_s: mid });
                segments.push(Segment { start_s: t_s, end_s: s.end_s, from_per_s: mid, to_per_s: s.to_per_s });
            } else {
                segments.push(*s);
            }
        }
        RateProfile { segments }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ServiceId;

    fn spec(mode: Mode, probability: f64, schedule: Schedule, n: u32) -> FaultSpec {
        FaultSpec {
            name: "f".into(),
            targets: (0..n).map(|i| Target::Service(ServiceId(i))).collect(),
            mode,
            probability,
            schedule,
            duration: SimDuration::from_secs(1),
            effect: FaultEffect::Kill,
        }
    }

    fn t(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn every_with_jitter_stays_within_bounds_and_is_seeded() {
        let s = spec(
            Mode::All,
            1.0,
            Schedule::Every {
                first: t(10),
                every: SimDuration::from_secs(10),
                jitter: SimDuration::from_secs(2),
                count: None,
            },
            1,
        );
        let a = s.expand(0, 1, t(100));
        assert_eq!(a.len(), 9);
        for (k, f) in a.iter().enumerate() {
            let nominal = 10.0 * (k + 1) as f64;
            assert!((f.at.as_secs_f64() - nominal).abs() <= 2.0);
        }
        let b = s.expand(0, 1, t(100));
        assert!(a.iter().zip(&b).all(|(x, y)| x.at == y.at));
        assert!(s.expand(0, 2, t(100)).iter().zip(&a).any(|(x, y)| x.at != y.at));
    }

    #[test]
    fn count_caps_the_occurrences_of_a_repeated_fault() {
        let every = |count| Schedule::Every {
            first: t(10),
            every: SimDuration::from_secs(10),
            jitter: SimDuration::ZERO,
            count,
        };
        assert_eq!(spec(Mode::All, 1.0, every(None), 1).expand(0, 1, t(100)).len(), 9);
        let three = spec(Mode::All, 1.0, every(Some(3)), 1).expand(0, 1, t(100));
        assert_eq!(three.iter().map(|f| f.at).collect::<Vec<_>>(), [t(10), t(20), t(30)]);
        assert_eq!(spec(Mode::All, 1.0, every(Some(50)), 1).expand(0, 1, t(100)).len(), 9, "the run ends first");
    }

    #[test]
    fn mode_and_probability() {
        let once = Schedule::Once { at: t(5) };
        assert_eq!(spec(Mode::All, 1.0, once, 10).expand(0, 1, t(100)).len(), 10);
        assert_eq!(spec(Mode::One, 1.0, once, 10).expand(0, 1, t(100)).len(), 1);
        assert_eq!(spec(Mode::Percent(25.0), 1.0, once, 10).expand(0, 1, t(100)).len(), 3);
        // Probability 0.3 over 2000 occurrences: binomial, 5 sd.
        let every =
            Schedule::Every { first: t(1), every: SimDuration::from_secs(1), jitter: SimDuration::ZERO, count: None };
        let n = spec(Mode::One, 0.3, every, 4).expand(0, 9, t(2001)).len() as f64;
        assert!((n - 600.0).abs() < 5.0 * (2000.0f64 * 0.3 * 0.7).sqrt(), "{n}");
        // "one" picks every target over many occurrences.
        let hits = spec(Mode::One, 1.0, every, 4).expand(0, 9, t(400));
        for i in 0..4 {
            assert!(hits.iter().any(|f| f.target == Target::Service(ServiceId(i))));
        }
    }

    #[test]
    fn spikes_multiply_the_rate_in_their_window_only() {
        let p =
            RateProfile { segments: vec![Segment { start_s: 0.0, end_s: 100.0, from_per_s: 10.0, to_per_s: 10.0 }] };
        let f = Fault {
            name: "s".into(),
            chaos: "s".into(),
            target: Target::Load,
            at: t(20),
            duration: SimDuration::from_secs(10),
            effect: FaultEffect::LoadSpike { multiplier: 5.0 },
        };
        let q = with_spikes(&p, &[f]);
        assert_eq!(q.rate_at(10.0), 10.0);
        assert_eq!(q.rate_at(25.0), 50.0);
        assert_eq!(q.rate_at(35.0), 10.0);
        assert_eq!(q.expected_arrivals(), 1000.0 + 400.0);
    }
}
