client.anomalies.create_channel(
    type="slack",
    name="slack-security",
    config={"webhookUrl": "https://hooks.slack.com/services/T00000/B00000/xxxxxxxx"},
    severities=["critical", "high"],
)
