//! The client against a real HTTP server on 127.0.0.1 that answers with canned responses,
//! most of them captured from the hosted Grantex server (`tests/fixtures/wire`).

mod common;

use std::time::{Duration, Instant};

use common::{wire_body, Canned, CannedServer};
use grantex::{Error, ListAnomaliesParams};
use serde_json::json;

const KEY: &str = "gx_test_secret_key_123";

#[tokio::test]
async fn detect_posts_without_a_body_and_decodes_the_wire_response() {
    let server = CannedServer::start([Canned::wire("detect-200")]).await;
    let client = server.client().build().unwrap();

    let result = client.anomalies().detect().await.unwrap();

    assert_eq!(result.detected_at, "2026-11-25T06:07:19.432Z");
    assert_eq!(result.total, 4);
    let types: Vec<_> = result.anomalies.iter().map(|a| a.type_.as_str()).collect();
    assert_eq!(
        types,
        [
            "rate_spike",
            "high_failure_rate",
            "new_principal",
            "off_hours_activity"
        ]
    );
    let spike = &result.anomalies[0];
    assert_eq!(spike.id, "anm_01M88N1MW8Q7ESJ7JDVT54D642");
    assert_eq!(spike.severity, "high");
    assert_eq!(spike.agent_id.as_deref(), Some("seed_ag_spike"));
    assert_eq!(spike.principal_id, None);
    assert_eq!(
        spike.metadata,
        json!({"count": 55, "windowHours": 1, "threshold": 50})
    );
    assert_eq!(spike.acknowledged_at, None);
    assert_eq!(
        result.anomalies[2].principal_id.as_deref(),
        Some("user_new")
    );

    let [request] = &server.requests()[..] else {
        panic!("one request expected")
    };
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/v1/anomalies/detect");
    assert!(request.body.is_empty(), "detect sends no body");
    assert_eq!(
        request.header("content-type"),
        None,
        "an empty JSON body is a 400"
    );
    assert_eq!(
        request.header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(request.header("accept"), Some("application/json"));
    let agent = request.header("user-agent").unwrap();
    assert!(agent.starts_with("grantex-rust/"), "{agent}");
}

#[tokio::test]
async fn list_decodes_metadata_sent_as_a_json_string() {
    let server = CannedServer::start([Canned::wire("list-200")]).await;
    let client = server.client().build().unwrap();

    let result = client.anomalies().list(Default::default()).await.unwrap();

    assert_eq!(result.total, 4);
    let spike = result
        .anomalies
        .iter()
        .find(|a| a.type_ == "rate_spike")
        .unwrap();
    assert_eq!(
        spike.metadata,
        json!({"count": 55, "windowHours": 1, "threshold": 50})
    );
    let keys: Vec<_> = spike.metadata.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["count", "windowHours", "threshold"],
        "the server's key order"
    );
    let failing = result
        .anomalies
        .iter()
        .find(|a| a.type_ == "high_failure_rate")
        .unwrap();
    assert_eq!(failing.metadata["threshold"], json!(0.2));
    assert_eq!(server.requests()[0].method, "GET");
    assert_eq!(
        server.requests()[0].target,
        "/v1/anomalies",
        "no query unless asked for"
    );
}

#[tokio::test]
async fn list_sends_unacknowledged_only_when_asked() {
    let server = CannedServer::start([Canned::wire("list-unacknowledged-200")]).await;
    let client = server.client().build().unwrap();

    let params = ListAnomaliesParams {
        unacknowledged: true,
    };
    let result = client.anomalies().list(params).await.unwrap();

    assert_eq!(result.anomalies.len(), 4);
    assert_eq!(
        server.requests()[0].target,
        "/v1/anomalies?unacknowledged=true"
    );
}

#[tokio::test]
async fn acknowledge_patches_without_a_body_and_returns_the_anomaly() {
    let server = CannedServer::start([Canned::wire("acknowledge-200")]).await;
    let client = server.client().build().unwrap();

    let anomaly = client
        .anomalies()
        .acknowledge("anm_01M88N1MW85NN6G98M105YW80V")
        .await
        .unwrap();

    assert_eq!(
        anomaly.acknowledged_at.as_deref(),
        Some("2026-11-25T06:07:24.809Z")
    );
    assert_eq!(anomaly.metadata["badCount"], json!(5));
    let request = &server.requests()[0];
    assert_eq!(request.method, "PATCH");
    assert_eq!(
        request.target,
        "/v1/anomalies/anm_01M88N1MW85NN6G98M105YW80V/acknowledge"
    );
    assert!(request.body.is_empty());
    assert_eq!(request.header("content-type"), None);
}

