//! A real, in-process Grantex server for tests and demos.
//!
//! [`TestServer`] serves the hosted Grantex anomaly API on `127.0.0.1` with the hosted
//! server's semantics, as captured in the wire files: the same routes, JSON shapes
//! (including the quirk that `metadata` is an object in detect responses but a JSON
//! *string* in list and acknowledge responses), error bodies, rate limits and headers,
//! and the four detection rules with their thresholds, windows and wording.
//!
//! On top of that it has what tests need: a settable [`Clock`], seeding (audit
//! entries, grants, JSON fixtures, a demo seed), several accounts (one per API key,
//! or any key in demo mode), and [fault injection](Fault).
//!
//! ```no_run
//! use grantex_server::{AuditEntry, RateLimits, TestServer};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let server = TestServer::builder()
//!     .rate_limits(RateLimits::generous())
//!     .start()
//!     .await?;
//! for _ in 0..51 {
//!     server.record_audit(server.api_key(), AuditEntry::new("ag_busy"));
//! }
//! let response = reqwest::Client::new()
//!     .post(format!("{}/v1/anomalies/detect", server.url()))
//!     .bearer_auth(server.api_key())
//!     .send()
//!     .await?;
//! assert_eq!(response.status(), 200); // one rate_spike for ag_busy
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Routes
//!
//! The hosted API (bearer auth, counted against the plan's rate limit, faultable).
//! Errors are `{"message", "code", "requestId"}`: 400 `BAD_REQUEST`, 404 `NOT_FOUND`,
//! 401 `UNAUTHORIZED` without a known key. Ids in paths are percent-decoded; an id of
//! another account is unknown. `HEAD` is answered wherever `GET` is.
//!
//! Detect, list, acknowledge:
//! - `POST /v1/anomalies/detect` (per-route limit): runs the rules; the account's
//!   unacknowledged anomalies are replaced by the findings (new ids), acknowledged
//!   ones stay. Then, in `revoke_agent_grants` mode (the default), the active grants
//!   of every agent with a `high` or `critical` new anomaly are revoked. 200
//!   `{"detectedAt", "total", "autoRevokedGrants", "responseMode", "anomalies"}`
//!   (`autoRevokedGrants`: how many grants this run revoked, 0 in `alert_only`).
//! - `GET /v1/anomalies[?unacknowledged=true]`: 200 `{"anomalies", "total"}`,
//!   newest `detectedAt` first; filters only when the value is exactly `true`.
//! - `PATCH /v1/anomalies/{id}/acknowledge`: 200 the anomaly with `acknowledgedAt`
//!   set to now (again on every call; its alert `status` stays as it was), or 404
//!   "Anomaly not found".
//! - `POST /v1/audit/log` (per-route limit): records an audit entry (`agentId`,
//!   `agentDid`, `grantId`, `principalId`, `action` required; `metadata`, `status`
//!   `success|failure|blocked`; extension: `timestamp`, RFC 3339 or `now-5m`-style);
//!   201 with the entry (`id`, `entryId`, the fields, `timestamp`, `status`).
//!
//! Alerts: every stored anomaly is an alert `{"alertId" (its id), "ruleId" (null),
//! "ruleName" (its type), "severity", "status", "agentId", "detectedAt",
//! "description", "context" ({}), "acknowledgedAt", "resolvedAt"}`, with a status in
//! the lifecycle `open → acknowledged → resolved` (no transition is refused):
//! - `GET /v1/anomaly/alerts[?status=&severity=&agentId=&limit=]`: 200 `{"data"}`,
//!   newest first; `status` must be `open|acknowledged|resolved` ("Invalid status.
//!   Must be one of: open, acknowledged, resolved"), `severity`
//!   `critical|high|medium|low`; `limit` is read as JavaScript's `parseInt` reads it,
//!   default 100 (also for 0 or no number), clamped to 1..=1000.
//! - `GET /v1/anomaly/alerts/{alertId}`: 200 the alert, or 404 "Alert not found".
//! - `POST /v1/anomaly/alerts/{alertId}/acknowledge` and `.../resolve`, optional body
//!   `{"note"}` (stored, never returned; kept when the next call has none): 200 the
//!   alert with `status` and `acknowledgedAt` (resp. `resolvedAt`) set to now;
//!   resolving leaves `acknowledgedAt` alone. 404 "Alert not found".
//! - `GET /v1/anomaly/metrics[?window=1h|6h|24h&agentId=]`: 200 `{"window", "total",
//!   "byStatus": {"open", "acknowledged", "resolved"}, "bySeverity": {"critical",
//!   "high", "medium", "low"}}` over the anomalies detected within the window
//!   (default `24h`; else 400 "Invalid window. Must be one of: 1h, 6h, 24h").
//!
//! Rules and channels (stored only: nothing evaluates a custom rule or delivers to a
//! channel, as on the hosted server):
//! - `GET /v1/anomaly/rules`: 200 `{"rules"}`: the ten built-in rules `AD-001` ...
//!   `AD-010` (`builtIn: true`, no `id`), then the custom ones newest first, each
//!   `{"id", "ruleId", "name", "description", "condition" (a JSON string), "severity",
//!   "alertChannels", "enabled", "builtIn": false, "createdAt"}`.
//! - `POST /v1/anomaly/rules` (per-route limit) `{"ruleId", "name", "description"?,
//!   "condition", "severity"? (default `medium`), "alertChannels"?}`: 201 `{"id"
//!   (`arule_...`), "ruleId", "name", "description", "condition" (an object),
//!   "severity", "alertChannels", "enabled": true}`; 400 "ruleId and name are
//!   required", "condition is required and must be an object", "Invalid severity.
//!   Must be one of: critical, high, medium, low".
//! - `PATCH /v1/anomaly/rules/{id}` `{"enabled": bool}` (else 400 "enabled must be a
//!   boolean") on a custom rule's stored id: 200 the rule as listed. Built-in rules
//!   have no stored id and cannot be changed: 404 "Rule not found", like any unknown id.
//! - `DELETE /v1/anomaly/rules/{id}`: 204 (no body), or 404 "Rule not found".
//! - `GET /v1/anomaly/channels`: 200 `{"channels"}`, newest first, each `{"id",
//!   "type", "name", "config" (a JSON string, secrets included), "severities",
//!   "enabled", "createdAt"}`.
//! - `POST /v1/anomaly/channels` (per-route limit) `{"type": "slack"|"webhook"|"email",
//!   "name", "config": {...}, "severities"? (default `["critical", "high"]`)}`: 201
//!   `{"id" (`achan_...`), "type", "name", "config" (an object), "severities",
//!   "enabled": true}`; 400 "type is required and must be one of: slack, webhook,
//!   email", "name is required", "config is required and must be an object".
//! - `DELETE /v1/anomaly/channels/{id}`: 204, or 404 "Channel not found".
//!
//! Response policy (a newer hosted server than the captured one; the official SDK
//! grantex 0.7.2 calls it):
//! - `GET /v1/irregularities/response-policy`: 200 `{"mode"}`, `revoke_agent_grants`
//!   until changed.
//! - `PATCH /v1/irregularities/response-policy` `{"mode": "alert_only" |
//!   "revoke_agent_grants"}`: 200 `{"mode"}`, else 400 "mode must be alert_only or
//!   revoke_agent_grants".
//!
//! Test-only routes (not on the hosted server; never faulted or rate limited):
//! - `POST /v1/test/faults` with [`Fault`]'s JSON form
//!   `{"method"?, "path"?, "times"?, "action": "status"|"delay"|"drop"|"malformed",
//!   "status"?, "body"?, "retryAfter"?, "delayMs"?}` → 201 `{"pending"}`;
//!   `GET` → `{"pending"}` (uses left); `DELETE` clears them.
//! - `GET /v1/test/clock` → `{"now", "frozen"}`; `POST /v1/test/clock` with any of
//!   `{"reset": true, "set": "<RFC 3339>", "advanceMs": <signed ms>}` (applied in that
//!   order) → the same shape.
//! - `POST /v1/test/keys` `{"apiKey"}`: adds a known key (another account).
//! - With bearer auth, for the caller's account: `POST /v1/test/grants`
//!   `{"agentId", "principalId", "issuedAt"?}` → 201 the grant;
//!   `POST /v1/test/fixture` with a [fixture](TestServer::load_fixture) → 201
//!   `{"auditEntries", "grants"}`; `POST /v1/test/demo` seeds the demo activity.
//!
//! Unknown routes and wrong methods answer the framework's 404
//! `{"message": "Route POST:/v1/... not found", "error": "Not Found", "statusCode": 404}`.
//!
//! # Limits
//!
//! The server shares its process with the tests that use it, so what a client can make
//! it hold is bounded (all configurable on [`TestServerBuilder`]):
//!
//! - Connections: a request's headers must arrive within the
//!   [header-read timeout](TestServerBuilder::header_read_timeout) (10 s; from when the
//!   connection is served, or from the first bytes of a request on a kept-alive one),
//!   and its body within as long again (else 408 `REQUEST_TIMEOUT`); a kept-alive
//!   connection is closed after the [idle timeout](TestServerBuilder::idle_timeout)
//!   without a request (72 s, the hosted keep-alive: the `grantex` client's pool drops
//!   idle connections after 60 s). Stalled connections are closed, not answered.
//! - At most [`max_connections`](TestServerBuilder::max_connections) (256) are open
//!   at once. Further connections wait (they are not refused): the one accepted next
//!   is held until a slot frees, the others wait in the kernel's listen backlog; and
//!   while one waits, the connection idle the longest (for at least 0.5 s) is closed
//!   to make room. A connection in the middle of a request is never closed for room.
//! - Per account ([`StorageLimits`]): audit entries (100,000), grants (100,000) and
//!   anomalies (10,000) keep the newest, the earliest recorded being dropped (for
//!   anomalies, acknowledged ones, to make room for a detection run's findings; a run
//!   stores and reports at most the limit); custom rules and channels (1,000 each)
//!   answer 413 `{"message", "code": "PAYLOAD_TOO_LARGE", "requestId"}` beyond the
//!   limit. Each collection also holds at most 32 MiB of text (ids, metadata,
//!   conditions, configs, alert notes; a note past it is refused with 413). A
//!   request body is at most 1 MiB (413), and a fixture may not expand (`repeat`)
//!   past the audit limits (400). A server holds at most 10,000 accounts: a key that
//!   would open one more (any new key in demo mode) is answered 413.
//! - Fault [path patterns](Fault#structfield.path) are matched in time linear in the
//!   pattern and the path, and outside the lock every request takes.
//!
//! # Demo mode
//!
//! [`TestServerBuilder::demo`] accepts any non-empty bearer key as its own account
//! and seeds each account on first use with activity that trips every rule once,
//! as in the hosted example: detect returns `rate_spike` (`seed_ag_spike`, 55
//! actions), `high_failure_rate` (`seed_ag_fail`, 5/10), `new_principal`
//! (`seed_ag_new` from `user_new`) and `off_hours_activity` (`seed_ag_night`, 12
//! actions), at any time of day. The demo activity is regenerated relative to the
//! clock at each detect run, so a long-running demo server never goes stale. The seed
//! also stores an already-acknowledged anomaly with id `anom_abc123`, the id the
//! documentation's acknowledge example uses, so that example runs unchanged (it
//! shows up in unfiltered lists). It was acknowledged through the legacy route, so as
//! an alert it is still `open`: the documentation's alert examples
//! (`list_alerts(status="open")`, acknowledge and resolve the first) have an alert to
//! work on before any detect run. And the seed stores a custom rule under the id
//! `velocity_spike` ([`DOC_EXAMPLE_RULE_ID`]), the id the documentation's
//! `toggle_rule` example passes. No channel is seeded (the examples only create one).

