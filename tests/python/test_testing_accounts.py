"""`grantex.testing`: stored anomalies (what a detection run replaces and keeps) and the
isolation of accounts.
"""

from __future__ import annotations

import pytest
import testing_helpers
from grantex import Grantex, GrantexApiError, GrantexNotFoundError
from grantex.testing import GrantexTestServer
from testing_helpers import found, only, record

# The local server, clock frozen at NOON, and a client of it: they override conftest's
# fake-server `server` and `client` in this module.
server = testing_helpers.server
client = testing_helpers.client


def test_detect_replaces_unacknowledged_and_keeps_acknowledged(
    server: GrantexTestServer, client: Grantex
) -> None:
    record(server, "ag_a", 51)
    record(server, "ag_b", 51)
    first = client.anomalies.detect()
    assert [a.agent_id for a in first.anomalies] == ["ag_a", "ag_b"]
    a_first, b_first = first.anomalies
    acked = client.anomalies.acknowledge(a_first.id)
    assert acked.acknowledged_at == "2026-11-25T12:00:00.000Z"

    server.advance(60)
    second = client.anomalies.detect()
    assert [a.agent_id for a in second.anomalies] == ["ag_a", "ag_b"]
    new_ids = {a.id for a in second.anomalies}
    assert not new_ids & {a_first.id, b_first.id}

    listed = client.anomalies.list()
    assert listed.total == 3
    assert [a.id for a in listed.anomalies][-1] == a_first.id  # newest first
    assert {a.id for a in listed.anomalies} == new_ids | {a_first.id}
    open_ = client.anomalies.list(unacknowledged=True)
    assert {a.id for a in open_.anomalies} == new_ids
    # The replaced one is gone.
    with pytest.raises(GrantexApiError) as info:
        client.anomalies.acknowledge(b_first.id)
    assert info.value.status_code == 404
    # What the server stores is what the list shows.
    assert tuple(server.anomalies()) == listed.anomalies


def test_accounts_are_isolated(server: GrantexTestServer, client: Grantex) -> None:
    server.add_api_key("gx_test_other")
    record(server, "ag_a", 51)
    mine = only(client, "rate_spike")
    with Grantex(api_key="gx_test_other", base_url=server.url) as other:
        assert other.anomalies.detect().total == 0
        assert other.anomalies.list().total == 0
        with pytest.raises(GrantexApiError) as info:
            other.anomalies.acknowledge(mine.id)
        error = info.value
        assert type(error) is GrantexNotFoundError
        assert error.status_code == 404
        assert error.code == "NOT_FOUND"
        assert error.request_id
        assert isinstance(error.body, dict) and error.body["code"] == "NOT_FOUND"
        # Seeding another account by its key.
        record(server, "ag_z", 51, api_key="gx_test_other")
        assert found(other) == [("rate_spike", "ag_z")]
    assert [a.agent_id for a in server.anomalies("gx_test_other")] == ["ag_z"]
    assert server.anomalies() == [mine]
    assert server.anomalies("gx_test_nobody") == []
    assert client.anomalies.acknowledge(mine.id).acknowledged_at is not None
