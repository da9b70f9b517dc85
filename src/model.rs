//! The output model: every file a run, a sweep or a comparison writes, as the types that write it and read
//! it back. The writer (`report`), the HTML report, `sweep`, `merge`, `compare` and the terminal summary all
//! use these types; nothing walks JSON by key or parses a detail string. `ag06-lab schema --output X`
//! prints their JSON Schemas (schemars, from the same types).
//!
//! This module depends on nothing else in the crate: the layers above build these values, the report
//! layer renders them.

pub mod compare;
pub mod event;
pub mod explore;
pub mod prediction;
pub mod rows;
pub mod shrink;
pub mod summary;
pub mod sweep;

/// Defines a closed set whose names are written in one place: the enum, its serde names, its JSON Schema
/// and `name()`/`Display` all come from the `Variant = "name"` list.
macro_rules! closed_set {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(
            Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, schemars::JsonSchema,
        )]
        $vis enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $var),+
        }

        impl $name {
            /// Every member, in declaration order.
            #[allow(dead_code)]
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The name written in files.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$var => $s),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
pub(crate) use closed_set;

/// The schema version of `summary.json`, `sweep.json` and `compare.json`.
pub const SCHEMA: u32 = 1;

/// An output file with a JSON Schema (`ag06-lab schema --output X`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// `summary.json` of a run.
    Summary,
    /// One line of `events.jsonl`.
    Events,
    /// `compare.json`.
    Compare,
    /// `sweep.json`.
    Sweep,
    /// `prediction.json` (compare of a simulated and a live run).
    Prediction,
    /// `shrink.json`.
    Shrink,
    /// `explore.json`.
    Explore,
}

impl Output {
    /// Its JSON Schema (draft 2020-12), generated from the types that write it.
    pub fn schema(self) -> schemars::Schema {
        match self {
            Output::Summary => schemars::schema_for!(summary::Summary),
            Output::Events => schemars::schema_for!(event::EventRecord),
            Output::Compare => schemars::schema_for!(compare::Comparison),
            Output::Sweep => schemars::schema_for!(sweep::SweepSummary),
            Output::Prediction => schemars::schema_for!(prediction::Prediction),
            Output::Shrink => schemars::schema_for!(shrink::ShrinkReport),
            Output::Explore => schemars::schema_for!(explore::ExploreReport),
        }
    }
}
