//! The ergonomic client: configuration, authentication, and the anomalies operations on top
//! of the generated client.

use std::{env, fmt, sync::Arc, time::Duration};

use progenitor_client::ClientInfo;
use reqwest::header::HeaderValue;

use crate::{
    error::Error,
    generated,
    models::{
        Alert, AlertChannel, Anomaly, AnomalyMetrics, AnomalyRule, DetectAnomaliesResponse,
        ListAlertsParams, ListAnomaliesParams, ListAnomaliesResponse, MetricsParams,
        NewAlertChannel, NewAnomalyRule, RateLimit, ResponseMode,
    },
    transport::{self, Hooks, RetryPolicy, Shared},
};

/// The hosted Grantex API.
pub const DEFAULT_BASE_URL: &str = "https://api.grantex.dev";
/// Per-attempt timeout unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Retries after the first attempt unless configured.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// The longest `Retry-After` honoured unless configured (the documented SDK's cap).
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// The largest response body read unless configured: far above any real answer (a list
/// of 1,000 anomalies is ~0.5 MB), low enough that a broken or hostile server cannot
/// exhaust memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// Idle pooled connections are dropped before the server's keep-alive (72 s) closes them,
/// so a request never lands on a connection the server is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A Grantex API client. Cheap to clone: clones share one connection pool and one
/// `last_rate_limit`.
#[derive(Clone)]
pub struct Grantex {
    api: generated::Client,
    shared: Arc<Shared>,
    base_url: Arc<str>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl Grantex {
    /// A builder; see [`GrantexBuilder`] for the defaults and environment variables.
    pub fn builder() -> GrantexBuilder {
        GrantexBuilder::default()
    }

    /// A client configured from `GRANTEX_API_KEY` and `GRANTEX_BASE_URL` alone.
    pub fn from_env() -> Result<Grantex, Error> {
        GrantexBuilder::default().build()
    }

    /// The anomalies operations.
    pub fn anomalies(&self) -> Anomalies<'_> {
        Anomalies { client: self }
    }

    /// The rate-limit headers of the last response any clone of this client received.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        self.shared.last_rate_limit()
    }

    /// This client with another per-attempt timeout. The two share one connection pool
    /// and one `last_rate_limit`: options for one call or one part of a program cost
    /// nothing (`client.with_timeout(Duration::from_secs(5)).anomalies().detect()`).
    pub fn with_timeout(&self, timeout: Duration) -> Result<Grantex, Error> {
        Ok(Grantex {
            timeout: positive("timeout", timeout)?,
            ..self.clone()
        })
    }

    /// This client with another number of retries (see [`Grantex::with_timeout`]).
    pub fn with_max_retries(&self, max_retries: u32) -> Grantex {
        let mut client = self.clone();
        client.retry.max_retries = max_retries;
        client
    }

    /// This client with another cap on `Retry-After` (see [`Grantex::with_timeout`]).
    pub fn with_max_retry_after(&self, max_retry_after: Duration) -> Grantex {
        let mut client = self.clone();
        client.retry.max_retry_after = max_retry_after;
        client
    }

    /// This client with a deadline for each call: attempts and the waits between them
    /// together (see [`Grantex::with_timeout`]). A retry whose wait would end past the
    /// deadline is not made: the call fails with the last attempt's error.
    pub fn with_deadline(&self, deadline: Duration) -> Result<Grantex, Error> {
        let mut client = self.clone();
        client.retry.deadline = Some(positive("deadline", deadline)?);
        Ok(client)
    }

    /// This client with another cap on the size of a response body, in bytes (see
    /// [`Grantex::with_timeout`]).
    pub fn with_max_response_bytes(&self, max_response_bytes: u64) -> Grantex {
        let hooks = Hooks {
            max_response_bytes,
            ..self.api.inner().clone()
        };
        Grantex {
            api: generated::Client::new_with_client(
                &self.base_url,
                self.api.client().clone(),
                hooks,
            ),
            ..self.clone()
        }
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The generated client, for operations this layer does not wrap. It sends the same
    /// headers through the same pool, but without this layer's retries and timeout.
    pub fn generated(&self) -> &generated::Client {
        &self.api
    }

    /// Sends one operation of a generated client through this client's request layer.
    /// `label` names the operation in log events (`GET /v1/anomalies`).
    pub(crate) async fn call<T, F, Fut>(&self, label: &'static str, send: F) -> Result<T, Error>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> Fut,
        Fut: std::future::Future<
            Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<()>>,
        >,
    {
        transport::execute(label, self.retry, self.timeout, send).await
    }
}

impl fmt::Debug for Grantex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grantex")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.retry.max_retries)
            .field("max_retry_after", &self.retry.max_retry_after)
            .field("deadline", &self.retry.deadline)
            .field("max_response_bytes", &self.api.inner().max_response_bytes)
            .finish()
    }
}

