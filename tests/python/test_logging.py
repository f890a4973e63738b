"""Logging: one line per attempt on the logger ``grantex`` (operation, status, attempt,
elapsed ms, request id), one per retry with its reason and wait; ``GRANTEX_LOG`` shows them
on stderr; no API key in any record at any level."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from conftest import API_KEY, Server
from grantex import Grantex, GrantexApiError


def test_one_line_per_attempt_and_per_retry(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="grantex")
    server.reply(503, {"message": "busy"}, headers=[("retry-after", "0")])
    server.wire("acknowledge-unknown-404")
    with Grantex(api_key=API_KEY, base_url=server.url) as client:
        with pytest.raises(GrantexApiError):
            client.anomalies.acknowledge("anm_unknown")
        server.wire("list-200")
        client.anomalies.list()
    lines = [
        r.getMessage() for r in caplog.records if r.name == "grantex" and r.levelno == logging.INFO
    ]
    assert lines[0].startswith("PATCH /v1/anomalies/{id}/acknowledge -> 503 (attempt 1, ")
    assert lines[1].startswith(
        "PATCH /v1/anomalies/{id}/acknowledge: retrying in 0.00 s after HTTP 503"
    )
    assert lines[2].startswith("PATCH /v1/anomalies/{id}/acknowledge -> 404 (attempt 2, ")
    assert "request id 4c4a6715-107c-409f-91d4-dcea5dbd460e" in lines[2]
    assert lines[3].startswith("GET /v1/anomalies -> 200 (attempt 1, ")
    assert " ms, request id " in lines[3]
    # At DEBUG, each request's and response's headers, the key redacted.
    debug = [
        r.getMessage() for r in caplog.records if r.name == "grantex" and r.levelno == logging.DEBUG
    ]
    requests = [line for line in debug if line.startswith("request ")]
    assert len(requests) == 3
    assert requests[0].startswith(
        f"request PATCH {server.url}/v1/anomalies/anm_unknown/acknowledge ["
    )
    assert "authorization: [redacted]" in requests[0]
    assert "user-agent: grantex-python/" in requests[0]
    responses = [line for line in debug if line.startswith("response ")]
    assert [line.split(" ")[1] for line in responses] == ["503", "404", "200"]
    assert "retry-after: 0" in responses[0]
    for record in caplog.records:
        assert API_KEY not in record.getMessage()


def test_nothing_is_logged_when_the_logger_is_off(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="grantex")
    server.wire("list-200")
    with Grantex(api_key=API_KEY, base_url=server.url) as client:
        client.anomalies.list()
    assert [r for r in caplog.records if r.name == "grantex"] == []


@pytest.mark.parametrize("level", ["info", "debug"])
def test_grantex_log_shows_the_lines_on_stderr(server: Server, level: str) -> None:
    server.wire("list-200")
    script = (
        "from grantex import Grantex\n"
        f"with Grantex(api_key={API_KEY!r}, base_url={server.url!r}) as c:\n"
        "    c.anomalies.list()\n"
    )
    env = {**os.environ, "GRANTEX_LOG": level}
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "grantex INFO GET /v1/anomalies -> 200 (attempt 1," in done.stderr
    assert API_KEY not in done.stderr


def test_import_does_not_load_logging_without_grantex_log() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRANTEX_LOG"}
    code = "import sys, grantex; print('logging' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    assert done.stdout.strip() == "False"


def test_asyncio_calls_log_too(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    from grantex import AsyncGrantex

    caplog.set_level(logging.INFO, logger="grantex")
    server.wire("list-200")

    async def main() -> None:
        async with AsyncGrantex(api_key=API_KEY, base_url=server.url) as client:
            await client.anomalies.list()

    asyncio.run(main())
    lines = [r.getMessage() for r in caplog.records if r.name == "grantex"]
    assert len(lines) == 1 and lines[0].startswith("GET /v1/anomalies -> 200 (attempt 1, ")
