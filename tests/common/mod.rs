//! A canned-response HTTP/1.1 server on 127.0.0.1 for the client's tests: it answers each
//! request with the next queued response (raw bytes over a real socket, so bodies and
//! headers can be anything a real server or proxy might send) and records every request.

#![allow(dead_code)]

use std::{
    collections::VecDeque,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The request target exactly as sent: path and query, still percent-encoded.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Canned {
    /// Send these bytes as the whole response.
    Raw(Vec<u8>),
    /// Wait, then do the inner thing.
    Delay(Duration, Box<Canned>),
    /// Close the connection without answering.
    Close,
}

impl Canned {
    /// A response with the given status, extra headers and body; `Content-Length` is computed.
    pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Canned {
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        Canned::Raw(bytes)
    }

    /// A JSON response with the hosted server's rate-limit headers.
    pub fn json(status: u16, body: &str) -> Canned {
        Canned::response(
            status,
            &[
                ("content-type", "application/json; charset=utf-8"),
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "99"),
                ("x-ratelimit-reset", "60"),
            ],
            body,
        )
    }

    /// A response captured from the real server (`tests/fixtures/wire/NAME.http`), sent with
    /// CRLF line ends and a `Content-Length` recomputed from the body.
    pub fn wire(name: &str) -> Canned {
        let (status, headers, body) = wire_parts(name);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length"))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        Canned::response(status, &headers, &body)
    }

    pub fn delayed(self, by: Duration) -> Canned {
        Canned::Delay(by, Box::new(self))
    }
}

/// Status, headers and body of a captured response.
pub fn wire_parts(name: &str) -> (u16, Vec<(String, String)>, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire")
        .join(format!("{name}.http"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("a blank line after the headers");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// The body of a captured response.
pub fn wire_body(name: &str) -> String {
    wire_parts(name).2
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

pub struct CannedServer {
    pub url: String,
    queue: Arc<Mutex<VecDeque<Canned>>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl CannedServer {
    /// Starts a server that answers requests with `responses`, in order; once they are used
    /// up it answers 500, so a test never hangs on a request it did not expect.
    pub async fn start(responses: impl IntoIterator<Item = Canned>) -> CannedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let queue = Arc::new(Mutex::new(responses.into_iter().collect::<VecDeque<_>>()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (q, r) = (queue.clone(), requests.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve_connection(stream, q.clone(), r.clone()));
            }
        });
        CannedServer {
            url,
            queue,
            requests,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn client(&self) -> grantex::GrantexBuilder {
        grantex::Grantex::builder()
            .api_key("gx_test_secret_key_123")
            .base_url(&self.url)
    }

    pub fn remaining(&self) -> usize {
        self.queue.lock().unwrap().len()
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    queue: Arc<Mutex<VecDeque<Canned>>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
) {
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        requests.lock().unwrap().push(request);
        let next = queue.lock().unwrap().pop_front();
        let mut action =
            next.unwrap_or_else(|| Canned::json(500, r#"{"message":"no canned response left"}"#));
        loop {
            match action {
                Canned::Delay(by, inner) => {
                    tokio::time::sleep(by).await;
                    action = *inner;
                }
                Canned::Close => return,
                Canned::Raw(bytes) => {
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Recorded> {
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let (method, target) = (start.next()?.to_owned(), start.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}
