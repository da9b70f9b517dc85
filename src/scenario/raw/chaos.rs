//! `[[chaos]]` entries as written: one struct per fault kind, tagged by `fault`, so that serde itself
//! rejects a key the kind does not take (with the entry's position in the file), and the JSON Schema
//! offers each kind's own keys. The kinds' names are [`FaultKind`]'s.

use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::model::summary::FaultKind;

use super::{Dur, RawDist};

/// Which of the matched targets a fault hits.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ModeName {
    /// One, picked with the fault's seeded stream.
    One,
    /// All of them.
    All,
    /// A share of them (`percent`), picked with the fault's seeded stream.
    FixedPercent,
}

/// The keys every fault takes.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    /// Optional label for reports. Default "<fault>:<target>".
    pub name: Option<&'a str>,
    /// The service (a name, a glob, or `tag:x`), "device" or "load".
    pub target: &'a str,
    /// When it starts; with `every`, the first occurrence.
    pub at: Option<Dur>,
    /// Repeat every this long.
    pub every: Option<Dur>,
    /// Shift of each repeated occurrence.
    pub jitter: Option<Dur>,
    /// How long it lasts.
    pub for_: Option<Dur>,
    /// Which of the matched targets.
    pub mode: Option<ModeName>,
    /// With mode = "fixed-percent": the share [percent].
    pub percent: Option<f64>,
    /// Probability that an occurrence happens.
    pub probability: Option<f64>,
    /// With `every`: at most this many occurrences.
    pub count: Option<u32>,
}

