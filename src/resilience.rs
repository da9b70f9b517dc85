//! Resilience mechanisms as pure state machines: time is passed in, nothing here knows about actix.
//! The service actors wrap them; the unit tests drive them directly.

pub mod autoscale;
pub mod breaker;
pub mod bulkhead;
pub mod health;
pub mod rate_limit;
pub mod retry;

pub use autoscale::{AutoscaleConfig, Autoscaler, Scale, ScaleMetric, replicas_for};
pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker, Permit, Transition, WindowKind};
pub use bulkhead::{Bulkhead, BulkheadConfig, Entry};
pub use health::{Check, CheckChange, HealthConfig, ProbeKind, Status, overall};
pub use rate_limit::{RateLimitConfig, RateLimiter};
pub use retry::{Backoff, BudgetConfig, RetryBudget, RetryConfig};
