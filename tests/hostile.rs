//! Misbehaving servers written here, over real sockets on 127.0.0.1: endless and oversized
//! bodies, answers that are not usable HTTP, stalls and retry storms cut by a deadline, and
//! a user's own `reqwest::Client`.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use grantex::{Error, Grantex, ListAnomaliesParams};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const KEY: &str = "gx_test_hostile_key_123";

/// A server that runs `answer` on each request's connection after reading the request head;
/// counts the requests it got.
struct RawServer {
    url: String,
    requests: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl RawServer {
    async fn start<F, Fut>(answer: F) -> RawServer
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(answer);
        let (count, seen) = (requests.clone(), heads.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (answer, count, seen) = (answer.clone(), count.clone(), seen.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match socket.read(&mut byte).await {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    answer(socket).await;
                });
            }
        });
        RawServer {
            url,
            requests,
            heads,
        }
    }

    fn client(&self) -> grantex::GrantexBuilder {
        Grantex::builder()
            .api_key(KEY)
            .base_url(&self.url)
            .max_retries(3)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Writes `head`, then 64 KiB chunks of JSON-ish text until the client goes away.
async fn endless_chunked(mut socket: TcpStream, status_line: &str) {
    let head = format!(
        "{status_line}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    if socket.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let chunk = format!("10000\r\n{}\r\n", "[".repeat(0x10000));
    while socket.write_all(chunk.as_bytes()).await.is_ok() {}
}

#[tokio::test]
async fn an_endless_body_stops_at_the_cap_with_an_error_naming_it() {
    let server = RawServer::start(|s| endless_chunked(s, "HTTP/1.1 200 OK")).await;
    let client = server
        .client()
        .max_response_bytes(1 << 20)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client
        .anomalies()
        .list(ListAnomaliesParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::ResponseTooLarge {
                status: 200,
                limit: 1_048_576
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("1048576 bytes"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Not retried: the same server would send the same body.
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn an_error_body_is_capped_too() {
    let server =
        RawServer::start(|s| endless_chunked(s, "HTTP/1.1 500 Internal Server Error")).await;
    let client = server.client().max_response_bytes(100_000).build().unwrap();
    let error = client.anomalies().detect().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::ResponseTooLarge {
                status: 500,
                limit: 100_000
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_declared_length_above_the_cap_fails_before_the_body_arrives() {
    // The body never comes: only the declared length can end this call before the timeout.
    let server = RawServer::start(|mut s| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10000000000\r\n\r\n";
        let _ = s.write_all(head.as_bytes()).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let client = server
        .client()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.anomalies().acknowledge("anm_1").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::ResponseTooLarge {
                status: 200,
                limit: grantex::DEFAULT_MAX_RESPONSE_BYTES
            }
        ),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_body_within_the_cap_decodes_and_with_max_response_bytes_changes_only_its_clone() {
    let body = r#"{"anomalies":[],"total":0}"#;
    let server = RawServer::start(move |mut s| async move {
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await;
    let client = server.client().build().unwrap();
    let exact = client.with_max_response_bytes(body.len() as u64);
    assert_eq!(
        exact
            .anomalies()
            .list(ListAnomaliesParams::default())
            .await
            .unwrap()
            .total,
        0
    );
    let small = client.with_max_response_bytes(body.len() as u64 - 1);
    let error = small
        .anomalies()
        .list(ListAnomaliesParams::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::ResponseTooLarge { .. }), "{error:?}");
    // The original keeps its cap.
    client
        .anomalies()
        .list(ListAnomaliesParams::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_101_answer_is_a_protocol_error_and_is_not_retried() {
    let server = RawServer::start(|mut s| async move {
        let head =
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n";
        let _ = s.write_all(head.as_bytes()).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let client = server.client().build().unwrap();
    let error = client.anomalies().detect().await.unwrap_err();
    assert!(matches!(error, Error::Protocol { .. }), "{error:?}");
    assert!(error.to_string().contains("101"), "{error}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn too_many_headers_is_a_protocol_error_and_is_not_retried() {
    let server = RawServer::start(|mut s| async move {
        let mut head = String::from("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n");
        for i in 0..200 {
            head.push_str(&format!("x-filler-{i}: {i}\r\n"));
        }
        head.push_str("\r\n{}");
        let _ = s.write_all(head.as_bytes()).await;
    })
    .await;
    let client = server.client().build().unwrap();
    let started = Instant::now();
    let error = client.anomalies().detect().await.unwrap_err();
    assert!(matches!(error, Error::Protocol { .. }), "{error:?}");
    assert_eq!(server.requests(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

async fn always_503(mut s: TcpStream) {
    let _ = s
        .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
        .await;
}

#[tokio::test]
async fn a_deadline_stops_retries_whose_wait_would_pass_it() {
    let server = RawServer::start(always_503).await;
    let client = server
        .client()
        .max_retries(10)
        .deadline(Duration::from_millis(1_200))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.anomalies().detect().await.unwrap_err();
    // The last answer, not a timeout: it says more.
    assert_eq!(error.status(), Some(503), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(1_200));
    // Backoff waits 0.5-1 s, then 1-1.5 s: at most two attempts fit.
    assert!(
        (1..=2).contains(&server.requests()),
        "{}",
        server.requests()
    );
}

#[tokio::test]
async fn a_deadline_cuts_a_stalled_attempt() {
    let server = RawServer::start(|s| async move {
        let _held_open = s;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let client = server
        .client()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .with_deadline(Duration::from_millis(300))
        .unwrap();
    let started = Instant::now();
    let error = client.anomalies().detect().await.unwrap_err();
    assert!(
        matches!(error, Error::Timeout { timeout, .. } if timeout == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(error.to_string().contains("deadline"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_own_reqwest_client_gets_the_key_and_user_agent_on_each_request() {
    let server = RawServer::start(|mut s| async move {
        let body = r#"{"anomalies":[],"total":0}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await;
    let own = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = server.client().http_client(own).build().unwrap();
    client
        .anomalies()
        .list(ListAnomaliesParams::default())
        .await
        .unwrap();
    let head = server.heads.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        head.contains(&format!(
            "authorization: bearer {}",
            KEY.to_ascii_lowercase()
        )),
        "{head}"
    );
    assert!(head.contains("user-agent: grantex-rust/"), "{head}");

    let both = Grantex::builder()
        .api_key(KEY)
        .base_url(&server.url)
        .proxy("http://127.0.0.1:9")
        .http_client(reqwest::Client::new())
        .build();
    assert!(matches!(both, Err(Error::Config(_))), "{both:?}");
}
