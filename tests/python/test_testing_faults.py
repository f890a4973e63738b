"""`grantex.testing`: each kind of injected fault (status, drop, delay, malformed body)
seen through the public client, with and without its retries.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import testing_helpers
from grantex import (
    DetectAnomaliesResponse,
    Grantex,
    GrantexApiError,
    GrantexDecodeError,
    GrantexError,
    GrantexNetworkError,
    GrantexTimeoutError,
)
from grantex.testing import GrantexTestServer
from testing_helpers import only, record

# The local server, clock frozen at NOON, and a client of it: they override conftest's
# fake-server `server` and `client` in this module.
server = testing_helpers.server
client = testing_helpers.client


def test_503_twice_then_success(server: GrantexTestServer) -> None:
    record(server, "ag_a", 51)
    server.fail_next(503, times=2)
    assert server.pending_faults == 2
    with Grantex(api_key=server.api_key, base_url=server.url, max_retries=3) as c:
        result = c.anomalies.detect()
    assert [a.type for a in result.anomalies] == ["rate_spike"]
    assert server.pending_faults == 0


def test_retry_after_on_a_429(server: GrantexTestServer, client: Grantex) -> None:
    server.fail_next(429, retry_after=1, method="GET", path="/v1/anomalies")
    started = time.monotonic()
    assert client.anomalies.list().total == 0
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3, elapsed


def test_without_retries_the_status_is_raised(server: GrantexTestServer) -> None:
    body = {"message": "Down for maintenance", "code": "MAINTENANCE", "requestId": "req_1"}
    server.fail_next(503, body=body)
    server.fail_next(502)
    with Grantex(api_key=server.api_key, base_url=server.url, max_retries=0) as c:
        with pytest.raises(GrantexApiError) as info:
            c.anomalies.list()
        assert info.value.status_code == 503
        assert info.value.body == body
        assert info.value.code == "MAINTENANCE"
        assert info.value.request_id == "req_1"
        assert info.value.message == "Down for maintenance"
        # The default body: the hosted error shape.
        with pytest.raises(GrantexApiError) as info:
            c.anomalies.list()
        assert info.value.status_code == 502
        assert info.value.code == "INJECTED_FAULT"
        assert info.value.request_id
        assert c.anomalies.list().total == 0


def test_faults_match_method_and_path(server: GrantexTestServer, client: Grantex) -> None:
    record(server, "ag_a", 51)
    server.fail_next(409, method="PATCH", path="/v1/anomalies/*/acknowledge")
    anomaly = only(client, "rate_spike")
    assert client.anomalies.list().total == 1
    with pytest.raises(GrantexApiError) as info:
        client.anomalies.acknowledge(anomaly.id)
    assert info.value.status_code == 409
    assert client.anomalies.acknowledge(anomaly.id).acknowledged_at is not None


def test_clear_faults(server: GrantexTestServer, client: Grantex) -> None:
    server.fail_next(500, times=5)
    server.drop_next(times=2)
    assert server.pending_faults == 7
    server.clear_faults()
    assert server.pending_faults == 0
    assert client.anomalies.list().total == 0


def test_drop_is_retried(server: GrantexTestServer, client: Grantex) -> None:
    server.drop_next()
    assert client.anomalies.list().total == 0
    assert server.pending_faults == 0


def test_drop_without_retries(server: GrantexTestServer) -> None:
    server.drop_next()
    with Grantex(api_key=server.api_key, base_url=server.url, max_retries=0) as c:
        with pytest.raises(GrantexNetworkError) as info:
            c.anomalies.list()
        assert not isinstance(info.value, GrantexTimeoutError)
        assert isinstance(info.value.cause, OSError)
        assert c.anomalies.list().total == 0


def test_delay_beyond_the_timeout(server: GrantexTestServer) -> None:
    server.delay_next(1.5)
    with Grantex(api_key=server.api_key, base_url=server.url, timeout=0.3, max_retries=0) as c:
        started = time.monotonic()
        with pytest.raises(GrantexTimeoutError) as info:
            c.anomalies.list()
        assert time.monotonic() - started < 1.2
        assert isinstance(info.value, GrantexNetworkError)
        assert c.anomalies.list().total == 0


def test_delay_within_the_timeout(server: GrantexTestServer, client: Grantex) -> None:
    server.delay_next(timedelta(milliseconds=300))
    started = time.monotonic()
    assert client.anomalies.list().total == 0
    assert time.monotonic() - started >= 0.29


def test_malformed_body(server: GrantexTestServer, client: Grantex) -> None:
    server.malformed_next(path="/v1/anomalies/detect")
    with pytest.raises(GrantexError) as info:
        client.anomalies.detect()
    assert isinstance(info.value, GrantexDecodeError)
    assert not isinstance(info.value, (KeyError, ValueError))
    assert info.value.status_code == 200
    assert isinstance(client.anomalies.detect(), DetectAnomaliesResponse)


def test_fault_arguments() -> None:
    with GrantexTestServer() as server:
        with pytest.raises(ValueError, match="status"):
            server.fail_next(42)
        with pytest.raises(ValueError, match="times"):
            server.drop_next(times=-1)
        with pytest.raises(ValueError, match="negative"):
            server.delay_next(-1)
        server.malformed_next(times=0)  # nothing to do
        assert server.pending_faults == 0
