rule = client.anomalies.create_rule(
    rule_id="email_flood",
    name="Email Flood Detection",
    description="Too many email sends in a short window",
    severity="critical",
    condition={
        "scopes": ["email:send"],
        "timeWindow": "5m",
        "threshold": 50,
    },
    channels=["slack-incidents"],
)
