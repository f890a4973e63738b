client.anomalies.create_channel(
    type="slack",
    name="slack-incidents",
    config={"webhookUrl": "https://hooks.slack.com/services/..."},
    severities=["critical", "high"],
)
