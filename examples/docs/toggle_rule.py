client.anomalies.toggle_rule("velocity_spike", enabled=False)
client.anomalies.toggle_rule("velocity_spike", enabled=True)