#![warn(missing_docs)]

// The modules, each depending only on modules listed before it:
// - `sync`: the poison-tolerant `lock`; `clock`: `Timestamp` and `Clock`; `ids`: ids
//   and keys;
// - `records`: audit entries, grants, anomalies; `rules`: the four detection rules;
//   `demo`: the demo seed; `store`: accounts and keys; `fixture`: JSON fixtures;
// - `ratelimit`, `faults`, `conn`: limiters, injected faults, tracked connections
//   (their cap and timeouts);
// - `shared`: one server's state; `routes`: HTTP handling; this file: `TestServer`.
mod clock;
mod conn;
mod demo;
mod faults;
mod fixture;
mod ids;
mod ratelimit;
mod records;
mod routes;
mod rules;
mod shared;
mod store;
mod sync;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use clock::{Clock, ParseTimestampError, Timestamp};
pub use demo::{DOC_EXAMPLE_ANOMALY_ID, DOC_EXAMPLE_RULE_ID};
pub use faults::{Fault, FaultAction};
pub use fixture::{FixtureError, FixtureSummary};
pub use ratelimit::{RateLimits, WindowLimit};
pub use records::{AuditEntry, AuditStatus, Grant, ResponseMode, StoredAnomaly, StoredGrant};
pub use rules::{
    FAILURE_MIN_ENTRIES, FAILURE_RATE_THRESHOLD, OFF_HOURS_THRESHOLD, RATE_SPIKE_THRESHOLD,
};
pub use store::StorageLimits;

