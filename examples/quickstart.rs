use grantex::{Grantex, ListAnomaliesParams};

#[tokio::main]
async fn main() -> Result<(), grantex::Error> {
    // The key from GRANTEX_API_KEY; the base URL from GRANTEX_BASE_URL, else the hosted API.
    let client = Grantex::builder().build()?;

    let detection = client.anomalies().detect().await?;
    println!("Total anomalies: {}", detection.total);
    for anomaly in &detection.anomalies {
        let (severity, kind) = (&anomaly.severity, &anomaly.type_);
        println!("  [{severity}] {kind}: {}", anomaly.description);
    }

    let only_open = ListAnomaliesParams {
        unacknowledged: true,
    };
    let open = client.anomalies().list(only_open).await?;
    println!("Unacknowledged: {}", open.total);

    // An id from your account (the local demo server has this one).
    let anomaly = client.anomalies().acknowledge("anom_abc123").await?;
    let when = anomaly.acknowledged_at.unwrap_or_default();
    println!("Acknowledged {} at {when}", anomaly.id);
    Ok(())
}
