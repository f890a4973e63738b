"""`grantex.testing`: the detection rules at, just under and just over their thresholds and
window edges, seeded with `record_audit` / `record_grant` and moved with the server clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest
import testing_helpers
from grantex import Grantex
from grantex.testing import GrantexTestServer
from testing_helpers import MS, NOON, found, only, record

# The local server, clock frozen at NOON, and a client of it: they override conftest's
# fake-server `server` and `client` in this module.
server = testing_helpers.server
client = testing_helpers.client


@pytest.mark.parametrize(("count", "fires"), [(49, False), (50, False), (51, True)])
def test_rate_spike_threshold(
    server: GrantexTestServer, client: Grantex, count: int, fires: bool
) -> None:
    record(server, "ag_busy", count, timestamp=NOON - timedelta(minutes=30))
    if not fires:
        assert found(client) == []
        return
    anomaly = only(client, "rate_spike")
    assert anomaly.severity == "high"
    assert anomaly.agent_id == "ag_busy"
    assert anomaly.description == (
        "Agent ag_busy performed 51 actions in the last hour (threshold: 50)."
    )
    assert anomaly.metadata == {"count": 51, "windowHours": 1, "threshold": 50}
    assert anomaly.detected_at == "2026-11-25T12:00:00.000Z"


def test_rate_spike_window(server: GrantexTestServer, client: Grantex) -> None:
    record(server, "ag_busy", 51)  # at NOON
    server.advance(timedelta(hours=1))  # exactly one hour old: still in the window
    assert found(client) == [("rate_spike", "ag_busy")]
    server.advance(MS)
    assert found(client) == []


@pytest.mark.parametrize(
    ("bad", "total", "fires"),
    [
        (1, 4, False),  # under the minimum of 5 entries
        (4, 4, False),  # 100% but still under the minimum
        (1, 5, False),  # exactly 20%: not more than the threshold
        (2, 10, False),  # exactly 20%
        (2, 9, True),  # 22%
        (2, 5, True),  # 40% at the minimum number of entries
    ],
)
def test_high_failure_rate_threshold(
    server: GrantexTestServer, client: Grantex, bad: int, total: int, fires: bool
) -> None:
    for i in range(total):
        status: Literal["success", "failure", "blocked"] = "success"
        if i < bad:
            status = "failure" if i % 2 else "blocked"
        server.record_audit("ag_f", status=status, timestamp=NOON - timedelta(hours=2))
    if not fires:
        assert found(client) == []
        return
    anomaly = only(client, "high_failure_rate")
    pct = round(100 * bad / total)
    assert anomaly.severity == "medium"
    assert anomaly.description == (
        f"Agent ag_f has {pct}% failure/blocked rate over the last 24 hours ({bad}/{total})."
    )
    assert anomaly.metadata == {
        "badCount": bad,
        "totalCount": total,
        "percentFailure": pct,
        "windowHours": 24,
        "threshold": 0.2,
    }


def test_high_failure_rate_window(server: GrantexTestServer, client: Grantex) -> None:
    record(server, "ag_f", 5, status="failure")
    server.advance(timedelta(hours=24))
    assert found(client) == [("high_failure_rate", "ag_f")]
    server.advance(MS)
    assert found(client) == []


def test_new_principal(server: GrantexTestServer, client: Grantex) -> None:
    server.record_grant("ag_n", "user_new", issued_at=NOON - timedelta(hours=3))
    anomaly = only(client, "new_principal")
    assert anomaly.severity == "low"
    assert (anomaly.agent_id, anomaly.principal_id) == ("ag_n", "user_new")
    assert anomaly.description == (
        "Agent ag_n received a grant from previously-unseen principal user_new."
    )
    assert anomaly.metadata == {"windowHours": 24}


def test_new_principal_window(server: GrantexTestServer, client: Grantex) -> None:
    server.record_grant("ag_n", "user_new")  # at NOON
    server.advance(timedelta(hours=24))
    assert found(client) == [("new_principal", "ag_n")]
    server.advance(MS)
    assert found(client) == []


def test_new_principal_only_for_unseen_principals(
    server: GrantexTestServer, client: Grantex
) -> None:
    server.record_grant("ag_n", "user_old", issued_at=NOON - timedelta(days=2))
    server.record_grant("ag_n", "user_old", issued_at=NOON - timedelta(hours=1))
    assert found(client) == []
    server.record_grant("ag_n", "user_other", issued_at=NOON - timedelta(hours=1))
    server.record_grant("ag_m", "user_old", issued_at=NOON - timedelta(hours=1))
    assert found(client) == [("new_principal", "ag_m"), ("new_principal", "ag_n")]


@pytest.mark.parametrize(("count", "fires"), [(9, False), (10, False), (11, True)])
def test_off_hours_threshold(
    server: GrantexTestServer, client: Grantex, count: int, fires: bool
) -> None:
    record(server, "ag_night", count, timestamp="2026-11-25T03:00:00Z")
    if not fires:
        assert found(client) == []
        return
    anomaly = only(client, "off_hours_activity")
    assert anomaly.severity == "low"
    assert anomaly.description == (
        "Agent ag_night performed 11 actions outside business hours (22:00\u201306:00 UTC) "
        "in the last 24 hours."
    )
    assert anomaly.metadata == {"count": 11, "windowHours": 24, "threshold": 10}


@pytest.mark.parametrize(
    ("at", "fires"),
    [
        ("2026-11-24T21:59:59.999Z", False),
        ("2026-11-24T22:00:00.000Z", True),
        ("2026-11-25T05:59:59.999Z", True),
        ("2026-11-25T06:00:00.000Z", False),
    ],
)
def test_off_hours_boundaries(
    server: GrantexTestServer, client: Grantex, at: str, fires: bool
) -> None:
    record(server, "ag_night", 11, timestamp=at)
    assert found(client) == ([("off_hours_activity", "ag_night")] if fires else [])


def test_off_hours_window(server: GrantexTestServer, client: Grantex) -> None:
    server.set_time("2026-11-24T23:00:00Z")
    record(server, "ag_night", 11)
    server.advance(timedelta(hours=24))
    assert found(client) == [("off_hours_activity", "ag_night")]
    server.advance(MS)
    assert found(client) == []


def test_all_rules_in_the_hosted_order(server: GrantexTestServer, client: Grantex) -> None:
    record(server, "ag_d", 11, timestamp="2026-11-25T02:00:00Z")
    server.record_grant("ag_c", "user_c")
    record(server, "ag_b", 5, status="failure")
    record(server, "ag_a", 51)
    assert found(client) == [
        ("rate_spike", "ag_a"),
        ("high_failure_rate", "ag_b"),
        ("new_principal", "ag_c"),
        ("off_hours_activity", "ag_d"),
    ]