use conn::{ConnInfo, ConnLimits, ConnRegistry, TrackedListener};
use faults::FaultQueue;
use ratelimit::Limiter;
use records::{AuditRecord, GrantRecord};
use shared::Shared;
use store::Store;
use sync::lock;

/// How long [`TestServer::shutdown`] lets in-flight requests finish before it
/// closes the remaining connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The default [`TestServerBuilder::header_read_timeout`]: ample for any client on
/// 127.0.0.1, short enough that connections that never send a request go soon.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default [`TestServerBuilder::idle_timeout`]: the hosted server's keep-alive,
/// which the `grantex` client's pool stays under (it drops idle connections after
/// 60 s, so it never sends a request on a connection the server is closing).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(72);

/// The default [`TestServerBuilder::max_connections`]. Each connection holds two file
/// descriptors in the server (see `conn.rs`), and in a test the client's end is often
/// in the same process: 256 connections stay well under the common limit of 1,024
/// descriptors per process, and well above what a test suite keeps open.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding `127.0.0.1:port` failed (port in use, no permission, ...).
    #[error("could not bind 127.0.0.1:{port}: {source}")]
    Bind {
        /// The requested port (0 for any).
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Configures and starts a [`TestServer`].
///
/// Defaults: any free port, one generated key (`gx_test_...`), known keys only,
/// [`RateLimits::generous`] (so a test suite never trips them), no demo seed, and the
/// limits of the crate docs' [Limits](crate#limits) section.
#[derive(Clone, Debug)]
pub struct TestServerBuilder {
    port: u16,
    api_key: Option<String>,
    extra_api_keys: Vec<String>,
    accept_any_key: bool,
    seed_demo_on_first_use: bool,
    rate_limits: RateLimits,
    clock: Option<Clock>,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    storage_limits: StorageLimits,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        TestServerBuilder {
            port: 0,
            api_key: None,
            extra_api_keys: Vec::new(),
            accept_any_key: false,
            seed_demo_on_first_use: false,
            rate_limits: RateLimits::generous(),
            clock: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            storage_limits: StorageLimits::default(),
        }
    }
}

