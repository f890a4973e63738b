"""The pytest plugin of `grantex.testing`: the `grantex_server` / `grantex_client`
fixtures (pytest11 entry point) and the cost of loading it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from grantex import Grantex, ListAnomaliesResponse
from grantex.testing import GrantexTestServer


def test_fixtures_without_imports(tmp_path: Path) -> None:
    """A user's test file with no import at all gets both fixtures (pytest11 entry point)."""
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_server_and_client(grantex_server, grantex_client):
                assert grantex_client.base_url == grantex_server.url
                grantex_server.set_time("2026-11-25T12:00:00Z")  # not off-hours
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
