//! `grantex-server`: the local Grantex server in the foreground.
//!
//! ```text
//! grantex-server [--port N] [--demo] [--fixture FILE] [--api-key KEY]... [--rate-limits hosted|generous|off]
//!                [--header-read-timeout SECS] [--idle-timeout SECS] [--max-connections N]
//! ```
//!
//! Prints `Grantex test server listening on http://127.0.0.1:PORT` on stdout (one
//! line, flushed: other programs wait for it), the default API key on stderr, and
//! serves until Ctrl-C or SIGTERM. Bad arguments exit with status 2 and the usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{CommandFactory, Parser, ValueEnum};
use grantex_server::{RateLimits, TestServer, DEFAULT_MAX_CONNECTIONS};

/// The local Grantex server: the hosted anomalies API on 127.0.0.1, until Ctrl-C or
/// SIGTERM.
#[derive(Debug, Parser)]
#[command(
    name = "grantex-server",
    override_usage = "grantex-server [--port N] [--demo] [--fixture FILE] [--api-key KEY]... [--rate-limits hosted|generous|off]\n       \
                      [--header-read-timeout SECS] [--idle-timeout SECS] [--max-connections N]"
)]
struct Options {
    /// Port on 127.0.0.1 (0: any free port)
    #[arg(long, value_name = "N", default_value_t = 0)]
    port: u16,
    /// Accept any bearer key, each its own account, seeded on first use with activity
    /// that trips all four detection rules
    #[arg(long)]
    demo: bool,
    /// Load a JSON fixture {"auditEntries": [...], "grants": [...]} into the default
    /// account
    #[arg(long, value_name = "FILE")]
    fixture: Option<PathBuf>,
    /// A known key; the first is the default account (default: generated). Repeatable
    #[arg(long = "api-key", value_name = "KEY", value_parser = non_empty_key)]
    api_keys: Vec<String>,
    /// The rate limits [default: hosted, or generous with --demo]
    #[arg(long, value_name = "LIMITS", value_enum)]
    rate_limits: Option<RateLimitPreset>,
    /// Seconds a connection may take to send a request's headers (and then its body)
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value = "10")]
    header_read_timeout: Duration,
    /// Seconds a kept-alive connection may wait for its next request (keep it above
    /// the clients' pool idle timeout: 60 s for the grantex client)
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value = "72")]
    idle_timeout: Duration,
    /// Connections open at once; more wait, and idle ones are closed to make room
    #[arg(long, value_name = "N", value_parser = positive_count, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
}

/// The `--rate-limits` presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RateLimitPreset {
    /// The hosted server's: 100/min per account, 30/min on detect and audit log
    Hosted,
    /// 1,000,000/min each, with the headers still sent
    Generous,
    /// No limits and no rate-limit headers
    Off,
}

impl RateLimitPreset {
    fn limits(self) -> RateLimits {
        match self {
            RateLimitPreset::Hosted => RateLimits::hosted(),
            RateLimitPreset::Generous => RateLimits::generous(),
            RateLimitPreset::Off => RateLimits::disabled(),
        }
    }
}

/// A positive, finite number of seconds (decimals allowed: `0.5`).
fn seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 => {
            Duration::try_from_secs_f64(secs).map_err(|_| "too many seconds".to_owned())
        }
        Ok(_) => Err("must be more than 0 seconds".to_owned()),
        Err(_) => Err("expected a number of seconds".to_owned()),
    }
}

/// A whole number of at least 1.
fn positive_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number".to_owned()),
    }
}

fn non_empty_key(key: &str) -> Result<String, String> {
    if key.trim().is_empty() {
        Err("the key is empty".to_owned())
    } else {
        Ok(key.to_owned())
    }
}

/// The options, or the exit status after `--help` (0, the help on stdout) or bad
/// arguments (2, the error and the usage on stderr).
fn parse_options() -> Result<Options, ExitCode> {
    Options::try_parse().map_err(|e| {
        let _ = e.print();
        if !e.use_stderr() {
            return ExitCode::SUCCESS;
        }
        // clap shows the usage with some errors (unknown arguments) but not with
        // others (invalid values).
        if !e.render().to_string().contains("Usage:") {
            eprintln!("\n{}", Options::command().render_usage());
        }
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(status) => return status,
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
                    let path = path.display();
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
    let limits = match options.rate_limits {
        Some(preset) => preset.limits(),
        None if options.demo => RateLimits::generous(),
        None => RateLimits::hosted(),
    };
    let mut builder = TestServer::builder()
        .port(options.port)
        .demo(options.demo)
        .rate_limits(limits)
        .header_read_timeout(options.header_read_timeout)
        .idle_timeout(options.idle_timeout)
        .max_connections(options.max_connections);
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
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Options::try_parse_from(std::iter::once("grantex-server").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_is_well_formed() {
        Options::command().debug_assert();
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
        .unwrap();
        assert_eq!(o.port, 8080);
        assert!(o.demo);
        assert_eq!(o.api_keys, ["k1", "k2"]);
        assert_eq!(o.fixture, Some(PathBuf::from("f.json")));
        let defaults = parse(&[]).unwrap();
        assert_eq!((defaults.port, defaults.demo), (0, false));
        assert_eq!(defaults.rate_limits, None);
        assert_eq!(
            (
                defaults.header_read_timeout,
                defaults.idle_timeout,
                defaults.max_connections
            ),
            (Duration::from_secs(10), Duration::from_secs(72), 256)
        );
        let o = parse(&[
            "--header-read-timeout",
            "0.5",
            "--idle-timeout=90",
            "--max-connections",
            "32",
        ])
        .unwrap();
        assert_eq!(
            (o.header_read_timeout, o.idle_timeout, o.max_connections),
            (Duration::from_millis(500), Duration::from_secs(90), 32)
        );
        assert_eq!(
            parse(&["--rate-limits", "off"])
                .unwrap()
                .rate_limits
                .map(RateLimitPreset::limits),
            Some(RateLimits::disabled())
        );
        assert_eq!(
            parse(&["--help"]).unwrap_err().kind(),
            ErrorKind::DisplayHelp
        );
        assert_eq!(parse(&["-h"]).unwrap_err().kind(), ErrorKind::DisplayHelp);
    }

    #[test]
    fn rejects_bad_input() {
        let kind = |args: &[&str]| parse(args).unwrap_err().kind();
        assert_eq!(kind(&["--port"]), ErrorKind::InvalidValue);
        assert_eq!(kind(&["--port", "x"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--port", "70000"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--bogus"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["--demo=yes"]), ErrorKind::TooManyValues);
        assert_eq!(kind(&["--rate-limits", "fast"]), ErrorKind::InvalidValue);
        assert_eq!(kind(&["--api-key", " "]), ErrorKind::ValueValidation);
        assert_eq!(
            kind(&["--header-read-timeout", "0"]),
            ErrorKind::ValueValidation
        );
        assert_eq!(kind(&["--idle-timeout=-1"]), ErrorKind::ValueValidation);
        assert_eq!(
            kind(&["--idle-timeout", "soon"]),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            kind(&["--max-connections", "0"]),
            ErrorKind::ValueValidation
        );
    }
}