/// The anomalies operations of a [`Grantex`] client (`client.anomalies()`). `Copy`, and its
/// futures borrow only the client, so `client.anomalies().list(..)` can be stored and awaited later.
#[derive(Debug, Clone, Copy)]
pub struct Anomalies<'a> {
    client: &'a Grantex,
}

impl Anomalies<'_> {
    /// Runs anomaly detection across all agents (`POST /v1/anomalies/detect`).
    ///
    /// Replaces the account's unacknowledged anomalies with the ones found now.
    pub async fn detect(self) -> Result<DetectAnomaliesResponse, Error> {
        let api = &self.client.api;
        self.client
            .call("POST /v1/anomalies/detect", || {
                api.detect_anomalies().send()
            })
            .await
    }

    /// Lists stored anomalies, newest first (`GET /v1/anomalies`).
    pub async fn list(self, params: ListAnomaliesParams) -> Result<ListAnomaliesResponse, Error> {
        let api = &self.client.api;
        self.client
            .call("GET /v1/anomalies", || {
                let request = api.list_anomalies();
                // The query parameter is sent only when asked for: the server filters on
                // the exact string `true` and ignores everything else.
                if params.unacknowledged {
                    request.unacknowledged(true).send()
                } else {
                    request.send()
                }
            })
            .await
    }

    /// Marks an anomaly as reviewed (`PATCH /v1/anomalies/{id}/acknowledge`) and returns it
    /// with `acknowledged_at` set.
    ///
    /// The id is percent-encoded as one path segment; an id that cannot be one (`""`, `"."`,
    /// `".."`) is refused with [`Error::InvalidArgument`] before anything is sent.
    pub async fn acknowledge(self, anomaly_id: &str) -> Result<Anomaly, Error> {
        check_path_segment("anomaly_id", anomaly_id)?;
        let api = &self.client.api;
        self.client
            .call("PATCH /v1/anomalies/{id}/acknowledge", || {
                api.acknowledge_anomaly().id(anomaly_id).send()
            })
            .await
    }
}

