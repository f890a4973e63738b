"""`grantex.testing`: the local server driven from Python, seen through the public client.

Every test talks to a real `GrantexTestServer` over 127.0.0.1 with `grantex.Grantex`: the
detection rules at, just under and just over their thresholds and window edges (seeded with
`record_audit` / `record_grant` and moved with the server clock), accounts, each kind of
injected fault, rate limits, concurrency, the pytest fixtures and the command line.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, Literal

import pytest
from grantex import (
    Anomaly,
    DetectAnomaliesResponse,
    Grantex,
    GrantexApiError,
    GrantexAuthError,
    GrantexDecodeError,
    GrantexError,
    GrantexNetworkError,
    GrantexTimeoutError,
    ListAnomaliesResponse,
)
from grantex.testing import GrantexTestServer

# Business hours (UTC), so that only the rule under test can fire.
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
MS = timedelta(milliseconds=1)
URL_LINE = re.compile(r"^Grantex test server listening on (http://127\.0\.0\.1:(\d+))$")


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


# -- the pytest plugin --------------------------------------------------------------------


def test_fixtures_without_imports(tmp_path: Path) -> None:
    """A user's test file with no import at all gets both fixtures (pytest11 entry point)."""
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_server_and_client(grantex_server, grantex_client):
                assert grantex_client.base_url == grantex_server.url
                for _ in range(51):
                    grantex_server.record_audit("ag_busy")
                result = grantex_client.anomalies.detect()
                assert [a.type for a in result.anomalies] == ["rate_spike"]

            def test_fresh_server_per_test(grantex_client):
                assert grantex_client.anomalies.list().total == 0

            @pytest.mark.grantex_server(demo=True, rate_limits="hosted")
            def test_marker_options(grantex_client):
                assert grantex_client.anomalies.detect().total == 4
                assert grantex_client.last_rate_limit.limit == 100
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GRANTEX_"))}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_fixtures_here(grantex_server: GrantexTestServer, grantex_client: Grantex) -> None:
    assert isinstance(grantex_server, GrantexTestServer)
    assert grantex_client.base_url == grantex_server.url
    assert grantex_client.anomalies.list() == ListAnomaliesResponse(anomalies=(), total=0)


def test_loading_the_plugin_does_not_load_the_server_module() -> None:
    """Loading the plugin (what every pytest run does) costs only the `grantex` package's
    own import (its parent package, loaded by Python anyway): the server module is imported
    by the fixtures, on first use."""
    code = (
        "import sys, grantex.testing._plugin as p; "
        "print('grantex.testing._server' in sys.modules, hasattr(p, 'grantex_server'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True"]


# -- the server object ----------------------------------------------------------------------


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


# -- the detection rules --------------------------------------------------------------------


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


# -- stored anomalies and accounts -----------------------------------------------------------


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
        assert type(error) is GrantexApiError
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


# -- faults ------------------------------------------------------------------------------


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
        assert str(info.value) == "Down for maintenance"
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


# -- load and rate limits ------------------------------------------------------------------


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


# -- the command line -----------------------------------------------------------------------


def _read_line(stream: IO[str], timeout: float) -> str:
    """The next line of a child's output, or "" after `timeout` seconds."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""


def _serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Starts `python -m grantex.testing serve ARGS`; returns it and its URL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "grantex.testing", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = _read_line(child.stdout, 30)
    match = URL_LINE.match(line.rstrip("\n"))
    if match is None:
        child.kill()
        _, err = child.communicate()
        pytest.fail(f"no URL line: {line!r}; stderr: {err}")
    return child, match.group(1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_serve_demo(sig: signal.Signals) -> None:
    child, url = _serve("--demo", "--port", "0")
    try:
        with Grantex(api_key="gx_live_anything", base_url=url) as c:
            assert c.anomalies.detect().total == 4
        child.send_signal(sig)
        started = time.monotonic()
        out, err = child.communicate(timeout=10)
        # A requested stop is a clean stop: exit status 0, for Ctrl-C as for SIGTERM.
        assert child.returncode == 0, err
        assert time.monotonic() - started < 5
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert out == ""  # exactly one line on stdout
    assert "any bearer key is accepted" in err
    assert "Traceback" not in err


def test_cli_serve_options(tmp_path: Path) -> None:
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps({"auditEntries": [{"agentId": "ag_cli", "repeat": 51}]}))
    child, url = _serve(
        "--api-key",
        "gx_test_cli",
        "--api-key",
        "gx_test_cli2",
        "--fixture",
        str(fixture),
        "--rate-limits",
        "hosted",
    )
    try:
        with Grantex(api_key="gx_test_cli", base_url=url) as c:
            assert [a.agent_id for a in c.anomalies.detect().anomalies] == ["ag_cli"]
            rate_limit = c.last_rate_limit
            assert rate_limit is not None and rate_limit.limit == 100
        with Grantex(api_key="gx_test_cli2", base_url=url) as c:
            assert c.anomalies.detect().total == 0
        stranger = Grantex(api_key="gx_test_nope", base_url=url, max_retries=0)
        with stranger, pytest.raises(GrantexAuthError):
            stranger.anomalies.list()
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=10)
        assert child.returncode == 0, err
        assert "Loaded fixture: 51 audit entries, 0 grants" in err
        assert "API key: gx_test_cli" in err
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate-limits", "fast"], "invalid choice"),
        (["--port", "70000"], "not a port"),
        (["--fixture", "/nonexistent/fixture.json"], "cannot read fixture"),
        ([], None),  # the invalid fixture below
    ],
)
def test_cli_bad_arguments(tmp_path: Path, args: list[str], message: str | None) -> None:
    if message is None:
        bad = tmp_path / "bad.json"
        bad.write_text('{"auditEntries": [{"nope": 1}]}')
        args, message = ["--fixture", str(bad)], "invalid fixture"
    run = subprocess.run(
        [sys.executable, "-m", "grantex.testing", "serve", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2
    assert message in run.stderr
    assert run.stdout == ""