impl TestServerBuilder {
    /// The port to bind on 127.0.0.1; 0 (the default) lets the OS choose.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The default account's key instead of a generated `gx_test_...` one.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Another known key (its own account).
    pub fn extra_api_key(mut self, key: impl Into<String>) -> Self {
        self.extra_api_keys.push(key.into());
        self
    }

    /// Accept any non-empty bearer key, each becoming its own account on first use.
    pub fn accept_any_key(mut self, yes: bool) -> Self {
        self.accept_any_key = yes;
        self
    }

    /// Seed every account with the demo activity on first use (see the module docs).
    pub fn seed_demo_on_first_use(mut self, yes: bool) -> Self {
        self.seed_demo_on_first_use = yes;
        self
    }

    /// Demo mode: [`accept_any_key`](Self::accept_any_key) and
    /// [`seed_demo_on_first_use`](Self::seed_demo_on_first_use) together.
    pub fn demo(self, yes: bool) -> Self {
        self.accept_any_key(yes).seed_demo_on_first_use(yes)
    }

    /// The rate limits to enforce ([`RateLimits::hosted`], [`RateLimits::generous`]
    /// (the default), [`RateLimits::disabled`], or custom).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Share an existing clock (e.g. one already frozen) instead of a fresh one.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How long a connection may take to send a request's headers (from when it is
    /// served, or from the first bytes of a request on a kept-alive connection), and
    /// then the request's body; the connection is closed (the body: 408) past it.
    /// Default [`DEFAULT_HEADER_READ_TIMEOUT`] (10 s). Zero is taken as 1 ms.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a kept-alive connection may wait for its next request, and a response
    /// wait for the client to read it, before the connection is closed. Default
    /// [`DEFAULT_IDLE_TIMEOUT`] (72 s); keep it above the idle timeout of the clients'
    /// connection pools (60 s for the `grantex` client). Zero is taken as 1 ms.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many connections may be open at once; further ones wait (see the crate
    /// docs' [Limits](crate#limits)). Default [`DEFAULT_MAX_CONNECTIONS`] (256); at
    /// least 1.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// What each account may store (see [`StorageLimits`]).
    pub fn storage_limits(mut self, limits: StorageLimits) -> Self {
        self.storage_limits = limits;
        self
    }

