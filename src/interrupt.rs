//! Ctrl-C (SIGINT) and SIGTERM. The first signal asks the work in progress to stop where it is and keep
//! what it has: a run ends at the current instant (`"ended": "interrupted"`) and its reports are written,
//! a sweep, shrink or exploration writes the runs it finished and its partial aggregate, marked
//! incomplete, and the process exits with [`EXIT_CODE`]. A second signal ends the process at once.
//!
//! The flag is process-wide (a signal is), read with one relaxed atomic load by the engine between
//! instants: no simulated state depends on when it is read, only where a run stops.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// The exit code of interrupted work: 128 + SIGINT, as shells report it.
pub const EXIT_CODE: u8 = 130;

/// Installs the handler (once per process; later calls do nothing). Without a handler (the library used
/// on its own), signals keep their default action.
pub fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                // The second signal: the user does not want to wait for the partial results.
                std::process::exit(i32::from(EXIT_CODE));
            }
            eprintln!("\ninterrupted: writing what is done (interrupt again to quit at once)");
        });
        if let Err(e) = installed {
            tracing::warn!("cannot handle Ctrl-C ({e}): an interrupted run keeps nothing");
        }
    });
}

/// Whether an interrupt was requested.
#[inline]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Requests an interrupt, as the signal does (for tests and embedders).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// The error of work interrupted before it had anything to keep (exit [`EXIT_CODE`]).
#[derive(Debug, thiserror::Error)]
#[error("interrupted before {0}: nothing was written")]
pub struct Interrupted(pub &'static str);
