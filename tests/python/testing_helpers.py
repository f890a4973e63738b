"""Shared by the `test_testing_*` modules, which test `grantex.testing`: the local server
driven from Python, seen through the public client.

Every test talks to a real `GrantexTestServer` over 127.0.0.1 with `grantex.Grantex`: the
detection rules at, just under and just over their thresholds and window edges (seeded with
`record_audit` / `record_grant` and moved with the server clock), accounts, each kind of
injected fault, rate limits, concurrency, the pytest fixtures and the command line.

The `server` and `client` fixtures below override conftest's fake-server ones in the modules
that import them (`from testing_helpers import client, server`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from grantex import Anomaly, Grantex
from grantex.testing import GrantexTestServer

# Business hours (UTC), so that only the rule under test can fire.
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
MS = timedelta(milliseconds=1)


@pytest.fixture
def server() -> Iterator[GrantexTestServer]:
    """A server whose clock is frozen at NOON."""
    with GrantexTestServer() as s:
        s.set_time(NOON)
        yield s


@pytest.fixture
def client(server: GrantexTestServer) -> Iterator[Grantex]:
    with Grantex(api_key=server.api_key, base_url=server.url) as c:
        yield c


def found(client: Grantex) -> list[tuple[str, str | None]]:
    """(type, agent id) of each anomaly of a detection run."""
    return [(a.type, a.agent_id) for a in client.anomalies.detect().anomalies]


def only(client: Grantex, kind: str) -> Anomaly:
    result = client.anomalies.detect()
    assert [a.type for a in result.anomalies] == [kind]
    return result.anomalies[0]


def record(server: GrantexTestServer, agent: str, n: int, **kwargs: Any) -> None:
    for _ in range(n):
        server.record_audit(agent, **kwargs)
