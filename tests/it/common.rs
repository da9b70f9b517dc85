//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ag06_lab::run::{RunOutput, simulate};
use ag06_lab::scenario::Scenario;

/// The binary under test.
pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ag06-lab"))
}

/// Runs the binary with `args`.
pub(crate) fn run_bin(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Parses scenario text (panics with the error if invalid).
pub(crate) fn scenario(text: &str) -> Scenario {
    Scenario::from_toml(text, "test.toml", "test").unwrap_or_else(|e| panic!("{e}"))
}

/// Parses and runs scenario text at its own seed.
pub(crate) fn sim(text: &str) -> (Scenario, RunOutput) {
    let sc = scenario(text);
    let out = simulate(&sc, sc.seed, None).expect("the run completes");
    (sc, out)
}

/// Reads a file to a string.
pub(crate) fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
