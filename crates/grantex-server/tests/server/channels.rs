//! `/v1/anomaly/channels`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, header, server_at, Api};

async fn create(api: &Api, body: Option<Value>) -> reqwest::Response {
    api.send(Method::POST, "/v1/anomaly/channels", body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn create_list_and_delete_with_the_config_as_a_string() {
    let server = server_at("2026-11-25T15:58:03.024Z").await;
    let api = Api::new(&server);
    assert_eq!(
        api.get("/v1/anomaly/channels").await.text().await.unwrap(),
        r#"{"channels":[]}"#
    );

    let response = create(
        &api,
        Some(json!({"type": "webhook", "name": "loopback hook",
                    "config": {"url": "http://127.0.0.1:9/hook"}})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let raw = response.text().await.unwrap();
    let id = serde_json::from_str::<Value>(&raw).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("achan_01") && id.len() == 32, "{id}");
    assert_eq!(
        raw,
        format!(
            r#"{{"id":"{id}","type":"webhook","name":"loopback hook","config":{{"url":"http://127.0.0.1:9/hook"}},"severities":["critical","high"],"enabled":true}}"#
        )
    );
    assert_eq!(
        api.get("/v1/anomaly/channels").await.text().await.unwrap(),
        format!(
            r#"{{"channels":[{{"id":"{id}","type":"webhook","name":"loopback hook","config":"{{\"url\":\"http://127.0.0.1:9/hook\"}}","severities":["critical","high"],"enabled":true,"createdAt":"2026-11-25T15:58:03.024Z"}}]}}"#
        )
    );

    // Newest first; secrets come back whole; severities are not checked.
    server.clock().advance(Duration::from_secs(1));
    let slack: Value = create(
        &api,
        Some(json!({"type": "slack", "name": "slack-security",
                    "config": {"webhookUrl": "https://hooks.slack.com/services/T0/B0/xxx", "secret": "s3cret"},
                    "severities": ["low", "whatever"]})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(slack["severities"], json!(["low", "whatever"]));
    assert_eq!(slack["config"]["secret"], "s3cret");
    let email: Value = create(
        &api,
        Some(
            json!({"type": "email", "name": "mail", "config": {"to": "sec@example.com"},
                    "severities": null}),
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(email["severities"], json!(["critical", "high"]));
    let list = api.get_ok("/v1/anomaly/channels").await;
    let names: Vec<&str> = list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // The two created at the same instant: the later first.
    assert_eq!(names, ["mail", "slack-security", "loopback hook"]);
    assert_eq!(
        list["channels"][1]["config"],
        r#"{"webhookUrl":"https://hooks.slack.com/services/T0/B0/xxx","secret":"s3cret"}"#
    );

    // Another account sees none and cannot delete them.
    server.add_api_key("gx_other");
    let other = Api::with_key(&server, "gx_other");
    assert_eq!(
        other.get_ok("/v1/anomaly/channels").await,
        json!({"channels": []})
    );
    assert_error(
        other
            .send(Method::DELETE, &format!("/v1/anomaly/channels/{id}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "Channel not found",
    )
    .await;

    let response = api
        .send(Method::DELETE, &format!("/v1/anomaly/channels/{id}"), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(header(&response, "content-type").is_none());
    assert_eq!(response.text().await.unwrap(), "");
    for path in [id.as_str(), "nonexistent"] {
        assert_error(
            api.send(
                Method::DELETE,
                &format!("/v1/anomaly/channels/{path}"),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "Channel not found",
        )
        .await;
    }
    assert_eq!(
        api.get_ok("/v1/anomaly/channels").await["channels"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_validation_in_the_hosted_order() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let type_message = "type is required and must be one of: slack, webhook, email";
    let cases = [
        (Some(json!({"type": "pager"})), type_message),
        (
            Some(json!({"type": "pagerduty", "name": "x", "config": {}})),
            type_message,
        ),
        (
            Some(json!({"type": "Slack", "name": "x", "config": {}})),
            type_message,
        ),
        (Some(json!({"name": "x", "config": {}})), type_message),
        (
            Some(json!({"type": ["slack"], "name": "x", "config": {}})),
            type_message,
        ),
        (Some(json!("slack")), type_message),
        (None, type_message),
        (Some(json!({"type": "slack"})), "name is required"),
        (
            Some(json!({"type": "slack", "name": ""})),
            "name is required",
        ),
        (
            Some(json!({"type": "slack", "name": "x"})),
            "config is required and must be an object",
        ),
        (
            Some(json!({"type": "slack", "name": "x", "config": "https://hook"})),
            "config is required and must be an object",
        ),
        (
            Some(json!({"type": "slack", "name": "x", "config": {}, "severities": "high"})),
            "severities must be an array of strings",
        ),
    ];
    for (body, message) in cases {
        assert_error(create(&api, body).await, StatusCode::BAD_REQUEST, message).await;
    }
    assert_eq!(
        api.get_ok("/v1/anomaly/channels").await,
        json!({"channels": []})
    );
}
