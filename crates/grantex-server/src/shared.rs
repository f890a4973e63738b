//! The state of one server, shared by its HTTP handlers and its
//! [`TestServer`](crate::TestServer) handle.

use std::sync::Mutex;
use std::time::Duration;

use crate::clock::Clock;
use crate::faults::FaultQueue;
use crate::ratelimit::Limiter;
use crate::store::Store;

/// Everything the handlers share. Each part has its own lock, held briefly and never
/// across an `.await`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub limiter: Mutex<Limiter>,
    pub faults: Mutex<FaultQueue>,
    pub clock: Clock,
    /// How long a handler waits for a request's body (the header-read timeout).
    pub body_read_timeout: Duration,
}