#[tokio::test]
async fn hostile_ids_stay_one_path_segment() {
    let cases = [
        ("a/b?c#d", "/v1/anomalies/a%2Fb%3Fc%23d/acknowledge"),
        ("../x", "/v1/anomalies/..%2Fx/acknowledge"),
        ("%2F", "/v1/anomalies/%252F/acknowledge"),
        ("a b", "/v1/anomalies/a%20b/acknowledge"),
        ("...", "/v1/anomalies/.../acknowledge"),
    ];
    let server = CannedServer::start(cases.iter().map(|_| Canned::wire("acknowledge-200"))).await;
    let client = server.client().build().unwrap();
    for (id, _) in cases {
        client.anomalies().acknowledge(id).await.unwrap();
    }
    let targets: Vec<_> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, cases.map(|(_, target)| target.to_owned()));
}

#[tokio::test]
async fn ids_that_cannot_be_a_path_segment_are_refused_before_sending() {
    let server = CannedServer::start([]).await;
    let client = server.client().build().unwrap();
    for id in ["", ".", ".."] {
        let error = client.anomalies().acknowledge(id).await.unwrap_err();
        assert!(
            matches!(error, Error::InvalidArgument(_)),
            "{id:?}: {error:?}"
        );
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn base_url_prefix_is_kept_and_a_trailing_slash_adds_no_empty_segment() {
    let server = CannedServer::start([Canned::wire("list-200")]).await;
    let client = grantex::Grantex::builder()
        .api_key(KEY)
        .base_url(format!("{}/gateway/", server.url))
        .build()
        .unwrap();
    client.anomalies().list(Default::default()).await.unwrap();
    assert_eq!(server.requests()[0].target, "/gateway/v1/anomalies");
}

#[tokio::test]
async fn unknown_fields_values_and_omitted_optionals_decode() {
    let body = json!({
        "detectedAt": "2026-11-25T06:07:19.432Z", "total": 1, "autoRevokedGrants": 3,
        "responseMode": "alert_only",
        "anomalies": [{
            "id": "anm_x", "type": "token_replay", "severity": "critical",
            "description": "new kind", "detectedAt": "2026-11-25T06:07:19.432Z",
            "riskScore": 0.93
        }]
    });
    let server = CannedServer::start([Canned::json(200, &body.to_string())]).await;
    let result = server
        .client()
        .build()
        .unwrap()
        .anomalies()
        .detect()
        .await
        .unwrap();
    let anomaly = &result.anomalies[0];
    assert_eq!(
        (anomaly.type_.as_str(), anomaly.severity.as_str()),
        ("token_replay", "critical")
    );
    assert_eq!(
        (anomaly.agent_id.clone(), anomaly.acknowledged_at.clone()),
        (None, None)
    );
    assert_eq!(anomaly.metadata, json!({}));
}

#[tokio::test]
async fn metadata_that_is_not_an_object_is_kept_as_sent() {
    let body = json!({"id": "a", "type": "t", "severity": "low", "description": "d",
        "detectedAt": "x", "metadata": "not json at all"});
    let server = CannedServer::start([Canned::json(200, &body.to_string())]).await;
    let anomaly = server
        .client()
        .build()
        .unwrap()
        .anomalies()
        .acknowledge("a")
        .await
        .unwrap();
    assert_eq!(anomaly.metadata, json!("not json at all"));
}

async fn single_error(canned: Canned) -> Error {
    let server = CannedServer::start([canned]).await;
    let client = server.client().max_retries(0).build().unwrap();
    let error = client.anomalies().acknowledge("anm_1").await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    error
}

fn api(error: &Error) -> &grantex::ApiError {
    error
        .as_api()
        .unwrap_or_else(|| panic!("an API error expected, got {error:?}"))
}

#[tokio::test]
async fn application_error_shape_gives_code_message_and_request_id() {
    let error = single_error(Canned::wire("acknowledge-unknown-404")).await;
    let e = api(&error);
    assert_eq!(e.status, 404);
    assert_eq!(e.code.as_deref(), Some("NOT_FOUND"));
    assert_eq!(e.message, "Anomaly not found");
    assert_eq!(
        e.request_id.as_deref(),
        Some("4c4a6715-107c-409f-91d4-dcea5dbd460e")
    );
    assert_eq!(e.rate_limit.map(|r| r.remaining), Some(93));
    assert!(!error.is_auth() && !error.is_retryable());
    assert_eq!(error.request_id(), e.request_id.as_deref());
    let text = error.to_string();
    assert!(
        text.contains("Anomaly not found") && text.contains("404"),
        "{text}"
    );
}

#[tokio::test]
async fn framework_error_shape_gives_its_message_without_a_code() {
    let error = single_error(Canned::wire("acknowledge-wrong-method-404")).await;
    let e = api(&error);
    assert_eq!(e.status, 404);
    assert!(
        e.message.starts_with("Route POST:/v1/anomalies/"),
        "{}",
        e.message
    );
    assert_eq!((e.code.clone(), e.request_id.clone()), (None, None));
    assert_eq!(e.body.as_ref().unwrap()["statusCode"], json!(404));
}

#[tokio::test]
async fn missing_and_bad_keys_are_authentication_errors() {
    for (name, message) in [
        (
            "list-no-auth-401",
            "Missing or invalid Authorization header",
        ),
        ("list-bad-key-401", "Invalid API key"),
    ] {
        let error = single_error(Canned::wire(name)).await;
        assert!(error.is_auth(), "{name}");
        assert_eq!(api(&error).message, message);
        assert_eq!(api(&error).code.as_deref(), Some("UNAUTHORIZED"));
    }
    let forbidden = single_error(Canned::json(403, r#"{"message":"Forbidden"}"#)).await;
    assert!(forbidden.is_auth());
}

#[tokio::test]
async fn bad_request_and_rate_limit_errors_keep_their_details() {
    let error = single_error(Canned::wire("acknowledge-empty-json-body-400")).await;
    assert_eq!(api(&error).code.as_deref(), Some("BAD_REQUEST"));
    assert_eq!(api(&error).status, 400);

    let error = single_error(Canned::wire("detect-rate-limited-429")).await;
    let e = api(&error);
    assert_eq!((e.status, e.code.as_deref()), (429, Some("BAD_REQUEST")));
    assert_eq!(e.retry_after, Some(Duration::from_secs(60)));
    let rate = e.rate_limit.unwrap();
    assert_eq!(
        (rate.limit, rate.remaining, rate.retry_after),
        (30, 0, Some(60))
    );
    assert!(error.is_retryable());

    let error = single_error(Canned::wire("list-plan-rate-limited-429")).await;
    assert_eq!(api(&error).code.as_deref(), Some("RATE_LIMIT_EXCEEDED"));
    assert_eq!(api(&error).retry_after, Some(Duration::from_secs(24)));
}

#[tokio::test]
async fn html_and_empty_error_bodies_keep_their_status() {
    let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    let error = single_error(Canned::response(
        502,
        &[("content-type", "text/html")],
        html,
    ))
    .await;
    let e = api(&error);
    assert_eq!((e.status, e.message.as_str()), (502, "HTTP 502"));
    assert_eq!(e.body, Some(json!(html)));

    let error = single_error(Canned::response(500, &[], "")).await;
    assert_eq!(
        (api(&error).status, api(&error).message.as_str()),
        (500, "HTTP 500")
    );
    assert_eq!(api(&error).body, None);
}

#[tokio::test]
async fn a_2xx_body_that_does_not_decode_is_a_decode_error() {
    let full = wire_body("acknowledge-200");
    let truncated = &full[..full.len() / 2];
    for body in [truncated, "<html>ok</html>", "{\"id\": 5}"] {
        let error = single_error(Canned::json(200, body)).await;
        let Error::Decode {
            status, excerpt, ..
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!(*status, 200);
        assert!(body.starts_with(excerpt.trim_end_matches('…')), "{excerpt}");
        assert!(!error.is_retryable());
    }
}

#[tokio::test]
async fn transient_statuses_are_retried_until_success() {
    let server = CannedServer::start([
        Canned::json(503, r#"{"message":"busy"}"#),
        Canned::response(502, &[], "<html>bad gateway</html>"),
        Canned::wire("list-200"),
    ])
    .await;
    let client = server.client().build().unwrap();
    let result = client.anomalies().list(Default::default()).await.unwrap();
    assert_eq!(result.total, 4);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = CannedServer::start([
        Canned::response(429, &[("retry-after", "1")], r#"{"message":"slow down"}"#),
        Canned::wire("detect-200"),
    ])
    .await;
    let client = server.client().build().unwrap();
    let started = Instant::now();
    client.anomalies().detect().await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_long_retry_after_is_cut_to_the_configured_cap() {
    let server = CannedServer::start([
        Canned::response(503, &[("retry-after", "3600")], ""),
        Canned::wire("detect-200"),
    ])
    .await;
    let client = server
        .client()
        .max_retry_after(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    client.anomalies().detect().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retries_give_up_with_the_last_error() {
    let busy = || Canned::json(503, r#"{"message":"still busy","code":"UNAVAILABLE"}"#);
    let server = CannedServer::start([busy(), busy(), busy()]).await;
    let client = server.client().max_retries(2).build().unwrap();
    let error = client.anomalies().detect().await.unwrap_err();
    assert_eq!(api(&error).status, 503);
    assert_eq!(server.requests().len(), 3, "first attempt and two retries");
}

#[tokio::test]
async fn zero_retries_makes_one_attempt() {
    let server = CannedServer::start([Canned::json(503, "{}"), Canned::wire("list-200")]).await;
    let client = server.client().max_retries(0).build().unwrap();
    let error = client
        .anomalies()
        .list(Default::default())
        .await
        .unwrap_err();
    assert_eq!(api(&error).status, 503);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn not_found_is_never_retried() {
    let server = CannedServer::start([
        Canned::wire("acknowledge-unknown-404"),
        Canned::wire("acknowledge-200"),
    ])
    .await;
    let client = server.client().build().unwrap();
    let error = client.anomalies().acknowledge("nope").await.unwrap_err();
    assert_eq!(api(&error).status, 404);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let server = CannedServer::start([Canned::Close, Canned::wire("detect-200")]).await;
    let client = server.client().build().unwrap();
    assert_eq!(client.anomalies().detect().await.unwrap().total, 4);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_slow_server_gives_a_timeout_error() {
    let server =
        CannedServer::start([Canned::wire("detect-200").delayed(Duration::from_secs(5))]).await;
    let client = server
        .client()
        .timeout(Duration::from_millis(300))
        .max_retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.anomalies().detect().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let Error::Timeout { timeout, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*timeout, Duration::from_millis(300));
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error_with_its_cause() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = grantex::Grantex::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .max_retries(0)
        .build()
        .unwrap();
    let error = client.anomalies().detect().await.unwrap_err();
    let Error::Network { message, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the cause is kept"
    );
}

#[tokio::test]
async fn last_rate_limit_follows_every_response_and_is_shared_by_clones() {
    let server = CannedServer::start([
        Canned::wire("detect-200"),
        Canned::wire("acknowledge-unknown-404"),
    ])
    .await;
    let client = server.client().build().unwrap();
    let clone = client.clone();
    assert_eq!(client.last_rate_limit(), None);

    client.anomalies().detect().await.unwrap();
    let rate = clone.last_rate_limit().unwrap();
    assert_eq!(
        (rate.limit, rate.remaining, rate.reset, rate.retry_after),
        (100, 99, 41, None)
    );

    clone.anomalies().acknowledge("x").await.unwrap_err();
    assert_eq!(client.last_rate_limit().unwrap().remaining, 93);
}

#[tokio::test]
async fn the_api_key_appears_in_no_debug_or_display_output() {
    let server = CannedServer::start([Canned::wire("list-bad-key-401")]).await;
    let builder = server.client().max_retries(0);
    let client = builder.clone().build().unwrap();
    let error = client
        .anomalies()
        .list(Default::default())
        .await
        .unwrap_err();
    let refused = grantex::Grantex::builder()
        .api_key(KEY)
        .base_url("http://127.0.0.1:9")
        .max_retries(0)
        .build()
        .unwrap()
        .anomalies()
        .detect()
        .await
        .unwrap_err();
    let bad_key = grantex::Grantex::builder()
        .api_key(format!("{KEY}\nInjected: 1"))
        .build()
        .unwrap_err();
    for text in [
        format!("{builder:?}"),
        format!("{client:?}"),
        format!("{error:?} {error}"),
        format!("{refused:?} {refused}"),
        format!("{bad_key:?} {bad_key}"),
    ] {
        assert!(!text.contains("secret_key"), "the key leaked: {text}");
    }
    assert!(matches!(bad_key, Error::Config(_)));
}

#[tokio::test]
async fn configuration_errors_are_reported_by_build() {
    for builder in [
        grantex::Grantex::builder().api_key("   "),
        grantex::Grantex::builder()
            .api_key(KEY)
            .base_url("not a url"),
        grantex::Grantex::builder()
            .api_key(KEY)
            .base_url("ftp://example.com"),
        grantex::Grantex::builder()
            .api_key(KEY)
            .timeout(Duration::ZERO),
        grantex::Grantex::builder().api_key("gx\tkey"),
    ] {
        let error = builder.build().unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
    }
}

#[tokio::test]
async fn a_padded_key_is_trimmed() {
    let server = CannedServer::start([Canned::wire("list-200")]).await;
    let client = grantex::Grantex::builder()
        .api_key(format!("  {KEY}\n"))
        .base_url(&server.url)
        .build()
        .unwrap();
    client.anomalies().list(Default::default()).await.unwrap();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
}

#[tokio::test]
async fn a_retry_after_too_long_to_represent_waits_the_cap() {
    let server = CannedServer::start([
        Canned::response(503, &[("retry-after", "1e20")], ""),
        Canned::response(503, &[("retry-after", "inf")], ""),
        Canned::wire("detect-200"),
    ])
    .await;
    let client = server
        .client()
        .max_retry_after(Duration::from_millis(100))
        .build()
        .unwrap();
    let started = Instant::now();
    client.anomalies().detect().await.unwrap();
    let waited = started.elapsed();
    // Two waits of the cap, not the short backoff (at least 0.5 s, then 1 s).
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(1400),
        "{waited:?}"
    );
}

#[tokio::test]
async fn redirects_are_errors_and_are_not_followed() {
    let server = CannedServer::start([Canned::response(
        301,
        &[("location", "http://elsewhere.example/v1/anomalies")],
        "<html>moved</html>",
    )])
    .await;
    let client = server.client().build().unwrap();
    let error = client
        .anomalies()
        .list(Default::default())
        .await
        .unwrap_err();
    let api = api(&error);
    assert_eq!(api.status, 301);
    assert_eq!(
        api.location.as_deref(),
        Some("http://elsewhere.example/v1/anomalies")
    );
    assert!(
        api.message
            .contains("redirected to http://elsewhere.example"),
        "{}",
        api.message
    );
    assert!(!error.is_retryable());
    assert_eq!(server.requests().len(), 1, "followed nowhere, not retried");
}

#[tokio::test]
async fn with_options_changes_one_client_and_shares_the_rest() {
    let busy = || Canned::response(503, &[("retry-after", "0")], "");
    let server = CannedServer::start([
        busy(),
        busy(),
        Canned::wire("detect-200"),
        Canned::Delay(Duration::from_secs(2), Box::new(Canned::wire("detect-200"))),
    ])
    .await;
    let client = server.client().max_retries(3).build().unwrap();
    let once = client.with_max_retries(0);
    assert!(matches!(once.anomalies().detect().await, Err(Error::Api(e)) if e.status == 503));
    client.anomalies().detect().await.unwrap(); // one 503, then the capture
    assert_eq!(once.last_rate_limit(), client.last_rate_limit());
    let quick = client.with_timeout(Duration::from_millis(200)).unwrap();
    let started = Instant::now();
    let error = quick
        .with_max_retries(0)
        .anomalies()
        .detect()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(client.with_timeout(Duration::ZERO).is_err());
}
