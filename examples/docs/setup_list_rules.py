from grantex import Grantex

client = Grantex(api_key="gx_...")

rules = client.anomalies.list_rules()
print(f"{len(rules)} rules loaded")

for rule in rules:
    status = "enabled" if rule.enabled else "disabled"
    print(f"{rule.rule_id}: {status} ({rule.severity})")
