//! The benchmark's Rust peer (bench/bench.py): the same calls as bench/_worker.py, made by
//! the Rust crate itself, printing the same JSON (`{"per_call": median_seconds, "rounds": [...]}`).
//!
//! ```sh
//! cargo build --release --example bench_list
//! target/release/examples/bench_list URL API_KEY SCENARIO CALLS ROUNDS
//! ```
//! SCENARIO is `acknowledge` (one anomaly, found by a detection run first), `list` (after a
//! detection run) or `list-1000` (whatever the server was told to answer).

use std::time::Instant;

use grantex::{Anomaly, Grantex};

/// Calls before the timed rounds (as in bench/_worker.py).
const WARMUP: usize = 30;

fn usage() -> ! {
    eprintln!("usage: bench_list URL API_KEY SCENARIO CALLS ROUNDS");
    std::process::exit(2)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn check(anomaly: &Anomaly) {
    assert!(
        anomaly.metadata.is_object(),
        "metadata of {} is not an object",
        anomaly.id
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), grantex::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, key, scenario, calls, rounds] = args.as_slice() else {
        usage()
    };
    let (Ok(calls), Ok(rounds)) = (calls.parse::<usize>(), rounds.parse::<usize>()) else {
        usage()
    };
    if calls == 0 || rounds == 0 {
        usage()
    }
    let client = Grantex::builder().api_key(key).base_url(url).build()?;
    let anomalies = client.anomalies();

    let mut per_call = Vec::with_capacity(rounds);
    match scenario.as_str() {
        "acknowledge" => {
            let detection = anomalies.detect().await?;
            let id = detection
                .anomalies
                .first()
                .expect("no anomaly detected")
                .id
                .clone();
            for _ in 0..WARMUP {
                check(&anomalies.acknowledge(&id).await?);
            }
            let mut last = None;
            for _ in 0..rounds {
                let start = Instant::now();
                for _ in 0..calls {
                    last = Some(anomalies.acknowledge(&id).await?);
                }
                per_call.push(start.elapsed().as_secs_f64() / calls as f64);
            }
            let last = last.expect("at least one call");
            assert_eq!(last.id, id);
            assert!(last.acknowledged_at.is_some(), "not acknowledged");
            check(&last);
        }
        "list" | "list-1000" => {
            if scenario == "list" {
                // The demo seed's anomalies, stored (as bench/_worker.py).
                anomalies.detect().await?;
            }
            for _ in 0..WARMUP {
                anomalies.list(Default::default()).await?;
            }
            let mut last = None;
            for _ in 0..rounds {
                let start = Instant::now();
                for _ in 0..calls {
                    last = Some(anomalies.list(Default::default()).await?);
                }
                per_call.push(start.elapsed().as_secs_f64() / calls as f64);
            }
            let last = last.expect("at least one call");
            assert_eq!(
                last.anomalies.len() as i64,
                last.total,
                "not the whole list"
            );
            last.anomalies.iter().for_each(check);
        }
        other => {
            eprintln!("unknown scenario {other:?}");
            std::process::exit(2)
        }
    }
    let out = serde_json::json!({ "per_call": median(&per_call), "rounds": per_call });
    println!("{out}");
    Ok(())
}
