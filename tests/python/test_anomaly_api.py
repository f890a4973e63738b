"""The rest of the anomalies API (alerts, metrics, rules, channels, response policy) against
the responses captured from the real server (tests/fixtures/wire/lifecycle/), served over a
real socket: what is sent, what users get, each error."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

import pytest
from conftest import Reply, Server, wire_json
from grantex import (
    Alert,
    AlertChannel,
    AnomalyMetrics,
    AnomalyRule,
    AsyncGrantex,
    Grantex,
    GrantexApiError,
)

LC = "lifecycle/"


def test_list_alerts_sends_only_the_given_filters(client: Grantex, server: Server) -> None:
    server.wire(LC + "40-alerts")
    alerts = client.anomalies.list_alerts()
    assert server.last.method == "GET" and server.last.path == "/v1/anomaly/alerts"
    assert isinstance(alerts, tuple) and all(isinstance(a, Alert) for a in alerts)
    first = wire_json(LC + "40-alerts")["data"][0]
    assert alerts[0].alert_id == first["alertId"]
    assert alerts[0].rule_name == first["ruleName"] and alerts[0].rule_id is None
    assert alerts[0].context == {} and alerts[0].status == "open"

    server.wire(LC + "41-alerts-filter")
    client.anomalies.list_alerts(status="open", severity="low", agent_id="ag 1", limit=2)
    path, _, query = server.last.path.partition("?")
    assert path == "/v1/anomaly/alerts"
    assert parse_qs(query) == {
        "status": ["open"],
        "severity": ["low"],
        "agentId": ["ag 1"],
        "limit": ["2"],
    }


def test_a_bad_alert_status_is_the_servers_400(client: Grantex, server: Server) -> None:
    server.wire(LC + "42-alerts-bad-status")
    with pytest.raises(GrantexApiError) as info:
        client.anomalies.list_alerts(status="bogus")
    assert info.value.status_code == 400 and info.value.code == "BAD_REQUEST"
    assert str(info.value).startswith("Invalid status")
    assert info.value.request_id


def test_get_acknowledge_and_resolve_an_alert(client: Grantex, server: Server) -> None:
    server.wire(LC + "43-alert-get")
    alert = client.anomalies.get_alert("anm/1")
    assert server.last.path == "/v1/anomaly/alerts/anm%2F1"
    assert alert.status == "open"

    server.wire(LC + "45-alert-ack")
    acked = client.anomalies.acknowledge_alert(alert.alert_id, note="seen")
    assert server.last.method == "POST"
    assert server.last.path == f"/v1/anomaly/alerts/{alert.alert_id}/acknowledge"
    assert json.loads(server.last.body) == {"note": "seen"}
    assert acked.status == "acknowledged" and acked.acknowledged_at

    server.wire(LC + "46-alert-resolve")
    resolved = client.anomalies.resolve_alert(alert.alert_id)
    assert json.loads(server.last.body) == {}
    assert resolved.status == "resolved" and resolved.resolved_at

    server.wire(LC + "44-alert-get-unknown")
    with pytest.raises(GrantexApiError) as info:
        client.anomalies.get_alert("nonexistent")
    assert info.value.status_code == 404 and info.value.code == "NOT_FOUND"
    with pytest.raises(ValueError):
        client.anomalies.resolve_alert("..")


def test_metrics(client: Grantex, server: Server) -> None:
    server.wire(LC + "50-metrics")
    metrics = client.anomalies.get_metrics()
    assert server.last.path == "/v1/anomaly/metrics"
    assert isinstance(metrics, AnomalyMetrics)
    assert metrics == AnomalyMetrics(
        window="24h",
        total=5,
        by_status={"open": 4, "acknowledged": 0, "resolved": 1},
        by_severity={"critical": 0, "high": 1, "medium": 1, "low": 3},
    )
    server.wire(LC + "51-metrics-1h")
    client.anomalies.get_metrics(window="1h", agent_id="ag_1")
    path, _, query = server.last.path.partition("?")
    assert (path, parse_qs(query)) == (
        "/v1/anomaly/metrics",
        {"window": ["1h"], "agentId": ["ag_1"]},
    )
    server.wire(LC + "52-metrics-bad-window")
    with pytest.raises(GrantexApiError, match="Invalid window"):
        client.anomalies.get_metrics(window="7d")


def test_rules_decode_their_condition_string(client: Grantex, server: Server) -> None:
    server.wire(LC + "58-rules-after")
    rules = client.anomalies.list_rules()
    assert len(rules) == 11 and all(isinstance(r, AnomalyRule) for r in rules)
    assert [r.rule_id for r in rules[:10]] == [f"AD-{i:03d}" for i in range(1, 11)]
    assert all(r.built_in and r.id is None and r.condition is None for r in rules[:10])
    custom = rules[10]
    assert custom.id and custom.id.startswith("arule_") and not custom.built_in
    assert custom.condition == {"action": "files.delete", "count": 5, "windowMinutes": 10}


def test_create_rule_sends_the_wire_names(client: Grantex, server: Server) -> None:
    server.reply(201, wire_json(LC + "56-rule-create"))
    rule = client.anomalies.create_rule(
        rule_id="CUSTOM-001",
        name="Many deletes",
        description="More than 5 deletes in 10 min",
        condition={"action": "files.delete", "count": 5, "windowMinutes": 10},
        severity="high",
        channels=["slack-security"],
    )
    assert server.last.method == "POST" and server.last.path == "/v1/anomaly/rules"
    assert json.loads(server.last.body) == {
        "ruleId": "CUSTOM-001",
        "name": "Many deletes",
        "description": "More than 5 deletes in 10 min",
        "condition": {"action": "files.delete", "count": 5, "windowMinutes": 10},
        "severity": "high",
        "alertChannels": ["slack-security"],
    }
    assert rule.condition == {"action": "files.delete", "count": 5, "windowMinutes": 10}
    server.wire(LC + "57-rule-create-invalid")
    with pytest.raises(GrantexApiError, match="ruleId and name are required"):
        client.anomalies.create_rule(rule_id="", name="x")
    with pytest.raises(TypeError, match="condition must be a dict"):
        client.anomalies.create_rule(rule_id="r", name="x", condition=[1])  # type: ignore[arg-type]


def test_toggle_rule_finds_the_stored_id_from_the_rule_id(client: Grantex, server: Server) -> None:
    server.wire(LC + "58-rules-after")
    server.wire(LC + "59-rule-disable")
    rule = client.anomalies.toggle_rule("CUSTOM-001", enabled=False)
    stored = wire_json(LC + "59-rule-disable")["id"]
    assert server.requests[-2].path == "/v1/anomaly/rules"
    assert server.last.method == "PATCH" and server.last.path == f"/v1/anomaly/rules/{stored}"
    assert json.loads(server.last.body) == {"enabled": False}
    assert rule.enabled is False and rule.condition == {
        "action": "files.delete",
        "count": 5,
        "windowMinutes": 10,
    }


def test_a_built_in_rule_cannot_be_toggled(client: Grantex, server: Server) -> None:
    server.wire(LC + "55-rules")
    with pytest.raises(ValueError, match="built-in"):
        client.anomalies.toggle_rule("AD-001", enabled=False)
    assert [r.method for r in server.requests] == ["GET"]  # nothing changed


def test_an_unknown_rule_gets_the_servers_404(client: Grantex, server: Server) -> None:
    server.wire(LC + "55-rules")
    server.wire(LC + "61-rule-delete-unknown")
    with pytest.raises(GrantexApiError) as info:
        client.anomalies.delete_rule("velocity_spike")
    assert info.value.status_code == 404
    assert server.last.method == "DELETE"
    assert server.last.path == "/v1/anomaly/rules/velocity_spike"


def test_delete_rule_answers_none(client: Grantex, server: Server) -> None:
    server.wire(LC + "58-rules-after")
    server.wire(LC + "60-rule-delete")
    assert client.anomalies.delete_rule("CUSTOM-001") is None
    assert server.last.method == "DELETE"


def test_channels_decode_their_config_and_hide_it(client: Grantex, server: Server) -> None:
    server.wire(LC + "66-channels-after")
    (channel,) = client.anomalies.list_channels()
    assert isinstance(channel, AlertChannel)
    assert channel.config == {"url": "http://127.0.0.1:9/hook"}
    assert channel.severities == ("critical", "high")
    assert "127.0.0.1:9/hook" not in repr(channel)

    server.reply(201, wire_json(LC + "64-channel-create"))
    created = client.anomalies.create_channel(
        type="webhook", name="loopback hook", config={"url": "http://127.0.0.1:9/hook"}
    )
    assert json.loads(server.last.body) == {
        "type": "webhook",
        "name": "loopback hook",
        "config": {"url": "http://127.0.0.1:9/hook"},
    }
    assert created.id.startswith("achan_")

    server.wire(LC + "65-channel-create-invalid")
    with pytest.raises(GrantexApiError, match="type is required") as info:
        client.anomalies.create_channel(type="pager", name="x", config={"token": "s3cret"})
    assert "s3cret" not in str(info.value) and "s3cret" not in repr(info.value)

    server.wire(LC + "67-channel-delete")
    assert client.anomalies.delete_channel(created.id) is None
    assert server.last.path == f"/v1/anomaly/channels/{created.id}"


def test_response_policy(client: Grantex, server: Server) -> None:
    server.reply(200, {"mode": "revoke_agent_grants"})
    assert client.anomalies.get_response_policy() == "revoke_agent_grants"
    assert server.last.path == "/v1/irregularities/response-policy"
    server.reply(200, {"mode": "alert_only"})
    assert client.anomalies.set_response_policy("alert_only") == "alert_only"
    assert server.last.method == "PATCH"
    assert json.loads(server.last.body) == {"mode": "alert_only"}
    sent = len(server.requests)
    with pytest.raises(ValueError, match="mode must be alert_only or revoke_agent_grants"):
        client.anomalies.set_response_policy("revoke_everything")
    assert len(server.requests) == sent  # nothing sent


def test_detect_has_the_documented_sdks_fields(client: Grantex, server: Server) -> None:
    body = wire_json("detect-200")
    server.reply(200, body)
    old_server = client.anomalies.detect()
    assert old_server.response_mode == "revoke_agent_grants"
    assert old_server.auto_revoked_grants == body["autoRevokedGrants"]
    server.reply(200, {**body, "responseMode": "alert_only", "autoRevokedGrants": 3})
    newer = client.anomalies.detect()
    assert (newer.response_mode, newer.auto_revoked_grants) == ("alert_only", 3)


def test_retries_apply_to_the_new_operations(client: Grantex, server: Server) -> None:
    server.add(Reply(status=503, headers=[("retry-after", "0")]))
    server.wire(LC + "50-metrics")
    assert client.anomalies.get_metrics().total == 5
    assert len(server.requests) == 2


def test_the_async_client_has_every_operation(server: Server) -> None:
    async def main() -> None:
        async with AsyncGrantex(api_key="gx_test", base_url=server.url) as client:
            server.wire(LC + "40-alerts")
            assert len(await client.anomalies.list_alerts()) > 0
            server.wire(LC + "58-rules-after")
            server.wire(LC + "59-rule-disable")
            assert (
                await client.anomalies.toggle_rule("CUSTOM-001", enabled=False)
            ).enabled is False
            server.wire(LC + "66-channels-after")
            assert len(await client.anomalies.list_channels()) == 1
            server.reply(200, {"mode": "alert_only"})
            assert await client.anomalies.set_response_policy("alert_only") == "alert_only"

    asyncio.run(main())
    sync_names = {n for n in dir(Grantex(api_key="k").anomalies) if not n.startswith("_")}
    async_names = {n for n in dir(AsyncGrantex(api_key="k").anomalies) if not n.startswith("_")}
    assert sync_names == async_names


def test_the_whole_api_against_the_local_server() -> None:
    from grantex.testing import GrantexTestServer

    with GrantexTestServer(demo=True) as server:
        server.record_audit("seed_ag_spike", api_key="gx_whole")
        server.record_grant("seed_ag_spike", "user_spike", api_key="gx_whole")
        with Grantex(api_key="gx_whole", base_url=server.url) as client:
            a = client.anomalies
            found = a.detect()
            assert found.response_mode == "revoke_agent_grants"
            assert found.auto_revoked_grants >= 1
            assert a.set_response_policy("alert_only") == "alert_only"
            assert a.get_response_policy() == "alert_only"
            assert a.detect().auto_revoked_grants == 0
            (first, *_) = a.list_alerts(status="open")
            assert a.acknowledge_alert(first.alert_id, note="x").status == "acknowledged"
            assert a.resolve_alert(first.alert_id).status == "resolved"
            assert a.get_metrics(window="1h").by_status["resolved"] == 1
            rule = a.create_rule(rule_id="r1", name="R", condition={"threshold": 1})
            assert rule.condition == {"threshold": 1}
            assert a.toggle_rule("r1", enabled=False).enabled is False
            a.delete_rule("r1")
            channel = a.create_channel(type="email", name="e", config={"to": "sec@example.com"})
            assert a.list_channels()[0].config == {"to": "sec@example.com"}
            a.delete_channel(channel.id)
            assert a.list_channels() == ()

        async def async_flow() -> None:
            async with AsyncGrantex(api_key="gx_whole", base_url=server.url) as client:
                assert len(await client.anomalies.list_rules()) == 11
                assert (await client.anomalies.get_metrics()).total >= 1

        asyncio.run(async_flow())
