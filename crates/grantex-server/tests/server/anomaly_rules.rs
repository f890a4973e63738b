//! `/v1/anomaly/rules`: the built-in rules and the stored custom ones. (Detection
//! rules proper are in `rules`.)

use std::time::Duration;

use grantex_server::{RateLimits, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, header, keys, server_at, Api};

/// The captured list of the ten built-in rules, byte for byte.
const BUILT_IN: &str = r#"{"ruleId":"AD-001","name":"Velocity spike","severity":"high","description":"> 10x normal grant issuance rate in 5 min","builtIn":true,"enabled":true},{"ruleId":"AD-002","name":"Scope escalation attempt","severity":"critical","description":"Agent requests scopes beyond registered max","builtIn":true,"enabled":true},{"ruleId":"AD-003","name":"Unusual geography","severity":"medium","description":"Grant token verified from unexpected country","builtIn":true,"enabled":true},{"ruleId":"AD-004","name":"Off-hours activity","severity":"low","description":"Agent active outside configured normal hours","builtIn":true,"enabled":true},{"ruleId":"AD-005","name":"Delegation depth spike","severity":"high","description":"Suddenly higher A2A delegation depth detected","builtIn":true,"enabled":true},{"ruleId":"AD-006","name":"Rapid revocation","severity":"critical","description":"> 5 grants revoked in 60 seconds","builtIn":true,"enabled":true},{"ruleId":"AD-007","name":"Budget cliff","severity":"high","description":"Scope budget 90%+ consumed in < 1 hour","builtIn":true,"enabled":true},{"ruleId":"AD-008","name":"Unknown agent","severity":"critical","description":"Token presented from unregistered agent DID","builtIn":true,"enabled":true},{"ruleId":"AD-009","name":"Replay attempt","severity":"critical","description":"Same JTI presented twice","builtIn":true,"enabled":true},{"ruleId":"AD-010","name":"Offline bundle stale","severity":"medium","description":"Bundle last synced beyond configured threshold","builtIn":true,"enabled":true}"#;

fn captured_rule() -> Value {
    json!({
        "ruleId": "CUSTOM-001",
        "name": "Many deletes",
        "description": "More than 5 deletes in 10 min",
        "condition": {"action": "files.delete", "count": 5, "windowMinutes": 10},
        "severity": "high",
        "alertChannels": []
    })
}