/// The rest of the anomalies API: alerts, metrics, rules, channels and the response policy.
impl Anomalies<'_> {
    /// The alerts (stored anomalies with their lifecycle status), filtered
    /// (`GET /v1/anomaly/alerts`).
    pub async fn list_alerts(self, params: ListAlertsParams) -> Result<Vec<Alert>, Error> {
        let api = &self.client.api;
        let list = self
            .client
            .call("GET /v1/anomaly/alerts", || {
                let mut request = api.list_anomaly_alerts();
                if let Some(status) = &params.status {
                    request = request.status(status.clone());
                }
                if let Some(severity) = &params.severity {
                    request = request.severity(severity.clone());
                }
                if let Some(agent_id) = &params.agent_id {
                    request = request.agent_id(agent_id.clone());
                }
                if let Some(limit) = params.limit {
                    request = request.limit(limit);
                }
                request.send()
            })
            .await?;
        Ok(list.data)
    }

    /// One alert (`GET /v1/anomaly/alerts/{alertId}`).
    pub async fn get_alert(self, alert_id: &str) -> Result<Alert, Error> {
        check_path_segment("alert_id", alert_id)?;
        let api = &self.client.api;
        self.client
            .call("GET /v1/anomaly/alerts/{id}", || {
                api.get_anomaly_alert().alert_id(alert_id).send()
            })
            .await
    }

    /// Moves an alert to `acknowledged`, with an optional note that the server stores
    /// (`POST /v1/anomaly/alerts/{alertId}/acknowledge`).
    pub async fn acknowledge_alert(
        self,
        alert_id: &str,
        note: Option<&str>,
    ) -> Result<Alert, Error> {
        let api = &self.client.api;
        let label = "POST /v1/anomaly/alerts/{id}/acknowledge";
        self.move_alert(label, alert_id, note, |id, body| {
            api.acknowledge_alert().alert_id(id).body(body).send()
        })
        .await
    }

    /// Moves an alert to `resolved`, with an optional note
    /// (`POST /v1/anomaly/alerts/{alertId}/resolve`).
    pub async fn resolve_alert(self, alert_id: &str, note: Option<&str>) -> Result<Alert, Error> {
        let api = &self.client.api;
        let label = "POST /v1/anomaly/alerts/{id}/resolve";
        self.move_alert(label, alert_id, note, |id, body| {
            api.resolve_alert().alert_id(id).body(body).send()
        })
        .await
    }

    /// One step of an alert's lifecycle: the id checked, the note as the body.
    async fn move_alert<'i, F, Fut>(
        self,
        label: &'static str,
        alert_id: &'i str,
        note: Option<&str>,
        send: F,
    ) -> Result<Alert, Error>
    where
        F: Fn(&'i str, generated::types::AlertNote) -> Fut,
        Fut: std::future::Future<
            Output = Result<progenitor_client::ResponseValue<Alert>, progenitor_client::Error<()>>,
        >,
    {
        check_path_segment("alert_id", alert_id)?;
        let body = generated::types::AlertNote {
            note: note.map(str::to_owned),
        };
        self.client
            .call(label, || send(alert_id, body.clone()))
            .await
    }

    /// Counts of the alerts detected within a window (`GET /v1/anomaly/metrics`).
    pub async fn metrics(self, params: MetricsParams) -> Result<AnomalyMetrics, Error> {
        let api = &self.client.api;
        self.client
            .call("GET /v1/anomaly/metrics", || {
                let mut request = api.get_anomaly_metrics();
                if let Some(window) = &params.window {
                    request = request.window(window.clone());
                }
                if let Some(agent_id) = &params.agent_id {
                    request = request.agent_id(agent_id.clone());
                }
                request.send()
            })
            .await
    }

    /// The built-in rules, then the account's custom rules (`GET /v1/anomaly/rules`).
    pub async fn list_rules(self) -> Result<Vec<AnomalyRule>, Error> {
        let api = &self.client.api;
        let list = self
            .client
            .call("GET /v1/anomaly/rules", || api.list_anomaly_rules().send())
            .await?;
        Ok(list.rules)
    }

    /// Stores a custom rule (`POST /v1/anomaly/rules`).
    pub async fn create_rule(self, rule: NewAnomalyRule) -> Result<AnomalyRule, Error> {
        let api = &self.client.api;
        self.client
            .call("POST /v1/anomaly/rules", || {
                api.create_anomaly_rule().body(rule.clone()).send()
            })
            .await
    }

    /// Enables or disables a custom rule, named by its `rule_id` (or its stored id).
    ///
    /// The server changes rules by their stored id (`PATCH /v1/anomaly/rules/{id}`) and
    /// only custom ones, while the documentation names rules by `rule_id`: the rule is
    /// looked up first. A built-in rule is an [`Error::InvalidArgument`] (the server cannot
    /// change it); an id that names no rule gets the server's 404.
    pub async fn toggle_rule(self, rule_id: &str, enabled: bool) -> Result<AnomalyRule, Error> {
        let id = self.stored_rule_id(rule_id, "enabled or disabled").await?;
        let api = &self.client.api;
        let body = generated::types::RuleToggle { enabled };
        self.client
            .call("PATCH /v1/anomaly/rules/{id}", || {
                api.update_anomaly_rule()
                    .id(id.as_str())
                    .body(body.clone())
                    .send()
            })
            .await
    }

    /// Deletes a custom rule, named by its `rule_id` (or its stored id), as
    /// [`toggle_rule`](Self::toggle_rule) finds it (`DELETE /v1/anomaly/rules/{id}`).
    pub async fn delete_rule(self, rule_id: &str) -> Result<(), Error> {
        let id = self.stored_rule_id(rule_id, "deleted").await?;
        let api = &self.client.api;
        self.client
            .call("DELETE /v1/anomaly/rules/{id}", || {
                api.delete_anomaly_rule().id(id.as_str()).send()
            })
            .await
    }

    /// The stored id of the rule that `rule_id` names; itself when no rule has it (the
    /// server then answers 404).
    async fn stored_rule_id(self, rule_id: &str, change: &str) -> Result<String, Error> {
        check_path_segment("rule_id", rule_id)?;
        let rules = self.list_rules().await?;
        let named = rules
            .iter()
            .find(|r| r.id.as_deref() == Some(rule_id))
            .or_else(|| rules.iter().find(|r| r.rule_id == rule_id));
        match named {
            Some(rule) => match &rule.id {
                Some(id) if !rule.built_in => Ok(id.clone()),
                _ => Err(Error::InvalidArgument(format!(
                    "rule {rule_id:?} is a built-in rule: the server does not let it be {change}"
                ))),
            },
            None => Ok(rule_id.to_owned()),
        }
    }

    /// The account's notification channels (`GET /v1/anomaly/channels`).
    pub async fn list_channels(self) -> Result<Vec<AlertChannel>, Error> {
        let api = &self.client.api;
        let list = self
            .client
            .call("GET /v1/anomaly/channels", || {
                api.list_alert_channels().send()
            })
            .await?;
        Ok(list.channels)
    }

    /// Stores a notification channel (`POST /v1/anomaly/channels`).
    pub async fn create_channel(self, channel: NewAlertChannel) -> Result<AlertChannel, Error> {
        let api = &self.client.api;
        self.client
            .call("POST /v1/anomaly/channels", || {
                api.create_alert_channel().body(channel.clone()).send()
            })
            .await
    }

    /// Deletes a notification channel (`DELETE /v1/anomaly/channels/{id}`).
    pub async fn delete_channel(self, channel_id: &str) -> Result<(), Error> {
        check_path_segment("channel_id", channel_id)?;
        let api = &self.client.api;
        self.client
            .call("DELETE /v1/anomaly/channels/{id}", || {
                api.delete_alert_channel().id(channel_id).send()
            })
            .await
    }

    /// The account's response to what detect finds
    /// (`GET /v1/irregularities/response-policy`), as the server names it.
    pub async fn response_policy(self) -> Result<String, Error> {
        let api = &self.client.api;
        let policy = self
            .client
            .call("GET /v1/irregularities/response-policy", || {
                api.get_response_policy().send()
            })
            .await?;
        Ok(policy.mode)
    }

    /// Selects the response policy (`PATCH /v1/irregularities/response-policy`); returns
    /// the mode now in force.
    pub async fn set_response_policy(self, mode: ResponseMode) -> Result<String, Error> {
        let api = &self.client.api;
        let body = crate::models::ResponsePolicy {
            mode: mode.as_str().to_owned(),
        };
        let policy = self
            .client
            .call("PATCH /v1/irregularities/response-policy", || {
                api.set_response_policy().body(body.clone()).send()
            })
            .await?;
        Ok(policy.mode)
    }
}

