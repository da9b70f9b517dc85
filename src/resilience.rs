//! Resilience mechanisms as pure state machines: time is passed in, nothing here knows about actix.
//! The service actors wrap them; the unit tests drive them directly.

pub mod breaker;
pub mod bulkhead;
pub mod rate_limit;
pub mod retry;

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker, Permit, Transition, WindowKind};
pub use bulkhead::{Bulkhead, BulkheadConfig, Entry};
pub use rate_limit::{RateLimitConfig, RateLimiter};
pub use retry::{Backoff, BudgetConfig, RetryBudget, RetryConfig};