    /// Binds 127.0.0.1 and starts serving on the current tokio runtime (call it from
    /// within one, e.g. under `Runtime::block_on`). The server runs until
    /// [`TestServer::shutdown`] or until the `TestServer` is dropped.
    pub async fn start(self) -> Result<TestServer, ServerError> {
        let listener = bind(self.port).map_err(|source| ServerError::Bind {
            port: self.port,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            port: self.port,
            source,
        })?;
        let api_key = self.api_key.unwrap_or_else(ids::random_api_key);
        let keys = std::iter::once(api_key.clone()).chain(self.extra_api_keys);
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new(
                keys,
                self.accept_any_key,
                self.seed_demo_on_first_use,
                self.storage_limits,
            )),
            limiter: Mutex::new(Limiter::new(self.rate_limits)),
            faults: Mutex::new(FaultQueue::default()),
            clock: self.clock.unwrap_or_default(),
            body_read_timeout: self.header_read_timeout,
        });
        let registry = Arc::new(ConnRegistry::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let app =
            routes::router(Arc::clone(&shared)).into_make_service_with_connect_info::<ConnInfo>();
        let limits = ConnLimits {
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
        };
        let listener = TrackedListener::new(listener, Arc::clone(&registry), limits);
        let task = tokio::spawn(serve(listener, app, stop_rx, registry));
        Ok(TestServer {
            addr,
            api_key,
            shared,
            stop: stop_tx,
            task: Mutex::new(Some(task)),
        })
    }
}

/// The listen backlog: connections waiting beyond the connection cap wait here (the
/// kernel holds them; the server spends no descriptor on them). Deeper than the usual
/// 128, past which the kernel drops connection attempts and clients retry a second
/// later; capped by the system (`net.core.somaxconn`).
const LISTEN_BACKLOG: u32 = 1024;

/// Binds 127.0.0.1:`port` as `TcpListener::bind` does, with a deeper backlog.
fn bind(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    // As `TcpListener::bind` (a restarted server can rebind a port in TIME_WAIT); not
    // on Windows, where it would let another process take the port.
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(LISTEN_BACKLOG)
}

async fn serve(
    listener: TrackedListener,
    app: axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, ConnInfo>,
    mut stop: watch::Receiver<bool>,
    registry: Arc<ConnRegistry>,
) {
    let mut stop_signal = stop.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        // Resolves on a stop request, or when the TestServer (the sender) is gone.
        let _ = stop_signal.wait_for(|stopped| *stopped).await;
    });
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    tokio::select! {
        _ = &mut server => return,
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
    // Idle keep-alive connections close at once; give in-flight requests (say, a
    // delay fault) a moment, then sever whatever is left.
    if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
        .await
        .is_err()
    {
        registry.close_all();
        let _ = server.await;
    }
}

