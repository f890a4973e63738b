"""`grantex.testing`'s command line: `python -m grantex.testing serve`."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO

import pytest
from grantex import Grantex, GrantexAuthError

URL_LINE = re.compile(r"^Grantex test server listening on (http://127\.0\.0\.1:(\d+))$")


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
    # Noon, on a clock set to noon: at night the same activity is also off-hours activity.
    noon = "2026-11-25T12:00:00.000Z"
    entries = [{"agentId": "ag_cli", "repeat": 51, "timestamp": noon}]
    fixture.write_text(json.dumps({"auditEntries": entries}))
    child, url = _serve(
        "--api-key",
        "gx_test_cli",
        "--api-key",
        "gx_test_cli2",
        "--fixture",
        str(fixture),
        "--rate-limits",
        "hosted",
        "--header-read-timeout",
        "0.3",
    )
    try:
        clock = urllib.request.Request(
            f"{url}/v1/test/clock",
            data=json.dumps({"set": "2026-11-25T12:00:30.000Z"}).encode(),
            headers={"content-type": "application/json", "authorization": "Bearer gx_test_cli"},
        )
        with urllib.request.urlopen(clock, timeout=10) as answer:
            assert json.load(answer)["now"] == "2026-11-25T12:00:30.000Z"
        # A connection that sends no request is closed after --header-read-timeout.
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as silent:
            silent.settimeout(5)
            assert silent.recv(1) == b""
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
        (["--max-connections", "0"], "max_connections"),
        (["--idle-timeout", "-1"], "idle_timeout"),
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
