//! The local Grantex server over real sockets, seen from an HTTP client (reqwest).
//!
//! One test crate, one module per area; `helpers` has what they share.

mod helpers;

mod conformance;
mod errors;
mod faults;
mod lifecycle;
mod rate_limits;
mod rules;
mod seeding;
mod stored_anomalies;
