//! The README's Rust quick start, `examples/quickstart.rs`, run unchanged against the local
//! server in demo mode: its `main` is compiled into this test (the file has no inner
//! attributes, so `include!` takes it as it is) and called with only the environment set.
//! The README shows the file byte for byte.

use grantex_server::{TestServer, DOC_EXAMPLE_ANOMALY_ID};

// `fn main` of the example; a test crate's own `main` is not its entry point.
include!("../examples/quickstart.rs");

#[test]
fn quickstart_runs_against_the_demo_server() {
    // The server's own runtime: the example's `#[tokio::main]` builds another one on this
    // thread, as it does in a program.
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let server = runtime
        .block_on(TestServer::builder().demo(true).start())
        .expect("the local server starts");
    let key = "gx_live_quickstart";
    // The only test of this binary that reads the environment (each test binary is its
    // own process).
    std::env::set_var("GRANTEX_API_KEY", key);
    std::env::set_var("GRANTEX_BASE_URL", server.url());

    main().expect("the quick start runs");

    let stored = server.anomalies(key);
    assert_eq!(
        stored.len(),
        5,
        "the four detected anomalies and the seeded one"
    );
    let open = stored.iter().filter(|a| a.acknowledged_at.is_none());
    assert_eq!(
        open.count(),
        4,
        "detect ran; only the seeded one was acknowledged"
    );
    let seeded = stored
        .iter()
        .find(|a| a.id == DOC_EXAMPLE_ANOMALY_ID)
        .expect("the demo's anomaly");
    assert!(seeded.acknowledged_at.is_some());
}

#[test]
fn the_readme_shows_the_quickstart_as_it_is() {
    let readme = include_str!("../README.md");
    let program = include_str!("../examples/quickstart.rs");
    assert!(
        readme.contains(&format!("```rust\n{program}```\n")),
        "README.md's Rust quick start differs from examples/quickstart.rs"
    );
}
