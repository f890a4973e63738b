"""Results built by the one conversion (shared strings, the garbage collector paused while a
large result is built) are exactly what the documentation promises, whichever operation
returned them."""

from __future__ import annotations

import dataclasses
import gc
import json
import pickle

import pytest
from grantex import Anomaly, Grantex, ListAnomaliesResponse
from grantex.testing import GrantexTestServer

N = 1000


def wire_anomaly(i: int) -> dict[str, object]:
    return {
        "id": f"anm_{i:026d}",
        "type": "rate_spike" if i % 2 else "token_replay",
        "severity": "high" if i % 2 else "critical",
        "agentId": f"ag_{i % 7}",
        "principalId": None if i % 3 else f"user_{i}",
        "description": f"Agent ag_{i % 7} did something unusual ({i}).",
        "metadata": json.dumps({"count": i, "windowHours": 1, "threshold": 0.5}),
        "detectedAt": "2026-11-25T06:07:19.436Z",
        "acknowledgedAt": None if i % 5 else "2026-11-25T06:08:00.000Z",
        "riskScore": 0.9,
    }


def expected(i: int) -> Anomaly:
    return Anomaly(
        id=f"anm_{i:026d}",
        type="rate_spike" if i % 2 else "token_replay",
        severity="high" if i % 2 else "critical",
        agent_id=f"ag_{i % 7}",
        principal_id=None if i % 3 else f"user_{i}",
        description=f"Agent ag_{i % 7} did something unusual ({i}).",
        metadata={"count": i, "windowHours": 1, "threshold": 0.5},
        detected_at="2026-11-25T06:07:19.436Z",
        acknowledged_at=None if i % 5 else "2026-11-25T06:08:00.000Z",
    )


@pytest.fixture
def big_list() -> ListAnomaliesResponse:
    body = json.dumps({"anomalies": [wire_anomaly(i) for i in range(N)], "total": N})
    with GrantexTestServer() as server:
        server.fail_next(200, body=body, method="GET", path="/v1/anomalies")
        with Grantex(api_key=server.api_key, base_url=server.url) as client:
            return client.anomalies.list()


def test_a_thousand_anomalies_equal_constructor_built_ones(big_list: ListAnomaliesResponse) -> None:
    assert big_list.total == N
    assert big_list.anomalies == tuple(expected(i) for i in range(N))
    assert repr(big_list.anomalies[7]) == repr(expected(7))
    assert list(big_list.anomalies[3].metadata) == ["count", "windowHours", "threshold"]
    copy = pickle.loads(pickle.dumps(big_list))
    assert copy == big_list
    assert dataclasses.replace(big_list.anomalies[0], severity="low").severity == "low"


def test_shared_strings_are_invisible(big_list: ListAnomaliesResponse) -> None:
    first, second = big_list.anomalies[0], big_list.anomalies[2]
    assert first.detected_at == second.detected_at
    # Each anomaly's metadata is its own dict, even where the values are alike.
    first.metadata["extra"] = True
    assert "extra" not in second.metadata


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        if enabled:
            gc.enable()
        else:
            gc.disable()
        body = json.dumps({"anomalies": [wire_anomaly(i) for i in range(N)], "total": N})
        with GrantexTestServer() as server:
            server.fail_next(200, body=body, method="GET", path="/v1/anomalies")
            with Grantex(api_key=server.api_key, base_url=server.url) as client:
                assert client.anomalies.list().total == N
        assert gc.isenabled() is enabled
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


ODD_ANOMALIES = [
    # metadata in every form the server could send, and strings with escapes
    {"metadata": '{"count": 55, "windowHours": 1}'},
    {"metadata": {"count": 55, "nested": {"a": [1, 2.5, None, True, "x"]}}},
    {"metadata": '{"k\\u00e9y": "v\\"q\\u2713", "n": -7, "big": 18446744073709551615}'},
    {"metadata": None},
    {"metadata": ...},
    {"metadata": "not json"},
    {"metadata": "[1, 2]"},
    {"metadata": '{"a": 1} trailing'},
    {"metadata": 7},
    {"metadata": [1, "two"]},
    {"description": 'says "hi" \u00e9\u2713 \\ done', "agentId": None, "principalId": "p\n1"},
    {"acknowledgedAt": ..., "agentId": ..., "principalId": ...},
]


def documented_metadata(wire: dict[str, object]) -> object:
    """What the documentation promises for `metadata`, from what `json.loads` gives."""
    raw = wire.get("metadata")
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            held = json.loads(raw)
        except ValueError:
            return raw
        return held if isinstance(held, dict) else raw
    return raw


def odd_anomaly(i: int, changes: dict[str, object]) -> dict[str, object]:
    raw: dict[str, object] = {
        "id": f"anm_{i}",
        "type": "rate_spike",
        "severity": "high",
        "agentId": "ag_1",
        "principalId": None,
        "description": "d",
        "metadata": {},
        "detectedAt": "2026-11-25T06:07:19.432Z",
        "acknowledgedAt": None,
        "unknownField": {"x": [1]},
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not ...}


@pytest.mark.parametrize("changes", ODD_ANOMALIES)
def test_lists_and_detect_decode_exactly_like_acknowledge(changes: dict[str, object]) -> None:
    """The same wire anomaly gives identical Python objects from acknowledge, list and
    detect, and those are the documented mapping of what `json.loads` gives."""
    wire = odd_anomaly(1, changes)
    with GrantexTestServer() as server:
        server.fail_next(200, body=json.dumps(wire), path="/v1/anomalies/*/acknowledge")
        listed = {"anomalies": [wire], "total": 1}
        server.fail_next(200, body=json.dumps(listed), method="GET", path="/v1/anomalies")
        found = {"detectedAt": "2026-11-25T06:07:19.432Z", "total": 1, "anomalies": [wire]}
        server.fail_next(200, body=json.dumps(found), path="/v1/anomalies/detect")
        with Grantex(api_key=server.api_key, base_url=server.url) as client:
            acknowledged = client.anomalies.acknowledge("anm_1")
            (listed_one,) = client.anomalies.list().anomalies
            (detected_one,) = client.anomalies.detect().anomalies
    decoded = json.loads(json.dumps(wire))
    expected = Anomaly(
        id=decoded["id"],
        type=decoded["type"],
        severity=decoded["severity"],
        agent_id=decoded.get("agentId"),
        principal_id=decoded.get("principalId"),
        description=decoded["description"],
        metadata=documented_metadata(decoded),  # type: ignore[arg-type]
        detected_at=decoded["detectedAt"],
        acknowledged_at=decoded.get("acknowledgedAt"),
    )
    for anomaly in (acknowledged, listed_one, detected_one):
        assert anomaly == expected
        assert repr(anomaly) == repr(expected)
        assert type(anomaly.metadata) is type(expected.metadata)


def test_results_hold_exactly_their_dataclass_fields_in_order() -> None:
    """The conversion sets attributes from the Rust models' fields: a field the Python class
    lacks, or an order that differs, would show up in `vars()`."""
    with (
        GrantexTestServer(demo=True) as server,
        Grantex(api_key="gx_any", base_url=server.url) as client,
    ):
        found = client.anomalies.detect()
        results: list[object] = [
            found,
            found.anomalies[0],
            client.anomalies.list(),
            client.anomalies.acknowledge(found.anomalies[0].id),
            client.last_rate_limit,
        ]
    for result in results:
        assert dataclasses.is_dataclass(result)
        names = [f.name for f in dataclasses.fields(result)]
        assert list(vars(result)) == names, type(result).__name__
