//! The simulation engine: simulated time, seeded random streams, the event queue, and the lab that runs
//! actix actors in virtual time.

pub mod lab;
pub mod node;
pub mod queue;
pub mod rng;
pub mod time;

pub use lab::{Ending, EngineStats, Idle, Lab, Limits};
pub use node::{Behavior, Finish, Node, NodeAddr};
pub use queue::{EventQueue, TimerId};
pub use rng::{SimRng, stream};
pub use time::{SimDuration, SimTime};
