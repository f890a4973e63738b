//! Load and lifecycle.

use std::time::{Duration, Instant};

use grantex_server::{Fault, FaultAction, TestServer};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::helpers::Api;

#[tokio::test(flavor = "multi_thread")]
async fn three_hundred_concurrent_requests_all_succeed() {
    let server = TestServer::builder().demo(true).start().await.unwrap();
    let url = server.url();
    let http = Client::new();
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let http = http.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let key = format!("gx_load_{}", i % 10);
                let request = match i % 3 {
                    0 => http.post(format!("{url}/v1/anomalies/detect")),
                    1 => http.get(format!("{url}/v1/anomalies?unacknowledged=true")),
                    _ => http.patch(format!("{url}/v1/anomalies/anom_abc123/acknowledge")),
                };
                let response = request.bearer_auth(key).send().await?;
                let status = response.status();
                let body: Value = response.json().await?;
                Ok::<_, reqwest::Error>((status, body))
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap().unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        ok += 1;
    }
    assert_eq!(ok, 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_and_drop_stop_the_server() {
    let server = TestServer::start().await.unwrap();
    let url = format!("{}/v1/anomalies", server.url());
    let key = server.api_key().to_owned();
    let http = Client::new();
    assert!(http.get(&url).bearer_auth(&key).send().await.is_ok());
    server.shutdown().await;
    assert!(http.get(&url).bearer_auth(&key).send().await.is_err());

    let server = TestServer::start().await.unwrap();
    let url = format!("{}/v1/anomalies", server.url());
    drop(server);
    let mut stopped = false;
    for _ in 0..50 {
        if Client::new().get(&url).send().await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped, "a dropped server keeps answering");
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_does_not_wait_for_a_long_delay() {
    let server = TestServer::start().await.unwrap();
    server.inject_fault(Fault::new(FaultAction::Delay(Duration::from_secs(30))));
    let api = Api::new(&server);
    let pending = tokio::spawn(async move { api.list_response("").await.status() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(pending);
}

/// The `grantex-server` binary: the ready line, a demo detect, and SIGTERM.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn binary_serves_until_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_grantex-server"))
        .args(["--demo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("Grantex test server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));

    let detect: Value = Client::new()
        .post(format!("{url}/v1/anomalies/detect"))
        .bearer_auth("gx_live_cli")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detect["total"], 4);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[cfg(unix)]
#[test]
fn binary_rejects_bad_arguments_with_usage() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_grantex-server"))
        .args(["--port", "not-a-port"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--port") && stderr.contains("Usage: grantex-server"),
        "{stderr}"
    );
}
