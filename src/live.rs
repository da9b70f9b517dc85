//! Live mode: the lab in real time, with the device backed by a real audio interface (cpal, behind the
//! `live` feature). The real-time engine that runs inside the audio callbacks is plain Rust and is built
//! (and tested for zero allocations) in every configuration; only the cpal glue needs the feature.
//!
//! This is the only module that reads the wall clock (`std::time::Instant`) or touches cpal.

pub mod engine;