async fn create(api: &Api, body: Value) -> reqwest::Response {
    api.send(Method::POST, "/v1/anomaly/rules", Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn built_in_then_custom_with_the_condition_as_a_string() {
    let server = server_at("2026-11-25T15:58:02.815Z").await;
    let api = Api::new(&server);

    let raw = api.get("/v1/anomaly/rules").await.text().await.unwrap();
    assert_eq!(raw, format!(r#"{{"rules":[{BUILT_IN}]}}"#));

    let response = create(&api, captured_rule()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let raw = response.text().await.unwrap();
    let created: Value = serde_json::from_str(&raw).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("arule_01") && id.len() == 32, "{id}");
    assert_eq!(
        raw,
        format!(
            r#"{{"id":"{id}","ruleId":"CUSTOM-001","name":"Many deletes","description":"More than 5 deletes in 10 min","condition":{{"action":"files.delete","count":5,"windowMinutes":10}},"severity":"high","alertChannels":[],"enabled":true}}"#
        )
    );

    let raw = api.get("/v1/anomaly/rules").await.text().await.unwrap();
    assert_eq!(
        raw,
        format!(
            r#"{{"rules":[{BUILT_IN},{{"id":"{id}","ruleId":"CUSTOM-001","name":"Many deletes","description":"More than 5 deletes in 10 min","condition":"{{\"action\":\"files.delete\",\"count\":5,\"windowMinutes\":10}}","severity":"high","alertChannels":[],"enabled":true,"builtIn":false,"createdAt":"2026-11-25T15:58:02.815Z"}}]}}"#
        )
    );

    // Custom rules newest first; defaults: severity medium, description null,
    // alertChannels []; an array is an object to JavaScript; numbers as it writes them.
    server.clock().advance(Duration::from_secs(1));
    let second: Value = create(
        &api,
        json!({"ruleId": "r2", "name": "Second", "condition": [1.0, {"b": 2.50, "a": null}],
               "severity": null, "alertChannels": ["slack-security"], "extra": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        second,
        json!({"id": second["id"], "ruleId": "r2", "name": "Second", "description": null,
               "condition": [1, {"b": 2.5, "a": null}], "severity": "medium",
               "alertChannels": ["slack-security"], "enabled": true})
    );
    let rules = api.get_ok("/v1/anomaly/rules").await;
    let rules = rules["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 12);
    assert_eq!(rules[10]["ruleId"], "r2");
    assert_eq!(rules[10]["condition"], r#"[1,{"b":2.5,"a":null}]"#);
    assert_eq!(rules[10]["createdAt"], "2026-11-25T15:58:03.815Z");
    assert_eq!(rules[11]["id"], id.as_str());
    assert!(rules[..10].iter().all(|r| r.get("id").is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn create_validation_in_the_hosted_order() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let cases = [
        (json!({"name": "x"}), "ruleId and name are required"),
        (json!({"ruleId": "r"}), "ruleId and name are required"),
        (
            json!({"ruleId": "", "name": "x", "condition": {}}),
            "ruleId and name are required",
        ),
        (
            json!({"ruleId": "r", "name": null}),
            "ruleId and name are required",
        ),
        (json!([1]), "ruleId and name are required"),
        (
            json!({"ruleId": "r", "name": "x"}),
            "condition is required and must be an object",
        ),
        (
            json!({"ruleId": "r", "name": "x", "condition": "a>1"}),
            "condition is required and must be an object",
        ),
        (
            json!({"ruleId": "r", "name": "x", "condition": null}),
            "condition is required and must be an object",
        ),
        (
            json!({"ruleId": "r", "name": "x", "condition": 5}),
            "condition is required and must be an object",
        ),
        (
            json!({"ruleId": "r", "name": "x", "condition": {}, "severity": "urgent"}),
            "Invalid severity. Must be one of: critical, high, medium, low",
        ),
        (
            json!({"ruleId": "r", "name": "x", "condition": {}, "severity": 3}),
            "Invalid severity. Must be one of: critical, high, medium, low",
        ),
        (
            json!({"ruleId": "r", "name": "x", "condition": {}, "alertChannels": "slack"}),
            "alertChannels must be an array of strings",
        ),
    ];
    for (body, message) in cases {
        assert_error(create(&api, body).await, StatusCode::BAD_REQUEST, message).await;
    }
    // No body at all.
    assert_error(
        api.send(Method::POST, "/v1/anomaly/rules", None).await,
        StatusCode::BAD_REQUEST,
        "ruleId and name are required",
    )
    .await;
    // Nothing was stored.
    assert_eq!(
        api.get_ok("/v1/anomaly/rules").await["rules"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn enable_disable_and_delete_by_stored_id() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let created: Value = create(&api, captured_rule()).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();

    let response = api
        .send(
            Method::PATCH,
            &format!("/v1/anomaly/rules/{id}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let disabled: Value = response.json().await.unwrap();
    assert_eq!(
        keys(&disabled),
        [
            "id",
            "ruleId",
            "name",
            "description",
            "condition",
            "severity",
            "alertChannels",
            "enabled",
            "builtIn",
            "createdAt"
        ]
    );
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["builtIn"], false);
    assert_eq!(
        disabled["condition"],
        r#"{"action":"files.delete","count":5,"windowMinutes":10}"#
    );
    assert_eq!(api.get_ok("/v1/anomaly/rules").await["rules"][10], disabled);
    let enabled: Value = api
        .send(
            Method::PATCH,
            &format!("/v1/anomaly/rules/{id}"),
            Some(json!({"enabled": true})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(enabled["enabled"], true);

    // `enabled` is checked before the rule is looked up.
    for body in [
        Some(json!({})),
        Some(json!({"enabled": "false"})),
        Some(json!({"enabled": 0})),
        None,
    ] {
        for path in [
            format!("/v1/anomaly/rules/{id}"),
            "/v1/anomaly/rules/nonexistent".to_owned(),
        ] {
            assert_error(
                api.send(Method::PATCH, &path, body.clone()).await,
                StatusCode::BAD_REQUEST,
                "enabled must be a boolean",
            )
            .await;
        }
    }
    // Built-in rules (by ruleId or documentation name) have no stored id: 404, on
    // PATCH and DELETE alike.
    for path in ["AD-001", "velocity_spike", "CUSTOM-001", "nonexistent"] {
        assert_error(
            api.send(
                Method::PATCH,
                &format!("/v1/anomaly/rules/{path}"),
                Some(json!({"enabled": false})),
            )
            .await,
            StatusCode::NOT_FOUND,
            "Rule not found",
        )
        .await;
        assert_error(
            api.send(Method::DELETE, &format!("/v1/anomaly/rules/{path}"), None)
                .await,
            StatusCode::NOT_FOUND,
            "Rule not found",
        )
        .await;
    }

    // Another account cannot see, change or delete it.
    server.add_api_key("gx_other");
    let other = Api::with_key(&server, "gx_other");
    assert_eq!(
        other.get_ok("/v1/anomaly/rules").await["rules"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(
        other
            .send(
                Method::PATCH,
                &format!("/v1/anomaly/rules/{id}"),
                Some(json!({"enabled": false}))
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .send(Method::DELETE, &format!("/v1/anomaly/rules/{id}"), None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let response = api
        .send(Method::DELETE, &format!("/v1/anomaly/rules/{id}"), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(header(&response, "content-type").is_none());
    assert!(header(&response, "x-ratelimit-limit").is_some());
    assert_eq!(response.text().await.unwrap(), "");
    assert_error(
        api.send(Method::DELETE, &format!("/v1/anomaly/rules/{id}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "Rule not found",
    )
    .await;
    assert_eq!(
        api.get_ok("/v1/anomaly/rules").await["rules"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_rules_has_the_per_route_limit() {
    let server = TestServer::builder()
        .rate_limits(RateLimits::hosted())
        .start()
        .await
        .unwrap();
    server
        .clock()
        .set(crate::helpers::at("2026-11-25T12:00:00.000Z"));
    let api = Api::new(&server);
    for _ in 0..30 {
        assert_eq!(
            create(&api, captured_rule()).await.status(),
            StatusCode::CREATED
        );
    }
    let response = create(&api, captured_rule()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&response, "retry-after"), Some("60"));
    // Listing is only under the plan limit: 30 creates and this list counted (the
    // rejected create stopped at the per-route limit, before the plan's).
    let response = api.get("/v1/anomaly/rules").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "x-ratelimit-remaining"), Some("69"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_account_holds_the_rule_the_documentation_toggles() {
    let server = TestServer::builder().demo(true).start().await.unwrap();
    let api = Api::with_key(&server, "gx_docs");
    let rules = api.get_ok("/v1/anomaly/rules").await;
    let rules = rules["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 11);
    let rule = &rules[10];
    assert_eq!(rule["id"], grantex_server::DOC_EXAMPLE_RULE_ID);
    assert_eq!(rule["ruleId"], "velocity_spike");
    assert_eq!(rule["severity"], "high");
    assert_eq!(rule["builtIn"], false);
    assert!(rule["condition"].is_string());

    // toggle_rule("velocity_spike", enabled=False), then enabled=True.
    for enabled in [false, true] {
        let response = api
            .send(
                Method::PATCH,
                "/v1/anomaly/rules/velocity_spike",
                Some(json!({"enabled": enabled})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap()["enabled"], enabled);
    }
    // Built-in rules still cannot be changed.
    assert_eq!(
        api.send(
            Method::PATCH,
            "/v1/anomaly/rules/off_hours_activity",
            Some(json!({"enabled": false}))
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    // No channel is seeded.
    assert_eq!(
        api.get_ok("/v1/anomaly/channels").await,
        json!({"channels": []})
    );
}
