//! Integration tests: one binary, a module per behaviour.

mod audio;
mod bad_input;
mod bus;
mod chaos;
mod common;
mod determinism;
mod experiments;
mod explore;
mod fidelity;
mod gate;
mod gate_rates;
mod interrupt;
mod load;
mod outputs;
mod report;
mod resilience;
mod scenarios;
mod schemas;
mod shrink;
