"""The three documented calls, every field of their results, and the dataclass semantics."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from typing import Any

import pytest
from conftest import Server, wire_json
from grantex import (
    Anomaly,
    DetectAnomaliesResponse,
    Grantex,
    ListAnomaliesResponse,
    RateLimit,
)


def expected_anomaly(raw: dict[str, Any]) -> Anomaly:
    """What the documentation promises for one wire anomaly, through the constructor."""
    metadata = raw["metadata"]
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    return Anomaly(
        id=raw["id"],
        type=raw["type"],
        severity=raw["severity"],
        agent_id=raw["agentId"],
        principal_id=raw["principalId"],
        description=raw["description"],
        metadata=metadata,
        detected_at=raw["detectedAt"],
        acknowledged_at=raw["acknowledgedAt"],
    )


def test_detect(client: Grantex, server: Server) -> None:
    server.wire("detect-200")
    result = client.anomalies.detect()

    assert server.last.method == "POST"
    assert server.last.path == "/v1/anomalies/detect"
    assert server.last.body in (b"", b"{}")
    assert "content-type" not in server.last.headers or server.last.body == b"{}"

    raw = wire_json("detect-200")
    assert type(result) is DetectAnomaliesResponse
    # The documented three first, in order, then grantex 0.7.2's two.
    assert [f.name for f in dataclasses.fields(result)] == [
        "detected_at",
        "total",
        "anomalies",
        "response_mode",
        "auto_revoked_grants",
    ]
    assert result.detected_at == "2026-11-25T06:07:19.432Z"
    assert result.total == 4
    assert isinstance(result.anomalies, tuple)
    assert result == DetectAnomaliesResponse(
        detected_at=raw["detectedAt"],
        total=4,
        anomalies=tuple(expected_anomaly(a) for a in raw["anomalies"]),
        auto_revoked_grants=raw["autoRevokedGrants"],
    )
    first = result.anomalies[0]
    assert first.id == "anm_01M88N1MW8Q7ESJ7JDVT54D642"
    assert first.type == "rate_spike"
    assert first.severity == "high"
    assert first.agent_id == "seed_ag_spike"
    assert first.principal_id is None
    assert first.description.startswith("Agent seed_ag_spike performed 55 actions")
    assert first.metadata == {"count": 55, "windowHours": 1, "threshold": 50}
    assert first.detected_at == "2026-11-25T06:07:19.432Z"
    assert first.acknowledged_at is None
    assert result.anomalies[2].principal_id == "user_new"
    assert [a.type for a in result.anomalies] == [
        "rate_spike",
        "high_failure_rate",
        "new_principal",
        "off_hours_activity",
    ]


def test_list_decodes_metadata_sent_as_a_string(client: Grantex, server: Server) -> None:
    server.wire("list-200")
    result = client.anomalies.list()

    assert server.last.method == "GET"
    assert server.last.path == "/v1/anomalies"
    raw = wire_json("list-200")
    assert isinstance(raw["anomalies"][0]["metadata"], str)
    assert type(result) is ListAnomaliesResponse
    assert [f.name for f in dataclasses.fields(result)] == ["anomalies", "total"]
    assert result == ListAnomaliesResponse(
        anomalies=tuple(expected_anomaly(a) for a in raw["anomalies"]), total=4
    )
    high_failure = result.anomalies[2]
    assert high_failure.metadata == {
        "badCount": 5,
        "totalCount": 10,
        "percentFailure": 50,
        "windowHours": 24,
        "threshold": 0.2,
    }
    # The key order is the server's, as json.loads would give it.
    assert list(high_failure.metadata) == list(json.loads(raw["anomalies"][2]["metadata"]))
    assert isinstance(high_failure.metadata["threshold"], float)
    assert isinstance(high_failure.metadata["badCount"], int)


def test_list_unacknowledged(client: Grantex, server: Server) -> None:
    server.wire("list-unacknowledged-200")
    result = client.anomalies.list(unacknowledged=True)
    assert server.last.path == "/v1/anomalies?unacknowledged=true"
    assert result.total == 4
    assert all(a.acknowledged_at is None for a in result.anomalies)

    server.wire("list-200")
    client.anomalies.list(unacknowledged=False)
    assert server.last.path == "/v1/anomalies"


def test_list_parameter_is_keyword_only(client: Grantex, server: Server) -> None:
    with pytest.raises(TypeError):
        client.anomalies.list(True)  # type: ignore[call-arg]
    assert server.requests == []


def test_acknowledge(client: Grantex, server: Server) -> None:
    server.wire("acknowledge-200")
    anomaly = client.anomalies.acknowledge("anm_01M88N1MW85NN6G98M105YW80V")

    assert server.last.method == "PATCH"
    assert server.last.path == "/v1/anomalies/anm_01M88N1MW85NN6G98M105YW80V/acknowledge"
    assert server.last.body in (b"", b"{}")
    assert type(anomaly) is Anomaly
    assert anomaly == expected_anomaly(wire_json("acknowledge-200"))
    assert anomaly.acknowledged_at == "2026-11-25T06:07:24.809Z"
    assert anomaly.metadata["windowHours"] == 24


@pytest.mark.parametrize(
    ("anomaly_id", "segment"),
    [
        ("a/b?c#d", "a%2Fb%3Fc%23d"),
        ("../x", "..%2Fx"),
        ("a b", "a%20b"),
        ("100%", "100%25"),
        ("é", "%C3%A9"),
        ("...", "..."),
    ],
)
def test_hostile_ids_reach_the_server_as_one_segment(
    client: Grantex, server: Server, anomaly_id: str, segment: str
) -> None:
    server.wire("acknowledge-200")
    client.anomalies.acknowledge(anomaly_id)
    assert server.last.path == f"/v1/anomalies/{segment}/acknowledge"


@pytest.mark.parametrize("anomaly_id", ["", ".", ".."])
def test_ids_that_cannot_be_a_segment_are_refused_before_sending(
    client: Grantex, server: Server, anomaly_id: str
) -> None:
    with pytest.raises(ValueError):
        client.anomalies.acknowledge(anomaly_id)
    assert server.requests == []


def anomaly_json(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "anm_1",
        "type": "rate_spike",
        "severity": "high",
        "agentId": "ag_1",
        "principalId": None,
        "description": "d",
        "metadata": {"count": 1},
        "detectedAt": "2026-11-25T06:07:19.432Z",
        "acknowledgedAt": None,
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not ...}


def test_unknown_fields_and_values_are_accepted(client: Grantex, server: Server) -> None:
    body = {
        "detectedAt": "2026-11-25T06:07:19.432Z",
        "total": 2,
        "autoRevokedGrants": 3,
        "responseMode": "alert_only",
        "somethingNew": {"nested": [1, 2]},
        "anomalies": [
            anomaly_json(severity="critical", type="credential_stuffing", extra=True),
            anomaly_json(id="anm_2", severity="unheard_of", riskScore=0.9),
        ],
    }
    server.reply(200, body)
    result = client.anomalies.detect()
    assert [a.severity for a in result.anomalies] == ["critical", "unheard_of"]
    assert result.anomalies[0].type == "credential_stuffing"
    assert (result.response_mode, result.auto_revoked_grants) == ("alert_only", 3)
    assert not hasattr(result.anomalies[0], "extra")


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"a": {"b": [1, 2.5, None, True, "x"]}}, {"a": {"b": [1, 2.5, None, True, "x"]}}),
        ('{"a": {"b": [1, 2.5, null, true, "x"]}}', {"a": {"b": [1, 2.5, None, True, "x"]}}),
        ("{}", {}),
        (None, {}),
        (..., {}),  # absent
        ({"big": 2**63, "neg": -(2**62), "unicode": "é—✓"}, None),
    ],
)
def test_metadata_shapes(client: Grantex, server: Server, metadata: Any, expected: Any) -> None:
    server.reply(200, anomaly_json(metadata=metadata))
    anomaly = client.anomalies.acknowledge("anm_1")
    assert anomaly.metadata == (metadata if expected is None else expected)
    assert type(anomaly.metadata) is dict


def test_metadata_string_that_is_not_an_object_is_kept_as_sent(
    client: Grantex, server: Server
) -> None:
    server.reply(200, anomaly_json(metadata="not json"))
    assert client.anomalies.acknowledge("anm_1").metadata == "not json"  # type: ignore[comparison-overlap]


def test_optional_fields_may_be_absent(client: Grantex, server: Server) -> None:
    server.reply(200, anomaly_json(agentId=..., principalId=..., acknowledgedAt=...))
    anomaly = client.anomalies.acknowledge("anm_1")
    assert (anomaly.agent_id, anomaly.principal_id, anomaly.acknowledged_at) == (None, None, None)


def test_empty_list(client: Grantex, server: Server) -> None:
    server.reply(200, {"anomalies": [], "total": 0})
    assert client.anomalies.list() == ListAnomaliesResponse(anomalies=(), total=0)


# --- the results are real frozen dataclasses -------------------------------------------


@pytest.fixture
def received(client: Grantex, server: Server) -> ListAnomaliesResponse:
    server.wire("list-200")
    return client.anomalies.list()


def test_results_are_frozen_dataclasses(received: ListAnomaliesResponse) -> None:
    anomaly = received.anomalies[0]
    for obj in (received, anomaly):
        assert dataclasses.is_dataclass(obj)
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.total = 1  # type: ignore[misc,union-attr]
        with pytest.raises(dataclasses.FrozenInstanceError):
            del obj.anomalies  # type: ignore[union-attr]
    assert [f.name for f in dataclasses.fields(anomaly)] == [
        "id",
        "type",
        "severity",
        "agent_id",
        "principal_id",
        "description",
        "metadata",
        "detected_at",
        "acknowledged_at",
    ]
    assert [f.name for f in dataclasses.fields(RateLimit)] == [
        "limit",
        "remaining",
        "reset",
        "retry_after",
    ]


def test_results_behave_like_constructed_instances(received: ListAnomaliesResponse) -> None:
    anomaly = received.anomalies[0]
    built = Anomaly(**dataclasses.asdict(anomaly))
    assert anomaly == built and built == anomaly
    assert anomaly == built
    assert repr(anomaly) == repr(built)
    assert repr(anomaly).startswith("Anomaly(id='anm_01M88N1MW8BR85DFY7QVFWJ5FQ', type=")
    assert vars(anomaly) == vars(built)
    assert list(vars(anomaly)) == list(vars(built))
    assert dataclasses.asdict(anomaly) == dataclasses.asdict(built)
    assert dataclasses.astuple(anomaly) == dataclasses.astuple(built)

    changed = dataclasses.replace(anomaly, severity="low", acknowledged_at="now")
    assert changed.severity == "low" and changed.id == anomaly.id
    assert anomaly.acknowledged_at is None

    for clone in (
        pickle.loads(pickle.dumps(anomaly)),
        copy.copy(anomaly),
        copy.deepcopy(anomaly),
    ):
        assert clone == anomaly and type(clone) is Anomaly
    assert pickle.loads(pickle.dumps(received)) == received
    assert copy.deepcopy(received) == received
    whole = ListAnomaliesResponse(
        **{f.name: getattr(received, f.name) for f in dataclasses.fields(received)}
    )
    assert whole == received and repr(whole) == repr(received)
    # Like the constructed ones: unhashable because metadata is a dict.
    with pytest.raises(TypeError):
        hash(anomaly)
    with pytest.raises(TypeError):
        hash(built)


def test_rate_limit_is_a_frozen_dataclass(client: Grantex, server: Server) -> None:
    server.wire("list-200")
    client.anomalies.list()
    rate = client.last_rate_limit
    assert rate is not None and dataclasses.is_dataclass(rate)
    assert rate == RateLimit(100, 98, 41, None)
    assert repr(rate) == "RateLimit(limit=100, remaining=98, reset=41, retry_after=None)"
    assert hash(rate) == hash(RateLimit(100, 98, 41))
    assert pickle.loads(pickle.dumps(rate)) == rate
    with pytest.raises(dataclasses.FrozenInstanceError):
        rate.limit = 1  # type: ignore[misc]
