"""`grantex.testing`: concurrent calls and rate limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import testing_helpers
from grantex import Grantex, GrantexApiError
from grantex.testing import GrantexTestServer
from testing_helpers import NOON, record

# The local server, clock frozen at NOON: it overrides conftest's fake-server `server` in
# this module.
server = testing_helpers.server


def test_300_concurrent_calls_over_16_threads(server: GrantexTestServer) -> None:
    record(server, "ag_a", 51)
    with Grantex(api_key=server.api_key, base_url=server.url) as c:

        def call(i: int) -> int:
            if i % 3 == 0:
                return c.anomalies.detect().total
            return len(c.anomalies.list(unacknowledged=bool(i % 2)).anomalies)

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(300)))
    assert len(results) == 300
    assert all(r == 1 for r in results[::3])


def test_last_rate_limit_with_hosted_limits() -> None:
    with GrantexTestServer(rate_limits="hosted") as server:
        server.set_time(NOON)
        with Grantex(api_key=server.api_key, base_url=server.url, max_retries=0) as c:
            assert c.last_rate_limit is None
            c.anomalies.list()
            first = c.last_rate_limit
            assert first is not None
            assert (first.limit, first.remaining, first.reset) == (100, 99, 60)
            for _ in range(99):
                c.anomalies.list()
            rate_limit = c.last_rate_limit
            assert rate_limit is not None and rate_limit.remaining == 0
            with pytest.raises(GrantexApiError) as info:
                c.anomalies.list()
            assert info.value.status_code == 429
            assert info.value.code == "RATE_LIMIT_EXCEEDED"
            assert info.value.rate_limit is not None
            assert info.value.rate_limit.retry_after == 60
            # Windows are on the server clock: a minute later the plan allows calls again.
            server.advance(60)
            c.anomalies.list()
            rate_limit = c.last_rate_limit
            assert rate_limit is not None and rate_limit.remaining == 99


def test_rate_limits_off() -> None:
    server = GrantexTestServer(rate_limits="off")
    with server, Grantex(api_key=server.api_key, base_url=server.url) as c:
        c.anomalies.list()
        assert c.last_rate_limit is None
        server.set_rate_limits("hosted")
        c.anomalies.list()
        rate_limit = c.last_rate_limit
        assert rate_limit is not None and rate_limit.limit == 100
