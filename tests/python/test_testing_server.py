"""`grantex.testing.GrantexTestServer` itself: lifecycle, garbage collection, fork, options,
keys, the clock and the seeding APIs, seen through the public client.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import testing_helpers
from grantex import Grantex, GrantexApiError, GrantexAuthError, GrantexNetworkError
from grantex.testing import GrantexTestServer
from testing_helpers import NOON, found

# The local server, clock frozen at NOON, and a client of it: they override conftest's
# fake-server `server` and `client` in this module.
server = testing_helpers.server
client = testing_helpers.client


def test_lifecycle_and_attributes() -> None:
    server = GrantexTestServer(api_key="gx_test_mine")
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.api_key == "gx_test_mine"
    assert not server.closed
    assert repr(server) == f"<GrantexTestServer url={server.url!r}>"
    with Grantex(api_key="gx_test_mine", base_url=server.url, max_retries=0) as c:
        assert c.anomalies.list().total == 0
        server.close()
        server.close()  # idempotent
        assert server.closed
        with pytest.raises(GrantexNetworkError):
            c.anomalies.list()
    with pytest.raises(RuntimeError, match="closed"):
        server.record_audit("ag")
    assert server.url.startswith("http://127.0.0.1:")  # still readable


def test_garbage_collection_stops_the_server() -> None:
    server = GrantexTestServer()
    url = server.url
    del server
    with Grantex(api_key="k", base_url=url, max_retries=0, timeout=5) as c:
        deadline = time.monotonic() + 5
        while True:
            try:
                c.anomalies.list()
            except GrantexNetworkError:
                break
            except GrantexApiError:
                pass  # still shutting down: 401 for the unknown key
            assert time.monotonic() < deadline, "the server still answers"
            time.sleep(0.05)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_fork(server: GrantexTestServer, client: Grantex) -> None:
    """A forked child can call the parent's server, start its own, and close (forget) the
    inherited one without hanging; the parent's keeps serving."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        code = 1
        try:
            with Grantex(api_key=server.api_key, base_url=server.url) as inherited:
                inherited.anomalies.list()
            with GrantexTestServer() as own, Grantex(api_key=own.api_key, base_url=own.url) as c:
                c.anomalies.list()
            server.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert not server.closed
    assert client.anomalies.list().total == 0


def test_a_port_in_use_is_an_oserror(server: GrantexTestServer) -> None:
    with pytest.raises(OSError) as info:
        GrantexTestServer(port=server.port)
    assert str(server.port) in str(info.value)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="rate_limits"):
        GrantexTestServer(rate_limits="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port"):
        GrantexTestServer(port=70000)
    with pytest.raises(ValueError, match="api_key"):
        GrantexTestServer(api_key=" ")


def test_the_default_key_is_generated_and_other_keys_are_refused(
    server: GrantexTestServer,
) -> None:
    assert server.api_key.startswith("gx_test_")
    other = Grantex(api_key="gx_test_unknown", base_url=server.url)
    with other, pytest.raises(GrantexAuthError) as info:
        other.anomalies.list()
    assert info.value.status_code == 401


