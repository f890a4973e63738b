//! The documentation's "Monitor and Acknowledge" example, in Rust: run detection, print each
//! anomaly and acknowledge it.
//!
//! ```sh
//! GRANTEX_BASE_URL=http://127.0.0.1:8080 cargo run --example monitor_and_acknowledge
//! ```
//! The key comes from `GRANTEX_API_KEY`, else the documentation's placeholder (which the
//! local server in demo mode accepts); the base URL from `GRANTEX_BASE_URL`.

use grantex::Grantex;

#[tokio::main]
async fn main() -> Result<(), grantex::Error> {
    let api_key = std::env::var("GRANTEX_API_KEY").unwrap_or_else(|_| "gx_live_...".to_owned());
    let client = Grantex::builder().api_key(api_key).build()?;

    // Run detection
    let detection = client.anomalies().detect().await?;

    if detection.total > 0 {
        println!("Found {} anomalies!", detection.total);

        for anomaly in &detection.anomalies {
            println!("\n[{}] {}", anomaly.severity.to_uppercase(), anomaly.type_);
            println!("  {}", anomaly.description);

            if let Some(agent_id) = &anomaly.agent_id {
                println!("  Agent: {agent_id}");
            }
            if let Some(principal_id) = &anomaly.principal_id {
                println!("  Principal: {principal_id}");
            }

            // Acknowledge after review
            client.anomalies().acknowledge(&anomaly.id).await?;
            println!("  -> Acknowledged");
        }
    } else {
        println!("No anomalies detected");
    }
    Ok(())
}
