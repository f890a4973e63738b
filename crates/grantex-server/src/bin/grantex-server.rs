//! `grantex-server`: the local Grantex server in the foreground.
//!
//! ```text
//! grantex-server [--port N] [--demo] [--fixture FILE] [--api-key KEY]... [--rate-limits hosted|generous|off]
//! ```
//!
//! Prints `Grantex test server listening on http://127.0.0.1:PORT` on stdout (one
//! line, flushed: other programs wait for it), the default API key on stderr, and
//! serves until Ctrl-C or SIGTERM.

use std::io::Write;
use std::process::ExitCode;

use grantex_server::{RateLimits, TestServer};

const USAGE: &str = "\
usage: grantex-server [--port N] [--demo] [--fixture FILE] [--api-key KEY]... [--rate-limits hosted|generous|off]

  --port N          port on 127.0.0.1 (default 0: any free port)
  --demo            accept any bearer key, each its own account, seeded on first use
                    with activity that trips all four detection rules
  --fixture FILE    load a JSON fixture {\"auditEntries\": [...], \"grants\": [...]}
                    into the default account
  --api-key KEY     a known key; the first is the default account (default: generated)
  --rate-limits L   hosted (100/min plan, 30/min detect; the default), generous
                    (1,000,000/min; the default with --demo) or off
  -h, --help        this help";

#[derive(Debug)]
struct Options {
    port: u16,
    demo: bool,
    fixture: Option<String>,
    api_keys: Vec<String>,
    rate_limits: Option<RateLimits>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        port: 0,
        demo: false,
        fixture: None,
        api_keys: Vec::new(),
        rate_limits: None,
    };
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--demo" if inline.is_none() => options.demo = true,
            "--port" => {
                let v = value("--port")?;
                options.port = v
                    .parse()
                    .map_err(|_| format!("--port: {v:?} is not a port number (0-65535)"))?;
            }
            "--fixture" => options.fixture = Some(value("--fixture")?),
            "--api-key" => {
                let key = value("--api-key")?;
                if key.trim().is_empty() {
                    return Err("--api-key: the key is empty".to_owned());
                }
                options.api_keys.push(key);
            }
            "--rate-limits" => {
                options.rate_limits = Some(match value("--rate-limits")?.as_str() {
                    "hosted" => RateLimits::hosted(),
                    "generous" => RateLimits::generous(),
                    "off" => RateLimits::disabled(),
                    other => {
                        return Err(format!(
                            "--rate-limits: {other:?} is not one of hosted, generous, off"
                        ))
                    }
                })
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("grantex-server: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let fixture = match &options.fixture {
        None => None,
        Some(path) => {
            let parsed = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
                });
            match parsed {
                Ok(value) => Some(value),
                Err(e) => {
                    eprintln!("grantex-server: cannot read fixture {path}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("grantex-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(options, fixture))
}

async fn run(options: Options, fixture: Option<serde_json::Value>) -> ExitCode {
    let limits = options.rate_limits.unwrap_or(if options.demo {
        RateLimits::generous()
    } else {
        RateLimits::hosted()
    });
    let mut builder = TestServer::builder()
        .port(options.port)
        .demo(options.demo)
        .rate_limits(limits);
    let mut keys = options.api_keys.into_iter();
    if let Some(key) = keys.next() {
        builder = builder.api_key(key);
    }
    for key in keys {
        builder = builder.extra_api_key(key);
    }
    let server = match builder.start().await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("grantex-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(fixture) = fixture {
        match server.load_fixture(server.api_key(), &fixture) {
            Ok(summary) => eprintln!(
                "Loaded fixture: {} audit entries, {} grants",
                summary.audit_entries, summary.grants
            ),
            Err(e) => {
                eprintln!("grantex-server: {e}");
                return ExitCode::from(2);
            }
        }
    }
    eprintln!("API key: {}", server.api_key());
    if options.demo {
        eprintln!("Demo mode: any bearer key is accepted and seeded on first use");
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "Grantex test server listening on {}", server.url());
    let _ = stdout.flush();
    drop(stdout);

    wait_for_stop_signal().await;
    eprintln!("Shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags() {
        let o = parse(&[
            "--port",
            "8080",
            "--demo",
            "--api-key=k1",
            "--api-key",
            "k2",
            "--fixture",
            "f.json",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(o.port, 8080);
        assert!(o.demo);
        assert_eq!(o.api_keys, ["k1", "k2"]);
        assert_eq!(o.fixture.as_deref(), Some("f.json"));
        assert_eq!(
            parse(&["--rate-limits", "off"])
                .unwrap()
                .unwrap()
                .rate_limits,
            Some(RateLimits::disabled())
        );
        assert!(parse(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&["--port"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--port", "x"]).unwrap_err().contains("not a port"));
        assert!(parse(&["--port", "70000"]).is_err());
        assert!(parse(&["--bogus"])
            .unwrap_err()
            .contains("unknown argument"));
        assert!(parse(&["--rate-limits", "fast"]).is_err());
        assert!(parse(&["--api-key", " "]).is_err());
    }
}