/// Defines one struct per fault kind (the keys every fault takes, then the kind's own) and the tagged
/// enum of them.
macro_rules! fault_kinds {
    ($( $(#[$vdoc:meta])* $Kind:ident { $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)? } )*) => {
        /// A `[[chaos]]` entry: `fault` names the kind; each kind takes the common keys and its own.
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(tag = "fault", rename_all = "kebab-case")]
        pub enum RawChaos {
            $( $(#[$vdoc])* $Kind(kind::$Kind), )*
        }

        /// The entry of each fault kind.
        pub mod kind {
            use super::*;
            $(
                $(#[$vdoc])*
                #[derive(Debug, Deserialize, JsonSchema)]
                #[serde(deny_unknown_fields)]
                pub struct $Kind {
                    /// Optional label for reports. Default "<fault>:<target>".
                    pub name: Option<String>,
                    /// The service to inject it into (a name, a glob with `*`/`?`/`[`, or `tag:x`), "device"
                    /// for the audio faults, or "load" for a load-spike.
                    pub target: String,
                    /// When it starts (from the start of the run); with `every`, the first occurrence
                    /// (default: `every`).
                    pub at: Option<Dur>,
                    /// Repeat every this long (until the end of the run).
                    pub every: Option<Dur>,
                    /// Shift each repeated occurrence by a uniform draw in [-jitter, +jitter]. Default "0s".
                    pub jitter: Option<Dur>,
                    /// How long it lasts. Required for windowed faults; for kill, stop and panic, how long the
                    /// service stays down (default: its `restart_delay`).
                    #[serde(rename = "for")]
                    pub for_: Option<Dur>,
                    /// Which of the matched targets: "one" (a seeded pick), "all", "fixed-percent". Default
                    /// "all".
                    pub mode: Option<ModeName>,
                    /// With mode = "fixed-percent": the share of the matched targets [percent].
                    pub percent: Option<f64>,
                    /// Probability that an occurrence happens at all (0..1). Default 1.
                    pub probability: Option<f64>,
                    /// With `every`: at most this many occurrences (default: until the run ends).
                    pub count: Option<u32>,
                    $( $(#[$fdoc])* pub $field: $ty, )*
                }
            )*
        }

        impl RawChaos {
            /// The kind.
            pub fn kind(&self) -> FaultKind {
                match self {
                    $( RawChaos::$Kind(_) => FaultKind::$Kind, )*
                }
            }

            /// The keys every fault takes.
            pub fn common(&self) -> Common<'_> {
                match self {
                    $( RawChaos::$Kind(k) => Common {
                        name: k.name.as_deref(),
                        target: &k.target,
                        at: k.at,
                        every: k.every,
                        jitter: k.jitter,
                        for_: k.for_,
                        mode: k.mode,
                        percent: k.percent,
                        probability: k.probability,
                        count: k.count,
                    }, )*
                }
            }
        }
    };
}

fault_kinds! {
    /// Crash the service actor: in-flight and queued requests fail, arrivals fail fast while it is down,
    /// its supervisor restarts it after `for` (default: the service's `restart_delay`).
    Kill {}
    /// Add processing time to every request while active: `add`, and/or a `latency` distribution.
    Latency {
        /// Added processing time.
        add: Option<Dur>,
        /// Added processing time drawn per request from a distribution (with or instead of `add`).
        latency: Option<RawDist>,
        /// Uniform random extra in [0, latency_jitter] per request (Toxiproxy's jitter).
        latency_jitter: Option<Dur>,
    }
    /// Fail requests with probability `rate` while active (on top of the service's own `error_rate`).
    Errors {
        /// Failure probability 0..1.
        rate: Option<f64>,
    }
    /// Stop the service normally (a graceful shutdown: in-flight requests fail as with kill). Permanent
    /// services are restarted after `for`; transient and temporary ones stay down.
    Stop {}
    /// A bug: the service's handler panics when it next starts a request. The supervisor handles the
    /// crash like a kill (downtime: the service's `restart_delay`).
    Panic {}
    /// Device: USB unplugged for `for`; its supervisor reopens the stream afterwards.
    DeviceDisconnect {}
    /// Device: each period is an xrun with probability `rate`.
    XrunStorm {
        /// Xrun probability per period 0..1.
        rate: Option<f64>,
    }
    /// Device (`add`): every block's processing takes `add` longer. Service (`factor`): processing takes
    /// `factor` times longer.
    CpuStall {
        /// Added block processing time (device).
        add: Option<Dur>,
        /// Processing time multiplier (service), e.g. 3.0.
        factor: Option<f64>,
    }
    /// Device: the host runs at `host_rate_hz` while the device runs at its own rate.
    SampleRateMismatch {
        /// The host's sample rate [Hz].
        host_rate_hz: Option<u32>,
    }
    /// Device: its clock runs `ppm` parts per million fast (or slow, if negative).
    ClockDrift {
        /// Clock error [parts per million].
        ppm: Option<f64>,
    }
    /// Device: the computer captures bit-exact zeros (denied permission, wrong device).
    Silence {}
    /// The service stops answering: it holds its workers and every message waits until the fault ends.
    Hang {}
    /// Calls from the target to the `to` service (and their answers) are lost: callers time out.
    Partition {
        /// The other side of the partition.
        to: Option<String>,
    }
    /// The load generator's arrival rate is multiplied by `multiplier` (target = "load").
    LoadSpike {
        /// Arrival rate multiplier, e.g. 5.0.
        multiplier: Option<f64>,
    }
    /// Device: `gain_db` more input gain: the converters clip.
    Clipping {
        /// Extra input gain [dB].
        gain_db: Option<f64>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tags_are_the_fault_kinds_names() {
        // One source for the names: each kind parses under FaultKind's name and reports that kind.
        for k in FaultKind::ALL {
            let text = format!("fault = \"{}\"\ntarget = \"a\"\n", k.name());
            let raw: RawChaos = toml::from_str(&text).unwrap_or_else(|e| panic!("{k}: {e}"));
            assert_eq!(raw.kind(), *k);
        }
    }

    #[test]
    fn a_key_the_kind_does_not_take_is_refused_by_serde() {
        let e = toml::from_str::<RawChaos>("fault = \"kill\"\ntarget = \"a\"\nrate = 0.5\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `rate`"), "{e}");
    }
}