/// URL parsers collapse `.` and `..` even when escaped, and an empty segment changes the
/// route: such an id would reach another endpoint, so it is refused instead.
fn check_path_segment(name: &str, id: &str) -> Result<(), Error> {
    match id {
        "" => Err(Error::InvalidArgument(format!("{name} must not be empty"))),
        "." | ".." => Err(Error::InvalidArgument(format!(
            "{name} {id:?} cannot be used as a URL path segment"
        ))),
        _ => Ok(()),
    }
}

/// Configures a [`Grantex`] client.
///
/// Unset values come from the environment, then from the defaults: the API key from
/// `GRANTEX_API_KEY`, the base URL from `GRANTEX_BASE_URL`, else [`DEFAULT_BASE_URL`].
#[derive(Clone, Default)]
pub struct GrantexBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    max_retries: Option<u32>,
    max_retry_after: Option<Duration>,
    user_agent: Option<String>,
    proxy: Option<String>,
    ca_file: Option<std::path::PathBuf>,
    deadline: Option<Duration>,
    max_response_bytes: Option<u64>,
    http_client: Option<reqwest::Client>,
}

impl GrantexBuilder {
    /// The API key (surrounding white space is trimmed; an empty one counts as not given).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The API's base URL; a path prefix is kept, a trailing slash dropped.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The timeout of each attempt, from connecting to the end of the body (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries after the first attempt (default 3; `0` sends each request once).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// The longest `Retry-After` honoured (default 120 s); a longer one is cut to this.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = Some(wait);
        self
    }

    /// Sends every request through this proxy (`http://`, `https://` or `socks5://` URL),
    /// instead of the one `HTTP_PROXY`/`HTTPS_PROXY` name.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Trusts the root certificates of this PEM file too (a private CA), besides the
    /// system's.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The longest one call may take, attempts and waits included (default: none; see
    /// [`Grantex::with_deadline`]).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The largest response body read, in bytes (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 32 MiB); a larger one fails the call with
    /// [`Error::ResponseTooLarge`] as soon as the cap is crossed.
    pub fn max_response_bytes(mut self, max_response_bytes: u64) -> Self {
        self.max_response_bytes = Some(max_response_bytes);
        self
    }

    /// Sends requests through this `reqwest::Client` (its pool, TLS, proxy and middleware
    /// settings) instead of one built here. The key and the `User-Agent` are still added to
    /// each request; timeouts, retries and the size cap still apply. The client's redirect
    /// policy is its own: build it with `redirect(Policy::none())` to keep Grantex's rule
    /// that a 3xx is an error. Cannot be combined with [`proxy`](Self::proxy) or
    /// [`ca_file`](Self::ca_file), which configure the client built here.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Replaces the `User-Agent` (default `grantex-rust/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Builds the client. Fails with [`Error::Config`] on a missing or unusable key or a
    /// malformed base URL; the message never contains the key.
    pub fn build(self) -> Result<Grantex, Error> {
        // As in the documented SDK (`api_key or os.environ[...]`): an empty key is no key.
        let given = |k: &String| !k.trim().is_empty();
        let api_key = self
            .api_key
            .filter(given)
            .or_else(|| env::var("GRANTEX_API_KEY").ok().filter(given))
            .map(|k| k.trim().to_owned())
            .ok_or_else(|| {
                Error::Config(
                    "Grantex API key is required. Pass `api_key` or set the GRANTEX_API_KEY \
                     environment variable."
                        .into(),
                )
            })?;
        let base_url = normalize_base_url(
            &self
                .base_url
                .or_else(|| {
                    env::var("GRANTEX_BASE_URL")
                        .ok()
                        .filter(|u| !u.trim().is_empty())
                })
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
        )?;
        let timeout = positive("timeout", self.timeout.unwrap_or(DEFAULT_TIMEOUT))?;
        let deadline = self
            .deadline
            .map(|deadline| positive("deadline", deadline))
            .transpose()?;

        if api_key.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::Config(
                "the API key contains white space or control characters".into(),
            ));
        }
        let mut authorization =
            HeaderValue::try_from(format!("Bearer {api_key}")).map_err(|_| {
                Error::Config(
                    "the API key contains characters not allowed in an HTTP header".into(),
                )
            })?;
        authorization.set_sensitive(true);
        let user_agent = self
            .user_agent
            .unwrap_or_else(|| format!("grantex-rust/{}", env!("CARGO_PKG_VERSION")));
        let user_agent = HeaderValue::try_from(user_agent).map_err(|_| {
            Error::Config("user_agent contains characters not allowed in an HTTP header".into())
        })?;

        let http = match self.http_client {
            Some(_) if self.proxy.is_some() || self.ca_file.is_some() => {
                return Err(Error::Config(
                    "proxy and ca_file configure the HTTP client built by Grantex; set them \
                     on your own reqwest::Client instead"
                        .into(),
                ));
            }
            Some(client) => client,
            None => build_http_client(self.proxy.as_deref(), self.ca_file.as_deref())?,
        };

        let shared = Arc::new(Shared::default());
        Ok(Grantex {
            api: generated::Client::new_with_client(
                &base_url,
                http,
                Hooks {
                    shared: shared.clone(),
                    authorization,
                    user_agent,
                    max_response_bytes: self
                        .max_response_bytes
                        .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
                },
            ),
            shared,
            base_url: base_url.into(),
            timeout,
            retry: RetryPolicy {
                max_retries: self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
                max_retry_after: self.max_retry_after.unwrap_or(DEFAULT_MAX_RETRY_AFTER),
                deadline,
            },
        })
    }
}

