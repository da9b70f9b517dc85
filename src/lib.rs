//! ag06-lab: an actor-system simulation and resilience lab for real-time audio systems and the services
//! around them.
//!
//! ```text
//!  scenario.toml ──parse+validate──▶ Scenario ──build──▶ actor graph (one actix System, one thread)
//!                                                        RootSupervisor ── services (queue + workers)
//!                                                        LoadGenerator ── arrivals, end-to-end latency
//!                                                        ChaosInjector ── faults on schedule
//!                                                        Recorder      ── event log
//!                                                               │   driven by the Lab: SimTime (ns) +
//!                                                               │   event queue + in-flight accounting
//!                                                               ▼
//!            reports/<name>/ ◀── summary.json, timeseries.csv, events.csv
//! ```
//!
//! [`sim`] is the engine (virtual time for actix actors), [`scenario`] the file format, [`actors`] the
//! modelled system, [`metrics`] what the actors measure, [`report`] the output files, [`cli`] the command
//! line.

pub(crate) mod actors;
pub(crate) mod arrivals;
pub mod cli;
pub mod compare;
pub(crate) mod dist;
pub mod dsp;
pub(crate) mod evaluate;
pub(crate) mod experiment;
pub mod explore;
pub(crate) mod figures;
pub mod interrupt;
pub mod live;
pub(crate) mod metrics;
pub mod model;
pub mod reference;
pub mod report;
pub mod resilience;
pub mod run;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub(crate) mod slo;
pub(crate) mod supervision;
pub mod sweep;
