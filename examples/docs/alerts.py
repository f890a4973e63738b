alerts = client.anomalies.list_alerts(status="open")

client.anomalies.acknowledge_alert(alerts[0].alert_id, note="Investigating")

client.anomalies.resolve_alert(alerts[0].alert_id, note="False positive")