/// A running local Grantex server; see the [crate docs](crate).
///
/// All methods except [`start`](TestServerBuilder::start) and
/// [`shutdown`](Self::shutdown) are synchronous and cheap, usable from any thread.
/// Dropping the server stops it (without waiting).
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    api_key: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl TestServer {
    /// A builder with the defaults of [`TestServerBuilder`].
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// Starts a server with the default configuration.
    pub async fn start() -> Result<TestServer, ServerError> {
        TestServerBuilder::default().start().await
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The default account's API key.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Makes `key` a known key: its own account, isolated from the others.
    pub fn add_api_key(&self, key: impl Into<String>) {
        lock(&self.shared.store).add_key(key.into());
    }

    /// Records an audit entry in `api_key`'s account (which becomes a known key if it
    /// was not). Returns the entry's id (`alog_...`). Beyond the account's
    /// [`StorageLimits`], the earliest recorded entries are dropped.
    pub fn record_audit(&self, api_key: &str, entry: AuditEntry) -> String {
        let now = self.shared.clock.now();
        let record = AuditRecord::new(entry, now);
        let id = record.id.clone();
        lock(&self.shared.store)
            .account(api_key, now)
            .record_audit(record);
        id
    }

    /// Records a grant in `api_key`'s account (which becomes a known key if it was
    /// not). Returns the grant's id (`grnt_...`). Beyond the account's
    /// [`StorageLimits`], the earliest recorded grants are dropped.
    pub fn record_grant(&self, api_key: &str, grant: Grant) -> String {
        let now = self.shared.clock.now();
        let record = GrantRecord::new(grant, now);
        let id = record.id.clone();
        lock(&self.shared.store)
            .account(api_key, now)
            .record_grant(record);
        id
    }

    /// How many audit entries `api_key`'s account holds (0 for an unknown key).
    pub fn audit_count(&self, api_key: &str) -> usize {
        lock(&self.shared.store)
            .existing(api_key)
            .map_or(0, |account| account.audit.len())
    }

    /// Seeds `api_key`'s account with the demo activity (see the module docs):
    /// detect then reports the four anomalies of the hosted example.
    pub fn seed_demo(&self, api_key: &str) {
        let now = self.shared.clock.now();
        lock(&self.shared.store)
            .account(api_key, now)
            .seed_demo(now);
    }

    /// Loads a JSON fixture into `api_key`'s account:
    /// `{"auditEntries": [...], "grants": [...]}`. Only `agentId` (and `principalId`
    /// for grants) is required; times are RFC 3339 or relative to the clock (`now`,
    /// `now-5m`, `now+2h`, `now-1d`; units `ms`, `s`, `m`, `h`, `d`), now if omitted;
    /// an audit entry's `repeat: n` records it n times. Nothing is loaded if the
    /// fixture is invalid.
    ///
    /// ```json
    /// {"auditEntries": [{"agentId": "ag_1", "status": "failure", "timestamp": "now-5m", "repeat": 3},
    ///                   {"agentId": "ag_1", "principalId": "user_1", "action": "email.send"}],
    ///  "grants": [{"agentId": "ag_1", "principalId": "user_9", "issuedAt": "now-1h"}]}
    /// ```
    pub fn load_fixture(
        &self,
        api_key: &str,
        fixture: &serde_json::Value,
    ) -> Result<FixtureSummary, FixtureError> {
        let now = self.shared.clock.now();
        fixture::load(&mut lock(&self.shared.store), api_key, fixture, now)
    }

    /// The account's stored anomalies, newest first (as `GET /v1/anomalies` lists
    /// them); empty for an unknown key.
    pub fn anomalies(&self, api_key: &str) -> Vec<StoredAnomaly> {
        lock(&self.shared.store)
            .existing(api_key)
            .map(|account| {
                account
                    .anomalies_newest_first(false)
                    .into_iter()
                    .map(|a| a.snapshot())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The account's stored grants, in the order they were recorded (with
    /// `revoked_at` set on those detection revoked); empty for an unknown key.
    pub fn grants(&self, api_key: &str) -> Vec<StoredGrant> {
        lock(&self.shared.store)
            .existing(api_key)
            .map(|account| account.grants.iter().map(GrantRecord::snapshot).collect())
            .unwrap_or_default()
    }

    /// The account's irregularity response mode (`revoke_agent_grants` by default).
    pub fn response_policy(&self, api_key: &str) -> ResponseMode {
        lock(&self.shared.store)
            .existing(api_key)
            .map(|account| account.response_mode)
            .unwrap_or_default()
    }

    /// Sets the account's irregularity response mode, as
    /// `PATCH /v1/irregularities/response-policy` does (the key becomes a known key).
    pub fn set_response_policy(&self, api_key: &str, mode: ResponseMode) {
        let now = self.shared.clock.now();
        lock(&self.shared.store).account(api_key, now).response_mode = mode;
    }

    /// The server's clock: every timestamp and window is measured on it.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Queues a fault (see [`Fault`]).
    pub fn inject_fault(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Removes all queued faults.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Uses left over all queued faults.
    pub fn pending_faults(&self) -> u64 {
        lock(&self.shared.faults).pending()
    }

    /// Replaces the rate limits (counts so far are forgotten).
    pub fn set_rate_limits(&self, limits: RateLimits) {
        lock(&self.shared.limiter).reconfigure(limits);
    }

    /// Stops accepting connections, lets in-flight requests finish (up to 2 s, then
    /// closes what is left) and waits until the server has stopped.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let task = lock(&self.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The serving task finishes on its own after this (the same graceful path).
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    /// The Python bindings keep a `TestServer` in a `#[pyclass]` used from any thread.
    #[test]
    fn server_types_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<super::TestServer>();
        send_sync::<super::Clock>();
        send_sync::<super::Fault>();
    }
}
