"""Grantex's documentation of the rest of the anomalies API (tests/fixtures/grantex-docs/):
every Python example that uses these methods is kept in examples/docs/ byte for byte and
runs unchanged against the local server in demo mode, with only GRANTEX_BASE_URL set.

Some examples are fragments of a page that created `client` earlier; they run after that
page's own setup (`client = Grantex(api_key="gx_...")`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from grantex import Grantex
from grantex.testing import GrantexTestServer

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "docs"
DOCS = ROOT / "tests" / "fixtures" / "grantex-docs"
PAGE_SETUP = 'from grantex import Grantex\n\nclient = Grantex(api_key="gx_...")\n\n'
METHODS = ("list_rules", "create_channel", "create_rule", "toggle_rule", "list_alerts")


def doc_blocks() -> list[str]:
    blocks = []
    for page in sorted(DOCS.glob("*.mdx")):
        for block in re.findall(r"```python[^\n]*\n(.*?)```", page.read_text(), re.DOTALL):
            if any(f".{name}(" in block for name in METHODS):
                blocks.append(block)
    return blocks


def test_the_examples_are_the_documentations_blocks() -> None:
    examples = sorted(p.read_text() for p in EXAMPLES.glob("*.py"))
    assert examples == sorted(doc_blocks())
    assert len(examples) == 7


@pytest.fixture
def server() -> Iterator[GrantexTestServer]:
    with GrantexTestServer(demo=True) as server:
        yield server


def run(server: GrantexTestServer, name: str) -> str:
    code = (EXAMPLES / f"{name}.py").read_text()
    if "Grantex(" not in code:
        code = PAGE_SETUP + code
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRANTEX_")}
    env["GRANTEX_BASE_URL"] = server.url
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def docs_client(server: GrantexTestServer) -> Grantex:
    return Grantex(api_key="gx_...", base_url=server.url)


def test_list_rules(server: GrantexTestServer) -> None:
    out = run(server, "setup_list_rules").splitlines()
    assert out[0] == "11 rules loaded"  # the 10 built-in rules and the demo's velocity_spike
    assert out[1] == "AD-001: enabled (high)"
    assert "velocity_spike: enabled (high)" in out


def test_toggle_rule(server: GrantexTestServer) -> None:
    run(server, "toggle_rule")
    with docs_client(server) as client:
        (rule,) = [r for r in client.anomalies.list_rules() if r.rule_id == "velocity_spike"]
        assert rule.enabled  # disabled, then enabled again


@pytest.mark.parametrize("name", ["setup_create_rule", "create_rule"])
def test_create_rule(server: GrantexTestServer, name: str) -> None:
    run(server, name)
    with docs_client(server) as client:
        custom = [r for r in client.anomalies.list_rules() if not r.built_in]
        created = [r for r in custom if r.rule_id != "velocity_spike"]
        assert len(created) == 1 and created[0].condition and created[0].alert_channels


@pytest.mark.parametrize("name", ["setup_create_channel", "create_channel"])
def test_create_channel(server: GrantexTestServer, name: str) -> None:
    run(server, name)
    with docs_client(server) as client:
        (channel,) = client.anomalies.list_channels()
        assert channel.type == "slack" and channel.config["webhookUrl"].startswith("https://")
        assert channel.config["webhookUrl"] not in repr(channel)


def test_alerts(server: GrantexTestServer) -> None:
    with docs_client(server) as client:
        (first,) = client.anomalies.list_alerts(status="open")
    run(server, "alerts")
    with docs_client(server) as client:
        assert client.anomalies.get_alert(first.alert_id).status == "resolved"