def test_clock() -> None:
    with GrantexTestServer() as server:
        assert not server.clock_frozen
        assert abs(server.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)
        server.set_time("2026-11-25T06:07:19.432Z")
        assert server.clock_frozen
        assert server.now() == datetime(2026, 11, 25, 6, 7, 19, 432000, tzinfo=timezone.utc)
        server.advance(60)
        server.advance(timedelta(milliseconds=-432))
        assert server.now() == datetime(2026, 11, 25, 6, 8, 19, tzinfo=timezone.utc)
        # An aware datetime is converted to UTC; a naive one, or a string without an
        # offset, is UTC.
        server.set_time(datetime(2026, 11, 25, 8, 0, tzinfo=timezone(timedelta(hours=2))))
        assert server.now() == datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc)
        server.set_time(datetime(2026, 1, 2, 3, 4, 5))
        assert server.now().isoformat() == "2026-01-02T03:04:05+00:00"
        server.set_time("2026-01-02T03:04:05")
        assert server.now().isoformat() == "2026-01-02T03:04:05+00:00"
        with pytest.raises(ValueError, match="ISO 8601"):
            server.set_time("yesterday")
        # What the server writes is on its clock.
        server.set_time(NOON)
        with Grantex(api_key=server.api_key, base_url=server.url) as c:
            assert c.anomalies.detect().detected_at == "2026-11-25T12:00:00.000Z"
        server.reset_clock()
        assert not server.clock_frozen
        assert abs(server.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_seeding_apis(server: GrantexTestServer, client: Grantex) -> None:
    audit_id = server.record_audit(
        "ag_1", status="failure", principal_id="user_1", action="email.send", metadata={"x": 1}
    )
    assert audit_id.startswith("alog_")
    grant_id = server.record_grant("ag_1", "user_9", issued_at=NOON - timedelta(hours=1))
    assert grant_id.startswith("grnt_")
    with pytest.raises(ValueError, match="status"):
        server.record_audit("ag_1", status="oops")  # type: ignore[arg-type]
    assert found(client) == [("new_principal", "ag_1")]
    assert server.anomalies()[0].principal_id == "user_9"


def test_load_fixture(server: GrantexTestServer, client: Grantex, tmp_path: Path) -> None:
    fixture = {
        "auditEntries": [
            {"agentId": "ag_f", "status": "failure", "timestamp": "now-5m", "repeat": 3},
            {"agentId": "ag_f", "timestamp": "now-1h", "repeat": 3},
        ],
        "grants": [{"agentId": "ag_f", "principalId": "user_9", "issuedAt": "now-1h"}],
    }
    assert server.load_fixture(fixture) == (6, 1)
    assert found(client) == [("high_failure_rate", "ag_f"), ("new_principal", "ag_f")]
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps({"auditEntries": [{"agentId": "ag_x", "repeat": 51}]}))
    assert server.load_fixture(str(path), api_key="gx_test_second") == (51, 0)
    with Grantex(api_key="gx_test_second", base_url=server.url) as second:
        assert found(second) == [("rate_spike", "ag_x")]
    with pytest.raises(ValueError, match="invalid fixture"):
        server.load_fixture({"auditEntries": [{"agent": "no id"}]})
    assert found(client) == [("high_failure_rate", "ag_f"), ("new_principal", "ag_f")]


def test_seed_demo(server: GrantexTestServer, client: Grantex) -> None:
    server.seed_demo()
    assert sorted(found(client)) == [
        ("high_failure_rate", "seed_ag_fail"),
        ("new_principal", "seed_ag_new"),
        ("off_hours_activity", "seed_ag_night"),
        ("rate_spike", "seed_ag_spike"),
    ]
    assert "anom_abc123" in [a.id for a in server.anomalies()]


def test_idle_and_slow_connections_are_closed_and_extra_ones_wait() -> None:
    """The server's own limits, set from Python: a connection that never sends its headers
    is closed after ``header_read_timeout``, an idle kept-alive one after ``idle_timeout``,
    and past ``max_connections`` a new connection waits until one closes."""
    import socket

    server = GrantexTestServer(header_read_timeout=0.3, idle_timeout=0.3, max_connections=1)
    try:
        host, port = "127.0.0.1", server.port
        silent = socket.create_connection((host, port))
        silent.settimeout(5)
        started = time.monotonic()
        assert silent.recv(1) == b""  # closed by the server, not by our timeout
        assert 0.2 < time.monotonic() - started < 3
        silent.close()

        kept = socket.create_connection((host, port))
        kept.settimeout(5)
        kept.sendall(b"GET /v1/anomalies HTTP/1.1\r\nhost: x\r\n\r\n")
        assert kept.recv(12).startswith(b"HTTP/1.1 401")
        kept.recv(65536)  # the rest of the answer
        started = time.monotonic()
        assert kept.recv(1) == b""  # idle past idle_timeout: closed
        assert time.monotonic() - started < 3
        kept.close()

        # One connection at a time: a second one is served once the first is done.
        with Grantex(api_key=server.api_key, base_url=server.url, max_retries=0) as client:
            assert client.anomalies.list().total == 0
            assert client.anomalies.list().total == 0
    finally:
        server.close()
    with pytest.raises(ValueError, match="max_connections"):
        GrantexTestServer(max_connections=0)
