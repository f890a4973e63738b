//! The local Grantex server over real sockets, seen from an HTTP client (reqwest).
//!
//! One test crate, one module per area; `helpers` has what they share.

mod helpers;

mod alerts;
mod anomaly_rules;
mod channels;
mod conformance;
mod errors;
mod exhaustion;
mod faults;
mod lifecycle;
mod metrics;
mod rate_limits;
mod response_policy;
mod rules;
mod seeding;
mod stored_anomalies;
