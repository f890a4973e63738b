client.anomalies.create_rule(
    rule_id="billing_agent_write_surge",
    name="Billing Agent Write Surge",
    description="Billing agent writing more than 20 invoices in 10 minutes",
    severity="high",
    condition={
        "agentIds": ["ag_billing_01"],
        "scopes": ["invoices:write"],
        "timeWindow": "10m",
        "threshold": 20,
    },
    channels=["slack-security", "pagerduty-oncall"],
)
