//! `[explore]`: the fault space `ag06-lab explore` draws random fault schedules from.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Dur, FaultKind};

/// The fault space of `ag06-lab explore`: each schedule is 1 to `max_faults` faults, each drawn from one
/// of `faults` (uniformly), with its start, duration and intensity drawn uniformly from its ranges. A
/// plain `run` ignores this section.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExplore {
    /// At most this many faults at once in a schedule (at least 1). Default 3.
    pub max_faults: Option<u32>,
    /// The seed of the schedules' draws. Default: the scenario's seed.
    pub seed: Option<u64>,
    /// The kinds of faults to draw from.
    pub faults: Vec<RawExploreFault>,
}

/// A `[min, max]` range of durations, e.g. `["10s", "2m"]`.
pub type DurRange = [Dur; 2];

/// A `[min, max]` range of numbers.
pub type NumRange = [f64; 2];

/// One kind of fault of the space.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExploreFault {
    /// The kind, as in `[[chaos]]`.
    pub fault: FaultKind,
    /// The target, as in `[[chaos]]`: a service, a glob, a tag, "device" or "load".
    pub target: String,
    /// With a glob or a tag: "one" (each fault hits one of the matches, a seeded pick) or "all". Default
    /// "one".
    pub mode: Option<super::ModeName>,
    /// When it may start: `[earliest, latest]`.
    pub start: DurRange,
    /// How long it may last: `[shortest, longest]` (required but for kill, stop and panic).
    #[serde(rename = "for")]
    pub for_: Option<DurRange>,
    /// errors, xrun-storm: the range of `rate`.
    pub rate: Option<NumRange>,
    /// latency, cpu-stall on the device: the range of `add`.
    pub add: Option<DurRange>,
    /// load-spike: the range of `multiplier`.
    pub multiplier: Option<NumRange>,
    /// cpu-stall on a service: the range of `factor`.
    pub factor: Option<NumRange>,
    /// clock-drift: the range of `ppm`.
    pub ppm: Option<NumRange>,
    /// clipping: the range of `gain_db`.
    pub gain_db: Option<NumRange>,
    /// partition: the service it cuts the target from.
    pub to: Option<String>,
}