impl fmt::Debug for GrantexBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantexBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_retry_after", &self.max_retry_after)
            .field("proxy", &self.proxy.as_ref().map(|_| "[set]"))
            .field("ca_file", &self.ca_file)
            .field("deadline", &self.deadline)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("http_client", &self.http_client.as_ref().map(|_| "[given]"))
            .finish()
    }
}

/// A timeout or deadline, refused when zero (nothing could ever answer in time).
fn positive(name: &str, duration: Duration) -> Result<Duration, Error> {
    if duration.is_zero() {
        return Err(Error::Config(format!("{name} must be greater than zero")));
    }
    Ok(duration)
}

/// The HTTP client built when the user brings none.
fn build_http_client(
    proxy: Option<&str>,
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::Client, Error> {
    let mut http = reqwest::Client::builder();
    if let Some(proxy) = proxy {
        // The message leaves the URL out: it may hold the proxy's credentials.
        let proxy = reqwest::Proxy::all(proxy)
            .map_err(|_| Error::Config("proxy is not a valid proxy URL".into()))?;
        http = http.proxy(proxy);
    }
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            Error::Config(format!("could not read ca_file {}: {e}", path.display()))
        })?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            Error::Config(format!(
                "ca_file {} holds no PEM certificate: {e}",
                path.display()
            ))
        })?;
        if roots.is_empty() {
            return Err(Error::Config(format!(
                "ca_file {} holds no PEM certificate",
                path.display()
            )));
        }
        http = http.tls_certs_merge(roots);
    }
    http.pool_idle_timeout(POOL_IDLE_TIMEOUT)
        // A 3xx is an error (`ApiError::location`): another origin's answer is not
        // Grantex's, and following would turn a POST or PATCH into a GET.
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .build()
        .map_err(|e| {
            // Out of file descriptors (or memory) is the machine's state, not a mistake in
            // the configuration; the TLS stack reports it without the OS error, so a socket
            // is tried to find it.
            match std::net::UdpSocket::bind("127.0.0.1:0") {
                Err(os) => Error::Resources {
                    message: format!("could not build the HTTP client: {os}"),
                    source: os,
                },
                Ok(_) => Error::Config(format!(
                    "could not build the HTTP client: {}",
                    crate::error::describe_chain(&e)
                )),
            }
        })
}

/// Checks the base URL and drops trailing slashes, so paths never start with `//`.
fn normalize_base_url(raw: &str) -> Result<String, Error> {
    let trimmed = raw.trim();
    if !trimmed.contains("://") {
        return Err(Error::Config(format!(
            "base_url {trimmed:?} has no scheme: use \"http://{trimmed}\" or \"https://{trimmed}\""
        )));
    }
    let url = url::Url::parse(trimmed)
        .map_err(|e| Error::Config(format!("base_url {trimmed:?} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Config(format!(
            "base_url {trimmed:?} must be an http or https URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base_url {trimmed:?} must not have a query or a fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Credentials in the URL would end up in error messages; the key goes in api_key.
        return Err(Error::Config(
            "base_url must not contain credentials".into(),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_keeps_its_prefix_and_loses_trailing_slashes() {
        assert_eq!(normalize_base_url("http://h:1/").unwrap(), "http://h:1");
        assert_eq!(
            normalize_base_url("http://h/api/v0//").unwrap(),
            "http://h/api/v0"
        );
        for bad in [
            "not a url",
            "ftp://h",
            "http://h/?a=1",
            "http://u:p@h/",
            "/relative",
        ] {
            assert!(
                matches!(normalize_base_url(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }
}
