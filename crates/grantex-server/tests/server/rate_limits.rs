//! Rate limits.

use std::time::Duration;

use grantex_server::{RateLimits, TestServer, WindowLimit};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{at, header, Api};

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_headers_on_every_response() {
    let server = TestServer::start().await.unwrap();
    let api = Api::new(&server);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = api.list_response("").await;
        assert_eq!(header(&response, "x-ratelimit-limit"), Some("1000000"));
        let reset: u64 = header(&response, "x-ratelimit-reset")
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset));
        remaining.push(
            header(&response, "x-ratelimit-remaining")
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, [999_999, 999_998, 999_997]);
    for response in [api.detect_response().await, api.acknowledge("nope").await] {
        assert!(header(&response, "x-ratelimit-remaining").is_some());
    }

    // Disabled limits send no headers.
    server.set_rate_limits(RateLimits::disabled());
    assert!(header(&api.list_response("").await, "x-ratelimit-limit").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_limit_answers_429_with_retry_after_until_the_window_resets() {
    let server = TestServer::builder()
        .rate_limits(RateLimits {
            plan: Some(WindowLimit::per_minute(3)),
            per_route: None,
            per_ip: None,
        })
        .start()
        .await
        .unwrap();
    server.clock().set(at("2026-11-25T12:00:00.000Z"));
    server.add_api_key("gx_other");
    let api = Api::new(&server);
    for expected in ["2", "1", "0"] {
        let response = api.list_response("").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-ratelimit-limit"), Some("3"));
        assert_eq!(header(&response, "x-ratelimit-remaining"), Some(expected));
    }
    server.clock().advance(Duration::from_secs(36));
    let limited = api.list_response("").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "retry-after"), Some("24"));
    assert_eq!(header(&limited, "x-ratelimit-reset"), Some("24"));
    assert_eq!(header(&limited, "x-ratelimit-remaining"), Some("0"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Plan rate limit exceeded, retry in 24 seconds"
    );
    assert_eq!(body["code"], "RATE_LIMIT_EXCEEDED");
    // Across routes, per account.
    assert_eq!(
        api.detect_response().await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        Api::with_key(&server, "gx_other")
            .list_response("")
            .await
            .status(),
        StatusCode::OK
    );

    server.clock().advance(Duration::from_secs(24));
    assert_eq!(api.list_response("").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_detect_limit_is_30_per_minute() {
    let server = TestServer::builder()
        .rate_limits(RateLimits::hosted())
        .start()
        .await
        .unwrap();
    server.clock().set(at("2026-11-25T12:00:00.000Z"));
    let api = Api::new(&server);
    for i in 0..30 {
        let response = api.detect_response().await;
        assert_eq!(response.status(), StatusCode::OK, "call {}", i + 1);
        // Successful calls report the plan limiter.
        assert_eq!(header(&response, "x-ratelimit-limit"), Some("100"));
    }
    let limited = api.detect_response().await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "x-ratelimit-limit"), Some("30"));
    assert_eq!(header(&limited, "x-ratelimit-remaining"), Some("0"));
    assert_eq!(header(&limited, "retry-after"), Some("60"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["message"], "Rate limit exceeded, retry in 1 minute");
    assert_eq!(body["code"], "BAD_REQUEST");
    // Other routes still answer: 30 of the 100 plan calls are used.
    let list = api.list_response("").await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(header(&list, "x-ratelimit-remaining"), Some("69"));

    server.clock().advance(Duration::from_secs(60));
    assert_eq!(api.detect_response().await.status(), StatusCode::OK);
}
